package ipfix

import (
	"encoding/binary"
	"fmt"
	"io"
	"strconv"

	"github.com/flowkit/flow"
)

// Streams and files.
//
// Over TCP, TLS and SCTP, and in IPFIX files (RFC 5655), messages follow each other with
// nothing in between: the length field of each header says where the next begins. A file
// is a stream written to disk, so [Reader] and [Writer] over an *os.File read and write
// one; what a file adds is a rule, that a template must come before the data that uses it
// in the same file. A Writer with KeepTemplates set keeps that rule across files: after
// [Writer.Reset] to a new file, it writes the templates a message uses before the message.
// It repeats templates, not options records: a file that must say its sampling rate on its
// own starts with a message from [Builder] after [Builder.SendTemplates].

// Reader reads IPFIX messages from a byte stream (a TCP or TLS connection, an IPFIX file),
// framing them by their length field. It reads into a buffer of its own, which grows by
// doubling to hold the longest message seen (at most [MaxMessageLen] bytes) and is reused:
// reading allocates nothing once the buffer is that long.
type Reader struct {
	r   io.Reader
	buf []byte
	off int64 // stream offset of the next message
	err error
}

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader { return &Reader{r: r} }

// Next reads the next message and returns it, header included; it aliases the Reader's
// buffer and stays valid until the next call. At the end of the stream, between messages,
// it returns io.EOF. A stream that ends inside a message gives an error wrapping both
// [flow.ErrTruncated] and io.ErrUnexpectedEOF; a header that is not IPFIX, one wrapping
// [flow.ErrVersion] or [flow.ErrMalformed] (a length shorter than the header): the framing
// is lost, and every later call returns the same error. Other read errors are wrapped with
// the offset, and sticky as well: a deadline that expires mid-message loses the framing.
func (r *Reader) Next() ([]byte, error) {
	if r.err != nil {
		return nil, r.err
	}
	if cap(r.buf) < HeaderLen {
		r.buf = make([]byte, HeaderLen, 2048)
	}
	h := r.buf[:HeaderLen]
	if n, err := io.ReadFull(r.r, h); err != nil {
		return nil, r.fail(n, HeaderLen, err)
	}
	if v := binary.BigEndian.Uint16(h); v != Version {
		r.err = &flow.ParseError{Protocol: flow.IPFIX, What: "message", Offset: int(r.off), Err: flow.ErrVersion,
			Detail: "version " + strconv.Itoa(int(v))}
		return nil, r.err
	}
	l := int(binary.BigEndian.Uint16(h[2:]))
	if l < HeaderLen {
		r.err = &flow.ParseError{Protocol: flow.IPFIX, What: "message", Offset: int(r.off), Err: flow.ErrMalformed,
			Detail: "length " + strconv.Itoa(l) + " < 16"}
		return nil, r.err
	}
	if cap(r.buf) < l {
		// Doubling, up to the 65535 bytes the length field can say: a stream of ever
		// longer messages costs a few allocations, not one per message.
		b := make([]byte, l, min(max(l, 2*cap(r.buf)), MaxMessageLen))
		copy(b, h)
		r.buf = b
	}
	m := r.buf[:l]
	if n, err := io.ReadFull(r.r, m[HeaderLen:]); err != nil {
		return nil, r.fail(HeaderLen+n, l, err)
	}
	r.off += int64(l)
	return m, nil
}

// fail records the error of a read that got n of the want bytes of the message at r.off.
func (r *Reader) fail(n, want int, err error) error {
	switch {
	case err == io.EOF && n == 0:
		r.err = io.EOF
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		r.err = unexpectedEOF{&flow.ParseError{Protocol: flow.IPFIX, What: "message", Offset: int(r.off),
			Err: flow.ErrTruncated, Detail: "need " + strconv.Itoa(want) + " bytes, have " + strconv.Itoa(n) + ", the stream ended"}}
	default:
		// Sticky too: the bytes read so far are lost, and the framing with them.
		r.err = fmt.Errorf("ipfix: reading the message at offset %d: %w", r.off, err)
	}
	return r.err
}

// unexpectedEOF is the error of a stream that ended inside a message: a *flow.ParseError
// wrapping flow.ErrTruncated that is io.ErrUnexpectedEOF as well, for callers that know
// only the io conventions.
type unexpectedEOF struct{ *flow.ParseError }

