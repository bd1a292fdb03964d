/* glibc's per-thread state, as a user thread sees it.
 *
 * glibc keeps its thread-locals per kernel thread (they stay per worker:
 * malloc's thread cache and arena, the resolver's context, stdio's lock
 * owner).  A user thread could still observe some of them across a blocking
 * call, while other threads ran on the same worker.  Those are kept per user
 * thread here:
 *  - strerror/strerror_l of an unknown number, strsignal of an unknown or
 *    real-time signal: glibc formats into a per-thread buffer that its next
 *    call frees, so another thread's call would free the string this one
 *    still holds;
 *  - inet_ntoa: a per-thread static buffer, overwritten by another thread;
 *  - uselocale: the thread's locale, applied at each switch when threads
 *    differ (tls.c);
 *  - __cxa_thread_atexit_impl: C++ thread_local destructors run when the
 *    user thread ends or calls exit (glibc would run them all, on one object
 *    address, when the worker exits).
 * errno is saved at each switch (sched.c).  The rest is correct as it is:
 * h_errno and dlerror are set by calls that never park, so they hold until
 * the thread's next blocking call; strtok, localtime, gmtime, ctime, asctime
 * and the getpw, getgr and gethostby families use process-wide buffers in
 * glibc, shared by kernel threads as well.
 *
 * Outside user threads (constructors, exit handlers, helper kernel threads,
 * signal handlers) glibc's own functions answer.  Compiled without
 * -fsplit-stack: these are called where glibc's would be. */
#include "tls.h"
#include "sigstate.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern locale_t __uselocale(locale_t);
extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);

/* The calling user thread's state, made on first use; NULL outside user threads. */
static struct cap_libc_tsd *cap__tsd(void)
{
	struct cap_worker *w = cap__w;
	if (!w || w->current == &w->sched || w->sig.in_handler)
		return NULL;
	struct cap_thread *t = w->current;
	if (!t->libc)
		t->libc = calloc(1, sizeof *t->libc);
	return t->libc;
}

/* glibc's definition of a function this file replaces. */
static void *cap__glibc(const char *name, void **slot)
{
	void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!f) {
		f = dlsym(RTLD_NEXT, name);
		if (!f) {
			fprintf(stderr, "capriccio: glibc's %s was not found\n", name);
			abort();
		}
		__atomic_store_n(slot, f, __ATOMIC_RELEASE);
	}
	return f;
}
#define CAP_GLIBC(type, name)                                \
	({                                                   \
		static void *cap__slot;                      \
		(type)cap__glibc(#name, &cap__slot);         \
	})

/* A string glibc formatted into its per-thread buffer, moved to ours. */
static char *cap__keep(char *s, char *buf, size_t n)
{
	if (!s)
		return NULL;
	cap__strlcpy(buf, s, n);
	return buf;
}

char *strerror(int e)
{
	char *s = CAP_GLIBC(char *(*)(int), strerror)(e);
	struct cap_libc_tsd *d;
	if (strerrordesc_np(e) || !(d = cap__tsd()))
		return s;
	return cap__keep(s, d->strerror_buf, sizeof d->strerror_buf);
}

char *strerror_l(int e, locale_t loc)
{
	char *s = CAP_GLIBC(char *(*)(int, locale_t), strerror_l)(e, loc);
	struct cap_libc_tsd *d;
	if (strerrordesc_np(e) || !(d = cap__tsd()))
		return s;
	return cap__keep(s, d->strerror_buf, sizeof d->strerror_buf);
}

char *strsignal(int sig)
{
	char *s = CAP_GLIBC(char *(*)(int), strsignal)(sig);
	struct cap_libc_tsd *d;
	if (sigdescr_np(sig) || !(d = cap__tsd()))
		return s;
	return cap__keep(s, d->strsignal_buf, sizeof d->strsignal_buf);
}

char *inet_ntoa(struct in_addr a)
{
	char *s = CAP_GLIBC(char *(*)(struct in_addr), inet_ntoa)(a);
	struct cap_libc_tsd *d = cap__tsd();
	return d ? cap__keep(s, d->inet_ntoa_buf, sizeof d->inet_ntoa_buf) : s;
}

locale_t uselocale(locale_t loc)
{
	locale_t old = __uselocale(loc);
	struct cap_worker *w = cap__w;
	if (!loc || !old || !w || w->current == &w->sched)
		return old;
	void *mine = loc == LC_GLOBAL_LOCALE ? NULL : loc;
	struct cap_libc_tsd *d = mine || w->current->libc ? cap__tsd() : NULL;
	if (d) {
		d->locale = mine;
		w->locale_applied = mine;
		if (mine)
			__atomic_or_fetch(&cap__tls.flags, CAP_TLS_LOCALE, __ATOMIC_RELAXED); /* any worker may set it */
	}
	return old;
}

/* cap__switch: the next thread's locale for this kernel thread. */
void cap__apply_locale_sys(void *loc)
{
	__uselocale(loc ? loc : LC_GLOBAL_LOCALE);
	cap__w->locale_applied = loc;
}

/* exit() called by a user thread: glibc destroys the caller's thread_local
 * objects before any exit handler, but knows none of ours.  So each worker
 * gives glibc one destructor of its own, which destroys the current user
 * thread's objects then; when main returns, they are gone already. */
static void cap__tls_dtors_at_exit(void *unused)
{
	(void)unused;
	struct cap_worker *w = cap__w;
	if (w && w->current != &w->sched && w->current->libc)
		cap__tls_thread_end(w->current);
}
static CAP_TLS bool cap__exit_dtors_armed; /* per worker kernel thread */
extern void *__dso_handle;

int __cxa_thread_atexit_impl(void (*fn)(void *), void *obj, void *dso)
{
	int (*glibc)(void (*)(void *), void *, void *) =
		CAP_GLIBC(int (*)(void (*)(void *), void *, void *), __cxa_thread_atexit_impl);
	struct cap_libc_tsd *d = cap__tsd();
	if (!d)
		return glibc(fn, obj, dso);
	if (!cap__exit_dtors_armed)
		cap__exit_dtors_armed = glibc(cap__tls_dtors_at_exit, NULL, &__dso_handle) == 0;
	struct cap_tls_dtor *x = malloc(sizeof *x);
	if (!x) {
		fputs("capriccio: out of memory registering a thread_local destructor\n", stderr);
		abort();
	}
	*x = (struct cap_tls_dtor){ fn, obj, d->dtors };
	d->dtors = x;
	return 0;
}

/* When the thread ends, after its destructors and its pthread keys'. */
void cap__libc_tsd_free_sys(void *arg)
{
	struct cap_thread *t = arg;
	struct cap_libc_tsd *d = t->libc;
	t->libc = NULL;
	for (int list = 0; list < 2; list++)
		for (struct cap_tls_dtor *x = list ? d->dtors : d->done, *next; x; x = next) {
			next = x->next; /* d->dtors: registered by a key destructor, too late to run */
			free(x);
		}
	if (d->locale && cap__w->locale_applied == d->locale)
		cap__apply_locale_sys(NULL); /* the user may free it now */
	free(d);
}
