/* test-mailenable-reg.c: registry values and .reg files (smarthost-mailenable-reg.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#ifndef G_OS_WIN32
#include <sys/stat.h>
#include <unistd.h>
#endif

#include "smarthost-error.h"
#include "smarthost-mailenable-private.h"

#define SMTP_KEY "HKEY_LOCAL_MACHINE\\SOFTWARE\\Wow6432Node\\Mail Enable\\Mail Enable\\Connectors\\SMTP"
#define SECRET   "S3cret-data"

/* The bytes regedit /E writes for @utf8: a byte-order mark, then UTF-16LE. */
static GBytes *
utf16le_file (const char *utf8)
{
  glong n = 0;
  g_autofree gunichar2 *units = g_utf8_to_utf16 (utf8, -1, NULL, &n, NULL);
  GByteArray *out = g_byte_array_new ();

  g_assert_nonnull (units);
  g_byte_array_append (out, (const guint8 *) "\xff\xfe", 2);
  for (glong i = 0; i < n; i++)
    {
      guint8 pair[2] = { units[i] & 0xff, units[i] >> 8 };
      g_byte_array_append (out, pair, 2);
    }
  return g_byte_array_free_to_bytes (out);
}

static MeRegFile *
parse_ok (const char *data,
          gssize      len)
{
  g_autoptr(GError) error = NULL;
  MeRegFile *file = me_reg_file_parse (data, len < 0 ? strlen (data) : (gsize) len, &error);

  g_assert_no_error (error);
  g_assert_nonnull (file);
  return file;
}

static MeRegFile *
parse_bytes_ok (GBytes *bytes)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);

  return parse_ok (data, (gssize) len);
}

/* The data of a value, as lowercase hex without separators. */
static char *
hex_of (const MeRegValue *value)
{
  gsize len;
  const guint8 *b = g_bytes_get_data (value->data, &len);
  GString *out = g_string_new (NULL);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (out, "%02x", b[i]);
  return g_string_free (out, FALSE);
}

static void
assert_value (MeRegKey   *key,
              const char *name,
              guint32     type,
              const char *hex)
{
  MeRegValue *value = me_reg_key_find_value (key, name);
  g_autofree char *found = NULL;

  g_assert_nonnull (value);
  g_assert_false (value->deleted);
  g_assert_cmpuint (value->type, ==, type);
  found = hex_of (value);
  g_assert_cmpstr (found, ==, hex);
}

