/* smarthost-change-private.h: the core's side of a change
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include "smarthost-backend.h"
#include "smarthost-change.h"

G_BEGIN_DECLS

void       _smarthost_change_set_domains_table   (SmarthostChange      *self,
                                                  GHashTable           *domains);
void       _smarthost_change_add_secret_borrowed (SmarthostChange      *self,
                                                  const char           *secret);
GPtrArray *_smarthost_change_get_secrets         (SmarthostChange      *self);
gboolean   _smarthost_change_has_changes         (SmarthostChange      *self);
gboolean   _smarthost_change_get_adopted         (SmarthostChange      *self,
                                                  SmarthostRelay      **server,
                                                  const char * const  **domains);

/* The commit protocol (smarthost-commit.c). */
gboolean   _smarthost_change_run                 (SmarthostBackend     *backend,
                                                  SmarthostChange      *change,
                                                  gboolean             *changed,
                                                  GCancellable         *cancellable,
                                                  GError              **error);
gboolean   _smarthost_backend_recover_quietly    (SmarthostBackend     *backend,
                                                  GCancellable         *cancellable,
                                                  GError              **error);

typedef struct _SmarthostReadLock SmarthostReadLock;
SmarthostReadLock *_smarthost_backend_begin_read (SmarthostBackend  *backend,
                                                  GCancellable      *cancellable,
                                                  GError           **error);
void       _smarthost_read_lock_free             (SmarthostReadLock    *lock);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmarthostReadLock, _smarthost_read_lock_free)

G_END_DECLS
