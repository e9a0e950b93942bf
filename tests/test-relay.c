/* test-relay.c: SmarthostRelay, security modes and domain names
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-enum-types.h"
#include "smarthost-error.h"
#include "smarthost-private.h"
#include "smarthost-relay.h"
#include "smarthost-util-private.h"

typedef struct {
  SmarthostRelay *relay;
  gpointer weak;          /* cleared when the relay is finalized */
  GPtrArray *notified;    /* names of the notified properties */
} Fixture;

static void
on_notify (GObject    *object,
           GParamSpec *pspec,
           gpointer    user_data)
{
  Fixture *fx = user_data;

  g_ptr_array_add (fx->notified, g_strdup (pspec->name));
}

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  fx->relay = smarthost_relay_new ("smtp.example.com");
  fx->weak = fx->relay;
  g_object_add_weak_pointer (G_OBJECT (fx->relay), &fx->weak);
  fx->notified = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (fx->relay, "notify", G_CALLBACK (on_notify), fx);
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  g_object_unref (fx->relay);
  /* Nothing else may hold the relay: it is finalized now. */
  g_assert_null (fx->weak);
  g_ptr_array_unref (fx->notified);
}

static gboolean
was_notified (Fixture    *fx,
              const char *name)
{
  for (guint i = 0; i < fx->notified->len; i++)
    if (g_str_equal (g_ptr_array_index (fx->notified, i), name))
      return TRUE;
  return FALSE;
}

/* Asserts that @relay fails validation with an error naming @field. */
static void
assert_invalid (SmarthostRelay *relay,
                const char     *field)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *prefix = g_strconcat (field, ": ", NULL);

  g_assert_false (smarthost_relay_validate (relay, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
  if (!g_str_has_prefix (error->message, prefix))
    g_error ("expected an error about %s, got \"%s\"", field, error->message);
}

static void
assert_valid (SmarthostRelay *relay)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (smarthost_relay_validate (relay, &error));
  g_assert_no_error (error);
}

static void
test_defaults (Fixture       *fx,
               gconstpointer  data)
{
  g_autoptr(SmarthostRelay) empty = smarthost_relay_new (NULL);

  g_assert_cmpstr (smarthost_relay_get_host (fx->relay), ==, "smtp.example.com");
  g_assert_cmpuint (smarthost_relay_get_port (fx->relay), ==, 0);
  g_assert_cmpuint (smarthost_relay_get_effective_port (fx->relay), ==, 587);
  g_assert_cmpint (smarthost_relay_get_security (fx->relay), ==, SMARTHOST_SECURITY_STARTTLS);
  g_assert_false (smarthost_relay_get_mx_lookup (fx->relay));
  g_assert_true (smarthost_relay_get_verify_certificate (fx->relay));
  g_assert_null (smarthost_relay_get_ca_file (fx->relay));
  g_assert_null (smarthost_relay_get_username (fx->relay));
  g_assert_null (smarthost_relay_get_password (fx->relay));
  g_assert_false (smarthost_relay_get_password_set (fx->relay));
  assert_valid (fx->relay);

  smarthost_relay_set_security (fx->relay, SMARTHOST_SECURITY_TLS);
  g_assert_cmpuint (smarthost_relay_get_port (fx->relay), ==, 0);
  g_assert_cmpuint (smarthost_relay_get_effective_port (fx->relay), ==, 465);
  smarthost_relay_set_security (fx->relay, SMARTHOST_SECURITY_NONE);
  g_assert_cmpuint (smarthost_relay_get_effective_port (fx->relay), ==, 587);
  smarthost_relay_set_port (fx->relay, 2525);
  g_assert_cmpuint (smarthost_relay_get_effective_port (fx->relay), ==, 2525);

  g_assert_null (smarthost_relay_get_host (empty));
  assert_invalid (empty, "host");
}

static void
test_properties (Fixture       *fx,
                 gconstpointer  data)
{
  g_autofree char *host = NULL;
  g_autofree char *ca = NULL;
  g_autofree char *user = NULL;
  g_autofree char *password = NULL;
  guint port;
  SmarthostSecurity security;
  gboolean mx, verify, password_set;

  g_object_set (fx->relay,
                "host", "relay.example.org",
                "port", 2525,
                "security", SMARTHOST_SECURITY_TLS,
                "mx-lookup", TRUE,
                "verify-certificate", TRUE,
                "ca-file", "/etc/ssl/certs/ca-certificates.crt",
                "username", "apikey",
                "password", "s3cret",
                NULL);
  g_object_get (fx->relay,
                "host", &host,
                "port", &port,
                "security", &security,
                "mx-lookup", &mx,
                "verify-certificate", &verify,
                "ca-file", &ca,
                "username", &user,
                "password", &password,
                "password-set", &password_set,
                NULL);
  g_assert_cmpstr (host, ==, "relay.example.org");
  g_assert_cmpuint (port, ==, 2525);
  g_assert_cmpint (security, ==, SMARTHOST_SECURITY_TLS);
  g_assert_true (mx);
  g_assert_true (verify);
  g_assert_cmpstr (ca, ==, "/etc/ssl/certs/ca-certificates.crt");
  g_assert_cmpstr (user, ==, "apikey");
  g_assert_cmpstr (password, ==, "s3cret");
  g_assert_true (password_set);

  g_assert_true (was_notified (fx, "host"));
  g_assert_true (was_notified (fx, "port"));
  g_assert_true (was_notified (fx, "security"));
  g_assert_true (was_notified (fx, "mx-lookup"));
  g_assert_false (was_notified (fx, "verify-certificate"));   /* unchanged */
  g_assert_true (was_notified (fx, "ca-file"));
  g_assert_true (was_notified (fx, "username"));
  g_assert_true (was_notified (fx, "password"));
  g_assert_true (was_notified (fx, "password-set"));

  smarthost_relay_set_password (fx->relay, NULL);
  g_assert_false (smarthost_relay_get_password_set (fx->relay));
  smarthost_relay_set_verify_certificate (fx->relay, FALSE);
  g_assert_false (smarthost_relay_get_verify_certificate (fx->relay));
  smarthost_relay_set_mx_lookup (fx->relay, FALSE);
  g_assert_false (smarthost_relay_get_mx_lookup (fx->relay));
}

