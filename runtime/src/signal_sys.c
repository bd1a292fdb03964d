/* sigaction/signal as the program sees them.  Handlers the program installs
 * are run through a trampoline on the worker's alternate signal stack (a
 * kernel signal frame does not fit on a small first chunk).  The trampoline
 * runs the handler as the thread it is for (sigstate.h) and notes the run,
 * so the scheduler can interrupt that thread if it is parked (signal.c).
 * Compiled without -fsplit-stack. */
#include "internal.h"
#include "sigstate.h"
#include "mn.h"

#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern int __sigaction(int, const struct sigaction *, struct sigaction *);

/* Process-wide, as sigaction is: the program's handlers and their flags.
 * What a handler's run did is the worker's (ctx.h: struct cap_sig_ctx). */
uint64_t cap__sig_restart;
uint64_t cap__sig_reserved = CAP_SIGBIT(SIGKILL) | CAP_SIGBIT(SIGSTOP);

static struct sigaction cap__user[_NSIG];
static unsigned char cap__installed[_NSIG];

struct sigaction *cap__sig_user_action(int sig)
{
	return (sig > 0 && sig < _NSIG && cap__installed[sig]) ? &cap__user[sig] : NULL;
}

/* Does t take sig now?  Its mask says, or the wait it is in. */
static bool cap__takes(struct cap_thread *t, uint64_t bit, struct cap_sigwait **swp)
{
	*swp = NULL;
	if (!t || t->state == CAP_DONE)
		return false;
	if (!(t->flags & CAP_F_SIGWAIT))
		return !(t->sigmask & bit);
	struct cap_sigwait *sw = cap__sigwait_of(t);
	if (!sw || !((sw->take | sw->accept) & bit))
		return false;
	*swp = sw;
	return true;
}

/* The thread the kernel would have given a process-directed signal: main
 * first, then the running thread (`in`; it accepted the signal), then a
 * thread waiting for signals, then any that accepts it.  Lists are read
 * only when nothing runs (in == NULL: the scheduler idles or spares). */
static struct cap_thread *cap__pick(struct cap_worker *w, struct cap_thread *in, uint64_t bit,
				    struct cap_sigwait **swp)
{
	if (cap__takes(cap__mn.main_thread, bit, swp))
		return cap__mn.main_thread;
	if (in)
		return in;
	for (struct cap_sigwait *sw = cap__sigwaiters; sw; sw = sw->next)
		if ((sw->take | sw->accept) & bit) {
			*swp = sw;
			return sw->t;
		}
	for (struct cap_thread *t = cap__mn.all; t; t = t->all_next)
		if (!(t->flags & CAP_F_SIGWAIT) && !(t->sigmask & bit))
			return t;
	return NULL;
}

static void cap__note_run(struct cap_worker *w, int sig, struct cap_thread *target, struct cap_thread *in, int handoff)
{
	struct cap_sigrun *r = &w->sig.runs[sig];
	r->target = target;
	r->in = in;
	r->target_id = target ? target->id : 0;
	r->target_waits = target ? target->waits : 0;
	r->handoff = handoff;
	atomic_fetch_or(&w->sig.ran, CAP_SIGBIT(sig));
	if (w->sig.efd >= 0) {
		uint64_t one = 1;
		cap_sys3(SYS_write, w->sig.efd, &one, sizeof one);
	}
}

/* A SIGCHLD whose child is already reaped: it announced an exit some wait
 * has returned.  The kernel delivers it before or as that wait returns;
 * here it runs on whichever worker the kernel chose, which may get to it
 * later, once the thread waits for another child — and that wait must
 * not take it for a new signal (EINTR). */
static bool cap__sigchld_stale(int sig, const siginfo_t *si)
{
	if (sig != SIGCHLD || (si->si_code != CLD_EXITED && si->si_code != CLD_KILLED && si->si_code != CLD_DUMPED))
		return false;
	siginfo_t probe;
	return cap_sys5(SYS_waitid, P_PID, si->si_pid, &probe, WEXITED | WNOHANG | WNOWAIT, NULL) == -ECHILD;
}

