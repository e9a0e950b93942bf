/* smarthost-smartermail-json.c: the SmarterMail backend's JSON access
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-error.h"
#include "smarthost-private.h"
#include "smarthost-util-private.h"
#include "smarthost-platform-private.h"
#include "smarthost-smartermail-private.h"

/*
 * Every use of a JSON library by the backend goes through this file or
 * holds a json_t it gave (jansson trees, as in the rest of the library).
 * Replies are parsed by the core's strict reader (_smarthost_json_parse():
 * bounded size and depth, duplicate members refused, errors that never
 * quote the text); objects read from the server are kept whole, members in
 * their order, so that an update sends back every member the library does
 * not know where it was. Request bodies are written compact
 * (_smarthost_json_to_data_compact(): what json-glib's generator wrote).
 */

json_t *
sm_json_parse_object (const char  *what,
                      const char  *text,
                      gssize       length,
                      GError     **error)
{
  return _smarthost_json_parse (what, text, length, SMARTHOST_JSON_PARSE_OBJECT, error);
}

/* Wipes a string value in place (jansson's own copy), before it goes. */
static void
wipe_value (json_t *value)
{
  if (json_is_string (value))
    _smarthost_secure_zero ((char *) json_string_value (value), json_string_length (value));
}

/* The string value of @mask_member, wherever it is, made the password
 * mask (the secret wiped first). */
static void
mask_members (json_t     *node,
              const char *mask_member)
{
  if (json_is_array (node))
    {
      size_t i;
      json_t *element;

      json_array_foreach (node, i, element)
        mask_members (element, mask_member);
    }
  else if (json_is_object (node))
    {
      const char *name;
      json_t *member;

      json_object_foreach (node, name, member)
        {
          if (g_str_equal (name, mask_member) && json_is_string (member))
            {
              wipe_value (member);
              json_string_set (member, SMARTHOST_PASSWORD_MASK);
            }
          else
            mask_members (member, mask_member);
        }
    }
}

/* Compact JSON text; the string value of @mask_member, wherever it is,
 * shown as the password mask. */
char *
sm_json_to_string (json_t     *node,
                   const char *mask_member)
{
  g_autoptr(SmarthostWipedJson) copy = NULL;

  if (mask_member != NULL)
    {
      copy = json_deep_copy (node);
      mask_members (copy, mask_member);
      node = copy;
    }
  return _smarthost_json_to_data_compact (node, NULL);
}

json_t *
sm_json_new_object (void)
{
  return json_object ();
}

json_t *
sm_json_copy (json_t *node)
{
  return node ? json_deep_copy (node) : NULL;
}

void
sm_json_set_string (json_t     *object,
                    const char *name,
                    const char *value)
{
  json_object_set_new (object, name, _smarthost_json_string (value));
}

void
sm_json_set_int (json_t     *object,
                 const char *name,
                 gint64      value)
{
  json_object_set_new (object, name, json_integer (value));
}

void
sm_json_set_boolean (json_t     *object,
                     const char *name,
                     gboolean    value)
{
  json_object_set_new (object, name, json_boolean (value));
}

/* Takes @value. */
void
sm_json_set_node (json_t     *object,
                  const char *name,
                  json_t     *value)
{
  json_object_set_new (object, name, value);
}

void
sm_json_remove (json_t     *object,
                const char *name)
{
  if (json_is_object (object))
    json_object_del (object, name);
}

gboolean
sm_json_has (json_t     *object,
             const char *name)
{
  return json_object_get (object, name) != NULL;
}

