/* M:N scheduling (mn.h): finding work on other workers, the injection
 * queue, and idle workers: spinning, polling, parking and waking them.
 * Split-stack code: wakep runs on user threads; the rest on the worker's
 * scheduler context. */
#include "mn.h"
#include "runq.h"
#include "telemetry.h"

#include <errno.h>
#include <signal.h>

struct cap_mn cap__mn = { .poll_until = UINT64_MAX, .kick_fd = -1, .n = 1 };

static bool cap__mn_not_mine(struct cap_worker *w, struct cap_thread *t);

#define CAP_SPIN_NS 20000 /* how long an idle worker looks for work before it parks */
#define CAP_LOOK_NS 10000000 /* how often the poller looks at the run-next slots of running workers */

/* ---- The injection queue ------------------------------------------------ */

static void cap__inject_list(struct cap_fifo *list)
{
	if (!list->head)
		return;
	cap__lock_take(&cap__mn.inject_lock);
	cap__fifo_concat(&cap__mn.inject, list);
	atomic_store_explicit(&cap__mn.ninject, cap__mn.inject.len, memory_order_seq_cst);
	cap__lock_give(&cap__mn.inject_lock);
}

void cap__mn_inject(struct cap_thread *t)
{
	struct cap_fifo one = { NULL, NULL, 0 };
	cap__fifo_push(&one, t);
	cap__inject_list(&one);
	cap__mn_wakep();
}

/* w's ring is full: t and the older half of the ring go to the injection
 * queue (Go's runqputslow), where every worker finds them. */
void cap__runq_overflow(struct cap_worker *w, struct cap_thread *t)
{
	struct cap_ring *r = &w->runq.ring;
	struct cap_fifo list = { NULL, NULL, 0 };
	uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	uint32_t tl = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint32_t n = (tl - h) / 2;
	struct cap_thread *batch[CAP_RING / 2];
	for (uint32_t i = 0; i < n; i++)
		batch[i] = atomic_load_explicit(&r->slot[(h + i) % CAP_RING], memory_order_relaxed);
	if (n && atomic_compare_exchange_strong_explicit(&r->head, &h, h + n, memory_order_release, memory_order_relaxed)) {
		for (uint32_t i = 0; i < n; i++)
			cap__fifo_push(&list, batch[i]);
	} else if (cap__ring_put(r, t)) {
		return; /* thieves made room meanwhile */
	}
	cap__fifo_push(&list, t);
	cap__inject_list(&list);
}

/* Up to a fair share of the injection queue: one to run, the rest onto
 * w's ring. */
struct cap_thread *cap__mn_inject_get(struct cap_worker *w)
{
	if (!atomic_load_explicit(&cap__mn.ninject, memory_order_relaxed))
		return NULL;
	cap__lock_take(&cap__mn.inject_lock);
	uint32_t n = cap__mn.inject.len / cap__mn.n + 1;
	if (n > CAP_RING / 2)
		n = CAP_RING / 2;
	struct cap_thread *first = cap__fifo_pop(&cap__mn.inject), *t;
	for (uint32_t i = 1; first && i < n && (t = cap__mn.inject.head); i++) {
		bool bound = t->flags & CAP_F_BOUND;
		if (bound && t->owner != w)
			break; /* it goes to its worker: the next look takes it */
		if (!bound && cap__ring_len(&w->runq.ring) >= CAP_RING)
			break;
		cap__fifo_pop(&cap__mn.inject);
		cap__mn_own(w, t);
		cap__runq_push(w, t);
	}
	atomic_store_explicit(&cap__mn.ninject, cap__mn.inject.len, memory_order_relaxed);
	cap__lock_give(&cap__mn.inject_lock);
	if (first && cap__mn_not_mine(w, first))
		return NULL;
	if (first)
		cap__mn_own(w, first);
	return first;
}

/* ---- Bound threads ------------------------------------------------------ */

void cap__mn_send(struct cap_thread *t)
{
	struct cap_worker *v = t->owner;
	cap__lock_take(&v->inbox_lock);
	cap__fifo_push(&v->inbox, t);
	atomic_store_explicit(&v->ninbox, v->inbox.len, memory_order_seq_cst);
	cap__lock_give(&v->inbox_lock);
	cap__mn_nudge(v);
}

