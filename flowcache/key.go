package flowcache

import (
	"encoding/binary"
	"math/bits"
	"net/netip"

	"github.com/flowkit/flow"
)

// KeyFields selects what, beyond the 5-tuple, tells flows apart.
type KeyFields uint8

// The optional key parts. Addresses, ports and the IP protocol are always in the key.
const (
	KeyInIf KeyFields = 1 << iota // input interface
	KeyVLAN                       // 802.1Q VLAN ID
	KeyToS                        // type of service / traffic class
	KeyMACs                       // source and destination MAC addresses
)

// key is a flow key in a fixed-size, pointer-free form that hashes and compares fast.
// Addresses are kept as 16 bytes (IPv4 mapped) with a family bit each, so that an IPv4
// address and its IPv4-mapped IPv6 form stay distinct.
type key struct {
	a, b         [16]byte
	aPort, bPort uint16
	proto        uint8
	fam          uint8 // bit 0: a is IPv4, bit 1: b is IPv4, bit 2 (famBA): travels b→a
	vlan         uint16
	inIf         uint32
	tos          uint8
	aMAC, bMAC   flow.MAC
}

// famBA marks, in a unidirectional cache, the flow that goes from the key's b side to its
// a side. Keys are always in canonical orientation (see ordered), and the hash leaves this
// bit out: both directions of a conversation then hash alike, land in the same shard and
// the same probe sequence, and finding one from the other costs a comparison.
const famBA = 4

// equal compares two keys. It compares the addresses as 64-bit words and stops at the
// first difference, where k == o calls the runtime's generic memory comparison.
func (k *key) equal(o *key) bool {
	le := binary.LittleEndian
	return le.Uint64(k.a[8:]) == le.Uint64(o.a[8:]) && le.Uint64(k.b[8:]) == le.Uint64(o.b[8:]) &&
		k.aPort == o.aPort && k.bPort == o.bPort && k.proto == o.proto && k.fam == o.fam &&
		le.Uint64(k.a[:8]) == le.Uint64(o.a[:8]) && le.Uint64(k.b[:8]) == le.Uint64(o.b[:8]) &&
		k.vlan == o.vlan && k.inIf == o.inIf && k.tos == o.tos && k.aMAC == o.aMAC && k.bMAC == o.bMAC
}

// ordered reports whether the endpoint (a, ap) sorts before or equal to (b, bp) in the
// canonical orientation of keys. Any fixed total order does; comparing 64-bit words is
// the cheapest.
func ordered(a *[16]byte, ap uint16, b *[16]byte, bp uint16) bool {
	le := binary.LittleEndian
	if x, y := le.Uint64(a[8:]), le.Uint64(b[8:]); x != y {
		return x < y
	}
	if x, y := le.Uint64(a[:8]), le.Uint64(b[:8]); x != y {
		return x < y
	}
	return ap <= bp
}

func addrFrom(b [16]byte, is4 bool) netip.Addr {
	a := netip.AddrFrom16(b)
	if is4 {
		return a.Unmap()
	}
	return a
}

// hash mixes the key's bytes with a multiply-fold in the manner of wyhash: a few 64-bit
// multiplications, where hash/maphash.Comparable costs several times more for this struct.
func (k *key) hash(seed uint64) uint64 {
	const (
		p0 = 0xa0761d6478bd642f
		p1 = 0xe7037ed1a0b428db
		p2 = 0x8ebc6af09c88c6e3
		p3 = 0x589965cc75374cc3
	)
	le := binary.LittleEndian
	rest := uint64(k.aPort) | uint64(k.bPort)<<16 | uint64(k.proto)<<32 | uint64(k.fam&^famBA)<<40 | uint64(k.tos)<<48
	ext := uint64(k.vlan) | uint64(k.inIf)<<16
	macs := mac48(k.aMAC) ^ mac48(k.bMAC)<<16
	h := mum(le.Uint64(k.a[:8])^p0^seed, le.Uint64(k.a[8:])^p1)
	h ^= mum(le.Uint64(k.b[:8])^p2, le.Uint64(k.b[8:])^p3^seed)
	h ^= mum(rest^p1, ext^macs^p0)
	return mum(h^p3, seed^p2)
}

func mac48(m flow.MAC) uint64 {
	return uint64(binary.LittleEndian.Uint32(m[:4])) | uint64(binary.LittleEndian.Uint16(m[4:]))<<32
}

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}
