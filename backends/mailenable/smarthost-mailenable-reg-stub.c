/* smarthost-mailenable-reg-stub.c: TEMPORARY stand-in for the value helpers
 * of smarthost-mailenable-reg.c
 *
 * Only me_reg_value_new/new_string/new_dword/new_deleted/copy/free/equal/
 * get_string/get_dword, minimal, so that the value operation and the live
 * registry can be built and tested before the .reg codec lands. Drop this
 * file (and its line in meson.build) when smarthost-mailenable-reg.c is
 * merged: it defines the same symbols.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-error.h"
#include "smarthost-mailenable-private.h"

MeRegValue *
me_reg_value_new (const char *name,
                  guint32     type,
                  GBytes     *data)
{
  MeRegValue *value = g_new0 (MeRegValue, 1);

  value->name = g_strdup (name);
  value->type = type;
  value->data = data ? g_bytes_ref (data) : g_bytes_new (NULL, 0);
  return value;
}

MeRegValue *
me_reg_value_new_string (const char *name,
                         const char *utf8)
{
  glong n = 0;
  gunichar2 *units = g_utf8_to_utf16 (utf8, -1, NULL, &n, NULL);
  g_autoptr(GBytes) data = NULL;

  g_return_val_if_fail (units != NULL, NULL);
  for (glong i = 0; i <= n; i++)
    units[i] = GUINT16_TO_LE (units[i]);
  data = g_bytes_new_take (units, (gsize) (n + 1) * 2);
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

  value->name = g_strdup (name);
  value->deleted = TRUE;
  return value;
}

MeRegValue *
me_reg_value_copy (const MeRegValue *value)
{
  MeRegValue *copy = g_new0 (MeRegValue, 1);

  *copy = *value;
  copy->name = g_strdup (value->name);
  copy->data = value->data ? g_bytes_ref (value->data) : NULL;
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

gboolean
me_reg_value_equal (const MeRegValue *a,
                    const MeRegValue *b)
{
  g_autofree char *fa = g_utf8_casefold (a->name, -1);
  g_autofree char *fb = g_utf8_casefold (b->name, -1);

  if (!g_str_equal (fa, fb) || a->deleted != b->deleted)
    return FALSE;
  if (a->deleted)
    return TRUE;
  return a->type == b->type && g_bytes_equal (a->data, b->data);
}

gboolean
me_reg_value_get_string (const MeRegValue  *value,
                         char             **out,
                         GError           **error)
{
  gsize size = 0;
  const guint8 *p = value->deleted ? NULL : g_bytes_get_data (value->data, &size);
  g_autofree gunichar2 *units = NULL;
  gsize n = size / 2;

  if (value->deleted || (value->type != ME_REG_SZ && value->type != ME_REG_EXPAND_SZ) || size % 2)
    goto bad;
  units = g_new (gunichar2, n + 1);
  for (gsize i = 0; i < n; i++)
    units[i] = (gunichar2) (p[2 * i] | (p[2 * i + 1] << 8));
  if (n > 0 && units[n - 1] == 0)
    n--;
  for (gsize i = 0; i < n; i++)
    if (units[i] == 0)
      goto bad;
  *out = g_utf16_to_utf8 (units, (glong) n, NULL, NULL, NULL);
  if (*out != NULL)
    return TRUE;
bad:
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "value \"%s\" is not a string", value->name);
  return FALSE;
}

gboolean
me_reg_value_get_dword (const MeRegValue  *value,
                        guint32           *out,
                        GError           **error)
{
  guint32 le;

  if (value->deleted || value->type != ME_REG_DWORD || g_bytes_get_size (value->data) != 4)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID, "value \"%s\" is not a number", value->name);
      return FALSE;
    }
  memcpy (&le, g_bytes_get_data (value->data, NULL), 4);
  *out = GUINT32_FROM_LE (le);
  return TRUE;
}
