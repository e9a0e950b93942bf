/* smarthost-operation.h: one reversible step of a change
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(__SMARTHOST_H_INSIDE__) && !defined(SMARTHOST_COMPILATION)
#error "Only <smarthost.h> can be included directly."
#endif

#include <gio/gio.h>
#include "smarthost-version.h"

G_BEGIN_DECLS

#define SMARTHOST_TYPE_OPERATION (smarthost_operation_get_type ())

SMARTHOST_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (SmarthostOperation, smarthost_operation, SMARTHOST, OPERATION, GObject)

/**
 * SmarthostOperationClass:
 * @parent_class: the parent class
 * @kind: the name of the operation's journal records, unique among all
 *   operation types (the core's are `"dir"` and `"file"`); %NULL for the
 *   name of the type (which bindings cannot set otherwise)
 * @after_changes: whether the operation runs once every change is in
 *   place, as validation and reload do; its preview line comes after the
 *   notes
 * @describe: the operation for a preview, secrets masked: a unified diff
 *   for a file, one line starting with `# ` otherwise. Set *@masked to
 *   %FALSE when the text may hold a secret of the change (the core then
 *   masks every secret the change knows)
 * @check: whether the operation can be carried out safely, before
 *   anything is changed; also run by a dry run
 * @prepare: stages the operation without changing what the mail server
 *   uses (writes a new file beside its target). May start work in the
 *   background that @wait_prepared waits for
 * @wait_prepared: waits for the work @prepare started, then finishes
 *   staging (backs up what @apply replaces)
 * @apply: makes the change the mail server sees
 * @undo: puts back what the operation changed and removes what it staged.
 *   It is called on every operation whose @prepare was called, in reverse
 *   order, whatever point it reached, and on operations rebuilt from the
 *   journal after a crash: it must be idempotent
 * @finish: after the commit point: removes backups and staged leftovers
 * @to_record: the fields of the operation's journal record, written before
 *   anything is prepared, from which @load_record rebuilds an operation
 *   that can @undo or @finish it in another process; %NULL for an
 *   operation that has nothing to undo (a command)
 * @load_record: loads a journal record into an operation just created
 *   (with g_object_new() and no properties); @directory is the state
 *   directory the journal is in. It must refuse a record that names
 *   anything the operation could not have written
 *
 * The virtual functions of an operation. See [class@Operation].
 */
struct _SmarthostOperationClass
{
  GObjectClass parent_class;

  const char *kind;
  gboolean    after_changes;

  char                *(*describe)      (SmarthostOperation  *self,
                                         gboolean            *masked);
  gboolean             (*check)         (SmarthostOperation  *self,
                                         GError             **error);
  gboolean             (*prepare)       (SmarthostOperation  *self,
                                         GCancellable        *cancellable,
                                         GError             **error);
  gboolean             (*wait_prepared) (SmarthostOperation  *self,
                                         GCancellable        *cancellable,
                                         GError             **error);
  gboolean             (*apply)         (SmarthostOperation  *self,
                                         GCancellable        *cancellable,
                                         GError             **error);
  gboolean             (*undo)          (SmarthostOperation  *self,
                                         GCancellable        *cancellable,
                                         GError             **error);
  void                 (*finish)        (SmarthostOperation  *self);
  char               **(*to_record)     (SmarthostOperation  *self);
  gboolean             (*load_record)   (SmarthostOperation  *self,
                                         const char * const  *fields,
                                         const char          *directory,
                                         GError             **error);

  /*< private >*/
  gpointer padding[8];
};

