/* Stands in for library code built without frame pointers: plain gcc -O2
 * -fomit-frame-pointer, no split stacks.  Each level keeps garbage in rbp
 * while it calls down, as code that uses rbp for data does, so a
 * frame-pointer walk from the callback cannot get past it; only the unwind
 * tables (.eh_frame) say where its caller's frame is. */
#include <stdint.h>

#define CAP_TEST_RBP_GARBAGE 0x5eed0000000000c1ull

__attribute__((noinline)) int cap_test_nofp_call(int depth, int (*cb)(void *), void *arg)
{
	volatile int keep = depth * 7; /* a frame of its own: not a tail call */
	int r;
	if (depth > 0) {
		r = cap_test_nofp_call(depth - 1, cb, arg);
	} else {
		/* rbp holds data across the call; the compiler saves and restores it. */
		register uint64_t g __asm__("rbp") = CAP_TEST_RBP_GARBAGE;
		__asm__ volatile("" : "+r"(g));
		r = cb(arg);
		__asm__ volatile("" : "+r"(g));
	}
	return r + keep;
}
