/* File locks (flock, fcntl F_SETLKW / F_OFD_SETLKW, lockf) held by another
 * process: waiting for one parks only the waiting thread, and the lock, the
 * errors, EDEADLK, EINTR and SA_RESTART are glibc's.  Built with capcc and
 * with gcc -pthread (see ticker.h).
 *
 * No check depends on timing: a child process holds the lock until told to
 * let go, and the parent learns from /proc/locks that its thread is queued
 * for the lock before it signals or lets the holder go. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "ticker.h"

enum kind { FLOCK, POSIX, OFD, LOCKF };

static char path[64];
static ino_t file_ino;

static int take(int fd, enum kind k, int wait)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
	switch (k) {
	case FLOCK: return flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
	case POSIX: return fcntl(fd, wait ? F_SETLKW : F_SETLK, &fl);
	case OFD: return fcntl(fd, wait ? F_OFD_SETLKW : F_OFD_SETLK, &fl);
	case LOCKF: return lockf(fd, wait ? F_LOCK : F_TLOCK, 0);
	}
	return -1;
}

/* A child that holds a lock of kind k on the file (through its own open
 * file description) until `*release` is closed — or 10 s have passed, so
 * that a build whose wait stops every thread (the releasing one too) fails
 * its checks instead of hanging. */
static pid_t holder(enum kind k, int *release)
{
	int ready[2], rel[2];
	if (pipe(ready) || pipe(rel))
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		close(ready[0]);
		close(rel[1]);
		int fd = open(path, O_RDWR);
		if (fd < 0 || take(fd, k == LOCKF ? POSIX : k, 1) != 0)
			_exit(2);
		char c = 'x';
		if (write(ready[1], &c, 1) != 1)
			_exit(3);
		struct pollfd p = { .fd = rel[0], .events = POLLIN };
		poll(&p, 1, 10000);
		_exit(0);
	}
	close(ready[1]);
	close(rel[0]);
	char c;
	if (pid < 0 || read(ready[0], &c, 1) != 1) {
		fprintf(stderr, "  holder child did not take its lock\n");
		abort();
	}
	close(ready[0]);
	*release = rel[1];
	return pid;
}

static int reap(pid_t pid)
{
	int st = -1;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
	}
	return st;
}

/* Is some thread queued for a lock on the file?  /proc/locks lists waiters
 * as "N: -> KIND ADVISORY TYPE PID MAJ:MIN:INODE START END" (PID -1 for OFD
 * locks); the file is ours alone, so a waiter is whoever the test made wait. */
static int queued(void)
{
	static char buf[1 << 16];
	int fd = open("/proc/locks", O_RDONLY), n = 0, k;
	if (fd < 0)
		return 0;
	while (n < (int)sizeof buf - 1 && (k = (int)read(fd, buf + n, sizeof buf - 1 - n)) > 0)
		n += k;
	close(fd);
	buf[n] = 0;
	char want[32];
	snprintf(want, sizeof want, ":%llu ", (unsigned long long)file_ino);
	for (char *line = buf; line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		char *end = strchr(line, '\n'), *arrow = strstr(line, "->"), *ino = strstr(line, want);
		if (arrow && ino && (!end || (arrow < end && ino < end)))
			return 1;
	}
	return 0;
}

/* Gives up after 10 s (the checks then fail). */
static void wait_queued(void)
{
	for (int i = 0; !queued(); i++) {
		if (i == 10000) {
			fprintf(stderr, "  no waiter showed up in /proc/locks\n");
			return;
		}
		usleep(1000);
	}
}

/* Lets the holder go 300 ms after the waiter is queued. */
struct release_later {
	pthread_t thread;
	int fd;
};
static void *release_later_main(void *arg)
{
	struct release_later *r = arg;
	wait_queued();
	usleep(300 * 1000);
	close(r->fd);
	return NULL;
}

