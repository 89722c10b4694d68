package benchmarks

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/netflow5"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
)

// netflow5Datagram is a full datagram of 30 records with varied addresses, ports and
// counters, stamped as a router would: uptime about 12 days, flows of the last minute.
var netflow5Datagram = func() []byte {
	boot := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := boot.Add(12*24*time.Hour + 7*time.Second)
	b := netflow5.Builder{EngineType: 1, EngineID: 3, SamplingMode: 1, SamplingInterval: 512, Boot: boot, Sequence: 987654}
	b.Start(nil, now)
	for i := 0; i < netflow5.MaxRecords; i++ {
		r := flow.Record{
			SrcAddr: netip.AddrFrom4([4]byte{10, byte(i), byte(3 * i), byte(7 * i)}),
			DstAddr: netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}),
			NextHop: netip.AddrFrom4([4]byte{192, 0, 2, 1}),
			SrcPort: uint16(32768 + 97*i), DstPort: []uint16{443, 80, 53, 22}[i%4],
			IPProto: []uint8{6, 6, 17, 6}[i%4], Packets: uint64(1 + 13*i), Bytes: uint64(64 + 1200*i),
			Start: flow.TimeOf(now.Add(-time.Duration(60-i) * time.Second)), End: flow.TimeOf(now.Add(-time.Duration(i) * time.Millisecond)),
			InIf: uint32(1 + i%4), OutIf: uint32(5 + i%3), TCPFlags: 0x1b, ToS: uint8(i % 4 * 8),
			SrcAS: uint32(64512 + i), DstAS: 15169, SrcMask: 24, DstMask: uint8(16 + i%9),
		}
		if err := b.AddFlow(&r); err != nil {
			panic(err)
		}
	}
	return b.Finish()
}()

func BenchmarkNetFlow5Decode(b *testing.B) {
	data := netflow5Datagram
	const records = netflow5.MaxRecords

	// The whole datagram into a slice of records: what a collector does.
	b.Run("impl=flowkit", func(b *testing.B) {
		var p netflow5.Parser
		out := make([]flow.Record, 0, records)
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := p.Start(data); err != nil {
				b.Fatal(err)
			}
			out = p.AppendFlows(out[:0])
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
	})

	// Record by record with Next and Flow: what a streaming consumer does.
	b.Run("impl=flowkit-next", func(b *testing.B) {
		var p netflow5.Parser
		var out [records]flow.Record
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := p.Start(data); err != nil {
				b.Fatal(err)
			}
			for i := 0; p.Next(); i++ {
				p.Flow(&out[i])
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
	})

	b.Run("impl=goflow2", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var pkt netflowlegacy.PacketNetFlowV5
			if err := netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(data), &pkt); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*records), "ns/record")
	})
}

func BenchmarkNetFlow5Encode(b *testing.B) {
	var p netflow5.Parser
	if _, err := p.Start(netflow5Datagram); err != nil {
		b.Fatal(err)
	}
	var recs []flow.Record
	for p.Next() {
		var r flow.Record
		p.Flow(&r)
		recs = append(recs, r)
	}
	now := recs[0].End.Add(time.Second).AsTime()

	b.Run("impl=flowkit", func(b *testing.B) {
		enc := netflow5.Builder{Boot: now.Add(-time.Hour)}
		buf := make([]byte, 0, 1500)
		b.ReportAllocs()
		b.SetBytes(int64(len(netflow5Datagram)))
		for b.Loop() {
			enc.Start(buf[:0], now)
			for i := range recs {
				if err := enc.AddFlow(&recs[i]); err != nil {
					b.Fatal(err)
				}
			}
			buf = enc.Finish()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(recs)), "ns/record")
	})
}
