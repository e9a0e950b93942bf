/* smarthost-mailenable-value-operation.c: one value of the live registry, and its undo
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "smarthost-error.h"
#include "smarthost-relay.h"
#include "smarthost-files-private.h"
#include "smarthost-operation-private.h"
#include "smarthost-platform-private.h"
#include "smarthost-util-private.h"
#include "smarthost-mailenable-private.h"

/*
 * Implementation notes
 *
 * The operation sets or deletes one value of the SMTP connector's key
 * (HKLM, 32-bit view) when applied, and puts back the value it found, or
 * its absence, when undone. Setting a value is atomic in the registry, so
 * nothing is staged: prepare() only keeps the old value safe, apply() writes,
 * undo() writes the old value back (again and again if need be: it is
 * idempotent) and finish() forgets it.
 *
 * The journal record holds what undo needs, and no more:
 *
 *   SUBKEY NAME absent               the value did not exist
 *   SUBKEY NAME TYPE HEX             its type (a number) and its bytes
 *   SUBKEY NAME secret FILE          a value that holds a secret (the
 *                                    smarthost's password): its type and
 *                                    bytes are in FILE, a file of its own in
 *                                    the state directory (mode 0600, created
 *                                    O_EXCL by prepare(), removed by
 *                                    finish() and undo()), never in the
 *                                    journal, which the record only names.
 *
 * A record rebuilt after a crash whose FILE does not exist was never
 * prepared (the journal is written first), so no value was changed: its
 * undo has nothing to do. The new value is not recorded: the journal never
 * needs it.
 *
 * A record is refused when it names another key than ME_CONNECTOR_SUBKEY
 * or a file that is not one prepare() makes (only a name of the form
 * mailenable-old-HEX.value, inside the state directory), so that a damaged
 * or planted journal cannot make recovery write elsewhere in the registry or
 * read another file.
 */

/* What an old value's file or hex field may hold: the registry's own limit
 * on what we read (smarthost-mailenable-live.c), hex-encoded. */
#define VALUE_DATA_LIMIT (1024u * 1024)
#define SECRET_PREFIX    "mailenable-old-"
#define SECRET_SUFFIX    ".value"
#define SECRET_HEX_LEN   32

struct _SmarthostMailEnableValueOperation
{
  SmarthostOperation parent_instance;

  char *subkey;
  char *name;
  MeRegValue *old;        /* NULL: absent; rebuilt with a secret: read at undo */
  MeRegValue *new;        /* NULL when rebuilt from a record */
  gboolean secret;
  char *directory;        /* the state directory */
  char *secret_name;      /* the old value's file (secret and present), a name in directory */
  gboolean applied;       /* this process wrote the value, or it may have (rebuilt) */
  gboolean from_record;
};

G_DEFINE_FINAL_TYPE (SmarthostMailEnableValueOperation, smarthost_mailenable_value_operation,
                     SMARTHOST_TYPE_OPERATION)

/* --- values as text --------------------------------------------------------- */

static char *
bytes_to_hex (GBytes *bytes)
{
  static const char digits[] = "0123456789abcdef";
  gsize len = 0;
  const guint8 *p = g_bytes_get_data (bytes, &len);
  char *hex = g_malloc (len * 2 + 1);

  for (gsize i = 0; i < len; i++)
    {
      hex[2 * i] = digits[p[i] >> 4];
      hex[2 * i + 1] = digits[p[i] & 0xf];
    }
  hex[len * 2] = '\0';
  return hex;
}

/* A value of that name from the two fields TYPE and HEX, or NULL. */
static MeRegValue *
value_from_text (const char *name,
                 const char *type_text,
                 const char *hex)
{
  gsize len = strlen (hex);
  guint64 type;
  guint8 *data;
  g_autoptr(GBytes) bytes = NULL;

  if (len % 2 != 0 || len / 2 > VALUE_DATA_LIMIT ||
      !g_ascii_string_to_unsigned (type_text, 10, 0, G_MAXUINT32, &type, NULL))
    return NULL;
  data = g_malloc (len / 2 + 1);
  for (gsize i = 0; i < len / 2; i++)
    {
      int hi = g_ascii_xdigit_value (hex[2 * i]);
      int lo = g_ascii_xdigit_value (hex[2 * i + 1]);

      if (hi < 0 || lo < 0)
        {
          _smarthost_secure_zero (data, len / 2);
          g_free (data);
          return NULL;
        }
      data[i] = (guint8) (hi << 4 | lo);
    }
  bytes = g_bytes_new_take (data, len / 2);
  return me_reg_value_new (name, (guint32) type, bytes);
}

/* For a preview: strings quoted, numbers in decimal, the rest in hex as
 * regedit writes it; the mask for a secret. */
