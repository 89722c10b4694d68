// Command genseeds writes the committed seed corpora of the fuzz targets, in the
// "go test fuzz v1" format, so that `go test -fuzz` starts from real captures and from the
// inputs that broke other decoders even where ../shared/corpus is absent (a CI checkout).
//
// It runs from `go generate ./fuzz` and reads the corpus at $FLOW_CORPUS, else
// ../shared/corpus next to the repository, else the repository's testdata/corpus. Only the
// permissively licensed directories are read (see permissive): the seeds are committed,
// and copyleft captures must not be.
//
// Each target's directory gets files named corpus-* (datagrams of the captures) and
// edge-* (hand-made cases named after the bug they recall). Files with other names, such as
// findings the fuzzer wrote, are left alone; corpus-* and edge-* files are rewritten on each
// run, so the output is a function of the corpus.
//
// To add a protocol (IPFIX): give split a way to cut concatenated messages, add its edge
// cases to edges, and add its targets to targets with their protocols. Nothing else here
// is protocol-specific.
package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/capture"
	"github.com/flowkit/flow/internal/corpus"
	"github.com/flowkit/flow/sflow"
)

// permissive lists the corpus directories whose licences allow committing their bytes,
// with the licence. akvorado (AGPL-3.0) and pmacct (GPL-2.0) are left out on purpose.
var permissive = map[string]string{
	"logstash-codec-netflow": "Apache-2.0",
	"telegraf":               "MIT",
	"goflow2":                "BSD-3-Clause",
	"gopacket":               "BSD-3-Clause",
	"tcpdump":                "BSD-3-Clause",
	"cistern-sflow":          "BSD-3-Clause",
}

// Bounds keep the committed corpora small: the fuzzer needs variety, not volume.
const (
	maxPerTarget   = 150
	maxTargetBytes = 160 << 10 // encoded bytes per target
	maxTotalBytes  = 2 << 20
)

// datagram is one flow-export datagram from the corpus, or a hand-made one.
type datagram struct {
	name   string // where it came from, for the seed's file name
	family string // datagrams that belong together: templates and their data
	proto  flow.Protocol
	data   []byte
}

// entry is one seed file: the fuzz function's arguments after *testing.T.
type entry struct {
	name string
	args []any
}

// target says where a fuzz target's seeds go and how its inputs are made.
type target struct {
	dir  string // relative to the repository root
	make func(corpus, edge []datagram) []entry
}

// sep joins several datagrams into one input, for the targets that carry state from one
// datagram to the next; they cut their input at it.
var sep = []byte{0xfe, 0xfe}

var targets = []target{
	{"fuzz/testdata/fuzz/FuzzNetFlow5", single(flow.NetFlow5)},
	{"fuzz/testdata/fuzz/FuzzNetFlow5RoundTrip", single(flow.NetFlow5)},
	{"fuzz/testdata/fuzz/FuzzNetFlow9", single(flow.NetFlow9)},
	{"fuzz/testdata/fuzz/FuzzNetFlow9RoundTrip", single(flow.NetFlow9)},
	{"fuzz/testdata/fuzz/FuzzTemplateCache", sequences(flow.NetFlow9)},
	{"fuzz/testdata/fuzz/FuzzSFlow", single(flow.SFlow)},
	{"fuzz/testdata/fuzz/FuzzSFlowRoundTrip", single(flow.SFlow)},
	{"fuzz/testdata/fuzz/FuzzIPFIX", single(flow.IPFIX)},
	{"fuzz/testdata/fuzz/FuzzIPFIXRoundTrip", single(flow.IPFIX)},
	{"fuzz/testdata/fuzz/FuzzIPFIXStream", streams(flow.IPFIX)},
	{"fuzz/testdata/fuzz/FuzzPacket", packets},
	{"fuzz/testdata/fuzz/FuzzFlowCache", flowCache},
	{"collector/testdata/fuzz/FuzzCollectorDecode", sequences(flow.NetFlow5, flow.NetFlow9, flow.IPFIX, flow.SFlow, flow.Unknown)},
	{"benchmarks/testdata/fuzz/FuzzDiffNetFlow5", single(flow.NetFlow5)},
	{"benchmarks/testdata/fuzz/FuzzDiffNetFlow9", sequences(flow.NetFlow9)},
	{"benchmarks/testdata/fuzz/FuzzDiffSFlow", single(flow.SFlow)},
	{"benchmarks/testdata/fuzz/FuzzDiffIPFIX", sequences(flow.IPFIX)},
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("genseeds: ")
	dry := flag.Bool("n", false, "report what would be written, write nothing")
	flag.Parse()
	root := corpus.Root()
	if root == "" {
		log.Fatal("not inside the repository (no testdata/corpus/NOTICE above the working directory)")
	}
	src := corpus.Shared()
	if src == "" {
		src = corpus.Shipped()
	}
	all, err := readCorpus(src)
	if err != nil {
		log.Fatal(err)
	}
	edge := edges()
	total := 0
	for _, t := range targets {
		es := dedupe(t.make(all, edge))
		files, size := encode(es)
		total += size
		log.Printf("%-45s %3d seeds %7d bytes", t.dir, len(files), size)
		if !*dry {
			if err := write(filepath.Join(root, filepath.FromSlash(t.dir)), files); err != nil {
				log.Fatal(err)
			}
		}
	}
	log.Printf("%d bytes in all, from %s", total, src)
	if total > maxTotalBytes {
		log.Fatalf("the seeds take %d bytes, more than %d: lower the per-target caps", total, maxTotalBytes)
	}
}

