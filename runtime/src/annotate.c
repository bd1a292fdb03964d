/* Where an annotated external call runs (annotate_call.S, capcc --annotations).
 *   blocking:   on a helper kernel thread, while the calling user thread
 *               parks and the others keep running;
 *   stackBytes: on a stack of that size made for the call, so the caller
 *               needs no large chunk (gold would otherwise give every
 *               caller of code without split stacks one).
 * A function annotated both ways runs on a helper (whose stack is large).
 * The C library's syscall() annotated as blocking sends only the system
 * calls that can wait to a helper: the others act on the calling kernel
 * thread (gettid, tgkill, sigprocmask, sched_setaffinity, exit), as they
 * would without the annotation.
 * Either way the call sees the caller's errno and leaves its own, as a call
 * on the caller's kernel thread would; stacks made for calls are kept for
 * the next ones, so a call costs no system call. */
#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <stddef.h>
#include <sys/syscall.h>

struct cap_call {
	uint64_t rdi, rsi, rdx, rcx, r8, r9, rax;
	uint64_t target;
	uint64_t flags; /* CAP_ANNOT_BLOCKING | stack bytes */
	uint64_t args;  /* the caller's stack arguments */
	uint64_t ret_rax, ret_rdx;
	uint8_t xmm[8][16];
	uint8_t ret_xmm0[16], ret_xmm1[16];
	int32_t err; /* errno: the caller's going in, the call's coming out */
	int32_t pad;
	uint64_t copy; /* bytes of stack arguments to pass on */
};
_Static_assert(offsetof(struct cap_call, xmm) == 96, "annotate_call.S offsets");
_Static_assert(offsetof(struct cap_call, err) == 256, "annotate_call.S offsets");
_Static_assert(offsetof(struct cap_call, copy) == 264, "annotate_call.S offsets");
_Static_assert(sizeof(struct cap_call) <= 272, "annotate_call.S reserves 272 bytes");

#define CAP_ANNOT_BLOCKING (1ull << 48)
#define CAP_ANNOT_SYSCALL (1ull << 49) /* the function is syscall(): rdi is the number */
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

/* On the helper: the call, with the caller's errno in the helper's. */
static void cap__annot_job_run(struct cap_job *j)
{
	struct cap_call *c = ((struct cap_annot_job *)j)->c;
	int *err = cap__errno();
	*err = c->err;
	cap__annot_invoke(c);
	c->err = *err;
}

/* On a stack made for the call (see the switch in cap__annot_dispatch). */
static void cap__annot_on_stack(void *c) { cap__annot_invoke(c); }

/* Stacks kept per worker: one for each annotated call in progress at once
 * (a call is in progress on it until it returns, so more than one only when
 * a call back into the program parks), up to this many. */
#define CAP_ANNOT_STACKS_KEPT 8

static struct cap_thread *cap__annot_stack_get(struct cap_worker *w, size_t bytes)
{
	for (struct cap_thread **pp = &w->annot_stacks, *s; (s = *pp) != NULL; pp = &s->next) {
		if (s->stack_size >= bytes) {
			*pp = s->next;
			w->annot_stacks_kept--;
			return s;
		}
	}
	struct cap_thread *s; /* its structure comes out of the size asked for */
	return cap__stack_alloc(&s, bytes + CAP_TSIZE, CAP_STACK_FIXED) == 0 ? s : NULL;
}

/* Kept, unless as many are kept already: then the smallest goes. */
static void cap__annot_stack_put(struct cap_worker *w, struct cap_thread *s)
{
	if (w->annot_stacks_kept == CAP_ANNOT_STACKS_KEPT) {
		struct cap_thread **small = &w->annot_stacks;
		for (struct cap_thread **pp = &w->annot_stacks; *pp; pp = &(*pp)->next)
			if ((*pp)->stack_size < (*small)->stack_size)
				small = pp;
		if ((*small)->stack_size >= s->stack_size) {
			cap__stack_free(s);
			return;
		}
		struct cap_thread *gone = *small;
		*small = gone->next;
		w->annot_stacks_kept--;
		cap__stack_free(gone);
	}
	s->next = w->annot_stacks;
	w->annot_stacks = s;
	w->annot_stacks_kept++;
}

