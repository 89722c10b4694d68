package template

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"unsafe"

	"github.com/flowkit/flow"
)

// opcode says what one field of a record does to a flow.Record: which field it sets and
// how its bytes convert. The decode plan of a template is a slice of them, worked out once
// when the template is learnt, so that decoding a record walks the slice instead of looking
// fields up in the registry.
type opcode uint8

const (
	opNone opcode = iota
	opSrcAddr4
	opSrcAddr6
	opDstAddr4
	opDstAddr6
	opNextHop4
	opNextHop6
	opBGPNextHop4
	opBGPNextHop6
	opBytes
	opPackets
	opProto
	opToS
	opDSCP
	opTCPFlags
	opSrcPort
	opDstPort
	opICMPType
	opICMPCode
	opInIf
	opOutIf
	opSrcAS
	opDstAS
	opSrcMask
	opDstMask
	opVLAN
	opOutVLAN
	opSrcMAC
	opDstMAC
	opDirection
	opEndReason
	opMPLSLabel
	opEngineType
	opEngineID
	opStartUptime
	opEndUptime
	opStartSec
	opEndSec
	opStartMs
	opEndMs
	opStartNTP
	opEndNTP
	opStartDelta
	opEndDelta
	opDurationMs
	opDurationUs
	opSampling
	opSampler
	opBoot

	// Width-specialised forms of the commonest steps: one case each reads its value with
	// a single load, where the generic form measures the field first.
	opBytes4
	opBytes8
	opPackets4
	opPackets8
	opInIf2
	opInIf4
	opOutIf2
	opOutIf4
	opSrcAS2
	opSrcAS4
	opDstAS2
	opDstAS4
	opSrcPort2
	opDstPort2
	opProto1
	opToS1
	opTCPFlags1
	opTCPFlags2
	opSrcMask1
	opDstMask1
	opStartUptime4
	opEndUptime4
	opDirection1
	opStartMs8
	opEndMs8
	opVLAN2
	opOutVLAN2

	// Address steps for templates that carry one family only: a plain store.
	opSrcAddr4Only
	opDstAddr4Only
	opNextHop4Only
	opBGPNextHop4Only
	opSrcAddr6Only
	opDstAddr6Only
)

// specialised maps a generic step and a field length to its width-specialised form.
var specialised = map[[2]int]opcode{
	{int(opBytes), 4}: opBytes4, {int(opBytes), 8}: opBytes8,
	{int(opPackets), 4}: opPackets4, {int(opPackets), 8}: opPackets8,
	{int(opInIf), 2}: opInIf2, {int(opInIf), 4}: opInIf4, {int(opOutIf), 2}: opOutIf2, {int(opOutIf), 4}: opOutIf4,
	{int(opSrcAS), 2}: opSrcAS2, {int(opSrcAS), 4}: opSrcAS4, {int(opDstAS), 2}: opDstAS2, {int(opDstAS), 4}: opDstAS4,
	{int(opSrcPort), 2}: opSrcPort2, {int(opDstPort), 2}: opDstPort2, {int(opProto), 1}: opProto1, {int(opToS), 1}: opToS1,
	{int(opTCPFlags), 1}: opTCPFlags1, {int(opTCPFlags), 2}: opTCPFlags2, {int(opSrcMask), 1}: opSrcMask1,
	{int(opDstMask), 1}: opDstMask1, {int(opStartUptime), 4}: opStartUptime4, {int(opEndUptime), 4}: opEndUptime4,
	{int(opDirection), 1}: opDirection1,
	{int(opStartMs), 8}:   opStartMs8, {int(opEndMs), 8}: opEndMs8, {int(opVLAN), 2}: opVLAN2, {int(opOutVLAN), 2}: opOutVLAN2,
}

// target is the part of a flow.Record (or of its derivation) a field feeds. Several
// elements can feed one target (octetDeltaCount, octetTotalCount, initiatorOctets all give
// Bytes); the plan keeps the best-ranked one a template has. IPv4 and IPv6 addresses are
// targets of their own: templates that carry both families (Cisco IOS XR sends one template
// for both, the other family zero) keep both, and the non-zero value wins at decode time.
type target uint8

const (
	tNone target = iota
	tSrcAddr4
	tSrcAddr6
	tDstAddr4
	tDstAddr6
	tNextHop4
	tNextHop6
	tBGPNextHop4
	tBGPNextHop6
	tBytes
	tPackets
	tProto
	tToS
	tTCPFlags
	tSrcPort
	tDstPort
	tICMPType
	tICMPCode
	tInIf
	tOutIf
	tSrcAS
	tDstAS
	tSrcMask
	tDstMask
	tVLAN
	tOutVLAN
	tSrcMAC
	tDstMAC
	tDirection
	tEndReason
	tMPLSLabel
	tEngineType
	tEngineID
	tStart
	tEnd
	tDuration
	tSampling
	tSampler
	tBoot
	numTargets
)

// mapping says what an element does: the opcode, the target it feeds, its rank among the
// elements feeding that target (0 best), and the field lengths it accepts (an element sent
// with another length is left to raw access).
type mapping struct {
	op       opcode
	target   target
	rank     uint8
	min, max uint16
}

