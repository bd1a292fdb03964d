#!/usr/bin/env bash
# Runs the runtime micro-benchmarks (runtime/build/bench/runtime_bench).
# Setup and build output go to stderr, so stdout is the benchmark's alone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup-deps.sh >&2
npm run --silent build >&2
make -s -C runtime bench >&2

exec runtime/build/bench/runtime_bench "$@"
