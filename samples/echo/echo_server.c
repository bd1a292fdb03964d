/*
 * echo_server — a TCP echo server in the plain thread-per-connection style.
 *
 *   echo_server PORT
 *
 * Listens on 127.0.0.1:PORT (PORT 0 picks a free port), prints
 * "listening on PORT" with the actual port, then serves each accepted
 * connection on its own thread: a blocking read/write loop until the peer
 * closes. Plain POSIX C11: built with capcc, the same code runs on Capriccio's
 * user-level threads.
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rw.h"

static void *serve(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n == 0)
			break; /* peer closed */
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != ECONNRESET)
				perror("echo_server: read");
			break;
		}
		if (write_all(fd, buf, (size_t)n) < 0) {
			if (errno != EPIPE && errno != ECONNRESET)
				perror("echo_server: write");
			break;
		}
	}
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s PORT\n", argv[0]);
		return 2;
	}
	char *end;
	long port = strtol(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || port < 0 || port > 65535) {
		fprintf(stderr, "echo_server: bad port '%s'\n", argv[1]);
		return 2;
	}

	signal(SIGPIPE, SIG_IGN); /* a peer that closes early gives EPIPE, not death */

	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0) {
		perror("echo_server: socket");
		return 1;
	}
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);

	struct sockaddr_in addr;
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons((uint16_t)port);
	if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		perror("echo_server: bind");
		return 1;
	}
	if (listen(lfd, SOMAXCONN) < 0) {
		perror("echo_server: listen");
		return 1;
	}
	socklen_t alen = sizeof addr;
	if (getsockname(lfd, (struct sockaddr *)&addr, &alen) < 0) {
		perror("echo_server: getsockname");
		return 1;
	}
	printf("listening on %u\n", (unsigned)ntohs(addr.sin_port));
	fflush(stdout);

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);

	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("echo_server: accept");
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				sleep(1); /* out of a resource: let connections finish */
				continue;
			}
			return 1;
		}
		pthread_t tid;
		int err = pthread_create(&tid, &attr, serve, (void *)(intptr_t)fd);
		if (err != 0) {
			fprintf(stderr, "echo_server: pthread_create: %s\n", strerror(err));
			close(fd);
		}
	}
}
