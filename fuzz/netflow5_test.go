package fuzz

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/netflow5"
)

func FuzzNetFlow5(f *testing.F) {
	addSeeds(f, "v5")
	good := goodNetFlow5(f)
	var p netflow5.Parser
	f.Fuzz(func(t *testing.T, b []byte) {
		checkNetFlow5(t, &p, b)
		// Whatever came before, the parser reads a good datagram right.
		if n, err := decodeNetFlow5(&p, good); err != nil || n != 6 {
			t.Fatalf("good datagram after this input: %d records, %v", n, err)
		}
	})
}

// TestNetFlow5Allocs measures the allocations of 20,000 mutated datagrams, which the fuzz
// target cannot do while fuzzing.
func TestNetFlow5Allocs(t *testing.T) {
	var p netflow5.Parser
	mutate(seedDatagrams(t, "v5"), 20000, func(b []byte) { checkNetFlow5(t, &p, b) })
}

// checkNetFlow5 decodes b and checks the properties every input must have.
func checkNetFlow5(t *testing.T, p *netflow5.Parser, b []byte) {
	t.Helper()
	n, err := decodeNetFlow5(p, b)
	if err != nil {
		checkSentinel(t, err)
		checkAllocs(t, errorAllocs, "a failed decode", func() { decodeNetFlow5(p, b) })
		return
	}
	checkAllocs(t, 0, "a successful decode", func() { decodeNetFlow5(p, b) })
	if max := (len(b) - netflow5.HeaderLen) / netflow5.RecordLen; n > max {
		t.Errorf("%d records from %d bytes (at most %d fit)", n, len(b), max)
	}
	if want := int(binary.BigEndian.Uint16(b[2:])); n != want {
		t.Errorf("%d records, header counts %d", n, want)
	}
	if trailing := len(p.Trailing()); trailing != len(b)-netflow5.HeaderLen-n*netflow5.RecordLen {
		t.Errorf("%d trailing bytes reported for %d bytes and %d records", trailing, len(b), n)
	}
}

// FuzzNetFlow5RoundTrip decodes, re-encodes every record in wire form, decodes again, and
// requires the same records.
func FuzzNetFlow5RoundTrip(f *testing.F) {
	addSeeds(f, "v5")
	f.Fuzz(func(t *testing.T, b []byte) {
		var p netflow5.Parser
		h, err := p.Start(b)
		if err != nil {
			return
		}
		var first []netflow5.Record
		for p.Next() {
			first = append(first, p.Record())
		}
		var enc netflow5.Builder
		enc.EngineType, enc.EngineID = h.EngineType, h.EngineID
		enc.SamplingMode, enc.SamplingInterval = h.SamplingMode, h.SamplingInterval
		enc.Sequence = h.FlowSequence
		var out []byte
		var datagrams [][]byte
		for i := 0; i < len(first); {
			start := len(out)
			enc.Start(out, h.ExportTime().AsTime())
			for ; i < len(first); i++ {
				if err := enc.Add(first[i]); errors.Is(err, flow.ErrFull) {
					break
				} else if err != nil {
					t.Fatal(err)
				}
			}
			out = enc.Finish()
			datagrams = append(datagrams, out[start:])
		}
		var second []netflow5.Record
		seq := h.FlowSequence
		for _, d := range datagrams {
			h2, err := p.Start(d)
			if err != nil {
				t.Fatalf("re-encoded datagram does not decode: %v", err)
			}
			if h2.EngineType != h.EngineType || h2.EngineID != h.EngineID || h2.SamplingMode != h.SamplingMode ||
				h2.SamplingInterval != h.SamplingInterval || h2.FlowSequence != seq {
				t.Fatalf("header %+v after %+v", h2, h)
			}
			seq += uint32(h2.Count)
			for p.Next() {
				second = append(second, p.Record())
			}
		}
		if len(first) != len(second) {
			t.Fatalf("%d records, then %d", len(first), len(second))
		}
		for i := range first {
			if first[i] != second[i] {
				t.Fatalf("record %d: %+v, then %+v", i, first[i], second[i])
			}
		}
	})
}

// decodeNetFlow5 decodes every record of b into a flow.Record and returns how many.
func decodeNetFlow5(p *netflow5.Parser, b []byte) (int, error) {
	if _, err := p.Start(b); err != nil {
		return 0, err
	}
	var r flow.Record
	n := 0
	for p.Next() {
		p.Flow(&r)
		if r.Protocol != flow.NetFlow5 {
			panic("record without protocol")
		}
		n++
	}
	return n, nil
}

func goodNetFlow5(tb testing.TB) []byte {
	d := datagramsOf(tb, "goflow2/TestDecodeNetFlowV5_data.dat")
	return d[0]
}
