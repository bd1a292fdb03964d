/* stdio on a pipe, a socket or a terminal parks only the calling thread
 * (and on a terminal's master side, for a few of the calls):
 * while getchar, fgets, fread, fscanf, getline, getc, getc_unlocked wait
 * for data, and while fprintf, fwrite, fputs, fflush, puts, putchar,
 * putc_unlocked wait for a slow reader, a ticker thread keeps ticking.
 * The other end is fed or drained by another thread of this program, so a
 * call that blocked every thread would hang the test (the watchdog then
 * fails it). */
#define _GNU_SOURCE
#include "stdio_test.h"
#include "ticker.h"

#define PAUSE_MS 200
#define LINE "42 abc\n"

/* ---- Reading: the line arrives PAUSE_MS after the call started ---------- */

static void read_with_getchar(FILE *f)
{
	(void)f;
	CHECK_EQ(getchar(), '4');
}
static void read_with_fgets(FILE *f)
{
	char b[64] = "";
	CHECK(fgets(b, sizeof b, f) == b);
	CHECK(strcmp(b, LINE) == 0);
}
static void read_with_fread(FILE *f)
{
	char b[8] = "";
	CHECK_EQ(fread(b, 1, 7, f), 7);
	CHECK(memcmp(b, LINE, 7) == 0);
}
static void read_with_fscanf(FILE *f)
{
	int n = 0;
	char w[8] = "";
	CHECK_EQ(fscanf(f, "%d %7s", &n, w), 2);
	CHECK_EQ(n, 42);
	CHECK(strcmp(w, "abc") == 0);
}
static void read_with_getline(FILE *f)
{
	char *l = NULL;
	size_t n = 0;
	CHECK_EQ(getline(&l, &n, f), 7);
	CHECK(l && strcmp(l, LINE) == 0);
	free(l);
}
static void read_with_getc(FILE *f) { CHECK_EQ(getc(f), '4'); }
static void read_with_getc_unlocked(FILE *f) /* the macro: __uflow when the buffer is empty */
{
	flockfile(f);
	int c = getc_unlocked(f);
	funlockfile(f);
	CHECK_EQ(c, '4');
}

static const struct {
	const char *name;
	void (*call)(FILE *);
	int on_master;
} readers[] = {
	{ "getchar", read_with_getchar, 0 }, { "fgets", read_with_fgets, 1 },     { "fread", read_with_fread, 1 },
	{ "fscanf", read_with_fscanf, 0 },   { "getline", read_with_getline, 0 }, { "getc", read_with_getc, 0 },
	{ "getc_unlocked", read_with_getc_unlocked, 0 },
};

static void read_case(int r, enum chan_kind k)
{
	struct chan c;
	if (chan_open(&c, k, 1) != 0) {
		CHECK(!"cannot open the channel");
		return;
	}
	FILE *f;
	if (readers[r].call == read_with_getchar) { /* stdin itself */
		dup2(c.near, 0);
		close(c.near);
		c.near = -1;
		clearerr(stdin);
		f = stdin;
	} else {
		f = fdopen(c.near, "r");
		c.near = -1;
	}
	struct feed fd = { .fd = c.far, .pieces = { LINE }, .pause_ms = PAUSE_MS };
	feed_start(&fd);
	TICKER_OPEN();
	readers[r].call(f);
	CHECK_TICKED(TICKER_CLOSE());
	feed_join(&fd);
	if (f == stdin) { /* leave stdin's buffer empty for the next case */
		int ch;
		while ((ch = getchar()) != '\n' && ch != EOF) {
		}
	} else {
		fclose(f);
	}
	chan_close(&c);
}

/* ---- Writing: more than the channel holds, drained PAUSE_MS later ------- */

#define TOTAL (512 * 1024)
#define LINES (TOTAL / 100) /* of 100 bytes, for the line-writing calls */
static char block[TOTAL];

