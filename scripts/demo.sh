#!/usr/bin/env bash
# `npm run demo`: builds the echo sample with Capriccio and runs it under load.
# 1000 client connections x 100 messages x 64 bytes against a
# thread-per-connection server, both on Capriccio user-level threads.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CONNECTIONS=1000 MESSAGES=100 SIZE=64
BUILD=samples/echo/build

log=$(mktemp -t capriccio-demo.XXXXXX)
server_out=$(mktemp -t capriccio-demo-server.XXXXXX)
server_pid=
cleanup() {
	if [[ -n $server_pid ]]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -f "$log" "$server_out"
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

echo "demo: preparing (dependencies, build, samples/echo)..." >&2
quietly 'installing dependencies (scripts/setup-deps.sh)' bash scripts/setup-deps.sh
quietly 'npm run build' npm run --silent build
quietly 'make -C samples/echo' make -C samples/echo

# Both programs must be Capriccio builds (split stacks), not plain gcc ones.
for prog in echo_server echo_client; do
	symbols=$(nm "$BUILD/$prog" 2>/dev/null || true)
	if ! grep -q ' __morestack$' <<<"$symbols"; then
		echo "demo: $BUILD/$prog was not built with capcc (no split stacks); run: make -C samples/echo clean all" >&2
		exit 1
	fi
done

# Each side holds one descriptor per connection.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

"$BUILD/echo_server" 0 >"$server_out" 2>&1 &
server_pid=$!

port=
for _ in $(seq 100); do
	if read -r word1 word2 p <"$server_out" && [[ "$word1 $word2" == 'listening on' ]]; then
		port=$p
		break
	fi
	if ! kill -0 "$server_pid" 2>/dev/null; then
		echo "demo: echo_server exited before listening:" >&2
		cat "$server_out" >&2
		exit 1
	fi
	sleep 0.1
done
if [[ -z $port ]]; then
	echo "demo: echo_server did not print 'listening on PORT' within 10 s:" >&2
	cat "$server_out" >&2
	exit 1
fi

echo "demo: echo_server listening on 127.0.0.1:$port; running echo_client $CONNECTIONS connections x $MESSAGES messages x $SIZE bytes" >&2
status=0
"$BUILD/echo_client" 127.0.0.1 "$port" "$CONNECTIONS" "$MESSAGES" "$SIZE" || status=$?

echo "Server and client are plain thread-per-connection C (one pthread per connection) built with capcc: every one of those threads ran as a Capriccio user-level thread on split stacks, not as a kernel thread."
exit "$status"
