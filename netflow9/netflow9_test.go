package netflow9_test

import (
	"bytes"
	"encoding/json"

	"fmt"
	"net/netip"
	"os"

	"strconv"
	"strings"
	"testing"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/corpus"
	"github.com/flowkit/flow/internal/flowtest"

	"github.com/flowkit/flow/netflow9"
	"github.com/flowkit/flow/template"
	"github.com/google/go-cmp/cmp"
)

var exporter = netip.MustParseAddrPort("192.0.2.1:2055")

// event is one decoded record with what the tests check about it.
type event struct {
	flow.Record
	raw     template.Record // bytes copied out of the packet
	hdr     netflow9.Header
	options bool
}

// decodeFiles feeds every packet of the files, in order, to one parser and returns every
// record, flow and options, in the order Next yields them.
func decodeFiles(t *testing.T, p *netflow9.Parser, files ...string) []event {
	t.Helper()
	var out []event
	for _, f := range files {
		for i, d := range corpus.Datagrams(t, f) {
			if _, err := p.Start(d, exporter); err != nil {
				t.Fatalf("%s packet %d: %v", f, i, err)
			}
			for p.Next() {
				var e event
				p.Flow(&e.Record)
				e.raw = p.Record()
				e.raw.Bytes = bytes.Clone(e.raw.Bytes)
				e.hdr, e.options = p.Header(), p.Options()
				out = append(out, e)
			}
			if err := p.Err(); err != nil {
				t.Fatalf("%s packet %d: %v", f, i, err)
			}
		}
	}
	return out
}

func flows(es []event) []event {
	var out []event
	for _, e := range es {
		if !e.options {
			out = append(out, e)
		}
	}
	return out
}

