/* The thread-locals of precompiled code: an object or static library linked
 * into the program is part of it, so its thread-locals are per user thread;
 * a shared library's stay per worker kernel thread (README: Thread-locals),
 * which a thread sees as its own between two blocking calls. */
#include <capriccio.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include "tap.h"

void linked_in_fail(int code);
int linked_in_last_error(void);
int linked_in_calls(void);
void shared_fail(int code);
int shared_last_error(void);
int shared_calls(void);

static sem_t to_b, to_a;

/* A (main) and B share worker 0: a shared library's thread-locals are per
 * worker, and with several workers B could run on another. */
static void *b_fails_too(void *arg)
{
	cap_bind(0);
	sem_wait(&to_b);
	long fresh = linked_in_last_error() == 0 && linked_in_calls() == 100;
	long shares = shared_last_error() == 11; /* A's, on the same worker */
	linked_in_fail(22);
	shared_fail(22);
	sem_post(&to_a);
	return (void *)(intptr_t)(fresh && shares);
}

static void linked_in_per_thread_shared_library_per_worker(void)
{
	sem_init(&to_b, 0, 0);
	sem_init(&to_a, 0, 0);
	cap_bind(0);
	pthread_t b;
	pthread_create(&b, NULL, b_fails_too, NULL);
	linked_in_fail(11);
	shared_fail(11);
	CHECK_EQ(shared_last_error(), 11); /* the thread's own between two blocking calls */
	sem_post(&to_b);
	sem_wait(&to_a); /* B runs: it fails with 22 in both */
	CHECK_EQ(linked_in_last_error(), 11);
	CHECK_EQ(linked_in_calls(), 101);
	CHECK_EQ(shared_last_error(), 22);
	CHECK_EQ(shared_calls(), 102);
	void *r;
	pthread_join(b, &r);
	CHECK_EQ((intptr_t)r, 1);
	sem_destroy(&to_b);
	sem_destroy(&to_a);
}

int main(void)
{
	RUN(linked_in_per_thread_shared_library_per_worker);
	TAP_DONE();
}