/* G_PARAM_EXPLICIT_NOTIFY: setting a property to its current value emits
 * nothing, whether through the setter or g_object_set(). */
static void
test_notify_unchanged (Fixture       *fx,
                       gconstpointer  data)
{
  smarthost_relay_set_port (fx->relay, 587);
  smarthost_relay_set_username (fx->relay, "user");
  smarthost_relay_set_password (fx->relay, "pw");
  smarthost_relay_set_ca_file (fx->relay, "/etc/ca.pem");
  g_ptr_array_set_size (fx->notified, 0);

  smarthost_relay_set_host (fx->relay, "smtp.example.com");
  smarthost_relay_set_port (fx->relay, 587);
  smarthost_relay_set_security (fx->relay, SMARTHOST_SECURITY_STARTTLS);
  smarthost_relay_set_mx_lookup (fx->relay, FALSE);
  smarthost_relay_set_verify_certificate (fx->relay, TRUE);
  smarthost_relay_set_verify_certificate (fx->relay, 2);    /* any true value */
  smarthost_relay_set_ca_file (fx->relay, "/etc/ca.pem");
  smarthost_relay_set_username (fx->relay, "user");
  smarthost_relay_set_password (fx->relay, "pw");
  g_object_set (fx->relay,
                "host", "smtp.example.com",
                "port", 587,
                "security", SMARTHOST_SECURITY_STARTTLS,
                "mx-lookup", FALSE,
                "verify-certificate", TRUE,
                "ca-file", "/etc/ca.pem",
                "username", "user",
                "password", "pw",
                NULL);
  g_assert_cmpuint (fx->notified->len, ==, 0);

  /* A change notifies once. */
  smarthost_relay_set_host (fx->relay, "other.example.com");
  g_assert_cmpuint (fx->notified->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (fx->notified, 0), ==, "host");
}

static void
test_copy_equal (Fixture       *fx,
                 gconstpointer  data)
{
  g_autoptr(SmarthostRelay) copy = NULL;
  g_autoptr(SmarthostRelay) other = NULL;
  gpointer weak_copy;

  g_object_set (fx->relay,
                "port", 2525,
                "security", SMARTHOST_SECURITY_TLS,
                "ca-file", "/etc/ca.pem",
                "username", "apikey",
                "password", "s3cret",
                NULL);
  copy = smarthost_relay_copy (fx->relay);
  weak_copy = copy;
  g_object_add_weak_pointer (G_OBJECT (copy), &weak_copy);
  g_assert_true (copy != fx->relay);
  g_assert_true (smarthost_relay_equal (fx->relay, copy));
  g_assert_true (smarthost_relay_equal (copy, fx->relay));
  g_assert_cmpstr (smarthost_relay_get_password (copy), ==, "s3cret");
  g_assert_cmpuint (smarthost_relay_get_port (copy), ==, 2525);

  /* The copy is independent. */
  smarthost_relay_set_password (copy, "other");
  g_assert_false (smarthost_relay_equal (fx->relay, copy));
  g_assert_cmpstr (smarthost_relay_get_password (fx->relay), ==, "s3cret");
  smarthost_relay_set_password (copy, "s3cret");
  g_assert_true (smarthost_relay_equal (fx->relay, copy));

  /* Host names compare without regard to case. */
  smarthost_relay_set_host (copy, "SMTP.Example.COM");
  g_assert_true (smarthost_relay_equal (fx->relay, copy));

  /* Each field matters. */
  smarthost_relay_set_username (copy, "other");
  g_assert_false (smarthost_relay_equal (fx->relay, copy));
  smarthost_relay_set_username (copy, "apikey");
  smarthost_relay_set_ca_file (copy, NULL);
  g_assert_false (smarthost_relay_equal (fx->relay, copy));
  smarthost_relay_set_ca_file (copy, "/etc/ca.pem");
  smarthost_relay_set_mx_lookup (copy, TRUE);
  g_assert_false (smarthost_relay_equal (fx->relay, copy));
  smarthost_relay_set_mx_lookup (copy, FALSE);
  smarthost_relay_set_verify_certificate (copy, FALSE);
  g_assert_false (smarthost_relay_equal (fx->relay, copy));
  smarthost_relay_set_verify_certificate (copy, TRUE);
  smarthost_relay_set_security (copy, SMARTHOST_SECURITY_STARTTLS);
  g_assert_false (smarthost_relay_equal (fx->relay, copy));
  smarthost_relay_set_security (copy, SMARTHOST_SECURITY_TLS);
  g_assert_true (smarthost_relay_equal (fx->relay, copy));

  /* An unset port equals the usual port of the security mode. */
  other = smarthost_relay_new ("smtp.example.com");
  smarthost_relay_set_security (other, SMARTHOST_SECURITY_TLS);
  {
    g_autoptr(SmarthostRelay) explicit_port = smarthost_relay_copy (other);
    smarthost_relay_set_port (explicit_port, 465);
    g_assert_true (smarthost_relay_equal (other, explicit_port));
    smarthost_relay_set_port (explicit_port, 587);
    g_assert_false (smarthost_relay_equal (other, explicit_port));
  }

  g_clear_object (&copy);
  g_assert_null (weak_copy);
}

