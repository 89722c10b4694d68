package benchmarks

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/flowkit/flow/ipfix"
	"github.com/flowkit/flow/template"
	"github.com/netsampler/goflow2/v2/decoders/netflow"
)

// FuzzDiffIPFIX feeds the messages of the input (cut at fuzzSep, as FuzzDiffNetFlow9 cuts
// packets) to this library's parser and to goflow2's decoder, each keeping its templates,
// and requires the message headers to agree, and every data and options record both
// decode from the same set to come from the same template and carry the same elements
// (ID, enterprise number) and value bytes.
func FuzzDiffIPFIX(f *testing.F) {
	f.Add(bytes.Join([][]byte{ipfixTemplates, ipfixData}, fuzzSep))
	f.Add(bytes.Join([][]byte{ipfixTemplates, ipfixDataVar, ipfixData}, fuzzSep))
	for _, family := range ipfixSeedFamilies {
		f.Add(ipfixSequence(f, family))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, ts := newDiffIPFIX()
		for i, msg := range bytes.Split(b, fuzzSep) {
			diffIPFIXMessage(t, i, msg, p, ts)
		}
	})
}

// ipfixSeedFamilies are the IPFIX captures of testdata/corpus, one pattern per exporter:
// its template messages and its data messages make one input.
var ipfixSeedFamilies = []string{
	"logstash-codec-netflow/ipfix.dat",
	"logstash-codec-netflow/ipfix_test_ixia_*.dat",
	"logstash-codec-netflow/ipfix_test_juniper_*.dat",
	"logstash-codec-netflow/ipfix_test_openbsd_pflow_*.dat",
	"logstash-codec-netflow/ipfix_test_viptela_*.dat",
	"logstash-codec-netflow/ipfix_test_yaf_*.dat",
	"telegraf/ipfix_example/*.bin",
	"telegraf/ipfix_options/*.bin",
	"telegraf/issue_14370/*.bin",
}

// ipfixSequence returns the messages of the corpus files matching pattern joined by
// fuzzSep, those of template files first (an exporter sends templates before the data
// that needs them). A file may hold several messages back to back; each decoder reads one
// message of a buffer, so they are cut apart here.
func ipfixSequence(tb testing.TB, pattern string) []byte {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "corpus", pattern))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no seed files for %s", pattern)
	}
	isTpl := func(name string) bool { return strings.Contains(filepath.Base(name), "tpl") }
	slices.SortStableFunc(files, func(a, b string) int {
		switch {
		case isTpl(a) && !isTpl(b):
			return -1
		case isTpl(b) && !isTpl(a):
			return 1
		}
		return strings.Compare(a, b)
	})
	var msgs [][]byte
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		for len(b) >= ipfix.HeaderLen {
			n := int(binary.BigEndian.Uint16(b[2:]))
			if n < ipfix.HeaderLen || n > len(b) {
				n = len(b) // a length that does not frame: the rest as it is
			}
			msgs = append(msgs, b[:n])
			b = b[n:]
		}
	}
	return bytes.Join(msgs, fuzzSep)
}

// newDiffIPFIX returns the two decoders the differential target compares.
func newDiffIPFIX() (*ipfix.Parser, *goflow2IPFIX) {
	p := &ipfix.Parser{Cache: template.NewCache(template.Config{
		// As goflow2, which bounds nothing: a template it keeps, we keep.
		MaxFields:              1 << 16,
		MaxTemplates:           1 << 16,
		MaxTemplatesPerSession: 1 << 16,
		HoldSets:               -1, // decode a set when it comes or never, as goflow2 does
	})}
	return p, &goflow2IPFIX{NetFlowTemplateSystem: netflow.CreateTemplateSystem()}
}

