package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestDemoProtocols(t *testing.T) {
	for _, args := range [][]string{nil, {"-transport", "tcp"}, {"-proto", "netflow9"}, {"-proto", "netflow5"}, {"-proto", "sflow"}} {
		t.Run(strings.Join(append([]string{"default"}, args...), " "), func(t *testing.T) {
			var out, errs bytes.Buffer
			if code := run(args, &out, &errs); code != 0 {
				t.Fatalf("exit %d: %s%s", code, out.String(), errs.String())
			}
			if !strings.Contains(out.String(), "exporter: 5000 packets read") || !strings.Contains(out.String(), "(0 lost, 0 errors)") {
				t.Errorf("summary:\n%s", out.String())
			}
			if !strings.Contains(out.String(), "SOURCE") {
				t.Errorf("no table:\n%s", out.String())
			}
			if len(args) < 2 || args[0] != "-proto" {
				// IPFIX is the default: every packet of the capture is in the records.
				if !strings.Contains(out.String(), "ipfix") || !strings.Contains(out.String(), "5000 packets, ") {
					t.Errorf("summary:\n%s", out.String())
				}
			}
		})
	}
}

func TestDemoUsage(t *testing.T) {
	for _, args := range [][]string{{"-proto", "netflow7"}, {"-proto", "netflow9", "-transport", "tcp"}, {"-transport", "sctp"}} {
		var out, errs bytes.Buffer
		if code := run(args, &out, &errs); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

func TestDemoJSON(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-json"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	n := 0
	for _, l := range strings.Split(out.String(), "\n") {
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if m["exporter"] != "127.0.0.1" || m["type"] != "ipfix" {
			t.Errorf("record %v", m)
		}
		n++
	}
	if n == 0 {
		t.Error("no JSON lines")
	}
}