static void
test_to_string_masks_password (Fixture       *fx,
                               gconstpointer  data)
{
  g_autofree char *plain = NULL;
  g_autofree char *with_user = NULL;
  g_autofree char *with_password = NULL;
  g_autofree char *tls = NULL;
  g_autofree char *v6 = NULL;

  plain = smarthost_relay_to_string (fx->relay);
  g_assert_cmpstr (plain, ==, "smtp.example.com:587 (starttls, certificate verified)");

  smarthost_relay_set_username (fx->relay, "apikey");
  with_user = smarthost_relay_to_string (fx->relay);
  g_assert_cmpstr (with_user, ==, "smtp.example.com:587 (starttls, certificate verified), user apikey, password not set");

  smarthost_relay_set_password (fx->relay, "Sup3r-Secret");
  with_password = smarthost_relay_to_string (fx->relay);
  g_assert_cmpstr (with_password, ==, "smtp.example.com:587 (starttls, certificate verified), user apikey, password set");
  g_assert_null (strstr (with_password, "Sup3r-Secret"));

  smarthost_relay_set_security (fx->relay, SMARTHOST_SECURITY_TLS);
  smarthost_relay_set_verify_certificate (fx->relay, FALSE);
  tls = smarthost_relay_to_string (fx->relay);
  g_assert_null (strstr (tls, "Sup3r-Secret"));
  g_assert_nonnull (strstr (tls, ":465 (tls, certificate not verified)"));

  smarthost_relay_set_host (fx->relay, "2001:db8::1");
  v6 = smarthost_relay_to_string (fx->relay);
  g_assert_true (g_str_has_prefix (v6, "[2001:db8::1]:465"));
  g_assert_null (strstr (v6, "Sup3r-Secret"));
}

typedef void (*Mutate) (SmarthostRelay *relay);

