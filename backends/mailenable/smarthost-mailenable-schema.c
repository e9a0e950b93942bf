/* smarthost-mailenable-schema.c: the registry values of MailEnable's smart host, as data
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * mailenable-schema.json names the connector key, the service and each
 * registry value the backend reads and writes, with its type and its
 * source ("unconfirmed" where no public source names it). It is compiled
 * into the library; a corrected copy can be given (setting schema-file).
 * Every name is checked here: unique, printable, of the type its use
 * needs.
 */
#include "config.h"

#include <string.h>

#include "smarthost-error.h"
#include "smarthost-files-private.h"
#include "smarthost-json-private.h"
#include "smarthost-util-private.h"

#include "smarthost-mailenable-private.h"
#include "smarthost-mailenable-resources.h"

#define SCHEMA_RESOURCE "/org/libsmarthost/mailenable/mailenable-schema.json"
#define SCHEMA_LIMIT (256u * 1024)

const char * const me_schema_value_keys[] = {
  "smarthost-enabled", "smarthost-server", "smarthost-port", "smarthost-auth",
  "smarthost-username", "smarthost-password", "outbound-tls", NULL
};

const char * const me_schema_neighbour_keys[] = {
  "outbound-interface", "host-name", "smarthost-on-rcpt-failure", "smarthost-on-rcpt-failure-server", NULL
};

struct _MeSchema
{
  char *service;
  GHashTable *sources;     /* id → text */
  GPtrArray *entries;      /* MeSchemaEntry: the values, then the neighbours */
};

static void
entry_free (gpointer data)
{
  MeSchemaEntry *e = data;

  g_free (e->key);
  g_free (e->name);
  g_free (e->source);
  g_free (e);
}

void
me_schema_free (MeSchema *schema)
{
  if (schema == NULL)
    return;
  g_free (schema->service);
  g_clear_pointer (&schema->sources, g_hash_table_unref);
  g_clear_pointer (&schema->entries, g_ptr_array_unref);
  g_free (schema);
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
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "schema-file: %s: %s", where, message);
  return FALSE;
}

/* A registry value's or a service's name: printable, no control
 * characters or backslash, 1 to 255 bytes. */
static gboolean
text_is_valid (const char *text)
{
  gsize n = strlen (text);

  if (n == 0 || n > 255 || !g_utf8_validate (text, -1, NULL))
    return FALSE;
  for (const char *p = text; *p; p++)
    if ((guchar) *p < ' ' || *p == 0x7f || *p == '\\')
      return FALSE;
  return TRUE;
}

static const char *
get_string (json_t     *object,
            const char *member)
{
  json_t *v = json_object_get (object, member);

  return json_is_string (v) ? json_string_value (v) : NULL;
}

static gboolean
check_members (json_t              *object,
               const char          *where,
               const char * const  *allowed,
               GError             **error)
{
  const char *name;
  json_t *value;

  if (!json_is_object (object))
    return invalid (error, where, "must be an object");
  json_object_foreach (object, name, value)
    if (!g_strv_contains (allowed, name))
      {
        g_autofree char *quoted = _smarthost_quote (name, -1);
        return invalid (error, where, "unknown member %s", quoted);
      }
  return TRUE;
}

static gboolean
check_source (MeSchema    *schema,
              const char  *where,
              const char  *source,
              GError     **error)
{
  g_autofree char *quoted = NULL;

  if (source == NULL)
    return invalid (error, where, "\"source\" is missing: name a source, or say \"unconfirmed\"");
  if (g_str_equal (source, "unconfirmed") || g_hash_table_contains (schema->sources, source))
    return TRUE;
  quoted = _smarthost_quote (source, -1);
  return invalid (error, where, "source %s is neither \"unconfirmed\" nor one of \"sources\"", quoted);
}

/* The types each use allows: numbers are REG_DWORD (a port may be a
 * string too), text REG_SZ. */
static gboolean
type_allowed (const char *key,
              guint32     type)
{
  if (g_str_equal (key, "smarthost-port"))
    return type == ME_REG_DWORD || type == ME_REG_SZ;
  if (g_str_equal (key, "smarthost-enabled") || g_str_equal (key, "smarthost-auth") ||
      g_str_equal (key, "outbound-tls") || g_str_equal (key, "smarthost-on-rcpt-failure"))
    return type == ME_REG_DWORD;
  return type == ME_REG_SZ;
}

static gboolean
load_entries (MeSchema            *schema,
              json_t              *root,
              const char          *section,
              const char * const  *keys,
              gboolean             neighbour,
              GError             **error)
{
  static const char * const members[] = { "name", "type", "source", NULL };
  json_t *node = json_object_get (root, section);
  const char *key;
  json_t *value;

  if (node == NULL)
    return invalid (error, section, "is missing");
  if (!check_members (node, section, keys, error))
    return FALSE;
  for (guint i = 0; keys[i]; i++)
    {
      g_autofree char *where = g_strdup_printf ("%s.%s", section, keys[i]);
      const char *name, *type, *source;
      MeSchemaEntry *e;

      key = keys[i];
      value = json_object_get (node, key);
      if (value == NULL)
        return invalid (error, section, "\"%s\" is missing", key);
      if (!check_members (value, where, members, error))
        return FALSE;
      name = get_string (value, "name");
      type = get_string (value, "type");
      source = get_string (value, "source");
      /* Only the port may be null: then it is part of the server's value,
       * as "host:port" (the form MailEnable documents for a domain's smart
       * host). */
      if (name == NULL && !(g_str_equal (key, "smarthost-port") && json_is_null (json_object_get (value, "name"))))
        return invalid (error, where, "\"name\" must be a string");
      if (name != NULL && !text_is_valid (name))
        return invalid (error, where, "\"name\" must be 1 to 255 printable characters without a backslash");
      if (type == NULL || (!g_str_equal (type, "REG_SZ") && !g_str_equal (type, "REG_DWORD")))
        return invalid (error, where, "\"type\" must be \"REG_SZ\" or \"REG_DWORD\"");
      if (!check_source (schema, where, source, error))
        return FALSE;
      e = g_new0 (MeSchemaEntry, 1);
      e->key = g_strdup (key);
      e->name = g_strdup (name);
      e->type = g_str_equal (type, "REG_SZ") ? ME_REG_SZ : ME_REG_DWORD;
      e->source = g_strdup (source);
      e->confirmed = !g_str_equal (source, "unconfirmed");
      e->neighbour = neighbour;
      g_ptr_array_add (schema->entries, e);
      if (!type_allowed (key, e->type))
        return invalid (error, where, "\"type\" %s cannot hold what this value is for", type);
      for (guint j = 0; name != NULL && j + 1 < schema->entries->len; j++)
        {
          MeSchemaEntry *other = g_ptr_array_index (schema->entries, j);

          if (other->name != NULL && me_reg_name_equal (other->name, name))
            return invalid (error, where, "the name is also the name of %s", other->key);
        }
    }
  return TRUE;
}

