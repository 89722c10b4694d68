// Package sflow encodes and decodes sFlow version 5 datagrams (sflow.org, sflow_version_5.txt
// and the structure extensions registered there).
//
// An sFlow agent samples packets rather than summarizing flows: a datagram carries flow
// samples (one sampled packet each: usually its first bytes, plus what the switch or router
// knows about it), counter samples (interface, host, application counters polled
// periodically) and discarded-packet samples. Every sample and every record inside a sample
// is tagged with an enterprise and format number and prefixed with its length.
//
// [Parser] reads a datagram held by the caller without allocating. [Parser.Next] steps
// through the samples, [Sample.Records] through a sample's records, and typed accessors
// on [Record] ([Record.SampledHeader], [Record.ExtendedGateway], [Record.IfCounters],
// …) decode the structures this package knows. [Parser.Flow] and [Parser.AppendFlows] turn
// flow samples into [flow.Record]s, parsing the sampled packet header with package
// [packet].
//
// Robustness rules, since agents from many vendors send structures nobody has seen before:
//   - Every sample and record is sliced by its declared length. A record longer than the
//     structure this package knows is decoded as far as it knows; the rest is ignored.
//   - Unknown sample types, unknown record formats and unknown enterprises are skipped and
//     counted ([Parser.Stats]); they never make the datagram fail. Unknown samples are still
//     yielded by Next, so their raw bytes are available.
//   - A sample whose contents contradict themselves (a record running past the datagram, a
//     record count the bytes cannot hold) is skipped and counted as malformed, with its
//     first error in [Parser.Skipped]. A sample whose declared length disagrees with its
//     records, in the two ways agents get it wrong, is read by its records (see
//     [Parser.Next]) and counted in Stats.LengthMismatches.
//   - Only a datagram whose own structure is broken (a sample running past the datagram's
//     end, fewer samples than the header counts) ends the walk, with [Parser.Err]; the
//     samples before stay good.
//   - Counts are never trusted beyond the bytes present: nothing is allocated, and no loop
//     runs, on the word of a count field.
//
// # Mapping to flow.Record
//
// Each flow sample (compact or expanded) is one sampled packet. [Parser.Flow] sets Exporter
// to the agent address, Domain to the sub-agent ID, Packets to 1, Bytes to the sampled
// packet's frame length (not scaled: SamplingInterval carries the sampling rate; without a
// sampled header, the sampled Ethernet or IP record's length), and
// InIf/OutIf to the sample's interfaces when they are ifIndex values (0 for a discarded
// packet, several interfaces, or the internal interface 0x3fffffff). Addresses, ports,
// protocol, ToS and TCP flags come from the sampled header, or from the sampled IPv4/IPv6
// records when there is no parsable header; MACs from the header or the sampled Ethernet
// record. VLAN is the extended switch record's incoming VLAN (its outgoing one when the
// incoming is not set), else the header's outermost 802.1Q tag. The extended router record
// gives NextHop and the prefix lengths, the extended gateway record BGPNextHop, SrcAS (its
// src_as, or the router's own AS when src_as is 0) and DstAS (the last AS of the path, or
// the router's own AS when the path is empty). ICMP type and code go into DstPort as
// type<<8|code, the way NetFlow and IPFIX exporters report them.
//
// sFlow has no flow start and end times: an agent sends each sample as it takes it, and
// the datagram carries only the agent's uptime. Start and End are left zero; a collector
// that wants times stamps the records with the datagram's arrival time.
package sflow

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"strconv"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/packet"
)

// Version is the datagram version this package reads and writes.
const Version = 5

// Format is the data format of a sample or record: an enterprise number (20 bits) and a
// format number (12 bits), as on the wire (enterprise<<12 | format).
type Format uint32

// MakeFormat returns the Format of an enterprise and a format number.
func MakeFormat(enterprise, format uint32) Format { return Format(enterprise<<12 | format&0xfff) }

// Enterprise returns the enterprise number (0 for the formats defined by sflow.org).
func (f Format) Enterprise() uint32 { return uint32(f) >> 12 }

// Number returns the format number within the enterprise.
func (f Format) Number() uint32 { return uint32(f) & 0xfff }

