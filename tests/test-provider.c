/* test-provider.c: the relay service presets
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include <glib.h>
#include "smarthost-json-private.h"   /* jansson, and json_t in g_autoptr() */

#include "smarthost-error.h"
#include "smarthost-finding.h"
#include "smarthost-provider.h"
#include "smarthost-relay.h"
#include "smarthost-spf.h"
#include "smarthost-state.h"

#define N_SECURITY (SMARTHOST_SECURITY_TLS + 1)

static SmarthostProvider *
lookup (const char *id)
{
  g_autoptr(GError) error = NULL;
  SmarthostProvider *p = smarthost_provider_lookup (id, &error);

  g_assert_no_error (error);
  g_assert_nonnull (p);
  return p;
}

/* The regions to try for @p: every known one, or only NULL (the service
 * has none). */
static GPtrArray *
regions_to_try (SmarthostProvider *p)
{
  const char * const *regions = smarthost_provider_get_regions (p);
  GPtrArray *list = g_ptr_array_new ();

  if (regions[0] == NULL)
    g_ptr_array_add (list, NULL);
  for (guint i = 0; regions[i]; i++)
    g_ptr_array_add (list, (gpointer) regions[i]);
  return list;
}

/* An SPF include is a DNS name, which smarthost_domain_normalize() (made for
 * mail domains) refuses for its underscore labels such as _spf.google.com:
 * those labels are checked here, the rest with smarthost_domain_normalize(),
 * and smarthost_spf_merge(), which uses the include, must take it too. */
