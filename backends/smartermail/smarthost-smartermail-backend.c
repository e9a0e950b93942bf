/* smarthost-smartermail-backend.c: smarthosts for SmarterMail, through its web API
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-backend-private.h"
#include "smarthost-change-private.h"
#include "smarthost-error.h"
#include "smarthost-files-private.h"
#include "smarthost-private.h"
#include "smarthost-util-private.h"
#include "smarthost-smartermail-backend.h"
#include "smarthost-smartermail-private.h"

/**
 * SmarthostSmarterMailBackend:
 *
 * The SmarterMail backend: smarthosts as SmarterMail's outbound gateways,
 * through its JSON web API (see the SmarterMail page of the
 * documentation). The server-wide smarthost is the enabled round-robin
 * gateway; a domain's smarthost is the specific-domains gateway its
 * settings select. Domains whose relays are equal share one gateway.
 *
 * It is constructed with the server's [property@SmarterMailBackend:url]
 * and the system administrator's [property@SmarterMailBackend:admin] and
 * [property@SmarterMailBackend:admin-password]. Commits keep their lock
 * and journal in a local [property@SmarterMailBackend:state-directory].
 */

/*
 * Implementation notes
 *
 * Reading: GET gateways, GET domains, then each domain's settings (its
 * outboundGatewayId). A relay is read from a gateway's address, port,
 * encryption and authentication; its password is never known (SmarterMail
 * does not send it), so a relay that authenticates has password_set.
 *
 * A change (build_change) is computed from that read and the desired state
 * (smarthost_change_apply_to()), as requests of the operation kind
 * "smartermail-request" (smarthost-smartermail-request-operation.c), in
 * this order: gateways created, gateways updated, domains assigned, domains
 * unassigned, gateways deleted — deletions last, since they cannot be
 * undone whole. A gateway of ours (its description starts "libsmarthost")
 * whose domains all move to the same new relay is updated in place; other
 * domains get a gateway per distinct relay, shared with the domains that
 * already have an equal one; a gateway of ours that no domain uses any
 * more is deleted. Updates send the whole object as read with only our
 * members changed.
 *
 * The URL: https, or http to this machine only (127.0.0.1, ::1,
 * localhost), since the administrator's password travels in the login;
 * no user name or password in it, no query or fragment; a path is a prefix
 * of every endpoint's. TLS certificates are verified unless insecure is
 * set; then previews say so, and smarthostctl warns on every command.
 *
 * Time: every request at most timeout seconds; the requests of a commit
 * (from its first change on) at most 10 times that together. Undo is never
 * cut short by the commit's clock.
 *
 * The journal's operations need a backend to speak to the server again
 * after a crash: each backend registers its state directory when it names
 * it (every read and commit does), and an operation rebuilt from a record
 * finds the backend of its directory (sm_backend_lookup_for_directory()).
 */

#define DEFAULT_TIMEOUT 30
#define DESCRIPTION_PREFIX "libsmarthost"

struct _SmarthostSmarterMailBackend
{
  GObject parent_instance;

  char *url;
  char *admin;
  char *admin_password;
  char *ca_file;
  gboolean insecure;
  guint timeout;
  char *state_directory;
  char *mapping_file;
  guint lock_timeout;

  GMutex lock;
  SmClient *client;
};

static void smarthost_smartermail_backend_iface_init (SmarthostBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SmarthostSmarterMailBackend, smarthost_smartermail_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SMARTHOST_TYPE_BACKEND,
                                                      smarthost_smartermail_backend_iface_init)
                               _smarthost_backend_ensure_extension_point ();
                               g_io_extension_point_implement (SMARTHOST_BACKEND_EXTENSION_POINT_NAME,
                                                               g_define_type_id, "smartermail", 50))

enum {
  PROP_0,
  PROP_URL,
  PROP_ADMIN,
  PROP_ADMIN_PASSWORD,
  PROP_CA_FILE,
  PROP_INSECURE,
  PROP_TIMEOUT,
  PROP_STATE_DIRECTORY,
  PROP_MAPPING_FILE,
  PROP_LOCK_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* --- the URL ------------------------------------------------------------------ */

static gboolean
host_is_local (const char *host)
{
  return g_ascii_strcasecmp (host, "localhost") == 0 || g_str_equal (host, "127.0.0.1") ||
         g_str_equal (host, "::1") || g_str_equal (host, "[::1]");
}

/* The URL as requests use it (no trailing "/"), or NULL with an error
 * naming the setting. */
static char *
check_url (const char  *url,
           GUri       **out,
           GError     **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autofree char *quoted = NULL;
  const char *scheme, *host, *path;
  g_autofree char *trimmed = NULL;

  if (url == NULL || *url == '\0')
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "url: give the SmarterMail server's address, such as https://mail.example.com"), NULL;
  quoted = _smarthost_quote (url, -1);
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "url: %s is not an address such as https://mail.example.com", quoted), NULL;
  scheme = g_uri_get_scheme (uri);
  host = g_uri_get_host (uri);
  if (g_ascii_strcasecmp (scheme, "https") != 0 && g_ascii_strcasecmp (scheme, "http") != 0)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "url: %s: only https (or http to this machine) is spoken", quoted), NULL;
  if (g_ascii_strcasecmp (scheme, "http") == 0 && !host_is_local (host))
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "url: %s: http would send the administrator's password in clear; use https "
                        "(http is allowed only to this machine: 127.0.0.1, ::1, localhost)", quoted), NULL;
  if (g_uri_get_userinfo (uri) != NULL)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "url: must not hold a user name or password: give admin and admin-password"), NULL;
  if (g_uri_get_query (uri) != NULL || g_uri_get_fragment (uri) != NULL)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "url: %s: must not have a query (?) or a fragment (#)", quoted), NULL;
  for (const char *p = url; *p; p++)
    if ((guchar) *p <= ' ' || *p == 0x7f)
      return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                          "url: %s: must not hold spaces or control characters", quoted), NULL;
  path = g_uri_get_path (uri);
  trimmed = g_strdup (url);
  while (g_str_has_suffix (trimmed, "/") && strlen (path) > 0)
    trimmed[strlen (trimmed) - 1] = '\0';
  if (out != NULL)
    *out = g_steal_pointer (&uri);
  return g_steal_pointer (&trimmed);
}

/* --- the backends of state directories (for operations rebuilt from a journal) --- */

G_LOCK_DEFINE_STATIC (registry);
static GHashTable *registry;   /* state directory → GWeakRef to a backend */

static void
weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

static void
register_directory (SmarthostSmarterMailBackend *self,
                    const char                  *directory)
{
  GWeakRef *ref = g_new0 (GWeakRef, 1);

  g_weak_ref_init (ref, self);
  G_LOCK (registry);
  if (registry == NULL)
    registry = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, weak_ref_free);
  g_hash_table_replace (registry, g_strdup (directory), ref);
  G_UNLOCK (registry);
}

SmarthostSmarterMailBackend *
sm_backend_lookup_for_directory (const char *directory)
{
  SmarthostSmarterMailBackend *found = NULL;

  G_LOCK (registry);
  if (registry != NULL && directory != NULL)
    {
      GWeakRef *ref = g_hash_table_lookup (registry, directory);
      if (ref != NULL)
        found = g_weak_ref_get (ref);
    }
  G_UNLOCK (registry);
  return found;
}

/* --- the client ---------------------------------------------------------------- */

SmClient *
sm_backend_get_client (SmarthostSmarterMailBackend  *self,
                       GError                      **error)
{
  SmClient *client;

  g_mutex_lock (&self->lock);
  if (self->client == NULL)
    {
      g_autofree char *url = check_url (self->url, NULL, error);
      g_autoptr(SmMapping) mapping = NULL;

      if (url != NULL && (mapping = sm_mapping_load (self->mapping_file, error)) != NULL)
        self->client = sm_client_new (url, self->admin, self->admin_password, self->ca_file, self->insecure,
                                      self->timeout, mapping, error);
    }
  client = self->client;
  g_mutex_unlock (&self->lock);
  return client;
}

guint
sm_backend_get_timeout (SmarthostSmarterMailBackend *self)
{
  return self->timeout;
}

/* --- reading ----------------------------------------------------------------------- */

typedef struct {
  json_t *gateways_reply;
  GPtrArray *gateways;        /* json_t *, borrowed from the reply */
  GPtrArray *domains;         /* the server's names, in its order */
  GHashTable *assigned;       /* normalized domain → gateway id ("" none) */
  GHashTable *names;          /* normalized domain → the server's name */
} SmRead;

