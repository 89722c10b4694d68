package ipfix

import (
	"encoding/binary"
	"net/netip"
	"strconv"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/template"
)

// Parser reads IPFIX messages. The zero value is ready to use and keeps its templates in a
// cache of its own; set Cache to share templates between parsers, and Sequences to share
// sequence-number accounting. Keep one Parser per goroutine and call [Parser.Start] (UDP)
// or [Parser.StartSession] (TCP, SCTP, files) for every message, so that reading allocates
// nothing in the steady state (learning a new template allocates).
//
// A Parser holds on to the message passed to Start; records it returns alias it, or the
// parser's own buffer for sets that were held, until the next Start.
type Parser struct {
	// Cache holds templates and options state; it is safe for concurrent use.
	Cache *template.Cache
	// Sequences counts, per transport session and observation domain, the data records
	// the sequence numbers say were lost or came out of order. Nil: the parser keeps a
	// table of its own, made at the first message.
	Sequences *Sequences

	pkt      []byte // the message given to Start, cut to its Length
	trailing int    // bytes after it
	msg      []byte // the message being read: pkt, or a released set with its header
	hdr      Header // header of msg
	session  template.Session
	ctx      template.Context
	next     int // offset in msg of the next set
	sets     int // sets read from pkt, for error messages

	// The data set being read.
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

	// Sequence accounting of pkt: records counted so far, and whether pkt's records are
	// all read (then the count is committed to Sequences).
	seq        *seqState
	seqCount   uint32
	seqOpen    bool
	seqUnknown bool // some of its data records could not be counted
	seqDomain  uint32
	seqNumber  uint32
}

// Start begins reading a message that came over UDP from exporter (the address and port it
// came from) and returns its header.
//
// Templates are scoped by the exporter's address and port and the observation domain: RFC
// 7011 section 8 scopes templates by transport session, which for UDP is the pair of
// endpoints. They expire after the cache's Config.Lifetime unless resent, and a template
// resent with another definition replaces the old one. IPv4-mapped IPv6 addresses are
// unmapped first.
//
// Start checks the header only; sets are read as [Parser.Next] reaches them, so that records
// before a malformed set are still decoded and [Parser.Err] reports the failure. The message
// must be version 10, hold a whole header, and be at least as long as its Length field says;
// otherwise Start returns a [*flow.ParseError] wrapping [flow.ErrTruncated],
// [flow.ErrVersion] or [flow.ErrMalformed] and the parser yields no records. Bytes after
// Length are not read: [Parser.Trailing] counts them (in a file of messages back to back,
// the next one starts there).
func (p *Parser) Start(msg []byte, exporter netip.AddrPort) (Header, error) {
	exporter = netip.AddrPortFrom(exporter.Addr().Unmap(), exporter.Port())
	return p.StartSession(msg, template.Session{Exporter: exporter, Protocol: flow.IPFIX})
}

// StartSession is Start for a message of a given transport session. Set s.Stream for a TCP
// or SCTP connection (or a file, RFC 5655): its templates never expire, and a template
// redefined without being withdrawn first is an error wrapping [flow.ErrTemplate] (RFC 7011
// section 8.1 calls it a malfunction of the exporter and asks the collector to reset the
// session): the old definition stays and Err reports it. When the connection closes, call
// [Parser.EndSession] (or Cache.EndSession) so that its templates and sequence state go.
// s.Protocol is set to flow.IPFIX.
func (p *Parser) StartSession(msg []byte, s template.Session) (Header, error) {
	if p.Cache == nil {
		p.Cache = template.NewCache(template.Config{})
	}
	if p.Sequences == nil {
		p.Sequences = &Sequences{}
	}
	// A last message not read to its end is accounted for now, its record count unknown.
	p.commitSequence(false)
	// Field by field rather than with a fresh struct: the Context alone is a few hundred
	// bytes, and copying it out and back in cost more per message than the rest of Start.
	p.pkt, p.trailing, p.msg, p.next, p.sets, p.tmpl, p.rec, p.setEnd = nil, 0, nil, 0, 0, nil, 0, 0
	p.curT, p.cur, p.released, p.relNext, p.held, p.err = nil, nil, p.released[:0], -1, 0, nil
	p.seqCount, p.seqOpen, p.seqUnknown = 0, false, false
	if len(msg) < HeaderLen {
		return Header{}, p.headerError(0, flow.ErrTruncated, "need 16 bytes, have ", len(msg))
	}
	if v := binary.BigEndian.Uint16(msg); v != Version {
		return Header{}, p.headerError(0, flow.ErrVersion, "version ", int(v))
	}
	h := parseHeader(msg)
	switch {
	case int(h.Length) < HeaderLen:
		return h, p.headerError(2, flow.ErrMalformed, "length ", int(h.Length), " < 16")
	case int(h.Length) > len(msg):
		return h, p.headerError(2, flow.ErrTruncated, "length ", int(h.Length), ", have ", len(msg), " bytes")
	}
	s.Protocol = flow.IPFIX
	p.session = s
	p.ctx.Protocol, p.ctx.Exporter = flow.IPFIX, s.Exporter.Addr()
	p.pkt, p.trailing = msg[:h.Length], len(msg)-int(h.Length)
	p.begin(p.pkt)
	// Accounted for in one go when the message is read (commitSequence).
	p.seqOpen, p.seqDomain, p.seqNumber = true, h.Domain, h.Sequence
	return p.hdr, nil
}

