/* smarthostctl: configure outbound smarthosts from the command line
 *
 * A thin front end: it parses, calls the libsmarthost API and prints.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>   /* OPENSSL_cleanse: explicit_bzero on every platform */
#include <smarthost.h>
#include <smarthost-mailenable.h>
#include <smarthost-smartermail.h>

#include "smarthost-json-private.h"   /* jansson, and the library's JSON format */

enum {
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
  EXIT_DISABLED = 3,
  EXIT_PARTIAL = 4,
  EXIT_NOT_ACTIVE = 5,
};

typedef struct {
  /* global */
  char *backend_name;
  char *config_dir;
  gboolean json;
  gboolean dry_run;
  gboolean no_reload;
  char *policy_file;
  int lock_timeout;
  char **options;
  /* relay options */
  char *port;
  char *security;
  gboolean mx_lookup;
  char *user;
  gboolean password_stdin;
  char *password_file;
  gboolean no_verify;
  char *ca_file;
  char *provider;
  char *region;
  /* spf, apply */
  char *record;
  char *include;
  gboolean allow_inline_password;
  /* checks */
  gboolean check;
  char *domain;
  char *from;
  char *to;
  int timeout;
  int connect_timeout;
  gboolean version;
} Options;

static Options opt;
static SmarthostPolicy *policy;

static const GOptionEntry global_entries[] = {
  { "backend", 0, 0, G_OPTION_ARG_STRING, &opt.backend_name, "Mail server backend (default: postfix)", "NAME" },
  { "config-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt.config_dir, "Mail server configuration directory (Postfix: default /etc/postfix); same as --option config-directory=DIR", "DIR" },
  { "json", 0, 0, G_OPTION_ARG_NONE, &opt.json, "Print JSON", NULL },
  { "version", 0, 0, G_OPTION_ARG_NONE, &opt.version, "Print the version and exit", NULL },
  { "dry-run", 0, 0, G_OPTION_ARG_NONE, &opt.dry_run, "Print the change (file diffs, requests, commands), change nothing", NULL },
  { "no-reload", 0, 0, G_OPTION_ARG_NONE, &opt.no_reload, "Do not reload the mail server after a change", NULL },
  { "lock-timeout", 0, 0, G_OPTION_ARG_INT, &opt.lock_timeout, "Wait at most SECONDS for another commit to end (default 300); same as --option lock-timeout=SECONDS", "SECONDS" },
  { "option", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt.options, "A backend setting (see settings); a secret only as KEY-file=PATH or KEY-env=VARIABLE; repeatable", "KEY=VALUE" },
  { "policy", 0, 0, G_OPTION_ARG_FILENAME, &opt.policy_file, "Policy file (default: $SMARTHOST_POLICY, else /etc/smarthost/policy.ini)", "FILE" },
  /* Relay options: set-server and set-domain only. */
  { "port", 0, 0, G_OPTION_ARG_STRING, &opt.port, "Relay port (default 587; 465 with --security tls)", "N" },
  { "security", 0, 0, G_OPTION_ARG_STRING, &opt.security, "none, starttls or tls (default starttls)", "MODE" },
  { "mx-lookup", 0, 0, G_OPTION_ARG_NONE, &opt.mx_lookup, "Look up the host's MX records (default: connect to the host)", NULL },
  { "user", 0, 0, G_OPTION_ARG_STRING, &opt.user, "User name to authenticate with", "NAME" },
  { "password-stdin", 0, 0, G_OPTION_ARG_NONE, &opt.password_stdin, "Read the password from standard input", NULL },
  { "password-file", 0, 0, G_OPTION_ARG_FILENAME, &opt.password_file, "Read the password from FILE", "FILE" },
  { "no-verify-certificate", 0, 0, G_OPTION_ARG_NONE, &opt.no_verify, "Do not verify the relay's certificate", NULL },
  { "ca-file", 0, 0, G_OPTION_ARG_FILENAME, &opt.ca_file, "Trust the CAs in FILE for this relay", "FILE" },
  { "provider", 0, 0, G_OPTION_ARG_STRING, &opt.provider, "Use a relay service's preset (host, port, user name); see providers", "NAME" },
  { "region", 0, 0, G_OPTION_ARG_STRING, &opt.region, "With --provider: the service's region (Amazon SES)", "REGION" },
  { "record", 0, 0, G_OPTION_ARG_STRING, &opt.record, "spf: the current SPF record, instead of looking it up", "TEXT" },
  { "include", 0, 0, G_OPTION_ARG_STRING, &opt.include, "spf: the SPF domain to include, instead of the provider's", "DOMAIN" },
  { "allow-inline-password", 0, 0, G_OPTION_ARG_NONE, &opt.allow_inline_password, "apply: accept \"password\" in the file itself", NULL },
  /* Checks. */
  { "check", 0, 0, G_OPTION_ARG_NONE, &opt.check, "set-server, set-domain: check the relay first; change nothing if it fails", NULL },
  { "domain", 0, 0, G_OPTION_ARG_STRING, &opt.domain, "check, send-test: use DOMAIN's smarthost", "DOMAIN" },
  { "from", 0, 0, G_OPTION_ARG_STRING, &opt.from, "send-test: envelope sender", "ADDR" },
  { "to", 0, 0, G_OPTION_ARG_STRING, &opt.to, "send-test: recipient", "ADDR" },
  { "timeout", 0, 0, G_OPTION_ARG_INT, &opt.timeout, "check, send-test: seconds for the whole check (default 30)", "N" },
  { "connect-timeout", 0, 0, G_OPTION_ARG_INT, &opt.connect_timeout, "check, send-test: seconds to connect (default 10)", "N" },
  { NULL }
};

static const char summary[] =
  "Commands:\n"
  "  status                                   server-wide and per-domain smarthosts\n"
  "  list-domains                             domains that have their own smarthost, one a line\n"
  "  set-server HOST [RELAY-OPTIONS]\n"
  "  unset-server\n"
  "  set-domain DOMAIN HOST [RELAY-OPTIONS]\n"
  "  unset-domain DOMAIN\n"
  "  check [--domain DOMAIN]                  check the configured relay: connect, TLS, authenticate\n"
  "  check HOST [RELAY-OPTIONS]               check a relay that is not configured\n"
  "  send-test --from ADDR --to ADDR [--domain DOMAIN]\n"
  "                                           send a test message through the configured relay\n"
  "  doctor                                   find what is wrong with the setup, each with a fix\n"
  "                                           (exit 1 when an error is found); changes nothing\n"
  "  import                                   take a hand-made relay setup (relayhost, SASL and\n"
  "                                           sender-dependent relay maps, TLS) under management\n"
  "  apply FILE|-                             set the complete state from JSON (the shape of\n"
  "                                           status --json; domains not listed lose theirs)\n"
  "  providers                                relay services with presets (--provider NAME)\n"
  "  settings                                 the backend's settings (--option KEY=VALUE) and\n"
  "                                           capabilities\n"
  "  schema-check [EXPORT.reg]                smartermail: ask the server (read-only) whether each\n"
  "                                           unconfirmed endpoint and field of the API mapping is\n"
  "                                           there; mailenable: which registry values of the schema\n"
  "                                           an export (or the key read) holds (exit 1 when one is\n"
  "                                           missing); changes nothing\n"
  "  spf DOMAIN [--provider NAME | --include DOMAIN] [--record TEXT]\n"
  "                                           the domain's SPF record with the relay's include\n"
  "\n"
  "The options from --port on are relay options, for set-server and set-domain.\n"
  "No option takes the password itself: use --password-stdin or --password-file.\n"
  "Exit status: 0 ok; 1 the operation (or the check) failed and nothing changed;\n"
  "2 usage error or invalid input, nothing changed; 3 refused by policy;\n"
  "4 the change failed and could not be wholly undone (the message says what is left);\n"
  "5 the change is committed but a step that puts it into effect (a service restart) failed.";

/* What the library says is printed to a root terminal, and may still hold
 * bytes of hostile input (a path in a system error, a line a relay sent):
 * control characters, bytes that are not UTF-8, C1 controls and Unicode
 * format characters (bidi overrides) are shown as escapes, never sent raw,
 * and a message is cut after @max_bytes. The library quotes and cuts what it
 * quotes from input itself; this is the last line of defence. */
static char *
terminal_safe (const char *text,
               gboolean    keep_newlines,
               gsize       max_bytes)
{
  GString *out = g_string_new (NULL);
  const char *p = text ? text : "";
  const char *end = p + strlen (p);

  while (p < end && out->len < max_bytes)
    {
      guchar b = (guchar) *p;
      gunichar c;

      if (b < 0x80)
        {
          if ((b < 0x20 && !(b == '\n' && keep_newlines)) || b == 0x7f)
            g_string_append_printf (out, "\\x%02x", b);
          else
            g_string_append_c (out, (char) b);
          p++;
          continue;
        }
      c = g_utf8_get_char_validated (p, end - p);
      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_printf (out, "\\x%02x", b);
          p++;
          continue;
        }
      switch (g_unichar_type (c))
        {
        case G_UNICODE_CONTROL:
        case G_UNICODE_FORMAT:
        case G_UNICODE_LINE_SEPARATOR:
        case G_UNICODE_PARAGRAPH_SEPARATOR:
          g_string_append_printf (out, c <= 0xffff ? "\\u%04x" : "\\U%08x", c);
          break;
        default:
          g_string_append_len (out, p, g_utf8_next_char (p) - p);
        }
      p = g_utf8_next_char (p);
    }
  if (p < end)
    g_string_append_printf (out, "… (%" G_GSIZE_FORMAT " more bytes)", (gsize) (end - p));
  return g_string_free (out, FALSE);
}

