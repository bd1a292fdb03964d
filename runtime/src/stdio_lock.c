/* Stream locks among user threads (stdio_lock.h).
 *
 * A lock exists only while some thread holds it: a record in a small hash
 * table keyed by the FILE's address, with its owner, a recursion depth and
 * the threads parked waiting for it.  Unlocking hands the lock straight to
 * the first waiter (FIFO), like the runtime's mutexes.  The table and the
 * records are under cap__mn.lock (mn.h), as every wait queue is. */
#include "stdio_lock.h"
#include "mn.h"

#include <errno.h>
#include <sys/mman.h>

struct cap_flock {
	const void *file;
	struct cap_thread *owner;
	uint32_t depth;
	struct cap_waitq waiters;
	struct cap_flock *next; /* bucket chain, or the free list */
};

#define CAP_FLOCK_BUCKETS 64

uint32_t cap__files_held;
static struct cap_flock *cap__flock_table[CAP_FLOCK_BUCKETS];
static struct cap_flock *cap__flock_free;

static inline struct cap_flock **cap__flock_bucket(const void *file)
{
	uintptr_t a = (uintptr_t)file;
	return &cap__flock_table[((a >> 4) ^ (a >> 10)) & (CAP_FLOCK_BUCKETS - 1)];
}

static struct cap_flock *cap__flock_find(const void *file)
{
	for (struct cap_flock *l = *cap__flock_bucket(file); l; l = l->next)
		if (l->file == file)
			return l;
	return NULL;
}

static struct cap_thread *cap__flock_me(void)
{
	struct cap_worker *w = cap__w;
	if (CAP_UNLIKELY(!w || w->current == &w->sched))
		cap__fatal_misuse("capriccio: stdio stream lock taken outside a user thread");
	return w->current;
}

/* Records come from pages of their own: no malloc in split-stack code. */
static struct cap_flock *cap__flock_new(const void *file, struct cap_thread *owner)
{
	if (!cap__flock_free) {
		long p = cap_sys6(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p < 0 && p > -4096)
			cap__fatal_misuse("capriccio: out of memory for stdio stream locks");
		struct cap_flock *v = (struct cap_flock *)p;
		for (size_t i = 0; i < 4096 / sizeof *v; i++) {
			v[i].next = cap__flock_free;
			cap__flock_free = &v[i];
		}
	}
	struct cap_flock *l = cap__flock_free, **b = cap__flock_bucket(file);
	cap__flock_free = l->next;
	l->file = file;
	l->owner = owner;
	l->depth = 1;
	l->waiters.head = l->waiters.tail = NULL;
	l->next = *b;
	*b = l;
	cap__files_held++;
	return l;
}

static void cap__flock_release(struct cap_flock *l)
{
	if (--l->depth)
		return;
	struct cap_thread *next = cap__wake_one(&l->waiters, 0);
	if (next) { /* handed over: it wakes owning the lock */
		l->owner = next;
		l->depth = 1;
		return;
	}
	struct cap_flock **p = cap__flock_bucket(l->file);
	while (*p != l)
		p = &(*p)->next;
	*p = l->next;
	l->next = cap__flock_free;
	cap__flock_free = l;
	cap__files_held--;
}

/* Park until the holder hands the lock over (releases cap__mn.lock). */
static void cap__flock_wait(struct cap_flock *l)
{
	cap__block(&l->waiters, 0, CAP_WAIT_MUTEX, l->file); /* not interrupted by signals */
}

void cap__file_wait(struct cap_file_hold *h)
{
	struct cap_thread *me = cap__flock_me();
	cap__mn_lock();
	struct cap_flock *l = cap__flock_find(h->file);
	if (!l || l->owner == me) {
		cap__mn_unlock(cap__w);
		return;
	}
	cap__flock_wait(l);
	h->took = true;
}

bool cap__file_hold(struct cap_file_hold *h)
{
	if (h->took)
		return false;
	struct cap_thread *me = cap__flock_me();
	cap__mn_lock();
	struct cap_flock *l = cap__flock_find(h->file);
	if (l && l->owner == me) {
		cap__mn_unlock(cap__w);
		return false; /* held around us (flockfile, or an outer operation) */
	}
	h->took = true;
	if (l) { /* another thread holds it (one on another worker: since cap__file_wait looked) */
		cap__flock_wait(l);
		return true;
	}
	cap__flock_new(h->file, me);
	cap__mn_unlock(cap__w);
	return false;
}

void cap__file_release(struct cap_file_hold *h)
{
	h->took = false;
	cap__mn_lock();
	cap__flock_release(cap__flock_find(h->file));
	cap__mn_unlock(cap__w);
}

int cap__file_lock(const void *file, bool try)
{
	struct cap_thread *me = cap__flock_me();
	cap__mn_lock();
	struct cap_flock *l = cap__flock_find(file);
	if (!l) {
		cap__flock_new(file, me);
		cap__mn_unlock(cap__w);
		return 0;
	}
	if (l->owner == me) {
		l->depth++;
		cap__mn_unlock(cap__w);
		return 0;
	}
	if (try) {
		cap__mn_unlock(cap__w);
		return -EBUSY;
	}
	cap__flock_wait(l);
	return 0;
}

void cap__file_unlock(const void *file)
{
	cap__mn_lock();
	struct cap_flock *l = cap__flock_find(file);
	if (l && l->owner == cap__current()) /* glibc leaves unlocking by another thread undefined */
		cap__flock_release(l);
	cap__mn_unlock(cap__w);
}
