/* The stdio entry points the runtime defines (see stdio_stream.h).
 *
 * Each enters the stream — waiting while another user thread holds it —
 * and, when its data moves through a pipe, a socket or a terminal, does
 * the work with the runtime's readers and writers; otherwise it calls
 * libc's own definition.  The locked and _unlocked variants, the
 * _FORTIFY_SOURCE ones (__printf_chk, __fgets_chk, ...) and the functions
 * the getc/putc macros call (__uflow, __overflow) are all here, so no path
 * into a waiting stream is left to libc.
 *
 * Compiled without split stacks: it calls libc, and runs on the large
 * chunk gold gives every caller of code without split stacks. */
#define __NO_INLINE__ 1 /* no extern-inline getchar & co. from bits/stdio.h: they are defined here */
#include "stdio_stream.h"
#include "telemetry.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- libc's definitions ------------------------------------------------- */

#define CAP_REAL_NAME(name) #name,
static const char *const cap__real_names[CAP_REAL_COUNT] = { CAP_REAL_FUNCS(CAP_REAL_NAME) };
void *cap__reals[CAP_REAL_COUNT];

void *cap__stdio_resolve(enum cap_real id)
{
	void *p = dlsym(RTLD_NEXT, cap__real_names[id]);
	if (!p) {
		static const char msg[] = "capriccio: the C library lacks a stdio function the runtime wraps\n";
		cap_sys3(SYS_write, 2, msg, sizeof msg - 1);
		abort();
	}
	__atomic_store_n(&cap__reals[id], p, __ATOMIC_RELEASE);
	return p;
}

/* ---- One operation on a stream ------------------------------------------ */

static int cap__fd_waits(int fd)
{
	if (fd < 0)
		return 0;
	enum cap_fd_kind k = cap__fd_kind(fd);
	if (k != CAP_FD_STREAM && k != CAP_FD_DEVICE)
		return 0;
	return cap__fd_user_nonblock(fd) ? 0 : k; /* its own O_NONBLOCK: glibc's EAGAIN errors */
}

bool cap__stream_waits(struct cap_stream *s)
{
	if (s->kind < 0) /* wide streams keep libc's own paths */
		s->kind = s->f->_mode > 0 ? 0 : cap__fd_waits(s->f->_fileno);
	/* The runtime's path runs in the buffer without glibc's lock (which is
	 * per kernel thread, and would be held across the park): with several
	 * workers, a thread on another one must wait for the whole operation. */
	if (s->kind != 0 && CAP_UNLIKELY(cap__mn.n > 1))
		cap__file_hold(&s->hold);
	return s->kind != 0;
}

/* ---- Reading ------------------------------------------------------------ */

static inline __attribute__((always_inline)) int cap__getc(FILE *f, int (*real)(FILE *))
{
	struct cap_stream s;
	if (!cap__stream_enter(&s, f))
		return real(f);
	int c = f->_IO_read_ptr < f->_IO_read_end || !cap__stream_waits(&s) ? real(f) : cap__stream_underflow(&s, true);
	cap__stream_leave(&s);
	return c;
}

int fgetc(FILE *f) { return cap__getc(f, REAL(fgetc)); }
int getc(FILE *f) __attribute__((alias("fgetc")));
int _IO_getc(FILE *f) __attribute__((alias("fgetc"), copy(fgetc))); /* what getc() called in glibc before 2.28 */
int getchar(void) { return fgetc(stdin); }
int fgetc_unlocked(FILE *f) { return cap__getc(f, REAL(fgetc_unlocked)); }
int getc_unlocked(FILE *f) __attribute__((alias("fgetc_unlocked")));
int getchar_unlocked(void) { return fgetc_unlocked(stdin); }

/* The getc_unlocked macro's refill (and what libraries call directly). */
static int cap__underflow_entry(FILE *f, bool consume)
{
	struct cap_stream s;
	if (!cap__stream_enter(&s, f))
		return consume ? REAL(__uflow)(f) : REAL(__underflow)(f);
	int c = cap__stream_waits(&s) ? cap__stream_underflow(&s, consume)
				      : consume ? REAL(__uflow)(f) : REAL(__underflow)(f);
	cap__stream_leave(&s);
	return c;
}
int __uflow(FILE *f) { return cap__underflow_entry(f, true); }
int __underflow(FILE *f) { return cap__underflow_entry(f, false); }

