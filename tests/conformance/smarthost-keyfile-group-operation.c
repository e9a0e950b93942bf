/* smarthost-keyfile-group-operation.c: one group of a key file, set or deleted
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The operation kind of the test backend: compiled against the installed
 * headers only (<smarthost.h>, GLib), to prove that a backend outside the
 * library can add a kind of operation of its own, journal it and have the
 * core undo or finish it after a crash.
 */

/*
 * Implementation notes
 *
 * An operation changes one group of the key file and nothing else: apply
 * makes the group what the change wants (new_text), undo makes it what it
 * was (old_text). Both texts are the group as a key file of that one group
 * ("[domain example.com]\nhost=...\n"), NULL for a group that is (or is
 * to be) absent. Each step reads the file as it is now, sets that one
 * group and writes the file back atomically: a temporary file beside it
 * (".NAME.smarthost-new"), fsynced, renamed over it, and the directory
 * fsynced. When the group is already as wanted, nothing is written.
 * Every write puts the groups in one order ([server], the domains by name,
 * then any other group as it came), so the bytes of the file depend on its
 * groups alone: undoing a change gives back the very file it began with,
 * even where a group was deleted and is put back.
 *
 * So apply and undo are idempotent, and independent of the other
 * operations of the change, since the backend makes one operation per
 * group: an undo is right whether its apply ran, was killed halfway (its
 * temporary file is removed) or never ran, and again after a crash in
 * another process, rebuilt from the journal record, which holds both texts.
 *
 * A journal record names the key file. The core hands load_record() the
 * state directory the journal is in, not the backend, so the backend
 * claims its state directory for its key file when it names it
 * (smarthost_keyfile_group_operation_claim(), before any commit or
 * recovery can read a journal there), and a record naming any other file
 * is refused: a journal must not be able to make recovery write elsewhere.
 *
 * The key file holds passwords: it is written with mode 0600, and so is
 * the journal (by the core), which holds the group's old and new text.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <smarthost.h>

#include "smarthost-keyfile-group-operation.h"
#include "conformance-compat.h"

struct _SmarthostKeyfileGroupOperation
{
  SmarthostOperation parent_instance;

  char *path;           /* the key file, absolute */
  char *group;          /* "server" or "domain NAME" */
  char *old_text;       /* the group before, NULL: absent */
  char *new_text;       /* the group after, NULL: deleted */
  gboolean fail_undo;   /* test knob: undo fails (never from a record) */
};

G_DEFINE_FINAL_TYPE (SmarthostKeyfileGroupOperation, smarthost_keyfile_group_operation, SMARTHOST_TYPE_OPERATION)

/* --- the key file a state directory's journal may name ---------------------- */

static GMutex claims_lock;
static GHashTable *claims;   /* state directory -> key file */

/**
 * smarthost_keyfile_group_operation_claim:
 * @state_directory: a backend's state directory
 * @path: the key file whose commits keep their journal there
 *
 * Records that journals in @state_directory may name @path, and only it.
 * A directory claimed for another key file is refused: two key files
 * sharing one journal could undo each other's changes.
 *
 * Returns: %TRUE if @state_directory is @path's
 */
gboolean
smarthost_keyfile_group_operation_claim (const char  *state_directory,
                                         const char  *path,
                                         GError     **error)
{
  const char *owner;
  gboolean ok = TRUE;

  g_mutex_lock (&claims_lock);
  if (claims == NULL)
    claims = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  owner = g_hash_table_lookup (claims, state_directory);
  if (owner == NULL)
    g_hash_table_insert (claims, g_strdup (state_directory), g_strdup (path));
  else if (!g_str_equal (owner, path))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                   "state-directory: %s keeps the journal of another key file (%s); "
                   "give each key file a state directory of its own", state_directory, owner);
      ok = FALSE;
    }
  g_mutex_unlock (&claims_lock);
  return ok;
}

static char *
claimed_path (const char *state_directory)
{
  char *path = NULL;

  g_mutex_lock (&claims_lock);
  if (claims != NULL)
    path = g_strdup (g_hash_table_lookup (claims, state_directory));
  g_mutex_unlock (&claims_lock);
  return path;
}

