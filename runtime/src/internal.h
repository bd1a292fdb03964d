/* Internal structures shared by the runtime's modules.
 *
 * One kernel thread (the worker) runs every user thread today.  Its state
 * is `struct cap_worker` (ctx.h), composed of one context per module and
 * reached through a thread-local pointer, so a later M:N scheduler can run
 * several workers without changing the hot paths.  State outside it is
 * process-wide by design and says so where it is defined.
 *
 * Errors: internal functions (cap__*) report an error as a negative errno,
 * as the kernel does (-EINTR, -ETIMEDOUT; 0 or a count for success), and
 * so does every wait result (cap__block, cap__wake).  Only the public entry
 * points convert: the cap_* API and the pthread functions return a positive
 * errno, the libc functions -1 with errno set (cap__ret).  The one kind of
 * exception is a function that *is* a libc call's body and is named as
 * such (stdio's cap__stream_underflow/overflow, which return EOF with errno
 * set; cap__fcntl_lock_wait, fcntl's -1 and errno), and static helpers that
 * compute a public function's result, which use that function's
 * convention, as does cap__block_public (a public wait's tail). */
#ifndef CAP_INTERNAL_H
#define CAP_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "capriccio.h"
#include "sys.h"

#define CAP_LIKELY(x) __builtin_expect(!!(x), 1)
#define CAP_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CAP_TLS __attribute__((tls_model("initial-exec"))) __thread
#define CAP_HIDDEN __attribute__((visibility("hidden")))

/* Room kept below a first chunk's stack guard.  What runs there: the
 * slack GCC allows small frames (256 bytes), __morestack and
 * __generic_morestack linking the next chunk (~600 bytes), a vDSO call.
 * Signal handlers never do (alternate stack), nor the dynamic linker
 * (capcc links with -z now).  libgcc reserves more on its own chunks
 * (0xe00 in GCC 12) because it cannot assume either. */
#define CAP_SPLIT_BACKOFF 1536
extern size_t cap__libgcc_backoff; /* libgcc's own reserve, read from __morestack */

/* libgcc's per-thread split-stack state (generic-morestack.c): the chunks
 * it linked, the one in use, and the thread's initial stack.  The runtime
 * switches them per user thread; initial-exec TLS keeps each access one
 * instruction. */
struct cap_libgcc_segment {
	struct cap_libgcc_segment *prev, *next;
	size_t size; /* usable bytes after this header */
	void *old_stack;
	void *dynamic_allocation, *free_dynamic_allocation, *extra;
};
struct cap_libgcc_initial_sp {
	void *sp;
	size_t len;
	unsigned long mask[16]; /* sigset_t */
	uintptr_t dont_block_signals;
	void *extra[4];
};
extern CAP_TLS struct cap_libgcc_segment *__morestack_segments;
extern CAP_TLS struct cap_libgcc_segment *__morestack_current_segment;
extern CAP_TLS struct cap_libgcc_initial_sp __morestack_initial_sp;

/* The split-stack guard: the lowest address split-stack prologues let the
 * stack pointer reach before calling __morestack (the TCB slot %fs:0x70). */
static inline void *cap__get_guard(void)
{
	void *g;
	__asm__ volatile("movq %%fs:0x70, %0" : "=r"(g));
	return g;
}
static inline void cap__set_guard(void *g) { __asm__ volatile("movq %0, %%fs:0x70" : : "r"(g) : "memory"); }

/* Saved by switch.S: stack pointer and the split-stack guard (%fs:0x70). */
struct cap_ctx {
	void *sp;
	void *guard;
};

/* The rest of libgcc's per-thread split-stack state, saved in C. */
struct cap_ss {
	struct cap_libgcc_segment *segments; /* __morestack_segments: chunks libgcc linked */
	struct cap_libgcc_segment *current;  /* __morestack_current_segment */
	void *initial_sp; /* our first chunk, for __splitstack_find */
	size_t initial_len;
};

enum cap_state { CAP_RUNNABLE = 1, CAP_RUNNING, CAP_BLOCKED, CAP_DONE };

