/* The blocking graph's chains (src/graph.c) for a thread on a linked chunk,
 * where a walk may stop at the chunk's link and take the rest of its chain
 * from the node the thread left last (the chunk link): each chain must be
 * the one a whole walk finds.  A function whose frame never fits the first
 * chunk is called from two sites of the thread's function, and blocks at
 * three sites of its own: six blocking points, whose chains differ only
 * beyond the link (the two outer sites) or only before it (the inner
 * ones).  And a blocking point whose successor changes from one op to the
 * next, at the same depth, and one that repeats, which the node's memo of
 * the walk stands for.  A wait for a descriptor, whose point is found
 * before the wait lock is taken.  And stack accounting for a linked chunk that
 * one thread went deep in and the next thread links again.  Telemetry
 * records only when it is on: the test runs itself again with a telemetry
 * socket to listen on. */
#define _GNU_SOURCE
#include "tap.h"
#include "telemetry.h"

#include <capriccio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define ROUNDS 40

/* Each worker's tables in turn (a thread that moved has nodes in each). */
#define EACH_TABLE(T) for (uint32_t w_ = 0; w_ < CAP_WORKERS_MAX && ((T) = cap__tel_tables[w_]) != NULL; w_++)

/* A whole walk (as the sampler's: no link) from walk_here's frame, next to
 * a blocking point: the chain beyond the function that calls both, from
 * the return into its caller on. */
struct point {
	uint64_t frames[CAP_FRAMES];
	uint32_t n;
};

#define INNER 3
static struct point points[2][INNER]; /* [outer site][inner site] */
static bool linked;                /* a chunk link was known after a block */

extern const unsigned char __morestack[]; /* libgcc's */

/* Its address, as the runtime takes it: in a split-stack function that
 * calls code that is not, gold makes references to __morestack refer to
 * __morestack_non_split. */
static __attribute__((noinline, no_split_stack)) uintptr_t morestack(void) { return (uintptr_t)__morestack; }

static struct cap_unwind_rule no_fill(uint64_t key) { return cap__unwind_rule_sys(key); }

/* Not split-stack code (as the runtime's is not), so it makes no split of
 * its own: in_chunk, which calls it, has the room such code needs. */
static __attribute__((noinline, no_split_stack)) void walk_here(struct point *p)
{
	const uintptr_t *fp = __builtin_frame_address(0);
	struct cap_unwind_regs r = { fp[1], (uintptr_t)(fp + 2), fp[0] };
	uint64_t memo = 0;
	p->n = cap__unwind_walk(cap__current(), r, true, __morestack_segments, &memo, p->frames, CAP_FRAMES, no_fill, NULL);
}

/* Too big a frame for the thread's first chunk, and a caller of code that
 * is not split-stack code (gold then asks for room for it too): each call
 * is a split, onto a chunk whose first frame is this one. */
static __attribute__((noinline)) void in_chunk(struct point *in)
{
	volatile char pad[4096];
	pad[0] = 1;
	walk_here(&in[0]);
	cap_sleep_ns(1000); /* a whole walk: the first block in the chunk */
	walk_here(&in[1]);
	cap_sleep_ns(1000); /* to the link, the rest from the node before */
	walk_here(&in[2]);
	cap_sleep_ns(1000); /* and again, from that one */
	linked |= cap__current()->chunk_link != 0;
	__asm__ volatile("" ::: "memory");
	(void)pad[0];
}

static void *alternate(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		in_chunk(points[0]);
		in_chunk(points[1]);
	}
	__asm__ volatile("" ::: "memory");
	return NULL;
}

/* The sleeps whose chain, past the frame in in_chunk, is p's, over every
 * worker's tables (a thread that moved has its nodes in each): their
 * count, and how many nodes with a count of their own they make. */
static uint64_t count_of(const struct point *p, uint32_t *nodes)
{
	uint64_t count = 0, seen[8] = { 0 };
	*nodes = 0;
	const struct cap_telemetry *T;
	EACH_TABLE(T) {
		for (uint32_t i = 0; i < T->nodes.n; i++) {
			const struct cap_node *e = &T->nodes.v[i];
			if (e->kind != CAP_WAIT_SLEEP || e->nframes <= p->n ||
			    memcmp(e->frames + e->nframes - p->n, p->frames, p->n * sizeof p->frames[0]) != 0)
				continue;
			/* The frame before: the return into in_chunk. */
			CHECK_EQ(cap__unwind_function_sys(e->frames[e->nframes - p->n - 1]), (uintptr_t)in_chunk);
			count += e->count;
			bool known = false;
			for (uint32_t k = 0; k < *nodes; k++)
				known |= seen[k] == e->hash;
			if (!known && *nodes < 8)
				seen[(*nodes)++] = e->hash;
		}
	}
	return count;
}