func m(op opcode, t target, rank uint8, min, max uint16) mapping {
	return mapping{op: op, target: t, rank: rank, min: min, max: max}
}

// mappings lists the IANA elements (NetFlow v9 field types share the numbers) that set
// part of a flow.Record. Unsigned integers are accepted in any width from 1 to 8 bytes
// (reduced-size encoding) and narrowed to the record's field.
var mappings = map[uint16]mapping{
	8:   m(opSrcAddr4, tSrcAddr4, 0, 4, 4),         // sourceIPv4Address
	27:  m(opSrcAddr6, tSrcAddr6, 0, 16, 16),       // sourceIPv6Address
	12:  m(opDstAddr4, tDstAddr4, 0, 4, 4),         // destinationIPv4Address
	28:  m(opDstAddr6, tDstAddr6, 0, 16, 16),       // destinationIPv6Address
	15:  m(opNextHop4, tNextHop4, 0, 4, 4),         // ipNextHopIPv4Address
	62:  m(opNextHop6, tNextHop6, 0, 16, 16),       // ipNextHopIPv6Address
	18:  m(opBGPNextHop4, tBGPNextHop4, 0, 4, 4),   // bgpNextHopIPv4Address
	63:  m(opBGPNextHop6, tBGPNextHop6, 0, 16, 16), // bgpNextHopIPv6Address
	1:   m(opBytes, tBytes, 0, 1, 8),               // octetDeltaCount
	85:  m(opBytes, tBytes, 1, 1, 8),               // octetTotalCount
	23:  m(opBytes, tBytes, 2, 1, 8),               // postOctetDeltaCount (v9 OUT_BYTES)
	231: m(opBytes, tBytes, 3, 1, 8),               // initiatorOctets (ASA NF_F_FWD_FLOW_DELTA_BYTES)
	2:   m(opPackets, tPackets, 0, 1, 8),           // packetDeltaCount
	86:  m(opPackets, tPackets, 1, 1, 8),           // packetTotalCount
	24:  m(opPackets, tPackets, 2, 1, 8),           // postPacketDeltaCount (v9 OUT_PKTS)
	298: m(opPackets, tPackets, 3, 1, 8),           // initiatorPackets
	4:   m(opProto, tProto, 0, 1, 8),               // protocolIdentifier
	5:   m(opToS, tToS, 0, 1, 8),                   // ipClassOfService
	195: m(opDSCP, tToS, 1, 1, 8),                  // ipDiffServCodePoint
	6:   m(opTCPFlags, tTCPFlags, 0, 1, 8),         // tcpControlBits
	7:   m(opSrcPort, tSrcPort, 0, 1, 8),           // sourceTransportPort
	180: m(opSrcPort, tSrcPort, 1, 1, 8),           // udpSourcePort
	182: m(opSrcPort, tSrcPort, 1, 1, 8),           // tcpSourcePort
	11:  m(opDstPort, tDstPort, 0, 1, 8),           // destinationTransportPort
	181: m(opDstPort, tDstPort, 1, 1, 8),           // udpDestinationPort
	183: m(opDstPort, tDstPort, 1, 1, 8),           // tcpDestinationPort
	32:  m(opDstPort, tDstPort, 2, 1, 8),           // icmpTypeCodeIPv4
	139: m(opDstPort, tDstPort, 2, 1, 8),           // icmpTypeCodeIPv6
	176: m(opICMPType, tICMPType, 0, 1, 8),         // icmpTypeIPv4
	178: m(opICMPType, tICMPType, 0, 1, 8),         // icmpTypeIPv6
	177: m(opICMPCode, tICMPCode, 0, 1, 8),         // icmpCodeIPv4
	179: m(opICMPCode, tICMPCode, 0, 1, 8),         // icmpCodeIPv6
	10:  m(opInIf, tInIf, 0, 1, 8),                 // ingressInterface
	252: m(opInIf, tInIf, 1, 1, 8),                 // ingressPhysicalInterface
	14:  m(opOutIf, tOutIf, 0, 1, 8),               // egressInterface
	253: m(opOutIf, tOutIf, 1, 1, 8),               // egressPhysicalInterface
	16:  m(opSrcAS, tSrcAS, 0, 1, 8),               // bgpSourceAsNumber
	17:  m(opDstAS, tDstAS, 0, 1, 8),               // bgpDestinationAsNumber
	9:   m(opSrcMask, tSrcMask, 0, 1, 8),           // sourceIPv4PrefixLength
	29:  m(opSrcMask, tSrcMask, 0, 1, 8),           // sourceIPv6PrefixLength
	13:  m(opDstMask, tDstMask, 0, 1, 8),           // destinationIPv4PrefixLength
	30:  m(opDstMask, tDstMask, 0, 1, 8),           // destinationIPv6PrefixLength
	58:  m(opVLAN, tVLAN, 0, 1, 8),                 // vlanId (v9 SRC_VLAN)
	243: m(opVLAN, tVLAN, 1, 1, 8),                 // dot1qVlanId
	59:  m(opOutVLAN, tOutVLAN, 0, 1, 8),           // postVlanId (v9 DST_VLAN)
	254: m(opOutVLAN, tOutVLAN, 1, 1, 8),           // postDot1qVlanId
	56:  m(opSrcMAC, tSrcMAC, 0, 6, 6),             // sourceMacAddress (v9 IN_SRC_MAC)
	81:  m(opSrcMAC, tSrcMAC, 1, 6, 6),             // postSourceMacAddress (v9 OUT_SRC_MAC)
	80:  m(opDstMAC, tDstMAC, 0, 6, 6),             // destinationMacAddress (v9 IN_DST_MAC)
	57:  m(opDstMAC, tDstMAC, 1, 6, 6),             // postDestinationMacAddress (v9 OUT_DST_MAC)
	61:  m(opDirection, tDirection, 0, 1, 8),       // flowDirection
	136: m(opEndReason, tEndReason, 0, 1, 8),       // flowEndReason
	70:  m(opMPLSLabel, tMPLSLabel, 0, 3, 3),       // mplsTopLabelStackSection
	38:  m(opEngineType, tEngineType, 0, 1, 8),     // engineType
	39:  m(opEngineID, tEngineID, 0, 1, 8),         // engineId
	156: m(opStartNTP, tStart, 0, 8, 8),            // flowStartNanoseconds
	157: m(opEndNTP, tEnd, 0, 8, 8),                // flowEndNanoseconds
	154: m(opStartNTP, tStart, 1, 8, 8),            // flowStartMicroseconds
	155: m(opEndNTP, tEnd, 1, 8, 8),                // flowEndMicroseconds
	152: m(opStartMs, tStart, 2, 1, 8),             // flowStartMilliseconds
	153: m(opEndMs, tEnd, 2, 1, 8),                 // flowEndMilliseconds
	150: m(opStartSec, tStart, 3, 1, 8),            // flowStartSeconds
	151: m(opEndSec, tEnd, 3, 1, 8),                // flowEndSeconds
	22:  m(opStartUptime, tStart, 4, 1, 8),         // flowStartSysUpTime (v9 FIRST_SWITCHED)
	21:  m(opEndUptime, tEnd, 4, 1, 8),             // flowEndSysUpTime (v9 LAST_SWITCHED)
	158: m(opStartDelta, tStart, 5, 1, 8),          // flowStartDeltaMicroseconds
	159: m(opEndDelta, tEnd, 5, 1, 8),              // flowEndDeltaMicroseconds
	161: m(opDurationMs, tDuration, 0, 1, 8),       // flowDurationMilliseconds
	162: m(opDurationUs, tDuration, 1, 1, 8),       // flowDurationMicroseconds
	34:  m(opSampling, tSampling, 0, 1, 8),         // samplingInterval
	50:  m(opSampling, tSampling, 1, 1, 8),         // samplerRandomInterval
	302: m(opSampler, tSampler, 0, 1, 8),           // selectorId
	48:  m(opSampler, tSampler, 1, 1, 8),           // samplerId (v9 FLOW_SAMPLER_ID)
	160: m(opBoot, tBoot, 0, 1, 8),                 // systemInitTimeMilliseconds
}

