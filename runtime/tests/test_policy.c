/* Resource-aware scheduling against FIFO.  Each scenario runs in a child
 * process under each policy (CAPRICCIO_SCHEDULER) with a descriptor limit
 * of 64, brought near it on purpose, and prints what happened first:
 *  - admission: accept() waits while threads that will close descriptors
 *    run (FIFO accepts at once);
 *  - learning: of two threads woken together, the one at a blocking point
 *    whose runs closed descriptors goes first and the one at a point whose
 *    runs opened them goes last (FIFO keeps wake order). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include "spawn_child.h"
#include "tap.h"

#define LIMIT 64

static int open_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < LIMIT; fd++)
		n += fcntl(fd, F_GETFD) >= 0;
	return n;
}

/* Opens /dev/null until `want` descriptors are open; returns how many it opened. */
static int fill_to(int want, int *fds)
{
	int n = 0;
	while (open_fds() < want)
		fds[n++] = open("/dev/null", O_RDONLY);
	return n;
}

/* ---- admission ---------------------------------------------------------- */

static sem_t opened, go;
static atomic_int closes; /* holders may close on several workers at once */

static void *holder(void *arg)
{
	int fd = open("/dev/null", O_RDONLY);
	sem_post(&opened); /* its descriptor is open and counted */
	sem_wait(&go);
	atomic_fetch_add(&closes, 1); /* first: on another worker accept may follow the close at once */
	close(fd);
	return arg;
}

static void admission(void)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof a;
	bind(lfd, (struct sockaddr *)&a, sizeof a);
	listen(lfd, 8);
	getsockname(lfd, (struct sockaddr *)&a, &alen);
	int c = socket(AF_INET, SOCK_STREAM, 0);
	connect(c, (struct sockaddr *)&a, sizeof a);
	sem_init(&opened, 0, 0);
	sem_init(&go, 0, 0);
	pthread_t t[8];
	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, holder, NULL);
	for (int i = 0; i < 8; i++)
		sem_wait(&opened);
	static int extra[LIMIT];
	fill_to(59, extra); /* 92% of the limit */
	for (int i = 0; i < 8; i++)
		sem_post(&go); /* the holders are runnable: each will close one */
	int s = accept(lfd, NULL, NULL);
	printf("accepted=%d closes_before=%d\n", s >= 0, atomic_load(&closes));
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
}

/* ---- learning ----------------------------------------------------------- */

static sem_t at_release, at_acquire, at_neutral;
static char order[8];
static int ran, recording;

/* Unconditional calls, so that every round blocks at the same places. */
static __attribute__((noinline)) void note(char c)
{
	if (recording)
		order[ran++] = c;
}

static __attribute__((noinline)) void wait_then_release(void) { sem_wait(&at_release); }
static __attribute__((noinline)) void wait_then_acquire(void) { sem_wait(&at_acquire); }
static __attribute__((noinline)) void wait_neutral(void) { sem_wait(&at_neutral); }

/* Alternates: from one point its runs close a descriptor, from the other they open one. */
static void *cycler(void *arg)
{
	int fd = -1;
	for (int round = 0; round < 9; round++) {
		fd = open("/dev/null", O_RDONLY);
		wait_then_release();
		close(fd);
		note('R');
		wait_then_acquire();
		note('A');
	}
	return arg;
}

static void *neutral(void *arg)
{
	for (int round = 0; round < 10; round++) {
		wait_neutral();
		note('N');
	}
	return arg;
}

static void learning(void)
{
	sem_init(&at_release, 0, 0);
	sem_init(&at_acquire, 0, 0);
	sem_init(&at_neutral, 0, 0);
	pthread_t c, n;
	pthread_create(&c, NULL, cycler, NULL);
	pthread_create(&n, NULL, neutral, NULL);
	for (int round = 0; round < 8; round++) { /* training, no pressure */
		usleep(500);
		sem_post(&at_release);
		usleep(500);
		sem_post(&at_acquire);
		sem_post(&at_neutral);
	}
	usleep(1000);
	static int extra[LIMIT];
	int n_extra = fill_to(59, extra);
	recording = 1;
	/* Woken in the order neutral, release: the releaser should go first. */
	sem_post(&at_neutral);
	sem_post(&at_release);
	usleep(1000);
	/* Now the cycler waits at its acquiring point: woken before neutral... */
	order[ran++] = '|';
	sem_post(&at_acquire);
	sem_post(&at_neutral);
	usleep(1000);
	for (int i = 0; i < n_extra; i++)
		close(extra[i]);
	pthread_join(c, NULL);
	pthread_join(n, NULL);
	order[ran] = 0;
	printf("order=%s\n", order);
}