static void
assert_spf_include (const char *include)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *normalized = NULL;
  g_autofree char *merged = NULL;
  g_autofree char *term = g_strconcat (" include:", include, " ", NULL);
  const char *rest = include;

  while (rest[0] == '_')
    {
      const char *dot = strchr (rest, '.');

      g_assert_nonnull (dot);
      for (const char *c = rest + 1; c < dot; c++)
        g_assert_true (g_ascii_islower (*c) || g_ascii_isdigit (*c) || *c == '-');
      g_assert_cmpint (dot - rest, >, 1);
      rest = dot + 1;
    }
  g_assert_null (strchr (rest, '_'));
  normalized = smarthost_domain_normalize (rest, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (normalized, ==, rest);

  merged = smarthost_spf_merge (NULL, include, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (strstr (merged, term));
}

static void
assert_sentence (const char *text)
{
  gsize len = strlen (text);

  g_assert_true (g_utf8_validate (text, -1, NULL));
  g_assert_cmpuint (len, >, 20);
  g_assert_true (g_ascii_isupper (text[0]) || g_str_has_prefix (text, "smtp."));
  g_assert_true (text[len - 1] == '.');
  g_assert_false (g_ascii_isspace (text[0]) || g_ascii_isspace (text[len - 2]));
  for (const char *c = text; *c; c++)
    g_assert_false (g_ascii_iscntrl (*c));
  g_assert_null (strstr (text, "  "));
}

static void
test_presets_well_formed (void)
{
  g_autoptr(GPtrArray) all = smarthost_provider_list ();
  g_autoptr(GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) hosts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_assert_cmpuint (all->len, >, 10);
  for (guint i = 0; i < all->len; i++)
    {
      SmarthostProvider *p = g_ptr_array_index (all, i);
      const char *id = smarthost_provider_get_id (p);
      const char * const *quirks = smarthost_provider_get_quirks (p);
      const char * const *regions = smarthost_provider_get_regions (p);
      const char *default_region = smarthost_provider_get_default_region (p);
      g_autoptr(GPtrArray) try = regions_to_try (p);
      g_autoptr(GHashTable) seen_ports = g_hash_table_new (g_direct_hash, g_direct_equal);
      guint modes = 0;

      g_test_message ("preset %s", id);

      /* id: lower case, unique; name */
      g_assert (id != NULL);
      for (const char *c = id; *c; c++)
        g_assert_true (g_ascii_islower (*c) || g_ascii_isdigit (*c) || *c == '-');
      g_assert_false (g_hash_table_contains (ids, id));
      g_hash_table_add (ids, (gpointer) id);
      g_assert_nonnull (smarthost_provider_get_name (p));
      g_assert_cmpuint (strlen (smarthost_provider_get_name (p)), >, 2);

      /* regions: a default among them, or neither */
      if (regions[0] != NULL)
        {
          g_assert_nonnull (default_region);
          g_assert_true (g_strv_contains (regions, default_region));
        }
      else
        g_assert_null (default_region);

      /* ports: in range, the default first, a port in one mode only */
      for (SmarthostSecurity s = SMARTHOST_SECURITY_NONE; s < N_SECURITY; s++)
        {
          gsize n = 99;
          const guint *ports = smarthost_provider_get_ports (p, s, &n);

          g_assert_nonnull (ports);
          if (n == 0)
            {
              g_assert_cmpuint (smarthost_provider_get_port (p, s), ==, 0);
              continue;
            }
          modes++;
          g_assert_cmpuint (smarthost_provider_get_port (p, s), ==, ports[0]);
          for (gsize j = 0; j < n; j++)
            {
              g_assert_cmpuint (ports[j], >=, 1);
              g_assert_cmpuint (ports[j], <=, 65535);
              g_assert_false (g_hash_table_contains (seen_ports, GUINT_TO_POINTER (ports[j])));
              g_hash_table_add (seen_ports, GUINT_TO_POINTER (ports[j]));
            }
        }
      g_assert_cmpuint (modes, >, 0);
      /* Nothing is offered in clear. */
      g_assert_cmpuint (smarthost_provider_get_port (p, SMARTHOST_SECURITY_NONE), ==, 0);
      /* The well-known ports are in the right mode: 587 is STARTTLS, 465
       * implicit TLS. */
      {
        gsize n;
        const guint *tls = smarthost_provider_get_ports (p, SMARTHOST_SECURITY_TLS, &n);
        const guint *starttls;

        for (gsize j = 0; j < n; j++)
          g_assert_cmpuint (tls[j], !=, 587);
        starttls = smarthost_provider_get_ports (p, SMARTHOST_SECURITY_STARTTLS, &n);
        for (gsize j = 0; j < n; j++)
          g_assert_cmpuint (starttls[j], !=, 465);
      }

      /* host: a valid relay for every region and every mode offered */
      for (guint r = 0; r < try->len; r++)
        {
          const char *region = g_ptr_array_index (try, r);
          g_autoptr(GError) error = NULL;
          g_autofree char *host = smarthost_provider_get_host (p, region, &error);

          g_assert_no_error (error);
          g_assert_null (strchr (host, '{'));
          g_assert_false (g_hash_table_contains (hosts, host));
          g_hash_table_add (hosts, g_strdup (host));

          for (SmarthostSecurity s = SMARTHOST_SECURITY_NONE; s < N_SECURITY; s++)
            {
              g_autoptr(SmarthostRelay) relay = NULL;

              if (smarthost_provider_get_port (p, s) == 0)
                {
                  relay = smarthost_provider_create_relay (p, region, s, &error);
                  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
                  g_assert_true (g_str_has_prefix (error->message, "security: "));
                  g_assert_null (relay);
                  g_clear_error (&error);
                  continue;
                }
              relay = smarthost_provider_create_relay (p, region, s, &error);
              g_assert_no_error (error);
              g_assert_cmpstr (smarthost_relay_get_host (relay), ==, host);
              g_assert_cmpuint (smarthost_relay_get_port (relay), ==, smarthost_provider_get_port (p, s));
              g_assert_cmpint (smarthost_relay_get_security (relay), ==, s);
              g_assert_cmpstr (smarthost_relay_get_username (relay), ==, smarthost_provider_get_username (p));
              /* A fixed user name needs its password before the relay is valid. */
              if (smarthost_relay_get_username (relay) != NULL)
                smarthost_relay_set_password (relay, "not-a-real-key");
              smarthost_relay_validate (relay, &error);
              g_assert_no_error (error);
            }
        }

      assert_spf_include (smarthost_provider_get_spf_include (p));

      g_assert_nonnull (quirks[0]);
      for (guint j = 0; quirks[j]; j++)
        assert_sentence (quirks[j]);
    }
}

static void
test_lookup (void)
{
  g_autoptr(GPtrArray) all = smarthost_provider_list ();
  g_autoptr(SmarthostProvider) p = NULL;
  g_autoptr(GError) error = NULL;

  p = lookup ("SendGrid");
  g_assert_cmpstr (smarthost_provider_get_id (p), ==, "sendgrid");
  g_clear_object (&p);
  p = lookup ("SPARKPOST-EU");
  g_assert_cmpstr (smarthost_provider_get_id (p), ==, "sparkpost-eu");
  g_clear_object (&p);

  /* Every preset is found by its own id, and it is the same object. */
  for (guint i = 0; i < all->len; i++)
    {
      g_autoptr(SmarthostProvider) q = lookup (smarthost_provider_get_id (g_ptr_array_index (all, i)));
      g_assert_true (q == g_ptr_array_index (all, i));
    }

  /* Unknown: the error names the known ones. */
  p = smarthost_provider_lookup ("sendgird", &error);
  g_assert_null (p);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
  g_assert_true (g_str_has_prefix (error->message, "provider: "));
  for (guint i = 0; i < all->len; i++)
    g_assert_nonnull (strstr (error->message, smarthost_provider_get_id (g_ptr_array_index (all, i))));
  g_clear_error (&error);

  p = smarthost_provider_lookup (NULL, &error);
  g_assert_null (p);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
  g_clear_error (&error);

  p = smarthost_provider_lookup ("", &error);
  g_assert_null (p);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
}

static void
assert_host (SmarthostProvider *p,
             const char        *region,
             const char        *expected)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *host = smarthost_provider_get_host (p, region, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (host, ==, expected);
}

static void
test_regions (void)
{
  g_autoptr(SmarthostProvider) ses = lookup ("ses");
  g_autoptr(SmarthostProvider) mailgun = lookup ("mailgun");
  static const char * const malformed[] = {
    "", "us_east_1", "useast1", "us-east", "us-east-", "-us-east-1", "u-east-1", "usa-east-1",
    "us-east-1.evil.example", "us-east-1 ", " us-east-1", "us-east-1\n", "us-east-1\r",
    "us-gov-", "us-gov-west", "us-east-1x", "us/east/1", "../us-east-1", "us-east-1.",
    "us-éast-1", "us-east-\xff", "{region}", "us-ea st-1",
  };
  static const char * const added[] = { "ap-south-2", "ap-southeast-3", "us-gov-west-1", "us-gov-east-1" };
  const char * const *regions = smarthost_provider_get_regions (ses);

  /* The default region, and the known ones. */
  g_assert_cmpstr (smarthost_provider_get_default_region (ses), ==, "us-east-1");
  assert_host (ses, NULL, "email-smtp.us-east-1.amazonaws.com");
  assert_host (ses, "eu-west-1", "email-smtp.eu-west-1.amazonaws.com");
  for (guint i = 0; i < G_N_ELEMENTS (added); i++)
    g_assert_true (g_strv_contains (regions, added[i]));
  assert_host (ses, "ap-south-2", "email-smtp.ap-south-2.amazonaws.com");
  assert_host (ses, "us-gov-west-1", "email-smtp.us-gov-west-1.amazonaws.com");

  /* A region the list does not know yet, if its name is well formed; in
   * any case. */
  g_assert_false (g_strv_contains (regions, "ap-southeast-7"));
  assert_host (ses, "ap-southeast-7", "email-smtp.ap-southeast-7.amazonaws.com");
  assert_host (ses, "mx-central-1", "email-smtp.mx-central-1.amazonaws.com");
  assert_host (ses, "EU-Central-2", "email-smtp.eu-central-2.amazonaws.com");

  /* Malformed: refused, saying what a region looks like. */
  for (guint i = 0; i < G_N_ELEMENTS (malformed); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *host = smarthost_provider_get_host (ses, malformed[i], &error);
      g_autoptr(SmarthostRelay) relay = NULL;

      g_test_message ("malformed region %u", i);
      g_assert_null (host);
      g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
      g_assert_true (g_str_has_prefix (error->message, "region: "));
      g_assert_nonnull (strstr (error->message, "us-east-1"));
      g_assert_null (strchr (error->message, '\n'));
      g_assert_true (g_utf8_validate (error->message, -1, NULL));
      g_clear_error (&error);

      relay = smarthost_provider_create_relay (ses, malformed[i], SMARTHOST_SECURITY_STARTTLS, &error);
      g_assert_null (relay);
      g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
    }

  /* No regions: none is taken, not even a well-formed one. */
  g_assert_null (smarthost_provider_get_regions (mailgun)[0]);
  g_assert_null (smarthost_provider_get_default_region (mailgun));
  assert_host (mailgun, NULL, "smtp.mailgun.org");
  {
    g_autoptr(GError) error = NULL;
    g_autofree char *host = smarthost_provider_get_host (mailgun, "eu-west-1", &error);
    g_autoptr(SmarthostRelay) relay = NULL;

    g_assert_null (host);
    g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
    g_assert_true (g_str_has_prefix (error->message, "region: "));
    g_clear_error (&error);
    relay = smarthost_provider_create_relay (mailgun, "eu-west-1", SMARTHOST_SECURITY_STARTTLS, &error);
    g_assert_null (relay);
    g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
  }
}

static void
assert_found (const char *host,
              const char *id,
              const char *region)
{
  g_autoptr(SmarthostRelay) relay = smarthost_relay_new (host);
  char stale[] = "stale";
  char *found_region = stale;   /* an output only: overwritten, never freed */
  g_autoptr(SmarthostProvider) p = NULL;

  g_test_message ("find_for_relay %s", host);
  p = smarthost_provider_find_for_relay (relay, &found_region);
  if (id == NULL)
    g_assert_null (p);
  else
    {
      g_assert_nonnull (p);
      g_assert_cmpstr (smarthost_provider_get_id (p), ==, id);
    }
  g_assert_cmpstr (found_region, ==, region);
  g_free (found_region);
}

static void
test_find_for_relay (void)
{
  g_autoptr(GPtrArray) all = smarthost_provider_list ();
  static const char * const strangers[] = {
    "mail.example.com", "smtp.sendgrid.net.evil.example", "xsmtp.sendgrid.net", "sendgrid.net",
    "smtp.sendgrid.ne", "email-smtp.amazonaws.com", "email-smtp..amazonaws.com",
    "email-smtp.us_east_1.amazonaws.com", "email-smtp.us-east-1.evil.amazonaws.com",
    "email-smtp.us-east-1.amazonaws.com.evil.example", "email-smtp.{region}.amazonaws.com",
    "192.0.2.1", "2001:db8::1", ".", "smtp.eu.sendgrid.net",
  };

  /* Round trip: every preset, in every known region, in any case, with or
   * without a root dot, in every mode it offers. */
  for (guint i = 0; i < all->len; i++)
    {
      SmarthostProvider *p = g_ptr_array_index (all, i);
      g_autoptr(GPtrArray) try = regions_to_try (p);

      for (guint r = 0; r < try->len; r++)
        {
          const char *region = g_ptr_array_index (try, r);
          g_autofree char *host = smarthost_provider_get_host (p, region, NULL);
          g_autofree char *upper = g_ascii_strup (host, -1);
          g_autofree char *dotted = g_strconcat (host, ".", NULL);

          assert_found (host, smarthost_provider_get_id (p), region);
          assert_found (upper, smarthost_provider_get_id (p), region);
          assert_found (dotted, smarthost_provider_get_id (p), region);

          for (SmarthostSecurity s = SMARTHOST_SECURITY_STARTTLS; s < N_SECURITY; s++)
            {
              g_autoptr(SmarthostRelay) relay = smarthost_provider_create_relay (p, region, s, NULL);
              g_autoptr(SmarthostProvider) found = NULL;

              if (relay == NULL)
                continue;
              found = smarthost_provider_find_for_relay (relay, NULL);
              g_assert_true (found == p);
            }
        }
    }

  /* A region the list does not know, found all the same, in lower case. */
  assert_found ("email-smtp.ap-southeast-7.amazonaws.com", "ses", "ap-southeast-7");
  assert_found ("EMAIL-SMTP.MX-CENTRAL-1.AMAZONAWS.COM", "ses", "mx-central-1");
  /* The EU hosts are presets of their own. */
  assert_found ("smtp.eu.mailgun.org", "mailgun-eu", NULL);
  assert_found ("smtp.eu.sparkpostmail.com", "sparkpost-eu", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (strangers); i++)
    assert_found (strangers[i], NULL, NULL);
}

static void
test_sendgrid (void)
{
  g_autoptr(SmarthostProvider) p = lookup ("sendgrid");
  g_autoptr(SmarthostRelay) relay = NULL;
  g_autoptr(GError) error = NULL;
  gsize n;
  const guint *ports = smarthost_provider_get_ports (p, SMARTHOST_SECURITY_STARTTLS, &n);

  g_assert_cmpstr (smarthost_provider_get_username (p), ==, "apikey");
  g_assert_cmpuint (n, >=, 1);
  g_assert_cmpuint (ports[0], ==, 587);
  g_assert_cmpuint (smarthost_provider_get_port (p, SMARTHOST_SECURITY_TLS), ==, 465);

  relay = smarthost_provider_create_relay (p, NULL, SMARTHOST_SECURITY_TLS, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (smarthost_relay_get_host (relay), ==, "smtp.sendgrid.net");
  g_assert_cmpstr (smarthost_relay_get_username (relay), ==, "apikey");
  g_assert_cmpuint (smarthost_relay_get_port (relay), ==, 465);
}

static void
test_facts (void)
{
  g_autoptr(SmarthostProvider) ms = lookup ("microsoft365");
  g_autoptr(SmarthostProvider) google = lookup ("google");
  g_autoptr(SmarthostProvider) gmail = lookup ("gmail");
  g_autoptr(SmarthostProvider) sp = lookup ("sparkpost");
  g_autoptr(SmarthostProvider) sp_eu = lookup ("sparkpost-eu");
  g_autoptr(SmarthostProvider) postmark = lookup ("postmark");
  g_autoptr(SmarthostProvider) ses = lookup ("ses");
  g_autoptr(SmarthostRelay) relay = NULL;
  g_autoptr(GError) error = NULL;
  gsize n;
  const guint *ports;

  /* Microsoft 365: STARTTLS only; no implicit TLS. */
  g_assert_cmpuint (smarthost_provider_get_port (ms, SMARTHOST_SECURITY_STARTTLS), ==, 587);
  g_assert_cmpuint (smarthost_provider_get_port (ms, SMARTHOST_SECURITY_TLS), ==, 0);
  relay = smarthost_provider_create_relay (ms, NULL, SMARTHOST_SECURITY_TLS, &error);
  g_assert_null (relay);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "starttls"));
  g_clear_error (&error);

  /* Google: the relay and the per-user server. */
  assert_host (google, NULL, "smtp-relay.gmail.com");
  g_assert_cmpuint (smarthost_provider_get_port (google, SMARTHOST_SECURITY_STARTTLS), ==, 587);
  g_assert_cmpuint (smarthost_provider_get_port (google, SMARTHOST_SECURITY_TLS), ==, 465);
  assert_host (gmail, NULL, "smtp.gmail.com");
  g_assert_cmpuint (smarthost_provider_get_port (gmail, SMARTHOST_SECURITY_STARTTLS), ==, 587);
  g_assert_cmpuint (smarthost_provider_get_port (gmail, SMARTHOST_SECURITY_TLS), ==, 465);

  /* SparkPost: US and EU. */
  assert_host (sp_eu, NULL, "smtp.eu.sparkpostmail.com");
  g_assert_cmpstr (smarthost_provider_get_username (sp_eu), ==, "SMTP_Injection");
  g_assert_cmpstr (smarthost_provider_get_spf_include (sp), ==, "_spf.sparkpostmail.com");
  g_assert_cmpstr (smarthost_provider_get_spf_include (sp_eu), ==, "_spf.eu.sparkpostmail.com");

  /* STARTTLS ports and implicit TLS ports are kept apart. */
  ports = smarthost_provider_get_ports (ses, SMARTHOST_SECURITY_TLS, &n);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpuint (ports[0], ==, 465);
  g_assert_cmpuint (ports[1], ==, 2465);
  ports = smarthost_provider_get_ports (ses, SMARTHOST_SECURITY_STARTTLS, &n);
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpuint (ports[0], ==, 587);
  ports = smarthost_provider_get_ports (postmark, SMARTHOST_SECURITY_TLS, &n);
  g_assert_cmpuint (n, ==, 0);
  g_assert_nonnull (ports);
  ports = smarthost_provider_get_ports (postmark, (SmarthostSecurity) 42, &n);
  g_assert_cmpuint (n, ==, 0);
  g_assert_nonnull (ports);
}

