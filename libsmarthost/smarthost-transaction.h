/* smarthost-transaction.h: a set of changes applied all-or-nothing
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(__SMARTHOST_H_INSIDE__) && !defined(SMARTHOST_COMPILATION)
#error "Only <smarthost.h> can be included directly."
#endif

#include <gio/gio.h>
#include "smarthost-version.h"
#include "smarthost-relay.h"
#include "smarthost-backend.h"
#include "smarthost-policy.h"
#include "smarthost-state.h"

G_BEGIN_DECLS

#define SMARTHOST_TYPE_TRANSACTION (smarthost_transaction_get_type ())

SMARTHOST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (SmarthostTransaction, smarthost_transaction, SMARTHOST, TRANSACTION, GObject)

SMARTHOST_AVAILABLE_IN_ALL
SmarthostBackend *smarthost_transaction_get_backend   (SmarthostTransaction  *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean          smarthost_transaction_set_server    (SmarthostTransaction  *self,
                                                       SmarthostRelay        *relay,
                                                       GError               **error);
SMARTHOST_AVAILABLE_IN_ALL
gboolean          smarthost_transaction_set_domain    (SmarthostTransaction  *self,
                                                       const char            *domain,
                                                       SmarthostRelay        *relay,
                                                       GError               **error);
SMARTHOST_AVAILABLE_IN_ALL
guint             smarthost_transaction_get_n_changes (SmarthostTransaction  *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean          smarthost_transaction_get_reload    (SmarthostTransaction  *self);
SMARTHOST_AVAILABLE_IN_ALL
void              smarthost_transaction_set_reload    (SmarthostTransaction  *self,
                                                       gboolean               reload);

SMARTHOST_AVAILABLE_IN_ALL
SmarthostPolicy  *smarthost_transaction_get_policy    (SmarthostTransaction  *self);
SMARTHOST_AVAILABLE_IN_ALL
void              smarthost_transaction_set_policy    (SmarthostTransaction  *self,
                                                       SmarthostPolicy       *policy);

SMARTHOST_AVAILABLE_IN_ALL
gboolean          smarthost_transaction_get_adopt     (SmarthostTransaction  *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean          smarthost_transaction_adopt         (SmarthostTransaction  *self,
                                                       GError               **error);

SMARTHOST_AVAILABLE_IN_ALL
SmarthostRelay   *smarthost_transaction_get_adopted_server  (SmarthostTransaction *self);
SMARTHOST_AVAILABLE_IN_ALL
char            **smarthost_transaction_get_adopted_domains (SmarthostTransaction *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean          smarthost_transaction_get_replace_domains (SmarthostTransaction *self);
SMARTHOST_AVAILABLE_IN_ALL
void              smarthost_transaction_set_replace_domains (SmarthostTransaction *self,
                                                             gboolean              replace_domains);
SMARTHOST_AVAILABLE_IN_ALL
gboolean          smarthost_transaction_set_state     (SmarthostTransaction  *self,
                                                       SmarthostState        *state,
                                                       GError               **error);

SMARTHOST_AVAILABLE_IN_ALL
char             *smarthost_transaction_preview       (SmarthostTransaction  *self,
                                                       GCancellable          *cancellable,
                                                       GError               **error);
SMARTHOST_AVAILABLE_IN_ALL
void              smarthost_transaction_preview_async (SmarthostTransaction  *self,
                                                       GCancellable          *cancellable,
                                                       GAsyncReadyCallback    callback,
                                                       gpointer               user_data);
SMARTHOST_AVAILABLE_IN_ALL
char             *smarthost_transaction_preview_finish (SmarthostTransaction *self,
                                                        GAsyncResult         *result,
                                                        GError              **error);

SMARTHOST_AVAILABLE_IN_ALL
gboolean          smarthost_transaction_commit        (SmarthostTransaction  *self,
                                                       GCancellable          *cancellable,
                                                       GError               **error);
SMARTHOST_AVAILABLE_IN_ALL
void              smarthost_transaction_commit_async  (SmarthostTransaction  *self,
                                                       GCancellable          *cancellable,
                                                       GAsyncReadyCallback    callback,
                                                       gpointer               user_data);
SMARTHOST_AVAILABLE_IN_ALL
gboolean          smarthost_transaction_commit_finish (SmarthostTransaction  *self,
                                                       GAsyncResult          *result,
                                                       GError               **error);
SMARTHOST_AVAILABLE_IN_ALL
gboolean          smarthost_transaction_get_changed   (SmarthostTransaction  *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean          smarthost_transaction_get_would_change (SmarthostTransaction *self);

G_END_DECLS
