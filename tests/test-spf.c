/* test-spf.c: merging a relay service's include into SPF records
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <gio/gio.h>
#include "smarthost-json-private.h"   /* jansson, and json_t in g_autoptr() */

#include "smarthost-error.h"
#include "smarthost-spf.h"

typedef struct {
  const char *record;
  const char *include;
  const char *expected;   /* NULL: INVALID */
  guint n_warnings;
  const char *warning;    /* a text one of the warnings holds */
  const char *domain;     /* merge for this domain, with its own checks */
} MergeCase;

/* Twenty ip4 terms: with an include and -all, 389 characters, more than
 * one TXT string holds. */
#define IP4_20 "ip4:198.51.100.10 ip4:198.51.100.11 ip4:198.51.100.12 ip4:198.51.100.13 " \
               "ip4:198.51.100.14 ip4:198.51.100.15 ip4:198.51.100.16 ip4:198.51.100.17 " \
               "ip4:198.51.100.18 ip4:198.51.100.19 ip4:198.51.100.20 ip4:198.51.100.21 " \
               "ip4:198.51.100.22 ip4:198.51.100.23 ip4:198.51.100.24 ip4:198.51.100.25 " \
               "ip4:198.51.100.26 ip4:198.51.100.27 ip4:198.51.100.28 ip4:198.51.100.29"