// v9ScopeInterface is the NetFlow v9 scope type of an interface: its value is an ifIndex.
const v9ScopeInterface = 2

// op is one step of a decode plan.
type op struct {
	off  uint16 // offset of the value in a record of a fixed-length template
	n    uint16 // its length (fixed-length templates)
	fi   uint16 // index of the field, for templates with variable-length fields
	code opcode
}

// compile works out the record length and the decode plan.
func (t *Template) compile() {
	var chosen [numTargets]struct {
		op   op
		rank uint8
		set  bool
	}
	off := 0
	t.firstVar = len(t.Fields)
	for i, f := range t.Fields {
		if f.Length == VarLen {
			if !t.variable {
				t.firstVar, t.prefixLen = i, off
			}
			t.variable = true
			off++ // at least the length byte
		} else {
			off += int(f.Length)
		}
		mp, ok := t.mappingOf(i, f)
		if !ok || f.Length == VarLen || f.Length < mp.min || f.Length > mp.max {
			continue
		}
		c := &chosen[mp.target]
		if c.set && c.rank <= mp.rank {
			continue
		}
		c.set, c.rank = true, mp.rank
		c.op = op{off: uint16(min(off-int(f.Length), 0xffff)), n: f.Length, fi: uint16(i), code: mp.op}
		if sp, ok := specialised[[2]int{int(mp.op), int(f.Length)}]; ok {
			c.op.code = sp
		}
	}
	t.minLen = off
	for _, f := range t.Fields[t.firstVar:] {
		if k := len(t.tail) - 1; f.Length != VarLen && k >= 0 && t.tail[k] != VarLen && int(t.tail[k])+int(f.Length) < VarLen {
			t.tail[k] += f.Length
		} else {
			t.tail = append(t.tail, f.Length)
		}
	}
	// One variable-length field, then fixed-length ones or none (a string at the end, the
	// commonest shape): a record's length follows from its length byte (Template.shortLen).
	if t.oneVar = len(t.tail) == 1 || len(t.tail) == 2 && t.tail[1] != VarLen; t.oneVar && len(t.tail) == 2 {
		t.varAfter = int(t.tail[1])
	}
	// An address field whose other family is not in the template is simply stored.
	only := func(a, b target, op opcode) {
		if chosen[a].set && !chosen[b].set {
			chosen[a].op.code = op
		}
	}
	only(tSrcAddr4, tSrcAddr6, opSrcAddr4Only)
	only(tDstAddr4, tDstAddr6, opDstAddr4Only)
	only(tNextHop4, tNextHop6, opNextHop4Only)
	only(tBGPNextHop4, tBGPNextHop6, opBGPNextHop4Only)
	only(tSrcAddr6, tSrcAddr4, opSrcAddr6Only)
	only(tDstAddr6, tDstAddr4, opDstAddr6Only)
	t.endSet = chosen[tEnd].set
	t.durationOp = chosen[tDuration].set
	t.samplerOp = chosen[tSampler].set
	t.samplingOp = chosen[tSampling].set
	t.bootOp = chosen[tBoot].set
	t.startUptime = chosen[tStart].set && (chosen[tStart].op.code == opStartUptime || chosen[tStart].op.code == opStartUptime4)
	t.endUptime = chosen[tEnd].set && (chosen[tEnd].op.code == opEndUptime || chosen[tEnd].op.code == opEndUptime4)
	// A sampler ID is resolved to its interval as it is read, unless the record may carry
	// an interval of its own, which wins: then it waits for the finishing pass.
	t.pending = t.durationOp || t.samplerOp && t.samplingOp || t.bootOp
	// ICMP type and code fill in the destination port only when no port field does.
	if chosen[tDstPort].set {
		chosen[tICMPType].set, chosen[tICMPCode].set = false, false
	}
	for _, c := range chosen {
		if c.set {
			t.ops = append(t.ops, c.op)
		}
	}
	// Wire order: decoding walks the record front to back.
	for i := 1; i < len(t.ops); i++ {
		for j := i; j > 0 && t.ops[j].fi < t.ops[j-1].fi; j-- {
			t.ops[j], t.ops[j-1] = t.ops[j-1], t.ops[j]
		}
	}
	// With variable-length fields before them, the mapped fields have no fixed offsets:
	// each record's are gathered into a scratch record where they do (Context.gather),
	// and the plan reads that.
	// When they all come before the first variable-length field (exporters tend to put
	// strings last), their offsets are the same in every record: the plan reads records
	// where they are.
	t.fixedLen = t.minLen
	t.inPlace = !t.variable
	if t.variable && (len(t.ops) == 0 || int(t.ops[len(t.ops)-1].fi) < t.firstVar) {
		t.inPlace = true
		t.fixedLen = 0
		for _, o := range t.ops {
			t.fixedLen = max(t.fixedLen, int(o.off)+int(o.n))
		}
	}
	if !t.inPlace {
		off := 0
		for i := range t.ops {
			t.ops[i].off = uint16(off)
			off += int(t.ops[i].n)
		}
		t.fixedLen = off
	}
	if t.minLen > 0xffff {
		// No record of this template fits a message; it decodes nothing.
		t.ops = nil
	}
	if t.Kind == Options {
		t.opts = t.compileOptions()
	}
	if !t.reversed && t.hasReverseCounters() {
		t.rev = &Template{ID: t.ID, Kind: t.Kind, ScopeCount: t.ScopeCount, Fields: t.Fields, Protocol: t.Protocol, reversed: true}
		t.rev.compile()
	}
}

