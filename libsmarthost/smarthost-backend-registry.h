/* smarthost-backend-registry.h: backends chosen by name
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(__SMARTHOST_H_INSIDE__) && !defined(SMARTHOST_COMPILATION)
#error "Only <smarthost.h> can be included directly."
#endif

#include "smarthost-backend.h"

G_BEGIN_DECLS

SMARTHOST_AVAILABLE_IN_ALL
SmarthostBackend  *smarthost_backend_new_for_name      (const char  *name,
                                                        GError     **error);
SMARTHOST_AVAILABLE_IN_ALL
char             **smarthost_backend_list_names        (void);
SMARTHOST_AVAILABLE_IN_ALL
GPtrArray         *smarthost_backend_list_settings_for_name     (const char  *name,
                                                                 GError     **error);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostBackend  *smarthost_backend_new_for_name_with_settings (const char  *name,
                                                                 GHashTable  *settings,
                                                                 GError     **error);

G_END_DECLS
