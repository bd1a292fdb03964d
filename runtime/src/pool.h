/* Helper kernel threads, for work that must block in the kernel without
 * stopping the worker: disk I/O where io_uring is unavailable, calls to
 * external functions annotated as blocking, file-lock waits, the resolver
 * and pclose.  The calling user thread parks until its job is done;
 * completions come back through an eventfd in the worker's epoll set. */
#ifndef CAP_POOL_H
#define CAP_POOL_H

#include "io.h"

#define CAP_JOB_UNBOUNDED 1 /* may wait without bound: gets a helper of its own */
#define CAP_JOB_INTR 2      /* a signal interrupts it as it would the system call (see cap__pool_run) */

struct cap_job {
	void (*run)(struct cap_job *); /* on a helper; must be split-stack code or asm */
	struct cap_thread *t;          /* who waits */
	volatile int done;
	int flags; /* CAP_JOB_*, set by the submitter */
	struct cap_job *next;
	/* CAP_JOB_INTR bookkeeping, under the pool's lock (pool_sys.c). */
	int state; /* 0 queued, 1 running, 2 finished */
	int tid;   /* the helper running it */
	bool interrupt, skipped; /* asked to stop; stopped before it ran */
};

/* Runs job->run on a helper and returns when it is done (the caller parks
 * meanwhile, with `why` as its wait reason).  Returns 0, or ENOSYS when no
 * helper could be started — then nothing ran.
 *
 * A CAP_JOB_UNBOUNDED job (a lock, a child, the network) never waits in the
 * queue behind busy helpers: a helper is started for it when none is idle,
 * so such jobs cannot hold up each other or disk I/O.
 *
 * A CAP_JOB_INTR job is interrupted like the system call it makes: when a
 * handler the program installed without SA_RESTART runs for the waiting
 * thread (signal.c wakes it with EINTR; `why` must be CAP_WAIT_IO), the
 * helper's system call is interrupted by CAP_SIG_HELPER and returns EINTR,
 * or job->run is skipped (job->skipped) if it had not started.  Either way
 * this returns once the helper is done with the job. */
int cap__pool_run(struct cap_job *job, enum cap_wait_reason why);

/* Runs cap__sysfn[op](arg) — libc code that may wait without bound — on a
 * helper (an unbounded job), the caller's errno going there and back.
 * Outside user threads, or with no helper to be had, it runs on the system
 * stack instead, stopping the worker. */
void cap__pool_call(enum cap_sysfn op, void *arg, enum cap_wait_reason why);

void cap__pool_complete(struct cap_worker *w);

/* The signal that interrupts a helper's system call (glibc's internal
 * SIGCANCEL: programs cannot install or block it, and nothing in the
 * runtime's process cancels a thread with it). */
#define CAP_SIG_HELPER 32

/* pool_sys.c (system stack) */
void cap__pool_start_sys(void *ok);   /* int *: 1 when running */
void cap__pool_submit_sys(void *job);
void cap__pool_interrupt_sys(void *job);
void cap__pool_reap_sys(void *w);
void cap__pool_forget_sys(void *unused); /* after fork, in the child */

#endif
