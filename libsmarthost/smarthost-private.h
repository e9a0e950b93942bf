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
#include <json-glib/json-glib.h>

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
JsonNode *_smarthost_relay_to_json_node   (SmarthostRelay *relay);
SmarthostRelay *_smarthost_relay_from_json_node (const char          *where,
                                                 JsonNode            *node,
                                                 SmarthostJsonFlags   flags,
                                                 GError             **error);

/* JSON */
JsonNode *_smarthost_parse_json       (const char  *what,
                                       const char  *text,
                                       GError     **error);
/* The members of a relay object (every key a relay's). */
typedef struct _SmarthostJsonRelay SmarthostJsonRelay;
SmarthostRelay *_smarthost_relay_from_json_fields (const char                *where,
                                                   const SmarthostJsonRelay  *fields,
                                                   SmarthostJsonFlags         flags,
                                                   GError                   **error);
/* A member of the streamed object, freed after the call: @relay when it
 * is an object of relay keys alone, @value (a tree) otherwise. */
typedef gboolean (*SmarthostJsonMemberFunc) (const char                *name,
                                             JsonNode                  *value,
                                             const SmarthostJsonRelay  *relay,
                                             gpointer                   user_data,
                                             GError                   **error);
JsonNode *_smarthost_parse_json_streaming (const char               *what,
                                           const char               *text,
                                           const char               *stream_key,
                                           SmarthostJsonMemberFunc   func,
                                           gpointer                  user_data,
                                           GError                  **error);
void      _smarthost_json_wipe_passwords (JsonNode *node);
void      _smarthost_json_free_secret (JsonNode *node);
/* A parsed tree that may hold inline passwords: wiped when freed. */
typedef JsonNode SmarthostSecretJson;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmarthostSecretJson, _smarthost_json_free_secret)
gboolean  _smarthost_json_key_is_showable (const char *key);
gboolean  _smarthost_json_name_field  (GError     **error,
                                       const char  *where);
char     *_smarthost_json_to_data     (JsonNode    *node,
                                       gsize       *length);
gboolean  _smarthost_json_unknown_key (GError     **error,
                                       const char  *where,
                                       const char  *key,
                                       const char  *known);

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
