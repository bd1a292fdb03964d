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

static void *cond_waiter(void *a)
{
	cap_mutex_lock(&m);
	waiting++;
	while (!go)
		cap_cond_wait(&cv, &m);
	finished++;
	cap_mutex_unlock(&m);
	return a;
}

static void *sleeper(void *a)
{
	waiting++;
	cap_sleep_ns(200000000); /* 200 ms: all of them are asleep together */
	finished++;
	return a;
}

static cap_thread_t *ts[N];

static void hundred_thousand_blocked(void)
{
	for (long i = 0; i < N; i++) {
		ts[i] = cap_spawn(i % 2 ? sleeper : cond_waiter, (void *)i, NULL);
		CHECK(ts[i] != NULL);
		if (!ts[i])
			return;
	}
	while (waiting < N)
		cap_yield();
	cap_info_t info;
	cap_get_info(&info);
	CHECK_EQ(info.threads, N + 1);
	CHECK_EQ(info.sleeping, N / 2);
	CHECK_EQ(finished, 0);
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
}

int main(void)
{
	RUN(hundred_thousand_blocked);
	TAP_DONE();
}
