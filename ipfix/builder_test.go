package ipfix_test

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/flowtest"
	"github.com/flowkit/flow/ipfix"
	"github.com/flowkit/flow/template"
	"github.com/google/go-cmp/cmp"
)

var exporterAddr = netip.MustParseAddrPort("192.0.2.1:4739")

// testRecords returns n records with every field the Builder writes set, alternating
// between the address families; times are whole milliseconds, as IPFIX carries them.
func testRecords(n int, base flow.Time) []flow.Record {
	rs := make([]flow.Record, n)
	for i := range rs {
		r := flow.Record{
			Protocol: flow.IPFIX, Exporter: exporterAddr.Addr(), Domain: 7,
			SrcPort: uint16(1024 + i), DstPort: 443, IPProto: 6,
			Packets: uint64(i+1) << 33, Bytes: uint64(1500*(i+1)) << 40,
			Start: base.Add(time.Duration(i) * time.Millisecond), End: base.Add(time.Duration(i)*time.Millisecond + 2*time.Second),
			InIf: uint32(i % 5), OutIf: 70000, SrcAS: 4200000000, DstAS: uint32(i),
			TCPFlags: 0x1db, ToS: 0x20, SrcMask: 24, DstMask: 16, VLAN: 100, OutVLAN: 200,
			SrcMAC: flow.MAC{0, 1, 2, 3, 4, byte(i)}, DstMAC: flow.MAC{0xa, 0xb, 0xc, 0xd, 0xe, 0xf},
			Direction: flow.Direction(i % 3), EndReason: flow.EndReason(i % 6), MPLSLabel: 16065 + uint32(i),
			EngineType: 1, EngineID: 2, SamplingInterval: 512,
		}
		if i%2 == 0 {
			r.SrcAddr = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
			r.DstAddr = netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
			r.NextHop = netip.MustParseAddr("198.51.100.1")
			r.BGPNextHop = netip.MustParseAddr("198.51.100.2")
		} else {
			r.SrcAddr = netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 15: byte(i)})
			r.DstAddr = netip.MustParseAddr("2001:db8::99")
			r.NextHop = netip.MustParseAddr("2001:db8::1")
			r.BGPNextHop = netip.MustParseAddr("2001:db8::2")
		}
		if i%7 == 3 { // ICMP: type and code in the destination port
			r.IPProto, r.SrcPort, r.DstPort, r.TCPFlags = 1, 0, 0x0301, 0
		}
		rs[i] = r
	}
	return rs
}

