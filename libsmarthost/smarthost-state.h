/* smarthost-state.h: the complete smarthost state of a mail server
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

G_BEGIN_DECLS

#define SMARTHOST_TYPE_STATE (smarthost_state_get_type ())

SMARTHOST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (SmarthostState, smarthost_state, SMARTHOST, STATE, GObject)

SMARTHOST_AVAILABLE_IN_ALL
SmarthostState  *smarthost_state_new            (void);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostState  *smarthost_state_new_from_json  (const char           *json,
                                                 SmarthostJsonFlags    flags,
                                                 GError              **error);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostState  *smarthost_state_new_from_file  (const char           *path,
                                                 SmarthostJsonFlags    flags,
                                                 GError              **error);
SMARTHOST_AVAILABLE_IN_ALL
char            *smarthost_state_to_json        (SmarthostState       *self);

SMARTHOST_AVAILABLE_IN_ALL
const char      *smarthost_state_get_backend_name (SmarthostState     *self);
SMARTHOST_AVAILABLE_IN_ALL
void             smarthost_state_set_backend_name (SmarthostState     *self,
                                                   const char         *backend_name);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostRelay  *smarthost_state_get_server     (SmarthostState       *self);
SMARTHOST_AVAILABLE_IN_ALL
void             smarthost_state_set_server     (SmarthostState       *self,
                                                 SmarthostRelay       *relay);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostRelay  *smarthost_state_get_domain     (SmarthostState       *self,
                                                 const char           *domain);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostRelay  *smarthost_state_get_effective_relay (SmarthostState  *self,
                                                      const char      *domain);
SMARTHOST_AVAILABLE_IN_ALL
gboolean         smarthost_state_set_domain     (SmarthostState       *self,
                                                 const char           *domain,
                                                 SmarthostRelay       *relay,
                                                 GError              **error);
SMARTHOST_AVAILABLE_IN_ALL
char           **smarthost_state_list_domains   (SmarthostState       *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean         smarthost_state_equal          (SmarthostState       *self,
                                                 SmarthostState       *other);

G_END_DECLS
