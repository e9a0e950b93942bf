/* smarthost-files.c: reading files with a bound, trusting directories, locking
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "smarthost-error.h"
#include "smarthost-files-private.h"
#include "smarthost-platform-private.h"
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
 *
 * Reading is here, for every platform. Reaching a file before it is opened,
 * trusting directories and locking differ between POSIX and Windows: they
 * are in smarthost-platform-unix.c and smarthost-platform-windows.c (see
 * smarthost-platform-private.h).
 */

/* Doubles a buffer that may hold a secret, wiping the old one. */
static char *
grow_secret_buffer (char  *data,
                    gsize  len,
                    gsize *cap)
{
  char *bigger = g_malloc (*cap * 2);

  memcpy (bigger, data, len);
  _smarthost_secure_zero (data, len);
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
          _smarthost_secure_zero (data, len);
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
          _smarthost_secure_zero (data, len);
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
  /* Looked at before it is opened for reading (see
   * _smarthost_open_for_reading): opening some devices has effects of
   * their own. */
  fd = _smarthost_open_for_reading (path, nofollow, st);
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
          _smarthost_secure_zero (data, len);
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

char *
_smarthost_read_data_file (const char   *setting,
                           const char   *path,
                           gsize         limit,
                           GResource  *(*resource) (void),
                           const char   *resource_path,
                           GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  char *text = NULL;

  if (path == NULL)
    {
      g_autoptr(GBytes) bytes = g_resources_lookup_data (resource_path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);

      if (bytes == NULL)
        {
          /* The library registers its resources when it is loaded. */
          g_resources_register (resource ());
          bytes = g_resources_lookup_data (resource_path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
        }
      g_assert (bytes != NULL);
      return g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
    }
  if (!_smarthost_read_file_limited (path, SMARTHOST_READ_TEXT, limit, &text, NULL, NULL, &local_error))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "%s: %s", setting, local_error->message);
      return NULL;
    }
  return text;
}
