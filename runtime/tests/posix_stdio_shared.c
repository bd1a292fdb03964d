/* Several threads on one stream: every line a thread writes with one call
 * (or inside flockfile) reaches the reader whole and in that thread's
 * order, and every line several threads read with fgets/getline goes to
 * exactly one of them, whole — as glibc's stream locks guarantee, while
 * the pipe is full or empty and the callers park half-way through. */
#define _GNU_SOURCE
#include "stdio_test.h"

#define WRITERS 6
#define LINES 2500

/* ---- Many writers, one reader ------------------------------------------- */

static FILE *shared_out;

static int make_line(char *b, size_t size, int who, int i)
{
	/* 20 to 219 bytes, so lines straddle the buffer and the pipe's pages */
	int pad = 20 + (who * 37 + i * 53) % 200 - 19;
	return snprintf(b, size, "w%d %05d %.*s\n", who, i, pad, "................................................................................................................................................................................................................");
}

static void *writer_main(void *arg)
{
	int who = (int)(long)arg;
	FILE *f = shared_out;
	char line[256];
	for (int i = 0; i < LINES; i++) {
		int n = make_line(line, sizeof line, who, i);
		switch (who) {
		case 0:
			fprintf(f, "w%d %05d %s", who, i, line + 9); /* the same bytes, formatted */
			break;
		case 1:
			fputs(line, f);
			break;
		case 2:
			fwrite(line, 1, (size_t)n, f);
			break;
		case 3: /* a byte at a time, the line held with flockfile across a pause */
			flockfile(f);
			for (int k = 0; k < n; k++) {
				putc_unlocked(line[k], f);
				if (k == n / 2 && i % 8 == 0)
					sched_yield();
			}
			funlockfile(f);
			break;
		case 4: /* in pieces, held with flockfile */
			flockfile(f);
			fwrite(line, 1, 5, f);
			if (i % 8 == 0)
				sleep_ms(0);
			fputs(line + 5, f);
			funlockfile(f);
			break;
		default:
			if (f == stdout)
				printf("%s", line);
			else
				fprintf(f, "%s", line);
			break;
		}
	}
	return NULL;
}

struct check {
	FILE *in;
	int next[WRITERS];
	long lines, bad;
	char first_bad[512];
};

static void *reader_main(void *arg)
{
	struct check *c = arg;
	char line[512], want[256];
	sleep_ms(50); /* let the pipe fill: writers park half-way through their calls */
	while (fgets(line, sizeof line, c->in)) {
		int who = -1, i = -1;
		if (sscanf(line, "w%d %d", &who, &i) == 2 && who >= 0 && who < WRITERS && i == c->next[who]) {
			make_line(want, sizeof want, who, i);
			if (strcmp(line, want) == 0) {
				c->next[who]++;
				c->lines++;
				continue;
			}
		}
		if (c->bad++ == 0)
			snprintf(c->first_bad, sizeof c->first_bad, "%s", line);
	}
	return NULL;
}

/* The writers write to `out` while a reader checks what arrives on `in`;
 * close_out ends the stream so that the reader sees end of file. */
static void writers_share_one_stream(FILE *out, FILE *in, void (*close_out)(FILE *))
{
	struct check c = { .in = in };
	pthread_t r, w[WRITERS];
	shared_out = out;
	pthread_create(&r, NULL, reader_main, &c);
	for (long k = 0; k < WRITERS; k++)
		pthread_create(&w[k], NULL, writer_main, (void *)k);
	for (int k = 0; k < WRITERS; k++)
		pthread_join(w[k], NULL);
	close_out(out);
	pthread_join(r, NULL);
	fclose(in);
	CHECK_EQ(c.bad, 0);
	if (c.bad)
		fprintf(stderr, "  first torn or misplaced line: %s", c.first_bad);
	CHECK_EQ(c.lines, (long)WRITERS * LINES);
}

static void close_stream(FILE *f) { CHECK_EQ(fclose(f), 0); }

static void writers_share_a_pipe(void)
{
	int p[2];
	if (pipe(p) != 0)
		abort();
	writers_share_one_stream(fdopen(p[1], "w"), fdopen(p[0], "r"), close_stream);
}

static void writers_share_a_socket(void)
{
	int s[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) != 0)
		abort();
	writers_share_one_stream(fdopen(s[0], "w"), fdopen(s[1], "r"), close_stream);
}

static int saved_stdout = -1;
static void restore_stdout(FILE *f)
{
	CHECK_EQ(fflush(f), 0);
	dup2(saved_stdout, 1); /* closes the pipe's last write end */
	close(saved_stdout);
}

static void writers_share_stdout(void)
{
	int p[2];
	if (pipe(p) != 0)
		abort();
	fflush(stdout);
	saved_stdout = dup(1);
	dup2(p[1], 1);
	close(p[1]);
	writers_share_one_stream(stdout, fdopen(p[0], "r"), restore_stdout);
}

/* ---- Many readers, one writer ------------------------------------------- */

