/* The call-chain walk (src/unwind.h) through code without frame pointers:
 * from a callback called by tests/nofp_calls.c, whose frames keep garbage in
 * rbp, the walk must find the same return addresses as libgcc's unwinder
 * (glibc's backtrace), through every no-frame-pointer level back into this
 * file's own frames — the first time (rules read from .eh_frame through the
 * system stack), from the cache, and with the signal handler's resolver. */
#include "tap.h"
#include "unwind.h"

#include <capriccio.h>
#include <execinfo.h>
#include <stdint.h>

int cap_test_nofp_call(int depth, int (*cb)(void *), void *arg);

#define DEPTH 6
#define MAXF 32

struct seen {
	uint64_t walk[3][MAXF];
	uint32_t nwalk[3];
	void *bt[MAXF];
	int nbt;
	uintptr_t callers_rbp;
};

static struct cap_unwind_rule no_fill(uint64_t key) { return cap__unwind_rule_sys(key); }

/* Walks from its own frame, as the runtime's block function does. */
static __attribute__((noinline)) uint32_t walk_here(uint64_t *frames, cap_unwind_miss_fn *miss)
{
	const uintptr_t *fp = __builtin_frame_address(0);
	struct cap_unwind_regs r = { fp[1], (uintptr_t)(fp + 2), fp[0] };
	return cap__unwind_walk(cap__current(), r, true, __morestack_segments, frames, MAXF, miss);
}

static __attribute__((noinline)) int at_bottom(void *arg)
{
	struct seen *s = arg;
	s->callers_rbp = *(const uintptr_t *)__builtin_frame_address(0);
	s->nwalk[0] = walk_here(s->walk[0], cap__unwind_fill); /* misses: read, then cached */
	s->nwalk[1] = walk_here(s->walk[1], cap__unwind_fill); /* hits */
	s->nwalk[2] = walk_here(s->walk[2], no_fill);          /* what the sampler does */
	s->nbt = backtrace(s->bt, MAXF);
	return 1;
}

static __attribute__((noinline)) void *through_nofp(void *arg)
{
	int r = cap_test_nofp_call(DEPTH, at_bottom, arg);
	__asm__ volatile("" ::: "memory");
	return (void *)(intptr_t)r;
}

static void test_walk_through_code_without_frame_pointers(void)
{
	static struct seen s;
	cap_thread_t *t = cap_spawn(through_nofp, &s, NULL);
	CHECK(t != NULL);
	cap_join(t, NULL);
	/* The frame-pointer chain is broken right above the callback. */
	CHECK_EQ(s.callers_rbp, 0x5eed0000000000c1ull);
	/* walk_here's first frame is at_bottom's return into cap_test_nofp_call;
	 * backtrace's [0] is its own return into at_bottom. */
	int k = 0;
	while (k < s.nbt && (uint64_t)(uintptr_t)s.bt[k] != s.walk[0][0])
		k++;
	CHECK(k < s.nbt);
	uint32_t same = 0;
	while (same < s.nwalk[0] && k + (int)same < s.nbt && s.walk[0][same] == (uint64_t)(uintptr_t)s.bt[k + same])
		same++;
	/* The callback's caller, DEPTH more no-frame-pointer levels, through_nofp, and the thread's base. */
	CHECK(same >= DEPTH + 3);
	if (same < DEPTH + 3)
		for (int i = 0; i < s.nbt || i < (int)s.nwalk[0]; i++)
			fprintf(stderr, "  %2d walk %#llx  backtrace %p\n", i,
				i < (int)s.nwalk[0] ? (unsigned long long)s.walk[0][i] : 0ull, i < s.nbt ? s.bt[i] : NULL);
	/* The rules behind it: the library's frames from rsp, with rbp saved (it
	 * holds data); this file's from the frame pointer. */
	struct cap_unwind_rule lib = cap__unwind_rule_sys(s.walk[0][0] - 1);
	CHECK_EQ(lib.flags, 0);
	CHECK_EQ(lib.cfa_rbp, 0);
	CHECK(lib.rbp_off <= -16);
	struct cap_unwind_rule own = cap__unwind_rule_sys(s.walk[0][DEPTH + 1] - 1);
	CHECK_EQ(own.flags, 0);
	CHECK_EQ(own.cfa_rbp, 1);
	CHECK_EQ(own.cfa_off, 16);
	CHECK_EQ(own.rbp_off, -16);
	/* Cached rules and the sampler's resolver give the very same chain. */
	CHECK_EQ(s.nwalk[1], s.nwalk[0]);
	CHECK_EQ(s.nwalk[2], s.nwalk[0]);
	CHECK(memcmp(s.walk[1], s.walk[0], s.nwalk[0] * sizeof(uint64_t)) == 0);
	CHECK(memcmp(s.walk[2], s.walk[0], s.nwalk[0] * sizeof(uint64_t)) == 0);
}

/* An address no object holds, and one in a function whose unwind info
 * marks the outermost frame (the thread trampoline), end a walk. */
static void test_rules_that_stop(void)
{
	CHECK(cap__unwind_rule_sys(0x10).flags & CAP_UNWIND_STOP);
	extern void cap__thread_trampoline(void);
	CHECK(cap__unwind_rule_sys((uint64_t)(uintptr_t)cap__thread_trampoline + 4).flags & CAP_UNWIND_STOP);
}

/* The function holding an address, from the same tables: what the stall
 * watchdog tells a caller's return address from a leftover in its frame by.
 * Within this program, the library code (no frame pointers) and libc. */
static void test_function_of_an_address(void)
{
	CHECK_EQ(cap__unwind_function_sys((uintptr_t)walk_here + 5), (uintptr_t)walk_here);
	CHECK_EQ(cap__unwind_function_sys((uintptr_t)cap_test_nofp_call + 3), (uintptr_t)cap_test_nofp_call);
	CHECK_EQ(cap__unwind_function_sys((uintptr_t)through_nofp), (uintptr_t)through_nofp);
	CHECK(cap__unwind_function_sys((uintptr_t)walk_here + 5) != cap__unwind_function_sys((uintptr_t)at_bottom + 5));
	CHECK(cap__unwind_function_sys((uintptr_t)backtrace + 1) != 0);
	CHECK_EQ(cap__unwind_function_sys(0x10), 0u);
}

int main(void)
{
	RUN(test_walk_through_code_without_frame_pointers);
	RUN(test_rules_that_stop);
	RUN(test_function_of_an_address);
	TAP_DONE();
}
