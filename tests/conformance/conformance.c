/* conformance.c: the same tests against every backend
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Compiled against the installed headers and library only (run.sh builds
 * it from a temporary installation, with nothing from the source tree on
 * the include path), with the test backend of smarthost-keyfile-backend.c,
 * so it also proves that a backend can be written outside the library.
 *
 * Every backend is exercised on a scratch directory of its own: Postfix on
 * a throwaway configuration directory (Debian's master.cf, a small main.cf
 * with queue_directory in the scratch directory, the real postconf and
 * postmap), the key-file backend on a key file and a state directory,
 * SmarterMail's on the fake SmarterMail server (run.sh starts it; each
 * test resets it and seeds its domains through its control interface)
 * and a state directory. SmarterMail never sends a password back: its
 * states compare with password_set standing for a password, and the
 * server's whole state (stored passwords and members the library does not
 * know included) is compared too; where an undo cannot put a password
 * back (a password changed, a gateway with one deleted), the backend says
 * so (PARTIAL, or the recovering read's error, once) and everything but
 * the password is put back.
 *
 * MailEnable's backend keeps the server-wide smart host in the values of
 * its SMTP connector's registry key. On POSIX it runs in export mode: a
 * .reg export of the key as Windows writes it (export.reg: UTF-16LE with a
 * BOM, CRLF), holding values of MailEnable's own, and the .reg patch and
 * undo patch it writes in out/, which is also its state directory (the
 * journal goes beside the patch); the export must stay byte for byte as it
 * was and no patch may name MailEnable's own values. On Windows (the cross
 * build, under Wine) it runs on the live registry: each test creates the key
 * afresh in the 32-bit view with the same values of MailEnable's own, and
 * the key's values, dumped as sorted text, are compared as the files are;
 * its commits run with reload off (restarting the service through the
 * Service Control Manager is tests/windows/test-mailenable-service.sh's).
 *
 * Not every backend can carry every relay: the table says which of
 * DOMAIN_RELAY, STARTTLS and IMPLICIT_TLS each declares (Postfix, the
 * key-file backend and SmarterMail all three; MailEnable none), and the
 * tests give each relays it can carry (without TLS, the same relays
 * otherwise) and states without domains to a backend without domain relays.
 *
 * For each backend, /conformance/BACKEND/...:
 *
 *   settings         its settings name properties; it declares PREVIEW and
 *                    CRASH_SAFE (the tests below rely on both), and of the
 *                    optional capabilities exactly those of the table
 *   set-server       set, read back and unset the server-wide relay
 *   domains          set, read back and unset domains' relays; without
 *                    DOMAIN_RELAY: a domain's relay is refused
 *                    (NOT_SUPPORTED, saying it routes by recipient) through
 *                    a transaction, the shortcut and set_state, and nothing
 *                    changes
 *   replace-domains  replace-domains and set_state drop the other domains
 *                    (without DOMAIN_RELAY: they set the server relay)
 *   repeat           a change repeated changes nothing: changed is FALSE, no
 *                    operation that changes anything is built, and no file
 *                    (nor registry value) is touched (same inode, mtime and
 *                    bytes)
 *   preview          the preview shows the change, masks every password (old
 *                    and new) and changes nothing
 *   fail-apply       SMARTHOST_FAIL_APPLY=1, 2, ... (each operation's apply
 *                    fails in turn, until the commit gets through): FAILED,
 *                    and exactly the old state, byte for byte
 *   kill             SMARTHOST_FAULT_POINT=POINT:N for every fault point the
 *                    backend reaches and every N: the commit dies by SIGKILL,
 *                    and the next read (which recovers) finds exactly the old
 *                    state before the commit point, exactly the new one at
 *                    "commit" and "cleanup", and no journal or leftover
 *                    (for MailEnable, its patches or registry values too
 *                    exactly as before, or as an uninterrupted commit
 *                    leaves them)
 *
 * for MailEnable only:
 *
 *   tls-refused      a STARTTLS and an implicit-TLS relay are refused
 *                    (NOT_SUPPORTED) and nothing changes
 *
 * and for the key-file backend only:
 *
 *   partial          an undo that fails is PARTIAL, the journal stays, and
 *                    the next read finishes the undo
 *   records          its operation kind rebuilds itself from its journal
 *                    record and refuses damaged ones and ones naming another
 *                    file
 *
 * Fault points and SMARTHOST_FAIL_APPLY are read once per process, and a
 * kill ends it: each such commit runs in a child process (this program,
 * run again with --child), from a change to a state committed beforehand.
 * They need a library built with -Dfault_injection=true; run.sh says
 * whether it was (CONFORMANCE_FAULT_INJECTION).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <smarthost.h>

#include "conformance-compat.h"

#include "smarthost-keyfile-backend.h"

#define PW_SERVER_A "Srv-A-Pa55-conformance"
#define PW_SERVER_B "Srv-B-Pa55-conformance"
#define PW_SHOP     "Shop-Pa55-conformance"
#define PW_SHOP_2   "Shop-2-Pa55-conformance"
#define PW_BLOG     "Blog-Pa55-conformance"
#define PW_NEWS     "News-Pa55-conformance"

static const char *self_exe;

/* --- the backends under test ------------------------------------------------ */

typedef struct {
  const char *name;
  gboolean (*available) (char **why);
  void (*prepare) (const char *tmp);
  void (*add_settings) (GHashTable *settings, const char *tmp);
  const char *watched;   /* what the backend writes, under the scratch directory */
  const char *state_subdir;   /* its state directory, under the scratch directory */
  const char * const *fault_points;   /* those reached before "commit" */
  /* A backend of a remote server (SmarterMail's, against the fake server):
   * passwords are never read back (password_set instead), and the server's
   * own state is compared too. */
  gboolean remote;
  /* Which of DOMAIN_RELAY, STARTTLS and IMPLICIT_TLS it declares: the
   * tests give it relays it can carry, and without DOMAIN_RELAY prove
   * that a domain's relay is refused instead. */
  SmarthostCapabilities optional;
  /* What it keeps outside the scratch directory's files (a registry key),
   * or its own files as it sees them, as text compared before and after
   * (NULL: nothing but the files). */
  char *(*dump) (const char *tmp);
  /* Checks, when each scratch directory goes, what the backend must
   * never touch (NULL: nothing). */
  void (*check_untouched) (const char *tmp);
  /* Its commits leave the mail server alone (reload off): a live
   * MailEnable would restart a service the suite has not installed. */
  gboolean no_reload;
} Target;

#define ALL_OPTIONAL \
  (SMARTHOST_CAPABILITY_DOMAIN_RELAY | SMARTHOST_CAPABILITY_STARTTLS | SMARTHOST_CAPABILITY_IMPLICIT_TLS)

#define POSTFIX_SBIN "/usr/sbin"
#define MASTER_CF_DIST "/usr/share/postfix/master.cf.dist"

static const char postfix_main_cf[] =
  "# main.cf of a throwaway configuration directory (tests/conformance)\n"
  "compatibility_level = 3.6\n"
  "queue_directory = @TMP@/queue\n"
  "data_directory = @TMP@/data\n"
  "myhostname = mail.example.org\n"
  "mydestination = $myhostname, localhost\n"
  "mynetworks = 127.0.0.0/8\n"
  "inet_interfaces = loopback-only\n"
  "inet_protocols = ipv4\n"
  "alias_maps =\n"
  "alias_database =\n"
  "smtp_tls_CApath = /etc/ssl/certs\n";

static gboolean
postfix_available (char **why)
{
#ifdef G_OS_WIN32
  *why = g_strdup ("Postfix is POSIX only: the Windows build has no Postfix backend");
  return FALSE;
#endif
  if (g_file_test (POSTFIX_SBIN "/postconf", G_FILE_TEST_IS_EXECUTABLE) &&
      g_file_test (POSTFIX_SBIN "/postmap", G_FILE_TEST_IS_EXECUTABLE) &&
      g_file_test (MASTER_CF_DIST, G_FILE_TEST_EXISTS))
    return TRUE;
  *why = g_strdup ("needs Debian's postfix package (postconf, postmap, " MASTER_CF_DIST ")");
  return FALSE;
}

/* Postfix lets a main.cf or master.cf modified in the last two seconds
 * "cool down" first: the scratch files are dated back. */
static void
date_back (const char *path)
{
  g_assert_cmpint (conformance_set_mtime (path, time (NULL) - 10), ==, 0);
}

static void
write_file (const char *path,
            const char *contents,
            gssize      len,
            guint       mode)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_file_set_contents_full (path, contents, len, G_FILE_SET_CONTENTS_CONSISTENT, (int) mode, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, (int) mode), ==, 0);
}

