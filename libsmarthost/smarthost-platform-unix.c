/* smarthost-platform-unix.c: the POSIX side of smarthost-platform-private.h
 *
 * The code the core always ran on Linux, moved here from the files that
 * use it (smarthost-files.c, smarthost-commit.c, smarthost-operation.c,
 * smarthost-file-operation.c, smarthost-util.c, smarthost-backend.c)
 * without a change of behaviour. Its Windows counterpart is
 * smarthost-platform-windows.c.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <gio/gunixinputstream.h>

#include "smarthost-error.h"
#include "smarthost-files-private.h"
#include "smarthost-platform-private.h"
#include "smarthost-util-private.h"

/* --- memory ---------------------------------------------------------------- */

void
_smarthost_secure_zero (void  *data,
                        gsize  size)
{
  explicit_bzero (data, size);
}

/* --- files ----------------------------------------------------------------- */

int
_smarthost_lstat (const char  *path,
                  struct stat *st)
{
  return lstat (path, st);
}

/* Looked at before it is opened for reading: opening some devices has
 * effects of their own (a tape rewinds, a watchdog arms), so the file is
 * first reached with O_PATH, which opens nothing, and reopened for
 * reading only once fstat() says it is a regular file. */
int
_smarthost_open_for_reading (const char  *path,
                             gboolean     nofollow,
                             struct stat *st)
{
  int fd, saved;

