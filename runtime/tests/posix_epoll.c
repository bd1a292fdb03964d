/* epoll_wait, epoll_pwait and epoll_pwait2 on the program's own epoll set
 * park only the caller, with glibc's results: timeouts, errors, edge-
 * triggered and one-shot registrations, several waiters on one set, EINTR
 * (never restarted) and the signal mask of epoll_pwait. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>
#include "ticker.h"
#include "sigtest.h"

static int ep, pr, pw; /* an epoll set watching the read end of a pipe */

static void set_up(uint32_t events)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	pr = p[0];
	pw = p[1];
	ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(ep >= 0);
	struct epoll_event ev = { .events = events, .data.fd = pr };
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, pr, &ev), 0);
}

static void tear_down(void)
{
	close(ep);
	close(pr);
	close(pw);
}

static void epoll_wait_parks_only_its_caller(void)
{
	set_up(EPOLLIN);
	struct epoll_event ev[4];
	TICKER_OPEN();
	int r = epoll_wait(ep, ev, 4, 200);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, 0);
	tear_down();
}

static void epoll_pwait_parks_only_its_caller(void)
{
	set_up(EPOLLIN);
	struct epoll_event ev[4];
	sigset_t mask = sig_mask_with(SIGUSR2);
	TICKER_OPEN();
	int r = epoll_pwait(ep, ev, 4, 200, &mask);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, 0);
	TICKER_OPEN();
	r = epoll_pwait(ep, ev, 4, 200, NULL);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, 0);
	tear_down();
}

static void epoll_pwait2_parks_only_its_caller(void)
{
	set_up(EPOLLIN);
	struct epoll_event ev[4];
	struct timespec ts = { 0, 200 * 1000 * 1000 };
	sigset_t mask = sig_mask_with(SIGUSR2);
	TICKER_OPEN();
	int r = epoll_pwait2(ep, ev, 4, &ts, &mask);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, 0);
	CHECK_EQ(ts.tv_nsec, 200 * 1000 * 1000); /* not written back */
	tear_down();
}

struct writer {
	int fd;
	long delay_ms;
	int times;
};

static void *write_later(void *arg)
{
	struct writer *w = arg;
	for (int i = 0; i < w->times; i++) {
		sleep_ms(w->delay_ms);
		CHECK_EQ(write(w->fd, "x", 1), 1);
	}
	return NULL;
}

static void an_event_wakes_the_waiter(void)
{
	set_up(EPOLLIN);
	pthread_t t;
	struct writer w = { pw, 50, 1 };
	pthread_create(&t, NULL, write_later, &w);
	struct epoll_event ev[4] = { 0 };
	CHECK_EQ(epoll_wait(ep, ev, 4, 10000), 1); /* not 0: the timeout is a rescue */
	CHECK_EQ(ev[0].data.fd, pr);
	CHECK_EQ(ev[0].events, EPOLLIN);
	pthread_join(t, NULL);

	/* epoll_pwait2 without a timeout waits for as long as it takes */
	char c;
	CHECK_EQ(read(pr, &c, 1), 1);
	pthread_create(&t, NULL, write_later, &w);
	CHECK_EQ(epoll_pwait2(ep, ev, 4, NULL, NULL), 1);
	pthread_join(t, NULL);
	tear_down();
}

