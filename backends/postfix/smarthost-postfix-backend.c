/* smarthost-postfix-backend.c: smarthosts for Postfix
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "smarthost-backend-private.h"
#include "smarthost-enum-types.h"
#include "smarthost-error.h"
#include "smarthost-change-private.h"
#include "smarthost-operation-private.h"
#include "smarthost-postfix-map-operation.h"
#include "smarthost-files-private.h"
#include "smarthost-postfix-backend.h"
#include "smarthost-postfix-conf.h"
#include "smarthost-postfix-private.h"
#include "smarthost-private.h"
#include "smarthost-transaction.h"
#include "smarthost-util-private.h"

/**
 * SmarthostPostfixBackend:
 *
 * The Postfix backend: smarthosts in a Postfix configuration directory
 * (`/etc/postfix` unless [property@PostfixBackend:config-directory] says
 * otherwise).
 *
 * All mail-routing files live in the folder `smarthost/` of the
 * configuration directory (mode 0700); main.cf and master.cf are edited in
 * place, keeping every line the backend does not own byte for byte.
 */

/*
 * Implementation notes
 *
 * Each relay's mail leaves through a master.cf transport of ours, a copy
 * of the smtp client configured entirely with "-o" overrides: TLS level,
 * wrapper mode, CA file, SASL maps and options. So our relays never depend
 * on, nor change, the administrator's global smtp_* settings, and two
 * relays on the same host and port can differ in anything. The transports
 * are named after what they do, for example smarthost-domain-starttls,
 * smarthost-server-tls-noverify or smarthost-domain-starttls-ca1a2b3c4d
 * (the hash names the CA file), and there is one per distinct combination,
 * not one per domain. Their chroot column follows the stock smtp service,
 * and nothing they read at delivery time lives outside what the smtp
 * client opens before entering the chroot (maps and the CA file). They
 * resolve the relay host with DNS and then the system's resolver
 * (smtp_host_lookup = dns,native), so a relay named in /etc/hosts works
 * as it does for every other program; Debian copies the resolver files
 * into the chroot. Postfix verifies certificates against host names only,
 * never against an IP address, so a verified relay needs a host name.
 *
 * Routing, in Postfix's order of precedence:
 *   sender_dependent_default_transport_maps (ours first) maps "@domain" to
 *     "smarthost-domain-…:[host]:port": a domain's relay, transport and
 *     nexthop together, outranks everything below, implicit TLS included;
 *   default_transport = smarthost-server-… (and relay_transport, when the
 *     administrator left it alone) carries other mail to
 *   relayhost = [host]:port, the server-wide relay.
 *
 * Credentials: the domain transports look up "@domain" in sender_passwd
 * (smtp_sender_dependent_authentication), so two domains on one relay
 * authenticate as themselves, and a domain without credentials never falls
 * back to someone else's; the server transport looks up the nexthop in
 * server_passwd. Both maps are 0600 in our 0700 folder, built with postmap.
 *
 * A server relay set by hand (relayhost, with the global smtp_sasl_* and
 * smtp_tls_* settings) is reported as it is and left alone until the
 * caller replaces or removes it, or adopts it (smarthost_transaction_adopt():
 * see smarthost-postfix-adopt.c). The doctor is smarthost-postfix-doctor.c;
 * the domain maps a plan writes are computed in smarthost-postfix-maps.c,
 * lookup tables are read by smarthost-postfix-tables.c, the configuration
 * directory and its relays by smarthost-postfix-read.c, and nexthops and
 * transports are written and read back by smarthost-postfix-codec.c.
 */

/* OWN_FOLDER, TRANSPORT_PREFIX, the map names and PfState are in
 * smarthost-postfix-private.h, shared with the other files of the backend. */

struct _SmarthostPostfixBackend
{
  GObject parent_instance;

  char *config_directory;
  guint lock_timeout;
};

static void smarthost_postfix_backend_iface_init (SmarthostBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SmarthostPostfixBackend, smarthost_postfix_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (SMARTHOST_TYPE_BACKEND,
                                                      smarthost_postfix_backend_iface_init)
                               _smarthost_backend_ensure_extension_point ();
                               g_io_extension_point_implement (SMARTHOST_BACKEND_EXTENSION_POINT_NAME,
                                                               g_define_type_id, "postfix", 100))

