/* test-backend-settings.c: backends declared, listed and constructed by name
 * with settings; the capabilities that gate adopt and diagnose
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The Postfix backend has no secret setting, so a backend of the test's
 * own, registered on the extension point as "test-secret", has one (a
 * token) besides a setting of each other type. It declares neither ADOPT
 * nor DIAGNOSE, which the capability tests use.
 */
#include "config.h"

#include <string.h>

#include "smarthost-json-private.h"   /* jansson, and json_t in g_autoptr() */

#include "smarthost-backend-private.h"
#include "smarthost-postfix.h"
#include "smarthost-error.h"
#include "smarthost-transaction.h"

#define TOKEN "Tok3n-Secret-xyzzy-0042"

/* --- the test backend ---------------------------------------------------- */

#define TEST_TYPE_SECRET_BACKEND (test_secret_backend_get_type ())
G_DECLARE_FINAL_TYPE (TestSecretBackend, test_secret_backend, TEST, SECRET_BACKEND, GObject)

struct _TestSecretBackend
{
  GObject parent_instance;
  char *token;
  char *endpoint;
  gboolean verbose;
  guint retries;
};

static void test_secret_backend_iface_init (SmarthostBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestSecretBackend, test_secret_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SMARTHOST_TYPE_BACKEND,
                                                      test_secret_backend_iface_init))

enum { PROP_0, PROP_TOKEN, PROP_ENDPOINT, PROP_VERBOSE, PROP_RETRIES, PROP_UNDECLARED_TYPE, N_PROPS };

static const char *
secret_get_name (SmarthostBackend *backend)
{
  return "test-secret";
}

static SmarthostCapabilities
secret_get_capabilities (SmarthostBackend *backend)
{
  return SMARTHOST_CAPABILITY_SERVER_RELAY | SMARTHOST_CAPABILITY_STARTTLS | SMARTHOST_CAPABILITY_PREVIEW;
}

static SmarthostRelay *
secret_get_server (SmarthostBackend  *backend,
                   GCancellable      *cancellable,
                   GError           **error)
{
  return NULL;
}

static char *
secret_preview (SmarthostBackend      *backend,
                SmarthostTransaction  *transaction,
                GCancellable          *cancellable,
                GError               **error)
{
  return g_strdup ("");
}

static GPtrArray *
secret_list_settings (SmarthostBackend *backend)
{
  GPtrArray *settings = g_ptr_array_new_with_free_func (g_object_unref);

  g_ptr_array_add (settings, smarthost_backend_setting_new ("token", SMARTHOST_SETTING_TYPE_STRING,
                                                            "The API token", TRUE));
  g_ptr_array_add (settings, smarthost_backend_setting_new ("endpoint", SMARTHOST_SETTING_TYPE_PATH,
                                                            "A socket", FALSE));
  g_ptr_array_add (settings, smarthost_backend_setting_new ("verbose", SMARTHOST_SETTING_TYPE_BOOLEAN,
                                                            "Say more", FALSE));
  g_ptr_array_add (settings, smarthost_backend_setting_new ("retries", SMARTHOST_SETTING_TYPE_UINT,
                                                            "How often to retry, at most 10", FALSE));
  /* Declared as a number, but its property is a string: a backend bug. */
  g_ptr_array_add (settings, smarthost_backend_setting_new ("mismatched", SMARTHOST_SETTING_TYPE_UINT,
                                                            "A declaration that lies", FALSE));
  return settings;
}

static void
test_secret_backend_iface_init (SmarthostBackendInterface *iface)
{
  iface->get_name = secret_get_name;
  iface->get_capabilities = secret_get_capabilities;
  iface->get_server = secret_get_server;
  iface->preview = secret_preview;
  iface->list_settings = secret_list_settings;
}

static void
test_secret_backend_finalize (GObject *object)
{
  TestSecretBackend *self = TEST_SECRET_BACKEND (object);

  g_free (self->token);
  g_free (self->endpoint);
  G_OBJECT_CLASS (test_secret_backend_parent_class)->finalize (object);
}

