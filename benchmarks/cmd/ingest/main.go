// Command ingest measures how many records a second the collector decodes when another
// process sends them over loopback as fast as it can, and how many it loses.
//
//	go run ./cmd/ingest -proto ipfix -records 2000000 -sockets 2
//
// It starts a collector in this process, then runs itself with -send in a second process,
// which sends pre-encoded datagrams of 20 records each to the collector's port and prints
// how many it sent. Loss is what was sent minus what the collector decoded (the UDP
// receive buffers overflowed); the rate is records decoded over the time from the first
// to the last datagram received.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/collector"
	"github.com/flowkit/flow/ipfix"
	"github.com/flowkit/flow/netflow5"
	"github.com/flowkit/flow/netflow9"
)

const perDatagram = 20

func main() {
	send := flag.String("send", "", "send to this `address` (the second process)")
	proto := flag.String("proto", "ipfix", "`protocol`: ipfix, netflow9 or netflow5")
	records := flag.Int("records", 2000000, "records to send")
	sockets := flag.Int("sockets", 2, "collector UDP sockets (SO_REUSEPORT)")
	rate := flag.Int("rate", 0, "records a second to send at (0: as fast as possible)")
	flag.Parse()
	var p flow.Protocol
	if err := p.UnmarshalText([]byte(*proto)); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *send != "" {
		sender(*send, p, *records, *rate)
		return
	}

	var got atomic.Uint64
	var first, last atomic.Int64
	c, err := collector.New(collector.Config{
		Listen: []string{"udp://127.0.0.1:0"}, Sockets: *sockets, ReadBuffer: 32 << 20,
		Logger: slog.New(slog.DiscardHandler),
		Handler: func(recs []flow.Record) {
			now := time.Now().UnixNano()
			first.CompareAndSwap(0, now)
			last.Store(now)
			got.Add(uint64(len(recs)))
		},
	})
	if err == nil {
		err = c.Listen()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Serve(ctx); close(done) }()

	cmd := exec.Command(os.Args[0], "-send", c.Addrs()[0].String(), "-proto", *proto,
		"-records", strconv.Itoa(*records), "-rate", strconv.Itoa(*rate))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sender:", err)
		os.Exit(1)
	}
	sent, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	time.Sleep(200 * time.Millisecond) // what the sockets still hold
	stop()
	<-done
	n := got.Load()
	secs := float64(last.Load()-first.Load()) / 1e9
	fmt.Printf("%s: sent %d records in %d datagrams; decoded %d (%.2f%% lost) in %.3f s: %.0f records/s, %d sockets\n",
		p, sent, sent/perDatagram, n, 100*float64(int64(sent)-int64(n))/float64(sent), secs, float64(n)/secs, *sockets)
}

// sender encodes datagrams of 20 records (templates first, for v9 and IPFIX) and sends
// them over and over, with the sequence numbers the Builder keeps so that the collector
// sees no loss of its own making, and prints the number of records sent.
func sender(addr string, p flow.Protocol, records, rate int) {
	conn, err := net.Dial("udp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	now := time.Now()
	recs := make([]flow.Record, perDatagram)
	for i := range recs {
		recs[i] = flow.Record{
			SrcAddr: netip.AddrFrom4([4]byte{10, 1, 2, byte(i)}), DstAddr: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}),
			SrcPort: uint16(40000 + i), DstPort: 443, IPProto: 6, Packets: 10, Bytes: 5000, TCPFlags: 0x1b,
			Start: flow.TimeOf(now.Add(-time.Minute)), End: flow.TimeOf(now), InIf: 1, OutIf: 2, SrcAS: 64500, DstAS: 15169,
		}
	}
	var build func(seq uint32) []byte
	switch p {
	case flow.NetFlow9:
		// 20 records of the IPv4 template take 1,740 bytes: one datagram, on loopback.
		b := netflow9.Builder{TemplateRefresh: 1 << 30, TemplateInterval: time.Hour, MaxSize: 4000}
		b.Start(nil, now) // the first datagram carries the templates
		for i := range recs {
			b.AddFlow(&recs[i])
		}
		conn.Write(b.Finish())
		build = func(uint32) []byte {
			b.Start(nil, now)
			for i := range recs {
				b.AddFlow(&recs[i])
			}
			return b.Finish()
		}
	case flow.IPFIX:
		// 20 records of the default IPv4 template take about 1,500 bytes: one datagram.
		b := ipfix.Builder{TemplateRefresh: 1 << 30, TemplateInterval: time.Hour, MaxSize: 4000}
		b.Start(nil, now) // the first datagram carries the templates
		for i := range recs {
			b.AddFlow(&recs[i])
		}
		conn.Write(b.Finish())
		build = func(uint32) []byte {
			b.Start(nil, now)
			for i := range recs {
				b.AddFlow(&recs[i])
			}
			return b.Finish()
		}
	case flow.NetFlow5:
		var b netflow5.Builder
		build = func(uint32) []byte {
			b.Start(nil, now)
			for i := range recs {
				b.AddFlow(&recs[i])
			}
			return b.Finish()
		}
	default:
		fmt.Fprintln(os.Stderr, "unsupported protocol", p)
		os.Exit(2)
	}
	var interval time.Duration
	if rate > 0 {
		interval = time.Second * perDatagram / time.Duration(rate)
	}
	start := time.Now()
	sent := 0
	if p == flow.NetFlow9 || p == flow.IPFIX {
		sent = perDatagram // the datagram with the templates, sent above
	}
	for sent < records {
		msg := build(0)
		if _, err := conn.Write(msg); err == nil {
			sent += perDatagram
		}
		if interval > 0 {
			if ahead := time.Duration(sent/perDatagram)*interval - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
		}
	}
	fmt.Println(sent)
}
