/* The run queue: the threads ready to run on one worker, in the order the
 * scheduling policy chooses.  Two implementations: a FIFO (the default)
 * and the resource-aware queues of policy.c.  Each keeps its own length;
 * callers use only the functions here.
 *
 * Inline, with the policy tested once per call, so that a switch under the
 * FIFO policy costs what a plain list push and pop cost.  Issue 14's work
 * stealing plugs in here: an idle worker takes threads from another
 * worker's `struct cap_runq` (cap__runq_steal), which then needs the lock
 * or the lock-free ring this interface hides. */
#ifndef CAP_RUNQ_H
#define CAP_RUNQ_H

#include "internal.h"

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

/* policy.c: the resource-aware implementation. */
void cap__res_push(struct cap_runq_res *q, struct cap_thread *t);
struct cap_thread *cap__res_pop(struct cap_runq_res *q);
void cap__res_hold(struct cap_runq_res *q, struct cap_thread *t); /* to the back, whatever its point */
static inline uint32_t cap__res_len(const struct cap_runq_res *q)
{
	return q->favoured.len + q->normal.len + q->held.len;
}

static inline void cap__runq_push(struct cap_runq *q, struct cap_thread *t)
{
	if (CAP_UNLIKELY(cap__policy))
		cap__res_push(&q->res, t);
	else
		cap__fifo_push(&q->fifo, t);
}

/* "Run next" (Go's runnext, Tokio's LIFO slot): a thread woken by the
 * running thread (a mutex handed over, a condition signalled, a semaphore
 * posted, a join) runs as soon as the waker stops, not after every
 * runnable thread: its data is still in the cache, and a thread the
 * program waits on (the pool server's acceptor, issue 14) is not stuck
 * behind a long queue.  One slot: a second wake while it is full goes to
 * the queue, so wakes still run in the order they were made.  Bounded:
 * every CAP_RUNNEXT_MAX-th dispatch from the slot lets the queue's head
 * go first, so two threads waking each other cannot starve the queue.
 * Under the resource-aware policy the slot is not used: its queues'
 * order is the policy. */
#define CAP_RUNNEXT_MAX 64

static inline void cap__runq_push_next(struct cap_runq *q, struct cap_thread *t)
{
	if (CAP_UNLIKELY(cap__policy) || q->next)
		cap__runq_push(q, t);
	else
		q->next = t;
}

static inline struct cap_thread *cap__runq_pop(struct cap_runq *q)
{
	if (CAP_UNLIKELY(cap__policy))
		return cap__res_pop(&q->res);
	struct cap_thread *t = q->next;
	if (CAP_LIKELY(!t))
		return cap__fifo_pop(&q->fifo);
	if (++q->next_runs >= CAP_RUNNEXT_MAX) {
		q->next_runs = 0;
		struct cap_thread *h = cap__fifo_pop(&q->fifo);
		if (h)
			return h; /* the slot's thread runs after this one */
	}
	q->next = NULL;
	return t;
}

/* The FIFO's length is read before the policy is tested: under the
 * resource-aware policy (chosen before any thread runs) the FIFO and the
 * run-next slot stay empty, so a yield with someone to run pays one load and one branch. */
static inline uint32_t cap__runq_len(const struct cap_runq *q)
{
	uint32_t n = q->fifo.len + (q->next != NULL);
	if (n || CAP_LIKELY(!cap__policy))
		return n;
	return cap__res_len(&q->res);
}

#endif