  fd = open (path, O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
  if (fd >= 0 && fstat (fd, st) != 0)
    {
      saved = errno;
      close (fd);
      fd = -1;
      errno = saved;
    }
  else if (fd >= 0 && S_ISLNK (st->st_mode))
    {
      close (fd);
      fd = -1;
      errno = ELOOP;
    }
  else if (fd >= 0 && S_ISREG (st->st_mode))
    {
      char proc[64];
      int reading;

      /* The same inode as the O_PATH descriptor (a magic link, not a
       * path that could be swapped): what fstat() said holds. */
      g_snprintf (proc, sizeof proc, "/proc/self/fd/%d", fd);
      reading = open (proc, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
      saved = errno;
      close (fd);
      if (reading < 0)
        {
          errno = saved;
          fd = -1;
        }
      else
        return reading;
    }
  return fd;
}

int
_smarthost_fsync (int fd)
{
  return fsync (fd);
}

int
_smarthost_fsync_directory (const char *path)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int r, saved;

  if (fd < 0)
    return -1;
  r = fsync (fd);
  saved = errno;
  close (fd);
  errno = saved;
  return r;
}

int
_smarthost_replace_file (const char *from,
                         const char *to)
{
  return rename (from, to);
}

int
_smarthost_hard_link (const char *from,
                      const char *to)
{
  return link (from, to);
}

int
_smarthost_set_file_access (int                fd,
                            const struct stat *old,
                            guint              mode)
{
  if (old != NULL)
    {
      if (fchown (fd, old->st_uid, old->st_gid) != 0)
        return -1;
      mode = old->st_mode & 0777;
    }
  return fchmod (fd, mode);
}

int
_smarthost_set_directory_access (const char *path,
                                 guint       mode)
{
  return chmod (path, mode);
}

void
_smarthost_protect_state_directory (const char *path)
{
  /* g_mkdir_with_parents (path, 0700) made it private already. */
}

gboolean
_smarthost_stat_is_ours (const struct stat *st)
{
  return st->st_uid == geteuid () || st->st_uid == 0;
}

gboolean
_smarthost_stat_is_ours_alone (const struct stat *st)
{
  return st->st_uid == geteuid () && (st->st_mode & 022) == 0;
}

gboolean
_smarthost_stat_others_may_write (const struct stat *st)
{
  /* The root group is root's; any other group with write access is
   * someone else. */
  return (st->st_mode & S_IWOTH) != 0 || ((st->st_mode & S_IWGRP) != 0 && st->st_gid != 0);
}

gboolean
_smarthost_stat_same_owner (const struct stat *a,
                            const struct stat *b)
{
  return a->st_uid == b->st_uid;
}

/* A name for a user id, for messages. */
static char *
user_name (uid_t uid)
{
  struct passwd pwd, *result = NULL;
  char buf[1024];

  if (getpwuid_r (uid, &pwd, buf, sizeof buf, &result) == 0 && result != NULL)
    {
      g_autofree char *name = g_strdup (result->pw_name);
      /* A user name is someone's choice: keep it printable. */
      for (char *p = name; *p; p++)
        if ((guchar) *p < 0x20 || (guchar) *p >= 0x7f)
          *p = '?';
      return g_strdup_printf ("%s (uid %u)", name, (guint) uid);
    }
  return g_strdup_printf ("uid %u", (guint) uid);
}

/* --- trusted directories --------------------------------------------- */

/* Every component of @path as given (not resolved) that is a symbolic
 * link must be one only the running user or root can change: owned by one
 * of them, in a directory no one else may write (or a sticky one). The
 * directories the links lead to are checked by the caller, resolved. */
static gboolean
check_given_path (const char  *path,
                  const char  *what,
                  const char  *shown,
                  GError     **error)
{
  g_autofree char *prefix = g_strdup (path);
  char *end = prefix;

  if (*prefix != '/')
    return TRUE;   /* realpath() made it absolute; relative paths are the caller's */
  for (;;)
    {
      struct stat st, parent;
      char saved;

      end = strchr (end + 1, '/');
      saved = end ? *end : '\0';
      if (end)
        *end = '\0';
      if (*prefix != '\0' && lstat (prefix, &st) == 0 && S_ISLNK (st.st_mode))
        {
          g_autofree char *dir = g_path_get_dirname (prefix);

          if (!_smarthost_stat_is_ours (&st) || lstat (dir, &parent) != 0 ||
              (_smarthost_stat_others_may_write (&parent) && !(parent.st_mode & S_ISVTX)))
            {
              g_autofree char *owner = user_name (st.st_uid);
              g_autofree char *shown_link = _smarthost_quote_path (prefix);
              g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                           "%s %s is reached through the symbolic link %s, which %s%s could point "
                           "elsewhere at any time. Use the directory it points to, or make the link "
                           "root's, in a directory only root may write",
                           what, shown, shown_link, _smarthost_stat_is_ours (&st) ? "anyone who may write its directory" : owner,
                           "");
              return FALSE;
            }
        }
      if (end == NULL)
        break;
      *end = saved;
    }
  return TRUE;
}

/**
 * _smarthost_check_trusted_directory:
 * @path: a directory that is to hold secrets, a journal or a lock
 * @what: what it is, for messages ("the configuration directory")
 *
 * Checks that only the running user (or root) can change what is in @path:
 * it and every directory above it are owned by the running user or root
 * and writable by no one else, except that a directory above may be
 * sticky (as /tmp is). Symbolic links on the way are followed and the
 * directories they lead to checked.
 *
 * Returns: %TRUE if @path can be trusted; otherwise %FALSE with an error
 *   (%SMARTHOST_ERROR_FAILED) that names the directory, its owner, and how
 *   to fix it
 */
