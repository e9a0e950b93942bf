/* smarthost-postfix-maps.c: the domain maps, computed from their entries
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-error.h"
#include "smarthost-change-private.h"
#include "smarthost-postfix-private.h"
#include "smarthost-private.h"
#include "smarthost-util-private.h"

/*
 * Implementation notes
 *
 * A commit with 100,000 domains must cost little more than postmap of the
 * two maps. So the domain maps are not rebuilt from relay objects: the
 * entries read are merged, in one pass, with the staged changes (both in
 * key order: the maps we write are sorted, and the sort is only redone
 * for a map that is not), and the text written at once.
 *
 * An entry read is written back as a relay read from it would write it
 * (hand-made or old spellings come back normalized, ours unchanged); many
 * domains share a few routes, so that is computed once per distinct route:
 * PfDomainMaps caches the routes by the value read and by the routing
 * settings of a staged relay, and its transports are those of the routes
 * used. The plan (smarthost-postfix-backend.c) calls pf_check_own_maps(),
 * pf_build_domain_maps(), then pf_add_domain_transports().
 */

typedef struct {
  char *route;            /* the entry written back; NULL: dropped */
  char *transport;        /* the name of its transport */
  SmarthostRelay *relay;  /* a relay with this route, for the transport's entry */
  gboolean used;
} Route;

static void
route_free (gpointer data)
{
  Route *r = data;

  g_free (r->route);
  g_free (r->transport);
  g_clear_object (&r->relay);
  g_free (r);
}

static Route *
route_new (SmarthostRelay *relay)
{
  Route *r = g_new0 (Route, 1);
  g_autofree char *nexthop = pf_relay_nexthop (relay);

  r->relay = g_object_ref (relay);
  r->transport = pf_transport_name (FALSE, relay);
  r->route = g_strconcat (r->transport, ":", nexthop, NULL);
  return r;
}

/* The route of a sender_transport value read (a key of @cache, borrowed). */
static Route *
route_of_value (PfState    *st,
                GHashTable *cache,
                const char *value)
{
  Route *r = g_hash_table_lookup (cache, value);
  const char *colon;

  if (r != NULL)
    return r;
  if (g_str_has_prefix (value, TRANSPORT_PREFIX "domain-") && (colon = strchr (value, ':')) != NULL)
    {
      g_autofree char *transport = g_strndup (value, colon - value);
      g_autoptr(SmarthostRelay) relay = pf_relay_from_route (st, transport, colon + 1, NULL);
      if (relay != NULL)
        r = route_new (relay);
    }
  if (r == NULL)
    r = g_new0 (Route, 1);
  g_hash_table_insert (cache, (gpointer) value, r);
  return r;
}

/* Our maps hold only what we write. A line that is not (an edit by hand,
 * a damaged file) would be dropped by the next commit without a word, so
 * commits and dry runs refuse it and say where it is. Reading still
 * works, and the doctor reports it. Secrets are never quoted: only keys,
 * line numbers and routes. */
