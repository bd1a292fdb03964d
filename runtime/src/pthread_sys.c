/* Storage for pthread keys, grown with malloc on the system stack. */
#include "internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

void cap__sys_grow_specific(void *arg)
{
	struct cap_thread *t = arg;
	uint32_t n = t->nspecific < 32 ? 32 : PTHREAD_KEYS_MAX;
	void **v = realloc(t->specific, n * sizeof(void *));
	if (!v)
		return;
	memset(v + t->nspecific, 0, (n - t->nspecific) * sizeof(void *));
	t->specific = v;
	t->nspecific = n;
}

void cap__sys_free_specific(void *arg)
{
	struct cap_thread *t = arg;
	free(t->specific);
	t->specific = NULL;
	t->nspecific = 0;
}
