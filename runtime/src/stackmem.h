/* The stack memory map (issue 15): every mapping that holds user threads'
 * stacks, so that what they cost can be measured as the kernel holds it
 * rather than inferred from sizes.  A 1 MiB chunk that gold demands for a
 * call into libc reserves a megabyte of address space but is resident only
 * where frames reached; only mincore(2) over the mappings tells the two
 * apart (stackmem_sys.c, from the telemetry thread, for the STACKS frame).
 *
 * Registered: the slabs first chunks are carved from, first chunks mapped
 * alone (large ones), fixed-mode stacks, and the chunks linked for splits
 * (chunks.h maps them, so that libgcc maps none).  All are mapped with
 * MAP_NORESERVE and marked MADV_NOHUGEPAGE: a transparent huge page would
 * make a stack that touched a few pages cost 2 MiB.  Both marks show in
 * /proc/PID/smaps ("nr", "nh"), which is how a test or a user checks these
 * figures against the kernel's (glibc marks its own thread stacks "nh"
 * too, but not "nr").
 *
 * An open-addressed table keyed by address.  Writers (a slab or a chunk is
 * mapped or unmapped: rare) take a spin lock, which never sleeps, since a
 * call out of line is more than the wrap's room; the reader walks the table
 * without it, so a measurement that races a change may see one mapping
 * twice or not at all.  Tables outgrown are never unmapped, so the reader
 * never touches freed memory.  All of it runs where a split is not allowed
 * (the wrap runs on a chunk's last few hundred bytes): inline, system calls
 * only. */
#ifndef CAP_STACKMEM_H
#define CAP_STACKMEM_H

#include "sys.h"
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>

struct cap_stackmem_slot {
	_Atomic uintptr_t addr; /* 0: empty */
	_Atomic size_t len;
};
struct cap_stackmem_table {
	size_t cap; /* a power of two */
	struct cap_stackmem_slot v[];
};
struct cap_stackmem {
	_Atomic uint32_t lock;
	size_t n;
	struct cap_stackmem_table *_Atomic t;
};
extern struct cap_stackmem cap__stackmem;

#define CAP_STACKMEM_FIRST 1024u

static inline __attribute__((always_inline)) void cap__stackmem_lock(void)
{
	uint32_t z;
	while (z = 0, !atomic_compare_exchange_weak_explicit(&cap__stackmem.lock, &z, 1, memory_order_acquire,
							     memory_order_relaxed))
		__builtin_ia32_pause();
}

static inline __attribute__((always_inline)) void cap__stackmem_unlock(void)
{
	atomic_store_explicit(&cap__stackmem.lock, 0, memory_order_release);
}

static inline __attribute__((always_inline)) size_t cap__stackmem_home(const struct cap_stackmem_table *t, uintptr_t addr)
{
	return (size_t)(((addr >> 12) * 0x9e3779b97f4a7c15ull) >> 20) & (t->cap - 1);
}

static inline __attribute__((always_inline)) void cap__stackmem_put(struct cap_stackmem_table *t, uintptr_t addr, size_t len)
{
	size_t i = cap__stackmem_home(t, addr);
	while (atomic_load_explicit(&t->v[i].addr, memory_order_relaxed) != 0)
		i = (i + 1) & (t->cap - 1);
	atomic_store_explicit(&t->v[i].len, len, memory_order_relaxed);
	atomic_store_explicit(&t->v[i].addr, addr, memory_order_release);
}

/* A table twice the size, filled from the old one, which stays mapped. */
static inline __attribute__((always_inline)) struct cap_stackmem_table *cap__stackmem_grow(struct cap_stackmem_table *old)
{
	size_t cap = old ? old->cap * 2 : CAP_STACKMEM_FIRST;
	long p = cap_sys6(SYS_mmap, 0, sizeof *old + cap * sizeof old->v[0], PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p < 0 && p > -4096)
		return NULL;
	struct cap_stackmem_table *t = (struct cap_stackmem_table *)p;
	t->cap = cap;
	for (size_t i = 0; old && i < old->cap; i++) {
		uintptr_t a = atomic_load_explicit(&old->v[i].addr, memory_order_relaxed);
		if (a)
			cap__stackmem_put(t, a, atomic_load_explicit(&old->v[i].len, memory_order_relaxed));
	}
	atomic_store_explicit(&cap__stackmem.t, t, memory_order_release);
	return t;
}

