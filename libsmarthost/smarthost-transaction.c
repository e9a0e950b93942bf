/* smarthost-transaction.c: a set of changes applied all-or-nothing
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "smarthost-backend-private.h"
#include "smarthost-error.h"
#include "smarthost-policy.h"
#include "smarthost-change-private.h"
#include "smarthost-private.h"
#include "smarthost-state.h"
#include "smarthost-transaction.h"

/**
 * SmarthostTransaction:
 *
 * Changes to a backend's smarthosts, staged, previewed and committed
 * together.
 *
 * Staging ([method@Transaction.set_server], [method@Transaction.set_domain])
 * checks each change at once and touches nothing: a bad relay is refused
 * with %SMARTHOST_ERROR_INVALID naming the field. Staging the same domain
 * twice keeps the last change.
 *
 * [method@Transaction.preview] returns the unified diff of every file the
 * commit would change, secrets masked as [const@PASSWORD_MASK], followed by
 * notes and the commands it would run.
 *
 * [method@Transaction.commit] applies everything or nothing. The commit is
 * locked against other commits, writes each new file beside the old one,
 * moves them into place, validates the result and reloads the mail server;
 * if any step fails every file is restored and the error names the step.
 * Any number of domain changes costs one rewrite of each file. A commit
 * that changes nothing writes nothing and reloads nothing
 * ([method@Transaction.get_changed] tells which happened).
 *
 * A transaction can also stage a whole [class@State]
 * ([method@Transaction.set_state]): with [property@Transaction:replace-domains]
 * set, domains it does not stage lose their relay, so the commit leaves
 * exactly that state, whatever was configured before.
 *
 * A transaction is committed once; begin a new one for further changes.
 */

struct _SmarthostTransaction
{
  GObject parent_instance;

  SmarthostBackend *backend;
  gboolean server_staged;
  SmarthostRelay *server;       /* NULL: remove */
  GHashTable *domains;          /* normalized domain -> relay, or NULL: remove */
  gboolean reload;
  SmarthostPolicy *policy;      /* NULL: the system's, loaded when needed */
  gboolean adopt;
  gboolean replace_domains;
  gboolean committed;
  gboolean changed;
  gboolean would_change;
  gint busy;
  /* What the last preview or commit adopted, set by the backend. */
  SmarthostRelay *adopted_server;
  GPtrArray *adopted_domains;   /* char *, in the order adopted */
};