gboolean
pf_check_own_maps (PfState       *st,
                   PfDomainMaps  *m,
                   GError       **error)
{
  GHashTable *routes = st->map[MAP_TRANSPORT];
  GHashTableIter iter;
  gpointer key, value;
  const char *fix = "this folder is written by libsmarthost alone: move the entry to a map of your own "
                    "(or delete it), then try again";

  for (guint i = 0; i < G_N_ELEMENTS (st->map_bad_line); i++)
    if (st->map_bad_line[i] != 0)
      {
        g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_CONFLICT,
                     "%s/%s, line %u, is not a \"key value\" entry, and the next change would drop it; %s",
                     OWN_FOLDER, pf_map_name (i), st->map_bad_line[i], fix);
        return FALSE;
      }

  if (routes != NULL)
    {
      g_hash_table_iter_init (&iter, routes);
      while (g_hash_table_iter_next (&iter, &key, &value))
        {
          const char *k = key, *v = value;
          g_autofree char *entry = NULL;
          g_autofree char *shown = NULL;

          if (k[0] == '@' && k[1] != '\0' && g_str_has_prefix (v, TRANSPORT_PREFIX "domain-") &&
              route_of_value (st, m->value_routes, v)->route != NULL)
            continue;
          entry = g_strconcat (k, " ", v, NULL);
          shown = _smarthost_quote (entry, -1);
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_CONFLICT,
                       "%s/%s has an entry libsmarthost did not write, %s, and the next change "
                       "would drop it; %s", OWN_FOLDER, MAP_SENDER_TRANSPORT, shown, fix);
          return FALSE;
        }
    }
  if (st->map[MAP_SPASSWD] != NULL)
    {
      g_hash_table_iter_init (&iter, st->map[MAP_SPASSWD]);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (routes == NULL || !g_hash_table_contains (routes, key))
          {
            g_autofree char *shown = _smarthost_quote (key, -1);
            g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_CONFLICT,
                         "%s/%s has credentials for %s, which has no smarthost in %s/%s, and the next "
                         "change would drop them; %s", OWN_FOLDER, MAP_SENDER_PASSWD, shown,
                         OWN_FOLDER, MAP_SENDER_TRANSPORT, fix);
            return FALSE;
          }
    }
  if (st->map[MAP_SVPASSWD] != NULL)
    {
      const char *relayhost = pf_server_is_ours (st) ? pf_conf_get (st->main, P_RELAYHOST) : NULL;
      g_autofree char *nexthop = relayhost ? g_ascii_strdown (relayhost, strcspn (relayhost, " ,\t")) : NULL;

      g_hash_table_iter_init (&iter, st->map[MAP_SVPASSWD]);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (nexthop == NULL || !g_str_equal (key, nexthop))
          {
            g_autofree char *shown = _smarthost_quote (key, -1);
            g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_CONFLICT,
                         "%s/%s has credentials for %s, which is not the server-wide smarthost, and the "
                         "next change would drop them; %s", OWN_FOLDER, MAP_SERVER_PASSWD, shown, fix);
            return FALSE;
          }
    }
  return TRUE;
}

/* Staged relays with the same routing settings share a Route. */
static guint
relay_route_hash (gconstpointer key)
{
  SmarthostRelay *r = (SmarthostRelay *) key;
  const char *ca = smarthost_relay_get_ca_file (r);

  return g_str_hash (smarthost_relay_get_host (r)) ^ (smarthost_relay_get_effective_port (r) << 3) ^
         (smarthost_relay_get_security (r) << 1) ^ smarthost_relay_get_mx_lookup (r) ^
         (smarthost_relay_get_verify_certificate (r) << 2) ^ (ca ? g_str_hash (ca) : 0);
}

static gboolean
relay_route_equal (gconstpointer a,
                   gconstpointer b)
{
  SmarthostRelay *x = (SmarthostRelay *) a, *y = (SmarthostRelay *) b;

  return g_str_equal (smarthost_relay_get_host (x), smarthost_relay_get_host (y)) &&
         smarthost_relay_get_effective_port (x) == smarthost_relay_get_effective_port (y) &&
         smarthost_relay_get_security (x) == smarthost_relay_get_security (y) &&
         !smarthost_relay_get_mx_lookup (x) == !smarthost_relay_get_mx_lookup (y) &&
         !smarthost_relay_get_verify_certificate (x) == !smarthost_relay_get_verify_certificate (y) &&
         g_strcmp0 (smarthost_relay_get_ca_file (x), smarthost_relay_get_ca_file (y)) == 0;
}

static Route *
route_of_relay (GHashTable     *cache,
                SmarthostRelay *relay)
{
  Route *r = g_hash_table_lookup (cache, relay);

  if (r == NULL)
    {
      r = route_new (relay);
      g_hash_table_insert (cache, r->relay, r);
    }
  return r;
}

