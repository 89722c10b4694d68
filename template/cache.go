package template

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowkit/flow"
)

// Session identifies where templates come from: the exporter's transport session and the
// protocol. Template IDs, sampling options and interface names are scoped by session and
// observation domain (NetFlow v9 source ID).
//
// Exporter is the exporter's address and port as the collector sees them. Codecs decide
// what goes in it, following their RFC: IPFIX scopes templates by transport session (RFC
// 7011 section 8), so its parser keeps the source port, and a restarted exporter that comes
// back from another port starts afresh; NetFlow v9 scopes them by exporter address and source
// ID (RFC 3954 section 5.1), so its parser sets the port to 0, and an exporter that sends
// from several ports (line cards, a restart) shares one set of templates. A caller with
// another notion of session (one per TCP connection) chooses what it passes to the parser.
type Session struct {
	Exporter netip.AddrPort
	Protocol flow.Protocol
	// Stream marks a TCP or SCTP session: its templates live until withdrawn or until
	// [Cache.EndSession], instead of expiring after Config.Lifetime as UDP templates do.
	Stream bool
}

// Key identifies one template.
type Key struct {
	Session
	// Domain is the observation domain ID (IPFIX) or source ID (NetFlow v9).
	Domain uint32
	ID     uint16
}

// Config bounds a Cache. Zero fields take the defaults named in their comments.
type Config struct {
	// MaxTemplates bounds the templates held for all sessions together (default 16384).
	// When it is reached, expired templates are dropped first; if none is, a new template
	// is refused with an error wrapping flow.ErrLimit.
	MaxTemplates int
	// MaxTemplatesPerSession bounds the templates of one session, all domains together
	// (default 2048). A session at its bound that defines another template loses its
	// least recently refreshed one: an exporter that moves to new template IDs keeps
	// working, and a flood from one source only churns its own templates.
	MaxTemplatesPerSession int
	// MaxFields bounds the fields of one template (default 512); a longer template is
	// refused with an error wrapping flow.ErrLimit.
	MaxFields int
	// Lifetime is how long a template sent over UDP stays valid after it was last sent
	// (default 1 hour: twice Cisco's default template timeout of 30 minutes, and more than
	// three times RFC 7011's suggested 10-minute refresh). Negative: never expire.
	Lifetime time.Duration
	// MaxOptionsEntries bounds what options records may teach about one session:
	// samplers, sampling intervals and interface names together (default 4096).
	MaxOptionsEntries int
	// HoldSets, HoldBytes and HoldTime bound the data sets held while their template is
	// unknown (defaults 256 sets, 1 MiB, 30 seconds). A set that finds no room pushes the
	// oldest held sets out; held sets older than HoldTime are dropped. Both are counted in
	// Stats. HoldSets < 0 disables holding.
	HoldSets  int
	HoldBytes int
	HoldTime  time.Duration
	// Now returns the current time (default time.Now); tests inject a clock.
	Now func() time.Time
}

func (cfg *Config) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.MaxTemplates, 16384)
	def(&cfg.MaxTemplatesPerSession, 2048)
	def(&cfg.MaxFields, 512)
	def(&cfg.MaxOptionsEntries, 4096)
	def(&cfg.HoldBytes, 1<<20)
	if cfg.HoldSets == 0 {
		cfg.HoldSets = 256
	}
	if cfg.Lifetime == 0 {
		cfg.Lifetime = time.Hour
	}
	if cfg.HoldTime <= 0 {
		cfg.HoldTime = 30 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
}

// Errors returned by [Cache.Learn]; they wrap flow.ErrLimit.
var (
	ErrTooManyFields    = limitError("template has more fields than Config.MaxFields")
	ErrTooManyTemplates = limitError("cache holds Config.MaxTemplates templates")
)

type limitError string

func (e limitError) Error() string { return string(e) }
func (e limitError) Unwrap() error { return flow.ErrLimit }

