/* Writing a stream whose descriptor may make the caller wait (see
 * stdio_stream.h).
 *
 * glibc fills the stream's buffer and, when the buffer is full, at a
 * newline on a line-buffered stream, at every call on an unbuffered one or
 * for a block larger than the buffer, writes with its internal write(2).
 * What follows does the same steps on the same FILE fields — so buffering,
 * return values, the error flag and what is lost on a failed write are
 * glibc's — but its writes park only the calling thread:
 *
 *   pipes and sockets   through the runtime's write(), which tries without
 *                       blocking and waits on epoll;
 *   terminals           through a second, non-blocking description of the
 *                       terminal (io.c: cap__fd_twin), waiting on epoll: the
 *                       one the program has may be shared with the shell,
 *                       and "writable" only means one byte of room;
 *   other devices       on a helper kernel thread (and a pseudo-terminal's
 *                       master, which cannot be reopened).
 *
 * Compiled without split stacks: it calls libc, and runs on the large
 * chunk gold gives every caller of code without split stacks. */
#include "stdio_stream.h"
#include "pool.h"

#include <errno.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cap_write_job {
	struct cap_job job;
	int fd;
	const char *p;
	size_t n;
	long r;
};

static void cap__write_job_run(struct cap_job *j)
{
	struct cap_write_job *w = (struct cap_write_job *)j;
	w->r = cap_sys3(SYS_write, w->fd, w->p, w->n);
}

/* A terminal, through its non-blocking twin (io.c: cap__fd_twin): write
 * what fits, wait on epoll for room.  The twin is the runtime's own, so
 * the program's O_NONBLOCK and timeouts are not its. */
static ssize_t cap__twin_write(int twin, const char *p, size_t n)
{
	for (;;) {
		long r = cap_sys3(SYS_write, twin, p, n);
		if (r >= 0)
			return r;
		if (r == -EAGAIN && (r = cap__fd_wait(twin, CAP_DIR_WRITE, 0)) == 0)
			continue;
		errno = (int)-r;
		return -1;
	}
}

/* One write(2): bytes written, or -1 with errno. */
static ssize_t cap__syswrite(int fd, int kind, struct cap_file_hold *h, const char *p, size_t n)
{
	if (h)
		cap__file_hold(h); /* it may park: nobody else enters the stream meanwhile */
	if (kind == CAP_FD_STREAM)
		return write(fd, p, n);
	int twin = cap__fd_twin(fd);
	if (twin >= 0)
		return cap__twin_write(twin, p, n);
	/* another device, or the twin could not be opened */
	struct cap_write_job j = { .job.run = cap__write_job_run, .fd = fd, .p = p, .n = n };
	if (cap__pool_run(&j.job, CAP_WAIT_EXTERN) != 0)
		j.r = cap_sys3(SYS_write, fd, p, n); /* no helper could start: wait as libc would */
	if (j.r < 0) {
		errno = (int)-j.r;
		return -1;
	}
	return j.r;
}

/* Everything, unless an error: glibc's _IO_new_file_write. */
static size_t cap__write_all(int fd, int kind, struct cap_file_hold *h, const char *p, size_t n, bool *failed)
{
	size_t left = n;
	while (left > 0) {
		ssize_t r = cap__syswrite(fd, kind, h, p, left);
		if (r < 0) {
			*failed = true;
			break;
		}
		left -= (size_t)r;
		p += r;
	}
	return n - left;
}

/* glibc's new_do_write: write `data` out; afterwards the buffer is empty
 * (even when the write failed: what it held is lost, as in glibc). */
