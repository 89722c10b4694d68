package template_test

import (
	"testing"

	"github.com/flowkit/flow"
	"github.com/flowkit/flow/template"
)

// benchFields is a 20-field template as a Cisco router sends for IPv4.
var benchFields = []template.Field{
	{ID: 8, Length: 4}, {ID: 12, Length: 4}, {ID: 15, Length: 4}, {ID: 1, Length: 4}, {ID: 2, Length: 4},
	{ID: 22, Length: 4}, {ID: 21, Length: 4}, {ID: 7, Length: 2}, {ID: 11, Length: 2}, {ID: 10, Length: 4},
	{ID: 14, Length: 4}, {ID: 16, Length: 4}, {ID: 17, Length: 4}, {ID: 4, Length: 1}, {ID: 5, Length: 1},
	{ID: 6, Length: 1}, {ID: 9, Length: 1}, {ID: 13, Length: 1}, {ID: 61, Length: 1}, {ID: 48, Length: 2},
}

func BenchmarkFill(b *testing.B) {
	tp := template.New(flow.NetFlow9, 300, template.Data, 0, benchFields)
	n, _ := tp.RecordLen()
	rec := make([]byte, n)
	for i := range rec {
		rec[i] = byte(i * 7)
	}
	c := template.Context{Protocol: flow.NetFlow9, HasUptime: true}
	out := make([]flow.Record, 20)
	b.ReportAllocs()
	for b.Loop() {
		for i := range out {
			tp.Fill(&out[i], rec, &c)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(out)), "ns/record")
}

func BenchmarkFillOneField(b *testing.B) {
	tp := template.New(flow.NetFlow9, 300, template.Data, 0, benchFields[:1])
	rec := make([]byte, 4)
	c := template.Context{Protocol: flow.NetFlow9, HasUptime: true}
	out := make([]flow.Record, 20)
	for b.Loop() {
		for i := range out {
			tp.Fill(&out[i], rec, &c)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(out)), "ns/record")
}

func BenchmarkAppendSet(b *testing.B) {
	tp := template.New(flow.NetFlow9, 300, template.Data, 0, benchFields)
	n, _ := tp.RecordLen()
	set := make([]byte, 20*n)
	for i := range set {
		set[i] = byte(i * 7)
	}
	c := template.Context{Protocol: flow.NetFlow9, HasUptime: true}
	out := make([]flow.Record, 0, 20)
	b.ReportAllocs()
	for b.Loop() {
		out, _ = tp.AppendSet(out[:0], set, &c)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(out)), "ns/record")
}
