/* glibc's per-thread state, as each thread sees it across a blocking call
 * while another thread runs: errno, the buffers of strerror, strsignal and
 * inet_ntoa, the thread's locale; strtok's and localtime's buffers, which
 * glibc shares between all threads; malloc under many threads that block
 * between allocating and freeing. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include "tap.h"

static pthread_t start(void *(*fn)(void *), void *arg)
{
	pthread_t t;
	if (pthread_create(&t, NULL, fn, arg) != 0) {
		fprintf(stderr, "  pthread_create failed\n");
		abort();
	}
	return t;
}

/* Thread A does `first`, hands over to thread B, which does `second`, and
 * resumes to look at what `first` left it. */
static sem_t to_b, to_a;
static void hand_over(void)
{
	sem_post(&to_b);
	sem_wait(&to_a);
}
static void take_turn(void) { sem_wait(&to_b); }
static void give_back(void) { sem_post(&to_a); }

static void *run_b(void *arg)
{
	void (*second)(void) = (void (*)(void))arg;
	take_turn();
	second();
	give_back();
	return NULL;
}

static void interleave(void (*first)(void), void (*second)(void))
{
	sem_init(&to_b, 0, 0);
	sem_init(&to_a, 0, 0);
	pthread_t b = start(run_b, (void *)second);
	first();
	pthread_join(b, NULL);
	sem_destroy(&to_b);
	sem_destroy(&to_a);
}

/* ---- errno ------------------------------------------------------------------ */

static void errno_b(void) { errno = ENOTDIR; }
static void errno_a(void)
{
	errno = EDOM;
	hand_over();
	CHECK_EQ(errno, EDOM);
}
static void errno_is_the_threads_own(void) { interleave(errno_a, errno_b); }

/* ---- Result buffers ------------------------------------------------------- */

static void strerror_b(void) { CHECK(strcmp(strerror(654321), "Unknown error 654321") == 0); }
static void strerror_a(void)
{
	const char *mine = strerror(123456);
	hand_over();
	CHECK(strcmp(mine, "Unknown error 123456") == 0);
}
static void strerror_of_an_unknown_number_stays(void) { interleave(strerror_a, strerror_b); }

static void strerror_l_b(void)
{
	locale_t c = newlocale(LC_ALL_MASK, "C", 0);
	CHECK(strcmp(strerror_l(654321, c), "Unknown error 654321") == 0);
	freelocale(c);
}
static void strerror_l_a(void)
{
	locale_t c = newlocale(LC_ALL_MASK, "C", 0);
	const char *mine = strerror_l(123456, c);
	hand_over();
	CHECK(strcmp(mine, "Unknown error 123456") == 0);
	freelocale(c);
}
static void strerror_l_of_an_unknown_number_stays(void) { interleave(strerror_l_a, strerror_l_b); }

static void strsignal_b(void) { CHECK(strcmp(strsignal(SIGRTMIN + 2), "Real-time signal 2") == 0); }
static void strsignal_a(void)
{
	const char *mine = strsignal(1000);
	hand_over();
	CHECK(strcmp(mine, "Unknown signal 1000") == 0);
}
static void strsignal_of_an_unknown_signal_stays(void) { interleave(strsignal_a, strsignal_b); }

static void inet_ntoa_b(void)
{
	struct in_addr a = { htonl(0x0a000001) };
	CHECK(strcmp(inet_ntoa(a), "10.0.0.1") == 0);
}
static void inet_ntoa_a(void)
{
	struct in_addr a = { htonl(0xc0a80102) };
	const char *mine = inet_ntoa(a);
	hand_over();
	CHECK(strcmp(mine, "192.168.1.2") == 0);
}
static void inet_ntoa_stays(void) { interleave(inet_ntoa_a, inet_ntoa_b); }

/* Known numbers give glibc's own constant strings, as before. */
static void known_numbers_give_glibcs_strings(void)
{
	CHECK(strcmp(strerror(ENOENT), "No such file or directory") == 0);
	CHECK(strerror(ENOENT) == strerror(ENOENT));
	CHECK(strcmp(strsignal(SIGINT), "Interrupt") == 0);
}

/* ---- Locale ----------------------------------------------------------------- */

