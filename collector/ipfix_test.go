package collector

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/exporter"
	"github.com/flowkit/flow/ipfix"
	"github.com/google/go-cmp/cmp"
)

// selfSigned returns a server config with a certificate for 127.0.0.1 made for the test,
// and a client config that trusts it.
func selfSigned(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "collector test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool}
}

// testRecords returns n records such as a flow cache expires, IPv4 and IPv6, with times at
// the millisecond IPFIX carries; SrcPort numbers them.
func testRecords(n int) []flow.Record {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	out := make([]flow.Record, n)
	for i := range out {
		r := flow.Record{
			SrcAddr: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), DstAddr: netip.MustParseAddr("192.0.2.1"),
			SrcPort: uint16(i), DstPort: 443, IPProto: 6, Packets: uint64(i%50 + 1), Bytes: uint64(1000 + i),
			Start: flow.TimeOf(t0.Add(time.Duration(i) * time.Millisecond)), End: flow.TimeOf(t0.Add(time.Duration(i)*time.Millisecond + 1500*time.Millisecond)),
			InIf: 3, OutIf: uint32(i % 7), TCPFlags: 0x1b, ToS: uint8(i), SrcAS: 64500, DstAS: uint32(i), SrcMask: 24, DstMask: 32,
			EndReason: flow.EndIdle,
		}
		if i%3 == 0 {
			r.SrcAddr, r.DstAddr = netip.MustParseAddr("2001:db8::1"), netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)})
			r.IPProto = 17
			r.NextHop, r.BGPNextHop = netip.MustParseAddr("2001:db8::fe"), netip.MustParseAddr("2001:db8::fd")
		} else {
			// Absent next hops travel as zeros and come back as 0.0.0.0: give them values.
			r.NextHop, r.BGPNextHop = netip.MustParseAddr("10.255.0.1"), netip.MustParseAddr("10.255.0.2")
		}
		out[i] = r
	}
	return out
}

// export sends recs through an exporter to dest, flushing every flushEvery records, and
// closes it (which waits for a stream to deliver its queue).
func export(t *testing.T, dest exporter.Destination, recs []flow.Record, flushEvery int) exporter.Stats {
	t.Helper()
	e, err := exporter.New(exporter.Config{Protocol: flow.IPFIX, Destinations: []exporter.Destination{dest}, Domain: 9,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if err := e.Record(&recs[i]); err != nil {
			t.Fatal(err)
		}
		if (i+1)%flushEvery == 0 {
			e.Flush()
			time.Sleep(time.Millisecond)
		}
	}
	e.Close()
	return e.Stats()
}

// TestIPFIXFromExporter sends records from the exporter package over UDP, TCP and TLS and
// checks that the collector hands out each of them, field by field, counted per exporter
// and domain with no loss.
func TestIPFIXFromExporter(t *testing.T) {
	srvTLS, cliTLS := selfSigned(t)
	for _, transport := range []string{"udp", "tcp", "tls"} {
		t.Run(transport, func(t *testing.T) {
			c, s, addr, stop := start(t, Config{Listen: []string{transport + "://127.0.0.1:0"}, TLS: srvTLS, ReadBuffer: 4 << 20})
			want := testRecords(1000)
			st := export(t, exporter.Destination{Address: addr.String(), Transport: transport, TLS: cliTLS}, want, 40)
			if st.Records != 1000 || st.Destinations[0].Dropped != 0 || st.Destinations[0].Errors != 0 {
				t.Fatalf("exporter %+v", st)
			}
			waitFor(t, "1000 records", func() bool { return s.count() >= 1000 })
			stop()
			for i := range want {
				want[i].Protocol, want[i].Exporter, want[i].Domain = flow.IPFIX, netip.MustParseAddr("127.0.0.1"), 9
			}
			s.mu.Lock()
			got := s.recs
			s.mu.Unlock()
			// UDP over loopback keeps the order; sort anyway, by the number in SrcPort.
			slices.SortFunc(got, func(a, b flow.Record) int { return int(a.SrcPort) - int(b.SrcPort) })
			if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("records (-sent +received):\n%s", diff)
			}
			cs := c.Stats()
			if len(cs.Exporters) != 1 {
				t.Fatalf("exporters %+v", cs.Exporters)
			}
			e := cs.Exporters[0]
			if e.Protocol != flow.IPFIX || e.Domain != 9 || e.Records != 1000 || e.LostRecords != 0 || e.Reordered != 0 ||
				e.Errors.Total() != 0 || e.Datagrams == 0 || e.TemplateMisses != 0 {
				t.Errorf("exporter stats %+v", e)
			}
			if stream := transport != "udp"; stream && (cs.Streams.Accepted != 1 || cs.Streams.Open != 0 || cs.Streams.Broken != 0) {
				t.Errorf("streams %+v", cs.Streams)
			}
			// A stream session's templates go with its connection.
			if ts := c.Templates().Stats(); transport != "udp" && ts.Templates != 0 {
				t.Errorf("%d templates left after the connection closed", ts.Templates)
			}
		})
	}
}

