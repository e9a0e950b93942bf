/* smarthost-postfix-map-operation.h: a lookup table and its postmap build
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "smarthost-operation.h"

G_BEGIN_DECLS

#define SMARTHOST_TYPE_POSTFIX_MAP_OPERATION (smarthost_postfix_map_operation_get_type ())
G_DECLARE_FINAL_TYPE (SmarthostPostfixMapOperation, smarthost_postfix_map_operation, SMARTHOST,
                      POSTFIX_MAP_OPERATION, SmarthostFileOperation)

SmarthostOperation *_smarthost_postfix_map_operation_new_take (const char         *path,
                                                               char               *old_contents,
                                                               gboolean            old_borrowed,
                                                               char               *new_contents,
                                                               guint               mode,
                                                               char               *masked_old,
                                                               char               *masked_new,
                                                               const char * const *argv,
                                                               const char * const *outputs);

G_END_DECLS
