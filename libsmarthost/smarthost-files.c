/* smarthost-files.c: reading files with a bound, trusting directories, locking
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "smarthost-error.h"
#include "smarthost-files-private.h"
#include "smarthost-util-private.h"

/*
 * Implementation notes
 *
 * The library runs as root on machines other users share, so every file it
 * reads and every directory it writes into may have been prepared by
 * someone else:
 *
 *  - A "file" may be a FIFO (opening it would block until someone writes),
 *    a device such as /dev/zero (reading never ends), or simply huge.
 *    Files are opened with O_NONBLOCK (a FIFO opens at once; a regular
 *    file ignores the flag), checked with fstat() to be regular, and read
 *    up to a limit plus one byte, so that "too large" is an error rather
 *    than memory exhaustion. Standard input is the one exception to
 *    "regular": it is what the caller chose to give us.
 *
 *  - A directory is trusted to hold secrets, a journal or a lock only when
 *    no one but the running user (or root) can change what is in it: it
 *    and every directory above it are owned by the running user or root,
 *    and writable by no one else (a sticky directory such as /tmp may be,
 *    since no one else can rename or remove what we own in it). Otherwise
 *    another user could plant a file we would then trust, or swap a
 *    directory for a symbolic link between our check and our write.
 */

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

/* Doubles a buffer that may hold a secret, wiping the old one. */
static char *
grow_secret_buffer (char  *data,
                    gsize  len,
                    gsize *cap)
{
  char *bigger = g_malloc (*cap * 2);

  memcpy (bigger, data, len);
  explicit_bzero (data, len);
  g_free (data);
  *cap *= 2;
  return bigger;
}

static char *
format_size (gsize size)
{
  if (size >= 1024 * 1024 && size % (1024 * 1024) == 0)
    return g_strdup_printf ("%" G_GSIZE_FORMAT " MiB", size / (1024 * 1024));
  if (size >= 1024 && size % 1024 == 0)
    return g_strdup_printf ("%" G_GSIZE_FORMAT " KiB", size / 1024);
  return g_strdup_printf ("%" G_GSIZE_FORMAT " bytes", size);
}

static gboolean
set_too_large (GError    **error,
               const char *name,
               gsize       limit)
{
  g_autofree char *size = format_size (limit);
  g_autofree char *shown = g_str_equal (name, "standard input") ? g_strdup (name) : _smarthost_quote_path (name);

  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
               "%s is too large: more than %s, the most this file may hold", shown, size);
  return FALSE;
}

/**
 * _smarthost_read_fd:
 * @fd: a descriptor open for reading
 * @name: what to call it in messages
 * @size_hint: the size fstat() gave for a regular file, or 0 (a pipe, or
 *   an empty file): with a size, a short read is taken as the end
 * @limit: the most that may be read
 * @contents: (out): the bytes read, NUL-terminated
 * @length: (out) (optional): how many
 *
 * Reads @fd to its end, but never more than @limit bytes: one more byte is
 * "too large". The buffer is wiped whenever it moves (it may hold a
 * password) and on error. @fd is not closed.
 */
gboolean
_smarthost_read_fd (int          fd,
                    const char  *name,
                    gsize        size_hint,
                    gsize        limit,
                    char       **contents,
                    gsize       *length,
                    GError     **error)
{
  gsize cap = MIN (size_hint, limit) + 2, len = 0;
  char *data;

  *contents = NULL;
  cap = MAX (cap, 256);
  data = g_malloc (cap);
  for (;;)
    {
      gsize want;
      gssize n;

      if (len + 1 == cap)
        data = grow_secret_buffer (data, len, &cap);
      /* Never ask for more than one byte past the limit. */
      want = MIN (cap - 1 - len, limit + 1 - len);
      n = read (fd, data + len, want);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          g_autofree char *shown = _smarthost_quote_path (name);
          explicit_bzero (data, len);
          g_free (data);
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                       "cannot read %s: %s", shown, g_strerror (saved));
          return FALSE;
        }
      if (n == 0)
        break;
      len += (gsize) n;
      if (len > limit)
        {
          explicit_bzero (data, len);
          g_free (data);
          return set_too_large (error, name, limit);
        }
      /* A regular file (the callers give its size) reads short only at
       * its end: no second read to be told so, which is a system call per
       * file saved when 100,000 password files are read. */
      if (size_hint > 0 && (gsize) n < want)
        break;
    }
  data[len] = '\0';
  *contents = data;
  if (length != NULL)
    *length = len;
  return TRUE;
}

