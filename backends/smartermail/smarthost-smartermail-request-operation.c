/* smarthost-smartermail-request-operation.c: one request to SmarterMail and the one that undoes it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-error.h"
#include "smarthost-operation-private.h"
#include "smarthost-private.h"
#include "smarthost-util-private.h"
#include "smarthost-smartermail-private.h"

/*
 * Implementation notes
 *
 * A SmarterMail change is a list of requests, each with its inverse:
 *
 *   create a gateway  ↔ delete it. Its id is known only once the create
 *                       has answered, so a created gateway carries a
 *                       description "libsmarthost TOKEN" with a random
 *                       token, which the journal records: an undo after a
 *                       crash (before or after the create answered) finds
 *                       the gateway by its token, and deletes it.
 *   update a gateway  ↔ update it back to the object as read (the full
 *                       object: every member the library does not know is
 *                       sent back as it was).
 *   assign a domain   ↔ assign its old gateway back (or none).
 *   delete a gateway  ↔ recreate it from the object as read.
 *
 * SmarterMail never sends a gateway's password back. So an update that
 * changed the password of a gateway that authenticates, and the deletion
 * of a gateway that authenticates, cannot be undone whole: the undo puts
 * back everything else and then fails, saying so, and the core reports
 * SMARTHOST_ERROR_PARTIAL. Such an undo succeeds when it runs again (from
 * the journal, at the next read): it finds the gateway already as the
 * undo left it, and the loss was reported the first time. (One hole: a
 * commit killed after an update that changed only a password, before its
 * commit point, leaves the new password without a word.)
 *
 * Every undo is idempotent: it reads the gateways first (a gateway already
 * gone, a domain already back, a gateway already recreated are success).
 * A recreated gateway has a new id; the domains the commit took off it are
 * assigned to that id (ids_recreated below, for this process).
 *
 * The journal record holds the base URL, the action, and what the undo
 * needs: the token of a create, the object as read of an update or a
 * delete (never a password: SmarterMail does not send it, and it is
 * removed if it did), the old gateway id of an assignment. An operation
 * rebuilt from a record finds its backend by the state directory: the
 * backend that recovers it is the one whose read or commit found the
 * journal (sm_backend_lookup_for_directory()).
 */

struct _SmarthostSmarterMailRequestOperation
{
  SmarthostOperation parent_instance;

  SmRequestAction action;
  SmarthostSmarterMailBackend *backend;   /* NULL: rebuilt from a record, found at undo */
  char *directory;                        /* rebuilt: the state directory */
  char *url;
  char *id;                 /* update, delete: the gateway; assign: the domain's new gateway */
  char *domain;             /* assign */
  char *old_id;             /* assign: the domain's old gateway, "" for none */
  char *token;              /* create */
  char *created_id;         /* create, once it answered */
  json_t *old_gateway;    /* update, delete: as read */
  json_t *new_gateway;    /* create, update: what is sent, without password */
  char *password;           /* create, update: the gateway's new password, or NULL */
  gboolean password_lost;   /* update: the undo cannot restore the old password */
  gboolean applied;
  gboolean from_record;     /* rebuilt from a journal record */
  gboolean first;           /* the first operation of its change: starts the commit's clock */
  SmarthostSmarterMailRequestOperation *created;   /* assign: the create that makes its gateway */
};

G_DEFINE_FINAL_TYPE (SmarthostSmarterMailRequestOperation, smarthost_smartermail_request_operation,
                     SMARTHOST_TYPE_OPERATION)

static const char * const action_names[] = { "create", "update", "assign", "delete" };

/* --- ids of recreated gateways (this process) ------------------------------ */

G_LOCK_DEFINE_STATIC (ids_recreated);
static GHashTable *ids_recreated;   /* "URL\nOLD-ID" → new id */

static void
remember_recreated (const char *url,
                    const char *old_id,
                    const char *new_id)
{
  G_LOCK (ids_recreated);
  if (ids_recreated == NULL)
    ids_recreated = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_hash_table_replace (ids_recreated, g_strconcat (url, "\n", old_id, NULL), g_strdup (new_id));
  G_UNLOCK (ids_recreated);
}

