/* Built with _FORTIFY_SOURCE, gcc calls the checking variants: printf
 * becomes __printf_chk, fprintf __fprintf_chk, vfprintf __vfprintf_chk,
 * fgets and fread into arrays of known size __fgets_chk and __fread_chk,
 * dprintf __dprintf_chk.  They too park only the calling thread, with
 * glibc's results. */
#undef _FORTIFY_SOURCE
#define _FORTIFY_SOURCE 2
#define _GNU_SOURCE
#include <stdarg.h>
#include "stdio_test.h"
#include "ticker.h"

#define PAUSE_MS 200

static void fgets_and_fread_wait(void)
{
	struct chan c;
	if (chan_open(&c, CHAN_SOCKET, 1) != 0)
		abort();
	FILE *f = fdopen(c.near, "r");
	c.near = -1;
	struct feed fd = { .fd = c.far, .pieces = { "first line\n", "0123456789" }, .pause_ms = PAUSE_MS };
	feed_start(&fd);
	char line[32], block[10];
	volatile int line_size = sizeof line, one = 1; /* not constants: gcc keeps the checking calls */
	TICKER_OPEN();
	char *r = fgets(line, line_size, f); /* __fgets_chk */
	CHECK_TICKED(TICKER_CLOSE());
	CHECK(r == line && strcmp(line, "first line\n") == 0);
	TICKER_OPEN();
	size_t n = fread(block, (size_t)one, sizeof block, f); /* __fread_chk */
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(n, sizeof block);
	CHECK(memcmp(block, "0123456789", 10) == 0);
	feed_join(&fd);
	fclose(f);
	chan_close(&c);
}

static int via_vfprintf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = vfprintf(f, fmt, ap); /* __vfprintf_chk */
	va_end(ap);
	return r;
}

#define LINES 4000 /* of 100 bytes: more than the pipe holds */

static void printf_family_waits_for_a_slow_reader(void)
{
	int p[2];
	if (pipe(p) != 0)
		abort();
	struct drain d = { .fd = p[0], .pause_ms = PAUSE_MS, .expect = 3 * LINES * 100 + 11 };
	drain_start(&d);
	fflush(stdout);
	int saved = dup(1);
	dup2(p[1], 1);
	FILE *f = fdopen(p[1], "w");
	long total = 0;
	TICKER_OPEN();
	for (int i = 0; i < LINES; i++) {
		total += printf("%092d printf\n", i);            /* __printf_chk */
		total += fprintf(f, "%091d fprintf\n", i);       /* __fprintf_chk */
		total += via_vfprintf(f, "%090d vfprintf\n", i); /* __vfprintf_chk */
	}
	fflush(stdout);
	fflush(f);
	total += dprintf(p[1], "%s\n", "dprintf!!!"); /* __dprintf_chk */
	CHECK_TICKED(TICKER_CLOSE());
	fclose(f);
	dup2(saved, 1);
	close(saved);
	drain_join(&d);
	close(p[0]);
	CHECK_EQ(total, 3 * LINES * 100 + 11);
	CHECK_EQ(d.got, 3 * LINES * 100 + 11);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	ticker_start();
	watchdog_arm("the _FORTIFY_SOURCE variants", 30);
	RUN(fgets_and_fread_wait);
	RUN(printf_family_waits_for_a_slow_reader);
	watchdog_disarm();
	ticker_stop();
	TAP_DONE();
}
