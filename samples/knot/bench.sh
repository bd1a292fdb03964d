#!/bin/sh
# Load-tests knot with wrk: for each server build and connection count, starts
# the server on build/www, runs wrk, and prints one line with wrk's figures
# plus the server's own CPU time (user+system, from /proc) and requests per
# CPU-second of the server, which is less sensitive than req/s to other load
# on the machine.
#
#   sh bench.sh [-d SECONDS] [-f FILE] [-m read|sendfile] [-r RUNS] [-T WRK_THREADS] [BIN|CONNS...]
#   e.g. sh bench.sh build/knot build/knot-pthread 100 1000
# Numbers are connection counts (default 100 1000), anything else a server
# binary (default build/knot and build/knot-pthread).
# Needs wrk; builds knot, knot-pthread and the docroot first (make all pthread www).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dur=5 file=1k.html mode=read runs=1 wthreads=2
while getopts d:f:m:r:T: o; do
	case $o in
	d) dur=$OPTARG ;; f) file=$OPTARG ;; m) mode=$OPTARG ;; r) runs=$OPTARG ;; T) wthreads=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
bins="" conns=""
for a in "$@"; do
	case $a in
	*[!0-9]*) bins="$bins $a" ;;
	*) conns="$conns $a" ;;
	esac
done
[ -n "$conns" ] || conns="100 1000"
[ -n "$bins" ] || bins="$here/build/knot $here/build/knot-pthread"
make -s -C "$here" all pthread www >&2
tick=$(getconf CLK_TCK)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for bin in $bins; do
	for c in $conns; do
		r=0
		while [ $r -lt "$runs" ]; do
			r=$((r + 1))
			"$bin" -p 0 -d "$here/build/www" -m "$mode" >"$out" 2>&1 &
			pid=$!
			port=
			while [ -z "$port" ]; do
				kill -0 $pid 2>/dev/null || { cat "$out" >&2; exit 1; }
				sleep 0.05
				port=$(awk '/^listening on/ { print $3 }' "$out")
			done
			cpu0=$(awk '{ print $14 + $15 }' /proc/$pid/stat)
			w=$(wrk -t"$wthreads" -c"$c" -d"$dur"s "http://127.0.0.1:$port/$file")
			cpu1=$(awk '{ print $14 + $15 }' /proc/$pid/stat)
			kill -TERM $pid
			wait $pid || true
			echo "$w" | awk -v bin="$(basename "$bin")" -v c="$c" -v cpu=$(((cpu1 - cpu0))) -v tick="$tick" -v dur="$dur" '
				/Latency/ { lat = $2; lmax = $4 }
				/requests in/ { n = $1 }
				/Socket errors/ { err = $0; sub(/^ *Socket errors: */, "", err) }
				/Non-2xx/ { non2xx = $NF }
				/Requests\/sec/ { rps = $2 }
				END {
					s = cpu / tick
					printf "%-14s c=%-6d %10.0f req/s  latency avg %-9s max %-9s requests %-9s non-2xx %s  errors %s  server cpu %.2fs (%.0f%%)  %.0f req/cpu-s\n",
						bin, c, rps, lat, lmax, n, (non2xx ? non2xx : 0), (err ? err : "none"), s, 100 * s / dur, (s > 0 ? n / s : 0)
				}'
		done
	done
done
