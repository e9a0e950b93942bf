/* smarthost-smartermail-verifiers.c: what tells a gateway's password without holding it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "smarthost-error.h"
#include "smarthost-files-private.h"
#include "smarthost-util-private.h"
#include "smarthost-smartermail-private.h"

/*
 * SmarterMail never sends a gateway's password back, so without help a
 * relay given with its password could never be found equal to the gateway
 * it is already on: every `set-server` would write again, and two domains
 * with the same credentials could not be seen to share a gateway. The
 * backend therefore keeps, in its state directory (0700, its files 0600),
 * a verifier of each password it set: PBKDF2-HMAC-SHA256 with a random
 * salt and many iterations, as a password file would, never the password.
 * The file, "gateway-passwords", has one line per gateway: its id (or
 * "token:TOKEN" for one created by a commit, until a later read knows its
 * id) and "SALT$HASH" in hex. It is written by the commit, as a file
 * operation of the core (journaled, undone with the requests). A gateway
 * without a verifier (set up by hand) is written once, then known.
 */

#define ITERATIONS 100000
#define SALT_LEN   16
#define HASH_LEN   32
#define FILE_LIMIT (16u * 1024 * 1024)

static char *
to_hex (const guint8 *data,
        gsize         len)
{
  GString *out = g_string_sized_new (len * 2);

  for (gsize i = 0; i < len; i++)
    g_string_append_printf (out, "%02x", data[i]);
  return g_string_free (out, FALSE);
}

static gboolean
from_hex (const char *hex,
          guint8     *out,
          gsize       len)
{
  if (strlen (hex) != len * 2)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);
      if (hi < 0 || lo < 0)
        return FALSE;
      out[i] = (guint8) (hi << 4 | lo);
    }
  return TRUE;
}

static gboolean
derive (const char   *password,
        const guint8 *salt,
        guint8       *hash)
{
  return PKCS5_PBKDF2_HMAC (password, (int) strlen (password), salt, SALT_LEN, ITERATIONS, EVP_sha256 (),
                            HASH_LEN, hash) == 1;
}

char *
sm_verifier_new (const char *password)
{
  guint8 salt[SALT_LEN], hash[HASH_LEN];
  g_autofree char *s = NULL;
  g_autofree char *h = NULL;

  if (RAND_bytes (salt, sizeof salt) != 1 || !derive (password, salt, hash))
    return NULL;
  s = to_hex (salt, sizeof salt);
  h = to_hex (hash, sizeof hash);
  return g_strconcat (s, "$", h, NULL);
}

gboolean
sm_verifier_check (const char *verifier,
                   const char *password)
{
  guint8 salt[SALT_LEN], want[HASH_LEN], hash[HASH_LEN];
  g_auto(GStrv) parts = NULL;

  if (verifier == NULL || password == NULL)
    return FALSE;
  parts = g_strsplit (verifier, "$", 3);
  if (g_strv_length (parts) != 2 || !from_hex (parts[0], salt, sizeof salt) ||
      !from_hex (parts[1], want, sizeof want) || !derive (password, salt, hash))
    return FALSE;
  return CRYPTO_memcmp (hash, want, sizeof hash) == 0;
}

/* The file's entries (key → verifier), and its text (NULL: no file). */
GHashTable *
sm_verifiers_read (const char  *directory,
                   char       **text,
                   GError     **error)
{
  g_autofree char *path = g_build_filename (directory, SM_VERIFIERS_FILE, NULL);
  g_autoptr(GHashTable) table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  gboolean exists = FALSE;

  *text = NULL;
  if (!_smarthost_read_file_limited (path, SMARTHOST_READ_TEXT | SMARTHOST_READ_NOFOLLOW, FILE_LIMIT, &contents,
                                     NULL, &exists, &local_error))
    {
      if (!exists)
        return g_steal_pointer (&table);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "%s", local_error->message);
      return NULL;
    }
  if (contents == NULL)
    return g_steal_pointer (&table);
  lines = g_strsplit (contents, "\n", 0);
  for (guint i = 0; lines[i]; i++)
    {
      g_auto(GStrv) fields = NULL;

      if (*lines[i] == '\0')
        continue;
      fields = g_strsplit (lines[i], "\t", 3);
      /* A line we did not write is ignored: its gateway is written again. */
      if (g_strv_length (fields) == 2)
        g_hash_table_replace (table, g_strdup (fields[0]), g_strdup (fields[1]));
    }
  *text = g_steal_pointer (&contents);
  return g_steal_pointer (&table);
}

static int
compare_keys (gconstpointer a,
              gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* The text of @table, sorted; @masked: the same with the verifiers hidden. */
char *
sm_verifiers_to_text (GHashTable  *table,
                      char       **masked)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new ();
  GString *out = g_string_new (NULL);
  GString *shown = g_string_new (NULL);
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (keys, key);
  g_ptr_array_sort (keys, compare_keys);
  for (guint i = 0; i < keys->len; i++)
    {
      const char *k = g_ptr_array_index (keys, i);
      g_string_append_printf (out, "%s\t%s\n", k, (char *) g_hash_table_lookup (table, k));
      g_string_append_printf (shown, "%s\t(a verifier of its password, not the password)\n", k);
    }
  *masked = g_string_free (shown, FALSE);
  return g_string_free (out, FALSE);
}

/* @text (the file as it is) with its verifiers hidden, for a preview; a
 * line the library did not write is shown as it is. */
char *
sm_verifiers_mask_text (const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", 0);
  GString *shown = g_string_new (NULL);

  for (guint i = 0; lines[i]; i++)
    {
      const char *tab = strchr (lines[i], '\t');

      if (tab != NULL && strchr (tab + 1, '\t') == NULL)
        g_string_append_printf (shown, "%.*s\t(a verifier of its password, not the password)",
                                (int) (tab - lines[i]), lines[i]);
      else
        g_string_append (shown, lines[i]);
      if (lines[i + 1] != NULL)
        g_string_append_c (shown, '\n');
    }
  return g_string_free (shown, FALSE);
}
