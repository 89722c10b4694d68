package interop

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/exporter"
	"github.com/flowkit/flow/flowcache"
	"github.com/flowkit/flow/internal/trafficgen"
	"github.com/flowkit/flow/ipfix"
	"github.com/flowkit/flow/netflow5"
	"github.com/flowkit/flow/netflow9"
	"github.com/flowkit/flow/sflow"
)

// ourExports lists what the exporter sends, for every test that reads it with a tool.
var ourExports = []struct {
	proto flow.Protocol
	ipv6  float64 // share of IPv6 conversations: none for v5, which cannot carry them
}{
	{flow.NetFlow5, 0},
	{flow.NetFlow9, 0.2},
	{flow.IPFIX, 0.2},
	{flow.SFlow, 0.2},
}

// sflowRate is the sFlow sampling, one packet in sflowRate: every Nth for the exporter,
// at random for pmacct's sfprobe. Some 500 samples of the 10,000 packets.
const sflowRate = 20

// traffic is the generated traffic every test meters: 10,000 packets over two seconds
// from 150 concurrent conversations, a tenth of them on VLANs.
func traffic(ipv6 float64) trafficgen.Config {
	return trafficgen.Config{Seed: 7, Packets: 10000, Concurrent: 150, Rate: 5000, IPv6Share: ipv6, VLANShare: 0.1}
}

// export is what the exporter sent for a protocol, and what it was sent for.
type export struct {
	proto     flow.Protocol
	datagrams [][]byte
	// want is what a decoder must find in all: the records the exporter says it
	// encoded, holding every generated packet and IP byte (NetFlow), or one sample per
	// sflowRate packets counting its frame's length (sFlow).
	want sums
}

// exportTraffic meters the generated traffic with the exporter and keeps its messages.
// Flows time out after 500 ms idle or 1 s active, so that a conversation gives several
// records and some flows end before others start: the tools must keep them apart.
func exportTraffic(t *testing.T, proto flow.Protocol, ipv6 float64) export {
	t.Helper()
	ex := export{proto: proto}
	cfg := exporter.Config{
		Protocol: proto,
		Domain:   3,
		Output:   func(msg []byte) { ex.datagrams = append(ex.datagrams, append([]byte(nil), msg...)) },
		Cache:    flowcache.Config{InactiveTimeout: 500 * time.Millisecond, ActiveTimeout: time.Second},
		Logger:   quiet,
	}
	if proto == flow.SFlow {
		cfg.SamplingRate, cfg.Agent = sflowRate, loopback
	}
	e, err := exporter.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	g := trafficgen.New(traffic(ipv6))
	var frameBytes uint64
	for i := 1; ; i++ {
		f, ok := g.Next()
		if !ok {
			break
		}
		if i%sflowRate == 0 {
			ex.want.Records++
			frameBytes += uint64(f.Length)
		}
		e.Packet(f.Data, f.Length, flow.TimeOf(f.Time), 1)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	st := e.Stats()
	if st.Unencodable != 0 || st.Unparseable != 0 || int(st.Messages) != len(ex.datagrams) {
		t.Fatalf("exporter stats %+v, %d messages seen", st, len(ex.datagrams))
	}
	if proto == flow.SFlow {
		if int(st.Records) != ex.want.Records {
			t.Fatalf("exporter sent %d samples, want one in %d of %d packets", st.Records, sflowRate, g.Totals().Packets)
		}
		ex.want.Packets, ex.want.Bytes = uint64(ex.want.Records), frameBytes
	} else {
		ex.want = sums{Records: int(st.Records), Packets: uint64(g.Totals().Packets), Bytes: g.Totals().IPBytes}
	}
	return ex
}

// datagrams returns the messages as sent from 127.0.0.1:40000.
func (ex *export) sent() []datagram {
	out := make([]datagram, len(ex.datagrams))
	for i, d := range ex.datagrams {
		out[i] = datagram{netip.AddrPortFrom(loopback, 40000), d}
	}
	return out
}

// ours decodes the messages with this library's parsers, as the collector would.
func (ex *export) ours(t *testing.T) []flow.Record {
	t.Helper()
	from := netip.AddrPortFrom(loopback, 40000)
	var recs []flow.Record
	var v5 netflow5.Parser
	var v9 netflow9.Parser
	var ipfx ipfix.Parser
	var sf sflow.Parser
	for i, d := range ex.datagrams {
		var err error
		switch ex.proto {
		case flow.NetFlow5:
			if _, err = v5.Start(d); err == nil {
				recs = v5.AppendFlows(recs)
			}
		case flow.NetFlow9:
			if _, err = v9.Start(d, from); err == nil {
				recs = v9.AppendFlows(recs)
				err = v9.Err()
			}
		case flow.IPFIX:
			if _, err = ipfx.Start(d, from); err == nil {
				recs = ipfx.AppendFlows(recs) // the exports are not biflows
				err = ipfx.Err()
			}
		case flow.SFlow:
			if _, err = sf.Start(d); err == nil {
				recs = sf.AppendFlows(recs)
				err = sf.Err()
			}
		default:
			t.Fatalf("no parser for %v", ex.proto)
		}
		if err != nil {
			t.Fatalf("our parser, datagram %d: %v", i, err)
		}
	}
	for i := range recs {
		recs[i].Protocol = ex.proto
	}
	return recs
}

// TestOurExportsAddUp checks the exports against the generated traffic with this
// library's own parsers, before any tool reads them: the tools' tests rely on it.
func TestOurExportsAddUp(t *testing.T) {
	for _, tc := range ourExports {
		t.Run(tc.proto.String(), func(t *testing.T) {
			ex := exportTraffic(t, tc.proto, tc.ipv6)
			if got := sumOf(viewsOf(ex.ours(t))); got != ex.want {
				t.Errorf("our parser reads %+v, want %+v", got, ex.want)
			}
		})
	}
}

// keep writes a file for a failing test's post-mortem.
func keep(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
