package collector

import (
	"errors"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/template"
)

// Errors counts decoding failures by kind, as the flow package's sentinels tell them.
type Errors struct {
	Truncated uint64 `json:"truncated"`
	Version   uint64 `json:"version"` // unknown protocol or version
	Malformed uint64 `json:"malformed"`
	Limit     uint64 `json:"limit"`
	Template  uint64 `json:"template"`
	Other     uint64 `json:"other"`
}

// Total is the sum of all kinds.
func (e Errors) Total() uint64 {
	return e.Truncated + e.Version + e.Malformed + e.Limit + e.Template + e.Other
}

// ExporterStats are the counters of one exporter and observation domain (NetFlow v5:
// engine; v9: source ID; IPFIX: observation domain; sFlow: sub-agent).
type ExporterStats struct {
	Exporter netip.Addr    `json:"exporter"`
	Protocol flow.Protocol `json:"protocol"`
	Domain   uint32        `json:"domain"`
	// Datagrams counts datagrams (or stream messages) received; Records the flow records
	// decoded from them.
	Datagrams uint64 `json:"datagrams"`
	Records   uint64 `json:"records"`
	// TemplateMisses counts data sets that arrived before their template (held by the
	// template cache, and decoded if the template comes in time).
	TemplateMisses uint64 `json:"template_misses"`
	// Errors counts datagrams that failed to decode, in whole or in part.
	Errors Errors `json:"errors"`
	// LostRecords (NetFlow v5, IPFIX) and LostPackets (NetFlow v9, sFlow) count what the
	// exporter's sequence numbers say never arrived: the protocols number records and
	// datagrams respectively. Reordered counts datagrams whose sequence number went back.
	// IPFIX numbers records per transport session and domain (each UDP source port, each
	// TCP connection), as the ipfix package counts them: there a late message takes its
	// records back off LostRecords.
	LostRecords uint64 `json:"lost_records"`
	LostPackets uint64 `json:"lost_packets"`
	Reordered   uint64 `json:"reordered"`
	// LastSeen is when the last datagram arrived.
	LastSeen time.Time `json:"last_seen"`
	// Reported is what the exporter's own statistics options records said last (RFC 7011
	// section 4: messages and records it sent, packets it ignored or could not send), for
	// the IPFIX and NetFlow v9 exporters that send them, while the template cache keeps
	// their session (a stream's ends with its connection); nil otherwise.
	Reported *template.ExporterStatistics `json:"reported,omitempty"`
}

// Stats are a collector's counters.
type Stats struct {
	Datagrams uint64          `json:"datagrams"`
	Records   uint64          `json:"records"`
	Bytes     uint64          `json:"bytes"`
	Errors    Errors          `json:"errors"`
	Streams   StreamStats     `json:"streams"`
	Exporters []ExporterStats `json:"exporters"`
}

// StreamStats count the IPFIX stream sessions (TCP and TLS connections).
type StreamStats struct {
	Open     uint64 `json:"open"`     // connections open now
	Accepted uint64 `json:"accepted"` // connections served, since the start
	// Refused counts connections closed at once because MaxConnections were open.
	Refused uint64 `json:"refused"`
	// Handshakes counts TLS handshakes that failed (or took longer than HandshakeTimeout).
	Handshakes uint64 `json:"handshake_failures"`
	// Broken counts connections closed for what they sent: a stream that lost its framing
	// (not IPFIX, a length shorter than a header, cut inside a message) or a template
	// redefined without a withdrawal (RFC 7011 section 8.1 asks for a reset).
	Broken uint64 `json:"broken"`
	// Idle counts connections closed because nothing came for IdleTimeout.
	Idle uint64 `json:"idle"`
}

type streamCounters struct {
	open, accepted, refused, handshakes, broken, idle atomic.Uint64
}

func (c *streamCounters) snapshot() StreamStats {
	return StreamStats{c.open.Load(), c.accepted.Load(), c.refused.Load(), c.handshakes.Load(), c.broken.Load(), c.idle.Load()}
}

type exporterKey struct {
	addr   netip.Addr
	proto  flow.Protocol
	domain uint32
}

// exporterState holds one exporter's counters. Counters are atomic, as several sockets
// may receive from one exporter; the sequence state has a lock of its own.
type exporterState struct {
	key            exporterKey
	datagrams      atomic.Uint64
	records        atomic.Uint64
	templateMisses atomic.Uint64
	errs           errorCounters
	lostRecords    atomic.Int64 // IPFIX takes back records that arrive late
	lostPackets    atomic.Uint64
	reordered      atomic.Uint64
	lastSeen       atomic.Int64

	mu      sync.Mutex
	seqSeen bool
	nextSeq uint32 // the sequence number the next datagram should carry
}

type errorCounters struct {
	truncated, version, malformed, limit, template, other atomic.Uint64
}