// diffIPFIXMessage compares one message and returns how many records it compared.
func diffIPFIXMessage(t *testing.T, i int, msg []byte, p *ipfix.Parser, ts *goflow2IPFIX) (compared int) {
	if len(msg) < 2 || binary.BigEndian.Uint16(msg) != ipfix.Version {
		return 0 // the v9 target has those
	}
	ts.used = ts.used[:0]
	var g netflow.IPFIXPacket
	gerr := netflow.DecodeMessageVersion(bytes.NewBuffer(msg), ts, nil, &g)
	sets := ipfixSetBounds(msg)
	// Template sets goflow2 did not return: it stopped before them, or at them.
	for k := len(g.FlowSets); k < len(sets); k++ {
		if id := setID(msg, sets[k]); id == ipfix.TemplateSetID || id == ipfix.OptionsTemplateSetID {
			for _, tid := range templateIDs(msg[sets[k][0]+ipfix.SetHeaderLen:sets[k][1]], id == ipfix.OptionsTemplateSetID) {
				ts.diverge(tid, "goflow2StopsAtBadSet")
			}
		}
	}
	h, err := p.Start(msg, ipfixFrom)
	if err != nil {
		return 0 // a message we refuse whole teaches us nothing; goflow2 may still read parts
	}
	if g.Version == ipfix.Version && (g.Length != h.Length || g.ExportTime != h.ExportTime ||
		g.SequenceNumber != h.Sequence || g.ObservationDomainId != h.Domain) {
		t.Fatalf("message %d: headers differ: goflow2 %+v, flowkit %+v", i, g, h)
	}
	// goflow2's records and the template it read them with, by the index of the set.
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
	used := map[int]any{}
	for k, j := 0, 0; k < len(sets) && j < len(ts.used); k++ {
		if setID(msg, sets[k]) >= ipfix.MinDataSetID {
			used[k] = ts.used[j]
			j++
		}
	}
	ours := map[int][]template.Record{}
	for p.Next() {
		r := p.Record()
		off := uintptrDiff(msg, r.Bytes)
		for k, s := range sets {
			if off >= s[0] && off < s[1] {
				ours[k] = append(ours[k], r)
				break
			}
		}
	}
	for k, recs := range ours {
		g := theirs[k]
		if len(g) == 0 {
			continue // goflow2 decoded nothing there (no template, or it failed the set)
		}
		id := setID(msg, sets[k])
		gt := used[k]
		if d := diffTemplate(gt, recs[0].Template); d != "" {
			if ts.diverged[id] != "" {
				continue // goflow2 has another template under this ID, for a reason named there
			}
			t.Fatalf("message %d set %d: template %d differs: %s\n goflow2 %+v\n flowkit %+v (gerr %v, err %v)",
				i, k, id, d, gt, *recs[0].Template, gerr, p.Err())
		}
		body := msg[sets[k][0]+ipfix.SetHeaderLen : sets[k][1]]
		if len(g) > len(recs) && goflow2ReadsPastSetEnd(body, templateFields(gt), len(g)) {
			g = g[:len(recs)] // its last record is made of what the set does not hold
		}
		if len(g) != len(recs) {
			t.Fatalf("message %d set %d: goflow2 %d records, flowkit %d (gerr %v, err %v)", i, k, len(g), len(recs), gerr, p.Err())
		}
		options := recs[0].Template.Kind == template.Options
		for j, r := range recs {
			n := 0
			for _, fv := range r.All {
				if n >= len(g[j]) {
					t.Fatalf("message %d set %d record %d: flowkit has more fields than goflow2's %d", i, k, j, len(g[j]))
				}
				gv := g[j][n]
				// Both give a variable-length field's value without its length prefix.
				val, _ := gv.Value.([]byte)
				if goflow2Type(gv.Type, gv.PenProvided, options) != fv.ID || gv.Pen != fv.Enterprise || !bytes.Equal(val, fv.Value) {
					t.Fatalf("message %d set %d record %d field %d: goflow2 %d/%d=% x, flowkit %d/%d=% x",
						i, k, j, n, gv.Type, gv.Pen, val, fv.ID, fv.Enterprise, fv.Value)
				}
				n++
			}
			if n != len(g[j]) {
				t.Fatalf("message %d set %d record %d: goflow2 %d fields, flowkit %d", i, k, j, len(g[j]), n)
			}
			compared++
		}
	}
	return compared
}

