/* smarthost-postfix-doctor.c: what is wrong with a Postfix smarthost setup
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smarthost-dns-private.h"
#include "smarthost-error.h"
#include "smarthost-files-private.h"
#include "smarthost-finding.h"
#include "smarthost-operation-private.h"
#include "smarthost-postfix-private.h"
#include "smarthost-private.h"
#include "smarthost-util-private.h"

/*
 * Implementation notes
 *
 * The diagnosis only reads: main.cf and master.cf as text, effective
 * values with "postconf -x -h", map entries with "postmap -s" (in memory
 * only: a SASL map holds passwords, and nothing of a map's values goes into
 * a finding), owners, modes and times with lstat() and stat(), and host
 * names with GIO's resolver. It covers both our own settings and those made by hand, since
 * both decide where mail goes.
 *
 * SASL mechanisms: Postfix's SMTP client uses Cyrus SASL, whose mechanisms
 * are plugins (libsasl2-modules provides libplain.so and liblogin.so, the
 * ones relays offer). "postconf -A" lists only the SASL implementations
 * compiled into Postfix ("cyrus"), not the mechanisms, so the plugin
 * folder is looked at. The environment variable SMARTHOST_SASL_PLUGIN_DIR
 * replaces the folders searched; it exists for tests only.
 *
 * Secrets: smtp_sasl_password_maps may hold passwords in main.cf or
 * master.cf itself (inline:{nexthop=user:pass}, static:user:pass), and
 * "postconf -x -h" hands them to us expanded. So no finding ever quotes a
 * value that could hold one (see value_may_hold_secret()), and inline
 * tables are read in process (smarthost-postfix-tables.c) rather than with
 * "postmap -s inline:{...}", which would put their contents in a child's
 * argv (and postmap echoes the table in its error messages).
 *
 * The TLS level a delivery runs with is the one of the master.cf service
 * that delivers it: its own "-o name=value" options, else main.cf's. An
 * empty smtp_tls_security_level still lets the obsolete smtp_enforce_tls
 * (with smtp_tls_enforce_peername = yes, its default, that means
 * "verify") and smtp_use_tls ("may") decide, as Postfix's
 * smtp_tls_policy.c does; adoption reads it the same way
 * (smarthost-postfix-tls.c).
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
  V_ENFORCE_TLS,
  V_ENFORCE_PEERNAME,
  V_DEFAULT_TRANSPORT,
  V_USE_TLS,
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
  "smtp_enforce_tls",
  "smtp_tls_enforce_peername",
  "default_transport",
  "smtp_use_tls",
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
  g_autofree char *text = NULL;
  g_autofree char *fix_text = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  /* A finding may quote a line that main.cf or master.cf keeps in
   * another encoding (a duplicate parameter we do not read); it is shown
   * as text, with the bytes that are not UTF-8 escaped. */
  text = _smarthost_escape_invalid_utf8 (message);
  fix_text = _smarthost_escape_invalid_utf8 (fix);
  g_ptr_array_add (doc->findings, smarthost_finding_new (severity, code, text, fix_text));
}

/* --- lookup table specifications --------------------------------------- */

/* A table behind the proxymap service ("proxy:hash:/x") is the table
 * itself for anything we do: postmap cannot list through the proxy ("can't
 * sequence maps via the proxy service"), and the file is the same. */
static const char *
strip_proxy (const char *spec)
{
  return g_str_has_prefix (spec, "proxy:") ? spec + strlen ("proxy:") : spec;
}

/* "proxy:hash:/etc/postfix/x" -> type "hash", path "/etc/postfix/x".
 * Returns FALSE for a table that is not a file (inline:, static:...). */
static gboolean
spec_file (const char  *spec,
           char       **type,
           char       **path)
{
  const char *colon;

  spec = strip_proxy (spec);
  colon = strchr (spec, ':');
  if (colon == NULL || colon[1] != '/')
    return FALSE;
  *type = g_strndup (spec, colon - spec);
  *path = g_strdup (colon + 1);
  return TRUE;
}

/* The tables of a list, with those inside unionmap:{...} and pipemap:{...}
 * taken out, since their files are read the same way. */
static void
flatten_specs (GPtrArray  *out,
               const char *list)
{
  g_autoptr(GPtrArray) items = pf_split_list (list);

  for (guint i = 0; i < items->len; i++)
    {
      const char *spec = strip_proxy (g_ptr_array_index (items, i));
      gsize len = strlen (spec);

      if (len > 0 && (g_str_has_prefix (spec, "unionmap:{") || g_str_has_prefix (spec, "pipemap:{")) &&
          spec[len - 1] == '}')
        {
          const char *open = strchr (spec, '{');
          char *inner = g_strndup (open + 1, spec + len - 1 - (open + 1));
          flatten_specs (out, inner);
          _smarthost_secret_free (inner);
        }
      else
        g_ptr_array_add (out, g_strdup (spec));
    }
}

/* Whether a value may carry a password in the configuration file itself:
 * a table written inline, or static:user:password. */
static gboolean
text_may_hold_secret (const char *value)
{
  return value != NULL &&
         (strstr (value, "inline:") != NULL || strstr (value, "static:") != NULL ||
          strchr (value, '{') != NULL);
}

/* A table as findings and errors may name it: a file table as it is, one
 * written inline without its contents, which may be passwords. */
