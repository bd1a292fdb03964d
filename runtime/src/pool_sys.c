/* The helper pool's threads (see pool.h).  Real kernel threads made with
 * the C library's pthread_create (ours makes user threads); a spinlocked
 * queue in, a list of finished jobs out, a futex to sleep on.  Compiled
 * without -fsplit-stack: it runs on the system stack and on helper stacks.
 *
 * Helpers block every signal the program can handle (its signals go to the
 * worker) but CAP_SIG_HELPER, whose handler does nothing: its only effect
 * is to make the helper's system call return EINTR. */
#include "pool.h"

#include <dlfcn.h>
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#define CAP_HELPERS_DEFAULT 4
#define CAP_HELPERS_MAX 64
#define CAP_HELPERS_UNBOUNDED_MAX 1024 /* helpers started for unbounded jobs, at most */

static atomic_int cap__lockword;
static struct cap_job *cap__head, *cap__tail; /* waiting for a helper */
static struct cap_job *cap__finished;
static atomic_uint cap__seq;
static int cap__efd = -1;
static int cap__started; /* 1 running, -1 failed */
/* Under the lock: helpers started; jobs queued or running, and how many of
 * those are unbounded.  The pool keeps a helper for every unbounded job and
 * up to cap__base more for the others. */
static int cap__helpers, cap__jobs, cap__unbounded, cap__base;
static int (*cap__real_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

static void cap__lock(void)
{
	while (atomic_exchange_explicit(&cap__lockword, 1, memory_order_acquire))
		__builtin_ia32_pause();
}
static void cap__unlock(void) { atomic_store_explicit(&cap__lockword, 0, memory_order_release); }

static void *cap__helper(void *arg)
{
	(void)arg;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL); /* the program's signals go to its worker */
	uint64_t helper_sig = 1ull << (CAP_SIG_HELPER - 1);
	cap_sys4(SYS_rt_sigprocmask, SIG_UNBLOCK, &helper_sig, NULL, 8);
	int tid = (int)cap_sys0(SYS_gettid);
	for (;;) {
		unsigned seq = atomic_load(&cap__seq);
		cap__lock();
		struct cap_job *j = cap__head;
		if (j) {
			cap__head = j->next;
			if (!cap__head)
				cap__tail = NULL;
			j->tid = tid;
			j->skipped = j->interrupt;
			j->state = 1;
		}
		cap__unlock();
		if (!j) {
			cap_sys6(SYS_futex, (long)&cap__seq, FUTEX_WAIT_PRIVATE, seq, 0, 0, 0);
			continue;
		}
		if (!j->skipped)
			j->run(j);
		cap__lock();
		/* No interrupt is sent from here on; one sent before is taken at
		 * the latest when the write below returns, before any other job. */
		j->state = 2;
		j->next = cap__finished;
		cap__finished = j;
		cap__jobs--;
		if (j->flags & CAP_JOB_UNBOUNDED)
			cap__unbounded--;
		cap__unlock();
		uint64_t one = 1;
		cap_sys3(SYS_write, cap__efd, &one, sizeof one);
	}
	return NULL;
}

static void cap__helper_sig(int sig) { (void)sig; }

/* rt_sigaction needs a restorer on x86-64; glibc's sigaction refuses this
 * signal, being its own. */
void cap__helper_sigreturn(void);
__asm__(".text\n.align 16\ncap__helper_sigreturn:\n\tmov $15, %eax\n\tsyscall\n");

static int cap__helper_sig_install(void)
{
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		uint64_t mask;
	} ka = { cap__helper_sig, 0x04000000 /* SA_RESTORER */, cap__helper_sigreturn, 0 };
	return (int)cap_sys4(SYS_rt_sigaction, CAP_SIG_HELPER, &ka, NULL, 8);
}

static bool cap__helper_start(void)
{
	pthread_t t;
	if (!cap__real_create || cap__real_create(&t, NULL, cap__helper, NULL) != 0)
		return false;
	cap__lock();
	cap__helpers++;
	cap__unlock();
	return true;
}

