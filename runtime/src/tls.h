/* Thread-locals per user thread.
 *
 * The program's `__thread` variables (everything linked into the executable
 * before the runtime: capcc puts tls_mark.o there) live in each kernel
 * thread's static TLS block, beside glibc's, libgcc's and the runtime's own,
 * which must stay per kernel thread.  So each user thread keeps its own copy
 * of the program's part, and the switch copies it out of the block and the
 * next thread's copy in (tls.c).  The layout is read once at start-up
 * (tls_sys.c).  Only programs with thread-locals pay for it.
 *
 * glibc's per-thread state stays per kernel thread; what of it a user thread
 * can observe across a blocking call is kept per user thread in
 * struct cap_libc_tsd (tls_libc_sys.c). */
#ifndef CAP_TLS_H
#define CAP_TLS_H

#include "internal.h"

#define CAP_TLS_COPY 1u   /* the program has thread-locals: copy them at each switch */
#define CAP_TLS_LOCALE 2u /* a user thread chose its own locale (uselocale) */

struct cap_tls_layout {
	unsigned flags;    /* CAP_TLS_*: what each switch must do; 0 keeps switches as they were */
	size_t bytes;      /* the program's thread-locals: the first `bytes` of the executable's TLS block */
	size_t area;       /* room kept for a thread's copy below its thread structure */
	const char *image; /* their initial values (.tdata), image_len bytes; the rest starts at zero */
	size_t image_len;
	ptrdiff_t block_off; /* the executable's TLS block minus the thread pointer */
	bool avx2;           /* copies may use 32-byte moves */
};
extern struct cap_tls_layout cap__tls;

/* A thread's copy of the program's thread-locals: right below its thread
 * structure (cap__tls.area bytes).  Only threads from stack.c have one, not
 * a worker's scheduler context. */
static inline char *cap__tls_of(struct cap_thread *t) { return (char *)t - cap__tls.area; }

/* C++ thread_local destructors (__cxa_thread_atexit_impl), run when the
 * thread ends, newest first. */
struct cap_tls_dtor {
	void (*fn)(void *);
	void *obj;
	struct cap_tls_dtor *next;
};

struct cap_libc_tsd {
	void *locale; /* from uselocale; NULL: the global locale */
	struct cap_tls_dtor *dtors, *done;
	char strerror_buf[128]; /* strerror of an unknown error number */
	char strsignal_buf[64]; /* strsignal of an unknown or real-time signal */
	char inet_ntoa_buf[16];
};

/* tls.c */
void cap__tls_worker_init(struct cap_worker *w); /* each worker, on its own kernel thread */
void cap__tls_switch(struct cap_worker *w, struct cap_thread *from, struct cap_thread *to);
void cap__tls_thread_start(struct cap_worker *w, struct cap_thread *t, bool as_now);
void cap__tls_load(struct cap_worker *w, struct cap_thread *t);
void cap__tls_thread_end(struct cap_thread *t);
bool cap__tls_in_live(const void *p, size_t n);

/* tls_sys.c, tls_libc_sys.c: on the system stack */
void cap__tls_init_sys(void *w);
void cap__apply_locale_sys(void *locale);
void cap__libc_tsd_free_sys(void *t);

#endif
