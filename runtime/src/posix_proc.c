/* Child processes: the wait family, system, popen and pclose.
 *
 * A wait first looks without blocking (WNOHANG); then the caller parks — on
 * a pidfd when it waits for one child (readable once that child exits),
 * else looking again with a growing backoff (1 to 64 ms), as it does for
 * stops and continues, which a pidfd does not report.  The kernel looks at
 * the children before it lets a signal interrupt a wait, so after EINTR
 * this looks once more: a SIGCHLD handler does not turn the exit it
 * announces into EINTR.  Only handlers without SA_RESTART interrupt.
 *
 * system() is glibc's (SIGINT and SIGQUIT ignored and SIGCHLD blocked
 * while it waits, /bin/sh -c, 127 when the shell cannot run), waiting as
 * above.  popen is glibc's own; pclose — glibc's, which flushes, closes and
 * waits — runs on a helper kernel thread (any thread of the process may
 * reap a child of another). */
#include "pool.h"
#include "proc.h"
#include "sigstate.h"
#include "mn.h"
#include "telemetry.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>

#define CAP_WAIT_BACKOFF_MIN_NS 1000000ull
#define CAP_WAIT_BACKOFF_MAX_NS 64000000ull

/* A wait4 (pid, status, options, rusage) or a waitid (idtype, id, info,
 * options) the caller would block in. */
struct cap_wait {
	bool waitid;
	int idtype;
	long id;
	int *status;
	siginfo_t *info;
	int options;
	struct rusage *ru;
};

/* One look: > 0 found (the pid, or 1 for waitid), 0 nothing yet, -errno. */
static long cap__wait_try(const struct cap_wait *q)
{
	if (!q->waitid)
		return cap_sys4(SYS_wait4, q->id, q->status, q->options | WNOHANG, q->ru);
	siginfo_t si;
	si.si_pid = 0;
	long r = cap_sys5(SYS_waitid, q->idtype, q->id, &si, q->options | WNOHANG, NULL);
	if (r < 0 || si.si_pid == 0)
		return r;
	if (q->info)
		*q->info = si;
	return 1;
}

static long cap__wait(const struct cap_wait *q)
{
	uint32_t since = cap__intr_begin();
	long r = cap__wait_try(q);
	if (r != 0)
		return r;
	int pidfd = -1, own = -1;
	if (q->waitid ? q->idtype == P_PID : q->id > 0) {
		long fd = cap_sys2(SYS_pidfd_open, q->id, 0);
		if (fd >= 0) {
			pidfd = own = (int)fd;
			cap__fd_reset(own);
			cap__fds_runtime(1);
		}
	} else if (q->waitid && q->idtype == P_PIDFD) {
		pidfd = (int)q->id;
	}
	bool exits_only = !(q->options & (WUNTRACED | WCONTINUED)); /* WSTOPPED is WUNTRACED */
	uint64_t backoff = CAP_WAIT_BACKOFF_MIN_NS;
	bool interrupted = false;
	while (r == 0) {
		if (interrupted || cap__intr_since(since)) {
			/* The children first, even when interrupted: the handler may be
			 * the SIGCHLD of the exit waited for, run (on another worker)
			 * since the last look. */
			r = cap__wait_try(q);
			if (r == 0)
				r = -EINTR;
			break;
		}
		uint64_t deadline = pidfd >= 0 && exits_only ? 0 : cap__mono_ns() + backoff;
		int e;
		if (pidfd >= 0) {
			e = cap__fd_wait(pidfd, CAP_DIR_READ, deadline);
		} else {
			cap__mn_lock();
			e = cap__block(NULL, deadline, CAP_WAIT_IO, NULL);
		}
		if (e == -EINTR)
			interrupted = true;
		else if (e && e != -ETIMEDOUT) /* not a descriptor to wait on after all: look with backoff */
			pidfd = -1;
		if (backoff < CAP_WAIT_BACKOFF_MAX_NS)
			backoff *= 2;
		r = cap__wait_try(q); /* the children first, even when interrupted */
	}
	if (own >= 0) {
		cap__fd_reset(own);
		if (cap_sys1(SYS_close, own) == 0)
			cap__fds_runtime(-1);
	}
	return r;
}

/* ---- wait, waitpid, wait3, wait4, waitid -------------------------------- */

long cap__wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	if (!cap__can_park() || (options & WNOHANG))
		return cap_sys4(SYS_wait4, pid, status, options, ru);
	struct cap_wait q = { .id = pid, .status = status, .options = options, .ru = ru };
	return cap__wait(&q);
}

pid_t waitpid(pid_t pid, int *status, int options) { return (pid_t)cap__ret(cap__wait4(pid, status, options, NULL)); }
pid_t wait(int *status) { return (pid_t)cap__ret(cap__wait4(-1, status, 0, NULL)); }
pid_t wait3(int *status, int options, struct rusage *ru) { return (pid_t)cap__ret(cap__wait4(-1, status, options, ru)); }
pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	return (pid_t)cap__ret(cap__wait4(pid, status, options, ru));
}

int waitid(idtype_t idtype, id_t id, siginfo_t *info, int options)
{
	/* A pidfd the program made non-blocking answers EAGAIN itself. */
	bool nonblocking_pidfd = idtype == P_PIDFD && (cap_sys2(SYS_fcntl, id, F_GETFL) & O_NONBLOCK);
	if (!cap__can_park() || (options & WNOHANG) || nonblocking_pidfd)
		return (int)cap__ret(cap_sys5(SYS_waitid, idtype, id, info, options, NULL));
	struct cap_wait q = { .waitid = true, .idtype = idtype, .id = id, .info = info, .options = options };
	long r = cap__wait(&q);
	return (int)cap__ret(r < 0 ? r : 0);
}

/* ---- system ------------------------------------------------------------- */

static int cap__system(const char *line)
{
	struct cap_system s = { .line = line };
	cap__on_sysstack(CAP_SYSFN_SYSTEM_START, &s);
	int status = -1;
	if (s.err == 0) {
		long r;
		while ((r = cap__wait4(s.pid, &status, 0, NULL)) == -EINTR) {
		}
		if (r != s.pid) {
			status = -1;
			cap__ret(r);
		}
	} else {
		status = 127 << 8; /* as if the shell had run and exited with 127 */
	}
	cap__on_sysstack(CAP_SYSFN_SYSTEM_END, &s);
	if (s.err)
		cap__set_errno(s.err);
	return status;
}

/* system(NULL): is there a shell?  glibc runs one to see. */
int system(const char *line) { return line ? cap__system(line) : cap__system("exit 0") == 0; }

/* ---- popen, pclose ------------------------------------------------------ */

FILE *popen(const char *command, const char *mode)
{
	struct cap_popen p = { .command = command, .mode = mode };
	cap__on_sysstack(CAP_SYSFN_POPEN, &p);
	if (p.f)
		cap__fd_new(p.f->_fileno, false);
	return p.f;
}

int pclose(FILE *f)
{
	struct cap_popen p = { .f = f };
	cap__fd_reset(f->_fileno);
	cap__pool_call(CAP_SYSFN_PCLOSE, &p, CAP_WAIT_EXTERN);
	cap__count_fds(-1);
	return p.status;
}
