package flowcache

import (
	"cmp"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/flowtest"
	gocmp "github.com/google/go-cmp/cmp"
)

// collector is a Sink that keeps copies of what it receives.
type collector struct {
	mu   sync.Mutex
	fwd  []flow.Record
	revs []*flow.Record
}

func (c *collector) sink(fwd, rev *flow.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fwd = append(c.fwd, *fwd)
	if rev != nil {
		r := *rev
		c.revs = append(c.revs, &r)
	} else {
		c.revs = append(c.revs, nil)
	}
}

func (c *collector) take() []flow.Record {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.fwd
	c.fwd, c.revs = nil, nil
	return out
}

var t0 = flow.TimeOf(time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC))

func at(d time.Duration) flow.Time { return t0.Add(d) }

func newCache(t *testing.T, cfg Config) (*Cache, *collector) {
	t.Helper()
	col := &collector{}
	cfg.Sink = col.sink
	if cfg.Shards == 0 {
		cfg.Shards = 1
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, col
}

func tcp(src, dst string, sport, dport uint16, flags uint16, t flow.Time, length uint32) *Packet {
	return &Packet{
		Time: t, SrcAddr: netip.MustParseAddr(src), DstAddr: netip.MustParseAddr(dst),
		SrcPort: sport, DstPort: dport, IPProto: 6, TCPFlags: flags, TTL: 64, Length: length,
	}
}

func udp(src, dst string, sport, dport uint16, t flow.Time, length uint32) *Packet {
	p := tcp(src, dst, sport, dport, 0, t, length)
	p.IPProto = 17
	return p
}

func mustUpdate(t *testing.T, c *Cache, p *Packet) {
	t.Helper()
	if err := c.Update(p); err != nil {
		t.Fatal(err)
	}
}

func TestIdleTimeoutBoundary(t *testing.T) {
	c, col := newCache(t, Config{InactiveTimeout: 15 * time.Second})
	mustUpdate(t, c, udp("10.0.0.1", "10.0.0.2", 1000, 53, at(0), 60))
	mustUpdate(t, c, udp("10.0.0.1", "10.0.0.2", 1000, 53, at(time.Second), 80))

	c.Expire(at(16*time.Second - 1).AsTime())
	if got := col.take(); len(got) != 0 {
		t.Fatalf("expired 1 ns before the idle timeout: %v", got)
	}
	c.Expire(at(16 * time.Second).AsTime())
	got := col.take()
	if len(got) != 1 {
		t.Fatalf("%d records at the idle timeout, want 1", len(got))
	}
	r := got[0]
	if r.EndReason != flow.EndIdle || r.Packets != 2 || r.Bytes != 140 || r.Start != at(0) || r.End != at(time.Second) {
		t.Errorf("record %+v", r)
	}
	if r.SrcAddr != netip.MustParseAddr("10.0.0.1") || r.DstPort != 53 || r.IPProto != 17 {
		t.Errorf("key %v:%d → %v:%d", r.SrcAddr, r.SrcPort, r.DstAddr, r.DstPort)
	}
	if st := c.Stats(); st.Flows != 0 || st.ExpiredBy(flow.EndIdle) != 1 || st.Created != 1 || st.Packets != 2 || st.Bytes != 140 {
		t.Errorf("stats %+v", st)
	}
}

// A packet arriving exactly at the idle deadline of its own flow finds the flow expired
// and starts a new one.
func TestIdleTimeoutByPacketTime(t *testing.T) {
	c, col := newCache(t, Config{InactiveTimeout: 10 * time.Second})
	mustUpdate(t, c, udp("10.0.0.1", "10.0.0.2", 1, 2, at(0), 100))
	mustUpdate(t, c, udp("10.0.0.1", "10.0.0.2", 1, 2, at(10*time.Second-1), 100)) // still the same flow
	mustUpdate(t, c, udp("10.0.0.1", "10.0.0.2", 1, 2, at(20*time.Second-1), 100)) // idle exactly 10 s
	got := col.take()
	if len(got) != 1 || got[0].Packets != 2 || got[0].EndReason != flow.EndIdle {
		t.Fatalf("got %+v", got)
	}
	c.Flush()
	got = col.take()
	if len(got) != 1 || got[0].Packets != 1 || got[0].Start != at(20*time.Second-1) || got[0].EndReason != flow.EndForced {
		t.Fatalf("after flush: %+v", got)
	}
}

func TestActiveTimeoutBoundary(t *testing.T) {
	c, col := newCache(t, Config{ActiveTimeout: time.Minute, InactiveTimeout: time.Hour})
	// One packet a second from t0: at t0+60s the first minute is reported, and the
	// packet at 60 s starts the next period.
	for s := 0; s < 60; s++ {
		mustUpdate(t, c, tcp("192.0.2.1", "192.0.2.2", 40000, 443, 0x10, at(time.Duration(s)*time.Second), 100))
	}
	c.Expire(at(time.Minute - 1).AsTime())
	if got := col.take(); len(got) != 0 {
		t.Fatalf("reported before the active timeout: %v", got)
	}
	mustUpdate(t, c, tcp("192.0.2.1", "192.0.2.2", 40000, 443, 0x18, at(time.Minute), 100))
	got := col.take()
	if len(got) != 1 {
		t.Fatalf("%d records at the active timeout, want 1", len(got))
	}
	if r := got[0]; r.EndReason != flow.EndActive || r.Packets != 60 || r.Bytes != 6000 || r.Start != at(0) || r.End != at(59*time.Second) || r.TCPFlags != 0x10 {
		t.Errorf("first period %+v", r)
	}
	if st := c.Stats(); st.Flows != 1 {
		t.Errorf("flow gone after its active report: %+v", st)
	}
	// The next period runs a minute from its report.
	mustUpdate(t, c, tcp("192.0.2.1", "192.0.2.2", 40000, 443, 0x10, at(90*time.Second), 100))
	c.Expire(at(2*time.Minute - 1).AsTime())
	if got := col.take(); len(got) != 0 {
		t.Fatalf("second period reported early: %v", got)
	}
	c.Expire(at(2 * time.Minute).AsTime())
	got = col.take()
	if len(got) != 1 || got[0].Packets != 2 || got[0].Start != at(time.Minute) || got[0].End != at(90*time.Second) || got[0].TCPFlags != 0x18 {
		t.Fatalf("second period: %+v", got)
	}
	// Silent since: no empty record, and the idle timeout removes the entry quietly.
	c.Expire(at(3 * time.Hour).AsTime())
	if got := col.take(); len(got) != 0 {
		t.Errorf("empty periods reported: %v", got)
	}
	if st := c.Stats(); st.Flows != 0 || st.ExpiredBy(flow.EndActive) != 2 || st.ExpiredBy(flow.EndIdle) != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestEndOfFlowFINBothWays(t *testing.T) {
	for _, biflow := range []bool{false, true} {
		c, col := newCache(t, Config{EndWait: 2 * time.Second, InactiveTimeout: time.Minute, Biflow: biflow, Shards: 4})
		const a, b = "198.51.100.7", "203.0.113.9"
		mustUpdate(t, c, tcp(a, b, 50000, 80, 0x02, at(0), 60))                   // SYN
		mustUpdate(t, c, tcp(b, a, 80, 50000, 0x12, at(10*time.Millisecond), 60)) // SYN-ACK
		mustUpdate(t, c, tcp(a, b, 50000, 80, 0x11, at(time.Second), 52))         // FIN from a
		c.Expire(at(30 * time.Second).AsTime())                                   // one FIN is not an end
		mustUpdate(t, c, tcp(b, a, 80, 50000, 0x11, at(31*time.Second), 52))      // FIN from b: the end
		mustUpdate(t, c, tcp(a, b, 50000, 80, 0x10, at(31*time.Second+1e7), 52))  // the last ACK, within the wait
		c.Expire(at(33*time.Second - 1).AsTime())
		if got := col.take(); len(got) != 0 {
			t.Fatalf("biflow=%v: reported before the end wait: %v", biflow, got)
		}
		c.Expire(at(33 * time.Second).AsTime())
		col.mu.Lock()
		fwd, revs := col.fwd, col.revs
		col.mu.Unlock()
		if biflow {
			if len(fwd) != 1 || revs[0] == nil {
				t.Fatalf("biflow: %d records", len(fwd))
			}
			f, r := fwd[0], *revs[0]
			if f.SrcAddr.String() != a || f.Packets != 3 || f.TCPFlags != 0x13 || f.EndReason != flow.EndOfFlow {
				t.Errorf("biflow forward %+v", f)
			}
			if r.SrcAddr.String() != b || r.SrcPort != 80 || r.Packets != 2 || r.TCPFlags != 0x13 || r.EndReason != flow.EndOfFlow {
				t.Errorf("biflow reverse %+v", r)
			}
		} else {
			if len(fwd) != 2 {
				t.Fatalf("uniflow: %d records, want both directions", len(fwd))
			}
			for _, f := range fwd {
				if f.EndReason != flow.EndOfFlow {
					t.Errorf("uniflow %v→%v: %v", f.SrcAddr, f.DstAddr, f.EndReason)
				}
				if f.SrcAddr.String() == a && (f.Packets != 3 || f.End != at(31*time.Second+1e7)) {
					t.Errorf("the last ACK is not in a's record: %+v", f)
				}
			}
		}
	}
}

func TestEndOfFlowRST(t *testing.T) {
	c, col := newCache(t, Config{EndWait: time.Second})
	mustUpdate(t, c, tcp("10.1.1.1", "10.2.2.2", 1234, 22, 0x02, at(0), 60))
	mustUpdate(t, c, tcp("10.1.1.1", "10.2.2.2", 1234, 22, 0x04, at(time.Second), 40))
	c.Expire(at(2*time.Second - 1).AsTime())
	if len(col.take()) != 0 {
		t.Fatal("RST reported before the wait")
	}
	c.Expire(at(2 * time.Second).AsTime())
	got := col.take()
	if len(got) != 1 || got[0].EndReason != flow.EndOfFlow || got[0].TCPFlags != 0x06 {
		t.Fatalf("got %+v", got)
	}
}

func TestEndWaitNegativeReportsAtOnce(t *testing.T) {
	c, col := newCache(t, Config{EndWait: -1})
	mustUpdate(t, c, tcp("10.1.1.1", "10.2.2.2", 1234, 22, 0x04, at(0), 40))
	if got := col.take(); len(got) != 1 || got[0].EndReason != flow.EndOfFlow {
		t.Fatalf("got %+v", got)
	}
}

func TestFlushAndClose(t *testing.T) {
	c, col := newCache(t, Config{Shards: 4})
	for i := 0; i < 10; i++ {
		mustUpdate(t, c, udp("10.0.0.1", "10.0.0.2", uint16(i), 53, at(0), 100))
	}
	c.Flush()
	got := col.take()
	if len(got) != 10 {
		t.Fatalf("flush: %d records", len(got))
	}
	for _, r := range got {
		if r.EndReason != flow.EndForced {
			t.Errorf("flush reason %v", r.EndReason)
		}
	}
	mustUpdate(t, c, udp("10.0.0.1", "10.0.0.2", 1, 53, at(time.Second), 100))
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if got := col.take(); len(got) != 1 {
		t.Errorf("close reported %d flows", len(got))
	}
	if err := c.Update(udp("10.0.0.1", "10.0.0.2", 1, 53, at(2*time.Second), 100)); !errors.Is(err, ErrClosed) {
		t.Errorf("Update after Close: %v", err)
	}
}

func TestEvictionLeastRecentlySeen(t *testing.T) {
	c, col := newCache(t, Config{MaxFlows: 3})
	for i, port := range []uint16{1, 2, 3} {
		mustUpdate(t, c, udp("10.0.0.1", "10.0.0.2", port, 53, at(time.Duration(i)*time.Millisecond), 100))
	}
	mustUpdate(t, c, udp("10.0.0.1", "10.0.0.2", 1, 53, at(5*time.Millisecond), 100)) // port 1 is fresh again
	mustUpdate(t, c, udp("10.0.0.1", "10.0.0.2", 4, 53, at(6*time.Millisecond), 100)) // evicts port 2
	mustUpdate(t, c, udp("10.0.0.1", "10.0.0.2", 5, 53, at(7*time.Millisecond), 100)) // evicts port 3
	got := col.take()
	if len(got) != 2 || got[0].SrcPort != 2 || got[1].SrcPort != 3 {
		t.Fatalf("evicted %+v, want ports 2 then 3", got)
	}
	for _, r := range got {
		if r.EndReason != flow.EndLackOfResources {
			t.Errorf("reason %v", r.EndReason)
		}
	}
	if st := c.Stats(); st.Flows != 3 || st.ExpiredBy(flow.EndLackOfResources) != 2 || st.Created != 5 {
		t.Errorf("stats %+v", st)
	}
	c.Flush()
	ports := map[uint16]bool{}
	for _, r := range col.take() {
		ports[r.SrcPort] = true
	}
	if !ports[1] || !ports[4] || !ports[5] || len(ports) != 3 {
		t.Errorf("left in the cache: %v", ports)
	}
}

func TestBiflowInitiatorIsFirstSender(t *testing.T) {
	// The responder's address sorts first, so the canonical key has it on the a side;
	// the initiator must still be the first packet's sender.
	c, col := newCache(t, Config{Biflow: true})
	const client, server = "203.0.113.200", "10.0.0.1"
	mustUpdate(t, c, udp(client, server, 5353, 53, at(0), 70))
	mustUpdate(t, c, udp(server, client, 53, 5353, at(time.Millisecond), 300))
	mustUpdate(t, c, udp(client, server, 5353, 53, at(2*time.Millisecond), 70))
	c.Flush()
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.fwd) != 1 || col.revs[0] == nil {
		t.Fatalf("%d records", len(col.fwd))
	}
	f, r := col.fwd[0], col.revs[0]
	if f.SrcAddr.String() != client || f.SrcPort != 5353 || f.Packets != 2 || f.Bytes != 140 {
		t.Errorf("forward %+v", f)
	}
	if r.SrcAddr.String() != server || r.DstPort != 5353 || r.Packets != 1 || r.Bytes != 300 || r.Start != at(time.Millisecond) {
		t.Errorf("reverse %+v", r)
	}
	if st := c.Stats(); st.Created != 1 {
		t.Errorf("%d entries for one conversation", st.Created)
	}
}

func TestUniflowDirectionsAreSeparate(t *testing.T) {
	c, col := newCache(t, Config{})
	mustUpdate(t, c, udp("10.0.0.2", "10.0.0.1", 53, 5353, at(0), 300))
	mustUpdate(t, c, udp("10.0.0.1", "10.0.0.2", 5353, 53, at(0), 70))
	c.Flush()
	got := col.take()
	if len(got) != 2 {
		t.Fatalf("%d records", len(got))
	}
	for _, r := range got {
		switch r.SrcAddr.String() {
		case "10.0.0.1":
			if r.Bytes != 70 || r.SrcPort != 5353 {
				t.Errorf("%+v", r)
			}
		case "10.0.0.2":
			if r.Bytes != 300 || r.SrcPort != 53 {
				t.Errorf("%+v", r)
			}
		}
	}
}

func TestKeyFields(t *testing.T) {
	p1 := udp("10.0.0.1", "10.0.0.2", 1, 2, at(0), 10)
	p2 := udp("10.0.0.1", "10.0.0.2", 1, 2, at(1), 10)
	p2.VLAN, p2.InIf, p2.ToS, p2.SrcMAC = 20, 3, 0xb8, flow.MAC{1}
	for _, tt := range []struct {
		fields KeyFields
		flows  int
	}{{0, 1}, {KeyVLAN, 2}, {KeyInIf, 2}, {KeyToS, 2}, {KeyMACs, 2}} {
		c, col := newCache(t, Config{Key: tt.fields})
		mustUpdate(t, c, p1)
		mustUpdate(t, c, p2)
		c.Flush()
		if got := col.take(); len(got) != tt.flows {
			t.Errorf("key fields %b: %d flows, want %d", tt.fields, len(got), tt.flows)
		}
	}
}

func TestRecordFields(t *testing.T) {
	c, col := newCache(t, Config{SamplingInterval: 1})
	p := &Packet{
		Time: at(0), SrcAddr: netip.MustParseAddr("2001:db8::1"), DstAddr: netip.MustParseAddr("2001:db8::2"),
		SrcPort: 1, DstPort: 2, IPProto: 6, ToS: 0x20, TCPFlags: 0x02, TTL: 60, Length: 80,
		InIf: 3, OutIf: 4, VLAN: 100, SrcMAC: flow.MAC{1, 2, 3, 4, 5, 6}, DstMAC: flow.MAC{6, 5, 4, 3, 2, 1},
	}
	mustUpdate(t, c, p)
	q := *p
	q.Time, q.TTL, q.TCPFlags = at(time.Second), 50, 0x10
	mustUpdate(t, c, &q)
	c.Flush()
	got := col.take()
	want := flow.Record{
		SrcAddr: p.SrcAddr, DstAddr: p.DstAddr, SrcPort: 1, DstPort: 2, IPProto: 6,
		Packets: 2, Bytes: 160, Start: at(0), End: at(time.Second), InIf: 3, OutIf: 4,
		TCPFlags: 0x12, ToS: 0x20, VLAN: 100, SrcMAC: p.SrcMAC, DstMAC: p.DstMAC, EndReason: flow.EndForced,
	}
	if len(got) != 1 || got[0] != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestIPv4AndMappedIPv6AreDifferentFlows(t *testing.T) {
	c, col := newCache(t, Config{})
	mustUpdate(t, c, udp("10.0.0.1", "10.0.0.2", 1, 2, at(0), 10))
	mustUpdate(t, c, udp("::ffff:10.0.0.1", "::ffff:10.0.0.2", 1, 2, at(0), 10))
	c.Flush()
	got := col.take()
	if len(got) != 2 {
		t.Fatalf("%d flows", len(got))
	}
	if !got[0].SrcAddr.Is4() && !got[1].SrcAddr.Is4() || got[0].SrcAddr.Is4() == got[1].SrcAddr.Is4() {
		t.Errorf("addresses %v %v", got[0].SrcAddr, got[1].SrcAddr)
	}
}

func TestDeterministicSampling(t *testing.T) {
	c, col := newCache(t, Config{SamplingInterval: 10})
	for i := 0; i < 1000; i++ {
		mustUpdate(t, c, udp("10.0.0.1", "10.0.0.2", 1, 2, at(time.Duration(i)), 100))
	}
	c.Flush()
	got := col.take()
	if len(got) != 1 || got[0].Packets != 100 || got[0].SamplingInterval != 10 {
		t.Fatalf("got %+v", got)
	}
	if st := c.Stats(); st.Packets != 100 || st.SampledOut != 900 {
		t.Errorf("stats %+v", st)
	}
}

func TestRandomSampling(t *testing.T) {
	c, col := newCache(t, Config{SamplingInterval: 10, RandomSampling: true})
	const n = 100000
	for i := 0; i < n; i++ {
		mustUpdate(t, c, udp("10.0.0.1", "10.0.0.2", 1, 2, at(time.Duration(i)), 100))
	}
	c.Flush()
	got := col.take()
	// Binomial(100000, 0.1): mean 10000, standard deviation about 95. Six deviations
	// either way fail once in a billion runs.
	if len(got) != 1 || got[0].Packets < 10000-570 || got[0].Packets > 10000+570 || got[0].SamplingInterval != 10 {
		t.Fatalf("%d flows, %d packets sampled of %d at 1:10", len(got), got[0].Packets, n)
	}
}

func TestConcurrentUpdatesConserveCounts(t *testing.T) {
	var mu sync.Mutex
	var packets, bytes uint64
	sink := func(fwd, rev *flow.Record) {
		mu.Lock()
		packets += fwd.Packets
		bytes += fwd.Bytes
		mu.Unlock()
	}
	c, err := New(Config{MaxFlows: 500, Shards: 4, Sink: sink, InactiveTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	const workers, each = 4, 5000
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				p := udp("10.0.0.1", "10.0.0.2", uint16(w*1000+i%700), 53, at(time.Duration(i)*time.Microsecond), uint32(i%1400+1))
				if err := c.Update(p); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c.Close()
	var wantBytes uint64
	for i := 0; i < each; i++ {
		wantBytes += uint64(i%1400 + 1)
	}
	if packets != workers*each || bytes != workers*wantBytes {
		t.Errorf("exported %d packets %d bytes, fed %d packets %d bytes", packets, bytes, workers*each, workers*wantBytes)
	}
	if st := c.Stats(); st.Packets != workers*each || st.Flows != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("no Sink accepted")
	}
	if _, err := New(Config{Sink: func(_, _ *flow.Record) {}, MaxFlows: -1}); err == nil {
		t.Error("negative MaxFlows accepted")
	}
	c, err := New(Config{Sink: func(_, _ *flow.Record) {}, MaxFlows: 3, Shards: 64})
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.Config()
	if cfg.Shards > 4 || cfg.InactiveTimeout != DefaultInactiveTimeout || cfg.ActiveTimeout != DefaultActiveTimeout || cfg.EndWait != DefaultEndWait {
		t.Errorf("defaults %+v", cfg)
	}
}

// TestSinkMayScribble checks that a Sink which changes the records it gets (as an
// exporter setting Exporter and Domain might) does not leak its changes into the next
// record: the cache reuses one record per shard.
func TestSinkMayScribble(t *testing.T) {
	var got []flow.Record
	sink := func(fwd, rev *flow.Record) {
		got = append(got, *fwd)
		*fwd = flowtest.Garbage()
	}
	c, err := New(Config{Shards: 1, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	mustUpdate(t, c, udp("10.0.0.1", "10.0.0.2", 1, 2, at(0), 10))
	mustUpdate(t, c, udp("10.0.0.3", "10.0.0.4", 3, 4, at(0), 20))
	c.Flush()
	if len(got) != 2 {
		t.Fatalf("%d records", len(got))
	}
	want := flow.Record{SrcAddr: netip.MustParseAddr("10.0.0.3"), DstAddr: netip.MustParseAddr("10.0.0.4"),
		SrcPort: 3, DstPort: 4, IPProto: 17, Packets: 1, Bytes: 20, Start: at(0), End: at(0), EndReason: flow.EndForced}
	if got[0].SrcPort == 3 {
		got[0], got[1] = got[1], got[0]
	}
	if diff := gocmp.Diff(want, got[1], flowtest.CmpAddr); diff != "" {
		t.Errorf("second record (-want +got):\n%s", diff)
	}
}

// TestUpdateBatchMatchesUpdate feeds the same packets one by one and in batches, over
// several shards and with sampling, and requires the same records.
func TestUpdateBatchMatchesUpdate(t *testing.T) {
	ps := packets(5000)
	for i := range ps {
		ps[i].Time = at(time.Duration(i) * time.Millisecond)
		ps[i].SrcPort = uint16(i % 300) // flows with several packets each
		if i%7 == 0 {                   // and replies
			ps[i].SrcAddr, ps[i].DstAddr, ps[i].SrcPort, ps[i].DstPort = ps[i].DstAddr, ps[i].SrcAddr, ps[i].DstPort, ps[i].SrcPort
		}
	}
	run := func(batch bool, biflow bool) []flow.Record {
		col := &collector{}
		c, err := New(Config{Shards: 4, MaxFlows: 200, Biflow: biflow, SamplingInterval: 3, Sink: col.sink})
		if err != nil {
			t.Fatal(err)
		}
		c.seed = 42 // the same shard for a flow in both runs, so the same evictions
		if batch {
			for i := 0; i < len(ps); i += 37 { // batches that do not divide the chunk size
				if err := c.UpdateBatch(ps[i:min(i+37, len(ps))]); err != nil {
					t.Fatal(err)
				}
			}
		} else {
			for i := range ps {
				mustUpdate(t, c, &ps[i])
			}
		}
		c.Close()
		out := col.take()
		slices.SortFunc(out, func(a, b flow.Record) int {
			return cmp.Or(cmp.Compare(a.Start, b.Start), a.SrcAddr.Compare(b.SrcAddr), cmp.Compare(a.SrcPort, b.SrcPort), cmp.Compare(a.End, b.End), cmp.Compare(a.EndReason, b.EndReason), cmp.Compare(a.Packets, b.Packets))
		})
		return out
	}
	for _, biflow := range []bool{false, true} {
		one, batched := run(false, biflow), run(true, biflow)
		if len(one) == 0 {
			t.Fatal("no records")
		}
		if diff := gocmp.Diff(one, batched, flowtest.CmpAddr); diff != "" {
			t.Errorf("biflow=%v: UpdateBatch differs from Update (-Update +UpdateBatch):\n%s", biflow, diff)
		}
	}
}
