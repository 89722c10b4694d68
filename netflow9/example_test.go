package netflow9_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/netflow9"
	"github.com/flowkit/flow/template"
)

// Encode two flows with sampling options and decode them with a shared template cache.
func Example() {
	boot := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	now := boot.Add(36 * time.Hour)
	b := netflow9.Builder{SourceID: 7, Boot: boot, SamplingInterval: 100, SamplingAlgorithm: 2}
	b.Start(nil, now)
	for i := 0; i < 2; i++ {
		b.AddFlow(&flow.Record{
			SrcAddr: netip.MustParseAddr("192.0.2.10"), DstAddr: netip.MustParseAddr("2001:db8::1"),
			SrcPort: uint16(50000 + i), DstPort: 443, IPProto: 6, Packets: 10, Bytes: 4200,
			Start: flow.TimeOf(now.Add(-3 * time.Second)), End: flow.TimeOf(now.Add(-time.Second)),
		})
	}
	packet := b.Finish()

	p := netflow9.Parser{Cache: template.NewCache(template.Config{})}
	h, err := p.Start(packet, netip.MustParseAddrPort("198.51.100.1:40000"))
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d bytes, %d records (templates and options included), source ID %d\n", len(packet), h.Count, h.SourceID)
	for _, r := range p.AppendFlows(nil) {
		fmt.Println(r.SrcAddr, r.SrcPort, "→", r.DstAddr, r.DstPort, r.Bytes, "bytes, 1 in", r.SamplingInterval, "from", r.Start)
	}
	// Output:
	// 588 bytes, 6 records (templates and options included), source ID 7
	// ::ffff:192.0.2.10 50000 → 2001:db8::1 443 4200 bytes, 1 in 100 from 2026-03-02T11:59:57.000000000Z
	// ::ffff:192.0.2.10 50001 → 2001:db8::1 443 4200 bytes, 1 in 100 from 2026-03-02T11:59:57.000000000Z
}
