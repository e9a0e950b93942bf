/* smarthost-util.c: small helpers shared by the core and the backends
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "smarthost-error.h"
#include "smarthost-relay.h"   /* SMARTHOST_PASSWORD_MASK, what a secret becomes */
#include "smarthost-util-private.h"
#include "smarthost-platform-private.h"

gboolean
_smarthost_set_invalid (GError     **error,
                        const char  *field,
                        const char  *message)
{
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "%s: %s", field, message);
  return FALSE;
}

gboolean
_smarthost_set_str (char       **str_ptr,
                    const char  *new_str)
{
  if (g_strcmp0 (*str_ptr, new_str) == 0)
    return FALSE;
  g_free (*str_ptr);
  *str_ptr = g_strdup (new_str);
  return TRUE;
}

/* Wipes a secret before freeing it, so that it does not linger in freed
 * memory that a later core dump could show. */
void
_smarthost_secret_free (char *secret)
{
  if (secret == NULL)
    return;
  _smarthost_secure_zero (secret, strlen (secret));
  g_free (secret);
}

/* g_utf8_validate_len(), with the same result and *@end, faster on text
 * that is mostly ASCII (a JSON state of 100,000 domains is 20 MB of it):
 * a run of ASCII bytes is valid, whatever precedes or follows it, and is
 * skipped a word at a time. */
gboolean
_smarthost_utf8_validate_len (const char  *text,
                              gsize        len,
                              const char **end)
{
  const guint64 high = G_GUINT64_CONSTANT (0x8080808080808080);
  gsize i = 0;

  while (len - i >= sizeof (guint64))
    {
      guint64 word;

      memcpy (&word, text + i, sizeof word);
      if ((word & high) != 0)
        break;
      i += sizeof word;
    }
  return g_utf8_validate_len (text + i, len - i, end);
}

/* The secrets of one length, by the rolling hash of their text. */
typedef struct {
  gsize len;
  guint64 power;        /* REDACT_BASE^(len - 1) */
  guint64 hash;         /* of the window of text at the current place */
  GHashTable *by_hash;  /* guint64 hash -> GSList of secrets */
} RedactLength;

#define REDACT_BASE G_GUINT64_CONSTANT (1099511628211)
#define REDACT_FILTER_BITS (1u << 20)
#define REDACT_FILTER_BIT(hash, len) ((guint) (((hash) ^ ((hash) >> 29) ^ (len) * 0x9e3779b9u) % REDACT_FILTER_BITS))

static guint
hash64 (gconstpointer v)
{
  guint64 h = *(const guint64 *) v;
  return (guint) (h ^ (h >> 32));
}

static gboolean
equal64 (gconstpointer a,
         gconstpointer b)
{
  return *(const guint64 *) a == *(const guint64 *) b;
}

static guint64
hash_bytes (const char *p,
            gsize       len)
{
  guint64 h = 0;

  for (gsize i = 0; i < len; i++)
    h = h * REDACT_BASE + (guchar) p[i];
  return h;
}

static int
by_length_down (gconstpointer a,
                gconstpointer b)
{
  gsize x = ((const RedactLength *) a)->len, y = ((const RedactLength *) b)->len;
  return x < y ? 1 : x > y ? -1 : 0;
}

static void
free_slist (gpointer list)
{
  g_slist_free (list);
}

/* Replaces every occurrence of every secret in @text by the mask, the
 * longest where two start at one place. Used on anything a subprocess
 * printed before it reaches an error message, and on the diffs of a
 * preview. Replacing one secret after the other took the size of the text
 * times the number of secrets: minutes for the preview of 100,000 domains,
 * each with its own password. Instead, one pass over the text with a
 * rolling hash per length of secret: the size of the text times the number
 * of different lengths (passwords have a few), with a hash lookup each.
 *
 * A redactor holds the index of the secrets, to redact several texts with
 * the same secrets (the files of a preview) without building it again. It
 * points to the secrets, which must outlive it. */
struct _SmarthostRedactor
{
  GArray *lengths;      /* RedactLength, longest first */
  /* A bit per hash and length (of 2^20) set for each secret: most places
   * of a text start no secret, and a bit is cheaper to test than a table. */
  guint64 *filter;
};

