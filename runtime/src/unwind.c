/* The worker's side of the unwind-rule cache (unwind.h): a rule it has not
 * seen is read from the unwind tables on the system stack, which caches it. */
#include "unwind.h"

struct cap_unwind_rule cap__unwind_fill(uint64_t key)
{
	struct cap_unwind_slot q = { key, { 0, 0, 0, CAP_UNWIND_STOP } };
	cap__on_sysstack(CAP_SYSFN_UNWIND, &q);
	return q.rule;
}
