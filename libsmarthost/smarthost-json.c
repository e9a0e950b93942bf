/* smarthost-json.c: JSON text from outside, read strictly into jansson trees
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "smarthost-error.h"
#include "smarthost-json-private.h"
#include "smarthost-relay.h"   /* SMARTHOST_JSON_MAX_SIZE, SMARTHOST_JSON_MAX_DEPTH */
#include "smarthost-util-private.h"
#include "smarthost-platform-private.h"

/*
 * Implementation notes
 *
 * JSON text from outside is read by the reader below, not by jansson's
 * json_loadb(), for four reasons:
 *
 * - its errors quote the text ("invalid token near '…'"), which may be a
 *   misplaced password, and name a duplicate key however it looks;
 * - its lexer grows its buffers by copying, and frees the old ones
 *   unwiped: a password read would stay behind in freed memory (a wiping
 *   allocator, json_set_alloc_funcs(), would be the whole process's, not
 *   the library's to set);
 * - it bounds nesting at 2048 levels, fixed when jansson is built; ours is
 *   SMARTHOST_JSON_MAX_DEPTH;
 * - it builds the tree of the whole text, several times its size: 130 MB
 *   for a state of 100,000 domains, and a third of the time of an apply.
 *   The reader hands each member of one object ("domains") to the caller,
 *   an object of known keys as SmarthostJsonFields (no tree at all), and
 *   frees it at once.
 *
 * It reads strict JSON (RFC 8259): no comments, no trailing commas, no
 * control characters in strings, no "\u0000", a key once per object, one
 * value (json-glib, which the library used before, kept the last of two
 * members of one name and of "{…}{…}"). Nesting is bounded before
 * (check_structure()), so the recursion is too. Whole numbers that fit are
 * integers, any other number a real.
 */

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

/* An unknown key, named in the error if it looks like one: a key name
 * mistyped. Anything else (a value pasted where a key belongs, a
 * password among them) is not quoted. */
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

/* --- secrets ------------------------------------------------------------ */

static void
wipe_string (json_t *node)
{
  _smarthost_secure_zero ((char *) json_string_value (node), json_string_length (node));
}

void
_smarthost_json_wipe (json_t              *node,
                      const char * const  *names)
{
  const char *key;
  json_t *member;
  gsize i;

  if (node == NULL)
    return;
  switch (json_typeof (node))
    {
    case JSON_STRING:
      if (names == NULL)
        wipe_string (node);
      break;
    case JSON_ARRAY:
      /* A password may sit anywhere an error stops the reading, even in
       * an array where none belongs. */
      json_array_foreach (node, i, member)
        _smarthost_json_wipe (member, names);
      break;
    case JSON_OBJECT:
      json_object_foreach (node, key, member)
        {
          if (names != NULL && json_is_string (member) && g_strv_contains (names, key))
            wipe_string (member);
          else
            _smarthost_json_wipe (member, names);
        }
      break;
    default:
      break;
    }
}

/* A string of the parsed tree that may be a password is wiped before the
 * tree goes: every value of a "password" member. */
void
_smarthost_json_free_secret (json_t *node)
{
  static const char * const password[] = { "password", NULL };

  if (node == NULL)
    return;
  _smarthost_json_wipe (node, password);
  json_decref (node);
}

void
_smarthost_json_free_wiped (json_t *node)
{
  if (node == NULL)
    return;
  _smarthost_json_wipe (node, NULL);
  json_decref (node);
}

/* Frees the members, every string wiped: which of them is a secret is
 * the caller's to know, and they are few and short. */
void
_smarthost_json_fields_clear (SmarthostJsonFields *fields)
{
  for (int i = 0; i < SMARTHOST_JSON_MAX_FIELDS; i++)
    {
      if (fields->strings[i] != NULL)
        _smarthost_secure_zero (fields->strings[i], strlen (fields->strings[i]));
      g_clear_pointer (&fields->strings[i], g_free);
      g_clear_pointer (&fields->values[i], _smarthost_json_free_wiped);
    }
}

/* --- the reader --------------------------------------------------------- */

/* Follows the structure of JSON text from @p to @end: sets *@value_end to
 * just past the bracket that closes the first array or object (NULL when
 * none does), and refuses nesting deeper than SMARTHOST_JSON_MAX_DEPTH
 * before the reader recurses. Strings are skipped, escapes included, so
 * that brackets inside them do not count; whether the text is valid JSON is
 * the reader's to say. */
