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

/* The members of a relay object, by the place of their key in relay_keys
 * (NULL when absent): what the reader reads a relay of a state into, with
 * no tree (a JsonObject and its tables) to build and free for each. */
struct _SmarthostJsonRelay
{
  JsonNode *values[N_KEYS];
  /* A string value as the reader read it, in place of a node (most values
   * of a relay are strings); the value of "password" is wiped. */
  char *strings[N_KEYS];
};

static int
relay_key_index (const char *key)
{
  for (int i = 0; i < N_KEYS; i++)
    if (strcmp (key, relay_keys[i]) == 0)
      return i;
  return -1;
}

/* An unknown key, named in the error if it looks like one: a key name
 * mistyped. Anything else (a value pasted where a key belongs, a
 * password among them) is not quoted. */
/* Whether an error may quote @key: a key name (lower case and
 * underscores), or a domain name; not what could be a password pasted in
 * the wrong place. */
gboolean
_smarthost_json_key_is_showable (const char *key)
{
  /* One pass (strspn() with a long set builds a table each call: it was
   * called for each of 100,000 domains). */
  gboolean key_name = TRUE, domain_name = TRUE, dot = FALSE;
  const char *p;
  gsize len;

  for (p = key; *p; p++)
    {
      char c = *p;

      if (!((c >= 'a' && c <= 'z') || c == '_'))
        key_name = FALSE;
      if (!(g_ascii_isalnum (c) || c == '.' || c == '-'))
        domain_name = FALSE;
      if (c == '.')
        dot = TRUE;
    }
  len = (gsize) (p - key);
  if (len == 0 || len > 253)
    return FALSE;
  if (key_name)
    return len <= 32;
  return dot && domain_name;
}

gboolean
_smarthost_json_unknown_key (GError     **error,
                             const char  *where,
                             const char  *key,
                             const char  *known)
{
  if (_smarthost_json_key_is_showable (key) && strchr (key, '.') == NULL)
    {
      g_autofree char *shown = _smarthost_quote (key, -1);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "%s: unknown key %s; known: %s",
                   where, shown, known);
    }
  else
    g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                 "%s: an unknown key (not shown: it is not a key name); known: %s", where, known);
  return FALSE;
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
JsonNode *
_smarthost_relay_to_json_node (SmarthostRelay *relay)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  const char *ca_file, *username;

  if (relay == NULL)
    return json_node_new (JSON_NODE_NULL);
  ca_file = smarthost_relay_get_ca_file (relay);
  username = smarthost_relay_get_username (relay);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "host");
  json_builder_add_string_value (b, smarthost_relay_get_host (relay));
  json_builder_set_member_name (b, "port");
  json_builder_add_int_value (b, smarthost_relay_get_effective_port (relay));
  json_builder_set_member_name (b, "security");
  json_builder_add_string_value (b, smarthost_security_to_string (smarthost_relay_get_security (relay)));
  json_builder_set_member_name (b, "mx_lookup");
  json_builder_add_boolean_value (b, smarthost_relay_get_mx_lookup (relay));
  json_builder_set_member_name (b, "verify_certificate");
  json_builder_add_boolean_value (b, smarthost_relay_get_verify_certificate (relay));
  json_builder_set_member_name (b, "ca_file");
  if (ca_file != NULL)
    json_builder_add_string_value (b, ca_file);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "username");
  if (username != NULL)
    json_builder_add_string_value (b, username);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "password_set");
  json_builder_add_boolean_value (b, smarthost_relay_get_password_set (relay));
  json_builder_end_object (b);
  return json_builder_get_root (b);
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
get_string (const SmarthostJsonRelay  *o,
            int                        k,
            const char                *where,
            const char               **out,
            GError                   **error)
{
  JsonNode *node = o->values[k];
  const char *key = relay_keys[k];

  if (o->strings[k] != NULL)
    return *out = o->strings[k], TRUE;
  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    return type_error (error, where, key, "a string or null");
  *out = json_node_get_string (node);
  return TRUE;
}