static size_t cap__do_write_raw(struct cap_stream *s, const char *data, size_t n)
{
	FILE *f = s->f;
	if (f->_flags & CAP_IO_IS_APPENDING) {
		f->_offset = CAP_IO_POS_BAD;
	} else if (f->_IO_read_end != f->_IO_write_base) {
		/* unread input lies between the file position and the output */
		off64_t pos = lseek64(f->_fileno, f->_IO_write_base - f->_IO_read_end, SEEK_CUR);
		if (pos == CAP_IO_POS_BAD)
			return 0;
		f->_offset = pos;
	}
	bool failed = false;
	size_t count = cap__write_all(f->_fileno, s->kind, &s->hold, data, n, &failed);
	if (failed)
		f->_flags |= CAP_IO_ERR_SEEN;
	if (f->_offset >= 0)
		f->_offset += (off64_t)count;
	if (f->_cur_column && count)
		f->_cur_column = (unsigned short)(_IO_adjust_column(f->_cur_column - 1u, data, (int)count) + 1);
	char *b = f->_IO_buf_base;
	f->_IO_read_base = f->_IO_read_ptr = f->_IO_read_end = b;
	f->_IO_write_base = f->_IO_write_ptr = b;
	f->_IO_write_end = (f->_flags & (CAP_IO_LINE_BUF | CAP_IO_UNBUFFERED)) ? b : f->_IO_buf_end;
	return count;
}

static int cap__do_write(struct cap_stream *s, const char *data, size_t n)
{
	return n == 0 || cap__do_write_raw(s, data, n) == n ? 0 : EOF;
}

int cap__stream_flush(struct cap_stream *s)
{
	FILE *f = s->f;
	return cap__do_write(s, f->_IO_write_base, (size_t)(f->_IO_write_ptr - f->_IO_write_base));
}

/* glibc's __overflow and _IO_new_file_overflow. */
int cap__stream_overflow(struct cap_stream *s, int c)
{
	FILE *f = s->f;
	if (f->_flags & CAP_IO_NO_WRITES)
		return REAL(__overflow)(f, c); /* fails with EBADF, writes nothing */
	if (!(f->_flags & CAP_IO_CURRENTLY_PUTTING) || !f->_IO_write_base) {
		/* libc turns the stream to writing (allocating its buffer, leaving
		 * read mode); with nothing buffered yet it writes nothing */
		REAL(__overflow)(f, EOF);
	} else if (f->_mode == 0) {
		fwide(f, -1);
	}
	if (c == EOF)
		return cap__stream_flush(s);
	if (f->_IO_write_ptr == f->_IO_buf_end && cap__stream_flush(s) == EOF)
		return EOF;
	*f->_IO_write_ptr++ = (char)c;
	if ((f->_flags & CAP_IO_UNBUFFERED) || ((f->_flags & CAP_IO_LINE_BUF) && c == '\n'))
		if (cap__stream_flush(s) == EOF)
			return EOF;
	return (unsigned char)c;
}

/* glibc's _IO_putc_unlocked. */
int cap__stream_putc(struct cap_stream *s, int c)
{
	FILE *f = s->f;
	if (f->_IO_write_ptr < f->_IO_write_end)
		return (unsigned char)(*f->_IO_write_ptr++ = (char)c);
	return cap__stream_overflow(s, (unsigned char)c);
}

/* glibc's _IO_default_xsputn: copy what fits, overflow for the rest. */
static size_t cap__put_rest(struct cap_stream *s, const char *p, size_t n)
{
	FILE *f = s->f;
	size_t more = n;
	for (;;) {
		if (f->_IO_write_ptr < f->_IO_write_end) {
			size_t k = (size_t)(f->_IO_write_end - f->_IO_write_ptr);
			if (k > more)
				k = more;
			memcpy(f->_IO_write_ptr, p, k);
			f->_IO_write_ptr += k;
			p += k;
			more -= k;
		}
		if (more == 0 || cap__stream_overflow(s, (unsigned char)*p++) == EOF)
			break;
		more--;
	}
	return n - more;
}

/* glibc's _IO_new_file_xsputn: fill the buffer; then write it out, write
 * whole blocks of the rest directly, and buffer what remains. */
