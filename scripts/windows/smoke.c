/* A smoke test of the Windows dependency cache: scripts/build-windows.sh
 * --smoke cross-builds this file against it and runs it under Wine.
 *
 * It uses each library the way libsmarthost will: jansson parses and writes
 * JSON, GIO writes a file atomically and renames over an existing one,
 * OpenSSL hashes and makes a TLS context, GIO finds glib-networking's OpenSSL
 * backend, and libsoup fetches a JSON document from a SoupServer on
 * 127.0.0.1 in the same process (no other network). TAP on stdout; the exit
 * status is the number of failed checks. */

#include <string.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <libsoup/soup.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

static int n_checks;
static int n_failed;

static void
check (gboolean ok, const char *what, const char *detail)
{
  n_checks++;
  if (!ok)
    n_failed++;
  g_print ("%s %d - %s%s%s\n", ok ? "ok" : "not ok", n_checks, what,
           detail ? ": " : "", detail ? detail : "");
}

static const char relay_json[] =
  "{\"host\": \"smtp.example.com\", \"port\": 587, \"security\": \"starttls\","
  " \"domains\": [\"a.example\", \"b.example\"]}";

static void
check_jansson (void)
{
  json_error_t error;
  json_t *root = json_loads (relay_json, 0, &error);
  char *dump;

  check (root != NULL, "jansson parses JSON", root ? NULL : error.text);
  if (root == NULL)
    return;
  check (g_strcmp0 (json_string_value (json_object_get (root, "host")), "smtp.example.com") == 0
         && json_integer_value (json_object_get (root, "port")) == 587
         && json_array_size (json_object_get (root, "domains")) == 2,
         "jansson reads values", NULL);
  json_object_set_new (root, "password", json_null ());
  dump = json_dumps (root, JSON_COMPACT | JSON_SORT_KEYS);
  check (g_strcmp0 (dump, "{\"domains\":[\"a.example\",\"b.example\"],\"host\":"
                          "\"smtp.example.com\",\"password\":null,\"port\":587,"
                          "\"security\":\"starttls\"}") == 0,
         "jansson writes JSON", dump);
  free (dump);
  json_decref (root);
}

static void
check_files (void)
{
  GError *error = NULL;
  char *dir = g_dir_make_tmp ("smarthost-smoke-XXXXXX", &error);
  char *path, *tmp_path, *contents = NULL;
  GFile *file, *tmp_file;

  check (dir != NULL && g_path_is_absolute (dir), "GLib makes a temporary directory",
         dir ? dir : error->message);
  if (dir == NULL)
    {
      g_clear_error (&error);
      return;
    }

  /* A first version, then an atomic replacement (a temporary file renamed
   * over the old one: MoveFileEx on Windows). */
  path = g_build_filename (dir, "main.cf", NULL);
  check (g_file_set_contents (path, "relayhost =\n", -1, &error),
         "g_file_set_contents writes a file", error ? error->message : NULL);
  g_clear_error (&error);
  file = g_file_new_for_path (path);
  check (g_file_replace_contents (file, "relayhost = [smtp.example.com]:587\n",
                                  strlen ("relayhost = [smtp.example.com]:587\n"),
                                  NULL, FALSE, G_FILE_CREATE_NONE, NULL, NULL, &error),
         "GFile replaces a file", error ? error->message : NULL);
  g_clear_error (&error);

  /* A rename over an existing file, the commit step of an atomic write. */
  tmp_path = g_build_filename (dir, ".main.cf.new", NULL);
  tmp_file = g_file_new_for_path (tmp_path);
  g_file_set_contents (tmp_path, "relayhost = [smtp.example.net]:465\n", -1, NULL);
  check (g_file_move (tmp_file, file, G_FILE_COPY_OVERWRITE, NULL, NULL, NULL, &error),
         "GFile renames over an existing file", error ? error->message : NULL);
  g_clear_error (&error);
  check (g_file_get_contents (path, &contents, NULL, NULL)
         && g_strcmp0 (contents, "relayhost = [smtp.example.net]:465\n") == 0
         && !g_file_test (tmp_path, G_FILE_TEST_EXISTS),
         "the renamed file has the new contents", NULL);
  g_free (contents);

  check (g_file_delete (file, NULL, NULL) && g_rmdir (dir) == 0,
         "GLib removes the file and the directory", NULL);
  g_object_unref (tmp_file);
  g_object_unref (file);
  g_free (tmp_path);
  g_free (path);
  g_free (dir);
}

static void
check_openssl (void)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  SSL_CTX *ctx;
  unsigned int i;

  EVP_Digest ("abc", 3, md, &len, EVP_sha256 (), NULL);
  for (i = 0; i < len; i++)
    g_snprintf (hex + 2 * i, 3, "%02x", md[i]);
  hex[2 * len] = '\0';
  check (g_strcmp0 (hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
         "OpenSSL computes SHA-256", hex);
  ctx = SSL_CTX_new (TLS_client_method ());
  check (ctx != NULL, "OpenSSL makes a TLS client context", OpenSSL_version (OPENSSL_VERSION));
  SSL_CTX_free (ctx);
}

