#!/usr/bin/env bash
# The `cap_` prefix is the public API: every `cap_` symbol the library
# defines must be declared in include/capriccio.h.  Internal symbols use
# `cap__`, so a program (or a later header) can never collide with them.
set -euo pipefail
lib=${1:?usage: public_symbols.sh LIBRARY [HEADER]}
header=${2:-$(dirname "$0")/../include/capriccio.h}
# Comments may name a symbol the header does not declare: compare against
# the preprocessed declarations only.
declared=$(gcc -E -P -x c "$header" -I"$(dirname "$header")" | grep -oE '\bcap_[A-Za-z0-9_]+\b' | sort -u)
exported=$(nm -g --defined-only "$lib" | awk '$3 ~ /^cap_[^_]/ { print $3 }' | sort -u)
bad=$(comm -23 <(printf '%s\n' "$exported") <(printf '%s\n' "$declared"))
echo "# public_symbols $lib"
if [ -n "$bad" ]; then
	echo "not ok - exported under the public cap_ prefix but not declared in capriccio.h:" $bad
	echo "0 passed, 1 failed"
	exit 1
fi
echo "ok - every exported cap_ symbol is declared in capriccio.h"
echo "1 passed, 0 failed"
