/* The workers' pools of linked chunks (src/chunks.h): a thread that stops
 * running gives back the chunks of calls that have returned, and the next
 * split on that worker links one of them again.  (Without the giving back,
 * or without the taking, the first case holds a megabyte per thread; taking
 * a chunk a thread still runs on crashes the second.) */
#define _GNU_SOURCE
#include <capriccio.h>
#include <malloc.h>
#include <poll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"

static long vm_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0;
	if (f && fscanf(f, "%ld", &pages) != 1)
		pages = 0;
	if (f)
		fclose(f);
	return pages * 4096;
}

static cap_mutex_t mu;
static cap_cond_t cv;
static long waiting;
static int released;

static void wait_for_release(void)
{
	cap_mutex_lock(&mu);
	waiting++;
	while (!released)
		cap_cond_wait(&cv, &mu);
	cap_mutex_unlock(&mu);
}

static void release_all(long n)
{
	while (__atomic_load_n(&waiting, __ATOMIC_ACQUIRE) < n)
		cap_yield();
	cap_mutex_lock(&mu);
	released = 1;
	cap_cond_broadcast(&cv);
	cap_mutex_unlock(&mu);
}

/* A helper that calls into libc: gold gives it a 1 MiB chunk. */
static char out[64];
static __attribute__((noinline)) void format(long i) { snprintf(out, sizeof out, "thread %ld", i); }

static void *formats_then_waits(void *a)
{
	format((long)(intptr_t)a);
	wait_for_release();
	return a;
}

/* 2,000 threads, each of which linked a 1 MiB chunk for its call into libc
 * and then blocked: without the pools they would hold 2 GiB of address
 * space between them. */
#define NTHREADS 2000
static void blocked_threads_hold_no_chunk_of_a_returned_call(void)
{
	static cap_thread_t *t[NTHREADS];
	waiting = 0;
	released = 0;
	long before = vm_bytes();
	for (long i = 0; i < NTHREADS; i++)
		CHECK((t[i] = cap_spawn(formats_then_waits, (void *)i, NULL)) != NULL);
	while (__atomic_load_n(&waiting, __ATOMIC_ACQUIRE) < NTHREADS)
		cap_yield();
	long per_thread = (vm_bytes() - before) / NTHREADS;
	printf("  %d threads blocked after a call into libc: %ld bytes of address space each\n", NTHREADS, per_thread);
	CHECK(per_thread < 16 * 1024);
	release_all(NTHREADS);
	for (long i = 0; i < NTHREADS; i++)
		cap_join(t[i], NULL);
}

/* A thread blocked inside a call that needed a chunk keeps that chunk:
 * others split meanwhile, on the same worker, and its frame is intact when
 * it runs again. */
static __attribute__((noinline)) int fill_and_wait(int seed)
{
	volatile unsigned char pad[32768]; /* more than the first chunk: a split */
	for (size_t i = 0; i < sizeof pad; i++)
		pad[i] = (unsigned char)(seed + i * 7);
	wait_for_release();
	int bad = 0;
	for (size_t i = 0; i < sizeof pad; i++)
		bad += pad[i] != (unsigned char)(seed + i * 7);
	return bad;
}

static void *fills(void *a)
{
	cap_bind(0);
	return (void *)(intptr_t)fill_and_wait((int)(intptr_t)a);
}

#define NFILL 64
static void a_blocked_thread_keeps_the_chunk_its_frames_are_on(void)
{
	static cap_thread_t *t[NFILL];
	waiting = 0;
	released = 0;
	cap_bind(0);
	for (long i = 0; i < NFILL; i++)
		CHECK((t[i] = cap_spawn(fills, (void *)i, NULL)) != NULL);
	release_all(NFILL);
	long bad = 0;
	for (long i = 0; i < NFILL; i++) {
		void *r = NULL;
		cap_join(t[i], &r);
		bad += (intptr_t)r;
	}
	CHECK_EQ(bad, 0);
}

/* Split-stack code's alloca, when the chunk has no room, comes from the
 * heap through libgcc and is recorded on the chunk: such a chunk goes into
 * the pool too, and the next thread's alloca on it is its own. */
static __attribute__((noinline)) int alloca_sum(int n, int seed)
{
	volatile unsigned char *p = __builtin_alloca((size_t)n);
	for (int i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i);
	cap_yield(); /* others run on this worker meanwhile, and split */
	int bad = 0;
	for (int i = 0; i < n; i++)
		bad += p[i] != (unsigned char)(seed + i);
	return bad;
}

static __attribute__((noinline)) int on_a_chunk(int n, int seed)
{
	volatile char pad[8192]; /* a split, so the alloca is recorded on a chunk */
	pad[0] = (char)seed;
	return alloca_sum(n, seed) + (pad[0] != (char)seed);
}

static void *allocas(void *a)
{
	cap_bind(0);
	int bad = 0;
	for (int i = 0; i < 200; i++)
		bad += on_a_chunk(200000 + i, (int)(intptr_t)a + i);
	return (void *)(intptr_t)bad;
}

static void allocas_on_pooled_chunks_stay_their_own(void)
{
	cap_thread_t *t[4];
	for (long i = 0; i < 4; i++)
		t[i] = cap_spawn(allocas, (void *)i, NULL);
	long bad = 0;
	for (int i = 0; i < 4; i++) {
		void *r = NULL;
		cap_join(t[i], &r);
		bad += (intptr_t)r;
	}
	CHECK_EQ(bad, 0);
}


