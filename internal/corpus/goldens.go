package corpus

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
)

// LogstashContext is one rspec context of logstash-codec-netflow's netflow_spec.rb, as
// extracted into logstash-codec-netflow/expectations/netflow_spec.expected.json: the files
// to feed one decoder in order, and the events the decoder is expected to emit.
type LogstashContext struct {
	Context    string   `json:"context"`
	Files      []string `json:"files"`
	EventCount *int     `json:"expected_event_count"`
	Assertions []struct {
		Event int    `json:"event"`
		Field string `json:"field"`
		Value any    `json:"value"`
	} `json:"field_assertions"`
	Events []struct {
		Timestamp string         `json:"@timestamp"`
		Netflow   map[string]any `json:"netflow"`
	} `json:"json_events"`
}

// EventIndex returns the index, among the decoded events, of the i-th entry of Events.
// The spec renders either every event or a single one; a single one is the event its field
// assertions are about.
func (c LogstashContext) EventIndex(i int) int {
	if c.EventCount != nil && len(c.Events) == *c.EventCount {
		return i
	}
	if len(c.Events) == 1 && len(c.Assertions) > 0 {
		return c.Assertions[0].Event
	}
	return i
}

// Logstash returns the named context of the logstash expectations.
func Logstash(tb testing.TB, context string) LogstashContext {
	tb.Helper()
	b, err := os.ReadFile(File(tb, "logstash-codec-netflow/expectations/netflow_spec.expected.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var doc struct {
		Contexts []LogstashContext `json:"contexts"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		tb.Fatal(err)
	}
	for _, c := range doc.Contexts {
		if c.Context == context {
			return c
		}
	}
	tb.Fatalf("no logstash context %q", context)
	return LogstashContext{}
}

// TelegrafLine is one line of a telegraf expected.out (InfluxDB line protocol): its tags
// and its fields, the fields as the text of their values (strings unquoted, integer
// suffixes removed).
type TelegrafLine struct {
	Tags   map[string]string
	Fields map[string]string
}

// Uint returns a numeric field, failing the test if it is not one.
func (l TelegrafLine) Uint(tb testing.TB, key string) uint64 {
	tb.Helper()
	v, err := strconv.ParseUint(l.Fields[key], 0, 64)
	if err != nil {
		tb.Fatalf("telegraf field %s=%q: %v", key, l.Fields[key], err)
	}
	return v
}

// Telegraf returns the lines of a telegraf test case's expected.out.
func Telegraf(tb testing.TB, testcase string) []TelegrafLine {
	tb.Helper()
	b, err := os.ReadFile(File(tb, "telegraf/"+testcase+"/expected.out"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []TelegrafLine
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		out = append(out, parseLineProtocol(tb, line))
	}
	return out
}

// parseLineProtocol splits "measurement,tag=v,... field=v,field="s",..." — enough of
// the format for telegraf's netflow goldens, whose values hold no escaped characters.
func parseLineProtocol(tb testing.TB, line string) TelegrafLine {
	tb.Helper()
	head, rest, ok := strings.Cut(line, " ")
	if !ok {
		tb.Fatalf("bad line protocol: %q", line)
	}
	l := TelegrafLine{Tags: map[string]string{}, Fields: map[string]string{}}
	for _, kv := range strings.Split(head, ",")[1:] {
		k, v, _ := strings.Cut(kv, "=")
		l.Tags[k] = v
	}
	// Fields: split on commas outside quotes.
	var fields []string
	inQuote, start := false, 0
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case '"':
			inQuote = !inQuote
		case ',':
			if !inQuote {
				fields = append(fields, rest[start:i])
				start = i + 1
			}
		case ' ':
			if !inQuote { // optional timestamp after the fields
				fields = append(fields, rest[start:i])
				start = -1
			}
		}
		if start < 0 {
			break
		}
	}
	if start >= 0 {
		fields = append(fields, rest[start:])
	}
	for _, kv := range fields {
		k, v, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(v, `"`):
			v = strings.Trim(v, `"`)
		case strings.HasSuffix(v, "u"), strings.HasSuffix(v, "i"):
			v = v[:len(v)-1]
		}
		l.Fields[k] = v
	}
	return l
}
