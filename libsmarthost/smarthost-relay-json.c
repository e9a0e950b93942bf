/* smarthost-relay-json.c: relays as JSON, the shape of status --json and apply
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "smarthost-error.h"
#include "smarthost-files-private.h"
#include "smarthost-private.h"
#include "smarthost-provider.h"
#include "smarthost-relay.h"
#include "smarthost-util-private.h"

/*
 * Implementation notes
 *
 * A relay in JSON has the keys of `smarthostctl status --json`:
 *
 *   { "host": "smtp.sendgrid.net", "port": 587, "security": "starttls",
 *     "mx_lookup": false, "verify_certificate": true, "ca_file": null,
 *     "username": "apikey", "password_set": true }
 *
 * and, when read, a few more: "provider" and "region" stand in for the
 * host and port (a preset of SmarthostProvider), and the password comes by
 * reference, "password_file" (an absolute path) or "password_env" (the
 * name of an environment variable), or inline as "password" only when the
 * caller allows it. "password_set": true with none of them keeps the
 * password the backend has stored: that is what a state printed by
 * status --json says, so it can be applied back unchanged.
 *
 * Reading is strict, because these files drive live mail servers: every
 * key must be known and of its type ("verify_certificate": "no" is not
 * false, it is an error), and no error quotes a value that could be a
 * password, not even in a JSON syntax error.
 */

static const char * const relay_keys[] = {
  "host", "port", "security", "mx_lookup", "verify_certificate", "ca_file", "username", "password_set",
  "password_file", "password_env", "password", "provider", "region", NULL
};

/* The places of relay_keys. */
enum {
  KEY_HOST, KEY_PORT, KEY_SECURITY, KEY_MX_LOOKUP, KEY_VERIFY_CERTIFICATE, KEY_CA_FILE, KEY_USERNAME,
  KEY_PASSWORD_SET, KEY_PASSWORD_FILE, KEY_PASSWORD_ENV, KEY_PASSWORD, KEY_PROVIDER, KEY_REGION, N_KEYS
};
G_STATIC_ASSERT (G_N_ELEMENTS (relay_keys) == N_KEYS + 1);

G_STATIC_ASSERT (N_KEYS <= SMARTHOST_JSON_MAX_FIELDS);

/* The keys of a relay object, for the reader to read a relay of a state
 * into SmarthostJsonFields, by the place of its key in relay_keys, with no
 * tree (an object and its table) to build and free for each. */
const char * const *
_smarthost_relay_json_keys (void)
{
  return relay_keys;
}

/* Turns an error that names a relay property ("ca-file: must be …") into
 * one that names the JSON key where it was given ("server.ca_file: must
 * be …"), so that every error of a JSON file has one form. */
gboolean
_smarthost_json_name_field (GError     **error,
                            const char  *where)
{
  const char *message, *colon;
  g_autofree char *field = NULL;
  g_autofree char *rest = NULL;

  if (error == NULL || *error == NULL)
    return FALSE;
  message = (*error)->message;
  colon = strstr (message, ": ");
  if (colon == NULL || strspn (message, "abcdefghijklmnopqrstuvwxyz-") != (gsize) (colon - message))
    {
      g_prefix_error (error, "%s: ", where);
      return FALSE;
    }
  field = g_strndup (message, colon - message);
  g_strdelimit (field, "-", '_');
  rest = g_strdup (colon + 2);
  g_free ((*error)->message);
  (*error)->message = g_strdup_printf ("%s.%s: %s", where, field, rest);
  return FALSE;
}

/* The relay as a JSON object (null for no relay). Never the password. */
json_t *
_smarthost_relay_to_json_node (SmarthostRelay *relay)
{
  json_t *o;

  if (relay == NULL)
    return json_null ();
  o = json_object ();
  json_object_set_new (o, "host", _smarthost_json_string (smarthost_relay_get_host (relay)));
  json_object_set_new (o, "port", json_integer (smarthost_relay_get_effective_port (relay)));
  json_object_set_new (o, "security",
                       _smarthost_json_string (smarthost_security_to_string (smarthost_relay_get_security (relay))));
  json_object_set_new (o, "mx_lookup", json_boolean (smarthost_relay_get_mx_lookup (relay)));
  json_object_set_new (o, "verify_certificate", json_boolean (smarthost_relay_get_verify_certificate (relay)));
  json_object_set_new (o, "ca_file", _smarthost_json_string (smarthost_relay_get_ca_file (relay)));
  json_object_set_new (o, "username", _smarthost_json_string (smarthost_relay_get_username (relay)));
  json_object_set_new (o, "password_set", json_boolean (smarthost_relay_get_password_set (relay)));
  return o;
}

