/* smarthostctl: configure outbound smarthosts from the command line
 *
 * A thin front end: it parses, calls the libsmarthost API and prints.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <smarthost.h>

enum {
  EXIT_OK = 0,
  EXIT_FAILED = 1,
  EXIT_USAGE = 2,
  EXIT_DISABLED = 3,
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
} Options;

static Options opt;
static SmarthostPolicy *policy;

static const GOptionEntry global_entries[] = {
  { "backend", 0, 0, G_OPTION_ARG_STRING, &opt.backend_name, "Mail server backend (default: postfix)", "NAME" },
  { "config-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt.config_dir, "Mail server configuration directory (Postfix: default /etc/postfix)", "DIR" },
  { "json", 0, 0, G_OPTION_ARG_NONE, &opt.json, "Print JSON", NULL },
  { "dry-run", 0, 0, G_OPTION_ARG_NONE, &opt.dry_run, "Print the diff and the commands, change nothing", NULL },
  { "no-reload", 0, 0, G_OPTION_ARG_NONE, &opt.no_reload, "Do not reload the mail server after a change", NULL },
  { "lock-timeout", 0, 0, G_OPTION_ARG_INT, &opt.lock_timeout, "Wait at most SECONDS for another commit to end (default 300)", "SECONDS" },
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
  "  spf DOMAIN [--provider NAME | --include DOMAIN] [--record TEXT]\n"
  "                                           the domain's SPF record with the relay's include\n"
  "\n"
  "The options from --port on are relay options, for set-server and set-domain.\n"
  "No option takes the password itself: use --password-stdin or --password-file.\n"
  "Exit status: 0 ok; 1 the operation (or the check) failed and nothing changed;\n"
  "2 usage error or invalid input, nothing changed; 3 refused by policy.";

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
      default:
        return EXIT_FAILED;
      }
  return EXIT_FAILED;
}

static int
fail_error (const GError *error)
{
  return fail (exit_status_for (error), "%s", error->message);
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
      explicit_bzero (password, strlen (password));
      g_free (password);
    }
  return g_steal_pointer (&relay);
}

/* A relay as the library writes it in JSON (never the password). */
static JsonNode *
relay_to_json (SmarthostRelay *relay)
{
  g_autofree char *text = NULL;

  if (relay == NULL)
    return json_node_new (JSON_NODE_NULL);
  text = smarthost_relay_to_json (relay);
  return json_from_string (text, NULL);
}

static void
print_json (JsonNode *node)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  text = json_generator_to_data (gen, NULL);
  g_print ("%s\n", text);
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
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_array (b);
      for (guint i = 0; domains[i]; i++)
        json_builder_add_string_value (b, domains[i]);
      json_builder_end_array (b);
      root = json_builder_get_root (b);
      print_json (root);
    }
  else
    for (guint i = 0; domains[i]; i++)
      g_print ("%s\n", domains[i]);
  return EXIT_OK;
}

/* The quirks of the relay services the relays use, as warnings on
 * standard error, once per service. */
static void
print_quirks (SmarthostRelay * const *relays,
              guint                   n_relays)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_direct_hash, g_direct_equal);

  for (guint r = 0; r < n_relays; r++)
    {
      g_autoptr(SmarthostProvider) provider = relays[r] ? smarthost_provider_find_for_relay (relays[r], NULL) : NULL;
      const char * const *quirks;

      if (provider == NULL || !g_hash_table_add (seen, (gpointer) smarthost_provider_get_id (provider)))
        continue;
      quirks = smarthost_provider_get_quirks (provider);
      for (guint i = 0; quirks[i]; i++)
        g_printerr ("smarthostctl: warning: %s: %s\n", smarthost_provider_get_name (provider), quirks[i]);
    }
}

/* The relays of @state whose quirks print_quirks() tells: one of each
 * host, the server's first, then in the order of the domains. Looking up
 * the service of each of 100,000 relays that use a few hosts was most of
 * the time; and the state can go before the commit, with its memory. */