static const MergeCase merge_cases[] = {
  /* no record yet */
  { NULL, "sendgrid.net", "v=spf1 include:sendgrid.net ~all", 0 },
  { "", "sendgrid.net", "v=spf1 include:sendgrid.net ~all", 0 },
  { "   ", "sendgrid.net", "v=spf1 include:sendgrid.net ~all", 0 },
  /* before the all term, whatever its qualifier */
  { "v=spf1 -all", "sendgrid.net", "v=spf1 include:sendgrid.net -all", 0 },
  { "v=spf1 mx a ~all", "mailgun.org", "v=spf1 mx a include:mailgun.org ~all", 0 },
  { "v=spf1 ip4:192.0.2.1 ?all", "x.example", "v=spf1 ip4:192.0.2.1 include:x.example ?all", 0 },
  /* ... but +all lets everyone pass, and a bare all is +all */
  { "v=spf1 mx +all", "x.example", "v=spf1 mx include:x.example +all", 1, "+all lets every host" },
  { "v=spf1 mx all", "x.example", "v=spf1 mx include:x.example all", 1, "no qualifier: +all" },
  { "V=SPF1 MX -ALL", "x.example", "v=spf1 MX include:x.example -ALL", 0 },
  /* existing terms keep their order; spaces are normalized */
  { "v=spf1   a  mx\tinclude:_spf.google.com   -all", "sendgrid.net",
    "v=spf1 a mx include:_spf.google.com include:sendgrid.net -all", 0 },
  /* never twice, whatever the case */
  { "v=spf1 include:sendgrid.net -all", "sendgrid.net", "v=spf1 include:sendgrid.net -all", 0 },
  { "v=spf1 include:SendGrid.NET -all", "sendgrid.net", "v=spf1 include:SendGrid.NET -all", 0 },
  { "v=spf1 +include:sendgrid.net -all", "sendgrid.net", "v=spf1 +include:sendgrid.net -all", 0 },
  /* ... or its root dot */
  { "v=spf1 include:sendgrid.net. -all", "sendgrid.net", "v=spf1 include:sendgrid.net. -all", 0 },
  { "v=spf1 include:SENDGRID.NET -all", "sendgrid.net.", "v=spf1 include:SENDGRID.NET -all", 0 },
  /* only a pass-qualified include authorizes: a qualified one becomes one */
  { "v=spf1 ~include:sendgrid.net -all", "sendgrid.net", "v=spf1 include:sendgrid.net -all", 1, "gives softfail, not pass" },
  { "v=spf1 -include:sendgrid.net ~all", "sendgrid.net", "v=spf1 include:sendgrid.net ~all", 1, "gives fail, not pass" },
  { "v=spf1 mx ?include:SendGrid.NET. -all", "sendgrid.net", "v=spf1 mx include:SendGrid.NET. -all", 1, "gives neutral" },
  /* the first one is tried first */
  { "v=spf1 include:sendgrid.net ~include:sendgrid.net -all", "sendgrid.net",
    "v=spf1 include:sendgrid.net ~include:sendgrid.net -all", 0 },
  { "v=spf1 ~include:sendgrid.net include:sendgrid.net -all", "sendgrid.net",
    "v=spf1 include:sendgrid.net include:sendgrid.net -all", 1, "softfail" },
  /* nothing after all is tried: our include moves before it, others are warned about */
  { "v=spf1 mx -all include:sendgrid.net", "sendgrid.net", "v=spf1 mx include:sendgrid.net -all", 1, "never evaluated" },
  { "v=spf1 include:sendgrid.net -all ~include:sendgrid.net", "sendgrid.net", "v=spf1 include:sendgrid.net -all", 1,
    "never evaluated" },
  { "v=spf1 mx -all a:x.example ip4:192.0.2.1", "sendgrid.net",
    "v=spf1 mx include:sendgrid.net -all a:x.example ip4:192.0.2.1", 1, "-all are never evaluated (RFC 7208, 5.1): a:x.example ip4:192.0.2.1;" },
  /* modifiers stay where they are; they are not terms after all */
  { "v=spf1 exp=explain.example.com mx -all", "sendgrid.net",
    "v=spf1 exp=explain.example.com mx include:sendgrid.net -all", 0 },
  { "v=spf1 -all exp=explain.example.com", "x.example", "v=spf1 include:x.example -all exp=explain.example.com", 0 },
  { "v=spf1 exp=explain.example.com a unknown=foo", "x.example",
    "v=spf1 exp=explain.example.com a include:x.example unknown=foo", 0 },
  /* a longer include is another one */
  { "v=spf1 include:u.sendgrid.net -all", "sendgrid.net",
    "v=spf1 include:u.sendgrid.net include:sendgrid.net -all", 0 },
  /* no all: before the first modifier, else at the end */
  { "v=spf1 a mx redirect=_spf.example.com", "x.example",
    "v=spf1 a mx include:x.example redirect=_spf.example.com", 0 },
  { "v=spf1 mx exp=explain.example.com", "x.example", "v=spf1 mx include:x.example exp=explain.example.com", 0 },
  { "v=spf1 redirect=_spf.example.com", "x.example", "v=spf1 include:x.example redirect=_spf.example.com", 0 },
  { "v=spf1 mx redirect=_spf.example.com exp=e.example.com", "x.example",
    "v=spf1 mx include:x.example redirect=_spf.example.com exp=e.example.com", 0 },
  /* with all, redirect= is ignored */
  { "v=spf1 mx redirect=_spf.example.com -all", "x.example",
    "v=spf1 mx redirect=_spf.example.com include:x.example -all", 1, "redirect=_spf.example.com is ignored" },
  { "v=spf1 ip4:192.0.2.1", "x.example", "v=spf1 ip4:192.0.2.1 include:x.example", 0 },
  { "v=spf1", "x.example", "v=spf1 include:x.example", 0 },
  /* the limit of ten lookups */
  { "v=spf1 include:a.example include:b.example include:c.example include:d.example include:e.example "
    "include:f.example include:g.example include:h.example include:i.example -all", "x.example",
    "v=spf1 include:a.example include:b.example include:c.example include:d.example include:e.example "
    "include:f.example include:g.example include:h.example include:i.example include:x.example -all", 0 },
  { "v=spf1 a mx ptr exists:%{i}.example include:a.example include:b.example include:c.example "
    "include:d.example include:e.example include:f.example -all", "x.example",
    "v=spf1 a mx ptr exists:%{i}.example include:a.example include:b.example include:c.example "
    "include:d.example include:e.example include:f.example include:x.example -all", 1 },
  /* redirect= counts as a lookup without all, not with it */
  { "v=spf1 include:a.example include:b.example include:c.example include:d.example include:e.example "
    "include:f.example include:g.example include:h.example include:i.example redirect=_spf.example.com", "x.example",
    "v=spf1 include:a.example include:b.example include:c.example include:d.example include:e.example "
    "include:f.example include:g.example include:h.example include:i.example include:x.example "
    "redirect=_spf.example.com", 1, "11 DNS-querying terms" },
  { "v=spf1 include:a.example include:b.example include:c.example include:d.example include:e.example "
    "include:f.example include:g.example include:h.example include:i.example redirect=_spf.example.com -all", "x.example",
    "v=spf1 include:a.example include:b.example include:c.example include:d.example include:e.example "
    "include:f.example include:g.example include:h.example include:i.example redirect=_spf.example.com "
    "include:x.example -all", 1, "is ignored" },
  /* the same service under its old name costs a second lookup */
  { "v=spf1 include:spf.sendinblue.com ~all", "spf.brevo.com",
    "v=spf1 include:spf.sendinblue.com include:spf.brevo.com ~all", 1, "Brevo's old and new names" },
  { "v=spf1 include:SPF.Brevo.com. -all", "spf.sendinblue.com",
    "v=spf1 include:SPF.Brevo.com. include:spf.sendinblue.com -all", 1, "keep only include:spf.brevo.com" },
  /* a record past one TXT string */
  { "v=spf1 " IP4_20 " -all", "x.example", "v=spf1 " IP4_20 " include:x.example -all", 1,
    "389 characters long, more than the 255" },
  /* quoted as dig prints it: the strings joined without spaces */
  { "\"v=spf1 mx -all\"", "sendgrid.net", "v=spf1 mx include:sendgrid.net -all", 0 },
  { " \"v=spf1 mx \" \"include:_spf.google.com -all\"", "sendgrid.net",
    "v=spf1 mx include:_spf.google.com include:sendgrid.net -all", 0 },
  { "\"v=spf1 ip4:192.0.2.1\\032-all\"", "x.example", "v=spf1 ip4:192.0.2.1 include:x.example -all", 0 },
  { "\"v=spf1 -all", "x.example", NULL, 0 },
  { "\"v=spf1 -all\\\"", "x.example", NULL, 0 },
  { "\"v=spf1\" -all", "x.example", NULL, 0 },
  { "\"v=spf1 -all\\010include:evil.example\"", "x.example", NULL, 0 },
  { "\"v=spf1 -all\\000\"", "x.example", NULL, 0 },
  { "\"v=spf1 -all\\300\"", "x.example", NULL, 0 },
  { "\"v=spf1 -all\\255\"", "x.example", NULL, 0 },
  /* for a domain: a record that uses itself loops */
  { "v=spf1 include:example.com -all", "x.example", "v=spf1 include:example.com include:x.example -all", 1,
    "include:example.com makes the record of example.com use itself", "example.com" },
  { "v=spf1 mx redirect=Example.COM.", "x.example", "v=spf1 mx include:x.example redirect=Example.COM.", 1,
    "use itself", "example.com" },
  { "v=spf1 include:example.com -all", "x.example", "v=spf1 include:example.com include:x.example -all", 0, NULL, NULL },
  /* ... but not after all, where nothing is tried */
  { "v=spf1 -all include:example.com", "x.example", "v=spf1 include:x.example -all include:example.com", 1,
    "never evaluated", "example.com" },
  { "v=spf1 -all", "example.com", NULL, 0, NULL, "Example.com." },
  { "v=spf1 -all", "x.example", NULL, 0, NULL, "not a domain" },
  /* not SPF, or not a domain */
  { "spf1 -all", "x.example", NULL, 0 },
  { "v=spf10 -all", "x.example", NULL, 0 },
  { "v=DMARC1; p=none", "x.example", NULL, 0 },
  { "v=spf1 -all\ninclude:evil.example", "x.example", NULL, 0 },
  { "v=spf1 -all", "", NULL, 0 },
  { "v=spf1 -all", "x example", NULL, 0 },
  { "v=spf1 -all", "localhost", NULL, 0 },
  { "v=spf1 -all", "evil.example -all", NULL, 0 },
};