/* Long enough for any message the library writes. */
#define MAX_MESSAGE 4096

static int
fail (int         status,
      const char *format,
      ...) G_GNUC_PRINTF (2, 3);

static int
fail (int         status,
      const char *format,
      ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  {
    g_autofree char *shown = terminal_safe (message, FALSE, MAX_MESSAGE);
    g_printerr ("smarthostctl: %s\n", shown);
  }
  return status;
}

static int
exit_status_for (const GError *error)
{
  if (error->domain == SMARTHOST_ERROR)
    switch (error->code)
      {
      case SMARTHOST_ERROR_INVALID:
      case SMARTHOST_ERROR_NOT_SUPPORTED:
        return EXIT_USAGE;
      case SMARTHOST_ERROR_DISABLED:
        return EXIT_DISABLED;
      case SMARTHOST_ERROR_PARTIAL:
        return EXIT_PARTIAL;
      case SMARTHOST_ERROR_NOT_ACTIVE:
        return EXIT_NOT_ACTIVE;
      default:
        return EXIT_FAILED;
      }
  return EXIT_FAILED;
}

/* Where a library message names an API flag or call, a user of the
 * command line is told the option or command that does it. */
static const struct {
  const char *api;
  const char *cli;
} cli_hints[] = {
  { "(SMARTHOST_JSON_FLAGS_ALLOW_INLINE_PASSWORD)", "(smarthostctl apply --allow-inline-password)" },
  { "(smarthost_transaction_adopt())", "(smarthostctl import)" },
  { "read the configuration first (smarthost_backend_get_state())",
    "run a command that reads the configuration (smarthostctl status)" },
};

static int
fail_error (const GError *error)
{
  g_autoptr(GString) message = g_string_new (error->message);

  for (gsize i = 0; i < G_N_ELEMENTS (cli_hints); i++)
    g_string_replace (message, cli_hints[i].api, cli_hints[i].cli, 1);
  return fail (exit_status_for (error), "%s", message->str);
}

static gboolean
any_relay_option (void)
{
  return opt.port || opt.security || opt.mx_lookup || opt.user || opt.password_stdin ||
         opt.password_file || opt.no_verify || opt.ca_file || opt.provider || opt.region;
}

/* The password, from --password-file or --password-stdin, read by the
 * library the way every front end reads one (bounded, one line, never
 * from a FIFO or a device). */
static char *
read_password (GError **error)
{
  g_autoptr(GError) local_error = NULL;
  char *password = smarthost_read_password_file (opt.password_stdin ? "-" : opt.password_file, &local_error);

  if (password == NULL)
    g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "%s: %s",
                 opt.password_stdin ? "password" : "password-file", local_error->message);
  return password;
}

static SmarthostRelay *
relay_from_options (const char  *host,
                    GError     **error)
{
  g_autoptr(SmarthostRelay) relay = NULL;

  /* A provider's preset first; HOST and the options given override it. */
  if (opt.provider)
    {
      g_autoptr(SmarthostProvider) provider = smarthost_provider_lookup (opt.provider, error);
      SmarthostSecurity security = SMARTHOST_SECURITY_STARTTLS;

      if (provider == NULL)
        return NULL;
      if (opt.security && !smarthost_security_from_string (opt.security, &security, error))
        return NULL;
      relay = smarthost_provider_create_relay (provider, opt.region, security, error);
      if (relay == NULL)
        return NULL;
      if (host)
        smarthost_relay_set_host (relay, host);
    }
  else if (opt.region)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "region: --region goes with --provider"), NULL;
  else if (host == NULL)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "host: give the relay's HOST, or --provider NAME"), NULL;
  else
    relay = smarthost_relay_new (host);

  if (opt.password_stdin && opt.password_file)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "password: give --password-stdin or --password-file, not both"), NULL;
  if (opt.no_verify && opt.ca_file)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "ca-file: --ca-file and --no-verify-certificate exclude each other"), NULL;

  if (opt.security)
    {
      SmarthostSecurity security;
      if (!smarthost_security_from_string (opt.security, &security, error))
        return NULL;
      smarthost_relay_set_security (relay, security);
    }
  if (opt.port)
    {
      guint64 port;
      if (!g_ascii_string_to_unsigned (opt.port, 10, 0, G_MAXUINT32, &port, NULL))
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "port: must be a number between 1 and 65535"), NULL;
      smarthost_relay_set_port (relay, (guint) port);
    }
  smarthost_relay_set_mx_lookup (relay, opt.mx_lookup);
  smarthost_relay_set_verify_certificate (relay, !opt.no_verify);
  if (opt.ca_file)
    {
      g_autofree char *absolute = g_canonicalize_filename (opt.ca_file, NULL);
      smarthost_relay_set_ca_file (relay, absolute);
    }
  if (opt.user)
    smarthost_relay_set_username (relay, opt.user);
  if (opt.password_stdin || opt.password_file)
    {
      char *password;
      if (smarthost_relay_get_username (relay) == NULL)
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "password: needs a user name: add --user NAME"), NULL;
      password = read_password (error);
      if (password == NULL)
        return NULL;
      smarthost_relay_set_password (relay, password);
      OPENSSL_cleanse (password, strlen (password));
      g_free (password);
    }
  return g_steal_pointer (&relay);
}

