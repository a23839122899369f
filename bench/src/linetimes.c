/* linetimes: reads lines on stdin and prints, in ms since START_NS
 * (CLOCK_REALTIME), when the first line containing FIRST and the first
 * line containing LAST arrived, as soon as LAST comes (-1 for what never
 * came); then it exits, or with "drain" reads on to the end of its input
 * (so that the writer gets no SIGPIPE). For bench/vm.sh.
 *
 * Usage: linetimes START_NS FIRST LAST [drain]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double since(long long start) {
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((long long)ts.tv_sec * 1000000000LL + ts.tv_nsec - start) / 1e6;
}

int main(int argc, char **argv) {
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: linetimes START_NS FIRST LAST [drain]\n");
		return 2;
	}
	long long start = atoll(argv[1]);
	double first = -1, last = -1;
	char line[8192];
	while (fgets(line, sizeof line, stdin)) {
		if (first < 0 && strstr(line, argv[2]))
			first = since(start);
		if (strstr(line, argv[3])) {
			last = since(start);
			break;
		}
	}
	printf("%.1f %.1f\n", first, last);
	fflush(stdout);
	if (argc == 5)
		while (fgets(line, sizeof line, stdin))
			;
	return 0;
}
