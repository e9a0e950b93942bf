/* smarthost-platform-private.h: what differs between POSIX and Windows
 *
 * The core is written against these functions wherever POSIX and Windows
 * part ways; each has one implementation per platform, in
 * smarthost-platform-unix.c (Linux and other POSIX systems: the code the
 * core always ran, moved here unchanged) and smarthost-platform-windows.c
 * (mingw-w64, tested under Wine). libsmarthost/meson.build picks the file.
 * No other file of the core tests the platform.
 *
 *   concern              POSIX                         Windows
 *   wiping secrets       explicit_bzero()              SecureZeroMemory()
 *   flushing a file      fsync()                       FlushFileBuffers()
 *   flushing a directory open(O_DIRECTORY) + fsync()   nothing (NTFS journals its metadata)
 *   atomic replacement   rename()                      MoveFileExW(REPLACE_EXISTING | WRITE_THROUGH)
 *   backups              link()                        CreateHardLinkW()
 *   secrets files        owner kept, mode 0600         a protected DACL: SYSTEM and Administrators only
 *   trusted directories  owner and mode of every       the directory itself: owner SYSTEM,
 *                        directory up to /             Administrators or the user; no write ACE
 *                                                      for Everyone, Users, Authenticated Users
 *                                                      (see the Windows file for what is not)
 *   locks                flock() on a 0600 file in     LockFileEx() on a file in
 *                        /run/libsmarthost             %ProgramData%\libsmarthost\locks
 *   state directory      /var/lib or $XDG_STATE_HOME   %ProgramData%\libsmarthost
 *   fault points         raise(SIGKILL)                TerminateProcess(self, 137)
 *   child output         poll() on the pipes           g_subprocess_communicate()
 *   sockets (the probe)  BSD sockets, poll()           Winsock, WSAPoll()
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <glib/gstdio.h>   /* g_open, g_unlink, g_mkdir, g_chmod: UTF-8 paths on Windows, the POSIX calls elsewhere */
#include <sys/stat.h>
#include <fcntl.h>

#ifdef G_OS_WIN32
/* What mingw's C library lacks of the names the core uses. Binary mode
 * rides on O_CLOEXEC, which every open() of the core passes: a file is
 * written and read byte for byte, never with CRLF translation. */
# include <io.h>
/* Not wincrypt.h, whose X509_NAME and friends are OpenSSL's names too. */
# ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN
# endif
# define O_CLOEXEC  (_O_NOINHERIT | _O_BINARY)
# define O_NOFOLLOW 0   /* links are refused by _smarthost_lstat() checks before */
# define O_NOCTTY   0
# define O_NONBLOCK 0
# ifndef S_IFLNK
#  define S_IFLNK 0120000
# endif
# ifndef S_ISLNK
#  define S_ISLNK(m) (((m) & S_IFMT) == S_IFLNK)
# endif
# ifndef ELOOP
#  define ELOOP 114
# endif
# include <winsock2.h>
# include <ws2tcpip.h>
#else
# include <arpa/inet.h>
# include <netinet/in.h>
# include <poll.h>
# include <sys/socket.h>
# include <unistd.h>
#endif

G_BEGIN_DECLS

/* --- memory ------------------------------------------------------------ */
void      _smarthost_secure_zero      (void        *data,
                                       gsize        size);

/* --- files ------------------------------------------------------------- */
/* lstat(): on Windows a reparse point (symbolic link, junction) reads as
 * S_IFLNK. */
int       _smarthost_lstat            (const char  *path,
                                       struct stat *st);
/* Opens @path for reading as _smarthost_open_regular() needs it: a regular
 * file opened for reading, or some other descriptor (whose fstat() says
 * what it is), or -1 with errno (ELOOP for a link refused with @nofollow). */
int       _smarthost_open_for_reading (const char  *path,
                                       gboolean     nofollow,
                                       struct stat *st);
int       _smarthost_fsync            (int          fd);
/* fsync() of a directory's entries: 0, or -1 with errno. */
int       _smarthost_fsync_directory  (const char  *path);
/* Replaces @to by @from atomically (@to may exist): 0, or -1 with errno. */
int       _smarthost_replace_file     (const char  *from,
                                       const char  *to);
int       _smarthost_hard_link        (const char  *from,
                                       const char  *to);
/* Gives a new file the owner and mode of the file it replaces (@old, or
 * NULL for none) or @mode; a secrets file (@mode with no bits for group
 * and others) is made readable only by its owner: 0600 on POSIX, the
 * secrets DACL on Windows. 0, or -1 with errno. */
int       _smarthost_set_file_access  (int                fd,
                                       const struct stat *old,
                                       guint              mode);
/* The mode of a directory the commit made: chmod() on POSIX; on Windows
 * a private one (no bits for group and others) gets the secrets DACL. */
int       _smarthost_set_directory_access (const char *path,
                                           guint       mode);
/* A state directory just made (mode 0700 on POSIX, which mkdir gave it):
 * on Windows, the secrets DACL. */
void      _smarthost_protect_state_directory (const char *path);
/* Is a file or directory that stat() described its owner's (the running
 * user or root) and writable by no one else? What a journal, backup or
 * secrets directory must be. */
gboolean  _smarthost_stat_is_ours     (const struct stat *st);
/* ... and the running user's alone (not root's): a journal. */
gboolean  _smarthost_stat_is_ours_alone (const struct stat *st);
gboolean  _smarthost_stat_others_may_write (const struct stat *st);
gboolean  _smarthost_stat_same_owner  (const struct stat *a,
                                       const struct stat *b);

/* --- processes --------------------------------------------------------- */
gboolean  _smarthost_is_privileged    (void);
/* The directory that holds every backend's state directory when the
 * backend has none of its own. */
char     *_smarthost_state_base_directory (void);
/* Ends the process at once, as SIGKILL does (fault points; tests only). */
G_NORETURN void _smarthost_kill_self  (void);
/* See smarthost-util.c: reads a child's stdout and stderr until both end. */
gboolean  _smarthost_read_child_output (GSubprocess   *proc,
                                        const char    *name,
                                        guint          timeout_seconds,
                                        GCancellable  *cancellable,
                                        GString       *out,
                                        GString       *err,
                                        GError       **error);

/* --- sockets (the probe) --------------------------------------------------
 * A socket is an int on both (a SOCKET fits one, as OpenSSL's SSL_set_fd()
 * assumes); failures set errno (Winsock's codes mapped to errno's). */
int       _smarthost_socket_new_nonblocking (int family);
int       _smarthost_socket_connect   (int                    fd,
                                       const struct sockaddr *address,
                                       gsize                  length);
/* SO_ERROR: 0 once connected, else the errno value. */
int       _smarthost_socket_get_error (int          fd);
/* poll() on one socket for POLLIN or POLLOUT, and on @cancel (nullable):
 * > 0 ready, 0 timed out or cancelled, -1 with errno. */
int       _smarthost_socket_wait      (int          fd,
                                       short        events,
                                       GPollFD     *cancel,
                                       int          timeout_ms);
gssize    _smarthost_socket_recv      (int          fd,
                                       void        *buffer,
                                       gsize        size);
gssize    _smarthost_socket_send      (int          fd,
                                       const void  *data,
                                       gsize        length);
void      _smarthost_socket_close     (int          fd);
/* What an errno value of the calls above means (mingw's strerror() knows
 * none of the socket ones). */
const char *_smarthost_socket_strerror (int          errnum);
/* inet_aton(): IPv4 in every form the resolver reads ("127.1", "0x7f.1"). */
gboolean  _smarthost_inet_aton        (const char     *text,
                                       struct in_addr *address);

G_END_DECLS