/**
 * _smarthost_open_regular:
 * @path: a file
 * @nofollow: refuse a symbolic link
 * @st: (out): what fstat() says of it
 * @exists: (out) (optional): set to FALSE for a missing file, which is
 *   then not an error
 *
 * Opens a regular file for reading without ever blocking: a FIFO, a device,
 * a socket or a directory is refused with a message that says what it is.
 *
 * Returns: the descriptor, or -1 (with @error set unless the file is
 *   missing and @exists was given)
 */
int
_smarthost_open_regular (const char   *path,
                         gboolean      nofollow,
                         struct stat  *st,
                         gboolean     *exists,
                         GError      **error)
{
  g_autofree char *shown = NULL;   /* for errors alone: 100,000 password files are read */
  int fd, saved;

  if (exists != NULL)
    *exists = TRUE;
  /* Looked at before it is opened for reading: opening some devices has
   * effects of its own (a tape rewinds, a watchdog arms), so the file is
   * first reached with O_PATH, which opens nothing, and reopened for
   * reading only once fstat() says it is a regular file. */
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
  if (fd < 0)
    {
      saved = errno;
      if (saved == ENOENT && exists != NULL)
        {
          *exists = FALSE;
          return -1;
        }
      shown = _smarthost_quote_path (path);
      if (saved == ELOOP && nofollow)
        g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                     "%s is a symbolic link, where a file of its own is expected; "
                     "replace the link by the file it points to, or remove it", shown);
      else
        g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                     "cannot open %s: %s", shown, g_strerror (saved));
      return -1;
    }
  if (fstat (fd, st) != 0)
    {
      saved = errno;
      close (fd);
      shown = _smarthost_quote_path (path);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "cannot read %s: %s", shown, g_strerror (saved));
      return -1;
    }
  if (!S_ISREG (st->st_mode))
    {
      close (fd);
      shown = _smarthost_quote_path (path);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s is %s, not a regular file", shown,
                   S_ISDIR (st->st_mode) ? "a directory" :
                   S_ISFIFO (st->st_mode) ? "a pipe (FIFO)" :
                   S_ISCHR (st->st_mode) || S_ISBLK (st->st_mode) ? "a device" : "a socket");
      return -1;
    }
  return fd;
}

/**
 * _smarthost_read_file_limited:
 * @path: a file, or "-" for standard input when @flags has
 *   %SMARTHOST_READ_STDIN
 * @limit: the most it may hold
 *
 * Reads a whole regular file of at most @limit bytes. See
 * _smarthost_read_file() for the flags; errors name the file and say what
 * is wrong, the caller adds what it was reading it for.
 */
gboolean
_smarthost_read_file_limited (const char          *path,
                              SmarthostReadFlags   flags,
                              gsize                limit,
                              char               **contents,
                              gsize               *length,
                              gboolean            *exists,
                              GError             **error)
{
  struct stat st;
  gboolean found = TRUE;
  gsize len = 0;
  char *data = NULL;
  int fd;

  *contents = NULL;
  if ((flags & SMARTHOST_READ_STDIN) && g_str_equal (path, "-"))
    {
      /* Standard input is what the caller gave us, pipe or not. */
      if (!_smarthost_read_fd (0, "standard input", 0, limit, &data, &len, error))
        return FALSE;
    }
  else
    {
      fd = _smarthost_open_regular (path, (flags & SMARTHOST_READ_NOFOLLOW) != 0, &st,
                                    exists != NULL ? &found : NULL, error);
      if (fd < 0 && !found)
        {
          *exists = FALSE;
          return TRUE;
        }
      if (fd < 0)
        return FALSE;
      if ((guint64) st.st_size > limit)
        {
          close (fd);
          return set_too_large (error, path, limit);
        }
      /* Sized from fstat; a file that grows while we read is still read
       * whole, up to the limit. */
      if (!_smarthost_read_fd (fd, path, (gsize) st.st_size, limit, &data, &len, error))
        {
          close (fd);
          return FALSE;
        }
      close (fd);
    }

  if (flags & (SMARTHOST_READ_TEXT | SMARTHOST_READ_NO_NUL))
    {
      const char *end = NULL;
      const char *nul = memchr (data, '\0', len);

      if (nul != NULL || ((flags & SMARTHOST_READ_TEXT) && !_smarthost_utf8_validate_len (data, len, &end)))
        {
          const char *bad = nul != NULL ? nul : end;
          gsize line = 1;

          for (const char *p = data; p < bad; p++)
            line += *p == '\n';
          g_autofree char *shown = g_str_equal (path, "-") ? g_strdup ("standard input") : _smarthost_quote_path (path);
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                       "%s is not a text file: line %" G_GSIZE_FORMAT " has %s", shown, line,
                       nul != NULL ? "a NUL byte" : "bytes that are not UTF-8");
          explicit_bzero (data, len);
          g_free (data);
          return FALSE;
        }
    }
  if (exists != NULL)
    *exists = TRUE;
  if (length != NULL)
    *length = len;
  *contents = data;
  return TRUE;
}