// hasReverseCounters reports whether an IPFIX template carries RFC 5103 reverse octet or
// packet counters: its records are biflows.
func (t *Template) hasReverseCounters() bool {
	if t.Protocol != flow.IPFIX {
		return false
	}
	for _, f := range t.Fields {
		if f.Enterprise == ReversePEN {
			if mp, ok := mappings[f.ID]; ok && (mp.target == tBytes || mp.target == tPackets) {
				return true
			}
		}
	}
	return false
}

// reverseKeys maps each directional key element to its counterpart: in the reverse
// direction of a biflow, the source of the forward direction is the destination.
var reverseKeys = map[uint16]uint16{
	8: 12, 12: 8, 27: 28, 28: 27, // addresses
	7: 11, 11: 7, 180: 181, 181: 180, 182: 183, 183: 182, // ports
	10: 14, 14: 10, 252: 253, 253: 252, // interfaces
	16: 17, 17: 16, // AS numbers
	9: 13, 13: 9, 29: 30, 30: 29, // prefix lengths
	56: 80, 80: 56, 81: 57, 57: 81, // MACs
}

// sharedTargets are the targets a forward element gives both directions of a biflow:
// what RFC 5103 section 6 calls non-directional (the key's protocol, the observation's
// sampling and times when no reverse time is sent). Forward counters, flags, ToS and next
// hops describe the forward direction only.
var sharedTargets = [numTargets]bool{
	tProto: true, tVLAN: true, tOutVLAN: true, tDirection: true, tEndReason: true, tMPLSLabel: true,
	tEngineType: true, tEngineID: true, tStart: true, tEnd: true, tDuration: true, tSampling: true,
	tSampler: true, tBoot: true,
}

