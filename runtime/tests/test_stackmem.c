/* The stack memory map (src/stackmem.h): what the runtime measures as its
 * threads' stack memory is what the kernel shows in /proc/self/smaps for
 * the mappings it marked (VmFlags "nr" and "nh"), within 10%, both reserved and
 * resident; and a thread that holds gold's 1 MiB chunk for a call into libc
 * costs a megabyte of address space but only the pages its frames touched.
 * (Without the registration of the chunks split calls link, reserved falls short
 * of a megabyte per thread; counting reserved as resident, or resident of
 * the slabs alone, misses /proc by far more than 10%.) */
#define _GNU_SOURCE
#include <capriccio.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tap.h"
#include "frames.h"
#include "internal.h"
#include "mn.h"
#include "stackmem.h"

/* The kernel's view: Size and Rss of every mapping marked nohugepage and
 * noreserve (glibc marks its thread stacks nohugepage too, not noreserve). */
static void proc_nh(uint64_t *size, uint64_t *rss)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	uint64_t sz = 0, rs = 0;
	*size = *rss = 0;
	while (f && fgets(line, sizeof line, f)) {
		unsigned long v;
		if (sscanf(line, "Size: %lu kB", &v) == 1)
			sz = v * 1024;
		else if (sscanf(line, "Rss: %lu kB", &v) == 1)
			rs = v * 1024;
		else if (!strncmp(line, "VmFlags:", 8) && strstr(line, " nh") && strstr(line, " nr")) {
			*size += sz;
			*rss += rs;
		}
	}
	if (f)
		fclose(f);
}

static cap_mutex_t mu;
static cap_cond_t cv;
static long waiting;
static int released;

/* As a thread-per-connection server's handler: it calls into libc itself
 * and then blocks in the same frame, so gold's 1 MiB chunk stays under it. */
static void *serves(void *a)
{
	char line[64];
	snprintf(line, sizeof line, "connection %ld", (long)(intptr_t)a);
	cap_mutex_lock(&mu);
	waiting++;
	while (!released)
		cap_cond_wait(&cv, &mu);
	cap_mutex_unlock(&mu);
	return (void *)(intptr_t)(line[0] == 'c');
}

static void *returns(void *a) { return a; }

static int64_t idle_bytes(void)
{
	int64_t n = 0;
	for (uint32_t i = 0; i < cap__mn.n; i++)
		n += atomic_load(&cap__mn.workers[i]->stacks.idle);
	return n;
}

/* Measured and /proc within 10% of each other. */
static int within(uint64_t ours, uint64_t proc)
{
	return ours * 10 >= proc * 9 && ours * 10 <= proc * 11;
}

static void compare(const char *when, struct cap_stack_mem *m)
{
	uint64_t size, rss;
	cap__stackmem_measure(m);
	proc_nh(&size, &rss);
	printf("  %s: %u mappings, reserved %lu, resident %lu; /proc (nr nh): size %lu, rss %lu\n", when, m->mappings,
	       (unsigned long)m->reserved_bytes, (unsigned long)m->resident_bytes, (unsigned long)size, (unsigned long)rss);
	CHECK(within(m->reserved_bytes, size));
	CHECK(within(m->resident_bytes, rss));
}

#define NTHREADS 1000
#define NFINISHED 400
#define FIRST 3840l /* the default first chunk */

static void ended_threads_leave_free_first_chunks(void)
{
	int64_t before = idle_bytes();
	for (long i = 0; i < NFINISHED; i++) {
		cap_thread_t *d = cap_spawn(returns, NULL, NULL);
		CHECK(d && cap_join(d, NULL) == 0);
	}
	printf("  idle (free first chunks and their chunks): %ld bytes\n", (long)idle_bytes());
	CHECK(idle_bytes() >= FIRST); /* at least the one they took in turn */
	CHECK(idle_bytes() >= before);
}

/* Threads blocked in a frame that called libc: a megabyte of address space
 * each, a few pages of memory, and the kernel agrees on both. */
static void threads_in_a_libc_frame_cost_what_proc_shows(void)
{
	static cap_thread_t *t[NTHREADS];
	struct cap_stack_mem m;
	int64_t free_before = idle_bytes();
	for (long i = 0; i < NTHREADS; i++)
		CHECK((t[i] = cap_spawn(serves, (void *)i, NULL)) != NULL);
	while (__atomic_load_n(&waiting, __ATOMIC_ACQUIRE) < NTHREADS)
		cap_yield();
	compare("blocked", &m);
	CHECK(m.reserved_bytes >= NTHREADS * (1ul << 20));
	CHECK(m.resident_bytes < m.reserved_bytes / 20);
	CHECK(m.resident_bytes >= NTHREADS * 2 * 4096ul); /* a chunk's header page and its top page, at least */

	cap_mutex_lock(&mu);
	released = 1;
	cap_cond_broadcast(&cv);
	cap_mutex_unlock(&mu);
	long ok = 0;
	for (long i = 0; i < NTHREADS; i++) {
		void *r = NULL;
		CHECK(cap_join(t[i], &r) == 0);
		ok += (intptr_t)r;
	}
	CHECK_EQ(ok, NTHREADS);
	printf("  idle: %ld bytes before, %ld after\n", (long)free_before, (long)idle_bytes());
	/* Their first chunks are free again, and the chunks their pools had no
	 * room for stay with them: a header page and a page of frames at least. */
	CHECK(idle_bytes() >= NTHREADS * FIRST + (NTHREADS - 64 * (long)cap__mn.n) * 2 * 4096l);
	compare("ended", &m); /* those chunks are still mapped: still registered */
}

int main(void)
{
	RUN(ended_threads_leave_free_first_chunks);
	RUN(threads_in_a_libc_frame_cost_what_proc_shows);
	TAP_DONE();
}
