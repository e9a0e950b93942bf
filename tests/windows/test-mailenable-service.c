/* test-mailenable-service.c: me_service_restart() against a real service under Wine
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Run by test-mailenable-service.sh once it has installed me-test-service.exe
 * as MESMTPCS and started it: each ServiceMain adds 1 to
 * HKLM\SOFTWARE\libsmarthost-test "starts", and fails with exit code 42
 * when "fail" there is 1.
 *
 * With SMARTHOSTCTL_EXE (the script sets it), smarthostctl.exe --backend
 * mailenable too: a change to the live connector key restarts the service
 * (and --no-reload does not), and a restart that fails is exit code 5
 * (SMARTHOST_ERROR_NOT_ACTIVE) with the change committed.
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#ifndef WIN32_LEAN_AND_MEAN
# define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "smarthost.h"
#include "smarthost-mailenable-private.h"

#define SERVICE  "MESMTPCS"
#define TEST_KEY L"SOFTWARE\\libsmarthost-test"
#define TIMEOUT  30
#define CONNECTOR_KEY L"SOFTWARE\\Mail Enable\\Mail Enable\\Connectors\\SMTP"

static DWORD
test_value (const wchar_t *name)
{
  DWORD value = 0, size = sizeof value;

  if (RegGetValueW (HKEY_LOCAL_MACHINE, TEST_KEY, name, RRF_RT_REG_DWORD, NULL, &value,
                    &size) != ERROR_SUCCESS)
    return 0;
  return value;
}

static void
set_test_value (const wchar_t *name,
                DWORD          value)
{
  HKEY key;

  g_assert_cmpint (RegCreateKeyExW (HKEY_LOCAL_MACHINE, TEST_KEY, 0, NULL, REG_OPTION_NON_VOLATILE,
                                    KEY_SET_VALUE | KEY_WOW64_64KEY, NULL, &key, NULL), ==, ERROR_SUCCESS);
  g_assert_cmpint (RegSetValueExW (key, name, 0, REG_DWORD, (const BYTE *) &value, sizeof value), ==,
                   ERROR_SUCCESS);
  RegCloseKey (key);
}

static DWORD
service_state (void)
{
  SC_HANDLE scm = OpenSCManagerW (NULL, NULL, SC_MANAGER_CONNECT);
  SC_HANDLE svc;
  SERVICE_STATUS_PROCESS status = { 0 };
  DWORD needed = 0;

  g_assert_nonnull (scm);
  svc = OpenServiceW (scm, L"" SERVICE, SERVICE_QUERY_STATUS);
  g_assert_nonnull (svc);
  g_assert_true (QueryServiceStatusEx (svc, SC_STATUS_PROCESS_INFO, (LPBYTE) &status, sizeof status, &needed));
  CloseServiceHandle (svc);
  CloseServiceHandle (scm);
  return status.dwCurrentState;
}

static void
restart_ok (void)
{
  g_autoptr(GError) error = NULL;
  DWORD before = test_value (L"starts");

  g_assert_true (me_service_restart (SERVICE, TIMEOUT, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (test_value (L"starts"), ==, before + 1);
  g_assert_cmpuint (service_state (), ==, SERVICE_RUNNING);
}

static void
test_restart_running (void)
{
  g_assert_cmpuint (service_state (), ==, SERVICE_RUNNING);
  restart_ok ();
  /* And again: the service it left runs. */
  restart_ok ();
}

static void
test_restart_fails (void)
{
  g_autoptr(GError) error = NULL;
  DWORD before = test_value (L"starts");

  set_test_value (L"fail", 1);
  g_assert_false (me_service_restart (SERVICE, TIMEOUT, NULL, &error));
  set_test_value (L"fail", 0);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, SERVICE));
  g_assert_nonnull (strstr (error->message, "42"));
  g_assert_cmpuint (test_value (L"starts"), ==, before + 1);
  g_assert_cmpuint (service_state (), ==, SERVICE_STOPPED);
  /* A stopped service is started. */
  restart_ok ();
}

