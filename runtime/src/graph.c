/* The blocking graph and stack accounting, recorded on the worker's own
 * paths while telemetry is on (the worker's tel != NULL), into the worker's
 * own tables: no lock, one writer.
 *
 * A node is a blocking point: the chain of return addresses (unwind.h)
 * where a thread blocked or yielded.  An edge joins two consecutive
 * blocking points of one thread and measures the run between them: from
 * the moment the thread ran again after the first to the moment it reached
 * the second.  A node also measures the wait: from blocking until the
 * thread was made runnable.  Two clock reads per op are shared, not made:
 * a thread switched to straight from the end of another's run (its block
 * or exit) runs from that moment, the switch its first step (the worker's
 * own work between, a poll or an idle spell, makes it read the clock);
 * threads the poller wakes are runnable from when epoll_wait returned.
 *
 * Stack accounting: a thread's first chunk is zeroed at spawn, so at exit
 * the lowest non-zero word gives its high-water; in a chunk libgcc linked,
 * that word's page (searched from the lowest resident page, by mincore),
 * and the chunk is zeroed again at exit so that the next owner starts
 * clean.  Every call to
 * __generic_morestack goes through __wrap___generic_morestack (capcc links
 * with --wrap): that is how splits, their call sites and new chunks are
 * counted.
 *
 * A blocking point seen before is most often reached again with the same
 * frames at the same depth: a node keeps a memo of its walk, whose words
 * are checked instead of walked (cap__memo_holds). */
#include "telemetry.h"
#include "chunks.h"
#include "mn.h"
#include "stackmem.h"
#include "syncprof.h"

#include <sys/mman.h>


struct cap_telemetry *_Atomic cap__tel_tables[CAP_WORKERS_MAX];
_Atomic int cap__tel_doze_fd = -1;

/* Find or add the entry for `key` in table `tab` (CAP_TABLE); evaluates to
 * its index + 1, or 0 when the table is full.  `init(e)` fills a new entry
 * before it is published. */
#define CAP_TABLE_FIND(tab, N, keyfield, key, init)                                          \
	({                                                                                   \
		uint32_t _mask = 2 * (N) - 1, _i = (uint32_t)cap__mix(key) & _mask, _r = 0; \
		for (;;) {                                                                   \
			uint32_t _s = (tab).slot[_i];                                        \
			if (!_s)                                                             \
				break;                                                       \
			if ((tab).v[_s - 1].keyfield == (key)) {                             \
				_r = _s;                                                     \
				break;                                                       \
			}                                                                    \
			_i = (_i + 1) & _mask;                                               \
		}                                                                            \
		if (!_r) {                                                                   \
			uint32_t _n = atomic_load_explicit(&(tab).n, memory_order_relaxed);  \
			if (_n < (N)) {                                                      \
				__typeof__(&(tab).v[0]) e = &(tab).v[_n];                    \
				e->keyfield = (key);                                         \
				init;                                                        \
				(tab).slot[_i] = _n + 1;                                     \
				atomic_store_explicit(&(tab).n, _n + 1, memory_order_release); \
				_r = _n + 1;                                                 \
			} else {                                                             \
				(tab).full++;                                                \
			}                                                                    \
		}                                                                            \
		_r;                                                                          \
	})

/* Inlined into both callers: out of line it was a call and a second hash
 * setup on every blocking op. */
static inline __attribute__((always_inline)) uint32_t cap__node_add(struct cap_telemetry *T, uint64_t h, const uint64_t *frames, uint32_t n, int kind)
{
	return CAP_TABLE_FIND(T->nodes, CAP_NODES_MAX, hash, h, ({
				      for (uint32_t k = 0; k < n; k++)
					      e->frames[k] = frames[k];
				      e->nframes = (uint8_t)n;
				      e->kind = (uint8_t)kind;
				      e->memo_pc = 0;
				      e->memo_linked = 0;
			      }));
}

/* The index + 1 in T of the entry `ref` (CAP_REF) names, 0: none, when it
 * is in T's own tables; above CAP_REF_IDX_MAX when it is another worker's
 * (or none, 0, from a worker other than the first).  One subtraction and
 * one compare on every blocking op and resume. */
#define CAP_REF_IDX_MAX 0xffffu
static inline uint32_t cap__ref_here(const struct cap_telemetry *T, uint32_t ref)
{
	return ref - T->ref0;
}

/* t brought its last node from another worker's tables: the published
 * entry is copied into T's (telemetry.h), once, and t's reference
 * rewritten to the copy.  Out of line: only a thread that moved needs it. */
static __attribute__((noinline)) uint32_t cap__node_import(struct cap_telemetry *T, struct cap_thread *t)
{
	uint32_t ref = t->last_node, i = 0;
	if (CAP_REF_IDX(ref)) {
		__typeof__(&T->imported[0]) c = &T->imported[cap__mix(ref) & (CAP_IMPORTED - 1)];
		if (c->ref == ref) {
			i = c->idx;
		} else {
			const struct cap_node *e = &atomic_load_explicit(&cap__tel_tables[CAP_REF_WID(ref)], memory_order_acquire)->nodes.v[CAP_REF_IDX(ref) - 1];
			i = cap__node_add(T, e->hash, e->frames, e->nframes, e->kind);
			if (i)
				c->ref = ref, c->idx = i;
		}
	}
	t->last_node = T->ref0 | i;
	return i;
}

