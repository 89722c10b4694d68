package template

import (
	"iter"

	"github.com/flowkit/flow"
)

// ExporterStatistics are the counters an exporter reports about its own metering and
// exporting processes in options records (RFC 7011 section 4; NetFlow v9 sends the first
// three as TOTAL_PKTS_EXP, TOTAL_FLOWS_EXP and TOTAL_BYTES_EXP). They are totals since the
// process started, as the exporter counts them: set against what a collector received,
// they tell what the exporter never sent from what was lost on the way. A counter no
// options record carried is 0.
type ExporterStatistics struct {
	// At is the export time of the message with the latest report.
	At flow.Time

	ExportedMessages uint64 // exportedMessageTotalCount (41)
	ExportedRecords  uint64 // exportedFlowRecordTotalCount (42)
	ExportedOctets   uint64 // exportedOctetTotalCount (40)
	// Packets and Octets are what the metering process observed: packetTotalCount (86)
	// and octetTotalCount (85) in an options record.
	Packets uint64
	Octets  uint64
	// Ignored counts what the metering process saw but could not meter (ignoredPacket-
	// and ignoredOctetTotalCount, 164 and 165), Dropped what the observation point lost
	// before it (droppedPacket- and droppedOctetTotalCount, 135 and 134).
	IgnoredPackets uint64
	IgnoredOctets  uint64
	DroppedPackets uint64
	DroppedOctets  uint64
	// NotSent counts what the exporting process metered but did not send
	// (notSentFlowTotalCount, notSentPacketTotalCount, notSentOctetTotalCount: 166–168).
	NotSentFlows   uint64
	NotSentPackets uint64
	NotSentOctets  uint64
}

// statisticsIDs are the elements ExporterStatistics keeps (set says where each goes).
var statisticsIDs = [...]uint16{41, 42, 40, 86, 85, 164, 165, 135, 134, 166, 167, 168}

// set stores v, the value of element id, one of statisticsIDs.
func (s *ExporterStatistics) set(id uint16, v uint64) {
	switch id {
	case 41:
		s.ExportedMessages = v
	case 42:
		s.ExportedRecords = v
	case 40:
		s.ExportedOctets = v
	case 86:
		s.Packets = v
	case 85:
		s.Octets = v
	case 164:
		s.IgnoredPackets = v
	case 165:
		s.IgnoredOctets = v
	case 135:
		s.DroppedPackets = v
	case 134:
		s.DroppedOctets = v
	case 166:
		s.NotSentFlows = v
	case 167:
		s.NotSentPackets = v
	case 168:
		s.NotSentOctets = v
	}
}

// DomainKey names an observation domain (NetFlow v9: source ID) of a transport session.
type DomainKey struct {
	Session Session
	Domain  uint32
}

// ExporterStatistics returns what the options records of session s reported about
// domain's processes, and whether any did. When an exporter reports for several metering
// or exporting processes of one domain, each counter is the one last reported.
func (c *Cache) ExporterStatistics(s Session, domain uint32) (ExporterStatistics, bool) {
	ex := c.exporter(s)
	if ex == nil {
		return ExporterStatistics{}, false
	}
	ex.mu.RLock()
	st, ok := ex.stats[domain]
	ex.mu.RUnlock()
	return st, ok
}

// AllExporterStatistics yields the statistics of every session and domain that reported
// some, in no particular order.
func (c *Cache) AllExporterStatistics() iter.Seq2[DomainKey, ExporterStatistics] {
	return func(yield func(DomainKey, ExporterStatistics) bool) {
		c.mu.RLock()
		exs := make([]*exporter, 0, len(c.sessions))
		for _, ex := range c.sessions {
			exs = append(exs, ex)
		}
		c.mu.RUnlock()
		var buf []DomainKey
		var vals []ExporterStatistics
		for _, ex := range exs {
			buf, vals = buf[:0], vals[:0]
			ex.mu.RLock()
			for d, st := range ex.stats {
				buf, vals = append(buf, DomainKey{ex.session, d}), append(vals, st)
			}
			ex.mu.RUnlock()
			for i := range buf {
				if !yield(buf[i], vals[i]) {
					return
				}
			}
		}
	}
}
