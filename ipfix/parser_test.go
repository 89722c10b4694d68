package ipfix_test

import (
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/ipfix"
	"github.com/flowkit/flow/template"
)

// Hand-built messages: the tests spell out every byte they send.

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }
func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// message returns a message of the domain with the given sequence number and sets.
func message(domain, seq uint32, sets ...[]byte) []byte {
	body := cat(sets...)
	return cat(be16(ipfix.Version), be16(uint16(ipfix.HeaderLen+len(body))), be32(1700000000), be32(seq), be32(domain), body)
}

// set returns a set of the given ID around the records.
func set(id uint16, records ...[]byte) []byte {
	body := cat(records...)
	return cat(be16(id), be16(uint16(4+len(body))), body)
}

// spec returns a field specifier, with its enterprise number when it has one.
func spec(f template.Field) []byte {
	if f.Enterprise != 0 {
		return cat(be16(f.ID|ipfix.EnterpriseBit), be16(f.Length), be32(f.Enterprise))
	}
	return cat(be16(f.ID), be16(f.Length))
}

// tmpl returns a template record.
func tmpl(id uint16, fields ...template.Field) []byte {
	b := cat(be16(id), be16(uint16(len(fields))))
	for _, f := range fields {
		b = append(b, spec(f)...)
	}
	return b
}

// otmpl returns an options template record.
func otmpl(id uint16, scope int, fields ...template.Field) []byte {
	b := cat(be16(id), be16(uint16(len(fields))), be16(uint16(scope)))
	for _, f := range fields {
		b = append(b, spec(f)...)
	}
	return b
}

func fld(id, length uint16) template.Field { return template.Field{ID: id, Length: length} }

// A small flow template: source and destination IPv4, octets and packets (8 bytes each).
var (
	flowFields = []template.Field{fld(8, 4), fld(12, 4), fld(1, 8), fld(2, 8)}
	flowTmpl   = set(ipfix.TemplateSetID, tmpl(256, flowFields...))
)

func flowRec(src, dst byte, octets uint64) []byte {
	return cat([]byte{10, 0, 0, src}, []byte{10, 0, 0, dst}, be64(octets), be64(1))
}

var from = netip.MustParseAddrPort("192.0.2.7:4739")

// decodeAll starts msg and returns its flow records, failing on a Start error.
func decodeAll(t *testing.T, p *ipfix.Parser, msg []byte) []flow.Record {
	t.Helper()
	if _, err := p.Start(msg, from); err != nil {
		t.Fatalf("Start: %v", err)
	}
	var out []flow.Record
	for p.Next() {
		if p.Options() {
			continue
		}
		var r flow.Record
		p.Flow(&r)
		out = append(out, r)
	}
	return out
}

func TestHeader(t *testing.T) {
	var p ipfix.Parser
	good := message(7, 0, flowTmpl, set(256, flowRec(1, 2, 100)))
	tests := []struct {
		name string
		msg  []byte
		want error
	}{
		{"short", good[:15], flow.ErrTruncated},
		{"version 9", append(be16(9), good[2:]...), flow.ErrVersion},
		{"length beyond the bytes", good[:len(good)-1], flow.ErrTruncated},
		{"length below the header", cat(good[:2], be16(15), good[4:]), flow.ErrMalformed},
	}
	for _, tt := range tests {
		_, err := p.Start(tt.msg, from)
		var pe *flow.ParseError
		if !errors.Is(err, tt.want) || !errors.As(err, &pe) {
			t.Errorf("%s: %v, want %v in a ParseError", tt.name, err, tt.want)
		}
		if p.Next() {
			t.Errorf("%s: a record after a header error", tt.name)
		}
	}
	// Bytes after Length are reported, not read.
	h, err := p.Start(append(good, 0xde, 0xad, 0xbe), from)
	if err != nil || h.Length != uint16(len(good)) || h.Domain != 7 || h.Time() != flow.Time(1700000000e9) {
		t.Fatalf("header %+v, %v", h, err)
	}
	if rs := p.AppendFlows(nil); len(rs) != 1 || p.Trailing() != 3 || p.Err() != nil {
		t.Errorf("%d records, %d trailing, %v", len(rs), p.Trailing(), p.Err())
	}
}

// Regression (go-ipfix decoded only the first set of a message): every set of every kind
// is read, in any order.
func TestEverySetDecoded(t *testing.T) {
	var p ipfix.Parser
	msg := message(1, 0,
		set(256, flowRec(1, 2, 10)), // before its template: held, released after the message
		flowTmpl,
		set(256, flowRec(3, 4, 30), flowRec(5, 6, 50)),
		set(ipfix.OptionsTemplateSetID, otmpl(300, 1, fld(149, 4), fld(34, 4))),
		set(300, cat(be32(1), be32(100))),
		set(256, flowRec(7, 8, 70)),
		set(ipfix.TemplateSetID, tmpl(257, fld(7, 2), fld(11, 2))),
		set(257, cat(be16(1000), be16(80)), cat(be16(1001), be16(443))),
	)
	rs := decodeAll(t, &p, msg)
	if p.Err() != nil {
		t.Fatal(p.Err())
	}
	var octets []uint64
	for _, r := range rs {
		octets = append(octets, r.Bytes)
	}
	want := []uint64{30, 50, 70, 0, 0, 10}
	if len(octets) != len(want) {
		t.Fatalf("octets %v, want %v", octets, want)
	}
	for i := range want {
		if octets[i] != want[i] {
			t.Fatalf("octets %v, want %v", octets, want)
		}
	}
	// Options apply to the records after them.
	if rs[4].DstPort != 443 || rs[1].SamplingInterval != 0 || rs[2].SamplingInterval != 100 {
		t.Errorf("ports/sampling: %+v %+v", rs[4], rs[1])
	}
}