/* Its spawn site's index + 1 in T, copied here as nodes are. */
static inline uint32_t cap__site_here(struct cap_telemetry *T, struct cap_thread *t)
{
	if (CAP_LIKELY(cap__ref_here(T, t->site) <= CAP_REF_IDX_MAX))
		return cap__ref_here(T, t->site);
	const struct cap_site *o = &atomic_load_explicit(&cap__tel_tables[CAP_REF_WID(t->site)], memory_order_acquire)->sites.v[CAP_REF_IDX(t->site) - 1];
	uint32_t s = CAP_TABLE_FIND(T->sites, CAP_SITES_MAX, addr, o->addr, ({ e->first_chunk = o->first_chunk; }));
	t->site = s ? T->ref0 | s : 0;
	return s;
}

static uint32_t cap__edge_of(struct cap_telemetry *T, uint32_t from, uint32_t to)
{
	uint64_t key = ((uint64_t)from << 32) | to;
	/* Edges are keyed by (from, to) packed into the from/to pair itself. */
	struct cap_edge *v = T->edges.v;
	uint32_t mask = 2 * CAP_EDGES_MAX - 1, i = (uint32_t)cap__mix(key) & mask;
	for (;;) {
		uint32_t s = T->edges.slot[i];
		if (!s)
			break;
		if (v[s - 1].from == from && v[s - 1].to == to)
			return s;
		i = (i + 1) & mask;
	}
	uint32_t n = atomic_load_explicit(&T->edges.n, memory_order_relaxed);
	if (n >= CAP_EDGES_MAX) {
		T->edges.full++;
		return 0;
	}
	v[n].from = from;
	v[n].to = to;
	T->edges.slot[i] = n + 1;
	atomic_store_explicit(&T->edges.n, n + 1, memory_order_release);
	return n + 1;
}

/* The chunk link (unwind.h): a thread on a linked chunk reads its frames
 * up to the first one that chunk holds, whose return into __morestack was
 * written when the thread entered the chunk and lay untouched since: a
 * cache miss on every blocking op.  While the thread has not left the
 * chunk, that frame and all outside it are as its last walk found them:
 * leaving means returning through __morestack, and coming back takes a
 * split, which clears the link (__wrap___generic_morestack); so is its
 * chain from there on, the tail of the node it left last.  The link packs
 * that frame's CFA with the index of its return address in the chain
 * (bits 48 and up). */
#define CAP_LINK_CFA CAP_MEMO_ADDR

/* Where a walk from `sp` may stop and take the rest of its chain from
 * `prev` (the node t left last); 0: a whole walk.  Keeps t's chunk memo
 * the chunk it runs on. */
static inline uintptr_t cap__link_stop(struct cap_thread *t, uintptr_t sp, const struct cap_node *prev)
{
	const struct cap_libgcc_segment *s = __morestack_current_segment;
	if (!s)
		return 0;
	if ((t->chunk_memo & CAP_MEMO_ADDR) != (uintptr_t)s) {
		t->chunk_memo = cap__chunk_memo(s); /* its header read, once per chunk entered */
		t->chunk_link = 0;
	}
	uint64_t l = t->chunk_link;
	/* From the chunk itself (not a frame longjmp left it for), and a tail
	 * prev holds whole (not cut at CAP_FRAMES). */
	if (!l || !prev || !cap__in_memo(sp, 16, t->chunk_memo) || (l >> 48) >= prev->nframes || prev->nframes >= CAP_FRAMES)
		return 0;
	return l & CAP_LINK_CFA;
}

/* After the walk: the chain completed from prev when it stopped at the
 * link, and the link kept for the next walk. */
static inline uint32_t cap__link_done(struct cap_thread *t, const struct cap_unwind_link *link, uintptr_t sp,
				      const struct cap_node *prev, uint64_t *frames, uint32_t n)
{
	if (link->stopped) {
		uint32_t k = (uint32_t)(t->chunk_link >> 48), at = n;
		for (; k < prev->nframes && n < CAP_FRAMES; k++)
			frames[n++] = prev->frames[k];
		t->chunk_link = link->stop | (uint64_t)at << 48;
	} else if (__morestack_current_segment && cap__in_memo(sp, 16, t->chunk_memo) && link->cfa &&
		   cap__in_memo(link->cfa, 8, t->chunk_memo)) { /* the link of the chunk the walk began in */
		t->chunk_link = link->cfa | (uint64_t)link->n << 48;
	} else {
		t->chunk_link = 0;
	}
	return n;
}

#define CAP_PREFETCH_FRAMES 8

/* Is nd the node of this chain?  Word by word, not by its hash: the
 * compares do not wait on each other as the hash's multiplies do.  The same
 * answer, as a node's hash is a function of its frames and kind, and the
 * table holds one node per hash. */
static inline bool cap__chain_is(const struct cap_node *nd, const uint64_t *frames, uint32_t n, int kind)
{
	if (nd->nframes != n || nd->kind != (uint8_t)kind)
		return false;
	uint64_t d = 0;
	for (uint32_t k = 0; k < n; k++)
		d |= nd->frames[k] ^ frames[k];
	return d == 0;
}

/* The words the walk would read of g's frames 0..n-1, whose CFAs are
 * memo_off[k] bytes below `base`: each one's return address, and the
 * saved rbp that leads to the next.  0: all as the memo says. */
