/* smarthost-operation.c: one reversible step of a change; the generic kinds
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "smarthost-error.h"
#include "smarthost-operation.h"
#include "smarthost-operation-private.h"
#include "smarthost-files-private.h"
#include "smarthost-private.h"
#include "smarthost-util-private.h"
#include "smarthost-platform-private.h"

/**
 * SmarthostOperation:
 *
 * One step of a change to a mail server, which can describe itself for a
 * preview, carry itself out and undo itself — in this process, or in a
 * later one from the record it left in the journal after a crash.
 *
 * A backend turns a [class@Change] into an ordered list of operations
 * ([method@Change.add_operation]); the core carries them out all or
 * nothing:
 *
 * 1. every operation is checked ([vfunc@Operation.check]), also for a dry
 *    run;
 * 2. the journal, in the backend's state directory, gets every operation's
 *    record ([vfunc@Operation.to_record]);
 * 3. every operation is prepared: staged where the mail server does not
 *    look ([vfunc@Operation.prepare]), then, once all are started,
 *    waited for ([vfunc@Operation.wait_prepared]);
 * 4. every operation is applied ([vfunc@Operation.apply]), in order:
 *    changes first, then the operations that run once they are in place
 *    ([class@CommandOperation]: validation, reload);
 * 5. the commit point: the journal is marked committed;
 * 6. every operation finishes ([vfunc@Operation.finish]): backups go.
 *
 * If anything fails before the commit point, every operation prepared so
 * far is undone ([vfunc@Operation.undo]) in reverse order, and the error
 * is %SMARTHOST_ERROR_FAILED: nothing was changed. If an undo fails too,
 * the error is %SMARTHOST_ERROR_PARTIAL and the journal stays: the next
 * commit or read finishes undoing it. A process killed anywhere leaves the
 * journal, from which the next commit or read rebuilds the operations
 * ([ctor@Operation.new_from_record]) and undoes them (before the commit
 * point) or finishes them (after it).
 *
 * The core provides three kinds: [class@DirectoryOperation],
 * [class@FileOperation] (which a backend may subclass, as the Postfix
 * backend does for its lookup tables) and [class@CommandOperation]. A
 * backend adds its own by subclassing #SmarthostOperation and giving its
 * class a unique `kind` (in its class structure); see `doc/overview.md`,
 * "Writing a backend".
 */

/**
 * SmarthostOperationClass::describe:
 * @self: an operation
 * @masked: (out): whether the text masks every secret it could show
 *
 * Describes the operation for a preview; see [method@Operation.describe].
 *
 * Returns: (transfer full): the description, possibly empty
 */

/**
 * SmarthostOperationClass::to_record:
 * @self: an operation
 *
 * Gets the fields of the operation's journal record, without the kind.
 *
 * Returns: (transfer full) (nullable) (array zero-terminated=1): the
 *   fields, or %NULL when there is nothing to undo
 */

/**
 * SmarthostOperationClass::load_record:
 * @self: an operation just created
 * @fields: (array zero-terminated=1): the fields of its record
 * @directory: the state directory the journal is in
 * @error: return location for a #GError
 *
 * Loads a journal record; see [method@Operation.load_record].
 *
 * Returns: %TRUE if the record is sound
 */

G_DEFINE_ABSTRACT_TYPE (SmarthostOperation, smarthost_operation, G_TYPE_OBJECT)

static const char *
kind_of (SmarthostOperationClass *klass)
{
  return klass->kind != NULL ? klass->kind : G_OBJECT_CLASS_NAME (klass);
}

static char *
operation_real_describe (SmarthostOperation *self,
                         gboolean           *masked)
{
  *masked = TRUE;
  return g_strdup ("");
}

static gboolean
operation_real_true (SmarthostOperation  *self,
                     GCancellable        *cancellable,
                     GError             **error)
{
  return TRUE;
}

static gboolean
operation_real_check (SmarthostOperation  *self,
                      GError             **error)
{
  return TRUE;
}

static void
operation_real_finish (SmarthostOperation *self)
{
}

