// Package flowtest holds helpers shared by this module's tests.
package flowtest

import (
	"net/netip"
	"reflect"

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
