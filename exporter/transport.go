package exporter

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Destination is a collector to export to.
type Destination struct {
	// Address is host:port.
	Address string
	// Transport is "udp" (the default), "tcp" or "tls". TCP and TLS carry IPFIX only:
	// NetFlow and sFlow have no framing for a byte stream.
	Transport string
	// TLS configures a "tls" transport (server name, roots, client certificate).
	TLS *tls.Config
}

// transport delivers finished messages to one collector.
type transport interface {
	// send queues or sends a message; it never blocks for long. The message is copied.
	send(msg []byte)
	// close flushes what it can within the context and releases the connection.
	close(ctx context.Context)
	// local is the transport's own address, to recognise its traffic in a capture.
	local() netip.AddrPort
	// remote is the collector's address.
	remote() netip.AddrPort
	stats() TransportStats
}

// TransportStats counts what one destination got.
type TransportStats struct {
	Destination string `json:"destination"`
	Messages    uint64 `json:"messages"` // sent
	Bytes       uint64 `json:"bytes"`
	Errors      uint64 `json:"errors"`     // failed writes (and, for streams, failed connections)
	Dropped     uint64 `json:"dropped"`    // messages refused because the send buffer was full
	Reconnects  uint64 `json:"reconnects"` // stream connections made after the first
}

type counters struct {
	messages, bytes, errors, dropped, reconnects atomic.Uint64
}

func (c *counters) snapshot(dest string) TransportStats {
	return TransportStats{dest, c.messages.Load(), c.bytes.Load(), c.errors.Load(), c.dropped.Load(), c.reconnects.Load()}
}

// udpTransport writes each message as one datagram, at once.
type udpTransport struct {
	conn *net.UDPConn
	dest string
	c    counters
}

func dialUDP(dest string) (*udpTransport, error) {
	raddr, err := net.ResolveUDPAddr("udp", dest)
	if err != nil {
		return nil, fmt.Errorf("exporter: %w", err)
	}
	conn, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		return nil, fmt.Errorf("exporter: %w", err)
	}
	return &udpTransport{conn: conn, dest: dest}, nil
}

func (u *udpTransport) send(msg []byte) {
	if _, err := u.conn.Write(msg); err != nil {
		// A collector that is not up yet answers with ICMP port unreachable, which the
		// next write reports: counted, not fatal; UDP export is fire and forget.
		u.c.errors.Add(1)
		return
	}
	u.c.messages.Add(1)
	u.c.bytes.Add(uint64(len(msg)))
}

func (u *udpTransport) close(context.Context) { u.conn.Close() }

func (u *udpTransport) local() netip.AddrPort  { return u.conn.LocalAddr().(*net.UDPAddr).AddrPort() }
func (u *udpTransport) remote() netip.AddrPort { return u.conn.RemoteAddr().(*net.UDPAddr).AddrPort() }
func (u *udpTransport) stats() TransportStats  { return u.c.snapshot(u.dest) }

// streamTransport sends messages over TCP or TLS from a goroutine of its own, through a
// send buffer bounded in bytes: a slow or absent collector costs memory up to the bound,
// then messages are dropped and counted, never queued without limit. It reconnects with
// exponential backoff, and on every new connection first sends what greeting returns
// (the templates: IPFIX over a stream scopes templates to the connection).
type streamTransport struct {
	dest     string
	tls      *tls.Config
	greeting func(next func() []byte) []byte
	log      *slog.Logger
	c        counters

	mu      sync.Mutex
	cond    *sync.Cond
	queue   [][]byte
	queued  int // bytes in queue
	limit   int
	closing bool
	done    chan struct{}                     // closed when run returns
	abandon chan struct{}                     // closed when close gives up on the queue
	addrs   atomic.Pointer[[2]netip.AddrPort] // local, remote of the current connection
}

func newStream(d Destination, limit int, greeting func(next func() []byte) []byte, log *slog.Logger) *streamTransport {
	s := &streamTransport{dest: d.Address, greeting: greeting, limit: limit, log: log,
		done: make(chan struct{}), abandon: make(chan struct{})}
	if d.Transport == "tls" {
		s.tls = d.TLS
		if s.tls == nil {
			s.tls = &tls.Config{}
		}
	}
	s.cond = sync.NewCond(&s.mu)
	go s.run()
	return s
}

func (s *streamTransport) send(msg []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || s.queued+len(msg) > s.limit {
		s.c.dropped.Add(1)
		return
	}
	s.queue = append(s.queue, append([]byte(nil), msg...))
	s.queued += len(msg)
	s.cond.Signal()
}

