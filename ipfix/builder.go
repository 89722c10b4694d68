package ipfix

import (
	"encoding/binary"
	"errors"
	"slices"
	"time"
	"unsafe"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/template"
)

// Template IDs of the Builder's own templates, and the first ID it gives the caller's.
const (
	TemplateIPv4       = 256 // flow records with IPv4 addresses
	TemplateIPv6       = 257 // flow records with IPv6 addresses (or one of each family)
	TemplateBiflowIPv4 = 258 // RFC 5103 biflows with IPv4 addresses
	TemplateBiflowIPv6 = 259 // RFC 5103 biflows with IPv6 addresses
	TemplateSampling   = 260 // options: the domain's sampling interval and algorithm
	// FirstCallerTemplate is the ID [Builder.AddTemplate] gives the first template it defines;
	// the next get the following IDs.
	FirstCallerTemplate = 512
)

// flowFields lists what the Builder's flow templates carry, in wire order: every part of a
// flow.Record that has an information element, at the width of the Record's field (so
// nothing saturates; callers who want reduced-size counters define their own template).
// The address, prefix length and ICMP elements are the IPv4 ones; the IPv6 templates use
// those of v6IDs in their places.
var flowFields = [...]template.Field{
	{ID: 8, Length: 4},   // sourceIPv4Address
	{ID: 12, Length: 4},  // destinationIPv4Address
	{ID: 15, Length: 4},  // ipNextHopIPv4Address
	{ID: 18, Length: 4},  // bgpNextHopIPv4Address
	{ID: 1, Length: 8},   // octetDeltaCount
	{ID: 2, Length: 8},   // packetDeltaCount
	{ID: 152, Length: 8}, // flowStartMilliseconds
	{ID: 153, Length: 8}, // flowEndMilliseconds
	{ID: 7, Length: 2},   // sourceTransportPort
	{ID: 11, Length: 2},  // destinationTransportPort: ICMP type<<8 | code for ICMP, as NetFlow has it
	{ID: 32, Length: 2},  // icmpTypeCodeIPv4: the same, where IPFIX collectors look for it
	{ID: 10, Length: 4},  // ingressInterface
	{ID: 14, Length: 4},  // egressInterface
	{ID: 16, Length: 4},  // bgpSourceAsNumber
	{ID: 17, Length: 4},  // bgpDestinationAsNumber
	{ID: 70, Length: 3},  // mplsTopLabelStackSection
	{ID: 6, Length: 2},   // tcpControlBits
	{ID: 4, Length: 1},   // protocolIdentifier
	{ID: 5, Length: 1},   // ipClassOfService
	{ID: 9, Length: 1},   // sourceIPv4PrefixLength
	{ID: 13, Length: 1},  // destinationIPv4PrefixLength
	{ID: 58, Length: 2},  // vlanId
	{ID: 59, Length: 2},  // postVlanId
	{ID: 56, Length: 6},  // sourceMacAddress
	{ID: 80, Length: 6},  // destinationMacAddress
	{ID: 61, Length: 1},  // flowDirection
	{ID: 136, Length: 1}, // flowEndReason
	{ID: 38, Length: 1},  // engineType
	{ID: 39, Length: 1},  // engineId
}

// v6IDs maps the IPv4 elements of flowFields to their IPv6 counterparts.
var v6IDs = map[uint16]uint16{8: 27, 12: 28, 15: 62, 18: 63, 9: 29, 13: 30, 32: 139}

// reverseFields are what a biflow record adds for the reverse direction (RFC 5103): the
// counters, flags and times, the parts of a flow that differ between its two directions.
var reverseFields = [...]template.Field{
	{ID: 1, Length: 8, Enterprise: template.ReversePEN},   // reverseOctetDeltaCount
	{ID: 2, Length: 8, Enterprise: template.ReversePEN},   // reversePacketDeltaCount
	{ID: 6, Length: 2, Enterprise: template.ReversePEN},   // reverseTcpControlBits
	{ID: 152, Length: 8, Enterprise: template.ReversePEN}, // reverseFlowStartMilliseconds
	{ID: 153, Length: 8, Enterprise: template.ReversePEN}, // reverseFlowEndMilliseconds
}

