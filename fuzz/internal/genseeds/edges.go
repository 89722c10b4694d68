package main

import (
	"bytes"
	"encoding/binary"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/packet"
)

// Hand-made edge cases. Each is named after the bug it recalls in a peer decoder (goflow2,
// logstash-codec-netflow, gopacket, tcpdump) or after the class of input that loops or
// over-allocates in length-prefixed formats. They are small on purpose: the fuzzer grows
// them.

var be = binary.BigEndian

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func u16(v uint16) []byte { return be.AppendUint16(nil, v) }
func u32(v uint32) []byte { return be.AppendUint32(nil, v) }

// edges returns the hand-made datagrams of every protocol.
func edges() []datagram {
	var out []datagram
	add := func(proto flow.Protocol, name string, b []byte) {
		out = append(out, datagram{name: name, family: "edge", proto: proto, data: b})
	}
	for _, e := range v5Edges() {
		add(flow.NetFlow5, e.name, e.b)
	}
	for _, e := range v9Edges() {
		add(flow.NetFlow9, e.name, e.b)
	}
	for _, e := range sflowEdges() {
		add(flow.SFlow, e.name, e.b)
	}
	// What protocol detection must turn away, or must not mistake for another protocol.
	for _, e := range []named{
		{"detect-empty", nil},
		{"detect-three-bytes", []byte{0, 5, 0}},
		{"detect-version-1", cat(u16(1), u16(1), make([]byte, 20))},
		{"detect-version-7", cat(u16(7), u16(1), make([]byte, 50))},
		{"detect-sflow-version-4", cat(u32(4), u32(1), make([]byte, 20))},
		{"detect-sflow-version-5-only", u32(5)},
		{"detect-ipfix-header-only", cat(u16(10), u16(16), u32(1767225600), u32(1), u32(0))},
		{"detect-ipfix-length-beyond", cat(u16(10), u16(0xffff), u32(1767225600), u32(1), u32(0), u16(2), u16(8), u16(256), u16(0))},
	} {
		add(flow.Detect(e.b), e.name, e.b)
	}
	return out
}

type named struct {
	name string
	b    []byte
}

// v5 returns a NetFlow v5 datagram whose header says count and which holds records.
func v5(count uint16, records int) []byte {
	b := cat(u16(5), u16(count), u32(3600000), u32(1767225600), u32(0), u32(1000), []byte{1, 2}, u16(1<<14|100))
	for i := 0; i < records; i++ {
		b = cat(b, []byte{10, 0, 0, byte(i + 1)}, []byte{192, 0, 2, byte(i + 1)}, []byte{198, 51, 100, 1},
			u16(3), u16(4), u32(10), u32(1500), u32(3500000), u32(3590000), u16(40000), u16(443),
			[]byte{0, 0x1b, 6, 0}, u16(64500), u16(64501), []byte{24, 16}, u16(0))
	}
	return b
}

func v5Edges() []named {
	wrap := v5(1, 1)
	be.PutUint32(wrap[24+24:], 0xffffff00) // first switched just before the uptime wrapped
	be.PutUint32(wrap[24+28:], 0x100)
	return []named{
		{"v5-count-55582-logstash-invalid01", v5(55582, 2)},
		{"v5-count-163-logstash-invalid02", v5(163, 2)},
		{"v5-count-65535-goflow2-makes-up-records", v5(65535, 0)},
		{"v5-count-0-records-follow", v5(0, 2)},
		{"v5-count-31-beyond-max-30", v5(31, 31)},
		{"v5-header-short-by-one", v5(1, 0)[:23]},
		{"v5-record-short-by-one", v5(1, 1)[:24+47]},
		{"v5-trailing-byte", append(v5(1, 1), 0)},
		{"v5-uptime-wrap-first-after-last", wrap},
	}
}

// v9 returns a NetFlow v9 packet whose header counts count records, with sets.
func v9(count uint16, sets ...[]byte) []byte {
	return cat(cat(u16(9), u16(count), u32(3600000), u32(1767225600), u32(77), u32(42)), cat(sets...))
}

// set returns a flowset: its ID, its length, then body (no padding added).
func set(id uint16, body ...[]byte) []byte {
	b := cat(body...)
	return cat(u16(id), u16(uint16(4+len(b))), b)
}