// Cache holds templates and what options records taught, for any number of exporters. It
// is safe for concurrent use: parsers on several goroutines can share one, so that a
// template learnt from one datagram serves data read by another.
type Cache struct {
	cfg Config

	mu        sync.RWMutex
	sessions  map[Session]*exporter
	total     int // templates in all sessions
	lastSweep time.Time

	hold holdRing

	// base is when the cache was made, when it keeps its own time (Config.Now not set):
	// see Cache.now.
	base     time.Time
	baseNano int64 // base as UnixNano

	learned, replaced, withdrawn, expired, evicted, refused, optionsRefused, optionsChanged atomic.Uint64
}

// NewCache returns an empty cache with the given bounds.
func NewCache(cfg Config) *Cache {
	monotonic := cfg.Now == nil
	cfg.setDefaults()
	c := &Cache{cfg: cfg, sessions: map[Session]*exporter{}}
	if monotonic {
		c.base = time.Now()
		c.baseNano = c.base.UnixNano()
	}
	c.hold.init(&c.cfg)
	return c
}

// Config returns the cache's bounds, defaults filled in.
func (c *Cache) Config() Config { return c.cfg }

// exporter is the state of one session: its templates and what its options records said.
type exporter struct {
	session Session
	limit   int         // Config.MaxOptionsEntries
	dead    atomic.Bool // no longer in Cache.sessions: Contexts bound to it look it up again

	mu        sync.RWMutex
	templates map[tkey]*entry
	// tgen changes whenever templates or the template of an entry does (not when an
	// entry is only refreshed), so that Contexts can keep what they looked up.
	tgen atomic.Uint64

	// Options state, guarded by mu. gen changes whenever it does, so that decoders can
	// keep what they looked up until it changes.
	gen      atomic.Uint64
	hasNames atomic.Bool
	samplers map[samplerKey]uint32
	defaults map[uint32]uint32 // sampling interval per domain, from options without a sampler
	ifNames  map[ifKey]string
	boots    map[uint32]int64 // boot time (ns since the epoch) per domain
	stats    map[uint32]ExporterStatistics
	entries  int
}

type tkey struct {
	domain uint32
	id     uint16
}

type samplerKey struct {
	domain uint32
	id     uint64
}

type ifKey struct {
	domain  uint32
	ifIndex uint32
}

type entry struct {
	t       *Template
	updated time.Time
	// stamp is updated as UnixNano, for Context.Lookup, which reads it without the lock.
	stamp atomic.Int64
}

// refresh sets when the entry was last sent. ex.mu is held.
func (e *entry) refresh(now time.Time) {
	e.updated = now
	e.stamp.Store(now.UnixNano())
}

// now reads the cache's clock. Unless the caller gave one, it reads the monotonic clock only,
// as an offset from base: parsers look a template up for every message, and time.Now,
// which reads the wall clock as well, cost twice as much there. The cache only compares
// its times with each other, which the monotonic clock serves best anyway.
func (c *Cache) now() time.Time {
	if c.base.IsZero() {
		return c.cfg.Now()
	}
	return c.base.Add(time.Since(c.base))
}

// nowNano is now as UnixNano, without building a time.Time on the way: what Context.Lookup
// compares with an entry's stamp once a message.
func (c *Cache) nowNano() int64 {
	if c.base.IsZero() {
		return c.cfg.Now().UnixNano()
	}
	return c.baseNano + int64(time.Since(c.base))
}

func (c *Cache) expiredAt(s Session, updated, now time.Time) bool {
	return !s.Stream && c.cfg.Lifetime > 0 && now.Sub(updated) > c.cfg.Lifetime
}

