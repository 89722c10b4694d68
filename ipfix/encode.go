package ipfix

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"unsafe"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/template"
)

// encOp says which part of a flow.Record one field of a template is written from. The
// encode plan, worked out once when a template is defined, holds one for each field the
// Record fills, so that encoding walks the plan instead of looking elements up.
type encOp uint8

const (
	eNone encOp = iota // no element of the Record's
	eSrcAddr4
	eSrcAddr6
	eDstAddr4
	eDstAddr6
	eNextHop4
	eNextHop6
	eBGPNextHop4
	eBGPNextHop6
	eBytes
	ePackets
	eProto
	eToS
	eDSCP
	eTCPFlags
	eSrcPort
	eDstPort
	eICMPTypeCode
	eICMPType
	eICMPCode
	eInIf
	eOutIf
	eSrcAS
	eDstAS
	eSrcMask
	eDstMask
	eVLAN
	eOutVLAN
	eSrcMAC
	eDstMAC
	eDirection
	eEndReason
	eMPLSLabel
	eEngineType
	eEngineID
	eStartSec
	eEndSec
	eStartMs
	eEndMs
	eStartNTP
	eEndNTP
	eDurationMs
	eDurationUs
	eSampling
)

// encMapping is an element the plan can fill, and the field lengths it may be sent with.
type encMapping struct {
	op       encOp
	min, max uint16
}

// encMappings lists the IANA elements a flow.Record fills. Unsigned integers may be sent
// reduced-size, in 1 to 8 bytes (RFC 7011 section 6.2). The same elements under the RFC
// 5103 reverse PEN are filled from the reverse record of a biflow.
var encMappings = map[uint16]encMapping{
	8: {eSrcAddr4, 4, 4}, 27: {eSrcAddr6, 16, 16}, 12: {eDstAddr4, 4, 4}, 28: {eDstAddr6, 16, 16},
	15: {eNextHop4, 4, 4}, 62: {eNextHop6, 16, 16}, 18: {eBGPNextHop4, 4, 4}, 63: {eBGPNextHop6, 16, 16},
	1: {eBytes, 1, 8}, 85: {eBytes, 1, 8}, 23: {eBytes, 1, 8}, 231: {eBytes, 1, 8},
	2: {ePackets, 1, 8}, 86: {ePackets, 1, 8}, 24: {ePackets, 1, 8}, 298: {ePackets, 1, 8},
	4: {eProto, 1, 8}, 5: {eToS, 1, 8}, 195: {eDSCP, 1, 8}, 6: {eTCPFlags, 1, 8},
	7: {eSrcPort, 1, 8}, 180: {eSrcPort, 1, 8}, 182: {eSrcPort, 1, 8},
	11: {eDstPort, 1, 8}, 181: {eDstPort, 1, 8}, 183: {eDstPort, 1, 8},
	32: {eICMPTypeCode, 1, 8}, 139: {eICMPTypeCode, 1, 8},
	176: {eICMPType, 1, 8}, 178: {eICMPType, 1, 8}, 177: {eICMPCode, 1, 8}, 179: {eICMPCode, 1, 8},
	10: {eInIf, 1, 8}, 252: {eInIf, 1, 8}, 14: {eOutIf, 1, 8}, 253: {eOutIf, 1, 8},
	16: {eSrcAS, 1, 8}, 17: {eDstAS, 1, 8},
	9: {eSrcMask, 1, 8}, 29: {eSrcMask, 1, 8}, 13: {eDstMask, 1, 8}, 30: {eDstMask, 1, 8},
	58: {eVLAN, 1, 8}, 243: {eVLAN, 1, 8}, 59: {eOutVLAN, 1, 8}, 254: {eOutVLAN, 1, 8},
	56: {eSrcMAC, 6, 6}, 81: {eSrcMAC, 6, 6}, 80: {eDstMAC, 6, 6}, 57: {eDstMAC, 6, 6},
	61: {eDirection, 1, 8}, 136: {eEndReason, 1, 8}, 70: {eMPLSLabel, 3, 3},
	38: {eEngineType, 1, 8}, 39: {eEngineID, 1, 8},
	150: {eStartSec, 1, 8}, 151: {eEndSec, 1, 8}, 152: {eStartMs, 1, 8}, 153: {eEndMs, 1, 8},
	154: {eStartNTP, 8, 8}, 155: {eEndNTP, 8, 8}, 156: {eStartNTP, 8, 8}, 157: {eEndNTP, 8, 8},
	161: {eDurationMs, 1, 8}, 162: {eDurationUs, 1, 8}, 34: {eSampling, 1, 8},
}