static void
test_cancelled (void)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  DWORD before = test_value (L"starts");

  /* Cancelled before it started: nothing is done. */
  g_cancellable_cancel (cancellable);
  g_assert_false (me_service_restart (SERVICE, TIMEOUT, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (test_value (L"starts"), ==, before);
  g_assert_cmpuint (service_state (), ==, SERVICE_RUNNING);
}

/* A service slower to stop than the timeout: the error says so; the next
 * restart, with time enough, waits for it to stop and starts it. */
static void
test_timeout (void)
{
  g_autoptr(GError) error = NULL;

  set_test_value (L"slow_stop", 3);
  g_assert_false (me_service_restart (SERVICE, 1, NULL, &error));
  set_test_value (L"slow_stop", 0);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "the service " SERVICE " did not stop within 1 s"));
  restart_ok ();
}

static gpointer
cancel_later (gpointer cancellable)
{
  g_usleep (300 * 1000);
  g_cancellable_cancel (cancellable);
  return NULL;
}

/* Cancelled while it waits for the service to stop. */
static void
test_cancelled_waiting (void)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  GThread *thread;
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();

  set_test_value (L"slow_stop", 3);
  thread = g_thread_new ("cancel", cancel_later, cancellable);
  g_assert_false (me_service_restart (SERVICE, TIMEOUT, cancellable, &error));
  g_thread_join (thread);
  set_test_value (L"slow_stop", 0);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2 * G_USEC_PER_SEC);
  restart_ok ();
}

static void
test_not_installed (void)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (me_service_restart ("MESMTPCS-not-installed", TIMEOUT, NULL, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "the service MESMTPCS-not-installed is not installed"));
}

/* Runs smarthostctl.exe with @args (a command line's tail) and returns
 * its exit code. */
static DWORD
run_smarthostctl (const char *args)
{
  g_autofree char *line = g_strdup_printf ("\"%s\" %s", g_getenv ("SMARTHOSTCTL_EXE"), args);
  g_autofree gunichar2 *wline = g_utf8_to_utf16 (line, -1, NULL, NULL, NULL);
  SECURITY_ATTRIBUTES inherit = { .nLength = sizeof inherit, .bInheritHandle = TRUE };
  STARTUPINFOW si = { .cb = sizeof si, .dwFlags = STARTF_USESTDHANDLES };
  PROCESS_INFORMATION pi;
  DWORD code = 255;
  /* Its output is not this test's TAP. */
  HANDLE null = CreateFileW (L"NUL", GENERIC_READ | GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &inherit,
                             OPEN_EXISTING, 0, NULL);

  g_assert_true (null != INVALID_HANDLE_VALUE);
  si.hStdInput = si.hStdOutput = si.hStdError = null;
  g_test_message ("smarthostctl.exe %s", args);
  g_assert_true (CreateProcessW (NULL, (wchar_t *) wline, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi));
  g_assert_cmpuint (WaitForSingleObject (pi.hProcess, 120 * 1000), ==, WAIT_OBJECT_0);
  g_assert_true (GetExitCodeProcess (pi.hProcess, &code));
  CloseHandle (pi.hThread);
  CloseHandle (pi.hProcess);
  CloseHandle (null);
  return code;
}

static char *
connector_string (const wchar_t *name)
{
  wchar_t buf[256] = { 0 };
  DWORD size = sizeof buf - sizeof buf[0];
  HKEY key;
  LSTATUS status;

  if (RegOpenKeyExW (HKEY_LOCAL_MACHINE, CONNECTOR_KEY, 0, KEY_READ | KEY_WOW64_32KEY, &key) != ERROR_SUCCESS)
    return NULL;
  status = RegQueryValueExW (key, name, NULL, NULL, (BYTE *) buf, &size);
  RegCloseKey (key);
  return status == ERROR_SUCCESS ? g_utf16_to_utf8 ((const gunichar2 *) buf, -1, NULL, NULL, NULL) : NULL;
}