static char *
recreated_id (const char *url,
              const char *old_id)
{
  g_autofree char *key = g_strconcat (url, "\n", old_id, NULL);
  char *found = NULL;

  G_LOCK (ids_recreated);
  if (ids_recreated != NULL)
    found = g_strdup (g_hash_table_lookup (ids_recreated, key));
  G_UNLOCK (ids_recreated);
  return found ? found : g_strdup (old_id);
}

/* --- GObject -------------------------------------------------------------- */

static void
request_finalize (GObject *object)
{
  SmarthostSmarterMailRequestOperation *self = SMARTHOST_SMARTERMAIL_REQUEST_OPERATION (object);

  g_clear_object (&self->backend);
  g_clear_object (&self->created);
  g_free (self->directory);
  g_free (self->url);
  g_free (self->id);
  g_free (self->domain);
  g_free (self->old_id);
  g_free (self->token);
  g_free (self->created_id);
  g_clear_pointer (&self->old_gateway, _smarthost_json_free_wiped);
  g_clear_pointer (&self->new_gateway, _smarthost_json_free_wiped);
  _smarthost_secret_free (self->password);
  G_OBJECT_CLASS (smarthost_smartermail_request_operation_parent_class)->finalize (object);
}

/* The client, from the backend that built the operation or, for one
 * rebuilt from a journal, the one recovering its state directory. */
static SmClient *
client_of (SmarthostSmarterMailRequestOperation  *self,
           GError                               **error)
{
  SmClient *client;

  if (self->backend == NULL)
    {
      self->backend = sm_backend_lookup_for_directory (self->directory);
      if (self->backend == NULL)
        {
          g_autofree char *shown = _smarthost_quote_path (self->directory);
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                       "no SmarterMail backend of this process uses %s: recover it through one "
                       "(smarthost_backend_recover())", shown);
          return NULL;
        }
    }
  client = sm_backend_get_client (self->backend, error);
  if (client == NULL)
    return NULL;
  if (self->url != NULL && !g_str_equal (self->url, sm_client_get_url (client)))
    {
      g_autofree char *a = _smarthost_quote (self->url, -1);
      g_autofree char *b = _smarthost_quote (sm_client_get_url (client), -1);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "the journal's change was made on %s, but this backend speaks to %s: recover it with a "
                   "backend of that URL", a, b);
      return NULL;
    }
  return client;
}

static SmMapping *
mapping_of (SmarthostSmarterMailRequestOperation *self)
{
  g_autoptr(GError) error = NULL;
  SmClient *client = client_of (self, &error);

  return client ? sm_client_get_mapping (client) : NULL;
}

/* The body of a gateway request: {"gateway": G}, G with @password. */
static json_t *
gateway_body (SmMapping  *m,
              json_t     *gateway,
              const char *password)
{
  json_t *body = sm_json_new_object ();
  json_t *g = sm_json_copy (gateway);

  if (password != NULL)
    sm_json_set_string (g, sm_mapping_field (m, "gateway-password"), password);
  sm_json_set_node (body, sm_mapping_field (m, "gateway"), g);
  return body;
}

static json_t *
assign_body (SmMapping  *m,
             const char *id)
{
  json_t *body = sm_json_new_object ();
  json_t *settings = sm_json_new_object ();

  sm_json_set_string (settings, sm_mapping_field (m, "domain-gateway"), id);
  sm_json_set_node (body, sm_mapping_field (m, "domain-settings"), settings);
  return body;
}