static void timeouts_and_errors_as_in_glibc(void)
{
	set_up(EPOLLIN);
	struct epoll_event ev[4];
	CHECK_EQ(epoll_wait(ep, ev, 4, 0), 0);
	long long t0 = now_ms();
	CHECK_EQ(epoll_wait(ep, ev, 4, 30), 0);
	CHECK(now_ms() - t0 >= 29); /* it did wait (the clock is the program's own) */
	struct timespec zero = { 0, 0 }, bad = { 0, 1000000000L }, neg = { -1, 0 };
	CHECK_EQ(epoll_pwait2(ep, ev, 4, &zero, NULL), 0);
	errno = 0;
	CHECK_EQ(epoll_pwait2(ep, ev, 4, &bad, NULL), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(epoll_pwait2(ep, ev, 4, &neg, NULL), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(epoll_wait(ep, ev, 0, 100), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(epoll_wait(pr, ev, 4, 100), -1); /* not an epoll descriptor */
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(epoll_wait(-1, ev, 4, 100), -1);
	CHECK_EQ(errno, EBADF);
	errno = 0;
	CHECK_EQ(epoll_pwait(1000, ev, 4, 100, NULL), -1);
	CHECK_EQ(errno, EBADF);
	tear_down();
}

/* Collecting after a park must neither lose nor repeat what the program's
 * own registrations say: an edge is reported once, a one-shot until it is
 * armed again. */
static void edge_triggered_events_come_once(void)
{
	set_up(EPOLLIN | EPOLLET);
	struct epoll_event ev[4];
	CHECK_EQ(write(pw, "a", 1), 1);
	CHECK_EQ(epoll_wait(ep, ev, 4, 1000), 1);
	CHECK_EQ(epoll_wait(ep, ev, 4, 50), 0); /* the byte is unread, but no new edge */
	pthread_t t;
	struct writer w = { pw, 30, 1 };
	pthread_create(&t, NULL, write_later, &w);
	CHECK_EQ(epoll_wait(ep, ev, 4, 10000), 1); /* a new edge while parked */
	pthread_join(t, NULL);
	CHECK_EQ(epoll_wait(ep, ev, 4, 50), 0);
	tear_down();
}

static void one_shot_events_come_until_armed_again(void)
{
	set_up(EPOLLIN | EPOLLONESHOT);
	struct epoll_event ev[4];
	pthread_t t;
	struct writer w = { pw, 30, 1 };
	pthread_create(&t, NULL, write_later, &w);
	CHECK_EQ(epoll_wait(ep, ev, 4, 10000), 1);
	pthread_join(t, NULL);
	pthread_create(&t, NULL, write_later, &w);
	CHECK_EQ(epoll_wait(ep, ev, 4, 200), 0); /* disarmed: more data, no event */
	pthread_join(t, NULL);
	struct epoll_event again = { .events = EPOLLIN | EPOLLONESHOT, .data.fd = pr };
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_MOD, pr, &again), 0);
	CHECK_EQ(epoll_wait(ep, ev, 4, 1000), 1);
	tear_down();
}

/* Three threads wait on one set of three one-shot pipes: each event is
 * collected by exactly one of them. */
struct collector {
	int ep;
	int r, fd;
};

static void *collect_one(void *arg)
{
	struct collector *c = arg;
	struct epoll_event ev;
	c->r = epoll_wait(c->ep, &ev, 1, 10000);
	c->fd = c->r == 1 ? ev.data.fd : -1;
	return NULL;
}

static void several_threads_wait_on_one_set(void)
{
	int e = epoll_create1(0), p[3][2];
	for (int i = 0; i < 3; i++) {
		CHECK_EQ(pipe(p[i]), 0);
		struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT, .data.fd = p[i][0] };
		CHECK_EQ(epoll_ctl(e, EPOLL_CTL_ADD, p[i][0], &ev), 0);
	}
	pthread_t t[3];
	struct collector c[3];
	for (int i = 0; i < 3; i++) {
		c[i] = (struct collector){ .ep = e };
		pthread_create(&t[i], NULL, collect_one, &c[i]);
	}
	sleep_ms(50);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(write(p[i][1], "x", 1), 1);
	int seen = 0;
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		CHECK_EQ(c[i].r, 1);
		for (int k = 0; k < 3; k++)
			if (c[i].fd == p[k][0])
				seen |= 1 << k;
	}
	CHECK_EQ(seen, 7); /* every pipe once: nothing lost, nothing twice */
	for (int i = 0; i < 3; i++)
		close(p[i][0]), close(p[i][1]);
	close(e);
}

/* epoll_wait is never restarted (signal(7)): SA_RESTART or not, a handled
 * signal ends it with EINTR, and the handler runs in the waiting thread. */
static void a_handled_signal_interrupts_it(void)
{
	set_up(EPOLLIN);
	struct epoll_event ev[4];
	for (int restart = 0; restart < 2; restart++) {
		sig_install(SIGUSR1, sig_record, restart ? SA_RESTART : 0);
		sig_reset();
		struct poker p;
		poker_start(&p, pthread_self(), SIGUSR1, 30);
		errno = 0;
		int r = epoll_wait(ep, ev, 4, 10000);
		int e = errno;
		poker_stop(&p);
		CHECK_EQ(r, -1);
		CHECK_EQ(e, EINTR);
		CHECK(sig_runs >= 1);
		CHECK(pthread_equal(sig_ran_in, pthread_self()));
	}
	tear_down();
}

