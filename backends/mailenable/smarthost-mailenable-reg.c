/* smarthost-mailenable-reg.c: regedit's .reg files
 *
 * Implementation notes
 *
 * A .reg file is read in two passes, each linear in its size and neither
 * recursive. The first decodes the bytes into UTF-8 text: UTF-16LE when the
 * file starts with the byte-order mark FF FE (what `regedit /E` and
 * `reg export` write), otherwise UTF-8 (with or without EF BB BF). UTF-16BE,
 * UTF-16 without a mark, invalid code units and NUL characters are refused
 * there, with the byte offset. The second pass reads the text line by line
 * (CRLF, LF or a lone CR): the header, then keys, values and ";" comments.
 *
 * What a value holds is kept as the registry keeps it (GBytes of the
 * REG_* type): a "string" as UTF-16LE with its terminating NUL, dword:N as
 * 4 bytes little-endian, hex(N): as its bytes. A REGEDIT4 file is 8-bit:
 * its hex(1)/hex(2)/hex(7) strings are widened to UTF-16LE, which is exact
 * only for ASCII, so anything else there is refused rather than guessed.
 *
 * A value's data may be a password: no error quotes it, not even the one
 * character of an unknown escape. Names and key paths are quoted
 * (_smarthost_quote) where they help to find the line.
 *
 * The writer writes what Windows' regedit writes (version 5.00, CRLF, hex
 * lists wrapped before column 80 as Wine's regedit does); a string that a
 * "..." cannot carry (a control character, no or several terminating NULs,
 * a NUL inside) is written as hex(1) so that any regedit reads it back
 * byte for byte.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-error.h"
#include "smarthost-files-private.h"
#include "smarthost-mailenable-private.h"
#include "smarthost-operation-private.h"
#include "smarthost-platform-private.h"
#include "smarthost-util-private.h"

#define REG_HEADER_V5 "Windows Registry Editor Version 5.00"
#define REG_HEADER_V4 "REGEDIT4"
#define REG_MASK      "********"
/* Wine's regedit (export_hex_data) breaks a hex list once a line reaches
 * this many columns: with ",\" it never exceeds 80. */
#define REG_HEX_WRAP  77

static const char * const reg_roots[] = {
  "HKEY_LOCAL_MACHINE", "HKEY_CURRENT_USER", "HKEY_CLASSES_ROOT", "HKEY_USERS", "HKEY_CURRENT_CONFIG",
};

/* --- .reg files: keys and values -------------------------------------------- */

static void
me_reg_key_free (MeRegKey *key)
{
  g_free (key->path);
  g_ptr_array_unref (key->values);
  g_free (key);
}

MeRegFile *
me_reg_file_new (void)
{
  MeRegFile *file = g_new0 (MeRegFile, 1);

  file->encoding = ME_REG_ENCODING_UTF16LE;
  file->version = 5;
  file->keys = g_ptr_array_new_with_free_func ((GDestroyNotify) me_reg_key_free);
  file->comments = g_ptr_array_new_with_free_func (g_free);
  return file;
}

void
me_reg_file_free (MeRegFile *file)
{
  if (file == NULL)
    return;
  g_ptr_array_unref (file->keys);
  g_ptr_array_unref (file->comments);
  g_free (file);
}

MeRegKey *
me_reg_file_find_key (MeRegFile  *file,
                      const char *path)
{
  for (guint i = file->keys->len; i > 0; i--)
    {
      MeRegKey *key = g_ptr_array_index (file->keys, i - 1);

      if (me_reg_name_equal (key->path, path))
        return key;
    }
  return NULL;
}

MeRegKey *
me_reg_file_add_key (MeRegFile  *file,
                     const char *path)
{
  MeRegKey *key = g_new0 (MeRegKey, 1);

  key->path = g_strdup (path);
  key->values = g_ptr_array_new_with_free_func ((GDestroyNotify) me_reg_value_free);
  g_ptr_array_add (file->keys, key);
  return key;
}

MeRegValue *
me_reg_key_find_value (MeRegKey   *key,
                       const char *name)
{
  for (guint i = 0; i < key->values->len; i++)
    {
      MeRegValue *value = g_ptr_array_index (key->values, i);

      if (me_reg_name_equal (value->name, name))
        return value;
    }
  return NULL;
}

