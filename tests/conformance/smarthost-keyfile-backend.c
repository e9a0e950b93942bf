/* smarthost-keyfile-backend.c: a test backend that keeps smarthosts in a key file
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Compiled against the installed headers only (<smarthost.h> and GLib,
 * no SMARTHOST_COMPILATION, no private header): what it does, any backend
 * outside the library can do.
 */

/*
 * Implementation notes
 *
 * The key file holds one group per relay:
 *
 *     [server]
 *     host=smtp.example.net
 *     port=587
 *     security=starttls
 *     username=apikey
 *     password=...
 *     verify-certificate=true
 *     mx-lookup=false
 *
 *     [domain shop.example]
 *     host=...
 *
 * (port, username, password and ca-file only when set). Groups and keys it
 * does not know are kept as they are.
 *
 * The backend builds operations and lets the core run them: for each group
 * whose relay changes, one SmarthostKeyfileGroupOperation (the operation
 * kind of this backend, in smarthost-keyfile-group-operation.c) that sets
 * or deletes that group. A change that changes no relay builds nothing, so
 * the core writes nothing. The journal and lock live in the state
 * directory (the setting `state-directory`, by default a directory of its
 * own under /var/lib/libsmarthost or $XDG_STATE_HOME).
 */
#include <string.h>

#include <smarthost.h>

#include "smarthost-keyfile-backend.h"
#include "smarthost-keyfile-group-operation.h"
#include "conformance-compat.h"

struct _SmarthostKeyfileBackend
{
  GObject parent_instance;

  char *path;
  char *state_directory;
  gboolean fail_undo;
};

static void smarthost_keyfile_backend_iface_init (SmarthostBackendInterface *iface);

/* Registered on the extension point from the type's definition, as the
 * built-in backends are: smarthost_backend_new_for_name ("keyfile")
 * finds it once the type exists. */
G_DEFINE_FINAL_TYPE_WITH_CODE (SmarthostKeyfileBackend, smarthost_keyfile_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SMARTHOST_TYPE_BACKEND,
                                                      smarthost_keyfile_backend_iface_init)
                               g_io_extension_point_implement (SMARTHOST_BACKEND_EXTENSION_POINT_NAME,
                                                               g_define_type_id, "keyfile", 10))

enum {
  PROP_0,
  PROP_PATH,
  PROP_STATE_DIRECTORY,
  PROP_FAIL_UNDO,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* --- relays in groups ------------------------------------------------------- */

static char *
domain_group (const char *domain)
{
  return g_strconcat ("domain ", domain, NULL);
}

static SmarthostRelay *
relay_from_group (GKeyFile    *key_file,
                  const char  *path,
                  const char  *group,
                  GError     **error)
{
  g_autoptr(SmarthostRelay) relay = NULL;
  g_autofree char *host = g_key_file_get_string (key_file, group, "host", NULL);
  g_autofree char *security = NULL;
  g_autoptr(GError) local_error = NULL;
  SmarthostSecurity mode;

  if (host == NULL)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "keyfile: %s: [%s] has no host", path, group);
      return NULL;
    }
  relay = smarthost_relay_new (host);
  if (g_key_file_has_key (key_file, group, "port", NULL))
    {
      int port = g_key_file_get_integer (key_file, group, "port", &local_error);

      if (local_error != NULL || port < 1 || port > 65535)
        {
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                       "keyfile: %s: [%s] port: must be a number from 1 to 65535", path, group);
          return NULL;
        }
      smarthost_relay_set_port (relay, (guint) port);
    }
  security = g_key_file_get_string (key_file, group, "security", NULL);
  if (security != NULL)
    {
      if (!smarthost_security_from_string (security, &mode, NULL))
        {
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                       "keyfile: %s: [%s] security: must be none, starttls or tls", path, group);
          return NULL;
        }
      smarthost_relay_set_security (relay, mode);
    }
  if (g_key_file_has_key (key_file, group, "username", NULL))
    {
      g_autofree char *username = g_key_file_get_string (key_file, group, "username", NULL);
      smarthost_relay_set_username (relay, username);
    }
  if (g_key_file_has_key (key_file, group, "password", NULL))
    {
      g_autofree char *password = g_key_file_get_string (key_file, group, "password", NULL);
      smarthost_relay_set_password (relay, password);
      if (password != NULL)
        explicit_bzero (password, strlen (password));
    }
  if (g_key_file_has_key (key_file, group, "ca-file", NULL))
    {
      g_autofree char *ca_file = g_key_file_get_string (key_file, group, "ca-file", NULL);
      smarthost_relay_set_ca_file (relay, ca_file);
    }
  if (g_key_file_has_key (key_file, group, "verify-certificate", NULL))
    smarthost_relay_set_verify_certificate (relay, g_key_file_get_boolean (key_file, group, "verify-certificate", NULL));
  if (g_key_file_has_key (key_file, group, "mx-lookup", NULL))
    smarthost_relay_set_mx_lookup (relay, g_key_file_get_boolean (key_file, group, "mx-lookup", NULL));
  return g_steal_pointer (&relay);
}

