/* smarthost-mailenable-backend.c: smarthosts for MailEnable, in the Windows registry
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>

#include "smarthost-backend-private.h"
#include "smarthost-error.h"
#include "smarthost-files-private.h"
#include "smarthost-private.h"
#include "smarthost-util-private.h"

#include "smarthost-mailenable-backend.h"
#include "smarthost-mailenable-private.h"

/**
 * SmarthostMailEnableBackend:
 *
 * The MailEnable backend: the server-wide smarthost as values of
 * MailEnable's SMTP connector key in the Windows registry
 * (`HKLM\SOFTWARE\Mail Enable\Mail Enable\Connectors\SMTP`, 32-bit view),
 * taken up when its SMTP service (`MESMTPCS`) restarts (see the MailEnable
 * page of the documentation).
 *
 * On Windows it reads and changes the live registry, and restarts the
 * service once a change is committed. Given
 * [property@MailEnableBackend:reg-file] (an export of the key) and
 * [property@MailEnableBackend:output], it works on any platform: reads the
 * export, and writes a `.reg` patch to `output` and the undo patch beside
 * it, to be imported on the server.
 *
 * The value names come from a schema, data with a source for each name:
 * no public source names the smart host's own values, so they are marked
 * unconfirmed there, and every preview of a change says so until a
 * corrected schema ([property@MailEnableBackend:schema-file]) confirms them.
 *
 * MailEnable's smart host is server-wide: its per-domain "smart host"
 * routes mail *to* a domain (by recipient), not mail *from* one, so domain
 * relays are %SMARTHOST_ERROR_NOT_SUPPORTED. Its outbound TLS is
 * opportunistic (it falls back to plain text), which is
 * %SMARTHOST_SECURITY_NONE; requiring TLS is refused.
 */

#define DEFAULT_TIMEOUT 60

#define FIX_SCHEMA "export the key before and after setting the smart host in MailEnable's console, compare, " \
                   "and give a corrected copy of the schema (setting schema-file)"

#define REASON_DOMAINS \
  "MailEnable has no smart host per sender domain: its per-domain \"smart host\" (Act as Smart Host) " \
  "routes mail addressed TO a domain, by recipient, not mail sent from it. Only the server-wide smart host " \
  "can be set"
#define REASON_CA_FILE "MailEnable has no CA file for its smart host"
#define REASON_MX \
  "MailEnable's smart host is one server address; looking up MX records for it is not a documented setting"
#define REASON_TLS \
  "MailEnable cannot require TLS toward its smart host: its Outbound TLS tries STARTTLS and falls back to " \
  "plain text when the relay does not offer it, and it has no implicit TLS. Security none means exactly that " \
  "(STARTTLS when offered, not verified): choose it only if mail to the relay may travel in clear"

struct _SmarthostMailEnableBackend
{
  GObject parent_instance;

  char *reg_file;
  char *output;
  char *schema_file;
  char *state_directory;
  guint timeout;
  guint lock_timeout;
};

static void smarthost_mailenable_backend_iface_init (SmarthostBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SmarthostMailEnableBackend, smarthost_mailenable_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SMARTHOST_TYPE_BACKEND,
                                                      smarthost_mailenable_backend_iface_init)
                               _smarthost_backend_ensure_extension_point ();
                               g_io_extension_point_implement (SMARTHOST_BACKEND_EXTENSION_POINT_NAME,
                                                               g_define_type_id, "mailenable", 50))

enum {
  PROP_0,
  PROP_REG_FILE,
  PROP_OUTPUT,
  PROP_SCHEMA_FILE,
  PROP_STATE_DIRECTORY,
  PROP_TIMEOUT,
  PROP_LOCK_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* --- the schema and the store ------------------------------------------------- */

static gboolean
check_settings (SmarthostMailEnableBackend  *self,
                GError                     **error)
{
  g_autofree char *reg_file = NULL;
  g_autofree char *output = NULL;
  g_autofree char *undo = NULL;
  g_autofree char *base = NULL;

  if (self->reg_file == NULL && self->output == NULL)
    return TRUE;
  if (self->reg_file == NULL || *self->reg_file == '\0')
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "reg-file: output needs the export the patch is made from (setting reg-file)"), FALSE;
  if (self->output == NULL)
    return TRUE;
  output = g_canonicalize_filename (self->output, NULL);
  base = g_path_get_basename (output);
  if (!g_str_has_suffix (base, ".reg") || strlen (base) <= 4)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "output: must be the path of a .reg file, such as smarthost.reg (its undo patch goes "
                        "beside it, as smarthost.undo.reg)"), FALSE;
  reg_file = g_canonicalize_filename (self->reg_file, NULL);
  undo = me_store_undo_path (output);
  if (g_str_equal (output, reg_file) || g_str_equal (undo, reg_file))
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "output: must not be the export itself, nor its undo patch (%s): the export stays as "
                        "it is", "NAME.undo.reg"), FALSE;
  return TRUE;
}

typedef struct {
  MeSchema *schema;
  MeStore *store;
  GPtrArray *values;   /* the key's values now */
} MeRead;

static void
me_read_free (MeRead *r)
{
  if (r == NULL)
    return;
  me_schema_free (r->schema);
  me_store_free (r->store);
  g_clear_pointer (&r->values, g_ptr_array_unref);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MeRead, me_read_free)

static MeRead *
read_key (SmarthostMailEnableBackend  *self,
          GError                     **error)
{
  g_autoptr(MeRead) r = g_new0 (MeRead, 1);

  if (!check_settings (self, error))
    return NULL;
  r->schema = me_schema_load (self->schema_file, error);
  if (r->schema == NULL)
    return NULL;
  r->store = self->reg_file ? me_store_new_reg_file (self->reg_file, self->output) : me_store_new_live ();
  r->values = me_store_read (r->store, error);
  if (r->values == NULL)
    return NULL;
  return g_steal_pointer (&r);
}

