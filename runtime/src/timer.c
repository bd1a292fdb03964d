/* Timers: sleeping and timed-out waiters in a binary min-heap on their
 * deadline.  Insertion and removal are O(log n); the idle loop reads the
 * earliest deadline in O(1).  The heap array grows with mremap, so no libc
 * call runs on a thread stack. */
#include "internal.h"
#include "mn.h"

#include <errno.h>
#include <sys/mman.h>

static int cap__heap_grow(struct cap_heap *h)
{
	size_t ncap = h->cap ? (size_t)h->cap * 2 : 4096;
	size_t nbytes = (ncap + 1) * sizeof(h->v[0]);
	long p;
	if (!h->v)
		p = cap_sys6(SYS_mmap, 0, nbytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	else
		p = cap_sys4(SYS_mremap, h->v, ((size_t)h->cap + 1) * sizeof(h->v[0]), nbytes, MREMAP_MAYMOVE);
	if (p < 0 && p > -4096)
		return (int)-p;
	h->v = (struct cap_thread **)p;
	h->cap = (uint32_t)ncap;
	return 0;
}

static inline void cap__heap_set(struct cap_heap *h, uint32_t i, struct cap_thread *t)
{
	h->v[i] = t;
	t->heap_idx = i;
}

static void cap__sift_up(struct cap_heap *h, uint32_t i)
{
	struct cap_thread *t = h->v[i];
	while (i > 1) {
		struct cap_thread *p = h->v[i / 2];
		if (p->wake_ns <= t->wake_ns)
			break;
		cap__heap_set(h, i, p);
		i /= 2;
	}
	cap__heap_set(h, i, t);
}

static void cap__sift_down(struct cap_heap *h, uint32_t i)
{
	struct cap_thread *t = h->v[i];
	for (;;) {
		uint32_t c = i * 2;
		if (c > h->n)
			break;
		if (c + 1 <= h->n && h->v[c + 1]->wake_ns < h->v[c]->wake_ns)
			c++;
		if (t->wake_ns <= h->v[c]->wake_ns)
			break;
		cap__heap_set(h, i, h->v[c]);
		i = c;
	}
	cap__heap_set(h, i, t);
}

/* The heap is the process's (cap__mn.timers), under cap__mn.lock: a
 * thread's deadline is touched once per timed wait, never per switch. */
void cap__timer_add(struct cap_worker *w, struct cap_thread *t)
{
	cap__mn_check_held();
	struct cap_heap *h = &cap__mn.timers;
	if (h->n + 1 >= h->cap && cap__heap_grow(h) != 0)
		cap__fatal_misuse("capriccio: out of memory for the timer heap");
	h->n++;
	cap__heap_set(h, h->n, t);
	cap__sift_up(h, h->n);
	if (!atomic_load_explicit(&cap__mn.poller, memory_order_relaxed)) {
		if (w)
			w->wakep = cap__mn.n > 1; /* nobody polls: a parked worker should */
	} else if (t->wake_ns < atomic_load_explicit(&cap__mn.poll_until, memory_order_relaxed)) {
		cap__mn_kick(); /* the poller waits for a later deadline */
	}
}

void cap__timer_del(struct cap_worker *w, struct cap_thread *t)
{
	(void)w;
	struct cap_heap *h = &cap__mn.timers;
	uint32_t i = t->heap_idx;
	t->heap_idx = 0;
	struct cap_thread *last = h->v[h->n--];
	if (i > h->n)
		return; /* it was the last one */
	cap__heap_set(h, i, last);
	if (i > 1 && h->v[i / 2]->wake_ns > last->wake_ns)
		cap__sift_up(h, i);
	else
		cap__sift_down(h, i);
}

uint64_t cap__timer_next(struct cap_worker *w)
{
	(void)w;
	return cap__mn.timers.n ? cap__mn.timers.v[1]->wake_ns : 0;
}

/* Wakes the threads whose deadline has passed, under cap__mn.lock. */
void cap__timer_release_due_locked(uint64_t now)
{
	struct cap_heap *h = &cap__mn.timers;
	while (h->n && h->v[1]->wake_ns <= now)
		cap__wake(h->v[1], -ETIMEDOUT);
}

/* The same, taking cap__mn.lock (its caller does not hold it). */
void cap__timer_release_due(struct cap_worker *w, uint64_t now)
{
	if (!cap__mn.timers.n)
		return;
	cap__mn_lock();
	cap__timer_release_due_locked(now);
	cap__mn_unlock(w);
}

/* Through a pointer: see sys.h. */
#include <time.h>
static int (*volatile cap__clock_gettime)(clockid_t, struct timespec *) = clock_gettime;

uint64_t cap__clock_ns(int clock)
{
	struct timespec ts;
	cap__clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t cap__mono_ns(void) { return cap__clock_ns(CLOCK_MONOTONIC); }
uint64_t cap__real_ns(void) { return cap__clock_ns(CLOCK_REALTIME); }
