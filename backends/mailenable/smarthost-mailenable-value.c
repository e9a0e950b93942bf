/* smarthost-mailenable-value.c: registry values, as the registry holds them
 *
 * A value's data is kept as the registry keeps it (GBytes of its REG_*
 * type): a string as UTF-16LE with its terminating NUL, a REG_DWORD as 4
 * bytes little-endian. Typed reads check the type and the data; their
 * errors name the value, never its data (it may be a password).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-error.h"
#include "smarthost-mailenable-private.h"
#include "smarthost-util-private.h"

const char *
me_reg_type_name (guint32 type)
{
  switch (type)
    {
    case ME_REG_NONE: return "REG_NONE";
    case ME_REG_SZ: return "REG_SZ";
    case ME_REG_EXPAND_SZ: return "REG_EXPAND_SZ";
    case ME_REG_BINARY: return "REG_BINARY";
    case ME_REG_DWORD: return "REG_DWORD";
    case 5: return "REG_DWORD_BIG_ENDIAN";
    case 6: return "REG_LINK";
    case ME_REG_MULTI_SZ: return "REG_MULTI_SZ";
    case ME_REG_QWORD: return "REG_QWORD";
    default: return NULL;
    }
}

/* Little-endian UTF-16 of @utf8 (valid UTF-8), with a terminating NUL. */
GBytes *
me_reg_utf16le_new (const char *utf8,
                    gssize      len)
{
  glong n_units = 0;
  g_autofree gunichar2 *units = g_utf8_to_utf16 (utf8, len, NULL, &n_units, NULL);
  guint8 *bytes;

  g_return_val_if_fail (units != NULL, NULL);
  bytes = g_malloc ((gsize) (n_units + 1) * 2);
  for (glong i = 0; i <= n_units; i++)
    {
      bytes[2 * i] = units[i] & 0xff;
      bytes[2 * i + 1] = units[i] >> 8;
    }
  return g_bytes_new_take (bytes, (gsize) (n_units + 1) * 2);
}

MeRegValue *
me_reg_value_new (const char *name,
                  guint32     type,
                  GBytes     *data)
{
  MeRegValue *value;

  g_return_val_if_fail (name != NULL, NULL);
  value = g_new0 (MeRegValue, 1);
  value->name = g_strdup (name);
  value->type = type;
  value->data = data != NULL ? g_bytes_ref (data) : g_bytes_new (NULL, 0);
  return value;
}

MeRegValue *
me_reg_value_new_string (const char *name,
                         const char *utf8)
{
  g_autoptr(GBytes) data = NULL;

  g_return_val_if_fail (utf8 != NULL && g_utf8_validate (utf8, -1, NULL), NULL);
  data = me_reg_utf16le_new (utf8, -1);
  return me_reg_value_new (name, ME_REG_SZ, data);
}

MeRegValue *
me_reg_value_new_dword (const char *name,
                        guint32     number)
{
  guint32 le = GUINT32_TO_LE (number);
  g_autoptr(GBytes) data = g_bytes_new (&le, sizeof le);

  return me_reg_value_new (name, ME_REG_DWORD, data);
}

MeRegValue *
me_reg_value_new_deleted (const char *name)
{
  MeRegValue *value = g_new0 (MeRegValue, 1);

  g_return_val_if_fail (name != NULL, NULL);
  value->name = g_strdup (name);
  value->deleted = TRUE;
  return value;
}

MeRegValue *
me_reg_value_copy (const MeRegValue *value)
{
  MeRegValue *copy = g_new0 (MeRegValue, 1);

  copy->name = g_strdup (value->name);
  copy->deleted = value->deleted;
  copy->type = value->type;
  copy->data = value->data != NULL ? g_bytes_ref (value->data) : NULL;
  copy->line = value->line;
  return copy;
}

void
me_reg_value_free (MeRegValue *value)
{
  if (value == NULL)
    return;
  g_free (value->name);
  g_clear_pointer (&value->data, g_bytes_unref);
  g_free (value);
}

/* Registry names compare case-insensitively. */
gboolean
me_reg_name_equal (const char *a,
                   const char *b)
{
  g_autofree char *fa = g_utf8_casefold (a, -1);
  g_autofree char *fb = g_utf8_casefold (b, -1);

  return g_str_equal (fa, fb);
}

gboolean
me_reg_value_equal (const MeRegValue *a,
                    const MeRegValue *b)
{
  if (!me_reg_name_equal (a->name, b->name) || a->deleted != b->deleted)
    return FALSE;
  if (a->deleted)
    return TRUE;
  return a->type == b->type && g_bytes_equal (a->data, b->data);
}

