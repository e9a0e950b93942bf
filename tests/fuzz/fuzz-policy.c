/* fuzz-policy.c: libFuzzer target for the policy file (smarthost-policy.c)
 *
 * The input is a policy file: Plesk-style INI, `[mail]` and its
 * `smarthost.*` keys. It is read twice: by smarthost_policy_new_from_file
 * (written to a file in a temporary folder of this process, removed at
 * exit) and by the static parse_policy (this target includes the source;
 * run-fuzz.sh then leaves it out of the library objects it links).
 *
 * Properties, besides the sanitizers:
 *  - a file that is not UTF-8 text, or holds a NUL byte, is an error;
 *  - an error is SMARTHOST_ERROR_INVALID, UTF-8, starts with "policy: ",
 *    names the file and, for a line it refuses, a line the file has;
 *  - both readings agree;
 *  - a policy read is what a simple reading of the file gives: for each of
 *    the five keys, the last `key = boolean` line of the group [mail]
 *    (quoted or not, a `; comment` after it), else the default; every
 *    line whose key starts with `smarthost.` (in any case) is such a line,
 *    since anything else must be an error, not ignored;
 *  - smarthost_policy_check_change refuses every change in restricted
 *    mode and a disabled kind of change, with SMARTHOST_ERROR_DISABLED
 *    naming the key and the file, and allows the others.
 *
 * Built by run-fuzz.sh with clang -fsanitize=fuzzer,address,undefined.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "smarthost-policy.c"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <glib/gstdio.h>

static void remove_tmp_dir (void);

#define CHECK(cond, ...)                                                \
  do {                                                                  \
    if (!(cond))                                                        \
      {                                                                 \
        fprintf (stderr, "fuzz-policy: check failed: %s (%s:%d)\n",    \
                 #cond, __FILE__, __LINE__);                            \
        fprintf (stderr, __VA_ARGS__);                                  \
        remove_tmp_dir ();                                              \
        abort ();                                                       \
      }                                                                 \
  } while (0)

static char *tmp_dir;
static char *policy_path;

static const char *keys[] = {
  KEY_SERVER_ENABLED, KEY_DOMAIN_ENABLED, KEY_SERVER_CHECK_CERT, KEY_DOMAIN_CHECK_CERT, KEY_RESTRICTED,
};

/* What a policy file sets, read here on its own. */
typedef struct {
  gboolean value[G_N_ELEMENTS (keys)];
  gboolean stray;        /* a smarthost. line that is not a known key = boolean in [mail] */
  guint stray_line;
} Expected;

static gboolean
expected_bool (const char *value,
               gboolean   *out)
{
  static const char *words[] = { "true", "yes", "on", "1", "false", "no", "off", "0" };

  for (guint i = 0; i < G_N_ELEMENTS (words); i++)
    if (g_ascii_strcasecmp (value, words[i]) == 0)
      return *out = i < 4, TRUE;
  return FALSE;
}

/* The value of a line: between quotes (a comment may follow), or up to a
 * `;`, without surrounding blanks. NULL when it is neither. */
static char *
expected_value (const char *text)
{
  g_autofree char *v = g_strstrip (g_strdup (text));

  if (*v == '"' || *v == '\'')
    {
      const char *close = strchr (v + 1, *v);
      g_autofree char *rest = NULL;

      if (close == NULL)
        return NULL;
      rest = g_strstrip (g_strdup (close + 1));
      if (*rest != '\0' && *rest != ';')
        return NULL;
      return g_strndup (v + 1, close - v - 1);
    }
  v[strcspn (v, ";")] = '\0';
  return g_strstrip (g_strdup (v));
}

static void
expect (const char *text,
        Expected   *e)
{
  /* Lines as PHP's INI reader (Plesk reads panel.ini with it) ends them:
   * also at a lone CR, which the library refuses (checked by the caller),
   * so that ";\rsmarthost.restricted = true" is never a comment to it
   * and a setting to Plesk. */
  g_auto(GStrv) lines = g_regex_split_simple ("\r\n|\r|\n", text, 0, 0);
  g_autofree char *group = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    e->value[i] = !g_str_equal (keys[i], KEY_RESTRICTED);
  e->stray = FALSE;
  for (guint n = 0; lines[n]; n++)
    {
      g_autofree char *line = g_strstrip (g_strdup (lines[n]));
      g_autofree char *key = NULL;
      g_autofree char *value = NULL;
      const char *eq;
      gboolean b, known = FALSE;

      if (*line == '\0' || *line == ';' || *line == '#')
        continue;
      if (*line == '[')
        {
          const char *close = strchr (line, ']');
          if (close != NULL)
            {
              g_free (group);
              group = g_strstrip (g_strndup (line + 1, close - line - 1));
            }
          continue;
        }
      eq = strchr (line, '=');
      if (eq == NULL)
        continue;
      key = g_strstrip (g_strndup (line, eq - line));
      if (g_ascii_strncasecmp (key, "smarthost.", 10) != 0)
        continue;
      value = expected_value (eq + 1);
      for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
        if (g_str_equal (key, keys[i]) && g_strcmp0 (group, "mail") == 0 && value != NULL &&
            expected_bool (value, &b))
          {
            e->value[i] = b;
            known = TRUE;
          }
      if (!known && !e->stray)
        {
          e->stray = TRUE;
          e->stray_line = n + 1;
        }
    }
}

