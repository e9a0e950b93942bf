/* smarthost-smartermail-client.c: SmarterMail's web API over one HTTP session
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <libsoup/soup.h>

#include "smarthost-error.h"
#include "smarthost-relay.h"
#include "smarthost-files-private.h"
#include "smarthost-util-private.h"
#include "smarthost-platform-private.h"
#include "smarthost-smartermail-private.h"

/*
 * Implementation notes
 *
 * One SoupSession per backend, used with the synchronous API from whatever
 * thread runs the call (the async API of the backends runs the sync code
 * in a GTask thread); a mutex makes the requests of one backend one at a
 * time, which also keeps the tokens consistent.
 *
 * TLS: the session verifies the server's certificate against the system's
 * CAs, or against ca-file alone when it is set; insecure accepts any
 * certificate (every message's accept-certificate signal says yes), and
 * the backend says so wherever it reports (see the backend's notes).
 *
 * Time: each request has at most `timeout` seconds, the connection, the
 * reply and its body together (the session's own I/O timeout, plus one
 * watchdog thread per client, not per request, that cancels the request in
 * progress at its deadline), and never outlives the
 * caller's cancellable; a commit's requests also stop at the commit's
 * deadline (sm_client_set_deadline()).
 *
 * Replies: at most SM_REPLY_LIMIT bytes are read; a larger body fails with
 * "reply too large" before it is parsed. Every reply must be a JSON object;
 * sm_client_call() also wants "success": true and reports "message" when
 * it is not, quoted.
 *
 * Secrets: the administrator's password is sent in the login request
 * only; it and the tokens live in this struct, wiped when it is freed.
 * Request bodies (which may hold a gateway's password) are wiped once
 * sent. No error ever quotes a request body, and what the server says is
 * redacted of the password before it is quoted.
 */

/* --- the watchdog -------------------------------------------------------- */

/* One thread per client, not per request: it waits for the deadline of the
 * request in progress (requests of a client go one at a time) and cancels
 * it when the deadline passes. Armed before a request, disarmed after. */
typedef struct {
  GMutex lock;
  GCond cond;
  GThread *thread;
  gboolean quit;
  GCancellable *target;    /* the request's; NULL while idle */
  gint64 deadline;         /* monotonic µs */
  gboolean fired;
} Watchdog;

static gpointer
watchdog_thread (gpointer data)
{
  Watchdog *w = data;

  g_mutex_lock (&w->lock);
  while (!w->quit)
    {
      if (w->target == NULL)
        g_cond_wait (&w->cond, &w->lock);
      else if (!g_cond_wait_until (&w->cond, &w->lock, w->deadline) && w->target != NULL &&
               g_get_monotonic_time () >= w->deadline)
        {
          w->fired = TRUE;
          g_cancellable_cancel (w->target);
          g_clear_object (&w->target);
        }
    }
  g_mutex_unlock (&w->lock);
  return NULL;
}

static void
watchdog_arm (Watchdog     *w,
              GCancellable *target,
              gint64        deadline)
{
  g_mutex_lock (&w->lock);
  if (w->thread == NULL)
    w->thread = g_thread_new ("smartermail-watchdog", watchdog_thread, w);
  g_set_object (&w->target, target);
  w->deadline = deadline;
  w->fired = FALSE;
  g_cond_signal (&w->cond);
  g_mutex_unlock (&w->lock);
}

/* Returns whether the deadline passed. */
static gboolean
watchdog_disarm (Watchdog *w)
{
  gboolean fired;

  g_mutex_lock (&w->lock);
  g_clear_object (&w->target);
  fired = w->fired;
  g_cond_signal (&w->cond);
  g_mutex_unlock (&w->lock);
  return fired;
}

static void
watchdog_clear (Watchdog *w)
{
  g_mutex_lock (&w->lock);
  w->quit = TRUE;
  g_cond_signal (&w->cond);
  g_mutex_unlock (&w->lock);
  if (w->thread != NULL)
    g_thread_join (w->thread);
  g_clear_object (&w->target);
  g_mutex_clear (&w->lock);
  g_cond_clear (&w->cond);
}

