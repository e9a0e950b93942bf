/* smarthost-platform-windows.c: the Windows side of smarthost-platform-private.h
 *
 * Built with mingw-w64 (scripts/build-windows.sh) and tested under Wine.
 * Paths are UTF-8 in the core and wide (UTF-16) at the Win32 API.
 *
 * Implementation notes
 *
 *  - Atomic replacement is MoveFileExW (MOVEFILE_REPLACE_EXISTING |
 *    MOVEFILE_WRITE_THROUGH): on NTFS a rename within a volume, which
 *    replaces the target whole or not at all, and returns once it is on
 *    disk. A file's data is flushed before with FlushFileBuffers; a
 *    directory has nothing to flush (NTFS journals its metadata).
 *  - Backups are hard links (CreateHardLinkW), as on POSIX; NTFS and Wine
 *    have them.
 *  - A secrets file gets a protected DACL granting full control to SYSTEM
 *    and the Administrators group alone ("D:P(A;;FA;;;SY)(A;;FA;;;BA)"),
 *    inherited from nothing: a POSIX mode means nothing here. Other files
 *    keep what the directory gives them.
 *  - Trust in directories (_smarthost_check_trusted_directory): POSIX
 *    checks owner and mode of every directory up to /. Here stat() reports
 *    no owner (uid 0) and a mode made of the read-only flag, so the check
 *    reads the directory's security descriptor (GetNamedSecurityInfoW):
 *      checked:  the directory is not a reparse point (a link or junction
 *                that could be re-pointed); its owner is SYSTEM, the
 *                Administrators group or the running user; no ACE of its
 *                DACL that applies to it (not inherit-only) allows
 *                Everyone (S-1-1-0), Authenticated Users (S-1-5-11) or
 *                Users (S-1-5-32-545) to add files or subdirectories,
 *                delete children, or change the DACL or owner
 *                (FILE_ADD_FILE, FILE_ADD_SUBDIRECTORY, FILE_DELETE_CHILD,
 *                WRITE_DAC, WRITE_OWNER, GENERIC_WRITE, GENERIC_ALL); a
 *                NULL DACL (everyone may do anything) is refused.
 *      not checked:  the directories above it (on Windows, C:\ and
 *                %ProgramData% let Users add subdirectories, so the POSIX
 *                walk would refuse everything; a directory there that Users
 *                made is theirs, and its owner is checked); ACEs for other
 *                SIDs (a named other user, a group other than those three,
 *                which a real audit would resolve through the token's
 *                groups); deny ACEs (an allow ACE is refused even when a
 *                deny ACE before it cancels it: stricter, never looser);
 *                callback and object ACEs; mandatory integrity labels.
 *    A descriptor that cannot be read (an error of GetNamedSecurityInfoW,
 *    a file system without security, such as FAT) is refused with the
 *    error. Wine (8.0, Debian 12; checked) keeps no security descriptors for
 *    files on Unix file systems and enforces none: GetNamedSecurityInfoW
 *    returns one made up from the Unix mode, always with the running user
 *    as owner (S-1-5-21-0-0-0-1000; a new owner set with SetSecurityInfo
 *    is accepted and forgotten) and a DACL of SYSTEM and the user, full
 *    control, plus Everyone with the mode's "other" bits (0x1200a9 for
 *    r-x; 0x1301ff, which adds files, for rwx); a DACL set with
 *    SetSecurityInfo becomes the mode. So Wine does return an owner and a
 *    DACL, never "no security information": the check passes there for a
 *    directory of mode 0755 or 0700 and refuses a world-writable one
 *    (tests/test-platform-windows.c); the owner check cannot fail under
 *    Wine and is tested only on Windows itself. The state directory,
 *    under %ProgramData%\libsmarthost, is created with the secrets DACL,
 *    which passes.
 *  - Locks are LockFileEx on a lock file in %ProgramData%\libsmarthost\locks
 *    (or the user's runtime directory when not elevated), named after the
 *    directory's path (Windows has no inode a path keeps); the lock is
 *    released when the process ends, however it ends, as flock()'s is.
 *  - A fault point ends the process with TerminateProcess (exit code 137,
 *    what a shell reports for SIGKILL): no atexit handler, no flush.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gio/gnetworking.h>
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <shlobj.h>

#include "smarthost-error.h"
#include "smarthost-files-private.h"
#include "smarthost-platform-private.h"
#include "smarthost-util-private.h"

#define SECRETS_SDDL L"D:P(A;;FA;;;SY)(A;;FA;;;BA)"

/* errno for the last Win32 error. */
static int
errno_from_win32 (DWORD code)
{
  switch (code)
    {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
      return ENOENT;
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
      return EACCES;
    case ERROR_ALREADY_EXISTS:
    case ERROR_FILE_EXISTS:
      return EEXIST;
    case ERROR_NOT_SAME_DEVICE:
      return EXDEV;
    case ERROR_DISK_FULL:
      return ENOSPC;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
      return ENOMEM;
    case ERROR_INVALID_HANDLE:
      return EBADF;
    default:
      return EIO;
    }
}

