/* smarthost-postfix-doctor.c: what is wrong with a Postfix smarthost setup
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include "smarthost-error.h"
#include "smarthost-finding.h"
#include "smarthost-postfix-private.h"
#include "smarthost-private.h"

/*
 * Implementation notes
 *
 * The diagnosis only reads: main.cf and master.cf as text, effective
 * values with "postconf -x -h", map entries with "postmap -s" (in memory
 * only: a SASL map holds passwords, and nothing of a map's values goes into
 * a finding), file modes and times with stat(), and host names with GIO's
 * resolver. It covers both our own settings and those made by hand, since
 * both decide where mail goes.
 *
 * SASL mechanisms: Postfix's SMTP client uses Cyrus SASL, whose mechanisms
 * are plugins (libsasl2-modules provides libplain.so and liblogin.so, the
 * ones relays offer). "postconf -A" lists only the SASL implementations
 * compiled into Postfix ("cyrus"), not the mechanisms, so the plugin
 * folder is looked at. The environment variable SMARTHOST_SASL_PLUGIN_DIR
 * replaces the folders searched; it exists for tests only.
 */

#define RESOLVE_TIMEOUT_US (5 * G_USEC_PER_SEC)

static const char *sasl_plugin_dirs[] = {
  "/usr/lib/x86_64-linux-gnu/sasl2",
  "/usr/lib/aarch64-linux-gnu/sasl2",
  "/usr/lib/i386-linux-gnu/sasl2",
  "/usr/lib/arm-linux-gnueabihf/sasl2",
  "/usr/lib64/sasl2",
  "/usr/lib/sasl2",
  NULL,
};

enum {
  V_RELAYHOST,
  V_SASL_ENABLE,
  V_SASL_MAPS,
  V_SASL_OPTS,
  V_SASL_TLS_OPTS,
  V_SASL_TYPE,
  V_TLS_LEVEL,
  V_TLS_WRAPPER,
  V_TLS_CAFILE,
  V_TLS_CAPATH,
  V_TLS_POLICY_MAPS,
  V_SDR_MAPS,
  V_SDD_MAPS,
  V_TRANSPORT_MAPS,
  N_VALUES
};

static const char *value_names[N_VALUES + 1] = {
  "relayhost",
  "smtp_sasl_auth_enable",
  "smtp_sasl_password_maps",
  "smtp_sasl_security_options",
  "smtp_sasl_tls_security_options",
  "smtp_sasl_type",
  "smtp_tls_security_level",
  "smtp_tls_wrappermode",
  "smtp_tls_CAfile",
  "smtp_tls_CApath",
  "smtp_tls_policy_maps",
  "sender_dependent_relayhost_maps",
  "sender_dependent_default_transport_maps",
  "transport_maps",
  NULL,
};

typedef struct {
  PfState *st;
  char **v;                 /* effective values, value_names order */
  GPtrArray *findings;
  GCancellable *cancellable;
} Doctor;

static void
add (Doctor            *doc,
     SmarthostSeverity  severity,
     const char        *code,
     const char        *fix,
     const char        *format,
     ...) G_GNUC_PRINTF (5, 6);

static void
add (Doctor            *doc,
     SmarthostSeverity  severity,
     const char        *code,
     const char        *fix,
     const char        *format,
     ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (doc->findings, smarthost_finding_new (severity, code, message, fix));
}

/* --- lookup table specifications --------------------------------------- */

/* Splits a Postfix list ("a, b c"), keeping "{...}" groups whole. */
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

/* "proxy:hash:/etc/postfix/x" -> type "hash", path "/etc/postfix/x".
 * Returns FALSE for a table that is not a file (inline:, static:...). */
static gboolean
spec_file (const char  *spec,
           char       **type,
           char       **path)
{
  const char *colon;

  if (g_str_has_prefix (spec, "proxy:"))
    spec += strlen ("proxy:");
  colon = strchr (spec, ':');
  if (colon == NULL || colon[1] != '/')
    return FALSE;
  *type = g_strndup (spec, colon - spec);
  *path = g_strdup (colon + 1);
  return TRUE;
}