/* The group a relay is written as, in the text form of
 * smarthost_keyfile_group_to_text(). */
static char *
relay_to_group_text (SmarthostRelay *relay,
                     const char     *group)
{
  g_autoptr(GKeyFile) one = g_key_file_new ();

  g_key_file_set_string (one, group, "host", smarthost_relay_get_host (relay));
  if (smarthost_relay_get_port (relay) != 0)
    g_key_file_set_integer (one, group, "port", (int) smarthost_relay_get_port (relay));
  g_key_file_set_string (one, group, "security", smarthost_security_to_string (smarthost_relay_get_security (relay)));
  if (smarthost_relay_get_username (relay) != NULL)
    g_key_file_set_string (one, group, "username", smarthost_relay_get_username (relay));
  if (smarthost_relay_get_password (relay) != NULL)
    g_key_file_set_string (one, group, "password", smarthost_relay_get_password (relay));
  g_key_file_set_boolean (one, group, "verify-certificate", smarthost_relay_get_verify_certificate (relay));
  if (smarthost_relay_get_ca_file (relay) != NULL)
    g_key_file_set_string (one, group, "ca-file", smarthost_relay_get_ca_file (relay));
  g_key_file_set_boolean (one, group, "mx-lookup", smarthost_relay_get_mx_lookup (relay));
  /* Through the same normalization as a group read from the file. */
  return smarthost_keyfile_group_to_text (one, group);
}

/* The state a key file holds. */
static SmarthostState *
state_from_key_file (GKeyFile    *key_file,
                     const char  *path,
                     GError     **error)
{
  g_autoptr(SmarthostState) state = smarthost_state_new ();
  g_auto(GStrv) groups = g_key_file_get_groups (key_file, NULL);

  smarthost_state_set_backend_name (state, "keyfile");
  for (guint i = 0; groups[i]; i++)
    {
      g_autoptr(SmarthostRelay) relay = NULL;

      if (!smarthost_keyfile_group_name_is_valid (groups[i]))
        continue;   /* not ours: kept, never read */
      relay = relay_from_group (key_file, path, groups[i], error);
      if (relay == NULL)
        return NULL;
      if (g_str_equal (groups[i], "server"))
        smarthost_state_set_server (state, relay);
      else if (!smarthost_state_set_domain (state, groups[i] + strlen ("domain "), relay, error))
        return NULL;
    }
  return g_steal_pointer (&state);
}

static gboolean
check_path (SmarthostKeyfileBackend  *self,
            GError                  **error)
{
  if (self->path == NULL)
    {
      g_set_error_literal (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                           "path: no key file given; set the backend's path setting");
      return FALSE;
    }
  return TRUE;
}

static SmarthostState *
read_state (SmarthostKeyfileBackend  *self,
            GError                  **error)
{
  g_autoptr(GKeyFile) key_file = NULL;

  if (!check_path (self, error))
    return NULL;
  key_file = smarthost_keyfile_load (self->path, error);
  return key_file ? state_from_key_file (key_file, self->path, error) : NULL;
}

