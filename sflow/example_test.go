package sflow_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/sflow"
)

// Encode a sampled packet and an interface's counters into a datagram, and decode it: flow
// samples as flow.Records, counter samples through their typed records.
func Example() {
	boot := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	b := sflow.Builder{Agent: netip.MustParseAddr("192.0.2.1"), Boot: boot}
	b.Start(nil, boot.Add(time.Hour))
	// The first bytes of an Ethernet/IPv4/UDP packet, as a switch samples them.
	header := []byte{
		0x00, 0x00, 0x5e, 0x00, 0x53, 0x01, 0x00, 0x00, 0x5e, 0x00, 0x53, 0x02, 0x08, 0x00, // Ethernet
		0x45, 0x00, 0x00, 0x3c, 0x00, 0x01, 0x00, 0x00, 0x40, 0x11, 0x00, 0x00, // IPv4, UDP
		198, 51, 100, 7, 203, 0, 113, 9,
		0xd4, 0x31, 0x00, 0x35, 0x00, 0x28, 0x00, 0x00, // ports 54321 → 53
	}
	err := b.AddFlowSample(&sflow.FlowSample{
		SourceIndex: 4, SamplingRate: 4096, SamplePool: 81920,
		Input: sflow.Interface{Value: 4}, Output: sflow.Interface{Value: 9},
		Header: &sflow.SampledHeader{Protocol: sflow.HeaderEthernet, FrameLength: 78, Stripped: 4, Header: header},
		Switch: &sflow.ExtendedSwitch{SrcVLAN: 20, DstVLAN: 20},
	})
	if err != nil {
		panic(err)
	}
	err = b.AddCounterSample(&sflow.CounterSample{SourceIndex: 4,
		Generic: &sflow.IfCounters{Index: 4, Type: 6, Speed: 10e9, Status: 3, InOctets: 123456789, OutOctets: 987654321}})
	if err != nil {
		panic(err)
	}
	datagram := b.Finish()

	var p sflow.Parser
	h, err := p.Start(datagram)
	if err != nil {
		panic(err)
	}
	fmt.Printf("agent %s, sequence %d, uptime %d ms, %d samples\n", h.Agent, h.Sequence, h.Uptime, h.Samples)
	for p.Next() {
		var r flow.Record
		if p.Flow(&r) {
			fmt.Printf("flow: %s:%d → %s:%d proto %d, %d bytes, 1 in %d, vlan %d, in %d out %d\n",
				r.SrcAddr, r.SrcPort, r.DstAddr, r.DstPort, r.IPProto, r.Bytes, r.SamplingInterval, r.VLAN, r.InIf, r.OutIf)
			continue
		}
		for rs := p.Sample().Records(); rs.Next(); {
			if rec := rs.Record(); rec.Format == sflow.CountersGeneric {
				c, err := rec.IfCounters()
				if err != nil {
					panic(err)
				}
				fmt.Printf("counters: ifIndex %d, %d Mb/s, in %d octets, out %d octets\n", c.Index, c.Speed/1e6, c.InOctets, c.OutOctets)
			}
		}
	}
	if err := p.Err(); err != nil {
		panic(err)
	}
	// Output:
	// agent 192.0.2.1, sequence 1, uptime 3600000 ms, 2 samples
	// flow: 198.51.100.7:54321 → 203.0.113.9:53 proto 17, 78 bytes, 1 in 4096, vlan 20, in 4 out 9
	// counters: ifIndex 4, 10000 Mb/s, in 123456789 octets, out 987654321 octets
}

// Records this package does not know, here a vendor's, are skipped and counted; the
// datagram still decodes.
func ExampleParser_Stats() {
	datagram := []byte{
		0, 0, 0, 5, 0, 0, 0, 1, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, // header, 1 sample
		0, 0, 0, 1, 0, 0, 0, 64, // flow sample, 64 bytes
		0, 0, 0, 1, 0, 0, 0, 3, 0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 2,
		0x00, 0x90, 0x00, 0x01, 0, 0, 0, 0, // enterprise 9, format 1: unknown, empty
		0, 0, 0x03, 0xe9, 0, 0, 0, 16, 0, 0, 0, 42, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 0, // extended switch
	}
	var p sflow.Parser
	if _, err := p.Start(datagram); err != nil {
		panic(err)
	}
	for p.Next() {
		var r flow.Record
		p.Flow(&r)
		fmt.Println("vlan", r.VLAN)
	}
	fmt.Printf("%+v\n", p.Stats())
	// Output:
	// vlan 42
	// {UnknownSamples:0 UnknownRecords:1 MalformedSamples:0 MalformedRecords:0 LengthMismatches:0}
}
