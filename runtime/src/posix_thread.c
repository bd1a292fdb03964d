/* The pthread shim: POSIX threads as Capriccio user threads.
 *
 * The program's pthread_mutex_t, pthread_cond_t, ... keep glibc's sizes and
 * static initialisers (all zeros; the mutex kind sits where glibc's
 * PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP puts it), and hold the runtime's
 * objects inside.  pthread_t is the cap_thread pointer.
 *
 * Outside any user thread (constructors, atexit handlers) the calls still
 * work as long as they need not block: an uncontended lock succeeds, a
 * contended one is reported. */
#include "internal.h"
#include "io.h"
#include "sigstate.h"
#include "mn.h"
#include "syncprof.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <time.h>

/* The context that calls in from outside any user thread. */
static struct cap_thread cap__outside;

static inline struct cap_thread *cap__me_or_outside(void)
{
	struct cap_worker *w = cap__w;
	return (w && w->current != &w->sched) ? w->current : &cap__outside;
}

static inline bool cap__outside_now(void) { return cap__me_or_outside() == &cap__outside; }

static _Noreturn void cap__cannot_block(const char *what)
{
	(void)what;
	cap__fatal_misuse("capriccio: a pthread call had to wait outside any user thread (in a constructor, an atexit "
			  "handler or a kernel thread the runtime does not own), where nothing else can run");
}

/* Absolute timespec on `clock` -> deadline on the monotonic clock. */
static uint64_t cap__abs_deadline(const struct timespec *ts, clockid_t clock)
{
	uint64_t want = (uint64_t)ts->tv_sec * 1000000000u + (uint64_t)ts->tv_nsec;
	uint64_t now = cap__mono_ns();
	uint64_t base = clock == CLOCK_MONOTONIC ? now : cap__real_ns();
	if ((int64_t)ts->tv_sec < 0 || want <= base)
		return now ? now : 1; /* already passed: a deadline of "now" */
	return now + (want - base);
}

static bool cap__bad_ts(const struct timespec *ts) { return !ts || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L; }

/* ---- Threads ------------------------------------------------------------ */

struct cap_pattr {
	uint32_t magic;
	int detach;
	size_t stacksize;
	size_t guardsize;
};
#define CAP_ATTR_MAGIC 0x43415041u
_Static_assert(sizeof(struct cap_pattr) <= sizeof(pthread_attr_t), "pthread_attr_t too small");

int pthread_attr_init(pthread_attr_t *a)
{
	struct cap_pattr *p = (struct cap_pattr *)a;
	p->magic = CAP_ATTR_MAGIC;
	p->detach = PTHREAD_CREATE_JOINABLE;
	p->stacksize = 0;
	p->guardsize = 4096;
	return 0;
}
int pthread_attr_destroy(pthread_attr_t *a)
{
	((struct cap_pattr *)a)->magic = 0;
	return 0;
}
int pthread_attr_setdetachstate(pthread_attr_t *a, int s)
{
	if (s != PTHREAD_CREATE_JOINABLE && s != PTHREAD_CREATE_DETACHED)
		return EINVAL;
	((struct cap_pattr *)a)->detach = s;
	return 0;
}
int pthread_attr_getdetachstate(const pthread_attr_t *a, int *s)
{
	*s = ((const struct cap_pattr *)a)->detach;
	return 0;
}
int pthread_attr_setstacksize(pthread_attr_t *a, size_t n)
{
	/* Below glibc's PTHREAD_STACK_MIN on purpose: in split mode a small size
	 * is a first chunk (see pthread_create), and the smallest is 2.5 KiB. */
	if (n < CAP_MIN_CHUNK)
		return EINVAL;
	((struct cap_pattr *)a)->stacksize = n;
	return 0;
}
int pthread_attr_getstacksize(const pthread_attr_t *a, size_t *n)
{
	size_t s = ((const struct cap_pattr *)a)->stacksize;
	extern size_t cap__default_fixed;
	*n = s ? s : cap__default_fixed;
	return 0;
}
int pthread_attr_setguardsize(pthread_attr_t *a, size_t n)
{
	((struct cap_pattr *)a)->guardsize = n;
	return 0;
}
int pthread_attr_getguardsize(const pthread_attr_t *a, size_t *n)
{
	*n = ((const struct cap_pattr *)a)->guardsize;
	return 0;
}
int pthread_attr_setscope(pthread_attr_t *a, int s)
{
	(void)a;
	return s == PTHREAD_SCOPE_SYSTEM || s == PTHREAD_SCOPE_PROCESS ? 0 : EINVAL;
}
int pthread_attr_getscope(const pthread_attr_t *a, int *s)
{
	(void)a;
	*s = PTHREAD_SCOPE_PROCESS;
	return 0;
}
int pthread_attr_setstack(pthread_attr_t *a, void *addr, size_t n)
{
	(void)a, (void)addr, (void)n;
	return ENOTSUP; /* stacks are the runtime's: chunks or pooled fixed stacks */
}

