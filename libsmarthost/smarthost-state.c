/* smarthost-state.c: the complete smarthost state of a mail server
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-error.h"
#include "smarthost-files-private.h"
#include "smarthost-private.h"
#include "smarthost-state.h"
#include "smarthost-util-private.h"
#include "smarthost-platform-private.h"

/**
 * SmarthostState:
 *
 * The complete smarthost state of a mail server: its server-wide relay (or
 * none) and every domain that has a relay of its own.
 *
 * A state is what configuration management wants a server to look like.
 * [method@Backend.get_state] reads the current one;
 * [method@Transaction.set_state] stages one whole, so that the commit
 * leaves exactly that configuration: the server relay as given, the
 * domains listed with their relays, and no relay for any other domain.
 *
 * As JSON ([ctor@State.new_from_json], [method@State.to_json]) a state is
 * what `smarthostctl status --json` prints and `smarthostctl apply` reads:
 *
 * ```json
 * {
 *   "backend": "postfix",
 *   "server": { "host": "smtp.sendgrid.net", "port": 587, "security": "starttls",
 *               "username": "apikey", "password_file": "/etc/smarthost/sendgrid.key" },
 *   "domains": {
 *     "shop.example": { "provider": "mailgun-eu", "security": "tls",
 *                       "username": "postmaster@shop.example", "password_env": "SHOP_KEY" }
 *   }
 * }
 * ```
 *
 * See [ctor@Relay.new_from_json] for the keys of a relay.
 */

struct _SmarthostState
{
  GObject parent_instance;

  char *backend_name;
  SmarthostRelay *server;
  GHashTable *domains;   /* normalized domain -> relay */
};

