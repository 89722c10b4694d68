package ipfix_test

import (
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/flowtest"
	"github.com/flowkit/flow/ipfix"
	"github.com/google/go-cmp/cmp"
)

// TestBuilderParserRoundTrip sends forward flows and biflows of both families through the
// Builder and reads them back with the Parser: every record field, the reverse direction
// of each biflow, the sampling announced in options, and sequence numbers without a gap.
func TestBuilderParserRoundTrip(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	recs := testRecords(60, flow.TimeOf(now.Add(-10*time.Second)))
	revs := make([]flow.Record, len(recs))
	for i, r := range recs {
		rev := r
		rev.SrcAddr, rev.DstAddr, rev.SrcPort, rev.DstPort = r.DstAddr, r.SrcAddr, r.DstPort, r.SrcPort
		rev.Packets, rev.Bytes, rev.TCPFlags = uint64(i+1), uint64(i)*1000+7, uint16(0x12+i)
		revs[i] = rev
	}
	b := ipfix.Builder{Domain: 7, SamplingInterval: 512, SamplingAlgorithm: 2, TemplateRefresh: 3}
	half := len(recs) / 2
	msgs := build(t, &b, now, len(recs), func(i int) error {
		if i < half {
			return b.AddFlow(&recs[i])
		}
		return b.AddBiflow(&recs[i], &revs[i])
	})

	var p ipfix.Parser
	var got, gotRev []flow.Record
	perMsg := make([]int, len(msgs)) // data records, options included, as sequence numbers count
	for i, m := range msgs {
		if _, err := p.Start(m, exporterAddr); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		for p.Next() {
			perMsg[i]++
			if p.Options() {
				continue
			}
			var r, rev flow.Record
			p.Flow(&r)
			got = append(got, r)
			if p.Reverse(&rev) {
				gotRev = append(gotRev, rev)
			}
		}
		if err := p.Err(); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if p.Trailing() != 0 || p.Held() != 0 {
			t.Errorf("message %d: %d trailing bytes, %d sets held", i, p.Trailing(), p.Held())
		}
	}
	if diff := cmp.Diff(recs, got, flowtest.CmpAddr); diff != "" {
		t.Errorf("forward records (-sent +received):\n%s", diff)
	}
	// The reverse record shares what RFC 5103 does not repeat (protocol, VLAN, sampling,
	// times when no reverse time is sent) and swaps the directional keys.
	if len(gotRev) != len(recs)-half {
		t.Fatalf("%d reverse records, want %d", len(gotRev), len(recs)-half)
	}
	for i, rev := range gotRev {
		want := revs[half+i]
		if rev.SrcAddr != want.SrcAddr || rev.DstAddr != want.DstAddr || rev.SrcPort != want.SrcPort ||
			rev.DstPort != want.DstPort || rev.Packets != want.Packets || rev.Bytes != want.Bytes ||
			rev.TCPFlags != want.TCPFlags || rev.SamplingInterval != 512 || rev.IPProto != want.IPProto {
			t.Errorf("reverse %d: got %+v\nwant %+v", i, rev, want)
		}
	}
	info, ok := p.Sequence()
	if !ok || info.Lost != 0 || info.Reordered != 0 || info.Expected != b.Sequence(7) {
		t.Errorf("sequence %+v (known %v), builder at %d", info, ok, b.Sequence(7))
	}

	// The same messages with one dropped: the parser counts exactly its data records lost.
	var q ipfix.Parser
	const drop = 2
	for i, m := range msgs {
		if i == drop {
			continue
		}
		q.Start(m, exporterAddr)
		for q.Next() {
		}
	}
	if info, _ := q.Sequence(); info.Lost != int64(perMsg[drop]) || perMsg[drop] == 0 {
		t.Errorf("one message of %d records dropped: lost %d", perMsg[drop], info.Lost)
	}
}
