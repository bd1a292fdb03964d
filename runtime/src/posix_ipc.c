/* System V message queues and semaphores (msgrcv, msgsnd, semop,
 * semtimedop), and eventfd_read/eventfd_write.
 *
 * The kernel tells nobody when a queue or a semaphore set changes, so each
 * call first tries without waiting (IPC_NOWAIT); one that would wait is made
 * by a helper kernel thread while the caller parks (pool.h), as an
 * annotated call is (annotate.c).  The helper's call is the program's own:
 * the kernel's queue order, SEM_UNDO (kept per process) and the timeout of
 * semtimedop apply.  A handler that runs for the waiting thread interrupts
 * the helper's call, which the kernel never restarts for these: EINTR.
 *
 * glibc's eventfd_read and eventfd_write call its internal read and write,
 * which nothing interposes: here they call the runtime's. */
#include "pool.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <unistd.h>

struct cap_ipc_job {
	struct cap_job job;
	long nr, a[5];
	long result;
};

static void cap__ipc_job_run(struct cap_job *j)
{
	struct cap_ipc_job *c = (struct cap_ipc_job *)j;
	c->result = cap_sys6(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4], 0);
}

/* The waiting call, on a helper; -errno on failure. */
static long cap__ipc_wait(long nr, long a0, long a1, long a2, long a3, long a4)
{
	struct cap_ipc_job c = { .job.run = cap__ipc_job_run, .job.flags = CAP_JOB_UNBOUNDED, .nr = nr, .a = { a0, a1, a2, a3, a4 } };
	if (cap__pool_run(&c.job, CAP_WAIT_EXTERN) == 0)
		return c.result;
	return cap_sys5(nr, a0, a1, a2, a3, a4); /* no helper: block the worker */
}

ssize_t msgrcv(int id, void *msg, size_t size, long type, int flags)
{
	if ((flags & IPC_NOWAIT) || !cap__can_park())
		return cap__ret(cap_sys5(SYS_msgrcv, id, msg, size, type, flags));
	long r = cap_sys5(SYS_msgrcv, id, msg, size, type, flags | IPC_NOWAIT);
	if (r == -ENOMSG)
		r = cap__ipc_wait(SYS_msgrcv, id, (long)msg, (long)size, type, flags);
	return cap__ret(r);
}

int msgsnd(int id, const void *msg, size_t size, int flags)
{
	if ((flags & IPC_NOWAIT) || !cap__can_park())
		return (int)cap__ret(cap_sys4(SYS_msgsnd, id, msg, size, flags));
	long r = cap_sys4(SYS_msgsnd, id, msg, size, flags | IPC_NOWAIT);
	if (r == -EAGAIN)
		r = cap__ipc_wait(SYS_msgsnd, id, (long)msg, (long)size, flags, 0);
	return (int)cap__ret(r);
}

/* Operations tried without waiting in one go; a longer list (the kernel
 * takes up to SEMOPM, 500 by default) goes straight to a helper. */
#define CAP_SEMOPS_TRY 32

int semtimedop(int id, struct sembuf *ops, size_t n, const struct timespec *timeout)
{
	if (!cap__can_park())
		return (int)cap__ret(cap_sys4(SYS_semtimedop, id, ops, n, timeout));
	long r = -EAGAIN;
	if (n <= CAP_SEMOPS_TRY) {
		struct sembuf now[CAP_SEMOPS_TRY];
		bool waits = false;
		for (size_t i = 0; i < n; i++) {
			now[i] = ops[i];
			waits |= !(ops[i].sem_flg & IPC_NOWAIT);
			now[i].sem_flg |= IPC_NOWAIT;
		}
		r = cap_sys4(SYS_semtimedop, id, now, n, NULL);
		if (!waits)
			return (int)cap__ret(r);
	}
	if (r == -EAGAIN)
		r = cap__ipc_wait(SYS_semtimedop, id, (long)ops, (long)n, (long)timeout, 0);
	return (int)cap__ret(r);
}

int semop(int id, struct sembuf *ops, size_t n) { return semtimedop(id, ops, n, NULL); }

int eventfd_read(int fd, eventfd_t *value) { return read(fd, value, sizeof *value) != sizeof *value ? -1 : 0; }

int eventfd_write(int fd, eventfd_t value) { return write(fd, &value, sizeof value) != sizeof value ? -1 : 0; }