/* glibc's fgets around _IO_getline: an error that was already flagged does
 * not fail this call, EAGAIN after some bytes does not either. */
static char *cap__fgets_stream(struct cap_stream *s, char *buf, size_t max, size_t chk_size)
{
	FILE *f = s->f;
	int old_error = f->_flags & CAP_IO_ERR_SEEN;
	f->_flags &= ~CAP_IO_ERR_SEEN;
	size_t count = cap__stream_getline(s, buf, max);
	char *r = NULL;
	if (count == 0 || ((f->_flags & CAP_IO_ERR_SEEN) && errno != EAGAIN)) {
		r = NULL;
	} else if (count >= chk_size) {
		__chk_fail();
	} else {
		buf[count] = 0;
		r = buf;
	}
	f->_flags |= old_error;
	return r;
}

char *fgets(char *buf, int n, FILE *f)
{
	struct cap_stream s;
	if (n <= 1 || !cap__stream_enter(&s, f))
		return REAL(fgets)(buf, n, f);
	char *r = cap__stream_waits(&s) ? cap__fgets_stream(&s, buf, (size_t)n - 1, SIZE_MAX) : REAL(fgets)(buf, n, f);
	cap__stream_leave(&s);
	return r;
}
char *fgets_unlocked(char *buf, int n, FILE *f)
{
	struct cap_stream s;
	if (n <= 1 || !cap__stream_enter(&s, f))
		return REAL(fgets_unlocked)(buf, n, f);
	char *r = cap__stream_waits(&s) ? cap__fgets_stream(&s, buf, (size_t)n - 1, SIZE_MAX)
					: REAL(fgets_unlocked)(buf, n, f);
	cap__stream_leave(&s);
	return r;
}

/* _FORTIFY_SOURCE: reads at most `size` bytes (the buffer's), and aborts
 * when the line would not fit with its terminator. */
static char *cap__fgets_chk(char *buf, size_t size, int n, FILE *f, __typeof__(&__fgets_chk) real)
{
	struct cap_stream s;
	if (n <= 0 || !cap__stream_enter(&s, f))
		return real(buf, size, n, f);
	char *r;
	if (cap__stream_waits(&s)) {
		size_t max = (size_t)n - 1 < size ? (size_t)n - 1 : size;
		r = cap__fgets_stream(&s, buf, max, size);
	} else {
		r = real(buf, size, n, f);
	}
	cap__stream_leave(&s);
	return r;
}
char *__fgets_chk(char *buf, size_t size, int n, FILE *f) { return cap__fgets_chk(buf, size, n, f, REAL(__fgets_chk)); }
char *__fgets_unlocked_chk(char *buf, size_t size, int n, FILE *f)
{
	return cap__fgets_chk(buf, size, n, f, REAL(__fgets_unlocked_chk));
}

static inline __attribute__((always_inline)) size_t cap__fread(void *p, size_t size, size_t n, FILE *f, __typeof__(&fread) real)
{
	size_t bytes = size * n;
	struct cap_stream s;
	if (bytes == 0 || !cap__stream_enter(&s, f))
		return real(p, size, n, f);
	size_t r;
	if (cap__stream_waits(&s)) {
		size_t got = cap__stream_read(&s, p, bytes);
		r = got == bytes ? n : got / size;
	} else {
		r = real(p, size, n, f);
	}
	cap__stream_leave(&s);
	return r;
}
size_t fread(void *p, size_t size, size_t n, FILE *f) { return cap__fread(p, size, n, f, REAL(fread)); }
size_t fread_unlocked(void *p, size_t size, size_t n, FILE *f) { return cap__fread(p, size, n, f, REAL(fread_unlocked)); }

/* _FORTIFY_SOURCE: the request must fit the buffer (and not overflow). */
static void cap__fread_check(size_t plen, size_t size, size_t n)
{
	size_t bytes = size * n;
	if ((n | size) >= ((size_t)1 << (4 * sizeof(size_t))) && size != 0 && bytes / size != n)
		__chk_fail();
	if (bytes > plen)
		__chk_fail();
}
size_t __fread_chk(void *p, size_t plen, size_t size, size_t n, FILE *f)
{
	cap__fread_check(plen, size, n);
	return cap__fread(p, size, n, f, REAL(fread));
}
size_t __fread_unlocked_chk(void *p, size_t plen, size_t size, size_t n, FILE *f)
{
	cap__fread_check(plen, size, n);
	return cap__fread(p, size, n, f, REAL(fread_unlocked));
}

