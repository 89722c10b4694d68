package template

import (
	"github.com/flowkit/flow"
)

// Slots of an options record that the cache remembers.
const (
	slotSampler    = iota // samplerId (48, v9 FLOW_SAMPLER_ID) or selectorId (302)
	slotInterval          // samplingInterval (34) or samplerRandomInterval (50)
	slotPktInt            // samplingPacketInterval (305)
	slotPktSpace          // samplingPacketSpace (306)
	slotSize              // samplingSize (309)
	slotPopulation        // samplingPopulation (310)
	slotIfIndex           // v9 Interface scope, ingressInterface (10) or egressInterface (14)
	slotIfName            // interfaceName (82, v9 IF_NAME)
	slotIfDesc            // interfaceDescription (83, v9 IF_DESC)
	slotBoot              // systemInitTimeMilliseconds (160)
	slotStats             // the first of ExporterStatistics' counters, in statisticsIDs' order
	numSlots       = slotStats + len(statisticsIDs)
)

// optionsPlan says which fields of an options template's records carry what the cache
// remembers: field indexes per slot, -1 for none.
type optionsPlan struct {
	idx [numSlots]int
}

func (t *Template) compileOptions() optionsPlan {
	var p optionsPlan
	for i := range p.idx {
		p.idx[i] = -1
	}
	set := func(slot, i int) {
		if p.idx[slot] < 0 {
			p.idx[slot] = i
		}
	}
	for i, f := range t.Fields {
		if f.Enterprise != 0 || f.Length == 0 {
			continue
		}
		if i < t.ScopeCount && t.Protocol == flow.NetFlow9 {
			if f.ID == v9ScopeInterface {
				set(slotIfIndex, i)
			}
			continue
		}
		switch f.ID {
		case 302, 48:
			set(slotSampler, i)
		case 34, 50:
			set(slotInterval, i)
		case 305:
			set(slotPktInt, i)
		case 306:
			set(slotPktSpace, i)
		case 309:
			set(slotSize, i)
		case 310:
			set(slotPopulation, i)
		case 10, 14:
			set(slotIfIndex, i)
		case 82:
			set(slotIfName, i)
		case 83:
			set(slotIfDesc, i)
		case 160:
			set(slotBoot, i)
		default:
			for k, id := range statisticsIDs {
				if f.ID == id {
					set(slotStats+k, i)
				}
			}
		}
	}
	return p
}

