package packet_test

import (
	"fmt"

	"github.com/flowkit/flow/packet"
)

// Parse the first bytes of a VXLAN-encapsulated packet, once as the outer flow and once
// as the inner one.
func Example() {
	b := []byte{
		// Ethernet, IPv4 192.0.2.1 → 192.0.2.2, UDP 49152 → 4789
		0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00,
		0x45, 0, 0, 78, 0, 0, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
		0xc0, 0x00, 0x12, 0xb5, 0, 58, 0, 0,
		// VXLAN, VNI 100
		0x08, 0, 0, 0, 0, 0, 100, 0,
		// inner Ethernet, IPv4 10.0.0.1 → 10.0.0.2, TCP 1234 → 80, SYN
		0x02, 0, 0, 0, 0, 4, 0x02, 0, 0, 0, 0, 3, 0x08, 0x00,
		0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
		0x04, 0xd2, 0x00, 0x50, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
	}
	var p packet.Packet // keep it: Parse overwrites it and allocates nothing
	p.Parse(b, packet.Ethernet, nil)
	fmt.Println(p.SrcAddr, p.SrcPort, "→", p.DstAddr, p.DstPort, "proto", p.Proto, p.Tunnel.Type, p.Tunnel.ID)
	p.Parse(b, packet.Ethernet, &packet.Options{Decap: packet.DecapVXLAN})
	fmt.Println(p.SrcAddr, p.SrcPort, "→", p.DstAddr, p.DstPort, "proto", p.Proto, "flags", p.TCPFlags, "inner IP at", p.Offsets.Network)
	// Output:
	// 192.0.2.1 49152 → 192.0.2.2 4789 proto 17 vxlan 100
	// 10.0.0.1 1234 → 10.0.0.2 80 proto 6 flags 2 inner IP at 64
}