// encCode is how a step writes its field: a store specialised to a kind of Record field
// (read at the step's source offset) and one width, or the generic path for the rarer
// combinations. Encoding applies each step to every record of a batch in turn, so what
// costs is the store itself, and a specialised store is a load, a byte swap and a write.
type encCode uint8

const (
	cGeneric      encCode = iota // value(op) written in n bytes, saturated
	cAddr4                       // a netip.Addr as IPv4
	cAddr16                      // a netip.Addr as IPv6
	cU64x8                       // a uint64 in 8 bytes
	cU64x4                       // a uint64 in 4, saturated
	cU32x4                       // a uint32 in 4 bytes
	cU16x2                       // a uint16 in 2 bytes
	cU16x1                       // a uint16 in 1, saturated
	cU8x1                        // a uint8 in 1 byte
	cMAC                         // a flow.MAC
	cMillis8                     // a flow.Time in milliseconds, 8 bytes
	cSeconds4                    // a flow.Time in seconds, 4 bytes
	cNTP                         // a flow.Time as an NTP timestamp
	cDSCP                        // the ToS's top 6 bits, 1 byte
	cDirection                   // flowDirection, 1 byte
	cICMPTypeCode                // type<<8 | code of ICMP flows, 2 bytes
	cMPLS                        // the MPLS label as in a label stack entry, 3 bytes
)

// specialised maps an element's op and length to its specialised store and the offset in
// flow.Record of the field it reads.
var specialised = func() map[[2]int]encStep {
	var r flow.Record
	off := func(p unsafe.Pointer) uint16 { return uint16(uintptr(p) - uintptr(unsafe.Pointer(&r))) }
	m := map[[2]int]encStep{}
	set := func(op encOp, n int, code encCode, p unsafe.Pointer) {
		m[[2]int{int(op), n}] = encStep{code: code, src: off(p)}
	}
	for _, a := range []struct {
		v4, v6 encOp
		p      *netip.Addr
	}{{eSrcAddr4, eSrcAddr6, &r.SrcAddr}, {eDstAddr4, eDstAddr6, &r.DstAddr},
		{eNextHop4, eNextHop6, &r.NextHop}, {eBGPNextHop4, eBGPNextHop6, &r.BGPNextHop}} {
		set(a.v4, 4, cAddr4, unsafe.Pointer(a.p))
		set(a.v6, 16, cAddr16, unsafe.Pointer(a.p))
	}
	for op, p := range map[encOp]*uint64{eBytes: &r.Bytes, ePackets: &r.Packets} {
		set(op, 8, cU64x8, unsafe.Pointer(p))
		set(op, 4, cU64x4, unsafe.Pointer(p))
	}
	for op, p := range map[encOp]*uint32{eInIf: &r.InIf, eOutIf: &r.OutIf, eSrcAS: &r.SrcAS, eDstAS: &r.DstAS, eSampling: &r.SamplingInterval} {
		set(op, 4, cU32x4, unsafe.Pointer(p))
	}
	for op, p := range map[encOp]*uint16{eSrcPort: &r.SrcPort, eDstPort: &r.DstPort, eTCPFlags: &r.TCPFlags, eVLAN: &r.VLAN, eOutVLAN: &r.OutVLAN} {
		set(op, 2, cU16x2, unsafe.Pointer(p))
	}
	set(eTCPFlags, 1, cU16x1, unsafe.Pointer(&r.TCPFlags))
	for op, p := range map[encOp]*uint8{eProto: &r.IPProto, eToS: &r.ToS, eSrcMask: &r.SrcMask, eDstMask: &r.DstMask,
		eEndReason: (*uint8)(&r.EndReason), eEngineType: &r.EngineType, eEngineID: &r.EngineID} {
		set(op, 1, cU8x1, unsafe.Pointer(p))
	}
	set(eSrcMAC, 6, cMAC, unsafe.Pointer(&r.SrcMAC))
	set(eDstMAC, 6, cMAC, unsafe.Pointer(&r.DstMAC))
	for _, t := range []struct {
		ms, sec, ntp encOp
		p            *flow.Time
	}{{eStartMs, eStartSec, eStartNTP, &r.Start}, {eEndMs, eEndSec, eEndNTP, &r.End}} {
		set(t.ms, 8, cMillis8, unsafe.Pointer(t.p))
		set(t.sec, 4, cSeconds4, unsafe.Pointer(t.p))
		set(t.ntp, 8, cNTP, unsafe.Pointer(t.p))
	}
	set(eDSCP, 1, cDSCP, unsafe.Pointer(&r.ToS))
	set(eDirection, 1, cDirection, unsafe.Pointer(&r.Direction))
	set(eICMPTypeCode, 2, cICMPTypeCode, unsafe.Pointer(&r))
	set(eMPLSLabel, 3, cMPLS, unsafe.Pointer(&r.MPLSLabel))
	return m
}()

