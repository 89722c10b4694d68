package sflow_test

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/corpus"
	"github.com/flowkit/flow/internal/flowtest"
	"github.com/flowkit/flow/sflow"
	"github.com/google/go-cmp/cmp"
)

// words encodes 32-bit words, for hand-made datagrams.
func words(ws ...uint32) []byte {
	var b []byte
	for _, w := range ws {
		b = binary.BigEndian.AppendUint32(b, w)
	}
	return b
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// tlv is a sample or record: its format, its length, its body.
func tlv(format uint32, body ...[]byte) []byte {
	c := cat(body...)
	return cat(words(format, uint32(len(c))), c)
}

// datagram is a version 5 header from agent 192.0.2.1, sub-agent 7, sequence 9, uptime
// 1000 ms, and the samples.
func datagram(samples ...[]byte) []byte {
	return cat(words(5, 1, 0xc0000201, 7, 9, 1000, uint32(len(samples))), cat(samples...))
}

// flowSample is a compact flow sample from ifIndex 3, rate 100, with the records.
func flowSample(records ...[]byte) []byte {
	return tlv(1, words(1, 3, 100, 1000, 0, 3, 4, uint32(len(records))), cat(records...))
}

var extSwitch = tlv(1001, words(10, 0, 20, 0))

func TestUnknownThingsAreSkippedAndCounted(t *testing.T) {
	b := datagram(
		tlv(99, words(1, 2, 3)),                                         // unknown sample format
		tlv(4242<<12|1, words(1, 2)),                                    // unknown enterprise
		flowSample(tlv(4242<<12|7, words(1)), tlv(999, nil), extSwitch), // unknown records around a known one
		flowSample(tlv(1001, words(30, 0, 40, 0, 0xdead, 0xbeef))),      // longer than known
	)
	var p sflow.Parser
	if _, err := p.Start(b); err != nil {
		t.Fatal(err)
	}
	var kinds []sflow.Kind
	var vlans []uint16
	for p.Next() {
		s := p.Sample()
		kinds = append(kinds, s.Kind())
		var r flow.Record
		if p.Flow(&r) {
			vlans = append(vlans, r.VLAN)
		}
		if s.Kind() == sflow.KindUnknown && len(s.Data()) == 0 {
			t.Error("unknown sample without its data")
		}
	}
	if p.Err() != nil {
		t.Fatal(p.Err())
	}
	want := []sflow.Kind{sflow.KindUnknown, sflow.KindUnknown, sflow.KindFlow, sflow.KindFlow}
	if !cmp.Equal(kinds, want) || !cmp.Equal(vlans, []uint16{10, 30}) {
		t.Errorf("kinds %v VLANs %v", kinds, vlans)
	}
	if st := p.Stats(); st != (sflow.Stats{UnknownSamples: 2, UnknownRecords: 2}) {
		t.Errorf("stats %+v", st)
	}
}

// TestCountsBoundedByBytes: an 80-byte datagram claiming 20 million samples, or a sample
// claiming 20 million records, costs no more than the bytes it has.
func TestCountsBoundedByBytes(t *testing.T) {
	hugeSamples := cat(words(5, 1, 0xc0000201, 0, 1, 1, 20_000_000), make([]byte, 52))
	hugeRecords := datagram(tlv(1, words(1, 3, 100, 1000, 0, 3, 4, 20_000_000), extSwitch))
	gateway := datagram(flowSample(tlv(1003, words(1, 0x0a000001, 1, 2, 3, 20_000_000, 2, 1, 5))))
	var p sflow.Parser
	for _, tt := range []struct {
		name string
		b    []byte
		err  error
	}{
		{"samples", hugeSamples, flow.ErrTruncated},
		{"records", hugeRecords, nil},
		{"AS path segments", gateway, nil},
	} {
		allocs := testing.AllocsPerRun(10, func() {
			p.Start(tt.b)
			var r flow.Record
			for p.Next() {
				p.Flow(&r)
			}
		})
		if !errors.Is(p.Err(), tt.err) || (tt.err == nil && p.Err() != nil) {
			t.Errorf("%s: err %v", tt.name, p.Err())
		}
		if allocs > 6 {
			t.Errorf("%s: %v allocations", tt.name, allocs)
		}
	}
	// The sample claiming 20 million records is skipped as malformed; so is the gateway
	// record claiming 20 million segments, when Flow decodes it.
	p.Start(hugeRecords)
	for p.Next() {
	}
	if st := p.Stats(); st.MalformedSamples != 1 || p.Skipped() == nil {
		t.Errorf("huge record count: %+v %v", st, p.Skipped())
	}
	p.Start(gateway)
	var r flow.Record
	for p.Next() {
		p.Flow(&r)
	}
	if st := p.Stats(); st.MalformedRecords != 1 {
		t.Errorf("huge segment count: %+v", st)
	}
}

// TestUnknownAgentAddress: address type 0 (UNKNOWN) has no address bytes and is valid
// (sFlow v5, address_type). tshark reads such datagrams; so must the parser.
func TestUnknownAgentAddress(t *testing.T) {
	good := datagram(flowSample(extSwitch))
	b := cat(words(5, 0), good[12:]) // the 4-byte IPv4 address goes with its type
	var p sflow.Parser
	h, err := p.Start(b)
	if err != nil {
		t.Fatal(err)
	}
	if h.Agent.IsValid() || h.SubAgent != 7 || h.Sequence != 9 || h.Samples != 1 {
		t.Errorf("header %+v", h)
	}
	if !p.Next() || p.Next() || p.Err() != nil {
		t.Errorf("samples: %v", p.Err())
	}
	if _, err := p.Start(b[:23]); !errors.Is(err, flow.ErrTruncated) || !strings.Contains(err.Error(), "need 24 bytes") {
		t.Errorf("short header: %v", err)
	}
}

func TestBadDatagrams(t *testing.T) {
	good := datagram(flowSample(extSwitch))
	tests := []struct {
		name   string
		b      []byte
		start  error // from Start
		next   error // from Err after Next
		offset int
	}{
		{"empty", nil, flow.ErrTruncated, nil, 0},
		{"version 4", cat(words(4), good[4:]), flow.ErrVersion, nil, 0},
		{"agent type 3", cat(words(5, 3), good[8:]), flow.ErrMalformed, nil, 4},
		{"short IPv6 header", cat(words(5, 2), make([]byte, 20)), flow.ErrTruncated, nil, 0},
		{"missing sample", cat(good[:24], words(2), good[28:]), nil, flow.ErrTruncated, len(good)},
		{"sample past the end", good[:len(good)-1], nil, flow.ErrTruncated, 68}, // its record runs past the datagram
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p sflow.Parser
			_, err := p.Start(tt.b)
			if !errors.Is(err, tt.start) || (tt.start == nil && err != nil) {
				t.Fatalf("Start: %v, want %v", err, tt.start)
			}
			n := 0
			for p.Next() {
				n++
			}
			if tt.next != nil && !errors.Is(p.Err(), tt.next) {
				t.Fatalf("Err: %v, want %v", p.Err(), tt.next)
			}
			got := err
			if got == nil {
				got = p.Err()
			}
			var pe *flow.ParseError
			if !errors.As(got, &pe) || pe.Offset != tt.offset || pe.Protocol != flow.SFlow {
				t.Errorf("error %#v, want a ParseError at offset %d", got, tt.offset)
			}
		})
	}
	// After any of them, the parser reads a good datagram.
	var p sflow.Parser
	p.Start(cat(words(5, 1), make([]byte, 3)))
	if _, err := p.Start(good); err != nil || !p.Next() || p.Next() || p.Err() != nil {
		t.Errorf("parser state leaked: %v", p.Err())
	}
}