SmarthostRedactor *
_smarthost_redactor_new (GPtrArray *secrets)
{
  SmarthostRedactor *r = g_new0 (SmarthostRedactor, 1);
  g_autoptr(GHashTable) length_index = g_hash_table_new (g_direct_hash, g_direct_equal);

  r->lengths = g_array_new (FALSE, FALSE, sizeof (RedactLength));
  r->filter = g_new0 (guint64, REDACT_FILTER_BITS / 64);
  for (guint k = 0; secrets != NULL && k < secrets->len; k++)
    {
      const char *secret = g_ptr_array_index (secrets, k);
      gsize len = secret != NULL ? strlen (secret) : 0;
      gpointer slot;
      RedactLength *l;
      guint64 hash;
      GSList *same;

      if (len == 0)
        continue;
      if (!g_hash_table_lookup_extended (length_index, GSIZE_TO_POINTER (len), NULL, &slot))
        {
          RedactLength fresh = { len, 1, 0, g_hash_table_new_full (hash64, equal64, g_free, free_slist) };

          for (gsize j = 1; j < len; j++)
            fresh.power *= REDACT_BASE;
          g_array_append_val (r->lengths, fresh);
          slot = GUINT_TO_POINTER (r->lengths->len);
          g_hash_table_insert (length_index, GSIZE_TO_POINTER (len), slot);
        }
      l = &g_array_index (r->lengths, RedactLength, GPOINTER_TO_UINT (slot) - 1);
      hash = hash_bytes (secret, len);
      r->filter[REDACT_FILTER_BIT (hash, len) / 64] |= G_GUINT64_CONSTANT (1) << (REDACT_FILTER_BIT (hash, len) % 64);
      same = g_hash_table_lookup (l->by_hash, &hash);
      if (same != NULL)
        same->next = g_slist_prepend (same->next, (gpointer) secret);
      else
        g_hash_table_insert (l->by_hash, g_memdup2 (&hash, sizeof hash), g_slist_prepend (NULL, (gpointer) secret));
    }
  g_array_sort (r->lengths, by_length_down);
  return r;
}

void
_smarthost_redactor_free (SmarthostRedactor *r)
{
  if (r == NULL)
    return;
  for (guint k = 0; k < r->lengths->len; k++)
    g_hash_table_unref (g_array_index (r->lengths, RedactLength, k).by_hash);
  g_array_unref (r->lengths);
  g_free (r->filter);
  g_free (r);
}

/* Appends @text to @out, redacted. */
void
_smarthost_redactor_append (SmarthostRedactor *r,
                            GString           *out,
                            const char        *text)
{
  RedactLength *lengths = (RedactLength *) (gpointer) r->lengths->data;
  const guint64 *filter = r->filter;
  gsize n = strlen (text), i = 0, written = 0;
  guint n_lengths, skip = 0;

  /* The lengths that fit in the text, longest first. */
  while (skip < r->lengths->len && lengths[skip].len > n)
    skip++;
  lengths += skip;
  n_lengths = r->lengths->len - skip;
  if (n_lengths == 0)
    {
      g_string_append_len (out, text, n);
      return;
    }
  for (guint k = 0; k < n_lengths; k++)
    lengths[k].hash = hash_bytes (text, lengths[k].len);

  while (i < n)
    {
      gsize matched = 0;

      /* The longest secret that starts here, if any. */
      for (guint k = 0; k < n_lengths && matched == 0; k++)
        {
          RedactLength *l = &lengths[k];
          guint bit;

          if (i + l->len > n)
            continue;
          bit = REDACT_FILTER_BIT (l->hash, l->len);
          if (!(filter[bit / 64] & G_GUINT64_CONSTANT (1) << (bit % 64)))
            continue;
          for (GSList *s = g_hash_table_lookup (l->by_hash, &l->hash); s != NULL; s = s->next)
            if (memcmp (text + i, s->data, l->len) == 0)
              {
                matched = l->len;
                break;
              }
        }
      if (matched > 0)
        {
          /* The text before it is written in one piece. */
          g_string_append_len (out, text + written, i - written);
          g_string_append (out, SMARTHOST_PASSWORD_MASK);
          written = i + matched;
        }
      /* Every window moves on past what was written. */
      for (gsize step = MAX (matched, 1); step > 0; step--, i++)
        for (guint k = 0; k < n_lengths; k++)
          {
            RedactLength *l = &lengths[k];

            if (i + l->len < n)
              l->hash = (l->hash - (guchar) text[i] * l->power) * REDACT_BASE + (guchar) text[i + l->len];
          }
    }
  g_string_append_len (out, text + written, n - written);
}

