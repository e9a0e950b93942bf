/* smarthost-postfix-read.c: reading a Postfix configuration directory
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "smarthost-error.h"
#include "smarthost-files-private.h"
#include "smarthost-postfix-private.h"
#include "smarthost-private.h"
#include "smarthost-util-private.h"

/*
 * Implementation notes
 *
 * What the backend reads, and nothing that writes: main.cf and master.cf
 * (text where libsmarthost interprets them, kept byte for byte elsewhere),
 * the lookup tables of our folder, and the relays they describe, ours
 * (transport, nexthop and credentials, through the codec of
 * smarthost-postfix-codec.c) and a server relay set up by hand (postconf,
 * read the way adoption takes it over). Taking the lock and finishing an
 * interrupted commit first is load_state_full()'s business
 * (smarthost-postfix-backend.c).
 */

/* --- lookup tables and the configuration files ----------------------- */

static gboolean
is_space (char c)
{
  return g_ascii_isspace (c);
}

/* Parses a Postfix lookup table source: "key whitespace value" lines.
 * Sets *@order to the keys in file order (owned by the table) when they
 * are strictly ascending, as in the maps we write; to NULL otherwise.
 * Sets *@bad_line to the number of the first line that is not an entry
 * (postmap skips those), 0 if there is none. */
static GHashTable *
parse_map_ordered (const char  *text,
                   GPtrArray  **order,
                   guint       *bad_line)
{
  GHashTable *map = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) _smarthost_secret_free);
  GPtrArray *keys = g_ptr_array_new ();
  const char *prev = NULL;
  const char *p = text;
  guint line = 0;

  *bad_line = 0;
  while (p && *p)
    {
      const char *nl = strchr (p, '\n');
      const char *end = nl ? nl : p + strlen (p);
      const char *key = p, *sep, *value;
      char *k;

      p = nl ? nl + 1 : end;
      line++;
      /* The line, whitespace stripped at both ends (as g_strstrip). */
      while (key < end && is_space (*key))
        key++;
      while (end > key && is_space (end[-1]))
        end--;
      if (key == end || *key == '#')
        continue;
      for (sep = key; sep < end && *sep != ' ' && *sep != '\t'; sep++)
        ;
      if (sep == end)
        {
          if (*bad_line == 0)
            *bad_line = line;
          continue;
        }
      for (value = sep + 1; value < end && is_space (*value); value++)
        ;
      k = g_ascii_strdown (key, sep - key);
      if (keys != NULL && (prev == NULL || strcmp (prev, k) < 0))
        g_ptr_array_add (keys, k);
      else
        g_clear_pointer (&keys, g_ptr_array_unref);
      g_hash_table_replace (map, k, g_strndup (value, end - value));
      prev = keys ? k : NULL;
    }
  *order = keys;
  return map;
}

/* The table alone (the fuzz target of tests/fuzz uses this one). */
GHashTable *
pf_parse_map (const char *text)
{
  g_autoptr(GPtrArray) order = NULL;
  guint bad_line;

  return parse_map_ordered (text, &order, &bad_line);
}

gboolean
pf_check_config_directory (const char  *dir,
                           GError     **error)
{
  if (dir == NULL || !g_path_is_absolute (dir))
    return _smarthost_set_invalid (error, "config-directory", "must be an absolute path");
  for (const char *p = dir; *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f || *p == ' ' || *p == ',')
      return _smarthost_set_invalid (error, "config-directory",
                                     "must not contain spaces, commas or control characters "
                                     "(Postfix could not name its files)");
    else if (*p == '$')
      return _smarthost_set_invalid (error, "config-directory",
                                     "must not contain '$': Postfix would expand it as a parameter "
                                     "and read files elsewhere than the ones written");
  return TRUE;
}

/* main.cf or master.cf, which must exist and hold no NUL byte (a C
 * string ends there, and we would write back only what comes before).
 * Other bytes that are not UTF-8 are Postfix's business as long as we do
 * not interpret them (a Latin-1 comment, a banner): we keep those lines
 * byte for byte, and check_interpreted_text() refuses the others. */
