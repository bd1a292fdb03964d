/* The worker context, composed as libdill's ctx.h composes its own: every
 * module with per-worker state owns one struct below and its init (and,
 * where it holds kernel objects, after-fork) function; `struct cap_worker`
 * holds one of each.  worker.c calls the inits in order.
 *
 * What is not in here is process-wide by design, and its definition says
 * why (the fd table, because descriptors are the process's; the helper
 * pool, because it is shared and has its own lock; the program's signal
 * handlers, because sigaction is process-wide; ...).  Issue 14 runs
 * several workers: then only what is in here may be touched without
 * synchronisation. */
#ifndef CAP_CTX_H
#define CAP_CTX_H

#include <stdatomic.h>
#include <sys/epoll.h>
#include "lock.h"

struct io_uring;
struct cap_thread;

/* runq.h: the run queue.  The ring (FIFO policy) is Go's runq: its
 * worker alone stores `tail`; it and thieves advance `head` by CAS. */
struct cap_fifo {
	struct cap_thread *head, *tail;
	uint32_t len;
};
struct cap_runq_res { /* resource-aware (policy.c): one per process, in cap__mn */
	struct cap_fifo favoured, normal, held;
};
#define CAP_RING 256
struct cap_ring {
	_Atomic uint32_t head;
	_Atomic uint32_t tail;
	struct cap_thread *_Atomic slot[CAP_RING];
};
struct cap_runq {
	struct cap_thread *_Atomic next; /* the "run next" slot: a thread just woken or spawned (runq.h: tagged) */
	uint32_t next_runs;      /* dispatches from the slot since the ring last went first */
	bool next_spawned;       /* the slot's thread was spawned, not woken: a wake takes its place */
	bool bound_turn;         /* the bound threads went last: the ring's turn */
	struct cap_fifo bound;   /* threads bound here (CAP_F_BOUND): the worker's alone, out of thieves' sight */
	struct cap_ring ring;
};

/* timer.c: threads with a deadline, a 1-based min-heap on wake_ns (one per
 * process, in cap__mn, under its lock). */
struct cap_heap {
	struct cap_thread **v;
	uint32_t n, cap;
};

/* io.c: the worker's epoll instance. */
#define CAP_IO_EVENTS 256
#define CAP_IO_BATCH 16 /* events handled per hold of the wait lock (io.c) */
struct cap_io_ctx {
	int epfd; /* the process's one instance (mn.h: Netpoller) */
	struct epoll_event events[CAP_IO_EVENTS];
};

/* disk_sys.c: the worker's io_uring ring, and the eventfd that tells its
 * epoll instance about completions. */
struct cap_disk_ctx {
	struct io_uring *ring; /* NULL: no ring (the helper pool does disk I/O) */
	int efd;
	bool sq_waiting; /* submissions the kernel has not taken yet */
};

/* stack.c: stacks freed on this worker, kept for its next threads. */
#define CAP_NCLASS 257u /* chunks up to 64 KiB come from the slab, by 256-byte class */
struct cap_class {
	struct cap_thread *free; /* freed chunks, linked through ->next */
	char *bump, *end;        /* the rest of the current slab */
};
struct cap_stack_ctx {
	struct cap_class classes[CAP_NCLASS];
	struct cap_thread *fixed_pool; /* freed fixed stacks */
	unsigned fixed_pooled;
	/* chunks.h: linked chunks given back by threads that no longer use
	 * them, to link again at the next split on this worker; most recent
	 * first, through ->next. */
	struct cap_libgcc_segment *chunks;
	unsigned nchunks;
	/* Stack memory resident here that no live thread holds: first chunks
	 * free in this worker's slabs (populated when mapped) and the resident
	 * pages of chunks still linked to them.  A delta (a thread may end on
	 * another worker); the telemetry thread sums it into STACKS' waste. */
	_Atomic int64_t idle;
};

/* signal.c, signal_sys.c, sigmask.c: signals as this worker's kernel thread
 * receives them (sigstate.h explains the routing). */