// ApplyOptions remembers what an options record says that applies to later data records
// of the same session and domain:
//
//   - a sampling interval — samplingInterval (34) or samplerRandomInterval (50), or the
//     ratio of samplingPacketInterval and samplingPacketSpace (305, 306), or of
//     samplingPopulation and samplingSize (310, 309) — for the sampler the record names
//     (samplerId 48, the v9 FLOW_SAMPLER_ID, or selectorId 302), or for the whole domain
//     when it names none. Data records that name that sampler, or that name none, get it
//     as their SamplingInterval unless they carry one themselves.
//   - an interface name — interfaceName (82), or else interfaceDescription (83) — for the
//     ifIndex the record is about (the v9 Interface scope, ingressInterface 10 or
//     egressInterface 14). Data records get it as InIfName and OutIfName.
//   - the exporter's boot time, systemInitTimeMilliseconds (160), for the domain: IPFIX
//     data records with flowStartSysUpTime and flowEndSysUpTime (21, 22) but no boot time
//     of their own count from it, unless the codec set [Context.BootTime].
//   - the exporter's statistics about its processes, for the domain: see
//     [ExporterStatistics] and [Cache.ExporterStatistics]. They change no record.
//
// It allocates only for a name that is new or changed, and for the first entry of a
// sampler, interface or domain. Call it after [Cache.Bind].
func (c *Context) ApplyOptions(r Record) {
	t := r.Template
	if t == nil || t.Kind != Options || c.cache == nil {
		return
	}
	p := &t.opts
	var v [numSlots][]byte
	var found bool
	for i, fv := range r.All {
		for s, at := range p.idx {
			if at == i {
				v[s], found = fv.Value, true
			}
		}
	}
	if !found {
		return
	}
	rate := uint64(0)
	switch {
	case v[slotInterval] != nil:
		rate = Unsigned(v[slotInterval])
	case v[slotPktInt] != nil && v[slotPktSpace] != nil:
		if n := Unsigned(v[slotPktInt]); n > 0 {
			rate = (n + Unsigned(v[slotPktSpace])) / n
		}
	case v[slotSize] != nil && v[slotPopulation] != nil:
		if n := Unsigned(v[slotSize]); n > 0 {
			rate = Unsigned(v[slotPopulation]) / n
		}
	}
	name := trimNUL(v[slotIfName])
	if len(name) == 0 {
		name = trimNUL(v[slotIfDesc])
	}
	hasIf := v[slotIfIndex] != nil && len(name) > 0
	boot := int64(0)
	if v[slotBoot] != nil {
		boot = int64(Unsigned(v[slotBoot])) * 1e6
	}
	hasStats := false
	for _, b := range v[slotStats:] {
		hasStats = hasStats || b != nil
	}
	if rate == 0 && !hasIf && boot == 0 && !hasStats {
		return
	}
	ex := c.ex
	if ex == nil {
		ex = c.cache.exporter(c.session)
		if ex == nil {
			return
		}
		c.use(ex)
	}
	ex.mu.Lock()
	changed := false
	if rate > 0 {
		r32 := uint32(min(rate, 0xffffffff))
		if v[slotSampler] != nil {
			k := samplerKey{c.Domain, Unsigned(v[slotSampler])}
			if old, ok := ex.samplers[k]; !ok || old != r32 {
				if ok || ex.room(c.cache) {
					if ex.samplers == nil {
						ex.samplers = map[samplerKey]uint32{}
					}
					ex.samplers[k], changed = r32, true
				}
			}
		} else if old, ok := ex.defaults[c.Domain]; !ok || old != r32 {
			if ok || ex.room(c.cache) {
				if ex.defaults == nil {
					ex.defaults = map[uint32]uint32{}
				}
				ex.defaults[c.Domain], changed = r32, true
			}
		}
	}
	if hasIf {
		k := ifKey{c.Domain, uint32(Unsigned(v[slotIfIndex]))}
		if old, ok := ex.ifNames[k]; !ok || old != string(name) {
			if ok || ex.room(c.cache) {
				if ex.ifNames == nil {
					ex.ifNames = map[ifKey]string{}
				}
				ex.ifNames[k], changed = string(name), true
				ex.hasNames.Store(true)
			}
		}
	}
	if boot != 0 {
		if old, ok := ex.boots[c.Domain]; !ok || old != boot {
			if ok || ex.room(c.cache) {
				if ex.boots == nil {
					ex.boots = map[uint32]int64{}
				}
				ex.boots[c.Domain], changed = boot, true
			}
		}
	}
	if hasStats {
		// Not part of gen: statistics change no record, and they come with every report.
		if st, ok := ex.stats[c.Domain]; ok || ex.room(c.cache) {
			for k, b := range v[slotStats:] {
				if b != nil {
					st.set(statisticsIDs[k], Unsigned(b))
				}
			}
			st.At = c.ExportTime
			if ex.stats == nil {
				ex.stats = map[uint32]ExporterStatistics{}
			}
			ex.stats[c.Domain] = st
		}
	}
	if changed {
		ex.gen.Add(1)
		c.cache.optionsChanged.Add(1)
	}
	ex.mu.Unlock()
}

// room reports whether ex may remember one more options entry, and counts it; ex.mu is held.
func (ex *exporter) room(c *Cache) bool {
	if ex.entries >= ex.limit {
		c.optionsRefused.Add(1)
		return false
	}
	ex.entries++
	return true
}

// trimNUL cuts a fixed-length string field at its first NUL (the padding exporters use)
// and drops trailing spaces.
func trimNUL(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			b = b[:i]
			break
		}
	}
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}
