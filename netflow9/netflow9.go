// Package netflow9 encodes and decodes Cisco NetFlow version 9 export packets (RFC 3954).
//
// A version 9 packet is a 20-byte header followed by FlowSets, in any order and number:
// template FlowSets (ID 0) define the layout of data records, options template FlowSets
// (ID 1) define records about the exporter itself (sampling, interface names), and data
// FlowSets (ID 256 and up) carry records in the layout of the template of that ID. Record
// times are milliseconds of the exporter's sysUptime; the header gives the sysUptime and the
// wall-clock second at export.
//
// [Parser] reads packets held by the caller and keeps templates in a [template.Cache],
// which parsers on several goroutines may share. Data that arrives before its template is
// held by the cache and decoded when the template comes, after the records of the packet
// that brought it. [Builder] appends packets to a caller's buffer: templates, data records
// and sampling options, with templates resent by packet count and by time.
package netflow9

import (
	"encoding/binary"
	"net/netip"
	"strconv"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/template"
)

// Sizes and identifiers of the format.
const (
	Version              = 9   // the version field's value
	HeaderLen            = 20  // bytes in the packet header
	TemplateSetID        = 0   // FlowSet ID of template FlowSets
	OptionsTemplateSetID = 1   // FlowSet ID of options template FlowSets
	MinDataSetID         = 256 // data FlowSets use the ID of their template, 256 and up
)

// Header is the packet header.
type Header struct {
	// Count is the number of records (templates, options templates and data records) the
	// exporter says the packet holds. Exporters get it wrong often enough that the parser
	// does not rely on it.
	Count uint16
	// SysUptime is the exporter's uptime at export, in milliseconds.
	SysUptime uint32
	// UnixSecs is the wall-clock time at export, in seconds.
	UnixSecs uint32
	// Sequence counts the packets the exporter sent for this source ID before this one.
	Sequence uint32
	// SourceID identifies the exporting process (an observation domain, often a line card).
	SourceID uint32
}

// ExportTime returns the wall-clock time at which the packet was exported.
func (h *Header) ExportTime() flow.Time { return flow.Time(int64(h.UnixSecs) * 1e9) }

// Time converts a sysUptime value in milliseconds, as carried by FIRST_SWITCHED and
// LAST_SWITCHED, to wall-clock time: it counts back from the export time by
// SysUptime-uptime milliseconds, computed modulo 2^32 and read as signed. The modular
// difference stays right across the wrap of the uptime counter every 49.7 days; reading it
// as signed keeps a flow stamped a little after the header just after the export time.
// The header has whole seconds only, so times carry the exporter's sub-second offset
// between its uptime and wall clocks, as every NetFlow v9 collector's do.
func (h *Header) Time(uptime uint32) flow.Time {
	back := int64(int32(h.SysUptime - uptime))
	return h.ExportTime() - flow.Time(back*1e6)
}

func parseHeader(b []byte) Header {
	return Header{
		Count:     binary.BigEndian.Uint16(b[2:]),
		SysUptime: binary.BigEndian.Uint32(b[4:]),
		UnixSecs:  binary.BigEndian.Uint32(b[8:]),
		Sequence:  binary.BigEndian.Uint32(b[12:]),
		SourceID:  binary.BigEndian.Uint32(b[16:]),
	}
}

// Parser reads NetFlow v9 packets. The zero value is ready to use and keeps its templates
// in a cache of its own; set Cache to share templates between parsers. Keep one Parser per
// goroutine and call [Parser.Start] for every packet, so that reading allocates nothing in
// the steady state (learning a new template allocates).
//
// A Parser holds on to the packet passed to Start; records it returns alias it, or the
// parser's own buffer for sets that were held, until the next Start.
type Parser struct {
	// Cache holds templates and options state. Parsers that share it must be given
	// packets from the same exporters consistently; it is safe for concurrent use.
	Cache *template.Cache

	pkt     []byte // the packet given to Start
	msg     []byte // the message being read: pkt, or a released set with its header
	hdr     Header // header of msg
	session template.Session
	ctx     template.Context
	next    int // offset in msg of the next FlowSet
	sets    int // FlowSets read from pkt, for error messages

	// The data FlowSet being read.
	tmpl   *template.Template
	rec    int // offset in msg of its next record
	setEnd int

	// The current record.
	curT *template.Template
	cur  []byte

	released []byte // held sets released by templates of pkt, each length-prefixed
	relNext  int    // offset in released of the next one; -1 while reading pkt
	held     int    // sets of pkt held for lack of a template
	err      error
	fields   []template.Field
}