static void
assert_string (MeRegKey   *key,
               const char *name,
               const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  g_assert_true (me_reg_value_get_string (me_reg_key_find_value (key, name), &text, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (text, ==, expected);
}

static void
assert_files_equal (MeRegFile *a,
                    MeRegFile *b)
{
  g_assert_cmpuint (a->keys->len, ==, b->keys->len);
  for (guint i = 0; i < a->keys->len; i++)
    {
      MeRegKey *ka = g_ptr_array_index (a->keys, i);
      MeRegKey *kb = g_ptr_array_index (b->keys, i);

      g_assert_cmpstr (ka->path, ==, kb->path);
      g_assert_cmpint (ka->deleted, ==, kb->deleted);
      g_assert_cmpuint (ka->values->len, ==, kb->values->len);
      for (guint j = 0; j < ka->values->len; j++)
        g_assert_true (me_reg_value_equal (g_ptr_array_index (ka->values, j), g_ptr_array_index (kb->values, j)));
    }
  g_assert_cmpuint (a->comments->len, ==, b->comments->len);
  for (guint i = 0; i < a->comments->len; i++)
    g_assert_cmpstr (g_ptr_array_index (a->comments, i), ==, g_ptr_array_index (b->comments, i));
}

/* A file parsed, written as regedit writes it, and parsed again. */
static void
assert_round_trip (MeRegFile *file)
{
  g_autoptr(GBytes) bytes = me_reg_file_to_bytes (file);
  g_autoptr(MeRegFile) again = parse_bytes_ok (bytes);

  g_assert_cmpint (again->encoding, ==, ME_REG_ENCODING_UTF16LE);
  g_assert_cmpuint (again->version, ==, 5);
  assert_files_equal (file, again);
}

/* What MailEnable's connector key looks like in `regedit /E`, CRLF. */
static const char export_text[] =
  "Windows Registry Editor Version 5.00\r\n"
  "\r\n"
  "[" SMTP_KEY "]\r\n"
  "\"SmartHost\"=\"smtp.example.net\"\r\n"
  "\"SmartHostPort\"=dword:0000024b\r\n"
  "\"SmartHostAuthUsername\"=\"relay@example.org\"\r\n"
  "\"SmartHostAuthPassword\"=\"" SECRET "\"\r\n"
  "\"Greeting\"=\"Grüße ✓ \\\"quoted\\\" C:\\\\Mail\"\r\n"
  "@=\"default\"\r\n"
  "\"LogPath\"=hex(2):43,00,3a,00,5c,00,4c,00,6f,00,67,00,73,00,00,00\r\n"
  "\"Lines\"=hex(7):61,00,00,00,62,00,00,00,00,00\r\n"
  "\"Blob\"=hex:00,01,02,03,04,05,06,07,08,09,0a,0b,0c,0d,0e,0f,10,11,12,13,14,15,\\\r\n"
  "  16,17,18,19,1a\r\n"
  "\"Big\"=hex(b):01,00,00,00,00,00,00,00\r\n"
  "\"Nothing\"=hex(0):\r\n"
  "\r\n"
  "[" SMTP_KEY "\\Sub]\r\n"
  "\"Old\"=-\r\n"
  "\r\n"
  "[-HKEY_CURRENT_USER\\Software\\Gone]\r\n"
  "\r\n";

static void
check_export (MeRegFile *file)
{
  MeRegKey *key;
  guint32 port = 0;
  g_autoptr(GError) error = NULL;

  g_assert_cmpuint (file->version, ==, 5);
  g_assert_cmpuint (file->keys->len, ==, 3);
  key = me_reg_file_find_key (file, SMTP_KEY);
  g_assert_nonnull (key);
  g_assert_true (key == me_reg_file_find_key (file, "hkey_local_machine\\software\\WOW6432NODE\\mail enable\\"
                                                    "mail enable\\connectors\\smtp"));
  g_assert_cmpuint (key->line, ==, 3);
  g_assert_false (key->deleted);
  g_assert_cmpuint (key->values->len, ==, 11);
  assert_string (key, "SmartHost", "smtp.example.net");
  assert_value (key, "SmartHost", ME_REG_SZ,
                "73006d00740070002e006500780061006d0070006c0065002e006e0065007400" "0000");
  g_assert_true (me_reg_value_get_dword (me_reg_key_find_value (key, "smarthostport"), &port, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (port, ==, 587);
  g_assert_cmpuint (me_reg_key_find_value (key, "SmartHostPort")->line, ==, 5);
  assert_value (key, "SmartHostPort", ME_REG_DWORD, "4b020000");
  assert_string (key, "SmartHostAuthPassword", SECRET);
  assert_string (key, "Greeting", "Grüße ✓ \"quoted\" C:\\Mail");
  assert_string (key, "", "default");
  assert_string (key, "LogPath", "C:\\Logs");
  assert_value (key, "LogPath", ME_REG_EXPAND_SZ, "43003a005c004c006f00670073000000");
  assert_value (key, "Lines", ME_REG_MULTI_SZ, "61000000620000000000");
  assert_value (key, "Blob", ME_REG_BINARY, "000102030405060708090a0b0c0d0e0f101112131415161718191a");
  assert_value (key, "Big", ME_REG_QWORD, "0100000000000000");
  assert_value (key, "Nothing", ME_REG_NONE, "");

  key = g_ptr_array_index (file->keys, 1);
  g_assert_cmpuint (key->values->len, ==, 1);
  g_assert_true (me_reg_key_find_value (key, "old")->deleted);
  g_assert_null (me_reg_key_find_value (key, "old")->data);
  key = g_ptr_array_index (file->keys, 2);
  g_assert_true (key->deleted);
  g_assert_cmpstr (key->path, ==, "HKEY_CURRENT_USER\\Software\\Gone");
  g_assert_null (me_reg_file_find_key (file, "HKEY_CURRENT_USER\\Software"));
}

static void
test_parse_utf16 (void)
{
  g_autoptr(GBytes) bytes = utf16le_file (export_text);
  g_autoptr(MeRegFile) file = parse_bytes_ok (bytes);

  g_assert_cmpint (file->encoding, ==, ME_REG_ENCODING_UTF16LE);
  check_export (file);
  assert_round_trip (file);
}

static void
test_parse_utf8 (void)
{
  g_autofree char *with_bom = g_strconcat ("\xef\xbb\xbf", export_text, NULL);
  g_autoptr(GString) lf = g_string_new (export_text);
  g_autoptr(MeRegFile) plain = parse_ok (export_text, -1);
  g_autoptr(MeRegFile) bom = parse_ok (with_bom, -1);
  g_autoptr(MeRegFile) unix_ends = NULL;

  g_assert_cmpint (plain->encoding, ==, ME_REG_ENCODING_UTF8);
  g_assert_cmpint (bom->encoding, ==, ME_REG_ENCODING_UTF8);
  check_export (plain);
  check_export (bom);
  g_string_replace (lf, "\r\n", "\n", 0);
  unix_ends = parse_ok (lf->str, -1);
  check_export (unix_ends);
  assert_round_trip (unix_ends);
}

static void
test_parse_lone_cr (void)
{
  g_autoptr(MeRegFile) file = parse_ok ("REGEDIT4\r\r[HKEY_USERS\\x]\r\"a\"=dword:1\r\"b\"=hex:01,\\\r  02\r", -1);
  MeRegKey *key = g_ptr_array_index (file->keys, 0);

  g_assert_cmpuint (key->line, ==, 3);
  g_assert_cmpuint (me_reg_key_find_value (key, "b")->line, ==, 5);
  assert_value (key, "a", ME_REG_DWORD, "01000000");
  assert_value (key, "b", ME_REG_BINARY, "0102");
}

static void
test_parse_regedit4 (void)
{
  g_autoptr(MeRegFile) file = parse_ok ("REGEDIT4\n"
                                        "\n"
                                        "[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\n"
                                        "\"Text\"=\"Grüße\"\n"
                                        "\"Expand\"=hex(2):25,54,45,4d,50,25,00\n"
                                        "\"Multi\"=hex(7):61,00,62,00,00\n"
                                        "\"Sz\"=hex(1):61,62,00\n"
                                        "\"Bin\"=hex:ff,80\n", -1);
  MeRegKey *key = g_ptr_array_index (file->keys, 0);

  g_assert_cmpuint (file->version, ==, 4);
  assert_string (key, "Text", "Grüße");
  assert_value (key, "Expand", ME_REG_EXPAND_SZ, "2500540045004d00500025000000");
  assert_string (key, "Expand", "%TEMP%");
  assert_value (key, "Multi", ME_REG_MULTI_SZ, "61000000620000000000");
  assert_value (key, "Sz", ME_REG_SZ, "610062000000");
  assert_value (key, "Bin", ME_REG_BINARY, "ff80");
  assert_round_trip (file);
}

static void
test_parse_forms (void)
{
  g_autoptr(MeRegFile) file = parse_ok ("Windows Registry Editor Version 5.00   \n"
                                        "; first comment\n"
                                        "   ;second \n"
                                        "\t\n"
                                        "[hkey_classes_root\\.reg]   \n"
                                        "  \"Spaced\" = dword:ABCDEF01  \n"
                                        "\"Esc\"=\"a\\nb\\rc\\\\d\\\"e\"\n"
                                        "\"Name \\\"with\\\" quotes\"=\"x\"\n"
                                        "\"Cont\"=hex(7):61,00,\\\n"
                                        "     62 ,00,00,\\\n"
                                        "\n"
                                        "\"Short\"=dword:7\n"
                                        "\"Empty\"=hex:\n"
                                        "\"OneDigit\"=HEX(4):1,2,3,4\n"
                                        "\"Type\"=hex(ffffffff):aa\n"
                                        "\"\"=\"empty name\"\n", -1);
  MeRegKey *key = g_ptr_array_index (file->keys, 0);
  g_autofree char *text = me_reg_file_to_text (file, NULL, FALSE);
  g_autoptr(GError) error = NULL;
  guint32 n = 0;

  g_assert_cmpuint (file->comments->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (file->comments, 0), ==, "first comment");
  g_assert_cmpstr (g_ptr_array_index (file->comments, 1), ==, "second ");
  assert_value (key, "Spaced", ME_REG_DWORD, "01efcdab");
  assert_string (key, "Esc", "a\nb\rc\\d\"e");
  assert_string (key, "Name \"with\" quotes", "x");
  assert_value (key, "Cont", ME_REG_MULTI_SZ, "6100620000");
  g_assert_cmpuint (me_reg_key_find_value (key, "Short")->line, ==, 12);
  assert_value (key, "Short", ME_REG_DWORD, "07000000");
  assert_value (key, "Empty", ME_REG_BINARY, "");
  assert_value (key, "OneDigit", ME_REG_DWORD, "01020304");
  g_assert_true (me_reg_value_get_dword (me_reg_key_find_value (key, "OneDigit"), &n, &error));
  g_assert_cmpuint (n, ==, 0x04030201);
  assert_value (key, "Type", 0xffffffffu, "aa");
  assert_string (key, "", "empty name");
  /* "" is the default value, written as @. */
  g_assert_nonnull (strstr (text, "\n@=\"empty name\"\n"));
  g_assert_nonnull (strstr (text, "\n\"OneDigit\"=dword:04030201\n"));
  g_assert_nonnull (strstr (text, "\n\"Type\"=hex(ffffffff):aa\n"));
  assert_round_trip (file);
}

static void
test_comments (void)
{
  g_autoptr(MeRegFile) file = parse_ok ("REGEDIT4\n;\n; \n;  two\n\t; tab \n[HKEY_USERS\\x]\n;in a key\n", -1);
  g_autofree char *text = me_reg_file_to_text (file, NULL, FALSE);
  const char * const expected[] = { "", "", " two", "tab ", "in a key" };

  g_assert_cmpuint (file->comments->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    g_assert_cmpstr (g_ptr_array_index (file->comments, i), ==, expected[i]);
  g_assert_cmpstr (text, ==, "Windows Registry Editor Version 5.00\n\n;\n;\n;  two\n; tab \n; in a key\n"
                             "[HKEY_USERS\\x]\n\n");
  assert_round_trip (file);
}

static void
test_write (void)
{
  g_autoptr(MeRegFile) file = me_reg_file_new ();
  MeRegKey *key = me_reg_file_add_key (file, SMTP_KEY);
  MeRegKey *gone = me_reg_file_add_key (file, "HKEY_CURRENT_USER\\Software\\Gone");
  guint8 blob[40];
  g_autoptr(GBytes) blob_bytes = NULL;
  g_autofree char *text = NULL;
  g_autofree char *crlf = NULL;
  g_autofree char *masked_text = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const char * const masked[] = { "smarthostauthpassword", NULL };
  g_autoptr(GString) expected_crlf = NULL;
  g_auto(GStrv) lines = NULL;
  static const char expected[] =
    "Windows Registry Editor Version 5.00\n"
    "\n"
    "; written by a test\n"
    "[" SMTP_KEY "]\n"
    "\"SmartHost\"=\"smtp.example.net\"\n"
    "\"Quoted\"=\"C:\\\\x \\\"y\\\"\"\n"
    "@=\"\"\n"
    "\"SmartHostPort\"=dword:0000024b\n"
    "\"SmartHostAuthPassword\"=\"" SECRET "\"\n"
    "\"Banner\"=hex(1):61,00,0a,00,62,00,00,00\n"
    "\"Blob\"=hex:00,01,02,03,04,05,06,07,08,09,0a,0b,0c,0d,0e,0f,10,11,12,13,14,15,\\\n"
    "  16,17,18,19,1a,1b,1c,1d,1e,1f,20,21,22,23,24,25,26,27\n"
    "\"Old\"=-\n"
    "\n"
    "[-HKEY_CURRENT_USER\\Software\\Gone]\n"
    "\n";

  for (guint i = 0; i < sizeof blob; i++)
    blob[i] = (guint8) i;
  blob_bytes = g_bytes_new (blob, sizeof blob);
  g_ptr_array_add (file->comments, g_strdup ("written by a test"));
  me_reg_key_add_value (key, me_reg_value_new_string ("SmartHost", "smtp.example.net"));
  me_reg_key_add_value (key, me_reg_value_new_string ("Quoted", "C:\\x \"y\""));
  me_reg_key_add_value (key, me_reg_value_new_string ("", ""));
  me_reg_key_add_value (key, me_reg_value_new_dword ("SmartHostPort", 587));
  me_reg_key_add_value (key, me_reg_value_new_string ("SmartHostAuthPassword", SECRET));
  me_reg_key_add_value (key, me_reg_value_new_string ("Banner", "a\nb"));
  me_reg_key_add_value (key, me_reg_value_new ("Blob", ME_REG_BINARY, blob_bytes));
  me_reg_key_add_value (key, me_reg_value_new_deleted ("Old"));
  gone->deleted = TRUE;

  text = me_reg_file_to_text (file, NULL, FALSE);
  g_assert_cmpstr (text, ==, expected);
  lines = g_strsplit (text, "\n", -1);
  /* Values are wrapped; a key path cannot be. */
  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '[')
      g_assert_cmpuint (g_utf8_strlen (lines[i], -1), <=, 80);

  crlf = me_reg_file_to_text (file, NULL, TRUE);
  expected_crlf = g_string_new (expected);
  g_string_replace (expected_crlf, "\n", "\r\n", 0);
  g_assert_cmpstr (crlf, ==, expected_crlf->str);

  masked_text = me_reg_file_to_text (file, masked, FALSE);
  g_assert_null (strstr (masked_text, SECRET));
  g_assert_nonnull (strstr (masked_text, "\n\"SmartHostAuthPassword\"=\"********\"\n"));

  /* The bytes: FF FE, then the CRLF text as UTF-16LE. */
  bytes = me_reg_file_to_bytes (file);
  {
    g_autoptr(GBytes) wanted = utf16le_file (expected_crlf->str);
    g_assert_true (g_bytes_equal (bytes, wanted));
  }
  assert_round_trip (file);
}

static void
test_write_wrap (void)
{
  g_autoptr(MeRegFile) file = me_reg_file_new ();
  MeRegKey *key = me_reg_file_add_key (file, "HKEY_USERS\\x");
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  guint8 blob[300];
  g_autoptr(GBytes) blob_bytes = NULL;

  for (guint i = 0; i < sizeof blob; i++)
    blob[i] = (guint8) (i * 7);
  blob_bytes = g_bytes_new (blob, sizeof blob);
  /* Names of 0 to 39 characters, of several types: every column the
   * first byte can start at. */
  for (guint n = 0; n < 40; n++)
    {
      g_autofree char *name = g_strnfill (n, 'n');
      me_reg_key_add_value (key, me_reg_value_new (name, n < 39 ? 3 + n % 9 : 0x12345, blob_bytes));
    }
  text = me_reg_file_to_text (file, NULL, FALSE);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_assert_cmpuint (strlen (lines[i]), <=, 80);
      if (g_str_has_prefix (lines[i], "  "))
        g_assert_true (g_str_has_suffix (lines[i - 1], ",\\"));
    }
  assert_round_trip (file);
}

/* A typed read that fails: the message, whole, and no data in it. */
static void
assert_read_fails (const MeRegValue *value,
                   gboolean          as_string,
                   const char       *expected)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  guint32 n = 0;

  if (as_string)
    g_assert_false (me_reg_value_get_string (value, &text, &error));
  else
    g_assert_false (me_reg_value_get_dword (value, &n, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_null (text);
}

static void
test_value_reads (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  guint32 n = 0;
  g_autoptr(MeRegValue) str = me_reg_value_new_string ("SmartHostAuthPassword", SECRET);
  g_autoptr(MeRegValue) copy = me_reg_value_copy (str);
  g_autoptr(MeRegValue) other_case = me_reg_value_new_string ("smarthostauthpassword", SECRET);
  g_autoptr(MeRegValue) dword = me_reg_value_new_dword ("Port", 25);
  g_autoptr(MeRegValue) deleted = me_reg_value_new_deleted ("Port");
  g_autoptr(GBytes) no_nul_bytes = g_bytes_new ("a\0b\0", 4);
  g_autoptr(MeRegValue) no_nul = me_reg_value_new ("X", ME_REG_EXPAND_SZ, no_nul_bytes);
  g_autoptr(GBytes) odd_bytes = g_bytes_new ("a\0b", 3);
  g_autoptr(MeRegValue) odd = me_reg_value_new ("X", ME_REG_SZ, odd_bytes);
  g_autoptr(GBytes) inner_bytes = g_bytes_new ("a\0\0\0b\0\0\0", 8);
  g_autoptr(MeRegValue) inner = me_reg_value_new ("X", ME_REG_SZ, inner_bytes);
  g_autoptr(GBytes) lone_bytes = g_bytes_new ("\x00\xd8\0\0", 4);
  g_autoptr(MeRegValue) lone = me_reg_value_new ("X", ME_REG_SZ, lone_bytes);
  g_autoptr(GBytes) short_bytes = g_bytes_new ("\1\2\3", 3);
  g_autoptr(MeRegValue) short_dword = me_reg_value_new ("Port", ME_REG_DWORD, short_bytes);
  g_autoptr(MeRegValue) odd_type = me_reg_value_new ("", 0x12345678, short_bytes);
  g_autoptr(MeRegFile) file = parse_ok ("REGEDIT4\n[HKEY_USERS\\x]\n\n\"Port\"=\"" SECRET "\"\n", -1);

  g_assert_true (me_reg_value_equal (str, copy));
  g_assert_true (me_reg_value_equal (str, other_case));
  g_assert_false (me_reg_value_equal (str, dword));
  g_assert_false (me_reg_value_equal (dword, deleted));
  g_assert_true (me_reg_value_get_string (str, &text, &error));
  g_assert_cmpstr (text, ==, SECRET);
  g_clear_pointer (&text, g_free);
  g_assert_true (me_reg_value_get_string (no_nul, &text, &error));
  g_assert_cmpstr (text, ==, "ab");
  g_assert_true (me_reg_value_get_dword (dword, &n, &error));
  g_assert_cmpuint (n, ==, 25);
  g_assert_no_error (error);

  assert_read_fails (me_reg_key_find_value (g_ptr_array_index (file->keys, 0), "port"), FALSE,
                     "value \"Port\" (line 4): expected a REG_DWORD, found REG_SZ");
  assert_read_fails (dword, TRUE, "value \"Port\": expected a REG_SZ or REG_EXPAND_SZ, found REG_DWORD");
  assert_read_fails (deleted, FALSE, "value \"Port\": expected a value, found a deletion (=-)");
  assert_read_fails (short_dword, FALSE, "value \"Port\": a REG_DWORD of 3 bytes, expected 4");
  assert_read_fails (odd, TRUE, "value \"X\": a string of an odd number of bytes (not UTF-16)");
  assert_read_fails (inner, TRUE, "value \"X\": a string with a NUL character inside");
  assert_read_fails (lone, TRUE, "value \"X\": a string that is not valid UTF-16");
  assert_read_fails (odd_type, FALSE, "value (default): expected a REG_DWORD, found a value of type 305419896");
}

/* --- malformed files ------------------------------------------------------ */

static void
assert_invalid_bytes (const char *data,
                      gssize      len,
                      const char *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MeRegFile) file = me_reg_file_parse (data, len < 0 ? strlen (data) : (gsize) len, &error);

  g_assert_null (file);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
  if (!g_str_has_prefix (error->message, expected))
    g_error ("expected a message starting with \"%s\", got \"%s\"", expected, error->message);
  g_assert_null (strstr (error->message, SECRET));
  g_assert_null (strstr (error->message, "S3cret"));
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
}

/* @body after a version 5 header and a key line (lines 1 and 2), in UTF-8
 * and in UTF-16LE: the same message. */
static void
assert_invalid (const char *body,
                const char *expected)
{
  g_autofree char *text = g_strconcat ("Windows Registry Editor Version 5.00\r\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\X]\r\n",
                                       body, NULL);
  g_autoptr(GBytes) utf16 = utf16le_file (text);

  assert_invalid_bytes (text, strlen (text), expected);
  assert_invalid_bytes (g_bytes_get_data (utf16, NULL), g_bytes_get_size (utf16), expected);
}

static void
test_invalid_encoding (void)
{
  static const char odd[] = "\xff\xfeW\0i\0n";
  static const char be[] = "\xfe\xff\0W\0i";
  static const char nobom[] = "W\0i\0n\0";
  static const char lone_high[] = "\xff\xfeR\0E\0\n\0\x00\xd8" "a\0";
  static const char lone_low[] = "\xff\xfe\n\0\n\0\x00\xdc";
  static const char nul16[] = "\xff\xfeR\0\0\0";
  static const char bad_utf8[] = "REGEDIT4\n[HKEY_USERS\\x]\n\"a\"=\"" SECRET "\xc3\x28\"\n";
  static const char nul8[] = "\xef\xbb\xbfREGEDIT4\n\n\n\"a\"=\"\0\"\n";

  assert_invalid_bytes (odd, sizeof odd - 1, "not a .reg file: UTF-16LE with an odd byte count");
  assert_invalid_bytes (be, sizeof be - 1, "not a .reg file: it is UTF-16BE; expected UTF-16LE with a byte-order mark or UTF-8");
  assert_invalid_bytes (nobom, sizeof nobom - 1, "not a .reg file: UTF-16 or binary data without a byte-order mark");
  assert_invalid_bytes (lone_high, sizeof lone_high - 1, "line 2: invalid UTF-16 (a lone high surrogate) at byte offset 8");
  assert_invalid_bytes (lone_low, sizeof lone_low - 1, "line 3: invalid UTF-16 (a lone low surrogate) at byte offset 6");
  assert_invalid_bytes (nul16, sizeof nul16 - 1, "line 1: a NUL character at byte offset 4");
  assert_invalid_bytes (bad_utf8, sizeof bad_utf8 - 1, "line 3: invalid UTF-8 at byte offset 40");
  assert_invalid_bytes (nul8, sizeof nul8 - 1, "line 4: a NUL character at byte offset 19");
  assert_invalid_bytes ("", 0, "line 1: bad header");
}

static void
test_invalid_syntax (void)
{
  /* After a header and a key line: lines 1 and 2. */
  static const struct {
    const char *body;
    const char *expected;
  } cases[] = {
    { "\"a\"=\"" SECRET "\n", "line 3: unterminated string" },
    { "\"a\"=\"" SECRET "\\\"\n", "line 3: unterminated string" },
    { "\"a\"=\"" SECRET "\\t\"\n", "line 3: unknown escape" },
    { "\"a\"=\"" SECRET "\"x\n", "line 3: unexpected text after the closing quote" },
    { "\n\"a\"=hex:01,02,\\\n  03,S3cret-data\n", "line 5: bad hex byte" },
    { "\"a\"=hex:01,0203\n", "line 3: bad hex byte" },
    { "\"a\"=hex:01 02\n", "line 3: bad hex byte" },
    { "\"a\"=hex:01,,02\n", "line 3: bad hex byte" },
    { "\"a\"=hex:01,\\\n", "line 3: the hex list continues" },
    { "\"a\"=hex(123456789):00\n", "line 3: bad value type" },
    { "\"a\"=hex(1:00\n", "line 3: bad value type" },
    { "\"a\"=dword:123456789\n", "line 3: bad dword" },
    { "\"a\"=dword:\n", "line 3: bad dword" },
    { "\"a\"=dword:S3cret\n", "line 3: bad dword" },
    { "\"a\"=qword:" SECRET "\n", "line 3: unknown value type" },
    { "\"a\"=" SECRET "\n", "line 3: unknown value type" },
    { "\"a\"\n", "line 3: expected \"=\" after the value name" },
    { "[HKEY_LOCAL_MACHINE\\SOFTWARE\\X\n", "line 3: missing \"]\"" },
    { "[HKLM\\SOFTWARE\\X]\n", "line 3: unknown root key" },
    { "[HKEY_LOCAL_MACHINEX\\SOFTWARE]\n", "line 3: unknown root key" },
    { "[]\n", "line 3: unknown root key" },
    { "\"Pass\"=\"x\"\n\"pass\"=\"" SECRET "\"\n",
      "line 4: value \"pass\" appears twice in [HKEY_LOCAL_MACHINE\\SOFTWARE\\X] (also line 3)" },
    { "@=\"x\"\n\"\"=\"" SECRET "\"\n", "line 4: value \"\" appears twice" },
    { "[-HKEY_USERS\\x]\n\"a\"=\"" SECRET "\"\n", "line 4: value in a key being deleted" },
    { SECRET "\n", "line 3: expected a [key]" },
  };

  assert_invalid_bytes ("Windows Registry Editor Version 4.00\n", -1, "line 1: bad header");
  assert_invalid_bytes ("\n" "REGEDIT4\n", -1, "line 1: bad header");
  assert_invalid_bytes ("REGEDIT4\n\"a\"=\"" SECRET "\"\n", -1, "line 2: value outside a key");
  assert_invalid_bytes ("REGEDIT4\n[HKEY_USERS\\x]\n\"a\"=hex(1):53,33,e9,00\n", -1,
                        "line 3: non-ASCII data in a REGEDIT4 string value");
  assert_invalid_bytes ("REGEDIT4\n[HKEY_USERS\\x]\n\"a\"=hex(7):53,\\\n 80,00\n", -1,
                        "line 3: non-ASCII data in a REGEDIT4 string value");
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_invalid (cases[i].body, cases[i].expected);
}

static void
test_invalid_bounds (void)
{
  g_autofree char *long_name = g_strnfill (ME_REG_NAME_MAX + 1, 'n');
  g_autofree char *ok_name = g_strnfill (ME_REG_NAME_MAX, 'n');
  g_autofree char *long_key = g_strnfill (ME_REG_KEY_MAX, 'k');
  g_autofree char *name_line = g_strdup_printf ("\"%s\"=\"" SECRET "\"\n", long_name);
  g_autofree char *ok_text = g_strdup_printf ("REGEDIT4\n[HKEY_USERS\\x]\n\"%s\"=dword:1\n", ok_name);
  g_autofree char *key_line = g_strdup_printf ("[HKEY_USERS\\%s]\n", long_key);
  g_autoptr(MeRegFile) ok = parse_ok (ok_text, -1);

  assert_invalid (name_line, "line 3: value name longer than 16383 characters");
  assert_invalid (key_line, "line 3: key path longer than 32767 characters");
}

/* --- reading files ---------------------------------------------------------- */

static void
test_read (void)
{
  g_autofree char *dir = g_dir_make_tmp ("test-mailenable-reg-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "export.reg", NULL);
  g_autofree char *bad = g_build_filename (dir, "bad.reg", NULL);
  g_autofree char *big = g_build_filename (dir, "big.reg", NULL);
  g_autoptr(GBytes) bytes = utf16le_file (export_text);
  g_autoptr(GError) error = NULL;
  g_autoptr(MeRegFile) file = NULL;
  g_autofree char *huge = NULL;

  g_assert_true (g_file_set_contents (path, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL));
  file = me_reg_file_read (path, TRUE, &error);
  g_assert_no_error (error);
  check_export (file);

  g_assert_true (g_file_set_contents (bad, "REGEDIT4\n\"a\"=\"" SECRET "\"\n", -1, NULL));
  g_assert_null (me_reg_file_read (bad, FALSE, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "\""));
  g_assert_nonnull (strstr (error->message, "bad.reg\": line 2: value outside a key"));
  g_assert_null (strstr (error->message, SECRET));
  g_clear_error (&error);

  /* One byte over the limit: refused before it is parsed. */
  huge = g_malloc0 (ME_REG_FILE_LIMIT + 1);
  memcpy (huge, "REGEDIT4\n", 9);
  memset (huge + 9, ';', ME_REG_FILE_LIMIT + 1 - 9);
  g_assert_true (g_file_set_contents (big, huge, ME_REG_FILE_LIMIT + 1, NULL));
  g_assert_null (me_reg_file_read (big, FALSE, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "too large"));
  g_clear_error (&error);
  huge[ME_REG_FILE_LIMIT - 1] = '\n';
  g_assert_true (g_file_set_contents (big, huge, ME_REG_FILE_LIMIT, NULL));
  g_clear_pointer (&file, me_reg_file_free);
  file = me_reg_file_read (big, FALSE, &error);
  g_assert_no_error (error);

  g_assert_null (me_reg_file_read (dir, FALSE, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

#ifndef G_OS_WIN32
  {
    g_autofree char *fifo = g_build_filename (dir, "fifo.reg", NULL);
    g_autofree char *link = g_build_filename (dir, "link.reg", NULL);

    g_assert_cmpint (mkfifo (fifo, 0600), ==, 0);
    /* Refused without blocking (nobody writes to it). */
    g_assert_null (me_reg_file_read (fifo, FALSE, &error));
    g_assert_nonnull (error);
    g_clear_error (&error);
    g_assert_null (me_reg_file_read ("/dev/zero", FALSE, &error));
    g_assert_nonnull (error);
    g_assert_true (g_str_has_prefix (error->message, "\"/dev/zero\""));
    g_clear_error (&error);
    g_assert_cmpint (symlink (path, link), ==, 0);
    g_assert_null (me_reg_file_read (link, TRUE, &error));
    g_assert_nonnull (error);
    g_clear_error (&error);
    g_clear_pointer (&file, me_reg_file_free);
    file = me_reg_file_read (link, FALSE, &error);
    g_assert_no_error (error);
    g_assert_cmpint (g_remove (fifo), ==, 0);
    g_assert_cmpint (g_remove (link), ==, 0);
  }
#endif
  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_remove (bad), ==, 0);
  g_assert_cmpint (g_remove (big), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/mailenable-reg/parse/utf16", test_parse_utf16);
  g_test_add_func ("/mailenable-reg/parse/utf8", test_parse_utf8);
  g_test_add_func ("/mailenable-reg/parse/lone-cr", test_parse_lone_cr);
  g_test_add_func ("/mailenable-reg/parse/regedit4", test_parse_regedit4);
  g_test_add_func ("/mailenable-reg/parse/forms", test_parse_forms);
  g_test_add_func ("/mailenable-reg/parse/comments", test_comments);
  g_test_add_func ("/mailenable-reg/write", test_write);
  g_test_add_func ("/mailenable-reg/write/wrap", test_write_wrap);
  g_test_add_func ("/mailenable-reg/value/reads", test_value_reads);
  g_test_add_func ("/mailenable-reg/invalid/encoding", test_invalid_encoding);
  g_test_add_func ("/mailenable-reg/invalid/syntax", test_invalid_syntax);
  g_test_add_func ("/mailenable-reg/invalid/bounds", test_invalid_bounds);
  g_test_add_func ("/mailenable-reg/read", test_read);

  return g_test_run ();
}
