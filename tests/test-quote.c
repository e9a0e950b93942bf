/* test-quote.c: quoting untrusted text in messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-util-private.h"

static void
assert_quote (const char *input,
              gssize      len,
              const char *expected)
{
  g_autofree char *quoted = _smarthost_quote (input, len);

  g_assert_cmpstr (quoted, ==, expected);
  g_assert_true (g_utf8_validate (quoted, -1, NULL));
}

static void
test_plain (void)
{
  assert_quote ("smtp.example.net", -1, "\"smtp.example.net\"");
  assert_quote ("", -1, "\"\"");
  assert_quote (NULL, -1, "(none)");
  assert_quote (" padded ", -1, "\" padded \"");
  /* Printable non-ASCII text is shown as it is. */
  assert_quote ("bücher.example", -1, "\"bücher.example\"");
  assert_quote ("例え.jp", -1, "\"例え.jp\"");
  /* len cuts the input, and a NUL byte inside it is shown. */
  assert_quote ("abcdef", 3, "\"abc\"");
  assert_quote ("a\0b", 3, "\"a\\x00b\"");
}

static void
test_escapes (void)
{
  /* The quotes cannot be closed early. */
  assert_quote ("a\"b", -1, "\"a\\\"b\"");
  assert_quote ("a\\b", -1, "\"a\\\\b\"");
  assert_quote ("\\\"", -1, "\"\\\\\\\"\"");
  /* C0 controls and DEL. */
  assert_quote ("a\nb\rc\td", -1, "\"a\\nb\\rc\\td\"");
  assert_quote ("\033[31mred\033[0m", -1, "\"\\x1b[31mred\\x1b[0m\"");
  assert_quote ("\x01\x7f", -1, "\"\\x01\\x7f\"");
  /* C1 controls (U+009B is a CSI to some terminals). */
  assert_quote ("a\xc2\x9b" "31m", -1, "\"a\\u009b31m\"");
  assert_quote ("\xc2\x85", -1, "\"\\u0085\"");
}

static void
test_bidi_and_format (void)
{
  /* Right-to-left override, isolates, zero-width characters, BOM. */
  assert_quote ("moc.\xe2\x80\xae" "elpmaxe", -1, "\"moc.\\u202eelpmaxe\"");
  assert_quote ("\xe2\x81\xa6x\xe2\x81\xa9", -1, "\"\\u2066x\\u2069\"");
  assert_quote ("pay\xe2\x80\x8bpal", -1, "\"pay\\u200bpal\"");
  assert_quote ("\xef\xbb\xbf" "a", -1, "\"\\ufeffa\"");
  /* Line and paragraph separators, spaces that look like U+0020. */
  assert_quote ("a\xe2\x80\xa8" "b\xe2\x80\xa9", -1, "\"a\\u2028b\\u2029\"");
  assert_quote ("a\xc2\xa0" "b", -1, "\"a\\u00a0b\"");
  /* Beyond the BMP: a language tag, a private-use character. */
  assert_quote ("\xf3\xa0\x80\x81", -1, "\"\\U000e0001\"");
  assert_quote ("\xf3\xb0\x80\x80", -1, "\"\\U000f0000\"");
}

static void
test_invalid_utf8 (void)
{
  assert_quote ("smtp.\xff.example", -1, "\"smtp.\\xff.example\"");
  /* A character cut short by the end of the text: no read past it. */
  assert_quote ("abc\xdf", -1, "\"abc\\xdf\"");
  assert_quote ("ab\xe2\x80\xae", 4, "\"ab\\xe2\\x80\"");
  /* Overlong forms and surrogates are not characters. */
  assert_quote ("\xc0\xaf", -1, "\"\\xc0\\xaf\"");
  assert_quote ("\xed\xa0\x80", -1, "\"\\xed\\xa0\\x80\"");
  assert_quote ("\xf4\x90\x80\x80", -1, "\"\\xf4\\x90\\x80\\x80\"");
}

static void
test_cut (void)
{
  g_autofree char *exact = g_strnfill (64, 'a');
  g_autofree char *longer = g_strnfill (65, 'a');
  g_autofree char *huge = g_strnfill (10 * 1024 * 1024, 'x');
  g_autofree char *escapes = g_strnfill (1000, '\033');
  g_autofree char *wide = NULL;
  g_autofree char *quoted = NULL;
  g_autofree char *expected = NULL;
  GString *s;

  expected = g_strdup_printf ("\"%s\"", exact);
  assert_quote (exact, -1, expected);
  g_clear_pointer (&expected, g_free);
  expected = g_strdup_printf ("\"%s\"… (1 more byte)", exact);
  assert_quote (longer, -1, expected);

  /* Ten megabytes are cut to 64 characters. */
  quoted = _smarthost_quote (huge, -1);
  g_assert_cmpuint (strlen (quoted), <, 120);
  g_assert_true (g_str_has_suffix (quoted, "… (10485696 more bytes)"));
  g_clear_pointer (&quoted, g_free);

  /* The cut counts characters, escaped or not: the result stays short. */
  quoted = _smarthost_quote (escapes, -1);
  g_assert_cmpuint (strlen (quoted), <, 64 * 4 + 40);
  g_assert_null (strchr (quoted, '\033'));
  g_assert_true (g_str_has_suffix (quoted, "… (936 more bytes)"));
  g_clear_pointer (&quoted, g_free);

  /* Never inside a character: 70 two-byte characters, 64 of them shown. */
  s = g_string_new (NULL);
  for (int i = 0; i < 70; i++)
    g_string_append (s, "é");
  wide = g_string_free (s, FALSE);
  quoted = _smarthost_quote (wide, -1);
  g_assert_true (g_utf8_validate (quoted, -1, NULL));
  g_assert_cmpuint (g_utf8_strlen (quoted, -1), ==, 1 + 64 + 1 + g_utf8_strlen ("… (12 more bytes)", -1));
  g_assert_true (g_str_has_suffix (quoted, "\"… (12 more bytes)"));
}

static void
test_path (void)
{
  g_autofree char *dir = g_strnfill (200, 'd');
  g_autofree char *path = g_strdup_printf ("/%s/main.cf", dir);
  g_autofree char *expected = g_strdup_printf ("\"%s\"", path);
  g_autofree char *huge = g_strnfill (1024 * 1024, '/');
  g_autofree char *quoted = NULL;

  /* A long path keeps its file name. */
  quoted = _smarthost_quote_path (path);
  g_assert_cmpstr (quoted, ==, expected);
  g_clear_pointer (&quoted, g_free);
  quoted = _smarthost_quote_path ("/etc/post\033]0;x\007fix/\xe2\x80\xae" "fc.niam");
  g_assert_cmpstr (quoted, ==, "\"/etc/post\\x1b]0;x\\x07fix/\\u202efc.niam\"");
  g_clear_pointer (&quoted, g_free);
  /* But it is cut too. */
  quoted = _smarthost_quote_path (huge);
  g_assert_cmpuint (strlen (quoted), <, 300);
  g_assert_true (g_str_has_suffix (quoted, "… (1048320 more bytes)"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/quote/plain", test_plain);
  g_test_add_func ("/quote/escapes", test_escapes);
  g_test_add_func ("/quote/bidi-and-format", test_bidi_and_format);
  g_test_add_func ("/quote/invalid-utf8", test_invalid_utf8);
  g_test_add_func ("/quote/cut", test_cut);
  g_test_add_func ("/quote/path", test_path);

  return g_test_run ();
}
