/* Who woke a thread, and who held the lock it waited for (issue 16):
 * recorded while telemetry is on, by the sync primitives (posix_thread.c,
 * sync.c, sched.c) into the worker's tables (graph.c).
 *
 * Wakes.  A call of the program that may wake threads (a signal, a
 * broadcast, a post, an unlock, a thread's exit) names itself with
 * cap__waking(site) before it wakes anyone and cap__waking(0) after: every
 * thread made runnable in between is a wake from that site, recorded by
 * cap__hook_woken.  A wake by a timer or the poller has no site and is not
 * one.
 *
 * Holds.  A lock's holder is known only for a lock that has made a thread
 * wait while telemetry is on: that first wait claims a slot of
 * cap__lockprof for it, and the lock keeps the slot's index + 1 in a spare
 * word of its own.  From then on every acquisition writes its site, its
 * thread and the time into the slot.  Only the holder writes (it holds the
 * lock), so no lock is needed, and a lock never waited for costs one load
 * and a branch.  When a release hands the lock to a waiter, the releaser
 * records the hold on its own worker: the waiter's blocking point, the
 * acquisition and release sites, how long it held the lock and how long the
 * waiter had waited.
 *
 * Out of the wait lock.  Every wait and wake of the process takes that
 * lock, so whatever the recording does under it is every other worker's
 * wait too (a clock read moved there cost the socket ping-pong 1.6% of its
 * throughput on two workers).  So a wait finds its point before it takes
 * the lock, as cap__fd_wait does (cap__sync_prepare), and a call that may
 * wake threads reads the clock for their wakes before it (cap__wakes_stamp),
 * as the poller does for a batch.  On 32 pairs of threads passing a turn
 * through pthread condition variables on two workers (runtime_bench
 * telemetry 7 condvars), telemetry on over off went from 0.81-0.86 to
 * 0.95-0.98.  On one worker nobody else waits for the lock, and the block
 * recorded whole under it is cheaper (a semaphore ping-pong: 60
 * instructions an op fewer): there both do nothing (cap__sync_tel_shared).
 *
 * What is not known: the hold during which a lock was first waited for (no
 * slot yet), holds of a lock once the slots have run out, and a semaphore
 * posted by a thread other than the one that last took a unit (it is then
 * a signal, not a lock: its wake is recorded, no hold).  A semaphore with
 * several units held at once keeps the last taker's. */
#ifndef CAP_SYNCPROF_H
#define CAP_SYNCPROF_H

#include "mn.h"
#include "telemetry.h"

#define CAP_LOCKPROF_MAX 4096

struct cap_lockprof {
	const void *_Atomic obj; /* the lock the slot is for */
	struct cap_thread *_Atomic holder;
	_Atomic uint64_t site, at; /* the holder's acquisition: return address, TSC */
};
extern struct cap_lockprof cap__lockprof[CAP_LOCKPROF_MAX];

/* The telemetry tables of the running worker, NULL when telemetry is off or
 * outside a worker. */
static inline struct cap_telemetry *cap__sync_tel(void)
{
	struct cap_worker *w = cap__w;
	return w ? w->tel : NULL;
}

/* The running worker's tables when telemetry is on and other workers may
 * want the wait lock ("Out of the wait lock" above); NULL: record under it. */
static inline struct cap_telemetry *cap__sync_tel_shared(void)
{
	struct cap_telemetry *T = cap__sync_tel();
	return CAP_LIKELY(!T) || cap__mn.n < 2 ? NULL : T;
}

/* `me`, a thread of the program about to wait for a `kind` of sync object,
 * finds the wait's point now, before the wait lock (`p`, for
 * cap__block_prepared); NULL: found under it.  Inlined into the blocking
 * function, whose caller's chain is the point.  Only when the wait is
 * likely: a point found and not waited at is work thrown away. */
static inline __attribute__((always_inline)) const struct cap_graph_prep *cap__sync_prepare(struct cap_graph_prep *p,
											   struct cap_thread *me, int kind)
{
	struct cap_telemetry *T = cap__sync_tel_shared();
	if (!T)
		return NULL;
	cap__graph_prepare(T, me, kind, p);
	return p;
}

/* Before the wait lock, in a call that may wake threads: the wakes it makes
 * end their waits now (a thread that blocks after this, before the lock is
 * had, is woken with a wait of 0).  Returns the tables to give
 * cap__wakes_unstamp once the lock is given up, before anything switches;
 * NULL: each wake reads the clock itself. */
static inline struct cap_telemetry *cap__wakes_stamp(void)
{
	struct cap_telemetry *T = cap__sync_tel_shared();
	if (T)
		T->wake_stamp = cap__ticks();
	return T;
}
/* The same for the wakes a waiter makes as it releases a mutex under the
 * lock (a condition wait): they end when its own wait began, prep's clock
 * read (NULL: no stamp). */
