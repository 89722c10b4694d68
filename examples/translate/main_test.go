package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/collector"
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
