/* capriccio.annotations.json at work (built with capcc --annotations
 * tests/annotate.json): a library call annotated as blocking runs on a
 * helper thread and no longer stalls the other threads; one annotated with
 * stackBytes runs on a stack that big, kept for the next calls; arguments,
 * results and errno make the trip intact.  The library (nosplit_lib.c) is
 * linked in as an object, a shared library or an archive, into a PIE or
 * not (the Makefile builds each); the C library's semtimedop and qsort and
 * libaio's io_getevents (a Debian library, shared or static alike) are
 * annotated too. */
#define _GNU_SOURCE
#include <capriccio.h>
#include <errno.h>
#include <libaio.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include "tap.h"

int cap_test_block_ms(int ms);        /* annotated: blocking */
int cap_test_block_ms_plain(int ms);  /* the same code, not annotated */
double cap_test_mix(int a, double b, long c, int d, int e, int f, int g, int h, double i, long j);
int cap_test_fail_with(int e);
int cap_test_big_frame(int bytes);    /* annotated: stackBytes 131072 */
int cap_test_keeps_errno(int x);      /* annotated: blocking */
double cap_test_vmix(int n, ...);     /* annotated: blocking */

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
	if (cap_workers() == 1)
		CHECK_EQ(before, 0); /* every thread stood still for each 30 ms call */
	else
		CHECK(before >= 3); /* its worker stood still; another ran the ticker */
	CHECK(after >= 3);    /* the ticker kept ticking during the calls */
	if (before || after < 3)
		fprintf(stderr, "  ticks during calls: %ld before annotation, %ld after\n", before, after);
}

/* The C library's semtimedop and libaio's io_getevents, annotated as
 * blocking, each waiting out its timeout. */
static int semaphore = -1;
static int libc_wait_ms(int ms)
{
	struct sembuf down = { 0, -1, 0 };
	struct timespec ts = { 0, ms * 1000000L };
	return semtimedop(semaphore, &down, 1, &ts) == -1 && errno == EAGAIN ? ms : -1;
}
static io_context_t aio;
static int libaio_wait_ms(int ms)
{
	struct io_event ev;
	struct timespec ts = { 0, ms * 1000000L };
	return io_getevents(aio, 1, 1, &ev, &ts) == 0 ? ms : -1;
}

static void shared_library_calls_no_longer_stall(void)
{
	semaphore = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
	CHECK(semaphore >= 0);
	CHECK_EQ(io_setup(1, &aio), 0);
	long libc = ticks_during(libc_wait_ms);
	long libaio = ticks_during(libaio_wait_ms);
	CHECK(libc >= 3);
	CHECK(libaio >= 3);
	if (libc < 3 || libaio < 3)
		fprintf(stderr, "  ticks during calls: %ld in semtimedop, %ld in io_getevents\n", libc, libaio);
	io_destroy(aio);
	semctl(semaphore, 0, IPC_RMID);
}

static void arguments_results_and_errno_survive(void)
{
	double want = 1 + 2.5 * 2 + 3.0 * 3 + 4 * 4 + 5 * 5 + 6 * 6 + 7 * 7 + 8 * 8 + 9.5 * 9 + 10.0 * 10;
	CHECK(cap_test_mix(1, 2.5, 3, 4, 5, 6, 7, 8, 9.5, 10) == want);
	/* Variadic: %al (how many vector registers carry arguments) and the
	 * arguments past the registers make the trip too. */
	double vwant = 0;
	for (int i = 1; i <= 8; i++)
		vwant += (double)(i * 11) * i + (i + 0.25) * (i + 100);
	CHECK(cap_test_vmix(8, 11L, 1.25, 22L, 2.25, 33L, 3.25, 44L, 4.25, 55L, 5.25, 66L, 6.25, 77L, 7.25, 88L, 8.25) == vwant);
	CHECK(cap_test_vmix(0) == 0);
	errno = 0;
	CHECK_EQ(cap_test_fail_with(EPIPE), -1);
	CHECK_EQ(errno, EPIPE);
	errno = ERANGE; /* what the caller's errno was, the call finds and leaves */
	CHECK_EQ(cap_test_keeps_errno(1), 2);
	CHECK_EQ(errno, ERANGE);
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

/* The stack is kept for the next call: a call touches no new page.  (Given
 * back after each call, its 96 KiB came back as 24 page faults a call.) */
static void stack_annotation_keeps_its_stack(void)
{
	CHECK_EQ(big_frame(96 * 1024), 1);
	struct rusage a, b;
	getrusage(RUSAGE_THREAD, &a);
	for (int i = 0; i < 100; i++)
		CHECK_EQ(big_frame(96 * 1024), 1);
	getrusage(RUSAGE_THREAD, &b);
	long faults = b.ru_minflt - a.ru_minflt;
	CHECK(faults < 100);
	if (faults >= 100)
		fprintf(stderr, "  %ld page faults in 100 calls\n", faults);
}

/* qsort annotated with stackBytes: the comparison, the program's own
 * split-stack code, is called back on the annotated stack. */
static int by_value(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}
static void *sorter(void *a)
{
	int v[512];
	for (int i = 0; i < 512; i++)
		v[i] = (i * 7919 + (int)(intptr_t)a) % 512;
	qsort(v, 512, sizeof v[0], by_value);
	for (int i = 0; i < 512; i++)
		if (v[i] != i)
			return NULL;
	return a;
}
static void stack_annotation_calls_back(void)
{
	cap_thread_t *t[4];
	for (int i = 0; i < 4; i++)
		t[i] = cap_spawn(sorter, (void *)(intptr_t)(i + 1), NULL);
	for (int i = 0; i < 4; i++) {
		void *r;
		cap_join(t[i], &r);
		CHECK_EQ((intptr_t)r, i + 1);
	}
}

int main(void)
{
	RUN(blocking_call_no_longer_stalls);
	RUN(shared_library_calls_no_longer_stall);
	RUN(arguments_results_and_errno_survive);
	RUN(stack_annotation_gives_the_room);
	RUN(stack_annotation_keeps_its_stack);
	RUN(stack_annotation_calls_back);
	TAP_DONE();
}
