// Package packet parses the link, network and transport headers of a packet into the fields
// a flow key needs, without allocating.
//
// It reads Ethernet (with 802.1Q and 802.1ad/QinQ tags, LLC/SNAP and PPPoE sessions), MPLS
// label stacks, IPv4 (options, fragments), IPv6 and its extension headers (hop-by-hop,
// routing including SRv6 segment routing headers, fragment, destination options,
// authentication), and then TCP, UDP, SCTP, ICMP and ICMPv6. Optionally it looks inside
// tunnels (VXLAN, Geneve, GRE, IP in IP) and reports the inner packet.
//
// Headers are often cut short: sFlow agents send the first 128 bytes of a sampled packet by
// default, and captures have a snap length. The parser decodes as far as the bytes go and
// says where it stopped ([Packet.Stop]); every field it did not reach keeps its zero value.
// It never reads past the slice and never fails: a header that contradicts itself (an IPv4
// header length below 20, say) ends the parse with [StopMalformed].
//
// The caller keeps one [Packet] and passes it to every [Packet.Parse] call: the result is
// overwritten in place, and nothing escapes to the heap.
//
// # Tunnels
//
// Which headers make the flow key when a packet is tunnelled is a choice, and
// [Options.Decap] makes it. By default (Decap is 0) the outer packet is the flow: that is
// what the device forwarded and what its interfaces and counters saw, and it matches what a
// router's own NetFlow or IPFIX export reports. With a tunnel's bit set in Decap, the parser
// continues into the inner packet and the flow-key fields (addresses, ports, protocol, ToS,
// TTL, lengths, fragment information, and MACs and VLANs when the inner packet is Ethernet)
// describe the inner packet; the outer endpoints stay in [Packet.Tunnel]. Either way the
// tunnel's type and identifier (VXLAN or Geneve VNI, GRE key) are reported when the outer
// transport header was reached.
package packet

import (
	"encoding/binary"
	"net/netip"

	"github.com/flowkit/flow"
)

// Layer names the header a packet starts with.
type Layer uint8

// The layers a packet can start with.
const (
	// Ethernet II or IEEE 802.3 with LLC/SNAP.
	Ethernet Layer = iota
	// IP: IPv4 or IPv6, told apart by the version nibble.
	IP
	// IPv4 only.
	IPv4
	// IPv6 only.
	IPv6
	// MPLS: a label stack, then IPv4 or IPv6 told apart by the version nibble.
	MPLS
)

// Decap is a set of tunnel types whose inner packet becomes the flow key.
type Decap uint8

// The tunnels the parser can look inside.
const (
	DecapVXLAN  Decap = 1 << iota // VXLAN, RFC 7348 (UDP port Options.VXLANPort, default 4789)
	DecapGeneve                   // Geneve, RFC 8926 (UDP port Options.GenevePort, default 6081)
	DecapGRE                      // GRE, RFC 2784/2890 (IP protocol 47), incl. transparent Ethernet bridging
	DecapIPIP                     // IPv4 or IPv6 directly in IPv4 or IPv6 (IP protocols 4 and 41)

	DecapAll = DecapVXLAN | DecapGeneve | DecapGRE | DecapIPIP
)

// Options configure a parse. The zero value parses the outer packet only and uses the
// standard tunnel ports.
type Options struct {
	// Decap selects the tunnels whose inner packet is the flow key (see the package
	// documentation). 0 keeps the outer packet.
	Decap Decap
	// VXLANPort and GenevePort are the UDP destination ports that mark those tunnels;
	// 0 means the IANA ports 4789 and 6081.
	VXLANPort, GenevePort uint16
}

// Stop says why a parse ended.
type Stop uint8

// Reasons a parse ends.
const (
	// StopComplete: the transport header was read (or, for a protocol without ports, the
	// network header was), or a non-first fragment was reached, which has no transport
	// header.
	StopComplete Stop = iota
	// StopTruncated: the bytes ended inside a header.
	StopTruncated
	// StopUnsupported: a header the parser does not know (an EtherType other than IP,
	// MPLS, VLAN or PPPoE; an IP protocol without ports it does not read; an encrypted
	// ESP payload; a pseudowire after an MPLS stack).
	StopUnsupported
	// StopMalformed: a header contradicts itself, such as an IPv4 header length below 20
	// bytes or a TCP data offset below 5 words.
	StopMalformed
)