/* --- reading and writing the key file --------------------------------------- */

static gboolean
set_errno_error (GError    **error,
                 int         saved_errno,
                 const char *what,
                 const char *path)
{
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
               "keyfile: %s %s: %s", what, path, g_strerror (saved_errno));
  return FALSE;
}

/**
 * smarthost_keyfile_load:
 * @path: the key file
 *
 * Reads the key file; one that does not exist reads as empty.
 *
 * Returns: (transfer full): the key file, or %NULL with @error set
 */
GKeyFile *
smarthost_keyfile_load (const char  *path,
                        GError     **error)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autofree char *data = NULL;
  gsize len = 0;
  struct stat st;

  if (lstat (path, &st) != 0)
    {
      if (errno == ENOENT)
        return g_steal_pointer (&key_file);
      return set_errno_error (error, errno, "cannot read", path), NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "keyfile: %s is not a regular file (a symbolic link is not followed)", path);
      return NULL;
    }
  if (!g_file_get_contents (path, &data, &len, NULL))
    return set_errno_error (error, EIO, "cannot read", path), NULL;
  /* GLib's message may quote the line it refused, a password perhaps. */
  if (!g_key_file_load_from_data (key_file, data, len, G_KEY_FILE_KEEP_COMMENTS, NULL))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "keyfile: %s is not a valid key file; fix it by hand", path);
      return NULL;
    }
  return g_steal_pointer (&key_file);
}

/**
 * smarthost_keyfile_group_to_text:
 * @key_file: a key file
 * @group: a group name
 *
 * The group as a key file of that group alone, in GLib's spelling (so
 * that two texts of the same keys and values compare equal).
 *
 * Returns: (transfer full) (nullable): the text, %NULL if there is no
 *   such group
 */
char *
smarthost_keyfile_group_to_text (GKeyFile   *key_file,
                                 const char *group)
{
  g_autoptr(GKeyFile) one = NULL;
  g_auto(GStrv) keys = NULL;

  if (!g_key_file_has_group (key_file, group))
    return NULL;
  keys = g_key_file_get_keys (key_file, group, NULL, NULL);
  if (keys == NULL || keys[0] == NULL)
    return g_strdup_printf ("[%s]\n", group);
  one = g_key_file_new ();
  for (guint i = 0; keys[i]; i++)
    {
      g_autofree char *value = g_key_file_get_value (key_file, group, keys[i], NULL);
      g_key_file_set_value (one, group, keys[i], value ? value : "");
    }
  return g_key_file_to_data (one, NULL, NULL);
}

/**
 * smarthost_keyfile_group_name_is_valid:
 * @group: a group name
 *
 * Whether @group is one the backend writes: `server`, or `domain` and a
 * normalized domain.
 *
 * Returns: %TRUE if it is
 */
gboolean
smarthost_keyfile_group_name_is_valid (const char *group)
{
  g_autofree char *normalized = NULL;

  if (g_strcmp0 (group, "server") == 0)
    return TRUE;
  if (group == NULL || !g_str_has_prefix (group, "domain "))
    return FALSE;
  normalized = smarthost_domain_normalize (group + strlen ("domain "), NULL);
  return normalized != NULL && g_str_equal (normalized, group + strlen ("domain "));
}

/* A group's text, parsed: it must hold exactly the group @group. */
static GKeyFile *
parse_group_text (const char  *group,
                  const char  *text,
                  GError     **error)
{
  g_autoptr(GKeyFile) one = g_key_file_new ();
  g_auto(GStrv) groups = NULL;

  if (!g_key_file_load_from_data (one, text, (gsize) -1, G_KEY_FILE_NONE, NULL) ||
      (groups = g_key_file_get_groups (one, NULL)) == NULL ||
      groups[0] == NULL || groups[1] != NULL || !g_str_equal (groups[0], group))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "the text of [%s] is not a key file of that group alone", group);
      return NULL;
    }
  return g_steal_pointer (&one);
}

/* Makes @group of @key_file what @text says (NULL: no such group),
 * where it stands in the file. */
