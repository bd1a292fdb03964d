/* The blocking POSIX I/O calls, as the program sees them.
 *
 * Each call first tries the operation without blocking — per call, without
 * touching the descriptor's flags: RWF_NOWAIT for read/write families,
 * MSG_DONTWAIT for the socket calls.  Only when that says EAGAIN does the
 * calling thread park (epoll for sockets and pipes, the disk backend for
 * regular files) while the others run.  What the program observes is what
 * a kernel thread would see: O_NONBLOCK it set itself still yields EAGAIN,
 * SO_RCVTIMEO/SO_SNDTIMEO still time out, a peer close still reads 0,
 * signals it handles without SA_RESTART still interrupt with EINTR.
 *
 * Outside a user thread (constructors, atexit handlers, foreign kernel
 * threads) every call is the plain blocking system call. */
#include "io.h"
#include "sigstate.h"
#include "mn.h"
#include "telemetry.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

/* A call that may have moved some bytes before failing reports the bytes. */
static inline long cap__partial(size_t done, long r) { return done ? (long)done : cap__ret(r); }

int cap__park(int fd, int dir, struct cap_park *pk, bool dontwait)
{
	if (dontwait || cap__fd_user_nonblock(fd))
		return -EAGAIN;
	if (!pk->started) {
		uint64_t t = cap__fd_timeout_ns(fd, dir);
		pk->deadline = t ? cap__mono_ns() + t : 0;
		pk->started = true;
	}
	struct cap_thread *t = cap__w->current;
	if (cap__intr_since(pk->intr))
		return -EINTR; /* a handler ran since the call began, before it could park */
	if (pk->deadline)
		cap__flags_set(t, CAP_F_SOCK_TIMEO);
	int w = cap__fd_wait(fd, dir, pk->deadline);
	cap__flags_clear(t, CAP_F_SOCK_TIMEO);
	return w == -ETIMEDOUT ? -EAGAIN : w;
}

/* The window of the whole iovec array `v` past its first `done` bytes:
 * at most CAP_IOV_LOCAL buffers, copied into `local`.  Returns their count
 * (0 when everything was consumed). */
int cap__iov_window(const struct iovec *v, int cnt, size_t done, struct iovec *local)
{
	int i = 0;
	while (i < cnt && done >= v[i].iov_len)
		done -= v[i++].iov_len;
	if (i == cnt)
		return 0;
	int n = cnt - i;
	if (n > CAP_IOV_LOCAL)
		n = CAP_IOV_LOCAL; /* the rest is written by the next round */
	for (int k = 0; k < n; k++)
		local[k] = v[i + k];
	local[0].iov_base = (char *)local[0].iov_base + done;
	local[0].iov_len -= done;
	return n;
}

size_t cap__iov_len(const struct iovec *iov, int cnt)
{
	size_t n = 0;
	for (int i = 0; i < cnt; i++)
		n += iov[i].iov_len;
	return n;
}

void cap__fd_new(int fd, bool nonblock)
{
	cap__fd_reset(fd);
	cap__fd_note_nonblock(fd, nonblock);
	cap__count_fds(1);
}

