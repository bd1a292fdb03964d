/* A process signal that the runtime gives back to the kernel
 * (signal_sys.c: cap__sig_requeue).  An idle worker whose kernel mask was
 * set while some thread still accepted a signal may take it after the
 * last such thread blocked it or ended; it then puts the signal back in
 * the process's pending set, for a sigwait or an unblocking thread to
 * take.  The kernel lets only the thread whose id is the process's queue
 * the siginfo of a kill() there: from any other worker the signal was
 * lost.  Called here from each worker in turn, as that idle worker would. */
#define _GNU_SOURCE
#include "tap.h"
#include "sigstate.h"

#include <capriccio.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static siginfo_t sent_by(pid_t pid)
{
	siginfo_t si;
	memset(&si, 0, sizeof si);
	si.si_signo = SIGUSR2;
	si.si_code = SI_USER;
	si.si_pid = pid;
	si.si_uid = getuid();
	return si;
}

static bool pending(void)
{
	sigset_t s;
	return sigpending(&s) == 0 && sigismember(&s, SIGUSR2);
}

/* SIGUSR2 taken at once, its siginfo in *got; 0: it was not pending. */
static int take(siginfo_t *got)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	memset(got, 0, sizeof *got);
	int r = sigtimedwait(&s, got, &(struct timespec){ 0, 0 });
	return r < 0 ? 0 : r;
}

/* From every worker: pending afterwards, with what a reader of its
 * siginfo needs.  One the process sent itself keeps its siginfo whole;
 * one from another process keeps its sender, and says SI_QUEUE from any
 * worker but the first (whose thread id is the process's). */
static void a_signal_given_back_stays_pending_from_any_worker(void)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	CHECK_EQ(pthread_sigmask(SIG_BLOCK, &s, NULL), 0); /* by every thread: this is the only one */
	for (unsigned w = 0; w < cap_workers() && w < 4; w++) {
		CHECK_EQ(cap_bind(w), 0);
		siginfo_t got, si = sent_by(getpid());
		cap__sig_requeue(SIGUSR2, &si);
		CHECK(pending());
		CHECK_EQ(take(&got), SIGUSR2);
		CHECK_EQ(got.si_code, SI_USER);
		CHECK_EQ(got.si_pid, getpid());

		si = sent_by(getppid());
		cap__sig_requeue(SIGUSR2, &si);
		CHECK(pending());
		CHECK_EQ(take(&got), SIGUSR2);
		CHECK_EQ(got.si_pid, getppid());
		CHECK_EQ(got.si_uid, getuid());
		CHECK_EQ(got.si_code, w == 0 ? SI_USER : SI_QUEUE);
		CHECK(!pending());
	}
	printf("  given back from %u worker(s)\n", cap_workers() < 4 ? cap_workers() : 4);
}

int main(void)
{
	RUN(a_signal_given_back_stays_pending_from_any_worker);
	TAP_DONE();
}