// TestLengthsDisagreeingWithContent covers what agents send: a sample length shorter than
// its records, one running past the datagram, and one longer than its records (padding).
func TestLengthsDisagreeingWithContent(t *testing.T) {
	second := flowSample(tlv(1001, words(20, 0, 20, 0)))
	short := flowSample(extSwitch)
	binary.BigEndian.PutUint32(short[4:], binary.BigEndian.Uint32(short[4:])-4)
	long := flowSample(extSwitch)
	binary.BigEndian.PutUint32(long[4:], binary.BigEndian.Uint32(long[4:])+4)
	padded := tlv(1, words(1, 3, 100, 1000, 0, 3, 4, 1), extSwitch, words(2, 12, 1, 1, 0)) // padding reads as a counter sample
	tests := []struct {
		name       string
		b          []byte
		vlans      []uint16
		mismatches int
	}{
		{"short", datagram(short, second), []uint16{10, 20}, 1},
		{"past the end", datagram(long), []uint16{10}, 1},
		{"padding", datagram(padded, second), []uint16{10, 20}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p sflow.Parser
			if _, err := p.Start(tt.b); err != nil {
				t.Fatal(err)
			}
			var vlans []uint16
			for p.Next() {
				var r flow.Record
				if !p.Flow(&r) {
					t.Errorf("sample %s", p.Sample().Format)
				}
				vlans = append(vlans, r.VLAN)
			}
			if p.Err() != nil || !cmp.Equal(vlans, tt.vlans) || p.Stats().LengthMismatches != tt.mismatches {
				t.Errorf("VLANs %v, err %v, stats %+v", vlans, p.Err(), p.Stats())
			}
		})
	}
}

// TestEthernetMACPadding: each MAC of a sampled_ethernet record is followed by two bytes
// of padding; a decoder that skips them misreads the destination MAC.
func TestEthernetMACPadding(t *testing.T) {
	rec := tlv(2, words(64), []byte{1, 2, 3, 4, 5, 6, 0xee, 0xee}, []byte{7, 8, 9, 10, 11, 12, 0xee, 0xee}, words(0x0800))
	var p sflow.Parser
	p.Start(datagram(flowSample(rec)))
	p.Next()
	var r flow.Record
	p.Flow(&r)
	if r.SrcMAC != (flow.MAC{1, 2, 3, 4, 5, 6}) || r.DstMAC != (flow.MAC{7, 8, 9, 10, 11, 12}) || r.Bytes != 64 {
		t.Errorf("MACs %v %v bytes %d", r.SrcMAC, r.DstMAC, r.Bytes)
	}
}

