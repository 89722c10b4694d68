// Command flowcollect receives flow exports and prints one JSON line per flow record, with
// the keys flowdump uses, and a line of statistics on SIGINT (Ctrl-C) and at exit.
//
//	flowcollect -listen udp://127.0.0.1:2055
//	flowcollect -listen udp://0.0.0.0:2055 -listen udp://0.0.0.0:6343 -sockets 4 -debug-addr 127.0.0.1:8080
//	flowcollect -listen udp://0.0.0.0:4739 -listen tcp://0.0.0.0:4739
//	flowcollect -listen tls://0.0.0.0:4740 -cert collector.pem -key collector.key -client-ca exporters.pem
//
// NetFlow v5, NetFlow v9, IPFIX and sFlow arrive on any UDP listener: each datagram's
// version field tells which. TCP and TLS listeners take IPFIX streams, a transport session
// per connection. With -debug-addr, /debug/vars serves the counters (expvar).
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/collector"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil))
}

type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(s string) error { *r = append(*r, s); return nil }

// run collects until ctx ends, or after the first interrupt on sigint (nil: the process's
// SIGINT). ready, when set, receives the collector once it listens (for tests).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready chan<- *collector.Collector) int {
	fs := flag.NewFlagSet("flowcollect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var listen repeated
	fs.Var(&listen, "listen", "receive on `scheme://host:port`: udp://, or tcp:// and tls:// for IPFIX (repeatable; default udp://127.0.0.1:2055)")
	certFile := fs.String("cert", "", "with tls://, the collector's certificate chain, PEM `file`")
	keyFile := fs.String("key", "", "with tls://, the certificate's private key, PEM `file`")
	clientCA := fs.String("client-ca", "", "with tls://, admit only exporters with a certificate signed by a CA in this PEM `file`")
	maxConns := fs.Int("max-conns", 1000, "TCP and TLS connections open at once")
	sockets := fs.Int("sockets", 1, "UDP sockets per address (SO_REUSEPORT), each read by its own goroutine")
	rcvbuf := fs.Int("rcvbuf", 4<<20, "UDP receive buffer in `bytes`")
	debugAddr := fs.String("debug-addr", "", "serve /debug/vars (expvar counters) on this `address`")
	quiet := fs.Bool("q", false, "print no records, only the statistics")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: flowcollect [-listen udp://HOST:PORT | tcp://HOST:PORT | tls://HOST:PORT ...] [-cert FILE -key FILE] [flags]\n\n"+
			"Receives NetFlow v5/v9, IPFIX and sFlow and prints one JSON line per flow record.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	if len(listen) == 0 {
		listen = repeated{"udp://127.0.0.1:2055"}
	}

	out := bufio.NewWriterSize(stdout, 1<<16)
	var mu sync.Mutex // handlers run on several goroutines; lines must not interleave
	var line []byte
	handler := func(recs []flow.Record) {
		if *quiet {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for i := range recs {
			line = append(recs[i].AppendJSON(line[:0]), '\n')
			out.Write(line)
		}
	}
	tlsConfig, err := serverTLS(listen, *certFile, *keyFile, *clientCA)
	if err != nil {
		fmt.Fprintf(stderr, "flowcollect: %v\n", err)
		return 2
	}
	c, err := collector.New(collector.Config{
		Listen: listen, Sockets: *sockets, ReadBuffer: *rcvbuf, Handler: handler,
		TLS: tlsConfig, MaxConnections: *maxConns,
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fmt.Fprintf(stderr, "flowcollect: %v\n", err)
		return 2
	}
	if err := c.Listen(); err != nil {
		fmt.Fprintf(stderr, "flowcollect: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "flowcollect: listening on %s\n", endpoints(listen, c.Addrs(), *sockets))
	if *debugAddr != "" {
		c.Publish("flowcollect")
		go func() {
			if err := http.ListenAndServe(*debugAddr, nil); err != nil {
				fmt.Fprintf(stderr, "flowcollect: %v\n", err)
			}
		}()
	}
	if ready != nil {
		ready <- c
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A first SIGINT prints the statistics and stops; records already received are
	// still decoded (Serve drains the sockets).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()
	// Flush the output now and then, so that a reader sees records without waiting.
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				mu.Lock()
				out.Flush()
				mu.Unlock()
			case <-ctx.Done():
				return
			}
		}
	}()
	err = c.Serve(ctx)
	mu.Lock()
	out.Flush()
	mu.Unlock()
	st := c.Stats()
	b, _ := json.Marshal(st)
	fmt.Fprintf(stderr, "flowcollect: %d datagrams, %d records, %d errors; %s\n", st.Datagrams, st.Records, st.Errors.Total(), b)
	if err != nil {
		fmt.Fprintf(stderr, "flowcollect: %v\n", err)
		return 1
	}
	return 0
}

// serverTLS loads the certificate for tls:// listeners, and the CAs exporters' certificates
// must come from when clientCA is set. It returns nil when no tls:// address is listed.
func serverTLS(listen []string, certFile, keyFile, clientCA string) (*tls.Config, error) {
	needed := false
	for _, l := range listen {
		needed = needed || strings.HasPrefix(l, "tls://")
	}
	if !needed {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, errors.New("tls:// needs -cert and -key")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if clientCA != "" {
		pem, err := os.ReadFile(clientCA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", clientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// endpoints names what the collector listens on, scheme and port (port 0 resolved).
func endpoints(listen []string, addrs []net.Addr, sockets int) string {
	var out []string
	i := 0
	for _, l := range listen {
		scheme, _, _ := strings.Cut(l, "://")
		if i < len(addrs) {
			out = append(out, scheme+"://"+addrs[i].String())
		}
		if scheme == "udp" {
			i += sockets
		} else {
			i++
		}
	}
	return strings.Join(out, " ")
}
