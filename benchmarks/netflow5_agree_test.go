package benchmarks

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/netflow5"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
)

// TestNetFlow5Agree checks that goflow2 and this library read the benchmark datagram to
// the same values, so that the benchmark compares the same work.
func TestNetFlow5Agree(t *testing.T) {
	var pkt netflowlegacy.PacketNetFlowV5
	if err := netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(netflow5Datagram), &pkt); err != nil {
		t.Fatal(err)
	}
	var p netflow5.Parser
	h, err := p.Start(netflow5Datagram)
	if err != nil {
		t.Fatal(err)
	}
	if int(pkt.Count) != int(h.Count) || pkt.SysUptime != h.SysUptime || pkt.FlowSequence != h.FlowSequence ||
		pkt.SamplingInterval != uint16(h.SamplingMode)<<14|h.SamplingInterval {
		t.Errorf("headers differ: goflow2 %+v, flowkit %+v", pkt, h)
	}
	i := 0
	for ; p.Next(); i++ {
		var r flow.Record
		p.Flow(&r)
		g := pkt.Records[i]
		ip := func(v netflowlegacy.IPAddress) [4]byte {
			var a [4]byte
			binary.BigEndian.PutUint32(a[:], uint32(v))
			return a
		}
		if ip(g.SrcAddr) != r.SrcAddr.As4() || ip(g.DstAddr) != r.DstAddr.As4() || ip(g.NextHop) != r.NextHop.As4() ||
			uint64(g.DPkts) != r.Packets || uint64(g.DOctets) != r.Bytes ||
			g.SrcPort != r.SrcPort || g.DstPort != r.DstPort || g.Proto != r.IPProto ||
			uint32(g.Input) != r.InIf || uint32(g.Output) != r.OutIf || uint16(g.TCPFlags) != r.TCPFlags ||
			uint32(g.SrcAS) != r.SrcAS || uint32(g.DstAS) != r.DstAS || g.SrcMask != r.SrcMask || g.DstMask != r.DstMask ||
			h.Time(g.First) != r.Start || h.Time(g.Last) != r.End {
			t.Errorf("record %d differs:\n goflow2 %+v\n flowkit %+v", i, g, r)
		}
	}
	if i != len(pkt.Records) {
		t.Errorf("flowkit %d records, goflow2 %d", i, len(pkt.Records))
	}
}