// diffTemplate says how goflow2's template (as its template system returned it for a data
// set) differs from ours, or returns "" when they are the same.
func diffTemplate(gt any, t *template.Template) string {
	var fields []netflow.Field
	options := false
	switch g := gt.(type) {
	case netflow.TemplateRecord:
		if t.Kind != template.Data {
			return "goflow2's is a data template"
		}
		fields = g.Fields
	case netflow.IPFIXOptionsTemplateRecord:
		if t.Kind != template.Options {
			return "goflow2's is an options template"
		}
		if len(g.Scopes) != t.ScopeCount {
			return fmt.Sprintf("scope fields: goflow2 %d, flowkit %d", len(g.Scopes), t.ScopeCount)
		}
		fields, options = templateFields(gt), true
	default:
		return fmt.Sprintf("goflow2's template is a %T", gt)
	}
	if len(fields) != len(t.Fields) {
		return fmt.Sprintf("fields: goflow2 %d, flowkit %d", len(fields), len(t.Fields))
	}
	for j, f := range fields {
		o := t.Fields[j]
		if goflow2Type(f.Type, f.PenProvided, options) != o.ID || f.Pen != o.Enterprise || f.Length != o.Length {
			return fmt.Sprintf("field %d: goflow2 %d/%d length %d, flowkit %d/%d length %d", j, f.Type, f.Pen, f.Length, o.ID, o.Enterprise, o.Length)
		}
	}
	return ""
}

// goflow2Type returns the element ID goflow2 means by a field's type.
//
// An enterprise bit with enterprise number 0 is reported by goflow2 as PenProvided with
// Pen 0 and by flowkit as enterprise 0, which is how flowkit names IANA elements: the
// comparison compares the numbers, not the bit.
func goflow2Type(typ uint16, penProvided, options bool) uint16 {
	if goflow2KeepsEnterpriseBitInOptions(penProvided, options) {
		return typ &^ ipfix.EnterpriseBit
	}
	return typ
}

// goflow2KeepsEnterpriseBitInOptions: in an options template goflow2 notes the enterprise
// number of a field whose enterprise bit is set but leaves the bit in the type
// (DecodeField; the template set decoder clears it), so that enterprise element 1 of an
// options record is reported as type 32769. The bit is not part of the element ID (RFC
// 7011 section 3.2).
func goflow2KeepsEnterpriseBitInOptions(penProvided, options bool) bool {
	return penProvided && options
}

// goflow2ReadsPastSetEnd: goflow2 starts a record while the set holds the template's
// fixed-length fields (DecodeDataSet, DecodeOptionsDataSet), and then takes what is there:
// a variable-length field whose length runs past the set's end gets the bytes left, and
// the fields after it get nothing, with no error. flowkit's record ends where the set does
// (RFC 7011 section 3.3.1: a record is whole; what is left is padding). It reports
// whether the first n records goflow2 read run past the end of body.
func goflow2ReadsPastSetEnd(body []byte, fields []netflow.Field, n int) bool {
	off := 0
	for range n {
		for _, f := range fields {
			l := int(f.Length)
			if f.Length == template.VarLen {
				if off >= len(body) {
					return true
				}
				l, off = int(body[off]), off+1
				if l == 255 {
					if off+2 > len(body) {
						return true
					}
					l, off = int(body[off])<<8|int(body[off+1]), off+2
				}
			}
			if off += l; off > len(body) {
				return true
			}
		}
	}
	return false
}

// ipfixSetBounds returns the [start, end) offsets of the sets of a message, walked as
// goflow2 walks them (DecodeMessageCommon: while it has read less than the header's
// length, and bytes are left), so that the k-th bound is goflow2's k-th set.
func ipfixSetBounds(msg []byte) [][2]int {
	if len(msg) < ipfix.HeaderLen {
		return nil
	}
	var out [][2]int
	size := binary.BigEndian.Uint16(msg[2:]) - ipfix.HeaderLen // goflow2 lets it wrap
	for off := ipfix.HeaderLen; uint16(off-ipfix.HeaderLen) < size && off+ipfix.SetHeaderLen <= len(msg); {
		n := int(binary.BigEndian.Uint16(msg[off+2:]))
		if n < ipfix.SetHeaderLen {
			break
		}
		out = append(out, [2]int{off, min(off+n, len(msg))})
		off += n
	}
	return out
}

