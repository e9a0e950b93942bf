/* smarthost-postfix-conf.c: main.cf and master.cf edited as lines
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-postfix-conf.h"

/*
 * Implementation notes
 *
 * Postfix reads both files as logical lines (util/readlline.c): a line
 * that starts with non-whitespace text starts an entry, a line that starts
 * with whitespace continues it, and comment lines ('#' after optional
 * whitespace) and blank lines are skipped without ending the entry. In
 * main.cf an entry is "name = value" and the last definition of a name
 * wins; in master.cf an entry is a service, keyed here by "name/type".
 *
 * The file is kept as a list of chunks: verbatim text (comments, blank
 * lines, anything we cannot parse) and entries. An entry keeps the bytes
 * it was read from, written back unchanged unless the entry is edited;
 * it also keeps its own lines (the start line and its continuation lines)
 * apart from the comment and blank lines found between them, so that
 * replacing or deleting the entry keeps those comments (after the new
 * text). Every chunk we do not touch is written back byte for byte.
 *
 * Entries we add are appended after a marker comment. Removing an entry
 * below the marker deletes it; removing one that the administrator wrote
 * elsewhere resets it in place to the default value, so that the file
 * keeps its shape. When an entry is defined several times, the last
 * definition is the one edited and the earlier ones are commented out with
 * '#', which keeps their text and leaves exactly our value in effect.
 */

#define MAIN_MARKER "# Smarthost settings managed by libsmarthost: change them with smarthostctl\n"
#define MASTER_MARKER "# Smarthost transports managed by libsmarthost: change them with smarthostctl\n"

typedef struct {
  char *key;          /* NULL for verbatim text */
  char *text;         /* the entry's own lines, or the verbatim text */
  char *between;      /* comment and blank lines found inside the entry */
  char *orig;         /* the entry as read, interleaved lines included */
  gboolean edited;    /* text was replaced: write text + between, not orig */
  char *value;        /* main.cf: the joined value */
  guint line;         /* 1-based line where the chunk starts */
} Chunk;

struct _PfConf
{
  PfConfKind kind;
  GPtrArray *chunks;
  gboolean removed_managed;   /* an entry below the marker was deleted */
};

static void
chunk_free (gpointer data)
{
  Chunk *c = data;

  g_free (c->key);
  g_free (c->text);
  g_free (c->between);
  g_free (c->orig);
  g_free (c->value);
  g_free (c);
}

static gboolean
is_blank_or_comment (const char *line)
{
  while (*line == ' ' || *line == '\t' || *line == '\r' || *line == '\v' || *line == '\f')
    line++;
  return *line == '\0' || *line == '\n' || *line == '#';
}

static gboolean
starts_with_space (const char *line)
{
  return g_ascii_isspace (*line) && *line != '\n';
}

static char *
entry_key (PfConfKind  kind,
           const char *text)
{
  if (kind == PF_CONF_MAIN)
    {
      gsize n = strcspn (text, " \t\r\n=");
      return g_strndup (text, n);
    }
  else
    {
      g_auto(GStrv) fields = g_strsplit_set (text, " \t\r\n", 0);
      const char *name = NULL, *type = NULL;

      for (guint i = 0; fields[i]; i++)
        {
          if (*fields[i] == '\0')
            continue;
          if (name == NULL)
            name = fields[i];
          else
            {
              type = fields[i];
              break;
            }
        }
      return g_strdup_printf ("%s/%s", name ? name : "", type ? type : "");
    }
}

/* The value of a main.cf entry: what follows '=', continuation lines
 * joined, whitespace trimmed. */
static char *
main_value (const char *text)
{
  const char *eq = strchr (text, '=');
  g_autoptr(GString) value = g_string_new (NULL);
  g_auto(GStrv) lines = NULL;

  if (eq == NULL)
    return g_strdup ("");
  lines = g_strsplit (eq + 1, "\n", 0);
  for (guint i = 0; lines[i]; i++)
    {
      char *part = g_strstrip (lines[i]);
      if (*part == '\0')
        continue;
      if (value->len)
        g_string_append_c (value, ' ');
      g_string_append (value, part);
    }
  return g_strdup (value->str);
}

