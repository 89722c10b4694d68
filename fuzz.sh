#!/usr/bin/env bash
# Runs every fuzz target for the given time each (any go test -fuzztime value): ./fuzz.sh 10m
# Targets: the library's in ./fuzz, the collector's (package collector), and the
# differential ones against goflow2 in the benchmarks module. FUZZ_PARALLEL sets the
# workers per target (default: go test's, one per CPU).
# Findings are written to testdata/fuzz/<Target>/ next to the target, as go test does.
set -euo pipefail
cd "$(dirname "$0")"
time=${1:-1m}
parallel=()
if [ -n "${FUZZ_PARALLEL:-}" ]; then parallel=(-parallel "$FUZZ_PARALLEL"); fi
# run DIR PKG: every Fuzz* target of PKG, run from DIR (its module root).
run() {
	local dir=$1 pkg=$2 target
	for target in $(cd "$dir" && go test -list '^Fuzz' "$pkg" | grep '^Fuzz'); do
		echo "== $dir $pkg $target ($time)"
		(cd "$dir" && go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$time" "${parallel[@]}")
	done
}
run . ./fuzz
run . ./collector
run benchmarks .