/* A thread that only blocks links no chunk beyond its first: the runtime's
 * own frames on the way to a block (the shim, the park, the scheduler)
 * fit in what the first chunk has left under a function with 512 bytes of
 * locals besides the calls' arguments.  (Before, 64-buffer iovec windows,
 * poll's 64 nodes and its signal-wait state, and select's 1,024 pollfds in
 * the blocking calls' frames made read, recvmsg, poll and select link a
 * chunk here.)  libgcc's list of the thread's chunks is empty after each
 * call when nothing split in it (a yield before gives back whatever an
 * earlier call linked). */
extern __thread void *__morestack_segments;
enum { CALL_READ, CALL_WRITE, CALL_POLL, CALL_SELECT, CALL_RECVMSG, CALL_SENDMSG, CALL_SLEEP, CALL_COND, NCALLS };
static const char *const call_names[NCALLS] = { "read", "write", "poll", "select", "recvmsg", "sendmsg", "usleep", "cond_wait" };
static int pipe_in[2], pipe_full[2], sock[2];
static int linked_in[NCALLS];
static volatile int step;
static int fresh;

static void *only_blocks(void *a)
{
	(void)a;
	volatile char locals[512];
	locals[0] = locals[sizeof locals - 1] = 1;
	char c;
	struct pollfd p = { pipe_in[0], POLLIN, 0 };
	struct iovec v = { &c, 1 };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	fd_set set;
	fresh = __morestack_segments == NULL; /* (checked by the caller: a check here would call printf, and gold
					       * gives every caller of libc a chunk of its own) */
	for (int k = 0; k < NCALLS; k++) {
		cap_yield();
		step = k + 1;
		switch (k) {
		case CALL_READ: (void)!read(pipe_in[0], &c, 1); break;
		case CALL_WRITE: (void)!write(pipe_full[1], "x", 1); break;
		case CALL_POLL: (void)!poll(&p, 1, -1); (void)!read(pipe_in[0], &c, 1); break;
		case CALL_SELECT: FD_ZERO(&set); FD_SET(pipe_in[0], &set); (void)!select(pipe_in[0] + 1, &set, NULL, NULL, NULL); (void)!read(pipe_in[0], &c, 1); break;
		case CALL_RECVMSG: (void)!recvmsg(sock[0], &m, 0); break;
		case CALL_SENDMSG: (void)!sendmsg(sock[0], &m, 0); break;
		case CALL_SLEEP: usleep(1000); break;
		case CALL_COND: wait_for_release(); break;
		}
		linked_in[k] = __morestack_segments != NULL;
	}
	return NULL;
}

static void a_thread_that_only_blocks_links_no_chunk(void)
{
	CHECK_EQ(pipe(pipe_in), 0);
	CHECK_EQ(pipe(pipe_full), 0);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sock), 0);
	int sz = 4096;
	(void)!setsockopt(sock[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
	while (write(pipe_full[1], "................................................................", 64) == 64 &&
	       fcntl(pipe_full[1], F_GETFL) >= 0) {
		struct pollfd q = { pipe_full[1], POLLOUT, 0 };
		if (poll(&q, 1, 0) == 0)
			break; /* full: the thread's write blocks */
	}
	static char fill[1 << 16];
	while (send(sock[0], fill, sizeof fill, MSG_DONTWAIT) > 0)
		; /* full: its sendmsg blocks */
	waiting = 0;
	released = 0;
	cap_thread_t *t = cap_spawn(only_blocks, NULL, NULL);
	char buf[1 << 16];
	for (int k = 0; k < NCALLS; k++) {
		while (step < k + 1)
			cap_yield();
		cap_sleep_ns(2 * 1000 * 1000); /* it blocks meanwhile */
		switch (k) {
		case CALL_READ: case CALL_POLL: case CALL_SELECT: (void)!write(pipe_in[1], "x", 1); break;
		case CALL_WRITE: (void)!read(pipe_full[0], buf, sizeof buf); break;
		case CALL_RECVMSG: while (recv(sock[1], buf, sizeof buf, MSG_DONTWAIT) > 0) ; (void)!send(sock[1], "x", 1, 0); break;
		case CALL_SENDMSG: while (recv(sock[1], buf, sizeof buf, MSG_DONTWAIT) > 0) ; break;
		case CALL_SLEEP: break;
		case CALL_COND: release_all(1); break;
		}
	}
	cap_join(t, NULL);
	CHECK(fresh); /* it began on a first chunk with nothing linked */
	for (int k = 0; k < NCALLS; k++) {
		if (linked_in[k])
			printf("  %s linked a chunk\n", call_names[k]);
		CHECK_EQ(linked_in[k], 0);
	}
}

int main(void)
{
	/* One malloc arena: a worker's first malloc would otherwise reserve
	 * 64 MiB of address space of its own, in the middle of a measure. */
	mallopt(M_ARENA_MAX, 1);
	/* First: the chunks of the cases after it fill the pool, and what a
	 * full pool cannot take stays linked to first chunks reused later. */
	RUN(a_thread_that_only_blocks_links_no_chunk);
	RUN(blocked_threads_hold_no_chunk_of_a_returned_call);
	RUN(a_blocked_thread_keeps_the_chunk_its_frames_are_on);
	RUN(allocas_on_pooled_chunks_stay_their_own);
	TAP_DONE();
}