enum {
  PROP_0,
  PROP_CONFIG_DIRECTORY,
  PROP_LOCK_TIMEOUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* --- the state of a configuration directory ------------------------- */

static const char *map_names[3] = { MAP_SENDER_TRANSPORT, MAP_SENDER_PASSWD, MAP_SERVER_PASSWD };

void
pf_state_free (PfState *st)
{
  g_free (st->dir);
  g_free (st->own_dir);
  g_free (st->main_path);
  g_free (st->master_path);
  g_free (st->main_text);
  g_free (st->master_text);
  pf_conf_free (st->main);
  pf_conf_free (st->master);
  for (guint i = 0; i < 3; i++)
    {
      _smarthost_secret_free (st->map_text[i]);
      g_clear_pointer (&st->map_order[i], g_ptr_array_unref);
      g_clear_pointer (&st->map[i], g_hash_table_unref);
    }
  g_free (st);
}

static char *
map_path (PfState    *st,
          const char *name)
{
  return g_build_filename (st->own_dir, name, NULL);
}

static char *
map_spec (PfState    *st,
          const char *name)
{
  g_autofree char *path = map_path (st, name);
  return g_strconcat ("hash:", path, NULL);
}

/* The configuration as it is, read under a lock that readers share and a
 * commit holds alone, so that a read sees one commit's files and never
 * part of the next one's (main.cf, master.cf and three maps cannot be
 * renamed into place at once). LOAD_READ first finishes a commit that was
 * interrupted (killed, or power lost). LOAD_READ_ONLY (dry runs, the
 * doctor, which promise to change nothing) does not, and the state may be
 * such a mix: the caller says so. LOAD_LOCKED is for a commit, which holds
 * the lock already. */
typedef enum { LOAD_READ, LOAD_READ_ONLY, LOAD_LOCKED } LoadMode;

static PfState *
load_state_full (SmarthostPostfixBackend  *self,
                 LoadMode                  mode,
                 GError                  **error)
{
  PfState *st;
  int lock = -1;

  if (!pf_check_config_directory (self->config_directory, error))
    return NULL;
  if (mode != LOAD_LOCKED && g_file_test (self->config_directory, G_FILE_TEST_IS_DIR))
    {
      /* Never read what a killed commit left halfway (no-op without a
       * journal). */
      if (mode == LOAD_READ &&
          !_smarthost_journal_recover (self->config_directory, FALSE, self->lock_timeout, NULL, error))
        return NULL;
      /* A directory we may not write or trust (a non-root reader, a
       * directory another user controls, whose lock could be theirs):
       * read without the lock, and let the reads say what is wrong. */
      if (_smarthost_check_trusted_directory (self->config_directory, "the configuration directory", NULL))
        {
          g_autoptr(GError) lock_error = NULL;

          lock = _smarthost_lock_directory_full (self->config_directory, TRUE, self->lock_timeout, NULL,
                                                 &lock_error);
          if (lock < 0 && g_error_matches (lock_error, SMARTHOST_ERROR, SMARTHOST_ERROR_CONFLICT))
            {
              g_propagate_error (error, g_steal_pointer (&lock_error));
              return NULL;
            }
        }
    }
  st = pf_read_state_files (self->config_directory, error);
  _smarthost_unlock_directory (self->config_directory, lock);
  return st;
}

static PfState *
load_state (SmarthostPostfixBackend  *self,
            GError                  **error)
{
  return load_state_full (self, LOAD_READ, error);
}

/* --- computing a plan ------------------------------------------------ */

typedef struct {
  char *dir;
  char *expected[4];   /* effective values of the routing parameters */
  GPtrArray *written;  /* main.cf and master.cf, when the plan rewrites them */
} PostCommit;

static const char *checked_params[4] = { P_RELAYHOST, P_DEFAULT_TRANSPORT, P_RELAY_TRANSPORT, P_SDD_TRANSPORT_MAPS };
static const char *param_defaults[4] = { "", "smtp", "relay", "" };

static void
post_commit_free (gpointer data)
{
  PostCommit *pc = data;

  g_free (pc->dir);
  for (guint i = 0; i < 4; i++)
    g_free (pc->expected[i]);
  g_clear_pointer (&pc->written, g_ptr_array_unref);
  g_free (pc);
}

/* Has Postfix itself read the new files the way we meant them? */
static gboolean
validate_step (gpointer       user_data,
               GCancellable  *cancellable,
               GError       **error)
{
  PostCommit *pc = user_data;
  const char *argv_h[] = { POSTFIX_SBINDIR "/postconf", "-c", pc->dir, "-x", "-h",
                           checked_params[0], checked_params[1], checked_params[2], checked_params[3], NULL };
  const char *argv_m[] = { POSTFIX_SBINDIR "/postconf", "-c", pc->dir, "-M", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_auto(GStrv) lines = NULL;
  int status;

  /* Postfix will not read a main.cf or master.cf modified in the last two
   * seconds, in case it is still being written (util/dict.c: it waits for
   * the file to "cool down"). Ours were complete when renamed into place,
   * so their modification time is set two seconds back; otherwise every
   * postconf and reload after a commit would stall. */
  for (guint i = 0; pc->written && i < pc->written->len; i++)
    {
      struct timespec times[2] = { { 0, UTIME_OMIT }, { time (NULL) - 2, 0 } };
      utimensat (AT_FDCWD, g_ptr_array_index (pc->written, i), times, 0);
    }

  if (!_smarthost_run (argv_h, cancellable, &status, &out, &err, error))
    return g_prefix_error (error, "validate: "), FALSE;
  if (status != 0)
    {
      /* postconf reads master.cf too; its message names the file. */
      g_autofree char *message = pf_postconf_message (err);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "validate: Postfix rejects the configuration: %s", message);
      return FALSE;
    }
  lines = g_strsplit (out, "\n", 0);
  for (guint i = 0; i < 4; i++)
    {
      const char *got = lines[0] && g_strv_length (lines) > i ? g_strstrip (lines[i]) : "";
      /* Compared as Postfix expands them (-x): what it will really use.
       * Values we write never hold a '$' (paths with one are refused); a
       * value of the administrator's that does is expanded by Postfix
       * from other parameters and is not ours to check. */
      if (strchr (pc->expected[i], '$') == NULL && !g_str_equal (got, pc->expected[i]))
        {
          g_autofree char *got_shown = _smarthost_quote (got, -1);
          g_autofree char *expected_shown = _smarthost_quote (pc->expected[i], -1);
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                       "validate: Postfix reads %s as %s, not %s as written",
                       checked_params[i], got_shown, expected_shown);
          return FALSE;
        }
    }

