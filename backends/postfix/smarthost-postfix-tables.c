/* smarthost-postfix-tables.c: Postfix lookup tables as the backend reads them
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-error.h"
#include "smarthost-postfix-private.h"
#include "smarthost-util-private.h"

/*
 * Implementation notes
 *
 * A parameter that takes lookup tables takes a list of them, "type:name"
 * items separated by commas or whitespace, and Postfix asks them in order:
 * the first table with an answer wins. Postfix splits the list with
 * mystrtokq(), which keeps "{...}" groups whole, so "inline:{ a=b, c=d }"
 * is one table, not two.
 *
 * Some tables are their own text, written out in main.cf or master.cf:
 * inline:{ key=value, { key = value with spaces } } (dict_inline.c),
 * static:value or static:{ value } (dict_static.c), and unionmap:{...} and
 * pipemap:{...} (dict_union.c, dict_pipe.c), which hold other tables. That
 * text may be a password (smtp_sasl_password_maps = inline:{ [relay]:587 =
 * user:password }), so these tables are read here, in process, and never
 * handed to postmap: a command line is visible to every user (ps), and
 * postmap echoes a table it cannot parse in its error messages. Any other
 * table written out in "{...}" is not queried at all. Messages name such a
 * table by its type only (pf_table_label()), and every copy of its text is
 * wiped when freed.
 */

/* Splits a list value ("a, b c") the way Postfix's mystrtokq() does with
 * CHARS_COMMA_SP and CHARS_BRACE: separators inside "{...}" do not split,
 * so "inline:{ k1=v1, k2=v2 }" stays one table. */
GPtrArray *
pf_split_list (const char *value)
{
  GPtrArray *items = g_ptr_array_new_with_free_func ((GDestroyNotify) _smarthost_secret_free);
  GString *cur = g_string_new (NULL);
  int depth = 0;

  for (const char *p = value ? value : ""; ; p++)
    {
      if (*p == '\0' || (depth == 0 && strchr (" ,\t\r\n", *p)))
        {
          if (cur->len)
            g_ptr_array_add (items, g_strdup (cur->str));
          g_string_truncate (cur, 0);
          if (*p == '\0')
            break;
          continue;
        }
      if (*p == '{')
        depth++;
      else if (*p == '}' && depth > 0)
        depth--;
      g_string_append_c (cur, *p);
    }
  explicit_bzero (cur->str, cur->len);
  g_string_free (cur, TRUE);
  return items;
}

/* The table types Postfix answers from the text of their name, and the
 * composite ones that may contain them. */
static const char *in_process_types[] = { "inline:", "static:", "unionmap:", "pipemap:", NULL };

gboolean
pf_table_in_process (const char *spec)
{
  for (guint i = 0; in_process_types[i]; i++)
    if (g_str_has_prefix (spec, in_process_types[i]))
      return TRUE;
  return FALSE;
}

/* How a table is named in messages: a table written out in the
 * configuration (inline:{...}, static:user:password) may hold passwords,
 * so only its type is shown. */
char *
pf_table_label (const char *spec)
{
  const char *brace = strchr (spec, '{');

  if (g_str_has_prefix (spec, "static:"))
    return g_strdup ("static:...");
  if (brace == NULL)
    return g_strdup (spec);
  return g_strdup_printf ("%.*s{...}", (int) (brace - spec), spec);
}

/* Postfix's extpar() with EXTPAR_FLAG_STRIP: "{ text }" -> "text". The
 * error never quotes the text, which may be a password. */
char *
pf_strip_braces (const char  *text,
                 const char **err)
{
  gsize len = strlen (text);
  int depth = 0;
  gsize close = 0;

  if (text[0] != '{')
    {
      *err = "missing '{'";
      return NULL;
    }
  for (gsize i = 0; i < len; i++)
    {
      if (text[i] == '{')
        depth++;
      else if (text[i] == '}' && --depth == 0)
        {
          close = i;
          break;
        }
    }
  if (depth != 0)
    {
      *err = "missing '}'";
      return NULL;
    }
  for (gsize i = close + 1; i < len; i++)
    if (!g_ascii_isspace (text[i]))
      {
        *err = "text after '}'";
        return NULL;
      }
  return g_strstrip (g_strndup (text + 1, close - 1));
}

/* Postfix's split_nameval(): "name = value", whitespace around both
 * trimmed; the name has no whitespace. */
gboolean
pf_split_nameval (char        *text,
                  char       **name,
                  char       **value,
                  const char **err)
{
  char *p = text, *end;

  while (g_ascii_isspace (*p))
    p++;
  if (*p == '\0' || *p == '=')
    {
      *err = "missing attribute name";
      return FALSE;
    }
  *name = p;
  while (*p && !g_ascii_isspace (*p) && *p != '=')
    p++;
  end = p;
  while (g_ascii_isspace (*p))
    p++;
  if (*p != '=')
    {
      *err = "missing '=' after attribute name";
      return FALSE;
    }
  *end = '\0';
  *value = g_strstrip (p + 1);
  return TRUE;
}

/* The entries of "inline:{ k=v, { k = v with spaces } }" as dict_inline.c
 * reads them: key (folded to lower case), value, key, value... A later
 * duplicate wins, as in Postfix's in-memory table. */
