/* Child processes: waitpid, wait, wait3, wait4, waitid, system, popen and
 * pclose park only the waiting thread, with glibc's results (statuses,
 * siginfo, errors, EINTR and SA_RESTART, system's signal handling, popen's
 * streams).  Built with capcc and with gcc -pthread (see ticker.h).
 *
 * The children wait until the parent lets them go — a pipe or a FIFO the
 * parent closes once the ticker has ticked in the window — so no check
 * relies on timing.  popen's stream is read with read(fileno(f)): reading
 * it through stdio is stdio's part. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ticker.h"

#define TICKS_BEFORE_ENDING (TICKER_MIN + 2)

static char dir[64], fifo[96], out[96];

/* ---- Children that wait to be let go ------------------------------------ */

/* A child that exits with `code` once `*release` is closed. */
static pid_t child_until_released(int code, int *release)
{
	int p[2];
	if (pipe(p))
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		close(p[1]);
		char c;
		while (read(p[0], &c, 1) > 0) {
		}
		_exit(code);
	}
	close(p[0]);
	*release = p[1];
	return pid;
}

/* Closes `fd` (a child's release) once the ticker has ticked in the window;
 * with fd < 0, opens and closes the FIFO instead (a shell reading it). */
struct release_later {
	pthread_t thread;
	int fd;
};
static void *release_later_main(void *arg)
{
	struct release_later *r = arg;
	ticker_await(TICKS_BEFORE_ENDING);
	if (r->fd >= 0) {
		close(r->fd);
		return NULL;
	}
	int fd;
	while ((fd = open(fifo, O_WRONLY | O_NONBLOCK)) < 0 && errno == ENXIO) /* until the shell has it open */
		usleep(1000);
	close(fd);
	return NULL;
}
static void release_later(struct release_later *r, int fd)
{
	r->fd = fd;
	pthread_create(&r->thread, NULL, release_later_main, r);
}

/* ---- Each wait parks only its caller ------------------------------------- */

enum waiter { WAITPID, WAIT, WAIT3, WAIT4_ANY, WAITID_PID, WAITID_ALL, WAITID_PIDFD };

static void a_wait_parks_only_its_caller(enum waiter how)
{
	int release, status = -1;
	pid_t pid = child_until_released(7, &release), got = -1;
	int pidfd = how == WAITID_PIDFD ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
	struct release_later r;
	struct rusage ru;
	siginfo_t si;
	memset(&si, 0, sizeof si);
	release_later(&r, release);
	TICKER_OPEN();
	switch (how) {
	case WAITPID: got = waitpid(pid, &status, 0); break;
	case WAIT: got = wait(&status); break;
	case WAIT3: got = wait3(&status, 0, &ru); break;
	case WAIT4_ANY: got = wait4(-1, &status, 0, &ru); break;
	case WAITID_PID: got = waitid(P_PID, pid, &si, WEXITED) == 0 ? si.si_pid : -1; break;
	case WAITID_ALL: got = waitid(P_ALL, 0, &si, WEXITED) == 0 ? si.si_pid : -1; break;
	case WAITID_PIDFD: got = waitid(P_PIDFD, pidfd, &si, WEXITED) == 0 ? si.si_pid : -1; break;
	}
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(got, pid);
	if (how <= WAIT4_ANY) {
		CHECK(WIFEXITED(status));
		CHECK_EQ(WEXITSTATUS(status), 7);
	} else {
		CHECK_EQ(si.si_code, CLD_EXITED);
		CHECK_EQ(si.si_status, 7);
	}
	pthread_join(r.thread, NULL);
	if (pidfd >= 0)
		close(pidfd);
}
static void waitpid_parks_only_its_caller(void) { a_wait_parks_only_its_caller(WAITPID); }
static void wait_parks_only_its_caller(void) { a_wait_parks_only_its_caller(WAIT); }
static void wait3_parks_only_its_caller(void) { a_wait_parks_only_its_caller(WAIT3); }
static void wait4_any_parks_only_its_caller(void) { a_wait_parks_only_its_caller(WAIT4_ANY); }
static void waitid_pid_parks_only_its_caller(void) { a_wait_parks_only_its_caller(WAITID_PID); }
static void waitid_all_parks_only_its_caller(void) { a_wait_parks_only_its_caller(WAITID_ALL); }
static void waitid_pidfd_parks_only_its_caller(void) { a_wait_parks_only_its_caller(WAITID_PIDFD); }

/* The shell reads the FIFO: it waits until release_later opens and closes it. */
static char waits_for_fifo[256];

