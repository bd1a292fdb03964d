/* cap_get_info: what the runtime is configured with and doing now. */
#include "internal.h"
#include "mn.h"
#include "runq.h"

void cap_get_info(cap_info_t *out)
{
	struct cap_worker *w = cap__w;
	extern const char *cap__disk_backend_name(void);
	extern size_t cap__default_chunk, cap__default_fixed;
	out->disk_backend = cap__disk_backend_name();
	out->stack_mode = cap__stack_mode_name();
	out->first_chunk_bytes = cap__default_chunk;
	out->fixed_stack_bytes = cap__default_fixed;
	out->threads = w ? cap__mn.nthreads : 0;
	out->sleeping = w ? cap__mn.timers.n : 0;
	out->io_waiting = w ? cap__mn.io_waiters : 0;
	out->runnable = out->switches = 0;
	for (uint32_t i = 0; w && i < cap__mn.n; i++) {
		const struct cap_worker *v = cap__mn.workers[i];
		if (!cap__policy || i == 0) /* the resource-aware queue is the process's */
			out->runnable += cap__runq_len(v);
		out->switches += v->switches;
	}
}

unsigned cap_workers(void) { return cap__mn.n; }

unsigned cap_worker_id(void)
{
	struct cap_worker *w = cap__w;
	return w ? w->id : 0;
}
