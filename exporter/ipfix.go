package exporter

import (
	"encoding/binary"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/ipfix"
)

// ipfixEncoder exports IPFIX: records one by one or as RFC 5103 biflows, templates with the
// first records that need them and on refresh, and the whole template set as the greeting
// of every stream connection.
type ipfixEncoder struct{ b ipfix.Builder }

func newIPFIXEncoder(cfg *Config) (encoder, error) {
	return &ipfixEncoder{b: ipfix.Builder{Domain: cfg.Domain, MaxSize: cfg.MTU,
		TemplateRefresh: cfg.TemplateRefresh, TemplateInterval: cfg.TemplateInterval,
		SamplingInterval: cfg.Cache.SamplingInterval, SamplingAlgorithm: samplingAlgorithm(cfg.Cache.RandomSampling)}}, nil
}

func (e *ipfixEncoder) start(dst []byte, now time.Time)       { e.b.Start(dst, now) }
func (e *ipfixEncoder) add(r *flow.Record) error              { return e.b.AddFlow(r) }
func (e *ipfixEncoder) addBiflow(fwd, rev *flow.Record) error { return e.b.AddBiflow(fwd, rev) }
func (e *ipfixEncoder) finish() []byte                        { return e.b.Finish() }
func (e *ipfixEncoder) count() int                            { return e.b.Len() }

// templates is the greeting of a stream connection: IPFIX over TCP scopes templates to the
// connection (RFC 7011 section 8), so a new one starts with every template.
//
// The greeting's messages carry no data records, so their sequence number must be that of
// the message after them: next, when messages built before the connection wait for it (a
// collector would take them for reordered otherwise), else the Builder's.
func (e *ipfixEncoder) templates(now time.Time, next []byte) []byte {
	g := e.b.Templates(nil, now)
	if len(next) < ipfix.HeaderLen || binary.BigEndian.Uint32(next[12:]) != e.b.Domain {
		return g
	}
	seq := binary.BigEndian.Uint32(next[8:])
	for m := g; len(m) >= ipfix.HeaderLen; {
		binary.BigEndian.PutUint32(m[8:], seq)
		l := int(binary.BigEndian.Uint16(m[2:]))
		if l < ipfix.HeaderLen || l > len(m) {
			break
		}
		m = m[l:]
	}
	return g
}