static void
test_secret_backend_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  TestSecretBackend *self = TEST_SECRET_BACKEND (object);

  switch (prop_id)
    {
    case PROP_TOKEN: g_value_set_string (value, self->token); break;
    case PROP_ENDPOINT: g_value_set_string (value, self->endpoint); break;
    case PROP_VERBOSE: g_value_set_boolean (value, self->verbose); break;
    case PROP_RETRIES: g_value_set_uint (value, self->retries); break;
    case PROP_UNDECLARED_TYPE: g_value_set_string (value, NULL); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
test_secret_backend_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  TestSecretBackend *self = TEST_SECRET_BACKEND (object);

  switch (prop_id)
    {
    case PROP_TOKEN: g_free (self->token); self->token = g_value_dup_string (value); break;
    case PROP_ENDPOINT: g_free (self->endpoint); self->endpoint = g_value_dup_string (value); break;
    case PROP_VERBOSE: self->verbose = g_value_get_boolean (value); break;
    case PROP_RETRIES: self->retries = g_value_get_uint (value); break;
    case PROP_UNDECLARED_TYPE: break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
test_secret_backend_class_init (TestSecretBackendClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = test_secret_backend_finalize;
  object_class->get_property = test_secret_backend_get_property;
  object_class->set_property = test_secret_backend_set_property;
  g_object_class_install_property (object_class, PROP_TOKEN,
                                   g_param_spec_string ("token", NULL, NULL, NULL, flags));
  g_object_class_install_property (object_class, PROP_ENDPOINT,
                                   g_param_spec_string ("endpoint", NULL, NULL, NULL, flags));
  g_object_class_install_property (object_class, PROP_VERBOSE,
                                   g_param_spec_boolean ("verbose", NULL, NULL, FALSE, flags));
  g_object_class_install_property (object_class, PROP_RETRIES,
                                   g_param_spec_uint ("retries", NULL, NULL, 0, 10, 3, flags));
  g_object_class_install_property (object_class, PROP_UNDECLARED_TYPE,
                                   g_param_spec_string ("mismatched", NULL, NULL, NULL, flags));
}

static void
test_secret_backend_init (TestSecretBackend *self)
{
  self->retries = 3;
}

/* --- helpers ------------------------------------------------------------- */

static GHashTable *
settings_of (const char *first_key,
             ...)
{
  GHashTable *table = g_hash_table_new (g_str_hash, g_str_equal);
  va_list args;

  va_start (args, first_key);
  for (const char *key = first_key; key; key = va_arg (args, const char *))
    g_hash_table_insert (table, (gpointer) key, va_arg (args, char *));
  va_end (args);
  return table;
}

static SmarthostBackendSetting *
setting_named (GPtrArray  *settings,
               const char *name)
{
  for (guint i = 0; i < settings->len; i++)
    if (g_str_equal (smarthost_backend_setting_get_name (settings->pdata[i]), name))
      return settings->pdata[i];
  return NULL;
}

/* --- Postfix ------------------------------------------------------------- */

static void
test_postfix_settings_listed (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) settings = smarthost_backend_list_settings_for_name ("postfix", &error);
  SmarthostBackendSetting *s;

  g_assert_no_error (error);
  g_assert_cmpuint (settings->len, ==, 2);
  s = setting_named (settings, "config-directory");
  g_assert_nonnull (s);
  g_assert_cmpint (smarthost_backend_setting_get_value_type (s), ==, SMARTHOST_SETTING_TYPE_PATH);
  g_assert_false (smarthost_backend_setting_get_secret (s));
  g_assert_nonnull (strstr (smarthost_backend_setting_get_help (s), "/etc/postfix"));
  s = setting_named (settings, "lock-timeout");
  g_assert_nonnull (s);
  g_assert_cmpint (smarthost_backend_setting_get_value_type (s), ==, SMARTHOST_SETTING_TYPE_UINT);
  g_assert_false (smarthost_backend_setting_get_secret (s));
  g_assert_cmpstr (smarthost_setting_type_to_string (SMARTHOST_SETTING_TYPE_PATH), ==, "path");
  g_assert_cmpstr (smarthost_setting_type_to_string (SMARTHOST_SETTING_TYPE_UINT), ==, "uint");
  g_assert_cmpstr (smarthost_setting_type_to_string (SMARTHOST_SETTING_TYPE_BOOLEAN), ==, "boolean");
  g_assert_cmpstr (smarthost_setting_type_to_string (SMARTHOST_SETTING_TYPE_STRING), ==, "string");
}

static void
test_postfix_with_settings (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) table = settings_of ("config-directory", "relative/postfix", "lock-timeout", "7", NULL);
  g_autoptr(SmarthostBackend) backend = smarthost_backend_new_for_name_with_settings ("postfix", table, &error);
  g_autofree char *expected = g_canonicalize_filename ("relative/postfix", NULL);
  g_autofree char *dir = NULL;
  guint timeout = 0;

  g_assert_no_error (error);
  g_assert_true (SMARTHOST_IS_POSTFIX_BACKEND (backend));
  g_object_get (backend, "config-directory", &dir, "lock-timeout", &timeout, NULL);
  g_assert_cmpstr (dir, ==, expected);
  g_assert_cmpuint (timeout, ==, 7);
}

