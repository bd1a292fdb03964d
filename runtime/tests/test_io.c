/* The blocking POSIX I/O shim on pipes and loopback TCP: blocking calls park
 * only the caller, O_NONBLOCK the program set still says EAGAIN, timeouts,
 * poll/select, sleeps, and EINTR from handled signals. */
#define _GNU_SOURCE
#include <capriccio.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tap.h"

#define MS 1000000ull

/* ---- helpers ------------------------------------------------------------ */

/* A thread that counts while others are parked: proof that a blocking call
 * parked only its caller.  It and the caller share worker 0: "it ticked"
 * then means the call let its worker run others, and "it did not" that the
 * call did not park (on another worker it would tick regardless). */
static volatile int ticker_stop;
static volatile uint64_t ticks;
static cap_thread_t *ticker_t;
static void *ticker_fn(void *a)
{
	cap_bind(0);
	while (!ticker_stop) {
		ticks++;
		cap_sleep_ns(1 * MS);
	}
	return NULL;
}
static void ticker_start(void)
{
	ticker_stop = 0;
	ticks = 0;
	cap_bind(0);
	ticker_t = cap_spawn(ticker_fn, NULL, &(cap_spawn_opts_t){ .name = "ticker" });
}
static uint64_t ticker_end(void)
{
	ticker_stop = 1;
	cap_join(ticker_t, NULL);
	return ticks;
}

static unsigned char pat(size_t i) { return (unsigned char)(i % 251u); }

static int make_listener(uint16_t *port, int rcvbuf)
{
	int l = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (rcvbuf)
		setsockopt(l, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 16)) {
		perror("bind/listen");
		return -1;
	}
	socklen_t len = sizeof a;
	getsockname(l, (struct sockaddr *)&a, &len);
	*port = ntohs(a.sin_port);
	return l;
}

static int connect_port(uint16_t port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
		int e = errno;
		close(s);
		errno = e;
		return -1;
	}
	return s;
}

struct acceptor {
	int lfd;
	int fd;
	int err;
	uint64_t ticks_at_accept;
};
static void *acceptor_fn(void *a)
{
	struct acceptor *ac = a;
	cap_bind(0); /* beside main and the ticker: see ticker_fn */
	ac->fd = accept(ac->lfd, NULL, NULL);
	ac->err = errno;
	ac->ticks_at_accept = ticks;
	return NULL;
}

/* A connected loopback pair: *c the client end, *s the accepted end. */
static void tcp_pair(int *c, int *s, int rcvbuf)
{
	uint16_t port;
	int l = make_listener(&port, rcvbuf);
	struct acceptor ac = { .lfd = l, .fd = -1 };
	cap_thread_t *t = cap_spawn(acceptor_fn, &ac, NULL);
	*c = connect_port(port);
	cap_join(t, NULL);
	*s = ac.fd;
	close(l);
}

/* ---- pipes -------------------------------------------------------------- */

struct reader {
	int fd;
	size_t want;
	char buf[256];
	long n;
	int err;
	uint64_t ticks_at_entry, ticks_at_return;
};
static void *reader_fn(void *a)
{
	struct reader *r = a;
	cap_bind(0); /* beside main, which counts: see ticker_fn */
	r->ticks_at_entry = ticks;
	r->n = read(r->fd, r->buf, r->want);
	r->err = errno;
	r->ticks_at_return = ticks;
	return NULL;
}

/* A reader parks in read() on an empty pipe while main keeps counting; the
 * 10 bytes written later come back from a read that asked for 100. */
static void pipe_read_parks_reader_only(void)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	ticks = 0;
	struct reader r = { .fd = p[0], .want = 100 };
	cap_thread_t *t = cap_spawn(reader_fn, &r, NULL);
	for (int i = 0; i < 10; i++) {
		ticks++;
		if (i % 2)
			cap_yield();
		else
			cap_sleep_ns(1 * MS);
	}
	CHECK_EQ(write(p[1], "0123456789", 10), 10);
	cap_join(t, NULL);
	CHECK_EQ(r.ticks_at_entry, 1);   /* it started in read() before main counted on */
	CHECK_EQ(r.ticks_at_return, 10); /* and stayed there until the write */
	CHECK_EQ(r.n, 10);               /* a partial read: 10 of the 100 asked */
	CHECK(memcmp(r.buf, "0123456789", 10) == 0);
	close(p[0]);
	close(p[1]);
}

struct drainer {
	int fd;
	size_t chunk, period; /* the writer repeats the pattern every `period` bytes */
	size_t got, reads;
	int bad;
	uint64_t delay_ns;
};
static void *drainer_fn(void *a)
{
	struct drainer *d = a;
	static unsigned char buf[65536];
	if (d->delay_ns)
		cap_sleep_ns(d->delay_ns);
	for (;;) {
		long n = read(d->fd, buf, d->chunk);
		if (n <= 0)
			break;
		for (long i = 0; i < n; i++)
			if (buf[i] != pat((d->got + (size_t)i) % d->period))
				d->bad++;
		d->got += (size_t)n;
		d->reads++;
	}
	return NULL;
}

