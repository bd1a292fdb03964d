/* Linked stacks: recursion far past the first chunk, libc from deep frames,
 * chunk reuse; fixed-stack mode and its overflow report. */
#define _GNU_SOURCE
#include <capriccio.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tap.h"

extern char **environ;
int cap_test_recurse_nosplit(int depth);
int cap_test_big_frame(int bytes);
void *cap_test_nosplit_thread(void *depth);

static long deep(int n)
{
	volatile char pad[512];
	pad[0] = (char)n;
	pad[511] = 1;
	if (n == 0)
		return 0;
	return deep(n - 1) + pad[511];
}

static void *deep_thread(void *a) { return (void *)deep((int)(intptr_t)a); }

static void recursion_past_first_chunk(void)
{
	cap_info_t info;
	cap_get_info(&info);
	CHECK(strcmp(info.stack_mode, "split") == 0);
	/* 20,000 frames of > 512 bytes: 10+ MiB through a 4 KiB first chunk. */
	cap_thread_t *t = cap_spawn(deep_thread, (void *)20000, &(cap_spawn_opts_t){ .name = "deep" });
	void *r;
	cap_join(t, &r);
	CHECK_EQ((intptr_t)r, 20000);
	/* Many threads recursing at once, interleaved by yields on the way. */
	cap_thread_t *ts[50];
	for (int i = 0; i < 50; i++)
		ts[i] = cap_spawn(deep_thread, (void *)(intptr_t)(500 + i), NULL);
	for (int i = 0; i < 50; i++) {
		cap_join(ts[i], &r);
		CHECK_EQ((intptr_t)r, 500 + i);
	}
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static long libc_at_depth(int n, char *out, size_t outlen)
{
	volatile char pad[256];
	pad[0] = 1;
	if (n > 0)
		return libc_at_depth(n - 1, out, outlen) + pad[0];
	snprintf(out, outlen, "%d-%s-%.2f", 42, "deep", 3.5);
	printf("  printf from a deep frame: %s\n", out);
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res = NULL;
	int g = getaddrinfo("localhost", "80", &hints, &res);
	long ok = g == 0 && res && res->ai_family == AF_INET;
	if (res)
		freeaddrinfo(res);
	int v[64];
	for (int i = 0; i < 64; i++)
		v[i] = 63 - i;
	qsort(v, 64, sizeof v[0], cmp_int); /* libc calling back into split code */
	for (int i = 0; i < 64; i++)
		ok &= v[i] == i;
	return ok ? 0 : -1000000;
}

static char buf[64];
static void *libc_thread(void *a) { return (void *)libc_at_depth(1000, buf, sizeof buf); }

static void libc_from_deep_frames(void)
{
	cap_thread_t *t = cap_spawn(libc_thread, NULL, NULL);
	void *r;
	cap_join(t, &r);
	CHECK_EQ((intptr_t)r, 1000);
	CHECK(strcmp(buf, "42-deep-3.50") == 0);
}

static void *fixed_thread(void *a) { return (void *)(intptr_t)cap_test_recurse_nosplit((int)(intptr_t)a); }

static void fixed_mode_runs_nonsplit_code(void)
{
	/* Code without split stacks, 100 KiB deep, on a 256 KiB fixed stack. */
	cap_thread_t *t = cap_spawn(fixed_thread, (void *)100,
				    &(cap_spawn_opts_t){ .name = "fixed", .stack_mode = CAP_STACK_FIXED, .stack_size = 256 << 10 });
	void *r;
	CHECK(t != NULL);
	cap_join(t, &r);
	CHECK_EQ((intptr_t)r, 5050); /* sum of depth & 0x7f over 100 frames */
	/* Pooled stacks are reused, with their pages given back. */
	for (int i = 0; i < 100; i++) {
		t = cap_spawn(fixed_thread, (void *)10, &(cap_spawn_opts_t){ .stack_mode = CAP_STACK_FIXED });
		CHECK(t != NULL);
		cap_join(t, NULL);
	}
}

static void nonsplit_start_routine_gets_a_fixed_stack(void)
{
	/* A library's thread pool hands pthread_create a routine without split
	 * stacks: 100 KiB deep, far past a first chunk, in split mode. */
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, cap_test_nosplit_thread, (void *)100), 0);
	for (int i = 0; i < 4; i++) {
		void *r = NULL;
		CHECK_EQ(pthread_join(t[i], &r), 0);
		CHECK_EQ((intptr_t)r, 5050);
	}
	/* A stack size asked for sizes that stack. */
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 512 << 10);
	CHECK_EQ(pthread_create(&t[0], &a, cap_test_nosplit_thread, (void *)400), 0);
	void *r = NULL;
	CHECK_EQ(pthread_join(t[0], &r), 0);
	CHECK_EQ((intptr_t)r, 24520); /* sum of depth & 0x7f over 400 frames */
	pthread_attr_destroy(&a);
}

