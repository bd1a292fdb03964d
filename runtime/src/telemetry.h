/* What the profiler measures, shared between the worker (which writes it on
 * its hot paths, graph.c) and the telemetry thread (which reads it
 * concurrently and sends it, telemetry_sys.c).
 *
 * Tables only grow: a new entry is filled in, then published by a release
 * store of the table's count, so the reader never sees a half-made entry.
 * Each worker has its own tables (cap_worker.tel), so statistics are plain
 * 64-bit stores by their one writer, with no lock; the reader may see
 * one counter of an entry a moment ahead of another, never a torn value.
 * Times are TSC ticks here; the telemetry thread converts them to ns.
 *
 * With several workers the telemetry thread reads every registered
 * worker's tables and merges them (telmerge.h).  A thread that moves to
 * another worker carries references into its old worker's tables
 * (last_node, site: CAP_REF); the new worker copies the entry into its own
 * tables at first use (graph.c), so each table keeps its one writer.
 * Counters that one worker raises and another lowers (threads blocked,
 * a site's live threads and bytes) are per-worker deltas, modulo 2^n; only
 * their sum means anything. */
#ifndef CAP_TELEMETRY_H
#define CAP_TELEMETRY_H

#include "internal.h"
#include "unwind.h"
#include <stdatomic.h>

#define CAP_FRAMES 16
#define CAP_NODES_MAX 4096
#define CAP_EDGES_MAX 16384
#define CAP_SITES_MAX 1024
#define CAP_SPLITS_MAX 1024
#define CAP_SAMPLES_MAX 1024
#define CAP_STALLS_MAX 256
#define CAP_TOP_THREADS 64
#define CAP_HOLDS_MAX 1024
#define CAP_WAKES_MAX 1024
#define CAP_IMPORTED 256

/* Node kinds on the wire (PROTOCOL.md): the wait reasons, plus yield. */
#define CAP_KIND_YIELD 13

/* struct cap_thread's t_wait once the waker has made it the wait (hooks.h). */
#define CAP_T_WOKEN (1ull << 63)

/* Aligned so that its first line holds all that a blocking op and a resume
 * touch: with a thousand threads between two ops of one worker, every line
 * more is a cache miss more. */
struct cap_node {
	uint64_t hash;
	uint64_t count, wait_total, wait_max; /* ticks */
	int64_t fd_delta;
	/* The node and the edge a thread went to from here last (index + 1, 0:
	 * none yet): tried before the tables, as a thread's next blocking point
	 * is most often the one it went to last time. */
	uint32_t next_node, next_edge;
	uint8_t nframes, kind;
	uint8_t memo_linked; /* the walk's memo is of a linked chunk: the frames on it (graph.c) */
	/* The wake of a thread blocked here recorded last (index + 1 in wakes):
	 * tried first, as the same call most often wakes it (graph.c). */
	uint32_t wake_memo;
	uint64_t frames[CAP_FRAMES];
	/* The walk's memo (graph.c): a walk from return address memo_pc (0:
	 * none) found this chain taking the frame-pointer rule at every step,
	 * the frames' CFAs memo_off[k] bytes below the thread's initial stack
	 * pointer, and ended at the thread's base; or, memo_linked frames on a
	 * linked chunk, memo_off[k] bytes below the chunk's link, and the rest
	 * the tail of the node before. */
	uint64_t memo_pc;
	uint32_t memo_off[CAP_FRAMES];
} __attribute__((aligned(64)));
_Static_assert(__builtin_offsetof(struct cap_node, frames) == 56, "what a blocking op, a resume and a wake touch: one line");
_Static_assert(sizeof(struct cap_node) == 256, "a node is four lines");

struct cap_edge {
	uint32_t from, to;
	uint64_t count, total, ewma, max; /* ticks */
};

struct cap_site {
	uint64_t addr;
	uint32_t live, total, first_chunk, split_frame_max;
	uint64_t chunks_linked, allocated, used_max, used_total, waste;
};

struct cap_split {
	uint64_t callsite;
	uint64_t count;
	uint32_t frame_bytes;
	uint32_t mapped; /* splits for which no linked or pooled chunk fitted: a chunk was mapped (a system call) */
};

struct cap_sample {
	uint64_t hash;
	uint64_t frames[CAP_FRAMES];
	uint8_t nframes;
	uint64_t count, run_max; /* ticks */
};

