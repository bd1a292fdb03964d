/* The system stack: a big stack of the worker's own, where code that calls
 * libc (the *_sys.c files, through cap__sysfn) runs on behalf of a user
 * thread whose small chunk could not hold it. */
#include "internal.h"

#include <sys/mman.h>

/* The stack's size: libc's slow paths (printf, dlopen, getaddrinfo) fit. */
#define CAP_SYSSTACK_BYTES (1u << 20)

void cap__sysstack_init(struct cap_worker *w)
{
	struct cap_sysstack *s = &w->sysstack;
	long p = cap_sys6(SYS_mmap, 0, CAP_SYSSTACK_BYTES + 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p > 0) {
		cap_sys3(SYS_mprotect, p, 4096, PROT_NONE); /* guard page */
		s->lo = (char *)p + 4096;
		s->hi = s->lo + CAP_SYSSTACK_BYTES - 64;
	}
}

__attribute__((noinline, noipa)) void cap__on_sysstack(enum cap_sysfn op, void *arg)
{
	void (*fn)(void *) = cap__sysfn[op];
	struct cap_worker *w = cap__w;
	if (!w || w->sysstack.active || w->current == &w->sched || !w->sysstack.lo) {
		fn(arg); /* already on a big stack */
		return;
	}
	struct cap_sysstack *s = &w->sysstack;
	void *guard = cap__get_guard();
	struct cap_libgcc_segment *segs = __morestack_segments, *cur = __morestack_current_segment;
	__morestack_segments = s->segments;
	__morestack_current_segment = NULL;
	s->active = true;
	cap__set_guard(s->lo + CAP_SPLIT_BACKOFF);
	cap__sysstack_call(fn, arg, s->hi);
	cap__set_guard(guard);
	s->active = false;
	s->segments = __morestack_segments;
	__morestack_segments = segs;
	__morestack_current_segment = cur;
}
