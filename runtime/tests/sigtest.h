/* Signal helpers for the tests/posix_*.c programs (plain POSIX, built with
 * capcc and with gcc -pthread): a handler that records how often and in
 * which thread it ran, masks, and a poker thread that keeps signalling a
 * thread until it is told to stop — a signal sent before the target entered
 * its call runs the handler there (or stays pending), a later one finds the
 * target waiting, so a test needs no guess about when the target parked. */
#ifndef CAP_SIGTEST_H
#define CAP_SIGTEST_H
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>

static volatile sig_atomic_t sig_runs;
static volatile pthread_t sig_ran_in;

static void sig_record(int sig)
{
	(void)sig;
	sig_runs++;
	sig_ran_in = pthread_self();
}

static inline void sig_install(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static inline void sig_reset(void)
{
	sig_runs = 0;
	sig_ran_in = 0;
}

static inline void sig_mask(int how, int sig)
{
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, sig);
	pthread_sigmask(how, &s, NULL);
}

/* The calling thread's mask without `sig` (for the masked waits). */
static inline sigset_t sig_mask_without(int sig)
{
	sigset_t s;
	pthread_sigmask(SIG_BLOCK, NULL, &s);
	sigdelset(&s, sig);
	return s;
}

static inline sigset_t sig_mask_with(int sig)
{
	sigset_t s;
	pthread_sigmask(SIG_BLOCK, NULL, &s);
	sigaddset(&s, sig);
	return s;
}

static inline int sig_is_pending(int sig)
{
	sigset_t s;
	sigpending(&s);
	return sigismember(&s, sig);
}

static inline int sig_is_blocked(int sig)
{
	sigset_t s;
	pthread_sigmask(SIG_BLOCK, NULL, &s);
	return sigismember(&s, sig);
}

static inline void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

struct poker {
	pthread_t thread, target;
	int sig;
	long first_ms; /* before the first signal */
	volatile int stop;
	volatile int sent;
};

static void *poker_main(void *arg)
{
	struct poker *p = arg;
	sleep_ms(p->first_ms);
	while (!p->stop) {
		pthread_kill(p->target, p->sig);
		p->sent++;
		sleep_ms(5);
	}
	return NULL;
}

static inline void poker_start(struct poker *p, pthread_t target, int sig, long first_ms)
{
	p->target = target;
	p->sig = sig;
	p->first_ms = first_ms;
	p->stop = 0;
	p->sent = 0;
	pthread_create(&p->thread, NULL, poker_main, p);
}

static inline void poker_stop(struct poker *p)
{
	p->stop = 1;
	pthread_join(p->thread, NULL);
}

static inline long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
