/* test-transaction.c: SmarthostTransaction, on a backend made for the test
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The fake backend below touches nothing: its capabilities are set per
 * test, its preview and commit only count calls and record what the
 * transaction staged.
 */
#include "config.h"

#include <string.h>

#include "smarthost-backend.h"
#include "smarthost-error.h"
#include "smarthost-private.h"
#include "smarthost-relay.h"
#include "smarthost-transaction.h"

/* --- a fake backend ------------------------------------------------------ */

#define TEST_TYPE_FAKE_BACKEND (test_fake_backend_get_type ())
G_DECLARE_FINAL_TYPE (TestFakeBackend, test_fake_backend, TEST, FAKE_BACKEND, GObject)

struct _TestFakeBackend
{
  GObject parent_instance;

  SmarthostCapabilities caps;
  guint n_previews;
  guint n_commits;
  gboolean fail_commit;
  gboolean change;
  char *staged_host;        /* the server relay's host as the commit saw it */
};

static void test_fake_backend_iface_init (SmarthostBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestFakeBackend, test_fake_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SMARTHOST_TYPE_BACKEND, test_fake_backend_iface_init))

static const char *
fake_get_name (SmarthostBackend *backend)
{
  return "fake";
}

static SmarthostCapabilities
fake_get_capabilities (SmarthostBackend *backend)
{
  return TEST_FAKE_BACKEND (backend)->caps;
}

static SmarthostRelay *
fake_get_server (SmarthostBackend  *backend,
                 GCancellable      *cancellable,
                 GError           **error)
{
  return NULL;
}

static SmarthostRelay *
fake_get_domain (SmarthostBackend  *backend,
                 const char        *domain,
                 GCancellable      *cancellable,
                 GError           **error)
{
  return NULL;
}

static char **
fake_list_domains (SmarthostBackend  *backend,
                   GCancellable      *cancellable,
                   GError           **error)
{
  return g_new0 (char *, 1);
}

static char *
fake_preview (SmarthostBackend      *backend,
              SmarthostTransaction  *tx,
              GCancellable          *cancellable,
              GError               **error)
{
  TestFakeBackend *self = TEST_FAKE_BACKEND (backend);

  self->n_previews++;
  return g_strdup_printf ("# %u changes\n", smarthost_transaction_get_n_changes (tx));
}

static gboolean
fake_commit (SmarthostBackend      *backend,
             SmarthostTransaction  *tx,
             gboolean              *changed,
             GCancellable          *cancellable,
             GError               **error)
{
  TestFakeBackend *self = TEST_FAKE_BACKEND (backend);
  SmarthostRelay *server = NULL;

  self->n_commits++;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  if (self->fail_commit)
    {
      g_set_error_literal (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "nothing was changed: fake failure");
      return FALSE;
    }
  if (_smarthost_transaction_get_server (tx, &server) && server != NULL)
    {
      g_free (self->staged_host);
      self->staged_host = g_strdup (smarthost_relay_get_host (server));
    }
  *changed = self->change;
  return TRUE;
}

static void
test_fake_backend_iface_init (SmarthostBackendInterface *iface)
{
  iface->get_name = fake_get_name;
  iface->get_capabilities = fake_get_capabilities;
  iface->get_server = fake_get_server;
  iface->get_domain = fake_get_domain;
  iface->list_domains = fake_list_domains;
  iface->preview = fake_preview;
  iface->commit = fake_commit;
}

static void
test_fake_backend_finalize (GObject *object)
{
  g_free (TEST_FAKE_BACKEND (object)->staged_host);
  G_OBJECT_CLASS (test_fake_backend_parent_class)->finalize (object);
}

static void
test_fake_backend_class_init (TestFakeBackendClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_fake_backend_finalize;
}

