/* smarthost-change.h: what a backend is asked to make, and what it makes of it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(__SMARTHOST_H_INSIDE__) && !defined(SMARTHOST_COMPILATION)
#error "Only <smarthost.h> can be included directly."
#endif

#include <gio/gio.h>
#include "smarthost-version.h"
#include "smarthost-relay.h"
#include "smarthost-state.h"
#include "smarthost-operation.h"

G_BEGIN_DECLS

#define SMARTHOST_TYPE_CHANGE (smarthost_change_get_type ())

SMARTHOST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (SmarthostChange, smarthost_change, SMARTHOST, CHANGE, GObject)

SMARTHOST_AVAILABLE_IN_ALL
SmarthostChange *smarthost_change_new                 (void);

/* What is asked. */
SMARTHOST_AVAILABLE_IN_ALL
gboolean         smarthost_change_get_server          (SmarthostChange     *self,
                                                       SmarthostRelay     **relay);
SMARTHOST_AVAILABLE_IN_ALL
void             smarthost_change_set_server          (SmarthostChange     *self,
                                                       SmarthostRelay      *relay);
SMARTHOST_AVAILABLE_IN_ALL
GHashTable      *smarthost_change_get_domains         (SmarthostChange     *self);
SMARTHOST_AVAILABLE_IN_ALL
void             smarthost_change_set_domain          (SmarthostChange     *self,
                                                       const char          *domain,
                                                       SmarthostRelay      *relay);
SMARTHOST_AVAILABLE_IN_ALL
gboolean         smarthost_change_get_replace_domains (SmarthostChange     *self);
SMARTHOST_AVAILABLE_IN_ALL
void             smarthost_change_set_replace_domains (SmarthostChange     *self,
                                                       gboolean             replace_domains);
SMARTHOST_AVAILABLE_IN_ALL
gboolean         smarthost_change_get_adopting        (SmarthostChange     *self);
SMARTHOST_AVAILABLE_IN_ALL
void             smarthost_change_set_adopting        (SmarthostChange     *self,
                                                       gboolean             adopting);
SMARTHOST_AVAILABLE_IN_ALL
gboolean         smarthost_change_get_reload          (SmarthostChange     *self);
SMARTHOST_AVAILABLE_IN_ALL
void             smarthost_change_set_reload          (SmarthostChange     *self,
                                                       gboolean             reload);
SMARTHOST_AVAILABLE_IN_ALL
gboolean         smarthost_change_get_dry_run         (SmarthostChange     *self);
SMARTHOST_AVAILABLE_IN_ALL
void             smarthost_change_set_dry_run         (SmarthostChange     *self,
                                                       gboolean             dry_run);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostState  *smarthost_change_apply_to            (SmarthostChange     *self,
                                                       SmarthostState      *current);

/* What the backend makes of it. */
SMARTHOST_AVAILABLE_IN_ALL
void             smarthost_change_add_operation       (SmarthostChange     *self,
                                                       SmarthostOperation  *operation);
SMARTHOST_AVAILABLE_IN_ALL
GPtrArray       *smarthost_change_get_operations      (SmarthostChange     *self);
SMARTHOST_AVAILABLE_IN_ALL
void             smarthost_change_add_note            (SmarthostChange     *self,
                                                       const char          *note);
SMARTHOST_AVAILABLE_IN_ALL
void             smarthost_change_add_secret          (SmarthostChange     *self,
                                                       const char          *secret);
SMARTHOST_AVAILABLE_IN_ALL
void             smarthost_change_set_adopted         (SmarthostChange     *self,
                                                       SmarthostRelay      *server,
                                                       const char * const  *domains);
SMARTHOST_AVAILABLE_IN_ALL
char            *smarthost_change_to_preview          (SmarthostChange     *self);

G_END_DECLS
