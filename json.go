package flow

import (
	"net/netip"
	"strconv"
)

// AppendJSON appends r to b as one JSON object and returns the extended buffer. It does not
// allocate when b has room.
//
// The keys, always all present and in this order, are: type, exporter, domain, src_addr,
// dst_addr, src_port, dst_port, proto, packets, bytes, start, end, in_if, out_if,
// tcp_flags, tos, next_hop, src_as, dst_as, src_mask, dst_mask, vlan, src_mac, dst_mac,
// sampling_interval, end_reason. Numbers are JSON numbers; addresses, MACs and times are
// strings (times in RFC 3339 with all nine fraction digits, UTC); end_reason is the [EndReason] name.
// A value the record does not carry (invalid address, zero time, zero MAC, unknown end
// reason) is null.
func (r *Record) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, r.Protocol.String()...)
	b = append(b, '"')
	b = appendAddr(b, `,"exporter":`, r.Exporter)
	b = appendUint(b, `,"domain":`, uint64(r.Domain))
	b = appendAddr(b, `,"src_addr":`, r.SrcAddr)
	b = appendAddr(b, `,"dst_addr":`, r.DstAddr)
	b = appendUint(b, `,"src_port":`, uint64(r.SrcPort))
	b = appendUint(b, `,"dst_port":`, uint64(r.DstPort))
	b = appendUint(b, `,"proto":`, uint64(r.IPProto))
	b = appendUint(b, `,"packets":`, r.Packets)
	b = appendUint(b, `,"bytes":`, r.Bytes)
	b = appendTime(b, `,"start":`, r.Start)
	b = appendTime(b, `,"end":`, r.End)
	b = appendUint(b, `,"in_if":`, uint64(r.InIf))
	b = appendUint(b, `,"out_if":`, uint64(r.OutIf))
	b = appendUint(b, `,"tcp_flags":`, uint64(r.TCPFlags))
	b = appendUint(b, `,"tos":`, uint64(r.ToS))
	b = appendAddr(b, `,"next_hop":`, r.NextHop)
	b = appendUint(b, `,"src_as":`, uint64(r.SrcAS))
	b = appendUint(b, `,"dst_as":`, uint64(r.DstAS))
	b = appendUint(b, `,"src_mask":`, uint64(r.SrcMask))
	b = appendUint(b, `,"dst_mask":`, uint64(r.DstMask))
	b = appendUint(b, `,"vlan":`, uint64(r.VLAN))
	b = appendMAC(b, `,"src_mac":`, r.SrcMAC)
	b = appendMAC(b, `,"dst_mac":`, r.DstMAC)
	b = appendUint(b, `,"sampling_interval":`, uint64(r.SamplingInterval))
	b = append(b, `,"end_reason":`...)
	if r.EndReason == EndUnknown {
		b = append(b, "null"...)
	} else {
		b = append(b, '"')
		b = append(b, r.EndReason.String()...)
		b = append(b, '"')
	}
	return append(b, '}')
}

// MarshalJSON renders r as [Record.AppendJSON] does, for use with encoding/json.
func (r Record) MarshalJSON() ([]byte, error) {
	return r.AppendJSON(make([]byte, 0, 512)), nil
}

func appendUint(b []byte, key string, v uint64) []byte {
	b = append(b, key...)
	return strconv.AppendUint(b, v, 10)
}

func appendAddr(b []byte, key string, a netip.Addr) []byte {
	b = append(b, key...)
	if !a.IsValid() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = a.AppendTo(b)
	return append(b, '"')
}

func appendTime(b []byte, key string, t Time) []byte {
	b = append(b, key...)
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.AppendTo(b)
	return append(b, '"')
}

func appendMAC(b []byte, key string, m MAC) []byte {
	b = append(b, key...)
	if m.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = m.AppendTo(b)
	return append(b, '"')
}
