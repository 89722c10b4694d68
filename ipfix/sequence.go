package ipfix

import (
	"sync"

	"github.com/flowkit/flow/template"
)

// SequenceKey names what an IPFIX sequence number counts: the data records of one
// observation domain in one transport session (RFC 7011 section 3.1).
type SequenceKey struct {
	Session template.Session
	Domain  uint32
}

// SequenceInfo is the sequence accounting of one [SequenceKey].
//
// The sequence number of a message counts the data records (options data records
// included, template records not) the exporter sent before it, so the next message is
// expected at this one's number plus its data records. A message ahead of that is a gap
// whose records are counted in Lost; one behind it arrived late (reordered, or a duplicate):
// it is counted in Reordered and its records are taken off Lost, since the gap that counted
// them lost was the place it left. A jump of more than 2^30 either way is taken for an
// exporter restart (Resets) rather than a loss.
//
// A message whose records cannot all be counted — a data set held for lack of its
// template, a malformed set, a message not read to its end — leaves the next expected
// number unknown (Synced false), and the next message starts the count afresh without
// judging a gap.
type SequenceInfo struct {
	// Expected is the sequence number the next message should carry, when Synced.
	Expected uint32
	Synced   bool
	// Received is the sequence number of the latest message.
	Received uint32
	// Messages counts messages, Records their data records (of messages read to the end).
	Messages, Records uint64
	// Lost counts data records that gaps say are missing, less those of late messages.
	Lost int64
	// Reordered counts messages that arrived behind the expected sequence number.
	Reordered uint64
	// Resets counts jumps too large to be loss, after which counting started afresh.
	Resets uint64
}

// Sequences keeps the sequence accounting of many sessions and domains; parsers that share
// one report together. It is safe for concurrent use, but the figures are only right when
// the messages of one session and domain are read in arrival order, by one parser at a
// time. The zero value is ready to use.
type Sequences struct {
	// MaxEntries bounds the (session, domain) pairs tracked (default 65536); pairs beyond
	// it are not tracked. EndSession frees the entries of a session.
	MaxEntries int

	mu sync.Mutex
	m  map[SequenceKey]*seqState
}

type seqState struct {
	key  SequenceKey
	info SequenceInfo
	dead bool // removed from the table
}

// resetJump is the distance in sequence numbers beyond which a jump is a restart.
const resetJump = 1 << 30

// Get returns the accounting of one session and domain, and whether there is any.
func (s *Sequences) Get(k SequenceKey) (SequenceInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.m[k]
	if st == nil {
		return SequenceInfo{}, false
	}
	return st.info, true
}

// All yields the accounting of every session and domain tracked, in no particular order.
// It holds the table's lock while it runs: yield must not call back into s.
func (s *Sequences) All(yield func(SequenceKey, SequenceInfo) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, st := range s.m {
		if !yield(k, st.info) {
			return
		}
	}
}

// EndSession forgets the accounting of every domain of a session.
func (s *Sequences) EndSession(sess template.Session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, st := range s.m {
		if k.Session == sess {
			st.dead = true
			delete(s.m, k)
		}
	}
}

// account accounts for a message of key (sess, domain) with sequence number seq, in one
// hold of the lock: its header, and when it was read to its end (done), its records;
// known is false when some of them could not be counted. It returns the state of the
// key, or nil when the table is full. prev is the state the parser used last: messages
// mostly come from the same key as the one before, and then the table is not looked up.
func (s *Sequences) account(prev *seqState, sess template.Session, domain, seq, records uint32, done, known bool) *seqState {
	k := SequenceKey{sess, domain}
	s.mu.Lock()
	st := prev
	if st == nil || st.dead || st.key != k {
		st = s.m[k]
		if st == nil {
			max := s.MaxEntries
			if max <= 0 {
				max = 65536
			}
			if len(s.m) >= max {
				s.mu.Unlock()
				return nil
			}
			if s.m == nil {
				s.m = map[SequenceKey]*seqState{}
			}
			st = &seqState{key: k}
			s.m[k] = st
		}
	}
	in := &st.info
	in.Messages++
	in.Received = seq
	late := false
	if in.Synced {
		switch d := int64(int32(seq - in.Expected)); {
		case d == 0:
		case d > 0 && d < resetJump:
			in.Lost += d
		case d < 0 && d > -resetJump:
			in.Reordered++
			late = true
		default:
			in.Resets++
			in.Synced = false
		}
	}
	if !done {
		in.Synced = false
		s.mu.Unlock()
		return st
	}
	in.Records += uint64(records)
	switch {
	case late:
		if known {
			in.Lost -= int64(records)
		}
	case known:
		in.Expected, in.Synced = seq+records, true
	default:
		in.Synced = false
	}
	s.mu.Unlock()
	return st
}

// Sequence returns the sequence accounting of the session and domain of the message given
// to Start, as it stands: once Next has returned false (or AppendFlows has returned), it
// includes this message; before, it is what the messages before it made. The second
// result is false when the table was full and the pair is not tracked.
func (p *Parser) Sequence() (SequenceInfo, bool) {
	if p.Sequences == nil {
		return SequenceInfo{}, false
	}
	if p.seqOpen {
		return p.Sequences.Get(SequenceKey{p.session, p.seqDomain})
	}
	if p.seq == nil {
		return SequenceInfo{}, false
	}
	p.Sequences.mu.Lock()
	defer p.Sequences.mu.Unlock()
	return p.seq.info, !p.seq.dead
}

// seqLost notes that some data records of the message cannot be counted.
func (p *Parser) seqLost() {
	if p.relNext < 0 {
		p.seqUnknown = true
	}
}

// commitSequence accounts for the message, once: when its records are all read (done),
// or when the parser moves on without reading them (see StartSession).
func (p *Parser) commitSequence(done bool) {
	if !p.seqOpen {
		return
	}
	p.seqOpen = false
	p.seq = p.Sequences.account(p.seq, p.session, p.seqDomain, p.seqNumber, p.seqCount, done, !p.seqUnknown)
}
