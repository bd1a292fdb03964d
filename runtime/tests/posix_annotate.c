/* Calls annotated as blocking keep the semantics they have under pthreads
 * (built with capcc --annotations tests/posix_annotate.json, where each
 * runs on a helper kernel thread, and with plain gcc -pthread): a signal
 * handled by the calling thread interrupts the call — EINTR, or a restart
 * under SA_RESTART, as the kernel decides for that call —, errno goes in
 * and comes out, and a program that ends is not held up by a call still
 * blocked.  The calls: a precompiled library's raw system calls
 * (nosplit_lib.c as a shared library), libaio's io_getevents (a Debian
 * library) and the C library's msgrcv. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <libaio.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "in_syscall.h"
#include "spawn_child.h"
#include "tap.h"

long cap_test_read_raw(int fd, void *buf, long n);
long cap_test_pause_raw(void);
int cap_test_keeps_errno(int x);
int cap_test_fail_with(int e);

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Whether *flag was set within a minute (a call that never returns is
 * reported, and left behind). */
static int set_within(volatile int *flag)
{
	for (int i = 0; i < 60000 && !*flag; i++)
		nap_ms(1);
	return *flag;
}

static volatile sig_atomic_t handled;
static void on_signal(int sig)
{
	(void)sig;
	handled++;
}
static void handle(int sig, int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	handled = 0;
}
static void unhandle(int sig) { signal(sig, SIG_DFL); }

struct read_call {
	int fd;
	long r;
	int err;
	volatile int returned;
};
static void *reader(void *p)
{
	struct read_call *c = p;
	char b;
	errno = 0;
	c->r = cap_test_read_raw(c->fd, &b, 1);
	c->err = errno;
	c->returned = 1;
	return NULL;
}

static void read_interrupted_without_sa_restart(void)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	handle(SIGUSR1, 0);
	struct read_call c = { .fd = p[0] };
	pthread_t t;
	pthread_create(&t, NULL, reader, &c);
	CHECK(in_syscall(SYS_read, (unsigned long)p[0]));
	pthread_kill(t, SIGUSR1);
	if (!set_within(&c.returned))
		CHECK_EQ(write(p[1], "x", 1), 1); /* the signal did not end it: this does */
	pthread_join(t, NULL);
	CHECK_EQ(c.r, -1);
	CHECK_EQ(c.err, EINTR);
	CHECK_EQ(handled, 1);
	unhandle(SIGUSR1);
	close(p[0]);
	close(p[1]);
}

static void read_restarted_under_sa_restart(void)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	handle(SIGUSR1, SA_RESTART);
	struct read_call c = { .fd = p[0] };
	pthread_t t;
	pthread_create(&t, NULL, reader, &c);
	CHECK(in_syscall(SYS_read, (unsigned long)p[0]));
	pthread_kill(t, SIGUSR1);
	for (int i = 0; i < 60000 && !handled; i++)
		nap_ms(1);
	CHECK_EQ(handled, 1);
	nap_ms(20); /* time for a wrong EINTR to show */
	CHECK(in_syscall(SYS_read, (unsigned long)p[0]));
	CHECK_EQ(c.returned, 0); /* the call went on after the handler */
	CHECK_EQ(write(p[1], "x", 1), 1);
	pthread_join(t, NULL);
	CHECK_EQ(c.r, 1);
	CHECK_EQ(c.err, 0);
	unhandle(SIGUSR1);
	close(p[0]);
	close(p[1]);
}

/* More calls blocked at once than Capriccio starts helpers for (4): each is
 * in the kernel at the same time, as each pthread would be. */
static void more_calls_than_helpers_block_at_once(void)
{
	enum { N = 9 };
	int p[N][2];
	struct read_call c[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		CHECK_EQ(pipe(p[i]), 0);
		c[i] = (struct read_call){ .fd = p[i][0] };
		pthread_create(&t[i], NULL, reader, &c[i]);
	}
	/* every one is in its read before any is answered (a minute at most) */
	int in = 0;
	for (int k = 0; k < 60000 && in < N; k++) {
		in = 0;
		for (int i = 0; i < N; i++)
			in += in_syscall_now(SYS_read, (unsigned long)p[i][0]);
		if (in < N)
			nap_ms(1);
	}
	CHECK_EQ(in, N);
	for (int i = 0; i < N; i++) {
		CHECK_EQ(write(p[i][1], "x", 1), 1);
		pthread_join(t[i], NULL);
		CHECK_EQ(c[i].r, 1);
		close(p[i][0]);
		close(p[i][1]);
	}
}

struct aio_call {
	io_context_t ctx;
	int r;
	volatile int returned;
};
static void *aio_waiter(void *p)
{
	struct aio_call *c = p;
	struct io_event ev;
	struct timespec ts = { 120, 0 };
	c->r = io_getevents(c->ctx, 1, 1, &ev, &ts);
	c->returned = 1;
	return NULL;
}

/* io_getevents(2) is never restarted (signal(7)), SA_RESTART or not;
 * libaio returns the error negated. */