// ipfixMessages builds n messages of records each, in domain 4, each with its templates.
func ipfixMessages(n, records int) [][]byte {
	b := ipfix.Builder{Domain: 4, MaxSize: ipfix.MaxMessageLen, TemplateRefresh: 1} // each message stands alone
	recs := testRecords(n * records)
	var out [][]byte
	for i := range n {
		b.Start(nil, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		for j := range records {
			if err := b.AddFlow(&recs[i*records+j]); err != nil {
				panic(err)
			}
		}
		out = append(out, b.Finish())
	}
	return out
}

// TestIPFIXSequenceUDP sends messages 0, 1, 3, 2, 5 of a run of six with 10 records each:
// IPFIX numbers records, per transport session and domain.
func TestIPFIXSequenceUDP(t *testing.T) {
	c, s, addr, stop := start(t, Config{})
	m := ipfixMessages(6, 10)
	send(t, addr, m[0], m[1], m[3], m[2], m[5])
	waitFor(t, "50 records", func() bool { return s.count() == 50 })
	stop()
	e := c.Stats().Exporters[0]
	// After 1 comes 3: 2's ten records missing, until 2 comes late and takes them back;
	// after 3 comes 5: 4's ten records are lost.
	if e.Protocol != flow.IPFIX || e.Domain != 4 || e.LostRecords != 10 || e.Reordered != 1 || e.Datagrams != 5 || e.Records != 50 {
		t.Errorf("stats %+v", e)
	}
}

// dialStream opens a TCP connection to a collector and writes msgs.
func dialStream(t *testing.T, addr net.Addr, msgs ...[]byte) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	for _, m := range msgs {
		if _, err := conn.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	return conn
}

// closedByPeer waits until the collector closes conn.
func closedByPeer(t *testing.T, conn net.Conn) bool {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := io.Copy(io.Discard, conn)
	// EOF, or a reset when the collector closed with bytes unread: not a timeout.
	var ne net.Error
	return !errors.As(err, &ne) || !ne.Timeout()
}

// TestMalformedStream: a session that loses its framing is closed and counted; another
// session, open meanwhile, goes on.
func TestMalformedStream(t *testing.T) {
	c, s, addr, stop := start(t, Config{Listen: []string{"tcp://127.0.0.1:0"}})
	m := ipfixMessages(4, 5)
	good := dialStream(t, addr, m[0])
	// One write: the collector may close the session as soon as it reads the garbage, and
	// a later write of ours would then meet a reset.
	garbage := []byte{0, 9, 0, 40, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}
	bad := dialStream(t, addr, slices.Concat(m[1], garbage, m[2]))
	if !closedByPeer(t, bad) {
		t.Fatal("the malformed session was not closed")
	}
	waitFor(t, "10 records", func() bool { return s.count() == 10 })
	if _, err := good.Write(m[3]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "15 records", func() bool { return s.count() == 15 })
	short := dialStream(t, addr, m[0][:30]) // a stream that ends inside a message
	short.(*net.TCPConn).CloseWrite()
	if !closedByPeer(t, short) {
		t.Fatal("the truncated session was not closed")
	}
	waitFor(t, "two broken sessions", func() bool { return c.Stats().Streams.Broken == 2 })
	stop()
	st := c.Stats()
	if st.Errors.Version != 1 || st.Errors.Truncated != 1 || st.Streams.Accepted != 3 || st.Streams.Open != 0 || st.Records != 15 {
		t.Errorf("stats %+v", st)
	}
}

// TestStreamTemplateRedefined: a template redefined on a stream without a withdrawal
// resets the session (RFC 7011 section 8.1).
func TestStreamTemplateRedefined(t *testing.T) {
	c, _, addr, stop := start(t, Config{Listen: []string{"tcp://127.0.0.1:0"}})
	m := ipfixMessages(1, 1)[0]
	redefined := append([]byte(nil), m...)
	// The first set is template 256's: make its first field two bytes shorter, and the
	// data set (which follows it) unusable, which is no matter: the session ends first.
	redef := ipfixTemplateWithFirstLength(t, redefined, 2)
	conn := dialStream(t, addr, m, redef)
	if !closedByPeer(t, conn) {
		t.Fatal("the session was not reset")
	}
	stop()
	if st := c.Stats(); st.Streams.Broken != 1 || st.Errors.Template != 1 {
		t.Errorf("stats %+v", st)
	}
}

// ipfixTemplateWithFirstLength returns a message with only the first (template) set of
// m, its first field's length set to l.
func ipfixTemplateWithFirstLength(t *testing.T, m []byte, l uint16) []byte {
	t.Helper()
	if m[16] != 0 || m[17] != ipfix.TemplateSetID {
		t.Fatalf("first set %d is not a template set", int(m[16])<<8|int(m[17]))
	}
	setLen := int(m[18])<<8 | int(m[19])
	out := append([]byte(nil), m[:16+setLen]...)
	out[2], out[3] = byte(len(out)>>8), byte(len(out))
	// set header (4), template ID and count (4), then the first field: ID, length.
	out[16+10], out[16+11] = byte(l>>8), byte(l)
	return out
}

// TestStreamLimits: connections beyond MaxConnections are closed at once, and a session
// that sends nothing for IdleTimeout is closed.
func TestStreamLimits(t *testing.T) {
	c, _, addr, stop := start(t, Config{Listen: []string{"tcp://127.0.0.1:0"}, MaxConnections: 1, IdleTimeout: 300 * time.Millisecond})
	first := dialStream(t, addr)
	waitFor(t, "the first connection", func() bool { return c.Stats().Streams.Open == 1 })
	second := dialStream(t, addr)
	if !closedByPeer(t, second) {
		t.Fatal("the connection over the limit was not closed")
	}
	if !closedByPeer(t, first) {
		t.Fatal("the idle connection was not closed")
	}
	waitFor(t, "the idle close counted", func() bool { return c.Stats().Streams.Idle == 1 })
	stop()
	if st := c.Stats().Streams; st.Refused != 1 || st.Accepted != 1 || st.Open != 0 {
		t.Errorf("streams %+v", st)
	}
}

// TestStreamDrainOnShutdown: messages a stream exporter wrote before the collector was
// stopped are decoded, though this exporter never closes its side.
func TestStreamDrainOnShutdown(t *testing.T) {
	_, s, addr, stop := start(t, Config{Listen: []string{"tcp://127.0.0.1:0"}, DrainTimeout: 300 * time.Millisecond})
	m := ipfixMessages(200, 20)
	var all []byte
	for _, x := range m {
		all = append(all, x...)
	}
	dialStream(t, addr, all)
	stop()
	if got := s.count(); got != 4000 {
		t.Errorf("%d records decoded of 4000 sent before shutdown", got)
	}
}

// TestCollectorRestartTCP is the fault test: the collector is stopped and started again on
// the same port while an exporter sends over TCP. The exporter notices, holds its messages
// in its send buffer, reconnects with backoff, greets the new collector with its templates
// and resends; every record sent arrives, once.
func TestCollectorRestartTCP(t *testing.T) {
	var mu sync.Mutex
	got := map[uint16]int{}
	handler := func(recs []flow.Record) {
		mu.Lock()
		defer mu.Unlock()
		for i := range recs {
			got[recs[i].SrcPort]++
		}
	}
	received := func() int { mu.Lock(); defer mu.Unlock(); return len(got) }
	// A short drain: an exporter that did not stop writing when told would lose records.
	c1, _, addr, stop1 := start(t, Config{Listen: []string{"tcp://127.0.0.1:0"}, Handler: handler, DrainTimeout: 100 * time.Millisecond})

	e, err := exporter.New(exporter.Config{Protocol: flow.IPFIX, Domain: 9, Logger: slog.New(slog.DiscardHandler),
		Destinations: []exporter.Destination{{Address: addr.String(), Transport: "tcp"}}})
	if err != nil {
		t.Fatal(err)
	}
	recs := testRecords(6000)
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for i := range recs {
			e.Record(&recs[i])
			if i%20 == 19 { // 300 messages over a second or so
				e.Flush()
				time.Sleep(3 * time.Millisecond)
			}
		}
	}()
	waitFor(t, "records at the first collector", func() bool { return received() > 500 })
	stop1()
	// Down for a while: the exporter's messages wait in its send buffer.
	time.Sleep(300 * time.Millisecond)
	c2, _, _, stop2 := start(t, Config{Listen: []string{"tcp://" + addr.String()}, Handler: handler})
	if received() == len(recs) {
		t.Fatal("every record arrived before the second collector started: the test tests nothing")
	}
	<-sent
	e.Close()
	st := e.Stats()
	waitFor(t, "every record", func() bool { return received() == len(recs) })
	stop2()
	mu.Lock()
	defer mu.Unlock()
	for port, n := range got {
		if n != 1 {
			t.Errorf("record %d received %d times", port, n)
		}
	}
	d := st.Destinations[0]
	if st.Records != uint64(len(recs)) || d.Dropped != 0 || d.Reconnects == 0 {
		t.Errorf("exporter %+v", st)
	}
	s1, s2 := c1.Stats(), c2.Stats()
	if s1.Records+s2.Records != uint64(len(recs)) || s2.Streams.Accepted == 0 || s1.Errors.Total()+s2.Errors.Total() != 0 {
		t.Errorf("collectors: %d + %d records, %+v %+v", s1.Records, s2.Records, s1.Errors, s2.Errors)
	}
	t.Logf("%d records at the first collector, %d at the second; exporter %+v", s1.Records, s2.Records, d)
}

