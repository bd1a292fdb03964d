/* fork(): the child keeps every user thread, on one worker. */
#include "internal.h"
#include "mn.h"
#include "runq.h"
#include "telemetry.h"
#include "disk.h"
#include "stackmem.h"

#include <signal.h>

/* The shared locks are taken across fork(), so that the child's copies are
 * consistent: no other worker is halfway through what they guard. */
void cap__before_fork(void)
{
	if (!cap__w)
		return;
	cap__mn_lock();
	cap__lock_take(&cap__mn.inject_lock);
	cap__lock_take(&cap__mn.res_lock);
	cap__lock_take(&cap__mn.idle_lock);
	cap__stackmem_lock();
}

void cap__after_fork_parent(void)
{
	if (!cap__w)
		return;
	cap__stackmem_unlock();
	cap__lock_give(&cap__mn.idle_lock);
	cap__lock_give(&cap__mn.res_lock);
	cap__lock_give(&cap__mn.inject_lock);
	cap__mn_unlock(cap__w);
}

/* Run by fork() in the child (pthread_atfork): the child keeps every user
 * thread but those that were running on the other workers (their
 * registers stayed with the parent, as POSIX keeps only the forking
 * thread), and the kernel objects the runtime waits on were the parent's.
 * The forking worker becomes worker 0, the only one (mn.h: fork); the
 * others' queued threads move to the injection queue, where it finds them. */
void cap__after_fork_child(void)
{
	struct cap_worker *w = cap__w;
	if (!w)
		return;
	for (uint32_t i = 0; i < cap__mn.n; i++) {
		struct cap_worker *v = cap__mn.workers[i];
		struct cap_thread *t;
		if (v == w)
			continue;
		struct cap_fifo moved = { NULL, NULL, 0 };
		if ((t = cap__next_thread(atomic_load(&v->runq.next))))
			cap__fifo_push(&moved, t);
		while ((t = cap__ring_get(&v->runq.ring)))
			cap__fifo_push(&moved, t);
		cap__fifo_concat(&moved, &v->runq.bound);
		for (t = moved.head; t; t = t->next)
			t->owner = w;
		cap__fifo_concat(&cap__mn.inject, &moved);
	}
	for (struct cap_thread *t = cap__mn.all, *next; t; t = next) {
		next = t->all_next;
		t->owner = w; /* bound ones too: the only worker */
		if (t->state == CAP_RUNNING && t != w->current) /* ran on another worker: not in the child */
			cap__unlink_all(t);
	}
	for (uint32_t i = 0; i < cap__mn.n; i++) {
		struct cap_worker *v = cap__mn.workers[i];
		cap__fifo_concat(&cap__mn.inject, &v->inbox);
		atomic_store(&v->ninbox, 0);
		v->inbox_lock.v = 0;
	}
	atomic_store(&cap__mn.ninject, cap__mn.inject.len);
	cap__mn.workers[0] = w;
	cap__mn.n = 1;
	cap__mn.idle = NULL;
	atomic_store(&cap__mn.nidle, 0);
	atomic_store(&cap__mn.nspinning, 0);
	atomic_store(&cap__mn.poller, 0);
	atomic_store(&cap__mn.kicked, 0);
	cap__mn.kick_fd = -1; /* the parent's: shared */
	w->idle = false;
	if (w->id != 0) { /* its kernel thread blocked every signal: now it takes them */
		w->id = 0;
		cap_sys4(SYS_rt_sigprocmask, SIG_SETMASK, &w->kmask, NULL, 8);
	}
	cap__stackmem_unlock();
	cap__lock_give(&cap__mn.idle_lock);
	cap__lock_give(&cap__mn.res_lock);
	cap__lock_give(&cap__mn.inject_lock);
	cap__lock_give(&cap__mn.lock);
	cap__io_after_fork(w);
	cap__signals_init(w);
	cap__mn_kick_init();
	cap__disk_after_fork();
	cap__on_sysstack(CAP_SYSFN_POOL_FORGET, NULL); /* its helper threads stayed with the parent */
	w->tel = NULL; /* the telemetry thread stayed with the parent */
}
