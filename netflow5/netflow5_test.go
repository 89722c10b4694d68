package netflow5_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/corpus"
	"github.com/flowkit/flow/internal/flowtest"
	"github.com/flowkit/flow/netflow5"
	"github.com/google/go-cmp/cmp"
)

// decodeAll reads every datagram of a buffer holding one or more v5 datagrams back to back,
// following Trailing from one to the next.
func decodeAll(t *testing.T, b []byte) ([]netflow5.Header, []flow.Record) {
	t.Helper()
	var p netflow5.Parser
	var hs []netflow5.Header
	var rs []flow.Record
	for len(b) > 0 {
		h, err := p.Start(b)
		if err != nil {
			t.Fatalf("datagram %d: %v", len(hs), err)
		}
		hs = append(hs, h)
		for p.Next() {
			var r flow.Record
			p.Flow(&r)
			rs = append(rs, r)
		}
		b = p.Trailing()
	}
	return hs, rs
}

func TestCorpusFilesDecode(t *testing.T) {
	tests := []struct {
		file      string
		datagrams int
		records   int
	}{
		{"logstash-codec-netflow/netflow5.dat", 12, 30},
		{"logstash-codec-netflow/netflow5_test_juniper_mx80.dat", 1, 29},
		{"goflow2/TestDecodeNetFlowV5_data.dat", 1, 6},
		{"telegraf/netflow_v5_example/netflow_v5.bin", 1, 8},
		{"akvorado/netflow/nfv5.pcap", 1, 0}, // records counted below
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var hs []netflow5.Header
			var rs []flow.Record
			for _, d := range corpus.Datagrams(t, tt.file) {
				h, r := decodeAll(t, d)
				hs, rs = append(hs, h...), append(rs, r...)
			}
			if len(hs) != tt.datagrams {
				t.Errorf("%d datagrams, want %d", len(hs), tt.datagrams)
			}
			want := tt.records
			if want == 0 {
				for _, h := range hs {
					want += int(h.Count)
				}
			}
			if len(rs) != want || want == 0 {
				t.Errorf("%d records, want %d", len(rs), want)
			}
			for i, r := range rs {
				if !r.SrcAddr.Is4() || !r.DstAddr.Is4() || r.Protocol != flow.NetFlow5 {
					t.Errorf("record %d: %+v", i, r)
				}
				if r.End < r.Start {
					t.Errorf("record %d ends %v before it starts %v", i, r.End, r.Start)
				}
			}
		})
	}
}

// TestLogstashValid01 checks softflowd's datagrams against logstash's expectations. Logstash
// feeds the whole file as one packet, so it expects the first datagram's two records.
func TestLogstashValid01(t *testing.T) {
	ctx := corpus.Logstash(t, "Netflow 5 valid 01")
	_, rs := decodeAll(t, corpus.Datagrams(t, "logstash-codec-netflow/netflow5.dat")[0])
	rs = rs[:*ctx.EventCount]
	for _, a := range ctx.Assertions {
		checkLogstashField(t, rs[a.Event], a.Field, a.Value)
	}
	for i, ev := range ctx.Events {
		for field, want := range ev.Netflow {
			if field == "first_switched" || field == "last_switched" {
				continue // checked below: logstash gets both wrong for this datagram
			}
			checkLogstashField(t, rs[ctx.EventIndex(i)], field, want)
		}
	}
	// The header says uptime 3381 ms at 1430591888.280328 s (18:38:08.280328).
	// Both records start at uptime 0xffffffff, one millisecond before the exporter's uptime
	// counter reached 0, so 3382 ms before the export; logstash ignores the wrap and puts
	// them 49.7 days later (2015-06-21T11:40:52.194Z). Both end at uptime 2577, 804 ms before
	// the export; logstash says 18:38:08.476, after the datagram was sent, because it
	// borrows a second without taking it off.
	wantStart := flow.TimeOf(time.Date(2015, 5, 2, 18, 38, 4, 898328000, time.UTC))
	wantEnd := flow.TimeOf(time.Date(2015, 5, 2, 18, 38, 7, 476328000, time.UTC))
	for i, r := range rs {
		if r.Start != wantStart || r.End != wantEnd {
			t.Errorf("record %d: %v – %v, want %v – %v", i, r.Start, r.End, wantStart, wantEnd)
		}
	}
}

