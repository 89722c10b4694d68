package interop

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/flowkit/flow"
)

// TestNfdumpReadsOurExports: nfcapd receives the exporter's NetFlow v5 and v9 over UDP
// and nfdump reads what it stored: the same records, as a multiset (nfcapd stores them
// in its own order), and the same totals. nfdump keeps addresses, ports (ICMP as type
// and code), protocol, ToS, TCP flags, interfaces, VLAN, counters and times to the
// millisecond: all that is compared.
func TestNfdumpReadsOurExports(t *testing.T) {
	bins := need(t, "nfcapd", "nfdump")
	nfcapd, nfdump := bins[0], bins[1]
	for _, tc := range ourExports {
		if tc.proto == flow.SFlow {
			continue // nfcapd collects NetFlow and IPFIX; sFlow is sfcapd's, not in Debian's nfdump
		}
		t.Run(tc.proto.String(), func(t *testing.T) {
			ex := exportTraffic(t, tc.proto, tc.ipv6)
			dir := t.TempDir()
			port := freeUDPPort(t)
			d := start(t, dir, nfcapd, "-w", dir, "-b", "127.0.0.1", "-p", fmt.Sprint(port), "-B", "4194304", "-t", "3600")
			d.waitBound(port, 10*time.Second)
			send(t, addrPort(port), ex.datagrams)
			// nfcapd writes its file when it stops, once it has read all that was sent
			// (it stores each datagram's records before it looks at signals again).
			d.waitDrained(port, 30*time.Second)
			d.stop(syscall.SIGTERM, 10*time.Second)

			var got []nfdumpRecord
			if err := json.Unmarshal(run(t, nfdump, "-R", dir, "-o", "json"), &got); err != nil {
				t.Fatalf("nfdump's JSON: %v", err)
			}
			var views []view
			var gotKeys []string
			for _, r := range got {
				v := r.view(t)
				views = append(views, v)
				gotKeys = append(gotKeys, v.String())
			}
			if s := sumOf(views); s != ex.want {
				t.Errorf("nfdump reads %+v, want %+v", s, ex.want)
			}
			var wantKeys []string
			for _, v := range viewsOf(ex.ours(t)) {
				wantKeys = append(wantKeys, v.String())
			}
			sameMultiset(t, "nfdump vs what we sent", gotKeys, wantKeys)
		})
	}
}

// nfdumpRecord is a flow in nfdump's JSON output (nfdump 1.7).
type nfdumpRecord struct {
	Type     string `json:"type"`
	First    string `json:"first"`
	Last     string `json:"last"`
	Packets  uint64 `json:"in_packets"`
	Bytes    uint64 `json:"in_bytes"`
	Proto    uint8  `json:"proto"`
	TCPFlags string `json:"tcp_flags"`
	SrcPort  uint16 `json:"src_port"`
	DstPort  uint16 `json:"dst_port"`
	ICMPType uint8  `json:"icmp_type"`
	ICMPCode uint8  `json:"icmp_code"`
	ToS      uint8  `json:"src_tos"`
	Src4     string `json:"src4_addr"`
	Dst4     string `json:"dst4_addr"`
	Src6     string `json:"src6_addr"`
	Dst6     string `json:"dst6_addr"`
	InIf     uint32 `json:"input_snmp"`
	OutIf    uint32 `json:"output_snmp"`
	VLAN     uint16 `json:"src_vlan"`
}

func (r nfdumpRecord) view(t *testing.T) view {
	t.Helper()
	if r.Type != "FLOW" {
		t.Fatalf("nfdump record of type %q", r.Type)
	}
	v := view{Proto: r.Proto, ToS: r.ToS, Packets: r.Packets, Bytes: r.Bytes, InIf: r.InIf, OutIf: r.OutIf,
		VLAN: r.VLAN, SrcPort: r.SrcPort, DstPort: r.DstPort}
	if r.Proto == 1 || r.Proto == 58 {
		v.DstPort = uint16(r.ICMPType)<<8 | uint16(r.ICMPCode)
	}
	// nfdump writes the flags as "CEUAPRSF", a dot for each bit not set.
	for i, c := range r.TCPFlags {
		if c != '.' {
			v.TCPFlags |= 1 << (7 - i)
		}
	}
	parseAddr := func(a, b string) netip.Addr {
		if a == "" {
			a = b
		}
		ip, err := netip.ParseAddr(a)
		if err != nil {
			t.Fatalf("nfdump address %q: %v", a, err)
		}
		return ip
	}
	v.Src, v.Dst = parseAddr(r.Src4, r.Src6), parseAddr(r.Dst4, r.Dst6)
	parseTime := func(s string) int64 {
		tm, err := time.Parse("2006-01-02T15:04:05.000", s) // nfdump runs with TZ=UTC
		if err != nil {
			t.Fatalf("nfdump time %q: %v", s, err)
		}
		return tm.UnixMilli()
	}
	v.Start, v.End = parseTime(r.First), parseTime(r.Last)
	return v
}
