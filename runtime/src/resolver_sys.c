/* The C library's resolver functions, called for resolver.c on a helper
 * (or, where no helper can be had, on the system stack).  Compiled without
 * -fsplit-stack. */
#include "resolver.h"

#include <netdb.h>
#include <sys/socket.h>

static const char *const cap__res_names[CAP_RES_COUNT] = {
	[CAP_RES_GETADDRINFO] = "getaddrinfo",
	[CAP_RES_GETNAMEINFO] = "getnameinfo",
	[CAP_RES_GETHOSTBYNAME] = "gethostbyname",
	[CAP_RES_GETHOSTBYNAME2] = "gethostbyname2",
	[CAP_RES_GETHOSTBYNAME_R] = "gethostbyname_r",
	[CAP_RES_GETHOSTBYNAME2_R] = "gethostbyname2_r",
	[CAP_RES_GETHOSTBYADDR] = "gethostbyaddr",
	[CAP_RES_GETHOSTBYADDR_R] = "gethostbyaddr_r",
};
static void *cap__res_fns[CAP_RES_COUNT];

void cap__resolve_prepare_sys(void *arg)
{
	struct cap_resolve *r = arg;
	r->herrno_at = &h_errno;
	r->herr = h_errno;
	cap__libc_next(&cap__res_fns[r->op], cap__res_names[r->op]);
}

void cap__resolve_sys(void *arg)
{
	struct cap_resolve *r = arg;
	const uintptr_t *a = r->a;
	void *f = cap__libc_next(&cap__res_fns[r->op], cap__res_names[r->op]);
	h_errno = r->herr;
	switch (r->op) {
	case CAP_RES_GETADDRINFO:
		r->ret = (uintptr_t)((int (*)(const char *, const char *, const struct addrinfo *, struct addrinfo **))f)(
			(const char *)a[0], (const char *)a[1], (const struct addrinfo *)a[2], (struct addrinfo **)a[3]);
		break;
	case CAP_RES_GETNAMEINFO:
		r->ret = (uintptr_t)((int (*)(const struct sockaddr *, socklen_t, char *, socklen_t, char *, socklen_t,
					      int))f)((const struct sockaddr *)a[0], (socklen_t)a[1], (char *)a[2],
						      (socklen_t)a[3], (char *)a[4], (socklen_t)a[5], (int)a[6]);
		break;
	case CAP_RES_GETHOSTBYNAME:
		r->ret = (uintptr_t)((struct hostent * (*)(const char *)) f)((const char *)a[0]);
		break;
	case CAP_RES_GETHOSTBYNAME2:
		r->ret = (uintptr_t)((struct hostent * (*)(const char *, int)) f)((const char *)a[0], (int)a[1]);
		break;
	case CAP_RES_GETHOSTBYNAME_R:
		r->ret = (uintptr_t)((int (*)(const char *, struct hostent *, char *, size_t, struct hostent **, int *))f)(
			(const char *)a[0], (struct hostent *)a[1], (char *)a[2], (size_t)a[3], (struct hostent **)a[4],
			(int *)a[5]);
		break;
	case CAP_RES_GETHOSTBYNAME2_R:
		r->ret = (uintptr_t)((int (*)(const char *, int, struct hostent *, char *, size_t, struct hostent **,
					      int *))f)((const char *)a[0], (int)a[1], (struct hostent *)a[2], (char *)a[3],
							(size_t)a[4], (struct hostent **)a[5], (int *)a[6]);
		break;
	case CAP_RES_GETHOSTBYADDR:
		r->ret = (uintptr_t)((struct hostent * (*)(const void *, socklen_t, int)) f)(
			(const void *)a[0], (socklen_t)a[1], (int)a[2]);
		break;
	case CAP_RES_GETHOSTBYADDR_R:
		r->ret = (uintptr_t)((int (*)(const void *, socklen_t, int, struct hostent *, char *, size_t,
					      struct hostent **, int *))f)((const void *)a[0], (socklen_t)a[1], (int)a[2],
									   (struct hostent *)a[3], (char *)a[4],
									   (size_t)a[5], (struct hostent **)a[6],
									   (int *)a[7]);
		break;
	case CAP_RES_COUNT:
		break;
	}
	r->herr = h_errno;
}
