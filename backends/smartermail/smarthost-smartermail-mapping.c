/* smarthost-smartermail-mapping.c: SmarterMail's endpoints, field names and values, as data
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-error.h"
#include "smarthost-files-private.h"
#include "smarthost-util-private.h"
#include "smarthost-smartermail-private.h"
#include "smarthost-smartermail-resources.h"

/*
 * smartermail-mapping.json (see doc/smartermail.md) says how the backend
 * speaks the API: the method and path of each endpoint, the JSON name of
 * each field and the text of each value, each with its source. The file
 * built into the library is used unless the mapping-file setting names a
 * corrected copy. Either is checked strictly: known sections and keys
 * only, every key the backend uses present, every entry naming a source
 * ("unconfirmed" or one of "sources"), methods GET or POST, paths that
 * start with "/" and hold no placeholder but {domain} or {id}.
 */

#define MAPPING_RESOURCE "/org/libsmarthost/smartermail/smartermail-mapping.json"
#define MAPPING_LIMIT    (1024u * 1024)

const char * const sm_mapping_endpoint_keys[] = {
  "login", "refresh", "domains", "domain-get", "domain-update",
  "gateways", "gateway-create", "gateway-update", "gateway-delete", NULL
};

const char * const sm_mapping_field_keys[] = {
  "login-username", "login-password", "access-token", "refresh-token", "access-expiration",
  "success", "message", "domains", "domain-name", "domain-settings", "domain-gateway",
  "gateways", "gateway", "gateway-id", "gateway-address", "gateway-port", "gateway-encryption",
  "gateway-enabled", "gateway-mode", "gateway-auth", "gateway-username", "gateway-password",
  "gateway-description", NULL
};

const char * const sm_mapping_value_keys[] = {
  "mode-round-robin", "mode-specific-domains", "encryption-none", "encryption-starttls",
  "encryption-tls", NULL
};

typedef struct {
  char *text;      /* the method and path, the field name or the value */
  char *method;    /* endpoints only */
  char *source;
} Entry;

struct _SmMapping
{
  gatomicrefcount ref;
  GHashTable *endpoints;   /* key → Entry */
  GHashTable *fields;
  GHashTable *values;
};

static void
entry_free (gpointer data)
{
  Entry *e = data;

  g_free (e->text);
  g_free (e->method);
  g_free (e->source);
  g_free (e);
}

SmMapping *
sm_mapping_ref (SmMapping *mapping)
{
  g_atomic_ref_count_inc (&mapping->ref);
  return mapping;
}

void
sm_mapping_unref (SmMapping *mapping)
{
  if (mapping == NULL || !g_atomic_ref_count_dec (&mapping->ref))
    return;
  g_hash_table_unref (mapping->endpoints);
  g_hash_table_unref (mapping->fields);
  g_hash_table_unref (mapping->values);
  g_free (mapping);
}

static gboolean
invalid (GError    **error,
         const char *where,
         const char *format,
         ...) G_GNUC_PRINTF (3, 4);

static gboolean
invalid (GError    **error,
         const char *where,
         const char *format,
         ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "mapping-file: %s: %s", where, message);
  return FALSE;
}

static gboolean
is_known (const char * const *keys,
          const char         *key)
{
  return g_strv_contains (keys, key);
}

/* A path: starts with "/", printable ASCII without spaces, quotes or
 * backslashes, and no placeholder but {domain} and {id}. */
static gboolean
path_is_valid (const char *path)
{
  const char *p;

  if (path[0] != '/' || strlen (path) > 1024)
    return FALSE;
  for (p = path; *p; p++)
    if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\' || *p == '?' || *p == '#')
      return FALSE;
  for (p = strchr (path, '{'); p != NULL; p = strchr (p + 1, '{'))
    if (!g_str_has_prefix (p, "{domain}") && !g_str_has_prefix (p, "{id}"))
      return FALSE;
  for (p = strchr (path, '}'); p != NULL; p = strchr (p + 1, '}'))
    if (!(p >= path + 3 && strncmp (p - 3, "{id}", 4) == 0) && !(p >= path + 7 && strncmp (p - 7, "{domain}", 8) == 0))
      return FALSE;
  return TRUE;
}