static void test_chains_through_a_chunk_link(void)
{
	cap_spawn_opts_t o = { .name = "alternate", .stack_size = 2048, .stack_mode = CAP_STACK_SPLIT };
	cap_thread_t *t = cap_spawn(alternate, NULL, &o);
	CHECK(t != NULL);
	cap_join(t, NULL);
	CHECK(linked);
	for (int a = 0; a < 2; a++) {
		const struct point *p = &points[a][0];
		/* __morestack (in_chunk's caller), then alternate, where the chain ends. */
		CHECK(p->n >= 2 && p->n < CAP_FRAMES);
		CHECK_EQ(cap__unwind_function_sys(p->frames[0]), morestack());
		CHECK_EQ(cap__unwind_function_sys(p->frames[p->n - 1]), (uintptr_t)alternate);
		for (int b = 1; b < INNER; b++)
			CHECK(p->n == points[a][b].n && memcmp(p->frames, points[a][b].frames, p->n * sizeof p->frames[0]) == 0);
		/* Each sleep of in_chunk, ROUNDS times, from this outer site only. */
		uint32_t nodes;
		CHECK_EQ(count_of(p, &nodes), (uint64_t)INNER * ROUNDS);
		CHECK_EQ(nodes, (uint32_t)INNER);
	}
	/* The two outer sites: their chains differ beyond the link only. */
	CHECK(points[0][0].n == points[1][0].n && points[0][0].frames[points[0][0].n - 1] != points[1][0].frames[points[1][0].n - 1]);
}

/* A blocking point followed now by one point, now by another of the same
 * depth: each op must be recorded at its own node, though the node the
 * thread went to last time is tried first.  (Each helper is a frame of
 * its own: no tail call.) */
static __attribute__((noinline)) void sleep_p(void) { cap_sleep_ns(1000); __asm__ volatile("" ::: "memory"); }
static __attribute__((noinline)) void sleep_x(void) { cap_sleep_ns(1000); __asm__ volatile("" ::: "memory"); }
static __attribute__((noinline)) void sleep_y(void) { cap_sleep_ns(1000); __asm__ volatile("" ::: "memory"); }

static void *branching(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		sleep_p();
		if (i % 2)
			sleep_x();
		else
			sleep_y();
	}
	__asm__ volatile("" ::: "memory");
	return NULL;
}

static bool passes(const struct cap_node *e, void (*fn)(void))
{
	for (uint32_t k = 0; k < e->nframes; k++)
		if (cap__unwind_function_sys(e->frames[k]) == (uintptr_t)fn)
			return true;
	return false;
}

/* Over every worker's tables: the sleeps in fn. */
static uint64_t sleeps_in(void (*fn)(void))
{
	uint64_t count = 0;
	const struct cap_telemetry *T;
	EACH_TABLE(T)
		for (uint32_t i = 0; i < T->nodes.n; i++)
			if (T->nodes.v[i].kind == CAP_WAIT_SLEEP && passes(&T->nodes.v[i], fn))
				count += T->nodes.v[i].count;
	return count;
}

/* Over every worker's tables: the runs from a sleep in `from` to one in `to`. */
static uint64_t runs_between(void (*from)(void), void (*to)(void))
{
	uint64_t count = 0;
	const struct cap_telemetry *T;
	EACH_TABLE(T)
		for (uint32_t i = 0; i < T->edges.n; i++) {
			const struct cap_edge *ed = &T->edges.v[i];
			if (passes(&T->nodes.v[ed->from - 1], from) && passes(&T->nodes.v[ed->to - 1], to))
				count += ed->count;
		}
	return count;
}

static void test_successors_that_change(void)
{
	cap_thread_t *t = cap_spawn(branching, NULL, &(cap_spawn_opts_t){ .name = "branching" });
	CHECK(t != NULL);
	cap_join(t, NULL);
	CHECK_EQ(sleeps_in(sleep_p), (uint64_t)ROUNDS);
	CHECK_EQ(sleeps_in(sleep_x), (uint64_t)ROUNDS / 2);
	CHECK_EQ(sleeps_in(sleep_y), (uint64_t)ROUNDS / 2);
	CHECK_EQ(runs_between(sleep_p, sleep_x), (uint64_t)ROUNDS / 2);
	CHECK_EQ(runs_between(sleep_p, sleep_y), (uint64_t)ROUNDS / 2);
}

