/* The io_uring disk backend, through liburing.  Compiled without
 * -fsplit-stack (liburing is libc-level code); reached only through
 * cap__on_sysstack.  Where io_uring cannot be set up, disk.c hands the
 * requests to the helper pool instead (pool.h). */
#include "disk.h"
#include "mn.h"
#include "pool.h"

#include <errno.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#define CAP_URING_ENTRIES 256

/* The ring and its eventfd are the worker's (ctx.h: struct cap_disk_ctx);
 * the backend chosen (disk.c) is the process's. */

/* ---- setup -------------------------------------------------------------- */

void cap__disk_setup_sys(void *arg)
{
	(void)arg;
	struct cap_disk_ctx *d = &cap__mn.workers[0]->disk; /* the process's one ring, under cap__mn.lock */
	enum cap_disk_backend want = CAP_DISK_URING;
	const char *env = getenv("CAPRICCIO_DISK");
	if (env && !strcmp(env, "threads"))
		want = CAP_DISK_THREADS;
	else if (env && !strcmp(env, "uring"))
		want = CAP_DISK_URING;
	else if (env && *env) {
		fprintf(stderr, "capriccio: CAPRICCIO_DISK=%s: expected uring or threads; using the default\n", env);
	}
	d->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->efd >= 0)
		cap__fds_runtime(1);
	if (d->efd < 0 || cap__io_add_internal(d->efd, CAP_TAG_DISK) != 0) {
		fprintf(stderr, "capriccio: cannot create the disk completion eventfd: %s; disk I/O will block the worker\n",
			strerror(errno));
		cap__disk_backend = CAP_DISK_NONE;
		return;
	}
	if (want != CAP_DISK_THREADS) {
		struct io_uring *ring = calloc(1, sizeof *ring);
		int r = ring ? io_uring_queue_init(CAP_URING_ENTRIES, ring, 0) : -ENOMEM;
		if (r == 0 && io_uring_register_eventfd(ring, d->efd) == 0) {
			cap__fds_runtime(1); /* the ring */
			d->ring = ring;
			cap__disk_backend = CAP_DISK_URING;
			return;
		}
		if (r == 0)
			io_uring_queue_exit(ring);
		free(ring);
		fprintf(stderr, "capriccio: io_uring unavailable (%s); disk I/O uses helper threads\n",
			strerror(r < 0 ? -r : errno));
	}
	int ok = 0;
	cap__pool_start_sys(&ok);
	cap__disk_backend = ok ? CAP_DISK_THREADS : CAP_DISK_NONE;
	if (cap__disk_backend == CAP_DISK_NONE)
		fprintf(stderr, "capriccio: no helper threads either; disk I/O will block the worker\n");
}

/* ---- submit / complete -------------------------------------------------- */

void cap__disk_submit_sys(void *arg)
{
	struct cap_disk_req *r = arg;
	struct cap_disk_ctx *d = &cap__mn.workers[0]->disk; /* the process's one ring, under cap__mn.lock */
	struct io_uring_sqe *sqe = io_uring_get_sqe(d->ring);
	if (!sqe) {
		io_uring_submit(d->ring);
		sqe = io_uring_get_sqe(d->ring);
	}
	if (!sqe) {
		r->result = -EAGAIN; /* ring full even after submitting: disk.c retries */
		r->done = 1;
		return;
	}
	switch (r->op) {
	case CAP_DISK_READ: io_uring_prep_readv(sqe, r->fd, r->iov, (unsigned)r->iovcnt, (uint64_t)r->off); break;
	case CAP_DISK_WRITE: io_uring_prep_writev(sqe, r->fd, r->iov, (unsigned)r->iovcnt, (uint64_t)r->off); break;
	case CAP_DISK_FSYNC: io_uring_prep_fsync(sqe, r->fd, 0); break;
	case CAP_DISK_FDATASYNC: io_uring_prep_fsync(sqe, r->fd, IORING_FSYNC_DATASYNC); break;
	}
	io_uring_sqe_set_data(sqe, r);
	/* A failed submit leaves the entry queued in the ring, pointing at r:
	 * r stays in flight (its thread keeps waiting) and the entry is
	 * offered again until the kernel takes it. */
	if (io_uring_submit(d->ring) < 0)
		d->sq_waiting = true;
}

void cap__disk_reap_sys(void *arg)
{
	(void)arg;
	struct cap_disk_ctx *d = &cap__mn.workers[0]->disk; /* the process's one ring, under cap__mn.lock */
	uint64_t v;
	cap_sys3(SYS_read, d->efd, &v, sizeof v);
	if (!d->ring)
		return;
	if (d->sq_waiting && io_uring_submit(d->ring) >= 0)
		d->sq_waiting = false;
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	io_uring_for_each_cqe(d->ring, head, cqe)
	{
		struct cap_disk_req *r = io_uring_cqe_get_data(cqe);
		r->result = cqe->res;
		r->done = 1;
		cap__wake(r->t, 0);
		n++;
	}
	io_uring_cq_advance(d->ring, n);
}

void cap__disk_forget_sys(void *arg)
{
	(void)arg;
	struct cap_disk_ctx *d = &cap__mn.workers[0]->disk; /* the process's one ring, under cap__mn.lock */
	if (d->ring) {
		io_uring_queue_exit(d->ring);
		free(d->ring);
		d->ring = NULL;
		cap__fds_runtime(-1);
	}
	if (d->efd >= 0 && cap_sys1(SYS_close, d->efd) == 0)
		cap__fds_runtime(-1);
	d->efd = -1;
}