// encStep is one field of an encode plan that the Record fills.
type encStep struct {
	code encCode
	op   encOp  // what the generic path writes
	rev  bool   // read from the reverse record (an RFC 5103 reverse element)
	src  uint16 // the offset in flow.Record of what a specialised store reads
	off  uint16 // the field's offset in the record
	n    uint16 // the field's length
}

// encPlan is how to encode the records of one template. Every record has the same length:
// the plan writes the variable-length fields it does not fill as empty values. The
// fields it does not fill (and the reverse ones, when there is no reverse record) are
// zero, which the encoder writes by clearing the records first.
type encPlan struct {
	steps  []encStep
	recLen int
	zero   bool // some fields are not filled
	rev    bool // some steps read the reverse record
}

// compilePlan works out the encode plan of a template. It rejects lengths an element
// cannot have, so that every record the plan writes decodes. generic makes every step
// but the addresses' take the generic path, for tests to compare with the specialised
// stores.
func compilePlan(fields []template.Field, generic bool) (encPlan, error) {
	var p encPlan
	n := 0
	for i, f := range fields {
		off := n
		if f.Length == template.VarLen {
			n++ // an empty value: its one-byte length, zero
		} else {
			n += int(f.Length)
		}
		m, ok := encMappings[f.ID]
		if !ok || f.Enterprise != 0 && f.Enterprise != template.ReversePEN {
			p.zero = true
			continue
		}
		if f.Length < m.min || f.Length > m.max {
			return encPlan{}, fmt.Errorf("ipfix: field %d (element %d, enterprise %d): length %d, want %d to %d",
				i, f.ID, f.Enterprise, f.Length, m.min, m.max)
		}
		if n+SetHeaderLen+HeaderLen > MaxMessageLen {
			break // reported below, before an offset can overflow
		}
		s := encStep{}
		isAddr := m.op >= eSrcAddr4 && m.op <= eBGPNextHop6 // no generic path: only the stores
		if !generic || isAddr {
			s = specialised[[2]int{int(m.op), int(f.Length)}]
		}
		s.op, s.off, s.n, s.rev = m.op, uint16(off), f.Length, f.Enterprise == template.ReversePEN
		p.rev = p.rev || s.rev
		p.steps = append(p.steps, s)
	}
	if n+SetHeaderLen+HeaderLen > MaxMessageLen {
		return encPlan{}, errors.New("ipfix: template records do not fit in a message")
	}
	p.recLen = n
	return p, nil
}