struct cap_thread *cap__mn_inbox_take(struct cap_worker *w)
{
	cap__lock_take(&w->inbox_lock);
	struct cap_fifo all = w->inbox;
	w->inbox.head = w->inbox.tail = NULL;
	w->inbox.len = 0;
	atomic_store_explicit(&w->ninbox, 0, memory_order_relaxed);
	cap__lock_give(&w->inbox_lock);
	struct cap_thread *first = cap__fifo_pop(&all), *t;
	while ((t = cap__fifo_pop(&all)))
		cap__runq_push(w, t);
	return first;
}

/* A thread bound elsewhere that came into w's hands (stolen, or from the
 * injection queue) goes to its own worker; true if t was one. */
static bool cap__mn_not_mine(struct cap_worker *w, struct cap_thread *t)
{
	if (CAP_LIKELY(!(t->flags & CAP_F_BOUND)) || t->owner == w)
		return false;
	cap__mn_send(t);
	return true;
}

/* ---- The resource-aware policy's queue ---------------------------------- */

void cap__res_push_locked(struct cap_thread *t)
{
	cap__lock_take(&cap__mn.res_lock);
	cap__res_push(&cap__mn.res, t);
	cap__lock_give(&cap__mn.res_lock);
}

struct cap_thread *cap__res_pop_locked(void)
{
	if (!cap__res_len(&cap__mn.res))
		return NULL;
	cap__lock_take(&cap__mn.res_lock);
	struct cap_thread *t = cap__res_pop(&cap__mn.res);
	cap__lock_give(&cap__mn.res_lock);
	return t;
}

/* ---- Stealing ----------------------------------------------------------- */

/* Takes half of v's ring into buf (Go's runqgrab); the count. */
static uint32_t cap__ring_grab(struct cap_ring *v, struct cap_thread **buf)
{
	for (;;) {
		uint32_t h = atomic_load_explicit(&v->head, memory_order_acquire);
		uint32_t tl = atomic_load_explicit(&v->tail, memory_order_acquire);
		uint32_t n = tl - h;
		n -= n / 2;
		if (n == 0)
			return 0;
		if (n > CAP_RING / 2)
			continue; /* read head and tail at different times */
		for (uint32_t i = 0; i < n; i++)
			buf[i] = atomic_load_explicit(&v->slot[(h + i) % CAP_RING], memory_order_relaxed);
		if (atomic_compare_exchange_strong_explicit(&v->head, &h, h + n, memory_order_acq_rel, memory_order_relaxed))
			return n;
	}
}

static inline uint32_t cap__rand(struct cap_worker *w)
{
	uint32_t x = w->rand ? w->rand : 0x9e3779b9u ^ (w->id + 1);
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return w->rand = x;
}

/* From a random victim on: half of its ring (never a bound thread: those
 * wait where no thief looks, runq.h). */
static struct cap_thread *cap__mn_steal(struct cap_worker *w)
{
	uint32_t n = cap__mn.n;
	if (n == 1 || cap__policy)
		return NULL;
	uint32_t start = cap__rand(w) % n;
	struct cap_thread *buf[CAP_RING / 2];
	for (uint32_t i = 0; i < n; i++) {
		struct cap_worker *v = cap__mn.workers[(start + i) % n];
		if (v == w)
			continue;
		uint32_t k = cap__ring_grab(&v->runq.ring, buf);
		if (!k)
			continue;
		for (uint32_t j = 0; j < k; j++) {
			cap__mn_own(w, buf[j]);
			if (j)
				cap__ring_put(&w->runq.ring, buf[j]); /* ours is empty: it fits */
		}
		atomic_fetch_add_explicit(&w->stats.steals, k, memory_order_relaxed);
		return buf[0];
	}
	return NULL;
}

/* A stealable thread waits in another worker's run-next slot. */
static bool cap__mn_next_waiting(struct cap_worker *w)
{
	for (uint32_t i = 0; i < cap__mn.n; i++) {
		struct cap_worker *v = cap__mn.workers[i];
		if (v != w && cap__next_stealable(atomic_load_explicit(&v->runq.next, memory_order_relaxed)))
			return true;
	}
	return false;
}

/* Is there work for w somewhere (a cheap look, for spinning and parking)?
 * Another worker's run-next thread counts only with `next_too`: that
 * worker is about to run it, and the poller looks at the slots now and
 * then (cap__mn_watch_next).  Threads bound to another worker never count
 * (runq.h). */