static void
sm_read_free (SmRead *r)
{
  g_clear_pointer (&r->gateways_reply, _smarthost_json_free_wiped);
  g_clear_pointer (&r->gateways, g_ptr_array_unref);
  g_clear_pointer (&r->domains, g_ptr_array_unref);
  g_clear_pointer (&r->assigned, g_hash_table_unref);
  g_clear_pointer (&r->names, g_hash_table_unref);
  g_free (r);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmRead, sm_read_free)

static char *
gateway_id (SmMapping *m,
            json_t    *gateway)
{
  return sm_json_get_id (gateway, sm_mapping_field (m, "gateway-id"));
}

static json_t *
gateway_by_id (SmMapping  *m,
               SmRead     *r,
               const char *id)
{
  for (guint i = 0; id != NULL && *id && i < r->gateways->len; i++)
    {
      g_autofree char *gid = gateway_id (m, g_ptr_array_index (r->gateways, i));
      if (g_strcmp0 (gid, id) == 0)
        return g_ptr_array_index (r->gateways, i);
    }
  return NULL;
}

static gboolean
gateway_is (SmMapping  *m,
            json_t     *gateway,
            const char *field,
            const char *value_key)
{
  g_autofree char *v = NULL;

  return sm_json_get_string (gateway, "gateway", sm_mapping_field (m, field), TRUE, &v, NULL) && v != NULL &&
         g_str_equal (v, sm_mapping_value (m, value_key));
}

static gboolean
gateway_enabled (SmMapping *m,
                 json_t    *gateway)
{
  return sm_gateway_flag (m, gateway, "gateway-enabled", TRUE);
}

static gboolean
gateway_is_ours (SmMapping *m,
                 json_t    *gateway)
{
  g_autofree char *d = NULL;

  sm_json_get_string (gateway, "gateway", sm_mapping_field (m, "gateway-description"), TRUE, &d, NULL);
  return d != NULL && g_str_has_prefix (d, DESCRIPTION_PREFIX);
}

static gboolean
read_domains (SmClient      *client,
              SmRead        *r,
              const char    *only,
              GCancellable  *cancellable,
              GError       **error)
{
  SmMapping *m = sm_client_get_mapping (client);
  g_autoptr(json_t) reply = NULL;
  g_autoptr(GPtrArray) list = NULL;

  r->domains = g_ptr_array_new_with_free_func (g_free);
  r->assigned = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  r->names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (only == NULL)
    {
      reply = sm_client_call (client, "domains", NULL, NULL, cancellable, error);
      if (reply == NULL ||
          !sm_json_get_array (reply, "the domains", sm_mapping_field (m, "domains"), &list, error))
        return FALSE;
      for (guint i = 0; i < list->len; i++)
        {
          g_autofree char *name = NULL;

          if (!sm_json_get_string (g_ptr_array_index (list, i), "a domain", sm_mapping_field (m, "domain-name"),
                                   FALSE, &name, error))
            return FALSE;
          g_ptr_array_add (r->domains, g_steal_pointer (&name));
        }
    }
  else
    g_ptr_array_add (r->domains, g_strdup (only));

  for (guint i = 0; i < r->domains->len; i++)
    {
      const char *name = g_ptr_array_index (r->domains, i);
      g_autoptr(json_t) settings_reply = NULL;
      g_autofree char *normalized = smarthost_domain_normalize (name, NULL);
      g_autofree char *where = NULL;
      json_t *settings = NULL;
      char *id;

      if (normalized == NULL)
        continue;   /* a name the library cannot speak of: left alone */
      settings_reply = sm_client_call (client, "domain-get", name, NULL, cancellable, error);
      if (settings_reply == NULL)
        return FALSE;
      where = g_strdup_printf ("the settings of %s", name);
      if (!sm_json_get_object (settings_reply, where, sm_mapping_field (m, "domain-settings"), &settings, error))
        return FALSE;
      id = sm_json_get_id (settings, sm_mapping_field (m, "domain-gateway"));
      g_hash_table_replace (r->assigned, g_strdup (normalized), id ? id : g_strdup (""));
      g_hash_table_replace (r->names, g_strdup (normalized), g_strdup (name));
    }
  return TRUE;
}

/* Gateways always; the domains' settings too unless @domains is FALSE;
 * @only: one domain only. */
static SmRead *
read_server (SmarthostSmarterMailBackend  *self,
             gboolean                      domains,
             const char                   *only,
             GCancellable                 *cancellable,
             GError                      **error)
{
  SmClient *client = sm_backend_get_client (self, error);
  g_autoptr(SmRead) r = g_new0 (SmRead, 1);
  SmMapping *m;

  if (client == NULL)
    return NULL;
  m = sm_client_get_mapping (client);
  r->gateways_reply = sm_client_call (client, "gateways", NULL, NULL, cancellable, error);
  if (r->gateways_reply == NULL ||
      !sm_json_get_array (r->gateways_reply, "the gateways", sm_mapping_field (m, "gateways"), &r->gateways, error))
    return NULL;
  for (guint i = 0; i < r->gateways->len; i++)
    if (!json_is_object ((json_t *) g_ptr_array_index (r->gateways, i)))
      return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                          "the gateways: element %u is not an object", i), NULL;
  if (domains && !read_domains (client, r, only, cancellable, error))
    return NULL;
  return g_steal_pointer (&r);
}

static SmarthostRelay *
relay_of_gateway (SmMapping  *m,
                  json_t     *gateway,
                  GError    **error)
{
  g_autofree char *id = gateway_id (m, gateway);
  g_autofree char *where = g_strdup_printf ("gateway %s", id ? id : "(without id)");
  g_autofree char *address = NULL;
  g_autofree char *encryption = NULL;
  g_autofree char *user = NULL;
  g_autoptr(SmarthostRelay) relay = NULL;
  gboolean auth = FALSE;
  guint port = 0;

  if (!sm_json_get_string (gateway, where, sm_mapping_field (m, "gateway-address"), FALSE, &address, error) ||
      !sm_json_get_uint (gateway, where, sm_mapping_field (m, "gateway-port"), TRUE, &port, error) ||
      !sm_json_get_string (gateway, where, sm_mapping_field (m, "gateway-encryption"), TRUE, &encryption, error) ||
      !sm_json_get_boolean (gateway, where, sm_mapping_field (m, "gateway-auth"), TRUE, &auth, error) ||
      !sm_json_get_string (gateway, where, sm_mapping_field (m, "gateway-username"), TRUE, &user, error))
    return NULL;
  if (port > 65535)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s: port %u is out of range", where, port),
           NULL;
  relay = smarthost_relay_new (address);
  if (encryption == NULL || g_str_equal (encryption, sm_mapping_value (m, "encryption-none")))
    smarthost_relay_set_security (relay, SMARTHOST_SECURITY_NONE);
  else if (g_str_equal (encryption, sm_mapping_value (m, "encryption-starttls")))
    smarthost_relay_set_security (relay, SMARTHOST_SECURITY_STARTTLS);
  else if (g_str_equal (encryption, sm_mapping_value (m, "encryption-tls")))
    smarthost_relay_set_security (relay, SMARTHOST_SECURITY_TLS);
  else
    {
      g_autofree char *quoted = _smarthost_quote (encryption, -1);
      return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                          "%s: the encryption %s is not one the mapping knows (see schema-check)", where, quoted),
             NULL;
    }
  if (port != 0)
    smarthost_relay_set_port (relay, port);
  /* Authentication on: there is a password, which SmarterMail never sends. */
  if (auth && user != NULL && *user != '\0')
    {
      smarthost_relay_set_username (relay, user);
      _smarthost_relay_mark_password_set (relay);
    }
  if (!_smarthost_relay_check (relay, TRUE, error))
    return g_prefix_error (error, "%s: ", where), NULL;
  return g_steal_pointer (&relay);
}

/* The round-robin gateway that is the server-wide smarthost: the enabled
 * one; NULL without an error when there is none. */
/* The server-wide smarthost's gateway into *@found (NULL for none);
 * FALSE, with @error, when which one it is cannot be told. */
static gboolean
server_gateway (SmMapping  *m,
                SmRead     *r,
                json_t    **out,
                GError    **error)
{
  g_autoptr(GString) ids = g_string_new (NULL);
  json_t *found = NULL;
  guint n = 0;

  for (guint i = 0; i < r->gateways->len; i++)
    {
      json_t *g = g_ptr_array_index (r->gateways, i);
      g_autofree char *id = NULL;

      if (!gateway_is (m, g, "gateway-mode", "mode-round-robin") || !gateway_enabled (m, g))
        continue;
      id = gateway_id (m, g);
      g_string_append_printf (ids, "%s%s", n ? ", " : "", id ? id : "?");
      found = g;
      n++;
    }
  if (n > 1)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_CONFLICT,
                   "SmarterMail has %u enabled round-robin gateways (%s): the library does not guess which "
                   "is the server-wide smarthost; disable or delete all but one", n, ids->str);
      return FALSE;
    }
  *out = found;
  return TRUE;
}