// encodeSet writes len(fwd) records of the plan's template into dst, one after the other,
// filled from fwd and, for reverse elements, from rev (zeros when rev is nil; else it has
// as many records as fwd). dst must hold them: len(fwd)*recLen bytes.
//
// It works step by step, each step over all the records, rather than record by record:
// the switch on a step's code then costs once per field of the batch instead of once per
// field of every record, and each case is a tight loop of stores.
func encodeSet(dst []byte, p *encPlan, fwd, rev []flow.Record) {
	n, stride := len(fwd), p.recLen
	if n == 0 || stride == 0 || len(dst) < n*stride || rev != nil && len(rev) != n {
		return
	}
	if p.zero || p.rev && rev == nil {
		clear(dst[:n*stride])
	}
	const size = unsafe.Sizeof(flow.Record{})
	base := unsafe.Pointer(unsafe.SliceData(dst))
	for k := range p.steps {
		s := &p.steps[k]
		rs := fwd
		if s.rev {
			if rs = rev; rs == nil {
				continue // cleared above
			}
		}
		// Every step ends within the record (compilePlan), and dst holds n records (checked
		// above): the stores below stay in dst. The source offsets are of fields of the
		// type they are read as (specialised).
		q := unsafe.Add(base, s.off)
		r := unsafe.Add(unsafe.Pointer(unsafe.SliceData(rs)), s.src)
		switch s.code {
		case cGeneric:
			for i := range rs {
				putUint(unsafe.Add(q, i*stride), value(s.op, &rs[i]), int(s.n))
			}
		case cAddr4:
			for i := range n {
				a := *(*netip.Addr)(unsafe.Add(r, uintptr(i)*size))
				d := (*[4]byte)(unsafe.Add(q, i*stride))
				if a.Is4() {
					*d = a.As4()
				} else {
					*d = as4(a)
				}
			}
		case cAddr16:
			for i := range n {
				*(*[16]byte)(unsafe.Add(q, i*stride)) = as16(*(*netip.Addr)(unsafe.Add(r, uintptr(i)*size)))
			}
		case cU64x8:
			for i := range n {
				put64(unsafe.Add(q, i*stride), *(*uint64)(unsafe.Add(r, uintptr(i)*size)))
			}
		case cU64x4:
			for i := range n {
				put32(unsafe.Add(q, i*stride), uint32(min(*(*uint64)(unsafe.Add(r, uintptr(i)*size)), math.MaxUint32)))
			}
		case cU32x4:
			for i := range n {
				put32(unsafe.Add(q, i*stride), *(*uint32)(unsafe.Add(r, uintptr(i)*size)))
			}
		case cU16x2:
			for i := range n {
				put16(unsafe.Add(q, i*stride), *(*uint16)(unsafe.Add(r, uintptr(i)*size)))
			}
		case cU16x1:
			for i := range n {
				*(*byte)(unsafe.Add(q, i*stride)) = byte(min(*(*uint16)(unsafe.Add(r, uintptr(i)*size)), 0xff))
			}
		case cU8x1:
			for i := range n {
				*(*byte)(unsafe.Add(q, i*stride)) = *(*byte)(unsafe.Add(r, uintptr(i)*size))
			}
		case cMAC:
			for i := range n {
				*(*[6]byte)(unsafe.Add(q, i*stride)) = *(*[6]byte)(unsafe.Add(r, uintptr(i)*size))
			}
		case cMillis8:
			for i := range n {
				put64(unsafe.Add(q, i*stride), unixUnits(*(*flow.Time)(unsafe.Add(r, uintptr(i)*size)), 1e6))
			}
		case cSeconds4:
			for i := range n {
				put32(unsafe.Add(q, i*stride), uint32(min(unixUnits(*(*flow.Time)(unsafe.Add(r, uintptr(i)*size)), 1e9), math.MaxUint32)))
			}
		case cNTP:
			for i := range n {
				put64(unsafe.Add(q, i*stride), ntp(*(*flow.Time)(unsafe.Add(r, uintptr(i)*size))))
			}
		case cDSCP:
			for i := range n {
				*(*byte)(unsafe.Add(q, i*stride)) = *(*byte)(unsafe.Add(r, uintptr(i)*size)) >> 2
			}
		case cDirection:
			for i := range n {
				*(*byte)(unsafe.Add(q, i*stride)) = direction(*(*flow.Direction)(unsafe.Add(r, uintptr(i)*size)))
			}
		case cICMPTypeCode:
			for i := range rs {
				put16(unsafe.Add(q, i*stride), uint16(icmpTypeCode(&rs[i])))
			}
		case cMPLS:
			for i := range n {
				l := *(*uint32)(unsafe.Add(r, uintptr(i)*size)) & 0xfffff << 4
				*(*[3]byte)(unsafe.Add(q, i*stride)) = [3]byte{byte(l >> 16), byte(l >> 8), byte(l)}
			}
		}
	}
}

// value is what the generic path writes for op: every element but the addresses is an
// unsigned integer of the Record's, or one worked out from it.
func value(op encOp, r *flow.Record) uint64 {
	switch op {
	case eBytes:
		return r.Bytes
	case ePackets:
		return r.Packets
	case eProto:
		return uint64(r.IPProto)
	case eToS:
		return uint64(r.ToS)
	case eDSCP:
		return uint64(r.ToS >> 2)
	case eTCPFlags:
		return uint64(r.TCPFlags)
	case eSrcPort:
		return uint64(r.SrcPort)
	case eDstPort:
		return uint64(r.DstPort)
	case eICMPTypeCode:
		return icmpTypeCode(r)
	case eICMPType:
		return icmpTypeCode(r) >> 8
	case eICMPCode:
		return icmpTypeCode(r) & 0xff
	case eInIf:
		return uint64(r.InIf)
	case eOutIf:
		return uint64(r.OutIf)
	case eSrcAS:
		return uint64(r.SrcAS)
	case eDstAS:
		return uint64(r.DstAS)
	case eSrcMask:
		return uint64(r.SrcMask)
	case eDstMask:
		return uint64(r.DstMask)
	case eVLAN:
		return uint64(r.VLAN)
	case eOutVLAN:
		return uint64(r.OutVLAN)
	case eSrcMAC:
		return uint64(binary.BigEndian.Uint16(r.SrcMAC[:]))<<32 | uint64(binary.BigEndian.Uint32(r.SrcMAC[2:]))
	case eDstMAC:
		return uint64(binary.BigEndian.Uint16(r.DstMAC[:]))<<32 | uint64(binary.BigEndian.Uint32(r.DstMAC[2:]))
	case eDirection:
		return uint64(direction(r.Direction))
	case eEndReason:
		return uint64(r.EndReason)
	case eMPLSLabel:
		return uint64(r.MPLSLabel & 0xfffff << 4)
	case eEngineType:
		return uint64(r.EngineType)
	case eEngineID:
		return uint64(r.EngineID)
	case eStartSec:
		return unixUnits(r.Start, 1e9)
	case eEndSec:
		return unixUnits(r.End, 1e9)
	case eStartMs:
		return unixUnits(r.Start, 1e6)
	case eEndMs:
		return unixUnits(r.End, 1e6)
	case eStartNTP:
		return ntp(r.Start)
	case eEndNTP:
		return ntp(r.End)
	case eDurationMs:
		return durationIn(r, 1e6)
	case eDurationUs:
		return durationIn(r, 1e3)
	case eSampling:
		return uint64(r.SamplingInterval)
	}
	return 0
}

