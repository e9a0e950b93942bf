/* smarthost-spf.c: SPF records that authorize a relay service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-error.h"
#include "smarthost-private.h"
#include "smarthost-spf.h"
#include "smarthost-util-private.h"

/*
 * A relay service sends mail in the sender domain's name, so the domain's
 * SPF record (RFC 7208) must include the service. Implementation notes, the
 * rules of RFC 7208 the merge follows:
 *
 * - Mechanisms are tried in order and the first match decides (4.6.2), so
 *   only a pass-qualified `include:X` (or `+include:X`) authorizes X;
 *   `~include:X` softfails, `-include:X` fails and `?include:X` is neutral
 *   for X's servers. The first include of X before `all` is the one that
 *   counts: a qualified one is rewritten as `include:X` where it stands.
 * - Nothing after `all` is ever tried (5.1). The include goes just before
 *   `all`; a copy of it after `all` is dead and is dropped (it is ours),
 *   other mechanisms there are kept and warned about.
 * - Modifiers (`redirect=`, `exp=`, unknown `name=value`) may stand
 *   anywhere and do not take part in the order (4.6.3, 6): without `all`,
 *   the include goes after the last mechanism, so it is tried before a
 *   `redirect=`; modifiers stay where they are. `redirect=` is ignored in
 *   a record that has `all` (6.1).
 * - Domains compare without case and without their root dot (4.3).
 * - A TXT record is a list of strings of at most 255 bytes, which SPF
 *   joins without spaces (3.3): dig and zone files quote them, so quoted
 *   input is joined, and a long record must be published as several
 *   strings ([func@spf_to_zone_text]).
 * - At most ten terms may make DNS lookups (4.6.4); past that, every
 *   check fails with permerror. A record that includes itself loops until
 *   it hits the limit.
 */

/* The longest string of a TXT record: its length is one byte (RFC 1035). */
#define TXT_STRING_MAX 255

/* Services known under two names. Including both costs two of the ten
 * lookups for the same servers, so a record holding the other name while
 * adding one of these gets a warning. Only names the services themselves
 * document as aliases belong here. */
static const struct {
  const char *name;     /* the name the service documents today */
  const char *old;
  const char *service;
} aliases[] = {
  { "spf.brevo.com", "spf.sendinblue.com", "Brevo" },   /* Sendinblue became Brevo in 2023 */
};

