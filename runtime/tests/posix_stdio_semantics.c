/* stdio on pipes, sockets and terminals keeps glibc's results: what each
 * call returns, end of file, errors, feof/ferror/clearerr, pushback, and
 * when buffered output reaches the descriptor.  The data arrives later
 * than the call, in pieces, so that under Capriccio the calls wait (the
 * paths that differ from libc's); the expected values are glibc's own,
 * which the gcc -pthread build of this file checks. */
#define _GNU_SOURCE
#include <sys/ioctl.h>
#include "stdio_test.h"

#define PAUSE_MS 30

/* A stream reading from a pipe that a thread feeds with `pieces`, pausing
 * before each, and closes afterwards if `eof`. */
static FILE *fed(struct feed *fd, int eof, const char *a, const char *b, const char *c)
{
	int p[2];
	if (pipe(p) != 0)
		abort();
	*fd = (struct feed){ .fd = p[1], .pieces = { a, b, c }, .pause_ms = PAUSE_MS, .close_after = eof };
	feed_start(fd);
	return fdopen(p[0], "r");
}

static void done_feeding(struct feed *fd, FILE *f)
{
	feed_join(fd);
	if (fd->fd >= 0)
		close(fd->fd);
	fclose(f);
}

/* ---- Reading ------------------------------------------------------------ */

static void fgets_waits_for_the_whole_line(void)
{
	struct feed fd;
	FILE *f = fed(&fd, 0, "ab", "c\n", NULL);
	char b[16];
	CHECK(fgets(b, sizeof b, f) == b);
	CHECK(strcmp(b, "abc\n") == 0);
	CHECK(!feof(f) && !ferror(f));
	done_feeding(&fd, f);
}

static void fgets_at_end_of_file(void)
{
	struct feed fd;
	FILE *f = fed(&fd, 1, "ab", "c", NULL);
	char b[16];
	CHECK(fgets(b, sizeof b, f) == b);
	CHECK(strcmp(b, "abc") == 0);
	CHECK(feof(f) && !ferror(f));
	CHECK(fgets(b, sizeof b, f) == NULL);
	CHECK(feof(f));
	done_feeding(&fd, f);
}

static void fgets_splits_long_lines(void)
{
	struct feed fd;
	FILE *f = fed(&fd, 1, "abcd", "\n", NULL);
	char b[8];
	CHECK(fgets(b, 3, f) == b && strcmp(b, "ab") == 0);
	CHECK(fgets(b, 3, f) == b && strcmp(b, "cd") == 0);
	CHECK(fgets(b, 3, f) == b && strcmp(b, "\n") == 0);
	CHECK(fgets(b, 1, f) == b && b[0] == 0); /* room for the terminator only: no read */
	CHECK(fgets(b, 0, f) == NULL);
	CHECK(fgets(b, 3, f) == NULL && feof(f));
	done_feeding(&fd, f);
}

static void fread_returns_whole_elements(void)
{
	struct feed fd;
	FILE *f = fed(&fd, 1, "abcd", "efghij", NULL);
	char b[16];
	CHECK_EQ(fread(b, 4, 3, f), 2); /* the partial third element is consumed */
	CHECK(memcmp(b, "abcdefghij", 10) == 0);
	CHECK(feof(f) && !ferror(f));
	CHECK_EQ(fgetc(f), EOF);
	done_feeding(&fd, f);
}

static void fread_waits_for_all_it_asked(void)
{
	static char piece[3][12001], got[40000];
	for (int i = 0; i < 3; i++)
		memset(piece[i], 'a' + i, sizeof piece[i] - 1);
	int p[2];
	if (pipe(p) != 0)
		abort();
	/* more than a buffer: glibc reads whole blocks straight into `got` */
	struct feed fd = { .fd = p[1], .pieces = { piece[0], piece[1], piece[2] }, .pause_ms = PAUSE_MS };
	feed_start(&fd);
	FILE *f = fdopen(p[0], "r");
	CHECK_EQ(fread(got, 1, 36000, f), 36000);
	CHECK(got[0] == 'a' && got[11999] == 'a' && got[12000] == 'b' && got[24000] == 'c' && got[35999] == 'c');
	done_feeding(&fd, f);
}

