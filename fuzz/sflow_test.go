package fuzz

import (
	"errors"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/packet"
	"github.com/flowkit/flow/sflow"
)

func FuzzSFlow(f *testing.F) {
	addSeeds(f, "sflow")
	good := datagramsOf(f, "gopacket/SFlowTestPacket1.pcap")[0]
	var p sflow.Parser
	f.Fuzz(func(t *testing.T, b []byte) {
		checkSFlow(t, &p, b)
		// Whatever came before, the parser reads a good datagram right.
		if flows, samples, err := decodeSFlow(&p, good); err != nil || flows != 6 || samples != 7 {
			t.Fatalf("good datagram after this input: %d flows, %d samples, %v", flows, samples, err)
		}
	})
}

// TestSFlowAllocs measures the allocations of 20,000 mutated datagrams, which the fuzz
// target cannot do while fuzzing.
func TestSFlowAllocs(t *testing.T) {
	var p sflow.Parser
	mutate(seedDatagrams(t, "sflow"), 20000, func(b []byte) { checkSFlow(t, &p, b) })
}

// checkSFlow decodes b and checks the properties every input must have.
func checkSFlow(t *testing.T, p *sflow.Parser, b []byte) {
	t.Helper()
	flows, samples, err := decodeSFlow(p, b)
	if err != nil {
		checkSentinel(t, err)
	}
	st := p.Stats()
	if skipped := p.Skipped(); skipped != nil {
		checkSentinel(t, skipped)
	}
	if (st.MalformedSamples > 0) != (p.Skipped() != nil) {
		t.Errorf("%d malformed samples, first error %v", st.MalformedSamples, p.Skipped())
	}
	// A failed or partly skipped decode allocates its error values and nothing more; a
	// clean one allocates nothing.
	limit := 0.0
	if err != nil || st.MalformedSamples > 0 {
		limit = errorAllocs
	}
	checkAllocs(t, limit, "decoding a datagram", func() { decodeSFlow(p, b) })
	if max := len(b) / 8; samples > max || flows > samples {
		t.Errorf("%d samples and %d flows from %d bytes", samples, flows, len(b))
	}
	if err == nil {
		if tr := p.Trailing(); len(tr) > len(b) || (len(tr) > 0 && &tr[len(tr)-1] != &b[len(b)-1]) {
			t.Errorf("trailing bytes are not the end of the datagram")
		}
	}
	// Every record accessor, on every record, either decodes or fails with a sentinel.
	if _, err := p.Start(b); err == nil {
		for p.Next() {
			for rs := p.Sample().Records(); rs.Next(); {
				if err := decodeRecord(rs.Record()); err != nil {
					checkSentinel(t, err)
				}
			}
		}
	}
}

// decodeSFlow decodes every sample of b, flow samples into flow.Records with the header
// parser decapsulating every tunnel, and returns how many flows and samples it found.
func decodeSFlow(p *sflow.Parser, b []byte) (flows, samples int, err error) {
	p.Packet.Decap = packet.DecapAll
	if _, err := p.Start(b); err != nil {
		return 0, 0, err
	}
	var r flow.Record
	for p.Next() {
		samples++
		if p.Flow(&r) {
			if r.Protocol != flow.SFlow || r.Packets != 1 {
				panic("flow record without protocol or packet count")
			}
			flows++
		}
	}
	return flows, samples, p.Err()
}