// templateIDs returns the template IDs of a template set's body (options: an options
// template set), as far as the records can be framed.
func templateIDs(body []byte, options bool) []uint16 {
	var ids []uint16
	for off := 0; off+4 <= len(body); {
		ids = append(ids, binary.BigEndian.Uint16(body[off:]))
		count := int(binary.BigEndian.Uint16(body[off+2:]))
		off += 4
		if options && count > 0 {
			off += 2
		}
		for range count {
			if off+4 > len(body) {
				return ids
			}
			if binary.BigEndian.Uint16(body[off:])&ipfix.EnterpriseBit != 0 {
				off += 4
			}
			off += 4
		}
	}
	return ids
}

// goflow2IPFIX is goflow2's template system with its known bugs filtered out, as
// filteredTemplates is for NetFlow v9, and with what it tells the comparison: the template
// it returned for each data set of the message (in order), and the template IDs under
// which goflow2 may hold another template than flowkit, each with the name of the
// predicate that says why. Those IDs' sets are compared only where the two templates agree.
type goflow2IPFIX struct {
	netflow.NetFlowTemplateSystem
	used     []any
	diverged map[uint16]string
}

func (f *goflow2IPFIX) GetTemplate(version uint16, domain uint32, id uint16) (any, error) {
	tpl, err := f.NetFlowTemplateSystem.GetTemplate(version, domain, id)
	if err == nil && goflow2LoopsOnEmptyRecord(tpl) {
		tpl, err = nil, netflow.ErrorTemplateNotFound
	}
	f.used = append(f.used, tpl)
	return tpl, err
}

func (f *goflow2IPFIX) AddTemplate(version uint16, domain uint32, id uint16, tpl any) error {
	if goflow2ReadsScopelessOptionsTemplate(tpl) {
		f.diverge(id, "goflow2ReadsScopelessOptionsTemplate")
	}
	return f.NetFlowTemplateSystem.AddTemplate(version, domain, id, tpl)
}

func (f *goflow2IPFIX) diverge(id uint16, why string) {
	if f.diverged == nil {
		f.diverged = map[uint16]string{}
	}
	f.diverged[id] = why
}

// goflow2ReadsScopelessOptionsTemplate: goflow2 takes an IPFIX options template with a
// scope field count of 0; RFC 7011 section 3.4.2.2 says it MUST NOT be zero, and flowkit
// refuses the template (keeping an earlier definition of its ID, if any).
func goflow2ReadsScopelessOptionsTemplate(tpl any) bool {
	t, ok := tpl.(netflow.IPFIXOptionsTemplateRecord)
	return ok && t.ScopeFieldCount == 0
}

// goflow2StopsAtBadSet (noted in diffIPFIXMessage): goflow2 stops reading a message at the
// first set it cannot read (a reserved set ID, a template set with a malformed record, a
// data set whose records it cannot read to the end), and adds a template set's templates
// only when the whole set reads. That includes every options template set holding a
// withdrawal: goflow2 reads each record's scope field count, which a withdrawal (4 bytes,
// RFC 7011 section 8.1) does not have, takes the next template's ID for it, and fails on
// a scope count above the field count. flowkit skips what it cannot read and keeps the
// well-formed templates before and after (the records are framed by their field counts).
// The two then hold different templates under those IDs until the exporter resends them.

