/* The system-stack entry points (see enum cap_sysfn in internal.h). */
#include "disk.h"
#include "telemetry.h"
#include "pool.h"
#include "tls.h"
#include "proc.h"
#include "mn.h"
#include "resolver.h"

#include <dlfcn.h>
#include "unwind.h"

void cap__sys_init(void *arg);
void cap__sys_print(void *msg);
void cap__sys_report_deadlock(void *w);
void cap__sys_report_overflow(void *t);
void cap__sys_grow_specific(void *t);
void cap__sys_free_specific(void *t);
void cap__sys_report_config(void *w);
void cap__policy_read_sys(void *limits);

extern void *__morestack_release_segments(struct cap_libgcc_segment **pp, int free_dynamic);

/* Give back the chunks libgcc linked for a thread whose stack is freed. */
static void cap__sys_release_chain(void *t)
{
	__morestack_release_segments(&((struct cap_thread *)t)->ss.segments, 1);
}

void (*const cap__sysfn[CAP_SYSFN_COUNT])(void *) = {
	[CAP_SYSFN_INIT] = cap__sys_init,
	[CAP_SYSFN_PRINT] = cap__sys_print,
	[CAP_SYSFN_DEADLOCK] = cap__sys_report_deadlock,
	[CAP_SYSFN_OVERFLOW] = cap__sys_report_overflow,
	[CAP_SYSFN_RELEASE_CHAIN] = cap__sys_release_chain,
	[CAP_SYSFN_DISK_SETUP] = cap__disk_setup_sys,
	[CAP_SYSFN_DISK_SUBMIT] = cap__disk_submit_sys,
	[CAP_SYSFN_DISK_REAP] = cap__disk_reap_sys,
	[CAP_SYSFN_GROW_SPECIFIC] = cap__sys_grow_specific,
	[CAP_SYSFN_FREE_SPECIFIC] = cap__sys_free_specific,
	[CAP_SYSFN_REPORT_CONFIG] = cap__sys_report_config,
	[CAP_SYSFN_DISK_FORGET] = cap__disk_forget_sys,
	[CAP_SYSFN_TELEMETRY] = cap__telemetry_start_sys,
	[CAP_SYSFN_POOL_START] = cap__pool_start_sys,
	[CAP_SYSFN_POOL_SUBMIT] = cap__pool_submit_sys,
	[CAP_SYSFN_POOL_REAP] = cap__pool_reap_sys,
	[CAP_SYSFN_POOL_FORGET] = cap__pool_forget_sys,
	[CAP_SYSFN_POLICY_READ] = cap__policy_read_sys,
	[CAP_SYSFN_TLS_INIT] = cap__tls_init_sys,
	[CAP_SYSFN_APPLY_LOCALE] = cap__apply_locale_sys,
	[CAP_SYSFN_LIBC_TSD_FREE] = cap__libc_tsd_free_sys,
	[CAP_SYSFN_POOL_INTERRUPT] = cap__pool_interrupt_sys,
	[CAP_SYSFN_SYSTEM_START] = cap__system_start_sys,
	[CAP_SYSFN_SYSTEM_END] = cap__system_end_sys,
	[CAP_SYSFN_POPEN] = cap__popen_sys,
	[CAP_SYSFN_PCLOSE] = cap__pclose_sys,
	[CAP_SYSFN_RESOLVE_PREPARE] = cap__resolve_prepare_sys,
	[CAP_SYSFN_RESOLVE] = cap__resolve_sys,
	[CAP_SYSFN_UNWIND] = cap__unwind_fill_sys,
	[CAP_SYSFN_MN_START] = cap__mn_start,
};

void *cap__libc_next(void **slot, const char *name)
{
	void *f = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
	if (!f) {
		f = dlsym(RTLD_NEXT, name);
		__atomic_store_n(slot, f, __ATOMIC_RELEASE);
	}
	return f;
}
