package interop

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/capture"
)

// standardPort is where tshark looks for each protocol (and where the pcaps say the
// datagrams went, whatever port they really crossed loopback to).
var standardPort = map[flow.Protocol]uint16{flow.NetFlow5: 2055, flow.NetFlow9: 2055, flow.IPFIX: 4739, flow.SFlow: 6343}

// dissector is tshark's name for each protocol's dissector.
var dissector = map[flow.Protocol]string{flow.NetFlow5: "cflow", flow.NetFlow9: "cflow", flow.IPFIX: "cflow", flow.SFlow: "sflow"}

// datagram is one message and where it came from.
type datagram struct {
	from    netip.AddrPort
	payload []byte
}

// writePcap writes the datagrams to a pcap in dir, framed as UDP to the protocol's
// standard port on 127.0.0.1, a microsecond apart.
func writePcap(t *testing.T, dir, name string, proto flow.Protocol, ds []datagram) string {
	t.Helper()
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := capture.NewWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	to := netip.AddrPortFrom(loopback, standardPort[proto])
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, d := range ds {
		from := d.from
		if !from.IsValid() {
			from = netip.AddrPortFrom(loopback, 40000)
		}
		if err := w.Write(capture.Datagram{Time: t0.Add(time.Duration(i) * time.Microsecond), Src: from, Dst: to, Payload: d.payload}); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// tsharkArgs make tshark read a pcap with the protocol's dissector on its standard port
// and resolve no names.
func tsharkArgs(pcap string, proto flow.Protocol, more ...string) []string {
	port := strconv.Itoa(int(standardPort[proto]))
	return append([]string{"-n", "-r", pcap, "-d", "udp.port==" + port + "," + dissector[proto]}, more...)
}

// tsharkClean fails the test if tshark finds a malformed packet or an expert error in
// the pcap, or if the protocol's dissector did not see every datagram.
func tsharkClean(t *testing.T, tshark, pcap string, proto flow.Protocol, datagrams int) {
	t.Helper()
	if out := run(t, tshark, tsharkArgs(pcap, proto, "-Y", "_ws.malformed || _ws.expert.severity >= error")...); len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("tshark finds malformed packets or errors in %s:\n%s", filepath.Base(pcap), out)
	}
	out := run(t, tshark, tsharkArgs(pcap, proto, "-Y", dissector[proto], "-T", "fields", "-e", "frame.number")...)
	if n := bytes.Count(out, []byte("\n")); n != datagrams {
		t.Errorf("tshark's %s dissector decoded %d datagrams of %d", dissector[proto], n, datagrams)
	}
}

// pdmlNode is an element of tshark's PDML output: a proto or a field, with its children.
type pdmlNode struct {
	XMLName  xml.Name
	Name     string     `xml:"name,attr"`
	Show     string     `xml:"show,attr"`
	Value    string     `xml:"value,attr"`
	Children []pdmlNode `xml:",any"`
}

// find returns the first descendant (depth first, the node itself included) named name.
func (n *pdmlNode) find(name string) *pdmlNode {
	if n.Name == name {
		return n
	}
	for i := range n.Children {
		if f := n.Children[i].find(name); f != nil {
			return f
		}
	}
	return nil
}

// child returns the direct child named name, or nil.
func (n *pdmlNode) child(name string) *pdmlNode {
	for i := range n.Children {
		if n.Children[i].Name == name {
			return &n.Children[i]
		}
	}
	return nil
}

// tsharkPackets runs tshark -T pdml on the pcap and returns each packet's tree.
func tsharkPackets(t *testing.T, tshark, pcap string, proto flow.Protocol) []pdmlNode {
	t.Helper()
	out := run(t, tshark, tsharkArgs(pcap, proto, "-T", "pdml")...)
	dec := xml.NewDecoder(bytes.NewReader(out))
	var pkts []pdmlNode
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return pkts
		}
		if err != nil {
			t.Fatalf("tshark's PDML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "packet" {
			var p pdmlNode
			if err := dec.DecodeElement(&p, &se); err != nil {
				t.Fatalf("tshark's PDML: %v", err)
			}
			pkts = append(pkts, p)
		}
	}
}

// num reads a numeric field as tshark shows it (decimal or 0x hex); 0 when absent.
func num(t *testing.T, n *pdmlNode, name string) uint64 {
	t.Helper()
	f := n.find(name)
	if f == nil {
		return 0
	}
	v, err := strconv.ParseUint(f.Show, 0, 64)
	if err != nil {
		t.Fatalf("tshark field %s = %q: %v", name, f.Show, err)
	}
	return v
}