/* A stack mapping appeared: [addr, addr + len), page-aligned. */
static inline __attribute__((always_inline)) void cap__stackmem_add(void *addr, size_t len)
{
	cap_sys3(SYS_madvise, (long)addr, (long)len, MADV_NOHUGEPAGE);
	struct cap_stackmem *m = &cap__stackmem;
	cap__stackmem_lock();
	struct cap_stackmem_table *t = atomic_load_explicit(&m->t, memory_order_relaxed);
	if (!t || 2 * (m->n + 1) > t->cap)
		t = cap__stackmem_grow(t) ?: t;
	if (t && m->n + 1 < t->cap) {
		cap__stackmem_put(t, (uintptr_t)addr, len);
		m->n++;
	}
	cap__stackmem_unlock();
}

/* A stack mapping of `bytes` (rounded up to whole pages), made and
 * registered as all are; NULL when there is no memory for it. */
static inline __attribute__((always_inline)) void *cap__stackmem_map(size_t bytes, int extra)
{
	size_t len = (bytes + 4095) & ~(size_t)4095;
	long p = cap_sys6(SYS_mmap, 0, (long)len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | extra, -1, 0);
	if (p < 0 && p > -4096)
		return NULL;
	cap__stackmem_add((void *)p, len);
	return (void *)p;
}

/* The mapping at addr is about to go.  Deletion shifts later entries of the
 * probe run back into the hole, so no tombstones accumulate. */
static inline __attribute__((always_inline)) void cap__stackmem_del(void *addr)
{
	struct cap_stackmem *m = &cap__stackmem;
	cap__stackmem_lock();
	struct cap_stackmem_table *t = atomic_load_explicit(&m->t, memory_order_relaxed);
	size_t mask = t ? t->cap - 1 : 0, i = t ? cap__stackmem_home(t, (uintptr_t)addr) : 0;
	uintptr_t a;
	while (t && (a = atomic_load_explicit(&t->v[i].addr, memory_order_relaxed)) != 0) {
		if (a != (uintptr_t)addr) {
			i = (i + 1) & mask;
			continue;
		}
		for (size_t j = (i + 1) & mask;; j = (j + 1) & mask) {
			uintptr_t b = atomic_load_explicit(&t->v[j].addr, memory_order_relaxed);
			if (!b)
				break;
			size_t h = cap__stackmem_home(t, b);
			if (((j - h) & mask) < ((j - i) & mask))
				continue; /* its home lies after the hole: it stays */
			atomic_store_explicit(&t->v[i].len, atomic_load_explicit(&t->v[j].len, memory_order_relaxed),
					      memory_order_relaxed);
			atomic_store_explicit(&t->v[i].addr, b, memory_order_release);
			i = j;
		}
		atomic_store_explicit(&t->v[i].addr, 0, memory_order_release);
		m->n--;
		break;
	}
	cap__stackmem_unlock();
}

/* Bytes of [addr, addr + len) in memory now; 0 if it is no longer mapped. */
static inline __attribute__((always_inline)) size_t cap__resident_bytes(uintptr_t addr, size_t len)
{
	unsigned char vec[256];
	size_t n = 0;
	for (uintptr_t base = addr & ~(uintptr_t)4095, end = addr + len; base < end; base += sizeof vec * 4096ul) {
		size_t np = (end - base + 4095) / 4096;
		if (np > sizeof vec)
			np = sizeof vec;
		if (cap_sys3(SYS_mincore, (long)base, (long)(np * 4096), (long)vec) != 0)
			return n;
		for (size_t k = 0; k < np; k++)
			n += vec[k] & 1;
	}
	return n * 4096;
}

/* stackmem_sys.c, for the telemetry thread: the measurement of every
 * registered mapping, and the end of the one holding addr (0: none). */
struct cap_stack_mem;
void cap__stackmem_measure(struct cap_stack_mem *out);
uintptr_t cap__stackmem_end(uintptr_t addr);

#endif
