/* The scheduler: thread lifecycle, the run queue, blocking and waking.
 *
 * Threads switch directly to the next runnable thread on their worker; the
 * scheduler's own context (on the worker's kernel stack) runs only when
 * nothing is runnable there, to find work elsewhere or wait for it (mn.c).
 *
 * Several workers (mn.h): a thread parks and is woken under cap__mn.lock.
 * A thread that parks keeps the lock across its switch; the context it
 * switches to releases it (cap__post_switch), so a waker on another worker
 * finds it either still running (not yet parked) or with its registers
 * saved, never half-switched.  A thread that yields is queued the same
 * way, after the switch, before a thief can see it. */
#include "internal.h"
#include "chunks.h"
#include "hooks.h"
#include "mn.h"
#include "runq.h"
#include "syncprof.h"
#include "tls.h"
#include <errno.h>
#include <signal.h>

CAP_TLS struct cap_worker *cap__w;
size_t cap__libgcc_backoff = 0x600; /* process-wide: the libgcc linked in; main.c reads it */

/* Called through a pointer: a direct call from split-stack code into libc
 * makes gold demand a large chunk for the caller (see internal.h). */
extern int *__errno_location(void);
static int *(*volatile cap__errno_location)(void) = __errno_location;

#define CAP_STACK_MAGIC 0x63617073746b6f6bULL /* written at every stack's lowest word */

int *cap__errno(void)
{
	struct cap_worker *w = cap__w;
	return w ? w->errno_ptr : cap__errno_location();
}

void cap__set_errno(int e) { *cap__errno() = e; }

/* capriccio_errno.h's errno: the running worker's, asked for after every call. */
int *cap_errno_location(void) { return cap__errno(); }

/* The worker, for calls that only a user thread may make. */
static inline struct cap_worker *cap__need_worker(void)
{
	struct cap_worker *w = cap__w;
	if (CAP_UNLIKELY(!w))
		cap__fatal_misuse("capriccio: scheduler call from a kernel thread that is not a Capriccio worker (link "
				  "with `capriccio cc`, and call the runtime only from user threads)");
	if (CAP_UNLIKELY(w->current == &w->sched))
		cap__fatal_misuse("capriccio: blocking call outside any user thread (before main started or after it "
				  "returned)");
	return w;
}

/* ---- Run queue ---------------------------------------------------------- */

/* Makes t runnable on w, the waker's worker (its cache is warm with what t
 * will touch, and no other worker's queue is written), or from outside any
 * worker on the injection queue.  Under cap__mn.lock, which wakes an idle
 * worker on release (cap__mn_unlock).  `soon`: a user thread's single
 * wake, not the poller's, takes the run-next slot (runq.h). */
static inline void cap__ready(struct cap_worker *w, struct cap_thread *t, bool soon)
{
	t->state = CAP_RUNNABLE;
	if (CAP_UNLIKELY(!w)) {
		cap__mn_inject(t);
		return;
	}
	if (CAP_UNLIKELY(t->flags & CAP_F_BOUND) && t->owner != w) {
		cap__mn_send(t);
		return;
	}
	cap__mn_own(w, t);
	if (cap__mn_should_wake(soon ? cap__runq_push_next(w, t, false) : cap__runq_push(w, t)))
		w->wakep = cap__mn.n > 1;
}

/* Give I/O and timers a chance when the run queue never drains.  This runs
 * on the running thread's stack, but what it wakes (ready descriptors,
 * due timers, signals' EINTR) is the poller's, not that thread's: it
 * queues in event order, as when the scheduler context polls.  Were it
 * to take the run-next slot, a thread whose event came later (accept's
 * EINTR at SIGTERM) would run ahead of threads already queued for earlier
 * events (the EOFs of connections the client had closed). */
static void cap__poll_nowait(struct cap_worker *w)
{
	w->polling = true;
	if (cap__mn.io_waiters || atomic_load_explicit(&cap__mn.inflight, memory_order_relaxed))
		cap__io_poll(w, 0);
	if (cap__mn.timers.n)
		cap__timer_release_due(w, cap__mono_ns());
	if (CAP_UNLIKELY(w->kmask))
		cap__sig_spare(w); /* a signal the running threads block, for one that waits */
	w->polling = false;
}