// Regression (go-ipfix read options template sets as data): an options template set
// defines a template whose records are options, not flows.
func TestOptionsTemplateSetIsNotData(t *testing.T) {
	var p ipfix.Parser
	msg := message(1, 0,
		set(ipfix.OptionsTemplateSetID, otmpl(258, 1, fld(149, 4), fld(160, 8))),
		set(258, cat(be32(1), be64(1600000000000))),
	)
	if _, err := p.Start(msg, from); err != nil {
		t.Fatal(err)
	}
	if !p.Next() || !p.Options() {
		t.Fatal("no options record")
	}
	if v, ok := p.Record().Get(160, 0); !ok || template.Unsigned(v) != 1600000000000 {
		t.Errorf("systemInitTimeMilliseconds %x %v", v, ok)
	}
	if p.Next() || p.Err() != nil {
		t.Errorf("another record, or %v", p.Err())
	}
	p.Start(msg, from)
	if rs := p.AppendFlows(nil); len(rs) != 0 {
		t.Errorf("AppendFlows gave %d flows from options", len(rs))
	}
}

// Regression (go-ipfix looped on data after a withdrawal): data for a withdrawn template is
// held, never decoded with the old template, and the parser moves on.
func TestWithdrawalThenData(t *testing.T) {
	var p ipfix.Parser
	if rs := decodeAll(t, &p, message(1, 0, flowTmpl, set(256, flowRec(1, 2, 3)))); len(rs) != 1 {
		t.Fatalf("%d records before the withdrawal", len(rs))
	}
	withdraw := set(ipfix.TemplateSetID, cat(be16(256), be16(0)))
	done := make(chan []flow.Record)
	go func() { done <- decodeAll(t, &p, message(1, 1, withdraw, set(256, flowRec(1, 2, 3)))) }()
	select {
	case rs := <-done:
		if len(rs) != 0 || p.Held() != 1 || p.Err() != nil {
			t.Errorf("%d records, %d held, %v after a withdrawal", len(rs), p.Held(), p.Err())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the parser loops on data after a withdrawal")
	}
	if s := p.Cache.Stats(); s.Withdrawn != 1 || s.Templates != 0 {
		t.Errorf("stats %+v", s)
	}
	// The template comes back: the held data is released.
	if rs := decodeAll(t, &p, message(1, 2, flowTmpl)); len(rs) != 1 {
		t.Errorf("%d records released", len(rs))
	}
}

func TestWithdrawAll(t *testing.T) {
	var p ipfix.Parser
	decodeAll(t, &p, message(1, 0, flowTmpl, set(ipfix.TemplateSetID, tmpl(257, fld(7, 2))),
		set(ipfix.OptionsTemplateSetID, otmpl(258, 1, fld(149, 4), fld(34, 4)))))
	if n := p.Cache.Stats().Templates; n != 3 {
		t.Fatalf("%d templates", n)
	}
	// All data templates of the domain: template ID 2 with no fields.
	decodeAll(t, &p, message(1, 0, set(ipfix.TemplateSetID, cat(be16(2), be16(0)))))
	if p.Err() != nil || p.Cache.Stats().Templates != 1 {
		t.Fatalf("after withdrawing all data templates: %v, %+v", p.Err(), p.Cache.Stats())
	}
	decodeAll(t, &p, message(1, 0, set(ipfix.OptionsTemplateSetID, cat(be16(3), be16(0)))))
	if p.Err() != nil || p.Cache.Stats().Templates != 0 {
		t.Fatalf("after withdrawing all options templates: %v, %+v", p.Err(), p.Cache.Stats())
	}
}

// Regression: an options template whose scope field count exceeds its field count (or is
// zero) is malformed; it is not learnt and the message goes on.
func TestScopeCountExceedsFieldCount(t *testing.T) {
	for _, scope := range []int{3, 0} {
		var p ipfix.Parser
		rs := decodeAll(t, &p, message(1, 0,
			set(ipfix.OptionsTemplateSetID, otmpl(258, scope, fld(149, 4), fld(34, 4))),
			flowTmpl, set(256, flowRec(1, 2, 3))))
		if !errors.Is(p.Err(), flow.ErrMalformed) {
			t.Errorf("scope %d: %v, want malformed", scope, p.Err())
		}
		if len(rs) != 1 || p.Cache.Stats().Templates != 1 {
			t.Errorf("scope %d: %d records, %d templates", scope, len(rs), p.Cache.Stats().Templates)
		}
	}
}

// Regression (a disagreement with goflow2, seed edge-ipfix-reserved-template-id-then-
// redefinition of benchmarks/FuzzDiffIPFIX): a template record under a reserved ID (below
// 256) is malformed, but framed by its field count like any other, so the templates after
// it in the set are learnt. The parser used to drop the rest of the set, and went on
// reading data with an earlier definition of the next template.
func TestReservedTemplateIDSkipped(t *testing.T) {
	for _, kind := range []struct {
		name     string
		setID    uint16
		reserved []byte
	}{
		{"template set", ipfix.TemplateSetID, tmpl(7, fld(8, 4), template.Field{ID: 1, Length: 4, Enterprise: 9})},
		{"template set, no fields", ipfix.TemplateSetID, tmpl(255)},
		{"options template set", ipfix.OptionsTemplateSetID, otmpl(3, 1, fld(149, 4), fld(34, 4))},
	} {
		var p ipfix.Parser
		old := set(ipfix.TemplateSetID, tmpl(256, fld(8, 4), fld(12, 4)))
		if rs := decodeAll(t, &p, message(1, 0, old)); len(rs) != 0 || p.Err() != nil {
			t.Fatalf("%s: %d records, %v", kind.name, len(rs), p.Err())
		}
		next := tmpl(256, flowFields...)
		if kind.setID == ipfix.OptionsTemplateSetID {
			next = otmpl(256, 1, flowFields...)
		}
		if _, err := p.Start(message(1, 1, set(kind.setID, kind.reserved, next), set(256, flowRec(1, 2, 3))), from); err != nil {
			t.Fatal(err)
		}
		var lens []int
		for p.Next() {
			if p.Options() != (kind.setID == ipfix.OptionsTemplateSetID) {
				t.Errorf("%s: the record is not of the new template's kind", kind.name)
			}
			lens = append(lens, len(p.Record().Bytes))
		}
		if len(lens) != 1 || lens[0] != 24 {
			t.Errorf("%s: records of %v bytes, want one of 24 (the new template 256)", kind.name, lens)
		}
		var pe *flow.ParseError
		if !errors.Is(p.Err(), flow.ErrMalformed) || !errors.As(p.Err(), &pe) || pe.Offset != ipfix.HeaderLen+ipfix.SetHeaderLen {
			t.Errorf("%s: %v, want malformed at the reserved record", kind.name, p.Err())
		}
	}
}

// Regressions: calmh/ipfix read a 3-byte integer as 0, go-ipfix misread a 64-bit counter
// sent in 4 bytes. Reduced-size integers are read at the template's length.
func TestReducedSize(t *testing.T) {
	var p ipfix.Parser
	rs := decodeAll(t, &p, message(1, 0,
		set(ipfix.TemplateSetID, tmpl(256, fld(1, 3), fld(2, 4), fld(10, 1), fld(16, 3))),
		set(256, cat([]byte{0x01, 0x02, 0x03}, be32(0xfedcba98), []byte{7}, []byte{1, 0, 1}))))
	if len(rs) != 1 || p.Err() != nil {
		t.Fatalf("%d records, %v", len(rs), p.Err())
	}
	r := rs[0]
	if r.Bytes != 0x010203 || r.Packets != 0xfedcba98 || r.InIf != 7 || r.SrcAS != 65537 {
		t.Errorf("bytes %d packets %d in %d AS %d", r.Bytes, r.Packets, r.InIf, r.SrcAS)
	}
}

func TestBadSets(t *testing.T) {
	rec := set(256, flowRec(1, 2, 3))
	tests := []struct {
		name string
		tail []byte
		want error
	}{
		{"set length 3", cat(be16(256), be16(3), be32(0)), flow.ErrMalformed},
		{"set overruns", cat(be16(256), be16(200), be32(0)), flow.ErrTruncated},
		{"template overruns its set", set(ipfix.TemplateSetID, cat(be16(400), be16(5), be32(0))), flow.ErrMalformed},
		{"enterprise number overruns", set(ipfix.TemplateSetID, cat(be16(400), be16(1), be16(0x8001), be16(4))), flow.ErrMalformed},
		{"template ID 7", set(ipfix.TemplateSetID, cat(be16(7), be16(1), be32(0))), flow.ErrMalformed},
		{"stray bytes", []byte{1, 2}, flow.ErrMalformed},
	}
	for _, tt := range tests {
		var p ipfix.Parser
		rs := decodeAll(t, &p, message(1, 0, flowTmpl, rec, tt.tail))
		if len(rs) != 1 {
			t.Errorf("%s: %d records before the bad set", tt.name, len(rs))
		}
		var pe *flow.ParseError
		if !errors.Is(p.Err(), tt.want) || !errors.As(p.Err(), &pe) || pe.Offset == 0 {
			t.Errorf("%s: %v, want %v with an offset", tt.name, p.Err(), tt.want)
		}
		// Usable afterwards.
		if rs := decodeAll(t, &p, message(1, 1, rec)); len(rs) != 1 || p.Err() != nil {
			t.Errorf("%s: then %d records, %v", tt.name, len(rs), p.Err())
		}
	}
	// Zero padding after the last set is tolerated.
	var p ipfix.Parser
	if rs := decodeAll(t, &p, message(1, 0, flowTmpl, rec, []byte{0, 0, 0, 0, 0, 0})); len(rs) != 1 || p.Err() != nil {
		t.Errorf("padding: %d records, %v", len(rs), p.Err())
	}
}

// On a stream, a template redefined without a withdrawal is the exporter's error (RFC
// 7011 section 8.1); over UDP the new definition replaces the old.
func TestRedefinition(t *testing.T) {
	other := set(ipfix.TemplateSetID, tmpl(256, fld(8, 4), fld(12, 4)))
	s := template.Session{Exporter: from, Stream: true}
	var p ipfix.Parser
	for _, m := range [][]byte{message(1, 0, flowTmpl), message(1, 0, flowTmpl)} {
		if _, err := p.StartSession(m, s); err != nil {
			t.Fatal(err)
		}
		for p.Next() {
		}
		if p.Err() != nil {
			t.Fatalf("identical template resent: %v", p.Err())
		}
	}
	p.StartSession(message(1, 0, other, set(256, flowRec(1, 2, 3))), s)
	n := 0
	for p.Next() {
		var r flow.Record
		p.Flow(&r)
		if r.Bytes != 3 {
			t.Errorf("record decoded with the redefinition: %+v", r)
		}
		n++
	}
	if !errors.Is(p.Err(), flow.ErrTemplate) || n != 1 {
		t.Errorf("stream redefinition: %d records, %v", n, p.Err())
	}
	// Withdrawn first, it may be redefined.
	p.StartSession(message(1, 0, set(ipfix.TemplateSetID, cat(be16(256), be16(0))), other), s)
	for p.Next() {
	}
	if p.Err() != nil {
		t.Errorf("redefinition after withdrawal: %v", p.Err())
	}
	p.EndSession(s)
	if st := p.Cache.Stats(); st.Templates != 0 {
		t.Errorf("templates after EndSession: %+v", st)
	}

	var u ipfix.Parser
	decodeAll(t, &u, message(1, 0, flowTmpl))
	if rs := decodeAll(t, &u, message(1, 0, other, set(256, cat([]byte{1, 1, 1, 1}, []byte{2, 2, 2, 2})))); u.Err() != nil || len(rs) != 1 || rs[0].Bytes != 0 {
		t.Errorf("UDP redefinition: %v %+v", u.Err(), rs)
	}
}

// Templates are scoped by exporter address and port (RFC 7011 section 8) and domain.
func TestScope(t *testing.T) {
	var p ipfix.Parser
	decodeAll(t, &p, message(1, 0, flowTmpl))
	if _, err := p.Start(message(1, 0, set(256, flowRec(1, 2, 3))), netip.MustParseAddrPort("192.0.2.7:4740")); err != nil {
		t.Fatal(err)
	}
	if p.Next() || p.Held() != 1 {
		t.Error("another port used the template")
	}
	if rs := decodeAll(t, &p, message(2, 0, set(256, flowRec(1, 2, 3)))); len(rs) != 0 {
		t.Error("another domain used the template")
	}
	if rs := decodeAll(t, &p, message(1, 0, set(256, flowRec(1, 2, 3)))); len(rs) != 1 || rs[0].Exporter != from.Addr() || rs[0].Domain != 1 {
		t.Errorf("%+v", rs)
	}
}

// Templates over UDP expire after the cache's lifetime.
func TestExpiry(t *testing.T) {
	now := time.Unix(1700000000, 0)
	c := template.NewCache(template.Config{Lifetime: time.Minute, Now: func() time.Time { return now }})
	p := ipfix.Parser{Cache: c}
	decodeAll(t, &p, message(1, 0, flowTmpl))
	now = now.Add(2 * time.Minute)
	if rs := decodeAll(t, &p, message(1, 0, set(256, flowRec(1, 2, 3)))); len(rs) != 0 {
		t.Error("an expired template decoded data")
	}
	// Stream templates do not expire.
	s := template.Session{Exporter: from, Stream: true}
	p.StartSession(message(1, 0, flowTmpl), s)
	for p.Next() {
	}
	now = now.Add(24 * time.Hour)
	p.StartSession(message(1, 0, set(256, flowRec(1, 2, 3))), s)
	if !p.Next() {
		t.Error("a stream template expired")
	}
}

func TestSequence(t *testing.T) {
	var p ipfix.Parser
	two := set(256, flowRec(1, 2, 3), flowRec(1, 2, 3))
	opts := set(ipfix.OptionsTemplateSetID, otmpl(300, 1, fld(149, 4), fld(34, 4)))
	steps := []struct {
		msg  []byte
		want ipfix.SequenceInfo
	}{
		{message(1, 100, flowTmpl, opts, two), ipfix.SequenceInfo{Expected: 102, Synced: true, Received: 100, Messages: 1, Records: 2}},
		// Options data records count too.
		{message(1, 102, set(300, cat(be32(1), be32(10))), two), ipfix.SequenceInfo{Expected: 105, Synced: true, Received: 102, Messages: 2, Records: 5}},
		// Four records lost.
		{message(1, 109, two), ipfix.SequenceInfo{Expected: 111, Synced: true, Received: 109, Messages: 3, Records: 7, Lost: 4}},
		// Two of them arrive late.
		{message(1, 105, two), ipfix.SequenceInfo{Expected: 111, Synced: true, Received: 105, Messages: 4, Records: 9, Lost: 2, Reordered: 1}},
		// Data without template: its records cannot be counted.
		{message(1, 111, set(999, be32(0))), ipfix.SequenceInfo{Expected: 111, Received: 111, Messages: 5, Records: 9, Lost: 2, Reordered: 1}},
		{message(1, 500, two), ipfix.SequenceInfo{Expected: 502, Synced: true, Received: 500, Messages: 6, Records: 11, Lost: 2, Reordered: 1}},
		// A jump too far to be loss: a restart.
		{message(1, 502+1<<31, two), ipfix.SequenceInfo{Expected: 504 + 1<<31, Synced: true, Received: 502 + 1<<31, Messages: 7, Records: 13, Lost: 2, Reordered: 1, Resets: 1}},
	}
	for i, s := range steps {
		p.Start(s.msg, from)
		p.AppendFlows(nil)
		got, ok := p.Sequence()
		if !ok || got != s.want {
			t.Fatalf("step %d: %+v, want %+v", i, got, s.want)
		}
	}
	// Another domain is counted apart.
	p.Start(message(2, 7, flowTmpl, two), from)
	for p.Next() {
	}
	if got, _ := p.Sequence(); got.Messages != 1 || got.Expected != 9 {
		t.Errorf("domain 2: %+v", got)
	}
	if got, ok := p.Sequences.Get(ipfix.SequenceKey{Session: p.Session(), Domain: 1}); !ok || got.Messages != 7 {
		t.Errorf("domain 1 by key: %+v", got)
	}
}

// Variable-length fields in both length forms, and enterprise elements, are framed by
// their lengths and read raw.
func TestVariableLengthAndEnterprise(t *testing.T) {
	long := make([]byte, 300)
	for i := range long {
		long[i] = byte(i)
	}
	fields := []template.Field{fld(8, 4), fld(82, template.VarLen), {ID: 33, Length: 2, Enterprise: 6871},
		{ID: 12, Length: template.VarLen, Enterprise: 9}, fld(1, 4)}
	var p ipfix.Parser
	rs := decodeAll(t, &p, message(1, 0, set(ipfix.TemplateSetID, tmpl(256, fields...)),
		set(256,
			cat([]byte{10, 0, 0, 1}, []byte{3}, []byte("eth"), be16(53), []byte{255}, be16(300), long, be32(99)),
			cat([]byte{10, 0, 0, 2}, []byte{0}, be16(80), []byte{1, 7}, be32(98)))))
	if p.Err() != nil || len(rs) != 2 || rs[0].Bytes != 99 || rs[1].Bytes != 98 || rs[1].SrcAddr != netip.MustParseAddr("10.0.0.2") {
		t.Fatalf("%v %+v", p.Err(), rs)
	}
	p.Start(message(1, 0, set(256, cat([]byte{10, 0, 0, 1}, []byte{3}, []byte("eth"), be16(53), []byte{255}, be16(300), long, be32(99)))), from)
	p.Next()
	r := p.Record()
	if v, ok := r.Get(82, 0); !ok || string(v) != "eth" {
		t.Errorf("interfaceName %q", v)
	}
	if v, ok := r.Get(33, 6871); !ok || template.Unsigned(v) != 53 {
		t.Errorf("enterprise 6871 element 33: %x", v)
	}
	if v, ok := r.Get(12, 9); !ok || len(v) != 300 || v[299] != byte(299%256) {
		t.Errorf("255+2-byte form: %d bytes", len(v))
	}
	if f, _ := r.Field(2); f.Enterprise != 6871 || f.ID != 33 {
		t.Errorf("field 2 %+v", f)
	}
}

// Every abstract data type of RFC 7012, at its full and reduced sizes, read back through
// the raw record and the template value helpers.
func TestDataTypes(t *testing.T) {
	type field struct {
		f     template.Field
		value []byte
		check func([]byte) bool
	}
	var fields []field
	add := func(id, length uint16, value []byte, check func([]byte) bool) {
		fields = append(fields, field{template.Field{ID: id, Length: length, Enterprise: 1}, value, check})
	}
	// Signed integers sent in 1 to 8 bytes are sign-extended.
	for n := 1; n <= 8; n++ {
		v := make([]byte, n)
		for i := range v {
			v[i] = 0xff
		}
		v[n-1] = 0xfe // -2
		add(uint16(100+n), uint16(n), v, func(b []byte) bool { return template.Signed(b) == -2 })
		pos := make([]byte, n)
		pos[0] = 0x7f
		want := int64(0x7f) << (8 * (n - 1))
		add(uint16(200+n), uint16(n), pos, func(b []byte) bool { return template.Signed(b) == want })
		u := make([]byte, n)
		u[0] = 0x80
		wantU := uint64(0x80) << (8 * (n - 1))
		add(uint16(300+n), uint16(n), u, func(b []byte) bool { return template.Unsigned(b) == wantU })
	}
	f32 := be32(math.Float32bits(1.5))
	add(1, 4, f32, func(b []byte) bool { return template.Float(b) == 1.5 }) // float64 sent as float32
	add(2, 8, be64(math.Float64bits(-2.25)), func(b []byte) bool { return template.Float(b) == -2.25 })
	add(3, 1, []byte{1}, func(b []byte) bool { return string(template.AppendText(nil, template.Boolean, b)) == "true" })
	add(4, 1, []byte{2}, func(b []byte) bool { return string(template.AppendText(nil, template.Boolean, b)) == "false" })
	add(5, 8, []byte("abc\x00\x00\x00\x00\x00"), func(b []byte) bool { return string(template.AppendText(nil, template.String, b)) == "abc" })
	add(6, template.VarLen, []byte("héllo"), func(b []byte) bool { return string(b) == "héllo" })
	long := make([]byte, 1000)
	long[999] = 9
	add(7, template.VarLen, long, func(b []byte) bool { return len(b) == 1000 && b[999] == 9 })
	add(8, 3, []byte{1, 2, 3}, func(b []byte) bool { return string(b) == "\x01\x02\x03" })
	add(9, template.VarLen, nil, func(b []byte) bool { return len(b) == 0 })
	add(10, 6, []byte{0, 0x1b, 0x21, 0x3c, 0x4d, 0x5e}, func(b []byte) bool { return template.MAC(b).String() == "00:1b:21:3c:4d:5e" })
	add(11, 4, []byte{192, 0, 2, 1}, func(b []byte) bool { return template.Addr(b) == netip.MustParseAddr("192.0.2.1") })
	v6 := netip.MustParseAddr("2001:db8::1").As16()
	add(12, 16, v6[:], func(b []byte) bool { return template.Addr(b) == netip.MustParseAddr("2001:db8::1") })
	at := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	add(13, 4, be32(uint32(at.Unix())), func(b []byte) bool {
		return template.Time(template.DateTimeSeconds, b) == flow.TimeOf(at.Truncate(time.Second))
	})
	add(14, 8, be64(uint64(at.UnixMilli())), func(b []byte) bool {
		return template.Time(template.DateTimeMilliseconds, b) == flow.TimeOf(at.Truncate(time.Millisecond))
	})
	ntp := uint64(at.Unix()+2208988800)<<32 | uint64(at.Nanosecond())<<32/1e9
	add(15, 8, be64(ntp), func(b []byte) bool {
		d := template.Time(template.DateTimeNanoseconds, b) - flow.TimeOf(at)
		return d >= -1 && d <= 1
	})
	add(16, 8, be64(ntp&^0x7ff), func(b []byte) bool { // microseconds: the low 11 bits unused
		d := template.Time(template.DateTimeMicroseconds, b) - flow.TimeOf(at)
		return d > -1000 && d <= 0
	})

	var specs []template.Field
	var rec []byte
	for _, f := range fields {
		specs = append(specs, f.f)
		if f.f.Length == template.VarLen {
			if len(f.value) < 255 {
				rec = append(rec, byte(len(f.value)))
			} else {
				rec = append(append(rec, 255), be16(uint16(len(f.value)))...)
			}
		}
		rec = append(rec, f.value...)
	}
	var p ipfix.Parser
	if _, err := p.Start(message(1, 0, set(ipfix.TemplateSetID, tmpl(256, specs...)), set(256, rec)), from); err != nil {
		t.Fatal(err)
	}
	if !p.Next() {
		t.Fatal(p.Err())
	}
	r := p.Record()
	for i, fv := range r.All {
		f := fields[i]
		if fv.Field != f.f || !f.check(fv.Value) {
			t.Errorf("field %d (%+v): %x", i, f.f, fv.Value)
		}
	}
	if p.Next() {
		t.Error("a second record")
	}
}

// Times: sec, ms and NTP elements, and flowStart/EndSysUpTime counted from the
// systemInitTimeMilliseconds of an options record of the domain.
func TestTimes(t *testing.T) {
	boot := int64(1600000000000)
	var p ipfix.Parser
	rs := decodeAll(t, &p, message(1, 0,
		set(ipfix.OptionsTemplateSetID, otmpl(258, 1, fld(149, 4), fld(160, 8))),
		set(258, cat(be32(1), be64(uint64(boot)))),
		set(ipfix.TemplateSetID, tmpl(256, fld(8, 4), fld(22, 4), fld(21, 4)), tmpl(257, fld(150, 4), fld(153, 8)),
			tmpl(259, fld(156, 8), fld(157, 8))),
		set(256, cat([]byte{1, 1, 1, 1}, be32(1000), be32(5000))),
		set(257, cat(be32(1700000000), be64(1700000001500))),
		set(259, cat(be64(uint64(1700000000+2208988800)<<32|1<<31), be64(uint64(1700000002+2208988800)<<32))),
	))
	if p.Err() != nil || len(rs) != 3 {
		t.Fatalf("%v %d", p.Err(), len(rs))
	}
	if rs[0].Start != flow.Time((boot+1000)*1e6) || rs[0].End != flow.Time((boot+5000)*1e6) {
		t.Errorf("sysUpTime: %v %v", rs[0].Start, rs[0].End)
	}
	if rs[1].Start != 1700000000e9 || rs[1].End != 1700000001500e6 {
		t.Errorf("sec/ms: %v %v", rs[1].Start, rs[1].End)
	}
	if rs[2].Start != 1700000000500e6 || rs[2].End != 1700000002e9 {
		t.Errorf("ntp: %v %v", rs[2].Start, rs[2].End)
	}
}

// RFC 5103: the reverse direction of a biflow swaps the key and takes the reverse
// counters; a template without reverse counters has none.
func TestReverse(t *testing.T) {
	rev := func(id, n uint16) template.Field {
		return template.Field{ID: id, Length: n, Enterprise: template.ReversePEN}
	}
	var p ipfix.Parser
	msg := message(1, 0,
		set(ipfix.TemplateSetID, tmpl(256, fld(8, 4), fld(12, 4), fld(7, 2), fld(11, 2), fld(4, 1), fld(10, 4), fld(14, 4),
			fld(1, 8), fld(2, 4), fld(6, 1), fld(152, 8), fld(153, 8),
			rev(1, 8), rev(2, 4), rev(6, 1), rev(153, 8))),
		set(256, cat([]byte{10, 0, 0, 1}, []byte{10, 0, 0, 2}, be16(40000), be16(443), []byte{6}, be32(3), be32(4),
			be64(1000), be32(10), []byte{0x1a}, be64(1700000000000), be64(1700000005000),
			be64(9000), be32(12), []byte{0x12}, be64(1700000006000))),
		flowTmpl, set(256+0, nil))
	if _, err := p.Start(msg, from); err != nil {
		t.Fatal(err)
	}
	if !p.Next() {
		t.Fatal(p.Err())
	}
	var fwd, back flow.Record
	p.Flow(&fwd)
	if !p.Reverse(&back) {
		t.Fatal("no reverse direction")
	}
	if fwd.Bytes != 1000 || fwd.Packets != 10 || fwd.TCPFlags != 0x1a || fwd.SrcPort != 40000 {
		t.Errorf("forward %+v", fwd)
	}
	want := flow.Record{Protocol: flow.IPFIX, Exporter: from.Addr(), Domain: 1,
		SrcAddr: netip.MustParseAddr("10.0.0.2"), DstAddr: netip.MustParseAddr("10.0.0.1"), SrcPort: 443, DstPort: 40000,
		IPProto: 6, InIf: 4, OutIf: 3, Bytes: 9000, Packets: 12, TCPFlags: 0x12,
		Start: 1700000000000e6, End: 1700000006000e6}
	if back != want {
		t.Errorf("reverse\n %+v\nwant\n %+v", back, want)
	}
	if got := testing.AllocsPerRun(100, func() { p.Reverse(&back) }); got != 0 {
		t.Errorf("Reverse allocates %v", got)
	}
	var q ipfix.Parser
	q.Start(message(1, 0, flowTmpl, set(256, flowRec(1, 2, 3))), from)
	q.Next()
	if q.Reverse(&back) {
		t.Error("a reverse direction without reverse counters")
	}
}

// AppendFlows gives a biflow's reverse direction after its forward record, as Reverse
// does, and none for a record whose reverse counters are zero; the message's records count
// once each towards the sequence number.
func TestAppendFlowsBiflows(t *testing.T) {
	rev := func(id, n uint16) template.Field {
		return template.Field{ID: id, Length: n, Enterprise: template.ReversePEN}
	}
	biflow := func(fwdBytes, revBytes uint64, revPackets uint32) []byte {
		return cat([]byte{10, 0, 0, 1}, []byte{10, 0, 0, 2}, be16(40000), be16(443), []byte{6},
			be64(fwdBytes), be32(10), be64(1700000000000), be64(1700000005000),
			be64(revBytes), be32(revPackets), be64(1700000006000))
	}
	tpl := message(1, 0, set(ipfix.TemplateSetID, tmpl(256, fld(8, 4), fld(12, 4), fld(7, 2), fld(11, 2), fld(4, 1),
		fld(1, 8), fld(2, 4), fld(152, 8), fld(153, 8), rev(1, 8), rev(2, 4), rev(153, 8))))
	data := message(1, 0, set(256, biflow(1000, 9000, 12), biflow(2000, 0, 0), biflow(3000, 0, 1)))
	var p ipfix.Parser
	decodeAll(t, &p, tpl)
	var want []flow.Record
	if _, err := p.Start(data, from); err != nil {
		t.Fatal(err)
	}
	for p.Next() {
		var r flow.Record
		p.Flow(&r)
		want = append(want, r)
		if p.Reverse(&r) {
			want = append(want, r)
		}
	}
	if len(want) != 5 || want[1].Bytes != 9000 || want[2].Bytes != 2000 || want[4].Packets != 1 {
		t.Fatalf("Next, Flow and Reverse: %+v", want)
	}
	var q ipfix.Parser // from the start, for the sequence numbers
	decodeAll(t, &q, tpl)
	if _, err := q.Start(data, from); err != nil {
		t.Fatal(err)
	}
	if got := q.AppendFlows(nil); !slices.Equal(got, want) {
		t.Errorf("AppendFlows\n %+v\nwant\n %+v", got, want)
	}
	if s, ok := q.Sequence(); !ok || s.Expected != 3 || s.Records != 3 {
		t.Errorf("sequence after 3 biflow records: %+v", s)
	}
	dst := make([]flow.Record, 0, 8)
	if n := testing.AllocsPerRun(100, func() {
		p.Start(data, from)
		dst = p.AppendFlows(dst[:0])
	}); n != 0 {
		t.Errorf("AppendFlows of biflows: %v allocs", n)
	}
}

func steadyMessage() (tpl, data []byte) {
	var recs [][]byte
	for i := 0; i < 20; i++ {
		recs = append(recs, flowRec(byte(i), byte(i+1), uint64(i*100)))
	}
	return message(1, 0, flowTmpl), message(1, 0, set(256, recs...))
}

func TestAllocs(t *testing.T) {
	tpl, data := steadyMessage()
	var p ipfix.Parser
	decodeAll(t, &p, tpl)
	dst := make([]flow.Record, 0, 64)
	if n := testing.AllocsPerRun(200, func() {
		p.Start(data, from)
		dst = p.AppendFlows(dst[:0])
	}); n != 0 || len(dst) != 20 {
		t.Errorf("Start+AppendFlows: %v allocs, %d records", n, len(dst))
	}
	var r flow.Record
	if n := testing.AllocsPerRun(200, func() {
		p.Start(data, from)
		for p.Next() {
			p.Flow(&r)
		}
	}); n != 0 {
		t.Errorf("Start+Next+Flow: %v allocs", n)
	}
}

func BenchmarkAppendFlows(b *testing.B) {
	tpl, data := steadyMessage()
	var p ipfix.Parser
	p.Start(tpl, from)
	p.AppendFlows(nil)
	dst := make([]flow.Record, 0, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		p.Start(data, from)
		dst = p.AppendFlows(dst[:0])
	}
}

func BenchmarkNextFlow(b *testing.B) {
	tpl, data := steadyMessage()
	var p ipfix.Parser
	p.Start(tpl, from)
	p.AppendFlows(nil)
	var r flow.Record
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		p.Start(data, from)
		for p.Next() {
			p.Flow(&r)
		}
	}
}

