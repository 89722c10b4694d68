package template

//go:generate go run ./internal/genregistry

// DataType is an abstract data type of RFC 7012 section 3.1, numbered as in IANA's "IPFIX
// Information Element Data Types" registry. It says how a field's bytes are to be read.
type DataType uint8

// The abstract data types. OctetArray, the zero value, is also what an element of unknown
// type is read as.
const (
	OctetArray DataType = iota
	Unsigned8
	Unsigned16
	Unsigned32
	Unsigned64
	Signed8
	Signed16
	Signed32
	Signed64
	Float32
	Float64
	Boolean
	MACAddress
	String
	DateTimeSeconds
	DateTimeMilliseconds
	DateTimeMicroseconds
	DateTimeNanoseconds
	IPv4Address
	IPv6Address
	BasicList            // RFC 6313
	SubTemplateList      // RFC 6313
	SubTemplateMultiList // RFC 6313
)

var dataTypeNames = [...]string{
	"octetArray", "unsigned8", "unsigned16", "unsigned32", "unsigned64", "signed8", "signed16",
	"signed32", "signed64", "float32", "float64", "boolean", "macAddress", "string",
	"dateTimeSeconds", "dateTimeMilliseconds", "dateTimeMicroseconds", "dateTimeNanoseconds",
	"ipv4Address", "ipv6Address", "basicList", "subTemplateList", "subTemplateMultiList",
}

// String returns the IANA name of the type, such as "unsigned32".
func (t DataType) String() string {
	if int(t) < len(dataTypeNames) {
		return dataTypeNames[t]
	}
	return "octetArray"
}

// Semantics is an element's data type semantics (RFC 7012 section 3.2), numbered as in
// IANA's "IPFIX Information Element Semantics" registry.
type Semantics uint8

// The data type semantics.
const (
	DefaultSemantics Semantics = iota
	Quantity
	TotalCounter
	DeltaCounter
	Identifier
	Flags
	List
	SNMPCounter
	SNMPGauge
)

var semanticsNames = [...]string{
	"default", "quantity", "totalCounter", "deltaCounter", "identifier", "flags", "list",
	"snmpCounter", "snmpGauge",
}

// String returns the IANA name of the semantics, such as "deltaCounter".
func (s Semantics) String() string {
	if int(s) < len(semanticsNames) {
		return semanticsNames[s]
	}
	return "default"
}

// Element describes an information element: an IANA IPFIX element (Enterprise 0), a NetFlow
// v9 field type that IANA did not assign, or an enterprise-specific element.
type Element struct {
	// ID is the element ID (without the IPFIX enterprise bit); Enterprise the private
	// enterprise number, 0 for IANA elements and NetFlow v9 types.
	ID         uint16
	Enterprise uint32
	// Name is the registered name: IANA's camelCase for IANA elements, the vendor's own
	// spelling for vendor fields (Cisco's NF_F_… for ASA NSEL fields).
	Name      string
	Type      DataType
	Semantics Semantics
	// Units is the unit as IANA names it ("octets", "milliseconds"), or "".
	Units string
	// Deprecated marks elements IANA has deprecated; exporters still send some of them.
	Deprecated bool
}

// Enterprise numbers of the vendors whose elements this registry knows.
const (
	// ReversePEN is the enterprise number of RFC 5103 reverse elements: the element with
	// this enterprise number and an IANA element's ID is that element for the reverse
	// direction of a biflow.
	ReversePEN uint32 = 29305
)

