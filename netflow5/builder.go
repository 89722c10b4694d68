package netflow5

import (
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"time"

	"github.com/flowkit/flow"
)

// ErrNotIPv4 is returned by [Builder.AddFlow] for a record whose addresses NetFlow v5
// cannot carry.
var ErrNotIPv4 = errors.New("netflow5: record has a non-IPv4 address")

// asTrans is the 2-byte AS number that stands for a 4-byte one (RFC 6793).
const asTrans = 23456

// Builder appends NetFlow v5 datagrams to a caller's buffer: [Builder.Start] writes a
// header, [Builder.Add] or [Builder.AddFlow] append records until the datagram holds
// [MaxRecords], and [Builder.Finish] completes it. The flow sequence carries over from one
// datagram to the next. A Builder never allocates when the buffer passed to Start has room
// for the datagram (24 + 30·48 = 1464 bytes).
type Builder struct {
	// EngineType and EngineID identify the exporter's flow-switching engine.
	EngineType, EngineID uint8
	// SamplingMode (2 bits) and SamplingInterval (14 bits) announce packet sampling.
	SamplingMode     uint8
	SamplingInterval uint16
	// Boot is the exporter's boot time: sysUptime counts milliseconds from it. When it is
	// zero, the first Start sets it to its now, so the first datagram says uptime 0.
	Boot time.Time
	// Sequence is the flow sequence number the next datagram carries: the number of
	// records sent before it. Finish advances it.
	Sequence uint32

	buf    []byte
	hdr    int       // offset of the current header in buf
	count  int       // records in the current datagram
	bootNs int64     // Boot in Unix nanoseconds
	export flow.Time // export time written in the header, a whole number of ms after Boot
	last   flow.Time // the latest record time AddFlow wrote into the datagram
	open   bool
}

// Start begins a datagram at the end of dst, stamped with the export time now.
//
// The header's wall-clock time is Boot plus the whole milliseconds of uptime, so that it is
// within a millisecond of now and record times written by AddFlow decode back exactly.
func (b *Builder) Start(dst []byte, now time.Time) {
	if b.Boot.IsZero() {
		b.Boot = now
	}
	b.bootNs = b.Boot.UnixNano()
	b.export = flow.Time(b.bootNs + now.Sub(b.Boot).Milliseconds()*1e6)
	b.buf, b.hdr, b.count, b.last, b.open = dst, len(dst), 0, 0, true
	b.buf = binary.BigEndian.AppendUint16(b.buf, Version)
	b.buf = binary.BigEndian.AppendUint16(b.buf, 0) // count, set by Finish
	b.buf = append(b.buf, make([]byte, 12)...)      // sysUptime and time, set by putTime
	b.putTime()
	b.buf = binary.BigEndian.AppendUint32(b.buf, b.Sequence)
	b.buf = append(b.buf, b.EngineType, b.EngineID)
	b.buf = binary.BigEndian.AppendUint16(b.buf, uint16(b.SamplingMode&3)<<14|b.SamplingInterval&0x3fff)
}

// putTime writes the export time and the sysUptime that goes with it into the header.
func (b *Builder) putTime() {
	secs, nsecs := int64(b.export)/1e9, int64(b.export)%1e9
	binary.BigEndian.PutUint32(b.buf[b.hdr+4:], b.uptime(b.export))
	binary.BigEndian.PutUint32(b.buf[b.hdr+8:], uint32(secs))
	binary.BigEndian.PutUint32(b.buf[b.hdr+12:], uint32(nsecs))
}

// Len returns the number of records in the datagram being built.
func (b *Builder) Len() int { return b.count }

// Add appends a record in wire form; addresses that are not IPv4 are written as 0.0.0.0. It returns [flow.ErrFull] when the datagram already
// holds MaxRecords; Finish it and Start another. It panics if Start was not called.
func (b *Builder) Add(r Record) error {
	if !b.open {
		panic("netflow5: Builder.Add called before Start")
	}
	if b.count == MaxRecords {
		return flow.ErrFull
	}
	var rec [RecordLen]byte
	putAddr(rec[0:], r.SrcAddr)
	putAddr(rec[4:], r.DstAddr)
	putAddr(rec[8:], r.NextHop)
	binary.BigEndian.PutUint16(rec[12:], r.Input)
	binary.BigEndian.PutUint16(rec[14:], r.Output)
	binary.BigEndian.PutUint32(rec[16:], r.Packets)
	binary.BigEndian.PutUint32(rec[20:], r.Octets)
	binary.BigEndian.PutUint32(rec[24:], r.First)
	binary.BigEndian.PutUint32(rec[28:], r.Last)
	binary.BigEndian.PutUint16(rec[32:], r.SrcPort)
	binary.BigEndian.PutUint16(rec[34:], r.DstPort)
	rec[37], rec[38], rec[39] = r.TCPFlags, r.Proto, r.ToS
	binary.BigEndian.PutUint16(rec[40:], r.SrcAS)
	binary.BigEndian.PutUint16(rec[42:], r.DstAS)
	rec[44], rec[45] = r.SrcMask, r.DstMask
	b.buf = append(b.buf, rec[:]...)
	b.count++
	return nil
}