static inline uint64_t cap__memo_words(const struct cap_node *g, uintptr_t base, uint32_t n)
{
	uint64_t d = 0;
	for (uint32_t k = 0; k < n; k++) {
		const uintptr_t *cfa = (const uintptr_t *)(base - g->memo_off[k]);
		d |= (cfa[-1] ^ g->frames[k]) | (cfa[-2] ^ (base - g->memo_off[k + 1] - 16));
	}
	return d;
}

/* The walk's memo: does g stand for a block of this kind from r?  A walk
 * is a function of where it starts (a return address, rsp and rbp), of the
 * rules of the addresses it steps from (a function of each address), and
 * of the words it reads.  In a chain where every step takes the
 * frame-pointer rule, those words are each frame's return address and
 * saved rbp, at fixed offsets below the thread's initial stack pointer
 * (the 16-aligned top of its first chunk, sched.c).
 * When a thread starts from the node's memo_pc, with rbp where the memo's
 * first frame needs it, and every one of those words holds what the chain
 * and the memo say, the walk would find that chain: it is not made.  The
 * reads do not wait on each other, as the walk's do (each frame's address
 * is the word read before), nor probe the unwind cache, whose lines the
 * kernel's work between two blocking ops has most often evicted: on 64
 * pairs of threads bouncing messages over sockets, the graph's share of
 * the process's CPU samples went from 2.0% to 1.1%, 140 walks left in
 * 1.28 million blocking ops.  The offsets make the checks below exactly
 * the walk's: each CFA 8-aligned and inside the first chunk, none the
 * base before the last.
 *
 * Only walks on the thread's first chunk that end at its base, every step
 * by the frame-pointer rule (the program's code and the runtime's), are
 * memoised; a chain through a prebuilt library takes the whole walk. */
static inline bool cap__memo_holds(const struct cap_node *g, const struct cap_thread *t, struct cap_unwind_regs r, int kind)
{
	const uintptr_t top = (uintptr_t)t->ss.initial_sp, lo = (uintptr_t)t->stack_lo;
	const uint32_t n = g->nframes; /* below CAP_FRAMES when memo_pc is set */
	if (g->memo_pc != r.pc || g->kind != (uint8_t)kind || g->memo_linked || (top & 7) ||
	    top - lo > t->stack_size || (uintptr_t)g->memo_off[0] + 16 > top - lo || r.rbp + 16 != top - g->memo_off[0] ||
	    g->memo_off[n] != atomic_load_explicit(&cap__base_cfa_off, memory_order_relaxed))
		return false;
	return cap__memo_words(g, top, n) == 0;
}

/* The same on a linked chunk, whose frames a walk from there reads up to
 * the chunk link (cap__link_stop), the rest of its chain the tail of
 * `prev`, the node t left last, from the link's index on.  The words
 * checked are those frames' return addresses and saved rbps, at fixed
 * offsets below the link's CFA; the tail, prev's, is compared with g's.
 * On the chunk of knot's connection threads, whose handler's frame is too
 * big for the first one, each of its blocks was a walk. */
static inline bool cap__memo_holds_linked(const struct cap_node *g, const struct cap_thread *t, const struct cap_node *prev,
					  struct cap_unwind_regs r, int kind)
{
	const uint64_t l = t->chunk_link;
	const uintptr_t link = l & CAP_LINK_CFA;
	const uint32_t n = g->nframes, m = g->memo_linked, k = (uint32_t)(l >> 48);
	if (g->memo_pc != r.pc || g->kind != (uint8_t)kind || !m || !link ||
	    (t->chunk_memo & CAP_MEMO_ADDR) != (uintptr_t)__morestack_current_segment ||
	    !cap__in_memo(r.sp, 16, t->chunk_memo) || k >= prev->nframes || prev->nframes >= CAP_FRAMES ||
	    n - m != prev->nframes - k || r.rbp + 16 != link - g->memo_off[0] || r.rbp < r.sp)
		return false;
	uint64_t d = cap__memo_words(g, link, m);
	for (uint32_t i = m; i < n; i++)
		d |= g->frames[i] ^ prev->frames[k + i - m];
	return d == 0;
}

/* After a whole walk from `pc` that found nd's chain: its memo, when the
 * walk was one cap__memo_holds or cap__memo_holds_linked can stand for. */
static inline void cap__memo_record(struct cap_node *nd, const struct cap_thread *t, const struct cap_unwind_link *l, uintptr_t pc)
{
	const uintptr_t top = (uintptr_t)t->ss.initial_sp, lo = (uintptr_t)t->stack_lo;
	const uint32_t n = nd->nframes, steps = (2u << n) - 1; /* the steps that found frames 0..n-1, and the one to the base */
	nd->memo_pc = 0;
	nd->memo_linked = 0;
	if (l->stopped) {
		const uint32_t m = (uint32_t)(t->chunk_link >> 48), on = (2u << m) - 1; /* its frames on the chunk, and the step to the link */
		if (!m || m >= n || n >= CAP_FRAMES || (l->fp & on) != on)
			return;
		for (uint32_t k = 0; k <= m; k++) {
			uintptr_t cfa = k < m ? l->cfas[k] : l->stop;
			if ((cfa & 7) || l->stop - cfa > UINT32_MAX || (k && cfa <= l->cfas[k - 1]))
				return;
			nd->memo_off[k] = (uint32_t)(l->stop - cfa);
		}
		nd->memo_linked = (uint8_t)m;
		nd->memo_pc = pc;
		return;
	}
	if (!n || n >= CAP_FRAMES || !l->at_base || (l->fp & steps) != steps || __morestack_current_segment ||
	    (top & 7) || top - lo > t->stack_size)
		return;
	for (uint32_t k = 0; k <= n; k++) {
		uintptr_t cfa = l->cfas[k];
		if (cfa < lo + 16 || cfa >= top || top - cfa > UINT32_MAX || (k && cfa <= l->cfas[k - 1]))
			return;
		nd->memo_off[k] = (uint32_t)(top - cfa);
	}
	nd->memo_pc = pc;
}

