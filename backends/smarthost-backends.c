/* smarthost-backends.c: the backends built into the library
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "smarthost-backend-registry-private.h"
#include "smarthost-postfix.h"
#include "smarthost-smartermail.h"

/* Each built-in backend registers itself on the extension point from its
 * type's definition (as GIO's settings backends do): making sure its type
 * exists is all it takes. A new backend adds one line here. */
void
_smarthost_backends_register_builtin (void)
{
  g_type_ensure (SMARTHOST_TYPE_POSTFIX_BACKEND);
  g_type_ensure (SMARTHOST_TYPE_SMARTERMAIL_BACKEND);
}
