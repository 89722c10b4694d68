// Package flowtest holds helpers shared by this module's tests.
package flowtest

import (
	"net/netip"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/google/go-cmp/cmp"
)

// CmpAddr lets go-cmp compare netip.Addr values, whose fields are unexported.
var CmpAddr = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// Garbage returns a record whose every field is set to a non-zero value that no decoder
// produces, found by reflection so that fields added later are covered too. Decoding into
// it shows which fields a decoder forgets to overwrite.
func Garbage() flow.Record {
	var r flow.Record
	v := reflect.ValueOf(&r).Elem()
	for i := 0; i < v.NumField(); i++ {
		f := v.Field(i)
		switch f.Interface().(type) {
		case netip.Addr:
			f.Set(reflect.ValueOf(netip.MustParseAddr("203.0.113.99")))
		case flow.MAC:
			f.Set(reflect.ValueOf(flow.MAC{0xde, 0xad, 0xbe, 0xef, 0xde, 0xad}))
		default:
			switch f.Kind() {
			case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				f.SetUint(0xa5)
			case reflect.Int64:
				f.SetInt(0xa5)
			case reflect.String:
				f.SetString("garbage")
			default:
				panic("flowtest.Garbage: no garbage for field " + v.Type().Field(i).Name)
			}
		}
	}
	return r
}

// LogstashTime compares a record time with logstash-codec-netflow's rendering of it (RFC
// 3339, milliseconds). Logstash computes export time minus (uptime - switched) in seconds and
// sub-second units and, when the sub-second part goes negative, adds a second's worth without
// taking the second off: its time is then exactly one second late. LogstashTime accepts
// that one error (logging it) and nothing else.
func LogstashTime(t testing.TB, field string, ft flow.Time, want string) {
	t.Helper()
	w, err := time.Parse(time.RFC3339Nano, want)
	if err != nil {
		t.Fatalf("%s: %v", field, err)
	}
	got := ft.AsTime().Truncate(time.Millisecond)
	if got.Equal(w) {
		return
	}
	if w.Sub(got) == time.Second {
		t.Logf("%s = %v; logstash says %s, one second late (its borrow bug)", field, got, want)
		return
	}
	t.Errorf("%s = %v, want %s", field, got, want)
}

// TelegrafProto names an IP protocol as telegraf's netflow plugin does.
func TelegrafProto(p uint8) string {
	switch p {
	case 1:
		return "icmp"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	}
	return strconv.Itoa(int(p))
}

// TelegrafTCPFlags renders TCP flags as telegraf does: CWR ECE URG ACK PSH RST SYN FIN,
// a dot for each flag not set.
func TelegrafTCPFlags(f uint8) string {
	const letters = "CEUAPRSF"
	var b [8]byte
	for i := range b {
		b[i] = '.'
		if f&(0x80>>i) != 0 {
			b[i] = letters[i]
		}
	}
	return string(b[:])
}