int pthread_create(pthread_t *out, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	const struct cap_pattr *p = (const struct cap_pattr *)attr;
	if (p && p->magic != CAP_ATTR_MAGIC)
		return EINVAL;
	extern int cap__stack_mode;
	cap_spawn_opts_t o = { 0 };
	o.detached = p && p->detach == PTHREAD_CREATE_DETACHED;
	/* A requested stack size sizes a fixed stack.  Split stacks grow anyway:
	 * there a size up to CAP_MAX_FIRST_CHUNK is taken as the first chunk (how
	 * a program sets the chunk Capriccio suggests for a spawn site), and a
	 * larger one, which would only waste memory, is ignored. */
	bool fixed = cap__stack_mode == CAP_STACK_FIXED;
	/* A start routine without split stacks (a prebuilt library's thread
	 * pool) cannot link chunks: on a first chunk it would run off the end.
	 * It gets a fixed stack, as in fixed mode. */
	if (!fixed && !cap__code_is_split((const void *)fn)) {
		fixed = true;
		o.stack_mode = CAP_STACK_FIXED;
	}
	if (p && p->stacksize) {
		if (fixed)
			o.stack_size = p->stacksize < 16384 ? 16384 : p->stacksize;
		else if (p->stacksize <= CAP_MAX_FIRST_CHUNK)
			o.stack_size = p->stacksize;
	}
	int saved = *cap__errno();
	struct cap_thread *t = cap__spawn_prepare(fn, arg, &o, __builtin_return_address(0));
	int err = t ? 0 : *cap__errno();
	*cap__errno() = saved;
	if (!t)
		return err == ENOMEM ? EAGAIN : err;
	*out = (pthread_t)t; /* as glibc: before the thread can run, which may read it */
	cap__spawn_start(t);
	return 0;
}

/* gcc links -fsplit-stack programs with --wrap=pthread_create so libgcc can
 * set up split stacks for new kernel threads; ours are user threads that
 * the scheduler sets up, so the program's calls must reach us directly. */