GPtrArray *
pf_table_inline_entries (const char  *spec,
                         GError     **error)
{
  g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) _smarthost_secret_free);
  g_autoptr(GPtrArray) items = NULL;
  g_autofree char *label = pf_table_label (spec);
  const char *err = NULL;
  char *body;

  body = pf_strip_braces (spec + strlen ("inline:"), &err);
  if (body == NULL)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "%s: %s", label, err);
      return NULL;
    }
  items = pf_split_list (body);
  _smarthost_secret_free (body);
  for (guint i = 0; i < items->len; i++)
    {
      char *item = g_ptr_array_index (items, i);
      char *inner = NULL;
      char *name, *value;
      gboolean ok;

      if (item[0] == '{' && (inner = pf_strip_braces (item, &err)) == NULL)
        break;
      ok = pf_split_nameval (inner ? inner : item, &name, &value, &err);
      if (ok)
        {
          for (guint j = 0; j < entries->len; j += 2)
            if (g_ascii_strcasecmp (g_ptr_array_index (entries, j), name) == 0)
              {
                g_ptr_array_remove_range (entries, j, 2);
                break;
              }
          g_ptr_array_add (entries, g_ascii_strdown (name, -1));
          g_ptr_array_add (entries, g_strdup (value));
        }
      _smarthost_secret_free (inner);
      if (!ok)
        break;
      err = NULL;
    }
  if (err == NULL && entries->len == 0)
    err = "empty table";
  if (err != NULL)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "%s: %s", label, err);
      return NULL;
    }
  return g_steal_pointer (&entries);
}

/* Looks @key up in one in-process table (pf_table_in_process()). Returns
 * FALSE if Postfix cannot read the table; *value is NULL on a miss. */
gboolean
pf_table_lookup (PfState       *st,
                 const char    *spec,
                 const char    *key,
                 char         **value,
                 GCancellable  *cancellable,
                 GError       **error)
{
  *value = NULL;
  if (g_str_has_prefix (spec, "static:"))
    {
      /* Every key has the same value. */
      const char *text = spec + strlen ("static:");
      const char *err = NULL;

      if (text[0] != '{')
        *value = g_strdup (text);
      else if ((*value = pf_strip_braces (text, &err)) == NULL)
        {
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "static:{...}: %s", err);
          return FALSE;
        }
      return TRUE;
    }
  if (g_str_has_prefix (spec, "inline:"))
    {
      g_autoptr(GPtrArray) entries = pf_table_inline_entries (spec, error);
      g_autofree char *folded = g_ascii_strdown (key, -1);

      if (entries == NULL)
        return FALSE;
      for (guint i = 0; i + 1 < entries->len; i += 2)
        if (g_str_equal (g_ptr_array_index (entries, i), folded))
          {
            *value = g_strdup (g_ptr_array_index (entries, i + 1));
            break;
          }
      return TRUE;
    }
  {
    /* unionmap:{a, b} joins every table's answer with commas (dict_union.c);
     * pipemap:{a, b} feeds a's answer to b as its key (dict_pipe.c). */
    gboolean pipe = g_str_has_prefix (spec, "pipemap:");
    const char *err = NULL;
    g_autofree char *label = pf_table_label (spec);
    char *body = pf_strip_braces (strchr (spec, ':') + 1, &err);
    g_autoptr(GPtrArray) parts = NULL;
    GString *joined = NULL;
    char *cur = g_strdup (key);

    if (body == NULL)
      {
        g_free (cur);
        g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "%s: %s", label, err);
        return FALSE;
      }
    parts = pf_split_list (body);
    _smarthost_secret_free (body);
    for (guint i = 0; i < parts->len && cur != NULL; i++)
      {
        const char *part = g_ptr_array_index (parts, i);
        char *answer = NULL;

        if (pf_table_in_process (part))
          {
            if (!pf_table_lookup (st, part, cur, &answer, cancellable, error))
              {
                _smarthost_secret_free (cur);
                if (joined)
                  _smarthost_secret_free (g_string_free (joined, FALSE));
                return FALSE;
              }
          }
        else
          answer = pf_postmap_query (st, part, cur, cancellable);
        if (pipe)
          {
            _smarthost_secret_free (cur);
            cur = answer;
          }
        else if (answer != NULL)
          {
            if (joined == NULL)
              joined = g_string_new (answer);
            else
              g_string_append_printf (joined, ",%s", answer);
            _smarthost_secret_free (answer);
          }
      }
    if (pipe)
      *value = cur;
    else
      {
        _smarthost_secret_free (cur);
        *value = joined ? g_string_free (joined, FALSE) : NULL;
      }
    return TRUE;
  }
}

/* Looks a key up in a list of lookup tables the way Postfix does: the
 * first table with an answer wins. The list is split as Postfix splits it
 * ("inline:{ a=b, c=d }" is one table). inline: and static: tables, whose
 * text may hold passwords, are read in process (pf_table_lookup()), never
 * put on postmap's command line, which every user can read; any other
 * table written out in "{...}" is skipped for the same reason (adoption
 * refuses such lists). The value may be a secret: it is never logged. */
char *
pf_postmap_query (PfState      *st,
                  const char   *maps,
                  const char   *key,
                  GCancellable *cancellable)
{
  g_autoptr(GPtrArray) list = pf_split_list (maps);

  for (guint i = 0; i < list->len; i++)
    {
      const char *spec = g_ptr_array_index (list, i);
      const char *argv[] = { POSTFIX_SBINDIR "/postmap", "-c", st->dir, "-q", key, spec, NULL };
      char *out = NULL;
      int status;

      if (pf_table_in_process (spec))
        {
          if (!pf_table_lookup (st, spec, key, &out, cancellable, NULL))
            continue;   /* Postfix cannot read it either */
        }
      else if (strchr (spec, '{') != NULL)
        continue;
      else if (!_smarthost_run (argv, cancellable, &status, &out, NULL, NULL) || status != 0)
        {
          _smarthost_secret_free (out);
          continue;
        }
      if (out != NULL)
        {
          g_strchomp (out);
          if (*out)
            return out;
          g_free (out);
        }
    }
  return NULL;
}
