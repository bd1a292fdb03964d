/* Helper kernel threads, for work that must block in the kernel without
 * stopping the worker: disk I/O where io_uring is unavailable, and calls
 * to external functions annotated as blocking.  The calling user thread
 * parks until its job is done; completions come back through an eventfd in
 * the worker's epoll set.  A job never waits for another: when every helper
 * is busy, another is started (as each pthread would have its own kernel
 * thread), so one blocking call cannot hold up the call that would end it. */
#ifndef CAP_POOL_H
#define CAP_POOL_H

#include "io.h"

/* A helper's stack: an annotated call that is both blocking and given
 * stackBytes runs on it (bin/annotations.mjs allows up to this much). */
#define CAP_HELPER_STACK_BYTES (8u << 20)
/* The runtime's signals that end a helper's system call, with and without
 * SA_RESTART (SIGRTMAX - 3 is the sampler's: telemetry_sys.c).  Functions
 * of the C library: for pool_sys.c only. */
#define CAP_INTERRUPT_SIGNAL (SIGRTMAX - 4)
#define CAP_INTERRUPT_RESTART_SIGNAL (SIGRTMAX - 5)

struct cap_job {
	void (*run)(struct cap_job *); /* on a helper; must be split-stack code or asm */
	struct cap_thread *t;          /* who waits */
	volatile int done;
	struct cap_job *next;
	int helper; /* the helper's thread id while it runs the job, else 0 (under the pool's lock) */
};

/* Runs job->run on a helper and returns when it is done (the caller parks
 * meanwhile).  Returns 0, or ENOSYS when no helper could be started — then
 * nothing ran. */
int cap__pool_run(struct cap_job *job, enum cap_wait_reason why);
void cap__pool_complete(struct cap_worker *w);

/* A signal handler ran for the thread waiting on `job`: its call is
 * interrupted on the helper as the signal would have interrupted it on the
 * caller's own kernel thread, by a signal of the runtime's whose handler
 * has SA_RESTART when `restart` — so the kernel decides, call by call,
 * between EINTR and a restart.  Nothing happens when no helper runs the
 * job yet (the handler ran before the call began) or any more. */
void cap__pool_interrupt(struct cap_job *job, bool restart);

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
