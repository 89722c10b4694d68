package fuzz

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/flowcache"
)

// FuzzFlowCache feeds a small cache packets whose every field, and time, comes from the
// input, in both modes, and checks what must hold whatever the input: the cache never
// holds more than MaxFlows, nothing is reported twice or lost (packets and bytes reported
// plus those still held equal those metered), and times within a record are ordered.
func FuzzFlowCache(f *testing.F) {
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13\x14\x15"))
	f.Add(make([]byte, 22*8))
	seq := make([]byte, 0, 22*40)
	for i := 0; i < 40; i++ { // a conversation ending with FINs, then a RST
		rec := make([]byte, 22)
		rec[0], rec[1] = byte(i%2), byte(1-i%2)
		rec[8] = 6
		rec[9] = []byte{0x02, 0x12, 0x10, 0x18, 0x11, 0x11, 0x10, 0x04}[i%8]
		binary.BigEndian.PutUint32(rec[12:], uint32(i)*1e6)
		seq = append(seq, rec...)
	}
	f.Add(seq)
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, biflow := range []bool{false, true} {
			checkFlowCache(t, b, biflow)
		}
	})
}

func checkFlowCache(t *testing.T, b []byte, biflow bool) {
	const maxFlows = 8
	var reported, reportedBytes uint64
	sink := func(fwd, rev *flow.Record) {
		for _, r := range []*flow.Record{fwd, rev} {
			if r == nil {
				continue
			}
			if r.End < r.Start {
				t.Fatalf("record ends before it starts: %+v", r)
			}
			reported += r.Packets
			reportedBytes += r.Bytes
		}
	}
	c, err := flowcache.New(flowcache.Config{
		MaxFlows: maxFlows, Shards: 2, Biflow: biflow, Sink: sink,
		InactiveTimeout: 50 * time.Millisecond, ActiveTimeout: 200 * time.Millisecond, EndWait: 5 * time.Millisecond,
		Key: flowcache.KeyVLAN | flowcache.KeyToS,
	})
	if err != nil {
		t.Fatal(err)
	}
	base := flow.TimeOf(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	var fed, fedBytes uint64
	// Each packet is 22 bytes of input: two address bytes, ports, protocol, flags, ToS,
	// VLAN, a time offset in ns, a length.
	for ; len(b) >= 22; b = b[22:] {
		p := flowcache.Packet{
			SrcAddr:  netip.AddrFrom4([4]byte{10, 0, 0, b[0] & 7}),
			DstAddr:  netip.AddrFrom4([4]byte{10, 0, 0, b[1] & 7}),
			SrcPort:  binary.BigEndian.Uint16(b[2:]) & 3,
			DstPort:  binary.BigEndian.Uint16(b[4:]) & 3,
			VLAN:     binary.BigEndian.Uint16(b[6:]) & 1,
			IPProto:  []uint8{6, 17, 1, 58}[b[8]&3],
			TCPFlags: uint16(b[9]),
			ToS:      b[10] & 1,
			TTL:      b[11],
			Time:     base + flow.Time(binary.BigEndian.Uint32(b[12:])),
			Length:   binary.BigEndian.Uint32(b[16:]) & 0xffff,
			InIf:     uint32(b[20]),
		}
		if b[21]&1 == 1 {
			p.SrcAddr = netip.AddrFrom16([16]byte{0x20, 0x01, 15: b[0] & 3})
			p.DstAddr = netip.AddrFrom16([16]byte{0x20, 0x01, 15: b[1] & 3})
		}
		if err := c.Update(&p); err != nil {
			t.Fatal(err)
		}
		fed++
		fedBytes += uint64(p.Length)
		if st := c.Stats(); st.Flows > maxFlows {
			t.Fatalf("%d flows held, MaxFlows %d", st.Flows, maxFlows)
		}
		if b[21]&2 != 0 {
			c.Expire(p.Time.Add(time.Duration(b[21]) * time.Millisecond).AsTime())
		}
	}
	st := c.Stats()
	if st.Packets != fed || st.Bytes != fedBytes {
		t.Fatalf("stats count %d packets %d bytes, fed %d %d", st.Packets, st.Bytes, fed, fedBytes)
	}
	c.Close()
	if reported != fed || reportedBytes != fedBytes {
		t.Fatalf("reported %d packets %d bytes, fed %d %d", reported, reportedBytes, fed, fedBytes)
	}
	if st := c.Stats(); st.Flows != 0 {
		t.Fatalf("%d flows left after Close", st.Flows)
	}
}