/* The block went where prev's guess said: its node, and the edge in *e. */
static inline uint32_t cap__guessed(struct cap_telemetry *T, const struct cap_node *prev, uint32_t *e)
{
	*e = prev->next_edge;
	if (!*e)
		T->edges.full++; /* as cap__edge_of counts each op it could not record */
	return prev->next_node;
}

/* The worker's figures of a block at `node` (index + 1, 0: none) by edge
 * e at `now`, which ends a run of `run` ticks that opened `fds`
 * descriptors, net, on a worker that had made `switches` switches. */
static inline __attribute__((always_inline)) void cap__block_counted(struct cap_telemetry *T, uint64_t now, uint32_t node, uint32_t e,
								    uint64_t run, int64_t fds, uint64_t switches)
{
	if (node) {
		struct cap_node *nd = &T->nodes.v[node - 1];
		nd->fd_delta += fds;
		if (e) {
			struct cap_edge *ed = &T->edges.v[e - 1];
			ed->count++;
			ed->total += run;
			ed->ewma = ed->count == 1 ? run : ed->ewma + (uint64_t)(((int64_t)run - (int64_t)ed->ewma) / 8);
			if (run > ed->max)
				ed->max = run;
		}
	}
	T->run_fds = T->open_fds_delta;
	cap__graph_run_ended(T, now, switches);
	T->blocking_ops++;
}

/* What a waker reads of t, blocked at `node` since `now`, or undoes (the
 * count of threads blocked): written before a waker can see t. */
static inline void cap__block_committed(struct cap_telemetry *T, struct cap_thread *t, int kind, uint32_t node, uint64_t now)
{
	if (kind != CAP_KIND_YIELD)
		T->blocked[kind & 15]++;
	t->last_node = T->ref0 | node;
	t->t_wait = now;
}

/* A block of t's at `node` by `edge`, at `now`, for cap__graph_commit. */
static inline __attribute__((always_inline)) void cap__block_of(struct cap_telemetry *T, struct cap_thread *t, int kind,
							       uint64_t now, uint32_t node, uint32_t edge,
							       struct cap_graph_prep *p)
{
	*p = (struct cap_graph_prep){ .now = now, .run = now - t->t_resumed, .fds = (int64_t)(T->open_fds_delta - T->run_fds),
				      .node = node, .edge = edge, .waits = t->waits, .kind = kind };
}

/* The block is recorded at `node` by edge e, all of it at once. */
static inline __attribute__((always_inline)) void cap__block_recorded(struct cap_telemetry *T, struct cap_thread *t, int kind,
								     uint64_t now, uint32_t node, uint32_t e)
{
	struct cap_graph_prep p;
	cap__block_of(T, t, kind, now, node, e, &p);
	cap__block_counted(T, p.now, p.node, p.edge, p.run, p.fds, cap__w->switches);
	cap__block_committed(T, t, kind, node, now);
}

/* The regs a walk starts from: those of cap__graph_block's caller, the
 * runtime's block function, whose caller is the first frame.  fp is
 * cap__graph_block's frame. */
static inline struct cap_unwind_regs cap__block_regs(const uintptr_t *fp)
{
	return (struct cap_unwind_regs){ fp[1], (uintptr_t)(fp + 2), fp[0] };
}

/* The block's point when the memo of prev's guess does not stand for it:
 * the chain walked, then the block recorded (at `now`), or its node and
 * edge given to p (cap__graph_prepare).  Out of line, its frame is not set
 * up on the blocks the memo stands for (nearly all), and reached by a tail
 * jump: a frame below its callers' would be that much more stack on the
 * chunk a thread blocks on (test_chains_through_a_chunk_link). */
static __attribute__((noinline)) void cap__graph_walked(struct cap_telemetry *T, struct cap_thread *t, int kind,
							const uintptr_t *fp, uint64_t now, struct cap_graph_prep *p)
{
	uint32_t from = cap__ref_here(T, t->last_node), node, edge = 0; /* imported by the caller */
	struct cap_node *prev = from ? &T->nodes.v[from - 1] : NULL;
	struct cap_node *guess = prev && prev->next_node ? &T->nodes.v[prev->next_node - 1] : NULL;
	struct cap_unwind_regs r = cap__block_regs(fp);
	/* The walk probes the unwind cache frame by frame, each probe waiting
	 * for the one before: a miss each, on a worker whose caches the
	 * kernel's network stack has just swept.  The guess's probes start at
	 * once. */
	if (guess) {
		struct cap_unwind_slot *cache = cap__w->unwind;
		for (uint32_t k = 0; k < guess->nframes && k < CAP_PREFETCH_FRAMES; k++)
			__builtin_prefetch(cap__unwind_slot_in(cache, guess->frames[k] - 1));
	}
	T->walks++;
	uint64_t *frames = T->chain;
	struct cap_unwind_link link = { .stop = cap__link_stop(t, r.sp, prev), .cfas = T->chain_cfa };
	uint64_t memo = t->chunk_memo;
	uint32_t n = cap__unwind_walk(t, r, true, __morestack_segments, &memo, frames, CAP_FRAMES, cap__unwind_fill, &link);
	n = cap__link_done(t, &link, r.sp, prev, frames, n);
	/* The walk needs every register, so T is spilled across it; without
	 * this, gcc reloads it from the stack at each use below (~10 loads per
	 * op).  As a new value here it is reloaded once and kept. */
	__asm__("" : "+r"(T));
	if (guess && cap__chain_is(guess, frames, n, kind)) {
		node = cap__guessed(T, prev, &edge);
	} else {
		node = cap__node_add(T, cap__hash_frames(frames, n) ^ ((uint64_t)kind << 56), frames, n, kind);
		if (node && prev) {
			edge = cap__edge_of(T, from, node);
			prev->next_node = node;
			prev->next_edge = edge;
		}
	}
	/* Compared again when it was the guess: walks are rare, and a flag
	 * kept across the branches cost every blocking op 16 bytes of frame. */
	if (node && cap__chain_is(&T->nodes.v[node - 1], frames, n, kind))
		cap__memo_record(&T->nodes.v[node - 1], t, &link, r.pc);
	if (p)
		cap__block_of(T, t, kind, now, node, edge, p);
	else
		cap__block_recorded(T, t, kind, now, node, edge);
}

