package fuzz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/netflow9"
	"github.com/flowkit/flow/template"
)

var v9From = netip.MustParseAddrPort("192.0.2.1:2055")

// v9Cache bounds the fuzzed parsers tightly, so that floods reach the bounds fast.
func v9Cache() *template.Cache {
	return template.NewCache(template.Config{MaxTemplates: 64, MaxTemplatesPerSession: 16, MaxFields: 64,
		HoldSets: 8, HoldBytes: 8192, MaxOptionsEntries: 32})
}

func FuzzNetFlow9(f *testing.F) {
	addSeeds(f, "v9")
	goodTpl, goodData := goodNetFlow9(f)
	p := netflow9.Parser{Cache: v9Cache()}
	f.Fuzz(func(t *testing.T, b []byte) {
		checkNetFlow9(t, &p, b)
		// Whatever came before, the parser reads a good template and data right.
		decodeNetFlow9(&p, goodTpl)
		if n, err := decodeNetFlow9(&p, goodData); err != nil || n != 21 {
			t.Fatalf("good packet after this input: %d records, %v", n, err)
		}
		checkCacheBounds(t, p.Cache)
	})
}

// FuzzTemplateCache feeds a sequence of packets, cut from one input at 0xfe 0xfe markers,
// to parsers on one cache from a few exporters: templates, redefinitions, withdrawals, data
// before templates, in any order. The cache must stay within its bounds throughout.
func FuzzTemplateCache(f *testing.F) {
	seeds := seedDatagrams(f, "v9")
	for i := 0; i+1 < len(seeds); i++ {
		f.Add(append(append(bytes.Clone(seeds[i]), 0xfe, 0xfe), seeds[i+1]...))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c := v9Cache()
		ps := [3]netflow9.Parser{{Cache: c}, {Cache: c}, {Cache: c}}
		for i, pkt := range bytes.Split(b, []byte{0xfe, 0xfe}) {
			from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i % 2)}), 2055)
			p := &ps[i%3]
			if _, err := p.Start(pkt, from); err != nil {
				checkSentinel(t, err)
				continue
			}
			var r flow.Record
			for p.Next() {
				p.Flow(&r)
				for range p.Record().All {
				}
			}
			if err := p.Err(); err != nil {
				checkSentinel(t, err)
			}
			checkCacheBounds(t, c)
		}
	})
}

// TestNetFlow9Allocs measures the allocations of 20,000 mutated packets.
func TestNetFlow9Allocs(t *testing.T) {
	p := netflow9.Parser{Cache: v9Cache()}
	mutate(seedDatagrams(t, "v9"), 20000, func(b []byte) { checkNetFlow9(t, &p, b) })
	checkCacheBounds(t, p.Cache)
}

func checkCacheBounds(t *testing.T, c *template.Cache) {
	t.Helper()
	s, cfg := c.Stats(), c.Config()
	if s.Templates > cfg.MaxTemplates || s.Held > cfg.HoldSets || s.HeldBytes > cfg.HoldBytes {
		t.Fatalf("cache beyond its bounds: %+v", s)
	}
}

