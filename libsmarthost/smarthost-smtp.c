/* smarthost-smtp.c: the SMTP reply parser
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-smtp-private.h"

/*
 * An SMTP reply (RFC 5321, 4.2) is one or more lines "NNN-text" ending with
 * a line "NNN text" or "NNN", all with the same three-digit code. Lines are
 * fed one at a time without their CRLF (a bare LF is tolerated by the
 * reader). The parser keeps the text of each line and refuses anything else:
 * codes that differ between lines, non-digits, control characters, and more
 * than SMARTHOST_SMTP_MAX_LINES lines or SMARTHOST_SMTP_MAX_LINE bytes in a
 * line, so that a hostile server cannot make us use unbounded memory.
 */

void
_smarthost_smtp_reply_init (SmtpReply *reply)
{
  reply->code = 0;
  reply->lines = g_ptr_array_new_with_free_func (g_free);
  reply->bytes = 0;
}

void
_smarthost_smtp_reply_clear (SmtpReply *reply)
{
  g_clear_pointer (&reply->lines, g_ptr_array_unref);
  reply->code = 0;
  reply->bytes = 0;
}

SmtpReplyStatus
_smarthost_smtp_reply_feed (SmtpReply  *reply,
                            const char *line,
                            gsize       len)
{
  guint code;
  char sep;

  if (len > 0 && line[len - 1] == '\r')
    len--;
  if (len > SMARTHOST_SMTP_MAX_LINE || reply->lines->len >= SMARTHOST_SMTP_MAX_LINES)
    return SMTP_REPLY_TOO_LONG;
  if (len < 3 || !g_ascii_isdigit (line[0]) || !g_ascii_isdigit (line[1]) || !g_ascii_isdigit (line[2]))
    return SMTP_REPLY_MALFORMED;
  if (line[0] < '2' || line[0] > '5')
    return SMTP_REPLY_MALFORMED;
  code = (guint) (line[0] - '0') * 100 + (guint) (line[1] - '0') * 10 + (guint) (line[2] - '0');
  sep = len > 3 ? line[3] : ' ';
  if (sep != ' ' && sep != '-')
    return SMTP_REPLY_MALFORMED;
  if (reply->code != 0 && reply->code != code)
    return SMTP_REPLY_MALFORMED;
  for (gsize i = 4; i < len; i++)
    if (((guchar) line[i] < 0x20 && line[i] != '\t') || line[i] == 0x7f)
      return SMTP_REPLY_MALFORMED;

  reply->code = code;
  g_ptr_array_add (reply->lines, len > 4 ? g_utf8_make_valid (line + 4, len - 4) : g_strdup (""));
  reply->bytes += len;
  return sep == '-' ? SMTP_REPLY_MORE : SMTP_REPLY_DONE;
}

/* "NNN text" with the lines joined by spaces, for messages. */
char *
_smarthost_smtp_reply_text (SmtpReply *reply)
{
  GString *s = g_string_new (NULL);

  g_string_append_printf (s, "%03u", reply->code);
  for (guint i = 0; i < reply->lines->len; i++)
    {
      const char *t = g_ptr_array_index (reply->lines, i);
      if (*t)
        g_string_append_printf (s, " %s", t);
    }
  return g_string_free (s, FALSE);
}