int __wrap_pthread_create(pthread_t *out, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
	__attribute__((alias("pthread_create"), nonnull(1, 3), nothrow));

int pthread_join(pthread_t t, void **ret)
{
	if (cap__outside_now())
		cap__cannot_block("pthread_join");
	return cap_join((cap_thread_t *)t, ret);
}
/* glibc's _np joins read a thread structure of its own: ours are needed. */
int pthread_tryjoin_np(pthread_t t, void **ret)
{
	if (cap__outside_now())
		cap__cannot_block("pthread_tryjoin_np");
	return -cap__join((struct cap_thread *)t, ret, CAP_JOIN_TRY);
}
int pthread_clockjoin_np(pthread_t t, void **ret, clockid_t clock, const struct timespec *abstime)
{
	if (cap__outside_now())
		cap__cannot_block("pthread_clockjoin_np");
	if (clock != CLOCK_MONOTONIC && clock != CLOCK_REALTIME)
		return EINVAL;
	/* As glibc: no time, or one its futex refuses (nanoseconds out of
	 * range), is no limit: the join waits for the end. */
	if (cap__bad_ts(abstime))
		return -cap__join((struct cap_thread *)t, ret, 0);
	return -cap__join((struct cap_thread *)t, ret, cap__abs_deadline(abstime, clock));
}
int pthread_timedjoin_np(pthread_t t, void **ret, const struct timespec *abstime)
{
	return pthread_clockjoin_np(t, ret, CLOCK_REALTIME, abstime);
}
int pthread_detach(pthread_t t) { return cap_detach((cap_thread_t *)t); }
pthread_t pthread_self(void) { return (pthread_t)cap__me_or_outside(); }
int pthread_equal(pthread_t a, pthread_t b) { return a == b; }

_Noreturn void pthread_exit(void *ret)
{
	if (cap__outside_now())
		cap__fatal_misuse("capriccio: pthread_exit outside any user thread");
	cap_exit(ret);
}

int sched_yield(void)
{
	if (cap__outside_now())
		return (int)cap_sys0(SYS_sched_yield);
	cap_yield();
	return 0;
}

int pthread_setname_np(pthread_t t, const char *name)
{
	size_t n = 0;
	while (name[n])
		n++;
	if (n > 15)
		return ERANGE; /* glibc's limit, kept for compatibility */
	if ((struct cap_thread *)t != &cap__outside)
		cap_set_name((cap_thread_t *)t, name);
	return 0;
}
int pthread_getname_np(pthread_t t, char *buf, size_t len)
{
	const char *n = cap_name((cap_thread_t *)t);
	size_t k = 0;
	while (n[k])
		k++;
	if (k + 1 > len)
		return ERANGE;
	cap__strlcpy(buf, n, len);
	return 0;
}

int pthread_kill(pthread_t t, int sig)
{
	struct cap_thread *th = (struct cap_thread *)t;
	if (th != &cap__outside && th->state == CAP_DONE)
		return ESRCH;
	if (sig < 0 || sig > CAP_NSIG || sig == 32 || sig == 33) /* glibc's own two are not the program's */
		return EINVAL;
	if (sig == 0)
		return 0;
	/* Between user threads the runtime delivers it (sigmask.c); from a
	 * handler it can only ask the kernel, naming the target. */
	if (th != &cap__outside && cap__can_park())
		return cap__sig_send(th, sig);
	struct cap_worker *w = cap__w;
	if (th != &cap__outside && w)
		atomic_store(&w->sig.target, th); /* the handler on this worker attributes the run to th */
	long r = cap_sys3(SYS_tgkill, cap_sys0(SYS_getpid), cap_sys0(SYS_gettid), sig);
	return r < 0 ? (int)-r : 0;
}

int raise(int sig)
{
	int e = pthread_kill(pthread_self(), sig);
	if (e) {
		cap__set_errno(e);
		return -1;
	}
	return 0;
}
int gsignal(int sig) __attribute__((alias("raise")));

/* No asynchronous cancellation: a thread only ever stops where it chooses. */
int pthread_setcancelstate(int s, int *old)
{
	if (old)
		*old = PTHREAD_CANCEL_ENABLE;
	return s == PTHREAD_CANCEL_ENABLE || s == PTHREAD_CANCEL_DISABLE ? 0 : EINVAL;
}
int pthread_setcanceltype(int ty, int *old)
{
	if (old)
		*old = PTHREAD_CANCEL_DEFERRED;
	return ty == PTHREAD_CANCEL_DEFERRED || ty == PTHREAD_CANCEL_ASYNCHRONOUS ? 0 : EINVAL;
}
int pthread_cancel(pthread_t t)
{
	(void)t;
	return ENOTSUP;
}
void pthread_testcancel(void) {}

/* ---- Mutexes ------------------------------------------------------------ */

/* The lock word (capriccio.h, "Lock word") sits where every glibc
 * initialiser puts a zero, so static mutexes start unlocked. */
struct cap_pmutex {
	struct cap_thread *owner;
	uint32_t count; /* recursion depth */
	uint32_t lock;
	int kind; /* at glibc's __kind offset */
	uint32_t prof; /* syncprof.h: its slot, once a thread waited for it with telemetry on */
	cap_waitq_t waiters;
};
_Static_assert(sizeof(struct cap_pmutex) <= sizeof(pthread_mutex_t), "pthread_mutex_t too small");
_Static_assert(offsetof(struct cap_pmutex, kind) == 16, "kind must sit where glibc's initialisers put it");
_Static_assert(offsetof(struct cap_pmutex, kind) == offsetof(pthread_mutex_t, __data.__kind), "kind is glibc's __kind");
_Static_assert(offsetof(struct cap_pmutex, lock) == offsetof(pthread_mutex_t, __data.__nusers),
	       "the lock word is at glibc's __nusers, 0 in every initialiser");

struct cap_pmutexattr {
	int kind;
};

int pthread_mutexattr_init(pthread_mutexattr_t *a)
{
	((struct cap_pmutexattr *)a)->kind = PTHREAD_MUTEX_NORMAL;
	return 0;
}
int pthread_mutexattr_destroy(pthread_mutexattr_t *a)
{
	(void)a;
	return 0;
}
int pthread_mutexattr_settype(pthread_mutexattr_t *a, int kind)
{
	if (kind < PTHREAD_MUTEX_NORMAL || kind > PTHREAD_MUTEX_ADAPTIVE_NP)
		return EINVAL;
	((struct cap_pmutexattr *)a)->kind = kind;
	return 0;
}
int pthread_mutexattr_gettype(const pthread_mutexattr_t *a, int *kind)
{
	*kind = ((const struct cap_pmutexattr *)a)->kind;
	return 0;
}
int pthread_mutexattr_setpshared(pthread_mutexattr_t *a, int s)
{
	(void)a;
	return s == PTHREAD_PROCESS_PRIVATE ? 0 : ENOTSUP;
}

int pthread_mutex_init(pthread_mutex_t *pm, const pthread_mutexattr_t *a)
{
	struct cap_pmutex *m = (struct cap_pmutex *)pm;
	m->owner = NULL;
	m->count = 0;
	m->lock = 0;
	m->kind = a ? ((const struct cap_pmutexattr *)a)->kind : PTHREAD_MUTEX_NORMAL;
	m->prof = 0;
	m->waiters.head = m->waiters.tail = NULL;
	return 0;
}
int pthread_mutex_destroy(pthread_mutex_t *pm)
{
	struct cap_pmutex *m = (struct cap_pmutex *)pm;
	return __atomic_load_n(&m->lock, __ATOMIC_RELAXED) ? EBUSY : 0;
}

/* The shim's objects are the runtime's: each wait and wake under
 * cap__mn.lock (mn.h), which a wait releases once the thread is parked.
 *
 * A mutex's lock word is its state, as in Drepper's futex mutex: 0 free,
 * 1 held, 2 held and a thread may wait.  Taking a free mutex and giving
 * back one nobody waits for are one compare-and-swap each, without the
 * wait lock, which every worker's parks and wakes share; a thread that
 * must wait sets 2 under the wait lock before it parks, so the unlock
 * that follows takes the wait lock and wakes the first waiter.
 *
 * As Go's sync.Mutex, in two modes.  Normally the unlock frees the mutex
 * and the woken waiter tries again, with any thread that comes meanwhile:
 * handing it over instead kept it held while its new owner waited to run,
 * everyone who came meanwhile queued, and the queue never drained (the
 * pool server's queue mutex, taken twice a request, fell into such a
 * convoy after seconds and stayed there at two thirds of its throughput).
 * A woken waiter that loses goes back first in line, and once it has
 * waited CAP_PM_STARVE_NS it sets 3: the next unlock hands the mutex over
 * to it (owner and word set for it: nobody barges in between), so no
 * waiter starves.  `owner` is the holder's, written by it after taking the
 * word (errorcheck, recursion, diagnostics). */
enum { CAP_PM_FREE, CAP_PM_HELD, CAP_PM_WAITED, CAP_PM_STARVING };
#define CAP_PM_STARVE_NS (1000 * 1000) /* Go's starvationThresholdNs */

/* Takes it if free, leaving the word `held` (1, or 2 under cap__mn.lock
 * when threads wait: a woken waiter's take). */
static inline bool cap__pmutex_take(struct cap_pmutex *m, struct cap_thread *me, uintptr_t site, uint32_t held)
{
	uint32_t free = CAP_PM_FREE;
	if (!__atomic_compare_exchange_n(&m->lock, &free, held, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return false;
	__atomic_store_n(&m->owner, me, __ATOMIC_RELAXED);
	m->count = 1;
	cap__lock_acquired(__atomic_load_n(&m->prof, __ATOMIC_RELAXED), m, me, site);
	return true;
}

/* Under cap__mn.lock: free, its first waiter woken to try again, or (3)
 * handed to that waiter; released at `site`. */
static void cap__pmutex_give_locked(struct cap_pmutex *m, uintptr_t site)
{
	struct cap_release r;
	cap__release_begin(&r, m->prof, m, site);
	bool hand = __atomic_load_n(&m->lock, __ATOMIC_RELAXED) == CAP_PM_STARVING;
	struct cap_thread *t = cap__wake_one(&m->waiters, hand ? 0 : -EAGAIN);
	cap__release_handed(&r, t);
	cap__release_end(&r);
	if (!hand)
		t = NULL;
	__atomic_store_n(&m->owner, t, __ATOMIC_RELAXED);
	__atomic_store_n(&m->lock, !t ? CAP_PM_FREE : m->waiters.head ? CAP_PM_WAITED : CAP_PM_HELD, __ATOMIC_RELEASE);
}

/* Under cap__mn.lock; returns without it. */
static int cap__pmutex_lock_locked(struct cap_pmutex *m, uint64_t deadline, bool try, uintptr_t site,
				   const struct cap_graph_prep *prep)
{
	struct cap_thread *me = cap__me_or_outside();
	uint64_t since = 0; /* when it began to wait; 0: it has not */
again:
	for (;;) {
		if (cap__pmutex_take(m, me, site, m->waiters.head ? CAP_PM_WAITED : CAP_PM_HELD))
			return cap__mn_unlock_ret(0);
		uint32_t held = CAP_PM_HELD;
		if (__atomic_load_n(&m->owner, __ATOMIC_RELAXED) == me || try || me == &cap__outside ||
		    __atomic_load_n(&m->lock, __ATOMIC_RELAXED) >= CAP_PM_WAITED ||
		    __atomic_compare_exchange_n(&m->lock, &held, CAP_PM_WAITED, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
			break;
		/* given back meanwhile: take it */
	}
	if (__atomic_load_n(&m->owner, __ATOMIC_RELAXED) == me) {
		if (m->kind == PTHREAD_MUTEX_RECURSIVE) {
			if (m->count == UINT32_MAX)
				return cap__mn_unlock_ret(EAGAIN);
			m->count++;
			return cap__mn_unlock_ret(0);
		}
		if (m->kind == PTHREAD_MUTEX_ERRORCHECK)
			return cap__mn_unlock_ret(EDEADLK);
		if (try)
			return cap__mn_unlock_ret(EBUSY);
		/* A normal mutex relocked by its owner waits forever, as in glibc;
		 * the deadlock report names it if nothing else can run. */
	}
	if (try)
		return cap__mn_unlock_ret(EBUSY);
	if (me == &cap__outside) {
		cap__mn_unlock(cap__w);
		cap__cannot_block("pthread_mutex_lock");
	}
	if (since) { /* woken, and another thread took it first */
		cap__flags_set(me, CAP_F_QFRONT); /* cap__block takes it */
		if (cap__mono_ns() - since >= CAP_PM_STARVE_NS)
			__atomic_store_n(&m->lock, CAP_PM_STARVING, __ATOMIC_RELAXED); /* held: only its holder's unlock reads it */
	} else {
		since = cap__mono_ns();
	}
	cap__lock_contended(&m->prof, m);
	int r = -cap__block_prepared(&m->waiters, deadline, CAP_WAIT_MUTEX, m, prep);
	if (r == EAGAIN) { /* woken to try again: its point found under the lock this time */
		prep = NULL;
		cap__mn_lock();
		goto again;
	}
	if (r == 0) {
		m->count = 1; /* the unlocker handed it to us */
		cap__lock_acquired_woken(__atomic_load_n(&m->prof, __ATOMIC_RELAXED), m, me, site);
	}
	return r;
}

static int cap__pmutex_lock(struct cap_pmutex *m, uint64_t deadline, bool try, uintptr_t site)
{
	struct cap_thread *me = cap__me_or_outside();
	if (CAP_LIKELY(cap__pmutex_take(m, me, site, CAP_PM_HELD)))
		return 0;
	struct cap_graph_prep p;
	const struct cap_graph_prep *prep = try || me == &cap__outside ? NULL : cap__sync_prepare(&p, me, CAP_WAIT_MUTEX);
	cap__mn_lock();
	return cap__pmutex_lock_locked(m, deadline, try, site, prep);
}

int pthread_mutex_lock(pthread_mutex_t *pm) { return cap__pmutex_lock((struct cap_pmutex *)pm, 0, false, CAP_CALLER()); }
int pthread_mutex_trylock(pthread_mutex_t *pm) { return cap__pmutex_lock((struct cap_pmutex *)pm, 0, true, CAP_CALLER()); }
int pthread_mutex_timedlock(pthread_mutex_t *pm, const struct timespec *ts)
{
	if (cap__bad_ts(ts))
		return EINVAL;
	return cap__pmutex_lock((struct cap_pmutex *)pm, cap__abs_deadline(ts, CLOCK_REALTIME), false, CAP_CALLER());
}
int pthread_mutex_clocklock(pthread_mutex_t *pm, clockid_t clock, const struct timespec *ts)
{
	if (cap__bad_ts(ts))
		return EINVAL;
	return cap__pmutex_lock((struct cap_pmutex *)pm, cap__abs_deadline(ts, clock), false, CAP_CALLER());
}

int pthread_mutex_unlock(pthread_mutex_t *pm)
{
	struct cap_pmutex *m = (struct cap_pmutex *)pm;
	struct cap_thread *me = cap__me_or_outside();
	if (__atomic_load_n(&m->owner, __ATOMIC_RELAXED) != me) {
		if (m->kind == PTHREAD_MUTEX_RECURSIVE || m->kind == PTHREAD_MUTEX_ERRORCHECK ||
		    __atomic_load_n(&m->lock, __ATOMIC_RELAXED) == CAP_PM_FREE)
			return EPERM;
	} else if (m->kind == PTHREAD_MUTEX_RECURSIVE && --m->count > 0) {
		return 0;
	}
	__atomic_store_n(&m->owner, NULL, __ATOMIC_RELAXED);
	uint32_t held = CAP_PM_HELD;
	if (CAP_LIKELY(__atomic_compare_exchange_n(&m->lock, &held, CAP_PM_FREE, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED)))
		return 0;
	struct cap_telemetry *T = cap__wakes_stamp();
	cap__mn_lock(); /* someone may wait: to the first in line */
	cap__pmutex_give_locked(m, CAP_CALLER());
	return cap__wakes_unstamp(T, cap__mn_unlock_ret(0));
}

/* ---- Condition variables ------------------------------------------------ */

struct cap_pcond {
	cap_waitq_t waiters;
	int clock;     /* 0 (PTHREAD_COND_INITIALIZER) is CLOCK_REALTIME */
	uint32_t lock; /* capriccio.h, "Lock word" */
};
_Static_assert(sizeof(struct cap_pcond) <= sizeof(pthread_cond_t), "pthread_cond_t too small");

struct cap_pcondattr {
	int clock;
};

int pthread_condattr_init(pthread_condattr_t *a)
{
	((struct cap_pcondattr *)a)->clock = CLOCK_REALTIME;
	return 0;
}
int pthread_condattr_destroy(pthread_condattr_t *a)
{
	(void)a;
	return 0;
}
int pthread_condattr_setclock(pthread_condattr_t *a, clockid_t c)
{
	if (c != CLOCK_REALTIME && c != CLOCK_MONOTONIC)
		return EINVAL;
	((struct cap_pcondattr *)a)->clock = (int)c;
	return 0;
}
int pthread_condattr_getclock(const pthread_condattr_t *a, clockid_t *c)
{
	*c = ((const struct cap_pcondattr *)a)->clock;
	return 0;
}
int pthread_condattr_setpshared(pthread_condattr_t *a, int s)
{
	(void)a;
	return s == PTHREAD_PROCESS_PRIVATE ? 0 : ENOTSUP;
}

int pthread_cond_init(pthread_cond_t *pc, const pthread_condattr_t *a)
{
	struct cap_pcond *c = (struct cap_pcond *)pc;
	c->waiters.head = c->waiters.tail = NULL;
	c->lock = 0;
	c->clock = a ? ((const struct cap_pcondattr *)a)->clock : CLOCK_REALTIME;
	return 0;
}
int pthread_cond_destroy(pthread_cond_t *pc) { return ((struct cap_pcond *)pc)->waiters.head ? EBUSY : 0; }

/* Called at `site`: it releases the mutex and takes it again there. */
static int cap__pcond_wait(struct cap_pcond *c, struct cap_pmutex *m, uint64_t deadline, uintptr_t site)
{
	struct cap_thread *me = cap__me_or_outside();
	struct cap_graph_prep p;
	const struct cap_graph_prep *prep = me == &cap__outside ? NULL : cap__sync_prepare(&p, me, CAP_WAIT_COND);
	cap__mn_lock();
	if (__atomic_load_n(&m->owner, __ATOMIC_RELAXED) != me)
		return cap__mn_unlock_ret(EPERM);
	if (me == &cap__outside) {
		cap__mn_unlock(cap__w);
		cap__cannot_block("pthread_cond_wait");
	}
	uint32_t depth = m->count;
	struct cap_telemetry *T = cap__wakes_stamp_at(prep);
	cap__pmutex_give_locked(m, site);
	cap__wakes_unstamp(T, 0);
	int r = -cap__block_prepared(&c->waiters, deadline, CAP_WAIT_COND, c, prep);
	while (cap__pmutex_lock(m, 0, false, site) != 0) {
	}
	m->count = depth;
	return r;
}

int pthread_cond_wait(pthread_cond_t *pc, pthread_mutex_t *pm)
{
	return cap__pcond_wait((struct cap_pcond *)pc, (struct cap_pmutex *)pm, 0, CAP_CALLER());
}
int pthread_cond_timedwait(pthread_cond_t *pc, pthread_mutex_t *pm, const struct timespec *ts)
{
	struct cap_pcond *c = (struct cap_pcond *)pc;
	if (cap__bad_ts(ts))
		return EINVAL;
	return cap__pcond_wait(c, (struct cap_pmutex *)pm, cap__abs_deadline(ts, c->clock), CAP_CALLER());
}
int pthread_cond_clockwait(pthread_cond_t *pc, pthread_mutex_t *pm, clockid_t clock, const struct timespec *ts)
{
	if (cap__bad_ts(ts))
		return EINVAL;
	return cap__pcond_wait((struct cap_pcond *)pc, (struct cap_pmutex *)pm, cap__abs_deadline(ts, clock), CAP_CALLER());
}
int pthread_cond_signal(pthread_cond_t *pc)
{
	struct cap_telemetry *T = cap__wakes_stamp();
	cap__mn_lock();
	cap__waking(CAP_CALLER());
	cap__wake_one(&((struct cap_pcond *)pc)->waiters, 0);
	cap__waking(0);
	return cap__wakes_unstamp(T, cap__mn_unlock_ret(0));
}
int pthread_cond_broadcast(pthread_cond_t *pc)
{
	struct cap_telemetry *T = cap__wakes_stamp();
	cap__mn_lock();
	cap__waking(CAP_CALLER());
	cap__wake_all(&((struct cap_pcond *)pc)->waiters, 0);
	cap__waking(0);
	return cap__wakes_unstamp(T, cap__mn_unlock_ret(0));
}

/* ---- Readers-writer locks ----------------------------------------------- */

_Static_assert(sizeof(cap_rwlock_t) <= sizeof(pthread_rwlock_t), "pthread_rwlock_t too small");
_Static_assert(offsetof(cap_rwlock_t, prof) == offsetof(pthread_rwlock_t, __data.__flags),
	       "glibc's initialisers put __flags (2 for writer preference) in the prof field, never in the lock word");

int pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *a)
{
	(void)a;
	cap__memzero(l, sizeof(cap_rwlock_t));
	return 0;
}
int pthread_rwlock_destroy(pthread_rwlock_t *l)
{
	cap_rwlock_t *r = (cap_rwlock_t *)l;
	return (r->readers || r->writer) ? EBUSY : 0;
}

static int cap__rw(pthread_rwlock_t *l, bool wr, uint64_t deadline, uintptr_t site)
{
	if (cap__outside_now()) {
		cap_rwlock_t *r = (cap_rwlock_t *)l;
		if (r->writer || (wr && r->readers))
			cap__cannot_block("pthread_rwlock_lock");
		if (wr)
			r->writer = &cap__outside;
		else
			r->readers++;
		return 0;
	}
	return cap__rwlock_lock_at((cap_rwlock_t *)l, wr, deadline, site);
}
int pthread_rwlock_rdlock(pthread_rwlock_t *l) { return cap__rw(l, false, 0, CAP_CALLER()); }
int pthread_rwlock_wrlock(pthread_rwlock_t *l) { return cap__rw(l, true, 0, CAP_CALLER()); }
int pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *ts)
{
	return cap__bad_ts(ts) ? EINVAL : cap__rw(l, false, cap__abs_deadline(ts, CLOCK_REALTIME), CAP_CALLER());
}
int pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *ts)
{
	return cap__bad_ts(ts) ? EINVAL : cap__rw(l, true, cap__abs_deadline(ts, CLOCK_REALTIME), CAP_CALLER());
}
int pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t clock, const struct timespec *ts)
{
	return cap__bad_ts(ts) ? EINVAL : cap__rw(l, false, cap__abs_deadline(ts, clock), CAP_CALLER());
}
int pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t clock, const struct timespec *ts)
{
	return cap__bad_ts(ts) ? EINVAL : cap__rw(l, true, cap__abs_deadline(ts, clock), CAP_CALLER());
}
int pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
	cap_rwlock_t *r = (cap_rwlock_t *)l;
	if (cap__outside_now()) {
		if (r->writer)
			return EBUSY;
		r->readers++;
		return 0;
	}
	return cap__rwlock_trylock_at(r, false, CAP_CALLER());
}
int pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
	cap_rwlock_t *r = (cap_rwlock_t *)l;
	if (cap__outside_now()) {
		if (r->writer || r->readers)
			return EBUSY;
		r->writer = &cap__outside;
		return 0;
	}
	return cap__rwlock_trylock_at(r, true, CAP_CALLER());
}
int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
	cap_rwlock_t *r = (cap_rwlock_t *)l;
	if (cap__outside_now()) {
		if (r->writer == &cap__outside)
			r->writer = NULL;
		else if (r->readers)
			r->readers--;
		else
			return EPERM;
		return 0;
	}
	return cap__rwlock_unlock_at(r, CAP_CALLER());
}

