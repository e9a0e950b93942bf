/* test-smtp.c: the SMTP reply parser, case by case
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-smtp-private.h"

/* A reply is fed line by line; every line but the last must give
 * SMTP_REPLY_MORE, the last gives @status. For a DONE reply, @code, the
 * texts of the lines ("|"-separated) and _smarthost_smtp_reply_text()
 * are checked too. Lines are given without their "\n" (the reader strips
 * it), but may keep their "\r". For a refused reply, the last line is the
 * one refused. */
typedef struct {
  const char *name;
  const char *lines[8];
  SmtpReplyStatus status;
  guint code;
  const char *texts;
  const char *text;
} Case;

static const Case cases[] = {
  /* single lines */
  { "single", { "220 relay.test ESMTP ready" }, SMTP_REPLY_DONE, 220, "relay.test ESMTP ready", "220 relay.test ESMTP ready" },
  { "code-alone", { "250" }, SMTP_REPLY_DONE, 250, "", "250" },
  { "code-space", { "250 " }, SMTP_REPLY_DONE, 250, "", "250" },
  { "crlf", { "221 2.0.0 Bye\r" }, SMTP_REPLY_DONE, 221, "2.0.0 Bye", "221 2.0.0 Bye" },
  { "lf", { "221 2.0.0 Bye" }, SMTP_REPLY_DONE, 221, "2.0.0 Bye", "221 2.0.0 Bye" },
  { "code-alone-crlf", { "250\r" }, SMTP_REPLY_DONE, 250, "", "250" },
  { "tab-in-text", { "250 a\tb" }, SMTP_REPLY_DONE, 250, "a\tb", "250 a\tb" },
  { "spaces-kept", { "250  two  spaces " }, SMTP_REPLY_DONE, 250, " two  spaces ", "250  two  spaces " },
  { "lowest-code", { "200 x" }, SMTP_REPLY_DONE, 200, "x", "200 x" },
  { "highest-code", { "599 x" }, SMTP_REPLY_DONE, 599, "x", "599 x" },
  { "temporary", { "454 4.7.0 TLS not available" }, SMTP_REPLY_DONE, 454, "4.7.0 TLS not available", NULL },
  { "intermediate", { "334 VXNlcm5hbWU6" }, SMTP_REPLY_DONE, 334, "VXNlcm5hbWU6", "334 VXNlcm5hbWU6" },

  /* multi-line */
  { "ehlo", { "250-relay.test", "250-PIPELINING", "250-SIZE 10240000", "250 AUTH PLAIN LOGIN" },
    SMTP_REPLY_DONE, 250, "relay.test|PIPELINING|SIZE 10240000|AUTH PLAIN LOGIN",
    "250 relay.test PIPELINING SIZE 10240000 AUTH PLAIN LOGIN" },
  { "ehlo-crlf", { "250-relay.test\r", "250 STARTTLS\r" }, SMTP_REPLY_DONE, 250, "relay.test|STARTTLS", "250 relay.test STARTTLS" },
  { "mixed-crlf-lf", { "250-a\r", "250-b", "250 c\r" }, SMTP_REPLY_DONE, 250, "a|b|c", "250 a b c" },
  { "empty-continuations", { "250-", "250-x", "250" }, SMTP_REPLY_DONE, 250, "|x|", "250 x" },
  { "greeting-multi", { "220-relay.test ESMTP", "220-no UCE", "220 ready" }, SMTP_REPLY_DONE, 220,
    "relay.test ESMTP|no UCE|ready", "220 relay.test ESMTP no UCE ready" },
  { "unfinished", { "250-a", "250-b" }, SMTP_REPLY_MORE, 250, NULL, NULL },
  { "continuation-alone", { "250-" }, SMTP_REPLY_MORE, 250, NULL, NULL },

  /* codes that differ between lines */
  { "codes-differ", { "250-a", "251 b" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "classes-differ", { "250-a", "550 b" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "codes-differ-late", { "250-a", "250-b", "220 c" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },

  /* not a reply line */
  { "empty", { "" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "cr-only", { "\r" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "two-digits", { "25" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "two-digits-space", { "25 ok" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "letters", { "abc def" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "digit-letter", { "2x0 ok" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "third-not-digit", { "25x ok" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "leading-space", { " 250 ok" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "sign", { "+250 ok" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "four-digits", { "2500 ok" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "bad-separator", { "250_ok" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "tab-separator", { "250\tok" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "http", { "HTTP/1.1 400 Bad Request" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "tls-alert", { "\x15\x03\x03" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "bad-line-in-reply", { "250-ok", "garbage" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },

  /* codes outside 2xx-5xx */
  { "1xx", { "150 ok" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "199", { "199 ok" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "6xx", { "600 no" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "9xx", { "999 no" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "0xx", { "000" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "6xx-continuation", { "250-ok", "650 no" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },

  /* control characters */
  { "escape", { "220 \x1b[31mred" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "bell", { "220 a\x07" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "inner-cr", { "250 a\rb" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "two-crs", { "250 ok\r\r" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "control-in-continuation", { "250-a", "250-b\x01" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
  { "backspace", { "250 a\bb" }, SMTP_REPLY_MALFORMED, 0, NULL, NULL },
};

static void
split_texts (const char *texts,
             GPtrArray  *out)
{
  g_auto(GStrv) parts = g_strsplit (texts, "|", -1);

  /* g_strsplit() gives no part at all for "". */
  if (*texts == '\0')
    g_ptr_array_add (out, g_strdup (""));
  for (guint i = 0; parts[i]; i++)
    g_ptr_array_add (out, g_strdup (parts[i]));
}

static void
test_case (gconstpointer data)
{
  const Case *c = data;
  SmtpReply reply;
  SmtpReplyStatus status = SMTP_REPLY_MALFORMED;
  guint n = 0;
  gsize bytes = 0;

  _smarthost_smtp_reply_init (&reply);
  g_assert_cmpuint (reply.code, ==, 0);
  g_assert_cmpuint (reply.lines->len, ==, 0);

  while (n < G_N_ELEMENTS (c->lines) && c->lines[n] != NULL)
    n++;
  g_assert_cmpuint (n, >, 0);

  for (guint i = 0; i < n; i++)
    {
      gsize len = strlen (c->lines[i]);
      /* Feed a copy without a terminating NUL, followed by junk: the
       * parser must go by the length. */
      g_autofree char *buf = g_malloc (len + 4);
      memcpy (buf, c->lines[i], len);
      memcpy (buf + len, "9 z", 3);
      status = _smarthost_smtp_reply_feed (&reply, buf, len);
      if (i + 1 < n)
        g_assert_cmpint (status, ==, SMTP_REPLY_MORE);
      if (status == SMTP_REPLY_MORE || status == SMTP_REPLY_DONE)
        bytes += len - (len > 0 && c->lines[i][len - 1] == '\r');
    }
  g_assert_cmpint (status, ==, c->status);

  if (c->status == SMTP_REPLY_DONE || c->status == SMTP_REPLY_MORE)
    {
      g_assert_cmpuint (reply.code, ==, c->code);
      g_assert_cmpuint (reply.bytes, ==, bytes);
      g_assert_cmpuint (reply.lines->len, ==, n);
    }
  if (c->texts != NULL)
    {
      g_autoptr(GPtrArray) want = g_ptr_array_new_with_free_func (g_free);
      split_texts (c->texts, want);
      g_assert_cmpuint (reply.lines->len, ==, want->len);
      for (guint i = 0; i < want->len; i++)
        g_assert_cmpstr (g_ptr_array_index (reply.lines, i), ==, g_ptr_array_index (want, i));
    }
  if (c->text != NULL)
    {
      g_autofree char *text = _smarthost_smtp_reply_text (&reply);
      g_assert_cmpstr (text, ==, c->text);
    }
  _smarthost_smtp_reply_clear (&reply);
  g_assert_null (reply.lines);
  g_assert_cmpuint (reply.code, ==, 0);
}

/* A NUL inside a line is a control character too (the reader hands over
 * lines by length, so it can contain one). */
static void
test_nul (void)
{
  static const char line[] = "250 a\0b";
  SmtpReply reply;

  _smarthost_smtp_reply_init (&reply);
  g_assert_cmpint (_smarthost_smtp_reply_feed (&reply, line, sizeof line - 1), ==, SMTP_REPLY_MALFORMED);
  _smarthost_smtp_reply_clear (&reply);

  _smarthost_smtp_reply_init (&reply);
  g_assert_cmpint (_smarthost_smtp_reply_feed (&reply, "25\0 ok", 6), ==, SMTP_REPLY_MALFORMED);
  _smarthost_smtp_reply_clear (&reply);
}

static char *
line_of (gsize       len,
         const char *prefix,
         const char *suffix)
{
  GString *s = g_string_new (prefix);

  while (s->len < len)
    g_string_append_c (s, 'a');
  g_string_append (s, suffix);
  return g_string_free (s, FALSE);
}

static void
test_max_line (void)
{
  SmtpReply reply;
  g_autofree char *longest = line_of (SMARTHOST_SMTP_MAX_LINE, "250 ", "");
  g_autofree char *longest_cr = line_of (SMARTHOST_SMTP_MAX_LINE, "250 ", "\r");
  g_autofree char *too_long = line_of (SMARTHOST_SMTP_MAX_LINE + 1, "250 ", "");
  g_autofree char *too_long_cont = line_of (SMARTHOST_SMTP_MAX_LINE + 1, "250-", "");
  g_autofree char *huge_garbage = line_of (100000, "", "");

  /* The longest line allowed, with and without its CR. */
  _smarthost_smtp_reply_init (&reply);
  g_assert_cmpint (_smarthost_smtp_reply_feed (&reply, longest, strlen (longest)), ==, SMTP_REPLY_DONE);
  g_assert_cmpuint (strlen (g_ptr_array_index (reply.lines, 0)), ==, SMARTHOST_SMTP_MAX_LINE - 4);
  _smarthost_smtp_reply_clear (&reply);

  _smarthost_smtp_reply_init (&reply);
  g_assert_cmpint (_smarthost_smtp_reply_feed (&reply, longest_cr, strlen (longest_cr)), ==, SMTP_REPLY_DONE);
  _smarthost_smtp_reply_clear (&reply);

  /* One byte more. */
  _smarthost_smtp_reply_init (&reply);
  g_assert_cmpint (_smarthost_smtp_reply_feed (&reply, too_long, strlen (too_long)), ==, SMTP_REPLY_TOO_LONG);
  g_assert_cmpuint (reply.lines->len, ==, 0);
  _smarthost_smtp_reply_clear (&reply);

  /* ... also as a continuation after good lines. */
  _smarthost_smtp_reply_init (&reply);
  g_assert_cmpint (_smarthost_smtp_reply_feed (&reply, "250-ok", 6), ==, SMTP_REPLY_MORE);
  g_assert_cmpint (_smarthost_smtp_reply_feed (&reply, too_long_cont, strlen (too_long_cont)), ==, SMTP_REPLY_TOO_LONG);
  g_assert_cmpuint (reply.lines->len, ==, 1);
  _smarthost_smtp_reply_clear (&reply);

  /* Overlong garbage is too long before it is malformed. */
  _smarthost_smtp_reply_init (&reply);
  g_assert_cmpint (_smarthost_smtp_reply_feed (&reply, huge_garbage, strlen (huge_garbage)), ==, SMTP_REPLY_TOO_LONG);
  _smarthost_smtp_reply_clear (&reply);
}

static void
test_max_lines (void)
{
  SmtpReply reply;

  /* SMARTHOST_SMTP_MAX_LINES lines in all are fine. */
  _smarthost_smtp_reply_init (&reply);
  for (guint i = 0; i + 1 < SMARTHOST_SMTP_MAX_LINES; i++)
    g_assert_cmpint (_smarthost_smtp_reply_feed (&reply, "250-x\r", 6), ==, SMTP_REPLY_MORE);
  g_assert_cmpint (_smarthost_smtp_reply_feed (&reply, "250 x\r", 6), ==, SMTP_REPLY_DONE);
  g_assert_cmpuint (reply.lines->len, ==, SMARTHOST_SMTP_MAX_LINES);
  g_assert_cmpuint (reply.bytes, ==, 5 * SMARTHOST_SMTP_MAX_LINES);
  _smarthost_smtp_reply_clear (&reply);

  /* "250-x" forever stops after SMARTHOST_SMTP_MAX_LINES, and stays
   * stopped: the reply does not grow. */
  _smarthost_smtp_reply_init (&reply);
  for (guint i = 0; i < SMARTHOST_SMTP_MAX_LINES; i++)
    g_assert_cmpint (_smarthost_smtp_reply_feed (&reply, "250-x", 5), ==, SMTP_REPLY_MORE);
  for (guint i = 0; i < 1000; i++)
    g_assert_cmpint (_smarthost_smtp_reply_feed (&reply, "250-x", 5), ==, SMTP_REPLY_TOO_LONG);
  g_assert_cmpint (_smarthost_smtp_reply_feed (&reply, "250 x", 5), ==, SMTP_REPLY_TOO_LONG);
  g_assert_cmpuint (reply.lines->len, ==, SMARTHOST_SMTP_MAX_LINES);
  _smarthost_smtp_reply_clear (&reply);

  /* The bounds keep a reply's memory small: at most lines × line. */
  g_assert_cmpuint ((gsize) SMARTHOST_SMTP_MAX_LINES * SMARTHOST_SMTP_MAX_LINE, <=, 512 * 1024);
}

static void
test_reply_text (void)
{
  SmtpReply reply;
  g_autofree char *text = NULL;

  /* A reply with no line read yet. */
  _smarthost_smtp_reply_init (&reply);
  text = _smarthost_smtp_reply_text (&reply);
  g_assert_cmpstr (text, ==, "000");
  g_clear_pointer (&text, g_free);

  /* Empty lines add no spaces. */
  g_assert_cmpint (_smarthost_smtp_reply_feed (&reply, "535-", 4), ==, SMTP_REPLY_MORE);
  g_assert_cmpint (_smarthost_smtp_reply_feed (&reply, "535-5.7.8 Authentication", 24), ==, SMTP_REPLY_MORE);
  g_assert_cmpint (_smarthost_smtp_reply_feed (&reply, "535", 3), ==, SMTP_REPLY_DONE);
  text = _smarthost_smtp_reply_text (&reply);
  g_assert_cmpstr (text, ==, "535 5.7.8 Authentication");
  _smarthost_smtp_reply_clear (&reply);

  /* Clearing twice is harmless; a cleared reply can be used again. */
  _smarthost_smtp_reply_clear (&reply);
  _smarthost_smtp_reply_init (&reply);
  g_assert_cmpint (_smarthost_smtp_reply_feed (&reply, "221 bye", 7), ==, SMTP_REPLY_DONE);
  g_clear_pointer (&text, g_free);
  text = _smarthost_smtp_reply_text (&reply);
  g_assert_cmpstr (text, ==, "221 bye");
  _smarthost_smtp_reply_clear (&reply);
}

/* What the probe shows of a reply (greeting, message, JSON, GI strings)
 * must be text: a reply whose bytes are not UTF-8 is either refused or
 * comes out as valid UTF-8. */
static void
test_not_utf8 (void)
{
  static const char *lines[] = { "220 relay \xff\xfe ESMTP", "250 caf\xc3", "250 \xc0\xaf" };

  for (guint i = 0; i < G_N_ELEMENTS (lines); i++)
    {
      SmtpReply reply;
      SmtpReplyStatus status;

      _smarthost_smtp_reply_init (&reply);
      status = _smarthost_smtp_reply_feed (&reply, lines[i], strlen (lines[i]));
      if (status == SMTP_REPLY_DONE)
        {
          g_autofree char *text = _smarthost_smtp_reply_text (&reply);
          if (!g_utf8_validate (text, -1, NULL))
            {
              g_test_incomplete ("library bug: a reply that is not UTF-8 passes through as it is");
              _smarthost_smtp_reply_clear (&reply);
              return;
            }
        }
      else
        g_assert_cmpint (status, ==, SMTP_REPLY_MALFORMED);
      _smarthost_smtp_reply_clear (&reply);
    }
}

/* DEL (0x7f) is a control character like the others. */
static void
test_del (void)
{
  SmtpReply reply;
  SmtpReplyStatus status;

  _smarthost_smtp_reply_init (&reply);
  status = _smarthost_smtp_reply_feed (&reply, "250 a\x7f" "b", 7);
  _smarthost_smtp_reply_clear (&reply);
  if (status == SMTP_REPLY_DONE)
    {
      g_test_incomplete ("library bug: DEL (0x7f) is accepted in a reply line");
      return;
    }
  g_assert_cmpint (status, ==, SMTP_REPLY_MALFORMED);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/smtp/reply/%s", cases[i].name);
      g_test_add_data_func (path, &cases[i], test_case);
    }
  g_test_add_func ("/smtp/reply/nul", test_nul);
  g_test_add_func ("/smtp/reply/max-line", test_max_line);
  g_test_add_func ("/smtp/reply/max-lines", test_max_lines);
  g_test_add_func ("/smtp/reply/text", test_reply_text);
  g_test_add_func ("/smtp/reply/not-utf8", test_not_utf8);
  g_test_add_func ("/smtp/reply/del", test_del);
  return g_test_run ();
}