gboolean
_smarthost_check_trusted_directory (const char  *path,
                                    const char  *what,
                                    GError     **error)
{
  g_autofree char *real = realpath (path, NULL);
  g_autofree char *shown = _smarthost_quote_path (path);
  g_autofree char *shown_real = real ? _smarthost_quote_path (real) : NULL;
  struct stat st;

  /* The path as given first: a symbolic link on the way (/tmp/x ->
   * /etc/postfix) that another user owns, or may replace, could be
   * pointed elsewhere between this check and our writes, which use the
   * path as given. */
  if (real != NULL && !check_given_path (path, what, shown, error))
    return FALSE;

  if (real == NULL)
    {
      int saved = errno;
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "%s %s cannot be used: %s", what, shown, g_strerror (saved));
      return FALSE;
    }
  if (lstat (real, &st) != 0 || !S_ISDIR (st.st_mode))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s %s is not a directory", what, shown);
      return FALSE;
    }
  if (!_smarthost_stat_is_ours (&st) || _smarthost_stat_others_may_write (&st))
    {
      g_autofree char *owner = user_name (st.st_uid);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "%s %s is %s%s%s, so another user could plant or swap files in it. Make it root's and writable by root alone (chown root:root %s; "
                   "chmod go-w %s), or use another directory",
                   what, shown,
                   !_smarthost_stat_is_ours (&st) ? "owned by " : "",
                   !_smarthost_stat_is_ours (&st) ? owner : "",
                   _smarthost_stat_others_may_write (&st) ? (!_smarthost_stat_is_ours (&st) ? " and writable by others" : "writable by others")
                                            : "",
                   shown_real, shown_real);
      return FALSE;
    }

  /* Every directory above: another user who can rename one of them can
   * put a directory of theirs in our path. */
  for (char *slash = strrchr (real, '/'); slash != NULL; slash = strrchr (real, '/'))
    {
      *slash = '\0';
      const char *above = *real ? real : "/";

      if (lstat (above, &st) != 0)
        continue;
      if (!_smarthost_stat_is_ours (&st) || (_smarthost_stat_others_may_write (&st) && !(st.st_mode & S_ISVTX)))
        {
          g_autofree char *owner = user_name (st.st_uid);
          g_autofree char *shown_above = _smarthost_quote_path (above);
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                       "%s %s lies in %s, which is %s%s, so another user could replace what is in it. "
                       "Make %s root's and writable by root alone, or use another "
                       "directory",
                       what, shown, shown_above, !_smarthost_stat_is_ours (&st) ? "owned by " : "writable by others",
                       !_smarthost_stat_is_ours (&st) ? owner : "", shown_above);
          return FALSE;
        }
      if (*real == '\0')
        break;
    }
  return TRUE;
}

/* --- locks ----------------------------------------------------------------- */

/* Who holds a lock on the file open as @fd, from /proc/locks: "pid 123
 * (smarthostctl)", or NULL when it cannot be told. */
static char *
lock_holder (int fd)
{
  g_autofree char *locks = NULL;
  g_auto(GStrv) lines = NULL;
  struct stat st;
  gboolean exists;

  if (fstat (fd, &st) != 0 ||
      !_smarthost_read_file_limited ("/proc/locks", 0, 4 * 1024 * 1024, &locks, NULL, &exists, NULL) ||
      !exists)
    return NULL;
  lines = g_strsplit (locks, "\n", 0);
  for (guint i = 0; lines[i]; i++)
    {
      /* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" */
      unsigned int maj, min;
      unsigned long long ino;
      int pid;
      char kind[16], type[16], mode[16];

      if (sscanf (lines[i], "%*d: %15s %15s %15s %d %x:%x:%llu", kind, type, mode, &pid, &maj, &min, &ino) == 7 &&
          ino == (unsigned long long) st.st_ino && makedev (maj, min) == st.st_dev && pid > 0)
        {
          g_autofree char *comm_path = g_strdup_printf ("/proc/%d/comm", pid);
          g_autofree char *comm = NULL;

          if (_smarthost_read_file_limited (comm_path, 0, 256, &comm, NULL, NULL, NULL))
            {
              /* A process names itself: keep what we print of it plain. */
              g_strstrip (comm);
              for (char *p = comm; *p; p++)
                if ((guchar) *p < 0x20 || (guchar) *p >= 0x7f)
                  *p = '?';
              return g_strdup_printf ("process %d (%s)", pid, comm);
            }
          return g_strdup_printf ("process %d", pid);
        }
    }
  return NULL;
}

