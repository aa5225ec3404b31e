/* ref's socket-activation shim (see harness/ref/socket-activation.ts).
 *
 * The sd_listen_fds protocol wants LISTEN_PID to be the app's own pid as the app sees it. An app
 * of a ref pod joins the pod's PID namespace, so that pid exists only once crun has created the
 * process. ref therefore starts a socket-activated app's main process as
 *     /proc/self/fd/N PROGRAM ARG...
 * where fd N is this binary, opened on the host by the app's monitor and passed after the
 * sockets. It runs as that very process: it sets LISTEN_PID to getpid(), closes fd N so the app
 * sees only its sockets, and execs PROGRAM (already looked up by ref) with the same pid. Nothing
 * of it is left in the app's file system, argv or open files. Static: the app's rootfs has no libc. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

/* Few system calls on purpose (no malloc): an app's seccomp retain-set must allow them, see
 * SHIM_SYSCALLS in socket-activation.ts. */
int main(int argc, char **argv) {
	int self;
	char end, pid[32];
	size_t n = 0;
	if (argc < 2 || sscanf(argv[0], "/proc/self/fd/%d%c", &self, &end) != 1) {
		fputs("ref-listen-pid: usage: /proc/self/fd/N PROGRAM [ARG...]\n", stderr);
		return 127;
	}
	close(self);
	snprintf(pid, sizeof pid, "LISTEN_PID=%ld", (long)getpid());
	while (environ[n])
		n++;
	char *env[n + 2];
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LISTEN_PID=", 11))
			env[k++] = environ[i];
	env[k++] = pid;
	env[k] = NULL;
	execve(argv[1], argv + 1, env);
	fprintf(stderr, "ref-listen-pid: exec %s: %s\n", argv[1], strerror(errno));
	return 127;
}
