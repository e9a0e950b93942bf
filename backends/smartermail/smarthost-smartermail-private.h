/* smarthost-smartermail-private.h: what the files of the SmarterMail backend share
 *
 * The mapping (smarthost-smartermail-mapping.c): the endpoints, field names
 * and values of smartermail-mapping.json. The JSON access
 * (smarthost-smartermail-json.c): typed reads and writes of jansson trees
 * (json_t), which the core's strict reader parses and its writer writes
 * (smarthost-json-private.h).
 * The client (smarthost-smartermail-client.c): one HTTP session, login and
 * tokens. The request operation (smarthost-smartermail-request-operation.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include "smarthost-json-private.h"

#include "smarthost-smartermail-backend.h"

G_BEGIN_DECLS

/* --- the mapping ----------------------------------------------------------- */

typedef struct _SmMapping SmMapping;

/* Every key of the mapping the backend uses; a mapping file must have all. */
extern const char * const sm_mapping_endpoint_keys[];
extern const char * const sm_mapping_field_keys[];
extern const char * const sm_mapping_value_keys[];

SmMapping  *sm_mapping_load            (const char  *path,
                                        GError     **error);
SmMapping  *sm_mapping_ref             (SmMapping   *mapping);
void        sm_mapping_unref           (SmMapping   *mapping);
const char *sm_mapping_method          (SmMapping   *mapping,
                                        const char  *endpoint);
char       *sm_mapping_path            (SmMapping   *mapping,
                                        const char  *endpoint,
                                        const char  *argument);
const char *sm_mapping_field           (SmMapping   *mapping,
                                        const char  *key);
const char *sm_mapping_value           (SmMapping   *mapping,
                                        const char  *key);
const char *sm_mapping_source          (SmMapping   *mapping,
                                        const char  *section,
                                        const char  *key);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmMapping, sm_mapping_unref)

/* --- JSON ------------------------------------------------------------------ */

/* A reply's body at most this large is read; beyond it, "reply too large". */
#define SM_REPLY_LIMIT (16u * 1024 * 1024)

/* Parsed by the core's strict reader (smarthost-json-private.h): one
 * object; @length -1 when @text ends at its NUL. */
json_t     *sm_json_parse_object       (const char  *what,
                                        const char  *text,
                                        gssize       length,
                                        GError     **error);
char       *sm_json_to_string          (json_t      *node,
                                        const char  *mask_member);
json_t     *sm_json_new_object         (void);
json_t     *sm_json_copy               (json_t      *node);
void        sm_json_set_string         (json_t      *object,
                                        const char  *name,
                                        const char  *value);
void        sm_json_set_int            (json_t      *object,
                                        const char  *name,
                                        gint64       value);
void        sm_json_set_boolean        (json_t      *object,
                                        const char  *name,
                                        gboolean     value);
void        sm_json_set_node           (json_t      *object,
                                        const char  *name,
                                        json_t      *value);
void        sm_json_remove             (json_t      *object,
                                        const char  *name);
gboolean    sm_json_has                (json_t      *object,
                                        const char  *name);
json_t     *sm_json_get                (json_t      *object,
                                        const char  *name);
/* Typed reads: FALSE with @error naming @where.@name when the member is
 * missing (unless optional: then *out keeps its default) or of another type. */
gboolean    sm_json_get_string         (json_t      *object,
                                        const char  *where,
                                        const char  *name,
                                        gboolean     optional,
                                        char       **out,
                                        GError     **error);
gboolean    sm_json_get_boolean        (json_t      *object,
                                        const char  *where,
                                        const char  *name,
                                        gboolean     optional,
                                        gboolean    *out,
                                        GError     **error);
gboolean    sm_json_get_uint           (json_t      *object,
                                        const char  *where,
                                        const char  *name,
                                        gboolean     optional,
                                        guint       *out,
                                        GError     **error);
gboolean    sm_json_get_array          (json_t      *object,
                                        const char  *where,
                                        const char  *name,
                                        GPtrArray  **out,
                                        GError     **error);
gboolean    sm_json_get_object         (json_t      *object,
                                        const char  *where,
                                        const char  *name,
                                        json_t     **out,
                                        GError     **error);
/* The id of a gateway, a string or a number, as text; NULL when missing. */
char       *sm_json_get_id             (json_t      *object,
                                        const char  *name);
gboolean    sm_json_equal_except       (json_t      *a,
                                        json_t      *b,
                                        const char  *except1,
                                        const char  *except2);
