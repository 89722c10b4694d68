package sflow_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/corpus"
	"github.com/flowkit/flow/internal/flowtest"
	"github.com/flowkit/flow/packet"
	"github.com/flowkit/flow/sflow"
	"github.com/google/go-cmp/cmp"
)

// decoded is one datagram as the tests see it.
type decoded struct {
	h        sflow.Header
	samples  []decodedSample
	flows    []flow.Record
	err      error
	stats    sflow.Stats
	trailing int
}

type decodedSample struct {
	s    sflow.Sample
	recs []sflow.Record
}

// decodeAll reads every datagram of a buffer, following Trailing from one to the next
// when what trails is another version 5 datagram.
func decodeAll(t *testing.T, b []byte) []decoded {
	t.Helper()
	var out []decoded
	var p sflow.Parser
	for len(b) > 0 {
		var d decoded
		h, err := p.Start(b)
		d.h = h
		if err != nil {
			d.err = err
			out = append(out, d)
			return out
		}
		for p.Next() {
			s := p.Sample()
			ds := decodedSample{s: s}
			for rs := s.Records(); rs.Next(); {
				ds.recs = append(ds.recs, rs.Record())
			}
			d.samples = append(d.samples, ds)
			var r flow.Record
			if p.Flow(&r) {
				d.flows = append(d.flows, r)
			}
		}
		d.err, d.stats, d.trailing = p.Err(), p.Stats(), len(p.Trailing())
		out = append(out, d)
		b = p.Trailing()
		if len(b) < 8 || !bytes.Equal(b[:4], []byte{0, 0, 0, 5}) {
			break
		}
	}
	return out
}

func decodeFile(t *testing.T, name string) []decoded {
	t.Helper()
	var out []decoded
	for _, d := range corpus.Datagrams(t, name) {
		out = append(out, decodeAll(t, d)...)
	}
	return out
}

