package netflow9

import (
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/template"
)

// Template IDs the Builder uses.
const (
	TemplateIPv4     = 256 // flow records with IPv4 addresses
	TemplateIPv6     = 257 // flow records with IPv6 addresses (or one of each family)
	TemplateSampling = 258 // options: the exporter's sampling interval and algorithm
)

// builderFields lists what the Builder's flow templates carry, in wire order: every part of
// a flow.Record that NetFlow v9 has a field type for. The address fields are given for IPv4;
// the IPv6 template uses 27, 28, 62, 63, 29 and 30 in their places.
var builderFields = [...]template.Field{
	{ID: 8, Length: 4},   // IPV4_SRC_ADDR
	{ID: 12, Length: 4},  // IPV4_DST_ADDR
	{ID: 15, Length: 4},  // IPV4_NEXT_HOP
	{ID: 18, Length: 4},  // BGP_IPV4_NEXT_HOP
	{ID: 1, Length: 8},   // IN_BYTES
	{ID: 2, Length: 8},   // IN_PKTS
	{ID: 22, Length: 4},  // FIRST_SWITCHED
	{ID: 21, Length: 4},  // LAST_SWITCHED
	{ID: 7, Length: 2},   // L4_SRC_PORT
	{ID: 11, Length: 2},  // L4_DST_PORT
	{ID: 32, Length: 2},  // ICMP_TYPE: type<<8 | code for ICMP and ICMPv6, also in L4_DST_PORT as v5 has it
	{ID: 10, Length: 4},  // INPUT_SNMP
	{ID: 14, Length: 4},  // OUTPUT_SNMP
	{ID: 16, Length: 4},  // SRC_AS
	{ID: 17, Length: 4},  // DST_AS
	{ID: 70, Length: 3},  // MPLS_LABEL_1
	{ID: 6, Length: 2},   // TCP_FLAGS (two bytes, as IPFIX tcpControlBits, for the ECN bits)
	{ID: 4, Length: 1},   // PROTOCOL
	{ID: 5, Length: 1},   // SRC_TOS
	{ID: 9, Length: 1},   // SRC_MASK
	{ID: 13, Length: 1},  // DST_MASK
	{ID: 58, Length: 2},  // SRC_VLAN
	{ID: 59, Length: 2},  // DST_VLAN
	{ID: 56, Length: 6},  // IN_SRC_MAC
	{ID: 80, Length: 6},  // IN_DST_MAC
	{ID: 61, Length: 1},  // DIRECTION
	{ID: 136, Length: 1}, // flowEndReason
	{ID: 38, Length: 1},  // ENGINE_TYPE
	{ID: 39, Length: 1},  // ENGINE_ID
}

var v6IDs = map[uint16]uint16{8: 27, 12: 28, 15: 62, 18: 63, 9: 29, 13: 30}

func recordLen(v6 bool) int {
	n := 0
	for _, f := range builderFields {
		n += int(f.Length)
		if id, ok := v6IDs[f.ID]; v6 && ok && id != 29 && id != 30 {
			n += 12
		}
	}
	return n
}

var (
	recLen4 = recordLen(false)
	recLen6 = recordLen(true)
)

// Builder appends NetFlow v9 packets to a caller's buffer: [Builder.Start] writes a header
// and, when they are due, the templates and the sampling options; [Builder.AddFlow] appends
// flow records until the packet reaches MaxSize; [Builder.Finish] completes it. Templates
// are resent every TemplateRefresh packets and every TemplateInterval, as RFC 3954 section
// 9 asks of exporters over UDP. Sequence numbers and template timers are kept per source
// ID, so one Builder can export for several. A Builder never allocates once it has seen
// its source IDs, when the buffer passed to Start has room for MaxSize bytes.
type Builder struct {
	// SourceID is the source ID the next Start writes; it may change between packets.
	SourceID uint32
	// Boot is the exporter's boot time: sysUptime counts milliseconds from it. When zero,
	// the first Start sets it to its now.
	Boot time.Time
	// MaxSize bounds a packet in bytes (default 1400, to fit an Ethernet MTU with room for
	// tunnels).
	MaxSize int
	// TemplateRefresh and TemplateInterval say when templates are sent again: every this
	// many packets (default 20), and when this much time has passed (default 1 minute).
	TemplateRefresh  int
	TemplateInterval time.Duration
	// SamplingInterval, when not 0, is announced with the templates in an options record
	// (SAMPLING_INTERVAL and SAMPLING_ALGORITHM with System scope), which collectors apply
	// to every record of the source ID. SamplingAlgorithm is 1 for deterministic, 2 for
	// random sampling.
	SamplingInterval  uint32
	SamplingAlgorithm uint8

	sources []sourceState
	src     *sourceState
	buf     []byte
	hdr     int // offset of the header in buf
	set     int // offset of the open data FlowSet's header, or -1
	setID   uint16
	count   int // records in the packet, templates included
	flows   int // flow records in the packet
	bootNs  int64
	export  time.Time
	last    flow.Time // the latest record time AddFlow wrote into the packet
	open    bool
}