// checkNetFlow9 decodes b and checks the properties every input must have. Decoding twice
// in a row must allocate nothing the second time beyond an error, once templates are learnt.
func checkNetFlow9(t *testing.T, p *netflow9.Parser, b []byte) {
	t.Helper()
	n, err := decodeNetFlow9(p, b)
	if err != nil {
		checkSentinel(t, err)
	}
	// Every record takes at least a byte: of this packet, or of a set an earlier packet
	// left waiting in the cache, which this one's templates released.
	if max := len(b) + p.Cache.Config().HoldBytes; n > max {
		t.Errorf("%d records from %d bytes and at most %d held", n, len(b), p.Cache.Config().HoldBytes)
	}
	// AppendFlows decodes a data set at once; it must give what Next and Flow give.
	if !fuzzing() || n > 0 {
		// Only from one cache state: a packet that still changes the cache when read again
		// (a template replaced, options changed, sets held) gives its second reading
		// another state than its first, and the two readings cannot be compared.
		before := p.Cache.Stats()
		var one []flow.Record
		if _, err := p.Start(b, v9From); err == nil {
			for p.Next() {
				if !p.Options() {
					var r flow.Record
					p.Flow(&r)
					one = append(one, r)
				}
			}
		}
		same := p.Cache.Stats() == before
		var all []flow.Record
		if _, err := p.Start(b, v9From); err == nil {
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
	if len(b) >= netflow9.HeaderLen && binary.BigEndian.Uint16(b) == netflow9.Version && !fuzzing() {
		// Learning a template or a name allocates: measure only a decode that learns nothing.
		before := p.Cache.Stats()
		decodeNetFlow9(p, b)
		if after := p.Cache.Stats(); after.Learned != before.Learned || after.Replaced != before.Replaced ||
			after.OptionsChanged != before.OptionsChanged {
			return
		}
		limit := 0.0
		if err != nil {
			limit = errorAllocs
		}
		checkAllocs(t, limit, "decoding a packet again", func() { decodeNetFlow9(p, b) })
	}
}

// decodeNetFlow9 decodes every record of b into a flow.Record and returns how many.
func decodeNetFlow9(p *netflow9.Parser, b []byte) (int, error) {
	if _, err := p.Start(b, v9From); err != nil {
		return 0, err
	}
	var r flow.Record
	n := 0
	for p.Next() {
		p.Flow(&r)
		if r.Protocol != flow.NetFlow9 {
			panic("record without protocol")
		}
		n++
	}
	return n, p.Err()
}

func goodNetFlow9(tb testing.TB) (tpl, data []byte) {
	return datagramsOf(tb, "goflow2/TestDecodeNetFlowV9_template.dat")[0], datagramsOf(tb, "goflow2/TestDecodeNetFlowV9_data.dat")[0]
}

// FuzzNetFlow9RoundTrip decodes, re-encodes every flow record with the Builder, decodes
// again, and requires the same records (what the Builder's templates carry).
func FuzzNetFlow9RoundTrip(f *testing.F) {
	addSeeds(f, "v9")
	tpl, _ := goodNetFlow9(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		p := netflow9.Parser{Cache: v9Cache()}
		decodeNetFlow9(&p, tpl)
		h, err := p.Start(b, v9From)
		if err != nil {
			return
		}
		first := p.AppendFlows(nil)
		now := h.ExportTime().AsTime()
		enc := netflow9.Builder{SourceID: h.SourceID, Boot: now.Add(-time.Hour), MaxSize: 1400}
		for i := range first {
			// What v9 carries exactly: times as whole milliseconds of uptime within 24 days
			// of the export, sampling and names through options (not sent here).
			first[i].Start, first[i].End = clampTime(first[i].Start, now), clampTime(first[i].End, now)
			first[i].SamplingInterval, first[i].InIfName, first[i].OutIfName = 0, "", ""
			first[i].MPLSLabel &= 0xfffff
			if first[i].Direction == flow.DirectionUnknown {
				first[i].Direction = flow.DirectionUnknown
			}
		}
		var second []flow.Record
		q := netflow9.Parser{Cache: v9Cache()}
		for i := 0; i < len(first); {
			enc.Start(nil, now)
			added := 0
			for ; i < len(first); i++ {
				if err := enc.AddFlow(&first[i]); errors.Is(err, flow.ErrFull) {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				added++
			}
			if added == 0 {
				t.Fatal("a record does not fit an empty packet")
			}
			if _, err := q.Start(enc.Finish(), v9From); err != nil {
				t.Fatal(err)
			}
			second = q.AppendFlows(second)
			if q.Err() != nil {
				t.Fatal(q.Err())
			}
		}
		if len(first) != len(second) {
			t.Fatalf("%d records, then %d", len(first), len(second))
		}
		for i := range first {
			a, b := first[i], second[i]
			a.Domain, b.Domain = 0, 0
			normalize(&a)
			normalize(&b)
			if a != b {
				t.Fatalf("record %d:\n %+v\n %+v", i, a, b)
			}
		}
	})
}

// clampTime keeps a time to what the Builder can write: whole milliseconds, within 12
// days before or after now. The Builder moves a packet's header forward to its latest
// record time, and the parser reads ages up to 24.8 days (signed 32-bit milliseconds):
// a packet's times must lie within 24 days of each other.
func clampTime(t flow.Time, now time.Time) flow.Time {
	n := flow.TimeOf(now)
	const span = flow.Time(12 * 24 * time.Hour)
	// 0 (not reported) is written as the export time; near 1970 it is within the span.
	if t == 0 || t < n-span || t > n+span {
		return n
	}
	return t / 1e6 * 1e6
}

// normalize maps what the Builder writes in another form: absent next hops become zero
// addresses, addresses of mixed families go out as IPv6.
func normalize(r *flow.Record) {
	v6 := !r.SrcAddr.Unmap().Is4() || !r.DstAddr.Unmap().Is4()
	for _, a := range []*netip.Addr{&r.SrcAddr, &r.DstAddr, &r.NextHop, &r.BGPNextHop} {
		switch {
		case !a.IsValid() && v6:
			*a = netip.IPv6Unspecified()
		case !a.IsValid():
			*a = netip.IPv4Unspecified()
		case v6:
			*a = netip.AddrFrom16(a.As16())
		default:
			*a = a.Unmap()
		}
	}
	if r.Start == 0 {
		r.Start = r.End
	}
	if r.End == 0 {
		r.End = r.Start
	}
}
