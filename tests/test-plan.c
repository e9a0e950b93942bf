/* test-plan.c: unified diffs, previews and all-or-nothing execution of operations
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "smarthost-error.h"
#include "smarthost-operation-private.h"
#include "smarthost-postfix-map-operation.h"
#include "smarthost-private.h"
#include "smarthost-relay.h"
#include "smarthost-util-private.h"

#include "test-util.h"

/* The operations of these tests, built the way a backend builds them: the
 * directories first, then the files in order (deletions last), then the
 * commands; a file with a build command is a Postfix table operation. */
typedef struct {
  char *path;
  char *old_contents;
  char *new_contents;
  guint mode;
  char *masked_old;
  char *masked_new;
  char **argv;
  char **outputs;
} PlanFile;

typedef struct {
  GPtrArray *dirs;      /* SmarthostOperation */
  GPtrArray *files;     /* PlanFile */
  GPtrArray *commands;  /* SmarthostOperation */
  GPtrArray *notes;
  GPtrArray *secrets;
  char *journal_dir;
  GPtrArray *ops;       /* built from the above when needed */
} SmarthostPlan;

static void
plan_file_free (gpointer data)
{
  PlanFile *f = data;

  g_free (f->path);
  g_free (f->old_contents);
  g_free (f->new_contents);
  g_free (f->masked_old);
  g_free (f->masked_new);
  g_strfreev (f->argv);
  g_strfreev (f->outputs);
  g_free (f);
}

static SmarthostPlan *
_smarthost_plan_new (void)
{
  SmarthostPlan *plan = g_new0 (SmarthostPlan, 1);

  plan->dirs = g_ptr_array_new_with_free_func (g_object_unref);
  plan->files = g_ptr_array_new_with_free_func (plan_file_free);
  plan->commands = g_ptr_array_new_with_free_func (g_object_unref);
  plan->notes = g_ptr_array_new_with_free_func (g_free);
  plan->secrets = g_ptr_array_new_with_free_func (g_free);
  return plan;
}

static void
_smarthost_plan_free (SmarthostPlan *plan)
{
  g_ptr_array_unref (plan->dirs);
  g_ptr_array_unref (plan->files);
  g_ptr_array_unref (plan->commands);
  g_ptr_array_unref (plan->notes);
  g_ptr_array_unref (plan->secrets);
  g_clear_pointer (&plan->ops, g_ptr_array_unref);
  g_free (plan->journal_dir);
  g_free (plan);
}

static void
_smarthost_plan_add_directory (SmarthostPlan *plan,
                               const char    *path,
                               guint          mode)
{
  g_ptr_array_add (plan->dirs, smarthost_directory_operation_new (path, mode));
}

static void
_smarthost_plan_add_file (SmarthostPlan *plan,
                          const char    *path,
                          const char    *old_contents,
                          const char    *new_contents,
                          guint          mode,
                          const char    *masked_old,
                          const char    *masked_new)
{
  PlanFile *f = g_new0 (PlanFile, 1);

  f->path = g_strdup (path);
  f->old_contents = g_strdup (old_contents);
  f->new_contents = g_strdup (new_contents);
  f->mode = mode;
  f->masked_old = g_strdup (masked_old);
  f->masked_new = g_strdup (masked_new);
  g_ptr_array_add (plan->files, f);
}

static void
_smarthost_plan_set_build (SmarthostPlan      *plan,
                           const char         *path,
                           const char * const *argv,
                           const char * const *outputs)
{
  for (guint i = 0; i < plan->files->len; i++)
    {
      PlanFile *f = g_ptr_array_index (plan->files, i);
      if (g_str_equal (f->path, path))
        {
          f->argv = g_strdupv ((char **) argv);
          f->outputs = g_strdupv ((char **) outputs);
        }
    }
}

static void
_smarthost_plan_add_step (SmarthostPlan        *plan,
                          const char           *description,
                          SmarthostCommandFunc  func,
                          gpointer              user_data,
                          GDestroyNotify        destroy)
{
  g_ptr_array_add (plan->commands, smarthost_command_operation_new_func (description, func, user_data, destroy));
}

static void G_GNUC_PRINTF (2, 3)
_smarthost_plan_add_note (SmarthostPlan *plan,
                          const char    *format,
                          ...)
{
  va_list args;

  va_start (args, format);
  g_ptr_array_add (plan->notes, g_strdup_vprintf (format, args));
  va_end (args);
}

static void
_smarthost_plan_add_secret (SmarthostPlan *plan,
                            const char    *secret)
{
  g_ptr_array_add (plan->secrets, g_strdup (secret));
}

static void
_smarthost_plan_set_journal (SmarthostPlan *plan,
                             const char    *directory)
{
  g_free (plan->journal_dir);
  plan->journal_dir = g_strdup (directory);
}

static GPtrArray *
plan_operations (SmarthostPlan *plan)
{
  g_autoptr(GPtrArray) deletions = g_ptr_array_new_with_free_func (g_object_unref);

  g_clear_pointer (&plan->ops, g_ptr_array_unref);
  plan->ops = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < plan->dirs->len; i++)
    g_ptr_array_add (plan->ops, g_object_ref (g_ptr_array_index (plan->dirs, i)));
  for (guint i = 0; i < plan->files->len; i++)
    {
      PlanFile *f = g_ptr_array_index (plan->files, i);
      SmarthostOperation *op;

      if (f->argv != NULL)
        op = _smarthost_postfix_map_operation_new_take (f->path, g_strdup (f->old_contents), FALSE,
                                                        g_strdup (f->new_contents), f->mode,
                                                        g_strdup (f->masked_old), g_strdup (f->masked_new),
                                                        (const char * const *) f->argv,
                                                        (const char * const *) f->outputs);
      else
        op = _smarthost_file_operation_new_take (f->path, g_strdup (f->old_contents), FALSE,
                                                 g_strdup (f->new_contents), f->mode,
                                                 g_strdup (f->masked_old), g_strdup (f->masked_new));
      if (op != NULL)
        g_ptr_array_add (f->new_contents ? plan->ops : deletions, op);
    }
  g_ptr_array_extend_and_steal (plan->ops, g_steal_pointer (&deletions));
  for (guint i = 0; i < plan->commands->len; i++)
    g_ptr_array_add (plan->ops, g_object_ref (g_ptr_array_index (plan->commands, i)));
  return plan->ops;
}