// reverseMappingOf returns what field i does to the reverse direction's flow.Record:
// reverse elements (enterprise 29305) act as their forward element, and rank first;
// directional keys are swapped; shared elements rank after any reverse element of their
// target.
func (t *Template) reverseMappingOf(f Field) (mapping, bool) {
	switch f.Enterprise {
	case ReversePEN:
		mp, ok := mappings[f.ID]
		if !ok {
			return mapping{}, false
		}
		if _, key := reverseKeys[f.ID]; key {
			return mapping{}, false
		}
		return mp, true
	case 0:
		if other, ok := reverseKeys[f.ID]; ok {
			return mappings[other], true
		}
		mp, ok := mappings[f.ID]
		if !ok || !sharedTargets[mp.target] {
			return mapping{}, false
		}
		mp.rank += 16
		return mp, true
	}
	return mapping{}, false
}

// FillReverse decodes the reverse direction of rec, a biflow record of t (RFC 5103), into
// r, overwriting every field, and reports whether the record has one: t carries reverse
// octet or packet counters and the record's are not both zero. See [Template.Fill] for rec
// and c. It allocates nothing.
func (t *Template) FillReverse(r *flow.Record, rec []byte, c *Context) bool {
	if t == nil || t.rev == nil {
		return false
	}
	t.rev.Fill(r, rec, c)
	return r.Bytes != 0 || r.Packets != 0
}

// Biflow reports whether t's records are RFC 5103 biflows: it carries reverse counters.
func (t *Template) Biflow() bool { return t.rev != nil }

// mappingOf returns what field i does to a flow.Record.
func (t *Template) mappingOf(i int, f Field) (mapping, bool) {
	if t.reversed {
		return t.reverseMappingOf(f)
	}
	if f.Enterprise != 0 {
		return mapping{}, false
	}
	if i < t.ScopeCount && t.Protocol == flow.NetFlow9 {
		// v9 scope fields are numbered apart: only the interface scope means something
		// to a flow.Record.
		if f.ID == v9ScopeInterface {
			return m(opInIf, tInIf, 0, 1, 8), true
		}
		return mapping{}, false
	}
	mp, ok := mappings[f.ID]
	return mp, ok
}

// Fill decodes rec, one record of t, into r, overwriting every field of r. rec must hold a
// whole record as [Template.Next] measured it. Times relative to the exporter's uptime or
// the export time are made absolute with c; sampling intervals and interface names that
// options records announced are applied from c's exporter state.
func (t *Template) Fill(r *flow.Record, rec []byte, c *Context) {
	if !t.inPlace {
		rec = c.gather(t, rec)
	}
	t.fill(unsafe.Slice(r, 1), rec, 0, c)
}

// AppendSet decodes the records at the start of set, every whole one there is, appends
// them to dst and returns the extended slice and the bytes the records took (what is left
// is padding, or a record cut short). It is Fill for a whole data set at once, and much
// cheaper per record: the plan is walked once, each step applied to every record. For a
// template with variable-length fields, the part of each record the plan reads is copied
// into a scratch buffer where the records lie at a fixed stride (which grows to the set's
// size once), as each record is measured; when the mapped fields do not all precede the
// variable-length ones, records are decoded one by one. dst grows by the records there
// are, so AppendSet allocates only when dst has no room for them.
func (t *Template) AppendSet(dst []flow.Record, set []byte, c *Context) ([]flow.Record, int) {
	at := len(dst)
	switch {
	case !t.variable:
		if t.minLen == 0 {
			return dst, 0
		}
		n := len(set) / t.minLen
		dst = slices.Grow(dst, n)[:at+n]
		t.fill(dst[at:], set, t.minLen, c)
		return dst, n * t.minLen
	case t.inPlace:
		buf, used, n := c.buf[:0], 0, 0
		for {
			l := t.shortLen(set[used:])
			if l == 0 {
				var ok bool
				if l, ok = t.Next(set[used:]); !ok {
					break
				}
			}
			buf = append(buf, set[used:used+t.fixedLen]...)
			used, n = used+l, n+1
		}
		c.buf = buf
		dst = slices.Grow(dst, n)[:at+n]
		t.fill(dst[at:], buf, t.fixedLen, c)
		return dst, used
	}
	used := 0
	for {
		l, ok := t.Next(set[used:])
		if !ok {
			return dst, used
		}
		dst = append(dst, flow.Record{})
		t.fill(dst[len(dst)-1:], c.gather(t, set[used:used+l]), 0, c)
		used += l
	}
}

