package benchmarks

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/ipfix"
	"github.com/flowkit/flow/template"
	"github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/vmware/go-ipfix/pkg/entities"
	"github.com/vmware/go-ipfix/pkg/exporter"
	"github.com/vmware/go-ipfix/pkg/registry"
)

// ipfixFields is the 20-element template of the IPFIX benchmarks: the v9 benchmark's
// Cisco-like layout in IPFIX elements, with millisecond timestamps and a VLAN in place of
// the uptimes and sampler ID. Every element has its registry length, because go-ipfix
// encodes every element at that length (it has no reduced-size encoding).
var ipfixFields = []template.Field{
	{ID: 8, Length: 4},   // sourceIPv4Address
	{ID: 12, Length: 4},  // destinationIPv4Address
	{ID: 15, Length: 4},  // ipNextHopIPv4Address
	{ID: 1, Length: 8},   // octetDeltaCount
	{ID: 2, Length: 8},   // packetDeltaCount
	{ID: 152, Length: 8}, // flowStartMilliseconds
	{ID: 153, Length: 8}, // flowEndMilliseconds
	{ID: 7, Length: 2},   // sourceTransportPort
	{ID: 11, Length: 2},  // destinationTransportPort
	{ID: 10, Length: 4},  // ingressInterface
	{ID: 14, Length: 4},  // egressInterface
	{ID: 16, Length: 4},  // bgpSourceAsNumber
	{ID: 17, Length: 4},  // bgpDestinationAsNumber
	{ID: 4, Length: 1},   // protocolIdentifier
	{ID: 5, Length: 1},   // ipClassOfService
	{ID: 6, Length: 2},   // tcpControlBits
	{ID: 9, Length: 1},   // sourceIPv4PrefixLength
	{ID: 13, Length: 1},  // destinationIPv4PrefixLength
	{ID: 61, Length: 1},  // flowDirection
	{ID: 58, Length: 2},  // vlanId
}

const (
	ipfixRecords  = 20
	ipfixDomain   = 42
	ipfixTemplate = ipfix.FirstCallerTemplate // the ID the Builder gives the template above
	ipfixMaxSize  = 4096                      // 20 records of 73 bytes do not fit in 1400
)

var ipfixNow = time.Date(2026, 1, 13, 0, 0, 7, 0, time.UTC)

// ipfixFlows are the records both encoders write: varied addresses, counters, ports,
// interfaces and flags, times in whole milliseconds (what the template carries).
var ipfixFlows = func() []flow.Record {
	rs := make([]flow.Record, ipfixRecords)
	export := flow.TimeOf(ipfixNow)
	for i := range rs {
		rs[i] = flow.Record{
			SrcAddr:  netip.AddrFrom4([4]byte{10, byte(i >> 3), byte(i * 37), byte(1 + i*7)}),
			DstAddr:  netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}),
			NextHop:  netip.AddrFrom4([4]byte{192, 0, 2, 1}),
			Bytes:    uint64(64+1200*i) << (i % 3 * 12), // some counters need more than 32 bits
			Packets:  uint64(1 + 13*i),
			Start:    export - flow.Time(60e9) + flow.Time(int64(i)*1e9),
			End:      export - flow.Time(int64(i)*10e6),
			SrcPort:  uint16(32768 + 97*i),
			DstPort:  []uint16{443, 80, 53, 22}[i%4],
			InIf:     uint32(1 + i%4),
			OutIf:    uint32(5 + i%3),
			SrcAS:    uint32(64512 + i),
			DstAS:    15169,
			IPProto:  []uint8{6, 6, 17, 6}[i%4],
			ToS:      uint8(i % 4 * 8),
			TCPFlags: 0x1b,
			SrcMask:  24,
			DstMask:  uint8(16 + i%9),
			VLAN:     uint16(100 + i),
		}
		if i%4 == 2 {
			rs[i].TCPFlags = 0 // UDP
		}
		rs[i].Direction = []flow.Direction{flow.Ingress, flow.Egress}[i%2]
	}
	return rs
}()