func (c *errorCounters) add(err error) {
	switch {
	case errors.Is(err, flow.ErrTruncated):
		c.truncated.Add(1)
	case errors.Is(err, flow.ErrVersion):
		c.version.Add(1)
	case errors.Is(err, flow.ErrMalformed):
		c.malformed.Add(1)
	case errors.Is(err, flow.ErrLimit):
		c.limit.Add(1)
	case errors.Is(err, flow.ErrTemplate):
		c.template.Add(1)
	default:
		c.other.Add(1)
	}
}

func (c *errorCounters) snapshot() Errors {
	return Errors{c.truncated.Load(), c.version.Load(), c.malformed.Load(), c.limit.Load(), c.template.Load(), c.other.Load()}
}

// sequence is what a datagram says of its place in the exporter's numbering: seq is the
// number it carries; count how far the next one should be (records for NetFlow v5 and
// IPFIX, 1 for NetFlow v9 and sFlow, which number datagrams).
type sequence struct {
	valid   bool
	seq     uint32
	count   uint32
	records bool // the numbering counts records, not datagrams
}

// account checks a datagram's sequence number against the one expected. A jump forward
// of less than 2^31 is loss; a jump back, reordering (or a restart, which looks alike).
func (s *exporterState) account(q sequence) {
	if !q.valid {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seqSeen {
		switch d := int32(q.seq - s.nextSeq); {
		case d > 0:
			if q.records {
				s.lostRecords.Add(int64(d))
			} else {
				s.lostPackets.Add(uint64(d))
			}
		case d < 0:
			s.reordered.Add(1)
			return // keep expecting what was expected: the late one does not move it back
		}
	}
	s.seqSeen = true
	s.nextSeq = q.seq + q.count
}

func (s *exporterState) snapshot() ExporterStats {
	var last time.Time
	if ns := s.lastSeen.Load(); ns != 0 {
		last = time.Unix(0, ns).UTC()
	}
	return ExporterStats{
		Exporter: s.key.addr, Protocol: s.key.proto, Domain: s.key.domain,
		Datagrams: s.datagrams.Load(), Records: s.records.Load(), TemplateMisses: s.templateMisses.Load(),
		Errors: s.errs.snapshot(), LostRecords: uint64(max(0, s.lostRecords.Load())), LostPackets: s.lostPackets.Load(),
		Reordered: s.reordered.Load(), LastSeen: last,
	}
}

// registry maps exporters to their state. Lookups take a read lock; the write lock only
// when an exporter is seen for the first time. It holds at most maxExporters, so that a
// flood of spoofed sources cannot grow it without bound; beyond that, the datagrams of
// new exporters are counted in the totals only.
type registry struct {
	mu        sync.RWMutex
	exporters map[exporterKey]*exporterState
	max       int

	datagrams atomic.Uint64
	records   atomic.Uint64
	bytes     atomic.Uint64
	errs      errorCounters
	streams   streamCounters
}

func newRegistry(max int) *registry {
	return &registry{exporters: map[exporterKey]*exporterState{}, max: max}
}

func (r *registry) get(k exporterKey) *exporterState {
	r.mu.RLock()
	s := r.exporters[k]
	r.mu.RUnlock()
	if s != nil {
		return s
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s = r.exporters[k]; s == nil && len(r.exporters) < r.max {
		s = &exporterState{key: k}
		r.exporters[k] = s
	}
	return s
}

// attachReported gives each exporter in st the statistics the template cache holds from
// its options records: of its latest report, when several of its sessions (UDP source
// ports, connections) sent some.
func attachReported(st *Stats, templates *template.Cache) {
	var reported map[exporterKey]template.ExporterStatistics
	for k, s := range templates.AllExporterStatistics() {
		ek := exporterKey{k.Session.Exporter.Addr().Unmap(), k.Session.Protocol, k.Domain}
		if reported == nil {
			reported = map[exporterKey]template.ExporterStatistics{}
		}
		if old, ok := reported[ek]; !ok || s.At >= old.At {
			reported[ek] = s
		}
	}
	for i := range st.Exporters {
		e := &st.Exporters[i]
		if s, ok := reported[exporterKey{e.Exporter, e.Protocol, e.Domain}]; ok {
			e.Reported = &s
		}
	}
}

func (r *registry) snapshot() Stats {
	st := Stats{Datagrams: r.datagrams.Load(), Records: r.records.Load(), Bytes: r.bytes.Load(), Errors: r.errs.snapshot(),
		Streams: r.streams.snapshot()}
	r.mu.RLock()
	for _, s := range r.exporters {
		st.Exporters = append(st.Exporters, s.snapshot())
	}
	r.mu.RUnlock()
	slices.SortFunc(st.Exporters, func(a, b ExporterStats) int {
		if c := a.Exporter.Compare(b.Exporter); c != 0 {
			return c
		}
		if a.Protocol != b.Protocol {
			return int(a.Protocol) - int(b.Protocol)
		}
		return int(int64(a.Domain) - int64(b.Domain))
	})
	return st
}
