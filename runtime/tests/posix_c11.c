/* C11 threads: every wait (thrd_sleep, thrd_join, mtx_lock, mtx_timedlock,
 * cnd_wait, cnd_timedwait, call_once) parks only the waiting thread, and
 * the results are glibc's (thrd_* codes, int results, tss destructors).
 * Built with capcc and with gcc -pthread (see ticker.h).
 *
 * A wait another thread ends (an unlock, a signal, a return) ends once the
 * ticker has ticked a few times in the window; a timed wait is repeated
 * until it has (TICKER_REPEAT): no check relies on timing. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <threads.h>
#include <time.h>
#include <unistd.h>
#include "ticker.h"

#define TICKS_BEFORE_ENDING (TICKER_MIN + 2)

static struct timespec in_ms(long ms)
{
	struct timespec ts;
	timespec_get(&ts, TIME_UTC);
	ts.tv_nsec += ms * 1000000;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	return ts;
}

static void thrd_sleep_parks_only_its_caller(void)
{
	struct timespec ts = {0, 200 * 1000 * 1000};
	int r = 0;
	TICKER_OPEN();
	TICKER_REPEAT(r |= thrd_sleep(&ts, NULL));
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, 0);
}

static int return_late(void *arg)
{
	ticker_await(TICKS_BEFORE_ENDING);
	return (int)(intptr_t)arg;
}

static void thrd_join_parks_only_its_caller(void)
{
	thrd_t t;
	int res = 0;
	CHECK_EQ(thrd_create(&t, return_late, (void *)(intptr_t)42), thrd_success);
	TICKER_OPEN();
	int r = thrd_join(t, &res);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, thrd_success);
	CHECK_EQ(res, 42);
}

static mtx_t mutex;
static cnd_t cond;
static volatile int held, flag;

static int hold_until_ticked(void *arg)
{
	mtx_lock(&mutex);
	held = 1;
	if (arg)
		ticker_await(TICKS_BEFORE_ENDING);
	else
		while (held) /* until the waiter has timed out */
			thrd_yield();
	mtx_unlock(&mutex);
	return 0;
}

static void mtx_lock_parks_only_its_caller(void)
{
	thrd_t t;
	held = 0;
	thrd_create(&t, hold_until_ticked, (void *)1);
	while (!held)
		thrd_yield();
	TICKER_OPEN();
	int r = mtx_lock(&mutex);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, thrd_success);
	mtx_unlock(&mutex);
	thrd_join(t, NULL);
}

static void mtx_timedlock_parks_only_its_caller(void)
{
	thrd_t t;
	held = 0;
	thrd_create(&t, hold_until_ticked, NULL);
	while (!held)
		thrd_yield();
	int r = thrd_timedout;
	TICKER_OPEN();
	TICKER_REPEAT({
		struct timespec ts = in_ms(200);
		if (mtx_timedlock(&mutex, &ts) != thrd_timedout)
			r = thrd_error;
	});
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, thrd_timedout);
	held = 0;
	thrd_join(t, NULL);
}

static int signal_late(void *arg)
{
	ticker_await(TICKS_BEFORE_ENDING);
	mtx_lock(&mutex);
	flag = 1;
	cnd_signal(&cond);
	mtx_unlock(&mutex);
	return 0;
}

static void cnd_wait_parks_only_its_caller(void)
{
	thrd_t t;
	flag = 0;
	mtx_lock(&mutex);
	thrd_create(&t, signal_late, NULL);
	TICKER_OPEN();
	int r = thrd_success;
	while (!flag && r == thrd_success)
		r = cnd_wait(&cond, &mutex);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, thrd_success);
	mtx_unlock(&mutex);
	thrd_join(t, NULL);
}

static void cnd_timedwait_parks_only_its_caller(void)
{
	int r = thrd_timedout;
	mtx_lock(&mutex);
	TICKER_OPEN();
	TICKER_REPEAT({
		struct timespec ts = in_ms(200);
		if (cnd_timedwait(&cond, &mutex, &ts) != thrd_timedout)
			r = thrd_error;
	});
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(r, thrd_timedout);
	mtx_unlock(&mutex);
}

static once_flag once = ONCE_FLAG_INIT;
static volatile int once_running, once_runs;
static void slow_once(void)
{
	once_runs++;
	once_running = 1;
	ticker_await(TICKS_BEFORE_ENDING);
}
static int call_slow_once(void *arg)
{
	call_once(&once, slow_once);
	return 0;
}