static void
test_merge (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (merge_cases); i++)
    {
      const MergeCase *c = &merge_cases[i];
      g_autoptr(GError) error = NULL;
      g_auto(GStrv) warnings = NULL;
      g_autofree char *merged = NULL;
      g_autofree char *again = NULL;
      g_autofree char *zone = NULL;
      g_autofree char *unzoned = NULL;
      gboolean found = c->warning == NULL;

      g_test_message ("case %u: %s + %s%s%s", i, c->record ? c->record : "(null)", c->include,
                      c->domain ? " for " : "", c->domain ? c->domain : "");
      if (c->domain)
        merged = smarthost_spf_merge_for_domain (c->domain, c->record, c->include, &warnings, &error);
      else
        merged = smarthost_spf_merge (c->record, c->include, &warnings, &error);
      if (c->expected == NULL)
        {
          g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
          g_assert_null (merged);
          g_assert_null (warnings);
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpstr (merged, ==, c->expected);
      g_assert_cmpuint (g_strv_length (warnings), ==, c->n_warnings);
      for (guint j = 0; warnings[j]; j++)
        {
          g_test_message ("  warning: %s", warnings[j]);
          g_assert_nonnull (strstr (warnings[j], "RFC 7208"));
          found |= strstr (warnings[j], c->warning ? c->warning : "") != NULL;
        }
      g_assert_true (found);

      /* Merging is idempotent, and a zone file's quoting reads back. */
      zone = smarthost_spf_to_zone_text (merged);
      if (c->domain)
        {
          again = smarthost_spf_merge_for_domain (c->domain, merged, c->include, NULL, &error);
          unzoned = smarthost_spf_merge_for_domain (c->domain, zone, c->include, NULL, &error);
        }
      else
        {
          again = smarthost_spf_merge (merged, c->include, NULL, &error);
          unzoned = smarthost_spf_merge (zone, c->include, NULL, &error);
        }
      g_assert_no_error (error);
      g_assert_cmpstr (again, ==, merged);
      g_assert_cmpstr (unzoned, ==, merged);
    }
}

