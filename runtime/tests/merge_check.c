/* The telemetry thread's merge of several workers' tables (src/telmerge_sys.c),
 * on tables built here as two workers' would be: before the scheduler runs
 * N workers, this is where the merge is seen at work.  Entries are
 * published as graph.c publishes them (filled, then the count stored). */
#define _GNU_SOURCE
#include "tap.h"
#include "telmerge.h"

static struct cap_telemetry *tables(uint32_t wid)
{
	struct cap_telemetry *T = calloc(1, sizeof *T);
	T->ref0 = CAP_REF(wid, 0);
	return T;
}

/* A blocking point with a one-frame chain, keyed as graph.c keys it. */
static uint32_t node(struct cap_telemetry *T, uint64_t pc, int kind, uint64_t count, uint64_t wait, uint64_t wait_max)
{
	uint32_t n = T->nodes.n;
	struct cap_node *e = &T->nodes.v[n];
	e->frames[0] = pc;
	e->nframes = 1;
	e->kind = (uint8_t)kind;
	e->hash = cap__hash_frames(e->frames, 1) ^ ((uint64_t)kind << 56);
	e->count = count;
	e->wait_total = wait;
	e->wait_max = wait_max;
	atomic_store(&T->nodes.n, n + 1);
	return n + 1;
}

static void edge(struct cap_telemetry *T, uint32_t from, uint32_t to, uint64_t count, uint64_t ewma, uint64_t max)
{
	uint32_t n = T->edges.n;
	T->edges.v[n] = (struct cap_edge){ .from = from, .to = to, .count = count, .total = count * ewma, .ewma = ewma, .max = max };
	atomic_store(&T->edges.n, n + 1);
}

static void site(struct cap_telemetry *T, uint64_t addr, int32_t live, int64_t allocated, uint32_t total)
{
	uint32_t n = T->sites.n;
	T->sites.v[n] = (struct cap_site){ .addr = addr, .live = (uint32_t)live, .allocated = (uint64_t)allocated, .total = total, .first_chunk = 4096 };
	atomic_store(&T->sites.n, n + 1);
}

static void stall(struct cap_telemetry *T, uint64_t callsite, uint64_t count)
{
	uint32_t n = T->stalls.n;
	T->stalls.v[n] = (struct cap_stall){ .callsite = callsite, .count = count, .syscall = 7 };
	atomic_store(&T->stalls.n, n + 1);
}

static const struct cap_edge *find_edge(const struct cap_merge *m, uint32_t from, uint32_t to)
{
	for (uint32_t i = 0; i < m->edge_map.n; i++)
		if (m->edge[i].from == from && m->edge[i].to == to)
			return &m->edge[i];
	return NULL;
}

enum { A = 0x401000, B = 0x402000, C = 0x403000, D = 0x404000 };

static void one_worker_keeps_its_ids(void)
{
	struct cap_merge m;
	CHECK_EQ(cap__merge_init(&m), 0);
	struct cap_telemetry *T = tables(0);
	node(T, B, 9, 4, 400, 150);
	node(T, A, 3, 1, 10, 10);
	edge(T, 1, 2, 5, 70, 90);
	CHECK_EQ(cap__merge_add(&m, T), 0);
	cap__merge_update(&m);
	/* The wire's ids are the worker's own, as before workers. */
	CHECK_EQ(m.node_map.n, 2);
	CHECK(m.node[0].def == &T->nodes.v[0]);
	CHECK(m.node[1].def == &T->nodes.v[1]);
	CHECK_EQ(m.node[0].count, 4);
	CHECK_EQ(m.node[0].wait_total, 400);
	const struct cap_edge *e = find_edge(&m, 1, 2);
	CHECK(e && e->count == 5 && e->ewma == 70 && e->max == 90 && e->total == 350);
	/* Counters are recomputed, not added up again, at the next update. */
	T->nodes.v[0].count = 6;
	cap__merge_update(&m);
	CHECK_EQ(m.node[0].count, 6);
	CHECK_EQ(m.node_map.n, 2);
}

