/* fork() from a user thread: parent and child each keep waiting on their
 * own descriptors (the epoll instance, the signal eventfd and the disk ring
 * are per process after the fork, not shared). */
#define _GNU_SOURCE
#include <capriccio.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tap.h"

static int a[2], b[2], c[2];

/* Blocks in read() for a byte on fd, then posts `done`.  Whoever waits
 * for `done` gives up after 3 s: a read whose wake-up went to the other
 * process would otherwise never return. */
static cap_sem_t done;
static void *reader(void *arg)
{
	char ch;
	ssize_t n = read((int)(intptr_t)arg, &ch, 1);
	cap_sem_post(&done);
	return (void *)(intptr_t)(n == 1);
}

static int woke_in_time(void) { return cap_sem_timedwait(&done, cap_now_ns() + 3000000000ull) == 0; }

static void parent_and_child_keep_their_waits(void)
{
	CHECK(pipe(a) == 0 && pipe(b) == 0 && pipe(c) == 0);
	cap_thread_t *pr = cap_spawn(reader, (void *)(intptr_t)a[0], NULL);
	cap_yield(); /* it parks: a[0] is in the epoll set before the fork */
	pid_t pid = fork();
	if (pid == 0) {
		close(a[0]);
		/* The child idles in its epoll_wait while the parent works. */
		cap_spawn(reader, (void *)(intptr_t)b[0], NULL);
		int got = woke_in_time();
		char ok = got ? 'y' : 'n';
		(void)!write(c[1], &ok, 1);
		int fd = open("/proc/self/status", O_RDONLY); /* disk I/O in the child */
		char buf[64];
		ssize_t n = fd >= 0 ? pread(fd, buf, sizeof buf, 0) : -1;
		_exit(got && n > 0 ? 0 : 1);
	}
	CHECK(pid > 0);
	cap_sleep_ns(50000000);
	(void)!write(a[1], "x", 1);
	CHECK(woke_in_time()); /* the child did not take the parent's event */
	(void)pr;
	(void)!write(b[1], "y", 1);
	struct pollfd p = { .fd = c[0], .events = POLLIN };
	char ok = 0;
	CHECK(poll(&p, 1, 3000) == 1 && read(c[0], &ok, 1) == 1);
	CHECK_EQ(ok, 'y');
	int st = 0;
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

int main(void)
{
	RUN(parent_and_child_keep_their_waits);
	TAP_DONE();
}