static int
fail_win32 (void)
{
  errno = errno_from_win32 (GetLastError ());
  return -1;
}

static wchar_t *
wide (const char *path)
{
  return g_utf8_to_utf16 (path, -1, NULL, NULL, NULL);
}

/* --- memory ---------------------------------------------------------------- */

void
_smarthost_secure_zero (void  *data,
                        gsize  size)
{
  SecureZeroMemory (data, size);
}

/* --- files ----------------------------------------------------------------- */

static gboolean
is_reparse_point (const char *path)
{
  g_autofree wchar_t *w = wide (path);
  DWORD attributes = w ? GetFileAttributesW (w) : INVALID_FILE_ATTRIBUTES;

  return attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
}

int
_smarthost_lstat (const char  *path,
                  struct stat *st)
{
  GStatBuf buf;

  if (g_stat (path, &buf) != 0)
    return -1;
  memset (st, 0, sizeof *st);
  st->st_mode = buf.st_mode;
  st->st_size = buf.st_size;
  st->st_mtime = buf.st_mtime;
  st->st_dev = buf.st_dev;
  if (is_reparse_point (path))
    st->st_mode = (st->st_mode & ~S_IFMT) | S_IFLNK;
  return 0;
}

int
_smarthost_open_for_reading (const char  *path,
                             gboolean     nofollow,
                             struct stat *st)
{
  if (_smarthost_lstat (path, st) != 0)
    return -1;
  if (S_ISLNK (st->st_mode))
    {
      if (nofollow)
        {
          errno = ELOOP;
          return -1;
        }
      if (g_stat (path, st) != 0)
        return -1;
    }
  if (S_ISDIR (st->st_mode))
    {
      errno = EISDIR;
      return -1;
    }
  return g_open (path, O_RDONLY | O_CLOEXEC, 0);
}

int
_smarthost_fsync (int fd)
{
  HANDLE h = (HANDLE) _get_osfhandle (fd);

  if (h == INVALID_HANDLE_VALUE)
    {
      errno = EBADF;
      return -1;
    }
  if (!FlushFileBuffers (h))
    return fail_win32 ();
  return 0;
}

int
_smarthost_fsync_directory (const char *path)
{
  /* NTFS journals directory entries; MoveFileExW's WRITE_THROUGH already
   * waited for the rename. */
  return 0;
}

int
_smarthost_replace_file (const char *from,
                         const char *to)
{
  g_autofree wchar_t *wfrom = wide (from);
  g_autofree wchar_t *wto = wide (to);

  if (wfrom == NULL || wto == NULL)
    {
      errno = EINVAL;
      return -1;
    }
  if (!MoveFileExW (wfrom, wto, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH))
    return fail_win32 ();
  return 0;
}

int
_smarthost_hard_link (const char *from,
                      const char *to)
{
  g_autofree wchar_t *wfrom = wide (from);
  g_autofree wchar_t *wto = wide (to);

  if (wfrom == NULL || wto == NULL)
    {
      errno = EINVAL;
      return -1;
    }
  if (!CreateHardLinkW (wto, wfrom, NULL))
    return fail_win32 ();
  return 0;
}