/* read/readv/pread/preadv and the write family.  off = -1: file position. */
static long cap__rw(int fd, const struct iovec *iov, int cnt, int64_t off, int dir)
{
	const long nr = dir == CAP_DIR_READ ? SYS_preadv2 : SYS_pwritev2;
	if (!cap__can_park()) {
		if (off < 0)
			return cap__ret(cap_sys3(dir == CAP_DIR_READ ? SYS_readv : SYS_writev, fd, iov, cnt));
		return cap__ret(cap_sys6l(nr, fd, iov, cnt, off, 0, 0));
	}
	struct iovec local[CAP_IOV_LOCAL];
	const struct iovec *const orig = iov;
	const int ocnt = cnt;
	struct cap_park pk = cap__park_begin();
	size_t total = 0;
	for (;;) {
		uint32_t rb = dir == CAP_DIR_READ && off < 0 ? cap__fd_read_begin(fd) : 0;
		long r = rb == CAP_READ_DRAINED ? -EAGAIN : cap_sys6l(nr, fd, iov, cnt, off, 0, RWF_NOWAIT);
		if (r >= 0) {
			total += (size_t)r;
			if (r == 0)
				return (long)total;
			/* A socket or pipe read returns what is there; a file read
			 * returns all it asked for up to EOF, but RWF_NOWAIT stops
			 * at the first page not in the page cache.  A blocking
			 * write completes fully. */
			if (dir == CAP_DIR_READ) {
				bool all = (size_t)r == cap__iov_len(iov, cnt);
				if (!all)
					cap__fd_read_drained(fd, rb);
				if (all || !cap__fd_is_disk(fd))
					return (long)total;
			}
			if (off >= 0)
				off += r;
			iov = local;
			cnt = cap__iov_window(orig, ocnt, total, local);
			if (cnt == 0)
				return (long)total;
			if (dir == CAP_DIR_READ)
				goto disk;
			continue;
		}
		if (r == -EAGAIN) {
			if (cap__fd_is_disk(fd)) /* not in the page cache */
				goto disk;
			int e = cap__park(fd, dir, &pk, false);
			if (e == -EPERM && cap__fd_refresh_is_disk(fd)) /* closed behind our back, now a file */
				goto disk;
			if (e)
				return cap__partial(total, e);
			continue;
		}
		if (r == -EOPNOTSUPP || r == -EINVAL) {
			/* No RWF_NOWAIT here (ttys, some devices and filesystems):
			 * wait for readiness, then make the plain call. */
			if (cap__fd_is_disk(fd))
				goto disk;
			struct pollfd p = { .fd = fd, .events = dir == CAP_DIR_READ ? POLLIN : POLLOUT };
			if (cap_sys3(SYS_poll, &p, 1, 0) == 0) {
				int e = cap__park(fd, dir, &pk, false);
				if (e && e != -EPERM)
					return cap__partial(total, e);
			}
			r = off < 0 ? cap_sys3(dir == CAP_DIR_READ ? SYS_readv : SYS_writev, fd, iov, cnt)
				    : cap_sys6l(nr, fd, iov, cnt, off, 0, 0);
			return r < 0 ? cap__partial(total, r) : (long)(total + (size_t)r);
		}
		return cap__partial(total, r);
	}
disk:
	/* In windows of at most CAP_IOV_LOCAL buffers once one was cut. */
	for (;;) {
		long r = cap__disk_io(dir == CAP_DIR_READ ? CAP_DISK_READ : CAP_DISK_WRITE, fd, iov, cnt, off);
		if (r < 0)
			return cap__partial(total, r);
		total += (size_t)r;
		if ((size_t)r < cap__iov_len(iov, cnt)) /* the end of the file, or a short write */
			return (long)total;
		if (off >= 0)
			off += r;
		iov = local;
		cnt = cap__iov_window(orig, ocnt, total, local);
		if (cnt == 0)
			return (long)total;
	}
}

ssize_t read(int fd, void *buf, size_t n)
{
	struct iovec v = { buf, n };
	return cap__rw(fd, &v, 1, -1, CAP_DIR_READ);
}
ssize_t write(int fd, const void *buf, size_t n)
{
	struct iovec v = { (void *)buf, n };
	return cap__rw(fd, &v, 1, -1, CAP_DIR_WRITE);
}
ssize_t readv(int fd, const struct iovec *iov, int cnt) { return cap__rw(fd, iov, cnt, -1, CAP_DIR_READ); }
ssize_t writev(int fd, const struct iovec *iov, int cnt) { return cap__rw(fd, iov, cnt, -1, CAP_DIR_WRITE); }

static long cap__positional(int fd, const struct iovec *iov, int cnt, off_t off, int dir)
{
	if (off < 0)
		return cap__ret(-EINVAL);
	return cap__rw(fd, iov, cnt, off, dir);
}
ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	struct iovec v = { buf, n };
	return cap__positional(fd, &v, 1, off, CAP_DIR_READ);
}
ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	struct iovec v = { (void *)buf, n };
	return cap__positional(fd, &v, 1, off, CAP_DIR_WRITE);
}
ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off) { return cap__positional(fd, iov, cnt, off, CAP_DIR_READ); }
ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off) { return cap__positional(fd, iov, cnt, off, CAP_DIR_WRITE); }
ssize_t pread64(int fd, void *buf, size_t n, off_t off) __attribute__((alias("pread")));
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));
ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off_t off) __attribute__((alias("preadv")));
ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off) __attribute__((alias("pwritev")));

/* _FORTIFY_SOURCE entry points. */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		__builtin_trap();
	return read(fd, buf, n);
}
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	if (n > buflen)
		__builtin_trap();
	return pread(fd, buf, n, off);
}
ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen) __attribute__((alias("__pread_chk")));

static int cap__sync(int fd, enum cap_disk_op op)
{
	if (!cap__can_park())
		return (int)cap__ret(cap_sys1(op == CAP_DISK_FSYNC ? SYS_fsync : SYS_fdatasync, fd));
	return (int)cap__ret(cap__disk_io(op, fd, NULL, 0, 0));
}
int fsync(int fd) { return cap__sync(fd, CAP_DISK_FSYNC); }
int fdatasync(int fd) { return cap__sync(fd, CAP_DISK_FDATASYNC); }

