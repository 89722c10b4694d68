package ipfix

import (
	"encoding/binary"
	"strconv"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/template"
)

// Structured data (RFC 6313): three information elements whose value is a list. A record
// carries one as a field, usually of variable length; pass the field's value (as
// template.Record.Get or All give it) to [ParseBasicList], [ParseSubTemplateList] or
// [ParseSubTemplateMultiList]. The lists are read lazily: parsing checks the list's own
// header, and an iterator walks its elements on demand, aliasing the message and
// allocating nothing. Lists nest: an element of a list may itself be a list field, read
// the same way.

// Element IDs of the structured data types.
const (
	BasicListElement            = 291
	SubTemplateListElement      = 292
	SubTemplateMultiListElement = 293
)

// Semantic values of a list (RFC 6313 section 4.4): how its elements relate to the record.
const (
	SemanticNoneOf       = 0x00
	SemanticExactlyOneOf = 0x01
	SemanticOneOrMoreOf  = 0x02
	SemanticAllOf        = 0x03
	SemanticOrdered      = 0x04
	SemanticUndefined    = 0xFF
)

// Templates finds templates by ID, for the records of sub-template lists: a
// [*template.Context] bound to the session and domain of the message (as
// [Parser.Templates] returns) is one.
type Templates interface {
	Lookup(id uint16) *template.Template
}

// Templates returns what finds the templates of the session and domain of the current
// record, for [ParseSubTemplateList] and [ParseSubTemplateMultiList]. It is valid until
// the next Start.
func (p *Parser) Templates() Templates { return &p.ctx }

func listError(what string, off int, err error, detail ...any) error {
	var buf [96]byte
	b := buf[:0]
	for _, d := range detail {
		switch d := d.(type) {
		case string:
			b = append(b, d...)
		case int:
			b = strconv.AppendInt(b, int64(d), 10)
		}
	}
	return &flow.ParseError{Protocol: flow.IPFIX, What: what, Offset: off, Err: err, Detail: string(b)}
}

// BasicList is a list of values of one information element.
type BasicList struct {
	Semantic uint8
	// Field is the element of every item; its Length is the items' length, or
	// template.VarLen when each item carries its own.
	Field template.Field
	items []byte
	off   int // offset of items in the list, for errors
}

// ParseBasicList reads the header of a basicList value: semantic, field specifier (with
// its enterprise number when the enterprise bit is set). Errors wrap flow.ErrTruncated
// or flow.ErrMalformed.
func ParseBasicList(b []byte) (BasicList, error) {
	if len(b) < 5 {
		return BasicList{}, listError("basicList", 0, flow.ErrTruncated, "header needs 5 bytes, have ", len(b))
	}
	id := binary.BigEndian.Uint16(b[1:])
	l := BasicList{Semantic: b[0], Field: template.Field{ID: id &^ EnterpriseBit, Length: binary.BigEndian.Uint16(b[3:])}}
	off := 5
	if id&EnterpriseBit != 0 {
		if len(b) < 9 {
			return BasicList{}, listError("basicList", 0, flow.ErrTruncated, "enterprise number needs 9 bytes, have ", len(b))
		}
		l.Field.Enterprise = binary.BigEndian.Uint32(b[5:])
		off = 9
	}
	if l.Field.Length == 0 && len(b) > off {
		return BasicList{}, listError("basicList", off, flow.ErrMalformed, "items of length 0 and ", len(b)-off, " bytes")
	}
	l.items, l.off = b[off:], off
	return l, nil
}

// Items returns an iterator over the list's values.
func (l BasicList) Items() ListItems {
	return ListItems{b: l.items, length: l.Field.Length, base: l.off}
}

// ListItems iterates over the values of a basicList:
//
//	for it := l.Items(); it.Next(); { v := it.Value() … }
//	if err := it.Err(); err != nil { … }
type ListItems struct {
	b      []byte
	length uint16
	base   int
	off    int
	cur    []byte
	err    error
}

// Next advances to the next value and reports whether there is one. It stops at the end
// of the list, or at a value that runs past it (then Err says so).
func (it *ListItems) Next() bool {
	if it.err != nil || it.off >= len(it.b) || it.length == 0 {
		it.cur = nil
		return false
	}
	n, start, ok := valueLen(it.b, it.off, it.length)
	if !ok {
		it.err = listError("basicList item", it.base+it.off, flow.ErrTruncated, "runs past the list's ", it.base+len(it.b), " bytes")
		it.cur = nil
		return false
	}
	it.cur = it.b[start : start+n]
	it.off = start + n
	return true
}

// Value returns the current value, aliasing the message; for a variable-length element,
// without its length prefix.
func (it *ListItems) Value() []byte { return it.cur }

// Err returns the error that stopped the iteration, if any.
func (it *ListItems) Err() error { return it.err }

// valueLen measures the value of wire length l at off, as template records do.
func valueLen(b []byte, off int, l uint16) (n, start int, ok bool) {
	if l != VariableLength {
		if off+int(l) > len(b) {
			return 0, 0, false
		}
		return int(l), off, true
	}
	if off >= len(b) {
		return 0, 0, false
	}
	n, start = int(b[off]), off+1
	if n == 255 {
		if off+3 > len(b) {
			return 0, 0, false
		}
		n, start = int(binary.BigEndian.Uint16(b[off+1:])), off+3
	}
	if start+n > len(b) {
		return 0, 0, false
	}
	return n, start, true
}