static gboolean
set_group (GKeyFile    *key_file,
           const char  *group,
           const char  *text,
           GError     **error)
{
  g_autoptr(GKeyFile) one = NULL;
  g_auto(GStrv) old_keys = NULL;
  g_auto(GStrv) new_keys = NULL;

  if (text == NULL)
    {
      g_key_file_remove_group (key_file, group, NULL);
      return TRUE;
    }
  one = parse_group_text (group, text, error);
  if (one == NULL)
    return FALSE;
  old_keys = g_key_file_get_keys (key_file, group, NULL, NULL);
  for (guint i = 0; old_keys != NULL && old_keys[i]; i++)
    g_key_file_remove_key (key_file, group, old_keys[i], NULL);
  new_keys = g_key_file_get_keys (one, group, NULL, NULL);
  for (guint i = 0; new_keys != NULL && new_keys[i]; i++)
    {
      g_autofree char *value = g_key_file_get_value (one, group, new_keys[i], NULL);
      g_key_file_set_value (key_file, group, new_keys[i], value);
    }
  return TRUE;
}

static char *
temporary_path (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *name = g_strdup_printf (".%s.smarthost-new", base);

  return g_build_filename (dir, name, NULL);
}

static void
fsync_directory_of (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd >= 0)
    {
      fsync (fd);
      close (fd);
    }
}

/* Replaces @path with @data, all or nothing: a temporary file beside it,
 * flushed, renamed over it. */
static gboolean
write_atomically (const char  *path,
                  const char  *data,
                  gsize        len,
                  GError     **error)
{
  g_autofree char *tmp = temporary_path (path);
  const char *p = data;
  gsize left = len;
  int fd;

  unlink (tmp);
  fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return set_errno_error (error, errno, "cannot create", tmp);
  while (left > 0)
    {
      ssize_t n = write (fd, p, left);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          close (fd);
          unlink (tmp);
          return set_errno_error (error, saved, "cannot write", tmp);
        }
      p += n;
      left -= (gsize) n;
    }
  if (fsync (fd) != 0 || close (fd) != 0)
    {
      int saved = errno;
      unlink (tmp);
      return set_errno_error (error, saved, "cannot write", tmp);
    }
  if (rename (tmp, path) != 0)
    {
      int saved = errno;
      unlink (tmp);
      return set_errno_error (error, saved, "cannot replace", path);
    }
  fsync_directory_of (path);
  return TRUE;
}

/* Groups in a fixed order: [server], the domains by name, then any other
 * group as it came. So the file's bytes depend only on its groups, not on
 * the order they were set in: an undo that puts a deleted group back
 * gives back the very file the change began with. Comments are kept. */
static int
group_rank (const char *group)
{
  if (g_str_equal (group, "server"))
    return 0;
  return smarthost_keyfile_group_name_is_valid (group) ? 1 : 2;
}

static int
compare_groups (gconstpointer a,
                gconstpointer b,
                gpointer      user_data)
{
  const char *x = *(const char * const *) a, *y = *(const char * const *) b;
  int rx = group_rank (x), ry = group_rank (y);

  if (rx != ry)
    return rx - ry;
  return rx == 1 ? strcmp (x, y) : 0;
}

static void
copy_comment (GKeyFile   *from,
              GKeyFile   *to,
              const char *group,
              const char *key)
{
  g_autofree char *comment = g_key_file_get_comment (from, group, key, NULL);

  if (comment != NULL && *comment != '\0')
    g_key_file_set_comment (to, group, key, comment, NULL);
}

static GKeyFile *
canonical_order (GKeyFile *key_file)
{
  GKeyFile *out = g_key_file_new ();
  g_auto(GStrv) groups = g_key_file_get_groups (key_file, NULL);
  gsize n = g_strv_length (groups);

  /* g_qsort_with_data is stable: other groups keep their order. */
  g_qsort_with_data (groups, (gint) n, sizeof (char *), compare_groups, NULL);
  for (gsize i = 0; i < n; i++)
    {
      g_auto(GStrv) keys = g_key_file_get_keys (key_file, groups[i], NULL, NULL);

      for (guint k = 0; keys != NULL && keys[k]; k++)
        {
          g_autofree char *value = g_key_file_get_value (key_file, groups[i], keys[k], NULL);

          g_key_file_set_value (out, groups[i], keys[k], value ? value : "");
          copy_comment (key_file, out, groups[i], keys[k]);
        }
      if (g_key_file_has_group (out, groups[i]))
        copy_comment (key_file, out, groups[i], NULL);
    }
  copy_comment (key_file, out, NULL, NULL);
  return out;
}

