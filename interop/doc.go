// Package interop holds no code, only tests: this library against flow tools nobody here
// wrote, over loopback, on the same bytes.
//
// Our exports read by real decoders (exporter → tool):
//
//   - tshark decodes the NetFlow v5, NetFlow v9 and sFlow datagrams that the exporter
//     produces from generated traffic, written to a pcap: no malformed packet, no expert
//     error, and record by record the same addresses, ports, protocol, ToS, TCP flags,
//     interfaces, counters and times (to the millisecond NetFlow has; sFlow samples carry
//     no time) as this library's own parsers read from the same datagrams. The totals
//     equal what was generated: every packet and every IP byte, in as many records as the
//     exporter says it sent.
//   - nfcapd receives the NetFlow v5 and v9 exports over UDP; nfdump reads its file: the
//     same records (5-tuple, counters, times in milliseconds) and totals.
//   - pmacct's nfacctd (NetFlow v5, v9) and sfacctd (sFlow) receive them and print CSV
//     through the print plugin, aggregated by a key wide enough to keep flows apart: the
//     sums per key and the totals equal ours.
//
// Real exporters into our collector (tool → collector):
//
//   - softflowd -r (NetFlow v5, v9) and pmacctd with the nfprobe (v5, v9) and sfprobe
//     (sFlow) plugins meter a generated pcap and export to the collector, which keeps
//     every datagram (Config.Raw) and every record. The datagrams, written to a pcap, are
//     decoded by tshark: the collector's records equal tshark's, one by one, and their
//     totals equal the traffic that was generated (what the tool keeps of it: v5 carries
//     no IPv6).
//
// IPFIX is not covered yet: neither the exporter nor the collector speaks it in this
// build. When they do, it is one entry in the ourExports and feeds tables (port 4739,
// softflowd -v 10, nfprobe_version 10).
//
// goflow2's decoders read our exports in the benchmarks module (goflow2_interop_test.go
// there), which keeps that dependency out of this module.
//
// Run them with the tools installed (Debian: apt-get install tshark softflowd nfdump
// pmacct; .ci/run does it):
//
//	go test ./interop
//
// A test whose tool is not on PATH skips, saying which; nothing else makes them skip.
// Daemons listen on 127.0.0.1 ports chosen at run time, write into the test's temporary
// directory, and are killed when the test ends.
package interop
