// Package netflow5 encodes and decodes Cisco NetFlow version 5 datagrams.
//
// A version 5 datagram is a 24-byte header followed by up to 30 fixed 48-byte flow records,
// all big-endian. Record times are milliseconds of the exporter's sysUptime; the header gives
// the sysUptime and the wall-clock time at export, from which absolute times follow.
//
// [Parser] reads a datagram held by the caller and steps through its records without
// allocating; [Builder] appends datagrams to a caller's buffer. Both convert to and from the
// protocol-neutral [flow.Record].
package netflow5

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strconv"
	"unsafe"

	"github.com/flowkit/flow"
)

// Sizes and limits of the format.
const (
	Version    = 5  // the version field's value
	HeaderLen  = 24 // bytes in the datagram header
	RecordLen  = 48 // bytes in each flow record
	MaxRecords = 30 // the most records a datagram may carry, per Cisco's definition
)

// Header is the datagram header.
type Header struct {
	// Count is the number of records that follow the header.
	Count uint16
	// SysUptime is the exporter's uptime at export, in milliseconds.
	SysUptime uint32
	// UnixSecs and UnixNsecs are the wall-clock time at export.
	UnixSecs, UnixNsecs uint32
	// FlowSequence counts the flows the exporter sent before this datagram.
	FlowSequence uint32
	// EngineType and EngineID identify the flow-switching engine.
	EngineType, EngineID uint8
	// SamplingMode is the 2-bit sampling mode (0 none, 1 deterministic, 2 random).
	SamplingMode uint8
	// SamplingInterval is the 14-bit sampling interval (0 when not sampled).
	SamplingInterval uint16
}

// ExportTime returns the wall-clock time at which the datagram was exported.
func (h *Header) ExportTime() flow.Time {
	return flow.Time(int64(h.UnixSecs)*1e9 + int64(h.UnixNsecs))
}

// Time converts a sysUptime value in milliseconds, as carried by Record.First and
// Record.Last, to wall-clock time.
//
// The conversion counts back from the export time by SysUptime-uptime milliseconds, computed
// modulo 2^32 and read as a signed 32-bit number. The modular difference stays right when the
// uptime counter wrapped (every 49.7 days) between the flow and the export; reading it as
// signed keeps a flow stamped a few milliseconds after the header (some exporters do) just
// after the export time instead of 49.7 days before it. The price is that flows older than
// 24.8 days at export cannot be told apart from future ones; no exporter keeps flows that long.
func (h *Header) Time(uptime uint32) flow.Time {
	back := int64(int32(h.SysUptime - uptime)) // milliseconds before the export
	return flow.Time(int64(h.UnixSecs)*1e9 + int64(h.UnixNsecs) - back*1e6)
}

// Record is one NetFlow v5 flow record as it is on the wire.
type Record struct {
	SrcAddr, DstAddr netip.Addr // IPv4 source and destination
	NextHop          netip.Addr // IPv4 next hop router
	Input, Output    uint16     // SNMP ifIndex of the input and output interface
	Packets, Octets  uint32     // packets and layer-3 bytes in the flow
	First, Last      uint32     // sysUptime in ms at the first and last packet
	SrcPort, DstPort uint16     // transport ports (ICMP: type<<8|code in DstPort)
	TCPFlags         uint8      // OR of the TCP flags
	Proto            uint8      // IP protocol
	ToS              uint8      // IP type of service
	SrcAS, DstAS     uint16     // origin or peer AS of source and destination
	SrcMask, DstMask uint8      // prefix lengths of source and destination
}

func parseHeader(b []byte) Header {
	sampling := binary.BigEndian.Uint16(b[22:24])
	return Header{
		Count:            binary.BigEndian.Uint16(b[2:4]),
		SysUptime:        binary.BigEndian.Uint32(b[4:8]),
		UnixSecs:         binary.BigEndian.Uint32(b[8:12]),
		UnixNsecs:        binary.BigEndian.Uint32(b[12:16]),
		FlowSequence:     binary.BigEndian.Uint32(b[16:20]),
		EngineType:       b[20],
		EngineID:         b[21],
		SamplingMode:     uint8(sampling >> 14),
		SamplingInterval: sampling & 0x3fff,
	}
}

func addr4(b []byte) netip.Addr { return netip.AddrFrom4([4]byte(b[:4])) }