static const char *
name_of (MeRead     *r,
         const char *key)
{
  return me_schema_get_entry (r->schema, key)->name;
}

static MeRegValue *
value_of (MeRead     *r,
          const char *key)
{
  const char *name = name_of (r, key);

  for (guint i = 0; name != NULL && i < r->values->len; i++)
    {
      MeRegValue *v = g_ptr_array_index (r->values, i);

      if (me_reg_name_equal (v->name, name))
        return v;
    }
  return NULL;
}

/* A number the schema keeps as a REG_DWORD, or (a port) as a REG_SZ of
 * digits. Absent: @fallback. */
static gboolean
number_of (MeRead      *r,
           const char  *key,
           guint32      fallback,
           guint32     *out,
           GError     **error)
{
  MeRegValue *v = value_of (r, key);
  g_autofree char *text = NULL;
  guint64 n;

  *out = fallback;
  if (v == NULL)
    return TRUE;
  if (me_schema_get_entry (r->schema, key)->type == ME_REG_DWORD)
    return me_reg_value_get_dword (v, out, error);
  if (!me_reg_value_get_string (v, &text, error))
    return FALSE;
  if (*text == '\0')
    return TRUE;
  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT32, &n, NULL))
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "value \"%s\": expected a number", v->name), FALSE;
  *out = n;
  return TRUE;
}

static gboolean
string_of (MeRead      *r,
           const char  *key,
           char       **out,
           GError     **error)
{
  MeRegValue *v = value_of (r, key);

  *out = NULL;
  return v == NULL || me_reg_value_get_string (v, out, error);
}

static SmarthostRelay *
relay_of (MeRead   *r,
          GError  **error)
{
  g_autoptr(SmarthostRelay) relay = NULL;
  g_autofree char *server = NULL;
  g_autofree char *username = NULL;
  g_autofree char *password = NULL;
  guint32 enabled = 0, port = 0, auth = 0;
  const char *colon;

  if (!number_of (r, "smarthost-enabled", 0, &enabled, error) ||
      !string_of (r, "smarthost-server", &server, error))
    return NULL;
  if (enabled == 0 || server == NULL || *g_strstrip (server) == '\0')
    return NULL;
  /* A port kept in the server's value, as "host:port". */
  if (name_of (r, "smarthost-port") == NULL && (colon = strrchr (server, ':')) != NULL &&
      strchr (server, ':') == colon)
    {
      guint64 n;

      if (!g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &n, NULL))
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "value \"%s\": the port after the colon must be a number from 1 to 65535",
                            name_of (r, "smarthost-server")), NULL;
      port = n;
      *(char *) colon = '\0';
    }
  else if (!number_of (r, "smarthost-port", 0, &port, error))
    return NULL;
  if (!number_of (r, "smarthost-auth", 0, &auth, error))
    return NULL;
  relay = smarthost_relay_new (server);
  /* None (or 0): MailEnable's default, as for a relay without a port. */
  if (port != 0)
    smarthost_relay_set_port (relay, port);
  smarthost_relay_set_security (relay, SMARTHOST_SECURITY_NONE);
  if (auth != 0)
    {
      if (!string_of (r, "smarthost-username", &username, error) ||
          !string_of (r, "smarthost-password", &password, error))
        {
          _smarthost_secret_free (g_steal_pointer (&password));
          return NULL;
        }
      smarthost_relay_set_username (relay, username);
      smarthost_relay_set_password (relay, password);
      _smarthost_secret_free (g_steal_pointer (&password));
    }
  if (!smarthost_relay_validate (relay, error))
    return g_prefix_error (error, "the smart host in MailEnable's SMTP connector key: "), NULL;
  return g_steal_pointer (&relay);
}

/* --- reads ------------------------------------------------------------------- */

static SmarthostRelay *
smarthost_mailenable_backend_get_server (SmarthostBackend  *backend,
                                         GCancellable      *cancellable,
                                         GError           **error)
{
  g_autoptr(MeRead) r = read_key (SMARTHOST_MAILENABLE_BACKEND (backend), error);

  return r ? relay_of (r, error) : NULL;
}

static SmarthostState *
smarthost_mailenable_backend_get_state (SmarthostBackend  *backend,
                                        GCancellable      *cancellable,
                                        GError           **error)
{
  g_autoptr(MeRead) r = read_key (SMARTHOST_MAILENABLE_BACKEND (backend), error);
  g_autoptr(SmarthostRelay) server = NULL;
  g_autoptr(GError) local = NULL;
  SmarthostState *state;

  if (r == NULL)
    return NULL;
  server = relay_of (r, &local);
  if (local != NULL)
    return g_propagate_error (error, g_steal_pointer (&local)), NULL;
  state = smarthost_state_new ();
  smarthost_state_set_server (state, server);
  return state;
}

static SmarthostRelay *
smarthost_mailenable_backend_get_domain (SmarthostBackend  *backend,
                                         const char        *domain,
                                         GCancellable      *cancellable,
                                         GError           **error)
{
  g_autofree char *normalized = smarthost_domain_normalize (domain, error);
  g_autoptr(MeRead) r = NULL;

  if (normalized == NULL)
    return NULL;
  /* Read all the same, so that a broken key is reported. */
  r = read_key (SMARTHOST_MAILENABLE_BACKEND (backend), error);
  return NULL;
}