struct cap_stall {
	uint64_t pc, callsite, target;
	uint32_t syscall;
	uint64_t count, total_ns, max_ns;
};

/* A waiter's wait at `node` that ended when a holder handed it the lock
 * (syncprof.h): keyed by the waiter's node and the holder's acquisition and
 * release sites.  `node` is a CAP_REF, maybe into another worker's tables:
 * the releaser records the hold on its own worker, and the waiter blocked
 * wherever it ran. */
struct cap_hold {
	uint64_t key;
	uint32_t node;
	uint64_t acquire, release;
	uint64_t count, hold_total, hold_max, wait_total; /* ticks */
};

/* A wake: a thread blocked at `node` made runnable by a call at `waker`,
 * made by a thread whose run began at `from` (CAP_REFs; from 0: none). */
struct cap_wake {
	uint64_t key;
	uint32_t node, from;
	uint64_t waker;
	uint64_t count;
};

struct cap_thread_row {
	uint64_t id, spawn_site, allocated, used;
	uint32_t chunks_linked;
	uint8_t state, kind;
	char name[32];
};

/* A table of T with open-addressing lookup on a 64-bit key. */
#define CAP_TABLE(T, N)                         \
	struct {                                \
		T v[N];                         \
		uint32_t slot[2 * (N)];         \
		_Atomic uint32_t n;             \
		uint64_t full;                  \
	}

/* A thread's reference to an entry of some worker's table: the worker's
 * index above the entry's index + 1 (worker 0's are the plain index + 1);
 * index 0: no entry. */
#define CAP_REF(wid, i) (((uint32_t)(wid) << 16) | (i))
#define CAP_REF_WID(r) ((r) >> 16)
#define CAP_REF_IDX(r) ((r) & 0xffffu)
_Static_assert(CAP_NODES_MAX < 0x10000 && CAP_SITES_MAX < 0x10000, "table indexes fit CAP_REF");
#define CAP_WORKERS_MAX 1024 /* workers whose tables the telemetry thread reads */

/* A block recorded out of the wait lock, which every wait and wake of the
 * process takes: there a recording's work is the other workers' wait too.
 * Its point is found before the lock is taken (cap__graph_prepare), what
 * a waker reads of the thread or undoes (its node, its wait's start, the
 * count of threads blocked) is written under it once the wait is sure
 * (cap__graph_commit), and the worker's figures after the switch, when the
 * next context has given the lock up (cap__graph_counted).  The point is
 * that of the blocking function's caller, as cap__graph_block's is of its
 * caller's caller: cap__fd_wait finds it so every time, and the waits for
 * mutexes, condition variables and semaphores when the wait is likely and
 * other workers may want the lock (syncprof.h: cap__sync_prepare). */
struct cap_graph_prep {
	uint64_t now, run; /* the block's time; the run it ends (ticks) */
	int64_t fds;       /* descriptors that run opened, net */
	uint64_t switches; /* the worker's when it switched away */
	uint32_t node, edge, waits;
	int kind;
};