/* Puts the secrets DACL on an open file: SYSTEM and Administrators, full
 * control, nothing inherited. The C library opened @h for reading and
 * writing only, and SetSecurityInfo() needs a handle with WRITE_DAC (the
 * owner may always have it, but must ask for it): a second handle to the
 * same file, with that right, does it. */
static int
set_secrets_dacl (HANDLE h)
{
  PSECURITY_DESCRIPTOR sd = NULL;
  PACL dacl = NULL;
  BOOL present = FALSE, defaulted = FALSE;
  HANDLE dac;
  DWORD r;

  dac = ReOpenFile (h, WRITE_DAC | READ_CONTROL, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, 0);
  if (dac == INVALID_HANDLE_VALUE)
    return fail_win32 ();
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW (SECRETS_SDDL, SDDL_REVISION_1, &sd, NULL))
    {
      CloseHandle (dac);
      return fail_win32 ();
    }
  if (!GetSecurityDescriptorDacl (sd, &present, &dacl, &defaulted))
    {
      LocalFree (sd);
      CloseHandle (dac);
      return fail_win32 ();
    }
  r = SetSecurityInfo (dac, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                       NULL, NULL, dacl, NULL);
  LocalFree (sd);
  CloseHandle (dac);
  if (r != ERROR_SUCCESS)
    {
      errno = errno_from_win32 (r);
      return -1;
    }
  return 0;
}

int
_smarthost_set_file_access (int                fd,
                            const struct stat *old,
                            guint              mode)
{
  HANDLE h = (HANDLE) _get_osfhandle (fd);

  if (h == INVALID_HANDLE_VALUE)
    {
      errno = EBADF;
      return -1;
    }
  /* A mode with nothing for group and others is a secrets file. */
  if ((mode & 077) == 0)
    return set_secrets_dacl (h);
  return 0;
}

static int
set_secrets_dacl_on_path (const char *path)
{
  g_autofree wchar_t *w = wide (path);
  PSECURITY_DESCRIPTOR sd = NULL;
  PACL dacl = NULL;
  BOOL present = FALSE, defaulted = FALSE;
  DWORD r;

  if (w == NULL)
    {
      errno = EINVAL;
      return -1;
    }
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW (SECRETS_SDDL, SDDL_REVISION_1, &sd, NULL))
    return fail_win32 ();
  if (!GetSecurityDescriptorDacl (sd, &present, &dacl, &defaulted))
    {
      LocalFree (sd);
      return fail_win32 ();
    }
  r = SetNamedSecurityInfoW (w, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                             NULL, NULL, dacl, NULL);
  LocalFree (sd);
  if (r != ERROR_SUCCESS)
    {
      errno = errno_from_win32 (r);
      return -1;
    }
  return 0;
}

int
_smarthost_set_directory_access (const char *path,
                                 guint       mode)
{
  return (mode & 077) == 0 ? set_secrets_dacl_on_path (path) : 0;
}

void
_smarthost_protect_state_directory (const char *path)
{
  /* Best effort: the directory exists either way; a failure leaves the
   * DACL it inherited from %ProgramData%. */
  set_secrets_dacl_on_path (path);
}

/* See the implementation notes: stat() tells no owner here. */
gboolean
_smarthost_stat_is_ours (const struct stat *st)
{
  return TRUE;
}

gboolean
_smarthost_stat_is_ours_alone (const struct stat *st)
{
  return TRUE;
}

gboolean
_smarthost_stat_others_may_write (const struct stat *st)
{
  return FALSE;
}

gboolean
_smarthost_stat_same_owner (const struct stat *a,
                            const struct stat *b)
{
  return TRUE;
}

/* What a trusted directory's owner may be: SYSTEM, the Administrators
 * group, the running user. */
