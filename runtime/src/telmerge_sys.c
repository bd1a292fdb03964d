/* Merging the workers' tables (telmerge.h).  Runs on the telemetry thread:
 * compiled without -fsplit-stack. */
#include "telmerge.h"

#include <stdlib.h>
#include <string.h>

#define MAX_OF(a, b) ((a) > (b) ? (a) : (b))

static int cap__idmap_init(struct cap_idmap *m, uint32_t max)
{
	m->key = calloc(max, sizeof *m->key);
	m->slot = calloc(2 * (size_t)max, sizeof *m->slot);
	m->n = 0;
	m->max = max;
	return m->key && m->slot ? 0 : -1;
}

/* The id of `key`, added if new; 0 when the map is full. */
static uint32_t cap__idmap_get(struct cap_idmap *m, uint64_t key)
{
	uint32_t mask = 2 * m->max - 1, i = (uint32_t)cap__mix(key) & mask;
	for (;; i = (i + 1) & mask) {
		uint32_t s = m->slot[i];
		if (!s)
			break;
		if (m->key[s - 1] == key)
			return s;
	}
	if (m->n >= m->max)
		return 0;
	m->key[m->n] = key;
	m->slot[i] = ++m->n;
	return m->n;
}

int cap__merge_init(struct cap_merge *m)
{
	memset(m, 0, sizeof *m);
	m->src = calloc(CAP_WORKERS_MAX, sizeof *m->src);
	m->node = calloc(CAP_NODES_MAX, sizeof *m->node);
	m->edge = calloc(CAP_EDGES_MAX, sizeof *m->edge);
	m->site = calloc(CAP_SITES_MAX, sizeof *m->site);
	m->split = calloc(CAP_SPLITS_MAX, sizeof *m->split);
	m->sample = calloc(CAP_SAMPLES_MAX, sizeof *m->sample);
	m->stall = calloc((size_t)CAP_STALLS_MAX * 4, sizeof *m->stall);
	m->hold = calloc(CAP_HOLDS_MAX, sizeof *m->hold);
	m->wake = calloc(CAP_WAKES_MAX, sizeof *m->wake);
	if (!m->src || !m->node || !m->edge || !m->site || !m->split || !m->sample || !m->stall || !m->hold || !m->wake)
		return -1;
	if (cap__idmap_init(&m->node_map, CAP_NODES_MAX) || cap__idmap_init(&m->edge_map, CAP_EDGES_MAX) ||
	    cap__idmap_init(&m->site_map, CAP_SITES_MAX) || cap__idmap_init(&m->split_map, CAP_SPLITS_MAX) ||
	    cap__idmap_init(&m->sample_map, CAP_SAMPLES_MAX) || cap__idmap_init(&m->hold_map, CAP_HOLDS_MAX) ||
	    cap__idmap_init(&m->wake_map, CAP_WAKES_MAX))
		return -1;
	return 0;
}

int cap__merge_add(struct cap_merge *m, const struct cap_telemetry *T)
{
	if (m->nsrc >= CAP_WORKERS_MAX)
		return -1;
	struct cap_merge_src *s = &m->src[m->nsrc];
	s->node_id = calloc(CAP_NODES_MAX, sizeof(uint32_t));
	s->edge_id = calloc(CAP_EDGES_MAX, sizeof(uint32_t));
	s->site_id = calloc(CAP_SITES_MAX, sizeof(uint32_t));
	s->split_id = calloc(CAP_SPLITS_MAX, sizeof(uint32_t));
	s->sample_id = calloc(CAP_SAMPLES_MAX, sizeof(uint32_t));
	s->stall_id = calloc(CAP_STALLS_MAX, sizeof(uint32_t));
	s->hold_id = calloc(CAP_HOLDS_MAX, sizeof(uint32_t));
	s->wake_id = calloc(CAP_WAKES_MAX, sizeof(uint32_t));
	if (!s->node_id || !s->edge_id || !s->site_id || !s->split_id || !s->sample_id || !s->stall_id || !s->hold_id ||
	    !s->wake_id)
		return -1;
	s->T = T;
	m->nsrc++;
	return 0;
}

