/* Waits that signals end: sigwait and friends, sigsuspend and pause, and
 * the masked waits (pselect, ppoll and epoll_pwait with a mask).
 *
 * The kernel changes a thread's mask for the length of such a call; here
 * the waiting thread blocks everything instead (its own mask is back at
 * the end), so no signal reaches it behind its back, and watches the
 * signals that end its wait with a signalfd in the worker's epoll set.
 * When one is pending it takes it itself: dequeues it (sigwait's set) or
 * lets the kernel run its handler, in this thread, under the wait's mask
 * (cap__sig_take_handlers).  A handler that ran for it elsewhere (the
 * trampoline's pick, signal.c) ends the wait with EINTR. */
#include "io.h"
#include "sigstate.h"
#include "mn.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/signalfd.h>

struct cap_sigwait *cap__sigwaiters; /* process-wide (sigstate.h); changed under cap__mn.lock, read by handlers */

void cap__sigwait_begin(struct cap_sigwait *sw, uint64_t take, uint64_t accept)
{
	struct cap_thread *t = cap__w->current;
	sw->t = t;
	sw->take = take & ~cap__sig_reserved;
	sw->accept = accept & ~cap__sig_reserved & ~sw->take;
	sw->own = t->sigmask;
	sw->given = 0;
	sw->sfd = -1;
	cap__sig_setmask(t, CAP_SIG_ALL);
	cap__flags_set(t, CAP_F_SIGWAIT);
	cap__mn_lock();
	sw->prev = NULL;
	sw->next = cap__sigwaiters;
	if (sw->next)
		sw->next->prev = sw;
	__atomic_store_n(&cap__sigwaiters, sw, __ATOMIC_RELEASE);
	cap__mn_unlock(cap__w);
}

static void cap__siginfo_copy(siginfo_t *to, const siginfo_t *from)
{
	const uint64_t *f = (const void *)from;
	uint64_t *d = (void *)to;
	for (size_t i = 0; i < sizeof *to / 8; i++)
		d[i] = f[i];
}

/* What the kernel reports for a signal pthread_kill sent (glibc's
 * sigtimedwait folds SI_TKILL into SI_USER). */
static void cap__siginfo_sent(siginfo_t *si, int sig)
{
	cap__memzero(si, sizeof *si);
	si->si_signo = sig;
	si->si_code = SI_USER;
	si->si_pid = (pid_t)cap_sys0(SYS_getpid);
	si->si_uid = (uid_t)cap_sys0(SYS_getuid);
}

int cap__sigwait_take(struct cap_thread *t, uint64_t take, struct cap_sigwait *sw, siginfo_t *info)
{
	/* Signals sent to this thread come first, as its private ones in the kernel. */
	uint64_t mine = __atomic_load_n(&t->sigpend, __ATOMIC_RELAXED) & take;
	if (mine) {
		int sig = __builtin_ctzll(mine) + 1;
		__atomic_fetch_and(&t->sigpend, ~CAP_SIGBIT(sig), __ATOMIC_RELAXED);
		bool given = sw && sw->given == sig;
		if (given)
			sw->given = 0;
		if (info && given)
			cap__siginfo_copy(info, &sw->given_info);
		else if (info)
			cap__siginfo_sent(info, sig);
		return sig;
	}
	siginfo_t local;
	struct timespec zero = { 0, 0 };
	long r = cap_sys4(SYS_rt_sigtimedwait, &take, info ? info : &local, &zero, 8);
	return r > 0 ? (int)r : 0;
}

int cap__sigwait_check(struct cap_sigwait *sw, siginfo_t *info)
{
	struct cap_thread *t = sw->t;
	if (sw->take) {
		int sig = cap__sigwait_take(t, sw->take, sw, info);
		if (sig)
			return sig;
	}
	if (!sw->accept)
		return 0;
	uint64_t k = 0;
	cap_sys2(SYS_rt_sigpending, &k, 8);
	if (!((k | __atomic_load_n(&t->sigpend, __ATOMIC_RELAXED)) & sw->accept))
		return 0;
	return cap__sig_take_handlers(t, sw->accept) ? -EINTR : 0;
}

int cap__sigwait_park(struct cap_sigwait *sw, struct cap_pollwait *nodes, int *ids, int n, uint64_t deadline, int why)
{
	if (!sw || !(sw->take | sw->accept))
		return cap__fd_wait_many(nodes, ids, n, deadline, why);
	if (sw->sfd < 0) {
		uint64_t m = sw->take | sw->accept;
		long fd = cap_sys4(SYS_signalfd4, -1, &m, 8, SFD_NONBLOCK | SFD_CLOEXEC);
		if (fd >= 0) {
			cap__fd_reset((int)fd);
			cap__fds_runtime(1);
			sw->sfd = (int)fd;
		}
	}
	if (sw->sfd >= 0) {
		ids[n] = sw->sfd;
		return cap__fd_wait_many(nodes, ids, n + 1, deadline, why);
	}
	/* No signalfd (out of descriptors): look again every millisecond. */
	uint64_t soon = cap__mono_ns() + 1000000;
	if (deadline && deadline <= soon)
		return cap__fd_wait_many(nodes, ids, n, deadline, why);
	int r = cap__fd_wait_many(nodes, ids, n, soon, why);
	return r == -ETIMEDOUT ? 0 : r;
}

void cap__sigwait_end(struct cap_sigwait *sw)
{
	struct cap_thread *t = sw->t;
	cap__mn_lock();
	if (sw->prev)
		sw->prev->next = sw->next;
	else
		cap__sigwaiters = sw->next;
	if (sw->next)
		sw->next->prev = sw->prev;
	cap__mn_unlock(cap__w);
	cap__flags_clear(t, CAP_F_SIGWAIT);
	if (sw->sfd >= 0) {
		cap__fd_reset(sw->sfd);
		if (cap_sys1(SYS_close, sw->sfd) == 0)
			cap__fds_runtime(-1);
	}
	/* A signal handed over too late stays pending for the thread (its
	 * info is gone); its own mask decides whether it runs now. */
	cap__sig_setmask(t, sw->own);
}