// tpl returns a template record: ID, field count, then (type, length) pairs.
func tpl(id uint16, fields ...[2]uint16) []byte {
	b := cat(u16(id), u16(uint16(len(fields))))
	for _, f := range fields {
		b = cat(b, u16(f[0]), u16(f[1]))
	}
	return b
}

func v9Edges() []named {
	four := [][2]uint16{{8, 4}, {12, 4}, {4, 1}, {7, 2}, {11, 2}, {1, 4}, {2, 4}, {22, 4}, {21, 4}, {10, 2}, {14, 2}}
	rec := cat([]byte{10, 0, 0, 1, 192, 0, 2, 1, 6}, u16(40000), u16(443), u32(1500), u32(10), u32(3500000), u32(3590000), u16(3), u16(4))
	var flood []byte
	for i := 0; i < 170; i++ {
		flood = append(flood, tpl(uint16(256+i), [2]uint16{8, 4})...)
	}
	var floodSeq [][]byte
	for p := 0; p < 24; p++ {
		var ts []byte
		for i := 0; i < 10; i++ {
			ts = append(ts, tpl(uint16(256+p*10+i), [2]uint16{8, 4}, [2]uint16{uint16(1 + i), 4})...)
		}
		floodSeq = append(floodSeq, v9(10, set(0, ts)))
	}
	v6 := [][2]uint16{{27, 16}, {28, 16}, {62, 16}, {56, 6}, {80, 6}, {58, 2}, {59, 2}, {4, 1}, {5, 1}, {6, 1},
		{7, 2}, {11, 2}, {1, 8}, {2, 8}, {22, 4}, {21, 4}, {10, 4}, {14, 4}, {29, 1}, {30, 1}, {16, 4}, {17, 4}, {61, 1}}
	v6rec := cat(bytes.Repeat([]byte{0x20, 0x01, 0x0d, 0xb8}, 4), bytes.Repeat([]byte{0x20, 0x01, 0x0d, 0xb9}, 4),
		bytes.Repeat([]byte{0xfe, 0x80, 0, 1}, 4), []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2}, u16(100), u16(200),
		[]byte{17, 0x28, 0}, u16(5353), u16(53), u32(0), u32(120000), u32(0), u32(80), u32(3500000), u32(3590000),
		u32(7), u32(8), []byte{48, 64}, u32(4200000000), u32(64500), []byte{1})
	return []named{
		{"v9-goflow2-zero-field-template-loop", v9(2, set(0, tpl(256)), set(256, make([]byte, 8)))},
		{"v9-zero-length-field-record-length-0", v9(2, set(0, tpl(256, [2]uint16{8, 0})), set(256, make([]byte, 8)))},
		{"v9-field-count-larger-than-set", v9(1, set(0, u16(256), u16(100), u16(8), u16(4)))},
		{"v9-field-count-65535", v9(1, set(0, u16(256), u16(0xffff)))},
		{"v9-data-set-not-multiple-of-record-length", v9(3, set(0, tpl(256, [2]uint16{8, 4}, [2]uint16{4, 1}, [2]uint16{7, 2})),
			set(256, bytes.Repeat([]byte{10, 0, 0, 1, 6, 0, 80}, 2), []byte{1, 2, 3}))},
		{"v9-set-length-zero-no-progress", cat(v9(1), u16(256), u16(0), make([]byte, 12))},
		{"v9-set-length-2", cat(v9(1), u16(0), u16(2), make([]byte, 12))},
		{"v9-set-length-beyond-packet", cat(v9(1), u16(256), u16(1000), make([]byte, 8))},
		{"v9-template-flood-170-in-one-packet", v9(170, set(0, flood))},
		{"v9-template-flood-24-packets", bytes.Join(floodSeq, sep)},
		{"v9-template-redefined-then-data", v9(3, set(0, tpl(256, [2]uint16{8, 4})), set(0, tpl(256, [2]uint16{8, 4}, [2]uint16{12, 4})),
			set(256, []byte{10, 0, 0, 1, 192, 0, 2, 1}))},
		{"v9-data-before-template-same-packet", v9(2, set(256, rec), set(0, tpl(256, four...)))},
		{"v9-template-then-data", v9(2, set(0, tpl(256, four...)), set(256, rec, rec, []byte{0, 0}))},
		{"v9-template-id-below-256", v9(2, set(0, tpl(5, [2]uint16{8, 4})), set(5, []byte{10, 0, 0, 1}))},
		{"v9-template-withdrawn-then-data", v9(2, set(0, tpl(256, four...)), set(0, tpl(256)), set(256, rec))},
		{"v9-field-length-65535", v9(2, set(0, tpl(256, [2]uint16{8, 0xffff})), set(256, make([]byte, 8)))},
		{"v9-header-count-65535", v9(0xffff, set(0, tpl(256, four...)))},
		{"v9-header-only", v9(0)},
		{"v9-options-zero-scope", v9(1, set(1, u16(257), u16(0), u16(0)))},
		{"v9-options-scope-length-odd", v9(1, set(1, u16(257), u16(3), u16(4), u16(1), u16(4), u16(34), u16(4)))},
		{"v9-options-sampling-then-data", v9(4,
			set(1, u16(257), u16(4), u16(8), u16(1), u16(4), u16(34), u16(4), u16(35), u16(1), u16(0)),
			set(257, u32(42), u32(1000), []byte{2, 0, 0, 0}),
			set(0, tpl(256, four...)), set(256, rec, []byte{0, 0}))},
		{"v9-ipv6-mac-vlan-wide-counters", v9(2, set(0, tpl(256, v6...)), set(256, v6rec, []byte{0, 0, 0}))},
	}
}

