/* bench:runtime — Capriccio's thread costs against kernel threads, measured
 * in one run.  The last line of output is one JSON object:
 *   yield_switch_ns        two threads ping-ponging through cap_yield
 *   yield_switch_tls_1k_ns the same in a program with 1 KiB of thread-locals,
 *                          which each switch copies out and in (this source
 *                          built with BENCH_TLS_BYTES=1024, run as a child)
 *   pthread_switch_ns      condvar ping-pong between two kernel threads (peer)
 *   spawn_join_ns          cap_spawn + cap_join of an empty thread
 *   pthread_spawn_join_ns  pthread_create + pthread_join (peer)
 *   threads_max            threads blocked on a condition variable at once
 *   rss_per_thread_bytes   resident memory per thread at threads_max
 *   graph_cost_ns          what recording the blocking graph adds to one
 *                          blocking operation (semaphore ping-pong, telemetry
 *                          on vs off, in child processes)
 *   telemetry_on_vs_off    throughput of a blocking-heavy workload (64 pairs
 *                          of threads bouncing messages over socketpairs) with
 *                          telemetry streaming to a consumer, over without:
 *                          the median over 5 runs of the two taking turns on
 *                          the CPUs, 50 ms each (bench/turns.h), each timed
 *                          by its turns (socket_msgs_per_s and
 *                          socket_msgs_per_s_telemetry: the medians of each)
 *   telemetry_ns_per_msg   the same runs' time added per message by telemetry
 *                          (1/on - 1/off, wall-clock ns, the median): this
 *                          machine alternates between two speeds (~550k and
 *                          ~950k msgs/s), the recording's cost per message
 *                          is about the same in both, so the ratio above is
 *                          lower in the fast one (README, fifteenth round).
 *                          "runtime_bench telemetry RUNS [sockets|condvars]"
 *                          measures these two alone, for the socket
 *                          ping-pong or for 32 pairs passing a turn through
 *                          pthread condition variables (child_condvars)
 *   plain_call_ns          a call from a small function of the program into an
 *                          external function (plain gcc, bench/extern_fns.c),
 *                          as capcc links it: gold gives the caller a big chunk
 *   annotate_stack_call_ns the same call, annotated with stackBytes (on a kept
 *                          stack); its overhead is the difference
 *   annotate_blocking_call_ns the same call annotated as blocking: on a helper
 *                          kernel thread while the caller parks
 *   walk_frames            frames in the chain the next two walk: from a qsort
 *                          comparator, through libc's frames (no frame
 *                          pointers) and this program's, to the thread's base
 *   walk_hit_ns            one walk of that chain with every unwind rule cached,
 *                          as when a thread blocks at a point seen before
 *   walk_miss_ns           the same walk with no rule cached: each read from
 *                          .eh_frame on the system stack (src/unwind.h)
 *   workers                the workers the figures were measured with (the
 *                          default: the CPUs the process may use); the yield
 *                          ping-pong binds its two threads to one of them
 *   parallel_speedup       wall time of CPU-bound threads that yield now and
 *                          then, on one worker over on all (children)
 *   cross_worker_wake_ns   a semaphore ping-pong between two threads bound to
 *                          different workers: one wake and switch-in (null
 *                          with one worker)
 *   rss_per_thread_libc_bytes, vm_per_thread_libc_bytes
 *                          resident memory and address space per thread at
 *                          threads_max threads that each called snprintf
 *                          (through a helper of theirs, which gold gives a
 *                          1 MiB chunk) before they blocked
 *   chunk_link_ns          a call that links a chunk and unlinks it, over
 *                          a plain call: two threads on one worker take
 *                          turns (cap_yield), and each calls a function whose
 *                          frame does not fit its first chunk between turns;
 *                          the chunk comes from the worker's pool and goes
 *                          back when the thread yields (src/chunks.h)
 * Build: make -C runtime bench;  run: npm run --silent bench:runtime */
#define _GNU_SOURCE
#include <capriccio.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdint.h>
#include "turns.h"
#include "unwind.h" /* internal: the call-chain walk, measured on its own */
#define CAP_FRAMES_BENCH 32

static long env_long(const char *name, long def)
{
	const char *s = getenv(name);
	return s && *s ? atol(s) : def;
}

