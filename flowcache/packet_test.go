package flowcache

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/trafficgen"
	"github.com/flowkit/flow/packet"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestConservationOnCaptures writes captures with trafficgen, reads them back frame by
// frame, parses, meters, and checks that the packets and bytes summed over every record
// the cache reported equal those of the parsed packets, in both modes and with a cache
// small enough to evict.
func TestConservationOnCaptures(t *testing.T) {
	cases := []struct {
		name string
		gen  trafficgen.Config
		cfg  Config
	}{
		{"uniflow", trafficgen.Config{Seed: 1, Packets: 100000, Concurrent: 2000, IPv6Share: 0.3, VLANShare: 0.2}, Config{}},
		{"biflow", trafficgen.Config{Seed: 2, Packets: 100000, Concurrent: 2000, IPv6Share: 0.3}, Config{Biflow: true}},
		{"evicting", trafficgen.Config{Seed: 3, Packets: 50000, Concurrent: 5000, Snaplen: 96}, Config{MaxFlows: 512, Shards: 4}},
		{"short timeouts", trafficgen.Config{Seed: 4, Packets: 50000, Concurrent: 500, Rate: 1000},
			Config{InactiveTimeout: time.Second, ActiveTimeout: 5 * time.Second, EndWait: 100 * time.Millisecond}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "traffic.pcap")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			totals, err := trafficgen.WritePcap(f, tc.gen)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}

			var packets, bytes uint64
			reasons := map[flow.EndReason]int{}
			cfg := tc.cfg
			cfg.Sink = func(fwd, rev *flow.Record) {
				for _, r := range []*flow.Record{fwd, rev} {
					if r != nil {
						packets += r.Packets
						bytes += r.Bytes
						reasons[r.EndReason]++
					}
				}
			}
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			f, err = os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := pcapgo.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			var pp packet.Packet
			var p Packet
			parsed, parsedBytes := 0, uint64(0)
			for {
				data, ci, err := r.ZeroCopyReadPacketData()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				pp.Parse(data, packet.Ethernet, nil)
				if !p.FromParsed(&pp, flow.TimeOf(ci.Timestamp)) {
					c.CountUnparseable()
					continue
				}
				parsed++
				parsedBytes += uint64(p.Length)
				if err := c.Update(&p); err != nil {
					t.Fatal(err)
				}
			}
			c.Close()
			if parsed != totals.Packets || parsedBytes != totals.IPBytes {
				t.Fatalf("parsed %d packets %d bytes of %d %d generated", parsed, parsedBytes, totals.Packets, totals.IPBytes)
			}
			if packets != uint64(parsed) || bytes != parsedBytes {
				t.Errorf("reported %d packets %d bytes, metered %d %d", packets, bytes, parsed, parsedBytes)
			}
			st := c.Stats()
			if st.Packets != uint64(parsed) || st.Unparseable != 0 || st.Flows != 0 {
				t.Errorf("stats %+v", st)
			}
			t.Logf("records by reason: %v", reasons)
			switch tc.name {
			case "evicting":
				if reasons[flow.EndLackOfResources] == 0 {
					t.Error("the small cache evicted nothing")
				}
			case "short timeouts": // 50 s of traffic: every timeout has time to fire
				if reasons[flow.EndOfFlow] == 0 || reasons[flow.EndIdle] == 0 || reasons[flow.EndActive] == 0 {
					t.Error("some end reason never occurred")
				}
			}
		})
	}
}

