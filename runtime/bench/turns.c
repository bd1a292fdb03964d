/* Two programs timed in turns (turns.h). */
#define _GNU_SOURCE
#include "turns.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct turn_child {
	const char *name;
	pid_t pid;
	int pidfd; /* readable once it has exited */
	bool done;
	int status;
	double seconds;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Started, and stopped at once. */
static bool turn_start(struct turn_child *c, const struct turns_program *p)
{
	c->name = p->argv[0];
	posix_spawn_file_actions_t fa; /* what it prints of its own time counts its stops too */
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	errno = posix_spawn(&c->pid, p->argv[0], &fa, NULL, p->argv, p->envp);
	posix_spawn_file_actions_destroy(&fa);
	if (errno != 0) {
		fprintf(stderr, "turns: cannot start %s: %s\n", c->name, strerror(errno));
		return false;
	}
	kill(c->pid, SIGSTOP);
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (c->pidfd < 0)
		fprintf(stderr, "turns: pidfd_open(%d): %s\n", (int)c->pid, strerror(errno));
	if (waitpid(c->pid, &c->status, WUNTRACED) != c->pid || !WIFSTOPPED(c->status)) {
		fprintf(stderr, "turns: %s ended before its first turn\n", c->name);
		c->done = true;
		return false;
	}
	return c->pidfd >= 0;
}

/* One turn: c runs until it exits or turn_ms pass, then is stopped. */
static void turn_take(struct turn_child *c, unsigned turn_ms)
{
	double t0 = now_s();
	kill(c->pid, SIGCONT);
	struct pollfd pfd = { .fd = c->pidfd, .events = POLLIN };
	int r;
	while ((r = poll(&pfd, 1, (int)turn_ms)) < 0 && errno == EINTR) {
	}
	if (r == 0)
		kill(c->pid, SIGSTOP);
	/* Its stop, or its exit if it ended meanwhile. */
	if (waitpid(c->pid, &c->status, WUNTRACED) == c->pid && !WIFSTOPPED(c->status))
		c->done = true;
	c->seconds += now_s() - t0;
}

static void turn_abandon(struct turn_child *c)
{
	if (c->pid > 0 && !c->done) {
		kill(c->pid, SIGKILL);
		kill(c->pid, SIGCONT);
		waitpid(c->pid, NULL, 0);
	}
	if (c->pidfd >= 0)
		close(c->pidfd);
}

bool turns_run(const struct turns_program *a, const struct turns_program *b, unsigned turn_ms, double *a_s,
	       double *b_s)
{
	struct turn_child c[2] = { { .pidfd = -1 }, { .pidfd = -1 } };
	bool ok = turn_start(&c[0], a) && turn_start(&c[1], b);
	for (unsigned k = 0; ok && !(c[0].done && c[1].done); k ^= 1)
		if (!c[k].done)
			turn_take(&c[k], turn_ms);
	for (int k = 0; k < 2; k++) {
		if (ok && !(WIFEXITED(c[k].status) && WEXITSTATUS(c[k].status) == 0)) {
			fprintf(stderr, "turns: %s %s %d\n", c[k].name, WIFEXITED(c[k].status) ? "exited" : "was killed by signal",
				WIFEXITED(c[k].status) ? WEXITSTATUS(c[k].status) : WTERMSIG(c[k].status));
			ok = false;
		}
		turn_abandon(&c[k]);
	}
	*a_s = c[0].seconds;
	*b_s = c[1].seconds;
	return ok;
}