// TestCorpusFiles decodes every sFlow capture of the corpus and checks the counts the
// corpus index gives (datagrams, flow and counter samples), that no record is unknown to
// the parser, and the errors and trailing bytes of the deliberately broken files.
func TestCorpusFiles(t *testing.T) {
	tests := []struct {
		file                   string
		datagrams, flows, ctrs int
		trailing               int // bytes after the last sample of the last datagram
		mismatches             int // samples whose length disagrees with their records
		err                    error
	}{
		{"akvorado/sflow/data-1140.pcap", 1, 5, 0, 0, 0, nil},
		{"akvorado/sflow/data-discard-interface.pcap", 1, 1, 0, 964, 0, nil},
		{"akvorado/sflow/data-encap-vxlan.pcap", 1, 1, 0, 0, 0, nil},
		{"akvorado/sflow/data-icmpv4.pcap", 1, 1, 0, 0, 0, nil},
		{"akvorado/sflow/data-icmpv6.pcap", 1, 1, 0, 0, 0, nil},
		{"akvorado/sflow/data-local-interface.pcap", 1, 1, 0, 964, 0, nil},
		{"akvorado/sflow/data-multiple-interfaces.pcap", 1, 1, 0, 964, 0, nil},
		{"akvorado/sflow/data-qinq.pcap", 1, 1, 0, 0, 0, nil},
		{"akvorado/sflow/data-sflow-expanded-sample.pcap", 1, 1, 0, 0, 0, nil},
		{"akvorado/sflow/data-sflow-ipv4-data.pcap", 1, 1, 0, 0, 0, nil},
		{"akvorado/sflow/data-sflow-raw-ipv4.pcap", 1, 2, 0, 0, 0, nil},
		{"cistern-sflow/counter_sample.dump", 1, 0, 1, 0, 0, nil},
		{"cistern-sflow/flow_sample.dump", 1, 1, 0, 0, 0, nil},
		{"cistern-sflow/flow_sample_3.dump", 1, 3, 0, 0, 0, nil},
		{"cistern-sflow/flow_samples_2.dump", 2, 3, 0, 0, 0, nil},
		{"goflow2/TestSFlowDecode_data.dat", 1, 1, 0, 0, 0, nil},
		{"goflow2/TestExpandedSFlowDecode_data.dat", 1, 5, 0, 332, 0, nil},
		{"gopacket/SFlowTestPacket1.pcap", 1, 6, 1, 0, 0, nil},
		{"gopacket/SFlowTestPacket2.pcap", 1, 3, 0, 0, 0, nil},
		{"gopacket/SFlowTestPacket3.dat", 1, 0, 1, 0, 0, nil},
		{"gopacket/SFlowTestPacket4.dat", 1, 1, 0, 0, 0, nil},
		{"gopacket/SFlowTestPacket5.dat", 1, 1, 0, 0, 1, nil},
		{"gopacket/SFlowTestPacket6.dat", 1, 1, 0, 0, 0, nil},
		{"gopacket/SFlowTestPacket7.dat", 1, 1, 0, 0, 0, nil},
		{"gopacket/SFlowTestPacket8.dat", 1, 1, 0, 0, 1, nil},
		{"gopacket/SFlowTestPacket9.dat", 1, 0, 1, 0, 0, nil},
		{"gopacket/SFlowTestPacket10.dat", 1, 0, 1, 0, 0, nil},
		{"gopacket/SFlowTestPacket11.dat", 1, 0, 1, 0, 1, nil},
		{"gopacket/SFlowTestPacket12.dat", 1, 0, 1, 0, 0, nil},
		{"gopacket/SFlowTestPacket13.dat", 1, 0, 1, 0, 0, nil},
		{"gopacket/SFlowEthernetFramePacket.dat", 1, 7, 0, 0, 0, nil},
		{"tcpdump/sflow-print-v6.pcap", 25, 13, 48, 0, 0, nil},
		{"tcpdump/sflow_expanded.pcap", 1, 1, 0, 0, 0, nil},
		{"tcpdump/sflow_print-segv.pcap", 1, 0, 0, 0, 0, flow.ErrTruncated},
	}
	if len(tests) != 34 {
		t.Fatalf("%d files in the table; the corpus index lists 34 sFlow files", len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ds := decodeFile(t, tt.file)
			flows, ctrs, mismatches := 0, 0, 0
			for i, d := range ds {
				if !errors.Is(d.err, tt.err) || (tt.err == nil && d.err != nil) {
					t.Errorf("datagram %d: err = %v, want %v", i, d.err, tt.err)
				}
				if d.stats.UnknownRecords+d.stats.UnknownSamples+d.stats.MalformedSamples+d.stats.MalformedRecords != 0 {
					t.Errorf("datagram %d: %+v", i, d.stats)
				}
				mismatches += d.stats.LengthMismatches
				if d.err == nil && int(d.h.Samples) != len(d.samples) {
					t.Errorf("datagram %d: %d samples, header counts %d", i, len(d.samples), d.h.Samples)
				}
				for _, s := range d.samples {
					switch s.s.Kind() {
					case sflow.KindFlow:
						flows++
					case sflow.KindCounters:
						ctrs++
					}
					if len(s.recs) != int(s.s.NumRecords) {
						t.Errorf("datagram %d sample at %d: %d records, it counts %d", i, s.s.Offset, len(s.recs), s.s.NumRecords)
					}
				}
				if len(d.flows) != countKind(d.samples, sflow.KindFlow) {
					t.Errorf("datagram %d: %d flow records for %d flow samples", i, len(d.flows), countKind(d.samples, sflow.KindFlow))
				}
			}
			if len(ds) != tt.datagrams || flows != tt.flows || ctrs != tt.ctrs || mismatches != tt.mismatches {
				t.Errorf("%d datagrams, %d flow samples, %d counter samples, %d length mismatches; want %d, %d, %d, %d",
					len(ds), flows, ctrs, mismatches, tt.datagrams, tt.flows, tt.ctrs, tt.mismatches)
			}
			if last := ds[len(ds)-1]; last.trailing != tt.trailing {
				t.Errorf("%d trailing bytes, want %d", last.trailing, tt.trailing)
			}
		})
	}
}

func countKind(ss []decodedSample, k sflow.Kind) int {
	n := 0
	for _, s := range ss {
		if s.s.Kind() == k {
			n++
		}
	}
	return n
}

