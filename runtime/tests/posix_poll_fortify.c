/* Built with _FORTIFY_SOURCE, gcc calls the checking variants of poll and
 * ppoll (__poll_chk, __ppoll_chk) for an array of a known size and a count
 * it cannot check at compile time: they park only their caller too. */
#undef _FORTIFY_SOURCE
#define _FORTIFY_SOURCE 2
#define _GNU_SOURCE
#include <poll.h>
#include <pthread.h>
#include <unistd.h>
#include "tap.h"
#include "ticker.h"

static int pipefd[2];
static void *write_later(void *a)
{
	ticker_await(TICKER_MIN);
	CHECK_EQ(write(pipefd[1], "x", 1), 1);
	return a;
}

static void wait_for_data(int use_ppoll)
{
	CHECK_EQ(pipe(pipefd), 0);
	ticker_start();
	pthread_t t;
	pthread_create(&t, NULL, write_later, NULL);
	struct pollfd p[1] = { { .fd = pipefd[0], .events = POLLIN } };
	volatile nfds_t n = 1;
	TICKER_OPEN();
	CHECK_EQ(use_ppoll ? ppoll(p, n, NULL, NULL) : poll(p, n, -1), 1);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(p[0].revents, POLLIN);
	pthread_join(t, NULL);
	ticker_stop();
	close(pipefd[0]);
	close(pipefd[1]);
}

static void poll_chk_parks_only_the_caller(void) { wait_for_data(0); }
static void ppoll_chk_parks_only_the_caller(void) { wait_for_data(1); }

int main(void)
{
	RUN(poll_chk_parks_only_the_caller);
	RUN(ppoll_chk_parks_only_the_caller);
	TAP_DONE();
}
