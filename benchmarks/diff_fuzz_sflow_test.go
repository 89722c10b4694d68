package benchmarks

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/packet"
	"github.com/flowkit/flow/sflow"
	protoproducer "github.com/netsampler/goflow2/v2/producer/proto"
)

// FuzzDiffSFlow decodes a datagram with this library (Parser.AppendFlows) and with
// goflow2 (decoder and its default producer, which parses the sampled headers), and
// requires, when both read the whole datagram, one flow per flow sample on both sides
// and the same values in every field both fill: addresses, ports, protocol, sampling
// rate, interfaces, MACs, VLAN, ToS, TCP flags, AS numbers, masks, next hops, counters.
func FuzzDiffSFlow(f *testing.F) {
	f.Add(sflowDatagram)
	seedsFrom(f, "goflow2/*SFlow*.dat")
	seedsFrom(f, "cistern-sflow/*.dump")
	seedsFrom(f, "gopacket/*.dat")
	g := newGoflow2SFlow()
	f.Fuzz(func(t *testing.T, b []byte) {
		diffSFlow(t, g, b)
	})
}

// diffSFlow compares one datagram and returns how many flows it compared.
func diffSFlow(t *testing.T, g *goflow2SFlow, b []byte) int {
	var p sflow.Parser
	if _, err := p.Start(b); err != nil {
		return 0 // goflow2 may accept some of these; the comparison is on what both read
	}
	var ours []flow.Record
	var samples []sflow.Sample
	for p.Next() {
		var r flow.Record
		if p.Flow(&r) {
			ours = append(ours, r)
			samples = append(samples, p.Sample())
		}
	}
	if st := p.Stats(); p.Err() != nil || st.MalformedSamples > 0 || st.MalformedRecords > 0 || st.LengthMismatches > 0 {
		return 0 // we read part of it, or past a wrong length: what goflow2 read is not comparable
	}
	msgs, err := g.decode(b)
	if err != nil {
		return 0 // goflow2 stops at things we skip (unknown formats, trailing bytes)
	}
	defer g.done(msgs)
	if len(msgs) != len(ours) {
		t.Fatalf("goflow2 %d flows, flowkit %d", len(msgs), len(ours))
	}
	for i, m := range msgs {
		gm := m.(*protoproducer.ProtoProducerMessage)
		if d := sflowDiff(gm, &ours[i], samples[i]); d != "" {
			t.Fatalf("flow %d: %s\n goflow2 %+v\n flowkit %+v", i, d, &gm.FlowMessage, ours[i])
		}
	}
	return len(msgs)
}