static bool cap__mn_anywork(struct cap_worker *w, bool next_too)
{
	if (atomic_load_explicit(&cap__mn.ninject, memory_order_seq_cst) ||
	    atomic_load_explicit(&w->ninbox, memory_order_relaxed))
		return true;
	if (cap__policy)
		return cap__res_len(&cap__mn.res) != 0;
	if (cap__runq_len(w))
		return true;
	for (uint32_t i = 0; i < cap__mn.n; i++)
		if (cap__mn.workers[i] != w && cap__ring_len(&cap__mn.workers[i]->runq.ring))
			return true;
	return next_too && cap__mn_next_waiting(w);
}

/* I/O, timers or completions may make work: someone should poll. */
static inline bool cap__mn_waits(void)
{
	return cap__mn.io_waiters || cap__mn.timers.n || atomic_load_explicit(&cap__mn.inflight, memory_order_relaxed);
}

struct cap_thread *cap__mn_find(struct cap_worker *w)
{
	struct cap_thread *t = atomic_load_explicit(&w->ninbox, memory_order_relaxed) ? cap__mn_inbox_take(w) : NULL;
	if (t || (t = cap__runq_pop(w)) || (t = cap__mn_inject_get(w)))
		return t;
	if (cap__mn_waits() && !atomic_load_explicit(&cap__mn.poller, memory_order_relaxed)) {
		cap__io_poll(w, 0);
		cap__timer_release_due(w, cap__mono_ns());
		if ((t = cap__runq_pop(w)))
			return t;
	}
	return cap__mn_steal(w);
}

/* An idle worker's watch on other workers' run-next slots (w->watch, kept
 * from one spin or poll to the next: on a loaded machine a spin's looks
 * are whole time slices apart, sched_yield, and one spin seldom saw two).
 * The thread in a slot is what that worker runs as soon as its running
 * thread stops, so it is taken only from a worker that has not switched
 * since the watch began, CAP_SPIN_NS / 4 ago (one that computes for long
 * with a thread waiting there); one that keeps switching (spawn then join,
 * wake then wait) runs its own, and a thief would only move it, cold,
 * across. */
static struct cap_thread *cap__mn_watch_next(struct cap_worker *w, uint64_t now)
{
	struct cap_next_watch *x = &w->watch;
	struct cap_worker *v = cap__mn.workers[x->victim];
	struct cap_thread *t = v == w ? NULL : cap__next_stealable(atomic_load_explicit(&v->runq.next, memory_order_acquire));
	uint64_t sw = __atomic_load_n(&v->switches, __ATOMIC_RELAXED);
	if (!t || t != x->t || sw != x->switches) { /* watch it, or the next one, from now */
		if (!t)
			x->victim = (x->victim + 1) % cap__mn.n;
		x->t = t;
		x->switches = sw;
		x->since = now;
		return NULL;
	}
	if (now - x->since < CAP_SPIN_NS / 4 ||
	    !atomic_compare_exchange_strong_explicit(&v->runq.next, &t, NULL, memory_order_acquire, memory_order_relaxed))
		return NULL;
	x->t = NULL;
	cap__mn_own(w, t);
	atomic_fetch_add_explicit(&w->stats.steals, 1, memory_order_relaxed);
	return t;
}

/* ---- Idle workers ------------------------------------------------------- */

void cap__mn_kick(void)
{
	if (cap__mn.kick_fd >= 0 && !atomic_exchange_explicit(&cap__mn.kicked, 1, memory_order_acq_rel)) {
		uint64_t one = 1;
		cap_sys3(SYS_write, cap__mn.kick_fd, &one, sizeof one);
	}
}