/* The relay of a domain's gateway; NULL without an error for none (or a
 * gateway disabled or gone). */
static SmarthostRelay *
domain_relay (SmMapping   *m,
              SmRead      *r,
              const char  *domain,
              GError     **error)
{
  const char *id = g_hash_table_lookup (r->assigned, domain);
  json_t *g = gateway_by_id (m, r, id);

  if (g == NULL || !gateway_enabled (m, g))
    return NULL;
  return relay_of_gateway (m, g, error);
}

static SmarthostState *
state_of (SmMapping  *m,
          SmRead     *r,
          GError    **error)
{
  g_autoptr(SmarthostState) state = smarthost_state_new ();
  g_autoptr(GError) local_error = NULL;
  json_t *server = NULL;
  GHashTableIter iter;
  gpointer key;

  smarthost_state_set_backend_name (state, "smartermail");
  if (!server_gateway (m, r, &server, error))
    return NULL;
  if (server != NULL)
    {
      g_autoptr(SmarthostRelay) relay = relay_of_gateway (m, server, error);
      if (relay == NULL)
        return NULL;
      smarthost_state_set_server (state, relay);
    }
  g_hash_table_iter_init (&iter, r->assigned);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_autoptr(SmarthostRelay) relay = domain_relay (m, r, key, &local_error);

      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      if (relay != NULL && !smarthost_state_set_domain (state, key, relay, error))
        return NULL;
    }
  return g_steal_pointer (&state);
}

static SmarthostState *
smarthost_smartermail_backend_get_state (SmarthostBackend  *backend,
                                         GCancellable      *cancellable,
                                         GError           **error)
{
  SmarthostSmarterMailBackend *self = SMARTHOST_SMARTERMAIL_BACKEND (backend);
  g_autoptr(SmRead) r = read_server (self, TRUE, NULL, cancellable, error);

  if (r == NULL)
    return NULL;
  return state_of (sm_client_get_mapping (self->client), r, error);
}

static SmarthostRelay *
smarthost_smartermail_backend_get_server (SmarthostBackend  *backend,
                                          GCancellable      *cancellable,
                                          GError           **error)
{
  SmarthostSmarterMailBackend *self = SMARTHOST_SMARTERMAIL_BACKEND (backend);
  g_autoptr(SmRead) r = read_server (self, FALSE, NULL, cancellable, error);
  json_t *g = NULL;

  if (r == NULL || !server_gateway (sm_client_get_mapping (self->client), r, &g, error))
    return NULL;
  return g ? relay_of_gateway (sm_client_get_mapping (self->client), g, error) : NULL;
}

static SmarthostRelay *
smarthost_smartermail_backend_get_domain (SmarthostBackend  *backend,
                                          const char        *domain,
                                          GCancellable      *cancellable,
                                          GError           **error)
{
  SmarthostSmarterMailBackend *self = SMARTHOST_SMARTERMAIL_BACKEND (backend);
  g_autofree char *normalized = smarthost_domain_normalize (domain, error);
  g_autoptr(SmRead) r = NULL;
  g_autoptr(GError) local_error = NULL;

  if (normalized == NULL)
    return NULL;
  r = read_server (self, TRUE, NULL, cancellable, error);
  if (r == NULL)
    return NULL;
  return domain_relay (sm_client_get_mapping (self->client), r, normalized, error);
}

static GHashTable *
smarthost_smartermail_backend_get_domains (SmarthostBackend  *backend,
                                           GCancellable      *cancellable,
                                           GError           **error)
{
  g_autoptr(SmarthostState) state = smarthost_smartermail_backend_get_state (backend, cancellable, error);
  g_autoptr(GHashTable) domains = NULL;
  g_auto(GStrv) names = NULL;

  if (state == NULL)
    return NULL;
  domains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  names = smarthost_state_list_domains (state);
  for (guint i = 0; names[i]; i++)
    g_hash_table_insert (domains, g_strdup (names[i]), g_object_ref (smarthost_state_get_domain (state, names[i])));
  return g_steal_pointer (&domains);
}

static char **
smarthost_smartermail_backend_list_domains (SmarthostBackend  *backend,
                                            GCancellable      *cancellable,
                                            GError           **error)
{
  g_autoptr(SmarthostState) state = smarthost_smartermail_backend_get_state (backend, cancellable, error);

  return state ? smarthost_state_list_domains (state) : NULL;
}

/* --- the change ---------------------------------------------------------------- */

static gboolean
keeps_password (SmarthostRelay *relay)
{
  return smarthost_relay_get_username (relay) != NULL && smarthost_relay_get_password (relay) == NULL &&
         smarthost_relay_get_password_set (relay);
}

/* Relays that can share a gateway: same host, port, security and
 * credentials (a kept password is a credential of its own). */
static char *
relay_key_full (SmarthostRelay *relay,
                gboolean        as_kept)
{
  g_autofree char *host = g_ascii_strdown (smarthost_relay_get_host (relay), -1);
  const char *user = smarthost_relay_get_username (relay);
  const char *password = as_kept ? NULL : smarthost_relay_get_password (relay);
  gboolean set = user != NULL && (as_kept || smarthost_relay_get_password_set (relay));

  return g_strdup_printf ("%s\n%u\n%d\n%s\n%s%s", host, smarthost_relay_get_effective_port (relay),
                          (int) smarthost_relay_get_security (relay), user ? user : "",
                          password ? "p" : (set ? "k" : "-"), password ? password : "");
}

static char *
relay_key (SmarthostRelay *relay)
{
  return relay_key_full (relay, FALSE);
}

/* Whether @want is what gateway @id has (its relay @cur): equal, or equal
 * but for a password given that the gateway's verifier recognizes. */
static gboolean
relays_match (GHashTable     *verifiers,
              SmarthostRelay *cur,
              const char     *id,
              SmarthostRelay *want)
{
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  gboolean same;

  if (smarthost_relay_equal (cur, want))
    return TRUE;
  if (smarthost_relay_get_password (want) == NULL || !keeps_password (cur) || id == NULL)
    return FALSE;
  a = relay_key_full (cur, TRUE);
  b = relay_key_full (want, TRUE);
  same = g_str_equal (a, b);
  _smarthost_secret_free (g_steal_pointer (&b));
  return same && sm_verifier_check (g_hash_table_lookup (verifiers, id), smarthost_relay_get_password (want));
}

/* Notes what the commit will know of a gateway's password. */
static void
note_verifier (GHashTable     *table,
               const char     *key,
               SmarthostRelay *relay)
{
  if (smarthost_relay_get_username (relay) == NULL)
    g_hash_table_remove (table, key);
  else if (smarthost_relay_get_password (relay) != NULL)
    {
      char *v = sm_verifier_new (smarthost_relay_get_password (relay));
      if (v != NULL)
        g_hash_table_replace (table, g_strdup (key), v);
      else
        g_hash_table_remove (table, key);
    }
}

static const char *
encryption_of (SmMapping      *m,
               SmarthostRelay *relay)
{
  switch (smarthost_relay_get_security (relay))
    {
    case SMARTHOST_SECURITY_STARTTLS:
      return sm_mapping_value (m, "encryption-starttls");
    case SMARTHOST_SECURITY_TLS:
      return sm_mapping_value (m, "encryption-tls");
    case SMARTHOST_SECURITY_NONE:
    default:
      return sm_mapping_value (m, "encryption-none");
    }
}

/* @base (a gateway as read, or an empty object) with our members set to
 * @relay's; the password is the caller's. */
static json_t *
gateway_for_relay (SmMapping      *m,
                   json_t         *base,
                   SmarthostRelay *relay,
                   const char     *mode_key)
{
  json_t *g = base ? sm_json_copy (base) : sm_json_new_object ();
  const char *user = smarthost_relay_get_username (relay);

  sm_json_set_string (g, sm_mapping_field (m, "gateway-address"), smarthost_relay_get_host (relay));
  sm_json_set_int (g, sm_mapping_field (m, "gateway-port"), smarthost_relay_get_effective_port (relay));
  sm_json_set_string (g, sm_mapping_field (m, "gateway-encryption"), encryption_of (m, relay));
  sm_json_set_boolean (g, sm_mapping_field (m, "gateway-enabled"), TRUE);
  if (mode_key != NULL)
    sm_json_set_string (g, sm_mapping_field (m, "gateway-mode"), sm_mapping_value (m, mode_key));
  sm_json_set_boolean (g, sm_mapping_field (m, "gateway-auth"), user != NULL);
  sm_json_set_string (g, sm_mapping_field (m, "gateway-username"), user ? user : "");
  sm_json_remove (g, sm_mapping_field (m, "gateway-password"));
  return g;
}

