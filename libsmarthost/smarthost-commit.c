/* smarthost-commit.c: the commit protocol, the journal, fault points
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
#include "smarthost-backend.h"
#include "smarthost-change.h"
#include "smarthost-change-private.h"
#include "smarthost-operation.h"
#include "smarthost-operation-private.h"
#include "smarthost-files-private.h"
#include "smarthost-private.h"
#include "smarthost-util-private.h"
#include "smarthost-platform-private.h"

/*
 * Implementation notes
 *
 * A change is an ordered list of operations (smarthost-operation.c says
 * what each does in each phase). No file system, registry or web API
 * changes several things at once, so atomicity comes from a journal and
 * recovery:
 *
 *  0. The journal, ".smarthost-journal" in the backend's state directory
 *     (the Postfix configuration directory; a local directory for backends
 *     that change a remote server), holds every operation's record. It is
 *     written under a temporary name, fsynced and renamed into place
 *     before anything else.
 *  1. Every operation is prepared: staged where the mail server does not
 *     look (a file is written beside its target; the Postfix backend then
 *     starts postmap on it). Preparations run side by side where they can
 *     (builds), and are waited for in order; then what is to be replaced
 *     is backed up, all before the first change.
 *  2. Every operation is applied, in order (files are renamed over their
 *     targets, deletions last, as the backend orders them); then the
 *     commands run (validation with postconf, reload).
 *  3. Commit point: the journal is renamed to ".smarthost-journal.committed".
 *  4. Every operation finishes (backups removed), and the committed
 *     journal goes last.
 *
 * If anything fails in-process, every operation prepared so far is undone
 * in reverse order, as recovery would. Recovery (_smarthost_journal_recover)
 * runs under the lock whenever a commit starts, and from every read when
 * it finds a journal (a read looks with two lstat() calls and takes the
 * lock only then, so it also waits for a commit in progress). It goes one
 * way, decided by the journal's name: an uncommitted journal is rolled
 * BACK (every operation rebuilt from its record and undone, in reverse
 * order); a committed one is rolled FORWARD (every operation finished).
 * Undo and finish are idempotent, so a crash during recovery is recovered
 * by the next. A crash before the commit point therefore always ends in
 * the old state, even after a reload: the commit did not report success,
 * so it did not happen.
 *
 * What "exactly the old or exactly the new state" means for files: what
 * the mail server reads has, as a whole, either all its old bytes and
 * modes (old files are restored by rename, so as the same inodes) or all
 * its new ones; absent files are absent. Leftovers (".smarthost-new",
 * ".smarthost-old", ".smarthost-journal*") may exist right after a crash;
 * the mail server never reads them and the next commit or read removes
 * them.
 *
 * The limits, honestly:
 *  - Between the first and the last apply the mail server may see a mix
 *    of old and new (for Postfix: between the first and last rename, a
 *    few microseconds). A crash there leaves the mix until the next commit
 *    or read through the library rolls it back.
 *  - A crash after a reload and before the commit point rolls the files
 *    back while the running mail server has already loaded the new ones;
 *    the next commit that changes anything reloads it.
 *  - Durability against power loss relies on fsync of files and
 *    directories in this order; a kill (the tested case) needs none of it.
 *  - An undo that fails (a file that cannot be renamed back, a request the
 *    remote server refuses) leaves the journal in place; the error is
 *    SMARTHOST_ERROR_PARTIAL, and the next commit or read tries again.
 *
 * Fault points (fault_point_names below, tests only) let a test kill the
 * process with SIGKILL at each of these moments.
 */

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
  "build",    /* after each preparation done in the background ends (Postfix: postmap made the table) */
  "backup",   /* after each hard link of an old target to .NAME.smarthost-old */
  "rename",   /* after each new file or output is renamed over its target */
  "delete",   /* after each target the commit deletes is removed */
  "apply",    /* after each operation is applied, whatever its kind (the points above are inside) */
  "step",     /* after each command; in the Postfix backend 1 validates, 2 reloads */
  "commit",   /* the journal is marked committed; backups are still there */
  "cleanup",  /* backups and new files are gone; only the committed journal is left */
  "recover",  /* after each target (or operation) an undo restores */
  NULL
};

/* Only builds configured with -Dfault_injection=true (the test builds of
 * scripts/build.sh) honour SMARTHOST_FAULT_POINT and SMARTHOST_FAIL_APPLY:
 * an installed smarthostctl runs as root, and an environment variable that
 * makes it kill itself halfway through a commit has no business there.
 * Elsewhere the fault functions are empty and the compiler drops them. */
