/* Waiting for signals parks only the waiting thread, with glibc's results:
 * sigwait, sigwaitinfo and sigtimedwait take a signal of their set (its
 * handler does not run), sigtimedwait times out with EAGAIN, a handler of
 * another signal interrupts them (never restarted; sigwait waits on);
 * sigsuspend and pause return -1/EINTR once a handler ran in the thread;
 * masks are per thread.  main blocks SIGUSR1 and SIGUSR2 before any thread
 * starts, so every thread does unless it unblocks them. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>
#include "ticker.h"
#include "sigtest.h"

static sigset_t usr1;

/* A POSIX timer: a process-directed signal after `ms`, from no thread
 * (so a call that blocks every thread still gets it, and fails the ticker
 * check instead of hanging). */
static timer_t arm(int sig, long ms)
{
	timer_t t;
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = sig };
	ev.sigev_value.sival_int = 42;
	timer_create(CLOCK_MONOTONIC, &ev, &t);
	struct itimerspec when = { .it_value = { ms / 1000, (ms % 1000) * 1000000L } };
	timer_settime(t, 0, &when, NULL);
	return t;
}

static void sigwait_parks_only_its_caller(void)
{
	sig_install(SIGUSR1, sig_record, 0);
	sig_reset();
	timer_t tm = arm(SIGUSR1, 200);
	int sig = 0;
	TICKER_OPEN();
	int r = sigwait(&usr1, &sig);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, 0);
	CHECK_EQ(sig, SIGUSR1);
	CHECK_EQ(sig_runs, 0); /* taken, not handled */
	timer_delete(tm);
}

static void sigwaitinfo_parks_only_its_caller(void)
{
	timer_t tm = arm(SIGUSR1, 200);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	TICKER_OPEN();
	int r = sigwaitinfo(&usr1, &si);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, SIGUSR1);
	CHECK_EQ(si.si_signo, SIGUSR1);
	CHECK_EQ(si.si_code, SI_TIMER);
	CHECK_EQ(si.si_value.sival_int, 42);
	timer_delete(tm);
}

static void sigtimedwait_times_out_parking_only_its_caller(void)
{
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	siginfo_t si;
	errno = 0;
	TICKER_OPEN();
	int r = sigtimedwait(&usr1, &si, &ts);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, -1);
	CHECK_EQ(errno, EAGAIN);
}

static void sigsuspend_parks_only_its_caller(void)
{
	sig_install(SIGUSR1, sig_record, 0);
	sig_reset();
	timer_t tm = arm(SIGUSR1, 200);
	sigset_t open = sig_mask_without(SIGUSR1);
	errno = 0;
	TICKER_OPEN();
	int r = sigsuspend(&open);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, -1);
	CHECK_EQ(errno, EINTR);
	CHECK_EQ(sig_runs, 1);
	CHECK(pthread_equal(sig_ran_in, pthread_self()));
	CHECK(sig_is_blocked(SIGUSR1)); /* its own mask is back */
	timer_delete(tm);
}

static void pause_parks_only_its_caller(void)
{
	sig_install(SIGUSR1, sig_record, SA_RESTART); /* pause returns EINTR regardless */
	sig_reset();
	sig_mask(SIG_UNBLOCK, SIGUSR1); /* main alone accepts it */
	timer_t tm = arm(SIGUSR1, 200);
	errno = 0;
	TICKER_OPEN();
	int r = pause();
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, -1);
	CHECK_EQ(errno, EINTR);
	CHECK_EQ(sig_runs, 1);
	CHECK(pthread_equal(sig_ran_in, pthread_self()));
	sig_mask(SIG_BLOCK, SIGUSR1);
	timer_delete(tm);
}

static void *kill_process_later(void *arg)
{
	sleep_ms(30);
	kill(getpid(), *(int *)arg);
	return NULL;
}

struct directed {
	pthread_t target;
	int sig;
};

static void *kill_thread_later(void *arg)
{
	struct directed *d = arg;
	sleep_ms(30);
	pthread_kill(d->target, d->sig);
	return NULL;
}

/* A signal sent to the process or to the waiting thread while it waits is
 * taken by the wait; its handler does not run. */
