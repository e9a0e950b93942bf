/* smarthost-keyfile-group-operation.h: one group of a key file, set or deleted
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The operation kind of the test backend (smarthost-keyfile-backend.h).
 * Like the backend, it is compiled against the installed headers only.
 */
#pragma once

#include <smarthost.h>

G_BEGIN_DECLS

#define SMARTHOST_TYPE_KEYFILE_GROUP_OPERATION (smarthost_keyfile_group_operation_get_type ())
G_DECLARE_FINAL_TYPE (SmarthostKeyfileGroupOperation, smarthost_keyfile_group_operation,
                      SMARTHOST, KEYFILE_GROUP_OPERATION, SmarthostOperation)

SmarthostOperation *smarthost_keyfile_group_operation_new   (const char  *path,
                                                             const char  *group,
                                                             const char  *old_text,
                                                             const char  *new_text,
                                                             gboolean     fail_undo);

gboolean            smarthost_keyfile_group_operation_claim (const char  *state_directory,
                                                             const char  *path,
                                                             GError     **error);

/* Shared with the backend: reading the key file and its groups. */
GKeyFile           *smarthost_keyfile_load                  (const char  *path,
                                                             GError     **error);
char               *smarthost_keyfile_group_to_text         (GKeyFile    *key_file,
                                                             const char  *group);
gboolean            smarthost_keyfile_group_name_is_valid   (const char  *group);

G_END_DECLS
