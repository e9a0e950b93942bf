/* smarthost-keyfile-backend.h: a test backend that keeps smarthosts in a key file
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Compiled against the installed headers only: it proves that a backend
 * can be written outside the library (see doc/overview.md, "Writing a
 * backend"). Registered as `keyfile` on the backend extension point once
 * its type exists (g_type_ensure (SMARTHOST_TYPE_KEYFILE_BACKEND)).
 */
#pragma once

#include <smarthost.h>

G_BEGIN_DECLS

#define SMARTHOST_TYPE_KEYFILE_BACKEND (smarthost_keyfile_backend_get_type ())
G_DECLARE_FINAL_TYPE (SmarthostKeyfileBackend, smarthost_keyfile_backend, SMARTHOST, KEYFILE_BACKEND, GObject)

SmarthostBackend *smarthost_keyfile_backend_new (const char *path,
                                                 const char *state_directory);

G_END_DECLS
