// Command flowdump decodes flow exports and prints one JSON line per flow record.
//
// It reads a capture file, an IPFIX file (RFC 5655), raw datagram files (several back to
// back), a live UDP socket, or IPFIX streams on a TCP port; it tells the protocol of each
// datagram from its version field, and prints every record with the keys of
// flow.Record.AppendJSON. IPFIX biflows print as two records, forward then reverse. sFlow
// flow samples print as records (one per sampled packet); with -counters, sFlow counter
// records print too, one line each.
//
//	flowdump -r exports.pcap
//	flowdump -r exports.ipfix              # an IPFIX file: messages back to back
//	flowdump -raw netflow5.dat
//	flowdump -listen 127.0.0.1:2055
//	flowdump -listen tcp://127.0.0.1:4739  # IPFIX over TCP, a session per connection
//	flowdump -listen 127.0.0.1:6343 -counters -decap
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/internal/capture"
	"github.com/flowkit/flow/ipfix"
	"github.com/flowkit/flow/netflow5"
	"github.com/flowkit/flow/netflow9"
	"github.com/flowkit/flow/packet"
	"github.com/flowkit/flow/sflow"
	"github.com/flowkit/flow/template"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("flowdump", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pcapFile := fs.String("r", "", "read datagrams from a pcap or pcapng `file`, or messages from an IPFIX file (RFC 5655)")
	rawFile := fs.String("raw", "", "read a `file` of one or several raw datagrams back to back")
	listen := fs.String("listen", "", "listen for datagrams on a UDP `address`, e.g. 127.0.0.1:2055, or for IPFIX streams on tcp://host:port")
	count := fs.Int("c", 0, "with -listen, exit after this many datagrams or messages (0: until interrupted)")
	counters := fs.Bool("counters", false, "also print sFlow counter records, one JSON line each")
	decap := fs.Bool("decap", false, "report tunnelled sFlow samples (VXLAN, Geneve, GRE, IP in IP) by their inner packet")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: flowdump (-r FILE | -raw FILE | -listen [udp://|tcp://]ADDR) [flags]\n\n"+
			"Decodes NetFlow v5, NetFlow v9, IPFIX and sFlow v5 exports and prints one JSON line per flow record.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sources := 0
	for _, s := range []string{*pcapFile, *rawFile, *listen} {
		if s != "" {
			sources++
		}
	}
	if sources != 1 || fs.NArg() != 0 {
		fs.Usage()
		return 2
	}

	out := bufio.NewWriter(stdout)
	defer out.Flush()
	d := dumper{out: out, errs: stderr, counters: *counters}
	if *decap {
		d.sf.Packet.Decap = packet.DecapAll
	}
	var err error
	switch {
	case *pcapFile != "":
		err = d.file(*pcapFile)
	case *rawFile != "":
		err = d.raw(*rawFile)
	case strings.HasPrefix(*listen, "tcp://"):
		err = d.listenTCP(ctx, strings.TrimPrefix(*listen, "tcp://"), *count)
	default:
		err = d.listen(ctx, strings.TrimPrefix(*listen, "udp://"), *count, out)
	}
	out.Flush()
	fmt.Fprintf(stderr, "flowdump: %d datagrams, %d records, %d errors\n", d.datagrams, d.records, d.errors)
	if *counters {
		fmt.Fprintf(stderr, "flowdump: %d counter records\n", d.counterLines)
	}
	if err != nil {
		fmt.Fprintf(stderr, "flowdump: %v\n", err)
		return 1
	}
	return 0
}

// dumper decodes datagrams and writes their records as JSON lines.
type dumper struct {
	out  *bufio.Writer
	errs io.Writer
	line []byte
	rec  flow.Record
	v5   netflow5.Parser
	v9   netflow9.Parser
	ipfx ipfix.Parser
	sf   sflow.Parser

	counters bool // print sFlow counter records

	datagrams, records, errors int
	counterLines               int
}

// file reads an IPFIX file, which begins with a message header (version 10), or else a
// pcap or pcapng capture.
func (d *dumper) file(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 1<<16)
	if head, _ := br.Peek(2); len(head) == 2 && binary.BigEndian.Uint16(head) == ipfix.Version {
		// A file is one transport session, as a TCP connection is (RFC 5655): templates
		// hold until withdrawn, whatever the export times say.
		return d.stream(br, template.Session{Stream: true})
	}
	return d.pcap(path)
}

// stream reads IPFIX messages from r, the messages of one stream session, until its end.
func (d *dumper) stream(r io.Reader, s template.Session) error {
	defer d.ipfx.EndSession(s)
	ir := ipfix.NewReader(r)
	for {
		m, err := ir.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err // the framing is lost: nothing after can be read
		}
		d.streamMessage(m, s)
	}
}

