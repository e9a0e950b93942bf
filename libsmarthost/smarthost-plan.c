/* smarthost-plan.c: preview and all-or-nothing execution of a change
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smarthost-error.h"
#include "smarthost-files-private.h"
#include "smarthost-plan-private.h"
#include "smarthost-util-private.h"

/*
 * Implementation notes
 *
 * A commit replaces several files (the maps and their .db tables, then
 * master.cf, then main.cf; deletions last). No file system renames several
 * files at once, so atomicity comes from a journal and recovery:
 *
 *  0. The journal, ".smarthost-journal" in the journal directory (the
 *     Postfix configuration directory, which commits lock), lists the
 *     directories the commit creates and, for every target (each file and
 *     each build output), whether it exists now, its backup
 *     ".NAME.smarthost-old" and the new file ".NAME.smarthost-new[.db]"
 *     that replaces it (none for a deletion). It is written under a
 *     temporary name, fsynced and renamed into place before anything else.
 *  1. Every new file is written beside its target as ".NAME.smarthost-new",
 *     created with O_EXCL and its final mode from the start (a secrets file
 *     is never readable by others, not even briefly), fsynced, then built
 *     (postmap makes ".NAME.smarthost-new.db"). Builds run side by side,
 *     each started as soon as its file is written, and are waited for in
 *     order; postmap of a large map is most of a commit's time.
 *  2. Every existing target is hard-linked to its backup. All backups are
 *     made before the first rename, so that "has a backup" means "may have
 *     been replaced", and "existed, no backup" means "untouched".
 *  3. Every new file is renamed over its target, deletions unlinked, in the
 *     journal's order; directories are fsynced.
 *  4. The steps run (validation with postconf, reload).
 *  5. Commit point: the journal is renamed to ".smarthost-journal.committed".
 *  6. Backups are removed and the committed journal last.
 *
 * If anything fails in-process, the same rollback that recovery uses
 * restores every target from the journal. Recovery (_smarthost_plan_recover)
 * runs under the lock whenever a commit starts, and from every read of the
 * Postfix backend when it finds a journal (a read looks with two lstat()
 * calls and takes the lock only then, so it also waits for a commit in
 * progress). It goes one way, decided by the journal's name: an
 * uncommitted journal is rolled BACK (every backup renamed over its target,
 * every target that did not exist removed, every new file and created
 * directory removed); a committed one is rolled FORWARD (backups removed).
 * Both are idempotent, so a crash during recovery is recovered by the next.
 * A crash before the commit point therefore always ends in the old state,
 * even after the reload: the commit did not report success, so it did not
 * happen.
 *
 * What "exactly the old or exactly the new state" means here: the files
 * Postfix reads (main.cf, master.cf, every map source and its .db) have, as
 * a whole, either all their old bytes and modes (old files are restored by
 * rename, so as the same inodes) or all their new ones; absent files are
 * absent. Leftovers (".smarthost-new", ".smarthost-old", ".smarthost-journal*")
 * may exist right after a crash; Postfix never reads them (no parameter
 * names them) and the next commit or read removes them.
 *
 * The limits, honestly:
 *  - Between the first and the last rename of step 3 the files Postfix
 *    reads are a mix of old and new, and a Postfix daemon that opens them
 *    then sees that mix. A crash there leaves the mix on disk until the
 *    next commit or read through the library rolls it back. Outside that
 *    window (a few renames, microseconds) the directory is exactly old or
 *    exactly new even before recovery.
 *  - A crash after the reload and before the commit point rolls the files
 *    back while the running Postfix has already loaded the new main.cf and
 *    master.cf; it reads the restored maps by itself, and the next commit
 *    that changes anything reloads it.
 *  - Durability against power loss relies on fsync of files and
 *    directories in this order; a kill (the tested case) needs none of it.
 *  - A build command is killed with us (PR_SET_PDEATHSIG), so that it
 *    does not write its ".smarthost-new.db" after recovery. The signal
 *    reaches it a moment after our death, though, so a rollback removes
 *    new files twice (before and after its flushes) and looks again in a
 *    directory it created; should a file outlive even that, the next
 *    commit of that map removes it.
 *
 * Fault points (fault_point_names below, tests only) let a test kill the
 * process with SIGKILL at each of these moments.
 */

typedef struct {
  char *path;
  gboolean existed;
  gboolean old_borrowed;   /* old_contents belongs to the caller */
  char *old_contents;
  char *new_contents;   /* NULL: delete */
  guint mode;
  char *masked_old;
  char *masked_new;
  char **build_argv;    /* "{}" stands for the new file's path */
  char **outputs;       /* suffixes of files the build produces */
} PlanFile;

typedef struct {
  char *description;
  SmarthostPlanStepFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
} PlanStep;

typedef struct {
  char *path;
  guint mode;
} PlanDir;

struct _SmarthostPlan
{
  GPtrArray *dirs;
  GPtrArray *files;
  GPtrArray *steps;
  GPtrArray *notes;
  GPtrArray *secrets;
  GPtrArray *borrowed_secrets;  /* owned by the caller, who outlives the plan */
  char *journal_dir;    /* NULL: no journal */
};

static void
plan_file_free (gpointer data)
{
  PlanFile *f = data;

  g_free (f->path);
  if (!f->old_borrowed)
    _smarthost_secret_free (f->old_contents);
  _smarthost_secret_free (f->new_contents);
  g_free (f->masked_old);
  g_free (f->masked_new);
  g_strfreev (f->build_argv);
  g_strfreev (f->outputs);
  g_free (f);
}

static void
plan_step_free (gpointer data)
{
  PlanStep *s = data;

  g_free (s->description);
  if (s->destroy)
    s->destroy (s->user_data);
  g_free (s);
}

static void
plan_dir_free (gpointer data)
{
  PlanDir *d = data;

  g_free (d->path);
  g_free (d);
}

SmarthostPlan *
_smarthost_plan_new (void)
{
  SmarthostPlan *plan = g_new0 (SmarthostPlan, 1);

  plan->dirs = g_ptr_array_new_with_free_func (plan_dir_free);
  plan->files = g_ptr_array_new_with_free_func (plan_file_free);
  plan->steps = g_ptr_array_new_with_free_func (plan_step_free);
  plan->notes = g_ptr_array_new_with_free_func (g_free);
  plan->secrets = g_ptr_array_new_with_free_func ((GDestroyNotify) _smarthost_secret_free);
  plan->borrowed_secrets = g_ptr_array_new ();
  return plan;
}

void
_smarthost_plan_free (SmarthostPlan *plan)
{
  if (plan == NULL)
    return;
  g_ptr_array_unref (plan->dirs);
  g_ptr_array_unref (plan->files);
  g_ptr_array_unref (plan->steps);
  g_ptr_array_unref (plan->notes);
  g_ptr_array_unref (plan->secrets);
  g_ptr_array_unref (plan->borrowed_secrets);
  g_free (plan->journal_dir);
  g_free (plan);
}

void
_smarthost_plan_add_directory (SmarthostPlan *plan,
                               const char    *path,
                               guint          mode)
{
  PlanDir *d = g_new0 (PlanDir, 1);

  d->path = g_strdup (path);
  d->mode = mode;
  g_ptr_array_add (plan->dirs, d);
}

/* Adds a file the plan changes. @old_contents is NULL when the file does not
 * exist, @new_contents NULL to delete it. Files that do not change are not
 * added. @masked_old and @masked_new, when given, are shown in previews in
 * place of the real contents. */
