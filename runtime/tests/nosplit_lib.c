/* Stands in for a precompiled library: built with plain gcc, no split
 * stacks, so its frames never check the stack limit. */
#include <string.h>

int cap_test_recurse_nosplit(int depth)
{
	volatile char frame[1024];
	memset((char *)frame, depth & 0x7f, sizeof frame);
	if (depth <= 0)
		return frame[0];
	return cap_test_recurse_nosplit(depth - 1) + frame[1];
}

/* Writes `bytes` of stack contiguously downwards from the caller's frame. */
int cap_test_big_frame(int bytes)
{
	volatile char *buf = __builtin_alloca((size_t)bytes);
	for (int i = bytes - 1; i >= 0; i--)
		buf[i] = 1;
	return buf[0];
}
