// Command trafficgen writes a synthetic capture (see package trafficgen) to a pcap file
// and prints its totals, for the demo's shipped capture and for benchmarks against other
// meters on the same file:
//
//	go run ./internal/trafficgen/cmd/trafficgen -packets 1000000 -o /tmp/traffic.pcap
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/flowkit/flow/internal/trafficgen"
)

func main() {
	var cfg trafficgen.Config
	out := flag.String("o", "traffic.pcap", "output `file`")
	flag.Uint64Var(&cfg.Seed, "seed", 1, "random seed: the same seed gives the same file")
	flag.IntVar(&cfg.Packets, "packets", 100000, "packets to write")
	flag.IntVar(&cfg.Concurrent, "concurrent", 1000, "conversations alive at once")
	flag.Float64Var(&cfg.Rate, "rate", 50000, "packets per second (timestamps)")
	flag.Float64Var(&cfg.IPv6Share, "ipv6", 0.2, "share of conversations over IPv6")
	flag.Float64Var(&cfg.VLANShare, "vlan", 0.1, "share of conversations with an 802.1Q tag")
	flag.IntVar(&cfg.Snaplen, "snaplen", 96, "bytes kept of each frame (0: whole frames)")
	flag.Parse()
	f, err := os.Create(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	tot, err := trafficgen.WritePcap(f, cfg)
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s: %d packets, %d IP bytes, %d conversations\n", *out, tot.Packets, tot.IPBytes, tot.Conversations)
}
