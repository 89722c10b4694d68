// Package exporter turns packets into flow exports on the wire: the flow cache, an
// encoder and transports to one or more collectors, in a few lines.
//
//	e, err := exporter.New(exporter.Config{
//		Protocol:     flow.IPFIX,
//		Destinations: []exporter.Destination{{Address: "192.0.2.10:4739"}},
//	})
//	src, err := capture.OpenLive(capture.LiveConfig{Interface: "eth0"})
//	err = e.Run(ctx, src) // until ctx ends or src is exhausted; then Close
//
// For NetFlow v5, NetFlow v9 and IPFIX, packets are metered into flows by a
// [flowcache.Cache] whose expired records are encoded into messages packed up to the MTU,
// with templates refreshed by packet count and time, and sent to every destination.
// Programs that meter flows themselves hand records to [Exporter.Record]. For sFlow,
// packets are sampled 1 in N and sent as flow samples carrying their headers, with counter
// samples on an interval.
//
// Time comes from the packets: a capture file replays as fast as it can be read and
// produces what a live capture of the same traffic would. [Exporter.Tick] advances time
// when no packet does (a quiet live interface); Run calls it on capture timeouts.
//
// The exporter's own messages never enter its flow cache: packets to or from a
// destination's address and port, seen on the capture, are counted and skipped.
package exporter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/capture"
	"github.com/flowkit/flow/flowcache"
	"github.com/flowkit/flow/netflow5"
	"github.com/flowkit/flow/netflow9"
	"github.com/flowkit/flow/packet"
)

// Config sets up an Exporter.
type Config struct {
	// Protocol is flow.NetFlow5, flow.NetFlow9, flow.IPFIX or flow.SFlow.
	Protocol flow.Protocol
	// Destinations are the collectors; every message goes to each.
	Destinations []Destination
	// Output, when set, also receives every finished message (for a file, a test, a
	// protocol the exporter does not speak). The slice is reused after it returns.
	Output func(msg []byte)
	// Cache configures the flow cache (timeouts, size, key, biflow, sampling); its Sink
	// is the exporter's. Unused for sFlow.
	Cache flowcache.Config
	// Domain identifies the exporting process: the IPFIX observation domain, the NetFlow
	// v9 source ID, the sFlow sub-agent, or for NetFlow v5 engine type<<8 | engine ID.
	Domain uint32
	// MTU bounds a message in bytes (default 1400). NetFlow v5 also stops at 30 records.
	MTU int
	// TemplateRefresh and TemplateInterval resend NetFlow v9 and IPFIX templates over
	// UDP every so many messages (default 20) and so often (default 1 minute).
	TemplateRefresh  int
	TemplateInterval time.Duration
	// FlushInterval bounds how long expired records wait in a message that is not full
	// (default 1 s of packet time).
	FlushInterval time.Duration
	// SendBuffer bounds, in bytes, the messages waiting for each TCP or TLS destination
	// (default 4 MiB); beyond it, messages are dropped and counted.
	SendBuffer int
	// SamplingRate is sFlow's 1-in-N packet sampling (required for sFlow).
	// RandomSampling picks packets at random with probability 1/N rather than every Nth.
	SamplingRate   uint32
	RandomSampling bool
	// CounterInterval is how often sFlow counter samples are sent (default 20 s).
	CounterInterval time.Duration
	// Agent is the sFlow agent address (default: the first destination's local address).
	Agent netip.Addr
	// HeaderBytes is how much of a sampled packet sFlow carries (default 128).
	HeaderBytes int
	// Decap looks inside tunnels for the flow key (see the packet package).
	Decap packet.Decap
	// Logger receives connection problems and lifecycle messages (default slog.Default()).
	Logger *slog.Logger
}

// Stats counts what an exporter has done.
type Stats struct {
	Packets      uint64           `json:"packets"`     // packets handed to Packet
	Unparseable  uint64           `json:"unparseable"` // packets without an IP header to meter
	OwnTraffic   uint64           `json:"own_traffic"` // the exporter's own messages seen on the capture
	Sampled      uint64           `json:"sampled"`     // sFlow: packets sampled
	Records      uint64           `json:"records"`     // flow records encoded (sFlow: flow samples)
	Unencodable  uint64           `json:"unencodable"` // records the protocol cannot carry (IPv6 in NetFlow v5)
	Messages     uint64           `json:"messages"`    // messages finished
	Cache        flowcache.Stats  `json:"cache"`
	Destinations []TransportStats `json:"destinations"`
}

