// Package capture reads packets from a network interface, without cgo.
//
// On Linux, [OpenLive] opens an AF_PACKET socket with a TPACKET_V3 receive ring: the
// kernel writes frames into memory shared with the process, in blocks handed over whole,
// so reading a packet costs no system call and no copy. Reading capture files (pcap,
// pcapng) is left to a file reader such as gopacket's pcapgo wrapped in a [Source]; this
// package keeps the library free of dependencies beyond golang.org/x/sys.
package capture

import (
	"errors"
	"time"

	"github.com/flowkit/flow"
)

// Packet is one captured frame.
type Packet struct {
	// Data holds the captured bytes, starting with the link-layer header. It aliases the
	// source's buffer and is valid until the next read.
	Data []byte
	// Time is when the packet was captured.
	Time flow.Time
	// Length is the frame's length on the wire; Data may be shorter (snap length).
	Length int
	// VLAN is the 802.1Q tag the network card removed from the frame before the capture
	// saw it (VLAN offload), or 0. A tag still in Data is not reported here.
	VLAN uint16
	// IfIndex is the index of the interface the packet was captured on, 0 if unknown.
	IfIndex int
}

// Source yields captured packets.
type Source interface {
	// ReadPacket returns the next packet. It returns ErrTimeout when no packet came
	// within the source's poll interval (so a meter can expire flows in quiet periods),
	// and io.EOF when a file is exhausted.
	ReadPacket() (Packet, error)
	// Close releases the source. A ReadPacket blocked in another goroutine returns soon.
	Close() error
}

// ErrTimeout is returned by ReadPacket when no packet arrived within the poll interval.
var ErrTimeout = errors.New("capture: no packet within the poll interval")

// ErrClosed is returned by ReadPacket after Close.
var ErrClosed = errors.New("capture: source closed")

// Stats are a live source's counters, as the kernel keeps them.
type Stats struct {
	Received uint64 // packets the socket received
	Dropped  uint64 // packets dropped because the ring was full
}

// LiveConfig sets up a live capture.
type LiveConfig struct {
	// Interface is the interface name ("eth0"); empty captures on every interface.
	Interface string
	// Promiscuous asks the interface to pass up frames not addressed to it.
	Promiscuous bool
	// Snaplen bounds the bytes kept of each frame (default 256: enough for the headers
	// a flow meter reads, tunnels included).
	Snaplen int
	// BlockSize and Blocks size the ring: Blocks blocks of BlockSize bytes (defaults
	// 1 MiB and 16: 16 MiB, about 50,000 frames of 256 bytes in flight).
	BlockSize, Blocks int
	// PollInterval bounds how long ReadPacket waits before ErrTimeout, and how long the
	// kernel keeps a partly filled block before handing it over (default 100 ms).
	PollInterval time.Duration
	// IgnoreOutgoing skips packets this host sends, e.g. its own flow exports.
	IgnoreOutgoing bool
}
