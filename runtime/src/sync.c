/* Synchronisation between user threads: wait queues and what is built on
 * them.  Each operation runs under cap__mn.lock (mn.h), so a check and the
 * wait that follows it are one step for every worker; a wait releases the
 * lock only once the thread is parked (cap__block).  Waking is FIFO, and
 * locks hand ownership straight to the woken waiter so a thread that just
 * released cannot barge back in ahead of it. */
#include "internal.h"
#include "mn.h"
#include "syncprof.h"

#include <errno.h>

static inline struct cap_thread *cap__me(const char *what)
{
	struct cap_worker *w = cap__w;
	if (CAP_UNLIKELY(!w || w->current == &w->sched))
		cap__fatal_misuse(what);
	return w->current;
}

#define CAP_ME() cap__me("capriccio: synchronisation call outside a user thread (from a kernel thread the runtime does not own, or before/after main)")

/* The lock for one operation: taken, and released with the wakes it made. */
#define LOCK() cap__mn_lock()
#define UNLOCK() cap__mn_unlock(cap__w)

/* cap__block reports -errno (internal.h); these functions return +errno,
 * and those whose result is the wait's end in cap__block_public. */

/* ---- Wait queues -------------------------------------------------------- */

int cap_waitq_wait(cap_waitq_t *q, uint64_t deadline_ns)
{
	CAP_ME();
	LOCK();
	return cap__block_public(q, deadline_ns, CAP_WAIT_QUEUE, q);
}

int cap_waitq_wake_one(cap_waitq_t *q)
{
	LOCK();
	cap__waking(CAP_CALLER());
	bool woke = cap__wake_one(q, 0) != NULL;
	cap__waking(0);
	return cap__mn_unlock_ret(woke);
}

int cap_waitq_wake_all(cap_waitq_t *q)
{
	int n = 0;
	LOCK();
	cap__waking(CAP_CALLER());
	while (q->head) {
		cap__wake(q->head, 0);
		n++;
	}
	cap__waking(0);
	return cap__mn_unlock_ret(n);
}

/* ---- Mutex -------------------------------------------------------------- */

static int cap__mutex_lock_at(cap_mutex_t *m, uint64_t deadline_ns, uintptr_t site)
{
	struct cap_thread *me = CAP_ME();
	struct cap_thread *owner = __atomic_load_n(&m->owner, __ATOMIC_RELAXED);
	struct cap_graph_prep p; /* held by another: the wait is likely */
	const struct cap_graph_prep *prep = owner && owner != me ? cap__sync_prepare(&p, me, CAP_WAIT_MUTEX) : NULL;
	LOCK();
	if (CAP_LIKELY(!m->owner)) {
		m->owner = me;
		cap__lock_acquired(m->prof, m, me, site);
		return cap__mn_unlock_ret(0);
	}
	if (m->owner == me)
		return cap__mn_unlock_ret(EDEADLK);
	cap__lock_contended(&m->prof, m);
	int r = -cap__block_prepared(&m->waiters, deadline_ns, CAP_WAIT_MUTEX, m, prep); /* 0: the unlocker made us the owner */
	if (r == 0)
		cap__lock_acquired_woken(m->prof, m, me, site);
	return r;
}

int cap_mutex_timedlock(cap_mutex_t *m, uint64_t deadline_ns) { return cap__mutex_lock_at(m, deadline_ns, CAP_CALLER()); }
int cap_mutex_lock(cap_mutex_t *m) { return cap__mutex_lock_at(m, 0, CAP_CALLER()); }

int cap_mutex_trylock(cap_mutex_t *m)
{
	struct cap_thread *me = CAP_ME();
	LOCK();
	if (m->owner)
		return cap__mn_unlock_ret(EBUSY);
	m->owner = me;
	cap__lock_acquired(m->prof, m, me, CAP_CALLER());
	return cap__mn_unlock_ret(0);
}

/* Under the lock; released at `site`. */
static int cap__mutex_release(cap_mutex_t *m, uintptr_t site)
{
	if (m->owner != cap__current())
		return EPERM;
	struct cap_release r;
	cap__release_begin(&r, m->prof, m, site);
	m->owner = cap__wake_one(&m->waiters, 0);
	cap__release_handed(&r, m->owner);
	cap__release_end(&r);
	return 0;
}

int cap_mutex_unlock(cap_mutex_t *m)
{
	struct cap_telemetry *T = cap__wakes_stamp();
	LOCK();
	return cap__wakes_unstamp(T, cap__mn_unlock_ret(cap__mutex_release(m, CAP_CALLER())));
}

/* ---- Condition variable ------------------------------------------------- */

static int cap__cond_wait_at(cap_cond_t *c, cap_mutex_t *m, uint64_t deadline_ns, uintptr_t site)
{
	struct cap_thread *me = CAP_ME();
	struct cap_graph_prep p;
	const struct cap_graph_prep *prep = cap__sync_prepare(&p, me, CAP_WAIT_COND);
	LOCK();
	if (m->owner != me)
		return cap__mn_unlock_ret(EPERM);
	struct cap_telemetry *T = cap__wakes_stamp_at(prep);
	cap__mutex_release(m, site);
	cap__wakes_unstamp(T, 0);
	int r = -cap__block_prepared(&c->waiters, deadline_ns, CAP_WAIT_COND, c, prep);
	while (cap__mutex_lock_at(m, 0, site) != 0) {
	}
	return r;
}

