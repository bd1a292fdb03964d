/* Does a blocking call park only its caller?  A ticker thread sleeps 2 ms
 * at a time and counts the ticks that fall inside a window the waiting
 * thread opens around its call.  When the call blocks every thread (the
 * worker kernel thread), no tick lands in the window.
 *
 * Plain POSIX, so a test using it builds both with capcc and with
 * gcc -pthread (tests/posix_*.c are built and run both ways: the same
 * checks hold under glibc's own threads and under Capriccio).
 *
 *	ticker_start();
 *	TICKER_OPEN();
 *	r = epoll_wait(ep, ev, 8, 200);
 *	CHECK_TICKED(TICKER_CLOSE());
 *	ticker_stop(); */
#ifndef CAP_TICKER_H
#define CAP_TICKER_H
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include "tap.h"

/* Ticks a ~200 ms wait must see.  Under gcc -pthread it sees 65-97; a call
 * that stalls the worker sees 0.  Few enough to hold on a loaded machine. */
#ifndef TICKER_MIN
#define TICKER_MIN 3
#endif

static struct {
	pthread_t thread;
	volatile int stop, open;
	volatile long ticks;
} ticker_state;

static void *ticker_main(void *arg)
{
	struct timespec two_ms = {0, 2000000};
	while (!ticker_state.stop) {
		nanosleep(&two_ms, NULL);
		if (ticker_state.open)
			__atomic_add_fetch(&ticker_state.ticks, 1, __ATOMIC_RELAXED);
	}
	return arg;
}

static inline void ticker_start(void)
{
	ticker_state.stop = 0;
	ticker_state.open = 0;
	ticker_state.ticks = 0;
	if (pthread_create(&ticker_state.thread, NULL, ticker_main, NULL) != 0) {
		fprintf(stderr, "  ticker: pthread_create failed\n");
		abort();
	}
}

static inline void ticker_stop(void)
{
	ticker_state.stop = 1;
	pthread_join(ticker_state.thread, NULL);
}

static inline void ticker_open(void)
{
	__atomic_store_n(&ticker_state.ticks, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&ticker_state.open, 1, __ATOMIC_SEQ_CST);
}

static inline long ticker_close(void)
{
	__atomic_store_n(&ticker_state.open, 0, __ATOMIC_SEQ_CST);
	return __atomic_load_n(&ticker_state.ticks, __ATOMIC_RELAXED);
}

#define TICKER_OPEN() ticker_open()
#define TICKER_CLOSE() ticker_close()

/* A wait of a fixed length (a sleep, a timeout) may see too few ticks on a
 * loaded machine: TICKER_REPEAT(stmt) repeats it, up to 50 times, until
 * the open window has seen TICKER_MIN ticks.  A call that stops every
 * thread never lets the ticker tick, however often it is repeated. */
#define TICKER_REPEAT(stmt)                                                                            \
	for (int ticker_round_ = 0;                                                                    \
	     ticker_round_ < 50 && __atomic_load_n(&ticker_state.ticks, __ATOMIC_RELAXED) < TICKER_MIN; \
	     ticker_round_++)                                                                          \
	stmt

/* For the thread that ends a wait (unlocks, signals, returns): waits until
 * the open window has seen n ticks, so the wait lasts long enough however
 * late the waiting thread got to it. */
static inline void ticker_await(long n)
{
	struct timespec one_ms = {0, 1000000};
	while (!__atomic_load_n(&ticker_state.open, __ATOMIC_SEQ_CST) ||
	       __atomic_load_n(&ticker_state.ticks, __ATOMIC_RELAXED) < n)
		nanosleep(&one_ms, NULL);
}

/* The ticker kept running while the call waited. */
#define CHECK_TICKED(n)                                                                          \
	do {                                                                                     \
		long _n = (n);                                                                   \
		if (_n < TICKER_MIN) {                                                           \
			tap_case_failed = 1;                                                     \
			fprintf(stderr, "  check failed at %s:%d: the ticker ticked %ld times during " \
				"the wait (at least %d expected): the call blocked every thread\n",      \
				__FILE__, __LINE__, _n, TICKER_MIN);                              \
		}                                                                                \
	} while (0)

#endif