// samplingFields is the sampling options template: scope observationDomainId, then
// samplingInterval and samplingAlgorithm (deprecated in IPFIX, but what NetFlow-era
// collectors read), and the PSAMP selectorAlgorithm, samplingPacketInterval and
// samplingPacketSpace (RFC 5477) that describe the same 1-in-N.
var samplingFields = [...]template.Field{
	{ID: 149, Length: 4}, // observationDomainId (scope)
	{ID: 34, Length: 4},  // samplingInterval
	{ID: 35, Length: 1},  // samplingAlgorithm
	{ID: 304, Length: 2}, // selectorAlgorithm
	{ID: 305, Length: 4}, // samplingPacketInterval
	{ID: 306, Length: 4}, // samplingPacketSpace
}

const samplingRecLen = 4 + 4 + 1 + 2 + 4 + 4

// builderTemplate is a template a Builder can write: its template record as it goes on the
// wire, and how to encode its records.
type builderTemplate struct {
	id      uint16
	options bool
	wire    []byte // the template record
	plan    encPlan
	recLen  int
	check   *template.Template // measures raw records of caller templates
	builtin bool
}

func newBuilderTemplate(id uint16, scopeCount int, fields []template.Field) (builderTemplate, error) {
	plan, err := compilePlan(fields, false)
	if err != nil {
		return builderTemplate{}, err
	}
	t := builderTemplate{id: id, options: scopeCount > 0, plan: plan, recLen: plan.recLen}
	w := binary.BigEndian.AppendUint16(nil, id)
	w = binary.BigEndian.AppendUint16(w, uint16(len(fields)))
	if t.options {
		w = binary.BigEndian.AppendUint16(w, uint16(scopeCount))
	}
	for _, f := range fields {
		if f.Enterprise != 0 {
			w = binary.BigEndian.AppendUint16(w, f.ID|EnterpriseBit)
			w = binary.BigEndian.AppendUint16(w, f.Length)
			w = binary.BigEndian.AppendUint32(w, f.Enterprise)
		} else {
			w = binary.BigEndian.AppendUint16(w, f.ID)
			w = binary.BigEndian.AppendUint16(w, f.Length)
		}
	}
	t.wire = w
	kind := template.Data
	if t.options {
		kind = template.Options
	}
	t.check = template.New(flow.IPFIX, id, kind, scopeCount, fields)
	return t, nil
}

// builtins are the Builder's own templates, indexed as the bits of domainState.sent.
var builtins = func() [5]builderTemplate {
	v4 := flowFields[:]
	v6 := make([]template.Field, len(flowFields))
	for i, f := range flowFields {
		if id, ok := v6IDs[f.ID]; ok {
			f.ID = id
			if f.Length == 4 {
				f.Length = 16
			}
		}
		v6[i] = f
	}
	defs := [...]struct {
		id     uint16
		scope  int
		fields []template.Field
	}{
		{TemplateIPv4, 0, v4},
		{TemplateIPv6, 0, v6},
		{TemplateBiflowIPv4, 0, append(append([]template.Field(nil), v4...), reverseFields[:]...)},
		{TemplateBiflowIPv6, 0, append(append([]template.Field(nil), v6...), reverseFields[:]...)},
		{TemplateSampling, 1, samplingFields[:]},
	}
	var ts [5]builderTemplate
	for i, d := range defs {
		t, err := newBuilderTemplate(d.id, d.scope, d.fields)
		if err != nil {
			panic(err) // the definitions above are wrong
		}
		t.builtin = true
		ts[i] = t
	}
	return ts
}()

// Indexes of the builtins.
const (
	idxIPv4 = iota
	idxIPv6
	idxBiflowIPv4
	idxBiflowIPv6
	idxSampling
)

// Errors of the Builder's caller-template methods.
var (
	errUnknownTemplate = errors.New("ipfix: no such template in this Builder")
	errRecordLen       = errors.New("ipfix: record does not match its template's length")
	errNoFields        = errors.New("ipfix: a template needs fields, and no more scope fields than fields")
	errTooManyTemplate = errors.New("ipfix: no template ID left")
)