// putAddr writes a as four bytes; anything but an IPv4 (or IPv4-mapped) address is
// written as 0.0.0.0.
func putAddr(dst []byte, a netip.Addr) {
	if a = a.Unmap(); a.Is4() {
		b := a.As4()
		copy(dst, b[:])
	}
}

// AddFlow appends r converted to wire form. It returns [ErrNotIPv4] when the source or
// destination address is not IPv4 (a next hop that is not IPv4 is written as 0.0.0.0),
// and [flow.ErrFull] when the datagram is full.
//
// What does not fit the format is narrowed the way collectors expect: counters above
// 2^32-1 and interface indexes above 65535 saturate, AS numbers above 65535 become
// AS_TRANS (23456, RFC 6793), TCP flags keep their low 8 bits. Times become sysUptime
// milliseconds relative to Boot; a zero Start or End takes the other's value, and both
// zero take the export time. A record ending after the export time moves the header's
// time forward to it at Finish, so that no record reads as later than its datagram.
func (b *Builder) AddFlow(r *flow.Record) error {
	if !r.SrcAddr.Unmap().Is4() || !r.DstAddr.Unmap().Is4() {
		return ErrNotIPv4
	}
	start, end := r.Start, r.End
	switch {
	case start.IsZero() && end.IsZero():
		start, end = b.export, b.export
	case start.IsZero():
		start = end
	case end.IsZero():
		end = start
	}
	err := b.Add(Record{
		SrcAddr:  r.SrcAddr,
		DstAddr:  r.DstAddr,
		NextHop:  r.NextHop,
		Input:    sat16(r.InIf),
		Output:   sat16(r.OutIf),
		Packets:  sat32(r.Packets),
		Octets:   sat32(r.Bytes),
		First:    b.uptime(start),
		Last:     b.uptime(end),
		SrcPort:  r.SrcPort,
		DstPort:  r.DstPort,
		TCPFlags: uint8(r.TCPFlags),
		Proto:    r.IPProto,
		ToS:      r.ToS,
		SrcAS:    as16(r.SrcAS),
		DstAS:    as16(r.DstAS),
		SrcMask:  r.SrcMask,
		DstMask:  r.DstMask,
	})
	if err == nil {
		b.last = max(b.last, start, end)
	}
	return err
}

// Finish completes the datagram, advances Sequence by its record count, and returns the
// buffer passed to Start with the datagram appended. A datagram with no records is
// removed again: NetFlow v5 has no empty datagrams.
func (b *Builder) Finish() []byte {
	if !b.open {
		panic("netflow5: Builder.Finish called before Start")
	}
	b.open = false
	if b.count == 0 {
		return b.buf[:b.hdr]
	}
	binary.BigEndian.PutUint16(b.buf[b.hdr+2:], uint16(b.count))
	b.Sequence += uint32(b.count)
	if b.last > b.export {
		// A record ends after the time Start was given: the datagram cannot have left
		// before its flows ended. Collectors count record times back from the header's
		// (SysUptime-Last, modulo 2^32), so the header moves to the next whole millisecond
		// after Boot at or past that end, or the flow would be read as 49.7 days old.
		ms := (int64(b.last) - b.bootNs + 1e6 - 1) / 1e6
		b.export = flow.Time(b.bootNs + ms*1e6)
		b.putTime()
	}
	return b.buf
}

// uptime converts a wall-clock time to sysUptime milliseconds, modulo 2^32, rounding
// down so that a time and its datagram's export time stay in order.
func (b *Builder) uptime(t flow.Time) uint32 {
	d := int64(t) - b.bootNs
	ms := d / 1e6
	if d%1e6 < 0 {
		ms-- // floor, not truncation, for times before Boot
	}
	return uint32(ms)
}

func sat16(v uint32) uint16 {
	if v > math.MaxUint16 {
		return math.MaxUint16
	}
	return uint16(v)
}

func sat32(v uint64) uint32 {
	if v > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(v)
}

func as16(v uint32) uint16 {
	if v > math.MaxUint16 {
		return asTrans
	}
	return uint16(v)
}