static GPtrArray *
state_quirk_relays (SmarthostState *state)
{
  g_auto(GStrv) domains = smarthost_state_list_domains (state);
  g_autoptr(GHashTable) hosts = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *relays = g_ptr_array_new_with_free_func (g_object_unref);
  SmarthostRelay *server = smarthost_state_get_server (state);

  if (server != NULL)
    {
      g_hash_table_add (hosts, (gpointer) smarthost_relay_get_host (server));
      g_ptr_array_add (relays, g_object_ref (server));
    }
  for (guint i = 0; domains[i]; i++)
    {
      SmarthostRelay *relay = smarthost_state_get_domain (state, domains[i]);

      if (relay != NULL && g_hash_table_add (hosts, (gpointer) smarthost_relay_get_host (relay)))
        g_ptr_array_add (relays, g_object_ref (relay));
    }
  return relays;
}

static int run_probe (SmarthostRelay *relay,
                      gboolean        for_domain,
                      const char     *sender,
                      const char     *recipient,
                      gboolean        quiet_on_success);

/* Stages one change, then previews or commits it. */
static int
run_change (SmarthostBackend *backend,
            const char       *domain,
            SmarthostRelay   *relay)
{
  g_autoptr(SmarthostTransaction) tx = smarthost_backend_begin (backend);
  g_autoptr(GError) error = NULL;
  g_autoptr(SmarthostRelay) after = NULL;
  gboolean ok;

  smarthost_transaction_set_reload (tx, !opt.no_reload);
  smarthost_transaction_set_policy (tx, policy);
  if (domain != NULL)
    ok = smarthost_transaction_set_domain (tx, domain, relay, &error);
  else
    ok = smarthost_transaction_set_server (tx, relay, &error);
  if (!ok)
    return fail_error (error);
  if (relay != NULL)
    print_quirks (&relay, 1);

  /* --check: like Cloudron, verify the relay before saving it. */
  if (opt.check && relay != NULL)
    {
      int status = run_probe (relay, domain != NULL, NULL, NULL, TRUE);
      if (status != EXIT_OK)
        return fail (status, "the relay check failed: nothing was changed");
    }

  if (opt.dry_run)
    {
      g_autofree char *preview = smarthost_transaction_preview (tx, NULL, &error);
      if (preview == NULL)
        return fail_error (error);
      if (opt.json)
        {
          g_autoptr(JsonBuilder) b = json_builder_new ();
          g_autoptr(JsonNode) root = NULL;
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "dry_run");
          json_builder_add_boolean_value (b, TRUE);
          json_builder_set_member_name (b, "preview");
          json_builder_add_string_value (b, preview);
          json_builder_end_object (b);
          root = json_builder_get_root (b);
          print_json (root);
        }
      else
        g_print ("%s", preview);
      return EXIT_OK;
    }

  if (!smarthost_transaction_commit (tx, NULL, &error))
    return fail_error (error);

  if (domain != NULL)
    after = smarthost_backend_get_domain (backend, domain, NULL, NULL);
  else
    after = smarthost_backend_get_server (backend, NULL, NULL);

  if (opt.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "changed");
      json_builder_add_boolean_value (b, smarthost_transaction_get_changed (tx));
      if (domain != NULL)
        {
          g_autofree char *normalized = smarthost_domain_normalize (domain, NULL);
          json_builder_set_member_name (b, "domain");
          json_builder_add_string_value (b, normalized);
        }
      json_builder_set_member_name (b, domain ? "relay" : "server");
      json_builder_add_value (b, relay_to_json (after));
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      print_json (root);
    }
  else if (!smarthost_transaction_get_changed (tx))
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
  g_autoptr(SmarthostRelay) relay = NULL;

  if (opt.domain != NULL)
    {
      relay = smarthost_backend_get_domain (backend, opt.domain, NULL, error);
      if (relay != NULL || (error && *error))
        return g_steal_pointer (&relay);
      if (!opt.json)
        g_print ("%s has no smarthost of its own: its mail uses the server-wide smarthost.\n", opt.domain);
    }
  relay = smarthost_backend_get_server (backend, NULL, error);
  if (relay == NULL && error && *error == NULL)
    g_set_error_literal (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                         "check: no smarthost is configured; give a HOST to check one");
  return g_steal_pointer (&relay);
}

/* What an import took over, from the notes of its preview ("adopts ... as
 * the server-wide smarthost", "... as the smarthost of DOMAIN (..."). */