static char *
value_for_preview (const MeRegValue *value,
                   gboolean          secret)
{
  g_autofree char *text = NULL;
  g_autofree char *hex = NULL;
  guint32 number;
  GString *out;

  if (secret)
    return g_strdup (SMARTHOST_PASSWORD_MASK);
  if (me_reg_value_get_string (value, &text, NULL))
    return _smarthost_quote_full (text, -1, 256);
  if (me_reg_value_get_dword (value, &number, NULL))
    return g_strdup_printf ("%" G_GUINT32_FORMAT, number);
  hex = bytes_to_hex (value->data);
  out = g_string_new (NULL);
  g_string_append_printf (out, "hex(%x):", value->type);
  for (gsize i = 0; hex[i] != '\0' && i < 2 * 64; i += 2)
    g_string_append_printf (out, "%s%.2s", i ? "," : "", hex + i);
  if (strlen (hex) > 2 * 64)
    g_string_append (out, ",...");
  return g_string_free (out, FALSE);
}

static gboolean
is_absent (const MeRegValue *value)
{
  return value == NULL || value->deleted;
}

static char *
secret_path (SmarthostMailEnableValueOperation *self)
{
  return g_build_filename (self->directory, self->secret_name, NULL);
}

/* --- GObject ---------------------------------------------------------------- */

static void
value_operation_finalize (GObject *object)
{
  SmarthostMailEnableValueOperation *self = SMARTHOST_MAILENABLE_VALUE_OPERATION (object);

  g_free (self->subkey);
  g_free (self->name);
  g_clear_pointer (&self->old, me_reg_value_free);
  g_clear_pointer (&self->new, me_reg_value_free);
  g_free (self->directory);
  g_free (self->secret_name);
  G_OBJECT_CLASS (smarthost_mailenable_value_operation_parent_class)->finalize (object);
}

/* --- the vfuncs --------------------------------------------------------------- */

static char *
value_operation_describe (SmarthostOperation *op,
                          gboolean           *masked)
{
  SmarthostMailEnableValueOperation *self = SMARTHOST_MAILENABLE_VALUE_OPERATION (op);
  g_autofree char *name = _smarthost_quote (self->name, -1);
  g_autofree char *was = NULL;

  /* A value that is not a secret is shown: the core masks the change's
   * secrets in it, should one be there. */
  *masked = self->secret;
  if (is_absent (self->old))
    was = g_strdup ("was absent");
  else
    {
      g_autofree char *shown = value_for_preview (self->old, self->secret);
      was = g_strconcat ("was: ", shown, NULL);
    }
  if (self->new == NULL || self->new->deleted)
    return g_strdup_printf ("# HKLM\\%s (32-bit view): delete %s (%s)\n", self->subkey, name, was);
  {
    g_autofree char *shown = value_for_preview (self->new, self->secret);
    return g_strdup_printf ("# HKLM\\%s (32-bit view): set %s = %s (%s)\n", self->subkey, name, shown, was);
  }
}

static gboolean
subkey_is_connector (const char *subkey)
{
  return subkey != NULL && g_ascii_strcasecmp (subkey, ME_CONNECTOR_SUBKEY) == 0;
}

static gboolean
value_operation_check (SmarthostOperation  *op,
                       GError             **error)
{
  SmarthostMailEnableValueOperation *self = SMARTHOST_MAILENABLE_VALUE_OPERATION (op);

  if (!subkey_is_connector (self->subkey))
    {
      g_autofree char *shown = _smarthost_quote_path (self->subkey);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "check: the MailEnable backend changes only values of HKLM\\%s, not of %s",
                   ME_CONNECTOR_SUBKEY, shown);
      return FALSE;
    }
  return TRUE;
}

static char **
value_operation_to_record (SmarthostOperation *op)
{
  SmarthostMailEnableValueOperation *self = SMARTHOST_MAILENABLE_VALUE_OPERATION (op);
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();

  g_strv_builder_add (b, self->subkey);
  g_strv_builder_add (b, self->name);
  if (self->secret_name != NULL)
    {
      g_strv_builder_add (b, "secret");
      g_strv_builder_add (b, self->secret_name);
    }
  else if (is_absent (self->old))
    g_strv_builder_add (b, "absent");
  else
    {
      g_autofree char *type = g_strdup_printf ("%" G_GUINT32_FORMAT, self->old->type);
      g_autofree char *hex = bytes_to_hex (self->old->data);

      g_strv_builder_add (b, type);
      g_strv_builder_add (b, hex);
    }
  return g_strv_builder_end (b);
}

/* The secret's old value into a new file of its own, readable by us alone:
 * "TYPE HEX". */