// ipfixEncoder is this library's side of the encode benchmark: a Builder with the
// benchmark's template, which has sent its template already, so that every message holds
// one data set of 20 records as go-ipfix's does. The records go in one by one with
// AddFlowWith, or with batch all at once with AddFlowsWith.
type ipfixEncoder struct {
	b     ipfix.Builder
	id    uint16
	batch bool
	first []byte // the first message, which carried the template
}

func newIPFIXEncoder(tb testing.TB, batch bool) *ipfixEncoder {
	e := &ipfixEncoder{b: ipfix.Builder{Domain: ipfixDomain, MaxSize: ipfixMaxSize, TemplateRefresh: 1 << 30, TemplateInterval: 1 << 62}, batch: batch}
	id, err := e.b.AddTemplate(0, ipfixFields)
	if err != nil || id != ipfixTemplate {
		tb.Fatalf("AddTemplate: %d, %v", id, err)
	}
	e.id = id
	e.first = e.encode(tb, nil) // the template goes with the first message
	return e
}

func (e *ipfixEncoder) encode(tb testing.TB, dst []byte) []byte {
	e.b.Start(dst, ipfixNow)
	if e.batch {
		if n, err := e.b.AddFlowsWith(e.id, ipfixFlows); err != nil || n != len(ipfixFlows) {
			tb.Fatalf("AddFlowsWith: %d, %v", n, err)
		}
		return e.b.Finish()
	}
	for i := range ipfixFlows {
		if err := e.b.AddFlowWith(e.id, &ipfixFlows[i], nil); err != nil {
			tb.Fatal(err)
		}
	}
	return e.b.Finish()
}

// goipfixEncoder is go-ipfix's side: the template's elements from its registry, and for
// each of the 20 records a list of elements with values, made once and set anew from the
// flow.Records for every message (as Antrea's exporter reuses its element lists), added to
// a reused data set and written with the exporter package's message writer into a reused
// buffer. This is the cheapest way its API offers; making the elements per record, as its
// own tests do, costs more.
type goipfixEncoder struct {
	set   entities.Set
	elems [ipfixRecords][]entities.InfoElementWithValue
	addrs [ipfixRecords][3]net.IP // backing arrays for the address elements
	buf   bytes.Buffer
	seq   uint32
}

func newGoIPFIXEncoder(tb testing.TB) *goipfixEncoder {
	registry.LoadRegistry()
	e := &goipfixEncoder{set: entities.NewSet(false)}
	for r := range e.elems {
		for j := range e.addrs[r] {
			e.addrs[r][j] = make(net.IP, 4)
		}
		for _, f := range ipfixFields {
			ie, err := registry.GetInfoElementFromID(f.ID, registry.IANAEnterpriseID)
			if err != nil {
				tb.Fatal(err)
			}
			if int(ie.Len) != int(f.Length) {
				tb.Fatalf("element %d: go-ipfix's registry says %d bytes, the template %d", f.ID, ie.Len, f.Length)
			}
			var v entities.InfoElementWithValue
			switch ie.DataType {
			case entities.Ipv4Address:
				v = entities.NewIPAddressInfoElement(ie, nil)
			case entities.Unsigned8:
				v = entities.NewUnsigned8InfoElement(ie, 0)
			case entities.Unsigned16:
				v = entities.NewUnsigned16InfoElement(ie, 0)
			case entities.Unsigned32:
				v = entities.NewUnsigned32InfoElement(ie, 0)
			case entities.Unsigned64:
				v = entities.NewUnsigned64InfoElement(ie, 0)
			case entities.DateTimeMilliseconds:
				v = entities.NewDateTimeMillisecondsInfoElement(ie, 0)
			default:
				tb.Fatalf("element %d: type %d", f.ID, ie.DataType)
			}
			e.elems[r] = append(e.elems[r], v)
		}
	}
	return e
}