static void getline_and_getdelim(void)
{
	struct feed fd;
	FILE *f = fed(&fd, 1, "hel", "lo\nwor", "ld:x");
	char *l = NULL;
	size_t n = 0;
	CHECK_EQ(getline(&l, &n, f), 6);
	CHECK(strcmp(l, "hello\n") == 0);
	CHECK_EQ(getdelim(&l, &n, ':', f), 6);
	CHECK(strcmp(l, "world:") == 0);
	CHECK_EQ(getline(&l, &n, f), 1);
	CHECK(strcmp(l, "x") == 0 && feof(f));
	CHECK_EQ(getline(&l, &n, f), -1);
	free(l);
	done_feeding(&fd, f);
}

static void fscanf_across_pieces(void)
{
	struct feed fd;
	FILE *f = fed(&fd, 1, "1", "2 3", "4\n");
	int a = 0, b = 0;
	CHECK_EQ(fscanf(f, "%d %d", &a, &b), 2);
	CHECK_EQ(a, 12);
	CHECK_EQ(b, 34);
	CHECK_EQ(getc(f), '\n'); /* scanf pushed back what ended the number */
	CHECK_EQ(fscanf(f, "%d", &a), EOF);
	CHECK(feof(f) && !ferror(f));
	done_feeding(&fd, f);
}

static void fscanf_pushback_and_mismatch(void)
{
	struct feed fd;
	FILE *f = fed(&fd, 1, "12x", "abc\n", NULL);
	int a = 0;
	char w[8];
	CHECK_EQ(fscanf(f, "%d", &a), 1);
	CHECK_EQ(a, 12);
	CHECK_EQ(getc(f), 'x');
	CHECK_EQ(fscanf(f, "%d", &a), 0); /* "abc" is no number, and stays */
	CHECK_EQ(fscanf(f, "%7s%n", w, &a), 1);
	CHECK(strcmp(w, "abc") == 0);
	CHECK_EQ(a, 3);
	CHECK_EQ(getc(f), '\n');
	done_feeding(&fd, f);
}

static void ungetc_then_wait(void)
{
	struct feed fd;
	FILE *f = fed(&fd, 1, "a", "b", "cd\n");
	CHECK_EQ(getc(f), 'a');
	CHECK_EQ(ungetc('z', f), 'z'); /* not the byte read: glibc's backup area */
	CHECK_EQ(getc(f), 'z');
	CHECK_EQ(getc(f), 'b'); /* waits for more after the backup area */
	CHECK_EQ(ungetc('b', f), 'b');
	CHECK_EQ(ungetc('y', f), 'y');
	char b[16];
	CHECK(fgets(b, sizeof b, f) == b);
	CHECK(strcmp(b, "ybcd\n") == 0);
	done_feeding(&fd, f);
}

static void feof_ferror_clearerr(void)
{
	struct feed fd;
	FILE *f = fed(&fd, 1, "q", NULL, NULL);
	CHECK_EQ(fgetc(f), 'q');
	CHECK(!feof(f));
	CHECK_EQ(fgetc(f), EOF);
	CHECK(feof(f) && !ferror(f));
	clearerr(f);
	CHECK(!feof(f));
	CHECK_EQ(getc(f), EOF); /* the writer is gone: end of file again */
	CHECK(feof(f));
	CHECK_EQ(ungetc('r', f), 'r'); /* pushing back clears end of file */
	CHECK(!feof(f));
	CHECK_EQ(getc(f), 'r');
	done_feeding(&fd, f);
}

/* A terminal can go on after end of file (^D); glibc's end of file sticks
 * until clearerr. */
static void end_of_file_sticks_on_a_terminal(void)
{
	struct chan c;
	if (chan_open(&c, CHAN_TERMINAL, 1) != 0) {
		CHECK(!"no pseudo-terminal");
		return;
	}
	FILE *f = fdopen(c.near, "r");
	c.near = -1;
	struct feed fd = { .fd = c.far, .pieces = { "\x04", "more\n" }, .pause_ms = PAUSE_MS };
	feed_start(&fd);
	CHECK_EQ(getc(f), EOF);
	CHECK(feof(f));
	feed_join(&fd); /* "more\n" is there now */
	CHECK_EQ(getc(f), EOF);
	clearerr(f);
	CHECK_EQ(getc(f), 'm');
	fclose(f);
	chan_close(&c);
}

/* In non-canonical mode with VMIN 0 a terminal's read does not wait for
 * input: end of file at once (VTIME 0) or after VTIME tenths of a second. */