// TestSegvCapture: tcpdump's regression capture for a crash holds an 8-byte "datagram";
// tcpdump reports "[length 8 < 28] (invalid)".
func TestSegvCapture(t *testing.T) {
	d := corpus.Datagrams(t, "tcpdump/sflow_print-segv.pcap")[0]
	var p sflow.Parser
	_, err := p.Start(d)
	var pe *flow.ParseError
	if !errors.As(err, &pe) || !errors.Is(err, flow.ErrTruncated) || !strings.Contains(err.Error(), "need 28 bytes, have 8") {
		t.Fatalf("err = %v", err)
	}
	out, _ := os.ReadFile(corpus.File(t, "tcpdump/sflow_print-segv.out"))
	if !strings.Contains(string(out), "[length 8 < 28]") {
		t.Errorf("tcpdump's golden says otherwise: %s", out)
	}
	if p.Next() || p.Trailing() != nil {
		t.Error("a failed Start yields samples")
	}
}

// tcpdumpLines renders a datagram the way tcpdump -vvv prints sFlow (print-sflow.c), for
// the structures the tcpdump captures hold, so that the whole decode compares with the
// golden text line by line.
func tcpdumpLines(t *testing.T, b []byte) []string {
	t.Helper()
	var p sflow.Parser
	h, err := p.Start(b)
	if err != nil {
		t.Fatal(err)
	}
	ipv := "IPv4"
	if h.Agent.Is6() {
		ipv = "IPv6"
	}
	lines := []string{fmt.Sprintf("sFlowv5, %s agent %s, agent-id %d, seqnum %d, uptime %d, samples %d, length %d",
		ipv, h.Agent, h.SubAgent, h.Sequence, h.Uptime, h.Samples, len(b))}
	dirs := []string{"unknown", "full-duplex", "half-duplex", "in", "out"}
	updown := func(b bool) string {
		if b {
			return "up"
		}
		return "down"
	}
	for p.Next() {
		s := p.Sample()
		switch s.Format {
		case sflow.SampleFlow:
			lines = append(lines, fmt.Sprintf("flow sample (1), length %d, seqnum %d, type %d, idx %d, rate %d, pool %d, drops %d, input %d output %d records %d",
				s.Length, s.Sequence, s.SourceType, s.SourceIndex, s.SamplingRate, s.SamplePool, s.Drops,
				s.Input.Format<<30|s.Input.Value, s.Output.Format<<30|s.Output.Value, s.NumRecords))
		case sflow.SampleFlowExpanded:
			lines = append(lines, fmt.Sprintf("expanded flow sample (3), length %d, seqnum %d, type %d, idx %d, rate %d, pool %d, drops %d, input %d (%d), output %d (%d), records %d",
				s.Length, s.Sequence, s.SourceType, s.SourceIndex, s.SamplingRate, s.SamplePool, s.Drops,
				s.Input.Value, s.Input.Format, s.Output.Value, s.Output.Format, s.NumRecords))
		case sflow.SampleCounters:
			lines = append(lines, fmt.Sprintf("counter sample (2), length %d, seqnum %d, type %d, idx %d, records %d",
				s.Length, s.Sequence, s.SourceType, s.SourceIndex, s.NumRecords))
		default:
			t.Fatalf("sample %s is not in the tcpdump captures", s.Format)
		}
		for rs := s.Records(); rs.Next(); {
			r := rs.Record()
			switch {
			case r.Counters && r.Format == sflow.CountersGeneric:
				c, err := r.IfCounters()
				if err != nil {
					t.Fatal(err)
				}
				lines = append(lines, fmt.Sprintf("enterprise 0, Generic counter (1) length %d", len(r.Data)),
					fmt.Sprintf("ifindex %d, iftype %d, ifspeed %d, ifdirection %d (%s)", c.Index, c.Type, c.Speed, c.Direction, dirs[c.Direction]),
					fmt.Sprintf("ifstatus %d, adminstatus: %s, operstatus: %s", c.Status, updown(c.Status&1 != 0), updown(c.Status&2 != 0)),
					fmt.Sprintf("In octets %d, unicast pkts %d, multicast pkts %d, broadcast pkts %d, discards %d", c.InOctets, c.InUcastPkts, c.InMulticastPkts, c.InBroadcastPkts, c.InDiscards),
					fmt.Sprintf("In errors %d, unknown protos %d", c.InErrors, c.InUnknownProtos),
					fmt.Sprintf("Out octets %d, unicast pkts %d, multicast pkts %d, broadcast pkts %d, discards %d", c.OutOctets, c.OutUcastPkts, c.OutMulticastPkts, c.OutBroadcastPkts, c.OutDiscards),
					fmt.Sprintf("Out errors %d, promisc mode %d", c.OutErrors, c.PromiscuousMode))
			case r.Counters && r.Format == sflow.CountersEthernet:
				c, err := r.EthernetCounters()
				if err != nil {
					t.Fatal(err)
				}
				lines = append(lines, fmt.Sprintf("enterprise 0, Ethernet counter (2) length %d", len(r.Data)),
					fmt.Sprintf("align errors %d, fcs errors %d, single collision %d, multiple collision %d, test error %d", c.AlignmentErrors, c.FCSErrors, c.SingleCollisionFrames, c.MultipleCollisionFrames, c.SQETestErrors),
					fmt.Sprintf("deferred %d, late collision %d, excessive collision %d, mac trans error %d", c.DeferredTransmissions, c.LateCollisions, c.ExcessiveCollisions, c.InternalMacTransmitErrors),
					fmt.Sprintf("carrier error %d, frames too long %d, mac receive errors %d, symbol errors %d", c.CarrierSenseErrors, c.FrameTooLongs, c.InternalMacReceiveErrors, c.SymbolErrors))
			case r.Format == sflow.FlowSampledHeader:
				sh, err := r.SampledHeader()
				if err != nil {
					t.Fatal(err)
				}
				lines = append(lines, fmt.Sprintf("enterprise 0 Raw packet (1) length %d", len(r.Data)),
					fmt.Sprintf("protocol Ethernet (%d), length %d, stripped bytes %d, header_size %d", sh.Protocol, sh.FrameLength, sh.Stripped, len(sh.Header)))
			case r.Format == sflow.FlowExtSwitch:
				sw, err := r.ExtendedSwitch()
				if err != nil {
					t.Fatal(err)
				}
				lines = append(lines, fmt.Sprintf("enterprise 0 Extended Switch data (1001) length %d", len(r.Data)),
					fmt.Sprintf("src vlan %d, src pri %d, dst vlan %d, dst pri %d", sw.SrcVLAN, sw.SrcPriority, sw.DstVLAN, sw.DstPriority))
			case r.Format == sflow.FlowExtGateway:
				lines = append(lines, fmt.Sprintf("enterprise 0 Extended Gateway data (1003) length %d", len(r.Data)))
			case r.Format == sflow.FlowExtRouter:
				lines = append(lines, fmt.Sprintf("enterprise 0 Extended Router data (1002) length %d", len(r.Data)))
			default:
				t.Fatalf("record %s is not in the tcpdump captures", r.Format)
			}
		}
	}
	if p.Err() != nil {
		t.Fatal(p.Err())
	}
	return lines
}

