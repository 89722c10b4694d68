package benchmarks

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/exporter"
	"github.com/flowkit/flow/internal/trafficgen"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
	gfsflow "github.com/netsampler/goflow2/v2/decoders/sflow"
	"github.com/netsampler/goflow2/v2/producer"
	protoproducer "github.com/netsampler/goflow2/v2/producer/proto"
)

// The exporter's messages decoded by goflow2 (decoders and its default producer, as its
// collector runs them) and compared field by field with what was exported: records
// handed to the exporter for NetFlow, generated frames (read by gopacket) for sFlow.
// The interop package runs the same exports through tshark, nfdump and pmacct.

// gfFlow is what the tests compare of a goflow2 flow message.
type gfFlow struct {
	Src, Dst, NextHop, Sampler               netip.Addr
	Bytes, Packets, Start, End, SamplingRate uint64
	Proto, SrcPort, DstPort, ICMP            uint32
	InIf, OutIf, SrcAS, DstAS                uint32
	SrcMask, DstMask, ToS, TCPFlags          uint32
	SrcVLAN, DstVLAN, VLAN                   uint32
	SrcMAC, DstMAC                           uint64
}

// goflow2Decode decodes messages of one protocol with goflow2 into its flow messages.
func goflow2Decode(t *testing.T, proto flow.Protocol, msgs [][]byte) []gfFlow {
	t.Helper()
	cfg, err := (&protoproducer.ProducerConfig{}).Compile()
	if err != nil {
		t.Fatal(err)
	}
	prod, err := protoproducer.CreateProtoProducer(cfg, protoproducer.CreateSamplingSystem)
	if err != nil {
		t.Fatal(err)
	}
	args := producer.ProduceArgs{SamplerAddress: netip.MustParseAddr("127.0.0.1"), TimeReceived: time.Unix(1800000000, 0)}
	templates := netflow.CreateTemplateSystem()
	addr := func(b []byte) netip.Addr { a, _ := netip.AddrFromSlice(b); return a.Unmap() }
	var out []gfFlow
	for i, m := range msgs {
		var pkt any
		switch proto {
		case flow.NetFlow5:
			var p netflowlegacy.PacketNetFlowV5
			err, pkt = netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(m), &p), &p
		case flow.NetFlow9:
			var p netflow.NFv9Packet
			err, pkt = netflow.DecodeMessageVersion(bytes.NewBuffer(m), templates, &p, nil), &p
		case flow.IPFIX:
			var p netflow.IPFIXPacket
			err, pkt = netflow.DecodeMessageVersion(bytes.NewBuffer(m), templates, nil, &p), &p
		case flow.SFlow:
			var p gfsflow.Packet
			err, pkt = gfsflow.DecodeMessageVersion(bytes.NewBuffer(m), &p), &p
		}
		if err != nil {
			t.Fatalf("goflow2 decoding message %d: %v", i, err)
		}
		fms, err := prod.Produce(pkt, &args)
		if err != nil {
			t.Fatalf("goflow2 producing message %d: %v", i, err)
		}
		for _, fm := range fms {
			g := fm.(*protoproducer.ProtoProducerMessage)
			out = append(out, gfFlow{
				Src: addr(g.SrcAddr), Dst: addr(g.DstAddr), NextHop: addr(g.NextHop), Sampler: addr(g.SamplerAddress),
				Bytes: g.Bytes, Packets: g.Packets, Start: g.TimeFlowStartNs, End: g.TimeFlowEndNs, SamplingRate: g.SamplingRate,
				Proto: g.Proto, SrcPort: g.SrcPort, DstPort: g.DstPort, ICMP: g.IcmpType<<8 | g.IcmpCode,
				InIf: g.InIf, OutIf: g.OutIf, SrcAS: g.SrcAs, DstAS: g.DstAs,
				SrcMask: g.SrcNet, DstMask: g.DstNet, ToS: g.IpTos, TCPFlags: g.TcpFlags,
				SrcVLAN: g.SrcVlan, DstVLAN: g.DstVlan, VLAN: g.VlanId, SrcMAC: g.SrcMac, DstMAC: g.DstMac,
			})
		}
		prod.Commit(fms)
	}
	return out
}