// sfHeader returns an sFlow v5 datagram header with an agent address of the given type.
func sfHeader(agentType uint32, agent []byte, samples uint32) []byte {
	return cat(u32(5), u32(agentType), agent, u32(1), u32(7), u32(123456), u32(samples))
}

var agent4 = []byte{192, 0, 2, 1}

// sfSample returns a sample of the given format (1 flow, 2 counters, 3 expanded flow)
// around body.
func sfSample(format uint32, body ...[]byte) []byte {
	b := cat(body...)
	return cat(u32(format), u32(uint32(len(b))), b)
}

// flowSample returns a compact flow sample body with the records.
func flowSample(rate uint32, records ...[]byte) []byte {
	return sfSample(1, cat(u32(1), u32(3), u32(rate), u32(rate*5), u32(0), u32(3), u32(4), u32(uint32(len(records)))), cat(records...))
}

func sfRecord(format uint32, body []byte) []byte {
	return cat(u32(format), u32(uint32(len(body))), body)
}

// sampledHeader returns a sampled-header flow record, padded to four bytes as XDR wants.
func sampledHeader(proto uint32, hdr []byte) []byte {
	pad := make([]byte, (4-len(hdr)%4)%4)
	return sfRecord(1, cat(u32(proto), u32(uint32(len(hdr)+4)), u32(4), u32(uint32(len(hdr))), hdr, pad))
}

var (
	macs = []byte{0, 0x1b, 0x21, 0x3c, 0x9d, 1, 0, 0x25, 0x90, 0x11, 0x22, 0x33}
	ip4  = cat([]byte{0x45, 0, 0, 52, 0x12, 0x34, 0x40, 0, 64, 6, 0, 0}, []byte{10, 0, 0, 1}, []byte{198, 51, 100, 7})
	tcp  = cat(u16(40000), u16(443), u32(1), u32(2), []byte{0x50, 0x18}, u16(502), u32(0))
	// ethTCP is an Ethernet/IPv4/TCP header as an agent samples it.
	ethTCP = cat(macs, u16(0x0800), ip4, tcp)
)

