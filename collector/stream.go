package collector

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/ipfix"
	"github.com/flowkit/flow/template"
)

// streamListener is a tcp:// or tls:// listener.
type streamListener struct {
	ln  net.Listener
	tls bool
}

// accept serves a stream listener's connections until ctx is done, then waits for them to
// drain and close.
func (c *Collector) accept(ctx context.Context, l *streamListener) error {
	stop := context.AfterFunc(ctx, func() { l.ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	backoff := 5 * time.Millisecond
	for {
		conn, err := l.ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of file descriptors, say: wait for connections to close rather
				// than spin on the error.
				c.log.Warn("collector: accepting", "addr", l.ln.Addr(), "err", err)
				time.Sleep(backoff)
				backoff = min(time.Second, 2*backoff)
				continue
			}
			return errors.Join(errors.New("collector: accepting on "+l.ln.Addr().String()), err)
		}
		backoff = 5 * time.Millisecond
		// Bounded before any goroutine or buffer is spent on the connection: a flood of
		// connections costs accepts and closes, not memory.
		if c.reg.streams.open.Add(1) > uint64(c.cfg.MaxConnections) {
			c.reg.streams.open.Add(^uint64(0))
			c.reg.streams.refused.Add(1)
			conn.Close()
			continue
		}
		c.reg.streams.accepted.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.reg.streams.open.Add(^uint64(0))
			c.serveStream(ctx, conn, l.tls)
		}()
	}
}

// serveStream reads one connection, a transport session of its own, until it ends: the
// exporter closes it, it breaks, it stays idle too long, or ctx is done and it has been
// drained.
func (c *Collector) serveStream(ctx context.Context, conn net.Conn, isTLS bool) {
	defer conn.Close()
	ra, _ := netip.ParseAddrPort(conn.RemoteAddr().String())
	sess := template.Session{Exporter: netip.AddrPortFrom(ra.Addr().Unmap(), ra.Port()), Protocol: flow.IPFIX, Stream: true}
	log := c.log.With("exporter", sess.Exporter)
	if isTLS {
		tc := tls.Server(conn, c.cfg.TLS)
		hctx, cancel := context.WithTimeout(ctx, c.cfg.HandshakeTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			c.reg.streams.handshakes.Add(1)
			log.Debug("collector: TLS handshake", "err", err)
			return
		}
		conn = tc
	}
	d := newDecoder(c.templates, c.seqs)
	// The session's templates and sequence figures go with it (RFC 7011 section 8: on a
	// stream, templates live as long as the session).
	defer d.ipfx.EndSession(sess)

	// When ctx is done: half-close, so that the exporter learns the collector is going
	// (an exporter that watches its connection stops writing and closes it: whatever it
	// sent is read, and what it still holds goes to the next collector), and keep reading
	// until it closes or DrainTimeout passes.
	var draining atomic.Int64 // the drain deadline, in ns, once ctx is done
	stop := context.AfterFunc(ctx, func() {
		until := time.Now().Add(c.cfg.DrainTimeout)
		draining.Store(until.UnixNano())
		conn.SetReadDeadline(until)
		if cw, ok := conn.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
	})
	defer stop()

	r := ipfix.NewReader(conn)
	for {
		conn.SetReadDeadline(time.Now().Add(c.cfg.IdleTimeout))
		if ns := draining.Load(); ns != 0 {
			// ctx ended while the idle deadline was being set: the drain's stands.
			conn.SetReadDeadline(time.Unix(0, ns))
		}
		msg, err := r.Next()
		if err != nil {
			c.streamEnded(err, draining.Load() != 0, log)
			return
		}
		if c.cfg.Raw != nil {
			c.cfg.Raw(sess.Exporter, msg)
		}
		res := d.decodeStream(msg, sess)
		c.deliver(msg, sess.Exporter, res, time.Now())
		if errors.Is(res.err, flow.ErrTemplate) {
			// A template redefined without a withdrawal: the exporter and the collector no
			// longer agree on what the data means. RFC 7011 section 8.1 asks for a reset.
			c.reg.streams.broken.Add(1)
			log.Warn("collector: closing the IPFIX session", "err", res.err)
			return
		}
	}
}

// streamEnded counts how a connection ended, from the Reader's error.
func (c *Collector) streamEnded(err error, draining bool, log *slog.Logger) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF):
		// The exporter closed between messages.
	case errors.As(err, &ne) && ne.Timeout():
		if !draining {
			c.reg.streams.idle.Add(1)
			log.Debug("collector: closing an idle IPFIX session")
		}
	case errors.Is(err, flow.ErrVersion) || errors.Is(err, flow.ErrMalformed) || errors.Is(err, flow.ErrTruncated):
		// Not IPFIX, or cut inside a message: the framing is lost, and the session with it.
		c.reg.errs.add(err)
		c.reg.streams.broken.Add(1)
		log.Warn("collector: closing the IPFIX session", "err", err)
	case errors.Is(err, net.ErrClosed):
	default:
		log.Debug("collector: IPFIX session ended", "err", err)
	}
}