/* The file Postfix actually reads for an indexed table, or NULL when it
 * reads the source itself. */
static const char *
compiled_suffix (const char *type)
{
  if (g_str_equal (type, "hash") || g_str_equal (type, "btree"))
    return ".db";
  if (g_str_equal (type, "lmdb"))
    return ".lmdb";
  if (g_str_equal (type, "cdb"))
    return ".cdb";
  return NULL;
}

gboolean
pf_map_is_listable (const char *spec)
{
  static const char *types[] = { "hash:", "btree:", "texthash:", "lmdb:", "cdb:", "inline:", NULL };

  if (g_str_has_prefix (spec, "proxy:"))
    spec += strlen ("proxy:");
  for (guint i = 0; types[i]; i++)
    if (g_str_has_prefix (spec, types[i]))
      return TRUE;
  return FALSE;
}

/* Every entry of a table, as key, value, key, value... The values may be
 * secrets: they stay in memory, and are wiped when the array is freed. */
GPtrArray *
pf_map_list (PfState       *st,
             const char    *spec,
             GCancellable  *cancellable,
             GError       **error)
{
  const char *argv[] = { POSTFIX_SBINDIR "/postmap", "-c", st->dir, "-s", spec, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  GPtrArray *entries;
  gsize out_len;
  int status;

  if (!_smarthost_run (argv, cancellable, &status, &out, &err, error))
    return NULL;
  if (status != 0)
    {
      char *fatal = strstr (err, "fatal: ");
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "postmap -s %s failed: %s", spec, g_strstrip (fatal ? fatal + 7 : err));
      return NULL;
    }
  entries = g_ptr_array_new_with_free_func ((GDestroyNotify) _smarthost_secret_free);
  out_len = strlen (out);
  for (char *line = out; line && *line;)
    {
      char *nl = strchr (line, '\n');
      char *tab;

      if (nl)
        *nl = '\0';
      tab = strchr (line, '\t');
      if (tab)
        {
          g_ptr_array_add (entries, g_strndup (line, tab - line));
          g_ptr_array_add (entries, g_strdup (tab + 1));
        }
      line = nl ? nl + 1 : NULL;
    }
  explicit_bzero (out, out_len);
  return entries;
}

/* --- the checks -------------------------------------------------------- */

static void
check_duplicates (Doctor *doc)
{
  g_autoptr(GPtrArray) keys = pf_conf_keys (doc->st->main, "");
  g_autoptr(GPtrArray) services = pf_conf_keys (doc->st->master, "");

  for (guint i = 0; i < keys->len; i++)
    {
      const char *k = g_ptr_array_index (keys, i);
      guint n = pf_conf_count (doc->st->main, k);
      g_autofree char *fix = NULL;

      if (n < 2)
        continue;
      fix = g_strdup_printf ("Keep one definition of %s in %s and delete or comment out the others "
                             "(postconf -e %s=VALUE replaces them all with one)",
                             k, doc->st->main_path, k);
      add (doc, SMARTHOST_SEVERITY_WARNING, "duplicate-parameter", fix,
           "main.cf defines %s %u times; Postfix uses only the last one (%s = %s), "
           "and an edit of an earlier one has no effect",
           k, n, k, pf_conf_get (doc->st->main, k));
    }
  for (guint i = 0; i < services->len; i++)
    {
      const char *k = g_ptr_array_index (services, i);
      g_autofree char *name = g_strdelimit (g_strdup (k), "/", ' ');
      g_autofree char *fix = NULL;

      if (pf_conf_count (doc->st->master, k) < 2)
        continue;
      fix = g_strdup_printf ("Keep one \"%s\" service in %s and delete the others", name,
                             doc->st->master_path);
      add (doc, SMARTHOST_SEVERITY_WARNING, "duplicate-parameter", fix,
           "master.cf defines the service \"%s\" %u times", name,
           pf_conf_count (doc->st->master, k));
    }
}

