// Package flow is the protocol-neutral model shared by every codec in this module.
//
// A [Record] describes one flow: who talked to whom, how much, when, and through which
// interfaces, in the same shape whether it was decoded from NetFlow v5, NetFlow v9, IPFIX or
// sFlow. Every codec can decode into a Record and encode from one, so a program can translate
// between protocols without knowing either.
//
// Records are plain values: addresses are [netip.Addr], MAC addresses are the fixed-size
// [MAC], times are the 8-byte [Time] (nanoseconds since the Unix epoch, convertible to and
// from [time.Time]). Filling or copying a Record never allocates, and [Record.AppendJSON]
// renders one without allocating either.
//
// Decoding errors are wrapped around the sentinels of this package ([ErrTruncated],
// [ErrVersion], [ErrMalformed], [ErrLimit], [ErrTemplate]) so that a collector can count them
// by kind with [errors.Is] while still reporting what went wrong and where.
package flow

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
	"time"
)

// Protocol names the export protocol a record was decoded from or is to be encoded into.
type Protocol uint8

// The protocols this module speaks.
const (
	Unknown  Protocol = iota // not one of the protocols below
	NetFlow5                 // Cisco NetFlow version 5
	NetFlow9                 // Cisco NetFlow version 9, RFC 3954
	IPFIX                    // IP Flow Information Export, RFC 7011
	SFlow                    // sFlow version 5
)

var protocolNames = [...]string{
	Unknown:  "unknown",
	NetFlow5: "netflow5",
	NetFlow9: "netflow9",
	IPFIX:    "ipfix",
	SFlow:    "sflow",
}

// String returns the protocol's short name, as used by the JSON "type" key:
// "netflow5", "netflow9", "ipfix", "sflow" or "unknown".
func (p Protocol) String() string {
	if int(p) < len(protocolNames) {
		return protocolNames[p]
	}
	return "unknown"
}

// MarshalText returns the protocol's name, so that JSON and text encoders write
// "netflow9" rather than a number.
func (p Protocol) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// UnmarshalText sets p from a name MarshalText wrote.
func (p *Protocol) UnmarshalText(b []byte) error {
	for i, n := range protocolNames {
		if n == string(b) {
			*p = Protocol(i)
			return nil
		}
	}
	return errors.New("flow: unknown protocol name " + strconv.Quote(string(b)))
}

// Detect tells which protocol a datagram carries by looking at its version field, without
// validating anything else. NetFlow and IPFIX start with a 16-bit version (5, 9 or 10);
// sFlow starts with a 32-bit version (5), so its first two bytes are zero.
func Detect(datagram []byte) Protocol {
	if len(datagram) < 4 {
		return Unknown
	}
	switch binary.BigEndian.Uint16(datagram) {
	case 5:
		return NetFlow5
	case 9:
		return NetFlow9
	case 10:
		return IPFIX
	case 0:
		if binary.BigEndian.Uint32(datagram) == 5 {
			return SFlow
		}
	}
	return Unknown
}

// Direction says on which side of the observation point a flow was metered.
type Direction uint8

// Directions. The zero value means the exporter did not say. IPFIX flowDirection
// encodes ingress as 0 and egress as 1; codecs translate.
const (
	DirectionUnknown Direction = iota
	Ingress
	Egress
)

// String returns "ingress", "egress" or "unknown".
func (d Direction) String() string {
	switch d {
	case Ingress:
		return "ingress"
	case Egress:
		return "egress"
	}
	return "unknown"
}

// EndReason is why a flow record was exported, numbered as IPFIX flowEndReason
// (information element 136, RFC 5102 section 5.11.3).
type EndReason uint8

// The flowEndReason values. The zero value means the exporter did not say.
const (
	EndUnknown         EndReason = 0
	EndIdle            EndReason = 1 // idle (inactive) timeout
	EndActive          EndReason = 2 // active timeout: a long flow reported periodically
	EndOfFlow          EndReason = 3 // the end of the flow was seen (TCP FIN or RST)
	EndForced          EndReason = 4 // forced end, e.g. the cache was flushed or shut down
	EndLackOfResources EndReason = 5 // the cache was full and the flow was evicted
)

var endReasonNames = [...]string{
	EndUnknown:         "unknown",
	EndIdle:            "idle",
	EndActive:          "active",
	EndOfFlow:          "end_of_flow",
	EndForced:          "forced",
	EndLackOfResources: "lack_of_resources",
}

// String returns the reason's short name: "idle", "active", "end_of_flow", "forced",
// "lack_of_resources" or "unknown".
func (r EndReason) String() string {
	if int(r) < len(endReasonNames) {
		return endReasonNames[r]
	}
	return "unknown"
}

// Time is an instant in nanoseconds since the Unix epoch (1970-01-01T00:00:00Z); 0 means
// "not reported". It covers the years 1678 to 2262.
//
// Records carry times in this form rather than as [time.Time] because it is a third of the
// size and costs a multiply-add to compute from what exporters send (uptime milliseconds,
// seconds, NTP timestamps), where building a time.Time costs more than decoding the rest of
// a NetFlow v5 record. Convert with [TimeOf] and [Time.AsTime].
type Time int64

