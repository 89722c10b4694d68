// Command translate receives flow exports in any protocol and exports their records again
// in another, IPFIX by default: NetFlow v5 from an old router, sFlow from a switch, all
// arriving at an IPFIX collector as one stream.
//
//	translate -listen udp://0.0.0.0:2055 -listen udp://0.0.0.0:6343 -collector 192.0.2.10:4739
//	translate -listen udp://127.0.0.1:2055 -collector 127.0.0.1:4739 -transport tcp
//
// Each record keeps its times, counters and addresses; the exporter address and domain
// become translate's own (the original exporter is in the collector's statistics).
package main

import (
	"context"
	"encoding/json"
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
	fs.Var(&listen, "listen", "receive on `udp://host:port` (repeatable)")
	fs.Var(&collectors, "collector", "export to `host:port` (repeatable)")
	proto := fs.String("proto", "ipfix", "export `protocol`: ipfix or netflow9 (netflow5 drops IPv6 records)")
	transport := fs.String("transport", "udp", "`transport` to the collectors: udp, tcp or tls (tcp and tls: IPFIX only)")
	domain := fs.Uint("domain", 0, "observation domain / source ID of the exports")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: translate -listen udp://HOST:PORT ... -collector HOST:PORT ... [flags]\n\n"+
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
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := exporter.Config{Protocol: p, Domain: uint32(*domain), Logger: log}
	for _, c := range collectors {
		cfg.Destinations = append(cfg.Destinations, exporter.Destination{Address: c, Transport: *transport})
	}
	e, err := exporter.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "translate: %v\n", err)
		return 1
	}
	c, err := collector.New(collector.Config{
		Listen: listen, Logger: log,
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