/* What the library writes in JSON, as a node to print within more. */
static json_t *
library_json (char *text)
{
  g_autofree char *owned = text;
  json_t *node = json_loads (owned, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, NULL);

  return node != NULL ? node : json_null ();
}

/* A relay as the library writes it in JSON (never the password). */
static json_t *
relay_to_json (SmarthostRelay *relay)
{
  if (relay == NULL)
    return json_null ();
  return library_json (smarthost_relay_to_json (relay));
}

/* Printed in the format of the library's own JSON. */
static void
print_json (json_t *node)
{
  g_autofree char *text = _smarthost_json_to_data (node, NULL);

  g_print ("%s\n", text);
}

/* What a dry run would change, in JSON. */
static void
print_dry_run_json (const char *preview)
{
  g_autoptr(json_t) root = json_object ();

  json_object_set_new (root, "dry_run", json_true ());
  json_object_set_new (root, "preview", _smarthost_json_string (preview));
  print_json (root);
}

static int
cmd_status (SmarthostBackend *backend)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SmarthostState) state = NULL;
  g_auto(GStrv) names = NULL;
  SmarthostRelay *server;

  /* One read for all domains: consistent, and fast with many of them. */
  state = smarthost_backend_get_state (backend, NULL, &error);
  if (state == NULL)
    return fail_error (error);

  if (opt.json)
    {
      g_autofree char *text = smarthost_state_to_json (state);
      g_print ("%s\n", text);
      return EXIT_OK;
    }

  server = smarthost_state_get_server (state);
  if (server != NULL)
    {
      g_autofree char *text = smarthost_relay_to_string (server);
      g_print ("Server-wide smarthost: %s\n", text);
    }
  else
    g_print ("Server-wide smarthost: none (mail goes out directly)\n");
  names = smarthost_state_list_domains (state);
  if (names[0] == NULL)
    g_print ("Domain smarthosts: none\n");
  else
    {
      g_print ("Domain smarthosts:\n");
      for (guint i = 0; names[i]; i++)
        {
          g_autofree char *text = smarthost_relay_to_string (smarthost_state_get_domain (state, names[i]));
          g_print ("  %s: %s\n", names[i], text);
        }
    }
  return EXIT_OK;
}

static int
cmd_list_domains (SmarthostBackend *backend)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) domains = smarthost_backend_list_domains (backend, NULL, &error);

  if (domains == NULL)
    return fail_error (error);
  if (opt.json)
    {
      g_autoptr(json_t) root = _smarthost_json_strv ((const char * const *) domains);

      print_json (root);
    }
  else
    for (guint i = 0; domains[i]; i++)
      g_print ("%s\n", domains[i]);
  return EXIT_OK;
}

/* The quirks of the relay services @state uses, as warnings on standard
 * error, once per service. */
static void
print_quirks (char **quirks)
{
  for (guint i = 0; quirks[i]; i++)
    g_printerr ("smarthostctl: warning: %s\n", quirks[i]);
}

static int run_probe (SmarthostRelay *relay,
                      gboolean        for_domain,
                      const char     *sender,
                      const char     *recipient,
                      gboolean        quiet_on_success);

/* Stages @relay for @domain (NULL: the server-wide relay; a NULL @relay
 * removes it). */
static gboolean
stage_change (SmarthostTransaction  *tx,
              const char            *domain,
              SmarthostRelay        *relay,
              GError               **error)
{
  smarthost_transaction_set_reload (tx, !opt.no_reload);
  smarthost_transaction_set_policy (tx, policy);
  if (domain != NULL)
    return smarthost_transaction_set_domain (tx, domain, relay, error);
  return smarthost_transaction_set_server (tx, relay, error);
}

/* The quirks of @relay's service, as for a state that holds it alone. */
static void
print_relay_quirks (SmarthostRelay *relay)
{
  g_autoptr(SmarthostState) one = smarthost_state_new ();
  g_auto(GStrv) quirks = NULL;

  smarthost_state_set_server (one, relay);
  quirks = smarthost_provider_quirks_for_state (one);
  print_quirks (quirks);
}

static int
print_change_preview (SmarthostTransaction *tx)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *preview = smarthost_transaction_preview (tx, NULL, &error);

  if (preview == NULL)
    return fail_error (error);
  if (opt.json)
    print_dry_run_json (preview);
  else
    g_print ("%s", preview);
  return EXIT_OK;
}

/* A committed change, in JSON: whether it changed anything, and the relay
 * (@after, read back) of @domain or of the server. */
static void
print_change_json (SmarthostTransaction *tx,
                   const char           *domain,
                   SmarthostRelay       *after)
{
  g_autoptr(json_t) root = json_object ();

  json_object_set_new (root, "changed", json_boolean (smarthost_transaction_get_changed (tx)));
  if (domain != NULL)
    {
      g_autofree char *normalized = smarthost_domain_normalize (domain, NULL);
      json_object_set_new (root, "domain", _smarthost_json_string (normalized));
    }
  json_object_set_new (root, domain ? "relay" : "server", relay_to_json (after));
  print_json (root);
}

/* A committed change, in words: the relay now in use, read back as
 * @after, or what a removal leaves. */
static void
print_change_text (SmarthostBackend     *backend,
                   SmarthostTransaction *tx,
                   const char           *domain,
                   SmarthostRelay       *after)
{
  if (!smarthost_transaction_get_changed (tx))
    g_print ("No change: the configuration already says so.\n");
  else if (after != NULL)
    {
      g_autofree char *text = smarthost_relay_to_string (after);
      if (domain)
        g_print ("Smarthost of %s: %s\n", domain, text);
      else
        g_print ("Server-wide smarthost: %s\n", text);
    }
  else if (domain != NULL)
    {
      g_autoptr(SmarthostRelay) server = smarthost_backend_get_server (backend, NULL, NULL);
      g_print ("%s now uses %s.\n", domain,
               server ? "the server-wide smarthost" : "no smarthost (no server-wide one is set)");
    }
  else
    g_print ("The server-wide smarthost is removed.\n");
}

/* Stages one change, then previews or commits it. */
static int
run_change (SmarthostBackend *backend,
            const char       *domain,
            SmarthostRelay   *relay)
{
  g_autoptr(SmarthostTransaction) tx = smarthost_backend_begin (backend);
  g_autoptr(GError) error = NULL;
  g_autoptr(SmarthostRelay) after = NULL;

  if (!stage_change (tx, domain, relay, &error))
    return fail_error (error);
  if (relay != NULL)
    print_relay_quirks (relay);

  /* --check: like Cloudron, verify the relay before saving it. */
  if (opt.check && relay != NULL)
    {
      int status = run_probe (relay, domain != NULL, NULL, NULL, TRUE);
      if (status != EXIT_OK)
        return fail (status, "the relay check failed: nothing was changed");
    }

  if (opt.dry_run)
    return print_change_preview (tx);

  if (!smarthost_transaction_commit (tx, NULL, &error))
    return fail_error (error);

  if (domain != NULL)
    after = smarthost_backend_get_domain (backend, domain, NULL, NULL);
  else
    after = smarthost_backend_get_server (backend, NULL, NULL);
  if (opt.json)
    print_change_json (tx, domain, after);
  else
    print_change_text (backend, tx, domain, after);
  return EXIT_OK;
}

/* Runs a check (and a test message, with --from/--to) and prints it.
 * Returns the exit status. */
