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
 * SINGLE-WORKER: the cache is the worker's.  Only the worker fills it, from
 * the system stack, where the sampler never looks (it returns when
 * in_sysstack); the sampler reads it and resolves what it misses itself. */
#ifndef CAP_UNWIND_H
#define CAP_UNWIND_H

#include "internal.h"

/* A rule for one address.  cfa = (cfa_rbp ? rbp : sp) + cfa_off; the
 * return address is at cfa - 8 (the x86-64 ABI); rbp was saved at
 * cfa + rbp_off (always below cfa - 8), or is unchanged when rbp_off is 0. */
struct cap_unwind_rule {
	int32_t cfa_off;
	int16_t rbp_off;
	uint8_t cfa_rbp;
	uint8_t flags;
};
#define CAP_UNWIND_STOP 1     /* no caller to find: no unwind info, an outermost frame, or a rule we do not follow */
#define CAP_UNWIND_RBP_LOST 2 /* rbp cannot be recovered past this frame */

struct cap_unwind_slot {
	uint64_t key; /* the address looked up (a return address − 1, or a program counter); 0: empty */
	struct cap_unwind_rule rule;
};
#define CAP_UNWIND_SLOTS 4096
extern struct cap_unwind_slot cap__unwind_cache[CAP_UNWIND_SLOTS];

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
/* unwind.c: the worker's miss path (the rule, then cached). */
struct cap_unwind_rule cap__unwind_fill(uint64_t key);
/* unwind_sys.c, on the system stack: fills in and caches the rule of a
 * struct cap_unwind_slot's key. */
void cap__unwind_fill_sys(void *slot);

static inline struct cap_unwind_slot *cap__unwind_slot(uint64_t key)
{
	return &cap__unwind_cache[(key * 0x9e3779b97f4a7c15ull) >> (64 - 12)];
}

/* Is [lo, hi) inside one of t's stacks: its first chunk (or fixed stack) or
 * a chunk libgcc linked? */
static inline bool cap__stack_has(const struct cap_thread *t, uintptr_t lo, uintptr_t hi,
				  const struct cap_libgcc_segment *segs)
{
	if (lo >= (uintptr_t)t->stack_lo && hi <= (uintptr_t)t->stack_lo + t->stack_size && lo < hi)
		return true;
	for (const struct cap_libgcc_segment *s = segs; s; s = s->next) {
		uintptr_t b = (uintptr_t)(s + 1);
		if (lo >= b && hi <= b + s->size && lo < hi)
			return true;
	}
	return false;
}

/* Walks t's stack from `r` and stores up to `max` return addresses,
 * innermost first: r.pc itself first when it is an interrupted
 * instruction, then the return address of each frame outwards.  `segs` is
 * t's chunk list (__morestack_segments while t runs). */
static inline __attribute__((always_inline)) uint32_t cap__unwind_walk(const struct cap_thread *t,
								      struct cap_unwind_regs r, bool pc_is_ra,
								      const struct cap_libgcc_segment *segs,
								      uint64_t *frames, uint32_t max,
								      cap_unwind_miss_fn *miss)
{
	uint32_t n = 0;
	if (!pc_is_ra && max)
		frames[n++] = r.pc;
	while (n < max) {
		uint64_t key = pc_is_ra ? r.pc - 1 : r.pc;
		struct cap_unwind_slot *s = cap__unwind_slot(key);
		struct cap_unwind_rule rule = s->key == key ? s->rule : miss(key);
		if (rule.flags & CAP_UNWIND_STOP)
			break;
		uintptr_t cfa = (rule.cfa_rbp ? r.rbp : r.sp) + (uintptr_t)(intptr_t)rule.cfa_off;
		uintptr_t lo = cfa + (uintptr_t)(intptr_t)(rule.rbp_off < -8 ? rule.rbp_off : -8);
		if ((cfa & 7) || !cap__stack_has(t, lo, cfa, segs))
			break;
		uintptr_t ra = *(const uintptr_t *)(cfa - 8);
		if (rule.rbp_off)
			r.rbp = *(const uintptr_t *)(cfa + (uintptr_t)(intptr_t)rule.rbp_off);
		else if (rule.flags & CAP_UNWIND_RBP_LOST)
			r.rbp = 0;
		if (!ra)
			break;
		frames[n++] = ra;
		r.pc = ra;
		r.sp = cfa;
		pc_is_ra = true;
	}
	return n;
}

#endif
