package ipfix_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/flowtest"
	"github.com/flowkit/flow/ipfix"
	"github.com/google/go-cmp/cmp"
)

// streamMessages builds a greeting (several messages, for many caller templates) and data
// messages of several sizes.
func streamMessages(t *testing.T) [][]byte {
	t.Helper()
	now := time.Unix(1767225600, 0)
	recs := testRecords(300, flow.TimeOf(now))
	b := ipfix.Builder{Domain: 9, MaxSize: 9000, TemplateRefresh: 1 << 30}
	g := b.Templates(nil, now)
	msgs := [][]byte{g}
	msgs = append(msgs, build(t, &b, now, len(recs), func(i int) error { return b.AddFlow(&recs[i]) })...)
	b.MaxSize = 300
	msgs = append(msgs, build(t, &b, now, 10, func(i int) error { return b.AddFlow(&recs[i]) })...)
	return msgs
}

// TestStream: messages written back to back read back one by one, however the reads are
// cut.
func TestStream(t *testing.T) {
	msgs := streamMessages(t)
	var buf bytes.Buffer
	w := ipfix.NewWriter(&buf)
	for _, m := range msgs {
		if n, err := w.Write(m); err != nil || n != len(m) {
			t.Fatalf("Write: %d, %v", n, err)
		}
	}
	stream := buf.Bytes()
	for name, wrap := range map[string]func(io.Reader) io.Reader{
		"whole": func(r io.Reader) io.Reader { return r }, "one byte": iotest.OneByteReader,
		"half": iotest.HalfReader, "data+EOF": iotest.DataErrReader,
	} {
		t.Run(name, func(t *testing.T) {
			r := ipfix.NewReader(wrap(bytes.NewReader(stream)))
			var got [][]byte
			var offs []int64
			for {
				offs = append(offs, r.Offset())
				m, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, bytes.Clone(m))
			}
			if !cmp.Equal(got, msgs) {
				t.Errorf("read %d messages, wrote %d", len(got), len(msgs))
			}
			if offs[len(offs)-1] != int64(len(stream)) {
				t.Errorf("offset %d at the end of %d bytes", offs[len(offs)-1], len(stream))
			}
			if _, err := r.Next(); err != io.EOF {
				t.Errorf("after the end: %v", err)
			}
		})
	}
}

// TestReaderErrors: what a broken stream gives, and that it stays given.
func TestReaderErrors(t *testing.T) {
	good := streamMessages(t)[1]
	bad := func(f func(m []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for _, tc := range []struct {
		name   string
		stream []byte
		want   []error
	}{
		{"version", bad(func(m []byte) []byte { m[1] = 9; return m }), []error{flow.ErrVersion}},
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), []error{flow.ErrVersion}},
		{"length 15", bad(func(m []byte) []byte { m[2], m[3] = 0, 15; return m }), []error{flow.ErrMalformed}},
		{"length 0", bad(func(m []byte) []byte { m[2], m[3] = 0, 0; return m }), []error{flow.ErrMalformed}},
		{"cut header", good[:10], []error{flow.ErrTruncated, io.ErrUnexpectedEOF}},
		{"cut body", good[:len(good)-1], []error{flow.ErrTruncated, io.ErrUnexpectedEOF}},
		{"oversize length", bad(func(m []byte) []byte { m[2], m[3] = 0xff, 0xff; return m }), []error{flow.ErrTruncated, io.ErrUnexpectedEOF}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A good message first: the error is about the second, at its offset.
			r := ipfix.NewReader(iotest.OneByteReader(bytes.NewReader(append(bytes.Clone(good), tc.stream...))))
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
			_, err := r.Next()
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("error %v is not %v", err, w)
				}
			}
			var pe *flow.ParseError
			if !errors.As(err, &pe) || pe.Offset != len(good) {
				t.Errorf("error %v: not a ParseError at offset %d", err, len(good))
			}
			if _, again := r.Next(); again != err {
				t.Errorf("then %v", again)
			}
		})
	}
	r := ipfix.NewReader(iotest.ErrReader(io.ErrClosedPipe))
	if _, err := r.Next(); !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("read error: %v", err)
	}
	if _, err := ipfix.NewReader(bytes.NewReader(nil)).Next(); err != io.EOF {
		t.Errorf("empty stream: %v", err)
	}
}