static void call_once_parks_only_its_caller(void)
{
	thrd_t t;
	thrd_create(&t, call_slow_once, NULL);
	while (!once_running)
		thrd_yield();
	TICKER_OPEN();
	call_once(&once, slow_once); /* waits for the first call to finish */
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(once_runs, 1);
	thrd_join(t, NULL);
	call_once(&once, slow_once);
	CHECK_EQ(once_runs, 1);
}

/* ---- glibc's results ---------------------------------------------------- */

static int return_minus_five(void *arg) { return -5; }
static int exit_seven(void *arg)
{
	thrd_exit(7);
	return 0;
}

static void threads_return_ints(void)
{
	thrd_t t;
	int res = 0;
	CHECK_EQ(thrd_create(&t, return_minus_five, NULL), thrd_success);
	CHECK_EQ(thrd_join(t, &res), thrd_success);
	CHECK_EQ(res, -5);
	CHECK_EQ(thrd_create(&t, exit_seven, NULL), thrd_success);
	CHECK_EQ(thrd_join(t, &res), thrd_success);
	CHECK_EQ(res, 7);
	void *raw = NULL; /* as glibc: the int, sign-extended */
	CHECK_EQ(thrd_create(&t, return_minus_five, NULL), thrd_success);
	CHECK_EQ(pthread_join((pthread_t)t, &raw), 0);
	CHECK(raw == (void *)(intptr_t)-5);
	CHECK_EQ(thrd_create(&t, return_minus_five, NULL), thrd_success);
	CHECK_EQ(thrd_detach(t), thrd_success);
	CHECK(thrd_equal(thrd_current(), thrd_current()));
	CHECK(!thrd_equal(t, thrd_current()));
	thrd_yield();
}

static void mutexes_answer_as_in_glibc(void)
{
	mtx_t m;
	CHECK_EQ(mtx_init(&m, mtx_plain), thrd_success);
	CHECK_EQ(mtx_lock(&m), thrd_success);
	CHECK_EQ(mtx_trylock(&m), thrd_busy);
	struct timespec soon = in_ms(10), bad = {0, 2000000000};
	CHECK_EQ(mtx_timedlock(&m, &soon), thrd_timedout);
	CHECK_EQ(mtx_timedlock(&m, &bad), thrd_error);
	CHECK_EQ(mtx_unlock(&m), thrd_success);
	mtx_destroy(&m);

	CHECK_EQ(mtx_init(&m, mtx_timed | mtx_recursive), thrd_success);
	CHECK_EQ(mtx_lock(&m), thrd_success);
	CHECK_EQ(mtx_lock(&m), thrd_success);
	CHECK_EQ(mtx_trylock(&m), thrd_success);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(mtx_unlock(&m), thrd_success);
	CHECK_EQ(mtx_unlock(&m), thrd_error); /* not held any more */
	mtx_destroy(&m);

	CHECK_EQ(mtx_init(&m, 99), thrd_success); /* glibc: an unknown type is a plain mutex */
	CHECK_EQ(mtx_lock(&m), thrd_success);
	CHECK_EQ(mtx_trylock(&m), thrd_busy);
	CHECK_EQ(mtx_unlock(&m), thrd_success);
	mtx_destroy(&m);
}

static volatile int waiting;
static int wait_for_flag(void *arg)
{
	mtx_lock(&mutex);
	waiting++;
	while (!flag)
		cnd_wait(&cond, &mutex);
	mtx_unlock(&mutex);
	return 1;
}

static void conditions_answer_as_in_glibc(void)
{
	struct timespec past = {1, 0}, bad = {0, 2000000000};
	mtx_lock(&mutex);
	CHECK_EQ(cnd_timedwait(&cond, &mutex, &past), thrd_timedout);
	CHECK_EQ(cnd_timedwait(&cond, &mutex, &bad), thrd_error);
	mtx_unlock(&mutex);

	thrd_t t[3];
	int sum = 0, res;
	flag = 0;
	waiting = 0;
	for (int i = 0; i < 3; i++)
		thrd_create(&t[i], wait_for_flag, NULL);
	while (waiting < 3)
		thrd_yield();
	mtx_lock(&mutex);
	flag = 1;
	CHECK_EQ(cnd_broadcast(&cond), thrd_success);
	mtx_unlock(&mutex);
	for (int i = 0; i < 3; i++)
		if (thrd_join(t[i], &res) == thrd_success)
			sum += res;
	CHECK_EQ(sum, 3);
	CHECK_EQ(cnd_signal(&cond), thrd_success); /* nobody waiting */
}

