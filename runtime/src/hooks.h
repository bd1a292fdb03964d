/* The observers of the scheduler's events: telemetry (graph.c) and the
 * resource-aware policy (policy.c).  Each hook calls whichever is on; both
 * tests are inline and predicted not taken, so a switch with both off pays
 * two loads and two branches.  The scheduler (sched.c) calls only these. */
#ifndef CAP_HOOKS_H
#define CAP_HOOKS_H

#include "internal.h"
#include "telemetry.h"

/* t stops running at a blocking point (a wait reason, or CAP_KIND_YIELD);
 * `prep`: the point cap__graph_prepare found before the wait lock was
 * taken (telemetry.h), NULL: none, found here.
 * The policy's walk starts at the blocking function's frame: this hook's
 * own frame address, as it is always inlined into that function.  Taken
 * here rather than passed in, gcc reads it from %rbp where it is used, not
 * keeping a copy in a saved register across the telemetry call (4
 * instructions per yield). */
static inline __attribute__((always_inline)) void cap__hook_block(struct cap_worker *w, struct cap_thread *t, int kind,
								  const struct cap_graph_prep *prep)
{
	struct cap_telemetry *T = w->tel;
	if (T && prep)
		cap__graph_commit(T, t, kind, prep);
	else if (T)
		cap__graph_block(T, t, kind);
	if (CAP_UNLIKELY(cap__policy))
		cap__policy_block(t, __builtin_frame_address(0));
}

/* t runs again after the block of the same kind. */
static inline __attribute__((always_inline)) void cap__hook_resumed(struct cap_worker *w, struct cap_thread *t, int kind)
{
	if (CAP_UNLIKELY(cap__policy))
		cap__policy_resumed(t);
	struct cap_telemetry *T = w->tel;
	if (T)
		cap__graph_resumed(T, t, kind);
}

/* t, blocked, was made runnable by a thread on w. */
static inline void cap__hook_woken(struct cap_worker *w, struct cap_thread *t)
{
	struct cap_telemetry *T = w->tel;
	if (T) {
		/* Runnable from now on, no longer counted as blocked: on the
		 * waker's worker, a delta (telemetry.h). */
		uint64_t now = T->wake_stamp ? T->wake_stamp : cap__ticks(), blocked = t->t_wait;
		t->t_wait = CAP_T_WOKEN | (now > blocked ? now - blocked : 0);
		T->blocked[t->reason & 15]--;
		if (CAP_UNLIKELY(T->wake_site))
			cap__graph_woken(T, w->current, t);
	}
}

/* t yielded with nobody else to run: its run, as the sampler measures it,
 * starts again here. */
static inline void cap__hook_run_restarts(struct cap_worker *w, struct cap_thread *t)
{
	if (w->tel)
		t->t_run = cap__ticks();
}

static inline void cap__hook_spawned(struct cap_worker *w, struct cap_thread *t)
{
	struct cap_telemetry *T = w->tel;
	if (T)
		cap__graph_spawned(T, t);
	if (CAP_UNLIKELY(cap__policy))
		cap__policy_spawned(t);
}

static inline void cap__hook_finished(struct cap_worker *w, struct cap_thread *t)
{
	struct cap_telemetry *T = w->tel;
	if (T)
		cap__graph_finished(T, t);
	if (CAP_UNLIKELY(cap__policy))
		cap__policy_exited(t);
}

#endif