G_DEFINE_FINAL_TYPE (SmarthostState, smarthost_state, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_BACKEND_NAME,
  PROP_SERVER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
smarthost_state_finalize (GObject *object)
{
  SmarthostState *self = SMARTHOST_STATE (object);

  g_free (self->backend_name);
  g_clear_object (&self->server);
  g_hash_table_unref (self->domains);

  G_OBJECT_CLASS (smarthost_state_parent_class)->finalize (object);
}

static void
smarthost_state_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  SmarthostState *self = SMARTHOST_STATE (object);

  switch (prop_id)
    {
    case PROP_BACKEND_NAME:
      g_value_set_string (value, self->backend_name);
      break;
    case PROP_SERVER:
      g_value_set_object (value, self->server);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_state_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  SmarthostState *self = SMARTHOST_STATE (object);

  switch (prop_id)
    {
    case PROP_BACKEND_NAME:
      smarthost_state_set_backend_name (self, g_value_get_string (value));
      break;
    case PROP_SERVER:
      smarthost_state_set_server (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_state_class_init (SmarthostStateClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = smarthost_state_finalize;
  object_class->get_property = smarthost_state_get_property;
  object_class->set_property = smarthost_state_set_property;

  /**
   * SmarthostState:backend-name: (attributes org.gtk.Property.get=smarthost_state_get_backend_name org.gtk.Property.set=smarthost_state_set_backend_name)
   *
   * The backend the state is of, such as `postfix`, or %NULL when it is
   * not said. A transaction refuses a state of another backend.
   */
  properties[PROP_BACKEND_NAME] =
    g_param_spec_string ("backend-name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostState:server: (attributes org.gtk.Property.get=smarthost_state_get_server org.gtk.Property.set=smarthost_state_set_server)
   *
   * The server-wide relay, or %NULL for none.
   */
  properties[PROP_SERVER] =
    g_param_spec_object ("server", NULL, NULL, SMARTHOST_TYPE_RELAY,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
smarthost_state_init (SmarthostState *self)
{
  self->domains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

/**
 * smarthost_state_new:
 *
 * Creates an empty state: no server-wide relay, no domain relays.
 *
 * Returns: (transfer full): a new state
 */
SmarthostState *
smarthost_state_new (void)
{
  return g_object_new (SMARTHOST_TYPE_STATE, NULL);
}

typedef struct {
  SmarthostState *self;
  SmarthostJsonFlags flags;
  /* normalized domain -> its first spelling, or NULL when the same; for
   * the domains that are not keys of self->domains as they were given
   * (null ones, and ones spelled otherwise), since most are. */
  GHashTable *seen;
} ReadDomains;

/* One member of "domains", as the reader reads it: the text's tree of a
 * state of 100,000 domains would take 130 MB, a relay's takes little. */
static gboolean
read_domain (const char                *name,
             json_t                    *node,
             const SmarthostJsonFields *fields,
             gpointer                   user_data,
             GError                   **error)
{
  ReadDomains *rd = user_data;
  g_autofree char *where = NULL;
  g_autofree char *shown = NULL;   /* for errors, and names that are not plainly domains */
  g_autofree char *domain = smarthost_domain_normalize (name, error);
  gpointer first;
  SmarthostRelay *relay = NULL;

  if (domain == NULL)
    {
      shown = _smarthost_quote (name, -1);
      return g_prefix_error (error, "domains: %s: ", shown), FALSE;
    }
  /* A second spelling of a domain is found in one lookup (comparing with
   * every earlier name made a state of 100,000 domains take hours). Null
   * domains count too: listed twice, even as null, is an error. */
  if (g_hash_table_lookup_extended (rd->seen, domain, NULL, &first) ||
      (first = NULL, g_hash_table_contains (rd->self->domains, domain)))
    {
      if (first == NULL)
        first = domain;
      g_autofree char *first_shown = _smarthost_quote (first, -1);

      shown = _smarthost_quote (name, -1);
      if (g_str_equal (first, name) && _smarthost_json_key_is_showable (name))
        g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                     "state: the key %s is given twice in one object; give it once", shown);
      else if (g_str_equal (first, name))
        g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                     "state: a key is given twice in one object; give it once");
      else
        g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                     "domains: %s and %s are the same domain, %s; list it once",
                     first_shown, shown, domain);
      return FALSE;
    }
  if (fields != NULL || !json_is_null (node))
    {
      /* "domains.example.com.port" names the place of an error, as long as
       * the key is plainly a domain name; anything else is shown quoted. */
      if (!_smarthost_json_key_is_showable (name))
        shown = _smarthost_quote (name, -1);
      where = g_strconcat ("domains.", shown != NULL ? shown : name, NULL);
      relay = fields != NULL ? _smarthost_relay_from_json_fields (where, fields, rd->flags, error)
                             : _smarthost_relay_from_json_node (where, node, rd->flags, error);
      if (relay == NULL)
        return FALSE;
    }
  if (relay == NULL || !g_str_equal (domain, name))
    g_hash_table_insert (rd->seen, g_strdup (domain), g_str_equal (domain, name) ? NULL : g_strdup (name));
  /* null: the domain has no relay of its own, as if it were not listed. */
  if (relay != NULL)
    g_hash_table_insert (rd->self->domains, g_steal_pointer (&domain), relay);
  return TRUE;
}

/**
 * smarthost_state_new_from_json:
 * @json: a state as JSON text, the shape [method@State.to_json] writes
 * @flags: how to read passwords
 * @error: return location for a #GError
 *
 * Reads a state from JSON: an object with `server` (a relay, or null for
 * none) and `domains` (domain: relay; `{}` for none), both required since
 * a state is complete, and optionally `backend`. Relays have the keys of
 * [ctor@Relay.new_from_json], which also reads the password files and
 * environment variables they refer to.
 *
 * Every key must be known and of its type, a key may be given only once
 * in an object and a domain only once (`Example.com` and `example.com.`
 * are the same domain), and errors name the key
 * (`domains.example.com.port: …`) without quoting the data.
 * Text longer than %SMARTHOST_JSON_MAX_SIZE, or with arrays and objects
 * nested deeper than %SMARTHOST_JSON_MAX_DEPTH, is refused before it is
 * parsed. The domains are read one by one as the text is, so that reading
 * a state takes little more memory than the state itself.
 *
 * This reads the password files the state refers to, at once: they are
 * small local files, but a program that must never block (a GJS user
 * interface) calls it from a worker thread, or passes passwords by
 * `password_env`.
 *
 * Returns: (transfer full): the state, or %NULL with @error set to
 *   %SMARTHOST_ERROR_INVALID
 */
SmarthostState *
smarthost_state_new_from_json (const char          *json,
                               SmarthostJsonFlags   flags,
                               GError             **error)
{
  g_autoptr(SmarthostState) self = NULL;
  g_autoptr(SmarthostSecretJson) root = NULL;
  g_autoptr(GHashTable) seen = NULL;
  ReadDomains rd;
  const char *key;
  json_t *node;

  g_return_val_if_fail (json != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* The domains are read as the text is, each relay from a tree of its
   * own; the rest of the state after. */
  self = smarthost_state_new ();
  seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  rd = (ReadDomains) { self, flags, seen };
  root = _smarthost_json_parse_streaming ("state", json, "domains", _smarthost_relay_json_keys (),
                                          read_domain, &rd, error);
  if (root == NULL)
    return NULL;
  g_clear_pointer (&seen, g_hash_table_unref);
  if (!json_is_object (root))
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "state: must be a JSON object with \"server\" and \"domains\""), NULL;
  json_object_foreach (root, key, node)
    if (!g_str_equal (key, "server") && !g_str_equal (key, "domains") && !g_str_equal (key, "backend"))
      return _smarthost_json_unknown_key (error, "state", key, "backend, server, domains"), NULL;
  if (json_object_get (root, "server") == NULL || json_object_get (root, "domains") == NULL)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "state: must say \"server\" (null for none) and \"domains\" ({} for none): "
                        "it is the complete state"), NULL;

  node = json_object_get (root, "backend");
  if (node != NULL && !json_is_null (node))
    {
      if (!json_is_string (node))
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "backend: must be a string (a backend's name) or null"), NULL;
      self->backend_name = g_strdup (json_string_value (node));
    }

  node = json_object_get (root, "server");
  if (!json_is_null (node))
    {
      self->server = _smarthost_relay_from_json_node ("server", node, flags, error);
      if (self->server == NULL)
        return NULL;
    }

  /* An object was read member by member above; anything else is here. */
  node = json_object_get (root, "domains");
  if (!json_is_object (node))
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "domains: must be an object of domain: relay ({} for none)"), NULL;
  return g_steal_pointer (&self);
}

/**
 * smarthost_state_to_json:
 * @self: a state
 *
 * Writes the state as JSON, the way `smarthostctl status --json` prints
 * it: `backend` (when known), `server` and `domains`, sorted, each relay as
 * [method@Relay.to_json] writes it. Passwords are never written; relays
 * with one say `"password_set": true`, which [ctor@State.new_from_json]
 * reads as "keep the stored password".
 *
 * Returns: (transfer full): the JSON text
 */
char *
smarthost_state_to_json (SmarthostState *self)
{
  g_autoptr(json_t) root = json_object ();
  g_auto(GStrv) names = NULL;
  json_t *domains;

  g_return_val_if_fail (SMARTHOST_IS_STATE (self), NULL);

  names = smarthost_state_list_domains (self);
  if (self->backend_name != NULL)
    json_object_set_new (root, "backend", _smarthost_json_string (self->backend_name));
  json_object_set_new (root, "server", _smarthost_relay_to_json_node (self->server));
  json_object_set_new (root, "domains", domains = json_object ());
  for (guint i = 0; names[i]; i++)
    json_object_set_new_nocheck (domains, names[i],
                                 _smarthost_relay_to_json_node (g_hash_table_lookup (self->domains, names[i])));
  return _smarthost_json_to_data (root, NULL);
}

/**
 * smarthost_state_get_backend_name: (get-property backend-name)
 * @self: a state
 *
 * Gets the name of the backend the state is of.
 *
 * Returns: (nullable): the backend's name, such as `postfix`, or %NULL
 */
const char *
smarthost_state_get_backend_name (SmarthostState *self)
{
  g_return_val_if_fail (SMARTHOST_IS_STATE (self), NULL);
  return self->backend_name;
}

/**
 * smarthost_state_set_backend_name: (set-property backend-name)
 * @self: a state
 * @backend_name: (nullable): a backend's name, or %NULL
 *
 * Sets the name of the backend the state is of.
 */
void
smarthost_state_set_backend_name (SmarthostState *self,
                                  const char     *backend_name)
{
  g_return_if_fail (SMARTHOST_IS_STATE (self));
  if (_smarthost_set_str (&self->backend_name, backend_name))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BACKEND_NAME]);
}

