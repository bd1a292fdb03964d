/* Two programs timed in turns, for a ratio that this machine's drift does
 * not decide (bench:runtime's telemetry_on_vs_off).
 *
 * On this 2-core VM the cost of the same work swings up to 2x within
 * seconds: the socket ping-pong ran at 478k msgs/s in one run and 877k in
 * the next (the host's other tenants; the guest sees no steal time).  Two
 * runs one after the other, even back to back, often fall in different
 * spells: ratios of the same binary with and without telemetry ranged from
 * 0.67 to 1.03 over 16 pairs of 0.5 s runs.
 *
 * So both run at once and take turns: each is stopped (SIGSTOP) while the
 * other runs for `turn_ms`, and its time is the sum of its turns, from its
 * SIGCONT to its confirmed stop or its exit.  Both see the same spells,
 * slice by slice, and neither competes with the other for a core.  The
 * same pairs then ranged from 0.952 to 0.965. */
#ifndef BENCH_TURNS_H
#define BENCH_TURNS_H

#include <stdbool.h>

struct turns_program {
	char *const *argv; /* argv[0]: the path */
	char *const *envp;
};

/* Runs a and b to their ends in turns of turn_ms, their output to
 * /dev/null; their times in seconds.
 * false (with a message on stderr): one could not start, did not exit 0,
 * or was killed. */
bool turns_run(const struct turns_program *a, const struct turns_program *b, unsigned turn_ms, double *a_s,
	       double *b_s);

#endif