#ifdef SMARTHOST_FAULT_INJECTION
static const char *fault_name;   /* NULL: no fault point is armed */
static guint fault_countdown;
static guint fail_apply;         /* 0: none; N: the N-th apply fails */

static void
fault_init (void)
{
  const char *env = g_getenv ("SMARTHOST_FAULT_POINT");
  const char *fail = g_getenv ("SMARTHOST_FAIL_APPLY");
  g_autofree char *name = NULL;
  const char *colon;
  guint64 n = 1;

  if (fail != NULL && *fail != '\0')
    {
      if (g_ascii_string_to_unsigned (fail, 10, 1, G_MAXUINT, &n, NULL))
        fail_apply = (guint) n;
      else
        g_warning ("SMARTHOST_FAIL_APPLY=%s: must be a number from 1; ignored", fail);
      n = 1;
    }
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

static void
fault_ensure_init (void)
{
  static gsize initialized = 0;

  if (G_UNLIKELY (g_once_init_enter (&initialized)))
    {
      fault_init ();
      g_once_init_leave (&initialized, 1);
    }
}

/* For tests only (see fault_point_names): kills the process at @name when
 * SMARTHOST_FAULT_POINT asks for it. Otherwise one atomic load and a
 * branch. */
void
_smarthost_fault_point (const char *name)
{
  fault_ensure_init ();
  if (G_LIKELY (fault_name == NULL))
    return;
  if (g_str_equal (name, fault_name) && --fault_countdown == 0)
    _smarthost_kill_self ();
}

/* For tests only: SMARTHOST_FAIL_APPLY=N makes the N-th operation a
 * commit applies fail instead, as if it had (a failure injected at each
 * operation, which the conformance suite uses on every backend). */
static gboolean
fault_fail_apply (guint       index,
                  GError    **error)
{
  fault_ensure_init ();
  if (G_LIKELY (fail_apply == 0) || index + 1 != fail_apply)
    return FALSE;
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
               "operation %u failed (SMARTHOST_FAIL_APPLY, a test build)", index + 1);
  return TRUE;
}
#else
void
_smarthost_fault_point (const char *name)
{
  (void) fault_point_names;   /* kept in every build: it documents the points */
}

static inline gboolean
fault_fail_apply (guint       index,
                  GError    **error)
{
  return FALSE;
}
#endif

/* --- the journal ---------------------------------------------------------- */

#define JOURNAL_NAME           ".smarthost-journal"
#define JOURNAL_COMMITTED_NAME ".smarthost-journal.committed"
#define JOURNAL_NEW_NAME       ".smarthost-journal.new"
/* Version 1 held only "dir" and "file" records, which version 2 reads
 * the same way: a journal left by an older libsmarthost still recovers. */
#define JOURNAL_MAGIC          "smarthost-journal 2"
#define JOURNAL_MAGIC_1        "smarthost-journal 1"

/* One line per record: its kind and fields, escaped, tab-separated. */
static char *
journal_to_string (GPtrArray *records)
{
  GString *out = g_string_new (JOURNAL_MAGIC "\n");

  for (guint i = 0; i < records->len; i++)
    {
      char **record = g_ptr_array_index (records, i);

      for (guint k = 0; record[k]; k++)
        {
          g_autofree char *field = g_strescape (record[k], NULL);
          if (k > 0)
            g_string_append_c (out, '\t');
          g_string_append (out, field);
        }
      g_string_append_c (out, '\n');
    }
  g_string_append (out, "end\n");
  return g_string_free (out, FALSE);
}

/* Writes the journal beside a temporary name, flushes it and renames it
 * into place: it is either all there or not at all. */
static gboolean
journal_write (GPtrArray   *records,
               const char  *directory,
               GError     **error)
{
  g_autofree char *path = g_build_filename (directory, JOURNAL_NAME, NULL);
  g_autofree char *tmp = g_build_filename (directory, JOURNAL_NEW_NAME, NULL);
  g_autofree char *text = journal_to_string (records);
  int fd;

  g_unlink (tmp);
  fd = g_open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return _smarthost_set_errno_error (error, errno, "journal", "cannot create", tmp);
  if (!_smarthost_write_all (fd, text, strlen (text)) || _smarthost_fsync (fd) != 0)
    {
      int saved = errno;
      close (fd);
      g_unlink (tmp);
      return _smarthost_set_errno_error (error, saved, "journal", "cannot write", tmp);
    }
  if (close (fd) != 0 || _smarthost_replace_file (tmp, path) != 0)
    {
      int saved = errno;
      g_unlink (tmp);
      return _smarthost_set_errno_error (error, saved, "journal", "cannot put in place", path);
    }
  _smarthost_fsync_path (directory, TRUE);
  return TRUE;
}

