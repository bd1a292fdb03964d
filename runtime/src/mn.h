/* M:N scheduling: N worker kernel threads run the user threads (issue 14).
 * Models: Go's runtime/proc.go (Ps, runnext, runqsteal, the global queue,
 * spinning and parked Ms, the netpoller) and Tokio's multi-thread
 * scheduler (LIFO slot, injection queue, searching workers).
 *
 * Workers.  CAPRICCIO_WORKERS=N, else the CPUs the process may use: the
 * sched_getaffinity mask, capped by a cgroup v2 cpu.max quota, at least 1
 * (mn_sys.c).  Worker 0 is the kernel thread that ran main(); workers
 * 1..N-1 are glibc threads that run the same loop (worker.c).
 *
 * Run queues (runq.h).  Per worker: Go's bounded ring (its worker pushes;
 * it and thieves take by CAS), a run-next slot in front, and the
 * injection queue (cap__mn.inject, spinlocked) for a ring's overflow and
 * for threads made runnable outside any worker.  Every 61st dispatch looks
 * at the injection queue and the poller first (sched.c: cap__pick_slow).
 * The resource-aware policy keeps one process-wide queue under its lock.
 *
 * Waking.  A woken thread goes to the waker's worker (its cache holds
 * what the thread will touch; no other worker's queue is written), into
 * the run-next slot for a user thread's single wake; a spawned thread
 * takes the slot too, until a woken one wants it.  Then, if a thread went
 * into the ring (where a thief may take it at once), no worker is spinning
 * and one is parked, one is woken (cap__mn_wakep: no fence, as work on the
 * waker's own queue is never lost, only run by the waker).  A thread only
 * in the slot wakes nobody, as in Tokio's LIFO slot: its queuer is about
 * to wait (spawn then join, wake then wait), and waking a worker for it
 * kept the other one spinning (a spawn and join took 320-370 ns on two
 * workers, 145 on one).  For a queuer that computes on instead, the
 * poller looks every CAP_LOOK_NS (10 ms) while a worker runs, and takes
 * the slot's thread from one that has not switched (cap__mn_watch_next);
 * with none polling, the queuer wakes one (cap__mn_should_wake), and a
 * poller that stops polling wakes one for a slot's thread it saw.  A
 * thread bound to its worker goes where no other looks (runq.h).
 *
 * Stealing and parking (mn.c).  A worker with nothing to run looks at its
 * inbox, its queue, the injection queue, polls epoll without blocking if
 * nobody does, then steals half of a random victim's ring.  Then it spins
 * for up to 20 us unless every other worker is parked or polling (then
 * only the poller can make work), taking a victim's run-next thread if
 * the victim has not switched for a quarter of that.  It gives up its CPU
 * between looks (sched_yield): on cores of its own that returns at once,
 * but where the load generator or another program shares them, that work
 * runs rather than a spin (measured on 2 cores shared with wrk: knot
 * served 7% more than with a pause loop).  Then it becomes the
 * poller if none is (the one worker that waits in epoll_wait, for
 * descriptors, the earliest deadline, completions, signals and kicks),
 * else it parks on a futex word of its own.  Before parking it announces
 * itself and looks again; work queued where its queuer will not run it
 * (the injection queue, an inbox) is fenced before the look at the idle
 * workers (Dekker), so such a wake is never lost.  The poller is kicked
 * (an eventfd in the set) for a deadline earlier than it waits for and
 * for work when no worker is parked on its futex.
 *
 * The wait lock (cap__mn.lock, lock.h).  Every wait queue, every blocked
 * thread's state and wait fields, the timer heap, the thread list and the
 * descriptor table's waiters are under one lock.  A thread parks under it
 * and keeps it across its switch; the context switched to releases it
 * (sched.c: cap__post_switch), so a waker on another worker finds the
 * thread either not yet parked or with its registers saved.  A thread that
 * yields is queued by the context switched to, for the same reason.  One
 * lock is the simplest correct design and costs little on 2 to 4 cores;
 * on many it is the first contention point, and the sync objects' lock
 * words (capriccio.h) are where per-object locks go next.  The poller
 * takes it once per 16 ready descriptors; the pthread mutex, only to wait
 * or to hand itself to a waiter (posix_thread.c: its word is its state).
 *
 * I/O.  One epoll instance for the process (descriptors are the
 * process's).  An edge that comes while nobody waits is remembered per
 * descriptor (io.c: rready/wready), since it may come between a thread's
 * EAGAIN and its park, on another worker's poll.  A read that found a
 * TCP socket or a pipe empty is not repeated before its next edge (io.c).
 * Disk I/O has one io_uring ring for the process, submitted and reaped
 * under the wait lock.
 *
 * What follows a thread to another worker: errno (saved per switch;
 * capcc's <errno.h> asks for its address after every call, as glibc's
 * const __errno_location would let gcc keep the old worker's), the split-
 * stack guard and libgcc's state (per switch), its signal mask (loaded
 * into the new worker's kernel thread), and the program's thread-locals'
 * values (tls.c copies them per switch).  Not a pointer to a thread-local:
 * it points into one worker's TLS block, so a program with thread-locals
 * has each thread bound to the worker it first runs on (CAP_F_BOUND: wakes
 * go to that worker's inbox, thieves pass it back); cap_bind binds one.
 *
 * Signals.  Each worker's kernel thread has its running thread's mask, so
 * the kernel gives a process signal to a worker whose thread accepts it,
 * and the trampoline routes it from there (sigstate.h) through that
 * worker's eventfd; an idle worker lets through what some live thread
 * accepts, computed as it goes idle, and a signal that reaches it after
 * the last such thread ended or blocked it goes back to the process's
 * pending set (signal_sys.c).  Faults (SIGSEGV, SIGBUS, ...) are never
 * blocked.
 *
 * fork.  The child has one kernel thread, the forking worker: it becomes
 * worker 0 and the only one, and takes every queued thread (fork.c).
 * Threads that were running on other workers are not in the child, as
 * POSIX keeps only the forking thread.
 *
 * Checks.  `make -C runtime checked` builds the runtime and its tests with
 * CAP_CHECKED: no thread switched to while it runs on another worker, no
 * bound thread run off its worker or put where thieves take, the wait
 * lock held where waits and wakes need it (internal.h: CAP_CHECK).
 * ThreadSanitizer cannot run here: it initialises by calling
 * pthread_key_create, which the runtime replaces process-wide (it crashed
 * there), its interceptors would never see the program's pthread calls,
 * and its calls from every instrumented access are not split-stack code.
 *
 * Not yet: per-object locks (above), io_uring rings per worker. */
