/* test-json.c: the library's JSON reader and writer (smarthost-json*.c)
 *
 * The expected texts are what json-glib 1.6's generator wrote for the same
 * trees: the format every JSON output of the library has, kept byte for
 * byte since the move to jansson.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-error.h"
#include "smarthost-json-private.h"
#include "smarthost-relay.h"

static json_t *
load (const char *text)
{
  json_error_t error;
  json_t *node = json_loads (text, JSON_DECODE_ANY, &error);

  if (node == NULL)
    g_error ("test data: %s", error.text);
  return node;
}

static void
assert_written (const char *input,
                const char *pretty,
                const char *compact)
{
  g_autoptr(json_t) node = load (input);
  g_autofree char *p = _smarthost_json_to_data (node, NULL);
  g_autofree char *c = _smarthost_json_to_data_compact (node, NULL);

  g_assert_cmpstr (p, ==, pretty);
  g_assert_cmpstr (c, ==, compact);
}

static void
test_write_layout (void)
{
  assert_written ("{}", "{}", "{}");
  assert_written ("[]", "[]", "[]");
  assert_written ("null", "null", "null");
  assert_written ("\"x\"", "\"x\"", "\"x\"");
  /* An empty object is padded with the indent of its level; an empty
   * array is not. */
  assert_written ("{\"a\": {}}", "{\n  \"a\" : {  }\n}", "{\"a\":{}}");
  assert_written ("{\"a\": {\"b\": {}}}", "{\n  \"a\" : {\n    \"b\" : {    }\n  }\n}", "{\"a\":{\"b\":{}}}");
  assert_written ("{\"a\": []}", "{\n  \"a\" : []\n}", "{\"a\":[]}");
  assert_written ("[{}, []]", "[\n  {  },\n  []\n]", "[{},[]]");
  assert_written ("{\"a\": [{}]}", "{\n  \"a\" : [\n    {    }\n  ]\n}", "{\"a\":[{}]}");
  assert_written ("[1, -2, true, false, null]", "[\n  1,\n  -2,\n  true,\n  false,\n  null\n]",
                  "[1,-2,true,false,null]");
  /* Members in the order given. */
  assert_written ("{\"z\": 1, \"a\": 2}", "{\n  \"z\" : 1,\n  \"a\" : 2\n}", "{\"z\":1,\"a\":2}");
}

static void
test_write_numbers (void)
{
  assert_written ("[1.5, 12.345, 5.0, 0.1, 1e300, -0.0, 1e20, 1e-7, 0.0, 9223372036854775807]",
                  "[\n  1.5,\n  12.345000000000001,\n  5.0,\n  0.10000000000000001,\n  1.0000000000000001e+300,\n"
                  "  -0.0,\n  1e+20.0,\n  9.9999999999999995e-08,\n  0.0,\n  9223372036854775807\n]",
                  "[1.5,12.345000000000001,5.0,0.10000000000000001,1.0000000000000001e+300,-0.0,1e+20.0,"
                  "9.9999999999999995e-08,0.0,9223372036854775807]");
}

static void
test_write_strings (void)
{
  g_autoptr(json_t) node = json_object ();
  g_autofree char *text = NULL;
  GString *all = g_string_new (NULL);

  for (int c = 1; c < 0x80; c++)
    g_string_append_c (all, (char) c);
  /* Non-ASCII as it is, even bytes that are not UTF-8 (the library never
   * writes any, but the writer does not judge). */
  g_string_append (all, "é\xe2\x80\xa8\xf0\x9f\x98\x80\xff");
  json_object_set_new (node, "k\"", _smarthost_json_string (all->str));
  json_object_set_new (node, "none", _smarthost_json_string (NULL));
  text = _smarthost_json_to_data_compact (node, NULL);
  g_assert_cmpstr (text, ==,
                   "{\"k\\\"\":\"\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f"
                   "\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d"
                   "\\u001e\x1f !\\\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\\\]^_`"
                   "abcdefghijklmnopqrstuvwxyz{|}~\\u007fé\xe2\x80\xa8\xf0\x9f\x98\x80\xff\",\"none\":null}");
  g_string_free (all, TRUE);
}

