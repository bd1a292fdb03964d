/* Stands in for a precompiled library that keeps a per-thread last error
 * in a thread-local, built with plain gcc (no split stacks) twice: as a
 * shared library (-DTLS_LIB=shared) and as an object linked into the
 * program (-DTLS_LIB=linked_in). */
#define CAT(a, b) a##b
#define NAME(lib, f) CAT(lib, f)

static __thread int last_error;
static __thread int calls = 100; /* .tdata */

void NAME(TLS_LIB, _fail)(int code)
{
	last_error = code;
	calls++;
}
int NAME(TLS_LIB, _last_error)(void) { return last_error; }
int NAME(TLS_LIB, _calls)(void) { return calls; }
