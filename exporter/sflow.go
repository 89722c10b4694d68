package exporter

import (
	"math/rand/v2"
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/packet"
	"github.com/flowkit/flow/sflow"
)

// sflowState is what sFlow export keeps: its Builder, the sampling state, and per
// interface the counters it reports, counted from the packets it sees.
type sflowState struct {
	b          sflow.Builder
	seen       uint64 // packets seen since the last sample: the sampling counter
	pool       uint64 // packets seen in all, sFlow's sample pool
	ifaces     map[uint32]*sflow.IfCounters
	nextCounts flow.Time
	hdr        sflow.SampledHeader
	sample     sflow.FlowSample
}

func newSFlow(cfg *Config, dests []transport) *sflowState {
	s := &sflowState{ifaces: map[uint32]*sflow.IfCounters{}}
	s.b.Agent, s.b.SubAgent, s.b.MaxSize = cfg.Agent, cfg.Domain, cfg.MTU
	if !s.b.Agent.IsValid() && len(dests) > 0 {
		s.b.Agent = dests[0].local().Addr().Unmap()
	}
	return s
}

// samplePacket counts a packet on its interface and, one time in N, sends it as a flow
// sample carrying its first HeaderBytes bytes.
func (e *Exporter) samplePacket(frame []byte, wireLen int, t flow.Time, inIf uint32, pp *packet.Packet) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	if t > e.now {
		e.now = t
	}
	s := e.sflow
	s.pool++
	c := s.ifaces[inIf]
	if c == nil {
		c = &sflow.IfCounters{Index: inIf, Type: 6, Direction: 1, Status: 3}
		s.ifaces[inIf] = c
	}
	c.InOctets += uint64(wireLen)
	switch {
	case pp.DstMAC == flow.MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}:
		c.InBroadcastPkts++
	case pp.DstMAC[0]&1 != 0:
		c.InMulticastPkts++
	default:
		c.InUcastPkts++
	}
	if s.nextCounts == 0 {
		s.nextCounts = t + flow.Time(e.cfg.CounterInterval)
	}

	n := e.cfg.SamplingRate
	if e.cfg.RandomSampling {
		if n > 1 && rand.Uint32N(n) != 0 {
			return
		}
	} else if s.seen++; s.seen < uint64(n) {
		return
	}
	s.seen = 0
	e.sampled.Add(1)
	s.hdr = sflow.SampledHeader{
		Protocol:    sflow.HeaderEthernet,
		FrameLength: uint32(wireLen),
		Stripped:    0,
		Header:      frame[:min(len(frame), e.cfg.HeaderBytes)],
	}
	s.sample = sflow.FlowSample{
		SourceIndex: inIf, SamplingRate: n, SamplePool: uint32(s.pool),
		Input: sflow.Interface{Value: inIf}, Header: &s.hdr,
	}
	e.addSample(&s.sample, nil)
}

// addSample appends a flow sample or a counter sample to the open datagram, sending it
// first when full. e.mu is held.
func (e *Exporter) addSample(fs *sflow.FlowSample, cs *sflow.CounterSample) {
	s := e.sflow
	now := time.Unix(0, int64(e.now))
	for attempt := 0; attempt < 2; attempt++ {
		if !e.open {
			s.b.Start(e.buf[:0], now)
			e.open, e.opened = true, e.now
		}
		var err error
		if fs != nil {
			err = s.b.AddFlowSample(fs)
		} else {
			err = s.b.AddCounterSample(cs)
		}
		if err == nil {
			if fs != nil {
				e.records.Add(1)
			}
			return
		}
		if s.b.Len() == 0 {
			break // it fits no datagram
		}
		e.sendSFlow()
	}
	e.unencodable.Add(1)
}

func (e *Exporter) sendSFlow() {
	if !e.open {
		return
	}
	e.open = false
	if e.sflow.b.Len() == 0 {
		e.sflow.b.Finish()
		return
	}
	msg := e.sflow.b.Finish()
	e.messages.Add(1)
	e.deliver(msg)
	e.buf = msg[:0]
}

// sflowTick sends counters when their interval has passed, and a datagram that has waited
// FlushInterval.
func (e *Exporter) sflowTick(t flow.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if t > e.now {
		e.now = t
	}
	s := e.sflow
	if s.nextCounts != 0 && e.now >= s.nextCounts {
		e.sflowCounters()
		s.nextCounts = e.now + flow.Time(e.cfg.CounterInterval)
	}
	if e.open && e.now-e.opened >= flow.Time(e.cfg.FlushInterval) {
		e.sendSFlow()
	}
}

// sflowCounters adds a counter sample per interface seen. e.mu is held.
func (e *Exporter) sflowCounters() {
	for idx, c := range e.sflow.ifaces {
		cs := sflow.CounterSample{SourceIndex: idx, Generic: c}
		e.addSample(nil, &cs)
	}
}
