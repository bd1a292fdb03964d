/* stdio called from a prebuilt shared library (tests/stdio_peer.c, plain
 * gcc) parks only its caller too: the runtime's definitions are the ones
 * the library's calls resolve to. */
#define _GNU_SOURCE
#include "stdio_test.h"

int peer_getchar(void);
char *peer_fgets(char *buf, int n, FILE *f);
int peer_serve(FILE *in, FILE *out);

static void library_fgets_on_a_pipe_another_thread_writes(void)
{
	int p[2];
	if (pipe(p) != 0)
		abort();
	struct feed fd = { .fd = p[1], .pieces = { "from ", "the writer\n" }, .pause_ms = 50, .close_after = 1 };
	feed_start(&fd);
	FILE *in = fdopen(p[0], "r");
	char line[64];
	CHECK(peer_fgets(line, sizeof line, in) == line);
	CHECK(strcmp(line, "from the writer\n") == 0);
	CHECK(peer_fgets(line, sizeof line, in) == NULL && feof(in));
	feed_join(&fd);
	fclose(in);
}

#define REQUESTS 100

struct served {
	int fd, n;
};

static void *library_server(void *arg)
{
	struct served *s = arg;
	FILE *in = fdopen(s->fd, "r"), *out = fdopen(dup(s->fd), "w");
	s->n = peer_serve(in, out);
	fclose(out);
	fclose(in);
	return NULL;
}

struct asker {
	int fd, key, answered;
};

/* Asks, checks each answer, then presses the key main waits for. */
static void *ask(void *arg)
{
	struct asker *a = arg;
	FILE *in = fdopen(a->fd, "r"), *out = fdopen(dup(a->fd), "w");
	char got[64], want[64];
	for (int i = 0; i < REQUESTS; i++) {
		fprintf(out, "request %d\n", i);
		fflush(out);
		snprintf(want, sizeof want, "echo request %d\n", i);
		if (fgets(got, sizeof got, in) && strcmp(got, want) == 0)
			a->answered++;
	}
	fputs("quit\n", out);
	fclose(out);
	fclose(in);
	write_all(a->key, "q\n", 2);
	close(a->key);
	return NULL;
}

/* main waits in the library's getchar() (stdin a pipe) while a thread
 * serves through the library. */
static void library_serves_while_main_waits_in_its_getchar(void)
{
	int s[2], key[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) != 0 || pipe(key) != 0)
		abort();
	int saved = dup(0);
	dup2(key[0], 0);
	close(key[0]);
	clearerr(stdin);
	struct served srv = { .fd = s[0] };
	struct asker a = { .fd = s[1], .key = key[1] };
	pthread_t server, client;
	pthread_create(&server, NULL, library_server, &srv);
	pthread_create(&client, NULL, ask, &a);
	CHECK_EQ(peer_getchar(), 'q');
	CHECK_EQ(a.answered, REQUESTS);
	pthread_join(client, NULL);
	pthread_join(server, NULL);
	CHECK_EQ(srv.n, REQUESTS);
	dup2(saved, 0);
	close(saved);
}

int main(void)
{
	watchdog_arm("stdio called from a shared library", 30);
	RUN(library_fgets_on_a_pipe_another_thread_writes);
	RUN(library_serves_while_main_waits_in_its_getchar);
	watchdog_disarm();
	TAP_DONE();
}
