package benchmarks

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/netflow9"
	"github.com/flowkit/flow/template"
	"github.com/netsampler/goflow2/v2/decoders/netflow"
)

// netflow9Fields is the 20-field template of the benchmark, as a Cisco router sends for
// IPv4: addresses, next hop, counters, uptimes, ports, interfaces, AS numbers, protocol,
// ToS, flags, masks, direction and sampler ID.
var netflow9Fields = [][2]uint16{
	{8, 4}, {12, 4}, {15, 4}, {1, 4}, {2, 4}, {22, 4}, {21, 4}, {7, 2}, {11, 2}, {10, 4},
	{14, 4}, {16, 4}, {17, 4}, {4, 1}, {5, 1}, {6, 1}, {9, 1}, {13, 1}, {61, 1}, {48, 2},
}

const netflow9Records = 20

// netflow9Packets returns a template packet and a data packet of 20 records for it.
var netflow9Template, netflow9Data = func() ([]byte, []byte) {
	hdr := func(count uint16, seq uint32) []byte {
		b := binary.BigEndian.AppendUint16(nil, 9)
		b = binary.BigEndian.AppendUint16(b, count)
		b = binary.BigEndian.AppendUint32(b, 1036800000) // uptime 12 days
		b = binary.BigEndian.AppendUint32(b, uint32(time.Date(2026, 1, 13, 0, 0, 7, 0, time.UTC).Unix()))
		b = binary.BigEndian.AppendUint32(b, seq)
		return binary.BigEndian.AppendUint32(b, 42)
	}
	tpl := hdr(1, 1000)
	tpl = binary.BigEndian.AppendUint16(tpl, 0)
	tpl = binary.BigEndian.AppendUint16(tpl, uint16(4+4+4*len(netflow9Fields)))
	tpl = binary.BigEndian.AppendUint16(tpl, 300)
	tpl = binary.BigEndian.AppendUint16(tpl, uint16(len(netflow9Fields)))
	recLen := 0
	for _, f := range netflow9Fields {
		tpl = binary.BigEndian.AppendUint16(tpl, f[0])
		tpl = binary.BigEndian.AppendUint16(tpl, f[1])
		recLen += int(f[1])
	}
	data := hdr(netflow9Records, 1001)
	data = binary.BigEndian.AppendUint16(data, 300)
	setLen := 4 + netflow9Records*recLen
	pad := (4 - setLen%4) % 4
	data = binary.BigEndian.AppendUint16(data, uint16(setLen+pad))
	for i := 0; i < netflow9Records; i++ {
		vals := map[uint16]uint64{
			8: uint64(0x0a000000 | i*7919), 12: uint64(0xc6336400 | i), 15: 0xc0000201, 1: uint64(64 + 1200*i),
			2: uint64(1 + 13*i), 22: uint64(1036800000 - 60000 + 1000*i), 21: uint64(1036800000 - 10*i),
			7: uint64(32768 + 97*i), 11: []uint64{443, 80, 53, 22}[i%4], 10: uint64(1 + i%4), 14: uint64(5 + i%3),
			16: uint64(64512 + i), 17: 15169, 4: []uint64{6, 6, 17, 6}[i%4], 5: uint64(i % 4 * 8), 6: 0x1b,
			9: 24, 13: uint64(16 + i%9), 61: uint64(i % 2), 48: 1,
		}
		for _, f := range netflow9Fields {
			v := vals[f[0]]
			for j := int(f[1]) - 1; j >= 0; j-- {
				data = append(data, byte(v>>(8*j)))
			}
		}
	}
	data = append(data, make([]byte, pad)...)
	return tpl, data
}()

var netflow9From = netip.MustParseAddrPort("192.0.2.1:2055")

// newNetFlow9Parser returns a parser that has learnt the benchmark's template.
func newNetFlow9Parser(tb testing.TB) *netflow9.Parser {
	p := &netflow9.Parser{Cache: template.NewCache(template.Config{})}
	if _, err := p.Start(netflow9Template, netflow9From); err != nil {
		tb.Fatal(err)
	}
	for p.Next() {
	}
	return p
}

// newGoflow2Templates returns goflow2's template system with the benchmark's template.
func newGoflow2Templates(tb testing.TB) netflow.NetFlowTemplateSystem {
	ts := netflow.CreateTemplateSystem()
	var pkt netflow.NFv9Packet
	if err := netflow.DecodeMessageVersion(bytes.NewBuffer(netflow9Template), ts, &pkt, nil); err != nil {
		tb.Fatal(err)
	}
	return ts
}