static int
run_probe (SmarthostRelay *relay,
           gboolean        for_domain,
           const char     *sender,
           const char     *recipient,
           gboolean        quiet_on_success)
{
  g_autoptr(SmarthostRelay) checked = smarthost_relay_copy (relay);
  g_autoptr(SmarthostProbe) probe = NULL;
  g_autoptr(SmarthostProbeResult) result = NULL;
  g_autoptr(GError) error = NULL;

  /* The policy may tell connection checks to accept untrusted
   * certificates (Plesk's checkConnection.checkCertificate); the result
   * then says the certificate was not verified. */
  if (!smarthost_policy_get_check_certificate (policy, for_domain))
    {
      smarthost_relay_set_verify_certificate (checked, FALSE);
      smarthost_relay_set_ca_file (checked, NULL);
    }
  probe = smarthost_probe_new (checked);

  if (opt.timeout > 0)
    smarthost_probe_set_timeout (probe, (guint) opt.timeout);
  if (opt.connect_timeout > 0)
    smarthost_probe_set_connect_timeout (probe, (guint) opt.connect_timeout);
  smarthost_probe_set_sender (probe, sender);
  smarthost_probe_set_recipient (probe, recipient);

  result = smarthost_probe_run (probe, NULL, &error);
  if (result == NULL)
    return fail_error (error);

  if (opt.json && !quiet_on_success)
    {
      g_autofree char *json = smarthost_probe_result_to_json (result);
      g_print ("%s\n", json);
    }
  else if (!quiet_on_success || !smarthost_probe_result_get_success (result))
    {
      g_autofree char *raw = smarthost_probe_result_to_string (result);
      g_autofree char *text = terminal_safe (raw, TRUE, 64 * 1024);
      if (smarthost_probe_result_get_success (result))
        g_print ("%s", text);
      else
        g_printerr ("%s", text);
    }
  return smarthost_probe_result_get_success (result) ? EXIT_OK : EXIT_FAILED;
}

/* The relay a configured check uses: the domain's own, or the server's. */
static SmarthostRelay *
configured_relay (SmarthostBackend  *backend,
                  GError           **error)
{
  g_autoptr(SmarthostState) state = NULL;
  g_autofree char *domain = NULL;
  SmarthostRelay *relay;

  if (opt.domain != NULL && (domain = smarthost_domain_normalize (opt.domain, error)) == NULL)
    return NULL;
  state = smarthost_backend_get_state (backend, NULL, error);
  if (state == NULL)
    return NULL;
  relay = smarthost_state_get_effective_relay (state, domain);
  if (domain != NULL && !opt.json && smarthost_state_get_domain (state, domain) == NULL)
    g_print ("%s has no smarthost of its own: its mail uses the server-wide smarthost.\n", opt.domain);
  if (relay == NULL)
    return g_set_error_literal (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                                "check: no smarthost is configured; give a HOST to check one"), NULL;
  return g_object_ref (relay);
}

static int
cmd_import (SmarthostBackend *backend)
{
  g_autoptr(SmarthostTransaction) tx = smarthost_backend_begin (backend);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) domains = NULL;
  g_autoptr(SmarthostRelay) server = NULL;
  g_autofree char *preview = NULL;

  smarthost_transaction_set_reload (tx, !opt.no_reload);
  smarthost_transaction_set_policy (tx, policy);
  if (!smarthost_transaction_adopt (tx, &error))
    return fail_error (error);
  /* A read first, for a real import: it finishes a commit that was
   * interrupted, which a preview (changing nothing) would refuse to look
   * past. */
  if (!opt.dry_run)
    {
      g_autoptr(SmarthostState) before = smarthost_backend_get_state (backend, NULL, &error);
      if (before == NULL)
        return fail_error (error);
    }
  preview = smarthost_transaction_preview (tx, NULL, &error);
  if (preview == NULL)
    return fail_error (error);

  if (opt.dry_run)
    {
      if (opt.json)
        print_dry_run_json (preview);
      else if (*preview == '\0')
        g_print ("No change: there is no hand-made smarthost setup to import.\n");
      else
        g_print ("%s", preview);
      return EXIT_OK;
    }

  if (!smarthost_transaction_commit (tx, NULL, &error))
    return fail_error (error);
  /* What the commit took over, as the relays now read back. */
  if (smarthost_transaction_get_changed (tx))
    domains = smarthost_transaction_get_adopted_domains (tx);
  else
    domains = g_new0 (char *, 1);
  if (smarthost_transaction_get_changed (tx) && smarthost_transaction_get_adopted_server (tx) != NULL)
    server = smarthost_backend_get_server (backend, NULL, NULL);

  if (opt.json)
    {
      g_autoptr(json_t) root = json_object ();
      json_t *adopted = json_object (), *adopted_domains = json_object ();

      json_object_set_new (root, "changed", json_boolean (smarthost_transaction_get_changed (tx)));
      json_object_set_new (root, "adopted", adopted);
      json_object_set_new (adopted, "server", relay_to_json (server));
      json_object_set_new (adopted, "domains", adopted_domains);
      for (guint i = 0; domains[i]; i++)
        {
          g_autoptr(SmarthostRelay) r = smarthost_backend_get_domain (backend, domains[i], NULL, NULL);
          json_object_set_new_nocheck (adopted_domains, domains[i], relay_to_json (r));
        }
      print_json (root);
    }
  else if (!smarthost_transaction_get_changed (tx))
    g_print ("No change: there is no hand-made smarthost setup to import.\n");
  else
    {
      if (server != NULL)
        {
          g_autofree char *text = smarthost_relay_to_string (server);
          g_print ("Imported the server-wide smarthost: %s\n", text);
        }
      for (guint i = 0; domains[i]; i++)
        {
          g_autoptr(SmarthostRelay) r = smarthost_backend_get_domain (backend, domains[i], NULL, NULL);
          g_autofree char *text = r ? smarthost_relay_to_string (r) : g_strdup ("?");
          g_print ("Imported the smarthost of %s: %s\n", domains[i], text);
        }
      if (server == NULL && domains[0] == NULL)
        g_print ("Imported: the hand-made settings are now managed.\n");
    }
  return EXIT_OK;
}

/* Findings as JSON ({"findings": [...]}) with --json, else one by one:
 * for doctor each with its fix, a blank line between; @compact (for
 * schema-check) one line each, with the fix of those that are not mere
 * information. */
static void
print_findings (GPtrArray *findings,
                gboolean   compact)
{
  if (opt.json)
    {
      g_autoptr(json_t) root = json_object ();
      json_t *list = json_array ();

      json_object_set_new (root, "findings", list);
      for (guint i = 0; i < findings->len; i++)
        json_array_append_new (list, library_json (smarthost_finding_to_json (g_ptr_array_index (findings, i))));
      print_json (root);
      return;
    }
  for (guint i = 0; i < findings->len; i++)
    {
      SmarthostFinding *f = g_ptr_array_index (findings, i);
      SmarthostSeverity severity = smarthost_finding_get_severity (f);
      g_autofree char *message = terminal_safe (smarthost_finding_get_message (f), FALSE, MAX_MESSAGE);
      const char *fix_text = smarthost_finding_get_fix (f);

      g_print ("%s%s [%s]: %s\n", i && !compact ? "\n" : "", smarthost_severity_to_string (severity),
               smarthost_finding_get_code (f), message);
      if (!compact || (fix_text != NULL && *fix_text != '\0' && severity != SMARTHOST_SEVERITY_INFO))
        {
          g_autofree char *fix = terminal_safe (fix_text, FALSE, MAX_MESSAGE);
          g_print ("  fix: %s\n", fix);
        }
    }
}

