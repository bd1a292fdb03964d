/* The pthread shim: POSIX threads, locks, condition variables, keys, once,
 * semaphores and attributes behave as POSIX says — on user threads. */
#define _GNU_SOURCE
#include <capriccio.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

static struct timespec in_ms(clockid_t clock, long ms)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static long elapsed_ms(uint64_t t0) { return (long)((cap_now_ns() - t0) / 1000000u); }

static void *echo_arg(void *a) { return a; }
static void *exits_early(void *a)
{
	pthread_exit((void *)7);
	return NULL;
}

static sem_t echo_go;
static void *echo_arg_after_go(void *a)
{
	sem_wait(&echo_go);
	return a;
}

static void create_join_exit_self(void)
{
	pthread_t t;
	void *r;
	sem_init(&echo_go, 0, 0);
	CHECK_EQ(pthread_create(&t, NULL, echo_arg_after_go, (void *)5), 0);
	cap_info_t info;
	cap_get_info(&info);
	CHECK_EQ(info.threads, 2); /* the pthread is a user thread (waiting: it may run on another worker) */
	sem_post(&echo_go);
	CHECK_EQ(pthread_join(t, &r), 0);
	CHECK_EQ((intptr_t)r, 5);
	CHECK_EQ(pthread_create(&t, NULL, exits_early, NULL), 0);
	CHECK_EQ(pthread_join(t, &r), 0);
	CHECK_EQ((intptr_t)r, 7);
	CHECK(pthread_equal(pthread_self(), pthread_self()));
	CHECK(!pthread_equal(pthread_self(), t));
	CHECK_EQ(pthread_join(pthread_self(), NULL), EDEADLK);
	CHECK_EQ(sched_yield(), 0);
}

static int detached_done;
static void *detached(void *a)
{
	usleep(1000);
	detached_done = 1;
	return NULL;
}

/* 1 when a 4 KiB frame fits in the thread's first chunk of arg bytes (the
 * chunk ends at the thread structure, cap_self()); a split puts it in
 * another chunk, which may lie anywhere, just below the first one too. */
static void *frame_in_first_chunk(void *arg)
{
	volatile char big[4096];
	big[0] = 1;
	uintptr_t top = (uintptr_t)cap_self(), at = (uintptr_t)big;
	return (void *)(uintptr_t)(at < top && top - at < (uintptr_t)arg);
}

/* In split mode a small stack size is the first chunk (how the chunk-size
 * quick fix sets it); a size too large to be one is ignored. */
static void stack_size_is_first_chunk(void)
{
	pthread_attr_t a;
	pthread_t t;
	void *fits;
	CHECK_EQ(pthread_attr_init(&a), 0);
	CHECK_EQ(pthread_attr_setstacksize(&a, 1024), EINVAL);
	void *dflt = (void *)(uintptr_t)3840, *eight = (void *)(uintptr_t)8192;
	CHECK_EQ(pthread_create(&t, NULL, frame_in_first_chunk, dflt), 0);
	CHECK_EQ(pthread_join(t, &fits), 0);
	CHECK_EQ((uintptr_t)fits, 0); /* default 3.75 KiB chunk: the frame split */
	CHECK_EQ(pthread_attr_setstacksize(&a, 8192), 0);
	CHECK_EQ(pthread_create(&t, &a, frame_in_first_chunk, eight), 0);
	CHECK_EQ(pthread_join(t, &fits), 0);
	CHECK_EQ((uintptr_t)fits, 1);
	CHECK_EQ(pthread_attr_setstacksize(&a, 8 << 20), 0);
	CHECK_EQ(pthread_create(&t, &a, frame_in_first_chunk, dflt), 0);
	CHECK_EQ(pthread_join(t, &fits), 0);
	CHECK_EQ((uintptr_t)fits, 0);
	pthread_attr_destroy(&a);
}

