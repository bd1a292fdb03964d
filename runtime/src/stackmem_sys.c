/* The telemetry thread's measurement of stack memory (stackmem.h). */
#include "frames.h"
#include "stackmem.h"

struct cap_stackmem cap__stackmem;

uintptr_t cap__stackmem_end(uintptr_t addr)
{
	struct cap_stackmem_table *t = atomic_load_explicit(&cap__stackmem.t, memory_order_acquire);
	for (size_t i = 0; t && i < t->cap; i++) {
		uintptr_t a = atomic_load_explicit(&t->v[i].addr, memory_order_acquire);
		size_t len = atomic_load_explicit(&t->v[i].len, memory_order_relaxed);
		if (a && addr >= a && addr < a + len)
			return a + len;
	}
	return 0;
}

/* Reserved and resident bytes of every registered mapping, walked without
 * the lock (stackmem.h says what a race costs). */
void cap__stackmem_measure(struct cap_stack_mem *out)
{
	struct cap_stackmem_table *t = atomic_load_explicit(&cap__stackmem.t, memory_order_acquire);
	out->reserved_bytes = out->resident_bytes = 0;
	out->mappings = 0;
	for (size_t i = 0; t && i < t->cap; i++) {
		uintptr_t a = atomic_load_explicit(&t->v[i].addr, memory_order_acquire);
		if (!a)
			continue;
		size_t len = atomic_load_explicit(&t->v[i].len, memory_order_relaxed);
		out->reserved_bytes += len;
		out->resident_bytes += cap__resident_bytes(a, len);
		out->mappings++;
	}
}