/* Without a domain's own terms in the record, knowing the domain changes
 * nothing. */
static void
test_merge_for_domain (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (merge_cases); i++)
    {
      const MergeCase *c = &merge_cases[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(GError) error_for_domain = NULL;
      g_auto(GStrv) warnings = NULL;
      g_auto(GStrv) warnings_for_domain = NULL;
      g_autofree char *merged = NULL;
      g_autofree char *merged_for_domain = NULL;

      if (c->domain)
        continue;
      merged = smarthost_spf_merge (c->record, c->include, &warnings, &error);
      merged_for_domain = smarthost_spf_merge_for_domain ("mail.test", c->record, c->include,
                                                          &warnings_for_domain, &error_for_domain);
      g_assert_cmpstr (merged_for_domain, ==, merged);
      g_assert_true ((error == NULL) == (error_for_domain == NULL));
      if (merged)
        g_assert_true (g_strv_equal ((const char * const *) warnings, (const char * const *) warnings_for_domain));
    }
}

static void
assert_zone_strings (const char *record,
                     const char *expected_zone,
                     const guint *expected_lengths)
{
  g_autofree char *zone = smarthost_spf_to_zone_text (record);
  g_autofree char *inner = NULL;
  g_auto(GStrv) strings = NULL;
  g_autoptr(GString) joined = g_string_new (NULL);
  gsize len = strlen (zone);

  if (expected_zone)
    g_assert_cmpstr (zone, ==, expected_zone);
  if (expected_lengths == NULL)
    return;
  /* The record has no quote or backslash: the strings are what stands
   * between the quotes. */
  g_assert_true (len >= 2 && zone[0] == '"' && zone[len - 1] == '"');
  inner = g_strndup (zone + 1, len - 2);
  strings = g_strsplit (inner, "\" \"", 0);
  for (guint i = 0; strings[i]; i++)
    {
      g_assert_cmpuint (expected_lengths[i], !=, 0);
      g_assert_cmpuint (strlen (strings[i]), ==, expected_lengths[i]);
      g_string_append (joined, strings[i]);
    }
  g_assert_cmpuint (expected_lengths[g_strv_length (strings)], ==, 0);
  g_assert_cmpstr (joined->str, ==, record);
}

