/* smarthost-postfix-adopt.c: taking a hand-made relay setup over
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-dns-private.h"
#include "smarthost-error.h"
#include "smarthost-postfix-private.h"
#include "smarthost-private.h"
#include "smarthost-util-private.h"

/*
 * Implementation notes
 *
 * Adoption turns what Postfix does today into relays of ours, so that the
 * plan built from them routes every sender exactly as before:
 *
 *   relayhost = [host]:port          -> the server-wide smarthost;
 *   sender_dependent_relayhost_maps  -> one domain smarthost per "@domain"
 *     entry (read with "postmap -s", so the map must be listable); the
 *     first table with an entry for a domain decides, as in Postfix, even
 *     when that entry is DUNNO (which keeps the domain on relayhost);
 *   smtp_sasl_password_maps          -> their credentials, looked up the
 *     way smtp_sasl_glue.c does: "@domain" (with sender-dependent
 *     authentication), then the name of the server Postfix connects to
 *     (for an MX-style nexthop, each MX host), then the nexthop as
 *     written; with sender-dependent authentication, an "@domain" key that
 *     names no relay of its own means that domain logs in to relayhost as
 *     itself, which becomes a domain smarthost on the server's relay;
 *   the TLS level (smtp_tls_security_level, or when it is empty the
 *     obsolete smtp_enforce_tls, smtp_tls_enforce_peername and
 *     smtp_use_tls, as global_tls_level() in smtp_tls_policy.c),
 *     smtp_tls_wrappermode, _CAfile, _CApath and the smtp_tls_policy_maps
 *     entry of each nexthop (for a bare domain also its ".parent" keys, as
 *     tls_policy_lookup() does) -> security, verification and CA file.
 *
 * The smtp client settings are those of the master.cf service that carries
 * the mail: default_transport's, normally "smtp". Its "-o" overrides win
 * over main.cf, which is how the common port 465 recipe sets
 * smtp_tls_wrappermode. Postfix itself expands them ("postconf -P -x"), so
 * $service_name and references between overrides mean what they mean to
 * the smtp client; a main.cf value (or default) that refers to an
 * overridden parameter is evaluated with the override, as the client does.
 *
 * Lookup tables are split as Postfix splits lists ("{...}" stays whole),
 * and inline: and static: tables are read in process, never given to
 * postmap (smarthost-postfix-tables.c): their text may hold passwords.
 *
 * Whatever cannot be expressed exactly is a conflict, explained, and
 * nothing is changed: a relay list, a per-address entry, a map that cannot
 * be listed, TLS policy attributes we do not carry, DANE, an override that
 * refers to a parameter defined nowhere. The global smtp_sasl_* and
 * smtp_tls_* settings and every file of the administrator stay as they are
 * (our transports override them for our relays); only relayhost is
 * replaced in place, and a sender_dependent_relayhost_maps table all of
 * whose entries were taken over is removed from main.cf (the file itself
 * stays). Passwords are read into memory only, and wiped after use.
 */

/* What adoption reads with postconf: the routing parameters (main.cf),
 * then the smtp client settings (S_FIRST on), which the master.cf service
 * that carries the mail may override. */
enum {
  V_RELAYHOST,
  V_SDR_MAPS,
  V_SDD_MAPS,
  V_DEFAULT_TRANSPORT,
  V_RELAY_TRANSPORT,
  V_RELAY_DOMAINS,
  S_FIRST,
  S_SASL_ENABLE = S_FIRST,
  S_SASL_MAPS,
  S_SENDER_AUTH,
  S_SASL_OPTS,
  S_TLS_LEVEL,
  S_ENFORCE_TLS,
  S_ENFORCE_PEERNAME,
  S_USE_TLS,
  S_TLS_WRAPPER,
  S_TLS_CAFILE,
  S_TLS_CAPATH,
  S_TLS_POLICY_MAPS,
  S_TLS_PER_SITE,
  S_FALLBACK,
  N_NAMES
};

static const char *names[N_NAMES + 1] = {
  "relayhost",
  "sender_dependent_relayhost_maps",
  "sender_dependent_default_transport_maps",
  "default_transport",
  "relay_transport",
  "relay_domains",
  "smtp_sasl_auth_enable",
  "smtp_sasl_password_maps",
  "smtp_sender_dependent_authentication",
  "smtp_sasl_security_options",
  "smtp_tls_security_level",
  "smtp_enforce_tls",
  "smtp_tls_enforce_peername",
  "smtp_use_tls",
  "smtp_tls_wrappermode",
  "smtp_tls_CAfile",
  "smtp_tls_CApath",
  "smtp_tls_policy_maps",
  "smtp_tls_per_site",
  "smtp_fallback_relay",
  NULL,
};

/* The settings main.cf may hold that adoption reads but never changes. */
static const char *kept_params[] = {
  "smtp_sasl_auth_enable", "smtp_sasl_password_maps", "smtp_sasl_security_options",
  "smtp_sasl_tls_security_options", "smtp_sasl_mechanism_filter",
  "smtp_sender_dependent_authentication", "smtp_tls_security_level", "smtp_tls_wrappermode",
  "smtp_tls_CAfile", "smtp_tls_CApath", "smtp_tls_policy_maps", "smtp_enforce_tls",
  "smtp_tls_enforce_peername", "smtp_use_tls", "smtp_fallback_relay", "fallback_relay",
  "transport_maps", NULL,
};

void
pf_adoption_free (PfAdoption *adoption)
{
  g_clear_object (&adoption->server);
  g_clear_pointer (&adoption->domains, g_hash_table_unref);
  g_clear_pointer (&adoption->domain_order, g_ptr_array_unref);
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

/* --- the settings of the smtp client ----------------------------------- */

typedef struct {
  char *service;          /* the master.cf service ("smtp"), type unix */
  char *v[N_NAMES];       /* the effective settings, S_FIRST on */
  GPtrArray *overridden;  /* the names of those its "-o" options set */
  char *problem;          /* why they cannot be taken over, or NULL */
} Client;

static void
client_free (Client *cl)
{
  if (cl == NULL)
    return;
  g_free (cl->service);
  for (guint i = S_FIRST; i < N_NAMES; i++)
    _smarthost_secret_free (cl->v[i]);   /* an inline: password map */
  g_clear_pointer (&cl->overridden, g_ptr_array_unref);
  g_free (cl->problem);
  g_free (cl);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free)

typedef struct {
  PfState *st;
  char **v;               /* main.cf, expanded (postconf -x) */
  char **raw;             /* main.cf or the default, as written */
  Client *client;         /* default_transport's service */
  GCancellable *cancellable;
  GPtrArray *notes;
  gboolean resolve_mx;    /* look MX hosts up (adoption), or not (status) */
  gboolean checked;       /* the tables were checked (check_tables()) */
  gboolean server_creds;  /* credentials were found for the server relay */
  gboolean domain_creds;  /* ... or for a domain relay */
} Ctx;

/* Runs postconf -c DIR ARGS... Its output may hold a password (an inline:
 * table), so the caller wipes it. */
static char *
postconf_run (Ctx                *c,
              const char * const *args,
              char              **err_out,
              GError            **error)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  g_auto(GStrv) argv = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status;

  g_strv_builder_add_many (b, POSTFIX_SBINDIR "/postconf", "-c", c->st->dir, NULL);
  for (guint i = 0; args[i]; i++)
    g_strv_builder_add (b, args[i]);
  argv = g_strv_builder_end (b);
  if (!_smarthost_run ((const char * const *) argv, c->cancellable, &status, &out, &err, error))
    return NULL;
  if (status != 0)
    {
      char *message = g_strstrip (err);
      g_autofree char *dir_shown = _smarthost_quote_path (c->st->dir);
      g_autofree char *shown = NULL;

      /* Its first line, quoted: it may quote main.cf. */
      message[strcspn (message, "\n")] = '\0';
      shown = _smarthost_quote_full (message, -1, 300);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "postconf -c %s failed: %s", dir_shown, shown);
      _smarthost_secret_free (g_steal_pointer (&out));
      return NULL;
    }
  if (err_out)
    *err_out = g_steal_pointer (&err);
  return g_steal_pointer (&out);
}

