package interop

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowkit/flow"
)

// view is what the tests compare of a flow record: the fields every decoder here reads.
// A field a protocol or a tool does not carry stays zero on both sides.
type view struct {
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	Proto, ToS       uint8
	TCPFlags         uint16
	Packets, Bytes   uint64
	InIf, OutIf      uint32
	VLAN             uint16
	SamplingRate     uint32 // sFlow only: NetFlow announces it apart from the records
	// Start and End are Unix milliseconds (NetFlow carries milliseconds; sFlow nothing).
	Start, End int64
}

// plainView prints every field.
type plainView view

func (v view) String() string {
	s := fmt.Sprintf("%v:%d > %v:%d proto %d tos %#x flags %#x pkts %d bytes %d if %d>%d",
		v.Src, v.SrcPort, v.Dst, v.DstPort, v.Proto, v.ToS, v.TCPFlags, v.Packets, v.Bytes, v.InIf, v.OutIf)
	if v.VLAN != 0 {
		s += fmt.Sprintf(" vlan %d", v.VLAN)
	}
	if v.SamplingRate != 0 {
		s += fmt.Sprintf(" rate %d", v.SamplingRate)
	}
	if v.Start != 0 || v.End != 0 {
		s += " " + time.UnixMilli(v.Start).UTC().Format("15:04:05.000") + "–" + time.UnixMilli(v.End).UTC().Format("15:04:05.000")
	}
	return s
}

// viewOf projects a decoded record. sFlow records carry their collector's arrival time,
// not the sample's, and keep their sampling rate.
func viewOf(r *flow.Record) view {
	v := view{
		Src: r.SrcAddr, Dst: r.DstAddr, SrcPort: r.SrcPort, DstPort: r.DstPort,
		Proto: r.IPProto, ToS: r.ToS, TCPFlags: r.TCPFlags, Packets: r.Packets, Bytes: r.Bytes,
		InIf: r.InIf, OutIf: r.OutIf, VLAN: r.VLAN,
	}
	if r.Protocol == flow.SFlow {
		v.SamplingRate = r.SamplingInterval
	} else {
		v.Start, v.End = int64(r.Start)/1e6, int64(r.End)/1e6
	}
	return v
}

func viewsOf(recs []flow.Record) []view {
	out := make([]view, len(recs))
	for i := range recs {
		out[i] = viewOf(&recs[i])
	}
	return out
}

// sums adds up records.
type sums struct {
	Records        int
	Packets, Bytes uint64
}

func sumOf(vs []view) sums {
	s := sums{Records: len(vs)}
	for _, v := range vs {
		s.Packets += v.Packets
		s.Bytes += v.Bytes
	}
	return s
}

// sameRecords compares two lists of records in order, and reports the first differences.
func sameRecords(t *testing.T, what string, got, want []view) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d records, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			if bad < 5 {
				t.Errorf("%s: record %d\n got %+v\nwant %+v", what, i, plainView(got[i]), plainView(want[i]))
			}
			bad++
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d records differ in all", what, bad)
	}
}

// sameMultiset compares two lists of records as multisets (tools that store records in
// their own order), and reports what is on one side only.
func sameMultiset(t *testing.T, what string, got, want []string) {
	t.Helper()
	count := map[string]int{}
	for _, s := range want {
		count[s]++
	}
	for _, s := range got {
		count[s]--
	}
	var extra, missing []string
	for s, n := range count {
		for ; n > 0; n-- {
			missing = append(missing, s)
		}
		for ; n < 0; n++ {
			extra = append(extra, s)
		}
	}
	slices.Sort(extra)
	slices.Sort(missing)
	if len(extra)+len(missing) > 0 {
		t.Errorf("%s: %d records, want %d; %d only in the tool's output, %d missing from it\nonly in the tool's (first 5):\n  %s\nmissing (first 5):\n  %s",
			what, len(got), len(want), len(extra), len(missing),
			strings.Join(extra[:min(5, len(extra))], "\n  "), strings.Join(missing[:min(5, len(missing))], "\n  "))
	}
}