static gboolean
_smarthost_plan_has_changes (SmarthostPlan *plan)
{
  GPtrArray *ops = plan_operations (plan);

  for (guint i = 0; i < ops->len; i++)
    {
      SmarthostOperation *op = g_ptr_array_index (ops, i);
      if (SMARTHOST_IS_FILE_OPERATION (op))
        return TRUE;
    }
  return FALSE;
}

static char *
_smarthost_plan_to_preview (SmarthostPlan *plan)
{
  return _smarthost_operations_preview (plan_operations (plan), plan->notes, plan->secrets);
}

static gboolean
_smarthost_plan_execute (SmarthostPlan  *plan,
                         GCancellable   *cancellable,
                         GError        **error)
{
  return _smarthost_operations_execute (plan_operations (plan), plan->journal_dir, plan->secrets, cancellable,
                                        error);
}

#define _smarthost_plan_recover _smarthost_journal_recover

/* --- the unified diff ------------------------------------------------------ */

static void
assert_diff (const char *old_text,
             const char *new_text,
             const char *expected)
{
  g_autofree char *diff = _smarthost_unified_diff ("a/f", "b/f", old_text, new_text);

  g_assert_cmpstr (diff, ==, expected);
}

static void
test_diff_small (void)
{
  assert_diff ("", "", "");
  assert_diff ("a\nb\n", "a\nb\n", "");
  assert_diff ("a\nb", "a\nb", "");

  /* insert */
  assert_diff ("a\nb\nc\n", "a\nb\nX\nc\n",
               "--- a/f\n+++ b/f\n"
               "@@ -1,3 +1,4 @@\n a\n b\n+X\n c\n");
  /* delete */
  assert_diff ("a\nb\nc\n", "a\nc\n",
               "--- a/f\n+++ b/f\n"
               "@@ -1,3 +1,2 @@\n a\n-b\n c\n");
  /* replace */
  assert_diff ("a\nb\nc\n", "a\nB\nc\n",
               "--- a/f\n+++ b/f\n"
               "@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
  /* from and to nothing */
  assert_diff ("", "x\ny\n",
               "--- a/f\n+++ b/f\n"
               "@@ -0,0 +1,2 @@\n+x\n+y\n");
  assert_diff ("x\ny\n", "",
               "--- a/f\n+++ b/f\n"
               "@@ -1,2 +0,0 @@\n-x\n-y\n");
  /* no trailing newline */
  assert_diff ("a\nb", "a\nc",
               "--- a/f\n+++ b/f\n"
               "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n");
  /* only the final newline changes */
  assert_diff ("a\nb", "a\nb\n",
               "--- a/f\n+++ b/f\n"
               "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
  /* appended at the end, beyond the context */
  assert_diff ("1\n2\n3\n4\n5\n", "1\n2\n3\n4\n5\n6\n",
               "--- a/f\n+++ b/f\n"
               "@@ -3,3 +3,4 @@\n 3\n 4\n 5\n+6\n");
}

static GString *
numbered_lines (guint n)
{
  GString *s = g_string_new (NULL);

  for (guint i = 1; i <= n; i++)
    g_string_append_printf (s, "%u\n", i);
  return s;
}

static void
test_diff_hunks (void)
{
  g_autoptr(GString) old_text = numbered_lines (20);
  g_autoptr(GString) merged = numbered_lines (20);
  g_autoptr(GString) split = numbered_lines (20);

  /* Changes 6 unchanged lines apart share a hunk (2 x 3 lines of context)... */
  g_string_replace (merged, "\n5\n", "\nfive\n", 1);
  g_string_replace (merged, "\n12\n", "\ntwelve\n", 1);
  assert_diff (old_text->str, merged->str,
               "--- a/f\n+++ b/f\n"
               "@@ -2,14 +2,14 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n 9\n 10\n 11\n-12\n+twelve\n 13\n 14\n 15\n");

  /* ...7 lines apart they do not. */
  g_string_replace (split, "\n5\n", "\nfive\n", 1);
  g_string_replace (split, "\n13\n", "\nthirteen\n", 1);
  assert_diff (old_text->str, split->str,
               "--- a/f\n+++ b/f\n"
               "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
               "@@ -10,7 +10,7 @@\n 10\n 11\n 12\n-13\n+thirteen\n 14\n 15\n 16\n");
}

/* A file that is new, or gone, is one hunk of all its lines (written
 * without splitting the text into lines first: the same as before). */
static void
test_diff_whole_file (void)
{
  static const struct { const char *old_text, *new_text, *diff; } cases[] = {
    { "", "a\nb\n", "--- old\n+++ new\n@@ -0,0 +1,2 @@\n+a\n+b\n" },
    { "", "a\nb", "--- old\n+++ new\n@@ -0,0 +1,2 @@\n+a\n+b\n\\ No newline at end of file\n" },
    { "", "\n", "--- old\n+++ new\n@@ -0,0 +1,1 @@\n+\n" },
    { "", "x", "--- old\n+++ new\n@@ -0,0 +1,1 @@\n+x\n\\ No newline at end of file\n" },
    { "", "\n\nz\xff\n", "--- old\n+++ new\n@@ -0,0 +1,3 @@\n+\n+\n+z\\xFF\n" },
    { "a\nb\n", "", "--- old\n+++ new\n@@ -1,2 +0,0 @@\n-a\n-b\n" },
    { "a\nb", "", "--- old\n+++ new\n@@ -1,2 +0,0 @@\n-a\n-b\n\\ No newline at end of file\n" },
    { "", "", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *diff = _smarthost_unified_diff ("old", "new", cases[i].old_text, cases[i].new_text);
      g_assert_cmpstr (diff, ==, cases[i].diff);
    }
}

/* Applies @diff to @old_text with patch(1) and checks that it gives
 * @new_text: the diff is one that real tools accept. */
static void
check_with_patch (const char *tmpdir,
                  const char *old_text,
                  const char *new_text)
{
  g_autofree char *old_path = g_build_filename (tmpdir, "old", NULL);
  g_autofree char *out_path = g_build_filename (tmpdir, "out", NULL);
  g_autofree char *diff_path = g_build_filename (tmpdir, "diff", NULL);
  g_autofree char *diff = _smarthost_unified_diff ("old", "new", old_text, new_text);
  g_autofree char *result = NULL;
  g_autofree char *err = NULL;
  const char *argv[] = { "/usr/bin/patch", "-s", "-f", "-o", out_path, old_path, diff_path, NULL };
  int status = -1;

  if (*diff == '\0')
    {
      g_assert_cmpstr (old_text, ==, new_text);
      return;
    }
  write_file (old_path, old_text, 0644);
  write_file (diff_path, diff, 0644);
  g_unlink (out_path);
  g_assert_true (_smarthost_run (argv, NULL, &status, NULL, &err, NULL));
  if (status != 0)
    g_error ("patch failed (%s) on:\n%s", err, diff);
  result = read_file (out_path);
  if (!g_str_equal (result, new_text))
    g_error ("patch gave\n%s\ninstead of\n%s\nfrom\n%s\napplied to\n%s", result, new_text, diff, old_text);
}

static char *
random_text (GRand *rand,
             guint  n)
{
  static const char *words[] = { "alpha", "beta", "gamma", "delta", "# comment", "", "relayhost = x" };
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    g_string_append_printf (s, "%s\n", words[g_rand_int_range (rand, 0, G_N_ELEMENTS (words))]);
  if (s->len && g_rand_boolean (rand) && g_rand_boolean (rand))
    g_string_truncate (s, s->len - 1);
  return g_string_free (s, FALSE);
}

static void
test_diff_patch_roundtrip (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tmpdir = g_dir_make_tmp ("test-plan-XXXXXX", &error);
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());

  g_assert_no_error (error);
  if (!g_file_test ("/usr/bin/patch", G_FILE_TEST_IS_EXECUTABLE))
    {
      rm_rf (tmpdir);
      g_test_skip ("patch(1) is not installed");
      return;
    }
  for (guint round = 0; round < 40; round++)
    {
      g_autofree char *a = random_text (rand, g_rand_int_range (rand, 0, 30));
      g_autofree char *b = NULL;
      g_auto(GStrv) lines = _smarthost_split_lines (a, NULL);
      GString *s = g_string_new (NULL);

      /* Derive b from a by random edits so that the diff has context. */
      for (guint i = 0; lines[i]; i++)
        {
          gint32 r = g_rand_int_range (rand, 0, 10);
          if (r == 0)
            continue;                                   /* delete */
          if (r == 1)
            g_string_append (s, "inserted\n");          /* insert */
          if (r == 2)
            g_string_append (s, "replaced\n");          /* replace */
          else
            g_string_append (s, lines[i]);
        }
      b = g_string_free (s, FALSE);
      check_with_patch (tmpdir, a, b);
      check_with_patch (tmpdir, b, a);
    }
  rm_rf (tmpdir);
}

/* --- executing plans ----------------------------------------------------- */

typedef struct {
  char *dir;
  SmarthostPlan *plan;
  guint step_calls;
} Fixture;

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fx->dir = g_dir_make_tmp ("test-plan-XXXXXX", &error);
  g_assert_no_error (error);
  fx->plan = _smarthost_plan_new ();
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  _smarthost_plan_free (fx->plan);
  rm_rf (fx->dir);
  g_assert_false (g_file_test (fx->dir, G_FILE_TEST_EXISTS));
  g_free (fx->dir);
}

static char *
path_in (Fixture    *fx,
         const char *name)
{
  return g_build_filename (fx->dir, name, NULL);
}

static gboolean
step_ok (gpointer       user_data,
         GCancellable  *cancellable,
         GError       **error)
{
  Fixture *fx = user_data;

  fx->step_calls++;
  return TRUE;
}

static gboolean
step_fail (gpointer       user_data,
           GCancellable  *cancellable,
           GError       **error)
{
  Fixture *fx = user_data;

  fx->step_calls++;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
               "validate: postconf says user:hunter2 is wrong");
  return FALSE;
}

