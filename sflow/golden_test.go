package sflow_test

import (
	"net/netip"
	"testing"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/flowtest"
	"github.com/flowkit/flow/sflow"
	"github.com/google/go-cmp/cmp"
)

// sampleWant is the part of a sample that the upstream test files assert. In and Out are
// the interface words as gopacket reads them (format<<30 | value for compact samples), and
// Source the compact source_id word (type<<24 | index); gopacket splits that word at bit 30
// where sflow_version_5.txt splits it at bit 24, so the word, not its parts, is compared.
// For expanded samples Source is the index alone: gopacket shifts the separate type word
// right by 30 bits, which leaves 0 of it, so the type is checked apart.
type sampleWant struct {
	format              sflow.Format
	length              int
	seq, source         uint32
	rate, pool, dropped uint32
	in, out             uint32
	records             []sflow.Format
}

func sampleOf(t *testing.T, s sflow.Sample, recs []sflow.Record) sampleWant {
	t.Helper()
	source := s.SourceType<<24 | s.SourceIndex
	if s.Format == sflow.SampleFlowExpanded || s.Format == sflow.SampleCountersExpanded {
		source = s.SourceIndex
	}
	w := sampleWant{format: s.Format, length: s.Length, seq: s.Sequence, source: source,
		rate: s.SamplingRate, pool: s.SamplePool, dropped: s.Drops,
		in: s.Input.Format<<30 | s.Input.Value, out: s.Output.Format<<30 | s.Output.Value}
	for _, r := range recs {
		w.records = append(w.records, r.Format)
	}
	return w
}

func datagramOf(t *testing.T, name string) decoded {
	t.Helper()
	ds := decodeFile(t, name)
	if len(ds) != 1 || ds[0].err != nil {
		t.Fatalf("%s: %d datagrams, err %v", name, len(ds), ds[0].err)
	}
	return ds[0]
}

func checkHeader(t *testing.T, got sflow.Header, agent string, subAgent, seq, uptime, samples uint32) {
	t.Helper()
	want := sflow.Header{Agent: netip.MustParseAddr(agent), SubAgent: subAgent, Sequence: seq, Uptime: uptime, Samples: samples}
	if diff := cmp.Diff(want, got, flowtest.CmpAddr); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
}

func checkSamples(t *testing.T, d decoded, want []sampleWant) {
	t.Helper()
	var got []sampleWant
	for _, s := range d.samples {
		got = append(got, sampleOf(t, s.s, s.recs))
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(sampleWant{})); diff != "" {
		t.Errorf("samples (-want +got):\n%s", diff)
	}
}

// must returns v, failing the test on err.
func must[T any](t *testing.T) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// The expectations below are those of gopacket's layers/sflow_test.go for the same bytes.