/* A field of a journal line, unescaped; FALSE for one journal_write()
 * could not have written (a lone backslash at its end). */
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
  if (!_smarthost_stat_is_ours_alone (st))
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
 * _smarthost_journal_is_trusted:
 * @path: a journal, as _smarthost_journal_find_interrupted() names it
 *
 * Tells whether recovery would trust @path (for a diagnosis, which
 * reports an untrusted journal differently from an interrupted commit).
 */
gboolean
_smarthost_journal_is_trusted (const char  *path,
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

/* The operations a journal records, rebuilt. Only a journal the running
 * user wrote is trusted: in the hands of another user, it would tell us
 * which files to move over main.cf. */
static GPtrArray *
journal_load (const char  *path,
              GError     **error)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autofree char *dir = g_path_get_dirname (path);
  gboolean ended = FALSE;
  struct stat st;
  guint n;
  int fd;

  fd = open_journal (path, &st, error);
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

  lines = g_strsplit (text, "\n", 0);
  n = g_strv_length (lines);
  if (n == 0 || (!g_str_equal (lines[0], JOURNAL_MAGIC) && !g_str_equal (lines[0], JOURNAL_MAGIC_1)))
    goto damaged;
  for (guint i = 1; i < n; i++)
    {
      g_auto(GStrv) fields = NULL;
      g_autoptr(GStrvBuilder) builder = NULL;
      g_auto(GStrv) record = NULL;
      SmarthostOperation *op;

      if (ended)
        {
          if (*lines[i] != '\0')
            goto damaged;
          continue;
        }
      if (g_str_equal (lines[i], "end"))
        {
          ended = TRUE;
          continue;
        }
      fields = g_strsplit (lines[i], "\t", 0);
      builder = g_strv_builder_new ();
      for (guint k = 0; fields[k]; k++)
        {
          g_autofree char *field = NULL;
          if (!journal_field (fields[k], &field))
            goto damaged;
          g_strv_builder_add (builder, field);
        }
      record = g_strv_builder_end (builder);
      op = smarthost_operation_new_from_record ((const char * const *) record, dir, &local_error);
      if (op == NULL)
        goto damaged;
      g_ptr_array_add (ops, op);
    }
  if (!ended)
    goto damaged;
  return g_steal_pointer (&ops);

damaged:
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
               "recover: %s is damaged, so an interrupted commit cannot be undone automatically; "
               "compare the files it lists with their .smarthost-old backups, then remove it%s%s%s", path,
               local_error ? " (" : "", local_error ? local_error->message : "", local_error ? ")" : "");
  return NULL;
}

/* Undoes @ops[0..@n) in reverse order, whatever each had reached; the
 * failures are collected in one error. */
static gboolean
undo_operations (GPtrArray     *ops,
                 guint          n,
                 GCancellable  *cancellable,
                 GError       **error)
{
  g_autoptr(GString) failures = g_string_new (NULL);

  for (guint i = n; i-- > 0;)
    {
      SmarthostOperation *op = g_ptr_array_index (ops, i);
      g_autoptr(GError) local_error = NULL;

      /* An undo runs to its end: cancelling it would leave a mix. */
      if (!SMARTHOST_OPERATION_GET_CLASS (op)->undo (op, NULL, &local_error))
        _smarthost_note_failure (failures, "%s", local_error->message);
    }
  if (failures->len)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "cannot undo the interrupted change: %s", failures->str);
      return FALSE;
    }
  return TRUE;
}

static void
finish_operations (GPtrArray *ops)
{
  for (guint i = 0; i < ops->len; i++)
    {
      SmarthostOperation *op = g_ptr_array_index (ops, i);
      SMARTHOST_OPERATION_GET_CLASS (op)->finish (op);
    }
}

static gboolean
remove_journal_file (const char  *directory,
                     const char  *name,
                     GError     **error)
{
  g_autofree char *path = g_build_filename (directory, name, NULL);

  if (g_unlink (path) != 0 && errno != ENOENT)
    return _smarthost_set_errno_error (error, errno, "recover", "cannot remove", path);
  return TRUE;
}

/* A journal in a directory that others can write may be anyone's: it is
 * reported and left alone. */
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
 * _smarthost_journal_recover:
 * @directory: the state directory holding the journal (the one commits lock)
 * @locked: whether the caller holds the lock on @directory
 *
 * Finishes a commit that was interrupted (killed, or its machine lost
 * power): an uncommitted journal is rolled back, undoing every operation,
 * a committed one rolled forward, finishing them. Either way every
 * leftover is removed. Without @locked this only looks for a journal,
 * which costs two lstat() calls, and takes the lock only if it finds one
 * (waiting for a commit in progress to end).
 */