static gboolean
is_include_domain (const char *text)
{
  gsize len = strlen (text);

  if (len == 0 || len > 253 || text[0] == '.' || text[0] == '-')
    return FALSE;
  for (const char *p = text; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.' && *p != '_')
      return FALSE;
  return strchr (text, '.') != NULL && strstr (text, "..") == NULL;
}

/* Whether two domain-specs name the same domain: DNS ignores case, and
 * "sendgrid.net." is "sendgrid.net" written from the root. */
static gboolean
same_domain (const char *a,
             const char *b)
{
  gsize la = strlen (a), lb = strlen (b);

  if (la > 1 && a[la - 1] == '.')
    la--;
  if (lb > 1 && b[lb - 1] == '.')
    lb--;
  return la == lb && la > 0 && g_ascii_strncasecmp (a, b, la) == 0;
}

/* The term without its qualifier, and whether it is a modifier. */
static const char *
term_name (const char *term,
           gboolean   *modifier)
{
  const char *t = term;
  gsize n;

  if (*t == '+' || *t == '-' || *t == '~' || *t == '?')
    t++;
  n = strcspn (t, ":=/");
  *modifier = t[n] == '=';
  return t;
}

static gboolean
is_modifier (const char *term)
{
  gboolean modifier;

  term_name (term, &modifier);
  return modifier;
}

static gboolean
term_is (const char *term,
         const char *mechanism)
{
  gboolean modifier;
  const char *t = term_name (term, &modifier);
  gsize n = strlen (mechanism);

  return !modifier && g_ascii_strncasecmp (t, mechanism, n) == 0 &&
         (t[n] == '\0' || t[n] == ':' || t[n] == '/');
}

/* The value of a `name=value` modifier, or NULL for another term. */
static const char *
modifier_value (const char *term,
                const char *name)
{
  gsize n = strlen (name);

  return g_ascii_strncasecmp (term, name, n) == 0 && term[n] == '=' ? term + n + 1 : NULL;
}

/* The domain of an `include:` mechanism, or NULL for another term. */
static const char *
include_target (const char *term)
{
  return term_is (term, "include") && strchr (term, ':') ? strchr (term, ':') + 1 : NULL;
}

static gboolean
includes (const char *term,
          const char *domain)
{
  const char *target = include_target (term);

  return target != NULL && same_domain (target, domain);
}

/* What a match of a term with this qualifier gives (RFC 7208, 4.6.2). */
static const char *
qualifier_result (const char *term)
{
  switch (term[0])
    {
    case '-': return "fail";
    case '~': return "softfail";
    case '?': return "neutral";
    default:  return "pass";
    }
}

/* The entry of aliases[] when a and b are two names of one service. */
static int
find_alias (const char *a,
            const char *b)
{
  for (guint i = 0; i < G_N_ELEMENTS (aliases); i++)
    if ((same_domain (a, aliases[i].name) && same_domain (b, aliases[i].old)) ||
        (same_domain (a, aliases[i].old) && same_domain (b, aliases[i].name)))
      return i;
  return -1;
}

/* dig and zone files show a TXT record as quoted strings, "v=spf1 a " "-all",
 * with \" \\ and \DDD escapes; SPF reads the strings joined without spaces
 * (RFC 7208, 3.3). Anything that does not start with a quote is the record
 * itself. */
static char *
record_unquote (const char  *record,
                GError     **error)
{
  g_autoptr(GString) out = NULL;
  const char *p = record;

  while (*p == ' ' || *p == '\t')
    p++;
  if (*p != '"')
    return g_strdup (record);

  out = g_string_new (NULL);
  while (*p)
    {
      if (*p == ' ' || *p == '\t')
        {
          p++;
          continue;
        }
      if (*p != '"')
        return _smarthost_set_invalid (error, "record", "has text outside the quotes of its strings: give the record "
                                                        "unquoted, or each of its strings in double quotes"), NULL;
      for (p++; *p != '"'; p++)
        {
          gboolean escaped = *p == '\\';

          if (escaped)
            p++;
          if (*p == '\0')
            return _smarthost_set_invalid (error, "record", "has a quoted string without its closing quote"), NULL;
          if (escaped && g_ascii_isdigit (p[0]) && g_ascii_isdigit (p[1]) && g_ascii_isdigit (p[2]))
            {
              int byte = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');

              if (byte == 0 || byte > 255)
                return _smarthost_set_invalid (error, "record", "has a \\DDD escape that is not a byte from 1 to 255"), NULL;
              g_string_append_c (out, (char) byte);
              p += 2;
            }
          else
            g_string_append_c (out, *p);
        }
      p++;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* The record as one line of text: unquoted, and refused when it is not
 * text, since it ends up in a zone file or a DNS control panel. */
static char *
record_text (const char  *record,
             GError     **error)
{
  g_autofree char *text = NULL;

  if (!g_utf8_validate (record, -1, NULL))
    return _smarthost_set_invalid (error, "record", "must be valid UTF-8"), NULL;
  text = record_unquote (record, error);
  if (text == NULL)
    return NULL;
  if (!g_utf8_validate (text, -1, NULL))
    return _smarthost_set_invalid (error, "record", "must be valid UTF-8"), NULL;
  for (const char *p = text; *p; p++)
    if (((guchar) *p < 0x20 && *p != '\t') || *p == 0x7f)
      return _smarthost_set_invalid (error, "record", "must be one line of text, without control characters"), NULL;
  return g_steal_pointer (&text);
}

static char **
split_terms (const char *record)
{
  g_auto(GStrv) parts = g_strsplit_set (record, " \t", 0);
  GStrvBuilder *b = g_strv_builder_new ();
  char **terms;

  for (guint i = 0; parts[i]; i++)
    if (*parts[i])
      g_strv_builder_add (b, parts[i]);
  terms = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return terms;
}

/* The first `all` mechanism, or -1. */
static int
find_all (char **terms)
{
  /* terms[0] is the version, when there is one at all. */
  for (int i = 1; terms[0] != NULL && terms[i]; i++)
    if (term_is (terms[i], "all"))
      return i;
  return -1;
}

/**
 * smarthost_spf_count_lookups:
 * @record: an SPF record, plain or as quoted strings
 *
 * Counts the terms of @record that make a DNS lookup when it is checked:
 * the `include`, `a`, `mx`, `ptr` and `exists` mechanisms before the first
 * `all` (those after it are never tried), and the `redirect` modifier
 * unless the record has an `all` mechanism (which makes `redirect`
 * ignored, RFC 7208, 6.1). Lookups made inside the included records are
 * not counted: they need DNS.
 *
 * Returns: the number of DNS-querying terms
 */
guint
smarthost_spf_count_lookups (const char *record)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) terms = NULL;
  int all;
  guint n = 0;

  g_return_val_if_fail (record != NULL, 0);

  /* Badly quoted text is counted as written: this only counts. */
  text = record_unquote (record, NULL);
  terms = split_terms (text ? text : record);
  all = find_all (terms);
  for (int i = 0; terms[i]; i++)
    {
      if (is_modifier (terms[i]))
        n += all < 0 && modifier_value (terms[i], "redirect") != NULL;
      else if (all < 0 || i < all)
        n += term_is (terms[i], "include") || term_is (terms[i], "a") || term_is (terms[i], "mx") ||
             term_is (terms[i], "ptr") || term_is (terms[i], "exists");
    }
  return n;
}

static void
warn (GStrvBuilder *warnings,
      const char   *format,
      ...) G_GNUC_PRINTF (2, 3);

static void
warn (GStrvBuilder *warnings,
      const char   *format,
      ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_strv_builder_add (warnings, text);
}

/* The terms of the record to merge @include into ("v=spf1 ~all" for no
 * record), once both are checked. */
static char **
record_terms (const char  *domain,
              const char  *record,
              const char  *include,
              GError     **error)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) terms = NULL;

  if (!is_include_domain (include))
    return _smarthost_set_invalid (error, "include", "is not a domain name"), NULL;
  if (domain != NULL && same_domain (include, domain))
    return _smarthost_set_invalid (error, "include", "is the domain itself: a record that includes itself loops until "
                                                     "the limit of 10 DNS lookups and fails (RFC 7208, 4.6.4)"), NULL;
  if (record != NULL && (text = record_text (record, error)) == NULL)
    return NULL;

  terms = split_terms (text ? text : "");
  if (terms[0] == NULL)
    {
      g_strfreev (terms);
      terms = split_terms ("v=spf1 ~all");
    }
  if (g_ascii_strcasecmp (terms[0], "v=spf1") != 0)
    return _smarthost_set_invalid (error, "record", "is not an SPF record: it must start with v=spf1"), NULL;
  return g_steal_pointer (&terms);
}

