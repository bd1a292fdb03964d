/* rhythm: threads that compute for C ms, then sleep for S ms, K times —
 * a program whose blocking graph is known in advance: one edge of ~C ms
 * (compute) and one blocking point with a wait of ~S ms (the sleep).
 *   rhythm [THREADS [ROUNDS [COMPUTE_MS [SLEEP_MS]]]]   (default 4 40 3 15) */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int rounds = 40, compute_ms = 3, sleep_ms = 15;

static long now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Busy for `ms` milliseconds of wall time, without blocking. */
static unsigned long compute(int ms)
{
	unsigned long x = 1;
	long end = now_ns() + ms * 1000000L;
	while (now_ns() < end)
		for (int i = 0; i < 1000; i++)
			x = x * 6364136223846793005UL + 1442695040888963407UL;
	return x;
}

static void *rhythm(void *arg)
{
	(void)arg;
	unsigned long sum = 0;
	for (int r = 0; r < rounds; r++) {
		sum += compute(compute_ms);
		usleep((useconds_t)sleep_ms * 1000); /* the blocking point */
	}
	return (void *)sum;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 4;
	if (argc > 2)
		rounds = atoi(argv[2]);
	if (argc > 3)
		compute_ms = atoi(argv[3]);
	if (argc > 4)
		sleep_ms = atoi(argv[4]);
	if (threads < 1 || threads > 1000 || rounds < 1 || compute_ms < 0 || sleep_ms < 0) {
		fprintf(stderr, "usage: rhythm [THREADS [ROUNDS [COMPUTE_MS [SLEEP_MS]]]]\n");
		return 2;
	}
	pthread_t t[1000];
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, rhythm, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("rhythm: %d threads x %d rounds of %d ms compute + %d ms sleep\n", threads, rounds, compute_ms, sleep_ms);
	return 0;
}
