/* Sleeping parks only the sleeper, with glibc's results: the template of
 * the tests/posix_*.c programs (built with capcc and with gcc -pthread). */
#include <errno.h>
#include <time.h>
#include <unistd.h>
#include "ticker.h"

static void nanosleep_parks_only_its_caller(void)
{
	struct timespec ts = {0, 200 * 1000 * 1000}, rem = {7, 7};
	TICKER_OPEN();
	int r = nanosleep(&ts, &rem);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, 0);
}

static void bad_arguments_fail_as_in_glibc(void)
{
	struct timespec bad = {0, 1000000000};
	errno = 0;
	CHECK_EQ(nanosleep(&bad, NULL), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL), EINVAL);
	CHECK_EQ(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &(struct timespec){0, 1000}, NULL), EINVAL);
}

int main(void)
{
	ticker_start();
	RUN(nanosleep_parks_only_its_caller);
	RUN(bad_arguments_fail_as_in_glibc);
	ticker_stop();
	TAP_DONE();
}
