package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowkit/flow/internal/capture"
	"github.com/flowkit/flow/internal/trafficgen"
	"github.com/flowkit/flow/netflow9"
)

// TestPcapToPcap meters a generated capture and writes NetFlow v9 datagrams to a pcap,
// then decodes that pcap: every packet and byte of the input is in the records.
func TestPcapToPcap(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.pcap"), filepath.Join(dir, "out.pcap")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	gen, err := trafficgen.WritePcap(f, trafficgen.Config{Seed: 21, Packets: 20000, Concurrent: 200, IPv6Share: 0.25})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"-r", in, "-proto", "netflow9", "-o", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "read 20000 packets") {
		t.Errorf("summary: %s", stdout.String())
	}
	ds, err := capture.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var p netflow9.Parser
	var packets, bytes uint64
	for _, d := range ds {
		if d.Dst.Port() != 2055 {
			t.Fatalf("datagram to %v", d.Dst)
		}
		if _, err := p.Start(d.Payload, d.Src); err != nil {
			t.Fatal(err)
		}
		for _, r := range p.AppendFlows(nil) {
			packets += r.Packets
			bytes += r.Bytes
		}
	}
	if packets != uint64(gen.Packets) || bytes != gen.IPBytes {
		t.Errorf("decoded %d packets %d bytes, generated %d %d", packets, bytes, gen.Packets, gen.IPBytes)
	}
}

func TestUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	for _, args := range [][]string{nil, {"-r", "x"}, {"-r", "x", "-i", "y", "-o", "z"}, {"-r", "x", "-o", "z", "-proto", "netflow7"}} {
		if code := run(context.Background(), args, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
