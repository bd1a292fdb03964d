/* The program's entry: __wrap_main (capcc links with --wrap=main) sets up
 * the process and its worker, runs main() as the first user thread, and
 * returns when every thread has ended. */
#include "internal.h"
#include "tls.h"
#include "mn.h"

#include <stdlib.h>
#include <signal.h>

/* The reserve libgcc's __morestack keeps below a guard: the immediate of
 * its `add $BACKOFF,%r10` (0x600 in GCC's source, 0xe00 in Debian's GCC 12). */
extern const unsigned char __morestack[];
static size_t cap__read_libgcc_backoff(void)
{
	for (int i = 0; i < 24; i++)
		if (__morestack[i] == 0x49 && __morestack[i + 1] == 0x81 && __morestack[i + 2] == 0xc2) {
			uint32_t v;
			__builtin_memcpy(&v, __morestack + i + 3, 4);
			if (v >= 256 && v <= 65536)
				return v;
		}
	return 0x600;
}

struct cap_main_args {
	int argc;
	char **argv;
	char **envp;
};
extern int __real_main(int argc, char **argv, char **envp);

/* main returned: exit() runs the atexit handlers and the libraries'
 * destructors on main's thread while every other thread is still scheduled,
 * as under glibc (a library's destructor may signal its pool threads and
 * join them; stdout may have to wait for a slow reader).  The one direct
 * call from the runtime into libc: gold gives it a large chunk, once
 * (tests/split_hygiene.sh allows it by name). */
static __attribute__((noinline, noreturn)) void cap__main_exit(int status) { exit(status); }

/* main, called through a pointer: the split of a main that calls into libc
 * is then recorded in main's own prologue, and named main, not this
 * function (graph.c, __wrap___generic_morestack). */
static int (*volatile cap__real_main)(int argc, char **argv, char **envp) = __real_main;

static void *cap__main_entry(void *p)
{
	struct cap_main_args *a = p;
	cap__main_exit(cap__real_main(a->argc, a->argv, a->envp));
}

int __wrap_main(int argc, char **argv, char **envp);
int __wrap_main(int argc, char **argv, char **envp)
{
	struct cap_worker *w = cap__worker_first();
	static struct cap_main_args args;
	args.argc = argc;
	args.argv = argv;
	args.envp = envp;

	cap__libgcc_backoff = cap__read_libgcc_backoff();
	cap__worker_init_sched(w);
	cap__sysfn[CAP_SYSFN_INIT](w); /* environment, signal handlers */
	cap__stack_init();
	if (cap__fd_table_init() < 0)
		cap__fatal_misuse("capriccio: cannot map the descriptor table");
	cap__worker_init(w);
	cap__sysfn[CAP_SYSFN_TELEMETRY](w); /* when CAPRICCIO_TELEMETRY(_LISTEN) is set */

	cap_spawn_opts_t o = { .name = "main", .stack_size = 0, .stack_mode = CAP_STACK_DEFAULT };
	o.stack_size = cap__stack_default_mode() == CAP_STACK_FIXED ? (8u << 20) : (64u << 10);
	struct cap_thread *m = cap__spawn_prepare(cap__main_entry, &args, &o, NULL); /* no spawn site: the program's start */
	if (!m)
		cap__fatal_misuse("capriccio: cannot allocate the main thread's stack");
	m->flags |= CAP_F_MAIN;
	cap__mn.main_thread = m;
	if (cap__tls.area)
		cap__tls_thread_start(w, m, true);
	cap__spawn_start(m);
	cap__sysfn[CAP_SYSFN_MN_START](w); /* CAPRICCIO_WORKERS (mn.h): the others start */
	cap__sysfn[CAP_SYSFN_REPORT_CONFIG](w);
	cap__worker_run(w);
	/* Every thread ended, main by pthread_exit: exit(0) runs the handlers as
	 * plain kernel-thread code, on main's thread-locals as under glibc. */
	if (cap__tls.area && !(m->flags & CAP_F_DETACHED))
		cap__tls_load(w, m);
	cap__w = NULL;
	return 0;
}