static void terminal_reads_that_do_not_wait(void)
{
	struct chan c;
	if (chan_open(&c, CHAN_TERMINAL, 1) != 0) {
		CHECK(!"no pseudo-terminal");
		return;
	}
	struct termios t;
	tcgetattr(c.near, &t);
	cfmakeraw(&t);
	t.c_cc[VMIN] = 0;
	t.c_cc[VTIME] = 0;
	tcsetattr(c.near, TCSANOW, &t);
	FILE *f = fdopen(c.near, "r");
	c.near = -1;
	CHECK_EQ(getc(f), EOF); /* nothing typed */
	CHECK(feof(f) && !ferror(f));
	clearerr(f);
	t.c_cc[VTIME] = 2; /* 0.2 s */
	tcsetattr(fileno(f), TCSANOW, &t);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ(getc(f), EOF);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) >= 150000000L); /* it waited */
	CHECK(feof(f));
	clearerr(f);
	t.c_cc[VTIME] = 50; /* 5 s: the byte comes first */
	tcsetattr(fileno(f), TCSANOW, &t);
	struct feed fd = { .fd = c.far, .pieces = { "k" }, .pause_ms = PAUSE_MS };
	feed_start(&fd);
	CHECK_EQ(getc(f), 'k');
	feed_join(&fd);
	fclose(f);
	chan_close(&c);
}

/* ---- Interrupted reads -------------------------------------------------- */

static volatile sig_atomic_t handled;
static void on_usr1(int sig) { handled += sig == SIGUSR1; }

struct reader {
	FILE *f;
	volatile int in_call;
	char buf[32];
	char *r;
	int err, ferr;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	r->in_call = 1;
	errno = 0;
	r->r = fgets(r->buf, sizeof r->buf, r->f);
	r->err = errno;
	r->ferr = ferror(r->f);
	r->in_call = 0;
	return NULL;
}

/* Signals the reader while its fgets has not returned, at most `limit`
 * times (a signal that comes before the read only runs the handler). */
static int signal_until_done(pthread_t t, struct reader *r, int limit)
{
	int sent = 0;
	while (!r->in_call)
		sleep_ms(1);
	while (sent < limit && r->in_call) {
		sleep_ms(20);
		if (!r->in_call)
			break;
		pthread_kill(t, SIGUSR1);
		sent++;
	}
	return sent;
}

static void fgets_interrupted_by_a_handler(int restart)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	int p[2];
	if (pipe(p) != 0)
		abort();
	write_all(p[1], "par", 3); /* part of a line, then nothing */
	struct reader r = { .f = fdopen(p[0], "r") };
	pthread_t t;
	pthread_create(&t, NULL, reader_main, &r);
	int sent = signal_until_done(t, &r, restart ? 5 : 200);
	if (restart) {
		CHECK(r.in_call); /* SA_RESTART: still waiting */
		write_all(p[1], "t\n", 2);
		pthread_join(t, NULL);
		CHECK(r.r == r.buf && strcmp(r.buf, "part\n") == 0);
		CHECK(!r.ferr);
	} else {
		pthread_join(t, NULL);
		CHECK(sent < 200);
		CHECK(r.r == NULL); /* the bytes read before the error are lost */
		CHECK_EQ(r.err, EINTR);
		CHECK(r.ferr);
		clearerr(r.f);
		write_all(p[1], "ok\n", 3);
		CHECK(fgets(r.buf, sizeof r.buf, r.f) == r.buf && strcmp(r.buf, "ok\n") == 0);
	}
	CHECK(handled > 0);
	close(p[1]);
	fclose(r.f);
	signal(SIGUSR1, SIG_DFL);
}
static void fgets_interrupted_without_sa_restart(void) { fgets_interrupted_by_a_handler(0); }
static void fgets_restarted_with_sa_restart(void) { fgets_interrupted_by_a_handler(1); }

/* ---- Writing: when bytes reach the descriptor --------------------------- */

static int pending(int fd)
{
	int n = -1;
	ioctl(fd, FIONREAD, &n);
	return n;
}

static FILE *writer_on_pipe(int p[2], int mode)
{
	if (pipe(p) != 0)
		abort();
	FILE *w = fdopen(p[1], "w");
	if (mode != _IOFBF)
		setvbuf(w, NULL, mode, 0);
	return w;
}

static char text[10001];

static void fully_buffered_writes_a_buffer_at_a_time(void)
{
	int p[2];
	FILE *w = writer_on_pipe(p, _IOFBF);
	CHECK_EQ(fputs("0123456789", w), 1);
	CHECK_EQ(pending(p[0]), 0);
	CHECK_EQ(fwrite(text, 1, 5000, w), 5000); /* fills the 4096-byte buffer: one write */
	CHECK_EQ(pending(p[0]), 4096);
	CHECK_EQ(fflush(w), 0);
	CHECK_EQ(pending(p[0]), 5010);
	fclose(w);
	close(p[0]);
}