static gboolean
need_password (SmarthostRelay  *relay,
               const char      *who,
               GError         **error)
{
  if (!keeps_password (relay))
    return TRUE;
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
               "password: %s needs a new SmarterMail gateway, and SmarterMail never sends a stored password "
               "back to copy: give the password", who);
  return FALSE;
}

/* A change being built: the operations by kind, in the order they run. */
typedef struct {
  GPtrArray *creates, *updates, *assigns, *unassigns, *deletes;
} Plan;

static void
plan_clear (Plan *p)
{
  g_clear_pointer (&p->creates, g_ptr_array_unref);
  g_clear_pointer (&p->updates, g_ptr_array_unref);
  g_clear_pointer (&p->assigns, g_ptr_array_unref);
  g_clear_pointer (&p->unassigns, g_ptr_array_unref);
  g_clear_pointer (&p->deletes, g_ptr_array_unref);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Plan, plan_clear)

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static GPtrArray *
sorted_keys (GHashTable *table)
{
  GPtrArray *keys = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (keys, key);
  g_ptr_array_sort (keys, compare_strings);
  return keys;
}

static gboolean
gateway_authenticates (SmMapping *m,
                       json_t    *gateway)
{
  return sm_gateway_flag (m, gateway, "gateway-auth", FALSE);
}

static gboolean
build_domains (SmarthostSmarterMailBackend  *self,
               SmMapping                    *m,
               SmRead                       *r,
               SmarthostState               *current,
               SmarthostState               *desired,
               GHashTable                   *verifiers,
               GHashTable                   *new_verifiers,
               Plan                         *plan,
               GError                      **error)
{
  /* key of a relay → the gateway id, or the create operation, its domains use */
  g_autoptr(GHashTable) targets = g_hash_table_new_full (g_str_hash, g_str_equal, (GDestroyNotify) _smarthost_secret_free, g_object_unref);
  g_autoptr(GHashTable) target_ids = g_hash_table_new_full (g_str_hash, g_str_equal, (GDestroyNotify) _smarthost_secret_free, g_free);
  g_autoptr(GHashTable) changed = g_hash_table_new (g_str_hash, g_str_equal);   /* domain → desired relay or NULL */
  g_autoptr(GHashTable) handled = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) users = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                       (GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GHashTable) final_use = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) all = g_hash_table_new (g_str_hash, g_str_equal);
  g_auto(GStrv) cur_names = smarthost_state_list_domains (current);
  g_auto(GStrv) want_names = smarthost_state_list_domains (desired);
  g_autoptr(GPtrArray) domains = NULL;
  g_autoptr(GPtrArray) gateway_ids = NULL;

  (void) self;
  for (guint i = 0; cur_names[i]; i++)
    g_hash_table_add (all, cur_names[i]);
  for (guint i = 0; want_names[i]; i++)
    g_hash_table_add (all, want_names[i]);
  domains = sorted_keys (all);

  /* Which domains change; the gateways of the others are targets too. */
  for (guint i = 0; i < domains->len; i++)
    {
      const char *d = g_ptr_array_index (domains, i);
      SmarthostRelay *cur = smarthost_state_get_domain (current, d);
      SmarthostRelay *want = smarthost_state_get_domain (desired, d);

      if (want != NULL && !g_hash_table_contains (r->names, d))
        {
          g_autofree char *quoted = _smarthost_quote (d, -1);
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                       "domain: SmarterMail has no domain %s: add it there first", quoted);
          return FALSE;
        }
      if ((cur == NULL && want == NULL) ||
          (cur != NULL && want != NULL && relays_match (verifiers, cur, g_hash_table_lookup (r->assigned, d), want)))
        {
          if (cur != NULL)
            {
              g_autofree char *key = relay_key (cur);
              if (!g_hash_table_contains (target_ids, key))
                g_hash_table_insert (target_ids, g_steal_pointer (&key),
                                     g_strdup (g_hash_table_lookup (r->assigned, d)));
            }
          continue;
        }
      g_hash_table_insert (changed, (gpointer) d, want);
    }

  /* The domains of each gateway, now. */
  for (guint i = 0; i < domains->len; i++)
    {
      const char *d = g_ptr_array_index (domains, i);
      const char *id = g_hash_table_lookup (r->assigned, d);
      GPtrArray *list;

      if (id == NULL || *id == '\0' || gateway_by_id (m, r, id) == NULL)
        continue;
      list = g_hash_table_lookup (users, id);
      if (list == NULL)
        g_hash_table_insert (users, g_strdup (id), list = g_ptr_array_new ());
      g_ptr_array_add (list, (gpointer) d);
    }

  /* A gateway of ours whose domains all move to one new relay is updated
   * in place, keeping its id (and so every assignment). */
  gateway_ids = sorted_keys (users);
  for (guint i = 0; i < gateway_ids->len; i++)
    {
      const char *id = g_ptr_array_index (gateway_ids, i);
      GPtrArray *list = g_hash_table_lookup (users, id);
      json_t *g = gateway_by_id (m, r, id);
      SmarthostRelay *want = NULL;
      g_autofree char *key = NULL;
      g_autoptr(json_t) updated = NULL;
      gboolean same = TRUE;

      if (!gateway_is_ours (m, g) || !gateway_is (m, g, "gateway-mode", "mode-specific-domains"))
        continue;
      for (guint k = 0; k < list->len && same; k++)
        {
          gpointer value;
          if (!g_hash_table_lookup_extended (changed, list->pdata[k], NULL, &value) || value == NULL)
            same = FALSE;
          else if (want == NULL)
            want = value;
          else if (!smarthost_relay_equal (want, value))
            same = FALSE;
        }
      if (!same || want == NULL)
        continue;
      key = relay_key (want);
      if (g_hash_table_contains (target_ids, key) || g_hash_table_contains (targets, key))
        continue;
      updated = gateway_for_relay (m, g, want, NULL);
      note_verifier (new_verifiers, id, want);
      if (!sm_json_equal_except (updated, g, NULL, NULL) || smarthost_relay_get_password (want) != NULL)
        g_ptr_array_add (plan->updates,
                         sm_request_new_update (self, id, g, updated, smarthost_relay_get_password (want),
                                                smarthost_relay_get_password (want) != NULL &&
                                                  gateway_authenticates (m, g)));
      g_hash_table_insert (target_ids, g_steal_pointer (&key), g_strdup (id));
      for (guint k = 0; k < list->len; k++)
        g_hash_table_add (handled, list->pdata[k]);
    }

  /* Every other changed domain: to the gateway of its relay, made if none. */
  for (guint i = 0; i < domains->len; i++)
    {
      const char *d = g_ptr_array_index (domains, i);
      const char *name = g_hash_table_lookup (r->names, d);
      const char *old_id = g_hash_table_lookup (r->assigned, d);
      gpointer value;
      SmarthostRelay *want;
      g_autofree char *key = NULL;
      const char *id;
      SmarthostOperation *create;

      if (!g_hash_table_lookup_extended (changed, d, NULL, &value) || g_hash_table_contains (handled, d))
        continue;
      want = value;
      if (want == NULL)
        {
          if (old_id != NULL && *old_id != '\0')
            g_ptr_array_add (plan->unassigns, sm_request_new_assign (self, name, old_id, "", NULL));
          continue;
        }
      key = relay_key (want);
      id = g_hash_table_lookup (target_ids, key);
      create = g_hash_table_lookup (targets, key);
      if (id == NULL && create == NULL && smarthost_relay_get_password (want) != NULL)
        {
          /* The gateway of an equal relay, whose password is this one. */
          g_autofree char *kept = relay_key_full (want, TRUE);
          const char *candidate = g_hash_table_lookup (target_ids, kept);

          if (candidate != NULL &&
              sm_verifier_check (g_hash_table_lookup (verifiers, candidate), smarthost_relay_get_password (want)))
            id = candidate;
        }
      if (id == NULL && create == NULL)
        {
          g_autoptr(json_t) g = NULL;
          g_autofree char *who = g_strdup_printf ("the smarthost of %s", d);

          if (!need_password (want, who, error))
            return FALSE;
          g = gateway_for_relay (m, NULL, want, "mode-specific-domains");
          create = sm_request_new_create (self, g, smarthost_relay_get_password (want));
          g_ptr_array_add (plan->creates, create);
          {
            g_autofree char *token_key = g_strconcat ("token:", sm_request_get_token (create), NULL);
            note_verifier (new_verifiers, token_key, want);
          }
          g_hash_table_insert (targets, g_strdup (key), g_object_ref (create));
        }
      if (id != NULL && g_strcmp0 (id, old_id) == 0)
        continue;
      g_ptr_array_add (plan->assigns, sm_request_new_assign (self, name, old_id, id, id ? NULL : create));
      if (id != NULL)
        g_hash_table_add (final_use, g_strdup (id));
    }

  /* The gateways of ours that no domain uses any more go. */
  for (guint i = 0; i < domains->len; i++)
    {
      const char *d = g_ptr_array_index (domains, i);
      const char *id = g_hash_table_lookup (r->assigned, d);
      gpointer value;

      if (id == NULL || *id == '\0')
        continue;
      if (!g_hash_table_lookup_extended (changed, d, NULL, &value) || g_hash_table_contains (handled, d))
        g_hash_table_add (final_use, g_strdup (id));
    }
  for (guint i = 0; i < gateway_ids->len; i++)
    {
      const char *id = g_ptr_array_index (gateway_ids, i);
      json_t *g = gateway_by_id (m, r, id);

      if (gateway_is_ours (m, g) && gateway_is (m, g, "gateway-mode", "mode-specific-domains") &&
          !g_hash_table_contains (final_use, id))
        {
          g_ptr_array_add (plan->deletes, sm_request_new_delete (self, id, g));
          g_hash_table_remove (new_verifiers, id);
        }
    }
  return TRUE;
}