static gboolean
value_operation_prepare (SmarthostOperation  *op,
                         GCancellable        *cancellable,
                         GError             **error)
{
  SmarthostMailEnableValueOperation *self = SMARTHOST_MAILENABLE_VALUE_OPERATION (op);
  g_autofree char *path = NULL;
  g_autofree char *hex = NULL;
  char *text;
  gboolean ok;
  int fd;

  if (self->secret_name == NULL)
    return TRUE;
  path = secret_path (self);
  fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return _smarthost_set_errno_error (error, errno, "write", "cannot create", path);
  hex = bytes_to_hex (self->old->data);
  text = g_strdup_printf ("%" G_GUINT32_FORMAT " %s\n", self->old->type, hex);
  _smarthost_secure_zero (hex, strlen (hex));
  ok = _smarthost_set_file_access (fd, NULL, 0600) == 0 && _smarthost_write_all (fd, text, strlen (text)) &&
       _smarthost_fsync (fd) == 0;
  _smarthost_secret_free (text);
  if (!ok)
    {
      int saved = errno;
      close (fd);
      g_unlink (path);
      return _smarthost_set_errno_error (error, saved, "write", "cannot write", path);
    }
  if (close (fd) != 0)
    return _smarthost_set_errno_error (error, errno, "write", "cannot close", path);
  _smarthost_fsync_path (self->directory, TRUE);
  return TRUE;
}

#ifdef G_OS_WIN32
static gboolean
write_value (SmarthostMailEnableValueOperation  *self,
             const MeRegValue                   *value,
             GError                            **error)
{
  return me_live_write_value (self->subkey, value, error);
}
#else
static gboolean
write_value (SmarthostMailEnableValueOperation  *self,
             const MeRegValue                   *value,
             GError                            **error)
{
  g_set_error_literal (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED,
                       "the live registry exists only on Windows");
  return FALSE;
}
#endif

static gboolean
value_operation_apply (SmarthostOperation  *op,
                       GCancellable        *cancellable,
                       GError             **error)
{
  SmarthostMailEnableValueOperation *self = SMARTHOST_MAILENABLE_VALUE_OPERATION (op);

#ifdef G_OS_WIN32
  self->applied = TRUE;
#endif
  if (!write_value (self, self->new, error))
    return FALSE;
  _smarthost_fault_point ("step");
  return TRUE;
}

/* The old value of a rebuilt secret operation, from its file; *@found
 * FALSE when there is none (the operation was never prepared). */
static gboolean
load_secret (SmarthostMailEnableValueOperation  *self,
             gboolean                           *found,
             GError                            **error)
{
  g_autofree char *path = secret_path (self);
  char *text = NULL;
  char *space;
  gsize len = 0;

  *found = TRUE;
  if (!_smarthost_read_file_limited (path, SMARTHOST_READ_TEXT | SMARTHOST_READ_NOFOLLOW,
                                     2 * VALUE_DATA_LIMIT + 64, &text, &len, found, error))
    return FALSE;
  if (!*found)
    return TRUE;
  g_strchomp (text);
  space = strchr (text, ' ');
  if (space != NULL)
    {
      *space = '\0';
      self->old = value_from_text (self->name, text, space + 1);
    }
  _smarthost_secure_zero (text, len);
  g_free (text);
  if (self->old == NULL)
    {
      g_autofree char *shown = _smarthost_quote_path (path);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "undo: %s, which holds the old value of %s, is damaged", shown, self->name);
      return FALSE;
    }
  return TRUE;
}

static void
remove_secret (SmarthostMailEnableValueOperation *self)
{
  g_autofree char *path = NULL;

  if (self->secret_name == NULL)
    return;
  path = secret_path (self);
  if (g_unlink (path) == 0)
    _smarthost_fsync_path (self->directory, TRUE);
}

static gboolean
value_operation_undo (SmarthostOperation  *op,
                      GCancellable        *cancellable,
                      GError             **error)
{
  SmarthostMailEnableValueOperation *self = SMARTHOST_MAILENABLE_VALUE_OPERATION (op);
  g_autoptr(MeRegValue) absent = NULL;
  g_autoptr(GError) local_error = NULL;
  gboolean found = TRUE;

  if (!self->applied)
    {
      remove_secret (self);
      return TRUE;
    }
  if (self->from_record && self->secret_name != NULL && self->old == NULL)
    {
      if (!load_secret (self, &found, error))
        return FALSE;
      if (!found)
        return TRUE;   /* never prepared, so never applied */
    }
  if (is_absent (self->old))
    absent = me_reg_value_new_deleted (self->name);
  if (!write_value (self, absent ? absent : self->old, &local_error))
    {
      g_autofree char *name = _smarthost_quote (self->name, -1);
      g_set_error (error, SMARTHOST_ERROR, local_error->code, "undo: cannot put back %s of HKLM\\%s: %s",
                   name, self->subkey, local_error->message);
      return FALSE;
    }
  remove_secret (self);
  return TRUE;
}