struct _SmClient
{
  GMutex lock;
  SoupSession *session;
  GUri *base;              /* scheme, host, port and path prefix */
  char *url;               /* as shown in messages */
  char *admin;
  char *admin_password;
  gboolean insecure;
  guint timeout;
  SmMapping *mapping;
  char *access_token;
  char *refresh_token;
  gint64 access_expires;   /* monotonic-ish: real time in µs; 0 unknown */
  gint64 deadline;         /* a commit's, monotonic µs; 0 none */
  Watchdog watchdog;       /* bounds each request in time */
};

/* A reply's text, which may hold tokens or a password: wiped when freed. */
typedef char SmSecretText;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmSecretText, _smarthost_secret_free)

SmClient *
sm_client_new (const char  *url,
               const char  *admin,
               const char  *admin_password,
               const char  *ca_file,
               gboolean     insecure,
               guint        timeout,
               SmMapping   *mapping,
               GError     **error)
{
  SmClient *client;
  g_autoptr(GUri) base = NULL;
  g_autoptr(GTlsDatabase) database = NULL;

  base = g_uri_parse (url, G_URI_FLAGS_NONE, error);
  if (base == NULL)
    return NULL;
  if (ca_file != NULL && !insecure)
    {
      g_autoptr(GError) local_error = NULL;
      g_autofree char *shown = _smarthost_quote_path (ca_file);

      g_autofree char *pem = NULL;

      /* GIO reads the file by itself, without a bound: the core's reader
       * checks it first (a regular file, not a FIFO or /dev/zero, at most
       * SMARTHOST_READ_CA_LIMIT bytes, no NUL). */
      if (!_smarthost_read_file_limited (ca_file, SMARTHOST_READ_NO_NUL, SMARTHOST_READ_CA_LIMIT, &pem, NULL, NULL,
                                         &local_error))
        {
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "ca-file: %s", local_error->message);
          return NULL;
        }
      database = g_tls_file_database_new (ca_file, &local_error);
      if (database == NULL)
        {
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                       "ca-file: cannot read the certificates in %s: %s", shown, local_error->message);
          return NULL;
        }
    }

  client = g_new0 (SmClient, 1);
  g_mutex_init (&client->lock);
  g_mutex_init (&client->watchdog.lock);
  g_cond_init (&client->watchdog.cond);
  client->base = g_steal_pointer (&base);
  client->url = g_strdup (url);
  client->admin = g_strdup (admin);
  client->admin_password = g_strdup (admin_password);
  client->insecure = insecure;
  client->timeout = timeout;
  client->mapping = sm_mapping_ref (mapping);
  client->session = soup_session_new_with_options ("timeout", timeout,
                                                   "idle-timeout", 60,
                                                   "user-agent", "libsmarthost/" PACKAGE_VERSION,
                                                   NULL);
  if (database != NULL)
    soup_session_set_tls_database (client->session, database);
  return client;
}

void
sm_client_free (SmClient *client)
{
  if (client == NULL)
    return;
  watchdog_clear (&client->watchdog);
  g_clear_object (&client->session);
  g_uri_unref (client->base);
  g_free (client->url);
  g_free (client->admin);
  _smarthost_secret_free (client->admin_password);
  _smarthost_secret_free (client->access_token);
  _smarthost_secret_free (client->refresh_token);
  sm_mapping_unref (client->mapping);
  g_mutex_clear (&client->lock);
  g_free (client);
}

SmMapping *
sm_client_get_mapping (SmClient *client)
{
  return client->mapping;
}

const char *
sm_client_get_url (SmClient *client)
{
  return client->url;
}

void
sm_client_set_deadline (SmClient *client,
                        gint64    deadline)
{
  g_mutex_lock (&client->lock);
  client->deadline = deadline;
  g_mutex_unlock (&client->lock);
}

static void
cancel_other (GCancellable *cancellable,
              gpointer      other)
{
  g_cancellable_cancel (other);
}

/* --- one HTTP exchange ------------------------------------------------------- */