static char **
smarthost_mailenable_backend_list_domains (SmarthostBackend  *backend,
                                           GCancellable      *cancellable,
                                           GError           **error)
{
  g_autoptr(MeRead) r = read_key (SMARTHOST_MAILENABLE_BACKEND (backend), error);

  return r ? g_new0 (char *, 1) : NULL;
}

/* --- the change ---------------------------------------------------------------- */

static void
edit_string (GPtrArray  *edits,
             const char *name,
             const char *text)
{
  g_ptr_array_add (edits, text ? me_reg_value_new_string (name, text) : me_reg_value_new_deleted (name));
}

static void
edit_number (GPtrArray       *edits,
             const MeSchemaEntry *e,
             guint32          n)
{
  g_autofree char *text = NULL;

  if (e->type == ME_REG_DWORD)
    g_ptr_array_add (edits, me_reg_value_new_dword (e->name, n));
  else
    {
      text = g_strdup_printf ("%u", n);
      g_ptr_array_add (edits, me_reg_value_new_string (e->name, text));
    }
}

/* The values that make @relay MailEnable's smart host, or (NULL) turn it
 * off: the flag off and every other value of the smart host deleted.
 * Outbound TLS is turned on with a relay (SMARTHOST_SECURITY_NONE uses
 * STARTTLS where offered, which is what it does) and left as it is
 * without. */
static GPtrArray *
edits_for (MeRead         *r,
           SmarthostRelay *relay)
{
  GPtrArray *edits = g_ptr_array_new_with_free_func ((GDestroyNotify) me_reg_value_free);
  const MeSchemaEntry *port = me_schema_get_entry (r->schema, "smarthost-port");
  const char *username = relay ? smarthost_relay_get_username (relay) : NULL;
  g_autofree char *server = NULL;

  if (relay == NULL)
    {
      edit_number (edits, me_schema_get_entry (r->schema, "smarthost-enabled"), 0);
      edit_string (edits, name_of (r, "smarthost-server"), NULL);
      if (port->name != NULL)
        edit_string (edits, port->name, NULL);
      edit_string (edits, name_of (r, "smarthost-auth"), NULL);
      edit_string (edits, name_of (r, "smarthost-username"), NULL);
      edit_string (edits, name_of (r, "smarthost-password"), NULL);
      return edits;
    }
  /* The port the library means, always written: MailEnable's own default
   * for a missing one is not documented. */
  if (port->name == NULL)
    server = g_strdup_printf ("%s:%u", smarthost_relay_get_host (relay), smarthost_relay_get_effective_port (relay));
  else
    server = g_strdup (smarthost_relay_get_host (relay));
  edit_number (edits, me_schema_get_entry (r->schema, "smarthost-enabled"), 1);
  edit_string (edits, name_of (r, "smarthost-server"), server);
  if (port->name != NULL)
    edit_number (edits, port, smarthost_relay_get_effective_port (relay));
  edit_number (edits, me_schema_get_entry (r->schema, "smarthost-auth"), username != NULL);
  edit_string (edits, name_of (r, "smarthost-username"), username);
  if (username != NULL && smarthost_relay_get_password (relay) == NULL && smarthost_relay_get_password_set (relay))
    ;   /* the password it has, kept */
  else
    edit_string (edits, name_of (r, "smarthost-password"), username ? smarthost_relay_get_password (relay) : NULL);
  edit_number (edits, me_schema_get_entry (r->schema, "outbound-tls"), 1);
  return edits;
}

static gboolean
refuse_domains (SmarthostChange  *change,
                GError          **error)
{
  GHashTable *domains = smarthost_change_get_domains (change);
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, domains);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (value != NULL)
      return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED, "%s: " REASON_DOMAINS,
                          (char *) key), FALSE;
  return TRUE;
}

static void
note_unconfirmed (SmarthostChange *change,
                  MeSchema        *schema,
                  GPtrArray       *edits)
{
  g_autoptr(GString) names = g_string_new (NULL);
  GPtrArray *entries = me_schema_get_entries (schema);

  for (guint i = 0; i < entries->len; i++)
    {
      MeSchemaEntry *e = g_ptr_array_index (entries, i);

      if (e->neighbour || e->confirmed || e->name == NULL)
        continue;
      for (guint j = 0; j < edits->len; j++)
        if (me_reg_name_equal (((MeRegValue *) g_ptr_array_index (edits, j))->name, e->name))
          {
            g_string_append_printf (names, "%s\"%s\"", names->len ? ", " : "", e->name);
            break;
          }
    }
  if (names->len > 0)
    {
      g_autofree char *note = g_strdup_printf ("no public source confirms the value names %s: check them against "
                                               "an export of a server whose smart host was set in MailEnable's "
                                               "console (smarthostctl --backend mailenable schema-check "
                                               "EXPORT.reg), and give a corrected schema (setting schema-file) "
                                               "where they differ", names->str);
      smarthost_change_add_note (change, note);
    }
}

static gboolean
restart_service (gpointer       user_data,
                 GCancellable  *cancellable,
                 GError       **error)
{
#ifdef G_OS_WIN32
  char **args = user_data;   /* service, timeout */

  if (!me_service_restart (args[0], (guint) g_ascii_strtoull (args[1], NULL, 10), cancellable, error))
    {
      g_prefix_error (error, "restart the service %s (net stop %s && net start %s): ", args[0], args[0], args[0]);
      return FALSE;
    }
  return TRUE;
#else
  return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED,
                      "services are restarted only on Windows"), FALSE;
#endif
}

