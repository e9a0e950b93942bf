/* smarthost-smtp-private.h: SMTP replies, read with bounds
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Bounds that a hostile server cannot push us past. RFC 5321 allows 512
 * bytes per reply line; real servers stay far below these. */
#define SMARTHOST_SMTP_MAX_LINE 2048
#define SMARTHOST_SMTP_MAX_LINES 128

typedef enum {
  SMTP_REPLY_MORE,       /* a continuation line was read: feed the next */
  SMTP_REPLY_DONE,       /* the last line was read */
  SMTP_REPLY_MALFORMED,  /* not an SMTP reply line */
  SMTP_REPLY_TOO_LONG,   /* too many lines, or a line too long */
} SmtpReplyStatus;

typedef struct {
  guint code;            /* 0 until the first line is read */
  GPtrArray *lines;      /* the text of each line, after "NNN " or "NNN-" */
  gsize bytes;
} SmtpReply;

void            _smarthost_smtp_reply_init  (SmtpReply  *reply);
void            _smarthost_smtp_reply_clear (SmtpReply  *reply);
SmtpReplyStatus _smarthost_smtp_reply_feed  (SmtpReply  *reply,
                                             const char *line,
                                             gsize       len);
char           *_smarthost_smtp_reply_text  (SmtpReply  *reply);

G_END_DECLS