static void waits_park_only_the_waiter(enum kind k)
{
	int fd = open(path, O_RDWR);
	struct release_later r;
	pid_t child = holder(k, &r.fd);
	pthread_create(&r.thread, NULL, release_later_main, &r);
	TICKER_OPEN();
	int rc = take(fd, k, 1);
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(rc, 0);
	pthread_join(r.thread, NULL);
	CHECK_EQ(reap(child), 0);
	close(fd);
}
static void flock_parks_only_its_caller(void) { waits_park_only_the_waiter(FLOCK); }
static void fcntl_setlkw_parks_only_its_caller(void) { waits_park_only_the_waiter(POSIX); }
static void fcntl_ofd_setlkw_parks_only_its_caller(void) { waits_park_only_the_waiter(OFD); }
static void lockf_parks_only_its_caller(void) { waits_park_only_the_waiter(LOCKF); }

/* What a lock held elsewhere looks like without waiting. */
static void busy_locks_fail_as_in_glibc(void)
{
	int fd = open(path, O_RDWR), release;
	pid_t child = holder(POSIX, &release);
	errno = 0;
	CHECK_EQ(take(fd, POSIX, 0), -1);
	CHECK_EQ(errno, EAGAIN);
	errno = 0;
	CHECK_EQ(take(fd, LOCKF, 0), -1);
	CHECK_EQ(errno, EAGAIN);
	errno = 0;
	CHECK_EQ(lockf(fd, F_TEST, 0), -1);
	CHECK_EQ(errno, EACCES);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	CHECK_EQ(fcntl(fd, F_GETLK, &fl), 0);
	CHECK_EQ(fl.l_type, F_WRLCK);
	CHECK_EQ(fl.l_pid, child);
	close(release);
	CHECK_EQ(reap(child), 0);

	child = holder(FLOCK, &release);
	errno = 0;
	CHECK_EQ(take(fd, FLOCK, 0), -1);
	CHECK_EQ(errno, EWOULDBLOCK);
	close(release);
	CHECK_EQ(reap(child), 0);
	CHECK_EQ(lockf(fd, F_TEST, 0), 0);
	CHECK_EQ(lockf(fd, F_LOCK, 0), 0);
	CHECK_EQ(lockf(fd, F_TEST, 0), 0); /* our own lock */
	CHECK_EQ(lockf(fd, F_ULOCK, 0), 0);
	close(fd);
}

static void bad_arguments_fail_as_in_glibc(void)
{
	int fd = open(path, O_RDWR);
	struct flock bad = { .l_type = 99, .l_whence = SEEK_SET };
	struct flock ofd_pid = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_pid = 1 };
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	errno = 0;
	CHECK_EQ(flock(-1, LOCK_EX), -1);
	CHECK_EQ(errno, EBADF);
	errno = 0;
	CHECK_EQ(flock(fd, 0), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(fcntl(-1, F_SETLKW, &fl), -1);
	CHECK_EQ(errno, EBADF);
	errno = 0;
	CHECK_EQ(fcntl(fd, F_SETLKW, &bad), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(fcntl(fd, F_OFD_SETLKW, &ofd_pid), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(lockf(fd, 99, 0), -1);
	CHECK_EQ(errno, EINVAL);
	int ro = open(path, O_RDONLY);
	errno = 0;
	CHECK_EQ(fcntl(ro, F_SETLKW, &fl), -1); /* a write lock needs a descriptor open for writing */
	CHECK_EQ(errno, EBADF);
	close(ro);
	close(fd);
}

/* Does a child see the file locked?  (F_GETLK from another process.) */
static pid_t locked_by_whom(void)
{
	int p[2];
	if (pipe(p))
		abort();
	pid_t pid = fork();
	if (pid == 0) {
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		int fd = open(path, O_RDWR);
		pid_t who = (fd >= 0 && fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) ? fl.l_pid : 0;
		_exit(write(p[1], &who, sizeof who) == sizeof who ? 0 : 1);
	}
	close(p[1]);
	pid_t who = -1;
	if (read(p[0], &who, sizeof who) != sizeof who)
		who = -1;
	close(p[0]);
	reap(pid);
	return who;
}

/* A lock won after a wait is the process's: another process sees our pid
 * as its owner, and closing any descriptor of the file drops it. */
static void a_waited_for_lock_belongs_to_the_process(void)
{
	int fd = open(path, O_RDWR);
	struct release_later r;
	pid_t child = holder(POSIX, &r.fd);
	pthread_create(&r.thread, NULL, release_later_main, &r);
	CHECK_EQ(take(fd, POSIX, 1), 0);
	pthread_join(r.thread, NULL);
	reap(child);
	CHECK_EQ(locked_by_whom(), getpid());
	close(open(path, O_RDONLY));
	CHECK_EQ(locked_by_whom(), 0);
	close(fd);
}

/* Two processes each waiting for the other's lock: the second to wait gets
 * EDEADLK (fcntl locks only). */
static void a_deadlock_is_edeadlk(void)
{
	int fd = open(path, O_RDWR);
	struct flock a = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	struct flock b = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 1, .l_len = 1 };
	CHECK_EQ(fcntl(fd, F_SETLK, &a), 0);
	int ready[2];
	if (pipe(ready))
		abort();
	pid_t child = fork();
	if (child == 0) {
		int cfd = open(path, O_RDWR);
		char c = 'x';
		if (fcntl(cfd, F_SETLK, &b) != 0 || write(ready[1], &c, 1) != 1)
			_exit(2);
		_exit(fcntl(cfd, F_SETLKW, &a) == 0 ? 0 : 3); /* waits for the parent's lock on a */
	}
	char c;
	CHECK_EQ(read(ready[0], &c, 1), 1);
	wait_queued();
	errno = 0;
	CHECK_EQ(fcntl(fd, F_SETLKW, &b), -1);
	CHECK_EQ(errno, EDEADLK);
	close(fd); /* drops a: the child gets it and exits */
	CHECK_EQ(reap(child), 0);
	close(ready[0]);
	close(ready[1]);
}

static volatile int handled;
static void on_usr1(int sig)
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
	wait_queued();
	int before = handled;
	pthread_kill(s->target, SIGUSR1);
	while (handled == before)
		usleep(1000);
	/* Without SA_RESTART the waiter must return by itself; the holder is
	 * let go after 10 s all the same, so that a wrong build fails the
	 * checks instead of hanging. */
	for (int i = 0; !s->restart && !s->waiter_returned && i < 10000; i++)
		usleep(1000);
	close(s->release);
	return NULL;
}