/* A boolean member; absent leaves *@out as it is. */
static gboolean
get_boolean (const SmarthostJsonRelay  *o,
             int                        k,
             const char                *where,
             gboolean                  *out,
             GError                   **error)
{
  JsonNode *node = o->values[k];
  const char *key = relay_keys[k];

  if (o->strings[k] != NULL)
    return type_error (error, where, key, "true or false");
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return type_error (error, where, key, "true or false");
  *out = json_node_get_boolean (node);
  return TRUE;
}

/* The port; absent or null gives 0 (the usual port of the mode). */
static gboolean
get_port (const SmarthostJsonRelay  *o,
          const char                *where,
          guint                     *out,
          GError                   **error)
{
  JsonNode *node = o->values[KEY_PORT];
  gint64 port;

  if (o->strings[KEY_PORT] != NULL)
    return type_error (error, where, "port", "a whole number between 1 and 65535, or null");

  *out = 0;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_INT64 ||
      (port = json_node_get_int (node)) < 1 || port > 65535)
    return type_error (error, where, "port", "a whole number between 1 and 65535, or null");
  *out = (guint) port;
  return TRUE;
}

/* The password a relay refers to, or NULL with nothing referred to. */
static gboolean
read_password (const SmarthostJsonRelay  *o,
               const char                *where,
               SmarthostJsonFlags         flags,
               char                     **password,
               GError                   **error)
{
  const char *inline_password, *file, *env;
  JsonNode *node = o->values[KEY_PASSWORD];

  *password = NULL;
  /* Not get_string(): its error could only say "must be a string", but
   * nothing here may echo what was given. */
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node) &&
      (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING))
    return type_error (error, where, "password", "a string");
  inline_password = o->strings[KEY_PASSWORD] != NULL ? o->strings[KEY_PASSWORD] :
                    node != NULL && !JSON_NODE_HOLDS_NULL (node) ? json_node_get_string (node) : NULL;
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
                                 JsonNode            *node,
                                 SmarthostJsonFlags   flags,
                                 GError             **error)
{
  g_autoptr(GList) members = NULL;
  SmarthostJsonRelay fields = { { NULL }, { NULL } };
  JsonObject *o;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "%s: must be an object (a relay) or null (none)", where), NULL;
  o = json_node_get_object (node);
  members = json_object_get_members (o);
  for (GList *l = members; l; l = l->next)
    if (!g_strv_contains (relay_keys, l->data))
      {
        g_autofree char *known = g_strjoinv (", ", (char **) relay_keys);
        return _smarthost_json_unknown_key (error, where, l->data, known), NULL;
      }
  for (int i = 0; i < N_KEYS; i++)
    fields.values[i] = json_object_get_member (o, relay_keys[i]);
  return _smarthost_relay_from_json_fields (where, &fields, flags, error);
}

/* The same from the members of a relay object, every key a known one. */
SmarthostRelay *
_smarthost_relay_from_json_fields (const char                *where,
                                   const SmarthostJsonRelay  *o,
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

/* Follows the structure of JSON text from @p, an opening brace, to @end:
 * sets *@object_end to just past the brace that closes it (NULL when none
 * does), and refuses nesting deeper than SMARTHOST_JSON_MAX_DEPTH before
 * the parser sees it. json-glib parses by recursion, a level of the stack
 * for each level of nesting, and text of 100,000 opening brackets would
 * crash the process (as root, on a shared server). Strings are skipped,
 * escapes included, so that brackets inside them do not count; whether the
 * text is valid JSON is the parser's to say. */
static gboolean
check_structure (const char  *what,
                 const char  *p,
                 const char  *end,
                 const char **object_end,
                 GError     **error)
{
  guint depth = 0;

  *object_end = NULL;
  for (; p < end; p++)
    {
      if (*p == '"')
        {
          for (p++; p < end && *p != '"'; p++)
            if (*p == '\\' && p + 1 < end)
              p++;
          if (p == end)
            return TRUE;
        }
      else if (*p == '{' || *p == '[')
        {
          if (++depth > SMARTHOST_JSON_MAX_DEPTH)
            return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                                "%s: nested too deep: arrays and objects inside each other more than %u "
                                "levels deep are refused (a state has 3)", what, SMARTHOST_JSON_MAX_DEPTH), FALSE;
        }
      else if ((*p == '}' || *p == ']') && depth > 0 && --depth == 0)
        {
          *object_end = p + 1;
          return TRUE;
        }
    }
  return TRUE;
}

