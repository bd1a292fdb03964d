/* Delivering EINTR.  A kernel thread blocked in a system call returns EINTR
 * when a signal handler runs (unless SA_RESTART says to restart it; poll,
 * select and sleeps are interrupted regardless).  Here the worker itself
 * takes the signal, so the runtime picks the thread the kernel would have
 * picked: the target of pthread_kill, else the main thread — and interrupts
 * it only if it is parked in an interruptible call at that moment. */
#include "io.h"
#include "sigstate.h"

#include <errno.h>
#include <sys/eventfd.h>

void cap__signals_deliver(struct cap_worker *w)
{
	uint64_t v;
	if (cap__sig_efd >= 0)
		cap_sys3(SYS_read, cap__sig_efd, &v, sizeof v);
	int bits = atomic_exchange(&cap__sig_pending, 0);
	struct cap_thread *t = atomic_exchange(&cap__sig_waiter, NULL);
	if (!bits || !t || t->state != CAP_BLOCKED || t->nblocks != atomic_load(&cap__sig_wait))
		return; /* nobody parked when the handler ran, or that wait is over */
	bool intr = t->reason == CAP_WAIT_POLL || t->reason == CAP_WAIT_SLEEP ||
		    (t->reason == CAP_WAIT_IO && (bits & CAP_SIG_INTR));
	if (intr)
		cap__wake(t, EINTR);
}

/* Handlers wake the idle worker through this eventfd (a forked child
 * makes its own: the parent's is shared). */
void cap__signals_init(struct cap_worker *w)
{
	if (cap__sig_efd >= 0 && cap_sys1(SYS_close, cap__sig_efd) == 0)
		cap__fds_runtime(-1);
	cap__sig_efd = -1;
	long fd = cap_sys2(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd >= 0)
		cap__fds_runtime(1);
	if (fd >= 0 && cap__io_add_internal((int)fd, CAP_TAG_SIGNAL) == 0)
		cap__sig_efd = (int)fd;
}
