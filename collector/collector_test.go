package collector

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"expvar"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/corpus"
	"github.com/flowkit/flow/netflow5"
	"github.com/flowkit/flow/sflow"
	"github.com/flowkit/flow/template"
)

// sink collects records from the Handler, safely across goroutines.
type sink struct {
	mu   sync.Mutex
	recs []flow.Record
}

func (s *sink) handle(recs []flow.Record) {
	s.mu.Lock()
	s.recs = append(s.recs, recs...)
	s.mu.Unlock()
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.recs)
}

// start runs a collector on a free loopback port until the test ends.
func start(t *testing.T, cfg Config) (*Collector, *sink, net.Addr, func()) {
	t.Helper()
	s := &sink{}
	if cfg.Handler == nil {
		cfg.Handler = s.handle
	}
	if cfg.Listen == nil {
		cfg.Listen = []string{"udp://127.0.0.1:0"}
	}
	cfg.Logger = slog.New(slog.DiscardHandler)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- c.Serve(ctx) }()
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			stop()
		}
	})
	return c, s, c.Addrs()[0], stop
}

func send(t *testing.T, to net.Addr, msgs ...[]byte) {
	t.Helper()
	conn, err := net.Dial("udp", to.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, m := range msgs {
		if _, err := conn.Write(m); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // loopback buffers are large, but keep bursts modest
	}
}

// waitFor polls until cond holds or 5 seconds pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func v5Datagrams(n, records int, seq0 uint32) [][]byte {
	b := netflow5.Builder{EngineType: 1, EngineID: 2, Boot: time.Unix(1700000000, 0), Sequence: seq0}
	var out [][]byte
	for i := 0; i < n; i++ {
		b.Start(nil, time.Unix(1700000100, 0))
		for j := 0; j < records; j++ {
			r := flow.Record{SrcAddr: netip.AddrFrom4([4]byte{10, 0, byte(i), byte(j)}), DstAddr: netip.MustParseAddr("10.9.9.9"), Packets: 1, Bytes: 100}
			if err := b.AddFlow(&r); err != nil {
				panic(err)
			}
		}
		out = append(out, b.Finish())
	}
	return out
}

func TestCorpusProtocols(t *testing.T) {
	c, s, addr, stop := start(t, Config{})
	var msgs [][]byte
	for _, f := range []string{
		"logstash-codec-netflow/netflow5_test_juniper_mx80.dat", // v5, 29 records
		"telegraf/netflow_v9_example/netflow_v9.bin",            // v9 template and 8 records
		"cistern-sflow/flow_sample_3.dump",                      // sFlow, 3 flow samples
		"logstash-codec-netflow/netflow5_test_invalid01.dat",    // bad count: an error
	} {
		msgs = append(msgs, corpus.Datagrams(t, f)[0])
	}
	msgs = append(msgs, []byte{0, 42, 0, 0, 1, 2, 3}) // no protocol at all
	send(t, addr, msgs...)
	waitFor(t, "40 records and 5 datagrams", func() bool { return s.count() == 40 && c.Stats().Datagrams == 5 })
	stop()

	st := c.Stats()
	if st.Records != 40 || st.Errors.Truncated != 1 || st.Errors.Version != 1 || st.Errors.Total() != 2 {
		t.Errorf("totals %+v", st)
	}
	byProto := map[flow.Protocol]ExporterStats{}
	for _, e := range st.Exporters {
		if e.Exporter != netip.MustParseAddr("127.0.0.1") {
			t.Errorf("exporter %v", e.Exporter)
		}
		byProto[e.Protocol] = e
	}
	if e := byProto[flow.NetFlow9]; e.Records != 8 || e.Datagrams != 1 {
		t.Errorf("v9 %+v", e)
	}
	if e := byProto[flow.SFlow]; e.Records != 3 {
		t.Errorf("sflow %+v", e)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recs {
		if !r.Exporter.IsValid() {
			t.Errorf("record without exporter: %+v", r)
		}
		if r.Protocol == flow.SFlow && r.Start == 0 {
			t.Error("sFlow record not stamped with its arrival time")
		}
	}
}

// TestReportedStatistics: the statistics an exporter's options records give (a Juniper
// MX240's, whose figures logstash-codec-netflow's expectations give too) reach its entry
// in Stats; an exporter that sent none has none.
func TestReportedStatistics(t *testing.T) {
	c, _, addr, stop := start(t, Config{})
	var msgs [][]byte
	for _, f := range []string{"logstash-codec-netflow/ipfix_test_juniper_mx240_junos151r6s3_opttpl512.dat",
		"logstash-codec-netflow/ipfix_test_juniper_mx240_junos151r6s3_data512.dat", "telegraf/netflow_v9_example/netflow_v9.bin"} {
		msgs = append(msgs, corpus.Datagrams(t, f)...)
	}
	send(t, addr, msgs...)
	waitFor(t, "the datagrams", func() bool { return c.Stats().Datagrams == uint64(len(msgs)) })
	stop()
	var n int
	for _, e := range c.Stats().Exporters {
		switch e.Protocol {
		case flow.IPFIX:
			n++
			at := flow.Time(int64(binary.BigEndian.Uint32(msgs[1][4:])) * 1e9)
			want := template.ExporterStatistics{At: at, ExportedMessages: 76, ExportedRecords: 76}
			if e.Reported == nil || *e.Reported != want {
				t.Errorf("IPFIX exporter reported %+v, want %+v", e.Reported, want)
			}
		case flow.NetFlow9:
			n++
			if e.Reported != nil {
				t.Errorf("v9 exporter reported %+v", e.Reported)
			}
		}
	}
	if n != 2 {
		t.Errorf("%d exporters", n)
	}
}

// TestSFlowUnknownAgent: an sFlow agent that sends address type UNKNOWN (the exporter
// does when it has no destination to take its address from) is known by its UDP source.
func TestSFlowUnknownAgent(t *testing.T) {
	_, s, addr, stop := start(t, Config{})
	b := sflow.Builder{SubAgent: 3} // no Agent: address type 0
	b.Start(nil, time.Unix(1700000000, 0))
	hdr := []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, 0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}
	if err := b.AddFlowSample(&sflow.FlowSample{SamplingRate: 10, Header: &sflow.SampledHeader{Protocol: sflow.HeaderEthernet, FrameLength: 34, Header: hdr}}); err != nil {
		t.Fatal(err)
	}
	send(t, addr, b.Finish())
	waitFor(t, "1 record", func() bool { return s.count() == 1 })
	stop()
	if r := s.recs[0]; r.Exporter != netip.MustParseAddr("127.0.0.1") || r.SrcAddr != netip.MustParseAddr("10.0.0.1") {
		t.Errorf("record %+v", r)
	}
}