/* A handler without SA_RESTART interrupts the wait (EINTR), one with
 * SA_RESTART does not: the wait goes on until the lock is free. */
static void signal_during_wait(enum kind k, int restart)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	int fd = open(path, O_RDWR);
	struct signal_later s = { .target = pthread_self(), .restart = restart };
	pid_t child = holder(k, &s.release);
	pthread_create(&s.thread, NULL, signal_later_main, &s);
	errno = 0;
	int rc = take(fd, k, 1);
	int err = errno;
	s.waiter_returned = 1;
	if (restart) {
		CHECK_EQ(rc, 0);
	} else {
		CHECK_EQ(rc, -1);
		CHECK_EQ(err, EINTR);
	}
	pthread_join(s.thread, NULL);
	CHECK_EQ(reap(child), 0);
	close(fd);
	signal(SIGUSR1, SIG_DFL);
}
static void flock_is_interrupted_by_a_handler(void) { signal_during_wait(FLOCK, 0); }
static void flock_restarts_under_sa_restart(void) { signal_during_wait(FLOCK, 1); }
static void fcntl_setlkw_is_interrupted_by_a_handler(void) { signal_during_wait(POSIX, 0); }
static void fcntl_setlkw_restarts_under_sa_restart(void) { signal_during_wait(POSIX, 1); }

int main(void)
{
	snprintf(path, sizeof path, "/tmp/capriccio-lock-XXXXXX");
	int fd = mkstemp(path);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		return 1;
	file_ino = st.st_ino;
	close(fd);
	ticker_start();
	RUN(flock_parks_only_its_caller);
	RUN(fcntl_setlkw_parks_only_its_caller);
	RUN(fcntl_ofd_setlkw_parks_only_its_caller);
	RUN(lockf_parks_only_its_caller);
	RUN(busy_locks_fail_as_in_glibc);
	RUN(bad_arguments_fail_as_in_glibc);
	RUN(a_waited_for_lock_belongs_to_the_process);
	RUN(a_deadlock_is_edeadlk);
	RUN(flock_is_interrupted_by_a_handler);
	RUN(flock_restarts_under_sa_restart);
	RUN(fcntl_setlkw_is_interrupted_by_a_handler);
	RUN(fcntl_setlkw_restarts_under_sa_restart);
	ticker_stop();
	unlink(path);
	TAP_DONE();
}