// raw returns the bytes of a field as they were on the wire; nil when absent.
func raw(t *testing.T, n *pdmlNode, name string) []byte {
	t.Helper()
	f := n.find(name)
	if f == nil {
		return nil
	}
	b, err := hex.DecodeString(f.Value)
	if err != nil {
		t.Fatalf("tshark field %s value %q: %v", name, f.Value, err)
	}
	return b
}

// addr reads the first of the named address fields present.
func addr(t *testing.T, n *pdmlNode, names ...string) netip.Addr {
	t.Helper()
	for _, name := range names {
		if f := n.find(name); f != nil {
			a, err := netip.ParseAddr(f.Show)
			if err != nil {
				t.Fatalf("tshark field %s = %q: %v", name, f.Show, err)
			}
			return a
		}
	}
	return netip.Addr{}
}

// tsharkRecords returns the flow records tshark decodes from a pcap, in order: NetFlow
// data records (options records, which carry no counters, left out) and sFlow flow
// samples (counter samples left out).
func tsharkRecords(t *testing.T, tshark, pcap string, proto flow.Protocol) []view {
	t.Helper()
	var out []view
	var sysInit int64 // IPFIX: the exporter's systemInitTimeMilliseconds, once an options record said it
	for _, pkt := range tsharkPackets(t, tshark, pcap, proto) {
		switch proto {
		case flow.SFlow:
			out = append(out, tsharkSFlow(t, pkt.find("sflow"))...)
		default:
			out = append(out, tsharkNetFlow(t, pkt.find("cflow"), &sysInit)...)
		}
	}
	return out
}

// tsharkNetFlow reads the data records of one NetFlow or IPFIX datagram. Times are
// absolute: the header's export time less the record's age in sysUptime milliseconds
// (modulo 2^32, RFC 3954 §5.1 and the v5 layout), or the record's absolute time fields,
// or for IPFIX uptimes (flowStartSysUpTime) counted from *sysInit, the
// systemInitTimeMilliseconds of an options record, in this datagram or an earlier one.
func tsharkNetFlow(t *testing.T, cf *pdmlNode, sysInit *int64) []view {
	t.Helper()
	if cf == nil {
		t.Fatal("a datagram tshark did not dissect as NetFlow")
	}
	// IPFIX headers have no sysUptime: records carry absolute times, or uptimes from
	// the exporter's init time.
	var uptime uint32
	b := raw(t, cf, "cflow.sysuptime")
	ipfix := b == nil
	if !ipfix {
		uptime = binary.BigEndian.Uint32(b)
	}
	if b := raw(t, cf, "cflow.sys_init_time"); len(b) == 8 {
		*sysInit = int64(binary.BigEndian.Uint64(b))
	}
	export := int64(num(t, cf, "cflow.unix_secs"))*1e9 + int64(num(t, cf, "cflow.unix_nsecs"))
	var out []view
	var walk func(n *pdmlNode)
	walk = func(n *pdmlNode) {
		if n.child("cflow.packets") == nil && n.child("cflow.octets") == nil {
			for i := range n.Children {
				walk(&n.Children[i])
			}
			return
		}
		v := view{
			Src:     addr(t, n, "cflow.srcaddr", "cflow.srcaddrv6"),
			Dst:     addr(t, n, "cflow.dstaddr", "cflow.dstaddrv6"),
			SrcPort: uint16(num(t, n, "cflow.srcport")), DstPort: uint16(num(t, n, "cflow.dstport")),
			Proto: uint8(num(t, n, "cflow.protocol")), ToS: uint8(num(t, n, "cflow.tos")),
			TCPFlags: uint16(num(t, n, "cflow.tcpflags")),
			Packets:  num(t, n, "cflow.packets"), Bytes: num(t, n, "cflow.octets"),
			InIf: uint32(num(t, n, "cflow.inputint")), OutIf: uint32(num(t, n, "cflow.outputint")),
			VLAN: uint16(num(t, n, "cflow.vlanid")),
		}
		// ICMP type and code: in the destination port (v5, and v9 exporters that do as
		// v5), or in ICMP_TYPE (RFC 3954) and the IPFIX elements, which flow.Record keeps
		// in DstPort too.
		if (v.Proto == 1 || v.Proto == 58) && v.DstPort == 0 {
			v.DstPort = uint16(num(t, n, "cflow.icmp_type_code_ipv4"))
			if v.DstPort == 0 {
				typ, code := num(t, n, "cflow.icmp_ipv4_type")|num(t, n, "cflow.icmp_ipv6_type"), num(t, n, "cflow.icmp_ipv4_code")|num(t, n, "cflow.icmp_ipv6_code")
				v.DstPort = uint16(typ<<8 | code)
			}
		}
		// tshark tells uptimes from absolute times by the value being non-zero: a flow
		// that started in the exporter's first millisecond (uptime 0, valid) comes out
		// as cflow.abstimestart, 1970-01-01. Four zero bytes there are that uptime.
		ago := func(b []byte) int64 {
			if ipfix {
				return *sysInit + int64(binary.BigEndian.Uint32(b))
			}
			return (export - int64(uptime-binary.BigEndian.Uint32(b))*1e6) / 1e6
		}
		if b := raw(t, n, "cflow.timestart"); b != nil {
			v.Start = ago(b)
		} else if f := n.find("cflow.abstimestart"); f != nil && f.Value == "00000000" {
			v.Start = ago(raw(t, n, "cflow.abstimestart"))
		} else if f != nil {
			v.Start = absTime(t, f.Show)
		}
		if b := raw(t, n, "cflow.timeend"); b != nil {
			v.End = ago(b)
		} else if f := n.find("cflow.abstimeend"); f != nil && f.Value == "00000000" {
			v.End = ago(raw(t, n, "cflow.abstimeend"))
		} else if f != nil {
			v.End = absTime(t, f.Show)
		}
		out = append(out, v)
	}
	walk(cf)
	return out
}

