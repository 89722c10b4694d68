// Package trafficgen makes synthetic packet captures with the shape of real traffic, for
// the flow cache's tests and benchmarks, the exporter's end-to-end runs, and the
// comparison with softflowd on the same file.
//
// A generator keeps a pool of concurrent conversations and emits packets in bursts from
// conversations picked at random: TCP connections with a handshake, data mostly from the
// server, and an orderly FIN exchange (some end with a RST); UDP exchanges (DNS-like
// query/response) and streams; ICMP echo pairs; a share over IPv6 and a share tagged with
// an 802.1Q VLAN. When a conversation ends a new one takes its place, so the number of
// live flows stays near Config.Concurrent. The same Config always gives the same packets.
package trafficgen

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Config describes the traffic to generate.
type Config struct {
	Seed       uint64
	Packets    int       // how many packets to generate
	Concurrent int       // conversations alive at once (each is one or two flows)
	Start      time.Time // time of the first packet
	Rate       float64   // packets per second, for the timestamps
	IPv6Share  float64   // fraction of conversations over IPv6
	VLANShare  float64   // fraction of conversations tagged with an 802.1Q VLAN
	Snaplen    int       // frames are cut to this many bytes in the capture; 0 keeps them whole
}

// Frame is one generated packet.
type Frame struct {
	Time   time.Time
	Data   []byte // the captured bytes, at most Snaplen; valid until the next call to Next
	Length int    // the frame's length on the wire
}

// Totals sums what a generator emitted, to check a flow meter against.
type Totals struct {
	Packets       int
	IPBytes       uint64 // sum of the IP total lengths (IPv4) or header plus payload lengths (IPv6)
	Conversations int    // conversations started
}

type kind uint8

const (
	kindTCP kind = iota
	kindDNS
	kindUDPStream
	kindICMP
)

// conv is one conversation in progress.
type conv struct {
	kind            kind
	v6              bool
	vlan            uint16
	client, server  netip.Addr
	cport, sport    uint16
	step            int // position in the conversation's script; -1 when done
	data            int // data packets left (TCP, stream) or exchanges left (ICMP)
	fin             int // packets of the TCP FIN exchange sent
	rst             bool
	seq, ack        uint32
	icmpID, icmpSeq uint16
}

// Generator emits the packets of a Config one at a time.
type Generator struct {
	cfg    Config
	rng    *rand.Rand
	convs  []conv
	burst  int // packets left in the current burst
	cur    int // conversation of the current burst
	n      int
	frame  []byte
	totals Totals
	macA   [6]byte
	macB   [6]byte
}