static char *smarthost_smartermail_backend_get_state_directory (SmarthostBackend  *backend,
                                                                GError           **error);

static gboolean
smarthost_smartermail_backend_build_change (SmarthostBackend  *backend,
                                            SmarthostChange   *change,
                                            GCancellable      *cancellable,
                                            GError           **error)
{
  SmarthostSmarterMailBackend *self = SMARTHOST_SMARTERMAIL_BACKEND (backend);
  g_auto(Plan) plan = { 0 };
  g_autoptr(SmRead) r = NULL;
  g_autoptr(SmarthostState) current = NULL;
  g_autoptr(SmarthostState) desired = NULL;
  SmarthostRelay *want_server;
  g_autoptr(SmarthostRelay) cur_server = NULL;
  json_t *server_g = NULL;
  g_auto(GStrv) names = NULL;
  SmMapping *m;
  GPtrArray *lists[5];
  gboolean first = TRUE;
  g_autofree char *dir = NULL;
  g_autofree char *verifiers_text = NULL;
  g_autofree char *server_id = NULL;
  g_autofree char *token_key = NULL;
  g_autoptr(GHashTable) verifiers = NULL;
  g_autoptr(GHashTable) new_verifiers = NULL;
  SmarthostOperation *op;

  dir = smarthost_smartermail_backend_get_state_directory (backend, error);
  if (dir == NULL)
    return FALSE;
  r = read_server (self, TRUE, NULL, cancellable, error);
  if (r == NULL)
    return FALSE;
  m = sm_client_get_mapping (self->client);
  verifiers = sm_verifiers_read (dir, &verifiers_text, error);
  if (verifiers == NULL)
    return FALSE;
  /* Gateways created by a commit are known by their token until now. */
  for (guint i = 0; i < r->gateways->len; i++)
    {
      json_t *g = g_ptr_array_index (r->gateways, i);
      g_autofree char *d = NULL;
      g_autofree char *id = gateway_id (m, g);
      g_autofree char *tkey = NULL;
      char *v;

      sm_json_get_string (g, "gateway", sm_mapping_field (m, "gateway-description"), TRUE, &d, NULL);
      if (id == NULL || d == NULL || !g_str_has_prefix (d, DESCRIPTION_PREFIX " "))
        continue;
      tkey = g_strconcat ("token:", d + strlen (DESCRIPTION_PREFIX " "), NULL);
      if ((v = g_hash_table_lookup (verifiers, tkey)) != NULL)
        {
          g_hash_table_replace (verifiers, g_strdup (id), g_strdup (v));
          g_hash_table_remove (verifiers, tkey);
        }
    }
  /* Verifiers of gateways gone are dropped. */
  {
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init (&iter, verifiers);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      if (!g_str_has_prefix (key, "token:") && gateway_by_id (m, r, key) == NULL)
        g_hash_table_iter_remove (&iter);
  }
  new_verifiers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  {
    GHashTableIter iter;
    gpointer key, value;

    g_hash_table_iter_init (&iter, verifiers);
    while (g_hash_table_iter_next (&iter, &key, &value))
      g_hash_table_insert (new_verifiers, g_strdup (key), g_strdup (value));
  }
  current = state_of (m, r, error);
  if (current == NULL)
    return FALSE;
  desired = smarthost_change_apply_to (change, current);

  if (self->admin_password != NULL)
    smarthost_change_add_secret (change, self->admin_password);
  if (smarthost_state_get_server (desired) && smarthost_relay_get_password (smarthost_state_get_server (desired)))
    smarthost_change_add_secret (change, smarthost_relay_get_password (smarthost_state_get_server (desired)));
  names = smarthost_state_list_domains (desired);
  for (guint i = 0; names[i]; i++)
    {
      SmarthostRelay *relay = smarthost_state_get_domain (desired, names[i]);
      if (smarthost_relay_get_password (relay))
        smarthost_change_add_secret (change, smarthost_relay_get_password (relay));
    }
  if (self->insecure)
    {
      g_autofree char *note = g_strdup_printf ("certificate verification is off (insecure): the requests to %s "
                                               "trust whoever answers", sm_client_get_url (self->client));
      smarthost_change_add_note (change, note);
    }

  plan.creates = g_ptr_array_new_with_free_func (g_object_unref);
  plan.updates = g_ptr_array_new_with_free_func (g_object_unref);
  plan.assigns = g_ptr_array_new_with_free_func (g_object_unref);
  plan.unassigns = g_ptr_array_new_with_free_func (g_object_unref);
  plan.deletes = g_ptr_array_new_with_free_func (g_object_unref);

  /* The server-wide smarthost: the round-robin gateway. */
  if (!server_gateway (m, r, &server_g, error))
    return FALSE;
  if (server_g != NULL && (cur_server = relay_of_gateway (m, server_g, error)) == NULL)
    return FALSE;
  want_server = smarthost_state_get_server (desired);
  if (want_server == NULL && server_g != NULL)
    {
      g_autofree char *id = gateway_id (m, server_g);
      g_ptr_array_add (plan.deletes, sm_request_new_delete (self, id, server_g));
      g_hash_table_remove (new_verifiers, id);
    }
  else if (want_server != NULL && server_g != NULL &&
           !relays_match (verifiers, cur_server, server_id = gateway_id (m, server_g), want_server))
    {
      g_autofree char *id = gateway_id (m, server_g);

      note_verifier (new_verifiers, id, want_server);
      g_autoptr(json_t) updated = gateway_for_relay (m, server_g, want_server, NULL);
      gboolean auth = gateway_authenticates (m, server_g);

      g_ptr_array_add (plan.updates,
                       sm_request_new_update (self, id, server_g, updated, smarthost_relay_get_password (want_server),
                                              auth && smarthost_relay_get_password (want_server) != NULL));
    }
  else if (want_server != NULL && server_g == NULL)
    {
      g_autoptr(json_t) g = NULL;

      if (!need_password (want_server, "the server-wide smarthost", error))
        return FALSE;
      g = gateway_for_relay (m, NULL, want_server, "mode-round-robin");
      op = sm_request_new_create (self, g, smarthost_relay_get_password (want_server));
      g_ptr_array_add (plan.creates, op);
      token_key = g_strconcat ("token:", sm_request_get_token (op), NULL);
      note_verifier (new_verifiers, token_key, want_server);
    }

  if (!build_domains (self, m, r, current, desired, verifiers, new_verifiers, &plan, error))
    return FALSE;

  lists[0] = plan.creates;
  lists[1] = plan.updates;
  lists[2] = plan.assigns;
  lists[3] = plan.unassigns;
  lists[4] = plan.deletes;
  for (guint l = 0; l < G_N_ELEMENTS (lists); l++)
    for (guint i = 0; i < lists[l]->len; i++)
      {
        SmarthostOperation *request = g_ptr_array_index (lists[l], i);
        if (first)
          sm_request_set_first (request);
        first = FALSE;
        smarthost_change_add_operation (change, request);
      }
  /* What the commit knows of the passwords it set goes with it. */
  if (!first)
    {
      g_autofree char *path = g_build_filename (dir, SM_VERIFIERS_FILE, NULL);
      g_autofree char *masked_new = NULL;
      g_autofree char *masked_old = NULL;
      g_autofree char *new_text = sm_verifiers_to_text (new_verifiers, &masked_new);

      if (verifiers_text != NULL)
        masked_old = sm_verifiers_mask_text (verifiers_text);
      if (g_strcmp0 (verifiers_text, new_text) != 0)
        {
          SmarthostOperation *file = smarthost_file_operation_new (path, verifiers_text, new_text, 0600);
          smarthost_file_operation_set_masked (SMARTHOST_FILE_OPERATION (file), masked_old ? masked_old : "",
                                               masked_new);
          smarthost_change_add_operation (change, file);
          g_object_unref (file);
        }
    }
  return TRUE;
}