/* A thread that blocks at one point again and again: after its first
 * blocks there, the node's memo stands for the walk (src/graph.c).  Its
 * words are checked, not trusted: test_successors_that_change has two
 * points whose memos differ in one return address only. */
static __attribute__((noinline)) void sleep_r(void) { cap_sleep_ns(1000); __asm__ volatile("" ::: "memory"); }

static void *repeating(void *arg)
{
	for (int i = 0; i < ROUNDS; i++)
		sleep_r();
	__asm__ volatile("" ::: "memory");
	return arg;
}

static uint64_t walks(void)
{
	uint64_t n = 0;
	const struct cap_telemetry *T;
	EACH_TABLE(T)
		n += T->walks;
	return n;
}

static void test_a_repeated_point_is_not_walked_again(void)
{
	uint64_t before = walks();
	cap_thread_t *t = cap_spawn(repeating, NULL, &(cap_spawn_opts_t){ .name = "repeating" });
	CHECK(t != NULL);
	cap_join(t, NULL);
	uint64_t walked = walks() - before;
	fprintf(stderr, "  # %d blocks at one point: %llu walks\n", ROUNDS, (unsigned long long)walked);
	CHECK_EQ(sleeps_in(sleep_r), (uint64_t)ROUNDS);
	/* Its first two blocks and the join's, and one or two per worker it moved to. */
	CHECK(walked <= ROUNDS / 4);
}

/* The same on a linked chunk (a handler whose frame is too big for the
 * first one, as knot's): the memo checks the frames on the chunk, below
 * its link, and takes the rest from the node before. */
static __attribute__((noinline)) void sleep_c(void) { cap_sleep_ns(1000); __asm__ volatile("" ::: "memory"); }
static bool chunk_linked;

static __attribute__((noinline)) void repeating_in_chunk(void)
{
	volatile char pad[4096];
	pad[0] = 1;
	for (int i = 0; i < ROUNDS; i++)
		sleep_c();
	chunk_linked = __morestack_current_segment && cap__current()->chunk_link != 0;
	__asm__ volatile("" ::: "memory");
	(void)pad[0];
}

static void *repeating_linked(void *arg)
{
	repeating_in_chunk();
	__asm__ volatile("" ::: "memory");
	return arg;
}

static void test_a_repeated_point_on_a_chunk_is_not_walked_again(void)
{
	uint64_t before = walks();
	cap_spawn_opts_t o = { .name = "repeating_linked", .stack_size = 2048, .stack_mode = CAP_STACK_SPLIT };
	cap_thread_t *t = cap_spawn(repeating_linked, NULL, &o);
	CHECK(t != NULL);
	cap_join(t, NULL);
	uint64_t walked = walks() - before;
	fprintf(stderr, "  # %d blocks at one point on a linked chunk: %llu walks\n", ROUNDS, (unsigned long long)walked);
	CHECK(chunk_linked);
	CHECK_EQ(sleeps_in(sleep_c), (uint64_t)ROUNDS);
	/* The first block (a whole walk), the second (to the link), the
	 * join's, and one or two per worker it moved to. */
	CHECK(walked <= ROUNDS / 4);
}

/* Waits for a descriptor: their point is found before the wait lock is
 * taken (cap__graph_prepare), from cap__fd_wait's caller on, and counted
 * once per wait, as any other.  Two threads take turns over a socketpair;
 * the reader's reads are its only waits. */
static int pair[2];
static uint32_t reader_waits;
static __attribute__((noinline)) void read_one(void)
{
	char c;
	CHECK_EQ(read(pair[0], &c, 1), 1);
	__asm__ volatile("" ::: "memory");
}

static void *reader(void *arg)
{
	uint32_t waits = cap__current()->waits; /* a thread structure's count goes on from its last thread's */
	for (int i = 0; i < ROUNDS; i++) {
		read_one();
		CHECK_EQ(write(pair[0], "y", 1), 1);
	}
	reader_waits = cap__current()->waits - waits;
	return arg;
}

static void *writer(void *arg)
{
	char c;
	for (int i = 0; i < ROUNDS; i++)
		CHECK(write(pair[1], "x", 1) == 1 && read(pair[1], &c, 1) == 1);
	return arg;
}