static gboolean
has_token (const char *list,
           const char *token)
{
  g_autoptr(GPtrArray) items = split_list (list);

  for (guint i = 0; i < items->len; i++)
    if (g_ascii_strcasecmp (g_ptr_array_index (items, i), token) == 0)
      return TRUE;
  return FALSE;
}

/* The master.cf entries of ours (transports named smarthost-...). */
static GPtrArray *
our_transports (Doctor *doc)
{
  GPtrArray *keys = pf_conf_keys (doc->st->master, TRANSPORT_PREFIX);

  for (guint i = keys->len; i-- > 0;)
    if (!g_str_has_suffix (g_ptr_array_index (keys, i), "/unix"))
      g_ptr_array_remove_index (keys, i);
  return keys;
}

static gboolean
uses_sasl (Doctor *doc)
{
  g_autoptr(GPtrArray) keys = pf_conf_keys (doc->st->master, "");

  if (g_str_equal (doc->v[V_SASL_ENABLE], "yes"))
    return TRUE;
  for (guint i = 0; i < keys->len; i++)
    {
      g_autofree char *v = pf_master_option (pf_conf_get (doc->st->master, g_ptr_array_index (keys, i)),
                                             "smtp_sasl_auth_enable");
      if (g_strcmp0 (v, "yes") == 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean
dir_has_plugin (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return FALSE;
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_prefix (name, "libplain.so") || g_str_has_prefix (name, "liblogin.so"))
      return TRUE;
  return FALSE;
}

static void
check_sasl_mechanisms (Doctor *doc)
{
  const char *override = g_getenv ("SMARTHOST_SASL_PLUGIN_DIR");
  const char *argv[] = { POSTFIX_SBINDIR "/postconf", "-c", doc->st->dir, "-A", NULL };
  g_autofree char *out = NULL;
  gboolean found = FALSE;
  int status;

  if (!uses_sasl (doc))
    return;

  if (_smarthost_run (argv, doc->cancellable, &status, &out, NULL, NULL) && status == 0 &&
      !has_token (out, "cyrus"))
    {
      add (doc, SMARTHOST_SEVERITY_ERROR, "sasl-mechanisms-missing",
           "Install a Postfix built with Cyrus SASL (Debian's postfix package is)",
           "This Postfix was built without Cyrus SASL support for its SMTP client "
           "(postconf -A lists none), so it cannot authenticate to any relay");
      return;
    }
  if (!g_str_equal (doc->v[V_SASL_TYPE], "cyrus"))
    return;

  if (override != NULL)
    found = dir_has_plugin (override);
  else
    for (guint i = 0; sasl_plugin_dirs[i] && !found; i++)
      found = dir_has_plugin (sasl_plugin_dirs[i]);
  if (!found)
    add (doc, SMARTHOST_SEVERITY_ERROR, "sasl-mechanisms-missing",
         "Install the SASL mechanism plugins: apt-get install libsasl2-modules",
         "Postfix's SMTP client has no SASL mechanism to log in with: the Cyrus SASL plugins "
         "for PLAIN and LOGIN (libplain.so, liblogin.so in %s) are missing, so every relay "
         "login fails with \"no mechanism available\" and mail is deferred",
         override ? override : sasl_plugin_dirs[0]);
}

/* The lookup tables holding passwords: the global one and any master.cf
 * transport's (ours among them). */
static GPtrArray *
password_maps (Doctor *doc)
{
  GPtrArray *specs = split_list (doc->v[V_SASL_MAPS]);
  g_autoptr(GPtrArray) keys = pf_conf_keys (doc->st->master, "");

  for (guint i = 0; i < keys->len; i++)
    {
      g_autofree char *v = pf_master_option (pf_conf_get (doc->st->master, g_ptr_array_index (keys, i)),
                                             "smtp_sasl_password_maps");
      g_autoptr(GPtrArray) more = split_list (v);

      for (guint j = 0; j < more->len; j++)
        {
          const char *spec = g_ptr_array_index (more, j);
          gboolean seen = FALSE;

          if (strchr (spec, '$') != NULL)
            continue;
          for (guint k = 0; k < specs->len && !seen; k++)
            seen = g_str_equal (g_ptr_array_index (specs, k), spec);
          if (!seen)
            g_ptr_array_add (specs, g_strdup (spec));
        }
    }
  return specs;
}

static void
check_readable (Doctor     *doc,
                const char *path)
{
  struct stat sb;
  g_autofree char *fix = NULL;

  if (stat (path, &sb) != 0 || !S_ISREG (sb.st_mode) || (sb.st_mode & S_IROTH) == 0)
    return;
  fix = g_strdup_printf ("chown root %s && chmod 600 %s", path, path);
  add (doc, SMARTHOST_SEVERITY_WARNING, "secrets-readable", fix,
       "%s holds relay passwords and every user can read it (mode %04o)",
       path, (unsigned) (sb.st_mode & 07777));
}

static void
check_secrets (Doctor *doc)
{
  g_autoptr(GPtrArray) specs = password_maps (doc);

  for (guint i = 0; i < specs->len; i++)
    {
      g_autofree char *type = NULL;
      g_autofree char *path = NULL;
      const char *suffix;

      if (!spec_file (g_ptr_array_index (specs, i), &type, &path))
        continue;
      check_readable (doc, path);
      suffix = compiled_suffix (type);
      if (suffix)
        {
          g_autofree char *compiled = g_strconcat (path, suffix, NULL);
          check_readable (doc, compiled);
        }
    }
}

static void
check_map_built (Doctor     *doc,
                 const char *param,
                 const char *spec)
{
  g_autofree char *type = NULL;
  g_autofree char *path = NULL;
  g_autofree char *compiled = NULL;
  g_autofree char *fix = NULL;
  const char *suffix;
  struct stat src, db;
  gboolean have_src, have_db;

  if (!spec_file (spec, &type, &path) || (suffix = compiled_suffix (type)) == NULL)
    return;
  compiled = g_strconcat (path, suffix, NULL);
  have_src = stat (path, &src) == 0;
  have_db = stat (compiled, &db) == 0;
  fix = g_strdup_printf ("postmap %s:%s", type, path);

  if (!have_db)
    add (doc, SMARTHOST_SEVERITY_ERROR, "map-not-built", fix,
         "%s uses %s:%s, but %s does not exist%s: every lookup fails and the mail it "
         "concerns is deferred", param, type, path, compiled,
         have_src ? " (postmap was never run)" : " and neither does its source");
  else if (have_src && (src.st_mtim.tv_sec > db.st_mtim.tv_sec ||
                        (src.st_mtim.tv_sec == db.st_mtim.tv_sec &&
                         src.st_mtim.tv_nsec > db.st_mtim.tv_nsec)))
    add (doc, SMARTHOST_SEVERITY_WARNING, "map-stale", fix,
         "%s is older than its source %s (used by %s): Postfix still uses the old entries",
         compiled, path, param);
}

static void
check_maps (Doctor *doc)
{
  static const guint params[] = { V_SASL_MAPS, V_SDR_MAPS, V_SDD_MAPS, V_TRANSPORT_MAPS, V_TLS_POLICY_MAPS };
  g_autoptr(GPtrArray) pw = password_maps (doc);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < G_N_ELEMENTS (params); i++)
    {
      g_autoptr(GPtrArray) specs = split_list (doc->v[params[i]]);
      for (guint j = 0; j < specs->len; j++)
        {
          const char *spec = g_ptr_array_index (specs, j);
          if (!g_hash_table_contains (seen, spec))
            {
              check_map_built (doc, value_names[params[i]], spec);
              g_hash_table_add (seen, g_strdup (spec));
            }
        }
    }
  /* master.cf transports' password maps (ours among them). */
  for (guint j = 0; j < pw->len; j++)
    {
      const char *spec = g_ptr_array_index (pw, j);
      if (!g_hash_table_contains (seen, spec))
        {
          check_map_built (doc, "smtp_sasl_password_maps", spec);
          g_hash_table_add (seen, g_strdup (spec));
        }
    }
  {
    GHashTableIter iter;
    gpointer key;
    g_hash_table_iter_init (&iter, seen);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      g_free (key);
  }
}

static gboolean
level_verifies (const char *level)
{
  return g_str_equal (level, "secure") || g_str_equal (level, "verify");
}

static gboolean
level_encrypts (const char *level)
{
  return level_verifies (level) || g_str_equal (level, "encrypt") || g_str_equal (level, "dane") ||
         g_str_equal (level, "dane-only") || g_str_equal (level, "fingerprint");
}

static void
check_ca (Doctor *doc)
{
  g_autoptr(GPtrArray) ours = our_transports (doc);
  const char *level = doc->v[V_TLS_LEVEL];
  const char *cafile = doc->v[V_TLS_CAFILE];
  const char *capath = doc->v[V_TLS_CAPATH];

  if (level_verifies (level) && *cafile == '\0' && *capath == '\0')
    add (doc, SMARTHOST_SEVERITY_ERROR, "no-ca",
         "Set smtp_tls_CAfile = /etc/ssl/certs/ca-certificates.crt (package ca-certificates), "
         "or lower smtp_tls_security_level",
         "smtp_tls_security_level = %s verifies certificates, but neither smtp_tls_CAfile nor "
         "smtp_tls_CApath is set: Postfix loads no CA at all, and every verified TLS "
         "connection fails", level);
  else if (*level != '\0' && !g_str_equal (level, "none"))
    {
      if (*cafile && !g_file_test (cafile, G_FILE_TEST_IS_REGULAR))
        add (doc, level_verifies (level) ? SMARTHOST_SEVERITY_ERROR : SMARTHOST_SEVERITY_WARNING,
             "no-ca", "Point smtp_tls_CAfile at an existing PEM file, such as "
             "/etc/ssl/certs/ca-certificates.crt",
             "smtp_tls_CAfile = %s does not exist: Postfix disables TLS for its SMTP client", cafile);
      if (*capath && !g_file_test (capath, G_FILE_TEST_IS_DIR))
        add (doc, level_verifies (level) ? SMARTHOST_SEVERITY_ERROR : SMARTHOST_SEVERITY_WARNING,
             "no-ca", "Point smtp_tls_CApath at an existing folder, such as /etc/ssl/certs",
             "smtp_tls_CApath = %s does not exist", capath);
    }

  for (guint i = 0; i < ours->len; i++)
    {
      const char *k = g_ptr_array_index (ours, i);
      g_autofree char *ca = pf_master_option (pf_conf_get (doc->st->master, k), "smtp_tls_CAfile");
      g_autofree char *name = g_strndup (k, strcspn (k, "/"));

      if (ca && *ca && !g_file_test (ca, G_FILE_TEST_IS_REGULAR))
        add (doc, SMARTHOST_SEVERITY_ERROR, "no-ca",
             "Restore the CA file, or set the smarthost again with --ca-file pointing at an existing "
             "file (or without it, to use the system's CAs)",
             "The CA file %s of the smarthost transport %s does not exist: its relays' "
             "certificates cannot be verified and their mail is deferred", ca, name);
    }
}

/* The hand-made relays: relayhost (when not ours), and the entries of
 * sender_dependent_relayhost_maps that can be listed, as nexthops. */
static GPtrArray *
manual_nexthops (Doctor *doc)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) sdr = split_list (doc->v[V_SDR_MAPS]);

  if (*doc->v[V_RELAYHOST] && !pf_server_is_ours (doc->st))
    {
      g_autoptr(GPtrArray) hops = split_list (doc->v[V_RELAYHOST]);
      for (guint i = 0; i < hops->len; i++)
        g_ptr_array_add (out, g_strdup (g_ptr_array_index (hops, i)));
    }
  for (guint i = 0; i < sdr->len; i++)
    {
      const char *spec = g_ptr_array_index (sdr, i);
      g_autoptr(GPtrArray) entries = NULL;

      if (!pf_map_is_listable (spec) ||
          (entries = pf_map_list (doc->st, spec, doc->cancellable, NULL)) == NULL)
        continue;
      for (guint j = 1; j < entries->len; j += 2)
        {
          const char *v = g_ptr_array_index (entries, j);
          if (g_ascii_strcasecmp (v, "DUNNO") != 0)
            g_ptr_array_add (out, g_strdup (v));
        }
    }
  return out;
}