typedef struct {
  const char *domain;
  SmarthostRelay *relay;   /* NULL: the domain loses its relay */
  gboolean adopted;        /* found by adoption: yields to a relay of ours */
} Change;

static int
compare_changes (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (((const Change *) a)->domain, ((const Change *) b)->domain);
}

void
pf_domain_maps_init (PfDomainMaps *m)
{
  memset (m, 0, sizeof *m);
  m->value_routes = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, route_free);
  m->relay_routes = g_hash_table_new_full (relay_route_hash, relay_route_equal, NULL, route_free);
}

void
pf_domain_maps_clear (PfDomainMaps *m)
{
  if (m->routes != NULL)
    g_string_free (g_steal_pointer (&m->routes), TRUE);
  if (m->passwd != NULL)
    {
      explicit_bzero (m->passwd->str, m->passwd->len);
      g_string_free (g_steal_pointer (&m->passwd), TRUE);
    }
  if (m->masked != NULL)
    g_string_free (g_steal_pointer (&m->masked), TRUE);
  g_clear_pointer (&m->value_routes, g_hash_table_unref);
  g_clear_pointer (&m->relay_routes, g_hash_table_unref);
}

static void
emit_domain (PfDomainMaps *m,
             const char   *domain,     /* without the '@' */
             Route        *route,
             const char   *user,       /* NULL: no credentials */
             gsize         user_len,
             const char   *password)   /* NULL or "": none */
{
  m->n_domains++;
  route->used = TRUE;
  g_string_append_c (m->routes, '@');
  g_string_append (m->routes, domain);
  g_string_append_c (m->routes, ' ');
  g_string_append (m->routes, route->route);
  g_string_append_c (m->routes, '\n');
  if (user == NULL)
    return;
  g_string_append_c (m->passwd, '@');
  g_string_append (m->passwd, domain);
  g_string_append_c (m->passwd, ' ');
  g_string_append_len (m->passwd, user, user_len);
  g_string_append_c (m->passwd, ':');
  if (password != NULL)
    g_string_append (m->passwd, password);
  g_string_append_c (m->passwd, '\n');
  if (m->masked != NULL)
    {
      g_string_append_c (m->masked, '@');
      g_string_append (m->masked, domain);
      g_string_append_c (m->masked, ' ');
      g_string_append_len (m->masked, user, user_len);
      g_string_append (m->masked, ":" SMARTHOST_PASSWORD_MASK "\n");
    }
}

/* A domain as read, written back: its credentials as a relay read from
 * "user[:password]" writes them, "user:password" or "user:". */
static void
emit_read_domain (PfDomainMaps  *m,
                  SmarthostChange *change,
                  PfState       *st,
                  const char    *key,
                  Route         *route)
{
  const char *cred = st->map[MAP_SPASSWD] ? g_hash_table_lookup (st->map[MAP_SPASSWD], key) : NULL;
  const char *colon = cred ? strchr (cred, ':') : NULL;
  const char *password = colon && colon[1] ? colon + 1 : NULL;

  if (cred == NULL)
    {
      emit_domain (m, key + 1, route, NULL, 0, NULL);
      return;
    }
  _smarthost_change_add_secret_borrowed (change, password);
  emit_domain (m, key + 1, route, cred, colon ? (gsize) (colon - cred) : strlen (cred), password);
}

static gboolean
same_host (const char *a,
           const char *b)
{
  gsize la = strlen (a), lb = strlen (b);

  la -= la > 1 && a[la - 1] == '.';
  lb -= lb > 1 && b[lb - 1] == '.';
  return la == lb && g_ascii_strncasecmp (a, b, la) == 0;
}

/* The password a staged relay keeps: the one stored for the same domain
 * (or the server), for the same user, and only while the relay still
 * sends it where it went, as safely. Another host, MX lookups, another CA
 * file, verification or TLS turned off would hand the stored password to
 * a server it was never given for: those need the password again. (A
 * port or STARTTLS/implicit TLS change keeps it: the same host.) */