// String returns "enterprise:format", as in "0:1001".
func (f Format) String() string {
	return strconv.FormatUint(uint64(f.Enterprise()), 10) + ":" + strconv.FormatUint(uint64(f.Number()), 10)
}

// Sample formats (enterprise 0).
const (
	SampleFlow             Format = 1 // flow_sample
	SampleCounters         Format = 2 // counters_sample
	SampleFlowExpanded     Format = 3 // flow_sample_expanded
	SampleCountersExpanded Format = 4 // counters_sample_expanded
	SampleDiscard          Format = 5 // event_discarded_packet (sflow_drops.txt)
)

// Kind tells the three families of samples apart.
type Kind uint8

// Sample kinds.
const (
	KindUnknown  Kind = iota // a sample format this package does not know
	KindFlow                 // a flow sample, compact or expanded
	KindCounters             // a counters sample, compact or expanded
	KindDiscard              // a discarded-packet event
)

// Header is the datagram header.
type Header struct {
	// Agent is the agent's address (IPv4 or IPv6); the invalid address when the agent
	// sent address type UNKNOWN (0).
	Agent netip.Addr
	// SubAgent tells apart the datagram streams of several sub-agents of one agent.
	SubAgent uint32
	// Sequence counts the datagrams this agent and sub-agent sent.
	Sequence uint32
	// Uptime is the agent's uptime in milliseconds when the datagram was sent.
	Uptime uint32
	// Samples is the number of samples the header announces.
	Samples uint32
}

// Interface formats (the top two bits of a compact interface word, or the format word of
// an expanded one).
const (
	IfIndex    = 0 // Value is an ifIndex (0 unknown, 0x3fffffff the agent itself)
	IfDropped  = 1 // the packet was dropped; Value is the reason
	IfMultiple = 2 // the packet went out of several interfaces; Value counts them (0 unknown)
)

// InternalInterface is the ifIndex value that stands for the agent itself (packets it
// originates or receives).
const InternalInterface = 0x3fffffff

// Interface is a flow sample's input or output interface.
type Interface struct {
	Format uint32 // IfIndex, IfDropped or IfMultiple
	Value  uint32
}

// IfIndex returns the interface's ifIndex when it names one interface that is not the
// agent itself, and 0 otherwise.
func (i Interface) IfIndex() uint32 { return ifIndex(i.Format, i.Value) }

func ifIndex(format, value uint32) uint32 {
	if format != IfIndex || value == InternalInterface {
		return 0
	}
	return value
}

// Sample is one sample of a datagram, in the wire's terms. Fields that the sample's format
// does not carry are zero.
type Sample struct {
	// Format is the sample's data format.
	Format Format
	// Offset is where the sample starts in the datagram; Length is its declared length
	// (the bytes after its 8-byte tag and length).
	Offset, Length int
	// Sequence counts the samples of this kind that this data source generated.
	Sequence uint32
	// SourceType and SourceIndex identify the data source (type 0: an ifIndex, 1: a VLAN,
	// 2: a physical entity, 3: a logical entity).
	SourceType, SourceIndex uint32
	// SamplingRate, SamplePool and Drops describe the sampling of a flow sample: one
	// packet in SamplingRate was taken; SamplePool packets could have been; Drops samples
	// were lost for lack of resources. Drops is also the drop count of a discard sample.
	SamplingRate, SamplePool, Drops uint32
	// Input and Output are the packet's interfaces (flow and discard samples).
	Input, Output Interface
	// Reason is a discard sample's drop reason (sflow_drops.txt).
	Reason uint32
	// NumRecords is the number of records the sample carries.
	NumRecords uint32

	body       []byte // everything after the tag and length, aliasing the datagram
	records    []byte // the records
	recordsOff int    // offset of records in the datagram
}

// Kind returns the family of the sample's format.
func (s Sample) Kind() Kind { return kindOf(s.Format) }

func kindOf(f Format) Kind {
	switch f {
	case SampleFlow, SampleFlowExpanded:
		return KindFlow
	case SampleCounters, SampleCountersExpanded:
		return KindCounters
	case SampleDiscard:
		return KindDiscard
	}
	return KindUnknown
}