G_DEFINE_FINAL_TYPE (SmarthostTransaction, smarthost_transaction, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_BACKEND,
  PROP_RELOAD,
  PROP_POLICY,
  PROP_ADOPTING,
  PROP_REPLACE_DOMAINS,
  PROP_CHANGED,
  PROP_WOULD_CHANGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
smarthost_transaction_finalize (GObject *object)
{
  SmarthostTransaction *self = SMARTHOST_TRANSACTION (object);

  g_clear_object (&self->backend);
  g_clear_object (&self->server);
  g_clear_object (&self->policy);
  g_hash_table_unref (self->domains);
  g_clear_object (&self->adopted_server);
  g_clear_pointer (&self->adopted_domains, g_ptr_array_unref);

  G_OBJECT_CLASS (smarthost_transaction_parent_class)->finalize (object);
}

static void
smarthost_transaction_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  SmarthostTransaction *self = SMARTHOST_TRANSACTION (object);

  switch (prop_id)
    {
    case PROP_BACKEND:
      g_value_set_object (value, self->backend);
      break;
    case PROP_RELOAD:
      g_value_set_boolean (value, self->reload);
      break;
    case PROP_POLICY:
      g_value_set_object (value, self->policy);
      break;
    case PROP_ADOPTING:
      g_value_set_boolean (value, self->adopt);
      break;
    case PROP_REPLACE_DOMAINS:
      g_value_set_boolean (value, self->replace_domains);
      break;
    case PROP_CHANGED:
      g_value_set_boolean (value, self->changed);
      break;
    case PROP_WOULD_CHANGE:
      g_value_set_boolean (value, smarthost_transaction_get_would_change (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_transaction_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  SmarthostTransaction *self = SMARTHOST_TRANSACTION (object);

  switch (prop_id)
    {
    case PROP_BACKEND:
      self->backend = g_value_dup_object (value);
      break;
    case PROP_RELOAD:
      smarthost_transaction_set_reload (self, g_value_get_boolean (value));
      break;
    case PROP_POLICY:
      smarthost_transaction_set_policy (self, g_value_get_object (value));
      break;
    case PROP_REPLACE_DOMAINS:
      smarthost_transaction_set_replace_domains (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_transaction_constructed (GObject *object)
{
  SmarthostTransaction *self = SMARTHOST_TRANSACTION (object);

  G_OBJECT_CLASS (smarthost_transaction_parent_class)->constructed (object);
  if (self->backend == NULL)
    g_critical ("A SmarthostTransaction needs a backend: create it with smarthost_backend_begin()");
}

static void
smarthost_transaction_class_init (SmarthostTransactionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = smarthost_transaction_finalize;
  object_class->constructed = smarthost_transaction_constructed;
  object_class->get_property = smarthost_transaction_get_property;
  object_class->set_property = smarthost_transaction_set_property;

  /**
   * SmarthostTransaction:backend: (attributes org.gtk.Property.get=smarthost_transaction_get_backend)
   *
   * The backend the changes are for.
   */
  properties[PROP_BACKEND] =
    g_param_spec_object ("backend", NULL, NULL, SMARTHOST_TYPE_BACKEND,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostTransaction:reload: (attributes org.gtk.Property.get=smarthost_transaction_get_reload org.gtk.Property.set=smarthost_transaction_set_reload)
   *
   * Whether a commit that changed the mail server's configuration reloads
   * the running mail server. A mail server that is not running is never
   * started.
   */
  properties[PROP_RELOAD] =
    g_param_spec_boolean ("reload", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostTransaction:policy: (attributes org.gtk.Property.get=smarthost_transaction_get_policy org.gtk.Property.set=smarthost_transaction_set_policy)
   *
   * The administrator's policy the changes must obey; %NULL for the
   * system's ([func@Policy.load_default]), read when the first change is
   * staged.
   */
  properties[PROP_POLICY] =
    g_param_spec_object ("policy", NULL, NULL, SMARTHOST_TYPE_POLICY,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostTransaction:adopting: (attributes org.gtk.Property.get=smarthost_transaction_get_adopt)
   *
   * Whether the commit takes a smarthost configuration made by hand under
   * the library's management, keeping the mail flowing exactly as before.
   * The preview says which settings are taken over, which are kept as they
   * are, and the commit fails with %SMARTHOST_ERROR_CONFLICT when a setting
   * cannot be taken over safely. Set it with [method@Transaction.adopt].
   *
   * The property is not called "adopt": a property of the method's name
   * would hide the method in GJS, and introspection would take the method,
   * which stages a change, for the property's getter.
   */
  properties[PROP_ADOPTING] =
    g_param_spec_boolean ("adopting", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostTransaction:replace-domains: (attributes org.gtk.Property.get=smarthost_transaction_get_replace_domains org.gtk.Property.set=smarthost_transaction_set_replace_domains)
   *
   * Whether the staged domains are the complete set: with it, every domain
   * the transaction does not stage loses its relay (and takes the
   * server-wide one). The backend applies it when it computes the change,
   * under the commit's lock, so a domain added meanwhile by someone else is
   * removed too. [method@Transaction.set_state] sets it.
   */
  properties[PROP_REPLACE_DOMAINS] =
    g_param_spec_boolean ("replace-domains", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostTransaction:changed: (attributes org.gtk.Property.get=smarthost_transaction_get_changed)
   *
   * Whether the commit changed anything. %FALSE until committed.
   */
  properties[PROP_CHANGED] =
    g_param_spec_boolean ("changed", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostTransaction:would-change: (attributes org.gtk.Property.get=smarthost_transaction_get_would_change)
   *
   * Whether committing would change anything, as the last preview found;
   * %FALSE while nothing is staged, %TRUE after a change is staged and
   * before the next preview.
   */
  properties[PROP_WOULD_CHANGE] =
    g_param_spec_boolean ("would-change", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
unref_if_set (gpointer object)
{
  if (object != NULL)
    g_object_unref (object);
}

static void
smarthost_transaction_init (SmarthostTransaction *self)
{
  self->reload = TRUE;
  self->would_change = TRUE;
  self->domains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, unref_if_set);
}

SmarthostTransaction *
_smarthost_transaction_new (SmarthostBackend *backend)
{
  return g_object_new (SMARTHOST_TYPE_TRANSACTION, "backend", backend, NULL);
}

/* Whether the server relay is staged; *relay is then the relay or NULL to
 * remove it. */
gboolean
_smarthost_transaction_get_server (SmarthostTransaction  *self,
                                   SmarthostRelay       **relay)
{
  *relay = self->server;
  return self->server_staged;
}

/* Normalized domain -> relay, or NULL for "remove". */
GHashTable *
_smarthost_transaction_get_domains (SmarthostTransaction *self)
{
  return self->domains;
}

/* Backends say, when they compute a preview, whether it changes anything. */
void
_smarthost_transaction_set_would_change (SmarthostTransaction *self,
                                         gboolean              would_change)
{
  self->would_change = !!would_change;
}

/**
 * smarthost_transaction_get_backend: (get-property backend)
 * @self: a transaction
 *
 * Gets the backend the transaction was begun on.
 *
 * Returns: (transfer none): the backend the changes are for
 */
SmarthostBackend *
smarthost_transaction_get_backend (SmarthostTransaction *self)
{
  g_return_val_if_fail (SMARTHOST_IS_TRANSACTION (self), NULL);
  return self->backend;
}

/* Whether anything is staged at all: a relay, a removal, adoption, or
 * "the staged domains are all" (which, with none staged, removes them all). */
static gboolean
has_staged_changes (SmarthostTransaction *self)
{
  return self->server_staged || g_hash_table_size (self->domains) > 0 ||
         self->adopt || self->replace_domains;
}

static gboolean
check_policy (SmarthostTransaction  *self,
              gboolean               for_domain,
              GError               **error)
{
  if (self->policy == NULL)
    {
      self->policy = smarthost_policy_load_default (error);
      if (self->policy == NULL)
        return FALSE;
    }
  return smarthost_policy_check_change (self->policy, for_domain, error);
}

/* What the backend cannot do is refused by name, before anything is read:
 * when staged (adoption) and again before a preview or a commit, so that no
 * backend is handed a change it does not declare it can make. */
static gboolean
check_adoptable (SmarthostTransaction  *self,
                 gboolean               adopting,
                 GError               **error)
{
  if (adopting && !(smarthost_backend_get_capabilities (self->backend) & SMARTHOST_CAPABILITY_ADOPT))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED,
                   "adopt: the %s backend cannot take a hand-made setup over; "
                   "set the smarthosts with set_server and set_domain instead",
                   smarthost_backend_get_name (self->backend));
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_stageable (SmarthostTransaction  *self,
                 GError               **error)
{
  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self->backend), FALSE);

  if (g_atomic_int_get (&self->busy))
    {
      g_set_error_literal (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                           "the transaction is being committed; wait for the commit to finish");
      return FALSE;
    }
  if (self->committed)
    {
      g_set_error_literal (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                           "the transaction was already committed; begin a new one");
      return FALSE;
    }
  /* What a preview said no longer holds once something more is staged. */
  self->would_change = TRUE;
  return TRUE;
}

/**
 * smarthost_transaction_set_server:
 * @self: a transaction
 * @relay: (nullable): the server-wide relay, or %NULL to remove it
 * @error: return location for a #GError
 *
 * Stages the server-wide relay. The relay is checked and copied now: later
 * changes to @relay do not affect the transaction.
 *
 * Returns: %TRUE if the change was staged; otherwise @error says why
 *   (%SMARTHOST_ERROR_INVALID naming the field,
 *   %SMARTHOST_ERROR_NOT_SUPPORTED, or %SMARTHOST_ERROR_DISABLED naming the
 *   policy key)
 */
gboolean
smarthost_transaction_set_server (SmarthostTransaction  *self,
                                  SmarthostRelay        *relay,
                                  GError               **error)
{
  g_return_val_if_fail (SMARTHOST_IS_TRANSACTION (self), FALSE);
  g_return_val_if_fail (relay == NULL || SMARTHOST_IS_RELAY (relay), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_stageable (self, error) ||
      !check_policy (self, FALSE, error) ||
      !_smarthost_backend_check_relay (self->backend, relay, FALSE, error))
    return FALSE;

  g_clear_object (&self->server);
  self->server = relay ? smarthost_relay_copy (relay) : NULL;
  self->server_staged = TRUE;
  return TRUE;
}

/**
 * smarthost_transaction_set_domain:
 * @self: a transaction
 * @domain: a sender domain, such as `example.com`
 * @relay: (nullable): the domain's relay, or %NULL to return the domain to
 *   the server-wide relay
 * @error: return location for a #GError
 *
 * Stages a domain's relay. Mail whose envelope sender is in @domain goes
 * through this relay instead of the server-wide one. The domain is
 * normalized ([func@domain_normalize]); the relay is checked and copied now.
 *
 * Returns: %TRUE if the change was staged; otherwise @error says why
 */
gboolean
smarthost_transaction_set_domain (SmarthostTransaction  *self,
                                  const char            *domain,
                                  SmarthostRelay        *relay,
                                  GError               **error)
{
  g_autofree char *normalized = NULL;

  g_return_val_if_fail (SMARTHOST_IS_TRANSACTION (self), FALSE);
  g_return_val_if_fail (relay == NULL || SMARTHOST_IS_RELAY (relay), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_stageable (self, error) || !check_policy (self, TRUE, error))
    return FALSE;
  normalized = smarthost_domain_normalize (domain, error);
  if (normalized == NULL)
    return FALSE;
  if (!_smarthost_backend_check_relay (self->backend, relay, TRUE, error))
    return FALSE;

  g_hash_table_replace (self->domains, g_steal_pointer (&normalized),
                        relay ? smarthost_relay_copy (relay) : NULL);
  return TRUE;
}

/**
 * smarthost_transaction_get_n_changes:
 * @self: a transaction
 *
 * Counts the changes staged so far.
 *
 * Returns: how many changes are staged (the server relay counts as one,
 *   each domain as one)
 */
guint
smarthost_transaction_get_n_changes (SmarthostTransaction *self)
{
  g_return_val_if_fail (SMARTHOST_IS_TRANSACTION (self), 0);
  return (self->server_staged ? 1 : 0) + g_hash_table_size (self->domains);
}

/**
 * smarthost_transaction_get_reload: (get-property reload)
 * @self: a transaction
 *
 * Gets whether the commit reloads the running mail server.
 *
 * Returns: whether the commit reloads the running mail server
 */
gboolean
smarthost_transaction_get_reload (SmarthostTransaction *self)
{
  g_return_val_if_fail (SMARTHOST_IS_TRANSACTION (self), TRUE);
  return self->reload;
}

/**
 * smarthost_transaction_set_reload: (set-property reload)
 * @self: a transaction
 * @reload: whether to reload the running mail server after the commit
 *
 * Sets whether the commit reloads the running mail server. Turn it off to
 * reload later yourself, for example after several tools have made their
 * changes.
 */
void
smarthost_transaction_set_reload (SmarthostTransaction *self,
                                  gboolean              reload)
{
  g_return_if_fail (SMARTHOST_IS_TRANSACTION (self));
  reload = !!reload;
  if (self->reload != reload)
    {
      self->reload = reload;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RELOAD]);
    }
}

/**
 * smarthost_transaction_get_policy: (get-property policy)
 * @self: a transaction
 *
 * Gets the policy the changes obey.
 *
 * Returns: (nullable) (transfer none): the policy, or %NULL until a change
 *   is staged when none was set
 */
SmarthostPolicy *
smarthost_transaction_get_policy (SmarthostTransaction *self)
{
  g_return_val_if_fail (SMARTHOST_IS_TRANSACTION (self), NULL);
  return self->policy;
}

/**
 * smarthost_transaction_set_policy: (set-property policy)
 * @self: a transaction
 * @policy: (nullable): a policy, or %NULL for the system's
 *
 * Sets the policy the changes must obey, before staging any.
 */
void
smarthost_transaction_set_policy (SmarthostTransaction *self,
                                  SmarthostPolicy      *policy)
{
  g_return_if_fail (SMARTHOST_IS_TRANSACTION (self));
  g_return_if_fail (policy == NULL || SMARTHOST_IS_POLICY (policy));
  if (g_set_object (&self->policy, policy))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_POLICY]);
}

/**
 * smarthost_transaction_get_adopt: (get-property adopting)
 * @self: a transaction
 *
 * Tells whether the commit adopts a hand-made configuration.
 *
 * Returns: %TRUE if it does
 */
gboolean
smarthost_transaction_get_adopt (SmarthostTransaction *self)
{
  g_return_val_if_fail (SMARTHOST_IS_TRANSACTION (self), FALSE);
  return self->adopt;
}

/**
 * smarthost_transaction_adopt:
 * @self: a transaction
 * @error: return location for a #GError
 *
 * Asks the commit to take a hand-made smarthost configuration under the
 * library's management; see [property@Transaction:adopting]. Adoption changes
 * the server-wide and domain smarthosts, so the policy must allow both.
 * Changes staged on the same transaction apply on top of what is adopted.
 *
 * Returns: %TRUE if staged; %FALSE with @error set when the policy forbids
 *   it (%SMARTHOST_ERROR_DISABLED), the backend cannot adopt (it lacks
 *   %SMARTHOST_CAPABILITY_ADOPT: %SMARTHOST_ERROR_NOT_SUPPORTED) or the
 *   transaction is committed
 */
gboolean
smarthost_transaction_adopt (SmarthostTransaction  *self,
                             GError               **error)
{
  g_return_val_if_fail (SMARTHOST_IS_TRANSACTION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_stageable (self, error) || !check_adoptable (self, TRUE, error) ||
      !check_policy (self, FALSE, error) || !check_policy (self, TRUE, error))
    return FALSE;
  self->adopt = TRUE;
  return TRUE;
}

/* Backends say, when they build a preview or a commit of an adopting
 * transaction, what adoption took over. The server relay is kept without
 * its password: callers only need to know which relays these are. */
void
_smarthost_transaction_set_adopted (SmarthostTransaction *self,
                                    SmarthostRelay       *server,
                                    const char * const   *domains)
{
  g_clear_object (&self->adopted_server);
  g_clear_pointer (&self->adopted_domains, g_ptr_array_unref);
  if (server != NULL)
    {
      self->adopted_server = smarthost_relay_copy (server);
      if (smarthost_relay_get_password (server) != NULL)
        {
          smarthost_relay_set_password (self->adopted_server, NULL);
          _smarthost_relay_mark_password_set (self->adopted_server);
        }
    }
  self->adopted_domains = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; domains != NULL && domains[i] != NULL; i++)
    g_ptr_array_add (self->adopted_domains, g_strdup (domains[i]));
}

/**
 * smarthost_transaction_get_adopted_server:
 * @self: a transaction
 *
 * Gets the hand-made server-wide smarthost that adoption takes over (after
 * [method@Transaction.preview]) or took over (after a commit): see
 * [method@Transaction.adopt]. The relay is as adoption read it, its
 * password never included (`password-set` tells whether it has one).
 *
 * Returns: (transfer none) (nullable): the adopted server relay, or %NULL
 *   when the transaction does not adopt one, or before a preview or commit
 */
SmarthostRelay *
smarthost_transaction_get_adopted_server (SmarthostTransaction *self)
{
  g_return_val_if_fail (SMARTHOST_IS_TRANSACTION (self), NULL);
  return self->adopted_server;
}

/**
 * smarthost_transaction_get_adopted_domains:
 * @self: a transaction
 *
 * Gets the domains whose hand-made smarthosts adoption takes over (after
 * [method@Transaction.preview]) or took over (after a commit): see
 * [method@Transaction.adopt]. They are in the order the backend took them
 * over (for Postfix, the order of the tables that route them).
 *
 * Returns: (transfer full) (array zero-terminated=1): the adopted domains,
 *   normalized; empty when the transaction adopts none, or before a preview
 *   or commit
 */
char **
smarthost_transaction_get_adopted_domains (SmarthostTransaction *self)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (SMARTHOST_IS_TRANSACTION (self), NULL);
  for (guint i = 0; self->adopted_domains != NULL && i < self->adopted_domains->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (self->adopted_domains, i));
  return g_strv_builder_end (builder);
}

/**
 * smarthost_transaction_get_replace_domains: (get-property replace-domains)
 * @self: a transaction
 *
 * Tells whether domains the transaction does not stage lose their relay.
 *
 * Returns: %TRUE if they do
 */
gboolean
smarthost_transaction_get_replace_domains (SmarthostTransaction *self)
{
  g_return_val_if_fail (SMARTHOST_IS_TRANSACTION (self), FALSE);
  return self->replace_domains;
}

/**
 * smarthost_transaction_set_replace_domains: (set-property replace-domains)
 * @self: a transaction
 * @replace_domains: whether the staged domains are the complete set
 *
 * Sets whether domains the transaction does not stage lose their relay;
 * see [property@Transaction:replace-domains].
 */
void
smarthost_transaction_set_replace_domains (SmarthostTransaction *self,
                                           gboolean              replace_domains)
{
  g_return_if_fail (SMARTHOST_IS_TRANSACTION (self));
  replace_domains = !!replace_domains;
  if (self->replace_domains != replace_domains)
    {
      self->replace_domains = replace_domains;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REPLACE_DOMAINS]);
    }
}

/**
 * smarthost_transaction_set_state:
 * @self: a transaction
 * @state: the complete state to configure
 * @error: return location for a #GError
 *
 * Stages a complete state: its server-wide relay (or none), each of its
 * domains with its relay, and [property@Transaction:replace-domains], so
 * that every other domain loses its relay. Each relay is checked as
 * [method@Transaction.set_domain] checks it; on error nothing is staged,
 * and what was staged before stays. Staged with success, the state
 * replaces the changes staged before it.
 *
 * A relay whose password is set but not given (`"password_set": true` in
 * JSON) keeps the password the backend has stored for it.
 *
 * Returns: %TRUE if the state was staged; otherwise @error says why
 *   (%SMARTHOST_ERROR_INVALID naming the domain and field, for a state of
 *   another backend too, %SMARTHOST_ERROR_NOT_SUPPORTED, or
 *   %SMARTHOST_ERROR_DISABLED naming the policy key)
 */
gboolean
smarthost_transaction_set_state (SmarthostTransaction  *self,
                                 SmarthostState        *state,
                                 GError               **error)
{
  g_autoptr(GHashTable) staged = NULL;
  g_autoptr(SmarthostRelay) server = NULL;
  GHashTable *domain_table;
  GHashTableIter iter;
  gpointer key, value;
  const char *name;
  gboolean server_staged;

  g_return_val_if_fail (SMARTHOST_IS_TRANSACTION (self), FALSE);
  g_return_val_if_fail (SMARTHOST_IS_STATE (state), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_stageable (self, error))
    return FALSE;
  name = smarthost_state_get_backend_name (state);
  if (name != NULL && g_ascii_strcasecmp (name, smarthost_backend_get_name (self->backend)) != 0)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                   "backend: the state is of the %s backend, not %s", name,
                   smarthost_backend_get_name (self->backend));
      return FALSE;
    }

  /* All or nothing: stage, and put the old changes back on error. */
  staged = g_hash_table_ref (self->domains);
  server_staged = self->server_staged;
  server = self->server ? g_object_ref (self->server) : NULL;
  g_hash_table_unref (self->domains);
  self->domains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, unref_if_set);

  if (!smarthost_transaction_set_server (self, smarthost_state_get_server (state), error))
    goto fail;
  /* The state's domains are normalized already: each relay is checked and
   * copied straight from its table, in one pass (sorting the names and
   * normalizing each twice more took as long as the commit of 100,000).
   * The first error in the order of the names is the one told: on error,
   * the same again, sorted. */
  domain_table = _smarthost_state_get_domains (state);
  g_hash_table_iter_init (&iter, domain_table);
  if (g_hash_table_size (domain_table) > 0 && check_policy (self, TRUE, NULL))
    while (g_hash_table_iter_next (&iter, &key, &value))
      {
        if (!_smarthost_backend_check_relay (self->backend, value, TRUE, NULL))
          break;
        g_hash_table_replace (self->domains, g_strdup (key), smarthost_relay_copy (value));
      }
  if (g_hash_table_size (self->domains) < g_hash_table_size (domain_table))
    {
      g_auto(GStrv) domains = smarthost_state_list_domains (state);

      for (guint i = 0; domains[i]; i++)
        if (!smarthost_transaction_set_domain (self, domains[i], smarthost_state_get_domain (state, domains[i]), error))
          {
            g_prefix_error (error, "domains.%s: ", domains[i]);
            goto fail;
          }
    }
  smarthost_transaction_set_replace_domains (self, TRUE);
  return TRUE;

fail:
  g_hash_table_unref (self->domains);
  self->domains = g_steal_pointer (&staged);
  g_clear_object (&self->server);
  self->server = g_steal_pointer (&server);
  self->server_staged = server_staged;
  return FALSE;
}