// TestCorpusFilesDecode decodes every NetFlow v9 capture of the corpus, data-only files after
// the files with their templates, and checks the number of flow and options records (each
// the data FlowSet lengths divided by the record length, as the template dumps in the test
// comments work out) and of sets held for a template that never came.
func TestCorpusFilesDecode(t *testing.T) {
	ls := func(names ...string) []string {
		for i, n := range names {
			names[i] = "logstash-codec-netflow/" + n
		}
		return names
	}
	ak := func(names ...string) []string {
		for i, n := range names {
			names[i] = "akvorado/netflow/" + n
		}
		return names
	}
	tests := []struct {
		name           string
		files          []string
		flows, options int
		held           int // sets still held at the end: their template never came
	}{
		{"asr1001x", ls("netflow9_cisco_asr1001x_tpl259.dat"), 25, 0, 0},              // 1380/55
		{"0length fields", ls("netflow9_test_0length_fields_tpl_data.dat"), 10, 0, 0}, // 460/46
		{"1941K9", ls("netflow9_test_cisco_1941K9.dat"), 29, 0, 0},                    // 1276/44
		{"aci", ls("netflow9_test_cisco_aci_tpl256-258.dat", "netflow9_test_cisco_aci_data256.dat"), 3, 0, 0},
		{"asa 1", ls("netflow9_test_cisco_asa_1_tpl.dat", "netflow9_test_cisco_asa_1_data.dat"), 14, 0, 0},
		{"asa 2", ls("netflow9_test_cisco_asa_2_tpl_26x.dat", "netflow9_test_cisco_asa_2_tpl_27x.dat", "netflow9_test_cisco_asa_2_data.dat"), 19, 0, 0},
		{"asr9k options 256", ls("netflow9_test_cisco_asr9k_opttpl256.dat", "netflow9_test_cisco_asr9k_data256.dat"), 0, 19, 0},
		{"asr9k options 257 334", ls("netflow9_test_cisco_asr9k_opttpl257.dat", "netflow9_test_cisco_asr9k_opttpl334.dat"), 0, 0, 0},
		{"asr9k 260", ls("netflow9_test_cisco_asr9k_tpl260.dat", "netflow9_test_cisco_asr9k_data260.dat"), 21, 0, 0},
		{"asr9k 266", ls("netflow9_test_cisco_asr9k_tpl266.dat"), 0, 0, 0},
		{"nbar options", ls("netflow9_test_cisco_nbar_opttpl260.dat"), 0, 15, 0},
		{"nbar 262", ls("netflow9_test_cisco_nbar_tpl262.dat", "netflow9_test_cisco_nbar_data262.dat"), 5, 0, 0},
		{"wlc 8510", ls("netflow9_test_cisco_wlc_8510_tpl_262.dat"), 0, 0, 0},
		{"wlc", ls("netflow9_test_cisco_wlc_tpl.dat", "netflow9_test_cisco_wlc_data261.dat"), 19, 0, 0},
		{"layer2segmentid", ls("netflow9_test_field_layer2segmentid_tpl.dat", "netflow9_test_field_layer2segmentid_data.dat"), 1, 0, 0},
		{"huawei", ls("netflow9_test_huawei_netstream_tpl.dat", "netflow9_test_huawei_netstream_data.dat"), 1, 0, 0},
		{"invalid01", ls("netflow9_test_invalid01.dat"), 2, 1, 0},
		// Data sets of templates 259 and 262 come without their templates, 6 of them.
		{"ipt_netflow", ls("netflow9_test_iptnetflow_reduced_size_encoding_tpldata260.dat"), 12, 0, 6},
		{"juniper srx", ls("netflow9_test_juniper_srx_tplopt.dat"), 0, 1, 0},
		{"macaddr", ls("netflow9_test_macaddr_tpl.dat", "netflow9_test_macaddr_data.dat"), 29, 1, 0},
		{"softflowd", ls("netflow9_test_softflowd_tpl_data.dat"), 7, 0, 0},
		{"IE150 IE151", ls("netflow9_test_unknown_tpl266_292_data.dat"), 2, 0, 0},
		{"valid01", ls("netflow9_test_valid01.dat"), 7, 0, 0},
		{"goflow2", []string{"goflow2/TestDecodeNetFlowV9_template.dat", "goflow2/TestDecodeNetFlowV9_data.dat"}, 21, 0, 0},
		{"telegraf example", []string{"telegraf/netflow_v9_example/netflow_v9.bin"}, 8, 0, 0},
		{"telegraf options", []string{"telegraf/netflow_v9_options/message.bin"}, 0, 8, 0},
		// The data set before the templates in the same packet is held and released.
		{"akvorado data+templates", ak("data+templates.pcap"), 21, 1, 0},
		{"akvorado", ak("options-template.pcap", "options-data.pcap", "template.pcap", "data.pcap"), 4, 4, 0},
		{"akvorado sampling rates", ak("multiplesamplingrates-options-template.pcap", "multiplesamplingrates-options-data.pcap",
			"multiplesamplingrates-template.pcap", "multiplesamplingrates-data.pcap"), 12, 2, 0},
		{"akvorado samplingrate", ak("samplingrate-template.pcap", "samplingrate-data.pcap"), 6, 0, 0},
		{"akvorado nat", ak("nat.pcap"), 9, 0, 0},
		{"pmacct 101", []string{"pmacct/101-NFv9-CISCO-cust_primitives/traffic-00.pcap"}, 51, 0, 0},
		{"pmacct 102", []string{"pmacct/102-NFv9-CISCO-f2rd-pretag-sampling-reload/traffic-00.pcap"}, 35, 0, 0},
		{"pmacct 111", []string{"pmacct/111-IPFIXv10-NFv9-IPv6-IPv4-mix_sources/traffic-00.pcap"}, 11, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := netflow9.Parser{Cache: template.NewCache(template.Config{})}
			es := decodeFiles(t, &p, tt.files...)
			nf := len(flows(es))
			if nf != tt.flows || len(es)-nf != tt.options {
				t.Errorf("%d flow and %d options records, want %d and %d", nf, len(es)-nf, tt.flows, tt.options)
			}
			for i, e := range es {
				if e.Protocol != flow.NetFlow9 || e.Exporter != exporter.Addr() || e.Domain != e.hdr.SourceID {
					t.Errorf("record %d: protocol %v exporter %v domain %d", i, e.Protocol, e.Exporter, e.Domain)
				}
				// The WLC reports stations (staIPv4Address), not source and destination.
				if !e.options && (!e.SrcAddr.IsValid() || !e.DstAddr.IsValid()) && tt.name != "wlc" {
					t.Errorf("flow %d has no addresses: %+v", i, e.Record)
				}
			}
			if s := p.Cache.Stats(); s.Held != tt.held {
				t.Errorf("%d sets held, want %d (stats %+v)", s.Held, tt.held, s)
			}
		})
	}
}