// Data returns the sample's body after its tag and length, aliasing the datagram: for an
// unknown sample, all there is to decode.
func (s Sample) Data() []byte { return s.body }

// Records returns an iterator over the sample's records.
func (s Sample) Records() Records {
	if s.Kind() == KindUnknown {
		return Records{}
	}
	return Records{b: s.records, base: s.recordsOff, left: s.NumRecords, counters: s.Kind() == KindCounters}
}

// Records iterates over the records of a sample:
//
//	for rs := s.Records(); rs.Next(); {
//		r := rs.Record()
//		switch r.Format { … }
//	}
//
// The sample was checked when the parser reached it, so iterating cannot fail.
type Records struct {
	b        []byte
	base     int
	off      int
	left     uint32
	counters bool
	cur      Record
}

// Next advances to the next record and reports whether there is one.
func (rs *Records) Next() bool {
	if rs.left == 0 || len(rs.b)-rs.off < 8 {
		return false
	}
	rs.left--
	f := Format(binary.BigEndian.Uint32(rs.b[rs.off:]))
	n := int(binary.BigEndian.Uint32(rs.b[rs.off+4:]))
	start := rs.off + 8
	rs.cur = Record{Format: f, Counters: rs.counters, Offset: rs.base + rs.off, Data: rs.b[start : start+n : start+n]}
	rs.off = start + n
	return true
}

// Record returns the current record.
func (rs *Records) Record() Record { return rs.cur }

// Record is one flow, counter or discard record of a sample, as on the wire. Its typed
// accessors decode its Data; call the one that matches Format (flow-record formats and
// counter-record formats share numbers, told apart by Counters).
type Record struct {
	Format Format
	// Counters is true for the records of a counters sample.
	Counters bool
	// Offset is where the record's tag starts in the datagram.
	Offset int
	// Data is the record's body, aliasing the datagram.
	Data []byte
}

// knownFlow and knownCounters are the record formats (enterprise 0) this package decodes,
// as bitsets indexed by format number, so that counting unknown records costs a lookup.
var knownFlow, knownCounters = formatSet(
	FlowSampledHeader, FlowSampledEthernet, FlowSampledIPv4, FlowSampledIPv6,
	FlowExtSwitch, FlowExtRouter, FlowExtGateway, FlowExtUser, FlowExtURL, FlowExtMPLS,
	FlowExtNAT, FlowExtMPLSTunnel, FlowExtMPLSVC, FlowExtMPLSFTN, FlowExtMPLSLDPFEC,
	FlowExtVLANTunnel, FlowExtL2TunnelEgress, FlowExtL2TunnelIngress,
	FlowExtIPv4TunnelEgress, FlowExtIPv4TunnelIngress, FlowExtIPv6TunnelEgress,
	FlowExtIPv6TunnelIngress, FlowExtDecapEgress, FlowExtDecapIngress, FlowExtVNIEgress,
	FlowExtVNIIngress, FlowExtEgressQueue, FlowExtACL, FlowExtFunction, FlowExtTransit,
	FlowExtQueueDepth, FlowExtHWTrap, FlowExtLinuxReason, FlowExtSocket4, FlowExtSocket6,
	FlowExtProxySocket4, FlowExtProxySocket6,
), formatSet(
	CountersGeneric, CountersEthernet, CountersTokenRing, CountersVG, CountersVLAN,
	CountersIEEE80211, CountersLAG, CountersSFP, CountersProcessor, CountersRadio,
	CountersOpenFlowPort, CountersPortName,
	CountersHostDescr, CountersHostAdapters, CountersHostParent, CountersHostCPU,
	CountersHostMemory, CountersHostDiskIO, CountersHostNetIO, CountersMIB2IP,
	CountersMIB2ICMP, CountersMIB2TCP, CountersMIB2UDP, CountersVirtNode,
	CountersVirtCPU, CountersVirtMemory, CountersVirtDiskIO, CountersVirtNetIO,
	CountersAppOperations, CountersAppResources, CountersAppWorkers, CountersOVSDP,
)

// formats is a set of enterprise-0 formats.
type formats [4096 / 64]uint64

func formatSet(fs ...Format) *formats {
	var s formats
	for _, f := range fs {
		s[f/64] |= 1 << (f % 64)
	}
	return &s
}

