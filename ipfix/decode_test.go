package ipfix_test

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/ipfix"
	"github.com/flowkit/flow/template"
)

// msgDecoder reads what the Builder writes with the template package alone, so that the
// Builder is tested independently of the package's Parser: templates into a cache,
// withdrawals, options records applied, data records filled into flow.Records.
type msgDecoder struct {
	cache *template.Cache
	sess  template.Session
	ctx   template.Context
	// What the messages held, in order.
	headers   []ipfix.Header
	flows     []flow.Record
	raw       []template.Record // every data record, options included, aliasing the messages
	templates []uint16          // template IDs defined, in order
	withdrawn []uint16          // template IDs withdrawn (2 and 3 for all)
}

var exporterAddr = netip.MustParseAddrPort("192.0.2.1:4739")

func newDecoder(stream bool) *msgDecoder {
	return &msgDecoder{cache: template.NewCache(template.Config{}),
		sess: template.Session{Exporter: exporterAddr, Protocol: flow.IPFIX, Stream: stream}}
}

func (d *msgDecoder) message(m []byte) error {
	if len(m) < ipfix.HeaderLen || binary.BigEndian.Uint16(m) != ipfix.Version {
		return fmt.Errorf("not an IPFIX message: % x", m[:min(len(m), 4)])
	}
	h := ipfix.Header{Length: binary.BigEndian.Uint16(m[2:]), ExportTime: binary.BigEndian.Uint32(m[4:]),
		Sequence: binary.BigEndian.Uint32(m[8:]), Domain: binary.BigEndian.Uint32(m[12:])}
	if int(h.Length) != len(m) {
		return fmt.Errorf("length field %d, message %d bytes", h.Length, len(m))
	}
	d.headers = append(d.headers, h)
	d.ctx.Protocol, d.ctx.Exporter, d.ctx.Domain, d.ctx.ExportTime = flow.IPFIX, exporterAddr.Addr(), h.Domain, h.Time()
	d.cache.Bind(&d.ctx, d.sess)
	for off := ipfix.HeaderLen; off < len(m); {
		if off+4 > len(m) {
			return fmt.Errorf("set header at %d past the end", off)
		}
		id, n := binary.BigEndian.Uint16(m[off:]), int(binary.BigEndian.Uint16(m[off+2:]))
		if n < 4 || off+n > len(m) {
			return fmt.Errorf("set %d at %d: length %d", id, off, n)
		}
		body := m[off+4 : off+n]
		switch {
		case id == ipfix.TemplateSetID || id == ipfix.OptionsTemplateSetID:
			if err := d.templateSet(id, h.Domain, body); err != nil {
				return err
			}
		case id >= ipfix.MinDataSetID:
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
				d.raw = append(d.raw, rec)
				if t.Kind == template.Options {
					d.ctx.ApplyOptions(rec)
				} else {
					var r flow.Record
					t.Fill(&r, body[:l], &d.ctx)
					d.flows = append(d.flows, r)
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

func (d *msgDecoder) templateSet(setID uint16, domain uint32, b []byte) error {
	for len(b) >= 4 {
		id, count := binary.BigEndian.Uint16(b), int(binary.BigEndian.Uint16(b[2:]))
		b = b[4:]
		if count == 0 {
			d.withdrawn = append(d.withdrawn, id)
			kind := template.Data
			if setID == ipfix.OptionsTemplateSetID {
				kind = template.Options
			}
			if id == ipfix.TemplateSetID || id == ipfix.OptionsTemplateSetID {
				d.cache.WithdrawAll(d.sess, domain, kind)
			} else {
				d.cache.Withdraw(template.Key{Session: d.sess, Domain: domain, ID: id})
			}
			continue
		}
		scope, kind := 0, template.Data
		if setID == ipfix.OptionsTemplateSetID {
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
			if f.ID&ipfix.EnterpriseBit != 0 {
				if len(b) < 4 {
					return fmt.Errorf("template %d: field %d enterprise past the end", id, i)
				}
				f.ID &^= ipfix.EnterpriseBit
				f.Enterprise = binary.BigEndian.Uint32(b)
				b = b[4:]
			}
			fields[i] = f
		}
		if _, err := d.cache.Learn(template.Key{Session: d.sess, Domain: domain, ID: id}, kind, scope, fields); err != nil {
			return err
		}
		d.templates = append(d.templates, id)
		d.cache.Bind(&d.ctx, d.sess)
	}
	if len(b) != 0 {
		return fmt.Errorf("template set: %d bytes left over", len(b))
	}
	return nil
}
