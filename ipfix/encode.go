package ipfix

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/template"
)

// encOp says which part of a flow.Record one field of a template is written from. An
// encode plan is a slice of them, worked out once when a template is defined, so that
// encoding a record walks the slice instead of looking elements up.
type encOp uint8

const (
	eZero encOp = iota // an element the plan does not fill: zeros, or an empty variable-length value
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

// encStep is one field of an encode plan.
type encStep struct {
	op  encOp
	n   uint16 // the field's length, or template.VarLen
	rev bool   // read from the reverse record (an RFC 5103 reverse element)
}

// compilePlan works out the encode plan of a template and the length of its records (which
// is fixed: the plan writes variable-length fields it does not fill as empty). It rejects
// lengths an element cannot have, so that every record the plan writes decodes.
func compilePlan(fields []template.Field) ([]encStep, int, error) {
	plan := make([]encStep, len(fields))
	n := 0
	for i, f := range fields {
		s := encStep{n: f.Length}
		if f.Length == template.VarLen {
			n++ // an empty value: its one-byte length
		} else {
			n += int(f.Length)
		}
		if f.Enterprise == 0 || f.Enterprise == template.ReversePEN {
			if m, ok := encMappings[f.ID]; ok {
				if f.Length < m.min || f.Length > m.max {
					return nil, 0, fmt.Errorf("ipfix: field %d (element %d, enterprise %d): length %d, want %d to %d",
						i, f.ID, f.Enterprise, f.Length, m.min, m.max)
				}
				s.op, s.rev = m.op, f.Enterprise == template.ReversePEN
			}
		}
		plan[i] = s
	}
	if n+SetHeaderLen+HeaderLen > MaxMessageLen {
		return nil, 0, errors.New("ipfix: template records do not fit in a message")
	}
	return plan, n, nil
}

// encode appends one record of the plan's template, filled from fwd and, for reverse
// elements, from rev (zeros when rev is nil).
func encode(b []byte, plan []encStep, fwd, rev *flow.Record) []byte {
	for _, s := range plan {
		r := fwd
		if s.rev {
			if r = rev; r == nil {
				b = appendZero(b, s.n)
				continue
			}
		}
		n := int(s.n)
		switch s.op {
		case eZero:
			b = appendZero(b, s.n)
		case eSrcAddr4:
			b = append4(b, r.SrcAddr)
		case eSrcAddr6:
			b = append16(b, r.SrcAddr)
		case eDstAddr4:
			b = append4(b, r.DstAddr)
		case eDstAddr6:
			b = append16(b, r.DstAddr)
		case eNextHop4:
			b = append4(b, r.NextHop)
		case eNextHop6:
			b = append16(b, r.NextHop)
		case eBGPNextHop4:
			b = append4(b, r.BGPNextHop)
		case eBGPNextHop6:
			b = append16(b, r.BGPNextHop)
		case eBytes:
			b = appendUint(b, r.Bytes, n)
		case ePackets:
			b = appendUint(b, r.Packets, n)
		case eProto:
			b = appendUint(b, uint64(r.IPProto), n)
		case eToS:
			b = appendUint(b, uint64(r.ToS), n)
		case eDSCP:
			b = appendUint(b, uint64(r.ToS>>2), n)
		case eTCPFlags:
			b = appendUint(b, uint64(r.TCPFlags), n)
		case eSrcPort:
			b = appendUint(b, uint64(r.SrcPort), n)
		case eDstPort:
			b = appendUint(b, uint64(r.DstPort), n)
		case eICMPTypeCode, eICMPType, eICMPCode:
			v := uint64(0)
			if r.IPProto == 1 || r.IPProto == 58 {
				v = uint64(r.DstPort) // type<<8 | code, as NetFlow exporters put it in the port
				switch s.op {
				case eICMPType:
					v >>= 8
				case eICMPCode:
					v &= 0xff
				}
			}
			b = appendUint(b, v, n)
		case eInIf:
			b = appendUint(b, uint64(r.InIf), n)
		case eOutIf:
			b = appendUint(b, uint64(r.OutIf), n)
		case eSrcAS:
			b = appendUint(b, uint64(r.SrcAS), n)
		case eDstAS:
			b = appendUint(b, uint64(r.DstAS), n)
		case eSrcMask:
			b = appendUint(b, uint64(r.SrcMask), n)
		case eDstMask:
			b = appendUint(b, uint64(r.DstMask), n)
		case eVLAN:
			b = appendUint(b, uint64(r.VLAN), n)
		case eOutVLAN:
			b = appendUint(b, uint64(r.OutVLAN), n)
		case eSrcMAC:
			b = append(b, r.SrcMAC[:]...)
		case eDstMAC:
			b = append(b, r.DstMAC[:]...)
		case eDirection:
			// flowDirection has 0 ingress, 1 egress; 255 is no value of it, which
			// collectors show as unknown (and ours reads back as such).
			v := uint64(255)
			switch r.Direction {
			case flow.Ingress:
				v = 0
			case flow.Egress:
				v = 1
			}
			b = appendUint(b, v, n)
		case eEndReason:
			b = appendUint(b, uint64(r.EndReason), n)
		case eMPLSLabel:
			l := r.MPLSLabel & 0xfffff << 4
			b = append(b, byte(l>>16), byte(l>>8), byte(l))
		case eEngineType:
			b = appendUint(b, uint64(r.EngineType), n)
		case eEngineID:
			b = appendUint(b, uint64(r.EngineID), n)
		case eStartSec:
			b = appendUint(b, unixUnits(r.Start, 1e9), n)
		case eEndSec:
			b = appendUint(b, unixUnits(r.End, 1e9), n)
		case eStartMs:
			b = appendUint(b, unixUnits(r.Start, 1e6), n)
		case eEndMs:
			b = appendUint(b, unixUnits(r.End, 1e6), n)
		case eStartNTP:
			b = binary.BigEndian.AppendUint64(b, ntp(r.Start))
		case eEndNTP:
			b = binary.BigEndian.AppendUint64(b, ntp(r.End))
		case eDurationMs:
			b = appendUint(b, durationIn(r, 1e6), n)
		case eDurationUs:
			b = appendUint(b, durationIn(r, 1e3), n)
		case eSampling:
			b = appendUint(b, uint64(r.SamplingInterval), n)
		}
	}
	return b
}

// appendZero appends a field's worth of zeros, or an empty variable-length value.
func appendZero(b []byte, n uint16) []byte {
	if n == template.VarLen {
		return append(b, 0)
	}
	for range n {
		b = append(b, 0)
	}
	return b
}

// appendUint appends v in n bytes, big-endian. A value too large for a reduced-size field
// is written as the largest the field holds: a saturated counter misleads less than one
// that lost its high bits.
func appendUint(b []byte, v uint64, n int) []byte {
	if n < 8 && v >= 1<<(8*n) {
		v = 1<<(8*n) - 1
	}
	switch n {
	case 1:
		return append(b, byte(v))
	case 2:
		return binary.BigEndian.AppendUint16(b, uint16(v))
	case 4:
		return binary.BigEndian.AppendUint32(b, uint32(v))
	case 8:
		return binary.BigEndian.AppendUint64(b, v)
	}
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// append4 appends an IPv4 address (IPv4-mapped ones unmapped); anything else as 0.0.0.0.
func append4(b []byte, a netip.Addr) []byte {
	var s [4]byte
	if a = a.Unmap(); a.Is4() {
		s = a.As4()
	}
	return append(b, s[:]...)
}

// append16 appends an IPv6 address, an IPv4 one IPv4-mapped, the absent one as ::.
func append16(b []byte, a netip.Addr) []byte {
	var s [16]byte
	if a.IsValid() {
		s = a.As16()
	}
	return append(b, s[:]...)
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