static void
test_fake_backend_init (TestFakeBackend *self)
{
  self->caps = SMARTHOST_CAPABILITY_SERVER_RELAY | SMARTHOST_CAPABILITY_DOMAIN_RELAY |
               SMARTHOST_CAPABILITY_DOMAIN_CREDENTIALS | SMARTHOST_CAPABILITY_STARTTLS |
               SMARTHOST_CAPABILITY_IMPLICIT_TLS | SMARTHOST_CAPABILITY_CA_FILE |
               SMARTHOST_CAPABILITY_NO_VERIFY | SMARTHOST_CAPABILITY_MX_LOOKUP |
               SMARTHOST_CAPABILITY_PREVIEW;
  self->change = TRUE;
}

/* --- fixture ------------------------------------------------------------- */

typedef struct {
  TestFakeBackend *backend;
  SmarthostTransaction *tx;
  SmarthostRelay *relay;
  gpointer weak_backend;
  gpointer weak_tx;
  GMainLoop *loop;
  GAsyncResult *result;
  guint n_notify_reload;
} Fixture;

static void
on_notify_reload (GObject    *object,
                  GParamSpec *pspec,
                  gpointer    user_data)
{
  ((Fixture *) user_data)->n_notify_reload++;
}

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  fx->backend = g_object_new (TEST_TYPE_FAKE_BACKEND, NULL);
  fx->weak_backend = fx->backend;
  g_object_add_weak_pointer (G_OBJECT (fx->backend), &fx->weak_backend);
  fx->tx = smarthost_backend_begin (SMARTHOST_BACKEND (fx->backend));
  fx->weak_tx = fx->tx;
  g_object_add_weak_pointer (G_OBJECT (fx->tx), &fx->weak_tx);
  g_signal_connect (fx->tx, "notify::reload", G_CALLBACK (on_notify_reload), fx);
  fx->relay = g_object_new (SMARTHOST_TYPE_RELAY,
                            "host", "smtp.sendgrid.net",
                            "username", "apikey",
                            "password", "Secret-Key",
                            NULL);
  fx->loop = g_main_loop_new (NULL, FALSE);
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  gint64 deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;

  g_clear_object (&fx->result);
  g_object_unref (fx->relay);
  g_object_unref (fx->tx);
  g_object_unref (fx->backend);
  /* Threaded tasks drop their last reference soon after their callback. */
  while ((fx->weak_tx != NULL || fx->weak_backend != NULL) && g_get_monotonic_time () < deadline)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (1000);
    }
  g_assert_null (fx->weak_tx);
  g_assert_null (fx->weak_backend);
  g_main_loop_unref (fx->loop);
}

static void
async_done (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Fixture *fx = user_data;

  fx->result = g_object_ref (result);
  g_main_loop_quit (fx->loop);
}

static GAsyncResult *
wait_result (Fixture *fx)
{
  g_clear_object (&fx->result);
  g_main_loop_run (fx->loop);
  return fx->result;
}

static void
assert_error_field (GError     *error,
                    gint        code,
                    const char *field)
{
  g_autofree char *prefix = g_strconcat (field, ": ", NULL);

  g_assert_error (error, SMARTHOST_ERROR, code);
  if (code == SMARTHOST_ERROR_INVALID && !g_str_has_prefix (error->message, prefix))
    g_error ("expected an error about %s, got \"%s\"", field, error->message);
  g_assert_null (strstr (error->message, "Secret-Key"));
}

/* --- tests ----------------------------------------------------------------- */

static void
test_defaults (Fixture       *fx,
               gconstpointer  data)
{
  gboolean reload = FALSE;
  g_autoptr(SmarthostBackend) backend = NULL;

  g_assert_true (smarthost_transaction_get_reload (fx->tx));
  g_object_get (fx->tx, "reload", &reload, "backend", &backend, NULL);
  g_assert_true (reload);
  g_assert_true (backend == SMARTHOST_BACKEND (fx->backend));
  g_assert_true (smarthost_transaction_get_backend (fx->tx) == SMARTHOST_BACKEND (fx->backend));
  g_assert_cmpuint (smarthost_transaction_get_n_changes (fx->tx), ==, 0);
  g_assert_false (smarthost_transaction_get_changed (fx->tx));

  smarthost_transaction_set_reload (fx->tx, TRUE);
  g_assert_cmpuint (fx->n_notify_reload, ==, 0);    /* unchanged: no notify */
  smarthost_transaction_set_reload (fx->tx, FALSE);
  g_assert_false (smarthost_transaction_get_reload (fx->tx));
  g_assert_cmpuint (fx->n_notify_reload, ==, 1);
  g_object_set (fx->tx, "reload", FALSE, NULL);
  g_assert_cmpuint (fx->n_notify_reload, ==, 1);
}