/* Is @fd still the file at @path? A lock file is removed by whoever holds
 * it alone last (see _smarthost_unlock_file), so a process that waited on
 * it may end up holding a lock on a file that is gone. */
static gboolean
lock_is_current (int         fd,
                 const char *path)
{
  struct stat a, b;

  return fstat (fd, &a) == 0 && lstat (path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/**
 * _smarthost_lock_file:
 * @path: the lock file, in a directory checked with
 *   _smarthost_check_trusted_directory()
 * @shared: a lock that readers share; otherwise exclusive
 * @timeout_seconds: how long to wait for another holder; 0 does not wait
 *
 * Locks @path, creating it (mode 0600) if needed. The lock file is one
 * that only the running user can open, so no other user can hold the lock
 * and block every commit: a lock file owned by someone else, readable by
 * others or not a regular file is refused. Waiting honours @cancellable
 * and ends after @timeout_seconds with %SMARTHOST_ERROR_CONFLICT, naming
 * the process that holds the lock when it can be told.
 *
 * The lock file exists only while someone holds or waits for it:
 * _smarthost_unlock_file() removes it when no one else holds it, so a
 * directory is left as it was found. A lock taken on a file that was
 * removed meanwhile is taken again on the new one.
 *
 * Returns: the descriptor to give to _smarthost_unlock_file(), or -1
 */
int
_smarthost_lock_file (const char    *path,
                      gboolean       shared,
                      guint          timeout_seconds,
                      GCancellable  *cancellable,
                      GError       **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_seconds * G_USEC_PER_SEC;
  g_autofree char *shown = _smarthost_quote_path (path);
  struct stat st;
  int fd, saved;

again:
  fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0600);
  if (fd < 0)
    {
      saved = errno;
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "lock: cannot open %s: %s%s", shown, g_strerror (saved),
                   saved == ELOOP ? " (it is a symbolic link: remove it)" : "");
      return -1;
    }
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode) || st.st_uid != geteuid () || (st.st_mode & 077) != 0)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "lock: %s is not a lock file of ours (it must be a regular file of the running user, "
                   "mode 0600): another user may have planted it; remove it and try again", shown);
      close (fd);
      return -1;
    }
  while (flock (fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0)
    {
      if (errno != EWOULDBLOCK && errno != EINTR)
        {
          saved = errno;
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                       "lock: cannot lock %s: %s", shown, g_strerror (saved));
          close (fd);
          return -1;
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          close (fd);
          return -1;
        }
      if (g_get_monotonic_time () >= deadline)
        {
          g_autofree char *holder = lock_holder (fd);
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_CONFLICT,
                       "lock: %s has held %s for more than %u s: another commit is running or stuck; "
                       "%s%s, or wait longer (lock-timeout)",
                       holder ? holder : "another process", shown, timeout_seconds,
                       holder ? "look at that process" : "look for it with fuser -v ", holder ? "" : shown);
          close (fd);
          return -1;
        }
      g_usleep (10000);
    }
  if (!lock_is_current (fd, path))
    {
      close (fd);
      goto again;
    }
  return fd;
}

/**
 * _smarthost_unlock_file:
 * @path: the lock file
 * @fd: what _smarthost_lock_file() returned, or -1 (nothing to do)
 *
 * Releases the lock; the last holder removes the lock file, while it holds
 * it alone, so that no one else can be holding it then.
 */
void
_smarthost_unlock_file (const char *path,
                        int         fd)
{
  if (fd < 0)
    return;
  if (flock (fd, LOCK_EX | LOCK_NB) == 0 && lock_is_current (fd, path))
    unlink (path);
  close (fd);
}

/* Where the lock of a directory lives: a file named after the directory's
 * device and inode, in a runtime directory only the running user can
 * write (/run/libsmarthost for root). Not in the directory itself: anyone
 * who can read a directory can open and flock() it, or a file in it that
 * is readable, and so block every commit and read; and a lock file there
 * would change the directory whenever something merely looked at it. */