/* A string of the parsed tree that may be a password is wiped before the
 * tree goes: every value of a "password" member. */
void
_smarthost_json_wipe_passwords (JsonNode *node)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      /* A password may sit anywhere an error stops the reading, even in
       * an array where none belongs. */
      JsonArray *array = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (array); i++)
        _smarthost_json_wipe_passwords (json_array_get_element (array, i));
      return;
    }
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return;
  json_object_iter_init (&iter, json_node_get_object (node));
  while (json_object_iter_next (&iter, &name, &member))
    {
      if (g_str_equal (name, "password") && JSON_NODE_HOLDS_VALUE (member) &&
          json_node_get_value_type (member) == G_TYPE_STRING)
        {
          char *text = (char *) json_node_get_string (member);
          explicit_bzero (text, strlen (text));
        }
      else
        _smarthost_json_wipe_passwords (member);
    }
}

void
_smarthost_json_free_secret (JsonNode *node)
{
  _smarthost_json_wipe_passwords (node);
  json_node_unref (node);
}

/* --- the reader ----------------------------------------------------------
 *
 * JSON text from outside is read by the reader below, not by json-glib's
 * parser, for three reasons:
 *
 * - json-glib keeps the last of two members of the same name without a
 *   word, and of several values one after the other ("{…}{…}") the last:
 *   an apply file that says "server" twice must not mean its second half
 *   (nor leak the first);
 * - its errors quote the text ("unexpected identifier …"), which may be a
 *   misplaced password;
 * - it builds the tree of the whole text, about six times its size: 130 MB
 *   for a state of 100,000 domains, and a third of the time of an apply.
 *   The reader hands each member of one object ("domains") to the caller as
 *   a small tree of its own and frees it at once.
 *
 * It reads strict JSON (RFC 8259): no comments, no trailing commas, no
 * control characters in strings, no "\u0000". Nesting is bounded before
 * (check_structure()), so the recursion is too. */

typedef struct {
  const char *what;
  const char *text;     /* its start, for the line and column of an error */
  const char *p;
  const char *end;
  GString *scratch;     /* the string being decoded: may be a password */
  const char *stream_key;
  SmarthostJsonMemberFunc func;
  gpointer user_data;
} Reader;

static gboolean
syntax_error (Reader  *r,
              GError **error)
{
  int line = 1;
  const char *line_start = r->text;

  if (r->p >= r->end)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "%s: not valid JSON (it may be cut short)", r->what), FALSE;
  for (const char *q = r->text; q < r->p; q++)
    if (*q == '\n')
      line++, line_start = q + 1;
  /* The place only, never the text there. */
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "%s: not valid JSON: syntax error at line %d, column %d",
               r->what, line, (int) g_utf8_strlen (line_start, r->p - line_start) + 1);
  return FALSE;
}

static void
skip_space (Reader *r)
{
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
    r->p++;
}

static int
hex_value (char c)
{
  return g_ascii_xdigit_value (c);
}

static gboolean
read_hex4 (Reader   *r,
           gunichar *out)
{
  *out = 0;
  if (r->end - r->p < 4)
    return FALSE;
  for (int i = 0; i < 4; i++)
    {
      int v = hex_value (r->p[i]);
      if (v < 0)
        return FALSE;
      *out = *out << 4 | (gunichar) v;
    }
  r->p += 4;
  return TRUE;
}

/* The string at r->p (its opening quote), decoded into r->scratch. The
 * text is valid UTF-8 already. */