func TestLogstashJuniperMX80(t *testing.T) {
	ctx := corpus.Logstash(t, "Netflow5 Juniper MX80")
	hs, rs := decodeAll(t, corpus.Datagrams(t, "logstash-codec-netflow/netflow5_test_juniper_mx80.dat")[0])
	if len(rs) != *ctx.EventCount {
		t.Fatalf("%d records, want %d", len(rs), *ctx.EventCount)
	}
	if hs[0].SamplingInterval != 1000 || hs[0].SamplingMode != 0 {
		t.Errorf("sampling mode %d interval %d, want 0 1000", hs[0].SamplingMode, hs[0].SamplingInterval)
	}
	for _, a := range ctx.Assertions {
		checkLogstashField(t, rs[a.Event], a.Field, a.Value)
	}
	for i, ev := range ctx.Events {
		for field, want := range ev.Netflow {
			checkLogstashField(t, rs[ctx.EventIndex(i)], field, want)
		}
	}
}

// checkLogstashField compares one logstash netflow field (netflow.yaml naming) with a
// decoded record. Header-only fields are skipped; an unknown field fails the test so that
// nothing goes unchecked silently.
func checkLogstashField(t *testing.T, r flow.Record, field string, want any) {
	t.Helper()
	var got any
	switch field {
	case "version", "flow_seq_num", "flow_records", "sampling_algorithm":
		return // header fields, checked through Header in other tests
	case "engine_type":
		got = float64(r.EngineType)
	case "engine_id":
		got = float64(r.EngineID)
	case "sampling_interval":
		got = float64(r.SamplingInterval)
	case "ipv4_src_addr":
		got = r.SrcAddr.String()
	case "ipv4_dst_addr":
		got = r.DstAddr.String()
	case "ipv4_next_hop":
		got = r.NextHop.String()
	case "input_snmp":
		got = float64(r.InIf)
	case "output_snmp":
		got = float64(r.OutIf)
	case "in_pkts":
		got = float64(r.Packets)
	case "in_bytes":
		got = float64(r.Bytes)
	case "first_switched", "last_switched":
		got := r.Start
		if field == "last_switched" {
			got = r.End
		}
		flowtest.LogstashTime(t, field, got, want.(string))
		return
	case "l4_src_port":
		got = float64(r.SrcPort)
	case "l4_dst_port":
		got = float64(r.DstPort)
	case "tcp_flags":
		got = float64(r.TCPFlags)
	case "protocol":
		got = float64(r.IPProto)
	case "src_tos":
		got = float64(r.ToS)
	case "src_as":
		got = float64(r.SrcAS)
	case "dst_as":
		got = float64(r.DstAS)
	case "src_mask":
		got = float64(r.SrcMask)
	case "dst_mask":
		got = float64(r.DstMask)
	default:
		t.Fatalf("logstash field %q is not mapped", field)
	}
	if got != want {
		t.Errorf("%s = %v, want %v", field, got, want)
	}
}

