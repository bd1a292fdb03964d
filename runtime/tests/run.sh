#!/bin/sh
# Runs each C test binary, shows its output, and sums the per-binary
# "N passed, N failed" lines; a binary that dies without its summary (or
# exits non-zero) counts as one failure.  One that runs longer than
# CAP_TEST_TIMEOUT seconds (default 300; the slowest takes 3 s here) is
# killed, it and what it started: a hang fails its binary, not the suite.
limit=${CAP_TEST_TIMEOUT:-300}
passed=0
failed=0
for t in "$@"; do
	name=${t%% *}
	case $name in
	*/pthread/*) name=pthread/${name##*/} ;; # tests/posix_*.c built with plain gcc -pthread
	*) name=${name##*/} ;;
	esac
	echo "# $name"
	out=$(mktemp)
	timeout -k 10 "$limit" $t >"$out" 2>&1
	rc=$?
	[ "$rc" -eq 124 ] && echo "not ok - $name still ran after $limit s: killed" >>"$out"
	cat "$out"
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
	rm -f "$out"
	if [ -n "$line" ]; then
		p=${line%% passed*}
		f=${line#*passed, }
		f=${f%% failed*}
		passed=$((passed + p))
		failed=$((failed + f))
		if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			echo "not ok - $name exited with status $rc"
			failed=$((failed + 1))
		fi
	else
		echo "not ok - $name exited with status $rc before reporting"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