// fill decodes len(rs) records, stride bytes apart from the start of rec, one plan step at
// a time over all of them. Whatever a step cannot store in the record (durations, sampler
// IDs, boot times) waits in c.tmp for the pass that finishes each record.
func (t *Template) fill(rs []flow.Record, rec []byte, stride int, c *Context) {
	n := len(rs)
	if n == 0 {
		return
	}
	// Cleared in bulk, then the three fields every record takes from the message: cheaper
	// than copying a prepared record into each.
	clear(rs)
	for i := range rs {
		r := &rs[i]
		r.Protocol, r.Domain, r.Exporter = c.Protocol, c.Domain, c.Exporter
	}
	if len(rec) < (n-1)*stride+t.fixedLen {
		return // not records of t
	}
	var tmp []pending
	if t.pending {
		if cap(c.tmp) < n {
			c.tmp = make([]pending, n)
		}
		tmp = c.tmp[:n]
		clear(tmp)
	}
	base := unsafe.Pointer(unsafe.SliceData(rec))
	// The loops below walk the records by adding to offsets (ro into rs, off into rec):
	// indexing would multiply twice per record and step, and those multiplications, more
	// than the loads and stores, bounded the loops. Pointers are formed only for records
	// that exist, never one past the end.
	rb := unsafe.Pointer(unsafe.SliceData(rs))
	const rsize = unsafe.Sizeof(flow.Record{})
	rend := uintptr(n) * rsize
	for k := range t.ops {
		o := &t.ops[k]
		// The offsets were checked against the records' extent above: no bounds checks.
		p := unsafe.Add(base, o.off)
		switch o.code {
		case opSrcAddr4Only:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				(*flow.Record)(unsafe.Add(rb, ro)).SrcAddr = netip.AddrFrom4(*(*[4]byte)(unsafe.Add(p, off)))
			}
		case opDstAddr4Only:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				(*flow.Record)(unsafe.Add(rb, ro)).DstAddr = netip.AddrFrom4(*(*[4]byte)(unsafe.Add(p, off)))
			}
		case opNextHop4Only:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				(*flow.Record)(unsafe.Add(rb, ro)).NextHop = netip.AddrFrom4(*(*[4]byte)(unsafe.Add(p, off)))
			}
		case opBGPNextHop4Only:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				(*flow.Record)(unsafe.Add(rb, ro)).BGPNextHop = netip.AddrFrom4(*(*[4]byte)(unsafe.Add(p, off)))
			}
		case opSrcAddr6Only:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				(*flow.Record)(unsafe.Add(rb, ro)).SrcAddr = netip.AddrFrom16(*(*[16]byte)(unsafe.Add(p, off)))
			}
		case opDstAddr6Only:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				(*flow.Record)(unsafe.Add(rb, ro)).DstAddr = netip.AddrFrom16(*(*[16]byte)(unsafe.Add(p, off)))
			}
		case opSrcAddr4:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				set4(&r.SrcAddr, b)
			}
		case opSrcAddr6:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				set16(&r.SrcAddr, b)
			}
		case opDstAddr4:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				set4(&r.DstAddr, b)
			}
		case opDstAddr6:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				set16(&r.DstAddr, b)
			}
		case opNextHop4:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				set4(&r.NextHop, b)
			}
		case opNextHop6:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				set16(&r.NextHop, b)
			}
		case opBGPNextHop4:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				set4(&r.BGPNextHop, b)
			}
		case opBGPNextHop6:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				set16(&r.BGPNextHop, b)
			}
		case opBytes4:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.Bytes = uint64(be32(q))
			}
		case opBytes8:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.Bytes = be64(q)
			}
		case opPackets4:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.Packets = uint64(be32(q))
			}
		case opPackets8:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.Packets = be64(q)
			}
		case opInIf2:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.InIf = uint32(be16(q))
			}
		case opInIf4:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.InIf = be32(q)
			}
		case opOutIf2:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.OutIf = uint32(be16(q))
			}
		case opOutIf4:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.OutIf = be32(q)
			}
		case opSrcAS2:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.SrcAS = uint32(be16(q))
			}
		case opSrcAS4:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.SrcAS = be32(q)
			}
		case opDstAS2:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.DstAS = uint32(be16(q))
			}
		case opDstAS4:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.DstAS = be32(q)
			}
		case opSrcPort2:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.SrcPort = be16(q)
			}
		case opDstPort2:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.DstPort = be16(q)
			}
		case opProto1:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.IPProto = *(*byte)(q)
			}
		case opToS1:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.ToS = *(*byte)(q)
			}
		case opTCPFlags1:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.TCPFlags = uint16(*(*byte)(q))
			}
		case opTCPFlags2:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.TCPFlags = be16(q)
			}
		case opSrcMask1:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.SrcMask = *(*byte)(q)
			}
		case opDstMask1:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.DstMask = *(*byte)(q)
			}
		case opDirection1:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.Direction = direction(uint64(*(*byte)(q)))
			}
		case opBytes:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.Bytes = Unsigned(b)
			}
		case opPackets:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.Packets = Unsigned(b)
			}
		case opProto:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.IPProto = uint8(Unsigned(b))
			}
		case opToS:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.ToS = uint8(Unsigned(b))
			}
		case opDSCP:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.ToS = uint8(Unsigned(b)) << 2
			}
		case opTCPFlags:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.TCPFlags = uint16(Unsigned(b))
			}
		case opSrcPort:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.SrcPort = uint16(Unsigned(b))
			}
		case opDstPort:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.DstPort = uint16(Unsigned(b))
			}
		case opICMPType:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.DstPort = r.DstPort&0xff | uint16(Unsigned(b))<<8
			}
		case opICMPCode:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.DstPort = r.DstPort&0xff00 | uint16(uint8(Unsigned(b)))
			}
		case opInIf:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.InIf = uint32(Unsigned(b))
			}
		case opOutIf:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.OutIf = uint32(Unsigned(b))
			}
		case opSrcAS:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.SrcAS = uint32(Unsigned(b))
			}
		case opDstAS:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.DstAS = uint32(Unsigned(b))
			}
		case opSrcMask:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.SrcMask = uint8(Unsigned(b))
			}
		case opDstMask:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.DstMask = uint8(Unsigned(b))
			}
		case opVLAN:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.VLAN = uint16(Unsigned(b)) & 0xfff
			}
		case opOutVLAN:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.OutVLAN = uint16(Unsigned(b)) & 0xfff
			}
		case opSrcMAC:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.SrcMAC = flow.MAC(b)
			}
		case opDstMAC:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.DstMAC = flow.MAC(b)
			}
		case opDirection:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.Direction = direction(Unsigned(b))
			}
		case opEndReason:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.EndReason = endReason(Unsigned(b))
			}
		case opMPLSLabel:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.MPLSLabel = uint32(b[0])<<12 | uint32(b[1])<<4 | uint32(b[2])>>4
			}
		case opEngineType:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.EngineType = uint8(Unsigned(b))
			}
		case opEngineID:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.EngineID = uint8(Unsigned(b))
			}
		case opStartUptime4, opEndUptime4:
			// NetFlow v9: count back from the export time (see Context.sinceBoot).
			export, up := c.ExportTime, c.Uptime
			start := o.code == opStartUptime4
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, v := (*flow.Record)(unsafe.Add(rb, ro)), be32(unsafe.Add(p, off))
				t := flow.Time(int64(v) * 1e6)
				if c.HasUptime {
					t = export - flow.Time(int64(int32(up-v))*1e6)
				}
				if start {
					r.Start = t
				} else {
					r.End = t
				}
			}
		case opStartUptime:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.Start = c.sinceBoot(Unsigned(b))
			}
		case opEndUptime:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.End = c.sinceBoot(Unsigned(b))
			}
		case opStartSec:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.Start = flow.Time(int64(Unsigned(b)) * 1e9)
			}
		case opEndSec:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.End = flow.Time(int64(Unsigned(b)) * 1e9)
			}
		case opVLAN2:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.VLAN = be16(q) & 0xfff
			}
		case opOutVLAN2:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.OutVLAN = be16(q) & 0xfff
			}
		case opStartMs8:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.Start = flow.Time(int64(be64(q)) * 1e6)
			}
		case opEndMs8:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.End = flow.Time(int64(be64(q)) * 1e6)
			}
		case opStartMs:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.Start = flow.Time(int64(Unsigned(b)) * 1e6)
			}
		case opEndMs:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.End = flow.Time(int64(Unsigned(b)) * 1e6)
			}
		case opStartNTP:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.Start = ntpTime(be64(q))
			}
		case opEndNTP:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				r.End = ntpTime(be64(q))
			}
		case opStartDelta:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.Start = c.ExportTime - flow.Time(int64(Unsigned(b))*1e3)
			}
		case opEndDelta:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.End = c.ExportTime - flow.Time(int64(Unsigned(b))*1e3)
			}
		case opDurationMs:
			for i, off := 0, 0; i < n; i, off = i+1, off+stride {
				q := unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				tmp[i].dur = int64(Unsigned(b)) * 1e6
			}
		case opDurationUs:
			for i, off := 0, 0; i < n; i, off = i+1, off+stride {
				q := unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				tmp[i].dur = int64(Unsigned(b)) * 1e3
			}
		case opSampling:
			for ro, off := uintptr(0), 0; ro < rend; ro, off = ro+rsize, off+stride {
				r, q := (*flow.Record)(unsafe.Add(rb, ro)), unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				r.SamplingInterval = uint32(min(Unsigned(b), 0xffffffff))
			}
		case opSampler:
			// Resolved at once unless the record may carry its own interval (t.pending).
			if tmp == nil {
				c.applySamplers(rs, p, stride, o.n)
				continue
			}
			for i, off := 0, 0; i < n; i, off = i+1, off+stride {
				q := unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				tmp[i].sampler = Unsigned(b)
			}
		case opBoot:
			for i, off := 0, 0; i < n; i, off = i+1, off+stride {
				q := unsafe.Add(p, off)
				b := unsafe.Slice((*byte)(q), o.n)
				tmp[i].boot = int64(Unsigned(b)) * 1e6
			}
		}
	}
	t.finish(rs, tmp, c)
}

