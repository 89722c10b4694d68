package capture

import (
	"bytes"
	"errors"
	"net"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestLiveLoopback(t *testing.T) {
	l, err := OpenLive(LiveConfig{Interface: "lo", PollInterval: 20 * time.Millisecond, BlockSize: 1 << 16, Blocks: 4})
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		t.Skipf("live capture not permitted here (needs CAP_NET_RAW): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	marker := []byte("flowkit-capture-test-0123456789")
	before := time.Now()
	for i := 0; i < 20; i++ {
		if _, err := conn.WriteTo(marker, conn.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	seen := 0
	deadline := time.Now().Add(5 * time.Second)
	for seen < 20 && time.Now().Before(deadline) {
		p, err := l.ReadPacket()
		if errors.Is(err, ErrTimeout) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(p.Data, marker) {
			continue // other loopback traffic
		}
		seen++
		// Loopback frames carry a 14-byte Ethernet header of zeros, then IPv4 and UDP.
		if p.Length != 14+20+8+len(marker) || len(p.Data) != p.Length || p.Data[12] != 0x08 || p.Data[13] != 0 {
			t.Errorf("frame length %d/%d, ethertype % x", len(p.Data), p.Length, p.Data[12:14])
		}
		if at := p.Time.AsTime(); at.Before(before.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
			t.Errorf("timestamp %v not around now", at)
		}
	}
	// On loopback each datagram is seen twice (outgoing and incoming) or once, depending
	// on the kernel; at least every one must be seen.
	if seen < 20 {
		t.Errorf("saw %d of the 20 datagrams", seen)
	}
	if _, err := l.Stats(); err != nil {
		t.Error(err)
	}
	if err := l.Close(); err != nil {
		t.Error(err)
	}
	if _, err := l.ReadPacket(); !errors.Is(err, ErrClosed) {
		t.Errorf("ReadPacket after Close: %v", err)
	}
}

// TestLiveTimeout captures in a network namespace of its own, where nothing is sent, so
// that ReadPacket must time out.
func TestLiveTimeout(t *testing.T) {
	type result struct {
		err     error
		elapsed time.Duration
		skip    string
	}
	done := make(chan result)
	go func() {
		// The namespace belongs to this OS thread, which is never handed back to the
		// scheduler: the goroutine ends locked, and the thread with it.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			done <- result{skip: "creating a network namespace is not permitted here: " + err.Error()}
			return
		}
		l, err := OpenLive(LiveConfig{Interface: "lo", PollInterval: 10 * time.Millisecond, BlockSize: 1 << 16, Blocks: 2})
		if err != nil {
			done <- result{err: err}
			return
		}
		defer l.Close()
		start := time.Now()
		_, err = l.ReadPacket()
		done <- result{err: err, elapsed: time.Since(start)}
	}()
	r := <-done
	switch {
	case r.skip != "":
		t.Skip(r.skip)
	case errors.Is(r.err, unix.EPERM) || errors.Is(r.err, unix.EACCES):
		t.Skipf("live capture not permitted here (needs CAP_NET_RAW): %v", r.err)
	case !errors.Is(r.err, ErrTimeout):
		t.Fatalf("ReadPacket on a silent interface: %v", r.err)
	case r.elapsed < 10*time.Millisecond:
		t.Errorf("timed out after %v, before the 10 ms poll interval", r.elapsed)
	}
}

func TestOpenLiveBadInterface(t *testing.T) {
	_, err := OpenLive(LiveConfig{Interface: "no-such-interface0"})
	if err == nil {
		t.Fatal("opened a nonexistent interface")
	}
}
