/* Start-up configuration and diagnostics.
 *
 * This file is compiled WITHOUT -fsplit-stack: it calls libc freely, so it
 * must only run on a big stack — the worker's kernel stack, the runtime's
 * system stack (cap__on_sysstack) or the signal stack. */
#include "internal.h"
#include "mn.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern size_t cap__default_chunk, cap__default_fixed;
extern int cap__stack_mode;
extern int __real_main(int, char **, char **);

static struct sigaction cap__old_segv, cap__old_bus;
extern int __sigaction(int, const struct sigaction *, struct sigaction *);
struct sigaction *cap__sig_user_action(int sig);

static size_t cap__env_size(const char *name, size_t def, size_t min)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return def;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	else if (*end == 'g' || *end == 'G')
		v <<= 30, end++;
	if (errno || *end || v < min) {
		fprintf(stderr, "capriccio: %s=%s is not a size in bytes of at least %zu (e.g. 4096, 64K, 1M)\n", name, s,
			min);
		exit(2);
	}
	return (size_t)v;
}

static bool cap__main_is_split(void) { return cap__code_is_split((const void *)__real_main); }

static void cap__segv(int sig, siginfo_t *si, void *uc);

void cap__policy_init_sys(uint64_t memory_limit, uint64_t stack_limit);

void cap__sys_init(void *arg)
{
	(void)arg;
	const char *mode = getenv("CAPRICCIO_STACK");
	if (mode && *mode) {
		if (!strcmp(mode, "split"))
			cap__stack_mode = CAP_STACK_SPLIT;
		else if (!strcmp(mode, "fixed"))
			cap__stack_mode = CAP_STACK_FIXED;
		else {
			fprintf(stderr, "capriccio: CAPRICCIO_STACK=%s: expected split or fixed\n", mode);
			exit(2);
		}
		if (cap__stack_mode == CAP_STACK_SPLIT && !cap__main_is_split())
			fprintf(stderr, "capriccio: warning: CAPRICCIO_STACK=split but main was not compiled with "
					"-fsplit-stack; its stack cannot grow\n");
	} else {
		cap__stack_mode = cap__main_is_split() ? CAP_STACK_SPLIT : CAP_STACK_FIXED;
	}
	cap__default_chunk = cap__env_size("CAPRICCIO_CHUNK", cap__default_chunk, 2560);
	cap__default_fixed = cap__env_size("CAPRICCIO_FIXED_STACK", cap__default_fixed, 16384);
	const char *sched = getenv("CAPRICCIO_SCHEDULER");
	if (sched && *sched && strcmp(sched, "fifo") != 0) {
		if (strcmp(sched, "resource-aware") != 0) {
			fprintf(stderr, "capriccio: CAPRICCIO_SCHEDULER=%s: expected fifo or resource-aware\n", sched);
			exit(2);
		}
		cap__policy = CAP_POLICY_RESOURCE;
		cap__policy_init_sys(cap__env_size("CAPRICCIO_MEMORY_LIMIT", 0, 1 << 20),
				     cap__env_size("CAPRICCIO_STACK_LIMIT", 0, 1 << 16));
	}

	/* The handlers run on each worker's alternate stack (signal.c). */
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = cap__segv;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	__sigaction(SIGSEGV, &sa, &cap__old_segv);
	__sigaction(SIGBUS, &sa, &cap__old_bus);
	pthread_atfork(cap__before_fork, cap__after_fork_parent, cap__after_fork_child);
}

void cap__sys_print(void *msg)
{
	const char *m = msg;
	size_t n = strlen(m);
	(void)!write(2, m, n);
	if (n == 0 || m[n - 1] != '\n')
		(void)!write(2, "\n", 1);
}

/* "function+0xoff in file" for a code address, as far as dladdr can tell
 * (static functions show as their nearest exported neighbour). */
