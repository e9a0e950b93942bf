/* smarthost-smartermail-json.c: the SmarterMail backend's JSON access
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-error.h"
#include "smarthost-private.h"
#include "smarthost-util-private.h"
#include "smarthost-smartermail-private.h"

/*
 * Every use of a JSON library by the backend is in this file, so that it
 * can move to another library in one place. Replies are parsed by the
 * core's strict reader (_smarthost_parse_json: bounded size and depth,
 * duplicate members refused, errors that never quote the text); objects
 * read from the server are kept whole, so that an update sends back every
 * member the library does not know.
 */

JsonNode *
sm_json_parse_object (const char  *what,
                      const char  *text,
                      GError     **error)
{
  return _smarthost_parse_json (what, text, error);
}

/* Compact JSON text; the string value of @mask_member, wherever it is,
 * shown as the password mask. */
static void
mask_members (JsonNode   *node,
              const char *mask_member)
{
  if (node == NULL)
    return;
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (array); i++)
        mask_members (json_array_get_element (array, i), mask_member);
    }
  else if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      JsonObjectIter iter;
      const char *name;
      JsonNode *member;

      json_object_iter_init (&iter, object);
      while (json_object_iter_next (&iter, &name, &member))
        {
          if (g_str_equal (name, mask_member) && JSON_NODE_HOLDS_VALUE (member) &&
              json_node_get_value_type (member) == G_TYPE_STRING)
            json_node_set_string (member, SMARTHOST_PASSWORD_MASK);
          else
            mask_members (member, mask_member);
        }
    }
}

char *
sm_json_to_string (JsonNode   *node,
                   const char *mask_member)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) copy = NULL;

  if (mask_member != NULL)
    {
      copy = json_node_copy (node);
      mask_members (copy, mask_member);
      node = copy;
    }
  json_generator_set_pretty (gen, FALSE);
  json_generator_set_root (gen, node);
  return json_generator_to_data (gen, NULL);
}

JsonNode *
sm_json_new_object (void)
{
  return json_node_init_object (json_node_alloc (), json_object_new ());
}