static void large_writes_go_straight_out(void)
{
	int p[2];
	FILE *w = writer_on_pipe(p, _IOFBF);
	CHECK_EQ(fwrite(text, 1, 10000, w), 10000); /* whole blocks directly, the rest buffered */
	CHECK_EQ(pending(p[0]), 8192);
	CHECK_EQ(fprintf(w, "%s", text + 1000), 9000);
	CHECK_EQ(pending(p[0]), 16384);
	fclose(w);
	CHECK_EQ(pending(p[0]), 19000);
	close(p[0]);
}

static void line_buffered_writes_lines(void)
{
	int p[2];
	FILE *w = writer_on_pipe(p, _IOLBF);
	CHECK_EQ(fputs("a\nb", w), 1);
	CHECK_EQ(pending(p[0]), 2);
	CHECK_EQ(fputc('c', w), 'c');
	CHECK_EQ(pending(p[0]), 2);
	CHECK_EQ(fputc('\n', w), '\n');
	CHECK_EQ(pending(p[0]), 5);
	CHECK_EQ(fprintf(w, "%.*s\n", 5000, text), 5001); /* longer than the buffer */
	CHECK_EQ(pending(p[0]), 5006);
	fclose(w);
	close(p[0]);
}

static void unbuffered_writes_every_call(void)
{
	int p[2];
	FILE *w = writer_on_pipe(p, _IONBF);
	CHECK_EQ(fputs("abc", w), 1);
	CHECK_EQ(pending(p[0]), 3);
	CHECK_EQ(fprintf(w, "%d-%d", 1, 2), 3);
	CHECK_EQ(pending(p[0]), 6);
	CHECK_EQ(putc('x', w), 'x');
	CHECK_EQ(pending(p[0]), 7);
	fclose(w);
	close(p[0]);
}

static void fflush_null_and_fclose_write_out(void)
{
	int p[2];
	FILE *w = writer_on_pipe(p, _IOFBF);
	CHECK_EQ(fputs("hello", w), 1);
	CHECK_EQ(fflush(NULL), 0);
	CHECK_EQ(pending(p[0]), 5);
	CHECK_EQ(fputs(" world", w), 1);
	CHECK_EQ(fclose(w), 0);
	char b[16] = "";
	CHECK_EQ(read(p[0], b, sizeof b), 11);
	CHECK(strcmp(b, "hello world") == 0);
	close(p[0]);
}

static void dprintf_writes_at_once(void)
{
	int p[2];
	if (pipe(p) != 0)
		abort();
	CHECK_EQ(dprintf(p[1], "%s=%d\n", "n", 42), 5);
	CHECK_EQ(pending(p[0]), 5);
	close(p[0]);
	CHECK_EQ(dprintf(p[1], "x"), -1); /* EPIPE: nobody reads */
	CHECK_EQ(errno, EPIPE);
	close(p[1]);
}

/* ---- Writing to a pipe nobody reads: EPIPE ------------------------------ */

static FILE *broken_pipe(int mode)
{
	int p[2];
	FILE *w = writer_on_pipe(p, mode);
	close(p[0]);
	return w;
}

static void write_errors_fully_buffered(void)
{
	FILE *w = broken_pipe(_IOFBF);
	CHECK_EQ(fputs("hello", w), 1); /* only buffered */
	CHECK(!ferror(w));
	errno = 0;
	CHECK_EQ(fflush(w), EOF);
	CHECK_EQ(errno, EPIPE);
	CHECK(ferror(w));
	clearerr(w);
	CHECK_EQ(fflush(w), 0); /* what failed to go out is gone */
	CHECK_EQ(fwrite(text, 1, 10000, w), 4096); /* the buffer's worth "went" before the flush failed */
	CHECK(ferror(w));
	clearerr(w);
	CHECK_EQ(fwrite(text, 1, 100, w), 100);
	CHECK_EQ(fprintf(w, "%s", text + 5000), -1);
	CHECK(ferror(w));
	CHECK_EQ(fclose(w), 0); /* the failed flush emptied the buffer */
}

static void write_errors_line_and_unbuffered(void)
{
	FILE *w = broken_pipe(_IOLBF);
	CHECK_EQ(fputs("a\nb", w), EOF);
	CHECK(ferror(w));
	clearerr(w);
	CHECK_EQ(fputc('x', w), 'x');
	CHECK_EQ(fputc('\n', w), EOF);
	CHECK_EQ(fprintf(w, "%d\n", 7), -1);
	fclose(w);
	w = broken_pipe(_IONBF);
	CHECK_EQ(fputc('x', w), EOF);
	CHECK(ferror(w));
	CHECK_EQ(fwrite("abc", 1, 3, w), 0);
	CHECK_EQ(fputs("abc", w), EOF);
	CHECK_EQ(fclose(w), 0); /* nothing left to write */
}

