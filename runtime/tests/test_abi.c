/* The lock words of the sync objects (capriccio.h, "Lock word"): zero, that
 * is unlocked, after every init call whatever the memory held before, in
 * objects from the static initialisers, and again once an object is at rest
 * after use.  The sizes and offsets themselves are pinned at compile time
 * (src/abi.c, posix_thread.c). */
#define _GNU_SOURCE
#include <capriccio.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <string.h>
#include "tap.h"

#define GARBAGE(obj) memset(&(obj), 0xa5, sizeof(obj))

static void cap_inits_clear_the_word(void)
{
	cap_sem_t s;
	GARBAGE(s);
	cap_sem_init(&s, 2);
	CHECK_EQ(s.lock, 0);
	CHECK_EQ(s.prof, 0);
	CHECK_EQ(cap_sem_wait(&s), 0);
	CHECK_EQ(cap_sem_post(&s), 0);
	CHECK_EQ(s.lock, 0);

	void *ring[2], *item = NULL;
	cap_chan_t c;
	GARBAGE(c);
	cap_chan_init(&c, ring, 2);
	CHECK_EQ(c.lock, 0);
	CHECK_EQ(cap_chan_send(&c, ring, 0), 0);
	CHECK_EQ(cap_chan_recv(&c, &item, 0), 0);
	CHECK(item == ring);
	CHECK_EQ(c.lock, 0);
}

/* cap_mutex_t, cap_cond_t and cap_rwlock_t have no init call: {0} is one. */
static void zeroed_objects_work_and_stay_unlocked(void)
{
	cap_mutex_t m = { 0 };
	cap_cond_t cv = { 0 };
	cap_rwlock_t rw = { 0 };
	CHECK_EQ(cap_mutex_lock(&m), 0);
	CHECK_EQ(cap_cond_timedwait(&cv, &m, cap_now_ns() + 1000000), ETIMEDOUT);
	CHECK_EQ(cap_mutex_unlock(&m), 0);
	CHECK_EQ(cap_rwlock_wrlock(&rw, 0), 0);
	CHECK_EQ(cap_rwlock_unlock(&rw), 0);
	CHECK_EQ(m.lock, 0);
	CHECK_EQ(cv.lock, 0);
	CHECK_EQ(rw.lock, 0);
}

/* pthread_rwlock_t and sem_t are cap_rwlock_t and cap_sem_t; the shim's
 * mutex keeps its word at glibc's __nusers (asserted in posix_thread.c). */
static pthread_rwlock_t rw_static = PTHREAD_RWLOCK_INITIALIZER;
static pthread_rwlock_t rw_writer_pref = PTHREAD_RWLOCK_WRITER_NONRECURSIVE_INITIALIZER_NP;
static pthread_mutex_t mx_recursive = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

static void pthread_objects_start_unlocked(void)
{
	CHECK_EQ(((cap_rwlock_t *)&rw_static)->lock, 0);
	CHECK_EQ(((cap_rwlock_t *)&rw_writer_pref)->lock, 0);
	CHECK_EQ(pthread_rwlock_wrlock(&rw_writer_pref), 0);
	CHECK_EQ(pthread_rwlock_unlock(&rw_writer_pref), 0);
	CHECK_EQ(pthread_rwlock_rdlock(&rw_writer_pref), 0);
	CHECK_EQ(pthread_rwlock_unlock(&rw_writer_pref), 0);
	CHECK_EQ(((cap_rwlock_t *)&rw_writer_pref)->lock, 0);

	pthread_rwlock_t rw;
	GARBAGE(rw);
	CHECK_EQ(pthread_rwlock_init(&rw, NULL), 0);
	CHECK_EQ(((cap_rwlock_t *)&rw)->lock, 0);

	sem_t s;
	GARBAGE(s);
	CHECK_EQ(sem_init(&s, 0, 1), 0);
	CHECK_EQ(((cap_sem_t *)&s)->lock, 0);

	CHECK_EQ(mx_recursive.__data.__nusers, 0);
	CHECK_EQ(pthread_mutex_lock(&mx_recursive), 0);
	CHECK_EQ(pthread_mutex_lock(&mx_recursive), 0); /* the kind at offset 16 still read */
	CHECK_EQ(pthread_mutex_unlock(&mx_recursive), 0);
	CHECK_EQ(pthread_mutex_unlock(&mx_recursive), 0);
	pthread_mutex_t mx;
	GARBAGE(mx);
	CHECK_EQ(pthread_mutex_init(&mx, NULL), 0);
	CHECK_EQ(mx.__data.__nusers, 0);
}

int main(void)
{
	RUN(cap_inits_clear_the_word);
	RUN(zeroed_objects_work_and_stay_unlocked);
	RUN(pthread_objects_start_unlocked);
	TAP_DONE();
}
