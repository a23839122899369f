/* A syscall-heavy workload for bench/trace.sh: N calls of getppid
 * (default 500000), then one openat so that a subset trace has a call. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
	long n = argc > 1 ? atol(argv[1]) : 500000;
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
	int fd = open("/etc/hostname", O_RDONLY);
	if (fd >= 0)
		close(fd);
	return 0;
}