static int
cmd_doctor (SmarthostBackend *backend)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) findings = smarthost_backend_diagnose (backend, NULL, &error);
  gboolean any_error = FALSE;

  if (findings == NULL)
    return fail_error (error);
  for (guint i = 0; i < findings->len; i++)
    if (smarthost_finding_get_severity (g_ptr_array_index (findings, i)) == SMARTHOST_SEVERITY_ERROR)
      any_error = TRUE;

  if (!opt.json && findings->len == 0)
    g_print ("No problems found.\n");
  else
    print_findings (findings, FALSE);
  return any_error ? EXIT_FAILED : EXIT_OK;
}

/* Backends whose mapping of a remote API can be checked against the
 * server: SmarterMail's. */
static int
cmd_schema_check (SmarthostBackend *backend,
                  const char       *export_path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) findings = NULL;
  gboolean missing = FALSE;

  if (SMARTHOST_IS_MAILENABLE_BACKEND (backend))
    findings = smarthost_mailenable_backend_schema_check (SMARTHOST_MAILENABLE_BACKEND (backend), export_path,
                                                          NULL, &error);
  else if (!SMARTHOST_IS_SMARTERMAIL_BACKEND (backend))
    return fail (EXIT_USAGE, "the %s backend has no schema-check", smarthost_backend_get_name (backend));
  else if (export_path != NULL)
    return fail (EXIT_USAGE, "schema-check: the %s backend asks its server; it reads no export",
                 smarthost_backend_get_name (backend));
  else
    findings = smarthost_smartermail_backend_schema_check (SMARTHOST_SMARTERMAIL_BACKEND (backend), NULL, &error);
  if (findings == NULL)
    return fail_error (error);
  for (guint i = 0; i < findings->len; i++)
    if (smarthost_finding_get_severity (g_ptr_array_index (findings, i)) != SMARTHOST_SEVERITY_INFO)
      missing = TRUE;

  print_findings (findings, TRUE);
  return missing ? EXIT_FAILED : EXIT_OK;
}

/* A backend that does not verify its server's certificate says so on every
 * command (its "insecure" property: SmarterMail's, say). */
static void
warn_if_insecure (SmarthostBackend *backend)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (backend), "insecure");
  gboolean insecure = FALSE;

  if (pspec == NULL || pspec->value_type != G_TYPE_BOOLEAN || !(pspec->flags & G_PARAM_READABLE))
    return;
  g_object_get (backend, "insecure", &insecure, NULL);
  if (insecure)
    g_printerr ("smarthostctl: warning: certificate verification is off (insecure=true): the %s server's "
                "identity is not verified\n", smarthost_backend_get_name (backend));
}

static void
secret_free (gpointer data)
{
  char *text = data;

  if (text != NULL)
    OPENSSL_cleanse (text, strlen (text));
  g_free (text);
}

static SmarthostBackendSetting *
find_setting (GPtrArray  *settings,
              const char *name)
{
  for (guint i = 0; i < settings->len; i++)
    if (g_str_equal (smarthost_backend_setting_get_name (g_ptr_array_index (settings, i)), name))
      return g_ptr_array_index (settings, i);
  return NULL;
}

/* Whether standard input is spoken for (a password, the JSON of apply -),
 * so that a secret setting cannot also be read from it. */
static gboolean stdin_in_use;

/* The value of a secret setting, from --option KEY-file=PATH (read with the
 * library's bounded reader) or --option KEY-env=VARIABLE: never from argv. */
static char *
read_secret_setting (const char  *key,
                     const char  *name,
                     gboolean     from_file,
                     const char  *where,
                     GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  char *value;

  if (!from_file)
    {
      const char *env = g_getenv (where);
      if (env == NULL || *env == '\0')
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "%s: the environment variable %s is %s", key, where,
                            env ? "empty" : "not set"), NULL;
      value = g_strdup (env);
      /* Read once: the programs the library runs (postconf, postmap,
       * sc) do not inherit it. */
      g_unsetenv (where);
      return value;
    }
  if (g_str_equal (where, "-"))
    {
      if (stdin_in_use)
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "%s: standard input is already read for something else "
                            "(--password-stdin, apply -, another %s-file=-): give a file", key, name), NULL;
      stdin_in_use = TRUE;
    }
  value = smarthost_read_password_file (where, &local_error);
  if (value == NULL)
    g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "%s: %s", key, local_error->message);
  return value;
}

/* --option KEY=VALUE, plus the shorthands --config-dir and --lock-timeout,
 * as setting names and values for the library, which converts and checks
 * them (an unknown name is its error, listing the known ones). */
static GHashTable *
settings_from_options (const char  *backend_name,
                       GError     **error)
{
  g_autoptr(GHashTable) table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, secret_free);
  g_autoptr(GPtrArray) declared = smarthost_backend_list_settings_for_name (backend_name, error);

  if (declared == NULL)
    return NULL;

  for (guint i = 0; opt.options && opt.options[i]; i++)
    {
      const char *arg = opt.options[i];
      const char *eq = strchr (arg, '=');
      g_autofree char *key = NULL;
      const char *value;
      SmarthostBackendSetting *setting;

      if (eq == NULL || eq == arg)
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "option: give --option KEY=VALUE (see: smarthostctl --backend %s settings)",
                            backend_name), NULL;
      key = g_strndup (arg, eq - arg);
      value = eq + 1;
      setting = find_setting (declared, key);
      if (setting != NULL && smarthost_backend_setting_get_secret (setting))
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "%s: a secret is never taken from the command line: give --option %s-file=PATH "
                            "or --option %s-env=VARIABLE", key, key, key), NULL;
      if (setting == NULL && (g_str_has_suffix (key, "-file") || g_str_has_suffix (key, "-env")))
        {
          gboolean from_file = g_str_has_suffix (key, "-file");
          g_autofree char *name = g_strndup (key, strlen (key) - (from_file ? 5 : 4));
          SmarthostBackendSetting *base = find_setting (declared, name);

          if (base != NULL && !smarthost_backend_setting_get_secret (base))
            return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                                "%s: %s is not a secret: give --option %s=VALUE", key, name, name), NULL;
          if (base != NULL)
            {
              char *secret;

              if (g_hash_table_contains (table, name))
                return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                                    "%s: given twice", name), NULL;
              secret = read_secret_setting (key, name, from_file, value, error);
              if (secret == NULL)
                return NULL;
              g_hash_table_insert (table, g_steal_pointer (&name), secret);
              continue;
            }
        }
      if (g_hash_table_contains (table, key))
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "%s: given twice", key), NULL;
      g_hash_table_insert (table, g_steal_pointer (&key), g_strdup (value));
    }

  if (opt.config_dir)
    {
      if (find_setting (declared, "config-directory") == NULL)
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "config-dir: the %s backend has no configuration directory", backend_name), NULL;
      if (g_hash_table_contains (table, "config-directory"))
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "config-dir: give --config-dir or --option config-directory=DIR, not both"), NULL;
      g_hash_table_insert (table, g_strdup ("config-directory"), g_strdup (opt.config_dir));
    }
  if (opt.lock_timeout != G_MININT)
    {
      if (find_setting (declared, "lock-timeout") == NULL)
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "lock-timeout: the %s backend takes no lock", backend_name), NULL;
      if (opt.lock_timeout < 0 || opt.lock_timeout > 24 * 3600)
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "lock-timeout: from 0 to 86400 seconds (a day)"), NULL;
      if (g_hash_table_contains (table, "lock-timeout"))
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "lock-timeout: give --lock-timeout or --option lock-timeout=SECONDS, not both"), NULL;
      g_hash_table_insert (table, g_strdup ("lock-timeout"), g_strdup_printf ("%d", opt.lock_timeout));
    }
  return g_steal_pointer (&table);
}

