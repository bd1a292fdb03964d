/* The helper pool, seen from a user thread (pool.h). */
#include "pool.h"

#include <errno.h>

int cap__pool_run(struct cap_job *job, enum cap_wait_reason why)
{
	struct cap_worker *w = cap__w;
	int ok = 0;
	cap__on_sysstack(CAP_SYSFN_POOL_START, &ok);
	if (!ok)
		return ENOSYS;
	job->t = w->current;
	job->done = 0;
	job->helper = 0;
	cap__on_sysstack(CAP_SYSFN_POOL_SUBMIT, job);
	w->inflight++;
	while (!job->done)
		cap__block(NULL, 0, why, job);
	w->inflight--;
	return 0;
}

void cap__pool_complete(struct cap_worker *w) { cap__on_sysstack(CAP_SYSFN_POOL_REAP, w); }

void cap__pool_interrupt(struct cap_job *job, bool restart)
{
	struct cap_pool_interrupt a = { job, restart };
	cap__on_sysstack(CAP_SYSFN_POOL_INTERRUPT, &a);
}