static char *
lock_path_for (const char  *path,
               GError     **error)
{
  g_autofree char *runtime = NULL;
  struct stat st;

  if (stat (path, &st) != 0)
    {
      int saved = errno;
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "lock: cannot use %s: %s", path, g_strerror (saved));
      return NULL;
    }
  runtime = geteuid () == 0 ? g_strdup ("/run/" SMARTHOST_LOCK_DIR_NAME)
                            : g_build_filename (g_get_user_runtime_dir (), SMARTHOST_LOCK_DIR_NAME, NULL);
  if (mkdir (runtime, 0700) != 0 && errno != EEXIST)
    {
      int saved = errno;
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "lock: cannot create %s: %s", runtime, g_strerror (saved));
      return NULL;
    }
  if (!_smarthost_check_trusted_directory (runtime, "lock: the directory of locks", error))
    return NULL;
  return g_strdup_printf ("%s/%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT ".lock", runtime,
                          (guint64) st.st_dev, (guint64) st.st_ino);
}

/* The same; with @shared, a lock that readers share and that waits only
 * for a commit (which holds the exclusive one), so that what they read is
 * one commit's files, never some of the next one's. The lock is on a file
 * only the running user can open (see lock_path_for). */
int
_smarthost_lock_directory_full (const char    *path,
                                gboolean       shared,
                                guint          timeout_seconds,
                                GCancellable  *cancellable,
                                GError       **error)
{
  g_autofree char *lock_path = lock_path_for (path, error);
  int fd;

  if (lock_path == NULL)
    return -1;
  fd = _smarthost_lock_file (lock_path, shared, timeout_seconds, cancellable, error);
  if (fd < 0 && error != NULL && *error != NULL)
    g_prefix_error (error, "%s: ", path);
  return fd;
}

/* Releases a lock taken with _smarthost_lock_directory_full(); the last
 * holder removes the lock file, so that locks do not pile up. */
void
_smarthost_unlock_directory (const char *path,
                             int         fd)
{
  g_autofree char *proc = NULL;
  g_autofree char *lock_path = NULL;

  if (fd < 0)
    return;
  /* The lock file this descriptor is on (the directory @path may have
   * been renamed or replaced since, which would name another one). */
  proc = g_strdup_printf ("/proc/self/fd/%d", fd);
  lock_path = g_file_read_link (proc, NULL);
  if (lock_path != NULL)
    _smarthost_unlock_file (lock_path, fd);
  else
    close (fd);
}
/* --- processes ------------------------------------------------------------- */

/* Reads what a child prints on its two pipes until both end, for at most
 * @timeout_seconds and SMARTHOST_RUN_OUTPUT_LIMIT bytes each, honouring
 * @cancellable. A child that hangs (a hand-made tcp: or pipemap: table
 * that never answers, a reload that never ends) or prints without end
 * must not hang or exhaust the caller. */
