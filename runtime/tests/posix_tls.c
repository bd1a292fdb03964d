/* Thread-locals belong to each thread, as under glibc: every spelling,
 * initialised and zeroed, across blocking calls, for 10,000 threads at once,
 * for a thread's own pointers to them, through fork, signal handlers, TLS
 * and pthread-key destructors and the exit handlers. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

static __thread long mine;                 /* .tbss */
static _Thread_local int seeded = 42;      /* .tdata */
static thread_local char label[16] = "fresh"; /* C11 <threads.h> spelling, .tdata */
__thread long from_ctor;                   /* what a constructor left for main */

static void pause_ms(long ms)
{
	struct timespec ts = { 0, ms * 1000000L };
	nanosleep(&ts, NULL);
}

static pthread_t start(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	if (pthread_create(&t, NULL, fn, arg) != 0) {
		fprintf(stderr, "  pthread_create failed\n");
		abort();
	}
	return t;
}

static long join(pthread_t t)
{
	void *r;
	pthread_join(t, &r);
	return (long)(intptr_t)r;
}

/* ---- The program ------------------------------------------------ */

static pthread_barrier_t both;

/* Adds `step` five times, sleeping between additions. */
static void *add_five_times(void *arg)
{
	long step = (long)(intptr_t)arg;
	pthread_barrier_wait(&both); /* the two threads overlap */
	for (int i = 0; i < 5; i++) {
		mine += step;
		pause_ms(1);
	}
	return (void *)(intptr_t)mine;
}

static void each_thread_adds_to_its_own_copy(void)
{
	pthread_barrier_init(&both, NULL, 2);
	pthread_t a = start(add_five_times, (void *)1), b = start(add_five_times, (void *)100);
	CHECK_EQ(join(a), 5);
	CHECK_EQ(join(b), 500);
	CHECK_EQ(mine, 0); /* main's own copy was never touched */
	pthread_barrier_destroy(&both);
}

/* ---- Every spelling starts from the initial image ------------------------ */

static void *scribble(void *arg)
{
	long ok = mine == 0 && seeded == 42 && strcmp(label, "fresh") == 0;
	mine = (long)(intptr_t)arg;
	seeded = (int)(intptr_t)arg;
	snprintf(label, sizeof label, "t%ld", (long)(intptr_t)arg);
	pause_ms(1);
	ok = ok && mine == (long)(intptr_t)arg && seeded == (int)(intptr_t)arg && label[0] == 't';
	return (void *)ok;
}

static void each_thread_starts_from_the_image(void)
{
	seeded = 7;
	snprintf(label, sizeof label, "main");
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		t[i] = start(scribble, (void *)(intptr_t)(i + 1));
	for (int i = 0; i < 4; i++)
		CHECK_EQ(join(t[i]), 1);
	CHECK_EQ(seeded, 7);
	CHECK(strcmp(label, "main") == 0);
	seeded = 42;
	snprintf(label, sizeof label, "fresh");
}

/* ---- Many threads, all parked at once ------------------------------------- */

#define MANY 10000
static pthread_mutex_t many_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t many_cv = PTHREAD_COND_INITIALIZER;
static int many_parked, many_go;

static void *keep_value(void *arg)
{
	long id = (long)(intptr_t)arg;
	mine = id * 3 + 1;
	seeded += (int)id;
	pthread_mutex_lock(&many_mu);
	many_parked++;
	pthread_cond_broadcast(&many_cv);
	while (!many_go)
		pthread_cond_wait(&many_cv, &many_mu);
	pthread_mutex_unlock(&many_mu);
	return (void *)(intptr_t)(mine == id * 3 + 1 && seeded == 42 + (int)id);
}

static void ten_thousand_threads_keep_distinct_values(void)
{
	static pthread_t t[MANY];
	int made = 0;
	for (; made < MANY; made++)
		if (pthread_create(&t[made], NULL, keep_value, (void *)(intptr_t)made) != 0)
			break;
	CHECK_EQ(made, MANY);
	pthread_mutex_lock(&many_mu);
	while (many_parked < made)
		pthread_cond_wait(&many_cv, &many_mu);
	many_go = 1;
	pthread_cond_broadcast(&many_cv);
	pthread_mutex_unlock(&many_mu);
	long kept = 0;
	for (int i = 0; i < made; i++)
		kept += join(t[i]);
	CHECK_EQ(kept, made);
}

/* ---- Threads spawned by threads -------------------------------------------- */

static void *child_of_thread(void *arg)
{
	long fresh = mine == 0 && seeded == 42;
	mine = 1000;
	seeded = 1000;
	pause_ms(1);
	return (void *)(intptr_t)(fresh && mine == 1000 && seeded == 1000);
}

static void *parent_thread(void *arg)
{
	mine = 7;
	seeded = 9;
	pthread_t c = start(child_of_thread, NULL);
	long child_ok = join(c);
	return (void *)(intptr_t)(child_ok && mine == 7 && seeded == 9);
}

static void a_thread_spawned_by_a_thread_starts_fresh(void)
{
	CHECK_EQ(join(start(parent_thread, NULL)), 1);
}

/* ---- A thread's own pointers to its thread-locals --------------------------- */

static long *where_mine[2]; /* each thread keeps a pointer to its copy in a global */

static void *use_own_pointer(void *arg)
{
	long v = (long)(intptr_t)arg;
	long *p = &mine;
	where_mine[v / 20] = p;
	*p = v;
	pause_ms(1); /* the other thread runs, with its own value */
	long ok = *p == v && mine == v;
	*where_mine[v / 20] += 1; /* writes through the pointer land in its own copy */
	pause_ms(1);
	return (void *)(intptr_t)(ok && mine == v + 1);
}