func TestGopacketPacket1(t *testing.T) {
	d := datagramOf(t, "gopacket/SFlowTestPacket1.pcap")
	checkHeader(t, d.h, "10.1.248.22", 17, 40443, 1078576845, 7)
	hs := []sflow.Format{sflow.FlowSampledHeader, sflow.FlowExtSwitch}
	checkSamples(t, d, []sampleWant{
		{sflow.SampleFlow, 0xd0, 0x2627e8, 0x213, 0x3e80, 0x50bde580, 0, 0x213, 0, hs},
		{sflow.SampleFlow, 0xd0, 0x15e5c1e, 0x257, 0x7d0, 0xb12fa290, 0, 0x257, 0, hs},
		{sflow.SampleFlow, 0xd0, 0x15acdd0, 0x255, 0x7d0, 0x9567e130, 0, 0x255, 0, hs},
		{sflow.SampleCounters, 0xa8, 0x20f2, 0x20a, 0, 0, 0, 0, 0, []sflow.Format{sflow.CountersGeneric, sflow.CountersEthernet}},
		{sflow.SampleFlow, 0xd0, 0x15e5c1f, 0x257, 0x7d0, 0xb12faa60, 0, 0x257, 0, hs},
		{sflow.SampleFlow, 0xd0, 0x15acdd1, 0x255, 0x7d0, 0x9567e900, 0, 0x255, 0x257, hs},
		{sflow.SampleFlow, 0x94, 0x15e5c20, 0x257, 0x7d0, 0xb12fb230, 0, 0x257, 0, hs},
	})
	// gopacket lists flow samples and counter samples apart; the datagram has the counter
	// sample fourth.
	frames := []uint32{0x5d2, 0x5ee, 0x446, 0, 0x5ee, 0x5ee, 0x46}
	sizes := []int{0x80, 0x80, 0x80, 0, 0x80, 0x80, 0x42}
	outVLANs := []uint32{0, 0, 0, 0, 0, 0x202, 0}
	for i, s := range d.samples {
		if s.s.Kind() != sflow.KindFlow {
			continue
		}
		h := must[sflow.SampledHeader](t)(s.recs[0].SampledHeader())
		sw := must[sflow.ExtendedSwitch](t)(s.recs[1].ExtendedSwitch())
		if h.Protocol != 1 || h.FrameLength != frames[i] || h.Stripped != 4 || len(h.Header) != sizes[i] {
			t.Errorf("sample %d: header %d %d %d %d", i, h.Protocol, h.FrameLength, h.Stripped, len(h.Header))
		}
		if sw != (sflow.ExtendedSwitch{SrcVLAN: 0x202, DstVLAN: outVLANs[i]}) {
			t.Errorf("sample %d: switch %+v", i, sw)
		}
	}
	c := must[sflow.IfCounters](t)(d.samples[3].recs[0].IfCounters())
	want := sflow.IfCounters{Index: 0x20a, Type: 6, Speed: 0x2540be400, Direction: 1, Status: 3, InOctets: 0x129826db06c0b,
		InUcastPkts: 0xcb0ddd96, InMulticastPkts: 0x6a8c6, InBroadcastPkts: 0x7b, OutOctets: 0x340235587c9e,
		OutUcastPkts: 0x56642571, OutMulticastPkts: 0x705ac4, OutBroadcastPkts: 0x908f1}
	if c != want {
		t.Errorf("generic counters\n got %+v\nwant %+v", c, want)
	}
	if e := must[sflow.EthernetCounters](t)(d.samples[3].recs[1].EthernetCounters()); e != (sflow.EthernetCounters{}) {
		t.Errorf("ethernet counters %+v", e)
	}
}

func TestGopacketPacket2(t *testing.T) {
	d := datagramOf(t, "gopacket/SFlowTestPacket2.pcap")
	checkHeader(t, d.h, "192.168.91.17", 0, 46394, 52000, 3)
	recs := []sflow.Format{sflow.FlowExtURL, sflow.FlowExtUser, sflow.FlowExtGateway, sflow.FlowSampledHeader}
	checkSamples(t, d, []sampleWant{
		{sflow.SampleFlow, 340, 139118, 3, 1, 139118, 0, 3, 1073741823, recs},
		{sflow.SampleFlow, 400, 139119, 3, 1, 139119, 0, 1073741823, 3, recs},
		{sflow.SampleFlow, 340, 139120, 3, 1, 139120, 0, 3, 1073741823, recs},
	})
	frames := []uint32{70, 390, 70}
	for i, s := range d.samples {
		u := must[sflow.ExtendedURL](t)(s.recs[0].ExtendedURL())
		if u.Direction != sflow.URLSource || string(u.URL) != "http://www.sflow.org" || string(u.Host) != "host1.sflow.org" {
			t.Errorf("sample %d: URL %d %q %q", i, u.Direction, u.URL, u.Host)
		}
		us := must[sflow.ExtendedUser](t)(s.recs[1].ExtendedUser())
		if us.SrcCharset != 106 || string(us.SrcUser) != "source user" || us.DstCharset != 106 || string(us.DstUser) != "destination user" {
			t.Errorf("sample %d: user %+v", i, us)
		}
		g := must[sflow.ExtendedGateway](t)(s.recs[2].ExtendedGateway())
		segs := g.Path.Segments(nil)
		type seg struct {
			typ  uint32
			asns []uint32
		}
		var gotSegs []seg
		for _, sg := range segs {
			gotSegs = append(gotSegs, seg{sg.Type, sg.ASNs.Append(nil)})
		}
		wantSegs := []seg{{sflow.ASSequence, []uint32{123, 456, 789}}, {sflow.ASSet, []uint32{11111, 22222, 33333}}, {sflow.ASSequence, []uint32{777, 888, 999}}}
		if g.NextHop != netip.MustParseAddr("13.12.11.10") || g.AS != 65001 || g.SrcAS != 123 || g.SrcPeerAS != 999 || g.LocalPref != 432 ||
			!cmp.Equal(wantSegs, gotSegs, cmp.AllowUnexported(seg{})) || !slicesEqual(g.Communities.Append(nil), []uint32{12, 13}) || g.DstAS() != 999 {
			t.Errorf("sample %d: gateway %+v segments %v", i, g, gotSegs)
		}
		h := must[sflow.SampledHeader](t)(s.recs[3].SampledHeader())
		if h.FrameLength != frames[i] || h.Stripped != 4 {
			t.Errorf("sample %d: header %+v", i, h)
		}
	}
	// The flow record takes the AS numbers from the gateway: the source's, and the last of
	// the path (999, from the last sequence).
	if r := d.flows[0]; r.SrcAS != 123 || r.DstAS != 999 || r.BGPNextHop != netip.MustParseAddr("13.12.11.10") || r.InIf != 3 || r.OutIf != 0 {
		t.Errorf("flow 0: %+v", r)
	}
}

