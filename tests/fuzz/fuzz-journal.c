/* fuzz-journal.c: libFuzzer target for the commit journal (smarthost-commit.c)
 *
 * The input is a journal file, ".smarthost-journal" as a commit writes it
 * and recovery reads it after a crash. It is written to a file in a
 * temporary folder of this process (removed at exit) and read with the
 * static journal_load, which rebuilds the journal's operations from their
 * records; this target includes the source (run-fuzz.sh then leaves it out
 * of the library objects it links). Nothing is recovered: the paths of a
 * fuzzed journal are never touched.
 *
 * Properties, besides the sanitizers:
 *  - a journal either loads or is reported damaged: SMARTHOST_ERROR_FAILED,
 *    "recover: FILE is damaged, ...", and GLib logs no warning;
 *  - one that loads starts with the magic line and has its "end" line,
 *    with only empty lines after it (a journal cut short never loads);
 *  - what it names is what the operation kinds promise when they rebuild
 *    themselves from a record (dir, file, postfix-map), checked here on
 *    its own: directories and targets are absolute paths; every backup
 *    is ".NAME.smarthost-old" and every source a ".*.smarthost-new*" file
 *    in the target's directory, so that recovery touches nothing but the
 *    targets, the directories and files of ours;
 *  - written back (the operations' records, journal_to_string) it loads
 *    again to the same text,
 *    and that text cut anywhere before its end, or with its tail zeroed
 *    (as a power loss may leave it), is damaged.
 *
 * Built by run-fuzz.sh with clang -fsanitize=fuzzer,address,undefined.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "smarthost-commit.c"
#include "smarthost-postfix-map-operation.h"

#include <stdint.h>
#include <stdlib.h>

#include <glib/gstdio.h>

static void remove_tmp_dir (void);

#define CHECK(cond, ...)                                                \
  do {                                                                  \
    if (!(cond))                                                        \
      {                                                                 \
        fprintf (stderr, "fuzz-journal: check failed: %s (%s:%d)\n",   \
                 #cond, __FILE__, __LINE__);                            \
        fprintf (stderr, __VA_ARGS__);                                  \
        remove_tmp_dir ();                                              \
        abort ();                                                       \
      }                                                                 \
  } while (0)

static char *tmp_dir;
static char *journal_path;
static GString *logged;   /* warnings and criticals GLib logged */

static GLogWriterOutput
log_writer (GLogLevelFlags   level,
            const GLogField *fields,
            gsize            n_fields,
            gpointer         user_data)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING))
    for (gsize i = 0; i < n_fields; i++)
      if (g_str_equal (fields[i].key, "MESSAGE"))
        {
          g_string_append (logged, fields[i].length < 0 ? fields[i].value : "(binary)");
          g_string_append_c (logged, '\n');
        }
  return G_LOG_WRITER_HANDLED;
}

static void
write_journal (const void *data,
               size_t      size)
{
  FILE *f = fopen (journal_path, "wb");

  CHECK (f != NULL && fwrite (data, 1, size, f) == size && fclose (f) == 0, "cannot write %s\n", journal_path);
}

#define Journal GPtrArray   /* the operations rebuilt from a journal */

static Journal *
load (GError **error)
{
  Journal *j;

  g_string_truncate (logged, 0);
  j = journal_load (journal_path, error);
  CHECK (logged->len == 0, "journal_load logged:\n%s", logged->str);
  return j;
}

static void
check_damaged (GError *error)
{
  g_autofree char *prefix = g_strdup_printf ("recover: %s is damaged, ", journal_path);

  CHECK (g_error_matches (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED), "error: %s\n", error->message);
  CHECK (g_str_has_prefix (error->message, prefix), "error: %s\n", error->message);
}

/* Whether @path is a file named like ours (a dot, then @infix) in @dir. */
static gboolean
is_ours_in (const char *path,
            const char *dir,
            const char *infix)
{
  g_autofree char *path_dir = g_path_get_dirname (path);
  const char *base = path + strlen (path_dir);

  if (!g_str_equal (path_dir, dir))
    return FALSE;
  while (*base == '/')
    base++;
  return base[0] == '.' && strchr (base, '/') == NULL && strstr (base, infix) != NULL;
}