gboolean
pf_kept_password (const char      *what,
                  SmarthostRelay  *current,
                  SmarthostRelay  *relay,
                  const char     **password,
                  GError         **error)
{
  const char *user = smarthost_relay_get_username (relay);
  g_autofree char *reason = NULL;
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;

  if (current == NULL || smarthost_relay_get_password (current) == NULL)
    reason = g_strdup ("none is stored to keep");
  else if (g_strcmp0 (smarthost_relay_get_username (current), user) != 0)
    {
      a = _smarthost_quote (smarthost_relay_get_username (current), -1);
      b = _smarthost_quote (user, -1);
      reason = g_strdup_printf ("the one stored is for user %s, not %s", a, b);
    }
  else if (!same_host (smarthost_relay_get_host (current), smarthost_relay_get_host (relay)))
    {
      a = _smarthost_quote (smarthost_relay_get_host (current), -1);
      b = _smarthost_quote (smarthost_relay_get_host (relay), -1);
      reason = g_strdup_printf ("it was given for %s, and the host is now %s", a, b);
    }
  else if (!smarthost_relay_get_mx_lookup (current) && smarthost_relay_get_mx_lookup (relay))
    reason = g_strdup ("mx_lookup now sends it to whatever the MX records name");
  else if (smarthost_relay_get_security (current) != SMARTHOST_SECURITY_NONE &&
           smarthost_relay_get_security (relay) == SMARTHOST_SECURITY_NONE)
    reason = g_strdup ("security none would send it without TLS");
  else if (smarthost_relay_get_verify_certificate (current) && !smarthost_relay_get_verify_certificate (relay) &&
           smarthost_relay_get_security (relay) != SMARTHOST_SECURITY_NONE)
    reason = g_strdup ("certificate verification is turned off");
  else if (g_strcmp0 (smarthost_relay_get_ca_file (current), smarthost_relay_get_ca_file (relay)) != 0)
    reason = g_strdup ("the CA file that vouches for the relay changes");
  if (reason != NULL)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                   "%s.password: is to be kept, but %s: give the password again", what, reason);
      return FALSE;
    }
  *password = smarthost_relay_get_password (current);
  return TRUE;
}

static gboolean
emit_staged_domain (PfDomainMaps   *m,
                    SmarthostChange *change,
                    PfState        *st,
                    const Change   *c,
                    GError        **error)
{
  const char *user = smarthost_relay_get_username (c->relay);
  const char *password = smarthost_relay_get_password (c->relay);
  g_autoptr(SmarthostRelay) current = NULL;

  if (_smarthost_relay_keeps_password (c->relay))
    {
      g_autofree char *where = g_strconcat ("domains.", c->domain, NULL);

      current = pf_read_domain (st, c->domain);
      if (!pf_kept_password (where, current, c->relay, &password, error))
        return FALSE;
    }
  if (user != NULL)
    {
      /* The change knows the staged relays' passwords; adopted ones and
       * the passwords read for a kept one it must be told. */
      if (c->adopted || current != NULL)
        smarthost_change_add_secret (change, password);
    }
  emit_domain (m, c->domain, route_of_relay (m->relay_routes, c->relay),
               user, user ? strlen (user) : 0, password);
  return TRUE;
}

/* The domain maps: what is configured, with the staged changes; with
 * @replace, only the staged (and adopted) domains. */
