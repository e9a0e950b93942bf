/* smarthost-mailenable-store.c: where MailEnable's connector key is read and changed
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Two stores behind one interface (smarthost-mailenable-private.h):
 *
 * The live registry (Windows): the key's values read with the Win32 API,
 * each change a value operation (smarthost-mailenable-value-operation.c)
 * that puts back the old value, or its absence, on undo.
 *
 * An export (any platform): the key's values read from a .reg file that
 * `reg export` or `regedit /E` wrote; a change is a .reg patch (setting
 * "output") that sets or deletes exactly the values that differ from the
 * export, and the undo patch beside it that puts back the export's. Both
 * are files of the library's commits (atomic, journaled, mode 0600 when
 * they hold a password). The patch names the export it was made from
 * (its SHA-256, in a comment), so that reading again sees the key as it
 * will be once the patch is imported; a patch made from another export is
 * stale and replaced. An output that is not a patch this library wrote is
 * never replaced.
 */
#include "config.h"

#include <string.h>

#include "smarthost-error.h"
#include "smarthost-files-private.h"
#include "smarthost-operation-private.h"
#include "smarthost-util-private.h"

#include "smarthost-mailenable-private.h"

#define PATCH_MARKER "libsmarthost patch of"
#define UNDO_MARKER  "libsmarthost undo patch of"

struct _MeStore
{
  gboolean live;
  char *reg_file;       /* absolute */
  char *output;         /* absolute; NULL: not given */
  char *undo;
  /* What the last read found (an export). */
  char *key_path;       /* the key as the export names it */
  GPtrArray *base;      /* the export's values */
  char *base_sha256;
  gboolean output_exists;
  gboolean output_foreign;
  MeRegFile *output_file;   /* the patch there now, when it is ours (made from this export or not) */
  gboolean undo_exists;
  gboolean undo_foreign;
  MeRegFile *undo_file;
  char *foreign_why;
};

static void
clear_read (MeStore *store)
{
  g_clear_pointer (&store->key_path, g_free);
  g_clear_pointer (&store->base, g_ptr_array_unref);
  g_clear_pointer (&store->base_sha256, g_free);
  g_clear_pointer (&store->output_file, me_reg_file_free);
  g_clear_pointer (&store->undo_file, me_reg_file_free);
  g_clear_pointer (&store->foreign_why, g_free);
  store->output_exists = store->output_foreign = FALSE;
  store->undo_exists = store->undo_foreign = FALSE;
}

void
me_store_free (MeStore *store)
{
  if (store == NULL)
    return;
  clear_read (store);
  g_free (store->reg_file);
  g_free (store->output);
  g_free (store->undo);
  g_free (store);
}

gboolean
me_store_is_live (MeStore *store)
{
  return store->live;
}

char *
me_store_undo_path (const char *output)
{
  gsize n = strlen (output);

  g_return_val_if_fail (n >= 4, NULL);
  return g_strdup_printf ("%.*s.undo%s", (int) (n - 4), output, output + n - 4);
}

MeStore *
me_store_new_reg_file (const char *reg_file,
                       const char *output)
{
  MeStore *store = g_new0 (MeStore, 1);

  store->reg_file = g_canonicalize_filename (reg_file, NULL);
  if (output != NULL)
    {
      store->output = g_canonicalize_filename (output, NULL);
      if (strlen (store->output) > 4)
        store->undo = me_store_undo_path (store->output);
    }
  return store;
}

MeStore *
me_store_new_live (void)
{
  MeStore *store = g_new0 (MeStore, 1);

  store->live = TRUE;
  return store;
}

static GPtrArray *
values_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) me_reg_value_free);
}

static MeRegValue *
find_value (GPtrArray  *values,
            const char *name)
{
  for (guint i = 0; values != NULL && i < values->len; i++)
    {
      MeRegValue *v = g_ptr_array_index (values, i);

      if (me_reg_name_equal (v->name, name))
        return v;
    }
  return NULL;
}

