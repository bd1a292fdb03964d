/* 100,000 threads blocked at once — half on a condition variable, half in
 * sleep — all released and joined. */
#include <capriccio.h>
#include <stdint.h>
#include "tap.h"

#define N 100000
static cap_mutex_t m;
static cap_cond_t cv;
static int go;
static long waiting, finished;

/* The counts are atomic: threads on different workers run at once. */
static void count(long *c) { __atomic_fetch_add(c, 1, __ATOMIC_RELAXED); }

static void *cond_waiter(void *a)
{
	cap_mutex_lock(&m);
	count(&waiting);
	while (!go)
		cap_cond_wait(&cv, &m);
	count(&finished);
	cap_mutex_unlock(&m);
	return a;
}

/* All sleepers wake at one time, chosen before they are spawned: while it
 * is in the future, every one of them is asleep. */
static uint64_t release_ns;

static void *sleeper(void *a)
{
	count(&waiting);
	for (uint64_t now; (now = cap_now_ns()) < release_ns;)
		cap_sleep_ns(release_ns - now);
	count(&finished);
	return a;
}

static cap_thread_t *ts[N];

/* One round with the sleepers released window_ns after the spawning
 * starts.  Returns 0 when the machine was too slow to see them all asleep
 * (the window had passed when it looked); the threads are joined either way. */
static int blocked_round(uint64_t window_ns)
{
	go = 0;
	waiting = finished = 0;
	release_ns = cap_now_ns() + window_ns;
	for (long i = 0; i < N; i++) {
		ts[i] = cap_spawn(i % 2 ? sleeper : cond_waiter, (void *)i, NULL);
		CHECK(ts[i] != NULL);
		if (!ts[i])
			return 1;
	}
	/* A sleeper counts itself just before it sleeps, and on another
	 * worker it may not be asleep yet: wait until the runtime counts them
	 * all asleep, or the window passes. */
	cap_info_t info;
	for (;;) {
		cap_get_info(&info);
		if (__atomic_load_n(&waiting, __ATOMIC_RELAXED) == N && info.sleeping >= N / 2)
			break;
		if (cap_now_ns() >= release_ns)
			break;
		cap_yield();
	}
	int seen = cap_now_ns() < release_ns; /* no sleeper could have woken yet */
	if (seen) {
		CHECK_EQ(info.threads, N + 1);
		CHECK_EQ(info.sleeping, N / 2);
		CHECK_EQ(finished, 0);
	}
	cap_mutex_lock(&m);
	go = 1;
	cap_cond_broadcast(&cv);
	cap_mutex_unlock(&m);
	long joined = 0, right = 0;
	for (long i = 0; i < N; i++) {
		void *r;
		joined += cap_join(ts[i], &r) == 0;
		right += (long)(intptr_t)r == i;
	}
	CHECK_EQ(joined, N);
	CHECK_EQ(right, N);
	CHECK_EQ(finished, N);
	cap_get_info(&info);
	CHECK_EQ(info.threads, 1);
	CHECK_EQ(info.sleeping, 0);
	return seen;
}

/* 200 ms is ample on an idle machine; a loaded one gets a longer window
 * rather than a failure that says nothing about the runtime. */
static void hundred_thousand_blocked(void)
{
	int seen = 0;
	for (uint64_t window = 200000000; !seen && window <= 6400000000u; window *= 2)
		seen = blocked_round(window);
	CHECK(seen); /* all asleep together, at least once */
}

int main(void)
{
	RUN(hundred_thousand_blocked);
	TAP_DONE();
}