// icmpTypeCode is type<<8 | code for ICMP flows, taken from the destination port where
// NetFlow exporters put it; 0 for others.
func icmpTypeCode(r *flow.Record) uint64 {
	if r.IPProto == 1 || r.IPProto == 58 {
		return uint64(r.DstPort)
	}
	return 0
}

// direction is the flowDirection value of d: 0 ingress, 1 egress; 255 is no value of it,
// which collectors show as unknown (and ours reads back as such).
func direction(d flow.Direction) byte {
	switch d {
	case flow.Ingress:
		return 0
	case flow.Egress:
		return 1
	}
	return 255
}

func put16(p unsafe.Pointer, v uint16) { binary.BigEndian.PutUint16((*[2]byte)(p)[:], v) }
func put32(p unsafe.Pointer, v uint32) { binary.BigEndian.PutUint32((*[4]byte)(p)[:], v) }
func put64(p unsafe.Pointer, v uint64) { binary.BigEndian.PutUint64((*[8]byte)(p)[:], v) }

// putUint writes v in n bytes (1 to 8), big-endian. A value too large for a reduced-size
// field is written as the largest the field holds: a saturated counter misleads less than
// one that lost its high bits.
func putUint(p unsafe.Pointer, v uint64, n int) {
	if n < 8 && v >= 1<<(8*n) {
		v = 1<<(8*n) - 1
	}
	b := unsafe.Slice((*byte)(p), n)
	for i := range b {
		b[i] = byte(v >> (8 * (n - 1 - i)))
	}
}

// as4 is an IPv4 address's bytes (IPv4-mapped ones unmapped); anything else gives 0.0.0.0.
func as4(a netip.Addr) [4]byte {
	if a = a.Unmap(); a.Is4() {
		return a.As4()
	}
	return [4]byte{}
}

// as16 is an IPv6 address's bytes, an IPv4 one IPv4-mapped, the absent one ::.
func as16(a netip.Addr) [16]byte {
	if a.IsValid() {
		return a.As16()
	}
	return [16]byte{}
}

// unixUnits converts t to whole units of unit nanoseconds since the epoch, rounding down;
// "not reported" and times before 1970 (which the unsigned elements cannot carry) give 0,
// which decoders read as not reported.
func unixUnits(t flow.Time, unit int64) uint64 {
	if t <= 0 {
		return 0
	}
	return uint64(int64(t) / unit)
}

// ntpUnixOffset is the NTP era 0 epoch (1900-01-01) in seconds before the Unix epoch.
const ntpUnixOffset = 2208988800

// ntp converts t to a 64-bit NTP timestamp. The fraction is rounded up, so that a decoder
// that rounds down (as RFC 7011 collectors do, ours included) gets the nanosecond back.
func ntp(t flow.Time) uint64 {
	if t <= 0 {
		return 0
	}
	secs, ns := int64(t)/1e9, uint64(int64(t)%1e9)
	frac := (ns<<32 + 1e9 - 1) / 1e9
	return uint64(secs+ntpUnixOffset)<<32 | frac
}

// durationIn returns End-Start in units of unit nanoseconds, 0 when either is missing.
func durationIn(r *flow.Record, unit int64) uint64 {
	if r.Start == 0 || r.End < r.Start {
		return 0
	}
	return uint64(int64(r.End-r.Start) / unit)
}