// Start begins reading a packet from exporter (the address and port it came from) and
// returns its header.
//
// Start checks the header only; FlowSets are read as [Parser.Next] reaches them, so that
// records before a malformed FlowSet are still decoded and [Parser.Err] reports the
// failure. The packet must be version 9 and hold a whole header; otherwise Start returns a
// [*flow.ParseError] wrapping [flow.ErrTruncated] or [flow.ErrVersion] and the parser yields
// no records.
//
// Templates are scoped by the exporter's address (not its port) and the source ID, as RFC
// 3954 section 5.1 says: an exporter whose line cards send from different ports, or that
// comes back on another port after a restart, keeps its templates. IPv4-mapped IPv6
// addresses are unmapped first.
func (p *Parser) Start(pkt []byte, exporter netip.AddrPort) (Header, error) {
	if p.Cache == nil {
		p.Cache = template.NewCache(template.Config{})
	}
	// Field by field rather than with a fresh struct: the Context alone is a few hundred
	// bytes, and copying it out and back in cost more per packet than the rest of Start.
	p.pkt, p.msg, p.next, p.sets, p.tmpl, p.rec, p.setEnd = nil, nil, 0, 0, nil, 0, 0
	p.curT, p.cur, p.released, p.relNext, p.held, p.err = nil, nil, p.released[:0], -1, 0, nil
	if len(pkt) < HeaderLen {
		return p.headerError(flow.ErrTruncated, "need 20 bytes, have "+strconv.Itoa(len(pkt)))
	}
	if v := binary.BigEndian.Uint16(pkt); v != Version {
		return p.headerError(flow.ErrVersion, "version "+strconv.Itoa(int(v)))
	}
	addr := exporter.Addr().Unmap()
	p.session = template.Session{Exporter: netip.AddrPortFrom(addr, 0), Protocol: flow.NetFlow9}
	p.ctx.Protocol, p.ctx.Exporter = flow.NetFlow9, addr
	p.pkt = pkt
	p.begin(pkt)
	return p.hdr, nil
}

// headerError fails Start: the parser is left with no packet.
func (p *Parser) headerError(err error, detail string) (Header, error) {
	p.hdr, p.session = Header{}, template.Session{}
	return Header{}, &flow.ParseError{Protocol: flow.NetFlow9, What: "header", Err: err, Detail: detail}
}

// begin starts reading a message: the packet, or a released set with its packet header.
func (p *Parser) begin(msg []byte) {
	p.msg, p.next, p.tmpl = msg, HeaderLen, nil
	p.hdr = parseHeader(msg)
	p.ctx.Domain = p.hdr.SourceID
	p.ctx.ExportTime = p.hdr.ExportTime()
	p.ctx.Uptime, p.ctx.HasUptime = p.hdr.SysUptime, true
	p.Cache.Bind(&p.ctx, p.session)
}

// Header returns the header of the packet the current record came in: the packet given to
// Start, or for a record of a held set, the earlier packet that brought that set.
func (p *Parser) Header() Header { return p.hdr }

// Err returns the first error met after Start: a malformed or truncated FlowSet (which ends
// the packet: what follows cannot be framed), or a template that was refused or did not
// fit its FlowSet (the rest of that FlowSet is skipped, the packet goes on). It wraps one of
// the flow package's sentinels in a [*flow.ParseError].
func (p *Parser) Err() error { return p.err }

// Held returns the number of data FlowSets of the packet held for lack of a template.
func (p *Parser) Held() int { return p.held }

