/* smarthost-backend-registry-private.h: how the built-in backends register
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Registers the backends built into the library on the
 * SMARTHOST_BACKEND_EXTENSION_POINT_NAME extension point, each the way GIO
 * backends do (g_io_extension_point_implement() from its type's
 * definition). The core calls it once, before it first looks at the
 * extension point, and knows no backend: the library build provides it
 * (backends/smarthost-backends.c), next to the list of the backends it
 * builds. */
void _smarthost_backends_register_builtin (void);

G_END_DECLS
