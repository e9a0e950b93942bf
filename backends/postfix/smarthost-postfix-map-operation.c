/* smarthost-postfix-map-operation.c: a lookup table and its postmap build
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "smarthost-error.h"
#include "smarthost-operation-private.h"
#include "smarthost-files-private.h"
#include "smarthost-private.h"
#include "smarthost-util-private.h"
#include "smarthost-postfix-map-operation.h"

/*
 * A Postfix lookup table: its source file, replaced as any file is (see
 * SmarthostFileOperation), and what a build command (postmap) makes of it
 * beside the new file: ".NAME.smarthost-new.db", put in place as
 * "NAME.db" before NAME, so that a table is never older than its source.
 *
 * Builds run side by side: prepare() writes the new file and starts the
 * build, wait_prepared() waits for it (postmap of a large map is most of
 * a commit's time). A build dies with the process that started it
 * (PR_SET_PDEATHSIG), so that one killed in the middle of a commit does not
 * write its outputs after the recovery. The signal reaches it a moment
 * after our death, though, so an undo removes new files twice (before and
 * after its flushes), and Berkeley DB's temporary "__db..NAME.smarthost-new.db"
 * (which holds the map's secrets too) with them.
 */
struct _SmarthostPostfixMapOperation
{
  SmarthostFileOperation parent_instance;

  char **argv;          /* "{}" stands for the new file; NULL: rebuilt from a journal */
  GSubprocess *proc;    /* the build, while it runs */
  gboolean waited;
};

G_DEFINE_FINAL_TYPE (SmarthostPostfixMapOperation, smarthost_postfix_map_operation, SMARTHOST_TYPE_FILE_OPERATION)

static void
stop_build (SmarthostPostfixMapOperation *self)
{
  /* One not waited for is still running, or a zombie: stop it and reap
   * it before its files are removed. */
  if (self->proc != NULL && !self->waited)
    {
      g_subprocess_force_exit (self->proc);
      g_subprocess_wait (self->proc, NULL, NULL);
    }
  g_clear_object (&self->proc);
}

static void
map_operation_finalize (GObject *object)
{
  SmarthostPostfixMapOperation *self = SMARTHOST_POSTFIX_MAP_OPERATION (object);

  stop_build (self);
  g_strfreev (self->argv);
  G_OBJECT_CLASS (smarthost_postfix_map_operation_parent_class)->finalize (object);
}

/* The build's command line with @input for "{}". */
static char **
argv_for (SmarthostPostfixMapOperation *self,
          const char                   *input)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; self->argv[i]; i++)
    {
      g_autoptr(GString) arg = g_string_new (self->argv[i]);
      g_string_replace (arg, "{}", input, 0);
      g_strv_builder_add (builder, arg->str);
    }
  return g_strv_builder_end (builder);
}

static char *
command_for (SmarthostPostfixMapOperation *self,
             const char                   *input)
{
  g_auto(GStrv) argv = argv_for (self, input);

  return _smarthost_argv_to_string ((const char * const *) argv);
}

static char *
map_operation_describe (SmarthostOperation *op,
                        gboolean           *masked)
{
  SmarthostPostfixMapOperation *self = SMARTHOST_POSTFIX_MAP_OPERATION (op);
  SmarthostFileOperation *file = SMARTHOST_FILE_OPERATION (op);
  g_autofree char *diff = NULL;
  g_autofree char *cmd = NULL;

  diff = SMARTHOST_OPERATION_CLASS (smarthost_postfix_map_operation_parent_class)->describe (op, masked);
  if (self->argv == NULL || smarthost_file_operation_get_deletes (file))
    return g_steal_pointer (&diff);
  cmd = command_for (self, smarthost_file_operation_get_path (file));
  return g_strdup_printf ("%s# runs: %s\n", diff, cmd);
}

/* In the child: a build dies with the process that started it. */
static void
die_with_parent (gpointer user_data)
{
  pid_t parent = (pid_t) GPOINTER_TO_INT (user_data);

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  if (getppid () != parent)
    _exit (127);
}

static gboolean
map_operation_prepare (SmarthostOperation  *op,
                       GCancellable        *cancellable,
                       GError             **error)
{
  SmarthostPostfixMapOperation *self = SMARTHOST_POSTFIX_MAP_OPERATION (op);
  SmarthostFileOperation *file = SMARTHOST_FILE_OPERATION (op);
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *tmp = NULL;
  g_auto(GStrv) argv = NULL;

  if (!SMARTHOST_OPERATION_CLASS (smarthost_postfix_map_operation_parent_class)->prepare (op, cancellable, error))
    return FALSE;
  if (self->argv == NULL || smarthost_file_operation_get_deletes (file))
    return TRUE;

  tmp = smarthost_file_operation_get_new_path (file);
  argv = argv_for (self, tmp);
  /* As _smarthost_run(): standard input is /dev/null, output captured. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "MAIL_CONFIG");
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, GINT_TO_POINTER ((int) getpid ()), NULL);
  self->waited = FALSE;
  self->proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv, &local_error);
  if (self->proc == NULL)
    {
      g_autofree char *cmd = command_for (self, smarthost_file_operation_get_path (file));
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "%s: could not run %s: %s", cmd, argv[0], local_error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
finish_build (SmarthostPostfixMapOperation  *self,
              GCancellable                  *cancellable,
              GError                       **error)
{
  SmarthostFileOperation *file = SMARTHOST_FILE_OPERATION (self);
  g_autofree char *tmp = smarthost_file_operation_get_new_path (file);
  g_autofree char *cmd = command_for (self, smarthost_file_operation_get_path (file));
  const char * const *outputs = smarthost_file_operation_get_outputs (file);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(GError) local_error = NULL;
  int status;

  /* The source, written without waiting for the disk, is flushed while
   * the build (and the next ones) run. */
  if (!_smarthost_fsync_path (tmp, FALSE))
    return _smarthost_set_errno_error (error, errno, "write", "cannot flush", tmp);
  if (!g_subprocess_communicate_utf8 (self->proc, NULL, cancellable, &out, &err, &local_error))
    {
      /* Cancelled, or its output unreadable: stop_build() stops it. */
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                     "could not read the output of %s: %s", self->argv[0], local_error->message);
      g_prefix_error (error, "%s: ", cmd);
      return FALSE;
    }
  self->waited = TRUE;
  status = g_subprocess_get_if_exited (self->proc) ? g_subprocess_get_exit_status (self->proc)
                                                   : 128 + g_subprocess_get_term_sig (self->proc);
  if (status != 0)
    {
      /* The core masks the change's secrets in the message. */
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "%s: failed with status %d: %s", cmd, status, *g_strstrip (err) ? err : "(no message)");
      return FALSE;
    }
  for (guint i = 0; outputs[i]; i++)
    {
      g_autofree char *output = g_strconcat (tmp, outputs[i], NULL);
      if (!_smarthost_fsync_path (output, FALSE))
        return _smarthost_set_errno_error (error, errno, cmd, "did not produce", output);
    }
  return TRUE;
}