func TestTelegrafGolden(t *testing.T) {
	lines := corpus.Telegraf(t, "netflow_v5_example")
	b := corpus.Datagrams(t, "telegraf/netflow_v5_example/netflow_v5.bin")[0]
	var p netflow5.Parser
	h, err := p.Start(b)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for ; p.Next(); i++ {
		if i >= len(lines) {
			t.Fatalf("more records than the %d golden lines", len(lines))
		}
		l, raw := lines[i], p.Record()
		var r flow.Record
		p.Flow(&r)
		checks := []struct {
			key string
			got string
		}{
			{"protocol", flowtest.TelegrafProto(r.IPProto)},
			{"src", r.SrcAddr.String()},
			{"src_port", strconv.Itoa(int(r.SrcPort))},
			{"dst", r.DstAddr.String()},
			{"dst_port", strconv.Itoa(int(r.DstPort))},
			{"flows", strconv.Itoa(int(h.Count))},
			{"in_bytes", strconv.FormatUint(r.Bytes, 10)},
			{"in_packets", strconv.FormatUint(r.Packets, 10)},
			{"first_switched", strconv.FormatUint(uint64(raw.First), 10)},
			{"last_switched", strconv.FormatUint(uint64(raw.Last), 10)},
			{"tcp_flags", flowtest.TelegrafTCPFlags(uint8(r.TCPFlags))},
			{"engine_type", strconv.Itoa(int(r.EngineType))},
			{"engine_id", fmt.Sprintf("0x%02x", r.EngineID)},
			{"sys_uptime", strconv.FormatUint(uint64(h.SysUptime), 10)},
			{"src_tos", fmt.Sprintf("0x%02x", r.ToS)},
			{"bgp_src_as", strconv.Itoa(int(r.SrcAS))},
			{"bgp_dst_as", strconv.Itoa(int(r.DstAS))},
			{"src_mask", strconv.Itoa(int(r.SrcMask))},
			{"dst_mask", strconv.Itoa(int(r.DstMask))},
			{"in_snmp", strconv.Itoa(int(r.InIf))},
			{"out_snmp", strconv.Itoa(int(r.OutIf))},
			{"next_hop", r.NextHop.String()},
			{"seq_number", strconv.Itoa(int(h.FlowSequence))},
			{"sampling_interval", strconv.Itoa(int(r.SamplingInterval))},
		}
		if len(checks) != len(l.Fields) {
			t.Errorf("line %d has %d fields, the test checks %d", i, len(l.Fields), len(checks))
		}
		for _, c := range checks {
			if want, ok := l.Fields[c.key]; !ok || c.got != want {
				t.Errorf("record %d: %s = %q, want %q", i, c.key, c.got, want)
			}
		}
		// Absolute times: the header says uptime 90003000 ms at 1666354081 s.
		wantStart := flow.TimeOf(time.Unix(1666354081, 0).Add(-time.Duration(h.SysUptime-raw.First) * time.Millisecond))
		if r.Start != wantStart {
			t.Errorf("record %d start %v, want %v", i, r.Start, wantStart)
		}
	}
	if i != len(lines) {
		t.Errorf("%d records, want %d", i, len(lines))
	}
}

func TestGoflow2Datagram(t *testing.T) {
	b := corpus.Datagrams(t, "goflow2/TestDecodeNetFlowV5_data.dat")[0]
	var p netflow5.Parser
	h, err := p.Start(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.EngineType != 8 || h.EngineID != 8 || h.FlowSequence != 25661 || h.Count != 6 {
		t.Errorf("header %+v", h)
	}
	p.Next()
	got := p.Record()
	want := netflow5.Record{
		SrcAddr: netip.MustParseAddr("10.128.2.121"), DstAddr: netip.MustParseAddr("10.128.2.1"),
		NextHop: netip.MustParseAddr("0.0.0.0"), Input: 9, Output: 2, Packets: 5, Octets: 590,
		First: 8559500, Last: 8559504, SrcPort: 8080, DstPort: 47384, TCPFlags: 0x1b, Proto: 6,
	}
	if diff := cmp.Diff(want, got, flowtest.CmpAddr); diff != "" {
		t.Errorf("record 0 (-want +got):\n%s", diff)
	}
}

func TestInvalidCorpusFiles(t *testing.T) {
	tests := []struct {
		file  string
		count int
	}{
		{"logstash-codec-netflow/netflow5_test_invalid01.dat", 55582},
		{"logstash-codec-netflow/netflow5_test_invalid02.dat", 163},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b := corpus.Datagrams(t, tt.file)[0]
			var p netflow5.Parser
			_, err := p.Start(b)
			if !errors.Is(err, flow.ErrTruncated) {
				t.Fatalf("err = %v, want ErrTruncated", err)
			}
			var pe *flow.ParseError
			if !errors.As(err, &pe) || pe.Offset != 24+30*48 {
				t.Errorf("err %v does not name offset 1464, where record 31 is missing", err)
			}
			if !strings.Contains(err.Error(), strconv.Itoa(tt.count)) {
				t.Errorf("err %q does not say the count %d", err, tt.count)
			}
			if p.Next() {
				t.Error("parser yields records after a failed Start")
			}
		})
	}
}

func header(count uint16) []byte {
	b := make([]byte, 24)
	binary.BigEndian.PutUint16(b, 5)
	binary.BigEndian.PutUint16(b[2:], count)
	return b
}