func parseRecord(b []byte) Record {
	b = b[:RecordLen]
	return Record{
		SrcAddr:  addr4(b[0:]),
		DstAddr:  addr4(b[4:]),
		NextHop:  addr4(b[8:]),
		Input:    binary.BigEndian.Uint16(b[12:]),
		Output:   binary.BigEndian.Uint16(b[14:]),
		Packets:  binary.BigEndian.Uint32(b[16:]),
		Octets:   binary.BigEndian.Uint32(b[20:]),
		First:    binary.BigEndian.Uint32(b[24:]),
		Last:     binary.BigEndian.Uint32(b[28:]),
		SrcPort:  binary.BigEndian.Uint16(b[32:]),
		DstPort:  binary.BigEndian.Uint16(b[34:]),
		TCPFlags: b[37],
		Proto:    b[38],
		ToS:      b[39],
		SrcAS:    binary.BigEndian.Uint16(b[40:]),
		DstAS:    binary.BigEndian.Uint16(b[42:]),
		SrcMask:  b[44],
		DstMask:  b[45],
	}
}

// Parser reads one NetFlow v5 datagram at a time. The zero value is ready to use; keep one
// and call [Parser.Start] for every datagram, so that reading allocates nothing.
//
// A Parser holds on to the datagram passed to Start; values it returns are copies.
type Parser struct {
	msg  []byte
	hdr  Header
	next int              // offset of the next record to read
	cur  int              // offset of the current record, valid after Next returned true
	rec  *[RecordLen]byte // the current record
	end  int              // offset just past the last record the header announces

	// Derived from the header once per datagram for Flow.
	exportNs int64  // export time in Unix nanoseconds
	domain   uint32 // EngineType<<8 | EngineID
}

// Start begins reading a datagram and returns its header.
//
// The datagram must be version 5 and hold every record its header counts; otherwise Start
// returns a [*flow.ParseError] wrapping [flow.ErrTruncated], [flow.ErrVersion] or
// [flow.ErrMalformed], and the parser yields no records. A count above [MaxRecords] is
// accepted when the bytes are there. Bytes after the last counted record are not read as
// records; [Parser.Trailing] returns them.
func (p *Parser) Start(msg []byte) (Header, error) {
	*p = Parser{msg: msg}
	if len(msg) < HeaderLen {
		return Header{}, &flow.ParseError{Protocol: flow.NetFlow5, What: "header", Err: flow.ErrTruncated,
			Detail: "need 24 bytes, have " + strconv.Itoa(len(msg))}
	}
	if v := binary.BigEndian.Uint16(msg); v != Version {
		return Header{}, &flow.ParseError{Protocol: flow.NetFlow5, What: "header", Err: flow.ErrVersion,
			Detail: "version " + strconv.Itoa(int(v))}
	}
	h := parseHeader(msg)
	if h.Count == 0 {
		return Header{}, &flow.ParseError{Protocol: flow.NetFlow5, What: "header", Offset: 2, Err: flow.ErrMalformed,
			Detail: "count is 0"}
	}
	end := HeaderLen + int(h.Count)*RecordLen
	if end > len(msg) {
		have := (len(msg) - HeaderLen) / RecordLen
		return Header{}, &flow.ParseError{Protocol: flow.NetFlow5, What: "record " + strconv.Itoa(have+1),
			Offset: HeaderLen + have*RecordLen, Err: flow.ErrTruncated,
			Detail: "header counts " + strconv.Itoa(int(h.Count)) + " records, datagram holds " + strconv.Itoa(have)}
	}
	p.hdr, p.next, p.end = h, HeaderLen, end
	p.exportNs = int64(h.ExportTime())
	p.domain = uint32(h.EngineType)<<8 | uint32(h.EngineID)
	return h, nil
}

// Next advances to the next record and reports whether there is one.
func (p *Parser) Next() bool {
	if p.next+RecordLen > p.end {
		p.cur, p.rec = 0, nil
		return false
	}
	p.cur = p.next
	p.rec = (*[RecordLen]byte)(p.msg[p.cur:])
	p.next += RecordLen
	return true
}

// Record returns the current record as it is on the wire. Call it only after Next
// returned true.
func (p *Parser) Record() Record { return parseRecord(p.rec[:]) }