static char *
spec_for_message (const char *spec)
{
  if (!text_may_hold_secret (spec))
    return g_strdup (spec);
  return g_strdup_printf ("%.*s:{...} (contents not shown)", (int) strcspn (spec, ":"), spec);
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

  spec = strip_proxy (spec);
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
  const char *table = strip_proxy (spec);
  const char *argv[] = { POSTFIX_SBINDIR "/postmap", "-c", st->dir, "-s", table, NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  GPtrArray *entries;
  gsize out_len;
  int status;

  if (g_str_has_prefix (table, "inline:"))
    return pf_table_inline_entries (table, error);
  if (!_smarthost_run (argv, cancellable, &status, &out, &err, error))
    return NULL;
  if (status != 0)
    {
      g_autofree char *name = spec_for_message (table);
      char *fatal = strstr (err, "fatal: ");
      char *message = g_strstrip (fatal ? fatal + 7 : err);
      g_autofree char *shown = NULL;

      /* Its first line, quoted: it may quote the table. */
      message[strcspn (message, "\n")] = '\0';
      shown = _smarthost_quote_full (message, -1, 300);
      _smarthost_secret_free (g_steal_pointer (&out));
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "postmap -s %s failed: %s", name, shown);
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

static gboolean
name_may_hold_secret (const char *name)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);

  return strstr (lower, "password") != NULL || strstr (lower, "passwd") != NULL ||
         strstr (lower, "secret") != NULL;
}

/* Whether text uses the parameter @name: "$name", "${name...}" or
 * "$(name...)". */
static gboolean
references (const char *text,
            const char *name)
{
  gsize n = strlen (name);

  for (const char *p = text ? strchr (text, '$') : NULL; p; p = strchr (p + 1, '$'))
    {
      const char *q = p + 1;

      if (*q == '{' || *q == '(')
        q++;
      if (strncmp (q, name, n) == 0 && !g_ascii_isalnum (q[n]) && q[n] != '_')
        return TRUE;
    }
  return FALSE;
}

/* Whether the value of main.cf's @name may be a secret, and so must not be
 * quoted: a password parameter, a table written inline, or a parameter
 * that such a value uses ("static:$relay_login"). */
static gboolean
value_may_hold_secret (Doctor     *doc,
                       const char *name,
                       const char *value)
{
  g_autoptr(GPtrArray) keys = NULL;
  g_autoptr(GPtrArray) services = NULL;

  if (name_may_hold_secret (name) || text_may_hold_secret (value))
    return TRUE;
  keys = pf_conf_keys (doc->st->main, "");
  for (guint i = 0; i < keys->len; i++)
    {
      const char *k = g_ptr_array_index (keys, i);
      const char *v = pf_conf_get (doc->st->main, k);

      if ((name_may_hold_secret (k) || text_may_hold_secret (v)) && references (v, name))
        return TRUE;
    }
  services = pf_conf_keys (doc->st->master, "");
  for (guint i = 0; i < services->len; i++)
    {
      const char *entry = pf_conf_get (doc->st->master, g_ptr_array_index (services, i));

      if ((name_may_hold_secret (entry) || text_may_hold_secret (entry)) && references (entry, name))
        return TRUE;
    }
  return FALSE;
}

/* The lines of main.cf that define @name, as "3, 9". */
static char *
definition_lines (const char *text,
                  const char *name)
{
  GString *out = g_string_new (NULL);
  gsize n = strlen (name);
  guint line = 1;

  for (const char *p = text ? text : ""; *p; line++)
    {
      const char *nl = strchr (p, '\n');

      if (!g_ascii_isspace (*p) && *p != '#' && strcspn (p, " \t\r\n=") == n &&
          strncmp (p, name, n) == 0)
        g_string_append_printf (out, "%s%u", out->len ? ", " : "", line);
      if (nl == NULL)
        break;
      p = nl + 1;
    }
  return g_string_free (out, FALSE);
}

