/* bench:runtime — Capriccio's thread costs against kernel threads, measured
 * in one run.  The last line of output is one JSON object:
 *   yield_switch_ns        two threads ping-ponging through cap_yield
 *   pthread_switch_ns      condvar ping-pong between two kernel threads (peer)
 *   spawn_join_ns          cap_spawn + cap_join of an empty thread
 *   pthread_spawn_join_ns  pthread_create + pthread_join (peer)
 *   threads_max            threads blocked on a condition variable at once
 *   rss_per_thread_bytes   resident memory per thread at threads_max
 * Build: make -C runtime bench;  run: npm run --silent bench:runtime */
#define _GNU_SOURCE
#include <capriccio.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static long env_long(const char *name, long def)
{
	const char *s = getenv(name);
	return s && *s ? atol(s) : def;
}

static long rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * sysconf(_SC_PAGESIZE);
}

static long yields;
static void *yielder(void *a)
{
	for (long i = 0; i < yields; i++)
		cap_yield();
	return a;
}

static void *noop(void *a) { return a; }

static cap_mutex_t mu;
static cap_cond_t cv;
static int released;
static long parked;
static void *parker(void *a)
{
	cap_mutex_lock(&mu);
	parked++;
	while (!released)
		cap_cond_wait(&cv, &mu);
	cap_mutex_unlock(&mu);
	return a;
}

static double best_of(int runs, double (*fn)(void))
{
	double best = 1e18;
	for (int i = 0; i < runs; i++) {
		double v = fn();
		if (v < best)
			best = v;
	}
	return best;
}

static double measure_yield(void)
{
	uint64_t t0 = cap_now_ns();
	cap_thread_t *a = cap_spawn(yielder, NULL, NULL);
	cap_thread_t *b = cap_spawn(yielder, NULL, NULL);
	cap_join(a, NULL);
	cap_join(b, NULL);
	return (double)(cap_now_ns() - t0) / (2.0 * (double)yields);
}

static long spawns;
static double measure_spawn(void)
{
	uint64_t t0 = cap_now_ns();
	for (long i = 0; i < spawns; i++)
		cap_join(cap_spawn(noop, NULL, NULL), NULL);
	return (double)(cap_now_ns() - t0) / (double)spawns;
}

int main(int argc, char **argv)
{
	yields = env_long("BENCH_YIELDS", 5000000);
	spawns = env_long("BENCH_SPAWNS", 1000000);
	long target = env_long("BENCH_THREADS", 1000000);

	double yield_ns = best_of(3, measure_yield);
	double spawn_ns = best_of(3, measure_spawn);
	fprintf(stderr, "yield_switch_ns=%.1f spawn_join_ns=%.1f\n", yield_ns, spawn_ns);

	/* As many threads as we can, all parked on one condition variable. */
	cap_thread_t **ts = malloc(sizeof(*ts) * (size_t)target);
	memset(ts, 0, sizeof(*ts) * (size_t)target); /* its pages are not the threads' */
	long before = rss_bytes(), n = 0;
	uint64_t t0 = cap_now_ns();
	for (; n < target; n++) {
		ts[n] = cap_spawn(parker, NULL, NULL);
		if (!ts[n]) {
			fprintf(stderr, "spawn stopped at %ld threads: %s\n", n, strerror(errno));
			break;
		}
	}
	while (parked < n)
		cap_yield();
	long after = rss_bytes();
	double spawn_s = (double)(cap_now_ns() - t0) / 1e9;
	cap_info_t info;
	cap_get_info(&info);
	fprintf(stderr, "%ld threads parked in %.2f s; rss %ld -> %ld bytes; chunk %zu bytes\n", n, spawn_s, before,
		after, info.first_chunk_bytes);
	cap_mutex_lock(&mu);
	released = 1;
	cap_cond_broadcast(&cv);
	cap_mutex_unlock(&mu);
	long joined = 0;
	for (long i = 0; i < n; i++)
		joined += cap_join(ts[i], NULL) == 0;
	if (joined != n)
		fprintf(stderr, "only %ld of %ld threads joined\n", joined, n);
	double rss_per = n ? (double)(after - before) / (double)n : 0;

	/* The peer: same measurements on kernel threads. */
	char peer[4096], cmd[4200], line[256] = "";
	snprintf(peer, sizeof peer, "%s", argv[0]);
	char *slash = strrchr(peer, '/');
	snprintf(slash ? slash + 1 : peer, sizeof peer - (size_t)(slash ? slash + 1 - peer : 0), "pthread_peer");
	snprintf(cmd, sizeof cmd, "'%s' %ld %ld", peer, env_long("BENCH_PEER_ROUNDS", 200000),
		 env_long("BENCH_PEER_SPAWNS", 20000));
	double p_switch = -1, p_spawn = -1;
	FILE *p = popen(cmd, "r");
	if (p && fgets(line, sizeof line, p))
		sscanf(line, "pthread_switch_ns=%lf pthread_spawn_join_ns=%lf", &p_switch, &p_spawn);
	if (p)
		pclose(p);
	if (p_switch < 0)
		fprintf(stderr, "the pthread peer (%s) did not report\n", peer);

	printf("{\"yield_switch_ns\":%.1f,\"pthread_switch_ns\":%.1f,\"switch_speedup\":%.1f,"
	       "\"spawn_join_ns\":%.1f,\"pthread_spawn_join_ns\":%.1f,\"threads_max\":%ld,"
	       "\"rss_per_thread_bytes\":%.0f,\"first_chunk_bytes\":%zu,\"stack_mode\":\"%s\"}\n",
	       yield_ns, p_switch, p_switch > 0 ? p_switch / yield_ns : 0, spawn_ns, p_spawn, joined, rss_per,
	       info.first_chunk_bytes, info.stack_mode);
	return joined == n ? 0 : 1;
}