static void
adopted_from_preview (const char  *preview,
                      gboolean    *server,
                      GPtrArray   *domains)
{
  g_auto(GStrv) lines = g_strsplit (preview, "\n", 0);

  for (guint i = 0; lines[i]; i++)
    {
      const char *as;
      if (!g_str_has_prefix (lines[i], "# note: adopts "))
        continue;
      if (strstr (lines[i], " as the server-wide smarthost (") != NULL)
        *server = TRUE;
      else if ((as = strstr (lines[i], " as the smarthost of ")) != NULL)
        {
          as += strlen (" as the smarthost of ");
          g_ptr_array_add (domains, g_strndup (as, strcspn (as, " ")));
        }
    }
}

static int
cmd_import (SmarthostBackend *backend)
{
  g_autoptr(SmarthostTransaction) tx = smarthost_backend_begin (backend);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) domains = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(SmarthostRelay) server = NULL;
  g_autofree char *preview = NULL;
  gboolean adopted_server = FALSE;

  smarthost_transaction_set_reload (tx, !opt.no_reload);
  smarthost_transaction_set_policy (tx, policy);
  if (!smarthost_transaction_adopt (tx, &error))
    return fail_error (error);
  /* The preview names what is adopted. A read first, for a real import:
   * it finishes a commit that was interrupted, which a preview (changing
   * nothing) would refuse to look past. */
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
        {
          g_autoptr(JsonBuilder) b = json_builder_new ();
          g_autoptr(JsonNode) root = NULL;
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "dry_run");
          json_builder_add_boolean_value (b, TRUE);
          json_builder_set_member_name (b, "preview");
          json_builder_add_string_value (b, preview);
          json_builder_end_object (b);
          root = json_builder_get_root (b);
          print_json (root);
        }
      else if (*preview == '\0')
        g_print ("No change: there is no hand-made smarthost setup to import.\n");
      else
        g_print ("%s", preview);
      return EXIT_OK;
    }

  if (!smarthost_transaction_commit (tx, NULL, &error))
    return fail_error (error);
  if (smarthost_transaction_get_changed (tx))
    adopted_from_preview (preview, &adopted_server, domains);
  if (adopted_server)
    server = smarthost_backend_get_server (backend, NULL, NULL);

  if (opt.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "changed");
      json_builder_add_boolean_value (b, smarthost_transaction_get_changed (tx));
      json_builder_set_member_name (b, "adopted");
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "server");
      json_builder_add_value (b, relay_to_json (server));
      json_builder_set_member_name (b, "domains");
      json_builder_begin_object (b);
      for (guint i = 0; i < domains->len; i++)
        {
          g_autoptr(SmarthostRelay) r = smarthost_backend_get_domain (backend, g_ptr_array_index (domains, i),
                                                                      NULL, NULL);
          json_builder_set_member_name (b, g_ptr_array_index (domains, i));
          json_builder_add_value (b, relay_to_json (r));
        }
      json_builder_end_object (b);
      json_builder_end_object (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
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
      for (guint i = 0; i < domains->len; i++)
        {
          g_autoptr(SmarthostRelay) r = smarthost_backend_get_domain (backend, g_ptr_array_index (domains, i),
                                                                      NULL, NULL);
          g_autofree char *text = r ? smarthost_relay_to_string (r) : g_strdup ("?");
          g_print ("Imported the smarthost of %s: %s\n", (char *) g_ptr_array_index (domains, i), text);
        }
      if (server == NULL && domains->len == 0)
        g_print ("Imported: the hand-made settings are now managed.\n");
    }
  return EXIT_OK;
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

  if (opt.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "findings");
      json_builder_begin_array (b);
      for (guint i = 0; i < findings->len; i++)
        {
          SmarthostFinding *f = g_ptr_array_index (findings, i);
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "severity");
          json_builder_add_string_value (b, smarthost_severity_to_string (smarthost_finding_get_severity (f)));
          json_builder_set_member_name (b, "code");
          json_builder_add_string_value (b, smarthost_finding_get_code (f));
          json_builder_set_member_name (b, "message");
          json_builder_add_string_value (b, smarthost_finding_get_message (f));
          json_builder_set_member_name (b, "fix");
          json_builder_add_string_value (b, smarthost_finding_get_fix (f));
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      print_json (root);
    }
  else if (findings->len == 0)
    g_print ("No problems found.\n");
  else
    for (guint i = 0; i < findings->len; i++)
      {
        SmarthostFinding *f = g_ptr_array_index (findings, i);
        g_autofree char *message = terminal_safe (smarthost_finding_get_message (f), FALSE, MAX_MESSAGE);
        g_autofree char *fix = terminal_safe (smarthost_finding_get_fix (f), FALSE, MAX_MESSAGE);
        g_print ("%s%s [%s]: %s\n  fix: %s\n", i ? "\n" : "",
                 smarthost_severity_to_string (smarthost_finding_get_severity (f)),
                 smarthost_finding_get_code (f), message, fix);
      }
  return any_error ? EXIT_FAILED : EXIT_OK;
}

