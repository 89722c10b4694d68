package netflow5_test

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/netflow5"
)

// Encode two flows into a datagram and decode it again.
func Example() {
	boot := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	now := boot.Add(36 * time.Hour)

	b := netflow5.Builder{EngineID: 7, Boot: boot}
	b.Start(nil, now)
	for i := 0; i < 2; i++ {
		err := b.AddFlow(&flow.Record{
			SrcAddr: netip.MustParseAddr("192.0.2.10"), DstAddr: netip.MustParseAddr("198.51.100.1"),
			SrcPort: uint16(50000 + i), DstPort: 443, IPProto: 6, Packets: 10, Bytes: 4200,
			Start: flow.TimeOf(now.Add(-3 * time.Second)), End: flow.TimeOf(now.Add(-time.Second)),
		})
		if err != nil {
			panic(err)
		}
	}
	datagram := b.Finish()

	var p netflow5.Parser
	h, err := p.Start(datagram)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d bytes, %d records, sequence %d, uptime %d ms\n", len(datagram), h.Count, h.FlowSequence, h.SysUptime)
	for _, r := range p.AppendFlows(nil) {
		fmt.Println(r.SrcAddr, r.SrcPort, "→", r.DstAddr, r.DstPort, r.Bytes, "bytes from", r.Start)
	}
	// Output:
	// 120 bytes, 2 records, sequence 0, uptime 129600000 ms
	// 192.0.2.10 50000 → 198.51.100.1 443 4200 bytes from 2026-03-02T11:59:57.000000000Z
	// 192.0.2.10 50001 → 198.51.100.1 443 4200 bytes from 2026-03-02T11:59:57.000000000Z
}

// A datagram whose header counts more records than it holds is refused as a whole, with
// an error that says where the bytes ran out.
func ExampleParser_Start_truncated() {
	datagram := make([]byte, netflow5.HeaderLen+netflow5.RecordLen)
	datagram[1] = 5 // version
	datagram[3] = 2 // count: two records, but only one is there

	var p netflow5.Parser
	_, err := p.Start(datagram)
	fmt.Println(err)
	fmt.Println(errors.Is(err, flow.ErrTruncated))
	// Output:
	// netflow5: record 2 at offset 72: truncated: header counts 2 records, datagram holds 1
	// true
}

// Keep filling datagrams until the Builder says one is full.
func ExampleBuilder_AddFlow() {
	now := time.Unix(1767225600, 0)
	b := netflow5.Builder{Boot: now.Add(-time.Hour)}
	records := make([]flow.Record, 70)
	for i := range records {
		records[i] = flow.Record{SrcAddr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), DstAddr: netip.MustParseAddr("10.1.1.1")}
	}
	var datagrams [][]byte
	b.Start(nil, now)
	for i := range records {
		if err := b.AddFlow(&records[i]); errors.Is(err, flow.ErrFull) {
			datagrams = append(datagrams, b.Finish())
			b.Start(nil, now)
			b.AddFlow(&records[i])
		}
	}
	datagrams = append(datagrams, b.Finish())
	for _, d := range datagrams {
		fmt.Println(len(d), "bytes")
	}
	fmt.Println("next flow sequence:", b.Sequence)
	// Output:
	// 1464 bytes
	// 1464 bytes
	// 504 bytes
	// next flow sequence: 70
}