static void
test_zone_text (void)
{
  g_autofree char *one_term = g_strnfill (300, 'x');
  g_autofree char *with_one_term = g_strconcat ("v=spf1 ", one_term, NULL);
  g_autofree char *exactly = g_strconcat ("v=spf1 ", one_term + 300 - 248, NULL);
  g_autofree char *utf8 = NULL;
  g_autoptr(GString) s = g_string_new ("v=spf1 ");

  assert_zone_strings ("v=spf1 -all", "\"v=spf1 -all\"", (const guint[]) { 11, 0 });
  assert_zone_strings ("", "\"\"", NULL);
  assert_zone_strings ("v=spf1 exp=\"x\\y\" -all", "\"v=spf1 exp=\\\"x\\\\y\\\" -all\"", NULL);
  /* cut after the last space that fits: the space stays with the first string */
  assert_zone_strings ("v=spf1 " IP4_20 " include:x.example -all",
                       "\"v=spf1 ip4:198.51.100.10 ip4:198.51.100.11 ip4:198.51.100.12 ip4:198.51.100.13 "
                       "ip4:198.51.100.14 ip4:198.51.100.15 ip4:198.51.100.16 ip4:198.51.100.17 "
                       "ip4:198.51.100.18 ip4:198.51.100.19 ip4:198.51.100.20 ip4:198.51.100.21 "
                       "ip4:198.51.100.22 \" \"ip4:198.51.100.23 ip4:198.51.100.24 ip4:198.51.100.25 "
                       "ip4:198.51.100.26 ip4:198.51.100.27 ip4:198.51.100.28 ip4:198.51.100.29 "
                       "include:x.example -all\"", (const guint[]) { 241, 148, 0 });
  /* 255 bytes fit in one string; a term longer than a string is cut */
  assert_zone_strings (exactly, NULL, (const guint[]) { 255, 0 });
  assert_zone_strings (with_one_term, NULL, (const guint[]) { 7, 255, 45, 0 });
  /* never inside a UTF-8 character */
  g_string_append (s, "exp=");
  for (guint i = 0; i < 200; i++)
    g_string_append (s, "\xc3\xa9");
  utf8 = g_string_free (g_steal_pointer (&s), FALSE);
  assert_zone_strings (utf8, NULL, (const guint[]) { 7, 254, 150, 0 });
  {
    g_autofree char *zone = smarthost_spf_to_zone_text (utf8);
    g_assert_true (g_utf8_validate (zone, -1, NULL));
  }
}

static void
test_merge_is_idempotent (void)
{
  g_autofree char *once = smarthost_spf_merge ("v=spf1 mx -all", "sendgrid.net", NULL, NULL);
  g_autofree char *twice = smarthost_spf_merge (once, "sendgrid.net", NULL, NULL);

  g_assert_cmpstr (once, ==, twice);
}