/* ---- Spinlocks and barriers --------------------------------------------- */

/* Spinning cannot work when the holder only runs once we stop: yield.
 * The word is taken atomically: its holder may run on another worker. */
int pthread_spin_init(pthread_spinlock_t *s, int pshared)
{
	(void)pshared;
	*s = 0;
	return 0;
}
int pthread_spin_destroy(pthread_spinlock_t *s)
{
	(void)s;
	return 0;
}
int pthread_spin_lock(pthread_spinlock_t *s)
{
	while (__atomic_exchange_n(s, 1, __ATOMIC_ACQUIRE)) {
		if (cap__outside_now())
			cap__cannot_block("pthread_spin_lock");
		cap_yield();
		if (__atomic_load_n(s, __ATOMIC_RELAXED))
			cap_sleep_ns(1000);
	}
	return 0;
}
int pthread_spin_trylock(pthread_spinlock_t *s) { return __atomic_exchange_n(s, 1, __ATOMIC_ACQUIRE) ? EBUSY : 0; }
int pthread_spin_unlock(pthread_spinlock_t *s)
{
	__atomic_store_n(s, 0, __ATOMIC_RELEASE);
	return 0;
}

/* 32 bytes, all of pthread_barrier_t: the generation is 32 bits to make
 * room for the lock word (a waiter would miss its wake-up only if 2^32
 * rounds passed before it ran again). */
