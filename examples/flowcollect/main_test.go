package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/collector"
	"github.com/flowkit/flow/exporter"
	"github.com/flowkit/flow/internal/corpus"
)

// syncBuffer is a bytes.Buffer safe for the writer goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestCollectPrintsRecordsAndStats(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	ready := make(chan *collector.Collector, 1)
	done := make(chan int)
	go func() { done <- run(ctx, []string{"-listen", "udp://127.0.0.1:0"}, &stdout, &stderr, ready) }()
	c := <-ready
	conn, err := net.Dial("udp", c.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"logstash-codec-netflow/netflow5_test_juniper_mx80.dat", "cistern-sflow/flow_sample_3.dump"} {
		conn.Write(corpus.Datagrams(t, f)[0])
	}
	conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(stdout.String(), "\n") < 32 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 32 {
		t.Fatalf("%d lines, want 29 v5 records and 3 sFlow samples", len(lines))
	}
	types := map[string]int{}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		types[m["type"].(string)]++
	}
	if types["netflow5"] != 29 || types["sflow"] != 3 {
		t.Errorf("types %v", types)
	}
	if !strings.Contains(stderr.String(), "2 datagrams, 32 records, 0 errors") {
		t.Errorf("no statistics line: %s", stderr.String())
	}
}

func TestUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-listen", "tcp6"}, &stdout, &stderr, nil); code != 2 {
		t.Errorf("bad listen address: exit %d", code)
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key as PEM files, and
// returns their paths and a client config that trusts the certificate.
func writeCert(t *testing.T) (certFile, keyFile string, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, &tls.Config{RootCAs: pool}
}

// TestCollectIPFIXStreams receives IPFIX over TCP and TLS from the exporter package.
func TestCollectIPFIXStreams(t *testing.T) {
	certFile, keyFile, client := writeCert(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	ready := make(chan *collector.Collector, 1)
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"-listen", "tcp://127.0.0.1:0", "-listen", "tls://127.0.0.1:0", "-cert", certFile, "-key", keyFile},
			&stdout, &stderr, ready)
	}()
	c := <-ready
	addrs := c.Addrs()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i, transport := range []string{"tcp", "tls"} {
		e, err := exporter.New(exporter.Config{Protocol: flow.IPFIX, Logger: slog.New(slog.DiscardHandler),
			Destinations: []exporter.Destination{{Address: addrs[i].String(), Transport: transport, TLS: client}}})
		if err != nil {
			t.Fatal(err)
		}
		for j := range 10 {
			r := flow.Record{SrcAddr: netip.AddrFrom4([4]byte{10, 0, byte(i), byte(j)}), DstAddr: netip.MustParseAddr("192.0.2.1"),
				Packets: 1, Bytes: 100, Start: flow.TimeOf(t0), End: flow.TimeOf(t0)}
			e.Record(&r)
		}
		e.Close()
		if st := e.Stats(); st.Destinations[0].Errors != 0 || st.Destinations[0].Dropped != 0 {
			t.Fatalf("%s: exporter %+v", transport, st.Destinations[0])
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(stdout.String(), "\n") < 20 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if n := strings.Count(stdout.String(), `"type":"ipfix"`); n != 20 {
		t.Errorf("%d IPFIX records printed, want 20:\n%s", n, stdout.String())
	}
	if !strings.Contains(stderr.String(), "listening on tcp://127.0.0.1:") || !strings.Contains(stderr.String(), " tls://127.0.0.1:") ||
		!strings.Contains(stderr.String(), `"accepted":2`) {
		t.Errorf("stderr: %s", stderr.String())
	}
}

func TestTLSNeedsCert(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-listen", "tls://127.0.0.1:0"}, &stdout, &stderr, nil); code != 2 {
		t.Errorf("tls:// without -cert: exit %d", code)
	}
}