// Builder appends IPFIX messages to a caller's buffer: [Builder.Start] writes a header,
// [Builder.AddFlow] and its kin append data records until the message reaches MaxSize,
// [Builder.Finish] completes it. [Builder.AddFlows] and [Builder.AddFlowsWith] append many
// records at once, for a fraction of the cost per record.
//
// A template goes into a message just before the first data record that uses it, and again
// after every TemplateRefresh messages and every TemplateInterval of the observation domain
// (RFC 7011 section 8.4 asks exporters over UDP to resend them): a template that is not used
// is not sent. Over a stream, [Builder.Templates] writes the whole set for a new connection.
// Sequence numbers and template timers are kept per observation domain, so one Builder can
// export for several. A Builder never allocates once it has seen its domains, when the
// buffer passed to Start has room for MaxSize bytes.
type Builder struct {
	// Domain is the observation domain ID the next Start writes; it may change between
	// messages.
	Domain uint32
	// MaxSize bounds a message in bytes (default 1400, to fit an Ethernet MTU with room for
	// tunnels; at most 65535).
	MaxSize int
	// TemplateRefresh and TemplateInterval say when templates are sent again: after this
	// many messages of the domain (default 20), and when this much time has passed (default
	// 1 minute).
	TemplateRefresh  int
	TemplateInterval time.Duration
	// SamplingInterval, when not 0, is announced in an options record (template
	// TemplateSampling, scope observationDomainId) before the first data record of the
	// domain and at each template refresh; collectors apply it to every record of the
	// domain. SamplingAlgorithm is 1 for deterministic (every Nth packet, PSAMP systematic
	// count-based) and 2 for random sampling (probability 1/N, PSAMP uniform probabilistic).
	SamplingInterval  uint32
	SamplingAlgorithm uint8

	caller  []builderTemplate
	domains []domainState
	dom     *domainState
	buf     []byte
	hdr     int // offset of the header in buf
	set     int // offset of the open set's header, or -1
	setID   uint16
	records int // data records in the message, options records included (the sequence counts them)
	flows   int // records the caller added
	open    bool
}

// domainState is what the Builder keeps per observation domain.
type domainState struct {
	id        uint32
	sequence  uint32
	messages  int // since the templates were last refreshed
	refreshed time.Time
	started   bool
	sent      []uint64 // bit i: template i (builtins, then the caller's) sent since the refresh
}

func (d *domainState) has(i int) bool {
	return i/64 < len(d.sent) && d.sent[i/64]&(1<<(i%64)) != 0
}

func (d *domainState) mark(i int) {
	for len(d.sent) <= i/64 {
		d.sent = append(d.sent, 0)
	}
	d.sent[i/64] |= 1 << (i % 64)
}

func (d *domainState) unmark(i int) {
	if i/64 < len(d.sent) {
		d.sent[i/64] &^= 1 << (i % 64)
	}
}

// Sequence returns the sequence number the next message of a domain will carry: the number
// of data records (options records included) sent in it so far, modulo 2^32.
func (b *Builder) Sequence(domain uint32) uint32 {
	for i := range b.domains {
		if b.domains[i].id == domain {
			return b.domains[i].sequence
		}
	}
	return 0
}

func (b *Builder) domain(id uint32) *domainState {
	for i := range b.domains {
		if b.domains[i].id == id {
			return &b.domains[i]
		}
	}
	b.domains = append(b.domains, domainState{id: id, sent: make([]uint64, 1+len(b.caller)/64)})
	return &b.domains[len(b.domains)-1]
}

func (b *Builder) defaults() {
	if b.MaxSize <= 0 {
		b.MaxSize = 1400
	}
	b.MaxSize = min(b.MaxSize, MaxMessageLen)
	if b.TemplateRefresh <= 0 {
		b.TemplateRefresh = 20
	}
	if b.TemplateInterval <= 0 {
		b.TemplateInterval = time.Minute
	}
}

// Start begins a message of the observation domain Domain at the end of dst, exported at
// now (written as whole seconds). When the domain's templates are due for a refresh, the
// data records that follow carry their templates again.
func (b *Builder) Start(dst []byte, now time.Time) {
	b.defaults()
	b.dom = b.domain(b.Domain)
	d := b.dom
	if !d.started || d.messages >= b.TemplateRefresh || now.Sub(d.refreshed) >= b.TemplateInterval {
		clear(d.sent)
		d.started, d.messages, d.refreshed = true, 0, now
	}
	b.buf, b.hdr, b.set, b.records, b.flows, b.open = dst, len(dst), -1, 0, 0, true
	b.buf = appendHeader(b.buf, now, d.sequence, b.Domain)
}