// TestDiffIPFIXCompares makes sure the differential target compares records (the
// benchmark's 20, fixed-length and variable-length, with their templates carried from the
// message before), and that the filters and mappings catch the goflow2 bugs they name.
func TestDiffIPFIXCompares(t *testing.T) {
	p, ts := newDiffIPFIX()
	diffIPFIXMessage(t, 0, ipfixTemplates, p, ts)
	for _, data := range [][]byte{ipfixData, ipfixDataVar} {
		if n := diffIPFIXMessage(t, 1, data, p, ts); n != ipfixRecords {
			t.Errorf("compared %d records, want %d", n, ipfixRecords)
		}
	}
	// Every capture: each exporter's records are compared, templates agreeing.
	for _, family := range ipfixSeedFamilies {
		p, ts := newDiffIPFIX()
		n := 0
		for i, m := range bytes.Split(ipfixSequence(t, family), fuzzSep) {
			n += diffIPFIXMessage(t, i, m, p, ts)
		}
		if n == 0 || len(ts.diverged) != 0 {
			t.Errorf("%s: compared %d records; templates diverged: %v", family, n, ts.diverged)
		}
	}

	// Built messages: sets and templates as in fuzz/internal/genseeds.
	set := func(id uint16, body ...byte) []byte {
		return append(binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, id), uint16(4+len(body))), body...)
	}
	msg := func(sets ...[]byte) []byte {
		b := slices.Concat(sets...)
		h := []byte{0, 10, 0, 0, 0x69, 0x55, 0x77, 0, 0, 0, 0, 1, 0, 0, 0, 42}
		binary.BigEndian.PutUint16(h[2:], uint16(16+len(b)))
		return append(h, b...)
	}

	// A withdrawal (goflow2 keeps an empty template) and data: goflow2 would loop.
	p, ts = newDiffIPFIX()
	tpl := set(2, 1, 0, 0, 2, 0, 8, 0, 4, 0, 4, 0, 1) // 256: sourceIPv4Address, octetDeltaCount (1 byte)
	data := set(256, 10, 0, 0, 1, 9, 10, 0, 0, 2, 7)
	if n := diffIPFIXMessage(t, 0, msg(tpl, data), p, ts); n != 2 {
		t.Errorf("compared %d records of template 256, want 2", n)
	}
	diffIPFIXMessage(t, 1, msg(set(2, 1, 0, 0, 0), data), p, ts) // would not return if goflow2 got the template

	// An options template with an enterprise element: goflow2 leaves the enterprise bit
	// in the type.
	p, ts = newDiffIPFIX()
	opt := set(3, 1, 1, 0, 2, 0, 1, 0, 149, 0, 4, 0x80, 1, 0, 2, 0, 0, 0x0b, 0x8c) // 257: scope domain; 1/2956 (2 bytes)
	if n := diffIPFIXMessage(t, 0, msg(opt, set(257, 0, 0, 0, 42, 1, 2)), p, ts); n != 1 {
		t.Errorf("compared %d options records, want 1", n)
	}

	// A variable-length field running past the end of the set: goflow2 makes a record of
	// what is left, flowkit takes it for padding.
	p, ts = newDiffIPFIX()
	vtpl := set(2, 1, 2, 0, 2, 0, 4, 0, 1, 0, 82, 0xff, 0xff) // 258: protocolIdentifier, interfaceName
	if n := diffIPFIXMessage(t, 0, msg(vtpl, set(258, 6, 2, 'e', 'n', 17, 9, 'x')), p, ts); n != 1 {
		t.Errorf("compared %d records with a variable-length field, want 1", n)
	}

	// A scopeless options template redefining 257: flowkit keeps the old one.
	p, ts = newDiffIPFIX()
	diffIPFIXMessage(t, 0, msg(opt), p, ts)
	diffIPFIXMessage(t, 1, msg(set(3, 1, 1, 0, 1, 0, 0, 0, 149, 0, 4), set(257, 0, 0, 0, 42, 1, 2)), p, ts)
	if ts.diverged[257] != "goflow2ReadsScopelessOptionsTemplate" {
		t.Errorf("template 257 diverged: %q", ts.diverged[257])
	}

	// A set goflow2 cannot read (reserved ID 5) before a redefinition of 256.
	p, ts = newDiffIPFIX()
	diffIPFIXMessage(t, 0, msg(tpl), p, ts)
	tpl2 := set(2, 1, 0, 0, 1, 0, 8, 0, 4) // 256: sourceIPv4Address only
	diffIPFIXMessage(t, 1, msg(set(5, 0, 0, 0, 0), tpl2), p, ts)
	if ts.diverged[256] != "goflow2StopsAtBadSet" {
		t.Errorf("template 256 diverged: %q", ts.diverged[256])
	}
	diffIPFIXMessage(t, 2, msg(data), p, ts) // goflow2 reads 256 with the old template
}
