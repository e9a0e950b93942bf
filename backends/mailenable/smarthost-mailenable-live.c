/* smarthost-mailenable-live.c: the live registry and the service, on Windows
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib.h>

#ifdef G_OS_WIN32

#ifndef WIN32_LEAN_AND_MEAN
# define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "smarthost-error.h"
#include "smarthost-util-private.h"
#include "smarthost-mailenable-private.h"

/*
 * Implementation notes
 *
 * MailEnable is a 32-bit program: its settings are in the 32-bit view of
 * HKLM\SOFTWARE (on 64-bit Windows, SOFTWARE\WOW6432Node), which every
 * call here asks for with KEY_WOW64_32KEY, whatever our own bitness.
 *
 * Values are read with the sizes RegQueryInfoKeyW gives, grown when a value
 * became larger since (ERROR_MORE_DATA), up to VALUE_LIMIT: the connector's
 * values are a few bytes, and a huge one is refused rather than read.
 *
 * The service is restarted through the Service Control Manager: stopped
 * (when it runs) and started, each step polled every POLL_MS until its
 * state is reached, the cancellable is cancelled, or @timeout seconds pass.
 * A service that stops while starting failed: its exit codes say why.
 *
 * Errors name the key or the service and say what failed, with Windows'
 * message; never a value's data.
 */

#define VALUE_LIMIT (1024u * 1024)
#define POLL_MS     100

/* An error: what failed (printf-style), then Windows' message for @code. */
static gboolean G_GNUC_PRINTF (3, 4)
set_win32_error (GError    **error,
                 DWORD       code,
                 const char *format,
                 ...)
{
  g_autofree char *message = g_win32_error_message ((gint) code);
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s: %s", what, message);
  return FALSE;
}

#define KEY_FORMAT "HKLM\\%s (32-bit view): "

static gunichar2 *
to_utf16 (const char  *text,
          const char  *subkey,
          const char  *what,
          GError     **error)
{
  gunichar2 *units = g_utf8_to_utf16 (text, -1, NULL, NULL, NULL);

  if (units == NULL)
    g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "HKLM\\%s (32-bit view): %s is not UTF-8",
                 subkey, what);
  return units;
}

/* One value of @key at @index into *@value; *@done TRUE past the last. */
static gboolean
read_value (HKEY          key,
            DWORD         index,
            gunichar2    *name,
            GByteArray   *data,
            const char   *subkey,
            MeRegValue  **value,
            gboolean     *done,
            GError      **error)
{
  for (;;)
    {
      DWORD name_len = ME_REG_NAME_MAX + 1;
      DWORD size = data->len;
      DWORD type = 0;
      LONG r = RegEnumValueW (key, index, (LPWSTR) name, &name_len, NULL, &type, data->data, &size);

      if (r == ERROR_NO_MORE_ITEMS)
        {
          *done = TRUE;
          return TRUE;
        }
      if (r == ERROR_MORE_DATA && data->len < VALUE_LIMIT)
        {
          /* Grown since RegQueryInfoKeyW (or a size it did not know). */
          g_byte_array_set_size (data, MIN (MAX (size, data->len * 2), VALUE_LIMIT));
          continue;
        }
      if (r == ERROR_MORE_DATA)
        {
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                       "HKLM\\%s (32-bit view): value %u holds more than %u bytes, which MailEnable never "
                       "writes: look at the key with regedit", subkey, (guint) index, VALUE_LIMIT);
          return FALSE;
        }
      if (r != ERROR_SUCCESS)
        return set_win32_error (error, (DWORD) r, KEY_FORMAT "cannot read its values", subkey);
      {
        g_autofree char *utf8 = g_utf16_to_utf8 (name, name_len, NULL, NULL, NULL);
        g_autoptr(GBytes) bytes = g_bytes_new (data->data, size);

        if (utf8 == NULL)
          return set_win32_error (error, ERROR_INVALID_DATA, KEY_FORMAT "a value's name is not valid UTF-16",
                                  subkey);
        *value = me_reg_value_new (utf8, type, bytes);
        *done = FALSE;
        return TRUE;
      }
    }
}

