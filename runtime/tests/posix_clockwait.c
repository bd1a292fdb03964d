/* The waits with a chosen clock (glibc 2.30): sem_clockwait and
 * pthread_rwlock_clockrdlock/clockwrlock wait on the runtime's objects,
 * parking only the caller, and time out on the clock given.  (glibc's own
 * versions, called on the runtime's objects, stopped every thread and read
 * a held lock as free.) */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>
#include "tap.h"
#include "ticker.h"

static struct timespec in_ms(clockid_t clock, long ms)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	ts.tv_nsec += ms % 1000 * 1000000L;
	ts.tv_sec += ms / 1000 + ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

static sem_t sem;
static void *post_later(void *a)
{
	ticker_await(TICKER_MIN);
	CHECK_EQ(sem_post(&sem), 0);
	return a;
}

static int sem_wait_50ms(void)
{
	struct timespec ts = in_ms(CLOCK_MONOTONIC, 50);
	errno = 0;
	int r = sem_clockwait(&sem, CLOCK_MONOTONIC, &ts);
	CHECK_EQ(errno, ETIMEDOUT);
	return r;
}

static void sem_clockwait_parks_only_the_caller(void)
{
	CHECK_EQ(sem_init(&sem, 0, 0), 0);
	ticker_start();
	pthread_t t;
	pthread_create(&t, NULL, post_later, NULL);
	TICKER_OPEN();
	struct timespec ts = in_ms(CLOCK_MONOTONIC, 60000);
	CHECK_EQ(sem_clockwait(&sem, CLOCK_MONOTONIC, &ts), 0);
	CHECK_TICKED(TICKER_CLOSE());
	pthread_join(t, NULL);
	TICKER_OPEN();
	TICKER_REPEAT(CHECK_EQ(sem_wait_50ms(), -1));
	CHECK_TICKED(TICKER_CLOSE());
	ticker_stop();
	sem_destroy(&sem);
}

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static volatile int held, go, reader_got_it;

/* Holds the lock as a writer until told to let it go, some ticks later. */
static void *writer(void *a)
{
	CHECK_EQ(pthread_rwlock_wrlock(&rw), 0);
	held = 1;
	while (!go)
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	ticker_await(TICKER_MIN);
	CHECK_EQ(reader_got_it, 0);
	CHECK_EQ(pthread_rwlock_unlock(&rw), 0);
	return a;
}

static void *try_write(void *a)
{
	struct timespec ts = in_ms(CLOCK_REALTIME, 50);
	*(int *)a = pthread_rwlock_clockwrlock(&rw, CLOCK_REALTIME, &ts);
	return NULL;
}

static int rdlock_50ms(void)
{
	struct timespec ts = in_ms(CLOCK_MONOTONIC, 50);
	return pthread_rwlock_clockrdlock(&rw, CLOCK_MONOTONIC, &ts);
}

static void rwlock_clock_waits_park_only_the_caller(void)
{
	ticker_start();
	pthread_t t;
	pthread_create(&t, NULL, writer, NULL);
	while (!held)
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	TICKER_OPEN();
	TICKER_REPEAT(CHECK_EQ(rdlock_50ms(), ETIMEDOUT));
	CHECK_TICKED(TICKER_CLOSE());
	TICKER_OPEN();
	go = 1;
	struct timespec ts = in_ms(CLOCK_MONOTONIC, 60000);
	CHECK_EQ(pthread_rwlock_clockrdlock(&rw, CLOCK_MONOTONIC, &ts), 0);
	reader_got_it = 1;
	CHECK_TICKED(TICKER_CLOSE());
	pthread_join(t, NULL);
	ticker_stop();
	/* A reader (this thread) holds it: a writer times out, on the other clock. */
	int w = 0;
	pthread_t t2;
	pthread_create(&t2, NULL, try_write, &w);
	pthread_join(t2, NULL);
	CHECK_EQ(w, ETIMEDOUT);
	CHECK_EQ(pthread_rwlock_unlock(&rw), 0);
}

int main(void)
{
	RUN(sem_clockwait_parks_only_the_caller);
	RUN(rwlock_clock_waits_park_only_the_caller);
	TAP_DONE();
}
