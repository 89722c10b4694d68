// Command demo runs the whole library in one process, over loopback.
//
// It replays the capture shipped in data/traffic.pcap (synthetic traffic: TCP connections,
// DNS exchanges, UDP streams, ICMP, a share of IPv6 and VLANs) through an exporter — the
// flow cache meters the packets into flows, which are encoded as IPFIX and sent by UDP (or
// TCP) to 127.0.0.1 — and a collector listening there decodes them. It prints the top
// talkers the collector saw, checks that every packet and byte of the capture arrived, and
// exits 0 when they did.
//
//	go run ./examples/demo                   # IPFIX over UDP, the top talkers
//	go run ./examples/demo -transport tcp    # IPFIX over TCP
//	go run ./examples/demo -proto netflow9   # or netflow5, sflow (1:10 sampling)
//	go run ./examples/demo -json             # every record as a JSON line
package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/collector"
	"github.com/flowkit/flow/exporter"
	"github.com/flowkit/flow/flowcache"
	"github.com/flowkit/flow/internal/capture"
)

//go:generate go run ../../internal/trafficgen/cmd/trafficgen -packets 5000 -concurrent 60 -rate 500 -o data/traffic.pcap

//go:embed data/traffic.pcap
var traffic []byte

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	proto := fs.String("proto", "ipfix", "export `protocol`: ipfix, netflow9, netflow5 or sflow")
	transport := fs.String("transport", "udp", "`transport` from the exporter to the collector: udp, or tcp (IPFIX only)")
	asJSON := fs.Bool("json", false, "print every record the collector decoded as a JSON line")
	top := fs.Int("top", 10, "how many talkers to list")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: demo [-proto P] [-transport udp|tcp] [-json]\n\nReplays the shipped capture through an exporter to a collector on 127.0.0.1 and prints what it decoded.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var p flow.Protocol
	if err := p.UnmarshalText([]byte(*proto)); err != nil || p == flow.Unknown {
		fmt.Fprintf(stderr, "demo: unknown protocol %q\n", *proto)
		return 2
	}
	if *transport != "udp" && (*transport != "tcp" || p != flow.IPFIX) {
		fmt.Fprintf(stderr, "demo: transport %q: udp, or tcp for IPFIX\n", *transport)
		return 2
	}
	if err := demo(p, *transport, *asJSON, *top, stdout); err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	return 0
}

// talker is a source and destination and what went between them.
type talker struct {
	src, dst       netip.Addr
	proto          uint8
	flows          int
	packets, bytes uint64
}

func demo(p flow.Protocol, transport string, asJSON bool, top int, stdout io.Writer) error {
	log := slog.New(slog.DiscardHandler)
	out := bufio.NewWriter(stdout)
	defer out.Flush()

	// The collector: everything it decodes is summed per talker.
	var mu sync.Mutex
	talkers := map[[2]netip.Addr]*talker{}
	var records int
	var packets, octets uint64
	var line []byte
	col, err := collector.New(collector.Config{
		Listen: []string{transport + "://127.0.0.1:0"}, ReadBuffer: 4 << 20, Logger: log,
		Handler: func(recs []flow.Record) {
			mu.Lock()
			defer mu.Unlock()
			for i := range recs {
				r := &recs[i]
				records++
				packets += r.Packets
				octets += r.Bytes
				k := [2]netip.Addr{r.SrcAddr, r.DstAddr}
				t := talkers[k]
				if t == nil {
					t = &talker{src: r.SrcAddr, dst: r.DstAddr, proto: r.IPProto}
					talkers[k] = t
				}
				t.flows++
				t.packets += r.Packets
				t.bytes += r.Bytes
				if asJSON {
					line = append(r.AppendJSON(line[:0]), '\n')
					out.Write(line)
				}
			}
		},
	})
	if err != nil {
		return err
	}
	if err := col.Listen(); err != nil {
		return err
	}
	addr := col.Addrs()[0]
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- col.Serve(ctx) }()

	// The exporter: the capture's packets go through the flow cache (or, for sFlow, are
	// sampled) and out to the collector.
	cfg := exporter.Config{
		Protocol: p, Destinations: []exporter.Destination{{Address: addr.String(), Transport: transport}}, Logger: log,
		Cache: flowcache.Config{InactiveTimeout: 2 * time.Second, ActiveTimeout: 5 * time.Second},
	}
	if p == flow.SFlow {
		cfg.SamplingRate = 10
	}
	exp, err := exporter.New(cfg)
	if err != nil {
		stop()
		return err
	}
	src, err := capture.NewSource(bytes.NewReader(traffic))
	if err != nil {
		stop()
		return err
	}
	start := time.Now()
	if err := exp.Run(context.Background(), src); err != nil { // closes exp: every flow goes out
		stop()
		return err
	}
	st := exp.Stats()

	// Wait for the collector to have everything the exporter sent, then stop it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := records
		mu.Unlock()
		if uint64(n) >= st.Records || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	if err := <-served; err != nil {
		return err
	}
	elapsed := time.Since(start)

	mu.Lock()
	defer mu.Unlock()
	if !asJSON {
		printTop(out, talkers, top)
	}
	cs := col.Stats()
	what := "flow records"
	if p == flow.SFlow {
		what = "flow samples (1 packet in 10)"
	}
	unit := "datagrams"
	if transport == "tcp" {
		unit = "messages"
	}
	fmt.Fprintf(out, "\nexporter: %d packets read, %d %s sent in %d %s %s to %s://%s\n",
		st.Packets, st.Records, what, st.Messages, p, unit, transport, addr)
	fmt.Fprintf(out, "collector: %d records decoded from %d %s (%d lost, %d errors): %d packets, %d bytes, in %v\n",
		records, cs.Datagrams, unit, lost(cs), cs.Errors.Total(), packets, octets, elapsed.Round(time.Millisecond))
	switch {
	case uint64(records) != st.Records:
		return fmt.Errorf("the collector decoded %d of the %d records sent", records, st.Records)
	case p == flow.NetFlow5:
		fmt.Fprintf(out, "(%d IPv6 flows left out: NetFlow v5 carries IPv4 only)\n", st.Unencodable)
	case p != flow.SFlow && packets != st.Cache.Packets:
		return fmt.Errorf("the records count %d packets, the capture has %d", packets, st.Cache.Packets)
	}
	return nil
}

func lost(s collector.Stats) uint64 {
	var n uint64
	for _, e := range s.Exporters {
		n += e.LostRecords + e.LostPackets
	}
	return n
}

// printTop lists the talkers that sent the most bytes.
func printTop(w io.Writer, talkers map[[2]netip.Addr]*talker, top int) {
	list := make([]*talker, 0, len(talkers))
	for _, t := range talkers {
		list = append(list, t)
	}
	slices.SortFunc(list, func(a, b *talker) int {
		return cmp.Or(cmp.Compare(b.bytes, a.bytes), a.src.Compare(b.src), a.dst.Compare(b.dst))
	})
	fmt.Fprintf(w, "%-28s %-28s %5s %5s %8s %10s\n", "SOURCE", "DESTINATION", "PROTO", "FLOWS", "PACKETS", "BYTES")
	for _, t := range list[:min(top, len(list))] {
		fmt.Fprintf(w, "%-28s %-28s %5d %5d %8d %10d\n", t.src, t.dst, t.proto, t.flows, t.packets, t.bytes)
	}
	if len(list) > top {
		fmt.Fprintf(w, "… and %d more pairs\n", len(list)-top)
	}
}