func (e unexpectedEOF) Unwrap() []error { return []error{e.ParseError, io.ErrUnexpectedEOF} }

// Offset returns the offset in the stream of the message the next call to Next reads.
func (r *Reader) Offset() int64 { return r.off }

// Writer writes whole IPFIX messages to a byte stream (a TCP or TLS connection, an IPFIX
// file). It checks the framing of what it is given, so that a reader of the stream never
// loses it.
type Writer struct {
	w io.Writer
	// KeepTemplates makes the Writer remember the templates of the messages it writes,
	// per observation domain and template ID, and after [Writer.Reset] write those a
	// message uses, in a message of their own, before it: so that each file of a rotated
	// archive can be read on its own (RFC 5655 section 6: templates before their data).
	KeepTemplates bool

	known   map[tplKey][]byte // the latest definition of each template: its template record
	written map[tplKey]bool   // which of them the current output has
	scratch []byte
}

type tplKey struct {
	domain uint32
	setID  uint16 // TemplateSetID or OptionsTemplateSetID
	id     uint16
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Reset directs the Writer to another output (the next file of an archive), which has no
// templates yet.
func (w *Writer) Reset(out io.Writer) {
	w.w = out
	clear(w.written)
}

// Write writes p, one or more whole messages back to back, and returns len(p) or an error.
// p is checked first: when it is not whole IPFIX messages (a version, a length that does
// not add up, a set or template record running past its message), nothing is written and
// the error wraps [flow.ErrVersion], [flow.ErrMalformed] or [flow.ErrTruncated].
func (w *Writer) Write(p []byte) (int, error) {
	for off := 0; off < len(p); {
		l, err := checkMessage(p[off:], off)
		if err != nil {
			return 0, err
		}
		if w.KeepTemplates {
			if err := w.scan(p[off:off+l], off); err != nil {
				return 0, err
			}
		}
		off += l
	}
	if !w.KeepTemplates {
		return w.w.Write(p)
	}
	n := 0
	for off := 0; off < len(p); {
		m := p[off : off+int(binary.BigEndian.Uint16(p[off+2:]))]
		w.scratch = w.missing(w.scratch[:0], m)
		if len(w.scratch) > 0 {
			if _, err := w.w.Write(w.scratch); err != nil {
				return n, err
			}
		}
		k, err := w.w.Write(m)
		n += k
		if err != nil {
			return n, err
		}
		w.remember(m)
		off += len(m)
	}
	return n, nil
}

// checkMessage checks the header of the message at the start of b (at off in what the
// caller gave) and returns its length.
func checkMessage(b []byte, off int) (int, error) {
	perr := func(sentinel error, detail string) error {
		return &flow.ParseError{Protocol: flow.IPFIX, What: "message", Offset: off, Err: sentinel, Detail: detail}
	}
	if len(b) < HeaderLen {
		return 0, perr(flow.ErrTruncated, strconv.Itoa(len(b))+" bytes, no header")
	}
	if v := binary.BigEndian.Uint16(b); v != Version {
		return 0, perr(flow.ErrVersion, "version "+strconv.Itoa(int(v)))
	}
	l := int(binary.BigEndian.Uint16(b[2:]))
	switch {
	case l < HeaderLen:
		return 0, perr(flow.ErrMalformed, "length "+strconv.Itoa(l)+" < 16")
	case l > len(b):
		return 0, perr(flow.ErrTruncated, "length "+strconv.Itoa(l)+", have "+strconv.Itoa(len(b)))
	}
	return l, nil
}

// sets calls f with each set of message m (its ID, its body, its offset in m) until f
// returns false, and returns an error for a set that runs past the message.
func sets(m []byte, base int, f func(id uint16, body []byte, at int) bool) error {
	for off := HeaderLen; off < len(m); {
		if len(m)-off < SetHeaderLen {
			return &flow.ParseError{Protocol: flow.IPFIX, What: "set", Offset: base + off, Err: flow.ErrTruncated}
		}
		id, l := binary.BigEndian.Uint16(m[off:]), int(binary.BigEndian.Uint16(m[off+2:]))
		if l < SetHeaderLen || off+l > len(m) {
			return &flow.ParseError{Protocol: flow.IPFIX, What: "set " + strconv.Itoa(int(id)), Offset: base + off,
				Err: flow.ErrMalformed, Detail: "length " + strconv.Itoa(l)}
		}
		if !f(id, m[off+SetHeaderLen:off+l], base+off) {
			return nil
		}
		off += l
	}
	return nil
}

// templateRecords calls f with each template record of a template or options template
// set body (its ID, and the whole record), and returns an error for one that runs past
// the set. Padding (fewer bytes left than a record header) ends the set.
func templateRecords(setID uint16, body []byte, at int, f func(id uint16, rec []byte)) error {
	for off := 0; len(body)-off >= 4; {
		id, count := binary.BigEndian.Uint16(body[off:]), int(binary.BigEndian.Uint16(body[off+2:]))
		n := 4
		if count > 0 && setID == OptionsTemplateSetID {
			n += 2
		}
		for range count {
			if off+n+4 > len(body) {
				return &flow.ParseError{Protocol: flow.IPFIX, What: "template " + strconv.Itoa(int(id)), Offset: at + off,
					Err: flow.ErrTruncated}
			}
			if binary.BigEndian.Uint16(body[off+n:])&EnterpriseBit != 0 {
				n += 4
			}
			n += 4
		}
		if off+n > len(body) {
			return &flow.ParseError{Protocol: flow.IPFIX, What: "template " + strconv.Itoa(int(id)), Offset: at + off,
				Err: flow.ErrTruncated}
		}
		if id == 0 && count == 0 {
			break // padding
		}
		f(id, body[off:off+n])
		off += n
	}
	return nil
}

// scan checks that the template sets of m can be walked.
func (w *Writer) scan(m []byte, base int) error {
	var err error
	if e := sets(m, base, func(id uint16, body []byte, at int) bool {
		if id == TemplateSetID || id == OptionsTemplateSetID {
			err = templateRecords(id, body, at+SetHeaderLen, func(uint16, []byte) {})
		}
		return err == nil
	}); e != nil {
		return e
	}
	return err
}

// missing appends to dst a message with the templates that m's data sets use and the
// output does not have yet, or nothing.
func (w *Writer) missing(dst []byte, m []byte) []byte {
	domain := binary.BigEndian.Uint32(m[12:])
	hdr := len(dst)
	sets(m, 0, func(id uint16, body []byte, _ int) bool {
		if id < MinDataSetID {
			return true
		}
		for _, setID := range [2]uint16{TemplateSetID, OptionsTemplateSetID} {
			k := tplKey{domain, setID, id}
			rec, ok := w.known[k]
			if !ok || w.written[k] {
				continue
			}
			if len(dst) == hdr {
				dst = append(dst, m[:HeaderLen]...) // the same header: time, sequence, domain
			}
			dst = binary.BigEndian.AppendUint16(dst, setID)
			dst = binary.BigEndian.AppendUint16(dst, uint16(SetHeaderLen+len(rec)))
			dst = append(dst, rec...)
			if len(dst)-hdr > MaxMessageLen {
				return false // cannot happen with templates from messages; stay framed if it does
			}
			w.written[k] = true
		}
		return true
	})
	if len(dst) > hdr {
		binary.BigEndian.PutUint16(dst[hdr+2:], uint16(min(len(dst)-hdr, MaxMessageLen)))
		dst = dst[:hdr+min(len(dst)-hdr, MaxMessageLen)]
	}
	return dst
}

// remember notes the templates and withdrawals of m, which the output now has.
func (w *Writer) remember(m []byte) {
	if w.known == nil {
		w.known, w.written = map[tplKey][]byte{}, map[tplKey]bool{}
	}
	domain := binary.BigEndian.Uint32(m[12:])
	sets(m, 0, func(setID uint16, body []byte, at int) bool {
		if setID != TemplateSetID && setID != OptionsTemplateSetID {
			return true
		}
		templateRecords(setID, body, at, func(id uint16, rec []byte) {
			k := tplKey{domain, setID, id}
			if len(rec) == 4 { // a withdrawal: of one template, or of all of this kind
				for old := range w.known {
					if old.domain == domain && old.setID == setID && (old.id == id || id == setID) {
						delete(w.known, old)
						delete(w.written, old)
					}
				}
				return
			}
			if old, ok := w.known[k]; !ok || string(old) != string(rec) {
				w.known[k] = append(old[:0:0], rec...)
			}
			w.written[k] = true
		})
		return true
	})
}