static void
check_port_465 (Doctor    *doc,
                GPtrArray *hops)
{
  gboolean wrapper = g_str_equal (doc->v[V_TLS_WRAPPER], "yes");

  for (guint i = 0; i < hops->len; i++)
    {
      const char *hop = g_ptr_array_index (hops, i);
      g_autofree char *host = NULL;
      guint port;
      gboolean mx;

      if (!pf_parse_nexthop (hop, &host, &port, &mx) || port != 465)
        continue;
      if (!wrapper)
        add (doc, SMARTHOST_SEVERITY_ERROR, "port-465-without-wrappermode",
             "Port 465 speaks TLS from the first byte: set smtp_tls_wrappermode = yes and "
             "smtp_tls_security_level = encrypt (or let smarthostctl import take the relay over, "
             "with its own transport), or use the relay's STARTTLS port 587",
             "The relay %s is on port 465 (implicit TLS), but smtp_tls_wrappermode is not yes: "
             "Postfix waits for a plain-text greeting that never comes, and the mail is deferred "
             "after a timeout", hop);
      else if (!level_encrypts (doc->v[V_TLS_LEVEL]))
        add (doc, SMARTHOST_SEVERITY_ERROR, "port-465-without-wrappermode",
             "Set smtp_tls_security_level = encrypt (or secure) together with smtp_tls_wrappermode = yes",
             "The relay %s uses smtp_tls_wrappermode = yes with smtp_tls_security_level = %s: "
             "Postfix skips such a host and the mail is deferred", hop,
             *doc->v[V_TLS_LEVEL] ? doc->v[V_TLS_LEVEL] : "(empty)");
    }
}