void
me_reg_key_add_value (MeRegKey   *key,
                      MeRegValue *value)
{
  g_ptr_array_add (key->values, value);
}

/* --- reading: decoding the bytes -------------------------------------------- */

/* A parse error: "return set_invalid (...), FALSE;" (or NULL). */
#define set_invalid(error, ...) \
  g_set_error ((error), SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, __VA_ARGS__)

/* Counts lines as the reader splits them: CRLF, LF or a lone CR ends one. */
typedef struct {
  guint    line;
  gboolean after_cr;
} LineCounter;

static void
line_counter_feed (LineCounter *counter,
                   gunichar     c)
{
  if (c == '\n' && !counter->after_cr)
    counter->line++;
  else if (c == '\r')
    counter->line++;
  counter->after_cr = c == '\r';
}

#define NOT_REG_HINT "expected UTF-16LE with a byte-order mark or UTF-8"

/* UTF-16LE (after its byte-order mark) to UTF-8, refusing lone surrogates
 * and NUL characters; offsets in messages count from the file's start. */
static char *
decode_utf16le (const guint8 *data,
                gsize         length,
                gsize        *out_len,
                GError      **error)
{
  g_autoptr(GString) text = NULL;
  LineCounter lines = { 1, FALSE };

  if (length % 2 != 0)
    return set_invalid (error, "not a .reg file: UTF-16LE with an odd byte count (%" G_GSIZE_FORMAT " bytes)",
                        length), NULL;
  text = g_string_sized_new (length / 2 + 16);
  for (gsize i = 2; i < length; i += 2)
    {
      gunichar c = data[i] | (data[i + 1] << 8);

      if (c >= 0xdc00 && c < 0xe000)
        return set_invalid (error, "line %u: invalid UTF-16 (a lone low surrogate) at byte offset %" G_GSIZE_FORMAT,
                            lines.line, i), NULL;
      if (c >= 0xd800 && c < 0xdc00)
        {
          gunichar low = i + 3 < length ? (gunichar) (data[i + 2] | (data[i + 3] << 8)) : 0;

          if (low < 0xdc00 || low >= 0xe000)
            return set_invalid (error, "line %u: invalid UTF-16 (a lone high surrogate) at byte offset %" G_GSIZE_FORMAT,
                                lines.line, i), NULL;
          c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
          i += 2;
        }
      if (c == 0)
        return set_invalid (error, "line %u: a NUL character at byte offset %" G_GSIZE_FORMAT,
                            lines.line, i), NULL;
      line_counter_feed (&lines, c);
      g_string_append_unichar (text, c);
    }
  *out_len = text->len;
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* UTF-8 (after its byte-order mark, @start bytes), checked: valid, no NUL. */
static char *
decode_utf8 (const char *data,
             gsize       length,
             gsize       start,
             gsize      *out_len,
             GError    **error)
{
  const char *end = NULL;
  const char *body = data + start;
  gsize body_len = length - start;
  gboolean valid = _smarthost_utf8_validate_len (body, body_len, &end);
  /* Where validation stopped may be the NUL byte itself. */
  const char *nul = memchr (body, '\0', valid ? body_len : (gsize) (end - body) + 1);
  const char *bad = nul != NULL ? nul : end;
  LineCounter lines = { 1, FALSE };

  if (nul == NULL && valid)
    {
      *out_len = body_len;
      return g_strndup (body, body_len);
    }
  for (const char *p = body; p < bad; p++)
    line_counter_feed (&lines, (guchar) *p);
  if (nul != NULL)
    return set_invalid (error, "line %u: a NUL character at byte offset %" G_GSIZE_FORMAT,
                        lines.line, (gsize) (nul - data)), NULL;
  return set_invalid (error, "line %u: invalid UTF-8 at byte offset %" G_GSIZE_FORMAT " (" NOT_REG_HINT ")",
                      lines.line, (gsize) (end - data)), NULL;
}

static char *
decode (const char    *data,
        gsize          length,
        MeRegEncoding *encoding,
        gsize         *out_len,
        GError       **error)
{
  const guint8 *bytes = (const guint8 *) data;

  if (length >= 2 && bytes[0] == 0xff && bytes[1] == 0xfe)
    {
      *encoding = ME_REG_ENCODING_UTF16LE;
      return decode_utf16le (bytes, length, out_len, error);
    }
  if (length >= 2 && bytes[0] == 0xfe && bytes[1] == 0xff)
    return set_invalid (error, "not a .reg file: it is UTF-16BE; " NOT_REG_HINT), NULL;
  if (length >= 2 && (bytes[0] == 0 || bytes[1] == 0))
    return set_invalid (error, "not a .reg file: UTF-16 or binary data without a byte-order mark; "
                        NOT_REG_HINT), NULL;
  *encoding = ME_REG_ENCODING_UTF8;
  if (length >= 3 && bytes[0] == 0xef && bytes[1] == 0xbb && bytes[2] == 0xbf)
    return decode_utf8 (data, length, 3, out_len, error);
  return decode_utf8 (data, length, 0, out_len, error);
}

/* --- reading: lines ----------------------------------------------------------- */

typedef struct {
  const char *text;
  gsize       len;
  gsize       pos;      /* where the next line starts */
  guint       number;   /* of the line last read */
} LineReader;

/* The next line (not NUL-terminated: @line_len), without its line end;
 * FALSE at the end of the text. */
static gboolean
next_line (LineReader  *reader,
           const char **line,
           gsize       *line_len)
{
  const char *start = reader->text + reader->pos;
  const char *end = reader->text + reader->len;
  const char *p = start;

  if (reader->pos >= reader->len)
    return FALSE;
  while (p < end && *p != '\n' && *p != '\r')
    p++;
  *line = start;
  *line_len = (gsize) (p - start);
  if (p < end && *p == '\r')
    {
      if (++p < end && *p == '\n')
        p++;
    }
  else if (p < end)
    p++;
  reader->pos = (gsize) (p - reader->text);
  reader->number++;
  return TRUE;
}

static gboolean
is_blank (char c)
{
  return c == ' ' || c == '\t';
}

static void
strip (const char **s,
       const char **end)
{
  while (*s < *end && is_blank (**s))
    (*s)++;
  while (*end > *s && is_blank ((*end)[-1]))
    (*end)--;
}

/* UTF-16 code units, unsigned: the limits it is compared with are (and a
 * glong is 32 bits on Windows, where -Wsign-compare is an error). */
static gsize
utf16_length (const char *utf8,
              gsize       len)
{
  gsize n = 0;

  for (const char *p = utf8; p < utf8 + len; p = g_utf8_next_char (p))
    n += g_utf8_get_char (p) >= 0x10000 ? 2 : 1;
  return n;
}

/* The parser's state: the file, where it is, and the key being read. */
typedef struct {
  MeRegFile  *file;
  LineReader  reader;
  MeRegKey   *key;
  GHashTable *seen;     /* casefolded value name -> line, in this key section */
} Parser;

/* A "quoted" name or string from *@p, up to its closing quote, with its
 * escapes (\\ \" \n \r) undone; *@p is left after the quote. */
static char *
parse_quoted (const char  **p,
              const char   *end,
              guint         line,
              GError      **error)
{
  g_autoptr(GString) out = g_string_new (NULL);
  const char *s = *p + 1;

  while (s < end && *s != '"')
    {
      if (*s != '\\')
        {
          g_string_append_c (out, *s++);
          continue;
        }
      if (++s >= end)
        break;
      switch (*s++)
        {
        case '\\': g_string_append_c (out, '\\'); break;
        case '"': g_string_append_c (out, '"'); break;
        case 'n': g_string_append_c (out, '\n'); break;
        case 'r': g_string_append_c (out, '\r'); break;
        default:
          /* Not even the escape's character: it is part of the data. */
          return set_invalid (error, "line %u: unknown escape in a quoted string (only \\\\, \\\", \\n and \\r are known)",
                              line), NULL;
        }
    }
  if (s >= end)
    return set_invalid (error, "line %u: unterminated string (no closing \")", line), NULL;
  *p = s + 1;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static int
hex_digit (char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* 1 to @max_digits hex digits, exactly the whole of [@s, @end). */
static gboolean
parse_hex_number (const char *s,
                  const char *end,
                  guint       max_digits,
                  guint32    *out)
{
  guint32 n = 0;

  if (s >= end || (gsize) (end - s) > max_digits)
    return FALSE;
  for (; s < end; s++)
    {
      int d = hex_digit (*s);

      if (d < 0)
        return FALSE;
      n = n << 4 | (guint32) d;
    }
  *out = n;
  return TRUE;
}

/* The bytes of hex:..., from [@s, @end) of the current line and, while a
 * line ends with "\", the next ones; line numbers in errors are those of
 * the line where the problem is. */
static GBytes *
parse_hex_list (Parser      *parser,
                const char  *s,
                const char  *end,
                GError     **error)
{
  g_autoptr(GByteArray) bytes = g_byte_array_new ();
  gboolean want_comma = FALSE;

  for (;;)
    {
      gboolean continued;
      gsize len;

      strip (&s, &end);
      continued = s < end && end[-1] == '\\';
      if (continued)
        end--;
      while (s < end)
        {
          if (is_blank (*s))
            s++;
          else if (*s == ',' && want_comma)
            s++, want_comma = FALSE;
          else
            {
              const char *digits = s;
              guint32 byte;

              while (s < end && hex_digit (*s) >= 0)
                s++;
              if (want_comma || !parse_hex_number (digits, s, 2, &byte))
                return set_invalid (error, "line %u: bad hex byte (expected two hex digits, then a comma)",
                                    parser->reader.number), NULL;
              g_byte_array_append (bytes, (guint8[]) { (guint8) byte }, 1);
              want_comma = TRUE;
            }
        }
      if (!continued)
        break;
      if (!next_line (&parser->reader, &s, &len))
        return set_invalid (error, "line %u: the hex list continues (\"\\\") past the end of the file",
                            parser->reader.number), NULL;
      end = s + len;
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&bytes));
}

/* REGEDIT4's 8-bit strings, widened to UTF-16LE: ASCII only. */
static GBytes *
widen_ansi (GBytes  *ansi,
            guint    line,
            GError **error)
{
  gsize len;
  const guint8 *bytes = g_bytes_get_data (ansi, &len);
  guint8 *wide = g_malloc (len * 2 + 1);

  for (gsize i = 0; i < len; i++)
    {
      if (bytes[i] >= 0x80)
        {
          g_free (wide);
          return set_invalid (error, "line %u: non-ASCII data in a REGEDIT4 string value (its code page is "
                              "unknown): export the key as version 5.00", line), NULL;
        }
      wide[2 * i] = bytes[i];
      wide[2 * i + 1] = 0;
    }
  return g_bytes_new_take (wide, len * 2);
}

/* What follows "=": sets @value's type and data, or its deletion. */
static gboolean
parse_data (Parser      *parser,
            MeRegValue  *value,
            const char  *s,
            const char  *end,
            GError     **error)
{
  guint line = parser->reader.number;
  guint32 number;

  strip (&s, &end);
  if (s < end && *s == '"')
    {
      g_autofree char *text = parse_quoted (&s, end, line, error);

      if (text == NULL)
        return FALSE;
      if (s != end)
        return set_invalid (error, "line %u: unexpected text after the closing quote of a string", line), FALSE;
      value->type = ME_REG_SZ;
      value->data = me_reg_utf16le_new (text, -1);
      return TRUE;
    }
  if (end - s == 1 && *s == '-')
    {
      value->deleted = TRUE;
      return TRUE;
    }
  if (end - s >= 6 && g_ascii_strncasecmp (s, "dword:", 6) == 0)
    {
      if (!parse_hex_number (s + 6, end, 8, &number))
        return set_invalid (error, "line %u: bad dword (expected 1 to 8 hex digits after \"dword:\")", line), FALSE;
      number = GUINT32_TO_LE (number);
      value->type = ME_REG_DWORD;
      value->data = g_bytes_new (&number, 4);
      return TRUE;
    }
  if (end - s >= 4 && g_ascii_strncasecmp (s, "hex", 3) == 0 && (s[3] == ':' || s[3] == '('))
    {
      g_autoptr(GBytes) bytes = NULL;

      s += 3;
      value->type = ME_REG_BINARY;
      if (*s == '(')
        {
          const char *close = memchr (s, ')', (gsize) (end - s));

          if (close == NULL || close + 1 >= end || close[1] != ':' ||
              !parse_hex_number (s + 1, close, 8, &value->type))
            return set_invalid (error, "line %u: bad value type (expected hex(N): with N of 1 to 8 hex digits)", line), FALSE;
          s = close + 1;
        }
      bytes = parse_hex_list (parser, s + 1, end, error);
      if (bytes == NULL)
        return FALSE;
      if (parser->file->version == 4 &&
          (value->type == ME_REG_SZ || value->type == ME_REG_EXPAND_SZ || value->type == ME_REG_MULTI_SZ))
        {
          value->data = widen_ansi (bytes, line, error);
          return value->data != NULL;
        }
      value->data = g_steal_pointer (&bytes);
      return TRUE;
    }
  return set_invalid (error, "line %u: unknown value type (expected \"string\", dword:, hex: or hex(N):, or - to delete)",
                      line), FALSE;
}

/* A key path for a message, as it is when it prints as itself on one line
 * (a key path is full of backslashes, which quoting would double), else
 * quoted. */
static char *
shown_path (const char *path)
{
  glong n = 0;

  for (const char *p = path; *p != '\0'; p = g_utf8_next_char (p), n++)
    {
      gunichar c = g_utf8_get_char (p);

      if (n >= 256 || !g_unichar_isprint (c) || (c != ' ' && g_unichar_isspace (c)))
        return _smarthost_quote_path (path);
    }
  return g_strdup (path);
}

static gboolean
parse_value_line (Parser      *parser,
                  const char  *s,
                  const char  *end,
                  GError     **error)
{
  guint line = parser->reader.number;
  g_autoptr(MeRegValue) value = g_new0 (MeRegValue, 1);
  g_autofree char *folded = NULL;
  gpointer first;

  value->line = line;
  if (*s == '@')
    {
      value->name = g_strdup ("");
      s++;
    }
  else if ((value->name = parse_quoted (&s, end, line, error)) == NULL)
    return FALSE;
  if (utf16_length (value->name, strlen (value->name)) > ME_REG_NAME_MAX)
    return set_invalid (error, "line %u: value name longer than %u characters", line, ME_REG_NAME_MAX), FALSE;
  while (s < end && is_blank (*s))
    s++;
  if (s >= end || *s != '=')
    return set_invalid (error, "line %u: expected \"=\" after the value name", line), FALSE;
  if (parser->key == NULL)
    return set_invalid (error, "line %u: value outside a key (a [key] line must come first)", line), FALSE;
  if (parser->key->deleted)
    {
      g_autofree char *key = shown_path (parser->key->path);
      return set_invalid (error, "line %u: value in a key being deleted ([-%s])", line, key), FALSE;
    }
  folded = g_utf8_casefold (value->name, -1);
  if (g_hash_table_lookup_extended (parser->seen, folded, NULL, &first))
    {
      g_autofree char *name = _smarthost_quote (value->name, -1);
      g_autofree char *key = shown_path (parser->key->path);

      return set_invalid (error, "line %u: value %s appears twice in [%s] (also line %u)",
                          line, name, key, GPOINTER_TO_UINT (first)), FALSE;
    }
  if (!parse_data (parser, value, s + 1, end, error))
    return FALSE;
  g_hash_table_insert (parser->seen, g_steal_pointer (&folded), GUINT_TO_POINTER (line));
  me_reg_key_add_value (parser->key, g_steal_pointer (&value));
  return TRUE;
}

static gboolean
parse_key_line (Parser      *parser,
                const char  *s,
                const char  *end,
                GError     **error)
{
  guint line = parser->reader.number;
  gboolean deleted = FALSE;
  g_autofree char *path = NULL;
  gsize root_len;
  gboolean known = FALSE;

  if (end[-1] != ']')
    return set_invalid (error, "line %u: missing \"]\" at the end of the key", line), FALSE;
  s++;
  end--;
  if (s < end && *s == '-')
    deleted = TRUE, s++;
  path = g_strndup (s, (gsize) (end - s));
  if (utf16_length (path, strlen (path)) > ME_REG_KEY_MAX)
    return set_invalid (error, "line %u: key path longer than %u characters", line, ME_REG_KEY_MAX), FALSE;
  root_len = strcspn (path, "\\");
  for (gsize i = 0; i < G_N_ELEMENTS (reg_roots) && !known; i++)
    known = root_len == strlen (reg_roots[i]) && g_ascii_strncasecmp (path, reg_roots[i], root_len) == 0;
  if (!known)
    return set_invalid (error, "line %u: unknown root key (expected HKEY_LOCAL_MACHINE, HKEY_CURRENT_USER, "
                        "HKEY_CLASSES_ROOT, HKEY_USERS or HKEY_CURRENT_CONFIG)", line), FALSE;
  parser->key = me_reg_file_add_key (parser->file, path);
  parser->key->deleted = deleted;
  parser->key->line = line;
  g_hash_table_remove_all (parser->seen);
  return TRUE;
}

static gboolean
parse_header (Parser  *parser,
              GError **error)
{
  const char *s = NULL, *end;
  gsize len = 0;

  if (next_line (&parser->reader, &s, &len))
    {
      end = s + len;
      while (end > s && is_blank (end[-1]))
        end--;
      len = (gsize) (end - s);
      if (len == strlen (REG_HEADER_V5) && memcmp (s, REG_HEADER_V5, len) == 0)
        return parser->file->version = 5, TRUE;
      if (len == strlen (REG_HEADER_V4) && memcmp (s, REG_HEADER_V4, len) == 0)
        return parser->file->version = 4, TRUE;
    }
  return set_invalid (error, "line 1: bad header: expected \"" REG_HEADER_V5 "\" or \"" REG_HEADER_V4 "\""), FALSE;
}

MeRegFile *
me_reg_file_parse (const char  *data,
                   gsize        length,
                   GError     **error)
{
  g_autoptr(MeRegFile) file = me_reg_file_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *text = NULL;
  gsize text_len = 0;
  Parser parser = { 0 };
  const char *line;
  gsize len;

  g_return_val_if_fail (data != NULL || length == 0, NULL);
  text = decode (data != NULL ? data : "", length, &file->encoding, &text_len, error);
  if (text == NULL)
    return NULL;
  parser.file = file;
  parser.reader.text = text;
  parser.reader.len = text_len;
  parser.seen = seen;
  if (!parse_header (&parser, error))
    return NULL;

  while (next_line (&parser.reader, &line, &len))
    {
      const char *s = line;
      const char *end = line + len;
      gboolean ok = TRUE;

      strip (&s, &end);
      if (s == end)
        continue;
      if (*s == ';')
        {
          /* One space after ";" is the writer's: measured against the
           * line as it is, trailing spaces included. */
          if (++s < line + len && *s == ' ')
            s++;
          /* The text as written, trailing spaces included. */
          g_ptr_array_add (file->comments, g_strndup (s, (gsize) (line + len - s)));
          continue;
        }
      if (*s == '[')
        ok = parse_key_line (&parser, s, end, error);
      else if (*s == '"' || *s == '@')
        ok = parse_value_line (&parser, s, end, error);
      else
        {
          set_invalid (error, "line %u: expected a [key], a \"value\"=, @= or a ; comment", parser.reader.number);
          ok = FALSE;
        }
      if (!ok)
        return NULL;
    }
  return g_steal_pointer (&file);
}

MeRegFile *
me_reg_file_read (const char  *path,
                  gboolean     nofollow,
                  GError     **error)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  MeRegFile *file;

  if (!_smarthost_read_file_limited (path, nofollow ? SMARTHOST_READ_NOFOLLOW : 0, ME_REG_FILE_LIMIT,
                                     &contents, &length, NULL, error))
    return NULL;
  file = me_reg_file_parse (contents, length, error);
  /* An export may hold passwords. */
  _smarthost_secure_zero (contents, length);
  if (file == NULL)
    {
      g_autofree char *shown = _smarthost_quote_path (path);
      g_prefix_error (error, "%s: ", shown);
    }
  return file;
}

/* --- writing ------------------------------------------------------------------ */

static void
append_quoted (GString    *out,
               const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '\\': g_string_append (out, "\\\\"); break;
        case '"': g_string_append (out, "\\\""); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        default: g_string_append_c (out, *p); break;
        }
    }
  g_string_append_c (out, '"');
}

