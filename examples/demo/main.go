// Command demo runs both roles of the library in one process, over loopback.
//
// An exporter takes the flows of the NetFlow v5 captures shipped in data/, encodes them
// again with netflow5.Builder, and sends the datagrams by UDP to 127.0.0.1; a collector
// listening there decodes them with netflow5.Parser and prints every record it received.
// It exits 0 when the collector got back every record the exporter sent, unchanged.
//
//	go run ./examples/demo          # a table of the flows
//	go run ./examples/demo -json    # one JSON line per flow
package main

import (
	"bufio"
	"cmp"
	"embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path"
	"slices"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/netflow5"
)

//go:embed data/*.dat
var data embed.FS

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON line per flow instead of a table")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: demo [-json]\n\nExports the shipped flows as NetFlow v5 over UDP to a collector on 127.0.0.1 and prints what it decodes.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := demo(*asJSON, stdout, stderr); err != nil {
		fmt.Fprintf(stderr, "demo: %v\n", err)
		return 1
	}
	return 0
}

func demo(asJSON bool, stdout, stderr io.Writer) error {
	now := time.Now().Truncate(time.Millisecond)
	flows, err := shippedFlows(now)
	if err != nil {
		return err
	}

	// The collector: a UDP socket on loopback, decoding whatever arrives.
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return err
	}
	defer conn.Close()
	received := make(chan []flow.Record, 1)
	go func() { received <- collect(conn, len(flows)) }()

	// The exporter: re-encode the flows, 30 to a datagram, and send them.
	sent, err := export(flows, conn.LocalAddr().(*net.UDPAddr), now)
	if err != nil {
		return err
	}
	got := <-received

	out := bufio.NewWriter(stdout)
	defer out.Flush()
	if asJSON {
		var line []byte
		for i := range got {
			line = append(got[i].AppendJSON(line[:0]), '\n')
			out.Write(line)
		}
	} else {
		printTable(out, got)
	}
	fmt.Fprintf(out, "\nexporter: %d flows in %d NetFlow v5 datagrams to %s\ncollector: %d flows decoded\n",
		len(flows), sent, conn.LocalAddr(), len(got))
	if len(got) != len(flows) {
		return fmt.Errorf("collector decoded %d of %d flows", len(got), len(flows))
	}
	for i := range got {
		if !sameFlow(&got[i], &flows[i]) {
			return fmt.Errorf("flow %d changed on the way:\n sent %s\n  got %s", i, flows[i].AppendJSON(nil), got[i].AppendJSON(nil))
		}
	}
	return nil
}

// shippedFlows decodes the datagrams in data/, each capture moved in time to end at now.
func shippedFlows(now time.Time) ([]flow.Record, error) {
	entries, err := data.ReadDir("data")
	if err != nil {
		return nil, err
	}
	var flows []flow.Record
	var p netflow5.Parser
	for _, e := range entries {
		b, err := data.ReadFile(path.Join("data", e.Name()))
		if err != nil {
			return nil, err
		}
		if _, err := p.Start(b); err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		first := len(flows)
		for p.Next() {
			var r flow.Record
			p.Flow(&r)
			flows = append(flows, r)
		}
		replayAt(flows[first:], now)
	}
	return flows, nil
}

// replayAt moves the flows in time, all by the same whole number of milliseconds, so that
// the last one ends at now: the captures are years old, and NetFlow v5 can only say when a
// flow happened relative to an exporter uptime of less than 49.7 days.
func replayAt(flows []flow.Record, now time.Time) {
	var last flow.Time
	for i := range flows {
		last = max(last, flows[i].End)
	}
	shift := flow.TimeOf(now).Sub(last).Truncate(time.Millisecond)
	for i := range flows {
		flows[i].Start = flows[i].Start.Add(shift)
		flows[i].End = flows[i].End.Add(shift)
	}
}

func export(flows []flow.Record, to *net.UDPAddr, now time.Time) (datagrams int, err error) {
	conn, err := net.DialUDP("udp", nil, to)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	b := netflow5.Builder{Boot: now.Add(-time.Hour)}
	buf := make([]byte, 0, netflow5.HeaderLen+netflow5.MaxRecords*netflow5.RecordLen)
	send := func() error {
		buf = b.Finish()
		if len(buf) == 0 {
			return nil
		}
		datagrams++
		_, err := conn.Write(buf)
		return err
	}
	b.Start(buf[:0], now)
	for i := range flows {
		err := b.AddFlow(&flows[i])
		if errors.Is(err, flow.ErrFull) {
			if err := send(); err != nil {
				return datagrams, err
			}
			b.Start(buf[:0], now)
			err = b.AddFlow(&flows[i])
		}
		if err != nil {
			return datagrams, err
		}
	}
	return datagrams, send()
}

// collect decodes datagrams until it has want records or nothing arrives for a second.
func collect(conn *net.UDPConn, want int) []flow.Record {
	var got []flow.Record
	var p netflow5.Parser
	buf := make([]byte, 65535)
	for len(got) < want {
		conn.SetReadDeadline(time.Now().Add(time.Second))
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return got
		}
		if _, err := p.Start(buf[:n]); err != nil {
			continue
		}
		for p.Next() {
			var r flow.Record
			p.Flow(&r)
			r.Exporter = from.Addr().Unmap()
			got = append(got, r)
		}
	}
	return got
}

// sameFlow compares what NetFlow v5 carries. The exporter's own header fields (engine,
// sampling) and the time base are the demo exporter's, not the original router's.
func sameFlow(a, b *flow.Record) bool {
	return a.SrcAddr == b.SrcAddr && a.DstAddr == b.DstAddr && a.SrcPort == b.SrcPort &&
		a.DstPort == b.DstPort && a.IPProto == b.IPProto && a.Packets == b.Packets &&
		a.Bytes == b.Bytes && a.Start == b.Start && a.End == b.End &&
		a.InIf == b.InIf && a.OutIf == b.OutIf && a.NextHop == b.NextHop &&
		a.SrcAS == b.SrcAS && a.DstAS == b.DstAS && a.TCPFlags == b.TCPFlags && a.ToS == b.ToS
}

// printTable prints the flows, largest first.
func printTable(w io.Writer, flows []flow.Record) {
	byBytes := slices.Clone(flows)
	slices.SortStableFunc(byBytes, func(a, b flow.Record) int { return cmp.Compare(b.Bytes, a.Bytes) })
	fmt.Fprintf(w, "%-22s %-22s %5s %8s %10s  %-12s  %s\n", "SOURCE", "DESTINATION", "PROTO", "PACKETS", "BYTES", "START", "DURATION")
	for i := range byBytes {
		r := &byBytes[i]
		fmt.Fprintf(w, "%-22s %-22s %5d %8d %10d  %-12s  %s\n",
			netip.AddrPortFrom(r.SrcAddr, r.SrcPort), netip.AddrPortFrom(r.DstAddr, r.DstPort),
			r.IPProto, r.Packets, r.Bytes, r.Start.AsTime().Local().Format("15:04:05.000"), r.End.Sub(r.Start))
	}
}