struct cap_pbarrier {
	uint32_t count, waiting;
	uint32_t generation;
	uint32_t lock; /* capriccio.h, "Lock word" */
	cap_waitq_t q;
};
_Static_assert(sizeof(struct cap_pbarrier) <= sizeof(pthread_barrier_t), "pthread_barrier_t too small");

int pthread_barrier_init(pthread_barrier_t *pb, const pthread_barrierattr_t *a, unsigned count)
{
	(void)a;
	if (count == 0)
		return EINVAL;
	struct cap_pbarrier *b = (struct cap_pbarrier *)pb;
	b->count = count;
	b->waiting = 0;
	b->generation = 0;
	b->lock = 0;
	b->q.head = b->q.tail = NULL;
	return 0;
}
int pthread_barrier_destroy(pthread_barrier_t *pb) { return ((struct cap_pbarrier *)pb)->waiting ? EBUSY : 0; }
int pthread_barrier_wait(pthread_barrier_t *pb)
{
	struct cap_pbarrier *b = (struct cap_pbarrier *)pb;
	cap__mn_lock();
	if (++b->waiting == b->count) {
		b->waiting = 0;
		b->generation++;
		cap__wake_all(&b->q, 0);
		return cap__mn_unlock_ret(PTHREAD_BARRIER_SERIAL_THREAD);
	}
	if (cap__outside_now()) {
		cap__mn_unlock(cap__w);
		cap__cannot_block("pthread_barrier_wait");
	}
	uint32_t gen = b->generation;
	while (gen == b->generation) {
		cap__block(&b->q, 0, CAP_WAIT_QUEUE, b);
		cap__mn_lock();
	}
	return cap__mn_unlock_ret(0);
}

