/* Call-chain walks that are right through code built without frame
 * pointers (prebuilt libraries, libc), used where a thread blocks
 * (graph.c, policy.c) and by the yield sampler (telemetry_sys.c).
 *
 * Each step needs one rule: how to find the caller's frame from a return
 * address (its CFA — the stack pointer before the call — from rsp or rbp
 * plus an offset, and where rbp was saved).  The rules come from the
 * program's unwind tables (.eh_frame, unwind_sys.c) and are cached per
 * address, so a chain seen before costs one cache probe per frame over the
 * frame-pointer walk it replaces; only an address never seen pays for the
 * tables (on the system stack).
 *
 * The walk is inline because the sampler runs it on the signal stack, where
 * split-stack code must not run; every read it makes from a thread's stack
 * is checked to lie in that thread's chunks, so a wrong rule or a corrupt
 * stack ends the chain instead of faulting.
 *
 * The cache is the worker's (ctx.h).  Only the worker fills it, from the
 * system stack, where the sampler never looks (it returns when
 * sysstack.active); the sampler reads it and resolves what it misses
 * itself. */
#ifndef CAP_UNWIND_H
#define CAP_UNWIND_H

#include "internal.h"

/* A rule for one address (struct cap_unwind_rule, ctx.h).  cfa = (cfa_rbp ?
 * rbp : sp) + cfa_off; the return address is at cfa - 8 (the x86-64 ABI);
 * rbp was saved at cfa + rbp_off (always below cfa - 8), or is unchanged
 * when rbp_off is 0. */
/* The rule of code with frame pointers: most frames, stepped without decoding. */
static const struct cap_unwind_rule cap__unwind_fp_rule = { 16, -16, 1, 0 };
#define CAP_UNWIND_STOP 1     /* no caller to find: no unwind info, an outermost frame, or a rule we do not follow */
#define CAP_UNWIND_RBP_LOST 2 /* rbp cannot be recovered past this frame */
#define CAP_UNWIND_BASE 4     /* with STOP: cap__thread_main, every thread's base */
#define CAP_UNWIND_LINK 8     /* __morestack: the frame that returns into it is the outermost of its chunk */

/* A chain ends in the thread's function, at the frame cap__thread_main
 * called, whose CFA is the same number of bytes below every thread's
 * initial stack pointer (sched.c lays out every new stack alike, and
 * cap__thread_main's two calls are made at one depth: test_unwind).  A walk
 * stops when it computes that CFA instead of reading the return address
 * there, into cap__thread_main, the same in every chain: that slot was
 * written when the thread began and nothing else touches its line, so the
 * read was a cache (often a TLB) miss on every blocking op.  The first walk
 * to reach cap__thread_main learns the distance; 0: not yet. */
extern _Atomic uint32_t cap__base_cfa_off;


/* Registers of the frame a walk starts in. */
struct cap_unwind_regs {
	uintptr_t pc; /* a return address, or an interrupted instruction (pc_is_ra false) */
	uintptr_t sp, rbp;
};

/* Finds the rule for `key` when the cache has none: the worker's fills the
 * cache (unwind.c), the sampler's only reads the tables (unwind_sys.c). */
typedef struct cap_unwind_rule cap_unwind_miss_fn(uint64_t key);

/* unwind_sys.c: the rule for the instruction at `key`, from the unwind
 * tables of the object holding it; async-signal-safe. */
struct cap_unwind_rule cap__unwind_rule_sys(uint64_t key);
/* unwind_sys.c: the start of the function holding `pc`, from the unwind
 * tables of the object holding it; 0 when they do not cover it.
 * Async-signal-safe. */
uintptr_t cap__unwind_function_sys(uintptr_t pc);
/* unwind.c: the worker's miss path (the rule, then cached). */
struct cap_unwind_rule cap__unwind_fill(uint64_t key);
/* unwind_sys.c, on the system stack: fills in and caches the rule of a
 * struct cap_unwind_slot's key. */
void cap__unwind_fill_sys(void *slot);