PfConf *
pf_conf_parse (PfConfKind  kind,
               const char *text)
{
  PfConf *conf = g_new0 (PfConf, 1);
  const char *p = text ? text : "";
  guint lineno = 1;
  Chunk *entry = NULL;
  GString *pending = NULL;     /* comment/blank lines seen after an entry */
  guint pending_line = 0;

  conf->kind = kind;
  conf->chunks = g_ptr_array_new_with_free_func (chunk_free);

  while (*p)
    {
      const char *nl = strchr (p, '\n');
      gsize len = nl ? (gsize) (nl - p) + 1 : strlen (p);
      g_autofree char *line = g_strndup (p, len);

      if (is_blank_or_comment (line))
        {
          if (pending == NULL)
            {
              pending = g_string_new (NULL);
              pending_line = lineno;
            }
          g_string_append (pending, line);
        }
      else if (starts_with_space (line) && entry != NULL)
        {
          /* A continuation line: comments seen since the entry started
           * stay inside it. */
          GString *t = g_string_new (entry->text);
          char *pending_for_orig = pending ? g_strdup (pending->str) : NULL;
          if (pending != NULL)
            {
              char *b = g_strconcat (entry->between ? entry->between : "", pending->str, NULL);
              g_free (entry->between);
              entry->between = b;
              g_string_free (pending, TRUE);
              pending = NULL;
            }
          g_string_append (t, line);
          g_free (entry->text);
          entry->text = g_string_free (t, FALSE);
          {
            /* orig keeps the lines in their order: the entry so far, the
             * interleaved comments, then this continuation line. */
            char *o = g_strconcat (entry->orig, pending_for_orig ? pending_for_orig : "", line, NULL);
            g_free (entry->orig);
            entry->orig = o;
            g_clear_pointer (&pending_for_orig, g_free);
          }
        }
      else
        {
          if (pending != NULL)
            {
              Chunk *v = g_new0 (Chunk, 1);
              v->text = g_string_free (pending, FALSE);
              v->line = pending_line;
              g_ptr_array_add (conf->chunks, v);
              pending = NULL;
            }
          if (starts_with_space (line))
            {
              /* Continuation without an entry: Postfix ignores it. */
              Chunk *v = g_new0 (Chunk, 1);
              v->text = g_strdup (line);
              v->line = lineno;
              g_ptr_array_add (conf->chunks, v);
              entry = NULL;
            }
          else
            {
              entry = g_new0 (Chunk, 1);
              entry->key = entry_key (kind, line);
              entry->text = g_strdup (line);
              entry->orig = g_strdup (line);
              entry->line = lineno;
              g_ptr_array_add (conf->chunks, entry);
            }
        }
      lineno++;
      p += len;
    }
  if (pending != NULL)
    {
      Chunk *v = g_new0 (Chunk, 1);
      v->text = g_string_free (pending, FALSE);
      v->line = pending_line;
      g_ptr_array_add (conf->chunks, v);
    }

  if (kind == PF_CONF_MAIN)
    for (guint i = 0; i < conf->chunks->len; i++)
      {
        Chunk *c = g_ptr_array_index (conf->chunks, i);
        if (c->key)
          c->value = main_value (c->text);
      }
  return conf;
}

void
pf_conf_free (PfConf *conf)
{
  if (conf == NULL)
    return;
  g_ptr_array_unref (conf->chunks);
  g_free (conf);
}

static const char *
marker (PfConf *conf)
{
  return conf->kind == PF_CONF_MAIN ? MAIN_MARKER : MASTER_MARKER;
}

/* The index of the chunk holding the marker line, or -1. */
static gint
find_marker (PfConf *conf)
{
  for (guint i = 0; i < conf->chunks->len; i++)
    {
      Chunk *c = g_ptr_array_index (conf->chunks, i);
      if (c->key == NULL && strstr (c->text, marker (conf)) != NULL)
        return (gint) i;
    }
  return -1;
}