static void
check_error (const GError *error,
             const char   *text)
{
  const char *line;

  CHECK (g_error_matches (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID) ||
         g_error_matches (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED), "error: %s\n", error->message);
  CHECK (g_utf8_validate (error->message, -1, NULL), "the error is not UTF-8\n");
  CHECK (g_str_has_prefix (error->message, "policy: ") && strstr (error->message, policy_path) != NULL,
         "the error '%s' does not name the file\n", error->message);
  line = strstr (error->message, ", line ");
  if (line != NULL && text != NULL)
    {
      guint64 n = g_ascii_strtoull (line + strlen (", line "), NULL, 10);
      guint lines = 1;

      for (const char *p = text; *p; p++)
        lines += *p == '\n';
      CHECK (n >= 1 && n <= lines, "the error '%s' names line %" G_GUINT64_FORMAT " of %u\n", error->message, n,
             lines);
    }
}

static void
check_change (SmarthostPolicy *policy,
              gboolean         for_domain)
{
  g_autoptr(GError) error = NULL;
  gboolean allowed = smarthost_policy_check_change (policy, for_domain, &error);
  gboolean enabled = for_domain ? smarthost_policy_get_domain_enabled (policy)
                                : smarthost_policy_get_server_enabled (policy);
  const char *key = smarthost_policy_get_restricted (policy) ? KEY_RESTRICTED
                    : for_domain ? KEY_DOMAIN_ENABLED : KEY_SERVER_ENABLED;

  if (!smarthost_policy_get_restricted (policy) && enabled)
    {
      CHECK (allowed, "a change (domain: %d) is refused: %s\n", for_domain, error->message);
      return;
    }
  CHECK (!allowed, "a change (domain: %d) is allowed: restricted %d, enabled %d\n", for_domain,
         smarthost_policy_get_restricted (policy), enabled);
  CHECK (g_error_matches (error, SMARTHOST_ERROR, SMARTHOST_ERROR_DISABLED), "error: %s\n", error->message);
  CHECK (g_str_has_prefix (error->message, key) && strstr (error->message, policy_path) != NULL,
         "the error '%s' does not name %s and the file\n", error->message, key);
}

static void
remove_tmp_dir (void)
{
  g_unlink (policy_path);
  g_rmdir (tmp_dir);
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  static const char warm_up[] = "[mail]\nsmarthost.restricted = \"on\" ; x\nsmarthost.x = 1\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(SmarthostPolicy) policy = NULL;

  tmp_dir = g_dir_make_tmp ("fuzz-policy-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  policy_path = g_build_filename (tmp_dir, "policy.ini", NULL);
  atexit (remove_tmp_dir);

  g_assert_true (g_file_set_contents (policy_path, warm_up, -1, NULL));
  g_assert_null (smarthost_policy_new_from_file (policy_path, &error));
  g_clear_error (&error);
  g_assert_true (g_file_set_contents (policy_path, "[mail]\nsmarthost.restricted = 1\n", -1, NULL));
  policy = smarthost_policy_new_from_file (policy_path, &error);
  g_assert_false (smarthost_policy_check_change (policy, TRUE, &error));
  g_clear_error (&error);
  g_assert_null (smarthost_policy_new_from_file ("/nonexistent/policy.ini", &error));
  (void) argc;
  (void) argv;
  return 0;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(SmarthostPolicy) policy = NULL;
  g_autoptr(SmarthostPolicy) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) parse_error = NULL;
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autofree char *copy = NULL;
  gboolean is_text = memchr (data, '\0', size) == NULL && g_utf8_validate (text, -1, NULL);
  gboolean parse_ok;
  Expected e;
  FILE *f;

  f = fopen (policy_path, "wb");
  CHECK (f != NULL && fwrite (data, 1, size, f) == size && fclose (f) == 0, "cannot write %s\n", policy_path);
  policy = smarthost_policy_new_from_file (policy_path, &error);
  if (!is_text)
    {
      CHECK (policy == NULL, "a file that is not UTF-8 text is read as a policy\n");
      check_error (error, NULL);
      return 0;
    }

  copy = g_strdup (text);
  parsed = smarthost_policy_new ();
  parse_ok = parse_policy (parsed, policy_path, copy, &parse_error);
  CHECK (parse_ok == (policy != NULL), "parse_policy: %d, from the file: %s\n", parse_ok,
         error ? error->message : "a policy");
  if (policy == NULL)
    {
      check_error (error, text);
      CHECK (g_str_equal (error->message, parse_error->message), "errors %s and %s\n", error->message,
             parse_error->message);
      return 0;
    }

  CHECK (g_strcmp0 (smarthost_policy_get_path (policy), policy_path) == 0, "path %s\n",
         smarthost_policy_get_path (policy));
  for (const char *cr = strchr (text, '\r'); cr != NULL; cr = strchr (cr + 1, '\r'))
    CHECK (cr[1] == '\n' || cr[1] == '\0',
           "a policy with a lone carriage return is read (PHP ends a line there)\n");
  expect (text, &e);
  CHECK (!e.stray, "line %u of a policy read sets a smarthost. key, but not as a known key = boolean in [mail]\n",
         e.stray_line);
  {
    gboolean got[G_N_ELEMENTS (keys)] = {
      smarthost_policy_get_server_enabled (policy), smarthost_policy_get_domain_enabled (policy),
      smarthost_policy_get_check_certificate (policy, FALSE), smarthost_policy_get_check_certificate (policy, TRUE),
      smarthost_policy_get_restricted (policy),
    };
    gboolean got_parsed[G_N_ELEMENTS (keys)] = {
      parsed->server_enabled, parsed->domain_enabled, parsed->server_check_certificate,
      parsed->domain_check_certificate, parsed->restricted,
    };

    for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
      {
        CHECK (got[i] == e.value[i], "%s is %d, the file says %d\n", keys[i], got[i], e.value[i]);
        CHECK (got_parsed[i] == got[i], "%s: %d read from the file, %d parsed\n", keys[i], got[i], got_parsed[i]);
      }
  }
  check_change (policy, FALSE);
  check_change (policy, TRUE);
  return 0;
}