gboolean
pf_build_domain_maps (PfState       *st,
                      SmarthostChange *change,
                      GHashTable    *staged,          /* domain -> relay or NULL */
                      gboolean       replace,
                      GHashTable    *adopted,         /* domain -> relay, or NULL */
                      gboolean       preview,
                      PfDomainMaps  *m,
                      GError       **error)
{
  GHashTable *routes = st->map[MAP_TRANSPORT];
  g_autoptr(GPtrArray) old_keys = NULL;
  g_autoptr(GArray) changes = g_array_sized_new (FALSE, FALSE, sizeof (Change), g_hash_table_size (staged));
  GHashTableIter iter;
  gpointer key, value;
  guint i = 0, j = 0;

  if (routes != NULL)
    old_keys = st->map_order[MAP_TRANSPORT] ? g_ptr_array_ref (st->map_order[MAP_TRANSPORT])
                                            : pf_sorted_keys (routes);
  else
    old_keys = g_ptr_array_new ();

  g_hash_table_iter_init (&iter, staged);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Change c = { key, value, FALSE };
      g_array_append_val (changes, c);
    }
  /* With @replace the staged domains are all there is: adopted ones not
   * among them go, like every other domain. */
  if (adopted != NULL && !replace)
    {
      g_hash_table_iter_init (&iter, adopted);
      while (g_hash_table_iter_next (&iter, &key, &value))
        if (!g_hash_table_contains (staged, key))
          {
            Change c = { key, value, TRUE };
            g_array_append_val (changes, c);
          }
    }
  g_array_sort (changes, compare_changes);

  m->routes = g_string_sized_new ((st->map_text[MAP_TRANSPORT] ? strlen (st->map_text[MAP_TRANSPORT]) : 0) +
                                  changes->len * 80 + sizeof MAP_HEADER);
  m->passwd = g_string_sized_new ((st->map_text[MAP_SPASSWD] ? strlen (st->map_text[MAP_SPASSWD]) : 0) +
                                  changes->len * 80 + sizeof MAP_HEADER);
  m->masked = preview ? g_string_new (MAP_HEADER) : NULL;
  g_string_append (m->routes, MAP_HEADER);
  g_string_append (m->passwd, MAP_HEADER);

  /* One merge of two sorted lists: domains read, domains staged. */
  while (i < old_keys->len || j < changes->len)
    {
      const char *k = i < old_keys->len ? g_ptr_array_index (old_keys, i) : NULL;
      const Change *c = j < changes->len ? &g_array_index (changes, Change, j) : NULL;
      const char *v = NULL;
      Route *r = NULL;
      int cmp;

      /* Only "@domain" entries routed to a transport of ours are domains. */
      if (k != NULL && (k[0] != '@' || !g_str_has_prefix ((v = g_hash_table_lookup (routes, k)),
                                                           TRANSPORT_PREFIX "domain-")))
        {
          i++;
          continue;
        }
      cmp = k == NULL ? 1 : c == NULL ? -1 : strcmp (k + 1, c->domain);
      if (cmp <= 0)
        {
          r = route_of_value (st, m->value_routes, v);
          if (r->route == NULL)
            r = NULL;
        }
      if (cmp < 0)
        {
          if (r != NULL && !replace)
            emit_read_domain (m, change, st, k, r);
          i++;
          continue;
        }
      if (cmp == 0 && c->adopted && r != NULL)
        emit_read_domain (m, change, st, k, r);    /* ours already: adoption leaves it */
      else if (c->relay != NULL && !emit_staged_domain (m, change, st, c, error))
        return FALSE;
      if (cmp == 0)
        i++;
      j++;
    }
  return TRUE;
}

/* Every transport the domains use, with its master.cf entry. */
void
pf_add_domain_transports (PfState      *st,
                          PfDomainMaps *m,
                          GHashTable   *transports)
{
  GHashTable *caches[2] = { m->value_routes, m->relay_routes };

  for (guint c = 0; c < 2; c++)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, caches[c]);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        {
          Route *r = value;
          if (r->used && !g_hash_table_contains (transports, r->transport))
            g_hash_table_insert (transports, g_strdup (r->transport),
                                 pf_transport_entry (st, r->transport, FALSE, r->relay));
        }
    }
}