int cap_cond_timedwait(cap_cond_t *c, cap_mutex_t *m, uint64_t deadline_ns) { return cap__cond_wait_at(c, m, deadline_ns, CAP_CALLER()); }
int cap_cond_wait(cap_cond_t *c, cap_mutex_t *m) { return cap__cond_wait_at(c, m, 0, CAP_CALLER()); }

int cap_cond_signal(cap_cond_t *c)
{
	struct cap_telemetry *T = cap__wakes_stamp();
	LOCK();
	cap__waking(CAP_CALLER());
	cap__wake_one(&c->waiters, 0);
	cap__waking(0);
	return cap__wakes_unstamp(T, cap__mn_unlock_ret(0));
}

int cap_cond_broadcast(cap_cond_t *c)
{
	struct cap_telemetry *T = cap__wakes_stamp();
	LOCK();
	cap__waking(CAP_CALLER());
	cap__wake_all(&c->waiters, 0);
	cap__waking(0);
	return cap__wakes_unstamp(T, cap__mn_unlock_ret(0));
}

/* ---- Semaphore ---------------------------------------------------------- */

void cap_sem_init(cap_sem_t *s, uint64_t count)
{
	s->count = count;
	s->waiters.head = s->waiters.tail = NULL;
	s->lock = s->prof = 0;
}

int cap__sem_timedwait_at(cap_sem_t *s, uint64_t deadline_ns, uintptr_t site)
{
	struct cap_thread *me = CAP_ME();
	struct cap_graph_prep p; /* no unit left: the wait is likely */
	const struct cap_graph_prep *prep = __atomic_load_n(&s->count, __ATOMIC_RELAXED) == 0 ? cap__sync_prepare(&p, me, CAP_WAIT_SEM) : NULL;
	LOCK();
	if (s->count > 0) {
		s->count--;
		cap__lock_acquired(s->prof, s, me, site);
		return cap__mn_unlock_ret(0);
	}
	cap__lock_contended(&s->prof, s);
	int r = -cap__block_prepared(&s->waiters, deadline_ns, CAP_WAIT_SEM, s, prep); /* 0: the poster handed us its unit */
	if (r == 0)
		cap__lock_acquired_woken(s->prof, s, me, site);
	return r;
}

int cap_sem_timedwait(cap_sem_t *s, uint64_t deadline_ns) { return cap__sem_timedwait_at(s, deadline_ns, CAP_CALLER()); }
int cap_sem_wait(cap_sem_t *s) { return cap__sem_timedwait_at(s, 0, CAP_CALLER()); }

int cap__sem_trywait_at(cap_sem_t *s, uintptr_t site)
{
	LOCK();
	if (s->count == 0)
		return cap__mn_unlock_ret(EAGAIN);
	s->count--;
	cap__lock_acquired(s->prof, s, cap__current(), site);
	return cap__mn_unlock_ret(0);
}

int cap_sem_trywait(cap_sem_t *s) { return cap__sem_trywait_at(s, CAP_CALLER()); }

int cap__sem_post_at(cap_sem_t *s, uintptr_t site)
{
	struct cap_telemetry *T = cap__wakes_stamp();
	LOCK();
	struct cap_release r;
	cap__release_begin(&r, s->prof, s, site);
	struct cap_thread *t = cap__wake_one(&s->waiters, 0);
	cap__release_handed(&r, t);
	cap__release_end(&r);
	if (!t)
		s->count++;
	return cap__wakes_unstamp(T, cap__mn_unlock_ret(0));
}

int cap_sem_post(cap_sem_t *s) { return cap__sem_post_at(s, CAP_CALLER()); }

/* ---- Readers-writer lock ------------------------------------------------ */

/* Under the lock: a writer, else every reader waiting, if the lock is free,
 * each handed it by the release r (NULL: no release). */
static void cap__rw_grant(cap_rwlock_t *l, const struct cap_release *r)
{
	if (l->writer || l->readers)
		return;
	if (l->wq.head) {
		l->writers_waiting--;
		l->writer = cap__wake_one(&l->wq, 0);
		if (r)
			cap__release_handed(r, l->writer);
		return;
	}
	while (l->rq.head) {
		struct cap_thread *t = l->rq.head;
		l->readers++;
		cap__wake(t, 0);
		if (r)
			cap__release_handed(r, t);
	}
}