gboolean
_smarthost_read_child_output (GSubprocess   *proc,
                              const char    *name,
                              guint          timeout_seconds,
                              GCancellable  *cancellable,
                              GString       *out,
                              GString       *err,
                              GError       **error)
{
  GInputStream *pipes[2] = { g_subprocess_get_stdout_pipe (proc), g_subprocess_get_stderr_pipe (proc) };
  GString *bufs[2] = { out, err };
  gboolean open_[2] = { pipes[0] != NULL, pipes[1] != NULL };
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_seconds * G_USEC_PER_SEC;
  GPollFD cancel_fd = { -1, 0, 0 };
  gboolean have_cancel_fd = cancellable != NULL && g_cancellable_make_pollfd (cancellable, &cancel_fd);
  gboolean ok = TRUE;

  while (open_[0] || open_[1])
    {
      GPollFD fds[3];
      guint n = 0, map[2];
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
      int r;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          ok = FALSE;
          break;
        }
      if (left <= 0)
        {
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                       "%s did not finish within %u s; it was stopped", name, timeout_seconds);
          ok = FALSE;
          break;
        }
      for (guint i = 0; i < 2; i++)
        if (open_[i])
          {
            fds[n].fd = g_unix_input_stream_get_fd (G_UNIX_INPUT_STREAM (pipes[i]));
            fds[n].events = G_IO_IN | G_IO_HUP | G_IO_ERR;
            fds[n].revents = 0;
            map[i] = n++;
          }
      if (have_cancel_fd)
        fds[n++] = cancel_fd;
      r = g_poll (fds, n, (gint) MIN (left, G_MAXINT));
      if (r < 0 && errno == EINTR)
        continue;
      for (guint i = 0; i < 2; i++)
        {
          char chunk[8192];
          gssize got;

          if (!open_[i] || fds[map[i]].revents == 0)
            continue;
          got = read (fds[map[i]].fd, chunk, sizeof chunk);
          if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
          if (got <= 0)
            {
              open_[i] = FALSE;
              continue;
            }
          if (bufs[i]->len + (gsize) got > SMARTHOST_RUN_OUTPUT_LIMIT)
            {
              g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                           "%s printed more than %u MiB; it was stopped", name,
                           SMARTHOST_RUN_OUTPUT_LIMIT / (1024 * 1024));
              ok = FALSE;
              open_[0] = open_[1] = FALSE;
              break;
            }
          g_string_append_len (bufs[i], chunk, got);
        }
    }
  if (have_cancel_fd)
    g_cancellable_release_fd (cancellable);
  return ok;
}


gboolean
_smarthost_is_privileged (void)
{
  return geteuid () == 0;
}

char *
_smarthost_state_base_directory (void)
{
  const char *base;

  if (geteuid () == 0)
    return g_strdup ("/var/lib");
  if ((base = g_getenv ("XDG_STATE_HOME")) == NULL || !g_path_is_absolute (base))
    return g_build_filename (g_get_home_dir (), ".local", "state", NULL);
  return g_strdup (base);
}

void
_smarthost_kill_self (void)
{
  raise (SIGKILL);
  _exit (137);
}

/* --- sockets (the probe) --------------------------------------------------- */

int
_smarthost_socket_new_nonblocking (int family)
{
  return socket (family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

int
_smarthost_socket_connect (int                    fd,
                           const struct sockaddr *address,
                           gsize                  length)
{
  return connect (fd, address, (socklen_t) length);
}

int
_smarthost_socket_get_error (int fd)
{
  int soerr = 0;
  socklen_t len = sizeof soerr;

  if (getsockopt (fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
    return errno;
  return soerr;
}

int
_smarthost_socket_wait (int      fd,
                        short    events,
                        GPollFD *cancel,
                        int      timeout_ms)
{
  struct pollfd fds[2] = { { fd, events, 0 }, { -1, POLLIN, 0 } };
  int r;

  if (cancel != NULL)
    fds[1].fd = cancel->fd;
  r = poll (fds, cancel != NULL ? 2 : 1, timeout_ms);
  if (r > 0 && fds[0].revents == 0)
    return 0;
  return r;
}

gssize
_smarthost_socket_recv (int    fd,
                        void  *buffer,
                        gsize  size)
{
  return recv (fd, buffer, size, 0);
}

gssize
_smarthost_socket_send (int         fd,
                        const void *data,
                        gsize       length)
{
  return send (fd, data, length, MSG_NOSIGNAL);
}

void
_smarthost_socket_close (int fd)
{
  close (fd);
}

const char *
_smarthost_socket_strerror (int errnum)
{
  return g_strerror (errnum);
}

gboolean
_smarthost_inet_aton (const char     *text,
                      struct in_addr *address)
{
  return inet_aton (text, address) != 0;
}
