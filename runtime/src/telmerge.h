/* The telemetry thread's view of all workers' tables as one (issue 13):
 * the same blocking point (call chain and kind), spawn site, split call
 * site or sampled location on several workers is one entry with one id,
 * its counters summed (maxima as the largest); edges are merged by their
 * two merged node ids; stalls stay per worker, each with an id of its own.
 *
 * Ids are handed out as entries are first seen, worker by worker in
 * registration order, and never change: with one worker an entry's id is
 * its index + 1 in that worker's table, as the wire had before workers.
 *
 * Only the telemetry thread calls these; the workers' tables are read as
 * telemetry.h allows (published entries, whole counters), never locked. */
#ifndef CAP_TELMERGE_H
#define CAP_TELMERGE_H

#include "telemetry.h"

/* key -> id (1-based) by open addressing. */
struct cap_idmap {
	uint64_t *key;  /* by id - 1 */
	uint32_t *slot; /* 2 * max: id, 0 empty */
	uint32_t n, max;
};

/* One worker's tables, and its entries' merged ids (0: not merged, the
 * merged table was full). */
struct cap_merge_src {
	const struct cap_telemetry *T;
	uint32_t nodes, edges, sites, splits, samples, stalls, holds, wakes; /* entries mapped so far */
	uint32_t *node_id, *edge_id, *site_id, *split_id, *sample_id, *stall_id, *hold_id, *wake_id;
};

struct cap_merged_node {
	const struct cap_node *def; /* the first worker's entry: its chain and kind */
	uint64_t count, wait_total, wait_max; /* ticks */
	int64_t fd_delta;
};
struct cap_merged_sample {
	const struct cap_sample *def;
	uint64_t count, run_max;
};

/* Holds and wakes with their nodes' merged ids (wake from 0: none). */
struct cap_merged_hold {
	uint32_t node;
	uint64_t acquire, release, count, hold_total, hold_max, wait_total; /* ticks */
};
struct cap_merged_wake {
	uint32_t node, from;
	uint64_t waker, count;
};

struct cap_merge {
	uint32_t nsrc;
	struct cap_merge_src *src; /* CAP_WORKERS_MAX */
	struct cap_idmap node_map, edge_map, site_map, split_map, sample_map, hold_map, wake_map;
	struct cap_merged_node *node;
	struct cap_edge *edge;   /* from/to: merged node ids */
	struct cap_site *site;   /* live, allocated: the sum of the workers' deltas, 0 if below */
	struct cap_split *split;
	struct cap_merged_sample *sample;
	struct cap_merged_hold *hold;
	struct cap_merged_wake *wake;
	uint32_t nstalls;
	const struct cap_stall **stall; /* by merged id - 1: the worker's own entry */
	/* The workers' counters, summed. */
	uint32_t blocked[16];
	uint64_t blocking_ops, stack_allocated, dropped; /* dropped: not recorded, a table full */
};

int cap__merge_init(struct cap_merge *m); /* -1: out of memory */
/* Adds the next worker's tables; -1: too many workers or out of memory. */
int cap__merge_add(struct cap_merge *m, const struct cap_telemetry *T);
/* Maps what the workers added since, and sums every counter afresh. */
void cap__merge_update(struct cap_merge *m);

#endif
