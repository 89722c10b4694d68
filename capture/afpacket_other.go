//go:build !linux

package capture

import "errors"

// Live is a live capture; only Linux has one.
type Live struct{}

// OpenLive reports that live capture needs Linux's AF_PACKET.
func OpenLive(cfg LiveConfig) (*Live, error) {
	return nil, errors.New("capture: live capture is implemented on Linux only (AF_PACKET)")
}

// ReadPacket never returns a packet.
func (l *Live) ReadPacket() (Packet, error) { return Packet{}, ErrClosed }

// Stats returns nothing.
func (l *Live) Stats() (Stats, error) { return Stats{}, ErrClosed }

// Close does nothing.
func (l *Live) Close() error { return nil }
