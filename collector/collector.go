// Package collector receives flow exports and hands out decoded records: the other side
// of an exporter.
//
// A [Collector] listens on UDP sockets (several per address with SO_REUSEPORT, so that
// the kernel spreads exporters over goroutines), tells each datagram's protocol from its
// version field, decodes it with the codec of that protocol (NetFlow v5, NetFlow v9,
// IPFIX, sFlow v5), and calls the [Handler] with the records. It also accepts IPFIX over
// TCP and TLS: each connection is a transport session of its own, read by a goroutine of
// its own, whose templates live as long as it does. Templates are kept in one
// [template.Cache], scoped per exporter as each protocol defines (IPFIX: per transport
// session). Per exporter and observation domain it counts datagrams (or stream messages),
// records, template misses, errors by kind and what the sequence numbers say was lost
// ([Collector.Stats], and expvar through [Collector.Publish]).
//
//	c, err := collector.New(collector.Config{
//		Listen:  []string{"udp://0.0.0.0:2055", "udp://0.0.0.0:4739", "tcp://0.0.0.0:4739"},
//		Handler: func(recs []flow.Record) { … },
//	})
//	err = c.Serve(ctx) // until ctx is done; then drains what the sockets hold
//
// On shutdown, stream connections are half-closed first: an exporter that watches its
// connection (this module's does) stops writing and closes, and everything it wrote
// before is read; it reconnects to the next collector with the messages it still holds.
package collector

import (
	"context"
	"crypto/tls"
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
	"github.com/flowkit/flow/ipfix"
	"github.com/flowkit/flow/template"
	"golang.org/x/sys/unix"
)

// Handler receives the records of one datagram (or stream message). It may be called
// from several goroutines at once, one per UDP socket and one per TCP or TLS connection. The slice and the records are reused
// after it returns: copy what must outlive the call.
type Handler func(recs []flow.Record)

// RawHandler receives every datagram, and every message of a stream, before it is
// decoded, with the address it came from, for users who need what the records do not
// carry. msg is reused after it returns.
type RawHandler func(from netip.AddrPort, msg []byte)

// Config sets up a Collector.
type Config struct {
	// Listen lists the addresses to receive on: udp://host:port (NetFlow, IPFIX and
	// sFlow datagrams), tcp://host:port and tls://host:port (IPFIX streams, RFC 7011
	// section 10). Port 0 picks a free port; Addrs says which.
	Listen []string
	// TLS configures the tls:// listeners: a certificate at least, and ClientAuth with
	// ClientCAs to admit only exporters with certificates (RFC 7011 section 11 asks for
	// mutual authentication). Required when a tls:// address is listed.
	TLS *tls.Config
	// MaxConnections bounds the TCP and TLS connections open at once (default 1,000):
	// those beyond it are closed as soon as they are accepted, and counted.
	MaxConnections int
	// IdleTimeout closes a stream connection that sent nothing for this long (default 10
	// minutes; IPFIX has no keepalive, and an exporter with no flows sends nothing).
	IdleTimeout time.Duration
	// HandshakeTimeout bounds a TLS handshake (default 10 s).
	HandshakeTimeout time.Duration
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
	// decode what the sockets already hold, and what stream exporters send until they
	// close their side (default 1 s).
	DrainTimeout time.Duration
	// Logger receives lifecycle messages, and decoding errors at debug level (Stats
	// counts them all). Default: slog.Default().
	Logger *slog.Logger
}