/* --- trusted directories --------------------------------------------- */

static gboolean
writable_by_others (const struct stat *st)
{
  /* The root group is root's; any other group with write access is
   * someone else. */
  return (st->st_mode & S_IWOTH) != 0 || ((st->st_mode & S_IWGRP) != 0 && st->st_gid != 0);
}

static gboolean
owned_by_us (const struct stat *st)
{
  return st->st_uid == geteuid () || st->st_uid == 0;
}

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

          if (!owned_by_us (&st) || lstat (dir, &parent) != 0 ||
              (writable_by_others (&parent) && !(parent.st_mode & S_ISVTX)))
            {
              g_autofree char *owner = user_name (st.st_uid);
              g_autofree char *shown_link = _smarthost_quote_path (prefix);
              g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                           "%s %s is reached through the symbolic link %s, which %s%s could point "
                           "elsewhere at any time. Use the directory it points to, or make the link "
                           "root's, in a directory only root may write",
                           what, shown, shown_link, owned_by_us (&st) ? "anyone who may write its directory" : owner,
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
  if (!owned_by_us (&st) || writable_by_others (&st))
    {
      g_autofree char *owner = user_name (st.st_uid);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "%s %s is %s%s%s, so another user could plant or swap files in it. Make it root's and writable by root alone (chown root:root %s; "
                   "chmod go-w %s), or use another directory",
                   what, shown,
                   !owned_by_us (&st) ? "owned by " : "",
                   !owned_by_us (&st) ? owner : "",
                   writable_by_others (&st) ? (!owned_by_us (&st) ? " and writable by others" : "writable by others")
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
      if (!owned_by_us (&st) || (writable_by_others (&st) && !(st.st_mode & S_ISVTX)))
        {
          g_autofree char *owner = user_name (st.st_uid);
          g_autofree char *shown_above = _smarthost_quote_path (above);
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                       "%s %s lies in %s, which is %s%s, so another user could replace what is in it. "
                       "Make %s root's and writable by root alone, or use another "
                       "directory",
                       what, shown, shown_above, !owned_by_us (&st) ? "owned by " : "writable by others",
                       !owned_by_us (&st) ? owner : "", shown_above);
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

/* Reads a whole regular file of at most SMARTHOST_READ_DEFAULT_LIMIT
 * bytes; a missing file is not an error when @exists is given.
 *
 * With SMARTHOST_READ_NOFOLLOW a symbolic link is refused rather than
 * followed: a file of ours that points elsewhere would have us read (and
 * show, or write back) whatever it points to. With SMARTHOST_READ_TEXT the
 * file must be text: valid UTF-8 without NUL bytes; SMARTHOST_READ_NO_NUL
 * asks for no NUL byte only (a file we keep byte for byte). A NUL byte matters
 * most: C strings end there, so a file with one would be read, edited and
 * written back only up to it. A FIFO, a device or a directory is refused
 * without blocking (see smarthost-files.c). Errors name the file and say
 * what is wrong; the caller adds what it was reading it for. */
gboolean
_smarthost_read_file (const char          *path,
                      SmarthostReadFlags   flags,
                      char               **contents,
                      gboolean            *exists,
                      GError             **error)
{
  return _smarthost_read_file_limited (path, flags, SMARTHOST_READ_DEFAULT_LIMIT, contents, NULL, exists, error);
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

/* Takes an exclusive lock on a directory, waiting for other committers (in
 * this process or another) while honouring @cancellable. Returns the
 * descriptor to give to _smarthost_unlock_directory(), or -1. */
int
_smarthost_lock_directory (const char    *path,
                           GCancellable  *cancellable,
                           GError       **error)
{
  return _smarthost_lock_directory_full (path, FALSE, SMARTHOST_LOCK_DEFAULT_TIMEOUT, cancellable, error);
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