/* --- the rest of the interface -------------------------------------------------- */

static const char *
smarthost_smartermail_backend_get_name (SmarthostBackend *backend)
{
  return "smartermail";
}

static SmarthostCapabilities
smarthost_smartermail_backend_get_capabilities (SmarthostBackend *backend)
{
  return SMARTHOST_CAPABILITY_SERVER_RELAY | SMARTHOST_CAPABILITY_DOMAIN_RELAY |
         SMARTHOST_CAPABILITY_DOMAIN_CREDENTIALS | SMARTHOST_CAPABILITY_STARTTLS |
         SMARTHOST_CAPABILITY_IMPLICIT_TLS | SMARTHOST_CAPABILITY_PREVIEW | SMARTHOST_CAPABILITY_CRASH_SAFE;
}

/* What a gateway cannot carry is refused, never dropped. */
static gboolean
smarthost_smartermail_backend_validate_relay (SmarthostBackend  *backend,
                                              SmarthostRelay    *relay,
                                              GError           **error)
{
  if (smarthost_relay_get_ca_file (relay) != NULL)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED,
                        "ca-file: SmarterMail cannot use a CA file of the relay's own: its gateways have no such "
                        "setting (it trusts the certificates Windows trusts)"), FALSE;
  if (!smarthost_relay_get_verify_certificate (relay) &&
      smarthost_relay_get_security (relay) != SMARTHOST_SECURITY_NONE)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED,
                        "verify-certificate: SmarterMail cannot turn certificate verification off for a "
                        "gateway: its gateways have no such setting"), FALSE;
  if (smarthost_relay_get_mx_lookup (relay))
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED,
                        "mx-lookup: SmarterMail cannot look up the MX records of a gateway's address: a "
                        "gateway is one server address"), FALSE;
  return TRUE;
}

/* The host (and port, if given) the default state directory is named after. */
static char *
smarthost_smartermail_backend_get_state_directory (SmarthostBackend  *backend,
                                                   GError           **error)
{
  SmarthostSmarterMailBackend *self = SMARTHOST_SMARTERMAIL_BACKEND (backend);
  g_autoptr(GUri) uri = NULL;
  g_autofree char *url = NULL;
  char *dir;

  if (self->state_directory != NULL)
    dir = g_strdup (self->state_directory);
  else
    {
      g_autofree char *name = NULL;

      url = check_url (self->url, &uri, error);
      if (url == NULL)
        return NULL;
      if (g_uri_get_port (uri) > 0)
        name = g_strdup_printf ("smartermail-%s-%d", g_uri_get_host (uri), g_uri_get_port (uri));
      else
        name = g_strdup_printf ("smartermail-%s", g_uri_get_host (uri));
      dir = smarthost_backend_get_default_state_directory (name);
    }
  register_directory (self, dir);
  return dir;
}

static GPtrArray *
smarthost_smartermail_backend_list_settings (SmarthostBackend *backend)
{
  GPtrArray *settings = g_ptr_array_new_with_free_func (g_object_unref);

  g_ptr_array_add (settings,
                   smarthost_backend_setting_new ("url", SMARTHOST_SETTING_TYPE_STRING,
                                                  "The SmarterMail server, such as https://mail.example.com "
                                                  "(http only to 127.0.0.1, ::1 or localhost)", FALSE));
  g_ptr_array_add (settings,
                   smarthost_backend_setting_new ("admin", SMARTHOST_SETTING_TYPE_STRING,
                                                  "The system administrator's user name", FALSE));
  g_ptr_array_add (settings,
                   smarthost_backend_setting_new ("admin-password", SMARTHOST_SETTING_TYPE_STRING,
                                                  "The system administrator's password", TRUE));
  g_ptr_array_add (settings,
                   smarthost_backend_setting_new ("ca-file", SMARTHOST_SETTING_TYPE_PATH,
                                                  "Trust only the CAs in this file for the server's certificate "
                                                  "(default: the system's CAs)", FALSE));
  g_ptr_array_add (settings,
                   smarthost_backend_setting_new ("insecure", SMARTHOST_SETTING_TYPE_BOOLEAN,
                                                  "Do not verify the server's certificate (every command then "
                                                  "warns; default false)", FALSE));
  g_ptr_array_add (settings,
                   smarthost_backend_setting_new ("timeout", SMARTHOST_SETTING_TYPE_UINT,
                                                  "Seconds each request may take (default 30, 1 to 3600); the "
                                                  "requests of a commit, 10 times that together", FALSE));
  g_ptr_array_add (settings,
                   smarthost_backend_setting_new ("state-directory", SMARTHOST_SETTING_TYPE_PATH,
                                                  "Where commits keep their lock and journal (default "
                                                  "/var/lib/libsmarthost/smartermail-HOST for root, "
                                                  "$XDG_STATE_HOME/libsmarthost/smartermail-HOST otherwise)", FALSE));
  g_ptr_array_add (settings,
                   smarthost_backend_setting_new ("mapping-file", SMARTHOST_SETTING_TYPE_PATH,
                                                  "A corrected copy of the API mapping (default: the one built in, "
                                                  "installed as " SMARTHOST_DATADIR "/smartermail-mapping.json)",
                                                  FALSE));
  return settings;
}

static void
smarthost_smartermail_backend_iface_init (SmarthostBackendInterface *iface)
{
  iface->get_name = smarthost_smartermail_backend_get_name;
  iface->get_capabilities = smarthost_smartermail_backend_get_capabilities;
  iface->validate_relay = smarthost_smartermail_backend_validate_relay;
  iface->get_server = smarthost_smartermail_backend_get_server;
  iface->get_domain = smarthost_smartermail_backend_get_domain;
  iface->list_domains = smarthost_smartermail_backend_list_domains;
  iface->get_domains = smarthost_smartermail_backend_get_domains;
  iface->get_state = smarthost_smartermail_backend_get_state;
  iface->get_state_directory = smarthost_smartermail_backend_get_state_directory;
  iface->build_change = smarthost_smartermail_backend_build_change;
  iface->list_settings = smarthost_smartermail_backend_list_settings;
}

/* --- schema-check ------------------------------------------------------------------ */

static void
add_finding (GPtrArray         *findings,
             SmarthostSeverity  severity,
             const char        *code,
             const char        *fix,
             const char        *format,
             ...) G_GNUC_PRINTF (5, 6);

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

#define FIX_MAPPING "correct it in a copy of smartermail-mapping.json (see the server's Settings > API " \
                    "Documentation) and set mapping-file to that copy"

static void
check_field (GPtrArray  *findings,
             SmMapping  *m,
             const char *key,
             json_t     *object,
             const char *where)
{
  const char *name = sm_mapping_field (m, key);

  if (!g_str_equal (sm_mapping_source (m, "fields", key), "unconfirmed"))
    return;
  if (object == NULL)
    add_finding (findings, SMARTHOST_SEVERITY_INFO, "field-not-checked", "",
                 "field %s (\"%s\"): not checked: %s", key, name, where);
  else if (sm_json_has (object, name))
    add_finding (findings, SMARTHOST_SEVERITY_INFO, "field-found", "",
                 "field %s (\"%s\") is in %s", key, name, where);
  else
    add_finding (findings, SMARTHOST_SEVERITY_WARNING, "field-missing", FIX_MAPPING,
                 "field %s (\"%s\") is not in %s", key, name, where);
}