static void system_parks_only_its_caller(void)
{
	struct release_later r;
	release_later(&r, -1);
	TICKER_OPEN();
	int status = system(waits_for_fifo);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 3);
	pthread_join(r.thread, NULL);
}

static void popen_read_parks_only_its_caller(void)
{
	char cmd[300], buf[16] = {0};
	snprintf(cmd, sizeof cmd, "read x < %s; echo done", fifo);
	FILE *f = popen(cmd, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	struct release_later r;
	release_later(&r, -1);
	TICKER_OPEN();
	ssize_t n = read(fileno(f), buf, sizeof buf - 1);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(n, 5);
	CHECK(strcmp(buf, "done\n") == 0);
	CHECK_EQ(pclose(f), 0);
	pthread_join(r.thread, NULL);
}

static void pclose_parks_only_its_caller(void)
{
	FILE *f = popen(waits_for_fifo, "r");
	CHECK(f != NULL);
	if (!f)
		return;
	struct release_later r;
	release_later(&r, -1);
	TICKER_OPEN();
	int status = pclose(f);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 3);
	pthread_join(r.thread, NULL);
}

/* "w": pclose flushes and closes first (cat sees the end of its input),
 * then waits for the shell. */
static void pclose_of_a_writer_parks_only_its_caller(void)
{
	char cmd[600], buf[32] = {0};
	snprintf(cmd, sizeof cmd, "cat > %s; %s", out, waits_for_fifo);
	FILE *f = popen(cmd, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs("hello\n", f);
	struct release_later r;
	release_later(&r, -1);
	TICKER_OPEN();
	int status = pclose(f);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 3);
	pthread_join(r.thread, NULL);
	int fd = open(out, O_RDONLY);
	CHECK_EQ(read(fd, buf, sizeof buf - 1), 6);
	CHECK(strcmp(buf, "hello\n") == 0);
	close(fd);
}

/* ---- glibc's results ----------------------------------------------------- */

static void waits_report_as_in_glibc(void)
{
	int release, status = -1;
	pid_t pid = child_until_released(5, &release);
	CHECK_EQ(waitpid(pid, &status, WNOHANG), 0);
	siginfo_t si;
	memset(&si, 0xff, sizeof si);
	CHECK_EQ(waitid(P_PID, pid, &si, WEXITED | WNOHANG), 0);
	CHECK_EQ(si.si_pid, 0); /* nothing to report */
	close(release);
	memset(&si, 0, sizeof si);
	CHECK_EQ(waitid(P_PID, pid, &si, WEXITED | WNOWAIT), 0); /* still waitable after this */
	CHECK_EQ(si.si_pid, pid);
	CHECK_EQ(si.si_signo, SIGCHLD);
	CHECK_EQ(si.si_code, CLD_EXITED);
	CHECK_EQ(si.si_status, 5);
	struct rusage ru;
	memset(&ru, 0, sizeof ru);
	CHECK_EQ(wait4(pid, &status, 0, &ru), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 5);
	CHECK(ru.ru_maxrss > 0);

	pid = fork();
	if (pid == 0) {
		raise(SIGTERM);
		_exit(0);
	}
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);

	errno = 0;
	CHECK_EQ(waitpid(-1, &status, 0), -1);
	CHECK_EQ(errno, ECHILD);
	errno = 0;
	CHECK_EQ(wait3(&status, 0, NULL), -1);
	CHECK_EQ(errno, ECHILD);
	errno = 0;
	CHECK_EQ(waitpid(1, &status, 0), -1); /* not our child */
	CHECK_EQ(errno, ECHILD);
	errno = 0;
	CHECK_EQ(waitid(P_ALL, 0, &si, 0), -1); /* nothing to wait for: no WEXITED etc. */
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(waitid(99, 0, &si, WEXITED), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(waitpid(-1, &status, 0x4000000), -1);
	CHECK_EQ(errno, EINVAL);
}

/* Stops and continues, which a pidfd does not report. */
static void stops_and_continues_are_reported(void)
{
	int status = -1, p[2];
	if (pipe(p))
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		char c;
		close(p[1]);
		raise(SIGSTOP);
		while (read(p[0], &c, 1) > 0) { /* until let go, so that it is not gone before it is seen continued */
		}
		_exit(9);
	}
	close(p[0]);
	CHECK_EQ(waitpid(pid, &status, WUNTRACED), pid);
	CHECK(WIFSTOPPED(status) && WSTOPSIG(status) == SIGSTOP);
	kill(pid, SIGCONT);
	siginfo_t si;
	memset(&si, 0, sizeof si);
	errno = 0;
	CHECK_EQ(waitid(P_PID, pid, &si, WCONTINUED), 0);
	CHECK_EQ(errno, 0);
	CHECK_EQ(si.si_code, CLD_CONTINUED);
	close(p[1]);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 9);
}

