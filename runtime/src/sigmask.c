/* Per-thread signal masks.  Each user thread has its own mask (inherited
 * from its creator); the worker's kernel mask is the running thread's, set
 * again only when a thread with another mask runs, so programs whose
 * threads share one mask never pay a system call for it.
 *
 * Two things keep a signal from waiting for the wrong thread:
 * - a signal pthread_kill sends to a thread that blocks it stays pending
 *   for that thread alone (t->sigpend) until it unblocks or takes it;
 * - a process-directed signal that the running thread blocks but another
 *   thread accepts is let through when the scheduler idles (its epoll wait
 *   uses the mask "blocked by every thread") or, on a busy worker, at the
 *   periodic poll (cap__sig_spare), and runs for an accepting thread. */
#include "io.h"
#include "sigstate.h"
#include "mn.h"

#include <errno.h>
#include <signal.h>

/* Counts a thread whose mask `m` blocks something (d 1) or no longer
 * counts it (d -1): in the slot of its mask, one atomic add on every
 * spawn and exit whatever the mask (a program that blocks a few signals
 * in all its threads, to take them in one, paid one per signal blocked).
 * Slots are given out lowest first and never taken back, so the ones in
 * use are a prefix and a mask's slot is the first that holds it. */
static void cap__sig_count(uint64_t m, int d)
{
	if (!m)
		return;
	struct cap_sig_ctx *c = &cap__mn.workers[0]->sig; /* process-wide counts: worker 0 takes the signals */
	for (int i = 0; i < CAP_SIG_MASKS; i++) {
		uint64_t s = atomic_load_explicit(&c->masks[i], memory_order_relaxed);
		if (!s) {
			if (d < 0)
				break; /* not in a slot: it was counted per signal */
			if (!atomic_compare_exchange_strong(&c->masks[i], &s, m) && s != m)
				continue; /* another mask took it */
			s = m;
		}
		if (s == m) {
			__atomic_fetch_add(&c->nmask[i], (uint32_t)d, __ATOMIC_RELAXED);
			return;
		}
	}
	__atomic_fetch_add(&c->nmasked, (uint32_t)d, __ATOMIC_RELAXED);
	for (; m; m &= m - 1)
		__atomic_fetch_add(&c->nblk[__builtin_ctzll(m)], (uint32_t)d, __ATOMIC_RELAXED);
}

static inline long cap__sigprocmask(uint64_t m) { return cap_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &m, NULL, 8); }



static inline void cap__tgkill_self(int sig)
{
	cap_sys3(SYS_tgkill, cap_sys0(SYS_getpid), cap_sys0(SYS_gettid), sig);
}

void cap__sig_kmask(struct cap_worker *w, uint64_t m)
{
	if (w->kmask == m)
		return;
	/* Signals pending for the process that m lets through run now, for
	 * the thread that runs from here on. */
	int mode = cap__w->sig.mode;
	cap__w->sig.mode = CAP_SIGRUN_TAKE;
	cap__sigprocmask(m);
	cap__w->sig.mode = mode;
	w->kmask = m;
	w->sched.sigmask = m;
}

uint64_t cap__sig_idle_mask(struct cap_worker *w)
{
	const struct cap_sig_ctx *c = &cap__mn.workers[0]->sig;
	(void)w;
	uint64_t m = ~0ull, s;
	uint32_t n = c->nmasked;
	for (int i = 0; i < CAP_SIG_MASKS && (s = atomic_load_explicit(&c->masks[i], memory_order_relaxed)); i++) {
		uint32_t k = __atomic_load_n(&c->nmask[i], __ATOMIC_RELAXED); /* read once: the count and the mask go together */
		if (k) {
			n += k;
			m &= s;
		}
	}
	if (!n || n < cap__mn.nthreads)
		return 0; /* a thread with an empty mask accepts everything */
	for (int i = 0; i < CAP_NSIG && c->nmasked; i++)
		if (c->nblk[i] != c->nmasked)
			m &= ~(1ull << i);
	return m & ~cap__sig_reserved;
}

