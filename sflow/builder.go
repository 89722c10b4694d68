package sflow

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"time"
	"unsafe"

	"github.com/flowkit/flow"
)

// DefaultMaxSize is the datagram size a Builder keeps under when MaxSize is 0: the size
// the sFlow reference agent uses, which fits an Ethernet MTU with room for tunnels.
const DefaultMaxSize = 1400

// ErrMixedFamilies is returned by [Builder.AddFlow] for a record whose source and
// destination addresses are of different families, which no sampled_ipv4 or sampled_ipv6
// record can carry.
var ErrMixedFamilies = errors.New("sflow: record mixes IPv4 and IPv6 addresses")

// FlowSample describes a flow sample to encode. The records that are set (non-nil
// pointers, non-empty Raw) are written in the order of the fields.
type FlowSample struct {
	// SourceType and SourceIndex identify the data source (type 0: ifIndex).
	SourceType, SourceIndex uint32
	// SamplingRate, SamplePool and Drops: see [Sample].
	SamplingRate, SamplePool, Drops uint32
	// Input and Output are the packet's interfaces.
	Input, Output Interface
	// Expanded forces the expanded sample format; without it the compact format is used
	// unless a value does not fit it (a source type above 255, an index above 2^24-1, an
	// interface value above 2^30-1).
	Expanded bool

	Header   *SampledHeader
	Ethernet *SampledEthernet
	IPv4     *SampledIP
	IPv6     *SampledIP
	Switch   *ExtendedSwitch
	Router   *ExtendedRouter
	Gateway  *ExtendedGateway
	// Raw records are written as they are (Format and Data; Data is padded to 4 bytes).
	Raw []Record
}

// CounterSample describes a counters sample to encode.
type CounterSample struct {
	SourceType, SourceIndex uint32
	// Expanded forces the expanded sample format (see FlowSample.Expanded).
	Expanded bool

	Generic   *IfCounters
	Ethernet  *EthernetCounters
	VLAN      *VLANCounters
	Processor *ProcessorCounters
	// Raw records are written as they are.
	Raw []Record
}

type agentKey struct {
	agent    netip.Addr
	subAgent uint32
}

type sourceKey struct {
	agentKey
	counters    bool
	sourceType  uint32
	sourceIndex uint32
}

// Builder appends sFlow datagrams to a caller's buffer: [Builder.Start] writes a header,
// [Builder.AddFlowSample], [Builder.AddCounterSample] and [Builder.AddFlow] append samples
// until the datagram would exceed MaxSize, and [Builder.Finish] completes it.
//
// The Builder numbers datagrams per agent and sub-agent, and samples per agent, sub-agent,
// data source and kind, as an agent does; the numbers carry over from one datagram to the
// next. It allocates only to remember a new agent or data source, and when the buffer
// passed to Start has no room.
type Builder struct {
	// Agent and SubAgent identify the agent; they may change between datagrams.
	Agent    netip.Addr
	SubAgent uint32
	// MaxSize bounds the datagram's size in bytes; 0 means DefaultMaxSize.
	MaxSize int
	// Boot is the agent's boot time, from which the header's uptime counts. When it is
	// zero, the first Start sets it to its now.
	Boot time.Time

	seqs       map[agentKey]uint32
	sampleSeqs map[sourceKey]uint32
	buf        []byte
	hdr        int // offset of the datagram header in buf
	countAt    int // offset of the sample count
	count      int
	open       bool
	key        agentKey
}

