/* The _np joins (pthread_tryjoin_np, pthread_timedjoin_np,
 * pthread_clockjoin_np) with glibc's results; a timed join parks only its
 * caller.  Built with capcc and with gcc -pthread. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include "ticker.h"

static void *sleeper(void *arg)
{
	struct timespec d = {0, (long)(intptr_t)arg * 1000000L};
	nanosleep(&d, NULL);
	return arg;
}

static struct timespec in_ms(clockid_t clock, long ms)
{
	struct timespec t;
	clock_gettime(clock, &t);
	t.tv_nsec += (ms % 1000) * 1000000L;
	t.tv_sec += ms / 1000 + t.tv_nsec / 1000000000L;
	t.tv_nsec %= 1000000000L;
	return t;
}

static void tryjoin_is_busy_until_the_thread_ends(void)
{
	pthread_t t;
	void *r = NULL;
	CHECK_EQ(pthread_create(&t, NULL, sleeper, (void *)(intptr_t)50), 0);
	CHECK_EQ(pthread_tryjoin_np(t, &r), EBUSY);
	/* Asked again until the thread has ended: a loaded machine may run the
	 * 50 ms sleeper late, and EBUSY until then is the right answer. */
	int e;
	while ((e = pthread_tryjoin_np(t, &r)) == EBUSY)
		usleep(10000);
	CHECK_EQ(e, 0);
	CHECK(r == (void *)(intptr_t)50);
}

static void timedjoin_times_out_and_leaves_the_thread_joinable(void)
{
	pthread_t t;
	void *r = NULL;
	CHECK_EQ(pthread_create(&t, NULL, sleeper, (void *)(intptr_t)300), 0);
	struct timespec soon = in_ms(CLOCK_REALTIME, 200);
	TICKER_OPEN();
	CHECK_EQ(pthread_timedjoin_np(t, &r, &soon), ETIMEDOUT);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(pthread_join(t, &r), 0);
	CHECK(r == (void *)(intptr_t)300);
}

static void clockjoin_on_the_monotonic_clock(void)
{
	pthread_t t;
	void *r = NULL;
	CHECK_EQ(pthread_create(&t, NULL, sleeper, (void *)(intptr_t)200), 0);
	struct timespec late = in_ms(CLOCK_MONOTONIC, 10000);
	TICKER_OPEN();
	CHECK_EQ(pthread_clockjoin_np(t, &r, CLOCK_MONOTONIC, &late), 0);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK(r == (void *)(intptr_t)200);
}

static void bad_arguments_as_glibc(void)
{
	pthread_t t;
	void *r = NULL;
	CHECK_EQ(pthread_create(&t, NULL, sleeper, (void *)(intptr_t)20), 0);
	struct timespec bad = {0, 1000000000L}, ok = in_ms(CLOCK_MONOTONIC, 10000);
	CHECK_EQ(pthread_clockjoin_np(t, &r, CLOCK_PROCESS_CPUTIME_ID, &ok), EINVAL);
	CHECK_EQ(pthread_timedjoin_np(t, &r, NULL), 0); /* no time: waits for the end */
	CHECK(r == (void *)(intptr_t)20);
	/* A time out of range is no limit either (glibc's futex refuses it and
	 * its join waits on); a time long past times out at once. */
	struct timespec past = {-1, 0};
	CHECK_EQ(pthread_create(&t, NULL, sleeper, (void *)(intptr_t)100), 0);
	CHECK_EQ(pthread_timedjoin_np(t, &r, &past), ETIMEDOUT);
	CHECK_EQ(pthread_timedjoin_np(t, &r, &bad), 0);
	CHECK(r == (void *)(intptr_t)100);
}

int main(void)
{
	ticker_start();
	RUN(tryjoin_is_busy_until_the_thread_ends);
	RUN(timedjoin_times_out_and_leaves_the_thread_joinable);
	RUN(clockjoin_on_the_monotonic_clock);
	RUN(bad_arguments_as_glibc);
	ticker_stop();
	TAP_DONE();
}
