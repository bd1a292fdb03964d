/* A program with 68 KiB of thread-locals: a 64 KiB zeroed array and a
 * 4 KiB initialised one.  Each thread has its own, across blocking calls,
 * also when a read from a file that is not in the page cache fills it. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include "page_cache.h"
#include "tap.h"

#define BIG (64 << 10)
static __thread unsigned char big[BIG];
static __thread unsigned char seeded[4096] = { [0] = 1, [2048] = 2, [4095] = 3 };

static pthread_t start(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	if (pthread_create(&t, NULL, fn, arg) != 0) {
		fprintf(stderr, "  pthread_create failed\n");
		abort();
	}
	return t;
}

static long all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

static long seeded_as_initialised(void)
{
	for (size_t i = 0; i < sizeof seeded; i++)
		if (seeded[i] != (i == 0 ? 1 : i == 2048 ? 2 : i == 4095 ? 3 : 0))
			return 0;
	return 1;
}

static void *fill_and_keep(void *arg)
{
	unsigned char v = (unsigned char)(intptr_t)arg;
	long ok = all_bytes(big, BIG, 0) && seeded_as_initialised();
	memset(big, v, BIG);
	memset(seeded, v, sizeof seeded);
	for (int i = 0; i < 5; i++) {
		struct timespec ts = { 0, 500000 };
		nanosleep(&ts, NULL);
		ok = ok && all_bytes(big, BIG, v) && all_bytes(seeded, sizeof seeded, v);
	}
	return (void *)ok;
}

static void each_thread_keeps_its_64k(void)
{
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		t[i] = start(fill_and_keep, (void *)(intptr_t)(0x11 * (i + 1)));
	for (int i = 0; i < 8; i++) {
		void *r;
		pthread_join(t[i], &r);
		CHECK_EQ((intptr_t)r, 1);
	}
	CHECK(all_bytes(big, BIG, 0));
	CHECK(seeded_as_initialised());
}

/* ---- A cold read into a thread-local buffer ---------------------------------- */

static volatile int reading;
static void *other_thread(void *arg)
{
	memset(big, 0xbb, BIG);
	while (reading)
		sched_yield();
	return (void *)all_bytes(big, BIG, 0xbb);
}

static unsigned char pattern(size_t i) { return (unsigned char)(i * 7 + i / 4096); }

static void a_cold_read_fills_the_readers_copy(void)
{
	char path[] = "/tmp/captls.XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	unlink(path);
	for (size_t i = 0; i < BIG; i++)
		big[i] = pattern(i);
	CHECK_EQ(pwrite(fd, big, BIG, 0), BIG);
	CHECK_EQ(fsync(fd), 0);
	CHECK_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	CHECK_EQ(pages_cached(fd, 0, BIG), 0); /* precondition: the read goes to the disk */
	memset(big, 0, BIG);
	reading = 1;
	pthread_t o = start(other_thread, NULL);
	sched_yield();
	CHECK_EQ(pread(fd, big, BIG, 0), BIG);
	reading = 0;
	void *r;
	pthread_join(o, &r);
	CHECK_EQ((intptr_t)r, 1); /* the other thread's copy was not filled */
	long same = 1;
	for (size_t i = 0; i < BIG; i++)
		same &= big[i] == pattern(i);
	CHECK(same);
	close(fd);
	memset(big, 0, BIG);
}

int main(void)
{
	RUN(each_thread_keeps_its_64k);
	RUN(a_cold_read_fills_the_readers_copy);
	TAP_DONE();
}
