/* Reading a stream whose descriptor may make the caller wait (see
 * stdio_stream.h).
 *
 * Every read glibc's stdio makes goes through one step: __underflow /
 * __uflow refill the empty buffer with one read(2), which blocks on a pipe,
 * a socket or a terminal with nothing to read.  So the refill waits first
 * — parked on epoll until the descriptor is readable — and then lets libc
 * make its read, which now returns at once.  fgets, getline, fread and
 * getc are glibc's algorithms over the buffer with that refill; scanf runs
 * unchanged on a private stream fed from this one.
 *
 * Compiled without split stacks: it calls libc, and runs on the large
 * chunk gold gives every caller of code without split stacks. */
#include "stdio_stream.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static bool cap__readable_now(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return cap_sys3(SYS_poll, &p, 1, 0) != 0; /* errors too: libc's read reports them */
}

/* glibc writes out stdout before it reads a line-buffered or unbuffered
 * stream (_IO_new_file_underflow). */
static bool cap__stdout_flushed_by_reads(void)
{
	FILE *o = stdout;
	return (o->_flags & (CAP_IO_LINKED | CAP_IO_NO_WRITES | CAP_IO_LINE_BUF)) == (CAP_IO_LINKED | CAP_IO_LINE_BUF) &&
	       o->_IO_write_ptr > o->_IO_write_base;
}

static int cap__refill(FILE *f, bool consume) { return consume ? REAL(__uflow)(f) : REAL(__underflow)(f); }

/* A terminal in non-canonical mode with VMIN 0 does not wait for input:
 * its read returns what is there, or 0 (end of file) at once (VTIME 0)
 * or after VTIME tenths of a second.  -1: the read waits for input; else
 * how long it waits at most, in ns. */
static int64_t cap__tty_read_wait(struct cap_stream *s)
{
	struct termios t;
	if (s->kind != CAP_FD_DEVICE || tcgetattr(s->f->_fileno, &t) != 0 || (t.c_lflag & ICANON) || t.c_cc[VMIN] != 0)
		return -1;
	return (int64_t)t.c_cc[VTIME] * 100000000;
}

/* Parks until f's descriptor is readable: 0, or EOF with what libc's read
 * would have reported: an error (EINTR, EAGAIN after SO_RCVTIMEO, EBADF),
 * or end of file from a terminal whose VTIME passed. */
static int cap__wait_readable(struct cap_stream *s, struct cap_park *pk, int64_t tty_wait)
{
	FILE *f = s->f;
	if (tty_wait > 0 && !pk->started) { /* the terminal's own timeout */
		pk->deadline = cap__mono_ns() + (uint64_t)tty_wait;
		pk->started = true;
	}
	cap__file_hold(&s->hold);
	int e = cap__park(f->_fileno, CAP_DIR_READ, pk, false);
	if (e == 0 || e == -EPERM) /* EPERM: epoll cannot watch it; read as libc would */
		return 0;
	if (e == -EAGAIN && tty_wait > 0) {
		f->_flags |= CAP_IO_EOF_SEEN;
		return EOF;
	}
	f->_flags |= CAP_IO_ERR_SEEN;
	errno = -e;
	return EOF;
}

/* Nothing to read yet: 1 to look again after parking, 0 to let libc read
 * now (a terminal that does not wait), EOF as cap__wait_readable. */
static int cap__await_input(struct cap_stream *s, struct cap_park *pk, int64_t tty_wait)
{
	if (tty_wait == 0)
		return 0;
	return cap__wait_readable(s, pk, tty_wait) == EOF ? EOF : 1;
}