gboolean
_smarthost_journal_recover (const char    *directory,
                            gboolean       locked,
                            guint          lock_timeout,
                            GCancellable  *cancellable,
                            GError       **error)
{
  g_autofree char *journal_path = g_build_filename (directory, JOURNAL_NAME, NULL);
  g_autofree char *committed_path = g_build_filename (directory, JOURNAL_COMMITTED_NAME, NULL);
  gboolean have_journal = _smarthost_path_present (journal_path);
  gboolean have_committed = _smarthost_path_present (committed_path);

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
      ok = _smarthost_journal_recover (directory, TRUE, lock_timeout, cancellable, error);
      _smarthost_unlock_directory (directory, lock);
      return ok;
    }
  if ((have_journal || have_committed) && !journal_directory_is_trusted (directory, error))
    return FALSE;

  if (have_journal)
    {
      g_autoptr(GPtrArray) ops = journal_load (journal_path, error);
      if (ops == NULL || !undo_operations (ops, ops->len, cancellable, error))
        return g_prefix_error (error, "%s: ", journal_path), FALSE;
      if (!remove_journal_file (directory, JOURNAL_NAME, error))
        return FALSE;
    }
  if (have_committed)
    {
      g_autoptr(GPtrArray) ops = journal_load (committed_path, error);
      if (ops == NULL)
        return FALSE;
      finish_operations (ops);
      if (!remove_journal_file (directory, JOURNAL_COMMITTED_NAME, error))
        return FALSE;
    }
  if (!remove_journal_file (directory, JOURNAL_NEW_NAME, error))
    return FALSE;
  if (have_journal || have_committed)
    _smarthost_fsync_path (directory, TRUE);
  return TRUE;
}

/*
 * _smarthost_journal_find_interrupted:
 * @directory: the state directory holding the journal
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
_smarthost_journal_find_interrupted (const char    *directory,
                                     guint          lock_timeout,
                                     GCancellable  *cancellable,
                                     GError       **error)
{
  g_autofree char *journal_path = g_build_filename (directory, JOURNAL_NAME, NULL);
  g_autofree char *committed_path = g_build_filename (directory, JOURNAL_COMMITTED_NAME, NULL);
  int lock;

  if (!_smarthost_path_present (journal_path) && !_smarthost_path_present (committed_path))
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
  if (_smarthost_path_present (journal_path))
    return g_steal_pointer (&journal_path);
  if (_smarthost_path_present (committed_path))
    return g_steal_pointer (&committed_path);
  return NULL;
}

/* --- running operations --------------------------------------------------- */

/*
 * _smarthost_operations_check:
 *
 * Checks that @operations can be carried out safely, before anything is
 * changed (and for a dry run, so that it fails the way the commit would);
 * the journal's directory, if any, must be trusted too.
 */
gboolean
_smarthost_operations_check (GPtrArray   *operations,
                             const char  *journal_directory,
                             GError     **error)
{
  for (guint i = 0; i < operations->len; i++)
    if (!smarthost_operation_check (g_ptr_array_index (operations, i), error))
      return FALSE;
  if (journal_directory != NULL)
    {
      g_autofree char *dir = _smarthost_nearest_existing (journal_directory);
      if (!_smarthost_check_trusted_directory (dir, "the directory", error))
        return FALSE;
    }
  return TRUE;
}

/* The error of a failed operation, with every secret of the change
 * masked: it may quote what a program printed. */
static void
take_error (GError    **error,
            GError     *op_error,
            GPtrArray  *secrets)
{
  if (secrets != NULL && secrets->len > 0)
    {
      g_autofree char *redacted = _smarthost_redact (op_error->message, secrets);
      g_free (op_error->message);
      op_error->message = g_steal_pointer (&redacted);
    }
  if (op_error->domain != SMARTHOST_ERROR && !g_error_matches (op_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      op_error->domain = SMARTHOST_ERROR;
      op_error->code = SMARTHOST_ERROR_FAILED;
    }
  g_propagate_error (error, op_error);
}

/* A journal left by an interrupted commit must have been recovered by the
 * caller, under the lock: a second journal would overwrite it. */
static gboolean
refuse_unrecovered (const char  *journal_directory,
                    GError     **error)
{
  g_autofree char *j1 = g_build_filename (journal_directory, JOURNAL_NAME, NULL);
  g_autofree char *j2 = g_build_filename (journal_directory, JOURNAL_COMMITTED_NAME, NULL);

  if (!_smarthost_path_present (j1) && !_smarthost_path_present (j2))
    return TRUE;
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
               "nothing was changed: an interrupted commit in %s was not recovered", journal_directory);
  return FALSE;
}

