#!/usr/bin/env bash
# capriccio.pc gives pkg-config users what capcc gives: a plain POSIX test
# program (tests/posix_sleep.c) built with nothing but
#   gcc $(pkg-config --cflags capriccio) prog.c $(pkg-config --libs capriccio)
# from this checkout's build/capriccio.pc and from a `make install` into a
# temporary prefix must be split-stack code linked with the runtime, and pass
# its own checks under it.  And the .pc and bin/capcc must not drift apart:
# both hand gcc the same flags.
set -euo pipefail
runtime=$(cd "$(dirname "$0")/.." && pwd -P)
prog=$runtime/tests/posix_sleep.c
tmp=$(mktemp -d "${TMPDIR:-/tmp}/capriccio-pc.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
ok() {
	echo "ok - $*"
	passed=$((passed + 1))
}
not_ok() {
	echo "not ok - $*"
	failed=$((failed + 1))
}
done_() {
	echo "$passed passed, $failed failed"
	exit $((failed > 0))
}

if ! command -v pkg-config >/dev/null; then
	not_ok "pkg-config is not installed (Debian package pkgconf; scripts/setup-deps.sh installs it)"
	done_
fi

# Whole words of a file, one a line, sorted and unique.
words() { tr -s ' \n' '\n\n' <"$1" | sed '/^$/d' | sort -u; }

# check WHERE PKG_CONFIG_PATH: build the program with that .pc, look at it, run it.
# Compiled and linked apart, as makefiles do: Cflags alone must give split-stack code.
check() {
	local where=$1 bin=$tmp/prog-$1 cflags libs
	if ! cflags=$(PKG_CONFIG_PATH=$2 pkg-config --cflags capriccio) ||
		! libs=$(PKG_CONFIG_PATH=$2 pkg-config --libs capriccio); then
		not_ok "$where: pkg-config finds capriccio in $2"
		return
	fi
	printf '%s\n' "$cflags" "$libs" >"$tmp/flags-$where"
	# -I tests: the program's own headers (tap.h, ticker.h).
	# shellcheck disable=SC2086 # pkg-config's output is meant to be split into words
	if ! gcc -O2 $cflags -I"$runtime/tests" -c "$prog" -o "$bin.o" 2>"$tmp/cc.err" ||
		! gcc "$bin.o" $libs -o "$bin" 2>>"$tmp/cc.err"; then
		cat "$tmp/cc.err"
		not_ok "$where: gcc \$(pkg-config --cflags capriccio) -c prog.c; gcc prog.o \$(pkg-config --libs capriccio)"
		return
	fi
	ok "$where: gcc \$(pkg-config --cflags capriccio) -c prog.c; gcc prog.o \$(pkg-config --libs capriccio)"

	# The program's own main was compiled with split stacks: its prologue calls __morestack
	# (__morestack_non_split once gold has seen it call libc).
	objdump -d --no-show-raw-insn "$bin" >"$tmp/dis"
	if awk '/^[0-9a-f]+ <.*>:$/ { fn = $2 } fn == "<main>:" && /call.*<__morestack(_non_split)?>/ { found = 1 } END { exit !found }' "$tmp/dis"; then
		ok "$where: the program's main checks its stack (split-stack prologue)"
	else
		not_ok "$where: the program's main has no split-stack prologue (Cflags without -fsplit-stack?)"
	fi
	nm "$bin" >"$tmp/nm"
	local sym missing=
	for sym in __morestack __wrap_main cap_spawn pthread_create; do
		grep -Eq " [Tt] $sym\$" "$tmp/nm" || missing="$missing $sym"
	done
	if [[ -z $missing ]]; then
		ok "$where: the runtime is linked in (__morestack, __wrap_main, cap_spawn, its pthread_create)"
	else
		not_ok "$where: not defined in the program:$missing"
	fi

	# Run: the runtime reports split stacks (it falls back to fixed ones when main was
	# not built with them) and the program's checks pass on its user threads.
	if CAPRICCIO_VERBOSE=1 "$bin" >"$tmp/out" 2>"$tmp/err" &&
		grep -Eq '^[0-9]+ passed, 0 failed$' "$tmp/out" &&
		grep -q '^capriccio: stacks split' "$tmp/err"; then
		ok "$where: runs on the runtime with split stacks and passes its checks"
	else
		cat "$tmp/out" "$tmp/err"
		not_ok "$where: the program failed, or did not run on split stacks"
	fi
}

check checkout "$runtime/build"

# Installed: every path points into the prefix, none into the checkout.
prefix=$tmp/prefix
if env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$runtime" install PREFIX="$prefix" >"$tmp/install.log" 2>&1; then
	ok "make install PREFIX=$prefix"
	check installed "$prefix/lib/pkgconfig"
	if grep -qF "$runtime" "$tmp/flags-installed"; then
		not_ok "installed: the flags still name the checkout: $(cat "$tmp/flags-installed")"
	else
		ok "installed: the flags name only the prefix"
	fi
else
	cat "$tmp/install.log"
	not_ok "make install PREFIX=$prefix"
fi

# The same flags as capcc, for a compile (Cflags) and for a link (both): run it with a gcc
# that records its arguments.  capcc adds -fcallgraph-info=su for the profiler, which the
# .pc leaves out (capriccio.pc.in).
cat >"$tmp/gcc-argv" <<EOF
#!/bin/sh
case \$1 in -print-prog-name=*) exec gcc "\$@" ;; esac
printf '%s\n' "\$@" >"$tmp/capcc-argv"
EOF
chmod +x "$tmp/gcc-argv"
# same_flags WHAT PKG-CONFIG-OUTPUT CAPCC-ARGS...
same_flags() {
	local what=$1 pc=$2
	shift 2
	rm -f "$tmp/capcc-argv"
	if ! CAPRICCIO_GCC=$tmp/gcc-argv "$runtime/../bin/capcc" "$@" || [[ ! -s $tmp/capcc-argv ]]; then
		not_ok "$what: capcc ran with a recording gcc"
		return
	fi
	words "$tmp/capcc-argv" | grep -vxF -e -c -e "$prog" -e -o -e "$tmp/unused" -e -fcallgraph-info=su >"$tmp/capcc-words" || true
	words "$pc" >"$tmp/pc-words"
	if diff "$tmp/capcc-words" "$tmp/pc-words" >"$tmp/diff"; then
		ok "$what: capriccio.pc and bin/capcc give gcc the same flags"
	else
		cat "$tmp/diff"
		not_ok "$what: capriccio.pc and bin/capcc differ (< capcc, > pkg-config)"
	fi
}
if PKG_CONFIG_PATH=$runtime/build pkg-config --cflags capriccio >"$tmp/cflags"; then
	same_flags compile "$tmp/cflags" -c "$prog" -o "$tmp/unused"
fi
if [[ -f $tmp/flags-checkout ]]; then
	same_flags link "$tmp/flags-checkout" "$prog" -o "$tmp/unused"
else
	not_ok "link: no flags from the checkout's capriccio.pc to compare with capcc's"
fi
done_
