/* capriccio.annotations.json at work (built with capcc --annotations
 * tests/annotate.json): a library call annotated as blocking runs on a
 * helper thread and no longer stalls the other threads; one annotated with
 * stackBytes runs on a stack that big; arguments, results and errno make
 * the trip intact. */
#include <capriccio.h>
#include <errno.h>
#include <stdint.h>
#include "tap.h"

int cap_test_block_ms(int ms);        /* annotated: blocking */
int cap_test_block_ms_plain(int ms);  /* the same code, not annotated */
double cap_test_mix(int a, double b, long c, int d, int e, int f, int g, int h, double i, long j);
int cap_test_fail_with(int e);
int cap_test_big_frame(int bytes);    /* annotated: stackBytes 131072 */

static volatile int stop, in_call;
static long ticks_in_call;

static void *ticker(void *a)
{
	while (!stop) {
		cap_sleep_ns(2000000);
		if (in_call)
			ticks_in_call++;
	}
	return a;
}

static long ticks_during(int (*fn)(int))
{
	stop = 0;
	ticks_in_call = 0;
	cap_thread_t *t = cap_spawn(ticker, NULL, NULL);
	cap_sleep_ns(5000000);
	for (int i = 0; i < 3; i++) {
		in_call = 1;
		CHECK_EQ(fn(30), 30);
		in_call = 0;
		cap_yield();
	}
	stop = 1;
	cap_join(t, NULL);
	return ticks_in_call;
}

static void blocking_call_no_longer_stalls(void)
{
	long before = ticks_during(cap_test_block_ms_plain);
	long after = ticks_during(cap_test_block_ms);
	CHECK_EQ(before, 0);  /* every thread stood still for each 30 ms call */
	CHECK(after >= 3);    /* the ticker kept ticking during the calls */
	if (before || after < 3)
		fprintf(stderr, "  ticks during calls: %ld before annotation, %ld after\n", before, after);
}

static void arguments_results_and_errno_survive(void)
{
	double want = 1 + 2.5 * 2 + 3.0 * 3 + 4 * 4 + 5 * 5 + 6 * 6 + 7 * 7 + 8 * 8 + 9.5 * 9 + 10.0 * 10;
	CHECK(cap_test_mix(1, 2.5, 3, 4, 5, 6, 7, 8, 9.5, 10) == want);
	errno = 0;
	CHECK_EQ(cap_test_fail_with(EPIPE), -1);
	CHECK_EQ(errno, EPIPE);
}

/* Through a pointer, so gold cannot give the caller a big chunk either:
 * 96 KiB of stack in code without split stacks, from a thread whose first
 * chunk is 3.75 KiB — only the annotated stack can hold it. */
static int (*volatile big_frame)(int) = cap_test_big_frame;
static void *big_caller(void *a) { return (void *)(intptr_t)big_frame(96 * 1024); }

static void stack_annotation_gives_the_room(void)
{
	cap_thread_t *t[8];
	for (int i = 0; i < 8; i++)
		t[i] = cap_spawn(big_caller, NULL, NULL);
	for (int i = 0; i < 8; i++) {
		void *r;
		cap_join(t[i], &r);
		CHECK_EQ((intptr_t)r, 1);
	}
}

int main(void)
{
	RUN(blocking_call_no_longer_stalls);
	RUN(arguments_results_and_errno_survive);
	RUN(stack_annotation_gives_the_room);
	TAP_DONE();
}
