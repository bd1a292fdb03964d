/* Helper kernel threads, for work that must block in the kernel without
 * stopping the worker: disk I/O where io_uring is unavailable, and calls
 * to external functions annotated as blocking.  The calling user thread
 * parks until its job is done; completions come back through an eventfd in
 * the worker's epoll set. */
#ifndef CAP_POOL_H
#define CAP_POOL_H

#include "io.h"

struct cap_job {
	void (*run)(struct cap_job *); /* on a helper: split-stack code, asm, or a *_sys.c function named only there */
	struct cap_thread *t;          /* who waits */
	volatile int done;
	struct cap_job *next;
};

/* Runs job->run on a helper and returns when it is done (the caller parks
 * meanwhile).  Returns 0, or ENOSYS when no helper could be started — then
 * nothing ran. */
int cap__pool_run(struct cap_job *job, enum cap_wait_reason why);
void cap__pool_complete(struct cap_worker *w);

/* pool_sys.c (system stack) */
void cap__pool_start_sys(void *ok);   /* int *: 1 when running */
void cap__pool_submit_sys(void *job);
void cap__pool_reap_sys(void *w);
void cap__pool_forget_sys(void *unused); /* after fork, in the child */

#endif
