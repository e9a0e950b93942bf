/* test-platform-windows.c: the Windows side of smarthost-platform-private.h
 * that Wine can show
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Trusted directories (_smarthost_check_trusted_directory): the owner and
 * the DACL that GetNamedSecurityInfoW reads. Wine makes a descriptor up
 * from the Unix mode, with the running user as owner, and turns a DACL
 * that SetSecurityInfo sets into the mode (see the implementation notes
 * of smarthost-platform-windows.c): a directory of our own passes, one
 * whose DACL lets Everyone add files is refused. The owner check cannot
 * fail under Wine (the owner is always the running user).
 */
#include "config.h"

#include <string.h>

#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

#include <glib/gstdio.h>

#include "smarthost.h"
#include "smarthost-files-private.h"

typedef struct {
  char *dir;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("test-platform-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_rmdir (f->dir);
  g_free (f->dir);
}

/* Gives @path the DACL of @sddl (protected: nothing inherited). */
static void
set_dacl (const char *path,
          const char *sddl)
{
  g_autofree gunichar2 *wpath = g_utf8_to_utf16 (path, -1, NULL, NULL, NULL);
  g_autofree gunichar2 *wsddl = g_utf8_to_utf16 (sddl, -1, NULL, NULL, NULL);
  PSECURITY_DESCRIPTOR sd = NULL;
  PACL dacl = NULL;
  BOOL present = FALSE, defaulted = FALSE;
  DWORD r;

  g_assert_true (ConvertStringSecurityDescriptorToSecurityDescriptorW (wsddl, SDDL_REVISION_1, &sd, NULL));
  g_assert_true (GetSecurityDescriptorDacl (sd, &present, &dacl, &defaulted));
  r = SetNamedSecurityInfoW (wpath, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                             NULL, NULL, dacl, NULL);
  LocalFree (sd);
  g_assert_cmpuint (r, ==, ERROR_SUCCESS);
}

static void
assert_refused (const char *dir,
                const char *expected)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (_smarthost_check_trusted_directory (dir, "the directory", &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, expected));
}

static void
test_trusted_own (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  /* As Wine makes it (the running user's, mode 0700). */
  g_assert_true (_smarthost_check_trusted_directory (f->dir, "the directory", &error));
  g_assert_no_error (error);
  /* The secrets DACL that state directories get. */
  set_dacl (f->dir, "D:P(A;;FA;;;SY)(A;;FA;;;BA)");
  g_assert_true (_smarthost_check_trusted_directory (f->dir, "the directory", &error));
  g_assert_no_error (error);
  /* Others may read and list. */
  set_dacl (f->dir, "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FR;;;BU)(A;;FR;;;WD)");
  g_assert_true (_smarthost_check_trusted_directory (f->dir, "the directory", &error));
  g_assert_no_error (error);
}

static void
test_trusted_others_write (Fixture       *f,
                           gconstpointer  data)
{
  set_dacl (f->dir, "D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FA;;;WD)");
  assert_refused (f->dir, "writable by Everyone");
}

static void
test_trusted_not_directory (Fixture       *f,
                            gconstpointer  data)
{
  g_autofree char *file = g_build_filename (f->dir, "file", NULL);

  g_assert_true (g_file_set_contents (file, "x", 1, NULL));
  assert_refused (file, "is not a directory");
  g_unlink (file);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/platform-windows/trusted/own", Fixture, NULL, fixture_set_up, test_trusted_own, fixture_tear_down);
  g_test_add ("/platform-windows/trusted/others-write", Fixture, NULL, fixture_set_up, test_trusted_others_write,
              fixture_tear_down);
  g_test_add ("/platform-windows/trusted/not-directory", Fixture, NULL, fixture_set_up, test_trusted_not_directory,
              fixture_tear_down);
  return g_test_run ();
}
