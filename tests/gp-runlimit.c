/* gp-runlimit - run a command with a time limit and measure its memory.
 *
 * Usage: gp-runlimit SECONDS MAX_AS_MB RSS_FILE COMMAND [ARG...]
 *
 * Runs COMMAND in its own process group.  After SECONDS the whole group
 * is killed and the exit status is 124.  MAX_AS_MB > 0 limits the address
 * space (RLIMIT_AS; pass 0 under AddressSanitizer, which reserves
 * terabytes).  The peak resident set size of COMMAND and its children, in
 * KiB, is written to RSS_FILE.  Otherwise the exit status is COMMAND's, or
 * 128 + the signal that killed it.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t timed_out;

static void
on_alarm (int sig)
{
  (void) sig;
  timed_out = 1;
}

int
main (int argc, char **argv)
{
  if (argc < 5)
    {
      fprintf (stderr, "usage: gp-runlimit SECONDS MAX_AS_MB RSS_FILE COMMAND [ARG...]\n");
      return 2;
    }
  unsigned seconds = (unsigned) strtoul (argv[1], NULL, 10);
  unsigned long max_mb = strtoul (argv[2], NULL, 10);
  const char *rss_file = argv[3];

  pid_t pid = fork ();
  if (pid < 0)
    {
      perror ("gp-runlimit: fork");
      return 2;
    }
  if (pid == 0)
    {
      setpgid (0, 0);
      if (max_mb > 0)
        {
          struct rlimit rl = { .rlim_cur = (rlim_t) max_mb << 20, .rlim_max = (rlim_t) max_mb << 20 };
          setrlimit (RLIMIT_AS, &rl);
        }
      execvp (argv[4], argv + 4);
      perror ("gp-runlimit: exec");
      _exit (127);
    }
  setpgid (pid, pid);

  struct sigaction sa;
  memset (&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction (SIGALRM, &sa, NULL);
  alarm (seconds);

  int status = 0;
  struct rusage ru;
  for (;;)
    {
      pid_t r = wait4 (pid, &status, 0, &ru);
      if (r == pid)
        break;
      if (r < 0 && errno == EINTR && timed_out)
        {
          kill (-pid, SIGKILL);
          continue;
        }
      if (r < 0 && errno != EINTR)
        {
          perror ("gp-runlimit: wait");
          return 2;
        }
    }
  kill (-pid, SIGKILL); /* any child left behind */

  FILE *f = fopen (rss_file, "w");
  if (f != NULL)
    {
      fprintf (f, "%ld\n", ru.ru_maxrss);
      fclose (f);
    }
  if (timed_out)
    return 124;
  if (WIFSIGNALED (status))
    return 128 + WTERMSIG (status);
  return WEXITSTATUS (status);
}