func TestGopacketCounters(t *testing.T) {
	t.Run("processor", func(t *testing.T) {
		d := datagramOf(t, "gopacket/SFlowTestPacket3.dat")
		checkHeader(t, d.h, "10.20.4.0", 0x64, 96480, 1929595000, 1)
		checkSamples(t, d, []sampleWant{{sflow.SampleCountersExpanded, 0x34, 0x0178e0, 1, 0, 0, 0, 0, 0, []sflow.Format{sflow.CountersProcessor}}})
		if d.samples[0].s.SourceType != 2 {
			t.Errorf("source type %d, want 2 (entPhysicalEntry)", d.samples[0].s.SourceType)
		}
		got := must[sflow.ProcessorCounters](t)(d.samples[0].recs[0].ProcessorCounters())
		if want := (sflow.ProcessorCounters{FiveSecCPU: 0x05aa, OneMinCPU: 0x055a, FiveMinCPU: 0x0532, TotalMemory: 0xe78d7000, FreeMemory: 0x55e77000}); got != want {
			t.Errorf("processor %+v", got)
		}
	})
	t.Run("port name", func(t *testing.T) {
		d := datagramOf(t, "gopacket/SFlowTestPacket9.dat")
		checkHeader(t, d.h, "127.0.0.1", 0, 0x1b36d, 0xe04d248, 1)
		checkSamples(t, d, []sampleWant{{sflow.SampleCounters, 0xd8, 0x5be0, 0xe, 0, 0, 0, 0, 0,
			[]sflow.Format{sflow.CountersEthernet, sflow.CountersOpenFlowPort, sflow.CountersPortName, sflow.CountersGeneric}}})
		recs := d.samples[0].recs
		ones := ^uint32(0)
		if e := must[sflow.EthernetCounters](t)(recs[0].EthernetCounters()); e != (sflow.EthernetCounters{SingleCollisionFrames: ones,
			MultipleCollisionFrames: ones, SQETestErrors: ones, DeferredTransmissions: ones, LateCollisions: ones, ExcessiveCollisions: ones,
			InternalMacTransmitErrors: ones, CarrierSenseErrors: ones, FrameTooLongs: ones, InternalMacReceiveErrors: ones, SymbolErrors: ones}) {
			t.Errorf("ethernet %+v", e)
		}
		if of := must[sflow.OpenFlowPort](t)(recs[1].OpenFlowPort()); of != (sflow.OpenFlowPort{DatapathID: 0x62d33ce76e49, PortNo: 3}) {
			t.Errorf("openflow %+v", of)
		}
		if name := must[[]byte](t)(recs[2].PortName()); string(name) != "tapd98154f2-00" {
			t.Errorf("port name %q", name)
		}
		g := must[sflow.IfCounters](t)(recs[3].IfCounters())
		if g != (sflow.IfCounters{Index: 0xe, Type: 6, Speed: 0x2540be400, Direction: 1, Status: 3, InOctets: 0x4749, InUcastPkts: 0xb5,
			InBroadcastPkts: ones, InUnknownProtos: ones, OutOctets: 0x8a0b, OutUcastPkts: 0x1d2, OutMulticastPkts: ones, OutBroadcastPkts: ones}) {
			t.Errorf("generic %+v", g)
		}
	})
	t.Run("vlan", func(t *testing.T) {
		d := datagramOf(t, "gopacket/SFlowTestPacket10.dat")
		checkHeader(t, d.h, "10.20.4.0", 0x64, 96480, 1929595000, 1)
		checkSamples(t, d, []sampleWant{{sflow.SampleCountersExpanded, 0x34, 0x0178e0, 1, 0, 0, 0, 0, 0, []sflow.Format{sflow.CountersVLAN}}})
		v := must[sflow.VLANCounters](t)(d.samples[0].recs[0].VLANCounters())
		if v != (sflow.VLANCounters{VLAN: 10, Octets: 0x018c2ccc, UcastPkts: 0x9683, MulticastPkts: 0x029016, BroadcastPkts: 0x01f673}) {
			t.Errorf("vlan %+v", v)
		}
	})
	t.Run("lag", func(t *testing.T) {
		// The sample says 116 bytes where the datagram holds 76: the record, whose own
		// length is right, is believed.
		d := datagramOf(t, "gopacket/SFlowTestPacket11.dat")
		checkHeader(t, d.h, "127.0.0.1", 0, 14565, 95295000, 1)
		checkSamples(t, d, []sampleWant{{sflow.SampleCounters, 0x74, 0x0d30, 1, 0, 0, 0, 0, 0, []sflow.Format{sflow.CountersLAG}}})
		l := must[sflow.LAGCounters](t)(d.samples[0].recs[0].LAGCounters())
		ones := ^uint32(0)
		want := sflow.LAGCounters{ActorSystemID: flow.MAC{0x7e, 0x60, 0x69, 0x73, 0x8f, 0x42}, AttachedAggID: 1,
			ActorAdminState: 0x05, ActorOperState: 0x75, MarkerPDUsRx: ones, MarkerResponsePDUsRx: ones, UnknownRx: ones,
			LACPDUsTx: 1173, MarkerPDUsTx: ones, MarkerResponsePDUsTx: ones}
		if l != want { // gopacket: port state word 91553792 = 0x05750000
			t.Errorf("lag\n got %+v\nwant %+v", l, want)
		}
	})
	t.Run("openflow", func(t *testing.T) {
		d := datagramOf(t, "gopacket/SFlowTestPacket12.dat")
		checkHeader(t, d.h, "127.0.0.1", 0, 0x1b35a, 0xe0412e0, 1)
		recs := d.samples[0].recs
		if of := must[sflow.OpenFlowPort](t)(recs[1].OpenFlowPort()); of != (sflow.OpenFlowPort{DatapathID: 0x62d33ce76e49, PortNo: 0xfffe}) {
			t.Errorf("openflow %+v", of)
		}
		if name := must[[]byte](t)(recs[2].PortName()); string(name) != "br-int" {
			t.Errorf("port name %q", name)
		}
		ones := ^uint32(0)
		if g := must[sflow.IfCounters](t)(recs[3].IfCounters()); g != (sflow.IfCounters{Index: 0xb, Type: 6, Speed: 0x5f5e100,
			InBroadcastPkts: ones, InUnknownProtos: ones, OutMulticastPkts: ones, OutBroadcastPkts: ones}) {
			t.Errorf("generic %+v", g)
		}
	})
	t.Run("app resources and ovs", func(t *testing.T) {
		d := datagramOf(t, "gopacket/SFlowTestPacket13.dat")
		checkHeader(t, d.h, "127.0.0.1", 0, 0x1b35f, 0xe045160, 1)
		checkSamples(t, d, []sampleWant{{sflow.SampleCounters, 0x5c, 0x5bdd, 0x20003e8, 0, 0, 0, 0, 0,
			[]sflow.Format{sflow.CountersAppResources, sflow.CountersOVSDP}}})
		if a := must[sflow.AppResources](t)(d.samples[0].recs[0].AppResources()); a != (sflow.AppResources{UserTime: 0xb152d, SystemTime: 0xa3739, MemUsed: 0x58b000}) {
			t.Errorf("app resources %+v", a)
		}
		if o := must[sflow.OVSDP](t)(d.samples[0].recs[1].OVSDP()); o != (sflow.OVSDP{Hits: 0x3f7, Missed: 0x148, MaskHits: 0xa3b}) {
			t.Errorf("ovs %+v", o)
		}
	})
}