#ifndef CAP_MN_H
#define CAP_MN_H

#include "internal.h"
#include "lock.h"

#include <signal.h>

#define CAP_MAX_WORKERS 256

/* Signals the kernel sends to the thread that faulted: a worker never
 * blocks them (a blocked one kills the process without its handler). */
#define CAP_SYNC_SIGNALS \
	((1ull << (SIGSEGV - 1)) | (1ull << (SIGBUS - 1)) | (1ull << (SIGILL - 1)) | (1ull << (SIGFPE - 1)) | \
	 (1ull << (SIGTRAP - 1)))

/* What the workers share.  `lock` (the wait lock) guards every wait queue,
 * every blocked thread's state and wait fields, the timer heap, the
 * thread list and the descriptor table's waiters: a thread parks and is
 * woken under it, which is what makes a wake from another worker safe.
 * It is process-wide for now (mn.h's plan: per-object locks next, the
 * lock words are in the ABI already); it is never held across a switch
 * but as cap__block's handoff. */
struct cap_mn {
	struct cap_lock lock __attribute__((aligned(64)));
#ifdef CAP_CHECKED
	void *_Atomic lock_holder; /* cap__mn_check_held */
#endif
	struct cap_heap timers;        /* timer.c */
	struct cap_thread *all;        /* every live thread */
	uint64_t nthreads;
	struct cap_thread *main_thread;
	_Atomic uint32_t io_waiters;   /* threads parked on epoll: counted up under the lock, down without it */
	uint64_t next_id;
	/* Threads made runnable with no worker's ring to take them: a ring's
	 * overflow, a forked child's, the ones from outside a worker. */
	struct cap_lock inject_lock __attribute__((aligned(64)));
	struct cap_fifo inject;
	_Atomic uint32_t ninject;
	/* The resource-aware policy's one queue (runq.h). */
	struct cap_lock res_lock __attribute__((aligned(64)));
	struct cap_runq_res res;
	/* Idle workers (mn.c). */
	struct cap_lock idle_lock __attribute__((aligned(64)));
	struct cap_worker *idle;       /* parked on their futex word */
	_Atomic uint32_t nidle, nspinning;
	_Atomic uint32_t poller;       /* id + 1 of the worker waiting in epoll; 0: none */
	_Atomic uint64_t poll_until;   /* the deadline it waits until; UINT64_MAX: none */
	_Atomic uint32_t kicked;       /* the kick eventfd was written and not read yet */
	int kick_fd;
	_Atomic uint32_t inflight;     /* disk requests and helper jobs not completed */
	_Atomic uint32_t exiting;      /* no thread left (or a deadlock): workers return */
	uint32_t n;                    /* workers running */
	struct cap_worker *workers[CAP_MAX_WORKERS];
};
extern struct cap_mn cap__mn;