func appendHeader(b []byte, now time.Time, seq, domain uint32) []byte {
	b = binary.BigEndian.AppendUint16(b, Version)
	b = binary.BigEndian.AppendUint16(b, 0) // length, set when the message is complete
	b = binary.BigEndian.AppendUint32(b, uint32(now.Unix()))
	b = binary.BigEndian.AppendUint32(b, seq)
	return binary.BigEndian.AppendUint32(b, domain)
}

// Len returns the number of records the caller added to the message being built.
func (b *Builder) Len() int { return b.flows }

// AddFlow appends r as a data record of the IPv4 template, or of the IPv6 template when
// either address is IPv6 (an IPv4 address is then written IPv4-mapped), preceded by the
// template when the domain needs it. It returns [flow.ErrFull] when the record does not fit
// in MaxSize: Finish the message and Start another. It panics if Start was not called.
//
// Everything but the exporter, domain, sampling interval and interface names is written:
// the message header and the sampling options carry the first three. Absent next hops are
// written as zero addresses (and read back as 0.0.0.0 or ::); Direction unknown as 255;
// times as whole milliseconds, rounded down.
func (b *Builder) AddFlow(r *flow.Record) error {
	i := idxIPv4
	if isV6(r) {
		i = idxIPv6
	}
	_, err := b.addFlows(i, unsafe.Slice(r, 1), nil)
	return err
}

// AddFlows appends the records of rs as AddFlow would, in order, and returns how many it
// added. As with [io.Writer], an error comes with every shortfall: when n < len(rs), err
// is [flow.ErrFull] if the message has no room for rs[n] (Finish it, Start another and
// add rs[n:]). The message is byte for byte what AddFlow called for each record writes,
// but consecutive records of one address family are encoded together, each field of the
// template for all of them at once, which costs much less per record. It panics if Start
// was not called.
func (b *Builder) AddFlows(rs []flow.Record) (n int, err error) {
	for n < len(rs) {
		v6 := isV6(&rs[n])
		j := n + 1
		for j < len(rs) && isV6(&rs[j]) == v6 {
			j++
		}
		i := idxIPv4
		if v6 {
			i = idxIPv6
		}
		k, err := b.addFlows(i, rs[n:j], nil)
		if n += k; err != nil {
			return n, err
		}
	}
	return n, nil
}

// AddBiflow appends one RFC 5103 biflow record: the forward record fwd, with the reverse
// direction's octets, packets, TCP flags and start and end times taken from rev (elements
// under the reverse PEN 29305). The key fields (addresses, ports, protocol, interfaces) are
// fwd's; rev's are taken to be their mirror. Errors as AddFlow.
func (b *Builder) AddBiflow(fwd, rev *flow.Record) error {
	i := idxBiflowIPv4
	if isV6(fwd) {
		i = idxBiflowIPv6
	}
	_, err := b.addFlows(i, unsafe.Slice(fwd, 1), one(rev))
	return err
}

func isV6(r *flow.Record) bool { return !r.SrcAddr.Unmap().Is4() || !r.DstAddr.Unmap().Is4() }

// AddTemplate defines a template of the caller's choice and returns its ID. The first
// scopeCount fields are scope fields; scopeCount > 0 makes it an options template. Its
// records are added with [Builder.AddRecord] (raw bytes) or [Builder.AddFlowWith] (from a
// flow.Record, through an encode plan compiled here). Fields may use reduced-size encoding
// (RFC 7011 section 6.2); an element that flow.Record fills must have a length it can have
// (4 bytes for an IPv4 address, 1 to 8 for an unsigned integer, …). It allocates; call it
// before exporting.
func (b *Builder) AddTemplate(scopeCount int, fields []template.Field) (uint16, error) {
	if len(fields) == 0 || scopeCount < 0 || scopeCount > len(fields) || len(fields) > 0xffff {
		return 0, errNoFields
	}
	id := FirstCallerTemplate + len(b.caller)
	if id > 0xffff {
		return 0, errTooManyTemplate
	}
	t, err := newBuilderTemplate(uint16(id), scopeCount, fields)
	if err != nil {
		return 0, err
	}
	if HeaderLen+2*SetHeaderLen+len(t.wire)+t.recLen > MaxMessageLen {
		return 0, errors.New("ipfix: a template and one of its records do not fit in a message")
	}
	b.caller = append(b.caller, t)
	return uint16(id), nil
}

