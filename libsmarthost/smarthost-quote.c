/* smarthost-quote.c: quoting untrusted text in messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-util-private.h"

/*
 * Implementation notes
 *
 * Error messages name what was wrong: a domain, a host, a line of main.cf.
 * That text comes from files and arguments that may be hostile, and the
 * messages end up on a root terminal, in logs and in Ansible output. Quoted
 * raw, a key of ten megabytes becomes ten megabytes of stderr, an ESC byte
 * drives the terminal, and a U+202E (right-to-left override) makes
 * "moc.elpmaxe" read as something else. So everything quoted from input goes
 * through _smarthost_quote(), which
 *
 *  - puts it in double quotes, so that leading and trailing spaces show;
 *  - escapes the quotes and backslashes in it, so that the quotes cannot be
 *    closed early;
 *  - escapes what a terminal or a reader would not show as itself: C0
 *    controls and DEL (\n, \r, \t, otherwise \xNN), bytes that are not
 *    UTF-8 (\xNN), C1 controls, format characters (bidi overrides and
 *    isolates, zero-width spaces and joiners, the BOM), line and paragraph
 *    separators, spaces other than U+0020, unassigned and private-use
 *    characters (\uNNNN, or \UNNNNNNNN beyond the BMP);
 *  - and cuts it after QUOTE_MAX_CHARS characters, saying how many bytes it
 *    left out.
 *
 * A file name is said at the end of its path, which QUOTE_MAX_CHARS would
 * often cut off: _smarthost_quote_path() allows QUOTE_PATH_MAX_CHARS.
 *
 * The result is short, valid UTF-8 and prints as one line.
 */

/* Enough for a domain, a host or a line of main.cf to be recognised. */
#define QUOTE_MAX_CHARS 64
/* Enough for any path a server really has. */
#define QUOTE_PATH_MAX_CHARS 256

static gboolean
unichar_is_shown (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONTROL:
    case G_UNICODE_FORMAT:
    case G_UNICODE_UNASSIGNED:
    case G_UNICODE_PRIVATE_USE:
    case G_UNICODE_SURROGATE:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
      return FALSE;
    case G_UNICODE_SPACE_SEPARATOR:
      return c == ' ';
    default:
      return TRUE;
    }
}

/*
 * _smarthost_quote_full:
 * @untrusted: (nullable): text from input, not necessarily UTF-8
 * @len: its length in bytes, or -1 if it ends with a NUL byte
 * @max_chars: how many characters to show at most
 *
 * Quotes @untrusted as _smarthost_quote() does, cut after @max_chars
 * characters: for a message of another program that quotes input (a line of
 * postconf's), which needs more room to be understood.
 *
 * Returns: (transfer full): the quoted text
 */
char *
_smarthost_quote_full (const char *untrusted,
                       gssize      len,
                       guint       max_chars)
{
  GString *out;
  const char *p, *end;
  guint n_chars = 0;

  if (untrusted == NULL)
    return g_strdup ("(none)");
  if (len < 0)
    len = strlen (untrusted);
  end = untrusted + len;

  out = g_string_sized_new (MIN ((gsize) len, max_chars * 2) + 32);
  g_string_append_c (out, '"');
  for (p = untrusted; p < end && n_chars < max_chars; n_chars++)
    {
      guchar b = (guchar) *p;
      gunichar c;

      if (b < 0x80)
        {
          switch (b)
            {
            case '"':  g_string_append (out, "\\\""); break;
            case '\\': g_string_append (out, "\\\\"); break;
            case '\n': g_string_append (out, "\\n"); break;
            case '\r': g_string_append (out, "\\r"); break;
            case '\t': g_string_append (out, "\\t"); break;
            default:
              if (b < 0x20 || b == 0x7f)
                g_string_append_printf (out, "\\x%02x", b);
              else
                g_string_append_c (out, (char) b);
            }
          p++;
          continue;
        }

      /* A byte that does not start a whole, valid character (overlong
       * forms and surrogates included) is shown as itself, and reading
       * resumes at the next byte. */
      c = g_utf8_get_char_validated (p, end - p);
      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          g_string_append_printf (out, "\\x%02x", b);
          p++;
          continue;
        }
      if (unichar_is_shown (c))
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
      else if (c <= 0xffff)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_printf (out, "\\U%08x", c);
      p = g_utf8_next_char (p);
    }
  g_string_append_c (out, '"');
  if (p < end)
    g_string_append_printf (out, "… (%" G_GSIZE_FORMAT " more %s)", (gsize) (end - p),
                            end - p == 1 ? "byte" : "bytes");
  return g_string_free (out, FALSE);
}

/*
 * _smarthost_quote:
 * @untrusted: (nullable): text from input, not necessarily UTF-8
 * @len: its length in bytes, or -1 if it ends with a NUL byte
 *
 * Quotes @untrusted for an error message: in double quotes, escaped and cut
 * to at most 64 characters (see the notes above). Never give it a password.
 *
 * Returns: (transfer full): the quoted text, valid UTF-8 without control
 *   characters
 */
char *
_smarthost_quote (const char *untrusted,
                  gssize      len)
{
  return _smarthost_quote_full (untrusted, len, QUOTE_MAX_CHARS);
}

/*
 * _smarthost_quote_path:
 * @path: (nullable): a path, not necessarily UTF-8
 *
 * Quotes @path as _smarthost_quote() does, cut to at most 256 characters
 * rather than 64, so that the file's name at its end is still seen.
 *
 * Returns: (transfer full): the quoted path
 */
char *
_smarthost_quote_path (const char *path)
{
  return _smarthost_quote_full (path, -1, QUOTE_PATH_MAX_CHARS);
}