// Two exporters with the same observation domain, each announcing its own boot time and
// sampling interval, read alternately by one parser: each exporter's records take its own,
// however the options of the two happen to line up (both exporters here are at the same
// options generation, which a cache keyed by generation alone would confuse).
func TestOptionsPerExporter(t *testing.T) {
	type exp struct {
		from       netip.AddrPort
		boot       int64
		rate       uint32
		opts, data []byte
	}
	var exps []exp
	for i, c := range []struct {
		boot int64
		rate uint32
	}{{1600000000000, 10}, {1650000000000, 100}} {
		e := exp{from: netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + i)}), 4739), boot: c.boot, rate: c.rate}
		e.opts = message(1, 0,
			set(ipfix.OptionsTemplateSetID, otmpl(258, 1, fld(149, 4), fld(34, 4), fld(160, 8))),
			set(258, cat(be32(1), be32(c.rate), be64(uint64(c.boot)))),
			set(ipfix.TemplateSetID, tmpl(256, fld(8, 4), fld(22, 4), fld(21, 4))))
		e.data = message(1, 1, set(256, cat([]byte{1, 1, 1, 1}, be32(1000), be32(5000))))
		exps = append(exps, e)
	}
	var p ipfix.Parser
	for _, e := range exps {
		if _, err := p.Start(e.opts, e.from); err != nil {
			t.Fatal(err)
		}
		for p.Next() {
		}
		if err := p.Err(); err != nil {
			t.Fatal(err)
		}
	}
	check := func(how string, e exp, rs []flow.Record) {
		t.Helper()
		if len(rs) != 1 {
			t.Fatalf("%s: %d records", how, len(rs))
		}
		if r := rs[0]; r.Start != flow.Time((e.boot+1000)*1e6) || r.SamplingInterval != e.rate {
			t.Errorf("%s, exporter %v: start %v interval %d, want %v %d", how, e.from, r.Start, r.SamplingInterval,
				flow.Time((e.boot+1000)*1e6), e.rate)
		}
	}
	for range 2 {
		for _, e := range exps {
			if _, err := p.Start(e.data, e.from); err != nil {
				t.Fatal(err)
			}
			check("AppendFlows", e, p.AppendFlows(nil))
			if _, err := p.Start(e.data, e.from); err != nil {
				t.Fatal(err)
			}
			var rs []flow.Record
			for p.Next() {
				var r flow.Record
				p.Flow(&r)
				rs = append(rs, r)
			}
			check("Next/Flow", e, rs)
		}
	}
}