static void attributes_and_detach(void)
{
	pthread_attr_t a;
	pthread_t t;
	int st;
	size_t sz;
	CHECK_EQ(pthread_attr_init(&a), 0);
	CHECK_EQ(pthread_attr_getdetachstate(&a, &st), 0);
	CHECK_EQ(st, PTHREAD_CREATE_JOINABLE);
	CHECK_EQ(pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED), 0);
	CHECK_EQ(pthread_attr_setstacksize(&a, 1 << 20), 0);
	CHECK_EQ(pthread_attr_getstacksize(&a, &sz), 0);
	CHECK_EQ(sz, 1 << 20);
	CHECK_EQ(pthread_attr_setdetachstate(&a, 42), EINVAL);
	CHECK_EQ(pthread_create(&t, &a, detached, NULL), 0);
	CHECK_EQ(pthread_join(t, NULL), EINVAL);
	pthread_attr_destroy(&a);
	usleep(20000);
	CHECK_EQ(detached_done, 1);
	CHECK_EQ(pthread_create(&t, NULL, echo_arg, NULL), 0);
	CHECK_EQ(pthread_detach(t), 0);
	char name[16];
	CHECK_EQ(pthread_setname_np(pthread_self(), "main-renamed"), 0);
	CHECK_EQ(pthread_getname_np(pthread_self(), name, sizeof name), 0);
	CHECK(strcmp(name, "main-renamed") == 0);
	pthread_setname_np(pthread_self(), "main");
}

static pthread_mutex_t plain = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t rec = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static pthread_mutex_t errc = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP;
static int tl_res[4];

static void *contend(void *a)
{
	tl_res[0] = pthread_mutex_trylock(&plain);
	struct timespec ts = in_ms(CLOCK_REALTIME, 30);
	uint64_t t0 = cap_now_ns();
	tl_res[1] = pthread_mutex_timedlock(&plain, &ts);
	tl_res[2] = (int)elapsed_ms(t0);
	tl_res[3] = pthread_mutex_unlock(&errc); /* not the owner */
	return NULL;
}

static void mutex_kinds(void)
{
	pthread_t t;
	CHECK_EQ(pthread_mutex_lock(&plain), 0);
	CHECK_EQ(pthread_mutex_trylock(&plain), EBUSY);
	CHECK_EQ(pthread_mutex_lock(&errc), 0);
	pthread_create(&t, NULL, contend, NULL);
	pthread_join(t, NULL);
	CHECK_EQ(tl_res[0], EBUSY);
	CHECK_EQ(tl_res[1], ETIMEDOUT);
	CHECK(tl_res[2] >= 30);
	CHECK_EQ(tl_res[3], EPERM);
	CHECK_EQ(pthread_mutex_unlock(&plain), 0);

	CHECK_EQ(pthread_mutex_lock(&errc), EDEADLK);
	CHECK_EQ(pthread_mutex_unlock(&errc), 0);
	CHECK_EQ(pthread_mutex_unlock(&errc), EPERM);

	CHECK_EQ(pthread_mutex_lock(&rec), 0);
	CHECK_EQ(pthread_mutex_lock(&rec), 0);
	CHECK_EQ(pthread_mutex_trylock(&rec), 0);
	CHECK_EQ(pthread_mutex_unlock(&rec), 0);
	CHECK_EQ(pthread_mutex_unlock(&rec), 0);
	CHECK_EQ(pthread_mutex_unlock(&rec), 0);
	CHECK_EQ(pthread_mutex_unlock(&rec), EPERM);

	pthread_mutexattr_t ma;
	pthread_mutex_t dyn;
	int kind;
	pthread_mutexattr_init(&ma);
	CHECK_EQ(pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE), 0);
	CHECK_EQ(pthread_mutexattr_gettype(&ma, &kind), 0);
	CHECK_EQ(kind, PTHREAD_MUTEX_RECURSIVE);
	CHECK_EQ(pthread_mutex_init(&dyn, &ma), 0);
	CHECK_EQ(pthread_mutex_lock(&dyn), 0);
	CHECK_EQ(pthread_mutex_lock(&dyn), 0);
	CHECK_EQ(pthread_mutex_destroy(&dyn), EBUSY);
	pthread_mutex_unlock(&dyn);
	pthread_mutex_unlock(&dyn);
	CHECK_EQ(pthread_mutex_destroy(&dyn), 0);
}

/* Mutex modes (posix_thread.c): a waiter and the main thread bound to one
 * worker, so that the waiter runs only when main blocks. */
static pthread_mutex_t fair = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int fair_got;
static void *fair_waiter(void *a)
{
	cap_bind((unsigned)(uintptr_t)a);
	pthread_mutex_lock(&fair);
	fair_got = 1;
	pthread_mutex_unlock(&fair);
	return NULL;
}

