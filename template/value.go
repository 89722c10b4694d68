package template

import (
	"encoding/binary"
	"math"
	"net/netip"
	"strconv"
	"unicode/utf8"

	"github.com/flowkit/flow"
)

// Unsigned reads b as a big-endian unsigned integer of any width from 0 to 8 bytes, which
// covers RFC 7011 reduced-size encoding (a 64-bit counter sent in 1 to 7 bytes). Bytes
// beyond the eighth are ignored from the front: only the last 8 count.
func Unsigned(b []byte) uint64 {
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.BigEndian.Uint16(b))
	case 4:
		return uint64(binary.BigEndian.Uint32(b))
	case 8:
		return binary.BigEndian.Uint64(b)
	}
	if len(b) > 8 {
		b = b[len(b)-8:]
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

// Signed reads b as a big-endian two's-complement integer of 1 to 8 bytes, extending the
// sign of a reduced-size value to 64 bits. An empty b reads as 0.
func Signed(b []byte) int64 {
	if len(b) == 0 {
		return 0
	}
	if len(b) > 8 {
		b = b[len(b)-8:]
	}
	shift := 64 - 8*uint(len(b))
	return int64(Unsigned(b)<<shift) >> shift
}

// Float reads a float32 (4 bytes) or float64 (8 bytes); other lengths read as NaN.
func Float(b []byte) float64 {
	switch len(b) {
	case 4:
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b)))
	case 8:
		return math.Float64frombits(binary.BigEndian.Uint64(b))
	}
	return math.NaN()
}

// Addr reads a 4-byte IPv4 or 16-byte IPv6 address; other lengths give the invalid Addr.
func Addr(b []byte) netip.Addr {
	switch len(b) {
	case 4:
		return netip.AddrFrom4([4]byte(b))
	case 16:
		return netip.AddrFrom16([16]byte(b))
	}
	return netip.Addr{}
}

// MAC reads a 6-byte MAC address; other lengths give the zero MAC.
func MAC(b []byte) flow.MAC {
	if len(b) != 6 {
		return flow.MAC{}
	}
	return flow.MAC(b)
}

// ntpEpoch is the NTP era 0 epoch (1900-01-01) in seconds before the Unix epoch.
const ntpEpoch = 2208988800

// Time reads a time of one of the four dateTime types: seconds or milliseconds since the
// Unix epoch (big-endian unsigned), or microseconds and nanoseconds as 64-bit NTP
// timestamps (seconds since 1900 and a binary fraction, RFC 7011 section 6.1.9). Any other
// type, or a zero value, reads as 0.
func Time(t DataType, b []byte) flow.Time {
	v := Unsigned(b)
	if v == 0 {
		return 0
	}
	switch t {
	case DateTimeSeconds:
		return flow.Time(int64(v) * 1e9)
	case DateTimeMilliseconds:
		return flow.Time(int64(v) * 1e6)
	case DateTimeMicroseconds, DateTimeNanoseconds:
		return ntpTime(v)
	}
	return 0
}

// ntpTime converts a 64-bit NTP timestamp to a flow.Time.
func ntpTime(v uint64) flow.Time {
	secs := int64(v>>32) - ntpEpoch
	frac := (v & 0xffffffff) * 1e9 >> 32
	return flow.Time(secs*1e9 + int64(frac))
}

// AppendText appends the value of a field of the given type as text: numbers in decimal,
// addresses and MACs in their usual notation, booleans as true/false (RFC 7011: 1 is true,
// 2 is false), times in RFC 3339, strings as they are when they are valid UTF-8 (up to the
// first NUL, which fixed-length string fields use as padding), and anything else —
// octet arrays, lists, values whose length does not fit their type — in hexadecimal.
func AppendText(dst []byte, t DataType, b []byte) []byte {
	switch t {
	case Unsigned8, Unsigned16, Unsigned32, Unsigned64:
		if len(b) >= 1 && len(b) <= 8 {
			return strconv.AppendUint(dst, Unsigned(b), 10)
		}
	case Signed8, Signed16, Signed32, Signed64:
		if len(b) >= 1 && len(b) <= 8 {
			return strconv.AppendInt(dst, Signed(b), 10)
		}
	case Float32, Float64:
		if len(b) == 4 || len(b) == 8 {
			return strconv.AppendFloat(dst, Float(b), 'g', -1, 64)
		}
	case Boolean:
		if len(b) == 1 && (b[0] == 1 || b[0] == 2) {
			return strconv.AppendBool(dst, b[0] == 1)
		}
	case MACAddress:
		if len(b) == 6 {
			return MAC(b).AppendTo(dst)
		}
	case IPv4Address, IPv6Address:
		if a := Addr(b); a.IsValid() {
			return a.AppendTo(dst)
		}
	case String:
		s := b
		for i, c := range s {
			if c == 0 {
				s = s[:i]
				break
			}
		}
		if utf8.Valid(s) {
			return append(dst, s...)
		}
	case DateTimeSeconds, DateTimeMilliseconds, DateTimeMicroseconds, DateTimeNanoseconds:
		if len(b) >= 1 && len(b) <= 8 {
			return Time(t, b).AppendTo(dst)
		}
	}
	const hex = "0123456789abcdef"
	for _, c := range b {
		dst = append(dst, hex[c>>4], hex[c&0xf])
	}
	return dst
}