static char *
request_describe (SmarthostOperation *op,
                  gboolean           *masked)
{
  SmarthostSmarterMailRequestOperation *self = SMARTHOST_SMARTERMAIL_REQUEST_OPERATION (op);
  SmMapping *m = mapping_of (self);
  const char *endpoint;
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  json_t *body = NULL;

  *masked = TRUE;
  if (m == NULL)
    return g_strdup_printf ("# %s a SmarterMail gateway\n", action_names[self->action]);
  switch (self->action)
    {
    case SM_REQUEST_CREATE:
      endpoint = "gateway-create";
      body = gateway_body (m, self->new_gateway, self->password ? SMARTHOST_PASSWORD_MASK : NULL);
      break;
    case SM_REQUEST_UPDATE:
      endpoint = "gateway-update";
      path = sm_mapping_path (m, endpoint, self->id);
      body = gateway_body (m, self->new_gateway, self->password ? SMARTHOST_PASSWORD_MASK : NULL);
      break;
    case SM_REQUEST_ASSIGN:
      endpoint = "domain-update";
      path = sm_mapping_path (m, endpoint, self->domain);
      body = assign_body (m, self->created ? "<the id of the gateway created above>" : self->id);
      break;
    case SM_REQUEST_DELETE:
    default:
      endpoint = "gateway-delete";
      path = sm_mapping_path (m, endpoint, self->id);
      break;
    }
  if (path == NULL)
    path = sm_mapping_path (m, endpoint, NULL);
  if (body != NULL)
    {
      text = sm_json_to_string (body, sm_mapping_field (m, "gateway-password"));
      json_decref (body);
    }
  return g_strdup_printf ("# %s %s%s%s\n", sm_mapping_method (m, endpoint), path, text ? " " : "", text ? text : "");
}

static gboolean
request_apply (SmarthostOperation  *op,
               GCancellable        *cancellable,
               GError             **error)
{
  SmarthostSmarterMailRequestOperation *self = SMARTHOST_SMARTERMAIL_REQUEST_OPERATION (op);
  SmClient *client = client_of (self, error);
  SmMapping *m;
  json_t *body = NULL;
  g_autoptr(json_t) reply = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *argument = NULL;
  const char *endpoint;

  if (client == NULL)
    return FALSE;
  m = sm_client_get_mapping (client);
  /* The whole commit's requests are bounded, not only each one. */
  if (self->first)
    sm_client_set_deadline (client, g_get_monotonic_time () +
                                    (gint64) sm_backend_get_timeout (self->backend) * 10 * G_USEC_PER_SEC);
  switch (self->action)
    {
    case SM_REQUEST_CREATE:
      endpoint = "gateway-create";
      body = gateway_body (m, self->new_gateway, self->password);
      break;
    case SM_REQUEST_UPDATE:
      endpoint = "gateway-update";
      argument = self->id;
      body = gateway_body (m, self->new_gateway, self->password);
      break;
    case SM_REQUEST_ASSIGN:
      endpoint = "domain-update";
      argument = self->domain;
      if (self->created != NULL && self->created->created_id == NULL)
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                            "the gateway of %s was not created", self->domain), FALSE;
      body = assign_body (m, self->created ? self->created->created_id : self->id);
      break;
    case SM_REQUEST_DELETE:
    default:
      endpoint = "gateway-delete";
      argument = self->id;
      break;
    }
  self->applied = TRUE;
  reply = sm_client_call (client, endpoint, argument, body, cancellable, &local_error);
  /* It held the gateway's password: wiped (its text, by the client). */
  g_clear_pointer (&body, _smarthost_json_free_wiped);
  if (reply == NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (self->action == SM_REQUEST_CREATE)
    {
      json_t *gateway = NULL;
      g_autofree char *path = sm_mapping_path (m, endpoint, NULL);
      g_autofree char *what = g_strdup_printf ("%s %s: the reply", sm_mapping_method (m, endpoint), path);

      if (!sm_json_get_object (reply, what, sm_mapping_field (m, "gateway"), &gateway, error) ||
          (self->created_id = sm_json_get_id (gateway, sm_mapping_field (m, "gateway-id"))) == NULL)
        {
          if (error && *error == NULL)
            g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                         "%s: the created gateway has no \"%s\"", what, sm_mapping_field (m, "gateway-id"));
          return FALSE;
        }
    }
  return TRUE;
}

