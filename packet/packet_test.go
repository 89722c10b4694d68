package packet_test

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/packet"
)

// Byte builders for the test packets. Each returns the header; payloads are appended by
// the caller.

func h(s string) []byte {
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "\n", "", "\t", "").Replace(s))
	if err != nil {
		panic(err)
	}
	return b
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

var (
	dstMAC = h("0a0b0c0d0e0f")
	srcMAC = h("020304050607")
)

func eth(etherType uint16, tags ...uint32) []byte {
	b := cat(dstMAC, srcMAC)
	for _, t := range tags { // TPID<<16 | TCI
		b = binary.BigEndian.AppendUint32(b, t)
	}
	return binary.BigEndian.AppendUint16(b, etherType)
}

// ipv4 builds an IPv4 header with options (a multiple of 4 bytes) and the given total length.
func ipv4(proto byte, src, dst string, totalLen uint16, fragField uint16, opts []byte) []byte {
	ihl := (20 + len(opts)) / 4
	b := []byte{byte(0x40 | ihl), 0xb8}
	b = binary.BigEndian.AppendUint16(b, totalLen)
	b = binary.BigEndian.AppendUint16(b, 0x1234) // id
	b = binary.BigEndian.AppendUint16(b, fragField)
	b = append(b, 63, proto, 0, 0)
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	b = append(append(append(b, s[:]...), d[:]...), opts...)
	return b
}

func ipv6(next byte, src, dst string, payloadLen uint16) []byte {
	b := []byte{0x6a, 0x1b, 0xcd, 0xef} // traffic class 0xa1, flow label 0xbcdef
	b = binary.BigEndian.AppendUint16(b, payloadLen)
	b = append(b, next, 58)
	s, d := netip.MustParseAddr(src).As16(), netip.MustParseAddr(dst).As16()
	return append(append(b, s[:]...), d[:]...)
}

func tcp(sport, dport uint16, dataOffset byte, flags uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = append(b, 0, 0, 0, 1, 0, 0, 0, 2)                      // seq, ack
	b = append(b, dataOffset<<4|byte(flags>>8&1), byte(flags)) // data offset, NS, flags
	b = append(b, 0xff, 0xff, 0, 0, 0, 0)                      // window, checksum, urgent
	return append(b, make([]byte, int(dataOffset)*4-20)...)    // options
}