/* ---- Once --------------------------------------------------------------- */

/* Process-wide, like a sync object: a thread waits here for a once that
 * another (on any worker) is running. */
static cap_waitq_t cap__once_waiters;

int pthread_once(pthread_once_t *once, void (*fn)(void))
{
	int *o = (int *)once;
	if (CAP_LIKELY(__atomic_load_n(o, __ATOMIC_ACQUIRE) == 2))
		return 0;
	int zero = 0;
	if (__atomic_compare_exchange_n(o, &zero, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE)) {
		fn();
		cap__mn_lock();
		__atomic_store_n(o, 2, __ATOMIC_RELEASE);
		cap__wake_all(&cap__once_waiters, 0);
		return cap__mn_unlock_ret(0);
	}
	cap__mn_lock();
	while (__atomic_load_n(o, __ATOMIC_ACQUIRE) == 1) {
		if (cap__outside_now()) {
			cap__mn_unlock(cap__w);
			cap__cannot_block("pthread_once");
		}
		cap__block(&cap__once_waiters, 0, CAP_WAIT_ONCE, (const void *)once);
		cap__mn_lock();
	}
	return cap__mn_unlock_ret(0);
}

/* ---- Semaphores --------------------------------------------------------- */

_Static_assert(sizeof(cap_sem_t) <= sizeof(sem_t), "sem_t too small");