void cap__sig_idle_settle(struct cap_worker *w)
{
	for (;;) {
		uint64_t m = cap__sig_idle_mask(w);
		if (m != w->kmask)
			cap__sig_kmask(w, m);
		cap__sig_idle_publish(w, m); /* seq_cst: a store-load fence before the look again */
		if (cap__sig_idle_mask(w) == m)
			return;
	}
}

/* A thread just blocked `s`, which no thread accepts any more: returns once
 * no idle worker's kernel lets them through, as none would under glibc.
 * Else a process signal sent right after could run on an idle worker with
 * the mask it computed before, which can only queue it back to the
 * process (signal_sys.c), a moment too late for a sigtimedwait or
 * sigpending that follows the kill.  Idle workers are woken to look again
 * (cap__mn_nudge); rare, and over in microseconds. */
static void cap__sig_quiesce(uint64_t s)
{
	struct cap_worker *self = cap__w;
	atomic_thread_fence(memory_order_seq_cst); /* the counts written, before the looks */
	for (uint32_t i = 0; i < cap__mn.n; i++) {
		struct cap_worker *v = cap__mn.workers[i];
		for (uint32_t k = 0; v != self && (~atomic_load(&v->sig.idle_kmask) & s); k++) {
			if (k % 16 == 0)
				cap__mn_nudge(v);
			cap_sys0(SYS_sched_yield); /* its kernel thread may need this core */
		}
	}
}

void cap__sig_spare(struct cap_worker *w)
{
	if (!w->kmask)
		return;
	uint64_t idle = cap__sig_idle_mask(w), late = w->kmask & ~idle, pending = 0;
	if (!late || cap_sys2(SYS_rt_sigpending, &pending, 8) < 0 || !(pending & late))
		return;
	cap__w->sig.mode = CAP_SIGRUN_SPARE;
	cap__sigprocmask(idle);
	cap__sigprocmask(w->kmask);
	cap__w->sig.mode = CAP_SIGRUN_NORMAL;
}

void cap__sig_spawned(struct cap_worker *w, struct cap_thread *t)
{
	struct cap_thread *cur = w->current;
	t->sigmask = cur && cur != &w->sched ? cur->sigmask : w->kmask;
	t->sigpend = 0;
	cap__sig_count(t->sigmask, 1);
}

void cap__sig_exited(struct cap_thread *t) { cap__sig_count(t->sigmask, -1); }

/* Run t's pending signals in `due` (t runs, and now accepts them). */
static void cap__sig_raise(struct cap_thread *t, uint64_t due)
{
	due = __atomic_fetch_and(&t->sigpend, ~due, __ATOMIC_RELAXED) & due;
	if (!due)
		return;
	cap__w->sig.mode = CAP_SIGRUN_TAKE;
	for (; due; due &= due - 1)
		cap__tgkill_self(__builtin_ctzll(due) + 1);
	cap__w->sig.mode = CAP_SIGRUN_NORMAL;
}

void cap__sig_setmask(struct cap_thread *t, uint64_t m)
{
	m &= ~cap__sig_reserved;
	if (m != t->sigmask) {
		cap__sig_count(t->sigmask, -1);
		cap__sig_count(m, 1);
		t->sigmask = m;
		cap__sig_kmask(cap__w, m);
	}
	uint64_t due = __atomic_load_n(&t->sigpend, __ATOMIC_RELAXED) & ~m;
	if (due)
		cap__sig_raise(t, due);
}

int cap__sig_take_handlers(struct cap_thread *t, uint64_t accept)
{
	struct cap_worker *w = cap__w;
	unsigned before = atomic_load(&cap__w->sig.nruns);
	cap__w->sig.mode = CAP_SIGRUN_TAKE;
	cap__sigprocmask(~accept & ~cap__sig_reserved); /* the kernel runs what is pending */
	uint64_t mine = __atomic_fetch_and(&t->sigpend, ~accept, __ATOMIC_RELAXED) & accept;
	for (; mine; mine &= mine - 1)
		cap__tgkill_self(__builtin_ctzll(mine) + 1);
	cap__sigprocmask(w->kmask);
	cap__w->sig.mode = CAP_SIGRUN_NORMAL;
	return atomic_load(&cap__w->sig.nruns) != before;
}

