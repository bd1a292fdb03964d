/* Run a program as a child process with its stdout and/or stderr captured
 * through pipes (posix_spawn: safe in a runtime with one kernel thread).
 * The child starts with stdin, stdout and stderr only: what it sees does not
 * depend on descriptors whatever ran the test left open. */
#ifndef CAP_SPAWN_CHILD_H
#define CAP_SPAWN_CHILD_H
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct child {
	pid_t pid;
	int out; /* read end of its stdout, or -1 */
	int err; /* read end of its stderr, or -1 */
};

static inline int child_start(struct child *c, char *const argv[], char *const envp[], int want_out, int want_err)
{
	int o[2] = { -1, -1 }, e[2] = { -1, -1 };
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	if (want_out && pipe(o) == 0) {
		posix_spawn_file_actions_adddup2(&fa, o[1], 1);
		posix_spawn_file_actions_addclose(&fa, o[0]);
	}
	if (want_err && pipe(e) == 0) {
		posix_spawn_file_actions_adddup2(&fa, e[1], 2);
		posix_spawn_file_actions_addclose(&fa, e[0]);
	}
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	int rc = posix_spawn(&c->pid, argv[0], &fa, NULL, argv, envp ? envp : environ);
	posix_spawn_file_actions_destroy(&fa);
	if (o[1] >= 0)
		close(o[1]);
	if (e[1] >= 0)
		close(e[1]);
	c->out = o[0];
	c->err = e[0];
	return rc;
}

/* Fills envp (room for `cap` pointers) with this process's environment, but
 * `assignment` ("NAME=value") in place of any NAME it has; returns envp. */
static inline char **child_env_with(char **envp, size_t cap, char *assignment)
{
	size_t name = strcspn(assignment, "=") + 1, n = 0;
	for (char **e = environ; *e && n + 2 < cap; e++)
		if (strncmp(*e, assignment, name) != 0)
			envp[n++] = *e;
	envp[n++] = assignment;
	envp[n] = NULL;
	return envp;
}

/* Read until EOF (or the buffer is full). */
static inline size_t child_slurp(int fd, char *buf, size_t len)
{
	size_t n = 0;
	ssize_t k;
	while (fd >= 0 && n + 1 < len && (k = read(fd, buf + n, len - 1 - n)) > 0)
		n += (size_t)k;
	buf[n] = 0;
	return n;
}

/* Read one line (without the newline). */
static inline size_t child_line(int fd, char *buf, size_t len)
{
	size_t n = 0;
	char ch;
	while (n + 1 < len && read(fd, &ch, 1) == 1 && ch != '\n')
		buf[n++] = ch;
	buf[n] = 0;
	return n;
}

static inline int child_wait(struct child *c)
{
	int st = -1;
	waitpid(c->pid, &st, 0);
	if (c->out >= 0)
		close(c->out);
	if (c->err >= 0)
		close(c->err);
	return st;
}
#endif
