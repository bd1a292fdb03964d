/* Shared by the tests/posix_stdio_*.c programs: the descriptors a stream
 * can sit on (a pipe, a socket pair, a terminal), a thread that feeds or
 * drains the other end later, and a watchdog.  Plain POSIX: these programs
 * are built with capcc and with gcc -pthread, and the same checks hold
 * under both.
 *
 * When a stdio call blocks the whole process instead of only its caller,
 * the thread that would feed or drain the other end never runs: the
 * program hangs (so does it when a thread waits for a stream that is never
 * handed over).  The watchdog turns a hang into a failure that says where. */
#ifndef CAP_STDIO_TEST_H
#define CAP_STDIO_TEST_H
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

/* A case with a name of its own: "ok - fgets on a pipe". */
#define RUN_AS(label, call)                                                      \
	do {                                                                     \
		tap_case_failed = 0;                                             \
		call;                                                            \
		printf("%s - %s\n", tap_case_failed ? "not ok" : "ok", (label)); \
		fflush(stdout);                                                  \
		if (tap_case_failed)                                             \
			tap_cases_failed++;                                      \
		else                                                             \
			tap_cases_passed++;                                      \
	} while (0)

static const char *watchdog_doing = "";

static void watchdog_fired(int sig)
{
	static const char a[] = "not ok - the program hung in ";
	static const char b[] = ": a stdio call blocked every thread (the other end never ran), or a wait never ended\n";
	(void)sig;
	(void)!write(2, a, sizeof a - 1);
	(void)!write(2, watchdog_doing, strlen(watchdog_doing));
	(void)!write(2, b, sizeof b - 1);
	_exit(3);
}

/* Fails the program if `what` does not finish within `seconds`. */
static inline void watchdog_arm(const char *what, unsigned seconds)
{
	watchdog_doing = what;
	signal(SIGALRM, watchdog_fired);
	alarm(seconds);
}
static inline void watchdog_disarm(void) { alarm(0); }

enum chan_kind { CHAN_PIPE, CHAN_SOCKET, CHAN_TERMINAL, CHAN_TERMINAL_MASTER };
static const char *const chan_names[] = { "a pipe", "a socket", "a terminal", "a terminal's master side" };

/* near: the end the tested stream uses; far: the other end.  For a
 * terminal, near is the pseudo-terminal's slave (what a program sees as
 * its terminal) and far its master, with echo and output processing off
 * so bytes pass unchanged; input stays line by line (canonical).  For its
 * master side (what a terminal emulator holds), near is the master and the
 * slave is raw. */
struct chan {
	int near, far;
};

static inline int chan_open(struct chan *c, enum chan_kind k, int near_reads)
{
	int fds[2];
	switch (k) {
	case CHAN_PIPE:
		if (pipe(fds) != 0)
			return -1;
		c->near = near_reads ? fds[0] : fds[1];
		c->far = near_reads ? fds[1] : fds[0];
		return 0;
	case CHAN_SOCKET:
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0)
			return -1;
		c->near = fds[0];
		c->far = fds[1];
		return 0;
	case CHAN_TERMINAL:
	case CHAN_TERMINAL_MASTER: {
		int m = posix_openpt(O_RDWR | O_NOCTTY);
		if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0)
			return -1;
		int s = open(ptsname(m), O_RDWR | O_NOCTTY);
		if (s < 0)
			return -1;
		struct termios t;
		tcgetattr(s, &t);
		t.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		t.c_oflag &= ~(tcflag_t)OPOST;
		t.c_iflag &= ~(tcflag_t)(ICRNL | IXON);
		if (k == CHAN_TERMINAL_MASTER)
			cfmakeraw(&t);
		tcsetattr(s, TCSANOW, &t);
		c->near = k == CHAN_TERMINAL ? s : m;
		c->far = k == CHAN_TERMINAL ? m : s;
		return 0;
	}
	}
	return -1;
}

static inline void chan_close(struct chan *c)
{
	if (c->near >= 0)
		close(c->near);
	if (c->far >= 0)
		close(c->far);
	c->near = c->far = -1;
}

static inline void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
}

static inline int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t r = write(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Feeding: a thread that writes pieces of text to a descriptor, each after
 * a pause, then closes it if asked. */
struct feed {
	int fd;
	const char *pieces[8];
	long pause_ms;
	int close_after;
	pthread_t thread;
};

static void *feed_main(void *arg)
{
	struct feed *f = arg;
	for (int i = 0; i < 8 && f->pieces[i]; i++) {
		sleep_ms(f->pause_ms);
		write_all(f->fd, f->pieces[i], strlen(f->pieces[i]));
	}
	if (f->close_after) {
		close(f->fd);
		f->fd = -1;
	}
	return NULL;
}

static inline void feed_start(struct feed *f) { pthread_create(&f->thread, NULL, feed_main, f); }
static inline void feed_join(struct feed *f) { pthread_join(f->thread, NULL); }

/* Draining: a thread that waits, then reads everything until end of file
 * (or `expect` bytes), summing what it read. */
struct drain {
	int fd;
	long pause_ms;
	size_t expect; /* 0: until end of file */
	size_t got;
	unsigned long sum;
	pthread_t thread;
};

static void *drain_main(void *arg)
{
	struct drain *d = arg;
	char buf[8192];
	sleep_ms(d->pause_ms);
	while (d->expect == 0 || d->got < d->expect) {
		ssize_t r = read(d->fd, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			d->sum = d->sum * 31 + (unsigned char)buf[i];
		d->got += (size_t)r;
	}
	return NULL;
}

static inline void drain_start(struct drain *d) { pthread_create(&d->thread, NULL, drain_main, d); }
static inline void drain_join(struct drain *d) { pthread_join(d->thread, NULL); }

static inline unsigned long sum_bytes(unsigned long sum, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sum = sum * 31 + (unsigned char)p[i];
	return sum;
}

#endif