func TestBadInput(t *testing.T) {
	v9 := header(1)
	v9[1] = 9
	tests := []struct {
		name   string
		in     []byte
		want   error
		offset int
	}{
		{"empty", nil, flow.ErrTruncated, 0},
		{"short header", header(1)[:23], flow.ErrTruncated, 0},
		{"version 9", v9, flow.ErrVersion, 0},
		{"zero count", header(0), flow.ErrMalformed, 2},
		{"count 1 no record", header(1), flow.ErrTruncated, 24},
		{"count 2 one record", append(header(2), make([]byte, 48)...), flow.ErrTruncated, 72},
		{"record cut short", append(header(1), make([]byte, 47)...), flow.ErrTruncated, 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p netflow5.Parser
			_, err := p.Start(tt.in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var pe *flow.ParseError
			if !errors.As(err, &pe) || pe.Offset != tt.offset || pe.Protocol != flow.NetFlow5 {
				t.Errorf("err = %#v, want a ParseError at offset %d", err, tt.offset)
			}
			if p.Next() || p.Trailing() != nil {
				t.Error("failed parser still yields data")
			}
		})
	}
}

func TestParserReusableAfterError(t *testing.T) {
	var p netflow5.Parser
	if _, err := p.Start(header(3)); err == nil {
		t.Fatal("no error for a truncated datagram")
	}
	good := append(header(1), make([]byte, 48)...)
	good[24] = 10
	if _, err := p.Start(good); err != nil {
		t.Fatal(err)
	}
	if !p.Next() || p.Record().SrcAddr != netip.MustParseAddr("10.0.0.0") || p.Next() {
		t.Error("parser state leaked from the failed datagram")
	}
}

func TestTrailingBytes(t *testing.T) {
	b := append(header(1), make([]byte, 48)...)
	b = append(b, 0xde, 0xad)
	var p netflow5.Parser
	if _, err := p.Start(b); err != nil {
		t.Fatal(err)
	}
	n := 0
	for p.Next() {
		n++
	}
	if n != 1 {
		t.Errorf("%d records, want 1", n)
	}
	if got := p.Trailing(); string(got) != "\xde\xad" {
		t.Errorf("Trailing = % x", got)
	}
}

func TestHeaderTimeUptimeWrap(t *testing.T) {
	h := netflow5.Header{SysUptime: 1000, UnixSecs: 1700000000, UnixNsecs: 500000000}
	export := flow.TimeOf(time.Unix(1700000000, 500000000))
	tests := []struct {
		uptime uint32
		want   flow.Time
	}{
		{1000, export},
		{0, export.Add(-time.Second)},
		{0xffffffff, export.Add(-1001 * time.Millisecond)}, // before the wrap
		{0xffffffff - 3_600_000, export.Add(-(3_601_001) * time.Millisecond)}, // an hour before
		{1010, export.Add(10 * time.Millisecond)},                             // stamped after the header
	}
	for _, tt := range tests {
		if got := h.Time(tt.uptime); got != tt.want {
			t.Errorf("Time(%d) = %v, want %v", tt.uptime, got, tt.want)
		}
	}
}

func testRecords(n int, base flow.Time) []flow.Record {
	rs := make([]flow.Record, n)
	for i := range rs {
		rs[i] = flow.Record{
			Protocol:         flow.NetFlow5,
			Domain:           3<<8 | 7,
			EngineType:       3,
			EngineID:         7,
			SrcAddr:          netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}),
			DstAddr:          netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}),
			NextHop:          netip.AddrFrom4([4]byte{198, 51, 100, 1}),
			SrcPort:          uint16(1024 + i),
			DstPort:          443,
			IPProto:          6,
			Packets:          uint64(i + 1),
			Bytes:            uint64(1500 * (i + 1)),
			Start:            base.Add(time.Duration(i) * time.Millisecond),
			End:              base.Add(time.Duration(i)*time.Millisecond + 2*time.Second),
			InIf:             uint32(i % 5),
			OutIf:            9,
			TCPFlags:         0x1b,
			ToS:              0x20,
			SrcAS:            64500,
			DstAS:            uint32(i),
			SrcMask:          24,
			DstMask:          16,
			SamplingInterval: 100,
		}
	}
	return rs
}

