/* smarthost-file-operation.c: replacing (or creating, or deleting) a file
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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
 * SmarthostFileOperation:
 *
 * Replaces a file with new contents, creates it, or deletes it, so that
 * the file is at every moment either wholly old or wholly new:
 *
 * - prepared, the new contents are written beside the file as
 *   `.NAME.smarthost-new`, created with its final mode from the start (a
 *   secrets file is never readable by others, not even briefly) and
 *   flushed; then the file as it is is hard-linked to its backup
 *   `.NAME.smarthost-old`;
 * - applied, the new file is renamed over the old one (or the old one
 *   removed);
 * - undone, the backup is renamed back (the same inode as before), a file
 *   that did not exist is removed, and so are the new file and the
 *   backup;
 * - finished, after the commit point, the backup is removed.
 *
 * A replaced file keeps its owner and mode, unless the operation's mode
 * lets only the owner read it (a secrets file): that one always belongs to
 * the running user, with the operation's mode, whoever owned the old one.
 * A symbolic link is never written through: the check refuses it.
 *
 * Outputs ([method@FileOperation.add_output]) are files a subclass makes
 * beside the new file while it is prepared (the Postfix backend's `.db`
 * tables, built by `postmap`); they are backed up, put in place (before
 * the file), restored and deleted with it.
 */

typedef struct {
  char *target;
  char *backup;       /* the hard link keeping the old target */
  char *source;       /* what is renamed over the target; NULL: deleted */
  gboolean existed;   /* the target existed when the journal was made */
} Target;

typedef struct {
  char *path;
  gboolean existed;        /* old_contents != NULL */
  gboolean old_borrowed;   /* old_contents belongs to the caller */
  char *old_contents;
  char *new_contents;      /* NULL: delete */
  guint mode;
  char *masked_old;
  char *masked_new;
  GPtrArray *outputs;      /* suffixes, NULL-terminated */
  GPtrArray *targets;      /* Target, outputs first; NULL until needed */
  gboolean windows_text;   /* written as UTF-16LE with a BOM and CRLF */
} SmarthostFileOperationPrivate;

G_DEFINE_TYPE_WITH_PRIVATE (SmarthostFileOperation, smarthost_file_operation, SMARTHOST_TYPE_OPERATION)

enum {
  PROP_0,
  PROP_PATH,
  PROP_OLD_CONTENTS,
  PROP_NEW_CONTENTS,
  PROP_MODE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
target_free (gpointer data)
{
  Target *t = data;

  g_free (t->target);
  g_free (t->backup);
  g_free (t->source);
  g_free (t);
}

static char *
tmp_path (const char *path)
{
  return _smarthost_sibling_path (path, "smarthost-new");
}

static char *
backup_path (const char *path)
{
  return _smarthost_sibling_path (path, "smarthost-old");
}

static void
file_operation_finalize (GObject *object)
{
  SmarthostFileOperationPrivate *priv =
    smarthost_file_operation_get_instance_private (SMARTHOST_FILE_OPERATION (object));

  g_free (priv->path);
  if (!priv->old_borrowed)
    _smarthost_secret_free (priv->old_contents);
  _smarthost_secret_free (priv->new_contents);
  g_free (priv->masked_old);
  g_free (priv->masked_new);
  g_ptr_array_unref (priv->outputs);
  g_clear_pointer (&priv->targets, g_ptr_array_unref);
  G_OBJECT_CLASS (smarthost_file_operation_parent_class)->finalize (object);
}

static void
file_operation_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  SmarthostFileOperationPrivate *priv =
    smarthost_file_operation_get_instance_private (SMARTHOST_FILE_OPERATION (object));