// index finds a template by ID: its bit index, or -1.
func (b *Builder) index(id uint16) int {
	if id >= TemplateIPv4 && id <= TemplateSampling {
		return int(id - TemplateIPv4)
	}
	if i := int(id) - FirstCallerTemplate; i >= 0 && i < len(b.caller) {
		return len(builtins) + i
	}
	return -1
}

func (b *Builder) tmpl(i int) *builderTemplate {
	if i < len(builtins) {
		return &builtins[i]
	}
	return &b.caller[i-len(builtins)]
}

// AddRecord appends rec, one record of the template id already encoded (variable-length
// fields with their length prefixes), preceded by the template when the domain needs it.
// It returns an error when id is not one of the Builder's templates or rec is not one
// whole record of it, and [flow.ErrFull] as AddFlow.
func (b *Builder) AddRecord(id uint16, rec []byte) error {
	i := b.index(id)
	if i < 0 {
		return errUnknownTemplate
	}
	if n, ok := b.tmpl(i).check.Next(rec); !ok || n != len(rec) {
		return errRecordLen
	}
	if rec == nil {
		rec = []byte{}
	}
	if !b.prepare(i, len(rec)) {
		return flow.ErrFull
	}
	b.buf = append(b.buf, rec...)
	b.records++
	b.flows++
	return nil
}

// AddFlowWith appends fwd as a record of the template id: each field that flow.Record has
// a value for is filled from it (from rev for RFC 5103 reverse elements; zeros when rev is
// nil), the others are written as zeros (variable-length ones empty). Errors as AddRecord.
func (b *Builder) AddFlowWith(id uint16, fwd, rev *flow.Record) error {
	i := b.index(id)
	if i < 0 || i == idxSampling {
		return errUnknownTemplate
	}
	_, err := b.addFlows(i, unsafe.Slice(fwd, 1), one(rev))
	return err
}

// one is the reverse record r as the batch encoder takes it: nil for none.
func one(r *flow.Record) []flow.Record {
	if r == nil {
		return nil
	}
	return unsafe.Slice(r, 1)
}

// AddFlowsWith appends the records of rs as AddFlowWith(id, &rs[k], nil) would, in
// order, and returns how many it added; when that is fewer than len(rs), err says why, as
// for [Builder.AddFlows], whose batch encoding it shares.
func (b *Builder) AddFlowsWith(id uint16, rs []flow.Record) (int, error) {
	i := b.index(id)
	if i < 0 || i == idxSampling {
		return 0, errUnknownTemplate
	}
	return b.addFlows(i, rs, nil)
}

// prepare readies the message for records of template i: it writes the sampling options,
// the template and a set header when they are due, and returns true, or returns false
// having written nothing when they and the first record (of size bytes) do not fit.
func (b *Builder) prepare(i, size int) bool {
	if !b.open {
		panic("ipfix: Builder used before Start")
	}
	t, d := b.tmpl(i), b.dom
	need := size
	sampling := b.SamplingInterval != 0 && !d.has(idxSampling)
	tpl := !d.has(i)
	if sampling {
		s := &builtins[idxSampling]
		need += 2*SetHeaderLen + len(s.wire) + samplingRecLen
	}
	if tpl {
		need += SetHeaderLen + len(t.wire)
	}
	if sampling || tpl || b.set < 0 || b.setID != t.id {
		need += SetHeaderLen
	}
	if len(b.buf)-b.hdr+need > b.MaxSize {
		return false
	}
	if sampling {
		b.appendSampling()
		d.mark(idxSampling)
	}
	if tpl {
		b.closeSet()
		b.buf = appendTemplateSet(b.buf, t)
		d.mark(i)
	}
	if b.set < 0 || b.setID != t.id {
		b.openSet(t.id)
	}
	return true
}