static void
test_postfix_defaults (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SmarthostBackend) backend = smarthost_backend_new_for_name_with_settings ("postfix", NULL, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (smarthost_postfix_backend_get_config_directory (SMARTHOST_POSTFIX_BACKEND (backend)), ==,
                   "/etc/postfix");
}

static void
test_postfix_bad_settings (void)
{
  struct { const char *key, *value, *needles[3]; } rows[] = {
    { "lock-timeout", "86401", { "lock-timeout:", "86400", NULL } },
    { "lock-timeout", "-1", { "lock-timeout:", "whole number", NULL } },
    { "lock-timeout", "soon", { "lock-timeout:", "\"soon\"", NULL } },
    { "config-directory", "", { "config-directory:", "empty", NULL } },
    { "nope", "1", { "\"nope\"", "it takes: config-directory, lock-timeout", NULL } },
    { "config-directory-file", "x", { "config-directory-file", "config-directory, lock-timeout", NULL } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GHashTable) table = settings_of (rows[i].key, rows[i].value, NULL);
      g_autoptr(SmarthostBackend) backend = smarthost_backend_new_for_name_with_settings ("postfix", table, &error);

      g_assert_null (backend);
      g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID);
      for (guint j = 0; rows[i].needles[j]; j++)
        if (strstr (error->message, rows[i].needles[j]) == NULL)
          g_error ("%s=%s: \"%s\" not in: %s", rows[i].key, rows[i].value, rows[i].needles[j], error->message);
    }
}

static void
test_unknown_backend (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) error2 = NULL;
  g_autoptr(SmarthostBackend) backend = smarthost_backend_new_for_name_with_settings ("exim", NULL, &error);
  g_autoptr(GPtrArray) settings = smarthost_backend_list_settings_for_name ("exim", &error2);

  g_assert_null (backend);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "postfix"));
  g_assert_null (settings);
  g_assert_error (error2, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED);
}

/* --- JSON ---------------------------------------------------------------- */

static json_t *
parse_json (const char *text)
{
  json_error_t error;
  json_t *node = json_loads (text, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &error);

  if (node == NULL)
    g_error ("not JSON: %s", error.text);
  return node;
}

/* What smarthostctl --json settings prints for each setting, and the array
 * that is the same objects in order. */