var stopNames = [...]string{"complete", "truncated", "unsupported", "malformed"}

// String returns "complete", "truncated", "unsupported" or "malformed".
func (s Stop) String() string {
	if int(s) < len(stopNames) {
		return stopNames[s]
	}
	return "unknown"
}

// Tunnel names an encapsulation.
type Tunnel uint8

// Tunnel types.
const (
	TunnelNone Tunnel = iota
	TunnelVXLAN
	TunnelGeneve
	TunnelGRE
	TunnelIPIP // IPv4 or IPv6 in IPv4 or IPv6
)

var tunnelNames = [...]string{"none", "vxlan", "geneve", "gre", "ipip"}

// String returns the tunnel's short name.
func (t Tunnel) String() string {
	if int(t) < len(tunnelNames) {
		return tunnelNames[t]
	}
	return "unknown"
}

// Frag flags.
const (
	FragMore     = 1 << iota // more fragments follow (IPv4 MF, IPv6 M)
	FragDont                 // IPv4 don't fragment
	FragFragment             // the packet is a fragment (offset or MF non-zero, or an IPv6 fragment header)
	FragNotFirst             // a fragment other than the first: no transport header
	FragReserved             // the IPv4 reserved ("evil") bit
)

// MaxMPLS is the number of MPLS labels Packet keeps; deeper labels are counted, not kept.
const MaxMPLS = 4

// Offsets of the layers of a packet within the parsed bytes; -1 when the parse did not
// reach that layer.
type Offsets struct {
	// Link is where the Ethernet header starts (0 when the packet starts with one).
	Link int32
	// MPLS is where the label stack starts.
	MPLS int32
	// Network is where the IPv4 or IPv6 header starts.
	Network int32
	// Transport is where the TCP, UDP, SCTP, ICMP or GRE header starts (after IPv6
	// extension headers).
	Transport int32
	// Payload is where the transport payload starts.
	Payload int32
}

// TunnelInfo describes the tunnel a packet was found in.
type TunnelInfo struct {
	// Type is the encapsulation, TunnelNone when there is none.
	Type Tunnel
	// ID is the VXLAN or Geneve VNI, or the GRE key (0 when absent).
	ID uint32
	// SrcAddr and DstAddr are the outer IP endpoints.
	SrcAddr, DstAddr netip.Addr
	// Outer are the offsets of the outer packet's layers when the parse went on into the
	// inner packet (Options.Decap); then [Packet.Offsets] are the inner packet's.
	Outer Offsets
	// Decapsulated tells whether the flow-key fields describe the inner packet.
	Decapsulated bool
}

// Packet is the result of a parse: the fields a flow key needs, and where each layer
// starts. A field the parse did not reach is zero (an invalid netip.Addr for addresses).
type Packet struct {
	// SrcMAC and DstMAC are the Ethernet addresses.
	SrcMAC, DstMAC flow.MAC
	// EtherType is the type of what follows the Ethernet header and its VLAN tags
	// (0x0800 IPv4, 0x86dd IPv6, 0x8847 MPLS, …); for a packet that starts at the network
	// layer, the EtherType of that layer.
	EtherType uint16
	// VLANs counts the 802.1Q/802.1ad tags; VLAN is the outermost tag's VLAN ID and
	// InnerVLAN the second's (QinQ: service and customer VLAN). PCP is the outermost tag's
	// priority.
	VLANs          uint8
	PCP            uint8
	VLAN           uint16
	InnerVLAN      uint16
	MPLSLabels     uint8           // labels in the stack (may exceed MaxMPLS)
	MPLS           [MaxMPLS]uint32 // the label stack entries as on the wire: label<<12 | TC<<9 | S<<8 | TTL
	IPVersion      uint8           // 4 or 6; 0 when no IP header was reached
	Proto          uint8           // the IP protocol of the transport header (after IPv6 extension headers)
	ToS            uint8           // IPv4 type of service or IPv6 traffic class
	TTL            uint8           // IPv4 TTL or IPv6 hop limit
	Frag           uint8           // Frag* flags
	FragOffset     uint16          // fragment offset in bytes
	FragID         uint32          // IPv4 identification or IPv6 fragment identification
	FlowLabel      uint32          // IPv6 flow label
	IPLength       uint16          // IPv4 total length, or IPv6 payload length + 40
	SrcAddr        netip.Addr
	DstAddr        netip.Addr
	SrcPort        uint16 // TCP, UDP or SCTP source port
	DstPort        uint16 // TCP, UDP or SCTP destination port
	TCPFlags       uint16 // the 9 TCP flag bits, NS as 0x100
	ICMPType       uint8  // ICMP or ICMPv6 type
	ICMPCode       uint8  // ICMP or ICMPv6 code
	SRv6Segments   uint8  // segments in an IPv6 segment routing header
	SRv6SegsLeft   uint8  // segments left in that header
	ExtHeaders     uint8  // IPv6 extension headers walked
	Stop           Stop   // why the parse ended
	Offsets        Offsets
	Tunnel         TunnelInfo
	srv6Active     netip.Addr
	srv6ActiveSeen bool
}

