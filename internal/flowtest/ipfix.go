package flowtest

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/template"
)

// IPFIXDecoder reads IPFIX messages with the template package alone, so that what the
// ipfix Builder and the exporter write is checked independently of the ipfix Parser:
// templates into a cache, withdrawals, options records applied, data records filled into
// flow.Records. It is strict: anything it does not expect is an error.
type IPFIXDecoder struct {
	cache *template.Cache
	sess  template.Session
	ctx   template.Context
	// What the messages held, in order.
	Headers   []IPFIXHeader
	Flows     []flow.Record
	Raw       []template.Record // every data record, options included, aliasing the messages
	Templates []uint16          // template IDs defined, in order
	Withdrawn []uint16          // template IDs withdrawn (2 and 3 for all)
}

// IPFIXHeader is an IPFIX message header.
type IPFIXHeader struct {
	Length                       uint16
	ExportTime, Sequence, Domain uint32
}

// NewIPFIXDecoder returns a decoder for the messages of one transport session from
// exporter; stream tells a TCP session from UDP.
func NewIPFIXDecoder(exporter netip.AddrPort, stream bool) *IPFIXDecoder {
	return &IPFIXDecoder{cache: template.NewCache(template.Config{}),
		sess: template.Session{Exporter: exporter, Protocol: flow.IPFIX, Stream: stream}}
}

// Message decodes one message, which must be all of m.
func (d *IPFIXDecoder) Message(m []byte) error {
	if len(m) < 16 || binary.BigEndian.Uint16(m) != 10 {
		return fmt.Errorf("not an IPFIX message: % x", m[:min(len(m), 4)])
	}
	h := IPFIXHeader{Length: binary.BigEndian.Uint16(m[2:]), ExportTime: binary.BigEndian.Uint32(m[4:]),
		Sequence: binary.BigEndian.Uint32(m[8:]), Domain: binary.BigEndian.Uint32(m[12:])}
	if int(h.Length) != len(m) {
		return fmt.Errorf("length field %d, message %d bytes", h.Length, len(m))
	}
	d.Headers = append(d.Headers, h)
	d.ctx.Protocol, d.ctx.Exporter, d.ctx.Domain, d.ctx.ExportTime = flow.IPFIX, d.sess.Exporter.Addr(), h.Domain, flow.Time(int64(h.ExportTime)*1e9)
	d.cache.Bind(&d.ctx, d.sess)
	for off := 16; off < len(m); {
		if off+4 > len(m) {
			return fmt.Errorf("set header at %d past the end", off)
		}
		id, n := binary.BigEndian.Uint16(m[off:]), int(binary.BigEndian.Uint16(m[off+2:]))
		if n < 4 || off+n > len(m) {
			return fmt.Errorf("set %d at %d: length %d", id, off, n)
		}
		body := m[off+4 : off+n]
		switch {
		case id == 2 || id == 3:
			if err := d.templateSet(id, h.Domain, body); err != nil {
				return err
			}
		case id >= 256:
			t := d.ctx.Lookup(id)
			if t == nil {
				return fmt.Errorf("data set %d at %d: unknown template", id, off)
			}
			for len(body) > 0 {
				l, ok := t.Next(body)
				if !ok {
					return fmt.Errorf("data set %d: %d bytes left over", id, len(body))
				}
				rec := template.Record{Template: t, Bytes: body[:l]}
				d.Raw = append(d.Raw, rec)
				if t.Kind == template.Options {
					d.ctx.ApplyOptions(rec)
				} else {
					var r flow.Record
					t.Fill(&r, body[:l], &d.ctx)
					d.Flows = append(d.Flows, r)
				}
				body = body[l:]
			}
		default:
			return fmt.Errorf("set ID %d", id)
		}
		off += n
	}
	return nil
}

func (d *IPFIXDecoder) templateSet(setID uint16, domain uint32, b []byte) error {
	for len(b) >= 4 {
		id, count := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		b = b[4:]
		if count == 0 {
			d.Withdrawn = append(d.Withdrawn, id)
			kind := template.Data
			if setID == 3 {
				kind = template.Options
			}
			if id == 2 || id == 3 {
				d.cache.WithdrawAll(d.sess, domain, kind)
			} else {
				d.cache.Withdraw(template.Key{Session: d.sess, Domain: domain, ID: id})
			}
			continue
		}
		scope, kind := 0, template.Data
		if setID == 3 {
			if len(b) < 2 {
				return fmt.Errorf("options template %d: no scope count", id)
			}
			scope, kind = int(binary.BigEndian.Uint16(b)), template.Options
			b = b[2:]
		}
		fields := make([]template.Field, count)
		for i := range fields {
			if len(b) < 4 {
				return fmt.Errorf("template %d: field %d past the end", id, i)
			}
			f := template.Field{ID: binary.BigEndian.Uint16(b), Length: binary.BigEndian.Uint16(b[2:])}
			b = b[4:]
			if f.ID&0x8000 != 0 {
				if len(b) < 4 {
					return fmt.Errorf("template %d: field %d enterprise past the end", id, i)
				}
				f.ID &^= 0x8000
				f.Enterprise = binary.BigEndian.Uint32(b)
				b = b[4:]
			}
			fields[i] = f
		}
		if _, err := d.cache.Learn(template.Key{Session: d.sess, Domain: domain, ID: id}, kind, scope, fields); err != nil {
			return err
		}
		d.Templates = append(d.Templates, id)
		d.cache.Bind(&d.ctx, d.sess)
	}
	if len(b) != 0 {
		return fmt.Errorf("template set: %d bytes left over", len(b))
	}
	return nil
}