/* The text of REG_SZ data that "..." can carry: one terminating NUL, no NUL
 * or control character inside, valid UTF-16; NULL otherwise. */
static char *
plain_string (GBytes *data)
{
  gsize len;
  const guint8 *bytes = g_bytes_get_data (data, &len);
  g_autofree char *text = NULL;

  if (len < 2 || len % 2 != 0 || bytes[len - 2] != 0 || bytes[len - 1] != 0 ||
      me_reg_utf16le_text_length (bytes, len) != (gssize) len - 2)
    return NULL;
  text = me_reg_utf16le_to_utf8 (bytes, len - 2);
  if (text == NULL)
    return NULL;
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return NULL;
  return g_steal_pointer (&text);
}

static void
append_hex (GString    *out,
            const char *eol,
            gsize       line_start,
            guint32     type,
            GBytes     *data)
{
  gsize len;
  const guint8 *bytes = g_bytes_get_data (data, &len);
  gsize column;

  if (type == ME_REG_BINARY)
    g_string_append (out, "hex:");
  else
    g_string_append_printf (out, "hex(%x):", type);
  column = (gsize) g_utf8_strlen (out->str + line_start, -1);
  for (gsize i = 0; i < len; i++)
    {
      g_string_append_printf (out, "%02x", bytes[i]);
      if (i + 1 == len)
        break;
      g_string_append_c (out, ',');
      column += 3;
      if (column >= REG_HEX_WRAP)
        {
          g_string_append_printf (out, "\\%s  ", eol);
          column = 2;
        }
    }
}