static inline int cap__errret(int e)
{
	if (!e)
		return 0;
	cap__set_errno(e);
	return -1;
}

int sem_init(sem_t *s, int pshared, unsigned value)
{
	if (pshared)
		return cap__errret(ENOSYS);
	if (value > SEM_VALUE_MAX)
		return cap__errret(EINVAL);
	cap_sem_init((cap_sem_t *)s, value);
	return 0;
}
int sem_destroy(sem_t *s)
{
	(void)s;
	return 0;
}
int sem_post(sem_t *s) { return cap__errret(cap__sem_post_at((cap_sem_t *)s, CAP_CALLER())); }
int sem_trywait(sem_t *s) { return cap__errret(cap__sem_trywait_at((cap_sem_t *)s, CAP_CALLER())); }
int sem_wait(sem_t *s)
{
	cap_sem_t *c = (cap_sem_t *)s;
	if (cap__outside_now()) {
		if (cap_sem_trywait(c) == 0)
			return 0;
		cap__cannot_block("sem_wait");
	}
	return cap__errret(cap__sem_timedwait_at(c, 0, CAP_CALLER()));
}
int sem_timedwait(sem_t *s, const struct timespec *ts)
{
	if (cap__bad_ts(ts))
		return cap__errret(EINVAL);
	if (cap__outside_now())
		return sem_wait(s);
	return cap__errret(cap__sem_timedwait_at((cap_sem_t *)s, cap__abs_deadline(ts, CLOCK_REALTIME), CAP_CALLER()));
}
int sem_clockwait(sem_t *s, clockid_t clock, const struct timespec *ts)
{
	if (cap__bad_ts(ts))
		return cap__errret(EINVAL);
	if (cap__outside_now())
		return sem_wait(s);
	return cap__errret(cap__sem_timedwait_at((cap_sem_t *)s, cap__abs_deadline(ts, clock), CAP_CALLER()));
}
int sem_getvalue(sem_t *s, int *v)
{
	uint64_t c = ((cap_sem_t *)s)->count;
	*v = c > INT_MAX ? INT_MAX : (int)c;
	return 0;
}

