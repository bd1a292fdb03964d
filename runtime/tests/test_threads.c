/* Spawn/join, yield order, sleep order, detach, ids and names. */
#include <capriccio.h>
#include <errno.h>
#include <stdint.h>
#include "tap.h"

static void *ret_arg(void *a) { return (char *)a + 1; }

static void spawn_join(void)
{
	cap_thread_t *t = cap_spawn(ret_arg, (void *)41, &(cap_spawn_opts_t){ .name = "worker" });
	CHECK(t != NULL);
	CHECK(strcmp(cap_name(t), "worker") == 0);
	CHECK(cap_id(t) > 1);
	void *r = NULL;
	CHECK_EQ(cap_join(t, &r), 0);
	CHECK_EQ((intptr_t)r, 42);
	CHECK_EQ(cap_id(cap_self()), 1);
	CHECK(strcmp(cap_name(cap_self()), "main") == 0);
}

static char order[64];
static int order_n;
static void *yielder(void *a)
{
	for (int i = 0; i < 3; i++) {
		order[__atomic_fetch_add(&order_n, 1, __ATOMIC_RELAXED)] = (char)(intptr_t)a;
		cap_yield();
	}
	return NULL;
}

static void yield_round_robin(void)
{
	order_n = 0;
	cap_thread_t *a = cap_spawn(yielder, (void *)'a', NULL);
	cap_thread_t *b = cap_spawn(yielder, (void *)'b', NULL);
	cap_thread_t *c = cap_spawn(yielder, (void *)'c', NULL);
	cap_join(a, NULL);
	cap_join(b, NULL);
	cap_join(c, NULL);
	order[order_n] = 0;
	if (cap_workers() == 1) {
		CHECK(strcmp(order, "abcabcabc") == 0);
	} else { /* round robin per worker: the three may run side by side */
		int n[3] = { 0, 0, 0 };
		for (int i = 0; i < order_n; i++)
			n[order[i] - 'a']++;
		CHECK(order_n == 9 && n[0] == 3 && n[1] == 3 && n[2] == 3);
	}
	if (strcmp(order, "abcabcabc"))
		fprintf(stderr, "  order: %s\n", order);
}

static uint64_t woke[8];
static int woke_n;
static uint64_t sleep_t0, late[8];
static void *sleeper(void *a)
{
	uint64_t ms = (uint64_t)(intptr_t)a;
	cap_sleep_ns(ms * 1000000u);
	int i = __atomic_fetch_add(&woke_n, 1, __ATOMIC_RELAXED);
	woke[i] = ms;
	late[i] = cap_now_ns() - sleep_t0 >= ms * 1000000u; /* it slept its time */
	return NULL;
}

static void sleep_order(void)
{
	int ms[] = { 30, 10, 50, 20, 40, 5 };
	cap_thread_t *t[6];
	woke_n = 0;
	uint64_t t0 = sleep_t0 = cap_now_ns();
	for (int i = 0; i < 6; i++)
		t[i] = cap_spawn(sleeper, (void *)(intptr_t)ms[i], NULL);
	for (int i = 0; i < 6; i++)
		cap_join(t[i], NULL);
	uint64_t el = cap_now_ns() - t0;
	int want[] = { 5, 10, 20, 30, 40, 50 };
	for (int i = 0; i < 6; i++) {
		CHECK(late[i]);
		/* In deadline order on one worker; on several, two woken close
		 * together may run in either order (their workers run side by side). */
		if (cap_workers() == 1)
			CHECK_EQ(woke[i], want[i]);
	}
	uint64_t sum = 0;
	for (int i = 0; i < 6; i++)
		sum += woke[i];
	CHECK_EQ(sum, 155); /* each woke once */
	CHECK(el >= 50000000u); /* slept at least the longest request */
}

static int detached_ran;
static void *detached_fn(void *a)
{
	cap_sleep_ns(1000000);
	detached_ran++;
	return NULL;
}

static cap_sem_t detach_go;
static void *waits_for_go(void *a)
{
	cap_sem_wait(&detach_go);
	return a;
}

static void detach_and_errors(void)
{
	cap_thread_t *t = cap_spawn(detached_fn, NULL, &(cap_spawn_opts_t){ .detached = 1 });
	CHECK(t != NULL);
	CHECK_EQ(cap_join(t, NULL), EINVAL);
	CHECK_EQ(cap_join(cap_self(), NULL), EDEADLK);
	cap_sleep_ns(20000000);
	CHECK_EQ(detached_ran, 1);
	/* u waits until both detaches are done: once detached and ended (on
	 * another worker, at once) its handle would be freed. */
	cap_sem_init(&detach_go, 0);
	cap_thread_t *u = cap_spawn(waits_for_go, NULL, NULL);
	CHECK_EQ(cap_detach(u), 0);
	CHECK_EQ(cap_detach(u), EINVAL);
	cap_sem_post(&detach_go);
	errno = 0;
	CHECK(cap_spawn(NULL, NULL, NULL) == NULL && errno == EINVAL);
	cap_yield();
}

static void *counter(void *a)
{
	__atomic_fetch_add((int *)a, 1, __ATOMIC_RELAXED); /* threads may run side by side */
	return NULL;
}

static void many_threads_reuse_stacks(void)
{
	int n = 0;
	for (int round = 0; round < 50; round++) {
		cap_thread_t *t[200];
		for (int i = 0; i < 200; i++)
			t[i] = cap_spawn(counter, &n, NULL);
		for (int i = 0; i < 200; i++)
			cap_join(t[i], NULL);
	}
	CHECK_EQ(n, 10000);
	cap_info_t info;
	cap_get_info(&info);
	CHECK_EQ(info.threads, 1); /* only main is left */
	CHECK(strcmp(info.stack_mode, "split") == 0);
}

static void *errno_keeper(void *a)
{
	errno = (int)(intptr_t)a;
	cap_yield();
	cap_yield();
	return (void *)(intptr_t)errno;
}

static void errno_is_per_thread(void)
{
	cap_thread_t *a = cap_spawn(errno_keeper, (void *)11, NULL);
	cap_thread_t *b = cap_spawn(errno_keeper, (void *)22, NULL);
	void *ra, *rb;
	cap_join(a, &ra);
	cap_join(b, &rb);
	CHECK_EQ((intptr_t)ra, 11);
	CHECK_EQ((intptr_t)rb, 22);
}

int main(void)
{
	RUN(spawn_join);
	RUN(yield_round_robin);
	RUN(sleep_order);
	RUN(detach_and_errors);
	RUN(many_threads_reuse_stacks);
	RUN(errno_is_per_thread);
	TAP_DONE();
}
