#!/usr/bin/env bash
# Runs every fuzz target, of the library and of the benchmarks module (the differential
# targets against goflow2), for the given time each: ./fuzz.sh 10m
# Findings are written to testdata/fuzz/<Target>/ next to the target, as go test does.
set -euo pipefail
cd "$(dirname "$0")"
time=${1:-1m}
for target in $(go test -list '^Fuzz' ./fuzz | grep '^Fuzz'); do
	echo "== $target ($time)"
	go test ./fuzz -run '^$' -fuzz "^${target}\$" -fuzztime "$time"
done
for target in $(cd benchmarks && go test -list '^Fuzz' . | grep '^Fuzz'); do
	echo "== benchmarks/$target ($time)"
	(cd benchmarks && go test . -run '^$' -fuzz "^${target}\$" -fuzztime "$time")
done
