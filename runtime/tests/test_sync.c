/* Mutex, condition variable, semaphore, rwlock, channel and wait-queue
 * semantics, including timed waits — through the cap_* API. */
#include <capriccio.h>
#include <errno.h>
#include <stdint.h>
#include "tap.h"
#include "pingpong.h"

#define MS 1000000ull

static cap_mutex_t m;
static long shared, in_cs, max_in_cs;

static void *locker(void *a)
{
	for (int i = 0; i < 1000; i++) {
		cap_mutex_lock(&m);
		in_cs++;
		if (in_cs > max_in_cs)
			max_in_cs = in_cs;
		long v = shared;
		if (i % 7 == 0)
			cap_yield(); /* others run while we hold the lock */
		shared = v + 1;
		in_cs--;
		cap_mutex_unlock(&m);
	}
	return NULL;
}

static void mutex_excludes(void)
{
	cap_thread_t *t[8];
	shared = max_in_cs = 0;
	for (int i = 0; i < 8; i++)
		t[i] = cap_spawn(locker, NULL, NULL);
	for (int i = 0; i < 8; i++)
		cap_join(t[i], NULL);
	CHECK_EQ(shared, 8000);
	CHECK_EQ(max_in_cs, 1);
}

static void *try_and_time(void *a)
{
	int *res = a;
	res[0] = cap_mutex_trylock(&m);
	uint64_t t0 = cap_now_ns();
	res[1] = cap_mutex_timedlock(&m, cap_now_ns() + 30 * MS);
	res[2] = (int)((cap_now_ns() - t0) / MS);
	return NULL;
}

static void mutex_try_timed_and_errors(void)
{
	int res[3];
	CHECK_EQ(cap_mutex_lock(&m), 0);
	CHECK_EQ(cap_mutex_lock(&m), EDEADLK);
	cap_thread_t *t = cap_spawn(try_and_time, res, NULL);
	cap_join(t, NULL);
	CHECK_EQ(res[0], EBUSY);
	CHECK_EQ(res[1], ETIMEDOUT);
	CHECK(res[2] >= 30);
	CHECK_EQ(cap_mutex_unlock(&m), 0);
	CHECK_EQ(cap_mutex_unlock(&m), EPERM);
	CHECK_EQ(cap_mutex_trylock(&m), 0);
	cap_mutex_unlock(&m);
}

/* FIFO hand-off: waiters get the lock in arrival order. */
static char fifo[8];
static int fifo_n;
static void *fifo_locker(void *a)
{
	cap_mutex_lock(&m);
	fifo[fifo_n++] = (char)(intptr_t)a;
	cap_mutex_unlock(&m);
	return NULL;
}

static void mutex_fifo_handoff(void)
{
	fifo_n = 0;
	cap_mutex_lock(&m);
	cap_thread_t *t[4];
	for (int i = 0; i < 4; i++)
		t[i] = cap_spawn(fifo_locker, (void *)(intptr_t)('a' + i), NULL);
	cap_yield(); /* all four queue up on the mutex */
	cap_mutex_unlock(&m);
	for (int i = 0; i < 4; i++)
		cap_join(t[i], NULL);
	fifo[fifo_n] = 0;
	if (cap_workers() == 1) {
		CHECK(strcmp(fifo, "abcd") == 0);
	} else { /* they reach the mutex side by side, in no set order: each gets it once */
		CHECK_EQ(fifo_n, 4);
		for (char c = 'a'; c <= 'd'; c++)
			CHECK(strchr(fifo, c) != NULL);
	}
}

static cap_cond_t cv;
static int ready, woken, waiting;
static void *cond_waiter(void *a)
{
	cap_mutex_lock(&m);
	waiting++;
	while (!ready)
		cap_cond_wait(&cv, &m);
	woken++;
	cap_mutex_unlock(&m);
	return NULL;
}