static SmarthostBackend *
make_backend (GError **error)
{
  g_autoptr(SmarthostBackend) backend = NULL;

  backend = smarthost_backend_new_for_name (opt.backend_name ? opt.backend_name : "postfix", error);
  if (backend == NULL)
    return NULL;
  if (opt.config_dir)
    {
      g_autofree char *absolute = g_canonicalize_filename (opt.config_dir, NULL);
      if (g_object_class_find_property (G_OBJECT_GET_CLASS (backend), "config-directory") == NULL)
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "config-dir: the %s backend has no configuration directory",
                            smarthost_backend_get_name (backend)), NULL;
      /* config-directory is construct-only: make a new object with it. */
      {
        GType type = G_OBJECT_TYPE (backend);
        g_object_unref (g_steal_pointer (&backend));
        backend = g_object_new (type, "config-directory", absolute, NULL);
      }
    }
  if (opt.lock_timeout >= 0)
    {
      if (g_object_class_find_property (G_OBJECT_GET_CLASS (backend), "lock-timeout") == NULL)
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "lock-timeout: the %s backend takes no lock", smarthost_backend_get_name (backend)), NULL;
      if (opt.lock_timeout > 24 * 3600)
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "lock-timeout: at most 86400 seconds (a day)"), NULL;
      g_object_set (backend, "lock-timeout", (guint) opt.lock_timeout, NULL);
    }
  return g_steal_pointer (&backend);
}