// addFlows appends as many of the records fwd as fit as records of template i, with the
// reverse records rev (nil, or as many as fwd), and returns how many, with flow.ErrFull
// when that is fewer than len(fwd). The message grows once for all of them.
func (b *Builder) addFlows(i int, fwd, rev []flow.Record) (int, error) {
	if len(fwd) == 0 {
		return 0, nil
	}
	t := b.tmpl(i)
	if !b.prepare(i, t.recLen) {
		return 0, flow.ErrFull
	}
	k := len(fwd)
	if t.recLen > 0 {
		k = min(k, 1+(b.MaxSize-(len(b.buf)-b.hdr)-t.recLen)/t.recLen)
	}
	at := len(b.buf)
	b.buf = slices.Grow(b.buf, k*t.recLen)[:at+k*t.recLen]
	if rev != nil {
		rev = rev[:k]
	}
	encodeSet(b.buf[at:], &t.plan, fwd[:k], rev)
	b.records += k
	b.flows += k
	if k < len(fwd) {
		return k, flow.ErrFull
	}
	return k, nil
}

func appendTemplateSet(buf []byte, t *builderTemplate) []byte {
	setID := uint16(TemplateSetID)
	if t.options {
		setID = OptionsTemplateSetID
	}
	buf = binary.BigEndian.AppendUint16(buf, setID)
	buf = binary.BigEndian.AppendUint16(buf, uint16(SetHeaderLen+len(t.wire)))
	return append(buf, t.wire...)
}

// appendSampling writes the sampling options template and its record.
func (b *Builder) appendSampling() {
	b.closeSet()
	b.buf = appendTemplateSet(b.buf, &builtins[idxSampling])
	b.buf = binary.BigEndian.AppendUint16(b.buf, TemplateSampling)
	b.buf = binary.BigEndian.AppendUint16(b.buf, SetHeaderLen+samplingRecLen)
	n := b.SamplingInterval
	b.buf = binary.BigEndian.AppendUint32(b.buf, b.Domain)
	b.buf = binary.BigEndian.AppendUint32(b.buf, n)
	alg, sel := byte(1), uint16(1) // deterministic: PSAMP systematic count-based
	if b.SamplingAlgorithm == 2 {
		alg, sel = 2, 4 // random: PSAMP uniform probabilistic
	}
	b.buf = append(b.buf, alg)
	b.buf = binary.BigEndian.AppendUint16(b.buf, sel)
	b.buf = binary.BigEndian.AppendUint32(b.buf, 1)   // one packet selected…
	b.buf = binary.BigEndian.AppendUint32(b.buf, n-1) // …then n-1 skipped
	b.records++
}

func (b *Builder) openSet(id uint16) {
	b.closeSet()
	b.set, b.setID = len(b.buf), id
	b.buf = binary.BigEndian.AppendUint16(b.buf, id)
	b.buf = binary.BigEndian.AppendUint16(b.buf, 0)
}

// closeSet writes the open data set's length. IPFIX sets need no padding (RFC 7011
// section 3.3.1 makes it optional), so none is written.
func (b *Builder) closeSet() {
	if b.set >= 0 {
		binary.BigEndian.PutUint16(b.buf[b.set+2:], uint16(len(b.buf)-b.set))
		b.set = -1
	}
}

// Withdraw appends to the open message a withdrawal of template id (RFC 7011 section 8.1:
// a template record with no fields, in a template set or, for an options template, an
// options template set), and forgets that the domain's collector has it, so that its next
// record carries it again. Withdrawals are for stream sessions; UDP collectors let
// templates expire instead. It returns [flow.ErrFull] when the message has no room, and an
// error when id is not one of the Builder's templates.
func (b *Builder) Withdraw(id uint16) error {
	i := b.index(id)
	if i < 0 {
		return errUnknownTemplate
	}
	setID := uint16(TemplateSetID)
	if b.tmpl(i).options {
		setID = OptionsTemplateSetID
	}
	if err := b.withdraw(setID, id); err != nil {
		return err
	}
	b.dom.unmark(i)
	return nil
}