/* Reports an endpoint that was asked; returns the reply when it answered. */
static json_t *
check_endpoint (GPtrArray     *findings,
                SmClient      *client,
                const char    *endpoint,
                const char    *argument,
                GCancellable  *cancellable,
                GError       **error)
{
  SmMapping *m = sm_client_get_mapping (client);
  g_autofree char *path = sm_mapping_path (m, endpoint, argument);
  g_autoptr(GError) local_error = NULL;
  json_t *reply;
  guint status = 0;

  reply = sm_client_probe (client, endpoint, argument, &status, cancellable, &local_error);
  if (local_error != NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || status == 0)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
    }
  if (status >= 200 && status < 300 && reply != NULL)
    add_finding (findings, SMARTHOST_SEVERITY_INFO, "endpoint-found", "",
                 "endpoint %s (%s %s) answered", endpoint, sm_mapping_method (m, endpoint), path);
  else
    {
      add_finding (findings, SMARTHOST_SEVERITY_WARNING, "endpoint-missing", FIX_MAPPING,
                   "endpoint %s (%s %s) answered HTTP %u%s", endpoint, sm_mapping_method (m, endpoint), path,
                   status, reply == NULL ? ", not with a JSON object" : "");
      g_clear_pointer (&reply, _smarthost_json_free_wiped);
    }
  return reply;
}

/**
 * smarthost_smartermail_backend_schema_check:
 * @self: a SmarterMail backend
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Asks the server, with read-only requests only, whether each endpoint of
 * the mapping that is not confirmed answers, and whether each field that
 * is not confirmed is present, so that an administrator can check or
 * correct the mapping (the `mapping-file` setting) before the first
 * change. Requests that would change something (creating, updating or
 * deleting a gateway, refreshing a login) are never sent: they are
 * reported as not checked.
 *
 * Each finding's code is `endpoint-found`, `endpoint-missing`,
 * `endpoint-not-checked`, `field-found`, `field-missing`,
 * `field-not-checked`, `value-found` or `value-unseen`; what is missing
 * is a warning, the rest information.
 *
 * Returns: (transfer container) (element-type SmarthostFinding): the
 *   findings, or %NULL with @error set when the server cannot be reached
 *   or the login fails
 */
