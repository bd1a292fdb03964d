/* capriccio.h — user-level threads on linked stacks for thread-per-connection
 * C programs.
 *
 * A program built with `capriccio cc` (or bin/capcc) runs every thread it
 * creates — with this API or with pthread_create — as a cooperative
 * user-level thread.  `main` itself runs as one.  Blocking POSIX calls
 * (read, write, accept, poll, sleep, pthread_mutex_lock, ...) are provided by
 * the runtime: they try the operation without blocking and, when it would
 * block, park only the calling thread while the others run.  So is stdio on
 * a pipe, a socket or a terminal (fgets, getchar, scanf, printf, fwrite,
 * fflush, ...), with glibc's buffering and results.  Sockets and
 * pipes wait on epoll, regular files go through io_uring (or a pool of
 * helper kernel threads where io_uring is unavailable).
 *
 * Stacks.  Code compiled by `capriccio cc` uses GCC split stacks: a thread
 * starts on a small first chunk and the compiler-inserted prologue checks
 * link further chunks when a call needs more.  Code not compiled that way
 * (libc, precompiled libraries) gets a large chunk from gold at each call
 * into it.  The alternative fixed-stack mode gives every thread one mmap'd
 * stack with a guard page, for code not built with split stacks; overflowing
 * it is reported with the thread's name and spawn site.
 *
 * pthread_attr_setstacksize sizes a fixed stack; in split mode a size up to
 * 64 KiB is taken as the thread's first chunk (sizes from 2560 bytes are
 * accepted, below glibc's PTHREAD_STACK_MIN) and a larger one is ignored:
 * the stack links more chunks as it needs them.  A start routine that was
 * not compiled with split stacks (a prebuilt library's own threads) cannot
 * link chunks, so pthread_create gives it a fixed stack in either mode (the
 * attribute's size, else CAPRICCIO_FIXED_STACK).
 *
 * Thread-locals.  `__thread`, `_Thread_local` and C11 `thread_local`
 * variables of the program (everything capcc links into the executable,
 * precompiled objects and static libraries included) belong to each user
 * thread: a thread starts from their initial values (main from what the
 * constructors left), keeps them across blocking calls and forks, and its
 * C++ thread_local destructors run when it ends, before its pthread keys'
 * destructors.  Each thread keeps its own copy, swapped into the worker's
 * TLS block at every switch (a program without thread-locals pays nothing;
 * 1 KiB of them adds 20-30 ns to a switch).  So `&var` is the same address
 * in every thread: a pointer to a thread-local is good only in the thread
 * that took it — another thread that follows it reaches its own copy, not
 * the owner's (glibc would reach the owner's) — and synchronisation objects
 * must not be thread-locals.  A shared library's thread-locals, and glibc's,
 * stay per worker kernel thread; of glibc's per-thread state, errno,
 * uselocale and the results of strerror, strsignal and inet_ntoa are kept
 * per user thread.
 *
 * Scheduling is cooperative: a thread runs until it blocks, yields or exits.
 * Run queue operations are O(1); sleeping threads wait in a binary heap.
 *
 * Threads.  All functions here must be called from a user thread (the
 * program's threads, including main).  Calling them from a kernel thread the
 * runtime does not own is reported and aborts the program.
 *
 * Environment:
 *   CAPRICCIO_STACK=split|fixed   stack mode (default: split when linked by
 *                                 capriccio cc, else fixed)
 *   CAPRICCIO_CHUNK=BYTES         default first chunk in split mode, thread structure
 *                                 included (default 3840: 3.75 KiB)
 *   CAPRICCIO_FIXED_STACK=BYTES   stack size in fixed mode (default 256 KiB)
 *   CAPRICCIO_DISK=uring|threads  disk backend (default io_uring if usable)
 *   CAPRICCIO_SCHEDULER=fifo|resource-aware
 *                                 resource-aware: near a limit (90% of the
 *                                 descriptors, CAPRICCIO_MEMORY_LIMIT or a finite
 *                                 RLIMIT_AS, CAPRICCIO_STACK_LIMIT), run first the
 *                                 threads whose blocking point has been followed by
 *                                 releasing it, last those followed by taking more,
 *                                 and let accept() wait (at most 200 ms) for room
 *   CAPRICCIO_VERBOSE=1           print the runtime configuration at start
 */
#ifndef CAPRICCIO_H
#define CAPRICCIO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cap_thread cap_thread_t;

/* ---- Threads ------------------------------------------------------------ */