  g_clear_pointer (&err, g_free);
  /* What postconf -M prints is master.cf's services, which may hold bytes
   * that are not UTF-8 (arguments of a pipe service we keep as they are):
   * only its verdict matters. */
  if (!_smarthost_run (argv_m, cancellable, &status, NULL, &err, error))
    return g_prefix_error (error, "validate: "), FALSE;
  if (status != 0 || strstr (err, "fatal") != NULL)
    {
      g_autofree char *message = pf_postconf_message (err);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "validate: Postfix rejects master.cf: %s", message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
reload_step (gpointer       user_data,
             GCancellable  *cancellable,
             GError       **error)
{
  PostCommit *pc = user_data;
  const char *argv_status[] = { POSTFIX_SBINDIR "/postfix", "-c", pc->dir, "status", NULL };
  const char *argv_reload[] = { POSTFIX_SBINDIR "/postfix", "-c", pc->dir, "reload", NULL };
  g_autofree char *err = NULL;
  int status;

  const char *argv_queue[] = { POSTFIX_SBINDIR "/postconf", "-c", pc->dir, "-h", "queue_directory", NULL };
  g_autofree char *queue = NULL;
  g_autofree char *pid_file = NULL;

  /* A Postfix that never ran has no master.pid: no need to ask it. */
  if (!_smarthost_run (argv_queue, cancellable, &status, &queue, NULL, error))
    return g_prefix_error (error, "reload: "), FALSE;
  if (status != 0)
    return TRUE;
  pid_file = g_build_filename (g_strstrip (queue), "pid", "master.pid", NULL);
  if (!g_file_test (pid_file, G_FILE_TEST_EXISTS))
    return TRUE;

  if (!_smarthost_run (argv_status, cancellable, &status, NULL, NULL, error))
    return g_prefix_error (error, "reload: "), FALSE;
  if (status != 0)
    return TRUE;    /* not running: nothing to reload, and nothing is started */
  if (!_smarthost_run (argv_reload, cancellable, &status, NULL, &err, error))
    return g_prefix_error (error, "reload: "), FALSE;
  if (status != 0)
    {
      g_autofree char *dir_shown = _smarthost_quote_path (pc->dir);
      g_autofree char *message = pf_postconf_message (err);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "reload: postfix -c %s reload failed: %s", dir_shown, message);
      return FALSE;
    }
  return TRUE;
}

/* The keys of @table, sorted; the array does not own them. */
static GPtrArray *
sorted_keys (GHashTable *table)
{
  GPtrArray *keys = g_ptr_array_sized_new (g_hash_table_size (table));
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (keys, key);
  g_ptr_array_sort (keys, pf_compare_strings);
  return keys;
}

static char *
map_text (GHashTable *entries,
          gboolean    masked)
{
  g_autoptr(GPtrArray) keys = sorted_keys (entries);
  GString *out = g_string_new (MAP_HEADER);

  for (guint i = 0; i < keys->len; i++)
    {
      const char *key = g_ptr_array_index (keys, i);
      const char *value = g_hash_table_lookup (entries, key);

      if (masked)
        {
          const char *colon = strchr (value, ':');
          g_string_append_printf (out, "%s %.*s:" SMARTHOST_PASSWORD_MASK "\n", key,
                                  colon ? (int) (colon - value) : (int) strlen (value), value);
        }
      else
        g_string_append_printf (out, "%s %s\n", key, value);
    }
  return g_string_free (out, FALSE);
}

static char *
credentials_of (SmarthostRelay *relay)
{
  const char *password = smarthost_relay_get_password (relay);
  return g_strdup_printf ("%s:%s", smarthost_relay_get_username (relay), password ? password : "");
}

/* A changed file, if it changes. */
static void
add_file (GPtrArray  *ops,
          const char *path,
          const char *old_contents,
          const char *new_contents)
{
  SmarthostOperation *op = _smarthost_file_operation_new_take (path, g_strdup (old_contents), FALSE,
                                                               g_strdup (new_contents), 0644, NULL, NULL);
  if (op != NULL)
    g_ptr_array_add (ops, op);
}

/* A map, if it changes: into @ops, or when it is deleted into @deletions
 * (which come last, after main.cf no longer names the map). */
static void
add_map (GPtrArray     *ops,
         GPtrArray     *deletions,
         PfState       *st,
         guint          which,
         char          *text,        /* taken; NULL: no map */
         char          *masked_new,  /* taken; previews of secrets files only */
         gboolean       secret,
         gboolean       preview)
{
  SmarthostOperation *op;

  g_autofree char *path = map_path (st, map_names[which]);
  char *masked_old = NULL;
  const char *argv[] = { POSTFIX_SBINDIR "/postmap", "-c", st->dir, "hash:{}", NULL };
  const char *outputs[] = { ".db", NULL };

  /* Previews of secrets files show "user:********"; when only a password
   * changes, the preview says so without showing it. Commits never show
   * them, and do not compute them. */
  if (secret && preview)
    masked_old = st->map[which] ? map_text (st->map[which], TRUE) : NULL;
  else
    g_clear_pointer (&masked_new, g_free);
  op = _smarthost_postfix_map_operation_new_take (path, st->map_text[which], TRUE, text, 0600, masked_old,
                                                  masked_new, argv, outputs);
  if (op != NULL)
    g_ptr_array_add (smarthost_file_operation_get_deletes (SMARTHOST_FILE_OPERATION (op)) ? deletions : ops, op);
}

static gboolean
is_list_value_ours (const char *item,
                    const char *ours)
{
  return g_str_equal (item, ours);
}

/* The new value of a map list parameter: ours first (when @want), then
 * whatever else the administrator listed, in their order. */
static char *
merge_map_list (const char *current,
                const char *ours,
                gboolean    want)
{
  g_auto(GStrv) items = g_strsplit_set (current ? current : "", " ,\t", 0);
  GString *out = g_string_new (want ? ours : "");

  for (guint i = 0; items[i]; i++)
    {
      if (*items[i] == '\0' || is_list_value_ours (items[i], ours))
        continue;
      if (out->len)
        g_string_append (out, ", ");
      g_string_append (out, items[i]);
    }
  return g_string_free (out, FALSE);
}

static void
set_param (PfConf     *main_cf,
           const char *name,
           const char *value,
           GPtrArray  *notes)
{
  g_autofree char *entry = pf_main_entry (name, value);
  pf_conf_set (main_cf, name, entry, "main.cf", notes);
}

static void
unset_param (PfConf     *main_cf,
             const char *name,
             const char *default_value,
             GPtrArray  *notes)
{
  g_autofree char *entry = pf_main_entry (name, default_value);
  pf_conf_unset (main_cf, name, entry, "main.cf", notes);
}

/* A plan in the making: what the steps of build_plan() read, and what
 * each leaves for the next. */
typedef struct {
  SmarthostChange *change;   /* not owned */
  PfState *st;               /* not owned */
  gboolean preview;
  GPtrArray *notes;          /* given to the change once the plan is complete */
  PfAdoption *adoption;      /* NULL unless adopting */
  SmarthostRelay *server;    /* the server relay written, or NULL for none */
  gboolean manage_server;    /* FALSE: the server relay is left as it is */
  PfDomainMaps dm;
  GHashTable *transports;    /* master.cf transport name -> its entry */
  GHashTable *svpasswd;      /* server_passwd: nexthop -> credentials */
  PfConf *main_cf;
  PfConf *master_cf;
  char *our_map;             /* sender_transport, as main.cf names it */
} Plan;

static void
plan_init (Plan            *plan,
           SmarthostChange *change,
           PfState         *st)
{
  plan->change = change;
  plan->st = st;
  plan->preview = smarthost_change_get_dry_run (change);
  plan->notes = g_ptr_array_new_with_free_func (g_free);
  pf_domain_maps_init (&plan->dm);
  plan->transports = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  plan->svpasswd = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) _smarthost_secret_free);
  plan->main_cf = pf_conf_parse (PF_CONF_MAIN, st->main_text);
  plan->master_cf = pf_conf_parse (PF_CONF_MASTER, st->master_text);
  plan->our_map = map_spec (st, MAP_SENDER_TRANSPORT);
}