static void
check_duplicates (Doctor *doc)
{
  g_autoptr(GPtrArray) keys = pf_conf_keys (doc->st->main, "");
  g_autoptr(GPtrArray) services = pf_conf_keys (doc->st->master, "");

  for (guint i = 0; i < keys->len; i++)
    {
      const char *k = g_ptr_array_index (keys, i);
      const char *value = pf_conf_get (doc->st->main, k);
      guint n = pf_conf_count (doc->st->main, k);
      g_autofree char *fix = NULL;
      g_autofree char *lines = NULL;

      if (n < 2)
        continue;
      lines = definition_lines (doc->st->main_text, k);
      fix = g_strdup_printf ("Keep one definition of %s in %s and delete or comment out the others "
                             "(postconf -e %s=VALUE replaces them all with one)",
                             k, doc->st->main_path, k);
      /* The value helps to tell the definitions apart, but it is quoted
       * only when it cannot be a password. */
      if (value_may_hold_secret (doc, k, value))
        add (doc, SMARTHOST_SEVERITY_WARNING, "duplicate-parameter", fix,
             "main.cf defines %s %u times (lines %s); Postfix uses only the last one, and an edit "
             "of an earlier one has no effect (the value is not shown: it may hold a password)",
             k, n, lines);
      else
        add (doc, SMARTHOST_SEVERITY_WARNING, "duplicate-parameter", fix,
             "main.cf defines %s %u times (lines %s); Postfix uses only the last one (%s = %s), "
             "and an edit of an earlier one has no effect",
             k, n, lines, k, value);
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
  g_autoptr(GPtrArray) items = pf_split_list (list);

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
  GPtrArray *specs = pf_split_list (doc->v[V_SASL_MAPS]);
  g_autoptr(GPtrArray) keys = pf_conf_keys (doc->st->master, "");

  for (guint i = 0; i < keys->len; i++)
    {
      char *v = pf_master_option (pf_conf_get (doc->st->master, g_ptr_array_index (keys, i)),
                                  "smtp_sasl_password_maps");
      g_autoptr(GPtrArray) more = pf_split_list (v);

      _smarthost_secret_free (v);

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

/* --- who may change the configuration, and read our passwords ---------- */

/* Whoever can change main.cf or master.cf runs commands as root (a pipe
 * transport in master.cf) and reads every password, so, as "postfix check"
 * wants, they belong to root and no group or other user may write them or
 * their directory. The user running us is accepted too: a configuration
 * directory that is not the system's (a test's, an unprivileged
 * instance's) belongs to whoever set it up. lstat(), because a link is a
 * finding of its own, and the file it points to is what Postfix reads. */
static gboolean
owner_trusted (uid_t uid)
{
  return uid == 0 || uid == geteuid ();
}

/* "user NAME (uid N)", or "uid N" for a user /etc/passwd does not know
 * (or whose name is not UTF-8: a finding is shown as text). */
static char *
describe_owner (uid_t uid)
{
  struct passwd pw, *found = NULL;
  char buf[4096];

  if (getpwuid_r (uid, &pw, buf, sizeof buf, &found) == 0 && found != NULL &&
      g_utf8_validate (found->pw_name, -1, NULL))
    return g_strdup_printf ("user %s (uid %u)", found->pw_name, (unsigned) uid);
  return g_strdup_printf ("uid %u", (unsigned) uid);
}

static void
check_config_owner_and_mode (Doctor            *doc,
                             const char        *path,
                             const struct stat *sb,
                             gboolean           is_dir)
{
  if (!owner_trusted (sb->st_uid))
    {
      g_autofree char *owner = describe_owner (sb->st_uid);
      g_autofree char *fix = g_strdup_printf ("chown root:root %s", path);

      add (doc, SMARTHOST_SEVERITY_ERROR, "config-owner", fix,
           "%s belongs to %s, not root: that user can %s, and so run commands as root and read the "
           "relay passwords", path, owner,
           is_dir ? "replace main.cf and master.cf" : "change what Postfix runs");
    }
  if (sb->st_mode & (S_IWGRP | S_IWOTH))
    {
      g_autofree char *fix = g_strdup_printf ("chmod go-w %s", path);

      add (doc, SMARTHOST_SEVERITY_ERROR, "config-writable", fix,
           "%s is writable by %s (mode %04o): they can %s, and so run commands as root and read the "
           "relay passwords", path, (sb->st_mode & S_IWOTH) ? "every user" : "its group",
           (unsigned) (sb->st_mode & 07777),
           is_dir ? "replace main.cf and master.cf" : "change what Postfix runs");
    }
}

static void
check_config_file (Doctor     *doc,
                   const char *path)
{
  struct stat sb;

  if (lstat (path, &sb) != 0)
    return;
  if (S_ISLNK (sb.st_mode))
    {
      g_autofree char *fix = g_strdup_printf ("Replace the link by the file it points to: "
                                              "cp --remove-destination \"$(readlink -f %s)\" %s",
                                              path, path);

      add (doc, SMARTHOST_SEVERITY_ERROR, "config-symlink", fix,
           "%s is a symbolic link: libsmarthost will not change main.cf or master.cf through one "
           "(its commit would replace the link, not the file Postfix reads), so every change is refused",
           path);
      /* What Postfix reads is the file it points to. */
      if (stat (path, &sb) != 0)
        return;
    }
  if (S_ISREG (sb.st_mode))
    check_config_owner_and_mode (doc, path, &sb, FALSE);
}

/* Our folder and our password maps (with their .db) are root's alone:
 * 0700 and 0600, as commits make them. */
static void
check_own_secret (Doctor     *doc,
                  const char *path,
                  gboolean    is_dir)
{
  struct stat sb;

  /* Not there yet, or a folder we may not look into (not root): nothing to
   * say. A map that is a link is refused by every read already. */
  if (lstat (path, &sb) != 0 || !(is_dir ? S_ISDIR (sb.st_mode) : S_ISREG (sb.st_mode)))
    return;
  if (!owner_trusted (sb.st_uid))
    {
      g_autofree char *owner = describe_owner (sb.st_uid);
      g_autofree char *fix = g_strdup_printf ("chown %sroot:root %s && chmod %s %s", is_dir ? "-R " : "",
                                              path, is_dir ? "700" : "600", path);

      add (doc, SMARTHOST_SEVERITY_ERROR, "secrets-owner", fix,
           "%s belongs to %s, not root: that user can read and change the relay passwords%s", path, owner,
           is_dir ? " kept in it" : " in it");
    }
  if (sb.st_mode & (S_IRWXG | S_IRWXO))
    {
      g_autofree char *fix = g_strdup_printf ("chmod %s %s", is_dir ? "700" : "600", path);

      add (doc, SMARTHOST_SEVERITY_ERROR, "secrets-exposed", fix,
           "%s holds relay passwords and is open to %s (mode %04o, where libsmarthost makes it %s)",
           path, (sb.st_mode & S_IRWXO) ? "every user" : "its group",
           (unsigned) (sb.st_mode & 07777), is_dir ? "0700" : "0600");
    }
}

static void
check_files (Doctor *doc)
{
  static const char *secret_maps[] = { MAP_SENDER_PASSWD, MAP_SENDER_PASSWD ".db",
                                       MAP_SERVER_PASSWD, MAP_SERVER_PASSWD ".db" };
  struct stat sb;

  /* The directory itself may be a link (/etc/postfix to elsewhere): what
   * matters is the folder it leads to. */
  if (stat (doc->st->dir, &sb) == 0)
    {
      g_autoptr(GError) trust_error = NULL;

      check_config_owner_and_mode (doc, doc->st->dir, &sb, TRUE);
      /* The directories above it matter as much: whoever can rename one
       * can put a tree of theirs in its place. Commits refuse then. */
      if (owner_trusted (sb.st_uid) && !(sb.st_mode & (S_IWGRP | S_IWOTH)) &&
          !_smarthost_check_trusted_directory (doc->st->dir, "the configuration directory", &trust_error))
        add (doc, SMARTHOST_SEVERITY_ERROR, "config-parent",
             "Make every directory above it root's and writable by root alone, or move the configuration",
             "%s; every change is refused", trust_error->message);
    }
  check_config_file (doc, doc->st->main_path);
  check_config_file (doc, doc->st->master_path);

  check_own_secret (doc, doc->st->own_dir, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (secret_maps); i++)
    {
      g_autofree char *path = g_build_filename (doc->st->own_dir, secret_maps[i], NULL);
      check_own_secret (doc, path, FALSE);
    }
}

/* Whether @path is in our folder, whose files check_files() looks at. */
static gboolean
is_own_file (Doctor     *doc,
             const char *path)
{
  gsize n = strlen (doc->st->own_dir);

  return strncmp (path, doc->st->own_dir, n) == 0 && path[n] == '/';
}

static void
check_readable (Doctor     *doc,
                const char *path)
{
  struct stat sb;
  g_autofree char *fix = NULL;

  /* Ours are errors of their own (secrets-exposed). */
  if (is_own_file (doc, path))
    return;
  if (stat (path, &sb) != 0 || !S_ISREG (sb.st_mode) || (sb.st_mode & S_IROTH) == 0)
    return;
  fix = g_strdup_printf ("chown root %s && chmod 600 %s", path, path);
  add (doc, SMARTHOST_SEVERITY_WARNING, "secrets-readable", fix,
       "%s holds relay passwords and every user can read it (mode %04o)",
       path, (unsigned) (sb.st_mode & 07777));
}

/* A password written into main.cf or master.cf itself: Postfix's commands
 * that users run (sendmail, postqueue) read main.cf, so it stays readable
 * by everyone, and the password with it. */
static void
check_inline_secret (Doctor     *doc,
                     const char *path,
                     const char *where)
{
  struct stat sb;
  g_autofree char *fix = NULL;

  if (stat (path, &sb) != 0 || (sb.st_mode & S_IROTH) == 0)
    return;
  fix = g_strdup_printf ("Move the credentials to a file only root can read: write them as "
                         "\"NEXTHOP USERNAME:PASSWORD\" lines to %s/sasl_passwd, chmod 600 it, run "
                         "postmap hash:%s/sasl_passwd, point smtp_sasl_password_maps at "
                         "hash:%s/sasl_passwd and delete the inline table (%s itself must stay "
                         "readable)", doc->st->dir, doc->st->dir, doc->st->dir, path);
  add (doc, SMARTHOST_SEVERITY_WARNING, "secrets-readable", fix,
       "%s holds relay passwords itself (%s uses an inline: or static: table) and every user "
       "can read it (mode %04o)", path, where, (unsigned) (sb.st_mode & 07777));
}

static gboolean
maps_hold_secret (const char *maps)
{
  g_autoptr(GPtrArray) specs = g_ptr_array_new_with_free_func ((GDestroyNotify) _smarthost_secret_free);

  flatten_specs (specs, maps);
  for (guint i = 0; i < specs->len; i++)
    {
      const char *spec = g_ptr_array_index (specs, i);
      if (g_str_has_prefix (spec, "inline:") || g_str_has_prefix (spec, "static:"))
        return TRUE;
    }
  return FALSE;
}

static void
check_secrets (Doctor *doc)
{
  g_autoptr(GPtrArray) lists = password_maps (doc);
  g_autoptr(GPtrArray) specs = g_ptr_array_new_with_free_func ((GDestroyNotify) _smarthost_secret_free);
  g_autoptr(GPtrArray) services = pf_conf_keys (doc->st->master, "");

  for (guint i = 0; i < lists->len; i++)
    flatten_specs (specs, g_ptr_array_index (lists, i));
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

  /* The tables that are no file: the value comes from main.cf (a $name
   * in it too), or from a service's -o option in master.cf. */
  if (maps_hold_secret (doc->v[V_SASL_MAPS]))
    check_inline_secret (doc, doc->st->main_path, "smtp_sasl_password_maps");
  for (guint i = 0; i < services->len; i++)
    {
      const char *k = g_ptr_array_index (services, i);
      char *v = pf_master_option (pf_conf_get (doc->st->master, k), "smtp_sasl_password_maps");
      gboolean secret = v != NULL && maps_hold_secret (v);

      _smarthost_secret_free (v);
      if (secret)
        {
          g_autofree char *name = g_strndup (k, strcspn (k, "/"));
          g_autofree char *where = g_strdup_printf ("the -o smtp_sasl_password_maps option of the "
                                                    "service %s", name);
          check_inline_secret (doc, doc->st->master_path, where);
          break;   /* one finding for the file */
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
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                      (GDestroyNotify) _smarthost_secret_free, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (params); i++)
    {
      g_autoptr(GPtrArray) specs = pf_split_list (doc->v[params[i]]);
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
}

/* --- TLS: levels, CAs, port 465 --------------------------------------- */


/* How an SMTP client runs: main.cf's values, or a master.cf service's,
 * which its own -o options override. A "$name" in an option stays as it
 * is: such a level verifies nothing we can tell, such a CA counts as set. */
typedef struct {
  char *service;            /* the master.cf service, NULL for main.cf */
  char *level;              /* the level in effect, "" for none */
  char *level_text;         /* where it comes from, for messages */
  char *cafile;
  char *capath;
  char *policy_maps;
  char *wrapper;
  gboolean own_level;       /* the service's -o options set these */
  gboolean own_ca;
  gboolean own_policy;
} Client;

static void
client_free (Client *c)
{
  g_free (c->service);
  g_free (c->level);
  g_free (c->level_text);
  g_free (c->cafile);
  g_free (c->capath);
  g_free (c->policy_maps);
  g_free (c->wrapper);
  g_free (c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Client, client_free)

static char *
option_or (const char *entry,
           const char *name,
           const char *fallback,
           gboolean   *own)
{
  char *v = entry ? pf_master_option (entry, name) : NULL;

  if (v == NULL)
    return g_strdup (fallback);
  *own = TRUE;
  return v;
}

/* The level Postfix derives (smarthost-postfix-tls.c), and where it comes
 * from for messages. A level that no parameter sets is "" here ("none"
 * for Postfix), which messages show as empty. */
static void
client_set_level (Client              *c,
                  const PfTlsSettings *settings,
                  gboolean             peername_default)
{
  const char *how = c->service ? "-o " : "";
  const char *eq = c->service ? "=" : " = ";
  PfTlsSource source;
  const char *level = pf_tls_effective_level (settings, &source);

  switch (source)
    {
    case PF_TLS_FROM_SECURITY_LEVEL:
      c->level = g_strdup (level);
      c->level_text = c->service && c->own_level
        ? g_strdup_printf ("-o smtp_tls_security_level=%s", level)
        : g_strdup_printf ("smtp_tls_security_level = %s", level);
      break;
    case PF_TLS_FROM_ENFORCE_TLS:
      c->level = g_strdup (level);
      c->level_text = g_strdup_printf ("%ssmtp_enforce_tls%syes and smtp_tls_enforce_peername = %s "
                                       "(%sthe obsolete form of smtp_tls_security_level = %s)",
                                       how, eq, settings->enforce_peername,
                                       peername_default ? "its default; " : "", c->level);
      break;
    case PF_TLS_FROM_USE_TLS:
      c->level = g_strdup (level);
      c->level_text = g_strdup_printf ("%s (the obsolete form of smtp_tls_security_level = %s)",
                                       c->service && c->own_level ? "-o smtp_use_tls=yes" : "smtp_use_tls = yes",
                                       c->level);
      break;
    case PF_TLS_FROM_DEFAULT:
    default:
      c->level = g_strdup ("");
      c->level_text = g_strdup ("smtp_tls_security_level = (empty)");
      break;
    }
}

static Client *
client_main (Doctor *doc)
{
  Client *c = g_new0 (Client, 1);
  const PfTlsSettings settings = {
    doc->v[V_TLS_LEVEL], doc->v[V_ENFORCE_TLS], doc->v[V_ENFORCE_PEERNAME], doc->v[V_USE_TLS],
  };

  client_set_level (c, &settings, pf_conf_get (doc->st->main, "smtp_tls_enforce_peername") == NULL);
  c->cafile = g_strdup (doc->v[V_TLS_CAFILE]);
  c->capath = g_strdup (doc->v[V_TLS_CAPATH]);
  c->policy_maps = g_strdup (doc->v[V_TLS_POLICY_MAPS]);
  c->wrapper = g_strdup (doc->v[V_TLS_WRAPPER]);
  return c;
}

/* The client of the master.cf service @key ("name/type"), or NULL when the
 * service does not run Postfix's smtp client. */
static Client *
client_service (Doctor     *doc,
                const char *key)
{
  const char *entry = pf_conf_get (doc->st->master, key);
  g_auto(GStrv) fields = NULL;
  g_autofree char *level = NULL;
  g_autofree char *enforce = NULL;
  g_autofree char *peername = NULL;
  g_autofree char *use_tls = NULL;
  PfTlsSettings settings;
  gboolean own_peername = FALSE;
  gboolean own_wrapper = FALSE;
  Client *c;
  guint n = 0;

  if (entry == NULL)
    return NULL;
  fields = g_strsplit_set (entry, " \t\r\n", 0);
  for (guint i = 0; fields[i]; i++)
    if (*fields[i] && n++ == 7)
      {
        if (!g_str_equal (fields[i], "smtp"))
          return NULL;
        break;
      }
  if (n < 8)
    return NULL;

  c = g_new0 (Client, 1);
  c->service = g_strndup (key, strcspn (key, "/"));
  level = option_or (entry, "smtp_tls_security_level", doc->v[V_TLS_LEVEL], &c->own_level);
  enforce = option_or (entry, "smtp_enforce_tls", doc->v[V_ENFORCE_TLS], &c->own_level);
  peername = option_or (entry, "smtp_tls_enforce_peername", doc->v[V_ENFORCE_PEERNAME], &own_peername);
  use_tls = option_or (entry, "smtp_use_tls", doc->v[V_USE_TLS], &c->own_level);
  c->own_level |= own_peername;
  settings = (PfTlsSettings) { level, enforce, peername, use_tls };
  client_set_level (c, &settings,
                    !own_peername && pf_conf_get (doc->st->main, "smtp_tls_enforce_peername") == NULL);
  c->cafile = option_or (entry, "smtp_tls_CAfile", doc->v[V_TLS_CAFILE], &c->own_ca);
  c->capath = option_or (entry, "smtp_tls_CApath", doc->v[V_TLS_CAPATH], &c->own_ca);
  c->policy_maps = option_or (entry, "smtp_tls_policy_maps", doc->v[V_TLS_POLICY_MAPS], &c->own_policy);
  c->wrapper = option_or (entry, "smtp_tls_wrappermode", doc->v[V_TLS_WRAPPER], &own_wrapper);
  return c;
}

static gboolean
client_has_ca (Client *c)
{
  return *c->cafile != '\0' || *c->capath != '\0';
}

/* The nexthops a policy table asks to verify without a trust anchor file
 * of their own: without any CA, delivery to them fails. */
static void
check_policy_ca (Doctor *doc,
                 Client *c)
{
  g_autoptr(GPtrArray) specs = pf_split_list (c->policy_maps);

  for (guint i = 0; i < specs->len; i++)
    {
      const char *spec = g_ptr_array_index (specs, i);
      g_autoptr(GPtrArray) entries = NULL;
      g_autoptr(GString) hops = g_string_new (NULL);
      g_autofree char *name = NULL;
      g_autofree char *fix = NULL;
      guint n = 0;

      if (strchr (spec, '$') != NULL || !pf_map_is_listable (spec) ||
          (entries = pf_map_list (doc->st, spec, doc->cancellable, NULL)) == NULL)
        continue;   /* an unbuilt table is reported by check_maps () */
      for (guint j = 0; j + 1 < entries->len; j += 2)
        {
          const char *value = g_ptr_array_index (entries, j + 1);
          g_autofree char *level = g_strndup (value, strcspn (value, " \t,"));

          if (!pf_tls_level_verifies (level) || strstr (value, "tafile=") != NULL)
            continue;
          if (n++ < 3)
            g_string_append_printf (hops, "%s%s (%s)", hops->len ? ", " : "",
                                    (char *) g_ptr_array_index (entries, j), level);
        }
      if (n == 0)
        continue;
      if (n > 3)
        g_string_append_printf (hops, " and %u more", n - 3);
      name = spec_for_message (spec);
      if (c->service)
        fix = g_strdup_printf ("Add -o smtp_tls_CAfile=/etc/ssl/certs/ca-certificates.crt to the service %s "
                               "in %s (or set smtp_tls_CAfile in main.cf, if the service does not "
                               "empty it), or give each of those entries a tafile= trust-anchor file "
                               "(inside the queue directory for a chrooted service)",
                               c->service, doc->st->master_path);
      else
        fix = g_strdup ("Set smtp_tls_CAfile = /etc/ssl/certs/ca-certificates.crt (package "
                        "ca-certificates), or give each of those entries a tafile= trust-anchor "
                        "file (inside the queue directory for a chrooted smtp service)");
      add (doc, SMARTHOST_SEVERITY_ERROR, "no-ca", fix,
           "The TLS policy table %s%s%s asks to verify the certificates of %s, but neither "
           "smtp_tls_CAfile nor smtp_tls_CApath is set%s and the entries have no tafile=: "
           "Postfix loads no CA, and every delivery to them fails",
           name, c->service ? " of the master.cf service " : "", c->service ? c->service : "",
           hops->str, c->service ? " (in main.cf or in the service's -o options)" : "");
    }
}

static void
check_ca (Doctor *doc)
{
  g_autoptr(GPtrArray) ours = our_transports (doc);
  g_autoptr(GPtrArray) services = pf_conf_keys (doc->st->master, "");
  g_autoptr(Client) global = client_main (doc);
  const char *level = global->level;
  const char *cafile = global->cafile;
  const char *capath = global->capath;

  if (pf_tls_level_verifies (level) && !client_has_ca (global))
    add (doc, SMARTHOST_SEVERITY_ERROR, "no-ca",
         pf_is_yes (doc->v[V_ENFORCE_TLS]) && !*doc->v[V_TLS_LEVEL]
           ? "Set smtp_tls_CAfile = /etc/ssl/certs/ca-certificates.crt (package ca-certificates), or "
             "replace the obsolete smtp_enforce_tls with smtp_tls_security_level = encrypt"
           : "Set smtp_tls_CAfile = /etc/ssl/certs/ca-certificates.crt (package ca-certificates), "
             "or lower smtp_tls_security_level",
         "%s, which verifies certificates, but neither smtp_tls_CAfile nor smtp_tls_CApath is "
         "set: Postfix loads no CA at all, and every verified TLS connection fails", global->level_text);
  else if (*level != '\0' && g_ascii_strcasecmp (level, "none") != 0)
    {
      if (*cafile && !g_file_test (cafile, G_FILE_TEST_IS_REGULAR))
        add (doc, pf_tls_level_verifies (level) ? SMARTHOST_SEVERITY_ERROR : SMARTHOST_SEVERITY_WARNING,
             "no-ca", "Point smtp_tls_CAfile at an existing PEM file, such as "
             "/etc/ssl/certs/ca-certificates.crt",
             "smtp_tls_CAfile = %s does not exist: Postfix disables TLS for its SMTP client", cafile);
      if (*capath && !g_file_test (capath, G_FILE_TEST_IS_DIR))
        add (doc, pf_tls_level_verifies (level) ? SMARTHOST_SEVERITY_ERROR : SMARTHOST_SEVERITY_WARNING,
             "no-ca", "Point smtp_tls_CApath at an existing folder, such as /etc/ssl/certs",
             "smtp_tls_CApath = %s does not exist", capath);
    }
  if (!client_has_ca (global))
    check_policy_ca (doc, global);

  /* master.cf services that change the level, the CAs or the policy
   * table with their own -o options (ours included: they set their CA). */
  for (guint i = 0; i < services->len; i++)
    {
      g_autoptr(Client) c = client_service (doc, g_ptr_array_index (services, i));
      g_autofree char *fix = NULL;

      if (c == NULL || client_has_ca (c))
        continue;
      if ((c->own_level || c->own_ca) && pf_tls_level_verifies (c->level))
        {
          fix = g_strdup_printf ("Add -o smtp_tls_CAfile=/etc/ssl/certs/ca-certificates.crt to the service "
                                 "%s in %s, or set smtp_tls_CAfile in main.cf", c->service,
                                 doc->st->master_path);
          add (doc, SMARTHOST_SEVERITY_ERROR, "no-ca", fix,
               "The master.cf service %s runs with %s, which verifies certificates, but neither "
               "smtp_tls_CAfile nor smtp_tls_CApath is set, in main.cf or in the service's -o "
               "options: it loads no CA, and every delivery through it fails",
               c->service, c->level_text);
        }
      if (c->own_policy || c->own_ca)
        check_policy_ca (doc, c);
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

/* The entries of the sender_dependent_relayhost_maps that can be listed,
 * as pairs (sender, nexthop), DUNNO entries left out: the sender routes
 * set by hand. */
static GPtrArray *
hand_made_routes (Doctor *doc)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) sdr = pf_split_list (doc->v[V_SDR_MAPS]);

  for (guint i = 0; i < sdr->len; i++)
    {
      const char *spec = g_ptr_array_index (sdr, i);
      g_autoptr(GPtrArray) entries = NULL;

      if (!pf_map_is_listable (spec) ||
          (entries = pf_map_list (doc->st, spec, doc->cancellable, NULL)) == NULL)
        continue;
      for (guint j = 0; j + 1 < entries->len; j += 2)
        if (g_ascii_strcasecmp (g_ptr_array_index (entries, j + 1), "DUNNO") != 0)
          {
            g_ptr_array_add (out, g_strdup (g_ptr_array_index (entries, j)));
            g_ptr_array_add (out, g_strdup (g_ptr_array_index (entries, j + 1)));
          }
    }
  return out;
}

/* Relays set by hand: libsmarthost shows a hand-made relayhost as the
 * server-wide smarthost, but sender routes of the administrator's own
 * tables appear nowhere else, and status would not show them. */
static void
check_hand_made (Doctor    *doc,
                 GPtrArray *routes)
{
  g_autoptr(GString) shown = g_string_new (NULL);
  const char *fix = "`smarthostctl --dry-run import` shows how libsmarthost would take over what is set by "
                    "hand, keeping mail on the same relays as the same users; `smarthostctl import` does it";
  guint n = routes->len / 2;

  if (*doc->v[V_RELAYHOST] && !pf_server_is_ours (doc->st))
    add (doc, SMARTHOST_SEVERITY_INFO, "hand-made-relay", fix,
         "relayhost = %s is set by hand: libsmarthost shows it as the server-wide smarthost, but changes it "
         "only when told to (set-server, unset-server, apply) or when it takes it over", doc->v[V_RELAYHOST]);
  for (guint i = 0; i < n && i < 5; i++)
    g_string_append_printf (shown, "%s%s -> %s", i ? ", " : "", (char *) g_ptr_array_index (routes, 2 * i),
                            (char *) g_ptr_array_index (routes, 2 * i + 1));
  if (n > 0)
    add (doc, SMARTHOST_SEVERITY_INFO, "hand-made-routes", fix,
         "sender_dependent_relayhost_maps routes %u sender%s by hand (%s%s); `smarthostctl status` lists only "
         "libsmarthost's own domain smarthosts", n, n == 1 ? "" : "s", shown->str, n > 5 ? ", ..." : "");
}

/* The hand-made relays: relayhost (when not ours), and the nexthops of
 * the sender routes set by hand. */
static GPtrArray *
manual_nexthops (Doctor    *doc,
                 GPtrArray *routes)
{
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);

  if (*doc->v[V_RELAYHOST] && !pf_server_is_ours (doc->st))
    {
      g_autoptr(GPtrArray) hops = pf_split_list (doc->v[V_RELAYHOST]);
      for (guint i = 0; i < hops->len; i++)
        g_ptr_array_add (out, g_strdup (g_ptr_array_index (hops, i)));
    }
  for (guint i = 1; i < routes->len; i += 2)
    g_ptr_array_add (out, g_strdup (g_ptr_array_index (routes, i)));
  return out;
}

/* The client that delivers to relayhost and to the nexthops of
 * sender_dependent_relayhost_maps: the service default_transport names. */
static Client *
relay_client (Doctor *doc)
{
  const char *transport = doc->v[V_DEFAULT_TRANSPORT];
  g_autofree char *name = g_strndup (transport, strcspn (transport, ":"));
  g_autofree char *key = g_strconcat (*name ? name : "smtp", "/unix", NULL);
  Client *c = client_service (doc, key);

  return c ? c : client_main (doc);
}

static void
check_port_465 (Doctor    *doc,
                GPtrArray *hops)
{
  g_autoptr(Client) c = relay_client (doc);
  gboolean wrapper = pf_is_yes (c->wrapper);
  g_autofree char *via = c->service
    ? g_strdup_printf (" for the master.cf service %s that delivers to it (in its -o options or in main.cf)",
                       c->service)
    : g_strdup ("");

  for (guint i = 0; i < hops->len; i++)
    {
      const char *hop = g_ptr_array_index (hops, i);
      g_autofree char *host = NULL;
      guint port;
      gboolean mx;

      if (!pf_parse_nexthop_full (hop, TRUE, &host, &port, &mx) || port != 465)
        continue;
      if (!wrapper)
        add (doc, SMARTHOST_SEVERITY_ERROR, "port-465-without-wrappermode",
             "Port 465 speaks TLS from the first byte: set smtp_tls_wrappermode = yes and "
             "smtp_tls_security_level = encrypt (or let smarthostctl import take the relay over, "
             "with its own transport), or use the relay's STARTTLS port 587",
             "The relay %s is on port 465 (implicit TLS), but smtp_tls_wrappermode is not yes%s: "
             "Postfix waits for a plain-text greeting that never comes, and the mail is deferred "
             "after a timeout", hop, via);
      else if (!pf_tls_level_encrypts (c->level))
        add (doc, SMARTHOST_SEVERITY_ERROR, "port-465-without-wrappermode",
             "Set smtp_tls_security_level = encrypt (or secure) together with smtp_tls_wrappermode = yes",
             "The relay %s uses smtp_tls_wrappermode = yes with %s%s: Postfix skips such a host "
             "and the mail is deferred", hop, c->level_text, via);
    }
}

static void
check_sasl_options (Doctor    *doc,
                    GPtrArray *hops)
{
  g_autoptr(Client) global = client_main (doc);
  const char *level = global->level;

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
  else if (has_token (doc->v[V_SASL_OPTS], "noplaintext") && !pf_tls_level_encrypts (level) &&
           g_ascii_strcasecmp (level, "may") != 0)
    add (doc, SMARTHOST_SEVERITY_ERROR, "sasl-plaintext-forbidden",
         "Turn TLS on for the relay: smtp_tls_security_level = encrypt (or secure)",
         "smtp_sasl_security_options = %s forbids PLAIN and LOGIN without TLS, and "
         "smtp_tls_security_level = %s never uses TLS: no login is possible",
         doc->v[V_SASL_OPTS], *level ? level : "(empty)");
  else if (has_token (doc->v[V_SASL_OPTS], "noplaintext") && g_ascii_strcasecmp (level, "may") == 0)
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

/* One answer for @l: the host resolves if it has an address or an MX
 * record; otherwise keep the most telling error, a temporary failure over
 * "not found". */
static void
lookup_record (Lookup *l,
               GError *error)
{
  if (error == NULL)
    l->resolved = TRUE;
  else if (l->error == NULL || g_error_matches (l->error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
    {
      g_clear_error (&l->error);
      l->error = g_error_copy (error);
    }
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
  else if (!pf_parse_nexthop_full (nexthop, TRUE, &host, &port, &mx))
    return;
  if (_smarthost_host_is_address (host, NULL))
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
  g_autoptr(GArray) queries = NULL;
  g_autoptr(SmarthostRelay) server = NULL;

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

  /* The addresses of each host, and its MX records when Postfix looks
   * them up, all at once. */
  queries = g_array_new (FALSE, TRUE, sizeof (SmarthostDnsQuery));
  g_array_set_clear_func (queries, (GDestroyNotify) _smarthost_dns_query_clear);
  for (guint i = 0; i < lookups->len; i++)
    {
      Lookup *l = g_ptr_array_index (lookups, i);
      SmarthostDnsQuery q = { l->host, SMARTHOST_DNS_ADDRESSES, };

      g_array_append_val (queries, q);
      if (l->mx)
        {
          q.type = SMARTHOST_DNS_MX;
          g_array_append_val (queries, q);
        }
    }
  _smarthost_dns_resolve ((SmarthostDnsQuery *) queries->data, queries->len,
                          g_get_monotonic_time () + RESOLVE_TIMEOUT_US, doc->cancellable);
  for (guint i = 0, q = 0; i < lookups->len; i++)
    {
      Lookup *l = g_ptr_array_index (lookups, i);

      lookup_record (l, g_array_index (queries, SmarthostDnsQuery, q++).error);
      if (l->mx)
        lookup_record (l, g_array_index (queries, SmarthostDnsQuery, q++).error);
    }

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
  SmarthostPostfixBackend *self = SMARTHOST_POSTFIX_BACKEND (backend);
  g_autoptr(PfState) st = NULL;
  g_autoptr(GPtrArray) findings = NULL;
  g_autoptr(GPtrArray) hops = NULL;
  g_autoptr(GPtrArray) routes = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *journal = NULL;
  g_autoptr(GError) trust_error = NULL;
  g_autofree char *dir = NULL;
  g_auto(PfSecretStrv) values = NULL;
  guint lock_timeout = SMARTHOST_LOCK_DEFAULT_TIMEOUT;
  Doctor doc;

  /* The doctor only reads: an interrupted commit is reported, not
   * finished (a read through the library would finish it). */
  g_object_get (self, "config-directory", &dir, "lock-timeout", &lock_timeout, NULL);
  journal = dir ? _smarthost_journal_find_interrupted (dir, lock_timeout, cancellable, &local_error) : NULL;
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  st = pf_load_state (self, TRUE, error);
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

  if (journal != NULL && !_smarthost_journal_is_trusted (journal, &trust_error))
    add (&doc, SMARTHOST_SEVERITY_ERROR, "untrusted-journal",
         "find out who put it there; if no commit of root's was interrupted, remove it, and make the "
         "directory root's and writable by root alone",
         "%s: every read and change through libsmarthost refuses to go on until it is gone", trust_error->message);
  else if (journal != NULL && g_str_has_suffix (journal, ".committed"))
    add (&doc, SMARTHOST_SEVERITY_WARNING, "interrupted-commit",
         "run `smarthostctl status` (any read or change through libsmarthost removes them)",
         "a commit was interrupted (killed, or the machine lost power) after its commit point: the new files "
         "are all in place, but the backups of the old ones are left, as %s says", journal);
  else if (journal != NULL)
    add (&doc, SMARTHOST_SEVERITY_ERROR, "interrupted-commit",
         "run `smarthostctl status` (any read or change through libsmarthost finishes or undoes the "
         "commit: exactly the old or exactly the new files), then run the doctor again",
         "a commit was interrupted (killed, or the machine lost power) and left %s: until it is "
         "finished, Postfix may read a mix of old and new files, and what follows is about that mix",
         journal);

  check_files (&doc);
  check_duplicates (&doc);
  check_sasl_mechanisms (&doc);
  check_secrets (&doc);
  check_maps (&doc);
  check_ca (&doc);
  routes = hand_made_routes (&doc);
  check_hand_made (&doc, routes);
  hops = manual_nexthops (&doc, routes);
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
