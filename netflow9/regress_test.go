package netflow9_test

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/corpus"
	"github.com/flowkit/flow/internal/flowtest"
	"github.com/flowkit/flow/netflow9"
	"github.com/flowkit/flow/template"
	"github.com/google/go-cmp/cmp"
)

// packet builds a v9 packet from FlowSets given as (ID, body) pairs.
func packet(sets ...[]byte) []byte {
	b := make([]byte, netflow9.HeaderLen)
	binary.BigEndian.PutUint16(b, 9)
	binary.BigEndian.PutUint32(b[8:], 1700000000)
	for _, s := range sets {
		b = append(b, s...)
	}
	return b
}

// set returns a FlowSet of the given ID around body; length is body's plus 4 unless given.
func set(id uint16, body []byte, length ...int) []byte {
	n := len(body) + 4
	if len(length) > 0 {
		n = length[0]
	}
	return append(binary.BigEndian.AppendUint16(binary.BigEndian.AppendUint16(nil, id), uint16(n)), body...)
}

func u16s(v ...uint16) []byte {
	var b []byte
	for _, x := range v {
		b = binary.BigEndian.AppendUint16(b, x)
	}
	return b
}

// decodeAll decodes a packet and returns its records and error.
func decodeAll(p *netflow9.Parser, pkt []byte) (int, error) {
	if _, err := p.Start(pkt, exporter); err != nil {
		return 0, err
	}
	n := 0
	var r flow.Record
	for p.Next() {
		p.Flow(&r)
		n++
	}
	return n, p.Err()
}