// loop replays the same bytes forever.
type loop struct {
	b   []byte
	off int
}

func (l *loop) Read(p []byte) (int, error) {
	n := copy(p, l.b[l.off:])
	l.off = (l.off + n) % len(l.b)
	return n, nil
}

func TestReaderAllocs(t *testing.T) {
	var all []byte
	for _, m := range streamMessages(t) {
		all = append(all, m...)
	}
	r := ipfix.NewReader(&loop{b: all})
	for range 100 { // the buffer grows to the longest message
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if n := testing.AllocsPerRun(1000, func() { r.Next() }); n != 0 {
		t.Errorf("%v allocs per message", n)
	}
}

// TestWriterChecks: what is not whole messages is not written at all.
func TestWriterChecks(t *testing.T) {
	good := streamMessages(t)[1]
	for name, tc := range map[string]struct {
		p    []byte
		want error
	}{
		"short":        {good[:10], flow.ErrTruncated},
		"cut":          {good[:len(good)-1], flow.ErrTruncated},
		"second cut":   {append(bytes.Clone(good), good[:20]...), flow.ErrTruncated},
		"version":      {append([]byte{0, 9}, good[2:]...), flow.ErrVersion},
		"length":       {append([]byte{0, 10, 0, 3}, good[4:]...), flow.ErrMalformed},
		"set overruns": {append(bytes.Clone(good[:16]), 0, 2, 0, 8, 1, 0, 0, 9)[:24], flow.ErrMalformed},
	} {
		var buf bytes.Buffer
		w := ipfix.NewWriter(&buf)
		w.KeepTemplates = true
		if name == "set overruns" {
			tc.p[2], tc.p[3] = 0, 24
			tc.p[19] = 9 // a set of 9 bytes in 8
		}
		if n, err := w.Write(tc.p); !errors.Is(err, tc.want) || n != 0 || buf.Len() != 0 {
			t.Errorf("%s: %d, %v, %d bytes written", name, n, err, buf.Len())
		}
	}
}

// TestWriterKeepTemplates: an archive rotated between files keeps each file readable on
// its own, and a withdrawn template is not written again.
func TestWriterKeepTemplates(t *testing.T) {
	now := time.Unix(1767225600, 0)
	recs := testRecords(120, flow.TimeOf(now))
	b := ipfix.Builder{Domain: 4, TemplateRefresh: 1 << 30, SamplingInterval: 8}
	msgs := build(t, &b, now, len(recs), func(i int) error { return b.AddFlow(&recs[i]) })
	var files [3]bytes.Buffer
	w := ipfix.NewWriter(&files[0])
	w.KeepTemplates = true
	for i, m := range msgs {
		if i == 2 || i == 4 {
			w.Reset(&files[i/2])
		}
		if _, err := w.Write(m); err != nil {
			t.Fatal(err)
		}
	}
	for i := range files {
		d := flowtest.NewIPFIXDecoder(exporterAddr, true)
		r := ipfix.NewReader(&files[i])
		for {
			m, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Message(m); err != nil {
				t.Fatalf("file %d: %v", i, err)
			}
		}
		if len(d.Flows) == 0 || d.Flows[0].SamplingInterval != 8 && i == 0 {
			t.Errorf("file %d: %d records", i, len(d.Flows))
		}
		// The later files get the templates their data uses, in the order it does; not the
		// sampling options, which no data set of theirs refers to.
		if i > 0 && !cmp.Equal(d.Templates, []uint16{ipfix.TemplateIPv6, ipfix.TemplateIPv4}) {
			t.Errorf("file %d: templates %v", i, d.Templates)
		}
	}
	// Withdrawn: forgotten, so not written into the next file.
	b.Start(nil, now)
	b.WithdrawAll()
	w.Write(b.Finish())
	var next bytes.Buffer
	w.Reset(&next)
	b.Start(nil, now)
	b.AddFlow(&recs[0])
	m := b.Finish() // carries its templates again itself
	w.Write(m)
	if !bytes.Equal(next.Bytes(), m) {
		t.Errorf("after a withdrawal, the Writer added %d bytes", next.Len()-len(m))
	}
}