static void
plan_clear (Plan *plan)
{
  g_clear_pointer (&plan->notes, g_ptr_array_unref);
  g_clear_pointer (&plan->adoption, pf_adoption_free);
  g_clear_object (&plan->server);
  pf_domain_maps_clear (&plan->dm);
  g_clear_pointer (&plan->transports, g_hash_table_unref);
  g_clear_pointer (&plan->svpasswd, g_hash_table_unref);
  g_clear_pointer (&plan->main_cf, pf_conf_free);
  g_clear_pointer (&plan->master_cf, pf_conf_free);
  g_clear_pointer (&plan->our_map, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Plan, plan_clear)

/* 1. Adoption: the hand-made relays, under the staged changes. */
static gboolean
plan_adopt (Plan                     *plan,
            SmarthostPostfixBackend  *self,
            GCancellable             *cancellable,
            GError                  **error)
{
  if (!smarthost_change_get_adopting (plan->change))
    return TRUE;
  plan->adoption = pf_adopt (self, plan->st, plan->notes, cancellable, error);
  if (plan->adoption == NULL)
    return FALSE;
  smarthost_change_set_adopted (plan->change, plan->adoption->server,
                                (const char * const *) plan->adoption->domain_order->pdata);
  return TRUE;
}

/* A copy of @staged, a server relay that keeps its password, with the
 * password of the server relay it replaces. Only a server relay of ours
 * has a password we can read; a hand-made one keeps it in the
 * administrator's own table. */
static SmarthostRelay *
server_with_kept_password (PfState         *st,
                           SmarthostRelay  *staged,
                           GCancellable    *cancellable,
                           GError         **error)
{
  g_autoptr(SmarthostRelay) current = NULL;
  const char *relayhost = pf_conf_get (st->main, P_RELAYHOST);
  const char *password;
  SmarthostRelay *server;

  if (pf_server_is_ours (st))
    current = pf_read_server_full (st, FALSE, cancellable, NULL);
  if (current == NULL && relayhost != NULL && *relayhost != '\0')
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                   "server.password: is to be kept, but the server-wide relay is set by hand and its "
                   "password is in a table of yours (smtp_sasl_password_maps): give the password, or "
                   "take the relay over first (smarthost_transaction_adopt()), which keeps it");
      return NULL;
    }
  if (!pf_kept_password ("server", current, staged, &password, error))
    return NULL;
  server = smarthost_relay_copy (staged);
  smarthost_relay_set_password (server, password);
  return server;
}

/* The server relay the plan writes: the one staged, else the one adopted,
 * else ours as it is; a hand-made one nobody asked about is not the
 * plan's to manage. */
static gboolean
plan_choose_server (Plan          *plan,
                    GCancellable  *cancellable,
                    GError       **error)
{
  SmarthostRelay *staged_server = NULL;

  if (smarthost_change_get_server (plan->change, &staged_server))
    {
      plan->manage_server = TRUE;
      if (staged_server != NULL && _smarthost_relay_keeps_password (staged_server))
        {
          plan->server = server_with_kept_password (plan->st, staged_server, cancellable, error);
          return plan->server != NULL;
        }
      plan->server = staged_server ? g_object_ref (staged_server) : NULL;
    }
  else if (plan->adoption != NULL && plan->adoption->server != NULL)
    {
      plan->server = g_object_ref (plan->adoption->server);
      plan->manage_server = TRUE;
    }
  else
    {
      plan->manage_server = pf_server_is_ours (plan->st);
      plan->server = plan->manage_server ? pf_read_server_full (plan->st, FALSE, cancellable, NULL) : NULL;
    }
  return TRUE;
}

/* 2. Maps and transports: the domains configured, with the staged
 * changes, in one pass; then the server relay's transport and
 * credentials. */
static gboolean
plan_routes (Plan    *plan,
             GError **error)
{
  SmarthostChange *change = plan->change;
  SmarthostRelay *server = plan->server;

  if (!pf_build_domain_maps (plan->st, change, smarthost_change_get_domains (change),
                             smarthost_change_get_replace_domains (change),
                             plan->adoption ? plan->adoption->domains : NULL, plan->preview, &plan->dm, error))
    return FALSE;
  pf_add_domain_transports (plan->st, &plan->dm, plan->transports);
  if (plan->manage_server && server != NULL)
    {
      g_autofree char *name = pf_transport_name (TRUE, server);
      g_autofree char *nexthop = pf_relay_nexthop (server);

      if (smarthost_relay_get_username (server) != NULL)
        {
          g_hash_table_insert (plan->svpasswd, g_strdup (nexthop), credentials_of (server));
          smarthost_change_add_secret (change, smarthost_relay_get_password (server));
        }
      g_hash_table_insert (plan->transports, g_strdup (name), pf_transport_entry (plan->st, name, TRUE, server));
    }
  return TRUE;
}

/* Relayhost maps whose every entry is ours now leave main.cf. */
static void
drop_adopted_relayhost_maps (Plan *plan)
{
  GPtrArray *drop = plan->adoption->drop_sdr_maps;
  g_autofree char *sdr = g_strdup (pf_conf_get (plan->main_cf, P_SDR_MAPS));

  for (guint i = 0; i < drop->len; i++)
    {
      char *next = merge_map_list (sdr, g_ptr_array_index (drop, i), FALSE);
      g_free (sdr);
      sdr = next;
    }
  if (*sdr)
    set_param (plan->main_cf, P_SDR_MAPS, sdr, plan->notes);
  else
    unset_param (plan->main_cf, P_SDR_MAPS, "", plan->notes);
}

/* A complete state leaves hand-made sender routes alone, but must not
 * hide that they still route mail it does not list. */
static void
note_hand_made_sender_routes (Plan *plan)
{
  const char *sdr = pf_conf_get (plan->main_cf, P_SDR_MAPS);
  g_autofree char *others = merge_map_list (pf_conf_get (plan->main_cf, P_SDD_TRANSPORT_MAPS), plan->our_map, FALSE);
  /* Lists of tables, named by their paths. */
  g_autofree char *sdr_shown = _smarthost_quote_path (sdr);
  g_autofree char *others_shown = _smarthost_quote_path (others);

  if (sdr != NULL && *sdr != '\0')
    g_ptr_array_add (plan->notes, g_strdup_printf ("main.cf: sender_dependent_relayhost_maps = %s routes senders by "
                                                   "hand, and keeps doing so for domains the state does not list; "
                                                   "smarthostctl import takes them over", sdr_shown));
  if (*others != '\0')
    g_ptr_array_add (plan->notes, g_strdup_printf ("main.cf: sender_dependent_default_transport_maps has tables of "
                                                   "yours (%s), which keep routing the senders they list",
                                                   others_shown));
}

/* 3. main.cf, the sender-dependent routes: our map listed first while it
 * routes a domain. */
