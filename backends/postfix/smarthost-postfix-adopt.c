/* smarthost-postfix-adopt.c: taking a hand-made relay setup over
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-error.h"
#include "smarthost-postfix-private.h"
#include "smarthost-private.h"

/*
 * Implementation notes
 *
 * Adoption turns what Postfix does today into relays of ours, so that the
 * plan built from them routes every sender exactly as before:
 *
 *   relayhost = [host]:port          -> the server-wide smarthost;
 *   sender_dependent_relayhost_maps  -> one domain smarthost per "@domain"
 *     entry (read with "postmap -s", so the map must be listable);
 *   smtp_sasl_password_maps          -> their credentials, looked up the
 *     way smtp_sasl_glue.c does: "@domain" (with sender-dependent
 *     authentication), then the host, then the nexthop as written; with
 *     sender-dependent authentication, an "@domain" key that names no
 *     relay of its own means that domain logs in to relayhost as itself,
 *     which becomes a domain smarthost on the server's relay;
 *   smtp_tls_security_level, _wrappermode, _CAfile, _CApath and the
 *     smtp_tls_policy_maps entry of each nexthop -> security, verification
 *     and CA file.
 *
 * Whatever cannot be expressed exactly is a conflict, explained, and
 * nothing is changed: a relay list, a per-address entry, a map that cannot
 * be listed, TLS policy attributes we do not carry, DANE. The global
 * smtp_sasl_* and smtp_tls_* settings and every file of the administrator
 * stay as they are (our transports override them for our relays); only
 * relayhost is replaced in place, and a sender_dependent_relayhost_maps
 * table all of whose entries were taken over is removed from main.cf (the
 * file itself stays). Passwords are read with postmap -q into memory only.
 */

enum {
  V_RELAYHOST,
  V_SASL_ENABLE,
  V_SASL_MAPS,
  V_SENDER_AUTH,
  V_TLS_LEVEL,
  V_TLS_WRAPPER,
  V_TLS_CAFILE,
  V_TLS_CAPATH,
  V_TLS_POLICY_MAPS,
  V_SDR_MAPS,
  V_SDD_MAPS,
  N_VALUES
};

static const char *value_names[N_VALUES + 1] = {
  "relayhost",
  "smtp_sasl_auth_enable",
  "smtp_sasl_password_maps",
  "smtp_sender_dependent_authentication",
  "smtp_tls_security_level",
  "smtp_tls_wrappermode",
  "smtp_tls_CAfile",
  "smtp_tls_CApath",
  "smtp_tls_policy_maps",
  "sender_dependent_relayhost_maps",
  "sender_dependent_default_transport_maps",
  NULL,
};

/* The settings main.cf may hold that adoption reads but never changes. */
static const char *kept_params[] = {
  "smtp_sasl_auth_enable", "smtp_sasl_password_maps", "smtp_sasl_security_options",
  "smtp_sasl_tls_security_options", "smtp_sasl_mechanism_filter",
  "smtp_sender_dependent_authentication", "smtp_tls_security_level", "smtp_tls_wrappermode",
  "smtp_tls_CAfile", "smtp_tls_CApath", "smtp_tls_policy_maps", "transport_maps", NULL,
};

void
pf_adoption_free (PfAdoption *adoption)
{
  g_clear_object (&adoption->server);
  g_clear_pointer (&adoption->domains, g_hash_table_unref);
  g_clear_pointer (&adoption->drop_sdr_maps, g_ptr_array_unref);
  g_free (adoption->relayhost);
  g_free (adoption);
}

static gboolean
conflict (GError    **error,
          const char *format,
          ...) G_GNUC_PRINTF (2, 3);

static gboolean
conflict (GError    **error,
          const char *format,
          ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_CONFLICT,
               "import: %s; nothing was changed", message);
  return FALSE;
}

/* Splits a list value ("a, b c"), keeping "{...}" groups whole. */
static GPtrArray *
split_list (const char *value)
{
  GPtrArray *items = g_ptr_array_new_with_free_func (g_free);
  GString *cur = g_string_new (NULL);
  int depth = 0;

  for (const char *p = value ? value : ""; ; p++)
    {
      if (*p == '\0' || (depth == 0 && strchr (" ,\t\r\n", *p)))
        {
          if (cur->len)
            g_ptr_array_add (items, g_strdup (cur->str));
          g_string_truncate (cur, 0);
          if (*p == '\0')
            break;
          continue;
        }
      if (*p == '{')
        depth++;
      else if (*p == '}' && depth > 0)
        depth--;
      g_string_append_c (cur, *p);
    }
  g_string_free (cur, TRUE);
  return items;
}