static void test_a_wait_for_a_descriptor_is_one_point(void)
{
	extern int cap__fd_wait(int fd, int dir, uint64_t deadline_ns);
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	cap_thread_t *r = cap_spawn(reader, NULL, &(cap_spawn_opts_t){ .name = "reader" });
	cap_thread_t *w = cap_spawn(writer, NULL, &(cap_spawn_opts_t){ .name = "writer" });
	cap_join(r, NULL);
	cap_join(w, NULL);
	uint64_t count = 0, hash = 0;
	const struct cap_telemetry *T;
	EACH_TABLE(T)
		for (uint32_t i = 0; i < T->nodes.n; i++) {
			const struct cap_node *e = &T->nodes.v[i];
			if (e->kind != CAP_WAIT_IO || !passes(e, read_one))
				continue;
			count += e->count;
			CHECK(!hash || e->hash == hash); /* one point, whichever worker's copy */
			hash = e->hash;
			CHECK(!passes(e, (void (*)(void))cap__fd_wait));
		}
	fprintf(stderr, "  # %d reads: %u waits, %llu recorded\n", ROUNDS, reader_waits, (unsigned long long)count);
	CHECK(reader_waits > 0);
	CHECK_EQ(count, (uint64_t)reader_waits);
	close(pair[0]);
	close(pair[1]);
}

/* Stack accounting: a finished thread's linked chunk is clean again for
 * the next thread that links it (from the worker's pool), whose high-water
 * is then its own.  Both call big_frame, whose frame needs a chunk of its
 * own; the first writes all of it, the second only its top kilobyte. */
#define BIG_FRAME (32u << 10)

static __attribute__((noinline)) void big_frame(size_t written)
{
	volatile char pad[BIG_FRAME];
	for (size_t i = BIG_FRAME - written; i < BIG_FRAME; i++)
		pad[i] = 1;
	cap_sleep_ns(1000);
	(void)pad[BIG_FRAME - 1];
}

static void *deep_writer(void *arg) { big_frame(BIG_FRAME); return arg; }
static void *shallow_writer(void *arg) { big_frame(1024); return arg; }

/* The high-water of the one thread spawned at the call in `spawner`. */
static uint64_t used_max_of(uintptr_t spawner)
{
	uint64_t used = 0;
	uint32_t threads = 0;
	const struct cap_telemetry *T;
	EACH_TABLE(T)
		for (uint32_t i = 0; i < T->sites.n; i++) {
			const struct cap_site *st = &T->sites.v[i];
			if (cap__unwind_function_sys(st->addr) != spawner)
				continue;
			threads += st->total;
			if (st->used_max > used)
				used = st->used_max;
		}
	CHECK_EQ(threads, 1u);
	return used;
}

/* Inlined: each spawner is a spawn site of its own. */
static inline __attribute__((always_inline)) void spawn_join(void *(*fn)(void *))
{
	cap_thread_t *t = cap_spawn(fn, NULL, &(cap_spawn_opts_t){ .name = "writer", .stack_mode = CAP_STACK_SPLIT });
	CHECK(t != NULL);
	cap_join(t, NULL);
}
static __attribute__((noinline)) void spawn_deep(void) { spawn_join(deep_writer); }
static __attribute__((noinline)) void spawn_shallow(void) { spawn_join(shallow_writer); }

static void test_a_chunk_is_clean_for_its_next_thread(void)
{
	spawn_deep();
	spawn_shallow();
	uint64_t deep = used_max_of((uintptr_t)spawn_deep), shallow = used_max_of((uintptr_t)spawn_shallow);
	fprintf(stderr, "  # high-water: %llu bytes writing the whole frame, %llu writing its top kilobyte\n",
		(unsigned long long)deep, (unsigned long long)shallow);
	CHECK(deep >= BIG_FRAME && deep < 2 * BIG_FRAME);
	CHECK(shallow < BIG_FRAME / 4); /* with what the first thread left, it would be over BIG_FRAME */
}

int main(int argc, char **argv)
{
	(void)argc;
	if (!getenv("CAPRICCIO_TELEMETRY_LISTEN")) {
		char path[64];
		snprintf(path, sizeof path, "/tmp/cap-test-graph-%d.sock", (int)getpid());
		setenv("CAPRICCIO_TELEMETRY_LISTEN", path, 1);
		execv("/proc/self/exe", argv);
		perror("execv");
		return 1;
	}
	RUN(test_chains_through_a_chunk_link);
	RUN(test_successors_that_change);
	RUN(test_a_repeated_point_is_not_walked_again);
	RUN(test_a_repeated_point_on_a_chunk_is_not_walked_again);
	RUN(test_a_wait_for_a_descriptor_is_one_point);
	RUN(test_a_chunk_is_clean_for_its_next_thread);
	unlink(getenv("CAPRICCIO_TELEMETRY_LISTEN"));
	TAP_DONE();
}