static void
postfix_prepare (const char *tmp)
{
  g_autofree char *conf = g_build_filename (tmp, "postfix", NULL);
  g_autofree char *main_cf = g_build_filename (conf, "main.cf", NULL);
  g_autofree char *master_cf = g_build_filename (conf, "master.cf", NULL);
  g_autofree char *queue = g_build_filename (tmp, "queue", NULL);
  g_autofree char *data = g_build_filename (tmp, "data", NULL);
  g_autoptr(GString) text = g_string_new (postfix_main_cf);
  g_autofree char *master = NULL;
  gsize len;

  g_assert_cmpint (g_mkdir (conf, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (queue, 0755), ==, 0);
  g_assert_cmpint (g_mkdir (data, 0755), ==, 0);
  g_string_replace (text, "@TMP@", tmp, 0);
  write_file (main_cf, text->str, (gssize) text->len, 0644);
  g_assert_true (g_file_get_contents (MASTER_CF_DIST, &master, &len, NULL));
  write_file (master_cf, master, (gssize) len, 0644);
  date_back (main_cf);
  date_back (master_cf);
}

static void
postfix_add_settings (GHashTable *settings,
                      const char *tmp)
{
  g_hash_table_insert (settings, g_strdup ("config-directory"), g_build_filename (tmp, "postfix", NULL));
}

static gboolean
keyfile_available (char **why)
{
  return TRUE;
}

static void
keyfile_prepare (const char *tmp)
{
  /* Nothing: the key file and the state directory are made by the first
   * commit. */
}

static void
keyfile_add_settings (GHashTable *settings,
                      const char *tmp)
{
  g_hash_table_insert (settings, g_strdup ("path"), g_build_filename (tmp, "smarthosts.ini", NULL));
  g_hash_table_insert (settings, g_strdup ("state-directory"), g_build_filename (tmp, "state", NULL));
}

/* SmarterMail: the fake server (tests/smartermail/fake_smartermail.py),
 * which run.sh starts once and describes in the environment; each test
 * resets it through its control interface and seeds the domains. */

#define SM_ENV_URL "CONFORMANCE_SMARTERMAIL_URL"
#define SM_ENV_CA "CONFORMANCE_SMARTERMAIL_CA_FILE"
#define SM_ENV_PASSWORD_FILE "CONFORMANCE_SMARTERMAIL_PASSWORD_FILE"
#define SM_ENV_TOKEN "CONFORMANCE_SMARTERMAIL_CONTROL_TOKEN"

/* The domains the server has (the backend assigns gateways to domains; it
 * never creates one), with settings of their own the library does not
 * know, which must stay as they are. */
static const char smartermail_seed[] =
  "{\"replace\": true, \"state\": {\"gateways\": [], \"domains\": ["
  "{\"name\": \"shop.example\", \"aliasCount\": 2, \"domainSettings\": {\"unknownToLibsmarthost\": {\"keep\": [1, 2]}}},"
  "{\"name\": \"blog.example\", \"aliasCount\": 0, \"domainSettings\": {\"futureSetting\": \"x\"}},"
  "{\"name\": \"news.example\"},"
  "{\"name\": \"other.example\", \"domainSettings\": {\"outboundGatewayId\": \"\"}}"
  "]}}";

static gboolean
smartermail_available (char **why)
{
  if (g_getenv (SM_ENV_URL) != NULL && g_getenv (SM_ENV_CA) != NULL && g_getenv (SM_ENV_PASSWORD_FILE) != NULL &&
      g_getenv (SM_ENV_TOKEN) != NULL)
    return TRUE;
  *why = g_strdup ("needs the fake SmarterMail server that run.sh starts (" SM_ENV_URL " and the others)");
  return FALSE;
}

/* POST /__fake__/control/@action with @body, over TLS trusting the test
 * CA alone (GIO: the conformance program has nothing but what the
 * installed library's pkg-config gives). Returns the reply's body. */
static char *
fake_control (const char *action,
              const char *body)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GUri) uri = g_uri_parse (g_getenv (SM_ENV_URL), G_URI_FLAGS_NONE, &error);
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GSocketConnectable) identity = NULL;
  g_autoptr(GTlsDatabase) database = NULL;
  g_autoptr(GIOStream) tls = NULL;
  g_autoptr(GString) reply = g_string_new (NULL);
  g_autofree char *request = NULL;
  const char *end;
  const char *length_header;
  gsize head, length = G_MAXSIZE;
  guint status = 0;

  g_assert_no_error (error);
  g_socket_client_set_timeout (client, 30);
  connection = g_socket_client_connect_to_host (client, g_uri_get_host (uri), (guint16) g_uri_get_port (uri),
                                                NULL, &error);
  g_assert_no_error (error);
  database = g_tls_file_database_new (g_getenv (SM_ENV_CA), &error);
  g_assert_no_error (error);
  identity = g_network_address_new (g_uri_get_host (uri), (guint16) g_uri_get_port (uri));
  tls = g_tls_client_connection_new (G_IO_STREAM (connection), identity, &error);
  g_assert_no_error (error);
  g_tls_connection_set_database (G_TLS_CONNECTION (tls), database);
  request = g_strdup_printf ("POST /__fake__/control/%s HTTP/1.1\r\nHost: %s:%d\r\nX-Fake-Control: %s\r\n"
                             "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                             action, g_uri_get_host (uri), g_uri_get_port (uri), g_getenv (SM_ENV_TOKEN),
                             strlen (body), body);
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (tls), request, strlen (request), NULL,
                                            NULL, &error));
  g_assert_no_error (error);
  /* Up to the end of the body its Content-Length gives (the server may
   * close without TLS's close_notify: the length is what counts). */
  for (;;)
    {
      char buffer[16384];
      gssize n;

      end = strstr (reply->str, "\r\n\r\n");
      if (end != NULL && length == G_MAXSIZE)
        {
          length_header = strstr (reply->str, "Content-Length: ");
          g_assert_true (length_header != NULL && length_header < end);
          length = strtoul (length_header + strlen ("Content-Length: "), NULL, 10);
        }
      head = end ? (gsize) (end - reply->str) + 4 : 0;
      if (end != NULL && reply->len >= head + length)
        break;
      n = g_input_stream_read (g_io_stream_get_input_stream (tls), buffer, sizeof buffer, NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_string_append_len (reply, buffer, n);
    }
  g_io_stream_close (tls, NULL, NULL);
  g_assert_true (sscanf (reply->str, "HTTP/1.%*d %u", &status) == 1);
  if (status != 200)
    g_error ("the fake SmarterMail server's control %s answered %u: %s", action, status, reply->str);
  return g_strndup (reply->str + head, length);
}

/* The fake server's whole state (gateways with their stored passwords and
 * every member, known or not; domains with all their settings), with "no
 * gateway" written one way ("" and null are the same to SmarterMail). */
static char *
fake_state (void)
{
  g_autofree char *text = fake_control ("state", "{}");
  g_autoptr(GRegex) none = g_regex_new ("\"outboundGatewayId\": null", 0, 0, NULL);

  return g_regex_replace_literal (none, text, -1, 0, "\"outboundGatewayId\": \"\"", 0, NULL);
}

/* The same with what differs from one commit to an equal one left out:
 * gateway ids (and the domains' references to them: the state read back
 * proves those), creation dates, and the token in our descriptions. */
static char *
fake_state_shape (void)
{
  g_autofree char *text = fake_state ();
  g_autoptr(GRegex) varying = g_regex_new ("\"(id|outboundGatewayId|createdDate)\": \"[^\"]*\"", 0, 0, NULL);
  g_autoptr(GRegex) token = g_regex_new ("\"description\": \"libsmarthost[^\"]*\"", 0, 0, NULL);
  g_autofree char *a = g_regex_replace (varying, text, -1, 0, "\"\\1\": \"*\"", 0, NULL);

  return g_regex_replace_literal (token, a, -1, 0, "\"description\": \"libsmarthost *\"", 0, NULL);
}

/* The server's state as an undo that the backend documents as partial
 * still puts it back: SmarterMail never sends a password back, so a
 * password changed, or a gateway with one deleted, cannot be put back
 * (a deleted gateway is recreated without it, under a new id, last). So:
 * the shape (see above), without the stored passwords, the gateways in
 * a sorted order. (Every gateway here is the backend's, whose first
 * member is the address.) */
static int
compare_strings (const void *a,
                 const void *b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

static char *
fake_state_without_passwords (void)
{
  g_autofree char *text = fake_state_shape ();
  /* The passwords, and the ids (a recreated gateway's comes last). */
  g_autoptr(GRegex) password = g_regex_new ("(, )?\"(authPassword|id)\": \"[^\"]*\"", 0, 0, NULL);
  g_autofree char *bare = g_regex_replace_literal (password, text, -1, 0, "", 0, NULL);
  const char *start = strstr (bare, "\"gateways\": [");
  const char *end = start ? strstr (start, "], \"domains\"") : NULL;
  g_autofree char *list = NULL;
  g_autofree char *sorted = NULL;
  g_auto(GStrv) gateways = NULL;

  g_assert_nonnull (end);
  start += strlen ("\"gateways\": [");
  if (end == start)
    return g_steal_pointer (&bare);
  /* "}, " before the first, its last "}" off: each gateway is then
   * "}, {"address"" and its members. */
  list = g_strdup_printf ("}, %.*s", (int) (end - start - 1), start);
  gateways = g_strsplit (list, "}, {\"address\"", -1);
  qsort (gateways, g_strv_length (gateways), sizeof (char *), compare_strings);
  sorted = g_strjoinv (" | ", gateways);
  return g_strdup_printf ("%.*s%s%s", (int) (start - bare), bare, sorted, end);
}

/* How many requests that change something the server received since the
 * log was last cleared (logins and reads are not such). */
static guint
fake_count_writes (gboolean clear)
{
  static const char * const writes[] = {
    "\"endpoint\": \"gateway-create\"", "\"endpoint\": \"gateway-update\"",
    "\"endpoint\": \"gateway-delete\"", "\"endpoint\": \"domain-update\"", NULL
  };
  g_autofree char *log = fake_control ("log", clear ? "{\"clear\": true}" : "{}");
  guint n = 0;

  for (guint i = 0; writes[i]; i++)
    for (const char *p = strstr (log, writes[i]); p != NULL; p = strstr (p + 1, writes[i]))
      n++;
  return n;
}

static void
smartermail_prepare (const char *tmp)
{
  g_free (fake_control ("reset", "{}"));
  g_free (fake_control ("seed", smartermail_seed));
}

static void
smartermail_add_settings (GHashTable *settings,
                          const char *tmp)
{
  g_autoptr(GError) error = NULL;
  char *password = NULL;

  g_assert_true (g_file_get_contents (g_getenv (SM_ENV_PASSWORD_FILE), &password, NULL, &error));
  g_assert_no_error (error);
  g_strchomp (password);
  g_hash_table_insert (settings, g_strdup ("url"), g_strdup (g_getenv (SM_ENV_URL)));
  g_hash_table_insert (settings, g_strdup ("admin"), g_strdup ("admin"));
  g_hash_table_insert (settings, g_strdup ("admin-password"), password);
  g_hash_table_insert (settings, g_strdup ("ca-file"), g_strdup (g_getenv (SM_ENV_CA)));
  g_hash_table_insert (settings, g_strdup ("state-directory"), g_build_filename (tmp, "state", NULL));
  g_hash_table_insert (settings, g_strdup ("timeout"), g_strdup ("20"));
}

/* MailEnable: its SMTP connector's key, with values of its own that the
 * backend must leave alone (those it writes, all named "SmartHost ..."
 * or "Outbound TLS", are not among them): in an export (POSIX) or the
 * live registry (Windows). */
static gboolean
mailenable_available (char **why)
{
  return TRUE;
}

static void
mailenable_add_settings (GHashTable *settings,
                         const char *tmp)
{
#ifndef G_OS_WIN32
  g_hash_table_insert (settings, g_strdup ("reg-file"), g_build_filename (tmp, "export.reg", NULL));
  /* Its state directory is the output's (see test_settings()). */
  g_hash_table_insert (settings, g_strdup ("output"), g_build_filename (tmp, "out", "smarthost.reg", NULL));
#else
  g_hash_table_insert (settings, g_strdup ("state-directory"), g_build_filename (tmp, "state", NULL));
#endif
}

#ifdef G_OS_WIN32
/* Windows: the live registry (Wine's, under the suite), the key in the
 * 32-bit view where MailEnable keeps it. */
#define ME_SUBKEY_W L"SOFTWARE\\Mail Enable\\Mail Enable\\Connectors\\SMTP"

static const char * const mailenable_fault_points[] = { "journal", "apply", "step", NULL };

/* One value as a line: its name, type and bytes. */
static char *
me_value_line (const wchar_t *name,
               DWORD          type,
               const BYTE    *data,
               DWORD          len)
{
  g_autofree char *utf8 = g_utf16_to_utf8 ((const gunichar2 *) name, -1, NULL, NULL, NULL);
  GString *line = g_string_new (NULL);

  g_string_append_printf (line, "\"%s\" type %lu:", utf8, (unsigned long) type);
  for (DWORD i = 0; i < len; i++)
    g_string_append_printf (line, " %02x", data[i]);
  return g_string_free (line, FALSE);
}

/* Every value of the key, a line each, sorted; or "(no key)". */
static char *
mailenable_dump (const char *tmp)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);
  DWORD names_max = 0, data_max = 0, count = 0;
  HKEY key;

  if (RegOpenKeyExW (HKEY_LOCAL_MACHINE, ME_SUBKEY_W, 0, KEY_READ | KEY_WOW64_32KEY, &key) != ERROR_SUCCESS)
    return g_strdup ("(no key)");
  g_assert_cmpint (RegQueryInfoKeyW (key, NULL, NULL, NULL, NULL, NULL, NULL, &count, &names_max, &data_max, NULL,
                                     NULL), ==, ERROR_SUCCESS);
  for (DWORD i = 0; i < count; i++)
    {
      g_autofree wchar_t *name = g_new0 (wchar_t, names_max + 1);
      g_autofree BYTE *data = g_malloc0 (data_max + 1);
      DWORD name_len = names_max + 1, data_len = data_max, type = 0;

      g_assert_cmpint (RegEnumValueW (key, i, name, &name_len, NULL, &type, data, &data_len), ==, ERROR_SUCCESS);
      g_ptr_array_add (lines, me_value_line (name, type, data, data_len));
    }
  RegCloseKey (key);
  g_ptr_array_sort (lines, compare_strings);
  g_ptr_array_add (lines, NULL);
  return g_strjoinv ("\n", (char **) lines->pdata);
}

