/* smarthost-backends.c: the backends built into the library
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "smarthost-backend-registry-private.h"
#ifdef SMARTHOST_HAVE_POSTFIX
#include "smarthost-postfix.h"
#endif
#include "smarthost-smartermail.h"
#include "smarthost-mailenable.h"

/* Each built-in backend registers itself on the extension point from its
 * type's definition (as GIO's settings backends do): making sure its type
 * exists is all it takes. A new backend adds one line here. */
void
_smarthost_backends_register_builtin (void)
{
#ifdef SMARTHOST_HAVE_POSTFIX
  /* POSIX only: not built for Windows (meson.build). */
  g_type_ensure (SMARTHOST_TYPE_POSTFIX_BACKEND);
#endif
  g_type_ensure (SMARTHOST_TYPE_SMARTERMAIL_BACKEND);
  g_type_ensure (SMARTHOST_TYPE_MAILENABLE_BACKEND);
}
