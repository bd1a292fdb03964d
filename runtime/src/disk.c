/* Regular-file I/O without stalling the worker.  A read first tries the page
 * cache (RWF_NOWAIT, in posix_io.c); only a miss, a write that would block,
 * or fsync comes here.  The request goes to io_uring — or, where io_uring
 * cannot be set up, to a pool of helper kernel threads — and the thread
 * parks until the completion arrives through an eventfd in the epoll set. */
#include "disk.h"
#include "pool.h"
#include "mn.h"
#include "tls.h"

#include <errno.h>
#include <stdlib.h>

enum cap_disk_backend cap__disk_backend;
static bool cap__disk_tried;

static void cap__disk_start(void)
{
	if (!cap__disk_tried) {
		cap__disk_tried = true;
		cap__on_sysstack(CAP_SYSFN_DISK_SETUP, NULL);
	}
}

const char *cap__disk_backend_name(void)
{
	cap__disk_start();
	return cap__disk_backend == CAP_DISK_URING ? "io_uring" : cap__disk_backend == CAP_DISK_THREADS ? "threads" : "none";
}

/* The request as a plain system call, where it runs: a helper, or the
 * worker itself when nothing else can take it. */
static long cap__disk_blocking(const struct cap_disk_req *r)
{
	switch (r->op) {
	case CAP_DISK_READ:
		return r->off < 0 ? cap_sys3(SYS_readv, r->fd, r->iov, r->iovcnt)
				  : cap_sys6l(SYS_preadv, r->fd, r->iov, r->iovcnt, r->off, 0, 0);
	case CAP_DISK_WRITE:
		return r->off < 0 ? cap_sys3(SYS_writev, r->fd, r->iov, r->iovcnt)
				  : cap_sys6l(SYS_pwritev, r->fd, r->iov, r->iovcnt, r->off, 0, 0);
	case CAP_DISK_FSYNC: return cap_sys1(SYS_fsync, r->fd);
	case CAP_DISK_FDATASYNC: return cap_sys1(SYS_fdatasync, r->fd);
	}
	return -EINVAL;
}

/* A buffer among the program's thread-locals holds whichever thread runs
 * while the caller is parked: the kernel or a helper would fill (or read)
 * another thread's values.  Such a request runs on the worker instead. */
static bool cap__disk_touches_tls(const struct iovec *iov, int iovcnt)
{
	if (cap__tls_in_live(iov, (size_t)iovcnt * sizeof *iov))
		return true;
	for (int i = 0; i < iovcnt; i++)
		if (cap__tls_in_live(iov[i].iov_base, iov[i].iov_len))
			return true;
	return false;
}

struct cap_disk_job {
	struct cap_job job;
	struct cap_disk_req *rq;
};

static void cap__disk_job_run(struct cap_job *j)
{
	struct cap_disk_req *rq = ((struct cap_disk_job *)j)->rq;
	rq->result = cap__disk_blocking(rq);
}

long cap__disk_io(enum cap_disk_op op, int fd, const struct iovec *iov, int iovcnt, int64_t off)
{
	struct cap_worker *w = cap__w;
	struct cap_disk_req rq = { .op = op, .fd = fd, .iov = iov, .iovcnt = iovcnt, .off = off, .t = w->current };
	cap__disk_start();
	if (CAP_UNLIKELY(cap__tls.flags & CAP_TLS_COPY) && cap__disk_touches_tls(iov, iovcnt))
		return cap__disk_blocking(&rq);
	if (cap__disk_backend == CAP_DISK_THREADS) {
		struct cap_disk_job j = { .job.run = cap__disk_job_run, .rq = &rq };
		if (cap__pool_run(&j.job, CAP_WAIT_DISK) == 0)
			return rq.result;
	}
	if (cap__disk_backend != CAP_DISK_URING) /* nothing to hand it to: block the worker */
		return cap__disk_blocking(&rq);
	/* One ring for the process: submitted and reaped under cap__mn.lock
	 * (mn.h: Netpoller). */
	cap__mn_lock();
	cap__on_sysstack(CAP_SYSFN_DISK_SUBMIT, &rq);
	if (rq.done) {
		cap__mn_unlock(w);
		return rq.result == -EAGAIN ? cap__disk_blocking(&rq) : rq.result; /* not submitted */
	}
	atomic_fetch_add(&cap__mn.inflight, 1);
	while (!rq.done) {
		cap__block(NULL, 0, CAP_WAIT_DISK, &rq);
		cap__mn_lock();
	}
	atomic_fetch_sub(&cap__mn.inflight, 1);
	cap__mn_unlock(cap__w);
	return rq.result;
}

void cap__disk_complete(struct cap_worker *w)
{
	cap__mn_lock();
	cap__on_sysstack(CAP_SYSFN_DISK_REAP, w);
	cap__mn_unlock(w);
}

/* A forked child has no ring of its own: start again on first use. */
void cap__disk_after_fork(void)
{
	cap__on_sysstack(CAP_SYSFN_DISK_FORGET, NULL);
	cap__disk_tried = false;
	cap__disk_backend = CAP_DISK_NONE;
}

/* For the telemetry HELLO: the backend's name without starting it. */
const char *cap__disk_backend_peek(void)
{
	if (!cap__disk_tried)
		return "unstarted";
	return cap__disk_backend == CAP_DISK_URING ? "io_uring" : cap__disk_backend == CAP_DISK_THREADS ? "threads" : "none";
}