// fail records the first error after Start. The message is put together from parts
// (strings and ints) in a stack buffer, so that an error costs few allocations.
func (p *Parser) fail(off int, err error, detail ...any) {
	if p.err != nil {
		return
	}
	var buf [160]byte
	what := "held FlowSet"
	if p.relNext < 0 {
		what = string(strconv.AppendInt(append(buf[:0], "FlowSet "...), int64(p.sets), 10))
	}
	b := buf[:0]
	for _, d := range detail {
		switch d := d.(type) {
		case string:
			b = append(b, d...)
		case int:
			b = strconv.AppendInt(b, int64(d), 10)
		}
	}
	p.err = &flow.ParseError{Protocol: flow.NetFlow9, What: what, Offset: off, Err: err, Detail: string(b)}
}

// Next advances to the next data record, flow or options, and reports whether there is
// one. Records of the packet come first, in packet order; then those of sets that earlier
// packets left waiting for a template this packet defined. Options records have already
// been applied to the cache when Next reaches them.
func (p *Parser) Next() bool {
	for {
		if p.tmpl != nil {
			if n, ok := p.tmpl.Next(p.msg[p.rec:p.setEnd]); ok {
				p.curT, p.cur = p.tmpl, p.msg[p.rec:p.rec+n]
				p.rec += n
				return true
			}
			p.tmpl = nil // what is left of the FlowSet is padding
		}
		if !p.nextSet() {
			p.curT, p.cur = nil, nil
			return false
		}
	}
}

// Record returns the current record as it is on the wire, with its template. Call it
// only after Next returned true.
func (p *Parser) Record() template.Record { return template.Record{Template: p.curT, Bytes: p.cur} }

// Options reports whether the current record is an options record.
func (p *Parser) Options() bool { return p.curT != nil && p.curT.Kind == template.Options }

// Flow fills r with the current record in the protocol-neutral model, overwriting every
// field: Exporter and Domain (the source ID) from the packet, times made absolute from the
// header (see [Header.Time]), and SamplingInterval and interface names from the exporter's
// options records when the record does not carry them. Call it only after Next returned true.
func (p *Parser) Flow(r *flow.Record) { p.curT.Fill(r, p.cur, &p.ctx) }

// AppendFlows appends the flow records that Next has not reached yet to dst, as Flow would
// fill them, and returns the extended slice; options records are skipped. Afterwards Next
// returns false. It allocates only when dst has no room, and costs less per record than
// calling Next and Flow for each.
func (p *Parser) AppendFlows(dst []flow.Record) []flow.Record {
	for {
		if t := p.tmpl; t != nil && t.Kind == template.Data {
			var n int
			dst, n = t.AppendSet(dst, p.msg[p.rec:p.setEnd], &p.ctx)
			p.rec += n
		}
		p.tmpl = nil
		if !p.nextSet() {
			p.curT, p.cur = nil, nil
			return dst
		}
	}
}

// nextSet moves to the next data FlowSet whose template is known, learning templates and
// holding sets on the way, and reports whether there is one.
func (p *Parser) nextSet() bool {
	for {
		if len(p.msg)-p.next < 4 {
			// The message is read; what is left is padding. Go on with released sets.
			if !p.nextReleased() {
				return false
			}
			continue
		}
		off := p.next
		id := binary.BigEndian.Uint16(p.msg[off:])
		length := int(binary.BigEndian.Uint16(p.msg[off+2:]))
		if p.relNext < 0 {
			p.sets++
		}
		if length < 4 {
			if !allZero(p.msg[off:]) {
				p.fail(off, flow.ErrMalformed, "length ", length, " < 4")
			}
			p.next = len(p.msg) // zero padding to the end, or nothing more can be framed
			continue
		}
		if off+length > len(p.msg) {
			p.fail(off, flow.ErrTruncated, "length ", length, ", ", len(p.msg)-off, " bytes left")
			p.next = len(p.msg)
			continue
		}
		p.next = off + length
		start, end := off+4, off+length
		switch {
		case id == TemplateSetID:
			p.templates(start, end)
		case id == OptionsTemplateSetID:
			p.optionsTemplates(start, end)
		case id < MinDataSetID:
			// Reserved FlowSet IDs: nothing to read.
		default:
			t := p.ctx.Lookup(id)
			if t == nil {
				if p.relNext < 0 && p.Cache.Hold(p.key(id), p.msg[:HeaderLen], p.msg[off:end]) {
					p.held++
				}
				continue
			}
			p.tmpl, p.rec, p.setEnd = t, start, end
			if t.Kind == template.Options {
				p.applyOptions(t, start, end)
			}
			return true
		}
	}
}