static void
check_loaded (Journal    *j,
              const char *text)
{
  const char *end;

  /* Up to the first NUL, which ends what journal_load reads. */
  CHECK (g_str_has_prefix (text, JOURNAL_MAGIC "\n") || g_str_has_prefix (text, JOURNAL_MAGIC_1 "\n"),
         "a journal without the magic line loads\n");
  end = text + strlen (text);
  while (end > text && end[-1] == '\n')
    end--;
  CHECK (end - text >= 4 && strncmp (end - 4, "\nend", 4) == 0, "a journal without its end line loads\n");

  for (guint i = 0; i < j->len; i++)
    {
      g_auto(GStrv) record = smarthost_operation_to_record (g_ptr_array_index (j, i));
      guint n = record ? g_strv_length (record) : 0;

      /* A directory's record is gone once the directory exists. */
      if (record == NULL)
        continue;
      if (g_str_equal (record[0], "dir"))
        {
          CHECK (n == 2 && g_path_is_absolute (record[1]) && _smarthost_journal_path_inside (tmp_dir, record[1]),
                 "directory %s\n", record[1]);
          continue;
        }
      CHECK (g_str_equal (record[0], "file") || g_str_equal (record[0], "postfix-map"), "kind %s\n", record[0]);
      CHECK (n >= 5 && (n - 1) % 4 == 0, "a file record of %u fields\n", n);
      for (guint k = 1; k < n; k += 4)
        {
          const char *target = record[k + 1], *backup = record[k + 2], *source = record[k + 3];
          g_autofree char *dir = NULL;
          g_autofree char *base = NULL;
          g_autofree char *backup_base = NULL;

          CHECK (g_path_is_absolute (target) && _smarthost_journal_path_inside (tmp_dir, target),
                 "target %s\n", target);
          dir = g_path_get_dirname (target);
          base = g_path_get_basename (target);
          backup_base = g_strdup_printf (".%s.smarthost-old", base);
          CHECK (is_ours_in (backup, dir, ".smarthost-old") && g_str_has_suffix (backup, backup_base),
                 "target %s has the backup %s\n", target, backup);
          if (*source)
            CHECK (is_ours_in (source, dir, ".smarthost-new"), "target %s has the source %s\n", target, source);
        }
    }
}

/* The journal's text as a commit would write it for these operations. */
static char *
journal_text (Journal *j)
{
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);

  for (guint i = 0; i < j->len; i++)
    {
      char **record = smarthost_operation_to_record (g_ptr_array_index (j, i));
      if (record != NULL)
        g_ptr_array_add (records, record);
    }
  return journal_to_string (records);
}

static void
remove_tmp_dir (void)
{
  g_unlink (journal_path);
  g_rmdir (tmp_dir);
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  static const char warm_up[] =
    JOURNAL_MAGIC "\ndir\t/etc/postfix/smarthost\n"
    "file\t1\t/etc/postfix/main.cf\t/etc/postfix/.main.cf.smarthost-old\t/etc/postfix/.main.cf.smarthost-new\n"
    "end\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(Journal) j = NULL;

  g_type_ensure (SMARTHOST_TYPE_POSTFIX_MAP_OPERATION);
  logged = g_string_new (NULL);
  g_log_set_writer_func (log_writer, NULL, NULL);
  tmp_dir = g_dir_make_tmp ("fuzz-journal-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  journal_path = g_build_filename (tmp_dir, JOURNAL_NAME, NULL);
  atexit (remove_tmp_dir);

  {
    g_autoptr(GString) text = g_string_new (warm_up);
    g_string_replace (text, "/etc/postfix", tmp_dir, 0);
    write_journal (text->str, text->len);
  }
  j = journal_load (journal_path, &error);
  g_assert_nonnull (j);
  g_free (journal_text (j));
  write_journal ("x", 1);
  g_assert_null (journal_load (journal_path, &error));
  (void) argc;
  (void) argv;
  return 0;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GString) input = g_string_new_len ((const char *) data, size);
  g_autofree char *text = NULL;
  g_autofree char *written = NULL;
  g_autofree char *again = NULL;
  g_autofree char *damaged = NULL;
  g_autoptr(Journal) j = NULL;
  g_autoptr(Journal) j2 = NULL;
  g_autoptr(GError) error = NULL;
  gsize len, cuts[4];
  guint32 h = 2166136261u;

  /* A journal names files of the directory it is in: "/etc/postfix" of
   * the corpus stands for that directory (anything else is damaged). */
  g_string_replace (input, "/etc/postfix", tmp_dir, 0);
  text = g_strndup (input->str, input->len);
  write_journal (input->str, input->len);
  j = load (&error);
  if (j == NULL)
    {
      check_damaged (error);
      return 0;
    }
  check_loaded (j, text);

  written = journal_text (j);
  write_journal (written, strlen (written));
  j2 = load (&error);
  CHECK (j2 != NULL, "the journal written back does not load: %s\n%s", error->message, written);
  check_loaded (j2, written);
  again = journal_text (j2);
  CHECK (g_str_equal (written, again), "written back:\n%s\nthen:\n%s", written, again);

  /* Cut short, or zeroed from some point on, it is damaged: everything
   * before "end" of the last line. */
  len = strlen (written);
  for (gsize i = 0; i < size; i++)
    h = (h ^ data[i]) * 16777619u;
  cuts[0] = 0;
  cuts[1] = len - 2;
  cuts[2] = h % (len - 1);
  cuts[3] = (h >> 16) % (len - 1);
  damaged = g_malloc (len);
  for (guint i = 0; i < G_N_ELEMENTS (cuts); i++)
    for (int zero = 0; zero < 2; zero++)
      {
        g_autoptr(GError) cut_error = NULL;
        g_autoptr(Journal) cut = NULL;

        memcpy (damaged, written, len);
        memset (damaged + cuts[i], 0, len - cuts[i]);
        write_journal (damaged, zero ? len : cuts[i]);
        cut = load (&cut_error);
        CHECK (cut == NULL, "the journal cut at %zu of %zu (zeroed: %d) loads:\n%s", cuts[i], len, zero, written);
        check_damaged (cut_error);
      }
  return 0;
}