// sflowDiff names the first field in which goflow2's flow and ours differ, "" if none.
// The sample is what flowkit read, for the predicates that name goflow2's known bugs.
func sflowDiff(g *protoproducer.ProtoProducerMessage, r *flow.Record, s sflow.Sample) string {
	addr := func(b []byte) netip.Addr { a, _ := netip.AddrFromSlice(b); return a.Unmap() }
	mac := func(m flow.MAC) uint64 {
		return uint64(m[0])<<40 | uint64(m[1])<<32 | uint64(m[2])<<24 | uint64(m[3])<<16 | uint64(m[4])<<8 | uint64(m[5])
	}
	for _, a := range []struct {
		name       string
		gf, flowkt netip.Addr
	}{
		{"source address", addr(g.SrcAddr), r.SrcAddr.Unmap()},
		{"destination address", addr(g.DstAddr), r.DstAddr.Unmap()},
		{"next hop", addr(g.NextHop), r.NextHop.Unmap()},
		{"BGP next hop", addr(g.BgpNextHop), r.BGPNextHop.Unmap()},
		{"agent", addr(g.SamplerAddress), r.Exporter.Unmap()},
	} {
		if a.name == "next hop" && goflow2DropsRouterWithBadMask(s) {
			continue
		}
		if (a.name == "source address" || a.name == "destination address") &&
			(goflow2ReadsInvalidIPv4(s) || goflow2ReusesPreviousHeader(s) || goflow2ReadsPastHeaderLength(s) || goflow2SkipsQinQTag(g)) {
			continue
		}
		if a.gf != a.flowkt && (a.gf.IsValid() || !a.flowkt.IsUnspecified()) {
			return fmt.Sprintf("%s: goflow2 %v, flowkit %v", a.name, a.gf, a.flowkt)
		}
	}
	// goflow2 keeps an 802.1Q tag of the sampled header in vlan_id and the extended
	// switch record's VLANs in src_vlan and dst_vlan; flowkit's VLAN is either.
	vlan := uint64(g.SrcVlan)
	if vlan == 0 {
		vlan = uint64(g.VlanId)
	}
	noHeader := goflow2IgnoresSampledRecords(s)
	// The header goflow2 decodes is not the one flowkit does: fields from it differ.
	otherHeader := goflow2ReusesPreviousHeader(s) || goflow2ReadsPastHeaderLength(s) || goflow2SkipsQinQTag(g)
	badIP := goflow2ReadsInvalidIPv4(s) || otherHeader
	laterFragment := goflow2ReadsPortsOfLaterFragment(s) || goflow2DropsCutTransport(s) || goflow2SkipsSCTP(g) ||
		goflow2IgnoresIPv4Options(s)
	// flowkit carries ICMP type and code in the destination port, as NetFlow does;
	// goflow2 in fields of their own.
	dstPort := uint64(g.DstPort)
	if g.Proto == 1 || g.Proto == 58 {
		dstPort = uint64(g.IcmpType<<8 | g.IcmpCode)
	}
	for _, v := range []struct {
		name       string
		gf, flowkt uint64
		known      bool // a goflow2 bug, named by the predicate that sets it
	}{
		{"bytes", g.Bytes, r.Bytes, noHeader && g.Bytes == 0},
		{"packets", g.Packets, r.Packets, false},
		{"sampling rate", g.SamplingRate, uint64(r.SamplingInterval), false},
		{"input interface", uint64(g.InIf), uint64(r.InIf), goflow2ReadsEncodedInterface(s.Input)},
		{"output interface", uint64(g.OutIf), uint64(r.OutIf), goflow2ReadsEncodedInterface(s.Output)},
		{"source AS", uint64(g.SrcAs), uint64(r.SrcAS), false},
		{"destination AS", uint64(g.DstAs), uint64(r.DstAS), goflow2ReadsFirstASSegment(s)},
		{"source mask", uint64(g.SrcNet), uint64(r.SrcMask), goflow2DropsRouterWithBadMask(s)},
		{"destination mask", uint64(g.DstNet), uint64(r.DstMask), goflow2DropsRouterWithBadMask(s)},
		{"source VLAN", vlan, uint64(r.VLAN), goflow2KeepsImpossibleVLAN(vlan) || otherHeader && g.SrcVlan == 0 || goflow2SkipsQinQTag(g)},
		{"destination VLAN", uint64(g.DstVlan), uint64(r.OutVLAN), goflow2KeepsImpossibleVLAN(uint64(g.DstVlan))},
		{"source MAC", g.SrcMac, mac(r.SrcMAC), noHeader && g.SrcMac == 0 || otherHeader},
		{"destination MAC", g.DstMac, mac(r.DstMAC), noHeader && g.DstMac == 0 || otherHeader},
		{"IP protocol", uint64(g.Proto), uint64(r.IPProto), badIP || goflow2ReportsIPv6ExtensionAsProtocol(g) || goflow2KeepsImpossibleWord(uint64(g.Proto), 0xff)},
		{"source port", uint64(g.SrcPort), uint64(r.SrcPort), badIP || laterFragment || goflow2KeepsImpossibleWord(uint64(g.SrcPort), 0xffff)},
		{"destination port", dstPort, uint64(r.DstPort), badIP || laterFragment || goflow2DropsSFlowICMP(g) || goflow2KeepsImpossibleWord(dstPort, 0xffff)},
		{"TCP flags", uint64(g.TcpFlags), uint64(r.TCPFlags), badIP || laterFragment || goflow2DropsHighTCPFlags(g.TcpFlags, r.TCPFlags) || noHeader && g.TcpFlags == 0 || goflow2KeepsImpossibleWord(uint64(g.TcpFlags), 0xffff)},
		{"ToS", uint64(g.IpTos), uint64(r.ToS), badIP || noHeader && g.IpTos == 0 || goflow2KeepsImpossibleWord(uint64(g.IpTos), 0xff)},
	} {
		if v.gf != v.flowkt && !v.known {
			return fmt.Sprintf("%s: goflow2 %d, flowkit %d", v.name, v.gf, v.flowkt)
		}
	}
	return ""
}