/* 0. The journal: every operation's record. From now on, a crash is
 * undone by the next recovery. */
static gboolean
write_operations_journal (GPtrArray   *operations,
               const char  *journal_directory,
               GError     **error)
{
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);

  for (guint i = 0; i < operations->len; i++)
    {
      char **record = smarthost_operation_to_record (g_ptr_array_index (operations, i));
      if (record != NULL)
        g_ptr_array_add (records, record);
    }
  if (!journal_write (records, journal_directory, error))
    return FALSE;
  _smarthost_fault_point ("journal");
  return TRUE;
}

/* 1. Prepare: start every operation (builds run side by side), then wait
 * for each in order. *@prepared counts the operations begun, the one that
 * failed included: all of them are undone. */
static gboolean
prepare_operations (GPtrArray     *operations,
                    guint         *prepared,
                    GCancellable  *cancellable,
                    GError       **error)
{
  for (*prepared = 0; *prepared < operations->len;)
    {
      SmarthostOperation *op = g_ptr_array_index (operations, *prepared);

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      (*prepared)++;
      if (!SMARTHOST_OPERATION_GET_CLASS (op)->prepare (op, cancellable, error))
        return FALSE;
    }
  for (guint i = 0; i < operations->len; i++)
    {
      SmarthostOperation *op = g_ptr_array_index (operations, i);

      if (!SMARTHOST_OPERATION_GET_CLASS (op)->wait_prepared (op, cancellable, error))
        return FALSE;
    }
  /* From here on, cancellation is left to the operations that can be
   * undone cleanly (a command stops, and everything is undone); the core
   * never stops between two applies. */
  return !g_cancellable_set_error_if_cancelled (cancellable, error);
}

static gboolean
runs_after_commit (SmarthostOperation *op)
{
  return SMARTHOST_IS_COMMAND_OPERATION (op) &&
         smarthost_command_operation_get_after_commit (SMARTHOST_COMMAND_OPERATION (op));
}

/* 2. Apply, in order: the changes, then the commands (but those that run
 * after the commit point). */
static gboolean
apply_operations (GPtrArray     *operations,
                  GCancellable  *cancellable,
                  GError       **error)
{
  for (guint i = 0; i < operations->len; i++)
    {
      SmarthostOperation *op = g_ptr_array_index (operations, i);

      if (runs_after_commit (op))
        continue;
      if (fault_fail_apply (i, error) || !SMARTHOST_OPERATION_GET_CLASS (op)->apply (op, cancellable, error))
        return FALSE;
      _smarthost_fault_point ("apply");
    }
  return TRUE;
}

/* 3. The commit point: once the journal is renamed, recovery keeps the
 * new state. */
static gboolean
mark_committed (const char  *journal_directory,
                GError     **error)
{
  g_autofree char *j1 = g_build_filename (journal_directory, JOURNAL_NAME, NULL);
  g_autofree char *j2 = g_build_filename (journal_directory, JOURNAL_COMMITTED_NAME, NULL);

  if (_smarthost_replace_file (j1, j2) != 0)
    return _smarthost_set_errno_error (error, errno, "commit", "cannot rename", j1);
  _smarthost_fsync_path (journal_directory, TRUE);
  _smarthost_fault_point ("commit");
  return TRUE;
}

/* A failure before the commit point: undoes what was prepared, and says
 * in @error whether that left everything as it was (FAILED) or not
 * (PARTIAL, and the journal stays for the next commit or read). */
static void
undo_after_failure (GPtrArray   *operations,
                    guint        prepared,
                    const char  *journal_directory,
                    GPtrArray   *secrets,
                    GError      *failure,
                    GError     **error)
{
  g_autoptr(GError) undo_error = NULL;

  if (undo_operations (operations, prepared, NULL, &undo_error) && journal_directory != NULL)
    {
      remove_journal_file (journal_directory, JOURNAL_NAME, NULL);
      _smarthost_fsync_path (journal_directory, TRUE);
    }
  take_error (error, failure, secrets);
  if (undo_error == NULL)
    {
      g_prefix_error (error, "nothing was changed: ");
      return;
    }
  /* FAILED promises that nothing was changed; this is not that. */
  if (error != NULL && *error != NULL)
    {
      (*error)->domain = SMARTHOST_ERROR;
      (*error)->code = SMARTHOST_ERROR_PARTIAL;
    }
  if (journal_directory != NULL)
    g_prefix_error (error, "%s (the next commit or read finishes undoing it, from the journal in %s): ",
                    undo_error->message, journal_directory);
  else
    g_prefix_error (error, "%s: ", undo_error->message);
}

