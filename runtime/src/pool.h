/* Helper kernel threads, for work that must block in the kernel without
 * stopping the worker: disk I/O where io_uring is unavailable, calls to
 * external functions annotated as blocking, file-lock waits, the resolver
 * and pclose.  The calling user thread parks until its job is done;
 * completions come back through an eventfd in the worker's epoll set.
 *
 * A job that may wait without bound never waits for another: such a job
 * gets a helper of its own when none is idle (as each pthread would have
 * its own kernel thread), so one blocking call cannot hold up the call that
 * would end it, nor disk I/O. */
#ifndef CAP_POOL_H
#define CAP_POOL_H

#include "io.h"

/* A helper's stack: an annotated call that is both blocking and given
 * stackBytes runs on it (bin/annotations.mjs allows up to this much). */
#define CAP_HELPER_STACK_BYTES (8u << 20)
/* The runtime's signals that end a helper's system call, with and without
 * SA_RESTART, so that the kernel decides, call by call, between EINTR and a
 * restart (SIGRTMAX - 3 is the sampler's: telemetry_sys.c).  Functions of
 * the C library: for pool_sys.c only. */
#define CAP_INTERRUPT_SIGNAL (SIGRTMAX - 4)
#define CAP_INTERRUPT_RESTART_SIGNAL (SIGRTMAX - 5)

#define CAP_JOB_UNBOUNDED 1 /* may wait without bound: gets a helper of its own */
#define CAP_JOB_INTR 2      /* a signal interrupts it as it would the system call (see cap__pool_run) */

struct cap_job {
	void (*run)(struct cap_job *); /* on a helper: split-stack code, asm, or a *_sys.c function named only there */
	struct cap_thread *t;          /* who waits */
	volatile int done;
	int flags; /* CAP_JOB_*, set by the submitter */
	struct cap_job *next;
	/* Interruption bookkeeping, under the pool's lock (pool_sys.c). */
	int state; /* 0 queued, 1 running, 2 finished */
	int tid;   /* the helper running it */
	bool interrupt, skipped; /* a CAP_JOB_INTR job asked to stop; stopped before it ran */
	/* The waiting thread's handler_runs and intr_runs when last looked at,
	 * under the wait lock (cap__pool_handlers_ran). */
	uint32_t seen_runs, seen_intr;
};

/* Runs job->run on a helper and returns when it is done (the caller parks
 * meanwhile, with `why` as its wait reason).  Returns 0, or -ENOSYS when no
 * helper could be started — then nothing ran.
 *
 * A CAP_JOB_INTR job is interrupted like the system call it makes: when a
 * handler the program installed without SA_RESTART runs for the waiting
 * thread (signal.c wakes it with -EINTR; `why` must be CAP_WAIT_IO), the
 * helper's system call is interrupted and returns EINTR — the signal is
 * sent again until the job ends, as it may land before the helper enters
 * its call — or job->run is skipped (job->skipped) if it had not started.
 * Either way this returns once the helper is done with the job. */
int cap__pool_run(struct cap_job *job, enum cap_wait_reason why);

/* Runs cap__sysfn[op](arg) — libc code that may wait without bound — on a
 * helper (an unbounded job), the caller's errno going there and back.
 * Outside user threads, or with no helper to be had, it runs on the system
 * stack instead, stopping the worker. */
void cap__pool_call(enum cap_sysfn op, void *arg, enum cap_wait_reason why);

void cap__pool_complete(struct cap_worker *w);

/* Sends the runtime's interruption signal (whose handler has SA_RESTART
 * when `restart`) to the helper running `job`.  Nothing happens when no
 * helper runs it yet or any more. */
void cap__pool_interrupt(struct cap_job *job, bool restart);

/* Under the wait lock, for a job waited on as CAP_WAIT_EXTERN (an annotated
 * call, System V IPC): if handlers ran for the waiting thread since the job
 * was submitted or last looked at, its call is interrupted on the helper as
 * the signal would have interrupted it on the caller's own kernel thread —
 * with SA_RESTART when every one of them had it.  Looked at by the caller
 * before it parks and by signal delivery after, as with several workers
 * a handler can run for it (on another worker) between the two. */
void cap__pool_handlers_ran(struct cap_job *job);

/* pool_sys.c (system stack) */
void cap__pool_start_sys(void *ok);   /* int *: 1 when running */
void cap__pool_submit_sys(void *job);
void cap__pool_reap_sys(void *w);
void cap__pool_forget_sys(void *unused); /* after fork, in the child */
void cap__pool_interrupt_sys(void *arg); /* struct cap_pool_interrupt * */
struct cap_pool_interrupt {
	struct cap_job *job;
	bool restart;
};

#endif