static void
test_execute_create (Fixture       *fx,
                     gconstpointer  data)
{
  g_autofree char *sub = path_in (fx, "own");
  g_autofree char *secret = g_build_filename (sub, "passwd", NULL);
  g_autofree char *plain = path_in (fx, "plain.cf");
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  /* The build records the mode the new file has before it is put in place. */
  const char *argv[] = { "/bin/sh", "-c", "stat -c %a \"$0\" > \"$0.db\"", "{}", NULL };
  const char *outputs[] = { ".db", NULL };
  g_autofree char *db = g_strconcat (secret, ".db", NULL);
  g_autofree char *db_contents = NULL;
  mode_t old_umask = umask (0);   /* the widest umask: the mode must not rely on it */

  _smarthost_plan_add_directory (fx->plan, sub, 0700);
  _smarthost_plan_add_file (fx->plan, secret, NULL, "@example.com user:hunter2\n", 0600, NULL, NULL);
  _smarthost_plan_set_build (fx->plan, secret, argv, outputs);
  _smarthost_plan_add_file (fx->plan, plain, NULL, "a = b\n", 0644, NULL, NULL);
  _smarthost_plan_add_step (fx->plan, "ok", step_ok, fx, NULL);
  g_assert_true (_smarthost_plan_has_changes (fx->plan));

  g_assert_true (_smarthost_plan_execute (fx->plan, NULL, &error));
  umask (old_umask);
  g_assert_no_error (error);
  g_assert_cmpuint (fx->step_calls, ==, 1);

  g_assert_cmpuint (file_mode (sub), ==, 0700);
  g_assert_cmpuint (file_mode (secret), ==, 0600);
  g_assert_cmpuint (file_mode (plain), ==, 0644);
  contents = read_file (secret);
  g_assert_cmpstr (contents, ==, "@example.com user:hunter2\n");
  db_contents = read_file (db);
  g_assert_cmpstr (db_contents, ==, "600\n");
  assert_no_leftovers (fx->dir);
}