static void
test_settings_json (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) settings = smarthost_backend_list_settings_for_name ("postfix", &error);
  g_autoptr(GPtrArray) secret_settings = smarthost_backend_list_settings_for_name ("test-secret", &error);
  g_autofree char *text = NULL;
  g_autoptr(json_t) node = NULL;
  json_t *o;
  json_t *a;

  g_assert_no_error (error);
  text = smarthost_backend_setting_to_json (setting_named (settings, "config-directory"));
  /* Pretty-printed the way the CLI prints it. */
  g_assert_true (g_str_has_prefix (text, "{\n  \"name\" : \"config-directory\",\n  \"type\" : \"path\",\n"));
  node = parse_json (text);
  o = node;
  g_assert_cmpuint (json_object_size (o), ==, 4);
  g_assert_cmpstr (json_string_value (json_object_get (o, "name")), ==, "config-directory");
  g_assert_cmpstr (json_string_value (json_object_get (o, "type")), ==, "path");
  g_assert_false (json_is_true (json_object_get (o, "secret")));
  g_assert_cmpstr (json_string_value (json_object_get (o, "help")), ==,
                   smarthost_backend_setting_get_help (setting_named (settings, "config-directory")));
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&node, json_decref);

  /* The array: each setting's object, in the order listed. */
  text = smarthost_backend_settings_to_json (secret_settings);
  node = parse_json (text);
  a = node;
  g_assert_cmpuint (json_array_size (a), ==, secret_settings->len);
  for (guint i = 0; i < secret_settings->len; i++)
    {
      SmarthostBackendSetting *s = g_ptr_array_index (secret_settings, i);
      g_autofree char *one = smarthost_backend_setting_to_json (s);
      g_autoptr(json_t) one_node = parse_json (one);

      g_assert_true (json_equal (one_node, json_array_get (a, i)));
      o = json_array_get (a, i);
      g_assert_cmpstr (json_string_value (json_object_get (o, "name")), ==, smarthost_backend_setting_get_name (s));
      g_assert_cmpstr (json_string_value (json_object_get (o, "type")), ==,
                       smarthost_setting_type_to_string (smarthost_backend_setting_get_value_type (s)));
      g_assert_true (json_is_true (json_object_get (o, "secret")) == smarthost_backend_setting_get_secret (s));
    }
  /* A declaration holds no value: no token to leak, but say so. */
  g_assert_null (strstr (text, TOKEN));
  g_assert_nonnull (strstr (text, "\"secret\" : true"));
  g_clear_pointer (&text, g_free);
  g_clear_pointer (&node, json_decref);

  /* No settings: an empty array. */
  {
    g_autoptr(GPtrArray) none = g_ptr_array_new_with_free_func (g_object_unref);

    text = smarthost_backend_settings_to_json (none);
    node = parse_json (text);
    g_assert_true (json_is_array (node));
    g_assert_cmpuint (json_array_size (node), ==, 0);
    g_clear_pointer (&text, g_free);
    g_clear_pointer (&node, json_decref);
  }

  /* The help is nullable: null in JSON, not "" and not a crash. */
  {
    g_autoptr(SmarthostBackendSetting) bare = smarthost_backend_setting_new ("verbose", SMARTHOST_SETTING_TYPE_BOOLEAN,
                                                                              NULL, FALSE);

    text = smarthost_backend_setting_to_json (bare);
    node = parse_json (text);
    o = node;
    g_assert_cmpstr (json_string_value (json_object_get (o, "type")), ==, "boolean");
    g_assert_nonnull (json_object_get (o, "help"));
    g_assert_true (json_is_null (json_object_get (o, "help")));
  }
}

/* --- a backend with a secret --------------------------------------------- */

static void
test_secret_listed (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) settings = smarthost_backend_list_settings_for_name ("test-secret", &error);
  g_auto(GStrv) names = smarthost_backend_list_names ();

  g_assert_no_error (error);
  g_assert_true (g_strv_contains ((const char * const *) names, "test-secret"));
  g_assert_true (smarthost_backend_setting_get_secret (setting_named (settings, "token")));
  g_assert_false (smarthost_backend_setting_get_secret (setting_named (settings, "verbose")));
}

static void
test_secret_with_settings (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) table = settings_of ("token", TOKEN, "endpoint", "/run/x.sock", "verbose", "Yes",
                                             "retries", "10", NULL);
  g_autoptr(SmarthostBackend) backend = smarthost_backend_new_for_name_with_settings ("test-secret", table, &error);
  TestSecretBackend *self;

  g_assert_no_error (error);
  self = TEST_SECRET_BACKEND (backend);
  g_assert_cmpstr (self->token, ==, TOKEN);
  g_assert_cmpstr (self->endpoint, ==, "/run/x.sock");
  g_assert_true (self->verbose);
  g_assert_cmpuint (self->retries, ==, 10);
}