/* @values by name (casefolded, as the registry compares names), so that
 * comparing two keys takes time in proportion to their sizes. */
static GHashTable *
index_values (GPtrArray *values)
{
  GHashTable *index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < values->len; i++)
    {
      MeRegValue *v = g_ptr_array_index (values, i);

      g_hash_table_replace (index, g_utf8_casefold (v->name, -1), v);
    }
  return index;
}

static MeRegValue *
lookup_value (GHashTable *index,
              const char *name)
{
  g_autofree char *folded = g_utf8_casefold (name, -1);

  return g_hash_table_lookup (index, folded);
}

/* Sets (or, deleted, removes) @value in @values. */
static void
put_value (GPtrArray        *values,
           const MeRegValue *value)
{
  for (guint i = 0; i < values->len; i++)
    if (me_reg_name_equal (((MeRegValue *) g_ptr_array_index (values, i))->name, value->name))
      {
        g_ptr_array_remove_index (values, i);
        if (!value->deleted)
          g_ptr_array_insert (values, i, me_reg_value_copy (value));
        return;
      }
  if (!value->deleted)
    g_ptr_array_add (values, me_reg_value_copy (value));
}

/* --- an export ------------------------------------------------------------- */

/* The export's section of the connector key: HKEY_LOCAL_MACHINE, then the
 * key as 32-bit programs name it, or as 64-bit ones do (WOW6432Node after
 * SOFTWARE) — reg export and regedit /E write either. Exactly one. */
static MeRegKey *
find_connector_key (MeRegFile   *file,
                    const char  *shown,
                    GError     **error)
{
  g_autofree char *plain = g_strconcat ("HKEY_LOCAL_MACHINE\\", ME_CONNECTOR_SUBKEY, NULL);
  g_autofree char *wow = g_strconcat ("HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\",
                                      ME_CONNECTOR_SUBKEY + strlen ("SOFTWARE\\"), NULL);
  MeRegKey *found = NULL;

  for (guint i = 0; i < file->keys->len; i++)
    {
      MeRegKey *key = g_ptr_array_index (file->keys, i);

      if (!me_reg_name_equal (key->path, plain) && !me_reg_name_equal (key->path, wow))
        continue;
      if (key->deleted)
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "reg-file: %s: line %u deletes the SMTP connector's key: that is no export",
                            shown, key->line), NULL;
      if (found != NULL)
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "reg-file: %s: the SMTP connector's key appears twice (lines %u and %u): export "
                            "it once (reg export \"HKLM\\SOFTWARE\\WOW6432Node\\Mail Enable\\Mail Enable\\"
                            "Connectors\\SMTP\" FILE)", shown, found->line, key->line), NULL;
      found = key;
    }
  if (found == NULL)
    g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                 "reg-file: %s: no key [%s] (or [%s]): export MailEnable's SMTP connector with "
                 "reg export \"HKLM\\SOFTWARE\\WOW6432Node\\Mail Enable\\Mail Enable\\Connectors\\SMTP\" FILE",
                 shown, wow, plain);
  return found;
}

/* A file's text as UTF-8 with LF line ends, for a preview. */
static char *
text_of (MeRegFile          *file,
         const char * const *masked)
{
  return me_reg_file_to_text (file, masked, FALSE);
}

/* The SHA-256 a patch names in its marker comment; NULL when it has none. */
static char *
marker_sha256 (MeRegFile  *file,
               const char *marker)
{
  for (guint i = 0; i < file->comments->len; i++)
    {
      const char *c = g_ptr_array_index (file->comments, i);
      const char *at;

      if (!g_str_has_prefix (c, marker) || (at = strstr (c, "(sha256 ")) == NULL)
        continue;
      at += strlen ("(sha256 ");
      if (strspn (at, "0123456789abcdef") == 64 && at[64] == ')')
        return g_strndup (at, 64);
    }
  return NULL;
}

/* Reads a patch this library may have written at @path: *exists, and
 * *foreign (with why) when it is there and not one of ours. Returns the
 * parsed file when it is ours, with *current when it was made from the
 * export now read (a stale one is replaced by the next change). */