static gboolean
smarthost_mailenable_backend_build_change (SmarthostBackend  *backend,
                                           SmarthostChange   *change,
                                           GCancellable      *cancellable,
                                           GError           **error)
{
  SmarthostMailEnableBackend *self = SMARTHOST_MAILENABLE_BACKEND (backend);
  g_autoptr(MeRead) r = NULL;
  g_autoptr(SmarthostRelay) current = NULL;
  g_autoptr(GPtrArray) edits = NULL;
  g_autoptr(GError) local = NULL;
  g_autofree char *dir = NULL;
  SmarthostRelay *relay = NULL;
  const char *service;
  guint before;

  if (!refuse_domains (change, error))
    return FALSE;
  r = read_key (self, error);
  if (r == NULL)
    return FALSE;
  if (!smarthost_change_get_server (change, &relay))
    return TRUE;
  current = relay_of (r, &local);
  /* A smart host that cannot be read is replaced, not kept. */
  if (local == NULL && ((relay == NULL && current == NULL) ||
                        (relay != NULL && current != NULL && smarthost_relay_equal (relay, current))))
    return TRUE;
  if (relay != NULL && smarthost_relay_get_password (relay) != NULL)
    smarthost_change_add_secret (change, smarthost_relay_get_password (relay));
  dir = smarthost_backend_get_state_directory (backend, error);
  if (dir == NULL)
    return FALSE;
  edits = edits_for (r, relay);
  service = me_schema_get_service (r->schema);
  before = smarthost_change_get_operations (change)->len;
  if (!me_store_add_operations (r->store, change, r->values, edits, name_of (r, "smarthost-password"), service, dir,
                                error))
    return FALSE;
  if (smarthost_change_get_operations (change)->len == before)
    return TRUE;
  note_unconfirmed (change, r->schema, edits);
  if (relay == NULL)
    smarthost_change_add_note (change, "Outbound TLS stays as it is: it applies to every outbound connection");
  if (me_store_is_live (r->store) && smarthost_change_get_reload (change))
    {
      char **args = g_new0 (char *, 3);
      g_autofree char *what = NULL;
      SmarthostOperation *op;

      args[0] = g_strdup (service);
      args[1] = g_strdup_printf ("%u", self->timeout);
      what = g_strdup_printf ("restart the service %s through the Service Control Manager (MailEnable reads its "
                              "smart host when it starts)", service);
      op = smarthost_command_operation_new_func (what, restart_service, args, (GDestroyNotify) g_strfreev);
      smarthost_command_operation_set_after_commit (SMARTHOST_COMMAND_OPERATION (op), TRUE);
      smarthost_change_add_operation (change, op);
      g_object_unref (op);
    }
  else if (me_store_is_live (r->store))
    {
      g_autofree char *note = g_strdup_printf ("not restarted: MailEnable takes the change up when the service %s "
                                               "restarts (net stop %s && net start %s)", service, service, service);
      smarthost_change_add_note (change, note);
    }
  return TRUE;
}

/* --- diagnosis ------------------------------------------------------------------- */

static void add_finding (GPtrArray         *findings,
                         SmarthostSeverity  severity,
                         const char        *code,
                         const char        *fix,
                         const char        *format,
                         ...) G_GNUC_PRINTF (5, 6);

/* Whether a file holding a password can be read by others than its owner
 * (an export is the administrator's file: reported, never changed). */
static gboolean
readable_by_others (const char *path)
{
#ifdef G_OS_WIN32
  return FALSE;   /* ACLs, not modes: nothing to say from here */
#else
  struct stat st;

  return path != NULL && g_stat (path, &st) == 0 && (st.st_mode & 0044) != 0;
#endif
}

/* What is wrong with the smart host the key holds: an enabled one without
 * a server, authentication without a user name or password, credentials
 * sent without even opportunistic TLS, a password in an export others can
 * read, and the names no public source confirms. Changes nothing. */
