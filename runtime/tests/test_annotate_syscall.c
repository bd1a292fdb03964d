/* The C library's syscall() annotated as blocking (capcc --annotations
 * tests/annotate_syscall.json), as the profiler suggests when a program's
 * own raw system call stalls every thread: the raw waits park only their
 * caller, syscall's variadic arguments (the seventh on the stack) and errno
 * make the trip, calls that cannot wait stay on the caller's kernel thread
 * (gettid names the worker, not a helper), and the calls libgcc makes
 * through syscall() while it links a chunk (mmap) go straight on. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "in_syscall.h"
#include "tap.h"
#include "ticker.h"

/* Kernel threads besides the workers (CAPRICCIO_WORKERS starts N-1 more,
 * named cap-worker<i>): 1 while no helper has started. */
static int tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;
	for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
		char path[300], name[32] = "";
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
		FILE *f = fopen(path, "r");
		n += !(f && fgets(name, sizeof name, f) && !strncmp(name, "cap-worker", 10));
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
	return n;
}

/* 2 KiB frames, 300 deep: each thread links chunk after chunk. */
__attribute__((noinline)) static long descend(int n)
{
	volatile char frame[2048];
	memset((char *)frame, n, sizeof frame);
	return n ? descend(n - 1) + frame[7] : frame[7];
}
static void *deep(void *a) { return (void *)descend(300 + (int)(intptr_t)a); }

/* Runs first, before any raw call has started a helper: the process is one
 * kernel thread, the worker, and stays so while threads split (libgcc's
 * mmap through syscall), main's own first splits included. */
static void splits_start_no_helper(void)
{
	CHECK_EQ(tasks(), 1);
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, deep, (void *)(intptr_t)i), 0);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(pthread_join(t[i], NULL), 0);
	CHECK_EQ(tasks(), 1);
}

static long raw_sleep_50ms(void)
{
	struct timespec ts = {0, 50000000};
	return syscall(SYS_nanosleep, &ts, NULL);
}
static void raw_sleep_parks_only_the_caller(void)
{
	ticker_start();
	TICKER_OPEN();
	TICKER_REPEAT(CHECK_EQ(raw_sleep_50ms(), 0));
	CHECK_TICKED(TICKER_CLOSE());
	ticker_stop();
}

/* A futex of the program's own, waited for and woken with the bitset
 * operations: seven arguments, the last (the bitset) on the stack.  Once
 * the wait is in the kernel, a wake whose bitset misses the waiter's wakes
 * no one and one that meets it wakes it. */
static uint32_t word;
static void *waker(void *a)
{
	ticker_await(TICKER_MIN);
	if (!in_syscall(SYS_futex, (unsigned long)&word))
		return a;
	CHECK_EQ(syscall(SYS_futex, &word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x0f), 0);
	__atomic_store_n(&word, 1, __ATOMIC_SEQ_CST);
	CHECK_EQ(syscall(SYS_futex, &word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0x30), 1);
	return a;
}
static void raw_futex_wait_parks_only_the_caller(void)
{
	word = 0;
	ticker_start();
	pthread_t w;
	CHECK_EQ(pthread_create(&w, NULL, waker, NULL), 0);
	TICKER_OPEN();
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += 60;
	CHECK_EQ(syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 0, &ts, NULL, 0x70), 0);
	CHECK_EQ(__atomic_load_n(&word, __ATOMIC_SEQ_CST), 1u);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(pthread_join(w, NULL), 0);
	ticker_stop();
}

static void errno_comes_back(void)
{
	uint32_t v = 5;
	errno = 0;
	CHECK_EQ(syscall(SYS_futex, &v, FUTEX_WAIT_PRIVATE, 4, NULL, NULL, 0), -1);
	CHECK_EQ(errno, EAGAIN);
	errno = ERANGE;
	CHECK(syscall(SYS_getppid) > 0);
	CHECK_EQ(errno, ERANGE);
}

/* After a raw wait has started a helper: calls that act on the calling
 * kernel thread still act on the worker. */
static void thread_bound_calls_stay_on_the_caller(void)
{
	CHECK(tasks() > 1);
	CHECK_EQ(syscall(SYS_gettid), (long)gettid());
	CHECK_EQ(syscall(SYS_tgkill, getpid(), gettid(), 0), 0);
}

int main(void)
{
	RUN(splits_start_no_helper);
	RUN(raw_sleep_parks_only_the_caller);
	RUN(raw_futex_wait_parks_only_the_caller);
	RUN(errno_comes_back);
	RUN(thread_bound_calls_stay_on_the_caller);
	TAP_DONE();
}
