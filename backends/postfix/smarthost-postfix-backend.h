/* smarthost-postfix-backend.h: smarthosts for Postfix
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(__SMARTHOST_POSTFIX_H_INSIDE__) && !defined(SMARTHOST_COMPILATION)
#error "Only <smarthost-postfix.h> can be included directly."
#endif

#include "smarthost-backend.h"

G_BEGIN_DECLS

#define SMARTHOST_TYPE_POSTFIX_BACKEND (smarthost_postfix_backend_get_type ())

SMARTHOST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (SmarthostPostfixBackend, smarthost_postfix_backend, SMARTHOST, POSTFIX_BACKEND, GObject)

SMARTHOST_AVAILABLE_IN_ALL
SmarthostBackend *smarthost_postfix_backend_new                  (const char              *config_directory);
SMARTHOST_AVAILABLE_IN_ALL
const char       *smarthost_postfix_backend_get_config_directory (SmarthostPostfixBackend *self);

G_END_DECLS