// SRv6Active returns the active segment of an IPv6 segment routing header (the one
// Segments Left points at), if the header was read and the segment is within the bytes.
func (p *Packet) SRv6Active() (netip.Addr, bool) { return p.srv6Active, p.srv6ActiveSeen }

// EtherTypes and IP protocols the parser knows.
const (
	EtherTypeIPv4   = 0x0800
	EtherTypeARP    = 0x0806
	EtherTypeVLAN   = 0x8100
	EtherTypeQinQ   = 0x88a8
	EtherTypeQinQ2  = 0x9100 // pre-standard QinQ
	EtherTypeIPv6   = 0x86dd
	EtherTypeMPLS   = 0x8847
	EtherTypeMPLSMC = 0x8848
	EtherTypePPPoE  = 0x8864
	EtherTypeTEB    = 0x6558 // transparent Ethernet bridging (GRE, Geneve)

	ProtoICMP   = 1
	ProtoIPIP   = 4
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoIPv6   = 41
	ProtoGRE    = 47
	ProtoESP    = 50
	ProtoAH     = 51
	ProtoICMPv6 = 58
	ProtoSCTP   = 132
)

// maxTunnels bounds nested encapsulations; maxExtHeaders bounds IPv6 extension headers.
// Both are far above what real traffic has and keep the work per packet bounded.
const (
	maxTunnels    = 2
	maxExtHeaders = 16
)

var noOffsets = Offsets{-1, -1, -1, -1, -1}

// Parse reads the headers of b, starting with the given layer, into p, overwriting every
// field. It reports in p.Stop why it ended.
func (p *Packet) Parse(b []byte, first Layer, opts *Options) {
	p.reset()
	// Field by field: a composite literal is built in a temporary and copied, and reading
	// the copy back stalls on the stores that just built it.
	var s parser
	s.b, s.p, s.vxlanPort, s.genevePort = b, p, 4789, 6081
	if opts != nil {
		s.decap = opts.Decap
		if opts.VXLANPort != 0 {
			s.vxlanPort = opts.VXLANPort
		}
		if opts.GenevePort != 0 {
			s.genevePort = opts.GenevePort
		}
	}
	switch first {
	case Ethernet:
		s.ethernet(0)
	case IP:
		s.ip(0)
	case IPv4:
		if len(b) > 0 && b[0]>>4 != 4 {
			p.Stop = StopMalformed
			return
		}
		s.ip(0)
	case IPv6:
		if len(b) > 0 && b[0]>>4 != 6 {
			p.Stop = StopMalformed
			return
		}
		s.ip(0)
	case MPLS:
		p.EtherType = EtherTypeMPLS
		s.mpls(0)
	default:
		p.Stop = StopUnsupported
	}
}

// reset zeroes every field, one by one: assigning a whole Packet literal goes through a
// temporary and a typed copy, which costs more than the parse of a short header.
func (p *Packet) reset() {
	p.SrcMAC, p.DstMAC = flow.MAC{}, flow.MAC{}
	p.EtherType, p.VLANs, p.PCP, p.VLAN, p.InnerVLAN = 0, 0, 0, 0, 0
	p.MPLSLabels, p.MPLS = 0, [MaxMPLS]uint32{}
	p.IPVersion, p.Proto, p.ToS, p.TTL, p.Frag, p.FragOffset = 0, 0, 0, 0, 0, 0
	p.FragID, p.FlowLabel, p.IPLength = 0, 0, 0
	p.SrcAddr, p.DstAddr = netip.Addr{}, netip.Addr{}
	p.SrcPort, p.DstPort, p.TCPFlags, p.ICMPType, p.ICMPCode = 0, 0, 0, 0, 0
	p.SRv6Segments, p.SRv6SegsLeft, p.ExtHeaders, p.Stop = 0, 0, 0, StopComplete
	p.Offsets = noOffsets
	if p.Tunnel.Type != TunnelNone || p.Tunnel.Outer.Link != -1 || p.srv6ActiveSeen { // set only with a tunnel or an SRH
		p.Tunnel = TunnelInfo{Outer: noOffsets}
		p.srv6Active, p.srv6ActiveSeen = netip.Addr{}, false
	}
}