// interopRecords returns n varied records in time order, within what NetFlow v5 carries
// unless v9 (which adds IPv6, VLANs, MACs, wide counters).
func interopRecords(n int, v9 bool) []flow.Record {
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	recs := make([]flow.Record, n)
	for i := range recs {
		r := &recs[i]
		v6 := v9 && i%4 == 3
		if v6 {
			var a, b [16]byte
			a[0], b[0] = 0xfd, 0x20
			a[15], b[15], b[7] = byte(i), byte(i>>8), byte(rng.Uint32())
			r.SrcAddr, r.DstAddr = netip.AddrFrom16(a), netip.AddrFrom16(b)
			r.NextHop = netip.MustParseAddr("fe80::1")
		} else {
			r.SrcAddr = netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), byte(rng.Uint32())})
			r.DstAddr = netip.AddrFrom4([4]byte{192, 0, 2, byte(rng.Uint32())})
			r.NextHop = netip.AddrFrom4([4]byte{198, 51, 100, byte(i)})
		}
		switch i % 5 {
		case 0, 1:
			r.IPProto, r.SrcPort, r.DstPort, r.TCPFlags = 6, uint16(1024+rng.IntN(60000)), 443, uint16(rng.IntN(64))
		case 2, 3:
			r.IPProto, r.SrcPort, r.DstPort = 17, uint16(1024+rng.IntN(60000)), 53
		default:
			r.IPProto, r.DstPort = 1, 8<<8 // echo request
			if v6 {
				r.IPProto, r.DstPort = 58, 128<<8
			}
		}
		r.Packets = 1 + uint64(rng.IntN(1000))
		r.Bytes = r.Packets * uint64(40+rng.IntN(1400))
		if v9 && i%7 == 0 {
			r.Bytes += 1 << 33 // beyond v5's 32 bits
		}
		r.ToS = uint8(rng.IntN(256))
		r.InIf, r.OutIf = uint32(rng.IntN(65536)), uint32(rng.IntN(65536))
		r.SrcAS, r.DstAS = uint32(rng.IntN(65536)), uint32(rng.IntN(65536))
		r.SrcMask, r.DstMask = uint8(rng.IntN(33)), uint8(rng.IntN(33))
		if v9 {
			r.VLAN, r.OutVLAN = uint16(rng.IntN(4095)), uint16(rng.IntN(4095))
			r.SrcMAC, r.DstMAC = flow.MAC{2, 0, 0, 0, byte(i >> 8), byte(i)}, flow.MAC{2, 0, 0, 1, byte(i >> 8), byte(i)}
		}
		start := t0.Add(time.Duration(i) * 7 * time.Millisecond)
		r.Start, r.End = flow.TimeOf(start), flow.TimeOf(start.Add(time.Duration(rng.IntN(30000))*time.Millisecond))
	}
	return recs
}

// TestGoflow2ReadsOurNetFlow: goflow2 reads the exporter's NetFlow v5, v9 and IPFIX as sent.
func TestGoflow2ReadsOurNetFlow(t *testing.T) {
	for _, proto := range []flow.Protocol{flow.NetFlow5, flow.NetFlow9, flow.IPFIX} {
		t.Run(proto.String(), func(t *testing.T) {
			var msgs [][]byte
			e, err := exporter.New(exporter.Config{Protocol: proto, Output: func(m []byte) { msgs = append(msgs, bytes.Clone(m)) }})
			if err != nil {
				t.Fatal(err)
			}
			wide := proto != flow.NetFlow5
			want := interopRecords(600, wide)
			for i := range want {
				if err := e.Record(&want[i]); err != nil {
					t.Fatal(err)
				}
			}
			e.Close()
			got := goflow2Decode(t, proto, msgs)
			if len(got) != len(want) {
				t.Fatalf("goflow2 reads %d records from %d messages, want %d", len(got), len(msgs), len(want))
			}
			mac := func(m flow.MAC) uint64 {
				return uint64(m[0])<<40 | uint64(m[1])<<32 | uint64(m[2])<<24 | uint64(m[3])<<16 | uint64(m[4])<<8 | uint64(m[5])
			}
			bad := 0
			for i, g := range got {
				w := want[i]
				exp := gfFlow{
					Src: w.SrcAddr, Dst: w.DstAddr, NextHop: w.NextHop, Sampler: netip.MustParseAddr("127.0.0.1"),
					Bytes: w.Bytes, Packets: w.Packets, Start: uint64(w.Start), End: uint64(w.End),
					Proto: uint32(w.IPProto), SrcPort: uint32(w.SrcPort), DstPort: uint32(w.DstPort),
					InIf: w.InIf, OutIf: w.OutIf, SrcAS: w.SrcAS, DstAS: w.DstAS,
					SrcMask: uint32(w.SrcMask), DstMask: uint32(w.DstMask), ToS: uint32(w.ToS), TCPFlags: uint32(w.TCPFlags),
				}
				if wide {
					// v9 and IPFIX also carry VLANs, MACs and ICMP type and code, which
					// goflow2 reads into its ICMP fields.
					exp.SrcVLAN, exp.DstVLAN, exp.SrcMAC, exp.DstMAC = uint32(w.VLAN), uint32(w.OutVLAN), mac(w.SrcMAC), mac(w.DstMAC)
					exp.VLAN = exp.SrcVLAN // goflow2 copies SRC_VLAN there
					if w.IPProto == 1 || w.IPProto == 58 {
						exp.ICMP = uint32(w.DstPort)
					}
				}
				if g != exp {
					if bad++; bad <= 5 {
						t.Errorf("record %d:\n goflow2 %+v\n    sent %+v", i, g, exp)
					}
				}
			}
		})
	}
}

