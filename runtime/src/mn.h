/* M:N scheduling (issue 14): N worker kernel threads run the user threads.
 *
 * THE PLAN.  What is marked (done) exists on this branch; the rest is the
 * design the following steps implement, in the order of the list.  Models:
 * Go's runtime/proc.go (Ps, runnext, runqsteal, the global queue,
 * spinning and parked Ms, the netpoller) and Tokio's multi-thread
 * scheduler (LIFO slot, injection queue, "searching" workers).
 *
 * Workers (done: count and start).  CAPRICCIO_WORKERS=N, else the CPUs the
 * process may use: the sched_getaffinity mask, capped by a cgroup v2
 * cpu.max quota (ceil(quota/period)), at least 1.  The EFFECTIVE default
 * stays 1 until every item below works with N>1; N>1 starts N-1 more
 * kernel threads (glibc's pthread_create, all signals blocked) that each
 * build a struct cap_worker of their own, cap__workers[i].  Worker 0 is the
 * kernel thread that ran main(); it alone receives process signals.
 *
 * Run queues.  Each worker keeps its cap_runq (runq.h), owned: only its
 * worker pushes and pops at the head without a lock... except that a
 * thief takes from it, so the FIFO becomes a bounded lock-free ring of 256
 * (Go's runq: head advanced by CAS by owner and thieves, tail stored only
 * by the owner) with the list behind it as overflow; the resource-aware
 * queues (policy.c) keep a per-queue spinlock, since they are ordered by
 * resource and a ring cannot express that.
 *
 * runnext (done, runq.h).  One slot per worker, filled by a single wake
 * from a thread running on that worker (the woken thread runs next, as
 * Go's runnext); never by the poller's wakes (I/O, timers, signals,
 * completions), even when the poll runs on a user thread's stack: those
 * queue in event order, as Go queues netpoll results (sched.c's
 * w->polling; without it test_echo's server acted on SIGTERM before EOFs
 * it had already seen).  Bounded: after 64 dispatches in a row from the
 * slot the queue head runs first, so a ping-pong pair cannot starve the
 * queue.  This is what fixes the pool server's acceptor (issue 14: it
 * waited behind every runnable connection thread).
 *
 * Global injection queue.  A spinlocked FIFO (cap__mn.inject) for threads
 * made runnable from outside any worker (the telemetry thread, helpers'
 * completions) and for a queue's overflow.  Every 61 dispatches a worker
 * takes one from it first (Go's schedtick % 61), so it cannot starve.
 *
 * Waking across workers.  cap__ready(t) from a worker w: t->owner = w and
 * push to w's runnext/queue (the waker's worker: its cache is warm with
 * what t will touch, and no remote lock is taken); then if a worker is
 * parked and none is spinning, wake one (below).  The owner thus changes
 * on every cross-worker wake and on every steal: "owner" means the worker
 * whose queue holds it, or that runs it, or (blocked) that last ran it;
 * a blocked thread's deadline sits in its owner's timer heap, which the
 * waker must lock (timer heap gets a spinlock; it is touched once per
 * timed wait, never per switch).
 *
 * Stealing.  An idle worker first checks its runnext, its queue, the
 * global queue, polls the netpoller without blocking, then becomes
 * "spinning" (at most N/2 spin at once, as Go limits them) and steals half
 * of a random victim's ring (runqsteal), the victim's runnext last and only
 * after ~3 us, since the victim is likely about to run it.  Counted in the
 * worker's `steals` and the stolen threads' `migrations` (telemetry
 * branch's per-worker counters).
 *
 * Parking.  A worker that found nothing after spinning ~50 us parks: it
 * decrements cap__mn.spinning, pushes itself on the idle stack, re-checks
 * every queue (to close the lost-wake-up window, as Go's stopm/wakep
 * re-check), and waits on a futex word of its own (FUTEX_WAIT_PRIVATE), or,
 * if it is the netpoller's owner, in epoll_wait with the eventfd kick.  A
 * waker that makes work runnable calls cap__mn_wakep(): if nobody spins
 * and a worker is parked, pop one and FUTEX_WAKE it.  No core burns with
 * nothing to run: a parked worker sleeps in the kernel until kicked.
 *
 * Netpoller.  One epoll instance, process-wide (the fd table is already
 * process-wide): descriptors are the process's, and a per-worker set would
 * have to move registrations whenever a thread migrates.  Any worker may
 * poll it without blocking (epoll_wait is thread-safe); only one blocks in
 * it at a time (cap__mn.poller, Go's netpoll "sched.lastpoll"), woken by an
 * eventfd in the set when work arrives for a worker that sleeps there.
 * Readiness wakes the waiting thread onto the polling worker's queue.
 * io_uring rings stay per worker (a ring is single-issuer), each with its
 * completion eventfd in the shared epoll set; a completion wakes the
 * thread wherever it now is.  To measure: shared vs per-worker epoll.
 *
 * Timers.  Per worker (ctx.h's heap), locked as above; a worker that
 * parks computes its wait from its own heap, and the poller's epoll
 * timeout from the earliest of all parked workers' deadlines (each parked
 * worker without the poller sleeps on its futex with its own deadline).
 *
 * The sync objects' `lock` word (include/capriccio.h).  A test-and-set
 * spinlock with pause (held for a few instructions: the check, the wait
 * queue link, never across a switch).  A thread that must wait links
 * itself into the wait queue under the lock and parks with
 * cap__block_unlock(), which releases the lock on the scheduler's side,
 * after the thread's context is saved (Go's gopark(unlockf)): a waker that
 * takes the lock then finds it either still running (not yet queued) or
 * fully parked, never half-switched.  A futex is wrong here: a waiting
 * holder would block the whole worker.  The pthread shim's objects
 * (posix_thread.c) embed cap_* objects and inherit this; join/detach use
 * a spinlock word in struct cap_thread (the state/joiner handshake).
 * Debug builds assert, per switch, that the thread's `on_cpu` word was 0
 * (atomic exchange): no thread runs on two workers at once.
 *
 * A thread that migrates takes along: its TLS copy (tls.c copies the
 * program's thread-locals out of the old kernel thread's block at switch
 * out and into the new one's at switch in: cap__tls_switch already does
 * that per switch, with the worker's tls_live); errno (saved_errno in
 * struct cap_thread, restored through the new worker's errno_ptr); the
 * split-stack guard (%fs:0x70 is in the TCB of each kernel thread:
 * switch.S saves it into cap_ctx.guard and loads it into the new
 * kernel thread's TCB, so it follows the thread), and libgcc's
 * __morestack_* state (saved/restored per switch, per kernel thread).
 * Its signal mask is loaded into the new worker's kernel mask on switch.
 *
 * Thread list, ids, counts: cap__mn.all under a spinlock (spawn/exit only),
 * thread ids from an atomic counter, nthreads atomic; the deadlock report
 * runs only when every worker is parked with no I/O, timers or jobs.
 * Stacks: freed into the freeing worker's caches (stack.c is per worker
 * already); a detached thread's stack is freed by the next thread to run
 * on the worker where it exited (w->zombie), as now.
 *
 * Signals.  Process-directed signals are delivered to worker 0 only (the
 * others block all); it routes each to the right user thread as now
 * (sigstate.h), waking it across workers through cap__ready.
 * pthread_kill to a thread running on another worker marks sigpend and
 * tgkill()s that worker's kernel thread.
 *
 * fork.  The child has one kernel thread: the forking worker.  Its after-
 * fork code makes it worker 0, moves every other worker's runnable and
 * blocked threads onto it (their stacks are in the child's memory), and
 * sets the worker count to 1 (the issue: "the child continues with one
 * worker").
 *
 * The stall watchdog then reports per worker: each worker's `switches`
 * and a "in an external call since" stamp, read by the telemetry thread. */
#ifndef CAP_MN_H
#define CAP_MN_H

#include "internal.h"
#include "lock.h"

#define CAP_MAX_WORKERS 256

/* What the workers share.  `lock` (the wait lock) guards every wait queue,
 * every blocked thread's state and wait fields, the timer heap, the
 * thread list and the descriptor table's waiters: a thread parks and is
 * woken under it, which is what makes a wake from another worker safe.
 * It is process-wide for now (mn.h's plan: per-object locks next, the
 * lock words are in the ABI already); it is never held across a switch
 * but as cap__block's handoff. */
struct cap_mn {
	struct cap_lock lock __attribute__((aligned(64)));
	struct cap_heap timers;        /* timer.c */
	struct cap_thread *all;        /* every live thread */
	uint64_t nthreads;
	struct cap_thread *main_thread;
	uint32_t io_waiters;           /* threads parked on epoll */
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
static inline void cap__mn_lock(void) { cap__lock_take(&cap__mn.lock); }
void cap__mn_wakep(void);
static inline void cap__mn_unlock(struct cap_worker *w)
{
	cap__lock_give(&cap__mn.lock);
	if (CAP_UNLIKELY(w && w->wakep)) {
		w->wakep = false;
		cap__mn_wakep();
	}
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
