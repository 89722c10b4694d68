package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/capture"
	"github.com/flowkit/flow/internal/corpus"
	"github.com/flowkit/flow/ipfix"
	"github.com/flowkit/flow/netflow5"
)

func dump(t *testing.T, args ...string) (lines []map[string]any, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	if code := run(context.Background(), args, &out, &errs); code != 0 {
		t.Fatalf("flowdump %v exited %d: %s", args, code, errs.String())
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines, errs.String()
}

func TestRawConcatenatedDatagrams(t *testing.T) {
	lines, stderr := dump(t, "-raw", corpus.File(t, "logstash-codec-netflow/netflow5.dat"))
	if len(lines) != 30 {
		t.Fatalf("%d records, want the 30 of 12 datagrams", len(lines))
	}
	if !strings.Contains(stderr, "12 datagrams, 30 records, 0 errors") {
		t.Errorf("summary: %s", stderr)
	}
	first := lines[0]
	if first["type"] != "netflow5" || first["src_addr"] != "10.0.2.2" || first["dst_port"] != 22.0 ||
		first["exporter"] != nil || first["start"] != "2015-05-02T18:38:04.898328000Z" {
		t.Errorf("first record: %v", first)
	}
}

func TestRawInvalidDatagram(t *testing.T) {
	lines, stderr := dump(t, "-raw", corpus.File(t, "logstash-codec-netflow/netflow5_test_invalid01.dat"))
	if len(lines) != 0 {
		t.Errorf("%d records from an invalid datagram", len(lines))
	}
	if !strings.Contains(stderr, "truncated") || !strings.Contains(stderr, "1 errors") {
		t.Errorf("stderr: %s", stderr)
	}
}

func TestPcap(t *testing.T) {
	lines, _ := dump(t, "-r", corpus.File(t, "akvorado/netflow/nfv5.pcap"))
	if len(lines) == 0 {
		t.Fatal("no records")
	}
	for _, l := range lines {
		if l["type"] != "netflow5" || l["exporter"] == nil {
			t.Errorf("record without type or exporter: %v", l)
		}
	}
}

// TestPcapWritten runs on a capture this test writes, so it needs no shared corpus.
func TestPcapWritten(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v5.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := capture.NewWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"logstash-codec-netflow/netflow5_test_juniper_mx80.dat", "goflow2/TestDecodeNetFlowV5_data.dat"} {
		err := w.Write(capture.Datagram{
			Src:     netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}), 9999),
			Dst:     netip.MustParseAddrPort("127.0.0.1:2055"),
			Payload: corpus.Datagrams(t, name)[0],
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	lines, _ := dump(t, "-r", path)
	if len(lines) != 29+6 {
		t.Fatalf("%d records, want 35", len(lines))
	}
	if lines[0]["exporter"] != "192.0.2.1" || lines[29]["exporter"] != "192.0.2.2" {
		t.Errorf("exporters %v %v", lines[0]["exporter"], lines[29]["exporter"])
	}
	if lines[28]["src_addr"] != "66.249.92.75" || lines[28]["src_as"] != 15169.0 || lines[28]["sampling_interval"] != 1000.0 {
		t.Errorf("record 28: %v", lines[28])
	}
}

func TestListen(t *testing.T) {
	// Find a free port, then hand it to flowdump.
	probe, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.LocalAddr().String()
	probe.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errs bytes.Buffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"-listen", addr, "-c", "1"}, &out, &errs) }()

	b := netflow5.Builder{Boot: time.Unix(1700000000, 0)}
	b.Start(nil, time.Unix(1700000100, 0))
	for i := 0; i < 3; i++ {
		if err := b.Add(netflow5.Record{Packets: uint32(i + 1), Proto: 17}); err != nil {
			t.Fatal(err)
		}
	}
	msg := b.Finish()
	// An unconnected socket, so that datagrams sent before the listener is up are lost
	// quietly instead of failing later writes with "connection refused".
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	dst, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	// The listener may not be up yet: resend until it has read one datagram.
	for {
		if _, err := conn.WriteTo(msg, dst); err != nil {
			t.Fatal(err)
		}
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs.String())
			}
			if n := strings.Count(out.String(), "\n"); n != 3 {
				t.Errorf("%d lines, want 3:\n%s", n, out.String())
			}
			if !strings.Contains(out.String(), `"exporter":"127.0.0.1"`) {
				t.Errorf("exporter not set: %s", out.String())
			}
			return
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("flowdump did not receive the datagram")
		}
	}
}

func TestUsage(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(context.Background(), nil, &out, &errs); code != 2 {
		t.Errorf("no source: exit %d, want 2", code)
	}
	if code := run(context.Background(), []string{"-r", "a", "-raw", "b"}, &out, &errs); code != 2 {
		t.Errorf("two sources: exit %d, want 2", code)
	}
	if !strings.Contains(errs.String(), "Usage: flowdump") {
		t.Errorf("no usage text: %s", errs.String())
	}
}