/* Main, holding `fair`, starts the waiter on its own worker. */
static pthread_t fair_start(void)
{
	unsigned me = cap_worker_id();
	CHECK_EQ(cap_bind(me), 0);
	fair_got = 0;
	pthread_t t;
	CHECK_EQ(pthread_mutex_lock(&fair), 0);
	pthread_create(&t, NULL, fair_waiter, (void *)(uintptr_t)me);
	return t;
}

/* An unlock frees the mutex and wakes its waiter to try again: the unlocker
 * can take it back before the waiter runs.  Handed to the waiter instead,
 * it stayed held while the waiter waited to run (a convoy, once everyone
 * queued behind). */
static void an_unlock_frees_the_mutex_for_whoever_comes_first(void)
{
	pthread_t t = fair_start();
	cap_sleep_ns(20 * 1000 * 1000); /* the waiter parks in its lock */
	CHECK_EQ(pthread_mutex_unlock(&fair), 0);
	CHECK_EQ(pthread_mutex_trylock(&fair), 0);
	CHECK_EQ(fair_got, 0);
	CHECK_EQ(pthread_mutex_unlock(&fair), 0);
	pthread_join(t, NULL);
	CHECK_EQ(fair_got, 1);
}

/* ... but a waiter that has lost for 1 ms is handed the mutex at the next
 * unlock: main takes it back at once each time and holds it 200 us, which
 * would keep a waiter that only tries again out for ever. */
static void a_waiter_that_keeps_losing_is_handed_the_mutex(void)
{
	pthread_t t = fair_start();
	int rounds = 0;
	while (!fair_got && rounds < 1000) {
		cap_sleep_ns(200 * 1000); /* holding it; the waiter runs meanwhile */
		pthread_mutex_unlock(&fair);
		pthread_mutex_lock(&fair);
		rounds++;
	}
	pthread_mutex_unlock(&fair);
	pthread_join(t, NULL);
	printf("  the waiter had it after %d of main's holds\n", rounds);
	CHECK(fair_got && rounds <= 20);
}

static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int go, waiting;
static void *cond_waiter(void *a)
{
	pthread_mutex_lock(&plain);
	waiting++;
	while (!go)
		pthread_cond_wait(&cond, &plain);
	waiting--;
	pthread_mutex_unlock(&plain);
	return NULL;
}

static void condvars(void)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, cond_waiter, NULL);
	usleep(1000);
	CHECK_EQ(waiting, 4);
	pthread_mutex_lock(&plain);
	go = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&plain);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(waiting, 0);

	/* timedwait on the realtime clock, then on a monotonic condvar */
	pthread_mutex_lock(&plain);
	struct timespec ts = in_ms(CLOCK_REALTIME, 20);
	uint64_t t0 = cap_now_ns();
	CHECK_EQ(pthread_cond_timedwait(&cond, &plain, &ts), ETIMEDOUT);
	CHECK(elapsed_ms(t0) >= 20);
	pthread_condattr_t ca;
	pthread_cond_t mono;
	pthread_condattr_init(&ca);
	CHECK_EQ(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC), 0);
	pthread_cond_init(&mono, &ca);
	ts = in_ms(CLOCK_MONOTONIC, 20);
	t0 = cap_now_ns();
	CHECK_EQ(pthread_cond_timedwait(&mono, &plain, &ts), ETIMEDOUT);
	CHECK(elapsed_ms(t0) >= 20);
	ts.tv_nsec = 2000000000L;
	CHECK_EQ(pthread_cond_timedwait(&mono, &plain, &ts), EINVAL);
	pthread_mutex_unlock(&plain);
	CHECK_EQ(pthread_cond_wait(&cond, &plain), EPERM);
}

static pthread_rwlock_t rwl = PTHREAD_RWLOCK_INITIALIZER;
static int rw_res;
static void *rw_writer(void *a)
{
	struct timespec ts = in_ms(CLOCK_REALTIME, 15);
	rw_res = pthread_rwlock_timedwrlock(&rwl, &ts);
	return NULL;
}

static void rwlocks(void)
{
	pthread_t t;
	CHECK_EQ(pthread_rwlock_rdlock(&rwl), 0);
	CHECK_EQ(pthread_rwlock_tryrdlock(&rwl), 0);
	CHECK_EQ(pthread_rwlock_trywrlock(&rwl), EBUSY);
	pthread_create(&t, NULL, rw_writer, NULL);
	pthread_join(t, NULL);
	CHECK_EQ(rw_res, ETIMEDOUT);
	pthread_rwlock_unlock(&rwl);
	pthread_rwlock_unlock(&rwl);
	CHECK_EQ(pthread_rwlock_wrlock(&rwl), 0);
	CHECK_EQ(pthread_rwlock_tryrdlock(&rwl), EBUSY);
	CHECK_EQ(pthread_rwlock_unlock(&rwl), 0);
}