func udp(sport, dport uint16, length uint16) []byte {
	b := binary.BigEndian.AppendUint16(nil, sport)
	b = binary.BigEndian.AppendUint16(b, dport)
	b = binary.BigEndian.AppendUint16(b, length)
	return append(b, 0, 0)
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// want lists the fields a test checks; zero values are checked too.
type want struct {
	etherType         uint16
	vlans             uint8
	vlan, innerVLAN   uint16
	mplsLabels        uint8
	ipVersion         uint8
	proto             uint8
	src, dst          netip.Addr
	sport, dport      uint16
	tcpFlags          uint16
	tos, ttl          uint8
	ipLength          uint16
	frag              uint8
	fragOffset        uint16
	fragID            uint32
	icmpType, icmpCod uint8
	stop              packet.Stop
	network           int32
	transport         int32
	payload           int32
	tunnel            packet.Tunnel
	tunnelID          uint32
	decapsulated      bool
	extHeaders        uint8
}

func check(t *testing.T, p *packet.Packet, w want) {
	t.Helper()
	got := want{
		etherType: p.EtherType, vlans: p.VLANs, vlan: p.VLAN, innerVLAN: p.InnerVLAN, mplsLabels: p.MPLSLabels,
		ipVersion: p.IPVersion, proto: p.Proto, src: p.SrcAddr, dst: p.DstAddr, sport: p.SrcPort, dport: p.DstPort,
		tcpFlags: p.TCPFlags, tos: p.ToS, ttl: p.TTL, ipLength: p.IPLength, frag: p.Frag, fragOffset: p.FragOffset,
		fragID: p.FragID, icmpType: p.ICMPType, icmpCod: p.ICMPCode, stop: p.Stop,
		network: p.Offsets.Network, transport: p.Offsets.Transport, payload: p.Offsets.Payload,
		tunnel: p.Tunnel.Type, tunnelID: p.Tunnel.ID, decapsulated: p.Tunnel.Decapsulated, extHeaders: p.ExtHeaders,
	}
	if got != w {
		t.Errorf("got  %+v\nwant %+v", got, w)
	}
}

var (
	v4a, v4b = "192.0.2.1", "198.51.100.2"
	v6a, v6b = "2001:db8::1", "2001:db8:ff::2"
)

func TestParse(t *testing.T) {
	tcpSYN := tcp(40000, 443, 5, 0x002)
	tests := []struct {
		name  string
		b     []byte
		first packet.Layer
		opts  *packet.Options
		want  want
	}{
		{"ethernet ipv4 tcp", cat(eth(0x0800), ipv4(6, v4a, v4b, 40, 0x4000, nil), tcpSYN), packet.Ethernet, nil, want{
			etherType: 0x0800, ipVersion: 4, proto: 6, src: addr(v4a), dst: addr(v4b), sport: 40000, dport: 443,
			tcpFlags: 2, tos: 0xb8, ttl: 63, ipLength: 40, frag: packet.FragDont, fragID: 0x1234,
			network: 14, transport: 34, payload: 54}},
		{"tcp data offset and NS flag", cat(eth(0x0800), ipv4(6, v4a, v4b, 52, 0, nil), tcp(1, 2, 8, 0x1d2), []byte("xy")), packet.Ethernet, nil, want{
			etherType: 0x0800, ipVersion: 4, proto: 6, src: addr(v4a), dst: addr(v4b), sport: 1, dport: 2,
			tcpFlags: 0x1d2, tos: 0xb8, ttl: 63, ipLength: 52, fragID: 0x1234, network: 14, transport: 34, payload: 66}},
		{"ipv4 options", cat(eth(0x0800), ipv4(17, v4a, v4b, 36, 0, h("94040000 01010100")), udp(53, 5353, 8)), packet.Ethernet, nil, want{
			etherType: 0x0800, ipVersion: 4, proto: 17, src: addr(v4a), dst: addr(v4b), sport: 53, dport: 5353,
			tos: 0xb8, ttl: 63, ipLength: 36, fragID: 0x1234, network: 14, transport: 42, payload: 50}},
		{"802.1Q", cat(eth(0x86dd, 0x81002064), ipv6(17, v6a, v6b, 8), udp(123, 123, 8)), packet.Ethernet, nil, want{
			etherType: 0x86dd, vlans: 1, vlan: 100, ipVersion: 6, proto: 17, src: addr(v6a), dst: addr(v6b), sport: 123, dport: 123,
			tos: 0xa1, ttl: 58, ipLength: 48, network: 18, transport: 58, payload: 66}},
		{"QinQ", cat(eth(0x0800, 0x88a80065, 0x810000c8), ipv4(6, v4a, v4b, 40, 0, nil), tcpSYN), packet.Ethernet, nil, want{
			etherType: 0x0800, vlans: 2, vlan: 101, innerVLAN: 200, ipVersion: 4, proto: 6, src: addr(v4a), dst: addr(v4b),
			sport: 40000, dport: 443, tcpFlags: 2, tos: 0xb8, ttl: 63, ipLength: 40, fragID: 0x1234, network: 22, transport: 42, payload: 62}},
		{"MPLS stack", cat(eth(0x8847), h("00064000 0000a040 003e8140"), ipv4(1, v4a, v4b, 28, 0, nil), h("0b00ffff 00000000")), packet.Ethernet, nil, want{
			etherType: 0x0800, mplsLabels: 3, ipVersion: 4, proto: 1, src: addr(v4a), dst: addr(v4b), dport: 0,
			tos: 0xb8, ttl: 63, ipLength: 28, fragID: 0x1234, icmpType: 11, network: 26, transport: 46, payload: 50}},
		{"LLC SNAP", cat(dstMAC, srcMAC, h("0032 aaaa03 000000 0800"), ipv4(17, v4a, v4b, 28, 0, nil), udp(1, 2, 8)), packet.Ethernet, nil, want{
			etherType: 0x0800, ipVersion: 4, proto: 17, src: addr(v4a), dst: addr(v4b), sport: 1, dport: 2,
			tos: 0xb8, ttl: 63, ipLength: 28, fragID: 0x1234, network: 22, transport: 42, payload: 50}},
		{"PPPoE session", cat(eth(0x8864), h("1100 0001 002a 0057"), ipv6(58, v6a, v6b, 8), h("80000000 00010002")), packet.Ethernet, nil, want{
			etherType: 0x86dd, ipVersion: 6, proto: 58, src: addr(v6a), dst: addr(v6b), icmpType: 128,
			tos: 0xa1, ttl: 58, ipLength: 48, network: 22, transport: 62, payload: 66}},
		{"ipv4 first fragment", cat(eth(0x0800), ipv4(17, v4a, v4b, 1500, 0x2000, nil), udp(5000, 6000, 3000)), packet.Ethernet, nil, want{
			etherType: 0x0800, ipVersion: 4, proto: 17, src: addr(v4a), dst: addr(v4b), sport: 5000, dport: 6000,
			tos: 0xb8, ttl: 63, ipLength: 1500, frag: packet.FragMore | packet.FragFragment, fragID: 0x1234,
			network: 14, transport: 34, payload: 42}},
		{"ipv4 later fragment", cat(eth(0x0800), ipv4(17, v4a, v4b, 548, 0x00b9, nil), udp(5000, 6000, 3000)), packet.Ethernet, nil, want{
			etherType: 0x0800, ipVersion: 4, proto: 17, src: addr(v4a), dst: addr(v4b),
			tos: 0xb8, ttl: 63, ipLength: 548, frag: packet.FragFragment | packet.FragNotFirst, fragOffset: 1480, fragID: 0x1234,
			network: 14, transport: -1, payload: -1}},
		{"ipv6 extension headers and SRv6", cat(ipv6(0, v6a, v6b, 96),
			h("2b00 010400000000"),                                                                                                   // hop-by-hop: next routing, 8 bytes of PadN
			h("2c04 0401 01000000"), cat(netip.MustParseAddr("2001:db8::a").AsSlice(), netip.MustParseAddr("2001:db8::b").AsSlice()), // SRH: next fragment, 2 segments, 1 left
			h("3c00 0000 0000abcd"), // fragment: next destination options, offset 0, id 0xabcd
			h("0600 010400000000"),  // destination options: next TCP
			tcpSYN), packet.IPv6, nil, want{
			etherType: 0x86dd, ipVersion: 6, proto: 6, src: addr(v6a), dst: addr(v6b), sport: 40000, dport: 443, tcpFlags: 2,
			tos: 0xa1, ttl: 58, ipLength: 136, frag: packet.FragFragment, fragID: 0xabcd, extHeaders: 4,
			network: 0, transport: 104, payload: 124}},
		{"ipv6 later fragment", cat(ipv6(44, v6a, v6b, 64), h("1100 0599 00000007"), udp(1, 2, 3)), packet.IP, nil, want{
			etherType: 0x86dd, ipVersion: 6, proto: 17, src: addr(v6a), dst: addr(v6b),
			tos: 0xa1, ttl: 58, ipLength: 104, frag: packet.FragFragment | packet.FragNotFirst | packet.FragMore, fragOffset: 0x598, fragID: 7,
			extHeaders: 1, network: 0, transport: -1, payload: -1}},
		{"sctp", cat(ipv4(132, v4a, v4b, 32, 0, nil), h("0b5913c4 00000000 00000000")), packet.IPv4, nil, want{
			etherType: 0x0800, ipVersion: 4, proto: 132, src: addr(v4a), dst: addr(v4b), sport: 2905, dport: 5060,
			tos: 0xb8, ttl: 63, ipLength: 32, fragID: 0x1234, network: 0, transport: 20, payload: 32}},
		{"truncated in tcp", cat(eth(0x0800), ipv4(6, v4a, v4b, 1500, 0, nil), tcpSYN[:6]), packet.Ethernet, nil, want{
			etherType: 0x0800, ipVersion: 4, proto: 6, src: addr(v4a), dst: addr(v4b), sport: 40000, dport: 443,
			tos: 0xb8, ttl: 63, ipLength: 1500, fragID: 0x1234, stop: packet.StopTruncated, network: 14, transport: 34, payload: -1}},
		{"truncated in ipv6", cat(eth(0x86dd), ipv6(6, v6a, v6b, 20)[:30]), packet.Ethernet, nil, want{
			etherType: 0x86dd, ipVersion: 6, stop: packet.StopTruncated, network: 14, transport: -1, payload: -1}},
		{"ipv4 header length below 20", cat(ipv4(6, v4a, v4b, 40, 0, nil)[:1], []byte{0xb8}, ipv4(6, v4a, v4b, 40, 0, nil)[2:]), packet.IP, nil, want{
			etherType: 0x0800, ipVersion: 4, proto: 6, src: addr(v4a), dst: addr(v4b), tos: 0xb8, ttl: 63, ipLength: 40, fragID: 0x1234,
			stop: packet.StopComplete, network: 0, transport: 20, payload: -1}},
		{"unknown ethertype", eth(0x88cc), packet.Ethernet, nil, want{etherType: 0x88cc, stop: packet.StopUnsupported, network: -1, transport: -1, payload: -1}},
	}
	// The "below 20" case: a version/IHL byte of 0x44.
	tests[len(tests)-2].b[0] = 0x44
	tests[len(tests)-2].want.stop = packet.StopMalformed
	tests[len(tests)-2].want.transport, tests[len(tests)-2].want.payload = -1, -1
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p packet.Packet
			p.Parse(tt.b, tt.first, tt.opts)
			check(t, &p, tt.want)
		})
	}
}