// decodeRecord calls the accessor that matches the record's format.
func decodeRecord(r sflow.Record) error {
	var err error
	if r.Counters {
		switch r.Format {
		case sflow.CountersGeneric:
			_, err = r.IfCounters()
		case sflow.CountersEthernet:
			_, err = r.EthernetCounters()
		case sflow.CountersTokenRing:
			_, err = r.TokenRingCounters()
		case sflow.CountersVG:
			_, err = r.VGCounters()
		case sflow.CountersVLAN:
			_, err = r.VLANCounters()
		case sflow.CountersIEEE80211:
			_, err = r.IEEE80211Counters()
		case sflow.CountersLAG:
			_, err = r.LAGCounters()
		case sflow.CountersSFP:
			var c sflow.SFPCounters
			if c, err = r.SFPCounters(); err == nil {
				for i := 0; i < c.Lanes.Len(); i++ {
					c.Lanes.At(i)
				}
			}
		case sflow.CountersProcessor:
			_, err = r.ProcessorCounters()
		case sflow.CountersOpenFlowPort:
			_, err = r.OpenFlowPort()
		case sflow.CountersPortName:
			_, err = r.PortName()
		case sflow.CountersHostDescr:
			_, err = r.HostDescr()
		case sflow.CountersHostAdapters:
			var a sflow.HostAdapters
			if a, err = r.HostAdapters(); err == nil {
				a.Append(nil)
			}
		case sflow.CountersHostCPU:
			_, err = r.HostCPU()
		case sflow.CountersHostMemory:
			_, err = r.HostMemory()
		case sflow.CountersHostDiskIO:
			_, err = r.HostDiskIO()
		case sflow.CountersHostNetIO, sflow.CountersVirtNetIO:
			_, err = r.NetIO()
		case sflow.CountersMIB2ICMP:
			_, err = r.MIB2ICMP()
		case sflow.CountersVirtDiskIO:
			_, err = r.VirtDiskIO()
		case sflow.CountersAppOperations:
			_, err = r.AppOperations()
		case sflow.CountersAppResources:
			_, err = r.AppResources()
		case sflow.CountersOVSDP:
			_, err = r.OVSDP()
		}
		return err
	}
	switch r.Format {
	case sflow.FlowSampledHeader:
		_, err = r.SampledHeader()
	case sflow.FlowSampledEthernet, sflow.FlowExtL2TunnelEgress, sflow.FlowExtL2TunnelIngress:
		_, err = r.SampledEthernet()
	case sflow.FlowSampledIPv4, sflow.FlowExtIPv4TunnelEgress, sflow.FlowExtIPv4TunnelIngress:
		_, err = r.SampledIPv4()
	case sflow.FlowSampledIPv6, sflow.FlowExtIPv6TunnelEgress, sflow.FlowExtIPv6TunnelIngress:
		_, err = r.SampledIPv6()
	case sflow.FlowExtSwitch:
		_, err = r.ExtendedSwitch()
	case sflow.FlowExtRouter:
		_, err = r.ExtendedRouter()
	case sflow.FlowExtGateway:
		var g sflow.ExtendedGateway
		if g, err = r.ExtendedGateway(); err == nil {
			g.Path.Segments(nil)
			g.DstAS()
		}
	case sflow.FlowExtUser:
		_, err = r.ExtendedUser()
	case sflow.FlowExtURL:
		_, err = r.ExtendedURL()
	case sflow.FlowExtMPLS:
		_, err = r.ExtendedMPLS()
	case sflow.FlowExtNAT:
		_, err = r.ExtendedNAT()
	case sflow.FlowExtMPLSTunnel, sflow.FlowExtMPLSVC:
		_, err = r.ExtendedMPLSName()
	case sflow.FlowExtMPLSFTN:
		_, err = r.ExtendedMPLSFTN()
	case sflow.FlowExtVLANTunnel:
		_, err = r.Words()
	case sflow.FlowExtACL:
		_, err = r.ExtendedACL()
	case sflow.FlowExtHWTrap:
		_, err = r.ExtendedHWTrap()
	case sflow.FlowExtFunction, sflow.FlowExtLinuxReason:
		_, err = r.Text()
	case sflow.FlowExtSocket4, sflow.FlowExtSocket6, sflow.FlowExtProxySocket4, sflow.FlowExtProxySocket6:
		_, err = r.ExtendedSocket()
	default:
		_, err = r.Uint32()
	}
	return err
}

