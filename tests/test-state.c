/* test-state.c: states and relays in JSON, and staging a whole state
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "smarthost.h"

#define SECRET "Fake-State-Pa55w0rd-xyzzy"

typedef struct {
  const char *name;
  const char *data;
  const char *error;   /* what the message starts with; NULL: read */
} ReadCase;

static const ReadCase read_cases[] = {
  { "empty", "{\"server\": null, \"domains\": {}}", NULL },
  { "server", "{\"server\": {\"host\": \"smtp.example.net\", \"port\": 2525}, \"domains\": {}}", NULL },
  { "provider", "{\"server\": {\"provider\": \"sendgrid\", \"password_set\": true}, \"domains\": {}}", NULL },
  { "domain-null", "{\"server\": null, \"domains\": {\"a.example\": null}}", NULL },
  { "backend", "{\"backend\": \"postfix\", \"server\": null, \"domains\": {}}", NULL },
  /* the whole state or nothing */
  { "no-domains", "{\"server\": null}", "state: must say" },
  { "no-server", "{\"domains\": {}}", "state: must say" },
  { "not-an-object", "[1, 2]", "state: must be a JSON object" },
  /* json-glib would take the last of several values: refused */
  { "two-objects", "{\"server\": null, \"domains\": {}}{\"server\": {\"host\": \"a.example.net\"}, \"domains\": {}}",
    "state: not valid JSON: more than one value" },
  { "scalar-then-object", "0{\"server\": null, \"domains\": {}}", "state: must be a JSON object" },
  /* and would keep the last of two members of the same name */
  { "server-twice", "{\"server\": null, \"domains\": {}, \"server\": {\"host\": \"dup.example.net\"}}",
    "state: the key \"server\" is given twice" },
  { "domain-twice-same-spelling", "{\"server\": null, \"domains\": {\"a.example\": null, \"a.example\": null}}",
    "state: the key \"a.example\" is given twice" },
  { "port-twice", "{\"server\": {\"host\": \"a.example.net\", \"port\": 25, \"port\": 587}, \"domains\": {}}",
    "state: the key \"port\" is given twice" },
  { "secret-key-twice", "{\"server\": null, \"domains\": {}, \"" SECRET "\": 1, \"" SECRET "\": 2}",
    "state: a key is given twice" },
  { "trailing-text", "{\"server\": null, \"domains\": {}} x", "state: not valid JSON: more than one value" },
  { "braces-in-strings", "{\"server\": {\"host\": \"a.example.net\", \"username\": \"u}{\\\"\", \"password_set\": true},"
    " \"domains\": {}}\n", NULL },
  { "unknown-key", "{\"server\": null, \"domains\": {}, \"extra\": 1}", "state: unknown key \"extra\"" },
  { "domains-array", "{\"server\": null, \"domains\": []}", "domains: must be an object" },
  { "backend-number", "{\"backend\": 1, \"server\": null, \"domains\": {}}", "backend: must be a string" },
  /* not JSON: the place, never the text */
  { "empty-text", "", "state: not valid JSON" },
  { "truncated", "{\"server\": {\"host\": \"a.b", "state: not valid JSON" },
  { "bareword-password", "{\"server\": {\"host\": \"a.example.net\", \"username\": \"u\", \"password\": "
    SECRET "}, \"domains\": {}}", "state: not valid JSON: syntax error at line 1" },
  /* the reader: strict JSON, errors that give the place only */
  { "escapes", "{\"server\": {\"host\": \"a.example.net\", \"username\": \"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\","
    " \"password_set\": true}, \"domains\": {}}", NULL },
  { "escaped-line-break", "{\"server\": {\"host\": \"a.example.net\", \"username\": \"u\\nv\", \"password_set\": true},"
    " \"domains\": {}}", "server.username: must not contain control characters" },
  { "lone-low-surrogate", "{\"server\": null, \"domains\": {}, \"\\udc00\": 1}", "state: not valid JSON: syntax error at line 1, column 34" },
  { "lone-high-surrogate", "{\"server\": null, \"domains\": {}, \"\\ud800x\": 1}", "state: not valid JSON: syntax error at line 1" },
  { "escaped-nul", "{\"server\": null, \"domains\": {}, \"\\u0000\": 1}", "state: not valid JSON: syntax error at line 1" },
  { "bad-escape", "{\"server\": null, \"domains\": {}, \"\\x41\": 1}", "state: not valid JSON: syntax error at line 1" },
  { "control-character", "{\"server\": null, \"domains\": {}, \"a\tb\": 1}", "state: not valid JSON: syntax error at line 1" },
  { "trailing-comma", "{\"server\": null, \"domains\": {},}", "state: not valid JSON: syntax error at line 1, column 32" },
  { "trailing-comma-domains", "{\"server\": null,\n \"domains\": {\"a.example\": null,}}",
    "state: not valid JSON: syntax error at line 2, column 32" },
  { "single-quotes", "{'server': null, \"domains\": {}}", "state: not valid JSON: syntax error at line 1, column 2" },
  { "leading-zero", "{\"server\": {\"host\": \"a.example.net\", \"port\": 0587}, \"domains\": {}}",
    "state: not valid JSON: syntax error" },
  { "port-exponent", "{\"server\": {\"host\": \"a.example.net\", \"port\": 5.87e2}, \"domains\": {}}",
    "server.port: must be a whole number" },
  { "port-minus", "{\"server\": {\"host\": \"a.example.net\", \"port\": -}, \"domains\": {}}",
    "state: not valid JSON: syntax error" },
  { "number-100-digits", "{\"server\": {\"host\": \"a.example.net\", \"port\": "
    "1000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000587}, \"domains\": {}}",
    "server.port: must be a whole number" },
  { "values-of-every-kind", "{\"server\": null, \"domains\": {}, \"x\": [1, -2.5e-3, true, false, null, \"s\", {}, []]}",
    "state: unknown key \"x\"" },
  { "literal-cut", "{\"server\": nul", "state: not valid JSON" },
  { "domains-twice", "{\"server\": null, \"domains\": {}, \"domains\": {\"a.example\": null}}",
    "state: the key \"domains\" is given twice" },
  { "domain-relay-key-twice", "{\"server\": null, \"domains\": {\"a.example\": {\"host\": \"x.example.net\", "
    "\"host\": \"y.example.net\"}}}", "state: the key \"host\" is given twice" },
  /* relays: every key known and of its type */
  { "relay-unknown-key", "{\"server\": {\"host\": \"a.example.net\", \"hots\": 1}, \"domains\": {}}",
    "server: unknown key \"hots\"" },
  { "relay-array", "{\"server\": [], \"domains\": {}}", "server: must be an object" },
  { "relay-no-host", "{\"server\": {}, \"domains\": {}}", "server: needs a host" },
  { "verify-string", "{\"server\": {\"host\": \"a.example.net\", \"verify_certificate\": \"false\"}, \"domains\": {}}",
    "server.verify_certificate: must be true or false" },
  { "verify-null", "{\"server\": {\"host\": \"a.example.net\", \"verify_certificate\": null}, \"domains\": {}}",
    "server.verify_certificate: must be true or false" },
  { "mx-number", "{\"server\": {\"host\": \"a.example.net\", \"mx_lookup\": 1}, \"domains\": {}}",
    "server.mx_lookup: must be true or false" },
  { "port-bool", "{\"server\": {\"host\": \"a.example.net\", \"port\": true}, \"domains\": {}}",
    "server.port: must be a whole number" },
  { "port-float", "{\"server\": {\"host\": \"a.example.net\", \"port\": 587.5}, \"domains\": {}}",
    "server.port: must be a whole number" },
  { "port-negative", "{\"server\": {\"host\": \"a.example.net\", \"port\": -1}, \"domains\": {}}",
    "server.port: must be a whole number" },
  { "port-huge", "{\"server\": {\"host\": \"a.example.net\", \"port\": 99999999999}, \"domains\": {}}",
    "server.port: must be a whole number" },
  { "security-unknown", "{\"server\": {\"host\": \"a.example.net\", \"security\": \"ssl\"}, \"domains\": {}}",
    "server.security:" },
  { "host-invalid", "{\"server\": {\"host\": \"a b\"}, \"domains\": {}}", "server.host:" },
  { "host-and-provider", "{\"server\": {\"host\": \"a.example.net\", \"provider\": \"sendgrid\"}, \"domains\": {}}",
    "server: give host or provider, not both" },
  { "region-alone", "{\"server\": {\"host\": \"a.example.net\", \"region\": \"eu-west-1\"}, \"domains\": {}}",
    "server.region: needs a provider" },
  { "provider-unknown", "{\"server\": {\"provider\": \"nope\"}, \"domains\": {}}", "server.provider:" },
  /* passwords */
  { "inline-password", "{\"server\": {\"host\": \"a.example.net\", \"username\": \"u\", \"password\": \"" SECRET "\"},"
    " \"domains\": {}}", "server.password: a password written into the data itself is refused" },
  { "password-number", "{\"server\": {\"host\": \"a.example.net\", \"username\": \"u\", \"password\": 12345678},"
    " \"domains\": {}}", "server.password: must be a string" },
  { "two-sources", "{\"server\": {\"host\": \"a.example.net\", \"username\": \"u\", \"password_env\": \"X\","
    " \"password_file\": \"/x\"}, \"domains\": {}}", "server: give one of" },
  { "password-file-relative", "{\"server\": {\"host\": \"a.example.net\", \"username\": \"u\","
    " \"password_file\": \"pw\"}, \"domains\": {}}", "server.password_file: must be an absolute path" },
  { "password-file-missing", "{\"server\": {\"host\": \"a.example.net\", \"username\": \"u\","
    " \"password_file\": \"/nonexistent/pw\"}, \"domains\": {}}", "server.password_file: cannot open" },
  { "password-env-unset", "{\"server\": {\"host\": \"a.example.net\", \"username\": \"u\","
    " \"password_env\": \"SMARTHOST_TEST_UNSET_VARIABLE\"}, \"domains\": {}}", "server.password_env:" },
  { "password-set-no-user", "{\"server\": {\"host\": \"a.example.net\", \"password_set\": true}, \"domains\": {}}",
    "server.password_set: there is no password without a username" },
  { "user-without-password", "{\"server\": {\"host\": \"a.example.net\", \"username\": \"u\"}, \"domains\": {}}",
    "server.password:" },
  /* domains */
  { "domain-invalid", "{\"server\": null, \"domains\": {\"bad domain\": null}}", "domains: \"bad domain\": domain:" },
  { "domain-twice", "{\"server\": null, \"domains\": {\"A.example\": null, \"a.example.\": null}}",
    "domains: \"A.example\" and \"a.example.\" are the same domain" },
  { "domain-null-twice", "{\"server\": null, \"domains\": {\"a.example\": {\"host\": \"x.example.net\"}, "
    "\"b.example\": null, \"A.EXAMPLE.\": null}}", "domains: \"a.example\" and \"A.EXAMPLE.\" are the same domain" },
  { "domain-null-first", "{\"server\": null, \"domains\": {\"a.example\": null, \"A.example\": {\"host\": \"x.example.net\"}}}",
    "domains: \"a.example\" and \"A.example\" are the same domain" },
  /* nesting: the format's own depth passes, brackets in strings do not count */
  { "brackets-in-strings", "{\"server\": {\"host\": \"a.example.net\", \"username\": "
    "\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{\\\"[[[[\", "
    "\"password_set\": true}, \"domains\": {}}", NULL },
  { "nested-too-deep-in-key", "{\"server\": null, \"domains\": {}, \"x\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
    "state: nested too deep: arrays and objects inside each other more than 32 levels deep are refused" },
  { "domain-relay-invalid", "{\"server\": null, \"domains\": {\"a.example\": {\"host\": \"x.example.net\", \"port\": 0}}}",
    "domains.a.example.port:" },
};