static void cond_signal_broadcast(void)
{
	cap_thread_t *t[5];
	ready = woken = waiting = 0;
	for (int i = 0; i < 5; i++)
		t[i] = cap_spawn(cond_waiter, NULL, NULL);
	/* all five waiting (with several workers a yield does not see to it) */
	for (int n = 0; n < 5;) {
		cap_yield();
		cap_mutex_lock(&m);
		n = waiting;
		cap_mutex_unlock(&m);
	}
	CHECK_EQ(woken, 0);
	cap_mutex_lock(&m);
	ready = 1;
	cap_cond_signal(&cv);
	cap_mutex_unlock(&m);
	cap_yield();
	cap_yield();
	for (int i = 0; i < 1000 && !__atomic_load_n(&woken, __ATOMIC_RELAXED); i++)
		cap_sleep_ns(1000000); /* it may run on another worker */
	cap_sleep_ns(10000000);
	CHECK_EQ(woken, 1); /* signal wakes exactly one */
	cap_mutex_lock(&m);
	cap_cond_broadcast(&cv);
	cap_mutex_unlock(&m);
	for (int i = 0; i < 5; i++)
		cap_join(t[i], NULL);
	CHECK_EQ(woken, 5);
}

static void cond_timedwait(void)
{
	cap_mutex_lock(&m);
	uint64_t t0 = cap_now_ns();
	int r = cap_cond_timedwait(&cv, &m, t0 + 25 * MS);
	uint64_t el = cap_now_ns() - t0;
	CHECK_EQ(r, ETIMEDOUT);
	CHECK(el >= 25 * MS);
	CHECK(m.owner == cap_self()); /* the mutex is held again */
	CHECK_EQ(cap_cond_wait(&cv, &(cap_mutex_t){ 0 }), EPERM);
	cap_mutex_unlock(&m);
}