static gboolean
is_masked (const char * const *masked,
           const char         *name)
{
  for (gsize i = 0; masked != NULL && masked[i] != NULL; i++)
    if (me_reg_name_equal (masked[i], name))
      return TRUE;
  return FALSE;
}

static void
append_value (GString          *out,
              const char       *eol,
              const MeRegValue *value,
              const char * const *masked)
{
  gsize line_start = out->len;
  g_autofree char *text = NULL;

  if (value->name[0] == '\0')
    g_string_append_c (out, '@');
  else
    {
      g_autofree char *name = g_utf8_make_valid (value->name, -1);
      append_quoted (out, name);
    }
  g_string_append_c (out, '=');
  if (value->deleted)
    g_string_append_c (out, '-');
  else if (is_masked (masked, value->name))
    g_string_append (out, "\"" REG_MASK "\"");
  else if (value->type == ME_REG_SZ && (text = plain_string (value->data)) != NULL)
    append_quoted (out, text);
  else if (value->type == ME_REG_DWORD && g_bytes_get_size (value->data) == 4)
    {
      const guint8 *b = g_bytes_get_data (value->data, NULL);
      g_string_append_printf (out, "dword:%02x%02x%02x%02x", b[3], b[2], b[1], b[0]);
    }
  else
    append_hex (out, eol, line_start, value->type, value->data);
  g_string_append (out, eol);
}

