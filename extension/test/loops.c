/* The loops of the yield tests (suggest.test.ts, fixes.test.ts, loops.test.ts): every kind of
 * loop, braced and not, nested, and text that only looks like a loop. The tests find lines by
 * the marker comments; gcc must accept the file before and after each quick fix. */
#include <stdio.h>

#define FOREVER for (;;)

static unsigned long x;

void kinds(int n)
{
	for (int i = 0; i < n; i++) { /* for braced */
		x = x * 3 + 1; /* for braced body */
	}
	for (int i = 0; i < n; i++) /* for unbraced */
		x = x * 5 + 1; /* for unbraced body */
	while (x < 100) { /* while braced */
		x += 2; /* while braced body */
	}
	while (x < 200) /* while unbraced */
		x += 3; /* while unbraced body */
	do { /* do braced */
		x -= 1; /* do braced body */
	} while (x > 50); /* do braced tail */
	do /* do unbraced */
		x -= 2; /* do unbraced body */
	while (x > 10); /* do unbraced tail */
}

void nested(int n)
{
	while (n-- > 0) { /* outer */
		x++; /* outer body */
		for (int i = 0;
		     i < n; /* inner header, second line */
		     i++) /* inner header, last line */
			x = x * 7; /* inner body */
	}
	while (n++ < 10) /* unbraced outer */
		for (int j = 0; j < n; j++) /* only statement */
			x ^= (unsigned long)j; /* body of the only statement */
	if (x)
		x = 0;
	else while (x < 5) x++; /* else loop */
	const char *s = "for (;;) { while (1)"; /* string */
	// while (1) { a comment
	FOREVER { x += (unsigned long)s[0]; break; } /* macro loop */
	for (;;) for (;;) { x++; break; } /* two loops on one line */
}

void braces(void)
{
	while (x < 300) /* allman */
	{
		x += 4; /* allman body */
	}
	while (x < 400) { x += 5; } /* one line */
	while (x < 500) {} /* empty braces */
	while (x++ < 600); /* empty statement */
	for (int i = 0; i < 3; i++) { // a comment after the brace
		x += 6; /* commented brace body */
	}
}

static void work(void)
{
	x = x * 11 + 3; /* callee body */
}

void caller(void)
{
	for (int i = 0; i < 1000; i++) /* calls work */
		work(); /* the call */
}