// Start begins a datagram at the end of dst, stamped with the uptime at now.
func (b *Builder) Start(dst []byte, now time.Time) {
	if b.Boot.IsZero() {
		b.Boot = now
	}
	if b.seqs == nil {
		b.seqs = make(map[agentKey]uint32)
		b.sampleSeqs = make(map[sourceKey]uint32)
	}
	b.key = agentKey{b.Agent, b.SubAgent}
	b.buf, b.hdr, b.count, b.open = dst, len(dst), 0, true
	b.buf = binary.BigEndian.AppendUint32(b.buf, Version)
	b.buf = appendAddr(b.buf, b.Agent)
	b.buf = binary.BigEndian.AppendUint32(b.buf, b.SubAgent)
	b.buf = binary.BigEndian.AppendUint32(b.buf, b.seqs[b.key]+1)
	b.buf = binary.BigEndian.AppendUint32(b.buf, uint32(now.Sub(b.Boot).Milliseconds()))
	b.countAt = len(b.buf)
	b.buf = binary.BigEndian.AppendUint32(b.buf, 0)
}

// Len returns the number of samples in the datagram being built.
func (b *Builder) Len() int { return b.count }

func (b *Builder) maxSize() int {
	if b.MaxSize > 0 {
		return b.MaxSize
	}
	return DefaultMaxSize
}

// nextSeq returns the sequence number of the next sample of a data source, without
// advancing it.
func (b *Builder) nextSeq(counters bool, typ, index uint32) (sourceKey, uint32) {
	k := sourceKey{b.key, counters, typ, index}
	return k, b.sampleSeqs[k] + 1
}

// commit keeps the sample just written at start when the datagram still fits, or takes it
// back and returns flow.ErrFull. A sample too large for an empty datagram is kept: there
// is no smaller datagram to put it in.
func (b *Builder) commit(start int, k sourceKey, seq uint32) error {
	if b.count > 0 && len(b.buf)-b.hdr > b.maxSize() {
		b.buf = b.buf[:start]
		return flow.ErrFull
	}
	b.count++
	b.sampleSeqs[k] = seq
	return nil
}

func (b *Builder) check() {
	if !b.open {
		panic("sflow: Builder used before Start")
	}
}

// AddFlowSample appends a flow sample. It returns [flow.ErrFull] when the datagram has no
// room for it: Finish the datagram and Start another.
func (b *Builder) AddFlowSample(s *FlowSample) error {
	b.check()
	k, seq := b.nextSeq(false, s.SourceType, s.SourceIndex)
	start := len(b.buf)
	expanded := s.Expanded || s.SourceType > 0xff || s.SourceIndex > 0xffffff ||
		s.Input.Value > 0x3fffffff || s.Output.Value > 0x3fffffff || s.Input.Format > 3 || s.Output.Format > 3
	buf := b.buf
	if expanded {
		buf = appendU32s(buf, uint32(SampleFlowExpanded), 0, seq, s.SourceType, s.SourceIndex,
			s.SamplingRate, s.SamplePool, s.Drops, s.Input.Format, s.Input.Value, s.Output.Format, s.Output.Value, 0)
	} else {
		buf = appendU32s(buf, uint32(SampleFlow), 0, seq, s.SourceType<<24|s.SourceIndex,
			s.SamplingRate, s.SamplePool, s.Drops, s.Input.Format<<30|s.Input.Value, s.Output.Format<<30|s.Output.Value, 0)
	}
	n := 0
	if h := s.Header; h != nil {
		at := beginRecord(&buf, FlowSampledHeader)
		buf = appendU32s(buf, h.Protocol, h.FrameLength, h.Stripped)
		buf = appendOpaque(buf, h.Header)
		endRecord(buf, at)
		n++
	}
	if e := s.Ethernet; e != nil {
		at := beginRecord(&buf, FlowSampledEthernet)
		buf = binary.BigEndian.AppendUint32(buf, e.Length)
		buf = append(append(buf, e.SrcMAC[:]...), 0, 0)
		buf = append(append(buf, e.DstMAC[:]...), 0, 0)
		buf = binary.BigEndian.AppendUint32(buf, e.Type)
		endRecord(buf, at)
		n++
	}
	for _, ip := range [2]*SampledIP{s.IPv4, s.IPv6} {
		if ip == nil {
			continue
		}
		f := FlowSampledIPv4
		if ip == s.IPv6 {
			f = FlowSampledIPv6
		}
		at := beginRecord(&buf, f)
		buf = appendU32s(buf, ip.Length, ip.Protocol)
		if f == FlowSampledIPv4 {
			buf = append4(buf, ip.SrcAddr)
			buf = append4(buf, ip.DstAddr)
		} else {
			buf = append16(buf, ip.SrcAddr)
			buf = append16(buf, ip.DstAddr)
		}
		buf = appendU32s(buf, ip.SrcPort, ip.DstPort, ip.TCPFlags, ip.ToS)
		endRecord(buf, at)
		n++
	}
	if sw := s.Switch; sw != nil {
		at := beginRecord(&buf, FlowExtSwitch)
		buf = appendU32s(buf, sw.SrcVLAN, sw.SrcPriority, sw.DstVLAN, sw.DstPriority)
		endRecord(buf, at)
		n++
	}
	if rt := s.Router; rt != nil {
		at := beginRecord(&buf, FlowExtRouter)
		buf = appendAddr(buf, rt.NextHop)
		buf = appendU32s(buf, rt.SrcMask, rt.DstMask)
		endRecord(buf, at)
		n++
	}
	if g := s.Gateway; g != nil {
		at := beginRecord(&buf, FlowExtGateway)
		buf = appendAddr(buf, g.NextHop)
		buf = appendU32s(buf, g.AS, g.SrcAS, g.SrcPeerAS, uint32(g.Path.Len()))
		buf = append(buf, g.Path...)
		buf = binary.BigEndian.AppendUint32(buf, uint32(g.Communities.Len()))
		buf = append(buf, g.Communities[:4*g.Communities.Len()]...)
		buf = binary.BigEndian.AppendUint32(buf, g.LocalPref)
		endRecord(buf, at)
		n++
	}
	buf, n = appendRaw(buf, s.Raw, n)
	binary.BigEndian.PutUint32(buf[start+4:], uint32(len(buf)-start-8))
	numAt := start + 8 + 4*7 // after sequence, source, rate, pool, drops, input, output
	if expanded {
		numAt = start + 8 + 4*10 // the source and interfaces take two words each
	}
	binary.BigEndian.PutUint32(buf[numAt:], uint32(n))
	b.buf = buf
	return b.commit(start, k, seq)
}

