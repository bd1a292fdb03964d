/* The disk backends proper: io_uring through liburing, and the helper
 * thread pool.  Compiled without -fsplit-stack (liburing and pthreads are
 * libc-level code); reached only through cap__on_sysstack. */
#include "disk.h"

#include <dlfcn.h>
#include <errno.h>
#include <liburing.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#define CAP_URING_ENTRIES 256
#define CAP_HELPERS 4

static struct io_uring cap__ring;
static int cap__efd = -1;

/* ---- helper threads ----------------------------------------------------- */

static atomic_int cap__q_lock;
static struct cap_disk_req *cap__q_head, *cap__q_tail; /* submitted */
static struct cap_disk_req *cap__done;                 /* completed */
static atomic_uint cap__q_seq;

static void cap__lock(void)
{
	while (atomic_exchange_explicit(&cap__q_lock, 1, memory_order_acquire))
		__builtin_ia32_pause();
}
static void cap__unlock(void) { atomic_store_explicit(&cap__q_lock, 0, memory_order_release); }

static long cap__do_blocking(struct cap_disk_req *r)
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

static void *cap__helper(void *arg)
{
	(void)arg;
	for (;;) {
		unsigned seq = atomic_load(&cap__q_seq);
		cap__lock();
		struct cap_disk_req *r = cap__q_head;
		if (r) {
			cap__q_head = r->next;
			if (!cap__q_head)
				cap__q_tail = NULL;
		}
		cap__unlock();
		if (!r) {
			cap_sys6(SYS_futex, (long)&cap__q_seq, FUTEX_WAIT_PRIVATE, seq, 0, 0, 0);
			continue;
		}
		long res = cap__do_blocking(r);
		cap__lock();
		r->result = res;
		r->next = cap__done;
		cap__done = r;
		cap__unlock();
		uint64_t one = 1;
		cap_sys3(SYS_write, cap__efd, &one, sizeof one);
	}
	return NULL;
}

static bool cap__start_helpers(void)
{
	/* Our pthread_create makes user threads; helpers need kernel threads. */
	int (*real_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *) =
		(int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))dlsym(RTLD_NEXT, "pthread_create");
	if (!real_create)
		return false;
	for (int i = 0; i < CAP_HELPERS; i++) {
		pthread_t t;
		if (real_create(&t, NULL, cap__helper, NULL) != 0)
			return i > 0;
	}
	return true;
}

/* ---- setup -------------------------------------------------------------- */

void cap__disk_setup_sys(void *arg)
{
	(void)arg;
	enum cap_disk_backend want = CAP_DISK_URING;
	const char *env = getenv("CAPRICCIO_DISK");
	if (env && !strcmp(env, "threads"))
		want = CAP_DISK_THREADS;
	else if (env && !strcmp(env, "uring"))
		want = CAP_DISK_URING;
	else if (env && *env) {
		fprintf(stderr, "capriccio: CAPRICCIO_DISK=%s: expected uring or threads; using the default\n", env);
	}
	cap__efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cap__efd < 0 || cap__io_add_internal(cap__efd, CAP_TAG_DISK) != 0) {
		fprintf(stderr, "capriccio: cannot create the disk completion eventfd: %s; disk I/O will block the worker\n",
			strerror(errno));
		cap__disk_backend = CAP_DISK_NONE;
		return;
	}
	if (want != CAP_DISK_THREADS) {
		int r = io_uring_queue_init(CAP_URING_ENTRIES, &cap__ring, 0);
		if (r == 0 && io_uring_register_eventfd(&cap__ring, cap__efd) == 0) {
			cap__disk_backend = CAP_DISK_URING;
			return;
		}
		if (r == 0)
			io_uring_queue_exit(&cap__ring);
		fprintf(stderr, "capriccio: io_uring unavailable (%s); disk I/O uses %d helper threads\n",
			strerror(r < 0 ? -r : errno), CAP_HELPERS);
	}
	cap__disk_backend = cap__start_helpers() ? CAP_DISK_THREADS : CAP_DISK_NONE;
	if (cap__disk_backend == CAP_DISK_NONE)
		fprintf(stderr, "capriccio: cannot start disk helper threads; disk I/O will block the worker\n");
}

/* ---- submit / complete -------------------------------------------------- */

void cap__disk_submit_sys(void *arg)
{
	struct cap_disk_req *r = arg;
	if (cap__disk_backend == CAP_DISK_THREADS) {
		r->next = NULL;
		cap__lock();
		if (cap__q_tail)
			cap__q_tail->next = r;
		else
			cap__q_head = r;
		cap__q_tail = r;
		cap__unlock();
		atomic_fetch_add(&cap__q_seq, 1);
		cap_sys6(SYS_futex, (long)&cap__q_seq, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
		return;
	}
	struct io_uring_sqe *sqe = io_uring_get_sqe(&cap__ring);
	if (!sqe) {
		io_uring_submit(&cap__ring);
		sqe = io_uring_get_sqe(&cap__ring);
	}
	if (!sqe) {
		r->result = cap__do_blocking(r);
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
	int s = io_uring_submit(&cap__ring);
	if (s < 0) {
		r->result = s;
		r->done = 1;
	}
}

void cap__disk_reap_sys(void *arg)
{
	(void)arg;
	uint64_t v;
	cap_sys3(SYS_read, cap__efd, &v, sizeof v);
	if (cap__disk_backend == CAP_DISK_URING) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0;
		io_uring_for_each_cqe(&cap__ring, head, cqe)
		{
			struct cap_disk_req *r = io_uring_cqe_get_data(cqe);
			r->result = cqe->res;
			r->done = 1;
			cap__wake(r->t, 0);
			n++;
		}
		io_uring_cq_advance(&cap__ring, n);
		return;
	}
	cap__lock();
	struct cap_disk_req *r = cap__done;
	cap__done = NULL;
	cap__unlock();
	while (r) {
		struct cap_disk_req *next = r->next;
		r->done = 1;
		cap__wake(r->t, 0);
		r = next;
	}
}

void cap__disk_forget_sys(void *arg)
{
	(void)arg;
	if (cap__disk_backend == CAP_DISK_URING)
		io_uring_queue_exit(&cap__ring);
	if (cap__efd >= 0)
		cap_sys1(SYS_close, cap__efd);
	cap__efd = -1;
	atomic_store(&cap__q_lock, 0);
	cap__q_head = cap__q_tail = cap__done = NULL;
}