static int
cmd_providers (void)
{
  g_autoptr(GPtrArray) providers = smarthost_provider_list ();

  if (opt.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_array (b);
      for (guint i = 0; i < providers->len; i++)
        {
          SmarthostProvider *p = g_ptr_array_index (providers, i);
          g_autofree char *host = smarthost_provider_get_host (p, NULL, NULL);
          const char * const *regions = smarthost_provider_get_regions (p);
          const char * const *quirks = smarthost_provider_get_quirks (p);
          const char *region = smarthost_provider_get_default_region (p);

          json_builder_begin_object (b);
          json_builder_set_member_name (b, "id");
          json_builder_add_string_value (b, smarthost_provider_get_id (p));
          json_builder_set_member_name (b, "name");
          json_builder_add_string_value (b, smarthost_provider_get_name (p));
          json_builder_set_member_name (b, "host");
          json_builder_add_string_value (b, host);
          /* Each mode's ports, the default first. */
          json_builder_set_member_name (b, "ports");
          json_builder_begin_object (b);
          for (SmarthostSecurity sec = SMARTHOST_SECURITY_NONE; sec <= SMARTHOST_SECURITY_TLS; sec++)
            {
              gsize n = 0;
              const guint *ports = smarthost_provider_get_ports (p, sec, &n);

              if (n == 0)
                continue;
              json_builder_set_member_name (b, smarthost_security_to_string (sec));
              json_builder_begin_array (b);
              for (gsize j = 0; j < n; j++)
                json_builder_add_int_value (b, ports[j]);
              json_builder_end_array (b);
            }
          json_builder_end_object (b);
          json_builder_set_member_name (b, "username");
          if (smarthost_provider_get_username (p))
            json_builder_add_string_value (b, smarthost_provider_get_username (p));
          else
            json_builder_add_null_value (b);
          json_builder_set_member_name (b, "spf_include");
          json_builder_add_string_value (b, smarthost_provider_get_spf_include (p));
          json_builder_set_member_name (b, "default_region");
          if (region != NULL)
            json_builder_add_string_value (b, region);
          else
            json_builder_add_null_value (b);
          json_builder_set_member_name (b, "regions");
          json_builder_begin_array (b);
          for (guint j = 0; regions[j]; j++)
            json_builder_add_string_value (b, regions[j]);
          json_builder_end_array (b);
          json_builder_set_member_name (b, "quirks");
          json_builder_begin_array (b);
          for (guint j = 0; quirks[j]; j++)
            json_builder_add_string_value (b, quirks[j]);
          json_builder_end_array (b);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
      root = json_builder_get_root (b);
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
      g_autoptr(SmarthostRelay) relay = NULL;

      if (backend == NULL)
        return fail_error (error);
      relay = smarthost_backend_get_domain (backend, normalized, NULL, &error);
      if (relay == NULL && error == NULL)
        relay = smarthost_backend_get_server (backend, NULL, &error);
      if (error != NULL)
        return fail_error (error);
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
  zone = smarthost_spf_to_zone_text (merged);

  if (opt.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) root = NULL;

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "domain");
      json_builder_add_string_value (b, normalized);
      json_builder_set_member_name (b, "current");
      if (current)
        json_builder_add_string_value (b, current);
      else
        json_builder_add_null_value (b);
      json_builder_set_member_name (b, "record");
      json_builder_add_string_value (b, merged);
      json_builder_set_member_name (b, "changed");
      /* Changed: the record must change for the relay to pass SPF (not
       * merely tidied: quotes, spaces, dead terms). */
      json_builder_add_boolean_value (b, !smarthost_spf_authorizes (current, include));
      json_builder_set_member_name (b, "zone");
      json_builder_add_string_value (b, zone);
      json_builder_set_member_name (b, "warnings");
      json_builder_begin_array (b);
      for (guint i = 0; i < all_warnings->len; i++)
        json_builder_add_string_value (b, g_ptr_array_index (all_warnings, i));
      json_builder_end_array (b);
      json_builder_end_object (b);
      root = json_builder_get_root (b);
      print_json (root);
    }
  else
    {
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
          if ((nl = memrchr (text, '\n', len)) != NULL)
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
  g_autoptr(GPtrArray) quirk_relays = NULL;
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
   * copy): found before, so that the list of the domains is gone before
   * the copy is made. */
  quirk_relays = state_quirk_relays (state);
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
        print_quirks ((SmarthostRelay * const *) quirk_relays->pdata, quirk_relays->len);
      if (opt.json)
        {
          g_autoptr(JsonBuilder) b = json_builder_new ();
          g_autoptr(JsonNode) out = NULL;
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "dry_run");
          json_builder_add_boolean_value (b, TRUE);
          json_builder_set_member_name (b, "changed");
          json_builder_add_boolean_value (b, changed);
          json_builder_set_member_name (b, "preview");
          json_builder_add_string_value (b, preview);
          json_builder_end_object (b);
          out = json_builder_get_root (b);
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
    print_quirks ((SmarthostRelay * const *) quirk_relays->pdata, quirk_relays->len);
  if (opt.json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();
      g_autoptr(JsonNode) out = NULL;
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "changed");
      json_builder_add_boolean_value (b, changed);
      json_builder_set_member_name (b, "changes_staged");
      json_builder_add_int_value (b, smarthost_transaction_get_n_changes (tx));
      json_builder_end_object (b);
      out = json_builder_get_root (b);
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
  opt.lock_timeout = -1;   /* the backend's own default */

  context = g_option_context_new ("COMMAND [ARGS]");
  g_option_context_set_summary (context, "Configure outbound smarthosts (SMTP relays) of a mail server.");
  g_option_context_set_description (context, summary);
  g_option_context_add_main_entries (context, global_entries, NULL);

  if ((bad_option = option_with_bad_value (argc, argv)) != NULL)
    return fail (EXIT_USAGE, "%s: the value is not valid UTF-8", bad_option);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail (EXIT_USAGE, "%s (see --help)", error->message);
  if (argc < 2)
    return fail (EXIT_USAGE, "no command given (see --help)");
  command = argv[1];

  /* Reading is always allowed, whatever the policy file holds. */
  if (g_str_equal (command, "status") || g_str_equal (command, "list-domains") ||
      g_str_equal (command, "doctor"))
    policy = smarthost_policy_new ();
  else
    policy = opt.policy_file ? smarthost_policy_new_from_file (opt.policy_file, &error)
                             : smarthost_policy_load_default (&error);
  if (policy == NULL)
    return fail_error (error);

  if (g_str_equal (command, "set-server") || g_str_equal (command, "set-domain"))
    {
      gboolean domain = g_str_equal (command, "set-domain");
      int want = domain ? 4 : 3;

      /* With --provider, HOST may be left out. */
      if (argc != want && !(opt.provider && argc == want - 1))
        return fail (EXIT_USAGE, "usage: smarthostctl %s %s[RELAY-OPTIONS]", command,
                     domain ? "DOMAIN HOST " : "HOST ");
      relay = relay_from_options (argc == want ? argv[want - 1] : NULL, &error);
      if (relay == NULL)
        return fail_error (error);
    }
  else if (g_str_equal (command, "check") && argc == 3)
    {
      /* An ad-hoc check needs no mail server configuration at all. */
      if (opt.domain)
        return fail (EXIT_USAGE, "check HOST takes no --domain");
      relay = relay_from_options (argv[2], &error);
      if (relay == NULL)
        return fail_error (error);
      return run_probe (relay, FALSE, NULL, NULL, FALSE);
    }
  else if (g_str_equal (command, "providers"))
    return argc == 2 ? cmd_providers () : fail (EXIT_USAGE, "providers takes no arguments");
  else if (g_str_equal (command, "spf"))
    {
      if (argc != 3 || (any_relay_option () && !(opt.provider && !opt.region && !opt.port && !opt.security &&
                                                 !opt.user && !opt.password_file && !opt.password_stdin &&
                                                 !opt.ca_file && !opt.no_verify && !opt.mx_lookup)))
        return fail (EXIT_USAGE, "usage: smarthostctl spf DOMAIN [--provider NAME | --include DOMAIN] [--record TEXT]");
      return cmd_spf (argv[2]);
    }
  else if (any_relay_option ())
    return fail (EXIT_USAGE, "relay options only go with set-server, set-domain and check HOST");
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

  backend = make_backend (&error);
  if (backend == NULL)
    return fail_error (error);

  if (g_str_equal (command, "apply") && argc == 3)
    status = cmd_apply (backend, argv[2]);
  else if (g_str_equal (command, "status") && argc == 2)
    status = cmd_status (backend);
  else if (g_str_equal (command, "list-domains") && argc == 2)
    status = cmd_list_domains (backend);
  else if (g_str_equal (command, "doctor") && argc == 2)
    status = cmd_doctor (backend);
  else if (g_str_equal (command, "import") && argc == 2)
    status = cmd_import (backend);
  else if (g_str_equal (command, "set-server"))
    status = run_change (backend, NULL, relay);
  else if (g_str_equal (command, "unset-server") && argc == 2)
    status = run_change (backend, NULL, NULL);
  else if (g_str_equal (command, "set-domain"))
    status = run_change (backend, argv[2], relay);
  else if (g_str_equal (command, "unset-domain") && argc == 3)
    status = run_change (backend, argv[2], NULL);
  else if ((g_str_equal (command, "check") || g_str_equal (command, "send-test")) && argc == 2)
    {
      g_autoptr(SmarthostRelay) configured = configured_relay (backend, &error);
      if (configured == NULL)
        return fail_error (error);
      status = g_str_equal (command, "check") ? run_probe (configured, opt.domain != NULL, NULL, NULL, FALSE)
                                              : run_probe (configured, opt.domain != NULL, opt.from, opt.to, FALSE);
    }
  else if (g_str_equal (command, "status") || g_str_equal (command, "list-domains") ||
           g_str_equal (command, "doctor") || g_str_equal (command, "import") ||
           g_str_equal (command, "unset-server") || g_str_equal (command, "unset-domain") ||
           g_str_equal (command, "check") || g_str_equal (command, "send-test"))
    status = fail (EXIT_USAGE, "wrong number of arguments for %s (see --help)", command);
  else
    status = fail (EXIT_USAGE, "unknown command \"%s\" (see --help)", command);
  return status;
}
