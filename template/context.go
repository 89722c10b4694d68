package template

import (
	"net/netip"

	"github.com/flowkit/flow"
)

// Context is what decoding a data record needs besides the record: who sent it, the times
// of the message it came in, and the sampling and interface names the exporter's options
// records announced. A codec keeps one per parser, sets its exported fields for every
// message, and binds it to the cache with [Cache.Bind]; reusing it allocates nothing.
type Context struct {
	Protocol flow.Protocol
	Exporter netip.Addr
	// Domain is the observation domain ID or NetFlow v9 source ID of the message.
	Domain uint32
	// ExportTime is the message's export time.
	ExportTime flow.Time
	// Uptime is the exporter's uptime in milliseconds at ExportTime, for NetFlow v9
	// (HasUptime true): sysUptime-relative record times count back from it.
	Uptime    uint32
	HasUptime bool
	// BootTime is the exporter's boot time when known otherwise (IPFIX
	// systemInitTimeMilliseconds), for flowStartSysUpTime and flowEndSysUpTime.
	BootTime flow.Time

	ex      *exporter
	cache   *Cache
	session Session
	buf     []byte    // scratch record for templates with variable-length fields
	tmp     []pending // per-record values waiting for the finishing pass

	// What the last records looked up in the exporter's options state, valid while the
	// state's generation is the same.
	smGen, smID uint64
	smDomain    uint32
	smHas, smOK bool
	smRate      uint32
	nmGen       uint64
	nmDomain    uint32
	nmIdx       [2]uint32
	nmName      [2]string
	nmOK        [2]bool
	btGen       uint64
	btDomain    uint32
	btOK        bool
	btBoot      int64

	// What the last Lookup found, valid while the exporter's tgen is the same.
	lkEx       *exporter
	lkGen      uint64
	lkKey      tkey
	lkEntry    *entry
	lkTemplate *Template
}

// Bind points c at the options state of session s in the cache (sampling intervals,
// interface names), for the records of one message. Call it after setting c's fields.
func (ca *Cache) Bind(c *Context, s Session) {
	if c.cache == ca && c.session == s && c.ex != nil && !c.ex.dead.Load() {
		return // the same session as the last message: nothing to look up
	}
	c.cache, c.session = ca, s
	c.use(ca.exporter(s))
}

// use points c at the exporter state ex. The options values c keeps are keyed by the
// state's generation, which counts per exporter: they are forgotten when ex is another
// exporter's, or two exporters at the same generation would share them.
func (c *Context) use(ex *exporter) {
	if ex != c.ex {
		c.smOK, c.nmOK, c.btOK = false, [2]bool{}, false
	}
	c.ex = ex
}

// Bound reports whether the session c was bound to had state in the cache at [Cache.Bind]
// (or gained some since, through ApplyOptions). A codec that learns the first template
// of a session binds again so that options apply at once.
func (c *Context) Bound() bool { return c.ex != nil }

// Lookup returns the template with the given ID in the session and domain c is bound to,
// as [Cache.Lookup] would, without looking the session up again.
func (c *Context) Lookup(id uint16) *Template {
	ex := c.ex
	if ex == nil || ex.dead.Load() {
		if ex = c.cache.exporter(c.session); ex == nil {
			return nil
		}
		c.use(ex)
	}
	// The template the last message used answers most lookups: while the session's
	// templates stay as they were, it is taken without the lock or the map.
	k := tkey{c.Domain, id}
	var e *entry
	var t *Template
	if gen := ex.tgen.Load(); c.lkEx == ex && c.lkGen == gen && c.lkKey == k {
		e, t = c.lkEntry, c.lkTemplate
	} else {
		ex.mu.RLock()
		if e = ex.templates[k]; e != nil {
			t = e.t
		}
		ex.mu.RUnlock()
		c.lkEx, c.lkGen, c.lkKey, c.lkEntry, c.lkTemplate = ex, gen, k, e, t
	}
	if t == nil {
		return nil
	}
	// The clock is read only when the template can expire.
	if !c.session.Stream && c.cache.cfg.Lifetime > 0 &&
		c.cache.nowNano()-e.stamp.Load() > int64(c.cache.cfg.Lifetime) {
		return nil
	}
	return t
}

