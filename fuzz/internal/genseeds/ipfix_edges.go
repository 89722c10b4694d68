package main

// IPFIX messages for the bugs the peers shipped, and for the inputs that loop or
// over-allocate a length-prefixed decoder. Each is one message, so that the message
// targets see the whole case at once.

func ipfixMsg(sets ...[]byte) []byte {
	body := cat(sets...)
	return cat(u16(10), u16(uint16(16+len(body))), u32(1767225600), u32(0), u32(1), body)
}

func ipfixSet(id uint16, body ...[]byte) []byte {
	b := cat(body...)
	return cat(u16(id), u16(uint16(4+len(b))), b)
}

// ipfixTemplate is a template record: ID, field count, then (element, length) pairs.
func ipfixTemplate(id uint16, fields ...uint16) []byte {
	b := cat(u16(id), u16(uint16(len(fields)/2)))
	for _, f := range fields {
		b = append(b, u16(f)...)
	}
	return b
}

func ipfixEdges() []named {
	// Template 256: sourceIPv4Address, destinationIPv4Address, octetDeltaCount (8),
	// protocolIdentifier; 17-byte records.
	tpl := ipfixSet(2, ipfixTemplate(256, 8, 4, 12, 4, 1, 8, 4, 1))
	rec := cat([]byte{10, 0, 0, 1}, []byte{192, 0, 2, 1}, u32(0), u32(1500), []byte{6})
	return []named{
		// go-ipfix looped when data followed the withdrawal of its template.
		{"ipfix-withdrawal-then-data-goipfix-loop", ipfixMsg(tpl, ipfixSet(2, ipfixTemplate(256)), ipfixSet(256, rec, rec))},
		// go-ipfix decoded an options template set as data.
		{"ipfix-options-template-set-goipfix-as-data", ipfixMsg(ipfixSet(3, cat(u16(257), u16(2), u16(1), u16(149), u16(4), u16(34), u16(4))),
			ipfixSet(257, u32(1), u32(512)))},
		// go-ipfix decoded only the first set of a message.
		{"ipfix-three-data-sets-goipfix-first-only", ipfixMsg(tpl, ipfixSet(256, rec), ipfixSet(256, rec), ipfixSet(256, rec))},
		// calmh/ipfix read a 3-byte reduced-size integer as 0.
		{"ipfix-reduced-size-3-bytes-calmh", ipfixMsg(ipfixSet(2, ipfixTemplate(258, 1, 3, 2, 3)), ipfixSet(258, []byte{1, 2, 3, 0, 0, 9}))},
		// go-ipfix misread an unsigned64 counter sent in 4 bytes.
		{"ipfix-u64-in-4-bytes-goipfix", ipfixMsg(ipfixSet(2, ipfixTemplate(259, 1, 4, 2, 4)), ipfixSet(259, u32(0xfffffffe), u32(7)))},
		{"ipfix-scope-count-exceeds-field-count", ipfixMsg(ipfixSet(3, cat(u16(260), u16(1), u16(5), u16(149), u16(4))))},
		{"ipfix-scope-count-zero", ipfixMsg(ipfixSet(3, cat(u16(261), u16(1), u16(0), u16(149), u16(4))))},
		{"ipfix-field-count-larger-than-set", ipfixMsg(ipfixSet(2, cat(u16(262), u16(400), u16(8), u16(4))))},
		{"ipfix-set-length-zero-no-progress", cat(u16(10), u16(24), u32(1767225600), u32(0), u32(1), u16(256), u16(0), u32(0))},
		{"ipfix-length-beyond-message", cat(u16(10), u16(0xffff), u32(1767225600), u32(0), u32(1), tpl)},
		{"ipfix-varlen-three-byte-length-beyond", ipfixMsg(ipfixSet(2, ipfixTemplate(263, 82, 0xffff)), ipfixSet(263, []byte{0xff, 0xff, 0xf0, 'x'}))},
		// goflow2 makes a record of what is left when a variable-length field runs past
		// the set; the record is not whole and what is left is padding.
		{"ipfix-varlen-past-set-end-goflow2-reads-on", ipfixMsg(ipfixSet(2, ipfixTemplate(267, 4, 1, 82, 0xffff)),
			ipfixSet(267, []byte{6, 2, 'e', 'n', 17, 9, 'x'}))},
		{"ipfix-zero-length-records-loop", ipfixMsg(ipfixSet(2, ipfixTemplate(264, 82, 0)), ipfixSet(264, make([]byte, 64)))},
		// flowkit dropped the rest of a template set after a record with a reserved ID
		// (goflow2 reads on): data then met an earlier definition (FuzzDiffIPFIX).
		{"ipfix-reserved-template-id-then-redefinition", ipfixMsg(tpl,
			ipfixSet(2, ipfixTemplate(7, 8, 4), ipfixTemplate(256, 8, 4, 12, 4)), ipfixSet(256, rec, rec))},
		{"ipfix-withdraw-all-templates", ipfixMsg(tpl, ipfixSet(2, ipfixTemplate(2)), ipfixSet(256, rec))},
		// Written out: ipfixTemplate would count the enterprise numbers' halves as fields.
		{"ipfix-enterprise-and-reverse", ipfixMsg(ipfixSet(2, cat(u16(265), u16(3), u16(1), u16(8), u16(0x8001), u16(8), u32(29305), u16(0x8000|33), u16(0xffff), u32(6871))),
			ipfixSet(265, u32(0), u32(10), u32(0), u32(20), []byte{3, 'h', 't', 't'}))},
		{"ipfix-template-flood", ipfixMsg(ipfixSet(2, ipfixFlood(300)...))},
		{"ipfix-basiclist-huge-count", ipfixMsg(ipfixSet(2, ipfixTemplate(266, 291, 0xffff)), ipfixSet(266, []byte{0xff, 0xff, 0xfe, 3, 0, 82, 0xff, 0xff}))},
	}
}

func ipfixFlood(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = ipfixTemplate(uint16(300+i), 8, 4)
	}
	return out
}
