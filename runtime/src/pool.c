/* The helper pool, seen from a user thread (pool.h). */
#include "pool.h"
#include "mn.h"
#include "sigstate.h"

#include <errno.h>

#define CAP_INTERRUPT_RETRY_NS 1000000ull /* resend while the helper has not reached its system call */

int cap__pool_run(struct cap_job *job, enum cap_wait_reason why)
{
	struct cap_worker *w = cap__w;
	int ok = 0;
	cap__on_sysstack(CAP_SYSFN_POOL_START, &ok);
	if (!ok)
		return -ENOSYS;
	bool intr = job->flags & CAP_JOB_INTR, interrupted = false;
	uint32_t since = intr ? cap__intr_begin() : 0;
	job->t = w->current;
	job->done = 0;
	job->state = 0;
	job->interrupt = job->skipped = false;
	job->seen_runs = __atomic_load_n(&job->t->handler_runs, __ATOMIC_RELAXED);
	job->seen_intr = __atomic_load_n(&job->t->intr_runs, __ATOMIC_RELAXED);
	cap__on_sysstack(CAP_SYSFN_POOL_SUBMIT, job);
	atomic_fetch_add(&cap__mn.inflight, 1);
	cap__mn_lock();
	while (!job->done) {
		if (why == CAP_WAIT_EXTERN)
			cap__pool_handlers_ran(job);
		if (intr && !interrupted && cap__intr_since(since))
			interrupted = true; /* a handler ran before the caller parked */
		/* The signal may land before the helper enters its system call
		 * (then the call would still block): send it until the job ends. */
		if (interrupted) {
			cap__mn_unlock(cap__w);
			cap__pool_interrupt(job, false);
			cap__mn_lock();
			if (job->done)
				break;
		}
		uint64_t deadline = interrupted ? cap__mono_ns() + CAP_INTERRUPT_RETRY_NS : 0;
		if (cap__block(NULL, deadline, why, job) == -EINTR && intr)
			interrupted = true;
		cap__mn_lock();
	}
	cap__mn_unlock(cap__w);
	atomic_fetch_sub(&cap__mn.inflight, 1);
	return 0;
}

struct cap_call_job {
	struct cap_job job;
	enum cap_sysfn op;
	void *arg;
	int err;
};

/* On the helper: errno there is the helper's own. */
static void cap__call_job_run(struct cap_job *j)
{
	struct cap_call_job *c = (struct cap_call_job *)j;
	*cap__errno() = c->err;
	cap__sysfn[c->op](c->arg);
	c->err = *cap__errno();
}

void cap__pool_call(enum cap_sysfn op, void *arg, enum cap_wait_reason why)
{
	if (cap__can_park()) {
		struct cap_call_job c = { .job.run = cap__call_job_run, .job.flags = CAP_JOB_UNBOUNDED, .op = op, .arg = arg };
		c.err = *cap__errno();
		if (cap__pool_run(&c.job, why) == 0) {
			*cap__errno() = c.err;
			return;
		}
	}
	cap__on_sysstack(op, arg);
}

void cap__pool_complete(struct cap_worker *w) { cap__on_sysstack(CAP_SYSFN_POOL_REAP, w); }

void cap__pool_handlers_ran(struct cap_job *job)
{
	uint32_t runs = __atomic_load_n(&job->t->handler_runs, __ATOMIC_RELAXED);
	uint32_t intr = __atomic_load_n(&job->t->intr_runs, __ATOMIC_RELAXED);
	if (runs == job->seen_runs)
		return;
	bool restart = intr == job->seen_intr;
	job->seen_runs = runs;
	job->seen_intr = intr;
	cap__pool_interrupt(job, restart);
}

void cap__pool_interrupt(struct cap_job *job, bool restart)
{
	struct cap_pool_interrupt a = { job, restart };
	cap__on_sysstack(CAP_SYSFN_POOL_INTERRUPT, &a);
}
