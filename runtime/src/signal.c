/* Delivering EINTR.  A kernel thread blocked in a system call returns EINTR
 * when a signal handler runs (unless SA_RESTART says to restart it; poll,
 * select and sleeps are interrupted regardless).  Here the worker itself
 * takes the signal, so the runtime picks the thread the kernel would have
 * picked: the target of pthread_kill, else the main thread — and interrupts
 * the wait it was in when the handler ran, if it is still parked there in
 * an interruptible call.  A call that parks more than once (park, look,
 * park again) asks cap__intr_since between its waits. */
#include "io.h"
#include "sigstate.h"

#include <errno.h>
#include <sys/eventfd.h>

void cap__signals_deliver(struct cap_worker *w)
{
	uint64_t v;
	if (cap__sig_efd >= 0)
		cap_sys3(SYS_read, cap__sig_efd, &v, sizeof v);
	struct cap_thread *t = atomic_exchange(&cap__sig_waiter, NULL);
	if (!t || t->state != CAP_BLOCKED || t->intr_seen != t->intr_epoch)
		return; /* not parked, or not in the wait the handler ran during */
	int bits = t->intr_bits;
	bool intr = t->reason == CAP_WAIT_POLL || t->reason == CAP_WAIT_SLEEP ||
		    (t->reason == CAP_WAIT_IO && (bits & CAP_SIG_INTR));
	if (intr) {
		t->intr_bits = 0;
		cap__wake(t, EINTR);
	}
}

uint32_t cap__intr_begin(void) { return ++cap__w->current->intr_epoch; }

bool cap__intr_since(uint32_t epoch, int bits)
{
	struct cap_thread *t = cap__w->current;
	if ((int32_t)(t->intr_seen - epoch) < 0 || !(t->intr_bits & bits))
		return false;
	t->intr_bits = 0;
	return true;
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
