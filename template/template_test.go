package template_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/template"
)

func TestRegistry(t *testing.T) {
	tests := []struct {
		id         uint16
		enterprise uint32
		name       string
		typ        template.DataType
	}{
		{1, 0, "octetDeltaCount", template.Unsigned64},
		{8, 0, "sourceIPv4Address", template.IPv4Address},
		{152, 0, "flowStartMilliseconds", template.DateTimeMilliseconds},
		{291, 0, "basicList", template.BasicList},
		{1, template.ReversePEN, "reverseOctetDeltaCount", template.Unsigned64},
	}
	for _, tt := range tests {
		e, ok := template.Lookup(tt.id, tt.enterprise)
		if !ok || e.Name != tt.name || e.Type != tt.typ {
			t.Errorf("Lookup(%d, %d) = %+v, %v", tt.id, tt.enterprise, e, ok)
		}
	}
	if e, ok := template.LookupV9(40000); !ok || e.Name != "NF_F_USERNAME" || e.Type != template.String {
		t.Errorf("v9 40000: %+v", e)
	}
	if _, ok := template.Lookup(40000, 0); ok {
		t.Error("40000 is not an IANA element")
	}
	if template.V9ScopeName(2) != "Interface" {
		t.Error("v9 scope 2")
	}
}

func TestValues(t *testing.T) {
	if template.Unsigned([]byte{1, 2, 3}) != 0x010203 || template.Signed([]byte{0xff, 0xfe}) != -2 || template.Signed([]byte{0x7f}) != 127 {
		t.Error("reduced-size integers")
	}
	if template.Time(template.DateTimeMicroseconds, []byte{0x83, 0xaa, 0x7e, 0x80, 0x80, 0, 0, 0}) != flow.Time(500_000_000) {
		t.Error("NTP time")
	}
	cases := map[string]string{
		string(template.AppendText(nil, template.String, []byte("Gi0\x00\x00"))):      "Gi0",
		string(template.AppendText(nil, template.IPv6Address, make([]byte, 16))):      "::",
		string(template.AppendText(nil, template.Boolean, []byte{2})):                 "false",
		string(template.AppendText(nil, template.OctetArray, []byte{0xde, 0xad})):     "dead",
		string(template.AppendText(nil, template.Signed32, []byte{0xff, 0xff, 0xff})): "-1",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("AppendText = %q, want %q", got, want)
		}
	}
}

// TestVariableLength decodes records with variable-length fields in both prefix forms.
func TestVariableLength(t *testing.T) {
	tp := template.New(flow.IPFIX, 300, template.Data, 0, []template.Field{
		{ID: 8, Length: 4}, {ID: 82, Length: template.VarLen}, {ID: 1, Length: 3}, {ID: 96, Length: template.VarLen},
	})
	long := strings.Repeat("x", 300)
	rec := append([]byte{10, 0, 0, 1, 3, 'G', 'i', '0', 0, 1, 0, 255, 1, 44}, long...)
	n, ok := tp.Next(rec)
	if !ok || n != len(rec) {
		t.Fatalf("Next = %d, %v; want %d", n, ok, len(rec))
	}
	if _, ok := tp.Next(rec[:len(rec)-1]); ok {
		t.Error("a record cut short is measured whole")
	}
	var r flow.Record
	var c template.Context
	tp.Fill(&r, rec, &c)
	if r.SrcAddr != netip.MustParseAddr("10.0.0.1") || r.Bytes != 256 {
		t.Errorf("record %+v", r)
	}
	v, _ := template.Record{Template: tp, Bytes: rec}.Get(96, 0)
	if string(v) != long {
		t.Errorf("long field %d bytes", len(v))
	}
	if allocs := testing.AllocsPerRun(100, func() { tp.Fill(&r, rec, &c) }); allocs != 0 {
		t.Errorf("Fill allocates %v", allocs)
	}
}

