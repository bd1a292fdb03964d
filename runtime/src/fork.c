/* fork(): the child keeps every user thread, on one worker. */
#include "internal.h"
#include "mn.h"
#include "telemetry.h"
#include "disk.h"

/* Run by fork() in the child (pthread_atfork): the child keeps every user
 * thread, but the kernel objects the runtime waits on were the parent's. */
void cap__after_fork_child(void)
{
	struct cap_worker *w = cap__w;
	if (!w)
		return;
	cap__io_after_fork(w);
	cap__signals_init(w);
	cap__disk_after_fork();
	cap__on_sysstack(CAP_SYSFN_POOL_FORGET, NULL); /* its helper threads stayed with the parent */
	w->tel = NULL; /* the telemetry thread stayed with the parent */
	cap__nworkers = 1; /* the other workers' kernel threads did too (mn.h: fork) */
}
