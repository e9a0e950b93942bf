/* smarthost-probe.h: checks that a relay works, and sends a test message
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
#include "smarthost-probe-result.h"

G_BEGIN_DECLS

#define SMARTHOST_TYPE_PROBE (smarthost_probe_get_type ())

SMARTHOST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (SmarthostProbe, smarthost_probe, SMARTHOST, PROBE, GObject)

SMARTHOST_AVAILABLE_IN_ALL
SmarthostProbe       *smarthost_probe_new                 (SmarthostRelay       *relay);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostRelay       *smarthost_probe_get_relay           (SmarthostProbe       *self);
SMARTHOST_AVAILABLE_IN_ALL
guint                 smarthost_probe_get_connect_timeout (SmarthostProbe       *self);
SMARTHOST_AVAILABLE_IN_ALL
void                  smarthost_probe_set_connect_timeout (SmarthostProbe       *self,
                                                           guint                 seconds);
SMARTHOST_AVAILABLE_IN_ALL
guint                 smarthost_probe_get_timeout         (SmarthostProbe       *self);
SMARTHOST_AVAILABLE_IN_ALL
void                  smarthost_probe_set_timeout         (SmarthostProbe       *self,
                                                           guint                 seconds);
SMARTHOST_AVAILABLE_IN_ALL
const char           *smarthost_probe_get_helo_name       (SmarthostProbe       *self);
SMARTHOST_AVAILABLE_IN_ALL
void                  smarthost_probe_set_helo_name       (SmarthostProbe       *self,
                                                           const char           *helo_name);
SMARTHOST_AVAILABLE_IN_ALL
const char           *smarthost_probe_get_sender          (SmarthostProbe       *self);
SMARTHOST_AVAILABLE_IN_ALL
void                  smarthost_probe_set_sender          (SmarthostProbe       *self,
                                                           const char           *sender);
SMARTHOST_AVAILABLE_IN_ALL
const char           *smarthost_probe_get_recipient       (SmarthostProbe       *self);
SMARTHOST_AVAILABLE_IN_ALL
void                  smarthost_probe_set_recipient       (SmarthostProbe       *self,
                                                           const char           *recipient);

SMARTHOST_AVAILABLE_IN_ALL
SmarthostProbeResult *smarthost_probe_run                 (SmarthostProbe       *self,
                                                           GCancellable         *cancellable,
                                                           GError              **error);
SMARTHOST_AVAILABLE_IN_ALL
void                  smarthost_probe_run_async           (SmarthostProbe       *self,
                                                           GCancellable         *cancellable,
                                                           GAsyncReadyCallback   callback,
                                                           gpointer              user_data);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostProbeResult *smarthost_probe_run_finish          (SmarthostProbe       *self,
                                                           GAsyncResult         *result,
                                                           GError              **error);

G_END_DECLS