// build encodes recs into messages, each at most MaxSize, with add choosing how.
func build(t testing.TB, b *ipfix.Builder, now time.Time, n int, add func(i int) error) [][]byte {
	t.Helper()
	var msgs [][]byte
	for i := 0; i < n; {
		b.Start(nil, now)
		for ; i < n; i++ {
			if err := add(i); errors.Is(err, flow.ErrFull) {
				if b.Len() == 0 {
					t.Fatalf("record %d fits no message", i)
				}
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
		msgs = append(msgs, b.Finish())
	}
	return msgs
}

// TestRoundTrip encodes records of both families over several messages, with templates and
// sampling options, and decodes them to the same records, sampling interval included.
func TestRoundTrip(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	recs := testRecords(75, flow.TimeOf(now.Add(-10*time.Second)))
	b := ipfix.Builder{Domain: 7, SamplingInterval: 512, SamplingAlgorithm: 2, TemplateRefresh: 2}
	msgs := build(t, &b, now, len(recs), func(i int) error { return b.AddFlow(&recs[i]) })
	if len(msgs) < 3 {
		t.Fatalf("%d messages", len(msgs))
	}
	d := flowtest.NewIPFIXDecoder(exporterAddr, false)
	seq := uint32(0)
	for i, m := range msgs {
		if err := d.Message(m); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		h := d.Headers[i]
		if h.Sequence != seq || h.Domain != 7 || h.ExportTime != uint32(now.Unix()) || len(m) > 1400 {
			t.Errorf("message %d: header %+v, %d bytes; want sequence %d", i, h, len(m), seq)
		}
		seq = uint32(len(d.Raw)) // every data record before the next message, options records too
	}
	if b.Sequence(7) != seq {
		t.Errorf("Sequence(7) = %d, want %d", b.Sequence(7), seq)
	}
	if diff := cmp.Diff(recs, d.Flows, flowtest.CmpAddr); diff != "" {
		t.Errorf("round trip (-sent +received):\n%s", diff)
	}
	// The sampling options record says 1 in 512, random, in both forms.
	var opts int
	for _, r := range d.Raw {
		if r.Options() {
			opts++
			scope, _ := r.Scope(149, 0)
			iv, _ := r.Get(34, 0)
			alg, _ := r.Get(35, 0)
			sel, _ := r.Get(304, 0)
			pi, _ := r.Get(305, 0)
			ps, _ := r.Get(306, 0)
			got := [6]uint64{template.Unsigned(scope), template.Unsigned(iv), template.Unsigned(alg),
				template.Unsigned(sel), template.Unsigned(pi), template.Unsigned(ps)}
			if got != [6]uint64{7, 512, 2, 4, 1, 511} {
				t.Errorf("sampling options %v", got)
			}
		}
	}
	if opts != (len(msgs)+1)/2 { // refreshed every other message
		t.Errorf("%d sampling options records in %d messages", opts, len(msgs))
	}
}

// TestBuilderTimes: times are written as whole milliseconds, rounded down; zero stays "not
// reported"; absent next hops read back as zero addresses of the template's family.
func TestBuilderTimes(t *testing.T) {
	now := time.Unix(1767225600, 0)
	in := []flow.Record{
		{SrcAddr: netip.MustParseAddr("10.0.0.1"), DstAddr: netip.MustParseAddr("10.0.0.2"),
			Start: flow.TimeOf(now.Add(-1500999 * time.Microsecond)), End: flow.TimeOf(now.Add(-999))},
		{SrcAddr: netip.MustParseAddr("2001:db8::1"), DstAddr: netip.MustParseAddr("2001:db8::2")},
	}
	var b ipfix.Builder
	msgs := build(t, &b, now, len(in), func(i int) error { return b.AddFlow(&in[i]) })
	d := flowtest.NewIPFIXDecoder(exporterAddr, false)
	if err := d.Message(msgs[0]); err != nil {
		t.Fatal(err)
	}
	want := in
	want[0].Start = flow.TimeOf(now.Add(-1501 * time.Millisecond))
	want[0].End = flow.TimeOf(now.Add(-time.Millisecond))
	want[0].NextHop, want[0].BGPNextHop = netip.IPv4Unspecified(), netip.IPv4Unspecified()
	want[1].NextHop, want[1].BGPNextHop = netip.IPv6Unspecified(), netip.IPv6Unspecified()
	for i := range want {
		want[i].Protocol, want[i].Exporter = flow.IPFIX, exporterAddr.Addr()
	}
	if diff := cmp.Diff(want, d.Flows, flowtest.CmpAddr); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestBiflow: the reverse direction's counters, flags and times are under PEN 29305.
func TestBiflow(t *testing.T) {
	now := time.Unix(1767225600, 0)
	recs := testRecords(40, flow.TimeOf(now.Add(-time.Minute)))
	revs := make([]flow.Record, len(recs))
	for i, r := range recs {
		rev := r
		rev.SrcAddr, rev.DstAddr, rev.SrcPort, rev.DstPort = r.DstAddr, r.SrcAddr, r.DstPort, r.SrcPort
		rev.Packets, rev.Bytes, rev.TCPFlags = uint64(i), uint64(i)*1000+7, uint16(0x12+i)
		rev.Start, rev.End = r.Start.Add(time.Millisecond), r.End.Add(-time.Duration(i)*time.Millisecond)
		revs[i] = rev
	}
	b := ipfix.Builder{Domain: 7}
	msgs := build(t, &b, now, len(recs), func(i int) error { return b.AddBiflow(&recs[i], &revs[i]) })
	d := flowtest.NewIPFIXDecoder(exporterAddr, false)
	for _, m := range msgs {
		if err := d.Message(m); err != nil {
			t.Fatal(err)
		}
	}
	for i := range recs {
		recs[i].SamplingInterval = 0 // nothing announced it
	}
	if diff := cmp.Diff(recs, d.Flows, flowtest.CmpAddr); diff != "" {
		t.Errorf("forward records (-sent +received):\n%s", diff)
	}
	for i, r := range d.Raw {
		get := func(id uint16) uint64 { v, _ := r.Get(id, template.ReversePEN); return template.Unsigned(v) }
		want := revs[i]
		got := [5]uint64{get(1), get(2), get(6), get(152), get(153)}
		if got != [5]uint64{want.Bytes, want.Packets, uint64(want.TCPFlags), uint64(want.Start / 1e6), uint64(want.End / 1e6)} {
			t.Errorf("record %d: reverse octets, packets, flags, start, end %v; sent %+v", i, got, want)
		}
		if id := r.Template.ID; id != ipfix.TemplateBiflowIPv4+uint16(i%2) {
			t.Errorf("record %d: template %d", i, id)
		}
	}
}

// TestTemplateRefresh checks that templates go out with the first record of a domain,
// after TemplateRefresh messages, after TemplateInterval, and after SendTemplates, and that
// sequence numbers count data records per domain.
func TestTemplateRefresh(t *testing.T) {
	now := time.Unix(1767225600, 0)
	b := ipfix.Builder{TemplateRefresh: 3, TemplateInterval: time.Minute}
	r := testRecords(1, flow.TimeOf(now))[0]
	hasTemplates := func(m []byte) bool { return binary.BigEndian.Uint16(m[16:]) == ipfix.TemplateSetID }
	var got []bool
	var seqs []uint32
	for i, dom := range []uint32{1, 1, 1, 1, 2, 1, 1, 1} {
		at := now.Add(time.Duration(i) * time.Second)
		if i == 6 {
			at = now.Add(2 * time.Minute)
		}
		if i == 7 {
			b.SendTemplates()
		}
		b.Domain = dom
		b.Start(nil, at)
		for range 1 + i%2 {
			if err := b.AddFlow(&r); err != nil {
				t.Fatal(err)
			}
		}
		m := b.Finish()
		got = append(got, hasTemplates(m))
		seqs = append(seqs, binary.BigEndian.Uint32(m[8:]))
	}
	if want := []bool{true, false, false, true, true, false, true, true}; !cmp.Equal(got, want) {
		t.Errorf("templates sent %v, want %v", got, want)
	}
	// Domain 1's messages carry 1, 2, 1, 2, –, 2, 1, 2 records.
	if want := []uint32{0, 1, 3, 4, 0, 6, 8, 9}; !cmp.Equal(seqs, want) {
		t.Errorf("sequences %v, want %v", seqs, want)
	}
	// A message with nothing in it is not written.
	b.Start([]byte{1, 2, 3}, now)
	if m := b.Finish(); len(m) != 3 {
		t.Errorf("empty message left %d bytes", len(m)-3)
	}
}

// TestMaxSize: messages stay within MaxSize, and are filled close to it.
func TestMaxSize(t *testing.T) {
	now := time.Unix(1767225600, 0)
	recs := testRecords(500, flow.TimeOf(now))
	for _, max := range []int{400, 576, 1400, 9000} {
		b := ipfix.Builder{MaxSize: max, SamplingInterval: 10}
		msgs := build(t, &b, now, len(recs), func(i int) error { return b.AddFlow(&recs[i]) })
		d := flowtest.NewIPFIXDecoder(exporterAddr, false)
		for i, m := range msgs {
			if len(m) > max || i < len(msgs)-1 && len(m) < max-2*(4+120+4+150) {
				t.Errorf("MaxSize %d: message %d has %d bytes", max, i, len(m))
			}
			if err := d.Message(m); err != nil {
				t.Fatal(err)
			}
		}
		if len(d.Flows) != len(recs) {
			t.Errorf("MaxSize %d: %d records back", max, len(d.Flows))
		}
	}
	b := ipfix.Builder{MaxSize: 60}
	b.Start(nil, now)
	if err := b.AddFlow(&recs[0]); !errors.Is(err, flow.ErrFull) || b.Len() != 0 {
		t.Errorf("a record larger than MaxSize: %v", err)
	}
}

// TestCallerTemplate: a template of the caller's choice, with reduced-size and
// enterprise fields, filled from flow.Records or given raw.
func TestCallerTemplate(t *testing.T) {
	now := time.Unix(1767225600, 0)
	var b ipfix.Builder
	fields := []template.Field{
		{ID: 8, Length: 4}, {ID: 12, Length: 4},
		{ID: 1, Length: 4}, {ID: 2, Length: 2}, // reduced-size counters
		{ID: 150, Length: 4}, {ID: 161, Length: 4}, // start seconds, duration ms
		{ID: 157, Length: 8},                                             // flowEndNanoseconds
		{ID: 195, Length: 1}, {ID: 176, Length: 1}, {ID: 177, Length: 1}, // DSCP, ICMP type and code
		{ID: 82, Length: template.VarLen},    // interfaceName: not filled, empty
		{ID: 1000, Length: 3, Enterprise: 9}, // unknown enterprise element: zeros
		{ID: 1, Length: 8, Enterprise: template.ReversePEN},
	}
	id, err := b.AddTemplate(0, fields)
	if err != nil || id != ipfix.FirstCallerTemplate {
		t.Fatalf("AddTemplate: %d, %v", id, err)
	}
	opt, err := b.AddTemplate(1, []template.Field{{ID: 10, Length: 4}, {ID: 82, Length: template.VarLen}})
	if err != nil || opt != id+1 {
		t.Fatalf("AddTemplate options: %d, %v", opt, err)
	}
	if _, err := b.AddTemplate(0, []template.Field{{ID: 8, Length: 16}}); err == nil {
		t.Error("an IPv4 address in 16 bytes accepted")
	}
	if _, err := b.AddTemplate(3, fields[:2]); err == nil {
		t.Error("more scope fields than fields accepted")
	}
	start := flow.TimeOf(now.Add(-3 * time.Second))
	in := flow.Record{SrcAddr: netip.MustParseAddr("10.1.1.1"), DstAddr: netip.MustParseAddr("10.2.2.2"),
		Bytes: 1 << 40, Packets: 1234, Start: start, End: start.Add(1500*time.Millisecond + 123456),
		IPProto: 1, DstPort: 0x0b02, ToS: 0xb8}
	rev := flow.Record{Bytes: 99}
	b.Start(nil, now)
	if err := b.AddFlowWith(id, &in, &rev); err != nil {
		t.Fatal(err)
	}
	if err := b.AddFlowWith(id, &in, nil); err != nil {
		t.Fatal(err)
	}
	name := append([]byte{0, 0, 0, 9, 4}, "eth0"...)
	if err := b.AddRecord(opt, name); err != nil {
		t.Fatal(err)
	}
	if err := b.AddRecord(opt, name[:6]); err == nil {
		t.Error("a short record accepted")
	}
	if err := b.AddRecord(999, name); err == nil {
		t.Error("an unknown template accepted")
	}
	m := b.Finish()
	d := flowtest.NewIPFIXDecoder(exporterAddr, false)
	if err := d.Message(m); err != nil {
		t.Fatal(err)
	}
	if len(d.Raw) != 3 || !cmp.Equal(d.Templates, []uint16{id, opt}) {
		t.Fatalf("%d records, templates %v", len(d.Raw), d.Templates)
	}
	want := []uint64{0x0a010101, 0x0a020202, 0xffffffff, 1234, uint64(start / 1e9), 1500, 0, 0xb8 >> 2, 11, 2, 0, 0, 99}
	for k, wantRev := range []uint64{99, 0} {
		var got []uint64
		for _, fv := range d.Raw[k].All {
			got = append(got, template.Unsigned(fv.Value))
		}
		want[len(want)-1] = wantRev
		end, _ := d.Raw[k].Get(157, 0)
		want[6] = template.Unsigned(end)
		if template.Time(template.DateTimeNanoseconds, end) != in.End {
			t.Errorf("flowEndNanoseconds reads %v, sent %v", template.Time(template.DateTimeNanoseconds, end), in.End)
		}
		if !cmp.Equal(got, want) {
			t.Errorf("record %d: %v, want %v", k, got, want)
		}
	}
	if v, _ := d.Raw[2].Get(82, 0); string(v) != "eth0" {
		t.Errorf("raw options record: %q", v)
	}
}

// TestWithdraw: withdrawals of one template and of all, and the templates sent again
// before the next records that use them.
func TestWithdraw(t *testing.T) {
	now := time.Unix(1767225600, 0)
	recs := testRecords(2, flow.TimeOf(now))
	b := ipfix.Builder{Domain: 3}
	d := flowtest.NewIPFIXDecoder(exporterAddr, true)
	step := func(f func() error) {
		t.Helper()
		b.Start(nil, now)
		if err := f(); err != nil {
			t.Fatal(err)
		}
		if err := d.Message(b.Finish()); err != nil {
			t.Fatal(err)
		}
	}
	step(func() error { return errors.Join(b.AddFlow(&recs[0]), b.AddFlow(&recs[1])) })
	step(func() error {
		return errors.Join(b.Withdraw(ipfix.TemplateIPv4), b.AddFlow(&recs[1]), b.AddFlow(&recs[0]))
	})
	step(func() error { return errors.Join(b.WithdrawAll(), b.AddFlow(&recs[1])) })
	if err := b.Withdraw(12345); err == nil {
		t.Error("withdrawal of an unknown template accepted")
	}
	want := []uint16{ipfix.TemplateIPv4, ipfix.TemplateIPv6, ipfix.TemplateIPv4, ipfix.TemplateIPv6}
	if !cmp.Equal(d.Templates, want) || !cmp.Equal(d.Withdrawn, []uint16{ipfix.TemplateIPv4, 2, 3}) {
		t.Errorf("templates %v, withdrawn %v", d.Templates, d.Withdrawn)
	}
	if len(d.Flows) != 5 {
		t.Errorf("%d records", len(d.Flows))
	}
}

// TestTemplates: the stream greeting defines every template, leaves the message being built
// alone, and does not advance the sequence number.
func TestTemplates(t *testing.T) {
	now := time.Unix(1767225600, 0)
	recs := testRecords(3, flow.TimeOf(now))
	b := ipfix.Builder{Domain: 5, SamplingInterval: 100}
	id, err := b.AddTemplate(0, []template.Field{{ID: 8, Length: 4}})
	if err != nil {
		t.Fatal(err)
	}
	b.Start(nil, now)
	b.AddFlow(&recs[0])
	g := b.Templates([]byte("x"), now)[1:]
	b.AddFlow(&recs[1])
	m := b.Finish()
	d := flowtest.NewIPFIXDecoder(exporterAddr, true)
	for _, msg := range [][]byte{g, m} {
		if err := d.Message(msg); err != nil {
			t.Fatal(err)
		}
	}
	// The greeting defines the sampling options template; the record goes out (again) with
	// the next data record, after its template, for the collector on the new stream.
	want := []uint16{256, 257, 258, 259, 260, id, 260, 256, 260, 257}
	if !cmp.Equal(d.Templates, want) || d.Headers[0].Sequence != 0 || d.Headers[0].Domain != 5 || len(d.Flows) != 2 {
		t.Errorf("templates %v, headers %+v, %d records", d.Templates, d.Headers, len(d.Flows))
	}
	// Many caller templates: the greeting splits into messages within MaxSize.
	b = ipfix.Builder{MaxSize: 512}
	var many []template.Field
	for i := range 100 {
		many = append(many, template.Field{ID: uint16(1000 + i), Length: 1})
	}
	for range 10 {
		if _, err := b.AddTemplate(0, many); err != nil {
			t.Fatal(err)
		}
	}
	g = b.Templates(nil, now)
	d = flowtest.NewIPFIXDecoder(exporterAddr, true)
	n := 0
	for len(g) > 0 {
		l := int(binary.BigEndian.Uint16(g[2:]))
		if l > 512 && n > 0 || l > len(g) {
			t.Fatalf("message of %d bytes", l)
		}
		if err := d.Message(g[:l]); err != nil {
			t.Fatal(err)
		}
		g, n = g[l:], n+1
	}
	if len(d.Templates) != 14 || n < 4 {
		t.Errorf("%d templates in %d messages", len(d.Templates), n)
	}
}

// TestBuilderAllocs: no allocation per message once the domains are known and the buffer
// has room, templates and sampling options included.
func TestBuilderAllocs(t *testing.T) {
	now := time.Unix(1767225600, 0)
	recs := testRecords(40, flow.TimeOf(now))
	b := ipfix.Builder{SamplingInterval: 10, TemplateRefresh: 2}
	buf := make([]byte, 0, 1500)
	dom := uint32(0)
	run := func() {
		b.Domain, dom = dom, dom^1
		b.Start(buf[:0], now)
		for i := range recs {
			if i%3 == 0 {
				if b.AddBiflow(&recs[i], &recs[i]) != nil {
					break
				}
			} else if b.AddFlow(&recs[i]) != nil {
				break
			}
		}
		buf = b.Finish()
		buf = b.Templates(buf[:0], now)
	}
	run()
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%v allocs per message", n)
	}
}

// BenchmarkBuilder encodes messages of 20 records with the default templates.
func BenchmarkBuilder(b *testing.B) {
	now := time.Unix(1767225600, 0)
	recs := testRecords(20, flow.TimeOf(now))
	for i := range recs { // one family, as one template
		recs[i].SrcAddr, recs[i].DstAddr = netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), netip.MustParseAddr("192.0.2.1")
	}
	bl := ipfix.Builder{MaxSize: 65535, TemplateRefresh: 1 << 30, TemplateInterval: time.Duration(1 << 62)}
	buf := make([]byte, 0, 4096)
	bl.Start(buf, now)
	for i := range recs {
		bl.AddFlow(&recs[i])
	}
	msg := bl.Finish()
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		bl.Start(buf[:0], now)
		for i := range recs {
			bl.AddFlow(&recs[i])
		}
		buf = bl.Finish()
	}
}

