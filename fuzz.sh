#!/usr/bin/env bash
# Runs every fuzz target for the given time each (any go test -fuzztime value): ./fuzz.sh 10m
# Targets: the library's in ./fuzz, the collector's (package collector), and the
# differential ones against goflow2 in the benchmarks module. FUZZ_PARALLEL sets the
# workers per target (default: go test's, one per CPU).
# Findings are written to testdata/fuzz/<Target>/ next to the target, as go test does.
# FUZZ_DIFF_REPORT_ONLY=1 (what .ci/run sets) reports a disagreement found by a
# differential target without failing: a new one is most often another way goflow2 reads
# malformed input, to be classified by a person (FUZZING.md), not a regression of ours.
# The library's own targets always fail on a finding.
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
		out=$(mktemp)
		if (cd "$dir" && go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$time" "${parallel[@]}") 2>&1 | tee "$out"; then
			rm -f "$out"
			continue
		fi
		# Go 1.26's fuzz coordinator can end a run at -fuzztime with a bare "context
		# deadline exceeded" and no input (go.dev/issue/75804, fixed in Go 1.27): that
		# is no finding. Anything else, and any run that wrote a failing input, fails.
		if ! grep -q 'Failing input written' "$out" && grep -q '^    context deadline exceeded$' "$out" &&
			[ "$(grep -c -- '--- FAIL' "$out")" = 1 ]; then
			echo "fuzz.sh: $target stopped on the Go 1.26 coordinator race (go.dev/issue/75804), no input written: not a finding"
			rm -f "$out"
			continue
		fi
		rm -f "$out"
		if [ "$dir" = benchmarks ] && [ -n "${FUZZ_DIFF_REPORT_ONLY:-}" ]; then
			echo "fuzz.sh: $target found a disagreement with goflow2 (input above): classify it, see FUZZING.md"
			continue
		fi
		return 1
	done
}
run . ./fuzz
run . ./collector
run benchmarks .