func TestParseMACsAndMPLS(t *testing.T) {
	b := cat(eth(0x8847), h("00064000 0000a040 003e8140"), ipv4(17, v4a, v4b, 28, 0, nil), udp(1, 2, 8))
	var p packet.Packet
	p.Parse(b, packet.Ethernet, nil)
	if p.DstMAC != flow.MAC(dstMAC) || p.SrcMAC != flow.MAC(srcMAC) {
		t.Errorf("MACs %v %v", p.SrcMAC, p.DstMAC)
	}
	// 100, 10, 1000 with bottom of stack on the last.
	if p.MPLS[0]>>12 != 100 || p.MPLS[1]>>12 != 10 || p.MPLS[2]>>12 != 1000 || p.MPLS[2]&0x100 == 0 || p.Offsets.MPLS != 14 {
		t.Errorf("MPLS stack % x at %d", p.MPLS, p.Offsets.MPLS)
	}
}

func TestParseSRv6Active(t *testing.T) {
	seg0, seg1 := netip.MustParseAddr("2001:db8::a"), netip.MustParseAddr("2001:db8::b")
	b := cat(ipv6(43, v6a, v6b, 40+8), h("2904 0401 01000000"), seg0.AsSlice(), seg1.AsSlice(), ipv6(59, v6b, v6a, 0))
	var p packet.Packet
	p.Parse(b, packet.IPv6, nil)
	active, ok := p.SRv6Active()
	if !ok || active != seg1 || p.SRv6Segments != 2 || p.SRv6SegsLeft != 1 {
		t.Errorf("SRv6: active %v %v, %d segments, %d left", active, ok, p.SRv6Segments, p.SRv6SegsLeft)
	}
	if p.Proto != 41 {
		t.Errorf("proto after the SRH = %d, want 41 (IPv6 in IPv6)", p.Proto)
	}
	// With IP-in-IP decapsulation, the inner packet is the flow.
	p.Parse(b, packet.IPv6, &packet.Options{Decap: packet.DecapIPIP})
	if p.SrcAddr != addr(v6b) || p.DstAddr != addr(v6a) || !p.Tunnel.Decapsulated || p.Tunnel.Type != packet.TunnelIPIP ||
		p.Tunnel.SrcAddr != addr(v6a) || p.Offsets.Network != 80 || p.Tunnel.Outer.Network != 0 {
		t.Errorf("decapsulated: %+v", p)
	}
}

