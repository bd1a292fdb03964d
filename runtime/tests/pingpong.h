/* Pairs of threads that hand a token back and forth through semaphores:
 * they switch only by parking, every worker switches all the time, and
 * their run queue never drains.  They stop at pingpong_stop(), or by
 * themselves after `for_ns`, so that a test whose thread they keep from
 * running fails rather than hangs.
 *
 *	pingpong_start(2000 * MS);
 *	...
 *	pingpong_stop(); */
#ifndef CAP_PINGPONG_H
#define CAP_PINGPONG_H
#include <capriccio.h>
#include <stdint.h>
#include "tap.h"

#define PINGPONG_PAIRS 4

static struct {
	cap_sem_t token[PINGPONG_PAIRS][2];
	cap_thread_t *thread[2 * PINGPONG_PAIRS];
	volatile int done;
	uint64_t until;
} pingpong;

static void *pingpong_pass(void *a)
{
	uintptr_t i = (uintptr_t)a;
	cap_sem_t *mine = &pingpong.token[i / 2][i % 2], *theirs = &pingpong.token[i / 2][1 - i % 2];
	while (!pingpong.done && cap_now_ns() < pingpong.until) {
		cap_sem_wait(mine);
		cap_sem_post(theirs);
	}
	cap_sem_post(theirs);
	return NULL;
}

static void pingpong_start(uint64_t for_ns)
{
	pingpong.done = 0;
	pingpong.until = cap_now_ns() + for_ns;
	for (int i = 0; i < PINGPONG_PAIRS; i++) {
		cap_sem_init(&pingpong.token[i][0], 1);
		cap_sem_init(&pingpong.token[i][1], 0);
	}
	for (uintptr_t i = 0; i < 2 * PINGPONG_PAIRS; i++)
		CHECK((pingpong.thread[i] = cap_spawn(pingpong_pass, (void *)i, NULL)) != NULL);
}

static void pingpong_stop(void)
{
	pingpong.done = 1;
	for (int i = 0; i < 2 * PINGPONG_PAIRS; i++)
		if (pingpong.thread[i])
			cap_join(pingpong.thread[i], NULL);
}
#endif
