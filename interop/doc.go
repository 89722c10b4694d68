// Package interop holds no code, only tests: this library against flow tools nobody here
// wrote, over loopback, on the same bytes. Traffic comes from internal/trafficgen (10,000
// packets, a fifth of the conversations over IPv6 where the protocol carries it, a tenth
// on VLANs), so every packet and IP byte is known.
//
// Our exports read by real decoders (exporter → tool):
//
//   - tshark decodes the NetFlow v5, NetFlow v9, IPFIX and sFlow the exporter produces,
//     written to a pcap: no malformed packet and no expert error, every datagram
//     dissected, and record by record the addresses, ports (ICMP type and code),
//     protocol, ToS, TCP flags, interfaces, VLAN, counters and times (NetFlow and IPFIX,
//     to the millisecond; sFlow carries none, but its sampling rate and frame length)
//     that this library's parsers read. The totals are the generated traffic: every
//     packet and IP byte (NetFlow, IPFIX), one sample per 20 packets with its frame
//     length (sFlow).
//   - nfcapd receives the NetFlow v5, v9 and IPFIX over UDP, and nfdump reads what it
//     stored: the same records as a multiset, fields as above, and the same totals.
//   - pmacct's nfacctd (NetFlow v5, v9, IPFIX) and sfacctd (sFlow) receive them and print
//     CSV, aggregated by 5-tuple and ToS: per key the same packets and bytes, and the
//     totals. pmacct keeps NetFlow times in whole seconds only, and no ICMP type in sFlow
//     ports: those are left out of the key.
//
// Real exporters into our collector (tool → collector):
//
//   - softflowd -r (NetFlow v5, v9, and IPFIX with -v 10) and pmacctd with the nfprobe
//     (v5, v9, IPFIX with nfprobe_version 10) and sfprobe (sFlow) plugins meter a
//     generated pcap and export it to the collector, which keeps every datagram
//     (Config.Raw) and record. Those datagrams, written to a pcap, are decoded by tshark:
//     the collector's records equal tshark's one by one, fields as above (softflowd's
//     IPFIX times are flowStartSysUpTime counted from the systemInitTimeMilliseconds of
//     its options record, which both sides resolve). softflowd's records add up to the
//     generated traffic exactly; pmacctd counts a few packets twice when it reads a file
//     (at most 1% more is accepted); sfprobe samples at random, so its sample count is
//     checked against its rate. Every datagram arrives over loopback, so the collector
//     must count no loss and no reordering from the sequence numbers either.
//   - softflowd -v 10 -P tcp exports IPFIX over TCP into the collector's tcp://
//     listener, one transport session: each message it framed is compared as above.
//
// Not covered here: IPFIX over TLS (none of these tools speaks it; the collector and the
// exporter test TLS against each other), and RFC 5103 biflows, which none of these
// exporters sends. goflow2 reads our exports in
// the benchmarks module (goflow2_interop_test.go), which keeps that dependency out of
// this module.
//
// What the tools showed, and what was done about it:
//
//   - The exporter counted sysUptime from its first message and wrote a message's time
//     when it opened: records read as started before boot, or ended after their message.
//     Tools count back from the header modulo 2^32 ms (RFC 3954), so those flows came out
//     49.7 days old (tshark, goflow2; pmacct logged "Overflow detected"). Fixed in the
//     exporter (boot before the first packet) and the Builders (header time moved to the
//     latest record).
//   - NetFlow v9 ICMP went only in L4_DST_PORT; nfdump reads ICMP_TYPE (32), as RFC 3954
//     has it, and showed type 0 code 0. The v9 Builder now fills both.
//   - sFlow agent address type 0 (UNKNOWN, which the exporter sends without a
//     destination) is valid XDR that tshark reads; our parser rejected it. Fixed.
//   - tshark shows a v9 FIRST_SWITCHED of 0 (a flow in the exporter's first millisecond)
//     as an absolute time, 1970-01-01; the tests read it as the uptime it is.
//   - softflowd 1.1.0's IPFIX sequence numbers do not count the data records it sends:
//     on 10,000 packets the collector counts a few records lost and some ten messages
//     reordered although every datagram arrived, and tshark reports "unexpected flow
//     sequence" on the same datagrams. Its other fields agree with tshark's.
//   - softflowd 1.1.0 given -c or -p after -r blocks for ever in accept() on its control
//     socket; pmacctd exits before its plugin has read the file unless pcap_savefile_wait
//     is set; pmacct drops what arrives before its plugin is up.
//
// Run them with the tools installed (Debian: apt-get install tshark softflowd nfdump
// pmacct, which .ci/run does):
//
//	go test ./interop
//
// A test whose tool is not on PATH skips, saying which; nothing else makes them skip.
// Daemons listen on 127.0.0.1 ports chosen at run time, write into the test's temporary
// directory, and are killed (their whole process group) when the test ends.
package interop
