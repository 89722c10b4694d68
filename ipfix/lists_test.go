package ipfix_test

import (
	"errors"
	"testing"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/ipfix"
	"github.com/flowkit/flow/template"
)

// varField encodes a variable-length field value with its length prefix.
func varField(v []byte) []byte {
	if len(v) < 255 {
		return append([]byte{byte(len(v))}, v...)
	}
	return cat([]byte{255}, be16(uint16(len(v))), v)
}

// listMessage defines sub-templates 300 (sourceIPv4Address, sourceTransportPort) and 301
// (protocolIdentifier, a basicList), and a data template 256 of octetDeltaCount and the
// three list types, and sends one record with the given list values.
func listMessage(basic, stl, stml []byte) []byte {
	return message(1, 0,
		set(ipfix.TemplateSetID,
			tmpl(300, fld(8, 4), fld(7, 2)),
			tmpl(301, fld(4, 1), fld(ipfix.BasicListElement, template.VarLen)),
			tmpl(256, fld(1, 4), fld(ipfix.BasicListElement, template.VarLen), fld(ipfix.SubTemplateListElement, template.VarLen),
				fld(ipfix.SubTemplateMultiListElement, template.VarLen))),
		set(256, cat(be32(77), varField(basic), varField(stl), varField(stml))))
}

var (
	// Three interface names, variable length, one of them empty.
	basicNames = cat([]byte{ipfix.SemanticAllOf}, be16(82), be16(template.VarLen), varField([]byte("eth0")), varField(nil), varField([]byte("lo")))
	// Two records of template 300.
	stlRecords = cat([]byte{ipfix.SemanticOrdered}, be16(300), []byte{10, 0, 0, 1}, be16(80), []byte{10, 0, 0, 2}, be16(443))
	// A block of template 300, a block of an unknown template, an empty block, and a block
	// of template 301 whose records each hold a basicList of enterprise elements.
	nested     = cat([]byte{ipfix.SemanticExactlyOneOf}, be16(0x8000|5), be16(2), be32(6871), be16(1), be16(2))
	stmlBlocks = cat([]byte{ipfix.SemanticOneOrMoreOf},
		be16(300), be16(4+6), []byte{10, 0, 0, 3}, be16(53),
		be16(999), be16(4+2), be16(0),
		be16(300), be16(4),
		be16(301), be16(uint16(4+2*(1+1+len(nested)))), []byte{6}, varField(nested), []byte{17}, varField(nested))
)

