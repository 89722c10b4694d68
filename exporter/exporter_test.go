package exporter

import (
	"context"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/collector"
	"github.com/flowkit/flow/flowcache"
	"github.com/flowkit/flow/internal/trafficgen"
	"github.com/flowkit/flow/netflow5"
	"github.com/flowkit/flow/netflow9"
)

var quiet = slog.New(slog.DiscardHandler)

// totals sums what a collector received.
type totals struct {
	mu               sync.Mutex
	records          int
	packets, bytes   uint64
	protos           map[flow.Protocol]int
	samplingInterval map[uint32]int
}

func (t *totals) handle(recs []flow.Record) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.protos == nil {
		t.protos, t.samplingInterval = map[flow.Protocol]int{}, map[uint32]int{}
	}
	for i := range recs {
		t.records++
		t.packets += recs[i].Packets
		t.bytes += recs[i].Bytes
		t.protos[recs[i].Protocol]++
		t.samplingInterval[recs[i].SamplingInterval]++
	}
}

func (t *totals) get() (int, uint64, uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.records, t.packets, t.bytes
}

// runCollector runs a collector on a loopback port until the test ends, UDP unless
// another scheme is given.
func runCollector(t *testing.T, scheme ...string) (*collector.Collector, *totals, string) {
	t.Helper()
	tot := &totals{}
	listen := "udp://127.0.0.1:0"
	if len(scheme) > 0 {
		listen = scheme[0] + "://127.0.0.1:0"
	}
	c, err := collector.New(collector.Config{Listen: []string{listen}, Handler: tot.handle,
		Logger: quiet, ReadBuffer: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return c, tot, c.Addrs()[0].String()
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// feed meters generated traffic, pacing it so that loopback UDP keeps up.
func feed(t *testing.T, e *Exporter, cfg trafficgen.Config) trafficgen.Totals {
	t.Helper()
	g := trafficgen.New(cfg)
	for i := 0; ; i++ {
		f, ok := g.Next()
		if !ok {
			break
		}
		e.Packet(f.Data, f.Length, flow.TimeOf(f.Time), 1)
		if i%2000 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	return g.Totals()
}

func TestExportToCollector(t *testing.T) {
	for _, tc := range []struct {
		proto     flow.Protocol
		v6        float64
		biflow    bool
		transport string
	}{
		{flow.NetFlow5, 0, false, "udp"}, {flow.NetFlow9, 0.3, false, "udp"},
		{flow.IPFIX, 0.3, false, "udp"}, {flow.IPFIX, 0.3, true, "udp"}, {flow.IPFIX, 0.3, true, "tcp"},
	} {
		name := tc.proto.String()
		if tc.proto == flow.IPFIX {
			name += "/" + tc.transport
			if tc.biflow {
				name += "/biflow"
			}
		}
		t.Run(name, func(t *testing.T) {
			c, tot, addr := runCollector(t, tc.transport)
			e, err := New(Config{Protocol: tc.proto, Destinations: []Destination{{Address: addr, Transport: tc.transport}}, Logger: quiet,
				Domain: 7, Cache: flowcache.Config{InactiveTimeout: 2 * time.Second, Shards: 2, Biflow: tc.biflow}})
			if err != nil {
				t.Fatal(err)
			}
			gen := feed(t, e, trafficgen.Config{Seed: 11, Packets: 40000, Concurrent: 300, IPv6Share: tc.v6, Rate: 5000})
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			st := e.Stats()
			// A biflow is one record on the wire and two, forward and reverse, decoded.
			waitFor(t, "every exported packet", func() bool { _, p, _ := tot.get(); return p == uint64(gen.Packets) })
			n, packets, bytes := tot.get()
			if packets != uint64(gen.Packets) || bytes != gen.IPBytes || (!tc.biflow && uint64(n) != st.Records) || uint64(n) < st.Records {
				t.Errorf("collector got %d packets %d bytes in %d records; generated %d %d, exported %d records",
					packets, bytes, n, gen.Packets, gen.IPBytes, st.Records)
			}
			if st.Unencodable != 0 || st.Messages == 0 || st.Destinations[0].Messages < st.Messages || st.Destinations[0].Errors != 0 {
				t.Errorf("exporter stats %+v", st)
			}
			cs := c.Stats()
			if len(cs.Exporters) != 1 || cs.Exporters[0].Protocol != tc.proto || cs.Exporters[0].LostRecords+cs.Exporters[0].LostPackets != 0 ||
				cs.Errors.Total() != 0 || cs.Exporters[0].Reordered != 0 {
				t.Errorf("collector stats %+v", cs)
			}
			if tc.proto != flow.NetFlow5 && cs.Exporters[0].Domain != 7 {
				t.Errorf("domain %d", cs.Exporters[0].Domain)
			}
		})
	}
}

func TestNetFlow5SkipsIPv6(t *testing.T) {
	var msgs int
	e, err := New(Config{Protocol: flow.NetFlow5, Output: func([]byte) { msgs++ }, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	gen := feed(t, e, trafficgen.Config{Seed: 3, Packets: 5000, Concurrent: 50, IPv6Share: 0.5})
	e.Close()
	st := e.Stats()
	if st.Unencodable == 0 || st.Records == 0 || st.Records+st.Unencodable != st.Cache.ExpiredBy(flow.EndForced)+st.Cache.ExpiredBy(flow.EndIdle)+
		st.Cache.ExpiredBy(flow.EndOfFlow)+st.Cache.ExpiredBy(flow.EndActive)+st.Cache.ExpiredBy(flow.EndLackOfResources) {
		t.Errorf("stats %+v (generated %+v)", st, gen)
	}
	if msgs == 0 {
		t.Error("no message")
	}
}

func TestSFlowSampling(t *testing.T) {
	c, tot, addr := runCollector(t)
	e, err := New(Config{Protocol: flow.SFlow, SamplingRate: 10, Destinations: []Destination{{Address: addr}}, Logger: quiet,
		Domain: 3, CounterInterval: time.Second, Agent: netip.MustParseAddr("192.0.2.99")})
	if err != nil {
		t.Fatal(err)
	}
	gen := feed(t, e, trafficgen.Config{Seed: 5, Packets: 20000, Concurrent: 100, IPv6Share: 0.2, Rate: 5000})
	e.Close()
	st := e.Stats()
	if st.Sampled != uint64(gen.Packets/10) || st.Records != st.Sampled {
		t.Errorf("sampled %d of %d packets (records %d)", st.Sampled, gen.Packets, st.Records)
	}
	waitFor(t, "every sample", func() bool { n, _, _ := tot.get(); return uint64(n) == st.Sampled })
	tot.mu.Lock()
	defer tot.mu.Unlock()
	if tot.packets != st.Sampled || tot.samplingInterval[10] != int(st.Sampled) || tot.protos[flow.SFlow] != int(st.Sampled) {
		t.Errorf("collector: %d packets, intervals %v", tot.packets, tot.samplingInterval)
	}
	cs := c.Stats()
	if len(cs.Exporters) != 1 || cs.Exporters[0].Domain != 3 || cs.Exporters[0].LostPackets != 0 {
		t.Errorf("collector stats %+v", cs.Exporters)
	}
}

func TestOwnTrafficIsNotMetered(t *testing.T) {
	_, _, addr := runCollector(t)
	e, err := New(Config{Protocol: flow.NetFlow5, Destinations: []Destination{{Address: addr}}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	local, remote := e.Local()[0], netip.MustParseAddrPort(addr)
	// A captured copy of one of the exporter's datagrams: Ethernet, IPv4, UDP.
	frame := make([]byte, 14+20+8+24)
	frame[12], frame[13] = 0x08, 0x00
	ip := frame[14:]
	ip[0], ip[9] = 0x45, 17
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	l4, r4 := local.Addr().As4(), remote.Addr().As4()
	copy(ip[12:], l4[:])
	copy(ip[16:], r4[:])
	binary.BigEndian.PutUint16(ip[20:], local.Port())
	binary.BigEndian.PutUint16(ip[22:], remote.Port())
	binary.BigEndian.PutUint16(ip[24:], 8+24)
	e.Packet(frame, len(frame), flow.TimeOf(time.Now()), 1)
	// Another port of the same host is metered.
	binary.BigEndian.PutUint16(ip[22:], remote.Port()+1)
	e.Packet(frame, len(frame), flow.TimeOf(time.Now()), 1)
	if st := e.Stats(); st.OwnTraffic != 1 || st.Cache.Packets != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestStreamNeedsIPFIX(t *testing.T) {
	_, err := New(Config{Protocol: flow.NetFlow9, Destinations: []Destination{{Address: "127.0.0.1:1", Transport: "tcp"}}, Logger: quiet})
	if err == nil {
		t.Error("NetFlow v9 over TCP accepted")
	}
}

func TestRecordsAndFlushInterval(t *testing.T) {
	var msgs [][]byte
	e, err := New(Config{Protocol: flow.NetFlow9, Output: func(m []byte) { msgs = append(msgs, append([]byte(nil), m...)) },
		FlushInterval: time.Second, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	r := flow.Record{SrcAddr: netip.MustParseAddr("10.0.0.1"), DstAddr: netip.MustParseAddr("10.0.0.2"), Packets: 3, Bytes: 300,
		Start: flow.TimeOf(t0), End: flow.TimeOf(t0.Add(time.Second))}
	if err := e.Record(&r); err != nil {
		t.Fatal(err)
	}
	e.Tick(t0.Add(1500 * time.Millisecond)) // the message has waited half a second
	if len(msgs) != 0 {
		t.Fatal("sent before the flush interval")
	}
	e.Tick(t0.Add(2 * time.Second))
	if len(msgs) != 1 {
		t.Fatalf("%d messages after the flush interval", len(msgs))
	}
	e.Close()
}

// TestUptimesWithinBootAndExport: in every NetFlow message, each record's first and last
// sysUptime lie between 0 (the exporter's boot) and the header's uptime, without wrapping.
// Collectors count back from the header modulo 2^32 (RFC 3954; tshark, pmacct): a flow
// stamped before boot or after its message reads 49.7 days old. Found by the interop tests.
func TestUptimesWithinBootAndExport(t *testing.T) {
	for _, proto := range []flow.Protocol{flow.NetFlow5, flow.NetFlow9} {
		t.Run(proto.String(), func(t *testing.T) {
			var msgs [][]byte
			e, err := New(Config{Protocol: proto, Output: func(m []byte) { msgs = append(msgs, append([]byte(nil), m...)) }, Logger: quiet,
				Cache: flowcache.Config{InactiveTimeout: 300 * time.Millisecond, ActiveTimeout: time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			// Traffic that starts mid-second, so that the boot second and the first export
			// are not aligned with the packets.
			feed(t, e, trafficgen.Config{Seed: 9, Packets: 5000, Concurrent: 100, Rate: 2000,
				Start: time.Date(2026, 3, 4, 5, 6, 7, 654321000, time.UTC)})
			e.Close()
			checked := 0
			from := netip.MustParseAddrPort("192.0.2.1:2055")
			var v5 netflow5.Parser
			v9 := netflow9.Parser{}
			for i, m := range msgs {
				var uptime uint32
				var times [][2]uint32
				if proto == flow.NetFlow5 {
					h, err := v5.Start(m)
					if err != nil {
						t.Fatal(err)
					}
					uptime = h.SysUptime
					for v5.Next() {
						times = append(times, [2]uint32{v5.Record().First, v5.Record().Last})
					}
				} else {
					h, err := v9.Start(m, from)
					if err != nil {
						t.Fatal(err)
					}
					uptime = h.SysUptime
					for v9.Next() {
						first, _ := v9.Record().Get(22, 0)
						last, _ := v9.Record().Get(21, 0)
						times = append(times, [2]uint32{binary.BigEndian.Uint32(first), binary.BigEndian.Uint32(last)})
					}
				}
				if uptime > 1<<31 {
					t.Fatalf("message %d: header uptime %d ms: the exporter booted after it", i, uptime)
				}
				for _, ft := range times {
					if ft[0] > ft[1] || ft[1] > uptime {
						t.Fatalf("message %d: record first %d last %d, header uptime %d", i, ft[0], ft[1], uptime)
					}
					checked++
				}
			}
			if checked < 500 {
				t.Errorf("only %d records checked", checked)
			}
		})
	}
}
