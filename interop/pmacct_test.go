package interop

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/flowkit/flow"
)

// TestPmacctReadsOurExports: nfacctd (NetFlow v5, v9) and sfacctd (sFlow) receive the
// exporter's datagrams over UDP and print, through the print plugin, CSV aggregated by
// the 5-tuple and ToS. pmacct aggregates by design, so what is compared is, per key, the
// packets and bytes it sums against ours summed by the same key, and the totals.
//
// What pmacct does not keep is left out of the key: NetFlow times (its timestamp_start
// and timestamp_end come out in whole seconds, counted back from the header's seconds
// with the age rounded down, for v5 too although its header has nanoseconds), and for
// sFlow the ICMP type and code, which pmacct does not put in the ports as NetFlow does.
func TestPmacctReadsOurExports(t *testing.T) {
	for _, tc := range ourExports {
		daemon := "nfacctd"
		if tc.proto == flow.SFlow {
			daemon = "sfacctd"
		}
		t.Run(tc.proto.String(), func(t *testing.T) {
			t.Parallel() // pmacct takes a second or two to start and to stop
			bin := need(t, daemon)[0]
			ex := exportTraffic(t, tc.proto, tc.ipv6)
			dir := t.TempDir()
			port := freeUDPPort(t)
			out := filepath.Join(dir, "out.csv")
			prefix := daemon[:2] + "acctd" // nfacctd_ip, sfacctd_ip, …
			primitives := "src_host, dst_host, src_port, dst_port, proto, tos"
			conf := strings.Join([]string{
				"daemonize: false",
				prefix + "_ip: 127.0.0.1",
				prefix + "_port: " + fmt.Sprint(port),
				prefix + "_pipe_size: 4194304", // the socket's receive buffer
				"timestamps_utc: true",
				"plugins: print[p]",
				"aggregate[p]: " + primitives,
				"print_output[p]: csv",
				"print_output_file[p]: " + out,
				"print_refresh_time[p]: 3600",
				"plugin_pipe_size[p]: 20480000",
				"plugin_buffer_size[p]: 20480",
			}, "\n") + "\n"
			cfg := keep(t, dir, daemon+".conf", []byte(conf))
			d := start(t, dir, bin, "-f", cfg)
			// The socket is bound, and the plugin (another process) is ready: what the
			// core reads before that is lost.
			d.waitOutput("waiting for", 20*time.Second)
			d.waitOutput("cache entries=", 20*time.Second)
			send(t, addrPort(port), ex.datagrams)
			d.waitDrained(port, 30*time.Second)
			time.Sleep(200 * time.Millisecond) // the core decodes the last one and queues it to the plugin
			// On SIGINT pmacct's plugins write what they hold, and the daemon exits.
			d.stop(syscall.SIGINT, 20*time.Second)

			got := readPmacctCSV(t, out)
			want := map[string]sums{}
			for _, v := range viewsOf(ex.ours(t)) {
				if tc.proto == flow.SFlow && (v.Proto == 1 || v.Proto == 58) {
					v.DstPort = 0
				}
				k := pmacctKey(v)
				s := want[k]
				s.Records++
				s.Packets += v.Packets
				s.Bytes += v.Bytes
				want[k] = s
			}
			var total sums
			var gotLines, wantLines []string
			for k, s := range got {
				total.Packets += s.Packets
				total.Bytes += s.Bytes
				gotLines = append(gotLines, fmt.Sprintf("%s pkts %d bytes %d", k, s.Packets, s.Bytes))
			}
			for k, s := range want {
				wantLines = append(wantLines, fmt.Sprintf("%s pkts %d bytes %d", k, s.Packets, s.Bytes))
			}
			// pmacct counts no records, only what they carried.
			if total.Packets != ex.want.Packets || total.Bytes != ex.want.Bytes {
				t.Errorf("%s reads %d packets %d bytes (in %d keys), want %+v", daemon, total.Packets, total.Bytes, len(got), ex.want)
			}
			sameMultiset(t, daemon+" vs what we sent, per key", gotLines, wantLines)
		})
	}
}

// pmacctKey is the aggregation key the print plugin is configured with.
func pmacctKey(v view) string {
	return fmt.Sprintf("%v:%d > %v:%d proto %d tos %d", v.Src, v.SrcPort, v.Dst, v.DstPort, v.Proto, v.ToS)
}

// readPmacctCSV reads the print plugin's CSV into sums per key.
func readPmacctCSV(t *testing.T, path string) map[string]sums {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("pmacct wrote no output: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s begins:\n%s", filepath.Base(path), b[:min(len(b), 400)])
		}
	})
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("pmacct's CSV (%d rows): %v\n%s", len(rows), err, b)
	}
	col := map[string]int{}
	for i, name := range rows[0] {
		col[name] = i
	}
	get := func(row []string, name string) string {
		i, ok := col[name]
		if !ok {
			t.Fatalf("pmacct's CSV has no column %s: %v", name, rows[0])
		}
		return row[i]
	}
	u := func(row []string, name string) uint64 {
		n, err := strconv.ParseUint(get(row, name), 10, 64)
		if err != nil {
			t.Fatalf("pmacct's CSV column %s: %v", name, err)
		}
		return n
	}
	out := map[string]sums{}
	for _, row := range rows[1:] {
		v := view{
			Src: netip.MustParseAddr(get(row, "SRC_IP")), Dst: netip.MustParseAddr(get(row, "DST_IP")),
			SrcPort: uint16(u(row, "SRC_PORT")), DstPort: uint16(u(row, "DST_PORT")),
			Proto: protoNumber(t, get(row, "PROTOCOL")), ToS: uint8(u(row, "TOS")),
		}
		k := pmacctKey(v)
		s := out[k]
		s.Packets += u(row, "PACKETS")
		s.Bytes += u(row, "BYTES")
		out[k] = s
	}
	return out
}

// protoNumber reads pmacct's protocol column: a name from its table, or a number.
func protoNumber(t *testing.T, s string) uint8 {
	t.Helper()
	switch s {
	case "tcp":
		return 6
	case "udp":
		return 17
	case "icmp":
		return 1
	case "ipv6-icmp":
		return 58
	}
	n, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		t.Fatalf("pmacct protocol %q", s)
	}
	return uint8(n)
}