static gboolean
read_string (Reader  *r,
             GError **error)
{
  gsize raw = 0;

  /* The decoded string is never longer than the raw one: the scratch is
   * made big enough for it first, so that it never grows (moves) while
   * it holds part of a password, which g_string's growth would leave
   * behind in freed memory. The old buffer is wiped whole. */
  for (const char *q = r->p + 1; q < r->end && *q != '"'; q++, raw++)
    if (*q == '\\' && q + 1 < r->end)
      q++, raw++;
  if (r->scratch->allocated_len <= raw + 1)
    {
      explicit_bzero (r->scratch->str, r->scratch->allocated_len);
      g_string_free (r->scratch, TRUE);
      r->scratch = g_string_sized_new (raw + 8);
    }
  g_string_truncate (r->scratch, 0);
  r->p++;
  for (;;)
    {
      const char *run = r->p, *escape;
      gunichar c, low;

      while (r->p < r->end && *r->p != '"' && *r->p != '\\' && (guchar) *r->p >= 0x20)
        r->p++;
      g_string_append_len (r->scratch, run, r->p - run);
      if (r->p >= r->end || (guchar) *r->p < 0x20)
        return syntax_error (r, error);
      if (*r->p++ == '"')
        return TRUE;
      escape = r->p - 1;
      if (r->p >= r->end)
        return syntax_error (r, error);
      switch (*r->p++)
        {
        case '"': g_string_append_c (r->scratch, '"'); break;
        case '\\': g_string_append_c (r->scratch, '\\'); break;
        case '/': g_string_append_c (r->scratch, '/'); break;
        case 'b': g_string_append_c (r->scratch, '\b'); break;
        case 'f': g_string_append_c (r->scratch, '\f'); break;
        case 'n': g_string_append_c (r->scratch, '\n'); break;
        case 'r': g_string_append_c (r->scratch, '\r'); break;
        case 't': g_string_append_c (r->scratch, '\t'); break;
        case 'u':
          if (!read_hex4 (r, &c) || c == 0 || (c >= 0xdc00 && c <= 0xdfff))
            return r->p = escape, syntax_error (r, error);
          if (c >= 0xd800 && c <= 0xdbff)
            {
              /* A surrogate pair: the low half must follow. */
              if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
                return r->p = escape, syntax_error (r, error);
              r->p += 2;
              if (!read_hex4 (r, &low) || low < 0xdc00 || low > 0xdfff)
                return r->p = escape, syntax_error (r, error);
              c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
            }
          g_string_append_unichar (r->scratch, c);
          break;
        default:
          r->p = escape;
          return syntax_error (r, error);
        }
    }
}

static gboolean
read_digits (Reader *r)
{
  const char *start = r->p;

  while (r->p < r->end && g_ascii_isdigit (*r->p))
    r->p++;
  return r->p > start;
}

/* A number: whole numbers that fit are gint64 (as json-glib gives them),
 * any other a double. */
static JsonNode *
read_number (Reader  *r,
             GError **error)
{
  const char *start = r->p;
  gboolean whole = TRUE;
  char buf[64];
  JsonNode *node;
  gsize len;

  if (*r->p == '-')
    r->p++;
  if (r->p < r->end && *r->p == '0')
    r->p++;
  else if (!read_digits (r))
    return syntax_error (r, error), NULL;
  if (r->p < r->end && *r->p == '.')
    {
      r->p++, whole = FALSE;
      if (!read_digits (r))
        return syntax_error (r, error), NULL;
    }
  if (r->p < r->end && (*r->p == 'e' || *r->p == 'E'))
    {
      r->p++, whole = FALSE;
      if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
        r->p++;
      if (!read_digits (r))
        return syntax_error (r, error), NULL;
    }
  /* Longer than any number of a state: whatever it is, it is out of range. */
  len = MIN ((gsize) (r->p - start), sizeof buf - 1);
  memcpy (buf, start, len);
  buf[len] = '\0';
  node = json_node_alloc ();
  if (whole)
    {
      gint64 v;
      char *tail;

      errno = 0;
      v = g_ascii_strtoll (buf, &tail, 10);
      if (errno == 0)
        return json_node_init_int (node, v);
    }
  return json_node_init_double (node, g_ascii_strtod (buf, NULL));
}

