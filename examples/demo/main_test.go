package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestDemoProtocols(t *testing.T) {
	for _, proto := range []string{"netflow9", "netflow5", "sflow"} {
		t.Run(proto, func(t *testing.T) {
			var out, errs bytes.Buffer
			if code := run([]string{"-proto", proto}, &out, &errs); code != 0 {
				t.Fatalf("exit %d: %s%s", code, out.String(), errs.String())
			}
			if !strings.Contains(out.String(), "exporter: 5000 packets read") || !strings.Contains(out.String(), "(0 lost, 0 errors)") {
				t.Errorf("summary:\n%s", out.String())
			}
			if !strings.Contains(out.String(), "SOURCE") {
				t.Errorf("no table:\n%s", out.String())
			}
		})
	}
}

func TestDemoJSON(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-proto", "netflow9", "-json"}, &out, &errs); code != 0 {
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
		if m["exporter"] != "127.0.0.1" || m["type"] != "netflow9" {
			t.Errorf("record %v", m)
		}
		n++
	}
	if n == 0 {
		t.Error("no JSON lines")
	}
}
