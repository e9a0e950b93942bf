/* test-util.h: helpers shared by the unit tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#ifdef G_OS_WIN32
/* The Windows build (test-mailenable-reg): no symbolic links there. */
# define lstat(p, st) g_stat ((p), (st))
#endif

static inline void
rm_rf (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;
  struct stat st;

  if (lstat (path, &st) != 0)
    return;
  if (S_ISDIR (st.st_mode))
    {
      dir = g_dir_open (path, 0, NULL);
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          rm_rf (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

/* Every file and directory under @root: relative path -> "mode uid gid
 * contents" (directories: "dir mode"). Two snapshots are equal when the
 * tree is unchanged, byte for byte. */
static inline void
snapshot_into (GHashTable *snap,
               const char *root,
               const char *rel)
{
  g_autofree char *path = rel ? g_build_filename (root, rel, NULL) : g_strdup (root);
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child_rel = rel ? g_build_filename (rel, name, NULL) : g_strdup (name);
      g_autofree char *child = g_build_filename (root, child_rel, NULL);
      struct stat st;

      g_assert_cmpint (lstat (child, &st), ==, 0);
      if (S_ISDIR (st.st_mode))
        {
          g_hash_table_insert (snap, g_strdup (child_rel), g_strdup_printf ("dir %o", st.st_mode & 07777));
          snapshot_into (snap, root, child_rel);
        }
      else
        {
          g_autofree char *contents = NULL;
          gsize len;

          g_assert_true (g_file_get_contents (child, &contents, &len, NULL));
          g_hash_table_insert (snap, g_strdup (child_rel),
                               g_strdup_printf ("%o %u %u %s", st.st_mode & 07777,
                                                (guint) st.st_uid, (guint) st.st_gid, contents));
        }
    }
}

static inline GHashTable *
snapshot (const char *root)
{
  GHashTable *snap = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  snapshot_into (snap, root, NULL);
  return snap;
}

static inline void
assert_same_snapshot (GHashTable *before,
                      GHashTable *after)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, before);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      const char *now = g_hash_table_lookup (after, key);
      if (now == NULL)
        g_error ("%s was removed", (char *) key);
      if (!g_str_equal (now, value))
        g_error ("%s changed: was \"%s\", is \"%s\"", (char *) key, (char *) value, now);
    }
  g_hash_table_iter_init (&iter, after);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!g_hash_table_contains (before, key))
      g_error ("%s was left behind", (char *) key);
}

static inline void
assert_no_leftovers (const char *root)
{
  g_autoptr(GHashTable) snap = snapshot (root);
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, snap);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (strstr (key, ".smarthost-new") != NULL || strstr (key, ".smarthost-old") != NULL)
      g_error ("leftover %s", (char *) key);
}

static inline void
write_file (const char *path,
            const char *contents,
            guint       mode)
{
  g_autoptr(GError) error = NULL;

  /* (Not G_FILE_SET_CONTENTS_NONE: GLib 2.74 then writes in place without
   * truncating.) */
  g_assert_true (g_file_set_contents_full (path, contents, -1, G_FILE_SET_CONTENTS_CONSISTENT, mode, &error));
  g_assert_no_error (error);
  g_assert_cmpint (chmod (path, mode), ==, 0);
}

/* Dates a file two seconds back: Postfix waits for a main.cf, master.cf
 * or lookup table modified in the last two seconds to "cool down". */
#ifndef G_OS_WIN32
static inline void
date_back (const char *path)
{
  struct timespec times[2] = { { 0, UTIME_OMIT }, { time (NULL) - 3, 0 } };

  g_assert_cmpint (utimensat (AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW), ==, 0);
}
#endif

static inline char *
read_file (const char *path)
{
  GError *error = NULL;
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, &error))
    g_error ("cannot read %s: %s", path, error->message);
  return contents;
}

static inline guint
file_mode (const char *path)
{
  struct stat st;

  g_assert_cmpint (lstat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