// goflow2ReadsEncodedInterface: goflow2 reports an sFlow interface word as an ifIndex
// whatever its format (sFlow v5 section 5: the top two bits of the compact form, the
// format word of the expanded one, say "dropped, with this reason" or "several
// interfaces, this many"), and 0x3fffffff, the agent itself, as interface 1073741823.
// flowkit reports those as 0 (no interface).
func goflow2ReadsEncodedInterface(i sflow.Interface) bool {
	return i.Format != sflow.IfIndex || i.Value == sflow.InternalInterface
}

// goflow2IgnoresSampledRecords: goflow2's producer takes the frame length, MACs, TCP
// flags and ToS from a sampled header only; a flow sample that carries a sampled
// Ethernet, IPv4 or IPv6 record instead (sFlow v5 formats 2, 3, 4) leaves them zero,
// though those records carry them.
func goflow2IgnoresSampledRecords(s sflow.Sample) bool {
	for rs := s.Records(); rs.Next(); {
		if rs.Record().Format == sflow.FlowSampledHeader {
			return false
		}
	}
	return true
}

// goflow2DropsRouterWithBadMask: goflow2 drops an extended router record whose prefix
// lengths cannot be (above 128), next hop included; flowkit keeps the next hop and
// reports the masks as 0.
func goflow2DropsRouterWithBadMask(s sflow.Sample) bool {
	for rs := s.Records(); rs.Next(); {
		if r := rs.Record(); r.Format == sflow.FlowExtRouter {
			if x, err := r.ExtendedRouter(); err == nil && (x.SrcMask > 128 || x.DstMask > 128) {
				return true
			}
		}
	}
	return false
}

// goflow2ReadsFirstASSegment: goflow2 takes the destination AS from the first segment of
// the extended gateway's AS path; it is the last AS of the last segment (the origin),
// which flowkit reports. Only paths of more than one segment differ.
func goflow2ReadsFirstASSegment(s sflow.Sample) bool {
	for rs := s.Records(); rs.Next(); {
		if r := rs.Record(); r.Format == sflow.FlowExtGateway {
			if x, err := r.ExtendedGateway(); err == nil && len(x.Path.Segments(nil)) > 1 {
				return true
			}
		}
	}
	return false
}

// goflow2DropsSFlowICMP: goflow2's producer reads ICMP type and code from NetFlow and
// IPFIX fields only; for a sampled ICMP header it leaves both zero (goflow2's own
// TestSFlowDecode datagram holds an echo request, type 8, that it reports as type 0).
func goflow2DropsSFlowICMP(g *protoproducer.ProtoProducerMessage) bool {
	return (g.Proto == 1 || g.Proto == 58) && g.IcmpType == 0 && g.IcmpCode == 0
}

// goflow2KeepsImpossibleVLAN: goflow2 reports an extended switch record's 32-bit VLAN
// words as they are; a VLAN ID has 12 bits (IEEE 802.1Q), and flowkit reports a value
// above 4095 as no VLAN.
func goflow2KeepsImpossibleVLAN(v uint64) bool { return v > 4095 }

// goflow2KeepsImpossibleWord: a sampled IPv4 or IPv6 record (sFlow v5 formats 3 and 4)
// carries the IP protocol, ports, TCP flags and ToS in 32-bit words; goflow2 reports a
// word wider than the value it stands for as it is (protocol 808464432), flowkit as
// absent (0), as it does impossible VLAN words.
func goflow2KeepsImpossibleWord(v, max uint64) bool { return v > max }

// goflow2ReadsInvalidIPv4: goflow2 decodes what follows an IPv4 (IPv6) EtherType in a
// sampled header as an IPv4 (IPv6) header whatever its version nibble and header length
// say (found by the 10-minute runs: version 3, header length 0; an IPv6 EtherType behind
// an 802.1Q tag with version 3); flowkit's packet parser stops there as malformed and
// reports no addresses, protocol, ports, flags or ToS.
func goflow2ReadsInvalidIPv4(s sflow.Sample) bool {
	_, h, p, ok := ethernetHeader(s)
	if !ok {
		return false
	}
	if p.Stop == packet.StopTruncated && p.Offsets.Network >= 0 && p.Offsets.Transport < 0 {
		// The header ends inside the IP header: goflow2 still reports addresses
		// (reading past the bytes the record gives), flowkit none.
		return true
	}
	if p.EtherType == packet.EtherTypeIPv6 {
		return p.IPVersion != 6 // the version nibble is not 6
	}
	if p.EtherType != packet.EtherTypeIPv4 {
		return false
	}
	if p.IPVersion != 4 {
		return true // the version nibble is not 4
	}
	off := int(p.Offsets.Network)
	return off >= 0 && off < len(h.Header) && h.Header[off]&0x0f < 5
}