int cap__sig_send(struct cap_thread *t, int sig)
{
	struct cap_worker *w = cap__w;
	uint64_t bit = CAP_SIGBIT(sig);
	if (t->flags & CAP_F_SIGWAIT) {
		struct cap_sigwait *sw = cap__sigwait_of(t);
		__atomic_fetch_or(&t->sigpend, bit, __ATOMIC_RELAXED);
		if (sw && ((sw->take | sw->accept) & bit)) {
			cap__mn_lock();
			cap__wake(t, 0); /* it takes the signal itself */
			cap__mn_unlock(w);
		}
		return 0;
	}
	if (t->sigmask & bit) {
		__atomic_fetch_or(&t->sigpend, bit, __ATOMIC_RELAXED);
		return 0;
	}
	/* t accepts it: its handler runs now, for t, under t's mask. */
	atomic_store(&cap__w->sig.target, t);
	if (w->kmask & bit) {
		cap__w->sig.mode = CAP_SIGRUN_SPARE;
		cap__sigprocmask(t->sigmask);
		cap__tgkill_self(sig);
		cap__sigprocmask(w->kmask);
		cap__w->sig.mode = CAP_SIGRUN_NORMAL;
	} else {
		cap__tgkill_self(sig);
	}
	atomic_store(&cap__w->sig.target, NULL); /* not taken: ignored, or the default action */
	return 0;
}

long cap__sys_masked(long nr, long a, long b, long c, long d, long e, long f)
{
	cap__w->sig.mode = CAP_SIGRUN_TAKE;
	long r = cap_sys6(nr, a, b, c, d, e, f);
	cap__w->sig.mode = CAP_SIGRUN_NORMAL;
	return r;
}

/* ---- The calls ----------------------------------------------------------- */

/* glibc keeps its own two signals (cancellation, setxid) out of masks. */
#define CAP_SIG_GLIBC (CAP_SIGBIT(32) | CAP_SIGBIT(33))

int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	struct cap_worker *w = cap__w;
	/* Outside a user thread, and inside a handler (whose mask the kernel
	 * restores when it returns), the mask is the kernel's. */
	if (!w || w->current == &w->sched || w->sig.in_handler) {
		uint64_t m = set ? cap__sigset_bits(set) & ~CAP_SIG_GLIBC : 0;
		return (int)-cap_sys4(SYS_rt_sigprocmask, how, set ? &m : NULL, old, 8);
	}
	struct cap_thread *t = w->current;
	uint64_t cur = t->sigmask, m = cur;
	if (set) {
		uint64_t s = cap__sigset_bits(set) & ~CAP_SIG_GLIBC;
		switch (how) {
		case SIG_BLOCK: m |= s; break;
		case SIG_UNBLOCK: m &= ~s; break;
		case SIG_SETMASK: m = s; break;
		default: return EINVAL;
		}
	}
	if (old)
		*(uint64_t *)(void *)old = cur;
	if (set) {
		cap__sig_setmask(t, m);
		uint64_t blocked = m & ~cur, stale;
		if (CAP_UNLIKELY(blocked) && cap__mn.n > 1 && (stale = blocked & cap__sig_idle_mask(w)))
			cap__sig_quiesce(stale); /* just blocked, by every thread now */
	}
	return 0;
}

int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	int e = pthread_sigmask(how, set, old);
	if (e) {
		cap__set_errno(e);
		return -1;
	}
	return 0;
}

int sigpending(sigset_t *set)
{
	uint64_t k = 0;
	long r = cap_sys2(SYS_rt_sigpending, &k, 8);
	if (r < 0) {
		cap__set_errno((int)-r);
		return -1;
	}
	struct cap_worker *w = cap__w;
	if (w && w->current != &w->sched)
		k |= __atomic_load_n(&w->current->sigpend, __ATOMIC_RELAXED);
	*(uint64_t *)(void *)set = k; /* as the kernel: the first word only */
	return 0;
}
