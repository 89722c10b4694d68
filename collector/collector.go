// Package collector receives flow exports and hands out decoded records: the other side
// of an exporter.
//
// A [Collector] listens on UDP sockets (several per address with SO_REUSEPORT, so that
// the kernel spreads exporters over goroutines), tells each datagram's protocol from its
// version field, decodes it with the codec of that protocol (NetFlow v5, NetFlow v9,
// IPFIX, sFlow v5), and calls the [Handler] with the records. Templates are kept in one
// [template.Cache], scoped per exporter. Per exporter and observation domain it counts
// datagrams, records, template misses, errors by kind and what the sequence numbers say
// was lost ([Collector.Stats], and expvar through [Collector.Publish]).
//
//	c, err := collector.New(collector.Config{
//		Listen:  []string{"udp://0.0.0.0:2055"},
//		Handler: func(recs []flow.Record) { … },
//	})
//	err = c.Serve(ctx) // until ctx is done; then drains what the sockets hold
package collector

import (
	"context"
	"errors"
	"expvar"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/template"
	"golang.org/x/sys/unix"
)

// Handler receives the records of one datagram (or stream message). It may be called
// from several goroutines at once, one per socket. The slice and the records are reused
// after it returns: copy what must outlive the call.
type Handler func(recs []flow.Record)

// RawHandler receives every datagram before it is decoded, with the address it came
// from, for users who need what the records do not carry. msg is reused after it returns.
type RawHandler func(from netip.AddrPort, msg []byte)

// Config sets up a Collector.
type Config struct {
	// Listen lists the addresses to receive on, as udp://host:port (NetFlow, IPFIX and
	// sFlow datagrams). Port 0 picks a free port; Addrs says which.
	Listen []string
	// Sockets is the number of UDP sockets opened on each address with SO_REUSEPORT,
	// each read by its own goroutine (default 1).
	Sockets int
	// ReadBuffer sets each UDP socket's receive buffer (SO_RCVBUF), in bytes. Bursts that
	// overflow it are lost; 0 keeps the system default.
	ReadBuffer int
	// Templates configures the template cache shared by NetFlow v9 and IPFIX.
	Templates template.Config
	// Handler receives the decoded records; Raw, when set, every datagram first.
	Handler Handler
	Raw     RawHandler
	// MaxExporters bounds the exporters whose counters are kept (default 10,000).
	MaxExporters int
	// DrainTimeout bounds how long Serve keeps reading after its context is done, to
	// decode what the sockets already hold (default 1 s).
	DrainTimeout time.Duration
	// Logger receives lifecycle messages, and decoding errors at debug level (Stats
	// counts them all). Default: slog.Default().
	Logger *slog.Logger
}

// Collector receives and decodes flow exports. Create it with New.
type Collector struct {
	cfg       Config
	templates *template.Cache
	reg       *registry
	log       *slog.Logger

	mu     sync.Mutex
	udp    []*net.UDPConn
	opened bool
}

// New checks the configuration. It opens nothing: Listen or Serve does.
func New(cfg Config) (*Collector, error) {
	if len(cfg.Listen) == 0 {
		return nil, errors.New("collector: no Listen address")
	}
	if cfg.Handler == nil && cfg.Raw == nil {
		return nil, errors.New("collector: no Handler")
	}
	for _, l := range cfg.Listen {
		if _, _, err := parseListen(l); err != nil {
			return nil, err
		}
	}
	if cfg.Sockets <= 0 {
		cfg.Sockets = 1
	}
	if cfg.MaxExporters <= 0 {
		cfg.MaxExporters = 10000
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Collector{
		cfg:       cfg,
		templates: template.NewCache(cfg.Templates),
		reg:       newRegistry(cfg.MaxExporters),
		log:       cfg.Logger,
	}, nil
}

func parseListen(s string) (network, addr string, err error) {
	scheme, addr, ok := strings.Cut(s, "://")
	if !ok {
		return "", "", fmt.Errorf("collector: listen address %q has no scheme (udp://host:port)", s)
	}
	switch scheme {
	case "udp":
		return scheme, addr, nil
	}
	return "", "", fmt.Errorf("collector: listen address %q: unknown scheme %q", s, scheme)
}

// Listen opens the sockets. Serve calls it when it has not been called.
func (c *Collector) Listen() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.opened {
		return nil
	}
	for _, l := range c.cfg.Listen {
		_, addr, _ := parseListen(l)
		for i := 0; i < c.cfg.Sockets; i++ {
			conn, err := c.listenUDP(addr)
			if err != nil {
				c.closeLocked()
				return err
			}
			// With port 0, the other sockets must join the port the first one got.
			if i == 0 {
				addr = conn.LocalAddr().String()
			}
			c.udp = append(c.udp, conn)
		}
	}
	c.opened = true
	return nil
}