static void
test_read (gconstpointer data)
{
  const ReadCase *c = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(SmarthostState) state = smarthost_state_new_from_json (c->data, SMARTHOST_JSON_FLAGS_NONE, &error);

  if (c->error == NULL)
    {
      g_assert_no_error (error);
      g_assert_nonnull (state);
      return;
    }
  g_assert_null (state);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
  if (!g_str_has_prefix (error->message, c->error))
    g_error ("%s: \"%s\" does not start with \"%s\"", c->name, error->message, c->error);
  g_assert_null (strstr (error->message, SECRET));
}

static void
test_passwords (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("smarthost-state-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "pw", NULL);
  g_autofree char *data = NULL;
  g_autofree char *escaped = g_strescape (path, NULL);   /* a Windows path's backslashes */
  g_autoptr(SmarthostRelay) relay = NULL;
  const char *contents[] = { SECRET "\n", SECRET "\r\n", SECRET };

  g_assert_no_error (error);
  data = g_strdup_printf ("{\"host\": \"a.example.net\", \"username\": \"u\", \"password_file\": \"%s\"}", escaped);
  for (guint i = 0; i < G_N_ELEMENTS (contents); i++)
    {
      g_assert_true (g_file_set_contents (path, contents[i], -1, &error));
      relay = smarthost_relay_new_from_json (data, SMARTHOST_JSON_FLAGS_NONE, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (smarthost_relay_get_password (relay), ==, SECRET);
      g_clear_object (&relay);
    }
  /* One line, not empty. */
  for (guint i = 0; i < 2; i++)
    {
      g_assert_true (g_file_set_contents (path, i ? "\n" : SECRET "\nsecond line\n", -1, &error));
      relay = smarthost_relay_new_from_json (data, SMARTHOST_JSON_FLAGS_NONE, &error);
      g_assert_null (relay);
      g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
      g_assert_null (strstr (error->message, SECRET));
      g_clear_error (&error);
    }

  g_setenv ("SMARTHOST_TEST_PASSWORD", SECRET, TRUE);
  relay = smarthost_relay_new_from_json ("{\"host\": \"a.example.net\", \"username\": \"u\","
                                         " \"password_env\": \"SMARTHOST_TEST_PASSWORD\"}",
                                         SMARTHOST_JSON_FLAGS_NONE, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (smarthost_relay_get_password (relay), ==, SECRET);
  g_clear_object (&relay);
  g_unsetenv ("SMARTHOST_TEST_PASSWORD");

  relay = smarthost_relay_new_from_json ("{\"host\": \"a.example.net\", \"username\": \"u\", \"password\": \""
                                         SECRET "\"}", SMARTHOST_JSON_FLAGS_ALLOW_INLINE_PASSWORD, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (smarthost_relay_get_password (relay), ==, SECRET);
  /* Written, it has no password, only password_set. */
  {
    g_autofree char *json = smarthost_relay_to_json (relay);
    g_assert_null (strstr (json, SECRET));
    g_assert_nonnull (strstr (json, "\"password_set\" : true"));
  }

  g_unlink (path);
  g_rmdir (dir);
}

static void
test_write_and_read_back (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SmarthostState) state = smarthost_state_new ();
  g_autoptr(SmarthostState) again = NULL;
  g_autoptr(SmarthostRelay) relay = smarthost_relay_new ("relay.example.net");
  g_autofree char *text = NULL;
  g_autofree char *text2 = NULL;
  g_auto(GStrv) domains = NULL;

  smarthost_relay_set_security (relay, SMARTHOST_SECURITY_TLS);
  g_assert_true (smarthost_state_set_domain (state, "B.example.", relay, &error));
  g_assert_true (smarthost_state_set_domain (state, "a.example", relay, &error));
  g_assert_false (smarthost_state_set_domain (state, "not a domain", relay, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
  g_clear_error (&error);
  smarthost_state_set_server (state, relay);
  smarthost_state_set_backend_name (state, "postfix");

  domains = smarthost_state_list_domains (state);
  g_assert_cmpuint (g_strv_length (domains), ==, 2);
  g_assert_cmpstr (domains[0], ==, "a.example");
  g_assert_cmpstr (domains[1], ==, "b.example");
  g_assert_true (smarthost_relay_equal (smarthost_state_get_domain (state, "B.EXAMPLE"), relay));
  g_assert_null (smarthost_state_get_domain (state, "c.example"));

  text = smarthost_state_to_json (state);
  again = smarthost_state_new_from_json (text, SMARTHOST_JSON_FLAGS_NONE, &error);
  g_assert_no_error (error);
  g_assert_true (smarthost_state_equal (state, again));
  g_assert_cmpstr (smarthost_state_get_backend_name (again), ==, "postfix");
  text2 = smarthost_state_to_json (again);
  g_assert_cmpstr (text, ==, text2);

  /* Removing. */
  g_assert_true (smarthost_state_set_domain (state, "a.example", NULL, &error));
  smarthost_state_set_server (state, NULL);
  g_assert_false (smarthost_state_equal (state, again));
  g_assert_null (smarthost_state_get_server (state));
}

/* Text nested @depth deep: @open @depth times (the rest of the text is
 * never looked at, as nesting that deep is refused first). */
static char *
nested (const char *open,
        guint       depth)
{
  GString *s = g_string_sized_new (strlen (open) * depth + 1);

  for (guint i = 0; i < depth; i++)
    g_string_append (s, open);
  return g_string_free (s, FALSE);
}

/* json-glib parses by recursion: a million levels of nesting crashed the
 * process (issue 10). They are refused before the parser sees them, by
 * State.new_from_json and Relay.new_from_json alike. */
static void
test_deep_nesting (void)
{
  const char *opens[] = { "[", "{\"a\":", "{\"domains\":" };

  for (guint i = 0; i < G_N_ELEMENTS (opens); i++)
    {
      g_autofree char *inner = nested (opens[i], 1000000);
      g_autofree char *text = g_strconcat ("{\"server\": null, \"domains\": ", inner, NULL);
      g_autofree char *relay_text = g_strconcat ("{\"host\": ", inner, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(SmarthostState) state = NULL;
      g_autoptr(SmarthostRelay) relay = NULL;

      state = smarthost_state_new_from_json (text, SMARTHOST_JSON_FLAGS_NONE, &error);
      g_assert_null (state);
      g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
      g_assert_true (g_str_has_prefix (error->message, "state: nested too deep"));
      g_assert_nonnull (strstr (error->message, "32 levels"));
      g_clear_error (&error);

      /* The nesting alone, without an object around it: not an object. */
      state = smarthost_state_new_from_json (inner, SMARTHOST_JSON_FLAGS_NONE, &error);
      g_assert_null (state);
      g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
      g_clear_error (&error);

      relay = smarthost_relay_new_from_json (relay_text, SMARTHOST_JSON_FLAGS_NONE, &error);
      g_assert_null (relay);
      g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
      g_assert_true (g_str_has_prefix (error->message, "relay: nested too deep"));
    }
}

/* Nesting up to the limit is the parser's to judge; one more is refused. */
static void
test_nesting_limit (void)
{
  for (guint depth = SMARTHOST_JSON_MAX_DEPTH; depth <= SMARTHOST_JSON_MAX_DEPTH + 1; depth++)
    {
      /* The state and "x" are two levels; the array fills up the rest. */
      g_autofree char *open = nested ("[", depth - 1);
      g_autofree char *close = nested ("]", depth - 1);
      g_autofree char *text = g_strdup_printf ("{\"server\": null, \"domains\": {}, \"x\": %s%s}", open, close);
      g_autoptr(GError) error = NULL;
      g_autoptr(SmarthostState) state = smarthost_state_new_from_json (text, SMARTHOST_JSON_FLAGS_NONE, &error);

      g_assert_null (state);
      g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
      if (depth <= SMARTHOST_JSON_MAX_DEPTH)
        g_assert_cmpstr (error->message, ==, "state: unknown key \"x\"; known: backend, server, domains");
      else
        g_assert_true (g_str_has_prefix (error->message, "state: nested too deep"));
    }
}

/* Text longer than SMARTHOST_JSON_MAX_SIZE is refused, and said so, before
 * it is parsed or even read to its end. */
static void
test_too_large (void)
{
  gsize size = (gsize) SMARTHOST_JSON_MAX_SIZE + 1;
  g_autofree char *text = g_malloc (size + 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(SmarthostState) state = NULL;
  g_autoptr(SmarthostRelay) relay = NULL;
  const char *head = "{\"server\": null, \"domains\": {}, \"x\": \"";

  /* A valid state but for its size. */
  memset (text, 'a', size);
  memcpy (text, head, strlen (head));
  text[size - 2] = '"';
  text[size - 1] = '}';
  text[size] = '\0';
  state = smarthost_state_new_from_json (text, SMARTHOST_JSON_FLAGS_NONE, &error);
  g_assert_null (state);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
  g_assert_cmpstr (error->message, ==, "state: too large: JSON text of more than 128 MiB (134217728 bytes) is refused");
  g_clear_error (&error);
  relay = smarthost_relay_new_from_json (text, SMARTHOST_JSON_FLAGS_NONE, &error);
  g_assert_null (relay);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "relay: too large"));

  /* One byte less is handed to the parser, which stops at the first error
   * (a whole string of 128 MiB would take a while to parse). */
  g_clear_error (&error);
  text[size - 1] = '\0';
  memcpy (text, "{ x", 3);
  state = smarthost_state_new_from_json (text, SMARTHOST_JSON_FLAGS_NONE, &error);
  g_assert_null (state);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "state: not valid JSON: syntax error at line 1"));
}

/* Two spellings of one domain far apart among many are found (by a table
 * of the names seen, issue 10), null ones too, and many distinct domains
 * are all read. */
static void
test_many_domains (void)
{
  const guint n = 10000;

  for (guint variant = 0; variant < 3; variant++)
    {
      GString *text = g_string_new ("{\"server\": null, \"domains\": {");
      g_autoptr(GError) error = NULL;
      g_autoptr(SmarthostState) state = NULL;
      g_auto(GStrv) domains = NULL;

      for (guint i = 0; i < n; i++)
        g_string_append_printf (text, "%s\"d%05u.example\": %s", i ? ", " : "", i,
                                i % 2 ? "null" : "{\"host\": \"relay.example.net\"}");
      /* variant 1: d00010 again, a relay spelled otherwise, at the end;
       * variant 2: d00007 (null) again, as null, at the end. */
      if (variant == 1)
        g_string_append (text, ", \"D00010.Example.\": {\"host\": \"relay.example.net\"}");
      else if (variant == 2)
        g_string_append (text, ", \"d00007.EXAMPLE\": null");
      g_string_append (text, "}}");
      state = smarthost_state_new_from_json (text->str, SMARTHOST_JSON_FLAGS_NONE, &error);
      g_string_free (text, TRUE);
      if (variant == 0)
        {
          g_assert_no_error (error);
          domains = smarthost_state_list_domains (state);
          g_assert_cmpuint (g_strv_length (domains), ==, n / 2);
          continue;
        }
      g_assert_null (state);
      g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
      g_assert_cmpstr (error->message, ==,
                       variant == 1 ? "domains: \"d00010.example\" and \"D00010.Example.\" are the same domain, "
                                      "d00010.example; list it once"
                                    : "domains: \"d00007.example\" and \"d00007.EXAMPLE\" are the same domain, "
                                      "d00007.example; list it once");
    }
}

static void
test_effective_relay (void)
{
  g_autoptr(SmarthostState) state = smarthost_state_new ();
  g_autoptr(SmarthostRelay) server = smarthost_relay_new ("smtp.example.net");
  g_autoptr(SmarthostRelay) own = smarthost_relay_new ("relay.shop.example");

  g_assert_null (smarthost_state_get_effective_relay (state, "shop.example"));
  g_assert_null (smarthost_state_get_effective_relay (state, NULL));
  g_assert_true (smarthost_state_set_domain (state, "shop.example", own, NULL));
  /* No server relay: a domain without its own goes out directly. */
  g_assert_null (smarthost_state_get_effective_relay (state, "other.example"));
  smarthost_state_set_server (state, server);
  g_assert_cmpstr (smarthost_relay_get_host (smarthost_state_get_effective_relay (state, "Shop.Example.")), ==,
                   "relay.shop.example");
  g_assert_cmpstr (smarthost_relay_get_host (smarthost_state_get_effective_relay (state, "other.example")), ==,
                   "smtp.example.net");
  g_assert_cmpstr (smarthost_relay_get_host (smarthost_state_get_effective_relay (state, NULL)), ==,
                   "smtp.example.net");
  g_assert_true (smarthost_state_get_effective_relay (state, "not a domain") == smarthost_state_get_server (state));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (read_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/state/read/%s", read_cases[i].name);
      g_test_add_data_func (path, &read_cases[i], test_read);
    }
  g_test_add_func ("/state/passwords", test_passwords);
  g_test_add_func ("/state/effective-relay", test_effective_relay);
  g_test_add_func ("/state/write-and-read-back", test_write_and_read_back);
  g_test_add_func ("/state/deep-nesting", test_deep_nesting);
  g_test_add_func ("/state/nesting-limit", test_nesting_limit);
  g_test_add_func ("/state/too-large", test_too_large);
  g_test_add_func ("/state/many-domains", test_many_domains);
  return g_test_run ();
}
