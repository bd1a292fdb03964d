/* Delivering EINTR.  A kernel thread blocked in a system call returns EINTR
 * when a signal handler runs for it (unless SA_RESTART says to restart the
 * call, but not on a socket with a timeout; poll, select, epoll, sleeps
 * and the signal waits are interrupted regardless).  Here the worker itself takes the signal and the trampoline
 * (signal_sys.c) names the thread it ran for; if that thread is parked in
 * a call the handler interrupts, it is woken with EINTR — in the wait it ran
 * during, never a later one.  A call that parks more than once (park, look,
 * park again) asks cap__intr_since between its waits.  A call annotated as
 * blocking runs on a helper kernel thread: there the signal interrupts the
 * system call itself, and the kernel restarts it or not (pool.h). */
#include "io.h"
#include "pool.h"
#include "sigstate.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

int cap__sig_interrupts(struct cap_thread *t, int sig)
{
	if (t->flags & CAP_F_SIGWAIT)
		return -EINTR;
	switch (t->reason) {
	case CAP_WAIT_POLL:
	case CAP_WAIT_SLEEP:
		return -EINTR;
	case CAP_WAIT_IO: /* a socket with a timeout is not restarted (signal(7)) */
		return (cap__sig_restart & CAP_SIGBIT(sig)) && !(t->flags & CAP_F_SOCK_TIMEO) ? 0 : -EINTR;
	default:
		return 0; /* locks, joins, disk: the kernel restarts them */
	}
}

void cap__signals_deliver(struct cap_worker *w)
{
	uint64_t v;
	if (w->sig.efd >= 0)
		cap_sys3(SYS_read, w->sig.efd, &v, sizeof v);
	uint64_t ran = atomic_exchange(&w->sig.ran, 0);
	while (ran) {
		int sig = __builtin_ctzll(ran) + 1;
		ran &= ran - 1;
		struct cap_sigrun r = w->sig.runs[sig];
		struct cap_thread *t = r.target;
		if (!t || t->id != r.target_id || t->state != CAP_BLOCKED)
			continue; /* ended, or not parked */
		if (t->reason == CAP_WAIT_EXTERN) { /* in an annotated call: the kernel decides, on its helper */
			cap__pool_handlers_ran((struct cap_job *)t->wait_obj);
			continue;
		}
		if (t == r.in || t->waits != r.target_waits)
			continue; /* ran while it ran, or in an earlier wait */
		if (r.handoff)
			cap__wake(t, 0); /* its sigwait takes the signal */
		else if (cap__sig_interrupts(t, sig))
			cap__wake(t, -EINTR);
	}
}

/* Handlers wake the idle worker through this eventfd (a forked child
 * makes its own: the parent's is shared). */
void cap__signals_init(struct cap_worker *w)
{
	if (w->sig.efd >= 0 && cap_sys1(SYS_close, w->sig.efd) == 0)
		cap__fds_runtime(-1);
	w->sig.efd = -1;
	long fd = cap_sys2(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd >= 0)
		cap__fds_runtime(1);
	if (fd >= 0 && cap__io_add_internal((int)fd, CAP_TAG_SIGNAL + w->id) == 0)
		w->sig.efd = (int)fd;
}

/* Handlers never run on a thread's small chunk: the kernel's signal frame
 * alone can be larger than a chunk.  An alternate stack is per kernel
 * thread, so each worker has its own. */
#define CAP_ALTSTACK_BYTES (64u << 10)
void cap__sig_altstack_init(struct cap_worker *w)
{
	(void)w;
	long p = cap_sys6(SYS_mmap, 0, CAP_ALTSTACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p < 0 && p > -4096)
		return;
	stack_t ss = { .ss_sp = (void *)p, .ss_size = CAP_ALTSTACK_BYTES, .ss_flags = 0 };
	cap_sys2(SYS_sigaltstack, &ss, NULL);
}

uint32_t cap__intr_begin(void) { return cap__w->current->intr_runs; }

bool cap__intr_since(uint32_t mark) { return cap__w->current->intr_runs != mark; }
