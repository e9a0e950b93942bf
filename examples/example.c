/* example.c: configure smarthosts on Postfix with libsmarthost
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage: example [POSTFIX-CONFIG-DIR]
 *
 * Sets a server-wide smarthost and one for the sender domain example.com in
 * one transaction, prints the dry-run diff, commits, and reads the result
 * back through a fresh backend. Without an argument it works on a new
 * temporary copy of Postfix's stock configuration, never on /etc/postfix.
 *
 * Build: cc example.c $(pkg-config --cflags --libs libsmarthost-1.0)
 */
#include <time.h>
#include <utime.h>

#include <glib/gstdio.h>
#include <smarthost-postfix.h>

/* A fixed fake API key: the example never prints it. */
#define API_KEY "Fake-Example-Key-c0ffee"

static char *
make_config_dir (GError **error)
{
  g_autofree char *dir = g_dir_make_tmp ("smarthost-example-XXXXXX", error);
  g_autofree char *main_cf = NULL;
  g_autofree char *master = NULL;
  g_autofree char *master_cf = NULL;
  struct utimbuf past;

  if (dir == NULL)
    return NULL;
  main_cf = g_build_filename (dir, "main.cf", NULL);
  master_cf = g_build_filename (dir, "master.cf", NULL);
  if (!g_file_get_contents ("/usr/share/postfix/master.cf.dist", &master, NULL, error) ||
      !g_file_set_contents (master_cf, master, -1, error) ||
      !g_file_set_contents (main_cf, "compatibility_level = 3.6\n"
                                     "myhostname = mail.example.org\n", -1, error))
    return NULL;

  /* Postfix ignores a main.cf changed in the last two seconds. */
  past.actime = past.modtime = time (NULL) - 10;
  g_utime (main_cf, &past);
  g_utime (master_cf, &past);
  return g_steal_pointer (&dir);
}

/* Removes the temporary directory again (it holds no symbolic links). */
static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      remove_tree (child);
    }
  g_clear_pointer (&dir, g_dir_close);
  g_remove (path);
}

static void
print_relay (const char     *what,
             SmarthostRelay *relay)
{
  /* to_string() shows "password set", never the password. */
  g_autofree char *text = relay ? smarthost_relay_to_string (relay) : NULL;

  g_print ("%s: %s\n", what, text ? text : "none");
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(SmarthostBackend) backend = NULL;
  g_autoptr(SmarthostBackend) fresh = NULL;
  g_autoptr(SmarthostTransaction) tx = NULL;
  g_autoptr(SmarthostRelay) server = NULL;
  g_autoptr(SmarthostRelay) domain = NULL;
  g_autoptr(SmarthostRelay) read_server = NULL;
  g_autoptr(SmarthostRelay) read_domain = NULL;
  g_autofree char *diff = NULL;
  gboolean temporary = argc < 2;
  int status = 1;

  dir = temporary ? make_config_dir (&error) : g_strdup (argv[1]);
  if (dir == NULL)
    goto out;
  backend = smarthost_postfix_backend_new (dir);

  /* The relays: plain records, checked when they are staged. */
  server = g_object_new (SMARTHOST_TYPE_RELAY,
                         "host", "smtp.sendgrid.net",
                         "security", SMARTHOST_SECURITY_STARTTLS,
                         "username", "apikey",
                         "password", API_KEY,
                         NULL);
  domain = smarthost_relay_new ("smtp.eu.mailgun.org");
  smarthost_relay_set_security (domain, SMARTHOST_SECURITY_TLS);  /* port 465 */
  smarthost_relay_set_username (domain, "postmaster@example.com");
  smarthost_relay_set_password (domain, API_KEY);

  /* Both changes in one transaction: all or nothing. */
  tx = smarthost_backend_begin (backend);
  if (!smarthost_transaction_set_server (tx, server, &error) ||
      !smarthost_transaction_set_domain (tx, "example.com", domain, &error))
    goto out;

  /* The dry run: a unified diff, secrets masked. */
  diff = smarthost_transaction_preview (tx, NULL, &error);
  if (diff == NULL)
    goto out;
  g_print ("Dry run:\n%s\n", diff);

  if (!smarthost_transaction_commit (tx, NULL, &error))
    goto out;
  g_print ("Committed (%s).\n", smarthost_transaction_get_changed (tx) ? "changed" : "nothing to change");

  /* Read back through a new backend object: what a later run would see. */
  fresh = smarthost_postfix_backend_new (dir);
  read_server = smarthost_backend_get_server (fresh, NULL, &error);
  if (error != NULL)
    goto out;
  read_domain = smarthost_backend_get_domain (fresh, "example.com", NULL, &error);
  if (error != NULL)
    goto out;
  print_relay ("server", read_server);
  print_relay ("example.com", read_domain);
  status = 0;

out:
  if (error != NULL)
    g_printerr ("example: %s\n", error->message);
  if (temporary && dir != NULL)
    remove_tree (dir);
  return status;
}