/* ---- Sockets ------------------------------------------------------------ */

static long cap__recv(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *alen)
{
	if (!cap__can_park())
		return cap__ret(cap_sys6l(SYS_recvfrom, fd, buf, n, flags, addr, alen));
	size_t got = 0;
	struct cap_park pk = cap__park_begin();
	bool plain = (flags & ~MSG_WAITALL) == 0; /* not a peek, not "do not wait": may know it empty */
	for (;;) {
		uint32_t rb = plain ? cap__fd_read_begin(fd) : 0;
		long r = rb == CAP_READ_DRAINED ? -EAGAIN
						: cap_sys6l(SYS_recvfrom, fd, (char *)buf + got, n - got, flags | MSG_DONTWAIT, addr, alen);
		if (r > 0 && got + (size_t)r < n)
			cap__fd_read_drained(fd, rb);
		if (r > 0 && (flags & MSG_WAITALL) && got + (size_t)r < n) {
			got += (size_t)r;
			continue;
		}
		if (r >= 0)
			return (long)(got + (size_t)r);
		if (r != -EAGAIN)
			return cap__partial(got, r);
		int e = cap__park(fd, CAP_DIR_READ, &pk, flags & MSG_DONTWAIT);
		if (e)
			return cap__partial(got, e);
	}
}

ssize_t recv(int fd, void *buf, size_t n, int flags) { return cap__recv(fd, buf, n, flags, NULL, NULL); }
ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *addr, socklen_t *alen)
{
	return cap__recv(fd, buf, n, flags, addr, alen);
}
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (n > buflen)
		__builtin_trap();
	return recv(fd, buf, n, flags);
}
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *a, socklen_t *l);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *a, socklen_t *l)
{
	if (n > buflen)
		__builtin_trap();
	return recvfrom(fd, buf, n, flags, a, l);
}

static long cap__send(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t alen)
{
	if (!cap__can_park())
		return cap__ret(cap_sys6l(SYS_sendto, fd, buf, n, flags, addr, alen));
	size_t sent = 0;
	struct cap_park pk = cap__park_begin();
	for (;;) {
		long r = cap_sys6l(SYS_sendto, fd, (const char *)buf + sent, n - sent, flags | MSG_DONTWAIT, addr, alen);
		if (r >= 0) {
			sent += (size_t)r;
			if (sent >= n)
				return (long)sent;
			continue;
		}
		if (r != -EAGAIN)
			return cap__partial(sent, r);
		int e = cap__park(fd, CAP_DIR_WRITE, &pk, flags & MSG_DONTWAIT);
		if (e)
			return cap__partial(sent, e);
	}
}

ssize_t send(int fd, const void *buf, size_t n, int flags) { return cap__send(fd, buf, n, flags, NULL, 0); }
ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *addr, socklen_t alen)
{
	return cap__send(fd, buf, n, flags, addr, alen);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	if (!cap__can_park())
		return cap__ret(cap_sys3(SYS_recvmsg, fd, msg, flags));
	struct cap_park pk = cap__park_begin();
	/* MSG_WAITALL: the kernel gives up waiting under MSG_DONTWAIT, so the
	 * rest is gathered here, into what is left of the caller's iovecs. */
	struct iovec local[CAP_IOV_LOCAL];
	struct msghdr m = *msg;
	size_t got = 0, want = (flags & MSG_WAITALL) ? cap__iov_len(msg->msg_iov, (int)msg->msg_iovlen) : 0;
	for (;;) {
		long r = cap_sys3(SYS_recvmsg, fd, &m, flags | MSG_DONTWAIT);
		if (r > 0 && got + (size_t)r < want) {
			if (got == 0) { /* what the first part says is the message's */
				msg->msg_flags = m.msg_flags;
				msg->msg_controllen = m.msg_controllen;
				msg->msg_namelen = m.msg_namelen;
			}
			got += (size_t)r;
			m.msg_iovlen = (size_t)cap__iov_window(msg->msg_iov, (int)msg->msg_iovlen, got, local);
			m.msg_iov = local;
			m.msg_name = NULL;
			m.msg_namelen = 0;
			m.msg_control = NULL;
			m.msg_controllen = 0;
			continue;
		}
		if (r >= 0 && got == 0) {
			msg->msg_flags = m.msg_flags;
			msg->msg_controllen = m.msg_controllen;
			msg->msg_namelen = m.msg_namelen;
		}
		if (r >= 0)
			return (long)(got + (size_t)r);
		if (r != -EAGAIN)
			return cap__partial(got, r);
		int e = cap__park(fd, CAP_DIR_READ, &pk, flags & MSG_DONTWAIT);
		if (e)
			return cap__partial(got, e);
	}
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	if (!cap__can_park())
		return cap__ret(cap_sys3(SYS_sendmsg, fd, msg, flags));
	struct iovec local[CAP_IOV_LOCAL];
	struct msghdr m = *msg;
	const struct iovec *iov = m.msg_iov;
	int cnt = (int)m.msg_iovlen;
	size_t sent = 0;
	struct cap_park pk = cap__park_begin();
	for (;;) {
		m.msg_iov = (struct iovec *)iov;
		m.msg_iovlen = (size_t)cnt;
		long r = cap_sys3(SYS_sendmsg, fd, &m, flags | MSG_DONTWAIT);
		if (r >= 0) {
			sent += (size_t)r;
			iov = local;
			cnt = cap__iov_window(msg->msg_iov, (int)msg->msg_iovlen, sent, local);
			if (cnt == 0)
				return (long)sent;
			m.msg_control = NULL; /* ancillary data went with the first bytes */
			m.msg_controllen = 0;
			continue;
		}
		if (r != -EAGAIN)
			return cap__partial(sent, r);
		int e = cap__park(fd, CAP_DIR_WRITE, &pk, flags & MSG_DONTWAIT);
		if (e)
			return cap__partial(sent, e);
	}
}

