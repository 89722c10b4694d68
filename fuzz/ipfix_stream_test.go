package fuzz

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"testing"
	"testing/iotest"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/corpus"
	"github.com/flowkit/flow/ipfix"
)

// ipfixStreamFiles are corpus IPFIX datagrams that become streams of messages back to back.
var ipfixStreamFiles = [][]string{
	{"logstash-codec-netflow/ipfix_test_openbsd_pflow_tpl.dat", "logstash-codec-netflow/ipfix_test_openbsd_pflow_data.dat"},
	{"logstash-codec-netflow/ipfix_test_yaf_tpls_option_tpl.dat", "logstash-codec-netflow/ipfix_test_yaf_tpl45841.dat",
		"logstash-codec-netflow/ipfix_test_yaf_data45841.dat"},
	{"logstash-codec-netflow/ipfix_test_viptela_tpl257.dat", "logstash-codec-netflow/ipfix_test_viptela_data257.dat"},
	{"telegraf/ipfix_example/ipfix_0.bin", "telegraf/ipfix_example/ipfix_1.bin", "telegraf/ipfix_example/ipfix_2.bin"},
}

// ipfixStreams returns the seed streams: the corpus files present, and what the Builder
// writes (a greeting, and messages of both families with sampling options).
func ipfixStreams(tb testing.TB) [][]byte {
	var out [][]byte
	for _, files := range ipfixStreamFiles {
		var s []byte
		for _, name := range files {
			if _, ok := corpus.Path(name); ok {
				for _, d := range datagramsOf(tb, name) {
					s = append(s, d...)
				}
			}
		}
		if len(s) > 0 {
			out = append(out, s)
		}
	}
	now := time.Unix(1767225600, 0)
	b := ipfix.Builder{Domain: 1, SamplingInterval: 4, MaxSize: 600}
	s := b.Templates(nil, now)
	for i := range 3 {
		b.Start(s, now)
		r := flow.Record{SrcAddr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), DstAddr: netip.MustParseAddr("10.9.9.9"),
			Packets: 1, Bytes: 64, Start: flow.TimeOf(now), End: flow.TimeOf(now)}
		b.AddFlow(&r)
		r.DstAddr = netip.MustParseAddr("2001:db8::1")
		b.AddBiflow(&r, &r)
		s = b.Finish()
	}
	return append(out, s, s[:len(s)-5])
}

func FuzzIPFIXStream(f *testing.F) {
	for _, s := range ipfixStreams(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkIPFIXStream(t, b) })
}

// TestIPFIXStreamAllocs measures the allocations of 5,000 mutated streams, which the fuzz
// target cannot do while fuzzing.
func TestIPFIXStreamAllocs(t *testing.T) {
	mutate(ipfixStreams(t), 5000, func(b []byte) { checkIPFIXStream(t, b) })
}

// readIPFIXStream reads every message of b, returning them concatenated, and the error
// that ended the stream.
func readIPFIXStream(r io.Reader, out []byte) ([]byte, int, error) {
	rd := ipfix.NewReader(r)
	n := 0
	for {
		m, err := rd.Next()
		if err != nil {
			return out, n, err
		}
		out = append(out, m...)
		n++
	}
}

// checkIPFIXStream reads b as a stream of messages, whole and one byte at a time, and
// checks what every input must give: the same messages both ways, each a valid header with
// its own length, together a prefix of b; an end that is io.EOF exactly at a message
// boundary, or an error wrapping a flow sentinel (and io.ErrUnexpectedEOF when the stream
// ended inside a message); allocation bounded by a constant, however large the lengths
// claim to be. The Writer accepts what the Reader read, and writes it unchanged.
func checkIPFIXStream(t *testing.T, b []byte) {
	t.Helper()
	got, n, err := readIPFIXStream(bytes.NewReader(b), nil)
	if !bytes.HasPrefix(b, got) || n > len(b)/ipfix.HeaderLen {
		t.Fatalf("%d messages, %d bytes: not a prefix of the %d-byte stream", n, len(got), len(b))
	}
	switch {
	case err == io.EOF:
		if len(got) != len(b) {
			t.Fatalf("io.EOF after %d of %d bytes", len(got), len(b))
		}
	case errors.Is(err, flow.ErrTruncated):
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("truncated without io.ErrUnexpectedEOF: %v", err)
		}
		checkSentinel(t, err)
	default:
		checkSentinel(t, err)
	}
	got1, n1, err1 := readIPFIXStream(iotest.OneByteReader(bytes.NewReader(b)), nil)
	if n1 != n || !bytes.Equal(got1, got) || err1.Error() != err.Error() {
		t.Fatalf("one byte at a time: %d messages, %v; whole: %d, %v", n1, err1, n, err)
	}
	// The bytes.Reader, the Reader, a buffer that doubles from 2 KiB to at most 64 KiB
	// (six allocations), and the error.
	buf := make([]byte, 0, len(b))
	checkAllocs(t, 8+errorAllocs, "reading a stream", func() { readIPFIXStream(bytes.NewReader(b), buf) })

	var out bytes.Buffer
	w := ipfix.NewWriter(&out)
	if k, err := w.Write(got); err != nil || k != len(got) || !bytes.Equal(out.Bytes(), got) {
		t.Fatalf("Writer: %d of %d bytes, %v", k, len(got), err)
	}
	// Keeping templates walks the sets, which may be broken: refused whole, or written.
	out.Reset()
	w = ipfix.NewWriter(&out)
	w.KeepTemplates = true
	if k, err := w.Write(got); err != nil {
		checkSentinel(t, err)
		if k != 0 || out.Len() != 0 {
			t.Fatalf("Writer refused the input with %v after writing %d bytes", err, out.Len())
		}
	} else if !bytes.Equal(out.Bytes(), got) {
		t.Fatalf("Writer keeping templates wrote %d bytes for %d", out.Len(), len(got))
	}
}