// goflow2ReadsPortsOfLaterFragment: goflow2 reads a transport header after an IPv4
// header whose fragment offset is not 0 (found by the 10-minute run: offset 4144); only
// the first fragment carries one (RFC 791), and flowkit reports no ports or TCP flags
// for later fragments.
func goflow2ReadsPortsOfLaterFragment(s sflow.Sample) bool {
	_, _, p, ok := ethernetHeader(s)
	if !ok {
		return false
	}
	return p.Frag&packet.FragNotFirst != 0
}

// goflow2DropsHighTCPFlags is a mapping, not a bug: goflow2 reports the 8 flag bits of
// the TCP header's 14th byte; flowkit also the NS bit (RFC 3540) and the reserved bits of
// the 13th, as IPFIX tcpControlBits (16 bits) carries them. The low 8 must agree.
func goflow2DropsHighTCPFlags(g uint32, ours uint16) bool {
	return ours > 0xff && g == uint32(ours&0xff)
}

// goflow2DropsCutTransport: when the sampled header ends inside the TCP or UDP header
// (agents cut headers at a fixed length, 128 bytes by default), or the TCP header's data
// offset is impossible, goflow2 reports no ports or flags at all; flowkit decodes the
// header as far as it goes (the ports are its first four bytes, whatever follows), as
// the sFlow issue asks.
func goflow2DropsCutTransport(s sflow.Sample) bool {
	_, _, p, ok := ethernetHeader(s)
	if !ok {
		return false
	}
	return (p.Stop == packet.StopTruncated || p.Stop == packet.StopMalformed) && p.Offsets.Transport >= 0
}

// goflow2ReusesPreviousHeader: a flow sample whose sampled header is shorter than an
// Ethernet header (0 or 10 bytes in the inputs the 10-minute runs found) gets, from
// goflow2, the addresses and other header fields of the flow sample before it in the
// datagram: its producer does not clear what the previous header set. flowkit reports
// none.
func goflow2ReusesPreviousHeader(s sflow.Sample) bool {
	r, ok := headerRecord(s)
	if !ok {
		return false
	}
	h, err := r.SampledHeader()
	// A record whose header length runs past the record's own length: flowkit refuses
	// the record (counted as malformed), goflow2 reads on (found by the 10-minute run)
	// and reports what it finds there.
	return err != nil || h.Protocol == sflow.HeaderEthernet && len(h.Header) < 14
}

// goflow2SkipsSCTP: goflow2 decodes no SCTP header (IP protocol 132) and reports no
// ports for it; flowkit reads SCTP's ports as it does TCP's and UDP's (found by the
// 10-minute run).
func goflow2SkipsSCTP(g *protoproducer.ProtoProducerMessage) bool {
	return g.Proto == 132 && g.SrcPort == 0 && g.DstPort == 0
}

// goflow2ReadsPastHeaderLength: goflow2 decodes a sampled header record's bytes up to
// the end of the record, past the header length the record declares (found by the
// 10-minute run: a 14-byte header in an 84-byte record, the VLAN tag and IPv6 header
// taken from the bytes after it). flowkit reads the declared header only; when that is
// cut short, the two differ. Any of the sample's header records may be the one (a later
// run found it in the second of two: header length 0, 32 bytes after it that goflow2
// read as an Ethernet header with MACs 30:30:30:30:30:30).
func goflow2ReadsPastHeaderLength(s sflow.Sample) bool {
	const fixed = 16 // protocol, frame length, stripped, header length
	for rs := s.Records(); rs.Next(); {
		r := rs.Record()
		if r.Format != sflow.FlowSampledHeader {
			continue
		}
		h, p, ok := parseEthernet(r)
		if ok && p.Stop == packet.StopTruncated && len(r.Data) > fixed+(len(h.Header)+3)&^3 {
			return true
		}
	}
	return false
}

