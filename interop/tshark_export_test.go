package interop

import "testing"

// TestTsharkReadsOurExports: tshark decodes every datagram the exporter sends, finds
// nothing malformed and no expert error, and reads the records this library's parsers
// read, one by one, adding up to the generated traffic.
func TestTsharkReadsOurExports(t *testing.T) {
	tshark := need(t, "tshark")[0]
	for _, tc := range ourExports {
		t.Run(tc.proto.String(), func(t *testing.T) {
			ex := exportTraffic(t, tc.proto, tc.ipv6)
			pcap := writePcap(t, t.TempDir(), "exports.pcap", tc.proto, ex.sent())
			tsharkClean(t, tshark, pcap, tc.proto, len(ex.datagrams))
			got := tsharkRecords(t, tshark, pcap, tc.proto)
			if s := sumOf(got); s != ex.want {
				t.Errorf("tshark reads %+v, want %+v", s, ex.want)
			}
			sameRecords(t, "tshark vs our parser", got, viewsOf(ex.ours(t)))
		})
	}
}