static void set_host_empty (SmarthostRelay *r) { smarthost_relay_set_host (r, ""); }
static void set_host_null (SmarthostRelay *r) { smarthost_relay_set_host (r, NULL); }
static void set_host_space (SmarthostRelay *r) { smarthost_relay_set_host (r, "smtp example.com"); }
static void set_host_tab (SmarthostRelay *r) { smarthost_relay_set_host (r, "smtp\texample.com"); }
static void set_host_newline (SmarthostRelay *r) { smarthost_relay_set_host (r, "smtp.example.com\nrelayhost = evil"); }
static void set_host_control (SmarthostRelay *r) { smarthost_relay_set_host (r, "smtp\x01.example.com"); }
static void set_host_del (SmarthostRelay *r) { smarthost_relay_set_host (r, "smtp\x7f.example.com"); }
static void set_host_brackets (SmarthostRelay *r) { smarthost_relay_set_host (r, "[smtp.example.com]"); }
static void set_host_port (SmarthostRelay *r) { smarthost_relay_set_host (r, "smtp.example.com:25"); }
static void set_host_leading_hyphen (SmarthostRelay *r) { smarthost_relay_set_host (r, "-a.com"); }
static void set_host_trailing_hyphen (SmarthostRelay *r) { smarthost_relay_set_host (r, "a-.com"); }
static void set_host_empty_label (SmarthostRelay *r) { smarthost_relay_set_host (r, "a..b"); }
static void set_host_comma (SmarthostRelay *r) { smarthost_relay_set_host (r, "a.com,b.com"); }
/* Not UTF-8, ending inside a sequence: must not be read past its end. */
static void set_host_invalid_utf8 (SmarthostRelay *r) { smarthost_relay_set_host (r, "abc\xdf"); }
static void set_host_long_label (SmarthostRelay *r)
{
  g_autofree char *label = g_strnfill (64, 'a');
  g_autofree char *host = g_strconcat (label, ".com", NULL);
  smarthost_relay_set_host (r, host);
}
static void set_ip_mx (SmarthostRelay *r) { smarthost_relay_set_host (r, "192.0.2.1"); smarthost_relay_set_mx_lookup (r, TRUE); }
static void set_ip6_mx (SmarthostRelay *r) { smarthost_relay_set_host (r, "2001:db8::1"); smarthost_relay_set_mx_lookup (r, TRUE); }
static void set_port_zero (SmarthostRelay *r) { smarthost_relay_set_port (r, 0); }
static void set_port_65536 (SmarthostRelay *r) { smarthost_relay_set_port (r, 65536); }
static void set_port_70000 (SmarthostRelay *r) { smarthost_relay_set_port (r, 70000); }
static void set_port_zero_prop (SmarthostRelay *r) { g_object_set (r, "port", 0, NULL); }
static void set_security_7 (SmarthostRelay *r) { smarthost_relay_set_security (r, (SmarthostSecurity) 7); }
static void set_ca_relative (SmarthostRelay *r) { smarthost_relay_set_ca_file (r, "certs/ca.pem"); }
static void set_ca_empty (SmarthostRelay *r) { smarthost_relay_set_ca_file (r, ""); }
static void set_ca_newline (SmarthostRelay *r) { smarthost_relay_set_ca_file (r, "/etc/ca.pem\nsmtp_tls_CAfile = /x"); }
static void set_ca_noverify (SmarthostRelay *r) { smarthost_relay_set_ca_file (r, "/etc/ca.pem"); smarthost_relay_set_verify_certificate (r, FALSE); }
static void set_ca_none (SmarthostRelay *r) { smarthost_relay_set_ca_file (r, "/etc/ca.pem"); smarthost_relay_set_security (r, SMARTHOST_SECURITY_NONE); }
static void set_user_empty (SmarthostRelay *r) { smarthost_relay_set_username (r, ""); }
static void set_user_newline (SmarthostRelay *r) { smarthost_relay_set_username (r, "user\n@x other:pw"); }
static void set_user_invalid_utf8 (SmarthostRelay *r) { smarthost_relay_set_username (r, "user\xff"); }
static void set_user_too_long (SmarthostRelay *r) { g_autofree char *u = g_strnfill (513, 'u'); smarthost_relay_set_username (r, u); }
static void set_user_no_password (SmarthostRelay *r) { smarthost_relay_set_username (r, "user"); }
static void set_password_no_user (SmarthostRelay *r) { smarthost_relay_set_password (r, "pw"); }
static void set_password_empty (SmarthostRelay *r) { smarthost_relay_set_username (r, "user"); smarthost_relay_set_password (r, ""); }
static void set_password_newline (SmarthostRelay *r) { smarthost_relay_set_username (r, "user"); smarthost_relay_set_password (r, "pw\n@evil x:y"); }
static void set_password_cr (SmarthostRelay *r) { smarthost_relay_set_username (r, "user"); smarthost_relay_set_password (r, "pw\r"); }
static void set_password_too_long (SmarthostRelay *r) { g_autofree char *p = g_strnfill (1025, 'p'); smarthost_relay_set_username (r, "user"); smarthost_relay_set_password (r, p); }

static const struct {
  const char *name;
  Mutate mutate;
  const char *field;
} invalid_cases[] = {
  { "host-empty", set_host_empty, "host" },
  { "host-null", set_host_null, "host" },
  { "host-space", set_host_space, "host" },
  { "host-tab", set_host_tab, "host" },
  { "host-newline", set_host_newline, "host" },
  { "host-control", set_host_control, "host" },
  { "host-del", set_host_del, "host" },
  { "host-brackets", set_host_brackets, "host" },
  { "host-port", set_host_port, "host" },
  { "host-leading-hyphen", set_host_leading_hyphen, "host" },
  { "host-trailing-hyphen", set_host_trailing_hyphen, "host" },
  { "host-empty-label", set_host_empty_label, "host" },
  { "host-comma", set_host_comma, "host" },
  { "host-invalid-utf8", set_host_invalid_utf8, "host" },
  { "host-long-label", set_host_long_label, "host" },
  { "ip-mx-lookup", set_ip_mx, "mx-lookup" },
  { "ip6-mx-lookup", set_ip6_mx, "mx-lookup" },
  { "port-zero", set_port_zero, "port" },
  { "port-zero-property", set_port_zero_prop, "port" },
  { "port-65536", set_port_65536, "port" },
  { "port-70000", set_port_70000, "port" },
  { "security-7", set_security_7, "security" },
  { "ca-relative", set_ca_relative, "ca-file" },
  { "ca-empty", set_ca_empty, "ca-file" },
  { "ca-newline", set_ca_newline, "ca-file" },
  { "ca-noverify", set_ca_noverify, "ca-file" },
  { "ca-security-none", set_ca_none, "ca-file" },
  { "username-empty", set_user_empty, "username" },
  { "username-newline", set_user_newline, "username" },
  { "username-utf8", set_user_invalid_utf8, "username" },
  { "username-long", set_user_too_long, "username" },
  { "password-no-user", set_password_no_user, "password" },
  { "username-without-password", set_user_no_password, "password" },
  { "password-empty", set_password_empty, "password" },
  { "password-newline", set_password_newline, "password" },
  { "password-cr", set_password_cr, "password" },
  { "password-long", set_password_too_long, "password" },
};