// TestSequenceGapsAndReordering sends v5 datagrams 0, 1, 3, 2, 5 of a run of six (4 is
// lost, 2 and 3 swapped) with 10 records each: v5 numbers records.
func TestSequenceGapsAndReordering(t *testing.T) {
	c, s, addr, stop := start(t, Config{})
	d := v5Datagrams(6, 10, 1000)
	send(t, addr, d[0], d[1], d[3], d[2], d[5])
	waitFor(t, "50 records", func() bool { return s.count() == 50 })
	stop()
	e := c.Stats().Exporters[0]
	// After 1 comes 3: 2's ten records missing; 2 arrives late (reordered, and it does
	// not take back the loss); after 3 comes 5: 4's ten records missing.
	if e.LostRecords != 20 || e.Reordered != 1 || e.Domain != 1<<8|2 || e.Datagrams != 5 {
		t.Errorf("stats %+v", e)
	}
}

// TestMalformedBetweenGood checks that a bad datagram is counted and the next one decoded.
func TestMalformedBetweenGood(t *testing.T) {
	c, s, addr, stop := start(t, Config{})
	d := v5Datagrams(2, 5, 0)
	bad := append([]byte(nil), d[0]...)
	bad[3] = 200 // count 200 over 5 records' bytes
	send(t, addr, d[0], bad, d[1])
	waitFor(t, "10 records", func() bool { return s.count() == 10 })
	stop()
	st := c.Stats()
	if st.Errors.Truncated != 1 || st.Datagrams != 3 || st.Exporters[0].LostRecords != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestDrainOnShutdown cancels right after sending: what the socket holds is decoded.
func TestDrainOnShutdown(t *testing.T) {
	_, s, addr, stop := start(t, Config{ReadBuffer: 1 << 20})
	d := v5Datagrams(200, 30, 0)
	conn, err := net.Dial("udp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range d {
		conn.Write(m)
	}
	conn.Close()
	stop()
	if got := s.count(); got != 200*30 {
		t.Errorf("%d records decoded of %d sent before shutdown", got, 200*30)
	}
}

func TestReusePortSockets(t *testing.T) {
	c, s, addr, _ := start(t, Config{Sockets: 3})
	addrs := c.Addrs()
	if len(addrs) != 3 || addrs[1].String() != addr.String() || addrs[2].String() != addr.String() {
		t.Fatalf("addresses %v", addrs)
	}
	// From several source ports, so the kernel spreads them over the sockets.
	for i := 0; i < 8; i++ {
		send(t, addr, v5Datagrams(1, 3, uint32(3*i))...)
	}
	waitFor(t, "24 records", func() bool { return s.count() == 24 })
}

func TestPublishExpvar(t *testing.T) {
	c, s, addr, _ := start(t, Config{})
	name := fmt.Sprintf("collector_test_%d", time.Now().UnixNano()) // unique under -count
	c.Publish(name)
	send(t, addr, v5Datagrams(1, 4, 0)...)
	waitFor(t, "4 records", func() bool { return s.count() == 4 })
	var got Stats
	if err := json.Unmarshal([]byte(expvar.Get(name).String()), &got); err != nil {
		t.Fatal(err)
	}
	if got.Records != 4 || len(got.Exporters) != 1 || got.Exporters[0].Protocol != flow.NetFlow5 {
		t.Errorf("expvar %+v", got)
	}
}

func TestNewRejects(t *testing.T) {
	h := func([]flow.Record) {}
	for _, cfg := range []Config{
		{Handler: h},
		{Listen: []string{"udp://127.0.0.1:0"}},
		{Listen: []string{"127.0.0.1:2055"}, Handler: h},
		{Listen: []string{"sctp://127.0.0.1:2055"}, Handler: h},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New accepted %+v", cfg)
		}
	}
}