static void
test_count_lookups (void)
{
  g_assert_cmpuint (smarthost_spf_count_lookups ("v=spf1 -all"), ==, 0);
  g_assert_cmpuint (smarthost_spf_count_lookups ("v=spf1 ip4:192.0.2.1 ip6:2001:db8::/32 -all"), ==, 0);
  g_assert_cmpuint (smarthost_spf_count_lookups ("v=spf1 a mx ptr exists:x.example include:y.example -all"), ==, 5);
  g_assert_cmpuint (smarthost_spf_count_lookups ("v=spf1 a:x.example/24 mx/24 ~a -mx -all"), ==, 4);
  g_assert_cmpuint (smarthost_spf_count_lookups ("v=spf1 redirect=_spf.example.com"), ==, 1);
  g_assert_cmpuint (smarthost_spf_count_lookups ("v=spf1 exp=x.example all"), ==, 0);
  /* "all" and "allx" are not "a" */
  g_assert_cmpuint (smarthost_spf_count_lookups ("v=spf1 all"), ==, 0);
  /* terms after all are never tried */
  g_assert_cmpuint (smarthost_spf_count_lookups ("v=spf1 mx -all include:a.example a"), ==, 1);
  /* redirect= is tried when no mechanism matched, unless there is an all */
  g_assert_cmpuint (smarthost_spf_count_lookups ("v=spf1 mx REDIRECT=_spf.example.com"), ==, 2);
  g_assert_cmpuint (smarthost_spf_count_lookups ("v=spf1 mx redirect=_spf.example.com -all"), ==, 1);
  g_assert_cmpuint (smarthost_spf_count_lookups ("v=spf1 mx exp=x.example"), ==, 1);
  /* quoted strings are joined first */
  g_assert_cmpuint (smarthost_spf_count_lookups ("\"v=spf1 a\" \" mx include:x.example -all\""), ==, 3);
}

/* A resolver that answers from a table, so the lookup is tested without
 * DNS: GResolver reports a missing name and a missing record type alike,
 * and the lookup must tell them apart by asking for other types. */
#define FAKE_TYPE_RESOLVER (fake_resolver_get_type ())
G_DECLARE_FINAL_TYPE (FakeResolver, fake_resolver, FAKE, RESOLVER, GResolver)

struct _FakeResolver
{
  GResolver parent_instance;
};

G_DEFINE_FINAL_TYPE (FakeResolver, fake_resolver, G_TYPE_RESOLVER)

static GList *
fake_not_found (const char  *name,
                GError     **error)
{
  g_set_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND, "No DNS record of the requested type for “%s”", name);
  return NULL;
}

static GList *
fake_lookup_records (GResolver            *resolver,
                     const char           *name,
                     GResolverRecordType   type,
                     GCancellable         *cancellable,
                     GError              **error)
{
  if (g_str_equal (name, "flaky.test") ||
      (g_str_equal (name, "halfgone.test") && type == G_RESOLVER_RECORD_MX))
    {
      g_set_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_TEMPORARY_FAILURE, "Temporary failure in name resolution");
      return NULL;
    }
  if (g_str_equal (name, "spf.test") && type == G_RESOLVER_RECORD_TXT)
    {
      const char *split[] = { "v=spf1 ip4:192.0.2.1 ", "include:x.example -all", NULL };
      const char *other[] = { "google-site-verification=abc", NULL };
      const char *not_spf[] = { "v=spf10 -all", NULL };
      GList *records = NULL;

      records = g_list_append (records, g_variant_ref_sink (g_variant_new ("(^as)", split)));
      records = g_list_append (records, g_variant_ref_sink (g_variant_new ("(^as)", other)));
      records = g_list_append (records, g_variant_ref_sink (g_variant_new ("(^as)", not_spf)));
      return records;
    }
  if (g_str_equal (name, "nospf.test") && type == G_RESOLVER_RECORD_MX)
    return g_list_append (NULL, g_variant_ref_sink (g_variant_new ("(qs)", 10, "mx.nospf.test")));
  if (g_str_equal (name, "apex.test") && type == G_RESOLVER_RECORD_SOA)
    return g_list_append (NULL, g_variant_ref_sink (g_variant_new ("(ssuuuuu)", "ns.apex.test", "hostmaster.apex.test",
                                                                   1, 7200, 3600, 1209600, 3600)));
  return fake_not_found (name, error);
}

