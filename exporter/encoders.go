package exporter

import (
	"time"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/netflow5"
	"github.com/flowkit/flow/netflow9"
)

// encoder is what the exporter needs of a protocol's Builder.
type encoder interface {
	start(dst []byte, now time.Time)
	add(r *flow.Record) error // flow.ErrFull when the message has no room
	finish() []byte
	count() int // records in the open message
}

// greeter is an encoder whose templates must open every stream connection, which go
// before next (nil: none yet).
type greeter interface {
	templates(now time.Time, next []byte) []byte
}

// booter is an encoder whose messages count time in sysUptime from a boot time (NetFlow
// v5 and v9): the exporter sets it, before the first message, to a time no later than
// any flow it will report.
type booter interface {
	setBoot(t time.Time)
}

// biflowEncoder is an encoder that can carry a biflow in one record (IPFIX, RFC 5103).
type biflowEncoder interface {
	addBiflow(fwd, rev *flow.Record) error
}

type v5Encoder struct{ b netflow5.Builder }

func (e *v5Encoder) start(dst []byte, now time.Time) { e.b.Start(dst, now) }
func (e *v5Encoder) add(r *flow.Record) error        { return e.b.AddFlow(r) }
func (e *v5Encoder) finish() []byte                  { return e.b.Finish() }
func (e *v5Encoder) count() int                      { return e.b.Len() }
func (e *v5Encoder) setBoot(t time.Time)             { e.b.Boot = t }

type v9Encoder struct{ b netflow9.Builder }

func (e *v9Encoder) start(dst []byte, now time.Time) { e.b.Start(dst, now) }
func (e *v9Encoder) add(r *flow.Record) error        { return e.b.AddFlow(r) }
func (e *v9Encoder) finish() []byte                  { return e.b.Finish() }
func (e *v9Encoder) count() int                      { return e.b.Len() }
func (e *v9Encoder) setBoot(t time.Time)             { e.b.Boot = t }
