/* cap_get_info: what the runtime is configured with and doing now. */
#include "internal.h"
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
	out->runnable = w ? cap__runq_len(w) : 0;
	out->sleeping = w ? cap__mn.timers.n : 0;
	out->io_waiting = w ? cap__mn.io_waiters : 0;
	out->switches = w ? w->switches : 0;
}
