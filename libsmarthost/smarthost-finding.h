/* smarthost-finding.h: one thing a diagnosis found
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(__SMARTHOST_H_INSIDE__) && !defined(SMARTHOST_COMPILATION)
#error "Only <smarthost.h> can be included directly."
#endif

#include <glib-object.h>
#include "smarthost-version.h"

G_BEGIN_DECLS

/**
 * SmarthostSeverity:
 * @SMARTHOST_SEVERITY_INFO: worth knowing; nothing is wrong
 * @SMARTHOST_SEVERITY_WARNING: works today, but is fragile or unsafe
 * @SMARTHOST_SEVERITY_ERROR: mail does not flow as configured
 *
 * How serious a [class@Finding] is.
 */
typedef enum {
  SMARTHOST_SEVERITY_INFO,
  SMARTHOST_SEVERITY_WARNING,
  SMARTHOST_SEVERITY_ERROR,
} SmarthostSeverity;

#define SMARTHOST_TYPE_FINDING (smarthost_finding_get_type ())

SMARTHOST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (SmarthostFinding, smarthost_finding, SMARTHOST, FINDING, GObject)

SMARTHOST_AVAILABLE_IN_ALL
SmarthostFinding  *smarthost_finding_new          (SmarthostSeverity  severity,
                                                   const char        *code,
                                                   const char        *message,
                                                   const char        *fix);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostSeverity  smarthost_finding_get_severity (SmarthostFinding  *self);
SMARTHOST_AVAILABLE_IN_ALL
const char        *smarthost_finding_get_code     (SmarthostFinding  *self);
SMARTHOST_AVAILABLE_IN_ALL
const char        *smarthost_finding_get_message  (SmarthostFinding  *self);
SMARTHOST_AVAILABLE_IN_ALL
const char        *smarthost_finding_get_fix      (SmarthostFinding  *self);
SMARTHOST_AVAILABLE_IN_ALL
char              *smarthost_finding_to_json      (SmarthostFinding  *self);
SMARTHOST_AVAILABLE_IN_ALL
const char        *smarthost_severity_to_string   (SmarthostSeverity  severity);

G_END_DECLS