int accept4(int fd, struct sockaddr *addr, socklen_t *alen, int flags)
{
	if (!cap__can_park())
		return (int)cap__ret(cap_sys4(SYS_accept4, fd, addr, alen, flags));
	int e = cap__fd_make_nonblock(fd);
	if (e)
		return (int)cap__ret(e);
	struct cap_park pk = cap__park_begin();
	for (;;) {
		if (CAP_UNLIKELY(cap__policy))
			cap__policy_admit(); /* new work waits while descriptors or memory are scarce */
		long r = cap_sys4(SYS_accept4, fd, addr, alen, flags);
		if (r >= 0) {
			cap__fd_new((int)r, (flags & SOCK_NONBLOCK) != 0);
			return (int)r;
		}
		if (r != -EAGAIN)
			return (int)cap__ret(r);
		int e = cap__park(fd, CAP_DIR_READ, &pk, false);
		if (e)
			return (int)cap__ret(e);
	}
}

int accept(int fd, struct sockaddr *addr, socklen_t *alen) { return accept4(fd, addr, alen, 0); }

int connect(int fd, const struct sockaddr *addr, socklen_t alen)
{
	if (!cap__can_park() || cap__fd_user_nonblock(fd))
		return (int)cap__ret(cap_sys3(SYS_connect, fd, addr, alen));
	struct cap_park pk = cap__park_begin();
	long fl = cap_sys2(SYS_fcntl, fd, F_GETFL);
	if (fl < 0)
		return (int)cap__ret(fl);
	cap_sys3(SYS_fcntl, fd, F_SETFL, fl | O_NONBLOCK);
	long r = cap_sys3(SYS_connect, fd, addr, alen);
	cap_sys3(SYS_fcntl, fd, F_SETFL, fl);
	if (r != -EINPROGRESS)
		return (int)cap__ret(r);
	int e = cap__park(fd, CAP_DIR_WRITE, &pk, false);
	if (e) /* a connect that times out says EINPROGRESS on Linux */
		return (int)cap__ret(e == -EAGAIN ? -EINPROGRESS : e);
	int err = 0;
	socklen_t len = sizeof err;
	r = cap_sys5(SYS_getsockopt, fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (r < 0)
		return (int)cap__ret(r);
	return err ? (int)cap__ret(-err) : 0;
}

/* sendfile has no per-call non-blocking flag, so the socket it writes to
 * is made non-blocking for good (hidden from F_GETFL, like listeners).
 * Reading the file itself can still wait for the disk inside the kernel. */
ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
	if (!cap__can_park() || cap__fd_user_nonblock(out))
		return cap__ret(cap_sys4(SYS_sendfile, out, in, off, count));
	int e = cap__fd_make_nonblock(out);
	if (e)
		return cap__ret(e);
	size_t sent = 0;
	struct cap_park pk = cap__park_begin();
	for (;;) {
		long r = cap_sys4(SYS_sendfile, out, in, off, count - sent);
		if (r > 0) {
			sent += (size_t)r;
			if (sent >= count)
				return (long)sent;
			continue;
		}
		if (r == 0)
			return (long)sent; /* end of the input file */
		if (r != -EAGAIN)
			return cap__partial(sent, r);
		e = cap__park(out, CAP_DIR_WRITE, &pk, false);
		if (e)
			return cap__partial(sent, e);
	}
}
ssize_t sendfile64(int out, int in, off_t *off, size_t count) __attribute__((alias("sendfile")));