static void own_pointers_survive_blocking_calls(void)
{
	pthread_t a = start(use_own_pointer, (void *)10), b = start(use_own_pointer, (void *)20);
	CHECK_EQ(join(a), 1);
	CHECK_EQ(join(b), 1);
}

/* ---- fork ------------------------------------------------------------------ */

static void *forker(void *arg)
{
	mine = 77;
	seeded = 78;
	pid_t pid = fork();
	if (pid == 0)
		_exit(mine == 77 && seeded == 78 ? 0 : 1); /* the child goes on with the forking thread's values */
	int st = -1;
	waitpid(pid, &st, 0);
	return (void *)(intptr_t)(WIFEXITED(st) && WEXITSTATUS(st) == 0 && mine == 77 && seeded == 78);
}

static void the_forked_child_keeps_the_forking_threads_values(void)
{
	CHECK_EQ(join(start(forker, NULL)), 1);
}

/* ---- Signal handlers -------------------------------------------------------- */

/* A thread-local too: under kernel threads the two handlers may run at once,
 * and a shared variable would hold whichever wrote last. */
static __thread volatile long seen_in_handler;
static void record_mine(int sig)
{
	(void)sig;
	seen_in_handler = mine;
}

static void *raise_with(void *arg)
{
	mine = (long)(intptr_t)arg;
	pause_ms(1);
	raise(SIGUSR1); /* handled before raise returns, on this thread */
	return (void *)(intptr_t)seen_in_handler;
}

static void a_handler_sees_the_interrupted_threads_values(void)
{
	struct sigaction sa = { .sa_handler = record_mine };
	sigemptyset(&sa.sa_mask);
	CHECK_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	pthread_t a = start(raise_with, (void *)31), b = start(raise_with, (void *)32);
	CHECK_EQ(join(a), 31);
	CHECK_EQ(join(b), 32);
	signal(SIGUSR1, SIG_DFL);
}

/* ---- Destructors ------------------------------------------------------------ */

/* What C++ compiles a thread_local with a destructor into (glibc's ABI). */
extern int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso);
extern void *__dso_handle;

static pthread_key_t key;
static long dtor_log[2][4]; /* per thread: what the TLS destructor, then the key destructor saw */
static int dtor_step[2];

static void tls_dtor(void *obj)
{
	long id = *(long *)obj / 100;
	dtor_log[id][dtor_step[id]++] = *(long *)obj;
}

static void key_dtor(void *v)
{
	long id = (long)(intptr_t)v - 1;
	dtor_log[id][dtor_step[id]++] = -mine; /* the key destructor still sees the thread's values */
}

static void *with_destructors(void *arg)
{
	long id = (long)(intptr_t)arg;
	mine = id * 100 + 5;
	__cxa_thread_atexit_impl(tls_dtor, &mine, &__dso_handle);
	pthread_setspecific(key, (void *)(intptr_t)(id + 1));
	pause_ms(1);
	if (id == 1)
		pthread_exit(NULL);
	return NULL;
}

static void destructors_run_in_glibcs_order_on_the_threads_values(void)
{
	CHECK_EQ(pthread_key_create(&key, key_dtor), 0);
	pthread_t a = start(with_destructors, (void *)0), b = start(with_destructors, (void *)1);
	join(a);
	join(b);
	for (int id = 0; id < 2; id++) {
		CHECK_EQ(dtor_step[id], 2);
		CHECK_EQ(dtor_log[id][0], id * 100 + 5);    /* thread_local destructor first */
		CHECK_EQ(dtor_log[id][1], -(id * 100 + 5)); /* then the key's */
	}
	CHECK_EQ(mine, 0);
	pthread_key_delete(key);
}

/* ---- main, constructors and exit ------------------------------------------- */

__attribute__((constructor)) static void set_for_main(void) { from_ctor = 55; }

static void *ctor_values_are_mains(void *arg) { return (void *)(intptr_t)(from_ctor == 0); }

static void main_keeps_what_constructors_set(void)
{
	CHECK_EQ(from_ctor, 55);
	CHECK_EQ(join(start(ctor_values_are_mains, NULL)), 1);
}

/* After main returns another thread runs on; the exit handlers still see
 * main's values. */
static void *runs_after_main(void *arg)
{
	mine = -1;
	for (int i = 0; i < 3; i++)
		sched_yield();
	return arg;
}

static void exit_handler_sees_mains_values(void)
{
	if (mine != 4242) {
		printf("not ok - the exit handlers saw mine == %ld, not main's 4242\n", mine);
		fflush(stdout);
		_exit(1);
	}
}

int main(void)
{
	RUN(each_thread_adds_to_its_own_copy);
	RUN(each_thread_starts_from_the_image);
	RUN(ten_thousand_threads_keep_distinct_values);
	RUN(a_thread_spawned_by_a_thread_starts_fresh);
	RUN(own_pointers_survive_blocking_calls);
	RUN(the_forked_child_keeps_the_forking_threads_values);
	RUN(a_handler_sees_the_interrupted_threads_values);
	RUN(destructors_run_in_glibcs_order_on_the_threads_values);
	RUN(main_keeps_what_constructors_set);
	atexit(exit_handler_sees_mains_values);
	mine = 4242;
	pthread_t late;
	pthread_create(&late, NULL, runs_after_main, NULL);
	pthread_detach(late);
	TAP_DONE();
}
