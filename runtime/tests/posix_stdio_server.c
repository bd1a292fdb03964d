/* The two hangs of the issue.  fgets on a pipe whose writer is another
 * thread of the same program must return (the writer has to run); and a
 * server whose main thread waits in getchar() — stdin a pipe or a
 * terminal, as some libraries' examples do — keeps answering requests
 * meanwhile.  Here the server speaks stdio on a socket, and its client is
 * the one that finally types the key main waits for. */
#define _GNU_SOURCE
#include "stdio_test.h"
#include "ticker.h"

#define LINES 3000

static FILE *pipe_out;

static void *write_lines(void *arg)
{
	(void)arg;
	for (int i = 0; i < LINES; i++) {
		fprintf(pipe_out, "line %d\n", i);
		if (i % 10 == 9)
			fflush(pipe_out);
	}
	fclose(pipe_out);
	return NULL;
}

static void fgets_from_a_pipe_another_thread_writes(void)
{
	int p[2];
	if (pipe(p) != 0)
		abort();
	pipe_out = fdopen(p[1], "w");
	FILE *in = fdopen(p[0], "r");
	pthread_t t;
	pthread_create(&t, NULL, write_lines, NULL);
	char line[64], want[64];
	int n = 0, wrong = 0;
	while (fgets(line, sizeof line, in)) {
		snprintf(want, sizeof want, "line %d\n", n++);
		wrong += strcmp(line, want) != 0;
	}
	pthread_join(t, NULL);
	CHECK_EQ(n, LINES);
	CHECK_EQ(wrong, 0);
	CHECK(feof(in) && !ferror(in));
	fclose(in);
}

/* ---- main waits in getchar() while threads serve ------------------------ */

#define REQUESTS 200

/* Answers "n\n" with "n squared is n*n\n" until "quit". */
static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	FILE *in = fdopen(fd, "r"), *out = fdopen(dup(fd), "w");
	char req[64];
	while (fgets(req, sizeof req, in) && strcmp(req, "quit\n") != 0) {
		long n = atol(req);
		fprintf(out, "%ld squared is %ld\n", n, n * n);
		fflush(out);
	}
	fclose(out);
	fclose(in);
	return NULL;
}

struct client {
	int fd, key_fd;
	int answered;
};

/* Asks REQUESTS questions, then (a moment later) presses the key main
 * waits for. */
static void *ask(void *arg)
{
	struct client *c = arg;
	FILE *in = fdopen(c->fd, "r"), *out = fdopen(dup(c->fd), "w");
	char got[64], want[64];
	for (long n = 0; n < REQUESTS; n++) {
		fprintf(out, "%ld\n", n);
		fflush(out);
		snprintf(want, sizeof want, "%ld squared is %ld\n", n, n * n);
		if (fgets(got, sizeof got, in) && strcmp(got, want) == 0)
			c->answered++;
	}
	fputs("quit\n", out);
	fclose(out);
	fclose(in);
	sleep_ms(200); /* main goes on waiting, the ticker ticking */
	write_all(c->key_fd, "q\n", 2);
	return NULL;
}

static void main_waits_in_getchar(enum chan_kind stdin_kind)
{
	struct chan key;
	int s[2];
	if (chan_open(&key, stdin_kind, 1) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, s) != 0) {
		CHECK(!"cannot open stdin's channel or the socket");
		return;
	}
	int saved = dup(0);
	dup2(key.near, 0);
	clearerr(stdin);
	struct client c = { .fd = s[1], .key_fd = key.far };
	pthread_t server, client;
	pthread_create(&server, NULL, serve, (void *)(long)s[0]);
	pthread_create(&client, NULL, ask, &c);
	TICKER_OPEN();
	int ch = getchar();
	CHECK_TICKED(TICKER_CLOSE());
	CHECK_EQ(ch, 'q');
	CHECK_EQ(c.answered, REQUESTS); /* all answered before the key came */
	CHECK_EQ(getchar(), '\n');
	pthread_join(client, NULL);
	pthread_join(server, NULL);
	dup2(saved, 0);
	close(saved);
	chan_close(&key);
}

static void main_waits_in_getchar_on_a_pipe(void) { main_waits_in_getchar(CHAN_PIPE); }
static void main_waits_in_getchar_on_a_terminal(void) { main_waits_in_getchar(CHAN_TERMINAL); }

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	ticker_start();
	watchdog_arm("fgets on a pipe another thread writes", 30);
	RUN(fgets_from_a_pipe_another_thread_writes);
	watchdog_arm("main waiting in getchar() on a pipe while threads serve", 30);
	RUN(main_waits_in_getchar_on_a_pipe);
	watchdog_arm("main waiting in getchar() on a terminal while threads serve", 30);
	RUN(main_waits_in_getchar_on_a_terminal);
	watchdog_disarm();
	ticker_stop();
	TAP_DONE();
}