void
_smarthost_plan_add_file (SmarthostPlan *plan,
                          const char    *path,
                          const char    *old_contents,
                          const char    *new_contents,
                          guint          mode,
                          const char    *masked_old,
                          const char    *masked_new)
{
  _smarthost_plan_add_file_take (plan, path, g_strdup (old_contents), FALSE, g_strdup (new_contents), mode,
                                 g_strdup (masked_old), g_strdup (masked_new));
}

/* The same without copies, for the large files of a commit: the plan takes
 * @new_contents, @masked_old and @masked_new (freeing them at once when
 * the file does not change), and @old_contents too unless @old_borrowed,
 * in which case the caller keeps it alive as long as the plan. */
void
_smarthost_plan_add_file_take (SmarthostPlan *plan,
                               const char    *path,
                               char          *old_contents,
                               gboolean       old_borrowed,
                               char          *new_contents,
                               guint          mode,
                               char          *masked_old,
                               char          *masked_new)
{
  PlanFile *f;

  if (g_strcmp0 (old_contents, new_contents) == 0)
    {
      if (!old_borrowed)
        _smarthost_secret_free (old_contents);
      _smarthost_secret_free (new_contents);
      g_free (masked_old);
      g_free (masked_new);
      return;
    }

  f = g_new0 (PlanFile, 1);
  f->path = g_strdup (path);
  f->existed = old_contents != NULL;
  f->old_contents = old_contents;
  f->old_borrowed = old_borrowed;
  f->new_contents = new_contents;
  f->mode = mode;
  f->masked_old = masked_old;
  f->masked_new = masked_new;
  g_ptr_array_add (plan->files, f);
}

static PlanFile *
find_file (SmarthostPlan *plan,
           const char    *path)
{
  for (guint i = 0; i < plan->files->len; i++)
    {
      PlanFile *f = g_ptr_array_index (plan->files, i);
      if (g_str_equal (f->path, path))
        return f;
    }
  return NULL;
}

/* Attaches a build command to a file of the plan; "{}" in @argv stands for
 * the new file. Each of @output_suffixes names a file the command makes
 * beside its input (".db" for postmap's hash tables); these outputs are put
 * in place, backed up and restored together with the file. When the file is
 * deleted, its outputs are deleted too. */
void
_smarthost_plan_set_build (SmarthostPlan      *plan,
                           const char         *path,
                           const char * const *argv,
                           const char * const *output_suffixes)
{
  PlanFile *f = find_file (plan, path);

  if (f == NULL)
    return;
  g_strfreev (f->build_argv);
  g_strfreev (f->outputs);
  f->build_argv = g_strdupv ((char **) argv);
  f->outputs = g_strdupv ((char **) output_suffixes);
}

void
_smarthost_plan_add_step (SmarthostPlan         *plan,
                          const char            *description,
                          SmarthostPlanStepFunc  func,
                          gpointer               user_data,
                          GDestroyNotify         destroy)
{
  PlanStep *s = g_new0 (PlanStep, 1);

  s->description = g_strdup (description);
  s->func = func;
  s->user_data = user_data;
  s->destroy = destroy;
  g_ptr_array_add (plan->steps, s);
}

void
_smarthost_plan_add_note (SmarthostPlan *plan,
                          const char    *format,
                          ...)
{
  va_list args;

  va_start (args, format);
  g_ptr_array_add (plan->notes, g_strdup_vprintf (format, args));
  va_end (args);
}

/* Registers a secret that must never appear in an error message. */
void
_smarthost_plan_add_secret (SmarthostPlan *plan,
                            const char    *secret)
{
  if (secret != NULL && *secret != '\0')
    g_ptr_array_add (plan->secrets, g_strdup (secret));
}

/* The same for a secret the caller keeps alive as long as the plan. */
void
_smarthost_plan_add_secret_borrowed (SmarthostPlan *plan,
                                     const char    *secret)
{
  if (secret != NULL && *secret != '\0')
    g_ptr_array_add (plan->borrowed_secrets, (gpointer) secret);
}

/* Every secret of the plan, for redaction (only on the way to an error). */
static GPtrArray *
all_secrets (SmarthostPlan *plan)
{
  GPtrArray *all = g_ptr_array_sized_new (plan->secrets->len + plan->borrowed_secrets->len);

  for (guint i = 0; i < plan->secrets->len; i++)
    g_ptr_array_add (all, g_ptr_array_index (plan->secrets, i));
  for (guint i = 0; i < plan->borrowed_secrets->len; i++)
    g_ptr_array_add (all, g_ptr_array_index (plan->borrowed_secrets, i));
  return all;
}

gboolean
_smarthost_plan_has_changes (SmarthostPlan *plan)
{
  return plan->files->len > 0;
}

static char *
build_argv_for (PlanFile   *f,
                const char *input)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) argv = NULL;

  for (guint i = 0; f->build_argv[i]; i++)
    {
      g_autoptr(GString) arg = g_string_new (f->build_argv[i]);
      g_string_replace (arg, "{}", input, 0);
      g_strv_builder_add (builder, arg->str);
    }
  argv = g_strv_builder_end (builder);
  return _smarthost_argv_to_string ((const char * const *) argv);
}

char *
_smarthost_plan_to_preview (SmarthostPlan *plan)
{
  GString *out = g_string_new (NULL);
  g_autoptr(GPtrArray) secrets = NULL;
  g_autoptr(SmarthostRedactor) redactor = NULL;   /* built once for every file */
  gboolean any_command = FALSE;

  for (guint i = 0; i < plan->files->len; i++)
    {
      PlanFile *f = g_ptr_array_index (plan->files, i);
      const char *old_text = f->masked_old ? f->masked_old : f->old_contents;
      const char *new_text = f->masked_new ? f->masked_new : f->new_contents;
      g_autofree char *diff = NULL;

      diff = _smarthost_unified_diff (f->existed ? f->path : "/dev/null",
                                      f->new_contents ? f->path : "/dev/null",
                                      old_text ? old_text : "",
                                      new_text ? new_text : "");
      if (*diff == '\0')
        g_string_append_printf (out, "# %s: a password changes (not shown)\n", f->path);
      else if (f->masked_old == NULL && f->masked_new == NULL)
        {
          /* A file shown as it is may still hold one of the plan's
           * secrets, written there by hand (main.cf with an inline: table
           * of passwords, as context of the change): mask them too. */
          if (redactor == NULL)
            {
              secrets = all_secrets (plan);
              redactor = _smarthost_redactor_new (secrets);
            }
          _smarthost_redactor_append (redactor, out, diff);
        }
      else
        g_string_append (out, diff);
    }

  for (guint i = 0; i < plan->dirs->len; i++)
    {
      PlanDir *d = g_ptr_array_index (plan->dirs, i);
      if (!g_file_test (d->path, G_FILE_TEST_IS_DIR))
        g_string_append_printf (out, "# creates directory %s (mode %04o)\n", d->path, d->mode);
    }

  for (guint i = 0; i < plan->notes->len; i++)
    g_string_append_printf (out, "# note: %s\n", (char *) g_ptr_array_index (plan->notes, i));

  for (guint i = 0; i < plan->files->len; i++)
    {
      PlanFile *f = g_ptr_array_index (plan->files, i);
      g_autofree char *cmd = NULL;
      if (f->build_argv == NULL || f->new_contents == NULL)
        continue;
      cmd = build_argv_for (f, f->path);
      g_string_append_printf (out, "# runs: %s\n", cmd);
      any_command = TRUE;
    }
  for (guint i = 0; i < plan->steps->len; i++)
    {
      PlanStep *s = g_ptr_array_index (plan->steps, i);
      g_string_append_printf (out, "# runs: %s\n", s->description);
      any_command = TRUE;
    }
  if (plan->files->len == 0 && !any_command)
    g_string_append (out, "# no change\n");
  return g_string_free (out, FALSE);
}

