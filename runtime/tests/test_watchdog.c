/* The telemetry thread of an idle program (src/telemetry_sys.c): while
 * every worker is parked its stall watchdog dozes, waking for snapshots
 * only, and a worker that stops waiting wakes it, so that a stall starting
 * right after an idle spell is still seen.  Telemetry is on only with a
 * socket: the test runs itself again with one to listen on, and with
 * snapshots a long interval apart, so that only that wake can reveal the
 * stall in time. */
#define _GNU_SOURCE
#include "tap.h"
#include "pingpong.h"
#include "telemetry.h"

#include <capriccio.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INTERVAL_MS "5000"

/* Voluntary context switches of one of the process's kernel threads: how
 * often it went to sleep, whatever else the machine is doing. */
static unsigned long sleeps_of(const char *tid)
{
	char path[300], line[128];
	snprintf(path, sizeof path, "/proc/self/task/%s/status", tid);
	FILE *f = fopen(path, "r");
	unsigned long v, n = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "voluntary_ctxt_switches: %lu", &v) == 1)
			n = v;
	if (f)
		fclose(f);
	return n;
}

/* The telemetry thread, named so (what `top -H` and perf show). */
static bool is_telemetry(const char *tid)
{
	char path[300], line[128];
	snprintf(path, sizeof path, "/proc/self/task/%s/comm", tid);
	FILE *f = fopen(path, "r");
	bool telemetry = f && fgets(line, sizeof line, f) && strcmp(line, "cap-telemetry\n") == 0;
	if (f)
		fclose(f);
	return telemetry;
}

/* ... of all of them, or of the telemetry thread only (ULONG_MAX when no
 * thread has its name). */
static unsigned long sleeps(bool telemetry_only)
{
	unsigned long sum = 0;
	bool found = false;
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || (telemetry_only && !is_telemetry(e->d_name)))
			continue;
		found = true;
		sum += sleeps_of(e->d_name);
	}
	if (d)
		closedir(d);
	return found ? sum : ULONG_MAX;
}

/* Nothing runnable for 500 ms: the watchdog, which looks every 5 ms while
 * a worker runs, would sleep and wake a hundred times. */
static void an_idle_program_s_telemetry_thread_sleeps(void)
{
	cap_sleep_ns(200 * 1000 * 1000); /* the telemetry thread up and dozing */
	unsigned long before = sleeps(false);
	cap_sleep_ns(500 * 1000 * 1000);
	unsigned long n = sleeps(false) - before;
	printf("  idle for 500 ms with telemetry on: %lu sleeps of the process's kernel threads\n", n);
	CHECK(n < 25);
}

/* Threads switching all the time for 500 ms: no run can become a stall
 * before stall_ms (20) after it began, so the watchdog looks about that
 * often, 25 times, not every 5 ms (100).  More when the kernel keeps a
 * worker off its CPU past stall_ms (its run then looks long): up to 43
 * at 4 workers with both cores busy. */
static void a_busy_program_s_watchdog_looks_once_a_stall_could_be(void)
{
	pingpong_start(2000 * 1000 * 1000); /* pairs of threads passing a token (pingpong.h) */
	cap_sleep_ns(100 * 1000 * 1000);
	unsigned long before = sleeps(true);
	cap_sleep_ns(500 * 1000 * 1000);
	unsigned long after = sleeps(true), n = after - before;
	pingpong_stop();
	CHECK(after != ULONG_MAX); /* a thread named cap-telemetry */
	printf("  busy for 500 ms with telemetry on: the telemetry thread slept %lu times\n", n);
	CHECK(n >= 10 && n < 70);
}

/* The whole worker blocked in the kernel, as a call into a library that is
 * not Capriccio's would block it: not a call the runtime takes over. */
static void stall_ms(long ms)
{
	struct timespec d = { ms / 1000, (ms % 1000) * 1000000L };
	while (cap_sys2(SYS_nanosleep, &d, &d) == -EINTR)
		;
}

static uint64_t stalls_seen(void)
{
	uint64_t n = 0;
	for (uint32_t w = 0; w < CAP_WORKERS_MAX && cap__tel_tables[w]; w++) {
		const struct cap_telemetry *T = cap__tel_tables[w];
		for (uint32_t i = 0; i < atomic_load(&T->stalls.n); i++)
			n += T->stalls.v[i].count;
	}
	return n;
}

/* Each idle spell ends in a stall of 200 ms, seen within the 20 ms it
 * takes to count as one and a look of the watchdog, while the next
 * snapshot would be seconds away. */
static void a_stall_right_after_an_idle_spell_is_seen(void)
{
	for (int i = 1; i <= 3; i++) {
		cap_sleep_ns(300 * 1000 * 1000);
		stall_ms(200);
		CHECK_EQ(stalls_seen(), (uint64_t)i);
	}
}

int main(int argc, char **argv)
{
	(void)argc;
	if (!getenv("CAPRICCIO_TELEMETRY_LISTEN")) {
		char path[64];
		snprintf(path, sizeof path, "/tmp/cap-test-watchdog-%d.sock", (int)getpid());
		setenv("CAPRICCIO_TELEMETRY_LISTEN", path, 1);
		setenv("CAPRICCIO_INTERVAL_MS", INTERVAL_MS, 1);
		execv("/proc/self/exe", argv);
		perror("execv");
		return 1;
	}
	RUN(an_idle_program_s_telemetry_thread_sleeps);
	RUN(a_stall_right_after_an_idle_spell_is_seen);
	RUN(a_busy_program_s_watchdog_looks_once_a_stall_could_be);
	unlink(getenv("CAPRICCIO_TELEMETRY_LISTEN"));
	TAP_DONE();
}
