/* Waiting for signals: sigwait, sigwaitinfo, sigtimedwait, sigsuspend and
 * pause park only the calling thread (sigwait.c), with glibc's results.
 * sigtimedwait and sigwaitinfo are never restarted: a handler that runs
 * for the thread ends them with EINTR (sigwait, as glibc's, waits on);
 * sigsuspend and pause return -1/EINTR once a handler ran in the thread. */
#include "io.h"
#include "sigstate.h"

#include <errno.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

static inline int cap__fail(int e)
{
	cap__set_errno(e);
	return -1;
}

static int cap__sigtimedwait(uint64_t take, siginfo_t *info, const struct timespec *ts)
{
	struct cap_thread *t = cap__w->current;
	take &= ~(CAP_SIGBIT(SIGKILL) | CAP_SIGBIT(SIGSTOP));
	if (ts && ts->tv_sec == 0 && ts->tv_nsec == 0) {
		int sig = cap__sigwait_take(t, take, NULL, info);
		return sig ? sig : -EAGAIN;
	}
	uint64_t deadline = ts ? cap__mono_ns() + cap__ts_ns(ts) : 0;
	struct cap_sigwait sw;
	struct cap_pollwait node;
	int id, r;
	bool timed_out = false;
	cap__sigwait_begin(&sw, take, ~(t->sigmask | take));
	for (;;) {
		if (timed_out) { /* the kernel looks once more, for the set only */
			r = cap__sigwait_take(t, sw.take, &sw, info);
			r = r ? r : -EAGAIN;
			break;
		}
		r = cap__sigwait_check(&sw, info);
		if (r) /* a signal taken, or -EINTR */
			break;
		if (ts && cap__mono_ns() >= deadline) {
			r = -EAGAIN;
			break;
		}
		int w = cap__sigwait_park(&sw, &node, &id, 0, deadline, CAP_WAIT_SLEEP);
		if (w == -ETIMEDOUT)
			timed_out = true;
		else if (w == -EINTR) {
			r = -EINTR;
			break;
		}
	}
	cap__sigwait_end(&sw);
	return r;
}

int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *ts)
{
	if (ts && !cap__ts_valid(ts))
		return cap__fail(EINVAL);
	long r;
	if (!cap__can_park())
		r = cap_sys4(SYS_rt_sigtimedwait, set, info, ts, 8);
	else
		r = cap__sigtimedwait(cap__sigset_bits(set), info, ts);
	if (r < 0)
		return cap__fail((int)-r);
	if (info && info->si_code == SI_TKILL) /* as glibc */
		info->si_code = SI_USER;
	return (int)r;
}

int sigwaitinfo(const sigset_t *set, siginfo_t *info) { return sigtimedwait(set, info, NULL); }

int sigwait(const sigset_t *set, int *sig)
{
	siginfo_t si;
	int r;
	do /* as glibc: sigwait does not return EINTR */
		r = sigtimedwait(set, &si, NULL);
	while (r < 0 && *cap__errno() == EINTR);
	if (r < 0)
		return *cap__errno();
	*sig = r;
	return 0;
}

/* Wait until a handler of a signal in `accept` ran in this thread. */
static int cap__suspend(uint64_t accept)
{
	struct cap_sigwait sw;
	struct cap_pollwait node;
	int id;
	cap__sigwait_begin(&sw, 0, accept);
	while (cap__sigwait_check(&sw, NULL) != -EINTR && cap__sigwait_park(&sw, &node, &id, 0, 0, CAP_WAIT_SLEEP) != -EINTR)
		;
	cap__sigwait_end(&sw);
	return cap__fail(EINTR);
}

int sigsuspend(const sigset_t *mask)
{
	if (!cap__can_park())
		return cap__fail((int)-cap_sys2(SYS_rt_sigsuspend, mask, 8));
	return cap__suspend(~cap__sigset_bits(mask));
}

int pause(void)
{
	if (!cap__can_park())
		return cap__fail((int)-cap_sys0(SYS_pause));
	return cap__suspend(~cap__w->current->sigmask);
}