static volatile int handled;
static void on_signal(int sig)
{
	(void)sig;
	handled++;
}

struct signal_later {
	pthread_t thread, target;
	int release, restart;
	volatile int waiter_returned;
};
static void *signal_later_main(void *arg)
{
	struct signal_later *s = arg;
	ticker_await(TICKS_BEFORE_ENDING);
	int before = handled;
	pthread_kill(s->target, SIGUSR1);
	while (handled == before)
		usleep(1000);
	/* Without SA_RESTART the waiter must return by itself; the child is
	 * let go after 10 s all the same, so that a wrong build fails the
	 * checks instead of hanging. */
	for (int i = 0; !s->restart && !s->waiter_returned && i < 10000; i++)
		usleep(1000);
	close(s->release);
	return NULL;
}

/* A handler without SA_RESTART interrupts a wait (EINTR); with SA_RESTART
 * the wait goes on until the child exits. */
static void signal_during_wait(int restart, int any)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = restart ? SA_RESTART : 0 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	struct signal_later s = { .target = pthread_self(), .restart = restart };
	int status = -1;
	pid_t pid = child_until_released(0, &s.release);
	pthread_create(&s.thread, NULL, signal_later_main, &s);
	TICKER_OPEN();
	errno = 0;
	pid_t got = waitpid(any ? -1 : pid, &status, 0);
	int err = errno;
	s.waiter_returned = 1;
	TICKER_CLOSE();
	if (restart) {
		CHECK_EQ(got, pid);
	} else {
		CHECK_EQ(got, -1);
		CHECK_EQ(err, EINTR);
		CHECK_EQ(waitpid(pid, &status, 0), pid); /* once let go */
	}
	pthread_join(s.thread, NULL);
	signal(SIGUSR1, SIG_DFL);
}
static void waitpid_is_interrupted_by_a_handler(void) { signal_during_wait(0, 0); }
static void waitpid_restarts_under_sa_restart(void) { signal_during_wait(1, 0); }
static void wait_any_is_interrupted_by_a_handler(void) { signal_during_wait(0, 1); }
static void wait_any_restarts_under_sa_restart(void) { signal_during_wait(1, 1); }

/* The kernel reports the exited child before it lets the SIGCHLD that
 * announces it interrupt the wait. */
static void a_sigchld_handler_does_not_interrupt_the_wait_for_that_child(void)
{
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = 0 }, old;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, &old);
	for (int any = 0; any < 2; any++) {
		int release, status = -1;
		pid_t pid = child_until_released(4, &release);
		struct release_later r;
		release_later(&r, release);
		TICKER_OPEN();
		errno = 0;
		CHECK_EQ(waitpid(any ? -1 : pid, &status, 0), pid);
		CHECK_EQ(errno, 0);
		TICKER_CLOSE();
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 4);
		pthread_join(r.thread, NULL);
	}
	sigaction(SIGCHLD, &old, NULL);
}

static void system_answers_as_in_glibc(void)
{
	CHECK(system(NULL) != 0);
	int st = system("exit 3");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3);
	st = system("kill -TERM $$");
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
	st = system("exec /nonexistent/capriccio-command 2>/dev/null");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 127);
}

/* While system() waits, the caller ignores SIGINT and SIGQUIT and blocks
 * SIGCHLD; afterwards all is as it was.  The shell starts with the
 * caller's mask and SIGINT and SIGQUIT at their defaults. */