enum cap_stack_mode {
	CAP_STACK_DEFAULT = 0, /* the process-wide mode (CAPRICCIO_STACK) */
	CAP_STACK_SPLIT = 1,   /* small first chunk, more linked on demand */
	CAP_STACK_FIXED = 2,   /* one mmap'd stack with a guard page */
};

typedef struct cap_spawn_opts {
	const char *name;   /* shown in diagnostics and the profiler; copied, at most 15 characters (as Linux thread names) */
	size_t stack_size;  /* split: first-chunk bytes; fixed: stack bytes; 0 = default */
	int stack_mode;     /* enum cap_stack_mode */
	int detached;       /* non-zero: resources freed at exit, cannot be joined */
} cap_spawn_opts_t;

/* Start fn(arg) on a new user thread.  opts may be NULL.  The new thread is
 * queued behind the runnable ones; the caller keeps running.  Returns NULL
 * with errno set (ENOMEM, EINVAL) on failure. */
cap_thread_t *cap_spawn(void *(*fn)(void *), void *arg, const cap_spawn_opts_t *opts);

/* Wait for t to finish and free it; *result receives its return value (may be
 * NULL).  Returns 0, or EINVAL (detached / already joined), EDEADLK (t is the
 * caller). */
int cap_join(cap_thread_t *t, void **result);

/* Let t free itself at exit.  Returns 0 or EINVAL. */
int cap_detach(cap_thread_t *t);

/* Finish the calling thread with `result`.  From main, the process goes on
 * until every other thread has finished, then exits with status 0. */
_Noreturn void cap_exit(void *result);

/* Move to the back of the run queue (returns at once if nobody else can run). */
void cap_yield(void);

/* Sleep for at least ns nanoseconds.  Returns 0 (or EINTR if interrupted
 * by a signal the program handles). */
int cap_sleep_ns(uint64_t ns);

cap_thread_t *cap_self(void);
uint64_t cap_id(const cap_thread_t *t);       /* 1 = main; never reused */
const char *cap_name(const cap_thread_t *t);
void cap_set_name(cap_thread_t *t, const char *name);

/* errno's address in the worker running the caller.  Programs built with
 * capcc use it without naming it: capcc's <errno.h> (capriccio/errno.h)
 * defines errno through it, so that errno is read where the thread runs
 * now, after a blocking call that may have moved it to another worker. */
int *cap_errno_location(void) __attribute__((pure));

/* CLOCK_MONOTONIC in nanoseconds; deadlines below are on this clock. */
uint64_t cap_now_ns(void);

/* ---- Synchronisation ----------------------------------------------------
 * Every object is usable when zero-initialised (static storage or {0}).
 * A deadline is an absolute cap_now_ns() time; 0 means wait forever.  Timed
 * operations return ETIMEDOUT when the deadline passes first.  Waiters are
 * woken in FIFO order.
 *
 * Layout.  The structures below are part of the ABI: programs embed them, and
 * the pthread shim lays pthread_rwlock_t and sem_t over cap_rwlock_t and
 * cap_sem_t (and its own mutex, condition variable and barrier over glibc's
 * types, with the same lock word).  Their sizes and field offsets are pinned
 * by runtime/src/abi.c; changing one breaks every program built against an
 * older header.  The fields belong to the runtime: use the calls.
 *
 * Lock word.  Each object with state of its own (mutex, condition variable,
 * semaphore, rwlock, channel) has a 32-bit `lock`, reserved for per-object
 * locking across worker kernel threads (M:N scheduling) so that it keeps
 * this layout.  Zero means unlocked, so zero-initialisation stays valid;
 * the init calls clear it.  Today one process-wide wait lock guards the
 * objects' state and queues, and only the pthread shim's mutex uses its
 * word: as its state (free, held, held with waiters), so that an
 * uncontended lock and unlock never take the wait lock.  A cap_waitq_t has no word of its own: inside these objects
 * their word guards it, and a standalone queue will be guarded by the
 * runtime by its address.  `spare` fields are zero and reserved; `prof`
 * fields are the profiler's (who holds a lock that made threads wait),
 * zero from the init calls and every initialiser. */

/* A wait queue: the primitive the others are built on. */
typedef struct cap_waitq {
	cap_thread_t *head, *tail;
} cap_waitq_t;
int cap_waitq_wait(cap_waitq_t *q, uint64_t deadline_ns);  /* 0 or ETIMEDOUT */
int cap_waitq_wake_one(cap_waitq_t *q);                   /* 1 if one was woken */
int cap_waitq_wake_all(cap_waitq_t *q);                   /* how many were woken */

