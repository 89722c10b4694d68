// Package template is what NetFlow v9 and IPFIX share: field specifiers, templates and
// options templates, the information-element registry, and the template cache.
//
// A [Template] is compiled once, when a [Cache] learns it, into a decode plan: the fields
// that set part of a flow.Record become a slice of offsets and opcodes, so that
// [Template.Fill] decodes a record by walking that slice, and any field can still be read
// raw through [Record]. The plan understands RFC 7011 reduced-size integers, variable-length
// fields, IPv4 and IPv6 in one template, and the time fields of both protocols.
//
// The [Cache] is safe for concurrent use and bounded: templates per session and in total,
// fields per template, options entries per session, and the data sets it holds while their
// template is unknown (count, bytes and time). Templates are scoped by [Session] (exporter
// and protocol), observation domain or source ID, and template ID; see [Session] for what
// the codecs put in it.
//
// The registry ([Lookup], [LookupV9]) is generated from IANA's IPFIX registry, shipped as
// CSV in internal/genregistry (go generate ./template), plus the NetFlow v9 vendor types
// real exporters send (Cisco ASA NSEL, TrustSec) and RFC 5103 reverse elements.
package template