/* The first include of @include that is tried (before @all), or -1; and
 * in *last_mechanism the last mechanism tried, or 0 for none. */
static int
find_live_include (char       **terms,
                   int          all,
                   const char  *include,
                   int         *last_mechanism)
{
  int live = -1;

  *last_mechanism = 0;
  for (int i = 1; terms[i] && (all < 0 || i < all); i++)
    if (!is_modifier (terms[i]))
      {
        *last_mechanism = i;
        if (live < 0 && includes (terms[i], include))
          live = i;
      }
  return live;
}

/* The record with @include authorized: the include that is tried made
 * pass-qualified, or a new one added; copies after `all` dropped. */
static GString *
add_include (char         **terms,
             int            all,
             const char    *include,
             GStrvBuilder  *warn_b)
{
  GString *out = g_string_new ("v=spf1");
  g_autoptr(GString) dead = g_string_new (NULL);
  gboolean dropped = FALSE;
  int last_mechanism;
  int live = find_live_include (terms, all, include, &last_mechanism);
  /* Without an include of ours that is tried, a new one goes before `all`,
   * or else after the last mechanism, ahead of any redirect= after it. */
  int insert_at = live >= 0 ? -1 : all >= 0 ? all : last_mechanism + 1;

  for (int i = 1;; i++)
    {
      if (i == insert_at)
        g_string_append_printf (out, " include:%s", include);
      if (terms[i] == NULL)
        break;
      if (i == live && !g_str_equal (qualifier_result (terms[i]), "pass"))
        {
          warn (warn_b, "%s does not authorize %s: a match gives %s, not pass (RFC 7208, 4.6.2); it is now include:%s",
                terms[i], include_target (terms[i]), qualifier_result (terms[i]), include_target (terms[i]));
          g_string_append_printf (out, " include:%s", include_target (terms[i]));
          continue;
        }
      if (all >= 0 && i > all && includes (terms[i], include))
        {
          dropped = TRUE;
          continue;
        }
      if (all >= 0 && i > all && !is_modifier (terms[i]))
        g_string_append_printf (dead, " %s", terms[i]);
      g_string_append_printf (out, " %s", terms[i]);
    }

  if (dropped)
    warn (warn_b, "include:%s after %s was never evaluated (RFC 7208, 5.1): it is dropped, and the include "
          "before %s authorizes %s", include, terms[all], terms[all], include);
  if (dead->len)
    warn (warn_b, "terms after %s are never evaluated (RFC 7208, 5.1):%s; move them before %s or drop them",
          terms[all], dead->str, terms[all]);
  return out;
}