/**
 * smarthost_state_get_server: (get-property server)
 * @self: a state
 *
 * Gets the server-wide relay.
 *
 * Returns: (transfer none) (nullable): the relay, or %NULL for none
 */
SmarthostRelay *
smarthost_state_get_server (SmarthostState *self)
{
  g_return_val_if_fail (SMARTHOST_IS_STATE (self), NULL);
  return self->server;
}

/**
 * smarthost_state_set_server: (set-property server)
 * @self: a state
 * @relay: (nullable): the server-wide relay, or %NULL for none
 *
 * Sets the server-wide relay; the state keeps a copy of @relay.
 */
void
smarthost_state_set_server (SmarthostState *self,
                            SmarthostRelay *relay)
{
  g_return_if_fail (SMARTHOST_IS_STATE (self));
  g_return_if_fail (relay == NULL || SMARTHOST_IS_RELAY (relay));

  if (relay == self->server || (relay != NULL && self->server != NULL && smarthost_relay_equal (relay, self->server)))
    return;
  g_clear_object (&self->server);
  self->server = relay ? smarthost_relay_copy (relay) : NULL;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVER]);
}

/**
 * smarthost_state_get_domain:
 * @self: a state
 * @domain: a sender domain
 *
 * Gets a domain's relay.
 *
 * Returns: (transfer none) (nullable): the relay, or %NULL when @domain has
 *   none of its own (or is not a valid domain)
 */