/* --- fault points (tests only) ------------------------------------------ */

/* Every fault point, in the order a commit reaches them. The environment
 * variable SMARTHOST_FAULT_POINT=NAME[:N] makes the process kill itself
 * with SIGKILL the N-th time (default: the first) it reaches NAME, in a
 * build configured with -Dfault_injection=true only. Keep
 * tests/e2e/test_crash.py in step with this list. */
static const char * const fault_point_names[] = {
  "journal",  /* the journal is in place; nothing else is changed yet */
  "mkdir",    /* after each directory the commit creates */
  "write",    /* after each new file is written (.NAME.smarthost-new; flushed unless built) */
  "build",    /* after each build command (postmap) has made its outputs */
  "backup",   /* after each hard link of an old target to .NAME.smarthost-old */
  "rename",   /* after each new file or build output is renamed over its target */
  "delete",   /* after each target the commit deletes is removed */
  "step",     /* after each step; in the Postfix backend 1 validates, 2 reloads */
  "commit",   /* the journal is marked committed; backups are still there */
  "cleanup",  /* backups and new files are gone; only the committed journal is left */
  "recover",  /* after each target a rollback (after a failure, or recovery) restores */
  NULL
};

/* Only builds configured with -Dfault_injection=true (the test builds of
 * scripts/build.sh) honour SMARTHOST_FAULT_POINT: an installed smarthostctl
 * runs as root, and an environment variable that makes it kill itself
 * halfway through a commit has no business there. Elsewhere fault_point()
 * is empty and the compiler drops it. */
#ifdef SMARTHOST_FAULT_INJECTION
static const char *fault_name;   /* NULL: no fault point is armed */
static guint fault_countdown;

static void
fault_init (void)
{
  const char *env = g_getenv ("SMARTHOST_FAULT_POINT");
  g_autofree char *name = NULL;
  const char *colon;
  guint64 n = 1;

  if (env == NULL || *env == '\0')
    return;
  colon = strchr (env, ':');
  name = colon ? g_strndup (env, colon - env) : g_strdup (env);
  if (colon != NULL && (!g_ascii_string_to_unsigned (colon + 1, 10, 1, G_MAXUINT, &n, NULL)))
    {
      g_warning ("SMARTHOST_FAULT_POINT=%s: the count must be a number from 1; ignored", env);
      return;
    }
  for (guint i = 0; fault_point_names[i]; i++)
    if (g_str_equal (fault_point_names[i], name))
      {
        fault_name = fault_point_names[i];
        fault_countdown = (guint) n;
        return;
      }
  g_warning ("SMARTHOST_FAULT_POINT=%s names no fault point; ignored", env);
}

/* For tests only (see fault_point_names): kills the process at @name when
 * SMARTHOST_FAULT_POINT asks for it. Otherwise one atomic load and a
 * branch. */
static void
fault_point (const char *name)
{
  static gsize initialized = 0;

  if (G_UNLIKELY (g_once_init_enter (&initialized)))
    {
      fault_init ();
      g_once_init_leave (&initialized, 1);
    }
  if (G_LIKELY (fault_name == NULL))
    return;
  if (g_str_equal (name, fault_name) && --fault_countdown == 0)
    raise (SIGKILL);
}
#else
static inline void
fault_point (const char *name)
{
  (void) fault_point_names;   /* kept in every build: it documents the points */
}
#endif

/* --- paths ---------------------------------------------------------------- */

static char *
sibling_path (const char *path,
              const char *suffix)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *name = g_strdup_printf (".%s.%s", base, suffix);

  return g_build_filename (dir, name, NULL);
}

static char *
tmp_path (const char *path)
{
  return sibling_path (path, "smarthost-new");
}

static char *
backup_path (const char *path)
{
  return sibling_path (path, "smarthost-old");
}

static gboolean
set_errno_error (GError    **error,
                 int         saved_errno,
                 const char *step,
                 const char *what,
                 const char *path)
{
  g_autofree char *shown = _smarthost_quote_path (path);

  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
               "%s: %s %s: %s", step, what, shown, g_strerror (saved_errno));
  return FALSE;
}

/* TRUE unless lstat() says for sure that nothing is there. */
static gboolean
path_present (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0 || errno != ENOENT;
}

static gboolean
fsync_path (const char *path,
            gboolean    directory)
{
  int fd = open (path, (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  int r;

  if (fd < 0)
    return FALSE;
  r = fsync (fd);
  close (fd);
  return r == 0;
}

static gboolean
write_all (int         fd,
           const char *p,
           gsize       left)
{
  while (left > 0)
    {
      ssize_t n = write (fd, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      p += n;
      left -= (gsize) n;
    }
  return TRUE;
}

/* --- the journal ---------------------------------------------------------- */

#define JOURNAL_NAME           ".smarthost-journal"
#define JOURNAL_COMMITTED_NAME ".smarthost-journal.committed"
#define JOURNAL_NEW_NAME       ".smarthost-journal.new"
#define JOURNAL_MAGIC          "smarthost-journal 1"

typedef struct {
  char *target;
  char *backup;       /* the hard link keeping the old target */
  char *source;       /* what is renamed over the target; NULL: deleted */
  gboolean existed;   /* the target existed when the journal was made */
} JournalEntry;

typedef struct {
  GPtrArray *dirs;    /* directories the commit creates */
  GPtrArray *entries;
} Journal;

static void
journal_entry_free (gpointer data)
{
  JournalEntry *e = data;

  g_free (e->target);
  g_free (e->backup);
  g_free (e->source);
  g_free (e);
}

static Journal *
journal_new (void)
{
  Journal *j = g_new0 (Journal, 1);

  j->dirs = g_ptr_array_new_with_free_func (g_free);
  j->entries = g_ptr_array_new_with_free_func (journal_entry_free);
  return j;
}

static void
journal_free (Journal *j)
{
  if (j == NULL)
    return;
  g_ptr_array_unref (j->dirs);
  g_ptr_array_unref (j->entries);
  g_free (j);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Journal, journal_free)

static char *
journal_to_string (Journal *j)
{
  GString *out = g_string_new (JOURNAL_MAGIC "\n");

  for (guint i = 0; i < j->dirs->len; i++)
    {
      g_autofree char *d = g_strescape (g_ptr_array_index (j->dirs, i), NULL);
      g_string_append_printf (out, "dir\t%s\n", d);
    }
  for (guint i = 0; i < j->entries->len; i++)
    {
      JournalEntry *e = g_ptr_array_index (j->entries, i);
      g_autofree char *target = g_strescape (e->target, NULL);
      g_autofree char *backup = g_strescape (e->backup, NULL);
      g_autofree char *source = g_strescape (e->source ? e->source : "", NULL);

      g_string_append_printf (out, "file\t%d\t%s\t%s\t%s\n", e->existed ? 1 : 0, target, backup, source);
    }
  g_string_append (out, "end\n");
  return g_string_free (out, FALSE);
}

/* A journal names only files beside its targets, with our prefixes: a
 * damaged one must not make recovery touch anything else. */
static gboolean
journal_entry_is_sane (JournalEntry *e)
{
  g_autofree char *backup = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *source_dir = NULL;
  g_autofree char *source_base = NULL;

  if (!g_path_is_absolute (e->target))
    return FALSE;
  backup = backup_path (e->target);
  if (!g_str_equal (backup, e->backup))
    return FALSE;
  if (e->source == NULL)
    return TRUE;
  dir = g_path_get_dirname (e->target);
  source_dir = g_path_get_dirname (e->source);
  source_base = g_path_get_basename (e->source);
  return g_str_equal (dir, source_dir) && source_base[0] == '.' &&
         strstr (source_base, ".smarthost-new") != NULL;
}

/* A field of a journal line, unescaped; FALSE for one no journal_write()
 * could have written (a lone backslash at its end). */
static gboolean
journal_field (const char  *field,
               char       **out)
{
  gsize len = strlen (field), slashes = 0;

  while (slashes < len && field[len - 1 - slashes] == '\\')
    slashes++;
  if (slashes % 2)
    return FALSE;
  *out = g_strcompress (field);
  return TRUE;
}

/* Whether @path is under @dir, with no "." or ".." component: a journal
 * names only files of the configuration directory it sits in, and a
 * damaged one must not make recovery remove anything else. */
static gboolean
journal_path_inside (const char *dir,
                     const char *path)
{
  gsize n = strlen (dir);

  if (path == NULL)
    return TRUE;
  if (strncmp (path, dir, n) != 0 || path[n] != '/' || strstr (path, "/./") != NULL ||
      strstr (path, "/../") != NULL || g_str_has_suffix (path, "/.") || g_str_has_suffix (path, "/.."))
    return FALSE;
  return TRUE;
}

static gboolean journal_directory_is_trusted (const char  *directory,
                                              GError     **error);

/* Opens a journal if it can be trusted: a regular file of the running
 * user that no one else may write. */
static int
open_journal (const char  *path,
              struct stat *st,
              GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *shown = _smarthost_quote_path (path);
  int fd = _smarthost_open_regular (path, TRUE, st, NULL, &local_error);

  if (fd < 0)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "recover: %s; it was left alone", local_error->message);
      return -1;
    }
  if (st->st_uid != geteuid () || (st->st_mode & 022) != 0)
    {
      close (fd);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "recover: %s is not a journal of ours (it belongs to another user, or others may "
                   "write it), so it is not trusted and was left alone; if no commit of yours was "
                   "interrupted, another user planted it: remove it and find out who", shown);
      return -1;
    }
  return fd;
}

