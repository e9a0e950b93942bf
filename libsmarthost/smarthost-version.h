/* smarthost-version.h: export and availability macros
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(__SMARTHOST_H_INSIDE__) && !defined(SMARTHOST_COMPILATION)
#error "Only <smarthost.h> can be included directly."
#endif

#include <glib.h>

#if defined(_WIN32) || defined(__CYGWIN__)
# define _SMARTHOST_EXPORT __declspec (dllexport) extern
#elif defined(__GNUC__)
# define _SMARTHOST_EXPORT __attribute__ ((visibility ("default"))) extern
#else
# define _SMARTHOST_EXPORT extern
#endif

/**
 * SMARTHOST_AVAILABLE_IN_ALL:
 *
 * Marks a symbol as exported by libsmarthost since its first version.
 */
#define SMARTHOST_AVAILABLE_IN_ALL _SMARTHOST_EXPORT