/* The "-o" options of master.cf service @service: name -> value, as
 * written, or expanded by Postfix (postconf -P -x) with the names it found
 * undefined added to @undefined. */
static GHashTable *
service_overrides (Ctx         *c,
                   const char  *service,
                   gboolean     expand,
                   GHashTable  *undefined,
                   GError     **error)
{
  g_autofree char *entry = g_strconcat (service, "/unix", NULL);
  g_autofree char *prefix = g_strconcat (entry, "/", NULL);
  const char *args_x[] = { "-P", "-x", entry, NULL };
  const char *args_raw[] = { "-P", entry, NULL };
  g_autofree char *err = NULL;
  char *out;
  GHashTable *table;
  gsize out_len;

  out = postconf_run (c, expand ? args_x : args_raw, &err, error);
  if (out == NULL)
    return NULL;
  out_len = strlen (out);
  table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) _smarthost_secret_free);
  for (char *line = out; line && *line;)
    {
      char *nl = strchr (line, '\n');
      char *eq;

      if (nl)
        *nl = '\0';
      if (g_str_has_prefix (line, prefix) && (eq = strstr (line, " =")) != NULL)
        {
          const char *value = eq[2] == ' ' ? eq + 3 : eq + 2;
          g_hash_table_replace (table, g_strndup (line + strlen (prefix), eq - line - strlen (prefix)),
                                g_strdup (value));
        }
      line = nl ? nl + 1 : NULL;
    }
  explicit_bzero (out, out_len);
  g_free (out);

  /* "postconf: warning: .../master.cf: undefined parameter: NAME" */
  for (const char *p = err; undefined && p && (p = strstr (p, "undefined parameter: ")) != NULL;)
    {
      p += strlen ("undefined parameter: ");
      g_hash_table_add (undefined, g_strndup (p, strcspn (p, " \t\r\n")));
    }
  return table;
}

/* The parameters a value refers to: $name, ${name...} and $(name...). */
static GPtrArray *
references (const char *raw)
{
  GPtrArray *refs = g_ptr_array_new_with_free_func (g_free);

  for (const char *p = raw ? raw : ""; (p = strchr (p, '$')) != NULL;)
    {
      const char *start;

      p++;
      if (*p == '$')
        {
          p++;   /* "$$" is a literal dollar */
          continue;
        }
      if (*p == '{' || *p == '(')
        p++;
      start = p;
      while (g_ascii_isalnum (*p) || *p == '_')
        p++;
      if (p > start)
        g_ptr_array_add (refs, g_strndup (start, p - start));
    }
  return refs;
}

/* Whether @raw is nothing but a reference to @name ("$name", "${name}"). */
static gboolean
is_reference_to (const char *raw,
                 const char *name)
{
  gsize len = strlen (raw);
  char *t = g_strstrip (g_strdup (raw));   /* may be an inline: table */
  g_autofree char *a = g_strconcat ("$", name, NULL);
  g_autofree char *b = g_strconcat ("${", name, "}", NULL);
  g_autofree char *d = g_strconcat ("$(", name, ")", NULL);
  gboolean is = g_str_equal (t, a) || g_str_equal (t, b) || g_str_equal (t, d);

  explicit_bzero (t, len);   /* all of it: stripping moved the text */
  g_free (t);
  return is;
}

/* The smtp client settings of the service that @transport ("smtp",
 * "smtp:nexthop") names: its master.cf "-o" options, else main.cf's value
 * or Postfix's default. A setting adoption cannot evaluate leaves a
 * problem, raised when a relay is taken over (so that nothing to take
 * over is never a conflict). */
static Client *
client_settings (Ctx         *c,
                 const char  *transport,
                 GError     **error)
{
  g_autoptr(Client) cl = g_new0 (Client, 1);
  g_autoptr(GHashTable) expanded = NULL;
  g_autoptr(GHashTable) raw = NULL;
  g_autoptr(GHashTable) undefined = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  cl->service = g_strndup (transport, strcspn (transport, ":"));
  if (*cl->service == '\0')
    {
      g_free (cl->service);
      cl->service = g_strdup ("smtp");
    }
  cl->overridden = g_ptr_array_new_with_free_func (g_free);
  expanded = service_overrides (c, cl->service, TRUE, undefined, error);
  if (expanded == NULL)
    return NULL;
  raw = service_overrides (c, cl->service, FALSE, NULL, error);
  if (raw == NULL)
    return NULL;

  for (guint i = S_FIRST; i < N_NAMES; i++)
    {
      const char *over = g_hash_table_lookup (expanded, names[i]);

      if (over != NULL)
        {
          g_autoptr(GPtrArray) refs = references (g_hash_table_lookup (raw, names[i]));

          for (guint j = 0; j < refs->len && cl->problem == NULL; j++)
            if (g_hash_table_contains (undefined, g_ptr_array_index (refs, j)))
              cl->problem = g_strdup_printf ("master.cf service %s sets %s with a reference to $%s, a "
                                             "parameter defined nowhere, so what the smtp client makes of "
                                             "it cannot be known; write the value itself in master.cf",
                                             cl->service, names[i], (char *) g_ptr_array_index (refs, j));
          cl->v[i] = g_strstrip (g_strdup (over));
          g_ptr_array_add (cl->overridden, g_strdup (names[i]));
          continue;
        }

      /* The smtp client evaluates main.cf (and the defaults, such as
       * smtp_fallback_relay = $fallback_relay) with the overrides in
       * place. A plain reference to an overridden parameter is its value;
       * anything more involved is not ours to evaluate. */
      {
        g_autoptr(GPtrArray) refs = references (c->raw[i]);

        for (guint j = 0; j < refs->len && cl->v[i] == NULL; j++)
          {
            const char *ref = g_ptr_array_index (refs, j);
            const char *value = g_hash_table_lookup (expanded, ref);

            if (value == NULL)
              continue;
            if (is_reference_to (c->raw[i], ref))
              cl->v[i] = g_strstrip (g_strdup (value));
            else if (cl->problem == NULL)
              cl->problem = g_strdup_printf ("main.cf's %s refers to $%s, which master.cf service %s "
                                             "overrides, in a way smarthostctl cannot evaluate; give %s "
                                             "its value in master.cf (-o %s=...) or write it out in main.cf",
                                             names[i], ref, cl->service, names[i], names[i]);
          }
        if (cl->v[i] == NULL)
          cl->v[i] = g_strdup (c->v[i]);
      }
    }
  return g_steal_pointer (&cl);
}