/*
 * _smarthost_plan_journal_is_trusted:
 * @path: a journal, as _smarthost_plan_find_interrupted() names it
 *
 * Tells whether recovery would trust @path (for the doctor, which reports
 * an untrusted journal differently from an interrupted commit).
 */
gboolean
_smarthost_plan_journal_is_trusted (const char  *path,
                                    GError     **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  struct stat st;
  int fd;

  if (!journal_directory_is_trusted (dir, error))
    return FALSE;
  fd = open_journal (path, &st, error);
  if (fd < 0)
    return FALSE;
  close (fd);
  return TRUE;
}

static Journal *
journal_load (const char  *path,
              GError     **error)
{
  g_autoptr(Journal) j = journal_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  gboolean ended = FALSE;
  guint n;

  /* Only a journal the running user wrote is trusted: in the hands of
   * another user, it would tell us which files to move over main.cf. */
  {
    struct stat st;
    int fd = open_journal (path, &st, error);

    if (fd < 0)
      return NULL;
    if (!_smarthost_read_fd (fd, path, (gsize) st.st_size, SMARTHOST_READ_JOURNAL_LIMIT, &text, NULL, &local_error))
      {
        close (fd);
        g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                     "recover: %s; it was left alone", local_error->message);
        return NULL;
      }
    close (fd);
  }
  lines = g_strsplit (text, "\n", 0);
  n = g_strv_length (lines);
  if (n == 0 || !g_str_equal (lines[0], JOURNAL_MAGIC))
    goto damaged;
  for (guint i = 1; i < n; i++)
    {
      g_auto(GStrv) fields = NULL;
      guint nf;

      if (ended)
        {
          if (*lines[i] != '\0')
            goto damaged;
          continue;
        }
      fields = g_strsplit (lines[i], "\t", 0);
      nf = g_strv_length (fields);
      if (nf == 1 && g_str_equal (fields[0], "end"))
        ended = TRUE;
      else if (nf == 2 && g_str_equal (fields[0], "dir"))
        {
          char *d;
          if (!journal_field (fields[1], &d))
            goto damaged;
          g_ptr_array_add (j->dirs, d);
          if (!g_path_is_absolute (d) || !journal_path_inside (dir, d))
            goto damaged;
        }
      else if (nf == 5 && g_str_equal (fields[0], "file") &&
               (g_str_equal (fields[1], "0") || g_str_equal (fields[1], "1")))
        {
          JournalEntry *e = g_new0 (JournalEntry, 1);
          g_ptr_array_add (j->entries, e);
          e->existed = fields[1][0] == '1';
          if (!journal_field (fields[2], &e->target) || !journal_field (fields[3], &e->backup) ||
              (*fields[4] && !journal_field (fields[4], &e->source)))
            goto damaged;
          if (!journal_entry_is_sane (e) || !journal_path_inside (dir, e->target) ||
              !journal_path_inside (dir, e->backup) || !journal_path_inside (dir, e->source))
            goto damaged;
        }
      else
        goto damaged;
    }
  if (!ended)
    goto damaged;
  return g_steal_pointer (&j);

damaged:
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
               "recover: %s is damaged, so an interrupted commit cannot be undone automatically; "
               "compare the files it lists with their .smarthost-old backups, then remove it", path);
  return NULL;
}

/* Writes the journal beside a temporary name, flushes it and renames it
 * into place: it is either all there or not at all. */
static gboolean
journal_write (Journal     *j,
               const char  *directory,
               GError     **error)
{
  g_autofree char *path = g_build_filename (directory, JOURNAL_NAME, NULL);
  g_autofree char *tmp = g_build_filename (directory, JOURNAL_NEW_NAME, NULL);
  g_autofree char *text = journal_to_string (j);
  int fd;

  unlink (tmp);
  fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return set_errno_error (error, errno, "journal", "cannot create", tmp);
  if (!write_all (fd, text, strlen (text)) || fsync (fd) != 0)
    {
      int saved = errno;
      close (fd);
      unlink (tmp);
      return set_errno_error (error, saved, "journal", "cannot write", tmp);
    }
  if (close (fd) != 0 || rename (tmp, path) != 0)
    {
      int saved = errno;
      unlink (tmp);
      return set_errno_error (error, saved, "journal", "cannot put in place", path);
    }
  fsync_path (directory, TRUE);
  return TRUE;
}

/* fsyncs every directory the journal touches, and @extra. */
static void
journal_sync (Journal    *j,
              const char *extra)
{
  g_autoptr(GHashTable) done = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < j->entries->len; i++)
    {
      JournalEntry *e = g_ptr_array_index (j->entries, i);
      char *dir = g_path_get_dirname (e->target);
      if (g_hash_table_add (done, dir))
        fsync_path (dir, TRUE);
    }
  for (guint i = 0; i < j->dirs->len; i++)
    {
      char *parent = g_path_get_dirname (g_ptr_array_index (j->dirs, i));
      if (g_hash_table_add (done, parent))
        fsync_path (parent, TRUE);
    }
  if (extra != NULL && g_hash_table_add (done, g_strdup (extra)))
    fsync_path (extra, TRUE);
}