// BenchmarkParseAndUpdate is the meter's whole per-packet work: parse the frame's headers
// and update the cache, over generated traffic with about 100,000 flows live (50,000
// conversations at once, most of them TCP with both directions, at 50,000 packets a second
// with the default timeouts). Frames are read from memory in order, as from a capture
// ring; each is cut at 96 bytes, softflowd's snap length. The first pass over the frames
// fills the cache; the timed passes run on, later in time.
func BenchmarkParseAndUpdate(b *testing.B) {
	const n = 1 << 20
	g := trafficgen.New(trafficgen.Config{Seed: 9, Packets: n, Concurrent: 50000, IPv6Share: 0.2, VLANShare: 0.1, Snaplen: 96, Rate: 50000})
	frames := make([]byte, 0, n*96)
	offs := make([]int32, 0, n+1)
	times := make([]flow.Time, 0, n)
	for {
		f, ok := g.Next()
		if !ok {
			break
		}
		offs = append(offs, int32(len(frames)))
		frames = append(frames, f.Data...)
		times = append(times, flow.TimeOf(f.Time))
	}
	offs = append(offs, int32(len(frames)))
	for _, batch := range []int{1, 64} {
		for _, biflow := range []bool{false, true} {
			name := fmt.Sprintf("mode=uniflow/batch=%d", batch)
			if biflow {
				name = fmt.Sprintf("mode=biflow/batch=%d", batch)
			}
			b.Run(name, func(b *testing.B) {
				c, err := New(Config{MaxFlows: 1 << 18, Shards: 1, Biflow: biflow, Sink: func(_, _ *flow.Record) {}})
				if err != nil {
					b.Fatal(err)
				}
				var pp packet.Packet
				ps := make([]Packet, batch)
				var shift flow.Time // each pass over the frames runs later than the one before
				i := 0
				// run meters the next batch of frames, wrapping around at the end.
				run := func() {
					n := 0
					for n < batch {
						pp.Parse(frames[offs[i]:offs[i+1]], packet.Ethernet, nil)
						if ps[n].FromParsed(&pp, times[i]+shift) {
							n++
						}
						if i++; i == len(times) {
							i = 0
							shift += times[len(times)-1] - times[0] + flow.Time(time.Second)
						}
					}
					if batch == 1 {
						c.Update(&ps[0])
					} else {
						c.UpdateBatch(ps)
					}
				}
				for i < len(times)-batch { // one pass to fill the cache
					run()
				}
				b.ReportAllocs()
				b.SetBytes(int64(96 * batch))
				for b.Loop() {
					run()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/packet")
				b.ReportMetric(float64(c.Stats().Flows), "flows")
			})
		}
	}
}

// BenchmarkParseAndUpdateLive is the case exactly: parse a frame and meter it,
// with 100,000 flows live, none created or expired while timed. The frames (Ethernet,
// IPv4, TCP; 64 bytes apart) are laid out in the order they are metered, read one after
// the other as from a capture ring; their flows follow the orders of BenchmarkUpdate
// (uniform: a fixed random permutation of the flows; zipf: s = 1.1). ns/packet includes
// the parse.
func BenchmarkParseAndUpdateLive(b *testing.B) {
	const live, stride = 100000, 64
	flows := packets(live)
	orders := benchOrders(live)
	for _, batch := range []int{1, 64} {
		for _, o := range orders {
			b.Run(fmt.Sprintf("order=%s/batch=%d", o.name, batch), func(b *testing.B) {
				frames := make([]byte, len(o.order)*stride)
				for i, f := range o.order {
					appendFrame(frames[i*stride:i*stride], &flows[f])
				}
				c, err := New(Config{MaxFlows: 131072, Shards: 1, InactiveTimeout: time.Hour, Sink: func(_, _ *flow.Record) {}})
				if err != nil {
					b.Fatal(err)
				}
				now := t0
				for i := range flows { // create every flow before timing
					flows[i].Time = now
					c.Update(&flows[i])
				}
				var pp packet.Packet
				ps := make([]Packet, batch)
				i := 0
				b.ReportAllocs()
				b.SetBytes(int64(stride * batch))
				for b.Loop() {
					for n := 0; n < batch; {
						pp.Parse(frames[i*stride:(i+1)*stride], packet.Ethernet, nil)
						now += 100
						if ps[n].FromParsed(&pp, now) {
							n++
						}
						if i++; i == len(o.order) {
							i = 0
						}
					}
					if batch == 1 {
						c.Update(&ps[0])
					} else {
						c.UpdateBatch(ps)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/packet")
				if st := c.Stats(); st.Flows != live || st.Created != live {
					b.Fatalf("%d flows live, %d created, want %d", st.Flows, st.Created, live)
				}
			})
		}
	}
}

// appendFrame appends to dst an Ethernet frame carrying p's IPv4 and TCP headers, its
// IP total length p.Length (the frame itself stops after the TCP header).
func appendFrame(dst []byte, p *Packet) []byte {
	be := binary.BigEndian
	dst = append(dst, p.DstMAC[:]...)
	dst = append(dst, p.SrcMAC[:]...)
	dst = be.AppendUint16(dst, 0x0800)
	dst = append(dst, 0x45, p.ToS)
	dst = be.AppendUint16(dst, uint16(p.Length))
	dst = append(dst, 0, 0, 0x40, 0, p.TTL, p.IPProto, 0, 0) // id, don't fragment, TTL, protocol, checksum
	s, d := p.SrcAddr.As4(), p.DstAddr.As4()
	dst = append(append(dst, s[:]...), d[:]...)
	dst = be.AppendUint16(dst, p.SrcPort)
	dst = be.AppendUint16(dst, p.DstPort)
	dst = append(dst, 0, 0, 0, 1, 0, 0, 0, 2, 5<<4, byte(p.TCPFlags), 0xff, 0xff, 0, 0, 0, 0)
	return dst
}