/* Every 61st dispatch (Go's schedtick % 61): the poller's events and the
 * injection queue go first, so neither waits behind a busy run queue. */
static __attribute__((noinline)) struct cap_thread *cap__pick_slow(struct cap_worker *w)
{
	w->dispatches = 0;
	cap__tel_stamp_forget(w);
	/* Not while a thread parks: it holds cap__mn.lock until switched out,
	 * and the poller's wakes take it.  The due timers, though, are released
	 * under that lock: threads that hand work to one another only by
	 * parking (a semaphore ping-pong) always switch so, their run queue
	 * never drains, and a sleeper among them would never wake. */
	if (w->post_unlock) {
		if (cap__mn.timers.n) {
			/* Not the parking thread itself, whose deadline may have passed
			 * already (a 1 ns sleep): queued before its context is saved,
			 * another worker could steal it and run its stack twice.  It
			 * and the timers from its deadline on wait for the next poll. */
			struct cap_thread *cur = w->current;
			uint64_t now = cap__mono_ns();
			if (cur->heap_idx && cur->wake_ns <= now)
				now = cur->wake_ns - 1;
			w->polling = true; /* its wakes queue, as the poller's */
			cap__timer_release_due_locked(now);
			w->polling = false;
		}
	} else if (cap__mn.io_waiters | cap__mn.timers.n | atomic_load_explicit(&cap__mn.inflight, memory_order_relaxed)) {
		cap__poll_nowait(w);
	}
	struct cap_thread *t = cap__mn_inject_get(w);
	if (!t && atomic_load_explicit(&w->ninbox, memory_order_relaxed))
		t = cap__mn_inbox_take(w);
	return t ? t : cap__runq_pop(w);
}

static inline struct cap_thread *cap__pick(struct cap_worker *w)
{
	if (CAP_UNLIKELY(++w->dispatches >= 61))
		return cap__pick_slow(w);
	if (CAP_UNLIKELY(atomic_load_explicit(&w->ninbox, memory_order_relaxed)))
		return cap__mn_inbox_take(w);
	return cap__runq_pop(w);
}

/* ---- Switching ---------------------------------------------------------- */

static void cap__reap(struct cap_worker *w);

static void cap__stack_overflowed(struct cap_thread *t)
{
	cap__on_sysstack(CAP_SYSFN_OVERFLOW, t);
}

static inline bool cap__post_pending(const struct cap_worker *w)
{
	return w->post_push || w->zombie || w->post_unlock;
}

/* What the context switched to does first (ctx.h), on the worker it now
 * runs on. */
static __attribute__((noinline)) void cap__post_switch(struct cap_worker *w)
{
	struct cap_thread *t = w->post_push;
	if (t) {
		w->post_push = NULL;
		if (CAP_UNLIKELY(w->post_send)) {
			w->post_send = false;
			cap__mn_send(t);
		} else if (CAP_UNLIKELY(w->post_hold)) {
			uint64_t since = t->wake_ns;
			w->post_hold = false;
			cap__lock_take(&cap__mn.res_lock);
			cap__res_hold(&cap__mn.res, t);
			t->wake_ns = since;
			cap__lock_give(&cap__mn.res_lock);
		} else {
			cap__runq_push(w, t);
		}
	}
	if (w->zombie)
		cap__reap(w);
	if (w->post_unlock) {
		w->post_unlock = false;
		cap__mn_unlock(w);
		if (w->tel && w->tel->pending.kind >= 0)
			cap__graph_counted(w->tel);
	}
}

#ifdef CAP_CHECKED
/* Checked build: `to` runs on no other worker, and a bound thread only on
 * its own.  Its mark stays until the context after it has been switched to
 * (cap__check_switched): a thread made runnable before its registers are
 * saved, and run elsewhere meanwhile, is caught. */
static void cap__check_switch(struct cap_worker *w, struct cap_thread *from, struct cap_thread *to)
{
	w->switched_from = from;
	if (to == &w->sched)
		return;
	struct cap_worker *none = NULL;
	CAP_CHECK(atomic_compare_exchange_strong(&to->on_cpu, &none, w), "a thread was switched to while it ran on a worker");
	CAP_CHECK(!(to->flags & CAP_F_BOUND) || to->owner == w, "a bound thread was run on a worker not its own");
}