static char **
operation_real_to_record (SmarthostOperation *self)
{
  return NULL;
}

static gboolean
operation_real_load_record (SmarthostOperation  *self,
                            const char * const  *fields,
                            const char          *directory,
                            GError             **error)
{
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
               "journal: %s cannot be rebuilt from a record", G_OBJECT_TYPE_NAME (self));
  return FALSE;
}

static void
smarthost_operation_class_init (SmarthostOperationClass *klass)
{
  klass->load_record = operation_real_load_record;
  klass->describe = operation_real_describe;
  klass->check = operation_real_check;
  klass->prepare = operation_real_true;
  klass->wait_prepared = operation_real_true;
  klass->apply = operation_real_true;
  klass->undo = operation_real_true;
  klass->finish = operation_real_finish;
  klass->to_record = operation_real_to_record;
}

static void
smarthost_operation_init (SmarthostOperation *self)
{
}

/**
 * smarthost_operation_get_kind:
 * @self: an operation
 *
 * Gets the name of the operation's journal records: its class's
 * [struct@OperationClass].kind, or the name of its type.
 *
 * Returns: the kind
 */
const char *
smarthost_operation_get_kind (SmarthostOperation *self)
{
  g_return_val_if_fail (SMARTHOST_IS_OPERATION (self), NULL);
  return kind_of (SMARTHOST_OPERATION_GET_CLASS (self));
}

/**
 * smarthost_operation_describe:
 * @self: an operation
 *
 * Describes the operation as a preview shows it: a unified diff for a file,
 * lines starting with `# ` otherwise. Passwords the operation writes are
 * masked; a preview ([method@Change.to_preview]) also masks every other
 * secret of its change.
 *
 * Returns: (transfer full): the description, empty for an operation that
 *   shows nothing
 */
char *
smarthost_operation_describe (SmarthostOperation *self)
{
  gboolean masked = TRUE;

  g_return_val_if_fail (SMARTHOST_IS_OPERATION (self), NULL);
  return SMARTHOST_OPERATION_GET_CLASS (self)->describe (self, &masked);
}

/**
 * smarthost_operation_check:
 * @self: an operation
 * @error: return location for a #GError
 *
 * Checks, before anything is changed, that the operation can be carried
 * out safely (a dry run does too).
 *
 * Returns: %TRUE if it can; otherwise @error says why
 */