GPtrArray *
smarthost_smartermail_backend_schema_check (SmarthostSmarterMailBackend  *self,
                                            GCancellable                 *cancellable,
                                            GError                      **error)
{
  g_autoptr(GPtrArray) findings = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(SmarthostWipedJson) gateways_reply = NULL;
  g_autoptr(json_t) domains_reply = NULL;
  g_autoptr(json_t) domain_reply = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GPtrArray) gateways = NULL;
  g_autoptr(GPtrArray) domains = NULL;
  g_autofree char *first_domain = NULL;
  json_t *gateway = NULL;
  json_t *settings = NULL;
  SmClient *client;
  SmMapping *m;

  g_return_val_if_fail (SMARTHOST_IS_SMARTERMAIL_BACKEND (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  client = sm_backend_get_client (self, error);
  if (client == NULL)
    return NULL;
  m = sm_client_get_mapping (client);

  /* Writes are never sent. */
  for (guint i = 0; sm_mapping_endpoint_keys[i]; i++)
    {
      const char *key = sm_mapping_endpoint_keys[i];
      g_autofree char *path = sm_mapping_path (m, key, g_str_equal (key, "domain-update") ? "DOMAIN" : "ID");

      if (g_str_equal (sm_mapping_source (m, "endpoints", key), "unconfirmed") &&
          !g_str_equal (sm_mapping_method (m, key), "GET"))
        add_finding (findings, SMARTHOST_SEVERITY_INFO, "endpoint-not-checked",
                     "check it in the server's Settings > API Documentation",
                     "endpoint %s (%s %s): not checked: a schema check never sends a request that could change "
                     "something", key, sm_mapping_method (m, key), path);
    }

  /* The login itself is checked by every request: a failure is the error. */
  gateways_reply = check_endpoint (findings, client, "gateways", NULL, cancellable, error);
  if (gateways_reply == NULL && error && *error)
    return NULL;
  check_field (findings, m, "gateways", gateways_reply, "the reply of the gateways endpoint");
  if (gateways_reply != NULL &&
      sm_json_get_array (gateways_reply, "gateways", sm_mapping_field (m, "gateways"), &gateways, NULL))
    for (guint i = 0; i < gateways->len && gateway == NULL; i++)
      if (json_is_object ((json_t *) g_ptr_array_index (gateways, i)))
        gateway = g_ptr_array_index (gateways, i);
  {
    static const char * const gateway_fields[] = {
      "gateway-id", "gateway-address", "gateway-port", "gateway-encryption", "gateway-enabled",
      "gateway-mode", "gateway-auth", "gateway-username", "gateway-description", NULL
    };
    for (guint i = 0; gateway_fields[i]; i++)
      check_field (findings, m, gateway_fields[i], gateway,
                   gateway ? "the first gateway" : "the server has no gateway to look at");
  }
  if (g_str_equal (sm_mapping_source (m, "fields", "gateway-password"), "unconfirmed"))
    add_finding (findings, SMARTHOST_SEVERITY_INFO, "field-not-checked", "check it in the API documentation",
                 "field gateway-password (\"%s\"): not checked: SmarterMail never sends a password back",
                 sm_mapping_field (m, "gateway-password"));
  if (g_str_equal (sm_mapping_source (m, "fields", "gateway"), "unconfirmed"))
    add_finding (findings, SMARTHOST_SEVERITY_INFO, "field-not-checked", "check it in the API documentation",
                 "field gateway (\"%s\"): not checked: only requests that change a gateway carry it",
                 sm_mapping_field (m, "gateway"));

  /* The values: seen in some gateway, or not. */
  for (guint i = 0; sm_mapping_value_keys[i]; i++)
    {
      const char *key = sm_mapping_value_keys[i];
      const char *field = g_str_has_prefix (key, "mode-") ? "gateway-mode" : "gateway-encryption";
      gboolean seen = FALSE;

      if (!g_str_equal (sm_mapping_source (m, "values", key), "unconfirmed"))
        continue;
      for (guint k = 0; gateways != NULL && k < gateways->len && !seen; k++)
        seen = gateway_is (m, g_ptr_array_index (gateways, k), field, key);
      if (seen)
        add_finding (findings, SMARTHOST_SEVERITY_INFO, "value-found", "",
                     "value %s (\"%s\") is used by a gateway", key, sm_mapping_value (m, key));
      else
        add_finding (findings, SMARTHOST_SEVERITY_INFO, "value-unseen",
                     "set up a gateway with it in the web interface, then check again",
                     "value %s (\"%s\"): no gateway uses it, so it cannot be confirmed", key,
                     sm_mapping_value (m, key));
    }

  /* The domains (the endpoint is confirmed; some of its fields are not). */
  domains_reply = sm_client_call (client, "domains", NULL, NULL, cancellable, &local_error);
  if (domains_reply == NULL && g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  check_field (findings, m, "domains", domains_reply, "the reply of the domains endpoint");
  if (domains_reply != NULL &&
      sm_json_get_array (domains_reply, "domains", sm_mapping_field (m, "domains"), &domains, NULL) &&
      domains->len > 0)
    {
      json_t *d = g_ptr_array_index (domains, 0);
      check_field (findings, m, "domain-name", d, "the first domain");
      sm_json_get_string (d, "domain", sm_mapping_field (m, "domain-name"), TRUE, &first_domain, NULL);
    }
  else
    check_field (findings, m, "domain-name", NULL, "the server lists no domain");
  if (first_domain != NULL)
    {
      g_clear_error (&local_error);
      domain_reply = sm_client_call (client, "domain-get", first_domain, NULL, cancellable, &local_error);
      if (domain_reply != NULL)
        sm_json_get_object (domain_reply, "domain", sm_mapping_field (m, "domain-settings"), &settings, NULL);
    }
  check_field (findings, m, "domain-gateway", settings,
               settings ? "the settings of the first domain" : "no domain's settings could be read");
  return g_steal_pointer (&findings);
}

/* --- GObject ------------------------------------------------------------------------ */

static void
smarthost_smartermail_backend_finalize (GObject *object)
{
  SmarthostSmarterMailBackend *self = SMARTHOST_SMARTERMAIL_BACKEND (object);

  sm_client_free (self->client);
  g_free (self->url);
  g_free (self->admin);
  _smarthost_secret_free (self->admin_password);
  g_free (self->ca_file);
  g_free (self->state_directory);
  g_free (self->mapping_file);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (smarthost_smartermail_backend_parent_class)->finalize (object);
}

static void
smarthost_smartermail_backend_get_property (GObject    *object,
                                            guint       prop_id,
                                            GValue     *value,
                                            GParamSpec *pspec)
{
  SmarthostSmarterMailBackend *self = SMARTHOST_SMARTERMAIL_BACKEND (object);

  switch (prop_id)
    {
    case PROP_URL:
      g_value_set_string (value, self->url);
      break;
    case PROP_ADMIN:
      g_value_set_string (value, self->admin);
      break;
    case PROP_CA_FILE:
      g_value_set_string (value, self->ca_file);
      break;
    case PROP_INSECURE:
      g_value_set_boolean (value, self->insecure);
      break;
    case PROP_TIMEOUT:
      g_value_set_uint (value, self->timeout);
      break;
    case PROP_STATE_DIRECTORY:
      g_value_set_string (value, self->state_directory);
      break;
    case PROP_MAPPING_FILE:
      g_value_set_string (value, self->mapping_file);
      break;
    case PROP_LOCK_TIMEOUT:
      g_value_set_uint (value, self->lock_timeout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_smartermail_backend_set_property (GObject      *object,
                                            guint         prop_id,
                                            const GValue *value,
                                            GParamSpec   *pspec)
{
  SmarthostSmarterMailBackend *self = SMARTHOST_SMARTERMAIL_BACKEND (object);

  switch (prop_id)
    {
    case PROP_URL:
      g_free (self->url);
      self->url = g_value_dup_string (value);
      break;
    case PROP_ADMIN:
      g_free (self->admin);
      self->admin = g_value_dup_string (value);
      break;
    case PROP_ADMIN_PASSWORD:
      _smarthost_secret_free (self->admin_password);
      self->admin_password = g_value_dup_string (value);
      break;
    case PROP_CA_FILE:
      g_free (self->ca_file);
      self->ca_file = g_value_dup_string (value);
      break;
    case PROP_INSECURE:
      self->insecure = g_value_get_boolean (value);
      break;
    case PROP_TIMEOUT:
      self->timeout = g_value_get_uint (value);
      break;
    case PROP_STATE_DIRECTORY:
      g_free (self->state_directory);
      self->state_directory = g_value_dup_string (value);
      break;
    case PROP_MAPPING_FILE:
      g_free (self->mapping_file);
      self->mapping_file = g_value_dup_string (value);
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
smarthost_smartermail_backend_class_init (SmarthostSmarterMailBackendClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags construct = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

  /* Recovery rebuilds the requests from their journal records. */
  g_type_ensure (SMARTHOST_TYPE_SMARTERMAIL_REQUEST_OPERATION);

  object_class->finalize = smarthost_smartermail_backend_finalize;
  object_class->get_property = smarthost_smartermail_backend_get_property;
  object_class->set_property = smarthost_smartermail_backend_set_property;

  /**
   * SmarthostSmarterMailBackend:url: (attributes org.gtk.Property.get=smarthost_smartermail_backend_get_url)
   *
   * The SmarterMail server, such as `https://mail.example.com`: https, or
   * http to this machine only (`127.0.0.1`, `::1`, `localhost`), since the
   * administrator's password travels in the login. No user name, query or
   * fragment; a path is a prefix of every endpoint's. Checked when the
   * backend is first used.
   */
  properties[PROP_URL] = g_param_spec_string ("url", NULL, NULL, NULL, construct);

  /**
   * SmarthostSmarterMailBackend:admin: (attributes org.gtk.Property.get=smarthost_smartermail_backend_get_admin)
   *
   * The user name of SmarterMail's system administrator.
   */
  properties[PROP_ADMIN] = g_param_spec_string ("admin", NULL, NULL, NULL, construct);

  /**
   * SmarthostSmarterMailBackend:admin-password:
   *
   * The system administrator's password. It can be written, never read:
   * it is sent in the login request only, and wiped from memory with the
   * backend.
   */
  properties[PROP_ADMIN_PASSWORD] =
    g_param_spec_string ("admin-password", NULL, NULL, NULL,
                         G_PARAM_WRITABLE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostSmarterMailBackend:ca-file:
   *
   * A file of CA certificates (PEM) to verify the server's certificate
   * against, instead of the system's CAs; %NULL for the system's.
   */
  properties[PROP_CA_FILE] = g_param_spec_string ("ca-file", NULL, NULL, NULL, construct);

  /**
   * SmarthostSmarterMailBackend:insecure: (attributes org.gtk.Property.get=smarthost_smartermail_backend_get_insecure)
   *
   * Whether the server's certificate is accepted without verification.
   * Every preview then has a note saying so, and `smarthostctl` warns on
   * every command. Defaults to %FALSE.
   */
  properties[PROP_INSECURE] = g_param_spec_boolean ("insecure", NULL, NULL, FALSE, construct);

  /**
   * SmarthostSmarterMailBackend:timeout:
   *
   * How long, in seconds, each request may take: connecting, the reply and
   * its body together. The requests of a commit, from its first change on,
   * may take ten times that together; undoing them is never cut short.
   * Defaults to 30.
   */
  properties[PROP_TIMEOUT] = g_param_spec_uint ("timeout", NULL, NULL, 1, 3600, DEFAULT_TIMEOUT, construct);

  /**
   * SmarthostSmarterMailBackend:state-directory:
   *
   * Where commits keep their lock and journal; %NULL for
   * [func@Backend.get_default_state_directory] of `smartermail-HOST`
   * (with `-PORT` when the URL names one; characters a file name cannot
   * hold on every platform, such as the colons of an IPv6 address, become
   * `_`).
   */
  properties[PROP_STATE_DIRECTORY] = g_param_spec_string ("state-directory", NULL, NULL, NULL, construct);

  /**
   * SmarthostSmarterMailBackend:mapping-file:
   *
   * A mapping of SmarterMail's endpoints, fields and values to use instead
   * of the one built into the library (of which a copy is installed as
   * `$datadir/libsmarthost/smartermail-mapping.json`): a corrected copy,
   * after `smarthostctl schema-check` found a difference. It is checked
   * strictly when the backend is first used.
   */
  properties[PROP_MAPPING_FILE] = g_param_spec_string ("mapping-file", NULL, NULL, NULL, construct);

  /**
   * SmarthostSmarterMailBackend:lock-timeout:
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
smarthost_smartermail_backend_init (SmarthostSmarterMailBackend *self)
{
  g_mutex_init (&self->lock);
  self->timeout = DEFAULT_TIMEOUT;
  self->lock_timeout = SMARTHOST_LOCK_DEFAULT_TIMEOUT;
}

/**
 * smarthost_smartermail_backend_new:
 * @url: the SmarterMail server, such as `https://mail.example.com`
 * @admin: the system administrator's user name
 * @admin_password: (nullable): the system administrator's password
 *
 * Creates a SmarterMail backend with the default settings otherwise
 * (set the others as properties, with g_object_new()). Nothing is sent
 * until it is used.
 *
 * Returns: (transfer full): a new backend
 */
SmarthostBackend *
smarthost_smartermail_backend_new (const char *url,
                                   const char *admin,
                                   const char *admin_password)
{
  return g_object_new (SMARTHOST_TYPE_SMARTERMAIL_BACKEND, "url", url, "admin", admin,
                       "admin-password", admin_password, NULL);
}

/**
 * smarthost_smartermail_backend_get_url: (get-property url)
 * @self: a SmarterMail backend
 *
 * Gets the URL of the SmarterMail server.
 *
 * Returns: (nullable): the URL
 */
const char *
smarthost_smartermail_backend_get_url (SmarthostSmarterMailBackend *self)
{
  g_return_val_if_fail (SMARTHOST_IS_SMARTERMAIL_BACKEND (self), NULL);
  return self->url;
}

/**
 * smarthost_smartermail_backend_get_admin: (get-property admin)
 * @self: a SmarterMail backend
 *
 * Gets the system administrator's user name the backend logs in with.
 *
 * Returns: (nullable): the user name
 */
const char *
smarthost_smartermail_backend_get_admin (SmarthostSmarterMailBackend *self)
{
  g_return_val_if_fail (SMARTHOST_IS_SMARTERMAIL_BACKEND (self), NULL);
  return self->admin;
}

/**
 * smarthost_smartermail_backend_get_insecure: (get-property insecure)
 * @self: a SmarterMail backend
 *
 * Tells whether the server's certificate is accepted without
 * verification; front ends warn about it.
 *
 * Returns: %TRUE when certificate verification is off
 */
gboolean
smarthost_smartermail_backend_get_insecure (SmarthostSmarterMailBackend *self)
{
  g_return_val_if_fail (SMARTHOST_IS_SMARTERMAIL_BACKEND (self), FALSE);
  return self->insecure;
}
