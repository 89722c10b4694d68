package collector

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/ipfix"
	"github.com/flowkit/flow/netflow5"
	"github.com/flowkit/flow/netflow9"
	"github.com/flowkit/flow/sflow"
	"github.com/flowkit/flow/template"
)

// decoder decodes datagrams of any protocol. Each receiving goroutine has its own (parsers
// are not safe for concurrent use); they share the template cache, which is.
type decoder struct {
	v5   netflow5.Parser
	v9   netflow9.Parser
	ipfx ipfix.Parser
	sf   sflow.Parser
	recs []flow.Record
}

func newDecoder(templates *template.Cache, seqs *ipfix.Sequences) *decoder {
	d := &decoder{recs: make([]flow.Record, 0, 64)}
	d.v9.Cache = templates
	d.ipfx.Cache, d.ipfx.Sequences = templates, seqs
	return d
}

// result is what one datagram yielded.
type result struct {
	proto  flow.Protocol
	domain uint32
	seq    sequence
	recs   []flow.Record // the decoder's buffer: valid until the next decode
	held   int           // data sets held for a template not yet known
	// IPFIX counts sequence numbers per transport session, in the parser: what this
	// message changed of its figures (lost can go down, when a late message fills a gap).
	seqDelta  bool
	lost      int64
	reordered uint64
	err       error // a failure, after which records may still have been decoded
	fullErr   bool  // err rejected the whole datagram
}

// decode decodes one datagram from an exporter, received at now.
func (d *decoder) decode(msg []byte, from netip.AddrPort, now flow.Time) result {
	res := result{proto: flow.Detect(msg)}
	d.recs = d.recs[:0]
	switch res.proto {
	case flow.NetFlow5:
		h, err := d.v5.Start(msg)
		if err != nil {
			res.err, res.fullErr = err, true
			break
		}
		d.recs = d.v5.AppendFlows(d.recs)
		for i := range d.recs {
			d.recs[i].Exporter = from.Addr() // the only thing v5 does not say itself
		}
		res.domain = uint32(h.EngineType)<<8 | uint32(h.EngineID)
		res.seq = sequence{valid: true, seq: h.FlowSequence, count: uint32(h.Count), records: true}
	case flow.NetFlow9:
		h, err := d.v9.Start(msg, from)
		if err != nil {
			res.err, res.fullErr = err, true
			break
		}
		d.recs = d.v9.AppendFlows(d.recs) // options records teach it sampling rates and names
		res.err, res.held = d.v9.Err(), d.v9.Held()
		res.domain = h.SourceID
		res.seq = sequence{valid: true, seq: h.Sequence, count: 1}
	case flow.IPFIX:
		d.ipfix(msg, template.Session{Exporter: from, Protocol: flow.IPFIX}, &res)
	case flow.SFlow:
		h, err := d.sf.Start(msg)
		if err != nil {
			res.err, res.fullErr = err, true
			break
		}
		d.recs = d.sf.AppendFlows(d.recs)
		// sFlow samples carry no time: they were taken just before the datagram left. An
		// agent that sent no address (type UNKNOWN) is known by where it sent from.
		for i := range d.recs {
			d.recs[i].Start, d.recs[i].End = now, now
			if !h.Agent.IsValid() {
				d.recs[i].Exporter = from.Addr()
			}
		}
		res.err = d.sf.Err()
		res.domain = h.SubAgent
		res.seq = sequence{valid: true, seq: h.Sequence, count: 1}
	default:
		res.err = &flow.ParseError{Protocol: flow.Unknown, What: "datagram", Err: flow.ErrVersion,
			Detail: fmt.Sprintf("first bytes % x are no NetFlow, IPFIX or sFlow version", msg[:min(4, len(msg))])}
		res.fullErr = true
	}
	res.recs = d.recs
	return res
}

// decodeStream decodes one message of an IPFIX stream session (a TCP or TLS connection),
// framed by an ipfix.Reader.
func (d *decoder) decodeStream(msg []byte, s template.Session) result {
	res := result{proto: flow.IPFIX}
	d.recs = d.recs[:0]
	d.ipfix(msg, s, &res)
	res.recs = d.recs
	return res
}

// ipfix decodes an IPFIX message of session s into d.recs: a biflow (RFC 5103) as two
// records, forward then reverse (when the reverse direction counted anything), as the
// exporter's flow cache hands them to NetFlow v9.
func (d *decoder) ipfix(msg []byte, s template.Session, res *result) {
	// The parser keeps the sequence figures of each session and domain; what this message
	// changed of them is the difference with what they were before it.
	var before ipfix.SequenceInfo
	if len(msg) >= ipfix.HeaderLen {
		before, _ = d.ipfx.Sequences.Get(ipfix.SequenceKey{Session: s, Domain: binary.BigEndian.Uint32(msg[12:])})
	}
	h, err := d.ipfx.StartSession(msg, s)
	res.domain = h.Domain
	if err != nil {
		res.err, res.fullErr = err, true
		return
	}
	// Options records are applied to the cache as they are read (sampling rates, interface
	// names); biflows come as forward then reverse.
	d.recs = d.ipfx.AppendFlows(d.recs)
	res.err, res.held = d.ipfx.Err(), d.ipfx.Held()
	if after, ok := d.ipfx.Sequence(); ok {
		res.seqDelta = true
		res.lost, res.reordered = after.Lost-before.Lost, after.Reordered-before.Reordered
	}
}