// has reports whether f is in the set; formats of other enterprises never are.
func (s *formats) has(f Format) bool { return f < 4096 && s[f/64]&(1<<(f%64)) != 0 }

// Stats counts what the parser skipped in the current datagram.
type Stats struct {
	// UnknownSamples: samples of a format (or enterprise) this package does not know.
	UnknownSamples int
	// UnknownRecords: records of a format (or enterprise) this package does not know,
	// in the samples Next reached.
	UnknownRecords int
	// MalformedSamples: samples whose contents contradict their length; skipped.
	MalformedSamples int
	// MalformedRecords: known records too short for their format, found by Flow and
	// AppendFlows (which then ignore them).
	MalformedRecords int
	// LengthMismatches: samples whose declared length disagreed with their records (see
	// Parser.Next); the records were followed.
	LengthMismatches int
}

// Parser reads one sFlow datagram at a time. The zero value is ready to use; keep one and
// call [Parser.Start] for every datagram, so that reading allocates nothing.
//
// A Parser holds on to the datagram passed to Start; the slices its values carry alias it.
type Parser struct {
	// Packet configures the parse of sampled packet headers by Flow and AppendFlows; its
	// Decap field chooses whether tunnelled packets are reported by their inner or outer
	// headers (see package packet).
	Packet packet.Options

	msg     []byte
	hdr     Header
	off     int    // offset of the next sample
	left    uint32 // samples not read yet
	end     int    // offset after the last sample read: the start of Trailing
	cur     Sample
	err     error
	skipErr error
	stats   Stats
	pkt     packet.Packet
}

// Start begins reading a datagram and returns its header. It fails with a
// [*flow.ParseError] wrapping [flow.ErrTruncated] or [flow.ErrVersion] when the header
// cannot be read; the samples are checked as Next reaches them.
func (p *Parser) Start(msg []byte) (Header, error) {
	// Field by field, leaving the current sample and packet (overwritten before use): the
	// Parser is large, and clearing it whole costs more than a small datagram's decode.
	p.msg, p.hdr, p.off, p.left, p.end = msg, Header{}, 0, 0, 0
	p.err, p.skipErr, p.stats = nil, nil, Stats{}
	if len(msg) < 4 {
		var a, d [48]byte
		return Header{}, p.fail(parseError(0, flow.ErrTruncated, newMsg(a[:]).s("header"), newMsg(d[:]).s("need 28 bytes, have ").n(len(msg))))
	}
	if v := binary.BigEndian.Uint32(msg); v != Version {
		var a, d [48]byte
		return Header{}, p.fail(parseError(0, flow.ErrVersion, newMsg(a[:]).s("header"), newMsg(d[:]).s("version ").u(v)))
	}
	r := xdr{b: msg, off: 4}
	var h Header
	switch t := r.u32(); t {
	case 0:
		// UNKNOWN: the address union is void (sFlow v5 address_type), and Agent stays
		// the invalid address. Agents that do not know their address send it.
	case 1:
		h.Agent = r.ip4()
	case 2:
		h.Agent = r.ip6()
	default:
		if !r.short {
			var a, d [48]byte
			return Header{}, p.fail(parseError(4, flow.ErrMalformed, newMsg(a[:]).s("header"), newMsg(d[:]).s("agent address type ").u(t)))
		}
	}
	h.SubAgent, h.Sequence, h.Uptime, h.Samples = r.u32(), r.u32(), r.u32(), r.u32()
	if r.short {
		need := 28
		if len(msg) >= 8 {
			switch binary.BigEndian.Uint32(msg[4:]) {
			case 0:
				need = 24
			case 2:
				need = 40
			}
		}
		var a, d [48]byte
		return Header{}, p.fail(parseError(0, flow.ErrTruncated, newMsg(a[:]).s("header"), newMsg(d[:]).s("need ").n(need).s(" bytes, have ").n(len(msg))))
	}
	p.hdr, p.off, p.end, p.left = h, r.off, r.off, h.Samples
	return h, nil
}

func (p *Parser) fail(err error) error {
	p.err, p.left, p.msg = err, 0, nil
	return err
}

