package flowcache

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
	"unsafe"

	"github.com/flowkit/flow"
)

// packets returns one packet for each of n flows, spread over IPv4 addresses and ports.
func packets(n int) []Packet {
	ps := make([]Packet, n)
	for i := range ps {
		ps[i] = Packet{
			SrcAddr: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}),
			DstAddr: netip.AddrFrom4([4]byte{192, 0, 2, byte(i) % 7}),
			SrcPort: uint16(1024 + i%50000), DstPort: 443, IPProto: 6, TCPFlags: 0x10, TTL: 64, Length: 1500,
		}
	}
	return ps
}

func TestUpdateAllocatesNothing(t *testing.T) {
	var delivered int
	c, err := New(Config{MaxFlows: 1000, Shards: 2, Biflow: false, Sink: func(_, _ *flow.Record) { delivered++ }})
	if err != nil {
		t.Fatal(err)
	}
	ps := packets(3000) // three times the capacity: creations evict all the time
	now := t0
	i := 0
	allocs := testing.AllocsPerRun(10000, func() {
		p := &ps[i%len(ps)]
		now += 1000
		p.Time = now
		if err := c.Update(p); err != nil {
			t.Fatal(err)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("Update allocates %v times per packet", allocs)
	}
	if delivered == 0 {
		t.Error("nothing was evicted: the test did not exercise eviction")
	}
	allocs = testing.AllocsPerRun(100, func() {
		now += flow.Time(time.Minute)
		c.Expire(now.AsTime())
		c.Flush()
		for j := 0; j < 100; j++ {
			p := &ps[j]
			p.Time = now
			c.Update(p)
		}
	})
	if allocs != 0 {
		t.Errorf("Expire and Flush allocate %v times", allocs)
	}
}

func TestBiflowUpdateAllocatesNothing(t *testing.T) {
	c, err := New(Config{MaxFlows: 100, Shards: 1, Biflow: true, EndWait: -1, Sink: func(_, _ *flow.Record) {}})
	if err != nil {
		t.Fatal(err)
	}
	ps := packets(300)
	now := t0
	i := 0
	allocs := testing.AllocsPerRun(5000, func() {
		p := ps[i%len(ps)]
		if i%2 == 1 { // the reply
			p.SrcAddr, p.DstAddr, p.SrcPort, p.DstPort = p.DstAddr, p.SrcAddr, p.DstPort, p.SrcPort
		}
		if i%11 == 0 {
			p.TCPFlags = 0x04
		}
		now += 1000
		p.Time = now
		c.Update(&p)
		i++
	})
	if allocs != 0 {
		t.Errorf("biflow Update allocates %v times per packet", allocs)
	}
}

// BenchmarkUpdate meters packets of 100,000 live flows. With order=uniform every packet
// belongs to a flow picked at random: nearly every update misses the CPU caches, the worst
// case for any hash table. With order=zipf flows are picked with a Zipf distribution
// (s=1.1), closer to real traffic where a few flows carry most packets. Without a batch
// size the packets go one by one through Update; with batch=64, 64 at a time through
// UpdateBatch, and ns/packet is the time per packet. The figure to compare with the
// issue's 100 ns budget also needs the packet parse: see BenchmarkParseAndUpdate where
// the packet package is at hand.
// benchOrders gives the orders the benchmarks meter flows in: uniform (a fixed random
// permutation of the live flows) and zipf (s = 1.1).
func benchOrders(live int) []struct {
	name  string
	order []int32
} {
	return []struct {
		name  string
		order []int32
	}{{"uniform", randomOrder(live)}, {"zipf", zipfOrder(live, 1<<20)}}
}

func BenchmarkUpdate(b *testing.B) {
	const live = 100000
	orders := benchOrders(live)
	for _, batch := range []int{1, 64} {
		for _, o := range orders {
			name := "order=" + o.name
			if batch > 1 {
				name += fmt.Sprintf("/batch=%d", batch)
			}
			b.Run(name, func(b *testing.B) { benchmarkUpdate(b, live, o.order, batch) })
		}
	}
}

func benchmarkUpdate(b *testing.B, live int, order []int32, batch int) {
	c, err := New(Config{MaxFlows: 131072, Shards: 1, InactiveTimeout: time.Hour, Sink: func(_, _ *flow.Record) {}})
	if err != nil {
		b.Fatal(err)
	}
	ps := packets(live)
	now := t0
	for i := range ps { // create every flow before timing
		ps[i].Time = now
		c.Update(&ps[i])
	}
	// The packet being metered is hot in a real meter (it was just parsed), so the
	// loop rebuilds the packets from a compact table instead of reading 100,000
	// scattered ones.
	type small struct {
		src  [4]byte
		port uint16
	}
	compact := make([]small, live)
	for i := range ps {
		compact[i] = small{ps[i].SrcAddr.As4(), ps[i].SrcPort}
	}
	buf := make([]Packet, batch)
	for i := range buf {
		buf[i] = ps[0]
	}
	b.ReportAllocs()
	b.SetBytes(int64(1500 * batch))
	i := 0
	for b.Loop() {
		for j := range buf {
			p := &buf[j]
			f := &compact[order[i]]
			p.SrcAddr, p.SrcPort = netip.AddrFrom4(f.src), f.port
			p.DstAddr = netip.AddrFrom4([4]byte{192, 0, 2, f.src[3] % 7})
			now += 100
			p.Time = now
			if i++; i == len(order) {
				i = 0
			}
		}
		if batch == 1 {
			c.Update(&buf[0])
		} else {
			c.UpdateBatch(buf)
		}
	}
	if batch > 1 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/packet")
	}
	if st := c.Stats(); st.Flows != live {
		b.Fatalf("%d flows live, want %d", st.Flows, live)
	}
}

// zipfOrder returns n flow indexes below live drawn from a Zipf distribution, flow i
// being the (i+1)-th most frequent; the ranks are scattered over the flows so that the
// frequent ones are not neighbours in memory.
func zipfOrder(live, n int) []int32 {
	rng := rand.New(rand.NewPCG(3, 4))
	z := rand.NewZipf(rng, 1.1, 1, uint64(live-1))
	perm := randomOrder(live)
	out := make([]int32, n)
	for i := range out {
		out[i] = perm[z.Uint64()]
	}
	return out
}

func randomOrder(n int) []int32 {
	order := make([]int32, n)
	x := uint64(88172645463325252)
	for i := range order {
		order[i] = int32(i)
	}
	for i := n - 1; i > 0; i-- { // Fisher–Yates with xorshift, reproducible
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		j := int(x % uint64(i+1))
		order[i], order[j] = order[j], order[i]
	}
	return order
}

func TestUpdateBatchAllocatesNothing(t *testing.T) {
	c, err := New(Config{MaxFlows: 1000, Shards: 4, Sink: func(_, _ *flow.Record) {}})
	if err != nil {
		t.Fatal(err)
	}
	ps := packets(3000)
	now := t0
	i := 0
	allocs := testing.AllocsPerRun(200, func() {
		batch := ps[i%2900 : i%2900+64]
		for j := range batch {
			now += 1000
			batch[j].Time = now
		}
		if err := c.UpdateBatch(batch); err != nil {
			t.Fatal(err)
		}
		i += 64
	})
	if allocs != 0 {
		t.Errorf("UpdateBatch allocates %v times per batch", allocs)
	}
}

// TestEntryLayout keeps an entry at two cache lines, the key and the lru time in the
// first: a field added or grown would silently make every lookup touch a third line.
func TestEntryLayout(t *testing.T) {
	if size := unsafe.Sizeof(entry{}); size != 128 {
		t.Errorf("entry is %d bytes, want 128", size)
	}
	if off := unsafe.Offsetof(entry{}.since); off != 64 {
		t.Errorf("entry.since at offset %d, want 64 (the second cache line)", off)
	}
}
