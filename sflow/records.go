package sflow

import (
	"encoding/binary"
	"net/netip"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/packet"
)

// Flow record formats (enterprise 0) that this package decodes: sflow_version_5.txt,
// sflow_tunnels.txt, sflow_drops.txt and the host and application structures.
const (
	FlowSampledHeader        Format = 1    // sampled_header: the first bytes of the packet
	FlowSampledEthernet      Format = 2    // sampled_ethernet
	FlowSampledIPv4          Format = 3    // sampled_ipv4
	FlowSampledIPv6          Format = 4    // sampled_ipv6
	FlowExtSwitch            Format = 1001 // extended_switch: VLANs and priorities
	FlowExtRouter            Format = 1002 // extended_router: next hop and prefix lengths
	FlowExtGateway           Format = 1003 // extended_gateway: BGP next hop, AS path, communities
	FlowExtUser              Format = 1004 // extended_user
	FlowExtURL               Format = 1005 // extended_url
	FlowExtMPLS              Format = 1006 // extended_mpls: next hop, label stacks
	FlowExtNAT               Format = 1007 // extended_nat: translated addresses
	FlowExtMPLSTunnel        Format = 1008 // extended_mpls_tunnel
	FlowExtMPLSVC            Format = 1009 // extended_mpls_vc
	FlowExtMPLSFTN           Format = 1010 // extended_mpls_FTN
	FlowExtMPLSLDPFEC        Format = 1011 // extended_mpls_LDP_FEC
	FlowExtVLANTunnel        Format = 1012 // extended_vlantunnel: stripped VLAN tags
	FlowExtL2TunnelEgress    Format = 1021 // extended_L2_tunnel_egress (a sampled_ethernet)
	FlowExtL2TunnelIngress   Format = 1022 // extended_L2_tunnel_ingress (a sampled_ethernet)
	FlowExtIPv4TunnelEgress  Format = 1023 // extended_ipv4_tunnel_egress (a sampled_ipv4)
	FlowExtIPv4TunnelIngress Format = 1024 // extended_ipv4_tunnel_ingress (a sampled_ipv4)
	FlowExtIPv6TunnelEgress  Format = 1025 // extended_ipv6_tunnel_egress (a sampled_ipv6)
	FlowExtIPv6TunnelIngress Format = 1026 // extended_ipv6_tunnel_ingress (a sampled_ipv6)
	FlowExtDecapEgress       Format = 1027 // extended_decapsulate_egress: inner header offset
	FlowExtDecapIngress      Format = 1028 // extended_decapsulate_ingress: inner header offset
	FlowExtVNIEgress         Format = 1029 // extended_vni_egress
	FlowExtVNIIngress        Format = 1030 // extended_vni_ingress
	FlowExtEgressQueue       Format = 1036 // extended_egress_queue (drops)
	FlowExtACL               Format = 1037 // extended_acl (drops)
	FlowExtFunction          Format = 1038 // extended_function: the dropping function's name
	FlowExtTransit           Format = 1039 // extended_transit: delay in nanoseconds
	FlowExtQueueDepth        Format = 1040 // extended_queue: depth in bytes
	FlowExtHWTrap            Format = 1041 // extended_hw_trap: devlink trap group and name
	FlowExtLinuxReason       Format = 1042 // extended_linux_drop_reason
	FlowExtSocket4           Format = 2100 // extended_socket_ipv4
	FlowExtSocket6           Format = 2101 // extended_socket_ipv6
	FlowExtProxySocket4      Format = 2102 // extended_proxy_socket_ipv4
	FlowExtProxySocket6      Format = 2103 // extended_proxy_socket_ipv6
)

// Header protocols of a sampled header (sflow_version_5.txt, header_protocol).
const (
	HeaderEthernet = 1  // ISO 8802-3 / Ethernet
	HeaderIPv4     = 11 // the header starts at IPv4
	HeaderIPv6     = 12 // the header starts at IPv6
	HeaderMPLS     = 13 // the header starts at an MPLS label stack
)

