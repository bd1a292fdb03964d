/* mhd-server: a page server on GNU libmicrohttpd, in one of its threading
 * modes.  Writes "port N" once it listens, serves until its standard input
 * closes, then stops the daemon (which joins its threads) and says how many
 * requests it answered.
 *
 *   mhd-server per-connection   a thread per connection, each polling its socket
 *   mhd-server pool             four threads sharing the listening socket, each
 *                               with its own event loop (epoll on Linux)
 * (MHD_USE_AUTO: the polling a real server built on it gets.)
 *
 * GET /page/N answers N numbered lines; GET /slow/MS writes "slow" on
 * standard output, then sleeps MS milliseconds in the handler before it
 * answers (a request in progress when the daemon stops, whose thread the
 * stop must join); anything else is a 404. */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned long answered;

static struct MHD_Response *page(unsigned n)
{
	size_t cap = 32 + (size_t)n * 48, len = 0;
	char *body = malloc(cap);
	len += (size_t)snprintf(body + len, cap - len, "page of %u lines\n", n);
	for (unsigned i = 1; i <= n; i++)
		len += (size_t)snprintf(body + len, cap - len, "line %u of %u: %08x\n", i, n, i * 2654435761u);
	return MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			     const char *version, const char *upload, size_t *upload_size, void **state)
{
	unsigned n;
	char rest;
	if (strcmp(method, "GET") != 0)
		return MHD_NO;
	if (sscanf(url, "/slow/%u%c", &n, &rest) == 1 && n <= 60000) {
		printf("slow\n");
		fflush(stdout);
		usleep(n * 1000u);
		n = 1;
	} else if (sscanf(url, "/page/%u%c", &n, &rest) != 1) {
		n = ~0u;
	}
	int found = n <= 1000000;
	struct MHD_Response *r =
		found ? page(n) : MHD_create_response_from_buffer(10, "not found\n", MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "text/plain");
	enum MHD_Result ret = MHD_queue_response(c, found ? MHD_HTTP_OK : MHD_HTTP_NOT_FOUND, r);
	MHD_destroy_response(r);
	__atomic_add_fetch(&answered, 1, __ATOMIC_RELAXED);
	return ret;
}

int main(int argc, char **argv)
{
	struct MHD_Daemon *d = NULL;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (argc == 2 && strcmp(argv[1], "per-connection") == 0)
		d = MHD_start_daemon(flags | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO, 0, NULL, NULL, serve, NULL,
				     MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	else if (argc == 2 && strcmp(argv[1], "pool") == 0)
		d = MHD_start_daemon(flags | MHD_USE_AUTO, 0, NULL, NULL, serve, NULL, MHD_OPTION_THREAD_POOL_SIZE, 4u,
				     MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
	else {
		fprintf(stderr, "usage: mhd-server per-connection|pool\n");
		return 2;
	}
	if (!d) {
		fprintf(stderr, "mhd-server: MHD_start_daemon failed\n");
		return 1;
	}
	printf("port %u\n", (unsigned)MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)->port);
	fflush(stdout);
	char buf[64];
	while (read(0, buf, sizeof buf) > 0)
		;
	MHD_stop_daemon(d);
	printf("answered %lu requests\n", answered);
	return 0;
}