gboolean
me_live_read_key (const char  *subkey,
                  GPtrArray  **values,
                  gboolean    *exists,
                  GError     **error)
{
  g_autofree gunichar2 *wsubkey = NULL;
  g_autofree gunichar2 *name = NULL;
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func ((GDestroyNotify) me_reg_value_free);
  g_autoptr(GByteArray) data = g_byte_array_new ();
  DWORD n_values = 0, max_data = 0;
  gboolean ok = TRUE;
  HKEY key;
  LONG r;

  g_return_val_if_fail (subkey != NULL, FALSE);
  g_return_val_if_fail (values != NULL && exists != NULL, FALSE);
  *values = NULL;
  if ((wsubkey = to_utf16 (subkey, subkey, "the key's path", error)) == NULL)
    return FALSE;
  r = RegOpenKeyExW (HKEY_LOCAL_MACHINE, (LPCWSTR) wsubkey, 0, KEY_QUERY_VALUE | KEY_WOW64_32KEY, &key);
  if (r == ERROR_FILE_NOT_FOUND)
    {
      *exists = FALSE;
      *values = g_steal_pointer (&found);
      return TRUE;
    }
  if (r != ERROR_SUCCESS)
    return set_win32_error (error, (DWORD) r, KEY_FORMAT "cannot open the key", subkey);
  r = RegQueryInfoKeyW (key, NULL, NULL, NULL, NULL, NULL, NULL, &n_values, NULL, &max_data, NULL, NULL);
  if (r != ERROR_SUCCESS)
    {
      RegCloseKey (key);
      return set_win32_error (error, (DWORD) r, KEY_FORMAT "cannot query the key", subkey);
    }
  name = g_new (gunichar2, ME_REG_NAME_MAX + 1);
  g_byte_array_set_size (data, MAX (MIN (max_data, VALUE_LIMIT), 64));
  for (DWORD i = 0; ok; i++)
    {
      MeRegValue *value = NULL;
      gboolean done = FALSE;

      ok = read_value (key, i, name, data, subkey, &value, &done, error);
      if (!ok || done)
        break;
      g_ptr_array_add (found, value);
    }
  RegCloseKey (key);
  if (!ok)
    return FALSE;
  *exists = TRUE;
  *values = g_steal_pointer (&found);
  return TRUE;
}

static gboolean
value_error (GError           **error,
             LONG               code,
             const char        *subkey,
             const char        *verb,
             const MeRegValue  *value)
{
  g_autofree char *name = _smarthost_quote (value->name, -1);

  return set_win32_error (error, (DWORD) code, KEY_FORMAT "cannot %s value %s", subkey, verb, name);
}

gboolean
me_live_write_value (const char        *subkey,
                     const MeRegValue  *value,
                     GError           **error)
{
  g_autofree gunichar2 *wsubkey = NULL;
  g_autofree gunichar2 *wname = NULL;
  gsize size = 0;
  const guint8 *data = NULL;
  HKEY key;
  LONG r;

  g_return_val_if_fail (subkey != NULL && value != NULL, FALSE);
  if ((wsubkey = to_utf16 (subkey, subkey, "the key's path", error)) == NULL ||
      (wname = to_utf16 (value->name, subkey, "a value's name", error)) == NULL)
    return FALSE;
  if (value->deleted)
    {
      /* Nothing to delete in a key that does not exist. */
      r = RegOpenKeyExW (HKEY_LOCAL_MACHINE, (LPCWSTR) wsubkey, 0, KEY_SET_VALUE | KEY_WOW64_32KEY, &key);
      if (r == ERROR_FILE_NOT_FOUND)
        return TRUE;
      if (r != ERROR_SUCCESS)
        return set_win32_error (error, (DWORD) r, KEY_FORMAT "cannot open the key", subkey);
      r = RegDeleteValueW (key, (LPCWSTR) wname);
      RegCloseKey (key);
      return r == ERROR_SUCCESS || r == ERROR_FILE_NOT_FOUND || value_error (error, r, subkey, "delete", value);
    }
  if (value->data != NULL)
    data = g_bytes_get_data (value->data, &size);
  if (size > VALUE_LIMIT)
    return set_win32_error (error, ERROR_INVALID_PARAMETER, KEY_FORMAT "a value larger than 1 MiB", subkey);
  r = RegCreateKeyExW (HKEY_LOCAL_MACHINE, (LPCWSTR) wsubkey, 0, NULL, REG_OPTION_NON_VOLATILE,
                       KEY_SET_VALUE | KEY_WOW64_32KEY, NULL, &key, NULL);
  if (r != ERROR_SUCCESS)
    return set_win32_error (error, (DWORD) r, KEY_FORMAT "cannot open or create the key", subkey);
  r = RegSetValueExW (key, (LPCWSTR) wname, 0, value->type, data, (DWORD) size);
  RegCloseKey (key);
  return r == ERROR_SUCCESS || value_error (error, r, subkey, "set", value);
}

/* --- the service -------------------------------------------------------------- */

static gboolean
query_status (SC_HANDLE                svc,
              const char              *service,
              SERVICE_STATUS_PROCESS  *status,
              GError                 **error)
{
  DWORD needed = 0;

  if (!QueryServiceStatusEx (svc, SC_STATUS_PROCESS_INFO, (LPBYTE) status, sizeof *status, &needed))
    return set_win32_error (error, GetLastError (), "the service %s: cannot query its state", service);
  return TRUE;
}