static void
edit_sender_routes (Plan *plan)
{
  g_autofree char *sdd = merge_map_list (pf_conf_get (plan->main_cf, P_SDD_TRANSPORT_MAPS), plan->our_map,
                                         plan->dm.n_domains > 0);

  if (*sdd)
    set_param (plan->main_cf, P_SDD_TRANSPORT_MAPS, sdd, plan->notes);
  else
    unset_param (plan->main_cf, P_SDD_TRANSPORT_MAPS, "", plan->notes);
  if (plan->adoption != NULL && plan->adoption->drop_sdr_maps->len > 0)
    drop_adopted_relayhost_maps (plan);
  if (smarthost_change_get_replace_domains (plan->change))
    note_hand_made_sender_routes (plan);
}

/* The server relay's parameters in main.cf: relayhost, and our transport
 * as default_transport (and relay_transport, unless set by hand). */
static gboolean
set_server_params (Plan    *plan,
                   GError **error)
{
  PfConf *main_cf = plan->main_cf;
  const char *dt = pf_conf_get (main_cf, P_DEFAULT_TRANSPORT);
  const char *rt = pf_conf_get (main_cf, P_RELAY_TRANSPORT);
  const char *rh = pf_conf_get (main_cf, P_RELAYHOST);
  g_autofree char *dt_shown = _smarthost_quote (dt, -1);
  g_autofree char *rt_shown = _smarthost_quote (rt, -1);
  g_autofree char *rh_shown = _smarthost_quote (rh, -1);
  gboolean dt_ours = dt == NULL || g_str_equal (dt, "smtp") || g_str_has_prefix (dt, TRANSPORT_PREFIX);
  gboolean rt_ours = rt == NULL || g_str_equal (rt, "relay") || g_str_has_prefix (rt, TRANSPORT_PREFIX);
  g_autofree char *name = pf_transport_name (TRUE, plan->server);
  g_autofree char *nexthop = pf_relay_nexthop (plan->server);

  if (!dt_ours)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_CONFLICT,
                   "main.cf sets default_transport = %s, and the server-wide smarthost needs "
                   "default_transport for its own transport; reset default_transport to smtp "
                   "(or remove it) and try again", dt_shown);
      return FALSE;
    }
  if (!pf_server_is_ours (plan->st) && rh != NULL && *rh != '\0' && !g_str_equal (rh, nexthop))
    g_ptr_array_add (plan->notes, g_strdup_printf ("main.cf: relayhost = %s was set by hand and is replaced; "
                                                   "the global smtp_sasl_* and smtp_tls_* settings stay as they are",
                                                   rh_shown));
  set_param (main_cf, P_RELAYHOST, nexthop, plan->notes);
  set_param (main_cf, P_DEFAULT_TRANSPORT, name, plan->notes);
  if (rt_ours)
    set_param (main_cf, P_RELAY_TRANSPORT, name, plan->notes);
  else
    g_ptr_array_add (plan->notes, g_strdup_printf ("main.cf: relay_transport = %s is kept as set by hand; "
                                                   "mail for relay_domains does not use the smarthost's "
                                                   "credentials", rt_shown));
  return TRUE;
}

/* No server relay: relayhost goes, and our transports with it. */
static void
unset_server_params (Plan *plan)
{
  PfConf *main_cf = plan->main_cf;
  const char *dt = pf_conf_get (main_cf, P_DEFAULT_TRANSPORT);
  const char *rt = pf_conf_get (main_cf, P_RELAY_TRANSPORT);
  const char *rh = pf_conf_get (main_cf, P_RELAYHOST);
  g_autofree char *rh_shown = _smarthost_quote (rh, -1);

  if (rh != NULL && *rh != '\0' && !pf_server_is_ours (plan->st))
    g_ptr_array_add (plan->notes, g_strdup_printf ("main.cf: relayhost = %s was set by hand and is removed; "
                                                   "the global smtp_sasl_* and smtp_tls_* settings and their "
                                                   "files stay as they are", rh_shown));
  if (rh != NULL)
    unset_param (main_cf, P_RELAYHOST, "", plan->notes);
  if (dt != NULL && g_str_has_prefix (dt, TRANSPORT_PREFIX))
    unset_param (main_cf, P_DEFAULT_TRANSPORT, "smtp", plan->notes);
  if (rt != NULL && g_str_has_prefix (rt, TRANSPORT_PREFIX))
    unset_param (main_cf, P_RELAY_TRANSPORT, "relay", plan->notes);
}

/* 3. main.cf, the server relay, when the plan manages it. */
static gboolean
edit_server_params (Plan    *plan,
                    GError **error)
{
  if (!plan->manage_server)
    return TRUE;
  if (plan->server != NULL)
    return set_server_params (plan, error);
  unset_server_params (plan);
  return TRUE;
}

/* 4. master.cf: exactly the transports in use. */
static void
edit_master_transports (Plan *plan)
{
  g_autoptr(GPtrArray) old_transports = pf_conf_keys (plan->master_cf, TRANSPORT_PREFIX);
  g_autoptr(GPtrArray) names = NULL;

  for (guint i = 0; i < old_transports->len; i++)
    {
      const char *k = g_ptr_array_index (old_transports, i);
      g_autofree char *name = g_strndup (k, strcspn (k, "/"));
      if (!g_str_has_suffix (k, "/unix") || !g_hash_table_contains (plan->transports, name))
        pf_conf_unset (plan->master_cf, k, NULL, "master.cf", plan->notes);
    }
  names = sorted_keys (plan->transports);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      g_autofree char *k = g_strconcat (name, "/unix", NULL);
      pf_conf_set (plan->master_cf, k, g_hash_table_lookup (plan->transports, name), "master.cf", plan->notes);
    }
}

/* The step asking Postfix whether it reads the new files as meant: the
 * routing parameters main.cf will hold, and the files rewritten. */
static SmarthostOperation *
validate_operation (Plan       *plan,
                    const char *new_main,
                    const char *new_master)
{
  PfState *st = plan->st;
  g_autofree char *desc = g_strdup_printf ("%s/postconf -c %s -h %s %s %s %s; %s/postconf -c %s -M (validate)",
                                           POSTFIX_SBINDIR, st->dir, checked_params[0], checked_params[1],
                                           checked_params[2], checked_params[3], POSTFIX_SBINDIR, st->dir);
  PostCommit *pc = g_new0 (PostCommit, 1);

  pc->dir = g_strdup (st->dir);
  pc->written = g_ptr_array_new_with_free_func (g_free);
  if (g_strcmp0 (new_main, st->main_text) != 0)
    g_ptr_array_add (pc->written, g_strdup (st->main_path));
  if (g_strcmp0 (new_master, st->master_text) != 0)
    g_ptr_array_add (pc->written, g_strdup (st->master_path));
  for (guint i = 0; i < 4; i++)
    {
      const char *v = pf_conf_get (plan->main_cf, checked_params[i]);
      pc->expected[i] = g_strdup (v ? v : param_defaults[i]);
    }
  return smarthost_command_operation_new_func (desc, validate_step, pc, post_commit_free);
}

