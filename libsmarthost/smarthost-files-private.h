/* smarthost-files-private.h: reading, checking and locking files
 *
 * The one place for how the library opens a file it reads (no symbolic
 * link where refused, no FIFO, a size limit), checks that a directory is
 * trusted, and locks (smarthost-files.c, smarthost-util.c; the checks of
 * directories and the locks differ by platform and live in
 * smarthost-platform-unix.c and smarthost-platform-windows.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <sys/stat.h>

G_BEGIN_DECLS

typedef enum {
  SMARTHOST_READ_TEXT     = 1 << 0,   /* valid UTF-8 without NUL bytes */
  SMARTHOST_READ_NOFOLLOW = 1 << 1,   /* refuse a symbolic link */
  SMARTHOST_READ_NO_NUL   = 1 << 2,   /* no NUL bytes (any other byte goes) */
  SMARTHOST_READ_STDIN    = 1 << 3,   /* "-" is standard input */
} SmarthostReadFlags;

/* How much a file may hold, by what it is for. Each is far beyond what a
 * real file of its kind holds, and keeps a hostile one (/dev/zero, a huge
 * file) from exhausting memory. */
#define SMARTHOST_READ_DEFAULT_LIMIT  (256u * 1024 * 1024)  /* main.cf, maps of 1,000,000 domains */
#define SMARTHOST_READ_PASSWORD_LIMIT (64u * 1024)
#define SMARTHOST_READ_CA_LIMIT       (16u * 1024 * 1024)   /* a CA bundle is about 200 KiB */
#define SMARTHOST_READ_POLICY_LIMIT   (1024u * 1024)
#define SMARTHOST_READ_JOURNAL_LIMIT  (16u * 1024 * 1024)

#define SMARTHOST_LOCK_DIR_NAME        "libsmarthost"
#define SMARTHOST_LOCK_DEFAULT_TIMEOUT 300

gboolean  _smarthost_read_fd          (int                  fd,
                                       const char          *name,
                                       gsize                size_hint,
                                       gsize                limit,
                                       char               **contents,
                                       gsize               *length,
                                       GError             **error);
int       _smarthost_open_regular     (const char          *path,
                                       gboolean             nofollow,
                                       struct stat         *st,
                                       gboolean            *exists,
                                       GError             **error);
gboolean  _smarthost_read_file_limited (const char          *path,
                                        SmarthostReadFlags   flags,
                                        gsize                limit,
                                        char               **contents,
                                        gsize               *length,
                                        gboolean            *exists,
                                        GError             **error);
/* A backend's data file: the copy given in its setting @setting (@path,
 * text, at most @limit bytes; an error is INVALID and starts with the
 * setting's name), or, when @path is NULL, the one built in at
 * @resource_path of @resource (registered here if the library has not yet). */
char     *_smarthost_read_data_file   (const char          *setting,
                                       const char          *path,
                                       gsize                limit,
                                       GResource         *(*resource) (void),
                                       const char          *resource_path,
                                       GError             **error);
gboolean  _smarthost_read_file        (const char          *path,
                                       SmarthostReadFlags   flags,
                                       char               **contents,
                                       gboolean            *exists,
                                       GError             **error);
gboolean  _smarthost_check_trusted_directory (const char  *path,
                                              const char  *what,
                                              GError     **error);
int       _smarthost_lock_file        (const char   *path,
                                       gboolean      shared,
                                       guint         timeout_seconds,
                                       GCancellable *cancellable,
                                       GError      **error);
void      _smarthost_unlock_file      (const char   *path,
                                       int           fd);
void      _smarthost_unlock_directory (const char   *path,
                                       int           fd);
int       _smarthost_lock_directory   (const char   *path,
                                       GCancellable *cancellable,
                                       GError      **error);
int       _smarthost_lock_directory_full (const char   *path,
                                          gboolean      shared,
                                          guint         timeout_seconds,
                                          GCancellable *cancellable,
                                          GError      **error);

G_END_DECLS
