package collector

import (
	"fmt"
	"net/netip"

	"github.com/flowkit/flow"
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
	sf   sflow.Parser
	recs []flow.Record
}

func newDecoder(templates *template.Cache) *decoder {
	d := &decoder{recs: make([]flow.Record, 0, 64)}
	d.v9.Cache = templates
	return d
}

// result is what one datagram yielded.
type result struct {
	proto   flow.Protocol
	domain  uint32
	seq     sequence
	recs    []flow.Record // the decoder's buffer: valid until the next decode
	held    int           // data sets held for a template not yet known
	err     error         // a failure, after which records may still have been decoded
	fullErr bool          // err rejected the whole datagram
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
