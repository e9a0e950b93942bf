/* smarthost-plan.c: preview and all-or-nothing execution of a change
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smarthost-error.h"
#include "smarthost-plan-private.h"
#include "smarthost-private.h"

/*
 * Implementation notes
 *
 * Every new file is written as ".NAME.smarthost-new" in the directory of
 * the file it replaces, so that rename() is atomic. It is created with
 * O_EXCL and its final mode from the start, so a secrets file is never
 * readable by others, not even briefly. After an optional build command
 * (postmap) has produced its outputs from the new file, each existing
 * target is hard-linked to ".NAME.smarthost-old", every new file is renamed
 * over its target and the directories are fsynced. Then the steps run. If
 * anything fails, the backups are renamed back (or new targets removed),
 * which restores every file as it was. Leftover ".smarthost-new" and
 * ".smarthost-old" files from a crash are removed by the next execution
 * before it starts.
 */

typedef struct {
  char *path;
  gboolean existed;
  char *old_contents;
  char *new_contents;   /* NULL: delete */
  guint mode;
  char *masked_old;
  char *masked_new;
  char **build_argv;    /* "{}" stands for the new file's path */
  char **outputs;       /* suffixes of files the build produces */
  /* execution state */
  gboolean written;
  gboolean installed;
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
  gboolean created;
} PlanDir;

struct _SmarthostPlan
{
  GPtrArray *dirs;
  GPtrArray *files;
  GPtrArray *steps;
  GPtrArray *notes;
  GPtrArray *secrets;
};

static void
plan_file_free (gpointer data)
{
  PlanFile *f = data;

  g_free (f->path);
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
  PlanFile *f;

  if (g_strcmp0 (old_contents, new_contents) == 0)
    return;

  f = g_new0 (PlanFile, 1);
  f->path = g_strdup (path);
  f->existed = old_contents != NULL;
  f->old_contents = g_strdup (old_contents);
  f->new_contents = g_strdup (new_contents);
  f->mode = mode;
  f->masked_old = g_strdup (masked_old);
  f->masked_new = g_strdup (masked_new);
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

/* --- execution ------------------------------------------------------- */

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
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
               "%s: %s %s: %s", step, what, path, g_strerror (saved_errno));
  return FALSE;
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
write_new_file (PlanFile  *f,
                GError   **error)
{
  g_autofree char *tmp = tmp_path (f->path);
  const char *p = f->new_contents;
  gsize left = strlen (p);
  struct stat st;
  guint mode;
  int fd;

  unlink (tmp);
  fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, f->mode & 0777);
  if (fd < 0)
    return set_errno_error (error, errno, "write", "cannot create", tmp);
  f->written = TRUE;

  while (left > 0)
    {
      ssize_t n = write (fd, p, left);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          close (fd);
          return set_errno_error (error, saved, "write", "cannot write", tmp);
        }
      p += n;
      left -= (gsize) n;
    }

  /* A replaced file keeps its owner and, unless it holds secrets (a mode
   * that only the owner may read), its mode: main.cf stays as the
   * administrator made it. */
  mode = f->mode & 07777;
  if (f->existed && lstat (f->path, &st) == 0)
    {
      if (fchown (fd, st.st_uid, st.st_gid) != 0)
        {
          int saved = errno;
          close (fd);
          return set_errno_error (error, saved, "write", "cannot set the owner of", tmp);
        }
      if ((f->mode & 0077) != 0)
        mode = st.st_mode & 07777;
    }
  if (fchmod (fd, mode) != 0)
    {
      int saved = errno;
      close (fd);
      return set_errno_error (error, saved, "write", "cannot set the mode of", tmp);
    }
  if (fsync (fd) != 0)
    {
      int saved = errno;
      close (fd);
      return set_errno_error (error, saved, "write", "cannot flush", tmp);
    }
  if (close (fd) != 0)
    return set_errno_error (error, errno, "write", "cannot close", tmp);
  return TRUE;
}