// fill sets the values of record slot i from r.
func (e *goipfixEncoder) fill(i int, r *flow.Record) {
	el, ad := e.elems[i], &e.addrs[i]
	addr := func(j int, a netip.Addr) net.IP {
		b := a.As4()
		copy(ad[j], b[:])
		return ad[j]
	}
	dir := uint8(255)
	switch r.Direction {
	case flow.Ingress:
		dir = 0
	case flow.Egress:
		dir = 1
	}
	el[0].SetIPAddressValue(addr(0, r.SrcAddr))
	el[1].SetIPAddressValue(addr(1, r.DstAddr))
	el[2].SetIPAddressValue(addr(2, r.NextHop))
	el[3].SetUnsigned64Value(r.Bytes)
	el[4].SetUnsigned64Value(r.Packets)
	el[5].SetUnsigned64Value(uint64(r.Start / 1e6))
	el[6].SetUnsigned64Value(uint64(r.End / 1e6))
	el[7].SetUnsigned16Value(r.SrcPort)
	el[8].SetUnsigned16Value(r.DstPort)
	el[9].SetUnsigned32Value(r.InIf)
	el[10].SetUnsigned32Value(r.OutIf)
	el[11].SetUnsigned32Value(r.SrcAS)
	el[12].SetUnsigned32Value(r.DstAS)
	el[13].SetUnsigned8Value(r.IPProto)
	el[14].SetUnsigned8Value(r.ToS)
	el[15].SetUnsigned16Value(r.TCPFlags)
	el[16].SetUnsigned8Value(r.SrcMask)
	el[17].SetUnsigned8Value(r.DstMask)
	el[18].SetUnsigned8Value(dir)
	el[19].SetUnsigned16Value(r.VLAN)
}

// encode returns a message of the 20 records with sequence number seq, aliasing e's
// buffer until the next call.
func (e *goipfixEncoder) encode(tb testing.TB, seq uint32) []byte {
	e.set.ResetSet()
	if err := e.set.PrepareSet(entities.Data, ipfixTemplate); err != nil {
		tb.Fatal(err)
	}
	for i := range ipfixFlows {
		e.fill(i, &ipfixFlows[i])
		if err := e.set.AddRecordV2(e.elems[i], ipfixTemplate); err != nil {
			tb.Fatal(err)
		}
	}
	e.set.UpdateLenInHeader()
	e.buf.Reset()
	if _, err := exporter.WriteIPFIXMsgToBuffer(e.set, ipfixDomain, seq, ipfixNow, &e.buf); err != nil {
		tb.Fatal(err)
	}
	return e.buf.Bytes()
}

func BenchmarkIPFIXEncode(b *testing.B) {
	for _, impl := range []struct {
		name  string
		batch bool
	}{{"impl=flowkit", false}, {"impl=flowkit-batch", true}} {
		b.Run(impl.name, func(b *testing.B) {
			e := newIPFIXEncoder(b, impl.batch)
			buf := make([]byte, 0, ipfixMaxSize)
			buf = e.encode(b, buf[:0])
			b.ReportAllocs()
			b.SetBytes(int64(len(buf)))
			for b.Loop() {
				buf = e.encode(b, buf[:0])
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ipfixRecords), "ns/record")
		})
	}

	b.Run("impl=goipfix", func(b *testing.B) {
		e := newGoIPFIXEncoder(b)
		b.ReportAllocs()
		b.SetBytes(int64(len(e.encode(b, 0))))
		for b.Loop() {
			e.seq += ipfixRecords
			e.encode(b, e.seq)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ipfixRecords), "ns/record")
	})
}

// ipfixVarFields is the decode variant's template: the 20 elements, then a variable-length
// one (applicationName, a string) and one of a vendor's (enterprise 2636, Juniper), which
// neither decoder maps to a flow field but both must step over.
var ipfixVarFields = append(append([]template.Field(nil), ipfixFields...),
	template.Field{ID: 96, Length: template.VarLen},
	template.Field{ID: 137, Length: 4, Enterprise: 2636},
)

// ipfixVarValues are the applicationName values of the variant's records, by record.
var ipfixVarValues = []string{"https", "http", "dns", "ssh"}