int cap__rwlock_lock_at(cap_rwlock_t *l, bool wr, uint64_t deadline_ns, uintptr_t site)
{
	struct cap_thread *me = CAP_ME();
	LOCK();
	if (!wr && !l->writer && !l->writers_waiting) {
		l->readers++;
		cap__lock_acquired(l->prof, l, me, site);
		return cap__mn_unlock_ret(0);
	}
	if (wr && !l->writer && !l->readers) {
		l->writer = me;
		cap__lock_acquired(l->prof, l, me, site);
		return cap__mn_unlock_ret(0);
	}
	if (wr && l->writer == me)
		return cap__mn_unlock_ret(EDEADLK);
	cap__lock_contended(&l->prof, l);
	if (!wr) {
		int r = cap__block_public(&l->rq, deadline_ns, CAP_WAIT_RWLOCK, l);
		if (r == 0)
			cap__lock_acquired_woken(l->prof, l, me, site);
		return r;
	}
	l->writers_waiting++;
	int r = -cap__block(&l->wq, deadline_ns, CAP_WAIT_RWLOCK, l);
	if (r != 0) {
		/* Timed out: readers held back for us may go now. */
		LOCK();
		l->writers_waiting--;
		if (!l->writer && !l->writers_waiting)
			cap__rw_grant(l, NULL);
		UNLOCK();
	} else {
		cap__lock_acquired_woken(l->prof, l, me, site);
	}
	return r;
}

int cap_rwlock_rdlock(cap_rwlock_t *l, uint64_t deadline_ns) { return cap__rwlock_lock_at(l, false, deadline_ns, CAP_CALLER()); }
int cap_rwlock_wrlock(cap_rwlock_t *l, uint64_t deadline_ns) { return cap__rwlock_lock_at(l, true, deadline_ns, CAP_CALLER()); }

int cap__rwlock_trylock_at(cap_rwlock_t *l, bool wr, uintptr_t site)
{
	struct cap_thread *me = CAP_ME();
	LOCK();
	if (l->writer || (wr ? l->readers : l->writers_waiting))
		return cap__mn_unlock_ret(EBUSY);
	if (wr)
		l->writer = me;
	else
		l->readers++;
	cap__lock_acquired(l->prof, l, me, site);
	return cap__mn_unlock_ret(0);
}

int cap_rwlock_tryrdlock(cap_rwlock_t *l) { return cap__rwlock_trylock_at(l, false, CAP_CALLER()); }
int cap_rwlock_trywrlock(cap_rwlock_t *l) { return cap__rwlock_trylock_at(l, true, CAP_CALLER()); }

int cap__rwlock_unlock_at(cap_rwlock_t *l, uintptr_t site)
{
	struct cap_thread *me = CAP_ME();
	LOCK();
	if (l->writer) {
		if (l->writer != me)
			return cap__mn_unlock_ret(EPERM);
		l->writer = NULL;
	} else if (l->readers) {
		l->readers--;
	} else {
		return cap__mn_unlock_ret(EPERM);
	}
	struct cap_release r;
	cap__release_begin(&r, l->prof, l, site);
	cap__rw_grant(l, &r);
	cap__release_end(&r);
	return cap__mn_unlock_ret(0);
}

int cap_rwlock_unlock(cap_rwlock_t *l) { return cap__rwlock_unlock_at(l, CAP_CALLER()); }

/* ---- Channel ------------------------------------------------------------ */

void cap_chan_init(cap_chan_t *c, void **ring, size_t capacity)
{
	c->ring = ring;
	c->capacity = capacity;
	c->head = c->count = 0;
	c->closed = 0;
	c->lock = 0;
	c->senders.head = c->senders.tail = NULL;
	c->receivers.head = c->receivers.tail = NULL;
}

int cap_chan_send(cap_chan_t *c, void *item, uint64_t deadline_ns)
{
	CAP_ME();
	if (!c->capacity)
		return EINVAL;
	LOCK();
	while (c->count == c->capacity && !c->closed) {
		int r = -cap__block(&c->senders, deadline_ns, CAP_WAIT_CHAN, c);
		if (r)
			return r;
		LOCK();
	}
	if (c->closed)
		return cap__mn_unlock_ret(EPIPE);
	c->ring[(c->head + c->count) % c->capacity] = item;
	c->count++;
	cap__waking(CAP_CALLER());
	cap__wake_one(&c->receivers, 0);
	cap__waking(0);
	return cap__mn_unlock_ret(0);
}

int cap_chan_recv(cap_chan_t *c, void **item, uint64_t deadline_ns)
{
	CAP_ME();
	LOCK();
	while (c->count == 0 && !c->closed) {
		int r = -cap__block(&c->receivers, deadline_ns, CAP_WAIT_CHAN, c);
		if (r)
			return r;
		LOCK();
	}
	if (c->count == 0)
		return cap__mn_unlock_ret(EPIPE);
	*item = c->ring[c->head];
	c->head = (c->head + 1) % c->capacity;
	c->count--;
	cap__waking(CAP_CALLER());
	cap__wake_one(&c->senders, 0);
	cap__waking(0);
	return cap__mn_unlock_ret(0);
}

void cap_chan_close(cap_chan_t *c)
{
	LOCK();
	c->closed = 1;
	cap__wake_all(&c->senders, 0);
	cap__wake_all(&c->receivers, 0);
	UNLOCK();
}