static void
test_validate_invalid (Fixture       *fx,
                       gconstpointer  data)
{
  guint i = GPOINTER_TO_UINT (data);

  assert_valid (fx->relay);
  invalid_cases[i].mutate (fx->relay);
  assert_invalid (fx->relay, invalid_cases[i].field);
}

static void
test_validate_valid (Fixture       *fx,
                     gconstpointer  data)
{
  static const char *hosts[] = { "smtp.sendgrid.net", "SMTP.Example.COM", "mail", "in-v3.mailjet.com",
                                 "email-smtp.eu-west-1.amazonaws.com", "relay_internal.example.com",
                                 "192.0.2.25", "2001:db8::25", "bücher.example", NULL };

  for (guint i = 0; hosts[i]; i++)
    {
      smarthost_relay_set_host (fx->relay, hosts[i]);
      assert_valid (fx->relay);
    }
  smarthost_relay_set_host (fx->relay, "smtp.example.com");
  smarthost_relay_set_mx_lookup (fx->relay, TRUE);
  assert_valid (fx->relay);

  smarthost_relay_set_port (fx->relay, 1);
  assert_valid (fx->relay);
  smarthost_relay_set_port (fx->relay, 65535);
  assert_valid (fx->relay);

  g_object_set (fx->relay,
                "security", SMARTHOST_SECURITY_TLS,
                "ca-file", "/etc/ssl/certs/ca-certificates.crt",
                "username", "user@example.com",
                "password", "p4ss w0rd:with#odd;chars",
                NULL);
  assert_valid (fx->relay);

  /* Security none without a CA file, verification off. */
  g_object_set (fx->relay,
                "security", SMARTHOST_SECURITY_NONE,
                "ca-file", NULL,
                "verify-certificate", FALSE,
                NULL);
  assert_valid (fx->relay);
}

static void
test_validate_order (Fixture       *fx,
                     gconstpointer  data)
{
  /* The first bad field in property order is named. */
  smarthost_relay_set_port (fx->relay, 70000);
  smarthost_relay_set_password (fx->relay, "pw");
  assert_invalid (fx->relay, "port");
  smarthost_relay_set_host (fx->relay, "a b");
  assert_invalid (fx->relay, "host");
}

static void
test_error_never_echoes_password (Fixture       *fx,
                                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  smarthost_relay_set_username (fx->relay, "user");
  smarthost_relay_set_password (fx->relay, "Leak\nMe");
  g_assert_false (smarthost_relay_validate (fx->relay, &error));
  g_assert_null (strstr (error->message, "Leak"));
}