/* Reads main.cf and the settings of default_transport's service. */
static gboolean
load_settings (Ctx     *c,
               GError **error)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  g_auto(GStrv) args = NULL;
  g_autofree char *out = NULL;

  c->v = pf_postconf_values (c->st, names, c->cancellable, error);
  if (c->v == NULL)
    return FALSE;
  for (guint i = 0; i < N_NAMES; i++)
    g_strstrip (c->v[i]);

  /* As written, to see what refers to what. */
  g_strv_builder_add (b, "-h");
  for (guint i = 0; i < N_NAMES; i++)
    g_strv_builder_add (b, names[i]);
  args = g_strv_builder_end (b);
  out = postconf_run (c, (const char * const *) args, NULL, error);
  if (out == NULL)
    return FALSE;
  c->raw = g_strsplit (out, "\n", 0);
  explicit_bzero (out, strlen (out));
  if (g_strv_length (c->raw) < N_NAMES)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "postconf -c %s printed fewer values than asked for", c->st->dir);
      return FALSE;
    }

  c->client = client_settings (c, c->v[V_DEFAULT_TRANSPORT], error);
  return c->client != NULL;
}

static void
ctx_clear (Ctx *c)
{
  pf_strv_secret_free (c->v);
  pf_strv_secret_free (c->raw);
  client_free (c->client);
}

/* Lists of tables adoption has to read, checked before the first relay is
 * taken over: a table Postfix cannot read defers mail, and one written out
 * in the configuration of a type read here never goes to postmap. */
static gboolean
check_tables (Ctx     *c,
              GError **error)
{
  struct { const char *param; const char *list; } lists[] = {
    { "smtp_sasl_password_maps", c->client->v[S_SASL_MAPS] },
    { "smtp_tls_policy_maps", c->client->v[S_TLS_POLICY_MAPS] },
    { "sender_dependent_default_transport_maps", c->v[V_SDD_MAPS] },
  };

  if (c->checked)
    return TRUE;
  if (c->client->problem != NULL)
    return conflict (error, "%s", c->client->problem);
  for (guint i = 0; i < G_N_ELEMENTS (lists); i++)
    {
      g_autoptr(GPtrArray) specs = pf_split_list (lists[i].list);

      for (guint j = 0; j < specs->len; j++)
        {
          const char *spec = g_ptr_array_index (specs, j);
          g_autofree char *label = pf_table_label (spec);
          g_autoptr(GError) local_error = NULL;
          char *value = NULL;

          if (pf_table_in_process (spec))
            {
              if (!pf_table_lookup (c->st, spec, "smarthost.invalid", &value, c->cancellable, &local_error))
                return conflict (error, "%s has a table Postfix cannot read (%s), so the mail that needs "
                                 "it is deferred; fix the table first", lists[i].param, local_error->message);
              _smarthost_secret_free (value);
            }
          else if (strchr (spec, '{') != NULL)
            return conflict (error, "%s lists %s, a table written out in the configuration that only "
                             "postmap could read, and its text (which may hold passwords) would then be "
                             "on a command line; move it to a file", lists[i].param, label);
        }
    }
  c->checked = TRUE;
  return TRUE;
}

/* --- TLS ----------------------------------------------------------------- */

/* The level Postfix uses where no TLS policy entry applies
 * (smarthost-postfix-tls.c). */
static const char *
global_level (Client *cl)
{
  const PfTlsSettings settings = {
    cl->v[S_TLS_LEVEL], cl->v[S_ENFORCE_TLS], cl->v[S_ENFORCE_PEERNAME], cl->v[S_USE_TLS],
  };

  return pf_tls_effective_level (&settings, NULL);
}

/* The smtp_tls_policy_maps entry of a nexthop, as tls_policy_lookup()
 * finds it: the nexthop as written; for a bare domain (no [], no :port,
 * not an address) then ".parent" for each parent domain, so that
 * ".example.com" covers mail.example.com. */
static char *
policy_of (Ctx         *c,
           const char  *nexthop,
           char       **key)
{
  const char *maps = c->client->v[S_TLS_POLICY_MAPS];
  char *value;

  *key = NULL;
  if (*maps == '\0')
    return NULL;
  value = pf_postmap_query (c->st, maps, nexthop, c->cancellable);
  if (value != NULL || strpbrk (nexthop, "[]:") != NULL || _smarthost_host_is_address (nexthop, NULL))
    {
      *key = value ? g_strdup (nexthop) : NULL;
      return value;
    }
  for (const char *p = strchr (nexthop + 1, '.'); p != NULL; p = strchr (p + 1, '.'))
    if ((value = pf_postmap_query (c->st, maps, p, c->cancellable)) != NULL)
      {
        *key = g_strdup (p);
        return value;
      }
  return NULL;
}

/* An attribute of a TLS policy entry: only match=, with the names a
 * smarthost checks the certificate against (nexthop, dot-nexthop and
 * hostname, which *match_hostname records). */
static gboolean
check_policy_attribute (const char  *nexthop,
                        const char  *word,
                        gboolean    *match_hostname,
                        GError     **error)
{
  g_autofree char *inner = NULL;
  g_auto(GStrv) m = NULL;
  const char *err = NULL;
  char *name, *value;

  if (word[0] == '{' && (inner = pf_strip_braces (word, &err)) == NULL)
    return conflict (error, "the TLS policy of %s (smtp_tls_policy_maps) has a malformed attribute "
                     "(%s), which makes Postfix defer the mail; fix the entry first", nexthop, err);
  if (inner == NULL)
    inner = g_strdup (word);
  if (!pf_split_nameval (inner, &name, &value, &err) || g_ascii_strcasecmp (name, "match") != 0)
    return conflict (error, "the TLS policy of %s (smtp_tls_policy_maps) sets \"%s\", which a "
                     "smarthost cannot express; remove the attribute, or keep this relay by hand",
                     nexthop, word);
  m = g_strsplit_set (value, ":", 0);
  for (guint j = 0; m[j]; j++)
    {
      if (g_str_equal (m[j], "hostname"))
        *match_hostname = TRUE;
      else if (*m[j] && !g_str_equal (m[j], "nexthop") && !g_str_equal (m[j], "dot-nexthop"))
        return conflict (error, "the TLS policy of %s (smtp_tls_policy_maps) matches the "
                         "certificate against \"%s\", which a smarthost cannot express; "
                         "remove the match= attribute, or keep this relay by hand",
                         nexthop, m[j]);
    }
  return TRUE;
}

