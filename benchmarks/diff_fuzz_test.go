package benchmarks

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/netflow5"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
)

// Differential fuzz targets: this library and goflow2 v2.2.6 decode the same input, and
// every field both decode must agree. Known goflow2 bugs, where it accepts what it should
// not, are listed in FUZZING.md; the targets compare only inputs this library accepts.

// seedsFrom adds the files of the main module's testdata/corpus matching pattern.
func seedsFrom(f *testing.F, pattern string) {
	files, err := filepath.Glob(filepath.Join("..", "testdata", "corpus", pattern))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed files for %s", pattern)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzDiffNetFlow5(f *testing.F) {
	seedsFrom(f, "*/netflow5*.dat")
	seedsFrom(f, "goflow2/TestDecodeNetFlowV5_data.dat")
	seedsFrom(f, "telegraf/netflow_v5_example/*.bin")
	f.Add(netflow5Datagram)
	f.Fuzz(func(t *testing.T, b []byte) {
		var p netflow5.Parser
		h, err := p.Start(b)
		if err != nil {
			return // goflow2 accepts some of these; FUZZING.md says which and why that is wrong
		}
		recs := p.AppendFlows(nil)
		// goflow2 sizes its record slice by the header count: bound it by what we
		// accepted, which the bytes present hold.
		var pkt netflowlegacy.PacketNetFlowV5
		if err := netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(b), &pkt); err != nil {
			t.Fatalf("goflow2 rejects a datagram flowkit accepts: %v", err)
		}
		if int(pkt.Count) != len(recs) || len(pkt.Records) != len(recs) {
			t.Fatalf("goflow2 %d/%d records, flowkit %d", pkt.Count, len(pkt.Records), len(recs))
		}
		if pkt.SysUptime != h.SysUptime || pkt.UnixSecs != h.UnixSecs || pkt.UnixNSecs != h.UnixNsecs ||
			pkt.FlowSequence != h.FlowSequence || pkt.EngineType != h.EngineType || pkt.EngineId != h.EngineID ||
			pkt.SamplingInterval != uint16(h.SamplingMode)<<14|h.SamplingInterval {
			t.Fatalf("headers differ: goflow2 %+v flowkit %+v", pkt, h)
		}
		for i, g := range pkt.Records {
			if !sameV5(&g, &recs[i], &h) {
				t.Fatalf("record %d differs:\n goflow2 %+v\n flowkit %+v", i, g, recs[i])
			}
		}
	})
}

func ip4(v netflowlegacy.IPAddress) [4]byte {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], uint32(v))
	return a
}

// sameV5 compares a goflow2 record with a flowkit one on every field both carry.
func sameV5(g *netflowlegacy.RecordsNetFlowV5, r *flow.Record, h *netflow5.Header) bool {
	return ip4(g.SrcAddr) == r.SrcAddr.As4() && ip4(g.DstAddr) == r.DstAddr.As4() && ip4(g.NextHop) == r.NextHop.As4() &&
		uint64(g.DPkts) == r.Packets && uint64(g.DOctets) == r.Bytes &&
		g.SrcPort == r.SrcPort && g.DstPort == r.DstPort && g.Proto == r.IPProto && g.Tos == r.ToS &&
		uint32(g.Input) == r.InIf && uint32(g.Output) == r.OutIf && uint16(g.TCPFlags) == r.TCPFlags &&
		uint32(g.SrcAS) == r.SrcAS && uint32(g.DstAS) == r.DstAS && g.SrcMask == r.SrcMask && g.DstMask == r.DstMask &&
		h.Time(g.First) == r.Start && h.Time(g.Last) == r.End
}

// TestGoflow2MakesUpV5Records pins the disagreement the differential target skips:
// goflow2 accepts a datagram whose header counts more records than its bytes hold, and
// returns the missing ones as zero records (here 55,552 of them, 2.7 MB), where flowkit
// refuses the datagram with an error naming the offset.
func TestGoflow2MakesUpV5Records(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "testdata", "corpus", "logstash-codec-netflow", "netflow5_test_invalid01.dat"))
	if err != nil {
		t.Fatal(err)
	}
	var pkt netflowlegacy.PacketNetFlowV5
	if err := netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(b), &pkt); err != nil {
		t.Fatalf("goflow2 now rejects the datagram (%v): update FUZZING.md", err)
	}
	if len(pkt.Records) != 55582 || pkt.Records[30] != (netflowlegacy.RecordsNetFlowV5{}) {
		t.Errorf("goflow2 returned %d records", len(pkt.Records))
	}
	var p netflow5.Parser
	if _, err := p.Start(b); err == nil {
		t.Error("flowkit accepts it")
	}
}