// readCorpus returns the datagrams of every capture in the permissive directories, in a
// stable order.
func readCorpus(dir string) ([]datagram, error) {
	var out []datagram
	for _, sub := range slices.Sorted(func(yield func(string) bool) {
		for k := range permissive {
			if !yield(k) {
				return
			}
		}
	}) {
		err := filepath.WalkDir(filepath.Join(dir, sub), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			ext := filepath.Ext(path)
			if d.IsDir() || !slices.Contains([]string{".dat", ".bin", ".dump", ".pcap", ".pcapng"}, ext) {
				return nil
			}
			rel, _ := filepath.Rel(dir, path)
			rel = filepath.ToSlash(rel)
			var payloads [][]byte
			if ext == ".pcap" || ext == ".pcapng" {
				ds, err := capture.ReadFile(path)
				if err != nil {
					return fmt.Errorf("%s: %w", rel, err)
				}
				for _, d := range ds {
					payloads = append(payloads, d.Payload)
				}
			} else {
				b, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				payloads = split(b)
			}
			for i, p := range payloads {
				name := strings.TrimSuffix(rel, ext)
				if len(payloads) > 1 {
					name += fmt.Sprintf("-%d", i)
				}
				out = append(out, datagram{name: name, family: family(rel), proto: flow.Detect(p), data: p})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// split cuts a raw file into the datagrams written back to back in it, where the protocol
// says how long one is (NetFlow v5 by its count, IPFIX by its length); otherwise, or when
// the lengths do not add up, the file is one datagram.
func split(b []byte) [][]byte {
	var out [][]byte
	for rest := b; len(rest) > 0; {
		n := 0
		if len(rest) >= 4 {
			switch flow.Detect(rest) {
			case flow.NetFlow5:
				n = 24 + 48*(int(rest[2])<<8|int(rest[3]))
			case flow.IPFIX:
				n = int(rest[2])<<8 | int(rest[3])
			}
		}
		if n < 4 || n > len(rest) {
			if len(out) == 0 {
				return [][]byte{b}
			}
			return append(out, rest)
		}
		out = append(out, rest[:n])
		rest = rest[n:]
	}
	return out
}

// familyRE strips what tells a template file from its data file apart in the logstash
// and goflow2 names (…_tpl260.dat, …_data256.dat, …_template.dat).
var familyRE = regexp.MustCompile(`_(tpl|opttpl|tplopt|data|template)[^/]*$`)

// family names the datagrams that belong together: those of one capture, those of one
// telegraf case, and the logstash and goflow2 template and data files of one exporter.
func family(rel string) string {
	if strings.HasPrefix(rel, "telegraf/") {
		return filepath.ToSlash(filepath.Dir(rel))
	}
	return familyRE.ReplaceAllString(strings.TrimSuffix(rel, filepath.Ext(rel)), "")
}

// single makes one seed per datagram of the protocols.
func single(protos ...flow.Protocol) func(corpus, edge []datagram) []entry {
	return func(corpus, edge []datagram) []entry {
		var out []entry
		for _, d := range slices.Concat(edge, corpus) {
			if slices.Contains(protos, d.proto) {
				out = append(out, entry{name: prefix(d) + d.name, args: []any{d.data}})
			}
		}
		return out
	}
}

// streams makes, for each family of datagrams of the protocols, one seed of all of them
// back to back, templates first, as a TCP connection or an RFC 5655 file carries them; and
// one seed per edge case.
func streams(protos ...flow.Protocol) func(corpus, edge []datagram) []entry {
	return joined(nil, protos)
}

// sequences makes, for each family of datagrams of the protocols, one seed of all of
// them joined by sep, templates first; and one seed per edge case. Targets that carry
// templates from one datagram to the next read these.
func sequences(protos ...flow.Protocol) func(corpus, edge []datagram) []entry {
	return joined(sep, protos)
}

// joined makes the seeds of sequences and streams, the datagrams of a family joined by by.
func joined(by []byte, protos []flow.Protocol) func(corpus, edge []datagram) []entry {
	return func(corpus, edge []datagram) []entry {
		var out []entry
		for _, d := range edge {
			if slices.Contains(protos, d.proto) {
				out = append(out, entry{name: prefix(d) + d.name, args: []any{d.data}})
			}
		}
		var order []string
		fams := map[string][]datagram{}
		for _, d := range corpus {
			if !slices.Contains(protos, d.proto) {
				continue
			}
			if _, ok := fams[d.family]; !ok {
				order = append(order, d.family)
			}
			fams[d.family] = append(fams[d.family], d)
		}
		for _, f := range order {
			ds := fams[f]
			// Templates before data, as an exporter sends them; stable otherwise.
			slices.SortStableFunc(ds, func(a, b datagram) int {
				return boolInt(!hasTemplates(a)) - boolInt(!hasTemplates(b))
			})
			var parts [][]byte
			size := 0
			for _, d := range ds {
				if size+len(d.data) > 4096 && len(parts) > 0 {
					break // enough to carry templates to data; longer inputs slow the fuzzer
				}
				parts = append(parts, d.data)
				size += len(d.data)
			}
			out = append(out, entry{name: "corpus-" + f, args: []any{bytes.Join(parts, by)}})
		}
		return out
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// hasTemplates reports whether a NetFlow v9 or IPFIX datagram carries a template set.
func hasTemplates(d datagram) bool {
	var at, set int
	switch d.proto {
	case flow.NetFlow9:
		at, set = 20, 1 // sets 0 and 1
	case flow.IPFIX:
		at, set = 16, 3 // sets 2 and 3
	default:
		return false
	}
	for at+4 <= len(d.data) {
		id, n := int(d.data[at])<<8|int(d.data[at+1]), int(d.data[at+2])<<8|int(d.data[at+3])
		if id <= set {
			return true
		}
		if n < 4 {
			return false
		}
		at += n
	}
	return false
}

// packets makes the seeds of FuzzPacket: every sampled header of the sFlow datagrams,
// with the layer it starts at, and the hand-made headers.
func packets(corpus, edge []datagram) []entry {
	var out []entry
	for _, d := range edgePackets() {
		out = append(out, entry{name: "edge-" + d.name, args: []any{d.data, d.layer}})
	}
	for _, d := range corpus {
		if d.proto != flow.SFlow {
			continue
		}
		var p sflow.Parser
		if _, err := p.Start(d.data); err != nil {
			continue
		}
		for i := 0; p.Next(); i++ {
			for rs := p.Sample().Records(); rs.Next(); {
				r := rs.Record()
				if r.Counters || r.Format != sflow.FlowSampledHeader {
					continue
				}
				if h, err := r.SampledHeader(); err == nil {
					if l, ok := h.Layer(); ok {
						out = append(out, entry{name: fmt.Sprintf("corpus-%s-%d", d.name, i), args: []any{bytes.Clone(h.Header), uint8(l)}})
					}
				}
			}
		}
	}
	return out
}

func prefix(d datagram) string {
	if d.family == "edge" {
		return "edge-"
	}
	return "corpus-"
}

// dedupe drops entries whose arguments repeat an earlier entry's, and caps the count.
func dedupe(es []entry) []entry {
	seen := map[string]bool{}
	var out []entry
	for _, e := range es {
		k := string(marshal(e.args))
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, e)
	}
	return out
}

type file struct {
	name string
	data []byte
}

// encode turns entries into seed files within the target's caps. Edge cases come first in
// every list, so that caps drop captures, never the hand-made cases.
func encode(es []entry) ([]file, int) {
	var out []file
	size := 0
	used := map[string]bool{}
	for _, e := range es {
		b := marshal(e.args)
		if len(out) >= maxPerTarget || size+len(b) > maxTargetBytes {
			if strings.HasPrefix(e.name, "edge-") {
				log.Fatalf("edge case %s does not fit the caps", e.name)
			}
			continue
		}
		sum := sha256.Sum256(b)
		name := sanitize(e.name)
		if used[name] {
			name += "-" + hex.EncodeToString(sum[:4])
		}
		used[name] = true
		out = append(out, file{name, b})
		size += len(b)
	}
	return out, size
}

var unsafeRE = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func sanitize(s string) string { return unsafeRE.ReplaceAllString(s, "_") }

// marshal writes a seed file as go test reads it (the "go test fuzz v1" encoding).
func marshal(args []any) []byte {
	b := []byte("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			b = fmt.Appendf(b, "[]byte(%q)\n", v)
		case uint8:
			b = fmt.Appendf(b, "byte(%q)\n", v)
		default:
			panic(fmt.Sprintf("genseeds: no encoding for %T", a))
		}
	}
	return b
}

// write replaces the generated files of dir with files, leaving others (findings) alone.
func write(dir string, files []file) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range old {
		if n := e.Name(); strings.HasPrefix(n, "corpus-") || strings.HasPrefix(n, "edge-") {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				return err
			}
		}
	}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