/* --- SmarthostBackend ----------------------------------------------------------- */

static const char *
smarthost_keyfile_backend_get_name (SmarthostBackend *backend)
{
  return "keyfile";
}

static SmarthostCapabilities
smarthost_keyfile_backend_get_capabilities (SmarthostBackend *backend)
{
  /* It stores every setting of a relay, so it declares each; ADOPT and
   * DIAGNOSE it has not, and nothing needs a restart. */
  return SMARTHOST_CAPABILITY_SERVER_RELAY | SMARTHOST_CAPABILITY_DOMAIN_RELAY |
         SMARTHOST_CAPABILITY_DOMAIN_CREDENTIALS | SMARTHOST_CAPABILITY_STARTTLS |
         SMARTHOST_CAPABILITY_IMPLICIT_TLS | SMARTHOST_CAPABILITY_CA_FILE |
         SMARTHOST_CAPABILITY_NO_VERIFY | SMARTHOST_CAPABILITY_MX_LOOKUP |
         SMARTHOST_CAPABILITY_PREVIEW | SMARTHOST_CAPABILITY_CRASH_SAFE;
}

static SmarthostState *
smarthost_keyfile_backend_get_state (SmarthostBackend  *backend,
                                     GCancellable      *cancellable,
                                     GError           **error)
{
  return read_state (SMARTHOST_KEYFILE_BACKEND (backend), error);
}

static SmarthostRelay *
smarthost_keyfile_backend_get_server (SmarthostBackend  *backend,
                                      GCancellable      *cancellable,
                                      GError           **error)
{
  g_autoptr(SmarthostState) state = read_state (SMARTHOST_KEYFILE_BACKEND (backend), error);
  SmarthostRelay *server;

  if (state == NULL)
    return NULL;
  server = smarthost_state_get_server (state);
  return server ? g_object_ref (server) : NULL;
}

static SmarthostRelay *
smarthost_keyfile_backend_get_domain (SmarthostBackend  *backend,
                                      const char        *domain,
                                      GCancellable      *cancellable,
                                      GError           **error)
{
  g_autoptr(SmarthostState) state = NULL;
  g_autofree char *normalized = smarthost_domain_normalize (domain, error);
  SmarthostRelay *relay;

  if (normalized == NULL)
    return NULL;
  state = read_state (SMARTHOST_KEYFILE_BACKEND (backend), error);
  if (state == NULL)
    return NULL;
  relay = smarthost_state_get_domain (state, normalized);
  return relay ? g_object_ref (relay) : NULL;
}

static char **
smarthost_keyfile_backend_list_domains (SmarthostBackend  *backend,
                                        GCancellable      *cancellable,
                                        GError           **error)
{
  g_autoptr(SmarthostState) state = read_state (SMARTHOST_KEYFILE_BACKEND (backend), error);

  return state ? smarthost_state_list_domains (state) : NULL;
}

/* Commits through this backend lock this directory and keep their journal
 * in it; journals there may name this key file only. */
static char *
smarthost_keyfile_backend_get_state_directory (SmarthostBackend  *backend,
                                               GError           **error)
{
  SmarthostKeyfileBackend *self = SMARTHOST_KEYFILE_BACKEND (backend);
  g_autofree char *dir = NULL;

  if (!check_path (self, error))
    return NULL;
  if (self->state_directory != NULL)
    dir = g_strdup (self->state_directory);
  else
    {
      g_autofree char *name = g_strconcat ("keyfile", self->path, NULL);

      g_strdelimit (name, "/", '-');
      dir = smarthost_backend_get_default_state_directory (name);
    }
  if (!smarthost_keyfile_group_operation_claim (dir, self->path, error))
    return NULL;
  return g_steal_pointer (&dir);
}