static size_t write_with_fprintf(FILE *f)
{
	size_t n = 0;
	for (int i = 0; i < LINES; i++)
		n += (size_t)fprintf(f, "%.*s%08d\n", 91, block, i);
	fflush(f);
	return n;
}
static size_t write_with_printf(FILE *f)
{
	size_t n = 0;
	for (int i = 0; i < LINES; i++)
		n += (size_t)printf("%.*s%08d\n", 91, block, i);
	fflush(f);
	return n;
}
static size_t write_with_fwrite(FILE *f)
{
	CHECK_EQ(fwrite(block, 1, TOTAL, f), TOTAL);
	fflush(f);
	return TOTAL;
}
static size_t write_with_fputs(FILE *f)
{
	char line[101];
	memcpy(line, block, 100);
	line[99] = '\n';
	line[100] = 0;
	for (int i = 0; i < LINES; i++)
		CHECK(fputs(line, f) >= 0);
	fflush(f);
	return LINES * 100;
}
static size_t write_with_puts(FILE *f)
{
	char line[100];
	memcpy(line, block, 99);
	line[99] = 0;
	for (int i = 0; i < LINES; i++)
		CHECK(puts(line) >= 0);
	fflush(f);
	return LINES * 100;
}
static size_t write_with_putchar(FILE *f)
{
	for (size_t n = 0; n < TOTAL; n++)
		CHECK(putchar(block[n]) != EOF);
	fflush(f);
	return TOTAL;
}
static size_t write_with_putc_unlocked(FILE *f) /* the macro: __overflow when the buffer is full */
{
	flockfile(f);
	for (size_t n = 0; n < TOTAL; n++)
		putc_unlocked(block[n], f);
	funlockfile(f);
	fflush(f);
	return TOTAL;
}
static char big_buffer[TOTAL + 1];
static size_t write_with_fflush(FILE *f) /* everything is buffered until fflush */
{
	setvbuf(f, big_buffer, _IOFBF, sizeof big_buffer);
	CHECK_EQ(fwrite(block, 1, TOTAL, f), TOTAL);
	CHECK_EQ(fflush(f), 0);
	return TOTAL;
}

static const struct {
	const char *name;
	size_t (*call)(FILE *);
	int on_stdout, on_master;
} writers[] = {
	{ "fprintf", write_with_fprintf, 0, 1 }, { "fwrite", write_with_fwrite, 0, 1 },
	{ "fputs", write_with_fputs, 0, 0 },     { "fflush", write_with_fflush, 0, 1 },
	{ "putc_unlocked", write_with_putc_unlocked, 0, 0 },
	{ "printf", write_with_printf, 1, 0 },   { "puts", write_with_puts, 1, 0 },
	{ "putchar", write_with_putchar, 1, 0 },
};

static void write_case(int w, enum chan_kind k)
{
	struct chan c;
	if (chan_open(&c, k, 0) != 0) {
		CHECK(!"cannot open the channel");
		return;
	}
	FILE *f;
	int saved_stdout = -1;
	if (writers[w].on_stdout) {
		fflush(stdout);
		saved_stdout = dup(1);
		dup2(c.near, 1);
		f = stdout;
	} else {
		f = fdopen(c.near, "w");
	}
	struct drain d = { .fd = c.far, .pause_ms = PAUSE_MS };
	unsigned long want = 0;
	/* What will be written, in order, for the drainer to check against. */
	char line[128];
	if (writers[w].call == write_with_fprintf || writers[w].call == write_with_printf) {
		for (int i = 0; i < LINES; i++) {
			snprintf(line, sizeof line, "%.*s%08d\n", 91, block, i);
			want = sum_bytes(want, line, 100);
		}
		d.expect = LINES * 100;
	} else if (writers[w].call == write_with_fputs || writers[w].call == write_with_puts) {
		memcpy(line, block, 100);
		line[99] = '\n';
		for (int i = 0; i < LINES; i++)
			want = sum_bytes(want, line, 100);
		d.expect = LINES * 100;
	} else {
		want = sum_bytes(0, block, TOTAL);
		d.expect = TOTAL;
	}
	drain_start(&d);
	TICKER_OPEN();
	size_t n = writers[w].call(f);
	CHECK_TICKED(TICKER_CLOSE());
	drain_join(&d);
	if (saved_stdout >= 0) {
		fflush(stdout);
		dup2(saved_stdout, 1);
		close(saved_stdout);
		c.near = -1; /* dup2 closed it */
	} else {
		fclose(f);
		c.near = -1;
	}
	CHECK_EQ(n, d.expect);
	CHECK_EQ(d.got, d.expect);
	CHECK(d.sum == want);
	chan_close(&c);
}

int main(void)
{
	for (size_t i = 0; i < sizeof block; i++)
		block[i] = (char)('a' + i % 26);
	block[sizeof block - 1] = '\n';
	signal(SIGPIPE, SIG_IGN);
	ticker_start();
	char label[96];
	for (int k = CHAN_PIPE; k <= CHAN_TERMINAL_MASTER; k++) {
		for (size_t r = 0; r < sizeof readers / sizeof *readers; r++) {
			if (k == CHAN_TERMINAL_MASTER && !readers[r].on_master)
				continue;
			snprintf(label, sizeof label, "%s on %s parks only its caller", readers[r].name, chan_names[k]);
			watchdog_arm(label, 20);
			RUN_AS(label, read_case((int)r, (enum chan_kind)k));
		}
		for (size_t w = 0; w < sizeof writers / sizeof *writers; w++) {
			if (k == CHAN_TERMINAL_MASTER && !writers[w].on_master)
				continue;
			snprintf(label, sizeof label, "%s on %s parks only its caller", writers[w].name, chan_names[k]);
			watchdog_arm(label, 20);
			RUN_AS(label, write_case((int)w, (enum chan_kind)k));
		}
	}
	watchdog_disarm();
	ticker_stop();
	TAP_DONE();
}
