/* Misuse gets a clear message instead of a silent hang: a deadlock where
 * every thread waits, a call into the scheduler from a kernel thread the
 * runtime does not own, and bad configuration. */
#define _GNU_SOURCE
#include <capriccio.h>
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include "spawn_child.h"
#include "tap.h"

static char *self;

static int run_self(const char *mode, char *const envp[], char *err, size_t len)
{
	struct child c;
	char *argv[] = { self, (char *)mode, NULL };
	if (child_start(&c, argv, envp, 0, 1) != 0)
		return -1;
	child_slurp(c.err, err, len);
	return child_wait(&c);
}

static void deadlock_is_reported(void)
{
	char err[8192];
	int st = run_self("deadlock", NULL, err, sizeof err);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	CHECK(strstr(err, "capriccio: deadlock: all 2 threads are blocked") != NULL);
	CHECK(strstr(err, "'main' blocked on join") != NULL);
	CHECK(strstr(err, "'locker' blocked on mutex") != NULL);
	if (!strstr(err, "deadlock"))
		fprintf(stderr, "  child said: %s\n", err);
}

static void foreign_kernel_thread_is_reported(void)
{
	char err[4096];
	int st = run_self("foreign", NULL, err, sizeof err);
	if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT))
		fprintf(stderr, "  status %#x\n", st);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	CHECK(strstr(err, "not a Capriccio worker") != NULL);
	if (!strstr(err, "worker"))
		fprintf(stderr, "  child said: %s\n", err);
}

static void bad_environment_is_reported(void)
{
	char err[4096];
	char *env1[] = { "CAPRICCIO_STACK=sideways", NULL };
	int st = run_self("nothing", env1, err, sizeof err);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	CHECK(strstr(err, "CAPRICCIO_STACK=sideways: expected split or fixed") != NULL);
	char *env2[] = { "CAPRICCIO_CHUNK=12q", NULL };
	st = run_self("nothing", env2, err, sizeof err);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
	CHECK(strstr(err, "CAPRICCIO_CHUNK=12q is not a size") != NULL);
	char *env3[] = { "CAPRICCIO_STACK=fixed", NULL };
	st = run_self("mode", env3, err, sizeof err);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static cap_mutex_t m;
static void *locker(void *a)
{
	cap_mutex_lock(&m);
	return NULL;
}

static void *foreign(void *a)
{
	cap_yield(); /* a real kernel thread: not the runtime's */
	return NULL;
}

static int child(const char *mode)
{
	if (!strcmp(mode, "deadlock")) {
		cap_mutex_lock(&m);
		cap_thread_t *t = cap_spawn(locker, NULL, &(cap_spawn_opts_t){ .name = "locker" });
		cap_join(t, NULL);
		return 0;
	}
	if (!strcmp(mode, "foreign")) {
		/* Bypass the shim to get a genuine kernel thread. */
		int (*real)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *) = dlsym(RTLD_NEXT, "pthread_create");
		pthread_t t;
		real(&t, NULL, foreign, NULL);
		cap_sleep_ns(5000000000ull);
		return 0;
	}
	if (!strcmp(mode, "mode")) {
		cap_info_t info;
		cap_get_info(&info);
		return strcmp(info.stack_mode, "fixed") ? 1 : 0;
	}
	return 0;
}

int main(int argc, char **argv)
{
	self = argv[0];
	if (argc > 1)
		return child(argv[1]);
	RUN(deadlock_is_reported);
	RUN(foreign_kernel_thread_is_reported);
	RUN(bad_environment_is_reported);
	TAP_DONE();
}