static gboolean
relay_differs (SmarthostRelay *a,
               SmarthostRelay *b)
{
  if (a == NULL || b == NULL)
    return a != b;
  return !smarthost_relay_equal (a, b);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static void
add_group_operation (SmarthostKeyfileBackend *self,
                     SmarthostChange         *change,
                     GKeyFile                *key_file,
                     const char              *group,
                     SmarthostRelay          *wanted)
{
  g_autofree char *old_text = smarthost_keyfile_group_to_text (key_file, group);
  g_autofree char *new_text = wanted ? relay_to_group_text (wanted, group) : NULL;
  g_autoptr(SmarthostOperation) op = NULL;

  op = smarthost_keyfile_group_operation_new (self->path, group, old_text, new_text, self->fail_undo);
  smarthost_change_add_operation (change, op);
}

/* Called by the core under the lock, after recovery (for a dry run,
 * without either). Reads the key file, computes the state the change
 * asks for, and adds one operation per group whose relay changes. */
static gboolean
smarthost_keyfile_backend_build_change (SmarthostBackend  *backend,
                                        SmarthostChange   *change,
                                        GCancellable      *cancellable,
                                        GError           **error)
{
  SmarthostKeyfileBackend *self = SMARTHOST_KEYFILE_BACKEND (backend);
  g_autoptr(GKeyFile) key_file = NULL;
  g_autoptr(SmarthostState) current = NULL;
  g_autoptr(SmarthostState) wanted = NULL;
  g_autoptr(GPtrArray) domains = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) current_domains = NULL;
  g_auto(GStrv) wanted_domains = NULL;

  if (!check_path (self, error))
    return FALSE;
  key_file = smarthost_keyfile_load (self->path, error);
  if (key_file == NULL)
    return FALSE;
  current = state_from_key_file (key_file, self->path, error);
  if (current == NULL)
    return FALSE;
  wanted = smarthost_change_apply_to (change, current);

  if (relay_differs (smarthost_state_get_server (current), smarthost_state_get_server (wanted)))
    add_group_operation (self, change, key_file, "server", smarthost_state_get_server (wanted));

  /* Every domain of either state, in order (both lists are sorted). */
  current_domains = smarthost_state_list_domains (current);
  wanted_domains = smarthost_state_list_domains (wanted);
  for (guint i = 0; current_domains[i]; i++)
    g_ptr_array_add (domains, g_strdup (current_domains[i]));
  for (guint i = 0; wanted_domains[i]; i++)
    if (!g_strv_contains ((const char * const *) current_domains, wanted_domains[i]))
      g_ptr_array_add (domains, g_strdup (wanted_domains[i]));
  g_ptr_array_sort (domains, compare_names);

  for (guint i = 0; i < domains->len; i++)
    {
      const char *domain = g_ptr_array_index (domains, i);
      SmarthostRelay *before = smarthost_state_get_domain (current, domain);
      SmarthostRelay *after = smarthost_state_get_domain (wanted, domain);

      /* A password the change replaces or removes is a secret of it too. */
      if (before != NULL)
        smarthost_change_add_secret (change, smarthost_relay_get_password (before));
      if (relay_differs (before, after))
        {
          g_autofree char *group = domain_group (domain);
          add_group_operation (self, change, key_file, group, after);
        }
    }
  if (smarthost_state_get_server (current) != NULL)
    smarthost_change_add_secret (change, smarthost_relay_get_password (smarthost_state_get_server (current)));
  return TRUE;
}

static GPtrArray *
smarthost_keyfile_backend_list_settings (SmarthostBackend *backend)
{
  GPtrArray *settings = g_ptr_array_new_with_free_func (g_object_unref);

  g_ptr_array_add (settings,
                   smarthost_backend_setting_new ("path", SMARTHOST_SETTING_TYPE_PATH,
                                                  "The key file that holds the smarthosts", FALSE));
  g_ptr_array_add (settings,
                   smarthost_backend_setting_new ("state-directory", SMARTHOST_SETTING_TYPE_PATH,
                                                  "Where commits keep their lock and journal (default: "
                                                  "a directory of the key file's own under "
                                                  "/var/lib/libsmarthost or $XDG_STATE_HOME)", FALSE));
  g_ptr_array_add (settings,
                   smarthost_backend_setting_new ("fail-undo", SMARTHOST_SETTING_TYPE_BOOLEAN,
                                                  "Test knob: every undo of a commit through this backend "
                                                  "fails (to test SMARTHOST_ERROR_PARTIAL); recovery from "
                                                  "the journal is not affected", FALSE));
  return settings;
}