static void
test_execute_replace_keeps_owner_mode (Fixture       *fx,
                                       gconstpointer  data)
{
  g_autofree char *main_cf = path_in (fx, "main.cf");
  g_autofree char *custom = path_in (fx, "custom.cf");
  g_autofree char *secret = path_in (fx, "passwd");
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  gboolean root = geteuid () == 0;
  struct stat st;

  write_file (main_cf, "old\n", 0644);
  write_file (custom, "old\n", 0640);
  write_file (secret, "old\n", 0644);
  if (root)
    g_assert_cmpint (chown (main_cf, 1, 2), ==, 0);

  _smarthost_plan_add_file (fx->plan, main_cf, "old\n", "new\n", 0644, NULL, NULL);
  _smarthost_plan_add_file (fx->plan, custom, "old\n", "new\n", 0644, NULL, NULL);
  /* A secrets file is tightened to its mode, whatever it was. */
  _smarthost_plan_add_file (fx->plan, secret, "old\n", "new\n", 0600, NULL, NULL);
  g_assert_true (_smarthost_plan_execute (fx->plan, NULL, &error));
  g_assert_no_error (error);

  contents = read_file (main_cf);
  g_assert_cmpstr (contents, ==, "new\n");
  g_assert_cmpint (lstat (main_cf, &st), ==, 0);
  g_assert_cmpuint (st.st_mode & 07777, ==, 0644);
  if (root)
    {
      g_assert_cmpuint (st.st_uid, ==, 1);
      g_assert_cmpuint (st.st_gid, ==, 2);
    }
  g_assert_cmpuint (file_mode (custom), ==, 0640);
  g_assert_cmpuint (file_mode (secret), ==, 0600);
  assert_no_leftovers (fx->dir);
}

static void
test_execute_delete (Fixture       *fx,
                     gconstpointer  data)
{
  g_autofree char *map = path_in (fx, "map");
  g_autofree char *db = path_in (fx, "map.db");
  g_autofree char *other = path_in (fx, "other");
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "/bin/cp", "{}", "{}.db", NULL };
  const char *outputs[] = { ".db", NULL };

  write_file (map, "k v\n", 0600);
  write_file (db, "k v\n", 0600);
  write_file (other, "keep\n", 0644);

  _smarthost_plan_add_file (fx->plan, map, "k v\n", NULL, 0600, NULL, NULL);
  _smarthost_plan_set_build (fx->plan, map, argv, outputs);
  g_assert_true (_smarthost_plan_execute (fx->plan, NULL, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (map, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (db, G_FILE_TEST_EXISTS));
  g_assert_true (g_file_test (other, G_FILE_TEST_EXISTS));
  assert_no_leftovers (fx->dir);
}

static void
test_execute_build (Fixture       *fx,
                    gconstpointer  data)
{
  g_autofree char *map = path_in (fx, "map");
  g_autofree char *db = path_in (fx, "map.db");
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "/bin/cp", "{}", "{}.db", NULL };
  const char *outputs[] = { ".db", NULL };
  g_autofree char *preview = NULL;

  write_file (map, "k old\n", 0600);
  write_file (db, "stale\n", 0600);
  _smarthost_plan_add_file (fx->plan, map, "k old\n", "k new\n", 0600, NULL, NULL);
  _smarthost_plan_set_build (fx->plan, map, argv, outputs);
  /* Attaching a build to a file that is not in the plan does nothing. */
  _smarthost_plan_set_build (fx->plan, "/nonexistent/file", argv, outputs);

  preview = _smarthost_plan_to_preview (fx->plan);
  {
    g_autofree char *expected = g_strdup_printf ("# runs: /bin/cp %s %s.db\n", map, map);
    g_assert_nonnull (strstr (preview, expected));
  }

  g_assert_true (_smarthost_plan_execute (fx->plan, NULL, &error));
  g_assert_no_error (error);
  contents = read_file (db);
  g_assert_cmpstr (contents, ==, "k new\n");
  g_clear_pointer (&contents, g_free);
  contents = read_file (map);
  g_assert_cmpstr (contents, ==, "k new\n");
  assert_no_leftovers (fx->dir);
}

/* The tree every rollback test starts from, and a plan that changes all of
 * it: replaces a file, replaces a map and its table, deletes a file,
 * creates a file and a directory with a file in it. */
