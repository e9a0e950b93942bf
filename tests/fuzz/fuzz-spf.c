/* fuzz-spf.c: libFuzzer target for SPF records (smarthost-spf.c)
 *
 * The input is a mode byte, then NUL-separated fields: the record, the
 * include, the domain. Mode bits 0-2 pick the include from a table of real
 * relay services (7: the include field, else the first of the table); bit
 * 3 merges without a record (NULL); bit 4 merges with
 * smarthost_spf_merge_for_domain for the domain field (example.com if
 * there is none).
 *
 * Properties, besides the sanitizers:
 *  - an error is SMARTHOST_ERROR_INVALID with a UTF-8 message; warnings
 *    are UTF-8 too;
 *  - a merged record starts with v=spf1, holds no CR, LF or other control
 *    character, authorizes the include (smarthost_spf_authorizes), and is
 *    a fixed point: merging the same include again gives it back, without
 *    a warning about a rewritten or dropped include;
 *  - its lookups are those of the record, plus one unless the record
 *    already had an include of the service before `all`, none if the
 *    record already authorized it;
 *  - its zone text (smarthost_spf_to_zone_text) merged again with the
 *    same include gives it back;
 *  - merge_for_domain, when it succeeds, gives what merge gives;
 *  - for any text, the zone text is quoted strings of at most 255 bytes
 *    each once unescaped (the limit of a TXT string), which joined give
 *    the text back (also through the library's own unquoting); a string
 *    ends after a space whenever one fits in 255 bytes, and is UTF-8 when
 *    the text is.
 *
 * The static record_unquote is reached by including the source (run-fuzz.sh
 * then leaves it out of the library objects it links).
 *
 * Built by run-fuzz.sh with clang -fsanitize=fuzzer,address,undefined.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "smarthost-spf.c"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "smarthost-relay.h"

#define CHECK(cond, ...)                                                \
  do {                                                                  \
    if (!(cond))                                                        \
      {                                                                 \
        fprintf (stderr, "fuzz-spf: check failed: %s (%s:%d)\n",       \
                 #cond, __FILE__, __LINE__);                            \
        fprintf (stderr, __VA_ARGS__);                                  \
        abort ();                                                       \
      }                                                                 \
  } while (0)

static const char *services[] = {
  "sendgrid.net", "spf.brevo.com", "spf.sendinblue.com", "_spf.google.com",
  "amazonses.com", "mailgun.org", "spf.protection.outlook.com",
};

/* smarthost_spf_count_lookups, but for a record without any term. */
static guint
count_lookups (const char *record)
{
  return smarthost_spf_count_lookups (record);
}

static void
check_error (const GError *error)
{
  CHECK (g_error_matches (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID), "error: %s\n", error->message);
  CHECK (g_utf8_validate (error->message, -1, NULL), "the error is not UTF-8\n");
}

static void
check_warnings (char **warnings)
{
  CHECK (warnings != NULL, "no warning list\n");
  for (guint i = 0; warnings[i]; i++)
    CHECK (g_utf8_validate (warnings[i], -1, NULL), "warning %u is not UTF-8\n", i);
}

/* The zone text of any text: its strings, unescaped here independently of
 * the library, must join to the text. */
static void
check_zone_text (const char *text)
{
  g_autofree char *zone = smarthost_spf_to_zone_text (text);
  g_autoptr(GString) joined = g_string_new (NULL);
  g_autofree char *unquoted = NULL;
  gboolean utf8 = g_utf8_validate (text, -1, NULL);
  const char *p = zone;
  guint n = 0;

  while (*p)
    {
      g_autoptr(GString) s = g_string_new (NULL);
      const char *rest = text + joined->len;

      CHECK (*p == '"', "zone text %s: string %u does not start with a quote\n", zone, n);
      for (p++; *p != '"'; p++)
        {
          CHECK (*p != '\0', "zone text %s: unterminated string\n", zone);
          CHECK ((guchar) *p >= 0x20 && *p != 0x7f, "zone text %s: raw control character\n", zone);
          if (*p == '\\')
            {
              p++;
              if (g_ascii_isdigit (p[0]) && g_ascii_isdigit (p[1]) && g_ascii_isdigit (p[2]))
                {
                  int byte = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
                  CHECK (byte > 0 && byte < 256, "zone text %s: bad escape\n", zone);
                  g_string_append_c (s, (char) byte);
                  p += 2;
                  continue;
                }
              CHECK (*p == '"' || *p == '\\', "zone text %s: escapes '%c'\n", zone, *p);
            }
          g_string_append_c (s, *p);
        }
      p++;
      CHECK (s->len <= TXT_STRING_MAX, "zone text of %s: string %u is %zu bytes\n", text, n, s->len);
      CHECK (s->len > 0 || *text == '\0', "zone text %s: empty string %u\n", zone, n);
      if (utf8)
        CHECK (g_utf8_validate (s->str, s->len, NULL), "zone text %s: string %u is not UTF-8\n", zone, n);
      g_string_append_len (joined, s->str, s->len);
      if (*p)
        {
          /* Not the last string: cut after a space if one fits. */
          CHECK (s->str[s->len - 1] == ' ' || memchr (rest, ' ', TXT_STRING_MAX) == NULL,
                 "zone text %s: string %u splits a term though a space fits\n", zone, n);
          CHECK (*p == ' ' && p[1] == '"', "zone text %s: strings not separated by one space\n", zone);
          p++;
        }
      n++;
    }
  CHECK (n > 0, "zone text of %s is empty\n", text);
  CHECK (strcmp (joined->str, text) == 0, "zone text %s joins to\n%s\nnot\n%s\n", zone, joined->str, text);
  unquoted = record_unquote (zone, NULL);
  CHECK (unquoted != NULL && strcmp (unquoted, text) == 0, "zone text %s reads back as %s\n", zone,
         unquoted ? unquoted : "(error)");
}