// run connects, writes the queue, and reconnects after failures, until close.
func (s *streamTransport) run() {
	defer close(s.done)
	backoff := 100 * time.Millisecond
	first := true
	for {
		s.mu.Lock()
		finished := s.closing && len(s.queue) == 0
		s.mu.Unlock()
		if finished {
			return
		}
		conn, err := s.dial()
		if err != nil {
			s.c.errors.Add(1)
			s.log.Debug("exporter: connecting", "destination", s.dest, "err", err, "retry in", backoff)
			if s.wait(backoff) {
				return
			}
			// Up to 30 s between attempts, jittered so that many exporters restarted
			// together do not reconnect in step.
			backoff = min(30*time.Second, backoff*2) + time.Duration(rand.Int64N(int64(backoff/4)+1))
			continue
		}
		if !first {
			s.c.reconnects.Add(1)
		}
		first, backoff = false, 100*time.Millisecond
		la, _ := netip.ParseAddrPort(conn.LocalAddr().String())
		ra, _ := netip.ParseAddrPort(conn.RemoteAddr().String())
		s.addrs.Store(&[2]netip.AddrPort{la, ra})
		if !s.write(conn) {
			return
		}
	}
}

func (s *streamTransport) dial() (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if s.tls != nil {
		return tls.DialWithDialer(&d, "tcp", s.dest, s.tls)
	}
	return d.Dial("tcp", s.dest)
}

// write sends the greeting, then queued messages. It returns true when the connection
// failed or the collector closed it (reconnect), false when the transport is closing and
// its queue is empty. It closes conn.
func (s *streamTransport) write(conn net.Conn) (reconnect bool) {
	// A collector sends nothing on an IPFIX session: what the connection delivers is its
	// end. A collector going down half-closes (FIN, or TLS close_notify) and reads on
	// until we close; stopping at once keeps every message we still hold for the next
	// connection, where writing into a socket the collector no longer reads would lose
	// the first one silently (the write succeeds, the reset comes after).
	var peerGone atomic.Bool
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		io.Copy(io.Discard, conn)
		peerGone.Store(true)
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	}()
	defer func() {
		conn.Close()
		<-watched
	}()
	if g := s.greeting(s.head); len(g) > 0 {
		if err := s.writeMsg(conn, g); err != nil {
			return true
		}
	}
	for {
		s.mu.Lock()
		for len(s.queue) == 0 && !s.closing && !peerGone.Load() {
			s.cond.Wait()
		}
		if len(s.queue) == 0 && s.closing { // nothing left (or abandoned)
			s.mu.Unlock()
			return false
		}
		if peerGone.Load() {
			s.mu.Unlock()
			s.log.Debug("exporter: the collector closed the connection", "destination", s.dest)
			return true
		}
		msg := s.queue[0]
		s.mu.Unlock()
		if err := s.writeMsg(conn, msg); err != nil {
			// The message stays queued: it goes out first on the next connection.
			return true
		}
		s.mu.Lock()
		if len(s.queue) > 0 { // close may have abandoned the queue meanwhile
			s.queue[0] = nil
			s.queue = s.queue[1:]
			s.queued -= len(msg)
		}
		s.mu.Unlock()
	}
}

// head returns the message that goes out next, or nil.
func (s *streamTransport) head() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return nil
	}
	return s.queue[0]
}

func (s *streamTransport) writeMsg(conn net.Conn, msg []byte) error {
	conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := conn.Write(msg); err != nil {
		s.c.errors.Add(1)
		s.log.Debug("exporter: writing", "destination", s.dest, "err", err)
		return err
	}
	s.c.messages.Add(1)
	s.c.bytes.Add(uint64(len(msg)))
	return nil
}

// wait sleeps for d, returning early (true) when a closing transport gives up.
func (s *streamTransport) wait(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return false
	case <-s.abandon:
		return true
	}
}

// close stops accepting messages and waits, until ctx ends, for the queue to be sent
// (reconnecting if it must); then it gives up on what is left.
func (s *streamTransport) close(ctx context.Context) {
	s.mu.Lock()
	s.closing = true
	s.cond.Broadcast()
	s.mu.Unlock()
	select {
	case <-s.done:
	case <-ctx.Done():
		close(s.abandon)
		s.mu.Lock()
		left := len(s.queue)
		s.queue, s.queued = nil, 0
		s.cond.Broadcast()
		s.mu.Unlock()
		s.c.dropped.Add(uint64(left))
		s.log.Warn("exporter: closed with messages unsent", "destination", s.dest, "messages", left)
		<-s.done
	}
}

func (s *streamTransport) local() netip.AddrPort {
	if a := s.addrs.Load(); a != nil {
		return a[0]
	}
	return netip.AddrPort{}
}

func (s *streamTransport) remote() netip.AddrPort {
	if a := s.addrs.Load(); a != nil {
		return a[1]
	}
	return netip.AddrPort{}
}

func (s *streamTransport) stats() TransportStats { return s.c.snapshot(s.dest) }

var errStreamProtocol = errors.New("exporter: TCP and TLS transports carry IPFIX only")