func TestParseTunnels(t *testing.T) {
	innerEth := cat(h("aabbccddeeff 112233445566 0800"), ipv4(6, "10.0.0.1", "10.0.0.2", 40, 0, nil), tcp(1234, 80, 5, 0x18))
	vxlan := cat(eth(0x0800), ipv4(17, v4a, v4b, uint16(20+8+8+len(innerEth)), 0, nil), udp(50000, 4789, uint16(8+8+len(innerEth))),
		h("08000000 00123400"), innerEth)
	geneve := cat(eth(0x86dd), ipv6(17, v6a, v6b, uint16(8+16+len(innerEth))), udp(50000, 6081, 0),
		h("02006558 00abcd00 01020304 05060708"), innerEth) // 8 bytes of options
	greInner := cat(ipv4(17, "10.1.1.1", "10.2.2.2", 28, 0, nil), udp(7, 9, 8))
	gre := cat(eth(0x0800), ipv4(47, v4a, v4b, uint16(20+12+len(greInner)), 0, nil), h("20000800 0000002a"), greInner)

	tests := []struct {
		name        string
		b           []byte
		decap       packet.Decap
		src, dst    string
		sport       uint16
		tunnel      packet.Tunnel
		id          uint32
		decapsulate bool
		srcMAC      string
	}{
		{"vxlan outer", vxlan, 0, v4a, v4b, 50000, packet.TunnelVXLAN, 0x1234, false, "02:03:04:05:06:07"},
		{"vxlan inner", vxlan, packet.DecapVXLAN, "10.0.0.1", "10.0.0.2", 1234, packet.TunnelVXLAN, 0x1234, true, "11:22:33:44:55:66"},
		{"vxlan not asked", vxlan, packet.DecapGRE, v4a, v4b, 50000, packet.TunnelVXLAN, 0x1234, false, "02:03:04:05:06:07"},
		{"geneve outer", geneve, 0, v6a, v6b, 50000, packet.TunnelGeneve, 0xabcd, false, "02:03:04:05:06:07"},
		{"geneve inner", geneve, packet.DecapAll, "10.0.0.1", "10.0.0.2", 1234, packet.TunnelGeneve, 0xabcd, true, "11:22:33:44:55:66"},
		{"gre outer", gre, 0, v4a, v4b, 0, packet.TunnelGRE, 42, false, "02:03:04:05:06:07"},
		{"gre inner", gre, packet.DecapGRE, "10.1.1.1", "10.2.2.2", 7, packet.TunnelGRE, 42, true, "02:03:04:05:06:07"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p packet.Packet
			p.Parse(tt.b, packet.Ethernet, &packet.Options{Decap: tt.decap})
			if p.SrcAddr != addr(tt.src) || p.DstAddr != addr(tt.dst) || p.SrcPort != tt.sport || p.Stop != packet.StopComplete {
				t.Errorf("flow %v:%d > %v (%v)", p.SrcAddr, p.SrcPort, p.DstAddr, p.Stop)
			}
			if p.Tunnel.Type != tt.tunnel || p.Tunnel.ID != tt.id || p.Tunnel.Decapsulated != tt.decapsulate {
				t.Errorf("tunnel %+v", p.Tunnel)
			}
			if p.SrcMAC.String() != tt.srcMAC {
				t.Errorf("src MAC %v, want %s", p.SrcMAC, tt.srcMAC)
			}
			if tt.decapsulate {
				if p.Tunnel.SrcAddr != addr(strings.Split(tt.name, " ")[0][:0]+map[bool]string{true: v6a, false: v4a}[tt.tunnel == packet.TunnelGeneve]) {
					t.Errorf("outer source %v", p.Tunnel.SrcAddr)
				}
				if p.Tunnel.Outer.Network != 14 || p.Offsets.Network <= p.Tunnel.Outer.Transport {
					t.Errorf("offsets: outer %+v inner %+v", p.Tunnel.Outer, p.Offsets)
				}
			}
		})
	}
}