/* "value "Port" (line 12)": how an error of a typed read names the value. */
static char *
describe_value (const MeRegValue *value)
{
  g_autofree char *name = value->name[0] != '\0' ? _smarthost_quote (value->name, -1)
                                                 : g_strdup ("(default)");

  if (value->line > 0)
    return g_strdup_printf ("value %s (line %u)", name, value->line);
  return g_strdup_printf ("value %s", name);
}

static gboolean
set_value_error (GError           **error,
                 const MeRegValue  *value,
                 const char        *what)
{
  g_autofree char *described = describe_value (value);

  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "%s: %s", described, what);
  return FALSE;
}

static gboolean
check_type (const MeRegValue  *value,
            guint32            wanted,
            guint32            also,
            GError           **error)
{
  const char *found;
  g_autofree char *expected = NULL;
  g_autofree char *what = NULL;

  if (value->deleted)
    return set_value_error (error, value, "expected a value, found a deletion (=-)");
  if (value->type == wanted || value->type == also)
    return TRUE;
  expected = also != wanted ? g_strdup_printf ("%s or %s", me_reg_type_name (wanted), me_reg_type_name (also))
                            : g_strdup (me_reg_type_name (wanted));
  found = me_reg_type_name (value->type);
  if (found != NULL)
    what = g_strdup_printf ("expected a %s, found %s", expected, found);
  else
    what = g_strdup_printf ("expected a %s, found a value of type %u", expected, value->type);
  return set_value_error (error, value, what);
}

/* UTF-16LE @bytes (an even @len, no NUL unit) as UTF-8; NULL when it is not
 * valid UTF-16. */
char *
me_reg_utf16le_to_utf8 (const guint8 *bytes,
                        gsize         len)
{
  g_autofree gunichar2 *units = g_new (gunichar2, len / 2 + 1);

  for (gsize i = 0; i < len / 2; i++)
    units[i] = bytes[2 * i] | (bytes[2 * i + 1] << 8);
  return g_utf16_to_utf8 (units, (glong) (len / 2), NULL, NULL, NULL);
}

/* Where the single terminating NUL unit of UTF-16LE data ends its text:
 * the length of the text in bytes, or -1 when a NUL is inside it. */
gssize
me_reg_utf16le_text_length (const guint8 *bytes,
                            gsize         len)
{
  gsize text_len = len;

  if (len >= 2 && bytes[len - 2] == 0 && bytes[len - 1] == 0)
    text_len -= 2;
  for (gsize i = 0; i < text_len; i += 2)
    if (bytes[i] == 0 && bytes[i + 1] == 0)
      return -1;
  return (gssize) text_len;
}

gboolean
me_reg_value_get_string (const MeRegValue  *value,
                         char             **out,
                         GError           **error)
{
  const guint8 *bytes;
  gsize len;
  gssize text_len;
  char *text;

  g_return_val_if_fail (out != NULL, FALSE);
  if (!check_type (value, ME_REG_SZ, ME_REG_EXPAND_SZ, error))
    return FALSE;
  bytes = g_bytes_get_data (value->data, &len);
  if (len % 2 != 0)
    return set_value_error (error, value, "a string of an odd number of bytes (not UTF-16)");
  text_len = me_reg_utf16le_text_length (bytes, len);
  if (text_len < 0)
    return set_value_error (error, value, "a string with a NUL character inside");
  text = me_reg_utf16le_to_utf8 (bytes, (gsize) text_len);
  if (text == NULL)
    return set_value_error (error, value, "a string that is not valid UTF-16");
  *out = text;
  return TRUE;
}

gboolean
me_reg_value_get_dword (const MeRegValue  *value,
                        guint32           *out,
                        GError           **error)
{
  const guint8 *bytes;
  gsize len;

  g_return_val_if_fail (out != NULL, FALSE);
  if (!check_type (value, ME_REG_DWORD, ME_REG_DWORD, error))
    return FALSE;
  bytes = g_bytes_get_data (value->data, &len);
  if (len != 4)
    {
      g_autofree char *what = g_strdup_printf ("a REG_DWORD of %" G_GSIZE_FORMAT " bytes, expected 4", len);
      return set_value_error (error, value, what);
    }
  *out = (guint32) bytes[0] | (guint32) bytes[1] << 8 | (guint32) bytes[2] << 16 | (guint32) bytes[3] << 24;
  return TRUE;
}
