/* The public types' layout is ABI (capriccio.h, "Layout"): programs built
 * against one header run with the runtime built from another, so each size
 * and offset is pinned here, and a change to one fails the build instead of
 * corrupting objects in programs already compiled.  Changing a pin is an ABI
 * break (the lock words were added, before M:N, to avoid the next one).
 * The fits of cap_rwlock_t and
 * cap_sem_t in glibc's types, and the shim's own layouts, are pinned next
 * to the shim (posix_thread.c). */
#include "capriccio.h"

#include <stddef.h>

#define CAP_PIN_SIZE(type, bytes) _Static_assert(sizeof(type) == (bytes), #type " is " #bytes " bytes (ABI)")
#define CAP_PIN_AT(type, field, at) \
	_Static_assert(offsetof(type, field) == (at), #type "." #field " is at " #at " (ABI)")

CAP_PIN_SIZE(cap_spawn_opts_t, 24);
CAP_PIN_AT(cap_spawn_opts_t, name, 0);
CAP_PIN_AT(cap_spawn_opts_t, stack_size, 8);
CAP_PIN_AT(cap_spawn_opts_t, stack_mode, 16);
CAP_PIN_AT(cap_spawn_opts_t, detached, 20);

CAP_PIN_SIZE(cap_waitq_t, 16);
CAP_PIN_AT(cap_waitq_t, head, 0);
CAP_PIN_AT(cap_waitq_t, tail, 8);

CAP_PIN_SIZE(cap_mutex_t, 32);
CAP_PIN_AT(cap_mutex_t, owner, 0);
CAP_PIN_AT(cap_mutex_t, lock, 8);
CAP_PIN_AT(cap_mutex_t, prof, 12);
CAP_PIN_AT(cap_mutex_t, waiters, 16);

CAP_PIN_SIZE(cap_cond_t, 24);
CAP_PIN_AT(cap_cond_t, waiters, 0);
CAP_PIN_AT(cap_cond_t, lock, 16);
CAP_PIN_AT(cap_cond_t, spare, 20);

CAP_PIN_SIZE(cap_sem_t, 32);
CAP_PIN_AT(cap_sem_t, count, 0);
CAP_PIN_AT(cap_sem_t, waiters, 8);
CAP_PIN_AT(cap_sem_t, lock, 24);
CAP_PIN_AT(cap_sem_t, prof, 28);

CAP_PIN_SIZE(cap_rwlock_t, 56);
CAP_PIN_AT(cap_rwlock_t, readers, 0);
CAP_PIN_AT(cap_rwlock_t, writers_waiting, 4);
CAP_PIN_AT(cap_rwlock_t, writer, 8);
CAP_PIN_AT(cap_rwlock_t, rq, 16);
CAP_PIN_AT(cap_rwlock_t, wq, 32);
CAP_PIN_AT(cap_rwlock_t, prof, 48);
CAP_PIN_AT(cap_rwlock_t, lock, 52);

CAP_PIN_SIZE(cap_chan_t, 72);
CAP_PIN_AT(cap_chan_t, ring, 0);
CAP_PIN_AT(cap_chan_t, capacity, 8);
CAP_PIN_AT(cap_chan_t, head, 16);
CAP_PIN_AT(cap_chan_t, count, 24);
CAP_PIN_AT(cap_chan_t, closed, 32);
CAP_PIN_AT(cap_chan_t, lock, 36);
CAP_PIN_AT(cap_chan_t, senders, 40);
CAP_PIN_AT(cap_chan_t, receivers, 56);

CAP_PIN_SIZE(cap_info_t, 72);
CAP_PIN_AT(cap_info_t, disk_backend, 0);
CAP_PIN_AT(cap_info_t, stack_mode, 8);
CAP_PIN_AT(cap_info_t, first_chunk_bytes, 16);
CAP_PIN_AT(cap_info_t, fixed_stack_bytes, 24);
CAP_PIN_AT(cap_info_t, threads, 32);
CAP_PIN_AT(cap_info_t, runnable, 40);
CAP_PIN_AT(cap_info_t, sleeping, 48);
CAP_PIN_AT(cap_info_t, io_waiting, 56);
CAP_PIN_AT(cap_info_t, switches, 64);