func TestNetFlow9Pcap(t *testing.T) {
	// Options, then the template, then data: the flows get the options' sampling rate.
	var lines []map[string]any
	for _, f := range []string{"options-template.pcap", "options-data.pcap", "template.pcap", "data.pcap"} {
		l, _ := dump(t, "-r", corpus.File(t, "akvorado/netflow/"+f))
		lines = append(lines, l...)
	}
	if len(lines) != 0 {
		t.Errorf("separate runs keep no templates, yet %d records", len(lines))
	}
	lines, stderr := dump(t, "-raw", corpus.File(t, "telegraf/netflow_v9_example/netflow_v9.bin"))
	if len(lines) != 8 || !strings.Contains(stderr, "1 datagrams, 8 records, 0 errors") {
		t.Fatalf("%d records; %s", len(lines), stderr)
	}
	if l := lines[0]; l["type"] != "netflow9" || l["src_addr"] != "140.82.121.3" || l["bytes"] != 87477.0 || l["start"] != "2022-10-21T11:07:58.660000000Z" {
		t.Errorf("first record: %v", l)
	}
}
func TestSFlowConcatenatedDatagrams(t *testing.T) {
	lines, stderr := dump(t, "-raw", corpus.File(t, "cistern-sflow/flow_samples_2.dump"))
	if len(lines) != 3 || !strings.Contains(stderr, "2 datagrams, 3 records, 0 errors") {
		t.Fatalf("%d records; %s", len(lines), stderr)
	}
	if l := lines[0]; l["type"] != "sflow" || l["exporter"] != "208.85.240.52" || l["packets"] != 1.0 || l["sampling_interval"] != 512.0 {
		t.Errorf("first record: %v", l)
	}
}

func TestSFlowCounters(t *testing.T) {
	lines, stderr := dump(t, "-r", corpus.File(t, "tcpdump/sflow-print-v6.pcap"), "-counters")
	if !strings.Contains(stderr, "25 datagrams, 13 records, 0 errors") || !strings.Contains(stderr, "96 counter records") {
		t.Fatalf("summary: %s", stderr)
	}
	// tcpdump's decode of the first datagram: ifindex 23001, Out octets 9717, multicast 79.
	var found bool
	for _, l := range lines {
		if l["type"] != "sflow_counters" || l["format"] != "0:1" {
			continue
		}
		c := l["counters"].(map[string]any)
		if c["Index"] == 23001.0 && l["sequence"] == 28.0 {
			found = true
			if c["OutOctets"] != 9717.0 || c["OutMulticastPkts"] != 79.0 || c["Speed"] != 4e11 || l["agent"] != "30::1:1:1" {
				t.Errorf("counters: %v", l)
			}
		}
	}
	if !found {
		t.Error("no generic counters for ifIndex 23001")
	}
}

func TestIPFIXMessages(t *testing.T) {
	// Three messages back to back; the first brings the templates.
	lines, stderr := dump(t, "-raw", corpus.File(t, "logstash-codec-netflow/ipfix.dat"))
	if len(lines) != 12 || !strings.Contains(stderr, "3 datagrams, 12 records, 0 errors") {
		t.Fatalf("%d records; %s", len(lines), stderr)
	}
	if l := lines[0]; l["type"] != "ipfix" || l["src_addr"] != "192.168.253.1" || l["dst_port"] != 22.0 {
		t.Errorf("first record: %v", l)
	}
	// A biflow prints both directions.
	lines, stderr = dump(t, "-raw", corpus.File(t, "logstash-codec-netflow/ipfix_test_ixia_tpldata256.dat"))
	if len(lines) != 1 || !strings.Contains(stderr, "0 errors") {
		t.Errorf("ixia: %d records; %s", len(lines), stderr)
	}
}

// ipfixStream returns messages of five records each, templates in the first only, as an
// exporter sends them over a stream.
func ipfixStream(t *testing.T, n int) [][]byte {
	t.Helper()
	b := ipfix.Builder{Domain: 3, TemplateRefresh: 1000}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var out [][]byte
	for i := range n {
		b.Start(nil, t0)
		for j := range 5 {
			r := flow.Record{SrcAddr: netip.AddrFrom4([4]byte{10, 0, byte(i), byte(j)}), DstAddr: netip.MustParseAddr("192.0.2.1"),
				IPProto: 6, Packets: 1, Bytes: 60, Start: flow.TimeOf(t0), End: flow.TimeOf(t0)}
			if err := b.AddFlow(&r); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, b.Finish())
	}
	return out
}

// TestIPFIXFile reads an RFC 5655 file written by ipfix.Writer with -r: the templates of
// its first message serve the rest, as on a stream.
func TestIPFIXFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exports.ipfix")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := ipfix.NewWriter(f)
	for _, m := range ipfixStream(t, 3) {
		if _, err := w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	lines, stderr := dump(t, "-r", path)
	if len(lines) != 15 || !strings.Contains(stderr, "3 datagrams, 15 records, 0 errors") {
		t.Fatalf("%d records; %s", len(lines), stderr)
	}
	if l := lines[14]; l["type"] != "ipfix" || l["domain"] != 3.0 || l["src_addr"] != "10.0.2.4" {
		t.Errorf("last record %v", l)
	}
}

// TestListenTCP reads IPFIX over TCP.
func TestListenTCP(t *testing.T) {
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errs bytes.Buffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"-listen", "tcp://" + addr, "-c", "2"}, &out, &errs) }()
	var conn net.Conn
	for conn == nil {
		if conn, err = net.Dial("tcp", addr); err != nil {
			if ctx.Err() != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	defer conn.Close()
	for _, m := range ipfixStream(t, 2) {
		conn.Write(m)
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if n := strings.Count(out.String(), `"exporter":"127.0.0.1"`); n != 10 {
		t.Errorf("%d records from 127.0.0.1, want 10:\n%s\n%s", n, out.String(), errs.String())
	}
}