// SampledHeader is a sampled_header record: the first bytes of the sampled packet.
type SampledHeader struct {
	// Protocol is the header protocol (HeaderEthernet, HeaderIPv4, …).
	Protocol uint32
	// FrameLength is the length of the packet before sampling, including what was
	// stripped (for Ethernet, the FCS).
	FrameLength uint32
	// Stripped counts the bytes removed from the end of the packet before the header was
	// taken (for Ethernet, usually the 4-byte FCS).
	Stripped uint32
	// Header holds the sampled bytes, aliasing the datagram.
	Header []byte
}

// Layer returns the package-packet layer the header starts with, and false for header
// protocols the packet parser does not read (token ring, FDDI, 802.11, …).
func (h SampledHeader) Layer() (packet.Layer, bool) {
	switch h.Protocol {
	case HeaderEthernet:
		return packet.Ethernet, true
	case HeaderIPv4:
		return packet.IPv4, true
	case HeaderIPv6:
		return packet.IPv6, true
	case HeaderMPLS:
		return packet.MPLS, true
	}
	return 0, false
}

func decodeSampledHeader(b []byte) (SampledHeader, bool) {
	r := xdr{b: b}
	h := SampledHeader{Protocol: r.u32(), FrameLength: r.u32(), Stripped: r.u32()}
	h.Header = r.opaque()
	if r.short {
		return SampledHeader{}, false
	}
	return h, true
}