/* A comment of several lines (one made, not read) is written as several. */
static void
append_comment (GString    *out,
                const char *eol,
                const char *comment)
{
  g_autofree char *valid = g_utf8_make_valid (comment, -1);
  const char *p = valid;

  for (;;)
    {
      gsize n = strcspn (p, "\r\n");

      g_string_append_c (out, ';');
      if (n > 0)
        g_string_append_c (out, ' ');
      g_string_append_len (out, p, (gssize) n);
      g_string_append (out, eol);
      p += n;
      if (*p == '\0')
        break;
      p += p[0] == '\r' && p[1] == '\n' ? 2 : 1;
    }
}

char *
me_reg_file_to_text (MeRegFile          *file,
                     const char * const *masked,
                     gboolean            crlf)
{
  const char *eol = crlf ? "\r\n" : "\n";
  GString *out = g_string_new (REG_HEADER_V5);

  g_string_append (out, eol);
  g_string_append (out, eol);
  for (guint i = 0; i < file->comments->len; i++)
    append_comment (out, eol, g_ptr_array_index (file->comments, i));
  for (guint i = 0; i < file->keys->len; i++)
    {
      MeRegKey *key = g_ptr_array_index (file->keys, i);
      g_autofree char *path = g_utf8_make_valid (key->path, -1);

      g_string_append_printf (out, "[%s%s]%s", key->deleted ? "-" : "", path, eol);
      /* A deleted key has no values: a reader refuses them there. */
      for (guint j = 0; !key->deleted && j < key->values->len; j++)
        append_value (out, eol, g_ptr_array_index (key->values, j), masked);
      g_string_append (out, eol);
    }
  return g_string_free (out, FALSE);
}

GBytes *
me_reg_file_to_bytes (MeRegFile *file)
{
  g_autofree char *text = me_reg_file_to_text (file, NULL, FALSE);
  /* What the backend's file operations write (the core's encoder). */
  GByteArray *bytes = _smarthost_windows_text_encode (text);

  g_return_val_if_fail (bytes != NULL, NULL);
  return g_byte_array_free_to_bytes (bytes);
}