static GPtrArray *
smarthost_mailenable_backend_diagnose (SmarthostBackend  *backend,
                                       GCancellable      *cancellable,
                                       GError           **error)
{
  SmarthostMailEnableBackend *self = SMARTHOST_MAILENABLE_BACKEND (backend);
  g_autoptr(MeRead) r = read_key (self, error);
  g_autoptr(GPtrArray) findings = NULL;
  g_autoptr(GError) local = NULL;
  g_autoptr(SmarthostRelay) relay = NULL;
  g_autofree char *server = NULL;
  g_autofree char *username = NULL;
  guint32 enabled = 0, auth = 0, tls = 0;
  gboolean has_password;

  if (r == NULL)
    return NULL;
  findings = g_ptr_array_new_with_free_func (g_object_unref);
  relay = relay_of (r, &local);
  if (local != NULL)
    add_finding (findings, SMARTHOST_SEVERITY_ERROR, "smarthost-unreadable",
                 "set the smart host again (smarthostctl --backend mailenable set-server ...)",
                 "the smart host in the SMTP connector's key cannot be read: %s", local->message);
  if (!number_of (r, "smarthost-enabled", 0, &enabled, NULL) ||
      !string_of (r, "smarthost-server", &server, NULL) ||
      !number_of (r, "smarthost-auth", 0, &auth, NULL) ||
      !string_of (r, "smarthost-username", &username, NULL) ||
      !number_of (r, "outbound-tls", 0, &tls, NULL))
    return g_steal_pointer (&findings);   /* reported above */
  has_password = value_of (r, "smarthost-password") != NULL;
  if (enabled != 0 && (server == NULL || *g_strstrip (server) == '\0'))
    add_finding (findings, SMARTHOST_SEVERITY_ERROR, "enabled-without-server",
                 "set the smart host (set-server), or turn it off (unset-server)",
                 "\"%s\" is on but \"%s\" is empty: MailEnable has nowhere to relay to",
                 name_of (r, "smarthost-enabled"), name_of (r, "smarthost-server"));
  if (relay == NULL)
    return g_steal_pointer (&findings);
  if (auth != 0 && (username == NULL || *username == '\0'))
    add_finding (findings, SMARTHOST_SEVERITY_ERROR, "auth-without-username",
                 "set the smart host again with --user and --password-file",
                 "\"%s\" is on but \"%s\" is empty: the relay will refuse the login",
                 name_of (r, "smarthost-auth"), name_of (r, "smarthost-username"));
  else if (auth != 0 && !has_password)
    add_finding (findings, SMARTHOST_SEVERITY_ERROR, "auth-without-password",
                 "set the smart host again with --password-file",
                 "\"%s\" is on but there is no \"%s\": the relay will refuse the login",
                 name_of (r, "smarthost-auth"), name_of (r, "smarthost-password"));
  if (auth != 0 && tls == 0)
    add_finding (findings, SMARTHOST_SEVERITY_WARNING, "credentials-in-clear",
                 "set the smart host again: the library turns Outbound TLS on with it",
                 "\"%s\" is off: the smart host's user name and password travel in clear, even when the "
                 "relay offers STARTTLS", name_of (r, "outbound-tls"));
  if (auth != 0 && has_password && self->reg_file != NULL && readable_by_others (self->reg_file))
    {
      g_autofree char *shown = _smarthost_quote_path (self->reg_file);

      add_finding (findings, SMARTHOST_SEVERITY_WARNING, "export-readable",
                   "chmod 600 the export (and keep it where only its owner can read it)",
                   "the export %s holds the smart host's password and other users can read it", shown);
    }
  {
    GPtrArray *entries = me_schema_get_entries (r->schema);
    g_autoptr(GString) names = g_string_new (NULL);

    for (guint i = 0; i < entries->len; i++)
      {
        MeSchemaEntry *e = g_ptr_array_index (entries, i);

        if (!e->neighbour && !e->confirmed && e->name != NULL)
          g_string_append_printf (names, "%s\"%s\"", names->len ? ", " : "", e->name);
      }
    if (names->len > 0)
      add_finding (findings, SMARTHOST_SEVERITY_INFO, "schema-unconfirmed", FIX_SCHEMA,
                   "no public source confirms the value names %s: the smart host read from them is the "
                   "library's reading of the key", names->str);
  }
  return g_steal_pointer (&findings);
}

/* --- the backend ------------------------------------------------------------------ */

static const char *
smarthost_mailenable_backend_get_name (SmarthostBackend *backend)
{
  return "mailenable";
}

static SmarthostCapabilities
smarthost_mailenable_backend_get_capabilities (SmarthostBackend *backend)
{
  return SMARTHOST_CAPABILITY_SERVER_RELAY | SMARTHOST_CAPABILITY_PREVIEW | SMARTHOST_CAPABILITY_CRASH_SAFE |
         SMARTHOST_CAPABILITY_RESTART_NEEDED | SMARTHOST_CAPABILITY_DIAGNOSE;
}

/* What MailEnable cannot do is refused, never weakened. */
static gboolean
smarthost_mailenable_backend_validate_relay (SmarthostBackend  *backend,
                                             SmarthostRelay    *relay,
                                             GError           **error)
{
  if (smarthost_relay_get_security (relay) != SMARTHOST_SECURITY_NONE)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED, "security: " REASON_TLS), FALSE;
  if (smarthost_relay_get_ca_file (relay) != NULL)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED, "ca-file: " REASON_CA_FILE), FALSE;
  if (smarthost_relay_get_mx_lookup (relay))
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED, "mx-lookup: " REASON_MX), FALSE;
  return TRUE;
}

/* The patches are files of the library's commits, and recovery rebuilds
 * a file operation from its journal record only for a file inside the
 * directory the journal is in (a journal must not make recovery write
 * elsewhere). So with an output, the journal goes beside the patch: the
 * state directory is the output's directory, or one that holds it. */
static char *
smarthost_mailenable_backend_get_state_directory (SmarthostBackend  *backend,
                                                  GError           **error)
{
  SmarthostMailEnableBackend *self = SMARTHOST_MAILENABLE_BACKEND (backend);
  g_autofree char *output = self->output ? g_canonicalize_filename (self->output, NULL) : NULL;
  g_autofree char *dir = NULL;

  if (self->state_directory == NULL)
    return output ? g_path_get_dirname (output) : smarthost_backend_get_default_state_directory ("mailenable");
  if (!g_path_is_absolute (self->state_directory))
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "state-directory: must be an absolute path"), NULL;
  dir = g_canonicalize_filename (self->state_directory, NULL);
  if (output != NULL && !(g_str_has_prefix (output, dir) &&
                          (G_IS_DIR_SEPARATOR (output[strlen (dir)]) || G_IS_DIR_SEPARATOR (dir[strlen (dir) - 1]))))
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "state-directory: must hold the output (%s), whose commits it journals: an interrupted "
                        "commit is undone only for files inside it; leave it unset to use the output's "
                        "directory", output), NULL;
  return g_steal_pointer (&dir);
}