func sflowEdges() []named {
	sw := sfRecord(1001, cat(u32(100), u32(0), u32(200), u32(0)))
	router := sfRecord(1002, cat(u32(1), []byte{192, 0, 2, 254}, u32(24), u32(16)))
	good := flowSample(1000, sampledHeader(1, ethTCP), sw, router)
	twenty := cat(sfHeader(1, agent4, 20_000_000), make([]byte, 52))
	ipv6udp := cat(macs, u16(0x8100), u16(100), u16(0x86dd), []byte{0x60, 0, 0, 0}, u16(8), []byte{17, 64},
		bytes.Repeat([]byte{0x20, 0x01, 0x0d, 0xb8}, 4), bytes.Repeat([]byte{0x20, 0x01, 0x0d, 0xb9}, 4), u16(5353), u16(53), u16(8), u16(0))
	expanded := sfSample(3, cat(u32(1), u32(0), u32(3), u32(512), u32(512*5), u32(0), u32(0), u32(3), u32(0x40000000), u32(7), u32(1)),
		sampledHeader(1, ethTCP))
	return []named{
		{"sflow-20-million-samples-in-80-bytes", twenty[:80]},
		{"sflow-20-million-records-in-80-bytes", cat(sfHeader(1, agent4, 1), sfSample(1, u32(1), u32(3), u32(1000), u32(5000), u32(0), u32(3), u32(4), u32(20_000_000), make([]byte, 8)))},
		{"sflow-mac-xdr-padding-sampled-ethernet", cat(sfHeader(1, agent4, 1), flowSample(1000,
			sfRecord(2, cat(u32(1514), macs[:6], []byte{0, 0}, macs[6:], []byte{0, 0}, u32(0x0800)))))},
		{"sflow-mac-unpadded-sampled-ethernet", cat(sfHeader(1, agent4, 1), flowSample(1000,
			sfRecord(2, cat(u32(1514), macs, u32(0x0800)))))},
		{"sflow-ethernet-ipv4-tcp-switch-router", cat(sfHeader(1, agent4, 1), good)},
		{"sflow-ipv6-vlan-udp", cat(sfHeader(2, bytes.Repeat([]byte{0x20, 0x01, 0x0d, 0xb8}, 4), 1), flowSample(4096, sampledHeader(1, ipv6udp)))},
		{"sflow-expanded-flow-sample-discard-interface", cat(sfHeader(1, agent4, 1), expanded)},
		{"sflow-sampled-ipv4-record", cat(sfHeader(1, agent4, 1), flowSample(1000,
			sfRecord(3, cat(u32(1500), u32(6), []byte{10, 0, 0, 1}, []byte{198, 51, 100, 7}, u32(40000), u32(443), u32(0x18), u32(0)))))},
		{"sflow-sample-length-zero", cat(sfHeader(1, agent4, 2), u32(1), u32(0), good)},
		{"sflow-sample-length-beyond-datagram", cat(sfHeader(1, agent4, 1), u32(1), u32(0xfffffff0), good[8:])},
		{"sflow-record-length-beyond-sample", cat(sfHeader(1, agent4, 1), flowSample(1000, cat(u32(1), u32(4096), u32(1), u32(60))))},
		{"sflow-header-length-0xffffffff", cat(sfHeader(1, agent4, 1), flowSample(1000, sfRecord(1, cat(u32(1), u32(60), u32(4), u32(0xffffffff), ethTCP))))},
		{"sflow-header-length-not-padded", cat(sfHeader(1, agent4, 1), flowSample(1000, sfRecord(1, cat(u32(1), u32(60), u32(4), u32(13), ethTCP[:13]))))},
		{"sflow-agent-type-unknown", cat(sfHeader(0, nil, 1), good)},
		{"sflow-agent-type-7", cat(sfHeader(7, agent4, 1), good)},
		{"sflow-sampling-rate-zero", cat(sfHeader(1, agent4, 1), flowSample(0, sampledHeader(1, ethTCP)))},
		{"sflow-counter-sample-4-billion-records", cat(sfHeader(1, agent4, 1), sfSample(2, u32(1), u32(3), u32(0xffffffff), make([]byte, 16)))},
		{"sflow-unknown-enterprise-sample", cat(sfHeader(1, agent4, 2), sfSample(9<<12|1, make([]byte, 12)), good)},
	}
}

type packetEdge struct {
	name  string
	data  []byte
	layer uint8
}