static void
setup_rollback (Fixture *fx)
{
  g_autofree char *main_cf = path_in (fx, "main.cf");
  g_autofree char *map = path_in (fx, "map");
  g_autofree char *db = path_in (fx, "map.db");
  g_autofree char *gone = path_in (fx, "gone.cf");
  g_autofree char *fresh = path_in (fx, "fresh.cf");
  g_autofree char *sub = path_in (fx, "own");
  g_autofree char *sub_file = g_build_filename (sub, "passwd", NULL);
  const char *argv[] = { "/bin/cp", "{}", "{}.db", NULL };
  const char *outputs[] = { ".db", NULL };

  write_file (main_cf, "# admin's main.cf\nmyhostname = a\n", 0644);
  write_file (map, "k old\n", 0600);
  write_file (db, "old table\n", 0600);
  write_file (gone, "going\n", 0644);

  _smarthost_plan_add_directory (fx->plan, sub, 0700);
  _smarthost_plan_add_file (fx->plan, sub_file, NULL, "@x.com user:hunter2\n", 0600, NULL, NULL);
  _smarthost_plan_set_build (fx->plan, sub_file, argv, outputs);
  _smarthost_plan_add_file (fx->plan, map, "k old\n", "k new\n", 0600, NULL, NULL);
  _smarthost_plan_set_build (fx->plan, map, argv, outputs);
  _smarthost_plan_add_file (fx->plan, fresh, NULL, "fresh\n", 0644, NULL, NULL);
  _smarthost_plan_add_file (fx->plan, main_cf, "# admin's main.cf\nmyhostname = a\n",
                            "# admin's main.cf\nmyhostname = b\n", 0644, NULL, NULL);
  _smarthost_plan_add_file (fx->plan, gone, "going\n", NULL, 0644, NULL, NULL);
  _smarthost_plan_add_secret (fx->plan, "hunter2");
}