static void
test_domain_normalize (void)
{
  static const struct {
    const char *in;
    const char *out;
  } good[] = {
    { "example.com", "example.com" },
    { "Example.COM.", "example.com" },
    { "bücher.example", "xn--bcher-kva.example" },
    { "BÜCHER.example", "xn--bcher-kva.example" },
    { "xn--bcher-kva.example", "xn--bcher-kva.example" },
    { "mail-1.sub.example.co.uk", "mail-1.sub.example.co.uk" },
  };
  static const char *bad[] = {
    "", "a b.com", " example.com", "@x.com", "user@x.com", "localhost", "1.2.3.4", "2001:db8::1",
    "[1.2.3.4]", "a\nb.com", "a\tb.com", "exa_mple.com", "-a.com", "a..b", ".", "example.com..",
    "a,b.com", "\xff.com", "192.0.2.1.", "ex\xe4mple.com",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *normalized = smarthost_domain_normalize (good[i].in, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (normalized, ==, good[i].out);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *normalized = smarthost_domain_normalize (bad[i], &error);

      if (normalized != NULL)
        g_error ("\"%s\" was accepted as \"%s\"", g_strescape (bad[i], NULL), normalized);
      g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
      g_assert_true (g_str_has_prefix (error->message, "domain: "));
    }
  {
    g_autoptr(GError) error = NULL;
    g_assert_null (smarthost_domain_normalize (NULL, &error));
    g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
  }
}

/* What the resolver reads as an address is an address (inet_aton()'s
 * forms), and a name ending with a number is no host name. */
static void
test_address_forms (void)
{
  static const struct {
    const char *host;
    const char *address;      /* its usual form, or NULL: not an address */
    const char *needle;       /* in the error for it as a relay's host */
  } cases[] = {
    { "127.1", "127.0.0.1", "\"127.1\" is the IPv4 address 127.0.0.1 written short" },
    { "0x7f.1", "127.0.0.1", "\"0x7f.1\" is the IPv4 address 127.0.0.1 written in hexadecimal" },
    { "0177.0.0.1", "127.0.0.1", "\"0177.0.0.1\" is the IPv4 address 127.0.0.1 written in octal" },
    { "010.0.0.1", "8.0.0.1", "written in octal" },
    { "127.0.0.01", "127.0.0.1", "written in octal" },
    { "2130706433", "127.0.0.1", "written as one number" },
    { "0x7f000001", "127.0.0.1", "written in hexadecimal" },
    { "192.0.2.1", "192.0.2.1", NULL },
    { "2001:db8::1", "2001:db8::1", NULL },
    { "1.2.3.4.5", NULL, "\"1.2.3.4.5\" is neither an IP address nor a host name" },
    { "smtp.example.123", NULL, "is neither an IP address nor a host name" },
    { "smtp.example.0x1f", NULL, "is neither an IP address nor a host name" },
    { "1.2.3.256", NULL, "is neither an IP address nor a host name" },
    { "smtp.example.net", NULL, NULL },
    { "123.example.net", NULL, NULL },
    { "1e100.net", NULL, NULL },
    { "smtp.example.0x", NULL, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(SmarthostRelay) relay = smarthost_relay_new (cases[i].host);
      g_autoptr(GError) error = NULL;
      g_autofree char *address = NULL;
      gboolean is_address = _smarthost_host_is_address (cases[i].host, &address);

      g_test_message ("%s", cases[i].host);
      g_assert_cmpint (is_address, ==, cases[i].address != NULL);
      g_assert_cmpstr (address, ==, cases[i].address);

      /* Verification off: only the form matters. */
      smarthost_relay_set_verify_certificate (relay, FALSE);
      if (cases[i].needle == NULL)
        {
          g_assert_true (smarthost_relay_validate (relay, &error));
          g_assert_no_error (error);
          continue;
        }
      g_assert_false (smarthost_relay_validate (relay, &error));
      g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
      g_assert_true (g_str_has_prefix (error->message, "host: "));
      if (strstr (error->message, cases[i].needle) == NULL)
        g_error ("expected \"%s\" in \"%s\"", cases[i].needle, error->message);
      /* The address is named in its usual form, to be given that way. */
      if (cases[i].address != NULL)
        {
          g_autofree char *advice = g_strdup_printf ("write it as %s", cases[i].address);
          g_assert_nonnull (strstr (error->message, advice));
        }
    }

  /* Nor is any of them a domain. */
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *normalized = NULL;

      if (cases[i].address == NULL && cases[i].needle == NULL)
        continue;
      normalized = smarthost_domain_normalize (cases[i].host, &error);
      g_assert_null (normalized);
      g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
      g_assert_true (g_str_has_prefix (error->message, "domain: "));
    }
  {
    g_autoptr(GError) error = NULL;
    g_assert_null (smarthost_domain_normalize ("127.1", &error));
    g_assert_nonnull (strstr (error->message, "\"127.1\" is the IPv4 address 127.0.0.1 written short"));
  }
  g_assert_false (_smarthost_host_is_address (NULL, NULL));
  g_assert_false (_smarthost_host_is_address ("", NULL));
  /* inet_aton() would stop at the space. */
  g_assert_false (_smarthost_host_is_address ("127.0.0.1 x", NULL));
}

static void
test_security_strings (void)
{
  static const struct {
    SmarthostSecurity security;
    const char *name;
    guint port;
  } modes[] = {
    { SMARTHOST_SECURITY_NONE, "none", 587 },
    { SMARTHOST_SECURITY_STARTTLS, "starttls", 587 },
    { SMARTHOST_SECURITY_TLS, "tls", 465 },
  };
  static const char *bad[] = { "", "ssl", "start-tls", "tls ", "smtps", NULL };
  SmarthostSecurity security;

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *upper = g_ascii_strup (modes[i].name, -1);

      g_assert_cmpstr (smarthost_security_to_string (modes[i].security), ==, modes[i].name);
      g_assert_cmpuint (smarthost_security_get_default_port (modes[i].security), ==, modes[i].port);
      security = 99;
      g_assert_true (smarthost_security_from_string (modes[i].name, &security, &error));
      g_assert_no_error (error);
      g_assert_cmpint (security, ==, modes[i].security);
      g_assert_true (smarthost_security_from_string (upper, &security, NULL));
      g_assert_cmpint (security, ==, modes[i].security);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      security = SMARTHOST_SECURITY_TLS;
      g_assert_false (smarthost_security_from_string (bad[i], &security, &error));
      g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
      g_assert_true (g_str_has_prefix (error->message, "security: "));
      g_assert_cmpint (security, ==, SMARTHOST_SECURITY_TLS);    /* untouched */
    }
  g_assert_cmpstr (smarthost_security_to_string ((SmarthostSecurity) 7), ==, "invalid");

  /* The enum type names them the same way (GI and the CLI rely on it). */
  {
    g_autoptr(GEnumClass) klass = g_type_class_ref (SMARTHOST_TYPE_SECURITY);
    for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
      {
        GEnumValue *v = g_enum_get_value (klass, modes[i].security);
        g_assert_nonnull (v);
        g_assert_cmpstr (v->value_nick, ==, modes[i].name);
      }
  }
}

