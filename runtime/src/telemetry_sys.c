/* The telemetry thread: a kernel thread of its own that, at a fixed
 * cadence, reads what the worker recorded (telemetry.h), turns ticks into
 * nanoseconds and sends what changed as docs/PROTOCOL.md frames.  Every
 * worker registers its tables (cap__tel_register_worker); the thread
 * merges them (telmerge.h) and sends one graph, plus a WORKERS frame.  It also
 * runs the stall watchdog, and this file holds the yield sampler's signal
 * handler.
 *
 * The program never waits for it: the socket is non-blocking, a frame that
 * does not fit is kept and finished later, and while one is pending no new
 * snapshot is built — the next one carries everything since, and counts
 * the skipped ones.  Only at exit does the program give it a moment
 * (CAP_EXIT_FLUSH_MS) to send the final snapshot and the exit frame.
 *
 * Compiled without -fsplit-stack: it runs on its own pthread stack and on
 * the signal stack. */
#include "telemetry.h"
#include "telmerge.h"
#include "frames.h"
#include "sigstate.h"
#include "runq.h"
#include "stackmem.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define CAP_EXIT_FLUSH_MS 500
/* The watchdog looks at a worker when its run, if it went on, would
 * become a stall (stall_ms after it began), and every CAP_WATCHDOG_MS
 * while one runs on the CPU past that: it may call the kernel and stall
 * any moment. */
#define CAP_WATCHDOG_MS 5
#define CAP_SAMPLER_SIGNAL (SIGRTMAX - 3)

extern int __sigaction(int, const struct sigaction *, struct sigaction *);
extern size_t cap__default_chunk;
extern int cap__stack_mode;
const char *cap__disk_backend_peek(void);

struct cap_tel_config {
	const char *connect_path, *listen_path;
	uint32_t interval_ms, quantum_ms, stall_ms;
};

/* A registered worker, and the watchdog's view of it. */
struct cap_tel_worker {
	struct cap_worker *w;
	struct cap_telemetry *T;
	pid_t tid;
	uint64_t last_switches;
	uint64_t last_change_ns; /* when the run going on began (or a moment before) */
	uint64_t last_look_ns;
	uint32_t stall_id; /* the stall being recorded (its index + 1 in T's), 0 = none */
	uint64_t stall_start_ns, stall_seen_ns;
	uint64_t stall_run_ticks; /* start of the stalled run (its thread's t_run), 0 = unknown */
	uint64_t busy_sent, parked_sent; /* what WORKERS last said: never less */
};

/* Registration: a slot is reserved, filled, then published; the telemetry
 * thread takes the slots in order and waits at one not yet published. */
static struct cap_tel_worker *_Atomic cap__reg[CAP_WORKERS_MAX];
static atomic_uint cap__nreg;
static bool cap__tel_on;

/* Shadows of what was last sent on this connection, to send only changes. */
struct cap_shadow {
	uint32_t nodes_defined;
	uint64_t *node_count;
	uint64_t *node_wait;
	uint64_t *edge_count;
	uint64_t *site_sig; /* a checksum of each site record */
	uint64_t *split_count;
	uint64_t *sample_count;
	uint64_t *stall_count;
};

static struct {
	struct cap_tel_config cfg;
	struct cap_merge m;
	uint32_t nworkers; /* registered workers merged so far (cap__reg) */
	uint64_t quantum_ticks;
	double ns_per_tick;
	uint64_t tick0;
	uint64_t start_mono_ns;
	struct cap_hello hello;
	struct cap_module *modules;
	char **args;
	uintptr_t exe_lo, exe_hi; /* executable text, for the watchdog's stack scan */
	int fd, listen_fd, wake_fd;
	bool listen_polled; /* poll saw no connection waiting on listen_fd: no accept4, which makes a socket to fail */
	struct cap_wire out;
	size_t out_sent;
	uint32_t seq, dropped, dropped_total;
	struct cap_shadow sh;
	uint32_t open_fds;
	unsigned ticks_since_fd_count;
	struct cap_stack_mem stacks; /* the last measurement; t_ns 0: none yet */
	uint64_t stacks_cost_ns;     /* the CPU time that measurement took */
	/* exit */
	_Atomic int exiting; /* 1: asked to send the exit frame, 2: done */
	int exit_signaled, exit_status;
} S;

static uint64_t cap__now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t cap__ns(uint64_t ticks) { return (uint64_t)((double)ticks * S.ns_per_tick); }

/* ---- Start-up ----------------------------------------------------------- */

static uint32_t cap__env_ms(const char *name, uint32_t def)
{
	const char *s = getenv(name);
	if (!s || !*s)
		return def;
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*end || v == 0 || v > 3600000) {
		fprintf(stderr, "capriccio: %s=%s is not a number of milliseconds (1..3600000); using %u\n", name, s, def);
		return def;
	}
	return (uint32_t)v;
}

static int cap__module_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (S.hello.nmodules >= 256)
		return 1;
	uintptr_t lo = UINTPTR_MAX, hi = 0, xlo = UINTPTR_MAX, xhi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *p = &info->dlpi_phdr[i];
		if (p->p_type != PT_LOAD)
			continue;
		uintptr_t a = info->dlpi_addr + p->p_vaddr;
		if (a < lo)
			lo = a;
		if (a + p->p_memsz > hi)
			hi = a + p->p_memsz;
		if ((p->p_flags & PF_X) && a < xlo)
			xlo = a, xhi = a + p->p_memsz;
	}
	if (!hi)
		return 0;
	const char *path = info->dlpi_name;
	bool exe = S.hello.nmodules == 0;
	if (exe) {
		static char self[4096];
		ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
		self[n > 0 ? n : 0] = 0;
		path = self;
		S.exe_lo = xlo;
		S.exe_hi = xhi;
	}
	if (!path || !*path)
		return 0; /* the vDSO */
	struct cap_module *m = &S.modules[S.hello.nmodules++];
	m->bias = info->dlpi_addr;
	m->start = lo;
	m->end = hi;
	m->path = strdup(path);
	return 0;
}

static void cap__read_args(void)
{
	static char buf[8192];
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : 0;
	if (fd >= 0)
		close(fd);
	if (n < 0)
		n = 0;
	buf[n] = 0;
	S.args = calloc(65, sizeof(char *));
	uint16_t k = 0;
	for (ssize_t i = 0; i < n && k < 64; i += (ssize_t)strlen(buf + i) + 1)
		S.args[k++] = buf + i;
	S.hello.nargs = k;
	S.hello.args = (const char *const *)S.args;
}