/* In the context switched to, first: the one switched from is off the CPU. */
static void cap__check_switched(struct cap_worker *w)
{
	struct cap_thread *from = w->switched_from;
	if (from && from != &w->sched)
		atomic_store(&from->on_cpu, NULL);
	w->switched_from = NULL;
}
#else
static inline void cap__check_switch(struct cap_worker *w, struct cap_thread *from, struct cap_thread *to) {}
static inline void cap__check_switched(struct cap_worker *w) {}
#endif

/* Returns the worker the caller runs on when it is switched back to: a
 * thread may come back on another one (mn.h), so what it knew of `w`
 * before is stale after. */
static inline __attribute__((always_inline)) struct cap_worker *cap__switch(struct cap_worker *w, struct cap_thread *from,
									    struct cap_thread *to)
{
	int *ep = w->errno_ptr;
	if (CAP_UNLIKELY(cap__tls.flags)) /* the program has thread-locals, or threads chose locales */
		cap__tls_switch(w, from, to);
	if (CAP_UNLIKELY(from->stack_lo && *(uint64_t *)from->stack_lo != CAP_STACK_MAGIC))
		cap__stack_overflowed(from);
	from->saved_errno = *ep;
	if (CAP_LIKELY(from != &w->sched)) { /* its chunks of calls that returned go to the pool */
		size_t given = cap__chunks_release(&w->stacks);
		if (CAP_UNLIKELY(given) && w->tel && from->state != CAP_DONE) /* a finished one's left with it */
			cap__graph_chunks_given(w->tel, from, given);
	}
	from->ss.segments = __morestack_segments;
	from->ss.current = __morestack_current_segment;
	__morestack_segments = to->ss.segments;
	__morestack_current_segment = to->ss.current;
	__morestack_initial_sp.sp = to->ss.initial_sp;
	__morestack_initial_sp.len = to->ss.initial_len;
	*ep = to->saved_errno;
	w->current = to;
	w->switches++;
	if (CAP_UNLIKELY(to->sigmask != w->kmask))
		cap__sig_kmask(w, to->sigmask);
	if (CAP_UNLIKELY(to == &w->sched) || CAP_UNLIKELY(from == &w->sched))
		cap__sig_idle_publish(w, to == &w->sched ? to->sigmask : ~0ull);
	cap__check_switch(w, from, to);
	cap__ctx_switch(&from->ctx, &to->ctx);
	w = cap__w;
	cap__check_switched(w);
	if (CAP_UNLIKELY(cap__post_pending(w)))
		cap__post_switch(w);
	return w;
}

/* The worker's own context, to switch to when nothing is runnable here.
 * Its kernel mask while it looks for work and idles: what some thread
 * accepts, not the last thread's (a process signal every thread blocks
 * must stay pending, not run on an idle worker). */
static inline struct cap_thread *cap__sched_ctx(struct cap_worker *w)
{
	w->sched.sigmask = cap__sig_idle_mask(w);
	return &w->sched;
}

/* t, taken from a run queue, is about to run.  A thread found running
 * (or blocked, or ended) there was queued twice or woken while it ran: a
 * scheduler bug that would run one stack on two workers at once, stopped
 * here, always (one compare on a line the switch reads anyway). */
static inline void cap__dispatch(struct cap_thread *t)
{
	/* The switch reads line 0 and the resume touches line 2 (internal.h):
	 * asked for with line 1's read below, their misses overlap it instead
	 * of following it. */
	__builtin_prefetch(&t->ctx, 1);
	__builtin_prefetch(&t->wait_obj, 1);
	/* And the words the switch pops from its stack, with its return
	 * through the block function's frame above them. */
	const char *sp = t->ctx.sp;
	__builtin_prefetch(sp, 1);
	__builtin_prefetch(sp + 64, 1);
	if (CAP_UNLIKELY(t->state != CAP_RUNNABLE))
		cap__fatal_misuse("capriccio: internal error: a thread taken from a run queue was not runnable (queued "
				  "twice, or woken while it ran)");
	t->state = CAP_RUNNING;
}

