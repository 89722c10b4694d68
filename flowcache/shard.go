package flowcache

import (
	"net/netip"
	"sync"

	"github.com/flowkit/flow"
)

// nilIdx marks the end of an intrusive list.
const nilIdx = -1

// dirStats is what one direction of a flow has carried since its last report: 48 bytes,
// the hot half of an entry. The MAC addresses, read only when the flow is reported, are
// kept apart (macs).
type dirStats struct {
	packets, bytes uint64
	first, last    flow.Time // packet times
	inIf, outIf    uint32
	flags          uint16
	vlan           uint16
	minTTL, maxTTL uint8
	tos            uint8
	fin            bool
}

// macs are a direction's MAC addresses, from the first packet of its report period.
type macs struct{ src, dst flow.MAC }

// add counts p. The first packet of a report period also sets what a record takes from
// one packet: interfaces, VLAN, ToS, and the MAC addresses, into m.
func (d *dirStats) add(p *Packet, m *macs) {
	if d.packets == 0 {
		*d = dirStats{
			first: p.Time, last: p.Time, inIf: p.InIf, outIf: p.OutIf, vlan: p.VLAN,
			minTTL: p.TTL, maxTTL: p.TTL, tos: p.ToS,
			fin: d.fin, // the FIN of a flow reported by the active timeout still counts
		}
		*m = macs{p.SrcMAC, p.DstMAC}
	} else {
		d.first = min(d.first, p.Time)
		d.last = max(d.last, p.Time)
		d.minTTL = min(d.minTTL, p.TTL)
		d.maxTTL = max(d.maxTTL, p.TTL)
	}
	d.packets++
	d.bytes += uint64(p.Length)
	d.flags |= p.TCPFlags
}

// entry is one flow, in two cache lines: the key and the time that orders lru in the
// first (all that a lookup and the idle check read), what an update writes in the second (entries are 128 bytes apart from the start of a large, page-aligned
// allocation). A lookup that finds the flow and the update after it touch nothing else of
// the flow but its lru links. Everything read only when the flow is reported (the MACs,
// the reverse direction of a biflow) lives in arrays of its own.
type entry struct {
	key        key       // 48 bytes
	seen       flow.Time // the cache's time at the last packet: orders lru
	initiatorA bool      // biflow: the initiator is the key's a side
	ending     bool      // on the end list rather than the active list
	_          [6]byte   // the second cache line starts here
	since      flow.Time // active list: start of the report period; end list: the deadline
	fwd        dirStats  // the initiator's direction (the only one without Biflow)
	_          [8]byte   // 128 bytes in all
}

// link is a node of an intrusive doubly linked list of entry indexes.
type link struct{ prev, next int32 }

type list struct{ head, tail int32 }

// shard is one independently locked part of a cache.
type shard struct {
	mu      sync.Mutex
	c       *Cache
	slots   []uint64 // tag<<32 | entry index+1; 0 is empty
	mask    uint32
	entries []entry
	fwdMACs []macs     // the MACs of each entry's initiator direction
	keyMACs []macKey   // with KeyMACs, the MAC part of each entry's key
	rev     []dirStats // the responder's direction of each entry, in biflow mode
	revMACs []macs     // and its MACs
	lruL    []link     // links of lru
	tmL     []link     // links of the active list and of the end list (one at a time)
	free    int32      // free entries, linked through lruL
	lru     list       // ordered by seen
	active  list       // ordered by since
	ends    list       // ordered by deadline (since)
	live    int
	now     flow.Time // the latest time observed: monotonic

	warmSum     uint64 // see warm
	created     uint64
	expired     [6]uint64
	packets     uint64
	bytes       uint64
	rec, revRec flow.Record // scratch for the Sink
	_           [64]byte    // keep shards' locks on separate cache lines
}