int cap__stream_underflow(struct cap_stream *s, bool consume)
{
	FILE *f = s->f;
	struct cap_park pk = cap__park_begin(); /* one deadline (SO_RCVTIMEO, VTIME) for the whole refill */
	bool stdout_stuck = false; /* a flush left it as it was (glibc's own flush would too) */
	int64_t tty_wait = -2;       /* cap__tty_read_wait, once it is needed */
	for (;;) {
		if ((f->_flags & CAP_IO_IN_BACKUP) && f->_IO_read_ptr >= f->_IO_read_end)
			_IO_free_backup_area(f); /* __underflow's first step: back to the main get area */
		if (f->_mode > 0 || (f->_flags & (CAP_IO_EOF_SEEN | CAP_IO_NO_READS)) || f->_IO_read_ptr < f->_IO_read_end)
			return cap__refill(f, consume); /* answered without reading */
		if ((f->_flags & CAP_IO_CURRENTLY_PUTTING) && f->_IO_write_ptr > f->_IO_write_base) {
			/* leaving write mode writes out what is buffered */
			if (cap__stream_flush(s) == EOF)
				return EOF;
			continue;
		}
		if (!f->_IO_buf_base)
			_IO_doallocbuf(f); /* as libc's refill would first: it decides line buffering (a terminal) */
		if (tty_wait == -2)
			tty_wait = cap__tty_read_wait(s);
		if (!(f->_flags & (CAP_IO_LINE_BUF | CAP_IO_UNBUFFERED))) {
			if (!cap__readable_now(f->_fileno)) {
				int w = cap__await_input(s, &pk, tty_wait);
				if (w == EOF)
					return EOF;
				if (w)
					continue;
			}
			return cap__refill(f, consume);
		}
		/* Before it reads, libc writes out stdout: that is done here,
		 * before waiting (the prompt shows) and again right before libc's
		 * read, so libc finds nothing to write; stdout is this thread's
		 * meanwhile (another thread may be inside an operation on it). */
		cap__file_hold(&s->hold);
		struct cap_stream out;
		cap__stream_enter(&out, stdout);
		if (out.hold.took) { /* waited for another thread: look again */
			cap__stream_leave(&out);
			continue;
		}
		if (!stdout_stuck && cap__stdout_flushed_by_reads() && cap__stream_waits(&out)) {
			/* glibc ignores how it went; a flush that could not even start
			 * (unread input before the output, on a pipe) stays so */
			stdout_stuck = cap__stream_flush(&out) == EOF && cap__stdout_flushed_by_reads();
			cap__stream_leave(&out);
			continue;
		}
		if (!cap__readable_now(f->_fileno) && tty_wait != 0) {
			cap__stream_leave(&out);
			if (cap__wait_readable(s, &pk, tty_wait) == EOF)
				return EOF;
			stdout_stuck = false;
			continue;
		}
		int c = cap__refill(f, consume);
		cap__stream_leave(&out);
		return c;
	}
}

/* glibc's _IO_getline for fgets: up to n bytes, through the first '\n'. */
size_t cap__stream_getline(struct cap_stream *s, char *buf, size_t n)
{
	FILE *f = s->f;
	char *p = buf;
	while (n != 0) {
		ptrdiff_t have = f->_IO_read_end - f->_IO_read_ptr;
		if (have <= 0) {
			int c = cap__stream_underflow(s, true);
			if (c == EOF)
				break;
			*p++ = (char)c;
			if (c == '\n')
				break;
			n--;
			continue;
		}
		size_t k = (size_t)have < n ? (size_t)have : n;
		char *nl = memchr(f->_IO_read_ptr, '\n', k);
		if (nl)
			k = (size_t)(nl - f->_IO_read_ptr) + 1;
		memcpy(p, f->_IO_read_ptr, k);
		f->_IO_read_ptr += k;
		p += k;
		if (nl)
			break;
		n -= k;
	}
	return (size_t)(p - buf);
}

/* glibc's _IO_getdelim. */
ssize_t cap__stream_getdelim(struct cap_stream *s, char **line, size_t *n, int delim)
{
	FILE *f = s->f;
	if (f->_flags & CAP_IO_ERR_SEEN)
		return -1;
	if (!*line || *n == 0) {
		*n = 120;
		*line = malloc(*n);
		if (!*line)
			return -1;
	}
	ssize_t len = f->_IO_read_end - f->_IO_read_ptr, cur = 0;
	if (len <= 0) {
		if (cap__stream_underflow(s, false) == EOF)
			return -1;
		len = f->_IO_read_end - f->_IO_read_ptr;
	}
	for (;;) {
		char *t = memchr(f->_IO_read_ptr, delim, (size_t)len);
		if (t)
			len = t - f->_IO_read_ptr + 1;
		if (len >= SSIZE_MAX - cur) {
			errno = EOVERFLOW;
			return -1;
		}
		size_t needed = (size_t)(cur + len + 1);
		if (needed > *n) {
			if (needed < 2 * *n)
				needed = 2 * *n;
			char *bigger = realloc(*line, needed);
			if (!bigger)
				return -1;
			*line = bigger;
			*n = needed;
		}
		memcpy(*line + cur, f->_IO_read_ptr, (size_t)len);
		f->_IO_read_ptr += len;
		cur += len;
		if (t || cap__stream_underflow(s, false) == EOF)
			break;
		len = f->_IO_read_end - f->_IO_read_ptr;
	}
	(*line)[cur] = 0;
	return cur;
}

