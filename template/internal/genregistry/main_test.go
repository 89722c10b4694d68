package main

import (
	"bytes"
	"os"
	"testing"
)

// TestGeneratedFileIsCurrent regenerates the registry from the CSV and requires the
// committed registry_iana.go to be what comes out: run go generate ./template otherwise.
func TestGeneratedFileIsCurrent(t *testing.T) {
	f, err := os.Open("ipfix-information-elements.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, err := generate(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../registry_iana.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("template/registry_iana.go is not what the CSV generates: run go generate ./template")
	}
}