static gboolean
note_failure (GString    *failures,
              const char *what,
              const char *path)
{
  if (failures->len)
    g_string_append (failures, "; ");
  g_string_append_printf (failures, "%s %s: %s", what, path, g_strerror (errno));
  return FALSE;
}

static void
note_failure_text (GString    *failures,
                   const char *what,
                   const char *path)
{
  if (failures->len)
    g_string_append (failures, "; ");
  g_string_append_printf (failures, "%s %s", what, path);
}

/* A backup is a hard link to a target as it was: a regular file, owned by
 * the running user or root, or by whoever owns the target (main.cf may
 * belong to another administrator). Anything else was not made by a
 * commit of ours and is never moved over a target. */
static gboolean
backup_is_trusted (JournalEntry *e)
{
  struct stat b, t;

  if (lstat (e->backup, &b) != 0 || !S_ISREG (b.st_mode))
    return FALSE;
  if (b.st_uid == geteuid () || b.st_uid == 0)
    return TRUE;
  return lstat (e->target, &t) == 0 && t.st_uid == b.st_uid;
}

/* Removes a new file of a commit, and what a build of it killed halfway
 * leaves beside it: Berkeley DB (postmap of a hash: map) builds
 * ".NAME.smarthost-new.db" in a temporary "__db..NAME.smarthost-new.db"
 * first, which holds the map's secrets too. */
static void
unlink_new_file (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *db_tmp = g_strconcat (dir, G_DIR_SEPARATOR_S, "__db.", base, NULL);

  unlink (path);
  unlink (db_tmp);
}

/* Removes a directory the commit created, if it is empty but for new
 * files of ours. A build command killed with the commit (SIGKILL reaches
 * it a moment after us) may still finish creating its output once the
 * rollback has removed it, so ours are looked for again, a few times;
 * anything else in the directory keeps it. */
static void
remove_created_dir (const char *path)
{
  for (guint attempt = 0; attempt < 5; attempt++)
    {
      g_autoptr(GDir) dir = NULL;
      const char *name;

      if (rmdir (path) == 0 || errno != ENOTEMPTY)
        return;
      dir = g_dir_open (path, 0, NULL);
      if (dir == NULL)
        return;
      while ((name = g_dir_read_name (dir)) != NULL)
        if (strstr (name, ".smarthost-new") != NULL)
          {
            g_autofree char *file = g_build_filename (path, name, NULL);
            unlink (file);
          }
      g_usleep (20 * 1000);
    }
}

/* Puts every target back as it was when the journal was made, and removes
 * what the commit added. It may be interrupted anywhere and run again: a
 * backup is renamed back over its target (a no-op while it is still the
 * same file), a target that did not exist is removed, and a target that
 * existed but has no backup was never replaced, because every backup is
 * made before the first rename. */
static gboolean
journal_roll_back (Journal  *j,
                   GError  **error)
{
  g_autoptr(GString) failures = g_string_new (NULL);

  for (guint i = j->entries->len; i-- > 0;)
    {
      JournalEntry *e = g_ptr_array_index (j->entries, i);

      if (path_present (e->backup))
        {
          if (!backup_is_trusted (e))
            note_failure_text (failures, "not restored from a backup that is not ours (left alone):", e->backup);
          else if (rename (e->backup, e->target) != 0)
            note_failure (failures, "cannot restore", e->target);
          else if (unlink (e->backup) != 0 && errno != ENOENT)
            note_failure (failures, "cannot remove", e->backup);
        }
      else if (!e->existed && unlink (e->target) != 0 && errno != ENOENT)
        note_failure (failures, "cannot remove", e->target);
      if (e->source != NULL && unlink (e->source) != 0 && errno != ENOENT)
        note_failure (failures, "cannot remove", e->source);
      if (e->source != NULL)
        unlink_new_file (e->source);
      fault_point ("recover");
    }
  journal_sync (j, NULL);
  /* Once more, after the flushes: a build killed with the commit may
   * have finished creating its output after the first pass. */
  for (guint i = 0; i < j->entries->len; i++)
    {
      JournalEntry *e = g_ptr_array_index (j->entries, i);
      if (e->source != NULL)
        unlink_new_file (e->source);
    }
  for (guint i = j->dirs->len; i-- > 0;)
    remove_created_dir (g_ptr_array_index (j->dirs, i));
  journal_sync (j, NULL);

  if (failures->len)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "cannot undo the interrupted change: %s", failures->str);
      return FALSE;
    }
  return TRUE;
}

/* The change is complete: removes the backups and any new file left. */
static void
journal_roll_forward (Journal *j)
{
  for (guint i = 0; i < j->entries->len; i++)
    {
      JournalEntry *e = g_ptr_array_index (j->entries, i);
      unlink (e->backup);
      if (e->source != NULL)
        unlink (e->source);
    }
  journal_sync (j, NULL);
}

static gboolean
remove_journal_file (const char  *directory,
                     const char  *name,
                     GError     **error)
{
  g_autofree char *path = g_build_filename (directory, name, NULL);

  if (unlink (path) != 0 && errno != ENOENT)
    return set_errno_error (error, errno, "recover", "cannot remove", path);
  return TRUE;
}

/* A journal in a directory that others can write may be anyone's: it
 * is reported and left alone. */
static gboolean
journal_directory_is_trusted (const char  *directory,
                              GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  if (_smarthost_check_trusted_directory (directory, "the directory", &local_error))
    return TRUE;
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
               "recover: the journal of an interrupted commit in %s is not trusted, so it was left alone: %s",
               directory, local_error->message);
  return FALSE;
}

/*
 * _smarthost_plan_recover:
 * @directory: the directory holding the journal (the one commits lock)
 * @locked: whether the caller holds the lock on @directory
 *
 * Finishes a commit that was interrupted (killed, or its machine lost
 * power) in @directory: an uncommitted journal is rolled back, restoring
 * every file as it was, a committed one rolled forward, removing the
 * backups. Either way every leftover is removed. Without @locked this only
 * looks for a journal, which costs two lstat() calls, and takes the lock
 * only if it finds one (waiting for a commit in progress to end).
 */
gboolean
_smarthost_plan_recover (const char    *directory,
                         gboolean       locked,
                         guint          lock_timeout,
                         GCancellable  *cancellable,
                         GError       **error)
{
  g_autofree char *journal_path = g_build_filename (directory, JOURNAL_NAME, NULL);
  g_autofree char *committed_path = g_build_filename (directory, JOURNAL_COMMITTED_NAME, NULL);
  gboolean have_journal = path_present (journal_path);
  gboolean have_committed = path_present (committed_path);

  if (!locked)
    {
      gboolean ok;
      int lock;

      if (!have_journal && !have_committed)
        return TRUE;
      if (!journal_directory_is_trusted (directory, error))
        return FALSE;
      lock = _smarthost_lock_directory_full (directory, FALSE, lock_timeout, cancellable, error);
      if (lock < 0)
        return FALSE;
      ok = _smarthost_plan_recover (directory, TRUE, lock_timeout, cancellable, error);
      _smarthost_unlock_directory (directory, lock);
      return ok;
    }
  if ((have_journal || have_committed) && !journal_directory_is_trusted (directory, error))
    return FALSE;

  if (have_journal)
    {
      g_autoptr(Journal) j = journal_load (journal_path, error);
      if (j == NULL || !journal_roll_back (j, error))
        return g_prefix_error (error, "%s: ", journal_path), FALSE;
      if (!remove_journal_file (directory, JOURNAL_NAME, error))
        return FALSE;
    }
  if (have_committed)
    {
      g_autoptr(Journal) j = journal_load (committed_path, error);
      if (j == NULL)
        return FALSE;
      journal_roll_forward (j);
      if (!remove_journal_file (directory, JOURNAL_COMMITTED_NAME, error))
        return FALSE;
    }
  if (!remove_journal_file (directory, JOURNAL_NEW_NAME, error))
    return FALSE;
  if (have_journal || have_committed)
    fsync_path (directory, TRUE);
  return TRUE;
}