ssize_t getdelim(char **line, size_t *n, int delim, FILE *f)
{
	struct cap_stream s;
	if (!line || !n || !cap__stream_enter(&s, f))
		return REAL(getdelim)(line, n, delim, f);
	ssize_t r = cap__stream_waits(&s) ? cap__stream_getdelim(&s, line, n, delim) : REAL(getdelim)(line, n, delim, f);
	cap__stream_leave(&s);
	return r;
}
ssize_t __getdelim(char **line, size_t *n, int delim, FILE *f) __attribute__((alias("getdelim")));
ssize_t getline(char **line, size_t *n, FILE *f) { return getdelim(line, n, '\n', f); }

static int cap__vscanf(FILE *f, const char *fmt, va_list ap, bool isoc99)
{
	struct cap_stream s;
	bool entered = cap__stream_enter(&s, f);
	int r;
	if (entered && cap__stream_waits(&s))
		r = cap__stream_vscanf(&s, fmt, ap, isoc99);
	else
		r = isoc99 ? REAL(__isoc99_vfscanf)(f, fmt, ap) : REAL(vfscanf)(f, fmt, ap);
	if (entered)
		cap__stream_leave(&s);
	return r;
}

/* Programs built with ISO C99 or later call the __isoc99_ names (glibc's
 * headers redirect to them); the plain names keep GNU's %a. */
int cap__vfscanf_gnu(FILE *f, const char *fmt, va_list ap) __asm__("vfscanf");
int cap__vfscanf_gnu(FILE *f, const char *fmt, va_list ap) { return cap__vscanf(f, fmt, ap, false); }
int cap__vscanf_gnu(const char *fmt, va_list ap) __asm__("vscanf");
int cap__vscanf_gnu(const char *fmt, va_list ap) { return cap__vscanf(stdin, fmt, ap, false); }
int cap__fscanf_gnu(FILE *f, const char *fmt, ...) __asm__("fscanf");
int cap__fscanf_gnu(FILE *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = cap__vscanf(f, fmt, ap, false);
	va_end(ap);
	return r;
}
int cap__scanf_gnu(const char *fmt, ...) __asm__("scanf");
int cap__scanf_gnu(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = cap__vscanf(stdin, fmt, ap, false);
	va_end(ap);
	return r;
}
int __isoc99_vfscanf(FILE *f, const char *fmt, va_list ap) { return cap__vscanf(f, fmt, ap, true); }
int __isoc99_vscanf(const char *fmt, va_list ap) { return cap__vscanf(stdin, fmt, ap, true); }
int __isoc99_fscanf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = cap__vscanf(f, fmt, ap, true);
	va_end(ap);
	return r;
}
int __isoc99_scanf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = cap__vscanf(stdin, fmt, ap, true);
	va_end(ap);
	return r;
}

/* ---- Writing ------------------------------------------------------------ */

static inline __attribute__((always_inline)) int cap__putc(int c, FILE *f, int (*real)(int, FILE *))
{
	struct cap_stream s;
	if (!cap__stream_enter(&s, f))
		return real(c, f);
	int r = f->_IO_write_ptr < f->_IO_write_end || !cap__stream_waits(&s) ? real(c, f) : cap__stream_putc(&s, c);
	cap__stream_leave(&s);
	return r;
}

int fputc(int c, FILE *f) { return cap__putc(c, f, REAL(fputc)); }
int putc(int c, FILE *f) __attribute__((alias("fputc")));
int _IO_putc(int c, FILE *f) __attribute__((alias("fputc"), copy(fputc))); /* what putc() called in glibc before 2.28 */
int putchar(int c) { return fputc(c, stdout); }
int fputc_unlocked(int c, FILE *f) { return cap__putc(c, f, REAL(fputc_unlocked)); }
int putc_unlocked(int c, FILE *f) __attribute__((alias("fputc_unlocked")));
int putchar_unlocked(int c) { return fputc_unlocked(c, stdout); }

