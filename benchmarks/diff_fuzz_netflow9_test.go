package benchmarks

import (
	"bytes"
	"encoding/binary"
	"testing"
	"unsafe"

	"github.com/flowkit/flow/netflow9"
	"github.com/flowkit/flow/template"
	"github.com/netsampler/goflow2/v2/decoders/netflow"
)

// fuzzSep cuts a differential input into the packets of one exporter, in order, so that
// templates carry from one packet to the next (the seeds are template packets followed
// by their data packets).
var fuzzSep = []byte{0xfe, 0xfe}

// FuzzDiffNetFlow9 feeds the packets of the input to this library's parser and to
// goflow2's decoder, each keeping its templates, and requires every data and options
// record both decode from the same flowset to carry the same field types and values, and
// the packet headers to agree.
func FuzzDiffNetFlow9(f *testing.F) {
	f.Add(bytes.Join([][]byte{netflow9Template, netflow9Data}, fuzzSep))
	seedsFrom(f, "goflow2/TestDecodeNetFlowV9_*.dat")
	seedsFrom(f, "telegraf/netflow_v9_*/*.bin")
	f.Fuzz(func(t *testing.T, b []byte) {
		p, ts := newDiffNetFlow9()
		for i, pkt := range bytes.Split(b, fuzzSep) {
			diffNetFlow9Packet(t, i, pkt, p, ts)
		}
	})
}

// diffNetFlow9Packet compares one packet and returns how many records it compared.
func diffNetFlow9Packet(t *testing.T, i int, pkt []byte, p *netflow9.Parser, ts *filteredTemplates) (compared int) {
	if len(pkt) < 2 || binary.BigEndian.Uint16(pkt) != netflow9.Version {
		return 0 // goflow2 wants an IPFIX packet to decode IPFIX into; this target is v9
	}
	var g netflow.NFv9Packet
	gerr := netflow.DecodeMessageVersion(bytes.NewBuffer(pkt), ts, &g, nil)
	h, err := p.Start(pkt, netflow9From)
	if err != nil {
		return 0 // a packet we refuse whole teaches us nothing; goflow2 may still read parts
	}
	if g.Version == 9 && (g.Count != h.Count || g.SystemUptime != h.SysUptime || g.UnixSeconds != h.UnixSecs ||
		g.SequenceNumber != h.Sequence || g.SourceId != h.SourceID) {
		t.Fatalf("packet %d: headers differ: goflow2 %+v, flowkit %+v", i, g, h)
	}
	// goflow2's records, by the index of the flowset they came from.
	theirs := map[int][][]netflow.DataField{}
	for k, fs := range g.FlowSets {
		switch s := fs.(type) {
		case netflow.DataFlowSet:
			for _, r := range s.Records {
				theirs[k] = append(theirs[k], r.Values)
			}
		case netflow.OptionsDataFlowSet:
			for _, r := range s.Records {
				theirs[k] = append(theirs[k], append(append([]netflow.DataField(nil), r.ScopesValues...), r.OptionsValues...))
			}
		}
	}
	sets := flowsetBounds(pkt)
	ours := map[int][]template.Record{}
	for p.Next() {
		r := p.Record()
		if len(r.Bytes) == 0 {
			continue // a record of no bytes cannot be placed in a flowset; goflow2 loops on those anyway
		}
		off := int(uintptrDiff(pkt, r.Bytes))
		for k, s := range sets {
			if off >= s[0] && off < s[1] {
				ours[k] = append(ours[k], r)
				break
			}
		}
	}
	for k, recs := range ours {
		g := theirs[k]
		if len(g) == 0 || ts.filtered[setID(pkt, sets[k])] {
			continue // goflow2 decoded nothing there, or met a bug of its own (see filteredTemplates)
		}
		if len(g) != len(recs) {
			t.Fatalf("packet %d flowset %d: goflow2 %d records, flowkit %d (gerr %v, err %v)", i, k, len(g), len(recs), gerr, p.Err())
		}
		for j, r := range recs {
			n := 0
			for _, fv := range r.All {
				if n >= len(g[j]) {
					t.Fatalf("packet %d flowset %d record %d: flowkit has more fields than goflow2's %d", i, k, j, len(g[j]))
				}
				gv := g[j][n]
				val, _ := gv.Value.([]byte)
				if gv.Type != fv.ID || !bytes.Equal(val, fv.Value) {
					t.Fatalf("packet %d flowset %d record %d field %d: goflow2 %d=% x, flowkit %d=% x", i, k, j, n, gv.Type, val, fv.ID, fv.Value)
				}
				n++
			}
			if n != len(g[j]) {
				t.Fatalf("packet %d flowset %d record %d: goflow2 %d fields, flowkit %d", i, k, j, len(g[j]), n)
			}
			compared++
		}
	}
	return compared
}

// newDiffNetFlow9 returns the two decoders the differential target compares.
func newDiffNetFlow9() (*netflow9.Parser, *filteredTemplates) {
	p := &netflow9.Parser{Cache: template.NewCache(template.Config{
		MaxFields: 1 << 16, // as goflow2, which bounds nothing: a template it keeps, we keep
		HoldSets:  -1,      // decode a set when it comes or never, as goflow2 does
	})}
	return p, &filteredTemplates{NetFlowTemplateSystem: netflow.CreateTemplateSystem()}
}