static gboolean
is_trusted_owner (PSID owner)
{
  g_autofree TOKEN_USER *user = NULL;
  gboolean trusted = FALSE;
  HANDLE token;
  DWORD size = 0;

  if (owner == NULL || !IsValidSid (owner))
    return FALSE;
  if (IsWellKnownSid (owner, WinLocalSystemSid) || IsWellKnownSid (owner, WinBuiltinAdministratorsSid))
    return TRUE;
  if (!OpenProcessToken (GetCurrentProcess (), TOKEN_QUERY, &token))
    return FALSE;
  GetTokenInformation (token, TokenUser, NULL, 0, &size);
  if (size > 0)
    {
      user = g_malloc0 (size);
      trusted = GetTokenInformation (token, TokenUser, user, size, &size) && EqualSid (owner, user->User.Sid);
    }
  CloseHandle (token);
  return trusted;
}

/* The rights over a directory that let someone plant, swap or remove files
 * in it, or take it over. */
#define UNTRUSTED_RIGHTS (FILE_ADD_FILE | FILE_ADD_SUBDIRECTORY | FILE_DELETE_CHILD | DELETE | WRITE_DAC | \
                          WRITE_OWNER | GENERIC_WRITE | GENERIC_ALL)

/* The name of the first of Everyone, Authenticated Users and Users to whom
 * an ACE of @dacl that applies to the directory itself allows one of those
 * rights; NULL when none is. */
static const char *
dacl_lets_others_write (PACL dacl)
{
  static const struct {
    WELL_KNOWN_SID_TYPE type;
    const char *name;
  } others[] = {
    { WinWorldSid, "Everyone" },
    { WinAuthenticatedUserSid, "Authenticated Users" },
    { WinBuiltinUsersSid, "Users" },
  };

  for (DWORD i = 0; i < dacl->AceCount; i++)
    {
      ACE_HEADER *header = NULL;
      ACCESS_ALLOWED_ACE *ace;

      if (!GetAce (dacl, i, (void **) &header))
        continue;
      if (header->AceType != ACCESS_ALLOWED_ACE_TYPE || (header->AceFlags & INHERIT_ONLY_ACE) != 0)
        continue;
      ace = (ACCESS_ALLOWED_ACE *) header;
      if ((ace->Mask & UNTRUSTED_RIGHTS) == 0)
        continue;
      for (guint k = 0; k < G_N_ELEMENTS (others); k++)
        if (IsWellKnownSid ((PSID) &ace->SidStart, others[k].type))
          return others[k].name;
    }
  return NULL;
}

/* See the implementation notes: the directory itself, its owner and its
 * DACL. */
gboolean
_smarthost_check_trusted_directory (const char  *path,
                                    const char  *what,
                                    GError     **error)
{
  g_autofree char *shown = _smarthost_quote_path (path);
  g_autofree wchar_t *w = NULL;
  PSECURITY_DESCRIPTOR sd = NULL;
  PSID owner = NULL;
  PACL dacl = NULL;
  const char *writer = NULL;
  gboolean owner_trusted;
  DWORD r;

  if (is_reparse_point (path))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "%s %s is a symbolic link or junction, which could point elsewhere at any time; "
                   "use the directory it points to", what, shown);
      return FALSE;
    }
  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s %s is not a directory", what, shown);
      return FALSE;
    }
  w = wide (path);
  r = w ? GetNamedSecurityInfoW (w, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                                 &owner, NULL, &dacl, NULL, &sd)
        : ERROR_INVALID_NAME;
  if (r != ERROR_SUCCESS)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "%s %s cannot be checked: its owner and permissions cannot be read: %s; "
                   "use a directory on an NTFS volume", what, shown, g_strerror (errno_from_win32 (r)));
      return FALSE;
    }
  owner_trusted = is_trusted_owner (owner);
  /* No DACL: everyone may do anything. */
  writer = dacl == NULL ? "Everyone" : dacl_lets_others_write (dacl);
  LocalFree (sd);
  if (!owner_trusted || writer != NULL)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "%s %s is %s%s%s%s, so another user could plant or swap files in it. Make it owned by "
                   "Administrators and writable by Administrators and SYSTEM alone (its Security tab, or "
                   "icacls %s /setowner Administrators and icacls %s /inheritance:r /grant:r "
                   "Administrators:(OI)(CI)F SYSTEM:(OI)(CI)F), or use another directory",
                   what, shown,
                   !owner_trusted ? "owned by neither SYSTEM, Administrators nor you" : "",
                   !owner_trusted && writer != NULL ? " and " : "",
                   writer != NULL ? "writable by " : "",
                   writer != NULL ? writer : "",
                   shown, shown);
      return FALSE;
    }
  return TRUE;
}