func TestLists(t *testing.T) {
	var p ipfix.Parser
	if _, err := p.Start(listMessage(basicNames, stlRecords, stmlBlocks), from); err != nil {
		t.Fatal(err)
	}
	if !p.Next() {
		t.Fatal(p.Err())
	}
	var r flow.Record
	p.Flow(&r)
	if r.Bytes != 77 {
		t.Errorf("octets %d", r.Bytes)
	}
	rec := p.Record()

	v, _ := rec.Get(ipfix.BasicListElement, 0)
	bl, err := ipfix.ParseBasicList(v)
	if err != nil || bl.Semantic != ipfix.SemanticAllOf || bl.Field != (template.Field{ID: 82, Length: template.VarLen}) {
		t.Fatalf("basicList %+v, %v", bl, err)
	}
	var names []string
	for it := bl.Items(); it.Next(); {
		names = append(names, string(it.Value()))
	}
	if len(names) != 3 || names[0] != "eth0" || names[1] != "" || names[2] != "lo" {
		t.Errorf("names %q", names)
	}

	v, _ = rec.Get(ipfix.SubTemplateListElement, 0)
	stl, err := ipfix.ParseSubTemplateList(v, p.Templates())
	if err != nil || stl.TemplateID != 300 || stl.Semantic != ipfix.SemanticOrdered {
		t.Fatalf("subTemplateList %+v, %v", stl, err)
	}
	var ports []uint64
	it := stl.Records()
	for it.Next() {
		pv, _ := it.Record().Get(7, 0)
		ports = append(ports, template.Unsigned(pv))
	}
	if it.Err() != nil || len(ports) != 2 || ports[0] != 80 || ports[1] != 443 {
		t.Errorf("ports %v, %v", ports, it.Err())
	}

	v, _ = rec.Get(ipfix.SubTemplateMultiListElement, 0)
	stml, err := ipfix.ParseSubTemplateMultiList(v, p.Templates())
	if err != nil || stml.Semantic != ipfix.SemanticOneOrMoreOf {
		t.Fatal(err)
	}
	var got []string
	mi := stml.Records()
	for mi.Next() {
		r := mi.Record()
		switch r.Template.ID {
		case 300:
			pv, _ := r.Get(7, 0)
			got = append(got, "port "+string(template.AppendText(nil, template.Unsigned16, pv)))
		case 301:
			pv, _ := r.Get(4, 0)
			lv, _ := r.Get(ipfix.BasicListElement, 0)
			inner, err := ipfix.ParseBasicList(lv)
			if err != nil || inner.Field.Enterprise != 6871 || inner.Field.ID != 5 {
				t.Fatalf("nested list %+v, %v", inner, err)
			}
			n := 0
			for ii := inner.Items(); ii.Next(); n++ {
			}
			got = append(got, "proto "+string(template.AppendText(nil, template.Unsigned8, pv))+" items "+string(rune('0'+n)))
		}
	}
	want := []string{"port 53", "proto 6 items 2", "proto 17 items 2"}
	if mi.Err() != nil || mi.Skipped() != 1 || len(got) != len(want) {
		t.Fatalf("%q, skipped %d, %v", got, mi.Skipped(), mi.Err())
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%q, want %q", got, want)
		}
	}
}

func TestEmptyLists(t *testing.T) {
	var p ipfix.Parser
	p.Start(listMessage(cat([]byte{ipfix.SemanticUndefined}, be16(82), be16(8)), cat([]byte{0}, be16(300)), []byte{0}), from)
	if !p.Next() {
		t.Fatal(p.Err())
	}
	rec := p.Record()
	v, _ := rec.Get(ipfix.BasicListElement, 0)
	bl, err := ipfix.ParseBasicList(v)
	it := bl.Items()
	if err != nil || it.Next() || it.Err() != nil {
		t.Errorf("empty basicList: %v %v", err, it.Err())
	}
	v, _ = rec.Get(ipfix.SubTemplateListElement, 0)
	stl, err := ipfix.ParseSubTemplateList(v, p.Templates())
	ri := stl.Records()
	if err != nil || ri.Next() || ri.Err() != nil {
		t.Errorf("empty subTemplateList: %v %v", err, ri.Err())
	}
	v, _ = rec.Get(ipfix.SubTemplateMultiListElement, 0)
	stml, err := ipfix.ParseSubTemplateMultiList(v, p.Templates())
	mi := stml.Records()
	if err != nil || mi.Next() || mi.Err() != nil {
		t.Errorf("empty subTemplateMultiList: %v %v", err, mi.Err())
	}
}

