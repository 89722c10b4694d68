// Package ipfix encodes and decodes IP Flow Information Export messages (RFC 7011), with
// the information model of RFC 7012, biflows (RFC 5103), structured data (RFC 6313) and
// IPFIX files (RFC 5655).
//
// A message is a 16-byte header followed by sets, in any order and number: template sets
// (ID 2) and options template sets (ID 3) define the layout of data records; data sets (ID
// 256 and up) carry records in the layout of the template of that ID. Templates are kept in
// a [template.Cache] shared with NetFlow v9, scoped by transport session and observation
// domain.
package ipfix

import (
	"encoding/binary"

	"github.com/flowkit/flow"
)

// Sizes and identifiers of the format.
const (
	Version              = 10  // the version field's value
	HeaderLen            = 16  // bytes in the message header
	SetHeaderLen         = 4   // bytes in a set header
	TemplateSetID        = 2   // set ID of template sets; a withdrawal of all templates
	OptionsTemplateSetID = 3   // set ID of options template sets; a withdrawal of all of them
	MinDataSetID         = 256 // data sets use the ID of their template, 256 and up
	// MaxMessageLen is the largest message the 16-bit length field can describe.
	MaxMessageLen = 65535
	// EnterpriseBit marks a field specifier followed by an enterprise number.
	EnterpriseBit = 0x8000
	// VariableLength is the field length that announces a variable-length field.
	VariableLength = 0xFFFF
)

// Header is the message header.
type Header struct {
	// Length is the length of the message in bytes, header included.
	Length uint16
	// ExportTime is the time the message left the exporter, in seconds since the epoch.
	ExportTime uint32
	// Sequence counts the data records the exporter sent in this observation domain
	// before this message, modulo 2^32.
	Sequence uint32
	// Domain is the observation domain ID.
	Domain uint32
}

// Time returns the export time.
func (h *Header) Time() flow.Time { return flow.Time(int64(h.ExportTime) * 1e9) }

func parseHeader(b []byte) Header {
	return Header{
		Length:     binary.BigEndian.Uint16(b[2:]),
		ExportTime: binary.BigEndian.Uint32(b[4:]),
		Sequence:   binary.BigEndian.Uint32(b[8:]),
		Domain:     binary.BigEndian.Uint32(b[12:]),
	}
}