/* ---- parent ------------------------------------------------------------- */

/* Runs this binary's `scenario` under CAPRICCIO_SCHEDULER=policy, with what
 * it writes to `fd` (1 or 2) in `out`; returns its exit status (-1: killed). */
static int run_child(const char *scenario, const char *policy, int fd, char *out, size_t cap)
{
	char var[64], *envp[256];
	snprintf(var, sizeof var, "CAPRICCIO_SCHEDULER=%s", policy);
	char *argv[] = { "/proc/self/exe", "--child", (char *)scenario, NULL };
	struct child c;
	fflush(stdout);
	out[0] = 0;
	if (child_start(&c, argv, child_env_with(envp, 256, var), fd == 1, fd == 2) != 0) {
		CHECK(!"cannot start the child");
		return -1;
	}
	child_slurp(fd == 1 ? c.out : c.err, out, cap);
	int status = child_wait(&c);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Children started between these two run one worker (CAPRICCIO_WORKERS=1). */
static char workers_was[32];
static bool workers_set;
static void one_worker_begin(void)
{
	char *was = getenv("CAPRICCIO_WORKERS");
	workers_set = was != NULL;
	if (was)
		snprintf(workers_was, sizeof workers_was, "%s", was);
	setenv("CAPRICCIO_WORKERS", "1", 1);
}
static void one_worker_end(void)
{
	if (workers_set)
		setenv("CAPRICCIO_WORKERS", workers_was, 1);
	else
		unsetenv("CAPRICCIO_WORKERS");
}

/* The scenario under each policy prints what each expects.  The order in
 * which FIFO runs runnable threads is one worker's (with several, they run
 * beside the thread that accepts), so FIFO runs with one; resource-aware
 * scheduling with as many as the suite runs unless `ra_one_worker`. */
static void fifo_against_resource_aware(const char *scenario, const char *fifo_says, const char *ra_says, bool ra_one_worker)
{
	char fifo[256], ra[256];
	one_worker_begin();
	CHECK_EQ(run_child(scenario, "fifo", 1, fifo, sizeof fifo), 0);
	if (!ra_one_worker)
		one_worker_end();
	CHECK_EQ(run_child(scenario, "resource-aware", 1, ra, sizeof ra), 0);
	if (ra_one_worker)
		one_worker_end();
	printf("  fifo: %s  resource-aware: %s", fifo, ra);
	CHECK(strstr(fifo, fifo_says) != NULL);
	CHECK(strstr(ra, ra_says) != NULL);
}

static void accept_waits_for_releases(void)
{
	fifo_against_resource_aware("admission", "accepted=1 closes_before=0\n", "accepted=1 closes_before=8\n", false);
}

/* The order two runnable threads run in is one worker's: with several,
 * both may run at once.  So this one runs with one worker. */
static void releasers_first_acquirers_last(void)
{
	fifo_against_resource_aware("learning", "order=NR|AN\n", "order=RN|NA\n", true);
}

static void unknown_policy_is_refused(void)
{
	char err[256];
	CHECK_EQ(run_child("admission", "lottery", 2, err, sizeof err), 2);
	CHECK(strstr(err, "CAPRICCIO_SCHEDULER=lottery: expected fifo or resource-aware") != NULL);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--child")) {
		struct rlimit r = { LIMIT, LIMIT };
		setrlimit(RLIMIT_NOFILE, &r);
		usleep(2000); /* the policy re-reads the limit every millisecond */
		if (!strcmp(argv[2], "admission"))
			admission();
		else
			learning();
		return 0;
	}
	RUN(accept_waits_for_releases);
	RUN(releasers_first_acquirers_last);
	RUN(unknown_policy_is_refused);
	TAP_DONE();
}
