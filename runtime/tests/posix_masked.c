/* pselect and ppoll with a signal mask park only the caller, with glibc's
 * results: the mask holds for the wait alone (a signal it unblocks ends the
 * wait with EINTR and its handler runs in the waiting thread, one it blocks
 * stays pending), ready descriptors win over a pending signal, never
 * restarted, the timeout is not written back. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sys/select.h>
#include <unistd.h>
#include "ticker.h"
#include "sigtest.h"

static int pr, pw;

static void set_up(void)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	pr = p[0];
	pw = p[1];
	sig_install(SIGUSR1, sig_record, SA_RESTART);
	sig_reset();
}

static void tear_down(void)
{
	close(pr);
	close(pw);
}

static int pselect_read(int fd, long ms, const sigset_t *mask)
{
	fd_set r;
	FD_ZERO(&r);
	FD_SET(fd, &r);
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	return pselect(fd + 1, &r, NULL, NULL, ms < 0 ? NULL : &ts, mask);
}

static int ppoll_read(int fd, long ms, const sigset_t *mask)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	return ppoll(&p, 1, ms < 0 ? NULL : &ts, mask);
}

static void pselect_parks_only_its_caller(void)
{
	set_up();
	sigset_t mask = sig_mask_with(SIGUSR2);
	TICKER_OPEN();
	int r = pselect_read(pr, 200, &mask);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, 0);
	TICKER_OPEN();
	r = pselect_read(pr, 200, NULL);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, 0);
	tear_down();
}

static void ppoll_with_a_mask_parks_only_its_caller(void)
{
	set_up();
	sigset_t mask = sig_mask_with(SIGUSR2);
	TICKER_OPEN();
	int r = ppoll_read(pr, 200, &mask);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, 0);
	tear_down();
}

static void *write_later(void *arg)
{
	sleep_ms(50);
	CHECK_EQ(write(*(int *)arg, "x", 1), 1);
	return NULL;
}

static void ready_descriptors_are_reported(void)
{
	set_up();
	sigset_t mask = sig_mask_with(SIGUSR2);
	pthread_t t;
	pthread_create(&t, NULL, write_later, &pw);
	fd_set r, w;
	FD_ZERO(&r);
	FD_ZERO(&w);
	FD_SET(pr, &r);
	FD_SET(pw, &r); /* never readable: cleared */
	struct timespec ts = { 10, 0 };
	CHECK_EQ(pselect(pw + 1, &r, &w, NULL, &ts, &mask), 1);
	CHECK(FD_ISSET(pr, &r));
	CHECK(!FD_ISSET(pw, &r));
	CHECK_EQ(ts.tv_sec, 10); /* glibc's pselect leaves the timeout alone */
	CHECK_EQ(ts.tv_nsec, 0);
	pthread_join(t, NULL);

	char c;
	CHECK_EQ(read(pr, &c, 1), 1);
	pthread_create(&t, NULL, write_later, &pw);
	struct pollfd p[2] = { { .fd = pr, .events = POLLIN }, { .fd = pw, .events = POLLOUT } };
	CHECK_EQ(ppoll(p, 1, NULL, &mask), 1);
	CHECK_EQ(p[0].revents, POLLIN);
	pthread_join(t, NULL);
	CHECK_EQ(ppoll(p, 2, &(struct timespec){ 5, 0 }, &mask), 2);
	tear_down();
}