static gboolean
is_blank (const char *text)
{
  for (; *text; text++)
    if (!g_ascii_isspace (*text))
      return FALSE;
  return TRUE;
}

/* Sets one group of the key file as it is now, writing it only if that
 * changes the group. A file left with no group is removed. */
static gboolean
rewrite_group (const char  *path,
               const char  *group,
               const char  *text,
               GError     **error)
{
  g_autoptr(GKeyFile) key_file = NULL;
  g_autoptr(GKeyFile) canonical = NULL;
  g_autofree char *now = NULL;
  g_autofree char *data = NULL;
  g_auto(GStrv) groups = NULL;
  gsize len = 0;

  key_file = smarthost_keyfile_load (path, error);
  if (key_file == NULL)
    return FALSE;
  now = smarthost_keyfile_group_to_text (key_file, group);
  if (g_strcmp0 (now, text) == 0)
    return TRUE;
  if (!set_group (key_file, group, text, error))
    return FALSE;
  canonical = canonical_order (key_file);
  data = g_key_file_to_data (canonical, &len, NULL);
  groups = g_key_file_get_groups (canonical, NULL);
  if (groups[0] == NULL && is_blank (data))
    {
      if (unlink (path) != 0 && errno != ENOENT)
        return set_errno_error (error, errno, "cannot remove", path);
      fsync_directory_of (path);
      return TRUE;
    }
  return write_atomically (path, data, len, error);
}

/* --- the operation ------------------------------------------------------------ */

static void
keyfile_group_operation_finalize (GObject *object)
{
  SmarthostKeyfileGroupOperation *self = SMARTHOST_KEYFILE_GROUP_OPERATION (object);

  g_free (self->path);
  g_free (self->group);
  if (self->old_text != NULL)
    explicit_bzero (self->old_text, strlen (self->old_text));
  if (self->new_text != NULL)
    explicit_bzero (self->new_text, strlen (self->new_text));
  g_free (self->old_text);
  g_free (self->new_text);
  G_OBJECT_CLASS (smarthost_keyfile_group_operation_parent_class)->finalize (object);
}

static void
append_value (GString    *out,
              GKeyFile   *key_file,
              const char *group,
              const char *key)
{
  g_autofree char *value = key_file ? g_key_file_get_value (key_file, group, key, NULL) : NULL;
  g_autofree char *escaped = NULL;

  if (value == NULL)
    g_string_append (out, "(none)");
  else if (g_str_equal (key, "password"))
    g_string_append (out, SMARTHOST_PASSWORD_MASK);
  else
    {
      escaped = g_strescape (value, NULL);
      g_string_append_printf (out, "\"%s\"", escaped);
    }
}

/* One line: the group, then each key that changes, old -> new (a group
 * added or removed shows its keys); passwords masked. */