enum cap_wait_reason {
	CAP_WAIT_NONE = 0,
	CAP_WAIT_SLEEP,
	CAP_WAIT_JOIN,
	CAP_WAIT_MUTEX,
	CAP_WAIT_COND,
	CAP_WAIT_SEM,
	CAP_WAIT_RWLOCK,
	CAP_WAIT_QUEUE,
	CAP_WAIT_CHAN,
	CAP_WAIT_IO,
	CAP_WAIT_POLL, /* poll/select: interrupted by any handled signal */
	CAP_WAIT_DISK,
	CAP_WAIT_ONCE,
	CAP_WAIT_EXTERN = 14, /* an external function annotated as blocking, on a helper */
};

enum cap_stack_kind { CAP_STACK_KIND_SLAB = 1, CAP_STACK_KIND_FIXED, CAP_STACK_KIND_KERNEL };

#define CAP_F_DETACHED 0x01
#define CAP_F_MAIN 0x02
#define CAP_F_JOINED 0x04 /* someone joined or is joining */
#define CAP_F_SIGWAIT 0x08 /* in a wait that signals end (sigwait.c) */
#define CAP_F_C11 0x10    /* made by thrd_create: fn returns int */
#define CAP_F_SOCK_TIMEO 0x20 /* parked with a socket timeout: SA_RESTART does not restart it (signal(7)) */
#define CAP_F_BOUND 0x40  /* runs on its owner worker only (mn.h: Thread-locals) */
#define CAP_F_QFRONT 0x80 /* its next wait queues first in line, once (a mutex waiter that lost the race it was woken for) */

/* Laid out by cache line (the structure is 64-byte aligned at the top of
 * its first chunk): with a thousand threads between two ops of one
 * worker, each line a blocking op touches is a likely cache miss.  Lines
 * 0-2 hold what every block, wake and resume touch, the waker's fields
 * in line 1 (written from another worker), the profiler's per-op fields
 * in line 2 beside wait_obj; line 3 signals and keys; line 4 what spawn,
 * exit and splits use. */
struct cap_thread {
	/* Line 0: the switch. */
	struct cap_ctx ctx; /* first: switch.S stores through it */
	struct cap_ss ss;
	struct cap_thread *next, *prev; /* run queue or the wait queue it sleeps in */
	/* Line 1: waiting and waking. */
	struct cap_worker *owner;       /* the worker whose run queue it goes back to when woken */
	struct cap_waitq *waitq;        /* queue holding it while blocked */
	uint64_t wake_ns;               /* deadline while in the timer heap */
	uint32_t heap_idx;              /* 1-based; 0 = not in the heap */
	uint8_t state, reason, flags, stack_kind;
	int wait_result; /* 0, -ETIMEDOUT or -EINTR when woken */
	int saved_errno;
	/* Signals (signal.c): `waits` counts its waits, so that a handler
	 * interrupts the wait it ran during, never a later one; `intr_runs`
	 * counts the handlers without SA_RESTART run for it, which a call that
	 * parks more than once checks between its waits (cap__intr_since);
	 * `handler_runs` counts all, for a helper's call (pool.h). */
	uint32_t waits, intr_runs, handler_runs;
	uint16_t chunk_class; /* slab size class of the first chunk */
	uint16_t nspecific;   /* of specific (below): 0, 32 or PTHREAD_KEYS_MAX (1024) */
	/* Telemetry (graph.c, hooks.h): the TSC when it blocked; the waker
	 * (another worker, maybe) turns it into the wait so far, flagged
	 * CAP_T_WOKEN, on this line it writes anyway. */
	uint64_t t_wait;
	/* Line 2: what it waits on, and the profiler's per-op fields (graph.c,
	 * maintained only while telemetry is on; policy.c's psite). */
	const void *wait_obj; /* what it waits on, for diagnostics */
	char *stack_lo;       /* lowest usable stack byte */
	size_t stack_size;    /* bytes of stack (without this struct / guard page) */
	uint64_t t_resumed; /* TSC */
	uint64_t t_run; /* TSC: start of the run the sampler measures (resumed, or a yield with nobody to run) */
	uint64_t chunk_memo; /* its current linked chunk, as graph.c last saw it (unwind.h), 0: none */
	uint64_t chunk_link; /* graph.c: where its chain leaves that chunk, 0: not known */
	uint32_t last_node;  /* blocking point it last left, CAP_REF (telemetry.h); index 0: none yet */
	uint32_t psite;      /* resource-aware scheduling (policy.c): blocking point it last blocked at, table index + 1 */
	/* Line 3: keys, libc's state, signals, the thread list, the name. */
	void **specific;      /* pthread keys, grown on demand */
	struct cap_libc_tsd *libc; /* its share of glibc's per-thread state (tls.h), made on first use */
	/* Signals (sigmask.c): its mask, and signals sent to it (pthread_kill)
	 * that wait for it to unblock or take them.  Kernel layout: bit sig-1. */
	uint64_t sigmask, sigpend;
	struct cap_thread *all_next, *all_prev; /* every live thread */
	char name[16]; /* as a Linux thread name: 15 characters at most */
	/* Line 4: spawn, exit, splits. */
	uint64_t id;
	void *(*fn)(void *);
	void *arg;
	void *result;
	struct cap_thread *joiner;
	void *spawn_site;       /* return address of the spawning call */
	uint32_t site;          /* telemetry: its spawn site's table index + 1 */
	uint32_t chunks_linked; /* telemetry: times __morestack linked a chunk for it */
	/* Resource-aware scheduling (policy.c); a thread held back in its run
	 * queue keeps the time in wake_ns (it is never in the timer heap then). */
	int32_t pol_fds, pol_threads; /* counters when its run began */
#ifdef CAP_CHECKED
	_Atomic(struct cap_worker *) on_cpu; /* the worker running it (CAP_CHECK): never two at once */
#endif
};

