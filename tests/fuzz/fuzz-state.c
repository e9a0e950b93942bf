/* fuzz-state.c: libFuzzer target for states and relays in JSON
 *
 * The input is a state as `smarthostctl apply` reads it (inline passwords
 * allowed, so that they are exercised).
 *
 * Properties, besides the sanitizers:
 *  - an error is SMARTHOST_ERROR_INVALID, valid UTF-8, and never quotes an
 *    inline password of the input (a JSON syntax error included);
 *  - a state it reads is written (to_json) as JSON that reads back, without
 *    inline passwords, to a state written the same way: passwords are
 *    written as "password_set" only, and kept when read back.
 *
 * Built by run-fuzz.sh with clang -fsanitize=fuzzer,address,undefined.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <smarthost.h>

#define CHECK(cond, ...)                                                \
  do {                                                                  \
    if (!(cond))                                                        \
      {                                                                 \
        fprintf (stderr, "fuzz-state: check failed: %s (%s:%d)\n",     \
                 #cond, __FILE__, __LINE__);                            \
        fprintf (stderr, __VA_ARGS__);                                  \
        abort ();                                                       \
      }                                                                 \
  } while (0)

/* What follows each "password": in the input, quoted or not, up to the
 * next quote, comma, brace or space: the secret an error must not show. */
static GPtrArray *
inline_passwords (const char *text)
{
  GPtrArray *found = g_ptr_array_new_with_free_func (g_free);
  const char *p = text;

  while ((p = strstr (p, "\"password\"")) != NULL)
    {
      const char *v = p + strlen ("\"password\"");
      gsize n;

      while (*v == ' ' || *v == ':' || *v == '\t' || *v == '\n')
        v++;
      if (*v == '"')
        v++;
      n = strcspn (v, "\",} \t\n");
      if (n >= 6)
        {
          /* A secret that appears elsewhere in the input too (as a key,
           * a host, a domain) may be quoted as that. */
          g_autofree char *secret = g_strndup (v, n);
          const char *first = strstr (text, secret);
          if (first != NULL && strstr (first + 1, secret) == NULL)
            g_ptr_array_add (found, g_steal_pointer (&secret));
        }
      p = v;
    }
  return found;
}

/* What the library sets up once and keeps (types, the provider presets,
 * error quarks) is made before the first input, so that LeakSanitizer
 * does not take it for a leak of that input. */
int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  static const char warm_up[] =
    "{\"server\": {\"provider\": \"ses\", \"region\": \"eu-west-1\"}, \"domains\": "
    "{\"a.example\": {\"host\": \"x.example.net\", \"security\": \"tls\", \"port\": 1}}}";
  g_autoptr(GPtrArray) providers = smarthost_provider_list ();
  g_autoptr(SmarthostState) state = smarthost_state_new_from_json (warm_up, SMARTHOST_JSON_FLAGS_NONE, NULL);
  g_autoptr(GError) error = NULL;

  g_free (state ? smarthost_state_to_json (state) : NULL);
  g_assert_null (smarthost_state_new_from_json ("{", SMARTHOST_JSON_FLAGS_NONE, &error));
  (void) argc;
  (void) argv;
  (void) providers;
  g_setenv ("SMARTHOST_FUZZ_PW", "Fuzz-Env-Secret", TRUE);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autoptr(GError) error = NULL;
  g_autoptr(SmarthostState) state = NULL;

  state = smarthost_state_new_from_json (text,
                                         SMARTHOST_JSON_FLAGS_ALLOW_INLINE_PASSWORD, &error);
  if (state == NULL)
    {
      g_autoptr(GPtrArray) secrets = inline_passwords (text);

      CHECK (g_error_matches (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID), "error: %s\n", error->message);
      CHECK (g_utf8_validate (error->message, -1, NULL), "the error is not UTF-8\n");
      /* What the error quotes is before the list of known keys, which is
       * the library's own text: a password "password_set" is one of those
       * names there without being quoted. */
      {
        g_autofree char *quoted = g_strdup (error->message);
        char *known = strstr (quoted, "; known: ");

        if (known != NULL)
          *known = '\0';
        for (guint i = 0; i < secrets->len; i++)
          CHECK (strstr (quoted, g_ptr_array_index (secrets, i)) == NULL,
                 "the error quotes an inline password: %s\n", error->message);
      }
      return 0;
    }

  {
    g_autofree char *out = smarthost_state_to_json (state);
    g_autoptr(SmarthostState) again = NULL;
    g_autofree char *out2 = NULL;

    CHECK (strstr (out, "\"password\"") == NULL, "a password was written: %s\n", out);
    again = smarthost_state_new_from_json (out, SMARTHOST_JSON_FLAGS_NONE, &error);
    CHECK (again != NULL, "%s does not read back: %s\n", out, error->message);
    out2 = smarthost_state_to_json (again);
    CHECK (g_str_equal (out, out2), "not a fixed point:\n%s\n%s\n", out, out2);
  }
  return 0;
}
