package netflow9_test

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/flowtest"
	"github.com/flowkit/flow/netflow9"
	"github.com/google/go-cmp/cmp"
)

func testRecords(n int, base flow.Time) []flow.Record {
	rs := make([]flow.Record, n)
	for i := range rs {
		r := flow.Record{
			Protocol: flow.NetFlow9, Exporter: exporter.Addr(), Domain: 7,
			SrcPort: uint16(1024 + i), DstPort: 443, IPProto: 6,
			Packets: uint64(i + 1), Bytes: uint64(1500*(i+1)) << 20,
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
		rs[i] = r
	}
	return rs
}

// TestRoundTrip encodes records of both families over several packets, with templates and
// sampling options, and decodes them to the same records.
func TestRoundTrip(t *testing.T) {
	boot := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	now := boot.Add(50*24*time.Hour + 1234*time.Millisecond) // the uptime counter has wrapped
	recs := testRecords(75, flow.TimeOf(boot.Add(50*24*time.Hour-10*time.Second)))
	b := netflow9.Builder{SourceID: 7, Boot: boot, SamplingInterval: 512, SamplingAlgorithm: 2, TemplateRefresh: 2}
	var packets [][]byte
	for i := 0; i < len(recs); {
		b.Start(nil, now)
		for ; i < len(recs); i++ {
			if err := b.AddFlow(&recs[i]); errors.Is(err, flow.ErrFull) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
		packets = append(packets, b.Finish())
	}
	if len(packets) < 3 {
		t.Fatalf("%d packets", len(packets))
	}
	var p netflow9.Parser
	var got []flow.Record
	for i, pkt := range packets {
		h, err := p.Start(pkt, exporter)
		if err != nil {
			t.Fatal(err)
		}
		if h.Sequence != uint32(i) || h.SourceID != 7 || len(pkt) > 1400 {
			t.Errorf("packet %d: header %+v, %d bytes", i, h, len(pkt))
		}
		got = p.AppendFlows(got)
		if p.Err() != nil {
			t.Fatal(p.Err())
		}
	}
	if b.Sequence(7) != uint32(len(packets)) {
		t.Errorf("sequence %d after %d packets", b.Sequence(7), len(packets))
	}
	if diff := cmp.Diff(recs, got, flowtest.CmpAddr); diff != "" {
		t.Errorf("round trip (-sent +received):\n%s", diff)
	}
}

// TestTemplateRefresh checks that templates go out on the first packet of a source ID,
// every TemplateRefresh packets, and after TemplateInterval, and that sequence numbers are
// kept per source ID.
func TestTemplateRefresh(t *testing.T) {
	now := time.Unix(1767225600, 0)
	b := netflow9.Builder{Boot: now, TemplateRefresh: 3, TemplateInterval: time.Minute}
	hasTemplates := func(pkt []byte) bool { return binary.BigEndian.Uint16(pkt[20:]) == netflow9.TemplateSetID }
	r := testRecords(1, flow.TimeOf(now))[0]
	var got []bool
	var seqs []uint32
	for i, src := range []uint32{1, 1, 1, 1, 2, 1, 1} {
		at := now.Add(time.Duration(i) * time.Second)
		if i == 6 {
			at = now.Add(2 * time.Minute)
		}
		b.SourceID = src
		b.Start(nil, at)
		b.AddFlow(&r)
		pkt := b.Finish()
		got = append(got, hasTemplates(pkt))
		seqs = append(seqs, binary.BigEndian.Uint32(pkt[12:]))
	}
	if want := []bool{true, false, false, true, true, false, true}; !cmp.Equal(got, want) {
		t.Errorf("templates sent %v, want %v", got, want)
	}
	if want := []uint32{0, 1, 2, 3, 0, 4, 5}; !cmp.Equal(seqs, want) {
		t.Errorf("sequences %v, want %v", seqs, want)
	}
}

// TestBuilderGolden pins the bytes of a packet: header, templates, sampling options and one
// IPv4 record.
func TestBuilderGolden(t *testing.T) {
	boot := time.Unix(1700000000, 0)
	b := netflow9.Builder{SourceID: 0x01020304, Boot: boot, SamplingInterval: 100, SamplingAlgorithm: 1}
	b.Start(nil, boot.Add(90*time.Second+500*time.Millisecond))
	r := flow.Record{
		SrcAddr: netip.MustParseAddr("10.0.0.1"), DstAddr: netip.MustParseAddr("10.0.0.2"),
		Packets: 3, Bytes: 0x0102, SrcPort: 0x1516, DstPort: 0x1718, IPProto: 6,
		Start: flow.TimeOf(boot.Add(time.Second)), End: flow.TimeOf(boot.Add(2 * time.Second)),
		Direction: flow.Egress, MPLSLabel: 0xabcde,
	}
	if err := b.AddFlow(&r); err != nil {
		t.Fatal(err)
	}
	got := b.Finish()
	want := []byte{
		0, 9, 0, 5, // version, count: 2 templates, options template, options record, 1 record
		0, 1, 0x5f, 0x90, // sysUptime 90000 ms: the export time is whole seconds
		0x65, 0x53, 0xf1, 0x5a, // unix secs 1700000090
		0, 0, 0, 0, // sequence
		1, 2, 3, 4, // source ID
	}
	want = append(want, 0, 0, 0, byte(4+2*(4+4*29)))
	for _, v6 := range []bool{false, true} {
		id := byte(0)
		if v6 {
			id = 1
		}
		want = append(want, 1, id, 0, 29)
		for _, f := range [][2]uint16{{8, 4}, {12, 4}, {15, 4}, {18, 4}, {1, 8}, {2, 8}, {22, 4}, {21, 4}, {7, 2}, {11, 2}, {32, 2},
			{10, 4}, {14, 4}, {16, 4}, {17, 4}, {70, 3}, {6, 2}, {4, 1}, {5, 1}, {9, 1}, {13, 1}, {58, 2}, {59, 2},
			{56, 6}, {80, 6}, {61, 1}, {136, 1}, {38, 1}, {39, 1}} {
			if v6 {
				switch f[0] {
				case 8, 12, 15, 18:
					f = [2]uint16{map[uint16]uint16{8: 27, 12: 28, 15: 62, 18: 63}[f[0]], 16}
				case 9, 13:
					f[0] = map[uint16]uint16{9: 29, 13: 30}[f[0]]
				}
			}
			want = append(want, byte(f[0]>>8), byte(f[0]), byte(f[1]>>8), byte(f[1]))
		}
	}
	want = append(want,
		0, 1, 0, 24, 1, 2, 0, 4, 0, 8, 0, 1, 0, 4, 0, 34, 0, 4, 0, 35, 0, 1, 0, 0, // options template 258
		1, 2, 0, 16, 0, 0, 0, 0, 0, 0, 0, 100, 1, 0, 0, 0, // system 0, interval 100, algorithm 1
		1, 0, 0, 4+92, // data FlowSet 256, one 91-byte record and 1 byte of padding
		10, 0, 0, 1, 10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, // addresses, zero next hops
		0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 0, 3, // bytes, packets
		0, 0, 0x03, 0xe8, 0, 0, 0x07, 0xd0, // first 1000 ms, last 2000 ms
		0x15, 0x16, 0x17, 0x18, // ports
		0, 0, // ICMP type and code: not ICMP
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // interfaces, AS numbers
		0xab, 0xcd, 0xe0, // MPLS label 0xabcde, EXP 0, bottom-of-stack 0
		0, 0, 6, 0, 0, 0, // TCP flags, protocol, ToS, masks
		0, 0, 0, 0, // VLANs
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // MACs
		1, 0, 0, 0, // direction egress, end reason, engine type and ID
		0, // padding
	)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("packet bytes (-want +got):\n%s", diff)
	}
}

func TestEncodeAllocatesNothing(t *testing.T) {
	recs := testRecords(30, flow.TimeOf(time.Unix(1700000000, 0)))
	b := netflow9.Builder{Boot: time.Unix(1699990000, 0), SamplingInterval: 10, MaxSize: 9000}
	buf := make([]byte, 0, 9000)
	now := time.Unix(1700000010, 0)
	b.Start(buf[:0], now) // the first packet of a source ID allocates its state
	b.Finish()
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
		t.Errorf("encoding allocates %v times per packet, want 0", allocs)
	}
}