static GPtrArray *
smarthost_mailenable_backend_list_settings (SmarthostBackend *backend)
{
  GPtrArray *settings = g_ptr_array_new_with_free_func (g_object_unref);

  g_ptr_array_add (settings,
                   smarthost_backend_setting_new ("reg-file", SMARTHOST_SETTING_TYPE_PATH,
                                                  "An export of MailEnable's SMTP connector key (reg export "
                                                  "\"HKLM\\SOFTWARE\\WOW6432Node\\Mail Enable\\Mail Enable\\"
                                                  "Connectors\\SMTP\" FILE) to read instead of the live "
                                                  "registry; any platform", FALSE));
  g_ptr_array_add (settings,
                   smarthost_backend_setting_new ("output", SMARTHOST_SETTING_TYPE_PATH,
                                                  "With reg-file: the .reg patch a change writes, to import on "
                                                  "the server; its undo patch goes beside it (NAME.undo.reg)",
                                                  FALSE));
  g_ptr_array_add (settings,
                   smarthost_backend_setting_new ("schema-file", SMARTHOST_SETTING_TYPE_PATH,
                                                  "A corrected copy of the registry schema (default: the one "
                                                  "built in, installed as " SMARTHOST_DATADIR
                                                  "/mailenable-schema.json)", FALSE));
  g_ptr_array_add (settings,
                   smarthost_backend_setting_new ("state-directory", SMARTHOST_SETTING_TYPE_PATH,
                                                  "Where commits keep their lock and journal (default: with "
                                                  "output, its directory, and it must hold the output; else "
                                                  "/var/lib/libsmarthost/mailenable for root, "
                                                  "$XDG_STATE_HOME/libsmarthost/mailenable otherwise)", FALSE));
  g_ptr_array_add (settings,
                   smarthost_backend_setting_new ("timeout", SMARTHOST_SETTING_TYPE_UINT,
                                                  "Seconds the service may take to stop, and to start again, "
                                                  "after a change (default 60)", FALSE));
  return settings;
}

static void
smarthost_mailenable_backend_iface_init (SmarthostBackendInterface *iface)
{
  iface->get_name = smarthost_mailenable_backend_get_name;
  iface->get_capabilities = smarthost_mailenable_backend_get_capabilities;
  iface->validate_relay = smarthost_mailenable_backend_validate_relay;
  iface->get_server = smarthost_mailenable_backend_get_server;
  iface->get_domain = smarthost_mailenable_backend_get_domain;
  iface->list_domains = smarthost_mailenable_backend_list_domains;
  iface->get_state = smarthost_mailenable_backend_get_state;
  iface->get_state_directory = smarthost_mailenable_backend_get_state_directory;
  iface->build_change = smarthost_mailenable_backend_build_change;
  iface->diagnose = smarthost_mailenable_backend_diagnose;
  iface->list_settings = smarthost_mailenable_backend_list_settings;
}

/* --- schema-check ------------------------------------------------------------------ */


static void
add_finding (GPtrArray         *findings,
             SmarthostSeverity  severity,
             const char        *code,
             const char        *fix,
             const char        *format,
             ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (findings, smarthost_finding_new (severity, code, message, fix));
}

static const char *
type_name (guint32 type)
{
  const char *name = me_reg_type_name (type);

  return name ? name : "another type";
}
static gboolean
looks_related (const char *name)
{
  static const char * const words[] = { "smart", "relay", "auth", "tls", "ssl", "port", "user", "pass", NULL };
  g_autofree char *folded = g_utf8_casefold (name, -1);

  for (guint i = 0; words[i]; i++)
    if (strstr (folded, words[i]) != NULL)
      return TRUE;
  return FALSE;
}

/**
 * smarthost_mailenable_backend_schema_check:
 * @self: a MailEnable backend
 * @export_path: (nullable) (type filename): an export of the SMTP connector
 *   key to check; %NULL for what the backend reads (its reg-file, or the
 *   live registry)
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reports which of the values the schema names the key holds, with the
 * type the schema expects, and which values it holds that the schema does
 * not name but that look related to a smart host — the way to confirm or
 * correct the schema against a real MailEnable server (export its key
 * after setting the smart host in MailEnable's console). Values' data is
 * never shown. Changes nothing.
 *
 * Returns: (transfer container) (element-type SmarthostFinding): the
 *   findings: %SMARTHOST_SEVERITY_WARNING for a value missing or of
 *   another type, %SMARTHOST_SEVERITY_INFO otherwise
 */
