/* smarthost-spf.h: SPF records that authorize a relay service
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

/**
 * SMARTHOST_SPF_MAX_LOOKUPS:
 *
 * How many DNS-querying terms an SPF record may hold (RFC 7208, 4.6.4).
 */
#define SMARTHOST_SPF_MAX_LOOKUPS 10

SMARTHOST_AVAILABLE_IN_ALL
char   *smarthost_spf_merge          (const char           *record,
                                      const char           *include,
                                      char               ***warnings,
                                      GError              **error);
SMARTHOST_AVAILABLE_IN_ALL
char   *smarthost_spf_merge_for_domain (const char         *domain,
                                        const char         *record,
                                        const char         *include,
                                        char             ***warnings,
                                        GError            **error);
SMARTHOST_AVAILABLE_IN_ALL
gboolean smarthost_spf_authorizes    (const char           *record,
                                      const char           *include);
SMARTHOST_AVAILABLE_IN_ALL
guint   smarthost_spf_count_lookups  (const char           *record);
SMARTHOST_AVAILABLE_IN_ALL
char   *smarthost_spf_to_zone_text   (const char           *record);

SMARTHOST_AVAILABLE_IN_ALL
char  **smarthost_spf_lookup         (const char           *domain,
                                      GCancellable         *cancellable,
                                      GError              **error);
SMARTHOST_AVAILABLE_IN_ALL
void    smarthost_spf_lookup_async   (const char           *domain,
                                      GCancellable         *cancellable,
                                      GAsyncReadyCallback   callback,
                                      gpointer              user_data);
SMARTHOST_AVAILABLE_IN_ALL
char  **smarthost_spf_lookup_finish  (GAsyncResult         *result,
                                      GError              **error);

SMARTHOST_AVAILABLE_IN_ALL
char   *smarthost_spf_result_to_json (const char           *domain,
                                      const char           *current,
                                      const char           *record,
                                      const char           *include,
                                      const char * const   *warnings);

G_END_DECLS