static void
test_staging_invalid (Fixture       *fx,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  smarthost_relay_set_host (fx->relay, "smtp example.com");
  g_assert_false (smarthost_transaction_set_server (fx->tx, fx->relay, &error));
  assert_error_field (error, SMARTHOST_ERROR_INVALID, "host");
  g_clear_error (&error);
  g_assert_false (smarthost_transaction_set_domain (fx->tx, "example.com", fx->relay, &error));
  assert_error_field (error, SMARTHOST_ERROR_INVALID, "host");
  g_clear_error (&error);

  smarthost_relay_set_host (fx->relay, "smtp.example.com");
  smarthost_relay_set_port (fx->relay, 70000);
  g_assert_false (smarthost_transaction_set_server (fx->tx, fx->relay, &error));
  assert_error_field (error, SMARTHOST_ERROR_INVALID, "port");
  g_clear_error (&error);

  smarthost_relay_set_port (fx->relay, 587);
  smarthost_relay_set_password (fx->relay, "bad\nSecret-Key");
  g_assert_false (smarthost_transaction_set_server (fx->tx, fx->relay, &error));
  assert_error_field (error, SMARTHOST_ERROR_INVALID, "password");
  g_clear_error (&error);

  /* The domain is checked, and named, before the relay. */
  g_assert_false (smarthost_transaction_set_domain (fx->tx, "not a domain", fx->relay, &error));
  assert_error_field (error, SMARTHOST_ERROR_INVALID, "domain");
  g_clear_error (&error);
  g_assert_false (smarthost_transaction_set_domain (fx->tx, NULL, NULL, &error));
  assert_error_field (error, SMARTHOST_ERROR_INVALID, "domain");
  g_clear_error (&error);
  g_assert_false (smarthost_transaction_set_domain (fx->tx, "@example.com", NULL, &error));
  assert_error_field (error, SMARTHOST_ERROR_INVALID, "domain");

  /* Nothing was staged. */
  g_assert_cmpuint (smarthost_transaction_get_n_changes (fx->tx), ==, 0);
}

typedef struct {
  const char *name;
  SmarthostCapabilities missing;
  gboolean for_domain;
  void (*mutate) (SmarthostRelay *relay);
} NotSupportedCase;

static void use_tls (SmarthostRelay *r) { smarthost_relay_set_security (r, SMARTHOST_SECURITY_TLS); }
static void use_ca (SmarthostRelay *r) { smarthost_relay_set_ca_file (r, "/etc/ssl/certs/ca-certificates.crt"); }
static void use_noverify (SmarthostRelay *r) { smarthost_relay_set_verify_certificate (r, FALSE); }
static void use_mx (SmarthostRelay *r) { smarthost_relay_set_mx_lookup (r, TRUE); }
static void use_nothing (SmarthostRelay *r) { }