/* The gateways as the server has them now. */
static GPtrArray *
read_gateways (SmClient      *client,
               json_t       **reply_out,
               GError       **error)
{
  SmMapping *m = sm_client_get_mapping (client);
  g_autoptr(json_t) reply = sm_client_call (client, "gateways", NULL, NULL, NULL, error);
  GPtrArray *gateways = NULL;

  if (reply == NULL)
    return NULL;
  if (!sm_json_get_array (reply, "the gateways", sm_mapping_field (m, "gateways"), &gateways, error))
    return NULL;
  *reply_out = g_steal_pointer (&reply);
  return gateways;
}

static json_t *
find_gateway (SmMapping  *m,
              GPtrArray  *gateways,
              const char *id)
{
  for (guint i = 0; i < gateways->len; i++)
    {
      g_autofree char *gid = sm_json_get_id (g_ptr_array_index (gateways, i), sm_mapping_field (m, "gateway-id"));
      if (g_strcmp0 (gid, id) == 0)
        return g_ptr_array_index (gateways, i);
    }
  return NULL;
}

static gboolean
delete_gateway (SmClient    *client,
                const char  *id,
                GError     **error)
{
  g_autoptr(json_t) reply = sm_client_call (client, "gateway-delete", id, NULL, NULL, error);
  return reply != NULL;
}

static gboolean
gateway_authenticates (SmMapping *m,
                       json_t    *gateway)
{
  return sm_gateway_flag (m, gateway, "gateway-auth", FALSE);
}