/* ---- Descriptor bookkeeping --------------------------------------------- */

int socket(int domain, int type, int proto)
{
	long r = cap_sys3(SYS_socket, domain, type, proto);
	if (r >= 0)
		cap__fd_new((int)r, (type & SOCK_NONBLOCK) != 0);
	return (int)cap__ret(r);
}

int socketpair(int domain, int type, int proto, int sv[2])
{
	long r = cap_sys4(SYS_socketpair, domain, type, proto, sv);
	if (r == 0)
		for (int i = 0; i < 2; i++)
			cap__fd_new(sv[i], (type & SOCK_NONBLOCK) != 0);
	return (int)cap__ret(r);
}

int pipe2(int fds[2], int flags)
{
	long r = cap_sys2(SYS_pipe2, fds, flags);
	if (r == 0)
		for (int i = 0; i < 2; i++)
			cap__fd_new(fds[i], (flags & O_NONBLOCK) != 0);
	return (int)cap__ret(r);
}
int pipe(int fds[2]) { return pipe2(fds, 0); }

/* Descriptors that open() returns may reuse numbers whose state we still
 * hold (closed by libc internally, e.g. fclose): start them afresh. */
static int cap__openat(int dirfd, const char *path, int flags, va_list ap)
{
	int mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, int) : 0;
	long r = cap_sys4(SYS_openat, dirfd, path, flags, mode);
	if (r >= 0)
		cap__fd_new((int)r, (flags & O_NONBLOCK) != 0);
	return (int)cap__ret(r);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	int r = cap__openat(AT_FDCWD, path, flags, ap);
	va_end(ap);
	return r;
}
int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	int r = cap__openat(dirfd, path, flags, ap);
	va_end(ap);
	return r;
}
int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

int creat(const char *path, mode_t mode) { return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode); }
int creat64(const char *path, mode_t mode) __attribute__((alias("creat")));

int close(int fd)
{
	cap__fd_reset(fd);
	long r = cap_sys1(SYS_close, fd);
	if (r == 0)
		cap__count_fds(-1);
	return (int)cap__ret(r);
}

int dup(int fd)
{
	long r = cap_sys1(SYS_dup, fd);
	if (r >= 0) {
		cap__fd_new((int)r, false);
		cap__fd_copy(fd, (int)r);
	}
	return (int)cap__ret(r);
}

int dup3(int fd, int to, int flags)
{
	if (fd != to)
		cap__fd_reset(to);
	long r = cap_sys3(SYS_dup3, fd, to, flags);
	if (r >= 0)
		cap__fd_copy(fd, to);
	return (int)cap__ret(r);
}

int dup2(int fd, int to)
{
	if (fd == to)
		return (int)cap__ret(cap_sys2(SYS_fcntl, fd, F_GETFD) < 0 ? -EBADF : fd);
	return dup3(fd, to, 0);
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = va_arg(ap, long);
	va_end(ap);
	switch (cmd) {
	case F_GETFL: {
		long r = cap_sys2(SYS_fcntl, fd, F_GETFL);
		if (r >= 0 && cap__fd_we_nonblock(fd) && !cap__fd_user_nonblock(fd))
			r &= ~(long)O_NONBLOCK;
		return (int)cap__ret(r);
	}
	case F_SETFL: {
		bool nb = (arg & O_NONBLOCK) != 0;
		if (cap__fd_we_nonblock(fd))
			arg |= O_NONBLOCK;
		long r = cap_sys3(SYS_fcntl, fd, F_SETFL, arg);
		if (r >= 0)
			cap__fd_note_nonblock(fd, nb);
		return (int)cap__ret(r);
	}
	case F_DUPFD:
	case F_DUPFD_CLOEXEC: {
		long r = cap_sys3(SYS_fcntl, fd, cmd, arg);
		if (r >= 0) {
			cap__fd_new((int)r, false);
			cap__fd_copy(fd, (int)r);
		}
		return (int)cap__ret(r);
	}
	case F_SETLKW:
	case F_OFD_SETLKW:
		return cap__fcntl_lock_wait(fd, cmd, arg);
	default:
		return (int)cap__ret(cap_sys3(SYS_fcntl, fd, cmd, arg));
	}
}
int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	long r = cap_sys3(SYS_ioctl, fd, req, arg);
	if (r >= 0 && req == FIONBIO && arg) {
		bool nb = *(int *)arg != 0;
		if (!nb && cap__fd_we_nonblock(fd)) {
			int one = 1; /* keep our O_NONBLOCK on listening sockets */
			cap_sys3(SYS_ioctl, fd, FIONBIO, &one);
		}
		cap__fd_note_nonblock(fd, nb);
	}
	return (int)cap__ret(r);
}