static void cap__map_nodes(struct cap_merge *m, struct cap_merge_src *s)
{
	uint32_t n = atomic_load_explicit(&s->T->nodes.n, memory_order_acquire);
	for (; s->nodes < n; s->nodes++) {
		const struct cap_node *e = &s->T->nodes.v[s->nodes];
		uint32_t id = cap__idmap_get(&m->node_map, e->hash);
		if (id && !m->node[id - 1].def)
			m->node[id - 1].def = e;
		s->node_id[s->nodes] = id;
	}
}

/* Edges after nodes: an edge is published after both its nodes, so a
 * node it names that is not mapped yet is there to be mapped now. */
static void cap__map_edges(struct cap_merge *m, struct cap_merge_src *s)
{
	uint32_t n = atomic_load_explicit(&s->T->edges.n, memory_order_acquire);
	for (; s->edges < n; s->edges++) {
		const struct cap_edge *e = &s->T->edges.v[s->edges];
		if (MAX_OF(e->from, e->to) > s->nodes)
			cap__map_nodes(m, s);
		uint32_t from = s->node_id[e->from - 1], to = s->node_id[e->to - 1], id = 0;
		if (from && to && (id = cap__idmap_get(&m->edge_map, ((uint64_t)from << 32) | to)) != 0) {
			m->edge[id - 1].from = from;
			m->edge[id - 1].to = to;
		}
		s->edge_id[s->edges] = id;
	}
}

/* The merged id of the node a CAP_REF names, in whichever worker's tables
 * (0: not known yet, or not merged). */
static uint32_t cap__ref_id(struct cap_merge *m, uint32_t ref)
{
	uint32_t wid = CAP_REF_WID(ref), idx = CAP_REF_IDX(ref);
	if (!idx || wid >= m->nsrc)
		return 0;
	struct cap_merge_src *o = &m->src[wid];
	if (idx > o->nodes)
		cap__map_nodes(m, o);
	return idx <= o->nodes ? o->node_id[idx - 1] : 0;
}

/* Holds and wakes after every worker's nodes: they name nodes of any
 * worker.  An entry whose node is not known yet is mapped next time. */
static void cap__map_sync(struct cap_merge *m, struct cap_merge_src *s)
{
	const struct cap_telemetry *T = s->T;
	uint32_t n = atomic_load_explicit(&T->holds.n, memory_order_acquire);
	for (; s->holds < n; s->holds++) {
		const struct cap_hold *e = &T->holds.v[s->holds];
		uint32_t node = cap__ref_id(m, e->node), id = 0;
		if (!node && CAP_REF_IDX(e->node) > 0 && CAP_REF_WID(e->node) >= m->nsrc)
			break;
		if (node && (id = cap__idmap_get(&m->hold_map, cap__hold_key(e->acquire, e->release, node))) != 0) {
			struct cap_merged_hold *g = &m->hold[id - 1];
			g->node = node;
			g->acquire = e->acquire;
			g->release = e->release;
		}
		s->hold_id[s->holds] = id;
	}
	n = atomic_load_explicit(&T->wakes.n, memory_order_acquire);
	for (; s->wakes < n; s->wakes++) {
		const struct cap_wake *e = &T->wakes.v[s->wakes];
		if ((CAP_REF_WID(e->node) >= m->nsrc && CAP_REF_IDX(e->node)) || (CAP_REF_WID(e->from) >= m->nsrc && CAP_REF_IDX(e->from)))
			break;
		uint32_t node = cap__ref_id(m, e->node), from = cap__ref_id(m, e->from), id = 0;
		if (node && (id = cap__idmap_get(&m->wake_map, cap__wake_key(e->waker, node, from))) != 0) {
			struct cap_merged_wake *g = &m->wake[id - 1];
			g->node = node;
			g->from = from;
			g->waker = e->waker;
		}
		s->wake_id[s->wakes] = id;
	}
}