// TestStreamParseListen checks the schemes and the TLS requirement.
func TestStreamConfig(t *testing.T) {
	h := func([]flow.Record) {}
	if _, err := New(Config{Listen: []string{"tls://127.0.0.1:0"}, Handler: h}); err == nil {
		t.Error("tls:// without a TLS config accepted")
	}
	c, err := New(Config{Listen: []string{"udp://127.0.0.1:0", "tcp://127.0.0.1:0"}, Handler: h, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	a := c.Addrs()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c.Serve(ctx)
	if len(a) != 2 || a[0].Network() != "udp" || a[1].Network() != "tcp" {
		t.Errorf("addresses %v", a)
	}
}

// TestIPFIXBiflows: an RFC 5103 biflow reaches the handler as its forward record, then its
// reverse one when the reverse direction counted anything; the sequence number counts
// the biflows.
func TestIPFIXBiflows(t *testing.T) {
	c, err := New(Config{Listen: []string{"udp://127.0.0.1:0"}, Handler: func([]flow.Record) {}})
	if err != nil {
		t.Fatal(err)
	}
	d := newDecoder(c.templates, c.seqs)
	fwd := testRecords(2)
	back := func(r flow.Record, bytes, packets uint64) flow.Record {
		r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort = r.DstAddr, r.SrcAddr, r.DstPort, r.SrcPort
		r.InIf, r.OutIf, r.Bytes, r.Packets = r.OutIf, r.InIf, bytes, packets
		return r
	}
	revs := []flow.Record{back(fwd[0], 4000, 7), back(fwd[1], 0, 0)}
	b := ipfix.Builder{Domain: 4}
	b.Start(nil, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	for i := range fwd {
		if err := b.AddBiflow(&fwd[i], &revs[i]); err != nil {
			t.Fatal(err)
		}
	}
	res := d.decode(b.Finish(), netip.MustParseAddrPort("127.0.0.1:40000"), 0)
	if res.err != nil || len(res.recs) != 3 {
		t.Fatalf("%v, %d records: %+v", res.err, len(res.recs), res.recs)
	}
	got := res.recs
	if got[0].SrcPort != fwd[0].SrcPort || got[0].Bytes != fwd[0].Bytes ||
		got[1].SrcPort != fwd[0].DstPort || got[1].DstAddr != fwd[0].SrcAddr || got[1].Bytes != 4000 || got[1].Packets != 7 ||
		got[2].SrcPort != fwd[1].SrcPort || got[2].Bytes != fwd[1].Bytes {
		t.Errorf("records %+v", got)
	}
	if s, ok := d.ipfx.Sequence(); !ok || s.Records != 2 {
		t.Errorf("sequence %+v", s)
	}
}

// BenchmarkDecodeIPFIX decodes a message of 20 records, as a UDP socket's goroutine does
// (the template learnt once, the sequence figures looked up per message).
func BenchmarkDecodeIPFIX(b *testing.B) {
	c, err := New(Config{Listen: []string{"udp://127.0.0.1:0"}, Handler: func([]flow.Record) {}})
	if err != nil {
		b.Fatal(err)
	}
	d := newDecoder(c.templates, c.seqs)
	bl := ipfix.Builder{Domain: 1, MaxSize: ipfix.MaxMessageLen, TemplateRefresh: 1 << 30}
	recs := testRecords(20)
	for i := range recs {
		recs[i].SrcAddr, recs[i].DstAddr = netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), netip.MustParseAddr("192.0.2.1")
		recs[i].NextHop, recs[i].BGPNextHop = netip.MustParseAddr("10.255.0.1"), netip.MustParseAddr("10.255.0.2")
	}
	var msgs [2][]byte
	for i := range msgs {
		bl.Start(nil, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
		for j := range recs {
			bl.AddFlow(&recs[j])
		}
		msgs[i] = bl.Finish()
	}
	from := netip.MustParseAddrPort("127.0.0.1:40000")
	d.decode(msgs[0], from, 0) // the template
	msg := msgs[1]
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		// The same sequence number each time: counted as reordered, which costs the same.
		if res := d.decode(msg, from, 0); len(res.recs) != 20 {
			b.Fatalf("%d records", len(res.recs))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*20), "ns/record")
}