typedef struct {
  PfState *st;
  char **v;
  GCancellable *cancellable;
  GPtrArray *notes;
} Ctx;

/* The TLS a nexthop gets today: its smtp_tls_policy_maps entry, else the
 * global level; the wrapper mode and CAs are global. */
static gboolean
tls_for (Ctx                *c,
         const char         *nexthop,
         SmarthostSecurity  *security,
         gboolean           *verify,
         char              **ca_file,
         GError            **error)
{
  g_autofree char *policy = NULL;
  g_auto(GStrv) words = NULL;
  const char *level = c->v[V_TLS_LEVEL];

  *ca_file = NULL;
  if (*c->v[V_TLS_POLICY_MAPS])
    policy = pf_postmap_query (c->st, c->v[V_TLS_POLICY_MAPS], nexthop, c->cancellable);
  if (policy != NULL)
    {
      words = g_strsplit_set (g_strstrip (policy), " \t", 0);
      level = words[0];
      for (guint i = 1; words[i]; i++)
        {
          if (*words[i] == '\0')
            continue;
          if (g_str_has_prefix (words[i], "match="))
            {
              g_auto(GStrv) m = g_strsplit_set (words[i] + 6, ":", 0);
              for (guint j = 0; m[j]; j++)
                if (*m[j] && !g_str_equal (m[j], "nexthop") && !g_str_equal (m[j], "dot-nexthop") &&
                    !g_str_equal (m[j], "hostname"))
                  return conflict (error, "the TLS policy of %s (smtp_tls_policy_maps) matches the "
                                   "certificate against \"%s\", which a smarthost cannot express; "
                                   "remove the match= attribute, or keep this relay by hand",
                                   nexthop, m[j]);
            }
          else
            return conflict (error, "the TLS policy of %s (smtp_tls_policy_maps) sets \"%s\", which a "
                             "smarthost cannot express; remove the attribute, or keep this relay by hand",
                             nexthop, words[i]);
        }
    }

  if (g_str_equal (level, "dane") || g_str_equal (level, "dane-only") || g_str_equal (level, "fingerprint"))
    return conflict (error, "%s uses TLS security level %s, which a smarthost cannot express "
                     "(it knows none, encrypt and secure); keep this relay by hand", nexthop, level);
  *verify = g_str_equal (level, "secure") || g_str_equal (level, "verify");
  if (g_str_equal (c->v[V_TLS_WRAPPER], "yes"))
    {
      if (!*verify && !g_str_equal (level, "encrypt"))
        return conflict (error, "%s is reached with smtp_tls_wrappermode = yes but TLS security level "
                         "\"%s\": Postfix skips such a relay, so there is no working setup to take over; "
                         "set smtp_tls_security_level = encrypt (or secure) first", nexthop, level);
      *security = SMARTHOST_SECURITY_TLS;
    }
  else if (*verify || g_str_equal (level, "encrypt"))
    *security = SMARTHOST_SECURITY_STARTTLS;
  else
    *security = SMARTHOST_SECURITY_NONE;

  if (*verify)
    {
      if (*c->v[V_TLS_CAFILE])
        *ca_file = g_strdup (c->v[V_TLS_CAFILE]);
      else if (*c->v[V_TLS_CAPATH] && !g_str_equal (c->v[V_TLS_CAPATH], "/etc/ssl/certs") &&
               !g_str_equal (c->v[V_TLS_CAPATH], "/etc/ssl/certs/"))
        return conflict (error, "%s is verified against the CA folder smtp_tls_CApath = %s; a smarthost "
                         "takes a CA file: set smtp_tls_CAfile to a PEM file with those CAs first",
                         nexthop, c->v[V_TLS_CAPATH]);
      else if (!*c->v[V_TLS_CAPATH])
        g_ptr_array_add (c->notes, g_strdup_printf ("%s was verified with no CA configured (such "
                                                    "connections fail); it is now verified against the "
                                                    "system's CAs", nexthop));
    }
  return TRUE;
}