static void on_usr1(int sig) { (void)sig; }
struct interrupter {
	thrd_t sleeper;
};
static int interrupt_late(void *arg)
{
	ticker_await(TICKS_BEFORE_ENDING);
	pthread_kill((pthread_t)((struct interrupter *)arg)->sleeper, SIGUSR1);
	return 0;
}

static void thrd_sleep_answers_as_in_glibc(void)
{
	struct timespec bad = {0, 2000000000}, negative = {-1, 0}, zero = {0, 0};
	errno = 0;
	CHECK_EQ(thrd_sleep(&bad, NULL), -2);
	CHECK_EQ(thrd_sleep(&negative, NULL), -2);
	CHECK_EQ(errno, 0); /* no errno: the result says it all */
	CHECK_EQ(thrd_sleep(&zero, NULL), 0);

	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = SA_RESTART }; /* never restarts a sleep */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	struct interrupter in = { thrd_current() };
	thrd_t t;
	thrd_create(&t, interrupt_late, &in);
	struct timespec long_sleep = {30, 0}, rem = {0, 0};
	TICKER_OPEN();
	CHECK_EQ(thrd_sleep(&long_sleep, &rem), -1);
	TICKER_CLOSE();
	CHECK(rem.tv_sec > 0 && rem.tv_sec <= 30);
	thrd_join(t, NULL);
	signal(SIGUSR1, SIG_DFL);
}

static tss_t key;
static volatile int dtor_calls;
static void dtor_sets_again(void *v)
{
	dtor_calls++;
	tss_set(key, v); /* so another round is needed */
}
static int set_key(void *arg)
{
	if (tss_get(key) != NULL)
		return 1;
	tss_set(key, arg);
	return tss_get(key) == arg ? 0 : 2;
}

static void tss_answers_as_in_glibc(void)
{
	CHECK_EQ(tss_create(&key, dtor_sets_again), thrd_success);
	CHECK(tss_get(key) == NULL);
	thrd_t t;
	int res = -1;
	dtor_calls = 0;
	thrd_create(&t, set_key, (void *)&res);
	CHECK_EQ(thrd_join(t, &res), thrd_success);
	CHECK_EQ(res, 0);
	CHECK_EQ(dtor_calls, TSS_DTOR_ITERATIONS);
	CHECK_EQ(tss_set(key, &res), thrd_success);
	CHECK(tss_get(key) == &res);
	tss_delete(key);
	CHECK_EQ(tss_set(key, &res), thrd_error);
}

static once_flag once_each = ONCE_FLAG_INIT;
static volatile int once_each_runs;
static void count_once(void) { once_each_runs++; }
static int call_count_once(void *arg)
{
	call_once(&once_each, count_once);
	return 0;
}

static void call_once_runs_once(void)
{
	thrd_t t[4];
	for (int i = 0; i < 4; i++)
		thrd_create(&t[i], call_count_once, NULL);
	call_once(&once_each, count_once);
	for (int i = 0; i < 4; i++)
		thrd_join(t[i], NULL);
	CHECK_EQ(once_each_runs, 1);
}

int main(void)
{
	alarm(120); /* a build whose wait stops every thread is killed: a failure, not a hang */
	mtx_init(&mutex, mtx_plain);
	cnd_init(&cond);
	ticker_start();
	RUN(thrd_sleep_parks_only_its_caller);
	RUN(thrd_join_parks_only_its_caller);
	RUN(mtx_lock_parks_only_its_caller);
	RUN(mtx_timedlock_parks_only_its_caller);
	RUN(cnd_wait_parks_only_its_caller);
	RUN(cnd_timedwait_parks_only_its_caller);
	RUN(call_once_parks_only_its_caller);
	RUN(threads_return_ints);
	RUN(mutexes_answer_as_in_glibc);
	RUN(conditions_answer_as_in_glibc);
	RUN(thrd_sleep_answers_as_in_glibc);
	RUN(tss_answers_as_in_glibc);
	RUN(call_once_runs_once);
	ticker_stop();
	TAP_DONE();
}