static json_t *
parse_object (const char *text)
{
  json_error_t error;
  json_t *node = json_loads (text, JSON_REJECT_DUPLICATES, &error);

  if (node == NULL)
    g_error ("not JSON: %s", error.text);
  g_assert_true (json_is_object (node));
  return node;
}

static void
test_to_json (void)
{
  g_autoptr(GPtrArray) all = smarthost_provider_list ();

  for (guint i = 0; i < all->len; i++)
    {
      SmarthostProvider *p = g_ptr_array_index (all, i);
      g_autofree char *text = smarthost_provider_to_json (p);
      g_autoptr(json_t) o = parse_object (text);
      g_autofree char *host = smarthost_provider_get_host (p, NULL, NULL);
      const char * const *quirks = smarthost_provider_get_quirks (p);
      const char * const *regions = smarthost_provider_get_regions (p);
      json_t *ports = json_object_get (o, "ports");

      g_assert_cmpstr (json_string_value (json_object_get (o, "id")), ==, smarthost_provider_get_id (p));
      g_assert_cmpstr (json_string_value (json_object_get (o, "name")), ==, smarthost_provider_get_name (p));
      g_assert_cmpstr (json_string_value (json_object_get (o, "host")), ==, host);
      g_assert_cmpstr (json_string_value (json_object_get (o, "spf_include")), ==, smarthost_provider_get_spf_include (p));
      g_assert_cmpstr (json_string_value (json_object_get (o, "username")), ==,
                       smarthost_provider_get_username (p));
      g_assert_cmpstr (json_string_value (json_object_get (o, "default_region")), ==,
                       smarthost_provider_get_default_region (p));
      g_assert_cmpuint (json_array_size (json_object_get (o, "quirks")), ==,
                        g_strv_length ((char **) quirks));
      g_assert_cmpuint (json_array_size (json_object_get (o, "regions")), ==,
                        g_strv_length ((char **) regions));
      for (SmarthostSecurity sec = SMARTHOST_SECURITY_NONE; sec <= SMARTHOST_SECURITY_TLS; sec++)
        {
          gsize n = 0;
          const guint *list = smarthost_provider_get_ports (p, sec, &n);
          const char *name = smarthost_security_to_string (sec);

          g_assert_cmpint (json_object_get (ports, name) != NULL, ==, n > 0);
          for (gsize j = 0; j < n; j++)
            g_assert_cmpint (json_integer_value (json_array_get (json_object_get (ports, name), j)), ==, list[j]);
        }
    }
}