static gboolean
read_config_file (const char  *dir,
                  const char  *path,
                  char       **text,
                  GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  gboolean exists = FALSE;

  if (!_smarthost_read_file (path, SMARTHOST_READ_NO_NUL, text, &exists, &local_error))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "config-directory: %s", local_error->message);
      return FALSE;
    }
  if (!exists)
    {
      g_autofree char *path_shown = _smarthost_quote_path (path);
      g_autofree char *dir_shown = _smarthost_quote_path (dir);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                   "config-directory: %s does not exist; is %s a Postfix configuration directory?",
                   path_shown, dir_shown);
      return FALSE;
    }
  return TRUE;
}

/* The main.cf parameters that libsmarthost reads (for status, import or
 * the doctor) or writes: their values must be text. */
static gboolean
is_interpreted_param (const char *name)
{
  static const char *names[] = {
    P_RELAYHOST, P_DEFAULT_TRANSPORT, P_RELAY_TRANSPORT, "transport_maps", "relay_domains",
    "fallback_relay", "smtp_fallback_relay", "queue_directory", "smtp_enforce_tls", "smtp_use_tls", NULL,
  };
  static const char *prefixes[] = { "smtp_sasl_", "smtp_tls_", "sender_dependent_", "smtp_sender_dependent_", NULL };

  for (guint i = 0; names[i]; i++)
    if (g_str_equal (name, names[i]))
      return TRUE;
  for (guint i = 0; prefixes[i]; i++)
    if (g_str_has_prefix (name, prefixes[i]))
      return TRUE;
  return FALSE;
}

static char *
main_text_check (const char *key,
                 const char *line)
{
  return is_interpreted_param (key) ? g_strdup (key) : NULL;
}

/* master.cf: a transport of ours, or an "-o name=value" override of a
 * parameter we interpret (the doctor and import read any service's). */
static char *
master_text_check (const char *key,
                   const char *line)
{
  g_auto(GStrv) words = NULL;

  if (g_str_has_prefix (key, TRANSPORT_PREFIX))
    {
      g_autofree char *name = _smarthost_escape_invalid_utf8 (key);
      return g_strdup_printf ("the service %.*s of libsmarthost", (int) strcspn (name, "/"), name);
    }
  words = g_strsplit_set (line, " \t\r\v\f", 0);
  for (guint i = 0; words[i]; i++)
    {
      const char *w = g_str_has_prefix (words[i], "-o") ? words[i] + 2 : words[i];
      g_autofree char *name = g_strndup (w, strcspn (w, "="));

      if (w[strlen (name)] == '=' && is_interpreted_param (name) && !g_utf8_validate (w, -1, NULL))
        return g_strdup_printf ("-o %s", name);
    }
  return NULL;
}

static gboolean
check_interpreted_text (PfState  *st,
                        GError  **error)
{
  guint line = 0;
  g_autofree char *main_what = pf_conf_find_not_utf8 (st->main, main_text_check, &line);
  g_autofree char *master_what = main_what ? NULL : pf_conf_find_not_utf8 (st->master, master_text_check, &line);

  if (main_what == NULL && master_what == NULL)
    return TRUE;
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
               "config-directory: %s, line %u: %s has bytes that are not UTF-8; libsmarthost reads it and "
               "needs it as text: write it in UTF-8 (comments and other parameters may stay as they are)",
               main_what ? st->main_path : st->master_path, line, main_what ? main_what : master_what);
  return FALSE;
}

PfState *
pf_read_state_files (const char  *config_directory,
                     GError     **error)
{
  g_autoptr(PfState) st = g_new0 (PfState, 1);
  g_autoptr(GError) local_error = NULL;
  gboolean exists = FALSE;

  st->dir = g_strdup (config_directory);
  st->own_dir = g_build_filename (st->dir, OWN_FOLDER, NULL);
  st->main_path = g_build_filename (st->dir, "main.cf", NULL);
  st->master_path = g_build_filename (st->dir, "master.cf", NULL);

  /* main.cf and master.cf must hold no NUL byte, which would end what
   * we edit and write back. Our own maps must be text, and files of their
   * own. */
  if (!read_config_file (st->dir, st->main_path, &st->main_text, error) ||
      !read_config_file (st->dir, st->master_path, &st->master_text, error))
    return NULL;
  st->main = pf_conf_parse (PF_CONF_MAIN, st->main_text);
  st->master = pf_conf_parse (PF_CONF_MASTER, st->master_text);
  if (!check_interpreted_text (st, error))
    return NULL;

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *path = pf_map_path (st, pf_map_name (i));
      if (!_smarthost_read_file (path, SMARTHOST_READ_TEXT | SMARTHOST_READ_NOFOLLOW, &st->map_text[i], &exists,
                                 &local_error))
        {
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "read: %s%s", local_error->message,
                       geteuid () != 0 && access (path, R_OK) != 0 && errno == EACCES ? " (run as root)" : "");
          return NULL;
        }
      if (exists)
        st->map[i] = parse_map_ordered (st->map_text[i], &st->map_order[i], &st->map_bad_line[i]);
    }
  return g_steal_pointer (&st);
}

