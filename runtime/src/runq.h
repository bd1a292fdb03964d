/* The run queue: the threads ready to run on one worker (mn.h).
 *
 * Under the FIFO policy (the default) it is Go's: a bounded ring that only
 * its worker pushes to (tail stored by the owner alone, so a push is two
 * plain stores) and that its worker and idle thieves take from at the
 * head by compare-and-swap; a push that finds it full moves half of it
 * to the process's injection queue (mn.c).  In front of it, the run-next
 * slot (Go's runnext, Tokio's LIFO slot): a thread woken by the running
 * one runs as soon as the waker stops, not after every runnable thread:
 * its data is still in the cache, and a thread the program waits on (the
 * pool server's acceptor, issue 14) is not stuck behind a long queue.
 * One slot: a second wake while it is full goes to the ring, so wakes
 * still run in the order they were made.  Bounded: every
 * CAP_RUNNEXT_MAX-th dispatch from the slot lets the ring's head go
 * first, so two threads waking each other cannot starve the others.
 * Thieves take the slot too, last, so that a thread woken onto a worker
 * that then computes for long is not stranded there.
 *
 * Threads bound to the worker (CAP_F_BOUND: the program has thread-locals,
 * or cap_bind) are no thief's work: they wait in a list of the worker's
 * own, beside the ring, and one in the run-next slot is tagged
 * (CAP_NEXT_BOUND).  An idle worker that counted them as work neither ran
 * them nor parked: it stole them, sent them back, and spun on.
 *
 * Under the resource-aware policy (policy.c) there is one queue for the
 * process, ordered by resource, under its own lock: a ring cannot express
 * that order, and the policy admits work process-wide. */
#ifndef CAP_RUNQ_H
#define CAP_RUNQ_H

#include "internal.h"
#include "mn.h"

static inline void cap__fifo_push(struct cap_fifo *q, struct cap_thread *t)
{
	t->next = NULL;
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
	q->len++;
}

static inline struct cap_thread *cap__fifo_pop(struct cap_fifo *q)
{
	struct cap_thread *t = q->head;
	if (t) {
		q->head = t->next;
		if (!q->head)
			q->tail = NULL;
		q->len--;
	}
	return t;
}

/* Appends all of `from` to `to`, in order. */
static inline void cap__fifo_concat(struct cap_fifo *to, struct cap_fifo *from)
{
	if (!from->head)
		return;
	if (to->tail)
		to->tail->next = from->head;
	else
		to->head = from->head;
	to->tail = from->tail;
	to->len += from->len;
	from->head = from->tail = NULL;
	from->len = 0;
}

/* policy.c: the resource-aware implementation, called under cap__mn.res_lock. */
void cap__res_push(struct cap_runq_res *q, struct cap_thread *t);
struct cap_thread *cap__res_pop(struct cap_runq_res *q);
void cap__res_hold(struct cap_runq_res *q, struct cap_thread *t); /* to the back, whatever its point */
static inline uint32_t cap__res_len(const struct cap_runq_res *q)
{
	return q->favoured.len + q->normal.len + q->held.len;
}

/* ---- The ring ----------------------------------------------------------- */

static inline uint32_t cap__ring_len(const struct cap_ring *r)
{
	uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	return t - h <= CAP_RING ? t - h : 0; /* a torn read while a thief moves head */
}

/* Owner only.  false: full (the caller overflows). */
static inline bool cap__ring_put(struct cap_ring *r, struct cap_thread *t)
{
	CAP_CHECK(!(t->flags & CAP_F_BOUND), "a thread bound to a worker was put where thieves take from");
	uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	uint32_t tl = atomic_load_explicit(&r->tail, memory_order_relaxed);
	if (CAP_UNLIKELY(tl - h >= CAP_RING))
		return false;
	atomic_store_explicit(&r->slot[tl % CAP_RING], t, memory_order_relaxed);
	atomic_store_explicit(&r->tail, tl + 1, memory_order_release);
	return true;
}

/* Owner only (thieves use cap__ring_grab). */
static inline struct cap_thread *cap__ring_get(struct cap_ring *r)
{
	uint32_t h = atomic_load_explicit(&r->head, memory_order_acquire);
	for (;;) {
		uint32_t tl = atomic_load_explicit(&r->tail, memory_order_relaxed);
		if (h == tl)
			return NULL;
		struct cap_thread *t = atomic_load_explicit(&r->slot[h % CAP_RING], memory_order_relaxed);
		if (atomic_compare_exchange_weak_explicit(&r->head, &h, h + 1, memory_order_release,
							  memory_order_acquire))
			return t;
	}
}

/* ---- The run queue ------------------------------------------------------ */

#define CAP_RUNNEXT_MAX 64
#define CAP_NEXT_BOUND ((uintptr_t)1) /* the run-next slot's tag: its thread is bound to the slot's worker */

