package benchmarks

import (
	"bytes"
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
		if !sameV5(&g, &r, &h) {
			t.Errorf("record %d differs:\n goflow2 %+v\n flowkit %+v", i, g, r)
		}
	}
	if i != len(pkt.Records) {
		t.Errorf("flowkit %d records, goflow2 %d", i, len(pkt.Records))
	}
}
