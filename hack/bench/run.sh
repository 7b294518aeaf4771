#!/usr/bin/env bash
# Measures everything BENCHMARKS.md reports and writes it: the handler benchmarks, the HTTPS
# load test, the scale measurements when hack/bench/scale exists, then the report. `make bench`
# calls it. Flags of the load generator can be passed in LOAD_FLAGS (for example
# LOAD_FLAGS="-duration 2s -runs 2" for a quick look); BENCH_COUNT sets the benchmark runs.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export BENCH_OUT="${BENCH_OUT:-${root}/bench/raw}"
BENCH_COUNT="${BENCH_COUNT:-10}"
LOAD_FLAGS="${LOAD_FLAGS:-}"

# Stale results of an earlier run must not reach the report.
rm -rf "${BENCH_OUT}"
mkdir -p "${BENCH_OUT}"

echo "bench: handler benchmarks, ${BENCH_COUNT} runs each (a few minutes)"
cd "${root}"
go test -run '^$' -bench . -benchmem -count "${BENCH_COUNT}" ./webhook/ \
	| tee "${BENCH_OUT}/handler-bench.txt"

cd "${root}/hack/bench"
echo "bench: HTTPS load test"
# shellcheck disable=SC2086 # LOAD_FLAGS is a list of flags
go run ./load ${LOAD_FLAGS}

if [[ -d "${root}/hack/bench/scale" ]]; then
	echo "bench: scale measurements"
	go run ./scale
else
	echo "bench: hack/bench/scale does not exist; the scale measures are not reported"
fi

go run ./report
echo "bench: the report is ${root}/BENCHMARKS.md (chart: ${root}/bench/latency.png," \
	"raw numbers: ${BENCH_OUT})"
