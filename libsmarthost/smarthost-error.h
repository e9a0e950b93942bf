/* smarthost-error.h: the libsmarthost error domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(__SMARTHOST_H_INSIDE__) && !defined(SMARTHOST_COMPILATION)
#error "Only <smarthost.h> can be included directly."
#endif

#include <glib.h>
#include "smarthost-version.h"

G_BEGIN_DECLS

/**
 * SMARTHOST_ERROR:
 *
 * The error domain of libsmarthost. Errors in this domain are from the
 * [error@Error] enumeration.
 */
#define SMARTHOST_ERROR (smarthost_error_quark ())

/**
 * SmarthostError:
 * @SMARTHOST_ERROR_INVALID: the input is invalid; the message starts with
 *   the name of the offending field, as in `port: must be between 1 and 65535`
 * @SMARTHOST_ERROR_NOT_SUPPORTED: the backend cannot do this; the message
 *   says why
 * @SMARTHOST_ERROR_DISABLED: the operation is disabled by the administrator's
 *   policy; the message names the policy key
 * @SMARTHOST_ERROR_FAILED: the operation failed and nothing was changed; the
 *   message names the step that failed
 * @SMARTHOST_ERROR_CONFLICT: the mail server's configuration holds settings
 *   that conflict with the change; the message explains what to resolve
 * @SMARTHOST_ERROR_PARTIAL: the change failed and could not be wholly
 *   undone: the message lists what was applied and is not undone. The
 *   journal keeps it, and the next commit or read finishes the undo first
 *   (Since: 1.0, issue 11)
 * @SMARTHOST_ERROR_NOT_ACTIVE: the change is committed, but a step after the
 *   commit point that puts it into effect (such as restarting the mail
 *   service) failed: the configuration holds the change, the mail server
 *   may still run with the old one, and the message says what failed and
 *   what to run. Not undone, since undoing would need the same step
 *
 * Error codes in the %SMARTHOST_ERROR domain. Messages say what went wrong and
 * what to do about it; they never contain a password. More codes may be added
 * in later versions.
 */
typedef enum {
  SMARTHOST_ERROR_INVALID,
  SMARTHOST_ERROR_NOT_SUPPORTED,
  SMARTHOST_ERROR_DISABLED,
  SMARTHOST_ERROR_FAILED,
  SMARTHOST_ERROR_CONFLICT,
  SMARTHOST_ERROR_PARTIAL,
  SMARTHOST_ERROR_NOT_ACTIVE,
} SmarthostError;

SMARTHOST_AVAILABLE_IN_ALL
GQuark smarthost_error_quark (void);

G_END_DECLS
