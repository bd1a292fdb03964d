/* Stands in for a precompiled library: built with plain gcc, no split
 * stacks (and, at -O1, no frame pointers), so its frames never check the
 * stack limit.  Linked into the tests as an object, and into the annotation
 * tests as a shared library and as an archive too (Makefile). */
#include <string.h>

int cap_test_recurse_nosplit(int depth)
{
	volatile char frame[1024];
	memset((char *)frame, depth & 0x7f, sizeof frame);
	if (depth <= 0)
		return frame[0];
	return cap_test_recurse_nosplit(depth - 1) + frame[1];
}

/* A thread start routine as a library's thread pool has one: no split
 * stacks, so it cannot run on a first chunk. */
#include <stdint.h>
void *cap_test_nosplit_thread(void *depth) { return (void *)(intptr_t)cap_test_recurse_nosplit((int)(intptr_t)depth); }

/* Writes `bytes` of stack contiguously downwards from the caller's frame. */
int cap_test_big_frame(int bytes)
{
	volatile char *buf = __builtin_alloca((size_t)bytes);
	for (int i = bytes - 1; i >= 0; i--)
		buf[i] = 1;
	return buf[0];
}

/* Block in the kernel without going through Capriccio (a raw system call),
 * as a precompiled library might.  Two copies: one gets annotated. */
#include <errno.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static void sleep_raw(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	syscall(SYS_nanosleep, &ts, NULL);
}
int cap_test_block_ms(int ms)
{
	sleep_raw(ms);
	return ms;
}
int cap_test_block_ms_plain(int ms)
{
	sleep_raw(ms);
	return ms;
}

/* Many arguments (some on the stack), mixed types, a double result. */
double cap_test_mix(int a, double b, long c, int d, int e, int f, int g, int h, double i, long j)
{
	return a + b * 2 + (double)c * 3 + d * 4 + e * 5 + f * 6 + g * 7 + h * 8 + i * 9 + (double)j * 10;
}

/* Fails with errno = e. */
int cap_test_fail_with(int e)
{
	errno = e;
	return -1;
}

/* Straight to the kernel through the C library's syscall(), which Capriccio
 * does not see: read(2) is restarted after a handler with SA_RESTART,
 * pause(2) never is. */
long cap_test_read_raw(int fd, void *buf, long n) { return syscall(SYS_read, fd, buf, n); }
long cap_test_pause_raw(void) { return syscall(SYS_pause); }

/* Leaves errno as it found it. */
int cap_test_keeps_errno(int x) { return x + 1; }

/* Variadic, like syscall() or printf(): n pairs (long, double).  Its
 * prologue saves the vector registers only when %al says some hold
 * arguments, so it needs %al forwarded too; with 8 pairs, 3 of the longs
 * come on the stack. */
#include <stdarg.h>
double cap_test_vmix(int n, ...)
{
	va_list ap;
	va_start(ap, n);
	double s = 0;
	for (int i = 1; i <= n; i++) {
		long l = va_arg(ap, long);
		double d = va_arg(ap, double);
		s += (double)l * i + d * (i + 100);
	}
	va_end(ap);
	return s;
}
