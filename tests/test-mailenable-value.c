/* test-mailenable-value.c: the MailEnable value operation (kind "mailenable-value")
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * On every platform: the preview line, the check, the journal record and
 * its refusals, the secret's file of its old value. On Linux apply fails
 * with NOT_SUPPORTED. On Windows (under Wine): the live registry — a value
 * written, read back, undone, in the 32-bit view and not the 64-bit one.
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#ifdef G_OS_WIN32
# ifndef WIN32_LEAN_AND_MEAN
#  define WIN32_LEAN_AND_MEAN
# endif
# include <windows.h>
#endif

#include "smarthost.h"
#include "smarthost-mailenable-private.h"

typedef struct {
  char *dir;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("test-mailenable-value-XXXXXX", &error);
  g_assert_no_error (error);
}

/* Every file left in the state directory: a test that leaves one fails. */
static guint
count_files (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (d != NULL && g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(GDir) d = g_dir_open (f->dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
}

#define add_test(path, func) \
  g_test_add ((path), Fixture, NULL, fixture_set_up, (func), fixture_tear_down)

/* The one file a prepared secret operation made, or NULL. */
static char *
secret_file (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, "mailenable-old-") && g_str_has_suffix (name, ".value"))
      return g_build_filename (dir, name, NULL);
  return NULL;
}