/* The putc_unlocked macro's slow path. */
int __overflow(FILE *f, int c)
{
	struct cap_stream s;
	if (!cap__stream_enter(&s, f))
		return REAL(__overflow)(f, c);
	int r = cap__stream_waits(&s) ? cap__stream_overflow(&s, c) : REAL(__overflow)(f, c);
	cap__stream_leave(&s);
	return r;
}

/* The bytes of fputs/fwrite/puts: glibc orients the stream, then _IO_sputn. */
static size_t cap__sputn(struct cap_stream *s, const char *p, size_t n)
{
	if (s->f->_mode == 0)
		fwide(s->f, -1);
	return cap__stream_write(s, p, n);
}

static inline __attribute__((always_inline)) int cap__fputs(const char *str, FILE *f, int (*real)(const char *, FILE *))
{
	struct cap_stream s;
	if (!cap__stream_enter(&s, f))
		return real(str, f);
	int r;
	if (cap__stream_waits(&s)) {
		size_t len = strlen(str);
		r = cap__sputn(&s, str, len) == len ? 1 : EOF;
	} else {
		r = real(str, f);
	}
	cap__stream_leave(&s);
	return r;
}
int fputs(const char *str, FILE *f) { return cap__fputs(str, f, REAL(fputs)); }
int fputs_unlocked(const char *str, FILE *f) { return cap__fputs(str, f, REAL(fputs_unlocked)); }

int puts(const char *str)
{
	struct cap_stream s;
	if (!cap__stream_enter(&s, stdout))
		return REAL(puts)(str);
	int r;
	if (cap__stream_waits(&s)) {
		size_t len = strlen(str);
		r = cap__sputn(&s, str, len) == len && cap__stream_putc(&s, '\n') != EOF ? (len >= INT_MAX ? INT_MAX : (int)len + 1)
											  : EOF;
	} else {
		r = REAL(puts)(str);
	}
	cap__stream_leave(&s);
	return r;
}

static inline __attribute__((always_inline)) size_t cap__fwrite(const void *p, size_t size, size_t n, FILE *f, __typeof__(&fwrite) real)
{
	size_t bytes = size * n;
	struct cap_stream s;
	if (bytes == 0 || !cap__stream_enter(&s, f))
		return real(p, size, n, f);
	size_t r;
	if (cap__stream_waits(&s)) {
		size_t w = cap__sputn(&s, p, bytes);
		r = w == bytes || w == (size_t)EOF ? n : w / size; /* glibc: all buffered counts as written */
	} else {
		r = real(p, size, n, f);
	}
	cap__stream_leave(&s);
	return r;
}
size_t fwrite(const void *p, size_t size, size_t n, FILE *f) { return cap__fwrite(p, size, n, f, REAL(fwrite)); }
size_t fwrite_unlocked(const void *p, size_t size, size_t n, FILE *f)
{
	return cap__fwrite(p, size, n, f, REAL(fwrite_unlocked));
}

/* chk < 0: plain; else the _FORTIFY_SOURCE flag of the __*_chk variants. */
static inline __attribute__((always_inline)) int cap__vfprintf(FILE *f, int chk, const char *fmt, va_list ap)
{
	struct cap_stream s;
	bool entered = cap__stream_enter(&s, f);
	int r;
	if (entered && cap__stream_waits(&s))
		r = cap__stream_vprintf(&s, chk, fmt, ap);
	else
		r = chk < 0 ? REAL(vfprintf)(f, fmt, ap) : REAL(__vfprintf_chk)(f, chk, fmt, ap);
	if (entered)
		cap__stream_leave(&s);
	return r;
}

int vfprintf(FILE *f, const char *fmt, va_list ap) { return cap__vfprintf(f, -1, fmt, ap); }
int vprintf(const char *fmt, va_list ap) { return cap__vfprintf(stdout, -1, fmt, ap); }
int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap) { return cap__vfprintf(f, flag, fmt, ap); }
int __vprintf_chk(int flag, const char *fmt, va_list ap) { return cap__vfprintf(stdout, flag, fmt, ap); }
int fprintf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = cap__vfprintf(f, -1, fmt, ap);
	va_end(ap);
	return r;
}
int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = cap__vfprintf(stdout, -1, fmt, ap);
	va_end(ap);
	return r;
}
int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = cap__vfprintf(f, flag, fmt, ap);
	va_end(ap);
	return r;
}
int __printf_chk(int flag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = cap__vfprintf(stdout, flag, fmt, ap);
	va_end(ap);
	return r;
}

