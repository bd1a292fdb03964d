/* The resolver — getaddrinfo, getnameinfo, gethostbyname, gethostbyname2,
 * gethostbyaddr and their _r forms — run by the C library itself on a
 * helper kernel thread while the caller parks (its DNS queries, NSS modules
 * and /etc files would otherwise stop the worker).  Results are glibc's:
 * freeaddrinfo frees them, gethostbyname's static result is shared as in
 * glibc, and errno and h_errno come back to the caller.  Resolver state a
 * thread sets up for itself (res_init, _res) is not seen by the helper. */
#include "pool.h"
#include "resolver.h"

#include <netdb.h>
#include <sys/socket.h>

static uintptr_t cap__resolve(enum cap_resolve_op op, uintptr_t a0, uintptr_t a1, uintptr_t a2, uintptr_t a3,
			      uintptr_t a4, uintptr_t a5, uintptr_t a6, uintptr_t a7)
{
	struct cap_resolve r = { .op = op, .a = { a0, a1, a2, a3, a4, a5, a6, a7 } };
	cap__on_sysstack(CAP_SYSFN_RESOLVE_PREPARE, &r);
	cap__pool_call(CAP_SYSFN_RESOLVE, &r, CAP_WAIT_EXTERN);
	*r.herrno_at = r.herr;
	return r.ret;
}
#define CAP_RESOLVE(op, ...) cap__resolve_n(op, __VA_ARGS__, 0, 0, 0, 0, 0, 0, 0)
#define cap__resolve_n(op, a0, a1, a2, a3, a4, a5, a6, a7, ...)                                                   \
	cap__resolve(op, (uintptr_t)(a0), (uintptr_t)(a1), (uintptr_t)(a2), (uintptr_t)(a3), (uintptr_t)(a4), \
		     (uintptr_t)(a5), (uintptr_t)(a6), (uintptr_t)(a7))

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
	return (int)CAP_RESOLVE(CAP_RES_GETADDRINFO, node, service, hints, res);
}

int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen, char *serv,
		socklen_t servlen, int flags)
{
	return (int)CAP_RESOLVE(CAP_RES_GETNAMEINFO, sa, salen, host, hostlen, serv, servlen, flags);
}

struct hostent *gethostbyname(const char *name)
{
	return (struct hostent *)CAP_RESOLVE(CAP_RES_GETHOSTBYNAME, name);
}

struct hostent *gethostbyname2(const char *name, int af)
{
	return (struct hostent *)CAP_RESOLVE(CAP_RES_GETHOSTBYNAME2, name, af);
}

int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen, struct hostent **result,
		    int *h_errnop)
{
	return (int)CAP_RESOLVE(CAP_RES_GETHOSTBYNAME_R, name, ret, buf, buflen, result, h_errnop);
}

int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf, size_t buflen,
		     struct hostent **result, int *h_errnop)
{
	return (int)CAP_RESOLVE(CAP_RES_GETHOSTBYNAME2_R, name, af, ret, buf, buflen, result, h_errnop);
}

struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type)
{
	return (struct hostent *)CAP_RESOLVE(CAP_RES_GETHOSTBYADDR, addr, len, type);
}

int gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret, char *buf, size_t buflen,
		    struct hostent **result, int *h_errnop)
{
	return (int)CAP_RESOLVE(CAP_RES_GETHOSTBYADDR_R, addr, len, type, ret, buf, buflen, result, h_errnop);
}