static char *
redact (SmClient   *client,
        const char *text)
{
  g_autoptr(GPtrArray) secrets = g_ptr_array_new ();

  if (client->admin_password && *client->admin_password)
    g_ptr_array_add (secrets, client->admin_password);
  if (client->access_token)
    g_ptr_array_add (secrets, client->access_token);
  if (client->refresh_token)
    g_ptr_array_add (secrets, client->refresh_token);
  return _smarthost_redact (text, secrets);
}

static void
bytes_wipe (gpointer data)
{
  char *text = data;

  _smarthost_secure_zero (text, strlen (text));
  g_free (text);
}

static gboolean
accept_any_certificate (SoupMessage          *msg,
                        GTlsCertificate      *certificate,
                        GTlsCertificateFlags  errors,
                        gpointer              user_data)
{
  return TRUE;
}

/* Sends @method @path with @body (JSON text, taken and wiped) and reads
 * the reply's body, bounded: *@reply, @reply_length bytes (and a NUL
 * after them). *@status is the HTTP status. */
static gboolean
exchange (SmClient      *client,
          const char    *method,
          const char    *path,
          char          *body,
          gboolean       with_token,
          guint         *status,
          char         **reply,
          gsize         *reply_length,
          GCancellable  *cancellable,
          GError       **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GInputStream) in = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GCancellable) timed = g_cancellable_new ();
  g_autoptr(GByteArray) data = g_byte_array_new ();
  g_autofree char *full_path = NULL;
  const char *prefix = g_uri_get_path (client->base);
  gint64 deadline = g_get_monotonic_time () + (gint64) client->timeout * G_USEC_PER_SEC;
  gboolean timed_out;
  gulong handler = 0;
  gboolean ok = FALSE;
  gboolean commit_deadline = FALSE;

  if (client->deadline != 0 && client->deadline < deadline)
    {
      deadline = client->deadline;
      commit_deadline = TRUE;
    }
  if (g_get_monotonic_time () >= deadline)
    {
      if (body)
        bytes_wipe (body);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "%s %s: not sent: the commit took longer than it may (10 times the timeout)", method, path);
      return FALSE;
    }

  /* The base URL's path is a prefix (SmarterMail under /mail, say). */
  full_path = g_strconcat (g_str_has_suffix (prefix, "/") ? "" : prefix, path, NULL);
  if (g_str_has_suffix (prefix, "/") && strlen (prefix) > 1)
    {
      g_free (full_path);
      full_path = g_strconcat (prefix, path + 1, NULL);
    }
  uri = g_uri_build (G_URI_FLAGS_ENCODED_PATH, g_uri_get_scheme (client->base), NULL, g_uri_get_host (client->base),
                     g_uri_get_port (client->base), full_path, NULL, NULL);
  msg = soup_message_new_from_uri (method, uri);
  /* A redirect would carry the token (and what the request holds) to
   * wherever the server says, past the URL's checks: never followed. */
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  if (client->insecure)
    g_signal_connect (msg, "accept-certificate", G_CALLBACK (accept_any_certificate), NULL);
  soup_message_headers_append (soup_message_get_request_headers (msg), "Accept", "application/json");
  if (with_token && client->access_token)
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", client->access_token, NULL);
      soup_message_headers_append (soup_message_get_request_headers (msg), "Authorization", bearer);
      _smarthost_secure_zero (bearer, strlen (bearer));
    }
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new_with_free_func (body, strlen (body), bytes_wipe, body);
      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }

  /* The watchdog bounds the whole exchange; the caller's cancellable
   * stops it. */
  watchdog_arm (&client->watchdog, timed, deadline);
  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (cancel_other), timed, NULL);

  in = soup_session_send (client->session, msg, timed, &local_error);
  if (in != NULL)
    {
      guint8 buffer[16384];

      for (;;)
        {
          gssize n = g_input_stream_read (in, buffer, sizeof buffer, timed, &local_error);
          if (n < 0)
            break;
          if (n == 0)
            {
              ok = TRUE;
              break;
            }
          if (data->len + (gsize) n > SM_REPLY_LIMIT)
            {
              g_set_error (&local_error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                           "reply too large: more than %u MiB", SM_REPLY_LIMIT / (1024 * 1024));
              break;
            }
          g_byte_array_append (data, buffer, (guint) n);
        }
      g_input_stream_close (in, NULL, NULL);
    }

  timed_out = watchdog_disarm (&client->watchdog);
  g_cancellable_disconnect (cancellable, handler);

  if (!ok)
    {
      if (g_cancellable_is_cancelled (cancellable))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s %s: cancelled", method, path);
          return FALSE;
        }
      if (timed_out)
        {
          if (commit_deadline)
            g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                         "%s %s: no complete reply from %s before the commit's time ran out (10 times the "
                         "timeout setting, %u seconds, for all its requests)", method, path, client->url,
                         client->timeout);
          else
            g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                         "%s %s: no complete reply from %s within %u seconds (the timeout setting)",
                         method, path, client->url, client->timeout);
          return FALSE;
        }
      if (local_error->domain == SMARTHOST_ERROR)
        {
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s %s: %s", method, path, local_error->message);
          return FALSE;
        }
      if (in == NULL)
        {
          g_autofree char *why = redact (client, local_error->message);
          const char *hint = "";

          if (local_error->domain == G_TLS_ERROR ||
              soup_message_get_tls_peer_certificate_errors (msg) != 0)
            hint = " (if the server's certificate is signed by a CA of your own, set ca-file to it)";
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "cannot reach %s: %s%s",
                       client->url, why, hint);
          return FALSE;
        }
      {
        g_autofree char *why = redact (client, local_error->message);
        g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s %s: the reply was cut short: %s",
                     method, path, why);
      }
      return FALSE;
    }

  *status = soup_message_get_status (msg);
  if (SOUP_STATUS_IS_REDIRECTION (*status))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "%s %s: the server redirects (HTTP %u), and redirects are not followed, since the login and "
                   "its token would go along: give the URL the server answers at (setting url)",
                   method, path, *status);
      return FALSE;
    }
  *reply_length = data->len;
  g_byte_array_append (data, (const guint8 *) "", 1);
  *reply = (char *) g_byte_array_free (g_steal_pointer (&data), FALSE);
  return TRUE;
}

