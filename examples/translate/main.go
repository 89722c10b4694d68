// Command translate receives flow exports in any protocol and exports their records again
// in another, IPFIX by default: NetFlow v5 from an old router, sFlow from a switch, all
// arriving at an IPFIX collector as one stream.
//
//	translate -listen udp://0.0.0.0:2055 -listen udp://0.0.0.0:6343 -collector 192.0.2.10:4739
//	translate -listen udp://127.0.0.1:2055 -collector 127.0.0.1:4739 -transport tcp
//	translate -listen tls://0.0.0.0:4740 -cert c.pem -key c.key -collector 192.0.2.10:4740 -transport tls -ca ca.pem
//
// Any protocol comes in (NetFlow v5 and v9, IPFIX and sFlow over UDP; IPFIX over TCP and
// TLS); IPFIX goes out. Each record keeps its times, counters and addresses; the exporter
// address and domain become translate's own (the original exporter is in the collector's
// statistics).
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/collector"
	"github.com/flowkit/flow/exporter"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr, nil))
}

type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(s string) error { *r = append(*r, s); return nil }

// run translates until ctx ends. ready, when set, receives the collector once it listens.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- *collector.Collector) int {
	fs := flag.NewFlagSet("translate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var listen, collectors repeated
	fs.Var(&listen, "listen", "receive on `scheme://host:port`: udp://, or tcp:// and tls:// for IPFIX (repeatable)")
	fs.Var(&collectors, "collector", "export to `host:port` (repeatable)")
	proto := fs.String("proto", "ipfix", "export `protocol`: ipfix or netflow9 (netflow5 drops IPv6 records)")
	transport := fs.String("transport", "udp", "`transport` to the collectors: udp, tcp or tls (tcp and tls: IPFIX only)")
	domain := fs.Uint("domain", 0, "observation domain / source ID of the exports")
	certFile := fs.String("cert", "", "with tls:// listeners, the certificate chain, PEM `file`")
	keyFile := fs.String("key", "", "with tls:// listeners, the certificate's private key, PEM `file`")
	caFile := fs.String("ca", "", "with -transport tls, trust collectors' certificates signed by a CA in this PEM `file` (default: the system's)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: translate -listen udp://HOST:PORT|tcp://HOST:PORT|tls://HOST:PORT ... -collector HOST:PORT ... [flags]\n\n"+
			"Receives NetFlow v5/v9, IPFIX and sFlow and exports the records again as IPFIX (or NetFlow).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if len(listen) == 0 || len(collectors) == 0 || fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	var p flow.Protocol
	if err := p.UnmarshalText([]byte(*proto)); err != nil || p == flow.Unknown || p == flow.SFlow {
		fmt.Fprintf(stderr, "translate: cannot export records as %q\n", *proto)
		return 2
	}
	serverTLS, clientTLS, err := tlsConfigs(listen, *certFile, *keyFile, *transport, *caFile)
	if err != nil {
		fmt.Fprintf(stderr, "translate: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := exporter.Config{Protocol: p, Domain: uint32(*domain), Logger: log}
	for _, c := range collectors {
		cfg.Destinations = append(cfg.Destinations, exporter.Destination{Address: c, Transport: *transport, TLS: clientTLS})
	}
	e, err := exporter.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "translate: %v\n", err)
		return 1
	}
	c, err := collector.New(collector.Config{
		Listen: listen, Logger: log, TLS: serverTLS,
		Handler: func(recs []flow.Record) {
			for i := range recs {
				e.Record(&recs[i])
			}
		},
	})
	if err == nil {
		err = c.Listen()
	}
	if err != nil {
		e.Close()
		fmt.Fprintf(stderr, "translate: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "translate: %v → %s %v\n", c.Addrs(), p, collectors)
	if ready != nil {
		ready <- c
	}
	// Records arrive with the times of their flows, not of their arrival: the wall clock
	// tells the exporter when a message has waited long enough.
	ticker := time.NewTicker(500 * time.Millisecond)
	defer ticker.Stop()
	go func() {
		for {
			select {
			case now := <-ticker.C:
				e.Tick(now)
			case <-ctx.Done():
				return
			}
		}
	}()
	err = c.Serve(ctx)
	e.Close()
	in, out := c.Stats(), e.Stats()
	b, _ := json.Marshal(out.Destinations)
	fmt.Fprintf(stderr, "translate: received %d records in %d datagrams (%d errors); exported %d records in %d messages %s\n",
		in.Records, in.Datagrams, in.Errors.Total(), out.Records, out.Messages, b)
	if err != nil {
		fmt.Fprintf(stderr, "translate: %v\n", err)
		return 1
	}
	return 0
}

// tlsConfigs loads the certificate of tls:// listeners and the CAs that collectors reached
// over TLS are verified with.
func tlsConfigs(listen []string, certFile, keyFile, transport, caFile string) (server, client *tls.Config, err error) {
	for _, l := range listen {
		if strings.HasPrefix(l, "tls://") && server == nil {
			if certFile == "" || keyFile == "" {
				return nil, nil, errors.New("tls:// needs -cert and -key")
			}
			cert, err := tls.LoadX509KeyPair(certFile, keyFile)
			if err != nil {
				return nil, nil, err
			}
			server = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		}
	}
	if transport == "tls" {
		client = &tls.Config{MinVersion: tls.VersionTLS12}
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return nil, nil, err
			}
			client.RootCAs = x509.NewCertPool()
			if !client.RootCAs.AppendCertsFromPEM(pem) {
				return nil, nil, fmt.Errorf("%s: no PEM certificate", caFile)
			}
		}
	}
	return server, client, nil
}