static int cap__annot_big_stack(struct cap_call *c, size_t bytes)
{
	struct cap_worker *w = cap__w;
	struct cap_thread *s = cap__annot_stack_get(w, bytes + 4096);
	if (!s)
		return -ENOMEM;
	/* Like cap__on_sysstack: the call gets a guard and a chunk list of its
	 * own, so split-stack code it calls back into stays on its stack. */
	void *guard = cap__get_guard();
	struct cap_libgcc_segment *segs = __morestack_segments, *cur = __morestack_current_segment;
	__morestack_segments = s->ss.segments; /* chunks linked on it by earlier calls, reused */
	__morestack_current_segment = NULL;
	cap__set_guard(s->stack_lo + CAP_SPLIT_BACKOFF);
	cap__sysstack_call(cap__annot_on_stack, c, (void *)(((uintptr_t)s->stack_lo + s->stack_size - 64) & ~(uintptr_t)15));
	cap__set_guard(guard);
	s->ss.segments = __morestack_segments; /* kept, and freed with the stack */
	__morestack_segments = segs;
	__morestack_current_segment = cur;
	cap__current()->chunk_memo = cap__current()->chunk_link = 0; /* a walk during the call may have seen one of s's chunks */
	cap__annot_stack_put(w, s);
	return 0;
}

/* syscall(nr, a, b, c, d, ...) in registers rdi, rsi, rdx, rcx, r8: can
 * the call wait (on I/O, a peer, a timer, a lock, a child, the disk)? */
static bool cap__syscall_waits(const struct cap_call *c)
{
	switch (c->rdi) {
	case SYS_read: case SYS_readv: case SYS_pread64: case SYS_preadv: case SYS_preadv2:
	case SYS_write: case SYS_writev: case SYS_pwrite64: case SYS_pwritev: case SYS_pwritev2:
	case SYS_sendfile: case SYS_splice: case SYS_tee: case SYS_vmsplice: case SYS_copy_file_range:
	case SYS_recvfrom: case SYS_recvmsg: case SYS_recvmmsg: case SYS_sendto: case SYS_sendmsg:
	case SYS_sendmmsg: case SYS_accept: case SYS_accept4: case SYS_connect:
	case SYS_poll: case SYS_ppoll: case SYS_select: case SYS_pselect6:
	case SYS_epoll_wait: case SYS_epoll_pwait: case SYS_epoll_pwait2:
	case SYS_nanosleep: case SYS_clock_nanosleep: case SYS_pause:
	case SYS_wait4: case SYS_waitid: case SYS_futex_waitv:
	case SYS_msgrcv: case SYS_msgsnd: case SYS_semop: case SYS_semtimedop:
	case SYS_mq_timedreceive: case SYS_mq_timedsend:
	case SYS_flock: case SYS_io_getevents: case SYS_io_pgetevents:
	case SYS_fsync: case SYS_fdatasync: case SYS_sync: case SYS_syncfs: case SYS_sync_file_range:
	case SYS_open: case SYS_openat: case SYS_openat2: /* a FIFO's open waits for its peer */
		return true;
	case SYS_futex:
		switch (c->rdx & FUTEX_CMD_MASK) {
		case FUTEX_WAIT: case FUTEX_WAIT_BITSET: case FUTEX_LOCK_PI: case FUTEX_LOCK_PI2:
		case FUTEX_WAIT_REQUEUE_PI:
			return true;
		}
		return false;
	case SYS_fcntl:
		return c->rdx == F_SETLKW || c->rdx == F_OFD_SETLKW;
	case SYS_io_uring_enter:
		return (c->r8 & IORING_ENTER_GETEVENTS) != 0;
	}
	return false;
}

void cap__annot_dispatch(struct cap_call *c)
{
	c->copy = cap__args_room(c->args);
	size_t bytes = CAP_ANNOT_BYTES(c->flags);
	if ((c->flags & CAP_ANNOT_BLOCKING) && cap__can_park() && (!(c->flags & CAP_ANNOT_SYSCALL) || cap__syscall_waits(c))) {
		c->err = *cap__errno();
		struct cap_annot_job j = { .job.run = cap__annot_job_run, .job.flags = CAP_JOB_UNBOUNDED, .c = c };
		if (cap__pool_run(&j.job, CAP_WAIT_EXTERN) == 0) {
			*cap__errno() = c->err;
			return;
		}
	}
	if (cap__can_park() && cap__annot_big_stack(c, bytes ? bytes : (1u << 20)) == 0)
		return;
	cap__annot_invoke(c); /* outside user threads: a big stack already */
}