/*
 * _smarthost_plan_find_interrupted:
 * @directory: the directory holding the journal
 *
 * For callers that promise to change nothing (a dry run, a diagnosis):
 * tells whether a commit was interrupted in @directory, without recovering
 * it. A commit still running is waited for (its journal is no sign of
 * trouble), under the same lock recovery takes.
 *
 * Returns: (transfer full) (nullable): the path of the journal an
 *   interrupted commit left, or %NULL when there is none (or on error)
 */
char *
_smarthost_plan_find_interrupted (const char    *directory,
                                  guint          lock_timeout,
                                  GCancellable  *cancellable,
                                  GError       **error)
{
  g_autofree char *journal_path = g_build_filename (directory, JOURNAL_NAME, NULL);
  g_autofree char *committed_path = g_build_filename (directory, JOURNAL_COMMITTED_NAME, NULL);
  int lock;

  if (!path_present (journal_path) && !path_present (committed_path))
    return NULL;
  /* A journal we would not trust is reported, not waited on: its lock
   * could be anyone's too. */
  if (_smarthost_check_trusted_directory (directory, "the directory", NULL))
    {
      lock = _smarthost_lock_directory_full (directory, FALSE, lock_timeout, cancellable, error);
      if (lock < 0)
        return NULL;
      _smarthost_unlock_directory (directory, lock);
    }
  if (path_present (journal_path))
    return g_steal_pointer (&journal_path);
  if (path_present (committed_path))
    return g_steal_pointer (&committed_path);
  return NULL;
}

/*
 * _smarthost_plan_set_journal:
 * @directory: (nullable): where the plan keeps its journal
 *
 * Makes the execution of @plan crash safe: it keeps a journal in
 * @directory, which the caller must have locked (with
 * _smarthost_lock_directory()) and recovered (with
 * _smarthost_plan_recover()) before computing the plan.
 */
void
_smarthost_plan_set_journal (SmarthostPlan *plan,
                             const char    *directory)
{
  g_free (plan->journal_dir);
  plan->journal_dir = g_strdup (directory);
}

/* --- execution ------------------------------------------------------------ */

static gboolean
write_new_file (PlanFile  *f,
                GError   **error)
{
  g_autofree char *tmp = tmp_path (f->path);
  struct stat st;
  guint mode;
  int fd;

  unlink (tmp);
  fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, f->mode & 0777);
  if (fd < 0)
    return set_errno_error (error, errno, "write", "cannot create", tmp);

  if (!write_all (fd, f->new_contents, strlen (f->new_contents)))
    {
      int saved = errno;
      close (fd);
      return set_errno_error (error, saved, "write", "cannot write", tmp);
    }

  /* A replaced file keeps its owner and mode (main.cf stays as the
   * administrator made it), unless it holds secrets (a mode that only the
   * owner may read): those always belong to the running user, with the
   * plan's mode, whoever owned the old one. The target was checked to be
   * a regular file (_smarthost_plan_check); lstat() is used again so that
   * a link planted since is never what the mode or owner come from. */
  mode = f->mode & 07777;
  if (f->existed && (f->mode & 0077) != 0 && lstat (f->path, &st) == 0)
    {
      if (!S_ISREG (st.st_mode))
        {
          close (fd);
          return set_errno_error (error, EINVAL, "write", "not a regular file:", f->path);
        }
      if (fchown (fd, st.st_uid, st.st_gid) != 0)
        {
          int saved = errno;
          close (fd);
          return set_errno_error (error, saved, "write", "cannot set the owner of", tmp);
        }
      mode = st.st_mode & 0777;
    }
  if (fchmod (fd, mode) != 0)
    {
      int saved = errno;
      close (fd);
      return set_errno_error (error, saved, "write", "cannot set the mode of", tmp);
    }
  /* A file that is built is flushed later, while its build runs. */
  if (f->build_argv == NULL && fsync (fd) != 0)
    {
      int saved = errno;
      close (fd);
      return set_errno_error (error, saved, "write", "cannot flush", tmp);
    }
  if (close (fd) != 0)
    return set_errno_error (error, errno, "write", "cannot close", tmp);
  return TRUE;
}

/* A build command started and not yet waited for. Builds run side by
 * side (postmap of each map is one process, most of a commit's time), and
 * are waited for in the plan's order. */
typedef struct {
  PlanFile *file;
  GSubprocess *proc;
  gboolean waited;   /* finish_build() saw it end */
} Build;

static void
build_free (gpointer data)
{
  Build *b = data;

  /* One not waited for is still running, or a zombie: stop it and reap
   * it before its files are removed. */
  if (b->proc != NULL && !b->waited)
    {
      g_subprocess_force_exit (b->proc);
      g_subprocess_wait (b->proc, NULL, NULL);
    }
  g_clear_object (&b->proc);
  g_free (b);
}

/* In the child: a build dies with the process that started it, so that
 * one killed in the middle of a commit leaves no build behind to write
 * its outputs after the recovery. */
static void
die_with_parent (gpointer user_data)
{
  pid_t parent = (pid_t) GPOINTER_TO_INT (user_data);

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent)
    _exit (127);
}

static gboolean
start_build (PlanFile   *f,
             GPtrArray  *builds,
             GError    **error)
{
  g_autofree char *tmp = tmp_path (f->path);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) argv = NULL;
  Build *b;

  for (guint i = 0; f->build_argv[i]; i++)
    {
      g_autoptr(GString) arg = g_string_new (f->build_argv[i]);
      g_string_replace (arg, "{}", tmp, 0);
      g_strv_builder_add (builder, arg->str);
    }
  argv = g_strv_builder_end (builder);

  /* As _smarthost_run(): standard input is /dev/null, output captured. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "MAIL_CONFIG");
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, GINT_TO_POINTER ((int) getpid ()), NULL);
  b = g_new0 (Build, 1);
  b->file = f;
  b->proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv, &local_error);
  if (b->proc == NULL)
    {
      g_autofree char *cmd = build_argv_for (f, f->path);
      g_free (b);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "%s: could not run %s: %s", cmd, argv[0], local_error->message);
      return FALSE;
    }
  g_ptr_array_add (builds, b);
  return TRUE;
}

static gboolean
finish_build (SmarthostPlan  *plan,
              Build          *b,
              GCancellable   *cancellable,
              GError        **error)
{
  PlanFile *f = b->file;
  g_autofree char *tmp = tmp_path (f->path);
  g_autofree char *cmd = build_argv_for (f, f->path);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) local_error = NULL;
  int status;

  if (!g_subprocess_communicate_utf8 (b->proc, NULL, cancellable, &out, &err, &local_error))
    {
      /* Cancelled, or its output unreadable: build_free() stops it. */
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                     "could not read the output of %s: %s", f->build_argv[0], local_error->message);
      g_prefix_error (error, "%s: ", cmd);
      return FALSE;
    }
  b->waited = TRUE;
  status = g_subprocess_get_if_exited (b->proc) ? g_subprocess_get_exit_status (b->proc)
                                                : 128 + g_subprocess_get_term_sig (b->proc);
  if (status != 0)
    {
      g_autoptr(GPtrArray) secrets = all_secrets (plan);
      g_autofree char *redacted = _smarthost_redact (g_strstrip (err), secrets);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "%s: failed with status %d: %s", cmd, status,
                   *redacted ? redacted : "(no message)");
      return FALSE;
    }
  for (guint i = 0; f->outputs && f->outputs[i]; i++)
    {
      g_autofree char *output = g_strconcat (tmp, f->outputs[i], NULL);
      if (!fsync_path (output, FALSE))
        return set_errno_error (error, errno, cmd, "did not produce", output);
    }
  return TRUE;
}