// streamMessage decodes and prints one message of an IPFIX stream session.
func (d *dumper) streamMessage(m []byte, s template.Session) {
	d.datagrams++
	if _, err := d.ipfx.StartSession(m, s); err != nil {
		d.fail(err)
		return
	}
	d.ipfixRecords()
}

// listenTCP prints the IPFIX messages of every connection to addr (each a transport
// session of its own, decoded one message at a time) until ctx ends or count messages
// were read.
func (d *dumper) listenTCP(ctx context.Context, addr string, count int) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.errs, "flowdump: listening on tcp://%s\n", ln.Addr())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	var mu sync.Mutex // one message at a time through the dumper
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			stop := context.AfterFunc(ctx, func() { conn.Close() })
			defer stop()
			ra, _ := netip.ParseAddrPort(conn.RemoteAddr().String())
			s := template.Session{Exporter: netip.AddrPortFrom(ra.Addr().Unmap(), ra.Port()), Protocol: flow.IPFIX, Stream: true}
			defer func() { mu.Lock(); d.ipfx.EndSession(s); mu.Unlock() }()
			ir := ipfix.NewReader(conn)
			for {
				m, err := ir.Next()
				if err != nil {
					if err != io.EOF && ctx.Err() == nil {
						mu.Lock()
						d.fail(fmt.Errorf("connection from %s: %w", s.Exporter, err))
						d.out.Flush()
						mu.Unlock()
					}
					return
				}
				mu.Lock()
				d.streamMessage(m, s)
				d.out.Flush()
				if count > 0 && d.datagrams >= count {
					cancel()
				}
				mu.Unlock()
			}
		}()
	}
}

func (d *dumper) pcap(path string) error {
	r, err := capture.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	for {
		dg, err := r.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		d.datagram(dg.Payload, dg.Src)
	}
}

func (d *dumper) raw(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for len(b) > 0 {
		b = d.datagram(b, netip.AddrPort{})
	}
	return nil
}

func (d *dumper) listen(ctx context.Context, addr string, count int, out *bufio.Writer) error {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	fmt.Fprintf(d.errs, "flowdump: listening on %s\n", conn.LocalAddr())
	go func() {
		<-ctx.Done()
		conn.Close()
	}()
	buf := make([]byte, 65535)
	for n := 0; count == 0 || n < count; n++ {
		size, from, err := conn.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		var exporter netip.AddrPort
		if ua, ok := from.(*net.UDPAddr); ok {
			exporter = ua.AddrPort()
			exporter = netip.AddrPortFrom(exporter.Addr().Unmap(), exporter.Port())
		}
		// Datagrams on a socket are whole: whatever the decoder leaves over is reported
		// as trailing bytes, not read as another datagram.
		if rest := d.datagram(buf[:size], exporter); len(rest) > 0 {
			fmt.Fprintf(d.errs, "flowdump: datagram %d from %s: %d trailing bytes ignored\n", d.datagrams, exporter, len(rest))
		}
		out.Flush()
	}
	return nil
}

// datagram decodes one datagram, prints its records, and returns the bytes after it: in a
// file of datagrams back to back, the next one.
func (d *dumper) datagram(b []byte, exporter netip.AddrPort) (rest []byte) {
	d.datagrams++
	switch proto := flow.Detect(b); proto {
	case flow.NetFlow5:
		if _, err := d.v5.Start(b); err != nil {
			d.fail(err)
			return nil
		}
		for d.v5.Next() {
			d.v5.Flow(&d.rec)
			d.rec.Exporter = exporter.Addr()
			d.emit()
		}
		return d.v5.Trailing()
	case flow.NetFlow9:
		// A v9 packet has no length of its own: it is the whole datagram (or file). Options
		// records are not flows: they teach the parser sampling rates and interface names.
		if _, err := d.v9.Start(b, exporter); err != nil {
			d.fail(err)
			return nil
		}
		for d.v9.Next() {
			if d.v9.Options() {
				continue
			}
			d.v9.Flow(&d.rec)
			d.emit()
		}
		if err := d.v9.Err(); err != nil {
			d.fail(err)
		}
		return nil
	case flow.IPFIX:
		return d.ipfix(b, exporter)
	case flow.SFlow:
		return d.sflow(b)
	default:
		d.fail(fmt.Errorf("%w: %s datagram (first bytes % x) is not decoded by this build", flow.ErrVersion, proto, b[:min(len(b), 4)]))
		return nil
	}
}