func (s *shard) init(c *Cache, capacity int) {
	s.c = c
	n := 1
	for n < 2*capacity {
		n <<= 1
	}
	s.slots = make([]uint64, n)
	s.mask = uint32(n - 1)
	s.entries = make([]entry, capacity)
	s.fwdMACs = make([]macs, capacity)
	if c.cfg.Key&KeyMACs != 0 {
		s.keyMACs = make([]macKey, capacity)
	}
	if c.cfg.Biflow {
		s.rev = make([]dirStats, capacity)
		s.revMACs = make([]macs, capacity)
	}
	s.lruL = make([]link, capacity)
	s.tmL = make([]link, capacity)
	for i := range s.lruL {
		s.lruL[i].next = int32(i + 1)
	}
	s.lruL[capacity-1].next = nilIdx
	s.free = 0
	s.lru = list{nilIdx, nilIdx}
	s.active = list{nilIdx, nilIdx}
	s.ends = list{nilIdx, nilIdx}
}

// update meters a packet whose canonical key and hash are k and h; fwd tells whether it
// travels from k's a side to its b side.
func (s *shard) update(p *Packet, k *key, m *macKey, h uint64, fwd bool) {
	s.advance(max(s.now, p.Time))
	s.packets++
	s.bytes += uint64(p.Length)

	idx := s.lookup(k, m, h)
	if idx == nilIdx {
		idx = s.create(k, m, h, fwd)
	} else {
		s.lruMoveToTail(idx)
	}
	e := &s.entries[idx]
	e.seen = s.now
	d := 0
	if s.c.cfg.Biflow && fwd != e.initiatorA {
		d = 1
	}
	if d == 0 {
		e.fwd.add(p, &s.fwdMACs[idx])
	} else {
		s.rev[idx].add(p, &s.revMACs[idx])
	}

	if p.IPProto == 6 && p.TCPFlags&(tcpFIN|tcpRST) != 0 {
		s.tcpEnd(idx, h, d, p.TCPFlags)
	}
}

// tcpEnd handles a FIN or RST: a RST ends the flow; a FIN ends it once the other
// direction has sent one too, which in biflow mode is the same entry and otherwise the
// reverse flow's entry.
func (s *shard) tcpEnd(idx int32, h uint64, d int, flags uint16) {
	e := &s.entries[idx]
	if flags&tcpRST != 0 {
		s.end(idx)
		return
	}
	if d == 0 {
		e.fwd.fin = true
	} else {
		s.rev[idx].fin = true
	}
	if s.c.cfg.Biflow {
		if e.fwd.fin && s.rev[idx].fin {
			s.end(idx)
		}
		return
	}
	// The reverse flow's key differs only in famBA and hashes alike, so it is in this
	// shard, near in the index.
	rk := e.key
	rk.w ^= famBAw
	rm := s.keyMACOf(idx)
	ridx := s.lookup(&rk, rm, h)
	if ridx == nilIdx || !s.entries[ridx].fwd.fin {
		return
	}
	s.end(ridx)
	s.end(idx)
}

// end moves a flow to the end list, to be reported after EndWait.
func (s *shard) end(idx int32) {
	e := &s.entries[idx]
	if e.ending {
		return
	}
	s.unlink(&s.active, idx)
	e.ending = true
	e.since = s.now + flow.Time(s.c.cfg.EndWait) // the deadline, on the end list
	s.link(&s.ends, idx)
	if s.c.cfg.EndWait == 0 {
		s.advance(s.now)
	}
}

// advance moves the shard's time to now and reports what has expired by then.
func (s *shard) advance(now flow.Time) {
	if now > s.now {
		s.now = now
	}
	now = s.now
	idle := flow.Time(s.c.cfg.InactiveTimeout)
	for s.lru.head != nilIdx && now-s.entries[s.lru.head].seen >= idle {
		s.expire(s.lru.head, flow.EndIdle)
	}
	active := flow.Time(s.c.cfg.ActiveTimeout)
	for s.active.head != nilIdx && now-s.entries[s.active.head].since >= active {
		idx := s.active.head
		s.report(idx, flow.EndActive)
		e := &s.entries[idx]
		e.fwd.packets = 0
		if s.rev != nil {
			s.rev[idx].packets = 0
		}
		e.since = now
		s.unlink(&s.active, idx)
		s.link(&s.active, idx)
	}
	for s.ends.head != nilIdx && now >= s.entries[s.ends.head].since {
		s.expire(s.ends.head, flow.EndOfFlow)
	}
}

// flush reports and removes every flow.
func (s *shard) flush() {
	for s.lru.head != nilIdx {
		s.expire(s.lru.head, flow.EndForced)
	}
}