GPtrArray *
smarthost_mailenable_backend_schema_check (SmarthostMailEnableBackend  *self,
                                           const char                  *export_path,
                                           GCancellable                *cancellable,
                                           GError                     **error)
{
  g_autoptr(SmarthostMailEnableBackend) other = NULL;
  g_autoptr(MeRead) r = NULL;
  g_autoptr(GPtrArray) findings = g_ptr_array_new_with_free_func (g_object_unref);
  GPtrArray *entries;

  g_return_val_if_fail (SMARTHOST_IS_MAILENABLE_BACKEND (self), NULL);
  /* The key as it is (the export given, the backend's own, or the live
   * registry), without a patch laid over it. */
  other = g_object_new (SMARTHOST_TYPE_MAILENABLE_BACKEND, "reg-file", export_path ? export_path : self->reg_file,
                        "schema-file", self->schema_file, NULL);
  r = read_key (other, error);
  if (r == NULL)
    return NULL;

  entries = me_schema_get_entries (r->schema);
  for (guint i = 0; i < entries->len; i++)
    {
      MeSchemaEntry *e = g_ptr_array_index (entries, i);
      const char *how = e->confirmed ? "confirmed" : "unconfirmed";
      MeRegValue *v = NULL;

      if (e->name == NULL)
        {
          add_finding (findings, SMARTHOST_SEVERITY_INFO, "value-not-checked", "",
                       "%s: the schema keeps the port in the server's value (host:port)", e->key);
          continue;
        }
      for (guint j = 0; j < r->values->len && v == NULL; j++)
        if (me_reg_name_equal (((MeRegValue *) g_ptr_array_index (r->values, j))->name, e->name))
          v = g_ptr_array_index (r->values, j);
      if (v != NULL && v->type == e->type)
        add_finding (findings, SMARTHOST_SEVERITY_INFO, "value-found", "",
                     "\"%s\" (%s, %s; %s): present, of that type%s", e->name, type_name (e->type), e->key, how,
                     e->confirmed ? "" : " (this confirms the name only if MailEnable's console, not this "
                                         "library, set it)");
      else if (v != NULL)
        add_finding (findings, SMARTHOST_SEVERITY_WARNING, "value-type", FIX_SCHEMA,
                     "\"%s\" (%s; %s): present, but of type %s, not %s", e->name, e->key, how,
                     type_name (v->type), type_name (e->type));
      else if (e->neighbour)
        add_finding (findings, SMARTHOST_SEVERITY_INFO, "neighbour-missing", "",
                     "\"%s\" (%s, %s; %s): absent (MailEnable writes it only when it is set)", e->name,
                     type_name (e->type), e->key, how);
      else
        add_finding (findings, SMARTHOST_SEVERITY_WARNING, "value-missing", FIX_SCHEMA,
                     "\"%s\" (%s, %s; %s): absent%s", e->name, type_name (e->type), e->key, how,
                     e->confirmed ? "" : ": if this export has a smart host set, the name is not MailEnable's");
    }
  for (guint j = 0; j < r->values->len; j++)
    {
      MeRegValue *v = g_ptr_array_index (r->values, j);
      gboolean known = FALSE;

      for (guint i = 0; i < entries->len && !known; i++)
        {
          MeSchemaEntry *e = g_ptr_array_index (entries, i);

          known = e->name != NULL && me_reg_name_equal (e->name, v->name);
        }
      if (!known && looks_related (v->name))
        add_finding (findings, SMARTHOST_SEVERITY_INFO, "value-candidate", FIX_SCHEMA,
                     "\"%s\" (%s): not in the schema, and its name looks related to a smart host", v->name,
                     type_name (v->type));
    }
  return g_steal_pointer (&findings);
}

/* --- the object ------------------------------------------------------------------- */

static void
smarthost_mailenable_backend_finalize (GObject *object)
{
  SmarthostMailEnableBackend *self = SMARTHOST_MAILENABLE_BACKEND (object);

  g_free (self->reg_file);
  g_free (self->output);
  g_free (self->schema_file);
  g_free (self->state_directory);
  G_OBJECT_CLASS (smarthost_mailenable_backend_parent_class)->finalize (object);
}

