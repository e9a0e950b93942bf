/* smarthost-mailenable.h: the MailEnable backend of libsmarthost
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#define __SMARTHOST_MAILENABLE_H_INSIDE__

#include <smarthost.h>
#include "smarthost-mailenable-backend.h"

#undef __SMARTHOST_MAILENABLE_H_INSIDE__
