package capture

import (
	"encoding/binary"
	"errors"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Writer writes UDP datagrams to a pcap file, each framed as Ethernet, IPv4 and UDP, so
// that any capture tool (tshark, tcpdump, nfdump's nfreplay via tcpreplay) reads them as
// flow exports sent from Src to Dst.
type Writer struct {
	w     *pcapgo.Writer
	frame []byte
	id    uint16
}

// NewWriter writes the pcap file header to w.
func NewWriter(w io.Writer) (*Writer, error) {
	pw := pcapgo.NewWriterNanos(w)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	return &Writer{w: pw}, nil
}

// Write appends one datagram. Its addresses must be IPv4.
func (w *Writer) Write(d Datagram) error {
	src, dst := d.Src.Addr().Unmap(), d.Dst.Addr().Unmap()
	if !src.Is4() || !dst.Is4() {
		return errors.New("capture: Writer frames IPv4 datagrams only")
	}
	if len(d.Payload) > 65535-28 {
		return errors.New("capture: datagram too large for one IPv4 packet")
	}
	f := w.frame[:0]
	f = append(f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00) // Ethernet: zero MACs, IPv4
	ip := len(f)
	total := 20 + 8 + len(d.Payload)
	w.id++
	f = append(f, 0x45, 0)
	f = binary.BigEndian.AppendUint16(f, uint16(total))
	f = binary.BigEndian.AppendUint16(f, w.id)
	f = append(f, 0x40, 0, 64, 17, 0, 0) // don't fragment, TTL 64, UDP, checksum later
	s4, d4 := src.As4(), dst.As4()
	f = append(f, s4[:]...)
	f = append(f, d4[:]...)
	binary.BigEndian.PutUint16(f[ip+10:], ipChecksum(f[ip:ip+20]))
	f = binary.BigEndian.AppendUint16(f, d.Src.Port())
	f = binary.BigEndian.AppendUint16(f, d.Dst.Port())
	f = binary.BigEndian.AppendUint16(f, uint16(8+len(d.Payload)))
	f = append(f, 0, 0) // UDP checksum is optional over IPv4
	f = append(f, d.Payload...)
	w.frame = f
	ts := d.Time
	if ts.IsZero() {
		ts = time.Unix(0, 0)
	}
	return w.w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(f), Length: len(f)}, f)
}

func ipChecksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