char *
pf_conf_to_string (PfConf *conf)
{
  GString *out = g_string_new (NULL);
  gint m = find_marker (conf);
  gboolean drop_marker = FALSE;

  /* Drop the marker once the last entry of ours below it was removed; a
   * marker left alone by the administrator stays, so that reading and
   * writing an untouched file gives the same bytes. */
  if (m >= 0 && conf->removed_managed)
    {
      drop_marker = TRUE;
      for (guint i = (guint) m + 1; i < conf->chunks->len && drop_marker; i++)
        {
          Chunk *c = g_ptr_array_index (conf->chunks, i);
          drop_marker = !(c->key != NULL && *c->text != '\0');
        }
    }

  for (guint i = 0; i < conf->chunks->len; i++)
    {
      Chunk *c = g_ptr_array_index (conf->chunks, i);

      if (drop_marker && (gint) i == m)
        {
          g_autoptr(GString) t = g_string_new (c->text);
          g_string_replace (t, marker (conf), "", 1);
          g_string_append (out, t->str);
        }
      else if (c->key != NULL && !c->edited)
        g_string_append (out, c->orig);
      else
        {
          g_string_append (out, c->text);
          if (c->between)
            g_string_append (out, c->between);
        }
    }
  return g_string_free (out, FALSE);
}

static Chunk *
last_entry (PfConf     *conf,
            const char *key,
            guint      *index)
{
  for (guint i = conf->chunks->len; i-- > 0;)
    {
      Chunk *c = g_ptr_array_index (conf->chunks, i);
      if (c->key && *c->text && g_str_equal (c->key, key))
        {
          if (index)
            *index = i;
          return c;
        }
    }
  return NULL;
}

/* main.cf: the value in effect (last definition); master.cf: the entry's
 * text. NULL when not defined. */
const char *
pf_conf_get (PfConf     *conf,
             const char *key)
{
  Chunk *c = last_entry (conf, key, NULL);

  if (c == NULL)
    return NULL;
  return conf->kind == PF_CONF_MAIN ? c->value : c->text;
}

/* Lines we keep byte for byte may be in any encoding (Postfix reads
 * bytes); what we interpret must be text. Returns what @check says of the
 * first line of an entry (comments inside it skipped) that is not UTF-8
 * and that @check cares about, with its line number in @line; NULL if
 * there is none. */
char *
pf_conf_find_not_utf8 (PfConf          *conf,
                       PfConfTextCheck  check,
                       guint           *line)
{
  for (guint i = 0; i < conf->chunks->len; i++)
    {
      Chunk *c = g_ptr_array_index (conf->chunks, i);
      const char *p;
      guint lineno;

      if (c->key == NULL || c->orig == NULL || g_utf8_validate (c->orig, -1, NULL))
        continue;
      for (p = c->orig, lineno = c->line; *p; lineno++)
        {
          gsize len = strcspn (p, "\n");
          g_autofree char *text = g_strndup (p, len);

          p += len + (p[len] == '\n');
          if (!is_blank_or_comment (text) && !g_utf8_validate (text, -1, NULL))
            {
              char *what = check (c->key, text);
              if (what != NULL)
                {
                  *line = lineno;
                  return what;
                }
            }
        }
    }
  return NULL;
}

guint
pf_conf_count (PfConf     *conf,
               const char *key)
{
  guint n = 0;

  for (guint i = 0; i < conf->chunks->len; i++)
    {
      Chunk *c = g_ptr_array_index (conf->chunks, i);
      if (c->key && *c->text && g_str_equal (c->key, key))
        n++;
    }
  return n;
}

/* Whether the entry in effect for @key is one we appended. */
gboolean
pf_conf_is_managed (PfConf     *conf,
                    const char *key)
{
  guint index;
  gint m = find_marker (conf);

  return m >= 0 && last_entry (conf, key, &index) != NULL && index > (guint) m;
}

GPtrArray *
pf_conf_keys (PfConf     *conf,
              const char *prefix)
{
  GPtrArray *keys = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < conf->chunks->len; i++)
    {
      Chunk *c = g_ptr_array_index (conf->chunks, i);
      if (c->key && *c->text && g_str_has_prefix (c->key, prefix))
        {
          gboolean seen = FALSE;
          for (guint j = 0; j < keys->len && !seen; j++)
            seen = g_str_equal (g_ptr_array_index (keys, j), c->key);
          if (!seen)
            g_ptr_array_add (keys, g_strdup (c->key));
        }
    }
  return keys;
}

static void
set_text (PfConf     *conf,
          Chunk      *c,
          const char *text)
{
  c->edited = TRUE;
  g_free (c->text);
  c->text = g_strdup (text);
  g_clear_pointer (&c->value, g_free);
  if (conf->kind == PF_CONF_MAIN && *text)
    c->value = main_value (text);
}