/* Whether a warning of merge() says that it rewrote a qualified include
 * ("TERM does not authorize ...") or dropped one after all ("include:X
 * after TERM was never evaluated ..."). Terms hold no spaces, so the text
 * after the first space (or the second) is the message's own. */
static gboolean
is_rewrite_warning (const char *warning,
                    const char *include)
{
  g_autofree char *dropped = g_strdup_printf ("include:%s after ", include);
  const char *space = strchr (warning, ' ');

  if (space != NULL && g_str_has_prefix (space, " does not authorize "))
    return TRUE;
  if (!g_str_has_prefix (warning, dropped))
    return FALSE;
  space = strchr (warning + strlen (dropped), ' ');
  return space != NULL && g_str_has_prefix (space, " was never evaluated ");
}

static void
check_merged (const char *record,
              const char *include,
              const char *merged)
{
  g_autofree char *again = NULL;
  g_autofree char *zone = NULL;
  g_autofree char *from_zone = NULL;
  g_auto(GStrv) warnings = NULL;
  g_autoptr(GError) error = NULL;
  guint before, after;

  CHECK (g_str_has_prefix (merged, "v=spf1") && (merged[6] == '\0' || merged[6] == ' '),
         "merged record %s\n", merged);
  CHECK (g_utf8_validate (merged, -1, NULL), "merged record is not UTF-8\n");
  for (const char *p = merged; *p; p++)
    CHECK ((guchar) *p >= 0x20 && *p != 0x7f, "merged record %s has control character 0x%02x\n", merged,
           (guchar) *p);
  CHECK (smarthost_spf_authorizes (merged, include), "%s does not authorize %s\n", merged, include);

  before = record ? count_lookups (record) : 0;
  after = count_lookups (merged);
  CHECK (after == before || after == before + 1, "%u lookups in %s, %u in %s\n", before, record, after, merged);
  if (record != NULL && smarthost_spf_authorizes (record, include))
    CHECK (after == before, "%s authorized %s, yet %s has %u lookups, not %u\n", record, include, merged,
           after, before);

  again = smarthost_spf_merge (merged, include, &warnings, &error);
  CHECK (again != NULL, "merged %s does not merge again: %s\n", merged, error->message);
  CHECK (strcmp (again, merged) == 0, "merging %s into\n%s\ngives\n%s\n", include, merged, again);
  check_warnings (warnings);
  for (guint i = 0; warnings[i]; i++)
    CHECK (!is_rewrite_warning (warnings[i], include), "merging %s again into %s warns: %s\n", include, merged,
           warnings[i]);

  zone = smarthost_spf_to_zone_text (merged);
  from_zone = smarthost_spf_merge (zone, include, NULL, &error);
  CHECK (from_zone != NULL, "zone text %s does not merge: %s\n", zone, error->message);
  CHECK (strcmp (from_zone, merged) == 0, "zone text %s merges as\n%s\nnot\n%s\n", zone, from_zone, merged);
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) warnings = NULL;
  g_autofree char *merged = smarthost_spf_merge_for_domain ("example.com", "\"v=spf1 mx\" \" -all\"",
                                                            "spf.brevo.com", &warnings, NULL);
  g_autofree char *zone = smarthost_spf_to_zone_text (merged);

  g_assert_null (smarthost_spf_merge ("v=spf2", "sendgrid.net", NULL, &error));
  g_clear_error (&error);
  g_assert_null (smarthost_spf_merge_for_domain ("x", NULL, "sendgrid.net", NULL, &error));
  (void) argc;
  (void) argv;
  (void) zone;
  return 0;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *copy = NULL;
  const char *part[3] = { NULL };
  const char *p, *end, *record, *include, *domain;
  g_autofree char *merged = NULL;
  g_auto(GStrv) warnings = NULL;
  g_autoptr(GError) error = NULL;
  guint8 mode;
  guint n = 0;

  if (size == 0)
    return 0;
  mode = data[0];
  copy = g_malloc (size);
  memcpy (copy, data + 1, size - 1);
  copy[size - 1] = '\0';
  p = copy;
  end = copy + size - 1;
  while (n < 3 && p < end)
    {
      part[n++] = p;
      p += strlen (p) + 1;
    }
  record = (mode & 0x08) ? NULL : part[0] ? part[0] : "";
  include = (mode & 7) < G_N_ELEMENTS (services) ? services[mode & 7] : part[1] ? part[1] : services[0];
  domain = part[2] && *part[2] ? part[2] : "example.com";

  if (record != NULL)
    {
      (void) count_lookups (record);
      (void) smarthost_spf_authorizes (record, include);
      check_zone_text (record);
    }

  if (mode & 0x10)
    {
      merged = smarthost_spf_merge_for_domain (domain, record, include, &warnings, &error);
      if (merged != NULL)
        {
          g_autofree char *plain = smarthost_spf_merge (record, include, NULL, NULL);
          CHECK (plain != NULL && strcmp (plain, merged) == 0, "for %s, merging %s into %s gives %s, not %s\n",
                 domain, include, record, merged, plain ? plain : "(error)");
        }
    }
  else
    merged = smarthost_spf_merge (record, include, &warnings, &error);
  if (merged == NULL)
    {
      check_error (error);
      CHECK (warnings == NULL, "warnings with an error\n");
      return 0;
    }
  check_warnings (warnings);
  check_merged (record, include, merged);
  return 0;
}