int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	long r = cap_sys5(SYS_setsockopt, fd, level, name, val, len);
	if (r == 0 && level == SOL_SOCKET && (name == SO_RCVTIMEO || name == SO_SNDTIMEO))
		cap__fd_forget_timeouts(fd);
	return (int)cap__ret(r);
}

/* ---- poll / select ------------------------------------------------------ */

/* Park on up to `cap` descriptors (and the signals that end a masked wait,
 * sw); the node arrays live in the caller's frame (no VLAs: their allocator
 * is not split-stack code) with room for one more. */
static int cap__poll_park(struct pollfd *fds, nfds_t n, uint64_t deadline, struct cap_sigwait *sw,
			  struct cap_pollwait *nodes, int *ids)
{
	int m = 0;
	for (nfds_t i = 0; i < n; i++)
		if (fds[i].fd >= 0)
			ids[m++] = fds[i].fd;
	return cap__sigwait_park(sw, nodes, ids, m, deadline, CAP_WAIT_POLL);
}

/* The arrays in frames of their own, sized by tier: a poll of a few
 * descriptors, the common one, parks with a frame that fits in what a first
 * chunk has left (test_chunks), where 64 nodes would make it link a chunk. */
#define CAP_POLL_FEW 8
#define CAP_POLL_SOME 64
static __attribute__((noinline)) int cap__poll_park_some(struct pollfd *fds, nfds_t n, uint64_t deadline,
							 struct cap_sigwait *sw)
{
	struct cap_pollwait nodes[CAP_POLL_SOME];
	int ids[CAP_POLL_SOME];
	return cap__poll_park(fds, n, deadline, sw, nodes, ids);
}
static __attribute__((noinline)) int cap__poll_park_large(struct pollfd *fds, nfds_t n, uint64_t deadline,
							  struct cap_sigwait *sw)
{
	struct cap_pollwait nodes[FD_SETSIZE + 1];
	int ids[FD_SETSIZE + 1];
	return cap__poll_park(fds, n, deadline, sw, nodes, ids);
}

/* poll until the deadline; with a mask (ppoll, pselect) the mask holds for
 * the wait, in `sw`: ready descriptors first, then the signals it lets
 * through. */
static inline __attribute__((always_inline)) int cap__poll_loop(struct pollfd *fds, nfds_t n, uint64_t deadline,
								 bool forever, const sigset_t *mask, struct cap_sigwait *sw)
{
	struct cap_sigwait *swp = NULL;
	bool timed_out = false;
	long r;
	for (;;) {
		r = cap_sys3(SYS_poll, fds, n, 0);
		if (r != 0)
			break;
		if (mask) { /* the kernel looks at signals even after the timeout */
			if (!swp)
				cap__sigwait_begin(swp = sw, 0, ~cap__sigset_bits(mask));
			if (cap__sigwait_check(swp, NULL) == -EINTR) {
				r = -EINTR;
				break;
			}
		}
		if (timed_out || (!forever && cap__mono_ns() >= deadline))
			break;
		int w;
		if (n < CAP_POLL_FEW) {
			struct cap_pollwait nodes[CAP_POLL_FEW];
			int ids[CAP_POLL_FEW];
			w = cap__poll_park(fds, n, forever ? 0 : deadline, swp, nodes, ids);
		} else if (n < CAP_POLL_SOME) {
			w = cap__poll_park_some(fds, n, forever ? 0 : deadline, swp);
		} else if (n <= FD_SETSIZE) {
			w = cap__poll_park_large(fds, n, forever ? 0 : deadline, swp);
		} else {
			cap__mn_lock();
			w = cap__block(NULL, cap__mono_ns() + 1000000, CAP_WAIT_POLL, fds); /* rare: look again in 1 ms */
			if (w == -ETIMEDOUT)
				w = 0;
		}
		if (w == -ETIMEDOUT)
			timed_out = true;
		if (w == -EINTR) {
			r = -EINTR;
			break;
		}
		if (w == -EPERM) /* something epoll cannot watch: look again shortly */
			cap_sleep_ns(1000000);
	}
	if (swp)
		cap__sigwait_end(swp);
	return (int)cap__ret(cap__fd_poll_saw(fds, n, r));
}

/* The wait state a mask needs (about 200 bytes, with a siginfo) in a frame of
 * its own: poll and select, which have none, block with less. */
