package fuzz

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/corpus"
	"github.com/flowkit/flow/ipfix"
	"github.com/flowkit/flow/template"
)

var ipfixFrom = netip.MustParseAddrPort("192.0.2.1:4739")

// ipfixSeedFiles are the IPFIX captures whose messages seed the targets: every kind of
// exporter, with options, enterprise and variable-length fields, biflows and lists.
var ipfixSeedFiles = []string{
	"logstash-codec-netflow/ipfix.dat",
	"logstash-codec-netflow/ipfix_test_ixia_tpldata256.dat",
	"logstash-codec-netflow/ipfix_test_juniper_mx240_junos151r6s3_opttpl512.dat",
	"logstash-codec-netflow/ipfix_test_juniper_mx240_junos151r6s3_data512.dat",
	"logstash-codec-netflow/ipfix_test_openbsd_pflow_tpl.dat",
	"logstash-codec-netflow/ipfix_test_openbsd_pflow_data.dat",
	"logstash-codec-netflow/ipfix_test_viptela_tpl257.dat",
	"logstash-codec-netflow/ipfix_test_yaf_tpls_option_tpl.dat",
	"logstash-codec-netflow/ipfix_test_yaf_tpl45841.dat",
	"logstash-codec-netflow/ipfix_test_yaf_data45841.dat",
	"telegraf/ipfix_example/ipfix_0.bin",
	"telegraf/ipfix_example/ipfix_4.bin",
	"telegraf/issue_14370/message.bin",
	"akvorado/netflow/ipfixprobe-templates.pcap",
	"akvorado/netflow/ipfixprobe-data.pcap",
	"akvorado/netflow/mpls.pcap",
	"pmacct/104-IPFIXv10-IPv6-CISCO-sampling_option/traffic-00.pcap",
}

// ipfixSeeds returns the messages of the seed files, raw files split by header length.
func ipfixSeeds(tb testing.TB) [][]byte {
	var out [][]byte
	for _, name := range ipfixSeedFiles {
		if _, ok := corpus.Path(name); !ok {
			continue
		}
		for _, d := range datagramsOf(tb, name) {
			for len(d) >= ipfix.HeaderLen {
				n := int(binary.BigEndian.Uint16(d[2:]))
				if n < ipfix.HeaderLen || n > len(d) {
					out = append(out, d)
					break
				}
				out = append(out, d[:n])
				d = d[n:]
			}
		}
	}
	return out
}

func ipfixCache() *template.Cache {
	return template.NewCache(template.Config{MaxTemplates: 64, MaxTemplatesPerSession: 16, MaxFields: 64,
		HoldSets: 8, HoldBytes: 8192, MaxOptionsEntries: 32})
}

func goodIPFIX(tb testing.TB) (tpl, data []byte) {
	return datagramsOf(tb, "logstash-codec-netflow/ipfix_test_openbsd_pflow_tpl.dat")[0],
		datagramsOf(tb, "logstash-codec-netflow/ipfix_test_openbsd_pflow_data.dat")[0]
}

// FuzzIPFIX feeds messages to one parser whose cache carries templates, held sets and
// options from one input to the next, as a collector's does.
func FuzzIPFIX(f *testing.F) {
	for _, s := range ipfixSeeds(f) {
		f.Add(s)
	}
	tpl, data := goodIPFIX(f)
	p := ipfix.Parser{Cache: ipfixCache()}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkIPFIX(t, &p, b)
		// Whatever came before, the parser reads a good template and data right.
		decodeIPFIX(&p, tpl)
		if n, err := decodeIPFIX(&p, data); err != nil || n != 26 {
			t.Fatalf("good message after this input: %d records, %v", n, err)
		}
		checkCacheBounds(t, p.Cache)
	})
}

// TestIPFIXAllocs runs 20,000 mutated messages through the checks.
func TestIPFIXAllocs(t *testing.T) {
	p := ipfix.Parser{Cache: ipfixCache()}
	seeds := ipfixSeeds(t)
	if len(seeds) == 0 { // the shipped logstash and telegraf captures alone give some
		t.Fatal("no IPFIX seeds: testdata/corpus is missing its IPFIX captures")
	}
	mutate(seeds, 20000, func(b []byte) { checkIPFIX(t, &p, b) })
	checkCacheBounds(t, p.Cache)
}