static char *
keyfile_group_operation_describe (SmarthostOperation *op,
                                  gboolean           *masked)
{
  SmarthostKeyfileGroupOperation *self = SMARTHOST_KEYFILE_GROUP_OPERATION (op);
  g_autoptr(GKeyFile) old_kf = self->old_text ? parse_group_text (self->group, self->old_text, NULL) : NULL;
  g_autoptr(GKeyFile) new_kf = self->new_text ? parse_group_text (self->group, self->new_text, NULL) : NULL;
  g_auto(GStrv) old_keys = old_kf ? g_key_file_get_keys (old_kf, self->group, NULL, NULL) : NULL;
  g_auto(GStrv) new_keys = new_kf ? g_key_file_get_keys (new_kf, self->group, NULL, NULL) : NULL;
  g_autoptr(GPtrArray) keys = g_ptr_array_new ();
  GString *out = g_string_new (NULL);
  gboolean first = TRUE;

  *masked = TRUE;   /* every password is shown as the mask */
  g_string_append_printf (out, "# keyfile: [%s]", self->group);
  if (old_kf == NULL)
    g_string_append (out, " added:");
  else if (new_kf == NULL)
    g_string_append (out, " removed:");
  for (guint i = 0; new_keys != NULL && new_keys[i]; i++)
    g_ptr_array_add (keys, new_keys[i]);
  for (guint i = 0; old_keys != NULL && old_keys[i]; i++)
    if (new_keys == NULL || !g_strv_contains ((const char * const *) new_keys, old_keys[i]))
      g_ptr_array_add (keys, old_keys[i]);

  for (guint i = 0; i < keys->len; i++)
    {
      const char *key = g_ptr_array_index (keys, i);
      g_autofree char *old_value = old_kf ? g_key_file_get_value (old_kf, self->group, key, NULL) : NULL;
      g_autofree char *new_value = new_kf ? g_key_file_get_value (new_kf, self->group, key, NULL) : NULL;

      if (old_kf != NULL && new_kf != NULL && g_strcmp0 (old_value, new_value) == 0)
        continue;
      g_string_append_printf (out, "%s %s = ", first ? "" : ",", key);
      first = FALSE;
      if (old_kf != NULL && new_kf != NULL)
        {
          append_value (out, old_kf, self->group, key);
          g_string_append (out, " -> ");
          append_value (out, new_kf, self->group, key);
        }
      else
        append_value (out, old_kf ? old_kf : new_kf, self->group, key);
    }
  g_string_append_c (out, '\n');
  return g_string_free (out, FALSE);
}

/* Before anything is changed: the key file's directory must be there, and
 * the key file a regular file if it exists. */
static gboolean
keyfile_group_operation_check (SmarthostOperation  *op,
                               GError             **error)
{
  SmarthostKeyfileGroupOperation *self = SMARTHOST_KEYFILE_GROUP_OPERATION (op);
  g_autofree char *dir = g_path_get_dirname (self->path);
  struct stat st;

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "keyfile: the directory of %s does not exist", self->path);
      return FALSE;
    }
  if (lstat (self->path, &st) == 0 && !S_ISREG (st.st_mode))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "keyfile: %s is not a regular file", self->path);
      return FALSE;
    }
  return TRUE;
}

static gboolean
keyfile_group_operation_apply (SmarthostOperation  *op,
                               GCancellable        *cancellable,
                               GError             **error)
{
  SmarthostKeyfileGroupOperation *self = SMARTHOST_KEYFILE_GROUP_OPERATION (op);

  return rewrite_group (self->path, self->group, self->new_text, error);
}

/* Idempotent: whatever apply reached, the group ends as it was. */
static gboolean
keyfile_group_operation_undo (SmarthostOperation  *op,
                              GCancellable        *cancellable,
                              GError             **error)
{
  SmarthostKeyfileGroupOperation *self = SMARTHOST_KEYFILE_GROUP_OPERATION (op);
  g_autofree char *tmp = temporary_path (self->path);

  if (self->fail_undo)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "keyfile: cannot put [%s] back (fail-undo, a test setting)", self->group);
      return FALSE;
    }
  if (unlink (tmp) != 0 && errno != ENOENT)
    return set_errno_error (error, errno, "cannot remove", tmp);
  return rewrite_group (self->path, self->group, self->old_text, error);
}

static void
keyfile_group_operation_finish (SmarthostOperation *op)
{
  SmarthostKeyfileGroupOperation *self = SMARTHOST_KEYFILE_GROUP_OPERATION (op);
  g_autofree char *tmp = temporary_path (self->path);

  unlink (tmp);
}

static char **
keyfile_group_operation_to_record (SmarthostOperation *op)
{
  SmarthostKeyfileGroupOperation *self = SMARTHOST_KEYFILE_GROUP_OPERATION (op);
  const char *fields[] = {
    self->path,
    self->group,
    self->old_text ? "present" : "absent",
    self->old_text ? self->old_text : "",
    self->new_text ? "present" : "absent",
    self->new_text ? self->new_text : "",
    NULL
  };

  return g_strdupv ((char **) fields);
}

static gboolean
damaged (GError    **error,
         const char *why)
{
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
               "journal: a damaged test-keyfile-group record: %s", why);
  return FALSE;
}