// v9Elements names NetFlow v9 field types outside what IANA assigned: the vendor ranges that
// real exporters send as plain v9 types. Field types 1–127 and every IANA-assigned number
// above are shared with IPFIX and found in ianaElements instead.
//
// Cisco ASA NSEL numbers and names are from Cisco's "NetFlow Implementation Guide for ASA"
// (its NF_F_… names); ASA also sends IANA numbers (148 flowId, 152 flowStartMilliseconds,
// 176/177 ICMP type and code, 225–228 NAT addresses and ports, 231/232 initiator and
// responder octets, 233 firewallEvent, 323 observationTimeMilliseconds). Cisco TrustSec
// numbers are from Cisco's Flexible NetFlow field reference.
var v9Elements = map[uint16]Element{
	33000: {ID: 33000, Name: "NF_F_INGRESS_ACL_ID", Type: OctetArray, Semantics: Identifier},
	33001: {ID: 33001, Name: "NF_F_EGRESS_ACL_ID", Type: OctetArray, Semantics: Identifier},
	33002: {ID: 33002, Name: "NF_F_FW_EXT_EVENT", Type: Unsigned16, Semantics: Identifier},
	34000: {ID: 34000, Name: "SGT_SOURCE_TAG", Type: Unsigned16, Semantics: Identifier},
	34001: {ID: 34001, Name: "SGT_DESTINATION_TAG", Type: Unsigned16, Semantics: Identifier},
	34002: {ID: 34002, Name: "SGT_SOURCE_NAME", Type: String},
	34003: {ID: 34003, Name: "SGT_DESTINATION_NAME", Type: String},
	40000: {ID: 40000, Name: "NF_F_USERNAME", Type: String},
	40001: {ID: 40001, Name: "NF_F_XLATE_SRC_ADDR_84", Type: IPv4Address, Semantics: DefaultSemantics},
	40002: {ID: 40002, Name: "NF_F_XLATE_DST_ADDR_84", Type: IPv4Address, Semantics: DefaultSemantics},
	40003: {ID: 40003, Name: "NF_F_XLATE_SRC_PORT_84", Type: Unsigned16, Semantics: Identifier},
	40004: {ID: 40004, Name: "NF_F_XLATE_DST_PORT_84", Type: Unsigned16, Semantics: Identifier},
	40005: {ID: 40005, Name: "NF_F_FW_EVENT_84", Type: Unsigned8, Semantics: Identifier},
}

// v9ScopeNames are the scope field types of NetFlow v9 options templates (RFC 3954 section
// 6.1), which are numbered apart from the data field types.
var v9ScopeNames = [...]string{1: "System", 2: "Interface", 3: "LineCard", 4: "Cache", 5: "Template"}

// Lookup returns the IPFIX element with the given ID and enterprise number. IANA elements
// have enterprise 0; RFC 5103 reverse elements (enterprise [ReversePEN]) are derived from
// their forward element, named "reverse" + the forward name with its first letter upper-cased.
// Unknown elements return ok false and an Element that carries only the ID and enterprise
// (read as octetArray).
func Lookup(id uint16, enterprise uint32) (e Element, ok bool) {
	switch enterprise {
	case 0:
		if int(id) < len(ianaElements) && ianaElements[id].Name != "" {
			return ianaElements[id], true
		}
	case ReversePEN:
		if f, ok := Lookup(id, 0); ok {
			f.Enterprise = ReversePEN
			f.Name = reverseName(f.Name)
			return f, true
		}
	}
	return Element{ID: id, Enterprise: enterprise}, false
}

// LookupV9 returns the element a NetFlow v9 field type stands for: the IANA element of that
// number, or a vendor field type named in this registry. Types 1–127 are shared with IPFIX
// by definition; above that, v9 exporters use IANA's numbers too, plus vendor ranges.
func LookupV9(fieldType uint16) (Element, bool) {
	if e, ok := Lookup(fieldType, 0); ok {
		return e, true
	}
	if e, ok := v9Elements[fieldType]; ok {
		return e, true
	}
	return Element{ID: fieldType}, false
}

// V9ScopeName returns the name of a NetFlow v9 options-template scope field type ("System",
// "Interface", "LineCard", "Cache", "Template"), or "" for an unknown one.
func V9ScopeName(scopeType uint16) string {
	if int(scopeType) < len(v9ScopeNames) {
		return v9ScopeNames[scopeType]
	}
	return ""
}

func reverseName(forward string) string {
	if forward == "" {
		return ""
	}
	c := forward[0]
	if 'a' <= c && c <= 'z' {
		c -= 'a' - 'A'
	}
	return "reverse" + string(c) + forward[1:]
}
