package template

import (
	"github.com/flowkit/flow"
)

// VarLen is the field length that announces a variable-length field (RFC 7011 section
// 7): each value is preceded by its length in one byte, or by 255 and the length in two.
const VarLen = 0xffff

// Field is one field specifier of a template.
type Field struct {
	// ID is the element ID (an IPFIX information element without its enterprise bit, or a
	// NetFlow v9 field type). In the scope fields of a NetFlow v9 options template it is the
	// scope type (1 System, 2 Interface, 3 Line Card, 4 Cache, 5 Template) instead.
	ID uint16
	// Length is the field's length in bytes in every record, or VarLen.
	Length uint16
	// Enterprise is the private enterprise number of an enterprise-specific element; 0 for
	// IANA elements and for every NetFlow v9 field.
	Enterprise uint32
}

// Element returns the registry entry of the field's element for the given protocol
// (NetFlow v9 field types and IPFIX elements share numbers, but v9 vendor types do not
// carry an enterprise number).
func (f Field) Element(p flow.Protocol) (Element, bool) {
	if p == flow.NetFlow9 {
		return LookupV9(f.ID)
	}
	return Lookup(f.ID, f.Enterprise)
}

// Kind tells data templates from options templates.
type Kind uint8

// Template kinds.
const (
	// Data templates describe flow records.
	Data Kind = iota
	// Options templates describe records about the exporter itself (sampling parameters,
	// interface names, statistics): their first ScopeCount fields say what the record is
	// about.
	Options
)

// Template is a template or options template as an exporter defined it, with its compiled
// decode plan. A Template is immutable once the cache holds it, so a decoder may keep using
// one after a redefinition replaced it in the cache.
type Template struct {
	// ID is the template ID (256–65535).
	ID uint16
	// Kind says whether this is a data or an options template.
	Kind Kind
	// ScopeCount is the number of scope fields at the start of Fields (options templates;
	// it may be 0 when an exporter sends an options template without scope).
	ScopeCount int
	// Fields are the field specifiers in wire order, scope fields first.
	Fields []Field
	// Protocol is the protocol that defined the template: it says how field IDs are read
	// (v9 scope types, enterprise numbers).
	Protocol flow.Protocol

	minLen   int  // bytes of every record when !variable; the least a record can take otherwise
	fixedLen int  // bytes the plan reads: minLen, or the gathered record's length when variable
	variable bool // some field has length VarLen
	// firstVar is the index of the first variable-length field (len(Fields) when none),
	// prefixLen the bytes before it, the same in every record.
	firstVar, prefixLen int
	// tail is what follows the first variable-length field, as Next walks it: VarLen for a
	// variable-length field, the summed length of each run of fixed-length fields between.
	tail []uint16
	// oneVar says the template has one variable-length field, varAfter the bytes of the
	// fixed-length fields after it.
	oneVar   bool
	varAfter int
	// inPlace says the plan reads records as they are on the wire: every field it maps
	// has the same offset in every record.
	inPlace bool
	ops     []op // the decode plan: one entry per field that sets part of a flow.Record

	// What the finishing pass of the plan has to do (see Template.finish).
	endSet, durationOp, samplerOp, bootOp bool
	samplingOp                            bool
	startUptime, endUptime                bool
	pending                               bool // some step leaves a value in Context.tmp
	opts                                  optionsPlan

	// RFC 5103 biflows: rev decodes the reverse direction of a record of a template with
	// reverse counters (the same fields, compiled with a reversed mapping); reversed marks
	// such a compilation.
	rev      *Template
	reversed bool
}

// RecordLen returns the length of a record and true for a template whose fields all have a
// fixed length, or the least a record can take and false for one with variable-length fields.
func (t *Template) RecordLen() (int, bool) { return t.minLen, !t.variable }

// Equal reports whether t has the given definition.
func (t *Template) Equal(kind Kind, scopeCount int, fields []Field) bool {
	if t.Kind != kind || t.ScopeCount != scopeCount || len(t.Fields) != len(fields) {
		return false
	}
	for i, f := range fields {
		if t.Fields[i] != f {
			return false
		}
	}
	return true
}

// New compiles a template definition. It copies fields. The protocol says how the field
// IDs are to be read: flow.NetFlow9 (scope fields are v9 scope types, no enterprise
// numbers) or flow.IPFIX.
func New(p flow.Protocol, id uint16, kind Kind, scopeCount int, fields []Field) *Template {
	t := &Template{ID: id, Kind: kind, ScopeCount: scopeCount, Protocol: p}
	t.Fields = append([]Field(nil), fields...)
	t.compile()
	return t
}

