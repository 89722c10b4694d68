package capture

import (
	"encoding/binary"
	"fmt"
	"net"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/flowkit/flow"
	"golang.org/x/sys/unix"
)

// Live is an AF_PACKET TPACKET_V3 capture, read by one goroutine. ReadPacket returns at
// least once per PollInterval, so the reading goroutine can notice it should stop, then
// call Close: Close unmaps the ring that packets alias, so it must not run while a
// ReadPacket does, nor before the last packet's Data is done with.
type Live struct {
	fd      int
	ring    []byte
	bsize   int
	nblocks int
	block   int // block being read
	pkt     int // offset of the next packet in the block, 0 when the block is not open
	left    int // packets left in the open block
	poll    time.Duration
	closed  bool
}

// OpenLive opens a live capture. It needs CAP_NET_RAW (root, or the capability granted).
func OpenLive(cfg LiveConfig) (*Live, error) {
	if cfg.Snaplen == 0 {
		cfg.Snaplen = 256
	}
	if cfg.BlockSize == 0 {
		cfg.BlockSize = 1 << 20
	}
	if cfg.Blocks == 0 {
		cfg.Blocks = 16
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 100 * time.Millisecond
	}
	pageSize := unix.Getpagesize()
	if cfg.BlockSize%pageSize != 0 || cfg.BlockSize < cfg.Snaplen+128 {
		return nil, fmt.Errorf("capture: block size %d must be a multiple of the page size %d and hold a frame", cfg.BlockSize, pageSize)
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("capture: AF_PACKET socket: %w", err)
	}
	l := &Live{fd: fd, bsize: cfg.BlockSize, nblocks: cfg.Blocks, poll: cfg.PollInterval}
	fail := func(what string, err error) (*Live, error) {
		l.Close()
		return nil, fmt.Errorf("capture: %s: %w", what, err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fail("TPACKET_V3", err)
	}
	if cfg.IgnoreOutgoing {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
			return fail("PACKET_IGNORE_OUTGOING", err)
		}
	}
	frameSize := unix.TPACKET_ALIGNMENT * ((cfg.Snaplen + unix.SizeofTpacket3Hdr + 16 + unix.TPACKET_ALIGNMENT - 1) / unix.TPACKET_ALIGNMENT)
	req := unix.TpacketReq3{
		Block_size:     uint32(cfg.BlockSize),
		Block_nr:       uint32(cfg.Blocks),
		Frame_size:     uint32(frameSize),
		Frame_nr:       uint32(cfg.BlockSize / frameSize * cfg.Blocks),
		Retire_blk_tov: uint32(cfg.PollInterval.Milliseconds()),
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fail("PACKET_RX_RING", err)
	}
	l.ring, err = unix.Mmap(fd, 0, cfg.BlockSize*cfg.Blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_LOCKED)
	if err != nil {
		// MAP_LOCKED needs RLIMIT_MEMLOCK room; without it the ring still works.
		l.ring, err = unix.Mmap(fd, 0, cfg.BlockSize*cfg.Blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return fail("mmap", err)
		}
	}
	ifindex := 0
	if cfg.Interface != "" {
		ifi, err := net.InterfaceByName(cfg.Interface)
		if err != nil {
			return fail("interface", err)
		}
		ifindex = ifi.Index
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifindex}); err != nil {
		return fail("bind", err)
	}
	if cfg.Promiscuous && ifindex != 0 {
		mreq := unix.PacketMreq{Ifindex: int32(ifindex), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, &mreq); err != nil {
			return fail("promiscuous mode", err)
		}
	}
	return l, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// blockStatus returns the status word of block b. The kernel writes it after the block's
// packets; the atomic load orders our reads of the packets after it.
func (l *Live) blockStatus(b int) *uint32 {
	return (*uint32)(unsafe.Pointer(&l.ring[b*l.bsize+8]))
}

