/* A stand-in for a precompiled third-party library: built with plain gcc
 * (no split stacks, not linked against Capriccio's shim), and it blocks in
 * the kernel through a raw system call — so a call to it stalls every
 * Capriccio thread, until it is annotated as blocking. */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int slow_lookup(int key, int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	syscall(SYS_nanosleep, &ts, NULL); /* straight to the kernel */
	return key * 31 + 7;
}