// TestParseEveryTruncation cuts packets at every length and checks that the parse stops
// cleanly and that every field it did reach agrees with the full parse.
func TestParseEveryTruncation(t *testing.T) {
	packets := [][]byte{
		cat(eth(0x0800, 0x81000064), ipv4(6, v4a, v4b, 52, 0, h("01010101")), tcp(1, 2, 7, 0x12)),
		cat(eth(0x86dd), ipv6(0, v6a, v6b, 40), h("2c00 010400000000"), h("1100 0000 00000001"), udp(1, 2, 8), h("08000000 00000100"),
			h("aabbccddeeff 112233445566 0800"), ipv4(1, "10.0.0.1", "10.0.0.2", 28, 0, nil), h("08000000")),
		cat(eth(0x8847), h("00064140"), ipv6(58, v6a, v6b, 8), h("87000000 00000000")),
	}
	for i, full := range packets {
		for _, opts := range []*packet.Options{nil, {Decap: packet.DecapAll}} {
			var whole, cut packet.Packet
			whole.Parse(full, packet.Ethernet, opts)
			if whole.Stop != packet.StopComplete {
				t.Fatalf("packet %d: full parse stops %v", i, whole.Stop)
			}
			for n := 0; n < len(full); n++ {
				cut.Parse(full[:n], packet.Ethernet, opts)
				if cut.Stop == packet.StopMalformed || cut.Stop == packet.StopUnsupported {
					t.Errorf("packet %d cut at %d: %v", i, n, cut.Stop)
				}
				if o := cut.Offsets; o.Payload > int32(n) || o.Transport > int32(n) || o.Network > int32(n) {
					t.Errorf("packet %d cut at %d: offsets %+v beyond the bytes", i, n, o)
				}
				if cut.SrcAddr.IsValid() && cut.Tunnel.Decapsulated == whole.Tunnel.Decapsulated && cut.SrcAddr != whole.SrcAddr {
					t.Errorf("packet %d cut at %d: source %v, full parse %v", i, n, cut.SrcAddr, whole.SrcAddr)
				}
				if cut.DstPort != 0 && cut.Tunnel.Decapsulated == whole.Tunnel.Decapsulated && cut.DstPort != whole.DstPort {
					t.Errorf("packet %d cut at %d: port %d, full parse %d", i, n, cut.DstPort, whole.DstPort)
				}
			}
		}
	}
}

func TestParseAllocatesNothing(t *testing.T) {
	b := cat(eth(0x0800, 0x81000064), ipv4(6, v4a, v4b, 40, 0, nil), tcp(1, 2, 5, 0x12))
	var p packet.Packet
	opts := &packet.Options{Decap: packet.DecapAll}
	if n := testing.AllocsPerRun(100, func() { p.Parse(b, packet.Ethernet, opts) }); n != 0 {
		t.Errorf("Parse allocates %v times", n)
	}
}

func BenchmarkParse(b *testing.B) {
	pkt := cat(eth(0x0800, 0x81000064), ipv4(6, v4a, v4b, 1500, 0x4000, nil), tcp(40000, 443, 8, 0x18), make([]byte, 60))[:128]
	var p packet.Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		p.Parse(pkt, packet.Ethernet, nil)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/packet")
}