  switch (prop_id)
    {
    case PROP_PATH:
      g_free (priv->path);
      priv->path = g_value_dup_string (value);
      break;
    case PROP_OLD_CONTENTS:
      if (!priv->old_borrowed)
        _smarthost_secret_free (priv->old_contents);
      priv->old_contents = g_value_dup_string (value);
      priv->old_borrowed = FALSE;
      priv->existed = priv->old_contents != NULL;
      break;
    case PROP_NEW_CONTENTS:
      _smarthost_secret_free (priv->new_contents);
      priv->new_contents = g_value_dup_string (value);
      break;
    case PROP_MODE:
      priv->mode = g_value_get_uint (value) & 07777;
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
file_operation_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  SmarthostFileOperationPrivate *priv =
    smarthost_file_operation_get_instance_private (SMARTHOST_FILE_OPERATION (object));

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, priv->path);
      break;
    case PROP_MODE:
      g_value_set_uint (value, priv->mode);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

/* The paths the operation puts in place, outputs first so that a table is
 * never older than its source; whether each exists is looked at now (when
 * the journal is made, or the operation prepared without one). */
static GPtrArray *
ensure_targets (SmarthostFileOperationPrivate *priv)
{
  g_autofree char *tmp = NULL;

  if (priv->targets != NULL)
    return priv->targets;
  priv->targets = g_ptr_array_new_with_free_func (target_free);
  tmp = tmp_path (priv->path);
  for (guint i = 0; i <= priv->outputs->len - 1; i++)
    {
      const char *suffix = i < priv->outputs->len - 1 ? g_ptr_array_index (priv->outputs, i) : "";
      Target *t = g_new0 (Target, 1);

      t->target = g_strconcat (priv->path, suffix, NULL);
      t->backup = backup_path (t->target);
      if (priv->new_contents != NULL)
        t->source = g_strconcat (tmp, suffix, NULL);
      t->existed = _smarthost_path_present (t->target);
      g_ptr_array_add (priv->targets, t);
    }
  return priv->targets;
}

static char *
file_operation_describe (SmarthostOperation *op,
                         gboolean           *masked)
{
  SmarthostFileOperationPrivate *priv =
    smarthost_file_operation_get_instance_private (SMARTHOST_FILE_OPERATION (op));
  const char *old_text = priv->masked_old ? priv->masked_old : priv->old_contents;
  const char *new_text = priv->masked_new ? priv->masked_new : priv->new_contents;
  g_autofree char *diff = NULL;

  diff = _smarthost_unified_diff (priv->existed ? priv->path : "/dev/null",
                                  priv->new_contents ? priv->path : "/dev/null",
                                  old_text ? old_text : "",
                                  new_text ? new_text : "");
  *masked = priv->masked_old != NULL || priv->masked_new != NULL;
  if (*diff == '\0')
    {
      *masked = TRUE;
      return g_strdup_printf ("# %s: a password changes (not shown)\n", priv->path);
    }
  return g_steal_pointer (&diff);
}

static gboolean
file_operation_check (SmarthostOperation  *op,
                      GError             **error)
{
  SmarthostFileOperationPrivate *priv =
    smarthost_file_operation_get_instance_private (SMARTHOST_FILE_OPERATION (op));
  g_autofree char *parent = g_path_get_dirname (priv->path);
  g_autofree char *dir = NULL;
  struct stat st;

  if (_smarthost_lstat (priv->path, &st) != 0)
    {
      if (errno != ENOENT || priv->existed)
        return _smarthost_set_errno_error (error, errno, "check", "cannot look at", priv->path);
    }
  else if (S_ISLNK (st.st_mode))
    {
      g_autofree char *link = g_file_read_link (priv->path, NULL);
      g_autofree char *target = link ? _smarthost_quote_path (link) : NULL;
      g_autofree char *shown = _smarthost_quote_path (priv->path);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "%s is a symbolic link%s%s. Changes are written beside a file "
                   "and renamed over it, which would replace the link and leave what it points to "
                   "stale, so links are not written through: replace the link by the file it points "
                   "to (cp --remove-destination \"$(readlink -f %s)\" %s), and keep the copy in "
                   "your managed tree up to date from there",
                   shown, target ? " to " : "", target ? target : "", shown, shown);
      return FALSE;
    }
  else if (!S_ISREG (st.st_mode))
    return _smarthost_set_errno_error (error, EINVAL, "check", "not a regular file:", priv->path);

