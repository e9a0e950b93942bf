/* smarthost-json-writer.c: jansson trees as JSON text, in the library's format
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-json-private.h"

/*
 * Implementation notes
 *
 * Every JSON text the library and smarthostctl print has had one format,
 * json-glib 1.6's generator, and scripts compare it (tests do, byte for
 * byte): jansson's json_dumps() writes `"key": value` and escapes otherwise,
 * so the format is written here, from the tree. Pretty:
 *
 *   {
 *     "key" : "value",
 *     "list" : [
 *       1
 *     ],
 *     "empty" : {  },
 *     "none" : []
 *   }
 *
 * two spaces a level; an empty array is "[]", an empty object "{", the
 * indent of its own level, "}" (so "{}" at the top); no line break at the
 * end. Compact: no space or line break at all.
 *
 * Strings (keys too) are copied byte for byte but for '"' and '\\' (escaped
 * with a backslash), \b \f \n \r \t, and the other bytes 0x01 to 0x1e and
 * 0x7f as \u00xx (lower-case hex). 0x1f is not escaped: json-glib 1.6 tests
 * "< 0x1f", and the output stays the same. Non-ASCII text is written as
 * UTF-8, '/' as it is. Integers in decimal; reals as g_ascii_dtostr() (17
 * significant digits) with ".0" appended when that has no '.' ("1e+20.0":
 * again json-glib's). No output of the library has a real but the timings
 * of a probe.
 */

static void
write_string (GString    *out,
              const char *s,
              gsize       len)
{
  const char *p = s, *end = s + len, *run = s;

  g_string_append_c (out, '"');
  for (; p < end; p++)
    {
      guchar c = (guchar) *p;

      if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
        continue;
      if (c == 0x1f)
        continue;
      g_string_append_len (out, run, p - run);
      run = p + 1;
      switch (c)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default: g_string_append_printf (out, "\\u00%02x", c); break;
        }
    }
  g_string_append_len (out, run, p - run);
  g_string_append_c (out, '"');
}

static void
indent (GString *out,
        int      level)
{
  for (int i = 0; i < level; i++)
    g_string_append (out, "  ");
}

static void
write_value (GString  *out,
             json_t   *node,
             int       level,
             gboolean  pretty)
{
  switch (json_typeof (node))
    {
    case JSON_OBJECT:
      {
        const char *key;
        json_t *value;
        void *iter;
        gboolean first = TRUE;

        g_string_append_c (out, '{');
        if (json_object_size (node) == 0)
          {
            if (pretty)
              indent (out, level);
            g_string_append_c (out, '}');
            return;
          }
        for (iter = json_object_iter (node); iter != NULL; iter = json_object_iter_next (node, iter))
          {
            key = json_object_iter_key (iter);
            value = json_object_iter_value (iter);
            if (!first)
              g_string_append_c (out, ',');
            first = FALSE;
            if (pretty)
              {
                g_string_append_c (out, '\n');
                indent (out, level + 1);
              }
            write_string (out, key, strlen (key));
            g_string_append (out, pretty ? " : " : ":");
            write_value (out, value, level + 1, pretty);
          }
        if (pretty)
          {
            g_string_append_c (out, '\n');
            indent (out, level);
          }
        g_string_append_c (out, '}');
        return;
      }
    case JSON_ARRAY:
      {
        gsize n = json_array_size (node);

        g_string_append_c (out, '[');
        for (gsize i = 0; i < n; i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            if (pretty)
              {
                g_string_append_c (out, '\n');
                indent (out, level + 1);
              }
            write_value (out, json_array_get (node, i), level + 1, pretty);
          }
        if (pretty && n > 0)
          {
            g_string_append_c (out, '\n');
            indent (out, level);
          }
        g_string_append_c (out, ']');
        return;
      }
    case JSON_STRING:
      write_string (out, json_string_value (node), json_string_length (node));
      return;
    case JSON_INTEGER:
      g_string_append_printf (out, "%" G_GINT64_FORMAT, (gint64) json_integer_value (node));
      return;
    case JSON_REAL:
      {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];

        g_ascii_dtostr (buf, sizeof buf, json_real_value (node));
        g_string_append (out, buf);
        if (strchr (buf, '.') == NULL)
          g_string_append (out, ".0");
        return;
      }
    case JSON_TRUE:
      g_string_append (out, "true");
      return;
    case JSON_FALSE:
      g_string_append (out, "false");
      return;
    case JSON_NULL:
    default:
      g_string_append (out, "null");
      return;
    }
}

static char *
to_data (json_t   *node,
         gboolean  pretty,
         gsize    *length)
{
  GString *out = g_string_new (NULL);

  if (node == NULL)
    g_string_append (out, "null");
  else
    write_value (out, node, 0, pretty);
  if (length != NULL)
    *length = out->len;
  return g_string_free (out, FALSE);
}

char *
_smarthost_json_to_data (json_t *node,
                         gsize  *length)
{
  return to_data (node, TRUE, length);
}

char *
_smarthost_json_to_data_compact (json_t *node,
                                 gsize  *length)
{
  return to_data (node, FALSE, length);
}

json_t *
_smarthost_json_string (const char *value)
{
  return value != NULL ? json_stringn_nocheck (value, strlen (value)) : json_null ();
}

json_t *
_smarthost_json_strv (const char * const *values)
{
  json_t *array = json_array ();

  for (gsize i = 0; values != NULL && values[i] != NULL; i++)
    json_array_append_new (array, _smarthost_json_string (values[i]));
  return array;
}