void cap__runq_overflow(struct cap_worker *w, struct cap_thread *t); /* mn.c */
void cap__res_push_locked(struct cap_thread *t);                      /* mn.c */
struct cap_thread *cap__res_pop_locked(void);                         /* mn.c */

static inline struct cap_thread *cap__next_thread(struct cap_thread *slot)
{
	return (struct cap_thread *)((uintptr_t)slot & ~CAP_NEXT_BOUND);
}

/* What another worker may take from a run-next slot's value: NULL for a
 * thread bound to the slot's worker. */
static inline struct cap_thread *cap__next_stealable(struct cap_thread *slot)
{
	return ((uintptr_t)slot & CAP_NEXT_BOUND) ? NULL : slot;
}

/* Queues t on w, the calling worker (t's owner if t is bound).  true: it
 * went where an idle worker may take it at once. */
static inline bool cap__runq_push(struct cap_worker *w, struct cap_thread *t)
{
	if (CAP_UNLIKELY(cap__policy)) {
		cap__res_push_locked(t);
		return true;
	}
	if (CAP_UNLIKELY(t->flags & CAP_F_BOUND)) {
		cap__fifo_push(&w->runq.bound, t);
		return false;
	}
	if (CAP_UNLIKELY(!cap__ring_put(&w->runq.ring, t)))
		cap__runq_overflow(w, t);
	return true;
}

/* Queues t in w's run-next slot, or behind the others if it is taken.  A
 * thread just spawned (`spawned`) takes the slot too, as in Go's newproc:
 * a spawner that then joins or waits runs it on this worker, where its
 * stack was just written, instead of an idle worker stealing it (thieves
 * take the slot last).  But it gives the slot up to a thread woken after
 * it, which is the one the wake-up latency is about.  true: a thread went
 * into the ring, where an idle worker may take it at once; one only in
 * the slot wakes nobody (mn.h: Waking). */
static inline bool cap__runq_push_next(struct cap_worker *w, struct cap_thread *t, bool spawned)
{
	struct cap_runq *q = &w->runq;
	struct cap_thread *old = atomic_load_explicit(&q->next, memory_order_relaxed);
	if (CAP_UNLIKELY(cap__policy) || (old && (spawned || !q->next_spawned)))
		return cap__runq_push(w, t);
	struct cap_thread *slot = (t->flags & CAP_F_BOUND) ? (struct cap_thread *)((uintptr_t)t | CAP_NEXT_BOUND) : t;
	bool displaced = old && atomic_compare_exchange_strong_explicit(&q->next, &old, slot, memory_order_release,
									 memory_order_relaxed);
	if (!displaced)
		atomic_store_explicit(&q->next, slot, memory_order_release); /* empty, or a thief took it */
	q->next_spawned = spawned;
	return displaced && cap__runq_push(w, cap__next_thread(old)); /* the spawned one waits its turn */
}

/* The ring and the bound threads, taking turns while both have some. */
static inline struct cap_thread *cap__runq_pop_queued(struct cap_runq *q)
{
	if (CAP_LIKELY(!q->bound.head))
		return cap__ring_get(&q->ring);
	q->bound_turn = !q->bound_turn;
	struct cap_thread *t = q->bound_turn ? cap__ring_get(&q->ring) : NULL;
	return t ? t : cap__fifo_pop(&q->bound);
}

static inline struct cap_thread *cap__runq_pop(struct cap_worker *w)
{
	if (CAP_UNLIKELY(cap__policy))
		return cap__res_pop_locked();
	struct cap_runq *q = &w->runq;
	struct cap_thread *t = atomic_load_explicit(&q->next, memory_order_acquire);
	if (CAP_LIKELY(!t))
		return cap__runq_pop_queued(q);
	if (++q->next_runs >= CAP_RUNNEXT_MAX) {
		q->next_runs = 0;
		struct cap_thread *h = cap__runq_pop_queued(q);
		if (h)
			return h; /* the slot's thread runs after this one */
	}
	if (atomic_compare_exchange_strong_explicit(&q->next, &t, NULL, memory_order_acquire, memory_order_relaxed))
		return cap__next_thread(t);
	return cap__runq_pop_queued(q); /* a thief took it */
}

/* Threads queued on w (under the resource-aware policy: in the process).
 * Also read by other threads (telemetry): the bound list's length is the
 * worker's, read as it was a moment ago. */
static inline uint32_t cap__runq_len(const struct cap_worker *w)
{
	if (CAP_UNLIKELY(cap__policy))
		return cap__res_len(&cap__mn.res);
	return cap__ring_len(&w->runq.ring) + (atomic_load_explicit(&w->runq.next, memory_order_relaxed) != NULL) +
	       __atomic_load_n(&w->runq.bound.len, __ATOMIC_RELAXED);
}

#endif