func TestMalformedLists(t *testing.T) {
	var p ipfix.Parser
	decodeAll(t, &p, listMessage(basicNames, stlRecords, stmlBlocks))
	ts := p.Templates()
	check := func(name string, err error, want error) {
		t.Helper()
		var pe *flow.ParseError
		if !errors.Is(err, want) || !errors.As(err, &pe) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	_, err := ipfix.ParseBasicList([]byte{0, 0, 82, 0})
	check("short basicList", err, flow.ErrTruncated)
	_, err = ipfix.ParseBasicList(cat([]byte{0}, be16(0x8000|82), be16(4), []byte{0, 0}))
	check("short enterprise number", err, flow.ErrTruncated)
	_, err = ipfix.ParseBasicList(cat([]byte{0}, be16(82), be16(0), []byte{1}))
	check("items of length 0", err, flow.ErrMalformed)
	bl, _ := ipfix.ParseBasicList(cat([]byte{0}, be16(8), be16(4), []byte{1, 2, 3, 4, 5}))
	it := bl.Items()
	for it.Next() {
	}
	check("item past the end", it.Err(), flow.ErrTruncated)
	bl, _ = ipfix.ParseBasicList(cat([]byte{0}, be16(82), be16(template.VarLen), []byte{255, 1}))
	it = bl.Items()
	check("length prefix past the end", func() error { it.Next(); return it.Err() }(), flow.ErrTruncated)

	_, err = ipfix.ParseSubTemplateList([]byte{0, 1}, ts)
	check("short subTemplateList", err, flow.ErrTruncated)
	_, err = ipfix.ParseSubTemplateList(cat([]byte{0}, be16(2)), ts)
	check("subTemplateList of template 2", err, flow.ErrMalformed)
	_, err = ipfix.ParseSubTemplateList(cat([]byte{0}, be16(999)), ts)
	check("unknown template", err, flow.ErrTemplate)
	stl, _ := ipfix.ParseSubTemplateList(cat([]byte{0}, be16(300), []byte{10, 0, 0, 1}, be16(80), []byte{1, 2}), ts)
	ri := stl.Records()
	n := 0
	for ri.Next() {
		n++
	}
	if n != 1 {
		t.Errorf("%d records before the bad bytes", n)
	}
	check("partial record", ri.Err(), flow.ErrMalformed)

	for name, b := range map[string][]byte{
		"block length 3":       cat([]byte{0}, be16(300), be16(3)),
		"block past the end":   cat([]byte{0}, be16(300), be16(40), be32(0)),
		"block template 3":     cat([]byte{0}, be16(3), be16(4)),
		"block header cut":     cat([]byte{0}, be16(300)),
		"partial block record": cat([]byte{0}, be16(300), be16(7), []byte{1, 2, 3}),
	} {
		stml, err := ipfix.ParseSubTemplateMultiList(b, ts)
		if err != nil {
			t.Fatal(err)
		}
		mi := stml.Records()
		for mi.Next() {
		}
		if mi.Err() == nil || !errors.As(mi.Err(), new(*flow.ParseError)) {
			t.Errorf("%s: %v", name, mi.Err())
		}
	}
	_, err = ipfix.ParseSubTemplateMultiList(nil, ts)
	check("empty subTemplateMultiList value", err, flow.ErrTruncated)
}

func TestListAllocs(t *testing.T) {
	var p ipfix.Parser
	msg := listMessage(basicNames, stlRecords, stmlBlocks)
	decodeAll(t, &p, msg)
	n := testing.AllocsPerRun(200, func() {
		p.Start(msg, from)
		p.Next()
		rec := p.Record()
		v, _ := rec.Get(ipfix.BasicListElement, 0)
		bl, _ := ipfix.ParseBasicList(v)
		for it := bl.Items(); it.Next(); {
		}
		v, _ = rec.Get(ipfix.SubTemplateListElement, 0)
		stl, _ := ipfix.ParseSubTemplateList(v, p.Templates())
		for it := stl.Records(); it.Next(); {
		}
		v, _ = rec.Get(ipfix.SubTemplateMultiListElement, 0)
		stml, _ := ipfix.ParseSubTemplateMultiList(v, p.Templates())
		for it := stml.Records(); it.Next(); {
			if r := it.Record(); r.Template.ID == 301 {
				lv, _ := r.Get(ipfix.BasicListElement, 0)
				inner, _ := ipfix.ParseBasicList(lv)
				for ii := inner.Items(); ii.Next(); {
				}
			}
		}
	})
	if n != 0 {
		t.Errorf("list iteration allocates %v", n)
	}
}
