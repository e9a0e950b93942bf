/* fuzz-mailenable-reg.c: libFuzzer target for the .reg codec of the
 * MailEnable backend (backends/mailenable/smarthost-mailenable-reg.c)
 *
 * The input is a .reg file as regedit exports it (UTF-16LE with a
 * byte-order mark) or as a person writes it (UTF-8).
 *
 * Properties, besides the sanitizers (which also see that the parser
 * neither recurses nor reads past its input):
 *  - an error is SMARTHOST_ERROR_INVALID, valid UTF-8 on one line, starts
 *    with "line N: " or "not a .reg file: ", and never quotes a value's
 *    data: in a UTF-8 input, a word of six or more letters, digits or "-"
 *    right after "=" or "=\"" on a value line, with a digit, a lowercase
 *    and an uppercase letter (as "S3cret-data" of the corpus: no word of
 *    the parser's own messages is one) and nowhere else in the input, is
 *    never in the message;
 *  - a file it reads is written (me_reg_file_to_bytes, UTF-16LE) as a file
 *    that reads back to the same keys, values (names, deletions, types and
 *    bytes) and comments, and is written again byte for byte the same;
 *  - written masked (every value name), no data of a string, dword or hex
 *    value shows: the text parses to values that are all "********".
 *
 * Built by run-fuzz.sh with clang -fsanitize=fuzzer,address,undefined.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smarthost-error.h"
#include "smarthost-mailenable-private.h"

#define CHECK(cond, ...)                                                \
  do {                                                                  \
    if (!(cond))                                                        \
      {                                                                 \
        fprintf (stderr, "fuzz-mailenable-reg: check failed: %s (%s:%d)\n", \
                 #cond, __FILE__, __LINE__);                            \
        fprintf (stderr, __VA_ARGS__);                                  \
        fprintf (stderr, "\n");                                         \
        abort ();                                                       \
      }                                                                 \
  } while (0)

static gboolean
is_word_char (char c)
{
  return g_ascii_isalnum (c) || c == '-';
}

static gboolean
is_secret_like (const char *s,
                const char *end)
{
  gboolean digit = FALSE, lower = FALSE, upper = FALSE;

  for (; s < end; s++)
    {
      digit |= g_ascii_isdigit (*s);
      lower |= g_ascii_islower (*s);
      upper |= g_ascii_isupper (*s);
    }
  return digit && lower && upper;
}

/* The words an error must not quote (see above), looked for on value
 * lines only ("name"= or @= first): a key path, which an error may quote,
 * holds "=" too. */
static GPtrArray *
data_words (const char *text,
            gsize       len)
{
  GPtrArray *found = g_ptr_array_new_with_free_func (g_free);
  const char *end = text + len;
  const char *line = text;

  while (line < end)
    {
      const char *eol = line;
      const char *s = line;

      while (eol < end && *eol != '\n' && *eol != '\r')
        eol++;
      while (s < eol && (*s == ' ' || *s == '\t'))
        s++;
      for (const char *p = s + 1; s < eol && (*s == '"' || *s == '@') && p < eol; p++)
        {
          const char *w = p + 1;
          const char *e;

          if (*p != '=' || (p[-1] != '"' && p[-1] != '@'))
            continue;
          if (w < end && *w == '"')
            w++;
          for (e = w; e < end && is_word_char (*e); e++)
            ;
          if (e - w >= 6 && is_secret_like (w, e))
            {
              g_autofree char *word = g_strndup (w, (gsize) (e - w));
              const char *first = g_strstr_len (text, (gssize) len, word);

              if (first != NULL && g_strstr_len (first + 1, (gssize) (end - first - 1), word) == NULL)
                g_ptr_array_add (found, g_steal_pointer (&word));
            }
        }
      line = eol + 1;
    }
  return found;
}

