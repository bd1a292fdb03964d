/* Resource-aware scheduling (CAPRICCIO_SCHEDULER=resource-aware).
 *
 * FIFO while resources are plentiful.  When descriptors, memory or stack
 * bytes near their limit (CAP_PRESSURE_ON of it; off again below
 * CAP_PRESSURE_OFF), the run queue favours threads about to release the
 * scarce resource and holds back those about to take more, and accept()
 * admits new connections later.
 *
 * What "about to release" means is learned, as in Capriccio's blocking
 * graph: every thread's run between two blocking points is charged to the
 * point it started from, with the descriptors it opened minus those it
 * closed and the threads it started minus those that finished (threads are
 * what memory and stack bytes grow with).  A thread woken at a point whose
 * runs have, on average, released the scarce resource goes first; one at a
 * point whose runs took more goes last, but not for longer than
 * CAP_DEFER_MAX_NS.  Blocking points are named by the return addresses on
 * the stack when the thread blocked (a few frames, without symbols). */
#include "internal.h"
#include "telemetry.h"
#include "runq.h"

#include <errno.h>

#define CAP_PSITES 1024u           /* blocking points learned (power of two) */
#define CAP_PFRAMES 4u             /* return addresses naming a point */
#define CAP_LEARN_MIN 4u           /* runs before a point's average is trusted */
#define CAP_PRESSURE_ON 90         /* % of a limit */
#define CAP_PRESSURE_OFF 80
#define CAP_DEFER_MAX_NS 50000000ull  /* a held-back thread runs after 50 ms at most */
#define CAP_ADMIT_MAX_NS 200000000ull /* accept() waits 200 ms at most for room */
#define CAP_ADMIT_NAP_NS 1000000ull   /* while nothing else can run */

struct cap_psite {
	uint64_t key;
	int64_t fds, threads; /* sums over its runs */
	uint32_t runs;
};

/* Process-wide by design: the policy, the limits and what is in use are the
 * process's, and the blocking points learned are facts about the program
 * (a thread's psite indexes this table wherever it runs).  The counters are
 * statistics, changed by several workers at once (a lost update
 * only slows learning); what is in use is counted exactly (relaxed atomics).  The run queues are the
 * worker's (ctx.h: struct cap_runq_res). */
int cap__policy;
struct cap_policy_limits cap__limits;
int64_t cap__fds_delta;
static int32_t cap__threads_live;
static struct cap_psite cap__psites[CAP_PSITES];
static unsigned cap__pressure; /* bit per resource under pressure */
static uint64_t cap__pressure_checked;

enum { CAP_RES_FDS = 1, CAP_RES_MEMORY = 2, CAP_RES_STACK = 4 };

/* ---- Pressure ----------------------------------------------------------- */

static unsigned cap__level(uint64_t used, uint64_t limit, unsigned bit)
{
	if (!limit)
		return 0;
	unsigned pct = (unsigned)(used * 100 / limit);
	return pct >= CAP_PRESSURE_ON || ((cap__pressure & bit) && pct >= CAP_PRESSURE_OFF) ? bit : 0;
}

/* The runtime's own descriptors (epoll, eventfds, the io_uring ring) count
 * against the limit too; some are made on other kernel threads. */
static int64_t cap__fds_internal;
void cap__fds_runtime(int d) { __atomic_add_fetch(&cap__fds_internal, d, __ATOMIC_RELAXED); }

uint64_t cap__fds_open(void)
{
	int64_t n = (int64_t)cap__limits.fds_at_start + __atomic_load_n(&cap__fds_delta, __ATOMIC_RELAXED) +
		    __atomic_load_n(&cap__fds_internal, __ATOMIC_RELAXED);
	return n > 0 ? (uint64_t)n : 0;
}

/* Descriptors and stack bytes are counted as they change; the limits and
 * the memory in use are read again at most every millisecond. */
static void cap__check_pressure(struct cap_runq_res *q)
{
	uint64_t now = cap__mono_ns();
	if (now - cap__pressure_checked >= 1000000u) {
		cap__pressure_checked = now;
		cap__on_sysstack(CAP_SYSFN_POLICY_READ, &cap__limits);
	}
	unsigned was = cap__pressure;
	cap__pressure = cap__level(cap__fds_open(), cap__limits.fd_limit, CAP_RES_FDS) |
			cap__level(cap__limits.memory_bytes, cap__limits.memory_limit, CAP_RES_MEMORY) |
			cap__level(__atomic_load_n(&cap__stack_bytes, __ATOMIC_RELAXED), cap__limits.stack_limit, CAP_RES_STACK);
	if (was && !cap__pressure) /* held-back threads go back in line, in order */
		cap__fifo_concat(&q->normal, &q->held);
}

/* ---- Learning ----------------------------------------------------------- */

static uint32_t cap__psite_of(uint64_t key)
{
	uint32_t i = (uint32_t)cap__mix(key) & (CAP_PSITES - 1);
	for (uint32_t probes = 0; probes < 16; probes++, i = (i + 1) & (CAP_PSITES - 1)) {
		struct cap_psite *s = &cap__psites[i];
		if (s->key == key)
			return i + 1;
		if (!s->key) {
			s->key = key;
			return i + 1;
		}
	}
	return 0; /* table crowded: this point is not learned */
}