// applySamplers sets the sampling interval of each record of rs to the one options records
// gave the sampler its n-byte field names, the fields lying stride bytes apart from p.
func (c *Context) applySamplers(rs []flow.Record, p unsafe.Pointer, stride int, n uint16) {
	ex := c.ex
	if ex == nil {
		return
	}
	// Records of a set mostly name one sampler: it is looked up again only when the ID
	// changes, and then the Context's last lookup answers most.
	gen := ex.gen.Load()
	var id, last uint64
	var rate uint32
	for i, off := 0, 0; i < len(rs); i, off = i+1, off+stride {
		q := unsafe.Add(p, off)
		switch n {
		case 1:
			id = uint64(*(*byte)(q))
		case 2:
			id = uint64(be16(q))
		default:
			id = Unsigned(unsafe.Slice((*byte)(q), n))
		}
		if i == 0 || id != last {
			last = id
			if c.smOK && c.smID == id && c.smHas && c.smDomain == c.Domain && c.smGen == gen {
				rate = c.smRate
			} else {
				rate = c.sampling(id, true)
			}
		}
		rs[i].SamplingInterval = rate
	}
}

// pending holds, per record, what a step found that the finishing pass applies.
type pending struct {
	boot, dur int64
	sampler   uint64
}

// finish applies what needs more than one field: boot-relative times, durations, and the
// sampling interval and interface names from the exporter's options.
func (t *Template) finish(rs []flow.Record, tmp []pending, c *Context) {
	if t.bootOp || (!c.HasUptime && (t.startUptime || t.endUptime)) {
		def := int64(c.BootTime)
		if def == 0 && !c.HasUptime {
			def = c.bootTime()
		}
		for i := range rs {
			r := &rs[i]
			boot := def
			if tmp != nil && tmp[i].boot != 0 {
				boot = tmp[i].boot
			}
			if t.startUptime && !c.HasUptime {
				r.Start = uptimeFromBoot(r.Start, boot)
			}
			if t.endUptime && !c.HasUptime {
				r.End = uptimeFromBoot(r.End, boot)
			}
		}
	}
	if t.durationOp {
		for i := range rs {
			r, d := &rs[i], flow.Time(tmp[i].dur)
			switch {
			case r.Start != 0 && !t.endSet:
				r.End = r.Start + d
			case r.Start == 0 && r.End != 0:
				r.Start = r.End - d
			}
		}
	}
	if ex := c.ex; ex != nil {
		switch {
		case t.samplingOp:
			// The record's own interval wins; then its sampler's, then the domain's.
			rate := c.sampling(0, false)
			for i := range rs {
				r := &rs[i]
				switch {
				case r.SamplingInterval != 0:
				case t.samplerOp:
					r.SamplingInterval = c.sampling(tmp[i].sampler, true)
				default:
					r.SamplingInterval = rate
				}
			}
		case !t.samplerOp:
			// Every record takes the domain's interval; records are cleared, so an
			// unknown one (0) needs no store at all. (A sampler ID alone was resolved as
			// fill read it.)
			if rate := c.sampling(0, false); rate != 0 {
				for i := range rs {
					rs[i].SamplingInterval = rate
				}
			}
		}
		if ex.hasNames.Load() {
			for i := range rs {
				r := &rs[i]
				r.InIfName, r.OutIfName = c.ifName(r.InIf), c.ifName(r.OutIf)
			}
		}
	}
}