/**
 * smarthost_transaction_get_would_change: (get-property would-change)
 * @self: a transaction
 *
 * Tells whether committing would change anything, as the last
 * [method@Transaction.preview] found. Configuration-management tools use
 * it to report "changed" in a dry run.
 *
 * Returns: whether the last preview found a change; %FALSE while nothing
 *   is staged, preview or not; otherwise %TRUE before any preview, after a
 *   change is staged since (until the next preview), and with backends that
 *   cannot tell
 */
gboolean
smarthost_transaction_get_would_change (SmarthostTransaction *self)
{
  g_return_val_if_fail (SMARTHOST_IS_TRANSACTION (self), TRUE);
  /* A commit of nothing changes nothing: no need to ask the backend. */
  if (!has_staged_changes (self))
    return FALSE;
  return self->would_change;
}

/**
 * smarthost_transaction_get_changed: (get-property changed)
 * @self: a transaction
 *
 * Gets whether the commit changed anything.
 *
 * Returns: whether the commit changed anything; %FALSE before the commit
 */
gboolean
smarthost_transaction_get_changed (SmarthostTransaction *self)
{
  g_return_val_if_fail (SMARTHOST_IS_TRANSACTION (self), FALSE);
  return self->changed;
}

/* The public form of what is staged, for a backend's build_change(). */
static SmarthostChange *
change_of (SmarthostTransaction *self,
           gboolean              dry_run)
{
  SmarthostChange *change = smarthost_change_new ();

  if (self->server_staged)
    smarthost_change_set_server (change, self->server);
  _smarthost_change_set_domains_table (change, self->domains);
  smarthost_change_set_replace_domains (change, self->replace_domains);
  smarthost_change_set_adopting (change, self->adopt);
  smarthost_change_set_reload (change, self->reload);
  smarthost_change_set_dry_run (change, dry_run);
  return change;
}

