/* The runtime's own lock for state that workers share (mn.h): a word the
 * holder keeps for a few hundred instructions at most, never across a
 * switch except as the handoff cap__block makes (released by the next
 * context on the same worker, once the blocked thread's registers are
 * saved).  Drepper's three-state futex mutex ("Futexes Are Tricky"):
 * spin briefly, then sleep in the kernel, so that a holder preempted by
 * the kernel (a loaded machine) costs the others a futex wait rather
 * than a spinning core.  Owner-less: any context on any worker may
 * release it. */
#ifndef CAP_LOCK_H
#define CAP_LOCK_H

#include "sys.h"
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct cap_lock {
	_Atomic uint32_t v; /* 0 free, 1 held, 2 held and someone may sleep on it */
};

static inline void cap__lock_sleep(struct cap_lock *l)
{
	for (int i = 0; i < 200; i++) {
		uint32_t z = 0;
		if (atomic_load_explicit(&l->v, memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_weak_explicit(&l->v, &z, 1, memory_order_acquire, memory_order_relaxed))
			return;
		__builtin_ia32_pause();
	}
	while (atomic_exchange_explicit(&l->v, 2, memory_order_acquire) != 0)
		cap_sys6(SYS_futex, (long)&l->v, FUTEX_WAIT_PRIVATE, 2, 0, 0, 0);
}

static inline void cap__lock_take(struct cap_lock *l)
{
	uint32_t z = 0;
	if (__builtin_expect(!atomic_compare_exchange_strong_explicit(&l->v, &z, 1, memory_order_acquire,
								      memory_order_relaxed), 0))
		cap__lock_sleep(l);
}

static inline void cap__lock_give(struct cap_lock *l)
{
	if (__builtin_expect(atomic_exchange_explicit(&l->v, 0, memory_order_release) == 2, 0))
		cap_sys6(SYS_futex, (long)&l->v, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
}

#endif