/* "present" and the group's text, or "absent" and nothing. */
static gboolean
group_from_record (const char  *flag,
                   const char  *text,
                   const char  *group,
                   char       **out,
                   GError     **error)
{
  g_autoptr(GKeyFile) one = NULL;

  *out = NULL;
  if (g_str_equal (flag, "absent"))
    return *text == '\0' || damaged (error, "an absent group has text");
  if (!g_str_equal (flag, "present"))
    return damaged (error, "a group is neither present nor absent");
  one = parse_group_text (group, text, NULL);
  if (one == NULL)
    return damaged (error, "the text of a group is not that group alone");
  *out = g_strdup (text);
  return TRUE;
}

static gboolean
keyfile_group_operation_load_record (SmarthostOperation  *op,
                                     const char * const  *fields,
                                     const char          *directory,
                                     GError             **error)
{
  SmarthostKeyfileGroupOperation *self = SMARTHOST_KEYFILE_GROUP_OPERATION (op);
  g_autofree char *claimed = NULL;

  if (g_strv_length ((char **) fields) != 6)
    return damaged (error, "it has not 6 fields"), FALSE;
  claimed = claimed_path (directory);
  if (claimed == NULL || !g_str_equal (claimed, fields[0]))
    return damaged (error, "it names another file than the key file of the backend "
                           "whose state directory holds the journal"), FALSE;
  if (!smarthost_keyfile_group_name_is_valid (fields[1]))
    return damaged (error, "it names a group the backend does not write"), FALSE;

  g_free (self->path);
  g_free (self->group);
  self->path = g_strdup (fields[0]);
  self->group = g_strdup (fields[1]);
  if (!group_from_record (fields[2], fields[3], self->group, &self->old_text, error) ||
      !group_from_record (fields[4], fields[5], self->group, &self->new_text, error))
    return FALSE;
  if (self->old_text == NULL && self->new_text == NULL)
    return damaged (error, "the group is absent before and after"), FALSE;
  return TRUE;
}

static void
smarthost_keyfile_group_operation_class_init (SmarthostKeyfileGroupOperationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SmarthostOperationClass *op_class = SMARTHOST_OPERATION_CLASS (klass);

  object_class->finalize = keyfile_group_operation_finalize;
  op_class->kind = "test-keyfile-group";
  op_class->describe = keyfile_group_operation_describe;
  op_class->check = keyfile_group_operation_check;
  op_class->apply = keyfile_group_operation_apply;
  op_class->undo = keyfile_group_operation_undo;
  op_class->finish = keyfile_group_operation_finish;
  op_class->to_record = keyfile_group_operation_to_record;
  op_class->load_record = keyfile_group_operation_load_record;
}

static void
smarthost_keyfile_group_operation_init (SmarthostKeyfileGroupOperation *self)
{
}

/**
 * smarthost_keyfile_group_operation_new:
 * @path: the key file, absolute
 * @group: the group, `server` or `domain NAME`
 * @old_text: (nullable): the group now, as
 *   smarthost_keyfile_group_to_text() gives it; %NULL if absent
 * @new_text: (nullable): the group the change wants; %NULL to delete it
 * @fail_undo: test knob: make the undo fail
 *
 * Returns: (transfer full): the operation
 */
SmarthostOperation *
smarthost_keyfile_group_operation_new (const char *path,
                                       const char *group,
                                       const char *old_text,
                                       const char *new_text,
                                       gboolean    fail_undo)
{
  SmarthostKeyfileGroupOperation *self;

  g_return_val_if_fail (path != NULL && g_path_is_absolute (path), NULL);
  g_return_val_if_fail (smarthost_keyfile_group_name_is_valid (group), NULL);
  g_return_val_if_fail (old_text != NULL || new_text != NULL, NULL);

  self = g_object_new (SMARTHOST_TYPE_KEYFILE_GROUP_OPERATION, NULL);
  self->path = g_strdup (path);
  self->group = g_strdup (group);
  self->old_text = g_strdup (old_text);
  self->new_text = g_strdup (new_text);
  self->fail_undo = fail_undo;
  return SMARTHOST_OPERATION (self);
}