  /* No other user may plant or swap a file where we write. A directory
   * not there yet is made by us: the one it is made in must be trusted. */
  dir = _smarthost_nearest_existing (parent);
  return _smarthost_check_trusted_directory (dir, "the directory", error);
}

static char **
file_operation_to_record (SmarthostOperation *op)
{
  SmarthostFileOperationPrivate *priv =
    smarthost_file_operation_get_instance_private (SMARTHOST_FILE_OPERATION (op));
  GPtrArray *targets = ensure_targets (priv);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; i < targets->len; i++)
    {
      Target *t = g_ptr_array_index (targets, i);

      g_strv_builder_add (builder, t->existed ? "1" : "0");
      g_strv_builder_add (builder, t->target);
      g_strv_builder_add (builder, t->backup);
      g_strv_builder_add (builder, t->source ? t->source : "");
    }
  return g_strv_builder_end (builder);
}

static gboolean
fail_fd (GError    **error,
         int         fd,
         const char *what,
         const char *path)
{
  int saved = errno;

  close (fd);
  return _smarthost_set_errno_error (error, saved, "write", what, path);
}

static gboolean
write_new_file (SmarthostFileOperationPrivate  *priv,
                GError                        **error)
{
  g_autofree char *tmp = tmp_path (priv->path);
  struct stat st;
  const struct stat *replaced = NULL;
  guint mode;
  int fd;

  g_unlink (tmp);
  fd = g_open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, priv->mode & 0777);
  if (fd < 0)
    return _smarthost_set_errno_error (error, errno, "write", "cannot create", tmp);
  if (priv->windows_text)
    {
      GByteArray *bytes = _smarthost_windows_text_encode (priv->new_contents);
      gboolean written;

      if (bytes == NULL)
        {
          errno = EILSEQ;
          return fail_fd (error, fd, "cannot write (not UTF-8):", tmp);
        }
      written = _smarthost_write_all (fd, (const char *) bytes->data, bytes->len);

      /* It may hold a password, as the text does. */
      memset (bytes->data, 0, bytes->len);
      g_byte_array_unref (bytes);
      if (!written)
        return fail_fd (error, fd, "cannot write", tmp);
    }
  else if (!_smarthost_write_all (fd, priv->new_contents, strlen (priv->new_contents)))
    return fail_fd (error, fd, "cannot write", tmp);

  /* A replaced file keeps its owner and mode, unless it holds secrets: see
   * the class's documentation. lstat() again, so that a link planted since
   * the check is never what the mode or owner come from. */
  mode = priv->mode & 07777;
  if (priv->existed && (priv->mode & 0077) != 0 && _smarthost_lstat (priv->path, &st) == 0)
    {
      if (!S_ISREG (st.st_mode))
        {
          errno = EINVAL;
          return fail_fd (error, fd, "not a regular file:", priv->path);
        }
      replaced = &st;
    }
  if (_smarthost_set_file_access (fd, replaced, mode) != 0)
    return fail_fd (error, fd, replaced ? "cannot set the owner and mode of" : "cannot set the mode of", tmp);
  /* A file with outputs is flushed by the subclass that builds them,
   * while they are built. */
  if (priv->outputs->len == 1 && _smarthost_fsync (fd) != 0)
    return fail_fd (error, fd, "cannot flush", tmp);
  if (close (fd) != 0)
    return _smarthost_set_errno_error (error, errno, "write", "cannot close", tmp);
  return TRUE;
}