static void
delete_connector_key (void)
{
  HKEY key;

  if (RegOpenKeyExW (HKEY_LOCAL_MACHINE, CONNECTOR_KEY, 0, KEY_ALL_ACCESS | KEY_WOW64_32KEY, &key) != ERROR_SUCCESS)
    return;
  RegDeleteTreeW (key, NULL);
  RegCloseKey (key);
  RegDeleteKeyExW (HKEY_LOCAL_MACHINE, CONNECTOR_KEY, KEY_WOW64_32KEY, 0);
}

static void
test_smarthostctl (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *state = NULL;
  g_autofree char *args = NULL;
  g_autofree char *server = NULL;
  HKEY key;
  DWORD before;

  if (g_getenv ("SMARTHOSTCTL_EXE") == NULL)
    {
      g_test_skip ("SMARTHOSTCTL_EXE is not set (test-mailenable-service.sh sets it)");
      return;
    }
  delete_connector_key ();
  g_assert_cmpint (RegCreateKeyExW (HKEY_LOCAL_MACHINE, CONNECTOR_KEY, 0, NULL, 0, KEY_ALL_ACCESS | KEY_WOW64_32KEY,
                                    NULL, &key, NULL), ==, ERROR_SUCCESS);
  g_assert_cmpint (RegSetValueExW (key, L"Host Name", 0, REG_SZ, (const BYTE *) L"mail.example.com",
                                   sizeof L"mail.example.com"), ==, ERROR_SUCCESS);
  RegCloseKey (key);
  state = g_dir_make_tmp ("mailenable-service-XXXXXX", &error);
  g_assert_no_error (error);

  /* A change restarts the service, once. */
  before = test_value (L"starts");
  args = g_strdup_printf ("--backend mailenable --option \"state-directory=%s\" set-server smtp.relay-a.example "
                          "--security none --port 25", state);
  g_assert_cmpuint (run_smarthostctl (args), ==, 0);
  g_assert_cmpuint (test_value (L"starts"), ==, before + 1);
  g_assert_cmpuint (service_state (), ==, SERVICE_RUNNING);
  server = connector_string (L"SmartHost Server");
  g_assert_cmpstr (server, ==, "smtp.relay-a.example");
  g_clear_pointer (&server, g_free);
  g_clear_pointer (&args, g_free);

  /* --no-reload: changed, not restarted. */
  args = g_strdup_printf ("--backend mailenable --option \"state-directory=%s\" --no-reload set-server "
                          "smtp.relay-b.example --security none --port 25", state);
  g_assert_cmpuint (run_smarthostctl (args), ==, 0);
  g_assert_cmpuint (test_value (L"starts"), ==, before + 1);
  server = connector_string (L"SmartHost Server");
  g_assert_cmpstr (server, ==, "smtp.relay-b.example");
  g_clear_pointer (&server, g_free);
  g_clear_pointer (&args, g_free);

  /* A restart that fails: exit code 5 (not active), the change stays. */
  set_test_value (L"fail", 1);
  args = g_strdup_printf ("--backend mailenable --option \"state-directory=%s\" set-server smtp.relay-c.example "
                          "--security none --port 25", state);
  g_assert_cmpuint (run_smarthostctl (args), ==, 5);
  set_test_value (L"fail", 0);
  g_assert_cmpuint (test_value (L"starts"), ==, before + 2);
  server = connector_string (L"SmartHost Server");
  g_assert_cmpstr (server, ==, "smtp.relay-c.example");
  /* The service is left running, as the next test expects. */
  restart_ok ();

  /* Only Host Name was there before: the key goes with the test. */
  delete_connector_key ();
  g_assert_cmpint (g_rmdir (state), ==, 0);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/mailenable-service/restart-running", test_restart_running);
  g_test_add_func ("/mailenable-service/restart-fails", test_restart_fails);
  g_test_add_func ("/mailenable-service/cancelled", test_cancelled);
  g_test_add_func ("/mailenable-service/timeout", test_timeout);
  g_test_add_func ("/mailenable-service/cancelled-waiting", test_cancelled_waiting);
  g_test_add_func ("/mailenable-service/not-installed", test_not_installed);
  g_test_add_func ("/mailenable-service/smarthostctl", test_smarthostctl);
  return g_test_run ();
}
