package ipfix

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/template"
)

// randomRecords returns records whose numeric fields take values of every magnitude, the
// largest included (so that reduced-size fields saturate), times before and at the epoch
// among them, and addresses of both families, IPv4-mapped and absent.
func randomRecords(n int, rng *rand.Rand) []flow.Record {
	addrs := []netip.Addr{
		{}, netip.MustParseAddr("192.0.2.7"), netip.MustParseAddr("::ffff:198.51.100.9"),
		netip.MustParseAddr("2001:db8::1:2"), netip.MustParseAddr("fe80::1%eth0"),
	}
	rs := make([]flow.Record, n)
	for k := range rs {
		v := reflect.ValueOf(&rs[k]).Elem()
		for i := range v.NumField() {
			f := v.Field(i)
			switch f.Interface().(type) {
			case netip.Addr:
				f.Set(reflect.ValueOf(addrs[rng.IntN(len(addrs))]))
				continue
			case flow.MAC:
				var m flow.MAC
				for j := range m {
					m[j] = byte(rng.Uint32())
				}
				f.Set(reflect.ValueOf(m))
				continue
			}
			if f.Kind() == reflect.String {
				continue // interface names: no element of the plan's
			}
			bits := uint(f.Type().Bits())
			x := rng.Uint64() >> rng.UintN(64) // every magnitude
			if rng.IntN(8) == 0 {
				x = ^uint64(0) // the largest
			}
			switch f.Kind() {
			case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				f.SetUint(x & (^uint64(0) >> (64 - bits)))
			case reflect.Int64:
				f.SetInt(int64(x) >> rng.UintN(2)) // negative ones too
			}
		}
		if k%3 == 0 {
			rs[k].IPProto = []uint8{1, 58}[k%2] // ICMP: the type and code come from DstPort
		}
		if k%5 == 0 {
			rs[k].End = rs[k].Start + flow.Time(rng.Int64N(1e12))
		}
	}
	return rs
}

// TestSpecialisedStores encodes every element the plan fills, at every length it may
// have, with the specialised stores and with the generic path, over records that reach
// every corner of the values, and wants the same bytes: the specialised stores are only a
// faster way to write what the generic path does.
func TestSpecialisedStores(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	rs := randomRecords(97, rng)
	revs := randomRecords(len(rs), rng)
	ids := make([]uint16, 0, len(encMappings))
	for id := range encMappings {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	specialisedSeen := map[encCode]bool{}
	for _, id := range ids {
		m := encMappings[id]
		for n := m.min; n <= m.max; n++ {
			// Around the element, fields it must not disturb: an unknown enterprise one and
			// a variable-length one (zeros), and the element again for the reverse record.
			fields := []template.Field{
				{ID: 1, Length: 3, Enterprise: 9},
				{ID: id, Length: n},
				{ID: 82, Length: template.VarLen},
				{ID: id, Length: n, Enterprise: template.ReversePEN},
			}
			fast, err := compilePlan(fields, false)
			if err != nil {
				t.Fatalf("element %d length %d: %v", id, n, err)
			}
			slow, err := compilePlan(fields, true)
			if err != nil {
				t.Fatal(err)
			}
			specialisedSeen[fast.steps[0].code] = true
			for _, rev := range [][]flow.Record{nil, revs} {
				a := bytes.Repeat([]byte{0xee}, len(rs)*fast.recLen)
				b := bytes.Repeat([]byte{0xee}, len(rs)*slow.recLen)
				encodeSet(a, &fast, rs, rev)
				encodeSet(b, &slow, rs, rev)
				if !bytes.Equal(a, b) {
					for i := range rs {
						ra, rb := a[i*fast.recLen:][:fast.recLen], b[i*slow.recLen:][:slow.recLen]
						if !bytes.Equal(ra, rb) {
							t.Fatalf("element %d length %d (code %d), reverse %v, record %d: specialised % x, generic % x",
								id, n, fast.steps[0].code, rev != nil, i, ra, rb)
						}
					}
				}
				for i := range rs {
					r := a[i*fast.recLen:]
					if !bytes.Equal(r[:3], []byte{0, 0, 0}) || r[3+n] != 0 {
						t.Fatalf("element %d length %d: the unfilled fields hold % x and %x", id, n, r[:3], r[3+n])
					}
					if rev == nil && !bytes.Equal(r[4+n:][:n], make([]byte, n)) {
						t.Fatalf("element %d length %d: no reverse record, and the reverse field holds % x", id, n, r[4+n:][:n])
					}
				}
			}
		}
	}
	// Every specialised store was compared (the addresses have only theirs: see below).
	for c := cAddr16 + 1; c <= cMPLS; c++ {
		if !specialisedSeen[c] {
			t.Errorf("store %d was not exercised", c)
		}
	}
}

// TestAddressStores: an IPv4 field takes the IPv4 address or the IPv4 of a mapped one,
// and 0.0.0.0 for anything else; an IPv6 field the address, an IPv4 one mapped, and ::
// for none.
func TestAddressStores(t *testing.T) {
	rs := randomRecords(50, rand.New(rand.NewPCG(3, 4)))
	for _, f := range []struct {
		id  uint16
		get func(*flow.Record) netip.Addr
	}{
		{8, func(r *flow.Record) netip.Addr { return r.SrcAddr }},
		{12, func(r *flow.Record) netip.Addr { return r.DstAddr }},
		{15, func(r *flow.Record) netip.Addr { return r.NextHop }},
		{18, func(r *flow.Record) netip.Addr { return r.BGPNextHop }},
	} {
		p, err := compilePlan([]template.Field{{ID: f.id, Length: 4}, {ID: v6IDs[f.id], Length: 16}}, false)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]byte, len(rs)*p.recLen)
		encodeSet(out, &p, rs, nil)
		for i := range rs {
			a := f.get(&rs[i])
			var want4 [4]byte
			if u := a.Unmap(); u.Is4() {
				want4 = u.As4()
			}
			var want16 [16]byte
			if a.IsValid() {
				want16 = a.As16()
			}
			rec := out[i*p.recLen:][:p.recLen]
			if !bytes.Equal(rec[:4], want4[:]) || !bytes.Equal(rec[4:], want16[:]) {
				t.Errorf("element %d, %v: % x, want % x and % x", f.id, a, rec, want4, want16)
			}
		}
	}
}