// WithdrawAll appends to the open message the withdrawal of all templates and of all
// options templates of the domain (template IDs 2 and 3 with no fields, RFC 7011 section
// 8.1), and forgets that the collector has any. Errors as Withdraw.
func (b *Builder) WithdrawAll() error {
	if !b.open {
		panic("ipfix: Builder used before Start")
	}
	if len(b.buf)-b.hdr+2*(SetHeaderLen+4) > b.MaxSize {
		return flow.ErrFull
	}
	b.withdraw(TemplateSetID, TemplateSetID)
	b.withdraw(OptionsTemplateSetID, OptionsTemplateSetID)
	clear(b.dom.sent)
	return nil
}

func (b *Builder) withdraw(setID, id uint16) error {
	if !b.open {
		panic("ipfix: Builder used before Start")
	}
	if len(b.buf)-b.hdr+SetHeaderLen+4 > b.MaxSize {
		return flow.ErrFull
	}
	b.closeSet()
	b.buf = binary.BigEndian.AppendUint16(b.buf, setID)
	b.buf = binary.BigEndian.AppendUint16(b.buf, SetHeaderLen+4)
	b.buf = binary.BigEndian.AppendUint16(b.buf, id)
	b.buf = binary.BigEndian.AppendUint16(b.buf, 0)
	return nil
}

// SendTemplates makes every domain's next records carry their templates (and the sampling
// options) again, as a refresh does.
func (b *Builder) SendTemplates() {
	for i := range b.domains {
		clear(b.domains[i].sent)
	}
}

// Templates appends to dst, without touching a message being built, messages of the
// domain Domain that define every template of the Builder (its own and the caller's, the
// sampling options template included when SamplingInterval is set), as a stream session
// must open with them. They carry no data records: the sequence number does not advance.
// The sampling options record itself goes out with the domain's next data record, which
// Templates arranges.
func (b *Builder) Templates(dst []byte, now time.Time) []byte {
	b.defaults()
	seq := b.Sequence(b.Domain)
	for i := range b.domains {
		if b.domains[i].id == b.Domain {
			b.domains[i].unmark(idxSampling)
		}
	}
	hdr, set := len(dst), -1
	dst = appendHeader(dst, now, seq, b.Domain)
	for i := range len(builtins) + len(b.caller) {
		t := b.tmpl(i)
		if i == idxSampling && b.SamplingInterval == 0 {
			continue
		}
		setID := uint16(TemplateSetID)
		if t.options {
			setID = OptionsTemplateSetID
		}
		if len(dst)-hdr+SetHeaderLen+len(t.wire) > b.MaxSize && len(dst)-hdr > HeaderLen {
			// Another message for the rest.
			dst = finishSet(dst, set)
			binary.BigEndian.PutUint16(dst[hdr+2:], uint16(len(dst)-hdr))
			hdr, set = len(dst), -1
			dst = appendHeader(dst, now, seq, b.Domain)
		}
		if set < 0 || binary.BigEndian.Uint16(dst[set:]) != setID {
			dst = finishSet(dst, set)
			set = len(dst)
			dst = binary.BigEndian.AppendUint16(dst, setID)
			dst = binary.BigEndian.AppendUint16(dst, 0)
		}
		dst = append(dst, t.wire...)
	}
	dst = finishSet(dst, set)
	binary.BigEndian.PutUint16(dst[hdr+2:], uint16(len(dst)-hdr))
	return dst
}

func finishSet(dst []byte, set int) []byte {
	if set >= 0 {
		binary.BigEndian.PutUint16(dst[set+2:], uint16(len(dst)-set))
	}
	return dst
}

// Finish completes the message, advances the domain's sequence number by the data records
// it carries, and returns the buffer passed to Start with the message appended. A message
// with nothing in it is removed again. It panics if Start was not called.
func (b *Builder) Finish() []byte {
	if !b.open {
		panic("ipfix: Builder.Finish called before Start")
	}
	b.open = false
	b.closeSet()
	if len(b.buf)-b.hdr == HeaderLen {
		return b.buf[:b.hdr]
	}
	binary.BigEndian.PutUint16(b.buf[b.hdr+2:], uint16(len(b.buf)-b.hdr))
	b.dom.sequence += uint32(b.records)
	b.dom.messages++
	return b.buf
}