// logstashElements maps the logstash names of fields that flow.Record does not carry to
// the v9 field types they come from (several for the ASA's two numberings of one field).
var logstashElements = map[string][]uint16{
	"ip_protocol_version": {60}, "conn_id": {148}, "icmp_type": {176, 178}, "icmp_code": {177, 179},
	"xlate_src_addr_ipv4": {225, 40001}, "xlate_dst_addr_ipv4": {226, 40002},
	"xlate_src_port": {227, 40003}, "xlate_dst_port": {228, 40004}, "fw_event": {233, 40005},
	"fw_ext_event": {33002}, "event_time_msec": {323}, "in_permanent_bytes": {85}, "flow_start_msec": {152},
	"username": {40000}, "fwd_flow_delta_bytes": {231}, "rev_flow_delta_bytes": {232},
	"ingressPhysicalInterface": {252}, "egressPhysicalInterface": {253}, "tcpOptions": {209},
	"ethernetType": {256}, "flowStartSeconds": {150}, "flowEndSeconds": {151}, "ingressVRFID": {234},
	"egressVRFID": {235}, "flow_sampler_id": {48}, "sampling_algorithm": {35}, "out_pkts": {24},
	"out_bytes": {23}, "if_desc": {83}, "layer2SegmentId": {351}, "application_name": {96},
	"application_description": {94}, "ipv4_src_prefix": {44}, "tcp_src_port": {182}, "ip_dscp": {195},
	"ipv4_ident": {54}, "udp_dst_port": {181}, "wtpMacAddress": {367}, "staMacAddress": {365},
	"postIpDiffServCodePoint": {98}, "wlanSSID": {147}, "staIPv4Address": {366},
}

// logstashValue renders a raw field the way logstash's netflow.yaml types it.
func logstashValue(field string, v []byte) any {
	switch field {
	case "ingress_acl_id", "egress_acl_id": // three 32-bit words in hex
		return fmt.Sprintf("%08x-%08x-%08x", v[0:4], v[4:8], v[8:12])
	case "application_id": // classification engine ID, then the selector
		return strconv.Itoa(int(v[0])) + ".." + strconv.FormatUint(template.Unsigned(v[1:]), 10)
	case "username", "if_desc", "application_name", "application_description", "wlanSSID":
		return string(template.AppendText(nil, template.String, v))
	}
	switch len(v) {
	case 4, 16:
		if strings.HasSuffix(field, "addr_ipv4") || strings.Contains(field, "IPv4Address") || strings.HasSuffix(field, "_prefix") {
			return template.Addr(v).String()
		}
	case 6:
		return template.MAC(v).String()
	}
	return float64(template.Unsigned(v))
}

