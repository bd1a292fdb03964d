/* lookup: one thread calls an external library function that blocks in the
 * kernel (slowlib.c), while a ticker thread wants to run every 5 ms.  The
 * profiler's watchdog sees the whole scheduler stall inside slow_lookup
 * and suggests annotating it as blocking; built with
 * slowlib.annotations.json beside it (make annotated), slow_lookup runs
 * on a helper thread and the ticker keeps ticking meanwhile.  It prints
 * how many ticks happened while a lookup was in progress: 0 means every
 * lookup stalled everything.
 *   lookup [CALLS [MS]]   (default 5 40) */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int slow_lookup(int key, int ms);

static volatile int done, in_lookup;
static long ticks, ticks_during_lookups, late_ms_max;
static double lookup_ms_max; /* the longest run with a lookup in it, by this program's own clock */
static int calls = 5, ms = 40;

static double now_ms_exact(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static long now_ms(void) { return (long)now_ms_exact(); }

static void *ticker(void *arg)
{
	(void)arg;
	while (!done) {
		long before = now_ms();
		usleep(5000);
		long late = now_ms() - before - 5;
		if (late > late_ms_max)
			late_ms_max = late;
		ticks++;
		if (in_lookup)
			ticks_during_lookups++;
	}
	return NULL;
}

static void *looker(void *arg)
{
	(void)arg;
	long sum = 0;
	/* A lookup stalls the scheduler for its whole run: from this thread's
	 * wake-up to its next sleep, however long the kernel kept the worker
	 * off the CPU on either side of the call. */
	double run_start = now_ms_exact();
	for (int i = 0; i < calls; i++) {
		in_lookup = 1;
		sum += slow_lookup(i, ms);
		in_lookup = 0;
		double run = now_ms_exact() - run_start;
		if (run > lookup_ms_max)
			lookup_ms_max = run;
		usleep(10000);
		run_start = now_ms_exact();
	}
	done = 1;
	return (void *)sum;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		calls = atoi(argv[1]);
	if (argc > 2)
		ms = atoi(argv[2]);
	pthread_t t, l;
	pthread_create(&t, NULL, ticker, NULL);
	pthread_create(&l, NULL, looker, NULL);
	pthread_join(l, NULL);
	pthread_join(t, NULL);
	printf("lookup: %d calls of %d ms; ticker ran %ld times (%ld during lookups), worst delay %ld ms; longest run with a lookup %.2f ms\n",
	       calls, ms, ticks, ticks_during_lookups, late_ms_max, lookup_ms_max);
	return 0;
}
