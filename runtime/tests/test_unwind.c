/* The call-chain walk (src/unwind.h) through code without frame pointers:
 * from a callback called by tests/nofp_calls.c, whose frames keep garbage in
 * rbp, the walk must find the same return addresses as libgcc's unwinder
 * (glibc's backtrace), through every no-frame-pointer level back into this
 * file's own frames — the first time (rules read from .eh_frame through the
 * system stack), from the cache, and with the signal handler's resolver.
 * And through chunks libgcc linked, with the thread's remembered chunk
 * (cap__chunk_memo) as without it. */
#include "tap.h"
#include "unwind.h"

#include <capriccio.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdint.h>
#include <threads.h>

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
	return cap__unwind_walk(cap__current(), r, true, __morestack_segments, &cap__current()->chunk_memo, frames, MAXF, miss, NULL);
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
	/* The callback's caller, DEPTH more no-frame-pointer levels and
	 * through_nofp, the thread's function, where every chain ends: after it
	 * only __morestack's frame, as through_nofp linked a chunk on entry (it
	 * calls code without split stacks).  All of it as libgcc finds it. */
	CHECK(s.nwalk[0] >= DEPTH + 2);
	CHECK_EQ(same, s.nwalk[0]);
	uint32_t last = s.nwalk[0] - 1;
	if (cap__unwind_function_sys(s.walk[0][last]) != (uintptr_t)through_nofp)
		last--;
	CHECK_EQ(cap__unwind_function_sys(s.walk[0][last]), (uintptr_t)through_nofp);
	CHECK(cap__base_cfa_off != 0);
	if (same < DEPTH + 2 || same != s.nwalk[0])
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

/* An address no object holds, one in a function whose unwind info marks
 * the outermost frame (the thread trampoline), and the thread's base (whose
 * caller, the trampoline, every thread shares) end a walk. */
static void test_rules_that_stop(void)
{
	CHECK(cap__unwind_rule_sys(0x10).flags & CAP_UNWIND_STOP);
	extern void cap__thread_trampoline(void);
	CHECK(cap__unwind_rule_sys((uint64_t)(uintptr_t)cap__thread_trampoline + 4).flags & CAP_UNWIND_STOP);
	CHECK(cap__unwind_rule_sys((uint64_t)(uintptr_t)cap__thread_main + 4).flags & CAP_UNWIND_STOP);
	CHECK(!(cap__unwind_rule_sys((uint64_t)(uintptr_t)walk_here + 8).flags & CAP_UNWIND_STOP));
}

/* ---- Through linked chunks ---------------------------------------------- */

#define LEVELS 16
struct linked {
	uint64_t with[2][MAXF], without[MAXF], stale[MAXF];
	uint32_t nwith[2], nwithout, nstale, nchunks;
	uint64_t memo, memo_of[8];
	bool bounds_ok; /* a chunk's memo alone takes exactly the chunk's bytes */
};

static __attribute__((noinline)) uint32_t walk_no_memo(uint64_t *frames)
{
	const uintptr_t *fp = __builtin_frame_address(0);
	struct cap_unwind_regs r = { fp[1], (uintptr_t)(fp + 2), fp[0] };
	return cap__unwind_walk(cap__current(), r, true, __morestack_segments, NULL, frames, MAXF, cap__unwind_fill, NULL);
}

/* Each level's 1.5 KiB frame outgrows a small first chunk and then libgcc's
 * chunks, so the chain spans several of them. */
static __attribute__((noinline)) int deep(int level, struct linked *l)
{
	volatile char pad[1536];
	pad[0] = (char)level;
	if (level < LEVELS) {
		int r = deep(level + 1, l);
		__asm__ volatile("" ::: "memory");
		return r + pad[0];
	}
	uint64_t *memo = &cap__current()->chunk_memo;
	*memo = 0;
	l->nwith[0] = walk_here(l->with[0], cap__unwind_fill);
	l->memo = *memo;
	l->nwith[1] = walk_here(l->with[1], cap__unwind_fill);
	l->nwithout = walk_no_memo(l->without);
	l->bounds_ok = true;
	for (const struct cap_libgcc_segment *s = __morestack_segments; s && l->nchunks < 8; s = s->next) {
		uint64_t m = l->memo_of[l->nchunks++] = cap__chunk_memo(s);
		uintptr_t lo = (uintptr_t)(s + 1), hi = lo + s->size;
		l->bounds_ok &= m != 0 && cap__in_segments(lo + 16, 16, NULL, &m) && cap__in_segments(hi, 16, NULL, &m) &&
				!cap__in_segments(lo + 8, 16, NULL, &m) && !cap__in_segments(hi + 8, 16, NULL, &m);
	}
	/* A memo of a chunk that holds none of these frames only costs a miss. */
	*memo = l->memo_of[l->nchunks - 1] == l->memo ? l->memo_of[0] : l->memo_of[l->nchunks - 1];
	l->nstale = walk_here(l->stale, cap__unwind_fill);
	return pad[0];
}

