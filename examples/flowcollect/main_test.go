package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowkit/flow/collector"
	"github.com/flowkit/flow/internal/corpus"
)

// syncBuffer is a bytes.Buffer safe for the writer goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestCollectPrintsRecordsAndStats(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	ready := make(chan *collector.Collector, 1)
	done := make(chan int)
	go func() { done <- run(ctx, []string{"-listen", "udp://127.0.0.1:0"}, &stdout, &stderr, ready) }()
	c := <-ready
	conn, err := net.Dial("udp", c.Addrs()[0].String())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"logstash-codec-netflow/netflow5_test_juniper_mx80.dat", "cistern-sflow/flow_sample_3.dump"} {
		conn.Write(corpus.Datagrams(t, f)[0])
	}
	conn.Close()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(stdout.String(), "\n") < 32 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 32 {
		t.Fatalf("%d lines, want 29 v5 records and 3 sFlow samples", len(lines))
	}
	types := map[string]int{}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		types[m["type"].(string)]++
	}
	if types["netflow5"] != 29 || types["sflow"] != 3 {
		t.Errorf("types %v", types)
	}
	if !strings.Contains(stderr.String(), "2 datagrams, 32 records, 0 errors") {
		t.Errorf("no statistics line: %s", stderr.String())
	}
}

func TestUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-listen", "tcp6"}, &stdout, &stderr, nil); code != 2 {
		t.Errorf("bad listen address: exit %d", code)
	}
}
