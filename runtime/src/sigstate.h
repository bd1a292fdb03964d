/* Signals as the runtime keeps them, shared by the program's handlers
 * (signal_sys.c), routing a handler's run to the thread it interrupts
 * (signal.c), per-thread masks (sigmask.c) and waits that signals end
 * (sigwait.c).
 *
 * Every user thread runs on one worker kernel thread, whose kernel signal
 * mask is the running thread's (switched when a thread with another mask
 * runs).  A handler the kernel runs is attributed to the thread it is for,
 * which pthread_self() names inside it; a thread parked in a call that the
 * handler interrupts is woken with EINTR. */
#ifndef CAP_SIGSTATE_H
#define CAP_SIGSTATE_H
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define CAP_SIGBIT(sig) (1ull << ((sig) - 1))

struct cap_thread;
struct cap_worker;

/* Signals whose handler the program installed with SA_RESTART
 * (signal_sys.c keeps them). */
extern uint64_t cap__sig_restart;
/* Signals no mask of the program blocks: SIGKILL, SIGSTOP, the runtime's
 * own sampler signal. */
extern uint64_t cap__sig_reserved;

/* How the trampoline attributes a handler run.  NORMAL: to the thread the
 * kernel would pick (the pthread_kill target; else main if it accepts the
 * signal; else the running thread; else a waiting thread that accepts it).
 * TAKE: to the running thread, which is taking its pending signals.  SPARE:
 * the running thread does not accept it (the runtime lets through a signal
 * that waited for another thread). */
enum { CAP_SIGRUN_NORMAL, CAP_SIGRUN_TAKE, CAP_SIGRUN_SPARE }; /* worker->sig.mode */


/* A wait that signals end: sigwait and friends take `take` without a
 * handler; a handler of a signal in `accept` ends the wait with EINTR.
 * The thread blocks every signal meanwhile (its mask is restored at the
 * end): they stay pending until the waiter takes them itself, which a
 * signalfd on take|accept tells it to do. */
struct cap_sigwait {
	struct cap_sigwait *next, *prev; /* cap__sigwaiters */
	struct cap_thread *t;
	uint64_t take, accept;
	uint64_t own; /* the thread's mask before the wait */
	int sfd;      /* signalfd, -1: none (the wait looks again every millisecond) */
	int given;    /* a signal the trampoline handed over, with its info */
	siginfo_t given_info;
};
/* Process-wide, as a process-directed signal may go to any waiter. */
extern struct cap_sigwait *cap__sigwaiters;

static inline struct cap_sigwait *cap__sigwait_of(struct cap_thread *t)
{
	for (struct cap_sigwait *sw = cap__sigwaiters; sw; sw = sw->next)
		if (sw->t == t)
			return sw;
	return (struct cap_sigwait *)0;
}

static inline uint64_t cap__sigset_bits(const sigset_t *s) { return *(const uint64_t *)(const void *)s; }

/* signal_sys.c: a process signal an idle worker took that no thread
 * accepts any more goes back to the process, from any worker. */
void cap__sig_requeue(int sig, const siginfo_t *si);

/* signal.c */
int cap__sig_interrupts(struct cap_thread *t, int sig); /* -EINTR: a handler run for sig ends t's wait */
/* For a call that parks more than once (park, look, park again):
 * cap__intr_begin marks its start; cap__intr_since says whether a handler
 * without SA_RESTART ran for the calling thread since — while the call ran
 * between its waits, where there was no wait to interrupt. */
uint32_t cap__intr_begin(void);
bool cap__intr_since(uint32_t mark);

/* sigmask.c */
#define CAP_SIG_ALL (~cap__sig_reserved)
void cap__sig_setmask(struct cap_thread *t, uint64_t mask);   /* the running thread's mask */
int cap__sig_take_handlers(struct cap_thread *t, uint64_t accept); /* 1: a handler ran */
int cap__sig_send(struct cap_thread *t, int sig);            /* pthread_kill to a user thread */
/* A system call that applies a signal mask of its own: handlers it lets
 * run are the caller's. */
long cap__sys_masked(long nr, long a, long b, long c, long d, long e, long f);

/* sigwait.c */
struct cap_pollwait;
void cap__sigwait_begin(struct cap_sigwait *sw, uint64_t take, uint64_t accept);
/* Take a pending signal of `take` (sent to t first), 0: none. */
int cap__sigwait_take(struct cap_thread *t, uint64_t take, struct cap_sigwait *sw, siginfo_t *info);
int cap__sigwait_check(struct cap_sigwait *sw, siginfo_t *info); /* 0, -EINTR, or a taken signal (> 0) */
/* Park on fds ids[0..n) and the signals that end the wait (sw may be NULL);
 * nodes and ids have room for n + 1. */
int cap__sigwait_park(struct cap_sigwait *sw, struct cap_pollwait *nodes, int *ids, int n, uint64_t deadline,
		      int why);
void cap__sigwait_end(struct cap_sigwait *sw);
#endif