static SmarthostBackend *
make_backend (GError **error)
{
  const char *name = opt.backend_name ? opt.backend_name : "postfix";
  g_autoptr(GHashTable) settings = settings_from_options (name, error);

  if (settings == NULL)
    return NULL;
  return smarthost_backend_new_for_name_with_settings (name, settings, error);
}

/* What a backend takes (and can do), for people and for programs that
 * construct it by name. */
static int
cmd_settings (void)
{
  const char *name = opt.backend_name ? opt.backend_name : "postfix";
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) settings = smarthost_backend_list_settings_for_name (name, &error);
  g_autoptr(SmarthostBackend) backend = NULL;
  g_autoptr(GFlagsClass) caps_class = g_type_class_ref (SMARTHOST_TYPE_CAPABILITIES);
  SmarthostCapabilities caps;

  if (settings == NULL || (backend = smarthost_backend_new_for_name (name, &error)) == NULL)
    return fail_error (error);
  caps = smarthost_backend_get_capabilities (backend);

  if (opt.json)
    {
      g_autoptr(json_t) root = json_object ();
      json_t *list = json_array ();

      json_object_set_new (root, "backend", _smarthost_json_string (smarthost_backend_get_name (backend)));
      json_object_set_new (root, "settings", library_json (smarthost_backend_settings_to_json (settings)));
      json_object_set_new (root, "capabilities", list);
      for (guint i = 0; i < caps_class->n_values; i++)
        if (caps_class->values[i].value != 0 && (caps & caps_class->values[i].value) == caps_class->values[i].value)
          json_array_append_new (list, _smarthost_json_string (caps_class->values[i].value_nick));
      print_json (root);
      return EXIT_OK;
    }

  g_print ("Settings of the %s backend (--option KEY=VALUE):\n", smarthost_backend_get_name (backend));
  if (settings->len == 0)
    g_print ("  (none)\n");
  for (guint i = 0; i < settings->len; i++)
    {
      SmarthostBackendSetting *s = g_ptr_array_index (settings, i);
      const char *key = smarthost_backend_setting_get_name (s);
      g_autofree char *help = terminal_safe (smarthost_backend_setting_get_help (s), FALSE, MAX_MESSAGE);

      g_print ("  %-20s %-8s %s\n", key, smarthost_setting_type_to_string (smarthost_backend_setting_get_value_type (s)), help);
      if (smarthost_backend_setting_get_secret (s))
        g_print ("  %-20s %-8s secret: --option %s-file=PATH or --option %s-env=VARIABLE only\n", "", "", key, key);
    }
  g_print ("Capabilities:");
  for (guint i = 0; i < caps_class->n_values; i++)
    if (caps_class->values[i].value != 0 && (caps & caps_class->values[i].value) == caps_class->values[i].value)
      g_print (" %s", caps_class->values[i].value_nick);
  g_print ("\n");
  return EXIT_OK;
}

static int
cmd_providers (void)
{
  g_autoptr(GPtrArray) providers = smarthost_provider_list ();

  if (opt.json)
    {
      g_autoptr(json_t) root = json_array ();

      for (guint i = 0; i < providers->len; i++)
        json_array_append_new (root, library_json (smarthost_provider_to_json (g_ptr_array_index (providers, i))));
      print_json (root);
      return EXIT_OK;
    }

  for (guint i = 0; i < providers->len; i++)
    {
      SmarthostProvider *p = g_ptr_array_index (providers, i);
      g_autofree char *host = smarthost_provider_get_host (p, NULL, NULL);
      const char * const *regions = smarthost_provider_get_regions (p);
      const char * const *quirks = smarthost_provider_get_quirks (p);

      g_print ("%-13s %s\n", smarthost_provider_get_id (p), smarthost_provider_get_name (p));
      g_print ("              host %s", host);
      for (SmarthostSecurity sec = SMARTHOST_SECURITY_NONE; sec <= SMARTHOST_SECURITY_TLS; sec++)
        {
          gsize n = 0;
          const guint *ports = smarthost_provider_get_ports (p, sec, &n);

          if (n == 0)
            continue;
          g_print (", %s %u", smarthost_security_to_string (sec), ports[0]);
          for (gsize j = 1; j < n; j++)
            g_print ("%s%u", j == 1 ? " (also " : " ", ports[j]);
          if (n > 1)
            g_print (")");
        }
      if (smarthost_provider_get_username (p))
        g_print (", user %s", smarthost_provider_get_username (p));
      g_print (", SPF include:%s\n", smarthost_provider_get_spf_include (p));
      if (regions[0])
        {
          g_autofree char *known = g_strjoinv (" ", (char **) regions);
          g_print ("              --region REGION (default %s): %s, or any other region of the service\n",
                   smarthost_provider_get_default_region (p), known);
        }
      for (guint j = 0; quirks[j]; j++)
        g_print ("              - %s\n", quirks[j]);
    }
  return EXIT_OK;
}