static pthread_key_t key;
static int dtor_calls;
static void dtor(void *v)
{
	__atomic_add_fetch(&dtor_calls, 1, __ATOMIC_RELAXED); /* the three may end at once, on two workers */
	free(v);
}
static void *key_user(void *a)
{
	CHECK(pthread_getspecific(key) == NULL);
	int *v = malloc(sizeof *v);
	*v = (int)(intptr_t)a;
	pthread_setspecific(key, v);
	usleep(1000);
	return (void *)(intptr_t)*(int *)pthread_getspecific(key);
}

static void keys(void)
{
	CHECK_EQ(pthread_key_create(&key, dtor), 0);
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, key_user, (void *)(intptr_t)(i + 10));
	for (int i = 0; i < 3; i++) {
		void *r;
		pthread_join(t[i], &r);
		CHECK_EQ((intptr_t)r, i + 10); /* each thread saw its own value */
	}
	CHECK_EQ(dtor_calls, 3);
	CHECK(pthread_getspecific(key) == NULL);
	CHECK_EQ(pthread_setspecific(key, &dtor_calls), 0);
	CHECK(pthread_getspecific(key) == &dtor_calls);
	CHECK_EQ(pthread_key_delete(key), 0);
	CHECK_EQ(pthread_setspecific(key, NULL), EINVAL);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int once_runs;
static void once_fn(void)
{
	once_runs++;
	usleep(2000); /* others arrive while it runs */
}
static void *once_user(void *a)
{
	pthread_once(&once, once_fn);
	return (void *)(intptr_t)once_runs;
}

static void once_only(void)
{
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, once_user, NULL);
	for (int i = 0; i < 4; i++) {
		void *r;
		pthread_join(t[i], &r);
		CHECK_EQ((intptr_t)r, 1); /* nobody returned before it had run */
	}
	CHECK_EQ(once_runs, 1);
}

static sem_t sem;
static void *sem_poster(void *a)
{
	usleep(2000);
	sem_post(&sem);
	return NULL;
}

static void semaphores(void)
{
	pthread_t t;
	int v;
	CHECK_EQ(sem_init(&sem, 0, 1), 0);
	CHECK_EQ(sem_wait(&sem), 0);
	CHECK_EQ(sem_trywait(&sem), -1);
	CHECK_EQ(errno, EAGAIN);
	struct timespec ts = in_ms(CLOCK_REALTIME, 10);
	CHECK_EQ(sem_timedwait(&sem, &ts), -1);
	CHECK_EQ(errno, ETIMEDOUT);
	pthread_create(&t, NULL, sem_poster, NULL);
	CHECK_EQ(sem_wait(&sem), 0); /* woken by the poster */
	pthread_join(t, NULL);
	sem_post(&sem);
	sem_post(&sem);
	CHECK_EQ(sem_getvalue(&sem, &v), 0);
	CHECK_EQ(v, 2);
	sem_destroy(&sem);
}

static pthread_barrier_t bar;
static int before, after_ok = 1;
static void *barrier_user(void *a)
{
	before++;
	pthread_barrier_wait(&bar);
	if (before != 3)
		after_ok = 0;
	return NULL;
}

static void barrier_and_spin(void)
{
	pthread_t t[3];
	pthread_barrier_init(&bar, NULL, 3);
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, barrier_user, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	CHECK(after_ok);
	pthread_spinlock_t s;
	pthread_spin_init(&s, 0);
	CHECK_EQ(pthread_spin_lock(&s), 0);
	CHECK_EQ(pthread_spin_trylock(&s), EBUSY);
	CHECK_EQ(pthread_spin_unlock(&s), 0);
}

int main(void)
{
	RUN(create_join_exit_self);
	RUN(attributes_and_detach);
	RUN(stack_size_is_first_chunk);
	RUN(mutex_kinds);
	RUN(an_unlock_frees_the_mutex_for_whoever_comes_first);
	RUN(a_waiter_that_keeps_losing_is_handed_the_mutex);
	RUN(condvars);
	RUN(rwlocks);
	RUN(keys);
	RUN(once_only);
	RUN(semaphores);
	RUN(barrier_and_spin);
	TAP_DONE();
}
