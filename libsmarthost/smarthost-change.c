/* smarthost-change.c: what a backend is asked to make, and what it makes of it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "smarthost-error.h"
#include "smarthost-change.h"
#include "smarthost-change-private.h"
#include "smarthost-operation-private.h"
#include "smarthost-files-private.h"
#include "smarthost-private.h"
#include "smarthost-util-private.h"

/**
 * SmarthostChange:
 *
 * The public contract between the core and a backend: what a commit (or its
 * dry run) asks for, and the operations the backend makes of it.
 *
 * The core creates a change from a [class@Transaction] and hands it to the
 * backend's [vfunc@Backend.build_change] under the lock, after recovering
 * any interrupted commit. The backend reads the mail server's current
 * state itself, compares it with what is asked:
 *
 * - [method@Change.get_server]: whether the server-wide relay is to change,
 *   and to what (%NULL: none);
 * - [method@Change.get_domains]: the domains to change, each with its
 *   relay, or with %NULL to remove it;
 * - [property@Change:replace-domains]: every other domain loses its relay;
 * - [property@Change:adopting]: a hand-made setup is to be taken over;
 * - [property@Change:reload]: the mail server is to be told;
 * - [property@Change:dry-run]: nothing will be carried out (a preview);
 *
 * and adds the operations that make the difference
 * ([method@Change.add_operation]), notes for the preview, and the secrets
 * no message may show. A backend that needs the whole desired state gets
 * it from [method@Change.apply_to]. The core then checks, journals and
 * carries out the operations all or nothing (see [class@Operation]).
 */
struct _SmarthostChange
{
  GObject parent_instance;

  gboolean server_staged;
  SmarthostRelay *server;
  GHashTable *domains;          /* normalized domain -> relay, or NULL to remove */
  gboolean replace_domains;
  gboolean adopting;
  gboolean reload;
  gboolean dry_run;

  GPtrArray *operations;
  GPtrArray *notes;
  GPtrArray *secrets;           /* owned */
  GPtrArray *borrowed_secrets;  /* owned by the relays of the change */
  GPtrArray *all_secrets;       /* both, built when needed */

  gboolean adopted_set;
  SmarthostRelay *adopted_server;
  GPtrArray *adopted_domains;
};