// expire reports a flow and removes it.
func (s *shard) expire(idx int32, why flow.EndReason) {
	s.report(idx, why)
	s.remove(idx)
}

// report hands the flow's current period to the Sink, unless it carried nothing (a flow
// reported by the active timeout and silent since).
func (s *shard) report(idx int32, why flow.EndReason) {
	e := &s.entries[idx]
	hasRev := s.rev != nil && s.rev[idx].packets > 0
	if e.fwd.packets == 0 && !hasRev {
		return
	}
	s.expired[why]++
	s.fill(&s.rec, idx, 0, why)
	var rev *flow.Record
	if hasRev {
		s.fill(&s.revRec, idx, 1, why)
		rev = &s.revRec
	}
	s.c.cfg.Sink(&s.rec, rev)
}

// fill writes direction d of a flow into r.
func (s *shard) fill(r *flow.Record, idx int32, d int, why flow.EndReason) {
	e := &s.entries[idx]
	k := &e.key
	fam := k.fam()
	src, dst := addrFrom(k.a0, k.a1, fam&famA4 != 0), addrFrom(k.b0, k.b1, fam&famB4 != 0)
	sport, dport := k.aPort(), k.bPort()
	// The key is in canonical orientation. A unidirectional flow says its direction in
	// famBA; in a biflow, direction 0 is the initiator's, whichever side that is.
	aIsSrc := fam&famBA == 0
	if s.c.cfg.Biflow {
		aIsSrc = e.initiatorA == (d == 0)
	}
	if !aIsSrc {
		src, dst, sport, dport = dst, src, dport, sport
	}
	ds, m := &e.fwd, &s.fwdMACs[idx]
	if d == 1 {
		ds, m = &s.rev[idx], &s.revMACs[idx]
	}
	// Field by field: a composite literal is built in a temporary and copied with write
	// barriers, which costs more than all the rest. Every field is set, those the cache
	// does not know to zero: the Sink may have changed the record it got last time.
	r.Protocol, r.EngineType, r.EngineID, r.IPProto = flow.Unknown, 0, 0, k.proto()
	r.Domain, r.Exporter = 0, netip.Addr{}
	r.SrcAddr, r.DstAddr = src, dst
	r.NextHop, r.BGPNextHop = netip.Addr{}, netip.Addr{}
	r.Packets, r.Bytes, r.Start, r.End = ds.packets, ds.bytes, ds.first, ds.last
	r.SrcPort, r.DstPort = sport, dport
	r.InIf, r.OutIf, r.MPLSLabel = ds.inIf, ds.outIf, 0
	r.SrcAS, r.DstAS = 0, 0
	r.SamplingInterval = s.c.cfg.SamplingInterval
	r.TCPFlags, r.ToS, r.SrcMask, r.DstMask = ds.flags, ds.tos, 0, 0
	r.VLAN, r.OutVLAN = ds.vlan, 0
	r.SrcMAC, r.DstMAC = m.src, m.dst
	r.Direction, r.EndReason = flow.DirectionUnknown, why
	r.InIfName, r.OutIfName = "", ""
	if r.SamplingInterval == 1 {
		r.SamplingInterval = 0
	}
}

// create takes a free entry for a new flow, evicting the least recently seen flow when
// there is none.
func (s *shard) create(k *key, m *macKey, h uint64, fwd bool) int32 {
	if s.free == nilIdx {
		s.expire(s.lru.head, flow.EndLackOfResources)
	}
	idx := s.free
	e := &s.entries[idx]
	s.free = s.lruL[idx].next
	*e = entry{key: *k, since: s.now, initiatorA: fwd}
	if m != nil {
		s.keyMACs[idx] = *m
	}
	if s.rev != nil {
		s.rev[idx] = dirStats{}
	}
	s.insert(idx, h)
	s.link(&s.lru, idx)
	s.link(&s.active, idx)
	s.live++
	s.created++
	return idx
}

// remove takes a flow out of the table and its lists and frees its entry.
func (s *shard) remove(idx int32) {
	e := &s.entries[idx]
	s.delete(idx, e.key.hash(s.keyMACOf(idx), s.c.seed))
	s.unlink(&s.lru, idx)
	if e.ending {
		s.unlink(&s.ends, idx)
	} else {
		s.unlink(&s.active, idx)
	}
	s.lruL[idx].next = s.free
	s.free = idx
	s.live--
}