/* --- locks ----------------------------------------------------------------- */

int
_smarthost_lock_file (const char    *path,
                      gboolean       shared,
                      guint          timeout_seconds,
                      GCancellable  *cancellable,
                      GError       **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_seconds * G_USEC_PER_SEC;
  g_autofree char *shown = _smarthost_quote_path (path);
  HANDLE h;
  int fd;

  if (is_reparse_point (path))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "lock: cannot open %s: it is a symbolic link: remove it", shown);
      return -1;
    }
  fd = g_open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "lock: cannot open %s: %s", shown, g_strerror (saved));
      return -1;
    }
  h = (HANDLE) _get_osfhandle (fd);
  for (;;)
    {
      OVERLAPPED ov = { 0 };
      DWORD flags = LOCKFILE_FAIL_IMMEDIATELY | (shared ? 0 : LOCKFILE_EXCLUSIVE_LOCK);

      if (LockFileEx (h, flags, 0, 1, 0, &ov))
        return fd;
      if (GetLastError () != ERROR_LOCK_VIOLATION && GetLastError () != ERROR_IO_PENDING)
        {
          int saved = errno_from_win32 (GetLastError ());
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
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_CONFLICT,
                       "lock: another process has held %s for more than %u s: another commit is running "
                       "or stuck; look for it in the Task Manager, or wait longer (lock-timeout)",
                       shown, timeout_seconds);
          close (fd);
          return -1;
        }
      g_usleep (10000);
    }
}

void
_smarthost_unlock_file (const char *path,
                        int         fd)
{
  if (fd < 0)
    return;
  /* Closing the handle releases the lock. The lock file stays: removing
   * it while another process waits on it would give two holders. */
  close (fd);
}

/* The directory of locks: %ProgramData%\libsmarthost\locks when elevated,
 * else under the user's runtime directory. */
static char *
lock_directory (GError **error)
{
  g_autofree char *base = _smarthost_is_privileged ()
                          ? _smarthost_state_base_directory ()
                          : g_strdup (g_get_user_runtime_dir ());
  char *dir = g_build_filename (base, SMARTHOST_LOCK_DIR_NAME, "locks", NULL);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "lock: cannot create %s: %s", dir, g_strerror (saved));
      g_free (dir);
      return NULL;
    }
  return dir;
}

int
_smarthost_lock_directory_full (const char    *path,
                                gboolean       shared,
                                guint          timeout_seconds,
                                GCancellable  *cancellable,
                                GError       **error)
{
  g_autofree char *dir = lock_directory (error);
  g_autofree char *canonical = NULL;
  g_autofree char *folded = NULL;
  g_autofree char *digest = NULL;
  g_autofree char *lock_path = NULL;
  int fd;

  if (dir == NULL)
    return -1;
  /* Windows paths are case-insensitive: one lock per directory however
   * it is spelt. */
  canonical = g_canonicalize_filename (path, NULL);
  folded = g_utf8_casefold (canonical, -1);
  digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, folded, -1);
  lock_path = g_strdup_printf ("%s\\%.32s.lock", dir, digest);
  fd = _smarthost_lock_file (lock_path, shared, timeout_seconds, cancellable, error);
  if (fd < 0 && error != NULL && *error != NULL)
    g_prefix_error (error, "%s: ", path);
  return fd;
}

void
_smarthost_unlock_directory (const char *path,
                             int         fd)
{
  _smarthost_unlock_file (NULL, fd);
}