static const char *cap__site(const void *addr, char *buf, size_t n)
{
	Dl_info di;
	if (!addr) {
		snprintf(buf, n, "the program's start");
		return buf;
	}
	if (!dladdr(addr, &di)) {
		snprintf(buf, n, "%p", addr);
		return buf;
	}
	/* module+offset is what addr2line needs for position-independent code */
	const char *mod = di.dli_fname ? strrchr(di.dli_fname, '/') : NULL;
	mod = mod ? mod + 1 : (di.dli_fname ? di.dli_fname : "?");
	unsigned long off = (unsigned long)((const char *)addr - (const char *)di.dli_fbase);
	if (di.dli_sname)
		snprintf(buf, n, "%s+0x%lx (%s+0x%lx)", di.dli_sname,
			 (unsigned long)((const char *)addr - (const char *)di.dli_saddr), mod, off);
	else
		snprintf(buf, n, "%s+0x%lx", mod, off);
	return buf;
}

static const char *cap__reason_name(int r)
{
	switch ((enum cap_wait_reason)r) {
	case CAP_WAIT_NONE: return "nothing";
	case CAP_WAIT_SLEEP: return "sleep";
	case CAP_WAIT_JOIN: return "join";
	case CAP_WAIT_MUTEX: return "mutex";
	case CAP_WAIT_COND: return "condition variable";
	case CAP_WAIT_SEM: return "semaphore";
	case CAP_WAIT_RWLOCK: return "rwlock";
	case CAP_WAIT_QUEUE: return "wait queue";
	case CAP_WAIT_CHAN: return "channel";
	case CAP_WAIT_IO: return "I/O";
	case CAP_WAIT_POLL: return "poll";
	case CAP_WAIT_DISK: return "disk I/O";
	case CAP_WAIT_ONCE: return "pthread_once";
	case CAP_WAIT_EXTERN: return "an external call";
	}
	return "?";
}

static void cap__describe(FILE *f, const struct cap_thread *t)
{
	char site[256];
	fprintf(f, "  thread %llu '%s' blocked on %s %p, spawned at %s\n", (unsigned long long)t->id,
		t->name[0] ? t->name : "(unnamed)", cap__reason_name(t->reason), t->wait_obj,
		cap__site(t->spawn_site, site, sizeof site));
}

void cap__sys_report_deadlock(void *arg)
{
	(void)arg;
	fprintf(stderr,
		"capriccio: deadlock: all %llu threads are blocked and nothing (I/O, timer, disk) can wake any of them:\n",
		(unsigned long long)cap__mn.nthreads);
	unsigned shown = 0;
	for (const struct cap_thread *t = cap__mn.all; t && shown < 32; t = t->all_next, shown++)
		cap__describe(stderr, t);
	if (cap__mn.nthreads > shown)
		fprintf(stderr, "  ... and %llu more\n", (unsigned long long)(cap__mn.nthreads - shown));
	fflush(stderr);
	abort();
}

void cap__sys_report_overflow(void *arg)
{
	struct cap_thread *t = arg;
	char site[256];
	fprintf(stderr,
		"capriccio: stack overflow in thread %llu '%s' (spawned at %s): code that does not check its stack "
		"(not compiled with -fsplit-stack) ran past the end of its %zu-byte %s stack\n",
		(unsigned long long)t->id, t->name[0] ? t->name : "(unnamed)", cap__site(t->spawn_site, site, sizeof site),
		t->stack_size, t->stack_kind == CAP_STACK_KIND_FIXED ? "fixed" : "first-chunk");
	fflush(stderr);
	abort();
}

/* The thread whose stack a faulting address ran off: a fixed stack's guard
 * page, or just below the current thread's first chunk (code without split
 * stacks, called through a pointer, that outgrew the chunk). */