/* The reply's "message", redacted, quoted and cut; "" when none. */
static char *
reply_message (SmClient *client,
               json_t   *reply)
{
  g_autofree char *message = NULL;
  g_autofree char *clean = NULL;
  g_autofree char *quoted = NULL;

  if (reply == NULL ||
      !sm_json_get_string (reply, "reply", sm_mapping_field (client->mapping, "message"), TRUE, &message, NULL) ||
      message == NULL || *message == '\0')
    return g_strdup ("");
  clean = redact (client, message);
  quoted = _smarthost_quote_full (clean, -1, 200);
  return g_strdup_printf (": %s", quoted);
}

static json_t *
parse_reply (SmClient    *client,
             const char  *method,
             const char  *path,
             const char  *text,
             gsize        length,
             GError     **error)
{
  g_autofree char *what = g_strdup_printf ("%s %s: the reply", method, path);
  g_autoptr(GError) local_error = NULL;
  json_t *node = sm_json_parse_object (what, text, length, &local_error);

  if (node == NULL)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s", local_error->message);
      return NULL;
    }
  return node;
}

static gboolean
reply_succeeded (SmClient *client,
                 json_t   *reply)
{
  gboolean success = FALSE;

  return sm_json_get_boolean (reply, "reply", sm_mapping_field (client->mapping, "success"), FALSE, &success, NULL) &&
         success;
}