// FuzzSFlowRoundTrip decodes every flow sample into a flow.Record, encodes the records
// again with Builder.AddFlow, decodes those, and requires the same records.
func FuzzSFlowRoundTrip(f *testing.F) {
	addSeeds(f, "sflow")
	f.Fuzz(func(t *testing.T, b []byte) {
		var p sflow.Parser
		h, err := p.Start(b)
		if err != nil {
			return
		}
		first := p.AppendFlows(nil)
		if len(first) == 0 {
			return
		}
		enc := sflow.Builder{Agent: h.Agent, SubAgent: h.SubAgent}
		now := time.Unix(1700000000, 0)
		var out []byte
		var datagrams [][]byte
		for i := 0; i < len(first); {
			start := len(out)
			enc.Start(out, now)
			for ; i < len(first); i++ {
				if err := enc.AddFlow(&first[i]); errors.Is(err, flow.ErrFull) {
					break
				} else if err != nil {
					t.Fatalf("record %d: %v: %+v", i, err, first[i])
				}
			}
			out = enc.Finish()
			datagrams = append(datagrams, out[start:])
		}
		var second []flow.Record
		for _, d := range datagrams {
			h2, err := p.Start(d)
			if err != nil {
				t.Fatalf("re-encoded datagram does not decode: %v", err)
			}
			if h2.Agent != h.Agent || h2.SubAgent != h.SubAgent {
				t.Fatalf("header %+v after %+v", h2, h)
			}
			second = p.AppendFlows(second)
			if p.Err() != nil || p.Stats() != (sflow.Stats{}) {
				t.Fatalf("re-encoded datagram: %v %+v", p.Err(), p.Stats())
			}
		}
		if len(first) != len(second) {
			t.Fatalf("%d records, then %d", len(first), len(second))
		}
		for i := range first {
			first[i].MPLSLabel = 0 // from a sampled header; AddFlow writes none (see its doc)
			if first[i] != second[i] {
				t.Fatalf("record %d:\n%+v\nthen\n%+v", i, first[i], second[i])
			}
		}
	})
}

func FuzzPacket(f *testing.F) {
	for _, h := range sampledHeaders(f) {
		// The second argument is the layer the header starts at (packet.Layer), not the
		// sFlow header protocol number.
		if l, ok := h.Layer(); ok {
			f.Add(h.Header, uint8(l))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, first uint8) {
		checkPacket(t, b, packet.Layer(first%5))
	})
}

// TestPacketAllocs parses 20,000 mutated headers with the allocation check.
func TestPacketAllocs(t *testing.T) {
	var headers [][]byte
	for _, h := range sampledHeaders(t) {
		if h.Protocol == sflow.HeaderEthernet {
			headers = append(headers, h.Header)
		}
	}
	if len(headers) == 0 {
		t.Fatal("no sampled headers in the seeds")
	}
	mutate(headers, 20000, func(b []byte) { checkPacket(t, b, packet.Ethernet) })
}

// sampledHeaders returns the sampled headers of the sFlow seed datagrams.
func sampledHeaders(tb testing.TB) []sflow.SampledHeader {
	var out []sflow.SampledHeader
	for _, d := range seedDatagrams(tb, "sflow") {
		var p sflow.Parser
		if _, err := p.Start(d); err != nil {
			continue
		}
		for p.Next() {
			for rs := p.Sample().Records(); rs.Next(); {
				if r := rs.Record(); r.Format == sflow.FlowSampledHeader && !r.Counters {
					if h, err := r.SampledHeader(); err == nil {
						out = append(out, h)
					}
				}
			}
		}
	}
	return out
}

// checkPacket parses b with and without decapsulation and checks that it stays within
// the bytes, that its layers are in order, and that a prefix of b parses to the same
// fields as far as the prefix goes.
func checkPacket(t *testing.T, b []byte, first packet.Layer) {
	t.Helper()
	var p, cut packet.Packet
	for _, opts := range []*packet.Options{nil, {Decap: packet.DecapAll}} {
		p.Parse(b, first, opts)
		checkAllocs(t, 0, "parsing a header", func() { p.Parse(b, first, opts) })
		o := p.Offsets
		prev := int32(-1)
		for _, at := range []int32{o.Link, o.MPLS, o.Network, o.Transport, o.Payload} {
			if at > int32(len(b)) || (at >= 0 && at < prev) {
				t.Fatalf("offsets %+v for %d bytes", o, len(b))
			}
			if at >= 0 {
				prev = at
			}
		}
		if p.IPVersion != 0 && p.SrcAddr.IsValid() && p.SrcAddr.Is4() != (p.IPVersion == 4) {
			t.Fatalf("IPv%d with address %v", p.IPVersion, p.SrcAddr)
		}
		if p.Tunnel.Decapsulated && (opts == nil || p.Tunnel.Outer.Network < 0) {
			t.Fatalf("decapsulated without being asked, or without an outer header: %+v", p.Tunnel)
		}
		if opts == nil && p.Stop == packet.StopComplete && len(b) > 1 {
			cut.Parse(b[:len(b)-1], first, opts)
			if cut.SrcAddr.IsValid() && cut.SrcAddr != p.SrcAddr {
				t.Fatalf("one byte less: source %v, was %v", cut.SrcAddr, p.SrcAddr)
			}
		}
	}
}
