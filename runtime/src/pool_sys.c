/* The helper pool's threads (see pool.h).  Real kernel threads made with
 * the C library's pthread_create (ours makes user threads); a spinlocked
 * queue in, a list of finished jobs out, a futex to sleep on.  Compiled
 * without -fsplit-stack: it runs on the system stack and on helper stacks. */
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

static atomic_int cap__lockword;
static struct cap_job *cap__head, *cap__tail; /* waiting for a helper */
static struct cap_job *cap__finished;
static atomic_uint cap__seq;
static int cap__efd = -1;
static int cap__started; /* 1 running, -1 failed */

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
	for (;;) {
		unsigned seq = atomic_load(&cap__seq);
		cap__lock();
		struct cap_job *j = cap__head;
		if (j) {
			cap__head = j->next;
			if (!cap__head)
				cap__tail = NULL;
		}
		cap__unlock();
		if (!j) {
			cap_sys6(SYS_futex, (long)&cap__seq, FUTEX_WAIT_PRIVATE, seq, 0, 0, 0);
			continue;
		}
		j->run(j);
		cap__lock();
		j->next = cap__finished;
		cap__finished = j;
		cap__unlock();
		uint64_t one = 1;
		cap_sys3(SYS_write, cap__efd, &one, sizeof one);
	}
	return NULL;
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
	int (*real_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *) =
		(int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))dlsym(RTLD_NEXT, "pthread_create");
	long made = 0;
	for (; real_create && made < n; made++) {
		pthread_t t;
		if (real_create(&t, NULL, cap__helper, NULL) != 0)
			break;
	}
	if (made == 0) {
		fprintf(stderr, "capriccio: cannot start helper threads\n");
		return;
	}
	cap__started = 1;
	*ok = 1;
}

void cap__pool_submit_sys(void *arg)
{
	struct cap_job *j = arg;
	j->next = NULL;
	cap__lock();
	if (cap__tail)
		cap__tail->next = j;
	else
		cap__head = j;
	cap__tail = j;
	cap__unlock();
	atomic_fetch_add(&cap__seq, 1);
	cap_sys6(SYS_futex, (long)&cap__seq, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
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
	cap__started = 0;
}