// buildBatches encodes recs into messages as build does, but handing the Builder all the
// records not yet added at once, with add (AddFlows or AddFlowsWith); it checks add's
// contract: an error exactly when fewer than all are added, flow.ErrFull when the message
// is full.
func buildBatches(t testing.TB, b *ipfix.Builder, now time.Time, recs []flow.Record, add func([]flow.Record) (int, error)) [][]byte {
	t.Helper()
	var msgs [][]byte
	for len(recs) > 0 {
		b.Start(nil, now)
		n, err := add(recs)
		switch {
		case n < 0 || n > len(recs):
			t.Fatalf("%d of %d records added", n, len(recs))
		case n < len(recs) && !errors.Is(err, flow.ErrFull):
			t.Fatalf("%d of %d records added, and the error is %v", n, len(recs), err)
		case n == len(recs) && err != nil:
			t.Fatalf("all records added, and the error is %v", err)
		case b.Len() == 0:
			t.Fatalf("record %q fits no message", recs[0].SrcAddr)
		}
		recs = recs[n:]
		msgs = append(msgs, b.Finish())
	}
	return msgs
}

// TestAddFlows: adding a batch writes the same messages, byte for byte, as adding its
// records one by one, whatever the mix of families, with the templates and the sampling
// options resent within a batch and batches that span several messages.
func TestAddFlows(t *testing.T) {
	now := time.Unix(1767225600, 0)
	alternating := testRecords(300, flow.TimeOf(now))
	runs := slices.Clone(alternating) // runs of one family of 1 to 23 records
	for i := 0; i < len(runs); {
		n := 1 + i%23
		j := min(i+n, len(runs))
		slices.SortStableFunc(runs[i:j], func(a, b flow.Record) int { return a.SrcAddr.BitLen() - b.SrcAddr.BitLen() })
		i = j
	}
	for name, recs := range map[string][]flow.Record{"alternating": alternating, "runs": runs} {
		for _, max := range []int{400, 576, 1400, 9000} {
			cfg := ipfix.Builder{MaxSize: max, SamplingInterval: 10, TemplateRefresh: 3, Domain: 5}
			one := cfg
			want := build(t, &one, now, len(recs), func(i int) error { return one.AddFlow(&recs[i]) })
			batch := cfg
			got := buildBatches(t, &batch, now, recs, batch.AddFlows)
			if len(want) < 2 {
				t.Fatalf("%s, MaxSize %d: one message", name, max)
			}
			if !cmp.Equal(got, want) {
				t.Errorf("%s, MaxSize %d: %d messages from AddFlows, %d from AddFlow, or their bytes differ", name, max, len(got), len(want))
			}
			if batch.Sequence(5) != one.Sequence(5) || batch.Sequence(5) < uint32(len(recs)) {
				t.Errorf("%s, MaxSize %d: sequence %d, one by one %d", name, max, batch.Sequence(5), one.Sequence(5))
			}
			d := flowtest.NewIPFIXDecoder(exporterAddr, false)
			for _, m := range got {
				if err := d.Message(m); err != nil {
					t.Fatal(err)
				}
			}
			if len(d.Flows) != len(recs) {
				t.Errorf("%s, MaxSize %d: %d records back", name, max, len(d.Flows))
			}
		}
	}

	var b ipfix.Builder
	b.Start(nil, now)
	if n, err := b.AddFlows(nil); n != 0 || err != nil {
		t.Errorf("no records: %d, %v", n, err)
	}
	if m := b.Finish(); len(m) != 0 {
		t.Errorf("no records, and a message of %d bytes", len(m))
	}
	b.MaxSize = 60
	b.Start(nil, now)
	if n, err := b.AddFlows(alternating[:3]); n != 0 || !errors.Is(err, flow.ErrFull) {
		t.Errorf("records larger than MaxSize: %d, %v", n, err)
	}
}