func TestGopacketFlowRecords(t *testing.T) {
	t.Run("extended switch", func(t *testing.T) {
		d := datagramOf(t, "gopacket/SFlowTestPacket4.dat")
		checkHeader(t, d.h, "192.168.1.7", 0, 0x027e, 0x32e0e47c, 1)
		checkSamples(t, d, []sampleWant{{sflow.SampleFlow, 0x38, 0x123, 0x1d, 0x100, 0x337, 0x5623, 0x1d, 0x04, []sflow.Format{sflow.FlowExtSwitch}}})
		if sw := must[sflow.ExtendedSwitch](t)(d.samples[0].recs[0].ExtendedSwitch()); sw != (sflow.ExtendedSwitch{3, 2, 5, 0xffffffff}) {
			t.Errorf("switch %+v", sw)
		}
		if d.flows[0].VLAN != 3 {
			t.Errorf("flow VLAN %d", d.flows[0].VLAN)
		}
	})
	for _, tt := range []struct {
		file    string
		nextHop string
		length  int
	}{
		{"gopacket/SFlowTestPacket5.dat", "192.168.1.33", 0x10},
		{"gopacket/SFlowTestPacket8.dat", "2001:db8::", 0x1c},
	} {
		t.Run("extended router "+tt.nextHop, func(t *testing.T) {
			// The sample's length (0x34) is shorter than its record: the record is believed.
			d := datagramOf(t, tt.file)
			checkHeader(t, d.h, "192.168.1.18", 0, 0x027e, 0x32e0e47c, 1)
			checkSamples(t, d, []sampleWant{{sflow.SampleFlow, 0x34, 0x123, 0x1d, 0x100, 0x334, 0x5602, 0x1d, 0x04, []sflow.Format{sflow.FlowExtRouter}}})
			rt := must[sflow.ExtendedRouter](t)(d.samples[0].recs[0].ExtendedRouter())
			if rt.NextHop != netip.MustParseAddr(tt.nextHop) || rt.SrcMask != 0xffffffff || rt.DstMask != 0xffffff80 || len(d.samples[0].recs[0].Data) != tt.length {
				t.Errorf("router %+v", rt)
			}
			// Prefix lengths beyond 128 are nonsense; the record keeps the wire values,
			// flow.Record caps them.
			if r := d.flows[0]; r.NextHop != rt.NextHop || r.SrcMask != 128 || r.DstMask != 128 {
				t.Errorf("flow %+v", r)
			}
		})
	}
	for _, tt := range []struct {
		file              string
		subAgent, seq, up uint32
		sampleSeq, source uint32
		pool, in, out     uint32
		format            sflow.Format
		proto             uint32
		src, dst          string
	}{
		{"gopacket/SFlowTestPacket6.dat", 0, 0x72, 0x1bd50, 0x74, 0x20003e8, 0x74, 0, 0x80000001, sflow.FlowExtIPv4TunnelIngress, 0x2f, "192.168.0.84", "192.168.0.83"},
		{"gopacket/SFlowTestPacket7.dat", 1, 0x12, 0x4268, 0x12, 0x20003e9, 0x12, 0x6c, 0x80000001, sflow.FlowExtIPv4TunnelEgress, 0, "0.0.0.0", "192.168.0.84"},
	} {
		t.Run(tt.format.String(), func(t *testing.T) {
			d := datagramOf(t, tt.file)
			checkHeader(t, d.h, "127.0.0.1", tt.subAgent, tt.seq, tt.up, 1)
			checkSamples(t, d, []sampleWant{{sflow.SampleFlow, 0x48, tt.sampleSeq, tt.source, 1, tt.pool, 0, tt.in, tt.out, []sflow.Format{tt.format}}})
			ip := must[sflow.SampledIP](t)(d.samples[0].recs[0].SampledIPv4())
			if ip != (sflow.SampledIP{Protocol: tt.proto, SrcAddr: netip.MustParseAddr(tt.src), DstAddr: netip.MustParseAddr(tt.dst)}) {
				t.Errorf("tunnel %+v", ip)
			}
			// A tunnel record describes the outer header, not the sampled packet.
			if r := d.flows[0]; r.SrcAddr.IsValid() || r.Bytes != 0 {
				t.Errorf("flow %+v", r)
			}
		})
	}
	t.Run("ethernet frame", func(t *testing.T) {
		d := datagramOf(t, "gopacket/SFlowEthernetFramePacket.dat")
		checkHeader(t, d.h, "185.120.22.246", 0x186a0, 0xb, 0x3297, 7)
		eth := []sflow.Format{sflow.FlowSampledEthernet}
		checkSamples(t, d, []sampleWant{
			{sflow.SampleFlow, 0x40, 0x7d, 3, 0x3e8, 0x1e848, 0, 0x3fffffff, 3, eth},
			{sflow.SampleFlow, 0x40, 0x7e, 3, 0x3e8, 0x1ec30, 0, 0x3fffffff, 3, eth},
			{sflow.SampleFlow, 0x40, 0x7f, 3, 0x3e8, 0x1f018, 0, 0x3fffffff, 3, eth},
			{sflow.SampleFlow, 0x40, 0x80, 3, 0x3e8, 0x1f400, 0, 0x3fffffff, 3, eth},
			{sflow.SampleFlow, 0x40, 0x81, 3, 0x3e8, 0x1f7e8, 0, 0x3fffffff, 3, eth},
			{sflow.SampleFlow, 0x40, 0x82, 3, 0x3e8, 0x1fbd0, 0, 3, 0x3fffffff, eth},
			{sflow.SampleFlow, 0x40, 0x83, 3, 0x3e8, 0x1ffb8, 0, 0x3fffffff, 3, eth},
		})
		a, b, c, e := "00:25:90:a2:53:58", "00:1d:b5:a2:5f:c0", "7a:7d:48:51:aa:c7", "9e:2b:bb:23:50:b5"
		macs := [][2]string{{a, b}, {a, c}, {a, c}, {a, c}, {a, e}, {b, a}, {a, e}}
		for i, s := range d.samples {
			got := must[sflow.SampledEthernet](t)(s.recs[0].SampledEthernet())
			if got.Length != 0x10 || got.Type != 3 || got.SrcMAC.String() != macs[i][0] || got.DstMAC.String() != macs[i][1] {
				t.Errorf("sample %d: %+v", i, got)
			}
			// The destination MAC sits after the source's two bytes of XDR padding.
			if r := d.flows[i]; r.SrcMAC != got.SrcMAC || r.DstMAC != got.DstMAC || r.Bytes != 0x10 {
				t.Errorf("flow %d: %+v", i, r)
			}
		}
		// 0x3fffffff is the agent itself, not an interface.
		if r := d.flows[0]; r.InIf != 0 || r.OutIf != 3 {
			t.Errorf("flow 0 interfaces %d %d", r.InIf, r.OutIf)
		}
	})
}