static gboolean
undo_create (SmarthostSmarterMailRequestOperation  *self,
             SmClient                              *client,
             GError                               **error)
{
  SmMapping *m = sm_client_get_mapping (client);
  g_autoptr(SmarthostWipedJson) reply = NULL;
  g_autoptr(GPtrArray) gateways = read_gateways (client, &reply, error);
  g_autofree char *description = g_strconcat ("libsmarthost ", self->token, NULL);

  if (gateways == NULL)
    return FALSE;
  for (guint i = 0; i < gateways->len; i++)
    {
      json_t *g = g_ptr_array_index (gateways, i);
      g_autofree char *gid = sm_json_get_id (g, sm_mapping_field (m, "gateway-id"));
      g_autofree char *d = NULL;

      sm_json_get_string (g, "gateway", sm_mapping_field (m, "gateway-description"), TRUE, &d, NULL);
      if (gid != NULL && (g_strcmp0 (gid, self->created_id) == 0 || g_strcmp0 (d, description) == 0) &&
          !delete_gateway (client, gid, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
undo_update (SmarthostSmarterMailRequestOperation  *self,
             SmClient                              *client,
             GError                               **error)
{
  SmMapping *m = sm_client_get_mapping (client);
  const char *pw = sm_mapping_field (m, "gateway-password");
  g_autoptr(SmarthostWipedJson) reply = NULL;
  g_autoptr(GPtrArray) gateways = read_gateways (client, &reply, error);
  g_autoptr(json_t) body = NULL;
  g_autoptr(json_t) put = NULL;
  json_t *now;

  if (gateways == NULL)
    return FALSE;
  now = find_gateway (m, gateways, self->id);
  if (now == NULL)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                        "gateway %s was deleted meanwhile, so its old settings cannot be put back", self->id), FALSE;
  if (sm_json_equal_except (now, self->old_gateway, pw, NULL))
    {
      /* As it was: never changed, or put back by an undo that said what
       * it could not put back. In this process, a change of the password
       * alone leaves the fields as they were, and is said now. */
      if (!(self->applied && !self->from_record && self->password_lost))
        return TRUE;
    }
  else
    {
      body = gateway_body (m, self->old_gateway, NULL);
      put = sm_client_call (client, "gateway-update", self->id, body, NULL, error);
      if (put == NULL)
        return FALSE;
    }
  if (self->password_lost)
    {
      self->password_lost = FALSE;   /* said once */
      return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                          "gateway %s has its old settings back but not its old password: SmarterMail never "
                          "sends a password back, so the new one stays; set that smarthost again with its "
                          "password", self->id), FALSE;
    }
  return TRUE;
}

static gboolean
undo_assign (SmarthostSmarterMailRequestOperation  *self,
             SmClient                              *client,
             GError                               **error)
{
  SmMapping *m = sm_client_get_mapping (client);
  g_autofree char *id = *self->old_id ? recreated_id (sm_client_get_url (client), self->old_id) : g_strdup ("");
  g_autoptr(json_t) now = sm_client_call (client, "domain-get", self->domain, NULL, NULL, error);
  g_autoptr(json_t) body = NULL;
  g_autoptr(json_t) reply = NULL;
  g_autofree char *current = NULL;
  json_t *settings = NULL;

  if (now == NULL)
    return FALSE;
  /* Already as it was (never changed, or put back): nothing to write. */
  if (sm_json_get_object (now, "the domain", sm_mapping_field (m, "domain-settings"), &settings, NULL))
    {
      current = sm_json_get_id (settings, sm_mapping_field (m, "domain-gateway"));
      if (g_strcmp0 (current ? current : "", id) == 0)
        return TRUE;
    }
  body = assign_body (m, id);
  reply = sm_client_call (client, "domain-update", self->domain, body, NULL, error);
  return reply != NULL;
}

static gboolean
same_known_fields (SmMapping *m,
                   json_t    *a,
                   json_t    *b)
{
  static const char * const known[] = {
    "gateway-address", "gateway-port", "gateway-encryption", "gateway-enabled", "gateway-mode",
    "gateway-auth", "gateway-username", "gateway-description", NULL
  };

  for (guint i = 0; known[i]; i++)
    {
      json_t *x = sm_json_get (a, sm_mapping_field (m, known[i]));
      json_t *y = sm_json_get (b, sm_mapping_field (m, known[i]));

      if ((x == NULL) != (y == NULL) || (x != NULL && !json_equal (x, y)))
        return FALSE;
    }
  return TRUE;
}

static gboolean
undo_delete (SmarthostSmarterMailRequestOperation  *self,
             SmClient                              *client,
             GError                               **error)
{
  SmMapping *m = sm_client_get_mapping (client);
  const char *id_field = sm_mapping_field (m, "gateway-id");
  g_autoptr(SmarthostWipedJson) reply = NULL;
  g_autoptr(GPtrArray) gateways = read_gateways (client, &reply, error);
  g_autoptr(json_t) gateway = NULL;
  g_autoptr(json_t) body = NULL;
  g_autoptr(json_t) created = NULL;
  g_autofree char *new_id = NULL;
  json_t *g = NULL;

  if (gateways == NULL)
    return FALSE;
  if (find_gateway (m, gateways, self->id) != NULL)
    return TRUE;   /* never deleted */
  /* Recreated already (by an undo that ran before): the same gateway as
   * far as the library knows gateways, under another id (the server adds
   * members of its own, a creation date, to a gateway it creates). */
  for (guint i = 0; i < gateways->len; i++)
    if (same_known_fields (m, g_ptr_array_index (gateways, i), self->old_gateway))
      {
        new_id = sm_json_get_id (g_ptr_array_index (gateways, i), id_field);
        if (new_id != NULL)
          {
            remember_recreated (sm_client_get_url (client), self->id, new_id);
            return TRUE;
          }
      }

  gateway = sm_json_copy (self->old_gateway);
  sm_json_remove (gateway, id_field);
  body = gateway_body (m, gateway, NULL);
  created = sm_client_call (client, "gateway-create", NULL, body, NULL, error);
  if (created == NULL)
    return FALSE;
  if (sm_json_get_object (created, "the reply", sm_mapping_field (m, "gateway"), &g, NULL))
    new_id = sm_json_get_id (g, id_field);
  if (new_id != NULL)
    remember_recreated (sm_client_get_url (client), self->id, new_id);
  if (gateway_authenticates (m, self->old_gateway))
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                        "gateway %s was deleted and is recreated as %s without its password: SmarterMail never "
                        "sends a password back; set that smarthost again with its password", self->id,
                        new_id ? new_id : "(no id in the reply)"), FALSE;
  return TRUE;
}

static gboolean
request_undo (SmarthostOperation  *op,
              GCancellable        *cancellable,
              GError             **error)
{
  SmarthostSmarterMailRequestOperation *self = SMARTHOST_SMARTERMAIL_REQUEST_OPERATION (op);
  g_autoptr(GError) local_error = NULL;
  SmClient *client = client_of (self, &local_error);
  SmMapping *m;
  gboolean ok = FALSE;
  const char *what;

  /* Never sent in this process: nothing to undo. */
  if (!self->applied)
    return TRUE;
  /* Undo always runs, whatever the commit's clock says. */
  if (client != NULL)
    sm_client_set_deadline (client, 0);
  switch (self->action)
    {
    case SM_REQUEST_CREATE:
      what = "undo the creation of a gateway";
      ok = client && undo_create (self, client, &local_error);
      break;
    case SM_REQUEST_UPDATE:
      what = "undo the update of a gateway";
      ok = client && undo_update (self, client, &local_error);
      break;
    case SM_REQUEST_ASSIGN:
      what = "undo the gateway assignment of a domain";
      ok = client && undo_assign (self, client, &local_error);
      break;
    case SM_REQUEST_DELETE:
    default:
      what = "undo the deletion of a gateway";
      ok = client && undo_delete (self, client, &local_error);
      break;
    }
  if (ok)
    return TRUE;
  m = client ? sm_client_get_mapping (client) : NULL;
  if (self->action == SM_REQUEST_ASSIGN)
    g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s %s: %s",
                 what, self->domain, local_error->message);
  else
    g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s%s%s: %s", what,
                 self->id ? " " : "", self->id ? self->id : "", local_error->message);
  (void) m;
  return FALSE;
}