// edgePackets returns hand-made sampled headers for the packet parser.
func edgePackets() []packetEdge {
	var qinq []byte
	for i := 0; i < 8; i++ {
		qinq = cat(qinq, u16(0x8100), u16(uint16(100+i)))
	}
	var labels []byte
	for i := 0; i < 20; i++ {
		labels = cat(labels, u32(uint32(16+i)<<12|64)) // no bottom-of-stack bit anywhere
	}
	ipv4 := func(proto byte, payload []byte) []byte {
		h := cat([]byte{0x45, 0}, u16(uint16(20+len(payload))), []byte{0, 1, 0x40, 0, 64, proto, 0, 0, 10, 0, 0, 1, 198, 51, 100, 7})
		return cat(h, payload)
	}
	gre := ipv4(6, tcp)
	for i := 0; i < 6; i++ {
		gre = ipv4(47, cat(u16(0), u16(0x0800), gre))
	}
	var ext []byte
	for i := 0; i < 10; i++ {
		next := byte(60)
		if i == 9 {
			next = 6
		}
		ext = cat(ext, []byte{next, 0, 1, 4, 0, 0, 0, 0})
	}
	v6ext := cat([]byte{0x60, 0, 0, 0}, u16(uint16(len(ext)+len(tcp))), []byte{0, 64},
		bytes.Repeat([]byte{0x20, 0x01, 0x0d, 0xb8}, 8), ext, tcp)
	vxlan := ipv4(17, cat(u16(50000), u16(4789), u16(uint16(8+8+len(ethTCP))), u16(0), []byte{8, 0, 0, 0, 0, 0, 1, 0}, ethTCP))
	fragment := ipv4(6, tcp)
	fragment[6], fragment[7] = 0x00, 0x10 // a later fragment: its first bytes are no TCP header
	ihl4 := bytes.Clone(ipv4(6, tcp))
	ihl4[0] = 0x44
	ihl15 := bytes.Clone(ipv4(6, tcp))
	ihl15[0] = 0x4f
	llc := cat(macs, u16(uint16(8+len(ip4)+len(tcp))), []byte{0xaa, 0xaa, 3, 0, 0, 0}, u16(0x0800), ip4, tcp)
	return []packetEdge{
		{"packet-empty", nil, uint8(packet.Ethernet)},
		{"packet-ethernet-ipv4-tcp", ethTCP, uint8(packet.Ethernet)},
		{"packet-qinq-8-tags", cat(macs, qinq, u16(0x0800), ip4, tcp), uint8(packet.Ethernet)},
		{"packet-mpls-no-bottom-of-stack", cat(macs, u16(0x8847), labels, ip4), uint8(packet.Ethernet)},
		{"packet-mpls-first", cat(u32(16<<12|1<<8|64), ip4, tcp), uint8(packet.MPLS)},
		{"packet-ipv4-ihl-4", ihl4, uint8(packet.IPv4)},
		{"packet-ipv4-ihl-15-short", ihl15, uint8(packet.IP)},
		{"packet-ipv4-later-fragment", fragment, uint8(packet.IPv4)},
		{"packet-ipv4-tcp-truncated", ipv4(6, tcp)[:22], uint8(packet.IPv4)},
		{"packet-ipv6-10-extension-headers", v6ext, uint8(packet.IPv6)},
		{"packet-gre-nested-6-deep", gre, uint8(packet.IPv4)},
		{"packet-vxlan", vxlan, uint8(packet.IPv4)},
		{"packet-llc-snap", llc, uint8(packet.Ethernet)},
	}
}

// flowCache makes FuzzFlowCache's seeds: sequences of 22-byte packets (the target's
// layout: address bytes, ports, VLAN, protocol, flags, ToS, TTL, time offset, length,
// interface, IPv6 and expire bits).
func flowCache(_, _ []datagram) []entry {
	pkt := func(src, dst byte, sport, dport uint16, proto, flags byte, ns uint32, length uint32, bits byte) []byte {
		return cat([]byte{src, dst}, u16(sport), u16(dport), u16(0), []byte{proto, flags, 0, 64}, u32(ns), u32(length), []byte{1, bits})
	}
	var overflow, backwards, expire, biflow []byte
	for i := 0; i < 12; i++ { // more flows than MaxFlows (8)
		overflow = cat(overflow, pkt(byte(i), byte(i>>3), uint16(i), 1, 0, 0, uint32(i)*1000, 100, 0))
		backwards = cat(backwards, pkt(1, 2, 1, 2, 0, 0, uint32(12-i)*10_000_000, 60, 0))
		expire = cat(expire, pkt(byte(i%3), 4, 1, 2, 1, 0, uint32(i)*30_000_000, 1500, 2|byte(i%2)))
		biflow = cat(biflow, pkt(byte(1+i%2), byte(2-i%2), uint16(1+i%2), uint16(2-i%2), 0, []byte{0x02, 0x12, 0x10, 0x11}[i%4], uint32(i)*1000, 60, 0))
	}
	return []entry{
		{"edge-flowcache-more-flows-than-max", []any{overflow}},
		{"edge-flowcache-time-going-backwards", []any{backwards}},
		{"edge-flowcache-expire-every-other-packet", []any{expire}},
		{"edge-flowcache-tcp-both-directions-fin", []any{biflow}},
		{"edge-flowcache-one-byte-short", []any{overflow[:21]}},
	}
}