/* What else is wrong with the record, term by term: an `all` that passes
 * everyone, a redirect= that is ignored, a term that loops back to
 * @domain, a service's old and new include side by side. */
static void
warn_about_terms (char         **terms,
                  int            all,
                  const char    *domain,
                  const char    *include,
                  GStrvBuilder  *warn_b)
{
  if (all >= 0 && terms[all][0] != '-' && terms[all][0] != '~' && terms[all][0] != '?')
    warn (warn_b, "%s%s lets every host on the Internet pass as the domain: anyone can send mail in its name, and "
          "the include changes nothing; end the record with ~all or -all (RFC 7208, 5.1)",
          terms[all], terms[all][0] == '+' ? "" : " (no qualifier: +all)");
  for (int i = 1; terms[i]; i++)
    {
      const char *redirect = modifier_value (terms[i], "redirect");
      const char *target = redirect ? redirect : include_target (terms[i]);
      gboolean tried = redirect ? all < 0 : all < 0 || i < all;
      int alias;

      if (redirect && all >= 0)
        warn (warn_b, "%s is ignored because the record has an all term (RFC 7208, 6.1)", terms[i]);
      if (!tried || target == NULL)
        continue;
      if (domain && same_domain (target, domain))
        warn (warn_b, "%s makes the record of %s use itself: checking it loops until the limit of %u DNS lookups "
              "and fails with permerror (RFC 7208, 4.6.4); drop it", terms[i], domain, SMARTHOST_SPF_MAX_LOOKUPS);
      if (redirect == NULL && (alias = find_alias (target, include)) >= 0)
        warn (warn_b, "%s and include:%s are %s's old and new names for the same servers, and each costs one of "
              "the %u DNS lookups (RFC 7208, 4.6.4): keep only include:%s", terms[i], include,
              aliases[alias].service, SMARTHOST_SPF_MAX_LOOKUPS, aliases[alias].name);
    }
}