char *
_smarthost_redactor_apply (SmarthostRedactor *r,
                           const char        *text)
{
  GString *out = g_string_sized_new (strlen (text) + 1);

  _smarthost_redactor_append (r, out, text);
  return g_string_free (out, FALSE);
}

char *
_smarthost_redact (const char *text,
                   GPtrArray  *secrets)
{
  SmarthostRedactor *r = _smarthost_redactor_new (secrets);
  char *redacted = _smarthost_redactor_apply (r, text);

  _smarthost_redactor_free (r);
  return redacted;
}

/* Splits @text into lines, each keeping its "\n" (the last one may lack
 * it), so that joining them gives @text back byte for byte. */
char **
_smarthost_split_lines (const char *text,
                        gsize      *n_lines)
{
  GPtrArray *lines = g_ptr_array_new ();
  const char *p = text ? text : "";

  while (*p)
    {
      const char *nl = strchr (p, '\n');
      gsize len = nl ? (gsize) (nl - p) + 1 : strlen (p);
      g_ptr_array_add (lines, g_strndup (p, len));
      p += len;
    }
  if (n_lines)
    *n_lines = lines->len;
  g_ptr_array_add (lines, NULL);
  return (char **) g_ptr_array_free (lines, FALSE);
}

/*
 * Unified diff. Myers' O(ND) algorithm on the part between the common
 * prefix and suffix; beyond MAX_D edits the middle is shown as one
 * replacement, which is still a correct diff, only a less minimal one.
 */
#define MAX_D 2000
#define CONTEXT 3

typedef enum { OP_KEEP, OP_DEL, OP_ADD } DiffOp;

typedef struct {
  DiffOp op;
  gsize a;   /* line index in old (KEEP, DEL) */
  gsize b;   /* line index in new (KEEP, ADD) */
} DiffEdit;

/* The middle as one replacement: every old line deleted, then every new
 * line added. */
static void
append_replacement (gsize a0, gsize n,
                    gsize b0, gsize m,
                    GArray *edits)
{
  for (gsize i = 0; i < n; i++)
    {
      DiffEdit e = { OP_DEL, a0 + i, b0 };
      g_array_append_val (edits, e);
    }
  for (gsize j = 0; j < m; j++)
    {
      DiffEdit e = { OP_ADD, a0 + n, b0 + j };
      g_array_append_val (edits, e);
    }
}

/* Myers' forward pass: V, the furthest x reached on each diagonal k,
 * grows one edit d at a time until a path reaches the end of both texts.
 * Element d of the trace returned is V as it was before step d, which is
 * what the walk back needs; NULL when more than MAX_D edits would be. */
static GPtrArray *
myers_trace (char **a, gsize a0, gsize n,
             char **b, gsize b0, gsize m)
{
  gsize max = n + m;
  gssize offset = (gssize) max + 1;
  g_autofree gssize *v = g_new0 (gssize, 2 * max + 3);
  g_autoptr(GPtrArray) trace = g_ptr_array_new_with_free_func (g_free);
  gssize x, y;

  for (gssize d = 0; d <= (gssize) max && d <= MAX_D; d++)
    {
      g_ptr_array_add (trace, g_memdup2 (v, sizeof (gssize) * (2 * max + 3)));
      for (gssize k = -d; k <= d; k += 2)
        {
          if (k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]))
            x = v[offset + k + 1];
          else
            x = v[offset + k - 1] + 1;
          y = x - k;
          while (x < (gssize) n && y < (gssize) m && strcmp (a[a0 + x], b[b0 + y]) == 0)
            x++, y++;
          v[offset + k] = x;
          if (x >= (gssize) n && y >= (gssize) m)
            return g_steal_pointer (&trace);
        }
    }
  return NULL;
}

/* Walks back through @trace from the end of both texts, collecting the
 * edits in reverse, and appends them to @edits in order. */
