/* Signals the program handles, shared by signal_sys.c (the handlers) and
 * signal.c (turning them into EINTR for a parked thread). */
#ifndef CAP_SIGSTATE_H
#define CAP_SIGSTATE_H
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define CAP_SIG_INTR 1       /* a handler without SA_RESTART ran */
#define CAP_SIG_INTR_POLL 2  /* any handler ran: poll/select/sleep see EINTR */

extern struct cap_thread *_Atomic cap__sig_target; /* pthread_kill target, else main */
/* The thread the last handler ran for (its intr_seen and intr_bits say
 * during which wait, and which kind of handler). */
extern struct cap_thread *_Atomic cap__sig_waiter;
extern int cap__sig_efd;
extern volatile int cap__in_handler; /* > 0 while a program's handler runs */

/* signal.c, for a call that parks more than once: cap__intr_begin marks
 * its start; cap__intr_since says (once) whether a handler with any of
 * `bits` ran for the calling thread since — while the call ran or between
 * its waits, where no wait was there to interrupt. */
uint32_t cap__intr_begin(void);
bool cap__intr_since(uint32_t epoch, int bits);
#endif