/* The TLS level of a nexthop, lower case: its smtp_tls_policy_maps
 * entry's, else the global level; and whether that entry has match=
 * attributes (*has_match), one of them with "hostname". */
static gboolean
tls_level_for (Ctx         *c,
               const char  *nexthop,
               char       **level,
               gboolean    *has_match,
               gboolean    *match_hostname,
               GError     **error)
{
  Client *cl = c->client;
  g_autofree char *policy = NULL;
  g_autofree char *key = NULL;
  g_autoptr(GPtrArray) words = NULL;

  if (*cl->v[S_TLS_POLICY_MAPS] == '\0' && *cl->v[S_TLS_PER_SITE] != '\0')
    return conflict (error, "the TLS of %s is set by smtp_tls_per_site, which Postfix has deprecated and a "
                     "smarthost cannot express; convert it to smtp_tls_policy_maps (TLS_README), or keep "
                     "this relay by hand", nexthop);
  policy = policy_of (c, nexthop, &key);
  if (policy == NULL)
    {
      *level = g_ascii_strdown (global_level (cl), -1);
      return TRUE;
    }
  words = pf_split_list (policy);
  if (words->len == 0)
    return conflict (error, "the TLS policy entry \"%s\" of %s (smtp_tls_policy_maps) is empty, which "
                     "makes Postfix defer the mail; fix the entry first", key, nexthop);
  *level = g_ascii_strdown (g_ptr_array_index (words, 0), -1);
  /* Postfix ignores the attributes of an entry that disables TLS. */
  for (guint i = 1; i < words->len && !g_str_equal (*level, "none"); i++)
    {
      if (!check_policy_attribute (nexthop, g_ptr_array_index (words, i), match_hostname, error))
        return FALSE;
      *has_match = TRUE;
    }
  return TRUE;
}

/* How a nexthop at TLS level @level is reached: with implicit TLS in
 * wrapper mode, else with STARTTLS when the level asks for encryption. */
static gboolean
security_for (Client             *cl,
              const char         *nexthop,
              const char         *level,
              gboolean            verify,
              SmarthostSecurity  *security,
              GError            **error)
{
  if (pf_is_yes (cl->v[S_TLS_WRAPPER]))
    {
      if (!verify && !g_str_equal (level, "encrypt"))
        return conflict (error, "%s is reached with smtp_tls_wrappermode = yes but TLS security level "
                         "\"%s\": Postfix skips such a relay, so there is no working setup to take over; "
                         "set smtp_tls_security_level = encrypt (or secure) first", nexthop, level);
      *security = SMARTHOST_SECURITY_TLS;
    }
  else if (verify || g_str_equal (level, "encrypt"))
    *security = SMARTHOST_SECURITY_STARTTLS;
  else
    *security = SMARTHOST_SECURITY_NONE;
  return TRUE;
}

/* The CA file a verified nexthop is checked against: smtp_tls_CAfile,
 * else (NULL) the system's CAs. A smarthost cannot carry a CA folder of
 * its own. */
static gboolean
ca_file_for (Ctx         *c,
             const char  *nexthop,
             char       **ca_file,
             GError     **error)
{
  Client *cl = c->client;

  if (*cl->v[S_TLS_CAFILE])
    *ca_file = g_strdup (cl->v[S_TLS_CAFILE]);
  else if (*cl->v[S_TLS_CAPATH] && !g_str_equal (cl->v[S_TLS_CAPATH], "/etc/ssl/certs") &&
           !g_str_equal (cl->v[S_TLS_CAPATH], "/etc/ssl/certs/"))
    return conflict (error, "%s is verified against the CA folder smtp_tls_CApath = %s; a smarthost "
                     "takes a CA file: set smtp_tls_CAfile to a PEM file with those CAs first",
                     nexthop, cl->v[S_TLS_CAPATH]);
  else if (!*cl->v[S_TLS_CAPATH])
    g_ptr_array_add (c->notes, g_strdup_printf ("%s was verified with no CA configured (such "
                                                "connections fail); it is now verified against the "
                                                "system's CAs", nexthop));
  return TRUE;
}

/* The TLS a nexthop gets today: its smtp_tls_policy_maps entry, else the
 * global level; the wrapper mode and CAs are the client's. */
static gboolean
tls_for (Ctx                *c,
         const char         *nexthop,
         gboolean            mx,
         SmarthostSecurity  *security,
         gboolean           *verify,
         char              **ca_file,
         GError            **error)
{
  g_autofree char *level = NULL;
  gboolean has_match = FALSE, match_hostname = FALSE;

  *ca_file = NULL;
  if (!tls_level_for (c, nexthop, &level, &has_match, &match_hostname, error))
    return FALSE;
  if (!pf_tls_level_is_known (level))
    return conflict (error, "%s uses TLS security level \"%s\", which Postfix does not know (it defers "
                     "such mail or does not start); fix the level first", nexthop, level);
  if (g_str_equal (level, "dane") || g_str_equal (level, "dane-only") || g_str_equal (level, "fingerprint"))
    return conflict (error, "%s uses TLS security level %s, which a smarthost cannot express "
                     "(it knows none, encrypt and secure); keep this relay by hand", nexthop, level);
  *verify = g_str_equal (level, "secure") || g_str_equal (level, "verify");

  /* Level verify checks the name of the server Postfix connects to; with
   * an MX lookup that is the MX host, while a smarthost checks the nexthop
   * (level secure) and would reject the certificate that works today. */
  if (*verify && mx && (has_match ? match_hostname : g_str_equal (level, "verify")))
    return conflict (error, "%s is an MX-style nexthop whose certificate is checked against the name of "
                     "each MX host (TLS level verify), which a smarthost cannot express (it checks the "
                     "nexthop); write the relay as [host]:port, or keep this relay by hand", nexthop);

  if (!security_for (c->client, nexthop, level, *verify, security, error))
    return FALSE;
  return !*verify || ca_file_for (c, nexthop, ca_file, error);
}

/* --- credentials --------------------------------------------------------- */

/* How long the MX hosts of a nexthop may take to look up. */
#define MX_TIMEOUT_US (10 * G_USEC_PER_SEC)