static const NotSupportedCase not_supported_cases[] = {
  { "server-relay", SMARTHOST_CAPABILITY_SERVER_RELAY, FALSE, use_nothing },
  { "domain-relay", SMARTHOST_CAPABILITY_DOMAIN_RELAY, TRUE, use_nothing },
  { "domain-credentials", SMARTHOST_CAPABILITY_DOMAIN_CREDENTIALS, TRUE, use_nothing },
  { "starttls", SMARTHOST_CAPABILITY_STARTTLS, FALSE, use_nothing },
  { "implicit-tls", SMARTHOST_CAPABILITY_IMPLICIT_TLS, FALSE, use_tls },
  { "ca-file", SMARTHOST_CAPABILITY_CA_FILE, FALSE, use_ca },
  { "no-verify", SMARTHOST_CAPABILITY_NO_VERIFY, FALSE, use_noverify },
  { "mx-lookup", SMARTHOST_CAPABILITY_MX_LOOKUP, FALSE, use_mx },
};

static void
test_not_supported (Fixture       *fx,
                    gconstpointer  data)
{
  const NotSupportedCase *c = data;
  g_autoptr(GError) error = NULL;
  gboolean ok;

  fx->backend->caps &= ~c->missing;
  c->mutate (fx->relay);
  if (c->for_domain)
    ok = smarthost_transaction_set_domain (fx->tx, "example.com", fx->relay, &error);
  else
    ok = smarthost_transaction_set_server (fx->tx, fx->relay, &error);
  g_assert_false (ok);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "fake"));
  g_assert_null (strstr (error->message, "Secret-Key"));
  g_assert_cmpuint (smarthost_transaction_get_n_changes (fx->tx), ==, 0);

  /* With the capability, the same change is staged. */
  g_clear_error (&error);
  fx->backend->caps |= c->missing;
  if (c->for_domain)
    ok = smarthost_transaction_set_domain (fx->tx, "example.com", fx->relay, &error);
  else
    ok = smarthost_transaction_set_server (fx->tx, fx->relay, &error);
  g_assert_no_error (error);
  g_assert_true (ok);
}

