/* A worker: the kernel thread that runs user threads.  cap__worker_init
 * builds its context from the modules' (ctx.h), in the order they depend
 * on each other; cap__worker_run is its loop, which runs threads and, when
 * none is runnable, waits in epoll for I/O, timers and completions. */
#include "internal.h"
#include "disk.h"

#include <signal.h>

/* The one worker's storage, process-wide until issue 14 makes N of them. */
static struct cap_worker cap__worker0;

struct cap_worker *cap__worker_first(void) { return &cap__worker0; }

/* The scheduler's own context: the kernel thread's stack and signal mask,
 * before anything can run or be interrupted. */
void cap__worker_init_sched(struct cap_worker *w)
{
	w->errno_ptr = cap__errno(); /* this kernel thread's own: no worker yet */
	w->sched.state = CAP_RUNNING;
	w->sched.stack_kind = CAP_STACK_KIND_KERNEL;
	w->sched.ss.initial_sp = __morestack_initial_sp.sp;
	w->sched.ss.initial_len = __morestack_initial_sp.len;
	w->sched.owner = w;
	w->current = &w->sched;
	w->sig.efd = -1;
	w->disk.efd = -1;
	cap_sys4(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &w->kmask, 8); /* main's mask to begin with */
	w->sched.sigmask = w->kmask;
}

/* The modules' contexts, once the process is set up (main.c). */
void cap__worker_init(struct cap_worker *w)
{
	cap__sig_altstack_init(w);
	cap__sysstack_init(w);
	cap__sysfn[CAP_SYSFN_TLS_INIT](w); /* before the first thread: its copy's size */
	int e = cap__io_init(w);
	if (e < 0)
		cap__fatal_misuse("capriccio: cannot create the epoll instance");
	cap__w = w;
	cap__signals_init(w);
	w->stats.start_ns = cap__mono_ns();
}

/* Returns when no user thread is left, or none can ever run again (the
 * deadlock report has been printed then). */
void cap__worker_run(struct cap_worker *w)
{
	for (;;) {
		if (cap__sched_run_one(w))
			continue;
		if (w->nthreads == 0)
			return;
		if (!w->io.waiters && !w->timers.n && !w->inflight) {
			cap__on_sysstack(CAP_SYSFN_DEADLOCK, w);
			return;
		}
		int64_t timeout = -1;
		uint64_t next = cap__timer_next(w);
		if (next) {
			uint64_t now = cap__mono_ns();
			timeout = next > now ? (int64_t)(next - now) : 0;
		}
		if (CAP_UNLIKELY(w->disk.sq_waiting) && (timeout < 0 || timeout > 1000000)) {
			timeout = 1000000;
			cap__disk_complete(w);
		}
		if (timeout != 0) { /* parked: the profiler's utilisation */
			cap__worker_park_begin(w, cap__mono_ns());
			cap__io_poll(w, timeout);
			cap__worker_park_end(w, cap__mono_ns());
		} else if (w->io.waiters || w->inflight) {
			cap__io_poll(w, timeout);
		}
		if (w->timers.n)
			cap__timer_release_due(w, cap__mono_ns());
	}
}