static MeRegFile *
read_patch (MeStore     *store,
            const char  *path,
            const char  *marker,
            gboolean    *exists,
            gboolean    *foreign,
            gboolean    *current)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *shown = _smarthost_quote_path (path);
  MeRegFile *file;
  g_autofree char *sha = NULL;

  *exists = g_file_test (path, G_FILE_TEST_EXISTS) || g_file_test (path, G_FILE_TEST_IS_SYMLINK);
  if (!*exists)
    return NULL;
  file = me_reg_file_read (path, TRUE, &error);
  if (file == NULL)
    {
      *foreign = TRUE;
      if (store->foreign_why == NULL)
        store->foreign_why = g_strdup_printf ("%s is not a .reg patch libsmarthost wrote (%s)", shown, error->message);
      return NULL;
    }
  sha = marker_sha256 (file, marker);
  if (sha == NULL)
    {
      *foreign = TRUE;
      if (store->foreign_why == NULL)
        store->foreign_why = g_strdup_printf ("%s is a .reg file libsmarthost did not write", shown);
      me_reg_file_free (file);
      return NULL;
    }
  *current = g_str_equal (sha, store->base_sha256);
  return file;
}

static GPtrArray *
read_export (MeStore  *store,
             GError  **error)
{
  g_autofree char *shown = _smarthost_quote_path (store->reg_file);
  g_autofree char *data = NULL;
  gsize length = 0;
  g_autoptr(GError) local = NULL;
  g_autoptr(MeRegFile) file = NULL;
  gboolean current = FALSE, undo_current = FALSE;
  GPtrArray *values;
  MeRegKey *key;

  clear_read (store);
  if (!_smarthost_read_file_limited (store->reg_file, 0, ME_REG_FILE_LIMIT, &data, &length, NULL, &local))
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "reg-file: %s", local->message), NULL;
  file = me_reg_file_parse (data, length, &local);
  store->base_sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, length);
  /* An export may hold the smart host's password. */
  memset (data, 0, length);
  if (file == NULL)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "reg-file: %s: %s", shown,
                        local->message), NULL;
  key = find_connector_key (file, shown, error);
  if (key == NULL)
    return NULL;
  for (guint i = 0; i < key->values->len; i++)
    if (((MeRegValue *) g_ptr_array_index (key->values, i))->deleted)
      return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                          "reg-file: %s: line %u deletes a value: that is a patch, not an export", shown,
                          ((MeRegValue *) g_ptr_array_index (key->values, i))->line), NULL;

  store->key_path = g_strdup (key->path);
  store->base = values_new ();
  for (guint i = 0; i < key->values->len; i++)
    g_ptr_array_add (store->base, me_reg_value_copy (g_ptr_array_index (key->values, i)));

  values = values_new ();
  for (guint i = 0; i < store->base->len; i++)
    g_ptr_array_add (values, me_reg_value_copy (g_ptr_array_index (store->base, i)));
  if (store->output == NULL)
    return values;
  store->output_file = read_patch (store, store->output, PATCH_MARKER, &store->output_exists,
                                   &store->output_foreign, &current);
  store->undo_file = read_patch (store, store->undo, UNDO_MARKER, &store->undo_exists, &store->undo_foreign,
                                 &undo_current);
  if (current && store->output_file->keys->len > 0)
    {
      MeRegKey *k = g_ptr_array_index (store->output_file->keys, store->output_file->keys->len - 1);

      for (guint i = 0; i < k->values->len; i++)
        put_value (values, g_ptr_array_index (k->values, i));
    }
  return values;
}

static gboolean
holds (GPtrArray  *values,
       const char *name)
{
  MeRegValue *v = name ? find_value (values, name) : NULL;

  return v != NULL && !v->deleted;
}

/* Replaces (or creates) the patch or undo patch at @path, whose file is
 * @old now (NULL: none), by @file. Texts that may hold the password are
 * wiped once the operation has its copies. */