// Next returns the length of the record at the start of b and true, or 0 and false when b
// is too short to hold one (or, for variable-length fields, when a length prefix points
// past the end of b). A template whose records take no bytes at all yields false too: such
// records cannot be told apart from padding.
func (t *Template) Next(b []byte) (int, bool) {
	if t.minLen == 0 && !t.variable || len(b) < t.minLen {
		return 0, false
	}
	if !t.variable {
		return t.minLen, true
	}
	if l := t.shortLen(b); l > 0 {
		return l, true
	}
	// len(b) >= minLen covers the fixed-length fields before the first variable one; the
	// rest are walked as t.tail has them, runs of fixed-length fields taken together.
	off := t.prefixLen
	for _, l := range t.tail {
		if l != VarLen {
			off += int(l)
			continue
		}
		if off >= len(b) {
			return 0, false
		}
		n := int(b[off])
		off++
		if n == 255 {
			if off+2 > len(b) {
				return 0, false
			}
			n = int(b[off])<<8 | int(b[off+1])
			off += 2
		}
		off += n
	}
	if off > len(b) {
		return 0, false
	}
	return off, true
}

// shortLen returns the length of the record at the start of b for a template with one
// variable-length field whose length the record gives in the one-byte form, when b holds
// the record whole; otherwise 0, and Next's walk decides. Small enough to be inlined where
// records are measured one after another.
func (t *Template) shortLen(b []byte) int {
	if !t.oneVar || len(b) < t.minLen {
		return 0
	}
	v := int(b[t.prefixLen])
	if l := t.prefixLen + 1 + v + t.varAfter; v < 255 && l <= len(b) {
		return l
	}
	return 0
}

// fieldLen returns the length and start of the value of a field of wire length l at off:
// for a variable-length field, after its one- or three-byte length prefix.
func fieldLen(b []byte, off int, l uint16) (n, start int, ok bool) {
	if l != VarLen {
		n = int(l)
		if off+n > len(b) {
			return 0, 0, false
		}
		return n, off, true
	}
	if off >= len(b) {
		return 0, 0, false
	}
	n, start = int(b[off]), off+1
	if n == 255 {
		if off+3 > len(b) {
			return 0, 0, false
		}
		n, start = int(b[off+1])<<8|int(b[off+2]), off+3
	}
	if start+n > len(b) {
		return 0, 0, false
	}
	return n, start, true
}

// Record is one data record as it is on the wire: its template and its bytes, which alias
// the message it came in. It gives every field raw, so that elements the flow.Record model
// does not carry can still be read.
type Record struct {
	Template *Template
	// Bytes is the whole record.
	Bytes []byte
}

// Len returns the number of fields.
func (r Record) Len() int {
	if r.Template == nil {
		return 0
	}
	return len(r.Template.Fields)
}

// Options reports whether the record is an options record.
func (r Record) Options() bool { return r.Template != nil && r.Template.Kind == Options }

// Field returns the i-th field specifier and its value, aliasing the message; for a
// variable-length field, the value without its length prefix. It costs a walk over the
// fields before i when the template has variable-length fields; [Record.All] walks once.
func (r Record) Field(i int) (Field, []byte) {
	t := r.Template
	if !t.variable {
		off := 0
		for _, f := range t.Fields[:i] {
			off += int(f.Length)
		}
		f := t.Fields[i]
		return f, r.Bytes[off : off+int(f.Length)]
	}
	var f Field
	var v []byte
	for j, fv := range r.All {
		if j == i {
			f, v = fv.Field, fv.Value
			break
		}
	}
	return f, v
}

// FieldValue is a field specifier and the field's value in one record.
type FieldValue struct {
	Field
	// Value aliases the message; for a variable-length field it excludes the length prefix.
	Value []byte
	// Scope is true for the scope fields of an options record.
	Scope bool
}

// All yields the record's fields in order, with their index. Use it as
//
//	for i, fv := range rec.All { … }
func (r Record) All(yield func(int, FieldValue) bool) {
	t := r.Template
	if t == nil {
		return
	}
	off := 0
	for i, f := range t.Fields {
		n, start, ok := fieldLen(r.Bytes, off, f.Length)
		if !ok {
			return
		}
		if !yield(i, FieldValue{Field: f, Value: r.Bytes[start : start+n], Scope: i < t.ScopeCount}) {
			return
		}
		off = start + n
	}
}

// Get returns the value of the first non-scope field with the given element ID and
// enterprise number (0 for IANA and NetFlow v9), and whether there is one.
func (r Record) Get(id uint16, enterprise uint32) ([]byte, bool) {
	for _, fv := range r.All {
		if !fv.Scope && fv.ID == id && fv.Enterprise == enterprise {
			return fv.Value, true
		}
	}
	return nil, false
}

// Scope returns the value of the first scope field with the given ID (for NetFlow v9, a
// scope type) and enterprise number, and whether there is one.
func (r Record) Scope(id uint16, enterprise uint32) ([]byte, bool) {
	for _, fv := range r.All {
		if fv.Scope && fv.ID == id && fv.Enterprise == enterprise {
			return fv.Value, true
		}
	}
	return nil, false
}