func TestCacheExpiryAndReplace(t *testing.T) {
	now := time.Unix(1700000000, 0)
	c := template.NewCache(template.Config{Lifetime: time.Minute, Now: func() time.Time { return now }})
	k := template.Key{Session: template.Session{Protocol: flow.IPFIX}, Domain: 1, ID: 256}
	f1 := []template.Field{{ID: 8, Length: 4}}
	a, _ := c.Learn(k, template.Data, 0, f1)
	if b, _ := c.Learn(k, template.Data, 0, f1); b != a {
		t.Error("an identical template is recompiled")
	}
	if b, _ := c.Learn(k, template.Data, 0, []template.Field{{ID: 12, Length: 4}}); b == a || c.Lookup(k) != b {
		t.Error("a redefinition does not replace")
	}
	now = now.Add(2 * time.Minute)
	if c.Lookup(k) != nil {
		t.Error("an expired template is still found")
	}
	stream := k
	stream.Stream = true
	c.Learn(stream, template.Data, 0, f1)
	now = now.Add(time.Hour)
	if c.Lookup(stream) == nil {
		t.Error("a TCP template expired")
	}
	if s := c.Stats(); s.Expired != 1 || s.Replaced != 1 || s.Templates != 1 {
		t.Errorf("stats %+v", s)
	}
}

// TestHoldRing fills the ring past its bytes and count: the oldest sets go, counted.
func TestHoldRing(t *testing.T) {
	c := template.NewCache(template.Config{HoldSets: 4, HoldBytes: 100})
	k := template.Key{Session: template.Session{Protocol: flow.NetFlow9}, ID: 300}
	for i := 0; i < 10; i++ {
		k.ID = uint16(300 + i%3)
		if !c.Hold(k, []byte{byte(i)}, make([]byte, 29)) {
			t.Fatal("not held")
		}
	}
	if c.Hold(k, nil, make([]byte, 101)) {
		t.Error("a set larger than the ring is held")
	}
	s := c.Stats()
	if s.Held != 3 || s.HeldBytes != 90 || s.HeldDropped != 8 {
		t.Errorf("stats %+v", s)
	}
	k.ID = 300 // sets 9 (the only one of 300 left)
	out := c.Release(k, nil)
	if len(out) != 4+30 || out[4] != 9 {
		t.Errorf("released % x", out)
	}
}

// TestVariableLengthLast decodes records whose variable-length fields all follow the
// mapped ones (read in place) and records that have one before a mapped field (gathered),
// one by one and as a set, to the same values.
func TestVariableLengthLast(t *testing.T) {
	last := template.New(flow.IPFIX, 300, template.Data, 0, []template.Field{
		{ID: 8, Length: 4}, {ID: 1, Length: 3}, {ID: 7, Length: 2}, {ID: 96, Length: template.VarLen}, {ID: 137, Length: 4, Enterprise: 9},
	})
	mid := template.New(flow.IPFIX, 301, template.Data, 0, []template.Field{
		{ID: 8, Length: 4}, {ID: 1, Length: 3}, {ID: 96, Length: template.VarLen}, {ID: 7, Length: 2}, {ID: 137, Length: 4, Enterprise: 9},
	})
	var lastSet, midSet []byte
	for i, app := range []string{"", "dns", strings.Repeat("y", 260)} {
		head := []byte{10, 0, 0, byte(i), 0, 1, byte(i), 0x01, byte(0xbb + i)}
		prefix := []byte{byte(len(app))}
		if len(app) >= 255 {
			prefix = []byte{255, byte(len(app) >> 8), byte(len(app))}
		}
		val := append(prefix, app...)
		lastSet = append(append(append(lastSet, head...), val...), 0, 0, 0, 9)
		midSet = append(append(append(append(midSet, head[:7]...), val...), head[7:]...), 0, 0, 0, 9)
	}
	var c template.Context
	for name, tp := range map[string]*template.Template{"last": last, "mid": mid} {
		set := map[string][]byte{"last": lastSet, "mid": midSet}[name]
		// Padding after the records is left unread.
		all, used := tp.AppendSet(make([]flow.Record, 1, 2), append(slices.Clip(set), 0, 0, 0), &c)
		if len(all) != 4 || used != len(set) {
			t.Fatalf("%s: AppendSet appended %d records of %d bytes, want 3 of %d", name, len(all)-1, used, len(set))
		}
		all = all[1:]
		for i := range 3 {
			n, ok := tp.Next(set)
			if !ok {
				t.Fatalf("%s record %d: not measured", name, i)
			}
			var r flow.Record
			tp.Fill(&r, set[:n], &c)
			want := flow.Record{SrcAddr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), Bytes: uint64(256 + i), SrcPort: uint16(0x1bb + i)}
			if r != want || all[i] != want {
				t.Errorf("%s record %d: Fill %+v, AppendSet %+v, want %+v", name, i, r, all[i], want)
			}
			set = set[n:]
		}
		if len(set) != 0 {
			t.Errorf("%s: %d bytes left", name, len(set))
		}
	}
}