/* Does the memo of the guess, the node t went to from its last one last
 * time, stand for a block of t's from fp's caller's caller?  Then its
 * node, and in *e the edge to it.  Of what a reader of the tables counts,
 * only a full edge table's lost ops change (a node may be imported). */
static inline __attribute__((always_inline)) bool cap__graph_memo_hit(struct cap_telemetry *T, struct cap_thread *t, int kind,
								     const uintptr_t *fp, uint32_t *node, uint32_t *e)
{
	uint32_t from = cap__ref_here(T, t->last_node);
	if (CAP_UNLIKELY(from > CAP_REF_IDX_MAX))
		from = cap__node_import(T, t);
	const struct cap_node *prev = from ? &T->nodes.v[from - 1] : NULL;
	if (!prev || !prev->next_node)
		return false;
	const struct cap_node *g = &T->nodes.v[prev->next_node - 1];
	if (CAP_LIKELY(!__morestack_current_segment)) {
		if (!cap__memo_holds(g, t, cap__block_regs(fp), kind))
			return false;
		t->chunk_link = 0; /* as cap__link_done leaves it on the first chunk */
	} else {
		if (!cap__memo_holds_linked(g, t, prev, cap__block_regs(fp), kind))
			return false;
		t->chunk_link = (t->chunk_link & CAP_LINK_CFA) | (uint64_t)g->memo_linked << 48; /* as cap__link_done */
	}
	*node = cap__guessed(T, prev, e);
	return true;
}

void cap__graph_block(struct cap_telemetry *T, struct cap_thread *t, int kind)
{
	uint64_t now = cap__ticks();
	const uintptr_t *fp = __builtin_frame_address(0);
	uint32_t node, e;
	if (!cap__graph_memo_hit(T, t, kind, fp, &node, &e))
		return cap__graph_walked(T, t, kind, fp, now, NULL);
	cap__block_recorded(T, t, kind, now, node, e);
}

void cap__graph_prepare(struct cap_telemetry *T, struct cap_thread *t, int kind, struct cap_graph_prep *p)
{
	const uintptr_t *fp = __builtin_frame_address(0);
	uint64_t now = cap__ticks();
	uint32_t node, e;
	if (!cap__graph_memo_hit(T, t, kind, fp, &node, &e))
		return cap__graph_walked(T, t, kind, fp, now, p);
	cap__block_of(T, t, kind, now, node, e, p);
}

void cap__graph_commit(struct cap_telemetry *T, struct cap_thread *t, int kind, const struct cap_graph_prep *p)
{
	if (CAP_UNLIKELY(t->waits != p->waits + 1)) /* a handler of a signal waited meanwhile: p's edge is stale */
		return cap__graph_block(T, t, kind);
	cap__block_committed(T, t, kind, p->node, p->now);
	T->pending = *p;
	T->pending.switches = cap__w->switches;
}

void cap__graph_counted(struct cap_telemetry *T)
{
	/* The next run begins when this one ended, as after any block: its
	 * first steps are taking the wait lock and the switch to it (a clock
	 * read of its own costs ~17 ns here, more than the lock's usual wait). */
	const struct cap_graph_prep *p = &T->pending;
	cap__block_counted(T, p->now, p->node, p->edge, p->run, p->fds, p->switches);
	T->pending.kind = -1;
}

/* cap__graph_resumed for a thread that moved here: its last node imported,
 * the resume is recorded again.  Reached and left by tail jumps, so that the
 * hot path needs no frame of its own to make a call.  Not cold: on two
 * workers 8-16% of the socket ping-pong's resumes come here (a thread
 * stolen), and .text.unlikely is pages away from the rest. */
static __attribute__((noinline)) void cap__graph_resumed_moved(struct cap_telemetry *T, struct cap_thread *t, int kind)
{
	cap__node_import(T, t);
	cap__graph_resumed(T, t, kind);
}