// uptimeFromBoot turns a flowStartSysUpTime or flowEndSysUpTime kept as a duration (the
// uptime in nanoseconds) into wall-clock time from the boot time, or 0 without one.
func uptimeFromBoot(up flow.Time, boot int64) flow.Time {
	if boot == 0 {
		return 0
	}
	return flow.Time(boot) + up
}

func direction(v uint64) flow.Direction {
	switch v {
	case 0:
		return flow.Ingress
	case 1:
		return flow.Egress
	}
	return flow.DirectionUnknown
}

func endReason(v uint64) flow.EndReason {
	if v <= uint64(flow.EndLackOfResources) {
		return flow.EndReason(v)
	}
	return flow.EndUnknown
}

// set4 stores an IPv4 address, unless it is 0.0.0.0 and the other family already gave one.
func set4(a *netip.Addr, b []byte) {
	if binary.BigEndian.Uint32(b) != 0 || !a.IsValid() {
		*a = netip.AddrFrom4([4]byte(b))
	}
}

// set16 stores an IPv6 address, unless it is :: and the other family already gave one.
func set16(a *netip.Addr, b []byte) {
	if binary.BigEndian.Uint64(b) != 0 || binary.BigEndian.Uint64(b[8:]) != 0 || !a.IsValid() {
		*a = netip.AddrFrom16([16]byte(b))
	}
}

// be16, be32 and be64 read big-endian values at p, which the caller knows to be inside the
// record: through fixed-size array pointers, with no bounds checks and no alignment assumed.
func be16(p unsafe.Pointer) uint16 { return binary.BigEndian.Uint16((*[2]byte)(p)[:]) }
func be32(p unsafe.Pointer) uint32 { return binary.BigEndian.Uint32((*[4]byte)(p)[:]) }
func be64(p unsafe.Pointer) uint64 { return binary.BigEndian.Uint64((*[8]byte)(p)[:]) }