static void
value_operation_finish (SmarthostOperation *op)
{
  remove_secret (SMARTHOST_MAILENABLE_VALUE_OPERATION (op));
}

static gboolean
bad_record (GError    **error,
            const char *why)
{
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED, "journal: a mailenable-value record %s", why);
  return FALSE;
}

/* Only a name prepare() makes: no separator, no "..", nothing but the
 * prefix, hex digits and the suffix. */
static gboolean
secret_name_ok (const char *name)
{
  gsize n = strlen (name);
  const char *hex = name + strlen (SECRET_PREFIX);

  return n == strlen (SECRET_PREFIX) + SECRET_HEX_LEN + strlen (SECRET_SUFFIX) &&
         g_str_has_prefix (name, SECRET_PREFIX) && g_str_has_suffix (name, SECRET_SUFFIX) &&
         strspn (hex, "0123456789abcdef") == SECRET_HEX_LEN;
}

static gboolean
value_operation_load_record (SmarthostOperation  *op,
                             const char * const  *fields,
                             const char          *directory,
                             GError             **error)
{
  SmarthostMailEnableValueOperation *self = SMARTHOST_MAILENABLE_VALUE_OPERATION (op);
  guint n = g_strv_length ((char **) fields);

  if (n < 3 || n > 4 || (n == 3) != g_str_equal (fields[2], "absent"))
    return bad_record (error, "has the wrong number of fields");
  if (!subkey_is_connector (fields[0]))
    return bad_record (error, "names another key than the SMTP connector's");
  if (strlen (fields[1]) > ME_REG_NAME_MAX || !g_utf8_validate (fields[1], -1, NULL))
    return bad_record (error, "names a value the registry cannot hold");
  self->subkey = g_strdup (fields[0]);
  self->name = g_strdup (fields[1]);
  self->directory = g_strdup (directory);
  self->applied = TRUE;   /* after a crash, it may have been */
  self->from_record = TRUE;
  if (n == 3)
    return TRUE;
  if (g_str_equal (fields[2], "secret"))
    {
      g_autofree char *path = NULL;

      if (!secret_name_ok (fields[3]))
        return bad_record (error, "names a file that is not one of its old values");
      path = g_build_filename (directory, fields[3], NULL);
      if (!_smarthost_journal_path_inside (directory, path))
        return bad_record (error, "names a file outside its state directory");
      self->secret = TRUE;
      self->secret_name = g_strdup (fields[3]);
      return TRUE;
    }
  self->old = value_from_text (self->name, fields[2], fields[3]);
  if (self->old == NULL)
    return bad_record (error, "holds an old value that is not a type and hex bytes");
  return TRUE;
}

static void
smarthost_mailenable_value_operation_class_init (SmarthostMailEnableValueOperationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  SmarthostOperationClass *op_class = SMARTHOST_OPERATION_CLASS (klass);

  object_class->finalize = value_operation_finalize;
  op_class->kind = "mailenable-value";
  op_class->describe = value_operation_describe;
  op_class->check = value_operation_check;
  op_class->prepare = value_operation_prepare;
  op_class->apply = value_operation_apply;
  op_class->undo = value_operation_undo;
  op_class->finish = value_operation_finish;
  op_class->to_record = value_operation_to_record;
  op_class->load_record = value_operation_load_record;
}

static void
smarthost_mailenable_value_operation_init (SmarthostMailEnableValueOperation *self)
{
}

SmarthostOperation *
me_value_operation_new (const char       *subkey,
                        const MeRegValue *old,
                        const MeRegValue *new,
                        gboolean          secret,
                        const char       *state_directory)
{
  SmarthostMailEnableValueOperation *self;

  g_return_val_if_fail (subkey != NULL, NULL);
  g_return_val_if_fail (new != NULL, NULL);
  g_return_val_if_fail (state_directory != NULL, NULL);
  self = g_object_new (SMARTHOST_TYPE_MAILENABLE_VALUE_OPERATION, NULL);
  self->subkey = g_strdup (subkey);
  self->name = g_strdup (new->name);
  self->old = is_absent (old) ? NULL : me_reg_value_copy (old);
  self->new = me_reg_value_copy (new);
  self->secret = secret;
  self->directory = g_strdup (state_directory);
  /* 128 random bits name the file: O_EXCL refuses any that exists. */
  if (secret && self->old != NULL)
    self->secret_name = g_strdup_printf (SECRET_PREFIX "%08x%08x%08x%08x" SECRET_SUFFIX, g_random_int (),
                                         g_random_int (), g_random_int (), g_random_int ());
  return SMARTHOST_OPERATION (self);
}