static inline struct cap_unwind_slot *cap__unwind_slot_in(struct cap_unwind_slot *cache, uint64_t key)
{
	_Static_assert(CAP_UNWIND_SLOTS == 1u << 12, "the hash below picks one of 2^12 slots");
	return &cache[(key * 0x9e3779b97f4a7c15ull) >> (64 - 12)];
}
/* In the calling worker's cache. */
static inline struct cap_unwind_slot *cap__unwind_slot(uint64_t key) { return cap__unwind_slot_in(cap__w->unwind, key); }

/* Is [top - below, top) inside the region [lo, lo + size)?  One compare:
 * unsigned arithmetic wraps everything outside to a large number. */
static inline bool cap__span_in(uintptr_t top, uintptr_t below, uintptr_t lo, uintptr_t size)
{
	return top - lo - below <= size - below && size >= below;
}

/* A linked chunk's bounds in one word, so that a walk need not read its
 * header, which sits at the far (low) end of the chunk from the frames in
 * use: a cache and TLB miss on every blocking op of a thread that runs on
 * a linked chunk.  libgcc maps each chunk whole, header first; the header's
 * page address and the chunk's length in pages (bits 48 and up) give its
 * bounds exactly.  0: none, or a chunk not laid out so. */
static inline uint64_t cap__chunk_memo(const struct cap_libgcc_segment *s)
{
	uintptr_t hdr = (uintptr_t)s, end = (uintptr_t)(s + 1) + s->size, pages = (end - hdr) >> 12;
	if ((hdr | end) & 4095 || hdr >> 48 || pages >> 16)
		return 0;
	return hdr | (uint64_t)pages << 48;
}

#define CAP_MEMO_ADDR ((1ull << 48) - 1) /* a chunk memo's header address */

/* Is [top - below, top) inside the chunk `memo` describes (0: none)? */
static inline bool cap__in_memo(uintptr_t top, uintptr_t below, uint64_t memo)
{
	uintptr_t hdr = memo & CAP_MEMO_ADDR, lo = hdr + sizeof(struct cap_libgcc_segment);
	return memo && cap__span_in(top, below, lo, hdr + ((memo >> 48) << 12) - lo);
}

/* Is [top - below, top) inside a chunk libgcc linked for the thread?  The
 * chunk found is remembered in *memo (when not NULL), and tried first. */
static inline bool cap__in_segments(uintptr_t top, uintptr_t below, const struct cap_libgcc_segment *segs, uint64_t *memo)
{
	if (memo && cap__in_memo(top, below, *memo))
		return true;
	for (const struct cap_libgcc_segment *s = segs; s; s = s->next)
		if (cap__span_in(top, below, (uintptr_t)(s + 1), s->size)) {
			if (memo)
				*memo = cap__chunk_memo(s);
			return true;
		}
	return false;
}

/* Where a walk leaves a linked chunk (graph.c): the frame that returns
 * into __morestack is the first one the chunk holds, and lives as long as
 * the thread stays in it, as does every frame outside it. */
struct cap_unwind_link {
	uintptr_t stop; /* in: a CFA to end at, before reading there (0: none) */
	uintptr_t cfa;  /* out: the CFA of the first frame found returning into __morestack (0: none) */
	uint32_t n;     /* out: the index of that return address in frames */
	bool stopped;   /* out: the walk ended at stop */
	/* out, for the walk's memo (graph.c): the steps that took the
	 * frame-pointer rule (bit k: the step that found frames[k], or the one
	 * after the last), whether the walk ended at the thread's base, and
	 * each step's CFA in cfas[] (max of them, not on the stack the walk
	 * runs on: a bigger frame there would split where the walk's caller
	 * did not) */
	uint32_t fp;
	bool at_base;
	uintptr_t *cfas;
};