// AddCounterSample appends a counters sample. It returns [flow.ErrFull] when the datagram
// has no room for it.
func (b *Builder) AddCounterSample(s *CounterSample) error {
	b.check()
	k, seq := b.nextSeq(true, s.SourceType, s.SourceIndex)
	start := len(b.buf)
	expanded := s.Expanded || s.SourceType > 0xff || s.SourceIndex > 0xffffff
	buf := b.buf
	if expanded {
		buf = appendU32s(buf, uint32(SampleCountersExpanded), 0, seq, s.SourceType, s.SourceIndex, 0)
	} else {
		buf = appendU32s(buf, uint32(SampleCounters), 0, seq, s.SourceType<<24|s.SourceIndex, 0)
	}
	n := 0
	if c := s.Generic; c != nil {
		at := beginRecord(&buf, CountersGeneric)
		buf = appendU32s(buf, c.Index, c.Type)
		buf = binary.BigEndian.AppendUint64(buf, c.Speed)
		buf = appendU32s(buf, c.Direction, c.Status)
		buf = binary.BigEndian.AppendUint64(buf, c.InOctets)
		buf = appendU32s(buf, c.InUcastPkts, c.InMulticastPkts, c.InBroadcastPkts, c.InDiscards, c.InErrors, c.InUnknownProtos)
		buf = binary.BigEndian.AppendUint64(buf, c.OutOctets)
		buf = appendU32s(buf, c.OutUcastPkts, c.OutMulticastPkts, c.OutBroadcastPkts, c.OutDiscards, c.OutErrors, c.PromiscuousMode)
		endRecord(buf, at)
		n++
	}
	if c := s.Ethernet; c != nil {
		at := beginRecord(&buf, CountersEthernet)
		buf = appendU32s(buf, unsafe.Slice((*uint32)(unsafe.Pointer(c)), unsafe.Sizeof(*c)/4)...)
		endRecord(buf, at)
		n++
	}
	if c := s.VLAN; c != nil {
		at := beginRecord(&buf, CountersVLAN)
		buf = binary.BigEndian.AppendUint32(buf, c.VLAN)
		buf = binary.BigEndian.AppendUint64(buf, c.Octets)
		buf = appendU32s(buf, c.UcastPkts, c.MulticastPkts, c.BroadcastPkts, c.Discards)
		endRecord(buf, at)
		n++
	}
	if c := s.Processor; c != nil {
		at := beginRecord(&buf, CountersProcessor)
		buf = appendU32s(buf, c.FiveSecCPU, c.OneMinCPU, c.FiveMinCPU)
		buf = binary.BigEndian.AppendUint64(buf, c.TotalMemory)
		buf = binary.BigEndian.AppendUint64(buf, c.FreeMemory)
		endRecord(buf, at)
		n++
	}
	buf, n = appendRaw(buf, s.Raw, n)
	binary.BigEndian.PutUint32(buf[start+4:], uint32(len(buf)-start-8))
	numAt := start + 8 + 4*2
	if expanded {
		numAt = start + 8 + 4*3
	}
	binary.BigEndian.PutUint32(buf[numAt:], uint32(n))
	b.buf = buf
	return b.commit(start, k, seq)
}