// TestRegressionZeroFieldTemplate: goflow2 v2.2.6 loops forever on a template record with a
// field count of 0. Here it is a withdrawal: the template goes away, the packet ends.
func TestRegressionZeroFieldTemplate(t *testing.T) {
	var p netflow9.Parser
	def := set(0, u16s(300, 1, 8, 4))
	data := set(300, []byte{10, 0, 0, 1})
	if n, err := decodeAll(&p, packet(def, data)); n != 1 || err != nil {
		t.Fatalf("%d records, %v", n, err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Template 300 with zero fields, then a second one, then data for 300.
		n, err := decodeAll(&p, packet(set(0, u16s(300, 0, 301, 0)), data))
		if n != 0 || err != nil {
			t.Errorf("after the withdrawal: %d records, %v", n, err)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a zero-field template makes the parser loop")
	}
	if s := p.Cache.Stats(); s.Withdrawn != 1 || s.Templates != 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestRegressionFieldCountLargerThanSet: a template that announces more fields than its
// FlowSet holds is refused with ErrMalformed, and nothing is read past the FlowSet.
func TestRegressionFieldCountLargerThanSet(t *testing.T) {
	var p netflow9.Parser
	bad := set(0, u16s(300, 1000, 8, 4))
	good := set(0, u16s(301, 1, 8, 4))
	n, err := decodeAll(&p, packet(bad, good, set(301, []byte{1, 2, 3, 4})))
	if !errors.Is(err, flow.ErrMalformed) || n != 1 {
		t.Fatalf("%d records, err %v; want the good template's record and ErrMalformed", n, err)
	}
	var pe *flow.ParseError
	if !errors.As(err, &pe) || pe.Offset != 24 {
		t.Errorf("err %v does not point at the template record (offset 24)", err)
	}
}

// TestRegressionDataSetNotMultiple: a data FlowSet whose length is not a multiple of the
// record length yields its whole records; the rest is padding.
func TestRegressionDataSetNotMultiple(t *testing.T) {
	var p netflow9.Parser
	def := set(0, u16s(300, 2, 8, 4, 4, 1)) // 5-byte records
	data := set(300, make([]byte, 5*3+4))   // 3 records and 4 stray bytes
	n, err := decodeAll(&p, packet(def, data, set(300, make([]byte, 5))))
	if n != 4 || err != nil {
		t.Errorf("%d records, %v; want 3 + 1", n, err)
	}
}

// TestRegressionTemplateFlood: an exporter that defines ever new templates stays within
// the per-session bound (the oldest go), and a flood across sessions is refused at the
// total bound; neither grows the cache beyond its bounds.
func TestRegressionTemplateFlood(t *testing.T) {
	c := template.NewCache(template.Config{MaxTemplates: 100, MaxTemplatesPerSession: 10, MaxFields: 8})
	p := netflow9.Parser{Cache: c}
	for id := uint16(256); id < 256+1000; id++ {
		pkt := packet(set(0, u16s(id, 1, 8, 4)))
		binary.BigEndian.PutUint32(pkt[16:], uint32(id%3)) // three source IDs
		if _, err := decodeAll(&p, pkt); err != nil {
			t.Fatal(err)
		}
	}
	if s := c.Stats(); s.Templates > 10 || s.Evicted == 0 {
		t.Errorf("one session: %+v", s)
	}
	refused := 0
	for i := 0; i < 1000; i++ {
		pkt := packet(set(0, u16s(256, 1, 8, 4)))
		q := netflow9.Parser{Cache: c}
		a := exporter.Addr().As4()
		a[2], a[3] = byte(i>>8), byte(i)
		if _, err := q.Start(pkt, netipAddrPort(a)); err != nil {
			t.Fatal(err)
		}
		for q.Next() {
		}
		if errors.Is(q.Err(), flow.ErrLimit) {
			refused++
		}
	}
	s := c.Stats()
	if s.Templates > 100 || refused == 0 || s.Refused == 0 {
		t.Errorf("flood over sessions: %d refused, stats %+v", refused, s)
	}
	// A template with more fields than MaxFields is refused.
	_, err := decodeAll(&p, packet(set(0, append(u16s(400, 9), make([]byte, 36)...))))
	if !errors.Is(err, flow.ErrLimit) {
		t.Errorf("9 fields over a bound of 8: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	tests := []struct {
		name   string
		in     []byte
		want   error
		offset int
	}{
		{"empty", nil, flow.ErrTruncated, 0},
		{"short header", packet()[:19], flow.ErrTruncated, 0},
		{"version 5", append([]byte{0, 5}, packet()[2:]...), flow.ErrVersion, 0},
		{"set length 2", packet(set(0, []byte{1, 2}, 2)), flow.ErrMalformed, 20},
		{"set past the end", packet(set(0, u16s(300, 1, 8, 4), 100)), flow.ErrTruncated, 20},
		{"template ID 5", packet(set(0, u16s(5, 1, 8, 4))), flow.ErrMalformed, 24},
		{"options scope length 3", packet(set(1, u16s(300, 3, 4, 1, 4, 0))), flow.ErrMalformed, 24},
		{"options fields past the set", packet(set(1, u16s(300, 4, 40, 1, 4))), flow.ErrMalformed, 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p netflow9.Parser
			_, err := decodeAll(&p, tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var pe *flow.ParseError
			if !errors.As(err, &pe) || pe.Offset != tt.offset || pe.Protocol != flow.NetFlow9 {
				t.Errorf("err = %#v, want a ParseError at offset %d", err, tt.offset)
			}
			// The parser reads a good packet right afterwards.
			if n, err := decodeAll(&p, packet(set(0, u16s(300, 1, 8, 4)), set(300, []byte{1, 2, 3, 4}))); n != 1 || err != nil {
				t.Errorf("good packet after: %d records, %v", n, err)
			}
		})
	}
}

// TestHeldSetsExpire: a data set whose template never comes is dropped after HoldTime and
// counted; one whose template comes in time is decoded with its own packet's times.
func TestHeldSetsExpire(t *testing.T) {
	now := time.Unix(1700000000, 0)
	c := template.NewCache(template.Config{HoldTime: 5 * time.Second, Now: func() time.Time { return now }})
	p := netflow9.Parser{Cache: c}
	data := packet(set(0x1234, []byte{10, 0, 0, 1}))
	binary.BigEndian.PutUint32(data[4:], 5000) // uptime 5 s
	if n, err := decodeAll(&p, data); n != 0 || err != nil || p.Held() != 1 {
		t.Fatalf("%d records, %v, %d held", n, err, p.Held())
	}
	now = now.Add(6 * time.Second)
	if s := c.Stats(); s.HeldExpired != 1 || s.Held != 0 {
		t.Errorf("after HoldTime: %+v", s)
	}
	decodeAll(&p, data)
	now = now.Add(time.Second)
	tpl := packet(set(0, u16s(0x1234, 2, 8, 4, 22, 0)))
	binary.BigEndian.PutUint32(tpl[8:], 1700000009)
	if _, err := p.Start(tpl, exporter); err != nil {
		t.Fatal(err)
	}
	if !p.Next() {
		t.Fatal("the held set is not released")
	}
	var r flow.Record
	p.Flow(&r)
	if r.SrcAddr.String() != "10.0.0.1" || p.Header().UnixSecs != 1700000000 || p.Header().SysUptime != 5000 || p.Next() {
		t.Errorf("released record %v, header %+v", r.SrcAddr, p.Header())
	}
	if s := c.Stats(); s.Released != 1 || s.HeldExpired != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestDecodeAllocatesNothing(t *testing.T) {
	var p netflow9.Parser
	tpl := corpus.Datagrams(t, "goflow2/TestDecodeNetFlowV9_template.dat")[0]
	data := corpus.Datagrams(t, "goflow2/TestDecodeNetFlowV9_data.dat")[0]
	decodeAll(&p, tpl)
	out := make([]flow.Record, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		decodeAll(&p, tpl) // a template resent: refreshed, not recompiled
		if n, err := decodeAll(&p, data); n != 21 || err != nil {
			t.Fatal(n, err)
		}
		p.Start(data, exporter)
		out = p.AppendFlows(out[:0])
	})
	if allocs != 0 {
		t.Errorf("decoding allocates %v times per packet, want 0", allocs)
	}
}

// TestFlowOverwritesEveryField decodes into a record full of garbage: no field may keep it.
func TestFlowOverwritesEveryField(t *testing.T) {
	var p netflow9.Parser
	decodeAll(&p, corpus.Datagrams(t, "goflow2/TestDecodeNetFlowV9_template.dat")[0])
	p.Start(corpus.Datagrams(t, "goflow2/TestDecodeNetFlowV9_data.dat")[0], exporter)
	p.Next()
	var fresh flow.Record
	p.Flow(&fresh)
	dirty := flowtest.Garbage()
	p.Flow(&dirty)
	if diff := cmp.Diff(fresh, dirty, flowtest.CmpAddr); diff != "" {
		t.Errorf("fields kept from before (-fresh +reused):\n%s", diff)
	}
}

// TestAppendFlows checks that AppendFlows gives what Next and Flow give, skipping options:
// on MAC addresses, and on records that name their sampler (two samplers in one set) or
// carry their own interval.
func TestAppendFlows(t *testing.T) {
	for _, files := range [][]string{
		{"logstash-codec-netflow/netflow9_test_macaddr_tpl.dat", "logstash-codec-netflow/netflow9_test_macaddr_data.dat"},
		{"akvorado/netflow/multiplesamplingrates-options-template.pcap", "akvorado/netflow/multiplesamplingrates-options-data.pcap",
			"akvorado/netflow/multiplesamplingrates-template.pcap", "akvorado/netflow/multiplesamplingrates-data.pcap"},
		{"akvorado/netflow/samplingrate-template.pcap", "akvorado/netflow/samplingrate-data.pcap"},
	} {
		var a, b netflow9.Parser
		want := flows(decodeFiles(t, &a, files...))
		var got []flow.Record
		for _, f := range files {
			for _, d := range corpus.Datagrams(t, f) {
				b.Start(d, exporter)
				got = b.AppendFlows(got)
			}
		}
		var wantRecs []flow.Record
		for _, e := range want {
			wantRecs = append(wantRecs, e.Record)
		}
		if len(got) == 0 {
			t.Errorf("%s: no records", files[0])
		}
		if diff := cmp.Diff(wantRecs, got, flowtest.CmpAddr); diff != "" {
			t.Errorf("%s: AppendFlows (-Next/Flow +AppendFlows):\n%s", files[0], diff)
		}
	}
}

func netipAddrPort(a [4]byte) netip.AddrPort { return netip.AddrPortFrom(netip.AddrFrom4(a), 2055) }

// TestSharedCacheConcurrent runs parsers on several goroutines over one cache, learning,
// looking up, holding and releasing at once (run with -race).
func TestSharedCacheConcurrent(t *testing.T) {
	c := template.NewCache(template.Config{MaxTemplatesPerSession: 8})
	tpl := corpus.Datagrams(t, "goflow2/TestDecodeNetFlowV9_template.dat")[0]
	data := corpus.Datagrams(t, "goflow2/TestDecodeNetFlowV9_data.dat")[0]
	done := make(chan int)
	for g := 0; g < 4; g++ {
		go func() {
			p := netflow9.Parser{Cache: c}
			n := 0
			for i := 0; i < 200; i++ {
				pkt := tpl
				if i%3 != 0 {
					pkt = data
				}
				k, _ := decodeAll(&p, pkt)
				n += k
			}
			done <- n
		}()
	}
	total := 0
	for g := 0; g < 4; g++ {
		total += <-done
	}
	s := c.Stats()
	if s.Templates != 1 || total != 4*133*21 { // each goroutine learns the template before its data
		t.Errorf("%d records, stats %+v", total, s)
	}
}

// TestRegressionHeaderNotBeforeRecords: a record that ends after the time Start was given
// (the exporter adds flows to an open packet as they expire, and the header has whole
// seconds) moves the header's time forward at Finish. Collectors that count back from the
// header modulo 2^32, as RFC 3954 says (tshark, pmacct), read the flow 49.7 days old
// otherwise; found by the interop tests.
func TestRegressionHeaderNotBeforeRecords(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := netflow9.Builder{Boot: t0}
	end := t0.Add(10*time.Second + 1500*time.Millisecond)
	b.Start(nil, t0.Add(10*time.Second+200*time.Millisecond))
	r := flow.Record{SrcAddr: netip.MustParseAddr("10.0.0.1"), DstAddr: netip.MustParseAddr("10.0.0.2"),
		Packets: 1, Bytes: 40, Start: flow.TimeOf(t0.Add(9 * time.Second)), End: flow.TimeOf(end)}
	if err := b.AddFlow(&r); err != nil {
		t.Fatal(err)
	}
	pkt := b.Finish()
	var p netflow9.Parser
	h, err := p.Start(pkt, netip.MustParseAddrPort("192.0.2.1:2055"))
	if err != nil || !p.Next() {
		t.Fatal(err, p.Err())
	}
	if h.UnixSecs != uint32(t0.Unix())+12 {
		t.Errorf("header time %d s after boot, want 12 (the whole second after the flow's end)", h.UnixSecs-uint32(t0.Unix()))
	}
	last := binary.BigEndian.Uint32(p.Record().Bytes[36:]) // LAST_SWITCHED in the IPv4 template
	back := h.SysUptime - last                             // unsigned, as the RFC reads it
	if got := time.Unix(int64(h.UnixSecs), 0).Add(-time.Duration(back) * time.Millisecond); !got.Equal(end) {
		t.Errorf("end read as %v, want %v", got, end)
	}
	var got flow.Record
	p.Flow(&got)
	if got.End != r.End || got.Start != r.Start {
		t.Errorf("our parser reads %v–%v, want %v–%v", got.Start, got.End, r.Start, r.End)
	}
}

// TestRegressionICMPType: ICMP type and code go in ICMP_TYPE (32), where RFC 3954 puts
// them and nfdump reads them, as well as in L4_DST_PORT as NetFlow v5 had them; a TCP
// record has 0 there. Found by the interop tests (nfdump showed our ICMP flows as 0.0).
func TestRegressionICMPType(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := netflow9.Builder{Boot: t0}
	b.Start(nil, t0.Add(time.Minute))
	for _, r := range []flow.Record{
		{SrcAddr: netip.MustParseAddr("10.0.0.1"), DstAddr: netip.MustParseAddr("10.0.0.2"), IPProto: 1, DstPort: 8 << 8, Packets: 1},
		{SrcAddr: netip.MustParseAddr("fd00::1"), DstAddr: netip.MustParseAddr("fd00::2"), IPProto: 58, DstPort: 129 << 8, Packets: 1},
		{SrcAddr: netip.MustParseAddr("10.0.0.1"), DstAddr: netip.MustParseAddr("10.0.0.2"), IPProto: 6, SrcPort: 1234, DstPort: 443, Packets: 1},
	} {
		if err := b.AddFlow(&r); err != nil {
			t.Fatal(err)
		}
	}
	var p netflow9.Parser
	if _, err := p.Start(b.Finish(), netip.MustParseAddrPort("192.0.2.1:2055")); err != nil {
		t.Fatal(err)
	}
	var got [][2]uint16
	for p.Next() {
		icmp, ok1 := p.Record().Get(32, 0)
		port, ok2 := p.Record().Get(11, 0)
		if !ok1 || !ok2 {
			t.Fatal("ICMP_TYPE or L4_DST_PORT missing from the template")
		}
		got = append(got, [2]uint16{binary.BigEndian.Uint16(icmp), binary.BigEndian.Uint16(port)})
	}
	if want := [][2]uint16{{8 << 8, 8 << 8}, {129 << 8, 129 << 8}, {0, 443}}; !slices.Equal(got, want) {
		t.Errorf("ICMP_TYPE and L4_DST_PORT %v, want %v", got, want)
	}
}