// checkIPFIX decodes b and checks what every input must give: errors that wrap a
// sentinel, a bounded number of records, AppendFlows agreeing with Next, Flow and Reverse, and no
// allocation when the same message is decoded again.
func checkIPFIX(t *testing.T, p *ipfix.Parser, b []byte) {
	t.Helper()
	listErr = nil
	n, listErrs, err := decodeIPFIXLists(p, b)
	if err != nil {
		checkSentinel(t, err)
	}
	if listErr != nil {
		checkSentinel(t, listErr)
	}
	if max := len(b) + p.Cache.Config().HoldBytes; n > max {
		t.Errorf("%d records from %d bytes and at most %d held", n, len(b), p.Cache.Config().HoldBytes)
	}
	if !fuzzing() || n > 0 {
		// Compared only from one cache state, as in checkNetFlow9.
		before := p.Cache.Stats()
		var one []flow.Record
		if _, err := p.Start(b, ipfixFrom); err == nil {
			for p.Next() {
				if !p.Options() {
					var r flow.Record
					p.Flow(&r)
					one = append(one, r)
					if p.Reverse(&r) {
						one = append(one, r)
					}
				}
			}
		}
		same := p.Cache.Stats() == before
		var all []flow.Record
		if _, err := p.Start(b, ipfixFrom); err == nil {
			all = p.AppendFlows(nil)
		}
		if !same {
			all = one
		}
		if len(one) != len(all) {
			t.Fatalf("Next/Flow %d records, AppendFlows %d", len(one), len(all))
		}
		for i := range one {
			if one[i] != all[i] {
				t.Fatalf("record %d: Flow %+v, AppendFlows %+v", i, one[i], all[i])
			}
		}
	}
	if len(b) >= ipfix.HeaderLen && binary.BigEndian.Uint16(b) == ipfix.Version && !fuzzing() {
		before := p.Cache.Stats()
		decodeIPFIX(p, b)
		if after := p.Cache.Stats(); after.Learned != before.Learned || after.Replaced != before.Replaced ||
			after.OptionsChanged != before.OptionsChanged {
			return
		}
		// Each error (the message's, a list's) allocates its value and message.
		limit := float64(errorAllocs * listErrs)
		if err != nil {
			limit += errorAllocs
		}
		checkAllocs(t, limit, "decoding a message again", func() { decodeIPFIX(p, b) })
	}
}

// decodeIPFIX decodes every record of b, both directions of biflows, and walks the lists
// of every record; it returns the number of records.
func decodeIPFIX(p *ipfix.Parser, b []byte) (int, error) {
	n, _, err := decodeIPFIXLists(p, b)
	return n, err
}

// decodeIPFIXLists is decodeIPFIX; it also returns the number of list fields that did not
// read as lists (each error allocates).
func decodeIPFIXLists(p *ipfix.Parser, b []byte) (n, listErrs int, err error) {
	if _, err := p.Start(b, ipfixFrom); err != nil {
		return 0, 0, err
	}
	var r flow.Record
	for p.Next() {
		p.Flow(&r)
		if r.Protocol != flow.IPFIX {
			panic("record without protocol")
		}
		p.Reverse(&r)
		for _, fv := range p.Record().All {
			if fv.Enterprise == 0 && fv.ID >= ipfix.BasicListElement && fv.ID <= ipfix.SubTemplateMultiListElement {
				_, e := walkList(fv.ID, fv.Value, p.Templates(), 0)
				listErrs += e
			}
		}
		n++
	}
	return n, listErrs, p.Err()
}