static __attribute__((noinline)) int cap__poll_masked(struct pollfd *fds, nfds_t n, uint64_t deadline, bool forever,
						      const sigset_t *mask)
{
	struct cap_sigwait sw;
	return cap__poll_loop(fds, n, deadline, forever, mask, &sw);
}

static int cap__poll_deadline(struct pollfd *fds, nfds_t n, uint64_t deadline, bool forever, const sigset_t *mask)
{
	if (mask)
		return cap__poll_masked(fds, n, deadline, forever, mask);
	return cap__poll_loop(fds, n, deadline, forever, NULL, NULL);
}

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	if (!cap__can_park() || timeout == 0)
		return (int)cap__ret(cap__fd_poll_saw(fds, n, cap_sys3(SYS_poll, fds, n, timeout)));
	uint64_t deadline = timeout > 0 ? cap__mono_ns() + (uint64_t)timeout * 1000000u : 0;
	return cap__poll_deadline(fds, n, deadline, timeout < 0, NULL);
}

int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen);
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		__builtin_trap();
	return poll(fds, n, timeout);
}

int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask)
{
	if (ts && !cap__ts_valid(ts))
		return (int)cap__ret(-EINVAL);
	if (!cap__can_park() || (!mask && ts && ts->tv_sec == 0 && ts->tv_nsec == 0)) {
		struct timespec copy, *tp = NULL; /* as glibc: the kernel's update stays hidden */
		if (ts)
			copy = *ts, tp = &copy;
		return (int)cap__ret(cap__fd_poll_saw(fds, n, cap__sys_masked(SYS_ppoll, (long)fds, (long)n, (long)tp, (long)mask, 8, 0)));
	}
	uint64_t deadline = ts ? cap__mono_ns() + cap__ts_ns(ts) : 0;
	return cap__poll_deadline(fds, n, deadline, ts == NULL, mask);
}

/* ppoll of _FORTIFY_SOURCE (glibc 2.16), as __poll_chk. */
int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *ts, const sigset_t *mask, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		__builtin_trap();
	return ppoll(fds, n, ts, mask);
}

/* select as poll, on `p`, room for every descriptor in the sets. */
static int cap__select_on(int nfds, fd_set *r, fd_set *w, fd_set *e, uint64_t deadline, bool forever,
			  const sigset_t *mask, struct pollfd *p)
{
	nfds_t n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = (short)((r && FD_ISSET(fd, r) ? POLLIN : 0) | (w && FD_ISSET(fd, w) ? POLLOUT : 0) |
				   (e && FD_ISSET(fd, e) ? POLLPRI : 0));
		if (ev)
			p[n++] = (struct pollfd){ .fd = fd, .events = ev };
	}
	int k = cap__poll_deadline(p, n, deadline, forever, mask);
	if (k < 0)
		return k;
	for (nfds_t i = 0; i < n; i++)
		if (p[i].revents & POLLNVAL)
			return (int)cap__ret(-EBADF);
	if (r)
		FD_ZERO(r);
	if (w)
		FD_ZERO(w);
	if (e)
		FD_ZERO(e);
	int count = 0;
	for (nfds_t i = 0; i < n; i++) {
		short re = p[i].revents;
		if (r && (re & (POLLIN | POLLHUP | POLLERR)) && (p[i].events & POLLIN))
			FD_SET(p[i].fd, r), count++;
		if (w && (re & (POLLOUT | POLLERR)) && (p[i].events & POLLOUT))
			FD_SET(p[i].fd, w), count++;
		if (e && (re & POLLPRI))
			FD_SET(p[i].fd, e), count++;
	}
	return count;
}

static __attribute__((noinline)) int cap__select_large(int nfds, fd_set *r, fd_set *w, fd_set *e, uint64_t deadline,
							bool forever, const sigset_t *mask)
{
	struct pollfd p[FD_SETSIZE];
	return cap__select_on(nfds, r, w, e, deadline, forever, mask, p);
}

/* A select of a few descriptors, the common one, blocks in a frame that
 * fits in a first chunk, as a poll of as many does; FD_SETSIZE pollfds
 * (8 KiB) go in a frame of their own, for the rest. */
static int cap__select(int nfds, fd_set *r, fd_set *w, fd_set *e, uint64_t deadline, bool forever,
		       const sigset_t *mask)
{
	int n = 0;
	for (int fd = 0; fd < nfds && n < CAP_POLL_FEW; fd++)
		n += (r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) || (e && FD_ISSET(fd, e));
	if (n >= CAP_POLL_FEW)
		return cap__select_large(nfds, r, w, e, deadline, forever, mask);
	struct pollfd p[CAP_POLL_FEW];
	return cap__select_on(nfds, r, w, e, deadline, forever, mask, p);
}