void cap__graph_resumed(struct cap_telemetry *T, struct cap_thread *t, int kind)
{
	uint32_t last = cap__ref_here(T, t->last_node);
	if (CAP_UNLIKELY(last > CAP_REF_IDX_MAX))
		return cap__graph_resumed_moved(T, t, kind);
	/* Switched straight here from where the last run ended: this run began
	 * then (the switch is its first step), with no clock read of its own. */
	uint64_t now = cap__w->switches == T->began_switches + 1 ? atomic_load_explicit(&T->run_began, memory_order_relaxed)
								  : cap__ticks();
	if (last)
		T->nodes.v[last - 1].count++; /* with its wait: an average never mixes in a wait still running */
	if (last && kind != CAP_KIND_YIELD) {
		struct cap_node *nd = &T->nodes.v[last - 1];
		uint64_t b = t->t_wait, wait = b & CAP_T_WOKEN ? b & ~CAP_T_WOKEN : now > b ? now - b : 0;
		nd->wait_total += wait;
		if (wait > nd->wait_max)
			nd->wait_max = wait;
	}
	t->t_resumed = t->t_run = now;
	T->run_fds = T->open_fds_delta;
	if (CAP_UNLIKELY(atomic_load_explicit(&T->want_threads, memory_order_relaxed) == 1))
		cap__graph_rows_if_asked(cap__w);
}

/* ---- Stack accounting --------------------------------------------------- */

static size_t cap__chain_bytes(const struct cap_libgcc_segment *s)
{
	size_t n = 0;
	for (; s; s = s->next)
		n += s->size + sizeof *s;
	return n;
}

static inline size_t cap__thread_allocated(const struct cap_thread *t, const struct cap_libgcc_segment *segs)
{
	return t->stack_size + cap__chain_bytes(segs);
}

/* Stack memory a thread will write is zero before it runs: the lowest word
 * that is not zero afterwards is how deep it went.  A loop, not memset
 * (kept one by -fno-tree-loop-distribute-patterns): libc's memset, not
 * split-stack code, would need a big chunk. */
static inline void cap__words_zero(uint64_t *p, uint64_t *end)
{
	while (p < end)
		*p++ = 0;
}
static inline uint64_t *cap__first_written(const uint64_t *p, const uint64_t *top)
{
	while (p < top && *p == 0)
		p++;
	return (uint64_t *)p;
}

void cap__graph_spawned(struct cap_telemetry *T, struct cap_thread *t)
{
	uint64_t addr = (uint64_t)(uintptr_t)t->spawn_site;
	size_t alloc = t->stack_size + cap__chain_bytes(t->ss.segments);
	uint32_t s = CAP_TABLE_FIND(T->sites, CAP_SITES_MAX, addr, addr, ({ e->first_chunk = (uint32_t)(t->stack_size + CAP_TSIZE); }));
	t->site = s ? T->ref0 | s : 0;
	if (s) {
		struct cap_site *st = &T->sites.v[s - 1];
		st->live++;
		st->total++;
		st->allocated += alloc;
	}
	T->stack_allocated += alloc;
	t->last_node = T->ref0;
	t->chunks_linked = 0;
	t->t_resumed = t->t_run = cap__ticks();
	/* The first chunk, so that its high-water can be read at exit. */
	cap__words_zero((uint64_t *)t->stack_lo + 1, (uint64_t *)((uintptr_t)t->ctx.sp & ~(uintptr_t)7));
}

/* How deep below the lowest word a finished thread left in a chunk the
 * measurement reads zeros (pages some earlier thread went down to) before
 * it gives those pages back rather than read them again at the next exit. */
#define CAP_ZERO_SCAN_MAX (64u << 10)

/* How deep the thread went in a libgcc chunk, in pages: from its lowest
 * resident page, and when `release` (the thread has finished), from the
 * page of the lowest word that is not zero; the chunk is then zeroed from
 * that word up, so that the next owner starts clean.  Zeroed, not given
 * back (MADV_DONTNEED): that flushed the TLB of every worker and made the
 * next owner fault the pages in again, about 8 us a thread in knot, where
 * each connection's thread links a 1 MiB chunk for libc. */
static size_t cap__segment_used(struct cap_libgcc_segment *s, bool release)
{
	uintptr_t lo = ((uintptr_t)(s + 1) + 4095) & ~(uintptr_t)4095, hi = (uintptr_t)(s + 1) + s->size;
	if (hi <= lo)
		return s->size;
	unsigned char vec[256];
	uintptr_t deepest = 0;
	for (uintptr_t base = lo; base < hi && !deepest; base += sizeof vec * 4096ul) {
		size_t np = (hi - base) / 4096 < sizeof vec ? (hi - base) / 4096 : sizeof vec;
		if (np == 0 || cap_sys3(SYS_mincore, base, np * 4096, vec) != 0)
			return s->size;
		for (size_t i = 0; i < np; i++)
			if (vec[i] & 1) {
				deepest = base + i * 4096;
				break;
			}
	}
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	if (!deepest || !release || (sp >= lo && sp < hi)) /* the chunk we run on is left as it is */
		return deepest ? hi - deepest : 0;
	uint64_t *top = (uint64_t *)(hi & ~(uintptr_t)7), *p = cap__first_written((uint64_t *)deepest, top);
	uintptr_t written = (uintptr_t)p;
	if (written - deepest > CAP_ZERO_SCAN_MAX)
		cap_sys3(SYS_madvise, deepest, (written & ~(uintptr_t)4095) - deepest, MADV_DONTNEED);
	cap__words_zero(p, top);
	return hi - (written & ~(uintptr_t)4095); /* pages, as when the lowest resident one was the thread's */
}

/* A thread's stack high-water: in its first chunk, from the lowest word
 * that is no longer zero; in linked chunks, as cap__segment_used finds. */