static void
test_redact (void)
{
  g_autoptr(GPtrArray) secrets = g_ptr_array_new ();
  g_autofree char *out = NULL;
  g_autofree char *none = NULL;

  g_ptr_array_add (secrets, (gpointer) "hunter2");
  g_ptr_array_add (secrets, (gpointer) "");
  g_ptr_array_add (secrets, NULL);
  out = _smarthost_redact ("postmap: bad line: user:hunter2 and hunter2", secrets);
  g_assert_cmpstr (out, ==, "postmap: bad line: user:" SMARTHOST_PASSWORD_MASK " and " SMARTHOST_PASSWORD_MASK);
  none = _smarthost_redact ("nothing secret", NULL);
  g_assert_cmpstr (none, ==, "nothing secret");
}

/* Many secrets, of several lengths, some sharing a start, one a part of
 * another, one of a single byte, one at each end of the text: each is
 * masked wherever it is, the longest where two start at one place.
 * (Redaction took the size of the text times the number of secrets, and
 * the preview of 100,000 domains minutes; now one pass, issue 10.) */
static void
test_redact_many (void)
{
  g_autoptr(GPtrArray) secrets = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GString) text = g_string_new ("pw0000000 starts it; ");
  g_autoptr(GString) expected = g_string_new (SMARTHOST_PASSWORD_MASK " starts it; ");
  g_autofree char *out = NULL;
  g_autofree char *short_one = NULL;

  for (guint i = 0; i < 20000; i++)
    g_ptr_array_add (secrets, g_strdup_printf ("pw%0*u", 7 + i % 5, i));
  g_ptr_array_add (secrets, g_strdup ("longer-pw0000007"));
  g_ptr_array_add (secrets, g_strdup ("Z"));
  for (guint i = 0; i < 20000; i += 997)
    {
      g_string_append_printf (text, "@d%u.example u:pw%0*u\n", i, 7 + i % 5, i);
      g_string_append_printf (expected, "@d%u.example u:" SMARTHOST_PASSWORD_MASK "\n", i);
    }
  /* Not secrets: a part of a secret, a number of another width. Secrets:
   * one with another inside, one of one byte, one that ends the text. */
  g_string_append (text, "pw-0000000 pw00 pw0000001 longer-pw0000007 aZb pw0000005");
  g_string_append (expected, "pw-0000000 pw00 pw0000001 " SMARTHOST_PASSWORD_MASK " a" SMARTHOST_PASSWORD_MASK "b "
                   SMARTHOST_PASSWORD_MASK);
  out = _smarthost_redact (text->str, secrets);
  g_assert_cmpstr (out, ==, expected->str);

  /* One password the start of another: the longer is masked whole, not
   * its tail shown after the mask of the shorter (as when each secret was
   * replaced in turn, in the order given). */
  {
    g_autoptr(GPtrArray) pair = g_ptr_array_new ();
    g_autofree char *masked = NULL;

    g_ptr_array_add (pair, (gpointer) "hunter");
    g_ptr_array_add (pair, (gpointer) "hunter22");
    masked = _smarthost_redact ("a:hunter22 b:hunter", pair);
    g_assert_cmpstr (masked, ==, "a:" SMARTHOST_PASSWORD_MASK " b:" SMARTHOST_PASSWORD_MASK);
  }

  /* A text shorter than every secret is given back as it is. */
  short_one = _smarthost_redact ("pw", secrets);
  g_assert_cmpstr (short_one, ==, "pw");
}

/* A relay found valid is checked again once changed, through any setter
 * (the check remembers its verdict until then), and a copy of it too. */
static void
test_validate_after_change (void)
{
  static const char * const changes[] = {
    "host", "port", "security", "ca-file", "verify-certificate", "username", "password", "mx-lookup",
  };

  for (guint i = 0; i < G_N_ELEMENTS (changes); i++)
    {
      g_autoptr(SmarthostRelay) relay = smarthost_relay_new ("smtp.example.com");
      g_autoptr(SmarthostRelay) copy = NULL;
      g_autoptr(GError) error = NULL;

      smarthost_relay_set_username (relay, "user");
      smarthost_relay_set_password (relay, "secret");
      smarthost_relay_set_ca_file (relay, "/etc/ssl/ca.pem");
      g_assert_true (smarthost_relay_validate (relay, NULL));
      g_assert_true (_smarthost_relay_check (relay, TRUE, NULL));
      copy = smarthost_relay_copy (relay);
      g_assert_true (_smarthost_relay_check (copy, TRUE, NULL));

      if (g_str_equal (changes[i], "host"))
        smarthost_relay_set_host (relay, "bad host");
      else if (g_str_equal (changes[i], "port"))
        smarthost_relay_set_port (relay, 0);
      else if (g_str_equal (changes[i], "security"))
        smarthost_relay_set_security (relay, SMARTHOST_SECURITY_NONE);
      else if (g_str_equal (changes[i], "ca-file"))
        smarthost_relay_set_ca_file (relay, "relative.pem");
      else if (g_str_equal (changes[i], "verify-certificate"))
        smarthost_relay_set_verify_certificate (relay, FALSE);
      else if (g_str_equal (changes[i], "username"))
        smarthost_relay_set_username (relay, "");
      else if (g_str_equal (changes[i], "password"))
        smarthost_relay_set_password (relay, "");
      else
        g_object_set (relay, "host", "192.0.2.1", "mx-lookup", TRUE, NULL);

      g_test_message ("%s", changes[i]);
      g_assert_false (smarthost_relay_validate (relay, &error));
      g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
      g_clear_error (&error);
      g_assert_false (_smarthost_relay_check (relay, TRUE, &error));
      g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
      /* The copy did not change. */
      g_assert_true (smarthost_relay_validate (copy, NULL));
    }

  /* Valid with a kept password is not valid without one. */
  {
    g_autoptr(SmarthostRelay) relay = smarthost_relay_new ("smtp.example.com");

    smarthost_relay_set_username (relay, "user");
    _smarthost_relay_mark_password_set (relay);
    g_assert_true (_smarthost_relay_check (relay, TRUE, NULL));
    g_assert_false (smarthost_relay_validate (relay, NULL));
    g_assert_true (_smarthost_relay_check (relay, TRUE, NULL));
  }
}