static void a_waited_signal_is_taken_not_handled(void)
{
	sig_install(SIGUSR1, sig_record, 0);
	sig_reset();
	pthread_t t;
	int sig = SIGUSR1;
	pthread_create(&t, NULL, kill_process_later, &sig);
	siginfo_t si;
	CHECK_EQ(sigwaitinfo(&usr1, &si), SIGUSR1);
	CHECK_EQ(si.si_code, SI_USER);
	CHECK_EQ(si.si_pid, getpid());
	pthread_join(t, NULL);
	struct directed d = { pthread_self(), SIGUSR1 };
	pthread_create(&t, NULL, kill_thread_later, &d);
	CHECK_EQ(sigtimedwait(&usr1, &si, &(struct timespec){ 10, 0 }), SIGUSR1);
	CHECK_EQ(si.si_code, SI_USER); /* glibc folds SI_TKILL */
	CHECK_EQ(si.si_pid, getpid());
	pthread_join(t, NULL);
	CHECK_EQ(sig_runs, 0);
	CHECK(!sig_is_pending(SIGUSR1));
}

static void *accept_and_kill(void *arg)
{
	sig_mask(SIG_UNBLOCK, SIGUSR1); /* this thread would run the handler */
	sleep_ms(30);
	kill(getpid(), SIGUSR1);
	sleep_ms(30);
	sig_mask(SIG_BLOCK, SIGUSR1);
	return arg;
}

/* The kernel offers a process-directed signal to main first: main's sigwait
 * takes it even though another thread accepts it. */
static void main_takes_what_another_thread_accepts(void)
{
	sig_install(SIGUSR1, sig_record, 0);
	sig_reset();
	pthread_t t;
	pthread_create(&t, NULL, accept_and_kill, NULL);
	siginfo_t si;
	CHECK_EQ(sigwaitinfo(&usr1, &si), SIGUSR1);
	CHECK_EQ(si.si_code, SI_USER);
	pthread_join(t, NULL);
	CHECK_EQ(sig_runs, 0);
}