/* Credentials as Postfix finds them: the keys in order, first hit. The
 * value is a secret: it goes into the relay and is wiped here. */
static void
find_credentials (Ctx            *c,
                  SmarthostRelay *relay,
                  const char    **keys,
                  char          **found_key)
{
  if (!g_str_equal (c->v[V_SASL_ENABLE], "yes") || *c->v[V_SASL_MAPS] == '\0')
    return;
  for (guint i = 0; keys[i]; i++)
    {
      char *value = pf_postmap_query (c->st, c->v[V_SASL_MAPS], keys[i], c->cancellable);
      const char *colon;

      if (value == NULL)
        continue;
      colon = strchr (value, ':');
      if (colon)
        {
          g_autofree char *user = g_strndup (value, colon - value);
          smarthost_relay_set_username (relay, user);
          if (colon[1])
            smarthost_relay_set_password (relay, colon + 1);
        }
      else
        smarthost_relay_set_username (relay, value);
      *found_key = g_strdup (keys[i]);
      _smarthost_secret_free (value);
      return;
    }
}

static SmarthostRelay *
relay_for (Ctx         *c,
           const char  *nexthop,
           const char  *domain,
           const char  *what,
           GError     **error)
{
  g_autofree char *host = NULL;
  g_autofree char *ca = NULL;
  g_autofree char *at = domain ? g_strconcat ("@", domain, NULL) : NULL;
  g_autofree char *found = NULL;
  g_autofree char *label = domain ? g_strdup_printf ("the smarthost of %s", domain)
                                  : g_strdup ("the server-wide smarthost");
  g_autoptr(SmarthostRelay) relay = NULL;
  SmarthostSecurity security = SMARTHOST_SECURITY_NONE;
  gboolean verify = FALSE, mx;
  guint port;
  const char *keys[4] = { NULL };
  guint n = 0;

  if (strpbrk (nexthop, " ,\t") != NULL)
    return conflict (error, "%s = %s lists several relays; a smarthost is one relay: keep one "
                     "of them, or keep this setup by hand", what, nexthop), NULL;
  if (!pf_parse_nexthop (nexthop, &host, &port, &mx))
    return conflict (error, "%s = %s is not a relay this library understands (expected "
                     "[host]:port, host:port or host)", what, nexthop), NULL;
  if (!tls_for (c, nexthop, &security, &verify, &ca, error))
    return NULL;

  relay = g_object_new (SMARTHOST_TYPE_RELAY, "host", host, "port", port, "security", security,
                        "mx-lookup", mx, "verify-certificate", verify, "ca-file", ca, NULL);
  if (at && g_str_equal (c->v[V_SENDER_AUTH], "yes"))
    keys[n++] = at;
  keys[n++] = host;
  keys[n++] = nexthop;
  find_credentials (c, relay, keys, &found);
  {
    g_autofree char *sec = g_strdup_printf ("%s%s", smarthost_security_to_string (security),
                                            security == SMARTHOST_SECURITY_NONE ? "" :
                                            verify ? ", certificate verified" : ", certificate not verified");
    if (found)
      g_ptr_array_add (c->notes, g_strdup_printf ("adopts %s = %s as %s (TLS: %s; logs in as %s, the entry "
                                                  "\"%s\" of smtp_sasl_password_maps)",
                                                  what, nexthop, label,
                                                  sec, smarthost_relay_get_username (relay), found));
    else
      g_ptr_array_add (c->notes, g_strdup_printf ("adopts %s = %s as %s (TLS: %s; no login)",
                                                  what, nexthop, label, sec));
  }
  return g_steal_pointer (&relay);
}

static gboolean
valid (SmarthostPostfixBackend  *self,
       SmarthostRelay           *relay,
       const char               *what,
       GError                  **error)
{
  g_autoptr(GError) local_error = NULL;

  if (pf_validate_relay (self, relay, &local_error))
    return TRUE;
  return conflict (error, "%s cannot be taken over: %s", what, local_error->message);
}

/* An admin's own sender_dependent_default_transport_maps outranks the
 * relayhost maps: a domain it routes is not ours to take. */
