/* prodcons: producers and consumers around a bounded buffer, with a pthread
 * mutex and two condition variables — the classic blocking pattern, on
 * user threads.
 *   prodcons [PRODUCERS [CONSUMERS [ITEMS_EACH [CAPACITY]]]]   (default 4 4 100000 16) */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static long *ring;
static int capacity = 16, head, count, producers_left;
static long items_each = 100000;

static void *producer(void *arg)
{
	long base = (long)arg * items_each;
	for (long i = 0; i < items_each; i++) {
		pthread_mutex_lock(&lock);
		while (count == capacity)
			pthread_cond_wait(&not_full, &lock);
		ring[(head + count++) % capacity] = base + i;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&lock);
	}
	pthread_mutex_lock(&lock);
	if (--producers_left == 0)
		pthread_cond_broadcast(&not_empty);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void *consumer(void *arg)
{
	long sum = 0, n = 0;
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&lock);
		while (count == 0 && producers_left > 0)
			pthread_cond_wait(&not_empty, &lock);
		if (count == 0) {
			pthread_mutex_unlock(&lock);
			break;
		}
		sum += ring[head];
		head = (head + 1) % capacity;
		count--;
		n++;
		pthread_cond_signal(&not_full);
		pthread_mutex_unlock(&lock);
	}
	long *r = malloc(2 * sizeof *r);
	r[0] = sum;
	r[1] = n;
	return r;
}

int main(int argc, char **argv)
{
	int np = argc > 1 ? atoi(argv[1]) : 4, nc = argc > 2 ? atoi(argv[2]) : 4;
	if (argc > 3)
		items_each = atol(argv[3]);
	if (argc > 4)
		capacity = atoi(argv[4]);
	if (np < 1 || nc < 1 || np > 256 || nc > 256 || items_each < 0 || capacity < 1) {
		fprintf(stderr, "usage: prodcons [PRODUCERS [CONSUMERS [ITEMS_EACH [CAPACITY]]]]\n");
		return 2;
	}
	ring = calloc((size_t)capacity, sizeof *ring);
	producers_left = np;
	pthread_t p[256], c[256];
	for (int i = 0; i < nc; i++)
		pthread_create(&c[i], NULL, consumer, NULL);
	for (int i = 0; i < np; i++)
		pthread_create(&p[i], NULL, producer, (void *)(long)i);
	for (int i = 0; i < np; i++)
		pthread_join(p[i], NULL);
	long sum = 0, n = 0;
	for (int i = 0; i < nc; i++) {
		long *r;
		pthread_join(c[i], (void **)&r);
		sum += r[0];
		n += r[1];
		free(r);
	}
	long total = (long)np * items_each;
	long want = total * (total - 1) / 2;
	printf("prodcons: %ld items moved, checksum %s\n", n, n == total && sum == want ? "ok" : "WRONG");
	return n == total && sum == want ? 0 : 1;
}
