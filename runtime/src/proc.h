/* Between posix_proc.c (the calls, on user threads) and proc_sys.c (the
 * C library's side of them, on the system stack or a helper). */
#ifndef CAP_PROC_H
#define CAP_PROC_H

#include "io.h"
#include <stdio.h>
#include <sys/resource.h>
#include <sys/types.h>

struct cap_system {
	const char *line;
	pid_t pid;
	int err; /* posix_spawn's error; 0 when the shell started */
};

struct cap_popen {
	const char *command, *mode; /* popen */
	FILE *f;                    /* popen's result; pclose's stream */
	int status;                 /* pclose's result */
};

/* posix_proc.c: wait4 that parks; the result or -errno. */
long cap__wait4(pid_t pid, int *status, int options, struct rusage *ru);

/* proc_sys.c */
void cap__system_start_sys(void *s); /* ignore SIGINT/SIGQUIT, block SIGCHLD, spawn the shell */
void cap__system_end_sys(void *s);   /* and undo that once the last system() is done */
void cap__popen_sys(void *p);
void cap__pclose_sys(void *p);       /* on a helper */

#endif
