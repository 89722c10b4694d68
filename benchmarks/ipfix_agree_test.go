package benchmarks

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/ipfix"
	"github.com/flowkit/flow/template"
	"github.com/netsampler/goflow2/v2/decoders/netflow"
)

var ipfixFrom = netip.MustParseAddrPort("192.0.2.1:4739")

// decodeIPFIX reads a data message after the messages that define its templates and
// returns its flows.
func decodeIPFIX(t *testing.T, data []byte, templates ...[]byte) []flow.Record {
	t.Helper()
	var p ipfix.Parser
	for _, m := range templates {
		if _, err := p.Start(m, ipfixFrom); err != nil {
			t.Fatal(err)
		}
		p.AppendFlows(nil)
	}
	if _, err := p.Start(data, ipfixFrom); err != nil {
		t.Fatal(err)
	}
	flows := p.AppendFlows(nil)
	if err := p.Err(); err != nil || p.Held() != 0 {
		t.Fatalf("%v, %d sets held", err, p.Held())
	}
	return flows
}

// ipfixWant returns benchmark record i as a decoder fills it: with the exporter and the
// domain of the message.
func ipfixWant(i int) flow.Record {
	r := ipfixFlows[i]
	r.Protocol, r.Exporter, r.Domain = flow.IPFIX, ipfixFrom.Addr(), ipfixDomain
	return r
}

// TestIPFIXEncodeAgree checks that go-ipfix and the Builder, adding records one by one and
// as a batch, write the same message for the benchmark's records, and that it reads back
// as those records.
func TestIPFIXEncodeAgree(t *testing.T) {
	e := newIPFIXEncoder(t, false)
	ours := e.encode(t, nil) // the second message: one data set, sequence 20
	eb := newIPFIXEncoder(t, true)
	if !bytes.Equal(eb.first, e.first) {
		t.Error("the batch's first message, with the template, differs from the one record by record")
	}
	batch := eb.encode(t, nil)
	theirs := newGoIPFIXEncoder(t).encode(t, ipfixRecords)
	for name, m := range map[string][]byte{"flowkit": ours, "flowkit-batch": batch} {
		if !bytes.Equal(m, theirs) {
			t.Errorf("messages differ:\n %s % x\n goipfix % x", name, m[:min(len(m), 64)], theirs[:min(len(theirs), 64)])
		}
	}
	for name, m := range map[string][]byte{"flowkit": ours, "flowkit-batch": batch, "goipfix": theirs} {
		got := decodeIPFIX(t, m, e.first)
		if len(got) != ipfixRecords {
			t.Fatalf("%s: %d records", name, len(got))
		}
		for i, r := range got {
			if want := ipfixWant(i); r != want {
				t.Errorf("%s record %d:\n got  %+v\n want %+v", name, i, r, want)
			}
		}
	}
	if !bytes.Equal(ours, ipfixData) {
		t.Error("the decode benchmark's message is not the one the encoders write")
	}
}

// TestIPFIXDecodeAgree checks that goflow2 and this library read the decode benchmark's
// messages to the same values, field by field, and to the benchmark's records.
func TestIPFIXDecodeAgree(t *testing.T) {
	for name, data := range map[string][]byte{"fixed": ipfixData, "varlen": ipfixDataVar} {
		var pkt netflow.IPFIXPacket
		if err := netflow.DecodeMessageVersion(bytes.NewBuffer(data), newGoflow2IPFIX(t), nil, &pkt); err != nil {
			t.Fatal(err)
		}
		if len(pkt.FlowSets) != 1 {
			t.Fatalf("%s: goflow2 read %d sets", name, len(pkt.FlowSets))
		}
		recs := pkt.FlowSets[0].(netflow.DataFlowSet).Records
		p := newIPFIXParser(t)
		h, err := p.Start(data, ipfixFrom)
		if err != nil {
			t.Fatal(err)
		}
		if pkt.ExportTime != h.ExportTime || pkt.SequenceNumber != h.Sequence || pkt.ObservationDomainId != h.Domain {
			t.Errorf("%s: headers differ: goflow2 %+v, flowkit %+v", name, pkt, h)
		}
		i := 0
		for ; p.Next(); i++ {
			var r flow.Record
			p.Flow(&r)
			if want := ipfixWant(i); r != want {
				t.Errorf("%s record %d:\n got  %+v\n want %+v", name, i, r, want)
			}
			g := recs[i]
			n := 0
			for j, fv := range p.Record().All {
				gv := g.Values[j]
				if gv.Type != fv.ID || gv.Pen != fv.Enterprise || gv.PenProvided != (fv.Enterprise != 0) || !bytes.Equal(gv.Value.([]byte), fv.Value) {
					t.Errorf("%s record %d field %d: goflow2 %d/%d=% x, flowkit %d/%d=% x", name, i, j, gv.Type, gv.Pen, gv.Value, fv.ID, fv.Enterprise, fv.Value)
				}
				if j == 20 && string(fv.Value) != ipfixVarValues[i%len(ipfixVarValues)] {
					t.Errorf("%s record %d: applicationName %q", name, i, fv.Value)
				}
				n++
			}
			if n != len(g.Values) || n != map[string]int{"fixed": 20, "varlen": 22}[name] {
				t.Errorf("%s record %d: flowkit %d fields, goflow2 %d", name, i, n, len(g.Values))
			}
			val := func(id uint16) uint64 {
				for _, v := range g.Values {
					if v.Type == id && v.Pen == 0 {
						return template.Unsigned(v.Value.([]byte))
					}
				}
				return 0
			}
			if uint64(r.SrcAddr.As4()[3]) != val(8)&0xff || r.Bytes != val(1) || r.Packets != val(2) ||
				uint64(r.SrcPort) != val(7) || uint64(r.DstPort) != val(11) || uint64(r.IPProto) != val(4) ||
				uint64(r.InIf) != val(10) || uint64(r.DstAS) != val(17) || uint64(r.Start/1e6) != val(152) || uint64(r.End/1e6) != val(153) {
				t.Errorf("%s record %d differs:\n goflow2 %+v\n flowkit %+v", name, i, g, r)
			}
		}
		if i != len(recs) || i != ipfixRecords {
			t.Errorf("%s: flowkit %d records, goflow2 %d", name, i, len(recs))
		}
		// AppendFlows, which decodes the set at once, reads them alike.
		all := decodeIPFIX(t, data, ipfixTemplates)
		if len(all) != ipfixRecords {
			t.Errorf("%s: AppendFlows decoded %d records", name, len(all))
		}
		for i, r := range all {
			if want := ipfixWant(i); r != want {
				t.Errorf("%s record %d (AppendFlows):\n got  %+v\n want %+v", name, i, r, want)
			}
		}
	}
}