// SampledHeader decodes a sampled_header record.
func (r Record) SampledHeader() (SampledHeader, error) {
	v, ok := decodeSampledHeader(r.Data)
	if !ok {
		return SampledHeader{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return v, nil
}

// SampledEthernet is a sampled_ethernet record, and the body of the extended L2 tunnel
// records (1021, 1022).
type SampledEthernet struct {
	Length         uint32 // the frame's length, excluding framing bits, including the FCS
	SrcMAC, DstMAC flow.MAC
	Type           uint32 // the EtherType
}

func decodeSampledEthernet(b []byte) (SampledEthernet, bool) {
	r := xdr{b: b}
	e := SampledEthernet{Length: r.u32(), SrcMAC: r.mac(), DstMAC: r.mac(), Type: r.u32()}
	if r.short {
		return SampledEthernet{}, false
	}
	return e, true
}

// SampledEthernet decodes a sampled_ethernet record (or an extended L2 tunnel record).
func (r Record) SampledEthernet() (SampledEthernet, error) {
	v, ok := decodeSampledEthernet(r.Data)
	if !ok {
		return SampledEthernet{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return v, nil
}

// SampledIP is a sampled_ipv4 or sampled_ipv6 record, and the body of the extended IPv4
// and IPv6 tunnel records (1023–1026).
type SampledIP struct {
	Length           uint32 // the IP packet's length, excluding lower layers
	Protocol         uint32 // the IP protocol
	SrcAddr, DstAddr netip.Addr
	SrcPort, DstPort uint32
	TCPFlags         uint32
	ToS              uint32 // IPv4 type of service, or IPv6 priority
}

func decodeSampledIPv4(b []byte) (SampledIP, bool) {
	r := xdr{b: b}
	ip := SampledIP{Length: r.u32(), Protocol: r.u32(), SrcAddr: r.ip4(), DstAddr: r.ip4(),
		SrcPort: r.u32(), DstPort: r.u32(), TCPFlags: r.u32(), ToS: r.u32()}
	if r.short {
		return SampledIP{}, false
	}
	return ip, true
}

func decodeSampledIPv6(b []byte) (SampledIP, bool) {
	r := xdr{b: b}
	ip := SampledIP{Length: r.u32(), Protocol: r.u32(), SrcAddr: r.ip6(), DstAddr: r.ip6(),
		SrcPort: r.u32(), DstPort: r.u32(), TCPFlags: r.u32(), ToS: r.u32()}
	if r.short {
		return SampledIP{}, false
	}
	return ip, true
}

// SampledIPv4 decodes a sampled_ipv4 record (or an extended IPv4 tunnel record).
func (r Record) SampledIPv4() (SampledIP, error) {
	v, ok := decodeSampledIPv4(r.Data)
	if !ok {
		return SampledIP{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return v, nil
}

// SampledIPv6 decodes a sampled_ipv6 record (or an extended IPv6 tunnel record).
func (r Record) SampledIPv6() (SampledIP, error) {
	v, ok := decodeSampledIPv6(r.Data)
	if !ok {
		return SampledIP{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return v, nil
}

// ExtendedSwitch is an extended_switch record.
type ExtendedSwitch struct {
	SrcVLAN, SrcPriority uint32 // 802.1Q VLAN and 802.1p priority of the incoming frame
	DstVLAN, DstPriority uint32 // and of the outgoing frame
}

func decodeExtendedSwitch(b []byte) (ExtendedSwitch, bool) {
	if len(b) < 16 {
		return ExtendedSwitch{}, false
	}
	return ExtendedSwitch{binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:]), binary.BigEndian.Uint32(b[8:]), binary.BigEndian.Uint32(b[12:])}, true
}

// ExtendedSwitch decodes an extended_switch record.
func (r Record) ExtendedSwitch() (ExtendedSwitch, error) {
	v, ok := decodeExtendedSwitch(r.Data)
	if !ok {
		return ExtendedSwitch{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return v, nil
}

// ExtendedRouter is an extended_router record.
type ExtendedRouter struct {
	NextHop          netip.Addr
	SrcMask, DstMask uint32 // prefix lengths of the routes to the source and destination
}

func decodeExtendedRouter(b []byte) (ExtendedRouter, bool) {
	r := xdr{b: b}
	rt := ExtendedRouter{NextHop: r.addr(), SrcMask: r.u32(), DstMask: r.u32()}
	if r.short {
		return ExtendedRouter{}, false
	}
	return rt, true
}

// routerFlow decodes an extended_router record, with a fast path for an IPv4 next hop.
func routerFlow(b []byte) (ExtendedRouter, bool) {
	if len(b) >= 16 && binary.BigEndian.Uint32(b) == 1 {
		return ExtendedRouter{NextHop: netip.AddrFrom4([4]byte(b[4:8])), SrcMask: binary.BigEndian.Uint32(b[8:]), DstMask: binary.BigEndian.Uint32(b[12:])}, true
	}
	return decodeExtendedRouter(b)
}

// ExtendedRouter decodes an extended_router record.
func (r Record) ExtendedRouter() (ExtendedRouter, error) {
	v, ok := decodeExtendedRouter(r.Data)
	if !ok {
		return ExtendedRouter{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return v, nil
}

// AS path segment types.
const (
	ASSet      = 1 // an unordered set of ASes
	ASSequence = 2 // an ordered sequence of ASes
)

// ASSegment is one segment of an AS path.
type ASSegment struct {
	Type uint32 // ASSet or ASSequence
	ASNs Words
}

// ASPath is the destination AS path of an extended_gateway record as on the wire: a
// sequence of segments, each a type, a count and the AS numbers. It aliases the datagram.
type ASPath []byte

// MakeASPath encodes segments as an ASPath, for building records.
func MakeASPath(segs ...ASSegment) ASPath {
	var b []byte
	for _, s := range segs {
		b = binary.BigEndian.AppendUint32(b, s.Type)
		b = binary.BigEndian.AppendUint32(b, uint32(s.ASNs.Len()))
		b = append(b, s.ASNs[:4*s.ASNs.Len()]...)
	}
	return b
}

// Len returns the number of segments.
func (p ASPath) Len() int {
	n := 0
	for len(p) >= 8 {
		c := int(binary.BigEndian.Uint32(p[4:]))
		if c > (len(p)-8)/4 {
			break
		}
		n++
		p = p[8+4*c:]
	}
	return n
}

// Segments appends the path's segments to dst.
func (p ASPath) Segments(dst []ASSegment) []ASSegment {
	for len(p) >= 8 {
		n := int(binary.BigEndian.Uint32(p[4:]))
		if n > (len(p)-8)/4 {
			break // checked at decode; a hand-made path may still lie
		}
		dst = append(dst, ASSegment{Type: binary.BigEndian.Uint32(p), ASNs: Words(p[8 : 8+4*n])})
		p = p[8+4*n:]
	}
	return dst
}

// Append appends every AS number of the path, in order, to dst.
func (p ASPath) Append(dst []uint32) []uint32 {
	for len(p) >= 8 {
		n := int(binary.BigEndian.Uint32(p[4:]))
		if n > (len(p)-8)/4 {
			break
		}
		dst = Words(p[8 : 8+4*n]).Append(dst)
		p = p[8+4*n:]
	}
	return dst
}

// Last returns the last AS number of the path (the origin of the destination route), and
// false for an empty path.
func (p ASPath) Last() (uint32, bool) {
	var last uint32
	ok := false
	for len(p) >= 8 {
		n := int(binary.BigEndian.Uint32(p[4:]))
		if n > (len(p)-8)/4 {
			break
		}
		if n > 0 {
			last, ok = binary.BigEndian.Uint32(p[8+4*(n-1):]), true
		}
		p = p[8+4*n:]
	}
	return last, ok
}

// ExtendedGateway is an extended_gateway record: what BGP knows of the destination.
type ExtendedGateway struct {
	NextHop     netip.Addr // the BGP next hop
	AS          uint32     // the router's own AS
	SrcAS       uint32     // the source's AS
	SrcPeerAS   uint32     // the AS of the peer the source route was learned from
	Path        ASPath     // the destination AS path
	Communities Words      // the destination route's communities
	LocalPref   uint32
}

// DstAS returns the destination's AS: the last AS of the path, or the router's own AS
// when the path is empty (the destination is local to it).
func (g ExtendedGateway) DstAS() uint32 {
	if as, ok := g.Path.Last(); ok {
		return as
	}
	return g.AS
}

func decodeExtendedGateway(b []byte) (ExtendedGateway, bool) {
	r := xdr{b: b}
	g := ExtendedGateway{NextHop: r.addr(), AS: r.u32(), SrcAS: r.u32(), SrcPeerAS: r.u32()}
	segs := r.array(8)
	start := r.off
	for i := 0; i < segs && !r.short; i++ {
		r.u32()
		n := r.array(4)
		r.off += 4 * n
	}
	if !r.short {
		g.Path = ASPath(b[start:r.off:r.off])
	}
	g.Communities = r.words()
	g.LocalPref = r.u32()
	if r.short {
		return ExtendedGateway{}, false
	}
	return g, true
}

// ExtendedGateway decodes an extended_gateway record.
func (r Record) ExtendedGateway() (ExtendedGateway, error) {
	v, ok := decodeExtendedGateway(r.Data)
	if !ok {
		return ExtendedGateway{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return v, nil
}

// gatewayFlow reads what a flow.Record takes from an extended_gateway record, checking
// the whole record as decodeExtendedGateway does but without building its views.
func gatewayFlow(b []byte) (nextHop netip.Addr, as, srcAS, dstAS uint32, ok bool) {
	if len(b) < 4 {
		return
	}
	off := 4
	switch binary.BigEndian.Uint32(b) {
	case 0:
	case 1:
		if len(b) < 8 {
			return
		}
		nextHop, off = netip.AddrFrom4([4]byte(b[4:8])), 8
	case 2:
		if len(b) < 20 {
			return
		}
		nextHop, off = netip.AddrFrom16([16]byte(b[4:20])), 20
	default:
		return
	}
	rest := b[off:]
	if len(rest) < 16 {
		return
	}
	as, srcAS = binary.BigEndian.Uint32(rest), binary.BigEndian.Uint32(rest[4:])
	segs := binary.BigEndian.Uint32(rest[12:])
	rest = rest[16:]
	dstAS = as
	// Each segment takes at least 8 bytes, so the loop ends with the bytes whatever the
	// count says.
	for ; segs > 0; segs-- {
		if len(rest) < 8 {
			return
		}
		n := uint64(binary.BigEndian.Uint32(rest[4:]))
		if n > uint64(len(rest)-8)/4 {
			return
		}
		if n > 0 {
			dstAS = binary.BigEndian.Uint32(rest[4+4*n:])
		}
		rest = rest[8+4*n:]
	}
	if len(rest) < 4 {
		return
	}
	if c := uint64(binary.BigEndian.Uint32(rest)); c > uint64(len(rest)-4)/4 || len(rest)-4-4*int(c) < 4 {
		return // communities, then the local preference
	}
	return nextHop, as, srcAS, dstAS, true
}

// ExtendedUser is an extended_user record (RADIUS or TACACS users).
type ExtendedUser struct {
	SrcCharset uint32 // the MIBEnum of the character set (RFC 2978; 106 is UTF-8)
	SrcUser    []byte
	DstCharset uint32
	DstUser    []byte
}

// ExtendedUser decodes an extended_user record.
func (r Record) ExtendedUser() (ExtendedUser, error) {
	x := xdr{b: r.Data}
	u := ExtendedUser{SrcCharset: x.u32(), SrcUser: x.opaque(), DstCharset: x.u32(), DstUser: x.opaque()}
	if x.short {
		return ExtendedUser{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return u, nil
}

// URL directions.
const (
	URLSource      = 1 // the URL is associated with the source address
	URLDestination = 2 // with the destination address
)

// ExtendedURL is an extended_url record.
type ExtendedURL struct {
	Direction uint32 // URLSource or URLDestination
	URL       []byte
	Host      []byte // the HTTP Host header
}

// ExtendedURL decodes an extended_url record. The host field was added to the structure
// after the first agents shipped; a record without it decodes with an empty Host.
func (r Record) ExtendedURL() (ExtendedURL, error) {
	x := xdr{b: r.Data}
	u := ExtendedURL{Direction: x.u32(), URL: x.opaque()}
	if x.short {
		return ExtendedURL{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	if x.off < len(r.Data) {
		u.Host = x.opaque()
		if x.short {
			return ExtendedURL{}, recordError(r.Format, r.Offset, len(r.Data))
		}
	}
	return u, nil
}

// ExtendedMPLS is an extended_mpls record.
type ExtendedMPLS struct {
	NextHop           netip.Addr
	InStack, OutStack Words // label stack entries, top of stack first (RFC 3032 encoding)
}

// ExtendedMPLS decodes an extended_mpls record.
func (r Record) ExtendedMPLS() (ExtendedMPLS, error) {
	x := xdr{b: r.Data}
	m := ExtendedMPLS{NextHop: x.addr(), InStack: x.words(), OutStack: x.words()}
	if x.short {
		return ExtendedMPLS{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return m, nil
}

// ExtendedNAT is an extended_nat record: the addresses after translation.
type ExtendedNAT struct {
	SrcAddr, DstAddr netip.Addr
}

// ExtendedNAT decodes an extended_nat record.
func (r Record) ExtendedNAT() (ExtendedNAT, error) {
	x := xdr{b: r.Data}
	n := ExtendedNAT{SrcAddr: x.addr(), DstAddr: x.addr()}
	if x.short {
		return ExtendedNAT{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return n, nil
}

// ExtendedMPLSName is an extended_mpls_tunnel (tunnel LSP name, tunnel ID, tunnel COS) or
// extended_mpls_vc (VC instance name, VLL/VC ID, VC label COS) record.
type ExtendedMPLSName struct {
	Name []byte
	ID   uint32
	COS  uint32
}

// ExtendedMPLSName decodes an extended_mpls_tunnel or extended_mpls_vc record.
func (r Record) ExtendedMPLSName() (ExtendedMPLSName, error) {
	x := xdr{b: r.Data}
	m := ExtendedMPLSName{Name: x.opaque(), ID: x.u32(), COS: x.u32()}
	if x.short {
		return ExtendedMPLSName{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return m, nil
}

// ExtendedMPLSFTN is an extended_mpls_FTN record.
type ExtendedMPLSFTN struct {
	Descr []byte
	Mask  uint32
}

// ExtendedMPLSFTN decodes an extended_mpls_FTN record.
func (r Record) ExtendedMPLSFTN() (ExtendedMPLSFTN, error) {
	x := xdr{b: r.Data}
	m := ExtendedMPLSFTN{Descr: x.opaque(), Mask: x.u32()}
	if x.short {
		return ExtendedMPLSFTN{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return m, nil
}

// Uint32 decodes a record whose structure is a single unsigned integer:
// extended_mpls_LDP_FEC (prefix length), extended_decapsulate_egress/ingress (inner header
// offset), extended_vni_egress/ingress (VNI), extended_egress_queue (queue),
// extended_transit (delay in ns), extended_queue (depth in bytes).
func (r Record) Uint32() (uint32, error) {
	x := xdr{b: r.Data}
	v := x.u32()
	if x.short {
		return 0, recordError(r.Format, r.Offset, len(r.Data))
	}
	return v, nil
}

// Words decodes a record whose structure is one array of unsigned integers:
// extended_vlantunnel (the stripped 802.1Q TPID<<16|TCI tags, outermost first).
func (r Record) Words() (Words, error) {
	x := xdr{b: r.Data}
	w := x.words()
	if x.short {
		return nil, recordError(r.Format, r.Offset, len(r.Data))
	}
	return w, nil
}

// Text decodes a record whose structure is one string: extended_function (the symbol of
// the function that dropped the packet) and extended_linux_drop_reason.
func (r Record) Text() ([]byte, error) {
	x := xdr{b: r.Data}
	s := x.opaque()
	if x.short {
		return nil, recordError(r.Format, r.Offset, len(r.Data))
	}
	return s, nil
}

// ACL directions.
const (
	ACLUnknown = 0
	ACLIngress = 1
	ACLEgress  = 2
)

// ExtendedACL is an extended_acl record of a discard sample.
type ExtendedACL struct {
	Number    uint32
	Name      []byte
	Direction uint32 // ACLUnknown, ACLIngress or ACLEgress
}

// ExtendedACL decodes an extended_acl record.
func (r Record) ExtendedACL() (ExtendedACL, error) {
	x := xdr{b: r.Data}
	a := ExtendedACL{Number: x.u32(), Name: x.opaque(), Direction: x.u32()}
	if x.short {
		return ExtendedACL{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return a, nil
}

// ExtendedHWTrap is an extended_hw_trap record: a Linux devlink trap group and name.
type ExtendedHWTrap struct {
	Group, Trap []byte
}

// ExtendedHWTrap decodes an extended_hw_trap record.
func (r Record) ExtendedHWTrap() (ExtendedHWTrap, error) {
	x := xdr{b: r.Data}
	t := ExtendedHWTrap{Group: x.opaque(), Trap: x.opaque()}
	if x.short {
		return ExtendedHWTrap{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return t, nil
}

// ExtendedSocket is an extended_socket_ipv4/ipv6 or extended_proxy_socket_ipv4/ipv6 record
// (host sFlow: the socket an application transaction went through).
type ExtendedSocket struct {
	Protocol              uint32
	LocalAddr, RemoteAddr netip.Addr
	LocalPort, RemotePort uint32
}

// ExtendedSocket decodes an extended socket record; formats 2100 and 2102 carry IPv4
// addresses, 2101 and 2103 IPv6.
func (r Record) ExtendedSocket() (ExtendedSocket, error) {
	x := xdr{b: r.Data}
	s := ExtendedSocket{Protocol: x.u32()}
	if r.Format == FlowExtSocket6 || r.Format == FlowExtProxySocket6 {
		s.LocalAddr, s.RemoteAddr = x.ip6(), x.ip6()
	} else {
		s.LocalAddr, s.RemoteAddr = x.ip4(), x.ip4()
	}
	s.LocalPort, s.RemotePort = x.u32(), x.u32()
	if x.short {
		return ExtendedSocket{}, recordError(r.Format, r.Offset, len(r.Data))
	}
	return s, nil
}