static int cap__vdprintf(int fd, int chk, const char *fmt, va_list ap)
{
	int kind = cap__stdio_can_park() ? cap__fd_waits(fd) : 0;
	if (kind)
		return cap__fd_vprintf(fd, kind, chk, fmt, ap);
	return chk < 0 ? REAL(vdprintf)(fd, fmt, ap) : REAL(__vdprintf_chk)(fd, chk, fmt, ap);
}
int vdprintf(int fd, const char *fmt, va_list ap) { return cap__vdprintf(fd, -1, fmt, ap); }
int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap) { return cap__vdprintf(fd, flag, fmt, ap); }
int dprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = cap__vdprintf(fd, -1, fmt, ap);
	va_end(ap);
	return r;
}
int __dprintf_chk(int fd, int flag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = cap__vdprintf(fd, flag, fmt, ap);
	va_end(ap);
	return r;
}

/* ---- Flushing, opening, closing ----------------------------------------- */

/* glibc's _IO_new_file_sync: write out the buffer, then (never waiting)
 * move the descriptor back over input read ahead. */
static int cap__fflush_stream(struct cap_stream *s, int (*real)(FILE *))
{
	FILE *f = s->f;
	if (cap__stream_waits(s) && f->_IO_write_ptr > f->_IO_write_base && cap__stream_flush(s) == EOF)
		return EOF;
	return real(f);
}

static bool cap__still_open(FILE *f)
{
	bool open = false;
	_IO_list_lock();
	for (void *i = _IO_iter_begin(); i != _IO_iter_end() && !open; i = _IO_iter_next(i))
		open = _IO_iter_file(i) == f;
	_IO_list_unlock();
	return open;
}

/* fflush(NULL).  glibc flushes every stream holding its list lock; a flush
 * that parks must not hold it (other threads open and close streams
 * meanwhile), so the streams are gathered first and each is looked up
 * again once this thread has it. */
static int cap__flush_all(void)
{
	size_t n = 0, cap = 0;
	FILE **v = NULL;
	_IO_list_lock();
	for (void *i = _IO_iter_begin(); i != _IO_iter_end(); i = _IO_iter_next(i)) {
		FILE *f = _IO_iter_file(i);
		if (f->_mode <= 0 && f->_IO_write_ptr <= f->_IO_write_base)
			continue; /* nothing to write (wide streams: libc looks) */
		if (n == cap) {
			FILE **w = realloc(v, (cap = cap ? 2 * cap : 16) * sizeof *v);
			if (!w)
				break;
			v = w;
		}
		v[n++] = f;
	}
	_IO_list_unlock();
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		struct cap_stream s;
		cap__stream_enter(&s, v[i]);
		if (cap__still_open(v[i]) && cap__fflush_stream(&s, REAL(fflush)) == EOF)
			r = EOF;
		cap__stream_leave(&s);
	}
	free(v);
	return r;
}

int fflush(FILE *f)
{
	if (!cap__stdio_can_park())
		return REAL(fflush)(f);
	if (!f)
		return cap__flush_all();
	struct cap_stream s;
	cap__stream_enter(&s, f);
	int r = cap__fflush_stream(&s, REAL(fflush));
	cap__stream_leave(&s);
	return r;
}
int fflush_unlocked(FILE *f)
{
	struct cap_stream s;
	if (!f || !cap__stream_enter(&s, f))
		return f ? REAL(fflush_unlocked)(f) : fflush(NULL);
	int r = cap__fflush_stream(&s, REAL(fflush_unlocked));
	cap__stream_leave(&s);
	return r;
}

/* The descriptor under a stream was opened, or closed, by libc itself:
 * what the runtime knew about that number is stale (fclose wakes threads
 * parked on it with EBADF, as close() does).  Counted, as open() and
 * close() are, when a thread of the program does it. */
