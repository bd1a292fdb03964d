/* Where an annotated external call runs (annotate_call.S, capcc --annotations).
 *   blocking:   on a helper kernel thread, while the calling user thread
 *               parks and the others keep running;
 *   stackBytes: on a stack of that size made for the call, so the caller
 *               needs no large chunk (gold would otherwise give every
 *               caller of code without split stacks one).
 * A function annotated both ways runs on a helper (whose stack is large). */
#include "pool.h"

#include <errno.h>
#include <stddef.h>

struct cap_call {
	uint64_t rdi, rsi, rdx, rcx, r8, r9, rax;
	uint64_t target;
	uint64_t flags; /* CAP_ANNOT_BLOCKING | stack bytes */
	uint64_t args;  /* the caller's stack arguments */
	uint64_t ret_rax, ret_rdx;
	uint8_t xmm[8][16];
	uint8_t ret_xmm0[16], ret_xmm1[16];
	int32_t err;
	int32_t pad;
	uint64_t copy; /* bytes of stack arguments to pass on */
};
_Static_assert(offsetof(struct cap_call, xmm) == 96, "annotate_call.S offsets");
_Static_assert(offsetof(struct cap_call, err) == 256, "annotate_call.S offsets");
_Static_assert(offsetof(struct cap_call, copy) == 264, "annotate_call.S offsets");
_Static_assert(sizeof(struct cap_call) <= 272, "annotate_call.S reserves 272 bytes");

#define CAP_ANNOT_BLOCKING (1ull << 48)
#define CAP_ANNOT_BYTES(f) ((f) & ((1ull << 48) - 1))
#define CAP_ARGS_MAX 256 /* stack arguments passed on; more are not seen in practice */

void cap__annot_invoke(struct cap_call *c);
void cap__annot_dispatch(struct cap_call *c);

/* How many bytes of stack arguments may be copied: up to CAP_ARGS_MAX,
 * but never past the top of the stack the caller is on. */
static size_t cap__args_room(uintptr_t args)
{
	struct cap_thread *t = cap__current();
	uintptr_t top = 0;
	if (t && args >= (uintptr_t)t->stack_lo && args < (uintptr_t)t->stack_lo + t->stack_size)
		top = (uintptr_t)t->stack_lo + t->stack_size;
	for (struct cap_libgcc_segment *s = __morestack_current_segment; !top && s; s = NULL)
		if (args >= (uintptr_t)(s + 1) && args < (uintptr_t)(s + 1) + s->size)
			top = (uintptr_t)(s + 1) + s->size;
	size_t room = top ? top - args : CAP_ARGS_MAX;
	return (room < CAP_ARGS_MAX ? room : CAP_ARGS_MAX) & ~(size_t)7;
}

struct cap_annot_job {
	struct cap_job job;
	struct cap_call *c;
};

/* On the helper: the call, and the errno it left (the helper's own). */
static void cap__annot_job_run(struct cap_job *j)
{
	struct cap_call *c = ((struct cap_annot_job *)j)->c;
	cap__annot_invoke(c);
	c->err = *cap__errno();
}

/* On a stack made for the call (see the switch in cap__annot_dispatch). */
static void cap__annot_on_stack(void *c) { cap__annot_invoke(c); }

static int cap__annot_big_stack(struct cap_call *c, size_t bytes)
{
	struct cap_thread *s;
	if (cap__stack_alloc(&s, bytes + 4096, CAP_STACK_FIXED) != 0)
		return ENOMEM;
	/* Like cap__on_sysstack: the call gets a guard and a chunk list of its
	 * own, so split-stack code it calls back into stays on its stack. */
	void *guard = cap__get_guard();
	struct cap_libgcc_segment *segs = __morestack_segments, *cur = __morestack_current_segment;
	__morestack_segments = NULL;
	__morestack_current_segment = NULL;
	cap__set_guard(s->stack_lo + CAP_SPLIT_BACKOFF);
	cap__sysstack_call(cap__annot_on_stack, c, (void *)(((uintptr_t)s->stack_lo + s->stack_size - 64) & ~(uintptr_t)15));
	cap__set_guard(guard);
	s->ss.segments = __morestack_segments; /* freed with the stack */
	__morestack_segments = segs;
	__morestack_current_segment = cur;
	cap__stack_free(s);
	return 0;
}

void cap__annot_dispatch(struct cap_call *c)
{
	c->copy = cap__args_room(c->args);
	size_t bytes = CAP_ANNOT_BYTES(c->flags);
	if ((c->flags & CAP_ANNOT_BLOCKING) && cap__can_park()) {
		struct cap_annot_job j = { .job.run = cap__annot_job_run, .c = c };
		if (cap__pool_run(&j.job, CAP_WAIT_EXTERN) == 0) {
			*cap__errno() = c->err;
			return;
		}
	}
	if (cap__can_park() && cap__annot_big_stack(c, bytes ? bytes : (1u << 20)) == 0)
		return;
	cap__annot_invoke(c); /* outside user threads: a big stack already */
}