/* --- processes ------------------------------------------------------------- */

gboolean
_smarthost_is_privileged (void)
{
  SID_IDENTIFIER_AUTHORITY nt = SECURITY_NT_AUTHORITY;
  PSID admins = NULL;
  BOOL member = FALSE;

  if (!AllocateAndInitializeSid (&nt, 2, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_ADMINS,
                                 0, 0, 0, 0, 0, 0, &admins))
    return FALSE;
  if (!CheckTokenMembership (NULL, admins, &member))
    member = FALSE;
  FreeSid (admins);
  return member;
}

/* %ProgramData% (C:\ProgramData); the caller adds libsmarthost\NAME. */
char *
_smarthost_state_base_directory (void)
{
  wchar_t *w = NULL;
  char *dir = NULL;

  if (SHGetKnownFolderPath (&FOLDERID_ProgramData, KF_FLAG_CREATE, NULL, &w) == S_OK)
    dir = g_utf16_to_utf8 (w, -1, NULL, NULL, NULL);
  CoTaskMemFree (w);
  if (dir == NULL)
    dir = g_strdup (g_getenv ("ProgramData") ? g_getenv ("ProgramData") : "C:\\ProgramData");
  return dir;
}

void
_smarthost_kill_self (void)
{
  TerminateProcess (GetCurrentProcess (), 137);
  _exit (137);
}

/* Windows pipes cannot be polled: the output is read by GIO's own
 * threads (g_subprocess_communicate), then bounded. The timeout is
 * wait_child's (smarthost-util.c). */
gboolean
_smarthost_read_child_output (GSubprocess   *proc,
                              const char    *name,
                              guint          timeout_seconds,
                              GCancellable  *cancellable,
                              GString       *out,
                              GString       *err,
                              GError       **error)
{
  g_autoptr(GBytes) out_bytes = NULL;
  g_autoptr(GBytes) err_bytes = NULL;

  if (!g_subprocess_communicate (proc, NULL, cancellable,
                                 out ? &out_bytes : NULL, err ? &err_bytes : NULL, error))
    return FALSE;
  if ((out_bytes && g_bytes_get_size (out_bytes) > SMARTHOST_RUN_OUTPUT_LIMIT) ||
      (err_bytes && g_bytes_get_size (err_bytes) > SMARTHOST_RUN_OUTPUT_LIMIT))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "%s printed more than %u MiB; it was stopped", name,
                   SMARTHOST_RUN_OUTPUT_LIMIT / (1024 * 1024));
      return FALSE;
    }
  if (out_bytes)
    g_string_append_len (out, g_bytes_get_data (out_bytes, NULL), g_bytes_get_size (out_bytes));
  if (err_bytes)
    g_string_append_len (err, g_bytes_get_data (err_bytes, NULL), g_bytes_get_size (err_bytes));
  return TRUE;
}

/* --- sockets (the probe) --------------------------------------------------- */

static int
errno_from_wsa (int code)
{
  switch (code)
    {
    case WSAEWOULDBLOCK:
      return EWOULDBLOCK;
    case WSAEINPROGRESS:
    case WSAEALREADY:
      return EINPROGRESS;
    case WSAECONNREFUSED:
      return ECONNREFUSED;
    case WSAECONNRESET:
      return ECONNRESET;
    case WSAECONNABORTED:
      return ECONNABORTED;
    case WSAETIMEDOUT:
      return ETIMEDOUT;
    case WSAENETUNREACH:
      return ENETUNREACH;
    case WSAEHOSTUNREACH:
      return EHOSTUNREACH;
    case WSAEADDRNOTAVAIL:
      return EADDRNOTAVAIL;
    case WSAEAFNOSUPPORT:
      return EAFNOSUPPORT;
    case WSAEINTR:
      return EINTR;
    case 0:
      return 0;
    default:
      return EIO;
    }
}

static int
fail_wsa (void)
{
  errno = errno_from_wsa (WSAGetLastError ());
  return -1;
}