static void
test_quirks_for_state (void)
{
  g_autoptr(SmarthostState) state = smarthost_state_new ();
  g_autoptr(SmarthostProvider) sendgrid = lookup ("sendgrid");
  g_autoptr(SmarthostProvider) mailgun = lookup ("mailgun");
  g_autoptr(SmarthostRelay) a = smarthost_provider_create_relay (sendgrid, NULL, SMARTHOST_SECURITY_STARTTLS, NULL);
  g_autoptr(SmarthostRelay) b = smarthost_provider_create_relay (sendgrid, NULL, SMARTHOST_SECURITY_TLS, NULL);
  g_autoptr(SmarthostRelay) c = smarthost_provider_create_relay (mailgun, NULL, SMARTHOST_SECURITY_STARTTLS, NULL);
  g_autoptr(SmarthostRelay) other = smarthost_relay_new ("relay.example.net");
  g_autoptr(GPtrArray) expected = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) none = smarthost_provider_quirks_for_state (state);
  g_auto(GStrv) quirks = NULL;

  g_assert_cmpuint (g_strv_length (none), ==, 0);
  /* The domains' services in their order, each once: the domain using
   * mailgun ("a") comes before those using the server's service. */
  smarthost_state_set_server (state, other);
  g_assert_true (smarthost_state_set_domain (state, "a.example", c, NULL));
  g_assert_true (smarthost_state_set_domain (state, "b.example", a, NULL));
  g_assert_true (smarthost_state_set_domain (state, "c.example", b, NULL));
  g_assert_true (smarthost_state_set_domain (state, "d.example", c, NULL));
  for (const char * const *q = smarthost_provider_get_quirks (mailgun); *q; q++)
    g_ptr_array_add (expected, g_strdup_printf ("%s: %s", smarthost_provider_get_name (mailgun), *q));
  for (const char * const *q = smarthost_provider_get_quirks (sendgrid); *q; q++)
    g_ptr_array_add (expected, g_strdup_printf ("%s: %s", smarthost_provider_get_name (sendgrid), *q));
  g_ptr_array_add (expected, NULL);
  quirks = smarthost_provider_quirks_for_state (state);
  g_assert_cmpstrv (quirks, (char **) expected->pdata);
}