// Statistics options records (RFC 7011 section 4): each report sets the counters it
// carries and keeps the others; they change no data record, so they do not count as
// options changes, and reading one again allocates nothing.
func TestExporterStatisticsReports(t *testing.T) {
	var p ipfix.Parser
	tpl := message(7, 0, set(ipfix.OptionsTemplateSetID,
		otmpl(300, 1, fld(149, 4), fld(41, 8), fld(42, 8), fld(164, 8)),
		otmpl(301, 1, fld(144, 4), fld(166, 8), fld(42, 4))))
	first := message(7, 0, set(300, cat(be32(7), be64(10), be64(200), be64(3))))
	second := message(7, 0, set(301, cat(be32(1), be64(5), be32(250))))
	binary.BigEndian.PutUint32(second[4:], 1700000060)
	for _, m := range [][]byte{tpl, first, second} {
		decodeAll(t, &p, m)
	}
	got, ok := p.Cache.ExporterStatistics(p.Session(), 7)
	want := template.ExporterStatistics{At: 1700000060e9, ExportedMessages: 10, ExportedRecords: 250, IgnoredPackets: 3, NotSentFlows: 5}
	if !ok || got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if _, ok := p.Cache.ExporterStatistics(p.Session(), 8); ok {
		t.Error("statistics for a domain without reports")
	}
	if s := p.Cache.Stats(); s.OptionsChanged != 0 {
		t.Errorf("statistics counted as %d options changes", s.OptionsChanged)
	}
	if n := testing.AllocsPerRun(100, func() {
		p.Start(second, from)
		for p.Next() {
		}
	}); n != 0 {
		t.Errorf("a statistics report read again: %v allocs", n)
	}
}