#define READERS 8
#define NUMBERS 6000

static FILE *shared_in;
static unsigned char seen[NUMBERS];
static long torn;

static void *number_reader(void *arg)
{
	int how = (int)(long)arg;
	char buf[64], *line = NULL;
	size_t cap = 0;
	for (;;) {
		const char *l;
		if (how % 2 == 0) {
			l = fgets(buf, sizeof buf, shared_in);
		} else {
			l = getline(&line, &cap, shared_in) > 0 ? line : NULL;
		}
		if (!l)
			break;
		int n = -1, len = -1;
		if (sscanf(l, "number %d%n", &n, &len) == 1 && n >= 0 && n < NUMBERS && strcmp(l + len, " end\n") == 0)
			seen[n]++;
		else
			torn++;
		sched_yield(); /* runnable, not parked, when the next bytes arrive */
	}
	free(line);
	return NULL;
}

static void readers_share_one_stream(void)
{
	int p[2];
	if (pipe(p) != 0)
		abort();
	shared_in = fdopen(p[0], "r");
	memset(seen, 0, sizeof seen);
	torn = 0;
	pthread_t r[READERS];
	for (long k = 0; k < READERS; k++)
		pthread_create(&r[k], NULL, number_reader, (void *)k);
	/* in odd pieces, with pauses: readers wait half-way through lines */
	char chunk[4096];
	size_t used = 0;
	for (int n = 0; n < NUMBERS; n++) {
		used += (size_t)snprintf(chunk + used, sizeof chunk - used, "number %d end\n", n);
		if (used > 1000 + (size_t)(n % 7) * 300 || n == NUMBERS - 1) {
			size_t cut = used / 3;
			write_all(p[1], chunk, cut);
			if (n % 5 == 0)
				sleep_ms(1);
			else
				sched_yield(); /* readers take the first part, up to half a line */
			write_all(p[1], chunk + cut, used - cut);
			used = 0;
		}
	}
	close(p[1]);
	for (int k = 0; k < READERS; k++)
		pthread_join(r[k], NULL);
	fclose(shared_in);
	CHECK_EQ(torn, 0);
	int once = 0;
	for (int n = 0; n < NUMBERS; n++)
		once += seen[n] == 1;
	CHECK_EQ(once, NUMBERS);
}

/* ---- The stream lock, deterministically ----------------------------- */

struct holder {
	FILE *f;
	volatile int locked, released;
	char line[32];
};

static void *hold_across_a_pause(void *arg)
{
	struct holder *h = arg;
	flockfile(h->f);
	flockfile(h->f); /* recursive */
	h->locked = 1;
	sleep_ms(100); /* parks holding the stream */
	funlockfile(h->f);
	h->released = 1;
	funlockfile(h->f);
	return NULL;
}

static void flockfile_excludes_other_threads(void)
{
	int p[2];
	if (pipe(p) != 0)
		abort();
	write_all(p[1], "xy", 2);
	struct holder h = { .f = fdopen(p[0], "r") };
	pthread_t t;
	pthread_create(&t, NULL, hold_across_a_pause, &h);
	while (!h.locked)
		sleep_ms(1);
	CHECK(ftrylockfile(h.f) != 0);
	CHECK_EQ(fgetc(h.f), 'x'); /* waits for the holder, though 'x' is there */
	CHECK(h.released);
	pthread_join(t, NULL);
	CHECK_EQ(ftrylockfile(h.f), 0);
	funlockfile(h.f);
	close(p[1]);
	fclose(h.f);
}

static void *read_a_line(void *arg)
{
	struct holder *h = arg;
	CHECK(fgets(h->line, sizeof h->line, h->f) == h->line);
	return NULL;
}

/* glibc holds a stream for the whole call: while one thread waits inside
 * fgets for the rest of its line, another thread's getc waits too — even
 * once the bytes are there — and gets what follows that line. */
static void a_thread_inside_fgets_holds_the_stream(void)
{
	int p[2];
	if (pipe(p) != 0)
		abort();
	write_all(p[1], "part", 4);
	struct holder h = { .f = fdopen(p[0], "r") };
	pthread_t t;
	pthread_create(&t, NULL, read_a_line, &h);
	while (ftrylockfile(h.f) == 0) { /* until the reader is inside fgets */
		funlockfile(h.f);
		sleep_ms(1);
	}
	write_all(p[1], "ial\nsecond\n", 11);
	CHECK_EQ(fgetc(h.f), 's');
	pthread_join(t, NULL);
	CHECK(strcmp(h.line, "partial\n") == 0);
	close(p[1]);
	fclose(h.f);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	watchdog_arm("threads sharing one stream", 60);
	RUN(writers_share_a_pipe);
	RUN(writers_share_a_socket);
	RUN(writers_share_stdout);
	RUN(readers_share_one_stream);
	RUN(flockfile_excludes_other_threads);
	RUN(a_thread_inside_fgets_holds_the_stream);
	watchdog_disarm();
	TAP_DONE();
}
