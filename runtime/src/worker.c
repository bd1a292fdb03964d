/* A worker: a kernel thread that runs user threads.  cap__worker_init
 * builds its context from the modules' (ctx.h), in the order they depend
 * on each other; cap__worker_run is its loop, which runs threads and, when
 * none is runnable here, looks for work on the others or waits for it
 * (mn.c). */
#include "internal.h"
#include "disk.h"
#include "io.h"
#include "mn.h"

#include <signal.h>

/* Worker 0's storage: the kernel thread that ran main() (mn_sys.c
 * allocates the others). */
static struct cap_worker cap__worker0;

struct cap_worker *cap__worker_first(void) { return &cap__worker0; }

/* The scheduler's own context: the kernel thread's stack and signal mask,
 * before anything can run or be interrupted. */
void cap__worker_init_sched(struct cap_worker *w)
{
	w->errno_ptr = cap__errno(); /* this kernel thread's own: no worker yet */
	w->sched.state = CAP_RUNNING;
	w->sched.stack_kind = CAP_STACK_KIND_KERNEL;
	/* Our chunks keep signals off them (handlers run on an alternate
	 * stack), so __morestack need not block signals around each split:
	 * libgcc's flag is per kernel thread, so each worker sets it. */
	__morestack_initial_sp.dont_block_signals = 1;
	w->sched.ss.initial_sp = __morestack_initial_sp.sp;
	w->sched.ss.initial_len = __morestack_initial_sp.len;
	w->sched.owner = w;
	w->current = &w->sched;
	w->sig.efd = -1;
	w->disk.efd = -1;
	w->sig.idle_kmask = ~0ull; /* not idle yet */
	cap_sys4(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &w->kmask, 8); /* main's mask to begin with */
	w->sched.sigmask = w->kmask;
}

/* The modules' contexts, once the process is set up (main.c). */
void cap__worker_init(struct cap_worker *w)
{
	cap__sig_altstack_init(w);
	cap__sysstack_init(w);
	cap__sysfn[CAP_SYSFN_TLS_INIT](w); /* before the first thread: its copy's size */
	cap__mn.workers[w->id] = w;
	if (w->id == 0) {
		int e = cap__io_init(w);
		if (e < 0)
			cap__fatal_misuse("capriccio: cannot create the epoll instance");
	} else {
		w->io.epfd = cap__mn.workers[0]->io.epfd; /* the process's one instance (mn.h: Netpoller) */
	}
	cap__w = w;
	cap__signals_init(w);
	if (w->id == 0)
		cap__mn_kick_init();
	w->stats.start_ns = cap__mono_ns();
}

/* Returns when no user thread is left (the deadlock report ends the
 * process itself). */
void cap__worker_run(struct cap_worker *w)
{
	while (!atomic_load_explicit(&cap__mn.exiting, memory_order_relaxed)) {
		if (CAP_UNLIKELY(atomic_load_explicit(&w->sig.ran, memory_order_relaxed))) {
			cap__mn_lock();
			cap__signals_deliver(w); /* a handler ran while it was parked */
			cap__mn_unlock(w);
		}
		if (!cap__sched_run_one(w))
			cap__mn_idle(w);
	}
}