// Next advances to the next sample and reports whether there is one. It returns false at
// the end of the datagram, or when the datagram's structure is broken: then [Parser.Err]
// says why. Malformed samples are skipped (see [Parser.Stats]).
//
// A sample ends where its length says, with two exceptions taken from what agents send:
// when its records (walked by their own lengths) run past its declared end, or when the
// declared length runs past the datagram while the records end within it, the records are
// believed. Either case is counted in [Stats.LengthMismatches].
func (p *Parser) Next() bool {
	for p.left > 0 {
		p.left--
		msg, off := p.msg, p.off
		if len(msg)-off < 8 {
			var a, d [64]byte
			p.fail(parseError(off, flow.ErrTruncated, newMsg(a[:]).s("sample ").u(p.hdr.Samples-p.left),
				newMsg(d[:]).s("header counts ").u(p.hdr.Samples).s(" samples; the datagram ends")))
			return false
		}
		f := Format(binary.BigEndian.Uint32(msg[off:]))
		n := binary.BigEndian.Uint32(msg[off+4:])
		fits := uint64(n) <= uint64(len(msg)-off-8)
		declEnd := len(msg)
		if fits {
			declEnd = off + 8 + int(n)
		}
		contentEnd, err := p.sample(f, off, msg[:declEnd], msg, p.skipErr == nil || !fits)
		switch {
		case err == nil && contentEnd < 0: // an unknown sample: only its length tells its end
			if !fits {
				var a, d [64]byte
				p.fail(parseError(off, flow.ErrTruncated, newMsg(a[:]).s("sample ").u(p.hdr.Samples-p.left).s(" (").f(f).s(")"),
					newMsg(d[:]).s("length ").u(n).s(" runs past the datagram")))
				return false
			}
			p.off = declEnd
		case err == nil:
			p.off = declEnd
			if !fits || contentEnd > declEnd {
				p.off = contentEnd
				p.stats.LengthMismatches++
			}
			p.cur.body = msg[off+8 : p.off : p.off]
		case fits:
			p.off = declEnd
			p.stats.MalformedSamples++
			if p.skipErr == nil {
				p.skipErr = err
			}
			p.end = p.off
			continue
		default:
			p.fail(err)
			return false
		}
		p.end = p.off
		return true
	}
	return false
}