static gboolean
read_literal (Reader     *r,
              const char *word)
{
  gsize len = strlen (word);

  if ((gsize) (r->end - r->p) < len || memcmp (r->p, word, len) != 0)
    return FALSE;
  r->p += len;
  return TRUE;
}

static JsonNode *read_value (Reader *r, gboolean top, GError **error);

static gboolean
duplicate_key (Reader      *r,
               const char  *key,
               GError     **error)
{
  if (_smarthost_json_key_is_showable (key))
    {
      g_autofree char *shown = _smarthost_quote (key, -1);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                   "%s: the key %s is given twice in one object; give it once", r->what, shown);
    }
  else
    g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                 "%s: a key is given twice in one object; give it once", r->what);
  return FALSE;
}

/* Frees the members, wiping the passwords as _smarthost_json_free_secret()
 * wipes those of a tree: the value of "password" itself too. */
static void
relay_fields_clear (SmarthostJsonRelay *fields)
{
  JsonNode *password = fields->values[KEY_PASSWORD];

  if (fields->strings[KEY_PASSWORD] != NULL)
    explicit_bzero (fields->strings[KEY_PASSWORD], strlen (fields->strings[KEY_PASSWORD]));
  for (int i = 0; i < N_KEYS; i++)
    g_clear_pointer (&fields->strings[i], g_free);
  if (password != NULL && JSON_NODE_HOLDS_VALUE (password) && json_node_get_value_type (password) == G_TYPE_STRING)
    {
      char *text = (char *) json_node_get_string (password);
      explicit_bzero (text, strlen (text));
    }
  for (int i = 0; i < N_KEYS; i++)
    g_clear_pointer (&fields->values[i], _smarthost_json_free_secret);
}

/* The object at r->p read as a relay's members, into @fields, as
 * read_object() would read it (the same errors at the same places): when
 * it has a key that is not a relay's, *@known is FALSE and r->p is back at
 * the object's start, for read_object() to read it (and the caller to
 * name the key). */
static gboolean
read_relay_fields (Reader              *r,
                   SmarthostJsonRelay  *fields,
                   gboolean            *known,
                   GError             **error)
{
  const char *start = r->p;

  *known = TRUE;
  r->p++;
  skip_space (r);
  if (r->p < r->end && *r->p == '}')
    return r->p++, TRUE;
  for (;;)
    {
      int i;

      if (r->p >= r->end || *r->p != '"')
        return syntax_error (r, error);
      if (!read_string (r, error))
        return FALSE;
      i = relay_key_index (r->scratch->str);
      if (i < 0 || strlen (r->scratch->str) != r->scratch->len)
        {
          relay_fields_clear (fields);
          r->p = start;
          *known = FALSE;
          return TRUE;
        }
      skip_space (r);
      if (r->p >= r->end || *r->p != ':')
        return syntax_error (r, error);
      r->p++;
      skip_space (r);
      if (fields->values[i] != NULL || fields->strings[i] != NULL)
        return duplicate_key (r, relay_keys[i], error);
      if (r->p < r->end && *r->p == '"')
        {
          /* A string, as read_value() reads it, without a node. */
          if (!read_string (r, error))
            return FALSE;
          fields->strings[i] = g_strdup (r->scratch->str);
        }
      else if ((fields->values[i] = read_value (r, FALSE, error)) == NULL)
        return FALSE;
      skip_space (r);
      if (r->p < r->end && *r->p == '}')
        return r->p++, TRUE;
      if (r->p >= r->end || *r->p != ',')
        return syntax_error (r, error);
      r->p++;
      skip_space (r);
    }
}

/* The members of the object at r->p handed to r->func one by one, each
 * freed (its passwords wiped) as soon as it is used: an object of relay
 * keys alone as its members (read_relay_fields()), any other value as a
 * tree. Keys given twice are the caller's to find: it keeps a table of
 * them anyway. */