SMARTHOST_AVAILABLE_IN_ALL
const char *smarthost_operation_get_kind     (SmarthostOperation  *self);
SMARTHOST_AVAILABLE_IN_ALL
char       *smarthost_operation_describe     (SmarthostOperation  *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean    smarthost_operation_check        (SmarthostOperation  *self,
                                              GError             **error);
SMARTHOST_AVAILABLE_IN_ALL
char      **smarthost_operation_to_record    (SmarthostOperation  *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean    smarthost_operation_load_record  (SmarthostOperation  *self,
                                              const char * const  *fields,
                                              const char          *directory,
                                              GError             **error);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostOperation *smarthost_operation_new_from_record (const char * const  *record,
                                                         const char          *directory,
                                                         GError             **error);

/* The generic kinds. */

#define SMARTHOST_TYPE_DIRECTORY_OPERATION (smarthost_directory_operation_get_type ())
SMARTHOST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (SmarthostDirectoryOperation, smarthost_directory_operation, SMARTHOST, DIRECTORY_OPERATION,
                      SmarthostOperation)

SMARTHOST_AVAILABLE_IN_ALL
SmarthostOperation *smarthost_directory_operation_new (const char *path,
                                                       guint       mode);

#define SMARTHOST_TYPE_FILE_OPERATION (smarthost_file_operation_get_type ())
SMARTHOST_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (SmarthostFileOperation, smarthost_file_operation, SMARTHOST, FILE_OPERATION,
                          SmarthostOperation)

/**
 * SmarthostFileOperationClass:
 * @parent_class: the parent class
 *
 * The class of file replacements; subclasses (such as a file that is
 * compiled into a table once written) chain up to every virtual function
 * of [class@Operation] they override.
 */
struct _SmarthostFileOperationClass
{
  SmarthostOperationClass parent_class;

  /*< private >*/
  gpointer padding[4];
};

SMARTHOST_AVAILABLE_IN_ALL
SmarthostOperation *smarthost_file_operation_new        (const char          *path,
                                                         const char          *old_contents,
                                                         const char          *new_contents,
                                                         guint                mode);
SMARTHOST_AVAILABLE_IN_ALL
void                smarthost_file_operation_set_masked (SmarthostFileOperation *self,
                                                         const char          *masked_old,
                                                         const char          *masked_new);
SMARTHOST_AVAILABLE_IN_ALL
void                smarthost_file_operation_add_output (SmarthostFileOperation *self,
                                                         const char          *suffix);
SMARTHOST_AVAILABLE_IN_ALL
const char         *smarthost_file_operation_get_path   (SmarthostFileOperation *self);
SMARTHOST_AVAILABLE_IN_ALL
char               *smarthost_file_operation_get_new_path (SmarthostFileOperation *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean            smarthost_file_operation_get_deletes  (SmarthostFileOperation *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean            smarthost_file_operation_get_existed  (SmarthostFileOperation *self);
SMARTHOST_AVAILABLE_IN_ALL
const char * const *smarthost_file_operation_get_outputs  (SmarthostFileOperation *self);

/**
 * SmarthostCommandFunc:
 * @user_data: the data given with the function
 * @cancellable: (nullable): the commit's #GCancellable
 * @error: return location for a #GError
 *
 * What a command operation runs once the changes are in place.
 *
 * Returns: %TRUE on success; %FALSE with @error set undoes the change
 */
typedef gboolean (*SmarthostCommandFunc) (gpointer       user_data,
                                          GCancellable  *cancellable,
                                          GError       **error);

#define SMARTHOST_TYPE_COMMAND_OPERATION (smarthost_command_operation_get_type ())
SMARTHOST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (SmarthostCommandOperation, smarthost_command_operation, SMARTHOST, COMMAND_OPERATION,
                      SmarthostOperation)

SMARTHOST_AVAILABLE_IN_ALL
SmarthostOperation *smarthost_command_operation_new      (const char * const  *argv,
                                                          guint                timeout);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostOperation *smarthost_command_operation_new_func (const char          *description,
                                                          SmarthostCommandFunc func,
                                                          gpointer             user_data,
                                                          GDestroyNotify       destroy);
SMARTHOST_AVAILABLE_IN_ALL
void                smarthost_command_operation_set_after_commit (SmarthostCommandOperation *self,
                                                                  gboolean                   after_commit);
SMARTHOST_AVAILABLE_IN_ALL
gboolean            smarthost_command_operation_get_after_commit (SmarthostCommandOperation *self);

G_END_DECLS