#define CAP_NSIG 64 /* signals 1..64, the kernel's sigset */
#define CAP_SIG_MASKS 16
struct cap_sigrun {
	struct cap_thread *target; /* the thread it ran for */
	struct cap_thread *in;     /* the thread that was running, NULL: none took it */
	uint64_t target_id;        /* target->id then, to notice a thread that ended */
	uint32_t target_waits;     /* target->waits then: the wait it ran during */
	int handoff;               /* not run: handed to target's sigwait */
};
struct cap_sig_ctx {
	volatile int mode;        /* CAP_SIGRUN_*: how the trampoline attributes a run */
	volatile int in_handler;  /* > 0 while a program's handler runs */
	int efd;                  /* eventfd the trampoline writes, in the epoll set; -1: none */
	_Atomic uint64_t ran;     /* bit: runs[sig] waits to be routed */
	atomic_uint nruns;        /* handler runs so far */
	struct cap_thread *_Atomic target; /* the thread pthread_kill signals */
	/* The kernel mask of this worker while it idles (its own context,
	 * parked, or in the poller's wait), ~0 while it runs a thread: what
	 * cap__sig_quiesce waits on (sigmask.c). */
	_Atomic uint64_t idle_kmask;
	struct cap_sigrun runs[CAP_NSIG + 1];
	/* The threads whose mask blocks something (a thread in a signal wait
	 * counts as blocking everything), by mask: up to CAP_SIG_MASKS
	 * masks, each with its count of threads (a slot, once given a mask,
	 * keeps it); those of any more masks, per signal: how many block
	 * each (sigmask.c). */
	_Atomic uint64_t masks[CAP_SIG_MASKS];
	uint32_t nmask[CAP_SIG_MASKS];
	uint32_t nmasked;
	uint32_t nblk[CAP_NSIG];
};

/* sysstack.c */
struct cap_sysstack {
	char *lo, *hi; /* NULL: none (calls then run where they are) */
	struct cap_libgcc_segment *segments; /* chunks libgcc linked on it */
	bool active;   /* a call runs on it now */
};

/* unwind.h: rules of call-chain steps, cached by address.  Only this worker
 * fills its cache, from the system stack, where its sampler never looks;
 * the sampler reads it and resolves what it misses itself. */
struct cap_unwind_rule {
	int32_t cfa_off;
	int16_t rbp_off;
	uint8_t cfa_rbp;
	uint8_t flags;
};
struct cap_unwind_slot {
	uint64_t key; /* the address looked up (a return address − 1, or a program counter); 0: empty */
	struct cap_unwind_rule rule;
};
#define CAP_UNWIND_SLOTS 4096

struct cap_telemetry;

/* mn.c: an idle worker's watch on another worker's run-next slot. */
struct cap_next_watch {
	uint32_t victim;
	struct cap_thread *t;
	uint64_t switches, since;
};

/* What the profiler reports per worker (telemetry_sys.c reads it while the
 * worker runs, so each field has one writer and is read whole).  Busy time
 * is not kept: it is the worker's lifetime minus the time parked. */
struct cap_worker_stats {
	uint64_t start_ns;           /* cap__worker_init: when it began */
	_Atomic uint32_t park_seq;   /* odd while the two below change: a sequence lock */
	_Atomic uint64_t park_start; /* ns, when the wait going on began; 0: not parked */
	_Atomic uint64_t parked_ns;  /* waits in the kernel with nothing to run, ended */
	_Atomic uint64_t steals;     /* threads this worker took from another's run queue */
	_Atomic uint64_t migrations; /* threads that came to run here from another worker */
	_Atomic uint32_t threads;    /* threads it owns: queued here, running here, or blocked after running here */
};