// parser carries the state of one parse.
type parser struct {
	b                     []byte
	p                     *Packet
	decap                 Decap
	vxlanPort, genevePort uint16
	tunnels               int
}

func (s *parser) stop(why Stop) { s.p.Stop = why }

func (s *parser) ethernet(off int) {
	p, b := s.p, s.b
	p.Offsets.Link = int32(off)
	if len(b) < off+14 {
		s.stop(StopTruncated)
		return
	}
	p.DstMAC = flow.MAC(b[off : off+6])
	p.SrcMAC = flow.MAC(b[off+6 : off+12])
	off += 12
	for {
		if len(b) < off+2 {
			s.stop(StopTruncated)
			return
		}
		et := binary.BigEndian.Uint16(b[off:])
		switch et {
		case EtherTypeVLAN, EtherTypeQinQ, EtherTypeQinQ2:
			if len(b) < off+6 {
				s.stop(StopTruncated)
				return
			}
			tci := binary.BigEndian.Uint16(b[off+2:])
			switch p.VLANs {
			case 0:
				p.VLAN, p.PCP = tci&0xfff, uint8(tci>>13)
			case 1:
				p.InnerVLAN = tci & 0xfff
			}
			if p.VLANs < 255 {
				p.VLANs++
			}
			off += 4
			continue
		}
		off += 2
		if et < 0x0600 { // IEEE 802.3 length: LLC, maybe SNAP
			if len(b) < off+3 {
				s.stop(StopTruncated)
				return
			}
			if b[off] != 0xaa || b[off+1] != 0xaa || b[off+2] != 0x03 {
				p.EtherType = 0
				s.stop(StopUnsupported)
				return
			}
			if len(b) < off+8 {
				s.stop(StopTruncated)
				return
			}
			et = binary.BigEndian.Uint16(b[off+6:])
			off += 8
		}
		p.EtherType = et
		s.etherType(et, off)
		return
	}
}

// etherType continues after an EtherType (Ethernet, GRE, Geneve).
func (s *parser) etherType(et uint16, off int) {
	switch et {
	case EtherTypeIPv4, EtherTypeIPv6:
		s.ip(off)
	case EtherTypeMPLS, EtherTypeMPLSMC:
		s.mpls(off)
	case EtherTypePPPoE:
		s.pppoe(off)
	default:
		s.stop(StopUnsupported)
	}
}

func (s *parser) pppoe(off int) {
	b := s.b
	// 6 bytes of PPPoE header, then a 2-byte PPP protocol.
	if len(b) < off+8 {
		s.stop(StopTruncated)
		return
	}
	switch binary.BigEndian.Uint16(b[off+6:]) {
	case 0x0021:
		s.p.EtherType = EtherTypeIPv4
		s.ip(off + 8)
	case 0x0057:
		s.p.EtherType = EtherTypeIPv6
		s.ip(off + 8)
	default:
		s.stop(StopUnsupported)
	}
}

func (s *parser) mpls(off int) {
	p, b := s.p, s.b
	p.Offsets.MPLS = int32(off)
	for {
		if len(b) < off+4 {
			s.stop(StopTruncated)
			return
		}
		e := binary.BigEndian.Uint32(b[off:])
		if p.MPLSLabels < MaxMPLS {
			p.MPLS[p.MPLSLabels] = e
		}
		if p.MPLSLabels < 255 {
			p.MPLSLabels++
		}
		off += 4
		if e&0x100 != 0 { // bottom of stack
			break
		}
	}
	// Nothing says what follows the stack; IP is told by its version nibble. A
	// pseudowire control word starts with 0000 and is not followed.
	if len(b) <= off {
		s.stop(StopTruncated)
		return
	}
	switch b[off] >> 4 {
	case 4:
		p.EtherType = EtherTypeIPv4
		s.ip(off)
	case 6:
		p.EtherType = EtherTypeIPv6
		s.ip(off)
	default:
		s.stop(StopUnsupported)
	}
}