/* The paths a file of the plan puts in place: the file and its outputs,
 * outputs first so that a map's source is never newer than its table. */
static GPtrArray *
targets_of (PlanFile *f)
{
  GPtrArray *targets = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; f->outputs && f->outputs[i]; i++)
    g_ptr_array_add (targets, g_strconcat (f->path, f->outputs[i], NULL));
  g_ptr_array_add (targets, g_strdup (f->path));
  return targets;
}

/* Removes stale ".smarthost-new" and ".smarthost-old" files of @f that no
 * journal names (left by versions that kept none). */
static void
remove_leftovers (PlanFile *f)
{
  g_autoptr(GPtrArray) targets = targets_of (f);
  g_autofree char *tmp = tmp_path (f->path);

  for (guint i = 0; i < targets->len; i++)
    {
      const char *target = g_ptr_array_index (targets, i);
      g_autofree char *backup = backup_path (target);
      g_autofree char *tmp_out = g_strconcat (tmp, target + strlen (f->path), NULL);

      unlink (backup);
      unlink_new_file (tmp_out);
    }
}

/* The journal of @plan: the directories to create, then every target in
 * the order they are put in place (the file's outputs before the file;
 * new and changed files in the plan's order, deletions last). */
static Journal *
journal_of_plan (SmarthostPlan *plan)
{
  Journal *j = journal_new ();

  for (guint i = 0; i < plan->dirs->len; i++)
    {
      PlanDir *d = g_ptr_array_index (plan->dirs, i);
      if (!path_present (d->path))
        g_ptr_array_add (j->dirs, g_strdup (d->path));
    }
  for (guint pass = 0; pass < 2; pass++)
    for (guint i = 0; i < plan->files->len; i++)
      {
        PlanFile *f = g_ptr_array_index (plan->files, i);
        g_autoptr(GPtrArray) targets = NULL;
        g_autofree char *tmp = NULL;

        if ((f->new_contents == NULL) != (pass == 1))
          continue;
        targets = targets_of (f);
        tmp = tmp_path (f->path);
        for (guint k = 0; k < targets->len; k++)
          {
            const char *target = g_ptr_array_index (targets, k);
            JournalEntry *e = g_new0 (JournalEntry, 1);

            e->target = g_strdup (target);
            e->backup = backup_path (target);
            if (f->new_contents != NULL)
              e->source = g_strconcat (tmp, target + strlen (f->path), NULL);
            e->existed = path_present (target);
            g_ptr_array_add (j->entries, e);
          }
      }
  return j;
}

/*
 * _smarthost_plan_check:
 *
 * Checks that @plan can be carried out safely, before anything is
 * written (and for a dry run, so that it fails the way the commit would):
 *
 *  - every file it replaces is a regular file. A symbolic link is refused:
 *    replacing it atomically would replace the link, not the file it
 *    points to, leaving that file stale and the configuration in two
 *    places;
 *  - every directory it writes into, or keeps its journal in, can be
 *    trusted (_smarthost_check_trusted_directory): no other user can plant
 *    or swap a file there, or read the secrets through a directory of
 *    theirs.
 */
gboolean
_smarthost_plan_check (SmarthostPlan  *plan,
                       GError        **error)
{
  g_autoptr(GHashTable) checked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < plan->files->len; i++)
    {
      PlanFile *f = g_ptr_array_index (plan->files, i);
      struct stat st;

      if (lstat (f->path, &st) != 0)
        {
          if (errno == ENOENT && !f->existed)
            continue;
          return set_errno_error (error, errno, "check", "cannot look at", f->path);
        }
      if (S_ISLNK (st.st_mode))
        {
          g_autofree char *link = g_file_read_link (f->path, NULL);
          g_autofree char *target = link ? _smarthost_quote_path (link) : NULL;
          g_autofree char *shown = _smarthost_quote_path (f->path);
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                       "%s is a symbolic link%s%s. Changes are written beside a file "
                       "and renamed over it, which would replace the link and leave what it points to "
                       "stale, so links are not written through: replace the link by the file it points "
                       "to (cp --remove-destination \"$(readlink -f %s)\" %s), and keep the copy in "
                       "your managed tree up to date from there",
                       shown, target ? " to " : "", target ? target : "", shown, shown);
          return FALSE;
        }
      if (!S_ISREG (st.st_mode))
        return set_errno_error (error, EINVAL, "check", "not a regular file:", f->path);
    }

  for (guint i = 0; i < plan->files->len + plan->dirs->len + 1; i++)
    {
      g_autofree char *dir = NULL;
      const char *what = "the directory";

      struct stat st;

      if (i < plan->files->len)
        dir = g_path_get_dirname (((PlanFile *) g_ptr_array_index (plan->files, i))->path);
      else if (i < plan->files->len + plan->dirs->len)
        {
          PlanDir *d = g_ptr_array_index (plan->dirs, i - plan->files->len);

          if (lstat (d->path, &st) == 0 && !S_ISDIR (st.st_mode))
            return set_errno_error (error, ENOTDIR, "check", "cannot use directory", d->path);
          dir = g_strdup (d->path);
          what = "the directory that holds the secrets,";
        }
      else if (plan->journal_dir != NULL)
        dir = g_strdup (plan->journal_dir);
      /* A directory not there yet is made by us: the one it is made in is
       * what must be trusted. */
      while (dir != NULL && lstat (dir, &st) != 0 && errno == ENOENT && !g_str_equal (dir, "/"))
        {
          char *parent = g_path_get_dirname (dir);
          g_free (dir);
          dir = parent;
        }
      if (dir == NULL || g_hash_table_contains (checked, dir))
        continue;
      if (!_smarthost_check_trusted_directory (dir, what, error))
        return FALSE;
      g_hash_table_add (checked, g_steal_pointer (&dir));
    }
  return TRUE;
}