static void
test_finding_to_json (void)
{
  g_autoptr(SmarthostFinding) f = smarthost_finding_new (SMARTHOST_SEVERITY_WARNING, "duplicate-parameter",
                                                         "relayhost is set \"twice\"", "remove one");
  g_autofree char *text = smarthost_finding_to_json (f);
  g_autoptr(json_t) o = parse_object (text);

  g_assert_cmpuint (json_object_size (o), ==, 4);
  g_assert_cmpstr (json_string_value (json_object_get (o, "severity")), ==, "warning");
  g_assert_cmpstr (json_string_value (json_object_get (o, "code")), ==, "duplicate-parameter");
  g_assert_cmpstr (json_string_value (json_object_get (o, "message")), ==, "relayhost is set \"twice\"");
  g_assert_cmpstr (json_string_value (json_object_get (o, "fix")), ==, "remove one");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/provider/presets-well-formed", test_presets_well_formed);
  g_test_add_func ("/provider/lookup", test_lookup);
  g_test_add_func ("/provider/regions", test_regions);
  g_test_add_func ("/provider/find-for-relay", test_find_for_relay);
  g_test_add_func ("/provider/sendgrid", test_sendgrid);
  g_test_add_func ("/provider/facts", test_facts);
  g_test_add_func ("/provider/to-json", test_to_json);
  g_test_add_func ("/provider/quirks-for-state", test_quirks_for_state);
  g_test_add_func ("/finding/to-json", test_finding_to_json);

  return g_test_run ();
}