// ipfix prints the flow records of an IPFIX message, a biflow (RFC 5103) as two records,
// forward then reverse, and returns the bytes after the message's length: in a file of
// messages back to back, the next one. Templates are kept per exporter address and port
// (the UDP transport session); options records teach sampling rates and interface names.
func (d *dumper) ipfix(b []byte, exporter netip.AddrPort) (rest []byte) {
	if _, err := d.ipfx.Start(b, exporter); err != nil {
		d.fail(err)
		return nil
	}
	d.ipfixRecords()
	return b[len(b)-d.ipfx.Trailing():]
}

// ipfixRecords prints the records of the message the IPFIX parser has started.
func (d *dumper) ipfixRecords() {
	for d.ipfx.Next() {
		if d.ipfx.Options() {
			continue
		}
		d.ipfx.Flow(&d.rec)
		d.emit()
		if d.ipfx.Reverse(&d.rec) {
			d.emit()
		}
	}
	if err := d.ipfx.Err(); err != nil {
		d.fail(err)
	}
}

// sflow prints the flow samples of an sFlow datagram as records (their exporter is the
// agent address the datagram carries) and, when asked, its counter records.
func (d *dumper) sflow(b []byte) (rest []byte) {
	h, err := d.sf.Start(b)
	if err != nil {
		d.fail(err)
		return nil
	}
	for d.sf.Next() {
		if d.sf.Flow(&d.rec) {
			d.emit()
			continue
		}
		if s := d.sf.Sample(); d.counters && s.Kind() == sflow.KindCounters {
			d.emitCounters(h, s)
		}
	}
	if err := d.sf.Err(); err != nil {
		d.fail(err)
		return nil
	}
	if st := d.sf.Stats(); st != (sflow.Stats{}) {
		fmt.Fprintf(d.errs, "flowdump: datagram %d: skipped %+v\n", d.datagrams, st)
	}
	// In a file of datagrams back to back, what follows may be the next one; anything
	// else is padding.
	if rest = d.sf.Trailing(); len(rest) > 0 && flow.Detect(rest) == flow.Unknown {
		fmt.Fprintf(d.errs, "flowdump: datagram %d: %d trailing bytes ignored\n", d.datagrams, len(rest))
		return nil
	}
	return rest
}

// counterLine is the JSON form of one counter record.
type counterLine struct {
	Type        string `json:"type"`
	Agent       string `json:"agent"`
	SubAgent    uint32 `json:"sub_agent"`
	Uptime      uint32 `json:"uptime_ms"`
	Sequence    uint32 `json:"sequence"`
	SourceType  uint32 `json:"source_type"`
	SourceIndex uint32 `json:"source_index"`
	Format      string `json:"format"`
	Counters    any    `json:"counters"` // null for a record this build does not decode
}

func (d *dumper) emitCounters(h sflow.Header, s sflow.Sample) {
	for rs := s.Records(); rs.Next(); {
		r := rs.Record()
		var v any
		var err error
		switch r.Format {
		case sflow.CountersGeneric:
			v, err = r.IfCounters()
		case sflow.CountersEthernet:
			v, err = r.EthernetCounters()
		case sflow.CountersVLAN:
			v, err = r.VLANCounters()
		case sflow.CountersLAG:
			v, err = r.LAGCounters()
		case sflow.CountersProcessor:
			v, err = r.ProcessorCounters()
		case sflow.CountersOpenFlowPort:
			v, err = r.OpenFlowPort()
		case sflow.CountersPortName:
			var name []byte
			name, err = r.PortName()
			v = map[string]string{"name": string(name)}
		case sflow.CountersHostCPU:
			v, err = r.HostCPU()
		case sflow.CountersHostMemory:
			v, err = r.HostMemory()
		case sflow.CountersHostNetIO, sflow.CountersVirtNetIO:
			v, err = r.NetIO()
		case sflow.CountersAppResources:
			v, err = r.AppResources()
		case sflow.CountersOVSDP:
			v, err = r.OVSDP()
		}
		if err != nil {
			d.fail(err)
			continue
		}
		line, err := json.Marshal(counterLine{Type: "sflow_counters", Agent: h.Agent.String(), SubAgent: h.SubAgent, Uptime: h.Uptime,
			Sequence: s.Sequence, SourceType: s.SourceType, SourceIndex: s.SourceIndex, Format: r.Format.String(), Counters: v})
		if err != nil {
			d.fail(err)
			continue
		}
		d.counterLines++
		d.out.Write(append(line, '\n'))
	}
}

func (d *dumper) emit() {
	d.records++
	d.line = d.rec.AppendJSON(d.line[:0])
	d.line = append(d.line, '\n')
	d.out.Write(d.line)
}

func (d *dumper) fail(err error) {
	d.errors++
	fmt.Fprintf(d.errs, "flowdump: datagram %d: %v\n", d.datagrams, err)
}