SmarthostRelay *
smarthost_state_get_domain (SmarthostState *self,
                            const char     *domain)
{
  g_autofree char *normalized = NULL;
  SmarthostRelay *relay;

  g_return_val_if_fail (SMARTHOST_IS_STATE (self), NULL);
  g_return_val_if_fail (domain != NULL, NULL);

  /* The keys are normalized, and normalizing one gives itself: a domain
   * as listed is found without normalizing it again. */
  relay = g_hash_table_lookup (self->domains, domain);
  if (relay != NULL)
    return relay;
  normalized = smarthost_domain_normalize (domain, NULL);
  return normalized ? g_hash_table_lookup (self->domains, normalized) : NULL;
}

/**
 * smarthost_state_get_effective_relay:
 * @self: a state
 * @domain: (nullable): a sender domain, or %NULL for mail of no domain with
 *   a relay of its own
 *
 * Gets the relay that carries @domain's mail: the domain's own relay, which
 * wins, else the server-wide one.
 *
 * Returns: (transfer none) (nullable): the relay, or %NULL when the mail
 *   goes out directly (no relay of its own, no server-wide one)
 */
SmarthostRelay *
smarthost_state_get_effective_relay (SmarthostState *self,
                                     const char     *domain)
{
  SmarthostRelay *relay = NULL;

  g_return_val_if_fail (SMARTHOST_IS_STATE (self), NULL);

  if (domain != NULL)
    relay = smarthost_state_get_domain (self, domain);
  return relay != NULL ? relay : self->server;
}

/**
 * smarthost_state_set_domain:
 * @self: a state
 * @domain: a sender domain, such as `example.com`
 * @relay: (nullable): the domain's relay, or %NULL for none of its own
 * @error: return location for a #GError
 *
 * Sets a domain's relay; the state keeps a copy of @relay. The domain is
 * normalized ([func@domain_normalize]).
 *
 * Returns: %TRUE, or %FALSE with @error set to %SMARTHOST_ERROR_INVALID for
 *   a domain that is not one
 */