// ip reads an IPv4 or IPv6 header at off, told apart by its version nibble.
func (s *parser) ip(off int) {
	if len(s.b) <= off {
		s.stop(StopTruncated)
		return
	}
	switch s.b[off] >> 4 {
	case 4:
		s.ipv4(off)
	case 6:
		s.ipv6(off)
	default:
		s.stop(StopMalformed)
	}
}

func (s *parser) ipv4(off int) {
	p, b := s.p, s.b
	p.Offsets.Network = int32(off)
	p.IPVersion = 4
	if p.EtherType == 0 {
		p.EtherType = EtherTypeIPv4
	}
	if len(b) < off+20 {
		s.stop(StopTruncated)
		return
	}
	h := b[off : off+20]
	ihl := int(h[0]&0x0f) * 4
	p.ToS = h[1]
	p.IPLength = binary.BigEndian.Uint16(h[2:])
	p.FragID = uint32(binary.BigEndian.Uint16(h[4:]))
	ff := binary.BigEndian.Uint16(h[6:])
	p.FragOffset = (ff & 0x1fff) * 8
	if ff&0x2000 != 0 {
		p.Frag |= FragMore
	}
	if ff&0x4000 != 0 {
		p.Frag |= FragDont
	}
	if ff&0x8000 != 0 {
		p.Frag |= FragReserved
	}
	if ff&0x3fff != 0 {
		p.Frag |= FragFragment
	}
	p.TTL = h[8]
	p.Proto = h[9]
	p.SrcAddr = netip.AddrFrom4([4]byte(h[12:16]))
	p.DstAddr = netip.AddrFrom4([4]byte(h[16:20]))
	if ihl < 20 {
		s.stop(StopMalformed)
		return
	}
	if ff&0x1fff != 0 {
		p.Frag |= FragNotFirst
		return // StopComplete: a later fragment carries no transport header
	}
	s.transport(off+ihl, p.Proto)
}

func (s *parser) ipv6(off int) {
	p, b := s.p, s.b
	p.Offsets.Network = int32(off)
	p.IPVersion = 6
	if p.EtherType == 0 {
		p.EtherType = EtherTypeIPv6
	}
	if len(b) < off+40 {
		s.stop(StopTruncated)
		return
	}
	h := b[off : off+40]
	vtf := binary.BigEndian.Uint32(h)
	p.ToS = uint8(vtf >> 20)
	p.FlowLabel = vtf & 0xfffff
	p.IPLength = binary.BigEndian.Uint16(h[4:]) + 40
	next := h[6]
	p.TTL = h[7]
	p.SrcAddr = netip.AddrFrom16([16]byte(h[8:24]))
	p.DstAddr = netip.AddrFrom16([16]byte(h[24:40]))
	off += 40
	for n := 0; ; n++ {
		p.Proto = next
		switch next {
		case 0, 43, 60, 135, 139, 140: // hop-by-hop, routing, destination options, mobility, HIP, shim6
		case 44: // fragment: fixed 8 bytes
		case ProtoAH:
		default:
			s.transport(off, next)
			return
		}
		if n == maxExtHeaders {
			s.stop(StopMalformed)
			return
		}
		if len(b) < off+8 {
			s.stop(StopTruncated)
			return
		}
		e := b[off:]
		var size int
		switch next {
		case 44:
			size = 8
			fo := binary.BigEndian.Uint16(e[2:])
			p.FragOffset = fo &^ 7
			p.FragID = binary.BigEndian.Uint32(e[4:])
			p.Frag |= FragFragment
			if fo&1 != 0 {
				p.Frag |= FragMore
			}
		case ProtoAH:
			size = (int(e[1]) + 2) * 4
		default:
			size = (int(e[1]) + 1) * 8
		}
		if next == 43 && e[2] == 4 { // segment routing header, RFC 8754
			s.srh(e[:min(size, len(e))])
		}
		p.ExtHeaders++
		next = e[0]
		off += size
		if p.FragOffset != 0 { // a later fragment: what follows is not a header
			p.Proto = next
			p.Frag |= FragNotFirst
			return
		}
	}
}

