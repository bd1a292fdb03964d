/* File locks: flock, fcntl's F_SETLKW and F_OFD_SETLKW, lockf.
 *
 * The kernel tells nobody when a lock comes free, so a lock that is taken
 * is waited for by a helper kernel thread making the blocking call itself
 * (pool.h), while the caller parks.  Helpers share the process and its
 * descriptor table, so the lock is owned as the program's own call would
 * own it: fcntl locks by the process, flock and OFD locks by the open file
 * description.  The kernel's queue, its immediate hand-over and its
 * deadlock detection (EDEADLK) all apply.  A handler installed without
 * SA_RESTART that runs for the waiting thread interrupts the helper's call:
 * EINTR, as for the program's own call; with SA_RESTART the wait goes on.
 *
 * Each call first tries without blocking (LOCK_NB, F_SETLK); a lock that is
 * free costs no helper. */
#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

struct cap_lock_job {
	struct cap_job job;
	int fd, cmd; /* cmd: a fcntl command, or -1 for flock */
	long arg;
	long result;
};

static void cap__lock_job_run(struct cap_job *j)
{
	struct cap_lock_job *l = (struct cap_lock_job *)j;
	l->result = l->cmd < 0 ? cap_sys2(SYS_flock, l->fd, l->arg) : cap_sys3(SYS_fcntl, l->fd, l->cmd, l->arg);
}

/* The blocking call, on a helper; -errno on failure. */
static long cap__lock_wait(int fd, int cmd, long arg)
{
	struct cap_lock_job l = { .job.run = cap__lock_job_run, .job.flags = CAP_JOB_UNBOUNDED | CAP_JOB_INTR,
				  .fd = fd, .cmd = cmd, .arg = arg, .result = -EINTR };
	if (cap__pool_run(&l.job, CAP_WAIT_IO) == 0)
		return l.result; /* -EINTR as well when interrupted before it started */
	return cmd < 0 ? cap_sys2(SYS_flock, fd, arg) : cap_sys3(SYS_fcntl, fd, cmd, arg); /* no helper: block the worker */
}

int flock(int fd, int op)
{
	if ((op & LOCK_NB) || (op & ~LOCK_NB) == LOCK_UN || !cap__can_park())
		return (int)cap__ret(cap_sys2(SYS_flock, fd, op));
	long r = cap_sys2(SYS_flock, fd, op | LOCK_NB);
	if (r == -EWOULDBLOCK)
		r = cap__lock_wait(fd, -1, op);
	return (int)cap__ret(r);
}

/* fcntl(fd, F_SETLKW or F_OFD_SETLKW, struct flock *) — from fcntl() (posix_io.c). */
int cap__fcntl_lock_wait(int fd, int cmd, long arg)
{
	if (!cap__can_park())
		return (int)cap__ret(cap_sys3(SYS_fcntl, fd, cmd, arg));
	long r = cap_sys3(SYS_fcntl, fd, cmd == F_SETLKW ? F_SETLK : F_OFD_SETLK, arg);
	if (r == -EAGAIN || r == -EACCES)
		r = cap__lock_wait(fd, cmd, arg);
	return (int)cap__ret(r);
}

/* As glibc's: a write lock from the file position over len bytes (to the
 * end of the file and beyond when 0; before the position when negative). */
int lockf(int fd, int cmd, off_t len)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_CUR, .l_start = 0, .l_len = len };
	switch (cmd) {
	case F_TEST: /* 0 when unlocked or locked by this process */
		fl.l_type = F_RDLCK;
		if (cap__ret(cap_sys3(SYS_fcntl, fd, F_GETLK, &fl)) < 0)
			return -1;
		if (fl.l_type == F_UNLCK || fl.l_pid == (pid_t)cap_sys0(SYS_getpid))
			return 0;
		return (int)cap__ret(-EACCES);
	case F_ULOCK:
		fl.l_type = F_UNLCK;
		return (int)cap__ret(cap_sys3(SYS_fcntl, fd, F_SETLK, &fl));
	case F_LOCK:
		return cap__fcntl_lock_wait(fd, F_SETLKW, (long)&fl);
	case F_TLOCK:
		return (int)cap__ret(cap_sys3(SYS_fcntl, fd, F_SETLK, &fl));
	default:
		return (int)cap__ret(-EINVAL);
	}
}
int lockf64(int fd, int cmd, off_t len) __attribute__((alias("lockf")));
