/* A stdio stream's lock among user threads (stdio_lock.c).
 *
 * glibc's own FILE lock is recursive per kernel thread (its owner is the
 * thread pointer), and every user thread on a worker shares the worker's:
 * to glibc they are all one owner.  That is harmless while no operation on
 * a stream parks half-way, but the runtime's stdio layer does park (to wait
 * for a pipe, a socket or a terminal), and flockfile() regions span
 * blocking calls.  So user threads exclude each other here, recursively
 * per user thread, and park on each other rather than on a futex.
 *
 * An operation enters the stream (waiting while another thread holds it)
 * and, only before it may park, holds it; a stream nobody holds costs one
 * load of cap__files_held. */
#ifndef CAP_STDIO_LOCK_H
#define CAP_STDIO_LOCK_H

#include "internal.h"
#include "mn.h"

struct cap_file_hold {
	const void *file;
	bool took; /* this operation owns the lock and releases it in leave */
};

extern uint32_t cap__files_held; /* streams some user thread holds (a hint, read without cap__mn.lock) */

void cap__file_wait(struct cap_file_hold *h);
/* The operation is about to park: from now on the stream is its thread's.
 * true: it had to wait for another thread first. */
bool cap__file_hold(struct cap_file_hold *h);

/* Wait while another user thread holds `file`.  Returns true when it had
 * to wait (then the operation owns the lock: anything it looked at before
 * may have changed). */
static inline bool cap__file_enter(struct cap_file_hold *h, const void *file)
{
	h->file = file;
	h->took = false;
	if (CAP_LIKELY(cap__files_held == 0))
		return false;
	cap__file_wait(h);
	return h->took;
}

void cap__file_release(struct cap_file_hold *h);
static inline void cap__file_leave(struct cap_file_hold *h)
{
	if (CAP_UNLIKELY(h->took))
		cap__file_release(h);
}

/* flockfile / ftrylockfile (0, or -EBUSY when another thread holds it) /
 * funlockfile, for user threads. */
int cap__file_lock(const void *file, bool try);
void cap__file_unlock(const void *file);

#endif
