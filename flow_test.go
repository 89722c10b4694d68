package flow_test

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/flowkit/flow"
)

func sampleRecord() flow.Record {
	return flow.Record{
		Protocol:         flow.IPFIX,
		Exporter:         netip.MustParseAddr("192.0.2.1"),
		Domain:           7,
		SrcAddr:          netip.MustParseAddr("2001:db8::1"),
		DstAddr:          netip.MustParseAddr("198.51.100.9"),
		SrcPort:          443,
		DstPort:          51234,
		IPProto:          6,
		Packets:          12,
		Bytes:            9000,
		Start:            flow.TimeOf(time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)),
		End:              flow.TimeOf(time.Date(2024, 5, 6, 7, 8, 10, 0, time.FixedZone("x", 3600))),
		InIf:             3,
		OutIf:            4,
		TCPFlags:         0x1b,
		ToS:              0xb8,
		NextHop:          netip.MustParseAddr("192.0.2.254"),
		SrcAS:            64500,
		DstAS:            4200000000,
		SrcMask:          48,
		DstMask:          24,
		VLAN:             100,
		SrcMAC:           flow.MAC{0x00, 0x1b, 0x21, 0xab, 0xcd, 0xef},
		DstMAC:           flow.MAC{0xfe, 0xff, 0x00, 0x00, 0x00, 0x01},
		Direction:        flow.Egress,
		SamplingInterval: 1000,
		EndReason:        flow.EndOfFlow,
	}
}

func TestAppendJSONKeysAndValues(t *testing.T) {
	r := sampleRecord()
	out := r.AppendJSON(nil)
	want := `{"type":"ipfix","exporter":"192.0.2.1","domain":7,"src_addr":"2001:db8::1",` +
		`"dst_addr":"198.51.100.9","src_port":443,"dst_port":51234,"proto":6,"packets":12,` +
		`"bytes":9000,"start":"2024-05-06T07:08:09.123456789Z","end":"2024-05-06T06:08:10.000000000Z",` +
		`"in_if":3,"out_if":4,"tcp_flags":27,"tos":184,"next_hop":"192.0.2.254","src_as":64500,` +
		`"dst_as":4200000000,"src_mask":48,"dst_mask":24,"vlan":100,"src_mac":"00:1b:21:ab:cd:ef",` +
		`"dst_mac":"fe:ff:00:00:00:01","sampling_interval":1000,"end_reason":"end_of_flow"}`
	if string(out) != want {
		t.Fatalf("AppendJSON:\n got %s\nwant %s", out, want)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if len(m) != 26 {
		t.Errorf("got %d keys, want 26", len(m))
	}
}

func TestAppendJSONAbsentValuesAreNull(t *testing.T) {
	var r flow.Record
	out := string(r.AppendJSON(nil))
	for _, key := range []string{"exporter", "src_addr", "dst_addr", "start", "end", "next_hop", "src_mac", "dst_mac", "end_reason"} {
		if !strings.Contains(out, `"`+key+`":null`) {
			t.Errorf("%s is not null in %s", key, out)
		}
	}
	if !strings.HasPrefix(out, `{"type":"unknown",`) {
		t.Errorf("zero record: %s", out)
	}
}

func TestMarshalJSONMatchesAppend(t *testing.T) {
	r := sampleRecord()
	viaStd, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(viaStd) != string(r.AppendJSON(nil)) {
		t.Errorf("json.Marshal and AppendJSON differ:\n%s\n%s", viaStd, r.AppendJSON(nil))
	}
}

func TestAppendJSONAllocatesNothing(t *testing.T) {
	r := sampleRecord()
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() {
		buf = r.AppendJSON(buf[:0])
	})
	if allocs != 0 {
		t.Errorf("AppendJSON allocates %v times per call, want 0", allocs)
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		in   []byte
		want flow.Protocol
	}{
		{[]byte{0, 5, 0, 1}, flow.NetFlow5},
		{[]byte{0, 9, 0, 1}, flow.NetFlow9},
		{[]byte{0, 10, 0, 16}, flow.IPFIX},
		{[]byte{0, 0, 0, 5, 0, 0, 0, 1}, flow.SFlow},
		{[]byte{0, 0, 0, 4}, flow.Unknown},
		{[]byte{0, 7, 0, 1}, flow.Unknown},
		{[]byte{0, 5}, flow.Unknown},
		{nil, flow.Unknown},
	}
	for _, tt := range tests {
		if got := flow.Detect(tt.in); got != tt.want {
			t.Errorf("Detect(% x) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseErrorWrapsSentinel(t *testing.T) {
	var err error = &flow.ParseError{Protocol: flow.NetFlow5, What: "record 3", Offset: 168, Err: flow.ErrTruncated, Detail: "need 48 bytes, have 20"}
	if !errors.Is(err, flow.ErrTruncated) {
		t.Error("errors.Is does not see ErrTruncated")
	}
	if errors.Is(err, flow.ErrMalformed) {
		t.Error("errors.Is sees ErrMalformed in a truncation error")
	}
	const want = "netflow5: record 3 at offset 168: truncated: need 48 bytes, have 20"
	if err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
}

func TestNames(t *testing.T) {
	if flow.NetFlow9.String() != "netflow9" || flow.SFlow.String() != "sflow" || flow.Protocol(99).String() != "unknown" {
		t.Error("protocol names")
	}
	if flow.EndLackOfResources.String() != "lack_of_resources" || flow.EndReason(42).String() != "unknown" {
		t.Error("end reason names")
	}
	if flow.Ingress.String() != "ingress" || flow.Egress.String() != "egress" || flow.DirectionUnknown.String() != "unknown" {
		t.Error("direction names")
	}
	if got := (flow.MAC{0xde, 0xad, 0xbe, 0xef, 0, 1}).String(); got != "de:ad:be:ef:00:01" {
		t.Errorf("MAC.String = %q", got)
	}
}

func TestTime(t *testing.T) {
	std := time.Date(2031, 12, 24, 23, 59, 58, 999999999, time.FixedZone("x", -7200))
	ft := flow.TimeOf(std)
	if !ft.AsTime().Equal(std) || ft.AsTime().Location() != time.UTC {
		t.Errorf("round trip through Time: %v", ft.AsTime())
	}
	if flow.TimeOf(time.Time{}) != 0 || !flow.Time(0).AsTime().IsZero() || !flow.Time(0).IsZero() {
		t.Error("zero values do not map to each other")
	}
	if got := ft.String(); got != "2031-12-25T01:59:58.999999999Z" {
		t.Errorf("String = %s", got)
	}
	if ft.Add(time.Second).Sub(ft) != time.Second {
		t.Error("Add/Sub")
	}
	if flow.Time(0).String() != "0" {
		t.Error("zero String")
	}
}

func TestProtocolText(t *testing.T) {
	for _, p := range []flow.Protocol{flow.NetFlow5, flow.NetFlow9, flow.IPFIX, flow.SFlow, flow.Unknown} {
		b, _ := p.MarshalText()
		var q flow.Protocol
		if err := q.UnmarshalText(b); err != nil || q != p {
			t.Errorf("%v: %q → %v, %v", p, b, q, err)
		}
	}
	var q flow.Protocol
	if err := q.UnmarshalText([]byte("netflow7")); err == nil {
		t.Error("unknown name accepted")
	}
}