static size_t cap__stack_used(const struct cap_thread *t, struct cap_libgcc_segment *segs, size_t alloc, bool release)
{
	const uint64_t *top = (const uint64_t *)(t->stack_lo + t->stack_size);
	size_t used = (size_t)((const char *)top - (const char *)cap__first_written((const uint64_t *)t->stack_lo + 1, top));
	for (struct cap_libgcc_segment *s = segs; s; s = s->next)
		used += cap__segment_used(s, release);
	return used > alloc ? alloc : used;
}

void cap__graph_finished(struct cap_telemetry *T, struct cap_thread *t)
{
	struct cap_libgcc_segment *segs = __morestack_segments;
	size_t alloc = t->stack_size + cap__chain_bytes(segs);
	size_t used = cap__stack_used(t, segs, alloc, true);
	uint32_t site = t->site ? cap__site_here(T, t) : 0;
	if (site) {
		/* live and allocated may go below 0 here when the thread began on
		 * another worker: deltas, summed by the telemetry thread. */
		struct cap_site *st = &T->sites.v[site - 1];
		st->live--;
		st->chunks_linked += t->chunks_linked;
		st->allocated -= alloc;
		st->used_total += used;
		if (used > st->used_max)
			st->used_max = used;
		st->waste += alloc - used;
	}
	T->stack_allocated -= alloc; /* a delta, as a site's */
	T->run_fds = T->open_fds_delta;
	cap__graph_run_ended(T, cap__ticks(), cap__w->switches);
}

/* Every split: count it, by thread and by the call that needed the room,
 * and account for a chunk libgcc had to allocate.  Runs on the old chunk's
 * last few hundred bytes, so it stays small and calls nothing with a frame. */
extern void *__real___generic_morestack(size_t *pframe_size, void *old_stack, size_t param_size);
void *__wrap___generic_morestack(size_t *pframe_size, void *old_stack, size_t param_size)
	__attribute__((no_split_stack));
CAP_TLS unsigned char cap__splitting CAP_HIDDEN; /* read by annotate_call.S */

/* libgcc's split, flagged so that its own calls (syscall, for mmap) go
 * straight on even when the program annotated them. */
__attribute__((no_split_stack, always_inline)) static inline void *cap__split(size_t *pframe_size, void *old_stack, size_t param_size)
{
	cap__splitting = 1;
	void *r = __real___generic_morestack(pframe_size, old_stack, param_size);
	cap__splitting = 0;
	return r;
}

void *__wrap___generic_morestack(size_t *pframe_size, void *old_stack, size_t param_size)
{
	struct cap_worker *w = cap__w;
	if (!w || w->current == &w->sched || w->sysstack.active)
		return cap__split(pframe_size, old_stack, param_size);
	size_t want = *pframe_size;
	struct cap_libgcc_segment *cur = __morestack_current_segment;
	struct cap_libgcc_segment *existing = cur ? cur->next : __morestack_segments;
	bool mapped = cap__chunk_take(&w->stacks, want, param_size);
	struct cap_telemetry *T = w->tel;
	void *r = cap__split(pframe_size, old_stack, param_size);
	if (!T)
		return r;
	struct cap_thread *t = w->current;
	t->chunks_linked++;
	t->chunk_link = 0; /* it may come back to the chunk it left by another path */
	struct cap_libgcc_segment *now = __morestack_current_segment;
	uint32_t ts = t->site ? cap__site_here(T, t) : 0;
	if (now != existing && now) { /* a chunk from the pool, or a fresh one */
		size_t bytes = now->size + sizeof *now;
		T->stack_allocated += bytes;
		if (ts)
			T->sites.v[ts - 1].allocated += bytes;
	}
	if (ts && want > T->sites.v[ts - 1].split_frame_max)
		T->sites.v[ts - 1].split_frame_max = (uint32_t)want;
	/* The call that needed the room: its return address, in the caller.  A
	 * call through a pointer (the thread trampoline's, a callback's) names
	 * no callee a reader of the code can find there, so it is recorded at
	 * the return into the callee's prologue (from __morestack), which the
	 * callee holds: docs/PROTOCOL.md, hot_splits.  A direct call is 5
	 * bytes, e8 and its displacement. */
	uint64_t site = ((const uint64_t *)old_stack)[-1];
	if (((const unsigned char *)(uintptr_t)site)[-5] != 0xe8)
		site = ((const uint64_t *)old_stack)[-2];
	uint32_t s = CAP_TABLE_FIND(T->splits, CAP_SPLITS_MAX, callsite, site, ({ e->frame_bytes = e->mapped = 0; }));
	if (s) {
		struct cap_split *sp = &T->splits.v[s - 1];
		sp->count++;
		sp->mapped += mapped;
		if (want > sp->frame_bytes)
			sp->frame_bytes = (uint32_t)want;
	}
	return r;
}

/* t, stopping, gave `bytes` of chunks back to its worker's pool (chunks.h):
 * no longer its site's, nor a live thread's. */
void cap__graph_chunks_given(struct cap_telemetry *T, struct cap_thread *t, size_t bytes)
{
	T->stack_allocated -= bytes;
	uint32_t ts = t->site ? cap__site_here(T, t) : 0;
	if (ts)
		T->sites.v[ts - 1].allocated -= bytes;
}

/* ---- Per-thread rows ---------------------------------------------------- */

/* The telemetry thread cannot walk the thread list while the worker changes
 * it, so it asks, and the worker gathers the largest stacks at its next
 * resume (about once a second), and measures its pool of chunks. */