// sample decodes the fixed part of a sample that starts at off and checks its records'
// envelopes against the datagram. It returns where the records end, or -1 for a sample
// format it does not know. decl ends where the sample's length says (or at the end of
// the datagram when the length runs past it).
//
// needErr says whether the caller will keep an error: when it would not, a static one is
// returned instead of building a message, so that a datagram of many malformed samples
// costs no more allocations than one.
func (p *Parser) sample(f Format, off int, decl, msg []byte, needErr bool) (int, error) {
	// The sample is decoded in place, field by field: building a Sample and copying it
	// costs more than the decoding.
	s := &p.cur
	s.Format, s.Offset, s.Length = f, off, int(binary.BigEndian.Uint32(msg[off+4:]))
	s.body, s.records, s.recordsOff = decl[off+8:], nil, 0
	s.Sequence, s.SourceType, s.SourceIndex = 0, 0, 0
	s.SamplingRate, s.SamplePool, s.Drops = 0, 0, 0
	s.Input, s.Output, s.Reason, s.NumRecords = Interface{}, Interface{}, 0, 0
	r := xdr{b: msg, off: off + 8}
	switch f {
	case SampleFlow:
		if w := msg[off+8:]; len(w) >= 32 { // the common case, without a check per field
			s.Sequence = binary.BigEndian.Uint32(w)
			src := binary.BigEndian.Uint32(w[4:])
			s.SourceType, s.SourceIndex = src>>24, src&0xffffff
			s.SamplingRate, s.SamplePool, s.Drops = binary.BigEndian.Uint32(w[8:]), binary.BigEndian.Uint32(w[12:]), binary.BigEndian.Uint32(w[16:])
			in, out := binary.BigEndian.Uint32(w[20:]), binary.BigEndian.Uint32(w[24:])
			s.Input = Interface{Format: in >> 30, Value: in & 0x3fffffff}
			s.Output = Interface{Format: out >> 30, Value: out & 0x3fffffff}
			r.off += 28
			break
		}
		s.Sequence = r.u32()
		src := r.u32()
		s.SourceType, s.SourceIndex = src>>24, src&0xffffff
		s.SamplingRate, s.SamplePool, s.Drops = r.u32(), r.u32(), r.u32()
		in, out := r.u32(), r.u32()
		s.Input = Interface{Format: in >> 30, Value: in & 0x3fffffff}
		s.Output = Interface{Format: out >> 30, Value: out & 0x3fffffff}
	case SampleFlowExpanded:
		s.Sequence, s.SourceType, s.SourceIndex = r.u32(), r.u32(), r.u32()
		s.SamplingRate, s.SamplePool, s.Drops = r.u32(), r.u32(), r.u32()
		s.Input = Interface{Format: r.u32(), Value: r.u32()}
		s.Output = Interface{Format: r.u32(), Value: r.u32()}
	case SampleCounters:
		s.Sequence = r.u32()
		src := r.u32()
		s.SourceType, s.SourceIndex = src>>24, src&0xffffff
	case SampleCountersExpanded:
		s.Sequence, s.SourceType, s.SourceIndex = r.u32(), r.u32(), r.u32()
	case SampleDiscard:
		s.Sequence, s.SourceType, s.SourceIndex = r.u32(), r.u32(), r.u32()
		s.Drops = r.u32()
		s.Input = Interface{Value: r.u32()}
		s.Output = Interface{Value: r.u32()}
		s.Reason = r.u32()
	default:
		p.stats.UnknownSamples++
		return -1, nil
	}
	s.NumRecords = r.u32()
	if r.short {
		if !needErr {
			return 0, errSkipped
		}
		var a, d [64]byte
		return 0, parseError(off, flow.ErrTruncated, newMsg(a[:]).s("sample ").f(f), newMsg(d[:]).s("the datagram ends inside its header"))
	}
	// Walk the record envelopes once, so that iterating later cannot fail.
	known := knownFlow
	if f == SampleCounters || f == SampleCountersExpanded {
		known = knownCounters
	}
	start := r.off
	at := start
	unknown := 0
	for i := uint32(0); i < s.NumRecords; i++ {
		rec := msg[at:]
		if len(rec) < 8 {
			if !needErr {
				return 0, errSkipped
			}
			return 0, recordsEndError(f, at, i, s.NumRecords)
		}
		rf := Format(binary.BigEndian.Uint32(rec))
		n := binary.BigEndian.Uint32(rec[4:])
		if uint64(n) > uint64(len(rec)-8) {
			if !needErr {
				return 0, errSkipped
			}
			return 0, recordLengthError(f, at, i, rf, n)
		}
		if !known.has(rf) {
			unknown++
		}
		at += 8 + int(n)
	}
	p.stats.UnknownRecords += unknown
	s.records, s.recordsOff = msg[start:at:at], start
	return at, nil
}

// recordsEndError and recordLengthError describe a sample whose records run past the
// datagram: out of the loop that walks them, which they would slow down.
func recordsEndError(f Format, at int, i, n uint32) error {
	var a, d [64]byte
	return parseError(at, flow.ErrTruncated, newMsg(a[:]).s("sample ").f(f).s(" record ").u(i),
		newMsg(d[:]).s("sample counts ").u(n).s(" records; the datagram ends"))
}

func recordLengthError(f Format, at int, i uint32, rf Format, n uint32) error {
	var a, d [64]byte
	return parseError(at, flow.ErrTruncated, newMsg(a[:]).s("sample ").f(f).s(" record ").u(i).s(" (").f(rf).s(")"),
		newMsg(d[:]).s("length ").u(n).s(" runs past the datagram"))
}

// errSkipped stands for the error of a malformed sample when an earlier one's is kept.
var errSkipped = errors.New("sflow: malformed sample")

// Sample returns the current sample. Call it only after Next returned true.
func (p *Parser) Sample() Sample { return p.cur }

// Err returns the error that ended the datagram early, or nil.
func (p *Parser) Err() error { return p.err }

// Skipped returns the error found in the first sample that was skipped as malformed in
// this datagram, or nil. (Stats counts them all.)
func (p *Parser) Skipped() error { return p.skipErr }

