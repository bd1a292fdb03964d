/*
 * echo_client — load generator for echo_server, one thread per connection.
 *
 *   echo_client HOST PORT CONNECTIONS MESSAGES SIZE
 *
 * Each of CONNECTIONS threads connects to HOST:PORT, then MESSAGES times
 * sends SIZE bytes and reads them back, checking every byte. A connection
 * stops at its first error. Prints one line:
 *
 *   connections=C messages=M bytes=B errors=E seconds=S
 *
 * (C connections that completed, M messages and B bytes echoed correctly,
 * E failed connections) and exits 1 if E > 0. Plain POSIX C11.
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rw.h"

struct job {
	const struct addrinfo *addr;
	long id;
	long messages;
	size_t size;
	/* results */
	long echoed;
	int failed;
	char error[160];
};

static void fail(struct job *job, const char *what, int err)
{
	job->failed = 1;
	snprintf(job->error, sizeof job->error, "connection %ld: %s%s%s", job->id, what,
		 err ? ": " : "", err ? strerror(err) : "");
}

static void *run_connection(void *arg)
{
	struct job *job = arg;
	char *out = malloc(job->size ? job->size : 1);
	char *in = malloc(job->size ? job->size : 1);
	int fd = -1;

	if (!out || !in) {
		fail(job, "out of memory", 0);
		goto done;
	}
	fd = socket(job->addr->ai_family, job->addr->ai_socktype, job->addr->ai_protocol);
	if (fd < 0) {
		fail(job, "socket", errno);
		goto done;
	}
	if (connect(fd, job->addr->ai_addr, job->addr->ai_addrlen) < 0) {
		fail(job, "connect", errno);
		goto done;
	}
	for (long m = 0; m < job->messages; m++) {
		for (size_t i = 0; i < job->size; i++)
			out[i] = (char)(job->id * 31 + m * 7 + (long)i);
		if (write_all(fd, out, job->size) < 0) {
			fail(job, "write", errno);
			goto done;
		}
		int r = read_all(fd, in, job->size);
		if (r != 0) {
			fail(job, r > 0 ? "server closed the connection early" : "read", r > 0 ? 0 : errno);
			goto done;
		}
		if (memcmp(in, out, job->size) != 0) {
			fail(job, "echoed bytes differ from the bytes sent", 0);
			goto done;
		}
		job->echoed++;
	}
done:
	if (fd >= 0)
		close(fd);
	free(out);
	free(in);
	return NULL;
}

static long parse_count(const char *s, const char *name, long min)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v < min) {
		fprintf(stderr, "echo_client: bad %s '%s' (an integer >= %ld)\n", name, s, min);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: %s HOST PORT CONNECTIONS MESSAGES SIZE\n", argv[0]);
		return 2;
	}
	const char *host = argv[1], *port = argv[2];
	long connections = parse_count(argv[3], "connection count", 1);
	long messages = parse_count(argv[4], "message count", 0);
	long size = parse_count(argv[5], "message size", 1);

	signal(SIGPIPE, SIG_IGN);

	struct addrinfo hints, *addr;
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	int gai = getaddrinfo(host, port, &hints, &addr);
	if (gai != 0) {
		fprintf(stderr, "echo_client: %s:%s: %s\n", host, port, gai_strerror(gai));
		return 2;
	}

	struct job *jobs = calloc((size_t)connections, sizeof *jobs);
	pthread_t *tids = calloc((size_t)connections, sizeof *tids);
	char *started = calloc((size_t)connections, 1);
	if (!jobs || !tids || !started) {
		fprintf(stderr, "echo_client: out of memory\n");
		return 1;
	}

	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long c = 0; c < connections; c++) {
		jobs[c] = (struct job){ .addr = addr, .id = c, .messages = messages, .size = (size_t)size };
		int err = pthread_create(&tids[c], NULL, run_connection, &jobs[c]);
		if (err != 0)
			fail(&jobs[c], "pthread_create", err);
		else
			started[c] = 1;
	}
	long done = 0, echoed = 0, errors = 0;
	for (long c = 0; c < connections; c++) {
		if (started[c])
			pthread_join(tids[c], NULL);
		echoed += jobs[c].echoed;
		if (jobs[c].failed) {
			if (errors < 5)
				fprintf(stderr, "echo_client: %s\n", jobs[c].error);
			errors++;
		} else {
			done++;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (errors > 5)
		fprintf(stderr, "echo_client: ... and %ld more failed connections\n", errors - 5);

	printf("connections=%ld messages=%ld bytes=%ld errors=%ld seconds=%.3f\n", done, echoed,
	       echoed * size, errors, seconds);

	freeaddrinfo(addr);
	free(jobs);
	free(tids);
	free(started);
	return errors > 0 ? 1 : 0;
}