// TimeOf converts t to a Time; the zero time.Time becomes 0.
func TimeOf(t time.Time) Time {
	if t.IsZero() {
		return 0
	}
	return Time(t.UnixNano())
}

// AsTime converts t to a time.Time in UTC; 0 becomes the zero time.Time.
func (t Time) AsTime() time.Time {
	if t == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(t)).UTC()
}

// IsZero reports whether t is 0, "not reported".
func (t Time) IsZero() bool { return t == 0 }

// Add returns t+d.
func (t Time) Add(d time.Duration) Time { return t + Time(d) }

// Sub returns the duration t-u.
func (t Time) Sub(u Time) time.Duration { return time.Duration(t - u) }

// String returns t in RFC 3339 with nanoseconds, as in JSON output, or "0" when t is 0.
func (t Time) String() string {
	if t == 0 {
		return "0"
	}
	return string(t.AppendTo(make([]byte, 0, 30)))
}

// AppendTo appends t in RFC 3339 with all nine fraction digits, UTC, to b.
func (t Time) AppendTo(b []byte) []byte {
	return t.AsTime().AppendFormat(b, "2006-01-02T15:04:05.000000000Z07:00")
}

// MAC is an IEEE 802 MAC-48 address. Unlike [net.HardwareAddr] it is a fixed-size value,
// so records carrying one never allocate.
type MAC [6]byte

// IsZero reports whether m is 00:00:00:00:00:00, which records use for "absent".
func (m MAC) IsZero() bool { return m == MAC{} }

// String returns m in the colon-separated lower-case hexadecimal form.
func (m MAC) String() string { return string(m.AppendTo(make([]byte, 0, 17))) }

// AppendTo appends the text form of m (as [MAC.String]) to b.
func (m MAC) AppendTo(b []byte) []byte {
	const hex = "0123456789abcdef"
	for i, c := range m {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, hex[c>>4], hex[c&0xf])
	}
	return b
}

// Record is one flow, independent of the protocol that carried it.
//
// Zero values mean "not reported": an invalid [netip.Addr], a zero [Time], a zero MAC,
// a zero counter. Codecs set the fields their protocol carries and leave the others zero.
type Record struct {
	// Protocol is the export protocol the record came from.
	Protocol Protocol
	// EngineType and EngineID identify the flow-switching engine (NetFlow v5 header,
	// NetFlow v9 and IPFIX elements 38 and 39).
	EngineType, EngineID uint8
	// IPProto is the IP protocol number (6 TCP, 17 UDP, 1 ICMP, …).
	IPProto uint8
	// Domain scopes the exporter's numbering: the IPFIX observation domain ID, the
	// NetFlow v9 source ID, the sFlow sub-agent ID, or for NetFlow v5 the engine type and
	// engine ID as EngineType<<8 | EngineID.
	Domain uint32
	// Exporter is the address of the device that sent the record (the UDP or TCP source,
	// or the sFlow agent address).
	Exporter netip.Addr

	// SrcAddr and DstAddr are the flow's IPv4 or IPv6 endpoints.
	SrcAddr, DstAddr netip.Addr
	// NextHop is the IP next hop; BGPNextHop the BGP next hop.
	NextHop, BGPNextHop netip.Addr

	// Packets and Bytes count what the flow carried, as reported (not scaled by sampling).
	Packets, Bytes uint64
	// Start and End are the times of the flow's first and last packet.
	Start, End Time

	// SrcPort and DstPort are the transport ports. For ICMP, NetFlow exporters put
	// type<<8 | code in DstPort; the record keeps what the exporter sent.
	SrcPort, DstPort uint16
	// InIf and OutIf are the SNMP ifIndex of the input and output interface.
	InIf, OutIf uint32
	// MPLSLabel is the 20-bit label at the top of the MPLS label stack, 0 when none.
	MPLSLabel uint32
	// SrcAS and DstAS are the source and destination autonomous system numbers.
	SrcAS, DstAS uint32
	// SamplingInterval is N when one packet in N was sampled; 0 when unknown or unsampled.
	SamplingInterval uint32
	// TCPFlags is the OR of the TCP flags seen, including the ECN bits when the protocol
	// carries them (IPFIX tcpControlBits is 16 bits wide).
	TCPFlags uint16
	// ToS is the IPv4 type of service or IPv6 traffic class byte.
	ToS uint8
	// SrcMask and DstMask are the prefix lengths of the routes to SrcAddr and DstAddr.
	SrcMask, DstMask uint8

	// VLAN is the 802.1Q VLAN ID the flow was seen on; OutVLAN the one it left on, when the
	// exporter reports it (NetFlow v9 DST_VLAN, IPFIX postVlanId).
	VLAN, OutVLAN uint16
	// SrcMAC and DstMAC are the Ethernet addresses.
	SrcMAC, DstMAC MAC
	// Direction tells whether the flow was metered on ingress or egress.
	Direction Direction
	// EndReason is why the record was exported.
	EndReason EndReason

	// InIfName and OutIfName name the input and output interfaces, as the exporter's
	// options records named them (NetFlow v9 and IPFIX interface options); "" when it did
	// not. The strings are shared with the template cache, not allocated per record.
	InIfName, OutIfName string
}