// The messages of the decode benchmarks: one that defines the templates, and one message of
// 20 records for each (the data message of the 20-element template is the one both encoders
// write).
var ipfixTemplates, ipfixData, ipfixDataVar = func() ([]byte, []byte, []byte) {
	b := ipfix.Builder{Domain: ipfixDomain, MaxSize: ipfixMaxSize, TemplateRefresh: 1 << 30, TemplateInterval: 1 << 62}
	id, err := b.AddTemplate(0, ipfixFields)
	if err != nil {
		panic(err)
	}
	idVar, err := b.AddTemplate(0, ipfixVarFields)
	if err != nil {
		panic(err)
	}
	msg := func(add func(i int) error) []byte {
		b.Start(nil, ipfixNow)
		for i := range ipfixRecords {
			if err := add(i); err != nil {
				panic(err)
			}
		}
		return b.Finish()
	}
	plain := func(i int) error { return b.AddFlowWith(id, &ipfixFlows[i], nil) }
	msg(plain) // the template goes with the first message
	data := msg(plain)
	recLen := (len(data) - ipfix.HeaderLen - ipfix.SetHeaderLen) / ipfixRecords
	variant := func(i int) error {
		rec := append([]byte(nil), data[ipfix.HeaderLen+ipfix.SetHeaderLen+i*recLen:][:recLen]...)
		app := ipfixVarValues[i%len(ipfixVarValues)]
		rec = append(append(rec, byte(len(app))), app...)
		rec = append(rec, 0, 0, byte(i), 7)
		return b.AddRecord(idVar, rec)
	}
	msg(variant)
	dataVar := msg(variant)
	return b.Templates(nil, ipfixNow), data, dataVar
}()

// newIPFIXParser returns a parser that has learnt the benchmark's templates.
func newIPFIXParser(tb testing.TB) *ipfix.Parser {
	var p ipfix.Parser
	if _, err := p.Start(ipfixTemplates, ipfixFrom); err != nil {
		tb.Fatal(err)
	}
	for p.Next() {
	}
	if err := p.Err(); err != nil {
		tb.Fatal(err)
	}
	return &p
}

// newGoflow2IPFIX returns goflow2's template system with the benchmark's templates.
func newGoflow2IPFIX(tb testing.TB) netflow.NetFlowTemplateSystem {
	ts := netflow.CreateTemplateSystem()
	var pkt netflow.IPFIXPacket
	if err := netflow.DecodeMessageVersion(bytes.NewBuffer(ipfixTemplates), ts, nil, &pkt); err != nil {
		tb.Fatal(err)
	}
	return ts
}

func BenchmarkIPFIXDecode(b *testing.B) {
	for _, m := range []struct {
		name string
		data []byte
	}{{"msg=fixed", ipfixData}, {"msg=varlen", ipfixDataVar}} {
		data := m.data

		// The whole message into a slice of records: what a collector does.
		b.Run(m.name+"/impl=flowkit", func(b *testing.B) {
			p := newIPFIXParser(b)
			out := make([]flow.Record, 0, ipfixRecords)
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := p.Start(data, ipfixFrom); err != nil {
					b.Fatal(err)
				}
				out = p.AppendFlows(out[:0])
			}
			if len(out) != ipfixRecords {
				b.Fatalf("%d records", len(out))
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ipfixRecords), "ns/record")
		})

		// Record by record with Next and Flow.
		b.Run(m.name+"/impl=flowkit-next", func(b *testing.B) {
			p := newIPFIXParser(b)
			var out [ipfixRecords]flow.Record
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := p.Start(data, ipfixFrom); err != nil {
					b.Fatal(err)
				}
				for i := 0; p.Next(); i++ {
					p.Flow(&out[i])
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ipfixRecords), "ns/record")
		})

		b.Run(m.name+"/impl=goflow2", func(b *testing.B) {
			ts := newGoflow2IPFIX(b)
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var pkt netflow.IPFIXPacket
				if err := netflow.DecodeMessageVersion(bytes.NewBuffer(data), ts, nil, &pkt); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ipfixRecords), "ns/record")
		})
	}
}
