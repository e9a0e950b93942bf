/* smarthost-backend-setting.h: one setting a backend is constructed with
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
 * SmarthostSettingType:
 * @SMARTHOST_SETTING_TYPE_STRING: text; the property is a string
 * @SMARTHOST_SETTING_TYPE_BOOLEAN: `true` or `false` (also `yes`/`no`,
 *   `on`/`off`, `1`/`0`); the property is a boolean
 * @SMARTHOST_SETTING_TYPE_UINT: a whole number, within the property's
 *   range; the property is an unsigned integer
 * @SMARTHOST_SETTING_TYPE_PATH: a file or directory; a relative path is
 *   taken from the current directory; the property is a string
 *
 * The kind of value a [class@BackendSetting] takes, and how its text is
 * converted for the property of the same name.
 */
typedef enum {
  SMARTHOST_SETTING_TYPE_STRING,
  SMARTHOST_SETTING_TYPE_BOOLEAN,
  SMARTHOST_SETTING_TYPE_UINT,
  SMARTHOST_SETTING_TYPE_PATH,
} SmarthostSettingType;

#define SMARTHOST_TYPE_BACKEND_SETTING (smarthost_backend_setting_get_type ())

SMARTHOST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (SmarthostBackendSetting, smarthost_backend_setting, SMARTHOST, BACKEND_SETTING, GObject)

SMARTHOST_AVAILABLE_IN_ALL
SmarthostBackendSetting *smarthost_backend_setting_new            (const char              *name,
                                                                   SmarthostSettingType     value_type,
                                                                   const char              *help,
                                                                   gboolean                 secret);
SMARTHOST_AVAILABLE_IN_ALL
const char              *smarthost_backend_setting_get_name       (SmarthostBackendSetting *self);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostSettingType     smarthost_backend_setting_get_value_type (SmarthostBackendSetting *self);
SMARTHOST_AVAILABLE_IN_ALL
const char              *smarthost_backend_setting_get_help       (SmarthostBackendSetting *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean                 smarthost_backend_setting_get_secret     (SmarthostBackendSetting *self);
SMARTHOST_AVAILABLE_IN_ALL
char                    *smarthost_backend_setting_to_json        (SmarthostBackendSetting *self);
SMARTHOST_AVAILABLE_IN_ALL
char                    *smarthost_backend_settings_to_json       (GPtrArray               *settings);
SMARTHOST_AVAILABLE_IN_ALL
const char              *smarthost_setting_type_to_string         (SmarthostSettingType     value_type);

G_END_DECLS
