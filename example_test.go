package flow_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/flowkit/flow"
)

func ExampleRecord_AppendJSON() {
	r := flow.Record{
		Protocol: flow.NetFlow5,
		SrcAddr:  netip.MustParseAddr("192.0.2.1"), DstAddr: netip.MustParseAddr("2001:db8::2"),
		SrcPort: 53, DstPort: 40000, IPProto: 17, Packets: 1, Bytes: 512,
		Start: flow.TimeOf(time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)),
	}
	fmt.Println(string(r.AppendJSON(nil)))
	// Output:
	// {"type":"netflow5","exporter":null,"domain":0,"src_addr":"192.0.2.1","dst_addr":"2001:db8::2","src_port":53,"dst_port":40000,"proto":17,"packets":1,"bytes":512,"start":"2026-01-02T03:04:05.000000006Z","end":null,"in_if":0,"out_if":0,"tcp_flags":0,"tos":0,"next_hop":null,"src_as":0,"dst_as":0,"src_mask":0,"dst_mask":0,"vlan":0,"src_mac":null,"dst_mac":null,"sampling_interval":0,"end_reason":null}
}

func ExampleDetect() {
	for _, d := range [][]byte{{0, 5, 0, 1}, {0, 10, 0, 16}, {0, 0, 0, 5}} {
		fmt.Println(flow.Detect(d))
	}
	// Output:
	// netflow5
	// ipfix
	// sflow
}
