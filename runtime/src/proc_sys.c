/* The C library's side of system, popen and pclose (proc.h).  Compiled
 * without -fsplit-stack. */
#include "proc.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>

extern char **environ;

/* What the first of the system() calls in progress found.  SINGLE-WORKER:
 * the signal mask is the worker's, shared by all user threads, so SIGCHLD
 * stays blocked until the last call ends and is then unblocked only if it
 * was not blocked before the first. */
static int cap__system_calls;
static struct sigaction cap__system_intr, cap__system_quit;
static bool cap__system_chld_was_blocked;

void cap__system_start_sys(void *arg)
{
	struct cap_system *s = arg;
	struct sigaction ign = { .sa_handler = SIG_IGN };
	sigemptyset(&ign.sa_mask);
	sigset_t chld, mask;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	if (cap__system_calls++ == 0) {
		sigaction(SIGINT, &ign, &cap__system_intr);
		sigaction(SIGQUIT, &ign, &cap__system_quit);
		sigprocmask(SIG_BLOCK, &chld, &mask);
		cap__system_chld_was_blocked = sigismember(&mask, SIGCHLD);
	} else {
		sigprocmask(SIG_BLOCK, NULL, &mask);
	}
	/* The shell starts with the caller's mask and, unless the caller
	 * ignored them, SIGINT and SIGQUIT at their defaults. */
	if (!cap__system_chld_was_blocked)
		sigdelset(&mask, SIGCHLD);
	sigset_t reset;
	sigemptyset(&reset);
	if (cap__system_intr.sa_handler != SIG_IGN)
		sigaddset(&reset, SIGINT);
	if (cap__system_quit.sa_handler != SIG_IGN)
		sigaddset(&reset, SIGQUIT);
	posix_spawnattr_t a;
	posix_spawnattr_init(&a);
	posix_spawnattr_setsigmask(&a, &mask);
	posix_spawnattr_setsigdefault(&a, &reset);
	posix_spawnattr_setflags(&a, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
	s->err = posix_spawn(&s->pid, "/bin/sh", NULL, &a, (char *const[]){ "sh", "-c", (char *)s->line, NULL }, environ);
	posix_spawnattr_destroy(&a);
}

void cap__system_end_sys(void *arg)
{
	(void)arg;
	if (--cap__system_calls > 0)
		return;
	sigaction(SIGINT, &cap__system_intr, NULL);
	sigaction(SIGQUIT, &cap__system_quit, NULL);
	if (!cap__system_chld_was_blocked) {
		sigset_t chld;
		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		sigprocmask(SIG_UNBLOCK, &chld, NULL);
	}
}

static void *cap__real_popen, *cap__real_pclose;

void cap__popen_sys(void *arg)
{
	struct cap_popen *p = arg;
	FILE *(*real)(const char *, const char *) = cap__libc_next(&cap__real_popen, "popen");
	p->f = real ? real(p->command, p->mode) : NULL;
}

void cap__pclose_sys(void *arg)
{
	struct cap_popen *p = arg;
	int (*real)(FILE *) = cap__libc_next(&cap__real_pclose, "pclose");
	p->status = real ? real(p->f) : -1;
}
