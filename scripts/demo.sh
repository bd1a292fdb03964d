#!/usr/bin/env bash
# `npm run demo`: the knot web server (samples/knot: HTTP/1.1, one thread per connection) built
# with Capriccio, run under the profiler while wrk drives 1,000 keep-alive connections at it.
# Shows the live summary, then writes the recording and the HTML report and prints both paths.
# It checks what it shows: knot built with split stacks, wrk's requests answered, a recording with
# blocking points, a report; any of these missing fails the demo.
#
#   bash scripts/demo.sh [--seconds N] [--connections N] [--out DIR]
# (defaults: 10 s of load, 1,000 connections, ./capriccio-demo; npm test runs it for 2 s)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CONNECTIONS=1000 LOAD_SECONDS=10 FILE=1k.html
OUT=$PWD/capriccio-demo
usage() {
	echo "usage: bash scripts/demo.sh [--seconds N] [--connections N] [--out DIR]" >&2
	exit 2
}
count() { [[ ${2-} =~ ^[1-9][0-9]*$ ]] || { echo "demo: $1 needs a positive whole number, not '${2-}'" >&2; usage; }; }
while (($# > 0)); do
	case $1 in
	--seconds) count "$1" "${2-}"; LOAD_SECONDS=$2; shift 2 ;;
	--connections) count "$1" "${2-}"; CONNECTIONS=$2; shift 2 ;;
	--out) [[ -n ${2-} ]] || usage; OUT=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
	*) echo "demo: unknown argument '$1'" >&2; usage ;;
	esac
done
KNOT=samples/knot/build/knot
WWW=samples/knot/build/www

log=$(mktemp -t capriccio-demo.XXXXXX)
wrk_out=$(mktemp -t capriccio-demo-wrk.XXXXXX)
load_pid=
cleanup() {
	if [[ -n $load_pid ]]; then
		kill "$load_pid" 2>/dev/null || true
		wait "$load_pid" 2>/dev/null || true
	fi
	rm -f "$log" "$wrk_out"
}
trap cleanup EXIT

# Runs a step with its output in the log; shows the log only if it fails.
quietly() {
	local what=$1
	shift
	if ! "$@" >"$log" 2>&1; then
		echo "demo: $what failed:" >&2
		tail -n 40 "$log" >&2
		exit 1
	fi
}

echo "demo: preparing (dependencies, build, samples/knot)..." >&2
quietly 'installing dependencies (scripts/setup-deps.sh)' bash scripts/setup-deps.sh
quietly 'npm run build' npm run --silent build
quietly 'make -C samples/knot all www' make -C samples/knot all www
# The whole symbol list is read before it is searched: under pipefail, nm piped into a grep that
# quits at its first match fails at random (nm dies of SIGPIPE).
symbols=$(nm "$KNOT" 2>/dev/null) || symbols=
if [[ $'\n'$symbols$'\n' != *$' __morestack\n'* ]]; then
	echo "demo: $KNOT was not built with capcc (no split stacks); run: make -C samples/knot clean all" >&2
	exit 1
fi

# One descriptor per connection on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
mkdir -p "$OUT"
record=$OUT/knot.cap
report=$OUT/knot.html

# The load starts once knot answers, and ends before the profiling run does.
(
	for _ in $(seq 100); do
		curl -fs -o /dev/null "http://127.0.0.1:$port/$FILE" && break
		sleep 0.1
	done
	wrk -t2 -c"$CONNECTIONS" -d"${LOAD_SECONDS}s" --latency "http://127.0.0.1:$port/$FILE" >"$wrk_out" 2>&1
) &
load_pid=$!

echo "demo: knot on 127.0.0.1:$port under the profiler; wrk: $CONNECTIONS keep-alive connections for ${LOAD_SECONDS} s" >&2
run_status=0
node bin/capriccio.js run --record "$record" --duration $((LOAD_SECONDS + 3)) -- \
	"$KNOT" -p "$port" -d "$WWW" || run_status=$?
wait "$load_pid" || true
load_pid=
if ((run_status != 0)); then
	echo "demo: capriccio run ended with status $run_status (knot stops with status 0 on SIGTERM)" >&2
	exit 1
fi

echo
echo "wrk (the load generator):"
sed -n '/Latency/,$s/^/  /p' "$wrk_out"
requests=$(sed -n 's/^ *\([0-9][0-9]*\) requests in .*/\1/p' "$wrk_out")
if [[ -z $requests || $requests -eq 0 ]]; then
	echo "demo: wrk got no answers from knot:" >&2
	cat "$wrk_out" >&2
	exit 1
fi
echo
summary=$(node bin/capriccio.js summary "$record")
sed -n '1,30p' <<<"$summary"
json=$(node bin/capriccio.js summary "$record" --json)
points=$(node -e 'const s = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(s.nodes.length)' <<<"$json")
if ((points == 0)); then
	echo "demo: the recording $record has no blocking points" >&2
	exit 1
fi
node bin/capriccio.js report "$record" -o "$report" >/dev/null
[[ -s $report ]] || { echo "demo: no report was written to $report" >&2; exit 1; }
echo
echo "recording: $record"
echo "report:    $report   (open it in a browser; it works offline)"
echo "knot is plain thread-per-connection C (one pthread per connection) built with capcc: every"
echo "one of those threads ran as a Capriccio user-level thread on split stacks."