// EndSession forgets a stream session that ended: its templates, options state and
// sequence accounting. Collectors call it when a TCP or SCTP connection closes.
func (p *Parser) EndSession(s template.Session) {
	s.Protocol = flow.IPFIX
	if p.Cache != nil {
		p.Cache.EndSession(s)
	}
	if p.Sequences != nil {
		p.Sequences.EndSession(s)
	}
	p.seq, p.seqOpen = nil, false
}

func (p *Parser) headerError(off int, err error, detail ...any) error {
	p.hdr, p.session = Header{}, template.Session{}
	p.fail(off, err, detail...)
	e := p.err.(*flow.ParseError)
	e.What = "header"
	return e
}

// begin starts reading a message: the packet, or a released set with its message header.
func (p *Parser) begin(msg []byte) {
	p.msg, p.next, p.tmpl = msg, HeaderLen, nil
	p.hdr = parseHeader(msg)
	p.ctx.Domain = p.hdr.Domain
	p.ctx.ExportTime = p.hdr.Time()
	p.ctx.Uptime, p.ctx.HasUptime = 0, false
	p.Cache.Bind(&p.ctx, p.session)
}

// Header returns the header of the message the current record came in: the message given
// to Start, or for a record of a held set, the earlier message that brought that set.
func (p *Parser) Header() Header { return p.hdr }

// Session returns the transport session of the message.
func (p *Parser) Session() template.Session { return p.session }

// Trailing returns the number of bytes after the message's Length in the buffer given to
// Start.
func (p *Parser) Trailing() int { return p.trailing }

// Err returns the first error met after Start: a malformed or truncated set (which ends the
// message: what follows cannot be framed), or a template that was malformed, refused or
// (on a stream) redefined (the rest of that set is skipped, the message goes on). It wraps
// one of the flow package's sentinels in a [*flow.ParseError].
func (p *Parser) Err() error { return p.err }

// Held returns the number of data sets of the message held for lack of a template.
func (p *Parser) Held() int { return p.held }