// TestDiffNetFlow9Compares makes sure the differential target compares records (the
// benchmark's 20, with their template carried from the packet before), and that the
// filter catches the goflow2 bug it names before goflow2 loops on it.
func TestDiffNetFlow9Compares(t *testing.T) {
	p, ts := newDiffNetFlow9()
	diffNetFlow9Packet(t, 0, netflow9Template, p, ts)
	if n := diffNetFlow9Packet(t, 1, netflow9Data, p, ts); n != netflow9Records {
		t.Errorf("compared %d records, want %d", n, netflow9Records)
	}
	p, ts = newDiffNetFlow9()
	empty := append(bytes.Clone(netflow9Template[:20]), 0, 0, 0, 8, 1, 0, 0, 0) // template 256, no fields
	diffNetFlow9Packet(t, 0, empty, p, ts)
	data := append(bytes.Clone(netflow9Template[:20]), 1, 0, 0, 12, 1, 2, 3, 4, 5, 6, 7, 8)
	diffNetFlow9Packet(t, 1, data, p, ts) // would not return if goflow2 got the template
	if !ts.filtered[256] {
		t.Error("a template whose records take no bytes went through to goflow2")
	}
}

// flowsetBounds returns the [start, end) offsets of the flowsets of a packet, walked as
// goflow2 walks them, so that the k-th bound is goflow2's k-th flowset.
func flowsetBounds(pkt []byte) [][2]int {
	var out [][2]int
	if len(pkt) < netflow9.HeaderLen {
		return nil
	}
	count := int(binary.BigEndian.Uint16(pkt[2:]))
	for off := netflow9.HeaderLen; off+4 <= len(pkt) && len(out) < count; {
		n := int(binary.BigEndian.Uint16(pkt[off+2:]))
		if n < 4 {
			break
		}
		out = append(out, [2]int{off, min(off+n, len(pkt))})
		off += n
	}
	return out
}

func setID(pkt []byte, s [2]int) uint16 { return binary.BigEndian.Uint16(pkt[s[0]:]) }

// uintptrDiff returns the offset of sub, which aliases b, in b.
func uintptrDiff(b, sub []byte) int {
	return int(uintptr(unsafe.Pointer(unsafe.SliceData(sub))) - uintptr(unsafe.Pointer(unsafe.SliceData(b))))
}

// filteredTemplates is goflow2's template system with its known bugs filtered out: a
// template it would misread is reported as not found, so that goflow2 skips its data
// sets (ErrorTemplateNotFound is not fatal to the packet), and the set IDs are noted so
// that the comparison leaves those sets alone. Nothing is skipped silently: each filter
// is a named predicate, and FUZZING.md says why it is goflow2's bug.
type filteredTemplates struct {
	netflow.NetFlowTemplateSystem
	filtered map[uint16]bool
}

func (f *filteredTemplates) GetTemplate(version uint16, domain uint32, id uint16) (any, error) {
	tpl, err := f.NetFlowTemplateSystem.GetTemplate(version, domain, id)
	if err != nil {
		return tpl, err
	}
	if goflow2LoopsOnEmptyRecord(tpl) || goflow2ReadsV9VarLen(version, tpl) {
		f.filter(id)
		return nil, netflow.ErrorTemplateNotFound
	}
	return tpl, nil
}

func (f *filteredTemplates) AddTemplate(version uint16, domain uint32, id uint16, tpl any) error {
	if goflow2ReadsRaggedOptionsTemplate(tpl) {
		f.filter(id)
	}
	return f.NetFlowTemplateSystem.AddTemplate(version, domain, id, tpl)
}

func (f *filteredTemplates) filter(id uint16) {
	if f.filtered == nil {
		f.filtered = map[uint16]bool{}
	}
	f.filtered[id] = true
}

// goflow2ReadsRaggedOptionsTemplate: goflow2 accepts a v9 options template whose scope or
// option length is not a multiple of 4 (a field specifier is 4 bytes, RFC 3954 section
// 6.1), reading length/4 specifiers and going on from there; flowkit refuses the
// template, and keeps an earlier definition of its ID if there was one. The two then
// read that ID's data sets with different templates.
func goflow2ReadsRaggedOptionsTemplate(tpl any) bool {
	t, ok := tpl.(netflow.NFv9OptionsTemplateRecord)
	return ok && (t.ScopeLength%4 != 0 || t.OptionLength%4 != 0)
}

// templateFields returns a goflow2 template's fields, scope fields first.
func templateFields(tpl any) []netflow.Field {
	switch t := tpl.(type) {
	case netflow.TemplateRecord:
		return t.Fields
	case netflow.NFv9OptionsTemplateRecord:
		return append(append([]netflow.Field(nil), t.Scopes...), t.Options...)
	case netflow.IPFIXOptionsTemplateRecord:
		return append(append([]netflow.Field(nil), t.Scopes...), t.Options...)
	}
	return nil
}

// goflow2LoopsOnEmptyRecord: goflow2 decodes records while the set has at least a
// record's length left (DecodeDataSet, DecodeOptionsDataSet); for a template whose
// records take no bytes (no fields, or only zero-length ones) that is forever, appending
// an empty record each time until memory runs out. RFC 3954 gives no meaning to such a
// template; flowkit refuses to make records of it.
func goflow2LoopsOnEmptyRecord(tpl any) bool {
	for _, f := range templateFields(tpl) {
		if f.Length != 0 {
			return false
		}
	}
	return true
}

// goflow2ReadsV9VarLen: goflow2 reads a field of length 65535 as IPFIX variable-length
// (a length prefix, then the value) in NetFlow v9 too, which has no such encoding (RFC
// 3954 section 5.2: the length is the field's length in bytes).
func goflow2ReadsV9VarLen(version uint16, tpl any) bool {
	if version != 9 {
		return false
	}
	for _, f := range templateFields(tpl) {
		if f.Length == 0xffff {
			return true
		}
	}
	return false
}
