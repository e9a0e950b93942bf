/* fuzz-postfix-conf.c: libFuzzer target for the main.cf/master.cf editor
 *
 * The input is a file, optionally followed by a NUL byte and a list of
 * edits. The first byte of the input picks main.cf or master.cf (its low
 * bit), the rest up to the first NUL is the file (the backend refuses
 * files with NUL bytes, so pf_conf_parse never sees one).
 *
 * Properties:
 *  1. Reading and writing back an untouched file gives identical bytes.
 *  2. Edits (pf_conf_set / pf_conf_unset on keys of the file and on the
 *     keys the backend owns) never crash, and keep every line that is not
 *     part of an edited entry: each such line is in the output, in order.
 *  3. After the edits, the output read again gives each edited key the
 *     value it was last given (main.cf), defined exactly once, and writing
 *     that back is again byte-identical.
 *
 * Built by run-fuzz.sh with clang -fsanitize=fuzzer,address,undefined.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smarthost-postfix-conf.h"

#define CHECK(cond, ...)                                                \
  do {                                                                  \
    if (!(cond))                                                        \
      {                                                                 \
        fprintf (stderr, "fuzz-postfix-conf: check failed: %s (%s:%d)\n", \
                 #cond, __FILE__, __LINE__);                            \
        fprintf (stderr, __VA_ARGS__);                                  \
        abort ();                                                       \
      }                                                                 \
  } while (0)

#define MAIN_MARKER "# Smarthost settings managed by libsmarthost"
#define MASTER_MARKER "# Smarthost transports managed by libsmarthost"

static const char *main_keys[] = {
  "relayhost", "default_transport", "relay_transport",
  "sender_dependent_default_transport_maps", "sender_dependent_relayhost_maps",
  "mynetworks", "smtp_tls_security_level",
};
static const char *main_values[] = {
  "", "[smtp.example.net]:587", "smarthost-server-starttls", "error:x",
  "hash:/etc/postfix/smarthost/sender_transport, hash:/etc/postfix/x",
  "$myhostname, localhost",
};
static const char *master_keys[] = {
  "smtp/unix", "smarthost-server-starttls/unix", "smarthost-domain-tls-noverify/unix", "relay/unix",
};

/* The key of a line that starts an entry, as Postfix sees it. */
static char *
line_key (gboolean    main_cf,
          const char *line)
{
  if (main_cf)
    return g_strndup (line, strcspn (line, " \t\r\n="));
  else
    {
      g_auto(GStrv) f = g_strsplit_set (line, " \t\r\n", 0);
      const char *name = NULL, *type = NULL;

      for (guint i = 0; f[i]; i++)
        if (*f[i])
          {
            if (name == NULL)
              name = f[i];
            else
              {
                type = f[i];
                break;
              }
          }
      return g_strdup_printf ("%s/%s", name ? name : "", type ? type : "");
    }
}

static gboolean
is_comment_or_blank (const char *line)
{
  while (*line == ' ' || *line == '\t' || *line == '\r' || *line == '\v' || *line == '\f')
    line++;
  return *line == '\0' || *line == '#';
}