int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	if (!cap__can_park() || nfds < 0 || nfds > FD_SETSIZE || (tv && tv->tv_sec == 0 && tv->tv_usec == 0))
		return (int)cap__ret(cap_sys5(SYS_select, nfds, r, w, e, tv));
	uint64_t start = cap__mono_ns();
	uint64_t deadline = tv ? start + (uint64_t)tv->tv_sec * 1000000000u + (uint64_t)tv->tv_usec * 1000u : 0;
	int count = cap__select(nfds, r, w, e, deadline, tv == NULL, NULL);
	if (count >= 0 && tv) {
		uint64_t now = cap__mono_ns(), left = now < deadline ? deadline - now : 0;
		tv->tv_sec = (time_t)(left / 1000000000u);
		tv->tv_usec = (suseconds_t)(left % 1000000000u / 1000u);
	}
	return count;
}

/* pselect: select with a timespec it leaves alone (glibc hides the kernel's
 * update) and a mask for the wait. */
int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e, const struct timespec *ts, const sigset_t *mask)
{
	if (ts && !cap__ts_valid(ts))
		return (int)cap__ret(-EINVAL);
	if (!cap__can_park() || nfds < 0 || nfds > FD_SETSIZE || (!mask && ts && ts->tv_sec == 0 && ts->tv_nsec == 0)) {
		struct timespec copy, *tp = NULL;
		if (ts)
			copy = *ts, tp = &copy;
		struct { const sigset_t *ss; size_t len; } m = { mask, 8 };
		return (int)cap__ret(cap__sys_masked(SYS_pselect6, nfds, (long)r, (long)w, (long)e, (long)tp, (long)&m));
	}
	uint64_t deadline = ts ? cap__mono_ns() + cap__ts_ns(ts) : 0;
	return cap__select(nfds, r, w, e, deadline, ts == NULL, mask);
}

/* ---- Sleeping ----------------------------------------------------------- */

static int cap__sleep_until(uint64_t deadline, struct timespec *rem)
{
	cap__mn_lock();
	int r = cap__block(NULL, deadline, CAP_WAIT_SLEEP, NULL);
	if (r == -EINTR) {
		if (rem) {
			uint64_t now = cap__mono_ns(), left = now < deadline ? deadline - now : 0;
			rem->tv_sec = (time_t)(left / 1000000000u);
			rem->tv_nsec = (long)(left % 1000000000u);
		}
		return -EINTR;
	}
	return 0;
}

int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req, struct timespec *rem)
{
	if (req->tv_nsec < 0 || req->tv_nsec >= 1000000000L || req->tv_sec < 0)
		return EINVAL;
	switch (clock) {
	case CLOCK_REALTIME:
	case CLOCK_MONOTONIC:
	case CLOCK_BOOTTIME:
	case CLOCK_TAI:
		if (cap__can_park())
			break;
		/* fall through */
	default: /* CPU-time and alarm clocks: the kernel's own sleep */
		return (int)-cap_sys4(SYS_clock_nanosleep, clock, flags, req, rem);
	case CLOCK_THREAD_CPUTIME_ID:
		return EINVAL; /* as glibc: a thread cannot sleep on its own CPU clock */
	}
	uint64_t ns = (uint64_t)req->tv_sec * 1000000000u + (uint64_t)req->tv_nsec;
	uint64_t now = cap__mono_ns(), deadline;
	if (flags & TIMER_ABSTIME) {
		uint64_t base = clock == CLOCK_MONOTONIC ? now : cap__clock_ns(clock);
		deadline = ns > base ? now + (ns - base) : now;
		rem = NULL;
	} else {
		deadline = now + ns;
	}
	if (deadline <= now) {
		cap_yield();
		return 0;
	}
	return -cap__sleep_until(deadline, rem);
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
	int r = clock_nanosleep(CLOCK_MONOTONIC, 0, req, rem);
	if (r) {
		cap__set_errno(r);
		return -1;
	}
	return 0;
}

int usleep(useconds_t us)
{
	struct timespec ts = { (time_t)(us / 1000000u), (long)(us % 1000000u) * 1000 };
	return nanosleep(&ts, NULL);
}

unsigned int sleep(unsigned int s)
{
	struct timespec ts = { (time_t)s, 0 }, rem = { 0, 0 };
	if (nanosleep(&ts, &rem) == 0)
		return 0;
	return (unsigned int)rem.tv_sec + (rem.tv_nsec > 0);
}
