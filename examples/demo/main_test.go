package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestDemoTable(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run(nil, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errs.String())
	}
	if !strings.Contains(out.String(), "exporter: 37 flows in 2 NetFlow v5 datagrams") ||
		!strings.Contains(out.String(), "collector: 37 flows decoded") {
		t.Errorf("summary missing:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "66.249.92.75:37387") {
		t.Errorf("a known flow of the Juniper capture is missing:\n%s", out.String())
	}
}

func TestDemoJSON(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"-json"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	lines := 0
	for _, l := range strings.Split(out.String(), "\n") {
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		if m["exporter"] != "127.0.0.1" || m["type"] != "netflow5" {
			t.Errorf("record %v", m)
		}
		lines++
	}
	if lines != 37 {
		t.Errorf("%d JSON lines, want 37", lines)
	}
}