size_t cap__stream_write(struct cap_stream *s, const char *data, size_t n)
{
	FILE *f = s->f;
	if (n == 0)
		return 0;
	size_t left = n, room = 0;
	bool must_flush = false;
	if ((f->_flags & CAP_IO_LINE_BUF) && (f->_flags & CAP_IO_CURRENTLY_PUTTING)) {
		room = (size_t)(f->_IO_buf_end - f->_IO_write_ptr);
		if (room >= n) { /* it all fits: the lines in it go out now */
			const char *nl = memrchr(data, '\n', n);
			if (nl) {
				room = (size_t)(nl - data) + 1;
				must_flush = true;
			}
		}
	} else if (f->_IO_write_end > f->_IO_write_ptr) {
		room = (size_t)(f->_IO_write_end - f->_IO_write_ptr);
	}
	if (room > 0) {
		if (room > left)
			room = left;
		memcpy(f->_IO_write_ptr, data, room);
		f->_IO_write_ptr += room;
		data += room;
		left -= room;
	}
	if (left == 0 && !must_flush)
		return n;
	if (cap__stream_overflow(s, EOF) == EOF) /* all buffered but not written: glibc says EOF */
		return left == 0 ? (size_t)EOF : n - left;
	size_t block = (size_t)(f->_IO_buf_end - f->_IO_buf_base);
	size_t direct = left - (block >= 128 ? left % block : 0);
	if (direct) {
		size_t done = cap__do_write_raw(s, data, direct);
		left -= done;
		if (done < direct)
			return n - left;
	}
	if (left)
		left -= cap__put_rest(s, data + direct, left);
	return n - left;
}

/* Formatted text on its way into a stream. */
struct cap_text {
	const char *p;
	size_t len;
	char *heap;     /* to free afterwards */
	bool from_sink; /* the format stream's: release it afterwards */
};

/* printf formats into a stream of the runtime's own — libc's engine at
 * the speed it has on any buffered stream, where vsnprintf's string stream
 * is slower — and the text is then moved into the real stream.  One for
 * the process, taken by an atomic exchange; a printf that runs while it is
 * taken (on another worker, a thread parked writing its text, a printf
 * handler calling printf) formats with vsnprintf instead. */
static FILE *cap__sink;
static bool cap__sink_busy;
static char cap__sink_buf[4096];
static char *cap__spill; /* what overflowed the buffer, in order */
static size_t cap__spill_len, cap__spill_cap;

static bool cap__spill_add(const char *p, size_t n)
{
	if (cap__spill_len + n > cap__spill_cap) {
		size_t cap = cap__spill_cap ? cap__spill_cap : 8192;
		while (cap < cap__spill_len + n)
			cap *= 2;
		char *q = realloc(cap__spill, cap);
		if (!q)
			return false;
		cap__spill = q;
		cap__spill_cap = cap;
	}
	memcpy(cap__spill + cap__spill_len, p, n);
	cap__spill_len += n;
	return true;
}

static ssize_t cap__sink_write(void *cookie, const char *p, size_t n)
{
	(void)cookie;
	return cap__spill_add(p, n) ? (ssize_t)n : -1;
}

/* false: another printf has it, or it cannot be made. */
static bool cap__sink_take(void)
{
	if (__atomic_exchange_n(&cap__sink_busy, true, __ATOMIC_ACQUIRE))
		return false;
	if (cap__sink)
		return true;
	FILE *f = fopencookie(NULL, "w", (cookie_io_functions_t){ .write = cap__sink_write });
	if (!f || REAL(setvbuf)(f, cap__sink_buf, _IOFBF, sizeof cap__sink_buf) != 0) {
		__atomic_store_n(&cap__sink_busy, false, __ATOMIC_RELEASE);
		return false;
	}
	__fsetlocking(f, FSETLOCKING_BYCALLER); /* only ever used by its taker */
	cap__sink = f;
	return true;
}