type sourceState struct {
	id            uint32
	sequence      uint32
	packets       int // since the templates were last sent
	templatesSent time.Time
	sent          bool
}

// Sequence returns the sequence number the next packet for a source ID will carry: the
// number of packets sent for it so far.
func (b *Builder) Sequence(sourceID uint32) uint32 {
	for i := range b.sources {
		if b.sources[i].id == sourceID {
			return b.sources[i].sequence
		}
	}
	return 0
}

func (b *Builder) source(id uint32) *sourceState {
	for i := range b.sources {
		if b.sources[i].id == id {
			return &b.sources[i]
		}
	}
	b.sources = append(b.sources, sourceState{id: id})
	return &b.sources[len(b.sources)-1]
}

// Start begins a packet at the end of dst, exported at now (written as whole seconds, with
// the uptime that goes with them), and writes the templates and sampling options when
// they are due for the source ID.
func (b *Builder) Start(dst []byte, now time.Time) {
	if b.Boot.IsZero() {
		b.Boot = now
	}
	if b.MaxSize <= 0 {
		b.MaxSize = 1400
	}
	if b.TemplateRefresh <= 0 {
		b.TemplateRefresh = 20
	}
	if b.TemplateInterval <= 0 {
		b.TemplateInterval = time.Minute
	}
	// Uptimes are whole milliseconds from a boot time in whole milliseconds, and the header
	// has whole seconds: so every time a record carries decodes back exactly.
	b.bootNs = b.Boot.UnixNano() / 1e6 * 1e6
	b.export = now.Truncate(time.Second)
	b.src = b.source(b.SourceID)
	b.buf, b.hdr, b.set, b.count, b.flows, b.last, b.open = dst, len(dst), -1, 0, 0, 0, true
	b.buf = binary.BigEndian.AppendUint16(b.buf, Version)
	b.buf = binary.BigEndian.AppendUint16(b.buf, 0) // count, set by Finish
	b.buf = append(b.buf, make([]byte, 8)...)       // sysUptime and time, set by putTime
	b.putTime()
	b.buf = binary.BigEndian.AppendUint32(b.buf, b.src.sequence)
	b.buf = binary.BigEndian.AppendUint32(b.buf, b.SourceID)
	s := b.src
	if !s.sent || s.packets >= b.TemplateRefresh || now.Sub(s.templatesSent) >= b.TemplateInterval {
		b.appendTemplates()
		s.sent, s.packets, s.templatesSent = true, 0, now
	}
}

