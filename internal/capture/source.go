package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"

	"github.com/flowkit/flow"
	fcapture "github.com/flowkit/flow/capture"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Source reads the frames of a pcap or pcapng file as a capture.Source, for exporters
// replaying captures. Frames must be Ethernet.
type Source struct {
	f  *os.File
	rd interface {
		ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	link func(ci gopacket.CaptureInfo) layers.LinkType
}

// OpenSource opens a capture file of Ethernet frames.
func OpenSource(path string) (*Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	s, err := NewSource(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.f = f
	return s, nil
}

// NewSource reads a pcap or pcapng stream of Ethernet frames.
func NewSource(r io.Reader) (*Source, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, err
	}
	s := &Source{}
	if binary.BigEndian.Uint32(magic) == 0x0a0d0d0a {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, err
		}
		s.rd = ng
		s.link = func(ci gopacket.CaptureInfo) layers.LinkType {
			if iface, err := ng.Interface(ci.InterfaceIndex); err == nil {
				return iface.LinkType
			}
			return ng.LinkType()
		}
	} else {
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, err
		}
		s.rd = pr
		s.link = func(gopacket.CaptureInfo) layers.LinkType { return pr.LinkType() }
	}
	return s, nil
}

// ReadPacket returns the next frame, or io.EOF after the last. Data is valid until the
// next call.
func (s *Source) ReadPacket() (fcapture.Packet, error) {
	for {
		data, ci, err := s.rd.ZeroCopyReadPacketData()
		if err == io.ErrUnexpectedEOF {
			return fcapture.Packet{}, io.EOF // a file cut mid-packet ends there
		}
		if err != nil {
			return fcapture.Packet{}, err
		}
		if s.link(ci) != layers.LinkTypeEthernet {
			continue
		}
		return fcapture.Packet{Data: data, Time: flow.TimeOf(ci.Timestamp), Length: ci.Length, IfIndex: ci.InterfaceIndex}, nil
	}
}

// Close closes the file OpenSource opened.
func (s *Source) Close() error {
	if s.f == nil {
		return nil
	}
	return s.f.Close()
}