static void
check_sasl_options (Doctor    *doc,
                    GPtrArray *hops)
{
  const char *level = doc->v[V_TLS_LEVEL];

  if (hops->len == 0 || !g_str_equal (doc->v[V_SASL_ENABLE], "yes"))
    return;
  if (has_token (doc->v[V_SASL_TLS_OPTS], "noplaintext"))
    {
      gboolean inherited = pf_conf_get (doc->st->main, "smtp_sasl_tls_security_options") == NULL;
      g_autofree char *which = inherited
        ? g_strdup_printf ("smtp_sasl_tls_security_options is not set, so it inherits "
                           "smtp_sasl_security_options = %s", doc->v[V_SASL_TLS_OPTS])
        : g_strdup_printf ("smtp_sasl_tls_security_options = %s", doc->v[V_SASL_TLS_OPTS]);
      add (doc, SMARTHOST_SEVERITY_ERROR, "sasl-plaintext-forbidden",
           "Set smtp_sasl_tls_security_options = noanonymous, which allows PLAIN and LOGIN "
           "inside TLS only (Postfix's SASL_README recommends it)",
           "%s, which contains noplaintext: PLAIN and LOGIN, the only mechanisms most relays "
           "offer, are forbidden even over TLS, and logins fail with \"no mechanism available\"",
           which);
    }
  else if (has_token (doc->v[V_SASL_OPTS], "noplaintext") && !level_encrypts (level) &&
           !g_str_equal (level, "may"))
    add (doc, SMARTHOST_SEVERITY_ERROR, "sasl-plaintext-forbidden",
         "Turn TLS on for the relay: smtp_tls_security_level = encrypt (or secure)",
         "smtp_sasl_security_options = %s forbids PLAIN and LOGIN without TLS, and "
         "smtp_tls_security_level = %s never uses TLS: no login is possible",
         doc->v[V_SASL_OPTS], *level ? level : "(empty)");
  else if (has_token (doc->v[V_SASL_OPTS], "noplaintext") && g_str_equal (level, "may"))
    add (doc, SMARTHOST_SEVERITY_WARNING, "sasl-plaintext-forbidden",
         "Require TLS for the relay: smtp_tls_security_level = encrypt (or secure)",
         "smtp_sasl_security_options = %s forbids PLAIN and LOGIN without TLS, and "
         "smtp_tls_security_level = may does not require TLS: logins fail whenever the relay "
         "does not offer STARTTLS", doc->v[V_SASL_OPTS]);
}

