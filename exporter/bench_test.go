package exporter

import (
	"context"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/capture"
	"github.com/flowkit/flow/flowcache"
	"github.com/flowkit/flow/internal/trafficgen"
	"github.com/flowkit/flow/ipfix"
)

// replay is a capture.Source that plays generated frames over and over, each round later
// than the one before, until n packets were read.
type replay struct {
	data  [][]byte
	wire  []int
	times []flow.Time
	span  flow.Time
	i, n  int
}

func newReplay(cfg trafficgen.Config, n int) *replay {
	r := &replay{n: n}
	g := trafficgen.New(cfg)
	for {
		f, ok := g.Next()
		if !ok {
			break
		}
		r.data = append(r.data, append([]byte(nil), f.Data...))
		r.wire = append(r.wire, f.Length)
		r.times = append(r.times, flow.TimeOf(f.Time))
	}
	r.span = r.times[len(r.times)-1] - r.times[0] + flow.Time(1e6)
	return r
}

func (r *replay) ReadPacket() (capture.Packet, error) {
	if r.i == r.n {
		return capture.Packet{}, io.EOF
	}
	k, round := r.i%len(r.data), r.i/len(r.data)
	r.i++
	return capture.Packet{Data: r.data[k], Length: r.wire[k], Time: r.times[k] + flow.Time(round)*r.span, IfIndex: 1}, nil
}

func (r *replay) Close() error { return nil }

// replayTraffic is the benchmarks' traffic: 50,000 conversations at once, as a busy
// uplink has, at a million packets a second.
var replayTraffic = trafficgen.Config{Seed: 5, Packets: 200_000, Concurrent: 50_000, Rate: 1e6, IPv6Share: 0.3}

// discardExporter returns an IPFIX exporter whose messages go nowhere. Its timeouts are
// short for the replayed traffic (0.2 s a round) so that flows expire and are encoded:
// about two packets in five start a flow, as on a link where flows come and go.
func discardExporter(tb testing.TB) *Exporter {
	e, err := New(Config{Protocol: flow.IPFIX, Output: func([]byte) {}, Logger: quiet,
		Cache: flowcache.Config{MaxFlows: 1 << 18, InactiveTimeout: 50 * time.Millisecond}})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// BenchmarkRun meters captured frames the way Run reads them from a capture, through the
// flow cache and the IPFIX encoder, messages dropped: the exporter's cost per packet,
// without the capture's and the network's.
func BenchmarkRun(b *testing.B) {
	src := newReplay(replayTraffic, 0)
	e := discardExporter(b)
	src.n = b.N
	b.ReportAllocs()
	b.ResetTimer()
	if err := e.Run(context.Background(), src); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/packet")
}

// TestPacketAllocs: metering a packet allocates nothing once the cache and the encoder
// are warm, flows expiring and messages going out included.
func TestPacketAllocs(t *testing.T) {
	src := newReplay(replayTraffic, 1<<30)
	e := discardExporter(t)
	defer e.Close()
	next := func() {
		p, _ := src.ReadPacket()
		e.Packet(p.Data, p.Length, p.Time, uint32(p.IfIndex))
	}
	for range 2 * len(src.data) {
		next()
	}
	if n := testing.AllocsPerRun(50_000, next); n != 0 {
		t.Errorf("%v allocs a packet", n)
	}
	st := e.Stats()
	t.Logf("%d packets, %d flows created, %d records, %d messages", st.Packets, st.Cache.Created, st.Records, st.Messages)
	if st.Records == 0 || st.Messages == 0 {
		t.Errorf("nothing exported: %+v", st)
	}
}

// TestRunMetersEveryPacket: Run hands packets to the flow cache in batches; every packet,
// the last partial batch's too, is in the records that go out when the source ends.
func TestRunMetersEveryPacket(t *testing.T) {
	var p ipfix.Parser
	var packets uint64
	e, err := New(Config{Protocol: flow.IPFIX, Logger: quiet, Output: func(msg []byte) {
		if _, err := p.Start(msg, netip.MustParseAddrPort("127.0.0.1:4739")); err != nil {
			t.Error(err)
			return
		}
		for _, r := range p.AppendFlows(nil) {
			packets += r.Packets
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	const n = 10_007 // not a whole number of batches
	src := newReplay(trafficgen.Config{Seed: 3, Packets: 3000, Concurrent: 500, Rate: 1e5}, n)
	if err := e.Run(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	if st := e.Stats(); st.Packets != n || st.Cache.Packets != n || packets != n {
		t.Errorf("%d packets read, %d metered, %d in the records sent; want %d", st.Packets, st.Cache.Packets, packets, n)
	}
}