// walkList iterates a list value and the lists nested in it, to a bounded depth, and
// returns the items met and the lists that failed (each failure allocates its error).
func walkList(id uint16, v []byte, ts ipfix.Templates, depth int) (items, errs int) {
	if depth > 4 {
		return 0, 0
	}
	sub := func(id uint16, v []byte) {
		n, e := walkList(id, v, ts, depth+1)
		items, errs = items+n, errs+e
	}
	isList := func(f template.Field) bool {
		return f.Enterprise == 0 && f.ID >= ipfix.BasicListElement && f.ID <= ipfix.SubTemplateMultiListElement
	}
	var err error
	switch id {
	case ipfix.BasicListElement:
		var l ipfix.BasicList
		if l, err = ipfix.ParseBasicList(v); err == nil {
			it := l.Items()
			for it.Next() {
				items++
				if isList(l.Field) {
					sub(l.Field.ID, it.Value())
				}
			}
			err = it.Err()
		}
	case ipfix.SubTemplateListElement:
		var l ipfix.SubTemplateList
		if l, err = ipfix.ParseSubTemplateList(v, ts); err == nil {
			it := l.Records()
			for it.Next() {
				items++
				for _, fv := range it.Record().All {
					if isList(fv.Field) {
						sub(fv.ID, fv.Value)
					}
				}
			}
			err = it.Err()
		}
	default:
		var l ipfix.SubTemplateMultiList
		if l, err = ipfix.ParseSubTemplateMultiList(v, ts); err == nil {
			it := l.Records()
			for it.Next() {
				items++
				for _, fv := range it.Record().All {
					if isList(fv.Field) {
						sub(fv.ID, fv.Value)
					}
				}
			}
			err = it.Err()
		}
	}
	if err != nil {
		listErr = err
		errs++
	}
	return items, errs
}

// listErr is the last list error walkList met, for the sentinel check.
var listErr error

// listTemplates is a parser that knows the sub-templates the list seeds use: 300
// (sourceIPv4Address, sourceTransportPort), 301 (protocolIdentifier and a basicList), 302
// (a subTemplateList: nesting).
func listTemplates(tb testing.TB) *ipfix.Parser {
	spec := func(id, n uint16) []byte {
		return binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, id), n)
	}
	tmpl := func(id uint16, specs ...[]byte) []byte {
		b := binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, id), uint16(len(specs)))
		for _, s := range specs {
			b = append(b, s...)
		}
		return b
	}
	body := append(append(tmpl(300, spec(8, 4), spec(7, 2)), tmpl(301, spec(4, 1), spec(ipfix.BasicListElement, 0xffff))...),
		tmpl(302, spec(ipfix.SubTemplateListElement, 0xffff))...)
	set := append(binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, 2), uint16(4+len(body))), body...)
	msg := append([]byte{0, 10, 0, byte(16 + len(set)), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, set...)
	p := &ipfix.Parser{}
	if _, err := p.Start(msg, ipfixFrom); err != nil {
		tb.Fatal(err)
	}
	for p.Next() {
	}
	if p.Err() != nil {
		tb.Fatal(p.Err())
	}
	return p
}

// FuzzIPFIXLists reads the input as a list value of each of the three types, with the
// lists nested in it: no panic, errors wrapping a sentinel, iterations bounded by the
// input's length, and no allocation unless there is an error.
func FuzzIPFIXLists(f *testing.F) {
	f.Add(uint8(0), []byte{3, 0, 82, 0xff, 0xff, 4, 'e', 't', 'h', '0', 0, 2, 'l', 'o'})
	f.Add(uint8(1), []byte{4, 1, 44, 10, 0, 0, 1, 0, 80, 10, 0, 0, 2, 1, 187})
	f.Add(uint8(2), []byte{2, 1, 44, 0, 10, 10, 0, 0, 3, 0, 53, 3, 231, 0, 6, 0, 0, 1, 45, 0, 4})
	f.Add(uint8(2), []byte{2, 1, 45, 0, 16, 6, 9, 1, 0x80, 5, 0, 2, 0, 0, 26, 233, 0, 1})
	f.Add(uint8(1), []byte{0, 1, 46, 8, 0, 1, 44, 10, 0, 0, 1, 0, 80})
	p := listTemplates(f)
	ts := p.Templates()
	f.Fuzz(func(t *testing.T, kind uint8, b []byte) {
		id := uint16(ipfix.BasicListElement + int(kind%3))
		listErr = nil
		items, errs := walkList(id, b, ts, 0)
		if listErr != nil {
			checkSentinel(t, listErr)
		}
		// Every item takes a byte of its level; a nested level's bytes are its parent's.
		if items > 6*len(b)+1 {
			t.Fatalf("%d items from %d bytes", items, len(b))
		}
		checkAllocs(t, float64(errorAllocs*errs), "walking a list", func() { walkList(id, b, ts, 0) })
	})
}