static void
take_adopted (SmarthostTransaction *self,
              SmarthostChange      *change)
{
  SmarthostRelay *server;
  const char * const *domains;

  if (_smarthost_change_get_adopted (change, &server, &domains))
    _smarthost_transaction_set_adopted (self, server, domains);
}

/* The core's commit protocol (smarthost-commit.c), for backends that build
 * operations; the others still commit by themselves. */
static gboolean
run_change (SmarthostTransaction  *self,
            gboolean               dry_run,
            char                 **preview,
            gboolean              *changed,
            GCancellable          *cancellable,
            GError               **error)
{
  g_autoptr(SmarthostChange) change = change_of (self, dry_run);

  if (!_smarthost_change_run (self->backend, change, changed, cancellable, error))
    return FALSE;
  take_adopted (self, change);
  if (dry_run)
    {
      self->would_change = _smarthost_change_has_changes (change);
      *preview = smarthost_change_to_preview (change);
    }
  return TRUE;
}

/**
 * smarthost_transaction_preview:
 * @self: a transaction
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Computes what committing would change, without changing anything: the
 * unified diff of every file, secrets masked, then lines starting with `#`
 * for notes (such as duplicate settings that are resolved) and the commands
 * the commit would run.
 *
 * Returns: (transfer full): the preview, or %NULL with @error set (the same
 *   error the commit would fail with)
 */