/* --- name resolution --------------------------------------------------- */

typedef struct {
  char *host;
  char *nexthop;
  gboolean mx;
  guint pending;
  gboolean resolved;
  GError *error;
} Lookup;

static void
lookup_free (gpointer data)
{
  Lookup *l = data;

  g_free (l->host);
  g_free (l->nexthop);
  g_clear_error (&l->error);
  g_free (l);
}

static void
lookup_record (Lookup *l,
               GError *error)
{
  l->pending--;
  if (error == NULL)
    l->resolved = TRUE;
  else if (l->error == NULL || g_error_matches (l->error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
    {
      /* Keep the most telling error: a temporary failure over "not found". */
      g_clear_error (&l->error);
      l->error = g_error_copy (error);
    }
}

static void
by_name_done (GObject      *source,
              GAsyncResult *res,
              gpointer      data)
{
  g_autoptr(GError) error = NULL;
  GList *list = g_resolver_lookup_by_name_finish (G_RESOLVER (source), res, &error);

  g_resolver_free_addresses (list);
  lookup_record (data, error);
}

static void
mx_done (GObject      *source,
         GAsyncResult *res,
         gpointer      data)
{
  g_autoptr(GError) error = NULL;
  GList *list = g_resolver_lookup_records_finish (G_RESOLVER (source), res, &error);

  g_list_free_full (list, (GDestroyNotify) g_variant_unref);
  lookup_record (data, error);
}

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

static void
add_lookup (GPtrArray      *lookups,
            SmarthostRelay *relay,
            const char     *nexthop)
{
  g_autofree char *host = NULL;
  guint port;
  gboolean mx;

  if (relay != NULL)
    {
      host = g_strdup (smarthost_relay_get_host (relay));
      mx = smarthost_relay_get_mx_lookup (relay);
      port = smarthost_relay_get_effective_port (relay);
    }
  else if (!pf_parse_nexthop (nexthop, &host, &port, &mx))
    return;
  if (g_hostname_is_ip_address (host))
    return;
  for (guint i = 0; i < lookups->len; i++)
    if (g_ascii_strcasecmp (((Lookup *) g_ptr_array_index (lookups, i))->host, host) == 0)
      return;
  {
    Lookup *l = g_new0 (Lookup, 1);
    l->host = g_steal_pointer (&host);
    l->mx = mx;
    l->nexthop = nexthop ? g_strdup (nexthop) : NULL;
    g_ptr_array_add (lookups, l);
  }
}

static void
check_resolution (Doctor    *doc,
                  GPtrArray *hops)
{
  g_autoptr(GPtrArray) lookups = g_ptr_array_new_with_free_func (lookup_free);
  g_autoptr(GPtrArray) domains = pf_list_domains (doc->st);
  g_autoptr(GMainContext) ctx = NULL;
  g_autoptr(GResolver) resolver = NULL;
  g_autoptr(GCancellable) cancel = NULL;
  g_autoptr(SmarthostRelay) server = NULL;
  gint64 deadline;
  GSource *tick;
  guint pending = 0;

  if (pf_server_is_ours (doc->st))
    server = pf_read_server (doc->st, doc->cancellable, NULL);
  if (server)
    add_lookup (lookups, server, NULL);
  for (guint i = 0; i < domains->len; i++)
    {
      g_autoptr(SmarthostRelay) r = pf_read_domain (doc->st, g_ptr_array_index (domains, i));
      if (r)
        add_lookup (lookups, r, NULL);
    }
  for (guint i = 0; i < hops->len; i++)
    add_lookup (lookups, NULL, g_ptr_array_index (hops, i));
  if (lookups->len == 0)
    return;

  ctx = g_main_context_new ();
  resolver = g_resolver_get_default ();
  cancel = g_cancellable_new ();
  g_main_context_push_thread_default (ctx);
  for (guint i = 0; i < lookups->len; i++)
    {
      Lookup *l = g_ptr_array_index (lookups, i);
      l->pending++;
      g_resolver_lookup_by_name_async (resolver, l->host, cancel, by_name_done, l);
      if (l->mx)
        {
          l->pending++;
          g_resolver_lookup_records_async (resolver, l->host, G_RESOLVER_RECORD_MX, cancel, mx_done, l);
        }
    }
  tick = g_timeout_source_new (100);
  g_source_set_callback (tick, wake_up, NULL, NULL);
  g_source_attach (tick, ctx);
  deadline = g_get_monotonic_time () + RESOLVE_TIMEOUT_US;
  do
    {
      pending = 0;
      for (guint i = 0; i < lookups->len; i++)
        pending += ((Lookup *) g_ptr_array_index (lookups, i))->pending;
      if (pending == 0)
        break;
      if (g_get_monotonic_time () >= deadline ||
          (doc->cancellable && g_cancellable_is_cancelled (doc->cancellable)))
        g_cancellable_cancel (cancel);
      g_main_context_iteration (ctx, TRUE);
    }
  while (TRUE);
  g_source_destroy (tick);
  g_source_unref (tick);
  g_main_context_pop_thread_default (ctx);

  for (guint i = 0; i < lookups->len; i++)
    {
      Lookup *l = g_ptr_array_index (lookups, i);
      g_autofree char *fix = NULL;

      if (l->resolved)
        continue;
      if (g_error_matches (l->error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
        {
          fix = g_strdup_printf ("Check the spelling of %s and its DNS records (or add it to /etc/hosts "
                                 "for a relay inside the network), or set the smarthost again with "
                                 "the right host name", l->host);
          add (doc, SMARTHOST_SEVERITY_ERROR, "relay-unresolvable", fix,
               "The relay host %s does not resolve%s: mail for it is deferred",
               l->host, l->mx ? " (no address and no MX record)" : "");
        }
      else
        add (doc, SMARTHOST_SEVERITY_INFO, "relay-unresolvable",
             "Run smarthostctl doctor again where DNS works, or check with: getent hosts HOST",
             "Could not check whether the relay host %s resolves: %s", l->host,
             l->error ? l->error->message : "the lookup timed out");
    }
}

/* --- the vfunc --------------------------------------------------------- */

static int
by_severity (gconstpointer a,
             gconstpointer b)
{
  SmarthostFinding *fa = *(SmarthostFinding * const *) a;
  SmarthostFinding *fb = *(SmarthostFinding * const *) b;

  return (int) smarthost_finding_get_severity (fb) - (int) smarthost_finding_get_severity (fa);
}

GPtrArray *
pf_diagnose (SmarthostBackend  *backend,
             GCancellable      *cancellable,
             GError           **error)
{
  g_autoptr(PfState) st = pf_load_state (SMARTHOST_POSTFIX_BACKEND (backend), error);
  g_autoptr(GPtrArray) findings = NULL;
  g_autoptr(GPtrArray) hops = NULL;
  g_auto(GStrv) values = NULL;
  Doctor doc;

  if (st == NULL)
    return NULL;
  values = pf_postconf_values (st, value_names, cancellable, error);
  if (values == NULL)
    return NULL;
  for (guint i = 0; i < N_VALUES; i++)
    g_strstrip (values[i]);

  findings = g_ptr_array_new_with_free_func (g_object_unref);
  doc.st = st;
  doc.v = values;
  doc.findings = findings;
  doc.cancellable = cancellable;

  check_duplicates (&doc);
  check_sasl_mechanisms (&doc);
  check_secrets (&doc);
  check_maps (&doc);
  check_ca (&doc);
  hops = manual_nexthops (&doc);
  check_port_465 (&doc, hops);
  check_sasl_options (&doc, hops);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  check_resolution (&doc, hops);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  /* Most serious first; a stable sort keeps the order of the checks. */
  g_ptr_array_sort (findings, by_severity);
  return g_steal_pointer (&findings);
}
