/* smarthost-operation-private.h: running operations, the journal, fault points
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include "smarthost-operation.h"

G_BEGIN_DECLS

/* Fault points (tests only): see smarthost-commit.c. */
void      _smarthost_fault_point            (const char  *name);

/* File plumbing shared by the operation kinds. */
char     *_smarthost_sibling_path           (const char  *path,
                                             const char  *suffix);
gboolean  _smarthost_set_errno_error        (GError     **error,
                                             int          saved_errno,
                                             const char  *step,
                                             const char  *what,
                                             const char  *path);
gboolean  _smarthost_path_present           (const char  *path);
gboolean  _smarthost_fsync_path             (const char  *path,
                                             gboolean     directory);
char     *_smarthost_nearest_existing       (const char  *path);
gboolean  _smarthost_journal_path_inside    (const char  *directory,
                                             const char  *path);
gboolean  _smarthost_write_all              (int          fd,
                                             const char  *p,
                                             gsize        len);
gboolean  _smarthost_contents_unchanged     (char        *old_contents,
                                             gboolean     old_borrowed,
                                             char        *new_contents,
                                             char        *masked_old,
                                             char        *masked_new);
void      _smarthost_note_failure           (GString     *failures,
                                             const char  *format,
                                             ...) G_GNUC_PRINTF (2, 3);

/* File operations without copies, for the large files of a commit: takes
 * @new_contents, @masked_old and @masked_new, and @old_contents unless
 * @old_borrowed (the caller then keeps it alive as long as the
 * operation). Returns NULL, freeing what it took, when nothing changes. */
SmarthostOperation *_smarthost_file_operation_new_take (const char *path,
                                                        char       *old_contents,
                                                        gboolean    old_borrowed,
                                                        char       *new_contents,
                                                        guint       mode,
                                                        char       *masked_old,
                                                        char       *masked_new);
GByteArray *_smarthost_windows_text_encode (const char *text);
void      _smarthost_file_operation_set_windows_text (SmarthostFileOperation *self,
                                                      gboolean                windows_text);
void      _smarthost_file_operation_set_contents (SmarthostFileOperation *self,
                                                  const char *path,
                                                  char       *old_contents,
                                                  gboolean    old_borrowed,
                                                  char       *new_contents,
                                                  guint       mode,
                                                  char       *masked_old,
                                                  char       *masked_new);

/* Running a list of operations (smarthost-commit.c). */
gboolean  _smarthost_operations_check       (GPtrArray     *operations,
                                             const char    *journal_directory,
                                             GError       **error);
gboolean  _smarthost_operations_execute     (GPtrArray     *operations,
                                             const char    *journal_directory,
                                             GPtrArray     *secrets,
                                             GCancellable  *cancellable,
                                             GError       **error);
char     *_smarthost_operations_preview     (GPtrArray     *operations,
                                             GPtrArray     *notes,
                                             GPtrArray     *secrets);

/* The journal of an interrupted commit. */
gboolean  _smarthost_journal_recover        (const char    *directory,
                                             gboolean       locked,
                                             guint          lock_timeout,
                                             GCancellable  *cancellable,
                                             GError       **error);
char     *_smarthost_journal_find_interrupted (const char  *directory,
                                               guint        lock_timeout,
                                               GCancellable *cancellable,
                                               GError     **error);
gboolean  _smarthost_journal_is_trusted     (const char    *path,
                                             GError       **error);

G_END_DECLS
