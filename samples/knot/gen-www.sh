#!/bin/sh
# Generates knot's benchmark docroot in OUTDIR (default: build/www next to
# this script): www/index.html plus files of 1 KiB, 10 KiB, 100 KiB and
# 1 MiB (1k.html 10k.html 100k.html 1m.html), filled with a deterministic,
# non-repeating-looking text so the same command gives the same bytes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/build/www}
mkdir -p "$out"
cp "$here/www/index.html" "$out/index.html"
# 1 MiB of text: numbered lines, so an offset error shows up in a diff.
# awk stops at exactly 1 MiB itself: a reader that quits early (head -c) would kill it with SIGPIPE.
awk 'BEGIN {
	for (i = 0; n < 1048576; i++) {
		s = sprintf("%07d knot benchmark line, the quick brown fox jumps over the lazy dog\n", i)
		if (n + length(s) > 1048576) s = substr(s, 1, 1048576 - n)
		printf "%s", s
		n += length(s)
	}
}' >"$out/1m.html"
head -c 1024 "$out/1m.html" >"$out/1k.html"
head -c 10240 "$out/1m.html" >"$out/10k.html"
head -c 102400 "$out/1m.html" >"$out/100k.html"