void cap__pool_start_sys(void *arg)
{
	int *ok = arg;
	if (cap__started) {
		*ok = cap__started > 0;
		return;
	}
	cap__started = -1;
	*ok = 0;
	long n = CAP_HELPERS_DEFAULT;
	const char *env = getenv("CAPRICCIO_HELPERS");
	if (env && *env) {
		char *end;
		n = strtol(env, &end, 10);
		if (*end || n < 1 || n > CAP_HELPERS_MAX) {
			fprintf(stderr, "capriccio: CAPRICCIO_HELPERS=%s: expected 1..%d; using %d\n", env, CAP_HELPERS_MAX,
				CAP_HELPERS_DEFAULT);
			n = CAP_HELPERS_DEFAULT;
		}
	}
	cap__efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (cap__efd >= 0)
		cap__fds_runtime(1);
	if (cap__efd < 0 || cap__io_add_internal(cap__efd, CAP_TAG_POOL) != 0) {
		fprintf(stderr, "capriccio: cannot create the helper pool's eventfd: %s\n", strerror(errno));
		return;
	}
	if (cap__helper_sig_install() != 0) {
		fprintf(stderr, "capriccio: cannot install the helper threads' signal handler\n");
		return;
	}
	cap__real_create =
		(int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))dlsym(RTLD_NEXT, "pthread_create");
	long made = 0;
	while (made < n && cap__helper_start())
		made++;
	cap__base = (int)made;
	if (made == 0) {
		fprintf(stderr, "capriccio: cannot start helper threads\n");
		return;
	}
	cap__started = 1;
	*ok = 1;
}

void cap__pool_submit_sys(void *arg)
{
	static bool warned;
	struct cap_job *j = arg;
	j->next = NULL;
	cap__lock();
	if (cap__tail)
		cap__tail->next = j;
	else
		cap__head = j;
	cap__tail = j;
	cap__jobs++;
	if (j->flags & CAP_JOB_UNBOUNDED)
		cap__unbounded++;
	int bounded = cap__jobs - cap__unbounded;
	bool short_of_helpers = cap__helpers < cap__unbounded + (bounded < cap__base ? bounded : cap__base);
	cap__unlock();
	if (short_of_helpers) {
		if (cap__helpers >= cap__base + CAP_HELPERS_UNBOUNDED_MAX || !cap__helper_start()) {
			if (!warned)
				fprintf(stderr, "capriccio: cannot start another helper thread (%d running); waits that "
						"need one queue until a helper is free\n", cap__helpers);
			warned = true;
		}
	}
	atomic_fetch_add(&cap__seq, 1);
	cap_sys6(SYS_futex, (long)&cap__seq, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

void cap__pool_interrupt_sys(void *arg)
{
	struct cap_job *j = arg;
	cap__lock();
	j->interrupt = true;
	if (j->state == 1) /* running: its helper cannot move on before this is sent */
		cap_sys3(SYS_tgkill, cap_sys0(SYS_getpid), j->tid, CAP_SIG_HELPER);
	cap__unlock();
}

void cap__pool_reap_sys(void *arg)
{
	(void)arg;
	uint64_t v;
	cap_sys3(SYS_read, cap__efd, &v, sizeof v);
	cap__lock();
	struct cap_job *j = cap__finished;
	cap__finished = NULL;
	cap__unlock();
	while (j) {
		struct cap_job *next = j->next;
		j->done = 1;
		cap__wake(j->t, 0);
		j = next;
	}
}

void cap__pool_forget_sys(void *arg)
{
	(void)arg;
	if (cap__efd >= 0 && cap_sys1(SYS_close, cap__efd) == 0)
		cap__fds_runtime(-1);
	cap__efd = -1;
	atomic_store(&cap__lockword, 0);
	cap__head = cap__tail = cap__finished = NULL;
	cap__helpers = cap__jobs = cap__unbounded = cap__base = 0;
	cap__started = 0;
}