func TestRoundTrip(t *testing.T) {
	boot := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	// 50 days of uptime is past 2^32 ms, so the uptime counter has wrapped. Record times
	// are whole milliseconds after boot, which is what v5 can carry exactly.
	now := boot.Add(50*24*time.Hour + 1234567*time.Microsecond)
	recs := testRecords(75, flow.TimeOf(boot.Add(50*24*time.Hour-10*time.Second)))
	b := netflow5.Builder{EngineType: 3, EngineID: 7, SamplingMode: 1, SamplingInterval: 100, Boot: boot, Sequence: 1000}

	var buf []byte
	var datagrams [][]byte
	for i := 0; i < len(recs); {
		start := len(buf)
		b.Start(buf, now)
		for i < len(recs) {
			err := b.AddFlow(&recs[i])
			if errors.Is(err, flow.ErrFull) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			i++
		}
		buf = b.Finish()
		datagrams = append(datagrams, buf[start:])
	}
	if len(datagrams) != 3 {
		t.Fatalf("%d datagrams for 75 records, want 3", len(datagrams))
	}

	var got []flow.Record
	var p netflow5.Parser
	for i, d := range datagrams {
		h, err := p.Start(d)
		if err != nil {
			t.Fatal(err)
		}
		wantCount := []uint16{30, 30, 15}[i]
		if h.Count != wantCount || h.FlowSequence != uint32(1000+30*i) {
			t.Errorf("datagram %d: count %d sequence %d", i, h.Count, h.FlowSequence)
		}
		if h.SamplingMode != 1 || h.SamplingInterval != 100 {
			t.Errorf("datagram %d: sampling %d/%d", i, h.SamplingMode, h.SamplingInterval)
		}
		if d := h.ExportTime().Sub(flow.TimeOf(now)); d > 0 || d <= -time.Millisecond {
			t.Errorf("export time %v is not within the millisecond before %v", h.ExportTime(), now)
		}
		for p.Next() {
			var r flow.Record
			p.Flow(&r)
			got = append(got, r)
		}
		if len(p.Trailing()) != 0 {
			t.Errorf("datagram %d has %d trailing bytes", i, len(p.Trailing()))
		}
	}
	if b.Sequence != 1075 {
		t.Errorf("sequence after 75 records = %d", b.Sequence)
	}
	if diff := cmp.Diff(recs, got, flowtest.CmpAddr); diff != "" {
		t.Errorf("round trip (-sent +received):\n%s", diff)
	}
}

func TestAddFlowNarrowing(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var b netflow5.Builder
	b.Start(nil, now)
	r := flow.Record{
		SrcAddr: netip.MustParseAddr("::ffff:10.1.2.3"), DstAddr: netip.MustParseAddr("10.3.2.1"),
		NextHop: netip.MustParseAddr("2001:db8::1"),
		Packets: 1 << 40, Bytes: 1 << 33, InIf: 70000, OutIf: 65535,
		SrcAS: 4200000000, DstAS: 65535, TCPFlags: 0x1c2,
	}
	if err := b.AddFlow(&r); err != nil {
		t.Fatal(err)
	}
	var p netflow5.Parser
	if _, err := p.Start(b.Finish()); err != nil {
		t.Fatal(err)
	}
	p.Next()
	got := p.Record()
	if got.SrcAddr != netip.MustParseAddr("10.1.2.3") || got.NextHop != netip.IPv4Unspecified() {
		t.Errorf("addresses %v %v", got.SrcAddr, got.NextHop)
	}
	if got.Packets != 1<<32-1 || got.Octets != 1<<32-1 || got.Input != 65535 || got.Output != 65535 {
		t.Errorf("counters not saturated: %+v", got)
	}
	if got.SrcAS != 23456 || got.DstAS != 65535 || got.TCPFlags != 0xc2 {
		t.Errorf("AS %d %d flags %#x", got.SrcAS, got.DstAS, got.TCPFlags)
	}
	if got.First != 0 || got.Last != 0 {
		t.Errorf("times of a record without times: %d %d, want the export uptime 0", got.First, got.Last)
	}

	b.Start(nil, now)
	v6 := flow.Record{SrcAddr: netip.MustParseAddr("2001:db8::1"), DstAddr: netip.MustParseAddr("10.0.0.1")}
	if err := b.AddFlow(&v6); !errors.Is(err, netflow5.ErrNotIPv4) {
		t.Errorf("IPv6 record: err = %v", err)
	}
	if out := b.Finish(); len(out) != 0 {
		t.Errorf("empty datagram left %d bytes", len(out))
	}
}