static gboolean
create_directories (SmarthostPlan  *plan,
                    GError        **error)
{
  for (guint i = 0; i < plan->dirs->len; i++)
    {
      PlanDir *d = g_ptr_array_index (plan->dirs, i);
      struct stat st;

      if (mkdir (d->path, d->mode) == 0)
        {
          if (chmod (d->path, d->mode) != 0)
            return set_errno_error (error, errno, "write", "cannot set the mode of", d->path);
          fault_point ("mkdir");
          continue;
        }
      if (errno != EEXIST)
        return set_errno_error (error, errno, "write", "cannot create directory", d->path);
      /* An existing directory is tightened, never loosened; one that is
       * not ours is never used (_smarthost_plan_check said why). */
      if (lstat (d->path, &st) != 0 || !S_ISDIR (st.st_mode))
        return set_errno_error (error, ENOTDIR, "write", "cannot use directory", d->path);
      if ((st.st_uid != geteuid () && st.st_uid != 0) || (st.st_mode & S_IWOTH) ||
          ((st.st_mode & S_IWGRP) && st.st_gid != 0))
        return set_errno_error (error, EPERM, "write", "will not write secrets into a directory another user "
                                "controls:", d->path);
      if ((st.st_mode & 07777 & ~d->mode) != 0 && chmod (d->path, st.st_mode & d->mode & 07777) != 0)
        return set_errno_error (error, errno, "write", "cannot set the mode of", d->path);
    }
  return TRUE;
}

gboolean
_smarthost_plan_execute (SmarthostPlan  *plan,
                         GCancellable   *cancellable,
                         GError        **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GError) rollback_error = NULL;
  g_autoptr(Journal) journal = NULL;
  g_autoptr(GPtrArray) builds = NULL;
  gboolean journaled = FALSE;

  if (plan->journal_dir != NULL)
    {
      g_autofree char *j1 = g_build_filename (plan->journal_dir, JOURNAL_NAME, NULL);
      g_autofree char *j2 = g_build_filename (plan->journal_dir, JOURNAL_COMMITTED_NAME, NULL);

      if (path_present (j1) || path_present (j2))
        {
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                       "nothing was changed: an interrupted commit in %s was not recovered",
                       plan->journal_dir);
          return FALSE;
        }
    }

  if (!_smarthost_plan_check (plan, error))
    return g_prefix_error (error, "nothing was changed: "), FALSE;

  /* 0. The journal: from now on, a crash is undone by the next recovery. */
  journal = journal_of_plan (plan);
  if (plan->journal_dir != NULL)
    {
      if (!journal_write (journal, plan->journal_dir, &local_error))
        goto fail;
      journaled = TRUE;
      fault_point ("journal");
    }

  if (!create_directories (plan, &local_error))
    goto fail;
  for (guint i = 0; i < plan->files->len; i++)
    remove_leftovers (g_ptr_array_index (plan->files, i));

  /* 1. Write every new file and start building what is built from it;
   * the builds run side by side while the next files are written, and
   * are waited for in order. */
  builds = g_ptr_array_new_with_free_func (build_free);
  for (guint i = 0; i < plan->files->len; i++)
    {
      PlanFile *f = g_ptr_array_index (plan->files, i);

      if (g_cancellable_set_error_if_cancelled (cancellable, &local_error))
        goto fail;
      if (f->new_contents == NULL)
        continue;
      if (!write_new_file (f, &local_error))
        goto fail;
      fault_point ("write");
      if (f->build_argv != NULL && !start_build (f, builds, &local_error))
        goto fail;
    }
  for (guint i = 0; i < builds->len; i++)
    {
      Build *b = g_ptr_array_index (builds, i);
      g_autofree char *tmp = tmp_path (b->file->path);

      /* The source, written without waiting for the disk, is flushed
       * while the build (and the next ones) run. */
      if (!fsync_path (tmp, FALSE))
        {
          set_errno_error (&local_error, errno, "write", "cannot flush", tmp);
          goto fail;
        }
      if (!finish_build (plan, b, cancellable, &local_error))
        goto fail;
      fault_point ("build");
    }
  g_clear_pointer (&builds, g_ptr_array_unref);

  if (g_cancellable_set_error_if_cancelled (cancellable, &local_error))
    goto fail;

  /* 2. Back up every existing target, all before the first rename, so
   * that a rollback can tell a replaced target (it has a backup) from one
   * not yet touched. From here on, cancellation is not honoured until the
   * steps, so that a commit is never left halfway. */
  for (guint i = 0; i < journal->entries->len; i++)
    {
      JournalEntry *e = g_ptr_array_index (journal->entries, i);

      if (!e->existed)
        continue;
      unlink (e->backup);
      if (link (e->target, e->backup) != 0)
        {
          set_errno_error (&local_error, errno, "backup", "cannot back up", e->target);
          goto fail;
        }
      fault_point ("backup");
    }
  journal_sync (journal, NULL);

  /* 3. Put them in place, in the journal's order. */
  for (guint i = 0; i < journal->entries->len; i++)
    {
      JournalEntry *e = g_ptr_array_index (journal->entries, i);

      if (e->source == NULL)
        {
          if (unlink (e->target) != 0 && errno != ENOENT)
            {
              set_errno_error (&local_error, errno, "install", "cannot remove", e->target);
              goto fail;
            }
          fault_point ("delete");
          continue;
        }
      if (rename (e->source, e->target) != 0)
        {
          set_errno_error (&local_error, errno, "install", "cannot rename into place", e->target);
          goto fail;
        }
      fault_point ("rename");
    }
  journal_sync (journal, NULL);

  /* 4. Validate, reload. */
  for (guint i = 0; i < plan->steps->len; i++)
    {
      PlanStep *s = g_ptr_array_index (plan->steps, i);
      if (!s->func (s->user_data, NULL, &local_error))
        {
          g_autoptr(GPtrArray) secrets = all_secrets (plan);
          g_autofree char *redacted = _smarthost_redact (local_error->message, secrets);
          g_clear_error (&local_error);
          g_set_error (&local_error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s", redacted);
          goto fail;
        }
      fault_point ("step");
    }

  /* 5. The commit point: once the journal is renamed, recovery keeps the
   * new files. */
  if (journaled)
    {
      g_autofree char *j1 = g_build_filename (plan->journal_dir, JOURNAL_NAME, NULL);
      g_autofree char *j2 = g_build_filename (plan->journal_dir, JOURNAL_COMMITTED_NAME, NULL);

      if (rename (j1, j2) != 0)
        {
          set_errno_error (&local_error, errno, "commit", "cannot rename", j1);
          goto fail;
        }
      fsync_path (plan->journal_dir, TRUE);
      fault_point ("commit");
    }

  /* 6. Clean up; a failure here changes nothing that Postfix reads. */
  journal_roll_forward (journal);
  fault_point ("cleanup");
  if (journaled)
    {
      remove_journal_file (plan->journal_dir, JOURNAL_COMMITTED_NAME, NULL);
      fsync_path (plan->journal_dir, TRUE);
    }
  return TRUE;

fail:
  /* Builds still running are stopped before their files are removed. */
  g_clear_pointer (&builds, g_ptr_array_unref);
  if (journal_roll_back (journal, &rollback_error) && journaled)
    {
      remove_journal_file (plan->journal_dir, JOURNAL_NAME, NULL);
      fsync_path (plan->journal_dir, TRUE);
    }
  if (local_error->domain == SMARTHOST_ERROR || g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_propagate_error (error, g_steal_pointer (&local_error));
  else
    g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s", local_error->message);
  if (rollback_error != NULL)
    {
      /* FAILED promises that nothing was changed; this is not that. */
      if (error != NULL && *error != NULL)
        {
          (*error)->domain = SMARTHOST_ERROR;
          (*error)->code = SMARTHOST_ERROR_PARTIAL;
        }
      if (journaled)
        g_prefix_error (error, "%s (the next commit or read finishes undoing it, from the journal in %s): ",
                        rollback_error->message, plan->journal_dir);
      else
        g_prefix_error (error, "%s: ", rollback_error->message);
      return FALSE;
    }
  g_prefix_error (error, "nothing was changed: ");
  return FALSE;
}