static gboolean
map_operation_wait_prepared (SmarthostOperation  *op,
                             GCancellable        *cancellable,
                             GError             **error)
{
  SmarthostPostfixMapOperation *self = SMARTHOST_POSTFIX_MAP_OPERATION (op);

  if (self->proc != NULL)
    {
      if (!finish_build (self, cancellable, error))
        return FALSE;
      g_clear_object (&self->proc);
      _smarthost_fault_point ("build");
    }
  return SMARTHOST_OPERATION_CLASS (smarthost_postfix_map_operation_parent_class)->wait_prepared (op, cancellable,
                                                                                                  error);
}

/* Removes the new file and its outputs, and what a build killed halfway
 * leaves beside them: Berkeley DB builds ".NAME.smarthost-new.db" in a
 * temporary "__db..NAME.smarthost-new.db" first. */
static void
remove_new_files (SmarthostFileOperation *file)
{
  g_autofree char *tmp = smarthost_file_operation_get_new_path (file);
  g_autofree char *dir = g_path_get_dirname (tmp);
  const char * const *outputs = smarthost_file_operation_get_outputs (file);

  for (guint i = 0; i <= g_strv_length ((char **) outputs); i++)
    {
      g_autofree char *path = g_strconcat (tmp, outputs[i] ? outputs[i] : "", NULL);
      g_autofree char *base = g_path_get_basename (path);
      g_autofree char *db_tmp = g_strconcat (dir, G_DIR_SEPARATOR_S, "__db.", base, NULL);

      unlink (path);
      unlink (db_tmp);
    }
}

static gboolean
map_operation_undo (SmarthostOperation  *op,
                    GCancellable        *cancellable,
                    GError             **error)
{
  SmarthostPostfixMapOperation *self = SMARTHOST_POSTFIX_MAP_OPERATION (op);
  SmarthostFileOperation *file = SMARTHOST_FILE_OPERATION (op);
  gboolean ok;

  /* A build still running is stopped before its files are removed. */
  stop_build (self);
  ok = SMARTHOST_OPERATION_CLASS (smarthost_postfix_map_operation_parent_class)->undo (op, cancellable, error);
  remove_new_files (file);
  /* Once more, after the flushes: a build killed with the commit may have
   * finished creating its output after the first pass. */
  remove_new_files (file);
  return ok;
}

static void
smarthost_postfix_map_operation_class_init (SmarthostPostfixMapOperationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SmarthostOperationClass *op_class = SMARTHOST_OPERATION_CLASS (klass);

  object_class->finalize = map_operation_finalize;
  op_class->kind = "postfix-map";
  op_class->describe = map_operation_describe;
  op_class->prepare = map_operation_prepare;
  op_class->wait_prepared = map_operation_wait_prepared;
  op_class->undo = map_operation_undo;
}

static void
smarthost_postfix_map_operation_init (SmarthostPostfixMapOperation *self)
{
}

/*
 * _smarthost_postfix_map_operation_new_take:
 * @argv: the build command; "{}" stands for the new file
 * @outputs: (nullable): the suffixes of what it makes beside it (".db")
 *
 * As _smarthost_file_operation_new_take(), for a lookup table built by
 * @argv: NULL, with what it took freed, when nothing changes.
 */
SmarthostOperation *
_smarthost_postfix_map_operation_new_take (const char         *path,
                                           char               *old_contents,
                                           gboolean            old_borrowed,
                                           char               *new_contents,
                                           guint               mode,
                                           char               *masked_old,
                                           char               *masked_new,
                                           const char * const *argv,
                                           const char * const *outputs)
{
  SmarthostPostfixMapOperation *self;

  if (_smarthost_contents_unchanged (old_contents, old_borrowed, new_contents, masked_old, masked_new))
    return NULL;
  self = g_object_new (SMARTHOST_TYPE_POSTFIX_MAP_OPERATION, NULL);
  _smarthost_file_operation_set_contents (SMARTHOST_FILE_OPERATION (self), path, old_contents, old_borrowed,
                                          new_contents, mode, masked_old, masked_new);
  self->argv = g_strdupv ((char **) argv);
  for (guint i = 0; outputs != NULL && outputs[i]; i++)
    smarthost_file_operation_add_output (SMARTHOST_FILE_OPERATION (self), outputs[i]);
  return SMARTHOST_OPERATION (self);
}