/* Walks t's stack from `r` and stores up to `max` return addresses,
 * innermost first: r.pc itself first when it is an interrupted
 * instruction, then the return address of each frame outwards.  `segs` is
 * t's chunk list (__morestack_segments while t runs).  Every read is from
 * [cfa - 16, cfa) (or down to the saved rbp), checked to be in t's first
 * chunk (or fixed stack) or in one of its linked chunks.  `link` (or
 * NULL): where the walk left a linked chunk, and where to stop. */
static inline __attribute__((always_inline)) uint32_t cap__unwind_walk(const struct cap_thread *t,
								      struct cap_unwind_regs r, bool pc_is_ra,
								      const struct cap_libgcc_segment *segs, uint64_t *memo,
								      uint64_t *frames, uint32_t max,
								      cap_unwind_miss_fn *miss, struct cap_unwind_link *link)
{
	const uintptr_t stack_lo = (uintptr_t)t->stack_lo, stack_size = t->stack_size;
	const uint32_t base_off = atomic_load_explicit(&cap__base_cfa_off, memory_order_relaxed);
	const uintptr_t base = base_off ? (uintptr_t)t->ss.initial_sp - base_off : 0;
	uintptr_t pc = r.pc, sp = r.sp, rbp = r.rbp, adjust = pc_is_ra;
	struct cap_unwind_slot *cache = cap__w->unwind; /* once: the stores below could alias cap__w */
	uint32_t n = 0;
	if (!pc_is_ra && max)
		frames[n++] = pc;
	while (n < max) {
		uint64_t key = pc - adjust;
		const struct cap_unwind_slot *s = cap__unwind_slot_in(cache, key);
		struct cap_unwind_rule rule;
		if (CAP_LIKELY(s->key == key))
			rule = s->rule;
		else
			rule = miss(key);
		const bool fp = __builtin_memcmp(&rule, &cap__unwind_fp_rule, sizeof rule) == 0;
		if (link)
			link->fp |= (uint32_t)fp << n;
		uintptr_t cfa, below = 16, ra;
		if (fp) {
			/* The program's own code and the runtime's: a frame-pointer frame. */
			cfa = rbp + 16;
		} else {
			if (rule.flags & CAP_UNWIND_STOP) {
				/* pc, a return into cap__thread_main, was read at sp - 8:
				 * sp is the thread function's CFA, within the few bytes
				 * the trampoline and cap__thread_main take. */
				uintptr_t off = (uintptr_t)t->ss.initial_sp - sp;
				if ((rule.flags & CAP_UNWIND_BASE) && adjust && n && off && off <= 512 && !(off & 7)) {
					n--; /* no chain has it */
					atomic_store_explicit(&cap__base_cfa_off, (uint32_t)off, memory_order_relaxed);
				}
				break;
			}
			cfa = (rule.cfa_rbp ? rbp : sp) + (uintptr_t)(intptr_t)rule.cfa_off;
			if (rule.rbp_off < -16)
				below = (uintptr_t)-(intptr_t)rule.rbp_off;
			if (link && (rule.flags & CAP_UNWIND_LINK) && !link->cfa && adjust && n) {
				link->cfa = sp; /* where pc, frames[n - 1], was read */
				link->n = n - 1;
			}
		}
		if (link && link->stop && cfa == link->stop) {
			link->stopped = true;
			break;
		}
		if (link) {
			link->cfas[n] = cfa;
			link->at_base = cfa == base;
		}
		/* The reads below are from [cfa - below, cfa). */
		if (cfa == base || (cfa & 7) ||
		    (!cap__span_in(cfa, below, stack_lo, stack_size) && !cap__in_segments(cfa, below, segs, memo)))
			break;
		ra = *(const uintptr_t *)(cfa - 8);
		if (fp)
			rbp = *(const uintptr_t *)(cfa - 16);
		else if (rule.rbp_off)
			rbp = *(const uintptr_t *)(cfa + (uintptr_t)(intptr_t)rule.rbp_off);
		else if (rule.flags & CAP_UNWIND_RBP_LOST)
			rbp = 0;
		if (!ra)
			break;
		frames[n++] = ra;
		pc = ra;
		sp = cfa;
		adjust = 1;
	}
	return n;
}

#endif