// TestBuilderGolden pins the exact bytes of a one-record datagram.
func TestBuilderGolden(t *testing.T) {
	boot := time.Unix(1700000000, 0)
	b := netflow5.Builder{EngineType: 1, EngineID: 2, SamplingMode: 2, SamplingInterval: 0x3fff, Boot: boot, Sequence: 0x01020304}
	b.Start(nil, boot.Add(90*time.Second+500*time.Microsecond))
	err := b.Add(netflow5.Record{
		SrcAddr: netip.MustParseAddr("10.0.0.1"), DstAddr: netip.MustParseAddr("10.0.0.2"),
		NextHop: netip.MustParseAddr("10.0.0.254"), Input: 0x0102, Output: 0x0304,
		Packets: 0x05060708, Octets: 0x090a0b0c, First: 0x0d0e0f10, Last: 0x11121314,
		SrcPort: 0x1516, DstPort: 0x1718, TCPFlags: 0x19, Proto: 0x1a, ToS: 0x1b,
		SrcAS: 0x1c1d, DstAS: 0x1e1f, SrcMask: 0x20, DstMask: 0x21,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := b.Finish()
	want := []byte{
		0x00, 0x05, 0x00, 0x01, // version, count
		0x00, 0x01, 0x5f, 0x90, // sysUptime 90000 ms
		0x65, 0x53, 0xf1, 0x5a, // unix secs 1700000090
		0x00, 0x00, 0x00, 0x00, // nsecs: whole ms after boot
		0x01, 0x02, 0x03, 0x04, // flow sequence
		0x01, 0x02, // engine type, id
		0xbf, 0xff, // sampling mode 2, interval 16383
		10, 0, 0, 1, 10, 0, 0, 2, 10, 0, 0, 254,
		0x01, 0x02, 0x03, 0x04,
		0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c,
		0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14,
		0x15, 0x16, 0x17, 0x18,
		0x00, 0x19, 0x1a, 0x1b, // pad, flags, proto, tos
		0x1c, 0x1d, 0x1e, 0x1f,
		0x20, 0x21, 0x00, 0x00,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("datagram bytes (-want +got):\n%s", diff)
	}
}

func TestBuilderFull(t *testing.T) {
	var b netflow5.Builder
	b.Start(nil, time.Unix(1, 0))
	for i := 0; i < netflow5.MaxRecords; i++ {
		if err := b.Add(netflow5.Record{}); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
	if err := b.Add(netflow5.Record{}); !errors.Is(err, flow.ErrFull) {
		t.Errorf("record 31: err = %v, want ErrFull", err)
	}
	if b.Len() != 30 || len(b.Finish()) != 24+30*48 {
		t.Error("full datagram has the wrong size")
	}
}

func TestDecodeAllocatesNothing(t *testing.T) {
	b := corpus.Datagrams(t, "logstash-codec-netflow/netflow5_test_juniper_mx80.dat")[0]
	var p netflow5.Parser
	var r flow.Record
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := p.Start(b); err != nil {
			t.Fatal(err)
		}
		for p.Next() {
			p.Flow(&r)
			_ = p.Record()
		}
	})
	if allocs != 0 {
		t.Errorf("decoding allocates %v times per datagram, want 0", allocs)
	}
}

func TestEncodeAllocatesNothing(t *testing.T) {
	recs := testRecords(30, flow.TimeOf(time.Unix(1700000000, 0)))
	b := netflow5.Builder{Boot: time.Unix(1699990000, 0)}
	buf := make([]byte, 0, 2048)
	now := time.Unix(1700000010, 0)
	allocs := testing.AllocsPerRun(100, func() {
		b.Start(buf[:0], now)
		for i := range recs {
			if err := b.AddFlow(&recs[i]); err != nil {
				t.Fatal(err)
			}
		}
		buf = b.Finish()
	})
	if allocs != 0 {
		t.Errorf("encoding allocates %v times per datagram, want 0", allocs)
	}
}

// TestFlowOverwritesEveryField fills a record with garbage in every field, decodes into it,
// and checks that no field kept its garbage: a reused record must not leak values from the
// previous datagram, including fields added to flow.Record after this codec was written.
func TestFlowOverwritesEveryField(t *testing.T) {
	b := corpus.Datagrams(t, "goflow2/TestDecodeNetFlowV5_data.dat")[0]
	var p netflow5.Parser
	if _, err := p.Start(b); err != nil {
		t.Fatal(err)
	}
	p.Next()
	var fresh flow.Record
	p.Flow(&fresh)

	dirty := flowtest.Garbage()
	p.Flow(&dirty)
	if diff := cmp.Diff(fresh, dirty, flowtest.CmpAddr); diff != "" {
		t.Errorf("fields kept from before (-fresh +reused):\n%s", diff)
	}
}

func TestAppendFlows(t *testing.T) {
	b := corpus.Datagrams(t, "logstash-codec-netflow/netflow5_test_juniper_mx80.dat")[0]
	var p netflow5.Parser
	if _, err := p.Start(b); err != nil {
		t.Fatal(err)
	}
	var oneByOne []flow.Record
	for p.Next() {
		var r flow.Record
		p.Flow(&r)
		oneByOne = append(oneByOne, r)
	}

	// After the first record has been read with Next, AppendFlows takes the other 28, after
	// what dst already holds, over garbage in its spare capacity.
	p.Start(b)
	p.Next()
	var first flow.Record
	p.Flow(&first)
	dst := make([]flow.Record, 1, 64)
	dst[0] = first
	for i := 1; i < cap(dst); i++ {
		dst[:cap(dst)][i] = flowtest.Garbage()
	}
	got := p.AppendFlows(dst)
	if diff := cmp.Diff(oneByOne, got, flowtest.CmpAddr); diff != "" {
		t.Errorf("AppendFlows differs from Next and Flow (-Flow +AppendFlows):\n%s", diff)
	}
	if p.Next() {
		t.Error("Next returns true after AppendFlows")
	}
	if again := p.AppendFlows(nil); len(again) != 0 {
		t.Errorf("a second AppendFlows returns %d records", len(again))
	}
	allocs := testing.AllocsPerRun(100, func() {
		p.Start(b)
		got = p.AppendFlows(got[:0])
	})
	if allocs != 0 {
		t.Errorf("AppendFlows into a slice with room allocates %v times", allocs)
	}
}

// TestRegressionHeaderNotBeforeRecords: a record that ends after the time Start was given
// moves the header's time forward at Finish. Collectors that count back from the header
// modulo 2^32 (tshark, pmacct) read the flow 49.7 days old otherwise; found by the
// interop tests.
func TestRegressionHeaderNotBeforeRecords(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := netflow5.Builder{Boot: t0}
	end := t0.Add(10*time.Second + 1500*time.Millisecond + 300*time.Microsecond)
	b.Start(nil, t0.Add(10*time.Second))
	r := flow.Record{SrcAddr: netip.MustParseAddr("10.0.0.1"), DstAddr: netip.MustParseAddr("10.0.0.2"),
		Packets: 1, Bytes: 40, Start: flow.TimeOf(t0.Add(9 * time.Second)), End: flow.TimeOf(end)}
	if err := b.AddFlow(&r); err != nil {
		t.Fatal(err)
	}
	var p netflow5.Parser
	h, err := p.Start(b.Finish())
	if err != nil || !p.Next() {
		t.Fatal(err)
	}
	rec := p.Record()
	if h.SysUptime != 11501 || rec.Last != 11500 {
		t.Errorf("header uptime %d, record last %d: want 11501 (the millisecond after the end) and 11500", h.SysUptime, rec.Last)
	}
	back := h.SysUptime - rec.Last // unsigned, as collectors read it
	export := time.Unix(int64(h.UnixSecs), int64(h.UnixNsecs))
	if got := export.Add(-time.Duration(back) * time.Millisecond); !got.Equal(end.Truncate(time.Millisecond)) {
		t.Errorf("end read as %v, want %v", got, end.Truncate(time.Millisecond))
	}
}
