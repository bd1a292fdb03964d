/* The program's own epoll sets: epoll_wait, epoll_pwait and epoll_pwait2
 * park only the calling thread.
 *
 * An epoll descriptor is itself pollable (readable while its set has
 * events), so the waiting thread parks on it in the runtime's epoll set
 * and, once woken, collects with a zero timeout.  The kernel does every
 * collecting, so the program's edge-triggered and one-shot registrations
 * keep their meaning (an event is reported once), and of several threads
 * woken for one event the first takes it and the others park again.
 * epoll waits are never restarted: a handled signal ends them with EINTR. */
#include "io.h"
#include "sigstate.h"

#include <errno.h>
#include <sys/epoll.h>

static long cap__epoll_now(int ep, struct epoll_event *ev, int max)
{
	return cap_sys6l(SYS_epoll_pwait, ep, ev, max, 0, 0, 8);
}

static int cap__epoll(int ep, struct epoll_event *ev, int max, uint64_t deadline, bool forever, const sigset_t *mask)
{
	struct cap_sigwait sw, *swp = NULL;
	struct cap_pollwait nodes[2];
	int ids[2];
	long r;
	for (;;) {
		r = cap__epoll_now(ep, ev, max);
		if (r != 0)
			break;
		if (mask) { /* events first, then the signals the mask lets through */
			if (!swp)
				cap__sigwait_begin(swp = &sw, 0, ~cap__sigset_bits(mask));
			if (cap__sigwait_check(swp, NULL) == -EINTR) {
				r = -EINTR;
				break;
			}
		}
		if (!forever && cap__mono_ns() >= deadline)
			break;
		ids[0] = ep;
		int w = cap__sigwait_park(swp, nodes, ids, 1, forever ? 0 : deadline, CAP_WAIT_POLL);
		if (w == -ETIMEDOUT) {
			r = cap__epoll_now(ep, ev, max);
			break;
		}
		if (w == -EINTR) {
			r = -EINTR;
			break;
		}
		if (w && w != -EBADF) /* a set epoll cannot nest: look again shortly */
			cap_sleep_ns(1000000);
	}
	if (swp)
		cap__sigwait_end(swp);
	return (int)cap__ret(r);
}

int epoll_pwait(int ep, struct epoll_event *ev, int max, int timeout, const sigset_t *mask)
{
	if (!cap__can_park() || timeout == 0)
		return (int)cap__ret(cap__sys_masked(SYS_epoll_pwait, ep, (long)ev, max, timeout, (long)mask, 8));
	uint64_t deadline = timeout > 0 ? cap__mono_ns() + (uint64_t)timeout * 1000000u : 0;
	return cap__epoll(ep, ev, max, deadline, timeout < 0, mask);
}

int epoll_wait(int ep, struct epoll_event *ev, int max, int timeout) { return epoll_pwait(ep, ev, max, timeout, NULL); }

int epoll_pwait2(int ep, struct epoll_event *ev, int max, const struct timespec *ts, const sigset_t *mask)
{
	if (ts && !cap__ts_valid(ts))
		return (int)cap__ret(-EINVAL);
	if (!cap__can_park() || (ts && ts->tv_sec == 0 && ts->tv_nsec == 0))
		return (int)cap__ret(cap__sys_masked(SYS_epoll_pwait2, ep, (long)ev, max, (long)ts, (long)mask, 8));
	uint64_t deadline = ts ? cap__mono_ns() + cap__ts_ns(ts) : 0;
	return cap__epoll(ep, ev, max, deadline, ts == NULL, mask);
}

/* A new set starts with fresh descriptor state, like any descriptor the
 * program gets. */
int epoll_create1(int flags)
{
	long r = cap_sys1(SYS_epoll_create1, flags);
	if (r >= 0)
		cap__fd_new((int)r, false);
	return (int)cap__ret(r);
}

int epoll_create(int size)
{
	if (size <= 0)
		return (int)cap__ret(-EINVAL);
	return epoll_create1(0);
}