static void
check_tls_backend (void)
{
  GTlsBackend *backend = g_tls_backend_get_default ();
  GTlsDatabase *database;

  /* GIO loads glib-networking from lib/gio/modules beside its own bin/. */
  check (g_tls_backend_supports_tls (backend)
         && g_strcmp0 (G_OBJECT_TYPE_NAME (backend), "GTlsBackendOpenssl") == 0,
         "GIO has glib-networking's OpenSSL TLS backend", G_OBJECT_TYPE_NAME (backend));
  database = g_tls_backend_get_default_database (backend);
  check (database != NULL, "the TLS backend has a default certificate database",
         database ? G_OBJECT_TYPE_NAME (database) : NULL);
  g_clear_object (&database);
}

typedef struct
{
  GMainLoop *loop;
  GBytes *body;
  char *error;
  guint status;
} Fetch;

static void
serve_relay (SoupServer *server, SoupServerMessage *msg, const char *path,
             GHashTable *query, gpointer user_data)
{
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC,
                                    relay_json, strlen (relay_json));
}

static void
fetched (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fetch *fetch = user_data;
  GError *error = NULL;

  fetch->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  fetch->status = soup_message_get_status (soup_session_get_async_result_message (SOUP_SESSION (source), result));
  if (error)
    fetch->error = g_strdup (error->message);
  g_clear_error (&error);
  g_main_loop_quit (fetch->loop);
}

static gboolean
timed_out (gpointer user_data)
{
  Fetch *fetch = user_data;

  fetch->error = g_strdup ("no answer within 30 s");
  g_main_loop_quit (fetch->loop);
  return G_SOURCE_REMOVE;
}

static void
check_soup (void)
{
  GError *error = NULL;
  SoupSession *session = soup_session_new_with_options ("timeout", 30, NULL);
  SoupServer *server = soup_server_new ("server-header", "smoke", NULL);
  Fetch fetch = { g_main_loop_new (NULL, FALSE), NULL, NULL, 0 };
  GSList *uris;
  char *url;
  SoupMessage *msg;
  guint timeout;

  check (session != NULL && soup_session_get_tls_database (session) != NULL,
         "libsoup makes a session with a TLS database", NULL);

  soup_server_add_handler (server, "/relay", serve_relay, NULL, NULL);
  check (soup_server_listen_local (server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error),
         "libsoup listens on 127.0.0.1", error ? error->message : NULL);
  g_clear_error (&error);
  uris = soup_server_get_uris (server);
  if (uris == NULL)
    goto out;
  url = g_uri_to_string (uris->data);   /* http://127.0.0.1:PORT/ */
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  {
    char *relay_url = g_strconcat (url, "relay", NULL);
    msg = soup_message_new ("GET", relay_url);
    g_free (relay_url);
  }
  g_free (url);
  /* The two ends share this thread: the asynchronous call, and a main loop. */
  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, fetched, &fetch);
  timeout = g_timeout_add_seconds (30, timed_out, &fetch);
  g_main_loop_run (fetch.loop);
  g_source_remove (timeout);
  if (fetch.error == NULL && fetch.status != SOUP_STATUS_OK)
    fetch.error = g_strdup_printf ("HTTP status %u", fetch.status);
  check (fetch.error == NULL && fetch.body != NULL,
         "libsoup fetches over HTTP from 127.0.0.1", fetch.error);
  if (fetch.body)
    {
      json_error_t jerror;
      gsize size;
      const char *data = g_bytes_get_data (fetch.body, &size);
      json_t *root = json_loadb (data, size, 0, &jerror);

      check (root != NULL
             && json_integer_value (json_object_get (root, "port")) == 587,
             "jansson parses what libsoup fetched", root ? NULL : jerror.text);
      json_decref (root);
      g_bytes_unref (fetch.body);
    }
  g_free (fetch.error);
  g_object_unref (msg);

out:
  g_main_loop_unref (fetch.loop);
  soup_server_disconnect (server);
  g_object_unref (server);
  g_object_unref (session);
}

int
main (void)
{
#ifdef G_OS_WIN32
  check (TRUE, "built for Windows", NULL);
#else
  check (FALSE, "built for Windows", NULL);
#endif
  check (glib_check_version (2, 74, 0) == NULL, "GLib is 2.74 or newer", NULL);
  check_jansson ();
  check_files ();
  check_openssl ();
  check_tls_backend ();
  check_soup ();
  g_print ("1..%d\n", n_checks);
  g_print ("%d passed, %d failed\n", n_checks - n_failed, n_failed);
  return n_failed;
}
