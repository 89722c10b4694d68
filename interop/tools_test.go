package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var quiet = slog.New(slog.DiscardHandler)

// debianPackage names the package that brings each tool, for the skip message.
var debianPackage = map[string]string{
	"tshark": "tshark", "softflowd": "softflowd", "nfcapd": "nfdump", "nfdump": "nfdump",
	"nfacctd": "pmacct", "sfacctd": "pmacct", "pmacctd": "pmacct",
}

// need returns the paths of the tools, or skips the test when one is not installed.
func need(t *testing.T, tools ...string) []string {
	t.Helper()
	paths := make([]string, len(tools))
	for i, tool := range tools {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s not installed (Debian package %s)", tool, debianPackage[tool])
		}
		paths[i] = p
	}
	return paths
}

// freeUDPPort returns a UDP port on 127.0.0.1 that nothing listens on now.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// syncBuffer collects a process's output while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// process is a tool running for a test.
type process struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	out  syncBuffer
	done chan struct{}
	err  error
}

// start runs a tool in dir; it is killed when the test ends, if it still runs.
func start(t *testing.T, dir, path string, args ...string) *process {
	t.Helper()
	p := &process{t: t, name: filepath.Base(path), done: make(chan struct{})}
	p.cmd = exec.Command(path, args...)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), "TZ=UTC")
	p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.out
	// Its own process group: pmacct forks a process per plugin, and all of them go.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", p.name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			<-p.done
		}
		// Children a plugin left behind share the group.
		syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("%s %s output:\n%s", p.name, strings.Join(args, " "), p.out.String())
		}
	})
	return p
}

// wait waits for the process to exit by itself and fails the test if it does not within
// the timeout or exits with an error.
func (p *process) wait(timeout time.Duration) {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("%s still running after %v; output:\n%s", p.name, timeout, p.out.String())
	}
	if p.err != nil {
		p.t.Fatalf("%s: %v; output:\n%s", p.name, p.err, p.out.String())
	}
}

// stop sends sig and waits for the process to exit.
func (p *process) stop(sig syscall.Signal, timeout time.Duration) {
	p.t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("%s did not exit within %v of %v; output:\n%s", p.name, timeout, sig, p.out.String())
	}
	var ee *exec.ExitError
	if p.err != nil && !errors.As(p.err, &ee) {
		p.t.Fatalf("%s: %v", p.name, p.err)
	}
}

// poll waits until cond holds, failing the test if the process exits first or the
// timeout passes; what says what was awaited.
func (p *process) poll(what string, timeout time.Duration, cond func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		select {
		case <-p.done:
			p.t.Fatalf("%s exited before it %s: %v; output:\n%s", p.name, what, p.err, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s has not %s after %v; output:\n%s", p.name, what, timeout, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitOutput waits until the process has printed s.
func (p *process) waitOutput(s string, timeout time.Duration) {
	p.t.Helper()
	p.poll(fmt.Sprintf("printed %q", s), timeout, func() bool { return strings.Contains(p.out.String(), s) })
}

// udpQueue returns the bytes queued on the UDP socket bound to port on 127.0.0.1, as
// /proc/net/udp shows (rx_queue), and whether there is such a socket.
func udpQueue(t *testing.T, port int) (queued int, bound bool) {
	t.Helper()
	table, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		t.Fatal(err)
	}
	local := fmt.Sprintf("0100007F:%04X", port)
	for _, line := range strings.Split(string(table), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[1] == local {
			_, rx, _ := strings.Cut(f[4], ":") // tx_queue:rx_queue, hex
			n, err := strconv.ParseUint(rx, 16, 64)
			if err != nil {
				t.Fatalf("/proc/net/udp: %q", line)
			}
			return int(n), true
		}
	}
	return 0, false
}

// waitBound waits until the daemon has bound the UDP port on 127.0.0.1: binding it to
// find out would race with the daemon.
func (p *process) waitBound(port int, timeout time.Duration) {
	p.t.Helper()
	p.poll(fmt.Sprintf("listened on 127.0.0.1:%d", port), timeout, func() bool { _, ok := udpQueue(p.t, port); return ok })
}

// waitDrained waits until the daemon's socket on the port holds no datagram: it has read
// all that was sent. A daemon stopped before that would drop what is still queued.
func (p *process) waitDrained(port int, timeout time.Duration) {
	p.t.Helper()
	p.poll(fmt.Sprintf("read what was sent to port %d", port), timeout, func() bool {
		n, ok := udpQueue(p.t, port)
		if !ok {
			p.t.Fatalf("%s no longer listens on port %d; output:\n%s", p.name, port, p.out.String())
		}
		return n == 0
	})
}

// send sends datagrams to addr from 127.0.0.1, paced so that a daemon reading with a
// default-sized socket buffer on a busy 2-core machine keeps up: UDP over loopback drops
// what the receiver's buffer cannot hold, and a lost datagram would fail the comparison.
func send(t *testing.T, addr string, datagrams [][]byte) {
	t.Helper()
	c, err := net.Dial("udp4", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i, d := range datagrams {
		if _, err := c.Write(d); err != nil {
			t.Fatalf("sending datagram %d to %s: %v", i, addr, err)
		}
		time.Sleep(500 * time.Microsecond)
	}
}

// run runs a tool to completion and returns its standard output.
func run(t *testing.T, path string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(path), strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// loopback is the address every test sends from and to.
var loopback = netip.MustParseAddr("127.0.0.1")

func addrPort(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }
