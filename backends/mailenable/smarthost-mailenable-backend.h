/* smarthost-mailenable-backend.h: smarthosts for MailEnable, in the Windows registry
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(__SMARTHOST_MAILENABLE_H_INSIDE__) && !defined(SMARTHOST_COMPILATION)
#error "Only <smarthost-mailenable.h> can be included directly."
#endif

#include "smarthost-backend.h"

G_BEGIN_DECLS

#define SMARTHOST_TYPE_MAILENABLE_BACKEND (smarthost_mailenable_backend_get_type ())

SMARTHOST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (SmarthostMailEnableBackend, smarthost_mailenable_backend, SMARTHOST, MAILENABLE_BACKEND,
                      GObject)

SMARTHOST_AVAILABLE_IN_ALL
SmarthostBackend *smarthost_mailenable_backend_new              (void);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostBackend *smarthost_mailenable_backend_new_for_reg_file (const char                  *reg_file,
                                                                 const char                  *output);
SMARTHOST_AVAILABLE_IN_ALL
const char       *smarthost_mailenable_backend_get_reg_file     (SmarthostMailEnableBackend  *self);
SMARTHOST_AVAILABLE_IN_ALL
const char       *smarthost_mailenable_backend_get_output       (SmarthostMailEnableBackend  *self);
SMARTHOST_AVAILABLE_IN_ALL
GPtrArray        *smarthost_mailenable_backend_schema_check     (SmarthostMailEnableBackend  *self,
                                                                 const char                  *export_path,
                                                                 GCancellable                *cancellable,
                                                                 GError                     **error);

G_END_DECLS