static void
test_rollback_failing_step (Fixture       *fx,
                            gconstpointer  data)
{
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(GError) error = NULL;

  setup_rollback (fx);
  _smarthost_plan_add_step (fx->plan, "first", step_ok, fx, NULL);
  _smarthost_plan_add_step (fx->plan, "validate", step_fail, fx, NULL);
  _smarthost_plan_add_step (fx->plan, "never", step_ok, fx, NULL);
  before = snapshot (fx->dir);

  g_assert_false (_smarthost_plan_execute (fx->plan, NULL, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_assert_cmpstr (error->message, ==, "nothing was changed: validate: postconf says user:" SMARTHOST_PASSWORD_MASK " is wrong");
  g_assert_cmpuint (fx->step_calls, ==, 2);

  after = snapshot (fx->dir);
  assert_same_snapshot (before, after);
  assert_no_leftovers (fx->dir);
}

/* A step that fails after it has made the backup of main.cf something a
 * rollback will not put back (a directory where the file was). */
static gboolean
step_spoil_backup (gpointer       user_data,
                   GCancellable  *cancellable,
                   GError       **error)
{
  Fixture *fx = user_data;
  g_autofree char *backup = path_in (fx, ".main.cf.smarthost-old");

  g_assert_cmpint (unlink (backup), ==, 0);
  g_assert_cmpint (mkdir (backup, 0700), ==, 0);
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "validate: refused");
  return FALSE;
}

/* An undo that fails is PARTIAL, never "nothing was changed". */
static void
test_rollback_that_fails_is_partial (Fixture       *fx,
                                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *backup = path_in (fx, ".main.cf.smarthost-old");

  setup_rollback (fx);
  _smarthost_plan_add_step (fx->plan, "validate", step_spoil_backup, fx, NULL);
  g_assert_false (_smarthost_plan_execute (fx->plan, NULL, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_PARTIAL);
  g_assert_null (strstr (error->message, "nothing was changed"));
  g_assert_nonnull (strstr (error->message, "main.cf"));
  g_assert_nonnull (strstr (error->message, "validate: refused"));
  g_assert_null (strstr (error->message, "hunter2"));
  g_assert_cmpint (rmdir (backup), ==, 0);
}

static void
test_rollback_failing_build (Fixture       *fx,
                             gconstpointer  data)
{
  g_autofree char *last = path_in (fx, "last");
  /* Prints its input, secret included, and fails. */
  const char *argv[] = { "/bin/sh", "-c", "cat \"$0\" >&2; exit 3", "{}", NULL };
  const char *outputs[] = { ".db", NULL };
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(GError) error = NULL;

  setup_rollback (fx);
  _smarthost_plan_add_file (fx->plan, last, NULL, "@y.com user:hunter2\n", 0600, NULL, NULL);
  _smarthost_plan_set_build (fx->plan, last, argv, outputs);
  _smarthost_plan_add_step (fx->plan, "never", step_ok, fx, NULL);
  before = snapshot (fx->dir);

  g_assert_false (_smarthost_plan_execute (fx->plan, NULL, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_assert_true (g_str_has_prefix (error->message, "nothing was changed: "));
  g_assert_nonnull (strstr (error->message, "failed with status 3"));
  g_assert_nonnull (strstr (error->message, "@y.com user:" SMARTHOST_PASSWORD_MASK));
  g_assert_null (strstr (error->message, "hunter2"));
  g_assert_cmpuint (fx->step_calls, ==, 0);

  after = snapshot (fx->dir);
  assert_same_snapshot (before, after);
  assert_no_leftovers (fx->dir);
}

static void
test_rollback_missing_build_output (Fixture       *fx,
                                    gconstpointer  data)
{
  g_autofree char *last = path_in (fx, "last");
  const char *argv[] = { "/bin/true", "{}", NULL };
  const char *outputs[] = { ".db", NULL };
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(GError) error = NULL;

  setup_rollback (fx);
  _smarthost_plan_add_file (fx->plan, last, NULL, "x\n", 0600, NULL, NULL);
  _smarthost_plan_set_build (fx->plan, last, argv, outputs);
  before = snapshot (fx->dir);

  g_assert_false (_smarthost_plan_execute (fx->plan, NULL, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_assert_true (g_str_has_prefix (error->message, "nothing was changed: "));
  g_assert_nonnull (strstr (error->message, "did not produce"));
  after = snapshot (fx->dir);
  assert_same_snapshot (before, after);
}

static void
test_rollback_missing_program (Fixture       *fx,
                               gconstpointer  data)
{
  g_autofree char *last = path_in (fx, "last");
  const char *argv[] = { "/nonexistent/postmap", "{}", NULL };
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(GError) error = NULL;

  setup_rollback (fx);
  _smarthost_plan_add_file (fx->plan, last, NULL, "x\n", 0600, NULL, NULL);
  _smarthost_plan_set_build (fx->plan, last, argv, NULL);
  before = snapshot (fx->dir);

  g_assert_false (_smarthost_plan_execute (fx->plan, NULL, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_assert_true (g_str_has_prefix (error->message, "nothing was changed: "));
  after = snapshot (fx->dir);
  assert_same_snapshot (before, after);
}

static void
test_execute_cancelled (Fixture       *fx,
                        gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(GError) error = NULL;

  setup_rollback (fx);
  _smarthost_plan_add_step (fx->plan, "never", step_ok, fx, NULL);
  before = snapshot (fx->dir);
  g_cancellable_cancel (cancellable);

  g_assert_false (_smarthost_plan_execute (fx->plan, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (g_str_has_prefix (error->message, "nothing was changed: "));
  g_assert_cmpuint (fx->step_calls, ==, 0);
  after = snapshot (fx->dir);
  assert_same_snapshot (before, after);
}

static void
test_execute_removes_stale_leftovers (Fixture       *fx,
                                      gconstpointer  data)
{
  g_autofree char *target = path_in (fx, "main.cf");
  g_autofree char *stale_new = path_in (fx, ".main.cf.smarthost-new");
  g_autofree char *stale_old = path_in (fx, ".main.cf.smarthost-old");
  g_autoptr(GError) error = NULL;

  write_file (target, "a\n", 0644);
  write_file (stale_new, "crashed\n", 0644);
  write_file (stale_old, "crashed\n", 0644);
  _smarthost_plan_add_file (fx->plan, target, "a\n", "b\n", 0644, NULL, NULL);
  g_assert_true (_smarthost_plan_execute (fx->plan, NULL, &error));
  g_assert_no_error (error);
  assert_no_leftovers (fx->dir);
}

static void
test_unchanged_file_not_added (Fixture       *fx,
                               gconstpointer  data)
{
  g_autofree char *preview = NULL;

  _smarthost_plan_add_file (fx->plan, "/x/same", "a\n", "a\n", 0644, NULL, NULL);
  _smarthost_plan_add_file (fx->plan, "/x/absent", NULL, NULL, 0644, NULL, NULL);
  g_assert_false (_smarthost_plan_has_changes (fx->plan));
  preview = _smarthost_plan_to_preview (fx->plan);
  g_assert_cmpstr (preview, ==, "# no change\n");
}

static void
test_preview (Fixture       *fx,
              gconstpointer  data)
{
  g_autofree char *sub = path_in (fx, "own");
  g_autofree char *secret = g_build_filename (sub, "passwd", NULL);
  g_autofree char *other = path_in (fx, "other");
  g_autofree char *main_cf = path_in (fx, "main.cf");
  g_autofree char *preview = NULL;
  g_autofree char *expected_dir = NULL;
  g_autofree char *expected_pw = NULL;

  _smarthost_plan_add_directory (fx->plan, sub, 0700);
  /* Only the password changes: the masked texts are equal. */
  _smarthost_plan_add_file (fx->plan, secret, "@a.com user:old-Secret\n", "@a.com user:new-Secret\n", 0600,
                            "@a.com user:********\n", "@a.com user:********\n");
  /* A user and a password change: the masked diff shows the user. */
  _smarthost_plan_add_file (fx->plan, other, "@b.com bob:old-Secret\n", "@b.com carol:new-Secret\n", 0600,
                            "@b.com bob:********\n", "@b.com carol:********\n");
  _smarthost_plan_add_file (fx->plan, main_cf, "a = 1\n", "a = 2\n", 0644, NULL, NULL);
  _smarthost_plan_add_note (fx->plan, "main.cf: %s was defined %u times", "relayhost", 2);
  _smarthost_plan_add_step (fx->plan, "postconf (validate)", step_ok, fx, NULL);
  preview = _smarthost_plan_to_preview (fx->plan);

  g_assert_null (strstr (preview, "Secret"));
  expected_pw = g_strdup_printf ("# %s: a password changes (not shown)\n", secret);
  g_assert_nonnull (strstr (preview, expected_pw));
  g_assert_nonnull (strstr (preview, "-@b.com bob:********\n+@b.com carol:********\n"));
  g_assert_nonnull (strstr (preview, "-a = 1\n+a = 2\n"));
  expected_dir = g_strdup_printf ("# creates directory %s (mode 0700)\n", sub);
  g_assert_nonnull (strstr (preview, expected_dir));
  g_assert_nonnull (strstr (preview, "# note: main.cf: relayhost was defined 2 times\n"));
  g_assert_nonnull (strstr (preview, "# runs: postconf (validate)\n"));
  g_assert_null (strstr (preview, "# no change"));
  /* Previewing touches nothing. */
  g_assert_false (g_file_test (sub, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (fx->step_calls, ==, 0);
}

static void
test_preview_new_and_deleted (Fixture       *fx,
                              gconstpointer  data)
{
  g_autofree char *preview = NULL;

  _smarthost_plan_add_file (fx->plan, "/cfg/new", NULL, "x\n", 0644, NULL, NULL);
  _smarthost_plan_add_file (fx->plan, "/cfg/old", "y\n", NULL, 0644, NULL, NULL);
  preview = _smarthost_plan_to_preview (fx->plan);
  g_assert_cmpstr (preview, ==,
                   "--- /dev/null\n+++ /cfg/new\n@@ -0,0 +1,1 @@\n+x\n"
                   "--- /cfg/old\n+++ /dev/null\n@@ -1,1 +0,0 @@\n-y\n");
}

/* --- the journal: crash safety ------------------------------------------- */

static void
assert_no_journal (Fixture *fx)
{
  g_autofree char *j1 = path_in (fx, ".smarthost-journal");
  g_autofree char *j2 = path_in (fx, ".smarthost-journal.committed");
  g_autofree char *j3 = path_in (fx, ".smarthost-journal.new");

  g_assert_false (g_file_test (j1, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (j2, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (j3, G_FILE_TEST_EXISTS));
}

static void
test_journal_commit (Fixture       *fx,
                     gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *map = path_in (fx, "map");
  g_autofree char *contents = NULL;

  setup_rollback (fx);
  _smarthost_plan_set_journal (fx->plan, fx->dir);
  _smarthost_plan_add_step (fx->plan, "ok", step_ok, fx, NULL);
  g_assert_true (_smarthost_plan_execute (fx->plan, NULL, &error));
  g_assert_no_error (error);
  contents = read_file (map);
  g_assert_cmpstr (contents, ==, "k new\n");
  assert_no_leftovers (fx->dir);
  assert_no_journal (fx);
}

static void
test_journal_rollback_failing_step (Fixture       *fx,
                                    gconstpointer  data)
{
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(GError) error = NULL;

  setup_rollback (fx);
  _smarthost_plan_set_journal (fx->plan, fx->dir);
  _smarthost_plan_add_step (fx->plan, "validate", step_fail, fx, NULL);
  before = snapshot (fx->dir);
  g_assert_false (_smarthost_plan_execute (fx->plan, NULL, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_assert_true (g_str_has_prefix (error->message, "nothing was changed: "));
  after = snapshot (fx->dir);
  assert_same_snapshot (before, after);
  assert_no_journal (fx);
}

/* What a commit killed after two of its renames leaves. */
static void
write_interrupted_commit (Fixture    *fx,
                          const char *journal_name)
{
  g_autofree char *main_cf = path_in (fx, "main.cf");
  g_autofree char *main_old = path_in (fx, ".main.cf.smarthost-old");
  g_autofree char *fresh = path_in (fx, "fresh.cf");
  g_autofree char *fresh_old = path_in (fx, ".fresh.cf.smarthost-old");
  g_autofree char *master = path_in (fx, "master.cf");
  g_autofree char *master_old = path_in (fx, ".master.cf.smarthost-old");
  g_autofree char *master_new = path_in (fx, ".master.cf.smarthost-new");
  g_autofree char *journal = path_in (fx, journal_name);
  g_autofree char *main_new = path_in (fx, ".main.cf.smarthost-new");
  g_autofree char *fresh_new = path_in (fx, ".fresh.cf.smarthost-new");
  g_autofree char *text = NULL;

  write_file (main_old, "old main\n", 0644);
  write_file (main_cf, "new main\n", 0644);          /* renamed into place */
  write_file (fresh, "new file\n", 0644);            /* did not exist before */
  write_file (master, "old master\n", 0644);
  g_assert_cmpint (link (master, master_old), ==, 0); /* backed up, not yet replaced */
  write_file (master_new, "new master\n", 0644);
  text = g_strdup_printf ("smarthost-journal 1\n"
                          "file\t1\t%s\t%s\t%s\n"
                          "file\t0\t%s\t%s\t%s\n"
                          "file\t1\t%s\t%s\t%s\n"
                          "end\n",
                          main_cf, main_old, main_new,
                          fresh, fresh_old, fresh_new,
                          master, master_old, master_new);
  write_file (journal, text, 0600);
}

static void
test_journal_recover_rolls_back (Fixture       *fx,
                                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *main_cf = path_in (fx, "main.cf");
  g_autofree char *master = path_in (fx, "master.cf");
  g_autofree char *fresh = path_in (fx, "fresh.cf");
  g_autofree char *c1 = NULL;
  g_autofree char *c2 = NULL;

  write_interrupted_commit (fx, ".smarthost-journal");
  g_assert_true (_smarthost_plan_recover (fx->dir, FALSE, 5, NULL, &error));
  g_assert_no_error (error);
  c1 = read_file (main_cf);
  c2 = read_file (master);
  g_assert_cmpstr (c1, ==, "old main\n");
  g_assert_cmpstr (c2, ==, "old master\n");
  g_assert_false (g_file_test (fresh, G_FILE_TEST_EXISTS));
  assert_no_leftovers (fx->dir);
  assert_no_journal (fx);
  /* Nothing to do a second time. */
  g_assert_true (_smarthost_plan_recover (fx->dir, TRUE, 5, NULL, &error));
  g_assert_no_error (error);
}

static void
test_journal_recover_rolls_forward (Fixture       *fx,
                                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *main_cf = path_in (fx, "main.cf");
  g_autofree char *c1 = NULL;

  write_interrupted_commit (fx, ".smarthost-journal.committed");
  g_assert_true (_smarthost_plan_recover (fx->dir, FALSE, 5, NULL, &error));
  g_assert_no_error (error);
  c1 = read_file (main_cf);
  g_assert_cmpstr (c1, ==, "new main\n");
  assert_no_leftovers (fx->dir);
  assert_no_journal (fx);
}

static void
test_journal_damaged (Fixture       *fx,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;
  g_autofree char *journal = path_in (fx, ".smarthost-journal");
  g_autofree char *main_cf = path_in (fx, "main.cf");
  g_autofree char *text = g_strdup_printf ("smarthost-journal 1\nfile\t1\t%s\t/etc/passwd\t\nend\n", main_cf);
  /* (Paths that name nothing, should the check fail: a test never
   * risks a file outside its folder.) */
  g_autofree char *outside = g_strdup ("smarthost-journal 1\nfile\t0\t/nonexistent-smarthost-test/x\t"
                                       "/nonexistent-smarthost-test/.x.smarthost-old\t\nend\n");
  g_autofree char *dotdot = g_strdup_printf ("smarthost-journal 1\ndir\t%s/sub/../../nonexistent-smarthost-test\n"
                                             "end\n", fx->dir);
  g_autofree char *backslash = g_strdup_printf ("smarthost-journal 1\ndir\t%s/a\\\nend\n", fx->dir);

  /* Only files of its own directory, and fields as they were written. */
  for (guint i = 0; i < 3; i++)
    {
      write_file (journal, i == 0 ? outside : i == 1 ? dotdot : backslash, 0600);
      g_assert_false (_smarthost_plan_recover (fx->dir, FALSE, 5, NULL, &error));
      g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
      g_assert_nonnull (strstr (error->message, "damaged"));
      g_clear_error (&error);
    }

  write_file (main_cf, "a\n", 0644);
  write_file (journal, text, 0600);
  before = snapshot (fx->dir);
  g_assert_false (_smarthost_plan_recover (fx->dir, FALSE, 5, NULL, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "damaged"));
  after = snapshot (fx->dir);
  assert_same_snapshot (before, after);

  /* A commit refuses to run over it. */
  g_clear_error (&error);
  _smarthost_plan_set_journal (fx->plan, fx->dir);
  _smarthost_plan_add_file (fx->plan, main_cf, "a\n", "b\n", 0644, NULL, NULL);
  g_assert_false (_smarthost_plan_execute (fx->plan, NULL, &error));
  g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
  g_clear_pointer (&after, g_hash_table_unref);
  after = snapshot (fx->dir);
  assert_same_snapshot (before, after);
}

static void
test_journal_recover_nothing (Fixture       *fx,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) before = snapshot (fx->dir);
  g_autoptr(GHashTable) after = NULL;

  g_assert_true (_smarthost_plan_recover (fx->dir, FALSE, 5, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (_smarthost_plan_recover (fx->dir, TRUE, 5, NULL, &error));
  g_assert_no_error (error);
  after = snapshot (fx->dir);
  assert_same_snapshot (before, after);
}

/* --- the programs a plan runs -------------------------------------------- */

/* A program that hangs is stopped at the timeout, whether it keeps its
 * output open, closes it, or was asked for none. */
static void
test_run_timeout (void)
{
  const char *keeps[] = { "/bin/sh", "-c", "sleep 30", NULL };
  const char *closes[] = { "/bin/sh", "-c", "exec >&- 2>&-; sleep 30", NULL };
  const char * const *cases[] = { keeps, closes, keeps };
  const char *fine[] = { "/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL };
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = -1;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *o = NULL;
      gint64 start = g_get_monotonic_time ();

      g_assert_false (_smarthost_run_full (cases[i], 1, NULL, &status, i < 2 ? &o : NULL, NULL, &error));
      g_assert_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED);
      g_assert_nonnull (strstr (error->message, "did not finish within 1 s"));
      g_assert_cmpint (g_get_monotonic_time () - start, <, 15 * G_USEC_PER_SEC);
    }
  g_assert_true (_smarthost_run_full (fine, 5, NULL, &status, &out, &err, NULL));
  g_assert_cmpint (status, ==, 3);
  g_assert_cmpstr (out, ==, "out\n");
  g_assert_cmpstr (err, ==, "err\n");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/plan/diff/small", test_diff_small);
  g_test_add_func ("/plan/diff/hunks", test_diff_hunks);
  g_test_add_func ("/plan/diff/whole-file", test_diff_whole_file);
  g_test_add_func ("/plan/diff/patch-roundtrip", test_diff_patch_roundtrip);
  g_test_add_func ("/plan/run/timeout", test_run_timeout);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/plan/execute/create", test_execute_create);
  ADD ("/plan/execute/replace-keeps-owner-mode", test_execute_replace_keeps_owner_mode);
  ADD ("/plan/execute/delete", test_execute_delete);
  ADD ("/plan/execute/build", test_execute_build);
  ADD ("/plan/execute/stale-leftovers", test_execute_removes_stale_leftovers);
  ADD ("/plan/execute/cancelled", test_execute_cancelled);
  ADD ("/plan/rollback/failing-step", test_rollback_failing_step);
  ADD ("/plan/rollback/undo-fails-is-partial", test_rollback_that_fails_is_partial);
  ADD ("/plan/rollback/failing-build", test_rollback_failing_build);
  ADD ("/plan/rollback/missing-build-output", test_rollback_missing_build_output);
  ADD ("/plan/rollback/missing-program", test_rollback_missing_program);
  ADD ("/plan/preview/masked", test_preview);
  ADD ("/plan/preview/new-and-deleted", test_preview_new_and_deleted);
  ADD ("/plan/preview/no-change", test_unchanged_file_not_added);
  ADD ("/plan/journal/commit", test_journal_commit);
  ADD ("/plan/journal/rollback-failing-step", test_journal_rollback_failing_step);
  ADD ("/plan/journal/recover-rolls-back", test_journal_recover_rolls_back);
  ADD ("/plan/journal/recover-rolls-forward", test_journal_recover_rolls_forward);
  ADD ("/plan/journal/damaged", test_journal_damaged);
  ADD ("/plan/journal/recover-nothing", test_journal_recover_nothing);
#undef ADD

  return g_test_run ();
}