static void
smarthost_keyfile_backend_iface_init (SmarthostBackendInterface *iface)
{
  iface->get_name = smarthost_keyfile_backend_get_name;
  iface->get_capabilities = smarthost_keyfile_backend_get_capabilities;
  iface->get_server = smarthost_keyfile_backend_get_server;
  iface->get_domain = smarthost_keyfile_backend_get_domain;
  iface->list_domains = smarthost_keyfile_backend_list_domains;
  iface->get_state = smarthost_keyfile_backend_get_state;
  iface->get_state_directory = smarthost_keyfile_backend_get_state_directory;
  iface->build_change = smarthost_keyfile_backend_build_change;
  iface->list_settings = smarthost_keyfile_backend_list_settings;
}

/* --- GObject ------------------------------------------------------------------ */

static void
smarthost_keyfile_backend_finalize (GObject *object)
{
  SmarthostKeyfileBackend *self = SMARTHOST_KEYFILE_BACKEND (object);

  g_free (self->path);
  g_free (self->state_directory);
  G_OBJECT_CLASS (smarthost_keyfile_backend_parent_class)->finalize (object);
}

static void
smarthost_keyfile_backend_get_property (GObject    *object,
                                        guint       prop_id,
                                        GValue     *value,
                                        GParamSpec *pspec)
{
  SmarthostKeyfileBackend *self = SMARTHOST_KEYFILE_BACKEND (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_STATE_DIRECTORY:
      g_value_set_string (value, self->state_directory);
      break;
    case PROP_FAIL_UNDO:
      g_value_set_boolean (value, self->fail_undo);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* Paths are kept absolute and without "." or ".." components: a journal
 * record names the key file, and recovery compares names. */
static char *
absolute_path (const char *path)
{
  return path ? g_canonicalize_filename (path, NULL) : NULL;
}

static void
smarthost_keyfile_backend_set_property (GObject      *object,
                                        guint         prop_id,
                                        const GValue *value,
                                        GParamSpec   *pspec)
{
  SmarthostKeyfileBackend *self = SMARTHOST_KEYFILE_BACKEND (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_free (self->path);
      self->path = absolute_path (g_value_get_string (value));
      break;
    case PROP_STATE_DIRECTORY:
      g_free (self->state_directory);
      self->state_directory = absolute_path (g_value_get_string (value));
      break;
    case PROP_FAIL_UNDO:
      self->fail_undo = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_keyfile_backend_class_init (SmarthostKeyfileBackendClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  /* A process that recovers a journal before it built any operation must
   * know this backend's kind of record. */
  g_type_ensure (SMARTHOST_TYPE_KEYFILE_GROUP_OPERATION);

  object_class->finalize = smarthost_keyfile_backend_finalize;
  object_class->get_property = smarthost_keyfile_backend_get_property;
  object_class->set_property = smarthost_keyfile_backend_set_property;

  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE_DIRECTORY] =
    g_param_spec_string ("state-directory", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FAIL_UNDO] =
    g_param_spec_boolean ("fail-undo", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
smarthost_keyfile_backend_init (SmarthostKeyfileBackend *self)
{
}

/**
 * smarthost_keyfile_backend_new:
 * @path: the key file
 * @state_directory: (nullable): where commits keep their lock and journal;
 *   %NULL for the default
 *
 * Creates a key-file backend. Nothing is read until it is used.
 *
 * Returns: (transfer full): the backend
 */
SmarthostBackend *
smarthost_keyfile_backend_new (const char *path,
                               const char *state_directory)
{
  return g_object_new (SMARTHOST_TYPE_KEYFILE_BACKEND, "path", path, "state-directory", state_directory, NULL);
}