static gboolean
file_operation_prepare (SmarthostOperation  *op,
                        GCancellable        *cancellable,
                        GError             **error)
{
  SmarthostFileOperationPrivate *priv =
    smarthost_file_operation_get_instance_private (SMARTHOST_FILE_OPERATION (op));
  GPtrArray *targets = ensure_targets (priv);

  /* Stale new files and backups no journal names (left by versions that
   * kept none) go first. */
  for (guint i = 0; i < targets->len; i++)
    {
      Target *t = g_ptr_array_index (targets, i);
      g_autofree char *tmp = tmp_path (priv->path);
      g_autofree char *tmp_out = g_strconcat (tmp, t->target + strlen (priv->path), NULL);

      g_unlink (t->backup);
      g_unlink (tmp_out);
    }
  if (priv->new_contents == NULL)
    return TRUE;
  if (!write_new_file (priv, error))
    return FALSE;
  _smarthost_fault_point ("write");
  return TRUE;
}

/* Backs up every target that exists: a hard link to it. */
static gboolean
file_operation_wait_prepared (SmarthostOperation  *op,
                              GCancellable        *cancellable,
                              GError             **error)
{
  SmarthostFileOperationPrivate *priv =
    smarthost_file_operation_get_instance_private (SMARTHOST_FILE_OPERATION (op));
  GPtrArray *targets = ensure_targets (priv);
  g_autofree char *dir = g_path_get_dirname (priv->path);
  gboolean any = FALSE;

  for (guint i = 0; i < targets->len; i++)
    {
      Target *t = g_ptr_array_index (targets, i);

      if (!t->existed)
        continue;
      g_unlink (t->backup);
      if (_smarthost_hard_link (t->target, t->backup) != 0)
        return _smarthost_set_errno_error (error, errno, "backup", "cannot back up", t->target);
      any = TRUE;
      _smarthost_fault_point ("backup");
    }
  if (any)
    _smarthost_fsync_path (dir, TRUE);
  return TRUE;
}

static gboolean
file_operation_apply (SmarthostOperation  *op,
                      GCancellable        *cancellable,
                      GError             **error)
{
  SmarthostFileOperationPrivate *priv =
    smarthost_file_operation_get_instance_private (SMARTHOST_FILE_OPERATION (op));
  GPtrArray *targets = ensure_targets (priv);
  g_autofree char *dir = g_path_get_dirname (priv->path);

  for (guint i = 0; i < targets->len; i++)
    {
      Target *t = g_ptr_array_index (targets, i);

      if (t->source == NULL)
        {
          if (g_unlink (t->target) != 0 && errno != ENOENT)
            return _smarthost_set_errno_error (error, errno, "install", "cannot remove", t->target);
          _smarthost_fault_point ("delete");
          continue;
        }
      if (_smarthost_replace_file (t->source, t->target) != 0)
        return _smarthost_set_errno_error (error, errno, "install", "cannot rename into place", t->target);
      _smarthost_fault_point ("rename");
    }
  _smarthost_fsync_path (dir, TRUE);
  return TRUE;
}

/* A backup is a hard link to a target as it was: a regular file, owned by
 * the running user or root, or by whoever owns the target (main.cf may
 * belong to another administrator). Anything else was not made by a
 * commit of ours and is never moved over a target. */
static gboolean
backup_is_trusted (Target *t)
{
  struct stat b, st;

  if (_smarthost_lstat (t->backup, &b) != 0 || !S_ISREG (b.st_mode))
    return FALSE;
  if (_smarthost_stat_is_ours (&b))
    return TRUE;
  return _smarthost_lstat (t->target, &st) == 0 && _smarthost_stat_same_owner (&st, &b);
}

/* Puts every target back as it was when the journal was made, and removes
 * what the operation added. It may be interrupted anywhere and run again:
 * a backup is renamed back over its target (a no-op while it is still the
 * same file), a target that did not exist is removed, and a target that
 * existed but has no backup was never replaced, because every backup is
 * made before the first rename. */