static cap_sem_t sem;
static int sem_got;
static void *sem_taker(void *a)
{
	cap_sem_wait(&sem);
	__atomic_fetch_add(&sem_got, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void semaphore(void)
{
	cap_sem_init(&sem, 2);
	sem_got = 0;
	cap_thread_t *t[4];
	for (int i = 0; i < 4; i++)
		t[i] = cap_spawn(sem_taker, NULL, NULL);
	cap_yield();
	for (int i = 0; i < 1000 && __atomic_load_n(&sem_got, __ATOMIC_RELAXED) < 2; i++)
		cap_sleep_ns(1000000); /* the takers may run on another worker */
	cap_sleep_ns(10000000);
	CHECK_EQ(sem_got, 2);
	CHECK_EQ(cap_sem_trywait(&sem), EAGAIN);
	uint64_t t0 = cap_now_ns();
	CHECK_EQ(cap_sem_timedwait(&sem, t0 + 20 * MS), ETIMEDOUT);
	CHECK(cap_now_ns() - t0 >= 20 * MS);
	cap_sem_post(&sem);
	cap_sem_post(&sem);
	for (int i = 0; i < 4; i++)
		cap_join(t[i], NULL);
	CHECK_EQ(sem_got, 4);
	CHECK_EQ(sem.count, 0);
	cap_sem_post(&sem);
	CHECK_EQ(cap_sem_trywait(&sem), 0);
}

static cap_rwlock_t rw;
static int readers_in, max_readers, writer_in, overlap;
static void *reader(void *a)
{
	cap_rwlock_rdlock(&rw, 0);
	readers_in++;
	if (writer_in)
		overlap = 1;
	if (readers_in > max_readers)
		max_readers = readers_in;
	cap_sleep_ns(2 * MS);
	readers_in--;
	cap_rwlock_unlock(&rw);
	return NULL;
}
static void *writer(void *a)
{
	cap_rwlock_wrlock(&rw, 0);
	writer_in++;
	if (readers_in || writer_in > 1)
		overlap = 1;
	cap_sleep_ns(2 * MS);
	writer_in--;
	cap_rwlock_unlock(&rw);
	return NULL;
}

static void rwlock_semantics(void)
{
	cap_thread_t *t[9];
	for (int i = 0; i < 9; i++)
		t[i] = cap_spawn(i % 3 == 2 ? writer : reader, NULL, NULL);
	for (int i = 0; i < 9; i++)
		cap_join(t[i], NULL);
	CHECK_EQ(overlap, 0);
	CHECK(max_readers >= 2); /* readers shared the lock */
	CHECK_EQ(cap_rwlock_rdlock(&rw, 0), 0);
	CHECK_EQ(cap_rwlock_trywrlock(&rw), EBUSY);
	uint64_t t0 = cap_now_ns();
	CHECK_EQ(cap_rwlock_wrlock(&rw, t0 + 15 * MS), ETIMEDOUT);
	CHECK(cap_now_ns() - t0 >= 15 * MS);
	CHECK_EQ(cap_rwlock_tryrdlock(&rw), 0); /* the timed-out writer no longer holds readers back */
	cap_rwlock_unlock(&rw);
	cap_rwlock_unlock(&rw);
	CHECK_EQ(cap_rwlock_unlock(&rw), EPERM);
	CHECK_EQ(cap_rwlock_trywrlock(&rw), 0);
	cap_rwlock_unlock(&rw);
}

static cap_chan_t ch;
static void *producer(void *a)
{
	for (intptr_t i = 1; i <= 100; i++)
		cap_chan_send(&ch, (void *)i, 0);
	cap_chan_close(&ch);
	return NULL;
}

static void channel(void)
{
	void *ring[4];
	cap_chan_init(&ch, ring, 4);
	cap_thread_t *p = cap_spawn(producer, NULL, NULL);
	long sum = 0, n = 0;
	void *item;
	while (cap_chan_recv(&ch, &item, 0) == 0) {
		sum += (intptr_t)item;
		n++;
		CHECK(ch.count <= 4);
	}
	cap_join(p, NULL);
	CHECK_EQ(n, 100);
	CHECK_EQ(sum, 5050);
	CHECK_EQ(cap_chan_send(&ch, NULL, 0), EPIPE);
	cap_chan_init(&ch, ring, 4);
	uint64_t t0 = cap_now_ns();
	CHECK_EQ(cap_chan_recv(&ch, &item, t0 + 10 * MS), ETIMEDOUT);
	CHECK(cap_now_ns() - t0 >= 10 * MS);
}

/* A bare wait queue has no predicate: a wake before the wait is lost.  So
 * all run on worker 0, where a waiter that has counted itself has also
 * queued itself before main runs again (with several workers a yield does
 * not see to it). */
static cap_waitq_t wq;
static int wq_woken, wq_queued;
static void *wq_waiter(void *a)
{
	cap_bind(0);
	__atomic_fetch_add(&wq_queued, 1, __ATOMIC_RELAXED);
	if (cap_waitq_wait(&wq, 0) == 0)
		__atomic_fetch_add(&wq_woken, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void wait_queue(void)
{
	cap_thread_t *t[3];
	cap_bind(0);
	for (int i = 0; i < 3; i++)
		t[i] = cap_spawn(wq_waiter, NULL, NULL);
	while (__atomic_load_n(&wq_queued, __ATOMIC_RELAXED) < 3)
		cap_yield();
	CHECK_EQ(cap_waitq_wake_one(&wq), 1);
	CHECK_EQ(cap_waitq_wake_all(&wq), 2);
	CHECK_EQ(cap_waitq_wake_all(&wq), 0);
	for (int i = 0; i < 3; i++)
		cap_join(t[i], NULL);
	CHECK_EQ(wq_woken, 3);
	CHECK_EQ(cap_waitq_wait(&wq, cap_now_ns() + MS), ETIMEDOUT);
}

/* Threads that switch only by parking (pingpong.h) keep their run queue
 * full: a sleeper among them must still wake on time. */
static void sleepers_wake_among_threads_that_only_park(void)
{
	pingpong_start(2000 * MS);
	uint64_t t0 = cap_now_ns();
	cap_sleep_ns(20 * MS);
	uint64_t slept = cap_now_ns() - t0;
	pingpong_stop();
	printf("  a 20 ms sleep among %d ping-pong pairs took %.1f ms\n", PINGPONG_PAIRS, (double)slept / MS);
	CHECK(slept >= 20 * MS && slept < 1000 * MS);
}

int main(void)
{
	RUN(mutex_excludes);
	RUN(mutex_try_timed_and_errors);
	RUN(mutex_fifo_handoff);
	RUN(cond_signal_broadcast);
	RUN(cond_timedwait);
	RUN(semaphore);
	RUN(rwlock_semantics);
	RUN(channel);
	RUN(wait_queue);
	RUN(sleepers_wake_among_threads_that_only_park);
	TAP_DONE();
}
