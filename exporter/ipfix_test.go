package exporter

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/flowcache"
	"github.com/flowkit/flow/internal/flowtest"
	"github.com/flowkit/flow/internal/trafficgen"
	"github.com/flowkit/flow/ipfix"
	"github.com/flowkit/flow/template"
)

// udpSink receives datagrams on a loopback port until the test ends.
type udpSink struct {
	conn *net.UDPConn
	mu   sync.Mutex
	msgs [][]byte
}

func listenUDP(t *testing.T) *udpSink {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadBuffer(4 << 20)
	s := &udpSink{conn: conn}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, append([]byte(nil), buf[:n]...))
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return s
}

func (s *udpSink) received() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.msgs
}

// TestIPFIXOverUDP exports generated traffic as IPFIX to a UDP listener, as single flows
// and as biflows, with and without sampling, and decodes every datagram: the packet and
// byte totals are the generator's, sequence numbers count data records, every record has
// the observation domain and the announced sampling interval.
func TestIPFIXOverUDP(t *testing.T) {
	for _, tc := range []struct {
		name     string
		biflow   bool
		sampling uint32
	}{{"flows", false, 0}, {"biflows", true, 0}, {"sampled", false, 10}} {
		t.Run(tc.name, func(t *testing.T) {
			sink := listenUDP(t)
			e, err := New(Config{Protocol: flow.IPFIX, Destinations: []Destination{{Address: sink.conn.LocalAddr().String()}},
				Logger: quiet, Domain: 7, MTU: 1200, TemplateRefresh: 5,
				Cache: flowcache.Config{InactiveTimeout: 2 * time.Second, Shards: 2, Biflow: tc.biflow, SamplingInterval: tc.sampling}})
			if err != nil {
				t.Fatal(err)
			}
			local := e.Local()[0]
			gen := feed(t, e, trafficgen.Config{Seed: 11, Packets: 20000, Concurrent: 200, IPv6Share: 0.3, Rate: 5000})
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			st := e.Stats()
			if st.Unencodable != 0 || st.Messages == 0 || st.Destinations[0].Messages != st.Messages || st.Destinations[0].Errors != 0 {
				t.Fatalf("exporter stats %+v", st)
			}
			waitFor(t, "every message", func() bool { return uint64(len(sink.received())) == st.Messages })
			d := flowtest.NewIPFIXDecoder(local, false)
			var packets, bytes uint64
			seq, raw := uint32(0), 0
			for i, m := range sink.received() {
				if len(m) > 1200 {
					t.Errorf("message %d: %d bytes", i, len(m))
				}
				if err := d.Message(m); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if h := d.Headers[i]; h.Sequence != seq || h.Domain != 7 {
					t.Fatalf("message %d: header %+v, want sequence %d", i, h, seq)
				}
				for _, r := range d.Raw[raw:] {
					if r.Options() {
						continue
					}
					if o, ok := r.Get(1, 29305); ok {
						p, _ := r.Get(2, 29305)
						packets, bytes = packets+template.Unsigned(p), bytes+template.Unsigned(o)
					}
				}
				seq, raw = uint32(len(d.Raw)), len(d.Raw)
			}
			for _, r := range d.Flows {
				packets, bytes = packets+r.Packets, bytes+r.Bytes
				if r.Domain != 7 || r.SamplingInterval != tc.sampling || !r.SrcAddr.IsValid() || r.Start == 0 || r.End < r.Start {
					t.Fatalf("record %+v", r)
				}
			}
			if uint64(len(d.Flows)) != st.Records {
				t.Errorf("%d records decoded, %d exported", len(d.Flows), st.Records)
			}
			if tc.sampling == 0 && (packets != uint64(gen.Packets) || bytes != gen.IPBytes) {
				t.Errorf("decoded %d packets %d bytes; generated %d %d", packets, bytes, gen.Packets, gen.IPBytes)
			}
			if tc.sampling != 0 && (packets == 0 || packets > uint64(gen.Packets)/5) {
				t.Errorf("decoded %d packets of %d generated, sampled 1 in %d", packets, gen.Packets, tc.sampling)
			}
			// Biflow templates only for biflows; conversations seen in one direction go
			// out as plain flows.
			biflows := 0
			for _, id := range d.Templates {
				if id == ipfix.TemplateBiflowIPv4 || id == ipfix.TemplateBiflowIPv6 {
					biflows++
				}
			}
			if tc.biflow != (biflows > 0) {
				t.Errorf("templates %v", d.Templates)
			}
			if len(d.Templates) < int(st.Messages)/5 {
				t.Errorf("%d templates in %d messages", len(d.Templates), st.Messages)
			}
		})
	}
}

// TestIPFIXOverTCPGreeting: every TCP connection, the first and each after a reconnect,
// opens with the templates, so that a collector that knows nothing of the earlier
// connection decodes what follows.
func TestIPFIXOverTCPGreeting(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	e, err := New(Config{Protocol: flow.IPFIX, Destinations: []Destination{{Address: ln.Addr().String(), Transport: "tcp"}},
		Logger: quiet, Domain: 3, Cache: flowcache.Config{SamplingInterval: 4}})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	t0 := time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
	n := 0
	send := func() {
		r := flow.Record{SrcAddr: netip.AddrFrom4([4]byte{10, 0, 0, byte(n)}), DstAddr: netip.MustParseAddr("2001:db8::1"),
			Packets: uint64(n + 1), Bytes: 100, Start: flow.TimeOf(t0), End: flow.TimeOf(t0.Add(time.Duration(n) * time.Second))}
		n++
		if err := e.Record(&r); err != nil {
			t.Fatal(err)
		}
		e.Flush()
	}
	for conn := range 2 {
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		r := ipfix.NewReader(c)
		d := flowtest.NewIPFIXDecoder(netip.MustParseAddrPort(c.RemoteAddr().String()), true)
		g, err := r.Next()
		if err != nil {
			t.Fatalf("connection %d: %v", conn, err)
		}
		if err := d.Message(g); err != nil || len(d.Raw) != 0 || len(d.Templates) < 5 {
			t.Fatalf("connection %d: greeting with templates %v and %d records: %v", conn, d.Templates, len(d.Raw), err)
		}
		send()
		// Messages queued before the reconnect come first, and the sampling options record
		// with the first message built after the greeting: read up to it.
		for len(d.Flows) == 0 || d.Flows[len(d.Flows)-1].SamplingInterval == 0 {
			m, err := r.Next()
			if err != nil {
				t.Fatalf("connection %d: %v", conn, err)
			}
			if err := d.Message(m); err != nil {
				t.Fatalf("connection %d: %v", conn, err)
			}
		}
		if f := d.Flows[len(d.Flows)-1]; f.Domain != 3 || f.SamplingInterval != 4 || !f.DstAddr.Is6() {
			t.Errorf("connection %d: record %+v", conn, f)
		}
		if st := e.Stats(); conn == 1 && st.Destinations[0].Reconnects != 1 {
			// Checked before this close, which the exporter notices too, and reconnects.
			t.Errorf("stats %+v", st.Destinations[0])
		}
		c.Close()
		if conn == 0 {
			// The exporter notices the closed connection by reading its end, or when a
			// write fails: keep sending, so that either way it reconnects.
			stop := make(chan struct{})
			go func() {
				for {
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
						send()
					}
				}
			}()
			defer close(stop)
		}
	}
}