char *
smarthost_transaction_preview (SmarthostTransaction  *self,
                               GCancellable          *cancellable,
                               GError               **error)
{
  g_return_val_if_fail (SMARTHOST_IS_TRANSACTION (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self->backend), NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
      !check_adoptable (self, self->adopt, error))
    return NULL;
  if (SMARTHOST_BACKEND_GET_IFACE (self->backend)->build_change != NULL)
    {
      char *preview = NULL;
      gboolean changed;

      return run_change (self, TRUE, &preview, &changed, cancellable, error) ? preview : NULL;
    }
  if (_smarthost_backend_missing (self->backend, SMARTHOST_BACKEND_GET_IFACE (self->backend)->preview,
                                  "preview", error))
    return NULL;
  return SMARTHOST_BACKEND_GET_IFACE (self->backend)->preview (self->backend, self, cancellable, error);
}

static void
preview_thread (GTask        *task,
                gpointer      source_object,
                gpointer      task_data,
                GCancellable *cancellable)
{
  GError *error = NULL;
  char *text = smarthost_transaction_preview (source_object, cancellable, &error);

  if (text == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, text, g_free);
}

/**
 * smarthost_transaction_preview_async:
 * @self: a transaction
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the preview
 * @user_data: data for @callback
 *
 * Computes the preview without blocking; see [method@Transaction.preview].
 */