/* 5. What runs once the change is committed (a service restart that
 * puts it into effect): its failure cannot undo the change, and is
 * reported as such (NOT_ACTIVE). Every such command runs, even after one
 * failed; the first failure is reported. */
static gboolean
run_after_commit (GPtrArray     *operations,
                  GPtrArray     *secrets,
                  GCancellable  *cancellable,
                  GError       **error)
{
  GError *failure = NULL;

  for (guint i = 0; i < operations->len; i++)
    {
      SmarthostOperation *op = g_ptr_array_index (operations, i);
      GError *local = NULL;

      if (!runs_after_commit (op) || SMARTHOST_OPERATION_GET_CLASS (op)->apply (op, cancellable, &local))
        continue;
      if (failure == NULL)
        failure = local;
      else
        g_error_free (local);
    }
  if (failure == NULL)
    return TRUE;
  take_error (error, failure, secrets);
  if (error != NULL && *error != NULL)
    {
      (*error)->domain = SMARTHOST_ERROR;
      (*error)->code = SMARTHOST_ERROR_NOT_ACTIVE;
    }
  g_prefix_error (error, "the change is committed, but not in effect until this succeeds: ");
  return FALSE;
}

/*
 * _smarthost_operations_execute:
 * @operations: the operations, in order
 * @journal_directory: (nullable): the state directory, locked and
 *   recovered by the caller; %NULL to keep no journal (tests)
 * @secrets: (nullable): what must never appear in an error message
 *
 * Carries out @operations all or nothing: see the notes at the top.
 */
gboolean
_smarthost_operations_execute (GPtrArray     *operations,
                               const char    *journal_directory,
                               GPtrArray     *secrets,
                               GCancellable  *cancellable,
                               GError       **error)
{
  GError *failure = NULL;
  guint prepared = 0;

  if (journal_directory != NULL && !refuse_unrecovered (journal_directory, error))
    return FALSE;
  if (!_smarthost_operations_check (operations, journal_directory, error))
    return g_prefix_error (error, "nothing was changed: "), FALSE;

  if ((journal_directory != NULL && !write_operations_journal (operations, journal_directory, &failure)) ||
      !prepare_operations (operations, &prepared, cancellable, &failure) ||
      !apply_operations (operations, cancellable, &failure) ||
      (journal_directory != NULL && !mark_committed (journal_directory, &failure)))
    {
      undo_after_failure (operations, prepared, journal_directory, secrets, failure, error);
      return FALSE;
    }

  /* 4. Clean up; a failure here changes nothing the mail server uses. */
  finish_operations (operations);
  _smarthost_fault_point ("cleanup");
  if (journal_directory != NULL)
    {
      remove_journal_file (journal_directory, JOURNAL_COMMITTED_NAME, NULL);
      _smarthost_fsync_path (journal_directory, TRUE);
    }
  return run_after_commit (operations, secrets, cancellable, error);
}

/*
 * _smarthost_operations_preview:
 *
 * The preview of @operations: what each changes (unified diffs for files,
 * one line for anything else), then @notes, then what runs once the
 * changes are in place. Descriptions not masked by their operation have
 * every one of @secrets masked.
 */
char *
_smarthost_operations_preview (GPtrArray *operations,
                               GPtrArray *notes,
                               GPtrArray *secrets)
{
  GString *out = g_string_new (NULL);
  g_autoptr(SmarthostRedactor) redactor = NULL;   /* built once for every operation */
  gboolean any = FALSE;

  for (guint pass = 0; pass < 3; pass++)
    {
      if (pass == 1)
        {
          for (guint i = 0; notes != NULL && i < notes->len; i++)
            g_string_append_printf (out, "# note: %s\n", (char *) g_ptr_array_index (notes, i));
          continue;
        }
      for (guint i = 0; i < operations->len; i++)
        {
          SmarthostOperation *op = g_ptr_array_index (operations, i);
          SmarthostOperationClass *klass = SMARTHOST_OPERATION_GET_CLASS (op);
          g_autofree char *text = NULL;
          gboolean masked = TRUE;

          if (!klass->after_changes != (pass == 0))
            continue;
          any = TRUE;
          text = klass->describe (op, &masked);
          if (masked || secrets == NULL || secrets->len == 0)
            {
              g_string_append (out, text);
              continue;
            }
          /* A file shown as it is may still hold one of the change's
           * secrets, written there by hand (main.cf with an inline: table
           * of passwords, as context of the change): mask them too. */
          if (redactor == NULL)
            redactor = _smarthost_redactor_new (secrets);
          _smarthost_redactor_append (redactor, out, text);
        }
    }
  if (!any)
    g_string_append (out, "# no change\n");
  return g_string_free (out, FALSE);
}