// TestTcpdumpGolden compares the decode of tcpdump's sFlow captures with tcpdump's own text
// decode of them (the .out files of its test suite), every line of every datagram: header,
// samples, records and every counter value.
func TestTcpdumpGolden(t *testing.T) {
	for _, name := range []string{"tcpdump/sflow-print-v6", "tcpdump/sflow_expanded"} {
		t.Run(name, func(t *testing.T) {
			out, err := os.ReadFile(corpus.File(t, name+".out"))
			if err != nil {
				t.Fatal(err)
			}
			// Split the golden into datagrams: a line starting with spaces and a frame
			// number begins one; its sFlow part starts at "sFlowv5,".
			var golden [][]string
			for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
				if i := strings.Index(l, "sFlowv5,"); i >= 0 {
					golden = append(golden, []string{l[i:]})
					continue
				}
				if len(golden) == 0 || !strings.HasPrefix(l, "\t") {
					continue // the frame's IP line, when tcpdump -v breaks it before the sFlow part
				}
				golden[len(golden)-1] = append(golden[len(golden)-1], strings.TrimSpace(l))
			}
			ds := corpus.Datagrams(t, name+".pcap")
			if len(ds) != len(golden) {
				t.Fatalf("%d datagrams, the golden has %d", len(ds), len(golden))
			}
			lines := 0
			for i, d := range ds {
				got := tcpdumpLines(t, d)
				if diff := cmp.Diff(golden[i], got); diff != "" {
					t.Errorf("datagram %d (-tcpdump +ours):\n%s", i, diff)
				}
				lines += len(got)
			}
			t.Logf("%d datagrams, %d lines equal to tcpdump's", len(ds), lines)
		})
	}
}