static void
myers_backtrack (GPtrArray *trace,
                 gsize a0, gsize n,
                 gsize b0, gsize m,
                 GArray *edits)
{
  gssize offset = (gssize) (n + m) + 1;
  g_autoptr(GArray) rev = g_array_new (FALSE, FALSE, sizeof (DiffEdit));
  gssize x = (gssize) n;
  gssize y = (gssize) m;

  for (gssize d = (gssize) trace->len - 1; d >= 0; d--)
    {
      gssize *vd = g_ptr_array_index (trace, d);
      gssize k = x - y;
      gssize prev_k, prev_x, prev_y;

      if (d == 0)
        {
          while (x > 0 && y > 0)
            {
              DiffEdit e = { OP_KEEP, a0 + x - 1, b0 + y - 1 };
              g_array_append_val (rev, e);
              x--, y--;
            }
          break;
        }
      if (k == -d || (k != d && vd[offset + k - 1] < vd[offset + k + 1]))
        prev_k = k + 1;
      else
        prev_k = k - 1;
      prev_x = vd[offset + prev_k];
      prev_y = prev_x - prev_k;
      while (x > prev_x && y > prev_y)
        {
          DiffEdit e = { OP_KEEP, a0 + x - 1, b0 + y - 1 };
          g_array_append_val (rev, e);
          x--, y--;
        }
      if (x == prev_x)
        {
          DiffEdit e = { OP_ADD, a0 + x, b0 + y - 1 };
          g_array_append_val (rev, e);
        }
      else
        {
          DiffEdit e = { OP_DEL, a0 + x - 1, b0 + y };
          g_array_append_val (rev, e);
        }
      x = prev_x;
      y = prev_y;
    }
  for (gssize i = (gssize) rev->len - 1; i >= 0; i--)
    g_array_append_val (edits, g_array_index (rev, DiffEdit, i));
}

/* The edits from old lines a0..a0+n to new lines b0..b0+m: a shortest
 * path, or one replacement when that is too long to search for. */
static void
myers_middle (char  **a, gsize a0, gsize n,
              char  **b, gsize b0, gsize m,
              GArray *edits)
{
  g_autoptr(GPtrArray) trace = NULL;

  if (n + m == 0)
    return;
  if (n + m <= 2 * MAX_D + 2 && n > 0 && m > 0)
    trace = myers_trace (a, a0, n, b, b0, m);
  if (trace != NULL)
    myers_backtrack (trace, a0, n, b0, m, edits);
  else
    append_replacement (a0, n, b0, m, edits);
}

/* Appends @len bytes of @text, each byte that is not part of valid UTF-8
 * written as "\\xNN". What is shown (a diff, a finding, a program's
 * message) must be text, and GI hands it on as utf8; but the bytes of a
 * file we keep as they are, such as a Latin-1 comment in main.cf, should
 * stay visible rather than become U+FFFD. */
void
_smarthost_append_escaped (GString    *out,
                           const char *text,
                           gssize      len)
{
  const char *end;

  if (len < 0)
    len = strlen (text);
  while (len > 0)
    {
      g_utf8_validate_len (text, len, &end);
      g_string_append_len (out, text, end - text);
      len -= end - text;
      text = end;
      if (len > 0)
        {
          g_string_append_printf (out, "\\x%02X", (guchar) *text);
          text++;
          len--;
        }
    }
}

/* @text as valid UTF-8 (see _smarthost_append_escaped()); a copy of it
 * when it is valid already. */
char *
_smarthost_escape_invalid_utf8 (const char *text)
{
  GString *out;

  if (g_utf8_validate (text, -1, NULL))
    return g_strdup (text);
  out = g_string_new (NULL);
  _smarthost_append_escaped (out, text, -1);
  return g_string_free (out, FALSE);
}

static void
append_line_len (GString    *out,
                 char        prefix,
                 const char *line,
                 gsize       len)
{
  g_string_append_c (out, prefix);
  _smarthost_append_escaped (out, line, len);
  if (len == 0 || line[len - 1] != '\n')
    g_string_append (out, "\n\\ No newline at end of file\n");
}

static void
append_line (GString    *out,
             char        prefix,
             const char *line)
{
  append_line_len (out, prefix, line, strlen (line));
}

/* The diff of a file that is new (@prefix '+') or gone ('-'): one hunk of
 * every line of @text, written as it is read, with no array of its lines
 * (a map of 100,000 domains). The same as the general case gives. */