/* glibc's _IO_file_xsgetn: from the buffer, refilling it for small
 * remainders, straight into the caller's memory for whole blocks. */
size_t cap__stream_read(struct cap_stream *s, char *data, size_t n)
{
	FILE *f = s->f;
	size_t want = n;
	if (!f->_IO_buf_base) {
		if (f->_IO_save_base) {
			free(f->_IO_save_base);
			f->_flags &= ~CAP_IO_IN_BACKUP;
		}
		_IO_doallocbuf(f);
	}
	while (want > 0) {
		size_t have = (size_t)(f->_IO_read_end - f->_IO_read_ptr);
		if (want <= have) {
			memcpy(data, f->_IO_read_ptr, want);
			f->_IO_read_ptr += want;
			want = 0;
			break;
		}
		if (have > 0) {
			memcpy(data, f->_IO_read_ptr, have);
			data += have;
			want -= have;
			f->_IO_read_ptr += have;
		}
		if (f->_flags & CAP_IO_IN_BACKUP) {
			_IO_free_backup_area(f); /* on to the main get area */
			continue;
		}
		size_t block = (size_t)(f->_IO_buf_end - f->_IO_buf_base);
		if (f->_IO_buf_base && want < block) {
			if (cap__stream_underflow(s, false) == EOF)
				break;
			continue;
		}
		char *b = f->_IO_buf_base;
		f->_IO_read_base = f->_IO_read_ptr = f->_IO_read_end = b;
		f->_IO_write_base = f->_IO_write_ptr = f->_IO_write_end = b;
		size_t count = want - (b && block >= 128 ? want % block : 0);
		cap__file_hold(&s->hold);
		ssize_t r = read(f->_fileno, data, count); /* the runtime's read(): parks */
		if (r <= 0) {
			f->_flags |= r == 0 ? CAP_IO_EOF_SEEN : CAP_IO_ERR_SEEN;
			break;
		}
		data += r;
		want -= (size_t)r;
		if (f->_offset != CAP_IO_POS_BAD)
			f->_offset += r;
	}
	return n - want;
}

/* scanf reads one byte at a time from a private stream whose bytes come
 * from the real one through here. */
static ssize_t cap__scan_read(void *cookie, char *buf, size_t size)
{
	struct cap_stream *s = cookie;
	FILE *f = s->f;
	if (f->_IO_read_ptr >= f->_IO_read_end && cap__stream_underflow(s, false) == EOF)
		return (f->_flags & CAP_IO_EOF_SEEN) ? 0 : -1;
	size_t k = (size_t)(f->_IO_read_end - f->_IO_read_ptr);
	if (k > size)
		k = size;
	memcpy(buf, f->_IO_read_ptr, k);
	f->_IO_read_ptr += k;
	return (ssize_t)k;
}

/* scanf cannot be resumed: a conversion that saw its read fail with EAGAIN
 * has already consumed its input.  So it runs whole, unchanged, on a
 * stream whose reads park, and what it read ahead and pushed back (one
 * byte) goes back to the real stream. */
int cap__stream_vscanf(struct cap_stream *s, const char *fmt, va_list ap, bool isoc99)
{
	FILE *c = fopencookie(s, "r", (cookie_io_functions_t){ .read = cap__scan_read });
	if (!c) /* ENOMEM: libc reads, and may make the worker wait */
		return isoc99 ? REAL(__isoc99_vfscanf)(s->f, fmt, ap) : REAL(vfscanf)(s->f, fmt, ap);
	/* Fully buffered, one byte: no read-ahead, and none of the stdout
	 * flushing glibc does before reading an unbuffered stream (the real
	 * stream's refill does that when glibc would). */
	char one;
	REAL(setvbuf)(c, &one, _IOFBF, 1);
	int r = isoc99 ? REAL(__isoc99_vfscanf)(c, fmt, ap) : REAL(vfscanf)(c, fmt, ap);
	int e = errno;
	char back[4];
	int nback = 0;
	while (c->_IO_read_ptr < c->_IO_read_end && nback < (int)sizeof back)
		back[nback++] = *c->_IO_read_ptr++;
	while (nback > 0)
		REAL(ungetc)((unsigned char)back[--nback], s->f);
	REAL(fclose)(c);
	errno = e;
	return r;
}