// TestDiscardSample decodes an event_discarded_packet (sflow_drops.txt) with its
// drop-reason records.
func TestDiscardSample(t *testing.T) {
	str := func(s string) []byte {
		b := words(uint32(len(s)))
		b = append(b, s...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	b := datagram(tlv(5, words(77, 0, 12, 3, 12, 0, 258, 5),
		tlv(1036, words(42)),
		tlv(1037, words(9), str("deny-all"), words(sflow.ACLIngress)),
		tlv(1038, str("ip_rcv_finish")),
		tlv(1041, str("l3_drops"), str("blackhole_route")),
		tlv(1042, str("NETFILTER_DROP")),
	))
	var p sflow.Parser
	if _, err := p.Start(b); err != nil {
		t.Fatal(err)
	}
	if !p.Next() {
		t.Fatal(p.Err())
	}
	s := p.Sample()
	if s.Kind() != sflow.KindDiscard || s.Sequence != 77 || s.SourceIndex != 12 || s.Drops != 3 || s.Input.IfIndex() != 12 ||
		s.Output.IfIndex() != 0 || s.Reason != 258 || s.NumRecords != 5 {
		t.Errorf("sample %+v", s)
	}
	var r flow.Record
	if p.Flow(&r) {
		t.Error("a discard sample filled a flow record")
	}
	rs := s.Records()
	rs.Next()
	if q := must[uint32](t)(rs.Record().Uint32()); q != 42 {
		t.Errorf("egress queue %d", q)
	}
	rs.Next()
	if acl := must[sflow.ExtendedACL](t)(rs.Record().ExtendedACL()); acl.Number != 9 || string(acl.Name) != "deny-all" || acl.Direction != sflow.ACLIngress {
		t.Errorf("ACL %+v", acl)
	}
	rs.Next()
	if fn := must[[]byte](t)(rs.Record().Text()); string(fn) != "ip_rcv_finish" {
		t.Errorf("function %q", fn)
	}
	rs.Next()
	if trap := must[sflow.ExtendedHWTrap](t)(rs.Record().ExtendedHWTrap()); string(trap.Group) != "l3_drops" || string(trap.Trap) != "blackhole_route" {
		t.Errorf("trap %+v", trap)
	}
	rs.Next()
	if reason := must[[]byte](t)(rs.Record().Text()); string(reason) != "NETFILTER_DROP" {
		t.Errorf("reason %q", reason)
	}
	if rs.Next() || p.Stats() != (sflow.Stats{}) {
		t.Errorf("extra record, or stats %+v", p.Stats())
	}
}

// TestRecordDecoders decodes one hand-made record of each remaining known format.
func TestRecordDecoders(t *testing.T) {
	v4 := words(1, 0x0a000001)
	v6 := cat(words(2), netip.MustParseAddr("2001:db8::9").AsSlice())
	rec := func(f uint32, body ...[]byte) sflow.Record {
		d := cat(body...)
		return sflow.Record{Format: sflow.Format(f), Data: d}
	}
	mpls := must[sflow.ExtendedMPLS](t)(rec(1006, v6, words(2, 100<<12, 200<<12|0x100), words(1, 300<<12|0x100)).ExtendedMPLS())
	if mpls.NextHop != netip.MustParseAddr("2001:db8::9") || mpls.InStack.Len() != 2 || mpls.InStack.At(1)>>12 != 200 || mpls.OutStack.At(0)>>12 != 300 {
		t.Errorf("MPLS %+v", mpls)
	}
	nat := must[sflow.ExtendedNAT](t)(rec(1007, v4, v6).ExtendedNAT())
	if nat.SrcAddr != netip.MustParseAddr("10.0.0.1") || nat.DstAddr != netip.MustParseAddr("2001:db8::9") {
		t.Errorf("NAT %+v", nat)
	}
	tun := must[sflow.ExtendedMPLSName](t)(rec(1008, words(5), []byte("lsp-1\x00\x00\x00"), words(7, 3)).ExtendedMPLSName())
	if string(tun.Name) != "lsp-1" || tun.ID != 7 || tun.COS != 3 {
		t.Errorf("MPLS tunnel %+v", tun)
	}
	ftn := must[sflow.ExtendedMPLSFTN](t)(rec(1010, words(0), words(24)).ExtendedMPLSFTN())
	if len(ftn.Descr) != 0 || ftn.Mask != 24 {
		t.Errorf("FTN %+v", ftn)
	}
	if w := must[sflow.Words](t)(rec(1012, words(2, 0x81000064, 0x810000c8)).Words()); w.Len() != 2 || w.At(1)&0xfff != 200 {
		t.Errorf("VLAN tunnel %v", w.Append(nil))
	}
	if vni := must[uint32](t)(rec(1030, words(5000)).Uint32()); vni != 5000 {
		t.Errorf("VNI %d", vni)
	}
	eth := must[sflow.SampledEthernet](t)(rec(1022, words(100), []byte{1, 2, 3, 4, 5, 6, 0, 0, 6, 5, 4, 3, 2, 1, 0, 0}, words(0x86dd)).SampledEthernet())
	if eth.DstMAC != (flow.MAC{6, 5, 4, 3, 2, 1}) || eth.Type != 0x86dd {
		t.Errorf("L2 tunnel %+v", eth)
	}
	ip6 := must[sflow.SampledIP](t)(rec(1026, words(1400, 17), netip.MustParseAddr("2001:db8::1").AsSlice(), netip.MustParseAddr("2001:db8::2").AsSlice(), words(4789, 4789, 0, 0)).SampledIPv6())
	if ip6.DstAddr != netip.MustParseAddr("2001:db8::2") || ip6.DstPort != 4789 {
		t.Errorf("IPv6 tunnel %+v", ip6)
	}
	sock := must[sflow.ExtendedSocket](t)(rec(2101, words(6), netip.MustParseAddr("2001:db8::1").AsSlice(), netip.MustParseAddr("2001:db8::2").AsSlice(), words(443, 50000)).ExtendedSocket())
	if sock.Protocol != 6 || sock.RemoteAddr != netip.MustParseAddr("2001:db8::2") || sock.RemotePort != 50000 {
		t.Errorf("socket %+v", sock)
	}
	sock4 := must[sflow.ExtendedSocket](t)(rec(2100, words(17, 0x0a000001, 0x0a000002, 53, 40000)).ExtendedSocket())
	if sock4.LocalAddr != netip.MustParseAddr("10.0.0.1") || sock4.LocalPort != 53 {
		t.Errorf("socket %+v", sock4)
	}
	// A record shorter than its format says: an error naming the format and offset.
	_, err := sflow.Record{Format: sflow.FlowExtRouter, Offset: 100, Data: words(1, 0x0a000001)}.ExtendedRouter()
	var pe *flow.ParseError
	if !errors.As(err, &pe) || !errors.Is(err, flow.ErrTruncated) || pe.Offset != 100 || !strings.Contains(err.Error(), "0:1002") {
		t.Errorf("short record: %v", err)
	}
}

func TestCounterDecoders(t *testing.T) {
	rec := func(f uint32, body ...[]byte) sflow.Record {
		return sflow.Record{Format: sflow.Format(f), Counters: true, Data: cat(body...)}
	}
	seq := func(n int) []byte { // 1, 2, 3, … as 32-bit words
		var b []byte
		for i := 1; i <= n; i++ {
			b = binary.BigEndian.AppendUint32(b, uint32(i))
		}
		return b
	}
	if c := must[sflow.TokenRingCounters](t)(rec(3, seq(18)).TokenRingCounters()); c.LineErrors != 1 || c.FreqErrors != 18 {
		t.Errorf("token ring %+v", c)
	}
	if c := must[sflow.IEEE80211Counters](t)(rec(6, seq(20)).IEEE80211Counters()); c.TransmittedFragmentCount != 1 || c.QoSCFPollsLostCount != 20 {
		t.Errorf("802.11 %+v", c)
	}
	vg := must[sflow.VGCounters](t)(rec(4, words(1), words(0, 2), words(3), words(0, 4), seq(5)[4:], words(9), words(0, 10), words(11), words(0, 12), words(0, 13), words(0, 14)).VGCounters())
	if vg.InHighPriorityOctets != 2 || vg.InNormPriorityOctets != 4 || vg.OutHighPriorityOctets != 10 || vg.HCOutHighPriorityOctets != 14 {
		t.Errorf("100BaseVG %+v", vg)
	}
	sfp := must[sflow.SFPCounters](t)(rec(10, words(1, 4, 3300, 0xffffc568, 2), seq(10), seq(10)).SFPCounters())
	if sfp.Temperature != -15000 || sfp.Lanes.Len() != 2 || sfp.Lanes.At(1).RxWavelength != 10 || sfp.Lanes.At(0).TxPower != 3 {
		t.Errorf("SFP %+v", sfp)
	}
	if _, err := rec(10, words(1, 4, 3300, 0, 3), seq(10)).SFPCounters(); err == nil {
		t.Error("SFP claiming 3 lanes with 1 present decodes")
	}
	hd := must[sflow.HostDescr](t)(rec(2000, words(4), []byte("web1"), seq(4), words(3, 2, 5), []byte("6.1.0\x00\x00\x00")).HostDescr())
	if string(hd.Hostname) != "web1" || hd.UUID[3] != 1 || hd.MachineType != 3 || hd.OSName != 2 || string(hd.OSRelease) != "6.1.0" {
		t.Errorf("host descr %+v", hd)
	}
	ad := must[sflow.HostAdapters](t)(rec(2001, words(2, 1, 1), []byte{1, 2, 3, 4, 5, 6, 0, 0}, words(2, 0)).HostAdapters())
	if as := ad.Append(nil); len(as) != 2 || as[0].MACs.At(0) != (flow.MAC{1, 2, 3, 4, 5, 6}) || as[1].IfIndex != 2 || as[1].MACs.Len() != 0 {
		t.Errorf("adapters %+v", as)
	}
	cpu := must[sflow.HostCPU](t)(rec(2003, words(0x3f800000, 0x40000000, 0x40400000), seq(14)).HostCPU())
	if cpu.LoadFive != 2 || cpu.Contexts != 14 || cpu.Steal != 0 {
		t.Errorf("cpu %+v", cpu)
	}
	cpu = must[sflow.HostCPU](t)(rec(2003, words(0, 0, 0), seq(17)).HostCPU())
	if cpu.GuestNice != 17 {
		t.Errorf("cpu with steal and guest %+v", cpu)
	}
	mem := must[sflow.HostMemory](t)(rec(2004, words(0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7), seq(4)).HostMemory())
	if mem.SwapFree != 7 || mem.SwapOut != 4 {
		t.Errorf("memory %+v", mem)
	}
	dsk := must[sflow.HostDiskIO](t)(rec(2005, words(0, 1, 0, 2, 3, 4, 0, 5, 6, 7, 0, 8, 9)).HostDiskIO())
	if dsk.BytesWritten != 8 || dsk.WriteTime != 9 || dsk.PartMaxUsed != 3 {
		t.Errorf("disk %+v", dsk)
	}
	nio := must[sflow.NetIO](t)(rec(2104, words(0, 1, 2, 3, 4, 0, 5, 6, 7, 8)).NetIO())
	if nio.BytesOut != 5 || nio.DropsOut != 8 {
		t.Errorf("net io %+v", nio)
	}
	if ip := must[sflow.MIB2IP](t)(rec(2007, seq(19)).MIB2IP()); ip.FragCreates != 19 {
		t.Errorf("ip %+v", ip)
	}
	if icmp := must[sflow.MIB2ICMP](t)(rec(2008, seq(25)).MIB2ICMP()); icmp.OutAddrMaskReps != 25 || icmp.InAddrMaskReps != 12 {
		t.Errorf("icmp %+v", icmp)
	}
	if tcp := must[sflow.MIB2TCP](t)(rec(2009, seq(15)).MIB2TCP()); tcp.InCsumErrors != 15 {
		t.Errorf("tcp %+v", tcp)
	}
	if udp := must[sflow.MIB2UDP](t)(rec(2010, seq(7)).MIB2UDP()); udp.InCsumErrors != 7 {
		t.Errorf("udp %+v", udp)
	}
	if v := must[sflow.VirtNode](t)(rec(2100, words(2400, 8, 0, 3, 0, 4, 5)).VirtNode()); v.MemoryFree != 4 || v.NumDomains != 5 {
		t.Errorf("virt node %+v", v)
	}
	if v := must[sflow.VirtCPU](t)(rec(2101, seq(3)).VirtCPU()); v.NrVirtCPU != 3 {
		t.Errorf("virt cpu %+v", v)
	}
	if v := must[sflow.VirtMemory](t)(rec(2102, words(0, 1, 0, 2)).VirtMemory()); v.MaxMemory != 2 {
		t.Errorf("virt memory %+v", v)
	}
	if v := must[sflow.VirtDiskIO](t)(rec(2103, words(0, 1, 0, 2, 0, 3, 4, 0, 5, 6, 0, 7, 8)).VirtDiskIO()); v.WrBytes != 7 || v.Errs != 8 {
		t.Errorf("virt disk %+v", v)
	}
	if a := must[sflow.AppOperations](t)(rec(2202, words(3), []byte("api\x00"), seq(11)).AppOperations()); string(a.Application) != "api" || a.Unauthorized != 11 {
		t.Errorf("app operations %+v", a)
	}
	if a := must[sflow.AppWorkers](t)(rec(2206, seq(5)).AppWorkers()); a.ReqDropped != 5 {
		t.Errorf("app workers %+v", a)
	}
	if r := must[sflow.RadioCounters](t)(rec(1002, seq(3)).RadioCounters()); r.OnChannelBusyTime != 3 {
		t.Errorf("radio %+v", r)
	}
	if p := must[sflow.HostParent](t)(rec(2002, seq(2)).HostParent()); p.ContainerIndex != 2 {
		t.Errorf("parent %+v", p)
	}
	// Too short: an error, never a partial value.
	if c, err := rec(2, seq(12)).EthernetCounters(); err == nil || c != (sflow.EthernetCounters{}) {
		t.Errorf("12 words as ethernet counters: %+v %v", c, err)
	}
}

func TestParserAllocatesNothing(t *testing.T) {
	for _, name := range []string{"gopacket/SFlowTestPacket1.pcap", "tcpdump/sflow_expanded.pcap", "goflow2/TestExpandedSFlowDecode_data.dat"} {
		b := corpus.Datagrams(t, name)[0]
		var p sflow.Parser
		var r flow.Record
		out := make([]flow.Record, 0, 16)
		allocs := testing.AllocsPerRun(100, func() {
			if _, err := p.Start(b); err != nil {
				t.Fatal(err)
			}
			for p.Next() {
				p.Flow(&r)
				for rs := p.Sample().Records(); rs.Next(); {
					rec := rs.Record()
					if rec.Counters {
						var err error
						switch rec.Format {
						case sflow.CountersGeneric:
							_, err = rec.IfCounters()
						case sflow.CountersEthernet:
							_, err = rec.EthernetCounters()
						}
						if err != nil {
							t.Fatal(err)
						}
						continue
					}
					switch rec.Format {
					case sflow.FlowSampledHeader:
						if _, err := rec.SampledHeader(); err != nil {
							t.Fatal(err)
						}
					case sflow.FlowExtGateway:
						g, _ := rec.ExtendedGateway()
						g.DstAS()
					}
				}
			}
			p.Start(b)
			out = p.AppendFlows(out[:0])
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per datagram", name, allocs)
		}
	}
}

// TestFlowOverwritesEveryField: a record reused for the next sample keeps nothing of what
// it held, including fields added to flow.Record later.
func TestFlowOverwritesEveryField(t *testing.T) {
	for _, name := range []string{"gopacket/SFlowTestPacket1.pcap", "gopacket/SFlowEthernetFramePacket.dat", "gopacket/SFlowTestPacket6.dat"} {
		b := corpus.Datagrams(t, name)[0]
		var p sflow.Parser
		p.Start(b)
		for p.Next() {
			var fresh flow.Record
			if !p.Flow(&fresh) {
				continue
			}
			dirty := flowtest.Garbage()
			p.Flow(&dirty)
			if diff := cmp.Diff(fresh, dirty, flowtest.CmpAddr); diff != "" {
				t.Errorf("%s: fields kept (-fresh +reused):\n%s", name, diff)
			}
		}
	}
}

func TestAppendFlows(t *testing.T) {
	b := corpus.Datagrams(t, "gopacket/SFlowTestPacket1.pcap")[0]
	var p sflow.Parser
	p.Start(b)
	var oneByOne []flow.Record
	for p.Next() {
		var r flow.Record
		if p.Flow(&r) {
			oneByOne = append(oneByOne, r)
		}
	}
	p.Start(b)
	p.Next() // the first flow sample, read one by one
	var first flow.Record
	p.Flow(&first)
	dst := make([]flow.Record, 1, 3) // too small: AppendFlows grows it
	dst[0] = first
	got := p.AppendFlows(dst)
	if diff := cmp.Diff(oneByOne, got, flowtest.CmpAddr); diff != "" {
		t.Errorf("AppendFlows differs from Next and Flow (-Flow +AppendFlows):\n%s", diff)
	}
	if len(got) != 6 || p.Next() {
		t.Errorf("%d records; Next after AppendFlows: %v", len(got), p.Next())
	}
}

func TestBuilderRoundTrip(t *testing.T) {
	boot := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var recs []flow.Record
	for i := 0; i < 40; i++ {
		r := flow.Record{
			Protocol: flow.SFlow, Exporter: netip.MustParseAddr("192.0.2.7"), Domain: 3, Packets: 1,
			SrcAddr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), DstAddr: netip.MustParseAddr("198.51.100.9"),
			Bytes: uint64(64 + i), IPProto: 6, SrcPort: uint16(1000 + i), DstPort: 443, TCPFlags: 0x18, ToS: 0x20,
			InIf: uint32(1 + i%3), OutIf: 7, SamplingInterval: 512,
		}
		switch i % 4 {
		case 1:
			r.SrcAddr, r.DstAddr = netip.MustParseAddr("2001:db8::1"), netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 15: byte(i)})
			r.IPProto, r.DstPort, r.SrcPort, r.TCPFlags = 58, 128<<8, 0, 0
		case 2:
			r.SrcMAC, r.DstMAC, r.VLAN = flow.MAC{2, 0, 0, 0, 0, byte(i)}, flow.MAC{4, 0, 0, 0, 0, 1}, 100
		case 3:
			r.NextHop, r.SrcMask, r.DstMask = netip.MustParseAddr("192.0.2.254"), 24, 16
			r.BGPNextHop, r.SrcAS, r.DstAS = netip.MustParseAddr("203.0.113.1"), 64500, 4200000000
		}
		recs = append(recs, r)
	}
	b := sflow.Builder{Agent: netip.MustParseAddr("192.0.2.7"), SubAgent: 3, Boot: boot, MaxSize: 600}
	var buf []byte
	var datagrams [][]byte
	for i := 0; i < len(recs); {
		start := len(buf)
		b.Start(buf, boot.Add(time.Duration(len(datagrams))*time.Second))
		for i < len(recs) {
			if err := b.AddFlow(&recs[i]); errors.Is(err, flow.ErrFull) {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			i++
		}
		buf = b.Finish()
		datagrams = append(datagrams, buf[start:])
	}
	if len(datagrams) < 4 {
		t.Fatalf("%d datagrams of at most 600 bytes for 40 samples", len(datagrams))
	}
	var got []flow.Record
	var p sflow.Parser
	seqs := map[uint32]uint32{} // data source → last sample sequence
	for i, d := range datagrams {
		if len(d) > 600 {
			t.Errorf("datagram %d: %d bytes", i, len(d))
		}
		h, err := p.Start(d)
		if err != nil {
			t.Fatal(err)
		}
		if h.Sequence != uint32(i+1) || h.Uptime != uint32(i*1000) || h.SubAgent != 3 {
			t.Errorf("datagram %d header %+v", i, h)
		}
		for p.Next() {
			s := p.Sample()
			if s.Sequence != seqs[s.SourceIndex]+1 {
				t.Errorf("source %d: sample sequence %d after %d", s.SourceIndex, s.Sequence, seqs[s.SourceIndex])
			}
			seqs[s.SourceIndex] = s.Sequence
			var r flow.Record
			p.Flow(&r)
			got = append(got, r)
		}
		if p.Err() != nil || len(p.Trailing()) != 0 || p.Stats() != (sflow.Stats{}) {
			t.Errorf("datagram %d: %v %d %+v", i, p.Err(), len(p.Trailing()), p.Stats())
		}
	}
	if diff := cmp.Diff(recs, got, flowtest.CmpAddr); diff != "" {
		t.Errorf("round trip (-sent +received):\n%s", diff)
	}
}

func TestBuilderSequencesPerAgent(t *testing.T) {
	var b sflow.Builder
	now := time.Unix(1700000000, 0)
	seq := func(agent string, sub uint32) uint32 {
		b.Agent, b.SubAgent = netip.MustParseAddr(agent), sub
		b.Start(nil, now)
		if err := b.AddCounterSample(&sflow.CounterSample{SourceIndex: 1}); err != nil {
			t.Fatal(err)
		}
		var p sflow.Parser
		h, err := p.Start(b.Finish())
		if err != nil {
			t.Fatal(err)
		}
		return h.Sequence
	}
	got := []uint32{seq("192.0.2.1", 0), seq("192.0.2.1", 0), seq("192.0.2.1", 1), seq("2001:db8::1", 0), seq("192.0.2.1", 0), seq("192.0.2.1", 1)}
	if !cmp.Equal(got, []uint32{1, 2, 1, 1, 3, 2}) {
		t.Errorf("sequences %v", got)
	}
	// An empty datagram is taken back and does not count.
	b.Start(nil, now)
	if out := b.Finish(); len(out) != 0 {
		t.Errorf("empty datagram: %d bytes", len(out))
	}
	if s := seq("192.0.2.1", 0); s != 4 {
		t.Errorf("sequence after an empty datagram %d", s)
	}
}

func TestBuilderSamplesRoundTrip(t *testing.T) {
	hdr := []byte{0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 1, 2, 3, 4, 5, 6, 0x08, 0x00, 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
	gw := sflow.ExtendedGateway{NextHop: netip.MustParseAddr("2001:db8::1"), AS: 65000, SrcAS: 65001, SrcPeerAS: 65002,
		Path:        sflow.MakeASPath(sflow.ASSegment{Type: sflow.ASSequence, ASNs: sflow.MakeWords(1, 2)}, sflow.ASSegment{Type: sflow.ASSet, ASNs: sflow.MakeWords(3)}),
		Communities: sflow.MakeWords(100, 200), LocalPref: 150}
	fs := sflow.FlowSample{SourceType: 0, SourceIndex: 5, SamplingRate: 1000, SamplePool: 5000, Drops: 1,
		Input: sflow.Interface{Value: 5}, Output: sflow.Interface{Format: sflow.IfMultiple, Value: 3},
		Header:  &sflow.SampledHeader{Protocol: sflow.HeaderEthernet, FrameLength: 1518, Stripped: 4, Header: hdr},
		Switch:  &sflow.ExtendedSwitch{SrcVLAN: 10, DstVLAN: 20},
		Router:  &sflow.ExtendedRouter{NextHop: netip.MustParseAddr("10.0.0.254"), SrcMask: 24, DstMask: 8},
		Gateway: &gw,
		Raw:     []sflow.Record{{Format: sflow.FlowExtFunction, Data: cat(words(3), []byte("abc"))}},
	}
	expanded := fs
	expanded.SourceIndex, expanded.Input.Value = 1<<24, 1<<30 // too large for the compact format
	cs := sflow.CounterSample{SourceIndex: 5,
		Generic:   &sflow.IfCounters{Index: 5, Type: 6, Speed: 1e10, Direction: 1, Status: 3, InOctets: 1 << 40, OutErrors: 9},
		Ethernet:  &sflow.EthernetCounters{FCSErrors: 2, SymbolErrors: 13},
		VLAN:      &sflow.VLANCounters{VLAN: 10, Octets: 99, Discards: 1},
		Processor: &sflow.ProcessorCounters{FiveSecCPU: 1, FiveMinCPU: 3, FreeMemory: 1 << 33},
	}
	b := sflow.Builder{Agent: netip.MustParseAddr("2001:db8::99"), Boot: time.Unix(1000, 0)}
	b.Start(nil, time.Unix(1010, 0))
	for _, err := range []error{b.AddFlowSample(&fs), b.AddFlowSample(&expanded), b.AddCounterSample(&cs)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	out := b.Finish()
	ds := decodeAll(t, out)
	if len(ds) != 1 || len(ds[0].samples) != 3 || ds[0].h.Agent != b.Agent || ds[0].h.Uptime != 10000 {
		t.Fatalf("%+v", ds)
	}
	s0, s1, s2 := ds[0].samples[0], ds[0].samples[1], ds[0].samples[2]
	if s0.s.Format != sflow.SampleFlow || s1.s.Format != sflow.SampleFlowExpanded || s2.s.Format != sflow.SampleCounters {
		t.Errorf("formats %s %s %s", s0.s.Format, s1.s.Format, s2.s.Format)
	}
	if s1.s.SourceIndex != 1<<24 || s1.s.Input.Value != 1<<30 || s0.s.Output != fs.Output || s0.s.Drops != 1 || s0.s.SamplePool != 5000 {
		t.Errorf("samples %+v %+v", s0.s, s1.s)
	}
	for _, s := range []decodedSample{s0, s1} {
		if h := must[sflow.SampledHeader](t)(s.recs[0].SampledHeader()); !cmp.Equal(h, *fs.Header) {
			t.Errorf("header %+v", h)
		}
		if sw := must[sflow.ExtendedSwitch](t)(s.recs[1].ExtendedSwitch()); sw != *fs.Switch {
			t.Errorf("switch %+v", sw)
		}
		if rt := must[sflow.ExtendedRouter](t)(s.recs[2].ExtendedRouter()); rt != *fs.Router {
			t.Errorf("router %+v", rt)
		}
		if g := must[sflow.ExtendedGateway](t)(s.recs[3].ExtendedGateway()); !cmp.Equal(g, gw, flowtest.CmpAddr) {
			t.Errorf("gateway %+v", g)
		}
		if fn := must[[]byte](t)(s.recs[4].Text()); string(fn) != "abc" {
			t.Errorf("raw record %q", fn)
		}
	}
	if c := must[sflow.IfCounters](t)(s2.recs[0].IfCounters()); c != *cs.Generic {
		t.Errorf("generic %+v", c)
	}
	if c := must[sflow.EthernetCounters](t)(s2.recs[1].EthernetCounters()); c != *cs.Ethernet {
		t.Errorf("ethernet %+v", c)
	}
	if c := must[sflow.VLANCounters](t)(s2.recs[2].VLANCounters()); c != *cs.VLAN {
		t.Errorf("vlan %+v", c)
	}
	if c := must[sflow.ProcessorCounters](t)(s2.recs[3].ProcessorCounters()); c != *cs.Processor {
		t.Errorf("processor %+v", c)
	}
	// The flow view of the sample: the header's addresses, the records' extras.
	r := ds[0].flows[0]
	if r.SrcAddr != netip.MustParseAddr("10.0.0.1") || r.Bytes != 1518 || r.VLAN != 10 || r.DstAS != 3 || r.SrcAS != 65001 || r.OutIf != 0 {
		t.Errorf("flow %+v", r)
	}
}

// TestBuilderGolden pins the bytes of a small datagram: header, one flow sample with an
// extended switch record.
func TestBuilderGolden(t *testing.T) {
	b := sflow.Builder{Agent: netip.MustParseAddr("192.0.2.1"), SubAgent: 7, Boot: time.Unix(100, 0)}
	b.Start(nil, time.Unix(101, 0))
	err := b.AddFlowSample(&sflow.FlowSample{SourceIndex: 3, SamplingRate: 100, SamplePool: 1000,
		Input: sflow.Interface{Value: 3}, Output: sflow.Interface{Value: 4}, Switch: &sflow.ExtendedSwitch{SrcVLAN: 10, DstVLAN: 20}})
	if err != nil {
		t.Fatal(err)
	}
	want := words(
		5, 1, 0xc0000201, 7, 1, 1000, 1, // version, IPv4 agent, sub-agent, sequence 1, uptime 1000 ms, 1 sample
		1, 56, // flow sample, length
		1, 3, 100, 1000, 0, 3, 4, 1, // sequence 1, source 0:3, rate, pool, drops, in, out, 1 record
		1001, 16, 10, 0, 20, 0, // extended switch
	)
	if diff := cmp.Diff(want, b.Finish()); diff != "" {
		t.Errorf("datagram (-want +got):\n%s", diff)
	}
}

func TestBuilderAllocatesNothing(t *testing.T) {
	recs := make([]flow.Record, 8)
	for i := range recs {
		recs[i] = flow.Record{SrcAddr: netip.MustParseAddr("10.0.0.1"), DstAddr: netip.MustParseAddr("10.0.0.2"), Bytes: 100,
			SrcMAC: flow.MAC{1}, VLAN: 5, NextHop: netip.MustParseAddr("10.0.0.3"), SrcAS: 1, DstAS: 2, InIf: 1}
	}
	b := sflow.Builder{Agent: netip.MustParseAddr("192.0.2.1"), MaxSize: 4096}
	buf := make([]byte, 0, 4096)
	now := time.Unix(1700000000, 0)
	b.Start(buf[:0], now) // the first datagram remembers the agent and source
	b.AddFlow(&recs[0])
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
		t.Errorf("encoding allocates %v times per datagram", allocs)
	}
}

func TestAddFlowMixedFamilies(t *testing.T) {
	var b sflow.Builder
	b.Start(nil, time.Unix(1, 0))
	r := flow.Record{SrcAddr: netip.MustParseAddr("10.0.0.1"), DstAddr: netip.MustParseAddr("2001:db8::1")}
	if err := b.AddFlow(&r); !errors.Is(err, sflow.ErrMixedFamilies) {
		t.Errorf("err = %v", err)
	}
}

// TestSampledIPImpossibleWords: a sampled IPv4/IPv6 record carries protocol, ports, flags
// and ToS in 32-bit words; a word wider than what it stands for maps to no value in the
// flow record (not to its low bits), while the typed record keeps the word as sent.
func TestSampledIPImpossibleWords(t *testing.T) {
	const junk = 0x30303030
	for _, tc := range []struct {
		name string
		ip   sflow.SampledIP
		want flow.Record
	}{
		{"fits", sflow.SampledIP{Length: 60, Protocol: 6, SrcAddr: netip.MustParseAddr("10.0.0.1"), DstAddr: netip.MustParseAddr("10.0.0.2"),
			SrcPort: 40000, DstPort: 443, TCPFlags: 0x12, ToS: 0xb8},
			flow.Record{IPProto: 6, SrcPort: 40000, DstPort: 443, TCPFlags: 0x12, ToS: 0xb8}},
		{"too wide", sflow.SampledIP{Length: 60, Protocol: junk, SrcAddr: netip.MustParseAddr("2001:db8::1"), DstAddr: netip.MustParseAddr("2001:db8::2"),
			SrcPort: junk, DstPort: 0x10000, TCPFlags: junk, ToS: 0x100},
			flow.Record{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := sflow.FlowSample{SamplingRate: 10}
			if tc.ip.SrcAddr.Is4() {
				fs.IPv4 = &tc.ip
			} else {
				fs.IPv6 = &tc.ip
			}
			b := sflow.Builder{Agent: netip.MustParseAddr("192.0.2.1")}
			b.Start(nil, time.Unix(1000, 0))
			if err := b.AddFlowSample(&fs); err != nil {
				t.Fatal(err)
			}
			ds := decodeAll(t, b.Finish())
			r := ds[0].flows[0]
			got := flow.Record{IPProto: r.IPProto, SrcPort: r.SrcPort, DstPort: r.DstPort, TCPFlags: r.TCPFlags, ToS: r.ToS}
			if got != tc.want || r.SrcAddr != tc.ip.SrcAddr {
				t.Errorf("flow %+v, want %+v", got, tc.want)
			}
			rec := ds[0].samples[0].recs[0]
			var ip sflow.SampledIP
			var err error
			if tc.ip.SrcAddr.Is4() {
				ip, err = rec.SampledIPv4()
			} else {
				ip, err = rec.SampledIPv6()
			}
			if err != nil || ip != tc.ip {
				t.Errorf("typed record %+v, %v; sent %+v", ip, err, tc.ip)
			}
		})
	}
}