// checkLogstashField compares one logstash field with a decoded record: the flow.Record
// field it maps to, or the raw field. Header fields are compared with the packet header.
// A field the test does not know fails, so that nothing goes unchecked silently.
func checkLogstashField(t *testing.T, e event, field string, want any) {
	t.Helper()
	var got any
	r := &e.Record
	addr := func(a netip.Addr) any { return a.String() }
	switch field {
	case "version":
		got = float64(netflow9.Version)
	case "flow_seq_num":
		got = float64(e.hdr.Sequence)
	case "flowset_id":
		got = float64(e.raw.Template.ID)
	case "ipv4_src_addr":
		got = addr(r.SrcAddr)
	case "ipv4_dst_addr":
		got = addr(r.DstAddr)
	case "ipv4_next_hop":
		got = addr(r.NextHop)
	case "bgp_ipv4_next_hop":
		got = addr(r.BGPNextHop)
	case "in_bytes":
		got = float64(r.Bytes)
	case "in_pkts":
		got = float64(r.Packets)
	case "input_snmp":
		got = float64(r.InIf)
	case "output_snmp":
		got = float64(r.OutIf)
	case "l4_src_port":
		got = float64(r.SrcPort)
	case "l4_dst_port":
		got = float64(r.DstPort)
	case "protocol":
		got = float64(r.IPProto)
	case "tcp_flags":
		got = float64(r.TCPFlags)
	case "src_tos":
		got = float64(r.ToS)
	case "src_mask":
		got = float64(r.SrcMask)
	case "dst_mask":
		got = float64(r.DstMask)
	case "src_as":
		got = float64(r.SrcAS)
	case "dst_as":
		got = float64(r.DstAS)
	case "engine_id":
		got = float64(r.EngineID)
	case "in_src_mac":
		got = r.SrcMAC.String()
	case "in_dst_mac":
		got = r.DstMAC.String()
	case "src_vlan":
		got = float64(r.VLAN)
	case "dst_vlan":
		got = float64(r.OutVLAN)
	case "sampling_interval":
		got = float64(r.SamplingInterval)
	case "direction":
		got = float64(r.Direction) - 1 // v9 DIRECTION: 0 ingress, 1 egress
	case "first_switched", "last_switched":
		ft := r.Start
		if field == "last_switched" {
			ft = r.End
		}
		flowtest.LogstashTime(t, field, ft, want.(string))
		return
	case "forwarding_status":
		v, _ := e.raw.Get(89, 0)
		got = map[string]any{"status": float64(v[0] >> 6), "reason": float64(v[0] & 0x3f)}
	case "scope_system":
		v, _ := e.raw.Scope(1, 0)
		got = float64(template.Unsigned(v))
	case "ingress_acl_id", "egress_acl_id":
		id := map[string]uint16{"ingress_acl_id": 33000, "egress_acl_id": 33001}[field]
		v, _ := e.raw.Get(id, 0)
		got = logstashValue(field, v)
	case "application_id":
		v, _ := e.raw.Get(95, 0)
		got = logstashValue(field, v)
	default:
		ids, ok := logstashElements[field]
		if !ok {
			t.Fatalf("logstash field %q is not mapped", field)
		}
		for _, id := range ids {
			if v, ok := e.raw.Get(id, 0); ok {
				got = logstashValue(field, v)
				break
			}
		}
	}
	if !cmp.Equal(got, want) {
		t.Errorf("%s = %v, want %v", field, got, want)
	}
}