void
smarthost_transaction_preview_async (SmarthostTransaction *self,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (SMARTHOST_IS_TRANSACTION (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));
  g_return_if_fail (SMARTHOST_IS_BACKEND (self->backend));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, smarthost_transaction_preview_async);
  g_task_run_in_thread (task, preview_thread);
}

/**
 * smarthost_transaction_preview_finish:
 * @self: a transaction
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Transaction.preview_async].
 *
 * Returns: (transfer full): the preview, or %NULL with @error set
 */
char *
smarthost_transaction_preview_finish (SmarthostTransaction  *self,
                                      GAsyncResult          *result,
                                      GError               **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * smarthost_transaction_commit:
 * @self: a transaction
 * @cancellable: (nullable): a #GCancellable; it is honoured until files
 *   start to be moved into place, never halfway
 * @error: return location for a #GError
 *
 * Applies every staged change, all or nothing; see [class@Transaction].
 *
 * Returns: %TRUE on success; on failure every file is as it was and @error
 *   names the step that failed
 */
gboolean
smarthost_transaction_commit (SmarthostTransaction  *self,
                              GCancellable          *cancellable,
                              GError               **error)
{
  gboolean changed = FALSE;

  g_return_val_if_fail (SMARTHOST_IS_TRANSACTION (self), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self->backend), FALSE);

  if ((SMARTHOST_BACKEND_GET_IFACE (self->backend)->build_change == NULL &&
       _smarthost_backend_missing (self->backend, SMARTHOST_BACKEND_GET_IFACE (self->backend)->commit,
                                   "commit", error)) ||
      !check_adoptable (self, self->adopt, error))
    return FALSE;
  if (self->committed)
    {
      g_set_error_literal (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                           "the transaction was already committed; begin a new one");
      return FALSE;
    }
  if (!g_atomic_int_compare_and_exchange (&self->busy, 0, 1))
    {
      g_set_error_literal (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                           "the transaction is already being committed");
      return FALSE;
    }

  if (SMARTHOST_BACKEND_GET_IFACE (self->backend)->build_change != NULL
      ? !run_change (self, FALSE, NULL, &changed, cancellable, error)
      : !SMARTHOST_BACKEND_GET_IFACE (self->backend)->commit (self->backend, self, &changed,
                                                              cancellable, error))
    {
      /* Committed, but a step after the commit point failed: the
       * transaction is spent and did change the configuration. */
      if (changed)
        {
          self->committed = TRUE;
          self->changed = TRUE;
        }
      g_atomic_int_set (&self->busy, 0);
      return FALSE;
    }
  self->committed = TRUE;
  self->changed = changed;
  /* No notify: commits run in worker threads, and handlers (GJS ones in
   * particular) must not be called there. */
  g_atomic_int_set (&self->busy, 0);
  return TRUE;
}