// nextReleased moves to the next released set, if any.
func (p *Parser) nextReleased() bool {
	if p.relNext < 0 {
		p.relNext = 0
	}
	if p.relNext+4 > len(p.released) {
		return false
	}
	n := int(binary.BigEndian.Uint32(p.released[p.relNext:]))
	blob := p.released[p.relNext+4 : p.relNext+4+n]
	p.relNext += 4 + n
	p.begin(blob)
	return true
}

func (p *Parser) key(id uint16) template.Key {
	return template.Key{Session: p.session, Domain: p.hdr.SourceID, ID: id}
}

func (p *Parser) applyOptions(t *template.Template, start, end int) {
	for off := start; ; {
		n, ok := t.Next(p.msg[off:end])
		if !ok {
			return
		}
		p.ctx.ApplyOptions(template.Record{Template: t, Bytes: p.msg[off : off+n]})
		off += n
	}
}

// templates reads a template FlowSet.
func (p *Parser) templates(off, end int) {
	for end-off >= 4 {
		id := binary.BigEndian.Uint16(p.msg[off:])
		count := int(binary.BigEndian.Uint16(p.msg[off+2:]))
		if id < MinDataSetID {
			if !allZero(p.msg[off:end]) {
				p.fail(off, flow.ErrMalformed, "template ID ", int(id), " < 256")
			}
			return
		}
		off += 4
		if count > (end-off)/4 {
			p.fail(off-4, flow.ErrMalformed, "template ", int(id), " has ", count, " fields, the FlowSet has room for ", (end-off)/4)
			return
		}
		p.fields = p.fields[:0]
		for i := 0; i < count; i++ {
			b := p.msg[off+4*i:]
			p.fields = append(p.fields, template.Field{ID: binary.BigEndian.Uint16(b), Length: binary.BigEndian.Uint16(b[2:])})
		}
		p.learn(id, template.Data, 0, off-4)
		off += 4 * count
	}
}

// optionsTemplates reads an options template FlowSet.
func (p *Parser) optionsTemplates(off, end int) {
	for end-off >= 6 {
		id := binary.BigEndian.Uint16(p.msg[off:])
		scopeLen := int(binary.BigEndian.Uint16(p.msg[off+2:]))
		optLen := int(binary.BigEndian.Uint16(p.msg[off+4:]))
		if id < MinDataSetID {
			if !allZero(p.msg[off:end]) {
				p.fail(off, flow.ErrMalformed, "options template ID ", int(id), " < 256")
			}
			return
		}
		if scopeLen%4 != 0 || optLen%4 != 0 {
			p.fail(off, flow.ErrMalformed, "options template ", int(id), ": scope length ", scopeLen,
				" or option length ", optLen, " not a multiple of 4")
			return
		}
		at := off
		off += 6
		if scopeLen+optLen > end-off {
			p.fail(at, flow.ErrMalformed, "options template ", int(id), " has ", scopeLen+optLen,
				" bytes of fields, the FlowSet has ", end-off)
			return
		}
		p.fields = p.fields[:0]
		for i := 0; i < (scopeLen+optLen)/4; i++ {
			b := p.msg[off+4*i:]
			p.fields = append(p.fields, template.Field{ID: binary.BigEndian.Uint16(b), Length: binary.BigEndian.Uint16(b[2:])})
		}
		p.learn(id, template.Options, scopeLen/4, at)
		off += scopeLen + optLen
	}
}

// learn stores the template in p.fields and queues the sets it releases.
func (p *Parser) learn(id uint16, kind template.Kind, scope int, off int) {
	k := p.key(id)
	if _, err := p.Cache.Learn(k, kind, scope, p.fields); err != nil {
		p.fail(off, flow.ErrLimit, "template ", int(id), ": ", err.Error())
		return
	}
	if !p.ctx.Bound() {
		p.Cache.Bind(&p.ctx, p.session)
	}
	p.released = p.Cache.Release(k, p.released)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