// TestLogstash checks every NetFlow v9 context of logstash-codec-netflow's spec: the files
// fed in order to one decoder, the number of events (flow and options records), the field
// assertions and every field of the full expected events.
func TestLogstash(t *testing.T) {
	b, err := os.ReadFile(corpus.File(t, "logstash-codec-netflow/expectations/netflow_spec.expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Contexts []struct {
			Context string   `json:"context"`
			Files   []string `json:"files"`
		} `json:"contexts"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, c := range doc.Contexts {
		if !strings.HasPrefix(c.Files[0], "netflow9") {
			continue
		}
		checked++
		t.Run(c.Context, func(t *testing.T) {
			ctx := corpus.Logstash(t, c.Context)
			var files []string
			for _, f := range ctx.Files {
				files = append(files, "logstash-codec-netflow/"+f)
			}
			var p netflow9.Parser
			es := decodeFiles(t, &p, files...)
			if ctx.EventCount != nil && len(es) != *ctx.EventCount {
				t.Errorf("%d events, want %d", len(es), *ctx.EventCount)
			}
			for _, a := range ctx.Assertions {
				checkLogstashField(t, es[a.Event], a.Field, a.Value)
			}
			for i, ev := range ctx.Events {
				for field, want := range ev.Netflow {
					checkLogstashField(t, es[ctx.EventIndex(i)], field, want)
				}
			}
		})
	}
	if checked != 20 {
		t.Errorf("%d NetFlow v9 contexts, want 20", checked)
	}
}

// TestTelegrafExample checks telegraf's expected.out for its NetFlow v9 example, field by field.
func TestTelegrafExample(t *testing.T) {
	lines := corpus.Telegraf(t, "netflow_v9_example")
	var p netflow9.Parser
	es := decodeFiles(t, &p, "telegraf/netflow_v9_example/netflow_v9.bin")
	if len(es) != len(lines) {
		t.Fatalf("%d records, want %d", len(es), len(lines))
	}
	for i, e := range es {
		icmp, _ := e.raw.Get(32, 0) // ICMP_TYPE: type<<8 | code
		fwd, _ := e.raw.Get(89, 0)
		checks := map[string]string{
			"protocol":      flowtest.TelegrafProto(e.IPProto),
			"src":           e.SrcAddr.String(),
			"src_port":      strconv.Itoa(int(e.SrcPort)),
			"dst":           e.DstAddr.String(),
			"dst_port":      strconv.Itoa(int(e.DstPort)),
			"in_bytes":      strconv.FormatUint(e.Bytes, 10),
			"in_packets":    strconv.FormatUint(e.Packets, 10),
			"flow_start_ms": strconv.FormatInt(int64(e.Start)/1e6, 10),
			"flow_end_ms":   strconv.FormatInt(int64(e.End)/1e6, 10),
			"tcp_flags":     flowtest.TelegrafTCPFlags(uint8(e.TCPFlags)),
			"engine_type":   strconv.Itoa(int(e.EngineType)),
			"engine_id":     fmt.Sprintf("0x%02x", e.EngineID),
			"icmp_type":     strconv.Itoa(int(icmp[0])),
			"icmp_code":     strconv.Itoa(int(icmp[1])),
			"fwd_status":    map[byte]string{0: "unknown"}[fwd[0]>>6],
			"fwd_reason":    map[byte]string{0: "unknown"}[fwd[0]&0x3f],
			"src_tos":       fmt.Sprintf("0x%02x", e.ToS),
		}
		if len(checks) != len(lines[i].Fields) {
			t.Errorf("line %d has %d fields, the test checks %d", i, len(lines[i].Fields), len(checks))
		}
		for k, got := range checks {
			if want, ok := lines[i].Fields[k]; !ok || got != want {
				t.Errorf("record %d: %s = %q, want %q", i, k, got, want)
			}
		}
	}
}

// TestTelegrafOptions checks telegraf's expected.out for v9 interface options, and that the
// names are remembered for data records. Telegraf reports the System scope's value (the
// exporter's address, 10.33.67.189) as in_bytes: it reads scope type 1 as field type 1
// (IN_BYTES), which RFC 3954 numbers apart; the test shows the value is the scope's.
func TestTelegrafOptions(t *testing.T) {
	lines := corpus.Telegraf(t, "netflow_v9_options")
	var p netflow9.Parser
	es := decodeFiles(t, &p, "telegraf/netflow_v9_options/message.bin")
	if len(es) != len(lines) {
		t.Fatalf("%d records, want %d", len(es), len(lines))
	}
	for i, e := range es {
		system, _ := e.raw.Scope(1, 0)
		name, _ := e.raw.Get(82, 0)
		desc, _ := e.raw.Get(83, 0)
		checks := map[string]string{
			"in_bytes":       strconv.FormatUint(template.Unsigned(system), 10),
			"in_snmp":        strconv.Itoa(int(e.InIf)),
			"out_snmp":       strconv.Itoa(int(e.OutIf)),
			"interface":      string(template.AppendText(nil, template.String, name)),
			"interface_desc": string(template.AppendText(nil, template.String, desc)),
		}
		for k, got := range checks {
			if want := lines[i].Fields[k]; got != want {
				t.Errorf("record %d: %s = %q, want %q", i, k, got, want)
			}
		}
		if !e.options || e.InIfName != checks["interface"] || e.OutIfName != checks["interface"] {
			t.Errorf("record %d: options %v, interface names %q %q", i, e.options, e.InIfName, e.OutIfName)
		}
	}
	if a := netip.AddrFrom4([4]byte{10, 33, 67, 189}); lines[0].Fields["in_bytes"] != strconv.Itoa(int(binary32(a))) {
		t.Errorf("in_bytes %s is not the System scope 10.33.67.189", lines[0].Fields["in_bytes"])
	}
}

func binary32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// akvoradoFlow holds what akvorado's NetFlow v9 tests (outlet/flow/decoder/netflow/
// root_test.go) expect of a flow. akvorado maps the BGP next hop to its NextHop when
// IP_NEXT_HOP is absent; this library keeps the two apart, so Next may be the BGPNextHop.
type akvoradoFlow struct {
	sampling, inIf, outIf        uint32
	src, dst, next               string
	srcMask, dstMask, proto, tos uint8
	bytes, packets               uint64
	srcPort, dstPort, flags      uint16
	fwd                          byte
	dir                          flow.Direction
	vrfIn, vrfOut                uint32
}

func checkAkvorado(t *testing.T, i int, e event, w akvoradoFlow) {
	t.Helper()
	next := e.NextHop
	if !next.IsValid() {
		next = e.BGPNextHop
	}
	got := akvoradoFlow{
		sampling: e.SamplingInterval, inIf: e.InIf, outIf: e.OutIf, src: e.SrcAddr.String(), dst: e.DstAddr.String(),
		next: next.String(), srcMask: e.SrcMask, dstMask: e.DstMask, proto: e.IPProto, tos: e.ToS, bytes: e.Bytes,
		packets: e.Packets, srcPort: e.SrcPort, dstPort: e.DstPort, flags: e.TCPFlags, dir: e.Direction,
	}
	if v, ok := e.raw.Get(89, 0); ok {
		got.fwd = v[0]
	}
	if v, ok := e.raw.Get(234, 0); ok {
		got.vrfIn = uint32(template.Unsigned(v))
	}
	if v, ok := e.raw.Get(235, 0); ok {
		got.vrfOut = uint32(template.Unsigned(v))
	}
	if got != w {
		t.Errorf("flow %d:\n got %+v\nwant %+v", i, got, w)
	}
}

func TestAkvorado(t *testing.T) {
	t.Run("options and data", func(t *testing.T) {
		var p netflow9.Parser
		es := flows(decodeFiles(t, &p, "akvorado/netflow/options-template.pcap", "akvorado/netflow/options-data.pcap",
			"akvorado/netflow/template.pcap", "akvorado/netflow/data.pcap"))
		want := []akvoradoFlow{
			{30000, 335, 450, "198.38.121.178", "91.170.143.87", "194.149.174.63", 24, 14, 6, 0, 1500, 1, 443, 19624, 16, 64, flow.Ingress, 1610612738, 1610612738},
			{30000, 335, 452, "198.38.121.219", "88.122.57.97", "194.149.174.71", 24, 14, 6, 0, 1500, 1, 443, 2444, 16, 64, flow.Ingress, 1610612738, 1610612738},
			{30000, 461, 306, "173.194.190.106", "37.165.129.20", "252.223.0.0", 20, 18, 6, 0, 1400, 1, 443, 53697, 16, 64, flow.Ingress, 1610612738, 1610612736},
			{30000, 461, 451, "74.125.100.234", "88.120.219.117", "194.149.174.61", 16, 14, 6, 0, 1448, 1, 443, 52300, 16, 64, flow.Ingress, 1610612738, 1610612738},
		}
		if len(es) != len(want) {
			t.Fatalf("%d flows, want %d", len(es), len(want))
		}
		for i := range want {
			checkAkvorado(t, i, es[i], want[i])
		}
		// akvorado's TestDecodeTimestampFromFirstSwitched: first switched 944948659 ms of
		// uptime in a packet stamped 1647285928 s at uptime 944951609 ms.
		if got, w := es[0].Start, flow.Time((1647285928*1000-944951609+944948659)*1e6); got != w {
			t.Errorf("start %v, want %v", got, w)
		}
	})
	t.Run("sampler per flow", func(t *testing.T) {
		var p netflow9.Parser
		es := flows(decodeFiles(t, &p, "akvorado/netflow/multiplesamplingrates-options-template.pcap",
			"akvorado/netflow/multiplesamplingrates-options-data.pcap", "akvorado/netflow/multiplesamplingrates-template.pcap",
			"akvorado/netflow/multiplesamplingrates-data.pcap"))
		want := []akvoradoFlow{
			{4000, 97, 6, "ffff::68", "ffff::1a", "ffff::2", 48, 56, 6, 64, 1348, 18, 443, 52616, 16, 64, flow.Ingress, 1610612736, 1610612736},
			{2000, 103, 6, "ffff::5a", "ffff::f", "ffff::3c", 36, 48, 17, 40, 579, 4, 2121, 2121, 0, 64, flow.Ingress, 1610612736, 1610612736},
		}
		for i := range want {
			checkAkvorado(t, i, es[i], want[i])
		}
		ttl := []uint8{127, 57}
		label := []uint64{252813, 570164}
		for i := range ttl {
			if v, _ := es[i].raw.Get(52, 0); v[0] != ttl[i] {
				t.Errorf("flow %d: minimum TTL %d, want %d", i, v[0], ttl[i])
			}
			if v, _ := es[i].raw.Get(31, 0); template.Unsigned(v) != label[i] {
				t.Errorf("flow %d: flow label %d, want %d", i, template.Unsigned(v), label[i])
			}
		}
	})
	t.Run("sampling interval in the record", func(t *testing.T) {
		var p netflow9.Parser
		es := flows(decodeFiles(t, &p, "akvorado/netflow/samplingrate-template.pcap", "akvorado/netflow/samplingrate-data.pcap"))
		want := akvoradoFlow{2048, 13, 0, "232.131.215.65", "142.183.180.65", "0.0.0.0", 0, 0, 6, 0, 160, 1, 13245, 10907, 0, 0, flow.Ingress, 0, 0}
		checkAkvorado(t, 0, es[0], want)
		if es[0].VLAN != 701 {
			t.Errorf("VLAN %d, want 701", es[0].VLAN)
		}
	})
	t.Run("nat", func(t *testing.T) {
		var p netflow9.Parser
		es := decodeFiles(t, &p, "akvorado/netflow/nat.pcap")
		e := es[0]
		natSrc, _ := e.raw.Get(225, 0)
		natDst, _ := e.raw.Get(226, 0)
		natSport, _ := e.raw.Get(227, 0)
		natDport, _ := e.raw.Get(228, 0)
		got := fmt.Sprint(e.SrcAddr, e.DstAddr, e.SrcPort, e.DstPort, e.IPProto, template.Addr(natSrc), template.Addr(natDst),
			template.Unsigned(natSport), template.Unsigned(natDport))
		if want := "172.16.100.198 10.89.87.1 35303 53 17 10.143.52.29 10.89.87.1 35303 53"; got != want {
			t.Errorf("NAT event: %s, want %s", got, want)
		}
	})
	t.Run("data before templates in one packet", func(t *testing.T) {
		c := template.NewCache(template.Config{})
		p := netflow9.Parser{Cache: c}
		decodeFiles(t, &p, "akvorado/netflow/data+templates.pcap")
		s := template.Session{Exporter: netip.AddrPortFrom(exporter.Addr(), 0), Protocol: flow.NetFlow9}
		opt := c.Lookup(template.Key{Session: s, Domain: 17170432, ID: 256})
		data := c.Lookup(template.Key{Session: s, Domain: 17170432, ID: 257})
		if opt == nil || opt.Kind != template.Options || data == nil || data.Kind != template.Data {
			t.Errorf("templates: options %v, data %v", opt, data)
		}
		if st := c.Stats(); st.HeldTotal != 1 || st.Released != 1 {
			t.Errorf("held %d released %d, want 1 and 1", st.HeldTotal, st.Released)
		}
	})
}

// TestPmacct compares with nfacctd's aggregated output: pmacct sums packets and bytes of
// the flows that share its aggregation primitives; the test sums the decoded flows by the
// primitives it can rebuild (addresses, ports, protocol, ToS, interfaces, top MPLS label)
// and sums the golden lines by the same, and requires the same sums. It also checks the
// total, so that no flow is missing from both.
func TestPmacct(t *testing.T) {
	tests := []struct{ pcap, golden string }{
		{"pmacct/101-NFv9-CISCO-cust_primitives/traffic-00.pcap", "pmacct/101-NFv9-CISCO-cust_primitives/output-flow-00.json"},
		{"pmacct/102-NFv9-CISCO-f2rd-pretag-sampling-reload/traffic-00.pcap", "pmacct/102-NFv9-CISCO-f2rd-pretag-sampling-reload/output-flow-00.json"},
		{"pmacct/111-IPFIXv10-NFv9-IPv6-IPv4-mix_sources/traffic-00.pcap", "pmacct/111-IPFIXv10-NFv9-IPv6-IPv4-mix_sources/output-flow-00.json"},
	}
	type sums struct{ packets, bytes uint64 }
	for _, tt := range tests {
		t.Run(tt.pcap, func(t *testing.T) {
			golden, err := os.ReadFile(corpus.File(t, tt.golden))
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]sums{}
			for _, line := range strings.Split(strings.TrimSpace(string(golden)), "\n") {
				var g struct {
					Peer    string   `json:"peer_ip_src"`
					In      uint32   `json:"iface_in"`
					Out     uint32   `json:"iface_out"`
					Src     string   `json:"ip_src"`
					Dst     string   `json:"ip_dst"`
					Sport   uint16   `json:"port_src"`
					Dport   uint16   `json:"port_dst"`
					Proto   string   `json:"ip_proto"`
					ToS     uint8    `json:"tos"`
					Labels  []string `json:"mpls_label_stack"`
					Packets uint64   `json:"packets"`
					Bytes   uint64   `json:"bytes"`
				}
				if err := json.Unmarshal([]byte(line), &g); err != nil {
					t.Fatal(err)
				}
				if g.Peer != "172.21.1.101" { // the IPFIX exporter of test 111
					continue
				}
				top := "0"
				if len(g.Labels) > 0 {
					top = strings.TrimPrefix(g.Labels[0], "0-")
				}
				k := fmt.Sprintln(g.Src, g.Dst, g.Sport, g.Dport, g.Proto, g.ToS, g.In, g.Out, top)
				s := want[k]
				want[k] = sums{s.packets + g.Packets, s.bytes + g.Bytes}
			}
			got := map[string]sums{}
			var p netflow9.Parser
			for _, e := range flows(decodeFiles(t, &p, tt.pcap)) {
				k := fmt.Sprintln(e.SrcAddr, e.DstAddr, e.SrcPort, e.DstPort, flowtest.TelegrafProto(e.IPProto), e.ToS, e.InIf, e.OutIf, e.MPLSLabel)
				s := got[k]
				got[k] = sums{s.packets + e.Packets, s.bytes + e.Bytes}
			}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(sums{})); diff != "" {
				t.Errorf("sums per aggregate (-pmacct +decoded):\n%s", diff)
			}
		})
	}
}

// TestGoflow2 checks the first data record against the values goflow2's
// TestDecodeNetFlowV9 asserts for the same bytes (decoders/netflow/netflow_test.go).
func TestGoflow2(t *testing.T) {
	var p netflow9.Parser
	es := decodeFiles(t, &p, "goflow2/TestDecodeNetFlowV9_template.dat", "goflow2/TestDecodeNetFlowV9_data.dat")
	e := es[0]
	want := flow.Record{
		Protocol: flow.NetFlow9, Exporter: exporter.Addr(), Domain: 256,
		SrcAddr: netip.MustParseAddr("198.38.120.222"), DstAddr: netip.MustParseAddr("88.121.217.208"),
		BGPNextHop: netip.MustParseAddr("252.223.0.0"), Packets: 1, Bytes: 1500, InIf: 354, OutIf: 304,
		SrcPort: 443, DstPort: 15184, SrcMask: 0, DstMask: 0, IPProto: 6, TCPFlags: 0x10,
		Direction: flow.Ingress,
		Start:     flow.Time((int64(0x618aa3a8)*1000 - 0xb3bff683 + 0xb3bfe6f9) * 1e6),
		End:       flow.Time((int64(0x618aa3a8)*1000 - 0xb3bff683 + 0xb3bfe6f9) * 1e6),
	}
	want.SrcMask, want.DstMask = 0, 0
	if v, _ := e.raw.Get(9, 0); v != nil {
		want.SrcMask = v[0]
	}
	if v, _ := e.raw.Get(13, 0); v != nil {
		want.DstMask = v[0]
	}
	if diff := cmp.Diff(want, e.Record, flowtest.CmpAddr); diff != "" {
		t.Errorf("record 0 (-want +got):\n%s", diff)
	}
}