int
_smarthost_socket_new_nonblocking (int family)
{
  SOCKET s;
  u_long on = 1;

  g_networking_init ();   /* WSAStartup */
  s = WSASocketW (family, SOCK_STREAM, IPPROTO_TCP, NULL, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
  if (s == INVALID_SOCKET)
    return fail_wsa ();
  if (ioctlsocket (s, FIONBIO, &on) != 0)
    {
      int saved = errno_from_wsa (WSAGetLastError ());
      closesocket (s);
      errno = saved;
      return -1;
    }
  return (int) s;
}

int
_smarthost_socket_connect (int                    fd,
                           const struct sockaddr *address,
                           gsize                  length)
{
  if (connect ((SOCKET) fd, address, (int) length) != 0)
    {
      int code = WSAGetLastError ();
      /* A non-blocking connect in progress says "would block" here. */
      errno = code == WSAEWOULDBLOCK ? EINPROGRESS : errno_from_wsa (code);
      return -1;
    }
  return 0;
}

int
_smarthost_socket_get_error (int fd)
{
  int soerr = 0;
  int len = sizeof soerr;

  if (getsockopt ((SOCKET) fd, SOL_SOCKET, SO_ERROR, (char *) &soerr, &len) != 0)
    return errno_from_wsa (WSAGetLastError ());
  return errno_from_wsa (soerr);
}

int
_smarthost_socket_wait (int      fd,
                        short    events,
                        GPollFD *cancel,
                        int      timeout_ms)
{
  /* GCancellable's descriptor is an event here, which WSAPoll cannot
   * wait on: wait in slices, and let the caller look at the cancellable
   * between them. A failed connect shows as POLLERR/POLLHUP. */
  WSAPOLLFD pfd = { (SOCKET) fd, (short) (events == POLLIN ? POLLRDNORM : POLLWRNORM), 0 };
  int r = WSAPoll (&pfd, 1, cancel != NULL ? MIN (timeout_ms, 100) : timeout_ms);

  if (r < 0)
    return fail_wsa ();
  return r > 0 && pfd.revents != 0 ? 1 : 0;
}

gssize
_smarthost_socket_recv (int    fd,
                        void  *buffer,
                        gsize  size)
{
  int n = recv ((SOCKET) fd, buffer, (int) MIN (size, G_MAXINT), 0);

  return n == SOCKET_ERROR ? fail_wsa () : n;
}

gssize
_smarthost_socket_send (int         fd,
                        const void *data,
                        gsize       length)
{
  int n = send ((SOCKET) fd, data, (int) MIN (length, G_MAXINT), 0);

  return n == SOCKET_ERROR ? fail_wsa () : n;
}

void
_smarthost_socket_close (int fd)
{
  closesocket ((SOCKET) fd);
}

const char *
_smarthost_socket_strerror (int errnum)
{
  switch (errnum)
    {
    case ECONNREFUSED:
      return "Connection refused";
    case ECONNRESET:
      return "Connection reset by peer";
    case ECONNABORTED:
      return "Software caused connection abort";
    case ETIMEDOUT:
      return "Connection timed out";
    case ENETUNREACH:
      return "Network is unreachable";
    case EHOSTUNREACH:
      return "No route to host";
    case EADDRNOTAVAIL:
      return "Cannot assign requested address";
    case EAFNOSUPPORT:
      return "Address family not supported by protocol";
    case EWOULDBLOCK:
      return "Resource temporarily unavailable";
    case EINPROGRESS:
      return "Operation now in progress";
    case EPIPE:
      return "Broken pipe";
    default:
      return g_strerror (errnum);
    }
}

/* inet_addr() reads the forms inet_aton() reads; it answers INADDR_NONE
 * for 255.255.255.255 too, which is told apart by its text. */
gboolean
_smarthost_inet_aton (const char     *text,
                      struct in_addr *address)
{
  unsigned long a = inet_addr (text);

  if (a == INADDR_NONE)
    {
      if (inet_pton (AF_INET, text, address) == 1)
        return TRUE;
      return FALSE;
    }
  address->s_addr = a;
  return TRUE;
}