// New returns a generator for cfg. Zero fields take small defaults: 1000 packets, 100
// conversations, a start in 2026, 100,000 packets per second.
func New(cfg Config) *Generator {
	if cfg.Packets == 0 {
		cfg.Packets = 1000
	}
	if cfg.Concurrent == 0 {
		cfg.Concurrent = 100
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if cfg.Rate == 0 {
		cfg.Rate = 100000
	}
	g := &Generator{
		cfg:   cfg,
		rng:   rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		frame: make([]byte, 0, 1600),
		macA:  [6]byte{0x02, 0x00, 0x5e, 0x00, 0x00, 0x01},
		macB:  [6]byte{0x02, 0x00, 0x5e, 0x00, 0x00, 0x02},
	}
	g.convs = make([]conv, cfg.Concurrent)
	for i := range g.convs {
		g.convs[i] = g.newConv()
	}
	return g
}

// Totals returns what has been generated so far.
func (g *Generator) Totals() Totals { return g.totals }

// Next returns the next packet, or false after Config.Packets of them.
func (g *Generator) Next() (Frame, bool) {
	if g.n >= g.cfg.Packets {
		return Frame{}, false
	}
	if g.burst == 0 {
		g.cur = g.rng.IntN(len(g.convs))
		g.burst = 1 + g.rng.IntN(8)
	}
	g.burst--
	c := &g.convs[g.cur]
	length := g.emit(c)
	if c.step < 0 { // finished: a new conversation takes its place
		*c = g.newConv()
		g.burst = 0
	}
	t := g.cfg.Start.Add(time.Duration(float64(g.n) / g.cfg.Rate * float64(time.Second)))
	g.n++
	g.totals.Packets++
	data := g.frame
	if g.cfg.Snaplen > 0 && len(data) > g.cfg.Snaplen {
		data = data[:g.cfg.Snaplen]
	}
	return Frame{Time: t, Data: data, Length: length}, true
}

func (g *Generator) newConv() conv {
	g.totals.Conversations++
	r := g.rng
	c := conv{v6: r.Float64() < g.cfg.IPv6Share}
	if r.Float64() < g.cfg.VLANShare {
		c.vlan = uint16(100 + r.IntN(4)*100)
	}
	if c.v6 {
		var a, b [16]byte
		a[0], a[1] = 0xfd, 0x00
		binary.BigEndian.PutUint64(a[8:], r.Uint64())
		b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
		binary.BigEndian.PutUint32(b[12:], r.Uint32N(4096))
		c.client, c.server = netip.AddrFrom16(a), netip.AddrFrom16(b)
	} else {
		c.client = netip.AddrFrom4([4]byte{10, byte(r.IntN(256)), byte(r.IntN(256)), byte(1 + r.IntN(254))})
		c.server = netip.AddrFrom4([4]byte{198, 18 + byte(r.IntN(2)), byte(r.IntN(256)), byte(1 + r.IntN(254))})
	}
	c.cport = uint16(32768 + r.IntN(28000))
	switch x := r.Float64(); {
	case x < 0.70:
		c.kind = kindTCP
		c.sport = []uint16{443, 443, 443, 80, 22, 25, 993, 8080}[r.IntN(8)]
		// Mostly short connections, some long: a geometric number of data packets, and
		// one in twenty a hundred times longer.
		c.data = 1 + int(r.ExpFloat64()*12)
		if r.IntN(20) == 0 {
			c.data *= 100
		}
		c.rst = r.IntN(20) == 0
		c.seq, c.ack = r.Uint32(), r.Uint32()
	case x < 0.88:
		c.kind = kindDNS
		c.sport = 53
	case x < 0.95:
		c.kind = kindUDPStream
		c.sport = uint16(10000 + r.IntN(10000))
		c.data = 20 + r.IntN(400)
	default:
		c.kind = kindICMP
		c.data = 1 + r.IntN(5)
		c.icmpID = uint16(r.Uint32())
	}
	return c
}

// emit writes the conversation's next packet into g.frame, advances its script, and
// returns the frame's wire length. step becomes -1 after the last packet.
func (g *Generator) emit(c *conv) int {
	r := g.rng
	fromClient := true
	var proto uint8
	var flags uint8
	payload := 0
	switch c.kind {
	case kindTCP:
		proto = 6
		switch {
		case c.step == 0:
			flags = 0x02 // SYN
		case c.step == 1:
			flags, fromClient = 0x12, false // SYN-ACK
		case c.step == 2:
			flags = 0x10 // ACK
		case c.data > 0:
			// Data, mostly from the server, acknowledged now and then by the client.
			c.data--
			if r.IntN(4) == 0 {
				flags = 0x10
			} else {
				flags, fromClient, payload = 0x18, false, []int{1448, 1448, 1448, 536, 200, 64}[r.IntN(6)]
			}
		case c.rst:
			flags, fromClient = 0x14, r.IntN(2) == 0 // RST-ACK, from either side
			c.step = -2
		default:
			// FIN from the client, its ACK, FIN from the server, the last ACK.
			c.fin++
			switch c.fin - 1 {
			case 0:
				flags = 0x11
			case 1:
				flags, fromClient = 0x10, false
			case 2:
				flags, fromClient = 0x11, false
			default:
				flags = 0x10
				c.step = -2
			}
		}
	case kindDNS:
		proto = 17
		fromClient = c.step == 0
		payload = 40 + r.IntN(30)
		if !fromClient {
			payload = 100 + r.IntN(400)
			c.step = -2
		}
	case kindUDPStream:
		proto = 17
		payload = 160 + r.IntN(40)
		fromClient = r.IntN(10) != 0
		if c.data--; c.data <= 0 {
			c.step = -2
		}
	case kindICMP:
		proto = 1
		fromClient = c.step%2 == 0
		payload = 56
		if !fromClient {
			c.icmpSeq++
			if c.data--; c.data <= 0 {
				c.step = -2
			}
		}
	}
	if c.kind == kindICMP && c.v6 {
		proto = 58
	}
	c.step++
	return g.build(c, fromClient, proto, flags, payload)
}

// build writes an Ethernet frame for the packet into g.frame and returns its wire length.
func (g *Generator) build(c *conv, fromClient bool, proto, flags uint8, payload int) int {
	src, dst, sport, dport := c.client, c.server, c.cport, c.sport
	smac, dmac := g.macA, g.macB
	if !fromClient {
		src, dst, sport, dport = dst, src, dport, sport
		smac, dmac = dmac, smac
	}
	f := g.frame[:0]
	f = append(f, dmac[:]...)
	f = append(f, smac[:]...)
	if c.vlan != 0 {
		f = binary.BigEndian.AppendUint16(f, 0x8100)
		f = binary.BigEndian.AppendUint16(f, c.vlan)
	}
	var l4 int
	switch proto {
	case 6:
		l4 = 20
	case 17:
		l4 = 8
	default:
		l4 = 8 // ICMP and ICMPv6 echo headers
	}
	var ipLen int
	if c.v6 {
		f = binary.BigEndian.AppendUint16(f, 0x86dd)
		ipLen = 40 + l4 + payload
		f = append(f, 0x60, 0, 0, 0)
		f = binary.BigEndian.AppendUint16(f, uint16(l4+payload))
		f = append(f, proto, 64)
		s, d := src.As16(), dst.As16()
		f = append(f, s[:]...)
		f = append(f, d[:]...)
	} else {
		f = binary.BigEndian.AppendUint16(f, 0x0800)
		ipLen = 20 + l4 + payload
		ip := len(f)
		f = append(f, 0x45, 0)
		f = binary.BigEndian.AppendUint16(f, uint16(ipLen))
		f = binary.BigEndian.AppendUint16(f, uint16(g.n))
		f = append(f, 0x40, 0, 64, proto, 0, 0)
		s, d := src.As4(), dst.As4()
		f = append(f, s[:]...)
		f = append(f, d[:]...)
		binary.BigEndian.PutUint16(f[ip+10:], checksum(f[ip:ip+20]))
	}
	switch proto {
	case 6:
		f = binary.BigEndian.AppendUint16(f, sport)
		f = binary.BigEndian.AppendUint16(f, dport)
		seq, ack := c.seq, c.ack
		if !fromClient {
			seq, ack = ack, seq
		}
		f = binary.BigEndian.AppendUint32(f, seq)
		f = binary.BigEndian.AppendUint32(f, ack)
		f = append(f, 5<<4, flags)
		f = binary.BigEndian.AppendUint16(f, 65535)
		f = append(f, 0, 0, 0, 0) // checksum (not computed), urgent pointer
		if fromClient {
			c.seq += uint32(payload)
		} else {
			c.ack += uint32(payload)
		}
	case 17:
		f = binary.BigEndian.AppendUint16(f, sport)
		f = binary.BigEndian.AppendUint16(f, dport)
		f = binary.BigEndian.AppendUint16(f, uint16(8+payload))
		f = append(f, 0, 0)
	default:
		typ := uint8(8) // echo request
		if !fromClient {
			typ = 0
		}
		if proto == 58 {
			typ = 128
			if !fromClient {
				typ = 129
			}
		}
		f = append(f, typ, 0, 0, 0)
		f = binary.BigEndian.AppendUint16(f, c.icmpID)
		f = binary.BigEndian.AppendUint16(f, c.icmpSeq)
	}
	// The payload is zeros; only as much as the capture keeps is written.
	keep := payload
	if g.cfg.Snaplen > 0 {
		keep = max(0, min(payload, g.cfg.Snaplen-len(f)))
	}
	f = append(f, make([]byte, keep)...)
	g.frame = f
	g.totals.IPBytes += uint64(ipLen)
	return len(f) - keep + payload
}

func checksum(h []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(h); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(h[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// WritePcap writes the packets of cfg to w as a pcap file (Ethernet, nanosecond
// timestamps) and returns their totals.
func WritePcap(w io.Writer, cfg Config) (Totals, error) {
	pw := pcapgo.NewWriterNanos(w)
	snap := cfg.Snaplen
	if snap == 0 {
		snap = 65535
	}
	if err := pw.WriteFileHeader(uint32(snap), layers.LinkTypeEthernet); err != nil {
		return Totals{}, err
	}
	g := New(cfg)
	for {
		f, ok := g.Next()
		if !ok {
			return g.Totals(), nil
		}
		ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: f.Length}
		if err := pw.WritePacket(ci, f.Data); err != nil {
			return g.Totals(), err
		}
	}
}