struct cap_worker {
	/* The scheduler's own (sched.c), with what every switch, block and
	 * yield reads first: these share the first cache lines. */
	struct cap_thread *current;
	int *errno_ptr;
	uint64_t kmask;          /* the kernel signal mask: the running thread's (sigmask.c) */
	struct cap_telemetry *tel; /* graph.c: this worker's tables; NULL: telemetry off */
	/* What the context switched to does first, on this worker, once the
	 * one switched from is saved (sched.c: cap__post_switch). */
	struct cap_thread *zombie;    /* a detached thread that ended: free its stack */
	struct cap_thread *post_push; /* a thread that yielded: queue it (thieves may run it from then on) */
	bool post_hold;               /* policy.c: post_push goes to the back of the held threads */
	bool post_send;               /* cap_bind: post_push goes to its (new) owner's inbox */
	bool post_unlock;             /* release cap__mn.lock (a thread blocked) */
	bool wakep;                   /* work was queued here: maybe wake an idle worker (mn.c) */
	bool polling;            /* sched.c: a user thread's stack runs the poller; its wakes queue */
	uint32_t dispatches;     /* counts dispatches between looks at the poller and the injection queue */
	uint64_t switches;
	struct cap_runq runq;    /* runq.h */
	struct cap_io_ctx io;    /* io.c */
	struct cap_thread sched; /* the scheduler's own context, on the kernel stack */
	uint32_t id;             /* 0: the kernel thread that ran main(), the one process signals reach */
	_Atomic uint32_t park;   /* mn.c: the futex word a parked worker sleeps on; 1: woken */
	struct cap_worker *idle_next; /* mn.c: the idle stack, under cap__mn.idle_lock */
	bool idle;               /* on the idle stack */
	uint32_t rand;           /* mn.c: victim choice */
	struct cap_next_watch watch; /* mn.c: cap__mn_watch_next */
#ifdef CAP_CHECKED
	struct cap_thread *switched_from; /* sched.c: off the CPU once the switch is made */
#endif
	/* The other modules'. */
	struct cap_disk_ctx disk;    /* disk_sys.c */
	struct cap_stack_ctx stacks; /* stack.c */
	struct cap_sig_ctx sig;      /* signal*.c, sigmask.c */
	struct cap_sysstack sysstack; /* sysstack.c */
	char *tls_live;          /* tls.c: the program's thread-locals in this kernel thread's TLS block */
	void *locale_applied;    /* tls.c: the locale this kernel thread has (uselocale); NULL: global */
	struct cap_thread *annot_stacks; /* annotate.c: stacks kept for annotated calls */
	uint32_t annot_stacks_kept;
	struct cap_unwind_slot unwind[CAP_UNWIND_SLOTS]; /* unwind.h */
	struct cap_worker_stats stats; /* worker.c, the scheduler; read by telemetry_sys.c */
	/* mn.c: threads bound to this worker (CAP_F_BOUND), made runnable on
	 * another one; taken at its next dispatch.  A line of their own: the
	 * others write them. */
	struct cap_lock inbox_lock __attribute__((aligned(64)));
	_Atomic uint32_t ninbox;
	struct cap_fifo inbox;
};

/* The worker waits in the kernel with nothing runnable (worker.c).  A
 * sequence lock: the telemetry thread (cap__worker_parked_ns) never counts
 * a park twice or not at all, and the worker never waits for it. */
static inline void cap__worker_park_set(struct cap_worker *w, uint64_t start, uint64_t parked)
{
	uint32_t q = atomic_load_explicit(&w->stats.park_seq, memory_order_relaxed);
	atomic_store_explicit(&w->stats.park_seq, q + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&w->stats.park_start, start, memory_order_relaxed);
	atomic_store_explicit(&w->stats.parked_ns, parked, memory_order_relaxed);
	atomic_store_explicit(&w->stats.park_seq, q + 2, memory_order_release);
}
static inline void cap__worker_park_begin(struct cap_worker *w, uint64_t now_ns)
{
	cap__worker_park_set(w, now_ns ? now_ns : 1, atomic_load_explicit(&w->stats.parked_ns, memory_order_relaxed));
}
static inline void cap__worker_park_end(struct cap_worker *w, uint64_t now_ns)
{
	uint64_t t0 = atomic_load_explicit(&w->stats.park_start, memory_order_relaxed);
	uint64_t p = atomic_load_explicit(&w->stats.parked_ns, memory_order_relaxed);
	cap__worker_park_set(w, 0, p + (now_ns > t0 ? now_ns - t0 : 0));
}

/* Time parked so far, as of now_ns, the park going on included: read from
 * any thread. */
static inline uint64_t cap__worker_parked_ns(const struct cap_worker *w, uint64_t now_ns)
{
	for (;;) {
		uint32_t q = atomic_load_explicit(&w->stats.park_seq, memory_order_acquire);
		uint64_t t0 = atomic_load_explicit(&w->stats.park_start, memory_order_relaxed);
		uint64_t p = atomic_load_explicit(&w->stats.parked_ns, memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		if ((q & 1) || atomic_load_explicit(&w->stats.park_seq, memory_order_relaxed) != q)
			continue; /* the worker is changing them: a few instructions */
		return p + (t0 && now_ns > t0 ? now_ns - t0 : 0);
	}
}

#endif