/* epoll_pwait's mask holds for the wait alone: a pending signal it unblocks
 * ends the wait at once (its handler runs in this thread), one it blocks
 * stays pending, and the thread's own mask is back afterwards. */
static void the_mask_holds_for_the_wait(void)
{
	set_up(EPOLLIN);
	struct epoll_event ev[4];
	sig_install(SIGUSR1, sig_record, SA_RESTART);
	sig_mask(SIG_BLOCK, SIGUSR1);
	sig_reset();
	pthread_kill(pthread_self(), SIGUSR1);
	CHECK(sig_is_pending(SIGUSR1));
	sigset_t open = sig_mask_without(SIGUSR1), shut = sig_mask_with(SIGUSR1);
	errno = 0;
	CHECK_EQ(epoll_pwait(ep, ev, 4, 10000, &open), -1);
	CHECK_EQ(errno, EINTR);
	CHECK_EQ(sig_runs, 1);
	CHECK(pthread_equal(sig_ran_in, pthread_self()));
	CHECK(sig_is_blocked(SIGUSR1));
	CHECK(!sig_is_pending(SIGUSR1));

	/* blocked by the mask: the wait times out, the signals stay pending */
	sig_reset();
	struct poker p;
	poker_start(&p, pthread_self(), SIGUSR1, 10);
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	CHECK_EQ(epoll_pwait2(ep, ev, 4, &ts, &shut), 0);
	poker_stop(&p);
	CHECK_EQ(sig_runs, 0);
	CHECK(sig_is_pending(SIGUSR1));
	sig_mask(SIG_UNBLOCK, SIGUSR1); /* runs now */
	CHECK_EQ(sig_runs, 1);

	/* a signal arriving while it waits, unblocked by the mask */
	sig_mask(SIG_BLOCK, SIGUSR1);
	sig_reset();
	poker_start(&p, pthread_self(), SIGUSR1, 30);
	errno = 0;
	CHECK_EQ(epoll_pwait(ep, ev, 4, 10000, &open), -1);
	CHECK_EQ(errno, EINTR);
	poker_stop(&p);
	CHECK(sig_runs >= 1);
	CHECK(pthread_equal(sig_ran_in, pthread_self()));
	sig_mask(SIG_UNBLOCK, SIGUSR1);
	tear_down();
}

/* Ready events win over a pending signal (the kernel looks at events
 * first): the wait returns them and the signal stays pending. */
static void ready_events_win_over_a_pending_signal(void)
{
	set_up(EPOLLIN);
	struct epoll_event ev[4];
	sig_install(SIGUSR1, sig_record, 0);
	sig_mask(SIG_BLOCK, SIGUSR1);
	sig_reset();
	pthread_kill(pthread_self(), SIGUSR1);
	CHECK_EQ(write(pw, "x", 1), 1);
	sigset_t open = sig_mask_without(SIGUSR1);
	CHECK_EQ(epoll_pwait(ep, ev, 4, 1000, &open), 1);
	CHECK_EQ(sig_runs, 0);
	CHECK(sig_is_pending(SIGUSR1));
	sig_mask(SIG_UNBLOCK, SIGUSR1);
	CHECK_EQ(sig_runs, 1);
	tear_down();
}

int main(void)
{
	alarm(120); /* a wedged run dies instead of hanging */
	ticker_start();
	RUN(epoll_wait_parks_only_its_caller);
	RUN(epoll_pwait_parks_only_its_caller);
	RUN(epoll_pwait2_parks_only_its_caller);
	RUN(an_event_wakes_the_waiter);
	RUN(timeouts_and_errors_as_in_glibc);
	RUN(edge_triggered_events_come_once);
	RUN(one_shot_events_come_until_armed_again);
	RUN(several_threads_wait_on_one_set);
	RUN(a_handled_signal_interrupts_it);
	RUN(the_mask_holds_for_the_wait);
	RUN(ready_events_win_over_a_pending_signal);
	ticker_stop();
	TAP_DONE();
}