/* Splits a SASL map value "user:password" into the relay; a password that
 * is not ours to reveal (a hand-made map) is only marked as present. */
static void
set_credentials (SmarthostRelay *relay,
                 const char     *credentials,
                 gboolean        reveal)
{
  const char *colon = strchr (credentials, ':');
  g_autofree char *user = colon ? g_strndup (credentials, colon - credentials) : g_strdup (credentials);

  smarthost_relay_set_username (relay, user);
  if (colon && colon[1])
    {
      if (reveal)
        smarthost_relay_set_password (relay, colon + 1);
      else
        _smarthost_relay_mark_password_set (relay);
    }
}

SmarthostRelay *
pf_relay_from_route (PfState    *st,
                     const char *transport,
                     const char *nexthop,
                     const char *credentials)
{
  PfTransport t;
  g_autofree char *host = NULL;
  g_autofree char *entry_key = g_strconcat (transport, "/unix", NULL);
  guint port;
  gboolean mx;
  SmarthostRelay *relay;

  if (!pf_parse_transport_name (transport, &t) || !pf_parse_nexthop (nexthop, &host, &port, &mx))
    return NULL;

  relay = g_object_new (SMARTHOST_TYPE_RELAY,
                        "host", host,
                        "port", port,
                        "security", t.security,
                        "mx-lookup", mx,
                        "verify-certificate", t.verify,
                        NULL);
  if (strstr (transport, "-ca") != NULL)
    {
      g_autofree char *ca = pf_master_option (pf_conf_get (st->master, entry_key), "smtp_tls_CAfile");
      smarthost_relay_set_ca_file (relay, ca);
    }
  if (credentials != NULL)
    set_credentials (relay, credentials, TRUE);
  return relay;
}

gboolean
pf_server_is_ours (PfState *st)
{
  const char *dt = pf_conf_get (st->main, P_DEFAULT_TRANSPORT);
  return dt != NULL && g_str_has_prefix (dt, TRANSPORT_PREFIX "server-");
}

/* --- reading a relay set up by hand --------------------------------- */


/* Frees values that may hold a password (postconf's, with an inline:
 * table), wiping them first. */
void
pf_strv_secret_free (char **values)
{
  for (guint i = 0; values && values[i]; i++)
    explicit_bzero (values[i], strlen (values[i]));
  g_strfreev (values);
}

/* What postconf said, for an error message: its first fatal line (or
 * first line), quoted, for it quotes main.cf and master.cf, and cut
 * after 300 characters. */
char *
pf_postconf_message (const char *err)
{
  g_auto(GStrv) lines = g_strsplit (err ? err : "", "\n", 0);
  char *line = lines[0] ? lines[0] : "";

  for (guint i = 0; lines[i]; i++)
    if (strstr (lines[i], "fatal:") != NULL)
      {
        line = lines[i];
        break;
      }
  g_strstrip (line);
  if (*line == '\0')
    return g_strdup ("(no message)");
  return _smarthost_quote_full (line, -1, 300);
}

char **
pf_postconf_values (PfState       *st,
                    const char   **names,
                    GCancellable  *cancellable,
                    GError       **error)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  g_auto(GStrv) argv = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_auto(PfSecretStrv) lines = NULL;
  int status;

  g_strv_builder_add_many (b, POSTFIX_SBINDIR "/postconf", "-c", st->dir, "-x", "-h", NULL);
  for (guint i = 0; names[i]; i++)
    g_strv_builder_add (b, names[i]);
  argv = g_strv_builder_end (b);
  if (!_smarthost_run ((const char * const *) argv, cancellable, &status, &out, &err, error))
    return NULL;
  if (status != 0)
    {
      g_autofree char *dir_shown = _smarthost_quote_path (st->dir);
      g_autofree char *message = pf_postconf_message (err);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "postconf -c %s failed: %s", dir_shown, message);
      _smarthost_secret_free (g_steal_pointer (&out));
      return NULL;
    }
  /* A value may hold a password (an inline: table): only the copies the
   * caller asked for outlive this call. */
  lines = g_strsplit (out, "\n", 0);
  explicit_bzero (out, strlen (out));
  if (g_strv_length (lines) < g_strv_length ((char **) names))
    {
      g_autofree char *dir_shown = _smarthost_quote_path (st->dir);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "postconf -c %s printed fewer values than asked for", dir_shown);
      return NULL;
    }
  return g_steal_pointer (&lines);
}