/* --- the commit protocol ---------------------------------------------------- */

/* How long a commit waits for another one: a backend's "lock-timeout"
 * property when it has one, else five minutes. */
static guint
lock_timeout_of (SmarthostBackend *backend)
{
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (backend), "lock-timeout");
  guint timeout = 300;

  if (pspec != NULL && pspec->value_type == G_TYPE_UINT && (pspec->flags & G_PARAM_READABLE))
    g_object_get (backend, "lock-timeout", &timeout, NULL);
  return timeout;
}

static char *
state_directory_of (SmarthostBackend  *backend,
                    GError           **error)
{
  SmarthostBackendInterface *iface = SMARTHOST_BACKEND_GET_IFACE (backend);
  char *dir;

  if (iface->get_state_directory == NULL)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED,
                   "the %s backend names no state directory", smarthost_backend_get_name (backend));
      return NULL;
    }
  dir = iface->get_state_directory (backend, error);
  g_return_val_if_fail (dir == NULL || g_path_is_absolute (dir), NULL);
  return dir;
}

/* A dry run: the operations are built and checked, never carried out, and
 * nothing is changed, not even to finish an interrupted commit. */
static gboolean
run_dry (SmarthostBackend  *backend,
         SmarthostChange   *change,
         const char        *dir,
         GCancellable      *cancellable,
         GError           **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *journal = NULL;

  journal = _smarthost_journal_find_interrupted (dir, lock_timeout_of (backend), cancellable, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  /* Past its commit point, an interrupted commit left the new state
   * whole (only its backups are to be removed): it can be read. */
  if (journal != NULL && !g_str_has_suffix (journal, ".committed"))
    {
      g_autofree char *dir_shown = _smarthost_quote_path (dir);
      g_autofree char *journal_shown = _smarthost_quote_path (journal);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "dry run: a commit in %s was interrupted and left %s; a dry run changes nothing, so it "
                   "cannot finish it: read the configuration first (smarthost_backend_get_state()) to "
                   "finish or undo that commit, then try again", dir_shown, journal_shown);
      return FALSE;
    }
  if (!SMARTHOST_BACKEND_GET_IFACE (backend)->build_change (backend, change, cancellable, error))
    return FALSE;
  /* What the commit would refuse, the dry run refuses too. */
  if (_smarthost_change_has_changes (change) &&
      !_smarthost_operations_check (smarthost_change_get_operations (change), dir, error))
    return g_prefix_error (error, "dry run: "), FALSE;
  return TRUE;
}

/*
 * _smarthost_change_run:
 * @changed: (out): whether the mail server was changed
 *
 * The commit protocol, for every backend that builds operations: lock the
 * state directory, recover an interrupted commit, let the backend read
 * its state and build the operations, then carry them out all or nothing.
 * With #SmarthostChange:dry-run, only builds and checks them.
 */