static gboolean
run_build (SmarthostPlan *plan,
           PlanFile      *f,
           GCancellable  *cancellable,
           GError       **error)
{
  g_autofree char *tmp = tmp_path (f->path);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) argv = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autofree char *cmd = NULL;
  int status = 0;

  for (guint i = 0; f->build_argv[i]; i++)
    {
      g_autoptr(GString) arg = g_string_new (f->build_argv[i]);
      g_string_replace (arg, "{}", tmp, 0);
      g_strv_builder_add (builder, arg->str);
    }
  argv = g_strv_builder_end (builder);
  cmd = build_argv_for (f, f->path);

  if (!_smarthost_run ((const char * const *) argv, cancellable, &status, &out, &err, error))
    {
      g_prefix_error (error, "%s: ", cmd);
      return FALSE;
    }
  if (status != 0)
    {
      g_autofree char *redacted = _smarthost_redact (g_strstrip (err), plan->secrets);
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

static void
remove_leftovers (PlanFile *f)
{
  g_autoptr(GPtrArray) targets = targets_of (f);
  g_autofree char *tmp = tmp_path (f->path);

  unlink (tmp);
  for (guint i = 0; i < targets->len; i++)
    {
      const char *target = g_ptr_array_index (targets, i);
      g_autofree char *backup = backup_path (target);
      g_autofree char *tmp_out = NULL;

      unlink (backup);
      if (i + 1 < targets->len)
        {
          tmp_out = g_strconcat (tmp, target + strlen (f->path), NULL);
          unlink (tmp_out);
        }
    }
}

static void
sync_directories (SmarthostPlan *plan)
{
  g_autoptr(GHashTable) done = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < plan->files->len; i++)
    {
      PlanFile *f = g_ptr_array_index (plan->files, i);
      char *dir = g_path_get_dirname (f->path);
      if (g_hash_table_add (done, dir))
        fsync_path (dir, TRUE);
    }
}

static void
rollback (SmarthostPlan *plan)
{
  for (guint i = plan->files->len; i-- > 0;)
    {
      PlanFile *f = g_ptr_array_index (plan->files, i);
      g_autoptr(GPtrArray) targets = NULL;

      if (!f->installed)
        continue;
      targets = targets_of (f);
      for (guint j = 0; j < targets->len; j++)
        {
          const char *target = g_ptr_array_index (targets, j);
          g_autofree char *backup = backup_path (target);

          if (g_file_test (backup, G_FILE_TEST_EXISTS))
            {
              if (rename (backup, target) != 0)
                g_warning ("rollback: cannot restore %s from %s: %s",
                           target, backup, g_strerror (errno));
            }
          else
            unlink (target);
        }
      f->installed = FALSE;
    }
  sync_directories (plan);
  for (guint i = 0; i < plan->files->len; i++)
    remove_leftovers (g_ptr_array_index (plan->files, i));
  for (guint i = plan->dirs->len; i-- > 0;)
    {
      PlanDir *d = g_ptr_array_index (plan->dirs, i);
      if (d->created)
        rmdir (d->path);
    }
}

static gboolean
install_file (PlanFile  *f,
              GError   **error)
{
  g_autoptr(GPtrArray) targets = targets_of (f);
  g_autofree char *tmp = tmp_path (f->path);

  /* Back up every existing target first, so that a failure halfway through
   * can restore all of them. */
  for (guint i = 0; i < targets->len; i++)
    {
      const char *target = g_ptr_array_index (targets, i);
      g_autofree char *backup = backup_path (target);

      unlink (backup);
      if (link (target, backup) != 0 && errno != ENOENT)
        return set_errno_error (error, errno, "backup", "cannot back up", target);
    }

  f->installed = TRUE;
  for (guint i = 0; i < targets->len; i++)
    {
      const char *target = g_ptr_array_index (targets, i);
      g_autofree char *source = NULL;

      if (f->new_contents == NULL)
        {
          if (unlink (target) != 0 && errno != ENOENT)
            return set_errno_error (error, errno, "install", "cannot remove", target);
          continue;
        }
      source = g_strconcat (tmp, target + strlen (f->path), NULL);
      if (rename (source, target) != 0)
        return set_errno_error (error, errno, "install", "cannot rename into place", target);
    }
  return TRUE;
}