static void
commit_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  GError *error = NULL;

  if (smarthost_transaction_commit (source_object, cancellable, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * smarthost_transaction_commit_async:
 * @self: a transaction
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the commit succeeded or failed
 * @user_data: data for @callback
 *
 * Commits without blocking; see [method@Transaction.commit]. The
 * transaction and its backend are kept alive until @callback runs.
 */
void
smarthost_transaction_commit_async (SmarthostTransaction *self,
                                    GCancellable         *cancellable,
                                    GAsyncReadyCallback   callback,
                                    gpointer              user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (SMARTHOST_IS_TRANSACTION (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));
  g_return_if_fail (SMARTHOST_IS_BACKEND (self->backend));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, smarthost_transaction_commit_async);
  /* The commit honours the cancellable until files start moving; once it
   * has succeeded, a late cancellation must not report it as failed. */
  g_task_set_check_cancellable (task, FALSE);
  g_task_run_in_thread (task, commit_thread);
}

/**
 * smarthost_transaction_commit_finish:
 * @self: a transaction
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Transaction.commit_async].
 *
 * Returns: %TRUE on success; on failure nothing was changed
 */
gboolean
smarthost_transaction_commit_finish (SmarthostTransaction  *self,
                                     GAsyncResult          *result,
                                     GError               **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