static void *deep_thread(void *arg) { return (void *)(intptr_t)deep(1, arg); }

static void test_walk_through_linked_chunks(void)
{
	static struct linked l;
	cap_spawn_opts_t o = { .name = "deep", .stack_size = 2048, .stack_mode = CAP_STACK_SPLIT };
	cap_thread_t *t = cap_spawn(deep_thread, &l, &o);
	CHECK(t != NULL);
	cap_join(t, NULL);
	CHECK(l.nchunks >= 2);
	/* Every level, then deep_thread, the thread's function, where the chain ends. */
	CHECK(l.nwithout >= LEVELS + 1);
	CHECK_EQ(cap__unwind_function_sys(l.without[l.nwithout - 1]), (uintptr_t)deep_thread);
	CHECK(l.memo != 0);
	bool known = false;
	for (uint32_t i = 0; i < l.nchunks; i++)
		known |= l.memo_of[i] == l.memo;
	CHECK(known);
	CHECK(l.bounds_ok);
	CHECK_EQ(l.nwith[0], l.nwithout);
	CHECK_EQ(l.nwith[1], l.nwithout);
	CHECK_EQ(l.nstale, l.nwithout);
	CHECK(memcmp(l.with[0], l.without, l.nwithout * sizeof(uint64_t)) == 0);
	CHECK(memcmp(l.with[1], l.without, l.nwithout * sizeof(uint64_t)) == 0);
	CHECK(memcmp(l.stale, l.without, l.nwithout * sizeof(uint64_t)) == 0);
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

/* ---- Where chains end ---------------------------------------------------- */

struct ends {
	uint64_t frames[MAXF];
	uint32_t n;
	uint32_t off;
};

static __attribute__((noinline)) void walk_into(struct ends *e)
{
	e->n = walk_no_memo(e->frames);
	e->off = cap__base_cfa_off;
	__asm__ volatile("" ::: "memory");
}

static __attribute__((noinline)) void *pthread_fn(void *arg)
{
	walk_into(arg);
	__asm__ volatile("" ::: "memory");
	return NULL;
}

static __attribute__((noinline)) int c11_fn(void *arg)
{
	walk_into(arg);
	__asm__ volatile("" ::: "memory");
	return 0;
}

/* A pthread's chain and a C11 thread's (cap__thread_main calls their
 * functions from two call sites) both end in the thread's function, at the
 * same learned distance from the stack's top. */
static void test_chains_end_in_the_thread_function(void)
{
	static struct ends p[2], c[2];
	for (int i = 0; i < 2; i++) { /* the first walk may learn the distance; the second uses it */
		pthread_t pt;
		CHECK_EQ(pthread_create(&pt, NULL, pthread_fn, &p[i]), 0);
		CHECK_EQ(pthread_join(pt, NULL), 0);
		thrd_t ct;
		CHECK_EQ(thrd_create(&ct, c11_fn, &c[i]), thrd_success);
		CHECK_EQ(thrd_join(ct, NULL), thrd_success);
	}
	for (int i = 0; i < 2; i++) {
		/* walk_into's return into the thread function; nothing after it. */
		CHECK(p[i].n == 1 && c[i].n == 1);
		CHECK_EQ(cap__unwind_function_sys(p[i].frames[p[i].n - 1]), (uintptr_t)pthread_fn);
		CHECK_EQ(cap__unwind_function_sys(c[i].frames[c[i].n - 1]), (uintptr_t)c11_fn);
		CHECK(p[i].off != 0);
		CHECK_EQ(c[i].off, p[i].off);
	}
}

int main(void)
{
	RUN(test_walk_through_code_without_frame_pointers);
	RUN(test_rules_that_stop);
	RUN(test_walk_through_linked_chunks);
	RUN(test_chains_end_in_the_thread_function);
	RUN(test_function_of_an_address);
	TAP_DONE();
}