/* A thread structure's room at the top of its first chunk (its copy of the
 * program's thread-locals, if any, sits right below it: cap__tls.area). */
#define CAP_TSIZE ((sizeof(struct cap_thread) + 63) & ~(size_t)63)
/* Every thread carries it in its first chunk: 64 bytes more is 64 bytes less
 * stack for each of a million threads.  Grow it only on purpose. */
#ifndef CAP_CHECKED /* which adds one word */
_Static_assert(sizeof(struct cap_thread) <= 320, "struct cap_thread outgrew its 320 bytes");
#endif
_Static_assert(__builtin_offsetof(struct cap_thread, owner) == 64 && __builtin_offsetof(struct cap_thread, t_wait) == 120 &&
		       __builtin_offsetof(struct cap_thread, wait_obj) == 128 && __builtin_offsetof(struct cap_thread, psite) == 188 &&
		       __builtin_offsetof(struct cap_thread, id) == 256,
	       "struct cap_thread's fields left their cache lines (the comment above it)");
/* The smallest first chunk: the thread structure, libgcc's guard and a frame. */
#define CAP_MIN_CHUNK (CAP_TSIZE + CAP_SPLIT_BACKOFF + 512)
/* The largest stack size a pthread attribute may give as a first chunk (split mode). */
#define CAP_MAX_FIRST_CHUNK (64u << 10)

#include "ctx.h"

/* Only the worker kernel thread has a non-NULL pointer here. */
extern CAP_TLS struct cap_worker *cap__w;

static inline struct cap_worker *cap__worker(void) { return cap__w; }
static inline struct cap_thread *cap__current(void)
{
	struct cap_worker *w = cap__w;
	return w ? w->current : NULL;
}

/* switch.S */
void cap__ctx_switch(struct cap_ctx *from, struct cap_ctx *to);
void cap__thread_trampoline(void);
CAP_HIDDEN _Noreturn void cap__thread_main(struct cap_thread *t); /* sched.c: the trampoline calls it on the new stack */
void cap__sysstack_call(void (*fn)(void *), void *arg, void *stack_top);

/* Flags a thread changes on itself while another worker may change others
 * (JOINED, DETACHED, under cap__mn.lock): a byte's read-modify-write must
 * not lose the other's bit. */