// gather copies the fields the plan of t reads out of rec, a record of a template with
// variable-length fields, into a scratch record where they sit at the plan's offsets.
// rec was measured by Template.Next, so every field is there.
func (c *Context) gather(t *Template, rec []byte) []byte {
	if cap(c.buf) < t.fixedLen {
		c.buf = make([]byte, t.fixedLen)
	}
	out := c.buf[:t.fixedLen]
	off, k := 0, 0
	for i, f := range t.Fields {
		if k == len(t.ops) {
			break
		}
		n, start, ok := fieldLen(rec, off, f.Length)
		if !ok {
			return nil
		}
		if int(t.ops[k].fi) == i {
			copy(out[t.ops[k].off:], rec[start:start+n])
			k++
		}
		off = start + n
	}
	return out
}

// sinceBoot converts a flowStartSysUpTime or flowEndSysUpTime value (milliseconds of
// exporter uptime). For NetFlow v9 it gives wall-clock time, counting back from the export
// time by the difference of the 32-bit uptimes, taken modulo 2^32 and read as signed so
// that the counter's wrap every 49.7 days is crossed correctly and a record stamped a little
// after the header stays after it. For IPFIX it gives the uptime itself, to which the
// finishing pass adds the boot time (the record's own systemInitTimeMilliseconds, else
// BootTime).
func (c *Context) sinceBoot(v uint64) flow.Time {
	if c.HasUptime {
		back := int64(int32(c.Uptime - uint32(v)))
		return c.ExportTime - flow.Time(back*1e6)
	}
	return flow.Time(int64(v) * 1e6)
}

// sampling returns the sampling interval options records announced for the sampler of a
// record (when it names one) or for its domain, or 0.
func (c *Context) sampling(id uint64, has bool) uint32 {
	ex := c.ex
	gen := ex.gen.Load()
	if c.smOK && c.smGen == gen && c.smID == id && c.smHas == has && c.smDomain == c.Domain {
		return c.smRate
	}
	ex.mu.RLock()
	var rate uint32
	ok := false
	if has {
		rate, ok = ex.samplers[samplerKey{c.Domain, id}]
	}
	if !ok {
		rate = ex.defaults[c.Domain]
	}
	ex.mu.RUnlock()
	c.smGen, c.smID, c.smHas, c.smDomain, c.smRate, c.smOK = gen, id, has, c.Domain, rate, true
	return rate
}

// ifName returns the name options records gave an interface, or "".
func (c *Context) ifName(idx uint32) string {
	if idx == 0 {
		return ""
	}
	ex := c.ex
	gen := ex.gen.Load()
	if c.nmGen != gen || c.nmDomain != c.Domain {
		c.nmGen, c.nmDomain, c.nmOK = gen, c.Domain, [2]bool{}
	}
	for i := range c.nmIdx {
		if c.nmOK[i] && c.nmIdx[i] == idx {
			return c.nmName[i]
		}
	}
	ex.mu.RLock()
	name := ex.ifNames[ifKey{c.Domain, idx}]
	ex.mu.RUnlock()
	// Keep the two most recent: records mostly alternate between an input and an output.
	c.nmIdx[1], c.nmName[1], c.nmOK[1] = c.nmIdx[0], c.nmName[0], c.nmOK[0]
	c.nmIdx[0], c.nmName[0], c.nmOK[0] = idx, name, true
	return name
}

// bootTime returns the boot time an options record of the exporter announced for the
// domain (systemInitTimeMilliseconds), in nanoseconds since the epoch, or 0.
func (c *Context) bootTime() int64 {
	ex := c.ex
	if ex == nil {
		return 0
	}
	gen := ex.gen.Load()
	if c.btOK && c.btGen == gen && c.btDomain == c.Domain {
		return c.btBoot
	}
	ex.mu.RLock()
	b := ex.boots[c.Domain]
	ex.mu.RUnlock()
	c.btGen, c.btDomain, c.btBoot, c.btOK = gen, c.Domain, b, true
	return b
}