static int
cmd_spf (const char *domain)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SmarthostProvider) provider = NULL;
  g_auto(GStrv) records = NULL;
  g_auto(GStrv) warnings = NULL;
  g_autoptr(GPtrArray) all_warnings = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *normalized = smarthost_domain_normalize (domain, &error);
  g_autofree char *merged = NULL;
  g_autofree char *zone = NULL;
  const char *include = opt.include;
  const char *current = opt.record;

  if (normalized == NULL)
    return fail_error (error);
  if (opt.provider && opt.include)
    return fail (EXIT_USAGE, "give --provider or --include, not both");
  if (opt.provider)
    {
      provider = smarthost_provider_lookup (opt.provider, &error);
      if (provider == NULL)
        return fail_error (error);
      include = smarthost_provider_get_spf_include (provider);
    }
  else if (include == NULL)
    {
      /* The relay this domain's mail uses tells which service to include. */
      g_autoptr(SmarthostBackend) backend = make_backend (&error);
      g_autoptr(SmarthostState) state = NULL;
      SmarthostRelay *relay;

      if (backend == NULL)
        return fail_error (error);
      state = smarthost_backend_get_state (backend, NULL, &error);
      if (state == NULL)
        return fail_error (error);
      relay = smarthost_state_get_effective_relay (state, normalized);
      if (relay == NULL || (provider = smarthost_provider_find_for_relay (relay, NULL)) == NULL)
        return fail (EXIT_USAGE, "spf: %s", relay ? "the relay of this domain is not a known provider: give --provider or --include"
                                                  : "no smarthost is configured for this domain: give --provider or --include");
      include = smarthost_provider_get_spf_include (provider);
    }

  if (current == NULL)
    {
      records = smarthost_spf_lookup (normalized, NULL, &error);
      if (records == NULL && g_error_matches (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
        {
          /* Say so, and still show the record the domain will need. */
          g_ptr_array_add (all_warnings, g_strdup (error->message));
          g_clear_error (&error);
        }
      else if (records == NULL)
        return fail_error (error);
      else if (g_strv_length (records) > 1)
        g_ptr_array_add (all_warnings, g_strdup_printf ("%s has %u SPF records: SPF fails with more than one; "
                                                        "merge them into one", normalized, g_strv_length (records)));
      current = records ? records[0] : NULL;
    }

  merged = smarthost_spf_merge_for_domain (normalized, current, include, &warnings, &error);
  if (merged == NULL)
    return fail_error (error);
  for (guint i = 0; warnings[i]; i++)
    g_ptr_array_add (all_warnings, g_strdup (warnings[i]));

  if (opt.json)
    {
      g_autofree char *json = NULL;

      g_ptr_array_add (all_warnings, NULL);
      json = smarthost_spf_result_to_json (normalized, current, merged, include,
                                           (const char * const *) all_warnings->pdata);
      g_print ("%s\n", json);
    }
  else
    {
      zone = smarthost_spf_to_zone_text (merged);
      g_print ("%s. TXT %s\n", normalized, zone);
      for (guint i = 0; i < all_warnings->len; i++)
        {
          g_autofree char *shown = terminal_safe (g_ptr_array_index (all_warnings, i), FALSE, MAX_MESSAGE);
          g_printerr ("smarthostctl: warning: %s\n", shown);
        }
    }
  return EXIT_OK;
}

/* g_print() of a text that may be long (the preview of 100,000 domains):
 * whole lines at a time, since g_print() makes a copy of what it prints
 * (and one more to convert it to the locale's character set). */
static void
print_long (const char *text)
{
  const gsize piece = 64 * 1024;

  while (*text != '\0')
    {
      gsize len = strnlen (text, piece);
      const char *nl;

      if (text[len] != '\0')
        {
          if ((nl = g_strrstr_len (text, len, "\n")) != NULL)
            len = (gsize) (nl - text) + 1;
          else
            while (len > 1 && ((guchar) text[len] & 0xc0) == 0x80)
              len--;   /* not inside a character */
        }
      g_print ("%.*s", (int) len, text);
      text += len;
    }
}

static int
cmd_apply (SmarthostBackend *backend,
           const char       *file)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SmarthostTransaction) tx = smarthost_backend_begin (backend);
  g_autoptr(SmarthostState) state = NULL;
  g_auto(GStrv) quirks = NULL;
  gboolean changed;

  state = smarthost_state_new_from_file (file,
                                         opt.allow_inline_password ? SMARTHOST_JSON_FLAGS_ALLOW_INLINE_PASSWORD
                                                                   : SMARTHOST_JSON_FLAGS_NONE,
                                         &error);
  if (state == NULL)
    {
      g_prefix_error (&error, "apply: ");
      return fail_error (error);
    }

  /* Only the quirks are needed after staging (the transaction has its own
   * copy): found before, so that what finding them allocates is gone
   * before the copy is made. */
  quirks = smarthost_provider_quirks_for_state (state);
  smarthost_transaction_set_reload (tx, !opt.no_reload);
  smarthost_transaction_set_policy (tx, policy);
  if (!smarthost_transaction_set_state (tx, state, &error))
    return fail_error (error);
  g_clear_object (&state);

  if (opt.dry_run)
    {
      g_autofree char *preview = smarthost_transaction_preview (tx, NULL, &error);
      if (preview == NULL)
        return fail_error (error);
      changed = smarthost_transaction_get_would_change (tx);
      /* Quirks of the services in use, when something is to change: an
       * unchanged state applied again (configuration management does that
       * all the time) is no news. */
      if (changed)
        print_quirks (quirks);
      if (opt.json)
        {
          g_autoptr(json_t) out = json_object ();

          json_object_set_new (out, "dry_run", json_true ());
          json_object_set_new (out, "changed", json_boolean (changed));
          json_object_set_new (out, "preview", _smarthost_json_string (preview));
          print_json (out);
        }
      else
        print_long (preview);
      return EXIT_OK;
    }

  if (!smarthost_transaction_commit (tx, NULL, &error))
    return fail_error (error);
  changed = smarthost_transaction_get_changed (tx);
  if (changed)
    print_quirks (quirks);
  if (opt.json)
    {
      g_autoptr(json_t) out = json_object ();

      json_object_set_new (out, "changed", json_boolean (changed));
      json_object_set_new (out, "changes_staged", json_integer (smarthost_transaction_get_n_changes (tx)));
      print_json (out);
    }
  else
    g_print ("%s\n", changed ? "Changed." : "No change: the configuration already says so.");
  return EXIT_OK;
}

/* GOption converts the value of a string option to UTF-8 and, when it is
 * not valid, says only "Invalid byte sequence in conversion input". Name
 * the option instead. (Arguments that are not option values reach the
 * library, whose errors name the field.) */
static const char *
option_with_bad_value (int    argc,
                       char **argv)
{
  static char name[64];

  for (int i = 1; i < argc; i++)
    {
      const char *arg = argv[i];
      const char *eq;
      gsize len;

      if (g_str_equal (arg, "--"))
        break;
      if (!g_str_has_prefix (arg, "--"))
        continue;
      eq = strchr (arg, '=');
      len = eq ? (gsize) (eq - arg) : strlen (arg);
      for (const GOptionEntry *e = global_entries; e->long_name; e++)
        {
          const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[i + 1] : "");

          if (e->arg != G_OPTION_ARG_STRING || strlen (e->long_name) != len - 2 ||
              strncmp (arg + 2, e->long_name, len - 2) != 0)
            continue;
          if (!g_utf8_validate (value, -1, NULL))
            {
              g_snprintf (name, sizeof name, "--%s", e->long_name);
              return name;
            }
        }
    }
  return NULL;
}

static GOptionContext *
option_context_new (void)
{
  GOptionContext *context = g_option_context_new ("COMMAND [ARGS]");

  g_option_context_set_summary (context, "Configure outbound smarthosts (SMTP relays) of a mail server.");
  g_option_context_set_description (context, summary);
  g_option_context_add_main_entries (context, global_entries, NULL);
  return context;
}

/* The policy changes are held to. Reading is always allowed, whatever the
 * policy file holds. */
static SmarthostPolicy *
load_policy (const char  *command,
             GError     **error)
{
  if (g_str_equal (command, "status") || g_str_equal (command, "list-domains") ||
      g_str_equal (command, "doctor") || g_str_equal (command, "settings") ||
      g_str_equal (command, "schema-check"))
    return smarthost_policy_new ();
  return opt.policy_file ? smarthost_policy_new_from_file (opt.policy_file, error)
                         : smarthost_policy_load_default (error);
}

/* The relay set-server and set-domain stage, from HOST and the relay
 * options; NULL, with *status set, when there is none. */
static SmarthostRelay *
relay_to_stage (const char  *command,
                int          argc,
                char       **argv,
                int         *status)
{
  g_autoptr(GError) error = NULL;
  gboolean domain = g_str_equal (command, "set-domain");
  int want = domain ? 4 : 3;
  SmarthostRelay *relay;

  /* With --provider, HOST may be left out. */
  if (argc != want && !(opt.provider && argc == want - 1))
    {
      *status = fail (EXIT_USAGE, "usage: smarthostctl %s %s[RELAY-OPTIONS]", command,
                      domain ? "DOMAIN HOST " : "HOST ");
      return NULL;
    }
  relay = relay_from_options (argc == want ? argv[want - 1] : NULL, &error);
  if (relay == NULL)
    *status = fail_error (error);
  return relay;
}

