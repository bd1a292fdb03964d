/* An unmodified POSIX thread-per-connection echo server (echo_posix) serves
 * 10,000 concurrent loopback connections from a client that is itself
 * 10,000 pthreads — both running on Capriccio user threads. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include "spawn_child.h"
#include "tap.h"

static char exe[4096];

static void ten_thousand_connections(void)
{
	struct child srv, cli;
	char *sargv[] = { exe, "server", NULL };
	CHECK_EQ(child_start(&srv, sargv, NULL, 1, 0), 0);
	char line[256];
	child_line(srv.out, line, sizeof line);
	int port = 0;
	CHECK(sscanf(line, "port=%d", &port) == 1 && port > 0);
	char ports[16];
	snprintf(ports, sizeof ports, "%d", port);
	char *cargv[] = { exe, "client", ports, "10000", "10", NULL };
	CHECK_EQ(child_start(&cli, cargv, NULL, 1, 0), 0);
	char out[256];
	child_slurp(cli.out, out, sizeof out);
	int st = child_wait(&cli);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(strstr(out, "ok=10000 errors=0") != NULL);
	printf("  client: %s", out);
	/* SIGTERM: the server's accept returns EINTR and it reports. */
	kill(srv.pid, SIGTERM);
	child_slurp(srv.out, out, sizeof out);
	st = child_wait(&srv);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	long served = 0, maxc = 0;
	CHECK(sscanf(out, "served=%ld max_concurrent=%ld", &served, &maxc) == 2);
	CHECK_EQ(served, 10000);
	CHECK_EQ(maxc, 10000); /* all open at the same time */
	printf("  server: %s", out);
}

int main(int argc, char **argv)
{
	snprintf(exe, sizeof exe, "%s", argv[0]);
	char *slash = strrchr(exe, '/');
	snprintf(slash ? slash + 1 : exe, sizeof exe - (size_t)(slash ? slash + 1 - exe : 0), "echo_posix");
	RUN(ten_thousand_connections);
	TAP_DONE();
}
