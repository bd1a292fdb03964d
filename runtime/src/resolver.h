/* Between resolver.c (the calls, on user threads) and resolver_sys.c (the
 * C library's resolver, run on a helper). */
#ifndef CAP_RESOLVER_H
#define CAP_RESOLVER_H

#include "internal.h"

enum cap_resolve_op {
	CAP_RES_GETADDRINFO,
	CAP_RES_GETNAMEINFO,
	CAP_RES_GETHOSTBYNAME,
	CAP_RES_GETHOSTBYNAME2,
	CAP_RES_GETHOSTBYNAME_R,
	CAP_RES_GETHOSTBYNAME2_R,
	CAP_RES_GETHOSTBYADDR,
	CAP_RES_GETHOSTBYADDR_R,
	CAP_RES_COUNT
};

struct cap_resolve {
	enum cap_resolve_op op;
	uintptr_t a[8];  /* the call's arguments, in order */
	uintptr_t ret;   /* its result */
	int herr;        /* h_errno: the caller's going in, the call's coming out */
	int *herrno_at;  /* the caller's h_errno */
};

/* resolver_sys.c */
void cap__resolve_prepare_sys(void *r); /* on the caller's side: where its h_errno is */
void cap__resolve_sys(void *r);         /* the call itself */

#endif
