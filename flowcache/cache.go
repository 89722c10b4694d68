// Package flowcache turns packets into flows: the metering process of an exporter.
//
// Packets go in through [Cache.Update]; flows come out, as [flow.Record]s handed to the
// [Sink] given in the [Config], when one of the IPFIX flowEndReasons applies:
//
//   - idle: no packet for InactiveTimeout ([flow.EndIdle]);
//   - active: the flow has been reported for ActiveTimeout; its counters restart and the
//     entry stays ([flow.EndActive]);
//   - end of flow: a TCP RST, or a FIN seen in both directions, then EndWait more so that
//     the last ACK is counted in the same record ([flow.EndOfFlow]);
//   - forced: [Cache.Flush] and [Cache.Close] ([flow.EndForced]);
//   - lack of resources: a new flow arrives when the cache holds MaxFlows; the flow seen
//     least recently makes room ([flow.EndLackOfResources]).
//
// Time comes from the packets (Packet.Time) or from the caller ([Cache.Expire]); the cache
// never reads the clock, so a capture file replays at file speed and every timeout can be
// tested without sleeping. A timeout of T fires at the first time the cache observes that
// is at least T after its start (last packet, report, or end), never before.
//
// # Memory and speed
//
// Every flow entry is allocated when the cache is created: MaxFlows entries and a hash
// index of twice as many slots. Updating a flow, creating one, expiring and evicting
// allocate nothing. Expiry is O(1) per packet: flows sit on a list ordered by last packet
// (for idle and eviction) and on one ordered by report start or end deadline (for active
// and end of flow), and only list heads are looked at.
//
// # Concurrency
//
// A Cache is split into shards, each with its own lock, entries and lists; a flow's shard
// follows from its key's hash. Any number of goroutines may call Update, Expire, Flush and
// Stats concurrently; goroutines feeding packets of different flows rarely wait for each
// other. The Sink is called with the shard's lock held, from whichever goroutine caused
// the expiry: it must not call back into the cache, and while it blocks (a full channel,
// say) that shard waits, which is how back-pressure reaches the packet source. Each shard
// evicts its own least recently seen flow, an approximation of a global LRU that needs no
// global lock.
//
// [Cache.UpdateBatch] is the faster way in, for a caller that has several packets at hand
// (a capture ring's block): it takes a shard's lock once for each run of consecutive
// packets of that shard, up to 16, rather than once per packet, and before updating
// them loads their index slots and entries together, so that the CPU waits for the
// cache misses of the run at once instead of one after another.
package flowcache

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/flowkit/flow"
)

// Sink receives expired flows. rev is nil unless the cache runs in biflow mode and the
// responder sent packets during the record's period; then fwd describes the initiator's
// direction and rev the responder's (addresses and ports swapped). The records are only
// valid during the call.
type Sink func(fwd, rev *flow.Record)

// Channel returns a Sink that sends copies of the records to ch, fwd before rev. When ch is
// full the send blocks, and with it the shard that expired the flow.
func Channel(ch chan<- flow.Record) Sink {
	return func(fwd, rev *flow.Record) {
		ch <- *fwd
		if rev != nil {
			ch <- *rev
		}
	}
}

// Defaults, next to what other meters use. softflowd (1.1): general/TCP idle 3600 s, UDP
// and ICMP 300 s, 120 s after a RST, 300 s after FINs both ways, maxlife 7 days, 8192 flows.
// YAF: idle 300 s, active 1800 s. ipt-netflow: inactive 15 s, active 1800 s. Cisco IOS:
// inactive 15 s, active 30 min. The idle and active defaults here are Cisco's and
// ipt-netflow's; the end-of-flow wait is short because only the final ACK is still to come.
const (
	DefaultMaxFlows        = 65536
	DefaultInactiveTimeout = 15 * time.Second
	DefaultActiveTimeout   = 30 * time.Minute
	DefaultEndWait         = 2 * time.Second
)

