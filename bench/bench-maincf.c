/* bench-maincf.c: the main.cf edit of a server-wide change, alone
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage: bench-maincf DIR R      (bench/run.sh drives it; not a test)
 *
 * Does R times what a commit of a server-wide relay does to main.cf, with
 * the library's own code (smarthost-postfix-conf.c): read main.cf, parse
 * it, set relayhost, default_transport and relay_transport, write the new
 * text beside it with O_EXCL, fsync, rename it into place and fsync the
 * directory -- what `postconf -e` does with the same three parameters.
 * (The full commit also rewrites master.cf, keeps a journal and backups,
 * and validates the result with postconf: bench-commit server times that.)
 * Prints the median in seconds.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>

#include "smarthost-postfix-conf.h"

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static gboolean
edit_once (const char  *dir,
           guint        r,
           GError     **error)
{
  g_autofree char *path = g_build_filename (dir, "main.cf", NULL);
  g_autofree char *tmp = g_build_filename (dir, ".main.cf.bench-new", NULL);
  g_autofree char *text = NULL;
  g_autofree char *out = NULL;
  g_autoptr(PfConf) conf = NULL;
  const char *host = r % 2 ? "[smtp.sendgrid.net]:587" : "[smtp.eu.mailgun.org]:587";
  const char *names[] = { "relayhost", "default_transport", "relay_transport" };
  const char *values[] = { host, "smarthost-server-starttls", "smarthost-server-starttls" };
  int fd;

  if (!g_file_get_contents (path, &text, NULL, error))
    return FALSE;
  conf = pf_conf_parse (PF_CONF_MAIN, text);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *entry = pf_main_entry (names[i], values[i]);
      pf_conf_set (conf, names[i], entry, "main.cf", NULL);
    }
  out = pf_conf_to_string (conf);
  unlink (tmp);
  fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0 || write (fd, out, strlen (out)) != (ssize_t) strlen (out) || fsync (fd) != 0 ||
      close (fd) != 0 || rename (tmp, path) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot write %s", path);
      return FALSE;
    }
  fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree double *t = NULL;
  guint64 reps;

  if (argc != 3 || !g_ascii_string_to_unsigned (argv[2], 10, 1, G_MAXUINT, &reps, NULL))
    {
      g_printerr ("usage: bench-maincf DIR R\n");
      return 2;
    }
  t = g_new (double, reps);
  for (guint r = 0; r < reps; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      if (!edit_once (argv[1], r, &error))
        {
          g_printerr ("bench-maincf: %s\n", error->message);
          return 1;
        }
      t[r] = (g_get_monotonic_time () - t0) / 1e6;
    }
  qsort (t, reps, sizeof *t, compare_doubles);
  g_print ("reps=%u median=%.6f\n", (guint) reps, reps % 2 ? t[reps / 2] : (t[reps / 2 - 1] + t[reps / 2]) / 2);
  return 0;
}
