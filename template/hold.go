package template

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"time"
)

// holdRing keeps data sets that arrived before their template: routers often send data
// first after a restart, and the template follows within seconds. The sets are copied into
// one buffer used as a ring, allocated once at the first hold, so that holding allocates
// nothing after that and the memory is bounded by Config.HoldBytes. Sets leave in arrival
// order: released when their template comes, expired after Config.HoldTime, or pushed out
// by newer sets when there is no room.
type holdRing struct {
	mu   sync.Mutex
	cfg  *Config
	buf  []byte
	ents []held // circular, oldest at head
	head int
	n    int // entries in ents, live or not
	live atomic.Int64

	total, released, expired, dropped atomic.Uint64
}

type held struct {
	key      Key
	at       time.Time
	off, len int
	live     bool
}

func (h *holdRing) init(cfg *Config) { h.cfg = cfg }

// Hold copies a held set, prefixed by the header of the message it came in (so that it
// can be decoded later with that message's times), to wait for the template of k. It
// reports false when holding is disabled or the set is larger than the whole ring; the
// set is then counted as dropped.
func (c *Cache) Hold(k Key, header, set []byte) bool {
	return c.hold.put(k, header, set, c.now())
}

// Release appends to dst every held set waiting for the template of k, oldest first, each
// as a 4-byte big-endian length followed by the bytes Hold was given (header then set), and
// forgets them. It does nothing, cheaply, when no set is held.
func (c *Cache) Release(k Key, dst []byte) []byte {
	if c.hold.live.Load() == 0 {
		return dst
	}
	return c.hold.release(k, dst, c.now())
}

func (h *holdRing) put(k Key, header, set []byte, now time.Time) bool {
	size := len(header) + len(set)
	if h.cfg.HoldSets < 0 || size > h.cfg.HoldBytes || size == 0 {
		h.dropped.Add(1)
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.buf == nil {
		h.buf = make([]byte, h.cfg.HoldBytes)
		h.ents = make([]held, h.cfg.HoldSets)
	}
	h.expireLocked(now)
	off := -1
	for {
		if h.n < len(h.ents) {
			if off = h.placeLocked(size); off >= 0 {
				break
			}
		}
		h.dropOldestLocked(&h.dropped)
	}
	copy(h.buf[off:], header)
	copy(h.buf[off+len(header):], set)
	h.ents[(h.head+h.n)%len(h.ents)] = held{key: k, at: now, off: off, len: size, live: true}
	h.n++
	h.live.Add(1)
	h.total.Add(1)
	return true
}

// placeLocked returns where a blob of size bytes fits after the newest entry, or -1.
func (h *holdRing) placeLocked(size int) int {
	if h.n == 0 {
		return 0
	}
	oldest := h.ents[h.head]
	newest := h.ents[(h.head+h.n-1)%len(h.ents)]
	start, end := oldest.off, newest.off+newest.len
	if newest.off >= start { // not wrapped: [start, end) is taken
		if len(h.buf)-end >= size {
			return end
		}
		if start >= size {
			return 0
		}
		return -1
	}
	if start-end >= size { // wrapped: [end, start) is free
		return end
	}
	return -1
}

// dropOldestLocked removes the oldest entry, counting it in c when it was still live.
func (h *holdRing) dropOldestLocked(c *atomic.Uint64) {
	e := &h.ents[h.head]
	if e.live {
		e.live = false
		h.live.Add(-1)
		c.Add(1)
	}
	h.head = (h.head + 1) % len(h.ents)
	h.n--
}

// expireLocked drops entries older than HoldTime, and dead entries at the head.
func (h *holdRing) expireLocked(now time.Time) {
	for h.n > 0 {
		e := &h.ents[h.head]
		if e.live && now.Sub(e.at) <= h.cfg.HoldTime {
			return
		}
		h.dropOldestLocked(&h.expired)
	}
}

func (h *holdRing) release(k Key, dst []byte, now time.Time) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.expireLocked(now)
	for i := 0; i < h.n; i++ {
		e := &h.ents[(h.head+i)%len(h.ents)]
		if !e.live || e.key != k {
			continue
		}
		dst = binary.BigEndian.AppendUint32(dst, uint32(e.len))
		dst = append(dst, h.buf[e.off:e.off+e.len]...)
		e.live = false
		h.live.Add(-1)
		h.released.Add(1)
	}
	h.expireLocked(now)
	return dst
}

func (h *holdRing) stats(s *Stats, now time.Time) {
	h.mu.Lock()
	if h.n > 0 {
		h.expireLocked(now)
	}
	for i := 0; i < h.n; i++ {
		if e := h.ents[(h.head+i)%len(h.ents)]; e.live {
			s.Held++
			s.HeldBytes += e.len
		}
	}
	h.mu.Unlock()
	s.HeldTotal, s.Released = h.total.Load(), h.released.Load()
	s.HeldExpired, s.HeldDropped = h.expired.Load(), h.dropped.Load()
}