static void cap__mn_unpark(struct cap_worker *v)
{
	atomic_store_explicit(&v->park, 1, memory_order_release);
	cap_sys6(SYS_futex, (long)&v->park, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

static struct cap_worker *cap__mn_idle_pop(void)
{
	cap__lock_take(&cap__mn.idle_lock);
	struct cap_worker *v = cap__mn.idle;
	if (v) {
		cap__mn.idle = v->idle_next;
		v->idle = false;
		atomic_fetch_sub_explicit(&cap__mn.nidle, 1, memory_order_seq_cst);
	}
	cap__lock_give(&cap__mn.idle_lock);
	return v;
}

/* Takes v off the idle stack if it is on it; true if it was. */
static bool cap__mn_idle_remove(struct cap_worker *v)
{
	cap__lock_take(&cap__mn.idle_lock);
	bool was = v->idle;
	if (was) {
		struct cap_worker **p = &cap__mn.idle;
		while (*p != v)
			p = &(*p)->idle_next;
		*p = v->idle_next;
		v->idle = false;
		atomic_fetch_sub_explicit(&cap__mn.nidle, 1, memory_order_seq_cst);
	}
	cap__lock_give(&cap__mn.idle_lock);
	return was;
}

void cap__mn_nudge(struct cap_worker *v)
{
	atomic_thread_fence(memory_order_seq_cst);
	bool woke = atomic_load_explicit(&cap__mn.nidle, memory_order_relaxed) && cap__mn_idle_remove(v);
	if (woke)
		cap__mn_unpark(v);
	else if (atomic_load_explicit(&cap__mn.poller, memory_order_relaxed) == v->id + 1)
		cap__mn_kick();
}

/* Work was queued: if no worker is looking for work, wake one that sleeps
 * (Go's wakep), else the poller, which then looks.  No fence between the
 * queueing and the looks at the idle counts (a spawn and a wake each
 * called one; it was a third of what a second worker added to
 * spawn_join_ns): work queued on the caller's own worker is run by it if
 * nobody else sees it in time, so a stale look costs parallelism for a
 * moment, never a lost wake-up — as in Go.  Work queued where its queuer
 * will not run it is fenced by its queueing (the injection queue's count
 * is a seq_cst store; an inbox's, cap__mn_nudge's fence). */
void cap__mn_wakep(void)
{
	if (cap__mn.n == 1)
		return;
	if (atomic_load_explicit(&cap__mn.nspinning, memory_order_relaxed))
		return;
	if (atomic_load_explicit(&cap__mn.nidle, memory_order_relaxed)) {
		struct cap_worker *v = cap__mn_idle_pop();
		if (v) {
			cap__mn_unpark(v);
			return;
		}
	}
	if (atomic_load_explicit(&cap__mn.poller, memory_order_relaxed))
		cap__mn_kick();
}

void cap__mn_exit_all(void)
{
	atomic_store(&cap__mn.exiting, 1);
	struct cap_worker *v;
	while ((v = cap__mn_idle_pop()))
		cap__mn_unpark(v);
	cap__mn_kick();
}

/* Waits for a wake in the kernel, on w's futex word. */
static void cap__mn_park(struct cap_worker *w)
{
	cap__lock_take(&cap__mn.idle_lock);
	w->idle_next = cap__mn.idle;
	cap__mn.idle = w;
	w->idle = true;
	uint32_t idle = atomic_fetch_add_explicit(&cap__mn.nidle, 1, memory_order_seq_cst) + 1;
	cap__lock_give(&cap__mn.idle_lock);
	if (idle == cap__mn.n - 1)
		cap__mn_kick(); /* the poller is the last one awake: it looks for a deadlock */
	if (!(cap__mn_anywork(w, false) || atomic_load(&cap__mn.exiting) || !atomic_load(&cap__mn.poller))) {
		cap__sig_idle_settle(w); /* what some thread accepts now (cap__mn_idle's may be stale) */
		cap__worker_park_begin(w, cap__mono_ns());
		while (!atomic_load_explicit(&w->park, memory_order_acquire)) {
			long r = cap_sys6(SYS_futex, (long)&w->park, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0);
			if (r == -EINTR)
				break; /* a handler ran: its signal is routed from the loop */
		}
		cap__worker_park_end(w, cap__mono_ns());
		cap__tel_worker_unparked();
	}
	cap__mn_idle_remove(w); /* not woken: off the stack ourselves */
	atomic_store_explicit(&w->park, 0, memory_order_relaxed);
}

/* The one worker that waits in epoll: for descriptors, the timers'
 * earliest deadline, completions, signals and kicks. */
static void cap__mn_poll(struct cap_worker *w)
{
	cap__mn_lock();
	if (!cap__mn.nthreads) {
		cap__mn_unlock(w);
		cap__mn_exit_all();
		atomic_store(&cap__mn.poller, 0);
		return;
	}
	bool inboxes = false;
	for (uint32_t i = 0; i < cap__mn.n; i++)
		inboxes |= atomic_load(&cap__mn.workers[i]->ninbox) != 0;
	if (!cap__mn_waits() && atomic_load(&cap__mn.nidle) == cap__mn.n - 1 && !cap__mn_anywork(w, true) && !inboxes &&
	    !atomic_load(&cap__mn.exiting))
		cap__on_sysstack(CAP_SYSFN_DEADLOCK, w); /* every thread blocked, every worker idle: never returns */
	uint64_t next = cap__timer_next(w);
	atomic_store(&cap__mn.poll_until, next ? next : UINT64_MAX);
	cap__mn_unlock(w);
	if (!cap__mn_anywork(w, false) && !atomic_load(&cap__mn.exiting)) {
		int64_t timeout = -1;
		if (next) {
			uint64_t now = cap__mono_ns();
			timeout = next > now ? (int64_t)(next - now) : 0;
		}
		/* A worker that runs may hold a thread in its run-next slot that
		 * woke nobody (runq.h): while one runs, look again now and then,
		 * and take that thread if its worker has not switched since
		 * (cap__mn_watch_next), as Go's sysmon retakes a P. */
		if (atomic_load(&cap__mn.nidle) + 1 < cap__mn.n && (timeout < 0 || timeout > CAP_LOOK_NS))
			timeout = CAP_LOOK_NS;
		if (CAP_UNLIKELY(cap__mn.workers[0]->disk.sq_waiting) && (timeout < 0 || timeout > 1000000)) {
			timeout = 1000000;
			cap__disk_complete(w);
		}
		if (timeout != 0) { /* parked: the profiler's utilisation */
			cap__worker_park_begin(w, cap__mono_ns());
			cap__io_poll(w, timeout);
			cap__worker_park_end(w, cap__mono_ns());
			cap__tel_worker_unparked();
		} else {
			cap__io_poll(w, 0);
		}
	}
	atomic_store(&cap__mn.poll_until, UINT64_MAX);
	atomic_store(&cap__mn.poller, 0);
	cap__timer_release_due(w, cap__mono_ns());
	/* The look: a thread still in a running worker's run-next slot, whose
	 * worker has not switched since the poller last looked, comes here. */
	struct cap_thread *t = cap__mn_watch_next(w, cap__mono_ns());
	if (t)
		cap__ring_put(&w->runq.ring, t);
	/* More than this worker will run next, and stealable, or a thread in
	 * another's run-next slot that nobody else looks at once this worker
	 * stops polling: a parked one can help. */
	if (cap__policy ? cap__runq_len(w) > 1
			: cap__ring_len(&w->runq.ring) > 1 || (atomic_load_explicit(&cap__mn.nidle, memory_order_relaxed) && cap__mn_next_waiting(w)))
		cap__mn_wakep();
}

void cap__mn_idle(struct cap_worker *w)
{
	/* While it looks for work its kernel takes only what some live thread
	 * accepts, as of now: the threads may have changed since it last set
	 * its mask (a signal every thread blocks must stay pending). */
	cap__sig_idle_settle(w);
	uint32_t n = cap__mn.n;
	/* An idle worker may spin, briefly, unless every other worker is
	 * parked or polling: a wake then finds it awake, with no futex call on
	 * either side (Go lets half of them: measured here, a ping-pong across
	 * two workers took 9.0 us that way, 0.8 us this way).  With the others
	 * parked or polling only the poller can make work, and it wakes a
	 * parked worker when it has more than it will run.  (A spinning one
	 * counts as busy: it may be about to run the thread that wakes ours.) */
	uint32_t quiet = atomic_load_explicit(&cap__mn.nidle, memory_order_relaxed) +
			 (atomic_load_explicit(&cap__mn.poller, memory_order_relaxed) != 0);
	if (n > 1 && quiet < n - 1) {
		atomic_fetch_add_explicit(&cap__mn.nspinning, 1, memory_order_seq_cst);
		uint64_t t0 = cap__mono_ns(), now = t0;
		bool found = false;
		struct cap_thread *t = NULL;
		while (!found && now - t0 < CAP_SPIN_NS && !atomic_load_explicit(&cap__mn.exiting, memory_order_relaxed)) {
			cap_sys0(SYS_sched_yield);
			found = cap__mn_anywork(w, false);
			if (!found && (t = cap__mn_watch_next(w, now)))
				break;
			now = cap__mono_ns();
		}
		/* Go's findrunnable: the last spinner to stop looks once more,
		 * since wakers skipped waking anyone while we spun. */
		atomic_fetch_sub_explicit(&cap__mn.nspinning, 1, memory_order_seq_cst);
		if (t) {
			cap__ring_put(&w->runq.ring, t);
			return;
		}
		if (found || cap__mn_anywork(w, false))
			return;
	}
	if (atomic_load(&cap__mn.exiting))
		return;
	uint32_t z = 0;
	if (atomic_compare_exchange_strong(&cap__mn.poller, &z, w->id + 1))
		cap__mn_poll(w);
	else
		cap__mn_park(w);
}