/* Runs the commands that need no mail server configuration: an ad-hoc
 * check, providers, settings and spf. Returns whether @command was one
 * of them, with its exit status in *status. */
static gboolean
run_standalone_command (const char  *command,
                        int          argc,
                        char       **argv,
                        int         *status)
{
  if (g_str_equal (command, "check") && argc == 3)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SmarthostRelay) relay = NULL;

      /* An ad-hoc check needs no mail server configuration at all. */
      if (opt.domain)
        *status = fail (EXIT_USAGE, "check HOST takes no --domain");
      else if ((relay = relay_from_options (argv[2], &error)) == NULL)
        *status = fail_error (error);
      else
        *status = run_probe (relay, FALSE, NULL, NULL, FALSE);
    }
  else if (g_str_equal (command, "providers"))
    *status = argc == 2 ? cmd_providers () : fail (EXIT_USAGE, "providers takes no arguments");
  else if (g_str_equal (command, "settings"))
    *status = argc == 2 ? cmd_settings () : fail (EXIT_USAGE, "settings takes no arguments");
  else if (g_str_equal (command, "spf"))
    {
      if (argc != 3 || (any_relay_option () && !(opt.provider && !opt.region && !opt.port && !opt.security &&
                                                 !opt.user && !opt.password_file && !opt.password_stdin &&
                                                 !opt.ca_file && !opt.no_verify && !opt.mx_lookup)))
        *status = fail (EXIT_USAGE, "usage: smarthostctl spf DOMAIN [--provider NAME | --include DOMAIN] [--record TEXT]");
      else
        *status = cmd_spf (argv[2]);
    }
  else
    return FALSE;
  return TRUE;
}

/* Refuses options given to a command they do not go with, and the wrong
 * arguments of send-test; EXIT_OK when all is well. */
static int
check_options_fit (const char *command)
{
  if ((opt.record || opt.include) && !g_str_equal (command, "spf"))
    return fail (EXIT_USAGE, "--record and --include only go with spf");
  if (opt.allow_inline_password && !g_str_equal (command, "apply"))
    return fail (EXIT_USAGE, "--allow-inline-password only goes with apply");

  if (opt.check && !(g_str_equal (command, "set-server") || g_str_equal (command, "set-domain")))
    return fail (EXIT_USAGE, "--check only goes with set-server and set-domain");
  if ((opt.from || opt.to) && !g_str_equal (command, "send-test"))
    return fail (EXIT_USAGE, "--from and --to only go with send-test");
  if (opt.domain && !(g_str_equal (command, "check") || g_str_equal (command, "send-test")))
    return fail (EXIT_USAGE, "--domain only goes with check and send-test");
  if ((opt.timeout || opt.connect_timeout) && !(g_str_equal (command, "check") ||
                                                g_str_equal (command, "send-test") || opt.check))
    return fail (EXIT_USAGE, "--timeout and --connect-timeout only go with check, send-test and --check");
  if (opt.timeout < 0 || opt.connect_timeout < 0)
    return fail (EXIT_USAGE, "timeout: must be a positive number of seconds");
  if (g_str_equal (command, "send-test") && (opt.from == NULL || opt.to == NULL))
    return fail (EXIT_USAGE, "usage: smarthostctl send-test --from ADDR --to ADDR [--domain DOMAIN]");
  return EXIT_OK;
}

/* Runs a command on the mail server's configuration; @relay is what
 * set-server and set-domain stage. Returns the exit status. */
static int
run_backend_command (SmarthostBackend  *backend,
                     const char        *command,
                     int                argc,
                     char             **argv,
                     SmarthostRelay    *relay)
{
  if (g_str_equal (command, "apply") && argc == 3)
    return cmd_apply (backend, argv[2]);
  else if (g_str_equal (command, "status") && argc == 2)
    return cmd_status (backend);
  else if (g_str_equal (command, "list-domains") && argc == 2)
    return cmd_list_domains (backend);
  else if (g_str_equal (command, "doctor") && argc == 2)
    return cmd_doctor (backend);
  else if (g_str_equal (command, "schema-check") && (argc == 2 || argc == 3))
    return cmd_schema_check (backend, argc == 3 ? argv[2] : NULL);
  else if (g_str_equal (command, "import") && argc == 2)
    return cmd_import (backend);
  else if (g_str_equal (command, "set-server"))
    return run_change (backend, NULL, relay);
  else if (g_str_equal (command, "unset-server") && argc == 2)
    return run_change (backend, NULL, NULL);
  else if (g_str_equal (command, "set-domain"))
    return run_change (backend, argv[2], relay);
  else if (g_str_equal (command, "unset-domain") && argc == 3)
    return run_change (backend, argv[2], NULL);
  else if ((g_str_equal (command, "check") || g_str_equal (command, "send-test")) && argc == 2)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(SmarthostRelay) configured = configured_relay (backend, &error);
      if (configured == NULL)
        return fail_error (error);
      return g_str_equal (command, "check") ? run_probe (configured, opt.domain != NULL, NULL, NULL, FALSE)
                                            : run_probe (configured, opt.domain != NULL, opt.from, opt.to, FALSE);
    }
  else if (g_str_equal (command, "status") || g_str_equal (command, "list-domains") ||
           g_str_equal (command, "doctor") || g_str_equal (command, "import") ||
           g_str_equal (command, "schema-check") ||
           g_str_equal (command, "unset-server") || g_str_equal (command, "unset-domain") ||
           g_str_equal (command, "check") || g_str_equal (command, "send-test"))
    return fail (EXIT_USAGE, "wrong number of arguments for %s (see --help)", command);
  else
    return fail (EXIT_USAGE, "unknown command \"%s\" (see --help)", command);
}

int
main (int   argc,
      char *argv[])
{
  const char *bad_option;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(SmarthostBackend) backend = NULL;
  g_autoptr(SmarthostRelay) relay = NULL;
  const char *command;
  int status;

  setlocale (LC_ALL, "");
  opt.lock_timeout = G_MININT;   /* not given: the backend's own default */

  context = option_context_new ();
  if ((bad_option = option_with_bad_value (argc, argv)) != NULL)
    return fail (EXIT_USAGE, "%s: the value is not valid UTF-8", bad_option);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail (EXIT_USAGE, "%s (see --help)", error->message);
  if (opt.version)
    {
      g_print ("smarthostctl %s\n", PACKAGE_VERSION);
      return EXIT_SUCCESS;
    }
  if (argc < 2)
    return fail (EXIT_USAGE, "no command given (see --help)");
  command = argv[1];

  policy = load_policy (command, &error);
  if (policy == NULL)
    return fail_error (error);

  if (g_str_equal (command, "set-server") || g_str_equal (command, "set-domain"))
    {
      relay = relay_to_stage (command, argc, argv, &status);
      if (relay == NULL)
        return status;
    }
  else if (run_standalone_command (command, argc, argv, &status))
    return status;
  else if (any_relay_option ())
    return fail (EXIT_USAGE, "relay options only go with set-server, set-domain and check HOST");
  status = check_options_fit (command);
  if (status != EXIT_OK)
    return status;

  stdin_in_use = opt.password_stdin || (g_str_equal (command, "apply") && argc == 3 && g_str_equal (argv[2], "-"));
  backend = make_backend (&error);
  if (backend == NULL)
    return fail_error (error);
  warn_if_insecure (backend);
  return run_backend_command (backend, command, argc, argv, relay);
}