struct cap_telemetry {
	/* CAP_REF(the worker's index among the registered, 0): kept shifted, as
	 * every blocking op and resume adds it or subtracts it (graph.c). */
	uint32_t ref0;
	CAP_TABLE(struct cap_node, CAP_NODES_MAX) nodes;
	CAP_TABLE(struct cap_edge, CAP_EDGES_MAX) edges;
	CAP_TABLE(struct cap_site, CAP_SITES_MAX) sites;
	CAP_TABLE(struct cap_split, CAP_SPLITS_MAX) splits;
	CAP_TABLE(struct cap_sample, CAP_SAMPLES_MAX) samples;
	CAP_TABLE(struct cap_stall, CAP_STALLS_MAX) stalls;
	CAP_TABLE(struct cap_hold, CAP_HOLDS_MAX) holds;
	CAP_TABLE(struct cap_wake, CAP_WAKES_MAX) wakes;
	/* Nodes of other workers' tables this one has copied, by a thread's
	 * reference to the original (CAP_REF, never 0) to the copy's index + 1:
	 * direct-mapped, so that a thread that moved here most often finds its
	 * node without reading the other worker's lines (graph.c). */
	struct {
		uint32_t ref, idx;
	} imported[CAP_IMPORTED];
	/* The chain of the op being recorded (graph.c): here, on lines the
	 * worker keeps warm, not in a frame on the blocking thread's stack,
	 * whose lines that deep have gone cold since that thread last blocked. */
	uint64_t chain[CAP_FRAMES] __attribute__((aligned(64)));
	uintptr_t chain_cfa[CAP_FRAMES]; /* its frames' CFAs, for the walk's memo */
	/* Counters the worker keeps. */
	uint32_t blocked[16]; /* live threads blocked, by wait reason */
	/* The site of the program's call that is waking threads now (syncprof.h:
	 * cap__waking), 0: none — a wake by a timer or the poller.  Beside
	 * blocked[], which every wake writes. */
	uint64_t wake_site;
	/* The poller's clock read after epoll_wait, for the wakes of the events
	 * it returned (cap__tel_wake_batch); 0: none, each wake reads the clock. */
	uint64_t wake_stamp;
	uint64_t blocking_ops;
	/* A committed block whose figures the next context writes, once it has
	 * given the wait lock up (cap__graph_counted); kind < 0: none. */
	struct cap_graph_prep pending;
	uint64_t walks; /* blocking ops whose chain was walked, the node's memo not standing for it (graph.c) */
	uint64_t open_fds_delta; /* descriptors opened minus closed through the shim */
	/* open_fds_delta when the running thread's run began: set wherever a run
	 * begins or ends (graph.c), so a new thread's first run needs no hook. */
	uint64_t run_fds;
	uint64_t stack_allocated;
	/* Per-thread rows, gathered by the worker when asked. */
	_Atomic int want_threads; /* 1: asked, 2: rows ready */
	uint32_t nrows;
	struct cap_thread_row rows[CAP_TOP_THREADS];
	_Atomic uint64_t pool_resident; /* with the rows: resident bytes of the chunks in this worker's pool */
	/* Sampler and watchdog state. */
	uint64_t quantum_ticks;
	uint64_t last_sampled_switches;
	const struct cap_thread *sampled_thread; /* the run the sampler is timing, and its firings in it */
	uint64_t sampled_run;
	unsigned firings;
	/* A stall's end by the worker's own clock: the watchdog sets stall_watch
	 * when it sees the worker stuck; the stalled run's end (its thread blocks,
	 * yields or exits) stores the time and clears it.  The watchdog only
	 * notices that end at its next look, late when the machine is loaded. */
	_Atomic int stall_watch;
	uint64_t stall_end_ticks;
	/* When the running thread's run began, or a moment before: the end of
	 * the run before it (a run ends where the next begins), or the
	 * scheduler context's pick.  The watchdog times a stall from it, and
	 * sleeps until the run could have become one. */
	_Atomic uint64_t run_began;
	/* The worker's switch count when run_began was stamped: the thread the
	 * next switch goes to resumes at run_began, with no clock read of its
	 * own (cap__graph_resumed); ~0: not to be used (cap__tel_stamp_forget). */
	uint64_t began_switches;
};


