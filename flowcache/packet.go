package flowcache

import (
	"github.com/flowkit/flow"
	"github.com/flowkit/flow/packet"
)

// FromParsed fills p from a packet parsed by the packet package, captured at t, and
// reports whether it can be metered: it needs an IP header. For ICMP and ICMPv6, DstPort
// carries type<<8 | code, as NetFlow exporters report it; fragments after the first have
// no ports. The bytes counted are the IP length from the header, not the captured length,
// so a capture cut short (snap length) still counts what went on the wire. Interfaces are
// left as they were: the caller knows where the packet was seen.
func (p *Packet) FromParsed(pp *packet.Packet, t flow.Time) bool {
	if pp.IPVersion == 0 || !pp.SrcAddr.IsValid() {
		return false
	}
	p.Time = t
	p.SrcAddr, p.DstAddr = pp.SrcAddr, pp.DstAddr
	p.SrcPort, p.DstPort = pp.SrcPort, pp.DstPort
	p.IPProto = pp.Proto
	if pp.Proto == packet.ProtoICMP || pp.Proto == packet.ProtoICMPv6 {
		p.SrcPort, p.DstPort = 0, uint16(pp.ICMPType)<<8|uint16(pp.ICMPCode)
	}
	p.ToS, p.TTL, p.TCPFlags = pp.ToS, pp.TTL, pp.TCPFlags
	p.Length = uint32(pp.IPLength)
	p.VLAN = pp.VLAN
	p.SrcMAC, p.DstMAC = pp.SrcMAC, pp.DstMAC
	return true
}