static void sigtimedwait_results_as_in_glibc(void)
{
	siginfo_t si;
	struct timespec zero = { 0, 0 }, bad = { 0, 1000000000L }, neg = { -1, 0 };
	errno = 0;
	CHECK_EQ(sigtimedwait(&usr1, &si, &zero), -1);
	CHECK_EQ(errno, EAGAIN);
	errno = 0;
	CHECK_EQ(sigtimedwait(&usr1, &si, &bad), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(sigtimedwait(&usr1, &si, &neg), -1);
	CHECK_EQ(errno, EINVAL);

	/* pending ones are taken at once: the thread's own first, then the
	 * process's, each by lowest number */
	sigset_t both = usr1;
	sigaddset(&both, SIGUSR2);
	kill(getpid(), SIGUSR1);
	pthread_kill(pthread_self(), SIGUSR2);
	CHECK_EQ(sigtimedwait(&both, &si, &zero), SIGUSR2);
	CHECK_EQ(sigtimedwait(&both, &si, &zero), SIGUSR1);
	sigqueue(getpid(), SIGUSR1, (union sigval){ .sival_int = 7 });
	CHECK_EQ(sigtimedwait(&usr1, &si, &(struct timespec){ 5, 0 }), SIGUSR1);
	CHECK_EQ(si.si_code, SI_QUEUE);
	CHECK_EQ(si.si_value.sival_int, 7);
	errno = 0;
	CHECK_EQ(sigtimedwait(&both, NULL, &zero), -1);
	CHECK_EQ(errno, EAGAIN);
}

/* A handler of a signal outside the set interrupts sigtimedwait and
 * sigwaitinfo (never restarted, SA_RESTART or not); sigwait waits on. */
static void another_handled_signal_interrupts(void)
{
	sig_install(SIGUSR2, sig_record, SA_RESTART);
	sig_mask(SIG_UNBLOCK, SIGUSR2);
	for (int which = 0; which < 2; which++) {
		sig_reset();
		struct poker p;
		poker_start(&p, pthread_self(), SIGUSR2, 30);
		siginfo_t si;
		errno = 0;
		int r = which ? sigwaitinfo(&usr1, &si) : sigtimedwait(&usr1, &si, &(struct timespec){ 10, 0 });
		int e = errno;
		poker_stop(&p);
		CHECK_EQ(r, -1);
		CHECK_EQ(e, EINTR);
		CHECK(sig_runs >= 1);
		CHECK(pthread_equal(sig_ran_in, pthread_self()));
	}
	sig_reset();
	struct poker p;
	poker_start(&p, pthread_self(), SIGUSR2, 10);
	timer_t tm = arm(SIGUSR1, 100);
	int sig = 0;
	CHECK_EQ(sigwait(&usr1, &sig), 0);
	CHECK_EQ(sig, SIGUSR1);
	poker_stop(&p);
	timer_delete(tm);
	sig_mask(SIG_BLOCK, SIGUSR2);
}

static void sigsuspend_takes_a_pending_signal_at_once(void)
{
	sig_install(SIGUSR1, sig_record, 0);
	sig_reset();
	pthread_kill(pthread_self(), SIGUSR1);
	CHECK(sig_is_pending(SIGUSR1));
	sigset_t open = sig_mask_without(SIGUSR1);
	errno = 0;
	CHECK_EQ(sigsuspend(&open), -1);
	CHECK_EQ(errno, EINTR);
	CHECK_EQ(sig_runs, 1);
	CHECK(!sig_is_pending(SIGUSR1));

	/* an ignored signal it lets through does not end it */
	sig_install(SIGUSR2, SIG_IGN, 0);
	pthread_kill(pthread_self(), SIGUSR2);
	sig_reset();
	timer_t tm = arm(SIGUSR1, 50);
	sigset_t both = sig_mask_without(SIGUSR2);
	sigdelset(&both, SIGUSR1);
	CHECK_EQ(sigsuspend(&both), -1);
	CHECK_EQ(sig_runs, 1); /* it ended for SIGUSR1 */
	CHECK(!sig_is_pending(SIGUSR2));
	timer_delete(tm);
}

/* Masks are per thread: a signal sent to a thread that blocks it waits
 * for that thread alone; one sent to the process runs in the thread that
 * accepts it. */
struct victim {
	pthread_t self;
	volatile int stage;
	int pending_before, runs_before, runs_after;
	pthread_t ran_in;
};

static void *blocking_victim(void *arg)
{
	struct victim *v = arg;
	v->self = pthread_self();
	v->stage = 1;
	while (v->stage != 2)
		sleep_ms(1);
	v->pending_before = sig_is_pending(SIGUSR1);
	v->runs_before = sig_runs;
	sig_mask(SIG_UNBLOCK, SIGUSR1); /* runs here, now */
	v->runs_after = sig_runs;
	v->ran_in = sig_ran_in;
	return NULL;
}

static void *accepting_victim(void *arg)
{
	struct victim *v = arg;
	sig_mask(SIG_UNBLOCK, SIGUSR1);
	v->self = pthread_self();
	v->stage = 1;
	while (!sig_runs)
		sleep_ms(1);
	v->ran_in = sig_ran_in;
	return NULL;
}

static void masks_are_per_thread(void)
{
	sig_install(SIGUSR1, sig_record, 0);
	sig_reset();
	struct victim v = { 0 };
	pthread_t t;
	pthread_create(&t, NULL, blocking_victim, &v);
	while (!v.stage)
		sleep_ms(1);
	CHECK_EQ(pthread_kill(t, SIGUSR1), 0);
	CHECK(!sig_is_pending(SIGUSR1)); /* not main's */
	v.stage = 2;
	pthread_join(t, NULL);
	CHECK(v.pending_before);
	CHECK_EQ(v.runs_before, 0);
	CHECK_EQ(v.runs_after, 1);
	CHECK(pthread_equal(v.ran_in, t));

	sig_reset();
	memset(&v, 0, sizeof v);
	pthread_create(&t, NULL, accepting_victim, &v);
	while (!v.stage)
		sleep_ms(1);
	kill(getpid(), SIGUSR1);
	pthread_join(t, NULL);
	CHECK_EQ(sig_runs, 1);
	CHECK(pthread_equal(v.ran_in, t));
	CHECK(sig_is_blocked(SIGUSR1)); /* main's mask untouched */

	errno = 0;
	CHECK_EQ(pthread_sigmask(99, &usr1, NULL), EINVAL);
	CHECK_EQ(pthread_sigmask(99, NULL, NULL), 0);
	CHECK_EQ(sigprocmask(99, &usr1, NULL), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(pthread_kill(pthread_self(), 65), EINVAL);
	CHECK_EQ(pthread_kill(pthread_self(), 0), 0);
}

/* More distinct masks than the runtime keeps a count for each (sigmask.c:
 * the rest are counted per signal): a process signal that every thread
 * blocks still waits, and the first thread that accepts it runs it. */
#define MANY_MASKS 24
static volatile int many_masked, many_go;
static void *blocks_one_more(void *arg)
{
	sig_mask(SIG_BLOCK, SIGRTMIN + (int)(intptr_t)arg); /* and SIGUSR1, as main */
	__atomic_add_fetch(&many_masked, 1, __ATOMIC_RELAXED);
	while (!many_go)
		sleep_ms(1);
	return NULL;
}

static void many_masks_keep_a_signal_for_the_thread_that_accepts_it(void)
{
	sig_install(SIGUSR1, sig_record, 0);
	sig_reset();
	pthread_t t[MANY_MASKS];
	for (int i = 0; i < MANY_MASKS; i++)
		pthread_create(&t[i], NULL, blocks_one_more, (void *)(intptr_t)i);
	while (many_masked < MANY_MASKS)
		sleep_ms(1);
	kill(getpid(), SIGUSR1);
	sleep_ms(50);
	CHECK_EQ(sig_runs, 0);
	CHECK(sig_is_pending(SIGUSR1));
	struct victim v = { 0 };
	pthread_t a;
	pthread_create(&a, NULL, accepting_victim, &v);
	pthread_join(a, NULL);
	CHECK_EQ(sig_runs, 1);
	CHECK(pthread_equal(v.ran_in, a));
	many_go = 1;
	for (int i = 0; i < MANY_MASKS; i++)
		pthread_join(t[i], NULL);
	/* All of them gone: it is again blocked by every thread. */
	kill(getpid(), SIGUSR1);
	sleep_ms(20);
	CHECK_EQ(sig_runs, 1);
	CHECK(sig_is_pending(SIGUSR1));
	siginfo_t si;
	CHECK_EQ(sigtimedwait(&usr1, &si, &(struct timespec){ 0, 0 }), SIGUSR1);
}

/* main waits in pause() while the other threads serve: a worker answers a
 * client on a socket, and a signal at the end ends pause. */
struct serve {
	int fd;
	int answered;
};

static void *server(void *arg)
{
	struct serve *s = arg;
	char c;
	while (read(s->fd, &c, 1) == 1) {
		c = (char)(c + 1);
		if (write(s->fd, &c, 1) != 1)
			break;
	}
	return NULL;
}

static void *client(void *arg)
{
	struct serve *s = arg;
	for (int i = 0; i < 50; i++) {
		char c = (char)i, back = 0;
		if (write(s->fd, &c, 1) != 1 || read(s->fd, &back, 1) != 1 || back != (char)(i + 1))
			break;
		s->answered++;
	}
	kill(getpid(), SIGUSR1); /* main alone accepts it */
	return NULL;
}

static void main_in_pause_keeps_the_others_serving(void)
{
	sig_install(SIGUSR1, sig_record, 0);
	sig_reset();
	int sv[2];
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct serve srv = { sv[0], 0 }, cli = { sv[1], 0 };
	pthread_t ts, tc;
	pthread_create(&ts, NULL, server, &srv);
	pthread_create(&tc, NULL, client, &cli);
	timer_t rescue = arm(SIGUSR1, 20000); /* a pause that blocked everything still ends */
	sig_mask(SIG_UNBLOCK, SIGUSR1);
	errno = 0;
	int r = pause();
	sig_mask(SIG_BLOCK, SIGUSR1);
	timer_delete(rescue);
	CHECK_EQ(r, -1);
	CHECK_EQ(errno, EINTR);
	CHECK_EQ(cli.answered, 50); /* served while main paused, before the signal */
	CHECK(pthread_equal(sig_ran_in, pthread_self()));
	pthread_join(tc, NULL);
	shutdown(sv[1], SHUT_RDWR);
	pthread_join(ts, NULL);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	alarm(120); /* a wedged run dies instead of hanging */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sig_mask(SIG_BLOCK, SIGUSR1);
	sig_mask(SIG_BLOCK, SIGUSR2);
	ticker_start();
	RUN(sigwait_parks_only_its_caller);
	RUN(sigwaitinfo_parks_only_its_caller);
	RUN(sigtimedwait_times_out_parking_only_its_caller);
	RUN(sigsuspend_parks_only_its_caller);
	RUN(pause_parks_only_its_caller);
	RUN(a_waited_signal_is_taken_not_handled);
	RUN(main_takes_what_another_thread_accepts);
	RUN(sigtimedwait_results_as_in_glibc);
	RUN(another_handled_signal_interrupts);
	RUN(sigsuspend_takes_a_pending_signal_at_once);
	RUN(masks_are_per_thread);
	RUN(many_masks_keep_a_signal_for_the_thread_that_accepts_it);
	RUN(main_in_pause_keeps_the_others_serving);
	ticker_stop();
	TAP_DONE();
}
