package fuzz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/corpus"
)

// errorAllocs bounds what a failed decode may allocate: the error value and its message
// parts, never anything sized by the input.
const errorAllocs = 6

// seedFiles lists, per protocol, the corpus files whose datagrams seed the targets. Files
// that only the shared corpus has are used when it is present.
var seedFiles = map[string][]string{
	"v5": {
		"logstash-codec-netflow/netflow5.dat",
		"logstash-codec-netflow/netflow5_test_invalid01.dat",
		"logstash-codec-netflow/netflow5_test_invalid02.dat",
		"logstash-codec-netflow/netflow5_test_juniper_mx80.dat",
		"goflow2/TestDecodeNetFlowV5_data.dat",
		"telegraf/netflow_v5_example/netflow_v5.bin",
		"akvorado/netflow/nfv5.pcap",
	},
	"v9": {
		"goflow2/TestDecodeNetFlowV9_template.dat",
		"goflow2/TestDecodeNetFlowV9_data.dat",
		"logstash-codec-netflow/netflow9_test_valid01.dat",
		"logstash-codec-netflow/netflow9_test_invalid01.dat",
		"logstash-codec-netflow/netflow9_test_cisco_asa_1_tpl.dat",
		"logstash-codec-netflow/netflow9_test_cisco_asa_1_data.dat",
		"logstash-codec-netflow/netflow9_test_cisco_aci_tpl256-258.dat",
		"logstash-codec-netflow/netflow9_test_cisco_nbar_opttpl260.dat",
		"logstash-codec-netflow/netflow9_test_cisco_wlc_8510_tpl_262.dat",
		"logstash-codec-netflow/netflow9_test_iptnetflow_reduced_size_encoding_tpldata260.dat",
		"logstash-codec-netflow/netflow9_test_juniper_srx_tplopt.dat",
		"logstash-codec-netflow/netflow9_test_0length_fields_tpl_data.dat",
		"logstash-codec-netflow/netflow9_test_unknown_tpl266_292_data.dat",
		"telegraf/netflow_v9_example/netflow_v9.bin",
		"telegraf/netflow_v9_options/message.bin",
		"akvorado/netflow/data+templates.pcap",
		"akvorado/netflow/multiplesamplingrates-options-template.pcap",
		"akvorado/netflow/multiplesamplingrates-options-data.pcap",
		"pmacct/101-NFv9-CISCO-cust_primitives/traffic-00.pcap",
	},
	"sflow": {
		"cistern-sflow/counter_sample.dump",
		"cistern-sflow/flow_sample_3.dump",
		"cistern-sflow/flow_samples_2.dump",
		"goflow2/TestSFlowDecode_data.dat",
		"goflow2/TestExpandedSFlowDecode_data.dat",
		"gopacket/SFlowTestPacket1.pcap",
		"gopacket/SFlowTestPacket2.pcap",
		"gopacket/SFlowTestPacket3.dat",
		"gopacket/SFlowTestPacket6.dat",
		"gopacket/SFlowTestPacket8.dat",
		"gopacket/SFlowTestPacket9.dat",
		"gopacket/SFlowTestPacket11.dat",
		"gopacket/SFlowTestPacket13.dat",
		"gopacket/SFlowEthernetFramePacket.dat",
		"tcpdump/sflow-print-v6.pcap",
		"tcpdump/sflow_expanded.pcap",
		"tcpdump/sflow_print-segv.pcap",
		"akvorado/sflow/data-1140.pcap",
		"akvorado/sflow/data-encap-vxlan.pcap",
		"akvorado/sflow/data-qinq.pcap",
		"akvorado/sflow/data-sflow-ipv4-data.pcap",
		"akvorado/sflow/data-sflow-raw-ipv4.pcap",
		"akvorado/sflow/data-icmpv6.pcap",
	},
}

// addSeeds adds every datagram of the protocol's seed files to the fuzzer's corpus.
func addSeeds(f *testing.F, proto string) {
	for _, d := range seedDatagrams(f, proto) {
		f.Add(d)
	}
}

func datagramsOf(tb testing.TB, name string) [][]byte {
	return corpus.Datagrams(tb, name)
}

// checkSentinel fails the test unless err wraps one of the flow package's sentinels.
func checkSentinel(t *testing.T, err error) {
	t.Helper()
	for _, s := range []error{flow.ErrTruncated, flow.ErrVersion, flow.ErrMalformed, flow.ErrLimit, flow.ErrTemplate} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Errorf("error %q wraps no flow sentinel", err)
}

// fuzzing reports whether the test binary runs with -fuzz, rather than replaying seeds.
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}

// checkAllocs fails the test if fn allocates more than limit objects.
//
// It measures only when the seeds and findings are replayed (go test without -fuzz), and
// in the Test*Allocs tests, which run thousands of mutated inputs. Inside a fuzzing
// worker, reading the allocation counter stops the world and stalls the worker for
// seconds, so there it does nothing; whatever the fuzzer finds is replayed with the check.
//
// A first, cheap reading brackets one call with runtime.ReadMemStats; other goroutines
// may allocate meanwhile, so a reading above limit is confirmed with testing.AllocsPerRun
// over 20 calls before the test fails.
func checkAllocs(t testing.TB, limit float64, what string, fn func()) {
	t.Helper()
	if fuzzing() {
		return
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	if float64(after.Mallocs-before.Mallocs) <= limit {
		return
	}
	if n := testing.AllocsPerRun(20, fn); n > limit {
		t.Errorf("%s allocates %v objects, more than %v", what, n, limit)
	}
}

// mutate calls fn with n inputs derived from the seeds by the mutations that find bugs in
// length-prefixed formats: bit flips, random bytes, 16- and 32-bit fields set to extremes,
// truncation, extension and splicing. The same seed gives the same inputs every run.
func mutate(seeds [][]byte, n int, fn func([]byte)) {
	rng := rand.New(rand.NewPCG(1, 2))
	extremes := []uint32{0, 1, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 3, 4, 8, 0x100}
	for i := 0; i < n; i++ {
		b := bytes.Clone(seeds[rng.IntN(len(seeds))])
		for m := 1 + rng.IntN(4); m > 0 && len(b) > 0; m-- {
			at := rng.IntN(len(b))
			switch rng.IntN(7) {
			case 0:
				b[at] ^= 1 << rng.IntN(8)
			case 1:
				b[at] = byte(rng.Uint32())
			case 2:
				if at+2 <= len(b) {
					binary.BigEndian.PutUint16(b[at:], uint16(extremes[rng.IntN(len(extremes))]))
				}
			case 3:
				if at+4 <= len(b) {
					binary.BigEndian.PutUint32(b[at:], extremes[rng.IntN(len(extremes))])
				}
			case 4:
				b = b[:at]
			case 5:
				b = append(b, make([]byte, rng.IntN(64))...)
			case 6:
				other := seeds[rng.IntN(len(seeds))]
				b = append(b[:at], other[rng.IntN(len(other)):]...)
			}
		}
		fn(b)
	}
}

// seedDatagrams returns every datagram of the protocol's seed files.
func seedDatagrams(tb testing.TB, proto string) [][]byte {
	var out [][]byte
	for _, name := range seedFiles[proto] {
		if _, ok := corpus.Path(name); ok {
			out = append(out, datagramsOf(tb, name)...)
		}
	}
	return out
}