// Stats returns what was skipped in the current datagram so far.
func (p *Parser) Stats() Stats { return p.stats }

// Trailing returns the bytes after the last sample read: padding, garbage, or (in files of
// concatenated datagrams) the next datagram. It is complete once Next has returned false
// without an error.
func (p *Parser) Trailing() []byte {
	if p.msg == nil {
		return nil
	}
	return p.msg[p.end:]
}

// Flow fills r from the current sample when it is a flow sample, overwriting every field,
// and reports whether it was one. For other samples it returns false and leaves r alone.
// See the package documentation for how fields are mapped.
func (p *Parser) Flow(r *flow.Record) bool {
	if kindOf(p.cur.Format) != KindFlow {
		return false
	}
	p.fill(r)
	return true
}

// AppendFlows appends a record for each flow sample that Next has not reached yet to dst,
// as Flow would fill it, and returns the extended slice; other samples are skipped.
// Afterwards Next returns false. It allocates only when dst has no room.
func (p *Parser) AppendFlows(dst []flow.Record) []flow.Record {
	for p.Next() {
		if kindOf(p.cur.Format) != KindFlow {
			continue
		}
		dst = slices.Grow(dst, 1)
		dst = dst[:len(dst)+1]
		p.fill(&dst[len(dst)-1])
	}
	return dst
}

