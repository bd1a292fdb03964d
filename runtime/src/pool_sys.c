/* The helper pool's threads (see pool.h).  Real kernel threads made with
 * the C library's pthread_create (ours makes user threads); a spinlocked
 * queue in, a list of finished jobs out, a futex to sleep on.  Helpers are
 * started as jobs need them and kept.  They block every signal but the
 * runtime's two interruption signals (so the program's signals go to its
 * worker), and those reach a helper only while it runs the job they are
 * for.  Compiled without -fsplit-stack: it runs on the system stack and on
 * helper stacks. */
#include "pool.h"
#include "mn.h"

#include <dlfcn.h>
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>

#define CAP_HELPERS_DEFAULT 4 /* started at first use */
#define CAP_HELPERS_MAX 64    /* the most CAPRICCIO_HELPERS may ask for */
#define CAP_HELPERS_UNBOUNDED_MAX 1024 /* helpers started for unbounded jobs, at most */

extern int __sigaction(int, const struct sigaction *, struct sigaction *);

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
static pthread_attr_t cap__helper_attr; /* the C library's, for cap__real_create */
static sigset_t cap__helper_mask;

static void cap__lock(void)
{
	while (atomic_exchange_explicit(&cap__lockword, 1, memory_order_acquire))
		__builtin_ia32_pause();
}
static void cap__unlock(void) { atomic_store_explicit(&cap__lockword, 0, memory_order_release); }

/* The interruption: its only work is to end the system call it lands in. */
static void cap__interrupted(int sig) { (void)sig; }

static void *cap__helper(void *arg)
{
	(void)arg;
	int tid = (int)cap_sys0(SYS_gettid);
	prctl(PR_SET_NAME, "cap-helper"); /* not its creator's name: that may be a worker's */
	for (;;) {
		/* Also after each job: the call may have changed the mask. */
		cap_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &cap__helper_mask, NULL, _NSIG / 8);
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

/* The C library's thread functions (the program's names are ours), the
 * helpers' stack size and signal mask, and the interruption signals. */
static int cap__pool_setup(void)
{
	cap__real_create = (int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))dlsym(RTLD_NEXT, "pthread_create");
	int (*attr_init)(pthread_attr_t *) = (int (*)(pthread_attr_t *))dlsym(RTLD_NEXT, "pthread_attr_init");
	int (*attr_stack)(pthread_attr_t *, size_t) = (int (*)(pthread_attr_t *, size_t))dlsym(RTLD_NEXT, "pthread_attr_setstacksize");
	int (*attr_detach)(pthread_attr_t *, int) = (int (*)(pthread_attr_t *, int))dlsym(RTLD_NEXT, "pthread_attr_setdetachstate");
	int (*attr_mask)(pthread_attr_t *, const sigset_t *) =
		(int (*)(pthread_attr_t *, const sigset_t *))dlsym(RTLD_NEXT, "pthread_attr_setsigmask_np");
	sigfillset(&cap__helper_mask); /* glibc's own two signals stay open */
	sigdelset(&cap__helper_mask, CAP_INTERRUPT_RESTART_SIGNAL);
	sigdelset(&cap__helper_mask, CAP_INTERRUPT_SIGNAL);
	/* A helper starts with its mask: never a moment open to the program's signals. */
	if (!cap__real_create || !attr_init || !attr_stack || !attr_detach || !attr_mask ||
	    attr_init(&cap__helper_attr) != 0 || attr_stack(&cap__helper_attr, CAP_HELPER_STACK_BYTES) != 0 ||
	    attr_detach(&cap__helper_attr, PTHREAD_CREATE_DETACHED) != 0 || attr_mask(&cap__helper_attr, &cap__helper_mask) != 0)
		return -1;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = cap__interrupted;
	sigfillset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	if (__sigaction(CAP_INTERRUPT_RESTART_SIGNAL, &sa, NULL) != 0)
		return -1;
	sa.sa_flags = 0;
	if (__sigaction(CAP_INTERRUPT_SIGNAL, &sa, NULL) != 0)
		return -1;
	return 0;
}

static bool cap__helper_start(void)
{
	pthread_t t;
	if (cap__real_create(&t, &cap__helper_attr, cap__helper, NULL) != 0)
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
	if (cap__pool_setup() != 0) {
		fprintf(stderr, "capriccio: cannot set up the helper threads (their attributes, their signals)\n");
		return;
	}
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
	struct cap_pool_interrupt *a = arg;
	struct cap_job *j = a->job;
	cap__lock();
	if (j->flags & CAP_JOB_INTR)
		j->interrupt = true; /* not started yet: it never will be */
	if (j->state == 1) /* running: its helper cannot move on before this is sent */
		cap_sys3(SYS_tgkill, cap_sys0(SYS_getpid), j->tid, a->restart ? CAP_INTERRUPT_RESTART_SIGNAL : CAP_INTERRUPT_SIGNAL);
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
	cap__mn_lock();
	while (j) {
		struct cap_job *next = j->next;
		j->done = 1;
		cap__wake(j->t, 0);
		j = next;
	}
	cap__mn_unlock(cap__w);
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
