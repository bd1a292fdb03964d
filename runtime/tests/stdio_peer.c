/* Stands in for a prebuilt library that reads and writes with stdio (an
 * HTTP library and its examples): built with plain gcc as a shared
 * library, so its calls to stdio resolve at run time — to the runtime's
 * definitions, which the program exports. */
#include <stdio.h>
#include <string.h>

int peer_getchar(void) { return getchar(); }

char *peer_fgets(char *buf, int n, FILE *f) { return fgets(buf, n, f); }

/* Answers each line with "echo LINE" until "quit"; returns the count. */
int peer_serve(FILE *in, FILE *out)
{
	char line[128];
	int n = 0;
	while (fgets(line, sizeof line, in) && strcmp(line, "quit\n") != 0) {
		fprintf(out, "echo %s", line);
		fflush(out);
		n++;
	}
	return n;
}