// AddFlow appends a flow sample describing r: sampled_ipv4 or sampled_ipv6 data (length
// from Bytes; an address that is missing is written as the unspecified address), a
// sampled_ethernet record when r has MACs or has a length but no addresses, extended_switch when it has a
// VLAN, extended_router when it has a next hop or prefix lengths, and extended_gateway
// when it has a BGP next hop or AS numbers. The sample's sampling rate is
// r.SamplingInterval, its data source and input interface r.InIf, its output r.OutIf.
// Parser.Flow decodes the sample back to r, except for what sFlow does not carry (times,
// engine, direction, end reason; Packets is always 1) and the MPLS label, which Parser.Flow
// reads from a sampled header and AddFlow, writing sampled IP data, does not produce. It returns [ErrMixedFamilies] for a
// record whose addresses are of different families, and [flow.ErrFull] when the datagram
// is full.
func (b *Builder) AddFlow(r *flow.Record) error {
	src, dst := r.SrcAddr, r.DstAddr
	if src.IsValid() && dst.IsValid() && src.Is4() != dst.Is4() {
		return ErrMixedFamilies
	}
	s := FlowSample{
		SourceIndex: r.InIf, SamplingRate: r.SamplingInterval, SamplePool: r.SamplingInterval,
		Input: Interface{Value: r.InIf}, Output: Interface{Value: r.OutIf},
	}
	ip := SampledIP{Length: uint32(min(r.Bytes, 1<<32-1)), Protocol: uint32(r.IPProto), SrcAddr: src, DstAddr: dst,
		SrcPort: uint32(r.SrcPort), DstPort: uint32(r.DstPort), TCPFlags: uint32(r.TCPFlags), ToS: uint32(r.ToS)}
	switch {
	case src.Is4() || dst.Is4():
		if !src.IsValid() {
			ip.SrcAddr = netip.IPv4Unspecified()
		}
		if !dst.IsValid() {
			ip.DstAddr = netip.IPv4Unspecified()
		}
		s.IPv4 = &ip
	case src.IsValid() || dst.IsValid():
		if !src.IsValid() {
			ip.SrcAddr = netip.IPv6Unspecified()
		}
		if !dst.IsValid() {
			ip.DstAddr = netip.IPv6Unspecified()
		}
		s.IPv6 = &ip
	}
	// MACs travel in a sampled_ethernet record; so does the length of a sample without IP
	// addresses.
	var eth SampledEthernet
	if !r.SrcMAC.IsZero() || !r.DstMAC.IsZero() || (s.IPv4 == nil && s.IPv6 == nil && r.Bytes != 0) {
		eth = SampledEthernet{Length: ip.Length, SrcMAC: r.SrcMAC, DstMAC: r.DstMAC}
		switch {
		case s.IPv6 != nil:
			eth.Type = 0x86dd
		case s.IPv4 != nil:
			eth.Type = 0x0800
		}
		s.Ethernet = &eth
	}
	var sw ExtendedSwitch
	if r.VLAN != 0 || r.OutVLAN != 0 {
		sw = ExtendedSwitch{SrcVLAN: uint32(r.VLAN), DstVLAN: uint32(r.OutVLAN)}
		s.Switch = &sw
	}
	var rt ExtendedRouter
	if r.NextHop.IsValid() || r.SrcMask != 0 || r.DstMask != 0 {
		rt = ExtendedRouter{NextHop: r.NextHop, SrcMask: uint32(r.SrcMask), DstMask: uint32(r.DstMask)}
		s.Router = &rt
	}
	var g ExtendedGateway
	var path [12]byte
	if r.BGPNextHop.IsValid() || r.SrcAS != 0 || r.DstAS != 0 {
		g = ExtendedGateway{NextHop: r.BGPNextHop, SrcAS: r.SrcAS}
		if r.DstAS != 0 {
			binary.BigEndian.PutUint32(path[0:], ASSequence)
			binary.BigEndian.PutUint32(path[4:], 1)
			binary.BigEndian.PutUint32(path[8:], r.DstAS)
			g.Path = path[:]
		}
		s.Gateway = &g
	}
	return b.AddFlowSample(&s)
}

