package trafficgen

import (
	"bytes"
	"testing"

	"github.com/flowkit/flow/internal/capture"
	"github.com/gopacket/gopacket/pcapgo"
)

func TestDeterministicAndCounted(t *testing.T) {
	cfg := Config{Seed: 7, Packets: 20000, Concurrent: 300, IPv6Share: 0.2, VLANShare: 0.1}
	var a, b bytes.Buffer
	ta, err := WritePcap(&a, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tb, _ := WritePcap(&b, cfg)
	if !bytes.Equal(a.Bytes(), b.Bytes()) || ta != tb {
		t.Fatal("the same config gave different captures")
	}
	if ta.Packets != 20000 || ta.Conversations < 300 {
		t.Errorf("totals %+v", ta)
	}

	// Read it back: every frame parses, the IP lengths add up, and the mix is there.
	r, err := pcapgo.NewReader(&a)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var ipBytes uint64
	protos := map[uint8]int{}
	var v6, tagged, syn, fin, rst int
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		n++
		if ci.Length < len(data) {
			t.Fatalf("frame %d: wire length %d < captured %d", n, ci.Length, len(data))
		}
		p := data[12:]
		if p[0] == 0x81 {
			tagged++
			p = p[4:]
		}
		et := uint16(p[0])<<8 | uint16(p[1])
		ip := p[2:]
		var proto uint8
		var l4 []byte
		switch et {
		case 0x0800:
			ipBytes += uint64(ip[2])<<8 | uint64(ip[3])
			proto, l4 = ip[9], ip[20:]
			if checksum(ip[:20]) != 0 {
				t.Fatalf("frame %d: bad IPv4 header checksum", n)
			}
		case 0x86dd:
			v6++
			ipBytes += 40 + (uint64(ip[4])<<8 | uint64(ip[5]))
			proto, l4 = ip[6], ip[40:]
		default:
			t.Fatalf("frame %d: ethertype %#x", n, et)
		}
		protos[proto]++
		if proto == 6 {
			switch {
			case l4[13]&0x04 != 0:
				rst++
			case l4[13]&0x01 != 0:
				fin++
			case l4[13]&0x02 != 0:
				syn++
			}
		}
	}
	if n != ta.Packets || ipBytes != ta.IPBytes {
		t.Errorf("read %d packets %d bytes, generator says %d %d", n, ipBytes, ta.Packets, ta.IPBytes)
	}
	if protos[6] < n/2 || protos[17] == 0 || protos[1] == 0 || protos[58] == 0 || v6 == 0 || tagged == 0 || syn == 0 || fin == 0 || rst == 0 {
		t.Errorf("mix: protocols %v, %d IPv6, %d tagged, %d SYN, %d FIN, %d RST", protos, v6, tagged, syn, fin, rst)
	}
}

func TestSnaplenAndUDPFraming(t *testing.T) {
	var buf bytes.Buffer
	tot, err := WritePcap(&buf, Config{Seed: 1, Packets: 5000, Concurrent: 50, Snaplen: 96})
	if err != nil {
		t.Fatal(err)
	}
	r, err := capture.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	// Cut frames hold no whole UDP payload, so the capture reader, which wants the whole
	// datagram, skips most of the long ones; the frames themselves are all there.
	udp := 0
	for {
		if _, err := r.Next(); err != nil {
			break
		}
		udp++
	}
	if udp+r.Skipped != tot.Packets {
		t.Errorf("%d UDP + %d other frames, want %d", udp, r.Skipped, tot.Packets)
	}
}