static inline uint64_t cap__ticks(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* graph.c: hooks on the worker's paths, given the worker's tables (hooks.h) */
void cap__graph_block(struct cap_telemetry *T, struct cap_thread *t, int kind);
void cap__graph_prepare(struct cap_telemetry *T, struct cap_thread *t, int kind, struct cap_graph_prep *p);
void cap__graph_commit(struct cap_telemetry *T, struct cap_thread *t, int kind, const struct cap_graph_prep *p);
void cap__graph_counted(struct cap_telemetry *T);
void cap__graph_resumed(struct cap_telemetry *T, struct cap_thread *t, int kind);
void cap__graph_spawned(struct cap_telemetry *T, struct cap_thread *t);
void cap__graph_finished(struct cap_telemetry *T, struct cap_thread *t);
void cap__graph_rows_if_asked(struct cap_worker *w);
void cap__graph_chunks_given(struct cap_telemetry *T, struct cap_thread *t, size_t bytes);
void cap__graph_woken(struct cap_telemetry *T, const struct cap_thread *waker, const struct cap_thread *t);
void cap__graph_hold(struct cap_telemetry *T, const struct cap_thread *t, uint64_t acquire, uint64_t release, uint64_t hold);

/* The watchdog's eventfd while it dozes, every worker parked (telemetry_sys.c);
 * -1 while it looks every few milliseconds.  A worker that stops waiting
 * wakes it, so that a stall starting then is seen as soon as when it looks
 * anyway; nothing is written while it is awake, so a busy program pays
 * one fence and one load per park. */
extern _Atomic int cap__tel_doze_fd;

static inline void cap__tel_worker_unparked(void)
{
	atomic_thread_fence(memory_order_seq_cst); /* the worker's park_start 0 before the look, as the watchdog's store before its */
	if (CAP_UNLIKELY(atomic_load_explicit(&cap__tel_doze_fd, memory_order_relaxed) >= 0)) {
		int fd = atomic_exchange_explicit(&cap__tel_doze_fd, -1, memory_order_relaxed);
		uint64_t one = 1;
		if (fd >= 0)
			cap_sys3(SYS_write, fd, &one, sizeof one);
	}
}

/* w's thread is about to block: the fields cap__graph_block reads, on a
 * line of the thread nothing else on the way there loads, are asked for
 * now, to be on their way while the wait lock is taken. */
static inline void cap__graph_prefetch(const struct cap_worker *w)
{
	if (w->tel)
		__builtin_prefetch(&w->current->last_node, 1);
}

/* The running thread's run has ended, on a worker that has made `switches`
 * switches: the next run begins now (and the one that stalled has ended,
 * see stall_watch). */
static inline void cap__graph_run_ended(struct cap_telemetry *T, uint64_t now, uint64_t switches)
{
	atomic_store_explicit(&T->run_began, now, memory_order_relaxed);
	T->began_switches = switches;
	if (__builtin_expect(atomic_load_explicit(&T->stall_watch, memory_order_relaxed), 0)) {
		T->stall_end_ticks = now;
		atomic_store_explicit(&T->stall_watch, 0, memory_order_release);
	}
}

/* The worker does something of its own before its next switch (polls,
 * releases timers): the run switched to next reads the clock itself, so
 * that this work is in no thread's run. */
static inline void cap__tel_stamp_forget(struct cap_worker *w)
{
	if (w->tel) {
		w->tel->began_switches = ~0ull;
		w->tel->pending.switches = ~0ull; /* a block whose figures are still to be written stamps none */
	}
}

/* The poller wakes the threads of the events one epoll_wait returned
 * (`begin`, then not): each thread's wait ends when epoll reported its
 * event, one clock read for the batch instead of one per wake. */
static inline void cap__tel_wake_batch(struct cap_worker *w, bool begin)
{
	if (w->tel)
		w->tel->wake_stamp = begin ? cap__ticks() : 0;
}

/* Hashes of call chains, inline: the yield sampler uses them on the signal
 * stack, where split-stack code must not run. */
static inline uint64_t cap__mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static inline uint64_t cap__hash_frames(const uint64_t *frames, uint32_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;
	for (uint32_t i = 0; i < n; i++)
		h = cap__mix(h ^ frames[i]) + i;
	return h ? h : 1;
}

/* The keys of holds and wakes, for the workers' tables (nodes as CAP_REFs)
 * and the merged ones (nodes as merged ids) alike. */
static inline uint64_t cap__hold_key(uint64_t acquire, uint64_t release, uint32_t node)
{
	return cap__mix(cap__mix(cap__mix(acquire) ^ release) ^ node);
}

static inline uint64_t cap__wake_key(uint64_t waker, uint32_t node, uint32_t from)
{
	return cap__mix(cap__mix(waker) ^ ((uint64_t)node << 32 | from));
}

static inline void cap__count_fds(int d)
{
	__atomic_add_fetch(&cap__fds_delta, d, __ATOMIC_RELAXED); /* workers open and close at once */
	struct cap_worker *w = cap__w;
	if (w && w->tel)
		w->tel->open_fds_delta += (uint64_t)(int64_t)d;
}

/* telemetry_sys.c */
void cap__telemetry_start_sys(void *w);
/* A worker's tables for the telemetry thread to read: called once by each
 * worker after the first, on its own kernel thread (its sampler and its
 * watchdog follow that thread), before it runs user threads.  Sets w->tel;
 * does nothing when telemetry is off. */
void cap__tel_register_worker(struct cap_worker *w);
void cap__tel_worker_start(struct cap_worker *w); /* mn_sys.c: workers 1..N-1 */
/* The tables of registered worker `wid` (CAP_REF_WID), to copy entries
 * from: a variable of graph.c, so that its split-stack code calls nothing. */
extern struct cap_telemetry *_Atomic cap__tel_tables[CAP_WORKERS_MAX];

#endif