/* Reads the tokens of a login or refresh reply. */
static gboolean
take_tokens (SmClient *client,
             json_t   *reply)
{
  SmMapping *m = client->mapping;
  g_autofree char *access = NULL;
  g_autofree char *refresh = NULL;
  g_autofree char *expires = NULL;

  if (!reply_succeeded (client, reply) ||
      !sm_json_get_string (reply, "reply", sm_mapping_field (m, "access-token"), FALSE, &access, NULL) ||
      *access == '\0' ||
      !sm_json_get_string (reply, "reply", sm_mapping_field (m, "refresh-token"), TRUE, &refresh, NULL) ||
      !sm_json_get_string (reply, "reply", sm_mapping_field (m, "access-expiration"), TRUE, &expires, NULL))
    return FALSE;
  _smarthost_secret_free (client->access_token);
  client->access_token = g_steal_pointer (&access);
  if (refresh != NULL)
    {
      _smarthost_secret_free (client->refresh_token);
      client->refresh_token = g_steal_pointer (&refresh);
    }
  client->access_expires = 0;
  if (expires != NULL)
    {
      g_autoptr(GDateTime) when = g_date_time_new_from_iso8601 (expires, NULL);
      if (when != NULL)
        client->access_expires = g_date_time_to_unix (when) * G_USEC_PER_SEC;
    }
  sm_json_wipe_string (reply, sm_mapping_field (m, "access-token"));
  sm_json_wipe_string (reply, sm_mapping_field (m, "refresh-token"));
  return TRUE;
}

static void
forget_tokens (SmClient *client)
{
  g_clear_pointer (&client->access_token, _smarthost_secret_free);
  client->access_expires = 0;
}

static gboolean
login (SmClient      *client,
       GCancellable  *cancellable,
       GError       **error)
{
  SmMapping *m = client->mapping;
  g_autoptr(SmarthostWipedJson) request = sm_json_new_object ();
  g_autoptr(SmarthostWipedJson) reply = NULL;
  g_autofree char *path = sm_mapping_path (m, "login", NULL);
  g_autoptr(SmSecretText) text = NULL;
  gsize length = 0;
  g_autofree char *user = _smarthost_quote (client->admin ? client->admin : "", -1);
  g_autoptr(GError) local_error = NULL;
  guint status = 0;

  forget_tokens (client);
  if (client->admin == NULL || *client->admin == '\0')
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "admin: give the system administrator's user name to log in to %s", client->url), FALSE;
  if (client->admin_password == NULL)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "admin-password: give the password of %s (smarthostctl: --option admin-password-file=PATH "
                        "or --option admin-password-env=VARIABLE)", user), FALSE;
  sm_json_set_string (request, sm_mapping_field (m, "login-username"), client->admin);
  sm_json_set_string (request, sm_mapping_field (m, "login-password"), client->admin_password);
  {
    char *body = sm_json_to_string (request, NULL);
    g_clear_pointer (&request, _smarthost_json_free_wiped);
    if (!exchange (client, sm_mapping_method (m, "login"), path, body, FALSE, &status, &text, &length,
                   cancellable, error))
      return FALSE;
  }
  reply = parse_reply (client, sm_mapping_method (m, "login"), path, text, length, &local_error);
  if (reply != NULL && status >= 200 && status < 300 && take_tokens (client, reply))
    return TRUE;
  {
    g_autofree char *message = reply_message (client, reply);
    if (status == 401 || status == 403 || (reply != NULL && status >= 200 && status < 300))
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "cannot log in to %s as %s%s%s", client->url, user,
                   *message ? message : ": the user name or the password is wrong (admin, admin-password)",
                   reply != NULL && !*message && status < 300 ? " (or the reply holds no access token)" : "");
    else
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "cannot log in to %s as %s: %s %s answered HTTP %u%s", client->url, user,
                   sm_mapping_method (m, "login"), path, status, message);
  }
  return FALSE;
}

static gboolean
refresh (SmClient      *client,
         GCancellable  *cancellable)
{
  SmMapping *m = client->mapping;
  g_autoptr(SmarthostWipedJson) request = NULL;
  g_autoptr(SmarthostWipedJson) reply = NULL;
  g_autofree char *path = NULL;
  g_autoptr(SmSecretText) text = NULL;
  gsize length = 0;
  guint status = 0;
  char *body;

  if (client->refresh_token == NULL)
    return FALSE;
  request = sm_json_new_object ();
  path = sm_mapping_path (m, "refresh", NULL);
  /* The request's member name is the model's (doc/smartermail.md), not a
   * field of the mapping: it is the refresh endpoint's only one. */
  sm_json_set_string (request, "token", client->refresh_token);
  body = sm_json_to_string (request, NULL);
  g_clear_pointer (&request, _smarthost_json_free_wiped);
  forget_tokens (client);
  if (!exchange (client, sm_mapping_method (m, "refresh"), path, body, FALSE, &status, &text, &length,
                 cancellable, NULL))
    return FALSE;
  reply = parse_reply (client, sm_mapping_method (m, "refresh"), path, text, length, NULL);
  return reply != NULL && status >= 200 && status < 300 && take_tokens (client, reply);
}