gboolean
smarthost_operation_check (SmarthostOperation  *self,
                           GError             **error)
{
  g_return_val_if_fail (SMARTHOST_IS_OPERATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return SMARTHOST_OPERATION_GET_CLASS (self)->check (self, error);
}

/**
 * smarthost_operation_to_record:
 * @self: an operation
 *
 * Gets the journal record of the operation: its kind, then its fields.
 *
 * Returns: (transfer full) (nullable) (array zero-terminated=1): the record,
 *   or %NULL for an operation that keeps none
 */
char **
smarthost_operation_to_record (SmarthostOperation *self)
{
  SmarthostOperationClass *klass;
  g_auto(GStrv) fields = NULL;
  g_autoptr(GStrvBuilder) builder = NULL;

  g_return_val_if_fail (SMARTHOST_IS_OPERATION (self), NULL);
  klass = SMARTHOST_OPERATION_GET_CLASS (self);
  if ((fields = klass->to_record (self)) == NULL)
    return NULL;
  builder = g_strv_builder_new ();
  g_strv_builder_add (builder, kind_of (klass));
  g_strv_builder_addv (builder, (const char **) fields);
  return g_strv_builder_end (builder);
}

/* The class of the operation type whose records are @kind, searched
 * among every type derived from SmarthostOperation (a few). */
static GType
find_kind (GType       parent,
           const char *kind)
{
  g_autofree GType *children = NULL;
  guint n = 0;

  children = g_type_children (parent, &n);
  for (guint i = 0; i < n; i++)
    {
      GType found;

      if (!G_TYPE_IS_ABSTRACT (children[i]))
        {
          SmarthostOperationClass *klass = g_type_class_ref (children[i]);
          gboolean match = g_str_equal (kind_of (klass), kind);

          g_type_class_unref (klass);
          if (match)
            return children[i];
        }
      found = find_kind (children[i], kind);
      if (found != G_TYPE_INVALID)
        return found;
    }
  return G_TYPE_INVALID;
}

/**
 * smarthost_operation_new_from_record:
 * @record: (array zero-terminated=1): a journal record, as
 *   [method@Operation.to_record] made it
 * @directory: the state directory the journal is in
 * @error: return location for a #GError
 *
 * Rebuilds an operation from its journal record, to undo or finish it in
 * another process than the one that began it. The operation's type must be
 * registered (a backend's types are once the backend is).
 *
 * Returns: (transfer full) (nullable): the operation, or %NULL with @error
 *   set (%SMARTHOST_ERROR_FAILED) for a record of an unknown kind, or one
 *   its kind refuses
 */
SmarthostOperation *
smarthost_operation_new_from_record (const char * const  *record,
                                     const char          *directory,
                                     GError             **error)
{
  GType type;
  g_autoptr(SmarthostOperation) op = NULL;

  g_return_val_if_fail (record != NULL, NULL);
  g_return_val_if_fail (directory != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Types are registered when first used: in a process that recovers
   * before it made any operation, the core's kinds are not yet. */
  g_type_ensure (SMARTHOST_TYPE_DIRECTORY_OPERATION);
  g_type_ensure (SMARTHOST_TYPE_FILE_OPERATION);
  g_type_ensure (SMARTHOST_TYPE_COMMAND_OPERATION);
  if (record[0] == NULL || (type = find_kind (SMARTHOST_TYPE_OPERATION, record[0])) == G_TYPE_INVALID)
    {
      g_autofree char *shown = _smarthost_quote (record[0] ? record[0] : "", -1);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "journal: a record of an unknown kind of operation (%s)", shown);
      return NULL;
    }
  op = g_object_new (type, NULL);
  if (!smarthost_operation_load_record (op, record + 1, directory, error))
    return NULL;
  return g_steal_pointer (&op);
}

/**
 * smarthost_operation_load_record:
 * @self: an operation just created, with no properties set
 * @fields: (array zero-terminated=1): the fields of its journal record,
 *   without the kind
 * @directory: the state directory the journal is in
 * @error: return location for a #GError
 *
 * Loads a journal record into @self, which can then undo or finish what
 * it records; [ctor@Operation.new_from_record] does this for the kind
 * the record names.
 *
 * Returns: %TRUE if the record is sound; %FALSE with @error set
 *   (%SMARTHOST_ERROR_FAILED) for a record its kind refuses
 */
gboolean
smarthost_operation_load_record (SmarthostOperation  *self,
                                 const char * const  *fields,
                                 const char          *directory,
                                 GError             **error)
{
  g_return_val_if_fail (SMARTHOST_IS_OPERATION (self), FALSE);
  g_return_val_if_fail (fields != NULL, FALSE);
  g_return_val_if_fail (directory != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return SMARTHOST_OPERATION_GET_CLASS (self)->load_record (self, fields, directory, error);
}

/* --- plumbing shared by the kinds ------------------------------------------ */

char *
_smarthost_sibling_path (const char *path,
                         const char *suffix)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *name = g_strdup_printf (".%s.%s", base, suffix);

  return g_build_filename (dir, name, NULL);
}

gboolean
_smarthost_set_errno_error (GError    **error,
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
gboolean
_smarthost_path_present (const char *path)
{
  struct stat st;

  return _smarthost_lstat (path, &st) == 0 || errno != ENOENT;
}

gboolean
_smarthost_fsync_path (const char *path,
                       gboolean    directory)
{
  int fd, r;

  if (directory)
    return _smarthost_fsync_directory (path) == 0;
  fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0)
    return FALSE;
  r = _smarthost_fsync (fd);
  close (fd);
  return r == 0;
}

/* Whether @path is under @dir, with no "." or ".." component: a journal
 * names only files of the directory it sits in, and a damaged one must not
 * make recovery touch anything else. */
gboolean
_smarthost_journal_path_inside (const char *dir,
                                const char *path)
{
  gsize n = strlen (dir);
  const char *p;

  if (path == NULL)
    return TRUE;
  if (strncmp (path, dir, n) != 0 || !G_IS_DIR_SEPARATOR (path[n]))
    return FALSE;
  /* No "." or ".." after it. The separators are GLib's: on Windows a
   * path g_build_filename() made has backslashes, and "/" is one too. */
  for (p = path + n; *p != '\0'; )
    {
      gsize len = 0;

      p++;
      while (p[len] != '\0' && !G_IS_DIR_SEPARATOR (p[len]))
        len++;
      if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
        return FALSE;
      p += len;
    }
  return TRUE;
}

/* write(2) of all of @len bytes, through short writes and EINTR. */
gboolean
_smarthost_write_all (int         fd,
                      const char *p,
                      gsize       len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, p, len);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return FALSE;
      p += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* Whether a file's contents do not change; then what a _take()
 * constructor took is freed, as it says. */
gboolean
_smarthost_contents_unchanged (char     *old_contents,
                               gboolean  old_borrowed,
                               char     *new_contents,
                               char     *masked_old,
                               char     *masked_new)
{
  if (g_strcmp0 (old_contents, new_contents) != 0)
    return FALSE;
  if (!old_borrowed)
    _smarthost_secret_free (old_contents);
  _smarthost_secret_free (new_contents);
  g_free (masked_old);
  g_free (masked_new);
  return TRUE;
}

/* Adds one failure to a list an undo reports, "; "-separated. */
void
_smarthost_note_failure (GString    *failures,
                         const char *format,
                         ...)
{
  va_list args;

  if (failures->len)
    g_string_append (failures, "; ");
  va_start (args, format);
  g_string_append_vprintf (failures, format, args);
  va_end (args);
}

/* --- SmarthostDirectoryOperation -------------------------------------------- */

/**
 * SmarthostDirectoryOperation:
 *
 * Creates a directory (such as the one that holds a backend's secrets)
 * when it does not exist, with a mode; one that exists is tightened to
 * the mode, never loosened, and must belong to the running user or root
 * with no one else allowed to write it. Undone, a directory it created is
 * removed if it holds nothing but new files of the change.
 *
 * It is prepared, not applied: the files of the change are written into it
 * while they are staged.
 */
struct _SmarthostDirectoryOperation
{
  SmarthostOperation parent_instance;

  char *path;
  guint mode;
  gboolean created;     /* it did not exist when the journal was made */
};

G_DEFINE_FINAL_TYPE (SmarthostDirectoryOperation, smarthost_directory_operation, SMARTHOST_TYPE_OPERATION)

static void
directory_operation_finalize (GObject *object)
{
  SmarthostDirectoryOperation *self = SMARTHOST_DIRECTORY_OPERATION (object);

  g_free (self->path);
  G_OBJECT_CLASS (smarthost_directory_operation_parent_class)->finalize (object);
}

static char *
directory_operation_describe (SmarthostOperation *op,
                              gboolean           *masked)
{
  SmarthostDirectoryOperation *self = SMARTHOST_DIRECTORY_OPERATION (op);

  *masked = TRUE;
  if (g_file_test (self->path, G_FILE_TEST_IS_DIR))
    return g_strdup ("");
  return g_strdup_printf ("# creates directory %s (mode %04o)\n", self->path, self->mode);
}

/* The directory a new file or directory at @path is made in: the nearest
 * one that exists (the others are made by us). */
char *
_smarthost_nearest_existing (const char *path)
{
  char *dir = g_strdup (path);
  struct stat st;

  while (_smarthost_lstat (dir, &st) != 0 && errno == ENOENT)
    {
      char *parent = g_path_get_dirname (dir);

      /* A root ("/", "Z:\\", a share) has no parent: it is its own. */
      if (g_str_equal (parent, dir))
        {
          g_free (parent);
          break;
        }
      g_free (dir);
      dir = parent;
    }
  return dir;
}

static gboolean
directory_operation_check (SmarthostOperation  *op,
                           GError             **error)
{
  SmarthostDirectoryOperation *self = SMARTHOST_DIRECTORY_OPERATION (op);
  g_autofree char *dir = NULL;
  struct stat st;

  if (_smarthost_lstat (self->path, &st) == 0 && !S_ISDIR (st.st_mode))
    return _smarthost_set_errno_error (error, ENOTDIR, "check", "cannot use directory", self->path);
  dir = _smarthost_nearest_existing (self->path);
  return _smarthost_check_trusted_directory (dir, "the directory that holds the secrets,", error);
}

static char **
directory_operation_to_record (SmarthostOperation *op)
{
  SmarthostDirectoryOperation *self = SMARTHOST_DIRECTORY_OPERATION (op);
  char *fields[] = { self->path, NULL };

  /* Only a directory the commit creates is removed by its undo. */
  self->created = !_smarthost_path_present (self->path);
  return self->created ? g_strdupv (fields) : NULL;
}

static gboolean
directory_operation_prepare (SmarthostOperation  *op,
                             GCancellable        *cancellable,
                             GError             **error)
{
  SmarthostDirectoryOperation *self = SMARTHOST_DIRECTORY_OPERATION (op);
  struct stat st;

  if (g_mkdir (self->path, self->mode) == 0)
    {
      self->created = TRUE;
      if (_smarthost_set_directory_access (self->path, self->mode) != 0)
        return _smarthost_set_errno_error (error, errno, "write", "cannot set the mode of", self->path);
      _smarthost_fault_point ("mkdir");
      return TRUE;
    }
  if (errno != EEXIST)
    return _smarthost_set_errno_error (error, errno, "write", "cannot create directory", self->path);
  /* An existing directory is tightened, never loosened; one that is not
   * ours is never used (the check said why). */
  if (_smarthost_lstat (self->path, &st) != 0 || !S_ISDIR (st.st_mode))
    return _smarthost_set_errno_error (error, ENOTDIR, "write", "cannot use directory", self->path);
  if (!_smarthost_stat_is_ours (&st) || _smarthost_stat_others_may_write (&st))
    return _smarthost_set_errno_error (error, EPERM, "write",
                                       "will not write secrets into a directory another user controls:",
                                       self->path);
  if ((st.st_mode & 07777 & ~self->mode) != 0 && g_chmod (self->path, st.st_mode & self->mode & 07777) != 0)
    return _smarthost_set_errno_error (error, errno, "write", "cannot set the mode of", self->path);
  return TRUE;
}

/* Removes the directory if it is empty but for new files of ours. A build
 * killed with the commit (SIGKILL reaches it a moment after us) may still
 * finish creating its output once the undo removed it, so ours are looked
 * for again, a few times; anything else in the directory keeps it. */
static gboolean
directory_operation_undo (SmarthostOperation  *op,
                          GCancellable        *cancellable,
                          GError             **error)
{
  SmarthostDirectoryOperation *self = SMARTHOST_DIRECTORY_OPERATION (op);
  g_autofree char *parent = NULL;

  if (!self->created)
    return TRUE;
  for (guint attempt = 0; attempt < 5; attempt++)
    {
      g_autoptr(GDir) dir = NULL;
      const char *name;

      if (rmdir (self->path) == 0 || errno != ENOTEMPTY)
        break;
      dir = g_dir_open (self->path, 0, NULL);
      if (dir == NULL)
        break;
      while ((name = g_dir_read_name (dir)) != NULL)
        if (strstr (name, ".smarthost-new") != NULL)
          {
            g_autofree char *file = g_build_filename (self->path, name, NULL);
            g_unlink (file);
          }
      g_usleep (20 * 1000);
    }
  parent = g_path_get_dirname (self->path);
  _smarthost_fsync_path (parent, TRUE);
  return TRUE;
}

static gboolean
directory_operation_load_record (SmarthostOperation  *op,
                                 const char * const  *fields,
                                 const char          *directory,
                                 GError             **error)
{
  SmarthostDirectoryOperation *self = SMARTHOST_DIRECTORY_OPERATION (op);

  if (g_strv_length ((char **) fields) != 1 || !g_path_is_absolute (fields[0]) ||
      !_smarthost_journal_path_inside (directory, fields[0]))
    {
      g_set_error_literal (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "journal: a damaged dir record");
      return FALSE;
    }
  g_free (self->path);
  self->path = g_strdup (fields[0]);
  self->mode = 0700;
  self->created = TRUE;
  return TRUE;
}

static void
smarthost_directory_operation_class_init (SmarthostDirectoryOperationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SmarthostOperationClass *op_class = SMARTHOST_OPERATION_CLASS (klass);

  object_class->finalize = directory_operation_finalize;
  op_class->kind = "dir";
  op_class->describe = directory_operation_describe;
  op_class->check = directory_operation_check;
  op_class->to_record = directory_operation_to_record;
  op_class->prepare = directory_operation_prepare;
  op_class->undo = directory_operation_undo;
  op_class->load_record = directory_operation_load_record;
}

static void
smarthost_directory_operation_init (SmarthostDirectoryOperation *self)
{
}

/**
 * smarthost_directory_operation_new:
 * @path: an absolute path
 * @mode: the directory's mode, such as 0700
 *
 * Creates an operation that makes sure the directory @path exists with
 * @mode (see [class@DirectoryOperation]).
 *
 * Returns: (transfer full): the operation
 */
SmarthostOperation *
smarthost_directory_operation_new (const char *path,
                                   guint       mode)
{
  SmarthostDirectoryOperation *self;

  g_return_val_if_fail (path != NULL && g_path_is_absolute (path), NULL);
  self = g_object_new (SMARTHOST_TYPE_DIRECTORY_OPERATION, NULL);
  self->path = g_strdup (path);
  self->mode = mode & 07777;
  return SMARTHOST_OPERATION (self);
}

/* --- SmarthostCommandOperation ---------------------------------------------- */

/**
 * SmarthostCommandOperation:
 *
 * Runs a program, or a function, once every change before it is in place:
 * validation of the new configuration, a reload, a service restart. If it
 * fails, the whole change is undone. It keeps no journal record: a commit
 * killed after it ran is undone like any other, and the mail server reads
 * the restored configuration when it next reloads.
 */
struct _SmarthostCommandOperation
{
  SmarthostOperation parent_instance;

  char *description;
  char **argv;
  guint timeout;
  SmarthostCommandFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
  gboolean after_commit;
};

G_DEFINE_FINAL_TYPE (SmarthostCommandOperation, smarthost_command_operation, SMARTHOST_TYPE_OPERATION)

static void
command_operation_finalize (GObject *object)
{
  SmarthostCommandOperation *self = SMARTHOST_COMMAND_OPERATION (object);

  g_free (self->description);
  g_strfreev (self->argv);
  if (self->destroy != NULL)
    self->destroy (self->user_data);
  G_OBJECT_CLASS (smarthost_command_operation_parent_class)->finalize (object);
}

static char *
command_operation_describe (SmarthostOperation *op,
                            gboolean           *masked)
{
  SmarthostCommandOperation *self = SMARTHOST_COMMAND_OPERATION (op);

  *masked = FALSE;
  if (self->after_commit)
    return g_strdup_printf ("# runs once the change is committed: %s\n", self->description);
  return g_strdup_printf ("# runs: %s\n", self->description);
}

static gboolean
command_operation_apply (SmarthostOperation  *op,
                         GCancellable        *cancellable,
                         GError             **error)
{
  SmarthostCommandOperation *self = SMARTHOST_COMMAND_OPERATION (op);
  gboolean ok;

  if (self->func != NULL)
    ok = self->func (self->user_data, cancellable, error);
  else
    {
      g_autofree char *err = NULL;
      int status;

      ok = _smarthost_run_full ((const char * const *) self->argv, self->timeout, cancellable, &status, NULL,
                                &err, error);
      if (ok && status != 0)
        {
          g_autofree char *message = _smarthost_quote_full (g_strstrip (err), -1, 300);
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s: failed with status %d: %s",
                       self->description, status, *err ? message : "(no message)");
          ok = FALSE;
        }
    }
  if (ok)
    _smarthost_fault_point ("step");
  return ok;
}

