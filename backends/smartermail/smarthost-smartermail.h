/* smarthost-smartermail.h: the SmarterMail backend of libsmarthost
 *
 * The one header to include for SmarthostSmarterMailBackend; the core's
 * API comes with it. Programs that only choose a backend by name
 * (smarthost_backend_new_for_name()) need <smarthost.h> alone.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <smarthost.h>

#define __SMARTHOST_SMARTERMAIL_H_INSIDE__

#include "smarthost-smartermail-backend.h"

#undef __SMARTHOST_SMARTERMAIL_H_INSIDE__
