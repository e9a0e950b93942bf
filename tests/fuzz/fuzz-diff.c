/* fuzz-diff.c: libFuzzer target for the unified diff of dry runs
 *
 * The input is two texts separated by a NUL byte: the old file and the new
 * one (a text with NUL bytes cannot be a configuration file). The first
 * byte, when it is 0x01, turns the input into many short lines (every byte
 * a line), which reaches the fallback for diffs longer than MAX_D edits.
 *
 * Properties: _smarthost_unified_diff is "" exactly when the texts are
 * equal; otherwise it has the two header lines and well-formed hunks
 * ("@@ -a,b +c,d @@" whose counts match their lines, in increasing
 * order, not overlapping), it is UTF-8, and applying it to the old text
 * gives the new text byte for byte ("\ No newline at end of file"
 * included), both as shown: bytes that are not UTF-8 written as \xNN.
 *
 * Built by run-fuzz.sh with clang -fsanitize=fuzzer,address,undefined.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smarthost-util-private.h"

#define CHECK(cond, ...)                                                \
  do {                                                                  \
    if (!(cond))                                                        \
      {                                                                 \
        fprintf (stderr, "fuzz-diff: check failed: %s (%s:%d)\n",      \
                 #cond, __FILE__, __LINE__);                            \
        fprintf (stderr, __VA_ARGS__);                                  \
        abort ();                                                       \
      }                                                                 \
  } while (0)

#define NO_NEWLINE "\\ No newline at end of file"

/* Applies @diff to @old; returns the new text. Aborts on a malformed diff. */
static char *
apply (const char *old,
       const char *diff)
{
  gsize n_old, n_diff;
  g_auto(GStrv) a = _smarthost_split_lines (old, &n_old);
  g_auto(GStrv) d = _smarthost_split_lines (diff, &n_diff);
  GString *out = g_string_new (NULL);
  gsize ai = 0;   /* next old line to copy */
  gsize di = 2;
  gsize last_a_end = 0;

  CHECK (n_diff >= 3 && g_str_has_prefix (d[0], "--- old\n") && g_str_has_prefix (d[1], "+++ new\n"),
         "bad diff header\n");
  while (di < n_diff)
    {
      unsigned long as, al, bs, bl;
      gsize got_a = 0, got_b = 0;
      int consumed = 0;

      CHECK (sscanf (d[di], "@@ -%lu,%lu +%lu,%lu @@\n%n", &as, &al, &bs, &bl, &consumed) == 4 &&
             d[di][consumed] == '\0', "bad hunk header '%s'\n", d[di]);
      di++;
      /* An empty range names the line after which it goes. */
      {
        gsize start = al ? as - 1 : as;
        CHECK (start >= last_a_end && start <= n_old, "hunk at %lu out of order (after %zu, %zu lines)\n",
               as, last_a_end, n_old);
        /* The new text's position must agree with what was produced. */
        while (ai < start)
          g_string_append (out, a[ai++]);
      }
      {
        gsize out_lines = 0;
        for (const char *p = out->str; *p; p++)
          out_lines += *p == '\n';
        CHECK ((bl ? bs - 1 : bs) == out_lines, "hunk +%lu, but %zu lines written\n", bs, out_lines);
      }
      while (di < n_diff && (got_a < al || got_b < bl))
        {
          const char *line = d[di++];
          char op = line[0];
          gboolean no_nl = di < n_diff && g_str_has_prefix (d[di], NO_NEWLINE);
          g_autofree char *text = g_strdup (line + 1);

          CHECK (op == ' ' || op == '-' || op == '+', "bad hunk line '%s'\n", line);
          CHECK (g_str_has_suffix (line, "\n"), "hunk line without newline\n");
          if (no_nl)
            {
              text[strlen (text) - 1] = '\0';
              di++;
            }
          if (op != '+')
            {
              CHECK (ai < n_old && strcmp (a[ai], text) == 0, "line %zu of old is not '%s'\n", ai + 1, text);
              ai++;
              got_a++;
            }
          if (op != '-')
            {
              g_string_append (out, text);
              got_b++;
            }
        }
      CHECK (got_a == al && got_b == bl, "hunk counts -%lu +%lu, lines -%zu +%zu\n", al, bl, got_a, got_b);
      last_a_end = ai;
    }
  while (ai < n_old)
    g_string_append (out, a[ai++]);
  return g_string_free (out, FALSE);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *copy = g_malloc (size + 1);
  g_autofree char *old = NULL;
  g_autofree char *new = NULL;
  g_autofree char *diff = NULL;
  g_autofree char *applied = NULL;
  g_autofree char *old_shown = NULL;
  g_autofree char *new_shown = NULL;
  const char *second;

  memcpy (copy, data, size);
  copy[size] = '\0';
  if (size > 0 && copy[0] == 0x01)
    {
      /* Every byte a line: many lines from a short input. */
      GString *o = g_string_new (NULL), *n = g_string_new (NULL);
      const char *p = copy + 1;
      second = p + strlen (p) + 1;
      for (; *p; p++)
        g_string_append_printf (o, "%c\n", *p == '\n' ? 'x' : *p);
      if (second <= copy + size)
        for (p = second; *p; p++)
          g_string_append_printf (n, "%c\n", *p == '\n' ? 'x' : *p);
      old = g_string_free (o, FALSE);
      new = g_string_free (n, FALSE);
    }
  else
    {
      second = copy + strlen (copy) + 1;
      old = g_strdup (copy);
      new = g_strdup (second <= copy + size ? second : "");
    }

  diff = _smarthost_unified_diff ("old", "new", old, new);
  if (strcmp (old, new) == 0)
    {
      CHECK (*diff == '\0', "equal texts, non-empty diff\n");
      return 0;
    }
  CHECK (*diff != '\0', "different texts, empty diff\n");
  /* The diff is shown (and handed to bindings as utf8): bytes that are not
   * UTF-8 appear as \xNN, so it applies to the texts as shown. */
  CHECK (g_utf8_validate (diff, -1, NULL), "the diff is not UTF-8\n");
  old_shown = _smarthost_escape_invalid_utf8 (old);
  new_shown = _smarthost_escape_invalid_utf8 (new);
  applied = apply (old_shown, diff);
  CHECK (strcmp (applied, new_shown) == 0, "the diff applied to old does not give new\n--- diff:\n%s", diff);
  return 0;
}