// fill decodes the current flow sample into r.
func (p *Parser) fill(r *flow.Record) {
	s := &p.cur
	// Zero everything the records may not set, field by field: a composite literal is
	// built in a temporary and copied, which costs more here.
	r.Protocol = flow.SFlow
	r.EngineType, r.EngineID = 0, 0
	r.IPProto = 0
	r.Domain = p.hdr.SubAgent
	r.Exporter = p.hdr.Agent
	r.SrcAddr, r.DstAddr = netip.Addr{}, netip.Addr{}
	r.NextHop, r.BGPNextHop = netip.Addr{}, netip.Addr{}
	r.Packets, r.Bytes = 1, 0
	r.Start, r.End = 0, 0
	r.SrcPort, r.DstPort = 0, 0
	r.InIf, r.OutIf = ifIndex(s.Input.Format, s.Input.Value), ifIndex(s.Output.Format, s.Output.Value)
	r.SrcAS, r.DstAS = 0, 0
	r.SamplingInterval = s.SamplingRate
	r.TCPFlags, r.ToS = 0, 0
	r.SrcMask, r.DstMask = 0, 0
	r.MPLSLabel = 0
	r.VLAN, r.OutVLAN = 0, 0
	r.SrcMAC, r.DstMAC = flow.MAC{}, flow.MAC{}
	r.Direction, r.EndReason = flow.DirectionUnknown, flow.EndUnknown
	r.InIfName, r.OutIfName = "", ""

	var (
		haveIP, haveMAC bool
		switchVLAN      uint16
		headerVLAN      uint16
		ipBytes         uint64
		ethBytes        uint64
	)
	rest := s.records // checked by Next: every record is within it
	for i := uint32(0); i < s.NumRecords && len(rest) >= 8; i++ {
		f := Format(binary.BigEndian.Uint32(rest))
		n := uint64(binary.BigEndian.Uint32(rest[4:]))
		if n > uint64(len(rest)-8) {
			break // cannot happen; says so to the compiler, which then drops bounds checks
		}
		data := rest[8 : 8+n : 8+n]
		rest = rest[8+n:]
		switch f {
		case FlowSampledHeader:
			// protocol, frame length, stripped, header length, header: read in place.
			if len(data) < 16 || uint64(binary.BigEndian.Uint32(data[12:])) > uint64(len(data)-16) {
				p.stats.MalformedRecords++
				continue
			}
			r.Bytes = uint64(binary.BigEndian.Uint32(data[4:]))
			h := SampledHeader{Protocol: binary.BigEndian.Uint32(data), Header: data[16 : 16+binary.BigEndian.Uint32(data[12:])]}
			first, ok := h.Layer()
			if !ok {
				continue
			}
			pk := &p.pkt
			pk.Parse(h.Header, first, &p.Packet)
			if pk.DstMAC != (flow.MAC{}) || pk.SrcMAC != (flow.MAC{}) {
				r.SrcMAC, r.DstMAC, haveMAC = pk.SrcMAC, pk.DstMAC, true
			}
			if pk.VLANs > 0 {
				headerVLAN = pk.VLAN
			}
			if pk.MPLSLabels > 0 {
				r.MPLSLabel = pk.MPLS[0] >> 12
			}
			if pk.SrcAddr.IsValid() { // the IP header was read whole
				haveIP = true
				r.SrcAddr, r.DstAddr = pk.SrcAddr, pk.DstAddr
				r.IPProto, r.ToS = pk.Proto, pk.ToS
				// The ports one at a time, with a store between: copied together, the
				// compiler reads both with one 32-bit load, which has to wait for the
				// parser's two 16-bit stores to retire.
				r.SrcPort = pk.SrcPort
				r.TCPFlags = pk.TCPFlags
				r.DstPort = pk.DstPort
				if pk.Proto == packet.ProtoICMP || pk.Proto == packet.ProtoICMPv6 {
					r.SrcPort, r.DstPort = 0, uint16(pk.ICMPType)<<8|uint16(pk.ICMPCode)
				}
			}
		case FlowSampledEthernet:
			e, ok := decodeSampledEthernet(data)
			if !ok {
				p.stats.MalformedRecords++
				continue
			}
			ethBytes = uint64(e.Length)
			if !haveMAC {
				r.SrcMAC, r.DstMAC, haveMAC = e.SrcMAC, e.DstMAC, true
			}
		case FlowSampledIPv4, FlowSampledIPv6:
			var ip SampledIP
			var ok bool
			if f == FlowSampledIPv4 {
				ip, ok = decodeSampledIPv4(data)
			} else {
				ip, ok = decodeSampledIPv6(data)
			}
			if !ok {
				p.stats.MalformedRecords++
				continue
			}
			ipBytes = uint64(ip.Length)
			if !haveIP {
				haveIP = true
				r.SrcAddr, r.DstAddr = ip.SrcAddr, ip.DstAddr
				// The record's fields are 32-bit words; a value wider than what it
				// stands for (an IP protocol, a port, flags, a ToS byte) is no such
				// value, and is reported as absent rather than cut to its low bits.
				r.IPProto, r.ToS = uint8(within(ip.Protocol, 0xff)), uint8(within(ip.ToS, 0xff))
				r.SrcPort, r.DstPort = uint16(within(ip.SrcPort, 0xffff)), uint16(within(ip.DstPort, 0xffff))
				r.TCPFlags = uint16(within(ip.TCPFlags, 0xffff))
			}
		case FlowExtSwitch:
			sw, ok := decodeExtendedSwitch(data)
			if !ok {
				p.stats.MalformedRecords++
				continue
			}
			if sw.SrcVLAN > 0 && sw.SrcVLAN < 4096 {
				switchVLAN = uint16(sw.SrcVLAN)
			}
			if sw.DstVLAN > 0 && sw.DstVLAN < 4096 {
				r.OutVLAN = uint16(sw.DstVLAN)
			}
		case FlowExtRouter:
			rt, ok := routerFlow(data)
			if !ok {
				p.stats.MalformedRecords++
				continue
			}
			r.NextHop = rt.NextHop
			r.SrcMask, r.DstMask = uint8(min(rt.SrcMask, 128)), uint8(min(rt.DstMask, 128))
		case FlowExtGateway:
			nh, as, srcAS, dstAS, ok := gatewayFlow(data)
			if !ok {
				p.stats.MalformedRecords++
				continue
			}
			r.BGPNextHop, r.SrcAS, r.DstAS = nh, srcAS, dstAS
			if r.SrcAS == 0 {
				r.SrcAS = as
			}
		}
	}
	if r.Bytes == 0 {
		r.Bytes = ethBytes
		if r.Bytes == 0 {
			r.Bytes = ipBytes
		}
	}
	if switchVLAN != 0 {
		r.VLAN = switchVLAN
	} else {
		r.VLAN = headerVLAN
	}
}

// within returns v when it is at most max, else 0.
func within(v, max uint32) uint32 {
	if v > max {
		return 0
	}
	return v
}