// Exporter meters, encodes and sends. Create it with New; it is safe for concurrent use.
type Exporter struct {
	cfg     Config
	log     *slog.Logger
	cache   *flowcache.Cache
	dests   []transport
	parsers sync.Pool // *packet.Packet

	mu     sync.Mutex // guards the encoder and the message being built
	enc    encoder
	buf    []byte
	open   bool
	opened flow.Time // packet time at which the open message got its first record
	now    flow.Time // the latest packet time seen
	closed bool
	sflow  *sflowState

	packets, unparseable, own, sampled, records, unencodable, messages atomic.Uint64

	// first is the time of the first packet or record (0 before it), from which NetFlow
	// v5 and v9 count their sysUptime; booted tells that the encoder got it.
	first  atomic.Int64
	booted bool
}

// New sets up the exporter: the flow cache, the encoder, and the transports (UDP ones
// are ready at once; TCP and TLS ones connect in the background and keep trying).
func New(cfg Config) (*Exporter, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MTU <= 0 {
		cfg.MTU = 1400
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = time.Second
	}
	if cfg.SendBuffer <= 0 {
		cfg.SendBuffer = 4 << 20
	}
	if cfg.HeaderBytes <= 0 {
		cfg.HeaderBytes = 128
	}
	if cfg.CounterInterval <= 0 {
		cfg.CounterInterval = 20 * time.Second
	}
	if len(cfg.Destinations) == 0 && cfg.Output == nil {
		return nil, errors.New("exporter: no Destinations and no Output")
	}
	e := &Exporter{cfg: cfg, log: cfg.Logger, buf: make([]byte, 0, cfg.MTU+64)}
	e.parsers.New = func() any { return new(packet.Packet) }
	var err error
	switch cfg.Protocol {
	case flow.NetFlow5:
		e.enc = &v5Encoder{b: netflow5.Builder{EngineType: uint8(cfg.Domain >> 8), EngineID: uint8(cfg.Domain)}}
	case flow.NetFlow9:
		e.enc = &v9Encoder{b: netflow9.Builder{SourceID: cfg.Domain, MaxSize: cfg.MTU,
			TemplateRefresh: cfg.TemplateRefresh, TemplateInterval: cfg.TemplateInterval,
			SamplingInterval: cfg.Cache.SamplingInterval, SamplingAlgorithm: samplingAlgorithm(cfg.Cache.RandomSampling)}}
	case flow.IPFIX:
		e.enc, err = newIPFIXEncoder(&cfg)
	case flow.SFlow:
		if cfg.SamplingRate == 0 {
			return nil, errors.New("exporter: sFlow needs a SamplingRate")
		}
	default:
		return nil, fmt.Errorf("exporter: protocol %v not supported", cfg.Protocol)
	}
	if err != nil {
		return nil, err
	}
	for _, d := range cfg.Destinations {
		t, err := e.dial(d)
		if err != nil {
			e.closeTransports(context.Background())
			return nil, err
		}
		e.dests = append(e.dests, t)
	}
	if cfg.Protocol == flow.SFlow {
		e.sflow = newSFlow(&e.cfg, e.dests)
		return e, nil
	}
	cc := cfg.Cache
	cc.Sink = e.sink
	e.cache, err = flowcache.New(cc)
	if err != nil {
		e.closeTransports(context.Background())
		return nil, fmt.Errorf("exporter: %w", err)
	}
	return e, nil
}

func samplingAlgorithm(random bool) uint8 {
	if random {
		return 2
	}
	return 1
}

func (e *Exporter) dial(d Destination) (transport, error) {
	switch d.Transport {
	case "", "udp":
		return dialUDP(d.Address)
	case "tcp", "tls":
		if e.cfg.Protocol != flow.IPFIX {
			return nil, errStreamProtocol
		}
		return newStream(d, e.cfg.SendBuffer, e.greeting, e.log), nil
	}
	return nil, fmt.Errorf("exporter: unknown transport %q", d.Transport)
}