static SmarthostOperation *
reload_operation (PfState *st)
{
  g_autofree char *desc = g_strdup_printf ("%s/postfix -c %s reload (only if Postfix is running)",
                                           POSTFIX_SBINDIR, st->dir);
  PostCommit *pc = g_new0 (PostCommit, 1);

  pc->dir = g_strdup (st->dir);
  for (guint i = 0; i < 4; i++)
    pc->expected[i] = g_strdup ("");
  return smarthost_command_operation_new_func (desc, reload_step, pc, post_commit_free);
}

/* 5. The operations: the secrets' directory, the files in order, then
 * the deletions, then validation and reload. */
static void
plan_operations (Plan       *plan,
                 const char *new_main,
                 const char *new_master)
{
  SmarthostChange *change = plan->change;
  PfState *st = plan->st;
  PfDomainMaps *dm = &plan->dm;
  gboolean preview = plan->preview;
  gboolean with_server = plan->manage_server && plan->server != NULL;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) deletions = g_ptr_array_new_with_free_func (g_object_unref);

  if (dm->n_domains > 0 || with_server)
    {
      g_autoptr(SmarthostOperation) dir_op = smarthost_directory_operation_new (st->own_dir, 0700);
      smarthost_change_add_operation (change, dir_op);
    }
  add_map (ops, deletions, st, MAP_TRANSPORT,
           dm->n_domains ? g_string_free (g_steal_pointer (&dm->routes), FALSE) : NULL, NULL, FALSE, preview);
  add_map (ops, deletions, st, MAP_SPASSWD,
           dm->n_domains ? g_string_free (g_steal_pointer (&dm->passwd), FALSE) : NULL,
           dm->n_domains && dm->masked ? g_string_free (g_steal_pointer (&dm->masked), FALSE) : NULL, TRUE, preview);
  add_map (ops, deletions, st, MAP_SVPASSWD, with_server ? map_text (plan->svpasswd, FALSE) : NULL,
           with_server && preview ? map_text (plan->svpasswd, TRUE) : NULL, TRUE, preview);
  add_file (ops, st->master_path, st->master_text, new_master);
  add_file (ops, st->main_path, st->main_text, new_main);
  g_ptr_array_extend_and_steal (ops, g_steal_pointer (&deletions));
  for (guint i = 0; i < plan->notes->len; i++)
    smarthost_change_add_note (change, g_ptr_array_index (plan->notes, i));

  if (ops->len > 0)
    {
      g_ptr_array_add (ops, validate_operation (plan, new_main, new_master));
      /* Postfix needs a reload for main.cf and master.cf changes; map
       * changes it notices by itself, but only seconds later, and under
       * traffic up to half a minute later (trivial-rewrite keeps serving
       * its open clients). A reload makes every change effective for the
       * very next message, so any change reloads. */
      if (smarthost_change_get_reload (change))
        g_ptr_array_add (ops, reload_operation (st));
    }

  for (guint i = 0; i < ops->len; i++)
    smarthost_change_add_operation (change, g_ptr_array_index (ops, i));
}

/* The change's operations, computed from the state read in one pass
 * through main.cf and master.cf; nothing is written here. */
static gboolean
build_plan (SmarthostPostfixBackend  *self,
            SmarthostChange          *change,
            PfState                  *st,
            GCancellable             *cancellable,
            GError                  **error)
{
  g_auto(Plan) plan = { 0 };
  g_autofree char *new_main = NULL;
  g_autofree char *new_master = NULL;

  plan_init (&plan, change, st);
  if (!pf_check_own_maps (st, &plan.dm, error))
    return FALSE;
  if (!plan_adopt (&plan, self, cancellable, error) ||
      !plan_choose_server (&plan, cancellable, error) ||
      !plan_routes (&plan, error))
    return FALSE;
  edit_sender_routes (&plan);
  if (!edit_server_params (&plan, error))
    return FALSE;
  new_main = pf_conf_to_string (plan.main_cf);
  edit_master_transports (&plan);
  new_master = pf_conf_to_string (plan.master_cf);
  plan_operations (&plan, new_main, new_master);
  return TRUE;
}

/* --- for the other files of the backend (smarthost-postfix-private.h) - */

PfState *
pf_load_state (SmarthostPostfixBackend  *self,
               gboolean                  read_only,
               GError                  **error)
{
  return load_state_full (self, read_only ? LOAD_READ_ONLY : LOAD_READ, error);
}

char *
pf_map_path (PfState    *st,
             const char *name)
{
  return map_path (st, name);
}

char *
pf_map_spec (PfState    *st,
             const char *name)
{
  return map_spec (st, name);
}

const char *
pf_map_name (guint which)
{
  g_return_val_if_fail (which < G_N_ELEMENTS (map_names), NULL);
  return map_names[which];
}

GPtrArray *
pf_sorted_keys (GHashTable *table)
{
  return sorted_keys (table);
}

static gboolean smarthost_postfix_backend_validate_relay (SmarthostBackend *backend,
                                                          SmarthostRelay   *relay,
                                                          GError          **error);

gboolean
pf_validate_relay (SmarthostPostfixBackend  *self,
                   SmarthostRelay           *relay,
                   GError                  **error)
{
  return smarthost_postfix_backend_validate_relay (SMARTHOST_BACKEND (self), relay, error);
}

/* --- the interface ---------------------------------------------------- */

static const char *
smarthost_postfix_backend_get_name (SmarthostBackend *backend)
{
  return "postfix";
}

static SmarthostCapabilities
smarthost_postfix_backend_get_capabilities (SmarthostBackend *backend)
{
  /* No SMARTHOST_CAPABILITY_RESTART_NEEDED: `postfix reload` is enough. */
  return SMARTHOST_CAPABILITY_SERVER_RELAY | SMARTHOST_CAPABILITY_DOMAIN_RELAY |
         SMARTHOST_CAPABILITY_DOMAIN_CREDENTIALS | SMARTHOST_CAPABILITY_STARTTLS |
         SMARTHOST_CAPABILITY_IMPLICIT_TLS | SMARTHOST_CAPABILITY_CA_FILE |
         SMARTHOST_CAPABILITY_NO_VERIFY | SMARTHOST_CAPABILITY_MX_LOOKUP |
         SMARTHOST_CAPABILITY_PREVIEW | SMARTHOST_CAPABILITY_ADOPT |
         SMARTHOST_CAPABILITY_DIAGNOSE | SMARTHOST_CAPABILITY_CRASH_SAFE;
}