static void
test_secret_never_quoted (void)
{
  struct { const char *key, *value, *needle; GQuark domain; int code; } rows[] = {
    { "token", "\xff" TOKEN, "token:", SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID },
    { "verbose", "maybe", "\"maybe\"", SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID },
    { "retries", "11", "from 0 to 10", SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID },
    { "mismatched", "1", "bug in the backend", SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED },
    { "passwd", TOKEN, "token, endpoint, verbose, retries", SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID },
  };

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GHashTable) table = settings_of (rows[i].key, rows[i].value, "token", TOKEN, NULL);
      g_autoptr(SmarthostBackend) backend = NULL;

      if (g_str_equal (rows[i].key, "token"))
        g_hash_table_insert (table, (gpointer) "token", (gpointer) rows[i].value);
      backend = smarthost_backend_new_for_name_with_settings ("test-secret", table, &error);
      g_assert_null (backend);
      g_assert_error (error, rows[i].domain, rows[i].code);
      if (strstr (error->message, rows[i].needle) == NULL)
        g_error ("%s: \"%s\" not in: %s", rows[i].key, rows[i].needle, error->message);
      g_assert_null (strstr (error->message, TOKEN));
    }
}

/* --- capabilities -------------------------------------------------------- */

static void
test_postfix_capabilities (void)
{
  g_autoptr(SmarthostBackend) backend = smarthost_postfix_backend_new (NULL);
  SmarthostCapabilities caps = smarthost_backend_get_capabilities (backend);

  g_assert_true (caps & SMARTHOST_CAPABILITY_ADOPT);
  g_assert_true (caps & SMARTHOST_CAPABILITY_DIAGNOSE);
  g_assert_true (caps & SMARTHOST_CAPABILITY_CRASH_SAFE);
  g_assert_false (caps & SMARTHOST_CAPABILITY_RESTART_NEEDED);
}

static void
test_adopt_not_supported (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SmarthostBackend) backend = smarthost_backend_new_for_name ("test-secret", NULL);
  g_autoptr(SmarthostTransaction) tx = smarthost_backend_begin (backend);
  g_autofree char *preview = NULL;

  g_assert_false (smarthost_transaction_adopt (tx, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "adopt: the test-secret backend cannot"));
  g_assert_false (smarthost_transaction_get_adopt (tx));
  g_clear_error (&error);

  /* Nothing was staged: the preview is the backend's own. */
  preview = smarthost_transaction_preview (tx, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (preview, ==, "");
}

static void
diagnose_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static void
test_diagnose_not_supported (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SmarthostBackend) backend = smarthost_backend_new_for_name ("test-secret", NULL);
  g_autoptr(GPtrArray) findings = smarthost_backend_diagnose (backend, NULL, &error);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) async_findings = NULL;

  g_assert_null (findings);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "diagnose: the test-secret backend"));
  g_clear_error (&error);

  smarthost_backend_diagnose_async (backend, NULL, diagnose_done, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  async_findings = smarthost_backend_diagnose_finish (backend, result, &error);
  g_assert_null (async_findings);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  /* Registered as an outside module would register it. */
  _smarthost_backend_ensure_extension_point ();
  g_io_extension_point_implement (SMARTHOST_BACKEND_EXTENSION_POINT_NAME, TEST_TYPE_SECRET_BACKEND,
                                  "test-secret", 0);

  g_test_add_func ("/backend-settings/postfix/listed", test_postfix_settings_listed);
  g_test_add_func ("/backend-settings/postfix/with-settings", test_postfix_with_settings);
  g_test_add_func ("/backend-settings/postfix/defaults", test_postfix_defaults);
  g_test_add_func ("/backend-settings/postfix/bad", test_postfix_bad_settings);
  g_test_add_func ("/backend-settings/unknown-backend", test_unknown_backend);
  g_test_add_func ("/backend-settings/json", test_settings_json);
  g_test_add_func ("/backend-settings/secret/listed", test_secret_listed);
  g_test_add_func ("/backend-settings/secret/with-settings", test_secret_with_settings);
  g_test_add_func ("/backend-settings/secret/never-quoted", test_secret_never_quoted);
  g_test_add_func ("/backend-capabilities/postfix", test_postfix_capabilities);
  g_test_add_func ("/backend-capabilities/adopt-not-supported", test_adopt_not_supported);
  g_test_add_func ("/backend-capabilities/diagnose-not-supported", test_diagnose_not_supported);
  return g_test_run ();
}
