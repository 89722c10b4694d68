// Command flowexport meters packets into flows and exports them, like softflowd.
//
//	flowexport -r traffic.pcap -proto ipfix -collector 127.0.0.1:4739
//	flowexport -i eth0 -proto netflow9 -collector 192.0.2.10:2055 -active 60s
//	flowexport -r traffic.pcap -proto netflow5 -o exports.pcap
//	flowexport -r traffic.pcap -collector 127.0.0.1:4739 -transport tcp
//	flowexport -r traffic.pcap -collector collector.example:4740 -transport tls -ca ca.pem
//
// It reads a pcap or pcapng file (-r) at file speed, with time taken from the packets, or
// a live interface (-i, Linux, needs CAP_NET_RAW), and prints what it read and exported
// when done (Ctrl-C ends a live capture).
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
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/capture"
	"github.com/flowkit/flow/exporter"
	"github.com/flowkit/flow/flowcache"
	icapture "github.com/flowkit/flow/internal/capture"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// repeated collects a flag given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(s string) error { *r = append(*r, s); return nil }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("flowexport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var collectors repeated
	file := fs.String("r", "", "read packets from a pcap or pcapng `file`")
	iface := fs.String("i", "", "capture packets on a live `interface` (Linux, CAP_NET_RAW)")
	proto := fs.String("proto", "ipfix", "export `protocol`: netflow5, netflow9, ipfix or sflow")
	fs.Var(&collectors, "collector", "send to `host:port` (repeatable)")
	transport := fs.String("transport", "udp", "`transport` to the collectors: udp, tcp or tls (tcp and tls: IPFIX only)")
	caFile := fs.String("ca", "", "with -transport tls, trust collectors' certificates signed by a CA in this PEM `file` (default: the system's)")
	certFile := fs.String("cert", "", "with -transport tls, present this client certificate chain, PEM `file`")
	keyFile := fs.String("key", "", "with -transport tls, the client certificate's private key, PEM `file`")
	active := fs.Duration("active", flowcache.DefaultActiveTimeout, "active timeout: report long flows this often")
	inactive := fs.Duration("inactive", flowcache.DefaultInactiveTimeout, "inactive timeout: a flow ends after this long without packets")
	sample := fs.Uint("sample", 0, "meter one packet in `N` (sFlow: default 1000)")
	maxFlows := fs.Int("max-flows", flowcache.DefaultMaxFlows, "flows held at once")
	domain := fs.Uint("domain", 0, "observation domain / source ID / engine / sub-agent")
	biflow := fs.Bool("biflow", false, "one record for both directions of a conversation (IPFIX, RFC 5103)")
	out := fs.String("o", "", "write the exported datagrams to a pcap `file` (UDP over IPv4 loopback) instead of sending them")
	promisc := fs.Bool("promisc", false, "with -i, put the interface in promiscuous mode")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: flowexport (-r FILE | -i IFACE) [-proto P] (-collector HOST:PORT ... | -o FILE) [flags]\n\n"+
			"Meters packets into flows and exports them as NetFlow v5, NetFlow v9, IPFIX or sFlow.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if (*file == "") == (*iface == "") || (len(collectors) == 0) == (*out == "") || fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	var p flow.Protocol
	if err := p.UnmarshalText([]byte(*proto)); err != nil || p == flow.Unknown {
		fmt.Fprintf(stderr, "flowexport: unknown protocol %q\n", *proto)
		return 2
	}

	cfg := exporter.Config{
		Protocol: p,
		Domain:   uint32(*domain),
		Cache: flowcache.Config{ActiveTimeout: *active, InactiveTimeout: *inactive, MaxFlows: *maxFlows,
			SamplingInterval: uint32(*sample), Biflow: *biflow},
		Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if p == flow.SFlow {
		cfg.Cache.SamplingInterval = 0
		cfg.SamplingRate = uint32(*sample)
		if cfg.SamplingRate == 0 {
			cfg.SamplingRate = 1000
		}
	}
	tlsConfig, err := clientTLS(*transport, *caFile, *certFile, *keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "flowexport: %v\n", err)
		return 2
	}
	for _, c := range collectors {
		cfg.Destinations = append(cfg.Destinations, exporter.Destination{Address: c, Transport: *transport, TLS: tlsConfig})
	}
	var pcapOut *icapture.Writer
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "flowexport: %v\n", err)
			return 1
		}
		defer f.Close()
		if pcapOut, err = icapture.NewWriter(f); err != nil {
			fmt.Fprintf(stderr, "flowexport: %v\n", err)
			return 1
		}
		port := map[flow.Protocol]uint16{flow.NetFlow5: 2055, flow.NetFlow9: 2055, flow.IPFIX: 4739, flow.SFlow: 6343}[p]
		from, to := netip.MustParseAddrPort("127.0.0.1:40000"), netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port)
		var last time.Time
		cfg.Output = func(msg []byte) {
			// Stamped with the wall clock, strictly increasing: replaying the file keeps
			// the datagrams in order.
			now := time.Now()
			if !now.After(last) {
				now = last.Add(time.Microsecond)
			}
			last = now
			if err := pcapOut.Write(icapture.Datagram{Time: now, Src: from, Dst: to, Payload: msg}); err != nil {
				fmt.Fprintf(stderr, "flowexport: writing %s: %v\n", *out, err)
			}
		}
	}
	e, err := exporter.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "flowexport: %v\n", err)
		return 1
	}

	var src capture.Source
	if *file != "" {
		s, err := icapture.OpenSource(*file)
		if err != nil {
			e.Close()
			fmt.Fprintf(stderr, "flowexport: %v\n", err)
			return 1
		}
		src = s
	} else {
		s, err := capture.OpenLive(capture.LiveConfig{Interface: *iface, Promiscuous: *promisc})
		if err != nil {
			e.Close()
			fmt.Fprintf(stderr, "flowexport: %v\n", err)
			return 1
		}
		src = s
	}
	start := time.Now()
	err = e.Run(ctx, src) // closes the exporter: every flow is exported
	src.Close()
	if err != nil && !errors.Is(err, context.Canceled) {
		fmt.Fprintf(stderr, "flowexport: %v\n", err)
		return 1
	}
	st := e.Stats()
	fmt.Fprintf(stdout, "read %d packets (%d without IP, %d of our own exports) in %v\n",
		st.Packets, st.Unparseable, st.OwnTraffic, time.Since(start).Round(time.Millisecond))
	what := "records"
	if p == flow.SFlow {
		what = "samples"
	}
	fmt.Fprintf(stdout, "exported %d %s (%d not encodable in %s) in %d messages\n", st.Records, what, st.Unencodable, p, st.Messages)
	for _, d := range st.Destinations {
		b, _ := json.Marshal(d)
		fmt.Fprintf(stdout, "destination %s\n", b)
	}
	if p != flow.SFlow {
		c := st.Cache
		fmt.Fprintf(stdout, "flows: %d created; ended idle %d, active %d, end of flow %d, forced %d, evicted %d\n",
			c.Created, c.ExpiredBy(flow.EndIdle), c.ExpiredBy(flow.EndActive), c.ExpiredBy(flow.EndOfFlow),
			c.ExpiredBy(flow.EndForced), c.ExpiredBy(flow.EndLackOfResources))
	}
	return 0
}

// clientTLS sets up TLS to the collectors: the CAs to verify them with (nil: the system's)
// and a client certificate, which collectors that authenticate exporters ask for.
func clientTLS(transport, caFile, certFile, keyFile string) (*tls.Config, error) {
	if transport != "tls" {
		if caFile != "" || certFile != "" || keyFile != "" {
			return nil, errors.New("-ca, -cert and -key go with -transport tls")
		}
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", caFile)
		}
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("-cert and -key go together")
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}