static char *
whole_file_diff (const char *old_label,
                 const char *new_label,
                 const char *text,
                 char        prefix)
{
  gsize len = strlen (text), lines = 0;
  const char *p, *end = text + len;
  GString *out;

  for (p = text; (p = memchr (p, '\n', end - p)) != NULL; p++)
    lines++;
  if (end[-1] != '\n')
    lines++;
  out = g_string_sized_new (len + lines + 128);
  g_string_append_printf (out, "--- %s\n+++ %s\n", old_label, new_label);
  if (prefix == '+')
    g_string_append_printf (out, "@@ -0,0 +1,%" G_GSIZE_FORMAT " @@\n", lines);
  else
    g_string_append_printf (out, "@@ -1,%" G_GSIZE_FORMAT " +0,0 @@\n", lines);
  for (p = text; p < end;)
    {
      const char *nl = memchr (p, '\n', end - p);
      gsize line_len = nl ? (gsize) (nl - p) + 1 : (gsize) (end - p);

      append_line_len (out, prefix, p, line_len);
      p += line_len;
    }
  return g_string_free (out, FALSE);
}

char *
_smarthost_unified_diff (const char *old_label,
                         const char *new_label,
                         const char *old_text,
                         const char *new_text)
{
  g_auto(GStrv) a = NULL;
  g_auto(GStrv) b = NULL;
  gsize n, m, pre = 0, suf = 0;
  g_autoptr(GArray) edits = g_array_new (FALSE, FALSE, sizeof (DiffEdit));
  GString *out;
  gsize i;

  if (*old_text == '\0' && *new_text != '\0')
    return whole_file_diff (old_label, new_label, new_text, '+');
  if (*new_text == '\0' && *old_text != '\0')
    return whole_file_diff (old_label, new_label, old_text, '-');
  a = _smarthost_split_lines (old_text, &n);
  b = _smarthost_split_lines (new_text, &m);

  while (pre < n && pre < m && strcmp (a[pre], b[pre]) == 0)
    pre++;
  while (suf < n - pre && suf < m - pre && strcmp (a[n - 1 - suf], b[m - 1 - suf]) == 0)
    suf++;
  if (pre == n && pre == m)
    return g_strdup ("");

  for (i = 0; i < pre; i++)
    {
      DiffEdit e = { OP_KEEP, i, i };
      g_array_append_val (edits, e);
    }
  myers_middle (a, pre, n - pre - suf, b, pre, m - pre - suf, edits);
  for (i = 0; i < suf; i++)
    {
      DiffEdit e = { OP_KEEP, n - suf + i, m - suf + i };
      g_array_append_val (edits, e);
    }

  out = g_string_new (NULL);
  g_string_append_printf (out, "--- %s\n+++ %s\n", old_label, new_label);

  i = 0;
  while (i < edits->len)
    {
      gsize start, end, j, a_start, b_start, a_len = 0, b_len = 0;

      /* Find the next change, then extend the hunk while changes are
       * within 2 * CONTEXT lines of each other. */
      while (i < edits->len && g_array_index (edits, DiffEdit, i).op == OP_KEEP)
        i++;
      if (i == edits->len)
        break;
      start = i >= CONTEXT ? i - CONTEXT : 0;
      end = i;
      for (j = i; j < edits->len; j++)
        {
          if (g_array_index (edits, DiffEdit, j).op != OP_KEEP)
            end = j;
          else if (j - end > 2 * CONTEXT)
            break;
        }
      end = MIN (end + CONTEXT, edits->len - 1);

      a_start = g_array_index (edits, DiffEdit, start).a;
      b_start = g_array_index (edits, DiffEdit, start).b;
      for (j = start; j <= end; j++)
        {
          DiffOp op = g_array_index (edits, DiffEdit, j).op;
          if (op != OP_ADD)
            a_len++;
          if (op != OP_DEL)
            b_len++;
        }
      g_string_append_printf (out, "@@ -%" G_GSIZE_FORMAT ",%" G_GSIZE_FORMAT
                              " +%" G_GSIZE_FORMAT ",%" G_GSIZE_FORMAT " @@\n",
                              a_len ? a_start + 1 : a_start, a_len,
                              b_len ? b_start + 1 : b_start, b_len);
      for (j = start; j <= end; j++)
        {
          DiffEdit *e = &g_array_index (edits, DiffEdit, j);
          if (e->op == OP_KEEP)
            append_line (out, ' ', a[e->a]);
          else if (e->op == OP_DEL)
            append_line (out, '-', a[e->a]);
          else
            append_line (out, '+', b[e->b]);
        }
      i = end + 1;
    }
  return g_string_free (out, FALSE);
}

char *
_smarthost_argv_to_string (const char * const *argv)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; argv[i]; i++)
    {
      g_autofree char *q = NULL;
      if (i)
        g_string_append_c (s, ' ');
      if (*argv[i] && strpbrk (argv[i], " \t\n'\"\\$`*?[]{}()<>|&;#~") == NULL)
        g_string_append (s, argv[i]);
      else
        {
          q = g_shell_quote (argv[i]);
          g_string_append (s, q);
        }
    }
  return g_string_free (s, FALSE);
}