/* Runs this binary again with `mode`; returns its wait status, stderr in err. */
static int run_child(const char *mode, char *err, size_t errlen)
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	char *argv[] = { "/proc/self/exe", (char *)mode, NULL };
	pid_t pid;
	int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc != 0)
		return -1;
	size_t n = 0;
	ssize_t k;
	while (n + 1 < errlen && (k = read(p[0], err + n, errlen - 1 - n)) > 0)
		n += (size_t)k;
	err[n] = 0;
	close(p[0]);
	int st = 0;
	waitpid(pid, &st, 0);
	return st;
}

static void fixed_overflow_is_reported(void)
{
	char err[4096];
	int st = run_child("overflow-fixed", err, sizeof err);
	CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	CHECK(strstr(err, "stack overflow in thread") != NULL);
	CHECK(strstr(err, "'recurser'") != NULL);
	CHECK(strstr(err, "spawned at") != NULL);
	CHECK(strstr(err, "fixed stack of") != NULL);
	if (!strstr(err, "stack overflow"))
		fprintf(stderr, "  child said: %s\n", err);
}

static void chunk_overflow_by_nonsplit_code_is_reported(void)
{
	char err[4096];
	int st = run_child("overflow-chunk", err, sizeof err);
	CHECK(WIFSIGNALED(st));
	CHECK(strstr(err, "stack overflow in thread") != NULL);
	CHECK(strstr(err, "'smashed'") != NULL);
	if (!strstr(err, "stack overflow"))
		fprintf(stderr, "  child said: %s\n", err);
}

/* Called through a pointer, so gold cannot give the caller a big chunk. */
static int (*volatile big_frame)(int) = cap_test_big_frame;
static void *smasher(void *a)
{
	big_frame(6000);
	cap_yield();
	return NULL;
}

static int child(const char *mode)
{
	if (!strcmp(mode, "overflow-fixed")) {
		cap_thread_t *t = cap_spawn(fixed_thread, (void *)1000000,
					    &(cap_spawn_opts_t){ .name = "recurser", .stack_mode = CAP_STACK_FIXED, .stack_size = 64 << 10 });
		cap_join(t, NULL);
		return 0; /* not reached: the overflow aborts */
	}
	if (!strcmp(mode, "overflow-chunk")) {
		/* The overflow lands on the chunk below the smasher's.  That chunk
		 * must be idle: on several workers a live neighbour could be
		 * running elsewhere as its structure is overwritten, and crash
		 * there first.  So two chunks are carved one above the other on
		 * one worker and freed (last freed, first reused): the smasher
		 * gets the upper one, the lower one is free. */
		if (cap_bind(0) != 0)
			return 3;
		cap_thread_t *below = cap_spawn(fixed_thread, (void *)0, &(cap_spawn_opts_t){ .name = "below" });
		cap_thread_t *upper = cap_spawn(fixed_thread, (void *)0, &(cap_spawn_opts_t){ .name = "upper" });
		cap_join(below, NULL);
		cap_join(upper, NULL);
		cap_thread_t *t = cap_spawn(smasher, NULL, &(cap_spawn_opts_t){ .name = "smashed" });
		if (t != upper) {
			fprintf(stderr, "test setup: the smasher did not reuse the upper chunk\n");
			return 4;
		}
		cap_join(t, NULL);
		return 0;
	}
	return 2;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return child(argv[1]);
	RUN(recursion_past_first_chunk);
	RUN(libc_from_deep_frames);
	RUN(fixed_mode_runs_nonsplit_code);
	RUN(nonsplit_start_routine_gets_a_fixed_stack);
	RUN(fixed_overflow_is_reported);
	RUN(chunk_overflow_by_nonsplit_code_is_reported);
	TAP_DONE();
}
