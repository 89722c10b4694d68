package interop

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/collector"
	"github.com/flowkit/flow/internal/trafficgen"
)

// received is what the collector got: every datagram (Config.Raw) and every record, in
// the order they arrived (one socket, so one goroutine: a datagram's records follow it).
type received struct {
	mu        sync.Mutex
	datagrams []datagram
	recs      []flow.Record
	stats     collector.Stats // when the collector stopped
}

func (r *received) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.datagrams)
}

// runCollector runs the collector on a free loopback port, UDP or (scheme "tcp") TCP. stop
// drains and stops it.
func runCollector(t *testing.T, scheme string) (addr string, got *received, stop func()) {
	t.Helper()
	got = &received{}
	c, err := collector.New(collector.Config{
		Listen:     []string{scheme + "://127.0.0.1:0"},
		ReadBuffer: 8 << 20, // the tools send all they have at once when their input ends
		Logger:     quiet,
		Raw: func(from netip.AddrPort, msg []byte) {
			got.mu.Lock()
			got.datagrams = append(got.datagrams, datagram{from, append([]byte(nil), msg...)})
			got.mu.Unlock()
		},
		Handler: func(recs []flow.Record) {
			got.mu.Lock()
			got.recs = append(got.recs, recs...)
			got.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Serve(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
			st := c.Stats()
			got.stats = st
			if st.Errors.Total() != 0 {
				t.Errorf("collector errors %+v", st.Errors)
			}
			for _, e := range st.Exporters {
				t.Logf("collector: %v domain %d: %d datagrams, %d records, lost %d records %d packets, %d reordered",
					e.Protocol, e.Domain, e.Datagrams, e.Records, e.LostRecords, e.LostPackets, e.Reordered)
			}
		})
	}
	t.Cleanup(stop)
	return c.Addrs()[0].String(), got, stop
}

// quiet waits until the collector has received nothing new for a while: the tool has
// sent everything.
func (r *received) waitQuiet(t *testing.T, quiet, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last, since := r.count(), time.Now()
	for time.Since(since) < quiet {
		if time.Now().After(deadline) {
			t.Fatalf("the collector still receives after %v", timeout)
		}
		time.Sleep(20 * time.Millisecond)
		if n := r.count(); n != last {
			last, since = n, time.Now()
		}
	}
}

// feeds lists the real exporters run into the collector.
var feeds = []struct {
	name  string
	tool  string
	proto flow.Protocol
	ipv6  float64 // NetFlow v5 carries no IPv6: the traffic has none, so that totals hold
	run   func(t *testing.T, bin, dir, addr string, traffic func(start time.Time) (pcap string, end time.Time))
}{
	{"softflowd/netflow5", "softflowd", flow.NetFlow5, 0, softflowd("5")},
	{"softflowd/netflow9", "softflowd", flow.NetFlow9, 0.2, softflowd("9")},
	{"softflowd/ipfix", "softflowd", flow.IPFIX, 0.2, softflowd("10")},
	{"softflowd/ipfix-tcp", "softflowd", flow.IPFIX, 0.2, softflowd("10", "-P", "tcp")},
	{"pmacctd-nfprobe/netflow5", "pmacctd", flow.NetFlow5, 0, pmacctd("nfprobe", "nfprobe_version: 5")},
	{"pmacctd-nfprobe/netflow9", "pmacctd", flow.NetFlow9, 0.2, pmacctd("nfprobe", "nfprobe_version: 9")},
	{"pmacctd-nfprobe/ipfix", "pmacctd", flow.IPFIX, 0.2, pmacctd("nfprobe", "nfprobe_version: 10")},
	{"pmacctd-sfprobe/sflow", "pmacctd", flow.SFlow, 0.2, pmacctd("sfprobe", "sfprobe_agentip: 127.0.0.1", "sampling_rate: "+strconv.Itoa(sflowRate))},
}

// softflowd meters the pcap and exports; with -r it exits after its last flow (it ends
// every flow at the end of the file). -a takes the export times from the packets too.
// With "-P tcp" among more, it sends IPFIX over TCP.
func softflowd(version string, more ...string) func(t *testing.T, bin, dir, addr string, traffic func(time.Time) (string, time.Time)) {
	return func(t *testing.T, bin, dir, addr string, traffic func(time.Time) (string, time.Time)) {
		pcap, _ := traffic(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		// Neither -c nor -p: either after -r brings back softflowd 1.1.0's control
		// socket, whose accept() then blocks the capture loop for ever.
		p := start(t, dir, bin, append([]string{"-r", pcap, "-n", addr, "-v", version, "-d", "-a"}, more...)...)
		p.wait(time.Minute)
	}
}

// pmacctd reads the pcap (pcap_savefile) into one plugin that exports to addr. It waits
// at the end of the file (pcap_savefile_wait) until SIGINT, on which the plugin exports
// what it holds: without the wait, it exits before its plugin has read all it was given.
//
// pmacct's probes stamp their export headers with the wall clock and count sysUptime
// from their own start, but take flow times from the packets: a capture from another
// day would have its flows before the probe's boot. So the traffic is generated to start
// as pmacctd does, and pmacctd is stopped only after the last packet's time has passed.
func pmacctd(plugin string, settings ...string) func(t *testing.T, bin, dir, addr string, traffic func(time.Time) (string, time.Time)) {
	return func(t *testing.T, bin, dir, addr string, traffic func(time.Time) (string, time.Time)) {
		pcap, end := traffic(time.Now().Add(300 * time.Millisecond))
		lines := []string{
			"daemonize: false",
			"pcap_savefile: " + pcap,
			"pcap_savefile_wait: true",
			"plugins: " + plugin + "[p]",
			plugin + "_receiver[p]: " + addr,
		}
		for _, s := range settings {
			k, v, _ := strings.Cut(s, ": ")
			lines = append(lines, k+"[p]: "+v)
		}
		conf := keep(t, dir, "pmacctd.conf", []byte(strings.Join(lines, "\n")+"\n"))
		p := start(t, dir, bin, "-f", conf)
		p.waitOutput("finished reading PCAP capture file", time.Minute)
		time.Sleep(max(500*time.Millisecond, time.Until(end.Add(500*time.Millisecond))))
		p.stop(syscall.SIGINT, 30*time.Second)
	}
}

// TestCollectorReadsRealExporters: softflowd and pmacctd meter a generated pcap and
// export it to the collector. The datagrams the collector received, written to a pcap,
// are decoded by tshark: the collector's records equal tshark's one by one (addresses,
// ports, protocol, ToS, TCP flags, interfaces, counters, NetFlow times to the
// millisecond; for sFlow the sampled header's fields, frame length and sampling rate).
// For NetFlow the totals equal the generated traffic: the tools metered all of it.
func TestCollectorReadsRealExporters(t *testing.T) {
	tshark := need(t, "tshark")[0]
	for _, tc := range feeds {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // the tools spend their time waiting: pmacctd sleeps 2 s before a file
			bin := need(t, tc.tool)[0]
			dir := t.TempDir()
			var gen trafficgen.Totals
			writeTraffic := func(start time.Time) (string, time.Time) {
				pcap := filepath.Join(dir, "traffic.pcap")
				f, err := os.Create(pcap)
				if err != nil {
					t.Fatal(err)
				}
				cfg := traffic(tc.ipv6)
				cfg.Start = start
				gen, err = trafficgen.WritePcap(f, cfg)
				if err := errors.Join(err, f.Close()); err != nil {
					t.Fatalf("writing the pcap: %v", err)
				}
				return pcap, start.Add(time.Duration(float64(cfg.Packets) / cfg.Rate * float64(time.Second)))
			}
			scheme := "udp"
			if strings.HasSuffix(tc.name, "-tcp") {
				scheme = "tcp" // each message the stream carries goes into the pcap as a datagram
			}
			addr, got, stop := runCollector(t, scheme)
			tc.run(t, bin, dir, addr, writeTraffic)
			got.waitQuiet(t, 300*time.Millisecond, 30*time.Second)
			stop()

			if len(got.datagrams) == 0 {
				t.Fatalf("%s sent nothing", tc.tool)
			}
			for _, d := range got.datagrams {
				if p := flow.Detect(d.payload); p != tc.proto {
					t.Fatalf("%s sent %v, want %v", tc.tool, p, tc.proto)
				}
			}
			ours := viewsOf(got.recs)
			theirs := tsharkRecords(t, tshark, writePcap(t, dir, "exports.pcap", tc.proto, got.datagrams), tc.proto)
			sameRecords(t, "collector vs tshark", ours, theirs)
			s := sumOf(ours)
			switch {
			case tc.proto == flow.SFlow:
				// sfprobe samples at random, one packet in sflowRate (20) on average: the
				// count varies around 10,000/20 by some 22 (one standard deviation).
				if n := float64(s.Records); n < 0.8*float64(gen.Packets)/sflowRate || n > 1.2*float64(gen.Packets)/sflowRate {
					t.Errorf("%d samples of %d packets at 1 in %d", s.Records, gen.Packets, sflowRate)
				}
				for _, v := range ours {
					if v.SamplingRate != sflowRate {
						t.Fatalf("sample with rate %d: %v", v.SamplingRate, v)
					}
				}
			case tc.tool == "pmacctd":
				// pmacctd 1.7.7 counts a few packets of a savefile twice (30 of
				// these 10,000 with its default buffers, 61 with 20 KB ones): the
				// same flows as softflowd's, some with one packet more. Nothing is
				// lost, and not much is added.
				if s.Packets < uint64(gen.Packets) || s.Bytes < gen.IPBytes || s.Packets > uint64(gen.Packets)*101/100 {
					t.Errorf("%d records hold %d packets %d bytes; generated %d packets %d IP bytes", s.Records, s.Packets, s.Bytes, gen.Packets, gen.IPBytes)
				}
			default:
				if s.Packets != uint64(gen.Packets) || s.Bytes != gen.IPBytes {
					t.Errorf("%d records hold %d packets %d bytes; generated %d packets %d IP bytes", s.Records, s.Packets, s.Bytes, gen.Packets, gen.IPBytes)
				}
			}
			// Every datagram arrived (the records are tshark's): the sequence numbers must
			// say so too. softflowd 1.1.0's IPFIX numbering is its own (tshark reports
			// "unexpected flow sequence" on it as well).
			for _, e := range got.stats.Exporters {
				if !strings.HasPrefix(tc.name, "softflowd/ipfix") && e.LostRecords+e.LostPackets+e.Reordered != 0 {
					t.Errorf("collector counts losses where there were none: %+v", e)
				}
			}
			t.Logf("%d datagrams, %d records", len(got.datagrams), len(ours))
		})
	}
}