/* What Postfix's formats cannot carry: a lookup table value is
 * "user:password" with trailing whitespace trimmed, and a master.cf "-o"
 * value ends at whitespace. */
static gboolean
smarthost_postfix_backend_validate_relay (SmarthostBackend  *backend,
                                          SmarthostRelay    *relay,
                                          GError           **error)
{
  const char *user = smarthost_relay_get_username (relay);
  const char *password = smarthost_relay_get_password (relay);
  const char *ca = smarthost_relay_get_ca_file (relay);

  if (_smarthost_host_is_address (smarthost_relay_get_host (relay), NULL) &&
      smarthost_relay_get_security (relay) != SMARTHOST_SECURITY_NONE &&
      smarthost_relay_get_verify_certificate (relay))
    return _smarthost_set_invalid (error, "host",
                                   "Postfix cannot verify a certificate against an IP address: give the "
                                   "relay's host name, or turn certificate verification off");
  if (user != NULL && (strpbrk (user, " \t:") != NULL))
    return _smarthost_set_invalid (error, "username",
                                   "must not contain spaces or ':' (Postfix stores it as user:password)");
  if (password != NULL && g_ascii_isspace (password[strlen (password) - 1]))
    return _smarthost_set_invalid (error, "password",
                                   "must not end with whitespace (Postfix's lookup tables drop it)");
  if (ca != NULL)
    {
      g_autofree char *contents = NULL;
      g_autoptr(GError) local_error = NULL;

      if (strpbrk (ca, " \t,") != NULL)
        return _smarthost_set_invalid (error, "ca-file", "must not contain spaces or commas");
      if (strchr (ca, '$') != NULL)
        return _smarthost_set_invalid (error, "ca-file",
                                       "must not contain '$': Postfix would expand it as a parameter and "
                                       "read another file than the one checked");
      if (!_smarthost_read_file_limited (ca, SMARTHOST_READ_NO_NUL, SMARTHOST_READ_CA_LIMIT, &contents, NULL, NULL,
                                         &local_error))
        {
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                       "ca-file: %s", local_error->message);
          return FALSE;
        }
      if (strstr (contents, "-----BEGIN CERTIFICATE-----") == NULL)
        {
          g_autofree char *shown = _smarthost_quote_path (ca);
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                       "ca-file: %s holds no PEM certificate", shown);
          return FALSE;
        }
    }
  return TRUE;
}

static SmarthostRelay *
smarthost_postfix_backend_get_server (SmarthostBackend  *backend,
                                      GCancellable      *cancellable,
                                      GError           **error)
{
  SmarthostPostfixBackend *self = SMARTHOST_POSTFIX_BACKEND (backend);
  g_autoptr(PfState) st = load_state (self, error);

  if (st == NULL)
    return NULL;
  return pf_read_server (st, cancellable, error);
}

static SmarthostRelay *
smarthost_postfix_backend_get_domain (SmarthostBackend  *backend,
                                      const char        *domain,
                                      GCancellable      *cancellable,
                                      GError           **error)
{
  SmarthostPostfixBackend *self = SMARTHOST_POSTFIX_BACKEND (backend);
  g_autoptr(PfState) st = load_state (self, error);

  if (st == NULL)
    return NULL;
  return pf_read_domain (st, domain);
}

static char **
smarthost_postfix_backend_list_domains (SmarthostBackend  *backend,
                                        GCancellable      *cancellable,
                                        GError           **error)
{
  SmarthostPostfixBackend *self = SMARTHOST_POSTFIX_BACKEND (backend);
  g_autoptr(PfState) st = load_state (self, error);
  g_autoptr(GPtrArray) domains = NULL;

  if (st == NULL)
    return NULL;
  domains = pf_list_domains (st);
  g_ptr_array_add (domains, NULL);
  return (char **) g_ptr_array_steal (domains, NULL);
}

static GHashTable *
smarthost_postfix_backend_get_domains (SmarthostBackend  *backend,
                                       GCancellable      *cancellable,
                                       GError           **error)
{
  SmarthostPostfixBackend *self = SMARTHOST_POSTFIX_BACKEND (backend);
  g_autoptr(PfState) st = load_state (self, error);

  return st ? pf_read_domains (st) : NULL;
}

/* The server and the domains from one read of the files, so that a commit
 * in between cannot make them disagree. */
static SmarthostState *
smarthost_postfix_backend_get_state (SmarthostBackend  *backend,
                                     GCancellable      *cancellable,
                                     GError           **error)
{
  SmarthostPostfixBackend *self = SMARTHOST_POSTFIX_BACKEND (backend);
  g_autoptr(PfState) st = load_state (self, error);
  g_autoptr(SmarthostState) state = NULL;
  g_autoptr(SmarthostRelay) server = NULL;
  g_autoptr(GHashTable) domains = NULL;
  GError *local_error = NULL;
  GHashTableIter iter;
  gpointer key, value;

  if (st == NULL)
    return NULL;
  server = pf_read_server (st, cancellable, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return NULL;
    }
  domains = pf_read_domains (st);
  state = smarthost_state_new ();
  smarthost_state_set_backend_name (state, "postfix");
  smarthost_state_set_server (state, server);
  g_hash_table_iter_init (&iter, domains);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!smarthost_state_set_domain (state, key, value, error))
      return NULL;
  return g_steal_pointer (&state);
}

/* Commits lock the configuration directory and keep their journal in
 * it: no other user may be able to plant or swap a file there. */
static char *
smarthost_postfix_backend_get_state_directory (SmarthostBackend  *backend,
                                               GError           **error)
{
  SmarthostPostfixBackend *self = SMARTHOST_POSTFIX_BACKEND (backend);

  if (!pf_check_config_directory (self->config_directory, error))
    return NULL;
  if (!g_file_test (self->config_directory, G_FILE_TEST_IS_DIR))
    {
      g_autofree char *shown = _smarthost_quote_path (self->config_directory);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                   "config-directory: %s is not a directory", shown);
      return NULL;
    }
  if (!_smarthost_check_trusted_directory (self->config_directory, "the configuration directory", error))
    return g_prefix_error (error, "nothing was changed: "), NULL;
  return g_strdup (self->config_directory);
}