func (c *Collector) listenUDP(addr string) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(network, address string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			if c.cfg.Sockets > 1 {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}
			if serr == nil && c.cfg.ReadBuffer > 0 {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, c.cfg.ReadBuffer)
			}
		})
		if err != nil {
			return err
		}
		return serr
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp", addr)
	if err != nil {
		return nil, fmt.Errorf("collector: %w", err)
	}
	return pc.(*net.UDPConn), nil
}

func (c *Collector) closeLocked() {
	for _, u := range c.udp {
		u.Close()
	}
	c.udp = nil
}

// Addrs returns the addresses the collector listens on, one per socket, after Listen.
func (c *Collector) Addrs() []net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []net.Addr
	for _, u := range c.udp {
		out = append(out, u.LocalAddr())
	}
	return out
}

// Serve receives and decodes until ctx is done, then keeps reading for up to DrainTimeout
// while the sockets still hold datagrams, closes them and returns. It returns an error
// only when it could not listen or a socket failed.
func (c *Collector) Serve(ctx context.Context) error {
	if err := c.Listen(); err != nil {
		return err
	}
	c.mu.Lock()
	conns := c.udp
	c.mu.Unlock()
	c.log.Info("collector listening", "addrs", c.Addrs())

	errs := make(chan error, len(conns))
	for _, conn := range conns {
		go func() { errs <- c.readUDP(ctx, conn) }()
	}
	var first error
	for range conns {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	c.mu.Lock()
	c.closeLocked()
	c.mu.Unlock()
	return first
}

// readUDP is one socket's receive loop.
func (c *Collector) readUDP(ctx context.Context, conn *net.UDPConn) error {
	stop := context.AfterFunc(ctx, func() {
		// Wake the read; from here on, each read waits at most a moment, so the loop
		// drains what the socket holds and ends when it is empty.
		conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	})
	defer stop()
	d := newDecoder(c.templates)
	buf := make([]byte, 65535)
	var drainUntil time.Time
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && ctx.Err() != nil {
				return nil // drained
			}
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("collector: reading %s: %w", conn.LocalAddr(), err)
		}
		now := time.Now()
		if ctx.Err() != nil {
			if drainUntil.IsZero() {
				drainUntil = now.Add(c.cfg.DrainTimeout)
			}
			if now.After(drainUntil) {
				return nil
			}
			conn.SetReadDeadline(now.Add(50 * time.Millisecond))
		}
		c.datagram(d, buf[:n], netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), now)
	}
}

// datagram decodes one datagram, counts it, and hands its records to the Handler.
func (c *Collector) datagram(d *decoder, msg []byte, from netip.AddrPort, now time.Time) {
	if c.cfg.Raw != nil {
		c.cfg.Raw(from, msg)
	}
	c.reg.datagrams.Add(1)
	c.reg.bytes.Add(uint64(len(msg)))
	res := d.decode(msg, from, flow.TimeOf(now))
	s := c.reg.get(exporterKey{from.Addr(), res.proto, res.domain})
	if s != nil {
		s.datagrams.Add(1)
		s.lastSeen.Store(now.UnixNano())
		if !res.fullErr {
			s.account(res.seq)
		}
		if res.held > 0 {
			s.templateMisses.Add(uint64(res.held))
		}
	}
	if res.err != nil {
		c.reg.errs.add(res.err)
		if s != nil {
			s.errs.add(res.err)
		}
		c.log.Debug("decoding error", "exporter", from, "err", res.err)
	}
	if len(res.recs) == 0 {
		return
	}
	c.reg.records.Add(uint64(len(res.recs)))
	if s != nil {
		s.records.Add(uint64(len(res.recs)))
	}
	if c.cfg.Handler != nil {
		c.cfg.Handler(res.recs)
	}
}

// Stats returns the collector's counters.
func (c *Collector) Stats() Stats { return c.reg.snapshot() }

// Templates returns the collector's template cache, for its counters and for users who
// read raw fields with it.
func (c *Collector) Templates() *template.Cache { return c.templates }

// Publish makes Stats available through expvar (and so /debug/vars) under name. Like
// expvar.Publish, it panics if the name is taken.
func (c *Collector) Publish(name string) {
	expvar.Publish(name, expvar.Func(func() any { return c.Stats() }))
}