gboolean
smarthost_state_set_domain (SmarthostState  *self,
                            const char      *domain,
                            SmarthostRelay  *relay,
                            GError         **error)
{
  g_autofree char *normalized = NULL;

  g_return_val_if_fail (SMARTHOST_IS_STATE (self), FALSE);
  g_return_val_if_fail (relay == NULL || SMARTHOST_IS_RELAY (relay), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  normalized = smarthost_domain_normalize (domain, error);
  if (normalized == NULL)
    return FALSE;
  if (relay == NULL)
    g_hash_table_remove (self->domains, normalized);
  else
    g_hash_table_replace (self->domains, g_steal_pointer (&normalized), smarthost_relay_copy (relay));
  return TRUE;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

/**
 * smarthost_state_list_domains:
 * @self: a state
 *
 * Lists the domains that have a relay of their own.
 *
 * Returns: (transfer full) (array zero-terminated=1): the domains, sorted
 */
char **
smarthost_state_list_domains (SmarthostState *self)
{
  g_autoptr(GPtrArray) names = NULL;
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (SMARTHOST_IS_STATE (self), NULL);

  names = g_ptr_array_new_full (g_hash_table_size (self->domains) + 1, NULL);
  g_hash_table_iter_init (&iter, self->domains);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (names, g_strdup (key));
  g_ptr_array_sort (names, compare_strings);
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

static gboolean
relays_equal (SmarthostRelay *a,
              SmarthostRelay *b)
{
  return (a == NULL && b == NULL) || (a != NULL && b != NULL && smarthost_relay_equal (a, b));
}

/**
 * smarthost_state_equal:
 * @self: a state
 * @other: another state
 *
 * Compares the relays of two states (not their backend names).
 *
 * Returns: %TRUE if both have the same server relay and the same domains
 *   with the same relays
 */
gboolean
smarthost_state_equal (SmarthostState *self,
                       SmarthostState *other)
{
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (SMARTHOST_IS_STATE (self), FALSE);
  g_return_val_if_fail (SMARTHOST_IS_STATE (other), FALSE);

  if (!relays_equal (self->server, other->server) ||
      g_hash_table_size (self->domains) != g_hash_table_size (other->domains))
    return FALSE;
  g_hash_table_iter_init (&iter, self->domains);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!relays_equal (value, g_hash_table_lookup (other->domains, key)))
      return FALSE;
  return TRUE;
}

/* For the backends and transactions: the domains and their relays. */
GHashTable *
_smarthost_state_get_domains (SmarthostState *self)
{
  return self->domains;
}

/**
 * smarthost_state_new_from_file:
 * @path: (type filename): a file holding a state as JSON, or `-` for
 *   standard input
 * @flags: how to read it
 * @error: return location for a #GError
 *
 * Reads a state from a file, as [ctor@State.new_from_json] reads it from
 * text; `smarthostctl apply` reads its input this way. The file must be a
 * regular file of at most %SMARTHOST_JSON_MAX_SIZE bytes (a FIFO or a device is refused at once,
 * never waited on); `-` reads standard input, which may be a pipe. The text
 * may hold inline passwords, so it is wiped as soon as it is parsed.
 *
 * Returns: (transfer full): the state, or %NULL with @error set; errors
 *   name the file
 */
SmarthostState *
smarthost_state_new_from_file (const char          *path,
                               SmarthostJsonFlags   flags,
                               GError             **error)
{
  g_autoptr(GError) local_error = NULL;
  SmarthostState *state;
  const char *name;
  char *text = NULL;
  gsize len = 0;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  name = g_str_equal (path, "-") ? "standard input" : path;
  if (!_smarthost_read_file_limited (path, SMARTHOST_READ_STDIN, SMARTHOST_JSON_MAX_SIZE, &text, &len, NULL,
                                     &local_error))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "%s", local_error->message);
      return NULL;
    }
  if (memchr (text, '\0', len) != NULL)
    {
      _smarthost_secure_zero (text, len);
      g_free (text);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "%s: not JSON text: it has a NUL byte", name);
      return NULL;
    }
  state = smarthost_state_new_from_json (text, flags, error);
  /* The text may hold a password: wipe it as soon as it is read. */
  _smarthost_secure_zero (text, len);
  g_free (text);
  if (state == NULL)
    g_prefix_error (error, "%s: ", name);
  return state;
}