// Config sets up a Cache. The zero value of every field but Sink means its default.
type Config struct {
	// MaxFlows bounds the number of flows held at once (default DefaultMaxFlows). Memory
	// is about 200 bytes per flow, all allocated by New.
	MaxFlows int
	// InactiveTimeout expires a flow that has seen no packet for this long.
	InactiveTimeout time.Duration
	// ActiveTimeout reports a flow that has lasted this long since its last report, and
	// keeps counting it in a new record.
	ActiveTimeout time.Duration
	// EndWait is how long a TCP flow is kept after its end (RST, or FIN both ways) before
	// it is reported. Negative means report at once.
	EndWait time.Duration
	// Key adds fields to the 5-tuple that tells flows apart.
	Key KeyFields
	// Biflow keeps both directions of a conversation in one entry (RFC 5103). The first
	// packet's sender is the initiator; records come to the Sink as forward/reverse pairs.
	Biflow bool
	// SamplingInterval N > 1 meters one packet in N: every Nth, or one chosen at random
	// with probability 1/N when RandomSampling is set. Records carry N in
	// SamplingInterval; their counters are not scaled.
	SamplingInterval uint32
	RandomSampling   bool
	// Shards is the number of independently locked parts (default: GOMAXPROCS rounded up
	// to a power of two). It is rounded up to a power of two.
	Shards int
	// Sink receives the expired flows. Required.
	Sink Sink
}

// Packet is what the cache needs to know of one packet.
type Packet struct {
	// Time is when the packet was seen; it drives every timeout.
	Time flow.Time
	// SrcAddr, DstAddr, SrcPort, DstPort and IPProto are the flow key. For ICMP, put
	// type<<8 | code in DstPort, as NetFlow does.
	SrcAddr, DstAddr netip.Addr
	SrcPort, DstPort uint16
	IPProto          uint8
	// ToS is the IPv4 type of service or IPv6 traffic class.
	ToS uint8
	// TCPFlags are the packet's TCP flags (FIN 0x01, SYN 0x02, RST 0x04, …).
	TCPFlags uint16
	// TTL is the IPv4 TTL or IPv6 hop limit.
	TTL uint8
	// Length is the number of bytes to count: the IP total length, as NetFlow counts.
	Length uint32
	// InIf and OutIf are interface indexes; VLAN, SrcMAC and DstMAC the layer-2 fields.
	InIf, OutIf    uint32
	VLAN           uint16
	SrcMAC, DstMAC flow.MAC
}

// TCP flags the cache acts on.
const (
	tcpFIN = 0x01
	tcpRST = 0x04
)

// Stats counts what a cache has done since it was created.
type Stats struct {
	Flows       int    // flows held now
	Created     uint64 // flow entries created
	Expired     [6]uint64
	Packets     uint64 // packets metered (after sampling)
	Bytes       uint64 // bytes of the packets metered
	SampledOut  uint64 // packets skipped by sampling
	Unparseable uint64 // packets counted with CountUnparseable
}

// ExpiredBy returns how many records were reported for the reason; Expired[EndLackOfResources]
// counts the evictions.
func (s *Stats) ExpiredBy(r flow.EndReason) uint64 {
	if int(r) < len(s.Expired) {
		return s.Expired[r]
	}
	return 0
}

// Cache is a flow cache. Create it with New.
type Cache struct {
	cfg         Config
	shards      []shard
	shardShift  uint // hash >> shardShift picks the shard
	seed        uint64
	sampleCount atomic.Uint64
	sampledOut  atomic.Uint64
	unparseable atomic.Uint64
	closed      atomic.Bool
}

// ErrClosed is returned by Update after Close.
var ErrClosed = errors.New("flowcache: cache is closed")