/* Run something else; `cur` has been parked (or is handed to
 * w->post_push).  Returns the worker cur runs on again. */
struct cap_worker *cap__schedule(struct cap_worker *w, struct cap_thread *cur)
{
	struct cap_thread *next = cap__pick(w);
	if (!next)
		next = cap__sched_ctx(w);
	else
		cap__dispatch(next);
	return cap__switch(w, cur, next);
}

/* ---- Blocking and waking ------------------------------------------------ */

/* The body of cap__block and cap__block_public, inlined into each: a
 * wrapper would be one more frame on every blocking op's stack, for the
 * graph to walk and hash.  Entered under cap__mn.lock; returns without it
 * (the next context releases it). */
static inline __attribute__((always_inline)) int cap__block_in(struct cap_waitq *q, uint64_t deadline_ns,
							      enum cap_wait_reason why, const void *obj,
							      const struct cap_graph_prep *prep)
{
	struct cap_worker *w = cap__need_worker();
	struct cap_thread *cur = w->current;
	cap__mn_check_held();
	cur->waits++;
	cur->state = CAP_BLOCKED;
	cur->reason = (uint8_t)why;
	cur->wait_obj = obj;
	cur->wait_result = 0;
	cur->waitq = q;
	if (q && CAP_UNLIKELY(cur->flags & CAP_F_QFRONT)) { /* for this wait only */
		cap__flags_clear(cur, CAP_F_QFRONT);
		cap__q_push_front(q, cur);
	} else if (q) {
		cap__q_push(q, cur);
	}
	if (deadline_ns) {
		cur->wake_ns = deadline_ns;
		cap__timer_add(w, cur);
	}
	cap__hook_block(w, cur, why, prep);
	w->post_unlock = true;
	w = cap__schedule(w, cur);
	cap__hook_resumed(w, cur, why);
	cur->reason = CAP_WAIT_NONE;
	cur->wait_obj = NULL;
	return cur->wait_result;
}

int cap__block(struct cap_waitq *q, uint64_t deadline_ns, enum cap_wait_reason why, const void *obj)
{
	return cap__block_in(q, deadline_ns, why, obj, NULL);
}

int cap__block_prepared(struct cap_waitq *q, uint64_t deadline_ns, enum cap_wait_reason why, const void *obj,
			const struct cap_graph_prep *prep)
{
	return cap__block_in(q, deadline_ns, why, obj, prep);
}

int cap__block_public(struct cap_waitq *q, uint64_t deadline_ns, enum cap_wait_reason why, const void *obj)
{
	return -cap__block_in(q, deadline_ns, why, obj, NULL);
}

static inline void cap__wake_as(struct cap_thread *t, int result, bool soon)
{
	struct cap_worker *w = cap__w;
	cap__mn_check_held();
	if (t->state != CAP_BLOCKED)
		return;
	if (t->waitq) {
		cap__q_remove(t->waitq, t);
		t->waitq = NULL;
	}
	if (t->heap_idx)
		cap__timer_del(w, t);
	t->wait_result = result;
	if (w)
		cap__hook_woken(w, t);
	cap__ready(w, t, soon && w && w->current != &w->sched && !w->polling);
}

void cap__wake(struct cap_thread *t, int result) { cap__wake_as(t, result, true); }

struct cap_thread *cap__wake_one(struct cap_waitq *q, int result)
{
	struct cap_thread *t = q->head;
	if (t)
		cap__wake(t, result);
	return t;
}

/* A broadcast: all to the queue, in their order (one slot cannot hold them). */
void cap__wake_all(struct cap_waitq *q, int result)
{
	while (q->head)
		cap__wake_as(q->head, result, false);
}

/* ---- Thread lifecycle --------------------------------------------------- */

void (*cap__exit_hook)(struct cap_thread *t); /* pthread key destructors */

/* Under cap__mn.lock. */
static void cap__link_all(struct cap_worker *w, struct cap_thread *t)
{
	cap__sig_spawned(w, t);
	t->all_prev = NULL;
	t->all_next = cap__mn.all;
	if (cap__mn.all)
		cap__mn.all->all_prev = t;
	cap__mn.all = t;
	cap__mn.nthreads++;
	t->id = ++cap__mn.next_id;
}