static char **
rebuild_record (SmarthostOperation  *op,
                const char          *dir,
                SmarthostOperation **rebuilt)
{
  char **record = smarthost_operation_to_record (op);
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (record);
  g_assert_cmpstr (record[0], ==, "mailenable-value");
  *rebuilt = smarthost_operation_new_from_record ((const char * const *) record, dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (*rebuilt);
  g_assert_true (SMARTHOST_IS_MAILENABLE_VALUE_OPERATION (*rebuilt));
  return record;
}

/* --- preview ------------------------------------------------------------------ */

static void
test_describe (Fixture       *f,
               gconstpointer  data)
{
  static const guint8 bin[] = { 0xde, 0xad, 0x01 };
  g_autoptr(GBytes) bytes = g_bytes_new_static (bin, sizeof bin);
  g_autoptr(MeRegValue) host_old = me_reg_value_new_string ("SmartHost", "old.example.net");
  g_autoptr(MeRegValue) host_new = me_reg_value_new_string ("SmartHost", "smtp.example.net");
  g_autoptr(MeRegValue) port = me_reg_value_new_dword ("RemotePort", 587);
  g_autoptr(MeRegValue) blob = me_reg_value_new ("Blob", ME_REG_BINARY, bytes);
  g_autoptr(MeRegValue) pass_old = me_reg_value_new_string ("SmartHostPassword", "hunter2-old");
  g_autoptr(MeRegValue) pass_new = me_reg_value_new_string ("SmartHostPassword", "hunter2-new");
  g_autoptr(MeRegValue) gone = me_reg_value_new_deleted ("SmartHost");
  struct { MeRegValue *old, *new; gboolean secret; const char *expected; } cases[] = {
    { host_old, host_new, FALSE, "set \"SmartHost\" = \"smtp.example.net\" (was: \"old.example.net\")" },
    { NULL, port, FALSE, "set \"RemotePort\" = 587 (was absent)" },
    { NULL, blob, FALSE, "set \"Blob\" = hex(3):de,ad,01 (was absent)" },
    { pass_old, pass_new, TRUE, "set \"SmartHostPassword\" = ******** (was: ********)" },
    { host_old, gone, FALSE, "delete \"SmartHost\" (was: \"old.example.net\")" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(SmarthostOperation) op =
        me_value_operation_new (ME_CONNECTOR_SUBKEY, cases[i].old, cases[i].new, cases[i].secret, f->dir);
      g_autofree char *text = smarthost_operation_describe (op);
      g_autofree char *expected =
        g_strdup_printf ("# HKLM\\%s (32-bit view): %s\n", ME_CONNECTOR_SUBKEY, cases[i].expected);

      g_assert_cmpstr (text, ==, expected);
      g_assert_null (strstr (text, "hunter2"));
    }
}

static void
test_check (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(MeRegValue) value = me_reg_value_new_dword ("RemotePort", 25);
  g_autoptr(SmarthostOperation) ok = me_value_operation_new ("software\\MAIL ENABLE\\Mail Enable\\connectors\\smtp",
                                                             NULL, value, FALSE, f->dir);
  g_autoptr(SmarthostOperation) other = me_value_operation_new ("SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run",
                                                                NULL, value, FALSE, f->dir);
  g_autoptr(GError) error = NULL;

  g_assert_true (smarthost_operation_check (ok, &error));
  g_assert_no_error (error);
  g_assert_false (smarthost_operation_check (other, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "CurrentVersion"));
}

/* --- records ------------------------------------------------------------------ */

static void
test_record_round_trip (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(MeRegValue) port_old = me_reg_value_new_dword ("RemotePort", 25);
  g_autoptr(MeRegValue) port_new = me_reg_value_new_dword ("RemotePort", 587);
  g_autoptr(MeRegValue) host = me_reg_value_new_string ("SmartHost", "smtp.example.net");
  g_autoptr(MeRegValue) pass_old = me_reg_value_new_string ("SmartHostPassword", "hunter2-old");
  g_autoptr(MeRegValue) pass_new = me_reg_value_new_string ("SmartHostPassword", "hunter2-new");
  struct { MeRegValue *old, *new; gboolean secret; guint n_fields; const char *third; } cases[] = {
    { port_old, port_new, FALSE, 5, "4" },
    { NULL, host, FALSE, 4, "absent" },
    { pass_old, pass_new, TRUE, 5, "secret" },
    { NULL, pass_new, TRUE, 4, "absent" },
  };

  g_type_ensure (SMARTHOST_TYPE_MAILENABLE_VALUE_OPERATION);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(SmarthostOperation) op =
        me_value_operation_new (ME_CONNECTOR_SUBKEY, cases[i].old, cases[i].new, cases[i].secret, f->dir);
      g_autoptr(SmarthostOperation) rebuilt = NULL;
      g_auto(GStrv) record = rebuild_record (op, f->dir, &rebuilt);
      g_auto(GStrv) again = smarthost_operation_to_record (rebuilt);
      g_autofree char *joined = g_strjoinv ("|", record);

      g_assert_cmpuint (g_strv_length (record), ==, cases[i].n_fields);
      g_assert_cmpstr (record[1], ==, ME_CONNECTOR_SUBKEY);
      g_assert_cmpstr (record[3], ==, cases[i].third);
      /* What undo needs, never a secret nor the new value. */
      g_assert_null (strstr (joined, "hunter2"));
      g_assert_true (g_strv_equal ((const char * const *) record, (const char * const *) again));
    }
}

static void
test_record_value_fields (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(MeRegValue) port_old = me_reg_value_new_dword ("RemotePort", 0x01020304);
  g_autoptr(MeRegValue) port_new = me_reg_value_new_dword ("RemotePort", 587);
  g_autoptr(SmarthostOperation) op = me_value_operation_new (ME_CONNECTOR_SUBKEY, port_old, port_new, FALSE, f->dir);
  g_auto(GStrv) record = smarthost_operation_to_record (op);

  g_assert_cmpstr (record[2], ==, "RemotePort");
  g_assert_cmpstr (record[3], ==, "4");
  g_assert_cmpstr (record[4], ==, "04030201");
}

/* A name prepare() could have made. */
#define OLD_NAME "mailenable-old-0123456789abcdef0123456789abcdef.value"

static void
test_record_refused (Fixture       *f,
                     gconstpointer  data)
{
  const char *k = ME_CONNECTOR_SUBKEY;
  const char *records[][7] = {
    { "mailenable-value", NULL },
    { "mailenable-value", k, NULL },
    { "mailenable-value", k, "SmartHost", NULL },
    { "mailenable-value", k, "SmartHost", "absent", "extra", NULL },
    { "mailenable-value", k, "SmartHost", "4", NULL },
    { "mailenable-value", k, "SmartHost", "4", "0102", "extra" },
    { "mailenable-value", "SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Run", "x", "absent", NULL },
    { "mailenable-value", "SOFTWARE\\Mail Enable\\Mail Enable\\Connectors", "x", "absent", NULL },
    { "mailenable-value", k, "SmartHost", "four", "0102", NULL },
    { "mailenable-value", k, "SmartHost", "4", "01020", NULL },
    { "mailenable-value", k, "SmartHost", "4", "zz", NULL },
    { "mailenable-value", k, "SmartHost", "4294967296", "00", NULL },
    { "mailenable-value", k, "SmartHost", "secret", "../" OLD_NAME, NULL },
    { "mailenable-value", k, "SmartHost", "secret", "/etc/shadow", NULL },
    { "mailenable-value", k, "SmartHost", "secret", "C:\\Windows\\win.ini", NULL },
    { "mailenable-value", k, "SmartHost", "secret", "sub/" OLD_NAME, NULL },
    { "mailenable-value", k, "SmartHost", "secret", "sub\\" OLD_NAME, NULL },
    { "mailenable-value", k, "SmartHost", "secret", "mailenable-old-..value", NULL },
    { "mailenable-value", k, "SmartHost", "secret", "journal", NULL },
    { "mailenable-value", k, "SmartHost", "secret", "", NULL },
    { "mailenable-value", k, "\xff\xfe", "absent", NULL },
  };
  const char *accepted[] = { "mailenable-value", k, "SmartHost", "secret", OLD_NAME, NULL };
  g_autoptr(SmarthostOperation) op = NULL;
  g_autoptr(GError) error = NULL;

  g_type_ensure (SMARTHOST_TYPE_MAILENABLE_VALUE_OPERATION);
  for (guint i = 0; i < G_N_ELEMENTS (records); i++)
    {
      g_autoptr(SmarthostOperation) refused = NULL;
      g_autoptr(GError) local_error = NULL;

      g_test_message ("record %u", i);
      refused = smarthost_operation_new_from_record (records[i], f->dir, &local_error);
      g_assert_null (refused);
      g_assert_error (local_error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
      g_assert_true (g_str_has_prefix (local_error->message, "journal: a mailenable-value record "));
    }
  op = smarthost_operation_new_from_record (accepted, f->dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (op);
}

/* --- the secret's file ----------------------------------------------------------- */

static SmarthostOperation *
new_secret_operation (const char *dir,
                      const char *old_password,
                      const char *new_password)
{
  g_autoptr(MeRegValue) old = old_password ? me_reg_value_new_string ("SmartHostPassword", old_password) : NULL;
  g_autoptr(MeRegValue) new = me_reg_value_new_string ("SmartHostPassword", new_password);

  return me_value_operation_new (ME_CONNECTOR_SUBKEY, old, new, TRUE, dir);
}

static void
assert_secret_file (const char *path)
{
  g_autofree char *contents = NULL;
  GStatBuf st;

  g_assert_nonnull (path);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
#ifndef G_OS_WIN32
  /* On Windows the secrets DACL stands for the mode, and Wine shows none. */
  g_assert_cmpint (st.st_mode & 07777, ==, 0600);
#endif
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  /* The old data, hex-encoded: not the password as text. */
  g_assert_null (strstr (contents, "hunter2"));
}

static void
test_secret_file (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(SmarthostOperation) op = new_secret_operation (f->dir, "hunter2-old", "hunter2-new");
  g_auto(GStrv) record = smarthost_operation_to_record (op);
  g_autofree char *path = NULL;
  g_autofree char *journal = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (count_files (f->dir), ==, 0);
  g_assert_true (SMARTHOST_OPERATION_GET_CLASS (op)->prepare (op, NULL, &error));
  g_assert_no_error (error);
  path = secret_file (f->dir);
  assert_secret_file (path);
  /* The record names the file by its name alone. */
  g_assert_cmpstr (record[3], ==, "secret");
  journal = g_path_get_basename (path);
  g_assert_cmpstr (record[4], ==, journal);
  SMARTHOST_OPERATION_GET_CLASS (op)->finish (op);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (count_files (f->dir), ==, 0);
}

static void
test_secret_file_exclusive (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(SmarthostOperation) op = new_secret_operation (f->dir, "hunter2-old", "hunter2-new");
  g_auto(GStrv) record = smarthost_operation_to_record (op);
  g_autofree char *planted = g_build_filename (f->dir, record[4], NULL);
  g_autoptr(GError) error = NULL;

  /* A file already there (planted) is never written through. */
  g_assert_true (g_file_set_contents (planted, "planted", -1, NULL));
  g_assert_false (SMARTHOST_OPERATION_GET_CLASS (op)->prepare (op, NULL, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_assert_null (strstr (error->message, "hunter2"));
}

/* A rebuilt secret operation whose file is not there was never prepared:
 * its undo has nothing to do, on any platform. */
static void
test_secret_undo_unprepared (Fixture       *f,
                             gconstpointer  data)
{
  g_autoptr(SmarthostOperation) op = new_secret_operation (f->dir, "hunter2-old", "hunter2-new");
  g_autoptr(SmarthostOperation) rebuilt = NULL;
  g_auto(GStrv) record = rebuild_record (op, f->dir, &rebuilt);
  g_autoptr(GError) error = NULL;

  g_assert_true (SMARTHOST_OPERATION_GET_CLASS (rebuilt)->undo (rebuilt, NULL, &error));
  g_assert_no_error (error);
}

#ifndef G_OS_WIN32
/* --- not on Windows --------------------------------------------------------------- */

static void
test_not_supported (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(SmarthostOperation) op = new_secret_operation (f->dir, "hunter2-old", "hunter2-new");
  g_autoptr(SmarthostOperation) rebuilt = NULL;
  SmarthostOperationClass *klass = SMARTHOST_OPERATION_GET_CLASS (op);
  g_auto(GStrv) record = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (klass->prepare (op, NULL, &error));
  record = rebuild_record (op, f->dir, &rebuilt);
  g_assert_false (klass->apply (op, NULL, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED);
  g_assert_cmpstr (error->message, ==, "the live registry exists only on Windows");
  g_clear_error (&error);
  /* Nothing was written in this process: its undo only cleans up... */
  g_assert_true (klass->undo (op, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_files (f->dir), ==, 0);
  /* ... but one rebuilt from a record would have to write. */
  g_assert_true (klass->prepare (op, NULL, &error));
  g_assert_false (klass->undo (rebuilt, NULL, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED);
  klass->finish (op);
}
#else
/* --- the live registry (Windows, under Wine) ------------------------------------------ */

#define WOW64_PATH L"SOFTWARE\\Wow6432Node\\Mail Enable\\Mail Enable\\Connectors\\SMTP"
#define NATIVE_PATH L"SOFTWARE\\Mail Enable\\Mail Enable\\Connectors\\SMTP"

/* The value of that name in the live key, or NULL. */
static MeRegValue *
live_value (const char *name)
{
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GError) error = NULL;
  gboolean exists = FALSE;

  g_assert_true (me_live_read_key (ME_CONNECTOR_SUBKEY, &values, &exists, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < values->len; i++)
    {
      MeRegValue *v = g_ptr_array_index (values, i);
      if (g_ascii_strcasecmp (v->name, name) == 0)
        return me_reg_value_copy (v);
    }
  return NULL;
}

static void
live_set (const MeRegValue *value)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (me_live_write_value (ME_CONNECTOR_SUBKEY, value, &error));
  g_assert_no_error (error);
}

static void
live_delete (const char *name)
{
  g_autoptr(MeRegValue) gone = me_reg_value_new_deleted (name);

  live_set (gone);
  /* Deleting what is absent is success too. */
  live_set (gone);
}

static gboolean
seen_in_64_bit_view (const wchar_t *path,
                     const wchar_t *name)
{
  HKEY key;
  LONG r = RegOpenKeyExW (HKEY_LOCAL_MACHINE, path, 0, KEY_QUERY_VALUE | KEY_WOW64_64KEY, &key);

  if (r != ERROR_SUCCESS)
    return FALSE;
  r = RegQueryValueExW (key, name, NULL, NULL, NULL, NULL);
  RegCloseKey (key);
  return r == ERROR_SUCCESS;
}

static void
run (SmarthostOperation *op,
     gboolean (*step) (SmarthostOperation *, GCancellable *, GError **))
{
  g_autoptr(GError) error = NULL;

  g_assert_true (step (op, NULL, &error));
  g_assert_no_error (error);
}

static void
test_live_absent_key (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GError) error = NULL;
  gboolean exists = TRUE;

  g_assert_true (me_live_read_key ("SOFTWARE\\libsmarthost-test\\no such key", &values, &exists, &error));
  g_assert_no_error (error);
  g_assert_false (exists);
  g_assert_cmpuint (values->len, ==, 0);
}

static void
test_live_set_and_undo (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(MeRegValue) host = me_reg_value_new_string ("SmartHost", "smtp.example.net");
  g_autoptr(SmarthostOperation) op = NULL;
  g_autoptr(MeRegValue) seen = NULL;
  SmarthostOperationClass *klass;

  live_delete ("SmartHost");
  op = me_value_operation_new (ME_CONNECTOR_SUBKEY, NULL, host, FALSE, f->dir);
  klass = SMARTHOST_OPERATION_GET_CLASS (op);
  run (op, klass->prepare);
  run (op, klass->apply);
  seen = live_value ("SmartHost");
  g_assert_nonnull (seen);
  g_assert_true (me_reg_value_equal (seen, host));
  /* The 32-bit view: WOW6432Node, not the 64-bit key. */
  g_assert_true (seen_in_64_bit_view (WOW64_PATH, L"SmartHost"));
  g_assert_false (seen_in_64_bit_view (NATIVE_PATH, L"SmartHost"));
  run (op, klass->undo);
  g_clear_pointer (&seen, me_reg_value_free);
  g_assert_null ((seen = live_value ("SmartHost")));
  g_assert_false (seen_in_64_bit_view (WOW64_PATH, L"SmartHost"));
  /* Idempotent. */
  run (op, klass->undo);
  g_assert_null ((seen = live_value ("SmartHost")));
}

static void
test_live_types (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GByteArray) big = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(MeRegValue) port_old = me_reg_value_new_dword ("RemotePort", 25);
  g_autoptr(MeRegValue) port_new = me_reg_value_new_dword ("RemotePort", 587);
  g_autoptr(MeRegValue) blob = NULL;
  g_autoptr(MeRegValue) seen = NULL;
  g_autoptr(SmarthostOperation) op = NULL;
  g_autoptr(SmarthostOperation) rebuilt = NULL;
  g_auto(GStrv) record = NULL;
  guint32 number = 0;

  /* A binary value of 200 KiB: read through a buffer that grows. */
  for (guint i = 0; i < 200 * 1024; i++)
    g_byte_array_append (big, (const guint8 *) &"\x01\x02\x03\x05\x07"[i % 5], 1);
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&big));
  blob = me_reg_value_new ("Blob", ME_REG_BINARY, bytes);
  live_set (blob);
  seen = live_value ("Blob");
  g_assert_true (me_reg_value_equal (seen, blob));
  live_delete ("Blob");
  g_clear_pointer (&seen, me_reg_value_free);

  /* A number changed, then undone by an operation rebuilt from its record. */
  live_set (port_old);
  op = me_value_operation_new (ME_CONNECTOR_SUBKEY, port_old, port_new, FALSE, f->dir);
  record = rebuild_record (op, f->dir, &rebuilt);
  run (op, SMARTHOST_OPERATION_GET_CLASS (op)->prepare);
  run (op, SMARTHOST_OPERATION_GET_CLASS (op)->apply);
  seen = live_value ("RemotePort");
  g_assert_true (me_reg_value_get_dword (seen, &number, NULL));
  g_assert_cmpuint (number, ==, 587);
  run (rebuilt, SMARTHOST_OPERATION_GET_CLASS (rebuilt)->undo);
  g_clear_pointer (&seen, me_reg_value_free);
  seen = live_value ("RemotePort");
  g_assert_true (me_reg_value_equal (seen, port_old));
  live_delete ("RemotePort");
}

static void
test_live_secret (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(MeRegValue) old = me_reg_value_new_string ("SmartHostPassword", "hunter2-old");
  g_autoptr(MeRegValue) new = me_reg_value_new_string ("SmartHostPassword", "hunter2-new");
  g_autoptr(SmarthostOperation) op = me_value_operation_new (ME_CONNECTOR_SUBKEY, old, new, TRUE, f->dir);
  g_autoptr(SmarthostOperation) second = me_value_operation_new (ME_CONNECTOR_SUBKEY, old, new, TRUE, f->dir);
  g_autoptr(SmarthostOperation) rebuilt = NULL;
  SmarthostOperationClass *klass = SMARTHOST_OPERATION_GET_CLASS (op);
  g_auto(GStrv) record = NULL;
  g_autofree char *path = NULL;
  g_autoptr(MeRegValue) seen = NULL;

  live_set (old);
  record = rebuild_record (op, f->dir, &rebuilt);
  run (op, klass->prepare);
  path = secret_file (f->dir);
  assert_secret_file (path);
  run (op, klass->apply);
  seen = live_value ("SmartHostPassword");
  g_assert_true (me_reg_value_equal (seen, new));
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  /* As after a crash: the rebuilt operation reads the old data from its
   * file, puts it back and removes the file. */
  run (rebuilt, klass->undo);
  g_clear_pointer (&seen, me_reg_value_free);
  seen = live_value ("SmartHostPassword");
  g_assert_true (me_reg_value_equal (seen, old));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  run (rebuilt, klass->undo);

  /* A commit that goes through: the file is gone after finish. */
  g_clear_pointer (&path, g_free);
  run (second, klass->prepare);
  path = secret_file (f->dir);
  assert_secret_file (path);
  run (second, klass->apply);
  klass->finish (second);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_clear_pointer (&seen, me_reg_value_free);
  seen = live_value ("SmartHostPassword");
  g_assert_true (me_reg_value_equal (seen, new));
  live_delete ("SmartHostPassword");
  g_assert_cmpuint (count_files (f->dir), ==, 0);
}
#endif

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  add_test ("/mailenable-value/describe", test_describe);
  add_test ("/mailenable-value/check", test_check);
  add_test ("/mailenable-value/record/round-trip", test_record_round_trip);
  add_test ("/mailenable-value/record/value-fields", test_record_value_fields);
  add_test ("/mailenable-value/record/refused", test_record_refused);
  add_test ("/mailenable-value/secret/file", test_secret_file);
  add_test ("/mailenable-value/secret/exclusive", test_secret_file_exclusive);
  add_test ("/mailenable-value/secret/undo-unprepared", test_secret_undo_unprepared);
#ifndef G_OS_WIN32
  add_test ("/mailenable-value/not-supported", test_not_supported);
#else
  add_test ("/mailenable-value/live/absent-key", test_live_absent_key);
  add_test ("/mailenable-value/live/set-and-undo", test_live_set_and_undo);
  add_test ("/mailenable-value/live/types", test_live_types);
  add_test ("/mailenable-value/live/secret", test_live_secret);
#endif
  return g_test_run ();
}