/* A token to try: logs in when there is none. One that expired is
 * answered with 401, and renewed then: the expiration the server gives is
 * by its clock, not ours. */
static gboolean
ensure_token (SmClient      *client,
              GCancellable  *cancellable,
              GError       **error)
{
  if (client->access_token != NULL)
    return TRUE;
  return login (client, cancellable, error);
}

static json_t *
call_locked (SmClient      *client,
             const char    *endpoint,
             const char    *argument,
             json_t        *body,
             gboolean       check,
             guint         *out_status,
             GCancellable  *cancellable,
             GError       **error)
{
  SmMapping *m = client->mapping;
  const char *method = sm_mapping_method (m, endpoint);
  g_autofree char *path = sm_mapping_path (m, endpoint, argument);
  g_autoptr(SmSecretText) text = NULL;
  g_autoptr(SmarthostWipedJson) reply = NULL;
  gsize length = 0;
  guint status = 0;

  if (!ensure_token (client, cancellable, error))
    return NULL;
  for (guint attempt = 0;; attempt++)
    {
      char *request = body ? sm_json_to_string (body, NULL) : NULL;

      g_clear_pointer (&text, _smarthost_secret_free);
      if (!exchange (client, method, path, request, TRUE, &status, &text, &length, cancellable, error))
        return NULL;
      if (status != 401 || attempt > 0)
        break;
      /* Expired: a refresh, else a new login, then the request once more. */
      if (!refresh (client, cancellable) && !login (client, cancellable, error))
        return g_prefix_error (error, "%s %s: the server said the login expired (HTTP 401), and: ", method, path), NULL;
    }
  if (out_status)
    *out_status = status;
  if (status == 401)
    {
      forget_tokens (client);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "%s %s: HTTP 401 (not authorized) even after a new login as the administrator", method, path);
      return NULL;
    }
  reply = parse_reply (client, method, path, text, length, check || (status >= 200 && status < 300) ? error : NULL);
  if (!check)
    return g_steal_pointer (&reply);
  if (reply == NULL)
    {
      if (status < 200 || status >= 300)
        {
          g_clear_error (error);
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s %s: HTTP %u", method, path, status);
        }
      return NULL;
    }
  if (status < 200 || status >= 300 || !reply_succeeded (client, reply))
    {
      g_autofree char *message = reply_message (client, reply);

      if (status >= 200 && status < 300)
        g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s %s: the server refused%s", method, path,
                     *message ? message : " (\"success\" is not true, and no message)");
      else
        g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s %s: HTTP %u%s", method, path, status,
                     message);
      return NULL;
    }
  return g_steal_pointer (&reply);
}

json_t *
sm_client_call (SmClient      *client,
                const char    *endpoint,
                const char    *argument,
                json_t        *body,
                GCancellable  *cancellable,
                GError       **error)
{
  json_t *reply;

  g_mutex_lock (&client->lock);
  reply = call_locked (client, endpoint, argument, body, TRUE, NULL, cancellable, error);
  g_mutex_unlock (&client->lock);
  return reply;
}

json_t *
sm_client_probe (SmClient      *client,
                 const char    *endpoint,
                 const char    *argument,
                 guint         *status,
                 GCancellable  *cancellable,
                 GError       **error)
{
  json_t *reply;
  g_autoptr(GError) local_error = NULL;

  *status = 0;
  g_mutex_lock (&client->lock);
  reply = call_locked (client, endpoint, argument, NULL, FALSE, status, cancellable, &local_error);
  g_mutex_unlock (&client->lock);
  /* A status that is not 401 is an answer, even if its body is not JSON. */
  if (local_error != NULL && (*status == 0 || *status == 401))
    g_propagate_error (error, g_steal_pointer (&local_error));
  return reply;
}