/* A server relay set up by hand reads as adoption would take it over: the
 * smtp client settings of the service carrying the mail (master.cf "-o"
 * overrides included), the TLS level Postfix derives, the credentials it
 * would find. That lives beside adoption (smarthost-postfix-adopt.c), so
 * that status before an import and after it agree. */
static SmarthostRelay *
read_manual_server (PfState       *st,
                    const char    *relayhost,
                    GCancellable  *cancellable,
                    GError       **error)
{
  return pf_read_manual_server (st, relayhost, cancellable, error);
}

SmarthostRelay *
pf_read_server_full (PfState       *st,
                     gboolean       manual_too,
                     GCancellable  *cancellable,
                     GError       **error)
{
  const char *relayhost = pf_conf_get (st->main, P_RELAYHOST);

  if (relayhost == NULL || *relayhost == '\0')
    return NULL;
  if (pf_server_is_ours (st))
    {
      g_autofree char *host = NULL;
      guint port;
      gboolean mx;
      const char *credentials = NULL;
      g_autofree char *nexthop = g_strndup (relayhost, strcspn (relayhost, " ,\t"));

      if (st->map[MAP_SVPASSWD] && pf_parse_nexthop (relayhost, &host, &port, &mx))
        {
          g_autofree char *key = g_ascii_strdown (nexthop, -1);
          credentials = g_hash_table_lookup (st->map[MAP_SVPASSWD], key);
        }
      return pf_relay_from_route (st, pf_conf_get (st->main, P_DEFAULT_TRANSPORT), nexthop, credentials);
    }
  if (!manual_too)
    return NULL;
  return read_manual_server (st, relayhost, cancellable, error);
}

/* The server relay, ours or set up by hand. */
SmarthostRelay *
pf_read_server (PfState       *st,
                GCancellable  *cancellable,
                GError       **error)
{
  return pf_read_server_full (st, TRUE, cancellable, error);
}

SmarthostRelay *
pf_read_domain (PfState    *st,
                const char *domain)
{
  g_autofree char *key = g_strconcat ("@", domain, NULL);
  const char *route;
  const char *colon;
  g_autofree char *transport = NULL;

  if (st->map[MAP_TRANSPORT] == NULL)
    return NULL;
  route = g_hash_table_lookup (st->map[MAP_TRANSPORT], key);
  if (route == NULL || (colon = strchr (route, ':')) == NULL)
    return NULL;
  transport = g_strndup (route, colon - route);
  return pf_relay_from_route (st, transport, colon + 1,
                              st->map[MAP_SPASSWD] ? g_hash_table_lookup (st->map[MAP_SPASSWD], key) : NULL);
}

/* For g_ptr_array_sort() on an array of strings. */
int
pf_compare_strings (gconstpointer a,
                    gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

GPtrArray *
pf_list_domains (PfState *st)
{
  GPtrArray *domains = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  gpointer key, value;

  if (st->map[MAP_TRANSPORT] == NULL)
    return domains;
  g_hash_table_iter_init (&iter, st->map[MAP_TRANSPORT]);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (((char *) key)[0] == '@' && g_str_has_prefix (value, TRANSPORT_PREFIX "domain-"))
      g_ptr_array_add (domains, g_strdup ((char *) key + 1));
  g_ptr_array_sort (domains, pf_compare_strings);
  return domains;
}

/* Every domain's relay, read from @st. */
GHashTable *
pf_read_domains (PfState *st)
{
  g_autoptr(GPtrArray) domains = pf_list_domains (st);
  GHashTable *result = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);

  for (guint i = 0; i < domains->len; i++)
    {
      const char *domain = g_ptr_array_index (domains, i);
      SmarthostRelay *relay = pf_read_domain (st, domain);
      if (relay != NULL)
        g_hash_table_insert (result, g_strdup (domain), relay);
    }
  return result;
}
