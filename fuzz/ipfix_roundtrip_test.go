package fuzz

import (
	"errors"
	"testing"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/ipfix"
)

// FuzzIPFIXRoundTrip decodes a message, re-encodes its flow records with the Builder,
// decodes those again, and requires the same records: what the default templates carry,
// with times in whole milliseconds.
func FuzzIPFIXRoundTrip(f *testing.F) {
	for _, s := range ipfixSeeds(f) {
		f.Add(s)
	}
	tpl, _ := goodIPFIX(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		p := ipfix.Parser{Cache: ipfixCache()}
		decodeIPFIX(&p, tpl)
		h, err := p.Start(b, ipfixFrom)
		if err != nil {
			return
		}
		first := p.AppendFlows(nil)
		for i := range first {
			r := &first[i]
			// Not in the default templates: sampling and names come from options records,
			// which this target does not send; the MPLS label element is 20 bits wide.
			r.SamplingInterval, r.InIfName, r.OutIfName = 0, "", ""
			r.MPLSLabel &= 0xfffff
			r.Start, r.End = wholeMs(r.Start), wholeMs(r.End)
		}
		enc := ipfix.Builder{Domain: h.Domain}
		q := ipfix.Parser{Cache: ipfixCache()}
		var second []flow.Record
		now := h.Time().AsTime()
		for i := 0; i < len(first); {
			enc.Start(nil, now)
			added := 0
			for ; i < len(first); i++ {
				if err := enc.AddFlow(&first[i]); errors.Is(err, flow.ErrFull) {
					break
				} else if err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				added++
			}
			if added == 0 {
				t.Fatal("a record does not fit an empty message")
			}
			if _, err := q.Start(enc.Finish(), ipfixFrom); err != nil {
				t.Fatal(err)
			}
			second = q.AppendFlows(second)
			if err := q.Err(); err != nil {
				t.Fatal(err)
			}
		}
		if len(first) != len(second) {
			t.Fatalf("%d records, then %d", len(first), len(second))
		}
		for i := range first {
			a, b := first[i], second[i]
			normalize(&a)
			normalize(&b)
			if a != b {
				t.Fatalf("record %d:\n %+v\n %+v", i, a, b)
			}
		}
	})
}

// wholeMs is a time as dateTimeMilliseconds carries it: whole milliseconds, and none before
// 1970 (the element is unsigned), which the Builder writes as "not reported".
func wholeMs(t flow.Time) flow.Time {
	if t < 0 {
		return 0
	}
	return t / 1e6 * 1e6
}