static gboolean
stream_object (Reader  *r,
               GError **error)
{
  r->p++;
  skip_space (r);
  if (r->p < r->end && *r->p == '}')
    return r->p++, TRUE;
  for (;;)
    {
      g_autofree char *key = NULL;
      g_autoptr(SmarthostSecretJson) value = NULL;
      gboolean known = FALSE;

      if (r->p >= r->end || *r->p != '"')
        return syntax_error (r, error);
      if (!read_string (r, error))
        return FALSE;
      key = g_strndup (r->scratch->str, r->scratch->len);
      skip_space (r);
      if (r->p >= r->end || *r->p != ':')
        return syntax_error (r, error);
      r->p++;
      skip_space (r);
      if (*r->p == '{')
        {
          SmarthostJsonRelay fields = { { NULL }, { NULL } };
          gboolean ok;

          ok = read_relay_fields (r, &fields, &known, error) &&
               (!known || r->func (key, NULL, &fields, r->user_data, error));
          relay_fields_clear (&fields);
          if (!ok)
            return FALSE;
        }
      if (!known)
        {
          value = read_value (r, FALSE, error);
          if (value == NULL || !r->func (key, value, NULL, r->user_data, error))
            return FALSE;
        }
      skip_space (r);
      if (r->p < r->end && *r->p == '}')
        return r->p++, TRUE;
      if (r->p >= r->end || *r->p != ',')
        return syntax_error (r, error);
      r->p++;
      skip_space (r);
    }
}

static JsonNode *
read_object (Reader   *r,
             gboolean  top,
             GError  **error)
{
  g_autoptr(SmarthostSecretJson) node = json_node_init_object (json_node_alloc (), NULL);
  JsonObject *object = json_object_new ();

  json_node_take_object (node, object);
  r->p++;
  skip_space (r);
  if (r->p < r->end && *r->p == '}')
    return r->p++, g_steal_pointer (&node);
  for (;;)
    {
      g_autofree char *key = NULL;
      JsonNode *value;

      if (r->p >= r->end || *r->p != '"')
        return syntax_error (r, error), NULL;
      if (!read_string (r, error))
        return NULL;
      key = g_strndup (r->scratch->str, r->scratch->len);
      skip_space (r);
      if (r->p >= r->end || *r->p != ':')
        return syntax_error (r, error), NULL;
      r->p++;
      skip_space (r);
      if (json_object_has_member (object, key))
        return duplicate_key (r, key, error), NULL;
      if (top && r->stream_key != NULL && g_str_equal (key, r->stream_key) && r->p < r->end && *r->p == '{')
        {
          /* Its members went to the caller; an empty object stands for it. */
          if (!stream_object (r, error))
            return NULL;
          value = json_node_init_object (json_node_alloc (), NULL);
          json_node_take_object (value, json_object_new ());
        }
      else if ((value = read_value (r, FALSE, error)) == NULL)
        return NULL;
      json_object_set_member (object, key, value);
      skip_space (r);
      if (r->p < r->end && *r->p == '}')
        return r->p++, g_steal_pointer (&node);
      if (r->p >= r->end || *r->p != ',')
        return syntax_error (r, error), NULL;
      r->p++;
      skip_space (r);
    }
}

static JsonNode *
read_array (Reader  *r,
            GError **error)
{
  g_autoptr(SmarthostSecretJson) node = json_node_init_array (json_node_alloc (), NULL);
  JsonArray *array = json_array_new ();

  json_node_take_array (node, array);
  r->p++;
  skip_space (r);
  if (r->p < r->end && *r->p == ']')
    return r->p++, g_steal_pointer (&node);
  for (;;)
    {
      JsonNode *value = read_value (r, FALSE, error);

      if (value == NULL)
        return NULL;
      json_array_add_element (array, value);
      skip_space (r);
      if (r->p < r->end && *r->p == ']')
        return r->p++, g_steal_pointer (&node);
      if (r->p >= r->end || *r->p != ',')
        return syntax_error (r, error), NULL;
      r->p++;
      skip_space (r);
    }
}

