package benchmarks

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/flowtest"
)

var ipfixFrom = netip.MustParseAddrPort("192.0.2.1:4739")

// decodeIPFIX reads messages with the template package and returns the flows of the last.
func decodeIPFIX(t *testing.T, msgs ...[]byte) []flow.Record {
	d := flowtest.NewIPFIXDecoder(ipfixFrom, false)
	n := 0
	for _, m := range msgs {
		n = len(d.Flows)
		if err := d.Message(m); err != nil {
			t.Fatal(err)
		}
	}
	return d.Flows[n:]
}

// TestIPFIXEncodeAgree checks that go-ipfix and the Builder write the same message for the
// benchmark's records, and that it reads back as those records.
func TestIPFIXEncodeAgree(t *testing.T) {
	e := newIPFIXEncoder(t)
	ours := e.encode(t, nil) // the second message: one data set, sequence 20
	theirs := newGoIPFIXEncoder(t).encode(t, ipfixRecords)
	if !bytes.Equal(ours, theirs) {
		t.Errorf("messages differ:\n flowkit % x\n goipfix % x", ours[:min(len(ours), 64)], theirs[:min(len(theirs), 64)])
	}
	for name, m := range map[string][]byte{"flowkit": ours, "goipfix": theirs} {
		got := decodeIPFIX(t, e.first, m)
		if len(got) != ipfixRecords {
			t.Fatalf("%s: %d records", name, len(got))
		}
		for i, r := range got {
			if want := ipfixWant(i); r != want {
				t.Errorf("%s record %d:\n got  %+v\n want %+v", name, i, r, want)
			}
		}
	}
}

// ipfixWant returns benchmark record i as a decoder fills it: with the exporter and the
// domain of the message.
func ipfixWant(i int) flow.Record {
	r := ipfixFlows[i]
	r.Protocol, r.Exporter, r.Domain = flow.IPFIX, ipfixFrom.Addr(), ipfixDomain
	return r
}
