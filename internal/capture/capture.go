// Package capture reads the UDP datagrams out of pcap and pcapng files, for the example
// programs and the tests that replay captured flow exports.
//
// The file formats are read by github.com/gopacket/gopacket/pcapgo; the link, network and
// transport headers by the small walker here, which knows just what captures of flow
// exports contain: Ethernet with 802.1Q/QinQ tags, Linux cooked (SLL and SLL2), BSD
// loopback and raw IP, then IPv4 or IPv6 (skipping extension headers) and UDP.
package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Datagram is one UDP payload found in a capture.
type Datagram struct {
	Time     time.Time
	Src, Dst netip.AddrPort
	Payload  []byte
}

type packetSource interface {
	ReadPacketData() ([]byte, linkInfo, error)
}

type linkInfo struct {
	time time.Time
	link layers.LinkType
}

// Reader yields the UDP datagrams of a capture file, skipping every other frame.
type Reader struct {
	src    packetSource
	closer io.Closer
	// Skipped counts frames that were not UDP over IP or were cut short.
	Skipped int
}

// Open opens a pcap or pcapng file.
func Open(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r.closer = f
	return r, nil
}

// NewReader reads a pcap or pcapng stream, told apart by its magic number.
func NewReader(rd io.Reader) (*Reader, error) {
	br := bufio.NewReader(rd)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("capture: reading magic number: %w", err)
	}
	if binary.BigEndian.Uint32(magic) == 0x0a0d0d0a {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, fmt.Errorf("capture: %w", err)
		}
		return &Reader{src: ngSource{ng}}, nil
	}
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("capture: %w", err)
	}
	return &Reader{src: pcapSource{pr}}, nil
}

type pcapSource struct{ r *pcapgo.Reader }

func (s pcapSource) ReadPacketData() ([]byte, linkInfo, error) {
	data, ci, err := s.r.ReadPacketData()
	return data, linkInfo{ci.Timestamp, s.r.LinkType()}, err
}

type ngSource struct{ r *pcapgo.NgReader }

func (s ngSource) ReadPacketData() ([]byte, linkInfo, error) {
	data, ci, err := s.r.ReadPacketData()
	if err != nil {
		return nil, linkInfo{}, err
	}
	link := s.r.LinkType()
	if iface, ierr := s.r.Interface(ci.InterfaceIndex); ierr == nil {
		link = iface.LinkType
	}
	return data, linkInfo{ci.Timestamp, link}, nil
}

// Next returns the next UDP datagram, or io.EOF after the last one.
func (r *Reader) Next() (Datagram, error) {
	for {
		data, info, err := r.src.ReadPacketData()
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return Datagram{}, io.EOF // a file cut mid-packet ends there
			}
			return Datagram{}, err
		}
		d, ok := UDP(data, info.link)
		if !ok {
			r.Skipped++
			continue
		}
		d.Time = info.time
		return d, nil
	}
}

// Close closes the file opened by Open.
func (r *Reader) Close() error {
	if r.closer != nil {
		return r.closer.Close()
	}
	return nil
}

// ReadFile returns every UDP datagram of a capture file.
func ReadFile(path string) ([]Datagram, error) {
	r, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []Datagram
	for {
		d, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, d)
	}
}

// UDP finds the UDP datagram in a frame of the given link type. The payload aliases frame.
func UDP(frame []byte, link layers.LinkType) (Datagram, bool) {
	var etherType uint16
	var p []byte
	switch link {
	case layers.LinkTypeEthernet:
		if len(frame) < 14 {
			return Datagram{}, false
		}
		etherType, p = binary.BigEndian.Uint16(frame[12:]), frame[14:]
	case layers.LinkTypeLinuxSLL:
		if len(frame) < 16 {
			return Datagram{}, false
		}
		etherType, p = binary.BigEndian.Uint16(frame[14:]), frame[16:]
	case layers.LinkTypeLinuxSLL2:
		if len(frame) < 20 {
			return Datagram{}, false
		}
		etherType, p = binary.BigEndian.Uint16(frame[0:]), frame[20:]
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(frame) < 5 {
			return Datagram{}, false
		}
		p = frame[4:]
		etherType = ipEtherType(p)
	case layers.LinkTypeRaw, layers.LinkTypeIPv4, layers.LinkTypeIPv6, 12, 14:
		p = frame
		etherType = ipEtherType(p)
	default:
		return Datagram{}, false
	}
	for etherType == 0x8100 || etherType == 0x88a8 || etherType == 0x9100 {
		if len(p) < 4 {
			return Datagram{}, false
		}
		etherType, p = binary.BigEndian.Uint16(p[2:]), p[4:]
	}
	switch etherType {
	case 0x0800:
		return udp4(p)
	case 0x86dd:
		return udp6(p)
	}
	return Datagram{}, false
}

func ipEtherType(p []byte) uint16 {
	if len(p) == 0 {
		return 0
	}
	switch p[0] >> 4 {
	case 4:
		return 0x0800
	case 6:
		return 0x86dd
	}
	return 0
}

func udp4(p []byte) (Datagram, bool) {
	if len(p) < 20 || p[0]>>4 != 4 {
		return Datagram{}, false
	}
	ihl := int(p[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(p[2:]))
	if ihl < 20 || total < ihl || len(p) < ihl {
		return Datagram{}, false
	}
	if binary.BigEndian.Uint16(p[6:])&0x3fff != 0 || p[9] != 17 {
		return Datagram{}, false // fragment, or not UDP
	}
	if total < len(p) {
		p = p[:total] // drop Ethernet padding
	}
	src := netip.AddrFrom4([4]byte(p[12:16]))
	dst := netip.AddrFrom4([4]byte(p[16:20]))
	return udpPayload(p[ihl:], src, dst)
}

func udp6(p []byte) (Datagram, bool) {
	if len(p) < 40 || p[0]>>4 != 6 {
		return Datagram{}, false
	}
	plen := int(binary.BigEndian.Uint16(p[4:]))
	next := p[6]
	src := netip.AddrFrom16([16]byte(p[8:24]))
	dst := netip.AddrFrom16([16]byte(p[24:40]))
	p = p[40:]
	if plen < len(p) {
		p = p[:plen]
	}
	for {
		switch next {
		case 17:
			return udpPayload(p, src, dst)
		case 0, 43, 60: // hop-by-hop, routing, destination options
			if len(p) < 8 {
				return Datagram{}, false
			}
			n := 8 + int(p[1])*8
			if len(p) < n {
				return Datagram{}, false
			}
			next, p = p[0], p[n:]
		default:
			return Datagram{}, false // fragments and everything else
		}
	}
}

func udpPayload(p []byte, src, dst netip.Addr) (Datagram, bool) {
	if len(p) < 8 {
		return Datagram{}, false
	}
	n := int(binary.BigEndian.Uint16(p[4:]))
	if n < 8 || n > len(p) {
		return Datagram{}, false
	}
	return Datagram{
		Src:     netip.AddrPortFrom(src, binary.BigEndian.Uint16(p[0:])),
		Dst:     netip.AddrPortFrom(dst, binary.BigEndian.Uint16(p[2:])),
		Payload: p[8:n],
	}, true
}
