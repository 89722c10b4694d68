package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/collector"
	"github.com/flowkit/flow/internal/capture"
	"github.com/flowkit/flow/internal/trafficgen"
	"github.com/flowkit/flow/netflow9"
)

// TestPcapToPcap meters a generated capture and writes NetFlow v9 datagrams to a pcap,
// then decodes that pcap: every packet and byte of the input is in the records.
func TestPcapToPcap(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcap")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := trafficgen.WritePcap(f, trafficgen.Config{Seed: 21, Packets: 20000, Concurrent: 200, IPv6Share: 0.25})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-r", in, "-proto", "netflow9", "-o", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "read 20000 packets") {
		t.Errorf("summary: %s", stdout.String())
	}
	ds, err := capture.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var p netflow9.Parser
	var packets, bytes uint64
	for _, d := range ds {
		if d.Dst.Port() != 2055 {
			t.Fatalf("datagram to %v", d.Dst)
		}
		if _, err := p.Start(d.Payload, d.Src); err != nil {
			t.Fatal(err)
		}
		for _, r := range p.AppendFlows(nil) {
			packets += r.Packets
			bytes += r.Bytes
		}
	}
	if packets != uint64(gen.Packets) || bytes != gen.IPBytes {
		t.Errorf("decoded %d packets %d bytes, generated %d %d", packets, bytes, gen.Packets, gen.IPBytes)
	}
}

func TestUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	for _, args := range [][]string{nil, {"-r", "x"}, {"-r", "x", "-i", "y", "-o", "z"}, {"-r", "x", "-o", "z", "-proto", "netflow7"},
		{"-r", "x", "-collector", "y", "-ca", "z"}, {"-r", "x", "-collector", "y", "-transport", "tls", "-cert", "z"}} {
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

// TestIPFIXStreams exports a generated capture as IPFIX over TCP and over TLS (a
// self-signed certificate, trusted with -ca) to a collector: every packet and byte arrives.
func TestIPFIXStreams(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcap")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := trafficgen.WritePcap(f, trafficgen.Config{Seed: 5, Packets: 5000, Concurrent: 100, IPv6Share: 0.25})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, caFile := writeCert(t, dir)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got [2][2]uint64 // per listener: packets, bytes
	col, err := collector.New(collector.Config{Listen: []string{"tcp://127.0.0.1:0", "tls://127.0.0.1:0"},
		TLS: &tls.Config{Certificates: []tls.Certificate{cert}}, Logger: slog.New(slog.DiscardHandler),
		Handler: func(recs []flow.Record) {
			mu.Lock()
			defer mu.Unlock()
			for i := range recs {
				got[recs[i].Domain][0] += recs[i].Packets
				got[recs[i].Domain][1] += recs[i].Bytes
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := col.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error)
	go func() { served <- col.Serve(ctx) }()
	for i, args := range [][]string{
		{"-transport", "tcp", "-collector", col.Addrs()[0].String()},
		{"-transport", "tls", "-ca", caFile, "-collector", col.Addrs()[1].String()},
	} {
		var stdout, stderr strings.Builder
		args = append([]string{"-r", in, "-proto", "ipfix", "-domain", strconv.Itoa(i)}, args...)
		if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, stderr.String())
		}
		if !strings.Contains(stdout.String(), `"errors":0,"dropped":0`) {
			t.Errorf("%v: %s", args, stdout.String())
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		done := got[0][0] == uint64(gen.Packets) && got[1][0] == uint64(gen.Packets)
		mu.Unlock()
		if done || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-served
	mu.Lock()
	defer mu.Unlock()
	for i, g := range got {
		if g[0] != uint64(gen.Packets) || g[1] != gen.IPBytes {
			t.Errorf("domain %d: %d packets %d bytes; generated %d %d", i, g[0], g[1], gen.Packets, gen.IPBytes)
		}
	}
	if st := col.Stats().Streams; st.Accepted != 2 || st.Handshakes != 0 {
		t.Errorf("streams %+v", st)
	}
}

// writeCert writes a self-signed certificate for 127.0.0.1, its key, and the certificate
// again as the CA to trust, as PEM files in dir.
func writeCert(t *testing.T, dir string) (certFile, keyFile, caFile string) {
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
	certFile, keyFile, caFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "ca.pem")
	for file, b := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, caFile: {Type: "CERTIFICATE", Bytes: der},
		keyFile: {Type: "EC PRIVATE KEY", Bytes: kder}} {
		if err := os.WriteFile(file, pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return certFile, keyFile, caFile
}
