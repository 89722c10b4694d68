// Package benchmarks measures this library against its peers on the same packets.
//
// It is a separate module so that importers of github.com/flowkit/flow never pull the
// peers (goflow2, go-ipfix) into their builds. Run, from this directory:
//
//	go test -run '^$' -bench . -benchmem
//
// The tests (go test ./...) check that both sides decode the benchmark packets to the same
// values, so that the timings compare the same work.
package benchmarks
