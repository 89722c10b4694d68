package sflow

import (
	"encoding/binary"
	"math"
	"net/netip"
	"strconv"

	"github.com/flowkit/flow"
)

// xdr reads big-endian XDR items from a record's bytes. A read past the end sets short
// and returns zeros, so decoders read every field unconditionally and check once.
type xdr struct {
	b     []byte
	off   int
	short bool
}

func (r *xdr) u32() uint32 {
	if len(r.b)-r.off < 4 {
		r.short, r.off = true, len(r.b)
		return 0
	}
	v := binary.BigEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v
}

func (r *xdr) u64() uint64 {
	if len(r.b)-r.off < 8 {
		r.short, r.off = true, len(r.b)
		return 0
	}
	v := binary.BigEndian.Uint64(r.b[r.off:])
	r.off += 8
	return v
}

func (r *xdr) f32() float32 { return math.Float32frombits(r.u32()) }

// fixed returns n bytes and skips the padding to a multiple of 4 (XDR fixed-length opaque).
func (r *xdr) fixed(n int) []byte {
	padded := (n + 3) &^ 3
	if len(r.b)-r.off < padded {
		r.short, r.off = true, len(r.b)
		return nil
	}
	v := r.b[r.off : r.off+n : r.off+n]
	r.off += padded
	return v
}

// opaque reads a variable-length opaque or string: a length, the bytes, the padding. The
// length is checked against the bytes present before anything is sliced.
func (r *xdr) opaque() []byte {
	n := r.u32()
	if r.short {
		return nil
	}
	if uint64(n) > uint64(len(r.b)-r.off) {
		r.short, r.off = true, len(r.b)
		return nil
	}
	return r.fixed(int(n))
}

// mac reads a MAC address carried as opaque[6]: six bytes and two of padding. Reading
// only six and going on misplaces every later field (goflow2 once shipped that bug).
func (r *xdr) mac() flow.MAC {
	b := r.fixed(6)
	if b == nil {
		return flow.MAC{}
	}
	return flow.MAC(b)
}

func (r *xdr) ip4() netip.Addr {
	if len(r.b)-r.off < 4 {
		r.short, r.off = true, len(r.b)
		return netip.Addr{}
	}
	a := netip.AddrFrom4([4]byte(r.b[r.off:]))
	r.off += 4
	return a
}

func (r *xdr) ip6() netip.Addr {
	if len(r.b)-r.off < 16 {
		r.short, r.off = true, len(r.b)
		return netip.Addr{}
	}
	a := netip.AddrFrom16([16]byte(r.b[r.off:]))
	r.off += 16
	return a
}

// addr reads an sFlow address: a type (0 unknown, 1 IPv4, 2 IPv6) and the address. An
// unknown type yields the invalid address; any other type sets bad.
func (r *xdr) addr() netip.Addr {
	switch r.u32() {
	case 0:
		return netip.Addr{}
	case 1:
		return r.ip4()
	case 2:
		return r.ip6()
	}
	r.short, r.off = true, len(r.b) // an address type that is not defined: the layout is lost
	return netip.Addr{}
}

// array reads the count of a variable-length array of items of at least minSize bytes
// each, and checks that that many fit in what is left, so that no loop or slice can be
// driven beyond the bytes present by a lying count.
func (r *xdr) array(minSize int) int {
	n := r.u32()
	if r.short {
		return 0
	}
	if uint64(n)*uint64(minSize) > uint64(len(r.b)-r.off) {
		r.short, r.off = true, len(r.b)
		return 0
	}
	return int(n)
}

// words returns a variable-length array of 32-bit words as its raw bytes.
func (r *xdr) words() Words {
	n := r.array(4)
	if r.short {
		return nil
	}
	v := r.b[r.off : r.off+4*n : r.off+4*n]
	r.off += 4 * n
	return v
}

// Words is an XDR array of 32-bit unsigned integers, as on the wire (it aliases the
// datagram): AS numbers, communities, MPLS label stack entries, VLAN tags.
type Words []byte

// Len returns the number of words.
func (w Words) Len() int { return len(w) / 4 }

// At returns word i.
func (w Words) At(i int) uint32 { return binary.BigEndian.Uint32(w[4*i:]) }

// Append appends the words to dst as uint32s and returns the extended slice.
func (w Words) Append(dst []uint32) []uint32 {
	for i := 0; i+4 <= len(w); i += 4 {
		dst = append(dst, binary.BigEndian.Uint32(w[i:]))
	}
	return dst
}

// MakeWords encodes vs as Words, for building records.
func MakeWords(vs ...uint32) Words {
	b := make([]byte, 0, 4*len(vs))
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

// msg is the text of an error message being built, in a buffer the caller makes with a
// constant capacity (so that it stays on the stack): a message then costs one allocation,
// for its string, however many parts it has. Error paths are bounded to a few messages
// per datagram; see Parser.Next.
type msg []byte

func newMsg(b []byte) msg { return msg(b[:0]) }

func (m msg) s(v string) msg { return append(m, v...) }

func (m msg) n(v int) msg { return strconv.AppendInt(m, int64(v), 10) }

func (m msg) u(v uint32) msg { return strconv.AppendUint(m, uint64(v), 10) }

func (m msg) f(f Format) msg { return m.u(f.Enterprise()).s(":").u(f.Number()) }

// parseError returns an sFlow ParseError: three allocations, the error and its two texts.
func parseError(off int, err error, what, detail msg) error {
	return &flow.ParseError{Protocol: flow.SFlow, What: string(what), Offset: off, Err: err, Detail: string(detail)}
}

// recordError describes a record that is too short for its format.
func recordError(format Format, off int, have int) error {
	var a, b [48]byte
	return parseError(off, flow.ErrTruncated, newMsg(a[:]).s("record ").f(format),
		newMsg(b[:]).s("content ends early (").n(have).s(" bytes)"))
}