void cap__graph_rows_if_asked(struct cap_worker *w)
{
	struct cap_telemetry *T = cap__w->tel;
	struct cap_thread *chosen[CAP_TOP_THREADS];
	uint32_t n = 0, min_i = 0;
	size_t min_v = 0;
	cap__mn_lock(); /* the list is the process's; a thread running elsewhere shows its last saved chunks */
	for (struct cap_thread *t = cap__mn.all; t; t = t->all_next) {
		struct cap_libgcc_segment *segs = t == w->current ? __morestack_segments : t->ss.segments;
		size_t a = cap__thread_allocated(t, segs);
		if (n == CAP_TOP_THREADS && a <= min_v)
			continue;
		uint32_t i = n < CAP_TOP_THREADS ? n++ : min_i;
		chosen[i] = t;
		T->rows[i].allocated = a;
		if (n == CAP_TOP_THREADS) {
			min_i = 0;
			min_v = T->rows[0].allocated;
			for (uint32_t k = 1; k < n; k++)
				if (T->rows[k].allocated < min_v)
					min_v = T->rows[k].allocated, min_i = k;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		struct cap_thread *t = chosen[i];
		struct cap_thread_row *r = &T->rows[i];
		struct cap_libgcc_segment *segs = t == w->current ? __morestack_segments : t->ss.segments;
		r->id = t->id;
		r->spawn_site = (uint64_t)(uintptr_t)t->spawn_site;
		r->used = cap__stack_used(t, segs, r->allocated, false);
		r->chunks_linked = t->chunks_linked;
		r->state = t->state == CAP_RUNNING ? 2 : t->state == CAP_RUNNABLE ? 1 : 3;
		r->kind = t->state == CAP_BLOCKED ? t->reason : 0;
		cap__strlcpy(r->name, t->name, sizeof r->name);
	}
	cap__mn_unlock(w);
	size_t pooled = 0; /* only this worker may walk its pool */
	for (struct cap_libgcc_segment *s = w->stacks.chunks; s; s = s->next)
		pooled += cap__resident_bytes((uintptr_t)s, cap__chunk_bytes(s));
	atomic_store_explicit(&T->pool_resident, pooled, memory_order_relaxed);
	T->nrows = n;
	atomic_store_explicit(&T->want_threads, 2, memory_order_release);
}

/* ---- Who wakes whom, who held the lock (syncprof.h) --------------------- */

/* t, blocked, is being made runnable by `waker` (w->current: the scheduler's
 * own context for a wake from outside a user thread) at T->wake_site. */
void cap__graph_woken(struct cap_telemetry *T, const struct cap_thread *waker, const struct cap_thread *t)
{
	uint32_t node = t->last_node, from = waker ? waker->last_node : 0;
	uint64_t site = T->wake_site;
	if (!CAP_REF_IDX(node))
		return;
	if (!CAP_REF_IDX(from))
		from = 0;
	/* Its node in this worker's tables (the wake's memo is this worker's to write), if it is. */
	uint32_t here = cap__ref_here(T, node);
	struct cap_node *nd = here && here <= CAP_REF_IDX_MAX ? &T->nodes.v[here - 1] : NULL;
	if (nd && nd->wake_memo) {
		struct cap_wake *e = &T->wakes.v[nd->wake_memo - 1];
		if (e->waker == site && e->from == from && e->node == node) {
			e->count++;
			return;
		}
	}
	uint64_t key = cap__wake_key(site, node, from);
	uint32_t i = CAP_TABLE_FIND(T->wakes, CAP_WAKES_MAX, key, key, ({
					    e->node = node;
					    e->from = from;
					    e->waker = site;
				    }));
	if (!i)
		return;
	T->wakes.v[i - 1].count++;
	if (nd)
		nd->wake_memo = i;
}

/* The lock t waited for was handed to it by a holder that took it at
 * `acquire` and held it `hold` ticks, until `release`; t's wait ends here
 * (cap__hook_woken has made t_wait the wait). */
void cap__graph_hold(struct cap_telemetry *T, const struct cap_thread *t, uint64_t acquire, uint64_t release, uint64_t hold)
{
	uint32_t node = t->last_node;
	if (!CAP_REF_IDX(node))
		return;
	uint64_t key = cap__hold_key(acquire, release, node);
	uint32_t i = CAP_TABLE_FIND(T->holds, CAP_HOLDS_MAX, key, key, ({
					    e->node = node;
					    e->acquire = acquire;
					    e->release = release;
				    }));
	if (!i)
		return;
	struct cap_hold *h = &T->holds.v[i - 1];
	uint64_t b = t->t_wait;
	h->count++;
	h->hold_total += hold;
	if (hold > h->hold_max)
		h->hold_max = hold;
	h->wait_total += b & CAP_T_WOKEN ? b & ~CAP_T_WOKEN : 0;
}

struct cap_lockprof cap__lockprof[CAP_LOCKPROF_MAX];
static uint32_t cap__lockprof_n; /* slots taken, under cap__mn.lock */

void cap__lock_claim(uint32_t *id, const void *obj)
{
	if (cap__lockprof_n >= CAP_LOCKPROF_MAX)
		return;
	atomic_store_explicit(&cap__lockprof[cap__lockprof_n++].obj, obj, memory_order_relaxed);
	__atomic_store_n(id, cap__lockprof_n, __ATOMIC_RELAXED);
}