// appendTemplates writes the template FlowSet, and the sampling options template and record.
func (b *Builder) appendTemplates() {
	set := len(b.buf)
	b.buf = binary.BigEndian.AppendUint16(b.buf, TemplateSetID)
	b.buf = binary.BigEndian.AppendUint16(b.buf, 0)
	for _, v6 := range []bool{false, true} {
		id := uint16(TemplateIPv4)
		if v6 {
			id = TemplateIPv6
		}
		b.buf = binary.BigEndian.AppendUint16(b.buf, id)
		b.buf = binary.BigEndian.AppendUint16(b.buf, uint16(len(builderFields)))
		for _, f := range builderFields {
			fid, l := f.ID, f.Length
			if v6id, ok := v6IDs[fid]; v6 && ok {
				fid = v6id
				if l == 4 {
					l = 16
				}
			}
			b.buf = binary.BigEndian.AppendUint16(b.buf, fid)
			b.buf = binary.BigEndian.AppendUint16(b.buf, l)
		}
		b.count++
	}
	binary.BigEndian.PutUint16(b.buf[set+2:], uint16(len(b.buf)-set))
	if b.SamplingInterval == 0 {
		return
	}
	// Options template: System scope (4 bytes), SAMPLING_INTERVAL (4), SAMPLING_ALGORITHM (1).
	b.buf = append(b.buf,
		0, OptionsTemplateSetID, 0, 24,
		byte(TemplateSampling>>8), byte(TemplateSampling&0xff), 0, 4, 0, 8,
		0, 1, 0, 4,
		0, 34, 0, 4,
		0, 35, 0, 1,
		0, 0) // padding to 4 bytes
	b.buf = append(b.buf, byte(TemplateSampling>>8), byte(TemplateSampling&0xff), 0, 16, 0, 0, 0, 0)
	b.buf = binary.BigEndian.AppendUint32(b.buf, b.SamplingInterval)
	b.buf = append(b.buf, b.SamplingAlgorithm, 0, 0, 0) // and 3 bytes of padding
	b.count += 2
}

// Len returns the number of flow records in the packet being built.
func (b *Builder) Len() int { return b.flows }

// AddFlow appends r as a data record of the IPv4 template, or of the IPv6 template when
// either address is IPv6 (an IPv4 address is then written IPv4-mapped). It returns
// [flow.ErrFull] when the record does not fit in MaxSize: Finish the packet and Start
// another. It panics if Start was not called.
//
// Everything but the exporter, domain, sampling interval and interface names is written:
// those come from the packet and the options. Absent next hops are written as zero
// addresses (and read back as 0.0.0.0 or ::); Direction unknown as 255. Times become
// sysUptime milliseconds relative to Boot; a zero Start or End takes the other's value,
// and both zero take the export time. A record ending after the export time moves the
// header's time forward to the whole second at or after it at Finish, so that no record
// reads as later than its packet.
func (b *Builder) AddFlow(r *flow.Record) error {
	if !b.open {
		panic("netflow9: Builder.AddFlow called before Start")
	}
	v6 := !r.SrcAddr.Unmap().Is4() || !r.DstAddr.Unmap().Is4()
	id, n := uint16(TemplateIPv4), recLen4
	if v6 {
		id, n = TemplateIPv6, recLen6
	}
	need := n
	if b.set < 0 || b.setID != id {
		need += 4 + 3 // a new FlowSet header, and the padding that may close the open one
	}
	if len(b.buf)-b.hdr+need+3 > b.MaxSize {
		return flow.ErrFull
	}
	if b.set >= 0 && b.setID != id {
		b.closeSet()
	}
	if b.set < 0 {
		b.set, b.setID = len(b.buf), id
		b.buf = binary.BigEndian.AppendUint16(b.buf, id)
		b.buf = binary.BigEndian.AppendUint16(b.buf, 0)
	}
	start, end := r.Start, r.End
	switch {
	case start.IsZero() && end.IsZero():
		start, end = flow.TimeOf(b.export), flow.TimeOf(b.export)
	case start.IsZero():
		start = end
	case end.IsZero():
		end = start
	}
	b.last = max(b.last, start, end)
	buf := b.buf
	buf = appendAddr(buf, r.SrcAddr, v6)
	buf = appendAddr(buf, r.DstAddr, v6)
	buf = appendAddr(buf, r.NextHop, v6)
	buf = appendAddr(buf, r.BGPNextHop, v6)
	buf = binary.BigEndian.AppendUint64(buf, r.Bytes)
	buf = binary.BigEndian.AppendUint64(buf, r.Packets)
	buf = binary.BigEndian.AppendUint32(buf, b.uptime(start))
	buf = binary.BigEndian.AppendUint32(buf, b.uptime(end))
	buf = binary.BigEndian.AppendUint16(buf, r.SrcPort)
	buf = binary.BigEndian.AppendUint16(buf, r.DstPort)
	icmp := uint16(0)
	if r.IPProto == 1 || r.IPProto == 58 {
		icmp = r.DstPort // RFC 3954 collectors (nfdump) read ICMP type and code only here
	}
	buf = binary.BigEndian.AppendUint16(buf, icmp)
	buf = binary.BigEndian.AppendUint32(buf, r.InIf)
	buf = binary.BigEndian.AppendUint32(buf, r.OutIf)
	buf = binary.BigEndian.AppendUint32(buf, r.SrcAS)
	buf = binary.BigEndian.AppendUint32(buf, r.DstAS)
	label := r.MPLSLabel & 0xfffff << 4
	buf = append(buf, byte(label>>16), byte(label>>8), byte(label))
	buf = binary.BigEndian.AppendUint16(buf, r.TCPFlags)
	buf = append(buf, r.IPProto, r.ToS, r.SrcMask, r.DstMask)
	buf = binary.BigEndian.AppendUint16(buf, r.VLAN)
	buf = binary.BigEndian.AppendUint16(buf, r.OutVLAN)
	buf = append(buf, r.SrcMAC[:]...)
	buf = append(buf, r.DstMAC[:]...)
	dir := byte(255)
	switch r.Direction {
	case flow.Ingress:
		dir = 0
	case flow.Egress:
		dir = 1
	}
	buf = append(buf, dir, byte(r.EndReason), r.EngineType, r.EngineID)
	b.buf = buf
	b.count++
	b.flows++
	return nil
}