void cap__unlink_all(struct cap_thread *t)
{
	cap__sig_exited(t);
	if (t->all_prev)
		t->all_prev->all_next = t->all_next;
	else
		cap__mn.all = t->all_next;
	if (t->all_next)
		t->all_next->all_prev = t->all_prev;
	cap__mn.nthreads--;
}

struct cap_thread *cap__spawn_at(void *(*fn)(void *), void *arg, const cap_spawn_opts_t *o, void *site)
{
	struct cap_thread *t = cap__spawn_prepare(fn, arg, o, site);
	if (t)
		cap__spawn_start(t);
	return t;
}

struct cap_thread *cap__spawn_prepare(void *(*fn)(void *), void *arg, const cap_spawn_opts_t *o, void *site)
{
	struct cap_worker *w = cap__w;
	struct cap_thread *t;
	if (!w)
		cap__fatal_misuse("capriccio: cap_spawn from a kernel thread that is not a Capriccio worker (link with `capriccio cc`)");
	if (!fn) {
		cap__set_errno(EINVAL);
		return NULL;
	}
	int err = cap__stack_alloc(&t, o ? o->stack_size : 0, o ? o->stack_mode : CAP_STACK_DEFAULT);
	if (err < 0) {
		cap__set_errno(-err);
		return NULL;
	}
	*(uint64_t *)t->stack_lo = CAP_STACK_MAGIC;
	t->fn = fn;
	t->arg = arg;
	t->result = NULL;
	t->joiner = NULL;
	t->waitq = NULL;
	t->heap_idx = 0;
	t->flags = (o && o->detached) ? CAP_F_DETACHED : 0;
	t->reason = CAP_WAIT_NONE;
	t->wait_obj = NULL;
	t->saved_errno = 0;
	t->specific = NULL;
	t->nspecific = 0;
	t->libc = NULL;
	if (cap__tls.area)
		cap__tls_thread_start(w, t, false);
	t->spawn_site = site;
	t->owner = NULL;
	if (o && o->name)
		cap__strlcpy(t->name, o->name, sizeof t->name);
	else
		t->name[0] = 0;

	/* Initial frame popped by cap__ctx_switch: r15 r14 r13 r12 rbx rbp ret. */
	uintptr_t top = ((uintptr_t)t->stack_lo + t->stack_size) & ~(uintptr_t)15;
	void **sp = (void **)top - 8;
	sp[0] = sp[1] = sp[2] = 0; /* r15 r14 r13 */
	sp[3] = t;                 /* r12 */
	sp[4] = sp[5] = 0;         /* rbx rbp */
	sp[6] = (void *)cap__thread_trampoline;
	sp[7] = 0;
	t->ctx.sp = sp;
	/* A fixed stack is all the thread gets: split-stack prologues must never
	 * move it onto a linked chunk (a guard of 0 never trips), so running
	 * off the end hits the guard page and is reported. */
	t->ctx.guard = t->stack_kind == CAP_STACK_KIND_FIXED ? NULL : t->stack_lo + CAP_SPLIT_BACKOFF;
	t->ss.current = NULL;
	t->chunk_memo = t->chunk_link = 0;
	t->ss.initial_sp = (void *)top;
	/* When a function that ran on a linked chunk returns to the first one,
	 * libgcc recomputes the guard as initial_sp - initial_len plus its own
	 * reserve; this length makes that our guard again. */
	t->ss.initial_len = (top - (uintptr_t)t->stack_lo) + cap__libgcc_backoff - CAP_SPLIT_BACKOFF;
	/* t->ss.segments keeps the chunks a previous owner of this stack linked. */

	cap__mn_lock();
	cap__link_all(w, t);
	cap__mn_unlock(w);
	cap__hook_spawned(w, t);
	return t;
}

void cap__spawn_start(struct cap_thread *t)
{
	struct cap_worker *w = cap__w;
	t->state = CAP_RUNNABLE;
	t->owner = w;
	atomic_fetch_add_explicit(&w->stats.threads, 1, memory_order_relaxed);
	if (cap__mn_should_wake(cap__runq_push_next(w, t, true)))
		cap__mn_wakep();
}