static gboolean
check_sdd (Ctx         *c,
           const char  *domain,
           GError     **error)
{
  g_autoptr(GPtrArray) maps = split_list (c->v[V_SDD_MAPS]);
  g_autofree char *ours = pf_map_path (c->st, MAP_SENDER_TRANSPORT);
  g_autofree char *key = g_strconcat ("@", domain, NULL);

  for (guint i = 0; i < maps->len; i++)
    {
      const char *spec = g_ptr_array_index (maps, i);
      g_autofree char *hit = NULL;

      if (strstr (spec, ours) != NULL)
        continue;
      hit = pf_postmap_query (c->st, spec, key, c->cancellable);
      if (hit != NULL)
        return conflict (error, "mail from %s is routed by %s (sender_dependent_default_transport_maps, "
                         "which outranks sender_dependent_relayhost_maps) to \"%s\"; a smarthost for %s "
                         "would change that: remove one of the two entries first", domain, spec, hit, domain);
    }
  return TRUE;
}

PfAdoption *
pf_adopt (SmarthostPostfixBackend  *self,
          PfState                  *st,
          GPtrArray                *notes,
          GCancellable             *cancellable,
          GError                  **error)
{
  g_autoptr(PfAdoption) a = g_new0 (PfAdoption, 1);
  g_auto(GStrv) values = NULL;
  g_autoptr(GPtrArray) sdr = NULL;
  g_autoptr(GPtrArray) current = pf_list_domains (st);
  g_autoptr(GString) kept = g_string_new (NULL);
  Ctx c = { st, NULL, cancellable, notes };
  const char *relayhost;

  a->domains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  a->drop_sdr_maps = g_ptr_array_new_with_free_func (g_free);

  values = pf_postconf_values (st, value_names, cancellable, error);
  if (values == NULL)
    return NULL;
  for (guint i = 0; i < N_VALUES; i++)
    g_strstrip (values[i]);
  c.v = values;

  /* The server-wide relay. */
  relayhost = values[V_RELAYHOST];
  if (*relayhost && !pf_server_is_ours (st))
    {
      a->server = relay_for (&c, relayhost, NULL, "relayhost", error);
      if (a->server == NULL || !valid (self, a->server, "relayhost", error))
        return NULL;
      a->relayhost = g_strdup (relayhost);
    }

  /* Per-domain relays. */
  sdr = split_list (values[V_SDR_MAPS]);
  for (guint i = 0; i < sdr->len; i++)
    {
      const char *spec = g_ptr_array_index (sdr, i);
      g_autoptr(GPtrArray) entries = NULL;
      g_autoptr(GError) local_error = NULL;
      guint taken = 0;

      if (!pf_map_is_listable (spec))
        return conflict (error, "sender_dependent_relayhost_maps uses %s, a table that cannot be listed "
                         "(only hash, btree, texthash, lmdb, cdb and inline tables can), so its "
                         "entries cannot be taken over; convert it to a hash: table, or keep the "
                         "setup by hand", spec), NULL;
      entries = pf_map_list (st, spec, cancellable, &local_error);
      if (entries == NULL)
        return conflict (error, "cannot read sender_dependent_relayhost_maps table %s: %s",
                         spec, local_error->message), NULL;
      for (guint j = 0; j + 1 < entries->len; j += 2)
        {
          const char *key = g_ptr_array_index (entries, j);
          const char *value = g_ptr_array_index (entries, j + 1);
          g_autofree char *domain = NULL;
          g_autofree char *what = NULL;
          g_autoptr(SmarthostRelay) relay = NULL;

          if (key[0] != '@' || (domain = smarthost_domain_normalize (key + 1, NULL)) == NULL)
            return conflict (error, "sender_dependent_relayhost_maps table %s has an entry for \"%s\", "
                             "not for a whole domain (\"@domain\"); a smarthost is per domain: "
                             "remove that entry (or make it \"@domain\") first, or keep the setup by hand",
                             spec, key), NULL;
          if (g_hash_table_contains (a->domains, domain))
            {
              taken++;   /* an earlier table wins, as in Postfix */
              continue;
            }
          for (guint k = 0; k < current->len; k++)
            if (g_str_equal (g_ptr_array_index (current, k), domain))
              {
                g_ptr_array_add (notes, g_strdup_printf ("%s already has a smarthost of its own, which "
                                                         "outranks the entry %s of %s", domain, key, spec));
                taken++;
                goto next;
              }
          if (g_ascii_strcasecmp (value, "DUNNO") == 0)
            {
              g_ptr_array_add (notes, g_strdup_printf ("the entry %s DUNNO of %s only sends %s's mail the "
                                                       "default way, as it will without it", key, spec, domain));
              taken++;
              continue;
            }
          if (!check_sdd (&c, domain, error))
            return NULL;
          what = g_strdup_printf ("sender_dependent_relayhost_maps entry %s", key);
          relay = relay_for (&c, value, domain, what, error);
          if (relay == NULL)
            return NULL;
          if (!valid (self, relay, what, error))
            return NULL;
          g_hash_table_insert (a->domains, g_strdup (domain), g_steal_pointer (&relay));
          taken++;
        next:
          ;
        }
      if (taken * 2 == entries->len)
        {
          g_ptr_array_add (a->drop_sdr_maps, g_strdup (spec));
          g_ptr_array_add (notes, g_strdup_printf ("removes %s from sender_dependent_relayhost_maps: all "
                                                   "its entries are taken over; the file itself stays", spec));
        }
      else
        g_ptr_array_add (notes, g_strdup_printf ("keeps %s in sender_dependent_relayhost_maps", spec));
    }

  /* With sender-dependent authentication, a domain may log in to the
   * relayhost as itself. */
  if (a->server && g_str_equal (values[V_SENDER_AUTH], "yes") &&
      g_str_equal (values[V_SASL_ENABLE], "yes") && *values[V_SASL_MAPS])
    {
      g_autoptr(GPtrArray) maps = split_list (values[V_SASL_MAPS]);
      for (guint i = 0; i < maps->len; i++)
        {
          const char *spec = g_ptr_array_index (maps, i);
          g_autoptr(GPtrArray) entries = NULL;
          g_autoptr(GError) local_error = NULL;

          if (!pf_map_is_listable (spec))
            return conflict (error, "smtp_sender_dependent_authentication = yes and smtp_sasl_password_maps "
                             "uses %s, a table that cannot be listed, so which senders log in as whom "
                             "cannot be known; convert it to a hash: table, or keep the setup by hand",
                             spec), NULL;
          entries = pf_map_list (st, spec, cancellable, &local_error);
          if (entries == NULL)
            return conflict (error, "cannot read smtp_sasl_password_maps table %s: %s",
                             spec, local_error->message), NULL;
          for (guint j = 0; j + 1 < entries->len; j += 2)
            {
              const char *key = g_ptr_array_index (entries, j);
              g_autofree char *domain = NULL;
              g_autofree char *what = NULL;
              g_autoptr(SmarthostRelay) relay = NULL;

              if (strchr (key, '@') == NULL)
                continue;   /* a host or nexthop key */
              if (key[0] != '@' || (domain = smarthost_domain_normalize (key + 1, NULL)) == NULL)
                return conflict (error, "smtp_sasl_password_maps table %s has credentials for the single "
                                 "sender \"%s\" (smtp_sender_dependent_authentication = yes); smarthost "
                                 "credentials are per domain: remove that entry first, or keep the setup "
                                 "by hand", spec, key), NULL;
              if (g_hash_table_contains (a->domains, domain))
                continue;
              {
                gboolean ours = FALSE;
                for (guint k = 0; k < current->len && !ours; k++)
                  ours = g_str_equal (g_ptr_array_index (current, k), domain);
                if (ours)
                  continue;
              }
              if (!check_sdd (&c, domain, error))
                return NULL;
              what = g_strdup_printf ("relayhost (for senders %s)", key);
              relay = relay_for (&c, values[V_RELAYHOST], domain, what, error);
              if (relay == NULL || !valid (self, relay, what, error))
                return NULL;
              g_hash_table_insert (a->domains, g_strdup (domain), g_steal_pointer (&relay));
            }
        }
    }

  for (guint i = 0; kept_params[i]; i++)
    if (pf_conf_get (st->main, kept_params[i]) != NULL)
      g_string_append_printf (kept, "%s%s", kept->len ? ", " : "", kept_params[i]);
  if (a->server || g_hash_table_size (a->domains) || a->drop_sdr_maps->len)
    g_ptr_array_add (notes, g_strdup_printf ("keeps untouched: %s%severything else in main.cf and master.cf, "
                                             "and every file they name (the smarthost transports override "
                                             "the global smtp_* settings for the relays taken over)",
                                             kept->str, kept->len ? "; " : ""));
  return g_steal_pointer (&a);
}