static FILE *cap__opened(FILE *f)
{
	if (!f || f->_fileno < 0 || !cap__w)
		return f;
	if (cap__stdio_can_park())
		cap__fd_new(f->_fileno, false);
	else
		cap__fd_reset(f->_fileno);
	return f;
}
FILE *fopen(const char *path, const char *mode) { return cap__opened(REAL(fopen)(path, mode)); }
FILE *fopen64(const char *path, const char *mode) { return cap__opened(REAL(fopen64)(path, mode)); }

int fclose(FILE *f)
{
	struct cap_stream s;
	bool user = cap__stream_enter(&s, f);
	int fd = f->_fileno, wrote = 0;
	if (user && cap__stream_waits(&s) && (f->_flags & CAP_IO_CURRENTLY_PUTTING))
		wrote = cap__stream_flush(&s); /* then libc's flush finds nothing to write */
	if (fd >= 0 && cap__w)
		cap__fd_reset(fd);
	int r = REAL(fclose)(f);
	if (user) {
		if (fd >= 0)
			cap__count_fds(-1);
		cap__stream_leave(&s); /* keyed by the address only: f is gone */
	}
	return wrote == EOF ? EOF : r;
}

static FILE *cap__freopen(const char *path, const char *mode, FILE *f, __typeof__(&freopen) real)
{
	struct cap_stream s;
	if (!cap__stream_enter(&s, f))
		return real(path, mode, f);
	if (cap__stream_waits(&s) && (f->_flags & CAP_IO_CURRENTLY_PUTTING))
		cap__stream_flush(&s); /* glibc closes the old file ignoring how that went */
	if (f->_fileno >= 0)
		cap__fd_reset(f->_fileno);
	FILE *r = real(path, mode, f);
	if (r && r->_fileno >= 0)
		cap__fd_reset(r->_fileno);
	cap__stream_leave(&s);
	return r;
}
FILE *freopen(const char *path, const char *mode, FILE *f) { return cap__freopen(path, mode, f, REAL(freopen)); }
FILE *freopen64(const char *path, const char *mode, FILE *f) { return cap__freopen(path, mode, f, REAL(freopen64)); }

/* Giving a stream a buffer writes out the old one first. */
int setvbuf(FILE *f, char *buf, int mode, size_t size)
{
	struct cap_stream s;
	if (!cap__stream_enter(&s, f))
		return REAL(setvbuf)(f, buf, mode, size);
	int r = 0;
	if ((mode == _IONBF || buf) && cap__stream_waits(&s) && f->_IO_write_ptr > f->_IO_write_base &&
	    cap__stream_flush(&s) == EOF)
		r = EOF;
	if (r == 0)
		r = REAL(setvbuf)(f, buf, mode, size);
	cap__stream_leave(&s);
	return r;
}

/* ---- No I/O, but not while another thread is inside the stream ---------- */

#define CAP_STDIO_WAIT_THEN(expr, f)                          \
	do {                                                  \
		struct cap_stream s_;                         \
		if (!cap__stream_enter(&s_, (f)))             \
			return expr;                          \
		__typeof__(expr) r_ = expr;                   \
		cap__stream_leave(&s_);                       \
		return r_;                                    \
	} while (0)

int ungetc(int c, FILE *f) { CAP_STDIO_WAIT_THEN(REAL(ungetc)(c, f), f); }
int feof(FILE *f) { CAP_STDIO_WAIT_THEN(REAL(feof)(f), f); }
int ferror(FILE *f) { CAP_STDIO_WAIT_THEN(REAL(ferror)(f), f); }
void clearerr(FILE *f)
{
	struct cap_stream s;
	bool entered = cap__stream_enter(&s, f);
	REAL(clearerr)(f);
	if (entered)
		cap__stream_leave(&s);
}

/* ---- flockfile ---------------------------------------------------------- */

/* Between user threads the runtime's lock (stdio_lock.h); glibc's, which
 * cannot tell user threads apart, for everything else. */
void flockfile(FILE *f)
{
	if (cap__stdio_can_park())
		cap__file_lock(f, false);
	else
		_IO_flockfile(f);
}
int ftrylockfile(FILE *f) { return cap__stdio_can_park() ? -cap__file_lock(f, true) : _IO_ftrylockfile(f); }
void funlockfile(FILE *f)
{
	if (cap__stdio_can_park())
		cap__file_unlock(f);
	else
		_IO_funlockfile(f);
}
