package packet_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/flowkit/flow/internal/corpus"
	"github.com/flowkit/flow/packet"
	"github.com/flowkit/flow/sflow"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

var update = flag.Bool("update", false, "rewrite testdata/tshark-headers.txt from tshark")

// sflowFiles are the corpus files whose sampled headers the parser is checked on.
var sflowFiles = []string{
	"cistern-sflow/flow_sample.dump", "cistern-sflow/flow_sample_3.dump", "cistern-sflow/flow_samples_2.dump",
	"goflow2/TestSFlowDecode_data.dat", "goflow2/TestExpandedSFlowDecode_data.dat",
	"gopacket/SFlowTestPacket1.pcap", "gopacket/SFlowTestPacket2.pcap",
	"tcpdump/sflow-print-v6.pcap", "tcpdump/sflow_expanded.pcap",
	"akvorado/sflow/data-1140.pcap", "akvorado/sflow/data-encap-vxlan.pcap", "akvorado/sflow/data-icmpv4.pcap",
	"akvorado/sflow/data-icmpv6.pcap", "akvorado/sflow/data-qinq.pcap", "akvorado/sflow/data-sflow-expanded-sample.pcap",
	"akvorado/sflow/data-sflow-ipv4-data.pcap", "akvorado/sflow/data-sflow-raw-ipv4.pcap",
}

type sampledHeader struct {
	name  string // file and position, for messages
	proto uint32
	b     []byte
}

// corpusHeaders returns every sampled header of the sFlow files present, and whether all
// of them are from the shipped corpus.
func corpusHeaders(t *testing.T, shippedOnly bool) []sampledHeader {
	var out []sampledHeader
	for _, name := range sflowFiles {
		p, ok := corpus.Path(name)
		if !ok || (shippedOnly && !strings.HasPrefix(p, corpus.Shipped())) {
			continue
		}
		for di, d := range corpus.Datagrams(t, name) {
			var sp sflow.Parser
			for len(d) > 0 {
				if _, err := sp.Start(d); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				for si := 0; sp.Next(); si++ {
					for rs := sp.Sample().Records(); rs.Next(); {
						r := rs.Record()
						if r.Format != sflow.FlowSampledHeader || r.Counters {
							continue
						}
						sh, err := r.SampledHeader()
						if err != nil {
							t.Fatal(err)
						}
						out = append(out, sampledHeader{fmt.Sprintf("%s datagram %d sample %d", name, di, si), sh.Protocol, sh.Header})
					}
				}
				d = sp.Trailing()
				if len(d) < 4 || d[3] != 5 {
					break
				}
			}
		}
	}
	return out
}

// tsharkFields are the fields compared, in the order tshark prints them.
var tsharkFields = []string{
	"eth.src", "eth.dst", "vlan.id", "ip.src", "ip.dst", "ip.proto", "ip.dsfield", "ip.ttl", "ip.len", "ip.id",
	"ipv6.src", "ipv6.dst", "ipv6.nxt", "ipv6.tclass", "ipv6.hlim", "ipv6.plen", "ipv6.flow",
	"tcp.srcport", "tcp.dstport", "tcp.flags", "udp.srcport", "udp.dstport",
	"icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code", "mpls.label",
}

// ourFields renders a parse with tshark's field formats, so that lines compare as text.
func ourFields(p *packet.Packet) string {
	f := make([]string, len(tsharkFields))
	if p.Offsets.Link >= 0 {
		f[0], f[1] = p.SrcMAC.String(), p.DstMAC.String()
	}
	if p.VLANs > 0 {
		f[2] = strconv.Itoa(int(p.VLAN))
	}
	switch p.IPVersion {
	case 4:
		f[3], f[4], f[5] = p.SrcAddr.String(), p.DstAddr.String(), strconv.Itoa(int(p.Proto))
		f[6], f[7], f[8], f[9] = fmt.Sprintf("0x%02x", p.ToS), strconv.Itoa(int(p.TTL)), strconv.Itoa(int(p.IPLength)), fmt.Sprintf("0x%04x", p.FragID)
	case 6:
		f[10], f[11], f[12] = p.SrcAddr.String(), p.DstAddr.String(), strconv.Itoa(int(p.Proto))
		f[13], f[14], f[15], f[16] = fmt.Sprintf("0x%02x", p.ToS), strconv.Itoa(int(p.TTL)), strconv.Itoa(int(p.IPLength)-40), fmt.Sprintf("0x%05x", p.FlowLabel)
	}
	hasPorts := p.Offsets.Transport >= 0 && (p.SrcPort != 0 || p.DstPort != 0)
	switch p.Proto {
	case packet.ProtoTCP:
		if hasPorts {
			f[17], f[18] = strconv.Itoa(int(p.SrcPort)), strconv.Itoa(int(p.DstPort))
		}
		if p.Offsets.Payload >= 0 {
			f[19] = fmt.Sprintf("0x%04x", p.TCPFlags)
		}
	case packet.ProtoUDP:
		if hasPorts {
			f[20], f[21] = strconv.Itoa(int(p.SrcPort)), strconv.Itoa(int(p.DstPort))
		}
	case packet.ProtoICMP:
		if p.Offsets.Transport >= 0 {
			f[22], f[23] = strconv.Itoa(int(p.ICMPType)), strconv.Itoa(int(p.ICMPCode))
		}
	case packet.ProtoICMPv6:
		if p.Offsets.Transport >= 0 {
			f[24], f[25] = strconv.Itoa(int(p.ICMPType)), strconv.Itoa(int(p.ICMPCode))
		}
	}
	if p.MPLSLabels > 0 {
		f[26] = strconv.Itoa(int(p.MPLS[0] >> 12))
	}
	return strings.Join(f, "|")
}