/* ---- stdin and stdout ---------------------------------------------------- */

/* glibc writes out a line-buffered stdout before it reads a terminal: the
 * prompt shows before the program waits for the answer.  The thread on the
 * other side answers only once it has seen the prompt. */
struct prompter {
	int master;
	int saw_prompt;
};

static void *answer_after_prompt(void *arg)
{
	struct prompter *p = arg;
	char b[64];
	size_t n = 0;
	while (n < 7) {
		ssize_t r = read(p->master, b + n, sizeof b - n);
		if (r <= 0)
			return NULL;
		n += (size_t)r;
	}
	p->saw_prompt = memcmp(b, "number?", 7) == 0;
	write_all(p->master, "7\n", 2);
	return NULL;
}

static void terminal_stdin_writes_out_stdout_first(void)
{
	struct chan c;
	if (chan_open(&c, CHAN_TERMINAL, 1) != 0) {
		CHECK(!"no pseudo-terminal");
		return;
	}
	fflush(stdout);
	int in = dup(0), out = dup(1);
	dup2(c.near, 0);
	dup2(c.near, 1);
	clearerr(stdin);
	setvbuf(stdout, NULL, _IOLBF, BUFSIZ);
	struct prompter p = { .master = c.far };
	pthread_t t;
	pthread_create(&t, NULL, answer_after_prompt, &p);
	printf("number?");
	int n = 0;
	int r = scanf("%d", &n);
	CHECK_EQ(getchar(), '\n');
	pthread_join(t, NULL);
	fflush(stdout);
	setvbuf(stdout, NULL, _IOFBF, BUFSIZ);
	dup2(in, 0);
	dup2(out, 1);
	close(in);
	close(out);
	CHECK(p.saw_prompt);
	CHECK_EQ(r, 1);
	CHECK_EQ(n, 7);
	chan_close(&c);
}

static void stdout_on_a_pipe(void)
{
	int p[2];
	if (pipe(p) != 0)
		abort();
	fflush(stdout);
	int out = dup(1);
	dup2(p[1], 1);
	close(p[1]);
	CHECK_EQ(printf("%s %d", "x", 1), 3);
	CHECK_EQ(puts("!"), 2);
	CHECK_EQ(putchar('y'), 'y');
	CHECK_EQ(pending(p[0]), 0); /* stdout keeps what it had: fully buffered */
	CHECK_EQ(fflush(stdout), 0);
	char b[16] = "";
	CHECK_EQ(read(p[0], b, sizeof b), 6);
	CHECK(strcmp(b, "x 1!\ny") == 0);
	close(p[0]);
	CHECK_EQ(printf("lost"), 4);
	CHECK_EQ(fflush(stdout), EOF); /* EPIPE */
	CHECK(ferror(stdout));
	clearerr(stdout);
	dup2(out, 1);
	close(out);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	memset(text, 't', sizeof text - 1);
	watchdog_arm("the stdio semantics checks", 60);
	RUN(fgets_waits_for_the_whole_line);
	RUN(fgets_at_end_of_file);
	RUN(fgets_splits_long_lines);
	RUN(fread_returns_whole_elements);
	RUN(fread_waits_for_all_it_asked);
	RUN(getline_and_getdelim);
	RUN(fscanf_across_pieces);
	RUN(fscanf_pushback_and_mismatch);
	RUN(ungetc_then_wait);
	RUN(feof_ferror_clearerr);
	RUN(end_of_file_sticks_on_a_terminal);
	RUN(terminal_reads_that_do_not_wait);
	RUN(fgets_interrupted_without_sa_restart);
	RUN(fgets_restarted_with_sa_restart);
	RUN(fully_buffered_writes_a_buffer_at_a_time);
	RUN(large_writes_go_straight_out);
	RUN(line_buffered_writes_lines);
	RUN(unbuffered_writes_every_call);
	RUN(fflush_null_and_fclose_write_out);
	RUN(dprintf_writes_at_once);
	RUN(write_errors_fully_buffered);
	RUN(write_errors_line_and_unbuffered);
	RUN(terminal_stdin_writes_out_stdout_first);
	RUN(stdout_on_a_pipe);
	watchdog_disarm();
	TAP_DONE();
}