/* A 1 MiB write into a 64 KiB pipe returns the full count, while a reader
 * drains it in small chunks. */
static void pipe_large_write_completes(void)
{
	enum { N = 1 << 20 };
	static unsigned char big[N];
	for (size_t i = 0; i < N; i++)
		big[i] = pat(i);
	int p[2];
	CHECK_EQ(pipe(p), 0);
	struct drainer d = { .fd = p[0], .chunk = 1000, .period = N };
	cap_thread_t *t = cap_spawn(drainer_fn, &d, NULL);
	CHECK_EQ(write(p[1], big, N), N);
	size_t got_at_return = d.got;
	close(p[1]);
	cap_join(t, NULL);
	CHECK(got_at_return >= N - 65536 - 1000); /* the reader drained it during the write */
	CHECK_EQ(d.got, N);
	CHECK_EQ(d.bad, 0);
	CHECK(d.reads >= N / 1000);
	close(p[0]);
}

static void *close_later_fn(void *a)
{
	cap_sleep_ns(10 * MS);
	close((int)(intptr_t)a);
	return NULL;
}

/* Closing the write end wakes a parked reader with 0; writing to a pipe
 * whose read end is closed says EPIPE, also to a writer parked on a full
 * pipe (after what it wrote). */
static void pipe_eof_and_epipe(void)
{
	signal(SIGPIPE, SIG_IGN);
	int p[2];
	CHECK_EQ(pipe(p), 0);
	ticks = 0;
	ticker_start();
	cap_thread_t *t = cap_spawn(close_later_fn, (void *)(intptr_t)p[1], NULL);
	char c;
	CHECK_EQ(read(p[0], &c, 1), 0);
	CHECK(ticks > 0);
	cap_join(t, NULL);
	close(p[0]);

	CHECK_EQ(pipe(p), 0);
	close(p[0]);
	errno = 0;
	CHECK_EQ(write(p[1], "x", 1), -1);
	CHECK_EQ(errno, EPIPE);
	close(p[1]);

	/* a writer parked on a full pipe when the reader goes away */
	static char big[1 << 20];
	CHECK_EQ(pipe(p), 0);
	t = cap_spawn(close_later_fn, (void *)(intptr_t)p[0], NULL);
	uint64_t before = ticks;
	long n = write(p[1], big, sizeof big);
	CHECK(ticks > before); /* it parked; others ran */
	CHECK(n > 0 && n < (long)sizeof big);
	errno = 0;
	CHECK_EQ(write(p[1], big, 10), -1);
	CHECK_EQ(errno, EPIPE);
	cap_join(t, NULL);
	close(p[1]);
	ticker_end();
}

/* O_NONBLOCK the program set: EAGAIN at once, visible in F_GETFL; cleared
 * again, reads park. */
static void pipe_user_nonblock(void)
{
	int p[2];
	char buf[16];
	CHECK_EQ(pipe2(p, O_NONBLOCK), 0);
	CHECK(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	ticker_start();
	cap_yield();
	uint64_t before = ticks;
	errno = 0;
	CHECK_EQ(read(p[0], buf, sizeof buf), -1);
	CHECK_EQ(errno, EAGAIN);
	CHECK_EQ(ticks, before); /* did not park */
	/* a full non-blocking pipe: a partial write, then EAGAIN */
	static char big[1 << 20];
	long n = write(p[1], big, sizeof big);
	CHECK(n > 0 && n < (long)sizeof big);
	errno = 0;
	CHECK_EQ(write(p[1], big, 100), -1);
	CHECK_EQ(errno, EAGAIN);
	CHECK_EQ(ticks, before);
	close(p[0]);
	close(p[1]);

	/* plain pipe, O_NONBLOCK set with fcntl */
	CHECK_EQ(pipe(p), 0);
	CHECK(!(fcntl(p[0], F_GETFL) & O_NONBLOCK));
	CHECK_EQ(fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK), 0);
	CHECK(fcntl(p[0], F_GETFL) & O_NONBLOCK);
	before = ticks;
	errno = 0;
	CHECK_EQ(read(p[0], buf, sizeof buf), -1);
	CHECK_EQ(errno, EAGAIN);
	CHECK_EQ(ticks, before);
	/* cleared again: read parks until a writer comes */
	CHECK_EQ(fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) & ~O_NONBLOCK), 0);
	CHECK(!(fcntl(p[0], F_GETFL) & O_NONBLOCK));
	struct reader r = { .fd = p[0], .want = 16 };
	cap_thread_t *t = cap_spawn(reader_fn, &r, NULL);
	cap_sleep_ns(10 * MS);
	CHECK_EQ(write(p[1], "abc", 3), 3);
	cap_join(t, NULL);
	CHECK_EQ(r.n, 3);
	CHECK(r.ticks_at_return > r.ticks_at_entry);
	ticker_end();
	close(p[0]);
	close(p[1]);
}