// New creates a cache and allocates all of its memory.
func New(cfg Config) (*Cache, error) {
	if cfg.Sink == nil {
		return nil, errors.New("flowcache: Config.Sink is required")
	}
	if cfg.MaxFlows == 0 {
		cfg.MaxFlows = DefaultMaxFlows
	}
	if cfg.MaxFlows < 0 || cfg.MaxFlows > 1<<30 {
		return nil, fmt.Errorf("flowcache: MaxFlows %d out of range", cfg.MaxFlows)
	}
	if cfg.InactiveTimeout == 0 {
		cfg.InactiveTimeout = DefaultInactiveTimeout
	}
	if cfg.ActiveTimeout == 0 {
		cfg.ActiveTimeout = DefaultActiveTimeout
	}
	if cfg.EndWait == 0 {
		cfg.EndWait = DefaultEndWait
	} else if cfg.EndWait < 0 {
		cfg.EndWait = 0
	}
	if cfg.InactiveTimeout < 0 || cfg.ActiveTimeout < 0 {
		return nil, errors.New("flowcache: negative timeout")
	}
	n := cfg.Shards
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	n = 1 << bits.Len(uint(n-1)) // round up to a power of two
	n = min(n, 1024, 1<<bits.Len(uint(cfg.MaxFlows-1)))
	cfg.Shards = n
	c := &Cache{cfg: cfg, shards: make([]shard, n), seed: rand.Uint64()}
	c.shardShift = uint(64 - bits.TrailingZeros(uint(n)))
	per := (cfg.MaxFlows + n - 1) / n
	for i := range c.shards {
		c.shards[i].init(c, per)
	}
	return c, nil
}

// Config returns the configuration in effect, defaults filled in.
func (c *Cache) Config() Config { return c.cfg }

// Update meters one packet. It first reports whatever the packet's time makes expire in
// the packet's shard.
func (c *Cache) Update(p *Packet) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if n := c.cfg.SamplingInterval; n > 1 && !c.sampled(n) {
		c.sampledOut.Add(1)
		return nil
	}
	var (
		k key
		m macKey
	)
	fwd := c.keyOf(p, &k, &m)
	h := k.hash(c.macs(&m), c.seed)
	s := c.shardOf(h)
	s.mu.Lock()
	s.update(p, &k, c.macs(&m), h, fwd)
	s.mu.Unlock()
	return nil
}

// batchChunk is how many packets UpdateBatch looks up ahead: enough for the memory
// accesses of the lookups to overlap, few enough that the entries fetched stay in the
// CPU caches until they are updated.
const batchChunk = 16

// UpdateBatch meters packets in order, as Update does with each. It is faster when the
// cache is larger than the CPU caches and packets belong to many flows: it first finds
// where each packet's flow lives, loading the index slots and entries of the whole
// chunk together so that the CPU fetches them in parallel, instead of waiting for one
// cache miss after another.
func (c *Cache) UpdateBatch(ps []Packet) error {
	if c.closed.Load() {
		return ErrClosed
	}
	var (
		keys   [batchChunk]key
		ms     [batchChunk]macKey
		hashes [batchChunk]uint64
		fwds   [batchChunk]bool
		which  [batchChunk]int32
		shards [batchChunk]*shard
	)
	for start := 0; start < len(ps); start += batchChunk {
		n := 0
		for i := start; i < min(start+batchChunk, len(ps)); i++ {
			if sn := c.cfg.SamplingInterval; sn > 1 && !c.sampled(sn) {
				c.sampledOut.Add(1)
				continue
			}
			fwds[n] = c.keyOf(&ps[i], &keys[n], &ms[n])
			hashes[n] = keys[n].hash(c.macs(&ms[n]), c.seed)
			which[n] = int32(i)
			shards[n] = c.shardOf(hashes[n])
			n++
		}
		// Runs of packets of the same shard are done under one lock; packets of one
		// shard keep their order, which is all that matters to their flows.
		for j := 0; j < n; {
			s := shards[j]
			end := j + 1
			for end < n && shards[end] == s {
				end++
			}
			s.mu.Lock()
			s.warm(hashes[j:end])
			for k := j; k < end; k++ {
				s.update(&ps[which[k]], &keys[k], c.macs(&ms[k]), hashes[k], fwds[k])
			}
			s.mu.Unlock()
			j = end
		}
	}
	return nil
}