/* Borrowed; NULL when @object is not an object or has no @name. */
json_t *
sm_json_get (json_t     *object,
             const char *name)
{
  return json_is_object (object) ? json_object_get (object, name) : NULL;
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
static json_t *
member (json_t      *object,
        const char  *where,
        const char  *name,
        gboolean     optional,
        gboolean    *ok,
        GError     **error)
{
  json_t *m = sm_json_get (object, name);

  *ok = TRUE;
  if (m == NULL || json_is_null (m))
    {
      if (!optional)
        *ok = type_error (error, where, name, "is missing");
      return NULL;
    }
  return m;
}

gboolean
sm_json_get_string (json_t      *object,
                    const char  *where,
                    const char  *name,
                    gboolean     optional,
                    char       **out,
                    GError     **error)
{
  gboolean ok;
  json_t *m = member (object, where, name, optional, &ok, error);

  if (m == NULL)
    return ok;
  if (!json_is_string (m))
    return type_error (error, where, name, "is not a string");
  g_free (*out);
  *out = g_strdup (json_string_value (m));
  return TRUE;
}

gboolean
sm_json_get_boolean (json_t      *object,
                     const char  *where,
                     const char  *name,
                     gboolean     optional,
                     gboolean    *out,
                     GError     **error)
{
  gboolean ok;
  json_t *m = member (object, where, name, optional, &ok, error);

  if (m == NULL)
    return ok;
  if (!json_is_boolean (m))
    return type_error (error, where, name, "is not true or false");
  *out = json_is_true (m);
  return TRUE;
}

gboolean
sm_json_get_uint (json_t      *object,
                  const char  *where,
                  const char  *name,
                  gboolean     optional,
                  guint       *out,
                  GError     **error)
{
  gboolean ok;
  json_t *m = member (object, where, name, optional, &ok, error);
  json_int_t n;

  if (m == NULL)
    return ok;
  if (!json_is_integer (m))
    return type_error (error, where, name, "is not a whole number");
  n = json_integer_value (m);
  if (n < 0 || n > G_MAXUINT)
    return type_error (error, where, name, "is out of range");
  *out = (guint) n;
  return TRUE;
}

/* *@out: the elements (borrowed from @object). */
gboolean
sm_json_get_array (json_t      *object,
                   const char  *where,
                   const char  *name,
                   GPtrArray  **out,
                   GError     **error)
{
  gboolean ok;
  json_t *m = member (object, where, name, FALSE, &ok, error);

  if (m == NULL)
    return ok;
  if (!json_is_array (m))
    return type_error (error, where, name, "is not an array");
  *out = g_ptr_array_sized_new (json_array_size (m));
  for (size_t i = 0; i < json_array_size (m); i++)
    g_ptr_array_add (*out, json_array_get (m, i));
  return TRUE;
}

/* *@out: borrowed from @object. */
gboolean
sm_json_get_object (json_t      *object,
                    const char  *where,
                    const char  *name,
                    json_t     **out,
                    GError     **error)
{
  gboolean ok;
  json_t *m = member (object, where, name, FALSE, &ok, error);

  if (m == NULL)
    return ok;
  if (!json_is_object (m))
    return type_error (error, where, name, "is not an object");
  *out = m;
  return TRUE;
}

char *
sm_json_get_id (json_t     *object,
                const char *name)
{
  json_t *m = sm_json_get (object, name);

  if (json_is_string (m))
    return *json_string_value (m) ? g_strdup (json_string_value (m)) : NULL;
  if (json_is_integer (m))
    return g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) json_integer_value (m));
  return NULL;
}

/* Whether two objects have the same members with the same values, but
 * for two names (the order of the members does not count). */
gboolean
sm_json_equal_except (json_t     *a,
                      json_t     *b,
                      const char *except1,
                      const char *except2)
{
  const char *name;
  json_t *value;

  if (!json_is_object (a) || !json_is_object (b))
    return FALSE;
  json_object_foreach (a, name, value)
    {
      json_t *other;

      if ((except1 != NULL && g_str_equal (name, except1)) || (except2 != NULL && g_str_equal (name, except2)))
        continue;
      other = json_object_get (b, name);
      if (other == NULL || !json_equal (value, other))
        return FALSE;
    }
  json_object_foreach (b, name, value)
    {
      if ((except1 != NULL && g_str_equal (name, except1)) || (except2 != NULL && g_str_equal (name, except2)))
        continue;
      if (json_object_get (a, name) == NULL)
        return FALSE;
    }
  return TRUE;
}

/* Wipes a string member (a password) before its object is freed. */
void
sm_json_wipe_string (json_t     *object,
                     const char *name)
{
  wipe_value (sm_json_get (object, name));
}

/* A boolean field of a gateway (a mapping name such as "gateway-auth"),
 * @missing when the gateway has none. */
gboolean
sm_gateway_flag (SmMapping  *m,
                 json_t     *gateway,
                 const char *field,
                 gboolean    missing)
{
  gboolean value = missing;

  sm_json_get_boolean (gateway, "gateway", sm_mapping_field (m, field), TRUE, &value, NULL);
  return value;
}