JsonObject *
sm_json_object (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

JsonNode *
sm_json_copy (JsonNode *node)
{
  return node ? json_node_copy (node) : NULL;
}

void
sm_json_set_string (JsonNode   *object,
                    const char *name,
                    const char *value)
{
  if (value == NULL)
    json_object_set_null_member (json_node_get_object (object), name);
  else
    json_object_set_string_member (json_node_get_object (object), name, value);
}

void
sm_json_set_int (JsonNode   *object,
                 const char *name,
                 gint64      value)
{
  json_object_set_int_member (json_node_get_object (object), name, value);
}

void
sm_json_set_boolean (JsonNode   *object,
                     const char *name,
                     gboolean    value)
{
  json_object_set_boolean_member (json_node_get_object (object), name, value);
}

/* Takes @value. */
void
sm_json_set_node (JsonNode   *object,
                  const char *name,
                  JsonNode   *value)
{
  json_object_set_member (json_node_get_object (object), name, value);
}

void
sm_json_remove (JsonNode   *object,
                const char *name)
{
  if (sm_json_object (object) && json_object_has_member (json_node_get_object (object), name))
    json_object_remove_member (json_node_get_object (object), name);
}

gboolean
sm_json_has (JsonNode   *object,
             const char *name)
{
  return sm_json_object (object) != NULL && json_object_has_member (json_node_get_object (object), name);
}

JsonNode *
sm_json_get (JsonNode   *object,
             const char *name)
{
  return sm_json_object (object) ? json_object_get_member (json_node_get_object (object), name) : NULL;
}

static gboolean
type_error (GError    **error,
            const char *where,
            const char *name,
            const char *what)
{
  g_autofree char *quoted = _smarthost_quote (name, -1);

  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s: %s %s", where, quoted, what);
  return FALSE;
}

/* The member, or NULL when missing (an error unless @optional). A JSON
 * null counts as missing. */
static JsonNode *
member (JsonNode    *object,
        const char  *where,
        const char  *name,
        gboolean     optional,
        gboolean    *ok,
        GError     **error)
{
  JsonNode *m = sm_json_get (object, name);

  *ok = TRUE;
  if (m == NULL || JSON_NODE_HOLDS_NULL (m))
    {
      if (!optional)
        *ok = type_error (error, where, name, "is missing");
      return NULL;
    }
  return m;
}

gboolean
sm_json_get_string (JsonNode    *object,
                    const char  *where,
                    const char  *name,
                    gboolean     optional,
                    char       **out,
                    GError     **error)
{
  gboolean ok;
  JsonNode *m = member (object, where, name, optional, &ok, error);

  if (m == NULL)
    return ok;
  if (!JSON_NODE_HOLDS_VALUE (m) || json_node_get_value_type (m) != G_TYPE_STRING)
    return type_error (error, where, name, "is not a string");
  g_free (*out);
  *out = g_strdup (json_node_get_string (m));
  return TRUE;
}

gboolean
sm_json_get_boolean (JsonNode    *object,
                     const char  *where,
                     const char  *name,
                     gboolean     optional,
                     gboolean    *out,
                     GError     **error)
{
  gboolean ok;
  JsonNode *m = member (object, where, name, optional, &ok, error);

  if (m == NULL)
    return ok;
  if (!JSON_NODE_HOLDS_VALUE (m) || json_node_get_value_type (m) != G_TYPE_BOOLEAN)
    return type_error (error, where, name, "is not true or false");
  *out = json_node_get_boolean (m);
  return TRUE;
}

gboolean
sm_json_get_uint (JsonNode    *object,
                  const char  *where,
                  const char  *name,
                  gboolean     optional,
                  guint       *out,
                  GError     **error)
{
  gboolean ok;
  JsonNode *m = member (object, where, name, optional, &ok, error);
  gint64 n;

  if (m == NULL)
    return ok;
  if (!JSON_NODE_HOLDS_VALUE (m) || json_node_get_value_type (m) != G_TYPE_INT64)
    return type_error (error, where, name, "is not a whole number");
  n = json_node_get_int (m);
  if (n < 0 || n > G_MAXUINT)
    return type_error (error, where, name, "is out of range");
  *out = (guint) n;
  return TRUE;
}

/* *@out: the elements (borrowed from @object). */
gboolean
sm_json_get_array (JsonNode    *object,
                   const char  *where,
                   const char  *name,
                   GPtrArray  **out,
                   GError     **error)
{
  gboolean ok;
  JsonNode *m = member (object, where, name, FALSE, &ok, error);
  JsonArray *array;

  if (m == NULL)
    return ok;
  if (!JSON_NODE_HOLDS_ARRAY (m))
    return type_error (error, where, name, "is not an array");
  array = json_node_get_array (m);
  *out = g_ptr_array_new ();
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_ptr_array_add (*out, json_array_get_element (array, i));
  return TRUE;
}

/* *@out: borrowed from @object. */
gboolean
sm_json_get_object (JsonNode    *object,
                    const char  *where,
                    const char  *name,
                    JsonNode   **out,
                    GError     **error)
{
  gboolean ok;
  JsonNode *m = member (object, where, name, FALSE, &ok, error);

  if (m == NULL)
    return ok;
  if (!JSON_NODE_HOLDS_OBJECT (m))
    return type_error (error, where, name, "is not an object");
  *out = m;
  return TRUE;
}

char *
sm_json_get_id (JsonNode   *object,
                const char *name)
{
  JsonNode *m = sm_json_get (object, name);

  if (m == NULL || !JSON_NODE_HOLDS_VALUE (m))
    return NULL;
  if (json_node_get_value_type (m) == G_TYPE_STRING)
    return *json_node_get_string (m) ? g_strdup (json_node_get_string (m)) : NULL;
  if (json_node_get_value_type (m) == G_TYPE_INT64)
    return g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (m));
  return NULL;
}

/* Whether two objects have the same members with the same values, but
 * for two names. */
gboolean
sm_json_equal_except (JsonNode   *a,
                      JsonNode   *b,
                      const char *except1,
                      const char *except2)
{
  g_autoptr(JsonNode) ca = NULL;
  g_autoptr(JsonNode) cb = NULL;

  if (sm_json_object (a) == NULL || sm_json_object (b) == NULL)
    return FALSE;
  ca = json_node_copy (a);
  cb = json_node_copy (b);
  sm_json_remove (ca, except1);
  sm_json_remove (cb, except1);
  if (except2 != NULL)
    {
      sm_json_remove (ca, except2);
      sm_json_remove (cb, except2);
    }
  return json_node_equal (ca, cb);
}

/* Wipes a string member (a password) before its object is freed. */
void
sm_json_wipe_string (JsonNode   *object,
                     const char *name)
{
  JsonNode *m = sm_json_get (object, name);

  if (m != NULL && JSON_NODE_HOLDS_VALUE (m) && json_node_get_value_type (m) == G_TYPE_STRING)
    {
      char *text = (char *) json_node_get_string (m);
      explicit_bzero (text, strlen (text));
    }
}
