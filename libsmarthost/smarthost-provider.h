/* smarthost-provider.h: presets for well-known relay services
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(__SMARTHOST_H_INSIDE__) && !defined(SMARTHOST_COMPILATION)
#error "Only <smarthost.h> can be included directly."
#endif

#include <glib-object.h>
#include "smarthost-version.h"
#include "smarthost-relay.h"
#include "smarthost-state.h"

G_BEGIN_DECLS

#define SMARTHOST_TYPE_PROVIDER (smarthost_provider_get_type ())

SMARTHOST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (SmarthostProvider, smarthost_provider, SMARTHOST, PROVIDER, GObject)

SMARTHOST_AVAILABLE_IN_ALL
GPtrArray          *smarthost_provider_list                 (void);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostProvider  *smarthost_provider_lookup               (const char         *id,
                                                             GError            **error);
SMARTHOST_AVAILABLE_IN_ALL
const char         *smarthost_provider_get_id               (SmarthostProvider  *self);
SMARTHOST_AVAILABLE_IN_ALL
const char         *smarthost_provider_get_name             (SmarthostProvider  *self);
SMARTHOST_AVAILABLE_IN_ALL
char               *smarthost_provider_get_host             (SmarthostProvider  *self,
                                                             const char         *region,
                                                             GError            **error);
SMARTHOST_AVAILABLE_IN_ALL
const char * const *smarthost_provider_get_regions          (SmarthostProvider  *self);
SMARTHOST_AVAILABLE_IN_ALL
const char         *smarthost_provider_get_default_region   (SmarthostProvider  *self);
SMARTHOST_AVAILABLE_IN_ALL
guint               smarthost_provider_get_port             (SmarthostProvider  *self,
                                                             SmarthostSecurity   security);
SMARTHOST_AVAILABLE_IN_ALL
const guint        *smarthost_provider_get_ports            (SmarthostProvider  *self,
                                                             SmarthostSecurity   security,
                                                             gsize              *n_ports);
SMARTHOST_AVAILABLE_IN_ALL
const char         *smarthost_provider_get_username         (SmarthostProvider  *self);
SMARTHOST_AVAILABLE_IN_ALL
const char         *smarthost_provider_get_spf_include      (SmarthostProvider  *self);
SMARTHOST_AVAILABLE_IN_ALL
const char * const *smarthost_provider_get_quirks           (SmarthostProvider  *self);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostRelay     *smarthost_provider_create_relay         (SmarthostProvider  *self,
                                                             const char         *region,
                                                             SmarthostSecurity   security,
                                                             GError            **error);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostProvider  *smarthost_provider_find_for_relay       (SmarthostRelay     *relay,
                                                             char              **region);

SMARTHOST_AVAILABLE_IN_ALL
char               *smarthost_provider_to_json              (SmarthostProvider  *self);
SMARTHOST_AVAILABLE_IN_ALL
char              **smarthost_provider_quirks_for_state     (SmarthostState     *state);

G_END_DECLS
