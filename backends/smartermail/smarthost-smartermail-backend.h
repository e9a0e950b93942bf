/* smarthost-smartermail-backend.h: smarthosts for SmarterMail, through its web API
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(__SMARTHOST_SMARTERMAIL_H_INSIDE__) && !defined(SMARTHOST_COMPILATION)
#error "Only <smarthost-smartermail.h> can be included directly."
#endif

#include "smarthost-backend.h"

G_BEGIN_DECLS

#define SMARTHOST_TYPE_SMARTERMAIL_BACKEND (smarthost_smartermail_backend_get_type ())

SMARTHOST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (SmarthostSmarterMailBackend, smarthost_smartermail_backend, SMARTHOST, SMARTERMAIL_BACKEND,
                      GObject)

SMARTHOST_AVAILABLE_IN_ALL
SmarthostBackend *smarthost_smartermail_backend_new          (const char                   *url,
                                                              const char                   *admin,
                                                              const char                   *admin_password);
SMARTHOST_AVAILABLE_IN_ALL
const char       *smarthost_smartermail_backend_get_url      (SmarthostSmarterMailBackend  *self);
SMARTHOST_AVAILABLE_IN_ALL
const char       *smarthost_smartermail_backend_get_admin    (SmarthostSmarterMailBackend  *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean          smarthost_smartermail_backend_get_insecure (SmarthostSmarterMailBackend  *self);
SMARTHOST_AVAILABLE_IN_ALL
GPtrArray        *smarthost_smartermail_backend_schema_check (SmarthostSmarterMailBackend  *self,
                                                              GCancellable                 *cancellable,
                                                              GError                      **error);

G_END_DECLS