// goflow2IgnoresIPv4Options: goflow2 takes the transport header to start 20 bytes after
// an IPv4 header's start whatever its header length field says (found by CI's 5-second
// run: IHL 13, so goflow2 read ports from the middle of the options); flowkit starts it
// where IHL says (RFC 791).
func goflow2IgnoresIPv4Options(s sflow.Sample) bool {
	_, h, p, ok := ethernetHeader(s)
	if !ok {
		return false
	}
	off := int(p.Offsets.Network)
	return p.IPVersion == 4 && off >= 0 && off < len(h.Header) && h.Header[off]&0x0f > 5
}

// goflow2SkipsQinQTag: goflow2 decodes 802.1Q tags (0x8100) only; a tag with the
// 802.1ad EtherType 0x88a8 or the pre-standard 0x9100 ends its parse (found by the
// 10-minute runs), and it reports no VLAN and nothing of what follows the tag; flowkit
// reads those tags too, and the packet behind them.
func goflow2SkipsQinQTag(g *protoproducer.ProtoProducerMessage) bool {
	return g.Etype == 0x88a8 || g.Etype == 0x9100
}

// goflow2ReportsIPv6ExtensionAsProtocol is a mapping, not a bug: behind an IPv6
// extension header goflow2 reports the header's own number (43 for a routing header) as
// the protocol in some cases; flowkit reports the upper-layer protocol the chain of
// extension headers ends in, as NetFlow and IPFIX exporters do (found by the 10-minute
// run).
func goflow2ReportsIPv6ExtensionAsProtocol(g *protoproducer.ProtoProducerMessage) bool {
	switch g.Proto {
	case 0, 43, 44, 50, 51, 60, 135, 139, 140: // hop-by-hop, routing, fragment, ESP, AH, destination options, mobility, HIP, shim6
		return g.Etype == 0x86dd
	}
	return false
}

// TestDiffSFlowCompares makes sure the differential target compares flows (the
// benchmark datagram's 8) and that a difference in a field is named.
func TestDiffSFlowCompares(t *testing.T) {
	g := newGoflow2SFlow()
	if n := diffSFlow(t, g, sflowDatagram); n != sflowFlowSamples {
		t.Errorf("compared %d flows, want %d", n, sflowFlowSamples)
	}
	msgs, err := g.decode(sflowDatagram)
	if err != nil {
		t.Fatal(err)
	}
	defer g.done(msgs)
	var p sflow.Parser
	if _, err := p.Start(sflowDatagram); err != nil || !p.Next() {
		t.Fatal(err)
	}
	var r flow.Record
	p.Flow(&r)
	r.DstPort++
	if d := sflowDiff(msgs[0].(*protoproducer.ProtoProducerMessage), &r, p.Sample()); d == "" {
		t.Error("a different destination port went unnoticed")
	}
}

// headerRecord returns the sample's first sampled header record, the one both decoders
// take the packet's fields from.
func headerRecord(s sflow.Sample) (sflow.Record, bool) {
	for rs := s.Records(); rs.Next(); {
		if r := rs.Record(); r.Format == sflow.FlowSampledHeader {
			return r, true
		}
	}
	return sflow.Record{}, false
}

// ethernetHeader returns the sample's first sampled header record, the header in it
// and that header as flowkit's packet parser reads it, if it is an Ethernet one, for the
// predicates that tell where goflow2 reads it otherwise.
func ethernetHeader(s sflow.Sample) (sflow.Record, sflow.SampledHeader, packet.Packet, bool) {
	r, ok := headerRecord(s)
	if !ok {
		return r, sflow.SampledHeader{}, packet.Packet{}, false
	}
	h, p, ok := parseEthernet(r)
	return r, h, p, ok
}

// parseEthernet reads a sampled header record's header as flowkit does, if it is an
// Ethernet one.
func parseEthernet(r sflow.Record) (sflow.SampledHeader, packet.Packet, bool) {
	var p packet.Packet
	h, err := r.SampledHeader()
	if err != nil || h.Protocol != sflow.HeaderEthernet {
		return h, p, false
	}
	p.Parse(h.Header, packet.Ethernet, nil)
	return h, p, true
}