static void cap__sink_give(void)
{
	cap__sink->_IO_write_ptr = cap__sink->_IO_write_base;
	cap__sink->_flags &= ~CAP_IO_ERR_SEEN;
	cap__spill_len = 0;
	__atomic_store_n(&cap__sink_busy, false, __ATOMIC_RELEASE);
}

/* Returns the length, or -1 when a conversion failed (EOVERFLOW, EILSEQ,
 * ENOMEM): then nothing is to be written. */
static int cap__format(struct cap_text *t, char *local, size_t size, int chk, const char *fmt, va_list ap)
{
	*t = (struct cap_text){ 0 };
	if (cap__sink_take()) {
		FILE *k = cap__sink;
		int n = chk < 0 ? REAL(vfprintf)(k, fmt, ap) : REAL(__vfprintf_chk)(k, chk, fmt, ap);
		size_t tail = (size_t)(k->_IO_write_ptr - k->_IO_write_base);
		if (n < 0 || (cap__spill_len && !cap__spill_add(k->_IO_write_base, tail))) {
			cap__sink_give();
			return -1;
		}
		t->p = cap__spill_len ? cap__spill : k->_IO_write_base;
		t->len = cap__spill_len ? cap__spill_len : tail;
		t->from_sink = true;
		return n;
	}
	va_list again;
	va_copy(again, ap);
	int n = chk < 0 ? vsnprintf(local, size, fmt, ap) : __vsnprintf_chk(local, size, chk, size, fmt, ap);
	t->p = local;
	if (n >= 0 && (size_t)n >= size) {
		t->heap = malloc((size_t)n + 1);
		n = !t->heap ? -1
		    : chk < 0 ? vsnprintf(t->heap, (size_t)n + 1, fmt, again)
			      : __vsnprintf_chk(t->heap, (size_t)n + 1, chk, (size_t)n + 1, fmt, again);
		t->p = t->heap;
	}
	va_end(again);
	t->len = n < 0 ? 0 : (size_t)n;
	return n;
}

static void cap__format_done(struct cap_text *t)
{
	free(t->heap);
	if (t->from_sink)
		cap__sink_give();
}

/* vfprintf formats straight into the stream's buffer and writes whenever
 * it fills, so how much it will write is known only at the end.  Here the
 * text is formatted first, then put into the buffer like fwrite — one
 * system call per buffer, none when it fits. */
int cap__stream_vprintf(struct cap_stream *s, int chk, const char *fmt, va_list ap)
{
	char local[1024];
	struct cap_text t;
	va_list again;
	va_copy(again, ap);
	int n = cap__format(&t, local, sizeof local, chk, fmt, ap);
	int r;
	if (n < 0) {
		/* libc reports the failed conversion, and writes what came before
		 * it (the worker may wait for that) */
		r = chk < 0 ? REAL(vfprintf)(s->f, fmt, again) : REAL(__vfprintf_chk)(s->f, chk, fmt, again);
	} else {
		if (s->f->_mode == 0)
			fwide(s->f, -1);
		r = cap__stream_write(s, t.p, t.len) == t.len ? n : -1;
	}
	cap__format_done(&t);
	va_end(again);
	return r;
}

/* dprintf: glibc formats into a buffer on the stack and writes it with its
 * internal write(2) whenever it fills and at the end. */
int cap__fd_vprintf(int fd, int kind, int chk, const char *fmt, va_list ap)
{
	char local[1024];
	struct cap_text t;
	va_list again;
	va_copy(again, ap);
	int n = cap__format(&t, local, sizeof local, chk, fmt, ap);
	int r;
	if (n < 0) {
		r = chk < 0 ? REAL(vdprintf)(fd, fmt, again) : REAL(__vdprintf_chk)(fd, chk, fmt, again);
	} else {
		bool failed = false;
		cap__write_all(fd, kind, NULL, t.p, t.len, &failed);
		r = failed ? EOF : n;
	}
	cap__format_done(&t);
	va_end(again);
	return r;
}
