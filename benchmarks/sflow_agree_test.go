package benchmarks

import (
	"net/netip"
	"testing"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/sflow"
	protoproducer "github.com/netsampler/goflow2/v2/producer/proto"
)

// TestSFlowAgree checks that goflow2 (decoder and producer) and this library read the
// benchmark datagram to the same flows, so that the benchmark compares the same work.
func TestSFlowAgree(t *testing.T) {
	g := newGoflow2SFlow()
	msgs, err := g.decode(sflowDatagram)
	if err != nil {
		t.Fatal(err)
	}
	defer g.done(msgs)
	var p sflow.Parser
	if _, err := p.Start(sflowDatagram); err != nil {
		t.Fatal(err)
	}
	ours := p.AppendFlows(nil)
	if p.Err() != nil || len(ours) != sflowFlowSamples || len(msgs) != sflowFlowSamples {
		t.Fatalf("flowkit %d flows (%v), goflow2 %d", len(ours), p.Err(), len(msgs))
	}
	addr := func(b []byte) netip.Addr { a, _ := netip.AddrFromSlice(b); return a.Unmap() }
	mac := func(m flow.MAC) uint64 {
		return uint64(m[0])<<40 | uint64(m[1])<<32 | uint64(m[2])<<24 | uint64(m[3])<<16 | uint64(m[4])<<8 | uint64(m[5])
	}
	for i, m := range msgs {
		g := m.(*protoproducer.ProtoProducerMessage)
		r := ours[i]
		if addr(g.SrcAddr) != r.SrcAddr || addr(g.DstAddr) != r.DstAddr || addr(g.NextHop) != r.NextHop ||
			addr(g.BgpNextHop) != r.BGPNextHop || addr(g.SamplerAddress) != r.Exporter ||
			g.Bytes != r.Bytes || g.Packets != r.Packets || g.SamplingRate != uint64(r.SamplingInterval) ||
			g.InIf != r.InIf || g.OutIf != r.OutIf || g.SrcAs != r.SrcAS || g.DstAs != r.DstAS ||
			g.SrcNet != uint32(r.SrcMask) || g.DstNet != uint32(r.DstMask) || g.SrcVlan != uint32(r.VLAN) ||
			g.SrcMac != mac(r.SrcMAC) || g.DstMac != mac(r.DstMAC) || g.Proto != uint32(r.IPProto) ||
			g.SrcPort != uint32(r.SrcPort) || g.DstPort != uint32(r.DstPort) || g.TcpFlags != uint32(r.TCPFlags) ||
			g.IpTos != uint32(r.ToS) {
			t.Errorf("flow %d differs:\n goflow2 %+v\n flowkit %+v", i, &g.FlowMessage, r)
		}
	}
}
