package collector

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/corpus"
	"github.com/flowkit/flow/template"
)

// FuzzCollectorDecode feeds the collector's per-datagram path (protocol detection, the
// decoder of each protocol, the counters) a sequence of datagrams cut from the input at
// 0xfe 0xfe markers, from two exporters sharing one template cache, as a socket would
// hand them over. It checks that every failure is counted under a flow sentinel (none
// under Other), that the counters add up (totals, per exporter, records handed over),
// that records carry the protocol their datagram was detected as, that memory allocated
// stays within a bound tied to the datagram's size, and that good datagrams of every
// protocol still decode afterwards.
//
// Its seeds are committed in testdata/fuzz/FuzzCollectorDecode (go generate ./fuzz).
func FuzzCollectorDecode(f *testing.F) {
	for _, name := range []string{"goflow2/TestDecodeNetFlowV5_data.dat", "goflow2/TestSFlowDecode_data.dat"} {
		f.Add(corpus.Datagrams(f, name)[0])
	}
	tpl, data := corpus.Datagrams(f, "goflow2/TestDecodeNetFlowV9_template.dat")[0], corpus.Datagrams(f, "goflow2/TestDecodeNetFlowV9_data.dat")[0]
	f.Add(bytes.Join([][]byte{tpl, data}, fuzzSep))
	f.Add(bytes.Join(ipfixMessages(2, 3), fuzzSep))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkCollector(t, bytes.Split(b, fuzzSep))
	})
}

// fuzzSep cuts a fuzz input into datagrams.
var fuzzSep = []byte{0xfe, 0xfe}

// fuzzAllocBytes bounds what decoding one datagram may allocate: a constant (errors, the
// first templates) and a multiple of its size (records can be as short as a byte; a
// flow.Record and the template bookkeeping take a few hundred bytes each).
func fuzzAllocBytes(n int) uint64 { return 64<<10 + 1024*uint64(n) }

func checkCollector(t *testing.T, msgs [][]byte) {
	t.Helper()
	var handed uint64
	var want flow.Protocol
	c, err := New(Config{
		Listen: []string{"udp://127.0.0.1:0"},
		Handler: func(recs []flow.Record) {
			handed += uint64(len(recs))
			for i := range recs {
				if recs[i].Protocol != want {
					t.Fatalf("a %v record from a datagram detected as %v", recs[i].Protocol, want)
				}
			}
		},
		Templates: template.Config{MaxTemplates: 256, MaxTemplatesPerSession: 16, MaxFields: 64,
			HoldSets: 8, HoldBytes: 8192, MaxOptionsEntries: 32},
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	d := newDecoder(c.templates, c.seqs)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var bytesIn uint64
	for i, msg := range msgs {
		from := netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i%2)}), 2055)
		want = flow.Detect(msg)
		if fuzzing() {
			c.datagram(d, msg, from, now)
		} else {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			c.datagram(d, msg, from, now)
			runtime.ReadMemStats(&after)
			if a := after.TotalAlloc - before.TotalAlloc; a > fuzzAllocBytes(len(msg)) {
				t.Errorf("datagram %d (%d bytes) allocated %d bytes, more than %d", i, len(msg), a, fuzzAllocBytes(len(msg)))
			}
		}
		bytesIn += uint64(len(msg))
		now = now.Add(time.Millisecond)
	}
	if p := statsProblem(c.Stats(), uint64(len(msgs)), bytesIn, handed); p != "" {
		t.Fatal(p)
	}

	// Whatever came before, good datagrams of every protocol decode, from a third exporter.
	from := netip.MustParseAddrPort("198.51.100.9:2055")
	for _, good := range []struct {
		name string
		recs int
	}{
		{"goflow2/TestDecodeNetFlowV5_data.dat", 6},
		{"goflow2/TestDecodeNetFlowV9_template.dat", 0},
		{"goflow2/TestDecodeNetFlowV9_data.dat", 21},
		{"goflow2/TestSFlowDecode_data.dat", 1},
	} {
		msg := corpus.Datagrams(t, good.name)[0]
		res := d.decode(msg, from, flow.TimeOf(now))
		if res.err != nil || len(res.recs) != good.recs {
			t.Fatalf("%s after this input: %d records, %v", good.name, len(res.recs), res.err)
		}
	}
	if res := d.decode(ipfixMessages(1, 3)[0], from, flow.TimeOf(now)); res.err != nil || len(res.recs) != 3 {
		t.Fatalf("IPFIX after this input: %d records, %v", len(res.recs), res.err)
	}
}

// statsProblem says what is wrong with the collector's counters, "" if nothing: they must
// agree with what it was fed and what it handed over, and with each other.
func statsProblem(st Stats, datagrams, bytesIn, handed uint64) string {
	if st.Datagrams != datagrams || st.Bytes != bytesIn || st.Records != handed {
		return fmt.Sprintf("stats count %d datagrams, %d bytes, %d records; fed %d, %d, handed over %d",
			st.Datagrams, st.Bytes, st.Records, datagrams, bytesIn, handed)
	}
	if st.Errors.Other != 0 {
		return fmt.Sprintf("%d errors wrap no flow sentinel", st.Errors.Other)
	}
	if st.Errors.Total() > st.Datagrams {
		return fmt.Sprintf("%d errors from %d datagrams", st.Errors.Total(), st.Datagrams)
	}
	var sum ExporterStats
	for _, e := range st.Exporters {
		if e.Errors.Other != 0 || e.Errors.Total() > e.Datagrams {
			return fmt.Sprintf("exporter %v: %+v", e.Exporter, e)
		}
		sum.Datagrams += e.Datagrams
		sum.Records += e.Records
		sum.Errors.Truncated += e.Errors.Truncated
		sum.Errors.Version += e.Errors.Version
		sum.Errors.Malformed += e.Errors.Malformed
		sum.Errors.Limit += e.Errors.Limit
		sum.Errors.Template += e.Errors.Template
	}
	// Two exporters, a few protocols and domains each: fewer than MaxExporters, so every
	// datagram is counted against one.
	if sum.Datagrams != st.Datagrams || sum.Records != st.Records || sum.Errors != st.Errors {
		return fmt.Sprintf("exporters add up to %d datagrams, %d records, errors %+v; totals %d, %d, %+v",
			sum.Datagrams, sum.Records, sum.Errors, st.Datagrams, st.Records, st.Errors)
	}
	return ""
}

// fuzzing reports whether the test binary runs with -fuzz, rather than replaying seeds:
// reading memory statistics stops the world, which stalls a fuzzing worker.
func fuzzing() bool {
	f := flag.Lookup("test.fuzz")
	return f != nil && f.Value.String() != ""
}

// TestCollectorFuzzChecksFail makes sure the counter checks of FuzzCollectorDecode can
// fail: an error wrapping no sentinel, or a count that does not add up, is caught.
func TestCollectorFuzzChecksFail(t *testing.T) {
	c, err := New(Config{Listen: []string{"udp://127.0.0.1:0"}, Handler: func([]flow.Record) {}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if p := statsProblem(c.Stats(), 0, 0, 0); p != "" {
		t.Fatalf("a fresh collector: %s", p)
	}
	if p := statsProblem(c.Stats(), 1, 0, 0); p == "" {
		t.Error("a datagram fed but not counted passed the checks")
	}
	c.reg.errs.add(errors.New("no sentinel"))
	if p := statsProblem(c.Stats(), 0, 0, 0); p == "" {
		t.Error("an error wrapping no sentinel passed the checks")
	}
}