static void
assert_refused (const char              *text,
                gssize                   length,
                SmarthostJsonParseFlags  flags,
                const char              *message)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(json_t) node = _smarthost_json_parse ("reply", text, length, flags, &error);

  g_assert_null (node);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, message);
}

static void
test_parse (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(json_t) node = NULL;
  g_autofree char *deep = NULL;

  node = _smarthost_json_parse ("reply", " [1, 2.5, \"x\\u00e9\", {\"a\": null}] ", -1, SMARTHOST_JSON_PARSE_ANY, &error);
  g_assert_no_error (error);
  g_assert_true (json_is_integer (json_array_get (node, 0)));
  g_assert_true (json_is_real (json_array_get (node, 1)));
  g_assert_cmpstr (json_string_value (json_array_get (node, 2)), ==, "xé");
  g_clear_pointer (&node, json_decref);
  node = _smarthost_json_parse ("reply", "true", -1, SMARTHOST_JSON_PARSE_ANY, &error);
  g_assert_no_error (error);
  g_assert_true (json_is_true (node));
  g_clear_pointer (&node, json_decref);
  /* A length: the text need not end there. */
  node = _smarthost_json_parse ("reply", "{\"a\": 1}garbage", 8, SMARTHOST_JSON_PARSE_OBJECT, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_integer_value (json_object_get (node, "a")), ==, 1);

  assert_refused ("[1]", -1, SMARTHOST_JSON_PARSE_OBJECT, "reply: must be a JSON object");
  assert_refused ("{\"a\": 1}\0{}", 11, SMARTHOST_JSON_PARSE_OBJECT, "reply: not JSON text: it has a NUL byte");
  assert_refused ("{\"a\": 1}{\"a\": 2}", -1, SMARTHOST_JSON_PARSE_ANY,
                  "reply: not valid JSON: more than one value (text after the object's closing brace)");
  assert_refused ("1 2", -1, SMARTHOST_JSON_PARSE_ANY, "reply: not valid JSON: syntax error at line 1, column 3");
  assert_refused ("{\"token\": 1, \"token\": 2}", -1, SMARTHOST_JSON_PARSE_ANY,
                  "reply: the key \"token\" is given twice in one object; give it once");
  assert_refused ("\"\xff\"", -1, SMARTHOST_JSON_PARSE_ANY, "reply: not JSON text: it is not valid UTF-8");
  assert_refused ("  ", -1, SMARTHOST_JSON_PARSE_ANY, "reply: not valid JSON: the text is empty");
  assert_refused ("\"\\u0000\"", -1, SMARTHOST_JSON_PARSE_ANY, "reply: not valid JSON: syntax error at line 1, column 2");
  deep = g_strnfill (SMARTHOST_JSON_MAX_DEPTH + 1, '[');
  assert_refused (deep, -1, SMARTHOST_JSON_PARSE_ANY,
                  "reply: nested too deep: arrays and objects inside each other more than 32 levels deep "
                  "are refused (a state has 3)");
}

/* Wiping: the strings are zeroed in place before the tree goes. */
static void
test_wipe (void)
{
  static const char * const names[] = { "token", NULL };
  g_autoptr(json_t) node = load ("{\"token\": \"s3cret\", \"user\": \"u\", \"list\": [{\"token\": \"t0ken\"}, \"x\"]}");
  json_t *inner = json_object_get (json_array_get (json_object_get (node, "list"), 0), "token");

  _smarthost_json_wipe (node, names);
  g_assert_cmpmem (json_string_value (json_object_get (node, "token")), 6, "\0\0\0\0\0\0", 6);
  g_assert_cmpmem (json_string_value (inner), 5, "\0\0\0\0\0", 5);
  g_assert_cmpstr (json_string_value (json_object_get (node, "user")), ==, "u");
  _smarthost_json_wipe (node, NULL);
  g_assert_cmpstr (json_string_value (json_object_get (node, "user")), ==, "");
  g_assert_cmpstr (json_string_value (json_array_get (json_object_get (node, "list"), 1)), ==, "");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/json/write/layout", test_write_layout);
  g_test_add_func ("/json/write/numbers", test_write_numbers);
  g_test_add_func ("/json/write/strings", test_write_strings);
  g_test_add_func ("/json/parse", test_parse);
  g_test_add_func ("/json/wipe", test_wipe);
  return g_test_run ();
}