static void cap__map_rest(struct cap_merge *m, struct cap_merge_src *s)
{
	const struct cap_telemetry *T = s->T;
	uint32_t n = atomic_load_explicit(&T->sites.n, memory_order_acquire);
	for (; s->sites < n; s->sites++) {
		uint32_t id = cap__idmap_get(&m->site_map, T->sites.v[s->sites].addr);
		if (id && !m->site[id - 1].first_chunk)
			m->site[id - 1].first_chunk = T->sites.v[s->sites].first_chunk;
		s->site_id[s->sites] = id;
	}
	n = atomic_load_explicit(&T->splits.n, memory_order_acquire);
	for (; s->splits < n; s->splits++)
		s->split_id[s->splits] = cap__idmap_get(&m->split_map, T->splits.v[s->splits].callsite);
	n = atomic_load_explicit(&T->samples.n, memory_order_acquire);
	for (; s->samples < n; s->samples++) {
		const struct cap_sample *e = &T->samples.v[s->samples];
		uint32_t id = cap__idmap_get(&m->sample_map, e->hash);
		if (id && !m->sample[id - 1].def)
			m->sample[id - 1].def = e;
		s->sample_id[s->samples] = id;
	}
	n = atomic_load_explicit(&T->stalls.n, memory_order_acquire);
	for (; s->stalls < n; s->stalls++) {
		uint32_t id = 0;
		if (m->nstalls < (uint32_t)CAP_STALLS_MAX * 4) {
			m->stall[m->nstalls] = &T->stalls.v[s->stalls];
			id = ++m->nstalls;
		}
		s->stall_id[s->stalls] = id;
	}
}

static void cap__sum(struct cap_merge *m, const struct cap_merge_src *s, int64_t *site_live, int64_t *site_alloc,
		     int64_t *blocked, int64_t *stack)
{
	const struct cap_telemetry *T = s->T;
	for (uint32_t i = 0; i < s->nodes; i++) {
		if (!s->node_id[i])
			continue;
		const struct cap_node *e = &T->nodes.v[i];
		struct cap_merged_node *g = &m->node[s->node_id[i] - 1];
		g->count += e->count;
		g->wait_total += e->wait_total;
		g->wait_max = MAX_OF(g->wait_max, e->wait_max);
		g->fd_delta += e->fd_delta;
	}
	for (uint32_t i = 0; i < s->edges; i++) {
		if (!s->edge_id[i])
			continue;
		const struct cap_edge *e = &T->edges.v[i];
		struct cap_edge *g = &m->edge[s->edge_id[i] - 1];
		uint64_t c = e->count;
		/* The average of the workers' averages, weighted by their counts. */
		if (c)
			g->ewma = (uint64_t)(((double)g->ewma * (double)g->count + (double)e->ewma * (double)c) /
					     (double)(g->count + c));
		g->count += c;
		g->total += e->total;
		g->max = MAX_OF(g->max, e->max);
	}
	for (uint32_t i = 0; i < s->sites; i++) {
		uint32_t id = s->site_id[i];
		if (!id)
			continue;
		const struct cap_site *e = &T->sites.v[i];
		struct cap_site *g = &m->site[id - 1];
		site_live[id - 1] += (int32_t)e->live;
		site_alloc[id - 1] += (int64_t)e->allocated;
		g->total += e->total;
		g->split_frame_max = MAX_OF(g->split_frame_max, e->split_frame_max);
		g->chunks_linked += e->chunks_linked;
		g->used_max = MAX_OF(g->used_max, e->used_max);
		g->used_total += e->used_total;
		g->waste += e->waste;
	}
	for (uint32_t i = 0; i < s->splits; i++) {
		if (!s->split_id[i])
			continue;
		const struct cap_split *e = &T->splits.v[i];
		struct cap_split *g = &m->split[s->split_id[i] - 1];
		g->callsite = e->callsite;
		g->count += e->count;
		g->mapped += e->mapped;
		g->frame_bytes = MAX_OF(g->frame_bytes, e->frame_bytes);
	}
	for (uint32_t i = 0; i < s->samples; i++) {
		if (!s->sample_id[i])
			continue;
		const struct cap_sample *e = &T->samples.v[i];
		struct cap_merged_sample *g = &m->sample[s->sample_id[i] - 1];
		g->count += e->count;
		g->run_max = MAX_OF(g->run_max, e->run_max);
	}
	for (uint32_t i = 0; i < s->holds; i++) {
		if (!s->hold_id[i])
			continue;
		const struct cap_hold *e = &T->holds.v[i];
		struct cap_merged_hold *g = &m->hold[s->hold_id[i] - 1];
		g->count += e->count;
		g->hold_total += e->hold_total;
		g->hold_max = MAX_OF(g->hold_max, e->hold_max);
		g->wait_total += e->wait_total;
	}
	for (uint32_t i = 0; i < s->wakes; i++)
		if (s->wake_id[i])
			m->wake[s->wake_id[i] - 1].count += T->wakes.v[i].count;
	for (int k = 0; k < 16; k++)
		blocked[k] += (int32_t)T->blocked[k];
	*stack += (int64_t)T->stack_allocated;
	m->blocking_ops += T->blocking_ops;
	m->dropped += T->nodes.full + T->edges.full;
}

