/* smarthost-error.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "smarthost-error.h"

G_DEFINE_QUARK (smarthost-error-quark, smarthost_error)