/* ---- TCP ---------------------------------------------------------------- */

/* Blocking accept parks while main counts; the runtime's own O_NONBLOCK on
 * the listener stays hidden from F_GETFL. */
static void tcp_accept_parks(void)
{
	uint16_t port;
	int l = make_listener(&port, 0);
	CHECK(l >= 0);
	ticks = 0;
	struct acceptor ac = { .lfd = l, .fd = -1 };
	cap_thread_t *t = cap_spawn(acceptor_fn, &ac, NULL);
	for (int i = 0; i < 5; i++) {
		ticks++;
		cap_sleep_ns(2 * MS);
	}
	int c = connect_port(port);
	CHECK(c >= 0);
	cap_join(t, NULL);
	CHECK(ac.fd >= 0);
	CHECK_EQ(ac.ticks_at_accept, 5);
	CHECK(!(fcntl(l, F_GETFL) & O_NONBLOCK));
	CHECK(!(fcntl(ac.fd, F_GETFL) & O_NONBLOCK));
	/* the accepted socket is a working connection */
	CHECK_EQ(write(c, "ping", 4), 4);
	char buf[8];
	CHECK_EQ(read(ac.fd, buf, sizeof buf), 4);
	CHECK(memcmp(buf, "ping", 4) == 0);
	close(c);
	close(ac.fd);
	close(l);
}

static void *echo_fn(void *a)
{
	int fd = (int)(intptr_t)a;
	char buf[4096];
	long n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		if (write(fd, buf, (size_t)n) != n)
			break;
	close(fd);
	return (void *)(intptr_t)n;
}

/* Read exactly n bytes with read() (the echo may come back in pieces). */
static long read_full(int fd, char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		long r = read(fd, buf + got, n - got);
		if (r <= 0)
			return r;
		got += (size_t)r;
	}
	return (long)got;
}

/* send/recv, write/read, writev/readv, sendmsg/recvmsg against an echo
 * thread that parks in read between messages. */