func (c *Cache) sampled(n uint32) bool {
	if c.cfg.RandomSampling {
		return rand.Uint32N(n) == 0
	}
	return c.sampleCount.Add(1)%uint64(n) == 0
}

func (c *Cache) shardOf(h uint64) *shard {
	if c.shardShift == 64 {
		return &c.shards[0]
	}
	return &c.shards[h>>c.shardShift]
}

// keyOf builds the packet's key, in canonical orientation (lower address and port on the
// a side) so that both directions of a conversation hash alike; fwd tells whether the
// packet travels from the key's a side to its b side. In a unidirectional cache the
// direction is part of the key (famBA); in biflow mode both directions share the entry.
// With KeyMACs, the MACs go to m in the same orientation.
func (c *Cache) keyOf(p *Packet, k *key, m *macKey) (fwd bool) {
	a0, a1, a4 := addrWords(p.SrcAddr)
	b0, b1, b4 := addrWords(p.DstAddr)
	ap, bp := uint64(p.SrcPort), uint64(p.DstPort)
	var fam uint64
	if a4 {
		fam |= famA4
	}
	if b4 {
		fam |= famB4
	}
	// Any fixed total order will do; the low words differ first between most addresses.
	fwd = a1 < b1 || a1 == b1 && (a0 < b0 || a0 == b0 && ap <= bp)
	if !fwd {
		a0, a1, b0, b1, ap, bp = b0, b1, a0, a1, bp, ap
		fam = fam>>1&famA4 | fam<<1&famB4
		if !c.cfg.Biflow {
			fam |= famBA
		}
	}
	*k = key{a0: a0, a1: a1, b0: b0, b1: b1,
		w: ap<<aPortShift | bp<<bPortShift | uint64(p.IPProto)<<protoShift | fam<<famShift}
	if f := c.cfg.Key; f != 0 {
		if f&KeyInIf != 0 {
			k.x = uint64(p.InIf)
		}
		if f&KeyVLAN != 0 {
			k.x |= uint64(p.VLAN) << vlanShift
		}
		if f&KeyToS != 0 {
			k.w |= uint64(p.ToS)
		}
		if f&KeyMACs != 0 {
			*m = macKey{p.SrcMAC, p.DstMAC}
			if !fwd {
				m.a, m.b = m.b, m.a
			}
		}
	}
	return fwd
}

// macs returns m when the MACs are part of the key, nil otherwise.
func (c *Cache) macs(m *macKey) *macKey {
	if c.cfg.Key&KeyMACs != 0 {
		return m
	}
	return nil
}

// Expire reports every flow whose timeout has passed at now. Call it periodically when
// packets may stop arriving (a live interface gone quiet); replaying a file needs no calls,
// packets carry the time.
func (c *Cache) Expire(now time.Time) {
	t := flow.TimeOf(now)
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.advance(t)
		s.mu.Unlock()
	}
}

// Flush reports every flow held, as forced ends, and empties the cache.
func (c *Cache) Flush() {
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		s.flush()
		s.mu.Unlock()
	}
}

// Close flushes the cache; Update returns ErrClosed afterwards.
func (c *Cache) Close() error {
	c.closed.Store(true)
	c.Flush()
	return nil
}

// CountUnparseable adds one to the packets that could not be parsed into a Packet, so
// that Stats shows them next to the others.
func (c *Cache) CountUnparseable() { c.unparseable.Add(1) }

// Stats returns the counters summed over the shards.
func (c *Cache) Stats() Stats {
	var st Stats
	for i := range c.shards {
		s := &c.shards[i]
		s.mu.Lock()
		st.Flows += s.live
		st.Created += s.created
		for r := range st.Expired {
			st.Expired[r] += s.expired[r]
		}
		st.Packets += s.packets
		st.Bytes += s.bytes
		s.mu.Unlock()
	}
	st.SampledOut = c.sampledOut.Load()
	st.Unparseable = c.unparseable.Load()
	return st
}
