package ipfix_test

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/ipfix"
	"github.com/flowkit/flow/template"
)

// Encode flows and a biflow into one message, and a caller-defined template with
// reduced-size counters into another.
func ExampleBuilder() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	b := ipfix.Builder{Domain: 7, SamplingInterval: 100}
	r := flow.Record{
		SrcAddr: netip.MustParseAddr("192.0.2.10"), DstAddr: netip.MustParseAddr("198.51.100.1"),
		SrcPort: 50000, DstPort: 443, IPProto: 6, Packets: 10, Bytes: 4200,
		Start: flow.TimeOf(now.Add(-3 * time.Second)), End: flow.TimeOf(now.Add(-time.Second)),
	}
	rev := flow.Record{Packets: 8, Bytes: 9000}
	msg := make([]byte, 0, 1400)
	b.Start(msg, now)
	b.AddFlow(&r)
	b.AddBiflow(&r, &rev)
	msg = b.Finish()
	fmt.Printf("%d bytes, %d records; next sequence %d (the sampling options record counts)\n", len(msg), b.Len(), b.Sequence(7))

	small, _ := b.AddTemplate(0, []template.Field{
		{ID: 8, Length: 4}, {ID: 12, Length: 4}, // addresses
		{ID: 1, Length: 4}, {ID: 2, Length: 2}, // octets and packets, reduced-size
	})
	b.Start(msg[:0], now)
	b.AddFlowWith(small, &r, nil)
	msg = b.Finish()
	fmt.Printf("template %d: %d bytes with its definition\n", small, len(msg))
	// Output:
	// 601 bytes, 2 records; next sequence 3 (the sampling options record counts)
	// template 512: 58 bytes with its definition
}

// Write messages to a stream (a TCP connection, an IPFIX file) and read them back.
func ExampleReader() {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var b ipfix.Builder
	var file bytes.Buffer // an *os.File or a net.Conn in real use
	w := ipfix.NewWriter(&file)
	w.Write(b.Templates(nil, now)) // a stream opens with its templates
	for i := range 3 {
		b.Start(nil, now)
		b.AddFlow(&flow.Record{SrcAddr: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), DstAddr: netip.MustParseAddr("10.0.0.100")})
		w.Write(b.Finish())
	}
	r := ipfix.NewReader(&file)
	for {
		m, err := r.Next()
		if err == io.EOF {
			break
		} else if err != nil {
			panic(err)
		}
		fmt.Println(len(m), "bytes")
	}
	// Output:
	// 580 bytes
	// 243 bytes
	// 119 bytes
	// 119 bytes
}