void        sm_json_wipe_string        (json_t      *object,
                                        const char  *name);

/* --- password verifiers (smarthost-smartermail-verifiers.c) ----------------- */

#define SM_VERIFIERS_FILE "gateway-passwords"

char       *sm_verifier_new            (const char  *password);
gboolean    sm_verifier_check          (const char  *verifier,
                                        const char  *password);
GHashTable *sm_verifiers_read          (const char  *directory,
                                        char       **text,
                                        GError     **error);
char       *sm_verifiers_to_text       (GHashTable  *table,
                                        char       **masked);
char       *sm_verifiers_mask_text     (const char  *text);

/* --- the client ------------------------------------------------------------ */

typedef struct _SmClient SmClient;

SmClient   *sm_client_new              (const char  *url,
                                        const char  *admin,
                                        const char  *admin_password,
                                        const char  *ca_file,
                                        gboolean     insecure,
                                        guint        timeout,
                                        SmMapping   *mapping,
                                        GError     **error);
void        sm_client_free             (SmClient    *client);
SmMapping  *sm_client_get_mapping      (SmClient    *client);
const char *sm_client_get_url          (SmClient    *client);
/* Sends one request to the endpoint of the mapping with @argument in its
 * path ({domain} or {id}), @body as JSON (or none); logs in first, and
 * again once on 401. Returns the reply object, "success" checked. */
json_t     *sm_client_call             (SmClient      *client,
                                        const char    *endpoint,
                                        const char    *argument,
                                        json_t        *body,
                                        GCancellable  *cancellable,
                                        GError       **error);
/* The same without checking "success", for schema-check: *@status is the
 * HTTP status; the reply is NULL when its body is not a JSON object. */
json_t     *sm_client_probe            (SmClient      *client,
                                        const char    *endpoint,
                                        const char    *argument,
                                        guint         *status,
                                        GCancellable  *cancellable,
                                        GError       **error);
void        sm_client_set_deadline     (SmClient      *client,
                                        gint64         deadline);

/* --- the backend, for its operations ----------------------------------------- */

SmClient   *sm_backend_get_client      (SmarthostSmarterMailBackend  *self,
                                        GError                      **error);
SmarthostSmarterMailBackend *sm_backend_lookup_for_directory (const char *directory);
guint       sm_backend_get_timeout     (SmarthostSmarterMailBackend  *self);

/* --- the request operation ---------------------------------------------------- */

typedef enum {
  SM_REQUEST_CREATE,   /* create a gateway; undo: delete it, found by its token */
  SM_REQUEST_UPDATE,   /* update a gateway; undo: update it back */
  SM_REQUEST_ASSIGN,   /* a domain's gateway; undo: assign the old one */
  SM_REQUEST_DELETE,   /* delete a gateway; undo: recreate it (without its password) */
} SmRequestAction;

#define SMARTHOST_TYPE_SMARTERMAIL_REQUEST_OPERATION (smarthost_smartermail_request_operation_get_type ())
G_DECLARE_FINAL_TYPE (SmarthostSmarterMailRequestOperation, smarthost_smartermail_request_operation,
                      SMARTHOST, SMARTERMAIL_REQUEST_OPERATION, SmarthostOperation)

SmarthostOperation *sm_request_new_create (SmarthostSmarterMailBackend *backend,
                                           json_t                      *gateway,
                                           const char                  *password);
SmarthostOperation *sm_request_new_update (SmarthostSmarterMailBackend *backend,
                                           const char                  *id,
                                           json_t                      *old_gateway,
                                           json_t                      *new_gateway,
                                           const char                  *password,
                                           gboolean                     password_lost);
SmarthostOperation *sm_request_new_assign (SmarthostSmarterMailBackend *backend,
                                           const char                  *domain,
                                           const char                  *old_id,
                                           const char                  *new_id,
                                           SmarthostOperation          *created);
SmarthostOperation *sm_request_new_delete (SmarthostSmarterMailBackend *backend,
                                           const char                  *id,
                                           json_t                      *old_gateway);
const char         *sm_request_get_created_id (SmarthostSmarterMailRequestOperation *self);
void                sm_request_set_first      (SmarthostOperation          *op);
const char         *sm_request_get_token      (SmarthostOperation          *op);

gboolean    sm_gateway_flag            (SmMapping   *m,
                                        json_t      *gateway,
                                        const char  *field,
                                        gboolean     missing);

G_END_DECLS