// greeting returns what a new stream connection must carry first: the templates. next
// returns the message the connection sends after them (nil: none yet).
func (e *Exporter) greeting(next func() []byte) []byte {
	g, ok := e.enc.(greeter)
	if !ok {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	// Messages queued before the connection was made were numbered before the greeting,
	// and go out after it; next is looked at under e.mu, after the greeting is built, so
	// that no message can be queued in between.
	return g.templates(time.Unix(0, int64(e.now)), next())
}

// Packet meters one captured frame (starting with its Ethernet header) seen at t on the
// interface inIf. Packets without an IP header are counted and skipped.
func (e *Exporter) Packet(frame []byte, wireLen int, t flow.Time, inIf uint32) {
	var p flowcache.Packet
	if e.meter(frame, wireLen, t, inIf, &p) {
		e.cache.Update(&p)
		e.tick(t)
	}
}

// meter counts a frame and, when the flow cache is to meter it, parses it into p and
// reports true. Frames without an IP header and the exporter's own messages are counted
// and skipped; with sFlow the frame is sampled here and false returned.
func (e *Exporter) meter(frame []byte, wireLen int, t flow.Time, inIf uint32, p *flowcache.Packet) bool {
	e.packets.Add(1)
	pp := e.parsers.Get().(*packet.Packet)
	defer e.parsers.Put(pp)
	pp.Parse(frame, packet.Ethernet, &packet.Options{Decap: e.cfg.Decap})
	if pp.IPVersion == 0 {
		e.unparseable.Add(1)
		if e.cache != nil {
			e.cache.CountUnparseable()
		}
		return false
	}
	if e.ownTraffic(pp) {
		e.own.Add(1)
		return false
	}
	if e.sflow != nil {
		e.samplePacket(frame, wireLen, t, inIf, pp)
		e.sflowTick(t)
		return false
	}
	if e.first.Load() == 0 {
		e.first.CompareAndSwap(0, int64(t))
	}
	*p = flowcache.Packet{}
	p.FromParsed(pp, t)
	p.InIf = inIf
	return true
}

// ownTraffic tells whether a packet is one of the exporter's messages (or the collector's
// TCP answers): its transport endpoints are those of a destination's connection.
func (e *Exporter) ownTraffic(pp *packet.Packet) bool {
	if pp.Proto != packet.ProtoUDP && pp.Proto != packet.ProtoTCP {
		return false
	}
	src := netip.AddrPortFrom(pp.SrcAddr.Unmap(), pp.SrcPort)
	dst := netip.AddrPortFrom(pp.DstAddr.Unmap(), pp.DstPort)
	for _, d := range e.dests {
		r := d.remote()
		if r.IsValid() && (dst == r || src == r) {
			l := d.local()
			if !l.IsValid() || l.Port() == 0 || src.Port() == l.Port() || dst.Port() == l.Port() {
				return true
			}
		}
	}
	return false
}

// Record encodes a flow record the caller metered itself (its Exporter, Domain and
// sampling fields are the exporter's business and are not read). Not for sFlow.
//
// NetFlow v5 and v9 count time from the exporter's boot, which is the whole second before
// the first packet or record it saw: hand records over in time order, as a record that
// started before that reads, modulo 2^32 milliseconds, as 49.7 days old.
func (e *Exporter) Record(r *flow.Record) error {
	if e.sflow != nil {
		return errors.New("exporter: sFlow exports packet samples, not records")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if r.End > e.now {
		e.now = r.End
	}
	if t := cmp.Or(r.Start, r.End); t != 0 && e.first.Load() == 0 {
		e.first.Store(int64(t))
	}
	e.encode(r, nil)
	return nil
}

// sink receives the cache's expired flows (with the cache shard's lock held).
func (e *Exporter) sink(fwd, rev *flow.Record) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.encode(fwd, rev)
}

// encode appends records to the open message, sending it when full. e.mu is held.
func (e *Exporter) encode(fwd, rev *flow.Record) {
	if e.closed {
		return
	}
	if _, ok := e.enc.(biflowEncoder); ok && rev != nil {
		e.addRecord(fwd, rev)
		return
	}
	e.addRecord(fwd, nil)
	if rev != nil {
		e.addRecord(rev, nil)
	}
}

// addRecord adds one record, or one biflow when rev is not nil, starting a new message
// when the open one is full. e.mu is held.
func (e *Exporter) addRecord(r, rev *flow.Record) {
	now := time.Unix(0, int64(e.now))
	if b, ok := e.enc.(booter); ok && !e.booted {
		// NetFlow's record times are sysUptime milliseconds, read back from the header's
		// modulo 2^32: a flow that started before the boot time would read as 49.7 days
		// old. The exporter "boots" at the whole second before the first packet it saw.
		b.setBoot(time.Unix(0, cmp.Or(e.first.Load(), int64(e.now))).Truncate(time.Second))
		e.booted = true
	}
	for attempt := 0; attempt < 2; attempt++ {
		if !e.open {
			e.enc.start(e.buf[:0], now)
			e.open, e.opened = true, e.now
		}
		var err error
		if rev != nil {
			err = e.enc.(biflowEncoder).addBiflow(r, rev)
		} else {
			err = e.enc.add(r)
		}
		switch {
		case err == nil:
			e.records.Add(1)
			return
		case errors.Is(err, flow.ErrFull) && e.enc.count() > 0:
			e.sendLocked() // and try again in a new message
		default:
			e.unencodable.Add(1) // the protocol cannot carry it, or it fits no message
			return
		}
	}
}

// sendLocked finishes the open message and sends it. e.mu is held.
func (e *Exporter) sendLocked() {
	if e.sflow != nil {
		e.sendSFlow()
		return
	}
	if !e.open {
		return
	}
	e.open = false
	if e.enc.count() == 0 {
		e.enc.finish() // nothing to send; let the builder reset
		return
	}
	msg := e.enc.finish()
	e.messages.Add(1)
	e.deliver(msg)
	e.buf = msg[:0]
}

func (e *Exporter) deliver(msg []byte) {
	if e.cfg.Output != nil {
		e.cfg.Output(msg)
	}
	for _, d := range e.dests {
		d.send(msg)
	}
}

// tick runs the work due at packet time t: a partly filled message older than the flush
// interval goes out; sFlow counters when due.
func (e *Exporter) tick(t flow.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t > e.now {
		e.now = t
	}
	if e.open && e.now-e.opened >= flow.Time(e.cfg.FlushInterval) {
		e.sendLocked()
	}
}

// Tick advances time without a packet: flows whose timeouts passed by now are exported,
// and messages waiting too long are sent. Call it periodically on a live capture that may
// go quiet; Run does.
func (e *Exporter) Tick(now time.Time) {
	t := flow.TimeOf(now)
	if e.cache != nil {
		e.cache.Expire(now)
	}
	if e.sflow != nil {
		e.sflowTick(t)
	}
	e.tick(t)
}

// Run reads packets from src until ctx ends or src is exhausted (io.EOF), then closes the
// exporter, flushing every flow. On a capture timeout it calls Tick with the wall clock.
func (e *Exporter) Run(ctx context.Context, src capture.Source) error {
	defer e.Close()
	// Packets reach the flow cache runBatch at a time: UpdateBatch finds a batch's flows
	// together, so that their cache misses overlap, and time advances once per batch.
	// A frame is only valid until the next read, so each is parsed as it comes; a batch
	// waits for at most a capture poll interval (a timeout flushes it).
	var batch [runBatch]flowcache.Packet
	n := 0
	flush := func() {
		if n > 0 {
			e.cache.UpdateBatch(batch[:n])
			e.tick(batch[n-1].Time)
			n = 0
		}
	}
	defer flush()
	for ctx.Err() == nil {
		p, err := src.ReadPacket()
		switch {
		case err == nil:
			if e.meter(p.Data, p.Length, p.Time, uint32(p.IfIndex), &batch[n]) {
				if n++; n == len(batch) {
					flush()
				}
			}
		case errors.Is(err, capture.ErrTimeout):
			flush()
			e.Tick(time.Now())
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
	return nil
}

// runBatch is how many packets Run hands the flow cache at once.
const runBatch = 16

// Flush exports every flow in the cache now (forced end) and sends the open message.
func (e *Exporter) Flush() {
	if e.cache != nil {
		e.cache.Flush()
	}
	e.mu.Lock()
	e.sendLocked()
	e.mu.Unlock()
}

// Close flushes and sends everything, waits up to 5 seconds for stream destinations to
// take their queues, and closes the transports.
func (e *Exporter) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.mu.Unlock()
	if e.cache != nil {
		e.cache.Close()
	}
	e.mu.Lock()
	if e.sflow != nil {
		e.sflowCounters()
	}
	e.sendLocked()
	e.closed = true
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	e.closeTransports(ctx)
	return nil
}

func (e *Exporter) closeTransports(ctx context.Context) {
	var wg sync.WaitGroup
	for _, d := range e.dests {
		wg.Add(1)
		go func() { defer wg.Done(); d.close(ctx) }()
	}
	wg.Wait()
}

// Stats returns the exporter's counters.
func (e *Exporter) Stats() Stats {
	st := Stats{
		Packets: e.packets.Load(), Unparseable: e.unparseable.Load(), OwnTraffic: e.own.Load(),
		Sampled: e.sampled.Load(), Records: e.records.Load(), Unencodable: e.unencodable.Load(),
		Messages: e.messages.Load(),
	}
	if e.cache != nil {
		st.Cache = e.cache.Stats()
	}
	for _, d := range e.dests {
		st.Destinations = append(st.Destinations, d.stats())
	}
	return st
}

// Local returns the local address of each destination's socket (streams: of the current
// connection), in the order of Config.Destinations.
func (e *Exporter) Local() []netip.AddrPort {
	out := make([]netip.AddrPort, len(e.dests))
	for i, d := range e.dests {
		out[i] = d.local()
	}
	return out
}
