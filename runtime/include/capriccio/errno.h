/* <errno.h> for programs built with capcc (or pkg-config's Cflags), which put this directory first
 * on the include path: glibc's header, with errno redefined.
 *
 * glibc declares __errno_location `const`, so gcc computes errno's address
 * once per function and keeps it across calls.  Under Capriccio a user
 * thread that blocks may resume on another worker, another kernel thread
 * with an errno of its own (capriccio.h: workers): a `read` that parks and
 * fails would set the new worker's errno while the caller reads the old
 * one's.  This errno asks for the address again after every call (pure:
 * it depends on memory, which a call may change), and the runtime keeps
 * each thread's value in the errno of whichever worker runs it.
 *
 * Prebuilt libraries compiled without it keep glibc's errno; they read it
 * right after the call that set it, as a rule, which stays correct. */
#include_next <errno.h>

#if !defined(CAPCC_ERRNO_H) && defined(errno)
#define CAPCC_ERRNO_H
#ifdef __cplusplus
extern "C"
#endif
	int *
	cap_errno_location(void) __attribute__((pure));
#undef errno
#define errno (*cap_errno_location())
#endif