// fail records the first error after Start. The message is put together from parts
// (strings and ints) in a stack buffer, so that an error costs few allocations.
func (p *Parser) fail(off int, err error, detail ...any) {
	if p.err != nil {
		return
	}
	var buf [160]byte
	what := "held set"
	if p.relNext < 0 {
		what = string(strconv.AppendInt(append(buf[:0], "set "...), int64(p.sets), 10))
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
	p.err = &flow.ParseError{Protocol: flow.IPFIX, What: what, Offset: off, Err: err, Detail: string(b)}
}

// Next advances to the next data record, flow or options, and reports whether there is
// one. Records of the message come first, in message order; then those of sets that
// earlier messages left waiting for a template this message defined. Options records have
// already been applied to the cache when Next reaches them.
func (p *Parser) Next() bool {
	for {
		if p.tmpl != nil {
			if n, ok := p.tmpl.Next(p.msg[p.rec:p.setEnd]); ok {
				p.curT, p.cur = p.tmpl, p.msg[p.rec:p.rec+n]
				p.rec += n
				if p.relNext < 0 && p.tmpl.Kind == template.Data {
					p.seqCount++
				}
				return true
			}
			p.tmpl = nil // what is left of the set is padding
		}
		if !p.nextSet() {
			p.curT, p.cur = nil, nil
			return false
		}
	}
}

// Record returns the current record as it is on the wire, with its template. Call it only
// after Next returned true.
func (p *Parser) Record() template.Record { return template.Record{Template: p.curT, Bytes: p.cur} }

// Options reports whether the current record is an options record.
func (p *Parser) Options() bool { return p.curT != nil && p.curT.Kind == template.Options }

// Flow fills r with the current record in the protocol-neutral model, overwriting every
// field: Exporter and Domain from the message, times made absolute (flowStartSysUpTime and
// flowEndSysUpTime from the exporter's systemInitTimeMilliseconds, in the record or in an
// options record), and SamplingInterval and interface names from the exporter's options
// records when the record does not carry them. For a biflow (RFC 5103) it is the forward
// direction; see [Parser.Reverse]. Call it only after Next returned true.
func (p *Parser) Flow(r *flow.Record) { p.curT.Fill(r, p.cur, &p.ctx) }

// Reverse fills r with the reverse direction of the current record when it is an RFC 5103
// biflow record (its template carries reverse counters, elements under enterprise number
// 29305), and reports whether it is: addresses, ports, interfaces, AS numbers, masks and
// MACs swapped, counters, TCP flags and times from the reverse elements. Elements that have
// no reverse form (protocol, sampling) are shared. It allocates nothing. Call it only
// after Next returned true.
func (p *Parser) Reverse(r *flow.Record) bool { return p.curT.FillReverse(r, p.cur, &p.ctx) }

// AppendFlows appends the flow records that Next has not reached yet to dst, as Flow would
// fill them, and returns the extended slice; options records are skipped. The record of a
// biflow is followed by its reverse direction, as Reverse fills it, when that counted
// anything: what a collector wants, both directions' traffic. Afterwards Next returns
// false. It allocates only when dst has no room, and costs less per record than calling
// Next and Flow for each.
func (p *Parser) AppendFlows(dst []flow.Record) []flow.Record {
	for {
		if t := p.tmpl; t != nil && t.Kind == template.Data {
			var n int
			if t.Biflow() {
				dst, n = p.appendBiflows(dst, t)
			} else {
				at := len(dst)
				var used int
				dst, used = t.AppendSet(dst, p.msg[p.rec:p.setEnd], &p.ctx)
				p.rec += used
				n = len(dst) - at
			}
			if p.relNext < 0 {
				p.seqCount += uint32(n)
			}
		}
		p.tmpl = nil
		if !p.nextSet() {
			p.curT, p.cur = nil, nil
			return dst
		}
	}
}

// appendBiflows appends the rest of the current set's records, biflows of t, each with its
// reverse direction when it has one, and returns dst and the number of records read.
func (p *Parser) appendBiflows(dst []flow.Record, t *template.Template) ([]flow.Record, int) {
	n := 0
	for {
		l, ok := t.Next(p.msg[p.rec:p.setEnd])
		if !ok {
			return dst, n
		}
		rec := p.msg[p.rec : p.rec+l]
		dst = append(dst, flow.Record{}, flow.Record{})
		t.Fill(&dst[len(dst)-2], rec, &p.ctx)
		if !t.FillReverse(&dst[len(dst)-1], rec, &p.ctx) {
			dst = dst[:len(dst)-1]
		}
		p.rec += l
		n++
	}
}

// nextSet moves to the next data set whose template is known, learning templates and
// holding sets on the way, and reports whether there is one.
func (p *Parser) nextSet() bool {
	for {
		if len(p.msg)-p.next < SetHeaderLen {
			if p.relNext < 0 && len(p.msg)-p.next > 0 && !allZero(p.msg[p.next:]) {
				p.sets++
				p.fail(p.next, flow.ErrMalformed, len(p.msg)-p.next, " bytes after the last set")
			}
			// The message is read. Go on with released sets.
			if p.relNext < 0 {
				p.commitSequence(true)
			}
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
		if length < SetHeaderLen {
			// Zero bytes to the end are padding some exporters add after the last set
			// (though RFC 7011 has padding only inside sets); anything else cannot be framed.
			if !allZero(p.msg[off:]) {
				p.fail(off, flow.ErrMalformed, "length ", length, " < 4")
				p.seqLost()
			}
			p.next = len(p.msg)
			continue
		}
		if off+length > len(p.msg) && p.relNext < 0 && off+length <= len(p.pkt)+p.trailing {
			// The set runs past the message's Length but not past the datagram: some
			// exporters (scapy-built ones, telegraf's issue 14370) get the header's length
			// wrong, and the sets' lengths, which frame the records, are the ones to trust.
			p.trailing -= off + length - len(p.pkt)
			p.pkt = p.pkt[:off+length]
			p.msg = p.pkt
		}
		if off+length > len(p.msg) {
			p.fail(off, flow.ErrTruncated, "length ", length, ", ", len(p.msg)-off, " bytes left")
			p.seqLost()
			p.next = len(p.msg)
			continue
		}
		p.next = off + length
		start, end := off+SetHeaderLen, off+length
		switch {
		case id == TemplateSetID:
			p.templates(start, end, template.Data)
		case id == OptionsTemplateSetID:
			p.templates(start, end, template.Options)
		case id < MinDataSetID:
			// Set IDs 0 and 1 are NetFlow v9's, 4 to 255 reserved: nothing to read.
		default:
			t := p.ctx.Lookup(id)
			if t == nil {
				if p.relNext < 0 {
					if p.Cache.Hold(p.key(id), p.msg[:HeaderLen], p.msg[off:end]) {
						p.held++
					}
					// Its records count in the sequence, but how many there are is unknown.
					p.seqLost()
				}
				continue
			}
			p.tmpl, p.rec, p.setEnd = t, start, end
			if t.Kind == template.Options {
				n := p.applyOptions(t, start, end)
				if p.relNext < 0 {
					p.seqCount += uint32(n)
				}
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
	return template.Key{Session: p.session, Domain: p.hdr.Domain, ID: id}
}

// applyOptions applies the options records of a set to the cache and returns their number.
func (p *Parser) applyOptions(t *template.Template, start, end int) int {
	count := 0
	for off := start; ; count++ {
		n, ok := t.Next(p.msg[off:end])
		if !ok {
			return count
		}
		p.ctx.ApplyOptions(template.Record{Template: t, Bytes: p.msg[off : off+n]})
		off += n
	}
}

// templates reads a template set (kind Data) or an options template set (kind Options).
func (p *Parser) templates(off, end int, kind template.Kind) {
	for end-off >= 4 {
		at := off
		id := binary.BigEndian.Uint16(p.msg[off:])
		count := int(binary.BigEndian.Uint16(p.msg[off+2:]))
		setID := TemplateSetID
		if kind == template.Options {
			setID = OptionsTemplateSetID
		}
		reserved := id < MinDataSetID
		if reserved {
			switch {
			case int(id) == setID && count == 0:
				// Withdrawal of all templates (or all options templates) of the domain.
				p.Cache.WithdrawAll(p.session, p.hdr.Domain, kind)
				off += 4
				continue
			case allZero(p.msg[off:end]):
				return // padding
			}
			// A record under a reserved ID is still framed by its field count: it is
			// refused below, and the templates after it in the set are read.
			p.fail(at, flow.ErrMalformed, "template ID ", int(id), " < 256")
		}
		off += 4
		if reserved && count == 0 {
			continue
		}
		if count == 0 {
			// Withdrawal of one template (RFC 7011 section 8.1), in either kind of set.
			p.Cache.Withdraw(p.key(id))
			continue
		}
		scope := 0
		if kind == template.Options {
			if end-off < 2 {
				p.fail(at, flow.ErrMalformed, "options template ", int(id), " ends before its scope field count")
				return
			}
			scope = int(binary.BigEndian.Uint16(p.msg[off:]))
			off += 2
		}
		// Each field specifier takes 4 bytes, 8 with an enterprise number.
		if count > (end-off)/4 {
			p.fail(at, flow.ErrMalformed, "template ", int(id), " has ", count, " fields, the set has room for ", (end-off)/4)
			return
		}
		p.fields = p.fields[:0]
		for i := 0; i < count; i++ {
			if end-off < 4 {
				p.fail(at, flow.ErrMalformed, "template ", int(id), " field ", i, " runs past the set")
				return
			}
			fid := binary.BigEndian.Uint16(p.msg[off:])
			f := template.Field{ID: fid &^ EnterpriseBit, Length: binary.BigEndian.Uint16(p.msg[off+2:])}
			off += 4
			if fid&EnterpriseBit != 0 {
				if end-off < 4 {
					p.fail(at, flow.ErrMalformed, "template ", int(id), " field ", i, " enterprise number runs past the set")
					return
				}
				f.Enterprise = binary.BigEndian.Uint32(p.msg[off:])
				off += 4
			}
			p.fields = append(p.fields, f)
		}
		if reserved {
			continue
		}
		if kind == template.Options && (scope == 0 || scope > count) {
			// The template is framed, so the set goes on; it is not learnt.
			p.fail(at, flow.ErrMalformed, "options template ", int(id), " has scope field count ", scope, " of ", count, " fields")
			continue
		}
		p.learn(id, kind, scope, at)
	}
}

// learn stores the template in p.fields and queues the sets it releases.
func (p *Parser) learn(id uint16, kind template.Kind, scope int, off int) {
	k := p.key(id)
	if p.session.Stream {
		if old := p.ctx.Lookup(id); old != nil && !old.Equal(kind, scope, p.fields) {
			p.fail(off, flow.ErrTemplate, "template ", int(id), " redefined without a withdrawal on a stream session")
			return
		}
	}
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