static const char *
state_name (DWORD state)
{
  static const char * const names[] = {
    NULL, "STOPPED", "START_PENDING", "STOP_PENDING", "RUNNING", "CONTINUE_PENDING", "PAUSE_PENDING", "PAUSED",
  };

  return state < G_N_ELEMENTS (names) && names[state] ? names[state] : "unknown";
}

/* Polls until the service is in state @want. Waiting for it to run, a
 * service that stops instead failed to start: its exit codes say why. */
static gboolean
wait_for_state (SC_HANDLE      svc,
                const char    *service,
                DWORD          want,
                guint          timeout,
                GCancellable  *cancellable,
                GError       **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout * G_USEC_PER_SEC;
  const char *verb = want == SERVICE_RUNNING ? "start" : "stop";

  for (;;)
    {
      SERVICE_STATUS_PROCESS status;

      if (!query_status (svc, service, &status, error))
        return FALSE;
      if (status.dwCurrentState == want)
        return TRUE;
      if (want == SERVICE_RUNNING && status.dwCurrentState == SERVICE_STOPPED)
        {
          if (status.dwWin32ExitCode == ERROR_SERVICE_SPECIFIC_ERROR)
            g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                         "the service %s stopped instead of starting, with its exit code %lu: see the "
                         "Windows event log and MailEnable's logs", service,
                         (unsigned long) status.dwServiceSpecificExitCode);
          else
            {
              g_autofree char *message = g_win32_error_message ((gint) status.dwWin32ExitCode);
              g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                           "the service %s stopped instead of starting, with exit code %lu (%s): see the "
                           "Windows event log and MailEnable's logs", service,
                           (unsigned long) status.dwWin32ExitCode, message);
            }
          return FALSE;
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (g_get_monotonic_time () >= deadline)
        {
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                       "the service %s did not %s within %u s (it is %s): look at it with sc query %s",
                       service, verb, timeout, state_name (status.dwCurrentState), service);
          return FALSE;
        }
      Sleep (POLL_MS);
    }
}

static gboolean
restart (SC_HANDLE      svc,
         const char    *service,
         guint          timeout,
         GCancellable  *cancellable,
         GError       **error)
{
  SERVICE_STATUS_PROCESS status;
  SERVICE_STATUS stopped;

  if (!query_status (svc, service, &status, error))
    return FALSE;
  if (status.dwCurrentState != SERVICE_STOPPED)
    {
      if (status.dwCurrentState != SERVICE_STOP_PENDING && !ControlService (svc, SERVICE_CONTROL_STOP, &stopped))
        {
          DWORD code = GetLastError ();
          if (code != ERROR_SERVICE_NOT_ACTIVE)
            return set_win32_error (error, code, "the service %s: cannot stop it", service);
        }
      if (!wait_for_state (svc, service, SERVICE_STOPPED, timeout, cancellable, error))
        return FALSE;
    }
  if (!StartServiceW (svc, 0, NULL))
    {
      DWORD code = GetLastError ();
      if (code != ERROR_SERVICE_ALREADY_RUNNING)
        return set_win32_error (error, code, "the service %s: cannot start it", service);
    }
  return wait_for_state (svc, service, SERVICE_RUNNING, timeout, cancellable, error);
}

gboolean
me_service_restart (const char    *service,
                    guint          timeout,
                    GCancellable  *cancellable,
                    GError       **error)
{
  g_autofree gunichar2 *wservice = NULL;
  SC_HANDLE scm, svc;
  gboolean ok;

  g_return_val_if_fail (service != NULL, FALSE);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if ((wservice = g_utf8_to_utf16 (service, -1, NULL, NULL, NULL)) == NULL)
    return set_win32_error (error, ERROR_INVALID_NAME, "the service %s: cannot name it", service);
  scm = OpenSCManagerW (NULL, NULL, SC_MANAGER_CONNECT);
  if (scm == NULL)
    return set_win32_error (error, GetLastError (), "the service %s: cannot reach the Service Control Manager",
                            service);
  svc = OpenServiceW (scm, (LPCWSTR) wservice, SERVICE_QUERY_STATUS | SERVICE_STOP | SERVICE_START);
  if (svc == NULL)
    {
      DWORD code = GetLastError ();

      CloseServiceHandle (scm);
      if (code == ERROR_SERVICE_DOES_NOT_EXIST)
        {
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                       "the service %s is not installed: is MailEnable installed on this machine?", service);
          return FALSE;
        }
      return set_win32_error (error, code, "the service %s: cannot open it", service);
    }
  ok = restart (svc, service, timeout, cancellable, error);
  CloseServiceHandle (svc);
  CloseServiceHandle (scm);
  return ok;
}

#endif /* G_OS_WIN32 */
