/* test-spf.c: merging a relay service's include into SPF records
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <glib.h>

#include "smarthost-error.h"
#include "smarthost-spf.h"

typedef struct {
  const char *record;
  const char *include;
  const char *expected;   /* NULL: INVALID */
  guint n_warnings;
} MergeCase;

static const MergeCase merge_cases[] = {
  /* no record yet */
  { NULL, "sendgrid.net", "v=spf1 include:sendgrid.net ~all", 0 },
  { "", "sendgrid.net", "v=spf1 include:sendgrid.net ~all", 0 },
  { "   ", "sendgrid.net", "v=spf1 include:sendgrid.net ~all", 0 },
  /* before the all term, whatever its qualifier */
  { "v=spf1 -all", "sendgrid.net", "v=spf1 include:sendgrid.net -all", 0 },
  { "v=spf1 mx a ~all", "mailgun.org", "v=spf1 mx a include:mailgun.org ~all", 0 },
  { "v=spf1 ip4:192.0.2.1 ?all", "x.example", "v=spf1 ip4:192.0.2.1 include:x.example ?all", 0 },
  { "v=spf1 mx +all", "x.example", "v=spf1 mx include:x.example +all", 0 },
  { "v=spf1 mx all", "x.example", "v=spf1 mx include:x.example all", 0 },
  { "V=SPF1 MX -ALL", "x.example", "v=spf1 MX include:x.example -ALL", 0 },
  /* existing terms keep their order; spaces are normalized */
  { "v=spf1   a  mx\tinclude:_spf.google.com   -all", "sendgrid.net",
    "v=spf1 a mx include:_spf.google.com include:sendgrid.net -all", 0 },
  /* never twice, whatever the case */
  { "v=spf1 include:sendgrid.net -all", "sendgrid.net", "v=spf1 include:sendgrid.net -all", 0 },
  { "v=spf1 include:SendGrid.NET -all", "sendgrid.net", "v=spf1 include:SendGrid.NET -all", 0 },
  { "v=spf1 ~include:sendgrid.net -all", "sendgrid.net", "v=spf1 ~include:sendgrid.net -all", 0 },
  /* a longer include is another one */
  { "v=spf1 include:u.sendgrid.net -all", "sendgrid.net",
    "v=spf1 include:u.sendgrid.net include:sendgrid.net -all", 0 },
  /* no all: before the first modifier, else at the end */
  { "v=spf1 a mx redirect=_spf.example.com", "x.example",
    "v=spf1 a mx include:x.example redirect=_spf.example.com", 0 },
  { "v=spf1 mx exp=explain.example.com", "x.example", "v=spf1 mx include:x.example exp=explain.example.com", 0 },
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
      g_autofree char *merged = smarthost_spf_merge (c->record, c->include, &warnings, &error);

      g_test_message ("case %u: %s + %s", i, c->record ? c->record : "(null)", c->include);
      if (c->expected == NULL)
        {
          g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
          g_assert_null (merged);
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpstr (merged, ==, c->expected);
      g_assert_cmpuint (g_strv_length (warnings), ==, c->n_warnings);
      if (c->n_warnings)
        g_assert_nonnull (strstr (warnings[0], "RFC 7208"));
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
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/spf/merge", test_merge);
  g_test_add_func ("/spf/merge/idempotent", test_merge_is_idempotent);
  g_test_add_func ("/spf/count-lookups", test_count_lookups);

  return g_test_run ();
}