/* Address space and resident memory, in bytes, as /proc/self/statm counts them. */
static void memory_bytes(long *vm, long *rss)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;
	if (f) {
		if (fscanf(f, "%ld %ld", &size, &res) != 2)
			size = res = 0;
		fclose(f);
	}
	*vm = size * sysconf(_SC_PAGESIZE);
	*rss = res * sysconf(_SC_PAGESIZE);
}

#ifdef BENCH_TLS_BYTES
/* The program's thread-locals: each thread has its own copy. */
static __thread char tls_block[BENCH_TLS_BYTES] __attribute__((used));
#endif

static long yields;
static void *yielder(void *a)
{
	cap_bind(0); /* both on one worker: a switch each, not two workers each yielding to itself */
	for (long i = 0; i < yields; i++)
		cap_yield();
	return a;
}

/* ---- Several workers ---------------------------------------------------- */

/* CPU-bound threads that yield every 10,000 steps: the work of `threads`
 * threads of `steps` each; prints the wall time in ms (a child, run with
 * CAPRICCIO_WORKERS=1 and with the default). */
static long cpu_steps;
static volatile uint64_t cpu_sink;
static void *cpu_worker(void *a)
{
	uint64_t x = (uint64_t)(uintptr_t)a + 1;
	for (long i = 0; i < cpu_steps; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (i % 10000 == 0)
			cap_yield();
	}
	cpu_sink += x;
	return NULL;
}
static int child_cpu(int threads, long steps)
{
	cpu_steps = steps;
	cap_thread_t *ts[256];
	uint64_t t0 = cap_now_ns();
	for (int i = 0; i < threads && i < 256; i++)
		ts[i] = cap_spawn(cpu_worker, (void *)(intptr_t)i, NULL);
	for (int i = 0; i < threads && i < 256; i++)
		cap_join(ts[i], NULL);
	printf("%.3f\n", (double)(cap_now_ns() - t0) / 1e6);
	return 0;
}

/* Two threads bound to workers 0 and 1 wake each other through two
 * semaphores: one round to settle (the ponger reaching worker 1), then
 * wake_rounds timed. */
