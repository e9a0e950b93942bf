/* smarthost-error.c
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "smarthost-error.h"

/**
 * smarthost_error_quark:
 *
 * Gets the quark of the libsmarthost error domain, %SMARTHOST_ERROR.
 *
 * Returns: the error domain's quark
 */
G_DEFINE_QUARK (smarthost-error-quark, smarthost_error)
