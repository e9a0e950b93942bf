/* reg-tool.c: the .reg codec (smarthost-mailenable-reg.c) from the command
 * line, for tests that check it against a real regedit (Wine's)
 *
 *   reg-tool write-patch OUT.reg   a patch of the connector key, written
 *                                  as me_reg_file_to_bytes() writes it
 *   reg-tool dump IN.reg           what me_reg_file_read() reads: the
 *                                  encoding and version, then each key and
 *                                  value, one a line, tab-separated:
 *                                    key PATH | key -PATH
 *                                    value NAME TYPE HEX | value NAME deleted
 *                                  (TYPE in decimal, HEX lowercase; NAME as
 *                                  it is, @ for the default value)
 *
 * Linked with the library's objects, as the unit tests are.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <stdio.h>

#include "smarthost-mailenable-private.h"

#define PATCH_KEY "HKEY_LOCAL_MACHINE\\SOFTWARE\\Wow6432Node\\Mail Enable\\Mail Enable\\Connectors\\SMTP"

static int
write_patch (const char *out)
{
  g_autoptr(MeRegFile) file = me_reg_file_new ();
  MeRegKey *key = me_reg_file_add_key (file, PATCH_KEY);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(GError) error = NULL;
  guint8 data[64];

  for (guint i = 0; i < sizeof data; i++)
    data[i] = (guint8) (i * 37 + 1);
  blob = g_bytes_new (data, sizeof data);
  g_ptr_array_add (file->comments, g_strdup ("written by reg-tool (libsmarthost's tests)"));
  me_reg_key_add_value (key, me_reg_value_new_string ("SmartHost", "smtp.example.net"));
  me_reg_key_add_value (key, me_reg_value_new_dword ("SmartHostPort", 587));
  me_reg_key_add_value (key, me_reg_value_new_string ("Banner", "Grüße ✓\nsecond line \"quoted\" C:\\Mail"));
  me_reg_key_add_value (key, me_reg_value_new ("Blob", ME_REG_BINARY, blob));
  me_reg_key_add_value (key, me_reg_value_new_deleted ("Obsolete"));
  bytes = me_reg_file_to_bytes (file);
  if (!g_file_set_contents (out, g_bytes_get_data (bytes, NULL), (gssize) g_bytes_get_size (bytes), &error))
    {
      g_printerr ("reg-tool: %s\n", error->message);
      return 1;
    }
  return 0;
}

static int
dump (const char *in)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MeRegFile) file = me_reg_file_read (in, FALSE, &error);
  g_autoptr(GString) out = g_string_new (NULL);

  if (file == NULL)
    {
      g_printerr ("reg-tool: %s\n", error->message);
      return 1;
    }
  g_string_append_printf (out, "encoding\t%s\nversion\t%u\n",
                          file->encoding == ME_REG_ENCODING_UTF16LE ? "utf16le" : "utf8", file->version);
  for (guint i = 0; i < file->keys->len; i++)
    {
      MeRegKey *key = g_ptr_array_index (file->keys, i);

      g_string_append_printf (out, "key\t%s", key->deleted ? "-" : "");
      g_string_append (out, key->path);
      g_string_append_c (out, '\n');
      for (guint j = 0; j < key->values->len; j++)
        {
          MeRegValue *value = g_ptr_array_index (key->values, j);
          gsize len = 0;
          const guint8 *bytes = value->deleted ? NULL : g_bytes_get_data (value->data, &len);

          g_string_append (out, "value\t");
          if (value->name[0] == '\0')
            g_string_append_c (out, '@');
          else
            g_string_append (out, value->name);
          if (value->deleted)
            {
              g_string_append (out, "\tdeleted\n");
              continue;
            }
          g_string_append_printf (out, "\t%u\t", value->type);
          for (gsize k = 0; k < len; k++)
            g_string_append_printf (out, "%02x", bytes[k]);
          g_string_append_c (out, '\n');
        }
    }
  fputs (out->str, stdout);
  return 0;
}

int
main (int    argc,
      char **argv)
{
  if (argc == 3 && g_str_equal (argv[1], "write-patch"))
    return write_patch (argv[2]);
  if (argc == 3 && g_str_equal (argv[1], "dump"))
    return dump (argv[2]);
  g_printerr ("usage: reg-tool write-patch OUT.reg | reg-tool dump IN.reg\n");
  return 2;
}