// Learn stores the template a message defined under k and returns it compiled. A template
// identical to the one held only has its lifetime renewed, without allocating; a different
// one replaces it. A template with no fields is a withdrawal (RFC 7011 section 8.1; NetFlow
// v9 has no withdrawal, and a zero-field template is read as one rather than as a template
// that decodes nothing): the template is removed and Learn returns nil, nil.
//
// Learn refuses, with an error wrapping flow.ErrLimit, a template with more than
// Config.MaxFields fields and a new template when the cache is full; see [Config].
func (c *Cache) Learn(k Key, kind Kind, scopeCount int, fields []Field) (*Template, error) {
	if len(fields) == 0 {
		c.Withdraw(k)
		return nil, nil
	}
	if len(fields) > c.cfg.MaxFields {
		c.refused.Add(1)
		return nil, ErrTooManyFields
	}
	now := c.now()
	ex := c.exporter(k.Session)
	if ex == nil {
		c.mu.Lock()
		ex = c.sessions[k.Session]
		if ex == nil {
			ex = &exporter{session: k.Session, limit: c.cfg.MaxOptionsEntries, templates: map[tkey]*entry{}}
			c.sessions[k.Session] = ex
		}
		c.mu.Unlock()
	}
	tk := tkey{k.Domain, k.ID}
	ex.mu.Lock()
	if e := ex.templates[tk]; e != nil {
		// e.t is read under the lock: another goroutine may replace it once it is let go.
		if t := e.t; t.Equal(kind, scopeCount, fields) {
			e.refresh(now)
			ex.mu.Unlock()
			return t, nil
		}
		t := New(k.Protocol, k.ID, kind, scopeCount, fields)
		e.t = t
		e.refresh(now)
		ex.tgen.Add(1)
		ex.mu.Unlock()
		c.replaced.Add(1)
		return t, nil
	}
	evict := len(ex.templates) >= c.cfg.MaxTemplatesPerSession
	if evict {
		ex.evictOldest()
	}
	ex.mu.Unlock()

	// A new template: take a place in the total (c.mu is never taken while holding ex.mu).
	c.mu.Lock()
	if evict {
		c.total--
		c.evicted.Add(1)
	}
	if c.total >= c.cfg.MaxTemplates || now.Sub(c.lastSweep) > c.cfg.Lifetime/8 {
		c.sweepLocked(now)
	}
	if c.total >= c.cfg.MaxTemplates {
		c.mu.Unlock()
		c.refused.Add(1)
		return nil, ErrTooManyTemplates
	}
	c.total++
	if c.sessions[k.Session] != ex { // swept away meanwhile: put it back
		c.sessions[k.Session] = ex
		ex.dead.Store(false)
	}
	c.mu.Unlock()

	t := New(k.Protocol, k.ID, kind, scopeCount, fields)
	ex.mu.Lock()
	if e := ex.templates[tk]; e != nil { // another goroutine learnt it meanwhile
		e.t = t
		e.refresh(now)
		ex.tgen.Add(1)
		ex.mu.Unlock()
		c.mu.Lock()
		c.total--
		c.mu.Unlock()
		return t, nil
	}
	e := &entry{t: t}
	e.refresh(now)
	ex.templates[tk] = e
	ex.tgen.Add(1)
	ex.mu.Unlock()
	c.learned.Add(1)
	return t, nil
}

// evictOldest drops the least recently refreshed template of ex. ex.mu is held.
func (ex *exporter) evictOldest() {
	var oldest tkey
	var at time.Time
	first := true
	for k, e := range ex.templates {
		if first || e.updated.Before(at) {
			oldest, at, first = k, e.updated, false
		}
	}
	delete(ex.templates, oldest)
	ex.tgen.Add(1)
}

// exporter returns the state of a session, or nil.
func (c *Cache) exporter(s Session) *exporter {
	c.mu.RLock()
	ex := c.sessions[s]
	c.mu.RUnlock()
	return ex
}

// Lookup returns the template held under k, or nil when there is none or it has expired.
func (c *Cache) Lookup(k Key) *Template {
	ex := c.exporter(k.Session)
	if ex == nil {
		return nil
	}
	ex.mu.RLock()
	e := ex.templates[tkey{k.Domain, k.ID}]
	var t *Template
	var updated time.Time
	if e != nil {
		t, updated = e.t, e.updated
	}
	ex.mu.RUnlock()
	if t == nil || c.expiredAt(k.Session, updated, c.now()) {
		return nil
	}
	return t
}