/* Waits for a child whose output is read (or was not asked for) to end,
 * for at most @timeout_seconds in all: a child may close its output and
 * go on. GLib reaps it in its worker thread; its identifier is gone then. */
static gboolean
wait_child (GSubprocess   *proc,
            const char    *name,
            guint          timeout_seconds,
            GCancellable  *cancellable,
            GError       **error)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_seconds * G_USEC_PER_SEC;

  while (g_subprocess_get_identifier (proc) != NULL)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (g_get_monotonic_time () >= deadline)
        {
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                       "%s did not finish within %u s; it was stopped", name, timeout_seconds);
          return FALSE;
        }
      g_usleep (2000);
    }
  return g_subprocess_wait (proc, cancellable, error);
}

/* Runs a program to completion with no standard input, in the C locale so
 * that its messages are the documented ones, for at most
 * SMARTHOST_RUN_TIMEOUT seconds. Fails only when the program could not be
 * run or did not end, or printed on standard output what is not text; its
 * exit status is returned for the caller to judge. An output the caller
 * does not ask for goes to /dev/null: what a program prints there (postconf
 * -M echoing a master.cf line in Latin-1) cannot make it fail. Standard
 * error is a message for people, and is made text (see
 * _smarthost_append_escaped()). */
gboolean
_smarthost_run (const char * const  *argv,
                GCancellable        *cancellable,
                int                 *exit_status,
                char               **out_stdout,
                char               **out_stderr,
                GError             **error)
{
  return _smarthost_run_full (argv, SMARTHOST_RUN_TIMEOUT, cancellable, exit_status, out_stdout, out_stderr, error);
}

/* The same, with a timeout of one's own. */
gboolean
_smarthost_run_full (const char * const  *argv,
                     guint                timeout_seconds,
                     GCancellable        *cancellable,
                     int                 *exit_status,
                     char               **out_stdout,
                     char               **out_stderr,
                     GError             **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GString) err = g_string_new (NULL);

  /* Standard input is /dev/null: nothing we run ever gets a secret. */
  launcher = g_subprocess_launcher_new ((out_stdout ? G_SUBPROCESS_FLAGS_STDOUT_PIPE : G_SUBPROCESS_FLAGS_STDOUT_SILENCE) |
                                        (out_stderr ? G_SUBPROCESS_FLAGS_STDERR_PIPE : G_SUBPROCESS_FLAGS_STDERR_SILENCE));
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "MAIL_CONFIG");

  proc = g_subprocess_launcher_spawnv (launcher, argv, &local_error);
  if (proc == NULL)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "could not run %s: %s", argv[0], local_error->message);
      return FALSE;
    }
  if (!_smarthost_read_child_output (proc, argv[0], timeout_seconds, cancellable, out, err, &local_error) ||
      !wait_child (proc, argv[0], timeout_seconds, cancellable, &local_error))
    {
      g_subprocess_force_exit (proc);
      g_subprocess_wait (proc, NULL, NULL);
      _smarthost_secure_zero (out->str, out->len);
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || local_error->domain == SMARTHOST_ERROR)
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                     "could not read the output of %s: %s", argv[0], local_error->message);
      return FALSE;
    }
  if (out_stdout)
    {
      /* The output may hold a secret (postconf -x expands inline tables):
       * the buffer is wiped once copied. */
      gboolean text = g_utf8_validate_len (out->str, out->len, NULL);

      *out_stdout = text ? g_strndup (out->str, out->len) : NULL;
      _smarthost_secure_zero (out->str, out->len);
      if (!text)
        {
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                       "%s printed what is not UTF-8 text: a value it read (in main.cf, master.cf or a "
                       "table) has bytes that are not UTF-8; write it in UTF-8", argv[0]);
          return FALSE;
        }
    }
  if (out_stderr)
    {
      GString *message = g_string_new (NULL);

      _smarthost_append_escaped (message, err->str, (gssize) err->len);
      *out_stderr = g_string_free (message, FALSE);
    }
  if (exit_status)
    *exit_status = g_subprocess_get_if_exited (proc) ? g_subprocess_get_exit_status (proc) : 128 + g_subprocess_get_term_sig (proc);
  return TRUE;
}