/* Lines of @text without their '\n'. */
static char **
lines_of (const char *text)
{
  char **lines = g_strsplit (text, "\n", -1);
  guint n = g_strv_length (lines);

  /* "a\n" splits into "a", "": the last empty string is no line. */
  if (n > 0 && *lines[n - 1] == '\0')
    {
      g_free (lines[n - 1]);
      lines[n - 1] = NULL;
    }
  return lines;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  gboolean main_cf;
  g_autofree char *text = NULL;
  g_autofree char *out = NULL;
  const uint8_t *ops, *end = data + size;
  g_autoptr(PfConf) conf = NULL;
  g_autoptr(GPtrArray) keys = NULL;
  g_autoptr(GHashTable) touched = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  gboolean marker_in_file;

  if (size < 1)
    return 0;
  main_cf = (data[0] & 1) == 0;
  text = g_strndup ((const char *) data + 1, size - 1);
  ops = data + 1 + strlen (text);
  ops = ops < end ? ops + 1 : end;

  /* 1. Untouched: identical bytes. */
  conf = pf_conf_parse (main_cf ? PF_CONF_MAIN : PF_CONF_MASTER, text);
  out = pf_conf_to_string (conf);
  CHECK (strcmp (out, text) == 0, "untouched file not written back as read\n");
  g_clear_pointer (&out, g_free);
  if (ops == end)
    return 0;

  /* 2. Edits. Each takes two bytes: what (set/unset, with or without a
   * default) and which key (of the file, or one we own). */
  keys = pf_conf_keys (conf, "");
  marker_in_file = strstr (text, main_cf ? MAIN_MARKER : MASTER_MARKER) != NULL;
  for (; ops + 1 < end; ops += 2)
    {
      guint op = ops[0] % 4;
      guint k = ops[1];
      const char *key;
      g_autofree char *entry = NULL;
      g_autofree char *value = NULL;

      if (k < 128 && keys->len > 0)
        key = g_ptr_array_index (keys, k % keys->len);
      else if (main_cf)
        key = main_keys[k % G_N_ELEMENTS (main_keys)];
      else
        key = master_keys[k % G_N_ELEMENTS (master_keys)];
      /* Keys from the file may be anything; an entry must start with its
       * key to be one, so keys with odd bytes are only unset. */
      if (op < 2 && strpbrk (key, " \t\r\n=#") == NULL && *key != '\0' && *key != '/')
        {
          if (main_cf)
            {
              value = g_strdup (main_values[(ops[0] >> 2) % G_N_ELEMENTS (main_values)]);
              entry = pf_main_entry (key, value);
            }
          else
            {
              g_autofree char *name = g_strndup (key, strcspn (key, "/"));
              const char *type = strchr (key, '/') ? strchr (key, '/') + 1 : "unix";

              if (*type == '\0' || strpbrk (type, "/") != NULL)
                continue;
              entry = g_strdup_printf ("%s %s - - n - - smtp\n  -o smtp_fallback_relay=\n", name, type);
              value = g_strdup (entry);
            }
          pf_conf_set (conf, key, entry, "main.cf", notes);
        }
      else if (op == 2 && main_cf)
        {
          if (strpbrk (key, " \t\r\n=#") != NULL || *key == '\0')
            continue;
          /* Reset to the default in place; deleted when it is ours. */
          entry = pf_main_entry (key, "");
          if (pf_conf_get (conf, key) != NULL && !pf_conf_is_managed (conf, key))
            value = g_strdup ("");
          pf_conf_unset (conf, key, entry, "main.cf", notes);
        }
      else
        {
          pf_conf_unset (conf, key, NULL, "main.cf", notes);
          value = NULL;
        }
      g_hash_table_replace (touched, g_strdup (key), value ? g_strdup (value) : NULL);
      g_clear_pointer (&value, g_free);
    }
  out = pf_conf_to_string (conf);

  /* Every line that is not part of an edited entry (nor the marker line)
   * is still there, in order. */
  {
    g_auto(GStrv) before = lines_of (text);
    g_auto(GStrv) after = lines_of (out);
    gboolean in_touched = FALSE;
    guint j = 0;

    for (guint i = 0; before[i]; i++)
      {
        const char *line = before[i];

        if (is_comment_or_blank (line))
          {
            /* Comments inside an edited entry may move after it. */
            if (in_touched || strstr (line, main_cf ? MAIN_MARKER : MASTER_MARKER))
              continue;
          }
        else if (g_ascii_isspace (*line))
          {
            if (in_touched)
              continue;
          }
        else
          {
            g_autofree char *k = line_key (main_cf, line);
            in_touched = g_hash_table_contains (touched, k);
            if (in_touched)
              continue;
          }
        while (after[j] && strcmp (after[j], line) != 0)
          j++;
        CHECK (after[j] != NULL, "line %u (%s) of the file was lost\n", i + 1, line);
        j++;
      }
  }

  /* 3. Read again: each edited key has the value it was given. */
  {
    g_autoptr(PfConf) again = pf_conf_parse (main_cf ? PF_CONF_MAIN : PF_CONF_MASTER, out);
    g_autofree char *out2 = pf_conf_to_string (again);
    GHashTableIter iter;
    gpointer k, v;

    CHECK (strcmp (out, out2) == 0, "edited file not written back as read\n");
    g_hash_table_iter_init (&iter, touched);
    while (g_hash_table_iter_next (&iter, &k, &v))
      {
        const char *got = pf_conf_get (again, k);

        /* A marker the administrator wrote makes what follows look like
         * ours; its entries are then legitimately deleted. */
        if (marker_in_file)
          continue;
        if (v == NULL)
          CHECK (got == NULL, "%s unset but still %s\n", (char *) k, got);
        else
          {
            CHECK (got != NULL, "%s set to '%s' but gone\n", (char *) k, (char *) v);
            if (main_cf)
              CHECK (strcmp (got, v) == 0, "%s set to '%s' but reads '%s'\n", (char *) k, (char *) v, got);
            CHECK (pf_conf_count (again, k) == 1, "%s defined %u times\n", (char *) k, pf_conf_count (again, k));
          }
      }
  }
  return 0;
}
