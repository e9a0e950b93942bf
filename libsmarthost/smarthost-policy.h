/* smarthost-policy.h: the administrator's feature switches
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
 * SMARTHOST_POLICY_DEFAULT_PATH:
 *
 * Where the system's policy file is read from unless the environment
 * variable `SMARTHOST_POLICY` names another.
 */
#define SMARTHOST_POLICY_DEFAULT_PATH "/etc/smarthost/policy.ini"

#define SMARTHOST_TYPE_POLICY (smarthost_policy_get_type ())

SMARTHOST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (SmarthostPolicy, smarthost_policy, SMARTHOST, POLICY, GObject)

SMARTHOST_AVAILABLE_IN_ALL
SmarthostPolicy *smarthost_policy_new                       (void);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostPolicy *smarthost_policy_new_from_file             (const char       *path,
                                                             GError          **error);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostPolicy *smarthost_policy_load_default              (GError          **error);
SMARTHOST_AVAILABLE_IN_ALL
const char      *smarthost_policy_get_path                  (SmarthostPolicy  *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean         smarthost_policy_get_server_enabled        (SmarthostPolicy  *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean         smarthost_policy_get_domain_enabled        (SmarthostPolicy  *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean         smarthost_policy_get_restricted            (SmarthostPolicy  *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean         smarthost_policy_get_check_certificate     (SmarthostPolicy  *self,
                                                             gboolean          for_domain);
SMARTHOST_AVAILABLE_IN_ALL
gboolean         smarthost_policy_check_change              (SmarthostPolicy  *self,
                                                             gboolean          for_domain,
                                                             GError          **error);

G_END_DECLS