// ReadPacket returns the next packet. Data aliases the ring and stays valid until the next
// call, which may hand its block back to the kernel.
func (l *Live) ReadPacket() (Packet, error) {
	for {
		if l.closed {
			return Packet{}, ErrClosed
		}
		if l.left > 0 {
			return l.next(), nil
		}
		if l.pkt != 0 { // the open block is read: give it back
			atomic.StoreUint32(l.blockStatus(l.block), unix.TP_STATUS_KERNEL)
			l.pkt = 0
			l.block = (l.block + 1) % l.nblocks
		}
		if atomic.LoadUint32(l.blockStatus(l.block))&unix.TP_STATUS_USER == 0 {
			if err := l.wait(); err != nil {
				return Packet{}, err
			}
			continue
		}
		// The block header (struct tpacket_block_desc): version, offset_to_priv, then
		// tpacket_hdr_v1 from byte 8: block_status, num_pkts, offset_to_first_pkt.
		base := l.block * l.bsize
		h := l.ring[base : base+l.bsize]
		l.left = int(binary.NativeEndian.Uint32(h[12:]))
		l.pkt = base + int(binary.NativeEndian.Uint32(h[16:]))
		if l.left == 0 {
			l.pkt = base + 1 // an empty retired block: still to be given back
		}
	}
}

// wait polls until the current block is the process's, or returns ErrTimeout after the
// poll interval. poll also wakes for socket errors (an interface going down): those are
// read, which clears them, and waiting goes on.
func (l *Live) wait() error {
	deadline := time.Now().Add(l.poll)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return ErrTimeout
		}
		fds := []unix.PollFd{{Fd: int32(l.fd), Events: unix.POLLIN | unix.POLLERR}}
		n, err := unix.Poll(fds, int(left.Milliseconds())+1)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("capture: poll: %w", err)
		}
		if atomic.LoadUint32(l.blockStatus(l.block))&unix.TP_STATUS_USER != 0 {
			return nil
		}
		if n > 0 && fds[0].Revents&unix.POLLERR != 0 {
			if _, err := unix.GetsockoptInt(l.fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil {
				return fmt.Errorf("capture: reading the socket error: %w", err)
			}
			// Without this pause a persistent error condition would spin the loop.
			time.Sleep(min(left, 10*time.Millisecond))
		}
	}
}

// next decodes the packet at l.pkt (struct tpacket3_hdr) and steps to the one after.
func (l *Live) next() Packet {
	h := l.ring[l.pkt:]
	ne := binary.NativeEndian
	nextOff := int(ne.Uint32(h[0:]))
	sec, nsec := ne.Uint32(h[4:]), ne.Uint32(h[8:])
	snaplen, length := int(ne.Uint32(h[12:])), int(ne.Uint32(h[16:]))
	status := ne.Uint32(h[20:])
	mac := int(ne.Uint16(h[24:]))
	vlanTCI := ne.Uint32(h[32:]) // hv1: rxhash at 28, vlan_tci at 32
	p := Packet{
		Data:   h[mac : mac+snaplen],
		Time:   flow.Time(int64(sec)*1e9 + int64(nsec)),
		Length: length,
	}
	if status&unix.TP_STATUS_VLAN_VALID != 0 {
		p.VLAN = uint16(vlanTCI & 0x0fff)
	}
	l.left--
	if l.left > 0 {
		l.pkt += nextOff
	}
	return p
}

// Stats returns the kernel's counts since the last call: packets received and dropped
// because the ring was full.
func (l *Live) Stats() (Stats, error) {
	st, err := unix.GetsockoptTpacketStatsV3(l.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return Stats{}, fmt.Errorf("capture: PACKET_STATISTICS: %w", err)
	}
	return Stats{Received: uint64(st.Packets), Dropped: uint64(st.Drops)}, nil
}

// Close releases the ring and the socket.
func (l *Live) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	if l.ring != nil {
		unix.Munmap(l.ring)
	}
	return unix.Close(l.fd)
}