// akvoradoWant holds the values akvorado's sFlow decoder tests
// (outlet/flow/decoder/sflow/root_test.go) expect for a flow. Akvorado counts bytes at
// layer 3 (the IP total length) and reads TTL, fragment ID and flow label from the sampled
// header; those are checked through the packet parser, Bytes against the frame length.
type akvoradoWant struct {
	rate              uint32
	inIf, outIf       uint32
	srcVlan, dstVlan  uint16
	src, dst          string
	exporter          string
	nextHop           string
	srcAS, dstAS      uint32
	srcMask, dstMask  uint8
	l3Bytes           uint64
	proto             uint8
	sport, dport      uint16
	srcMAC, dstMAC    uint64
	tos               uint8
	tcpFlags          uint16
	ttl               uint8
	fragID, flowLabel uint32
	icmpType          uint8
	path, communities []uint32
}

func mac(v uint64) flow.MAC {
	return flow.MAC{byte(v >> 40), byte(v >> 32), byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

func TestAkvoradoGolden(t *testing.T) {
	v6flow := akvoradoWant{rate: 1024, inIf: 27, outIf: 28, srcVlan: 100, dstVlan: 100, src: "2a0c:8880:2:0:185:21:130:38", dst: "2a0c:8880:2:0:185:21:130:39",
		exporter: "172.16.0.3", l3Bytes: 1500, proto: 6, sport: 46026, dport: 22, srcMAC: 40057391053392, dstMAC: 40057381862408,
		ttl: 64, tos: 8, flowLabel: 0x68094, tcpFlags: 0x10}
	local := v6flow
	local.outIf = 0
	tests := []struct {
		file  string
		decap packet.Decap
		want  []akvoradoWant
	}{
		{"akvorado/sflow/data-1140.pcap", 0, []akvoradoWant{
			v6flow,
			{rate: 1024, src: "104.26.8.24", dst: "45.90.161.46", exporter: "172.16.0.3", nextHop: "45.90.161.46", inIf: 49001, outIf: 25,
				dstVlan: 100, srcAS: 13335, dstAS: 39421, srcMask: 20, dstMask: 27, l3Bytes: 421, proto: 6, sport: 443, dport: 56876,
				srcMAC: 216372595274807, dstMAC: 191421060163210, fragID: 0xa572, ttl: 59, tcpFlags: 0x18},
			v6flow,
			{rate: 1024, inIf: 28, outIf: 49001, srcVlan: 100, srcAS: 39421, dstAS: 26615, src: "45.90.161.148", dst: "191.87.91.27",
				exporter: "172.16.0.3", nextHop: "31.14.69.110", srcMask: 27, dstMask: 17, l3Bytes: 40, proto: 6, sport: 55658, dport: 5555,
				srcMAC: 138617863011056, dstMAC: 216372595274807, path: []uint32{203698, 6762, 26615},
				communities: []uint32{2583495656, 2583495657, 4259880000, 4259880001, 4259900001}, fragID: 0xd431, ttl: 255, tcpFlags: 0x2},
			v6flow,
		}},
		{"akvorado/sflow/data-local-interface.pcap", 0, []akvoradoWant{local}},
		{"akvorado/sflow/data-discard-interface.pcap", 0, []akvoradoWant{local}},
		{"akvorado/sflow/data-multiple-interfaces.pcap", 0, []akvoradoWant{local}},
		{"akvorado/sflow/data-sflow-expanded-sample.pcap", 0, []akvoradoWant{{rate: 1000, inIf: 29001, outIf: 1285816721,
			src: "52.52.52.52", dst: "53.53.53.53", exporter: "49.49.49.49", nextHop: "54.54.54.54", srcAS: 203476, dstAS: 203361,
			srcVlan: 809, dstVlan: 809, srcMask: 32, dstMask: 22, l3Bytes: 104, proto: 6, sport: 22, dport: 52237, path: []uint32{8218, 29605, 203361},
			communities: []uint32{538574949, 1911619684, 1911669584, 1911671290}, tcpFlags: 0x18, fragID: 0xab4e, ttl: 61, tos: 8,
			srcMAC: 0x948ed30a713b, dstMAC: 0x22421f4a9fcd}}},
		{"akvorado/sflow/data-sflow-ipv4-data.pcap", 0, []akvoradoWant{{rate: 256, outIf: 182, dstVlan: 3001, src: "50.50.50.50",
			dst: "51.51.51.51", exporter: "49.49.49.49", l3Bytes: 1344, proto: 17, sport: 46622, dport: 58631,
			srcMAC: 1094287164743, dstMAC: 1101091482116, fragID: 41647, ttl: 64}}},
		{"akvorado/sflow/data-sflow-raw-ipv4.pcap", 0, []akvoradoWant{
			{rate: 1, outIf: 2, src: "69.58.92.107", dst: "92.222.186.1", exporter: "172.19.64.116", l3Bytes: 32, proto: 1, fragID: 4329, ttl: 64, tos: 8},
			{rate: 1, outIf: 2, src: "69.58.92.107", dst: "92.222.184.1", exporter: "172.19.64.116", l3Bytes: 32, proto: 1, fragID: 62945, ttl: 64, tos: 8},
		}},
		{"akvorado/sflow/data-icmpv4.pcap", 0, []akvoradoWant{{rate: 1, src: "203.0.113.4", dst: "203.0.113.5", exporter: "127.0.0.1",
			l3Bytes: 84, proto: 1, dstMAC: 0xd25b45ee5ecf, srcMAC: 0xe2efc68f8cd4, icmpType: 8, ttl: 64, fragID: 0x90c5}}},
		{"akvorado/sflow/data-icmpv6.pcap", 0, []akvoradoWant{{rate: 1, src: "fe80::d05b:45ff:feee:5ecf", dst: "2001:db8::",
			exporter: "127.0.0.1", l3Bytes: 72, proto: 58, srcMAC: 0xd25b45ee5ecf, dstMAC: 0xe2efc68f8cd4, ttl: 255, icmpType: 135}}},
		{"akvorado/sflow/data-qinq.pcap", 0, []akvoradoWant{{rate: 4096, inIf: 369098852, outIf: 369098851, srcVlan: 1493, dstVlan: 1493,
			src: "49.49.49.2", dst: "49.49.49.109", exporter: "172.17.128.58", l3Bytes: 80, proto: 6, srcMAC: 0x4caea3520ff6,
			dstMAC: 0x000110621493, ttl: 62, fragID: 56159, tcpFlags: 16, sport: 32017, dport: 443}}},
		{"akvorado/sflow/data-encap-vxlan.pcap", packet.DecapVXLAN, []akvoradoWant{{rate: 1, src: "2001:db8:4::1", dst: "2001:db8:4::3",
			exporter: "127.0.0.1", l3Bytes: 104, proto: 58, srcMAC: 0xca6e98f8498f, dstMAC: 0x010203040506, ttl: 64, icmpType: 128,
			flowLabel: 0x0a461c}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			d := corpus.Datagrams(t, tt.file)[0]
			p := sflow.Parser{Packet: packet.Options{Decap: tt.decap}}
			h, err := p.Start(d)
			if err != nil {
				t.Fatal(err)
			}
			i := 0
			for ; p.Next(); i++ {
				if i >= len(tt.want) {
					t.Fatalf("more flows than akvorado's %d", len(tt.want))
				}
				w := tt.want[i]
				var r flow.Record
				if !p.Flow(&r) {
					t.Fatalf("sample %d is not a flow sample", i)
				}
				// What the sample's raw records say, for the fields akvorado reads
				// from them directly.
				var frame uint32
				var pk packet.Packet
				var path, comms []uint32
				var haveSwitch bool
				for rs := p.Sample().Records(); rs.Next(); {
					rec := rs.Record()
					switch rec.Format {
					case sflow.FlowSampledHeader:
						sh, _ := rec.SampledHeader()
						frame = sh.FrameLength
						layer, _ := sh.Layer()
						pk.Parse(sh.Header, layer, &packet.Options{Decap: tt.decap})
					case sflow.FlowExtGateway:
						g, _ := rec.ExtendedGateway()
						path, comms = g.Path.Append(nil), g.Communities.Append(nil)
					case sflow.FlowExtSwitch:
						haveSwitch = true
					}
				}
				// Without an extended switch record, akvorado takes both of its VLANs from
				// the sampled header, and from a QinQ header the innermost tag. flow.Record
				// keeps the outermost tag (IPFIX dot1qVlanId), which the packet parser has
				// next to the inner one, and claims no output VLAN from an ingress header.
				if !haveSwitch && w.srcVlan != 0 {
					if pk.VLANs == 2 && pk.InnerVLAN != w.srcVlan {
						t.Errorf("flow %d: inner VLAN %d, akvorado's VLAN %d", i, pk.InnerVLAN, w.srcVlan)
					}
					w.srcVlan, w.dstVlan = pk.VLAN, 0
				}
				if pk.IPVersion != 0 {
					if uint64(pk.IPLength) != w.l3Bytes || pk.TTL != w.ttl || pk.FragID != w.fragID || pk.FlowLabel != w.flowLabel {
						t.Errorf("flow %d header: IP length %d TTL %d id %#x label %#x, want %d %d %#x %#x",
							i, pk.IPLength, pk.TTL, pk.FragID, pk.FlowLabel, w.l3Bytes, w.ttl, w.fragID, w.flowLabel)
					}
				}
				want := flow.Record{
					Protocol: flow.SFlow, Exporter: netip.MustParseAddr(w.exporter), Domain: h.SubAgent,
					SrcAddr: netip.MustParseAddr(w.src), DstAddr: netip.MustParseAddr(w.dst),
					Packets: 1, Bytes: uint64(frame), SrcPort: w.sport, DstPort: w.dport, IPProto: w.proto,
					InIf: w.inIf, OutIf: w.outIf, SrcAS: w.srcAS, DstAS: w.dstAS, SamplingInterval: w.rate,
					TCPFlags: w.tcpFlags, ToS: w.tos, SrcMask: w.srcMask, DstMask: w.dstMask, VLAN: w.srcVlan, OutVLAN: w.dstVlan,
					SrcMAC: mac(w.srcMAC), DstMAC: mac(w.dstMAC),
				}
				if w.icmpType != 0 {
					want.DstPort = uint16(w.icmpType) << 8 // type<<8 | code, as NetFlow exporters report ICMP
				}
				if w.nextHop != "" {
					want.NextHop = netip.MustParseAddr(w.nextHop)
				}
				// Akvorado takes its next hop from whichever of the router and gateway
				// records comes last; both are kept here, the gateway's as the BGP next hop.
				want.BGPNextHop = r.BGPNextHop
				if diff := cmp.Diff(want, r, flowtest.CmpAddr); diff != "" {
					t.Errorf("flow %d (-akvorado +ours):\n%s", i, diff)
				}
				if !slicesEqual(path, w.path) || !slicesEqual(comms, w.communities) {
					t.Errorf("flow %d: path %v communities %v, want %v %v", i, path, comms, w.path, w.communities)
				}
			}
			if i != len(tt.want) {
				t.Errorf("%d flows, akvorado expects %d", i, len(tt.want))
			}
		})
	}
}

func slicesEqual(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// The discard-interface capture says why its packet was dropped: output format 1
// (discarded), reason 1 (icmp_host_unreachable in sflow_drops.txt), which akvorado's test
// sees as forwarding status 131 (unroutable). The multiple-interfaces capture sends the
// packet out of 7 interfaces; the local one to the agent itself. None is an ifIndex.
func TestDiscardInterface(t *testing.T) {
	for _, tt := range []struct {
		file string
		out  sflow.Interface
	}{
		{"akvorado/sflow/data-discard-interface.pcap", sflow.Interface{Format: sflow.IfDropped, Value: 1}},
		{"akvorado/sflow/data-local-interface.pcap", sflow.Interface{Format: sflow.IfIndex, Value: sflow.InternalInterface}},
		{"akvorado/sflow/data-multiple-interfaces.pcap", sflow.Interface{Format: sflow.IfMultiple, Value: 7}},
	} {
		ds := decodeFile(t, tt.file)
		if got := ds[0].samples[0].s.Output; got != tt.out || got.IfIndex() != 0 {
			t.Errorf("%s: output %+v, want %+v", tt.file, got, tt.out)
		}
	}
}