// Flow fills r with the current record in the protocol-neutral model, overwriting every
// field. Start and End become wall-clock times (see [Header.Time]); Domain carries
// EngineType<<8 | EngineID; SamplingInterval comes from the header. Exporter is left
// invalid: only the caller knows where the datagram came from. Call it only after Next
// returned true.
func (p *Parser) Flow(r *flow.Record) {
	// A pointer to one record is a slice of one: unsafe.Slice makes it so without copying,
	// and lets Flow and AppendFlows share one decoding loop.
	p.fill(unsafe.Slice(r, 1), p.cur)
}

// AppendFlows appends the records that Next has not reached yet to dst, as Flow would
// fill them, and returns the extended slice. Afterwards Next returns false. It allocates
// only when dst has no room; decoding a whole datagram this way costs less per record than
// calling Next and Flow for each.
func (p *Parser) AppendFlows(dst []flow.Record) []flow.Record {
	n := (p.end - p.next) / RecordLen
	if n <= 0 {
		return dst
	}
	dst = slices.Grow(dst, n)
	p.fill(dst[len(dst):len(dst)+n], p.next)
	p.next, p.cur, p.rec = p.end, 0, nil
	return dst[:len(dst)+n]
}

// fill decodes len(rs) consecutive records starting at offset off.
func (p *Parser) fill(rs []flow.Record, off int) {
	h := &p.hdr
	exportNs, uptime := p.exportNs, h.SysUptime
	msg := p.msg[off:]
	for i := range rs {
		r := &rs[i]
		b := (*[RecordLen]byte)(msg[i*RecordLen:])
		// Field by field rather than *r = flow.Record{...}: the composite literal is built
		// in a temporary and then copied with write barriers, which costs more than the
		// decoding. The order is the order of the fields in memory.
		r.Protocol = flow.NetFlow5
		r.EngineType, r.EngineID = h.EngineType, h.EngineID
		r.IPProto = b[38]
		r.Domain = p.domain
		r.Exporter = netip.Addr{}
		r.SrcAddr = addr4(b[0:])
		r.DstAddr = addr4(b[4:])
		r.NextHop = addr4(b[8:])
		r.BGPNextHop = netip.Addr{}
		r.Packets = uint64(binary.BigEndian.Uint32(b[16:]))
		r.Bytes = uint64(binary.BigEndian.Uint32(b[20:]))
		r.Start = flow.Time(exportNs - int64(int32(uptime-binary.BigEndian.Uint32(b[24:])))*1e6)
		r.End = flow.Time(exportNs - int64(int32(uptime-binary.BigEndian.Uint32(b[28:])))*1e6)
		r.SrcPort = binary.BigEndian.Uint16(b[32:])
		r.DstPort = binary.BigEndian.Uint16(b[34:])
		r.InIf = uint32(binary.BigEndian.Uint16(b[12:]))
		r.OutIf = uint32(binary.BigEndian.Uint16(b[14:]))
		r.MPLSLabel = 0
		r.SrcAS = uint32(binary.BigEndian.Uint16(b[40:]))
		r.DstAS = uint32(binary.BigEndian.Uint16(b[42:]))
		r.SamplingInterval = uint32(h.SamplingInterval)
		r.TCPFlags = uint16(b[37])
		r.ToS = b[39]
		r.SrcMask, r.DstMask = b[44], b[45]
		// The 18 bytes from VLAN to EndReason are consecutive; zeroed element by element in
		// that order they become a few wide stores, where r.SrcMAC = flow.MAC{} goes through a
		// temporary on the stack.
		r.VLAN, r.OutVLAN = 0, 0
		r.SrcMAC[0], r.SrcMAC[1], r.SrcMAC[2], r.SrcMAC[3], r.SrcMAC[4], r.SrcMAC[5] = 0, 0, 0, 0, 0, 0
		r.DstMAC[0], r.DstMAC[1], r.DstMAC[2], r.DstMAC[3], r.DstMAC[4], r.DstMAC[5] = 0, 0, 0, 0, 0, 0
		r.Direction = flow.DirectionUnknown
		r.EndReason = flow.EndUnknown
		r.InIfName, r.OutIfName = "", ""
	}
}

// Trailing returns the bytes after the last record the header counts: padding, garbage,
// or (in files of concatenated datagrams) the next datagram. It aliases the datagram.
func (p *Parser) Trailing() []byte {
	if p.end == 0 {
		return nil
	}
	return p.msg[p.end:]
}