static void
smarthost_command_operation_class_init (SmarthostCommandOperationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SmarthostOperationClass *op_class = SMARTHOST_OPERATION_CLASS (klass);

  object_class->finalize = command_operation_finalize;
  op_class->kind = "command";
  op_class->after_changes = TRUE;
  op_class->describe = command_operation_describe;
  op_class->apply = command_operation_apply;
}

static void
smarthost_command_operation_init (SmarthostCommandOperation *self)
{
}

/**
 * smarthost_command_operation_new:
 * @argv: (array zero-terminated=1): the program and its arguments
 * @timeout: how long it may run, in seconds; 0 for the default (120)
 *
 * Creates an operation that runs @argv once the changes before it are in
 * place; a program that exits with another status than 0 fails the
 * change, which is then undone. Its standard input is `/dev/null`; its
 * messages go into the error.
 *
 * Returns: (transfer full): the operation
 */
SmarthostOperation *
smarthost_command_operation_new (const char * const *argv,
                                 guint               timeout)
{
  SmarthostCommandOperation *self;

  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);
  self = g_object_new (SMARTHOST_TYPE_COMMAND_OPERATION, NULL);
  self->argv = g_strdupv ((char **) argv);
  self->timeout = timeout ? timeout : SMARTHOST_RUN_TIMEOUT;
  self->description = _smarthost_argv_to_string (argv);
  return SMARTHOST_OPERATION (self);
}