static GList *
fake_lookup_by_name (GResolver     *resolver,
                     const char    *name,
                     GCancellable  *cancellable,
                     GError       **error)
{
  if (g_str_equal (name, "host.test"))
    return g_list_append (NULL, g_inet_address_new_from_string ("192.0.2.7"));
  return fake_not_found (name, error);
}

static void
fake_resolver_class_init (FakeResolverClass *klass)
{
  GResolverClass *resolver_class = G_RESOLVER_CLASS (klass);

  resolver_class->lookup_records = fake_lookup_records;
  resolver_class->lookup_by_name = fake_lookup_by_name;
}

static void
fake_resolver_init (FakeResolver *self)
{
}

typedef struct {
  GResolver *saved;
} LookupFixture;

static void
lookup_setup (LookupFixture *fixture,
              gconstpointer  data)
{
  g_autoptr(GResolver) fake = g_object_new (FAKE_TYPE_RESOLVER, NULL);

  fixture->saved = g_resolver_get_default ();
  g_resolver_set_default (fake);
}

static void
lookup_teardown (LookupFixture *fixture,
                 gconstpointer  data)
{
  g_resolver_set_default (fixture->saved);
  g_clear_object (&fixture->saved);
}

static void
test_lookup (LookupFixture *fixture,
             gconstpointer  data)
{
  static const char *no_record[] = { "nospf.test", "apex.test", "host.test", "HalfGone.test." };
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) records = NULL;

  /* only the SPF records, their strings joined */
  records = smarthost_spf_lookup ("SPF.test", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (records), ==, 1);
  g_assert_cmpstr (records[0], ==, "v=spf1 ip4:192.0.2.1 include:x.example -all");
  g_clear_pointer (&records, g_strfreev);

  /* a domain without SPF, and one DNS did not answer for: no record */
  for (guint i = 0; i < G_N_ELEMENTS (no_record); i++)
    {
      records = smarthost_spf_lookup (no_record[i], NULL, &error);
      g_assert_no_error (error);
      g_assert_nonnull (records);
      g_assert_cmpuint (g_strv_length (records), ==, 0);
      g_clear_pointer (&records, g_strfreev);
    }

  /* no domain at all is not "no record" */
  records = smarthost_spf_lookup ("gone.test", NULL, &error);
  g_assert_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "gone.test does not exist"));
  g_assert_null (records);
  g_clear_error (&error);

  records = smarthost_spf_lookup ("flaky.test", NULL, &error);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_assert_null (records);
  g_clear_error (&error);

  records = smarthost_spf_lookup ("not a domain", NULL, &error);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
  g_assert_null (records);
}

static void
lookup_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static void
test_lookup_async (LookupFixture *fixture,
                   gconstpointer  data)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) records = NULL;

  smarthost_spf_lookup_async ("gone.test", NULL, lookup_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  records = smarthost_spf_lookup_finish (result, &error);
  g_assert_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND);
  g_assert_null (records);
  g_clear_object (&result);
  g_clear_error (&error);

  smarthost_spf_lookup_async ("nospf.test", NULL, lookup_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  records = smarthost_spf_lookup_finish (result, &error);
  g_assert_no_error (error);
  g_assert_nonnull (records);
  g_assert_cmpuint (g_strv_length (records), ==, 0);
}

static void
test_count_lookups_of_nothing (void)
{
  /* No terms at all: no version, nothing to count (and nothing read past
   * the end of the list of terms). */
  g_assert_cmpuint (smarthost_spf_count_lookups (""), ==, 0);
  g_assert_cmpuint (smarthost_spf_count_lookups ("   "), ==, 0);
  g_assert_cmpuint (smarthost_spf_count_lookups ("\"\""), ==, 0);
}