/* Charges the run that just ended to the point it started from. */
static void cap__learn(struct cap_thread *t, int64_t threads_extra)
{
	if (!t->psite)
		return;
	struct cap_psite *s = &cap__psites[t->psite - 1];
	s->fds += (int32_t)((int32_t)__atomic_load_n(&cap__fds_delta, __ATOMIC_RELAXED) - t->pol_fds);
	s->threads += (__atomic_load_n(&cap__threads_live, __ATOMIC_RELAXED) - t->pol_threads) + threads_extra;
	s->runs++;
}

void cap__policy_block(struct cap_thread *t, const void *block_frame)
{
	cap__learn(t, 0);
	uint64_t frames[CAP_PFRAMES];
	const uintptr_t *fp = block_frame;
	struct cap_unwind_regs r = { fp[1], (uintptr_t)(fp + 2), fp[0] };
	uint64_t memo = t->chunk_memo; /* graph.c keeps it the current chunk */
	uint32_t n = cap__unwind_walk(t, r, true, __morestack_segments, &memo, frames, CAP_PFRAMES, cap__unwind_fill, NULL);
	t->psite = n ? cap__psite_of(cap__hash_frames(frames, n) | 1) : 0;
}

void cap__policy_resumed(struct cap_thread *t)
{
	t->pol_fds = (int32_t)__atomic_load_n(&cap__fds_delta, __ATOMIC_RELAXED);
	t->pol_threads = __atomic_load_n(&cap__threads_live, __ATOMIC_RELAXED);
}

void cap__policy_spawned(struct cap_thread *t)
{
	__atomic_add_fetch(&cap__threads_live, 1, __ATOMIC_RELAXED);
	t->psite = 0;
	cap__policy_resumed(t);
}

void cap__policy_exited(struct cap_thread *t)
{
	cap__learn(t, -1); /* its last run ends by giving its stack back */
	__atomic_sub_fetch(&cap__threads_live, 1, __ATOMIC_RELAXED);
}

/* Whether runs from t's point take (+1), give back (-1) or leave alone (0)
 * what is scarce now. */
static int cap__tendency(const struct cap_thread *t)
{
	if (!t->psite || !cap__pressure)
		return 0;
	const struct cap_psite *s = &cap__psites[t->psite - 1];
	if (s->runs < CAP_LEARN_MIN)
		return 0;
	int64_t d = (cap__pressure & CAP_RES_FDS ? s->fds : 0) +
		    (cap__pressure & (CAP_RES_MEMORY | CAP_RES_STACK) ? s->threads : 0);
	/* More than one unit per five runs either way. */
	if (d * 5 > (int64_t)s->runs)
		return 1;
	if (d * 5 < -(int64_t)s->runs)
		return -1;
	return 0;
}

/* ---- The run queue under this policy ----------------------------------- */

void cap__res_push(struct cap_runq_res *q, struct cap_thread *t)
{
	cap__check_pressure(q);
	switch (cap__tendency(t)) {
	case -1:
		cap__fifo_push(&q->favoured, t);
		break;
	case 1:
		cap__res_hold(q, t);
		break;
	default:
		cap__fifo_push(&q->normal, t);
	}
}

void cap__res_hold(struct cap_runq_res *q, struct cap_thread *t)
{
	t->wake_ns = cap__mono_ns();
	cap__fifo_push(&q->held, t);
}

struct cap_thread *cap__res_pop(struct cap_runq_res *q)
{
	struct cap_thread *t = q->held.head;
	if (t && cap__mono_ns() - t->wake_ns > CAP_DEFER_MAX_NS)
		return cap__fifo_pop(&q->held);
	if ((t = cap__fifo_pop(&q->favoured)) || (t = cap__fifo_pop(&q->normal)))
		return t;
	return cap__fifo_pop(&q->held);
}

/* ---- Admission ---------------------------------------------------------- */

/* Before accept() takes a descriptor for new work: under pressure, let the
 * threads that can run go first, and while none can, give the blocked ones
 * a moment to finish and release. */
void cap__policy_admit(void)
{
	struct cap_worker *w = cap__w;
	struct cap_runq_res *q = &cap__mn.res;
	uint64_t start = cap__mono_ns();
	for (;;) {
		cap__lock_take(&cap__mn.res_lock);
		cap__check_pressure(q);
		bool runnable = q->favoured.head || q->normal.head;
		cap__lock_give(&cap__mn.res_lock);
		if (!cap__pressure || cap__mono_ns() - start > CAP_ADMIT_MAX_NS)
			return;
		if (runnable) {
			struct cap_thread *cur = w->current;
			cur->state = CAP_RUNNABLE;
			cur->wake_ns = start;
			w->post_push = cur; /* held back, once saved (cap__post_switch) */
			w->post_hold = true;
			w = cap__schedule(w, cur);
		} else if (cap__mn.nthreads > 1) {
			int saved = *cap__errno();
			cap_sleep_ns(CAP_ADMIT_NAP_NS);
			*cap__errno() = saved;
		} else {
			return;
		}
	}
}
