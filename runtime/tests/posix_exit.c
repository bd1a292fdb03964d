/* When main returns, exit() runs the atexit handlers and the libraries'
 * destructors while the other threads still run (libuv's destructor wakes
 * its pool threads and joins them).  The handler prints the result: the
 * program has no other. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int stop;
static pthread_t pool;
static int pool_result;

static void *pool_thread(void *arg)
{
	pthread_mutex_lock(&mu);
	while (!stop)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return arg;
}

/* Runs after main returned: wakes the waiting thread and joins it. */
static void shutdown_pool(void)
{
	pthread_mutex_lock(&mu);
	stop = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
	void *r = NULL;
	int e = pthread_join(pool, &r);
	/* A sleep in a handler parks, as any other. */
	usleep(1000);
	printf("%s - an atexit handler signals and joins a thread after main returned\n", e == 0 && r == &pool_result ? "ok" : "not ok");
	printf("%d passed, %d failed\n", e == 0 && r == &pool_result, !(e == 0 && r == &pool_result));
	fflush(stdout);
	_exit(e == 0 && r == &pool_result ? 0 : 1);
}

int main(void)
{
	if (pthread_create(&pool, NULL, pool_thread, &pool_result) != 0)
		return 1;
	usleep(10000); /* the pool thread waits on the condition variable */
	atexit(shutdown_pool);
	return 0; /* the runner counts this program by the handler's summary line */
}