static void
test_authorizes (void)
{
  static const struct { const char *record; gboolean authorizes; } cases[] = {
    { NULL, FALSE },
    { "", FALSE },
    { "v=spf1 -all", FALSE },
    { "v=spf1 include:sendgrid.net -all", TRUE },
    { "v=spf1 +include:SendGrid.NET. -all", TRUE },
    { "\"v=spf1 include:sendgrid.net\" \" -all\"", TRUE },
    { "v=spf1 ~include:sendgrid.net -all", FALSE },
    { "v=spf1 mx -all include:sendgrid.net", FALSE },
    { "v=spf1 include:u.sendgrid.net -all", FALSE },
    { "v=spf1 -include:sendgrid.net include:sendgrid.net -all", FALSE },
    { "v=DMARC1 include:sendgrid.net", FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    if (smarthost_spf_authorizes (cases[i].record, "sendgrid.net") != cases[i].authorizes)
      g_error ("\"%s\" should%s authorize sendgrid.net", cases[i].record ? cases[i].record : "(null)",
               cases[i].authorizes ? "" : " not");
}

static void
test_result_to_json (void)
{
  const char *warnings[] = { "one", "two", NULL };
  const char *record = "v=spf1 mx include:sendgrid.net -all";
  g_autofree char *text = smarthost_spf_result_to_json ("shop.example", "v=spf1 mx -all", record,
                                                        "sendgrid.net", warnings);
  g_autofree char *again = smarthost_spf_result_to_json ("shop.example", record, record, "sendgrid.net", NULL);
  g_autofree char *none = smarthost_spf_result_to_json ("shop.example", NULL, record, "sendgrid.net", NULL);
  g_autofree char *zone = smarthost_spf_to_zone_text (record);
  g_autoptr(json_t) node = json_loads (text, JSON_REJECT_DUPLICATES, NULL);
  g_autoptr(json_t) node_again = json_loads (again, JSON_REJECT_DUPLICATES, NULL);
  g_autoptr(json_t) node_none = json_loads (none, JSON_REJECT_DUPLICATES, NULL);
  json_t *o = node;
  json_t *w = json_object_get (o, "warnings");

  g_assert_cmpstr (json_string_value (json_object_get (o, "domain")), ==, "shop.example");
  g_assert_cmpstr (json_string_value (json_object_get (o, "current")), ==, "v=spf1 mx -all");
  g_assert_cmpstr (json_string_value (json_object_get (o, "record")), ==, record);
  g_assert_cmpstr (json_string_value (json_object_get (o, "zone")), ==, zone);
  g_assert_true (json_is_true (json_object_get (o, "changed")));
  g_assert_cmpuint (json_array_size (w), ==, 2);
  g_assert_cmpstr (json_string_value (json_array_get (w, 1)), ==, "two");
  /* Authorized already: nothing must change. */
  o = node_again;
  g_assert_false (json_is_true (json_object_get (o, "changed")));
  g_assert_cmpuint (json_array_size (json_object_get (o, "warnings")), ==, 0);
  o = node_none;
  g_assert_true (json_is_null (json_object_get (o, "current")));
  g_assert_true (json_is_true (json_object_get (o, "changed")));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/spf/merge", test_merge);
  g_test_add_func ("/spf/merge/idempotent", test_merge_is_idempotent);
  g_test_add_func ("/spf/merge/for-domain", test_merge_for_domain);
  g_test_add_func ("/spf/authorizes", test_authorizes);
  g_test_add_func ("/spf/count-lookups/nothing", test_count_lookups_of_nothing);
  g_test_add_func ("/spf/zone-text", test_zone_text);
  g_test_add_func ("/spf/result-to-json", test_result_to_json);
  g_test_add_func ("/spf/count-lookups", test_count_lookups);
  g_test_add ("/spf/lookup", LookupFixture, NULL, lookup_setup, test_lookup, lookup_teardown);
  g_test_add ("/spf/lookup/async", LookupFixture, NULL, lookup_setup, test_lookup_async, lookup_teardown);

  return g_test_run ();
}