static gboolean
add_file (SmarthostChange  *change,
          const char       *path,
          gboolean          exists,
          MeRegFile        *old,
          MeRegFile        *file,
          const char       *secret,
          gboolean          secret_inside)
{
  const char * const masked[] = { secret, NULL };
  char *text = text_of (file, NULL);
  char *old_text = old ? text_of (old, NULL) : NULL;
  gboolean changed = !exists || g_strcmp0 (old_text, text) != 0;

  if (changed)
    {
      g_autofree char *masked_text = text_of (file, masked);
      g_autofree char *old_masked = old ? text_of (old, masked) : NULL;
      SmarthostOperation *op = smarthost_file_operation_new (path, exists ? old_text : NULL, text,
                                                             secret_inside ? 0600 : 0644);

      _smarthost_file_operation_set_windows_text (SMARTHOST_FILE_OPERATION (op), TRUE);
      smarthost_file_operation_set_masked (SMARTHOST_FILE_OPERATION (op), exists ? old_masked : NULL, masked_text);
      smarthost_change_add_operation (change, op);
      g_object_unref (op);
    }
  _smarthost_secret_free (text);
  _smarthost_secret_free (old_text);
  return changed;
}

static gboolean
add_patch (MeStore          *store,
           SmarthostChange  *change,
           GPtrArray        *current,
           GPtrArray        *edits,
           const char       *secret,
           const char       *service,
           GError          **error)
{
  g_autoptr(GPtrArray) desired = values_new ();
  g_autoptr(MeRegFile) patch = me_reg_file_new ();
  g_autoptr(MeRegFile) undo = me_reg_file_new ();
  g_autofree char *base_name = g_path_get_basename (store->reg_file);
  g_autofree char *output_name = g_path_get_basename (store->output);
  g_autofree char *undo_name = g_path_get_basename (store->undo);
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GHashTable) base_index = NULL;
  g_autoptr(GHashTable) desired_index = NULL;
  MeRegKey *pk, *uk;
  gboolean wrote = FALSE;

  for (guint i = 0; i < current->len; i++)
    g_ptr_array_add (desired, me_reg_value_copy (g_ptr_array_index (current, i)));
  for (guint i = 0; i < edits->len; i++)
    put_value (desired, g_ptr_array_index (edits, i));
  base_index = index_values (store->base);
  desired_index = index_values (desired);

  /* Every value that differs from the export, in the export's order, then
   * the new ones in the order they are set. */
  for (guint i = 0; i < store->base->len; i++)
    g_ptr_array_add (names, ((MeRegValue *) g_ptr_array_index (store->base, i))->name);
  for (guint i = 0; i < desired->len; i++)
    if (lookup_value (base_index, ((MeRegValue *) g_ptr_array_index (desired, i))->name) == NULL)
      g_ptr_array_add (names, ((MeRegValue *) g_ptr_array_index (desired, i))->name);

  g_ptr_array_add (patch->comments,
                   g_strdup_printf (PATCH_MARKER " %s (sha256 %s), for MailEnable's SMTP connector", base_name,
                                    store->base_sha256));
  g_ptr_array_add (patch->comments,
                   g_strdup_printf ("Import it (reg import %s, or regedit /S %s), then restart the service %s "
                                    "(net stop %s && net start %s). %s puts back what it changes.",
                                    output_name, output_name, service, service, service, undo_name));
  g_ptr_array_add (undo->comments,
                   g_strdup_printf (UNDO_MARKER " %s (sha256 %s): puts back the values %s changes", base_name,
                                    store->base_sha256, output_name));
  pk = me_reg_file_add_key (patch, store->key_path);
  uk = me_reg_file_add_key (undo, store->key_path);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      MeRegValue *b = lookup_value (base_index, name);
      MeRegValue *d = lookup_value (desired_index, name);

      if ((b == NULL && d == NULL) || (b != NULL && d != NULL && me_reg_value_equal (b, d)))
        continue;
      me_reg_key_add_value (pk, d ? me_reg_value_copy (d) : me_reg_value_new_deleted (name));
      me_reg_key_add_value (uk, b ? me_reg_value_copy (b) : me_reg_value_new_deleted (name));
    }

  if (store->output_foreign || store->undo_foreign)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_CONFLICT,
                        "output: %s; nothing was changed: remove it or choose another output", store->foreign_why),
           FALSE;
  if (pk->values->len == 0 && !store->output_exists && !store->undo_exists)
    return TRUE;
  wrote |= add_file (change, store->output, store->output_exists, store->output_file, patch, secret,
                     holds (pk->values, secret));
  wrote |= add_file (change, store->undo, store->undo_exists, store->undo_file, undo, secret,
                     holds (uk->values, secret));
  if (wrote)
    {
      g_autofree char *note = NULL;

      note = g_strdup_printf ("%s is a patch for the server the export %s came from: import it there (reg import, "
                              "regedit /S, or Ansible's win_regmerge), then restart the service %s; %s puts back "
                              "what it changes", output_name, base_name, service, undo_name);
      smarthost_change_add_note (change, note);
      if (g_ascii_strncasecmp (store->key_path, "HKEY_LOCAL_MACHINE\\SOFTWARE\\WOW6432Node\\", 40) != 0)
        smarthost_change_add_note (change,
                                   "the export names the key without WOW6432Node: on 64-bit Windows, import the "
                                   "patch into the 32-bit view, where MailEnable reads it (reg import FILE /reg:32)");
    }
  return TRUE;
}