/* A field name or value: printable, no quotes or controls, 1 to 128 bytes. */
static gboolean
name_is_valid (const char *text)
{
  gsize n = strlen (text);

  if (n == 0 || n > 128)
    return FALSE;
  for (const char *p = text; *p; p++)
    if ((guchar) *p < ' ' || *p == 0x7f || *p == '"' || *p == '\\')
      return FALSE;
  return TRUE;
}

static gboolean
load_section (json_t            *root,
              const char          *section,
              const char * const  *keys,
              const char          *text_key,
              json_t              *sources,
              GHashTable          *out,
              GError             **error)
{
  json_t *node = NULL;
  const char *key;
  json_t *value;

  if (!sm_json_get_object (root, "mapping-file", section, &node, error))
    return FALSE;
  json_object_foreach (node, key, value)
    {
      g_autofree char *where = NULL;
      g_autofree char *quoted = _smarthost_quote (key, -1);
      g_autofree char *text = NULL;
      g_autofree char *method = NULL;
      g_autofree char *source = NULL;
      const char *name;
      json_t *m;
      Entry *e;

      where = g_strdup_printf ("%s.%s", section, quoted);
      if (!is_known (keys, key))
        {
          g_autofree char *known = g_strjoinv (", ", (char **) keys);
          return invalid (error, section, "unknown key %s (known: %s)", quoted, known);
        }
      if (!json_is_object (value))
        return invalid (error, where, "must be an object");
      json_object_foreach (value, name, m)
        if (!g_str_equal (name, text_key) && !g_str_equal (name, "source") &&
            !(g_str_equal (text_key, "path") && g_str_equal (name, "method")))
          {
            g_autofree char *n = _smarthost_quote (name, -1);
            return invalid (error, where, "unknown member %s", n);
          }
      if (!sm_json_get_string (value, where, text_key, FALSE, &text, error) ||
          !sm_json_get_string (value, where, "source", FALSE, &source, error))
        return g_prefix_error (error, "mapping-file: "), FALSE;
      if (!g_str_equal (source, "unconfirmed") && json_object_get (sources, source) == NULL)
        {
          g_autofree char *s = _smarthost_quote (source, -1);
          return invalid (error, where, "source %s is neither \"unconfirmed\" nor one of \"sources\"", s);
        }
      if (g_str_equal (text_key, "path"))
        {
          if (!sm_json_get_string (value, where, "method", FALSE, &method, error))
            return g_prefix_error (error, "mapping-file: "), FALSE;
          if (!g_str_equal (method, "GET") && !g_str_equal (method, "POST"))
            return invalid (error, where, "method must be GET or POST");
          if (!path_is_valid (text))
            return invalid (error, where, "path must start with \"/\", hold no spaces, quotes, \"?\" or \"#\", "
                                          "and no placeholder but {domain} and {id}");
        }
      else if (!name_is_valid (text))
        return invalid (error, where, "%s must be 1 to 128 printable characters without quotes", text_key);

      e = g_new0 (Entry, 1);
      e->text = g_steal_pointer (&text);
      e->method = g_steal_pointer (&method);
      e->source = g_steal_pointer (&source);
      g_hash_table_insert (out, g_strdup (key), e);
    }
  for (guint i = 0; keys[i]; i++)
    if (!g_hash_table_contains (out, keys[i]))
      return invalid (error, section, "\"%s\" is missing", keys[i]);
  return TRUE;
}