// srh reads an IPv6 segment routing header: its segment count and the active segment.
func (s *parser) srh(e []byte) {
	p := s.p
	// next, hdr ext len, routing type, segments left, last entry, flags, tag(2), segments
	p.SRv6SegsLeft = e[3]
	if len(e) < 8 {
		return
	}
	p.SRv6Segments = e[4] + 1
	at := 8 + int(e[3])*16
	if e[3] <= e[4] && len(e) >= at+16 {
		p.srv6Active, p.srv6ActiveSeen = netip.AddrFrom16([16]byte(e[at:at+16])), true
	}
}

// transport reads the header of IP protocol proto at off.
func (s *parser) transport(off int, proto uint8) {
	p, b := s.p, s.b
	p.Proto = proto
	if off > len(b) { // the network header's options run past the bytes
		s.stop(StopTruncated)
		return
	}
	p.Offsets.Transport = int32(off)
	switch proto {
	case ProtoTCP:
		if len(b) < off+14 {
			if len(b) >= off+4 {
				p.ports(b[off:])
			}
			s.stop(StopTruncated)
			return
		}
		p.ports(b[off:])
		// Byte 12: data offset (4 bits), 3 reserved bits, NS; byte 13: CWR … FIN.
		p.TCPFlags = uint16(b[off+12]&1)<<8 | uint16(b[off+13])
		doff := int(b[off+12]>>4) * 4
		if doff < 20 {
			s.stop(StopMalformed)
			return
		}
		s.payload(off + doff)
	case ProtoUDP:
		if len(b) < off+8 {
			if len(b) >= off+4 {
				p.ports(b[off:])
			}
			s.stop(StopTruncated)
			return
		}
		p.ports(b[off:])
		s.payload(off + 8)
		switch p.DstPort {
		case s.vxlanPort:
			s.vxlan(off + 8)
		case s.genevePort:
			s.geneve(off + 8)
		}
	case ProtoSCTP:
		if len(b) < off+12 {
			if len(b) >= off+4 {
				p.ports(b[off:])
			}
			s.stop(StopTruncated)
			return
		}
		p.ports(b[off:])
		s.payload(off + 12)
	case ProtoICMP, ProtoICMPv6:
		if len(b) < off+4 {
			if len(b) >= off+2 {
				p.ICMPType, p.ICMPCode = b[off], b[off+1]
			}
			s.stop(StopTruncated)
			return
		}
		p.ICMPType, p.ICMPCode = b[off], b[off+1]
		s.payload(off + 4)
	case ProtoGRE:
		s.gre(off)
	case ProtoIPIP, ProtoIPv6:
		s.payload(off)
		if s.tunnel(TunnelIPIP, 0, DecapIPIP) {
			if len(b) <= off {
				s.stop(StopTruncated)
				return
			}
			want := uint8(4)
			if proto == ProtoIPv6 {
				want = 6
			}
			if b[off]>>4 != want {
				s.stop(StopMalformed)
				return
			}
			s.ip(off)
		}
	case ProtoESP:
		s.payload(off)
		s.stop(StopUnsupported)
	default:
		s.payload(off)
	}
}

// ports sets SrcPort and DstPort from the first four bytes of b, read as one word.
func (p *Packet) ports(b []byte) {
	v := binary.BigEndian.Uint32(b)
	p.SrcPort, p.DstPort = uint16(v>>16), uint16(v)
}

// payload records where the transport payload starts, when it is within the bytes.
func (s *parser) payload(off int) {
	if off <= len(s.b) {
		s.p.Offsets.Payload = int32(off)
	} else {
		s.stop(StopTruncated)
	}
}