/* Mutex: ownership passes directly to the first waiter on unlock. */
typedef struct cap_mutex {
	cap_thread_t *owner;
	uint32_t lock, prof;
	cap_waitq_t waiters;
} cap_mutex_t;
int cap_mutex_lock(cap_mutex_t *m);
int cap_mutex_timedlock(cap_mutex_t *m, uint64_t deadline_ns);
int cap_mutex_trylock(cap_mutex_t *m);   /* 0 or EBUSY */
int cap_mutex_unlock(cap_mutex_t *m);    /* EPERM if not the owner */

typedef struct cap_cond {
	cap_waitq_t waiters;
	uint32_t lock, spare;
} cap_cond_t;
int cap_cond_wait(cap_cond_t *c, cap_mutex_t *m);
int cap_cond_timedwait(cap_cond_t *c, cap_mutex_t *m, uint64_t deadline_ns);
int cap_cond_signal(cap_cond_t *c);
int cap_cond_broadcast(cap_cond_t *c);

/* Counting semaphore. */
typedef struct cap_sem {
	uint64_t count;
	cap_waitq_t waiters;
	uint32_t lock, prof;
} cap_sem_t;
void cap_sem_init(cap_sem_t *s, uint64_t count);
int cap_sem_wait(cap_sem_t *s);
int cap_sem_timedwait(cap_sem_t *s, uint64_t deadline_ns);
int cap_sem_trywait(cap_sem_t *s);       /* 0 or EAGAIN */
int cap_sem_post(cap_sem_t *s);

/* Readers-writer lock; writers are preferred once one is waiting. */
typedef struct cap_rwlock {
	uint32_t readers;         /* active readers */
	uint32_t writers_waiting;
	cap_thread_t *writer;     /* active writer */
	cap_waitq_t rq, wq;
	uint32_t prof;            /* also where glibc's writer-preference initialiser puts 2 (a slot it then does not own) */
	uint32_t lock;
} cap_rwlock_t;
int cap_rwlock_rdlock(cap_rwlock_t *l, uint64_t deadline_ns);
int cap_rwlock_wrlock(cap_rwlock_t *l, uint64_t deadline_ns);
int cap_rwlock_tryrdlock(cap_rwlock_t *l);
int cap_rwlock_trywrlock(cap_rwlock_t *l);
int cap_rwlock_unlock(cap_rwlock_t *l);

/* Bounded channel of pointers over a caller-provided ring of `capacity`
 * slots.  send blocks while full, recv while empty.  After close, send
 * returns EPIPE and recv drains what is left, then returns EPIPE. */
typedef struct cap_chan {
	void **ring;
	size_t capacity, head, count;
	int closed;
	uint32_t lock;
	cap_waitq_t senders, receivers;
} cap_chan_t;
void cap_chan_init(cap_chan_t *c, void **ring, size_t capacity);
int cap_chan_send(cap_chan_t *c, void *item, uint64_t deadline_ns);
int cap_chan_recv(cap_chan_t *c, void **item, uint64_t deadline_ns);
void cap_chan_close(cap_chan_t *c);

/* ---- Introspection ------------------------------------------------------ */

typedef struct cap_info {
	const char *disk_backend; /* "io_uring" or "threads" */
	const char *stack_mode;   /* "split" or "fixed" */
	size_t first_chunk_bytes; /* default first chunk (split mode) */
	size_t fixed_stack_bytes; /* default stack (fixed mode) */
	uint64_t threads;         /* live user threads */
	uint64_t runnable;        /* threads queued to run, on every worker */
	uint64_t sleeping;        /* threads in the timer heap */
	uint64_t io_waiting;      /* threads parked on epoll */
	uint64_t switches;        /* context switches so far, on every worker */
} cap_info_t;
void cap_get_info(cap_info_t *out);

/* The workers: kernel threads that run the user threads, each able to run
 * any of them (CAPRICCIO_WORKERS, else the CPUs the process may use).  A
 * thread may resume on another worker after any call that blocks. */
unsigned cap_workers(void);
/* The worker running the caller now, 0 .. cap_workers() - 1. */
unsigned cap_worker_id(void);
/* The calling thread runs on `worker` only from now on (it moves there
 * first); no idle worker takes it.  For work that must stay on one kernel
 * thread, and to measure the cost of waking across workers.  A program
 * with thread-locals of its own (__thread, thread_local) has every thread
 * bound to the worker it first runs on: a pointer to a thread-local stays
 * valid only in that worker's TLS block.  Returns 0, or EINVAL (no such
 * worker, or not called from a user thread). */
int cap_bind(unsigned worker);

#ifdef __cplusplus
}
#endif
#endif
