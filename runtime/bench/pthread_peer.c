/* The kernel-thread peer of runtime_bench: the same measurements with
 * plain pthreads.  Prints "pthread_switch_ns=X pthread_spawn_join_ns=Y". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int turn;
static long rounds;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void *pinger(void *a)
{
	int me = (int)(long)a;
	pthread_mutex_lock(&m);
	for (long i = 0; i < rounds; i++) {
		while (turn != me)
			pthread_cond_wait(&c, &m);
		turn = !me;
		pthread_cond_signal(&c);
	}
	pthread_mutex_unlock(&m);
	return NULL;
}

static void *noop(void *a) { return a; }

int main(int argc, char **argv)
{
	rounds = argc > 1 ? atol(argv[1]) : 200000;
	long spawns = argc > 2 ? atol(argv[2]) : 20000;
	pthread_t a, b;
	double t0 = now();
	pthread_create(&a, NULL, pinger, (void *)0);
	pthread_create(&b, NULL, pinger, (void *)1);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	double sw = (now() - t0) / (2.0 * rounds);
	t0 = now();
	for (long i = 0; i < spawns; i++) {
		pthread_t t;
		pthread_create(&t, NULL, noop, NULL);
		pthread_join(t, NULL);
	}
	double sj = (now() - t0) / spawns;
	printf("pthread_switch_ns=%.1f pthread_spawn_join_ns=%.1f\n", sw, sj);
	return 0;
}