static gboolean
file_operation_undo (SmarthostOperation  *op,
                     GCancellable        *cancellable,
                     GError             **error)
{
  SmarthostFileOperationPrivate *priv =
    smarthost_file_operation_get_instance_private (SMARTHOST_FILE_OPERATION (op));
  GPtrArray *targets = ensure_targets (priv);
  g_autoptr(GString) failures = g_string_new (NULL);
  g_autofree char *dir = g_path_get_dirname (priv->path);

  for (guint i = targets->len; i-- > 0;)
    {
      Target *t = g_ptr_array_index (targets, i);

      if (_smarthost_path_present (t->backup))
        {
          if (!backup_is_trusted (t))
            _smarthost_note_failure (failures, "not restored from a backup that is not ours (left alone): %s",
                                     t->backup);
          else if (_smarthost_replace_file (t->backup, t->target) != 0)
            _smarthost_note_failure (failures, "cannot restore %s: %s", t->target, g_strerror (errno));
          else if (g_unlink (t->backup) != 0 && errno != ENOENT)
            _smarthost_note_failure (failures, "cannot remove %s: %s", t->backup, g_strerror (errno));
        }
      else if (!t->existed && g_unlink (t->target) != 0 && errno != ENOENT)
        _smarthost_note_failure (failures, "cannot remove %s: %s", t->target, g_strerror (errno));
      if (t->source != NULL && g_unlink (t->source) != 0 && errno != ENOENT)
        _smarthost_note_failure (failures, "cannot remove %s: %s", t->source, g_strerror (errno));
      _smarthost_fault_point ("recover");
    }
  _smarthost_fsync_path (dir, TRUE);
  if (failures->len)
    {
      g_set_error_literal (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, failures->str);
      return FALSE;
    }
  return TRUE;
}

/* The change is complete: removes the backups and any new file left. */
static void
file_operation_finish (SmarthostOperation *op)
{
  SmarthostFileOperationPrivate *priv =
    smarthost_file_operation_get_instance_private (SMARTHOST_FILE_OPERATION (op));
  GPtrArray *targets = ensure_targets (priv);
  g_autofree char *dir = g_path_get_dirname (priv->path);

  for (guint i = 0; i < targets->len; i++)
    {
      Target *t = g_ptr_array_index (targets, i);

      g_unlink (t->backup);
      if (t->source != NULL)
        g_unlink (t->source);
    }
  _smarthost_fsync_path (dir, TRUE);
}

/* A record names only files beside its targets, with our prefixes and
 * inside the journal's directory: a damaged one must not make recovery
 * touch anything else. */
static gboolean
target_is_sane (Target     *t,
                const char *directory)
{
  g_autofree char *backup = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *source_dir = NULL;
  g_autofree char *source_base = NULL;

  if (!g_path_is_absolute (t->target) || !_smarthost_journal_path_inside (directory, t->target) ||
      !_smarthost_journal_path_inside (directory, t->backup) ||
      !_smarthost_journal_path_inside (directory, t->source))
    return FALSE;
  backup = backup_path (t->target);
  if (!g_str_equal (backup, t->backup))
    return FALSE;
  if (t->source == NULL)
    return TRUE;
  dir = g_path_get_dirname (t->target);
  source_dir = g_path_get_dirname (t->source);
  source_base = g_path_get_basename (t->source);
  return g_str_equal (dir, source_dir) && source_base[0] == '.' &&
         strstr (source_base, ".smarthost-new") != NULL;
}

/* Loads a record: the targets, outputs first and the file last. Subclasses
 * that keep more than the file's record chain up. */