typedef struct {
  const wchar_t *name;
  DWORD type;
  const BYTE *data;
  DWORD len;
} MeOwn;

static const BYTE me_dword[] = { 0x0a, 0, 0, 0 };
static const BYTE me_flags[] = { 0x01, 0x00, 0xff, 0x7f };
static const MeOwn me_own[] = {
  { L"Host Name", REG_SZ, (const BYTE *) L"mail.example.com", sizeof L"mail.example.com" },
  { L"Outbound Interface", REG_SZ, (const BYTE *) L"192.0.2.5", sizeof L"192.0.2.5" },
  { L"Max Connections", REG_DWORD, me_dword, sizeof me_dword },
  { L"Greeting Flags", REG_BINARY, me_flags, sizeof me_flags },
};

/* The key afresh (an earlier test's deleted first), with MailEnable's
 * own values. */
static void
mailenable_prepare (const char *tmp)
{
  HKEY key;

  if (RegOpenKeyExW (HKEY_LOCAL_MACHINE, ME_SUBKEY_W, 0, KEY_ALL_ACCESS | KEY_WOW64_32KEY, &key) == ERROR_SUCCESS)
    {
      g_assert_cmpint (RegDeleteTreeW (key, NULL), ==, ERROR_SUCCESS);
      RegCloseKey (key);
      g_assert_cmpint (RegDeleteKeyExW (HKEY_LOCAL_MACHINE, ME_SUBKEY_W, KEY_WOW64_32KEY, 0), ==, ERROR_SUCCESS);
    }
  g_assert_cmpint (RegCreateKeyExW (HKEY_LOCAL_MACHINE, ME_SUBKEY_W, 0, NULL, 0, KEY_ALL_ACCESS | KEY_WOW64_32KEY,
                                    NULL, &key, NULL), ==, ERROR_SUCCESS);
  for (guint i = 0; i < G_N_ELEMENTS (me_own); i++)
    g_assert_cmpint (RegSetValueExW (key, me_own[i].name, 0, me_own[i].type, me_own[i].data, me_own[i].len), ==,
                     ERROR_SUCCESS);
  RegCloseKey (key);
}

/* MailEnable's own values are all there, as they were; and no file of
 * an old value (the old password, kept until the commit ends) is left. */
static void
mailenable_check_untouched (const char *tmp)
{
  g_autofree char *dump = mailenable_dump (tmp);
  g_auto(GStrv) lines = g_strsplit (dump, "\n", -1);
  g_autofree char *state = g_build_filename (tmp, "state", NULL);
  g_autoptr(GDir) dir = g_dir_open (state, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_prefix (name, "mailenable-old-"))
      g_error ("%s was left behind in %s", name, state);

  for (guint i = 0; i < G_N_ELEMENTS (me_own); i++)
    {
      g_autofree char *line = me_value_line (me_own[i].name, me_own[i].type, me_own[i].data, me_own[i].len);
      if (!g_strv_contains ((const char * const *) lines, line))
        g_error ("MailEnable's own value %s is no longer in the key:\n%s", line, dump);
    }
}
#else
/* Elsewhere: an export, as Windows writes one (UTF-16LE with a BOM, CRLF),
 * and the patch in out/. */
static const char * const mailenable_fault_points[] = { "journal", "write", "backup", "rename", "apply", NULL };

static const char * const mailenable_own_names[] = {
  "Host Name", "Outbound Interface", "Max Connections", "Greeting Flags", NULL
};

static const char mailenable_export_text[] =
  "Windows Registry Editor Version 5.00\r\n"
  "\r\n"
  "[HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\Mail Enable\\Mail Enable\\Connectors\\SMTP]\r\n"
  "\"Host Name\"=\"mail.example.com\"\r\n"
  "\"Outbound Interface\"=\"192.0.2.5\"\r\n"
  "\"Max Connections\"=dword:0000000a\r\n"
  "\"Greeting Flags\"=hex:01,00,ff,7f\r\n"
  "\r\n";


static GBytes *
mailenable_export_bytes (void)
{
  g_autofree gunichar2 *units = g_utf8_to_utf16 (mailenable_export_text, -1, NULL, NULL, NULL);
  GByteArray *bytes = g_byte_array_new ();
  static const guint8 bom[] = { 0xff, 0xfe };

  g_byte_array_append (bytes, bom, 2);
  for (guint i = 0; units[i]; i++)
    {
      guint8 pair[] = { units[i] & 0xff, units[i] >> 8 };
      g_byte_array_append (bytes, pair, 2);
    }
  return g_byte_array_free_to_bytes (bytes);
}

static void
mailenable_prepare (const char *tmp)
{
  g_autofree char *export = g_build_filename (tmp, "export.reg", NULL);
  g_autofree char *out = g_build_filename (tmp, "out", NULL);
  g_autoptr(GBytes) bytes = mailenable_export_bytes ();

  write_file (export, g_bytes_get_data (bytes, NULL), (gssize) g_bytes_get_size (bytes), 0644);
  g_assert_cmpint (g_mkdir (out, 0755), ==, 0);
}

/* A .reg file the backend wrote, as UTF-8; NULL when there is none. */
static char *
read_utf16_file (const char *path)
{
  g_autofree char *data = NULL;
  gsize len = 0;

  if (!g_file_get_contents (path, &data, &len, NULL))
    return NULL;
  g_assert_cmpuint (len, >=, 2);
  g_assert_cmpuint (len % 2, ==, 0);
  g_assert_true ((guint8) data[0] == 0xff && (guint8) data[1] == 0xfe);
  return g_utf16_to_utf8 ((const gunichar2 *) (data + 2), (glong) (len - 2) / 2, NULL, NULL, NULL);
}

/* The export, the patch and the undo patch, as the backend sees them. */
static char *
mailenable_dump (const char *tmp)
{
  static const char * const names[] = { "export.reg", "out/smarthost.reg", "out/smarthost.undo.reg", NULL };
  GString *dump = g_string_new (NULL);

  for (guint i = 0; names[i]; i++)
    {
      g_autofree char *path = g_build_filename (tmp, names[i], NULL);
      g_autofree char *text = read_utf16_file (path);

      g_string_append_printf (dump, "--- %s\n%s\n", names[i], text ? text : "(absent)");
    }
  return g_string_free (dump, FALSE);
}

/* The export is byte for byte as written, and no patch mentions
 * MailEnable's own values. */
static void
mailenable_check_untouched (const char *tmp)
{
  static const char * const patches[] = { "smarthost.reg", "smarthost.undo.reg", NULL };
  g_autofree char *export = g_build_filename (tmp, "export.reg", NULL);
  g_autoptr(GBytes) expected = mailenable_export_bytes ();
  g_autoptr(GMappedFile) file = g_mapped_file_new (export, FALSE, NULL);
  g_autoptr(GBytes) now = NULL;

  g_assert_nonnull (file);
  now = g_mapped_file_get_bytes (file);
  if (!g_bytes_equal (now, expected))
    g_error ("the export %s was changed", export);
  for (guint i = 0; patches[i]; i++)
    {
      g_autofree char *path = g_build_filename (tmp, "out", patches[i], NULL);
      g_autofree char *text = read_utf16_file (path);

      for (guint k = 0; text != NULL && mailenable_own_names[k]; k++)
        if (strstr (text, mailenable_own_names[k]) != NULL)
          g_error ("%s mentions MailEnable's own value %s:\n%s", path, mailenable_own_names[k], text);
    }
}
#endif

static const char * const smartermail_fault_points[] = { "journal", "write", "backup", "rename", "apply", NULL };

static const char * const postfix_fault_points[] = {
  "journal", "write", "build", "backup", "rename", "apply", "step", NULL
};
static const char * const keyfile_fault_points[] = { "journal", "apply", NULL };

static const Target targets[] = {
  { "postfix", postfix_available, postfix_prepare, postfix_add_settings, "postfix", "postfix",
    postfix_fault_points, FALSE, ALL_OPTIONAL, NULL, NULL, FALSE },
  { "keyfile", keyfile_available, keyfile_prepare, keyfile_add_settings, "", "state",
    keyfile_fault_points, FALSE, ALL_OPTIONAL, NULL, NULL, FALSE },
  { "smartermail", smartermail_available, smartermail_prepare, smartermail_add_settings, "state", "state",
    smartermail_fault_points, TRUE, ALL_OPTIONAL, NULL, NULL, FALSE },
#ifdef G_OS_WIN32
  { "mailenable", mailenable_available, mailenable_prepare, mailenable_add_settings, "state", "state",
    mailenable_fault_points, FALSE, 0, mailenable_dump, mailenable_check_untouched, TRUE },
#else
  { "mailenable", mailenable_available, mailenable_prepare, mailenable_add_settings, "out", "out",
    mailenable_fault_points, FALSE, 0, mailenable_dump, mailenable_check_untouched, FALSE },
#endif
};