// TestNetFlow9Agree checks that goflow2 and this library read the benchmark packet to the
// same values, field by field.
func TestNetFlow9Agree(t *testing.T) {
	var pkt netflow.NFv9Packet
	if err := netflow.DecodeMessageVersion(bytes.NewBuffer(netflow9Data), newGoflow2Templates(t), &pkt, nil); err != nil {
		t.Fatal(err)
	}
	recs := pkt.FlowSets[0].(netflow.DataFlowSet).Records
	p := newNetFlow9Parser(t)
	h, err := p.Start(netflow9Data, netflow9From)
	if err != nil {
		t.Fatal(err)
	}
	if pkt.SystemUptime != h.SysUptime || pkt.UnixSeconds != h.UnixSecs || pkt.SequenceNumber != h.Sequence || pkt.SourceId != h.SourceID {
		t.Errorf("headers differ: goflow2 %+v, flowkit %+v", pkt, h)
	}
	i := 0
	for ; p.Next(); i++ {
		var r flow.Record
		p.Flow(&r)
		g := recs[i]
		for j, fv := range p.Record().All {
			if gv := g.Values[j]; gv.Type != fv.ID || !bytes.Equal(gv.Value.([]byte), fv.Value) {
				t.Errorf("record %d field %d: goflow2 %d=% x, flowkit %d=% x", i, j, gv.Type, gv.Value, fv.ID, fv.Value)
			}
		}
		val := func(id uint16) uint64 {
			for _, v := range g.Values {
				if v.Type == id {
					return template.Unsigned(v.Value.([]byte))
				}
			}
			return 0
		}
		if uint64(binary.BigEndian.Uint32(r.SrcAddr.AsSlice())) != val(8) || r.Bytes != val(1) || r.Packets != val(2) ||
			uint64(r.SrcPort) != val(7) || uint64(r.DstPort) != val(11) || uint64(r.IPProto) != val(4) ||
			uint64(r.InIf) != val(10) || uint64(r.DstAS) != val(17) || h.Time(uint32(val(22))) != r.Start || h.Time(uint32(val(21))) != r.End {
			t.Errorf("record %d differs:\n goflow2 %+v\n flowkit %+v", i, g, r)
		}
	}
	if i != len(recs) || i != netflow9Records {
		t.Errorf("flowkit %d records, goflow2 %d", i, len(recs))
	}
}

func BenchmarkNetFlow9Decode(b *testing.B) {
	data := netflow9Data

	// The whole packet into a slice of records: what a collector does.
	b.Run("impl=flowkit", func(b *testing.B) {
		p := newNetFlow9Parser(b)
		out := make([]flow.Record, 0, netflow9Records)
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := p.Start(data, netflow9From); err != nil {
				b.Fatal(err)
			}
			out = p.AppendFlows(out[:0])
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*netflow9Records), "ns/record")
	})

	// Record by record with Next and Flow.
	b.Run("impl=flowkit-next", func(b *testing.B) {
		p := newNetFlow9Parser(b)
		var out [netflow9Records]flow.Record
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := p.Start(data, netflow9From); err != nil {
				b.Fatal(err)
			}
			for i := 0; p.Next(); i++ {
				p.Flow(&out[i])
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*netflow9Records), "ns/record")
	})

	b.Run("impl=goflow2", func(b *testing.B) {
		ts := newGoflow2Templates(b)
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			var pkt netflow.NFv9Packet
			if err := netflow.DecodeMessageVersion(bytes.NewBuffer(data), ts, &pkt, nil); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*netflow9Records), "ns/record")
	})
}

func BenchmarkNetFlow9Encode(b *testing.B) {
	p := newNetFlow9Parser(b)
	h, _ := p.Start(netflow9Data, netflow9From)
	recs := p.AppendFlows(nil)
	now := h.ExportTime().AsTime()
	b.Run("impl=flowkit", func(b *testing.B) {
		enc := netflow9.Builder{Boot: now.Add(-time.Hour), SamplingInterval: 1000}
		buf := make([]byte, 0, 1500)
		enc.Start(buf, now)
		enc.Finish()
		b.ReportAllocs()
		b.SetBytes(int64(len(netflow9Data)))
		for b.Loop() {
			enc.Start(buf[:0], now)
			for i := range recs[:12] { // 12 records of 89 bytes fill a 1400-byte packet
				err := enc.AddFlow(&recs[i])
				if errors.Is(err, flow.ErrFull) {
					// Every 20th packet also carries the templates and the sampling
					// options, and has room for fewer records: the rest go in the next.
					enc.Finish()
					enc.Start(buf[:0], now)
					err = enc.AddFlow(&recs[i])
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			buf = enc.Finish()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*12), "ns/record")
	})
}