gboolean
_smarthost_plan_execute (SmarthostPlan  *plan,
                         GCancellable   *cancellable,
                         GError        **error)
{
  g_autoptr(GError) local_error = NULL;

  for (guint i = 0; i < plan->dirs->len; i++)
    {
      PlanDir *d = g_ptr_array_index (plan->dirs, i);
      if (mkdir (d->path, d->mode) == 0)
        {
          d->created = TRUE;
          if (chmod (d->path, d->mode) != 0)
            {
              set_errno_error (&local_error, errno, "write", "cannot set the mode of", d->path);
              goto fail;
            }
        }
      else if (errno != EEXIST)
        {
          set_errno_error (&local_error, errno, "write", "cannot create directory", d->path);
          goto fail;
        }
      else
        {
          struct stat st;
          /* An existing directory is tightened, never loosened. */
          if (lstat (d->path, &st) != 0 || !S_ISDIR (st.st_mode))
            {
              set_errno_error (&local_error, ENOTDIR, "write", "cannot use directory", d->path);
              goto fail;
            }
          if ((st.st_mode & 07777 & ~d->mode) != 0 && chmod (d->path, st.st_mode & d->mode & 07777) != 0)
            {
              set_errno_error (&local_error, errno, "write", "cannot set the mode of", d->path);
              goto fail;
            }
        }
    }

  for (guint i = 0; i < plan->files->len; i++)
    remove_leftovers (g_ptr_array_index (plan->files, i));

  /* 1. Write every new file and build what is built from it. */
  for (guint i = 0; i < plan->files->len; i++)
    {
      PlanFile *f = g_ptr_array_index (plan->files, i);

      if (g_cancellable_set_error_if_cancelled (cancellable, &local_error))
        goto fail;
      if (f->new_contents == NULL)
        continue;
      if (!write_new_file (f, &local_error))
        goto fail;
      if (f->build_argv != NULL && !run_build (plan, f, cancellable, &local_error))
        goto fail;
    }

  if (g_cancellable_set_error_if_cancelled (cancellable, &local_error))
    goto fail;

  /* 2. Put them in place; from here on, cancellation is not honoured until
   * the steps, so that a commit is never left halfway. */
  for (guint pass = 0; pass < 2; pass++)
    for (guint i = 0; i < plan->files->len; i++)
      {
        /* New and changed files first, in the plan's order (maps before
         * the configuration that names them), deletions last. */
        PlanFile *f = g_ptr_array_index (plan->files, i);
        if ((f->new_contents == NULL) != (pass == 1))
          continue;
        if (!install_file (f, &local_error))
          goto fail;
      }
  sync_directories (plan);

  /* 3. Validate, reload. */
  for (guint i = 0; i < plan->steps->len; i++)
    {
      PlanStep *s = g_ptr_array_index (plan->steps, i);
      if (!s->func (s->user_data, NULL, &local_error))
        {
          g_autofree char *redacted = _smarthost_redact (local_error->message, plan->secrets);
          g_clear_error (&local_error);
          g_set_error (&local_error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s", redacted);
          goto fail;
        }
    }

  for (guint i = 0; i < plan->files->len; i++)
    remove_leftovers (g_ptr_array_index (plan->files, i));
  return TRUE;

fail:
  rollback (plan);
  if (local_error->domain == SMARTHOST_ERROR || g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_propagate_error (error, g_steal_pointer (&local_error));
  else
    g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s", local_error->message);
  g_prefix_error (error, "nothing was changed: ");
  return FALSE;
}