static gboolean
file_operation_load_record (SmarthostOperation  *op,
                            const char * const  *fields,
                            const char          *directory,
                            GError             **error)
{
  SmarthostFileOperation *self = SMARTHOST_FILE_OPERATION (op);
  SmarthostFileOperationPrivate *priv = smarthost_file_operation_get_instance_private (self);
  guint n;

  n = g_strv_length ((char **) fields);
  if (n == 0 || n % 4 != 0)
    goto damaged;
  g_clear_pointer (&priv->targets, g_ptr_array_unref);
  priv->targets = g_ptr_array_new_with_free_func (target_free);
  for (guint i = 0; i < n; i += 4)
    {
      Target *t = g_new0 (Target, 1);

      g_ptr_array_add (priv->targets, t);
      if (!g_str_equal (fields[i], "0") && !g_str_equal (fields[i], "1"))
        goto damaged;
      t->existed = fields[i][0] == '1';
      t->target = g_strdup (fields[i + 1]);
      t->backup = g_strdup (fields[i + 2]);
      t->source = *fields[i + 3] ? g_strdup (fields[i + 3]) : NULL;
      if (!target_is_sane (t, directory))
        goto damaged;
    }
  /* The file itself is the last target, its outputs the ones before. */
  g_free (priv->path);
  priv->path = g_strdup (((Target *) g_ptr_array_index (priv->targets, priv->targets->len - 1))->target);
  for (guint i = 0; i + 1 < priv->targets->len; i++)
    {
      Target *t = g_ptr_array_index (priv->targets, i);

      if (!g_str_has_prefix (t->target, priv->path) || t->target[strlen (priv->path)] == '\0')
        goto damaged;
      smarthost_file_operation_add_output (self, t->target + strlen (priv->path));
    }
  return TRUE;

damaged:
  g_set_error_literal (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "journal: a damaged file record");
  return FALSE;
}