static char *
comment_out (const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", 0);
  GString *out = g_string_new (NULL);

  for (guint i = 0; lines[i]; i++)
    {
      if (lines[i + 1] == NULL && *lines[i] == '\0')
        break;
      g_string_append_printf (out, "#%s", lines[i]);
      if (lines[i + 1] != NULL)
        g_string_append_c (out, '\n');
    }
  return g_string_free (out, FALSE);
}

/* Comments out every definition of @key but the last, noting it; returns
 * the last one. */
static Chunk *
resolve_duplicates (PfConf     *conf,
                    const char *key,
                    const char *file_label,
                    GPtrArray  *notes)
{
  guint last_index;
  Chunk *last = last_entry (conf, key, &last_index);
  g_autoptr(GString) lines = g_string_new (NULL);
  guint n = 0;

  if (last == NULL)
    return NULL;
  for (guint i = 0; i < last_index; i++)
    {
      Chunk *c = g_ptr_array_index (conf->chunks, i);
      g_autofree char *commented = NULL;

      if (c->key == NULL || *c->text == '\0' || !g_str_equal (c->key, key))
        continue;
      commented = comment_out (c->edited ? c->text : c->orig);
      g_string_append_printf (lines, "%s%u", n ? ", " : "", c->line);
      g_free (c->key);
      c->key = NULL;
      g_free (c->text);
      c->text = g_steal_pointer (&commented);
      g_clear_pointer (&c->between, g_free);
      g_clear_pointer (&c->orig, g_free);
      n++;
    }
  if (n > 0 && notes != NULL)
    g_ptr_array_add (notes, g_strdup_printf ("%s: %s was defined %u times; the definition on line %u is the one "
                                             "in effect and is the one changed, the earlier one%s on line%s %s %s "
                                             "commented out",
                                             file_label, key, n + 1, last->line, n > 1 ? "s" : "",
                                             n > 1 ? "s" : "", lines->str, n > 1 ? "are" : "is"));
  return last;
}

static void
ensure_final_newline (PfConf *conf)
{
  for (guint i = conf->chunks->len; i-- > 0;)
    {
      Chunk *c = g_ptr_array_index (conf->chunks, i);
      char **slot;
      gsize len;

      if (c->key != NULL && !c->edited)
        slot = &c->orig;
      else
        slot = c->between && *c->between ? &c->between : &c->text;
      len = strlen (*slot);
      if (len == 0)
        continue;
      if ((*slot)[len - 1] != '\n')
        {
          char *t = g_strconcat (*slot, "\n", NULL);
          g_free (*slot);
          *slot = t;
        }
      return;
    }
}

/* Sets @key to @entry (full lines, ending in a newline). */
void
pf_conf_set (PfConf     *conf,
             const char *key,
             const char *entry,
             const char *file_label,
             GPtrArray  *notes)
{
  Chunk *c = resolve_duplicates (conf, key, file_label, notes);

  if (c != NULL)
    {
      if (!g_str_equal (c->text, entry))
        set_text (conf, c, entry);
      return;
    }

  ensure_final_newline (conf);
  if (find_marker (conf) < 0)
    {
      Chunk *m = g_new0 (Chunk, 1);
      m->text = g_strdup (marker (conf));
      g_ptr_array_add (conf->chunks, m);
    }
  c = g_new0 (Chunk, 1);
  c->key = g_strdup (key);
  set_text (conf, c, entry);
  g_ptr_array_add (conf->chunks, c);
}

/* Removes @key: an entry we appended is deleted; one the administrator
 * wrote is reset in place to @default_entry (deleted when that is NULL). */
void
pf_conf_unset (PfConf     *conf,
               const char *key,
               const char *default_entry,
               const char *file_label,
               GPtrArray  *notes)
{
  Chunk *c = resolve_duplicates (conf, key, file_label, notes);

  if (c == NULL)
    return;
  if (default_entry == NULL || pf_conf_is_managed (conf, key))
    {
      if (pf_conf_is_managed (conf, key))
        conf->removed_managed = TRUE;
      set_text (conf, c, "");
    }
  else if (!g_str_equal (c->text, default_entry))
    set_text (conf, c, default_entry);
}

/* "name = value\n", as postconf -e writes it. */
char *
pf_main_entry (const char *name,
               const char *value)
{
  return g_strdup_printf ("%s = %s\n", name, value);
}