static void
request_finish (SmarthostOperation *op)
{
  SmarthostSmarterMailRequestOperation *self = SMARTHOST_SMARTERMAIL_REQUEST_OPERATION (op);

  if (self->backend != NULL)
    {
      SmClient *client = sm_backend_get_client (self->backend, NULL);
      if (client != NULL)
        sm_client_set_deadline (client, 0);
    }
}

/* Whether a member of a gateway may hold a password: a name with
 * "password" in it and a non-empty string. No journal record has one. */
static gboolean
is_password_member (const char *name,
                    json_t     *member)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);

  return strstr (lower, "password") != NULL && json_is_string (member) && json_string_length (member) > 0;
}

static char **
request_to_record (SmarthostOperation *op)
{
  SmarthostSmarterMailRequestOperation *self = SMARTHOST_SMARTERMAIL_REQUEST_OPERATION (op);
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  SmMapping *m = mapping_of (self);

  g_strv_builder_add (b, action_names[self->action]);
  g_strv_builder_add (b, self->url);
  switch (self->action)
    {
    case SM_REQUEST_CREATE:
      g_strv_builder_add (b, self->token);
      break;
    case SM_REQUEST_UPDATE:
    case SM_REQUEST_DELETE:
      {
        g_autoptr(json_t) old = sm_json_copy (self->old_gateway);
        g_autofree char *text = NULL;
        const char *name;
        json_t *member;
        void *next;

        /* Never a password, even if a server sent one, under any name
         * load_record refuses. */
        if (m != NULL)
          sm_json_remove (old, sm_mapping_field (m, "gateway-password"));
        json_object_foreach_safe (old, next, name, member)
          if (is_password_member (name, member))
            json_object_del (old, name);
        text = sm_json_to_string (old, NULL);
        g_strv_builder_add (b, self->id);
        g_strv_builder_add (b, text);
        if (self->action == SM_REQUEST_UPDATE)
          g_strv_builder_add (b, self->password_lost ? "password-lost" : "-");
      }
      break;
    case SM_REQUEST_ASSIGN:
    default:
      g_strv_builder_add (b, self->domain);
      g_strv_builder_add (b, self->old_id);
      break;
    }
  return g_strv_builder_end (b);
}

static gboolean
bad_record (GError    **error,
            const char *why)
{
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "a smartermail-request record %s", why);
  return FALSE;
}