/* --- reading, strictly ------------------------------------------------ */

static gboolean
type_error (GError     **error,
            const char  *where,
            const char  *key,
            const char  *what)
{
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "%s.%s: must be %s", where, key, what);
  return FALSE;
}

/* A string member; absent or null gives NULL. */
static gboolean
get_string (const SmarthostJsonFields *o,
            int                        k,
            const char                *where,
            const char               **out,
            GError                   **error)
{
  json_t *node = o->values[k];
  const char *key = relay_keys[k];

  if (o->strings[k] != NULL)
    return *out = o->strings[k], TRUE;
  *out = NULL;
  if (node == NULL || json_is_null (node))
    return TRUE;
  if (!json_is_string (node))
    return type_error (error, where, key, "a string or null");
  *out = json_string_value (node);
  return TRUE;
}

/* A boolean member; absent leaves *@out as it is. */
static gboolean
get_boolean (const SmarthostJsonFields *o,
             int                        k,
             const char                *where,
             gboolean                  *out,
             GError                   **error)
{
  json_t *node = o->values[k];
  const char *key = relay_keys[k];

  if (o->strings[k] != NULL)
    return type_error (error, where, key, "true or false");
  if (node == NULL)
    return TRUE;
  if (!json_is_boolean (node))
    return type_error (error, where, key, "true or false");
  *out = json_is_true (node);
  return TRUE;
}

/* The port; absent or null gives 0 (the usual port of the mode). */
static gboolean
get_port (const SmarthostJsonFields *o,
          const char                *where,
          guint                     *out,
          GError                   **error)
{
  json_t *node = o->values[KEY_PORT];
  gint64 port;

  if (o->strings[KEY_PORT] != NULL)
    return type_error (error, where, "port", "a whole number between 1 and 65535, or null");

  *out = 0;
  if (node == NULL || json_is_null (node))
    return TRUE;
  if (!json_is_integer (node) || (port = json_integer_value (node)) < 1 || port > 65535)
    return type_error (error, where, "port", "a whole number between 1 and 65535, or null");
  *out = (guint) port;
  return TRUE;
}

/* The password a relay refers to, or NULL with nothing referred to. */
static gboolean
read_password (const SmarthostJsonFields *o,
               const char                *where,
               SmarthostJsonFlags         flags,
               char                     **password,
               GError                   **error)
{
  const char *inline_password, *file, *env;
  json_t *node = o->values[KEY_PASSWORD];

  *password = NULL;
  /* Not get_string(): its error could only say "must be a string", but
   * nothing here may echo what was given. */
  if (node != NULL && !json_is_null (node) && !json_is_string (node))
    return type_error (error, where, "password", "a string");
  inline_password = o->strings[KEY_PASSWORD] != NULL ? o->strings[KEY_PASSWORD] :
                    node != NULL && !json_is_null (node) ? json_string_value (node) : NULL;
  if (!get_string (o, KEY_PASSWORD_FILE, where, &file, error) ||
      !get_string (o, KEY_PASSWORD_ENV, where, &env, error))
    return FALSE;

  if ((inline_password != NULL) + (file != NULL) + (env != NULL) > 1)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "%s: give one of password_file, password_env and password", where), FALSE;
  if (inline_password != NULL)
    {
      if (!(flags & SMARTHOST_JSON_FLAGS_ALLOW_INLINE_PASSWORD))
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "%s.password: a password written into the data itself is refused unless "
                            "allowed explicitly (SMARTHOST_JSON_FLAGS_ALLOW_INLINE_PASSWORD); give "
                            "password_file or password_env instead", where), FALSE;
      *password = g_strdup (inline_password);
    }
  else if (file != NULL)
    {
      g_autoptr(GError) local_error = NULL;

      if (!g_path_is_absolute (file))
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "%s.password_file: must be an absolute path", where), FALSE;
      *password = smarthost_read_password_file (file, &local_error);
      if (*password == NULL)
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "%s.password_file: %s", where, local_error->message), FALSE;
    }
  else if (env != NULL)
    {
      const char *value = g_getenv (env);

      if (value == NULL || *value == '\0')
        {
          g_autofree char *shown = _smarthost_quote (env, -1);
          return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                              "%s.password_env: the environment variable %s is not set", where, shown), FALSE;
        }
      *password = g_strdup (value);
    }
  return TRUE;
}