static void system_handles_signals_as_in_glibc(void)
{
	struct sigaction sa = { .sa_handler = on_signal }, now;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	handled = 0;
	int st = system("kill -INT $PPID; kill -QUIT $PPID");
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_EQ(handled, 0); /* both were ignored */
	sigaction(SIGINT, NULL, &now);
	CHECK(now.sa_handler == on_signal);
	sigaction(SIGQUIT, NULL, &now);
	CHECK(now.sa_handler == on_signal);

	sigset_t mask;
	sigprocmask(SIG_BLOCK, NULL, &mask);
	CHECK(!sigismember(&mask, SIGCHLD));
	char cmd[300];
	snprintf(cmd, sizeof cmd, "exec grep -E '^Sig(Blk|Ign)' /proc/self/status > %s", out);
	CHECK_EQ(system(cmd), 0);
	sigprocmask(SIG_BLOCK, NULL, &mask);
	CHECK(!sigismember(&mask, SIGCHLD));
	char buf[256] = {0};
	int fd = open(out, O_RDONLY);
	CHECK(read(fd, buf, sizeof buf - 1) > 0);
	close(fd);
	char *blk = strstr(buf, "SigBlk:"), *ign = strstr(buf, "SigIgn:");
	CHECK(blk && ign);
	if (blk && ign) {
		unsigned long long b = strtoull(blk + 7, NULL, 16), i = strtoull(ign + 7, NULL, 16), want = 0;
		for (int s = 1; s < 64; s++)
			if (sigismember(&mask, s))
				want |= 1ull << (s - 1);
		CHECK_EQ(b, want);
		CHECK_EQ(i & (1ull << (SIGINT - 1)), 0);
		CHECK_EQ(i & (1ull << (SIGQUIT - 1)), 0);
	}

	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	CHECK_EQ(system("exit 0"), 0);
	sigprocmask(SIG_BLOCK, NULL, &mask);
	CHECK(sigismember(&mask, SIGCHLD)); /* blocked before, blocked after */
	sigprocmask(SIG_UNBLOCK, &chld, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGQUIT, SIG_DFL);
}

static void popen_answers_as_in_glibc(void)
{
	FILE *f = popen("exit 5", "r");
	int st = pclose(f);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 5);

	errno = 0;
	CHECK(popen("true", "x") == NULL);
	CHECK_EQ(errno, EINVAL);

	f = popen("true", "re");
	CHECK(fcntl(fileno(f), F_GETFD) & FD_CLOEXEC);
	CHECK_EQ(pclose(f), 0);
	f = popen("true", "r");
	CHECK(!(fcntl(fileno(f), F_GETFD) & FD_CLOEXEC));
	CHECK_EQ(pclose(f), 0);

	/* A child does not inherit the streams of earlier popen calls. */
	FILE *w = popen("cat > /dev/null", "w");
	char cmd[128], buf[16] = {0};
	snprintf(cmd, sizeof cmd, "test -e /proc/$$/fd/%d && echo open || echo closed", fileno(w));
	f = popen(cmd, "r");
	ssize_t n = 0, k;
	while ((k = read(fileno(f), buf + n, sizeof buf - 1 - n)) > 0)
		n += k;
	CHECK(strcmp(buf, "closed\n") == 0);
	CHECK_EQ(pclose(f), 0);
	CHECK_EQ(pclose(w), 0);

	/* Its child reaped by someone else: pclose fails with ECHILD. */
	f = popen("exit 0", "r");
	int status;
	CHECK(wait(&status) > 0);
	errno = 0;
	CHECK_EQ(pclose(f), -1);
	CHECK_EQ(errno, ECHILD);
}

int main(void)
{
	alarm(120); /* a build whose wait stops every thread is killed: a failure, not a hang */
	snprintf(dir, sizeof dir, "/tmp/capriccio-proc-XXXXXX");
	if (!mkdtemp(dir))
		return 1;
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	snprintf(out, sizeof out, "%s/out", dir);
	if (mkfifo(fifo, 0600) != 0)
		return 1;
	snprintf(waits_for_fifo, sizeof waits_for_fifo, "read x < %s; exit 3", fifo);
	ticker_start();
	RUN(waitpid_parks_only_its_caller);
	RUN(wait_parks_only_its_caller);
	RUN(wait3_parks_only_its_caller);
	RUN(wait4_any_parks_only_its_caller);
	RUN(waitid_pid_parks_only_its_caller);
	RUN(waitid_all_parks_only_its_caller);
	RUN(waitid_pidfd_parks_only_its_caller);
	RUN(system_parks_only_its_caller);
	RUN(popen_read_parks_only_its_caller);
	RUN(pclose_parks_only_its_caller);
	RUN(pclose_of_a_writer_parks_only_its_caller);
	RUN(waits_report_as_in_glibc);
	RUN(stops_and_continues_are_reported);
	RUN(waitpid_is_interrupted_by_a_handler);
	RUN(waitpid_restarts_under_sa_restart);
	RUN(wait_any_is_interrupted_by_a_handler);
	RUN(wait_any_restarts_under_sa_restart);
	RUN(a_sigchld_handler_does_not_interrupt_the_wait_for_that_child);
	RUN(system_answers_as_in_glibc);
	RUN(system_handles_signals_as_in_glibc);
	RUN(popen_answers_as_in_glibc);
	ticker_stop();
	unlink(fifo);
	unlink(out);
	rmdir(dir);
	TAP_DONE();
}