static gboolean
text_ok (const char *text,
         gsize       max)
{
  gsize n = strlen (text);

  if (n > max || !g_utf8_validate (text, -1, NULL))
    return FALSE;
  for (const char *p = text; *p; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      return FALSE;
  return TRUE;
}

/* Whether an object has a member whose name says password and whose
 * value is a non-empty string. */
static gboolean
has_password_member (json_t *object)
{
  const char *name;
  json_t *member;

  json_object_foreach (object, name, member)
    if (is_password_member (name, member))
      return TRUE;
  return FALSE;
}

static gboolean
request_load_record (SmarthostOperation  *op,
                     const char * const  *fields,
                     const char          *directory,
                     GError             **error)
{
  SmarthostSmarterMailRequestOperation *self = SMARTHOST_SMARTERMAIL_REQUEST_OPERATION (op);
  guint n = g_strv_length ((char **) fields);
  guint want;
  gint action = -1;

  for (guint i = 0; i < G_N_ELEMENTS (action_names); i++)
    if (n > 0 && g_str_equal (fields[0], action_names[i]))
      action = (gint) i;
  if (action < 0)
    return bad_record (error, "names no known request");
  self->action = (SmRequestAction) action;
  want = self->action == SM_REQUEST_CREATE ? 3 : self->action == SM_REQUEST_UPDATE ? 5 : 4;
  if (n != want)
    return bad_record (error, "has the wrong number of fields");
  for (guint i = 1; i < n; i++)
    if (!text_ok (fields[i], 1024 * 1024))
      return bad_record (error, "holds control characters or text that is not UTF-8");
  if (!g_str_has_prefix (fields[1], "https://") && !g_str_has_prefix (fields[1], "http://"))
    return bad_record (error, "names no server URL");
  self->url = g_strdup (fields[1]);
  self->directory = g_strdup (directory);
  self->applied = TRUE;   /* after a crash, it may have been */
  self->from_record = TRUE;

  switch (self->action)
    {
    case SM_REQUEST_CREATE:
      if (strlen (fields[2]) < 16 || strspn (fields[2], "0123456789abcdef") != strlen (fields[2]))
        return bad_record (error, "has a token that is not one the library makes");
      self->token = g_strdup (fields[2]);
      break;
    case SM_REQUEST_UPDATE:
    case SM_REQUEST_DELETE:
      {
        g_autoptr(GError) local_error = NULL;

        if (*fields[2] == '\0' || strlen (fields[2]) > 256)
          return bad_record (error, "has no gateway id");
        self->id = g_strdup (fields[2]);
        self->old_gateway = sm_json_parse_object ("record", fields[3], -1, &local_error);
        if (self->old_gateway == NULL)
          return bad_record (error, "holds a gateway that is not a JSON object");
        /* A record never holds a password: one that does was not ours. */
        if (has_password_member (self->old_gateway))
          return bad_record (error, "holds a password, which the library never writes");
        if (self->action == SM_REQUEST_UPDATE)
          {
            if (!g_str_equal (fields[4], "password-lost") && !g_str_equal (fields[4], "-"))
              return bad_record (error, "has an unknown flag");
            self->password_lost = g_str_equal (fields[4], "password-lost");
          }
      }
      break;
    case SM_REQUEST_ASSIGN:
    default:
      if (*fields[2] == '\0' || strlen (fields[2]) > 253)
        return bad_record (error, "has no domain");
      if (strlen (fields[3]) > 256)
        return bad_record (error, "has an id that is too long");
      self->domain = g_strdup (fields[2]);
      self->old_id = g_strdup (fields[3]);
      break;
    }
  return TRUE;
}

static void
smarthost_smartermail_request_operation_class_init (SmarthostSmarterMailRequestOperationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SmarthostOperationClass *op_class = SMARTHOST_OPERATION_CLASS (klass);

  object_class->finalize = request_finalize;
  op_class->kind = "smartermail-request";
  op_class->describe = request_describe;
  op_class->apply = request_apply;
  op_class->undo = request_undo;
  op_class->finish = request_finish;
  op_class->to_record = request_to_record;
  op_class->load_record = request_load_record;
}

static void
smarthost_smartermail_request_operation_init (SmarthostSmarterMailRequestOperation *self)
{
}

static SmarthostSmarterMailRequestOperation *
new_request (SmarthostSmarterMailBackend *backend,
             SmRequestAction              action)
{
  SmarthostSmarterMailRequestOperation *self = g_object_new (SMARTHOST_TYPE_SMARTERMAIL_REQUEST_OPERATION, NULL);
  SmClient *client = sm_backend_get_client (backend, NULL);

  self->backend = g_object_ref (backend);
  self->action = action;
  self->url = g_strdup (client ? sm_client_get_url (client) : smarthost_smartermail_backend_get_url (backend));
  return self;
}

SmarthostOperation *
sm_request_new_create (SmarthostSmarterMailBackend *backend,
                       json_t                      *gateway,
                       const char                  *password)
{
  SmarthostSmarterMailRequestOperation *self = new_request (backend, SM_REQUEST_CREATE);
  SmMapping *m = mapping_of (self);
  guint8 random[16];

  /* 128 random bits: no other gateway's description holds them. */
  for (guint i = 0; i < sizeof random; i += 4)
    {
      guint32 r = g_random_int ();
      memcpy (random + i, &r, 4);
    }
  self->token = g_malloc (sizeof random * 2 + 1);
  for (guint i = 0; i < sizeof random; i++)
    g_snprintf (self->token + 2 * i, 3, "%02x", random[i]);
  self->new_gateway = sm_json_copy (gateway);
  {
    g_autofree char *description = g_strconcat ("libsmarthost ", self->token, NULL);
    sm_json_set_string (self->new_gateway, sm_mapping_field (m, "gateway-description"), description);
  }
  self->password = g_strdup (password);
  return SMARTHOST_OPERATION (self);
}

SmarthostOperation *
sm_request_new_update (SmarthostSmarterMailBackend *backend,
                       const char                  *id,
                       json_t                      *old_gateway,
                       json_t                      *new_gateway,
                       const char                  *password,
                       gboolean                     password_lost)
{
  SmarthostSmarterMailRequestOperation *self = new_request (backend, SM_REQUEST_UPDATE);

  self->id = g_strdup (id);
  self->old_gateway = sm_json_copy (old_gateway);
  self->new_gateway = sm_json_copy (new_gateway);
  self->password = g_strdup (password);
  self->password_lost = password_lost;
  return SMARTHOST_OPERATION (self);
}

SmarthostOperation *
sm_request_new_assign (SmarthostSmarterMailBackend *backend,
                       const char                  *domain,
                       const char                  *old_id,
                       const char                  *new_id,
                       SmarthostOperation          *created)
{
  SmarthostSmarterMailRequestOperation *self = new_request (backend, SM_REQUEST_ASSIGN);

  self->domain = g_strdup (domain);
  self->old_id = g_strdup (old_id ? old_id : "");
  self->id = g_strdup (new_id ? new_id : "");
  self->created = created ? g_object_ref (SMARTHOST_SMARTERMAIL_REQUEST_OPERATION (created)) : NULL;
  return SMARTHOST_OPERATION (self);
}

SmarthostOperation *
sm_request_new_delete (SmarthostSmarterMailBackend *backend,
                       const char                  *id,
                       json_t                      *old_gateway)
{
  SmarthostSmarterMailRequestOperation *self = new_request (backend, SM_REQUEST_DELETE);

  self->id = g_strdup (id);
  self->old_gateway = sm_json_copy (old_gateway);
  return SMARTHOST_OPERATION (self);
}

const char *
sm_request_get_created_id (SmarthostSmarterMailRequestOperation *self)
{
  return self->created_id;
}

void
sm_request_set_first (SmarthostOperation *op)
{
  SMARTHOST_SMARTERMAIL_REQUEST_OPERATION (op)->first = TRUE;
}

const char *
sm_request_get_token (SmarthostOperation *op)
{
  return SMARTHOST_SMARTERMAIL_REQUEST_OPERATION (op)->token;
}