/* The default once N>1 is complete: cap__mn_cpus(). */
extern uint32_t cap__mn_default;

/* The default count: the affinity mask, capped by a cgroup v2 cpu.max
 * quota, at least 1 (mn_sys.c; runs on the system stack). */
uint32_t cap__mn_cpus(void);
/* Reads CAPRICCIO_WORKERS and starts workers 1..N-1 (mn_sys.c). */
void cap__mn_start(void *w0);

/* mn.c */
/* Takes cap__mn.lock; cap__mn_unlock also wakes an idle worker for work
 * queued meanwhile. */
/* The worker (cap__w's value, not its address: a user thread that moved
 * to another worker in the same function would have gcc reuse the old
 * kernel thread's TLS address). */
static inline void *cap__lock_holder_me(void)
{
	struct cap_worker *w = cap__w;
	return w ? (void *)w : (void *)1;
}
static inline void cap__mn_lock(void)
{
	cap__lock_take(&cap__mn.lock);
#ifdef CAP_CHECKED
	atomic_store_explicit(&cap__mn.lock_holder, cap__lock_holder_me(), memory_order_relaxed);
#endif
}
/* Checked build: the calling worker holds cap__mn.lock (a thread that
 * blocks holds it across its switch, on the same worker).  A kernel
 * thread that is no worker counts as one holder, 1. */
static inline void cap__mn_check_held(void)
{
	CAP_CHECK(atomic_load_explicit(&cap__mn.lock_holder, memory_order_relaxed) == cap__lock_holder_me(),
		  "the wait lock is not held where it must be");
}
void cap__mn_wakep(void);
/* Work was queued on the caller's worker: must an idle worker be woken?
 * Yes when it went where a thief may take it at once (`stealable`: the
 * ring).  A thread only in the run-next slot wakes nobody while the poller
 * looks at the slots now and then (mn.c: CAP_LOOK_NS); with none polling,
 * nobody would look, so one is woken. */
static inline bool cap__mn_should_wake(bool stealable)
{
	return stealable || !atomic_load_explicit(&cap__mn.poller, memory_order_relaxed);
}
/* v has a thread in its inbox, or must look at its signal mask again: if
 * it sleeps, wake it; if it polls, kick it.  Its fence orders what was
 * queued before the look at the idle workers, against parking's
 * announcement before its last look (Dekker). */
void cap__mn_nudge(struct cap_worker *v);
static inline void cap__mn_unlock(struct cap_worker *w)
{
#ifdef CAP_CHECKED
	cap__mn_check_held();
	atomic_store_explicit(&cap__mn.lock_holder, NULL, memory_order_relaxed);
#endif
	cap__lock_give(&cap__mn.lock);
	if (CAP_UNLIKELY(w && w->wakep)) {
		w->wakep = false;
		cap__mn_wakep();
	}
}
/* `return cap__mn_unlock_ret(v)`: releases, then returns v. */
static inline int cap__mn_unlock_ret(int v)
{
	cap__mn_unlock(cap__w);
	return v;
}
/* A thread to run from elsewhere: the injection queue, then other workers'
 * queues.  NULL: none. */
struct cap_thread *cap__mn_find(struct cap_worker *w);
struct cap_thread *cap__mn_inject_get(struct cap_worker *w);
void cap__mn_inject(struct cap_thread *t);
/* Nothing to run: spin a little, then wait in the kernel (in epoll if no
 * other worker does) until work may be there.  Returns to search again. */
void cap__mn_idle(struct cap_worker *w);
/* Every worker returns from its loop: no thread is left. */
void cap__mn_exit_all(void);
/* The poller must look again: a deadline earlier than the one it waits
 * for, or work it should take. */
void cap__mn_kick(void);
/* t is bound to a worker other than w: queue it in that worker's inbox
 * and wake the worker if it idles. */
void cap__mn_send(struct cap_thread *t);
/* w's inbox, taken: the first thread (NULL: empty), the rest onto its queue. */
struct cap_thread *cap__mn_inbox_take(struct cap_worker *w);

/* t's owner becomes w (a wake or a steal): the per-worker counts. */
static inline void cap__mn_own(struct cap_worker *w, struct cap_thread *t)
{
	struct cap_worker *o = t->owner;
	if (o == w)
		return;
	atomic_fetch_add_explicit(&w->stats.threads, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&w->stats.migrations, 1, memory_order_relaxed);
	if (o)
		atomic_fetch_sub_explicit(&o->stats.threads, 1, memory_order_relaxed);
	t->owner = w;
}

#endif