void cap__merge_update(struct cap_merge *m)
{
	for (uint32_t w = 0; w < m->nsrc; w++) {
		cap__map_nodes(m, &m->src[w]);
		cap__map_edges(m, &m->src[w]);
		cap__map_rest(m, &m->src[w]);
	}
	for (uint32_t w = 0; w < m->nsrc; w++)
		cap__map_sync(m, &m->src[w]);
	for (uint32_t i = 0; i < m->node_map.n; i++)
		m->node[i].count = m->node[i].wait_total = m->node[i].wait_max = 0, m->node[i].fd_delta = 0;
	for (uint32_t i = 0; i < m->edge_map.n; i++)
		m->edge[i].count = m->edge[i].total = m->edge[i].ewma = m->edge[i].max = 0;
	for (uint32_t i = 0; i < m->site_map.n; i++) {
		struct cap_site *g = &m->site[i];
		uint32_t first = g->first_chunk;
		memset(g, 0, sizeof *g);
		g->addr = m->site_map.key[i];
		g->first_chunk = first;
	}
	for (uint32_t i = 0; i < m->split_map.n; i++)
		m->split[i].count = m->split[i].frame_bytes = m->split[i].mapped = 0;
	for (uint32_t i = 0; i < m->sample_map.n; i++)
		m->sample[i].count = m->sample[i].run_max = 0;
	for (uint32_t i = 0; i < m->hold_map.n; i++)
		m->hold[i].count = m->hold[i].hold_total = m->hold[i].hold_max = m->hold[i].wait_total = 0;
	for (uint32_t i = 0; i < m->wake_map.n; i++)
		m->wake[i].count = 0;
	m->blocking_ops = m->dropped = 0;
	int64_t blocked[16] = { 0 }, stack = 0;
	static int64_t site_live[CAP_SITES_MAX], site_alloc[CAP_SITES_MAX]; /* one telemetry thread */
	memset(site_live, 0, m->site_map.n * sizeof site_live[0]);
	memset(site_alloc, 0, m->site_map.n * sizeof site_alloc[0]);
	for (uint32_t w = 0; w < m->nsrc; w++)
		cap__sum(m, &m->src[w], site_live, site_alloc, blocked, &stack);
	/* Deltas a worker lowered below what it raised sum to the true count;
	 * a sum below 0 is a decrement not yet matched, shown as 0. */
	for (uint32_t i = 0; i < m->site_map.n; i++) {
		m->site[i].live = site_live[i] > 0 ? (uint32_t)site_live[i] : 0;
		m->site[i].allocated = site_alloc[i] > 0 ? (uint64_t)site_alloc[i] : 0;
	}
	for (int k = 0; k < 16; k++)
		m->blocked[k] = blocked[k] > 0 ? (uint32_t)blocked[k] : 0;
	m->stack_allocated = stack > 0 ? (uint64_t)stack : 0;
}
