/* Workers (mn.h): how many, and starting the extra ones.  System-stack code:
 * it reads files and calls glibc's pthread_create. */
#include "mn.h"
#include "telemetry.h"

#include <dlfcn.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <linux/futex.h>
#include <stdatomic.h>

uint32_t cap__mn_default; /* process-wide: the count without CAPRICCIO_WORKERS */
static _Atomic uint32_t cap__mn_started; /* workers past their set-up; main waits for all */
static _Atomic uint32_t cap__mn_go;      /* 1: cap__mn.n counts them all, they may run threads */

/* A cgroup v2 cpu.max quota, in CPUs rounded up; 0: none (or no cgroup v2). */
static uint32_t cap__cgroup_cpus(void)
{
	char path[600] = "/sys/fs/cgroup", line[512];
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return 0;
	bool found = false;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "0::", 3)) { /* the v2 hierarchy's line */
			line[strcspn(line, "\n")] = 0;
			snprintf(path + 14, sizeof path - 14, "%s/cpu.max", line + 3);
			found = true;
			break;
		}
	fclose(f);
	if (!found)
		return 0;
	/* The quota of this cgroup; a parent's may be lower, but the kernel
	 * enforces each, and the nearest is the one a container sets. */
	if (!(f = fopen(path, "re")))
		return 0;
	unsigned long long quota = 0, period = 0;
	char q[32] = "";
	uint32_t n = 0;
	if (fscanf(f, "%31s %llu", q, &period) == 2 && strcmp(q, "max") && period) {
		quota = strtoull(q, NULL, 10);
		n = (uint32_t)((quota + period - 1) / period);
	}
	fclose(f);
	return n;
}

uint32_t cap__mn_cpus(void)
{
	cpu_set_t set;
	uint32_t n = 1;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		n = (uint32_t)CPU_COUNT(&set);
	uint32_t q = cap__cgroup_cpus();
	if (q && q < n)
		n = q;
	if (n > CAP_MAX_WORKERS)
		n = CAP_MAX_WORKERS;
	return n ? n : 1;
}

/* Workers 1..N-1: set up like worker 0 (worker.c), then the same loop.
 * When no thread is left the loop returns and the kernel thread sleeps
 * until the process exits (worker 0 returns to exit it). */
static void *cap__mn_worker(void *arg)
{
	struct cap_worker *w = arg;
	char name[16];
	snprintf(name, sizeof name, "cap-worker%u", (unsigned)w->id);
	prctl(PR_SET_NAME, name);
	cap__worker_init_sched(w);
	cap__worker_init(w);
	cap__tel_worker_start(w);
	atomic_fetch_add(&cap__mn_started, 1);
	cap_sys6(SYS_futex, (long)&cap__mn_started, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
	while (!atomic_load(&cap__mn_go))
		cap_sys6(SYS_futex, (long)&cap__mn_go, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0);
	cap__worker_run(w);
	for (;;)
		cap_sys6(SYS_futex, (long)&cap__mn_go, FUTEX_WAIT_PRIVATE, 1, 0, 0, 0);
	return NULL;
}

/* CAPRICCIO_WORKERS=N (1..CAP_MAX_WORKERS); anything else is the default,
 * cap__mn_cpus().  Runs once main's thread is queued on worker 0, which
 * the others then steal from. */
void cap__mn_start(void *w0)
{
	(void)w0;
	cap__mn_default = cap__mn_cpus();
	const char *env = getenv("CAPRICCIO_WORKERS");
	uint32_t n = cap__mn_default;
	if (env && *env) {
		char *end;
		unsigned long v = strtoul(env, &end, 10);
		if (!*end && v >= 1 && v <= CAP_MAX_WORKERS)
			n = (uint32_t)v;
		else
			fprintf(stderr, "capriccio: CAPRICCIO_WORKERS=%s is not a count from 1 to %d; using %u, the CPUs it may use\n",
				env, CAP_MAX_WORKERS, (unsigned)n);
	}
	int (*create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *) =
		(int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))dlsym(RTLD_NEXT, "pthread_create");
	int (*attr_mask)(pthread_attr_t *, const sigset_t *) =
		(int (*)(pthread_attr_t *, const sigset_t *))dlsym(RTLD_NEXT, "pthread_attr_setsigmask_np");
	int (*attr_init)(pthread_attr_t *) = (int (*)(pthread_attr_t *))dlsym(RTLD_NEXT, "pthread_attr_init");
	int (*attr_detach)(pthread_attr_t *, int) = (int (*)(pthread_attr_t *, int))dlsym(RTLD_NEXT, "pthread_attr_setdetachstate");
	pthread_attr_t attr;
	sigset_t all;
	sigfillset(&all); /* until it runs a thread, whose mask it then takes (sigmask.c); faults to whoever faults */
	for (int s = 1; s <= 64; s++)
		if (CAP_SYNC_SIGNALS & (1ull << (s - 1)))
			sigdelset(&all, s);
	if (n > 1 && (!create || !attr_mask || !attr_init || !attr_detach || attr_init(&attr) ||
		      attr_mask(&attr, &all) || attr_detach(&attr, PTHREAD_CREATE_DETACHED)))
		cap__fatal_misuse("capriccio: cannot set up worker kernel threads");
	for (uint32_t i = 1; i < n; i++) {
		struct cap_worker *w = aligned_alloc(64, (sizeof *w + 63) & ~(size_t)63);
		pthread_t t;
		if (!w)
			cap__fatal_misuse("capriccio: cannot allocate a worker");
		memset(w, 0, sizeof *w);
		w->id = i;
		w->sig.efd = w->disk.efd = -1;
		cap__mn.workers[i] = w;
		if (create(&t, &attr, cap__mn_worker, w) != 0)
			cap__fatal_misuse("capriccio: cannot start a worker kernel thread");
	}
	/* Every worker is set up (and named) before main runs. */
	for (uint32_t k; (k = atomic_load(&cap__mn_started)) < n - 1;)
		cap_sys6(SYS_futex, (long)&cap__mn_started, FUTEX_WAIT_PRIVATE, k, 0, 0, 0);
	cap__mn.n = n;
	atomic_store(&cap__mn_go, 1);
	cap_sys6(SYS_futex, (long)&cap__mn_go, FUTEX_WAKE_PRIVATE, INT32_MAX, 0, 0, 0);
	if (n > 1)
		((int (*)(pthread_attr_t *))dlsym(RTLD_NEXT, "pthread_attr_destroy"))(&attr);
}
