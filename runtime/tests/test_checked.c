/* The checked build (make -C runtime checked: CAP_CHECKED, src/internal.h)
 * asserts the scheduler's invariants where they could break.  A check must
 * be able to fire: a child that breaks one on purpose (it releases the wait
 * lock it does not hold) dies naming it.  Against the normal build, where
 * nothing is checked, the child is not run. */
#define _GNU_SOURCE
#include "tap.h"
#include "spawn_child.h"
#include "mn.h"

#include <capriccio.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>

static void *release_what_it_does_not_hold(void *arg)
{
	cap__mn_unlock(cap__w);
	return arg;
}

static void a_broken_invariant_is_named(void)
{
#ifdef CAP_CHECKED
	char *argv[] = { "/proc/self/exe", "break", NULL }, err[4096];
	struct child c;
	CHECK_EQ(child_start(&c, argv, NULL, 0, 1), 0);
	size_t n = child_slurp(c.err, err, sizeof err - 1);
	err[n] = 0;
	int st = child_wait(&c);
	printf("  the child said: %s", err);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	CHECK(strstr(err, "internal error (checked build): the wait lock is not held where it must be") != NULL);
#else
	printf("  not the checked build: nothing is asserted, nothing to break\n");
#endif
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "break")) {
		cap_join(cap_spawn(release_what_it_does_not_hold, NULL, NULL), NULL);
		return 0;
	}
	RUN(a_broken_invariant_is_named);
	TAP_DONE();
}