static JsonNode *
read_value (Reader   *r,
            gboolean  top,
            GError  **error)
{
  if (r->p >= r->end)
    return syntax_error (r, error), NULL;
  switch (*r->p)
    {
    case '{':
      return read_object (r, top, error);
    case '[':
      return read_array (r, error);
    case '"':
      if (!read_string (r, error))
        return NULL;
      return json_node_init_string (json_node_alloc (), r->scratch->str);
    case 't':
      if (read_literal (r, "true"))
        return json_node_init_boolean (json_node_alloc (), TRUE);
      break;
    case 'f':
      if (read_literal (r, "false"))
        return json_node_init_boolean (json_node_alloc (), FALSE);
      break;
    case 'n':
      if (read_literal (r, "null"))
        return json_node_init_null (json_node_alloc ());
      break;
    default:
      if (*r->p == '-' || g_ascii_isdigit (*r->p))
        return read_number (r, error);
      break;
    }
  return syntax_error (r, error), NULL;
}

/* Parses JSON text that must be one object, with errors that never quote
 * it; see the reader's notes above. When @stream_key is given and the
 * object has a member of that name whose value is an object, each member
 * of that value is handed to @func as it is read, and freed after; the
 * returned tree has an empty object in its place. */
JsonNode *
_smarthost_parse_json_streaming (const char               *what,
                                 const char               *text,
                                 const char               *stream_key,
                                 SmarthostJsonMemberFunc   func,
                                 gpointer                  user_data,
                                 GError                  **error)
{
  Reader r = { what, text, NULL, NULL, NULL, stream_key, func, user_data };
  const char *start, *rest = NULL;
  JsonNode *root = NULL;
  gsize length;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (stream_key == NULL || func != NULL, NULL);

  /* Bounded before anything else reads the text: the longest a state of
   * hosting scale needs, with room to spare. */
  length = strnlen (text, (gsize) SMARTHOST_JSON_MAX_SIZE + 1);
  if (length > SMARTHOST_JSON_MAX_SIZE)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "%s: too large: JSON text of more than %u MiB (%u bytes) is refused", what,
                        SMARTHOST_JSON_MAX_SIZE / (1024 * 1024), SMARTHOST_JSON_MAX_SIZE), NULL;
  if (!_smarthost_utf8_validate_len (text, length, NULL))
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "%s: not JSON text: it is not valid UTF-8", what), NULL;
  start = text + strspn (text, " \t\r\n");
  if (*start == '\0')
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "%s: not valid JSON: the text is empty", what), NULL;
  if (*start != '{')
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "%s: must be a JSON object", what), NULL;
  if (!check_structure (what, start, text + length, &rest, error))
    return NULL;
  if (rest != NULL && rest[strspn (rest, " \t\r\n")] != '\0')
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "%s: not valid JSON: more than one value (text after the object's closing brace)",
                        what), NULL;

  r.p = start;
  r.end = text + length;
  r.scratch = g_string_new (NULL);
  root = read_value (&r, TRUE, error);
  if (root != NULL)
    {
      skip_space (&r);
      if (r.p != r.end)
        {
          g_clear_pointer (&root, _smarthost_json_free_secret);
          syntax_error (&r, error);
        }
    }
  explicit_bzero (r.scratch->str, r.scratch->allocated_len);
  g_string_free (r.scratch, TRUE);
  return root;
}

JsonNode *
_smarthost_parse_json (const char  *what,
                       const char  *text,
                       GError     **error)
{
  return _smarthost_parse_json_streaming (what, text, NULL, NULL, NULL, error);
}

char *
_smarthost_json_to_data (JsonNode *node,
                         gsize    *length)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();

  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, length);
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

  root = _smarthost_parse_json ("relay", json, error);
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
  g_autoptr(JsonNode) node = NULL;

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