static inline struct cap_telemetry *cap__wakes_stamp_at(const struct cap_graph_prep *prep)
{
	if (!prep)
		return NULL;
	struct cap_telemetry *T = cap__sync_tel();
	T->wake_stamp = prep->now;
	return T;
}
static inline int cap__wakes_unstamp(struct cap_telemetry *T, int r)
{
	if (T)
		T->wake_stamp = 0;
	return r;
}

static inline void cap__waking(uintptr_t site)
{
	struct cap_telemetry *T = cap__sync_tel();
	if (T)
		T->wake_site = site;
}

/* The slot of `obj`, whose prof word is `id`; NULL: none. */
static inline struct cap_lockprof *cap__lockprof_of(uint32_t id, const void *obj)
{
	if (CAP_LIKELY(id == 0) || id > CAP_LOCKPROF_MAX)
		return NULL;
	struct cap_lockprof *p = &cap__lockprof[id - 1];
	return atomic_load_explicit(&p->obj, memory_order_relaxed) == obj ? p : NULL; /* else a stale word: memory reused without init */
}

static inline void cap__lockprof_set(struct cap_lockprof *p, struct cap_thread *me, uintptr_t site, uint64_t at)
{
	atomic_store_explicit(&p->site, site, memory_order_relaxed);
	atomic_store_explicit(&p->at, at, memory_order_relaxed);
	atomic_store_explicit(&p->holder, me, memory_order_relaxed);
}

/* `me` took `obj` (prof word `id`) at `site` without waiting. */
static inline void cap__lock_acquired(uint32_t id, const void *obj, struct cap_thread *me, uintptr_t site)
{
	struct cap_lockprof *p = cap__lockprof_of(id, obj);
	if (p)
		cap__lockprof_set(p, me, site, cap__ticks());
}

/* `me` was handed `obj` it waited for at `site`: its hold starts when it
 * ran again (t_resumed, set by graph.c then), with no clock read on a path
 * every wait for a lock takes. */
static inline void cap__lock_acquired_woken(uint32_t id, const void *obj, struct cap_thread *me, uintptr_t site)
{
	struct cap_lockprof *p = cap__lockprof_of(id, obj);
	if (p)
		cap__lockprof_set(p, me, site, me->t_resumed);
}

/* Under cap__mn.lock: a thread is about to wait for `obj`; gives it a slot
 * (*id) if it has none and telemetry is on. */
void cap__lock_claim(uint32_t *id, const void *obj);
static inline void cap__lock_contended(uint32_t *id, const void *obj)
{
	if (CAP_UNLIKELY(cap__sync_tel() != NULL) && !cap__lockprof_of(__atomic_load_n(id, __ATOMIC_RELAXED), obj))
		cap__lock_claim(id, obj);
}
/* A release of a lock that may hand it to waiters, under cap__mn.lock:
 * begun before the first wake (a thread woken may run on another worker at
 * once and take the slot), each waiter handed the lock recorded, ended
 * after the last wake. */
struct cap_release {
	struct cap_telemetry *T; /* NULL: telemetry off */
	uint64_t site, acquire, at; /* acquire 0: the hold is not known */
};

static inline void cap__release_begin(struct cap_release *r, uint32_t id, const void *obj, uintptr_t site)
{
	r->T = cap__sync_tel();
	if (CAP_LIKELY(!r->T))
		return;
	r->T->wake_site = r->site = site;
	r->acquire = 0;
	r->at = 0;
	struct cap_lockprof *p = cap__lockprof_of(id, obj);
	if (p && atomic_load_explicit(&p->holder, memory_order_relaxed) == cap__current()) {
		r->acquire = atomic_load_explicit(&p->site, memory_order_relaxed);
		r->at = atomic_load_explicit(&p->at, memory_order_relaxed);
	}
}

static inline void cap__release_handed(const struct cap_release *r, const struct cap_thread *t)
{
	if (r->T && r->acquire && t) {
		uint64_t now = r->T->wake_stamp ? r->T->wake_stamp : cap__ticks();
		cap__graph_hold(r->T, t, r->acquire, r->site, now > r->at ? now - r->at : 0);
	}
}

static inline void cap__release_end(const struct cap_release *r)
{
	if (r->T)
		r->T->wake_site = 0;
}

#define CAP_CALLER() ((uintptr_t)__builtin_return_address(0))

/* sync.c's calls for the pthread shim, given the program's call site. */
int cap__sem_timedwait_at(cap_sem_t *s, uint64_t deadline_ns, uintptr_t site);
int cap__sem_trywait_at(cap_sem_t *s, uintptr_t site);
int cap__sem_post_at(cap_sem_t *s, uintptr_t site);
int cap__rwlock_lock_at(cap_rwlock_t *l, bool wr, uint64_t deadline_ns, uintptr_t site);
int cap__rwlock_trylock_at(cap_rwlock_t *l, bool wr, uintptr_t site);
int cap__rwlock_unlock_at(cap_rwlock_t *l, uintptr_t site);

#endif