// runTshark decodes the headers with tshark and returns one line of fields per header.
func runTshark(t *testing.T, hs []sampledHeader) []string {
	dir := t.TempDir()
	var out []string
	// Ethernet headers and raw IP headers go to two files of their link types, decoded
	// separately and merged back in order.
	type file struct {
		link  layers.LinkType
		index []int
	}
	files := map[bool]*file{true: {link: layers.LinkTypeEthernet}, false: {link: layers.LinkTypeRaw}}
	for i, h := range hs {
		files[h.proto == sflow.HeaderEthernet].index = append(files[h.proto == sflow.HeaderEthernet].index, i)
	}
	out = make([]string, len(hs))
	for eth, f := range files {
		if len(f.index) == 0 {
			continue
		}
		path := filepath.Join(dir, fmt.Sprintf("h%v.pcap", eth))
		var buf bytes.Buffer
		w := pcapgo.NewWriter(&buf)
		if err := w.WriteFileHeader(65535, f.link); err != nil {
			t.Fatal(err)
		}
		for _, i := range f.index {
			ci := gopacket.CaptureInfo{Timestamp: time.Unix(int64(i), 0), CaptureLength: len(hs[i].b), Length: len(hs[i].b)}
			if err := w.WritePacket(ci, hs[i].b); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{"-r", path, "-T", "fields", "-E", "separator=|", "-E", "occurrence=f"}
		for _, fl := range tsharkFields {
			args = append(args, "-e", fl)
		}
		cmd := exec.Command("tshark", args...)
		cmd.Env = append(os.Environ(), "HOME="+dir) // no user profile
		res, err := cmd.Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		lines := strings.Split(strings.TrimRight(string(res), "\n"), "\n")
		if len(lines) != len(f.index) {
			t.Fatalf("tshark printed %d lines for %d headers", len(lines), len(f.index))
		}
		for j, i := range f.index {
			out[i] = lines[j]
		}
	}
	return out
}

// normalize maps the few places where tshark's rendering differs from the parser's
// meaning without a disagreement on the value.
func normalize(s string) string {
	f := strings.Split(s, "|")
	// tshark prints the IPv6 traffic class and flow label with their own widths.
	for _, i := range []int{13, 16} {
		if v, err := strconv.ParseUint(f[i], 0, 32); err == nil {
			f[i] = strconv.FormatUint(v, 10)
		}
	}
	for _, i := range []int{6, 9, 19} {
		if v, err := strconv.ParseUint(f[i], 0, 32); err == nil {
			f[i] = strconv.FormatUint(v, 10)
		}
	}
	return strings.Join(f, "|")
}

const goldenFile = "testdata/tshark-headers.txt"

// TestHeadersAgainstTshark parses every sampled header of the sFlow captures and compares
// the fields with tshark's decode of the same bytes: live when tshark is installed (all
// captures, shipped and shared), and always against testdata/tshark-headers.txt, tshark's
// decode of the headers of the shipped captures.
func TestHeadersAgainstTshark(t *testing.T) {
	compare := func(t *testing.T, hs []sampledHeader, want []string) {
		var p packet.Packet
		for i, h := range hs {
			layer := packet.Ethernet
			if h.proto != sflow.HeaderEthernet {
				layer = packet.IP
			}
			p.Parse(h.b, layer, nil)
			got := ourFields(&p)
			if p.Tunnel.Type != packet.TunnelNone {
				// tshark decodes the inner packet too and reports, for each field, its
				// first occurrence: the outer one where the outer packet has the field,
				// the inner one where only the inner packet has it.
				var inner packet.Packet
				inner.Parse(h.b, layer, &packet.Options{Decap: packet.DecapAll})
				outerF, innerF := strings.Split(got, "|"), strings.Split(ourFields(&inner), "|")
				for j := range outerF {
					if outerF[j] == "" {
						outerF[j] = innerF[j]
					}
				}
				got = strings.Join(outerF, "|")
			}
			if got, w := normalize(got), normalize(want[i]); got != w {
				t.Errorf("%s (stop %v):\n got  %s\n want %s", h.name, p.Stop, got, w)
			}
		}
	}
	t.Run("golden", func(t *testing.T) {
		hs := corpusHeaders(t, true)
		if *update {
			if _, err := exec.LookPath("tshark"); err != nil {
				t.Fatal("-update needs tshark")
			}
			lines := runTshark(t, hs)
			var b strings.Builder
			b.WriteString("# tshark -T fields, one line per sampled header of the shipped sFlow captures:\n# " + strings.Join(tsharkFields, "|") + "\n")
			for i, l := range lines {
				b.WriteString(hs[i].name + "\t" + l + "\n")
			}
			if err := os.WriteFile(goldenFile, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		data, err := os.ReadFile(goldenFile)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			if strings.HasPrefix(l, "#") {
				continue
			}
			name, fields, _ := strings.Cut(l, "\t")
			if len(want) >= len(hs) || name != hs[len(want)].name {
				t.Fatalf("golden line %q does not match header %d", name, len(want))
			}
			want = append(want, fields)
		}
		if len(want) != len(hs) || len(hs) < 30 {
			t.Fatalf("%d golden lines for %d headers", len(want), len(hs))
		}
		compare(t, hs, want)
	})
	t.Run("live", func(t *testing.T) {
		if _, err := exec.LookPath("tshark"); err != nil {
			t.Skip("tshark not installed")
		}
		hs := corpusHeaders(t, false)
		compare(t, hs, runTshark(t, hs))
		t.Logf("%d headers compared with tshark", len(hs))
	})
}