/* ---- Thread-specific data ----------------------------------------------- */

#define CAP_KEYS_MAX PTHREAD_KEYS_MAX
static struct {
	bool used;
	void (*dtor)(void *);
} cap__keys[CAP_KEYS_MAX];
static void *cap__outside_specific[CAP_KEYS_MAX];

extern void (*cap__exit_hook)(struct cap_thread *t);

static void cap__run_key_dtors(struct cap_thread *t)
{
	for (int round = 0; round < PTHREAD_DESTRUCTOR_ITERATIONS; round++) {
		bool any = false;
		for (uint32_t k = 0; k < t->nspecific; k++) {
			void *v = t->specific[k];
			if (v && cap__keys[k].used && cap__keys[k].dtor) {
				t->specific[k] = NULL;
				cap__keys[k].dtor(v);
				any = true;
			}
		}
		if (!any)
			break;
	}
	cap__on_sysstack(CAP_SYSFN_FREE_SPECIFIC, t);
}

int pthread_key_create(pthread_key_t *key, void (*dtor)(void *))
{
	for (unsigned k = 0; k < CAP_KEYS_MAX; k++) {
		if (cap__keys[k].used)
			continue;
		cap__keys[k].used = true;
		cap__keys[k].dtor = dtor;
		struct cap_worker *w = cap__w;
		if (w)
			cap__mn_lock();
		for (struct cap_thread *t = w ? cap__mn.all : NULL; t; t = t->all_next)
			if (k < t->nspecific)
				t->specific[k] = NULL;
		if (w)
			cap__mn_unlock(w);
		cap__outside_specific[k] = NULL;
		cap__exit_hook = cap__run_key_dtors;
		*key = k;
		return 0;
	}
	return EAGAIN;
}

int pthread_key_delete(pthread_key_t key)
{
	if (key >= CAP_KEYS_MAX || !cap__keys[key].used)
		return EINVAL;
	cap__keys[key].used = false;
	cap__keys[key].dtor = NULL;
	return 0;
}

void *pthread_getspecific(pthread_key_t key)
{
	struct cap_thread *t = cap__me_or_outside();
	if (t == &cap__outside)
		return key < CAP_KEYS_MAX ? cap__outside_specific[key] : NULL;
	return key < t->nspecific ? t->specific[key] : NULL;
}

int pthread_setspecific(pthread_key_t key, const void *v)
{
	if (key >= CAP_KEYS_MAX || !cap__keys[key].used)
		return EINVAL;
	struct cap_thread *t = cap__me_or_outside();
	if (t == &cap__outside) {
		cap__outside_specific[key] = (void *)v;
		return 0;
	}
	if (key >= t->nspecific) {
		cap__on_sysstack(CAP_SYSFN_GROW_SPECIFIC, t);
		if (key >= t->nspecific)
			return ENOMEM;
	}
	t->specific[key] = (void *)v;
	return 0;
}