static void library_wait_interrupted_despite_sa_restart(void)
{
	struct aio_call c = { 0 };
	CHECK_EQ(io_setup(1, &c.ctx), 0);
	handle(SIGUSR2, SA_RESTART);
	pthread_t t;
	pthread_create(&t, NULL, aio_waiter, &c);
	CHECK(in_syscall(SYS_io_getevents, (unsigned long)c.ctx));
	pthread_kill(t, SIGUSR2);
	if (!set_within(&c.returned)) {
		CHECK(!"io_getevents went on after the signal");
		pthread_detach(t);
		return;
	}
	pthread_join(t, NULL);
	CHECK_EQ(c.r, -EINTR);
	CHECK_EQ(handled, 1);
	unhandle(SIGUSR2);
	io_destroy(c.ctx);
}

static int queue;
static volatile int main_returned;
static void *terminator(void *p)
{
	(void)p;
	if (in_syscall(SYS_msgrcv, (unsigned long)queue))
		kill(getpid(), SIGTERM);
	if (!set_within(&main_returned)) { /* the signal did not end it: this does */
		struct {
			long type;
			char text[1];
		} m = { 1, { 0 } };
		msgsnd(queue, &m, sizeof m.text, 0);
	}
	return NULL;
}

/* A signal sent to the process is handled by its main thread (the kernel's
 * first choice, and the runtime's), whose msgrcv it ends. */
static void process_signal_ends_the_main_threads_call(void)
{
	queue = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	CHECK(queue >= 0);
	handle(SIGTERM, SA_RESTART);
	pthread_t t;
	pthread_create(&t, NULL, terminator, NULL);
	struct {
		long type;
		char text[16];
	} m;
	errno = 0;
	long r = msgrcv(queue, &m, sizeof m.text, 0, 0);
	int err = errno;
	main_returned = 1;
	pthread_join(t, NULL);
	CHECK_EQ(r, -1);
	CHECK_EQ(err, EINTR);
	CHECK_EQ(handled, 1);
	unhandle(SIGTERM);
	msgctl(queue, IPC_RMID, NULL);
}

/* The call sees the caller's errno and leaves its own: one that does not
 * set errno leaves it as it was, whatever the previous call set. */
static void errno_goes_in_and_comes_out(void)
{
	for (int i = 0; i < 8; i++) {
		errno = 0;
		CHECK_EQ(cap_test_fail_with(EPIPE), -1);
		CHECK_EQ(errno, EPIPE);
		errno = 0;
		CHECK_EQ(cap_test_keeps_errno(i), i + 1);
		CHECK_EQ(errno, 0);
		errno = ERANGE;
		CHECK_EQ(cap_test_keeps_errno(i), i + 1);
		CHECK_EQ(errno, ERANGE);
	}
}

/* ---- A program that ends while calls still block (a child process) ---- */

static int never_written[2];
static void *stuck_reader(void *p)
{
	char b;
	cap_test_read_raw(never_written[0], &b, 1);
	return p;
}
static void on_term_exit(int sig)
{
	(void)sig;
	exit(3);
}

/* The child: a thread stuck in a read nobody answers; then main returns 7,
 * or (with "handler") main waits in pause until SIGTERM's handler exits 3. */
static int child_main(const char *how)
{
	CHECK_EQ(pipe(never_written), 0);
	pthread_t t;
	pthread_create(&t, NULL, stuck_reader, NULL);
	if (!in_syscall(SYS_read, (unsigned long)never_written[0]))
		return 1;
	if (strcmp(how, "return") == 0)
		return 7;
	signal(SIGTERM, on_term_exit);
	printf("ready\n");
	fflush(stdout);
	cap_test_pause_raw();
	return 1;
}

/* Its status, waiting a minute at most (then it is killed: a hang). */
static int child_status(pid_t pid)
{
	int st = 0;
	for (int i = 0; i < 60000; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		nap_ms(1);
	}
	fprintf(stderr, "  the child did not end: killed\n");
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

static const char *self;

static void returning_from_main_is_not_held_up(void)
{
	struct child c;
	char *argv[] = { (char *)self, "--child", "return", NULL };
	CHECK_EQ(child_start(&c, argv, NULL, 0, 0), 0);
	CHECK_EQ(child_status(c.pid), 7);
}

static void exit_in_a_handler_is_not_held_up(void)
{
	struct child c;
	char *argv[] = { (char *)self, "--child", "handler", NULL };
	CHECK_EQ(child_start(&c, argv, NULL, 1, 0), 0);
	char line[32];
	child_line(c.out, line, sizeof line);
	CHECK(strcmp(line, "ready") == 0);
	kill(c.pid, SIGTERM); /* its handler was installed before "ready" */
	int st = child_status(c.pid);
	CHECK_EQ(st, 3);
	close(c.out);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--child") == 0)
		return child_main(argv[2]);
	self = argv[0];
	RUN(read_interrupted_without_sa_restart);
	RUN(read_restarted_under_sa_restart);
	RUN(more_calls_than_helpers_block_at_once);
	RUN(library_wait_interrupted_despite_sa_restart);
	RUN(process_signal_ends_the_main_threads_call);
	RUN(errno_goes_in_and_comes_out);
	RUN(returning_from_main_is_not_held_up);
	RUN(exit_in_a_handler_is_not_held_up);
	TAP_DONE();
}
