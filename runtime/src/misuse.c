/* The end of a program that misused the runtime: the message, then SIGABRT
 * (a core dump, and the exit status a shell reports as an abort). */
#include "internal.h"

#include <signal.h>

_Noreturn void cap__fatal_misuse(const char *what)
{
	cap__on_sysstack(CAP_SYSFN_PRINT, (void *)what);
	/* Thread-directed, so it is taken before the syscall returns. */
	uint64_t abrt = 1ull << (SIGABRT - 1);
	cap_sys4(SYS_rt_sigprocmask, SIG_UNBLOCK, &abrt, NULL, 8);
	cap_sys3(SYS_tgkill, cap_sys0(SYS_getpid), cap_sys0(SYS_gettid), SIGABRT);
	for (;;)
		cap_sys1(SYS_exit_group, 134);
}
