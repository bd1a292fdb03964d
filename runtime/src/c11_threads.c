/* C11 threads (<threads.h>) on the pthread shim, as glibc maps them onto
 * its pthreads: the same objects (mtx_t is a pthread_mutex_t, cnd_t a
 * pthread_cond_t, tss_t a key, once_flag a pthread_once_t), error numbers
 * turned into thrd_* codes the way glibc turns them, and tss destructors
 * run TSS_DTOR_ITERATIONS rounds at thread exit.  glibc's own functions
 * would reach its pthreads directly (and thrd_sleep the kernel), blocking
 * the worker. */
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <threads.h>
#include <time.h>

_Static_assert(sizeof(mtx_t) == sizeof(pthread_mutex_t), "mtx_t is a pthread_mutex_t");
_Static_assert(sizeof(cnd_t) == sizeof(pthread_cond_t), "cnd_t is a pthread_cond_t");
_Static_assert(sizeof(once_flag) == sizeof(pthread_once_t), "once_flag is a pthread_once_t");
_Static_assert(TSS_DTOR_ITERATIONS == PTHREAD_DESTRUCTOR_ITERATIONS, "tss destructors run as key destructors");

static int cap__thrd_code(int err)
{
	switch (err) {
	case 0: return thrd_success;
	case ENOMEM: return thrd_nomem;
	case ETIMEDOUT: return thrd_timedout;
	case EBUSY: return thrd_busy;
	default: return thrd_error;
	}
}

/* ---- Threads ------------------------------------------------------------ */

int thrd_create(thrd_t *thr, thrd_start_t func, void *arg)
{
	int saved = *cap__errno();
	struct cap_thread *t = cap__spawn_prepare((void *(*)(void *))(void *)func, arg, NULL, __builtin_return_address(0));
	int err = t ? 0 : *cap__errno();
	*cap__errno() = saved;
	if (!t) /* as glibc's pthread_create: no memory for a stack is EAGAIN, hence thrd_error */
		return cap__thrd_code(err == ENOMEM ? EAGAIN : err);
	t->flags |= CAP_F_C11; /* its start function returns int (sched.c) */
	*thr = (thrd_t)t;
	cap__spawn_start(t);
	return thrd_success;
}

int thrd_join(thrd_t thr, int *res)
{
	void *r;
	int err = pthread_join((pthread_t)thr, &r);
	if (res)
		*res = (int)(uintptr_t)r;
	return cap__thrd_code(err);
}

_Noreturn void thrd_exit(int res) { pthread_exit((void *)(uintptr_t)res); }
int thrd_detach(thrd_t thr) { return cap__thrd_code(pthread_detach((pthread_t)thr)); }
thrd_t thrd_current(void) { return (thrd_t)pthread_self(); }
int thrd_equal(thrd_t a, thrd_t b) { return a == b; }
void thrd_yield(void) { sched_yield(); }

/* 0, -1 when a signal interrupted it, -2 on any other error (no errno). */
int thrd_sleep(const struct timespec *duration, struct timespec *remaining)
{
	switch (clock_nanosleep(CLOCK_REALTIME, 0, duration, remaining)) {
	case 0: return 0;
	case EINTR: return -1;
	default: return -2;
	}
}

/* ---- Mutexes ------------------------------------------------------------ */

int mtx_init(mtx_t *m, int type)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	switch (type) { /* glibc's reading of the type: anything else is plain */
	case mtx_plain | mtx_recursive:
	case mtx_timed | mtx_recursive: pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE); break;
	default: pthread_mutexattr_settype(&a, PTHREAD_MUTEX_NORMAL); break;
	}
	return cap__thrd_code(pthread_mutex_init((pthread_mutex_t *)m, &a));
}

int mtx_lock(mtx_t *m) { return cap__thrd_code(pthread_mutex_lock((pthread_mutex_t *)m)); }
int mtx_trylock(mtx_t *m) { return cap__thrd_code(pthread_mutex_trylock((pthread_mutex_t *)m)); }
int mtx_timedlock(mtx_t *restrict m, const struct timespec *restrict ts)
{
	return cap__thrd_code(pthread_mutex_timedlock((pthread_mutex_t *)m, ts));
}
int mtx_unlock(mtx_t *m) { return cap__thrd_code(pthread_mutex_unlock((pthread_mutex_t *)m)); }
void mtx_destroy(mtx_t *m) { pthread_mutex_destroy((pthread_mutex_t *)m); }

/* ---- Condition variables (on CLOCK_REALTIME) ---------------------------- */

int cnd_init(cnd_t *c) { return cap__thrd_code(pthread_cond_init((pthread_cond_t *)c, NULL)); }
int cnd_signal(cnd_t *c) { return cap__thrd_code(pthread_cond_signal((pthread_cond_t *)c)); }
int cnd_broadcast(cnd_t *c) { return cap__thrd_code(pthread_cond_broadcast((pthread_cond_t *)c)); }
int cnd_wait(cnd_t *c, mtx_t *m) { return cap__thrd_code(pthread_cond_wait((pthread_cond_t *)c, (pthread_mutex_t *)m)); }
int cnd_timedwait(cnd_t *restrict c, mtx_t *restrict m, const struct timespec *restrict ts)
{
	return cap__thrd_code(pthread_cond_timedwait((pthread_cond_t *)c, (pthread_mutex_t *)m, ts));
}
void cnd_destroy(cnd_t *c) { pthread_cond_destroy((pthread_cond_t *)c); }

/* ---- Thread-specific storage and once ----------------------------------- */

int tss_create(tss_t *key, tss_dtor_t dtor) { return cap__thrd_code(pthread_key_create((pthread_key_t *)key, dtor)); }
void *tss_get(tss_t key) { return pthread_getspecific((pthread_key_t)key); }
int tss_set(tss_t key, void *v) { return cap__thrd_code(pthread_setspecific((pthread_key_t)key, v)); }
void tss_delete(tss_t key) { pthread_key_delete((pthread_key_t)key); }

void call_once(once_flag *flag, void (*fn)(void)) { pthread_once((pthread_once_t *)flag, fn); }
