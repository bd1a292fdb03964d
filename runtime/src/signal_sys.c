/* sigaction/signal as the program sees them.  Handlers the program installs
 * are run through a trampoline on the worker's alternate signal stack (a
 * kernel signal frame does not fit on a small first chunk), and each run is
 * noted so the scheduler can interrupt the parked thread (signal.c).
 * Compiled without -fsplit-stack. */
#include "internal.h"
#include "sigstate.h"

#include <errno.h>
#include <string.h>

extern int __sigaction(int, const struct sigaction *, struct sigaction *);

struct cap_thread *_Atomic cap__sig_target;
struct cap_thread *_Atomic cap__sig_waiter;
int cap__sig_efd = -1;
volatile int cap__in_handler;

static struct sigaction cap__user[_NSIG];
static unsigned char cap__installed[_NSIG];

struct sigaction *cap__sig_user_action(int sig)
{
	return (sig > 0 && sig < _NSIG && cap__installed[sig]) ? &cap__user[sig] : NULL;
}

static void cap__trampoline(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	struct sigaction *u = &cap__user[sig];
	/* The handler runs on the signal stack, on top of whatever thread was
	 * interrupted: the calls it makes must not park (io.h: cap__can_park). */
	cap__in_handler++;
	if (u->sa_flags & SA_SIGINFO)
		u->sa_sigaction(sig, si, uc);
	else if (u->sa_handler != SIG_IGN && u->sa_handler != SIG_DFL)
		u->sa_handler(sig);
	cap__in_handler--;
	struct cap_thread *t = atomic_exchange(&cap__sig_target, NULL);
	if (!t && cap__w)
		t = cap__w->main_thread;
	if (t) {
		if (t->intr_seen != t->intr_epoch) {
			t->intr_bits = 0;
			t->intr_seen = t->intr_epoch;
		}
		t->intr_bits |= CAP_SIG_INTR_POLL | ((u->sa_flags & SA_RESTART) ? 0 : CAP_SIG_INTR);
		atomic_store(&cap__sig_waiter, t);
	}
	if (cap__sig_efd >= 0) {
		uint64_t one = 1;
		cap_sys3(SYS_write, cap__sig_efd, &one, sizeof one);
	}
	errno = saved;
}

int sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (sig <= 0 || sig >= _NSIG || sig == SIGKILL || sig == SIGSTOP)
		return __sigaction(sig, act, old);
	struct sigaction prev;
	if (cap__installed[sig])
		prev = cap__user[sig];
	else if (__sigaction(sig, NULL, &prev) != 0)
		return -1;
	if (act) {
		bool handler = (act->sa_flags & SA_SIGINFO) ? act->sa_sigaction != NULL
							    : (act->sa_handler != SIG_DFL && act->sa_handler != SIG_IGN);
		if (sig == SIGSEGV || sig == SIGBUS) {
			/* Our overflow reporter stays first; it passes other faults on. */
			cap__user[sig] = *act;
			cap__installed[sig] = handler;
			if (!handler && __sigaction(sig, act, NULL) != 0)
				return -1;
		} else if (handler) {
			cap__user[sig] = *act;
			struct sigaction k = *act;
			k.sa_sigaction = cap__trampoline;
			k.sa_flags |= SA_SIGINFO | SA_ONSTACK;
			if (__sigaction(sig, &k, NULL) != 0)
				return -1;
			cap__installed[sig] = 1;
		} else {
			if (__sigaction(sig, act, NULL) != 0)
				return -1;
			cap__installed[sig] = 0;
		}
	}
	if (old)
		*old = prev;
	return 0;
}

sighandler_t signal(int sig, sighandler_t h)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = h;
	sa.sa_flags = SA_RESTART; /* glibc's signal() has BSD semantics */
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, &old) != 0)
		return SIG_ERR;
	return old.sa_handler;
}
sighandler_t bsd_signal(int sig, sighandler_t h) __attribute__((alias("signal"), leaf, nothrow));