/* The names of the servers a nexthop leads to, which smtp_sasl_glue.c
 * looks up before the nexthop: the host of "[host]:port"; for an MX-style
 * nexthop its MX hosts, or the domain itself when it has none (Postfix
 * then connects to its addresses). */
static GPtrArray *
server_names (Ctx        *c,
              const char *host,
              gboolean    mx)
{
  GPtrArray *servers = g_ptr_array_new_with_free_func (g_free);

  if (mx && c->resolve_mx && !_smarthost_host_is_address (host, NULL))
    {
      g_auto(SmarthostDnsQuery) q = { host, SMARTHOST_DNS_MX, };

      _smarthost_dns_resolve (&q, 1, g_get_monotonic_time () + MX_TIMEOUT_US, c->cancellable);
      for (guint i = 0; q.answers != NULL && i < q.answers->len; i++)
        {
          const char *name = g_ptr_array_index (q.answers, i);
          if (*name && !g_str_equal (name, "."))
            g_ptr_array_add (servers, g_ascii_strdown (name, strlen (name) - g_str_has_suffix (name, ".")));
        }
      if (q.error != NULL && !g_error_matches (q.error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
        g_ptr_array_add (c->notes, g_strdup_printf ("could not look up the MX hosts of %s (%s): credentials "
                                                    "smtp_sasl_password_maps keeps under an MX host's name, if "
                                                    "any, were not considered", host, q.error->message));
    }
  if (servers->len == 0)
    g_ptr_array_add (servers, g_strdup (host));
  return servers;
}

/* Credentials as Postfix finds them (smtp_sasl_glue.c): "@domain" with
 * sender-dependent authentication, then the name of each server the
 * nexthop leads to, then the nexthop as written; first hit. A smarthost
 * logs in to every server alike, so servers that log in differently are a
 * conflict. The value is a secret: it goes into the relay and is wiped. */
static gboolean
find_credentials (Ctx             *c,
                  SmarthostRelay  *relay,
                  const char      *at,
                  const char      *host,
                  const char      *nexthop,
                  gboolean         mx,
                  char           **found_key,
                  GError         **error)
{
  const char *maps = c->client->v[S_SASL_MAPS];
  g_autoptr(GPtrArray) servers = NULL;
  char *value = NULL;
  char *by_nexthop = NULL;
  gboolean nexthop_done = FALSE;
  const char *colon;

  if (!pf_is_yes (c->client->v[S_SASL_ENABLE]) || *maps == '\0')
    return TRUE;
  if (at != NULL && (value = pf_postmap_query (c->st, maps, at, c->cancellable)) != NULL)
    *found_key = g_strdup (at);
  else
    {
      servers = server_names (c, host, mx);
      for (guint i = 0; i < servers->len; i++)
        {
          const char *server = g_ptr_array_index (servers, i);
          char *v = pf_postmap_query (c->st, maps, server, c->cancellable);
          const char *k = server;

          if (v == NULL)
            {
              if (!nexthop_done)
                by_nexthop = pf_postmap_query (c->st, maps, nexthop, c->cancellable);
              nexthop_done = TRUE;
              v = g_strdup (by_nexthop);
              k = nexthop;
            }
          if (i == 0)
            {
              value = v;
              *found_key = v ? g_strdup (k) : NULL;
            }
          else if (g_strcmp0 (v, value) != 0)
            {
              g_autofree char *first = g_strdup (*found_key ? *found_key : "(none)");
              const char *second = v ? k : "(none)";

              _smarthost_secret_free (v);
              _smarthost_secret_free (value);
              _smarthost_secret_free (by_nexthop);
              g_clear_pointer (found_key, g_free);
              return conflict (error, "%s leads to the MX hosts %s and %s, which log in differently "
                               "(smtp_sasl_password_maps entries \"%s\" and \"%s\"); a smarthost logs in to "
                               "all of them alike: give them one entry, or keep this relay by hand",
                               nexthop, (char *) g_ptr_array_index (servers, 0), server, first, second);
            }
          else
            _smarthost_secret_free (v);
        }
      _smarthost_secret_free (by_nexthop);
    }
  if (value == NULL)
    return TRUE;

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
  _smarthost_secret_free (value);
  return TRUE;
}

/* Whether a list of SASL security options forbids plaintext mechanisms. */
static gboolean
forbids_plaintext (const char *options)
{
  g_autoptr(GPtrArray) words = pf_split_list (options);

  for (guint i = 0; i < words->len; i++)
    if (g_ascii_strcasecmp (g_ptr_array_index (words, i), "noplaintext") == 0)
      return TRUE;
  return FALSE;
}

/* --- relays -------------------------------------------------------------- */

static SmarthostRelay *
relay_for (Ctx         *c,
           const char  *nexthop,
           const char  *domain,
           const char  *what,
           GError     **error)
{
  Client *cl = c->client;
  g_autofree char *host = NULL;
  g_autofree char *ca = NULL;
  g_autofree char *at = NULL;
  g_autofree char *found = NULL;
  g_autofree char *label = domain ? g_strdup_printf ("the smarthost of %s", domain)
                                  : g_strdup ("the server-wide smarthost");
  g_autofree char *sec = NULL;
  g_autoptr(SmarthostRelay) relay = NULL;
  SmarthostSecurity security = SMARTHOST_SECURITY_NONE;
  gboolean verify = FALSE, mx;
  guint port;

  if (!check_tables (c, error))
    return NULL;
  if (strpbrk (nexthop, " ,\t") != NULL)
    return conflict (error, "%s = %s lists several relays; a smarthost is one relay: keep one "
                     "of them, or keep this setup by hand", what, nexthop), NULL;
  if (!pf_parse_nexthop (nexthop, &host, &port, &mx))
    return conflict (error, "%s = %s is not a relay this library understands (expected "
                     "[host]:port, host:port or host)", what, nexthop), NULL;
  if (!tls_for (c, nexthop, mx, &security, &verify, &ca, error))
    return NULL;

  relay = g_object_new (SMARTHOST_TYPE_RELAY, "host", host, "port", port, "security", security,
                        "mx-lookup", mx, "verify-certificate", verify, "ca-file", ca, NULL);
  if (domain && pf_is_yes (cl->v[S_SENDER_AUTH]))
    at = g_strconcat ("@", domain, NULL);
  if (!find_credentials (c, relay, at, host, nexthop, mx, &found, error))
    return NULL;
  if (found)
    {
      if (domain)
        c->domain_creds = TRUE;
      else
        c->server_creds = TRUE;
    }

  /* Without TLS required, Postfix's default smtp_sasl_security_options
   * (noplaintext) never sends a password outside TLS, where our NONE
   * transports would. A relay that needs a login never got one without
   * TLS, so requiring TLS changes no delivery and keeps the password safe. */
  if (found && security == SMARTHOST_SECURITY_NONE)
    {
      if (forbids_plaintext (cl->v[S_SASL_OPTS]))
        {
          security = SMARTHOST_SECURITY_STARTTLS;
          verify = FALSE;
          smarthost_relay_set_security (relay, security);
          smarthost_relay_set_verify_certificate (relay, FALSE);
          g_ptr_array_add (c->notes, g_strdup_printf ("%s = %s does not require TLS, but its login never "
                                                      "travelled without it (smtp_sasl_security_options = %s), "
                                                      "so it is adopted as STARTTLS without certificate "
                                                      "verification: the relay never accepted that login "
                                                      "without TLS, so mail flows as before",
                                                      what, nexthop, cl->v[S_SASL_OPTS]));
        }
      else
        g_ptr_array_add (c->notes, g_strdup_printf ("warning: %s = %s logs in without requiring TLS "
                                                    "(smtp_sasl_security_options = %s allows plaintext "
                                                    "logins), so the password may travel in clear, as "
                                                    "before; set this smarthost to STARTTLS to prevent that",
                                                    what, nexthop, *cl->v[S_SASL_OPTS] ? cl->v[S_SASL_OPTS]
                                                                                     : "(empty)"));
    }

  sec = g_strdup_printf ("%s%s", smarthost_security_to_string (security),
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
  g_autoptr(GPtrArray) maps = pf_split_list (c->v[V_SDD_MAPS]);
  g_autofree char *ours = pf_map_path (c->st, MAP_SENDER_TRANSPORT);
  g_autofree char *key = g_strconcat ("@", domain, NULL);

  for (guint i = 0; i < maps->len; i++)
    {
      const char *spec = g_ptr_array_index (maps, i);
      g_autofree char *hit = NULL;
      g_autofree char *label = NULL;

      if (strstr (spec, ours) != NULL)
        continue;
      if (pf_table_in_process (spec))
        pf_table_lookup (c->st, spec, key, &hit, c->cancellable, NULL);   /* checked by check_tables() */
      else
        hit = pf_postmap_query (c->st, spec, key, c->cancellable);
      if (hit != NULL)
        {
          label = pf_table_label (spec);
          return conflict (error, "mail from %s is routed by %s (sender_dependent_default_transport_maps, "
                           "which outranks sender_dependent_relayhost_maps) to \"%s\"; a smarthost for %s "
                           "would change that: remove one of the two entries first", domain, label, hit, domain);
        }
    }
  return TRUE;
}

/* The server-wide smarthost also carries mail for relay_domains, which
 * Postfix sends through relay_transport: its client settings must be the
 * ones taken over. */
static gboolean
check_relay_transport (Ctx     *c,
                       GError **error)
{
  const char *rt = c->v[V_RELAY_TRANSPORT];
  g_autoptr(Client) relay = NULL;
  g_autofree char *service = g_strndup (rt, strcspn (rt, ":"));

  if (*c->v[V_RELAY_DOMAINS] == '\0' || g_str_equal (service, c->client->service) ||
      !(g_str_equal (rt, "relay") || g_str_has_prefix (rt, TRANSPORT_PREFIX)))
    return TRUE;
  relay = client_settings (c, rt, error);
  if (relay == NULL)
    return FALSE;
  for (guint i = S_FIRST; i < N_NAMES; i++)
    if (!g_str_equal (relay->v[i], c->client->v[i]))
      return conflict (error, "mail for relay_domains leaves through master.cf service %s (relay_transport), "
                       "whose %s differs from that of service %s (default_transport), and the server-wide "
                       "smarthost carries both alike; make them the same, or keep the setup by hand",
                       relay->service, names[i], c->client->service);
  return TRUE;
}

/* What adoption says about the settings it read rather than the relays. */
static void
add_setting_notes (Ctx *c)
{
  Client *cl = c->client;
  g_autofree char *maps = NULL;

  if (cl->overridden->len > 0)
    {
      g_autofree char *list = NULL;
      g_ptr_array_add (cl->overridden, NULL);
      list = g_strjoinv (", ", (char **) cl->overridden->pdata);
      g_ptr_array_remove_index (cl->overridden, cl->overridden->len - 1);
      g_ptr_array_add (c->notes, g_strdup_printf ("reads the smtp client settings of master.cf service %s "
                                                  "(default_transport): its -o overrides of %s win over main.cf, "
                                                  "as in Postfix", cl->service, list));
    }
  if (*cl->v[S_TLS_LEVEL] == '\0' && !g_str_equal (global_level (cl), "none"))
    g_ptr_array_add (c->notes, g_strdup_printf ("smtp_tls_security_level is empty, so the TLS level is %s, "
                                                "from the obsolete smtp_enforce_tls = %s, "
                                                "smtp_tls_enforce_peername = %s and smtp_use_tls = %s, as "
                                                "Postfix computes it", global_level (cl), cl->v[S_ENFORCE_TLS],
                                                cl->v[S_ENFORCE_PEERNAME], cl->v[S_USE_TLS]));

  /* Our transports clear smtp_fallback_relay: a smarthost is one relay.
   * Mail is not lost without the fallback: while the smarthost cannot be
   * reached it stays in the queue and is retried, as it is today once the
   * fallback relays fail too; so a note, not a conflict. */
  if (*cl->v[S_FALLBACK])
    g_ptr_array_add (c->notes, g_strdup_printf ("warning: smtp_fallback_relay = %s no longer applies to the "
                                                "relays taken over (a smarthost is one relay): while one "
                                                "cannot be reached its mail waits in the queue and is retried "
                                                "instead of going to the fallback relay; keep the setup by "
                                                "hand if you rely on it", cl->v[S_FALLBACK]));

  if (c->server_creds || c->domain_creds)
    {
      g_autoptr(GPtrArray) specs = pf_split_list (cl->v[S_SASL_MAPS]);
      g_autoptr(GString) labels = g_string_new (NULL);
      g_autofree char *server = pf_map_path (c->st, MAP_SERVER_PASSWD);
      g_autofree char *sender = pf_map_path (c->st, MAP_SENDER_PASSWD);

      for (guint i = 0; i < specs->len; i++)
        {
          g_autofree char *label = pf_table_label (g_ptr_array_index (specs, i));
          g_string_append_printf (labels, "%s%s", labels->len ? ", " : "", label);
        }
      g_ptr_array_add (c->notes, g_strdup_printf ("the password table smtp_sasl_password_maps = %s stays "
                                                  "untouched but no longer serves the relays taken over: "
                                                  "their credentials now also live in %s%s%s (mode 0600), "
                                                  "where smarthostctl changes them", labels->str,
                                                  c->server_creds ? server : "",
                                                  c->server_creds && c->domain_creds ? " and " : "",
                                                  c->domain_creds ? sender : ""));
    }
}

/* An adoption in the making, for the steps of pf_adopt(). */
typedef struct {
  SmarthostPostfixBackend *self;
  Ctx *c;
  PfAdoption *a;
  GPtrArray *ours;   /* the domains that have a relay of ours already */
} Adopter;

static gboolean
has_relay_of_ours (Adopter    *ad,
                   const char *domain)
{
  return g_ptr_array_find_with_equal_func (ad->ours, domain, g_str_equal, NULL);
}

/* The server-wide relay: relayhost, when it is set by hand. */
static gboolean
adopt_server (Adopter  *ad,
              GError  **error)
{
  Ctx *c = ad->c;
  const char *relayhost = c->v[V_RELAYHOST];

  if (*relayhost == '\0' || pf_server_is_ours (c->st))
    return TRUE;
  ad->a->server = relay_for (c, relayhost, NULL, "relayhost", error);
  if (ad->a->server == NULL || !valid (ad->self, ad->a->server, "relayhost", error) ||
      !check_relay_transport (c, error))
    return FALSE;
  ad->a->relayhost = g_strdup (relayhost);
  return TRUE;
}

/* A domain relay of ours for @domain, whose mail goes to @nexthop today;
 * @what names the setting that sends it there. */
static gboolean
adopt_domain (Adopter     *ad,
              const char  *domain,
              const char  *nexthop,
              const char  *what,
              GError     **error)
{
  g_autoptr(SmarthostRelay) relay = NULL;

  if (!check_sdd (ad->c, domain, error))
    return FALSE;
  relay = relay_for (ad->c, nexthop, domain, what, error);
  if (relay == NULL || !valid (ad->self, relay, what, error))
    return FALSE;
  g_hash_table_insert (ad->a->domains, g_strdup (domain), g_steal_pointer (&relay));
  g_ptr_array_add (ad->a->domain_order, g_strdup (domain));
  return TRUE;
}

/* The entry @key @value of sender_dependent_relayhost_maps table @spec.
 * A domain an earlier table decided (@decided) is not this entry's; one
 * this entry decides goes into @decided_here. */
static gboolean
adopt_relayhost_entry (Adopter     *ad,
                       const char  *spec,
                       const char  *key,
                       const char  *value,
                       GHashTable  *decided,
                       GPtrArray   *decided_here,
                       GError     **error)
{
  g_autofree char *domain = NULL;
  g_autofree char *what = NULL;

  if (key[0] != '@' || (domain = smarthost_domain_normalize (key + 1, NULL)) == NULL)
    return conflict (error, "sender_dependent_relayhost_maps table %s has an entry for \"%s\", "
                     "not for a whole domain (\"@domain\"); a smarthost is per domain: "
                     "remove that entry (or make it \"@domain\") first, or keep the setup by hand",
                     spec, key);
  if (g_hash_table_contains (decided, domain))
    return TRUE;   /* an earlier table wins, as in Postfix */
  g_ptr_array_add (decided_here, g_strdup (domain));
  if (has_relay_of_ours (ad, domain))
    {
      g_ptr_array_add (ad->c->notes, g_strdup_printf ("%s already has a smarthost of its own, which "
                                                      "outranks the entry %s of %s", domain, key, spec));
      return TRUE;
    }
  if (g_ascii_strcasecmp (value, "DUNNO") == 0)
    {
      g_ptr_array_add (ad->c->notes, g_strdup_printf ("the entry %s DUNNO of %s only sends %s's mail the "
                                                      "default way, as it will without it", key, spec, domain));
      return TRUE;
    }
  what = g_strdup_printf ("sender_dependent_relayhost_maps entry %s", key);
  return adopt_domain (ad, domain, value, what, error);
}

/* One sender_dependent_relayhost_maps table, entry by entry; one all of
 * whose entries are taken over leaves main.cf. */
static gboolean
adopt_relayhost_map (Adopter     *ad,
                     const char  *spec,
                     GHashTable  *decided,
                     GError     **error)
{
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GPtrArray) decided_here = g_ptr_array_new_with_free_func (g_free);
  guint taken = 0;

  if (!pf_map_is_listable (spec))
    return conflict (error, "sender_dependent_relayhost_maps uses %s, a table that cannot be listed "
                     "(only hash, btree, texthash, lmdb, cdb and inline tables can), so its "
                     "entries cannot be taken over; convert it to a hash: table, or keep the "
                     "setup by hand", spec);
  entries = pf_map_list (ad->c->st, spec, ad->c->cancellable, &local_error);
  if (entries == NULL)
    return conflict (error, "cannot read sender_dependent_relayhost_maps table %s: %s",
                     spec, local_error->message);
  for (guint j = 0; j + 1 < entries->len; j += 2)
    {
      if (!adopt_relayhost_entry (ad, spec, g_ptr_array_index (entries, j), g_ptr_array_index (entries, j + 1),
                                  decided, decided_here, error))
        return FALSE;
      taken++;
    }
  /* Entries of one table do not shadow each other; later tables only. */
  for (guint j = 0; j < decided_here->len; j++)
    g_hash_table_add (decided, g_strdup (g_ptr_array_index (decided_here, j)));
  if (taken * 2 == entries->len)
    {
      g_ptr_array_add (ad->a->drop_sdr_maps, g_strdup (spec));
      g_ptr_array_add (ad->c->notes, g_strdup_printf ("removes %s from sender_dependent_relayhost_maps: all "
                                                      "its entries are taken over; the file itself stays", spec));
    }
  else
    g_ptr_array_add (ad->c->notes, g_strdup_printf ("keeps %s in sender_dependent_relayhost_maps", spec));
  return TRUE;
}

/* Per-domain relays: sender_dependent_relayhost_maps, table by table. */
static gboolean
adopt_relayhost_maps (Adopter  *ad,
                      GError  **error)
{
  g_autoptr(GPtrArray) sdr = pf_split_list (ad->c->v[V_SDR_MAPS]);
  /* Domains the relayhost maps have decided: the first table with an
   * entry for a domain wins, DUNNO included (mail_addr_find()). */
  g_autoptr(GHashTable) decided = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < sdr->len; i++)
    if (!adopt_relayhost_map (ad, g_ptr_array_index (sdr, i), decided, error))
      return FALSE;
  return TRUE;
}

/* The key @key of smtp_sasl_password_maps table @label: "@domain" logs
 * that domain in to relayhost as itself. */
static gboolean
adopt_login_entry (Adopter     *ad,
                   const char  *label,
                   const char  *key,
                   GError     **error)
{
  g_autofree char *domain = NULL;
  g_autofree char *what = NULL;

  if (strchr (key, '@') == NULL)
    return TRUE;   /* a host or nexthop key */
  if (key[0] != '@' || (domain = smarthost_domain_normalize (key + 1, NULL)) == NULL)
    return conflict (error, "smtp_sasl_password_maps table %s has credentials for the single "
                     "sender \"%s\" (smtp_sender_dependent_authentication = yes); smarthost "
                     "credentials are per domain: remove that entry first, or keep the setup "
                     "by hand", label, key);
  if (g_hash_table_contains (ad->a->domains, domain))
    return TRUE;
  /* A domain the relayhost maps decided without a relay of its
   * own (DUNNO) still logs in to relayhost as itself. */
  if (has_relay_of_ours (ad, domain))
    return TRUE;
  what = g_strdup_printf ("relayhost (for senders %s)", key);
  return adopt_domain (ad, domain, ad->c->v[V_RELAYHOST], what, error);
}

static gboolean
adopt_login_table (Adopter     *ad,
                   const char  *spec,
                   GError     **error)
{
  g_autofree char *label = pf_table_label (spec);
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(GError) local_error = NULL;

  if (!pf_map_is_listable (spec))
    return conflict (error, "smtp_sender_dependent_authentication = yes and smtp_sasl_password_maps "
                     "uses %s, a table that cannot be listed, so which senders log in as whom "
                     "cannot be known; convert it to a hash: table, or keep the setup by hand", label);
  entries = pf_map_list (ad->c->st, spec, ad->c->cancellable, &local_error);
  if (entries == NULL)
    return conflict (error, "cannot read smtp_sasl_password_maps table %s: %s", label, local_error->message);
  for (guint j = 0; j + 1 < entries->len; j += 2)
    if (!adopt_login_entry (ad, label, g_ptr_array_index (entries, j), error))
      return FALSE;
  return TRUE;
}

/* With sender-dependent authentication, a domain may log in to the
 * relayhost as itself. */
static gboolean
adopt_sender_logins (Adopter  *ad,
                     GError  **error)
{
  Client *cl = ad->c->client;
  g_autoptr(GPtrArray) maps = NULL;

  if (!(ad->a->server && pf_is_yes (cl->v[S_SENDER_AUTH]) && pf_is_yes (cl->v[S_SASL_ENABLE]) &&
        *cl->v[S_SASL_MAPS]))
    return TRUE;
  maps = pf_split_list (cl->v[S_SASL_MAPS]);
  for (guint i = 0; i < maps->len; i++)
    if (!adopt_login_table (ad, g_ptr_array_index (maps, i), error))
      return FALSE;
  return TRUE;
}

/* What stays as it is, once something is taken over. */
static void
note_kept_settings (Ctx *c)
{
  g_autoptr(GString) kept = g_string_new (NULL);

  for (guint i = 0; kept_params[i]; i++)
    if (pf_conf_get (c->st->main, kept_params[i]) != NULL)
      g_string_append_printf (kept, "%s%s", kept->len ? ", " : "", kept_params[i]);
  add_setting_notes (c);
  g_ptr_array_add (c->notes, g_strdup_printf ("keeps untouched: %s%severything else in main.cf and master.cf, "
                                              "and every file they name (the smarthost transports override "
                                              "the global smtp_* settings for the relays taken over)",
                                              kept->str, kept->len ? "; " : ""));
}

PfAdoption *
pf_adopt (SmarthostPostfixBackend  *self,
          PfState                  *st,
          GPtrArray                *notes,
          GCancellable             *cancellable,
          GError                  **error)
{
  g_autoptr(PfAdoption) a = g_new0 (PfAdoption, 1);
  g_autoptr(GPtrArray) ours = pf_list_domains (st);
  Ctx c = { st, NULL, NULL, NULL, cancellable, notes, TRUE, FALSE, FALSE, FALSE };
  Adopter ad = { self, &c, a, ours };
  PfAdoption *result = NULL;

  a->domains = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  a->domain_order = g_ptr_array_new_null_terminated (0, g_free, TRUE);
  a->drop_sdr_maps = g_ptr_array_new_with_free_func (g_free);

  if (load_settings (&c, error) &&
      adopt_server (&ad, error) &&
      adopt_relayhost_maps (&ad, error) &&
      adopt_sender_logins (&ad, error))
    {
      if (a->server || g_hash_table_size (a->domains) || a->drop_sdr_maps->len)
        note_kept_settings (&c);
      result = g_steal_pointer (&a);
    }
  ctx_clear (&c);
  return result;
}

/* The server relay set up by hand, as status reports it: what adoption
 * would take over, or, for a setup it cannot take over (DANE, a relay
 * list...), the nearest a relay can say. Never the password itself. MX
 * hosts are not looked up: status does not wait for DNS. */
SmarthostRelay *
pf_read_manual_server (PfState       *st,
                       const char    *relayhost,
                       GCancellable  *cancellable,
                       GError       **error)
{
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) local_error = NULL;
  Ctx c = { st, NULL, NULL, NULL, cancellable, notes, FALSE, FALSE, FALSE, FALSE };
  SmarthostRelay *relay = NULL;

  if (!load_settings (&c, error))
    goto out;
  relay = relay_for (&c, relayhost, NULL, "relayhost", &local_error);
  if (relay == NULL && !g_error_matches (local_error, SMARTHOST_ERROR, SMARTHOST_ERROR_CONFLICT))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      goto out;
    }
  if (relay == NULL)
    {
      const char *level = global_level (c.client);
      g_autofree char *host = NULL;
      g_autofree char *first = g_strndup (relayhost, strcspn (relayhost, " ,\t"));
      g_autofree char *found = NULL;
      guint port;
      gboolean mx, verify;
      SmarthostSecurity security;

      if (!pf_parse_nexthop (relayhost, &host, &port, &mx))
        goto out;
      if (pf_is_yes (c.client->v[S_TLS_WRAPPER]))
        security = SMARTHOST_SECURITY_TLS;
      else if (g_str_equal (level, "encrypt") || g_str_equal (level, "secure") ||
               g_str_equal (level, "verify") || g_str_equal (level, "dane-only") ||
               g_str_equal (level, "fingerprint"))
        security = SMARTHOST_SECURITY_STARTTLS;
      else
        security = SMARTHOST_SECURITY_NONE;
      verify = g_str_equal (level, "secure") || g_str_equal (level, "verify") ||
               g_str_equal (level, "dane-only") || g_str_equal (level, "fingerprint");
      relay = g_object_new (SMARTHOST_TYPE_RELAY, "host", host, "port", port, "security", security,
                            "mx-lookup", mx, "verify-certificate", verify,
                            "ca-file", verify && *c.client->v[S_TLS_CAFILE] ? c.client->v[S_TLS_CAFILE] : NULL,
                            NULL);
      c.checked = TRUE;
      if (!find_credentials (&c, relay, NULL, host, first, mx, &found, NULL))
        smarthost_relay_set_username (relay, NULL);
    }
  if (smarthost_relay_get_password_set (relay))
    {
      /* The administrator's password is theirs: known to exist, not shown. */
      smarthost_relay_set_password (relay, NULL);
      _smarthost_relay_mark_password_set (relay);
    }
out:
  ctx_clear (&c);
  return relay;
}