gboolean
_smarthost_change_run (SmarthostBackend  *backend,
                       SmarthostChange   *change,
                       gboolean          *changed,
                       GCancellable      *cancellable,
                       GError           **error)
{
  g_autofree char *dir = NULL;
  guint timeout = lock_timeout_of (backend);
  gboolean ok;
  int lock;

  *changed = FALSE;
  dir = state_directory_of (backend, error);
  if (dir == NULL)
    return FALSE;
  if (smarthost_change_get_dry_run (change))
    return run_dry (backend, change, dir, cancellable, error);

  /* A backend of a remote server keeps its state in a directory of its
   * own, made on first use; only its parents must exist. */
  if (!_smarthost_path_present (dir))
    {
      /* Made only inside a directory no other user controls: a state
       * directory refused afterwards would already be a change. */
      g_autofree char *parent = _smarthost_nearest_existing (dir);

      if (!_smarthost_check_trusted_directory (parent, "the directory the state directory is made in", error))
        return g_prefix_error (error, "nothing was changed: "), FALSE;
      if (g_mkdir_with_parents (dir, 0700) != 0)
        return _smarthost_set_errno_error (error, errno, "nothing was changed", "cannot create the state directory", dir);
      _smarthost_protect_state_directory (dir);
    }

  /* The lock and the journal live here: no other user may be able to
   * plant or swap a file in it. */
  if (!_smarthost_check_trusted_directory (dir, "the state directory", error))
    return g_prefix_error (error, "nothing was changed: "), FALSE;

  /* The operations are built under the lock, from the state the commit
   * will replace, so that concurrent commits never lose each other's
   * changes; a commit killed halfway is undone (or finished, past its
   * commit point) first. */
  lock = _smarthost_lock_directory_full (dir, FALSE, timeout, cancellable, error);
  if (lock < 0)
    return FALSE;
  ok = _smarthost_journal_recover (dir, TRUE, timeout, cancellable, error) &&
       SMARTHOST_BACKEND_GET_IFACE (backend)->build_change (backend, change, cancellable, error);
  if (ok && _smarthost_change_has_changes (change))
    {
      GError *local = NULL;

      ok = _smarthost_operations_execute (smarthost_change_get_operations (change), dir,
                                          _smarthost_change_get_secrets (change), cancellable, &local);
      *changed = ok || g_error_matches (local, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_ACTIVE);
      if (local != NULL)
        g_propagate_error (error, local);
    }
  _smarthost_unlock_directory (dir, lock);
  return ok;
}

/* Finishes an interrupted commit before a read, if the backend has a
 * state directory; a backend that cannot name one now reports why from
 * the read itself. */
gboolean
_smarthost_backend_recover_quietly (SmarthostBackend  *backend,
                                    GCancellable      *cancellable,
                                    GError           **error)
{
  g_autofree char *dir = NULL;

  if (SMARTHOST_BACKEND_GET_IFACE (backend)->get_state_directory == NULL)
    return TRUE;
  dir = SMARTHOST_BACKEND_GET_IFACE (backend)->get_state_directory (backend, NULL);
  if (dir == NULL)
    return TRUE;
  return _smarthost_journal_recover (dir, FALSE, lock_timeout_of (backend), cancellable, error);
}

/* A read in progress: the state directory's lock, shared, so that a
 * read sees one commit whole, never part of the next. */
struct _SmarthostReadLock
{
  char *dir;
  int fd;
};

void
_smarthost_read_lock_free (SmarthostReadLock *lock)
{
  if (lock == NULL)
    return;
  if (lock->fd >= 0)
    _smarthost_unlock_directory (lock->dir, lock->fd);
  g_free (lock->dir);
  g_free (lock);
}

/*
 * _smarthost_backend_begin_read:
 *
 * Before a read through a backend that commits through the core: finishes
 * an interrupted commit, then takes the state directory's lock shared
 * (waiting for a commit in progress), so that a backend written outside
 * the library reads consistently too. A directory that does not exist
 * yet (nothing committed), that could be another user's, or whose lock the
 * running user cannot take is not locked: the read goes on, and the
 * backend reports what it must.
 *
 * Returns: (transfer full): the lock to free once read, or %NULL with
 *   @error set
 */
SmarthostReadLock *
_smarthost_backend_begin_read (SmarthostBackend  *backend,
                               GCancellable      *cancellable,
                               GError           **error)
{
  SmarthostReadLock *lock = g_new0 (SmarthostReadLock, 1);
  guint timeout = lock_timeout_of (backend);
  g_autoptr(GError) local_error = NULL;
  struct stat st;

  lock->fd = -1;
  if (SMARTHOST_BACKEND_GET_IFACE (backend)->get_state_directory == NULL ||
      (lock->dir = SMARTHOST_BACKEND_GET_IFACE (backend)->get_state_directory (backend, NULL)) == NULL)
    return lock;
  if (!_smarthost_journal_recover (lock->dir, FALSE, timeout, cancellable, error))
    {
      _smarthost_read_lock_free (lock);
      return NULL;
    }
  if (_smarthost_lstat (lock->dir, &st) != 0 || !S_ISDIR (st.st_mode) ||
      !_smarthost_check_trusted_directory (lock->dir, "the state directory", NULL))
    return lock;
  /* A reader that cannot take the lock (a user who may not create lock
   * files) reads without it, as the Postfix backend's reads always did;
   * one that waited in vain for a commit says so. */
  lock->fd = _smarthost_lock_directory_full (lock->dir, TRUE, timeout, cancellable, &local_error);
  if (lock->fd < 0 && (g_error_matches (local_error, SMARTHOST_ERROR, SMARTHOST_ERROR_CONFLICT) ||
                       g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED)))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      _smarthost_read_lock_free (lock);
      return NULL;
    }
  return lock;
}
