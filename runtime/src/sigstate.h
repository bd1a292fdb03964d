/* Signals the program handles, shared by signal_sys.c (the handlers) and
 * signal.c (turning them into EINTR for a parked thread). */
#ifndef CAP_SIGSTATE_H
#define CAP_SIGSTATE_H
#include <signal.h>
#include <stdatomic.h>

#define CAP_SIG_INTR 1       /* a handler without SA_RESTART ran */
#define CAP_SIG_INTR_POLL 2  /* any handler ran: poll/select/sleep see EINTR */

extern atomic_int cap__sig_pending;           /* CAP_SIG_* bits */
extern struct cap_thread *_Atomic cap__sig_target; /* pthread_kill target, else main */
/* The wait a handler ran during: the thread the kernel would have picked,
 * if it was parked then, and the number of that wait (its nblocks).  Only
 * that wait is interrupted, never one the thread began afterwards. */
extern struct cap_thread *_Atomic cap__sig_waiter;
extern _Atomic uint32_t cap__sig_wait;
extern int cap__sig_efd;
extern volatile int cap__in_handler; /* > 0 while a program's handler runs */
#endif