static gboolean
parse_schema (MeSchema    *schema,
              const char  *text,
              GError     **error)
{
  static const char * const top[] = { "format", "comment", "sources", "key", "service", "values", "neighbours", NULL };
  static const char * const key_members[] = { "path", "view", "source", NULL };
  static const char * const service_members[] = { "name", "source", NULL };
  g_autoptr(json_t) root = NULL;
  json_t *node, *value;
  const char *id, *s;

  root = _smarthost_json_parse ("schema-file", text, -1, SMARTHOST_JSON_PARSE_OBJECT, error);
  if (root == NULL)
    return FALSE;
  if (!check_members (root, "the top level", top, error))
    return FALSE;
  node = json_object_get (root, "format");
  if (!json_is_integer (node) || json_integer_value (node) != 1)
    return invalid (error, "format", "must be 1, the format this library reads");

  node = json_object_get (root, "sources");
  if (!json_is_object (node))
    return invalid (error, "sources", "must be an object of texts");
  json_object_foreach (node, id, value)
    {
      if (!json_is_string (value) || g_str_equal (id, "unconfirmed"))
        return invalid (error, "sources", "every source must be a text, and none named \"unconfirmed\"");
      g_hash_table_insert (schema->sources, g_strdup (id), g_strdup (json_string_value (value)));
    }

  node = json_object_get (root, "key");
  if (node == NULL || !check_members (node, "key", key_members, error))
    return node == NULL ? invalid (error, "key", "is missing") : FALSE;
  /* The one key the library writes (and its journal records may name):
   * stated here for its source, not to be moved. */
  s = get_string (node, "path");
  if (s == NULL || g_ascii_strcasecmp (s, ME_CONNECTOR_SUBKEY) != 0)
    return invalid (error, "key.path", "must be \"%s\": MailEnable's SMTP connector, the one key the library "
                                       "writes", "SOFTWARE\\\\Mail Enable\\\\Mail Enable\\\\Connectors\\\\SMTP");
  if (g_strcmp0 (get_string (node, "view"), "32-bit") != 0)
    return invalid (error, "key.view", "must be \"32-bit\" (MailEnable is a 32-bit program)");
  if (!check_source (schema, "key", get_string (node, "source"), error))
    return FALSE;

  node = json_object_get (root, "service");
  if (node == NULL || !check_members (node, "service", service_members, error))
    return node == NULL ? invalid (error, "service", "is missing") : FALSE;
  s = get_string (node, "name");
  if (s == NULL || !text_is_valid (s) || strlen (s) > 80 || strpbrk (s, " /") != NULL)
    return invalid (error, "service.name", "must be a service name, such as \"MESMTPCS\"");
  if (!check_source (schema, "service", get_string (node, "source"), error))
    return FALSE;
  schema->service = g_strdup (s);

  return load_entries (schema, root, "values", me_schema_value_keys, FALSE, error) &&
         load_entries (schema, root, "neighbours", me_schema_neighbour_keys, TRUE, error);
}

/*
 * me_schema_load:
 * @path: (nullable): a schema file, or %NULL for the one built in
 *
 * Reads and checks a schema (bounded: a schema file is a few KiB).
 */
MeSchema *
me_schema_load (const char  *path,
                GError     **error)
{
  g_autofree char *text = _smarthost_read_data_file ("schema-file", path, SCHEMA_LIMIT,
                                                     _smarthost_mailenable_get_resource, SCHEMA_RESOURCE, error);
  MeSchema *schema;

  if (text == NULL)
    return NULL;
  schema = g_new0 (MeSchema, 1);
  schema->sources = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  schema->entries = g_ptr_array_new_with_free_func (entry_free);
  if (!parse_schema (schema, text, error))
    {
      me_schema_free (schema);
      return NULL;
    }
  return schema;
}

const char *
me_schema_get_service (MeSchema *schema)
{
  return schema->service;
}

/* The entry of @key, a value or a neighbour. */
const MeSchemaEntry *
me_schema_get_entry (MeSchema   *schema,
                     const char *key)
{
  for (guint i = 0; i < schema->entries->len; i++)
    {
      MeSchemaEntry *e = g_ptr_array_index (schema->entries, i);

      if (g_str_equal (e->key, key))
        return e;
    }
  g_return_val_if_reached (NULL);
}

/* Every entry: the values, then the neighbours. */
GPtrArray *
me_schema_get_entries (MeSchema *schema)
{
  return schema->entries;
}