static const Target *
find_target (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    if (g_str_equal (targets[i].name, name))
      return &targets[i];
  return NULL;
}

static GHashTable *
target_settings (const Target *target,
                 const char   *tmp)
{
  GHashTable *settings = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  target->add_settings (settings, tmp);
  return settings;
}

static SmarthostBackend *
target_backend (const Target *target,
                const char   *tmp,
                gboolean      fail_undo)
{
  g_autoptr(GHashTable) settings = target_settings (target, tmp);
  g_autoptr(GError) error = NULL;
  SmarthostBackend *backend;

  if (fail_undo)
    g_hash_table_insert (settings, g_strdup ("fail-undo"), g_strdup ("true"));
  backend = smarthost_backend_new_for_name_with_settings (target->name, settings, &error);
  g_assert_no_error (error);
  g_assert_nonnull (backend);
  return backend;
}

/* --- relays and states ---------------------------------------------------------- */

static gboolean
has (const Target          *target,
     SmarthostCapabilities  capability)
{
  return (target->optional & capability) == capability;
}

/* A relay with @security, or without TLS for a backend that cannot
 * require it (the hosts, ports, users and passwords tell the relays
 * apart all the same). */
static SmarthostRelay *
make_relay (const Target      *target,
            const char        *host,
            guint              port,
            SmarthostSecurity  security,
            const char        *username,
            const char        *password)
{
  SmarthostRelay *relay = smarthost_relay_new (host);

  if ((security == SMARTHOST_SECURITY_STARTTLS && !has (target, SMARTHOST_CAPABILITY_STARTTLS)) ||
      (security == SMARTHOST_SECURITY_TLS && !has (target, SMARTHOST_CAPABILITY_IMPLICIT_TLS)))
    security = SMARTHOST_SECURITY_NONE;
  smarthost_relay_set_port (relay, port);
  smarthost_relay_set_security (relay, security);
  smarthost_relay_set_username (relay, username);
  smarthost_relay_set_password (relay, password);
  return relay;
}

static SmarthostRelay *server_a (const Target *t) { return make_relay (t, "smtp.relay-a.example", 587, SMARTHOST_SECURITY_STARTTLS, "server-a", PW_SERVER_A); }
static SmarthostRelay *server_b (const Target *t) { return make_relay (t, "smtp.relay-b.example", 465, SMARTHOST_SECURITY_TLS, "server-b", PW_SERVER_B); }
static SmarthostRelay *shop (const Target *t) { return make_relay (t, "smtp.relay-a.example", 587, SMARTHOST_SECURITY_STARTTLS, "shop", PW_SHOP); }
static SmarthostRelay *shop_2 (const Target *t) { return make_relay (t, "smtp.relay-a.example", 587, SMARTHOST_SECURITY_STARTTLS, "shop", PW_SHOP_2); }
static SmarthostRelay *blog (const Target *t) { return make_relay (t, "smtp.relay-b.example", 465, SMARTHOST_SECURITY_TLS, "blog", PW_BLOG); }
static SmarthostRelay *news (const Target *t) { return make_relay (t, "smtp.relay-c.example", 2525, SMARTHOST_SECURITY_STARTTLS, "news", PW_NEWS); }

static void
state_set_domain (SmarthostState *state,
                  const char     *domain,
                  SmarthostRelay *relay)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (smarthost_state_set_domain (state, domain, relay, &error));
  g_assert_no_error (error);
  g_object_unref (relay);
}

/* The state the change tests start from: a server relay and two domains
 * (no domain for a backend without domain relays). */
static SmarthostState *
old_state (const Target *target)
{
  SmarthostState *state = smarthost_state_new ();
  g_autoptr(SmarthostRelay) server = server_a (target);

  smarthost_state_set_server (state, server);
  if (!has (target, SMARTHOST_CAPABILITY_DOMAIN_RELAY))
    return state;
  state_set_domain (state, "shop.example", shop (target));
  state_set_domain (state, "blog.example", blog (target));
  return state;
}

/* What stage_old_to_new() makes of it: another server relay, a changed
 * password, a domain removed and one added. */
static SmarthostState *
new_state (const Target *target)
{
  SmarthostState *state = smarthost_state_new ();
  g_autoptr(SmarthostRelay) server = server_b (target);

  smarthost_state_set_server (state, server);
  if (!has (target, SMARTHOST_CAPABILITY_DOMAIN_RELAY))
    return state;
  state_set_domain (state, "shop.example", shop_2 (target));
  state_set_domain (state, "news.example", news (target));
  return state;
}

static gboolean
stage_old_to_new (const Target          *target,
                  SmarthostTransaction  *tx,
                  GError               **error)
{
  g_autoptr(SmarthostRelay) server = server_b (target);
  g_autoptr(SmarthostRelay) shop_relay = shop_2 (target);
  g_autoptr(SmarthostRelay) news_relay = news (target);

  if (!smarthost_transaction_set_server (tx, server, error))
    return FALSE;
  if (!has (target, SMARTHOST_CAPABILITY_DOMAIN_RELAY))
    return TRUE;
  return smarthost_transaction_set_domain (tx, "shop.example", shop_relay, error) &&
         smarthost_transaction_set_domain (tx, "blog.example", NULL, error) &&
         smarthost_transaction_set_domain (tx, "news.example", news_relay, error);
}

/* A transaction, which reloads the mail server unless the target says
 * not to. */
static SmarthostTransaction *
target_begin (const Target     *target,
              SmarthostBackend *backend)
{
  SmarthostTransaction *tx = smarthost_backend_begin (backend);

  if (target->no_reload)
    smarthost_transaction_set_reload (tx, FALSE);
  return tx;
}

/* The one-change shortcut (smarthost_backend_set_server()), or the same
 * as a transaction without the reload for a target that needs that. */
static gboolean
set_server (const Target      *target,
            SmarthostBackend  *backend,
            SmarthostRelay    *relay,
            GError           **error)
{
  g_autoptr(SmarthostTransaction) tx = NULL;

  if (!target->no_reload)
    return smarthost_backend_set_server (backend, relay, NULL, error);
  tx = target_begin (target, backend);
  return smarthost_transaction_set_server (tx, relay, error) && smarthost_transaction_commit (tx, NULL, error);
}

static SmarthostState *
read_state (SmarthostBackend *backend)
{
  g_autoptr(GError) error = NULL;
  SmarthostState *state = smarthost_backend_get_state (backend, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (state);
  return state;
}

/* A remote backend never reads a password back: the relay as it reads
 * it, a password it was given standing as password_set. */
static SmarthostRelay *
as_read (const Target   *target,
         SmarthostRelay *relay)
{
  SmarthostRelay *copy;

  if (relay == NULL || !target->remote)
    return relay ? g_object_ref (relay) : NULL;
  copy = smarthost_relay_copy (relay);
  smarthost_relay_set_password (copy, NULL);
  return copy;
}

static gboolean
relays_match (const Target   *target,
              SmarthostRelay *expected,
              SmarthostRelay *actual)
{
  g_autoptr(SmarthostRelay) e = as_read (target, expected);
  g_autoptr(SmarthostRelay) a = as_read (target, actual);

  if (e == NULL || a == NULL)
    return e == a;
  return smarthost_relay_equal (e, a) &&
         smarthost_relay_get_password_set (expected) == smarthost_relay_get_password_set (actual);
}

static gboolean
states_match (const Target   *target,
              SmarthostState *expected,
              SmarthostState *actual)
{
  g_auto(GStrv) e = NULL;
  g_auto(GStrv) a = NULL;

  if (!target->remote)
    return smarthost_state_equal (expected, actual);
  e = smarthost_state_list_domains (expected);
  a = smarthost_state_list_domains (actual);
  if (!relays_match (target, smarthost_state_get_server (expected), smarthost_state_get_server (actual)) ||
      g_strv_length (e) != g_strv_length (a))
    return FALSE;
  for (guint i = 0; e[i]; i++)
    if (!relays_match (target, smarthost_state_get_domain (expected, e[i]), smarthost_state_get_domain (actual, e[i])))
      return FALSE;
  return TRUE;
}

static void
assert_state (const Target   *target,
              SmarthostState *expected,
              SmarthostState *actual,
              const char     *when)
{
  if (!states_match (target, expected, actual))
    {
      g_autofree char *e = smarthost_state_to_json (expected);
      g_autofree char *a = smarthost_state_to_json (actual);
      g_error ("%s: expected the state\n%s\nread\n%s", when, e, a);
    }
}

static void
assert_relay (const Target   *target,
              SmarthostRelay *expected,
              SmarthostRelay *actual)
{
  g_autofree char *e = expected ? smarthost_relay_to_string (expected) : g_strdup ("(none)");
  g_autofree char *a = actual ? smarthost_relay_to_string (actual) : g_strdup ("(none)");

  if (!relays_match (target, expected, actual))
    g_error ("expected the relay %s, read %s", e, a);
  if (expected != NULL && !target->remote)
    g_assert_cmpstr (smarthost_relay_get_password (actual), ==, smarthost_relay_get_password (expected));
}

static void
commit_state (const Target     *target,
              SmarthostBackend *backend,
              SmarthostState   *state,
              gboolean          expect_changed)
{
  g_autoptr(SmarthostTransaction) tx = target_begin (target, backend);
  g_autoptr(GError) error = NULL;

  g_assert_true (smarthost_transaction_set_state (tx, state, &error));
  g_assert_no_error (error);
  smarthost_transaction_commit (tx, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (smarthost_transaction_get_changed (tx), ==, expect_changed);
}

/* --- scratch directories ---------------------------------------------------------- */

typedef struct {
  const Target *target;
  char *tmp;
  char *watched;
  char *state_dir;
  SmarthostBackend *backend;
} Scratch;

static Scratch *
scratch_new (const Target *target)
{
  Scratch *sc = g_new0 (Scratch, 1);
  g_autoptr(GError) error = NULL;
  g_autofree char *template = g_strdup_printf ("conformance-%s-XXXXXX", target->name);

  sc->target = target;
  sc->tmp = g_dir_make_tmp (template, &error);
  g_assert_no_error (error);
  sc->watched = *target->watched ? g_build_filename (sc->tmp, target->watched, NULL) : g_strdup (sc->tmp);
  sc->state_dir = g_build_filename (sc->tmp, target->state_subdir, NULL);
  target->prepare (sc->tmp);
  sc->backend = target_backend (target, sc->tmp, FALSE);
  return sc;
}

/* A scratch directory in the old state. */
static Scratch *
scratch_new_old (const Target *target)
{
  Scratch *sc = scratch_new (target);
  g_autoptr(SmarthostState) old = old_state (target);

  commit_state (target, sc->backend, old, TRUE);
  return sc;
}

static void
rm_rf (const char *path)
{
  struct stat st;

  if (lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          rm_rf (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
scratch_free (Scratch *sc)
{
  g_object_unref (sc->backend);
  if (sc->target->check_untouched != NULL)
    sc->target->check_untouched (sc->tmp);
  rm_rf (sc->tmp);
  g_free (sc->tmp);
  g_free (sc->watched);
  g_free (sc->state_dir);
  g_free (sc);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Scratch, scratch_free)

/* Every file and directory under @root. With @exact, also each one's
 * inode and modification time (nothing was even rewritten); otherwise
 * its mode and bytes (the same contents). */
static void
snapshot_into (GHashTable *snap,
               const char *root,
               const char *rel,
               gboolean    exact)
{
  g_autofree char *path = rel ? g_build_filename (root, rel, NULL) : g_strdup (root);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child_rel = rel ? g_build_filename (rel, name, NULL) : g_strdup (name);
      g_autofree char *child = g_build_filename (root, child_rel, NULL);
      g_autofree char *stamp = NULL;
      struct stat st;

      g_assert_cmpint (lstat (child, &st), ==, 0);
      stamp = exact ? g_strdup_printf (" inode %llu mtime %lld.%09ld", (unsigned long long) st.st_ino,
                                       conformance_mtime_ns (&st) / 1000000000LL,
                                       (long) (conformance_mtime_ns (&st) % 1000000000LL))
                    : g_strdup ("");
      if (S_ISDIR (st.st_mode))
        {
          g_hash_table_insert (snap, g_strdup (child_rel), g_strdup_printf ("dir %o%s", st.st_mode & 07777, stamp));
          snapshot_into (snap, root, child_rel, exact);
        }
      else
        {
          g_autofree char *contents = NULL;
          gsize len = 0;

          if (S_ISREG (st.st_mode))
            g_assert_true (g_file_get_contents (child, &contents, &len, NULL));
          g_hash_table_insert (snap, g_strdup (child_rel),
                               g_strdup_printf ("%o%s %" G_GSIZE_FORMAT " bytes, sum %s", st.st_mode & 07777, stamp, len,
                                                contents ? g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                                                        (const guchar *) contents, len)
                                                         : "-"));
        }
    }
}

static GHashTable *
snapshot (const char *root,
          gboolean    exact)
{
  GHashTable *snap = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  snapshot_into (snap, root, NULL, exact);
  return snap;
}

/* The files, for a remote backend the server's state too, and what the
 * target dumps. */
static GHashTable *
scratch_snapshot (Scratch  *sc,
                  gboolean  exact)
{
  GHashTable *snap = snapshot (sc->tmp, exact);

  if (sc->target->remote)
    g_hash_table_insert (snap, g_strdup ("(the server's state)"), fake_state ());
  if (sc->target->dump != NULL)
    g_hash_table_insert (snap, g_strdup ("(the target's dump)"), sc->target->dump (sc->tmp));
  return snap;
}

static void
assert_same_snapshot (GHashTable *before,
                      GHashTable *after,
                      const char *when)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, before);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const char *now = g_hash_table_lookup (after, key);
      if (now == NULL)
        g_error ("%s: %s was removed", when, (char *) key);
      if (!g_str_equal (now, value))
        g_error ("%s: %s changed: was \"%s\", is \"%s\"", when, (char *) key, (char *) value, now);
    }
  g_hash_table_iter_init (&iter, after);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (before, key))
      g_error ("%s: %s was left behind", when, (char *) key);
}