static void
smarthost_file_operation_class_init (SmarthostFileOperationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SmarthostOperationClass *op_class = SMARTHOST_OPERATION_CLASS (klass);

  object_class->finalize = file_operation_finalize;
  object_class->set_property = file_operation_set_property;
  object_class->get_property = file_operation_get_property;
  op_class->kind = "file";
  op_class->describe = file_operation_describe;
  op_class->check = file_operation_check;
  op_class->to_record = file_operation_to_record;
  op_class->prepare = file_operation_prepare;
  op_class->wait_prepared = file_operation_wait_prepared;
  op_class->apply = file_operation_apply;
  op_class->undo = file_operation_undo;
  op_class->finish = file_operation_finish;
  op_class->load_record = file_operation_load_record;

  /**
   * SmarthostFileOperation:path: (attributes org.gtk.Property.get=smarthost_file_operation_get_path)
   *
   * The absolute path of the file.
   */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * SmarthostFileOperation:old-contents:
   *
   * The file's contents now, %NULL when it does not exist.
   */
  properties[PROP_OLD_CONTENTS] =
    g_param_spec_string ("old-contents", NULL, NULL, NULL,
                         G_PARAM_WRITABLE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * SmarthostFileOperation:new-contents:
   *
   * The file's new contents, %NULL to delete it.
   */
  properties[PROP_NEW_CONTENTS] =
    g_param_spec_string ("new-contents", NULL, NULL, NULL,
                         G_PARAM_WRITABLE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * SmarthostFileOperation:mode:
   *
   * The mode of a new file; see [class@FileOperation] for a replaced one.
   */
  properties[PROP_MODE] =
    g_param_spec_uint ("mode", NULL, NULL, 0, 07777, 0644,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
smarthost_file_operation_init (SmarthostFileOperation *self)
{
  SmarthostFileOperationPrivate *priv = smarthost_file_operation_get_instance_private (self);

  priv->outputs = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (priv->outputs, NULL);
  priv->mode = 0644;
}

/**
 * smarthost_file_operation_new:
 * @path: the absolute path of the file
 * @old_contents: (nullable): its contents now, %NULL when it does not exist
 * @new_contents: (nullable): its new contents, %NULL to delete it
 * @mode: the mode of the new file, such as 0644, or 0600 for secrets
 *
 * Creates an operation that replaces, creates or deletes a file; see
 * [class@FileOperation]. Secrets in @new_contents are shown in previews
 * unless masked ([method@FileOperation.set_masked]) or known to the change
 * ([method@Change.add_secret]).
 *
 * Returns: (transfer full): the operation
 */
SmarthostOperation *
smarthost_file_operation_new (const char *path,
                              const char *old_contents,
                              const char *new_contents,
                              guint       mode)
{
  g_return_val_if_fail (path != NULL && g_path_is_absolute (path), NULL);
  return g_object_new (SMARTHOST_TYPE_FILE_OPERATION, "path", path, "old-contents", old_contents,
                       "new-contents", new_contents, "mode", mode, NULL);
}

void
_smarthost_file_operation_set_contents (SmarthostFileOperation *self,
                                        const char             *path,
                                        char                   *old_contents,
                                        gboolean                old_borrowed,
                                        char                   *new_contents,
                                        guint                   mode,
                                        char                   *masked_old,
                                        char                   *masked_new)
{
  SmarthostFileOperationPrivate *priv = smarthost_file_operation_get_instance_private (self);

  g_free (priv->path);
  priv->path = g_strdup (path);
  priv->existed = old_contents != NULL;
  priv->old_contents = old_contents;
  priv->old_borrowed = old_borrowed;
  priv->new_contents = new_contents;
  priv->mode = mode & 07777;
  priv->masked_old = masked_old;
  priv->masked_new = masked_new;
}

SmarthostOperation *
_smarthost_file_operation_new_take (const char *path,
                                    char       *old_contents,
                                    gboolean    old_borrowed,
                                    char       *new_contents,
                                    guint       mode,
                                    char       *masked_old,
                                    char       *masked_new)
{
  SmarthostFileOperation *self;

  if (_smarthost_contents_unchanged (old_contents, old_borrowed, new_contents, masked_old, masked_new))
    return NULL;
  self = g_object_new (SMARTHOST_TYPE_FILE_OPERATION, NULL);
  _smarthost_file_operation_set_contents (self, path, old_contents, old_borrowed, new_contents, mode,
                                          masked_old, masked_new);
  return SMARTHOST_OPERATION (self);
}

/**
 * smarthost_file_operation_set_masked:
 * @self: a file operation
 * @masked_old: (nullable): the old contents as previews show them
 * @masked_new: (nullable): the new contents as previews show them
 *
 * Sets what previews show in place of the contents, passwords replaced
 * (by `********`, say). When only a password changes, the masked texts
 * are equal and the preview says so without showing either.
 */
void
smarthost_file_operation_set_masked (SmarthostFileOperation *self,
                                     const char             *masked_old,
                                     const char             *masked_new)
{
  SmarthostFileOperationPrivate *priv;

  g_return_if_fail (SMARTHOST_IS_FILE_OPERATION (self));
  priv = smarthost_file_operation_get_instance_private (self);
  g_free (priv->masked_old);
  g_free (priv->masked_new);
  priv->masked_old = g_strdup (masked_old);
  priv->masked_new = g_strdup (masked_new);
}

/**
 * smarthost_file_operation_add_output:
 * @self: a file operation
 * @suffix: the suffix of the output's name, such as `.db`
 *
 * Declares a file a subclass makes beside the new file while preparing
 * (from `.NAME.smarthost-new`, `.NAME.smarthost-new.db`): it is put in
 * place as NAME plus @suffix, backed up, restored and deleted with the
 * file. Call it before the operation is carried out.
 */
void
smarthost_file_operation_add_output (SmarthostFileOperation *self,
                                     const char             *suffix)
{
  SmarthostFileOperationPrivate *priv;

  g_return_if_fail (SMARTHOST_IS_FILE_OPERATION (self));
  g_return_if_fail (suffix != NULL && *suffix != '\0' && strchr (suffix, '/') == NULL);
  priv = smarthost_file_operation_get_instance_private (self);
  g_ptr_array_insert (priv->outputs, priv->outputs->len - 1, g_strdup (suffix));
}

/**
 * smarthost_file_operation_get_path: (get-property path)
 * @self: a file operation
 *
 * Gets the path of the file.
 *
 * Returns: the path
 */
const char *
smarthost_file_operation_get_path (SmarthostFileOperation *self)
{
  SmarthostFileOperationPrivate *priv;

  g_return_val_if_fail (SMARTHOST_IS_FILE_OPERATION (self), NULL);
  priv = smarthost_file_operation_get_instance_private (self);
  return priv->path;
}

/**
 * smarthost_file_operation_get_new_path:
 * @self: a file operation
 *
 * Gets where the new contents are staged while the operation is prepared
 * (`.NAME.smarthost-new` beside the file): a subclass builds its outputs
 * from there.
 *
 * Returns: (transfer full): the path
 */
char *
smarthost_file_operation_get_new_path (SmarthostFileOperation *self)
{
  SmarthostFileOperationPrivate *priv;

  g_return_val_if_fail (SMARTHOST_IS_FILE_OPERATION (self), NULL);
  priv = smarthost_file_operation_get_instance_private (self);
  return tmp_path (priv->path);
}

/**
 * smarthost_file_operation_get_deletes:
 * @self: a file operation
 *
 * Tells whether the operation deletes the file.
 *
 * Returns: %TRUE if it does
 */
gboolean
smarthost_file_operation_get_deletes (SmarthostFileOperation *self)
{
  SmarthostFileOperationPrivate *priv;

  g_return_val_if_fail (SMARTHOST_IS_FILE_OPERATION (self), FALSE);
  priv = smarthost_file_operation_get_instance_private (self);
  if (priv->targets != NULL)
    return ((Target *) g_ptr_array_index (priv->targets, priv->targets->len - 1))->source == NULL;
  return priv->new_contents == NULL;
}

/**
 * smarthost_file_operation_get_existed:
 * @self: a file operation
 *
 * Tells whether the file existed when the operation was made.
 *
 * Returns: %TRUE if it did
 */
gboolean
smarthost_file_operation_get_existed (SmarthostFileOperation *self)
{
  SmarthostFileOperationPrivate *priv;

  g_return_val_if_fail (SMARTHOST_IS_FILE_OPERATION (self), FALSE);
  priv = smarthost_file_operation_get_instance_private (self);
  return priv->existed;
}

/**
 * smarthost_file_operation_get_outputs:
 * @self: a file operation
 *
 * Gets the suffixes of the outputs ([method@FileOperation.add_output]).
 *
 * Returns: (transfer none) (array zero-terminated=1): the suffixes
 */
const char * const *
smarthost_file_operation_get_outputs (SmarthostFileOperation *self)
{
  SmarthostFileOperationPrivate *priv;

  g_return_val_if_fail (SMARTHOST_IS_FILE_OPERATION (self), NULL);
  priv = smarthost_file_operation_get_instance_private (self);
  return (const char * const *) priv->outputs->pdata;
}

/* What Windows tools write and read best: UTF-16LE with a byte-order mark,
 * CRLF line ends (each LF of @text becomes CRLF). NULL when @text is not
 * valid UTF-8. */
GByteArray *
_smarthost_windows_text_encode (const char *text)
{
  static const guint8 bom[] = { 0xff, 0xfe };
  glong n = 0;
  g_autofree gunichar2 *units = g_utf8_to_utf16 (text, -1, NULL, &n, NULL);
  GByteArray *out;

  if (units == NULL)
    return NULL;
  /* Sized once (at most two units per unit), so that no copy of a
   * password is left behind by a reallocation. */
  out = g_byte_array_sized_new (2 + 4 * (guint) n);

  g_byte_array_append (out, bom, sizeof bom);
  for (glong i = 0; i < n; i++)
    {
      guint8 pair[4];
      guint len = 0;

      if (units[i] == '\n' && (i == 0 || units[i - 1] != '\r'))
        {
          pair[len++] = '\r';
          pair[len++] = 0;
        }
      pair[len++] = units[i] & 0xff;
      pair[len++] = units[i] >> 8;
      g_byte_array_append (out, pair, len);
    }
  memset (units, 0, n * sizeof (gunichar2));
  return out;
}

/* Makes @self write its new contents as Windows text
 * (_smarthost_windows_text_encode()): a .reg file for regedit. Its
 * contents, old and new, stay UTF-8 for the preview. */
void
_smarthost_file_operation_set_windows_text (SmarthostFileOperation *self,
                                            gboolean                windows_text)
{
  SmarthostFileOperationPrivate *priv = smarthost_file_operation_get_instance_private (self);

  priv->windows_text = windows_text;
}