// SubTemplateList is a list of records of one template.
type SubTemplateList struct {
	Semantic   uint8
	TemplateID uint16
	// Template is the template of the records, found by ID; nil when it is unknown
	// (ParseSubTemplateList then also returns an error).
	Template *template.Template
	records  []byte
}

// ParseSubTemplateList reads the header of a subTemplateList value and finds the template
// of its records in ts. A template ID below 256 is an error wrapping flow.ErrMalformed; an
// unknown one, an error wrapping flow.ErrTemplate (the list is returned, its records cannot
// be read).
func ParseSubTemplateList(b []byte, ts Templates) (SubTemplateList, error) {
	if len(b) < 3 {
		return SubTemplateList{}, listError("subTemplateList", 0, flow.ErrTruncated, "header needs 3 bytes, have ", len(b))
	}
	l := SubTemplateList{Semantic: b[0], TemplateID: binary.BigEndian.Uint16(b[1:]), records: b[3:]}
	if l.TemplateID < MinDataSetID {
		return l, listError("subTemplateList", 1, flow.ErrMalformed, "template ID ", int(l.TemplateID), " < 256")
	}
	if ts != nil {
		l.Template = ts.Lookup(l.TemplateID)
	}
	if l.Template == nil {
		return l, listError("subTemplateList", 1, flow.ErrTemplate, "template ", int(l.TemplateID))
	}
	return l, nil
}

// Records returns an iterator over the list's records.
func (l SubTemplateList) Records() ListRecords {
	return ListRecords{b: l.records, t: l.Template, end: len(l.records), base: 3}
}

// SubTemplateMultiList is a list of records of several templates, in blocks of one template
// each.
type SubTemplateMultiList struct {
	Semantic uint8
	blocks   []byte
	ts       Templates
}

// ParseSubTemplateMultiList reads the header of a subTemplateMultiList value; ts finds the
// templates of its blocks as the iterator reaches them.
func ParseSubTemplateMultiList(b []byte, ts Templates) (SubTemplateMultiList, error) {
	if len(b) < 1 {
		return SubTemplateMultiList{}, listError("subTemplateMultiList", 0, flow.ErrTruncated, "no semantic byte")
	}
	return SubTemplateMultiList{Semantic: b[0], blocks: b[1:], ts: ts}, nil
}

// Records returns an iterator over the records of every block, in order. Blocks whose
// template is unknown are skipped and counted ([ListRecords.Skipped]).
func (l SubTemplateMultiList) Records() ListRecords {
	return ListRecords{b: l.blocks, ts: l.ts, multi: true, base: 1}
}

// ListRecords iterates over the records of a subTemplateList or subTemplateMultiList:
//
//	for it := l.Records(); it.Next(); { r := it.Record() … }
//	if err := it.Err(); err != nil { … }
type ListRecords struct {
	b     []byte
	t     *template.Template
	ts    Templates
	multi bool
	base  int // offset of b in the list value, for errors
	off   int // next record
	end   int // end of the current block (of b, for a subTemplateList)
	cur   template.Record
	skip  int
	err   error
}

// Next advances to the next record and reports whether there is one. Bytes at the end of
// a list (or block) that do not make a whole record are an error: lists have no padding.
func (it *ListRecords) Next() bool {
	it.cur = template.Record{}
	for it.err == nil {
		if it.t != nil && it.off < it.end {
			n, ok := it.t.Next(it.b[it.off:it.end])
			if !ok {
				it.err = listError("list record", it.base+it.off, flow.ErrMalformed,
					it.end-it.off, " bytes left that are no record of template ", int(it.t.ID))
				return false
			}
			it.cur = template.Record{Template: it.t, Bytes: it.b[it.off : it.off+n]}
			it.off += n
			return true
		}
		if !it.multi {
			return false
		}
		// The next block of a subTemplateMultiList.
		it.off = it.end
		if it.off >= len(it.b) {
			return false
		}
		if len(it.b)-it.off < 4 {
			it.err = listError("subTemplateMultiList block", it.base+it.off, flow.ErrTruncated, "header needs 4 bytes, have ", len(it.b)-it.off)
			return false
		}
		id := binary.BigEndian.Uint16(it.b[it.off:])
		n := int(binary.BigEndian.Uint16(it.b[it.off+2:]))
		switch {
		case n < 4:
			it.err = listError("subTemplateMultiList block", it.base+it.off, flow.ErrMalformed, "length ", n, " < 4")
		case it.off+n > len(it.b):
			it.err = listError("subTemplateMultiList block", it.base+it.off, flow.ErrTruncated, "length ", n, ", ", len(it.b)-it.off, " bytes left")
		case id < MinDataSetID:
			it.err = listError("subTemplateMultiList block", it.base+it.off, flow.ErrMalformed, "template ID ", int(id), " < 256")
		}
		if it.err != nil {
			return false
		}
		it.t = nil
		if it.ts != nil {
			it.t = it.ts.Lookup(id)
		}
		if it.t == nil {
			it.skip++
		}
		it.off, it.end = it.off+4, it.off+n
	}
	return false
}

// Record returns the current record, aliasing the message.
func (it *ListRecords) Record() template.Record { return it.cur }

// Skipped returns the number of subTemplateMultiList blocks skipped for lack of a template.
func (it *ListRecords) Skipped() int { return it.skip }

// Err returns the error that stopped the iteration, if any.
func (it *ListRecords) Err() error { return it.err }