// absTime reads an absolute time as tshark shows it (tshark runs with TZ=UTC).
func absTime(t *testing.T, s string) int64 {
	t.Helper()
	s = strings.Join(strings.Fields(s), " ")
	tm, err := time.Parse("Jan 2, 2006 15:04:05.999999999 MST", s)
	if err != nil {
		t.Fatalf("tshark time %q: %v", s, err)
	}
	return tm.UnixMilli()
}

// tsharkSFlow reads the flow samples of one sFlow datagram: a record per sample, from the
// sampled header's outer IP and transport headers, as the sflow package maps them.
func tsharkSFlow(t *testing.T, sf *pdmlNode) []view {
	t.Helper()
	if sf == nil {
		t.Fatal("a datagram tshark did not dissect as sFlow")
	}
	var out []view
	for i := range sf.Children {
		s := &sf.Children[i]
		if !strings.HasPrefix(s.Show, "Flow sample") {
			continue
		}
		v := view{
			Packets:      1,
			Bytes:        num(t, s, "sflow_245.header.frame_length"),
			SamplingRate: uint32(num(t, s, "sflow.flow_sample.sampling_rate")),
		}
		// Interfaces as the sflow package maps them: an ifIndex, or 0 when the value is
		// of another format (discarded, several interfaces) or the agent itself.
		ifIndex := func(format, value uint64) uint32 {
			if format != 0 || value == 0x3fffffff {
				return 0
			}
			return uint32(value)
		}
		if s.find("sflow.flow_sample.input_interface_value") != nil { // expanded sample
			v.InIf = ifIndex(num(t, s, "sflow.flow_sample.input_interface_format"), num(t, s, "sflow.flow_sample.input_interface_value"))
		} else {
			in := num(t, s, "sflow.flow_sample.input_interface")
			v.InIf = ifIndex(in>>30, in&0x3fffffff)
		}
		v.OutIf = ifIndex(num(t, s, "sflow.flow_sample.output_interface_format"), num(t, s, "sflow.flow_sample.output_interface_value"))
		if h := s.find("sflow_245.header"); h != nil {
			v.Src = addr(t, h, "ip.src", "ipv6.src")
			v.Dst = addr(t, h, "ip.dst", "ipv6.dst")
			if h.find("ip") != nil {
				v.Proto = uint8(num(t, h, "ip.proto"))
				v.ToS = uint8(num(t, h, "ip.dsfield"))
			} else {
				v.Proto = uint8(num(t, h, "ipv6.nxt"))
				v.ToS = uint8(num(t, h, "ipv6.tclass"))
			}
			v.VLAN = uint16(num(t, h, "vlan.id"))
			switch v.Proto {
			case 6:
				v.SrcPort, v.DstPort = uint16(num(t, h, "tcp.srcport")), uint16(num(t, h, "tcp.dstport"))
				v.TCPFlags = uint16(num(t, h, "tcp.flags"))
			case 17:
				v.SrcPort, v.DstPort = uint16(num(t, h, "udp.srcport")), uint16(num(t, h, "udp.dstport"))
			case 1:
				v.DstPort = uint16(num(t, h, "icmp.type")<<8 | num(t, h, "icmp.code"))
			case 58:
				v.DstPort = uint16(num(t, h, "icmpv6.type")<<8 | num(t, h, "icmpv6.code"))
			}
		}
		out = append(out, v)
	}
	return out
}
