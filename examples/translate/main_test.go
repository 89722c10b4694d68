package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/collector"
	"github.com/flowkit/flow/exporter"
	"github.com/flowkit/flow/internal/corpus"
)

// TestV5ToV9 translates the Juniper v5 capture into NetFlow v9 and checks, at a collector,
// that the records came through with their addresses and counters.
func TestV5ToV9(t *testing.T) {
	var mu sync.Mutex
	var got []flow.Record
	dst, err := collector.New(collector.Config{Listen: []string{"udp://127.0.0.1:0"}, Logger: slog.New(slog.DiscardHandler),
		Handler: func(recs []flow.Record) { mu.Lock(); got = append(got, recs...); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	dst.Listen()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go dst.Serve(ctx)

	tctx, tcancel := context.WithCancel(context.Background())
	ready := make(chan *collector.Collector, 1)
	done := make(chan int)
	var stderr bytes.Buffer
	go func() {
		done <- run(tctx, []string{"-listen", "udp://127.0.0.1:0", "-collector", dst.Addrs()[0].String(), "-proto", "netflow9"}, &stderr, ready)
	}()
	c := <-ready
	in := corpus.Datagrams(t, "logstash-codec-netflow/netflow5_test_juniper_mx80.dat")[0]
	conn, err := net.Dial("udp", c.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	conn.Write(in)
	conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 29 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	tcancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 29 {
		t.Fatalf("%d records, want 29", len(got))
	}
	var packets, bytes uint64
	for _, r := range got {
		if r.Protocol != flow.NetFlow9 {
			t.Errorf("protocol %v", r.Protocol)
		}
		packets += r.Packets
		bytes += r.Bytes
	}
	last := got[28]
	if packets != 31 || last.SrcAddr.String() != "66.249.92.75" || last.SrcAS != 15169 || last.Start.AsTime().Format(time.RFC3339Nano) != "2016-07-21T13:52:33.936Z" {
		t.Errorf("packets %d bytes %d; last record %+v", packets, bytes, last)
	}
}

// TestAnyToIPFIX translates NetFlow v5 over UDP and IPFIX over TCP into IPFIX over TCP:
// the collector at the end gets every record, as IPFIX from translate's domain.
func TestAnyToIPFIX(t *testing.T) {
	var mu sync.Mutex
	var got []flow.Record
	dst, err := collector.New(collector.Config{Listen: []string{"tcp://127.0.0.1:0"}, Logger: slog.New(slog.DiscardHandler),
		Handler: func(recs []flow.Record) { mu.Lock(); got = append(got, recs...); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	dst.Listen()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go dst.Serve(ctx)

	tctx, tcancel := context.WithCancel(context.Background())
	ready := make(chan *collector.Collector, 1)
	done := make(chan int)
	var stderr bytes.Buffer
	go func() {
		done <- run(tctx, []string{"-listen", "udp://127.0.0.1:0", "-listen", "tcp://127.0.0.1:0",
			"-collector", dst.Addrs()[0].String(), "-transport", "tcp", "-domain", "77"}, &stderr, ready)
	}()
	c := <-ready
	conn, err := net.Dial("udp", c.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	conn.Write(corpus.Datagrams(t, "logstash-codec-netflow/netflow5_test_juniper_mx80.dat")[0])
	conn.Close()
	e, err := exporter.New(exporter.Config{Protocol: flow.IPFIX, Logger: slog.New(slog.DiscardHandler),
		Destinations: []exporter.Destination{{Address: c.Addrs()[1].String(), Transport: "tcp"}}})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 50 {
		r := flow.Record{SrcAddr: netip.MustParseAddr("2001:db8::1"), DstAddr: netip.AddrFrom16([16]byte{0x20, 0x01, 15: byte(i)}),
			IPProto: 17, Packets: 2, Bytes: 300, Start: flow.TimeOf(t0), End: flow.TimeOf(t0.Add(time.Second))}
		e.Record(&r)
	}
	e.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 79 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	tcancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	mu.Lock()
	defer mu.Unlock()
	var packets uint64
	v6 := 0
	for _, r := range got {
		if r.Protocol != flow.IPFIX || r.Domain != 77 {
			t.Fatalf("record %+v", r)
		}
		packets += r.Packets
		if r.SrcAddr.Is6() {
			v6++
		}
	}
	if len(got) != 79 || packets != 31+100 || v6 != 50 {
		t.Errorf("%d records (%d IPv6) with %d packets; want 29 from v5 and 50 from IPFIX, 131 packets", len(got), v6, packets)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"-listen", "udp://127.0.0.1:0"}, {"-listen", "tls://127.0.0.1:0", "-collector", "127.0.0.1:4739"},
		{"-listen", "udp://127.0.0.1:0", "-collector", "127.0.0.1:4739", "-proto", "sflow"}} {
		var stderr bytes.Buffer
		if code := run(context.Background(), args, &stderr, nil); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
