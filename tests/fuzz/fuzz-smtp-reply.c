/* fuzz-smtp-reply.c: libFuzzer target for the SMTP reply parser
 *
 * The input is what a relay sends: it is cut into lines at '\n' (the
 * probe's reader does the same, and hands over each line without its
 * '\n') and fed to _smarthost_smtp_reply_feed(); a new reply starts after
 * each complete reply and after each refused one, as the probe does.
 *
 * Besides the sanitizers (address, undefined), the target checks what the
 * probe relies on: a complete reply has a 2xx-5xx code, at most
 * SMARTHOST_SMTP_MAX_LINES lines of at most SMARTHOST_SMTP_MAX_LINE bytes
 * read, valid UTF-8 (other bytes become U+FFFD), no control characters but
 * tabs, and a text that starts with its code.
 *
 * Built by run-fuzz.sh with clang -fsanitize=fuzzer,address,undefined.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smarthost-smtp-private.h"

#define CHECK(cond)                                                     \
  do {                                                                  \
    if (!(cond))                                                        \
      {                                                                 \
        fprintf (stderr, "fuzz-smtp-reply: check failed: %s (%s:%d)\n", \
                 #cond, __FILE__, __LINE__);                            \
        abort ();                                                       \
      }                                                                 \
  } while (0)

static void
check_reply (SmtpReply       *reply,
             SmtpReplyStatus  status)
{
  gsize bytes = 0;

  CHECK (reply->lines != NULL);
  CHECK (reply->lines->len <= SMARTHOST_SMTP_MAX_LINES);
  if (status == SMTP_REPLY_MORE || status == SMTP_REPLY_DONE)
    {
      CHECK (reply->code >= 200 && reply->code <= 599);
      CHECK (reply->lines->len >= 1);
    }
  for (guint i = 0; i < reply->lines->len; i++)
    {
      const char *line = g_ptr_array_index (reply->lines, i);
      gsize len = strlen (line);

      /* Bytes that are not UTF-8 come out as U+FFFD, three bytes each. */
      CHECK (len <= 3 * SMARTHOST_SMTP_MAX_LINE);
      CHECK (g_utf8_validate (line, len, NULL));
      for (gsize j = 0; j < len; j++)
        CHECK (((guchar) line[j] >= 0x20 || line[j] == '\t') && line[j] != 0x7f);
      bytes += len;
    }
  CHECK (bytes <= 3 * reply->bytes);
  CHECK (reply->bytes <= (gsize) SMARTHOST_SMTP_MAX_LINES * SMARTHOST_SMTP_MAX_LINE);

  if (status == SMTP_REPLY_DONE)
    {
      char *text = _smarthost_smtp_reply_text (reply);
      char code[4];

      g_snprintf (code, sizeof code, "%03u", reply->code);
      CHECK (strncmp (text, code, 3) == 0);
      CHECK (strlen (text) <= 3 + 3 * reply->bytes + reply->lines->len);
      g_free (text);
    }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  SmtpReply reply;
  size_t start = 0;

  _smarthost_smtp_reply_init (&reply);
  while (start < size)
    {
      const uint8_t *nl = memchr (data + start, '\n', size - start);
      size_t end = nl ? (size_t) (nl - data) : size;
      /* An exact-size copy without a NUL, so that the sanitizer sees
       * any read past the line's length. */
      char *line = g_malloc (end > start ? end - start : 1);
      SmtpReplyStatus status;

      memcpy (line, data + start, end - start);
      status = _smarthost_smtp_reply_feed (&reply, line, end - start);
      g_free (line);
      CHECK (status == SMTP_REPLY_MORE || status == SMTP_REPLY_DONE ||
             status == SMTP_REPLY_MALFORMED || status == SMTP_REPLY_TOO_LONG);
      check_reply (&reply, status);
      if (status != SMTP_REPLY_MORE)
        {
          _smarthost_smtp_reply_clear (&reply);
          _smarthost_smtp_reply_init (&reply);
        }
      start = end + 1;
    }
  _smarthost_smtp_reply_clear (&reply);
  return 0;
}