static void
test_not_supported_removal (Fixture       *fx,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  /* Removing needs the capability too, but no relay checks. */
  fx->backend->caps &= ~SMARTHOST_CAPABILITY_DOMAIN_RELAY;
  g_assert_false (smarthost_transaction_set_domain (fx->tx, "example.com", NULL, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);
  fx->backend->caps &= ~SMARTHOST_CAPABILITY_STARTTLS;
  g_assert_true (smarthost_transaction_set_server (fx->tx, NULL, &error));
  g_assert_no_error (error);
  /* Security none needs no TLS capability. */
  smarthost_relay_set_security (fx->relay, SMARTHOST_SECURITY_NONE);
  g_assert_true (smarthost_transaction_set_server (fx->tx, fx->relay, &error));
  g_assert_no_error (error);
}

static void
test_staging (Fixture       *fx,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SmarthostRelay) other = smarthost_relay_copy (fx->relay);
  GHashTable *domains;
  SmarthostRelay *staged = NULL;
  SmarthostRelay *server = NULL;

  smarthost_relay_set_username (other, "other");
  g_assert_true (smarthost_transaction_set_domain (fx->tx, "example.com", fx->relay, &error));
  g_assert_true (smarthost_transaction_set_domain (fx->tx, "example.org", NULL, &error));
  g_assert_cmpuint (smarthost_transaction_get_n_changes (fx->tx), ==, 2);

  /* The same domain, spelled otherwise, replaces the earlier change. */
  g_assert_true (smarthost_transaction_set_domain (fx->tx, "EXAMPLE.com.", other, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (smarthost_transaction_get_n_changes (fx->tx), ==, 2);
  domains = _smarthost_transaction_get_domains (fx->tx);
  g_assert_true (g_hash_table_lookup_extended (domains, "example.com", NULL, (gpointer *) &staged));
  g_assert_cmpstr (smarthost_relay_get_username (staged), ==, "other");
  g_assert_true (g_hash_table_lookup_extended (domains, "example.org", NULL, (gpointer *) &staged));
  g_assert_null (staged);
  g_assert_true (smarthost_transaction_set_domain (fx->tx, "example.com", NULL, &error));
  g_assert_true (g_hash_table_lookup_extended (domains, "example.com", NULL, (gpointer *) &staged));
  g_assert_null (staged);
  g_assert_cmpuint (smarthost_transaction_get_n_changes (fx->tx), ==, 2);

  /* IDN domains are staged in their ASCII form. */
  g_assert_true (smarthost_transaction_set_domain (fx->tx, "bücher.example", fx->relay, &error));
  g_assert_true (g_hash_table_contains (domains, "xn--bcher-kva.example"));
  g_assert_cmpuint (smarthost_transaction_get_n_changes (fx->tx), ==, 3);

  /* The server counts once, however often it is staged. */
  g_assert_false (_smarthost_transaction_get_server (fx->tx, &server));
  g_assert_true (smarthost_transaction_set_server (fx->tx, fx->relay, &error));
  g_assert_true (smarthost_transaction_set_server (fx->tx, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (smarthost_transaction_get_n_changes (fx->tx), ==, 4);
  g_assert_true (_smarthost_transaction_get_server (fx->tx, &server));
  g_assert_null (server);
}

static void
test_relay_is_copied (Fixture       *fx,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  SmarthostRelay *staged = NULL;

  g_assert_true (smarthost_transaction_set_server (fx->tx, fx->relay, &error));
  g_assert_true (smarthost_transaction_set_domain (fx->tx, "example.com", fx->relay, &error));
  g_assert_no_error (error);

  /* Changed, even made invalid, after staging: the transaction keeps what
   * was staged. */
  smarthost_relay_set_host (fx->relay, "changed later");
  smarthost_relay_set_password (fx->relay, NULL);

  g_assert_true (_smarthost_transaction_get_server (fx->tx, &staged));
  g_assert_true (staged != fx->relay);
  g_assert_cmpstr (smarthost_relay_get_host (staged), ==, "smtp.sendgrid.net");
  g_assert_cmpstr (smarthost_relay_get_password (staged), ==, "Secret-Key");
  staged = g_hash_table_lookup (_smarthost_transaction_get_domains (fx->tx), "example.com");
  g_assert_true (staged != fx->relay);
  g_assert_cmpstr (smarthost_relay_get_host (staged), ==, "smtp.sendgrid.net");

  g_assert_true (smarthost_transaction_commit (fx->tx, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (fx->backend->staged_host, ==, "smtp.sendgrid.net");
}

static void
test_commit_once (Fixture       *fx,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (smarthost_transaction_set_server (fx->tx, fx->relay, &error));
  g_assert_true (smarthost_transaction_commit (fx->tx, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (smarthost_transaction_get_changed (fx->tx));
  g_assert_cmpuint (fx->backend->n_commits, ==, 1);

  g_assert_false (smarthost_transaction_commit (fx->tx, NULL, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "already committed"));
  g_clear_error (&error);
  g_assert_cmpuint (fx->backend->n_commits, ==, 1);
  g_assert_true (smarthost_transaction_get_changed (fx->tx));

  /* Nor can anything be staged any more. */
  g_assert_false (smarthost_transaction_set_domain (fx->tx, "example.com", fx->relay, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_clear_error (&error);
  g_assert_false (smarthost_transaction_set_server (fx->tx, NULL, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_clear_error (&error);

  smarthost_transaction_commit_async (fx->tx, NULL, async_done, fx);
  g_assert_false (smarthost_transaction_commit_finish (fx->tx, wait_result (fx), &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_assert_cmpuint (fx->backend->n_commits, ==, 1);
}

static void
test_commit_failure_can_retry (Fixture       *fx,
                               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (smarthost_transaction_set_server (fx->tx, fx->relay, &error));
  fx->backend->fail_commit = TRUE;
  g_assert_false (smarthost_transaction_commit (fx->tx, NULL, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_assert_false (smarthost_transaction_get_changed (fx->tx));
  g_clear_error (&error);

  /* A failed commit is not a commit: it can be tried again. */
  fx->backend->fail_commit = FALSE;
  g_assert_true (smarthost_transaction_commit (fx->tx, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fx->backend->n_commits, ==, 2);
}

static void
test_commit_nothing_changed (Fixture       *fx,
                             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fx->backend->change = FALSE;
  g_assert_true (smarthost_transaction_commit (fx->tx, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (smarthost_transaction_get_changed (fx->tx));
}

/* Regression test: would-change was TRUE on a transaction with nothing
 * staged, before any preview. */
static void
test_would_change_empty (Fixture       *fx,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *preview = NULL;
  g_autoptr(SmarthostTransaction) other = NULL;
  gboolean would_change = TRUE;

  g_assert_false (smarthost_transaction_get_would_change (fx->tx));
  g_object_get (fx->tx, "would-change", &would_change, NULL);
  g_assert_false (would_change);
  /* The fake backend's preview does not say; nothing staged still is nothing. */
  preview = smarthost_transaction_preview (fx->tx, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (smarthost_transaction_get_would_change (fx->tx));

  g_assert_true (smarthost_transaction_set_server (fx->tx, fx->relay, &error));
  g_assert_no_error (error);
  g_assert_true (smarthost_transaction_get_would_change (fx->tx));
  g_object_get (fx->tx, "would-change", &would_change, NULL);
  g_assert_true (would_change);

  /* "The staged domains are all there is", with none staged, removes them all. */
  other = smarthost_backend_begin (SMARTHOST_BACKEND (fx->backend));
  g_assert_false (smarthost_transaction_get_would_change (other));
  smarthost_transaction_set_replace_domains (other, TRUE);
  g_assert_true (smarthost_transaction_get_would_change (other));
}

static void
test_preview_and_async (Fixture       *fx,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *preview = NULL;
  g_autofree char *preview_async = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  g_assert_true (smarthost_transaction_set_domain (fx->tx, "example.com", fx->relay, &error));
  preview = smarthost_transaction_preview (fx->tx, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (preview, ==, "# 1 changes\n");

  smarthost_transaction_preview_async (fx->tx, NULL, async_done, fx);
  preview_async = smarthost_transaction_preview_finish (fx->tx, wait_result (fx), &error);
  g_assert_no_error (error);
  g_assert_cmpstr (preview_async, ==, preview);
  g_assert_cmpuint (fx->backend->n_previews, ==, 2);
  g_assert_cmpuint (fx->backend->n_commits, ==, 0);

  /* A cancelled commit is not a commit. */
  g_cancellable_cancel (cancellable);
  smarthost_transaction_commit_async (fx->tx, cancellable, async_done, fx);
  g_assert_false (smarthost_transaction_commit_finish (fx->tx, wait_result (fx), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_false (smarthost_transaction_get_changed (fx->tx));

  smarthost_transaction_commit_async (fx->tx, NULL, async_done, fx);
  g_assert_true (smarthost_transaction_commit_finish (fx->tx, wait_result (fx), &error));
  g_assert_no_error (error);
  g_assert_true (smarthost_transaction_get_changed (fx->tx));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/transaction/defaults", test_defaults);
  ADD ("/transaction/staging/invalid", test_staging_invalid);
  ADD ("/transaction/staging/last-wins", test_staging);
  ADD ("/transaction/staging/relay-is-copied", test_relay_is_copied);
  ADD ("/transaction/not-supported/removal", test_not_supported_removal);
  ADD ("/transaction/commit/once", test_commit_once);
  ADD ("/transaction/commit/failure-can-retry", test_commit_failure_can_retry);
  ADD ("/transaction/commit/nothing-changed", test_commit_nothing_changed);
  ADD ("/transaction/preview-and-async", test_preview_and_async);
  ADD ("/transaction/would-change/empty", test_would_change_empty);
#undef ADD
  for (guint i = 0; i < G_N_ELEMENTS (not_supported_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/transaction/not-supported/%s", not_supported_cases[i].name);
      g_test_add (path, Fixture, &not_supported_cases[i], fixture_setup, test_not_supported, fixture_teardown);
    }

  return g_test_run ();
}