/**
 * smarthost_command_operation_new_func: (skip)
 * @description: what the function does, for the preview
 * @func: the function
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data with the operation
 *
 * Creates an operation that calls @func once the changes before it are in
 * place (see [class@CommandOperation]).
 *
 * Returns: (transfer full): the operation
 */
SmarthostOperation *
smarthost_command_operation_new_func (const char           *description,
                                      SmarthostCommandFunc  func,
                                      gpointer              user_data,
                                      GDestroyNotify        destroy)
{
  SmarthostCommandOperation *self;

  g_return_val_if_fail (description != NULL, NULL);
  g_return_val_if_fail (func != NULL, NULL);
  self = g_object_new (SMARTHOST_TYPE_COMMAND_OPERATION, NULL);
  self->description = g_strdup (description);
  self->func = func;
  self->user_data = user_data;
  self->destroy = destroy;
  return SMARTHOST_OPERATION (self);
}

/**
 * smarthost_command_operation_set_after_commit:
 * @self: a command operation
 * @after_commit: whether it runs after the commit point
 *
 * Makes the command run once the change is committed rather than before
 * (a service restart that puts the change into effect, where a failed
 * restart is better reported than undone: undoing would need the same
 * restart). Its failure does not undo the change: the commit fails with
 * %SMARTHOST_ERROR_NOT_ACTIVE, and the transaction counts as committed and
 * changed. A crash after the commit point and before the command loses it.
 */
void
smarthost_command_operation_set_after_commit (SmarthostCommandOperation *self,
                                              gboolean                   after_commit)
{
  g_return_if_fail (SMARTHOST_IS_COMMAND_OPERATION (self));
  self->after_commit = !!after_commit;
}

/**
 * smarthost_command_operation_get_after_commit:
 * @self: a command operation
 *
 * Gets whether the command runs after the commit point
 * ([method@CommandOperation.set_after_commit]).
 *
 * Returns: whether it runs after the commit point
 */
gboolean
smarthost_command_operation_get_after_commit (SmarthostCommandOperation *self)
{
  g_return_val_if_fail (SMARTHOST_IS_COMMAND_OPERATION (self), FALSE);
  return self->after_commit;
}