cap_thread_t *cap_spawn(void *(*fn)(void *), void *arg, const cap_spawn_opts_t *opts)
{
	return cap__spawn_at(fn, arg, opts, __builtin_return_address(0));
}

static _Noreturn void cap__finish(struct cap_worker *w, struct cap_thread *t)
{
	cap__hook_finished(w, t);
	if (CAP_UNLIKELY(t->libc))
		cap__tls_thread_end(t);
	if (cap__exit_hook && t->specific)
		cap__exit_hook(t);
	if (CAP_UNLIKELY(t->libc))
		cap__on_sysstack(CAP_SYSFN_LIBC_TSD_FREE, t);
	/* Held until this stack is left: a joiner frees it. */
	cap__mn_lock();
	t->state = CAP_DONE;
	cap__unlink_all(t);
	atomic_fetch_sub_explicit(&w->stats.threads, 1, memory_order_relaxed);
	if (t->joiner) {
		cap__waking((uintptr_t)t->fn + 1); /* the wake's site: its start function (syncprof.h) */
		cap__wake(t->joiner, 0);
		cap__waking(0);
	}
	if (t->flags & CAP_F_DETACHED)
		w->zombie = t; /* freed by whoever runs next, off this stack */
	if (!cap__mn.nthreads)
		cap__mn_exit_all();
	w->post_unlock = true;
	cap__schedule(w, t);
	__builtin_unreachable();
}

/* Called by the trampoline on the new thread's own stack. */
_Noreturn void cap__thread_main(struct cap_thread *t)
{
	struct cap_worker *w = cap__w;
	cap__check_switched(w);
	if (cap__post_pending(w))
		cap__post_switch(w);
	/* The program's thread-locals: a pointer to one stays valid only in
	 * this worker's TLS block (mn.h: Thread-locals). */
	if (cap__tls.area && cap__mn.n > 1)
		cap__flags_set(t, CAP_F_BOUND);
	if (t->flags & CAP_F_C11) /* as glibc: the int, sign-extended, is the pthread result */
		t->result = (void *)(intptr_t)((int (*)(void *))(void *)t->fn)(t->arg);
	else
		t->result = t->fn(t->arg);
	cap__finish(cap__w, t);
}

_Noreturn void cap_exit(void *result)
{
	struct cap_worker *w = cap__need_worker();
	struct cap_thread *t = w->current;
	t->result = result;
	cap__finish(w, t);
}

static void cap__reap(struct cap_worker *w)
{
	struct cap_thread *z = w->zombie;
	w->zombie = NULL;
	cap__stack_free(z);
}

/* Inline into both entries: a frame more across the switch inside costs a
 * mispredicted return (switching stacks empties the return predictor). */
static inline __attribute__((always_inline)) int cap__join_body(struct cap_thread *t, void **result,
								 uint64_t deadline_ns)
{
	struct cap_worker *w = cap__need_worker();
	struct cap_thread *cur = w->current;
	if (!t)
		return -EINVAL;
	if (t == cur)
		return -EDEADLK;
	cap__mn_lock();
	if (t->flags & (CAP_F_DETACHED | CAP_F_JOINED)) {
		cap__mn_unlock(w);
		return -EINVAL;
	}
	if (t->state != CAP_DONE && deadline_ns == CAP_JOIN_TRY) {
		cap__mn_unlock(w);
		return -EBUSY;
	}
	cap__flags_set(t, CAP_F_JOINED);
	while (t->state != CAP_DONE) {
		t->joiner = cur;
		int r = cap__block(NULL, deadline_ns, CAP_WAIT_JOIN, t);
		cap__mn_lock();
		if (r == -ETIMEDOUT && t->state != CAP_DONE) {
			t->joiner = NULL; /* still joinable, by anyone */
			cap__flags_clear(t, CAP_F_JOINED);
			cap__mn_unlock(cap__w);
			return -ETIMEDOUT;
		}
	}
	cap__mn_unlock(cap__w);
	if (result)
		*result = t->result;
	cap__stack_free(t);
	return 0;
}

int cap__join(struct cap_thread *t, void **result, uint64_t deadline_ns)
{
	return cap__join_body(t, result, deadline_ns);
}

int cap_join(cap_thread_t *t, void **result) { return -cap__join_body(t, result, 0); }

