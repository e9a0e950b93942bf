/* smarthost-backend-private.h: what backends use from the core
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "smarthost-backend.h"

G_BEGIN_DECLS

void     _smarthost_backend_ensure_extension_point (void);
/* Why a built-in backend's type lacks @capability (one flag), added to the
 * NOT_SUPPORTED error that asking for it gets. Called from class_init. */
void     _smarthost_backend_set_unsupported_reason (GType                  backend_type,
                                                    SmarthostCapabilities  capability,
                                                    const char            *reason);
gboolean _smarthost_backend_check_relay            (SmarthostBackend  *self,
                                                    SmarthostRelay    *relay,
                                                    gboolean           for_domain,
                                                    GError           **error);

gboolean _smarthost_backend_missing                 (SmarthostBackend  *self,
                                                    gconstpointer      vfunc,
                                                    const char        *name,
                                                    GError           **error);

gboolean _smarthost_backend_setting_to_value        (SmarthostBackendSetting  *setting,
                                                    GType                     type,
                                                    const char               *text,
                                                    GValue                   *value,
                                                    GError                  **error);

G_END_DECLS