// The expectations of Cistern/sflow's decode_test.go.
func TestCistern(t *testing.T) {
	d := datagramOf(t, "cistern-sflow/counter_sample.dump")
	if len(d.samples) != 1 || len(d.samples[0].recs) != 2 {
		t.Fatalf("%d samples", len(d.samples))
	}
	if e := must[sflow.EthernetCounters](t)(d.samples[0].recs[0].EthernetCounters()); e != (sflow.EthernetCounters{}) {
		t.Errorf("ethernet %+v", e)
	}
	g := must[sflow.IfCounters](t)(d.samples[0].recs[1].IfCounters())
	want := sflow.IfCounters{Index: 9, Type: 6, Speed: 100000000, Direction: 1, Status: 3, InOctets: 79282473, InUcastPkts: 329128,
		InBroadcastPkts: 1493, OutOctets: 764247430, OutUcastPkts: 9470970, OutMulticastPkts: 780342, OutBroadcastPkts: 877721, PromiscuousMode: 1}
	if g != want {
		t.Errorf("generic\n got %+v\nwant %+v", g, want)
	}

	d = datagramOf(t, "cistern-sflow/flow_sample.dump")
	if len(d.samples) != 1 || len(d.samples[0].recs) != 2 {
		t.Fatalf("%d samples", len(d.samples))
	}
	h := must[sflow.SampledHeader](t)(d.samples[0].recs[0].SampledHeader())
	if h.Protocol != 1 || h.FrameLength != 318 || h.Stripped != 4 || len(h.Header) != 128 {
		t.Errorf("header %d %d %d %d", h.Protocol, h.FrameLength, h.Stripped, len(h.Header))
	}
}
