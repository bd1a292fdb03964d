// The contention test's program (extension/test/sync.test.ts): one thread
// holds a mutex for about 5 ms at a time while three others wait for it, and
// it measures its own holds, so the test can hold the profiler to them.
// Lines the test finds are marked with comments.
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define HOLDS 40
#define WAITERS 3

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int done;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *holder(void *arg)
{
	(void)arg;
	uint64_t total = 0;
	for (int i = 0; i < HOLDS; i++) {
		pthread_mutex_lock(&lock); /* holder lock */
		uint64_t t0 = now_ns();
		struct timespec five = { 0, 5000000 };
		nanosleep(&five, NULL);
		total += now_ns() - t0;
		pthread_mutex_unlock(&lock); /* holder unlock */
		struct timespec rest = { 0, 200000 };
		nanosleep(&rest, NULL); /* the waiters get their turn */
	}
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	printf("hold_avg_ns=%llu holds=%d\n", (unsigned long long)(total / HOLDS), HOLDS);
	return NULL;
}

static void *waiter(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
		pthread_mutex_lock(&lock); /* waiter lock */
		pthread_mutex_unlock(&lock);
		struct timespec pause = { 0, 1000000 };
		nanosleep(&pause, NULL);
	}
	return NULL;
}

int main(void)
{
	pthread_t h, w[WAITERS];
	pthread_create(&h, NULL, holder, NULL);
	for (int i = 0; i < WAITERS; i++)
		pthread_create(&w[i], NULL, waiter, NULL);
	pthread_join(h, NULL);
	for (int i = 0; i < WAITERS; i++)
		pthread_join(w[i], NULL);
	return 0;
}