static inline void cap__flags_set(struct cap_thread *t, uint8_t f) { __atomic_fetch_or(&t->flags, f, __ATOMIC_RELAXED); }
static inline void cap__flags_clear(struct cap_thread *t, uint8_t f)
{
	__atomic_fetch_and(&t->flags, (uint8_t)~f, __ATOMIC_RELAXED);
}

/* sched.c */
/* Runs something else; returns the worker the caller runs on when resumed. */
struct cap_worker *cap__schedule(struct cap_worker *w, struct cap_thread *cur);
bool cap__sched_run_one(struct cap_worker *w);
/* Parks the running thread until cap__wake: 0, or the result the waker
 * gave (-ETIMEDOUT at the deadline, -EINTR for a signal).  Called under
 * cap__mn.lock (mn.h), which it releases: it returns without it.  The
 * wakes are called under it. */
int cap__block(struct cap_waitq *q, uint64_t deadline_ns, enum cap_wait_reason why, const void *obj);
/* The same wait with its result as a public call returns it (+errno), for
 * the public waits that end in it: they tail-jump here, where `return
 * -cap__block(...)` would be a call and a frame of their own, one more for
 * the blocking graph to walk and hash at each op (graph_cost_ns +5%). */
int cap__block_public(struct cap_waitq *q, uint64_t deadline_ns, enum cap_wait_reason why, const void *obj);
/* cap__block for a wait whose point the blocking graph found before the
 * lock was taken (telemetry.h: struct cap_graph_prep; NULL: none). */
struct cap_graph_prep;
int cap__block_prepared(struct cap_waitq *q, uint64_t deadline_ns, enum cap_wait_reason why, const void *obj,
			const struct cap_graph_prep *prep);
void cap__wake(struct cap_thread *t, int result);
void cap__wake_all(struct cap_waitq *q, int result);
struct cap_thread *cap__wake_one(struct cap_waitq *q, int result);
/* Slow paths that call libc run on the system stack, through this table
 * (sysfn_sys.c).  Naming a function built without split stacks, even only
 * to take its address, makes gold rewrite the caller to demand a large chunk
 * (16 KiB more, or 1 MiB for frames it adjusts in place) on every call. */
enum cap_sysfn {
	CAP_SYSFN_INIT,
	CAP_SYSFN_PRINT,
	CAP_SYSFN_DEADLOCK,
	CAP_SYSFN_OVERFLOW,
	CAP_SYSFN_RELEASE_CHAIN,
	CAP_SYSFN_DISK_SETUP,
	CAP_SYSFN_DISK_SUBMIT,
	CAP_SYSFN_DISK_REAP,
	CAP_SYSFN_GROW_SPECIFIC,
	CAP_SYSFN_FREE_SPECIFIC,
	CAP_SYSFN_REPORT_CONFIG,
	CAP_SYSFN_DISK_FORGET,
	CAP_SYSFN_TELEMETRY,
	CAP_SYSFN_POOL_START,
	CAP_SYSFN_POOL_SUBMIT,
	CAP_SYSFN_POOL_REAP,
	CAP_SYSFN_POOL_FORGET,
	CAP_SYSFN_POLICY_READ,
	CAP_SYSFN_TLS_INIT,
	CAP_SYSFN_APPLY_LOCALE,
	CAP_SYSFN_LIBC_TSD_FREE,
	CAP_SYSFN_POOL_INTERRUPT,
	CAP_SYSFN_SYSTEM_START,
	CAP_SYSFN_SYSTEM_END,
	CAP_SYSFN_POPEN,
	CAP_SYSFN_PCLOSE,
	CAP_SYSFN_RESOLVE_PREPARE,
	CAP_SYSFN_RESOLVE,
	CAP_SYSFN_UNWIND,
	CAP_SYSFN_MN_START, /* mn_sys.c */
	CAP_SYSFN_COUNT
};
extern void (*const cap__sysfn[CAP_SYSFN_COUNT])(void *);
/* For *_sys.c code: the C library's own definition of a function the
 * runtime replaces, looked up once into *slot. */