/* --- the live registry ------------------------------------------------------- */

static GPtrArray *
read_live (MeStore  *store,
           GError  **error)
{
#ifdef G_OS_WIN32
  GPtrArray *values = NULL;
  gboolean exists = FALSE;

  if (!me_live_read_key (ME_CONNECTOR_SUBKEY, &values, &exists, error))
    return NULL;
  if (!exists)
    {
      g_clear_pointer (&values, g_ptr_array_unref);
      return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                          "the registry has no key HKEY_LOCAL_MACHINE\\%s (32-bit view): is MailEnable "
                          "installed?", ME_CONNECTOR_SUBKEY), NULL;
    }
  return values;
#else
  return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED,
                      "the live registry exists only on Windows: give the settings reg-file (an export of "
                      "MailEnable's SMTP connector key) and output (the .reg patch to write)"), NULL;
#endif
}

static gboolean
add_values (SmarthostChange  *change,
            GPtrArray        *current,
            GPtrArray        *edits,
            const char       *secret,
            const char       *state_directory)
{
  for (guint i = 0; i < edits->len; i++)
    {
      MeRegValue *e = g_ptr_array_index (edits, i);
      MeRegValue *old = find_value (current, e->name);
      SmarthostOperation *op;

      if ((old == NULL && e->deleted) || (old != NULL && me_reg_value_equal (old, e)))
        continue;
      op = me_value_operation_new (ME_CONNECTOR_SUBKEY, old, e, secret != NULL && me_reg_name_equal (e->name, secret),
                                   state_directory);
      smarthost_change_add_operation (change, op);
      g_object_unref (op);
    }
  return TRUE;
}

/* --- the interface --------------------------------------------------------------- */

GPtrArray *
me_store_read (MeStore  *store,
               GError  **error)
{
  return store->live ? read_live (store, error) : read_export (store, error);
}

gboolean
me_store_add_operations (MeStore          *store,
                         SmarthostChange  *change,
                         GPtrArray        *current,
                         GPtrArray        *edits,
                         const char       *secret,
                         const char       *service,
                         const char       *state_directory,
                         GError          **error)
{
  if (store->live)
    return add_values (change, current, edits, secret, state_directory);
  if (store->output == NULL)
    return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                        "output: a change to an export needs the path of the .reg patch to write (setting "
                        "output)"), FALSE;
  return add_patch (store, change, current, edits, secret, service, error);
}