/* ns per TSC tick, against the monotonic clock: a first estimate over
 * 2 ms, then refined at every snapshot over the whole run so far. */
static uint64_t cap__cal_ticks0, cap__cal_ns0;
static void cap__calibrate(void)
{
	uint64_t m1 = cap__now_ns(), t1 = cap__ticks();
	if (!cap__cal_ticks0) {
		cap__cal_ticks0 = t1;
		cap__cal_ns0 = m1;
		struct timespec d = { 0, 2000000 };
		nanosleep(&d, NULL);
		m1 = cap__now_ns();
		t1 = cap__ticks();
	}
	if (t1 > cap__cal_ticks0)
		S.ns_per_tick = (double)(m1 - cap__cal_ns0) / (double)(t1 - cap__cal_ticks0);
}

/* ---- Sockets ------------------------------------------------------------ */

static int cap__unix_addr(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof a->sun_path) {
		fprintf(stderr, "capriccio: telemetry socket path too long: %s\n", path);
		return -1;
	}
	strcpy(a->sun_path, path);
	return 0;
}

static void cap__reset_connection(void)
{
	S.out.len = 0;
	S.out_sent = 0;
	S.seq = 0;
	S.dropped = 0;
	S.sh.nodes_defined = 0;
	memset(S.sh.node_count, 0, CAP_NODES_MAX * sizeof(uint64_t));
	memset(S.sh.node_wait, 0, CAP_NODES_MAX * sizeof(uint64_t));
	memset(S.sh.edge_count, 0, CAP_EDGES_MAX * sizeof(uint64_t));
	memset(S.sh.site_sig, 0, CAP_SITES_MAX * sizeof(uint64_t));
	memset(S.sh.split_count, 0, CAP_SPLITS_MAX * sizeof(uint64_t));
	memset(S.sh.sample_count, 0, CAP_SAMPLES_MAX * sizeof(uint64_t));
	memset(S.sh.stall_count, 0, (size_t)CAP_STALLS_MAX * 4 * sizeof(uint64_t));
	cap__frame_hello(&S.out, &S.hello);
}

static void cap__connected(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	/* Room for a burst of frames; CAPRICCIO_TELEMETRY_SNDBUF shrinks it to
	 * see coalescing at work. */
	const char *sb = getenv("CAPRICCIO_TELEMETRY_SNDBUF");
	int buf = sb && atoi(sb) > 0 ? atoi(sb) : 1 << 20;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
	S.fd = fd;
	S.hello.disk_backend = cap__disk_backend_peek();
	cap__reset_connection();
}

static void cap__disconnected(void)
{
	close(S.fd);
	S.fd = -1;
}

static void cap__try_connect(void)
{
	struct sockaddr_un a;
	if (cap__unix_addr(S.cfg.connect_path, &a) != 0)
		return;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		fprintf(stderr, "capriccio: cannot connect to the telemetry socket %s: %s (the program runs on without telemetry)\n",
			S.cfg.connect_path, strerror(errno));
		close(fd);
		S.cfg.connect_path = NULL;
		return;
	}
	cap__connected(fd);
}