void *cap__libc_next(void **slot, const char *name);
void cap__on_sysstack(enum cap_sysfn op, void *arg);
_Noreturn void cap__fatal_misuse(const char *what);
/* The checked build (make -C runtime checked: -DCAP_CHECKED, the runtime
 * and the programs built against it): the scheduler's invariants asserted
 * where they could break, each a fatal error that names it.  Otherwise
 * nothing: not even the condition is evaluated. */
#ifdef CAP_CHECKED
#define CAP_CHECK(cond, what)                                                                       \
	do {                                                                                        \
		if (CAP_UNLIKELY(!(cond)))                                                          \
			cap__fatal_misuse("capriccio: internal error (checked build): " what);      \
	} while (0)
#else
#define CAP_CHECK(cond, what) ((void)0)
#endif
int *cap__errno(void);
void cap__set_errno(int e);
/* Joins t by deadline_ns (0: no deadline; CAP_JOIN_TRY: -EBUSY unless it
 * has ended).  -ETIMEDOUT leaves t joinable. */
#define CAP_JOIN_TRY UINT64_MAX
int cap__join(struct cap_thread *t, void **result, uint64_t deadline_ns);
struct cap_thread *cap__spawn_at(void *(*fn)(void *), void *arg, const cap_spawn_opts_t *o, void *site);
/* Takes t off the thread list (under cap__mn.lock). */
void cap__unlink_all(struct cap_thread *t);
/* cap__spawn_at in two steps, for callers that finish setting up the
 * thread (or publish it) before any worker can run it. */
struct cap_thread *cap__spawn_prepare(void *(*fn)(void *), void *arg, const cap_spawn_opts_t *o, void *site);
void cap__spawn_start(struct cap_thread *t);

/* policy.c: resource-aware scheduling */
enum { CAP_POLICY_FIFO = 0, CAP_POLICY_RESOURCE = 1 };
extern int cap__policy;
struct cap_policy_limits {
	uint64_t fd_limit;      /* RLIMIT_NOFILE (soft) */
	uint64_t fds_at_start;  /* open before main */
	uint64_t memory_limit;  /* CAPRICCIO_MEMORY_LIMIT, else a finite RLIMIT_AS; 0 = none */
	uint64_t memory_bytes;  /* resident size (CAPRICCIO_MEMORY_LIMIT) or address space (RLIMIT_AS) */
	uint64_t stack_limit;   /* CAPRICCIO_STACK_LIMIT; 0 = none */
};
extern struct cap_policy_limits cap__limits;
extern int64_t cap__fds_delta;   /* descriptors opened minus closed through the shim */
extern uint64_t cap__stack_bytes; /* first chunks and fixed stacks of live threads */
uint64_t cap__fds_open(void);
void cap__fds_runtime(int d); /* descriptors the runtime itself opened (+) or closed (-) */
void cap__policy_block(struct cap_thread *t, const void *block_frame); /* block_frame: the blocking function's frame */
void cap__policy_resumed(struct cap_thread *t);
void cap__policy_spawned(struct cap_thread *t);
void cap__policy_exited(struct cap_thread *t);
void cap__policy_admit(void);

/* waitq.c-style helpers (inline) */
static inline void cap__q_push(struct cap_waitq *q, struct cap_thread *t)
{
	t->next = NULL;
	t->prev = q->tail;
	if (q->tail)
		q->tail->next = t;
	else
		q->head = t;
	q->tail = t;
}
static inline void cap__q_push_front(struct cap_waitq *q, struct cap_thread *t)
{
	t->prev = NULL;
	t->next = q->head;
	if (q->head)
		q->head->prev = t;
	else
		q->tail = t;
	q->head = t;
}
static inline void cap__q_remove(struct cap_waitq *q, struct cap_thread *t)
{
	if (t->prev)
		t->prev->next = t->next;
	else
		q->head = t->next;
	if (t->next)
		t->next->prev = t->prev;
	else
		q->tail = t->prev;
	t->next = t->prev = NULL;
}

/* worker.c */
struct cap_worker *cap__worker_first(void);
void cap__worker_init_sched(struct cap_worker *w);
void cap__worker_init(struct cap_worker *w);
void cap__worker_run(struct cap_worker *w);