/* A relay from a JSON object; @where names it in errors ("server",
 * "domains.example.com"). The relay is valid, but for a kept password
 * (see the notes above), which only staging can resolve. */
SmarthostRelay *
_smarthost_relay_from_json_node (const char          *where,
                                 json_t              *node,
                                 SmarthostJsonFlags   flags,
                                 GError             **error)
{
  SmarthostJsonFields fields = { relay_keys, { NULL }, { NULL } };
  const char *key;
  json_t *value;

  if (node == NULL || !json_is_object (node))
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "%s: must be an object (a relay) or null (none)", where), NULL;
  json_object_foreach (node, key, value)
    if (!g_strv_contains (relay_keys, key))
      {
        g_autofree char *known = g_strjoinv (", ", (char **) relay_keys);
        return _smarthost_json_unknown_key (error, where, key, known), NULL;
      }
  /* Borrowed: the fields are not cleared. */
  for (int i = 0; i < N_KEYS; i++)
    fields.values[i] = json_object_get (node, relay_keys[i]);
  return _smarthost_relay_from_json_fields (where, &fields, flags, error);
}

/* The same from the members of a relay object, every key a known one. */
SmarthostRelay *
_smarthost_relay_from_json_fields (const char                *where,
                                   const SmarthostJsonFields *o,
                                   SmarthostJsonFlags         flags,
                                   GError                   **error)
{
  g_autoptr(SmarthostRelay) relay = NULL;
  const char *host, *security_name, *ca_file, *username, *provider_id, *region;
  SmarthostSecurity security = SMARTHOST_SECURITY_STARTTLS;
  gboolean mx_lookup = FALSE, verify = TRUE, password_set = FALSE;
  char *password = NULL;
  guint port;

  if (!get_string (o, KEY_HOST, where, &host, error) ||
      !get_port (o, where, &port, error) ||
      !get_string (o, KEY_SECURITY, where, &security_name, error) ||
      !get_boolean (o, KEY_MX_LOOKUP, where, &mx_lookup, error) ||
      !get_boolean (o, KEY_VERIFY_CERTIFICATE, where, &verify, error) ||
      !get_string (o, KEY_CA_FILE, where, &ca_file, error) ||
      !get_string (o, KEY_USERNAME, where, &username, error) ||
      !get_boolean (o, KEY_PASSWORD_SET, where, &password_set, error) ||
      !get_string (o, KEY_PROVIDER, where, &provider_id, error) ||
      !get_string (o, KEY_REGION, where, &region, error))
    return NULL;
  if (security_name != NULL && !smarthost_security_from_string (security_name, &security, error))
    return g_prefix_error (error, "%s.", where), NULL;

  if (provider_id != NULL)
    {
      g_autoptr(SmarthostProvider) provider = NULL;

      if (host != NULL)
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "%s: give host or provider, not both", where), NULL;
      provider = smarthost_provider_lookup (provider_id, error);
      relay = provider ? smarthost_provider_create_relay (provider, region, security, error) : NULL;
      if (relay == NULL)
        return g_prefix_error (error, "%s.", where), NULL;
    }
  else if (region != NULL)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "%s.region: needs a provider", where), NULL;
  else if (host == NULL)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "%s: needs a host (or a provider)", where), NULL;
  else
    relay = _smarthost_relay_new_full (host, security, port, mx_lookup, verify, ca_file, username);

  if (provider_id != NULL)
    {
      if (port != 0)
        smarthost_relay_set_port (relay, port);
      smarthost_relay_set_mx_lookup (relay, mx_lookup);
      smarthost_relay_set_verify_certificate (relay, verify);
      smarthost_relay_set_ca_file (relay, ca_file);
      if (username != NULL)
        smarthost_relay_set_username (relay, username);
    }

  if (!read_password (o, where, flags, &password, error))
    return NULL;
  if (password != NULL)
    {
      smarthost_relay_set_password (relay, password);
      _smarthost_secret_free (password);
    }
  else if (password_set)
    {
      if (smarthost_relay_get_username (relay) == NULL)
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "%s.password_set: there is no password without a username", where), NULL;
      _smarthost_relay_mark_password_set (relay);
    }

  if (!_smarthost_relay_check (relay, TRUE, error))
    return _smarthost_json_name_field (error, where), NULL;
  return g_steal_pointer (&relay);
}