/* No journal and no staged or backed-up file is left. */
static void
assert_no_leftovers (Scratch    *sc,
                     const char *when)
{
  g_autoptr(GHashTable) snap = snapshot (sc->tmp, FALSE);
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, snap);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (strstr (key, ".smarthost-") != NULL)
      g_error ("%s: %s was left behind", when, (char *) key);
}

/* --- commits in a child process ---------------------------------------------------- */

typedef struct {
  gboolean killed;      /* by SIGKILL */
  gboolean ok;          /* the commit succeeded */
  gboolean changed;
  char *domain;         /* the error's, when it failed */
  int code;
  char *output;
} ChildResult;

static void
child_result_clear (ChildResult *r)
{
  g_free (r->domain);
  g_free (r->output);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ChildResult, child_result_clear)

/* Runs the change from the old state to the new one in a child process,
 * with @variable=@value in its environment. */
static void
run_child (Scratch     *sc,
           const char  *variable,
           const char  *value,
           gboolean     fail_undo,
           ChildResult *result)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) envp = g_get_environ ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  const char *argv[] = { self_exe, "--child", sc->target->name, sc->tmp, fail_undo ? "fail-undo" : NULL, NULL };
  const char *line;
  int status = 0;

  envp = g_environ_unsetenv (envp, "SMARTHOST_FAULT_POINT");
  envp = g_environ_unsetenv (envp, "SMARTHOST_FAIL_APPLY");
  if (variable != NULL)
    envp = g_environ_setenv (envp, variable, value, TRUE);
  g_assert_true (g_spawn_sync (NULL, (char **) argv, envp, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error));
  g_assert_no_error (error);

  memset (result, 0, sizeof *result);
  result->output = g_strdup_printf ("%s=%s: status %d\nstdout:\n%s\nstderr:\n%s", variable ? variable : "-",
                                    value ? value : "-", status, out, err);
  if (WIFSIGNALED (status))
    {
      if (WTERMSIG (status) != SIGKILL)
        g_error ("the child died by signal %d, not SIGKILL: %s", WTERMSIG (status), result->output);
      result->killed = TRUE;
      return;
    }
  if (!WIFEXITED (status) || WEXITSTATUS (status) != 0 || (line = strstr (out, "RESULT ")) == NULL)
    g_error ("the child failed: %s", result->output);
  if (g_str_has_prefix (line, "RESULT ok changed="))
    {
      result->ok = TRUE;
      result->changed = line[strlen ("RESULT ok changed=")] == '1';
    }
  else
    {
      g_auto(GStrv) fields = g_strsplit (line + strlen ("RESULT error "), " ", 3);

      g_assert_cmpuint (g_strv_length (fields), ==, 3);
      result->domain = g_strdup (fields[0]);
      result->code = atoi (fields[1]);
    }
}

/* The child: commits the change from the old state to the new one and
 * prints the outcome (unless a fault point kills it first). */
static int
child_main (int   argc,
            char *argv[])
{
  const Target *target = argc >= 4 ? find_target (argv[2]) : NULL;
  g_autoptr(SmarthostBackend) backend = NULL;
  g_autoptr(SmarthostTransaction) tx = NULL;
  g_autoptr(GError) error = NULL;

  if (target == NULL)
    {
      g_printerr ("usage: %s --child BACKEND SCRATCH-DIRECTORY [fail-undo]\n", argv[0]);
      return 2;
    }
  backend = target_backend (target, argv[3], argc >= 5 && g_str_equal (argv[4], "fail-undo"));
  tx = target_begin (target, backend);
  if (stage_old_to_new (target, tx, &error))
    smarthost_transaction_commit (tx, NULL, &error);
  if (error == NULL)
    g_print ("RESULT ok changed=%d\n", smarthost_transaction_get_changed (tx));
  else
    g_print ("RESULT error %s %d %s\n", g_quark_to_string (error->domain), error->code, error->message);
  return 0;
}

static gboolean
fault_injection_built (void)
{
  if (g_strcmp0 (g_getenv ("CONFORMANCE_FAULT_INJECTION"), "0") == 0)
    {
      g_test_skip ("the library is built without -Dfault_injection=true");
      return FALSE;
    }
  return TRUE;
}

/* --- the tests ---------------------------------------------------------------------- */

static gboolean
skip_unavailable (const Target *target)
{
  g_autofree char *why = NULL;

  if (target->available (&why))
    return FALSE;
  g_test_skip (why);
  return TRUE;
}