func appendAddr(b []byte, a netip.Addr, v6 bool) []byte {
	if v6 {
		s := a.As16() // the zero Addr gives ::, IPv4 gives ::ffff:a.b.c.d
		if !a.IsValid() {
			s = [16]byte{}
		}
		return append(b, s[:]...)
	}
	var s [4]byte
	if a = a.Unmap(); a.Is4() {
		s = a.As4()
	}
	return append(b, s[:]...)
}

// closeSet pads the open data FlowSet to a multiple of 4 bytes and writes its length.
func (b *Builder) closeSet() {
	for (len(b.buf)-b.set)%4 != 0 {
		b.buf = append(b.buf, 0)
	}
	binary.BigEndian.PutUint16(b.buf[b.set+2:], uint16(len(b.buf)-b.set))
	b.set = -1
}

// Finish completes the packet, advances the source ID's sequence number, and returns the
// buffer passed to Start with the packet appended. A packet with neither records nor
// templates is removed again.
func (b *Builder) Finish() []byte {
	if !b.open {
		panic("netflow9: Builder.Finish called before Start")
	}
	b.open = false
	if b.set >= 0 {
		b.closeSet()
	}
	if b.count == 0 {
		return b.buf[:b.hdr]
	}
	binary.BigEndian.PutUint16(b.buf[b.hdr+2:], uint16(b.count))
	b.src.sequence++
	b.src.packets++
	if b.last > flow.TimeOf(b.export) {
		// A record ends after the export time (Start's now, down to the second): the
		// packet cannot have left before its flows ended. Collectors count record times
		// back from the header's (sysUptime-LAST_SWITCHED, modulo 2^32, RFC 3954), so
		// the header moves to the whole second at or after that end, or the flow would
		// be read as 49.7 days old.
		b.export = time.Unix(0, int64(b.last)+1e9-1).Truncate(time.Second)
		b.putTime()
	}
	return b.buf
}

// putTime writes the export time and the sysUptime that goes with it into the header.
func (b *Builder) putTime() {
	binary.BigEndian.PutUint32(b.buf[b.hdr+4:], b.uptime(flow.TimeOf(b.export)))
	binary.BigEndian.PutUint32(b.buf[b.hdr+8:], uint32(b.export.Unix()))
}

// uptime converts a wall-clock time to sysUptime milliseconds, modulo 2^32, rounding down.
func (b *Builder) uptime(t flow.Time) uint32 {
	d := int64(t) - b.bootNs
	ms := d / 1e6
	if d%1e6 < 0 {
		ms--
	}
	return uint32(ms)
}
