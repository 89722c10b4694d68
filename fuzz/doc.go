// Package fuzz holds the native Go fuzz targets of every decoder in this module, seeded
// from the captures in testdata/corpus (and ../shared/corpus when present).
//
// Run one target:
//
//	go test ./fuzz -run '^$' -fuzz '^FuzzNetFlow5$' -fuzztime 1m
//
// Every target checks more than "no panic": a failed decode returns an error wrapping one
// of the flow package's sentinels, a successful one yields no more records than the bytes
// can hold, decoding allocates nothing beyond a small constant for the error, and the
// parser decodes a known-good datagram correctly right after any input.
package fuzz

// The committed seed corpora under testdata/fuzz (and those of the collector's and the
// benchmarks module's targets) are rebuilt from the captures and the hand-made edge cases
// by internal/genseeds (go generate ./fuzz).

//go:generate go run ./internal/genseeds