static void
smarthost_mailenable_backend_get_property (GObject    *object,
                                           guint       prop_id,
                                           GValue     *value,
                                           GParamSpec *pspec)
{
  SmarthostMailEnableBackend *self = SMARTHOST_MAILENABLE_BACKEND (object);

  switch (prop_id)
    {
    case PROP_REG_FILE:
      g_value_set_string (value, self->reg_file);
      break;
    case PROP_OUTPUT:
      g_value_set_string (value, self->output);
      break;
    case PROP_SCHEMA_FILE:
      g_value_set_string (value, self->schema_file);
      break;
    case PROP_STATE_DIRECTORY:
      g_value_set_string (value, self->state_directory);
      break;
    case PROP_TIMEOUT:
      g_value_set_uint (value, self->timeout);
      break;
    case PROP_LOCK_TIMEOUT:
      g_value_set_uint (value, self->lock_timeout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
set_path (char        **field,
          const GValue *value)
{
  g_free (*field);
  *field = g_value_dup_string (value);
  /* An empty setting is no setting. */
  if (*field != NULL && **field == '\0')
    g_clear_pointer (field, g_free);
}

static void
smarthost_mailenable_backend_set_property (GObject      *object,
                                           guint         prop_id,
                                           const GValue *value,
                                           GParamSpec   *pspec)
{
  SmarthostMailEnableBackend *self = SMARTHOST_MAILENABLE_BACKEND (object);

  switch (prop_id)
    {
    case PROP_REG_FILE:
      set_path (&self->reg_file, value);
      break;
    case PROP_OUTPUT:
      set_path (&self->output, value);
      break;
    case PROP_SCHEMA_FILE:
      set_path (&self->schema_file, value);
      break;
    case PROP_STATE_DIRECTORY:
      set_path (&self->state_directory, value);
      break;
    case PROP_TIMEOUT:
      self->timeout = g_value_get_uint (value);
      break;
    case PROP_LOCK_TIMEOUT:
      if (self->lock_timeout != g_value_get_uint (value))
        {
          self->lock_timeout = g_value_get_uint (value);
          g_object_notify_by_pspec (object, pspec);
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_mailenable_backend_class_init (SmarthostMailEnableBackendClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags construct = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

  /* Recovery rebuilds value operations from their journal records. */
  g_type_ensure (SMARTHOST_TYPE_MAILENABLE_VALUE_OPERATION);
  _smarthost_backend_set_unsupported_reason (G_TYPE_FROM_CLASS (klass), SMARTHOST_CAPABILITY_DOMAIN_RELAY,
                                             REASON_DOMAINS);
  _smarthost_backend_set_unsupported_reason (G_TYPE_FROM_CLASS (klass), SMARTHOST_CAPABILITY_STARTTLS, REASON_TLS);
  _smarthost_backend_set_unsupported_reason (G_TYPE_FROM_CLASS (klass), SMARTHOST_CAPABILITY_IMPLICIT_TLS,
                                             REASON_TLS);
  _smarthost_backend_set_unsupported_reason (G_TYPE_FROM_CLASS (klass), SMARTHOST_CAPABILITY_CA_FILE, REASON_CA_FILE);
  _smarthost_backend_set_unsupported_reason (G_TYPE_FROM_CLASS (klass), SMARTHOST_CAPABILITY_MX_LOOKUP, REASON_MX);

  object_class->finalize = smarthost_mailenable_backend_finalize;
  object_class->get_property = smarthost_mailenable_backend_get_property;
  object_class->set_property = smarthost_mailenable_backend_set_property;

  /**
   * SmarthostMailEnableBackend:reg-file: (attributes org.gtk.Property.get=smarthost_mailenable_backend_get_reg_file)
   *
   * An export of MailEnable's SMTP connector key (`reg export` or
   * `regedit /E`, UTF-16LE as Windows writes it, or UTF-8) to read instead
   * of the live registry; %NULL for the live registry (Windows only).
   */
  properties[PROP_REG_FILE] = g_param_spec_string ("reg-file", NULL, NULL, NULL, construct);

  /**
   * SmarthostMailEnableBackend:output: (attributes org.gtk.Property.get=smarthost_mailenable_backend_get_output)
   *
   * With [property@MailEnableBackend:reg-file]: the `.reg` patch a change
   * writes (UTF-16LE, as regedit writes), setting or deleting exactly the
   * values that differ from the export; its undo patch goes beside it,
   * named with `.undo` before `.reg`. Both are mode 0600 when they hold a
   * password. Reads see the export with this patch laid over it, when the
   * patch was made from that export.
   */
  properties[PROP_OUTPUT] = g_param_spec_string ("output", NULL, NULL, NULL, construct);

  /**
   * SmarthostMailEnableBackend:schema-file:
   *
   * A schema of the registry values to use instead of the one built in
   * (installed as `$datadir/libsmarthost/mailenable-schema.json`): a
   * corrected copy, after
   * [method@MailEnableBackend.schema_check] found a difference.
   */
  properties[PROP_SCHEMA_FILE] = g_param_spec_string ("schema-file", NULL, NULL, NULL, construct);

  /**
   * SmarthostMailEnableBackend:state-directory:
   *
   * Where commits keep their lock and journal; %NULL for the directory
   * of [property@MailEnableBackend:output] when there is one (an
   * interrupted commit is undone only for files inside the state
   * directory, so it must hold the output), else for
   * [func@Backend.get_default_state_directory] of `mailenable`.
   */
  properties[PROP_STATE_DIRECTORY] = g_param_spec_string ("state-directory", NULL, NULL, NULL, construct);

  /**
   * SmarthostMailEnableBackend:timeout:
   *
   * How long, in seconds, the SMTP service may take to stop, and then to
   * start, when a commit restarts it. Defaults to 60.
   */
  properties[PROP_TIMEOUT] = g_param_spec_uint ("timeout", NULL, NULL, 1, 3600, DEFAULT_TIMEOUT, construct);

  /**
   * SmarthostMailEnableBackend:lock-timeout:
   *
   * How long, in seconds, a commit or a read waits for another commit
   * through the same state directory to end. Defaults to 300.
   */
  properties[PROP_LOCK_TIMEOUT] =
    g_param_spec_uint ("lock-timeout", NULL, NULL, 0, 24 * 3600, SMARTHOST_LOCK_DEFAULT_TIMEOUT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
smarthost_mailenable_backend_init (SmarthostMailEnableBackend *self)
{
  self->timeout = DEFAULT_TIMEOUT;
  self->lock_timeout = SMARTHOST_LOCK_DEFAULT_TIMEOUT;
}

/**
 * smarthost_mailenable_backend_new:
 *
 * Creates a MailEnable backend on the live registry of this machine
 * (Windows only; elsewhere its reads fail with
 * %SMARTHOST_ERROR_NOT_SUPPORTED).
 *
 * Returns: (transfer full): a new backend
 */
SmarthostBackend *
smarthost_mailenable_backend_new (void)
{
  return g_object_new (SMARTHOST_TYPE_MAILENABLE_BACKEND, NULL);
}

/**
 * smarthost_mailenable_backend_new_for_reg_file:
 * @reg_file: (type filename): an export of MailEnable's SMTP connector key
 * @output: (nullable) (type filename): the `.reg` patch a change writes;
 *   %NULL to only read
 *
 * Creates a MailEnable backend that works on an export, on any platform
 * (see [property@MailEnableBackend:reg-file] and
 * [property@MailEnableBackend:output]).
 *
 * Returns: (transfer full): a new backend
 */
SmarthostBackend *
smarthost_mailenable_backend_new_for_reg_file (const char *reg_file,
                                               const char *output)
{
  g_return_val_if_fail (reg_file != NULL, NULL);
  return g_object_new (SMARTHOST_TYPE_MAILENABLE_BACKEND, "reg-file", reg_file, "output", output, NULL);
}

/**
 * smarthost_mailenable_backend_get_reg_file: (get-property reg-file)
 * @self: a MailEnable backend
 *
 * Gets the export the backend reads, if it reads one.
 *
 * Returns: (nullable) (type filename): the export, or %NULL for the live registry
 */
const char *
smarthost_mailenable_backend_get_reg_file (SmarthostMailEnableBackend *self)
{
  g_return_val_if_fail (SMARTHOST_IS_MAILENABLE_BACKEND (self), NULL);
  return self->reg_file;
}

/**
 * smarthost_mailenable_backend_get_output: (get-property output)
 * @self: a MailEnable backend
 *
 * Gets the path of the `.reg` patch a change writes.
 *
 * Returns: (nullable) (type filename): the patch's path
 */
const char *
smarthost_mailenable_backend_get_output (SmarthostMailEnableBackend *self)
{
  g_return_val_if_fail (SMARTHOST_IS_MAILENABLE_BACKEND (self), NULL);
  return self->output;
}