static void bad_arguments_fail_as_in_glibc(void)
{
	set_up();
	sigset_t mask = sig_mask_with(SIGUSR2);
	fd_set r;
	FD_ZERO(&r);
	FD_SET(pr, &r);
	struct timespec bad = { 0, 1000000000L }, neg = { -1, 0 };
	errno = 0;
	CHECK_EQ(pselect(pr + 1, &r, NULL, NULL, &bad, &mask), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(pselect(-1, &r, NULL, NULL, NULL, &mask), -1);
	CHECK_EQ(errno, EINVAL);
	FD_ZERO(&r);
	FD_SET(pw + 1, &r); /* not open */
	errno = 0;
	CHECK_EQ(pselect(pw + 2, &r, NULL, NULL, NULL, &mask), -1);
	CHECK_EQ(errno, EBADF);
	struct pollfd p = { .fd = pr, .events = POLLIN };
	errno = 0;
	CHECK_EQ(ppoll(&p, 1, &neg, &mask), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(ppoll(&p, 1, &bad, NULL), -1);
	CHECK_EQ(errno, EINVAL);
	struct pollfd closed = { .fd = pw + 1, .events = POLLIN };
	CHECK_EQ(ppoll(&closed, 1, NULL, &mask), 1);
	CHECK_EQ(closed.revents, POLLNVAL);
	tear_down();
}

/* A pending signal the mask unblocks ends the wait at once, its handler
 * running in this thread; the thread's own mask is back afterwards. */
static void a_pending_signal_the_mask_unblocks_interrupts(void)
{
	set_up();
	sig_mask(SIG_BLOCK, SIGUSR1);
	sigset_t open = sig_mask_without(SIGUSR1);
	for (int which = 0; which < 2; which++) {
		sig_reset();
		pthread_kill(pthread_self(), SIGUSR1);
		errno = 0;
		CHECK_EQ(which ? ppoll_read(pr, 10000, &open) : pselect_read(pr, 10000, &open), -1);
		CHECK_EQ(errno, EINTR);
		CHECK_EQ(sig_runs, 1);
		CHECK(pthread_equal(sig_ran_in, pthread_self()));
		CHECK(sig_is_blocked(SIGUSR1));
		CHECK(!sig_is_pending(SIGUSR1));
	}
	/* a zero timeout as well */
	for (int which = 0; which < 2; which++) {
		sig_reset();
		pthread_kill(pthread_self(), SIGUSR1);
		errno = 0;
		CHECK_EQ(which ? ppoll_read(pr, 0, &open) : pselect_read(pr, 0, &open), -1);
		CHECK_EQ(errno, EINTR);
		CHECK_EQ(sig_runs, 1);
	}
	sig_mask(SIG_UNBLOCK, SIGUSR1);
	tear_down();
}

/* A signal arriving while the thread waits, unblocked by the mask; SA_RESTART
 * does not restart either call. */
static void a_signal_during_the_wait_interrupts(void)
{
	set_up();
	sig_mask(SIG_BLOCK, SIGUSR1);
	sigset_t open = sig_mask_without(SIGUSR1);
	for (int which = 0; which < 2; which++) {
		sig_reset();
		struct poker p;
		poker_start(&p, pthread_self(), SIGUSR1, 30);
		errno = 0;
		int r = which ? ppoll_read(pr, 10000, &open) : pselect_read(pr, 10000, &open);
		int e = errno;
		poker_stop(&p);
		CHECK_EQ(r, -1);
		CHECK_EQ(e, EINTR);
		CHECK(sig_runs >= 1);
		CHECK(pthread_equal(sig_ran_in, pthread_self()));
		sigset_t none;
		sigemptyset(&none);
		sigaddset(&none, SIGUSR1);
		sigtimedwait(&none, NULL, &(struct timespec){ 0, 0 }); /* a poke after the return */
	}
	sig_mask(SIG_UNBLOCK, SIGUSR1);
	tear_down();
}

/* A signal the mask blocks stays pending through the wait: the wait times
 * out.  When the thread's own mask lets it through, it runs as the wait
 * ends; when that blocks it too, it stays pending. */
static void a_signal_the_mask_blocks_stays_pending(void)
{
	set_up();
	sigset_t shut = sig_mask_with(SIGUSR1);
	for (int which = 0; which < 2; which++) {
		sig_reset();
		struct poker p;
		poker_start(&p, pthread_self(), SIGUSR1, 10);
		int r = which ? ppoll_read(pr, 100, &shut) : pselect_read(pr, 100, &shut);
		while (!p.sent)
			sleep_ms(1);
		poker_stop(&p);
		CHECK_EQ(r, 0);
		CHECK(sig_runs >= 1);
	}
	sig_mask(SIG_BLOCK, SIGUSR1);
	for (int which = 0; which < 2; which++) {
		sig_reset();
		struct poker p;
		poker_start(&p, pthread_self(), SIGUSR1, 10);
		int r = which ? ppoll_read(pr, 100, &shut) : pselect_read(pr, 100, &shut);
		poker_stop(&p);
		CHECK_EQ(r, 0);
		CHECK_EQ(sig_runs, 0);
		CHECK(sig_is_pending(SIGUSR1));
		sig_mask(SIG_UNBLOCK, SIGUSR1);
		CHECK_EQ(sig_runs, 1);
		sig_mask(SIG_BLOCK, SIGUSR1);
	}
	sig_mask(SIG_UNBLOCK, SIGUSR1);
	tear_down();
}

/* Ready descriptors win over a pending signal the mask unblocks. */
static void ready_descriptors_win_over_a_pending_signal(void)
{
	set_up();
	sig_mask(SIG_BLOCK, SIGUSR1);
	sigset_t open = sig_mask_without(SIGUSR1);
	CHECK_EQ(write(pw, "x", 1), 1);
	for (int which = 0; which < 2; which++) {
		sig_reset();
		pthread_kill(pthread_self(), SIGUSR1);
		CHECK_EQ(which ? ppoll_read(pr, 1000, &open) : pselect_read(pr, 1000, &open), 1);
		CHECK_EQ(sig_runs, 0);
		sig_mask(SIG_UNBLOCK, SIGUSR1);
		CHECK_EQ(sig_runs, 1);
		sig_mask(SIG_BLOCK, SIGUSR1);
	}
	sig_mask(SIG_UNBLOCK, SIGUSR1);
	tear_down();
}

/* A signal the mask unblocks but that is ignored does not end the wait. */
static void an_ignored_signal_does_not_end_the_wait(void)
{
	set_up();
	sig_install(SIGUSR2, SIG_IGN, 0);
	sig_mask(SIG_BLOCK, SIGUSR2);
	pthread_kill(pthread_self(), SIGUSR2);
	CHECK(sig_is_pending(SIGUSR2));
	sigset_t open = sig_mask_without(SIGUSR2);
	CHECK_EQ(ppoll_read(pr, 100, &open), 0);
	CHECK(!sig_is_pending(SIGUSR2)); /* discarded when the mask let it through */
	sig_mask(SIG_UNBLOCK, SIGUSR2);
	tear_down();
}

int main(void)
{
	alarm(120); /* a wedged run dies instead of hanging */
	ticker_start();
	RUN(pselect_parks_only_its_caller);
	RUN(ppoll_with_a_mask_parks_only_its_caller);
	RUN(ready_descriptors_are_reported);
	RUN(bad_arguments_fail_as_in_glibc);
	RUN(a_pending_signal_the_mask_unblocks_interrupts);
	RUN(a_signal_during_the_wait_interrupts);
	RUN(a_signal_the_mask_blocks_stays_pending);
	RUN(ready_descriptors_win_over_a_pending_signal);
	RUN(an_ignored_signal_does_not_end_the_wait);
	ticker_stop();
	TAP_DONE();
}
