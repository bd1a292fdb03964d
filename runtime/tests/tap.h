/* Minimal test harness: each TEST is a case; a case passes when none of its
 * CHECKs failed.  The closing line is "N passed, N failed". */
#ifndef CAP_TAP_H
#define CAP_TAP_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_cases_passed, tap_cases_failed, tap_case_failed;

#define CHECK(cond)                                                                              \
	do {                                                                                     \
		if (!(cond)) {                                                                   \
			tap_case_failed = 1;                                                     \
			fprintf(stderr, "  check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		}                                                                                \
	} while (0)
#define CHECK_EQ(a, b)                                                                            \
	do {                                                                                      \
		long long _a = (long long)(a), _b = (long long)(b);                                \
		if (_a != _b) {                                                                   \
			tap_case_failed = 1;                                                      \
			fprintf(stderr, "  check failed at %s:%d: %s == %s (%lld != %lld)\n", __FILE__, \
				__LINE__, #a, #b, _a, _b);                                        \
		}                                                                                 \
	} while (0)

#define RUN(fn)                                                                  \
	do {                                                                     \
		tap_case_failed = 0;                                             \
		fn();                                                            \
		printf("%s - %s\n", tap_case_failed ? "not ok" : "ok", #fn);     \
		fflush(stdout);                                                  \
		if (tap_case_failed)                                             \
			tap_cases_failed++;                                      \
		else                                                             \
			tap_cases_passed++;                                      \
	} while (0)

#define TAP_DONE()                                                                     \
	do {                                                                           \
		printf("%d passed, %d failed\n", tap_cases_passed, tap_cases_failed); \
		fflush(stdout);                                                        \
		return tap_cases_failed ? 1 : 0;                                       \
	} while (0)

#endif