static void cap__start_listening(void)
{
	struct sockaddr_un a;
	if (cap__unix_addr(S.cfg.listen_path, &a) != 0)
		return;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	unlink(S.cfg.listen_path);
	mode_t old = umask(0177); /* the socket is the user's alone: 0600 */
	int r = fd >= 0 ? bind(fd, (struct sockaddr *)&a, sizeof a) : -1;
	umask(old);
	if (r != 0 || listen(fd, 4) != 0) {
		fprintf(stderr, "capriccio: cannot listen on the telemetry socket %s: %s\n", S.cfg.listen_path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	chmod(S.cfg.listen_path, 0600);
	S.listen_fd = fd;
}

/* Send what is pending; false when the consumer went away. */
static bool cap__flush(void)
{
	while (S.fd >= 0 && S.out_sent < S.out.len) {
		ssize_t n = send(S.fd, S.out.buf + S.out_sent, S.out.len - S.out_sent, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0) {
			S.out_sent += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return true;
		cap__disconnected();
		return false;
	}
	if (S.out_sent >= S.out.len)
		S.out.len = S.out_sent = 0;
	return true;
}

/* ---- Snapshots ---------------------------------------------------------- */

static uint32_t cap__open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return 0;
	uint32_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0; /* not the directory's own descriptor */
}

static uint64_t cap__rss(void)
{
	char buf[128];
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	unsigned long size, res;
	return sscanf(buf, "%lu %lu", &size, &res) == 2 ? (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

/* Workers registered since the last look join the merge. */
static void cap__take_new_workers(void)
{
	uint32_t n = atomic_load_explicit(&cap__nreg, memory_order_acquire);
	if (n > CAP_WORKERS_MAX)
		n = CAP_WORKERS_MAX; /* the ones past it have no tables */
	while (S.nworkers < n) {
		struct cap_tel_worker *tw = atomic_load_explicit(&cap__reg[S.nworkers], memory_order_acquire);
		if (!tw || cap__merge_add(&S.m, tw->T) != 0)
			return; /* not published yet: next time */
		if (!tw->T->quantum_ticks)
			tw->T->quantum_ticks = S.quantum_ticks;
		S.nworkers++;
	}
}

static inline struct cap_tel_worker *cap__tw(uint32_t i) { return atomic_load_explicit(&cap__reg[i], memory_order_relaxed); }

static void cap__resources(struct cap_resources *r)
{
	const struct cap_merge *m = &S.m;
	memset(r, 0, sizeof *r);
	r->threads = (uint32_t)cap__mn.nthreads; /* read racily: a count for a graph */
	for (uint32_t i = 0; i < S.nworkers; i++) {
		struct cap_worker *w = cap__tw(i)->w;
		if (!cap__policy || i == 0) /* the resource-aware queue is the process's */
			r->runnable += cap__runq_len(w);
		r->switches += w->switches;
	}
	r->blocked_io = m->blocked[CAP_WAIT_IO] + m->blocked[CAP_WAIT_POLL];
	r->blocked_disk = m->blocked[CAP_WAIT_DISK] + m->blocked[CAP_WAIT_EXTERN];
	r->sleeping = m->blocked[CAP_WAIT_SLEEP];
	for (int k = CAP_WAIT_JOIN; k <= CAP_WAIT_ONCE; k++)
		if (k != CAP_WAIT_IO && k != CAP_WAIT_POLL && k != CAP_WAIT_DISK)
			r->blocked_sync += m->blocked[k];
	r->blocking_ops = m->blocking_ops;
	r->rss_bytes = cap__rss();
	if (S.ticks_since_fd_count++ % 10 == 0)
		S.open_fds = cap__open_fds();
	r->open_fds = S.open_fds;
	struct rlimit rl;
	r->fd_limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (uint32_t)(rl.rlim_cur > UINT32_MAX ? UINT32_MAX : rl.rlim_cur) : 0;
	r->stack_allocated_bytes = m->stack_allocated;
	r->dropped_total = S.dropped_total;
	r->nodes_dropped = (uint32_t)m->dropped;
}

/* WORKERS: each worker's time busy and parked so far (lifetime = both),
 * its run queue and its scheduler's counters. */
static void cap__build_workers(uint64_t now)
{
	static struct cap_worker_row rows[CAP_WORKERS_MAX];
	for (uint32_t i = 0; i < S.nworkers; i++) {
		struct cap_tel_worker *tw = cap__tw(i);
		struct cap_worker *w = tw->w;
		uint64_t life = now > w->stats.start_ns ? now - w->stats.start_ns : 0;
		uint64_t parked = cap__worker_parked_ns(w, now);
		uint64_t busy = life > parked ? life - parked : 0;
		/* Cumulative values never go back (the two clocks are read a moment apart). */
		tw->parked_sent = parked > tw->parked_sent ? parked : tw->parked_sent;
		tw->busy_sent = busy > tw->busy_sent ? busy : tw->busy_sent;
		rows[i] = (struct cap_worker_row){
			.id = w->id,
			.runnable = cap__runq_len(w),
			.threads = atomic_load_explicit(&w->stats.threads, memory_order_relaxed),
			.busy_ns = tw->busy_sent,
			.parked_ns = tw->parked_sent,
			.switches = w->switches,
			.steals = atomic_load_explicit(&w->stats.steals, memory_order_relaxed),
			.migrations = atomic_load_explicit(&w->stats.migrations, memory_order_relaxed),
		};
	}
	cap__frame_workers(&S.out, S.seq, S.nworkers, rows);
}

/* The snapshots at which the workers are asked for their rows and the stack
 * memory is measured: about once a second, each a walk of everything. */
static inline bool cap__slow_tick(void) { return S.seq % 10 == 1; }

/* A measurement of the stack memory may take at most this share of the
 * telemetry thread's time (1/CAP_STACKMEM_DUTY): mincore costs about 2 us a
 * mapping, and a server whose threads call libc maps a 1 MiB chunk for
 * each (knot at 1,000 connections: 1,970 mappings, 4.7 ms a measurement,
 * then made about every 5 s rather than every second). */
#define CAP_STACKMEM_DUTY 1000u

/* STACKS: the stack memory as the kernel holds it.  Measured about once a
 * second (mincore over every stack mapping), or less often when that took
 * long (CAP_STACKMEM_DUTY), with the rows the workers gather, and for the
 * last snapshot; sent after every snapshot.  Waste: resident, held by no live
 * thread: first chunks free in the slabs (populated when mapped) with the
 * chunks kept with them (ctx.h), and the chunks in the workers' pools, as
 * each worker last measured its own. */
static void cap__build_stacks(uint64_t now)
{
	struct cap_stack_mem *st = &S.stacks;
	bool due = cap__slow_tick() && now - S.start_mono_ns - st->t_ns >= S.stacks_cost_ns * CAP_STACKMEM_DUTY;
	if (due || st->t_ns == 0 || atomic_load(&S.exiting) == 1) { /* and at the end */
		/* Its CPU time: what it cost, however long the kernel kept this thread off the CPU meanwhile. */
		uint64_t began = cap__clock_ns(CLOCK_THREAD_CPUTIME_ID);
		cap__stackmem_measure(st);
		S.stacks_cost_ns = cap__clock_ns(CLOCK_THREAD_CPUTIME_ID) - began;
		st->t_ns = now - S.start_mono_ns;
		int64_t waste = 0;
		for (uint32_t i = 0; i < S.nworkers; i++) {
			struct cap_tel_worker *tw = cap__tw(i);
			waste += atomic_load_explicit(&tw->w->stacks.idle, memory_order_relaxed);
			waste += (int64_t)atomic_load_explicit(&tw->T->pool_resident, memory_order_relaxed);
		}
		st->waste_bytes = waste < 0 ? 0 : (uint64_t)waste > st->resident_bytes ? st->resident_bytes : (uint64_t)waste;
	}
	cap__frame_stacks(&S.out, S.seq, st);
}

/* SYNC: every hold and wake so far, with its figures (few entries: one per
 * waiting point and holder site, or woken point and waker site). */
static void cap__build_sync(void)
{
	static struct cap_hold_row holds[CAP_HOLDS_MAX];
	static struct cap_wake_row wakes[CAP_WAKES_MAX];
	const struct cap_merge *m = &S.m;
	uint32_t nh = 0, nw = 0;
	for (uint32_t i = 0; i < m->hold_map.n; i++) {
		const struct cap_merged_hold *h = &m->hold[i];
		if (h->count)
			holds[nh++] = (struct cap_hold_row){ h->node, h->acquire, h->release, h->count, cap__ns(h->hold_total),
							     cap__ns(h->hold_max), cap__ns(h->wait_total) };
	}
	for (uint32_t i = 0; i < m->wake_map.n; i++) {
		const struct cap_merged_wake *k = &m->wake[i];
		if (k->count)
			wakes[nw++] = (struct cap_wake_row){ k->node, k->from, k->waker, k->count };
	}
	cap__frame_sync(&S.out, S.seq, nh, holds, nw, wakes);
}

static uint64_t cap__site_sig(const struct cap_site *s)
{
	const uint64_t v[] = { s->live, s->total, s->chunks_linked, s->allocated, s->used_max, s->used_total, s->waste,
			       s->split_frame_max };
	return cap__hash_frames(v, 8); /* never 0, which means "not sent" */
}

/* Per-thread rows: each worker gathers its own when asked (about once a
 * second); the largest CAP_TOP_THREADS of all go out. */
static void cap__threads_section(struct cap_wire *w, struct cap_snap *s)
{
	const struct cap_thread_row *top[CAP_TOP_THREADS];
	uint32_t n = 0;
	bool ask = cap__slow_tick();
	for (uint32_t k = 0; k < S.nworkers; k++) {
		struct cap_telemetry *T = cap__tw(k)->T;
		int want = atomic_load_explicit(&T->want_threads, memory_order_acquire);
		if (want == 2) {
			for (uint32_t i = 0; i < T->nrows; i++) {
				const struct cap_thread_row *r = &T->rows[i];
				if (n < CAP_TOP_THREADS) {
					top[n++] = r;
					continue;
				}
				uint32_t min = 0; /* full: it replaces the smallest, if larger */
				for (uint32_t j = 1; j < n; j++)
					if (top[j]->allocated < top[min]->allocated)
						min = j;
				if (r->allocated > top[min]->allocated)
					top[min] = r;
			}
			atomic_store_explicit(&T->want_threads, 0, memory_order_relaxed); /* taken */
		} else if (want == 0 && ask) {
			atomic_store_explicit(&T->want_threads, 1, memory_order_relaxed);
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct cap_thread_row *r = top[i];
		cap__rec_thread(w, s, r->id, r->spawn_site, r->allocated, r->used, r->chunks_linked, r->state, r->kind, r->name);
	}
}

static void cap__build_snapshot(uint64_t now)
{
	struct cap_merge *m = &S.m;
	cap__calibrate();
	cap__take_new_workers();
	cap__merge_update(m);
	struct cap_wire *w = &S.out;
	struct cap_resources res;
	cap__resources(&res);
	struct cap_snap s;
	cap__snap_begin(w, &s, ++S.seq, S.dropped, now - S.start_mono_ns, &res);
	S.dropped = 0;

	uint32_t nn = m->node_map.n;
	cap__snap_section(w, &s); /* node_defs */
	for (uint32_t i = S.sh.nodes_defined; i < nn; i++) {
		const struct cap_node *n = m->node[i].def;
		cap__rec_node_def(w, &s, i + 1, n->kind, n->nframes, n->frames);
	}
	S.sh.nodes_defined = nn;
	cap__snap_section(w, &s); /* node_stats */
	for (uint32_t i = 0; i < nn; i++) {
		const struct cap_merged_node *n = &m->node[i];
		uint64_t c = n->count, wt = n->wait_total;
		if (c == S.sh.node_count[i] && wt == S.sh.node_wait[i])
			continue;
		S.sh.node_count[i] = c;
		S.sh.node_wait[i] = wt;
		cap__rec_node_stat(w, &s, i + 1, c, cap__ns(wt), cap__ns(n->wait_max), n->fd_delta);
	}
	cap__snap_section(w, &s); /* edge_stats */
	for (uint32_t i = 0; i < m->edge_map.n; i++) {
		const struct cap_edge *e = &m->edge[i];
		uint64_t c = e->count;
		if (c == S.sh.edge_count[i])
			continue;
		S.sh.edge_count[i] = c;
		cap__rec_edge(w, &s, e->from, e->to, c, cap__ns(e->total), cap__ns(e->ewma), cap__ns(e->max));
	}
	cap__snap_section(w, &s); /* spawn_sites */
	for (uint32_t i = 0; i < m->site_map.n; i++) {
		const struct cap_site *st = &m->site[i];
		uint64_t sig = cap__site_sig(st);
		if (sig == S.sh.site_sig[i])
			continue;
		S.sh.site_sig[i] = sig;
		cap__rec_site(w, &s, st->addr, st->live, st->total, st->first_chunk, st->split_frame_max, st->chunks_linked,
			     st->allocated, st->used_max, st->used_total, st->waste);
	}
	cap__snap_section(w, &s); /* hot_splits */
	for (uint32_t i = 0; i < m->split_map.n; i++) {
		const struct cap_split *sp = &m->split[i];
		if (sp->count == S.sh.split_count[i])
			continue;
		S.sh.split_count[i] = sp->count;
		cap__rec_split(w, &s, sp->callsite, sp->count, sp->frame_bytes, sp->mapped);
	}
	cap__snap_section(w, &s); /* samples */
	for (uint32_t i = 0; i < m->sample_map.n; i++) {
		const struct cap_merged_sample *sa = &m->sample[i];
		if (sa->count == S.sh.sample_count[i])
			continue;
		S.sh.sample_count[i] = sa->count;
		cap__rec_sample(w, &s, i + 1, sa->def->nframes, sa->def->frames, sa->count, cap__ns(sa->run_max));
	}
	cap__snap_section(w, &s); /* stalls */
	for (uint32_t i = 0; i < m->nstalls; i++) {
		const struct cap_stall *st = m->stall[i];
		uint64_t sig = st->count * 1000003u + st->total_ns;
		if (sig == S.sh.stall_count[i])
			continue;
		S.sh.stall_count[i] = sig;
		cap__rec_stall(w, &s, i + 1, st->syscall, st->count, st->total_ns, st->max_ns, st->pc, st->callsite, st->target);
	}
	cap__snap_section(w, &s); /* threads */
	cap__threads_section(w, &s);
	cap__snap_end(w, &s);
	cap__build_workers(now);
	cap__build_stacks(now);
	cap__build_sync();
	if (w->failed) { /* out of memory: drop it, count it */
		w->failed = 0;
		w->len = 0;
		S.dropped++;
		S.dropped_total++;
	}
}

/* ---- The stall watchdog ------------------------------------------------- */

/* Does the function at `f` start with a split-stack prologue, i.e. was it
 * built by capriccio cc (the program or the runtime, not a library)? */
static bool cap__is_split_code(uintptr_t f)
{
	if (f < S.exe_lo || f + 16 > S.exe_hi)
		return false;
	const unsigned char *p = (const unsigned char *)f;
	if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
		p += 4; /* endbr64 */
	if (p[0] == 0xf9)
		return true; /* stc: gold's rewrite of the compare */
	if (p[0] == 0x4c && p[1] == 0x8d && (p[2] == 0x94 || p[2] == 0x9c) && p[3] == 0x24)
		p += 8; /* lea -FRAME(%rsp),%r10/%r11 */
	return p[0] == 0x64 && p[2] == 0x3b && p[4] == 0x25 && p[5] == 0x70 && !p[6] && !p[7] && !p[8];
}

/* The function a `call` just before return address `ret` called, following
 * a PLT stub to its target; 0 if that is not a direct call we can read. */
static uintptr_t cap__call_target(uintptr_t ret)
{
	const unsigned char *c = (const unsigned char *)ret;
	int32_t rel;
	if (c[-6] == 0xff && c[-5] == 0x15) { /* call *GOT(%rip) */
		memcpy(&rel, c - 4, 4);
		return *(const uintptr_t *)(ret + rel);
	}
	if (c[-5] != 0xe8)
		return 0;
	memcpy(&rel, c - 4, 4);
	uintptr_t callee = ret + (intptr_t)rel;
	if (callee < S.exe_lo || callee + 16 > S.exe_hi)
		return callee;
	const unsigned char *p = (const unsigned char *)callee;
	if (p[0] == 0xf3 && p[1] == 0x0f && p[2] == 0x1e && p[3] == 0xfa)
		p += 4;
	if (p[0] == 0xf2)
		p++; /* bnd */
	if (p[0] == 0xff && p[1] == 0x25) { /* a PLT stub: jmp *GOT(%rip) */
		memcpy(&rel, p + 2, 4);
		return *(const uintptr_t *)(p + 6 + rel);
	}
	return callee;
}

/* The worker sits in a system call the runtime did not make: where?
 * /proc gives the syscall, its stack pointer and program counter.  Going up
 * the stack from there, return addresses into the executable name the
 * calls that led down to it; the outermost call into code not built by
 * capriccio cc, just below the first call between the program's own
 * functions, is the external function to blame (and its call site).
 * Frames hold stale return addresses too (a slot of alignment padding
 * keeps the one of an earlier call): one that returns into the function
 * the current answer returns into is such a leftover, not a caller.  A
 * The scan stays on the stack chunk it starts in (cap__stack_end).  A
 * call to __morestack is a split-stack function's prologue, so it ends the
 * scan as a call between the program's functions does; met first, the
 * worker is linking a chunk for a split (chunks.h maps one when none
 * fits): the runtime's own system call. */
extern void __morestack(void), __morestack_non_split(void);

/* The end of the stack chunk holding sp: the running thread's first chunk,
 * or the linked chunk (stackmem.h) around it; 0 if neither.  A scan past it
 * would read another thread's stack (mappings of chunks and slabs lie side
 * by side) and blame its calls. */
static uintptr_t cap__stack_end(const struct cap_thread *t, uintptr_t sp)
{
	if (t && sp >= (uintptr_t)t->stack_lo && sp < (uintptr_t)t->stack_lo + t->stack_size)
		return (uintptr_t)t->stack_lo + t->stack_size;
	return cap__stackmem_end(sp);
}

static void cap__locate_stall(pid_t tid, const struct cap_thread *t, uint32_t *sysno, uint64_t *pc, uint64_t *callsite,
			      uint64_t *target)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	if (fd >= 0)
		close(fd);
	*sysno = UINT32_MAX;
	*pc = *callsite = *target = 0;
	if (n <= 0)
		return;
	buf[n] = 0;
	long nr;
	unsigned long a[6], sp, ip;
	if (sscanf(buf, "%ld %lx %lx %lx %lx %lx %lx %lx %lx", &nr, &a[0], &a[1], &a[2], &a[3], &a[4], &a[5], &sp, &ip) != 9)
		return;
	*sysno = (uint32_t)nr;
	*pc = ip;
	uint64_t words[2048];
	uintptr_t end = cap__stack_end(t, sp);
	struct iovec local = { words, end > sp && end - sp < sizeof words ? end - sp : sizeof words }, remote = { (void *)sp, local.iov_len };
	ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	uintptr_t caller = 0; /* the function *callsite returns into */
	for (ssize_t i = 0; i < got / 8; i++) {
		uintptr_t ret = words[i];
		if (ret < S.exe_lo + 6 || ret >= S.exe_hi)
			continue;
		uintptr_t callee = cap__call_target(ret);
		if (!callee)
			continue;
		if (callee == (uintptr_t)__morestack || callee == (uintptr_t)__morestack_non_split)
			return; /* a split-stack function's prologue: the call below it, if any, is the answer */
		if (cap__is_split_code(callee)) {
			if (*callsite)
				return; /* the program's own call: the one below it is the answer */
			continue;
		}
		uintptr_t in = cap__unwind_function_sys(ret - 1);
		if (*callsite && in && in == caller)
			continue; /* a leftover in the same frame */
		*callsite = ret;
		*target = callee;
		caller = in;
	}
}

/* The stall being recorded is over.  Its length is the stalled run's, from
 * the worker's own timestamps (the run's start and end), when both are
 * known: the watchdog's looks can come late on a loaded machine.  Else it
 * ends halfway between the last look that saw it and this one. */
static void cap__stall_ended(struct cap_tel_worker *tw, uint64_t now)
{
	struct cap_telemetry *T = tw->T;
	struct cap_stall *st = &T->stalls.v[tw->stall_id - 1];
	uint64_t counted = tw->stall_seen_ns - tw->stall_start_ns, len;
	if (tw->stall_run_ticks && !atomic_load_explicit(&T->stall_watch, memory_order_acquire) &&
	    T->stall_end_ticks > tw->stall_run_ticks)
		len = cap__ns(T->stall_end_ticks - tw->stall_run_ticks);
	else
		len = counted + (now - tw->stall_seen_ns) / 2;
	atomic_store_explicit(&T->stall_watch, 0, memory_order_relaxed);
	st->total_ns += len > counted ? len - counted : 0;
	if (len > st->max_ns)
		st->max_ns = len;
}

/* Each worker on its own: one stuck in an external call does not stop the
 * others, and its stalls are recorded in its own table (whose stalls only
 * this thread writes).  Returns when this worker wants its next look: when
 * its run, if it goes on, becomes a stall. */
static uint64_t cap__watch(struct cap_tel_worker *tw, uint64_t now, uint64_t now_ticks)
{
	struct cap_worker *w = tw->w;
	struct cap_telemetry *T = tw->T;
	uint64_t stall_ns = (uint64_t)S.cfg.stall_ms * 1000000u;
	uint64_t sw = w->switches;
	/* On its scheduler context a worker runs none of the program's calls:
	 * whatever it waits for there (starting the other workers, a lock whose
	 * holder the kernel preempted) is the runtime's, not a stall.  And
	 * last_change_ns 0 is the first look at this worker: a stall is timed
	 * from here, not from the clock's zero. */
	bool idle = w->current == &w->sched;
	if (sw != tw->last_switches || idle || !tw->last_change_ns) {
		if (tw->stall_id)
			cap__stall_ended(tw, now);
		/* The run going on began after the last look (the switch count
		 * moved since), and at or after the worker's run_began. */
		uint64_t began = atomic_load_explicit(&T->run_began, memory_order_relaxed);
		uint64_t since = !began ? UINT64_MAX : now_ticks > began ? cap__ns(now_ticks - began) : 0; /* (began after now_ticks was read) */
		uint64_t start = since < now - tw->last_look_ns ? now - since : tw->last_look_ns;
		tw->last_switches = sw;
		tw->last_change_ns = tw->last_look_ns && !idle ? start : now;
		tw->last_look_ns = now;
		tw->stall_id = 0;
		return idle ? now + stall_ns : tw->last_change_ns + stall_ns;
	}
	tw->last_look_ns = now;
	uint64_t stuck = now - tw->last_change_ns;
	if (stuck < stall_ns)
		return tw->last_change_ns + stall_ns;
	if (tw->stall_id) { /* the same stall goes on; its end is the worker's to time */
		struct cap_stall *st = &T->stalls.v[tw->stall_id - 1];
		st->total_ns += now - tw->stall_seen_ns;
		tw->stall_seen_ns = now;
		if (now - tw->stall_start_ns > st->max_ns)
			st->max_ns = now - tw->stall_start_ns;
		return now + stall_ns;
	}
	uint32_t sysno;
	uint64_t pc, callsite, target;
	cap__locate_stall(tw->tid, tw->w->current, &sysno, &pc, &callsite, &target);
	if (sysno == UINT32_MAX)
		return now + CAP_WATCHDOG_MS * 1000000ull; /* running: a CPU hog, the sampler's business, until it calls the kernel */
	uint64_t key = callsite ? callsite : pc;
	uint32_t id = 0;
	uint32_t n = atomic_load_explicit(&T->stalls.n, memory_order_relaxed);
	for (uint32_t i = 0; i < n; i++)
		if ((T->stalls.v[i].callsite ? T->stalls.v[i].callsite : T->stalls.v[i].pc) == key)
			id = i + 1;
	if (!id && n < CAP_STALLS_MAX) {
		struct cap_stall *st = &T->stalls.v[n];
		st->pc = pc;
		st->callsite = callsite;
		st->target = target;
		st->syscall = sysno;
		atomic_store_explicit(&T->stalls.n, n + 1, memory_order_release);
		id = n + 1;
	}
	if (!id)
		return now + stall_ns;
	struct cap_stall *st = &T->stalls.v[id - 1];
	st->count++;
	tw->stall_id = id;
	/* The stalled thread cannot end while it is stuck, so its run start is
	 * safe to read; the worker will time the run's end (stall_watch). */
	struct cap_thread *t = w->current;
	tw->stall_run_ticks = t && t != &w->sched ? t->t_run : 0;
	atomic_store_explicit(&T->stall_watch, 1, memory_order_release);
	tw->stall_start_ns = tw->last_change_ns;
	tw->stall_seen_ns = now;
	st->total_ns += stuck;
	if (stuck > st->max_ns)
		st->max_ns = stuck;
	return now + stall_ns;
}

/* Looks at every worker; returns when the next look is due. */
static uint64_t cap__watchdog(uint64_t now)
{
	cap__take_new_workers();
	uint64_t now_ticks = cap__ticks(), next = now + (uint64_t)S.cfg.stall_ms * 1000000u;
	for (uint32_t i = 0; i < S.nworkers; i++) {
		uint64_t at = cap__watch(cap__tw(i), now, now_ticks);
		if (at < next)
			next = at;
	}
	return next;
}

/* Every worker waits in the kernel with nothing to run: no stall can be
 * going on, and none can start before one of them wakes. */
static bool cap__all_parked(void)
{
	if (S.nworkers < cap__mn.n)
		return false; /* one not registered yet */
	for (uint32_t i = 0; i < S.nworkers; i++)
		if (!atomic_load_explicit(&cap__tw(i)->w->stats.park_start, memory_order_relaxed))
			return false;
	return true;
}

/* How long the thread may wait for `want_ms` (the next snapshot): until
 * the watchdog's next look (`look_ms`), or, while the program is idle,
 * longer, its workers told to wake it when one stops waiting
 * (cap__tel_worker_unparked): an idle program's telemetry thread then
 * wakes for its snapshots only. */
static int cap__doze(int want_ms, int look_ms)
{
	if (want_ms <= look_ms || S.wake_fd < 0 || !cap__all_parked())
		return want_ms < look_ms ? want_ms : look_ms;
	atomic_store_explicit(&cap__tel_doze_fd, S.wake_fd, memory_order_relaxed);
	atomic_thread_fence(memory_order_seq_cst); /* told before the second look; see cap__tel_worker_unparked */
	if (cap__all_parked())
		return want_ms;
	atomic_store_explicit(&cap__tel_doze_fd, -1, memory_order_relaxed); /* one woke meanwhile */
	return look_ms;
}

/* ---- The yield sampler -------------------------------------------------- */

/* On the worker's CPU clock: when the current thread has run longer than
 * the quantum since it last blocked or yielded, record where it is. */
static void cap__sample(int sig, siginfo_t *si, void *ucv)
{
	(void)sig;
	(void)si;
	struct cap_worker *w = cap__w;
	struct cap_telemetry *T = w ? w->tel : NULL;
	if (!T)
		return;
	struct cap_thread *t = w->current;
	if (!t || t == &w->sched || w->sysstack.active)
		return;
	/* The timer fires twice a quantum of the worker's CPU time: the third
	 * firing within one run proves the run used a whole quantum of CPU,
	 * however long the kernel kept the worker off the CPU meanwhile. */
	if (t != T->sampled_thread || t->t_run != T->sampled_run) {
		T->sampled_thread = t;
		T->sampled_run = t->t_run;
		T->firings = 0;
	}
	if (++T->firings < 3 || !T->quantum_ticks)
		return; /* (0: the clock is not calibrated yet) */
	uint64_t now = cap__ticks(), run = now - t->t_run;
	ucontext_t *uc = ucv;
	uint64_t frames[CAP_FRAMES];
	const greg_t *g = uc->uc_mcontext.gregs;
	struct cap_unwind_regs r = { (uintptr_t)g[REG_RIP], (uintptr_t)g[REG_RSP], (uintptr_t)g[REG_RBP] };
	uint32_t n = cap__unwind_walk(t, r, false, __morestack_segments, NULL, frames, CAP_FRAMES, cap__unwind_rule_sys, NULL);
	uint64_t h = cap__hash_frames(frames, n);
	uint32_t found = 0, cnt = atomic_load_explicit(&T->samples.n, memory_order_relaxed);
	for (uint32_t i = 0; i < cnt && !found; i++)
		if (T->samples.v[i].hash == h)
			found = i + 1;
	if (!found) {
		if (cnt >= CAP_SAMPLES_MAX) {
			T->samples.full++;
			return;
		}
		struct cap_sample *s = &T->samples.v[cnt];
		s->hash = h;
		memcpy(s->frames, frames, n * sizeof frames[0]);
		s->nframes = (uint8_t)n;
		atomic_store_explicit(&T->samples.n, cnt + 1, memory_order_release);
		found = cnt + 1;
	}
	struct cap_sample *s = &T->samples.v[found - 1];
	s->count++;
	if (run > s->run_max)
		s->run_max = run;
}

static bool cap__sampler_handler(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = cap__sample;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	if (__sigaction(CAP_SAMPLER_SIGNAL, &sa, NULL) != 0)
		return false;
	/* the program's masks never block it (sigmask.c) */
	__atomic_or_fetch(&cap__sig_reserved, CAP_SIGBIT(CAP_SAMPLER_SIGNAL), __ATOMIC_RELAXED);
	return true;
}

/* The sampler's timer for one worker: on its kernel thread's CPU clock. */
static void cap__start_sampler(pid_t tid)
{
	struct sigevent ev;
	memset(&ev, 0, sizeof ev);
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = CAP_SAMPLER_SIGNAL;
	ev._sigev_un._tid = tid;
	timer_t tm;
	if (timer_create(CLOCK_THREAD_CPUTIME_ID, &ev, &tm) != 0) {
		fprintf(stderr, "capriccio: no yield sampler (timer_create: %s)\n", strerror(errno));
		return;
	}
	long half = (long)S.cfg.quantum_ms * 500000L; /* sample twice a quantum */
	struct itimerspec it = { { half / 1000000000L, half % 1000000000L }, { half / 1000000000L, half % 1000000000L } };
	timer_settime(tm, 0, &it, NULL);
}

/* ---- The thread --------------------------------------------------------- */

static void cap__wait(int timeout_ms)
{
	struct pollfd p[2];
	int n = 0;
	p[n++] = (struct pollfd){ .fd = S.wake_fd, .events = POLLIN };
	if (S.fd >= 0 && S.out_sent < S.out.len)
		p[n++] = (struct pollfd){ .fd = S.fd, .events = POLLOUT };
	else if (S.fd < 0 && S.listen_fd >= 0)
		p[n++] = (struct pollfd){ .fd = S.listen_fd, .events = POLLIN };
	int r = poll(p, (nfds_t)n, timeout_ms);
	S.listen_polled = r >= 0 && n > 1 && p[1].fd == S.listen_fd && !(p[1].revents & POLLIN);
	if (r > 0 && (p[0].revents & POLLIN)) {
		char drain[64];
		(void)!read(S.wake_fd, drain, sizeof drain);
	}
}

static void *cap__telemetry_main(void *arg)
{
	(void)arg;
	prctl(PR_SET_NAME, "cap-telemetry"); /* not its creator's name: per-thread tools tell it from the program */
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL); /* signals are the worker's */
	cap__calibrate();
	S.quantum_ticks = (uint64_t)((double)S.cfg.quantum_ms * 1e6 / S.ns_per_tick);
	cap__take_new_workers();
	for (uint32_t i = 0; i < S.nworkers; i++)
		cap__tw(i)->T->quantum_ticks = S.quantum_ticks;
	if (S.cfg.connect_path)
		cap__try_connect();
	if (S.cfg.listen_path)
		cap__start_listening();
	uint64_t next_tick = cap__now_ns();
	for (;;) {
		uint64_t now = cap__now_ns();
		if (atomic_load(&S.exiting) == 1) {
			if (S.fd >= 0) {
				/* The last snapshot and the exit frame go behind whatever is
				 * still on its way: nothing is skipped at the end. */
				cap__build_snapshot(now); /* and its WORKERS */
				cap__frame_exit(&S.out, S.exit_signaled, S.exit_status, now - S.start_mono_ns);
				uint64_t give_up = now + CAP_EXIT_FLUSH_MS * 1000000ull;
				while (S.fd >= 0 && S.out.len && cap__now_ns() < give_up) {
					cap__flush();
					if (S.fd >= 0 && S.out.len) {
						struct pollfd p = { .fd = S.fd, .events = POLLOUT };
						poll(&p, 1, 10);
					}
				}
			}
			atomic_store(&S.exiting, 2);
			return NULL;
		}
		if (S.fd < 0 && S.listen_fd >= 0 && !S.listen_polled) {
			int fd = accept4(S.listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				cap__connected(fd);
		}
		uint64_t look = cap__watchdog(now);
		if (S.fd >= 0)
			cap__flush(); /* what is on its way goes before the next snapshot is weighed */
		if (now >= next_tick) {
			next_tick += (uint64_t)S.cfg.interval_ms * 1000000u;
			if (next_tick < now)
				next_tick = now + (uint64_t)S.cfg.interval_ms * 1000000u;
			if (S.fd >= 0) {
				if (S.out_sent < S.out.len) {
					S.dropped++;
					S.dropped_total++;
				} else {
					cap__build_snapshot(now);
				}
			}
		}
		if (S.fd >= 0)
			cap__flush();
		uint64_t until = next_tick > now ? (next_tick - now + 999999u) / 1000000u : 0;
		uint64_t look_ms = look > now ? (look - now + 999999u) / 1000000u : 1;
		cap__wait(cap__doze((int)(until < INT32_MAX ? until : INT32_MAX), (int)(look_ms < INT32_MAX ? look_ms : INT32_MAX)));
		atomic_store_explicit(&cap__tel_doze_fd, -1, memory_order_relaxed);
	}
}

/* exit() (or main returning) runs this: give the thread a moment to send
 * the last snapshot and the exit frame. */
static void cap__on_exit(int status, void *arg)
{
	(void)arg;
	struct cap_worker *w = cap__w;
	if (!w || !w->tel || atomic_load(&S.exiting) != 0)
		return; /* a forked child has no telemetry thread to wait for */
	S.exit_status = status;
	S.exit_signaled = 0;
	atomic_store(&S.exiting, 1);
	uint64_t one = 1;
	(void)!write(S.wake_fd, &one, sizeof one);
	uint64_t give_up = cap__now_ns() + (CAP_EXIT_FLUSH_MS + 100) * 1000000ull;
	while (atomic_load(&S.exiting) != 2 && cap__now_ns() < give_up) {
		struct timespec d = { 0, 1000000 };
		cap_sys2(SYS_nanosleep, &d, NULL); /* the kernel's (not syscall(), which a program may annotate): exiting, nothing else should run */
	}
}

void cap__telemetry_start_sys(void *arg)
{
	struct cap_worker *w = arg;
	S.cfg.connect_path = getenv("CAPRICCIO_TELEMETRY");
	S.cfg.listen_path = getenv("CAPRICCIO_TELEMETRY_LISTEN");
	if (S.cfg.connect_path && !*S.cfg.connect_path)
		S.cfg.connect_path = NULL;
	if (S.cfg.listen_path && !*S.cfg.listen_path)
		S.cfg.listen_path = NULL;
	if (!S.cfg.connect_path && !S.cfg.listen_path)
		return;
	S.cfg.interval_ms = cap__env_ms("CAPRICCIO_INTERVAL_MS", 100);
	S.cfg.quantum_ms = cap__env_ms("CAPRICCIO_QUANTUM_MS", 10);
	S.cfg.stall_ms = cap__env_ms("CAPRICCIO_STALL_MS", 20);

	S.sh.node_count = calloc(CAP_NODES_MAX, sizeof(uint64_t));
	S.sh.node_wait = calloc(CAP_NODES_MAX, sizeof(uint64_t));
	S.sh.edge_count = calloc(CAP_EDGES_MAX, sizeof(uint64_t));
	S.sh.site_sig = calloc(CAP_SITES_MAX, sizeof(uint64_t));
	S.sh.split_count = calloc(CAP_SPLITS_MAX, sizeof(uint64_t));
	S.sh.sample_count = calloc(CAP_SAMPLES_MAX, sizeof(uint64_t));
	S.sh.stall_count = calloc((size_t)CAP_STALLS_MAX * 4, sizeof(uint64_t)); /* merged ids: telmerge.h */
	S.modules = calloc(256, sizeof *S.modules);
	if (!S.sh.node_count || !S.sh.node_wait || !S.sh.edge_count || !S.sh.site_sig || !S.sh.split_count ||
	    !S.sh.sample_count || !S.sh.stall_count || !S.modules || cap__merge_init(&S.m) != 0) {
		fprintf(stderr, "capriccio: out of memory for telemetry; running without it\n");
		return;
	}
	S.fd = S.listen_fd = -1;
	S.start_mono_ns = cap__now_ns();
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	S.hello.pid = (uint32_t)getpid();
	S.hello.start_realtime_ns = (uint64_t)rt.tv_sec * 1000000000u + (uint64_t)rt.tv_nsec;
	S.hello.interval_ms = S.cfg.interval_ms;
	S.hello.quantum_us = S.cfg.quantum_ms * 1000;
	S.hello.stall_ms = S.cfg.stall_ms;
	S.hello.first_chunk_bytes = (uint32_t)cap__default_chunk;
	S.hello.stack_mode = cap__stack_mode == CAP_STACK_FIXED ? "fixed" : "split";
	S.hello.disk_backend = "unstarted";
	S.hello.scheduler = cap__policy == CAP_POLICY_RESOURCE ? "resource-aware" : "fifo";
	S.hello.modules = S.modules;
	dl_iterate_phdr(cap__module_cb, NULL);
	S.hello.executable = S.hello.nmodules ? S.modules[0].path : "";
	cap__read_args();
	S.wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (S.wake_fd >= 0)
		cap__fds_runtime(1);

	/* Ours is a kernel thread; pthread_create would make a user thread. */
	int (*real_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *) =
		(int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))dlsym(RTLD_NEXT, "pthread_create");
	pthread_t th;
	bool sampler = cap__sampler_handler();
	cap__tel_on = true;
	cap__tel_register_worker(w); /* from here on the worker records */
	if (!w->tel || !real_create || real_create(&th, NULL, cap__telemetry_main, NULL) != 0) {
		cap__tel_on = false;
		w->tel = NULL;
		fprintf(stderr, "capriccio: cannot start the telemetry thread; running without telemetry\n");
		return;
	}
	if (sampler)
		cap__start_sampler(gettid());
	on_exit(cap__on_exit, NULL);
}

/* A worker other than the first (mn_sys.c): its tables and its sampler,
 * whose signal its kernel thread lets through from the start (it blocks
 * the rest until it runs a thread). */
void cap__tel_worker_start(struct cap_worker *w)
{
	if (!cap__tel_on)
		return;
	uint64_t bit = CAP_SIGBIT(CAP_SAMPLER_SIGNAL); /* the kernel's call: the program's pthread_sigmask is the runtime's */
	cap_sys4(SYS_rt_sigprocmask, SIG_UNBLOCK, &bit, NULL, 8);
	cap__tel_register_worker(w);
}

void cap__tel_register_worker(struct cap_worker *w)
{
	if (!cap__tel_on)
		return;
	struct cap_tel_worker *tw = calloc(1, sizeof *tw);
	struct cap_telemetry *T = aligned_alloc(_Alignof(struct cap_telemetry), sizeof *T); /* its nodes are line-aligned */
	if (T) {
		memset(T, 0, sizeof *T);
		T->pending.kind = -1;
	}
	uint32_t wid = atomic_fetch_add_explicit(&cap__nreg, 1, memory_order_relaxed);
	if (!tw || !T || wid >= CAP_WORKERS_MAX) {
		/* Without its tables the worker records nothing; the slot it took
		 * (if any) stays empty, and the telemetry thread stops there. */
		fprintf(stderr, "capriccio: no telemetry tables for worker %u\n", (unsigned)w->id);
		free(tw);
		free(T);
		return;
	}
	T->ref0 = CAP_REF(wid, 0);
	T->quantum_ticks = S.quantum_ticks; /* 0 until the thread has calibrated: it fills it in then */
	tw->w = w;
	tw->T = T;
	tw->tid = gettid();
	atomic_store_explicit(&cap__tel_tables[wid], T, memory_order_release);
	atomic_store_explicit(&cap__reg[wid], tw, memory_order_release);
	w->tel = T;
	if (wid > 0) /* worker 0's starts once the telemetry thread does */
		cap__start_sampler(tw->tid);
}