static locale_t utf8;
static void *locale_of_new_thread(void *arg) { return (void *)(intptr_t)(MB_CUR_MAX == 1 && uselocale(0) == LC_GLOBAL_LOCALE); }
static void locale_b(void)
{
	CHECK_EQ(MB_CUR_MAX, 1); /* the global "C" locale, not A's */
	CHECK(uselocale(0) == LC_GLOBAL_LOCALE);
}
static void locale_a(void)
{
	CHECK(uselocale(utf8) == LC_GLOBAL_LOCALE);
	CHECK_EQ(MB_CUR_MAX, 6);
	hand_over();
	CHECK_EQ(MB_CUR_MAX, 6);
	CHECK(uselocale(0) == utf8);
	void *r;
	pthread_join(start(locale_of_new_thread, NULL), &r); /* starts in the global locale */
	CHECK_EQ((intptr_t)r, 1);
	CHECK_EQ(MB_CUR_MAX, 6);
	CHECK(uselocale(LC_GLOBAL_LOCALE) == utf8);
	CHECK_EQ(MB_CUR_MAX, 1);
}
static void uselocale_is_the_threads_own(void)
{
	utf8 = newlocale(LC_ALL_MASK, "C.UTF-8", 0);
	CHECK(utf8 != 0);
	if (!utf8)
		return;
	interleave(locale_a, locale_b);
	CHECK_EQ(MB_CUR_MAX, 1);
	freelocale(utf8);
}

/* ---- Buffers glibc shares between all threads --------------------------------- */

static char csv[] = "a,b,c", ssv[] = "x;y;z";
static void strtok_b(void) { CHECK(strcmp(strtok(ssv, ";"), "x") == 0); }
static void strtok_a(void)
{
	CHECK(strcmp(strtok(csv, ","), "a") == 0);
	hand_over();
	CHECK(strcmp(strtok(NULL, ";"), "y") == 0); /* goes on with the other thread's string */
}
static void strtok_is_shared_as_in_glibc(void) { interleave(strtok_a, strtok_b); }

static struct tm *tm_b;
static void localtime_b(void)
{
	time_t t = 86400 * 365;
	tm_b = gmtime(&t);
}
static void localtime_a(void)
{
	time_t t = 0;
	struct tm *mine = gmtime(&t);
	hand_over();
	CHECK(mine == tm_b); /* one static buffer */
	CHECK_EQ(mine->tm_year, 71);
}
static void gmtime_is_shared_as_in_glibc(void) { interleave(localtime_a, localtime_b); }

/* ---- malloc ------------------------------------------------------------------ */

#define MTHREADS 32
#define MROUNDS 3000
#define MSLOTS 256
struct block {
	size_t n;
	unsigned char fill;
	unsigned char data[];
};
static struct block *slots[MSLOTS];
static pthread_mutex_t slots_mu = PTHREAD_MUTEX_INITIALIZER;

static int intact(const struct block *b)
{
	for (size_t i = 0; i < b->n; i++)
		if (b->data[i] != b->fill)
			return 0;
	return 1;
}

/* Allocates, parks, frees blocks other threads allocated. */
static void *churn(void *arg)
{
	unsigned seed = (unsigned)(intptr_t)arg;
	long bad = 0;
	for (int i = 0; i < MROUNDS; i++) {
		size_t n = (size_t)(rand_r(&seed) % 3000);
		struct block *b = malloc(sizeof *b + n);
		if (!b)
			return (void *)1;
		b->n = n;
		b->fill = (unsigned char)rand_r(&seed);
		memset(b->data, b->fill, n);
		if (i % 7 == 0)
			sched_yield();
		if (i % 50 == 0) {
			struct timespec ts = { 0, 10000 };
			nanosleep(&ts, NULL);
		}
		if (i % 5 == 0) {
			b = realloc(b, sizeof *b + n + 100);
			memset(b->data + n, b->fill, 100);
			b->n = n + 100;
		}
		pthread_mutex_lock(&slots_mu);
		unsigned k = (unsigned)rand_r(&seed) % MSLOTS;
		struct block *old = slots[k];
		slots[k] = b;
		pthread_mutex_unlock(&slots_mu);
		if (old) {
			bad += !intact(old);
			free(old);
		}
	}
	return (void *)(intptr_t)bad;
}

static void malloc_holds_under_threads_that_block(void)
{
	pthread_t t[MTHREADS];
	for (int i = 0; i < MTHREADS; i++)
		t[i] = start(churn, (void *)(intptr_t)(i + 1));
	long bad = 0;
	for (int i = 0; i < MTHREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		bad += (intptr_t)r;
	}
	for (int k = 0; k < MSLOTS; k++)
		if (slots[k]) {
			bad += !intact(slots[k]);
			free(slots[k]);
		}
	CHECK_EQ(bad, 0);
}

int main(void)
{
	RUN(errno_is_the_threads_own);
	RUN(strerror_of_an_unknown_number_stays);
	RUN(strerror_l_of_an_unknown_number_stays);
	RUN(strsignal_of_an_unknown_signal_stays);
	RUN(inet_ntoa_stays);
	RUN(known_numbers_give_glibcs_strings);
	RUN(uselocale_is_the_threads_own);
	RUN(strtok_is_shared_as_in_glibc);
	RUN(gmtime_is_shared_as_in_glibc);
	RUN(malloc_holds_under_threads_that_block);
	TAP_DONE();
}