// Withdraw removes the template held under k, if any.
func (c *Cache) Withdraw(k Key) {
	ex := c.exporter(k.Session)
	if ex == nil {
		return
	}
	ex.mu.Lock()
	_, ok := ex.templates[tkey{k.Domain, k.ID}]
	delete(ex.templates, tkey{k.Domain, k.ID})
	ex.tgen.Add(1)
	ex.mu.Unlock()
	if ok {
		c.withdrawn.Add(1)
		c.mu.Lock()
		c.total--
		c.mu.Unlock()
	}
}

// WithdrawAll removes every template of one observation domain of a session, data
// templates or options templates (IPFIX "all templates" withdrawals, RFC 7011 section 8.1).
func (c *Cache) WithdrawAll(s Session, domain uint32, kind Kind) {
	ex := c.exporter(s)
	if ex == nil {
		return
	}
	n := 0
	ex.mu.Lock()
	for k, e := range ex.templates {
		if k.domain == domain && e.t.Kind == kind {
			delete(ex.templates, k)
			n++
		}
	}
	ex.tgen.Add(1)
	ex.mu.Unlock()
	c.withdrawn.Add(uint64(n))
	c.mu.Lock()
	c.total -= n
	c.mu.Unlock()
}

// EndSession forgets a session: its templates and its options state. Collectors call it
// when a TCP or SCTP connection closes (RFC 7011 section 8).
func (c *Cache) EndSession(s Session) {
	c.mu.Lock()
	ex := c.sessions[s]
	delete(c.sessions, s)
	if ex != nil {
		ex.dead.Store(true)
		ex.mu.RLock()
		c.total -= len(ex.templates)
		ex.mu.RUnlock()
	}
	c.mu.Unlock()
}

// sweepLocked drops expired templates, and sessions left with none. c.mu is held.
func (c *Cache) sweepLocked(now time.Time) {
	c.lastSweep = now
	for s, ex := range c.sessions {
		ex.mu.Lock()
		for k, e := range ex.templates {
			if c.expiredAt(s, e.updated, now) {
				delete(ex.templates, k)
				ex.tgen.Add(1)
				c.total--
				c.expired.Add(1)
			}
		}
		empty := len(ex.templates) == 0
		ex.mu.Unlock()
		if empty {
			delete(c.sessions, s)
			ex.dead.Store(true)
		}
	}
}

// Stats counts what a Cache did, for monitoring.
type Stats struct {
	// Sessions and Templates are what the cache holds now; Held and HeldBytes the data
	// sets waiting for their template.
	Sessions, Templates, Held, HeldBytes int
	// Learned counts new templates, Replaced redefinitions, Withdrawn withdrawals,
	// Expired templates that outlived Config.Lifetime, Evicted templates pushed out by
	// a session at Config.MaxTemplatesPerSession, Refused templates turned down by a bound.
	Learned, Replaced, Withdrawn, Expired, Evicted, Refused uint64
	// HeldTotal counts data sets held for lack of a template; Released those decoded
	// when it came; HeldExpired those dropped after Config.HoldTime without it;
	// HeldDropped those pushed out for room, or too large to hold at all.
	HeldTotal, Released, HeldExpired, HeldDropped uint64
	// OptionsChanged counts options records that changed what the cache remembers;
	// OptionsRefused those not remembered because their session had
	// Config.MaxOptionsEntries already.
	OptionsChanged, OptionsRefused uint64
}

// Stats returns the counters; it also drops what has expired, so that the counts are current.
func (c *Cache) Stats() Stats {
	now := c.now()
	c.mu.Lock()
	c.sweepLocked(now)
	s := Stats{Sessions: len(c.sessions), Templates: c.total}
	c.mu.Unlock()
	c.hold.stats(&s, now)
	s.Learned, s.Replaced, s.Withdrawn = c.learned.Load(), c.replaced.Load(), c.withdrawn.Load()
	s.Expired, s.Evicted, s.Refused = c.expired.Load(), c.evicted.Load(), c.refused.Load()
	s.OptionsChanged, s.OptionsRefused = c.optionsChanged.Load(), c.optionsRefused.Load()
	return s
}