static void
check_error (const GError *error,
             const char   *data,
             gsize         size)
{
  CHECK (error != NULL, "no error set");
  CHECK (g_error_matches (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID), "error %s %d: %s",
         g_quark_to_string (error->domain), error->code, error->message);
  CHECK (g_utf8_validate (error->message, -1, NULL), "the message is not UTF-8");
  CHECK (strchr (error->message, '\n') == NULL && strchr (error->message, '\r') == NULL,
         "the message has a line break: %s", error->message);
  CHECK (g_str_has_prefix (error->message, "line ") || g_str_has_prefix (error->message, "not a .reg file: "),
         "the message does not say where: %s", error->message);
  if (size < 2 || (guchar) data[0] != 0xff || (guchar) data[1] != 0xfe)
    {
      g_autoptr(GPtrArray) words = data_words (data, size);

      for (guint i = 0; i < words->len; i++)
        CHECK (strstr (error->message, g_ptr_array_index (words, i)) == NULL,
               "the message quotes the data %s: %s", (char *) g_ptr_array_index (words, i), error->message);
    }
}

static MeRegFile *
reparse (GBytes *bytes)
{
  g_autoptr(GError) error = NULL;
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  MeRegFile *file = me_reg_file_parse (data, len, &error);

  CHECK (file != NULL, "the file written does not read back: %s", error->message);
  return file;
}

static void
check_same (MeRegFile *a,
            MeRegFile *b)
{
  CHECK (a->keys->len == b->keys->len, "%u keys, %u read back", a->keys->len, b->keys->len);
  for (guint i = 0; i < a->keys->len; i++)
    {
      MeRegKey *ka = g_ptr_array_index (a->keys, i);
      MeRegKey *kb = g_ptr_array_index (b->keys, i);

      CHECK (g_str_equal (ka->path, kb->path) && ka->deleted == kb->deleted, "key %u differs", i);
      CHECK (ka->values->len == kb->values->len, "key %u: %u values, %u read back", i,
             ka->values->len, kb->values->len);
      for (guint j = 0; j < ka->values->len; j++)
        {
          MeRegValue *va = g_ptr_array_index (ka->values, j);
          MeRegValue *vb = g_ptr_array_index (kb->values, j);

          CHECK (g_str_equal (va->name, vb->name) && me_reg_value_equal (va, vb),
                 "key %u, value %u (line %u) differs when read back", i, j, va->line);
        }
    }
  CHECK (a->comments->len == b->comments->len, "%u comments, %u read back", a->comments->len, b->comments->len);
  for (guint i = 0; i < a->comments->len; i++)
    CHECK (g_str_equal (g_ptr_array_index (a->comments, i), g_ptr_array_index (b->comments, i)),
           "comment %u differs", i);
}

static void
check_masked (MeRegFile *file)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autofree char *text = NULL;
  g_autoptr(MeRegFile) again = NULL;
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < file->keys->len; i++)
    {
      MeRegKey *key = g_ptr_array_index (file->keys, i);

      for (guint j = 0; j < key->values->len; j++)
        g_ptr_array_add (names, ((MeRegValue *) g_ptr_array_index (key->values, j))->name);
    }
  g_ptr_array_add (names, NULL);
  text = me_reg_file_to_text (file, (const char * const *) names->pdata, FALSE);
  again = me_reg_file_parse (text, strlen (text), &error);
  CHECK (again != NULL, "the masked text does not read back: %s", error->message);
  for (guint i = 0; i < again->keys->len; i++)
    {
      MeRegKey *key = g_ptr_array_index (again->keys, i);

      for (guint j = 0; j < key->values->len; j++)
        {
          MeRegValue *value = g_ptr_array_index (key->values, j);
          g_autofree char *shown = NULL;

          if (value->deleted)
            continue;
          CHECK (me_reg_value_get_string (value, &shown, NULL) && g_str_equal (shown, "********"),
                 "key %u, value %u is not masked", i, j);
        }
    }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MeRegFile) file = me_reg_file_parse ((const char *) data, size, &error);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) bytes_again = NULL;
  g_autoptr(MeRegFile) again = NULL;

  if (file == NULL)
    {
      check_error (error, (const char *) data, size);
      return 0;
    }
  CHECK (error == NULL, "an error with a result");

  bytes = me_reg_file_to_bytes (file);
  again = reparse (bytes);
  check_same (file, again);
  bytes_again = me_reg_file_to_bytes (again);
  CHECK (g_bytes_equal (bytes, bytes_again), "the file written twice differs");
  check_masked (file);
  return 0;
}
