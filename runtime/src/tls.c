/* Thread-locals per user thread: each thread's copy of the program's part
 * of the static TLS block (see tls.h for what is copied and why).
 *
 * A thread leaving the worker gives the block's values back to its copy at
 * once, not when the next thread needs the block: under M:N it may resume on
 * another worker, whose block must get them from the copy.  The scheduler's
 * own context has no copy; it runs only runtime code. */
#include "tls.h"

struct cap_tls_layout cap__tls;

/* No libc from split code.  Below 4 KiB, 32-byte (AVX2) moves beat the
 * start-up cost of `rep movsb`; above, and without AVX2, it is used. */
typedef char cap__v32 __attribute__((vector_size(32)));

__attribute__((target("avx2"))) static void cap__tls_copy_avx2(char *d, const char *s, size_t n)
{
	for (; n >= 128; n -= 128, d += 128, s += 128) {
		cap__v32 a, b, c, e;
		__builtin_memcpy(&a, s, 32);
		__builtin_memcpy(&b, s + 32, 32);
		__builtin_memcpy(&c, s + 64, 32);
		__builtin_memcpy(&e, s + 96, 32);
		__builtin_memcpy(d, &a, 32);
		__builtin_memcpy(d + 32, &b, 32);
		__builtin_memcpy(d + 64, &c, 32);
		__builtin_memcpy(d + 96, &e, 32);
	}
	__asm__ volatile("vzeroupper"); /* no penalty for the SSE code that follows */
	for (; n >= 8; n -= 8, d += 8, s += 8) {
		uint64_t w;
		__builtin_memcpy(&w, s, 8);
		__builtin_memcpy(d, &w, 8);
	}
	for (; n; n--)
		*d++ = *s++;
}

static inline void cap__tls_copy(void *dst, const void *src, size_t n)
{
	if (cap__tls.avx2 && n < 4096) {
		cap__tls_copy_avx2(dst, src, n);
		return;
	}
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

static inline void cap__tls_zero(void *dst, size_t n)
{
	__asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(0) : "memory");
}

static inline void cap__tls_save(struct cap_worker *w, struct cap_thread *t)
{
	cap__tls_copy(cap__tls_of(t), w->tls_live, cap__tls.bytes);
}

void cap__tls_load(struct cap_worker *w, struct cap_thread *t) { cap__tls_copy(w->tls_live, cap__tls_of(t), cap__tls.bytes); }

/* Each worker's block holds the program's thread-locals at the same offset
 * from its thread pointer. */
void cap__tls_worker_init(struct cap_worker *w)
{
	w->tls_live = (char *)__builtin_thread_pointer() + cap__tls.block_off;
	w->locale_applied = NULL; /* a new kernel thread starts in the global locale */
}

/* Called by cap__switch when cap__tls.flags is set. */
void cap__tls_switch(struct cap_worker *w, struct cap_thread *from, struct cap_thread *to)
{
	if (cap__tls.flags & CAP_TLS_COPY) {
		if (from != &w->sched)
			cap__tls_save(w, from);
		if (to != &w->sched)
			cap__tls_load(w, to);
	}
	if ((cap__tls.flags & CAP_TLS_LOCALE) && to != &w->sched) {
		void *want = to->libc ? to->libc->locale : NULL;
		if (want != w->locale_applied)
			cap__on_sysstack(CAP_SYSFN_APPLY_LOCALE, want);
	}
}

/* A new thread starts from the initialisation image (.tdata, then zeros);
 * `as_now` takes the block's current values instead: main's thread-locals
 * are those the constructors left, as under glibc. */
void cap__tls_thread_start(struct cap_worker *w, struct cap_thread *t, bool as_now)
{
	if (as_now) {
		cap__tls_save(w, t);
		return;
	}
	char *copy = cap__tls_of(t);
	cap__tls_copy(copy, cap__tls.image, cap__tls.image_len);
	cap__tls_zero(copy + cap__tls.image_len, cap__tls.bytes - cap__tls.image_len);
}

/* C++ thread_local destructors, newest first, before the pthread keys'
 * (glibc's order).  A destructor may register another; the nodes are freed
 * with the rest of the thread's glibc state. */
void cap__tls_thread_end(struct cap_thread *t)
{
	struct cap_libc_tsd *d = t->libc;
	struct cap_tls_dtor *x;
	while ((x = d->dtors) != NULL) {
		d->dtors = x->next;
		x->next = d->done;
		d->done = x;
		x->fn(x->obj);
	}
}

/* Does [p, p+n) touch the program's thread-locals in this worker's block?
 * Such memory holds whichever thread runs, so nothing may fill or read it
 * while its thread is parked (the kernel on io_uring, a helper thread). */
bool cap__tls_in_live(const void *p, size_t n)
{
	struct cap_worker *w = cap__w;
	if (!(cap__tls.flags & CAP_TLS_COPY) || !w || !n)
		return false;
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)w->tls_live;
	return a < lo + cap__tls.bytes && a + n > lo;
}