static struct cap_thread *cap__guard_owner(struct cap_worker *w, uintptr_t a)
{
	struct cap_thread *c = w->current;
	if (c && c->stack_kind == CAP_STACK_KIND_FIXED && a >= (uintptr_t)c->stack_lo - 4096 &&
	    a < (uintptr_t)c->stack_lo + 256)
		return c;
	if (c && c->stack_kind == CAP_STACK_KIND_SLAB && a < (uintptr_t)c->stack_lo + 256 &&
	    a + (64u << 10) >= (uintptr_t)c->stack_lo)
		return c;
	for (struct cap_thread *t = cap__mn.all; t; t = t->all_next)
		if (t->stack_kind == CAP_STACK_KIND_FIXED && a >= (uintptr_t)t->stack_lo - 4096 &&
		    a < (uintptr_t)t->stack_lo)
			return t;
	return NULL;
}

static void cap__segv(int sig, siginfo_t *si, void *uc)
{
	struct cap_worker *w = cap__w;
	struct cap_thread *t = w ? cap__guard_owner(w, (uintptr_t)si->si_addr) : NULL;
	if (t) {
		char msg[512], site[256];
		int n = snprintf(msg, sizeof msg,
				 t->stack_kind == CAP_STACK_KIND_FIXED
					 ? "capriccio: stack overflow in thread %llu '%s' (spawned at %s): its fixed stack of %zu "
					   "bytes is exhausted (fault at %p); raise CAPRICCIO_FIXED_STACK or the thread's "
					   "stack_size, or build with capriccio cc for split stacks\n"
					 : "capriccio: stack overflow in thread %llu '%s' (spawned at %s): code without split "
					   "stacks ran off its %zu-byte first chunk (fault at %p); annotate the function's stack "
					   "need or raise CAPRICCIO_CHUNK\n",
				 (unsigned long long)t->id, t->name[0] ? t->name : "(unnamed)",
				 cap__site(t->spawn_site, site, sizeof site), t->stack_size, si->si_addr);
		(void)!write(2, msg, (size_t)n);
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		__sigaction(SIGABRT, &dfl, NULL);
		abort();
	}
	/* Not ours: hand it to the program's handler, or what was there before
	 * (default: die with the signal). */
	struct sigaction *old = cap__sig_user_action(sig);
	if (!old)
		old = sig == SIGBUS ? &cap__old_bus : &cap__old_segv;
	if (old->sa_flags & SA_SIGINFO && old->sa_sigaction) {
		old->sa_sigaction(sig, si, uc);
		return;
	}
	if (old->sa_handler != SIG_DFL && old->sa_handler != SIG_IGN) {
		old->sa_handler(sig);
		return;
	}
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	__sigaction(sig, &dfl, NULL); /* returning re-runs the faulting access */
}

/* CAPRICCIO_VERBOSE=1: say how the runtime is set up (the disk backend is
 * started now rather than on first use, so that it can be named). */
void cap__sys_report_config(void *arg)
{
	(void)arg;
	const char *v = getenv("CAPRICCIO_VERBOSE");
	if (!v || !*v || !strcmp(v, "0"))
		return;
	extern const char *cap__disk_backend_name(void);
	fprintf(stderr, "capriccio: stacks %s (first chunk %zu bytes, fixed stacks %zu bytes), disk I/O via %s, pid %d\n",
		cap__stack_mode == CAP_STACK_FIXED ? "fixed" : "split", cap__default_chunk, cap__default_fixed,
		cap__disk_backend_name(), (int)getpid());
	fprintf(stderr, "capriccio: %u worker%s (%u CPUs allowed: the affinity mask and the cgroup quota)\n", (unsigned)cap__mn.n,
		cap__mn.n == 1 ? "" : "s", (unsigned)cap__mn_default);
	if (cap__policy == CAP_POLICY_RESOURCE)
		fprintf(stderr, "capriccio: scheduler resource-aware (descriptors %lu of %lu, memory limit %lu, stack limit %lu bytes)\n",
			(unsigned long)cap__limits.fds_at_start, (unsigned long)cap__limits.fd_limit,
			(unsigned long)cap__limits.memory_limit, (unsigned long)cap__limits.stack_limit);
}
