/* deep: recursion of known depth and frame size, on linked stacks.  Each
 * level keeps FRAME bytes of locals; the stack high-water of the thread is
 * about DEPTH x (FRAME + a few dozen bytes of frame overhead).
 * FRAME is fixed at compile time (a variable-length frame would come from
 * libgcc's heap-backed alloca, not the stack).
 *   deep [DEPTH [THREADS]]   (default 200 4) */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FRAME 1024
static int depth = 200;

static __attribute__((noinline, noclone)) long descend(int level)
{
	volatile char locals[FRAME];
	memset((char *)locals, level & 0x7f, FRAME);
	if (level == 0) {
		usleep(50000); /* block at the bottom: the deepest point is visible live */
		return 0;
	}
	return descend(level - 1) + locals[FRAME - 1];
}

static void *thread(void *arg)
{
	(void)arg;
	return (void *)descend(depth);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		depth = atoi(argv[1]);
	int threads = argc > 2 ? atoi(argv[2]) : 4;
	if (depth < 0 || threads < 1 || threads > 1000) {
		fprintf(stderr, "usage: deep [DEPTH [THREADS]]\n");
		return 2;
	}
	pthread_t t[1000];
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, thread, NULL);
	long sum = 0;
	for (int i = 0; i < threads; i++) {
		void *r;
		pthread_join(t[i], &r);
		sum += (long)r;
	}
	printf("deep: %d threads, %d levels of %d bytes (checksum %ld)\n", threads, depth, FRAME, sum);
	return 0;
}
