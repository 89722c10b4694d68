package benchmarks

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/sflow"
	gfsflow "github.com/netsampler/goflow2/v2/decoders/sflow"
	"github.com/netsampler/goflow2/v2/producer"
	protoproducer "github.com/netsampler/goflow2/v2/producer/proto"
)

// sflowFlowSamples is the number of flow samples in sflowDatagram.
const sflowFlowSamples = 8

// sflowDatagram is what a router sends: 8 flow samples, each with the first 128 bytes of
// an Ethernet/IPv4/TCP packet and extended switch, router and gateway records, and one
// counter sample with generic and Ethernet interface counters.
var sflowDatagram = func() []byte {
	boot := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := sflow.Builder{Agent: netip.MustParseAddr("192.0.2.1"), SubAgent: 1, Boot: boot, MaxSize: 8192}
	b.Start(nil, boot.Add(12*24*time.Hour))
	for i := 0; i < sflowFlowSamples; i++ {
		hdr := make([]byte, 0, 128)
		hdr = append(hdr, 0x00, 0x1b, 0x21, 0x3c, 0x9d, byte(i), 0x00, 0x25, 0x90, 0x11, 0x22, 0x33, 0x08, 0x00) // Ethernet
		hdr = append(hdr, 0x45, byte(i%4)<<2, 0x05, 0xdc, 0x12, byte(i), 0x40, 0x00, 64, 6, 0, 0,                // IPv4, 1500 bytes, TCP
			10, byte(i), 0, 1, 198, 51, 100, byte(i))
		hdr = append(hdr, 0xc0, byte(i), 0x01, 0xbb, 0, 0, 0, 1, 0, 0, 0, 2, 0x80, 0x18, 0x01, 0xf5, 0, 0, 0, 0, // TCP with options
			1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2)
		hdr = append(hdr, make([]byte, 128-len(hdr))...) // payload up to the 128 bytes agents send by default
		err := b.AddFlowSample(&sflow.FlowSample{
			SourceIndex: uint32(1 + i%4), SamplingRate: 4096, SamplePool: uint32(4096 * (i + 1)),
			Input: sflow.Interface{Value: uint32(1 + i%4)}, Output: sflow.Interface{Value: uint32(10 + i%3)},
			Header: &sflow.SampledHeader{Protocol: sflow.HeaderEthernet, FrameLength: 1518, Stripped: 4, Header: hdr},
			Switch: &sflow.ExtendedSwitch{SrcVLAN: 100, DstVLAN: 200},
			Router: &sflow.ExtendedRouter{NextHop: netip.MustParseAddr("192.0.2.254"), SrcMask: 24, DstMask: uint32(16 + i%8)},
			Gateway: &sflow.ExtendedGateway{NextHop: netip.MustParseAddr("203.0.113.1"), AS: 64500, SrcAS: 64501, SrcPeerAS: 64502,
				Path:        sflow.MakeASPath(sflow.ASSegment{Type: sflow.ASSequence, ASNs: sflow.MakeWords(64502, 3356, uint32(15169+i))}),
				Communities: sflow.MakeWords(64500<<16|100, 64500<<16|200), LocalPref: 100},
		})
		if err != nil {
			panic(err)
		}
	}
	err := b.AddCounterSample(&sflow.CounterSample{SourceIndex: 1,
		Generic:  &sflow.IfCounters{Index: 1, Type: 6, Speed: 10e9, Direction: 1, Status: 3, InOctets: 1 << 40, InUcastPkts: 1 << 30, OutOctets: 1 << 41},
		Ethernet: &sflow.EthernetCounters{FCSErrors: 3}})
	if err != nil {
		panic(err)
	}
	return b.Finish()
}()

// goflow2SFlow decodes a datagram and runs goflow2's protobuf producer over it, which is
// where goflow2 parses the sampled headers: together, what our Parser.AppendFlows does.
type goflow2SFlow struct {
	prod producer.ProducerInterface
	args producer.ProduceArgs
}

func newGoflow2SFlow() *goflow2SFlow {
	cfg, err := (&protoproducer.ProducerConfig{}).Compile() // goflow2's default mapping
	if err != nil {
		panic(err)
	}
	prod, err := protoproducer.CreateProtoProducer(cfg, protoproducer.CreateSamplingSystem)
	if err != nil {
		panic(err)
	}
	return &goflow2SFlow{prod: prod, args: producer.ProduceArgs{
		SamplerAddress: netip.MustParseAddr("192.0.2.1"), TimeReceived: time.Unix(1700000000, 0)}}
}

// decode returns goflow2's messages; call done with them when finished.
func (g *goflow2SFlow) decode(b []byte) ([]producer.ProducerMessage, error) {
	var pkt gfsflow.Packet
	if err := gfsflow.DecodeMessageVersion(bytes.NewBuffer(b), &pkt); err != nil {
		return nil, err
	}
	return g.prod.Produce(&pkt, &g.args)
}

func (g *goflow2SFlow) done(msgs []producer.ProducerMessage) { g.prod.Commit(msgs) }

func BenchmarkSFlowDecode(b *testing.B) {
	data := sflowDatagram

	// Every flow sample to a flow.Record, sampled header parsed: what a collector does.
	b.Run("impl=flowkit", func(b *testing.B) {
		var p sflow.Parser
		out := make([]flow.Record, 0, sflowFlowSamples)
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := p.Start(data); err != nil {
				b.Fatal(err)
			}
			out = p.AppendFlows(out[:0])
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*sflowFlowSamples), "ns/sample")
	})

	// Sample by sample with Next and Flow.
	b.Run("impl=flowkit-next", func(b *testing.B) {
		var p sflow.Parser
		var r flow.Record
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := p.Start(data); err != nil {
				b.Fatal(err)
			}
			for p.Next() {
				p.Flow(&r)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*sflowFlowSamples), "ns/sample")
	})

	b.Run("impl=goflow2", func(b *testing.B) {
		g := newGoflow2SFlow()
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			msgs, err := g.decode(data)
			if err != nil {
				b.Fatal(err)
			}
			g.done(msgs)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*sflowFlowSamples), "ns/sample")
	})
}

func BenchmarkSFlowEncode(b *testing.B) {
	var p sflow.Parser
	if _, err := p.Start(sflowDatagram); err != nil {
		b.Fatal(err)
	}
	recs := p.AppendFlows(nil)
	b.Run("impl=flowkit", func(b *testing.B) {
		enc := sflow.Builder{Agent: netip.MustParseAddr("192.0.2.1"), MaxSize: 8192}
		buf := make([]byte, 0, 8192)
		now := time.Unix(1700000000, 0)
		b.ReportAllocs()
		for b.Loop() {
			enc.Start(buf[:0], now)
			for i := range recs {
				if err := enc.AddFlow(&recs[i]); err != nil {
					b.Fatal(err)
				}
			}
			buf = enc.Finish()
		}
		b.SetBytes(int64(len(buf)))
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/sample")
	})
}