int cap_detach(cap_thread_t *t)
{
	struct cap_worker *w = cap__need_worker();
	if (!t)
		return EINVAL;
	cap__mn_lock();
	if (t->flags & (CAP_F_DETACHED | CAP_F_JOINED)) {
		cap__mn_unlock(w);
		return EINVAL;
	}
	bool done = t->state == CAP_DONE;
	if (!done)
		cap__flags_set(t, CAP_F_DETACHED);
	cap__mn_unlock(w);
	if (done)
		cap__stack_free(t);
	return 0;
}

void cap_yield(void)
{
	struct cap_worker *w = cap__w;
	if (CAP_UNLIKELY(!w))
		cap__fatal_misuse("capriccio: cap_yield from a kernel thread that is not a Capriccio worker");
	struct cap_thread *cur = w->current;
	if (cur == &w->sched)
		return;
	if (!cap__runq_len(w) && !atomic_load_explicit(&w->ninbox, memory_order_relaxed)) {
		if (!(cap__mn.io_waiters | cap__mn.timers.n | atomic_load_explicit(&cap__mn.inflight, memory_order_relaxed)) ||
		    (cap__poll_nowait(w), !cap__runq_len(w) && !atomic_load_explicit(&w->ninbox, memory_order_relaxed))) {
			/* Nobody to run: this yield point kept no one waiting. */
			cap__hook_run_restarts(w, cur);
			return;
		}
	}
	cap__hook_block(w, cur, CAP_KIND_YIELD, NULL);
	cur->state = CAP_RUNNABLE;
	struct cap_thread *next = cap__pick(w);
	if (CAP_UNLIKELY(!next)) /* a thief took what there was */
		next = cap__sched_ctx(w);
	else
		cap__dispatch(next);
	w->post_push = cur; /* queued once saved (cap__post_switch) */
	w = cap__switch(w, cur, next);
	cap__hook_resumed(w, cur, CAP_KIND_YIELD);
}

int cap_bind(unsigned worker)
{
	struct cap_worker *w = cap__w;
	if (!w || w->current == &w->sched || worker >= cap__mn.n)
		return EINVAL;
	struct cap_thread *cur = w->current;
	struct cap_worker *to = cap__mn.workers[worker];
	cap__flags_set(cur, CAP_F_BOUND);
	if (to == w)
		return 0;
	atomic_fetch_sub_explicit(&w->stats.threads, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&to->stats.threads, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&to->stats.migrations, 1, memory_order_relaxed);
	cur->owner = to;
	cur->state = CAP_RUNNABLE;
	w->post_push = cur; /* to its new worker once saved (cap__post_switch) */
	w->post_send = true;
	cap__schedule(w, cur);
	return 0;
}

int cap_sleep_ns(uint64_t ns)
{
	cap__need_worker();
	if (ns == 0) {
		cap_yield();
		return 0;
	}
	uint64_t deadline = cap__mono_ns() + ns;
	cap__mn_lock();
	int r = cap__block(NULL, deadline, CAP_WAIT_SLEEP, NULL);
	return r == -ETIMEDOUT ? 0 : -r;
}

cap_thread_t *cap_self(void)
{
	struct cap_worker *w = cap__w;
	if (!w)
		cap__fatal_misuse("capriccio: cap_self from a kernel thread that is not a Capriccio worker");
	return w->current == &w->sched ? NULL : w->current;
}

uint64_t cap_id(const cap_thread_t *t) { return t ? t->id : 0; }
const char *cap_name(const cap_thread_t *t) { return t ? t->name : ""; }
void cap_set_name(cap_thread_t *t, const char *name)
{
	if (t)
		cap__strlcpy(t->name, name, sizeof t->name);
}
uint64_t cap_now_ns(void) { return cap__mono_ns(); }

/* The scheduler context's turn (worker.c's loop): runs the next runnable
 * thread until something switches back here.  false: none was runnable. */
bool cap__sched_run_one(struct cap_worker *w)
{
	struct cap_thread *t = cap__mn_find(w);
	if (!t)
		return false;
	cap__dispatch(t);
	if (w->tel)
		cap__graph_run_ended(w->tel, cap__ticks(), w->switches);
	cap__switch(w, &w->sched, t);
	return true;
}