// The hash index: open addressing with linear probing over a power-of-two slot array at
// most half full, deletion by backward shift (no tombstones, so probe sequences never
// lengthen with churn). A slot keeps 32 bits of the hash next to the entry index, so a
// probe only touches an entry whose hash matches.

// keyMACOf returns the MAC part of an entry's key, nil when the MACs are not in the key.
func (s *shard) keyMACOf(idx int32) *macKey {
	if s.keyMACs == nil {
		return nil
	}
	return &s.keyMACs[idx]
}

func (s *shard) lookup(k *key, m *macKey, h uint64) int32 {
	tag := uint32(h)
	for i := tag & s.mask; ; i = (i + 1) & s.mask {
		v := s.slots[i]
		if v == 0 {
			return nilIdx
		}
		if uint32(v>>32) == tag {
			idx := int32(uint32(v)) - 1
			if s.entries[idx].key.equal(k) && (m == nil || s.keyMACs[idx] == *m) {
				return idx
			}
		}
	}
}

// warm loads what updating the packets of hashes will touch, without using it, pass by
// pass: the loads of a pass do not depend on each other, so the CPU has them all in
// flight at once. Pass 1 loads the index slots; pass 2 finds each packet's entry by its
// hash tag and loads it and its lru links.
func (s *shard) warm(hashes []uint64) {
	var sum uint64
	for _, h := range hashes {
		sum += s.slots[uint32(h)&s.mask]
	}
	for _, h := range hashes {
		tag := uint32(h)
		for i := tag & s.mask; ; i = (i + 1) & s.mask {
			v := s.slots[i]
			if v == 0 {
				break
			}
			if uint32(v>>32) == tag {
				idx := int32(uint32(v)) - 1
				e := &s.entries[idx]
				sum += e.key.a1 + e.fwd.packets + uint64(s.lruL[idx].next) // both cache lines
				break
			}
		}
	}
	s.warmSum += sum
}

func (s *shard) insert(idx int32, h uint64) {
	tag := uint32(h)
	i := tag & s.mask
	for s.slots[i] != 0 {
		i = (i + 1) & s.mask
	}
	s.slots[i] = uint64(tag)<<32 | uint64(idx+1)
}

func (s *shard) delete(idx int32, h uint64) {
	tag := uint32(h)
	want := uint64(tag)<<32 | uint64(idx+1)
	i := tag & s.mask
	for s.slots[i] != want {
		i = (i + 1) & s.mask
	}
	// Shift back every following slot of the cluster that may move closer to its home.
	for j := (i + 1) & s.mask; s.slots[j] != 0; j = (j + 1) & s.mask {
		home := uint32(s.slots[j]>>32) & s.mask
		// The slot at j may fill the hole at i unless its home lies cyclically in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			s.slots[i] = s.slots[j]
			i = j
		}
	}
	s.slots[i] = 0
}

// Doubly linked lists of entry indexes. lru links through lruL; the active and end lists
// share tmL, an entry being on one of them at a time.

func (s *shard) links(l *list, idx int32) (prev, next *int32) {
	ls := s.tmL
	if l == &s.lru {
		ls = s.lruL
	}
	return &ls[idx].prev, &ls[idx].next
}

func (s *shard) link(l *list, idx int32) {
	prev, next := s.links(l, idx)
	*prev, *next = l.tail, nilIdx
	if l.tail != nilIdx {
		_, tn := s.links(l, l.tail)
		*tn = idx
	} else {
		l.head = idx
	}
	l.tail = idx
}

func (s *shard) unlink(l *list, idx int32) {
	prev, next := s.links(l, idx)
	if *prev != nilIdx {
		_, pn := s.links(l, *prev)
		*pn = *next
	} else {
		l.head = *next
	}
	if *next != nilIdx {
		np, _ := s.links(l, *next)
		*np = *prev
	} else {
		l.tail = *prev
	}
}

func (s *shard) lruMoveToTail(idx int32) {
	if s.lru.tail == idx {
		return
	}
	s.unlink(&s.lru, idx)
	s.link(&s.lru, idx)
}