G_DEFINE_FINAL_TYPE (SmarthostChange, smarthost_change, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_REPLACE_DOMAINS,
  PROP_ADOPTING,
  PROP_RELOAD,
  PROP_DRY_RUN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
unref_if_set (gpointer data)
{
  if (data != NULL)
    g_object_unref (data);
}

static void
smarthost_change_finalize (GObject *object)
{
  SmarthostChange *self = SMARTHOST_CHANGE (object);

  g_clear_object (&self->server);
  g_hash_table_unref (self->domains);
  g_ptr_array_unref (self->operations);
  g_ptr_array_unref (self->notes);
  g_ptr_array_unref (self->secrets);
  g_ptr_array_unref (self->borrowed_secrets);
  g_clear_pointer (&self->all_secrets, g_ptr_array_unref);
  g_clear_object (&self->adopted_server);
  g_clear_pointer (&self->adopted_domains, g_ptr_array_unref);
  G_OBJECT_CLASS (smarthost_change_parent_class)->finalize (object);
}

static void
smarthost_change_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  SmarthostChange *self = SMARTHOST_CHANGE (object);

  switch (prop_id)
    {
    case PROP_REPLACE_DOMAINS:
      g_value_set_boolean (value, self->replace_domains);
      break;
    case PROP_ADOPTING:
      g_value_set_boolean (value, self->adopting);
      break;
    case PROP_RELOAD:
      g_value_set_boolean (value, self->reload);
      break;
    case PROP_DRY_RUN:
      g_value_set_boolean (value, self->dry_run);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_change_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  SmarthostChange *self = SMARTHOST_CHANGE (object);

  switch (prop_id)
    {
    case PROP_REPLACE_DOMAINS:
      smarthost_change_set_replace_domains (self, g_value_get_boolean (value));
      break;
    case PROP_ADOPTING:
      smarthost_change_set_adopting (self, g_value_get_boolean (value));
      break;
    case PROP_RELOAD:
      smarthost_change_set_reload (self, g_value_get_boolean (value));
      break;
    case PROP_DRY_RUN:
      smarthost_change_set_dry_run (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_change_class_init (SmarthostChangeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = smarthost_change_finalize;
  object_class->get_property = smarthost_change_get_property;
  object_class->set_property = smarthost_change_set_property;

  /**
   * SmarthostChange:replace-domains: (attributes org.gtk.Property.get=smarthost_change_get_replace_domains org.gtk.Property.set=smarthost_change_set_replace_domains)
   *
   * Whether domains the change does not name lose their relay.
   */
  properties[PROP_REPLACE_DOMAINS] =
    g_param_spec_boolean ("replace-domains", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * SmarthostChange:adopting: (attributes org.gtk.Property.get=smarthost_change_get_adopting org.gtk.Property.set=smarthost_change_set_adopting)
   *
   * Whether a hand-made setup is taken over first (see
   * [method@Transaction.adopt]); the backend reports what it took over
   * with [method@Change.set_adopted].
   */
  properties[PROP_ADOPTING] =
    g_param_spec_boolean ("adopting", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * SmarthostChange:reload: (attributes org.gtk.Property.get=smarthost_change_get_reload org.gtk.Property.set=smarthost_change_set_reload)
   *
   * Whether the mail server is told of the change (reloaded, restarted).
   */
  properties[PROP_RELOAD] =
    g_param_spec_boolean ("reload", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * SmarthostChange:dry-run: (attributes org.gtk.Property.get=smarthost_change_get_dry_run org.gtk.Property.set=smarthost_change_set_dry_run)
   *
   * Whether the operations are only previewed: the backend must then
   * change nothing, not even to finish an interrupted commit, while it
   * builds them.
   */
  properties[PROP_DRY_RUN] =
    g_param_spec_boolean ("dry-run", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
smarthost_change_init (SmarthostChange *self)
{
  self->domains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, unref_if_set);
  self->reload = TRUE;
  self->operations = g_ptr_array_new_with_free_func (g_object_unref);
  self->notes = g_ptr_array_new_with_free_func (g_free);
  self->secrets = g_ptr_array_new_with_free_func ((GDestroyNotify) _smarthost_secret_free);
  self->borrowed_secrets = g_ptr_array_new ();
}

/**
 * smarthost_change_new:
 *
 * Creates an empty change. The core makes them from transactions; tests and
 * tools that drive a backend's [vfunc@Backend.build_change] directly make
 * their own.
 *
 * Returns: (transfer full): a new change
 */
SmarthostChange *
smarthost_change_new (void)
{
  return g_object_new (SMARTHOST_TYPE_CHANGE, NULL);
}

/**
 * smarthost_change_get_server:
 * @self: a change
 * @relay: (out) (transfer none) (optional) (nullable): the relay the
 *   server is to use, %NULL for none
 *
 * Tells whether the change sets (or removes) the server-wide relay.
 *
 * Returns: %TRUE if it does; %FALSE when the server keeps its relay
 */
gboolean
smarthost_change_get_server (SmarthostChange  *self,
                             SmarthostRelay  **relay)
{
  g_return_val_if_fail (SMARTHOST_IS_CHANGE (self), FALSE);
  if (relay != NULL)
    *relay = self->server;
  return self->server_staged;
}

/**
 * smarthost_change_set_server:
 * @self: a change
 * @relay: (nullable): the relay, or %NULL to remove the server's
 *
 * Makes the change set (or remove) the server-wide relay.
 */
void
smarthost_change_set_server (SmarthostChange *self,
                             SmarthostRelay  *relay)
{
  g_return_if_fail (SMARTHOST_IS_CHANGE (self));
  g_return_if_fail (relay == NULL || SMARTHOST_IS_RELAY (relay));
  g_set_object (&self->server, relay);
  self->server_staged = TRUE;
  g_clear_pointer (&self->all_secrets, g_ptr_array_unref);
}

/**
 * smarthost_change_get_domains:
 * @self: a change
 *
 * Gets the domains the change names: each normalized (lower case, no
 * trailing dot) with its relay, or with %NULL when it loses its relay.
 *
 * Returns: (transfer none) (element-type utf8 SmarthostRelay): the domains
 */
GHashTable *
smarthost_change_get_domains (SmarthostChange *self)
{
  g_return_val_if_fail (SMARTHOST_IS_CHANGE (self), NULL);
  return self->domains;
}

/**
 * smarthost_change_set_domain:
 * @self: a change
 * @domain: a domain, normalized
 * @relay: (nullable): its relay, or %NULL to remove it
 *
 * Makes the change set (or remove) a domain's relay.
 */
void
smarthost_change_set_domain (SmarthostChange *self,
                             const char      *domain,
                             SmarthostRelay  *relay)
{
  g_return_if_fail (SMARTHOST_IS_CHANGE (self));
  g_return_if_fail (domain != NULL);
  g_return_if_fail (relay == NULL || SMARTHOST_IS_RELAY (relay));
  g_hash_table_replace (self->domains, g_strdup (domain), relay ? g_object_ref (relay) : NULL);
  g_clear_pointer (&self->all_secrets, g_ptr_array_unref);
}

/* The transaction's own table, shared rather than copied (a change of
 * 100,000 domains). */
void
_smarthost_change_set_domains_table (SmarthostChange *self,
                                     GHashTable      *domains)
{
  g_hash_table_unref (self->domains);
  self->domains = g_hash_table_ref (domains);
  g_clear_pointer (&self->all_secrets, g_ptr_array_unref);
}

/* @relay, or when it keeps its stored password (password-set, none
 * given), a copy with the password of @current. */
static SmarthostRelay *
relay_with_kept_password (SmarthostRelay *relay,
                          SmarthostRelay *current)
{
  SmarthostRelay *copy;

  if (relay == NULL)
    return NULL;
  if (!_smarthost_relay_keeps_password (relay) || current == NULL ||
      smarthost_relay_get_password (current) == NULL)
    return g_object_ref (relay);
  copy = smarthost_relay_copy (relay);
  smarthost_relay_set_password (copy, smarthost_relay_get_password (current));
  return copy;
}

#define DEFINE_FLAG(name, field, PROP)                                   \
gboolean                                                                  \
smarthost_change_get_##name (SmarthostChange *self)                      \
{                                                                         \
  g_return_val_if_fail (SMARTHOST_IS_CHANGE (self), FALSE);               \
  return self->field;                                                     \
}                                                                         \
                                                                          \
void                                                                      \
smarthost_change_set_##name (SmarthostChange *self,                      \
                             gboolean         value)                     \
{                                                                         \
  g_return_if_fail (SMARTHOST_IS_CHANGE (self));                          \
  value = !!value;                                                        \
  if (self->field != value)                                               \
    {                                                                     \
      self->field = value;                                                \
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP]);       \
    }                                                                     \
}

/**
 * smarthost_change_get_replace_domains: (get-property replace-domains)
 * @self: a change
 *
 * Tells whether domains the change does not name lose their relay.
 *
 * Returns: %TRUE if they do
 */
/**
 * smarthost_change_set_replace_domains: (set-property replace-domains)
 * @self: a change
 * @replace_domains: whether the domains named are all
 *
 * Sets [property@Change:replace-domains].
 */
DEFINE_FLAG (replace_domains, replace_domains, PROP_REPLACE_DOMAINS)

/**
 * smarthost_change_get_adopting: (get-property adopting)
 * @self: a change
 *
 * Tells whether a hand-made setup is taken over first.
 *
 * Returns: %TRUE if it is
 */
/**
 * smarthost_change_set_adopting: (set-property adopting)
 * @self: a change
 * @adopting: whether to take a hand-made setup over
 *
 * Sets [property@Change:adopting].
 */
DEFINE_FLAG (adopting, adopting, PROP_ADOPTING)

/**
 * smarthost_change_get_reload: (get-property reload)
 * @self: a change
 *
 * Tells whether the mail server is told of the change.
 *
 * Returns: %TRUE if it is
 */
/**
 * smarthost_change_set_reload: (set-property reload)
 * @self: a change
 * @reload: whether to tell the mail server
 *
 * Sets [property@Change:reload].
 */
DEFINE_FLAG (reload, reload, PROP_RELOAD)

/**
 * smarthost_change_get_dry_run: (get-property dry-run)
 * @self: a change
 *
 * Tells whether the change is only previewed.
 *
 * Returns: %TRUE for a dry run
 */
/**
 * smarthost_change_set_dry_run: (set-property dry-run)
 * @self: a change
 * @dry_run: whether the change is only previewed
 *
 * Sets [property@Change:dry-run].
 */
DEFINE_FLAG (dry_run, dry_run, PROP_DRY_RUN)

/**
 * smarthost_change_apply_to:
 * @self: a change
 * @current: the mail server's state now
 *
 * Computes the state the change asks for, from @current: the server-wide
 * relay replaced if the change sets it, the domains it names set or
 * removed, and with [property@Change:replace-domains] every other domain
 * removed. Relays that keep their stored password
 * ([method@Relay.get_password_set] without a password) get the one of
 * @current for the same server or domain.
 *
 * Adoption is the backend's own: a backend that adopts applies it to
 * @current first.
 *
 * Returns: (transfer full): the desired state
 */
SmarthostState *
smarthost_change_apply_to (SmarthostChange *self,
                           SmarthostState  *current)
{
  g_autoptr(SmarthostState) desired = smarthost_state_new ();
  g_auto(GStrv) names = NULL;
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (SMARTHOST_IS_CHANGE (self), NULL);
  g_return_val_if_fail (SMARTHOST_IS_STATE (current), NULL);

  smarthost_state_set_backend_name (desired, smarthost_state_get_backend_name (current));
  if (self->server_staged)
    {
      g_autoptr(SmarthostRelay) server = relay_with_kept_password (self->server,
                                                                             smarthost_state_get_server (current));
      smarthost_state_set_server (desired, server);
    }
  else
    smarthost_state_set_server (desired, smarthost_state_get_server (current));

  if (!self->replace_domains)
    {
      names = smarthost_state_list_domains (current);
      for (guint i = 0; names[i]; i++)
        if (!g_hash_table_contains (self->domains, names[i]))
          smarthost_state_set_domain (desired, names[i], smarthost_state_get_domain (current, names[i]), NULL);
    }
  g_hash_table_iter_init (&iter, self->domains);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (value != NULL)
      {
        g_autoptr(SmarthostRelay) relay =
          relay_with_kept_password (value, smarthost_state_get_domain (current, key));
        smarthost_state_set_domain (desired, key, relay, NULL);
      }
  return g_steal_pointer (&desired);
}

/**
 * smarthost_change_add_operation:
 * @self: a change
 * @operation: the next operation
 *
 * Adds an operation, carried out after the ones added before it (see
 * [class@Operation] for the order of phases).
 */
void
smarthost_change_add_operation (SmarthostChange    *self,
                                SmarthostOperation *operation)
{
  g_return_if_fail (SMARTHOST_IS_CHANGE (self));
  g_return_if_fail (SMARTHOST_IS_OPERATION (operation));
  g_ptr_array_add (self->operations, g_object_ref (operation));
}

/**
 * smarthost_change_get_operations:
 * @self: a change
 *
 * Gets the operations the backend made of the change.
 *
 * Returns: (transfer none) (element-type SmarthostOperation): the operations
 */
GPtrArray *
smarthost_change_get_operations (SmarthostChange *self)
{
  g_return_val_if_fail (SMARTHOST_IS_CHANGE (self), NULL);
  return self->operations;
}

/* Whether the change changes anything: an operation that is not a
 * command, and not a directory that is there already. */
gboolean
_smarthost_change_has_changes (SmarthostChange *self)
{
  for (guint i = 0; i < self->operations->len; i++)
    {
      SmarthostOperation *op = g_ptr_array_index (self->operations, i);

      if (!SMARTHOST_OPERATION_GET_CLASS (op)->after_changes && !SMARTHOST_IS_DIRECTORY_OPERATION (op))
        return TRUE;
    }
  return FALSE;
}

/**
 * smarthost_change_add_note:
 * @self: a change
 * @note: a sentence for the preview, such as a duplicate setting resolved
 *
 * Adds a note; previews show it as a line `# note: ...`.
 */
void
smarthost_change_add_note (SmarthostChange *self,
                           const char      *note)
{
  g_return_if_fail (SMARTHOST_IS_CHANGE (self));
  g_return_if_fail (note != NULL);
  g_ptr_array_add (self->notes, g_strdup (note));
}

/**
 * smarthost_change_add_secret:
 * @self: a change
 * @secret: (nullable): a password or other secret
 *
 * Adds a secret that no preview or error message may show. The passwords
 * of the relays the change names are known already.
 */
void
smarthost_change_add_secret (SmarthostChange *self,
                             const char      *secret)
{
  g_return_if_fail (SMARTHOST_IS_CHANGE (self));
  if (secret != NULL && *secret != '\0')
    {
      g_ptr_array_add (self->secrets, g_strdup (secret));
      g_clear_pointer (&self->all_secrets, g_ptr_array_unref);
    }
}

/* The same for a secret the caller keeps alive as long as the change. */
void
_smarthost_change_add_secret_borrowed (SmarthostChange *self,
                                       const char      *secret)
{
  if (secret != NULL && *secret != '\0')
    {
      g_ptr_array_add (self->borrowed_secrets, (gpointer) secret);
      g_clear_pointer (&self->all_secrets, g_ptr_array_unref);
    }
}

static void
add_relay_secret (GPtrArray      *all,
                  SmarthostRelay *relay)
{
  const char *password = relay ? smarthost_relay_get_password (relay) : NULL;

  if (password != NULL && *password != '\0')
    g_ptr_array_add (all, (gpointer) password);
}

/* Every secret of the change, for masking (previews, errors). */
GPtrArray *
_smarthost_change_get_secrets (SmarthostChange *self)
{
  GHashTableIter iter;
  gpointer value;

  if (self->all_secrets != NULL)
    return self->all_secrets;
  self->all_secrets = g_ptr_array_sized_new (self->secrets->len + self->borrowed_secrets->len);
  for (guint i = 0; i < self->secrets->len; i++)
    g_ptr_array_add (self->all_secrets, g_ptr_array_index (self->secrets, i));
  for (guint i = 0; i < self->borrowed_secrets->len; i++)
    g_ptr_array_add (self->all_secrets, g_ptr_array_index (self->borrowed_secrets, i));
  add_relay_secret (self->all_secrets, self->server);
  g_hash_table_iter_init (&iter, self->domains);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    add_relay_secret (self->all_secrets, value);
  return self->all_secrets;
}

/**
 * smarthost_change_set_adopted:
 * @self: a change
 * @server: (nullable): the server-wide relay taken over, or %NULL
 * @domains: (nullable) (array zero-terminated=1): the domains taken over,
 *   in the order the backend took them
 *
 * Reports what adoption took over; the transaction makes it available as
 * [method@Transaction.get_adopted_server] and
 * [method@Transaction.get_adopted_domains].
 */
void
smarthost_change_set_adopted (SmarthostChange    *self,
                              SmarthostRelay     *server,
                              const char * const *domains)
{
  g_return_if_fail (SMARTHOST_IS_CHANGE (self));
  g_return_if_fail (server == NULL || SMARTHOST_IS_RELAY (server));
  self->adopted_set = TRUE;
  g_set_object (&self->adopted_server, server);
  g_clear_pointer (&self->adopted_domains, g_ptr_array_unref);
  self->adopted_domains = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; domains != NULL && domains[i]; i++)
    g_ptr_array_add (self->adopted_domains, g_strdup (domains[i]));
  g_ptr_array_add (self->adopted_domains, NULL);
}

/* What set_adopted reported; FALSE when it was not called. */
gboolean
_smarthost_change_get_adopted (SmarthostChange      *self,
                               SmarthostRelay      **server,
                               const char * const  **domains)
{
  *server = self->adopted_server;
  *domains = self->adopted_domains ? (const char * const *) self->adopted_domains->pdata : NULL;
  return self->adopted_set;
}

/**
 * smarthost_change_to_preview:
 * @self: a change
 *
 * Describes the operations the backend made of the change, as
 * [method@Transaction.preview] shows them: what each changes (a unified
 * diff for a file, one line starting with `# ` for anything else), then
 * the notes, then what runs once the changes are in place; `# no change`
 * when there is nothing. Every secret of the change is masked.
 *
 * Returns: (transfer full): the preview
 */
char *
smarthost_change_to_preview (SmarthostChange *self)
{
  g_return_val_if_fail (SMARTHOST_IS_CHANGE (self), NULL);
  return _smarthost_operations_preview (self->operations, self->notes, _smarthost_change_get_secrets (self));
}