/* Back to the process's pending set, as the kernel queued it.  The kernel
 * lets only the thread whose id is the process's queue a siginfo of kill()'s
 * or its own (si_code >= 0) to the process: from any other worker
 * rt_sigqueueinfo fails (EPERM), and the signal was lost, neither run nor
 * pending (posix_sigwait many_masks_..., in half the runs on 4 workers
 * with both cores busy).  There, a signal the process sent itself goes
 * again by kill(), whose siginfo is the same; any other keeps its sender
 * (si_pid, si_uid) but says SI_QUEUE. */
void cap__sig_requeue(int sig, const siginfo_t *si)
{
	long pid = cap_sys0(SYS_getpid);
	if (cap_sys3(SYS_rt_sigqueueinfo, pid, sig, si) == 0)
		return;
	if (si->si_code == SI_USER && si->si_pid == pid && si->si_uid == (uid_t)cap_sys0(SYS_getuid)) {
		cap_sys2(SYS_kill, pid, sig);
		return;
	}
	siginfo_t q = *si;
	q.si_code = SI_QUEUE;
	cap_sys3(SYS_rt_sigqueueinfo, pid, sig, &q);
}

static void cap__trampoline(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;
	struct sigaction *u = &cap__user[sig];
	struct cap_worker *w = cap__w;
	struct cap_thread *cur = NULL, *in = NULL, *target = NULL;
	if (w && sig <= CAP_NSIG) {
		uint64_t bit = CAP_SIGBIT(sig);
		struct cap_sigwait *sw = NULL;
		cur = w->current;
		in = (cur == &w->sched || w->sig.mode == CAP_SIGRUN_SPARE) ? NULL : cur;
		if (w->sig.mode == CAP_SIGRUN_TAKE)
			target = in;
		else if (si->si_code == SI_TKILL && si->si_pid == getpid())
			target = atomic_exchange(&w->sig.target, NULL); /* pthread_kill */
		if (!target)
			target = cap__pick(w, in, bit, &sw);
		if (!target && !in && w->sig.mode == CAP_SIGRUN_NORMAL && si->si_code != SI_TKILL) {
			/* An idle worker took a process signal that no thread accepts
			 * any more (its mask was set before the last one that did
			 * ended or blocked it): back to the process's pending set,
			 * blocked here, as if no thread had been able to take it. */
			sigaddset(&((ucontext_t *)uc)->uc_sigmask, sig);
			cap__sig_requeue(sig, si);
			errno = saved;
			return;
		}
		if (sw && (sw->take & bit) && !sw->given) {
			/* sigwait takes it (the kernel would have woken that
			 * thread, the handler would not have run) */
			sw->given = sig;
			sw->given_info = *si;
			__atomic_fetch_or(&target->sigpend, bit, __ATOMIC_RELAXED);
			cap__note_run(w, sig, target, in, 1);
			errno = saved;
			return;
		}
		if (target && target != &w->sched)
			w->current = target; /* pthread_self() in the handler names it */
		else
			target = NULL;
	}
	/* The handler runs on the signal stack, on top of whatever thread was
	 * interrupted: the calls it makes must not park (io.h: cap__can_park). */
	if (w)
		w->sig.in_handler++;
	if (u->sa_flags & SA_SIGINFO)
		u->sa_sigaction(sig, si, uc);
	else if (u->sa_handler != SIG_IGN && u->sa_handler != SIG_DFL)
		u->sa_handler(sig);
	if (w) {
		w->sig.in_handler--;
		w->current = cur;
		if (target && cap__sigchld_stale(sig, si))
			target = NULL; /* ran, but interrupts nothing */
		if (target) { /* before cap__note_run: what it wakes reads them */
			if (!(u->sa_flags & SA_RESTART))
				__atomic_add_fetch(&target->intr_runs, 1, __ATOMIC_RELAXED);
			__atomic_add_fetch(&target->handler_runs, 1, __ATOMIC_RELAXED);
		}
		atomic_fetch_add(&w->sig.nruns, 1);
		if (sig <= CAP_NSIG)
			cap__note_run(w, sig, target, in, 0);
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
			if (act->sa_flags & SA_RESTART)
				__atomic_or_fetch(&cap__sig_restart, CAP_SIGBIT(sig), __ATOMIC_RELAXED);
			else
				__atomic_and_fetch(&cap__sig_restart, ~CAP_SIGBIT(sig), __ATOMIC_RELAXED);
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
