// Package corpus finds the captured flow exports that tests, fuzz seeds and benchmarks
// read: the permissively licensed ones shipped in testdata/corpus, and the copyleft ones that
// only exist in a shared checkout next to this repository (../shared/corpus) or wherever the
// FLOW_CORPUS environment variable points.
//
// File names are given relative to the corpus root, as in the corpus INDEX:
// "logstash-codec-netflow/netflow5.dat", "akvorado/netflow/nfv5.pcap".
package corpus

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/flowkit/flow/internal/capture"
)

var (
	rootOnce sync.Once
	root     string
)

// Root returns the repository root: the nearest directory at or above the working
// directory that holds testdata/corpus/NOTICE.
func Root() string {
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		if err != nil {
			return
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "testdata", "corpus", "NOTICE")); err == nil {
				root = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return
			}
			dir = parent
		}
	})
	return root
}

// Shipped is the directory of the captures this repository ships.
func Shipped() string { return filepath.Join(Root(), "testdata", "corpus") }

// Shared is the directory of the full shared corpus, or "" when there is none.
func Shared() string {
	if d := os.Getenv("FLOW_CORPUS"); d != "" {
		return d
	}
	if Root() == "" {
		return ""
	}
	d := filepath.Join(Root(), "..", "shared", "corpus")
	if fi, err := os.Stat(d); err == nil && fi.IsDir() {
		return d
	}
	return ""
}

// Path returns where the named file is: the shipped copy if there is one, else the shared
// one. ok is false when neither exists.
func Path(name string) (path string, ok bool) {
	for _, dir := range []string{Shipped(), Shared()} {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
	}
	return "", false
}

// File returns the path of a corpus file. A shipped file that is missing fails the test;
// a file that only the shared corpus has skips it, saying so.
func File(tb testing.TB, name string) string {
	tb.Helper()
	if p, ok := Path(name); ok {
		return p
	}
	if _, err := os.Stat(filepath.Join(Shipped(), filepath.FromSlash(filepath.Dir(name)))); err == nil {
		tb.Fatalf("corpus file %s is missing from testdata/corpus", name)
	}
	tb.Skipf("corpus file %s not found: it is only in the shared corpus (../shared/corpus or $FLOW_CORPUS), which is not present", name)
	return ""
}

// Datagrams returns the flow-export datagrams of a corpus file: the UDP payloads of a
// pcap or pcapng, or the whole content of a raw datagram file (which may hold several
// datagrams back to back; splitting them is the protocol's business).
func Datagrams(tb testing.TB, name string) [][]byte {
	tb.Helper()
	path := File(tb, name)
	if strings.HasSuffix(name, ".pcap") || strings.HasSuffix(name, ".pcapng") {
		ds, err := capture.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
		}
		out := make([][]byte, len(ds))
		for i, d := range ds {
			out[i] = d.Payload
		}
		return out
	}
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return [][]byte{b}
}

// Glob lists corpus files matching a pattern relative to the corpus root, from the
// shipped and the shared corpus, without duplicates.
func Glob(pattern string) []string {
	seen := map[string]bool{}
	var out []string
	for _, dir := range []string{Shipped(), Shared()} {
		if dir == "" {
			continue
		}
		matches, _ := filepath.Glob(filepath.Join(dir, filepath.FromSlash(pattern)))
		for _, m := range matches {
			rel, err := filepath.Rel(dir, m)
			if err != nil {
				continue
			}
			rel = filepath.ToSlash(rel)
			if !seen[rel] {
				seen[rel] = true
				out = append(out, rel)
			}
		}
	}
	return out
}