/* The limits the merged record @out may break: DNS lookups, and the
 * length of one TXT string. */
static void
warn_about_limits (GString      *out,
                   GStrvBuilder *warn_b)
{
  guint lookups = smarthost_spf_count_lookups (out->str);

  if (lookups > SMARTHOST_SPF_MAX_LOOKUPS)
    warn (warn_b, "the record has %u DNS-querying terms, more than the %u that RFC 7208 allows (not counting "
          "those inside includes): every check of it would fail; flatten or drop some includes",
          lookups, SMARTHOST_SPF_MAX_LOOKUPS);
  if (out->len > TXT_STRING_MAX)
    warn (warn_b, "the record is %" G_GSIZE_FORMAT " characters long, more than the %u of one TXT string: publish "
          "it as several quoted strings in one TXT record, which SPF joins without spaces (RFC 7208, 3.3)",
          out->len, TXT_STRING_MAX);
}

static char *
merge (const char   *domain,
       const char   *record,
       const char   *include,
       char       ***warnings,
       GError      **error)
{
  g_autoptr(GStrvBuilder) warn_b = g_strv_builder_new ();
  g_autoptr(GString) out = NULL;
  g_auto(GStrv) terms = NULL;
  int all;

  if (warnings)
    *warnings = NULL;
  terms = record_terms (domain, record, include, error);
  if (terms == NULL)
    return NULL;
  all = find_all (terms);
  out = add_include (terms, all, include, warn_b);
  warn_about_terms (terms, all, domain, include, warn_b);
  warn_about_limits (out, warn_b);

  if (warnings)
    *warnings = g_strv_builder_end (warn_b);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/**
 * smarthost_spf_merge:
 * @record: (nullable): the domain's current SPF record, or %NULL when it
 *   has none; plain, or as the quoted strings dig prints
 * @include: the relay service's SPF domain, such as `sendgrid.net`
 * @warnings: (out) (optional) (array zero-terminated=1) (transfer full):
 *   return location for warnings about the record, such as more than
 *   [const@SPF_MAX_LOOKUPS] DNS lookups or a qualified include that was
 *   rewritten
 * @error: return location for a #GError
 *
 * Makes an SPF record authorize @include: the first `include:@include`
 * that is tried must be pass-qualified, so a `~include:`, `-include:` or
 * `?include:` of it is rewritten as `include:@include` where it stands.
 * Without one, `include:@include` is added just before the `all`
 * mechanism, or without `all` after the last mechanism (so before a
 * `redirect=`). Every other term keeps its place, and copies of the
 * include after `all`, which are never evaluated, are dropped. Domains
 * compare without case or root dot. Without a record, the result is
 * `v=spf1 include:@include ~all`.
 *
 * A record given as quoted strings, `"v=spf1 a" " -all"`, is read as the
 * strings joined without spaces (RFC 7208, 3.3). The result is one
 * unquoted line; [func@spf_to_zone_text] quotes it for a zone file.
 *
 * This is [func@spf_merge_for_domain] without the checks that need the
 * domain's name.
 *
 * Returns: (transfer full): the merged record, or %NULL with @error set to
 *   %SMARTHOST_ERROR_INVALID when @record is not an SPF record or @include
 *   is not a domain
 */
char *
smarthost_spf_merge (const char   *record,
                     const char   *include,
                     char       ***warnings,
                     GError      **error)
{
  g_return_val_if_fail (include != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return merge (NULL, record, include, warnings, error);
}

/**
 * smarthost_spf_authorizes:
 * @record: (nullable): an SPF record, plain or as quoted strings; %NULL
 *   for none
 * @include: a relay service's SPF domain, such as `sendgrid.net`
 *
 * Tells whether @record already authorizes the servers of @include: its
 * first `include:` of @include that is tried (before `all`) gives pass.
 * When it does, [func@spf_merge] only tidies the record; when it does not,
 * the domain's record must change for mail through the relay to pass SPF.
 *
 * Returns: %TRUE if @record is an SPF record that authorizes @include
 */
gboolean
smarthost_spf_authorizes (const char *record,
                          const char *include)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) terms = NULL;
  int all;

  g_return_val_if_fail (include != NULL, FALSE);

  if (record == NULL || (text = record_text (record, NULL)) == NULL)
    return FALSE;
  terms = split_terms (text);
  if (terms[0] == NULL || g_ascii_strcasecmp (terms[0], "v=spf1") != 0)
    return FALSE;
  all = find_all (terms);
  for (int i = 1; terms[i] && (all < 0 || i < all); i++)
    if (!is_modifier (terms[i]) && includes (terms[i], include))
      return g_str_equal (qualifier_result (terms[i]), "pass");
  return FALSE;
}

