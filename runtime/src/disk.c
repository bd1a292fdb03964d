/* Regular-file I/O without stalling the worker.  A read first tries the page
 * cache (RWF_NOWAIT, in posix_io.c); only a miss, a write that would block,
 * or fsync comes here.  The request goes to io_uring — or, where io_uring
 * cannot be set up, to a pool of helper kernel threads — and the thread
 * parks until the completion arrives through an eventfd in the epoll set. */
#include "disk.h"

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
const char *cap__disk_backend_name_now(void) __attribute__((alias("cap__disk_backend_name")));

long cap__disk_io(enum cap_disk_op op, int fd, const struct iovec *iov, int iovcnt, int64_t off)
{
	struct cap_worker *w = cap__w;
	cap__disk_start();
	if (cap__disk_backend == CAP_DISK_NONE) { /* nothing to hand it to: block the worker */
		switch (op) {
		case CAP_DISK_READ: return off < 0 ? cap_sys3(SYS_readv, fd, iov, iovcnt) : cap_sys6l(SYS_preadv, fd, iov, iovcnt, off, 0, 0);
		case CAP_DISK_WRITE: return off < 0 ? cap_sys3(SYS_writev, fd, iov, iovcnt) : cap_sys6l(SYS_pwritev, fd, iov, iovcnt, off, 0, 0);
		case CAP_DISK_FSYNC: return cap_sys1(SYS_fsync, fd);
		case CAP_DISK_FDATASYNC: return cap_sys1(SYS_fdatasync, fd);
		}
	}
	struct cap_disk_req rq = { .op = op, .fd = fd, .iov = iov, .iovcnt = iovcnt, .off = off, .t = w->current };
	cap__on_sysstack(CAP_SYSFN_DISK_SUBMIT, &rq);
	if (rq.done)
		return rq.result; /* submission failed */
	w->disk_inflight++;
	while (!rq.done)
		cap__block(NULL, 0, CAP_WAIT_DISK, &rq);
	w->disk_inflight--;
	return rq.result;
}

void cap__disk_complete(struct cap_worker *w) { cap__on_sysstack(CAP_SYSFN_DISK_REAP, w); }

/* A forked child has neither the helper threads nor its own ring: start
 * again on first use. */
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
