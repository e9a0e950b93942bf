/* smarthost-private.h: the object model's internals
 *
 * What the core and the backends use of relays, JSON, transactions and
 * states beyond their public API. The plumbing that knows none of them is
 * in smarthost-util-private.h and smarthost-files-private.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "smarthost-json-private.h"
#include "smarthost-relay.h"
#include "smarthost-backend.h"
#include "smarthost-state.h"
#include "smarthost-transaction.h"

G_BEGIN_DECLS

/* Relays */
gboolean  _smarthost_host_is_address  (const char  *host,
                                       char       **address);
void      _smarthost_relay_mark_password_set (SmarthostRelay *self);
SmarthostRelay *_smarthost_relay_new_full (const char        *host,
                                           SmarthostSecurity  security,
                                           guint              port,
                                           gboolean           mx_lookup,
                                           gboolean           verify_certificate,
                                           const char        *ca_file,
                                           const char        *username);
gboolean  _smarthost_relay_check      (SmarthostRelay  *self,
                                       gboolean         keep_password,
                                       GError         **error);
gboolean  _smarthost_relay_keeps_password (SmarthostRelay *self);
json_t   *_smarthost_relay_to_json_node   (SmarthostRelay *relay);
SmarthostRelay *_smarthost_relay_from_json_node (const char          *where,
                                                 json_t              *node,
                                                 SmarthostJsonFlags   flags,
                                                 GError             **error);
/* The keys of a relay object, for SmarthostJsonFields. */
const char * const *_smarthost_relay_json_keys (void);
/* The same from the members of a relay object (fields of its keys). */
SmarthostRelay *_smarthost_relay_from_json_fields (const char                 *where,
                                                   const SmarthostJsonFields  *fields,
                                                   SmarthostJsonFlags          flags,
                                                   GError                    **error);
gboolean  _smarthost_json_name_field  (GError     **error,
                                       const char  *where);

/* Transactions: what backends read from one */
SmarthostTransaction *_smarthost_transaction_new (SmarthostBackend *backend);
gboolean    _smarthost_transaction_get_server  (SmarthostTransaction  *self,
                                                SmarthostRelay       **relay);
GHashTable *_smarthost_transaction_get_domains (SmarthostTransaction  *self);
void        _smarthost_transaction_set_would_change (SmarthostTransaction *self,
                                                     gboolean              would_change);
void        _smarthost_transaction_set_adopted (SmarthostTransaction  *self,
                                                SmarthostRelay        *server,
                                                const char * const    *domains);

/* States */
GHashTable *_smarthost_state_get_domains       (SmarthostState        *self);

G_END_DECLS