static void two_workers_share_node_ids(void)
{
	struct cap_merge m;
	CHECK_EQ(cap__merge_init(&m), 0);
	struct cap_telemetry *T0 = tables(0), *T1 = tables(1);
	/* Worker 0 sees A then B; worker 1 sees B, C, then A: other local ids. */
	node(T0, A, 9, 2, 200, 120);
	node(T0, B, 3, 5, 50, 20);
	node(T1, B, 3, 7, 70, 40);
	node(T1, C, 13, 1, 0, 0);
	node(T1, A, 9, 3, 300, 110);
	node(T1, A, 3, 1, 1, 1); /* the same chain, another kind: another point */
	edge(T0, 1, 2, 2, 100, 500); /* A -> B */
	edge(T1, 3, 1, 6, 200, 300); /* A -> B on worker 1 */
	edge(T1, 1, 2, 3, 40, 40);   /* B -> C */
	site(T0, 0x405000, 3, 3 * 8192, 3);
	site(T1, 0x405000, -1, -8192, 0); /* a thread begun on worker 0 ended on 1 */
	T0->blocked[CAP_WAIT_IO] = 2;
	T1->blocked[CAP_WAIT_IO] = (uint32_t)-1; /* woken from worker 1 */
	T0->stack_allocated = 3 * 8192;
	T1->stack_allocated = (uint64_t)-8192;
	T0->blocking_ops = 10;
	T1->blocking_ops = 11;
	stall(T0, 0x406000, 1);
	stall(T1, 0x406000, 2);
	CHECK_EQ(cap__merge_add(&m, T0), 0);
	CHECK_EQ(cap__merge_add(&m, T1), 0);
	cap__merge_update(&m);

	CHECK_EQ(m.node_map.n, 4); /* A/9, B/3, C/13, A/3 */
	CHECK(m.node[0].def->frames[0] == A && m.node[0].def->kind == 9);
	CHECK(m.node[1].def->frames[0] == B);
	CHECK(m.node[2].def->frames[0] == C);
	CHECK(m.node[3].def->frames[0] == A && m.node[3].def->kind == 3);
	CHECK_EQ(m.node[0].count, 5);
	CHECK_EQ(m.node[0].wait_total, 500);
	CHECK_EQ(m.node[0].wait_max, 120);
	CHECK_EQ(m.node[1].count, 12);
	const struct cap_edge *ab = find_edge(&m, 1, 2), *bc = find_edge(&m, 2, 3);
	CHECK(ab != NULL && bc != NULL);
	CHECK_EQ(m.edge_map.n, 2);
	if (ab) {
		CHECK_EQ(ab->count, 8);
		CHECK_EQ(ab->total, 2 * 100 + 6 * 200);
		CHECK_EQ(ab->ewma, (2 * 100 + 6 * 200) / 8); /* weighted by count */
		CHECK_EQ(ab->max, 500);
	}
	CHECK_EQ(m.site_map.n, 1);
	CHECK_EQ(m.site[0].live, 2);
	CHECK_EQ(m.site[0].allocated, 2 * 8192);
	CHECK_EQ(m.site[0].total, 3);
	CHECK_EQ(m.blocked[CAP_WAIT_IO], 1);
	CHECK_EQ(m.stack_allocated, 2 * 8192);
	CHECK_EQ(m.blocking_ops, 21);
	/* Stalls stay per worker: two, each with its own id. */
	CHECK_EQ(m.nstalls, 2);
	CHECK(m.stall[0] == &T0->stalls.v[0] && m.stall[1] == &T1->stalls.v[0]);

	/* Later: worker 1 finds D and runs C -> D; worker 0 then finds C.  The
	 * ids given out stay; new points get the next ones. */
	uint32_t d = node(T1, D, 13, 1, 0, 0);
	edge(T1, 2, d, 1, 9, 9);
	node(T0, C, 13, 4, 0, 0);
	cap__merge_update(&m);
	CHECK_EQ(m.node_map.n, 5);
	CHECK(m.node[4].def->frames[0] == D);
	CHECK_EQ(m.node[2].count, 5); /* C on both */
	CHECK(find_edge(&m, 3, 5) != NULL);
	CHECK_EQ(find_edge(&m, 1, 2)->count, 8);
}

/* A negative sum (a decrement seen before its increment) reads as 0. */
static void deltas_never_read_below_zero(void)
{
	struct cap_merge m;
	CHECK_EQ(cap__merge_init(&m), 0);
	struct cap_telemetry *T0 = tables(0), *T1 = tables(1);
	T1->blocked[CAP_WAIT_SLEEP] = (uint32_t)-2;
	T0->blocked[CAP_WAIT_SLEEP] = 1;
	site(T1, 0x405000, -1, -100, 0);
	CHECK_EQ(cap__merge_add(&m, T0), 0);
	CHECK_EQ(cap__merge_add(&m, T1), 0);
	cap__merge_update(&m);
	CHECK_EQ(m.blocked[CAP_WAIT_SLEEP], 0);
	CHECK_EQ(m.site[0].live, 0);
	CHECK_EQ(m.site[0].allocated, 0);
}

int main(void)
{
	RUN(one_worker_keeps_its_ids);
	RUN(two_workers_share_node_ids);
	RUN(deltas_never_read_below_zero);
	TAP_DONE();
}
