/* A thread-per-connection echo server and its load client, written against
 * POSIX only (no Capriccio header): the program test_echo runs unmodified
 * on user threads.
 *   echo_posix server            prints "port=P", serves until SIGTERM, then
 *                                prints "served=N max_concurrent=M"
 *   echo_posix client PORT N MSGS  N connections held open together, MSGS
 *                                64-byte round trips each; prints "ok=K errors=E" */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long served, concurrent, max_concurrent;
static pthread_cond_t drained = PTHREAD_COND_INITIALIZER; /* concurrent fell to 0 */
static volatile sig_atomic_t stop;

static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void *serve(void *arg)
{
	int fd = (int)(long)arg;
	char buf[4096];
	pthread_mutex_lock(&lock);
	if (++concurrent > max_concurrent)
		max_concurrent = concurrent;
	pthread_mutex_unlock(&lock);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n <= 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, (size_t)(n - off));
			if (w <= 0)
				goto out;
			off += w;
		}
	}
out:
	close(fd);
	pthread_mutex_lock(&lock);
	concurrent--;
	served++;
	if (concurrent == 0)
		pthread_cond_signal(&drained);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void on_term(int sig) { stop = 1; }

static int server(void)
{
	raise_fd_limit();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_term; /* no SA_RESTART: accept returns EINTR */
	sigaction(SIGTERM, &sa, NULL);
	int ls = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 4096) || getsockname(ls, (struct sockaddr *)&a, &len)) {
		perror("server: bind/listen");
		return 1;
	}
	printf("port=%d\n", ntohs(a.sin_port));
	fflush(stdout);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while (!stop) {
		int fd = accept(ls, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			perror("server: accept");
			usleep(1000);
			continue;
		}
		pthread_t t;
		if (pthread_create(&t, &attr, serve, (void *)(long)fd) != 0) {
			close(fd);
			fprintf(stderr, "server: pthread_create failed\n");
		}
	}
	/* The client has closed every connection, but their threads may not
	 * all have read the EOF yet: wait for them (10 s at most). */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 10;
	pthread_mutex_lock(&lock);
	while (concurrent > 0 && pthread_cond_timedwait(&drained, &lock, &until) == 0) {
	}
	printf("served=%ld max_concurrent=%ld\n", served, max_concurrent);
	pthread_mutex_unlock(&lock);
	return 0;
}

static int port, msgs;
static pthread_barrier_t all_connected;
static long ok, errors;

static void *client_conn(void *arg)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int good = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
	if (!good)
		fprintf(stderr, "client: connect: %s\n", strerror(errno));
	pthread_barrier_wait(&all_connected); /* every connection is open at once */
	char out[64], in[64];
	for (int m = 0; good && m < msgs; m++) {
		memset(out, 'a' + (int)((long)arg + m) % 26, sizeof out);
		if (write(fd, out, sizeof out) != (ssize_t)sizeof out) {
			good = 0;
			break;
		}
		size_t got = 0;
		while (got < sizeof in) {
			ssize_t n = read(fd, in + got, sizeof in - got);
			if (n <= 0)
				break;
			got += (size_t)n;
		}
		good = got == sizeof in && memcmp(in, out, sizeof in) == 0;
	}
	if (fd >= 0)
		close(fd);
	pthread_mutex_lock(&lock);
	if (good)
		ok++;
	else
		errors++;
	pthread_mutex_unlock(&lock);
	return NULL;
}

static int client(int argc, char **argv)
{
	if (argc < 5)
		return 2;
	raise_fd_limit();
	port = atoi(argv[2]);
	int n = atoi(argv[3]);
	msgs = atoi(argv[4]);
	pthread_barrier_init(&all_connected, NULL, (unsigned)n);
	pthread_t *t = calloc((size_t)n, sizeof *t);
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, client_conn, (void *)(long)i) != 0)
			return 3;
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("ok=%ld errors=%ld\n", ok, errors);
	return errors ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "server"))
		return server();
	if (argc > 1 && !strcmp(argv[1], "client"))
		return client(argc, argv);
	fprintf(stderr, "usage: echo_posix server | client PORT N MSGS\n");
	return 2;
}
