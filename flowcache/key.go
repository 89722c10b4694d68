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

// key is a flow key as six 64-bit words, so that building, hashing and comparing it are a
// handful of register operations: byte arrays of the same content were copied through
// the stack, and a 16-byte load of what was stored as two 8-byte halves stalls the CPU.
// Addresses are the big-endian halves of their 16-byte form (IPv4 mapped), with a family
// bit each in w, so that an IPv4 address and its IPv4-mapped IPv6 form stay distinct.
// The MAC addresses, a key part few caches use, are kept apart (macKey), so that the key
// and what a lookup compares stay within the entry's first cache line.
type key struct {
	a0, a1 uint64 // side a's address
	b0, b1 uint64 // side b's address
	w      uint64 // aPort<<48 | bPort<<32 | proto<<24 | fam<<16 | tos
	x      uint64 // vlan<<32 | inIf
}

// macKey is the part of a key that KeyMACs adds, in the key's orientation.
type macKey struct{ a, b flow.MAC }

// fam bits, in w at famShift: side a is IPv4, side b is IPv4, and famBA.
const (
	famShift   = 16
	famA4      = 1
	famB4      = 2
	famBA      = 4
	famBAw     = famBA << famShift
	protoShift = 24
	bPortShift = 32
	aPortShift = 48
	vlanShift  = 32
)

// famBA marks, in a unidirectional cache, the flow that goes from the key's b side to its
// a side. Keys are always in canonical orientation (see keyOf), and the hash leaves this
// bit out: both directions of a conversation then hash alike, land in the same shard and
// the same probe sequence, and finding one from the other costs a comparison.

func (k *key) aPort() uint16 { return uint16(k.w >> aPortShift) }
func (k *key) bPort() uint16 { return uint16(k.w >> bPortShift) }
func (k *key) proto() uint8  { return uint8(k.w >> protoShift) }
func (k *key) fam() uint8    { return uint8(k.w>>famShift) & 7 }

// equal compares two keys, the words most likely to differ first.
func (k *key) equal(o *key) bool {
	return k.a1 == o.a1 && k.b1 == o.b1 && k.w == o.w && k.a0 == o.a0 && k.b0 == o.b0 && k.x == o.x
}

// addr returns the address of a key side from its two words.
func addrFrom(hi, lo uint64, is4 bool) netip.Addr {
	if is4 {
		return netip.AddrFrom4([4]byte{byte(lo >> 24), byte(lo >> 16), byte(lo >> 8), byte(lo)})
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return netip.AddrFrom16(b)
}

// addrWords returns the big-endian halves of a's 16-byte form, and whether a is IPv4.
// An IPv4 address takes As4: As16's result is copied in one 16-byte move from the two
// 8-byte halves it was just stored as, which the CPU cannot forward from its store buffer
// and stalls on.
func addrWords(a netip.Addr) (hi, lo uint64, is4 bool) {
	if a.Is4() {
		b := a.As4()
		return 0, 0xffff<<32 | uint64(binary.BigEndian.Uint32(b[:])), true
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), false
}

// hash mixes the key's words with a multiply-fold in the manner of wyhash: a few 64-bit
// multiplications, where hash/maphash.Comparable costs several times more. m is mixed in
// only when the MACs are part of the key.
func (k *key) hash(m *macKey, seed uint64) uint64 {
	const (
		p0 = 0xa0761d6478bd642f
		p1 = 0xe7037ed1a0b428db
		p2 = 0x8ebc6af09c88c6e3
		p3 = 0x589965cc75374cc3
	)
	h := mum(k.a0^p0^seed, k.a1^p1)
	h ^= mum(k.b0^p2, k.b1^p3^seed)
	h ^= mum(k.w&^famBAw^p1, k.x^p0)
	if m != nil {
		h ^= mum(mac48(m.a)^p2, mac48(m.b)^p3)
	}
	return mum(h^p3, seed^p2)
}

func mac48(m flow.MAC) uint64 {
	return uint64(binary.LittleEndian.Uint32(m[:4])) | uint64(binary.LittleEndian.Uint16(m[4:]))<<32
}

func mum(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}
