/* conformance-compat.h: the POSIX calls the suite and its test backend make,
 * on Windows
 *
 * The suite and the key-file backend are programs outside the library,
 * written against its public headers and POSIX. The cross build for
 * Windows (tests/conformance/meson.build) compiles them with mingw-w64
 * and runs them under Wine; this header gives them what mingw lacks. On
 * POSIX it adds nothing but the two helpers at the end, which are the
 * calls the suite always made.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <glib.h>
#include <glib/gstdio.h>

#ifdef G_OS_WIN32
# include <io.h>
# include <sys/utime.h>
# include <windows.h>

# define O_DIRECTORY 0x40000000   /* refused below: a directory is not opened to be flushed */
# define O_NOFOLLOW  0
# define O_CLOEXEC   (_O_NOINHERIT | _O_BINARY)
# define S_ISLNK(m)  0
# define SIGKILL     9
/* g_spawn_sync() gives the exit code; a fault point exits with 137, what a
 * shell shows for a process that SIGKILL ended. */
# define WIFSIGNALED(s) ((s) == 137)
# define WTERMSIG(s)    SIGKILL
# define WIFEXITED(s)   ((s) != 137)
# define WEXITSTATUS(s) (s)

static inline int
conformance_open (const char *path, int flags, ...)
{
  if (flags & O_DIRECTORY)
    {
      errno = EISDIR;
      return -1;
    }
  return g_open (path, flags, 0600);
}
# define open conformance_open
# define lstat(p, st) g_stat ((p), (st))
# define fsync _commit
# define explicit_bzero(p, n) SecureZeroMemory ((p), (n))

static inline int
conformance_rename (const char *from, const char *to)
{
  gunichar2 *wfrom = g_utf8_to_utf16 (from, -1, NULL, NULL, NULL);
  gunichar2 *wto = g_utf8_to_utf16 (to, -1, NULL, NULL, NULL);
  BOOL ok = MoveFileExW (wfrom, wto, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);

  g_free (wfrom);
  g_free (wto);
  if (!ok)
    errno = EACCES;
  return ok ? 0 : -1;
}
# define rename conformance_rename
# define unlink g_unlink

static inline long long
conformance_mtime_ns (const struct stat *st)
{
  return (long long) st->st_mtime * 1000000000LL;
}

static inline int
conformance_set_mtime (const char *path, time_t when)
{
  struct utimbuf times = { when, when };
  return g_utime (path, &times);
}

static inline char *
conformance_self_exe (void)
{
  wchar_t buf[MAX_PATH];
  DWORD n = GetModuleFileNameW (NULL, buf, MAX_PATH);
  return n > 0 && n < MAX_PATH ? g_utf16_to_utf8 ((gunichar2 *) buf, n, NULL, NULL, NULL) : NULL;
}
#else
# include <sys/wait.h>
# include <unistd.h>

static inline long long
conformance_mtime_ns (const struct stat *st)
{
  return (long long) st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

static inline int
conformance_set_mtime (const char *path, time_t when)
{
  struct timespec times[2] = { { 0, UTIME_OMIT }, { when, 0 } };
  return utimensat (AT_FDCWD, path, times, 0);
}

static inline char *
conformance_self_exe (void)
{
  return g_file_read_link ("/proc/self/exe", NULL);
}
#endif