static gboolean
parse_mapping (SmMapping   *mapping,
               const char  *text,
               GError     **error)
{
  static const char * const top_keys[] = { "format", "comment", "sources", "endpoints", "fields", "values", NULL };
  g_autoptr(json_t) root = NULL;
  json_t *sources = NULL;
  const char *key;
  json_t *value;
  guint format = 0;

  root = sm_json_parse_object ("mapping-file", text, -1, error);
  if (root == NULL)
    return FALSE;
  json_object_foreach (root, key, value)
    if (!is_known (top_keys, key))
      {
        g_autofree char *quoted = _smarthost_quote (key, -1);
        return invalid (error, "the top level", "unknown key %s", quoted);
      }
  if (!sm_json_get_uint (root, "mapping-file", "format", FALSE, &format, error))
    return g_prefix_error (error, "mapping-file: "), FALSE;
  if (format != 1)
    return invalid (error, "format", "%u is not a format this library reads (1)", format);
  if (!sm_json_get_object (root, "mapping-file", "sources", &sources, error))
    return g_prefix_error (error, "mapping-file: "), FALSE;
  json_object_foreach (sources, key, value)
    if (!json_is_string (value))
      return invalid (error, "sources", "every source must be a string");
  return load_section (root, "endpoints", sm_mapping_endpoint_keys, "path", sources,
                       mapping->endpoints, error) &&
         load_section (root, "fields", sm_mapping_field_keys, "name", sources,
                       mapping->fields, error) &&
         load_section (root, "values", sm_mapping_value_keys, "value", sources,
                       mapping->values, error);
}

/*
 * sm_mapping_load:
 * @path: (nullable): a mapping file, or %NULL for the one built in
 *
 * Reads and checks a mapping (bounded: a mapping file is a few KiB).
 */
SmMapping *
sm_mapping_load (const char  *path,
                 GError     **error)
{
  g_autoptr(SmMapping) mapping = g_new0 (SmMapping, 1);
  g_autofree char *text = NULL;

  g_atomic_ref_count_init (&mapping->ref);
  mapping->endpoints = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
  mapping->fields = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
  mapping->values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);

  text = _smarthost_read_data_file ("mapping-file", path, MAPPING_LIMIT, _smarthost_smartermail_get_resource,
                                    MAPPING_RESOURCE, error);
  if (text == NULL)
    return NULL;
  if (!parse_mapping (mapping, text, error))
    return NULL;
  return g_steal_pointer (&mapping);
}

const char *
sm_mapping_method (SmMapping  *mapping,
                   const char *endpoint)
{
  Entry *e = g_hash_table_lookup (mapping->endpoints, endpoint);

  g_return_val_if_fail (e != NULL, NULL);
  return e->method;
}

/* The path of @endpoint, its placeholder replaced by @argument, escaped. */
char *
sm_mapping_path (SmMapping  *mapping,
                 const char *endpoint,
                 const char *argument)
{
  Entry *e = g_hash_table_lookup (mapping->endpoints, endpoint);
  g_autoptr(GString) path = NULL;
  g_autofree char *escaped = NULL;

  g_return_val_if_fail (e != NULL, NULL);
  path = g_string_new (e->text);
  escaped = g_uri_escape_string (argument ? argument : "", NULL, FALSE);
  g_string_replace (path, "{domain}", escaped, 0);
  g_string_replace (path, "{id}", escaped, 0);
  return g_string_free (g_steal_pointer (&path), FALSE);
}

const char *
sm_mapping_field (SmMapping  *mapping,
                  const char *key)
{
  Entry *e = g_hash_table_lookup (mapping->fields, key);

  g_return_val_if_fail (e != NULL, NULL);
  return e->text;
}

const char *
sm_mapping_value (SmMapping  *mapping,
                  const char *key)
{
  Entry *e = g_hash_table_lookup (mapping->values, key);

  g_return_val_if_fail (e != NULL, NULL);
  return e->text;
}

const char *
sm_mapping_source (SmMapping  *mapping,
                   const char *section,
                   const char *key)
{
  GHashTable *table = g_str_equal (section, "endpoints") ? mapping->endpoints :
                      g_str_equal (section, "fields") ? mapping->fields : mapping->values;
  Entry *e = g_hash_table_lookup (table, key);

  return e ? e->source : NULL;
}