/* Called by the core under the lock, after recovery (or for a dry run,
 * without either: then nothing is changed, not even a journal finished). */
static gboolean
smarthost_postfix_backend_build_change (SmarthostBackend  *backend,
                                        SmarthostChange   *change,
                                        GCancellable      *cancellable,
                                        GError           **error)
{
  SmarthostPostfixBackend *self = SMARTHOST_POSTFIX_BACKEND (backend);
  g_autoptr(PfState) st = NULL;

  st = load_state_full (self, smarthost_change_get_dry_run (change) ? LOAD_READ_ONLY : LOAD_LOCKED, error);
  return st != NULL && build_plan (self, change, st, cancellable, error);
}

/* The settings front ends construct the backend with, one per property
 * (see the properties' documentation below). */
static GPtrArray *
smarthost_postfix_backend_list_settings (SmarthostBackend *backend)
{
  GPtrArray *settings = g_ptr_array_new_with_free_func (g_object_unref);

  g_ptr_array_add (settings,
                   smarthost_backend_setting_new ("config-directory", SMARTHOST_SETTING_TYPE_PATH,
                                                  "The Postfix configuration directory, holding main.cf "
                                                  "and master.cf (default /etc/postfix)", FALSE));
  g_ptr_array_add (settings,
                   smarthost_backend_setting_new ("lock-timeout", SMARTHOST_SETTING_TYPE_UINT,
                                                  "Seconds to wait for another commit to end, "
                                                  "0 not to wait (default 300, at most 86400)", FALSE));
  return settings;
}

static void
smarthost_postfix_backend_iface_init (SmarthostBackendInterface *iface)
{
  iface->get_name = smarthost_postfix_backend_get_name;
  iface->get_capabilities = smarthost_postfix_backend_get_capabilities;
  iface->validate_relay = smarthost_postfix_backend_validate_relay;
  iface->get_server = smarthost_postfix_backend_get_server;
  iface->get_domain = smarthost_postfix_backend_get_domain;
  iface->list_domains = smarthost_postfix_backend_list_domains;
  iface->get_state_directory = smarthost_postfix_backend_get_state_directory;
  iface->build_change = smarthost_postfix_backend_build_change;
  iface->diagnose = pf_diagnose;
  iface->get_domains = smarthost_postfix_backend_get_domains;
  iface->get_state = smarthost_postfix_backend_get_state;
  iface->list_settings = smarthost_postfix_backend_list_settings;
}

/* --- GObject ------------------------------------------------------------ */

static void
smarthost_postfix_backend_finalize (GObject *object)
{
  SmarthostPostfixBackend *self = SMARTHOST_POSTFIX_BACKEND (object);

  g_free (self->config_directory);
  G_OBJECT_CLASS (smarthost_postfix_backend_parent_class)->finalize (object);
}

static void
smarthost_postfix_backend_get_property (GObject    *object,
                                        guint       prop_id,
                                        GValue     *value,
                                        GParamSpec *pspec)
{
  SmarthostPostfixBackend *self = SMARTHOST_POSTFIX_BACKEND (object);

  switch (prop_id)
    {
    case PROP_CONFIG_DIRECTORY:
      g_value_set_string (value, self->config_directory);
      break;
    case PROP_LOCK_TIMEOUT:
      g_value_set_uint (value, self->lock_timeout);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_postfix_backend_set_property (GObject      *object,
                                        guint         prop_id,
                                        const GValue *value,
                                        GParamSpec   *pspec)
{
  SmarthostPostfixBackend *self = SMARTHOST_POSTFIX_BACKEND (object);

  switch (prop_id)
    {
    case PROP_CONFIG_DIRECTORY:
      {
        const char *dir = g_value_get_string (value);
        g_free (self->config_directory);
        self->config_directory = g_strdup (dir ? dir : "/etc/postfix");
      }
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
smarthost_postfix_backend_class_init (SmarthostPostfixBackendClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  /* Recovery rebuilds its tables' operations from their journal records. */
  g_type_ensure (SMARTHOST_TYPE_POSTFIX_MAP_OPERATION);

  object_class->finalize = smarthost_postfix_backend_finalize;
  object_class->get_property = smarthost_postfix_backend_get_property;
  object_class->set_property = smarthost_postfix_backend_set_property;

  /**
   * SmarthostPostfixBackend:config-directory: (attributes org.gtk.Property.get=smarthost_postfix_backend_get_config_directory)
   *
   * The Postfix configuration directory, the one holding main.cf and
   * master.cf (what `postconf -c` takes). Defaults to `/etc/postfix`.
   */
  properties[PROP_CONFIG_DIRECTORY] =
    g_param_spec_string ("config-directory", NULL, NULL, "/etc/postfix",
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostPostfixBackend:lock-timeout:
   *
   * How long, in seconds, a commit or a read waits for another commit to
   * end (they take a lock in the configuration directory, on a file only
   * the running user can open) before it fails with
   * %SMARTHOST_ERROR_CONFLICT, naming the process that holds the lock.
   * 0 does not wait. Defaults to 300.
   */
  properties[PROP_LOCK_TIMEOUT] =
    g_param_spec_uint ("lock-timeout", NULL, NULL, 0, 24 * 3600, SMARTHOST_LOCK_DEFAULT_TIMEOUT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
smarthost_postfix_backend_init (SmarthostPostfixBackend *self)
{
  self->config_directory = g_strdup ("/etc/postfix");
  self->lock_timeout = SMARTHOST_LOCK_DEFAULT_TIMEOUT;
}

/**
 * smarthost_postfix_backend_new:
 * @config_directory: (nullable) (type filename): a Postfix configuration
 *   directory, or %NULL for `/etc/postfix`
 *
 * Creates a Postfix backend. Nothing is read until it is used.
 *
 * Returns: (transfer full): a new backend
 */
SmarthostBackend *
smarthost_postfix_backend_new (const char *config_directory)
{
  return g_object_new (SMARTHOST_TYPE_POSTFIX_BACKEND, "config-directory", config_directory, NULL);
}

/**
 * smarthost_postfix_backend_get_config_directory: (get-property config-directory)
 * @self: a Postfix backend
 *
 * Gets the Postfix configuration directory the backend reads and changes.
 *
 * Returns: (type filename): the Postfix configuration directory
 */
const char *
smarthost_postfix_backend_get_config_directory (SmarthostPostfixBackend *self)
{
  g_return_val_if_fail (SMARTHOST_IS_POSTFIX_BACKEND (self), NULL);
  return self->config_directory;
}
