package capture

import (
	"bytes"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

func TestWriteThenRead(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	in := []Datagram{
		{Time: time.Unix(1700000000, 123456789), Src: netip.MustParseAddrPort("192.0.2.1:40000"),
			Dst: netip.MustParseAddrPort("127.0.0.1:2055"), Payload: []byte("first")},
		{Time: time.Unix(1700000001, 0), Src: netip.MustParseAddrPort("192.0.2.2:40001"),
			Dst: netip.MustParseAddrPort("127.0.0.1:4739"), Payload: bytes.Repeat([]byte{7}, 1400)},
	}
	for _, d := range in {
		if err := w.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(Datagram{Src: netip.MustParseAddrPort("[::1]:1"), Dst: netip.MustParseAddrPort("[::1]:2")}); err == nil {
		t.Error("IPv6 datagram accepted")
	}
	r, err := NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range in {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		if !got.Time.Equal(want.Time) || got.Src != want.Src || got.Dst != want.Dst || !bytes.Equal(got.Payload, want.Payload) {
			t.Errorf("datagram %d: got %v %v→%v %q", i, got.Time, got.Src, got.Dst, got.Payload[:min(8, len(got.Payload))])
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Errorf("after the last datagram: %v", err)
	}
}

func TestIPv4HeaderChecksum(t *testing.T) {
	// The example header of RFC 1071's companion, as printed in many references:
	// 4500 0073 0000 4000 4011 [b861] c0a8 0001 c0a8 00c7.
	h := []byte{0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0, 0xc7}
	if got := ipChecksum(h); got != 0xb861 {
		t.Errorf("checksum %#x, want 0xb861", got)
	}
}

func TestUDPFraming(t *testing.T) {
	udp := []byte{0x9c, 0x40, 0x08, 0x07, 0, 11, 0, 0, 'a', 'b', 'c'}
	ip4 := append([]byte{0x45, 0, 0, 31, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2}, udp...)
	ip6 := append([]byte{0x60, 0, 0, 0, 0, 11, 17, 64}, make([]byte, 32)...)
	ip6[23], ip6[39] = 1, 2
	ip6 = append(ip6, udp...)
	eth := func(etherType ...byte) []byte { return append(make([]byte, 12), etherType...) }
	tests := []struct {
		name  string
		frame []byte
		link  int
		src   string
	}{
		{"ethernet ipv4", append(eth(8, 0), ip4...), 1, "10.0.0.1:40000"},
		{"ethernet padding", append(append(eth(8, 0), ip4...), 0, 0, 0, 0), 1, "10.0.0.1:40000"},
		{"qinq ipv6", append(append(eth(0x88, 0xa8), 0, 1, 0x81, 0, 0, 2, 0x86, 0xdd), ip6...), 1, "[::1]:40000"},
		{"sll ipv4", append(append(make([]byte, 14), 8, 0), ip4...), 113, "10.0.0.1:40000"},
		{"raw ipv6", ip6, 101, "[::1]:40000"},
		{"bsd loopback", append([]byte{2, 0, 0, 0}, ip4...), 0, "10.0.0.1:40000"},
	}
	for _, tt := range tests {
		d, ok := UDP(tt.frame, linkType(tt.link))
		if !ok || d.Src.String() != tt.src || string(d.Payload) != "abc" || d.Dst.Port() != 2055 {
			t.Errorf("%s: ok=%v %v %q", tt.name, ok, d.Src, d.Payload)
		}
	}
	// Cut anywhere, a frame is refused, never over-read.
	full := append(eth(8, 0), ip4...)
	for n := 0; n < len(full); n++ {
		if d, ok := UDP(full[:n], 1); ok && len(d.Payload) == 3 {
			t.Errorf("frame cut at %d still yields the whole payload", n)
		}
	}
}

func linkType(n int) layers.LinkType { return layers.LinkType(n) }