// TestAddFlowsWith: a batch of a caller template, with reduced-size, unknown,
// variable-length and reverse fields, writes what adding its records one by one does,
// and mixed with batches of the default templates in one message too.
func TestAddFlowsWith(t *testing.T) {
	now := time.Unix(1767225600, 0)
	recs := testRecords(200, flow.TimeOf(now))
	fields := []template.Field{
		{ID: 8, Length: 4}, {ID: 28, Length: 16},
		{ID: 1, Length: 4}, {ID: 2, Length: 2}, {ID: 152, Length: 8}, {ID: 151, Length: 4},
		{ID: 161, Length: 4}, {ID: 156, Length: 8}, {ID: 6, Length: 1}, {ID: 195, Length: 1},
		{ID: 32, Length: 2}, {ID: 176, Length: 1}, {ID: 10, Length: 2}, {ID: 61, Length: 1},
		{ID: 56, Length: 6}, {ID: 70, Length: 3}, {ID: 34, Length: 4},
		{ID: 82, Length: template.VarLen}, {ID: 1000, Length: 3, Enterprise: 9},
		{ID: 1, Length: 8, Enterprise: template.ReversePEN},
	}
	for _, max := range []int{400, 1400} {
		cfg := ipfix.Builder{MaxSize: max, TemplateRefresh: 4}
		id, err := cfg.AddTemplate(0, fields)
		if err != nil {
			t.Fatal(err)
		}
		one, batch := cfg, cfg
		want := build(t, &one, now, len(recs), func(i int) error { return one.AddFlowWith(id, &recs[i], nil) })
		got := buildBatches(t, &batch, now, recs, func(rs []flow.Record) (int, error) { return batch.AddFlowsWith(id, rs) })
		if len(want) < 2 || !cmp.Equal(got, want) {
			t.Errorf("MaxSize %d: %d messages from AddFlowsWith, %d from AddFlowWith, or their bytes differ", max, len(got), len(want))
		}

		// Batches of 7, alternately of the caller's template and of the default ones.
		one, batch = cfg, cfg
		want = build(t, &one, now, len(recs), func(i int) error {
			if i/7%2 == 0 {
				return one.AddFlowWith(id, &recs[i], nil)
			}
			return one.AddFlow(&recs[i])
		})
		var k int
		got = buildBatches(t, &batch, now, recs, func(rs []flow.Record) (int, error) {
			n := 0
			for n < len(rs) {
				end := min(len(rs), n+7-(k+n)%7)
				var m int
				var err error
				if (k+n)/7%2 == 0 {
					m, err = batch.AddFlowsWith(id, rs[n:end])
				} else {
					m, err = batch.AddFlows(rs[n:end])
				}
				if n += m; err != nil {
					k += n
					return n, err
				}
			}
			k += n
			return n, nil
		})
		if !cmp.Equal(got, want) {
			t.Errorf("MaxSize %d, mixed: %d messages from batches, %d one by one, or their bytes differ", max, len(got), len(want))
		}
	}

	var b ipfix.Builder
	b.Start(nil, now)
	for _, id := range []uint16{ipfix.TemplateSampling, ipfix.FirstCallerTemplate, 300} {
		if n, err := b.AddFlowsWith(id, recs[:2]); n != 0 || err == nil {
			t.Errorf("template %d: %d, %v", id, n, err)
		}
	}
}

// TestAddFlowsAllocs: a batch allocates nothing when the buffer has room.
func TestAddFlowsAllocs(t *testing.T) {
	now := time.Unix(1767225600, 0)
	recs := testRecords(40, flow.TimeOf(now))
	b := ipfix.Builder{MaxSize: 9000, SamplingInterval: 10, TemplateRefresh: 2}
	id, err := b.AddTemplate(0, []template.Field{{ID: 8, Length: 4}, {ID: 1, Length: 4}, {ID: 82, Length: template.VarLen}})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 0, 9000)
	run := func() {
		b.Start(buf[:0], now)
		if n, err := b.AddFlows(recs); n != len(recs) || err != nil {
			t.Fatalf("AddFlows: %d, %v", n, err)
		}
		if n, err := b.AddFlowsWith(id, recs); n != len(recs) || err != nil {
			t.Fatalf("AddFlowsWith: %d, %v", n, err)
		}
		buf = b.Finish()
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%v allocs per message", n)
	}
}