static void
test_settings (gconstpointer data)
{
  const Target *target = data;
  g_autoptr(GPtrArray) settings = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(Scratch) sc = NULL;
  g_autofree char *dir = NULL;
  g_auto(GStrv) names = NULL;
  SmarthostCapabilities caps;

  if (skip_unavailable (target))
    return;
  names = smarthost_backend_list_names ();
  g_assert_true (g_strv_contains ((const char * const *) names, target->name));
  settings = smarthost_backend_list_settings_for_name (target->name, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (settings->len, >, 0);

  sc = scratch_new (target);
  g_assert_cmpstr (smarthost_backend_get_name (sc->backend), ==, target->name);
  for (guint i = 0; i < settings->len; i++)
    {
      const char *name = smarthost_backend_setting_get_name (g_ptr_array_index (settings, i));
      if (g_object_class_find_property (G_OBJECT_GET_CLASS (sc->backend), name) == NULL)
        g_error ("the setting %s of %s is no property of %s", name, target->name, G_OBJECT_TYPE_NAME (sc->backend));
    }

  /* What the tests below rely on, and what every backend that builds
   * operations gives. */
  caps = smarthost_backend_get_capabilities (sc->backend);
  g_assert_true (caps & SMARTHOST_CAPABILITY_SERVER_RELAY);
  /* The optional ones: exactly those the table says (the tests choose
   * relays by them). */
  g_assert_cmpuint (caps & ALL_OPTIONAL, ==, target->optional);
  g_assert_true (caps & SMARTHOST_CAPABILITY_PREVIEW);
  g_assert_true (caps & SMARTHOST_CAPABILITY_CRASH_SAFE);

  dir = smarthost_backend_get_state_directory (sc->backend, &error);
  g_assert_no_error (error);
  g_assert_true (g_path_is_absolute (dir));
  g_assert_cmpstr (dir, ==, sc->state_dir);
  g_assert_true (smarthost_backend_recover (sc->backend, NULL, &error));
  g_assert_no_error (error);
}

static void
test_set_server (gconstpointer data)
{
  const Target *target = data;
  g_autoptr(Scratch) sc = NULL;
  g_autoptr(SmarthostRelay) relay = server_a (target);
  g_autoptr(SmarthostRelay) other = server_b (target);
  g_autoptr(SmarthostRelay) read = NULL;
  g_autoptr(SmarthostState) empty = smarthost_state_new ();
  g_autoptr(SmarthostState) state = NULL;
  g_autoptr(GError) error = NULL;

  if (skip_unavailable (target))
    return;
  sc = scratch_new (target);
  read = smarthost_backend_get_server (sc->backend, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (read);

  /* Set, through the one-change shortcut. */
  g_assert_true (set_server (target, sc->backend, relay, &error));
  g_assert_no_error (error);
  read = smarthost_backend_get_server (sc->backend, NULL, &error);
  g_assert_no_error (error);
  assert_relay (target, relay, read);
  g_clear_object (&read);

  /* Replace, through a transaction. */
  {
    g_autoptr(SmarthostTransaction) tx = target_begin (target, sc->backend);

    g_assert_true (smarthost_transaction_set_server (tx, other, &error));
    g_assert_true (smarthost_transaction_commit (tx, NULL, &error));
    g_assert_no_error (error);
    g_assert_true (smarthost_transaction_get_changed (tx));
  }
  read = smarthost_backend_get_server (sc->backend, NULL, &error);
  g_assert_no_error (error);
  assert_relay (target, other, read);
  g_clear_object (&read);

  /* Unset. */
  g_assert_true (set_server (target, sc->backend, NULL, &error));
  g_assert_no_error (error);
  read = smarthost_backend_get_server (sc->backend, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (read);
  state = read_state (sc->backend);
  assert_state (target, empty, state, "after unsetting the server relay");
  assert_no_leftovers (sc, "after unsetting the server relay");
}

/* @error is the refusal of what @target cannot do, saying why (@why). */
static void
assert_not_supported (GError     *error,
                      const char *why)
{
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED);
  if (strstr (error->message, why) == NULL)
    g_error ("the refusal does not say \"%s\": %s", why, error->message);
}

/* A target without domain relays: a domain's relay is refused, through a
 * transaction, the shortcut and set_state, saying that the mail server
 * routes by recipient; nothing is changed. */
static void
assert_domains_refused (const Target *target)
{
  g_autoptr(Scratch) sc = scratch_new_old (target);
  g_autoptr(SmarthostState) old = old_state (target);
  g_autoptr(SmarthostState) with_domain = old_state (target);
  g_autoptr(SmarthostRelay) shop_relay = shop (target);
  g_autoptr(SmarthostTransaction) tx = target_begin (target, sc->backend);
  g_autoptr(SmarthostTransaction) tx2 = target_begin (target, sc->backend);
  g_autoptr(GHashTable) before = scratch_snapshot (sc, TRUE);
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(SmarthostState) state = NULL;
  g_autoptr(SmarthostRelay) read = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) domains = NULL;

  g_assert_false (smarthost_transaction_set_domain (tx, "shop.example", shop_relay, &error));
  assert_not_supported (error, "recipient");
  g_clear_error (&error);
  /* The transaction holds nothing, and commits nothing. */
  g_assert_true (smarthost_transaction_commit (tx, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (smarthost_transaction_get_changed (tx));

  g_assert_false (smarthost_backend_set_domain (sc->backend, "shop.example", shop_relay, NULL, &error));
  assert_not_supported (error, "recipient");
  g_clear_error (&error);

  state_set_domain (with_domain, "shop.example", shop (target));
  g_assert_false (smarthost_transaction_set_state (tx2, with_domain, &error));
  assert_not_supported (error, "recipient");
  g_clear_error (&error);

  after = scratch_snapshot (sc, TRUE);
  assert_same_snapshot (before, after, "a refused domain relay");
  domains = smarthost_backend_list_domains (sc->backend, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (domains), ==, 0);
  read = smarthost_backend_get_domain (sc->backend, "shop.example", NULL, &error);
  g_assert_no_error (error);
  g_assert_null (read);
  state = read_state (sc->backend);
  assert_state (target, old, state, "after a refused domain relay");
}

/* A target without domain relays: replace-domains and set_state, with no
 * domain, set the server relay as they do elsewhere. */
static void
assert_replace_domains_without_domains (const Target *target)
{
  g_autoptr(Scratch) sc = scratch_new_old (target);
  g_autoptr(SmarthostRelay) other = server_b (target);
  g_autoptr(SmarthostState) expected = smarthost_state_new ();
  g_autoptr(SmarthostState) old = old_state (target);
  g_autoptr(SmarthostState) state = NULL;
  g_autoptr(GError) error = NULL;

  {
    g_autoptr(SmarthostTransaction) tx = target_begin (target, sc->backend);

    smarthost_transaction_set_replace_domains (tx, TRUE);
    g_assert_true (smarthost_transaction_set_server (tx, other, &error));
    g_assert_true (smarthost_transaction_commit (tx, NULL, &error));
    g_assert_no_error (error);
    g_assert_true (smarthost_transaction_get_changed (tx));
  }
  smarthost_state_set_server (expected, other);
  state = read_state (sc->backend);
  assert_state (target, expected, state, "after replace-domains");
  g_clear_object (&state);

  commit_state (target, sc->backend, old, TRUE);
  state = read_state (sc->backend);
  assert_state (target, old, state, "after set_state");
  assert_no_leftovers (sc, "after set_state");
}

static void
test_domains (gconstpointer data)
{
  const Target *target = data;
  g_autoptr(Scratch) sc = NULL;
  g_autoptr(SmarthostRelay) shop_relay = shop (target);
  g_autoptr(SmarthostRelay) blog_relay = blog (target);
  g_autoptr(SmarthostRelay) read = NULL;
  g_autoptr(SmarthostState) empty = smarthost_state_new ();
  g_autoptr(SmarthostState) state = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) domains = NULL;

  if (skip_unavailable (target))
    return;
  if (!has (target, SMARTHOST_CAPABILITY_DOMAIN_RELAY))
    {
      assert_domains_refused (target);
      return;
    }
  sc = scratch_new (target);
  domains = smarthost_backend_list_domains (sc->backend, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (domains), ==, 0);
  g_clear_pointer (&domains, g_strfreev);

  /* Two at once; the names are normalized. */
  {
    g_autoptr(SmarthostTransaction) tx = target_begin (target, sc->backend);

    g_assert_true (smarthost_transaction_set_domain (tx, "Shop.Example.", shop_relay, &error));
    g_assert_true (smarthost_transaction_set_domain (tx, "blog.example", blog_relay, &error));
    g_assert_no_error (error);
    g_assert_true (smarthost_transaction_commit (tx, NULL, &error));
    g_assert_no_error (error);
    g_assert_true (smarthost_transaction_get_changed (tx));
  }
  domains = smarthost_backend_list_domains (sc->backend, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (domains), ==, 2);
  g_assert_true (g_strv_contains ((const char * const *) domains, "shop.example"));
  g_assert_true (g_strv_contains ((const char * const *) domains, "blog.example"));
  g_clear_pointer (&domains, g_strfreev);
  read = smarthost_backend_get_domain (sc->backend, "shop.example", NULL, &error);
  g_assert_no_error (error);
  assert_relay (target, shop_relay, read);
  g_clear_object (&read);
  read = smarthost_backend_get_domain (sc->backend, "blog.example", NULL, &error);
  g_assert_no_error (error);
  assert_relay (target, blog_relay, read);
  g_clear_object (&read);
  /* No server relay came with them. */
  read = smarthost_backend_get_server (sc->backend, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (read);

  /* Unset one; the other stays. */
  g_assert_true (smarthost_backend_set_domain (sc->backend, "shop.example", NULL, NULL, &error));
  g_assert_no_error (error);
  read = smarthost_backend_get_domain (sc->backend, "shop.example", NULL, &error);
  g_assert_no_error (error);
  g_assert_null (read);
  domains = smarthost_backend_list_domains (sc->backend, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_strv_length (domains), ==, 1);
  g_assert_cmpstr (domains[0], ==, "blog.example");
  g_clear_pointer (&domains, g_strfreev);

  g_assert_true (smarthost_backend_set_domain (sc->backend, "blog.example", NULL, NULL, &error));
  g_assert_no_error (error);
  state = read_state (sc->backend);
  assert_state (target, empty, state, "after unsetting every domain");
  assert_no_leftovers (sc, "after unsetting every domain");
}

static void
test_replace_domains (gconstpointer data)
{
  const Target *target = data;
  g_autoptr(Scratch) sc = NULL;
  g_autoptr(SmarthostRelay) news_relay = news (target);
  g_autoptr(SmarthostRelay) server = server_a (target);
  g_autoptr(SmarthostState) expected = smarthost_state_new ();
  g_autoptr(SmarthostState) only_shop = smarthost_state_new ();
  g_autoptr(SmarthostState) state = NULL;
  g_autoptr(GError) error = NULL;

  if (skip_unavailable (target))
    return;
  if (!has (target, SMARTHOST_CAPABILITY_DOMAIN_RELAY))
    {
      assert_replace_domains_without_domains (target);
      return;
    }
  sc = scratch_new_old (target);

  /* replace-domains: the domains named are all; the server relay stays. */
  {
    g_autoptr(SmarthostTransaction) tx = target_begin (target, sc->backend);

    smarthost_transaction_set_replace_domains (tx, TRUE);
    g_assert_true (smarthost_transaction_set_domain (tx, "news.example", news_relay, &error));
    g_assert_no_error (error);
    g_assert_true (smarthost_transaction_commit (tx, NULL, &error));
    g_assert_no_error (error);
    g_assert_true (smarthost_transaction_get_changed (tx));
  }
  smarthost_state_set_server (expected, server);
  state_set_domain (expected, "news.example", news (target));
  state = read_state (sc->backend);
  assert_state (target, expected, state, "after replace-domains");
  g_clear_object (&state);

  /* set_state: exactly that state, no server relay included. */
  state_set_domain (only_shop, "shop.example", shop (target));
  commit_state (target, sc->backend, only_shop, TRUE);
  state = read_state (sc->backend);
  assert_state (target, only_shop, state, "after set_state");
  assert_no_leftovers (sc, "after set_state");
}

/* Whether a change holds an operation that changes something (not one
 * that runs after the changes, such as a validation or a reload, nor a
 * directory that is there already). */
static guint
count_changing_operations (SmarthostChange *change)
{
  GPtrArray *ops = smarthost_change_get_operations (change);
  guint n = 0;

  for (guint i = 0; i < ops->len; i++)
    {
      SmarthostOperation *op = g_ptr_array_index (ops, i);

      if (SMARTHOST_OPERATION_GET_CLASS (op)->after_changes)
        continue;
      if (SMARTHOST_IS_DIRECTORY_OPERATION (op))
        {
          g_autofree char *text = smarthost_operation_describe (op);
          if (*text == '\0')   /* the directory is there: nothing to do */
            continue;
        }
      n++;
    }
  return n;
}

static void
test_repeat (gconstpointer data)
{
  const Target *target = data;
  g_autoptr(Scratch) sc = NULL;
  g_autoptr(SmarthostState) old = old_state (target);
  g_autoptr(SmarthostState) state = NULL;
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(SmarthostRelay) server = server_a (target);
  g_autoptr(GError) error = NULL;

  if (skip_unavailable (target))
    return;
  sc = scratch_new_old (target);
  before = scratch_snapshot (sc, TRUE);
  if (target->remote)
    fake_count_writes (TRUE);

  /* The same state again. */
  commit_state (target, sc->backend, old, FALSE);
  /* The same server relay, as a one-change transaction. */
  {
    g_autoptr(SmarthostTransaction) tx = target_begin (target, sc->backend);
    g_autofree char *preview = NULL;

    g_assert_true (smarthost_transaction_set_server (tx, server, &error));
    preview = smarthost_transaction_preview (tx, NULL, &error);
    g_assert_no_error (error);
    g_assert_false (smarthost_transaction_get_would_change (tx));
    g_assert_true (smarthost_transaction_commit (tx, NULL, &error));
    g_assert_no_error (error);
    g_assert_false (smarthost_transaction_get_changed (tx));
  }
  /* The backend builds nothing that changes anything. */
  {
    g_autoptr(SmarthostChange) change = smarthost_change_new ();
    g_autoptr(SmarthostRelay) shop_relay = shop (target);

    smarthost_change_set_dry_run (change, TRUE);
    smarthost_change_set_server (change, server);
    if (has (target, SMARTHOST_CAPABILITY_DOMAIN_RELAY))
      smarthost_change_set_domain (change, "shop.example", shop_relay);
    g_assert_true (smarthost_backend_build_change (sc->backend, change, NULL, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (count_changing_operations (change), ==, 0);
  }
  after = scratch_snapshot (sc, TRUE);
  assert_same_snapshot (before, after, "a repeated change");
  /* Not even a write that would change nothing. */
  if (target->remote)
    g_assert_cmpuint (fake_count_writes (FALSE), ==, 0);
  state = read_state (sc->backend);
  assert_state (target, old, state, "after a repeated change");
}

static void
test_preview (gconstpointer data)
{
  const Target *target = data;
  static const char * const secrets[] = { PW_SERVER_A, PW_SERVER_B, PW_SHOP, PW_SHOP_2, PW_BLOG, PW_NEWS, NULL };
  g_autoptr(Scratch) sc = NULL;
  g_autoptr(SmarthostTransaction) tx = NULL;
  g_autoptr(SmarthostState) old = old_state (target);
  g_autoptr(SmarthostState) state = NULL;
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *preview = NULL;

  if (skip_unavailable (target))
    return;
  sc = scratch_new_old (target);
  before = scratch_snapshot (sc, TRUE);
  if (target->remote)
    fake_count_writes (TRUE);

  tx = target_begin (target, sc->backend);
  g_assert_true (stage_old_to_new (target, tx, &error));
  g_assert_no_error (error);
  preview = smarthost_transaction_preview (tx, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (preview);
  g_test_message ("preview:\n%s", preview);
  g_assert_true (smarthost_transaction_get_would_change (tx));
  g_assert_null (strstr (preview, "# no change"));
  g_assert_nonnull (strstr (preview, SMARTHOST_PASSWORD_MASK));
  /* The relay hosts show; no password, old or new, does. */
  g_assert_nonnull (strstr (preview, has (target, SMARTHOST_CAPABILITY_DOMAIN_RELAY) ? "smtp.relay-c.example"
                                                                                   : "smtp.relay-b.example"));
  for (guint i = 0; secrets[i]; i++)
    if (strstr (preview, secrets[i]) != NULL)
      g_error ("the preview shows the password %s:\n%s", secrets[i], preview);

  after = scratch_snapshot (sc, TRUE);
  assert_same_snapshot (before, after, "a preview");
  if (target->remote)
    g_assert_cmpuint (fake_count_writes (FALSE), ==, 0);
  state = read_state (sc->backend);
  assert_state (target, old, state, "after a preview");
}

static void
test_fail_apply (gconstpointer data)
{
  const Target *target = data;
  g_autoptr(Scratch) sc = NULL;
  g_autoptr(SmarthostState) old = old_state (target);
  g_autoptr(SmarthostState) new = new_state (target);
  g_autoptr(SmarthostState) state = NULL;
  g_autoptr(GHashTable) before = NULL;
  g_autofree char *old_without_passwords = NULL;
  guint n, partial = 0;

  if (skip_unavailable (target) || !fault_injection_built ())
    return;
  sc = scratch_new_old (target);
  before = scratch_snapshot (sc, FALSE);
  if (target->remote)
    old_without_passwords = fake_state_without_passwords ();

  for (n = 1;; n++)
    {
      g_auto(ChildResult) r = { 0, };
      g_autofree char *value = g_strdup_printf ("%u", n);
      g_autoptr(GHashTable) after = NULL;
      g_autofree char *when = g_strdup_printf ("SMARTHOST_FAIL_APPLY=%u", n);

      run_child (sc, "SMARTHOST_FAIL_APPLY", value, FALSE, &r);
      if (r.killed)
        g_error ("%s: the child was killed: %s", when, r.output);
      if (r.ok)
        break;
      /* SmarterMail: once a gateway's password is changed, or a gateway
       * with one deleted, an undo cannot put the password back (the
       * backend says so: PARTIAL, naming the password); everything else
       * is put back, by the next read at the latest. */
      if (target->remote && g_strcmp0 (r.domain, g_quark_to_string (SMARTHOST_ERROR)) == 0 &&
          r.code == SMARTHOST_ERROR_PARTIAL)
        {
          g_autoptr(GHashTable) files = NULL;
          g_autofree char *server = NULL;

          if (strstr (r.output, "password") == NULL)
            g_error ("%s: PARTIAL, but not for a password: %s", when, r.output);
          state = read_state (sc->backend);
          assert_state (target, old, state, when);
          g_clear_object (&state);
          server = fake_state_without_passwords ();
          if (!g_str_equal (server, old_without_passwords))
            g_error ("%s: the server's state was\n%s\nand is\n%s", when, old_without_passwords, server);
          files = snapshot (sc->tmp, FALSE);
          g_hash_table_insert (files, g_strdup ("(the server's state)"),
                               g_strdup (g_hash_table_lookup (before, "(the server's state)")));
          assert_same_snapshot (before, files, when);
          partial++;
          /* The next case starts from the old state again, passwords too. */
          g_clear_pointer (&sc, scratch_free);
          sc = scratch_new_old (target);
          g_clear_pointer (&before, g_hash_table_unref);
          before = scratch_snapshot (sc, FALSE);
          g_free (old_without_passwords);
          old_without_passwords = fake_state_without_passwords ();
          continue;
        }
      if (g_strcmp0 (r.domain, g_quark_to_string (SMARTHOST_ERROR)) != 0 || r.code != SMARTHOST_ERROR_FAILED)
        g_error ("%s: expected SMARTHOST_ERROR_FAILED: %s", when, r.output);
      state = read_state (sc->backend);
      assert_state (target, old, state, when);
      g_clear_object (&state);
      after = scratch_snapshot (sc, FALSE);
      assert_same_snapshot (before, after, when);
      g_assert_cmpuint (n, <, 100);
    }
  g_test_message ("%u operations failed in turn (%u of them PARTIAL)", n - 1, partial);
  g_assert_cmpuint (n, >, 1);
  state = read_state (sc->backend);
  assert_state (target, new, state, "after the commit that got through");
  assert_no_leftovers (sc, "after the commit that got through");
}

/* Kills the commit at @point, its @n-th time there. Returns FALSE when it
 * was not reached @n times (the commit got through). */
static gboolean
kill_at (const Target *target,
         const char   *point,
         guint         n,
         gboolean      committed,
         const char   *new_shape,
         const char   *new_dump)
{
  g_autoptr(Scratch) sc = scratch_new_old (target);
  g_autofree char *old_dump = target->dump ? target->dump (sc->tmp) : NULL;
  g_autofree char *old_server = target->remote ? fake_state () : NULL;
  g_autofree char *old_without_passwords = target->remote ? fake_state_without_passwords () : NULL;
  gboolean password_lost = FALSE;
  g_autoptr(SmarthostBackend) reader = NULL;
  g_autoptr(SmarthostState) expected = committed ? new_state (target) : old_state (target);
  g_autoptr(SmarthostState) new = new_state (target);
  g_autoptr(SmarthostState) state = NULL;
  g_autofree char *value = g_strdup_printf ("%s:%u", point, n);
  g_autofree char *when = g_strdup_printf ("SMARTHOST_FAULT_POINT=%s", value);
  g_auto(ChildResult) r = { 0, };

  run_child (sc, "SMARTHOST_FAULT_POINT", value, FALSE, &r);
  if (!r.killed)
    {
      if (!r.ok)
        g_error ("%s: the commit failed: %s", when, r.output);
      if (n == 1)
        g_error ("%s: the commit never reached the fault point: %s", when, r.output);
      state = read_state (sc->backend);
      assert_state (target, new, state, when);
      return FALSE;
    }
  /* A backend of a process that never saw the commit: its read recovers. */
  reader = target_backend (target, sc->tmp, FALSE);
  if (target->remote)
    {
      g_autoptr(GError) error = NULL;

      /* The undo of a changed password, or of the deletion of a gateway
       * with one, puts back all but the password, and says so once (see
       * test_fail_apply()). */
      state = smarthost_backend_get_state (reader, NULL, &error);
      if (state == NULL)
        {
          if (strstr (error->message, "password") == NULL)
            g_error ("%s: the read that recovers failed: %s", when, error->message);
          password_lost = TRUE;
          state = read_state (reader);
        }
    }
  else
    state = read_state (reader);
  assert_state (target, expected, state, when);
  assert_no_leftovers (sc, when);
  /* What the target dumps: exactly as it was, or as a commit that got
   * through leaves it. */
  if (target->dump != NULL)
    {
      g_autofree char *now = target->dump (sc->tmp);
      const char *want = committed ? new_dump : old_dump;

      if (!g_str_equal (now, want))
        g_error ("%s: expected\n%s\nfound\n%s", when, want, now);
    }
  /* The server: exactly as it was, or as a commit that got through
   * leaves it (but for the ids it makes up). */
  if (password_lost)
    {
      g_autofree char *now = fake_state_without_passwords ();
      if (!g_str_equal (now, old_without_passwords))
        g_error ("%s: the server's state was\n%s\nand is\n%s", when, old_without_passwords, now);
    }
  else if (target->remote && !committed)
    {
      g_autofree char *now = fake_state ();
      if (!g_str_equal (now, old_server))
        g_error ("%s: the server's state was\n%s\nand is\n%s", when, old_server, now);
    }
  else if (target->remote)
    {
      g_autofree char *now = fake_state_shape ();
      if (!g_str_equal (now, new_shape))
        g_error ("%s: the server's state should be\n%s\nand is\n%s", when, new_shape, now);
    }
  return TRUE;
}

static void
test_kill (gconstpointer data)
{
  const Target *target = data;
  static const char * const committed_points[] = { "commit", "cleanup", NULL };
  guint kills = 0;
  g_autofree char *new_shape = NULL;
  g_autofree char *new_dump = NULL;

  if (skip_unavailable (target) || !fault_injection_built ())
    return;
  /* What the server holds, and the target dumps, after the commit, when
   * nothing kills it. */
  if (target->remote || target->dump != NULL)
    {
      g_autoptr(Scratch) sc = scratch_new_old (target);
      g_auto(ChildResult) r = { 0, };

      run_child (sc, NULL, NULL, FALSE, &r);
      g_assert_true (r.ok);
      new_shape = target->remote ? fake_state_shape () : NULL;
      new_dump = target->dump ? target->dump (sc->tmp) : NULL;
    }
  for (guint i = 0; target->fault_points[i]; i++)
    for (guint n = 1; kill_at (target, target->fault_points[i], n, FALSE, new_shape, new_dump); n++)
      kills++;
  for (guint i = 0; committed_points[i]; i++)
    {
      g_assert_true (kill_at (target, committed_points[i], 1, TRUE, new_shape, new_dump));
      g_assert_false (kill_at (target, committed_points[i], 2, TRUE, new_shape, new_dump));
      kills++;
    }
  g_test_message ("%u kills, each recovered", kills);
}

/* MailEnable: a relay that requires TLS, STARTTLS or implicit, is
 * refused (its outbound TLS falls back to plain text), and nothing is
 * changed. */
static void
test_tls_refused (gconstpointer data)
{
  const Target *target = data;
  static const SmarthostSecurity refused[] = { SMARTHOST_SECURITY_STARTTLS, SMARTHOST_SECURITY_TLS };
  g_autoptr(Scratch) sc = NULL;
  g_autoptr(SmarthostState) old = old_state (target);
  g_autoptr(SmarthostState) state = NULL;
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;

  if (skip_unavailable (target))
    return;
  sc = scratch_new_old (target);
  before = scratch_snapshot (sc, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(SmarthostRelay) relay = smarthost_relay_new ("smtp.relay-b.example");
      g_autoptr(SmarthostTransaction) tx = target_begin (target, sc->backend);
      g_autoptr(GError) error = NULL;

      smarthost_relay_set_port (relay, refused[i] == SMARTHOST_SECURITY_TLS ? 465 : 587);
      smarthost_relay_set_security (relay, refused[i]);
      g_assert_false (smarthost_transaction_set_server (tx, relay, &error));
      assert_not_supported (error, "TLS");
      g_clear_error (&error);
      g_assert_false (set_server (target, sc->backend, relay, &error));
      assert_not_supported (error, "TLS");
    }
  after = scratch_snapshot (sc, TRUE);
  assert_same_snapshot (before, after, "a refused TLS relay");
  state = read_state (sc->backend);
  assert_state (target, old, state, "after a refused TLS relay");
}

/* The key-file backend: an undo that fails. */
static void
test_partial (gconstpointer data)
{
  const Target *target = data;
  g_autoptr(Scratch) sc = NULL;
  g_autoptr(SmarthostState) old = old_state (target);
  g_autoptr(SmarthostState) state = NULL;
  g_autofree char *journal = NULL;
  g_auto(ChildResult) r = { 0, };

  if (!fault_injection_built ())
    return;
  sc = scratch_new_old (target);
  journal = g_build_filename (sc->state_dir, ".smarthost-journal", NULL);

  /* The second operation fails, and so does every undo. */
  run_child (sc, "SMARTHOST_FAIL_APPLY", "2", TRUE, &r);
  g_assert_false (r.killed);
  g_assert_false (r.ok);
  if (g_strcmp0 (r.domain, g_quark_to_string (SMARTHOST_ERROR)) != 0 || r.code != SMARTHOST_ERROR_PARTIAL)
    g_error ("expected SMARTHOST_ERROR_PARTIAL: %s", r.output);
  g_assert_true (g_file_test (journal, G_FILE_TEST_EXISTS));

  /* The next read finishes the undo, from the journal. */
  state = read_state (sc->backend);
  assert_state (target, old, state, "after the read that finished the undo");
  g_assert_false (g_file_test (journal, G_FILE_TEST_EXISTS));
  assert_no_leftovers (sc, "after the read that finished the undo");
}

static void
assert_record_refused (const char * const *record,
                       const char         *directory,
                       const char         *what)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SmarthostOperation) op = smarthost_operation_new_from_record (record, directory, &error);

  if (op != NULL)
    g_error ("a record %s was accepted", what);
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
}

/* The key-file backend: its operation kind and its journal records. */
static void
test_records (gconstpointer data)
{
  const Target *target = data;
  g_autoptr(Scratch) sc = scratch_new_old (target);
  g_autoptr(GError) error = NULL;
  g_autoptr(SmarthostChange) change = smarthost_change_new ();
  g_autoptr(SmarthostRelay) shop_relay = shop_2 (target);
  g_autoptr(SmarthostOperation) rebuilt = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *other = NULL;
  g_autofree char *description = NULL;
  g_auto(GStrv) record = NULL;
  g_auto(GStrv) again = NULL;
  GPtrArray *ops;

  dir = smarthost_backend_get_state_directory (sc->backend, &error);
  g_assert_no_error (error);
  g_object_get (sc->backend, "path", &path, NULL);

  /* What build_change makes: one operation per changed group. */
  smarthost_change_set_dry_run (change, TRUE);
  smarthost_change_set_domain (change, "shop.example", shop_relay);
  g_assert_true (smarthost_backend_build_change (sc->backend, change, NULL, &error));
  g_assert_no_error (error);
  ops = smarthost_change_get_operations (change);
  g_assert_cmpuint (ops->len, ==, 1);
  g_assert_cmpstr (smarthost_operation_get_kind (g_ptr_array_index (ops, 0)), ==, "test-keyfile-group");
  description = smarthost_operation_describe (g_ptr_array_index (ops, 0));
  g_assert_cmpstr (description, ==, "# keyfile: [domain shop.example] password = " SMARTHOST_PASSWORD_MASK
                                    " -> " SMARTHOST_PASSWORD_MASK "\n");

  /* Its record rebuilds it, in another process as in this one. */
  record = smarthost_operation_to_record (g_ptr_array_index (ops, 0));
  g_assert_nonnull (record);
  g_assert_cmpstr (record[0], ==, "test-keyfile-group");
  g_assert_cmpuint (g_strv_length (record), ==, 7);
  g_assert_cmpstr (record[1], ==, path);
  rebuilt = smarthost_operation_new_from_record ((const char * const *) record, dir, &error);
  g_assert_no_error (error);
  g_assert_nonnull (rebuilt);
  again = smarthost_operation_to_record (rebuilt);
  g_assert_true (g_strv_equal ((const char * const *) record, (const char * const *) again));

  /* Damaged records, and one naming another file, are refused. */
  other = g_build_filename (sc->tmp, "other.ini", NULL);
  {
    const char *r1[] = { record[0], other, record[2], record[3], record[4], record[5], record[6], NULL };
    const char *r2[] = { record[0], path, record[2], record[3], record[4], record[5], NULL };
    const char *r3[] = { record[0], path, "domain Shop..example", record[3], record[4], record[5], record[6], NULL };
    const char *r4[] = { record[0], path, record[2], "maybe", record[4], record[5], record[6], NULL };
    const char *r5[] = { record[0], path, record[2], "absent", "[domain shop.example]\nhost=x\n", record[5], record[6], NULL };
    const char *r6[] = { record[0], path, record[2], "present", "[server]\nhost=x\n", record[5], record[6], NULL };
    const char *r7[] = { record[0], path, record[2], "present", "[domain shop.example]\nhost=x\n[server]\nhost=y\n",
                         record[5], record[6], NULL };
    const char *r8[] = { record[0], path, record[2], "absent", "", "absent", "", NULL };
    const char *r9[] = { record[0], path, "../server", record[3], record[4], record[5], record[6], NULL };
    g_autofree char *elsewhere = g_build_filename (sc->tmp, "elsewhere", NULL);

    assert_record_refused (r1, dir, "naming another key file");
    assert_record_refused (r2, dir, "with a field missing");
    assert_record_refused (r3, dir, "naming a group the backend does not write");
    assert_record_refused (r4, dir, "with a group neither present nor absent");
    assert_record_refused (r5, dir, "with an absent group that has text");
    assert_record_refused (r6, dir, "with the text of another group");
    assert_record_refused (r7, dir, "with the text of two groups");
    assert_record_refused (r8, dir, "with a group absent before and after");
    assert_record_refused (r9, dir, "naming a group outside the key file");
    /* A journal in a state directory no key-file backend uses. */
    assert_record_refused ((const char * const *) record, elsewhere, "from another state directory");
  }
}

int
main (int   argc,
      char *argv[])
{
  /* The backend outside the library: registered on the extension point
   * once its type exists. */
  g_type_ensure (SMARTHOST_TYPE_KEYFILE_BACKEND);

  if (argc >= 2 && g_str_equal (argv[1], "--child"))
    return child_main (argc, argv);

  self_exe = conformance_self_exe ();
  g_assert_nonnull (self_exe);
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      static const struct {
        const char *name;
        GTestDataFunc func;
      } cases[] = {
        { "settings", test_settings },
        { "set-server", test_set_server },
        { "domains", test_domains },
        { "replace-domains", test_replace_domains },
        { "repeat", test_repeat },
        { "preview", test_preview },
        { "fail-apply", test_fail_apply },
        { "kill", test_kill },
      };

      for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
        {
          g_autofree char *path = g_strdup_printf ("/conformance/%s/%s", targets[i].name, cases[k].name);
          g_test_add_data_func (path, &targets[i], cases[k].func);
        }
    }
  g_test_add_data_func ("/conformance/keyfile/partial", find_target ("keyfile"), test_partial);
  g_test_add_data_func ("/conformance/keyfile/records", find_target ("keyfile"), test_records);
  g_test_add_data_func ("/conformance/mailenable/tls-refused", find_target ("mailenable"), test_tls_refused);

  return g_test_run ();
}