/**
 * smarthost_spf_merge_for_domain:
 * @domain: the mail domain whose record this is, such as `example.com`
 * @record: (nullable): the domain's current SPF record, or %NULL when it
 *   has none; plain, or as the quoted strings dig prints
 * @include: the relay service's SPF domain, such as `sendgrid.net`
 * @warnings: (out) (optional) (array zero-terminated=1) (transfer full):
 *   return location for warnings about the record
 * @error: return location for a #GError
 *
 * Like [func@spf_merge], for the record of @domain: knowing the domain,
 * it also refuses to make the record include itself and warns about an
 * `include:` or `redirect=` of @domain already in it, which loop until
 * the lookup limit and make every check fail.
 *
 * Returns: (transfer full): the merged record, or %NULL with @error set to
 *   %SMARTHOST_ERROR_INVALID when @domain or @include is not a domain,
 *   @include is @domain, or @record is not an SPF record
 */
char *
smarthost_spf_merge_for_domain (const char   *domain,
                                const char   *record,
                                const char   *include,
                                char       ***warnings,
                                GError      **error)
{
  g_autofree char *normalized = NULL;

  g_return_val_if_fail (include != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (warnings)
    *warnings = NULL;
  normalized = smarthost_domain_normalize (domain, error);
  if (normalized == NULL)
    return NULL;
  return merge (normalized, record, include, warnings, error);
}

/**
 * smarthost_spf_to_zone_text:
 * @record: an SPF record, unquoted, as [func@spf_merge] returns it
 *
 * Quotes @record as the text of a TXT record in a zone file (or for a DNS
 * provider's form): one string in double quotes, or several when @record
 * is longer than the 255 bytes a TXT string can hold, as in
 * `"v=spf1 ... " "include:... -all"`. Strings are cut after a space when
 * one fits, so no term is split; SPF joins them without adding spaces
 * (RFC 7208, 3.3). Double quotes and backslashes are escaped.
 *
 * Returns: (transfer full): the quoted strings, separated by spaces
 */
char *
smarthost_spf_to_zone_text (const char *record)
{
  g_autoptr(GString) out = g_string_new (NULL);
  const char *p = record;
  gsize left;

  g_return_val_if_fail (record != NULL, NULL);

  left = strlen (record);
  do
    {
      gsize cut = left;

      if (cut > TXT_STRING_MAX)
        {
          /* The space stays at the end of the first string: the joined
           * strings must still read as separate terms. */
          for (cut = TXT_STRING_MAX; cut > 0 && p[cut - 1] != ' '; cut--)
            ;
          /* One term longer than a string: cut it, but not inside a
           * UTF-8 character, or neither half would be text. */
          if (cut == 0)
            for (cut = TXT_STRING_MAX; cut > 1 && ((guchar) p[cut] & 0xc0) == 0x80; cut--)
              ;
        }
      if (out->len)
        g_string_append_c (out, ' ');
      g_string_append_c (out, '"');
      for (gsize i = 0; i < cut; i++)
        {
          if (p[i] == '"' || p[i] == '\\')
            g_string_append_c (out, '\\');
          if ((guchar) p[i] < 0x20 || p[i] == 0x7f)
            g_string_append_printf (out, "\\%03u", (guchar) p[i]);
          else
            g_string_append_c (out, p[i]);
        }
      g_string_append_c (out, '"');
      p += cut;
      left -= cut;
    }
  while (left > 0);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static char **
txt_to_spf (GList *records)
{
  GStrvBuilder *b = g_strv_builder_new ();
  char **result;

  for (GList *l = records; l; l = l->next)
    {
      g_autoptr(GVariantIter) iter = NULL;
      g_autoptr(GString) joined = g_string_new (NULL);
      const char *chunk;

      /* A TXT record is a list of strings; SPF joins them without spaces. */
      g_variant_get (l->data, "(as)", &iter);
      while (g_variant_iter_loop (iter, "&s", &chunk))
        g_string_append (joined, chunk);
      if (g_ascii_strncasecmp (joined->str, "v=spf1", 6) == 0 &&
          (joined->str[6] == '\0' || joined->str[6] == ' '))
        g_strv_builder_add (b, joined->str);
    }
  result = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return result;
}

/* Whether @name exists in DNS. GResolver reports a name that does not
 * exist (NXDOMAIN) and a name without records of the type asked (NODATA)
 * alike, as G_RESOLVER_ERROR_NOT_FOUND, so this asks for the records a
 * mail domain has: an MX, a SOA (a zone's apex), NS (a delegation) or an
 * address. Only when every answer is "not found" is the name missing;
 * when DNS does not answer, the name is taken to exist rather than be
 * called missing on no evidence. Returns -1 with @error set when
 * cancelled. */
static int
name_exists (GResolver     *resolver,
             const char    *name,
             GCancellable  *cancellable,
             GError       **error)
{
  static const GResolverRecordType types[] = { G_RESOLVER_RECORD_MX, G_RESOLVER_RECORD_SOA, G_RESOLVER_RECORD_NS };

  for (guint i = 0; i <= G_N_ELEMENTS (types); i++)
    {
      g_autoptr(GError) local_error = NULL;
      GList *found;

      if (i < G_N_ELEMENTS (types))
        {
          found = g_resolver_lookup_records (resolver, name, types[i], cancellable, &local_error);
          g_list_free_full (found, (GDestroyNotify) g_variant_unref);
        }
      else
        {
          found = g_resolver_lookup_by_name (resolver, name, cancellable, &local_error);
          g_resolver_free_addresses (found);
        }
      if (found != NULL)
        return 1;
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return -1;
        }
      if (!g_error_matches (local_error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
        return 1;
    }
  return 0;
}

/**
 * smarthost_spf_lookup:
 * @domain: a mail domain
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Looks up the SPF records of @domain: its TXT records that start with
 * `v=spf1`, each with its strings joined. A domain should have one;
 * several make SPF fail.
 *
 * An empty result means the domain exists but has no SPF record. A domain
 * that does not exist at all (it has no TXT, MX, SOA, NS or address
 * record, as after a typo or before it is registered) is an error,
 * %G_RESOLVER_ERROR_NOT_FOUND, so that a record is not proposed for it as
 * if it merely lacked one.
 *
 * Returns: (transfer full) (array zero-terminated=1): the SPF records,
 *   possibly none, or %NULL with @error set: %G_RESOLVER_ERROR_NOT_FOUND
 *   when @domain does not exist, %SMARTHOST_ERROR_INVALID when it is not a
 *   domain name, %SMARTHOST_ERROR_FAILED when the lookup failed,
 *   %G_IO_ERROR_CANCELLED
 */
char **
smarthost_spf_lookup (const char    *domain,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(GResolver) resolver = g_resolver_get_default ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *normalized = NULL;
  GList *records;
  char **result;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  normalized = smarthost_domain_normalize (domain, error);
  if (normalized == NULL)
    return NULL;
  records = g_resolver_lookup_records (resolver, normalized, G_RESOLVER_RECORD_TXT, cancellable, &local_error);
  if (local_error != NULL)
    {
      if (g_error_matches (local_error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
        {
          switch (name_exists (resolver, normalized, cancellable, error))
            {
            case 1:
              return g_new0 (char *, 1);
            case 0:
              g_set_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND,
                           "%s does not exist in DNS: it has no TXT, MX, SOA, NS or address record; check its "
                           "spelling, or publish its SPF record once the domain is registered", normalized);
              return NULL;
            default:
              return NULL;
            }
        }
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                     "cannot look up the TXT records of %s: %s", normalized, local_error->message);
      return NULL;
    }
  result = txt_to_spf (records);
  g_list_free_full (records, (GDestroyNotify) g_variant_unref);
  return result;
}

static void
lookup_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  GError *error = NULL;
  char **records = smarthost_spf_lookup (task_data, cancellable, &error);

  if (records == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, records, (GDestroyNotify) g_strfreev);
}

/**
 * smarthost_spf_lookup_async:
 * @domain: a mail domain
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the records
 * @user_data: data for @callback
 *
 * Looks up the SPF records of @domain without blocking; see
 * [func@spf_lookup].
 */
void
smarthost_spf_lookup_async (const char          *domain,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, smarthost_spf_lookup_async);
  g_task_set_task_data (task, g_strdup (domain), g_free);
  g_task_run_in_thread (task, lookup_thread);
}

/**
 * smarthost_spf_lookup_finish:
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [func@spf_lookup_async].
 *
 * Returns: (transfer full) (array zero-terminated=1): the SPF records, or
 *   %NULL with @error set, as for [func@spf_lookup]
 */
char **
smarthost_spf_lookup_finish (GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * smarthost_spf_result_to_json:
 * @domain: the domain, normalized
 * @current: (nullable): the domain's SPF record before, or %NULL when it has
 *   none
 * @record: the record it needs, as [func@spf_merge_for_domain] returns it
 * @include: the SPF domain of the relay service
 * @warnings: (nullable) (array zero-terminated=1): what to tell about it
 *
 * Describes an SPF record a domain needs for its relay service in JSON, as
 * `smarthostctl spf --json` prints it: an object with `domain`, `current`
 * (or null), `record`, `changed` (whether the record must change for the
 * relay to pass SPF, per [func@spf_authorizes]: not merely tidied),
 * `zone` ([func@spf_to_zone_text]) and `warnings`.
 *
 * Returns: (transfer full): a JSON object, pretty-printed
 */
char *
smarthost_spf_result_to_json (const char         *domain,
                              const char         *current,
                              const char         *record,
                              const char         *include,
                              const char * const *warnings)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *zone = NULL;

  g_return_val_if_fail (domain != NULL, NULL);
  g_return_val_if_fail (record != NULL, NULL);
  g_return_val_if_fail (include != NULL, NULL);

  zone = smarthost_spf_to_zone_text (record);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "domain");
  json_builder_add_string_value (b, domain);
  json_builder_set_member_name (b, "current");
  if (current != NULL)
    json_builder_add_string_value (b, current);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "record");
  json_builder_add_string_value (b, record);
  json_builder_set_member_name (b, "changed");
  json_builder_add_boolean_value (b, !smarthost_spf_authorizes (current, include));
  json_builder_set_member_name (b, "zone");
  json_builder_add_string_value (b, zone);
  json_builder_set_member_name (b, "warnings");
  json_builder_begin_array (b);
  for (guint i = 0; warnings != NULL && warnings[i] != NULL; i++)
    json_builder_add_string_value (b, warnings[i]);
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  return _smarthost_json_to_data (root, NULL);
}
