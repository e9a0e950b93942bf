/* me-test-service.c: a Windows service that stands in for MailEnable's MESMTPCS
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Registered under Wine by test-mailenable-service.sh (sc create), so that
 * me_service_restart() has a real service to stop and start. Each time its
 * ServiceMain runs it adds 1 to the DWORD HKLM\SOFTWARE\libsmarthost-test
 * "starts", which proves a restart happened. When the DWORD "fail" there is
 * 1, it reports SERVICE_STOPPED with the service-specific exit code 42
 * instead of running, as a service that cannot start does. When the DWORD
 * "slow_stop" is N > 0, it takes N seconds to stop (STOP_PENDING meanwhile),
 * for the tests of timeouts and cancellation.
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

static DWORD
read_dword (HKEY           key,
            const wchar_t *name)
{
  DWORD value = 0, size = sizeof value;

  if (RegQueryValueExW (key, name, NULL, NULL, (BYTE *) &value, &size) != ERROR_SUCCESS)
    return 0;
  return value;
}

/* Adds 1 to "starts" when @count; returns the DWORD @name. */
static DWORD
test_key (BOOL           count,
          const wchar_t *name)
{
  HKEY key;
  DWORD value;

  if (RegCreateKeyExW (HKEY_LOCAL_MACHINE, TEST_KEY, 0, NULL, REG_OPTION_NON_VOLATILE,
                       KEY_QUERY_VALUE | KEY_SET_VALUE, NULL, &key, NULL) != ERROR_SUCCESS)
    return 0;
  if (count)
    {
      DWORD starts = read_dword (key, L"starts") + 1;
      RegSetValueExW (key, L"starts", 0, REG_DWORD, (const BYTE *) &starts, sizeof starts);
    }
  value = read_dword (key, name);
  RegCloseKey (key);
  return value;
}

static DWORD WINAPI
stop_later (LPVOID seconds)
{
  Sleep ((DWORD) (ULONG_PTR) seconds * 1000);
  SetEvent (stop_event);
  return 0;
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
      {
        DWORD slow = test_key (FALSE, L"slow_stop");
        HANDLE thread;

        report (SERVICE_STOP_PENDING, 0);
        if (slow == 0 || (thread = CreateThread (NULL, 0, stop_later, (LPVOID) (ULONG_PTR) slow, 0, NULL)) == NULL)
          SetEvent (stop_event);
        else
          CloseHandle (thread);
        return NO_ERROR;
      }
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
  if (test_key (TRUE, L"fail") == 1)
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