func TestGoflow2ReadsOurSFlow(t *testing.T) {
	const rate = 7
	var msgs [][]byte
	e, err := exporter.New(exporter.Config{Protocol: flow.SFlow, SamplingRate: rate, Agent: netip.MustParseAddr("192.0.2.1"),
		Output: func(m []byte) { msgs = append(msgs, bytes.Clone(m)) }})
	if err != nil {
		t.Fatal(err)
	}
	// What was sampled, read by gopacket: every 7th frame.
	type sample struct {
		src, dst         netip.Addr
		sport, dport     uint16
		proto, tos       uint8
		vlan, frameBytes uint32
	}
	var want []sample
	g := trafficgen.New(trafficgen.Config{Seed: 4, Packets: 7000, Concurrent: 100, IPv6Share: 0.3, VLANShare: 0.2})
	for i := 1; ; i++ {
		f, ok := g.Next()
		if !ok {
			break
		}
		if i%rate == 0 {
			p := gopacket.NewPacket(f.Data, layers.LayerTypeEthernet, gopacket.Default)
			s := sample{frameBytes: uint32(f.Length)}
			if l, ok := p.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q); ok {
				s.vlan = uint32(l.VLANIdentifier)
			}
			if l, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
				s.src, s.dst, s.proto, s.tos = netip.AddrFrom4([4]byte(l.SrcIP.To4())), netip.AddrFrom4([4]byte(l.DstIP.To4())), uint8(l.Protocol), l.TOS
			} else if l, ok := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
				s.src, s.dst, s.proto, s.tos = netip.AddrFrom16([16]byte(l.SrcIP)), netip.AddrFrom16([16]byte(l.DstIP)), uint8(l.NextHeader), l.TrafficClass
			}
			if l, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
				s.sport, s.dport = uint16(l.SrcPort), uint16(l.DstPort)
			} else if l, ok := p.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
				s.sport, s.dport = uint16(l.SrcPort), uint16(l.DstPort)
			}
			want = append(want, s)
		}
		e.Packet(f.Data, f.Length, flow.TimeOf(f.Time), 5)
	}
	e.Close()
	got := goflow2Decode(t, flow.SFlow, msgs)
	if len(got) != len(want) || len(want) != 1000 {
		t.Fatalf("goflow2 reads %d flow samples from %d datagrams, want %d", len(got), len(msgs), len(want))
	}
	bad := 0
	for i, g := range got {
		w := want[i]
		if g.Src != w.src || g.Dst != w.dst || g.Proto != uint32(w.proto) || g.ToS != uint32(w.tos) ||
			g.SrcPort != uint32(w.sport) || g.DstPort != uint32(w.dport) || g.VLAN != w.vlan || // the header's tag (SrcVLAN is the extended switch record's)
			g.Bytes != uint64(w.frameBytes) || g.Packets != 1 || g.SamplingRate != rate || g.InIf != 5 ||
			g.Sampler != netip.MustParseAddr("192.0.2.1") {
			if bad++; bad <= 5 {
				t.Errorf("sample %d:\n goflow2 %+v\n    sent %+v", i, g, w)
			}
		}
	}
}