// Finish completes the datagram, advances the agent's datagram sequence, and returns the
// buffer passed to Start with the datagram appended. A datagram without samples is removed
// again and does not advance the sequence.
func (b *Builder) Finish() []byte {
	b.check()
	b.open = false
	if b.count == 0 {
		return b.buf[:b.hdr]
	}
	binary.BigEndian.PutUint32(b.buf[b.countAt:], uint32(b.count))
	b.seqs[b.key]++
	return b.buf
}

func appendU32s(b []byte, vs ...uint32) []byte {
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

// appendAddr writes an sFlow address: type 1 and 4 bytes for IPv4 (including IPv4-mapped
// IPv6), type 2 and 16 bytes for IPv6, type 0 for none.
func appendAddr(b []byte, a netip.Addr) []byte {
	switch {
	case !a.IsValid():
		return binary.BigEndian.AppendUint32(b, 0)
	case a.Unmap().Is4():
		return append4(binary.BigEndian.AppendUint32(b, 1), a)
	default:
		return append16(binary.BigEndian.AppendUint32(b, 2), a)
	}
}

func append4(b []byte, a netip.Addr) []byte {
	v := a.Unmap()
	if !v.Is4() {
		return append(b, 0, 0, 0, 0)
	}
	x := v.As4()
	return append(b, x[:]...)
}

func append16(b []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(b, make([]byte, 16)...)
	}
	x := a.As16()
	return append(b, x[:]...)
}

// appendOpaque writes a variable-length opaque: its length, the bytes, the padding.
func appendOpaque(b, v []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	b = append(b, v...)
	for i := len(v); i%4 != 0; i++ {
		b = append(b, 0)
	}
	return b
}

// beginRecord writes a record's tag and a placeholder length, and returns where they are.
func beginRecord(b *[]byte, f Format) int {
	at := len(*b)
	*b = appendU32s(*b, uint32(f), 0)
	return at
}

// endRecord sets the length of the record begun at at.
func endRecord(b []byte, at int) {
	binary.BigEndian.PutUint32(b[at+4:], uint32(len(b)-at-8))
}

func appendRaw(b []byte, rs []Record, n int) ([]byte, int) {
	for _, r := range rs {
		at := beginRecord(&b, r.Format)
		b = append(b, r.Data...)
		for i := len(r.Data); i%4 != 0; i++ {
			b = append(b, 0)
		}
		endRecord(b, at)
		n++
	}
	return b, n
}