/**
 * smarthost_relay_new_from_json:
 * @json: a relay as a JSON object, the shape [method@Relay.to_json] writes
 * @flags: how to read passwords
 * @error: return location for a #GError
 *
 * Reads a relay from JSON: the keys `host`, `port`, `security`
 * (`none`, `starttls` or `tls`), `mx_lookup`, `verify_certificate`,
 * `ca_file`, `username` and `password_set` of [method@Relay.to_json], and
 * also `provider` and `region` (a [class@Provider] preset standing in for
 * the host and port), and the password by reference: `password_file` (an
 * absolute path; the file holds the password on one line) or
 * `password_env` (the name of an environment variable). A `password` key
 * holding the password itself is accepted only with
 * %SMARTHOST_JSON_FLAGS_ALLOW_INLINE_PASSWORD.
 *
 * `password_set` true with no password means "keep the password stored for
 * this relay": staging such a relay in a transaction keeps the password
 * the backend has for the same domain (or the server) and user name.
 *
 * Every key must be known and of its type, and given once. Errors never
 * quote the data. Text longer than %SMARTHOST_JSON_MAX_SIZE, or nested
 * deeper than %SMARTHOST_JSON_MAX_DEPTH, is refused before it is parsed.
 * A `password_file` is read at once, as [ctor@State.new_from_json] says.
 *
 * Returns: (transfer full): the relay, or %NULL with @error set to
 *   %SMARTHOST_ERROR_INVALID naming the key
 */
SmarthostRelay *
smarthost_relay_new_from_json (const char          *json,
                               SmarthostJsonFlags   flags,
                               GError             **error)
{
  g_autoptr(SmarthostSecretJson) root = NULL;

  g_return_val_if_fail (json != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  root = _smarthost_json_parse ("relay", json, -1, SMARTHOST_JSON_PARSE_OBJECT, error);
  return root ? _smarthost_relay_from_json_node ("relay", root, flags, error) : NULL;
}

/**
 * smarthost_relay_to_json:
 * @self: a relay
 *
 * Writes the relay as a JSON object, as `smarthostctl status --json` shows
 * relays: `host`, `port` (the effective one), `security`, `mx_lookup`,
 * `verify_certificate`, `ca_file`, `username` and `password_set`. The
 * password itself is never written. [ctor@Relay.new_from_json] reads it
 * back.
 *
 * Returns: (transfer full): the JSON text
 */
char *
smarthost_relay_to_json (SmarthostRelay *self)
{
  g_autoptr(json_t) node = NULL;

  g_return_val_if_fail (SMARTHOST_IS_RELAY (self), NULL);
  node = _smarthost_relay_to_json_node (self);
  return _smarthost_json_to_data (node, NULL);
}

/**
 * smarthost_read_password_file:
 * @path: (type filename): a file holding a password, or `-` for standard
 *   input
 * @error: return location for a #GError
 *
 * Reads a password the way every front end of the library takes one: from
 * a file that holds it alone, on one line (its line break is not part of
 * the password), as `smarthostctl --password-file` and the `password_file`
 * of a state do. The file must be a regular file of at most 64 KiB: a
 * FIFO, a device such as `/dev/zero` or a larger file is refused at once,
 * never read without end or waited on. `-` reads standard input, which may
 * be a pipe, to its end (with the same bound).
 *
 * The returned string is a secret: wipe it when done (the library's own
 * copies are wiped when freed).
 *
 * Returns: (transfer full): the password, or %NULL with @error set
 *   (%SMARTHOST_ERROR_INVALID; the message names the file, never the
 *   password)
 */
char *
smarthost_read_password_file (const char  *path,
                              GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  const char *name;
  char *password = NULL;
  gsize len = 0;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  name = g_str_equal (path, "-") ? "standard input" : path;
  if (!_smarthost_read_file_limited (path, SMARTHOST_READ_TEXT | SMARTHOST_READ_STDIN, SMARTHOST_READ_PASSWORD_LIMIT,
                                     &password, &len, NULL, &local_error))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "%s", local_error->message);
      return NULL;
    }
  if (len > 0 && password[len - 1] == '\n')
    password[--len] = '\0';
  if (len > 0 && password[len - 1] == '\r')
    password[--len] = '\0';
  if (len == 0 || strpbrk (password, "\r\n") != NULL)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                   len == 0 ? "%s is empty: it must hold the password" :
                              "%s must hold the password alone, on one line", name);
      _smarthost_secret_free (password);
      return NULL;
    }
  return password;
}
