#!/bin/sh
# Runtime code must never call code built without split stacks directly:
# gold would then make that function demand a large chunk on every call,
# and every thread passing through it would link one.  Checks a linked test
# binary: no runtime function may go through __morestack_non_split.
bin=${1:?usage: split_hygiene.sh BINARY}
lib=$(dirname "$0")/../build/libcapriccio.a
ours=$(nm --defined-only "$lib" 2>/dev/null | awk '$2 ~ /[Tt]/ {print $3}' | sort -u)
# cap__main_exit is the one exception: it calls exit() once, on main's thread.
bad=$(objdump -d --no-show-raw-insn "$bin" |
	awk '/^[0-9a-f]+ <.*>:$/ {fn=substr($2, 2, length($2) - 3)} /call.*<__morestack_non_split>/ {print fn}' |
	sort -u | grep -Fx "$ours" | grep -vx 'cap__main_exit')
echo "# split_hygiene $bin"
if [ -n "$bad" ]; then
	echo "not ok - runtime functions that call code without split stacks: $bad"
	echo "0 passed, 1 failed"
	exit 1
fi
echo "ok - no runtime function is forced onto a large chunk"
echo "1 passed, 0 failed"