static void tcp_exchange(void)
{
	int c, s;
	tcp_pair(&c, &s, 0);
	CHECK(c >= 0 && s >= 0);
	cap_thread_t *echo = cap_spawn(echo_fn, (void *)(intptr_t)s, NULL);
	char buf[256];

	CHECK_EQ(send(c, "hello", 5, 0), 5);
	CHECK_EQ(recv(c, buf, 5, MSG_WAITALL), 5);
	CHECK(memcmp(buf, "hello", 5) == 0);

	CHECK_EQ(write(c, "world!", 6), 6);
	CHECK_EQ(read_full(c, buf, 6), 6);
	CHECK(memcmp(buf, "world!", 6) == 0);

	struct iovec wv[3] = { { "ab", 2 }, { "cde", 3 }, { "fghi", 4 } };
	CHECK_EQ(writev(c, wv, 3), 9);
	char x[4], y[5];
	struct iovec rv[2] = { { x, 4 }, { y, 5 } };
	size_t got = 0;
	while (got < 9) { /* readv may return the echo in pieces */
		struct iovec tmp[2];
		memcpy(tmp, rv, sizeof rv);
		long r;
		if (got < 4) {
			tmp[0].iov_base = x + got, tmp[0].iov_len = 4 - got;
			r = readv(c, tmp, 2);
		} else {
			tmp[0].iov_base = y + (got - 4), tmp[0].iov_len = 9 - got;
			r = readv(c, tmp, 1);
		}
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	CHECK_EQ(got, 9);
	CHECK(memcmp(x, "abcd", 4) == 0 && memcmp(y, "efghi", 5) == 0);

	struct iovec mv[2] = { { "msg-", 4 }, { "part2", 5 } };
	struct msghdr m = { .msg_iov = mv, .msg_iovlen = 2 };
	CHECK_EQ(sendmsg(c, &m, 0), 9);
	memset(buf, 0, sizeof buf);
	got = 0;
	while (got < 9) {
		struct iovec one = { buf + got, 9 - got };
		struct msghdr rm = { .msg_iov = &one, .msg_iovlen = 1 };
		long r = recvmsg(c, &rm, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	CHECK_EQ(got, 9);
	CHECK(memcmp(buf, "msg-part2", 9) == 0);

	/* the echo thread sees EOF, closes; we then read 0 */
	shutdown(c, SHUT_WR);
	void *er;
	cap_join(echo, &er);
	CHECK_EQ((intptr_t)er, 0);
	CHECK_EQ(recv(c, buf, sizeof buf, 0), 0);
	close(c);
}

struct trickle {
	int fd;
	int pieces;
	size_t piece;
	int sent;
};
static void *trickle_fn(void *a)
{
	struct trickle *tr = a;
	char buf[1000];
	for (int i = 0; i < tr->pieces; i++) {
		cap_sleep_ns(5 * MS);
		memset(buf, 'a' + i, tr->piece);
		if (send(tr->fd, buf, tr->piece, 0) != (long)tr->piece)
			break;
		tr->sent++;
	}
	return NULL;
}

/* recv(MSG_WAITALL) gathers pieces sent 5 ms apart; a peer closing mid-way
 * ends it with what arrived; a parked recv sees the close as 0. */
static void tcp_recv_waitall_and_close(void)
{
	int c, s;
	tcp_pair(&c, &s, 0);
	struct trickle tr = { .fd = s, .pieces = 3, .piece = 100 };
	cap_thread_t *t = cap_spawn(trickle_fn, &tr, NULL);
	char buf[400];
	CHECK_EQ(recv(c, buf, 300, MSG_WAITALL), 300);
	CHECK(buf[0] == 'a' && buf[150] == 'b' && buf[299] == 'c');
	cap_join(t, NULL); /* the last piece may be read before its writer, on another worker, counts it */
	CHECK_EQ(tr.sent, 3);

	/* peer sends 100 then closes: WAITALL for 300 returns 100 */
	tr = (struct trickle){ .fd = s, .pieces = 1, .piece = 100 };
	t = cap_spawn(trickle_fn, &tr, NULL);
	cap_join(t, NULL);
	cap_thread_t *cl = cap_spawn(close_later_fn, (void *)(intptr_t)s, NULL);
	CHECK_EQ(recv(c, buf, 300, MSG_WAITALL), 100);
	/* after the close: 0, and again */
	CHECK_EQ(recv(c, buf, 300, 0), 0);
	CHECK_EQ(read(c, buf, 300), 0);
	cap_join(cl, NULL);
	close(c);
}

/* ---- reads of a descriptor known empty ------------------------------------ */

/* A read that parks registers fd with the poller, and a short read then
 * marks it drained: until the poller sees an edge, the next read parks
 * without asking the kernel (posix_io.c).  What must still come back: */
static void *write_later_fn(void *a);
static void register_and_drain(int rd, int wr)
{
	cap_thread_t *t = cap_spawn(write_later_fn, (void *)(intptr_t)wr, NULL);
	char buf[100];
	CHECK_EQ(read(rd, buf, sizeof buf), 1); /* parked, then short */
	cap_join(t, NULL);
}

/* Data and the end of the stream that came together, both seen by the
 * poller before the read: the short read that takes the data leaves no
 * edge to come, and the next read must still say 0 (TCP's FIN, a pipe's
 * last writer), not park for good. */
static void drained_then_eof(void)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	register_and_drain(p[0], p[1]);
	CHECK_EQ(write(p[1], "cd", 2), 2);
	close(p[1]);
	cap_sleep_ns(2 * MS); /* the poller takes the edges meanwhile */
	char buf[100];
	CHECK_EQ(read(p[0], buf, sizeof buf), 2);
	CHECK_EQ(read(p[0], buf, sizeof buf), 0);
	close(p[0]);

	int c, s;
	tcp_pair(&c, &s, 0);
	register_and_drain(c, s);
	CHECK_EQ(write(s, "cd", 2), 2);
	shutdown(s, SHUT_WR);
	cap_sleep_ns(2 * MS);
	CHECK_EQ(recv(c, buf, sizeof buf, 0), 2); /* recv knows it empty as read does */
	CHECK_EQ(recv(c, buf, sizeof buf, 0), 0);
	close(c);
	close(s);
}

/* A UNIX stream socket's read stops where the writer changes (when the
 * reader takes credentials): a short read does not mean empty there, and
 * what the second writer (a child process) sent comes back without a new
 * edge. */
static void unix_short_read_is_not_empty(void)
{
	int sv[2], on = 1;
	CHECK_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CHECK_EQ(setsockopt(sv[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
	register_and_drain(sv[0], sv[1]);
	CHECK_EQ(write(sv[1], "a", 1), 1);
	pid_t pid = fork();
	if (pid == 0)
		_exit(write(sv[1], "b", 1) == 1 ? 0 : 1);
	int st;
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cap_sleep_ns(2 * MS);
	char buf[100];
	CHECK_EQ(read(sv[0], buf, sizeof buf), 1);
	CHECK_EQ(buf[0], 'a');
	CHECK_EQ(read(sv[0], buf, sizeof buf), 1);
	CHECK_EQ(buf[0], 'b');
	close(sv[0]);
	close(sv[1]);
}

/* poll() saw data the poller has not: the read that follows reads it. */
static void poll_then_read_a_drained_socket(void)
{
	int c, s;
	tcp_pair(&c, &s, 0);
	register_and_drain(c, s);
	CHECK_EQ(write(s, "xy", 2), 2);
	struct pollfd p = { .fd = c, .events = POLLIN };
	CHECK_EQ(poll(&p, 1, 1000), 1);
	char buf[100];
	CHECK_EQ(read(c, buf, sizeof buf), 2);
	close(c);
	close(s);
}

/* recvmsg(MSG_WAITALL) must, like recv, wait for the whole request. */
static void tcp_recvmsg_waitall(void)
{
	int c, s;
	tcp_pair(&c, &s, 0);
	struct trickle tr = { .fd = s, .pieces = 3, .piece = 100 };
	cap_thread_t *t = cap_spawn(trickle_fn, &tr, NULL);
	char buf[300];
	struct iovec v = { buf, sizeof buf };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	long n = recvmsg(c, &m, MSG_WAITALL);
	CHECK_EQ(n, 300);
	cap_join(t, NULL); /* the last piece may be read before its writer, on another worker, counts it */
	CHECK_EQ(tr.sent, 3);
	close(c);
	close(s);
}

/* A blocking 8 MiB write on a socket with a small send buffer returns the
 * full count once the peer has read it all. */
static void tcp_full_sndbuf(void)
{
	enum { N = 8 << 20 };
	static unsigned char big[N];
	for (size_t i = 0; i < N; i++)
		big[i] = pat(i);
	int c, s;
	tcp_pair(&c, &s, 16384);
	int sz = 8192;
	CHECK_EQ(setsockopt(c, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz), 0);
	struct drainer d = { .fd = s, .chunk = 16384, .period = N, .delay_ns = 20 * MS };
	cap_thread_t *t = cap_spawn(drainer_fn, &d, NULL);
	uint64_t t0 = cap_now_ns();
	CHECK_EQ(write(c, big, N), N);
	uint64_t el = cap_now_ns() - t0;
	size_t got_at_return = d.got;
	CHECK(el >= 20 * MS);          /* it waited for the (late) reader */
	CHECK(got_at_return >= N / 2); /* the reader ran while write() was parked */
	/* and the same with send() */
	d.delay_ns = 0;
	CHECK_EQ(send(c, big, N, 0), N);
	close(c);
	cap_join(t, NULL);
	CHECK_EQ(d.got, 2 * (size_t)N);
	CHECK_EQ(d.bad, 0);
	close(s);
}

/* ---- timeouts, poll, select -------------------------------------------- */

static void so_rcvtimeo(void)
{
	int c, s;
	tcp_pair(&c, &s, 0);
	struct timeval tv = { 0, 50000 };
	CHECK_EQ(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv), 0);
	char buf[16];
	ticker_start();
	uint64_t t0 = cap_now_ns();
	errno = 0;
	CHECK_EQ(recv(c, buf, sizeof buf, 0), -1);
	CHECK_EQ(errno, EAGAIN);
	uint64_t el = cap_now_ns() - t0;
	CHECK(el >= 50 * MS && el < 5000 * MS);
	CHECK(ticks >= 5);
	/* read() honours it too */
	t0 = cap_now_ns();
	errno = 0;
	CHECK_EQ(read(c, buf, sizeof buf), -1);
	CHECK_EQ(errno, EAGAIN);
	el = cap_now_ns() - t0;
	CHECK(el >= 50 * MS && el < 5000 * MS);
	/* data before the timeout is returned */
	cap_thread_t *t = cap_spawn(trickle_fn, &(struct trickle){ .fd = s, .pieces = 1, .piece = 7 }, NULL);
	CHECK_EQ(recv(c, buf, sizeof buf, 0), 7);
	cap_join(t, NULL);
	ticker_end();
	close(c);
	close(s);
}

static void *write_later_fn(void *a)
{
	cap_sleep_ns(10 * MS);
	write((int)(intptr_t)a, "!", 1);
	return NULL;
}

static void poll_timeout_and_wake(void)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	ticker_start();
	struct pollfd pf = { .fd = p[0], .events = POLLIN };
	uint64_t t0 = cap_now_ns();
	CHECK_EQ(poll(&pf, 1, 30), 0);
	uint64_t el = cap_now_ns() - t0;
	CHECK(el >= 30 * MS && el < 5000 * MS);
	CHECK(ticks >= 3);
	/* wakes when another thread writes */
	cap_thread_t *t = cap_spawn(write_later_fn, (void *)(intptr_t)p[1], NULL);
	uint64_t before = ticks;
	pf.revents = 0;
	CHECK_EQ(poll(&pf, 1, 5000), 1);
	CHECK(pf.revents & POLLIN);
	CHECK(ticks > before);
	cap_join(t, NULL);
	/* ready at once: POLLOUT on the write end, with an infinite timeout */
	struct pollfd two[2] = { { .fd = p[0], .events = POLLIN }, { .fd = p[1], .events = POLLOUT } };
	CHECK_EQ(poll(two, 2, -1), 2);
	CHECK(two[0].revents & POLLIN);
	CHECK(two[1].revents & POLLOUT);
	ticker_end();
	close(p[0]);
	close(p[1]);
}

static void select_socket(void)
{
	int c, s;
	tcp_pair(&c, &s, 0);
	ticker_start();
	fd_set rf;
	FD_ZERO(&rf);
	FD_SET(c, &rf);
	struct timeval tv = { 0, 20000 };
	uint64_t t0 = cap_now_ns();
	CHECK_EQ(select(c + 1, &rf, NULL, NULL, &tv), 0);
	uint64_t el = cap_now_ns() - t0;
	CHECK(el >= 20 * MS && el < 5000 * MS);
	CHECK(!FD_ISSET(c, &rf));
	cap_thread_t *t = cap_spawn(write_later_fn, (void *)(intptr_t)s, NULL);
	uint64_t before = ticks;
	FD_ZERO(&rf);
	FD_SET(c, &rf);
	fd_set wf;
	FD_ZERO(&wf);
	tv = (struct timeval){ 5, 0 };
	CHECK_EQ(select(c + 1, &rf, &wf, NULL, &tv), 1);
	CHECK(FD_ISSET(c, &rf));
	CHECK(ticks > before);
	cap_join(t, NULL);
	char ch;
	CHECK_EQ(recv(c, &ch, 1, 0), 1);
	CHECK_EQ(ch, '!');
	/* writable at once */
	FD_ZERO(&wf);
	FD_SET(c, &wf);
	CHECK_EQ(select(c + 1, NULL, &wf, NULL, NULL), 1);
	CHECK(FD_ISSET(c, &wf));
	ticker_end();
	close(c);
	close(s);
}

/* poll and select of many descriptors, each size in its own frame (small
 * ones inline, in the first chunk): one of them, the last, made ready
 * while the caller is parked, and only it is reported. */
#define MANY 100
static int many[MANY][2];
static void *write_last_later(void *a)
{
	cap_sleep_ns(2 * MS);
	(void)!write(many[(intptr_t)a - 1][1], "!", 1);
	return NULL;
}

static void poll_and_select_of_many(void)
{
	for (int i = 0; i < MANY; i++)
		CHECK_EQ(pipe(many[i]), 0);
	static const int sizes[] = { 3, 20, MANY };
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
		int n = sizes[k];
		struct pollfd pf[MANY];
		for (int i = 0; i < n; i++)
			pf[i] = (struct pollfd){ .fd = many[i][0], .events = POLLIN };
		cap_thread_t *t = cap_spawn(write_last_later, (void *)(intptr_t)n, NULL);
		CHECK_EQ(poll(pf, (nfds_t)n, 5000), 1);
		for (int i = 0; i < n; i++)
			CHECK_EQ(pf[i].revents, i == n - 1 ? POLLIN : 0);
		cap_join(t, NULL);
		char c;
		CHECK_EQ(read(many[n - 1][0], &c, 1), 1);

		fd_set rf;
		FD_ZERO(&rf);
		int top = 0;
		for (int i = 0; i < n; i++) {
			FD_SET(many[i][0], &rf);
			top = many[i][0] > top ? many[i][0] : top;
		}
		t = cap_spawn(write_last_later, (void *)(intptr_t)n, NULL);
		CHECK_EQ(select(top + 1, &rf, NULL, NULL, NULL), 1);
		for (int i = 0; i < n; i++)
			CHECK_EQ(!!FD_ISSET(many[i][0], &rf), i == n - 1);
		cap_join(t, NULL);
		CHECK_EQ(read(many[n - 1][0], &c, 1), 1);
	}
	for (int i = 0; i < MANY; i++) {
		close(many[i][0]);
		close(many[i][1]);
	}
}

/* writev of more buffers than a call keeps in its frame after a partial
 * write (a window, taken again from the whole array each round), into a
 * pipe a third of its size: every byte arrives, in order. */
#define NBUF 40
#define BUF_BYTES 4000
static int wv_pipe[2];
static void *read_all(void *a)
{
	static unsigned char got[NBUF * BUF_BYTES];
	size_t n = 0;
	while (n < sizeof got) {
		ssize_t r = read(wv_pipe[0], got + n, sizeof got - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		cap_sleep_ns(MS / 4); /* slower than the writer: it parks */
	}
	int bad = n != sizeof got;
	for (size_t i = 0; i < n; i++)
		bad += got[i] != (unsigned char)(i / BUF_BYTES * 31 + i % 251);
	return (void *)(intptr_t)bad;
}

static void writev_of_many_buffers(void)
{
	static unsigned char data[NBUF][BUF_BYTES];
	struct iovec v[NBUF];
	for (int b = 0; b < NBUF; b++) {
		for (int i = 0; i < BUF_BYTES; i++)
			data[b][i] = (unsigned char)(b * 31 + ((size_t)b * BUF_BYTES + (size_t)i) % 251);
		v[b] = (struct iovec){ data[b], BUF_BYTES };
	}
	CHECK_EQ(pipe(wv_pipe), 0);
	cap_thread_t *t = cap_spawn(read_all, NULL, NULL);
	CHECK_EQ(writev(wv_pipe[1], v, NBUF), (ssize_t)(NBUF * BUF_BYTES));
	void *bad = (void *)1;
	cap_join(t, &bad);
	CHECK_EQ((intptr_t)bad, 0);
	close(wv_pipe[0]);
	close(wv_pipe[1]);
}

/* accept on a listener the program made non-blocking: EAGAIN, no parking;
 * made blocking again, accept parks until a client comes. */
static void accept_user_nonblock(void)
{
	uint16_t port;
	int l = make_listener(&port, 0);
	CHECK_EQ(fcntl(l, F_SETFL, fcntl(l, F_GETFL) | O_NONBLOCK), 0);
	ticker_start();
	cap_yield();
	uint64_t before = ticks;
	errno = 0;
	CHECK_EQ(accept(l, NULL, NULL), -1);
	CHECK_EQ(errno, EAGAIN);
	CHECK_EQ(ticks, before);
	CHECK(fcntl(l, F_GETFL) & O_NONBLOCK);
	CHECK_EQ(fcntl(l, F_SETFL, fcntl(l, F_GETFL) & ~O_NONBLOCK), 0);
	CHECK(!(fcntl(l, F_GETFL) & O_NONBLOCK));
	struct acceptor ac = { .lfd = l, .fd = -1 };
	cap_thread_t *t = cap_spawn(acceptor_fn, &ac, NULL);
	cap_sleep_ns(5 * MS);
	int c = connect_port(port);
	cap_join(t, NULL);
	CHECK(ac.fd >= 0);
	close(c);
	close(ac.fd);
	/* SOCK_NONBLOCK at creation */
	int l2 = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	CHECK_EQ(bind(l2, (struct sockaddr *)&a, sizeof a), 0);
	CHECK_EQ(listen(l2, 4), 0);
	before = ticks;
	errno = 0;
	CHECK_EQ(accept4(l2, NULL, NULL, SOCK_CLOEXEC), -1);
	CHECK_EQ(errno, EAGAIN);
	CHECK_EQ(ticks, before);
	ticker_end();
	close(l2);
	close(l);
}

/* ---- sleeping ----------------------------------------------------------- */

static void sleeps_park_caller_only(void)
{
	ticker_start();
	uint64_t t0 = cap_now_ns(), b = ticks;
	CHECK_EQ(usleep(20000), 0);
	CHECK(cap_now_ns() - t0 >= 20 * MS);
	CHECK(ticks - b >= 5);

	t0 = cap_now_ns(), b = ticks;
	struct timespec ts = { 0, 20 * 1000000L };
	CHECK_EQ(nanosleep(&ts, NULL), 0);
	CHECK(cap_now_ns() - t0 >= 20 * MS);
	CHECK(ticks - b >= 5);

	t0 = cap_now_ns(), b = ticks;
	CHECK_EQ(sleep(1), 0);
	uint64_t el = cap_now_ns() - t0;
	CHECK(el >= 1000 * MS && el < 10000 * MS);
	CHECK(ticks - b >= 100);
	ticker_end();
}

/* ---- connect ------------------------------------------------------------ */

static void connect_refused(void)
{
	uint16_t port;
	int l = make_listener(&port, 0);
	close(l); /* nothing listens on port now */
	errno = 0;
	CHECK_EQ(connect_port(port), -1);
	CHECK_EQ(errno, ECONNREFUSED);
}

/* ---- signals ------------------------------------------------------------ */

static volatile sig_atomic_t handled;
static void on_alrm(int sig) { handled++; }

static void set_alrm(int flags)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alrm;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
}
static void reset_alrm(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGALRM, &sa, NULL);
}

static volatile int killed, victim_back;
/* Sends SIGALRM after 20 ms.  With a pipe: SA_RESTART mode writes 'z' 20 ms
 * later; otherwise, if the victim is still parked after 1 s, writes 'R' to
 * unstick it (so a lost EINTR fails the case instead of hanging it). */
struct killer {
	int wfd;
	int restart;
};
static void *kill_later_fn(void *a)
{
	struct killer *k = a;
	cap_sleep_ns(20 * MS);
	killed = 1;
	kill(getpid(), SIGALRM);
	if (k->restart) {
		cap_sleep_ns(20 * MS);
		killed = 2;
		write(k->wfd, "z", 1);
		return NULL;
	}
	for (int i = 0; i < 100 && !victim_back; i++)
		cap_sleep_ns(10 * MS);
	if (!victim_back)
		write(k->wfd, "R", 1);
	return NULL;
}

/* Without SA_RESTART a handled signal interrupts main's blocking read. */
static void eintr_read(void)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	set_alrm(0);
	handled = 0;
	killed = victim_back = 0;
	struct killer k = { .wfd = p[1] };
	cap_thread_t *t = cap_spawn(kill_later_fn, &k, NULL);
	char c;
	errno = 0;
	CHECK_EQ(read(p[0], &c, 1), -1); /* not 1 ('R': the rescue after 1 s) */
	CHECK_EQ(errno, EINTR);
	victim_back = 1;
	CHECK_EQ(handled, 1);
	CHECK_EQ(killed, 1);
	cap_join(t, NULL);
	while (poll(&(struct pollfd){ .fd = p[0], .events = POLLIN }, 1, 0) == 1)
		read(p[0], &c, 1);

	/* the signal arrives while the worker waits in epoll (nobody runnable) */
	handled = 0;
	struct itimerval it = { { 0, 0 }, { 0, 20000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	uint64_t t0 = cap_now_ns();
	errno = 0;
	CHECK_EQ(read(p[0], &c, 1), -1);
	CHECK_EQ(errno, EINTR);
	CHECK_EQ(handled, 1);
	CHECK(cap_now_ns() - t0 >= 15 * MS);
	reset_alrm();
	close(p[0]);
	close(p[1]);
}

/* With SA_RESTART a blocking read goes on (and gets the later data), but
 * poll and sleeps are interrupted regardless. */
static void sa_restart(void)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	set_alrm(SA_RESTART);
	handled = 0;
	killed = victim_back = 0;
	struct killer k = { .wfd = p[1], .restart = 1 };
	cap_thread_t *t = cap_spawn(kill_later_fn, &k, NULL);
	char c = 0;
	CHECK_EQ(read(p[0], &c, 1), 1);
	CHECK_EQ(c, 'z');
	CHECK_EQ(handled, 1);
	CHECK_EQ(killed, 2); /* it returned only after the write, past the signal */
	cap_join(t, NULL);

	handled = 0;
	killed = victim_back = 0;
	k.restart = 0;
	t = cap_spawn(kill_later_fn, &k, NULL);
	struct pollfd pf = { .fd = p[0], .events = POLLIN };
	errno = 0;
	CHECK_EQ(poll(&pf, 1, 5000), -1);
	CHECK_EQ(errno, EINTR);
	victim_back = 1;
	CHECK_EQ(handled, 1);
	cap_join(t, NULL);
	while (poll(&(struct pollfd){ .fd = p[0], .events = POLLIN }, 1, 0) == 1)
		read(p[0], &c, 1);

	handled = 0;
	killed = victim_back = 0;
	t = cap_spawn(kill_later_fn, &k, NULL);
	struct timespec ts = { 3, 0 }, rem = { 0, 0 };
	errno = 0;
	CHECK_EQ(nanosleep(&ts, &rem), -1);
	CHECK_EQ(errno, EINTR);
	victim_back = 1;
	CHECK(rem.tv_sec >= 1 && rem.tv_sec <= 3);
	CHECK_EQ(handled, 1);
	cap_join(t, NULL);
	reset_alrm();
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	cap_bind(0); /* main counts ticks too: on the ticker's worker */
	/* A watchdog: a test that wedges the worker is killed, not hung. */
	timer_t wd;
	struct sigevent sev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGTERM };
	if (timer_create(CLOCK_MONOTONIC, &sev, &wd) == 0)
		timer_settime(wd, 0, &(struct itimerspec){ .it_value = { 120, 0 } }, NULL);

	RUN(pipe_read_parks_reader_only);
	RUN(pipe_large_write_completes);
	RUN(pipe_eof_and_epipe);
	RUN(pipe_user_nonblock);
	RUN(tcp_accept_parks);
	RUN(tcp_exchange);
	RUN(tcp_recv_waitall_and_close);
	RUN(tcp_recvmsg_waitall);
	RUN(tcp_full_sndbuf);
	RUN(so_rcvtimeo);
	RUN(drained_then_eof);
	RUN(unix_short_read_is_not_empty);
	RUN(poll_then_read_a_drained_socket);
	RUN(poll_timeout_and_wake);
	RUN(select_socket);
	RUN(poll_and_select_of_many);
	RUN(writev_of_many_buffers);
	RUN(accept_user_nonblock);
	RUN(sleeps_park_caller_only);
	RUN(connect_refused);
	RUN(eintr_read);
	RUN(sa_restart);
	TAP_DONE();
}
