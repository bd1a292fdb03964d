/* hog: one thread computes for a long time without ever blocking or
 * yielding, while a ticker thread wants to run every 5 ms.  On Capriccio's
 * cooperative threads the ticker starves: the profiler samples the hog's
 * loop and suggests a yield point there.
 *   hog [SECONDS]   (default 1) */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static volatile int done;
static long ticks, late_ms_max;

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void *ticker(void *arg)
{
	while (!done) {
		long before = now_ms();
		usleep(5000);
		long late = now_ms() - before - 5;
		if (late > late_ms_max)
			late_ms_max = late;
		ticks++;
	}
	return arg;
}

static void *hog(void *arg)
{
	long seconds = (long)arg;
	long end = now_ms() + seconds * 1000;
	unsigned long x = 1;
	while (now_ms() < end) {
		for (int i = 0; i < 100000; i++) /* the hot loop: no blocking, no yield */
			x = x * 2862933555777941757UL + 3037000493UL;
	}
	done = 1;
	return (void *)x;
}

int main(int argc, char **argv)
{
	long seconds = argc > 1 ? atol(argv[1]) : 1;
	pthread_t t, h;
	pthread_create(&t, NULL, ticker, NULL);
	usleep(20000);
	pthread_create(&h, NULL, hog, (void *)seconds);
	pthread_join(h, NULL);
	pthread_join(t, NULL);
	printf("hog: ticker ran %ld times; worst delay %ld ms\n", ticks, late_ms_max);
	return 0;
}
