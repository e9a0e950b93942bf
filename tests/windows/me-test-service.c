/* me-test-service.c: a Windows service that stands in for MailEnable's MESMTPCS
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Registered under Wine by test-mailenable-service.sh (sc create), so that
 * me_service_restart() has a real service to stop and start. Each time its
 * ServiceMain runs it adds 1 to the DWORD HKLM\SOFTWARE\libsmarthost-test
 * "starts", which proves a restart happened. When the DWORD "fail" there is
 * 1, it reports SERVICE_STOPPED with the service-specific exit code 42
 * instead of running, as a service that cannot start does.
 *
 * Plain Win32 (no GLib): the Service Control Manager starts it with
 * nothing of the test's environment.
 */
#ifndef WIN32_LEAN_AND_MEAN
# define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#define TEST_KEY L"SOFTWARE\\libsmarthost-test"
#define FAIL_EXIT_CODE 42

static SERVICE_STATUS_HANDLE status_handle;
static SERVICE_STATUS status;
static HANDLE stop_event;

static void
report (DWORD state,
        DWORD specific_exit_code)
{
  status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  status.dwCurrentState = state;
  status.dwControlsAccepted = state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
  status.dwWin32ExitCode = specific_exit_code ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR;
  status.dwServiceSpecificExitCode = specific_exit_code;
  status.dwWaitHint = state == SERVICE_RUNNING || state == SERVICE_STOPPED ? 0 : 3000;
  SetServiceStatus (status_handle, &status);
}

/* Adds 1 to "starts"; returns "fail". */
static DWORD
count_start (void)
{
  HKEY key;
  DWORD starts = 0, fail = 0, size = sizeof starts;

  if (RegCreateKeyExW (HKEY_LOCAL_MACHINE, TEST_KEY, 0, NULL, REG_OPTION_NON_VOLATILE,
                       KEY_QUERY_VALUE | KEY_SET_VALUE, NULL, &key, NULL) != ERROR_SUCCESS)
    return 0;
  RegQueryValueExW (key, L"starts", NULL, NULL, (BYTE *) &starts, &size);
  starts++;
  RegSetValueExW (key, L"starts", 0, REG_DWORD, (const BYTE *) &starts, sizeof starts);
  size = sizeof fail;
  if (RegQueryValueExW (key, L"fail", NULL, NULL, (BYTE *) &fail, &size) != ERROR_SUCCESS)
    fail = 0;
  RegCloseKey (key);
  return fail;
}

static DWORD WINAPI
handler (DWORD  control,
         DWORD  event_type,
         LPVOID event_data,
         LPVOID context)
{
  switch (control)
    {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
      report (SERVICE_STOP_PENDING, 0);
      SetEvent (stop_event);
      return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
      return NO_ERROR;
    default:
      return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

static void WINAPI
service_main (DWORD   argc,
              LPWSTR *argv)
{
  status_handle = RegisterServiceCtrlHandlerExW (argc > 0 ? argv[0] : L"MESMTPCS", handler, NULL);
  if (status_handle == NULL)
    return;
  report (SERVICE_START_PENDING, 0);
  if (count_start () == 1)
    {
      report (SERVICE_STOPPED, FAIL_EXIT_CODE);
      return;
    }
  stop_event = CreateEventW (NULL, TRUE, FALSE, NULL);
  report (SERVICE_RUNNING, 0);
  WaitForSingleObject (stop_event, INFINITE);
  CloseHandle (stop_event);
  report (SERVICE_STOPPED, 0);
}

int
main (void)
{
  SERVICE_TABLE_ENTRYW table[] = {
    { (LPWSTR) L"MESMTPCS", service_main },
    { NULL, NULL },
  };

  return StartServiceCtrlDispatcherW (table) ? 0 : 1;
}