/* sysstack.c */
void cap__sysstack_init(struct cap_worker *w);

/* timer.c */
void cap__timer_add(struct cap_worker *w, struct cap_thread *t);
void cap__timer_del(struct cap_worker *w, struct cap_thread *t);
uint64_t cap__timer_next(struct cap_worker *w); /* 0 = none */
void cap__timer_release_due(struct cap_worker *w, uint64_t now); /* takes cap__mn.lock */
void cap__timer_release_due_locked(uint64_t now);                /* under it */

/* stack.c */
int cap__stack_alloc(struct cap_thread **out, size_t size, int mode); /* 0 or -errno */
void cap__stack_free(struct cap_thread *t);
void cap__stack_init(void);
const char *cap__stack_mode_name(void);
int cap__stack_default_mode(void);

/* io.c */
int cap__fd_table_init(void);           /* 0 or -errno */
int cap__io_init(struct cap_worker *w); /* 0 or -errno */
void cap__io_after_fork(struct cap_worker *w);
void cap__io_poll(struct cap_worker *w, int64_t timeout_ns);
void cap__fd_reset(int fd);

/* signal.c */
void cap__signals_init(struct cap_worker *w);
void cap__sig_altstack_init(struct cap_worker *w);

/* sigmask.c: per-thread signal masks */
void cap__sig_kmask(struct cap_worker *w, uint64_t mask); /* the kernel mask, when a thread with another runs */
void cap__sig_spawned(struct cap_worker *w, struct cap_thread *t);
void cap__sig_exited(struct cap_thread *t);
uint64_t cap__sig_idle_mask(struct cap_worker *w); /* what the scheduler lets through while it idles */
/* The kernel mask w idles with (~0: it runs a thread), for cap__sig_quiesce. */
static inline void cap__sig_idle_publish(struct cap_worker *w, uint64_t kmask)
{
	__atomic_store_n((uint64_t *)&w->sig.idle_kmask, kmask, __ATOMIC_SEQ_CST);
}
/* Sets w's kernel mask to the idle mask and publishes it, again until the
 * mask is the same after its publication: a thread that blocks a signal
 * either sees the old mask published (and waits, cap__sig_quiesce) or is
 * counted in the new one.  On w's own context, while it idles. */
void cap__sig_idle_settle(struct cap_worker *w);
void cap__sig_spare(struct cap_worker *w);        /* deliver what only a waiting thread accepts */

/* disk.c */
void cap__disk_complete(struct cap_worker *w);
void cap__disk_after_fork(void);
void cap__before_fork(void);
void cap__after_fork_parent(void);
void cap__after_fork_child(void);


/* Small freestanding helpers: no libc calls from split code. */
static inline size_t cap__strlcpy(char *dst, const char *src, size_t n)
{
	size_t i = 0;
	if (n == 0)
		return 0;
	for (; src && src[i] && i + 1 < n; i++)
		dst[i] = src[i];
	dst[i] = 0;
	return i;
}
static inline void cap__memzero(void *p, size_t n)
{
	volatile char *c = p;
	while (n--)
		*c++ = 0;
}

/* Was the function at `code` compiled with -fsplit-stack?  Its prologue then
 * compares the stack pointer with %fs:0x70 (gold may have turned the compare
 * into `stc` when the function calls code without split stacks). */
static inline bool cap__code_is_split(const void *code)
{
	const unsigned char *p = code;
	if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
		p += 4; /* endbr64 */
	if (p[0] == 0xf9)
		return true; /* stc: gold's rewrite for calls into non-split code */
	/* cmp %fs:0x70,%reg: 64 REX 3b ModRM 25 70 00 00 00 */
	for (int i = 0; i < 16; i++)
		if (p[i] == 0x64 && p[i + 2] == 0x3b && p[i + 4] == 0x25 && p[i + 5] == 0x70 && p[i + 6] == 0 &&
		    p[i + 7] == 0 && p[i + 8] == 0)
			return true;
	return false;
}

#endif
