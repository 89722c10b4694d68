package flow

import (
	"errors"
	"strconv"
)

// Sentinel errors shared by every codec. Decoders never return them bare: they wrap them in a
// [*ParseError] that says what was being read and at which offset, so both
// errors.Is(err, flow.ErrTruncated) and a readable message work.
var (
	// ErrTruncated: the input ends before a structure it announces.
	ErrTruncated = errors.New("truncated")
	// ErrVersion: the datagram is not of the version the decoder reads.
	ErrVersion = errors.New("unsupported version")
	// ErrMalformed: a field holds a value the protocol does not allow (a length too
	// small to hold its own header, a count that contradicts the bytes present, …).
	ErrMalformed = errors.New("malformed")
	// ErrLimit: the input asks for more than a configured bound (templates, fields,
	// nesting) allows; the rest of the input is refused rather than trusted.
	ErrLimit = errors.New("limit exceeded")
	// ErrTemplate: data refers to a template the decoder does not know (yet).
	ErrTemplate = errors.New("unknown template")
)

// ErrFull is returned by a Builder when the message being built has no room for another
// record (a record-count or size limit): finish it and start another.
var ErrFull = errors.New("message full")

// ParseError reports a decoding failure: the protocol, what was being read, where, and
// which of the sentinel errors above it is. Its message reads like
//
//	netflow5: record 3 at offset 168: truncated: need 48 bytes, have 20
type ParseError struct {
	Protocol Protocol
	// What names the structure being read: "header", "record 3", "set 2", …
	What string
	// Offset is the byte offset of that structure within the datagram or stream.
	Offset int
	// Err is one of the sentinel errors of this package.
	Err error
	// Detail says more, when there is more to say.
	Detail string
}

// Error returns the message described on [ParseError].
func (e *ParseError) Error() string {
	b := make([]byte, 0, 64+len(e.What)+len(e.Detail))
	b = append(b, e.Protocol.String()...)
	b = append(b, ": "...)
	if e.What != "" {
		b = append(b, e.What...)
		b = append(b, ' ')
	}
	b = append(b, "at offset "...)
	b = strconv.AppendInt(b, int64(e.Offset), 10)
	if e.Err != nil {
		b = append(b, ": "...)
		b = append(b, e.Err.Error()...)
	}
	if e.Detail != "" {
		b = append(b, ": "...)
		b = append(b, e.Detail...)
	}
	return string(b)
}

// Unwrap returns the sentinel, so errors.Is sees through a ParseError.
func (e *ParseError) Unwrap() error { return e.Err }