// Collector receives and decodes flow exports. Create it with New.
type Collector struct {
	cfg       Config
	templates *template.Cache
	seqs      *ipfix.Sequences
	reg       *registry
	log       *slog.Logger

	mu      sync.Mutex
	udp     []*net.UDPConn
	streams []*streamListener
	addrs   []net.Addr // in the order of Config.Listen
	opened  bool
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
		scheme, _, err := parseListen(l)
		if err != nil {
			return nil, err
		}
		if scheme == "tls" && cfg.TLS == nil {
			return nil, fmt.Errorf("collector: %s needs a TLS config", l)
		}
	}
	if cfg.MaxConnections <= 0 {
		cfg.MaxConnections = 1000
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 10 * time.Minute
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = 10 * time.Second
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
		seqs:      &ipfix.Sequences{},
		reg:       newRegistry(cfg.MaxExporters),
		log:       cfg.Logger,
	}, nil
}

func parseListen(s string) (scheme, addr string, err error) {
	scheme, addr, ok := strings.Cut(s, "://")
	if !ok {
		return "", "", fmt.Errorf("collector: listen address %q has no scheme (udp://, tcp:// or tls://host:port)", s)
	}
	switch scheme {
	case "udp", "tcp", "tls":
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
		scheme, addr, _ := parseListen(l)
		if scheme != "udp" {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				c.closeLocked()
				return fmt.Errorf("collector: %w", err)
			}
			c.streams = append(c.streams, &streamListener{ln: ln, tls: scheme == "tls"})
			c.addrs = append(c.addrs, ln.Addr())
			continue
		}
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
			c.addrs = append(c.addrs, conn.LocalAddr())
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
	for _, s := range c.streams {
		s.ln.Close()
	}
	c.udp, c.streams, c.addrs = nil, nil, nil
}

// Addrs returns the addresses the collector listens on, after Listen: one per UDP socket
// (*net.UDPAddr) and one per TCP or TLS listener (*net.TCPAddr), in the order of
// Config.Listen.
func (c *Collector) Addrs() []net.Addr {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]net.Addr(nil), c.addrs...)
}

// Serve receives and decodes until ctx is done, then keeps reading for up to DrainTimeout
// while the sockets still hold datagrams, closes them and returns. It returns an error
// only when it could not listen or a socket failed.
func (c *Collector) Serve(ctx context.Context) error {
	if err := c.Listen(); err != nil {
		return err
	}
	c.mu.Lock()
	conns, streams := c.udp, c.streams
	c.mu.Unlock()
	c.log.Info("collector listening", "addrs", c.Addrs())

	errs := make(chan error, len(conns)+len(streams))
	for _, conn := range conns {
		go func() { errs <- c.readUDP(ctx, conn) }()
	}
	for _, s := range streams {
		go func() { errs <- c.accept(ctx, s) }()
	}
	var first error
	for range len(conns) + len(streams) {
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
	d := newDecoder(c.templates, c.seqs)
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
	c.deliver(msg, from, d.decode(msg, from, flow.TimeOf(now)), now)
}

// deliver counts a decoded datagram or stream message and hands its records to the
// Handler.
func (c *Collector) deliver(msg []byte, from netip.AddrPort, res result, now time.Time) {
	c.reg.datagrams.Add(1)
	c.reg.bytes.Add(uint64(len(msg)))
	s := c.reg.get(exporterKey{from.Addr(), res.proto, res.domain})
	if s != nil {
		s.datagrams.Add(1)
		s.lastSeen.Store(now.UnixNano())
		if !res.fullErr {
			s.account(res.seq)
		}
		if res.seqDelta {
			s.lostRecords.Add(res.lost)
			s.reordered.Add(res.reordered)
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

// Stats returns the collector's counters, and what exporters reported of their own.
func (c *Collector) Stats() Stats {
	st := c.reg.snapshot()
	attachReported(&st, c.templates)
	return st
}

// Templates returns the collector's template cache, for its counters and for users who
// read raw fields with it.
func (c *Collector) Templates() *template.Cache { return c.templates }

// Publish makes Stats available through expvar (and so /debug/vars) under name. Like
// expvar.Publish, it panics if the name is taken.
func (c *Collector) Publish(name string) {
	expvar.Publish(name, expvar.Func(func() any { return c.Stats() }))
}
