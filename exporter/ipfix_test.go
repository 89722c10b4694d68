package exporter

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/flowcache"
	"github.com/flowkit/flow/internal/flowtest"
	"github.com/flowkit/flow/internal/trafficgen"
	"github.com/flowkit/flow/ipfix"
	"github.com/flowkit/flow/template"
)

// udpSink receives datagrams on a loopback port until the test ends.
type udpSink struct {
	conn *net.UDPConn
	mu   sync.Mutex
	msgs [][]byte
}

func listenUDP(t *testing.T) *udpSink {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadBuffer(4 << 20)
	s := &udpSink{conn: conn}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 65536)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, append([]byte(nil), buf[:n]...))
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return s
}

func (s *udpSink) received() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.msgs
}

// TestIPFIXOverUDP exports generated traffic as IPFIX to a UDP listener, as single flows
// and as biflows, with and without sampling, and decodes every datagram: the packet and
// byte totals are the generator's, sequence numbers count data records, every record has
// the observation domain and the announced sampling interval.
func TestIPFIXOverUDP(t *testing.T) {
	for _, tc := range []struct {
		name     string
		biflow   bool
		sampling uint32
	}{{"flows", false, 0}, {"biflows", true, 0}, {"sampled", false, 10}} {
		t.Run(tc.name, func(t *testing.T) {
			sink := listenUDP(t)
			e, err := New(Config{Protocol: flow.IPFIX, Destinations: []Destination{{Address: sink.conn.LocalAddr().String()}},
				Logger: quiet, Domain: 7, MTU: 1200, TemplateRefresh: 5,
				Cache: flowcache.Config{InactiveTimeout: 2 * time.Second, Shards: 2, Biflow: tc.biflow, SamplingInterval: tc.sampling}})
			if err != nil {
				t.Fatal(err)
			}
			local := e.Local()[0]
			gen := feed(t, e, trafficgen.Config{Seed: 11, Packets: 20000, Concurrent: 200, IPv6Share: 0.3, Rate: 5000})
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			st := e.Stats()
			if st.Unencodable != 0 || st.Messages == 0 || st.Destinations[0].Messages != st.Messages || st.Destinations[0].Errors != 0 {
				t.Fatalf("exporter stats %+v", st)
			}
			waitFor(t, "every message", func() bool { return uint64(len(sink.received())) == st.Messages })
			d := flowtest.NewIPFIXDecoder(local, false)
			var packets, bytes uint64
			seq, raw := uint32(0), 0
			for i, m := range sink.received() {
				if len(m) > 1200 {
					t.Errorf("message %d: %d bytes", i, len(m))
				}
				if err := d.Message(m); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if h := d.Headers[i]; h.Sequence != seq || h.Domain != 7 {
					t.Fatalf("message %d: header %+v, want sequence %d", i, h, seq)
				}
				for _, r := range d.Raw[raw:] {
					if r.Options() {
						continue
					}
					if o, ok := r.Get(1, 29305); ok {
						p, _ := r.Get(2, 29305)
						packets, bytes = packets+template.Unsigned(p), bytes+template.Unsigned(o)
					}
				}
				seq, raw = uint32(len(d.Raw)), len(d.Raw)
			}
			for _, r := range d.Flows {
				packets, bytes = packets+r.Packets, bytes+r.Bytes
				if r.Domain != 7 || r.SamplingInterval != tc.sampling || !r.SrcAddr.IsValid() || r.Start == 0 || r.End < r.Start {
					t.Fatalf("record %+v", r)
				}
			}
			if uint64(len(d.Flows)) != st.Records {
				t.Errorf("%d records decoded, %d exported", len(d.Flows), st.Records)
			}
			if tc.sampling == 0 && (packets != uint64(gen.Packets) || bytes != gen.IPBytes) {
				t.Errorf("decoded %d packets %d bytes; generated %d %d", packets, bytes, gen.Packets, gen.IPBytes)
			}
			if tc.sampling != 0 && (packets == 0 || packets > uint64(gen.Packets)/5) {
				t.Errorf("decoded %d packets of %d generated, sampled 1 in %d", packets, gen.Packets, tc.sampling)
			}
			// Biflow templates only for biflows; conversations seen in one direction go
			// out as plain flows.
			biflows := 0
			for _, id := range d.Templates {
				if id == ipfix.TemplateBiflowIPv4 || id == ipfix.TemplateBiflowIPv6 {
					biflows++
				}
			}
			if tc.biflow != (biflows > 0) {
				t.Errorf("templates %v", d.Templates)
			}
			if len(d.Templates) < int(st.Messages)/5 {
				t.Errorf("%d templates in %d messages", len(d.Templates), st.Messages)
			}
		})
	}
}
