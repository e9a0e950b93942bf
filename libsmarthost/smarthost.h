/* smarthost.h: the libsmarthost API
 *
 * The core alone: it names no backend. Each backend has a public header of
 * its own, which includes this one.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#define __SMARTHOST_H_INSIDE__

#include "smarthost-version.h"
#include "smarthost-enum-types.h"
#include "smarthost-error.h"
#include "smarthost-relay.h"
#include "smarthost-state.h"
#include "smarthost-policy.h"
#include "smarthost-finding.h"
#include "smarthost-spf.h"
#include "smarthost-provider.h"
#include "smarthost-backend-setting.h"
#include "smarthost-operation.h"
#include "smarthost-change.h"
#include "smarthost-backend.h"
#include "smarthost-backend-registry.h"
#include "smarthost-transaction.h"
#include "smarthost-probe-result.h"
#include "smarthost-probe.h"

#undef __SMARTHOST_H_INSIDE__