// tunnel records a tunnel found at the current layer: its type, ID and outer endpoints.
// When the options decapsulate it and the nesting bound allows, it also moves the current
// offsets to Tunnel.Outer, resets the flow-key fields for the inner packet, and returns
// true: the caller goes on into the inner packet.
func (s *parser) tunnel(t Tunnel, id uint32, decap Decap) bool {
	p := s.p
	if p.Tunnel.Decapsulated && s.decap&decap == 0 {
		return false // an inner tunnel not to follow: the outer one stays reported
	}
	p.Tunnel.Type, p.Tunnel.ID = t, id
	p.Tunnel.SrcAddr, p.Tunnel.DstAddr = p.SrcAddr, p.DstAddr
	if s.decap&decap == 0 || s.tunnels == maxTunnels {
		return false
	}
	s.tunnels++
	p.Tunnel.Outer = p.Offsets
	p.Tunnel.Decapsulated = true
	// The inner packet's fields replace the outer ones; Ethernet fields are kept unless the
	// inner packet has its own Ethernet header.
	p.Offsets = Offsets{Link: p.Offsets.Link, MPLS: -1, Network: -1, Transport: -1, Payload: -1}
	p.IPVersion, p.Proto, p.ToS, p.TTL = 0, 0, 0, 0
	p.Frag, p.FragOffset, p.FragID, p.FlowLabel, p.IPLength = 0, 0, 0, 0, 0
	p.SrcAddr, p.DstAddr = netip.Addr{}, netip.Addr{}
	p.SrcPort, p.DstPort, p.TCPFlags, p.ICMPType, p.ICMPCode = 0, 0, 0, 0, 0
	p.SRv6Segments, p.SRv6SegsLeft, p.ExtHeaders = 0, 0, 0
	p.srv6Active, p.srv6ActiveSeen = netip.Addr{}, false
	p.Stop = StopComplete
	return true
}

// innerEthernet starts an inner Ethernet frame: its MACs, VLANs and EtherType replace
// the outer ones.
func (s *parser) innerEthernet(off int) {
	p := s.p
	p.SrcMAC, p.DstMAC = flow.MAC{}, flow.MAC{}
	p.VLANs, p.VLAN, p.InnerVLAN, p.PCP, p.EtherType = 0, 0, 0, 0, 0
	p.MPLSLabels, p.MPLS = 0, [MaxMPLS]uint32{}
	s.ethernet(off)
}

func (s *parser) vxlan(off int) {
	b := s.b
	if len(b) < off+8 {
		return // not enough for a VXLAN header: report the UDP flow as it is
	}
	if b[off]&0x08 == 0 { // the I flag: a valid VNI
		return
	}
	vni := binary.BigEndian.Uint32(b[off+4:]) >> 8
	if s.tunnel(TunnelVXLAN, vni, DecapVXLAN) {
		s.innerEthernet(off + 8)
	}
}

func (s *parser) geneve(off int) {
	b := s.b
	if len(b) < off+8 {
		return
	}
	if b[off]>>6 != 0 { // version 0 only
		return
	}
	optLen := int(b[off]&0x3f) * 4
	proto := binary.BigEndian.Uint16(b[off+2:])
	vni := binary.BigEndian.Uint32(b[off+4:]) >> 8
	if s.tunnel(TunnelGeneve, vni, DecapGeneve) {
		s.innerProto(proto, off+8+optLen)
	}
}

// innerProto continues with the inner packet of a tunnel whose header names it by
// EtherType.
func (s *parser) innerProto(et uint16, off int) {
	switch et {
	case EtherTypeTEB:
		s.innerEthernet(off)
	case EtherTypeIPv4, EtherTypeIPv6, EtherTypeMPLS, EtherTypeMPLSMC:
		s.p.EtherType = et
		s.etherType(et, off)
	default:
		s.stop(StopUnsupported)
	}
}

func (s *parser) gre(off int) {
	p, b := s.p, s.b
	if len(b) < off+4 {
		s.stop(StopTruncated)
		return
	}
	flags := b[off]
	proto := binary.BigEndian.Uint16(b[off+2:])
	if b[off+1]&7 != 0 { // version 1 (PPTP) and others: not followed
		s.payload(off + 4)
		s.stop(StopUnsupported)
		return
	}
	size := 4
	if flags&0x80 != 0 { // checksum present (and reserved1)
		size += 4
	}
	var key uint32
	if flags&0x20 != 0 { // key present
		if len(b) < off+size+4 {
			s.stop(StopTruncated)
			return
		}
		key = binary.BigEndian.Uint32(b[off+size:])
		size += 4
	}
	if flags&0x10 != 0 { // sequence number present
		size += 4
	}
	s.payload(off + size)
	if p.Stop != StopComplete {
		return
	}
	if s.tunnel(TunnelGRE, key, DecapGRE) {
		s.innerProto(proto, off+size)
	}
}