static gboolean
check_structure (const char  *what,
                 const char  *p,
                 const char  *end,
                 const char **value_end,
                 GError     **error)
{
  guint depth = 0;

  *value_end = NULL;
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
          *value_end = p + 1;
          return TRUE;
        }
    }
  return TRUE;
}

typedef struct {
  const char *what;
  const char *text;     /* its start, for the line and column of an error */
  const char *p;
  const char *end;
  GString *scratch;     /* the string being decoded: may be a password */
  const char *stream_key;
  const char * const *field_keys;
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

static inline gboolean
is_space (char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void
skip_space (Reader *r)
{
  while (r->p < r->end && is_space (*r->p))
    r->p++;
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
      int v = g_ascii_xdigit_value (r->p[i]);
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
      _smarthost_secure_zero (r->scratch->str, r->scratch->allocated_len);
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

/* A number: whole numbers that fit are integers, any other a real. */
static json_t *
read_number (Reader  *r,
             GError **error)
{
  const char *start = r->p;
  gboolean whole = TRUE;
  char buf[64];
  double d;
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
  if (whole)
    {
      gint64 v;
      char *tail;

      errno = 0;
      v = g_ascii_strtoll (buf, &tail, 10);
      if (errno == 0)
        return json_integer (v);
    }
  /* jansson holds no infinity: a number too large for a double is the
   * largest one (it is out of every range all the same). */
  d = g_ascii_strtod (buf, NULL);
  if (!isfinite (d))
    d = copysign (G_MAXDOUBLE, d);
  return json_real (d);
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

static json_t *read_value (Reader *r, gboolean top, GError **error);

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

static int
field_index (const char * const *keys,
             const char         *key)
{
  for (int i = 0; keys[i] != NULL; i++)
    if (strcmp (key, keys[i]) == 0)
      return i;
  return -1;
}

/* The object at r->p read as fields, as read_object() would read it (the
 * same errors at the same places): when it has a key that is not one of
 * r->field_keys, *@known is FALSE and r->p is back at the object's start,
 * for read_object() to read it (and the caller to name the key). */
static gboolean
read_fields (Reader               *r,
             SmarthostJsonFields  *fields,
             gboolean             *known,
             GError              **error)
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
      i = field_index (r->field_keys, r->scratch->str);
      if (i < 0 || strlen (r->scratch->str) != r->scratch->len)
        {
          _smarthost_json_fields_clear (fields);
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
        return duplicate_key (r, r->field_keys[i], error);
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
 * freed (its strings wiped) as soon as it is used: an object of field keys
 * alone as fields (read_fields()), any other value as a tree. Keys given
 * twice are the caller's to find: it keeps a table of them anyway. */
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
      if (r->field_keys != NULL && r->p < r->end && *r->p == '{')
        {
          SmarthostJsonFields fields = { r->field_keys, { NULL }, { NULL } };
          gboolean ok;

          ok = read_fields (r, &fields, &known, error) &&
               (!known || r->func (key, NULL, &fields, r->user_data, error));
          _smarthost_json_fields_clear (&fields);
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

static json_t *
read_object (Reader   *r,
             gboolean  top,
             GError  **error)
{
  g_autoptr(SmarthostSecretJson) object = json_object ();

  r->p++;
  skip_space (r);
  if (r->p < r->end && *r->p == '}')
    return r->p++, g_steal_pointer (&object);
  for (;;)
    {
      g_autofree char *key = NULL;
      json_t *value;

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
      if (json_object_get (object, key) != NULL)
        return duplicate_key (r, key, error), NULL;
      if (top && r->stream_key != NULL && g_str_equal (key, r->stream_key) && r->p < r->end && *r->p == '{')
        {
          /* Its members went to the caller; an empty object stands for it. */
          if (!stream_object (r, error))
            return NULL;
          value = json_object ();
        }
      else if ((value = read_value (r, FALSE, error)) == NULL)
        return NULL;
      json_object_set_new_nocheck (object, key, value);
      skip_space (r);
      if (r->p < r->end && *r->p == '}')
        return r->p++, g_steal_pointer (&object);
      if (r->p >= r->end || *r->p != ',')
        return syntax_error (r, error), NULL;
      r->p++;
      skip_space (r);
    }
}

static json_t *
read_array (Reader  *r,
            GError **error)
{
  g_autoptr(SmarthostSecretJson) array = json_array ();

  r->p++;
  skip_space (r);
  if (r->p < r->end && *r->p == ']')
    return r->p++, g_steal_pointer (&array);
  for (;;)
    {
      json_t *value = read_value (r, FALSE, error);

      if (value == NULL)
        return NULL;
      json_array_append_new (array, value);
      skip_space (r);
      if (r->p < r->end && *r->p == ']')
        return r->p++, g_steal_pointer (&array);
      if (r->p >= r->end || *r->p != ',')
        return syntax_error (r, error), NULL;
      r->p++;
      skip_space (r);
    }
}

static json_t *
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
      /* Valid UTF-8: the text is, and so is what an escape decodes to. */
      return json_stringn_nocheck (r->scratch->str, r->scratch->len);
    case 't':
      if (read_literal (r, "true"))
        return json_true ();
      break;
    case 'f':
      if (read_literal (r, "false"))
        return json_false ();
      break;
    case 'n':
      if (read_literal (r, "null"))
        return json_null ();
      break;
    default:
      if (*r->p == '-' || g_ascii_isdigit (*r->p))
        return read_number (r, error);
      break;
    }
  return syntax_error (r, error), NULL;
}

static const char *
skip_space_in (const char *p,
               const char *end)
{
  while (p < end && is_space (*p))
    p++;
  return p;
}

static json_t *
parse (const char               *what,
       const char               *text,
       gssize                    length,
       SmarthostJsonParseFlags   flags,
       const char               *stream_key,
       const char * const       *field_keys,
       SmarthostJsonMemberFunc   func,
       gpointer                  user_data,
       GError                  **error)
{
  Reader r = { what, text, NULL, NULL, NULL, stream_key, field_keys, func, user_data };
  const char *start, *end, *rest = NULL;
  json_t *root = NULL;
  gsize len;

  /* Bounded before anything else reads the text: the longest a state of
   * hosting scale needs, with room to spare. */
  len = length >= 0 ? (gsize) length : strnlen (text, (gsize) SMARTHOST_JSON_MAX_SIZE + 1);
  if (len > SMARTHOST_JSON_MAX_SIZE)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "%s: too large: JSON text of more than %u MiB (%u bytes) is refused", what,
                        SMARTHOST_JSON_MAX_SIZE / (1024 * 1024), SMARTHOST_JSON_MAX_SIZE), NULL;
  if (length >= 0 && memchr (text, '\0', len) != NULL)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "%s: not JSON text: it has a NUL byte", what), NULL;
  if (!_smarthost_utf8_validate_len (text, len, NULL))
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "%s: not JSON text: it is not valid UTF-8", what), NULL;
  end = text + len;
  start = skip_space_in (text, end);
  if (start == end)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "%s: not valid JSON: the text is empty", what), NULL;
  if (!(flags & SMARTHOST_JSON_PARSE_ANY) && *start != '{')
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "%s: must be a JSON object", what), NULL;
  if (!check_structure (what, start, end, &rest, error))
    return NULL;
  if (rest != NULL && skip_space_in (rest, end) != end)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "%s: not valid JSON: more than one value (text after the object's closing brace)",
                        what), NULL;

  r.p = start;
  r.end = end;
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
  _smarthost_secure_zero (r.scratch->str, r.scratch->allocated_len);
  g_string_free (r.scratch, TRUE);
  return root;
}

json_t *
_smarthost_json_parse (const char               *what,
                       const char               *text,
                       gssize                    length,
                       SmarthostJsonParseFlags   flags,
                       GError                  **error)
{
  g_return_val_if_fail (text != NULL || length == 0, NULL);

  return parse (what, text != NULL ? text : "", length, flags, NULL, NULL, NULL, NULL, error);
}

json_t *
_smarthost_json_parse_streaming (const char               *what,
                                 const char               *text,
                                 const char               *stream_key,
                                 const char * const       *field_keys,
                                 SmarthostJsonMemberFunc   func,
                                 gpointer                  user_data,
                                 GError                  **error)
{
  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (stream_key == NULL || func != NULL, NULL);
  g_return_val_if_fail (field_keys == NULL || g_strv_length ((char **) field_keys) <= SMARTHOST_JSON_MAX_FIELDS, NULL);

  return parse (what, text, -1, SMARTHOST_JSON_PARSE_OBJECT, stream_key, field_keys, func, user_data, error);
}