static cap_sem_t cross_ping, cross_pong;
static long wake_rounds;
static void *cross_ponger(void *a)
{
	cap_bind(1);
	for (long i = 0; i <= wake_rounds; i++) {
		cap_sem_wait(&cross_ping);
		cap_sem_post(&cross_pong);
	}
	return a;
}
static double measure_cross_wake(void)
{
	cap_sem_init(&cross_ping, 0);
	cap_sem_init(&cross_pong, 0);
	cap_bind(0);
	cap_thread_t *t = cap_spawn(cross_ponger, NULL, NULL);
	cap_sem_post(&cross_ping);
	cap_sem_wait(&cross_pong);
	uint64_t t0 = cap_now_ns();
	for (long i = 0; i < wake_rounds; i++) {
		cap_sem_post(&cross_ping);
		cap_sem_wait(&cross_pong);
	}
	double ns = (double)(cap_now_ns() - t0) / (2.0 * (double)wake_rounds);
	cap_join(t, NULL);
	return ns;
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

/* Two threads running `fn`, `n` turns each: ns per turn. */
static double per_turn(void *(*fn)(void *), long n)
{
	uint64_t t0 = cap_now_ns();
	cap_thread_t *a = cap_spawn(fn, NULL, NULL);
	cap_thread_t *b = cap_spawn(fn, NULL, NULL);
	cap_join(a, NULL);
	cap_join(b, NULL);
	return (double)(cap_now_ns() - t0) / (2.0 * (double)n);
}

/* ---- Linked chunks ------------------------------------------------------ */

static char named[64];
/* Calls into libc, which gold makes a 1 MiB split of its own. */
static __attribute__((noinline)) void name_thread(long i) { snprintf(named, sizeof named, "thread %ld", i); }

static __attribute__((noinline)) int big_frame(int x)
{
	volatile char pad[16384]; /* more than a first chunk holds: a split */
	pad[0] = (char)x;
	pad[sizeof pad - 1] = 1;
	return pad[0] + pad[sizeof pad - 1];
}
static __attribute__((noinline)) int small_frame(int x)
{
	volatile char pad[64];
	pad[0] = (char)x;
	pad[sizeof pad - 1] = 1;
	return pad[0] + pad[sizeof pad - 1];
}
static int (*volatile turn_fn)(int);
static long turns;
static void *turner(void *a)
{
	cap_bind(0);
	int x = 0;
	for (long i = 0; i < turns; i++) {
		x += turn_fn((int)i);
		cap_yield();
	}
	return (void *)(intptr_t)x;
}
static double measure_turns(void) { return per_turn(turner, turns); }
static double turn_ns(int (*fn)(int))
{
	turn_fn = fn;
	turns = env_long("BENCH_TURNS", 2000000);
	return best_of(5, measure_turns);
}

static void *libc_parker(void *a)
{
	name_thread((long)(intptr_t)a);
	return parker(a);
}

static double measure_yield(void) { return per_turn(yielder, yields); }

static long spawns;
static double measure_spawn(void)
{
	uint64_t t0 = cap_now_ns();
	for (long i = 0; i < spawns; i++)
		cap_join(cap_spawn(noop, NULL, NULL), NULL);
	return (double)(cap_now_ns() - t0) / (double)spawns;
}

/* ---- Calls into external code, plain and annotated ---------------------- */

int bench_extern_plain(int x), bench_extern_stack(int x), bench_extern_blocking(int x);

/* Each call from a function of its own, as a program's function calls a
 * library: gold's big chunk is asked for on entry to the caller. */
__attribute__((noinline)) static int call_plain(int x) { return bench_extern_plain(x) + 1; }
__attribute__((noinline)) static int call_stack(int x) { return bench_extern_stack(x) + 1; }
__attribute__((noinline)) static int call_blocking(int x) { return bench_extern_blocking(x) + 1; }

static long calls;
static int (*volatile caller)(int);
static double measure_calls(void)
{
	int (*fn)(int) = caller;
	int x = 0;
	uint64_t t0 = cap_now_ns();
	for (long i = 0; i < calls; i++)
		x = fn(x) - 1;
	double ns = (double)(cap_now_ns() - t0) / (double)calls;
	return x == calls ? ns : -1;
}
static double call_ns(int (*fn)(int), long n)
{
	caller = fn;
	calls = n;
	return best_of(5, measure_calls);
}

/* ---- The call-chain walk ------------------------------------------------ */

static struct {
	uint32_t frames;
	double hit_ns, miss_ns;
} walk;

/* Walks from its caller's frame into `frames` (holding the last walk's chain);
 * `forget`: with none of that chain's rules cached. */
static __attribute__((noinline)) uint32_t walk_here(uint64_t *frames, uint32_t forget)
{
	const uintptr_t *fp = __builtin_frame_address(0);
	struct cap_unwind_regs r = { fp[1], (uintptr_t)(fp + 2), fp[0] };
	if (forget) {
		cap__unwind_slot(r.pc - 1)->key = 0;
		for (uint32_t k = 0; k < forget; k++)
			cap__unwind_slot(frames[k] - 1)->key = 0;
	}
	return cap__unwind_walk(cap__current(), r, true, __morestack_segments, &cap__current()->chunk_memo, frames, CAP_FRAMES_BENCH,
				cap__unwind_fill, NULL);
}

/* Measures from inside libc's qsort (its first comparison), best of 5. */
static int walk_from_comparator(const void *a, const void *b)
{
	if (walk.frames)
		return 0;
	uint64_t frames[CAP_FRAMES_BENCH];
	walk.frames = walk_here(frames, 0);
	walk.hit_ns = walk.miss_ns = 1e18;
	for (int round = 0; round < 5; round++) {
		const long n = 200000, m = 20000;
		uint64_t t0 = cap_now_ns();
		for (long i = 0; i < n; i++)
			walk_here(frames, 0);
		double hit = (double)(cap_now_ns() - t0) / (double)n;
		t0 = cap_now_ns();
		for (long i = 0; i < m; i++)
			walk_here(frames, walk.frames);
		double miss = (double)(cap_now_ns() - t0) / (double)m;
		if (hit < walk.hit_ns)
			walk.hit_ns = hit;
		if (miss < walk.miss_ns)
			walk.miss_ns = miss;
	}
	return (const char *)a < (const char *)b ? -1 : 1;
}

static __attribute__((noinline)) void measure_walk(void)
{
	int v[4] = { 4, 3, 2, 1 };
	qsort(v, 4, sizeof v[0], walk_from_comparator);
}

/* ---- Telemetry cost: measured in child processes of this binary -------- */

/* Child "pingpong N": two threads hand a semaphore back and forth, so every
 * operation blocks one thread; prints ns per blocking operation. */
static cap_sem_t ping, pong;
static long rounds;
static void *ponger(void *a)
{
	for (long i = 0; i < rounds; i++) {
		cap_sem_wait(&ping);
		cap_sem_post(&pong);
	}
	return a;
}

static int child_pingpong(long n)
{
	rounds = n;
	cap_thread_t *t = cap_spawn(ponger, NULL, NULL);
	uint64_t t0 = cap_now_ns();
	for (long i = 0; i < n; i++) {
		cap_sem_post(&ping);
		cap_sem_wait(&pong);
	}
	double ns = (double)(cap_now_ns() - t0) / (2.0 * (double)n);
	cap_join(t, NULL);
	printf("%.2f\n", ns);
	return 0;
}

/* Child "sockets PAIRS MSGS": PAIRS thread pairs bounce 64-byte messages
 * over socketpairs (blocking reads and writes); prints messages per second. */
static long msgs_per_pair;
static void *bouncer(void *a)
{
	int fd = (int)(intptr_t)a;
	char buf[64];
	for (long i = 0; i < msgs_per_pair; i++) {
		if (read(fd, buf, sizeof buf) != (ssize_t)sizeof buf || write(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
			return (void *)1;
	}
	return NULL;
}
static void *starter(void *a)
{
	int fd = (int)(intptr_t)a;
	char buf[64] = { 0 };
	for (long i = 0; i < msgs_per_pair; i++) {
		if (write(fd, buf, sizeof buf) != (ssize_t)sizeof buf || read(fd, buf, sizeof buf) != (ssize_t)sizeof buf)
			return (void *)1;
	}
	return NULL;
}

static int child_sockets(int pairs, long msgs)
{
	msgs_per_pair = msgs;
	cap_thread_t *ts[2 * 256];
	uint64_t t0 = cap_now_ns();
	for (int i = 0; i < pairs; i++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
			return 1;
		ts[2 * i] = cap_spawn(bouncer, (void *)(intptr_t)sv[0], NULL);
		ts[2 * i + 1] = cap_spawn(starter, (void *)(intptr_t)sv[1], NULL);
	}
	long bad = 0;
	for (int i = 0; i < 2 * pairs; i++) {
		void *r;
		cap_join(ts[i], &r);
		bad += r != NULL;
	}
	double s = (double)(cap_now_ns() - t0) / 1e9;
	printf("%.0f\n", bad ? 0.0 : 2.0 * (double)pairs * (double)msgs / s);
	return bad ? 1 : 0;
}

/* Child "condvars PAIRS ROUNDS": PAIRS pairs of threads pass a turn back
 * and forth ROUNDS times each through a pthread mutex and condition
 * variable, as a pool's queue does; prints turns per second.  Every wait
 * and wake takes the runtime's wait lock, which the two workers contend
 * for: what telemetry does under it is the other worker's wait too
 * (syncprof.h, "Out of the wait lock"). */
struct cv_pair {
	pthread_mutex_t m;
	pthread_cond_t c;
	int turn;
	long rounds;
} __attribute__((aligned(64)));
static void *cv_side(void *a)
{
	struct cv_pair *p = (struct cv_pair *)((uintptr_t)a & ~(uintptr_t)1);
	int me = (int)((uintptr_t)a & 1);
	for (long i = 0; i < p->rounds; i++) {
		pthread_mutex_lock(&p->m);
		while (p->turn != me)
			pthread_cond_wait(&p->c, &p->m);
		p->turn = !me;
		pthread_cond_signal(&p->c);
		pthread_mutex_unlock(&p->m);
	}
	return NULL;
}
static int child_condvars(int pairs, long rounds)
{
	struct cv_pair *ps = aligned_alloc(64, sizeof *ps * (size_t)pairs);
	pthread_t ts[2 * 256];
	if (!ps || pairs > 256)
		return 1;
	uint64_t t0 = cap_now_ns();
	for (int i = 0; i < pairs; i++) {
		pthread_mutex_init(&ps[i].m, NULL);
		pthread_cond_init(&ps[i].c, NULL);
		ps[i].turn = 0;
		ps[i].rounds = rounds;
		for (int k = 0; k < 2; k++)
			if (pthread_create(&ts[2 * i + k], NULL, cv_side, (void *)((uintptr_t)&ps[i] | (uintptr_t)k)) != 0)
				return 1;
	}
	for (int i = 0; i < 2 * pairs; i++)
		pthread_join(ts[i], NULL);
	double s = (double)(cap_now_ns() - t0) / 1e9;
	printf("%.0f\n", 2.0 * (double)pairs * (double)rounds / s);
	free(ps);
	return 0;
}

/* A consumer that reads and drops the telemetry stream: a user thread. */
static int drain_fd = -1;
static void *drainer(void *a)
{
	char buf[65536];
	int c = accept(drain_fd, NULL, NULL);
	while (c >= 0 && read(c, buf, sizeof buf) > 0) {
	}
	if (c >= 0)
		close(c);
	return a;
}

/* The first number a command prints, or -1. */
static double run_for_number(const char *cmd)
{
	char line[64] = "";
	double v = -1;
	FILE *p = popen(cmd, "r");
	if (p && fgets(line, sizeof line, p))
		v = atof(line);
	if (p)
		pclose(p);
	return v;
}

/* A telemetry consumer that drains what it is sent: a socket in a
 * directory of its own, and a user thread reading it. */
struct consumer {
	char dir[32], sock[64];
	cap_thread_t *thread;
};
static bool consumer_open(struct consumer *c)
{
	snprintf(c->dir, sizeof c->dir, "/tmp/capriccio-bench.XXXXXX");
	if (!mkdtemp(c->dir))
		return false;
	snprintf(c->sock, sizeof c->sock, "%s/t.sock", c->dir);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof a.sun_path, "%s", c->sock);
	drain_fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (drain_fd < 0 || bind(drain_fd, (struct sockaddr *)&a, sizeof a) || listen(drain_fd, 1)) {
		fprintf(stderr, "no telemetry consumer at %s: %s\n", c->sock, strerror(errno));
		if (drain_fd >= 0)
			close(drain_fd);
		unlink(c->sock);
		rmdir(c->dir);
		return false;
	}
	c->thread = cap_spawn(drainer, NULL, NULL);
	return true;
}
/* After the program it served has ended. */
static void consumer_close(struct consumer *c)
{
	cap_join(c->thread, NULL);
	close(drain_fd);
	unlink(c->sock);
	rmdir(c->dir);
}

/* Runs `self MODE ARGS` with telemetry off or on (connected to a draining
 * consumer); returns the number it printed, best of `runs`. */
static double run_child(const char *self, const char *mode_args, int telemetry, int runs, int higher_is_better)
{
	double best = higher_is_better ? 0 : 1e18;
	for (int r = 0; r < runs; r++) {
		char cmd[8192];
		struct consumer c;
		if (telemetry) {
			if (!consumer_open(&c))
				return -1;
			snprintf(cmd, sizeof cmd, "CAPRICCIO_TELEMETRY='%s' '%s' %s", c.sock, self, mode_args);
		} else {
			snprintf(cmd, sizeof cmd, "'%s' %s", self, mode_args);
		}
		double v = run_for_number(cmd);
		if (telemetry)
			consumer_close(&c);
		if (v > 0 && (higher_is_better ? v > best : v < best))
			best = v;
	}
	return best;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}
static double median_of(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, by_value);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The socket ping-pong (child_sockets; or "condvars", child_condvars)
 * without telemetry and with it,
 * `runs` times, each time the two taking turns of TELEMETRY_TURN_MS
 * (turns.h): the medians of each one's throughput, and the median of on
 * over off.  Run back to back instead, one after the other, the ratio
 * ranged from 0.67 to 1.03 with this machine's drift. */
#define TELEMETRY_RUNS 5
#define TELEMETRY_TURN_MS 50
struct paired {
	double off, on, ratio, added_ns;
};
static struct paired turns_of(const char *self, const char *workload, int runs)
{
	extern char **environ;
	bool cv = !strcmp(workload, "condvars"); /* else "sockets" */
	const int PAIRS = cv ? 32 : 64, MSGS = cv ? 100000 : 10000;
	char pairs[16], msgs_per_pair[16], var[128];
	snprintf(pairs, sizeof pairs, "%d", PAIRS);
	snprintf(msgs_per_pair, sizeof msgs_per_pair, "%d", MSGS);
	char *argv[] = { (char *)self, (char *)workload, pairs, msgs_per_pair, NULL };
	double off[16], on[16], ratio[16], added[16], msgs = 2.0 * PAIRS * MSGS;
	int n = 0, nenv = 0;
	while (environ[nenv])
		nenv++;
	char **env_on = calloc((size_t)nenv + 2, sizeof *env_on); /* environ with CAPRICCIO_TELEMETRY first */
	if (!env_on)
		return (struct paired){ 0, 0, 0, 0 };
	memcpy(env_on + 1, environ, (size_t)nenv * sizeof *env_on);
	env_on[0] = var;
	for (int r = 0; r < runs && r < 16; r++) {
		struct consumer c;
		if (!consumer_open(&c))
			break;
		snprintf(var, sizeof var, "CAPRICCIO_TELEMETRY=%s", c.sock);
		struct turns_program p_off = { argv, environ }, p_on = { argv, env_on };
		double s_off = 0, s_on = 0; /* who goes first alternates */
		bool ok = r % 2 ? turns_run(&p_on, &p_off, TELEMETRY_TURN_MS, &s_on, &s_off)
				: turns_run(&p_off, &p_on, TELEMETRY_TURN_MS, &s_off, &s_on);
		consumer_close(&c);
		if (!ok || s_off <= 0 || s_on <= 0)
			continue;
		off[n] = msgs / s_off, on[n] = msgs / s_on, ratio[n] = s_off / s_on, added[n] = (s_on - s_off) / msgs * 1e9;
		fprintf(stderr, "%s in turns: %.0f msgs/s without telemetry, %.0f with (%.3f, %+.1f ns a message)\n",
			cv ? "condition-variable ping-pong" : "socket ping-pong", off[n], on[n], ratio[n], added[n]);
		n++;
	}
	free(env_on);
	if (!n)
		return (struct paired){ 0, 0, 0, 0 };
	return (struct paired){ median_of(off, n), median_of(on, n), median_of(ratio, n), median_of(added, n) };
}

/* This program's path, to run it again as a child. */
static void self_path(char *out, size_t n)
{
	ssize_t sl = readlink("/proc/self/exe", out, n - 1);
	out[sl > 0 ? sl : 0] = 0;
}

/* A program built beside this one (runtime_bench_tls1k, pthread_peer). */
static void sibling(char *out, size_t n, const char *self, const char *name)
{
	snprintf(out, n, "%s", self);
	char *slash = strrchr(out, '/');
	snprintf(slash ? slash + 1 : out, n - (size_t)(slash ? slash + 1 - out : 0), "%s", name);
}

/* `target` threads running `fn`, all parked on one condition variable at
 * once: resident memory and address space per thread, then all joined. */
struct parked {
	long spawned, joined;
	double rss_per, vm_per;
};
static struct parked park_many(long target, void *(*fn)(void *))
{
	cap_thread_t **ts = malloc(sizeof(*ts) * (size_t)target);
	memset(ts, 0, sizeof(*ts) * (size_t)target); /* its pages are not the threads' */
	released = 0;
	parked = 0;
	long rss0, vm0, n = 0;
	memory_bytes(&vm0, &rss0);
	uint64_t t0 = cap_now_ns();
	for (; n < target; n++) {
		ts[n] = cap_spawn(fn, (void *)(intptr_t)n, NULL);
		if (!ts[n]) {
			fprintf(stderr, "spawn stopped at %ld threads: %s\n", n, strerror(errno));
			break;
		}
	}
	while (parked < n)
		cap_yield();
	long rss1, vm1;
	memory_bytes(&vm1, &rss1);
	fprintf(stderr, "%ld threads%s parked in %.2f s; rss %ld -> %ld bytes, address space %ld -> %ld\n", n,
		fn == parker ? "" : " that called libc", (double)(cap_now_ns() - t0) / 1e9, rss0, rss1, vm0, vm1);
	cap_mutex_lock(&mu);
	released = 1;
	cap_cond_broadcast(&cv);
	cap_mutex_unlock(&mu);
	struct parked r = { n, 0, n ? (double)(rss1 - rss0) / (double)n : 0, n ? (double)(vm1 - vm0) / (double)n : 0 };
	for (long i = 0; i < n; i++)
		r.joined += cap_join(ts[i], NULL) == 0;
	if (r.joined != n)
		fprintf(stderr, "only %ld of %ld threads joined\n", r.joined, n);
	free(ts);
	return r;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "yield")) { /* the 1 KiB TLS build, as a child */
		yields = env_long("BENCH_YIELDS", 5000000);
		printf("%.1f\n", best_of(5, measure_yield));
		return 0;
	}
	if (argc >= 3 && !strcmp(argv[1], "pingpong"))
		return child_pingpong(atol(argv[2]));
	if (argc >= 4 && !strcmp(argv[1], "sockets"))
		return child_sockets(atoi(argv[2]), atol(argv[3]));
	if (argc >= 4 && !strcmp(argv[1], "condvars"))
		return child_condvars(atoi(argv[2]), atol(argv[3]));
	if (argc >= 3 && !strcmp(argv[1], "telemetry")) { /* that figure alone: "telemetry RUNS [sockets|condvars]" */
		const char *workload = argc >= 4 ? argv[3] : "sockets";
		if (strcmp(workload, "sockets") && strcmp(workload, "condvars")) {
			fprintf(stderr, "runtime_bench telemetry: no workload '%s' (sockets or condvars)\n", workload);
			return 2;
		}
		char self[4096];
		self_path(self, sizeof self);
		struct paired t = turns_of(self, workload, atoi(argv[2]));
		printf("{\"telemetry_on_vs_off\":%.3f,\"telemetry_ns_per_msg\":%.1f}\n", t.ratio, t.added_ns);
		return t.ratio > 0 ? 0 : 1;
	}
	if (argc >= 4 && !strcmp(argv[1], "cpu"))
		return child_cpu(atoi(argv[2]), atol(argv[3]));
	if (argc >= 3 && !strcmp(argv[1], "park-libc")) {
		struct parked r = park_many(atol(argv[2]), libc_parker);
		printf("%ld %ld %.0f %.0f\n", r.spawned, r.joined, r.rss_per, r.vm_per);
		return 0;
	}
	yields = env_long("BENCH_YIELDS", 5000000);
	spawns = env_long("BENCH_SPAWNS", 1000000);
	long target = env_long("BENCH_THREADS", 1000000);

	/* Best of 5: on a shared 2-core machine the first runs pay for whatever else was running. */
	double yield_ns = best_of(5, measure_yield);
	double spawn_ns = best_of(5, measure_spawn);
	fprintf(stderr, "yield_switch_ns=%.1f spawn_join_ns=%.1f\n", yield_ns, spawn_ns);
	measure_walk();
	fprintf(stderr, "walk of %u frames: %.1f ns cached, %.1f ns reading .eh_frame\n", walk.frames, walk.hit_ns, walk.miss_ns);

	/* As many threads as we can, all parked on one condition variable;
	 * then, in a child (whose memory starts where this process's did), as
	 * many that called into libc first. */
	struct parked plain = park_many(target, parker), libc = { 0, 0, 0, 0 };
	char libc_cmd[4200];
	snprintf(libc_cmd, sizeof libc_cmd, "'/proc/%d/exe' park-libc %ld", (int)getpid(), target);
	FILE *lp = popen(libc_cmd, "r");
	if (!lp || fscanf(lp, "%ld %ld %lf %lf", &libc.spawned, &libc.joined, &libc.rss_per, &libc.vm_per) != 4)
		fprintf(stderr, "the libc parkers (%s) did not report\n", libc_cmd);
	if (lp)
		pclose(lp);
	bool all_joined = plain.joined == plain.spawned && libc.joined == libc.spawned && libc.spawned > 0;
	cap_info_t info;
	cap_get_info(&info);
	double turn_small = turn_ns(small_frame), turn_big = turn_ns(big_frame);
	fprintf(stderr, "turns between two threads: %.1f ns calling a small frame, %.1f ns a frame that links a chunk\n",
		turn_small, turn_big);

	/* The switch again, in a program with 1 KiB of thread-locals. */
	char tls1k[4096], cmd[4200], line[256] = "";
	sibling(tls1k, sizeof tls1k, argv[0], "runtime_bench_tls1k");
	snprintf(cmd, sizeof cmd, "'%s' yield", tls1k);
	double yield_tls_ns = run_for_number(cmd);
	if (yield_tls_ns < 0)
		fprintf(stderr, "the thread-locals build (%s) did not report\n", tls1k);
	fprintf(stderr, "yield_switch_tls_1k_ns=%.1f\n", yield_tls_ns);

	/* The peer: same measurements on kernel threads. */
	char peer[4096];
	sibling(peer, sizeof peer, argv[0], "pthread_peer");
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

	/* What the profiler costs: per blocking operation, and in throughput. */
	char self[4096];
	self_path(self, sizeof self);
	double op_off = run_child(self, "pingpong 1000000", 0, 3, 0);
	double op_on = run_child(self, "pingpong 1000000", 1, 3, 0);
	struct paired tput = turns_of(self, "sockets", TELEMETRY_RUNS);
	double tput_off = tput.off, tput_on = tput.on;
	fprintf(stderr, "blocking op: %.1f ns without telemetry, %.1f ns with; socket ping-pong: %.0f vs %.0f msgs/s\n",
		op_off, op_on, tput_off, tput_on);

	/* Several workers: CPU-bound threads on all of them against one; the
	 * cost of a wake across two. */
	unsigned workers = cap_workers();
	char cpu_args[64];
	snprintf(cpu_args, sizeof cpu_args, "cpu %u %ld", 4 * workers, env_long("BENCH_CPU_STEPS", 100000000) / workers);
	double cpu_all = run_child(self, cpu_args, 0, 3, 0);
	char one[8200];
	snprintf(one, sizeof one, "CAPRICCIO_WORKERS=1 '%s' %s", self, cpu_args);
	double cpu_one = 1e18;
	for (int r = 0; r < 3; r++) {
		double v = run_for_number(one);
		if (v > 0 && v < cpu_one)
			cpu_one = v;
	}
	double speedup = cpu_all > 0 && cpu_one < 1e18 ? cpu_one / cpu_all : 0;
	double cross_ns = -1;
	if (workers > 1) {
		wake_rounds = env_long("BENCH_WAKE_ROUNDS", 200000);
		cross_ns = best_of(3, measure_cross_wake);
	}
	char cross[32] = "null";
	if (cross_ns > 0)
		snprintf(cross, sizeof cross, "%.1f", cross_ns);
	fprintf(stderr, "%u workers: CPU-bound threads %.0f ms on all, %.0f ms on one (speedup %.2f); cross-worker wake %s ns\n",
		workers, cpu_all, cpu_one, speedup, cross);

	double plain_ns = call_ns(call_plain, env_long("BENCH_CALLS", 2000000));
	double stack_ns = call_ns(call_stack, env_long("BENCH_CALLS", 2000000));
	double helper_ns = call_ns(call_blocking, env_long("BENCH_HELPER_CALLS", 20000));
	fprintf(stderr, "external call: %.1f ns plain, %.1f ns annotated with stackBytes, %.0f ns annotated as blocking\n",
		plain_ns, stack_ns, helper_ns);

	printf("{\"yield_switch_ns\":%.1f,\"pthread_switch_ns\":%.1f,\"switch_speedup\":%.1f,"
	       "\"spawn_join_ns\":%.1f,\"pthread_spawn_join_ns\":%.1f,\"threads_max\":%ld,"
	       "\"rss_per_thread_bytes\":%.0f,\"first_chunk_bytes\":%zu,\"stack_mode\":\"%s\","
	       "\"blocking_op_ns\":%.1f,\"blocking_op_telemetry_ns\":%.1f,\"graph_cost_ns\":%.1f,"
	       "\"socket_msgs_per_s\":%.0f,\"socket_msgs_per_s_telemetry\":%.0f,\"telemetry_on_vs_off\":%.3f,\"telemetry_ns_per_msg\":%.1f,"
	       "\"yield_switch_tls_1k_ns\":%.1f,\"plain_call_ns\":%.1f,\"annotate_stack_call_ns\":%.1f,"
	       "\"annotate_blocking_call_ns\":%.0f,\"walk_frames\":%u,\"walk_hit_ns\":%.1f,\"walk_miss_ns\":%.1f,"
	       "\"workers\":%u,\"parallel_speedup\":%.2f,\"cross_worker_wake_ns\":%s,"
	       "\"rss_per_thread_libc_bytes\":%.0f,\"vm_per_thread_libc_bytes\":%.0f,\"chunk_link_ns\":%.1f}\n",
	       yield_ns, p_switch, p_switch > 0 ? p_switch / yield_ns : 0, spawn_ns, p_spawn, plain.joined, plain.rss_per,
	       info.first_chunk_bytes, info.stack_mode, op_off, op_on, op_on - op_off, tput_off, tput_on,
	       tput.ratio, tput.added_ns, yield_tls_ns, plain_ns, stack_ns, helper_ns, walk.frames, walk.hit_ns,
	       walk.miss_ns, workers, speedup, cross, libc.rss_per, libc.vm_per, turn_big - turn_small);
	return all_joined ? 0 : 1;
}