/* The fast UTF-8 check gives what g_utf8_validate_len() gives, the place
 * of the first bad byte included. */
static void
test_utf8_validate (void)
{
  static const char * const pieces[] = { "a", "bcdefgh", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                    "\xc3", "\x80", "\xff", "\xed\xa0\x80", "\xc0\xaf" };
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);

  for (guint n = 0; n < 20000; n++)
    {
      g_autoptr(GString) text = g_string_new (NULL);
      guint parts = g_rand_int_range (rand, 0, 12);
      const char *end1 = NULL, *end2 = NULL;
      gboolean ok1, ok2;

      for (guint i = 0; i < parts; i++)
        {
          /* Mostly ASCII, as JSON is. */
          guint k = g_rand_int_range (rand, 0, 100) < 80 ? g_rand_int_range (rand, 0, 2)
                                                         : g_rand_int_range (rand, 0, G_N_ELEMENTS (pieces));
          g_string_append (text, pieces[k]);
        }
      ok1 = g_utf8_validate_len (text->str, text->len, &end1);
      ok2 = _smarthost_utf8_validate_len (text->str, text->len, &end2);
      g_assert_cmpint (ok1, ==, ok2);
      g_assert_true (end1 == end2);
    }
}

/* What _smarthost_json_key_is_showable() said before it was one pass. */
static gboolean
key_is_showable_reference (const char *key)
{
  gsize len = strlen (key);

  if (len == 0 || len > 253)
    return FALSE;
  if (strspn (key, "abcdefghijklmnopqrstuvwxyz_") == len)
    return len <= 32;
  return strchr (key, '.') != NULL && strspn (key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") == len;
}

static void
test_key_is_showable (void)
{
  static const char alphabet[] = "az_AZ09.-\"\xc3\xa9 :";
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);

  for (guint n = 0; n < 50000; n++)
    {
      char key[300];
      guint len = g_rand_int_range (rand, 0, 100) < 95 ? g_rand_int_range (rand, 0, 40) : g_rand_int_range (rand, 0, 299);

      for (guint i = 0; i < len; i++)
        key[i] = alphabet[g_rand_int_range (rand, 0, sizeof alphabet - 1)];
      key[len] = '\0';
      g_assert_cmpint (_smarthost_json_key_is_showable (key), ==, key_is_showable_reference (key));
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/relay/defaults", Fixture, NULL, fixture_setup, test_defaults, fixture_teardown);
  g_test_add ("/relay/properties", Fixture, NULL, fixture_setup, test_properties, fixture_teardown);
  g_test_add ("/relay/notify-unchanged", Fixture, NULL, fixture_setup, test_notify_unchanged, fixture_teardown);
  g_test_add ("/relay/copy-equal", Fixture, NULL, fixture_setup, test_copy_equal, fixture_teardown);
  g_test_add ("/relay/to-string", Fixture, NULL, fixture_setup, test_to_string_masks_password, fixture_teardown);
  g_test_add ("/relay/validate/valid", Fixture, NULL, fixture_setup, test_validate_valid, fixture_teardown);
  g_test_add ("/relay/validate/order", Fixture, NULL, fixture_setup, test_validate_order, fixture_teardown);
  g_test_add ("/relay/validate/no-secret-in-error", Fixture, NULL, fixture_setup,
              test_error_never_echoes_password, fixture_teardown);
  for (guint i = 0; i < G_N_ELEMENTS (invalid_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/relay/validate/invalid/%s", invalid_cases[i].name);
      g_test_add (path, Fixture, GUINT_TO_POINTER (i), fixture_setup, test_validate_invalid, fixture_teardown);
    }
  g_test_add_func ("/relay/domain-normalize", test_domain_normalize);
  g_test_add_func ("/relay/address-forms", test_address_forms);
  g_test_add_func ("/relay/security-strings", test_security_strings);
  g_test_add_func ("/relay/redact", test_redact);
  g_test_add_func ("/relay/redact-many", test_redact_many);
  g_test_add_func ("/relay/validate/after-change", test_validate_after_change);
  g_test_add_func ("/relay/utf8-validate", test_utf8_validate);
  g_test_add_func ("/relay/json-key-is-showable", test_key_is_showable);

  return g_test_run ();
}
