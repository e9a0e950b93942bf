/* fuzz-postfix-state.c: libFuzzer target for what the Postfix backend reads
 *
 * pf_parse_map (lookup table sources; smarthost-postfix-read.c),
 * pf_parse_nexthop, pf_parse_transport_name and pf_master_option
 * (smarthost-postfix-codec.c), through the backend's private header.
 *
 * The input is up to five NUL-separated parts: main.cf, master.cf,
 * smarthost/sender_transport, smarthost/sender_passwd and
 * smarthost/server_passwd. They become a PfState as load_state() would
 * build it from files, and every relay is read back from it the way
 * `smarthostctl status` does (pf_list_domains, pf_read_domain,
 * pf_read_server_full without the hand-made path, which runs postconf).
 *
 * Properties, besides the sanitizers:
 *  - parse_map: keys are lower case, non-empty, without whitespace, never
 *    a comment; values have no leading whitespace.
 *  - parse_nexthop on the first field of each value and of relayhost:
 *    success means a non-empty host without separators and a port
 *    1..65535, and the nexthop written back ([host]:port or host:port)
 *    reads back the same.
 *  - every relay read back has a host and a port 1..65535, and its
 *    description (smarthost_relay_to_string) never shows the password.
 *
 * Built by run-fuzz.sh with clang -fsanitize=fuzzer,address,undefined.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "smarthost-postfix-private.h"
#include "smarthost-private.h"
#include "smarthost-util-private.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond, ...)                                                \
  do {                                                                  \
    if (!(cond))                                                        \
      {                                                                 \
        fprintf (stderr, "fuzz-postfix-state: check failed: %s (%s:%d)\n", \
                 #cond, __FILE__, __LINE__);                            \
        fprintf (stderr, __VA_ARGS__);                                  \
        abort ();                                                       \
      }                                                                 \
  } while (0)

static void
check_nexthop (const char *text)
{
  g_autofree char *host = NULL;
  g_autofree char *again_host = NULL;
  g_autofree char *written = NULL;
  guint port = 0, again_port = 0;
  gboolean mx = FALSE, again_mx = FALSE;

  if (!pf_parse_nexthop (text, &host, &port, &mx))
    {
      /* "[]" fails with an empty host left for the caller to free (every
       * caller uses g_autofree); any other failure clears it. */
      CHECK (host == NULL || *host == '\0', "a failed parse_nexthop left the host '%s'\n", host);
      return;
    }
  CHECK (host != NULL && *host != '\0', "pf_parse_nexthop (%s): empty host\n", text);
  CHECK (strpbrk (host, " ,\t") == NULL, "pf_parse_nexthop (%s): host '%s' has a separator\n", text, host);
  CHECK (port >= 1 && port <= 65535, "pf_parse_nexthop (%s): port %u\n", text, port);
  /* "[ipv6:ipv6:x]" strips one prefix per reading: not a fixed point, and
   * no relay of ours is written that way. */
  if (g_str_has_prefix (host, "ipv6:") || g_str_has_prefix (host, "IPv6:"))
    return;
  written = mx ? g_strdup_printf ("%s:%u", host, port) : g_strdup_printf ("[%s]:%u", host, port);
  CHECK (pf_parse_nexthop (written, &again_host, &again_port, &again_mx),
         "nexthop %s (from %s) does not read back\n", written, text);
  CHECK (strcmp (host, again_host) == 0 && port == again_port && mx == again_mx,
         "nexthop %s (from %s) reads back as %s:%u mx=%d\n", written, text, again_host, again_port, again_mx);
}

static void
check_map (const char *text,
           GHashTable *map)
{
  GHashTableIter iter;
  gpointer k, v;

  g_hash_table_iter_init (&iter, map);
  while (g_hash_table_iter_next (&iter, &k, &v))
    {
      const char *key = k, *value = v;
      g_autofree char *lower = g_ascii_strdown (key, -1);

      CHECK (*key != '\0' && *key != '#', "map key '%s'\n", key);
      CHECK (strpbrk (key, " \t\n") == NULL, "map key '%s' has whitespace\n", key);
      CHECK (strcmp (key, lower) == 0, "map key '%s' is not lower case\n", key);
      CHECK (*value != ' ' && *value != '\t', "map value '%s' starts with a blank\n", value);
      check_nexthop (value);
      if (strchr (value, ':'))
        check_nexthop (strchr (value, ':') + 1);
    }
}

static void
check_relay (SmarthostRelay *relay,
             const char     *password)
{
  g_autofree char *desc = NULL;

  if (relay == NULL)
    return;
  CHECK (smarthost_relay_get_host (relay) != NULL && *smarthost_relay_get_host (relay),
         "a relay without host\n");
  CHECK (smarthost_relay_get_effective_port (relay) >= 1 && smarthost_relay_get_effective_port (relay) <= 65535,
         "relay port %u\n", smarthost_relay_get_effective_port (relay));
  desc = smarthost_relay_to_string (relay);
  password = smarthost_relay_get_password (relay);
  /* The description never shows a password: give the relay one that
   * cannot be part of anything else and describe it again. */
  if (password != NULL)
    {
      g_autofree char *again = NULL;
      const char *user = smarthost_relay_get_username (relay);

      smarthost_relay_set_password (relay, "Zq9-canary-Pw-77");
      again = smarthost_relay_to_string (relay);
      /* (The fuzzer learns the canary and may put it in the names.) */
      if (user != NULL && strstr (user, "canary") == NULL &&
          strstr (smarthost_relay_get_host (relay), "canary") == NULL)
        CHECK (strstr (again, "Zq9-canary-Pw-77") == NULL, "the description '%s' shows the password\n", again);
    }
  /* Validation must not crash on anything read back. */
  smarthost_relay_validate (relay, NULL);
  g_object_unref (relay);
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(PfState) st = g_new0 (PfState, 1);
  const char *parts[5] = { "", "", NULL, NULL, NULL };
  g_autofree char *copy = g_malloc (size + 1);
  const char *p = copy, *end = copy + size;
  g_autoptr(GPtrArray) domains = NULL;

  memcpy (copy, data, size);
  copy[size] = '\0';
  for (guint i = 0; i < 5 && p <= end; i++)
    {
      parts[i] = p;
      p += strlen (p) + 1;
    }

  st->dir = g_strdup ("/etc/postfix");
  st->own_dir = g_strdup ("/etc/postfix/" OWN_FOLDER);
  st->main_path = g_strdup ("/etc/postfix/main.cf");
  st->master_path = g_strdup ("/etc/postfix/master.cf");
  st->main_text = g_strdup (parts[0]);
  st->master_text = g_strdup (parts[1]);
  st->main = pf_conf_parse (PF_CONF_MAIN, st->main_text);
  st->master = pf_conf_parse (PF_CONF_MASTER, st->master_text);
  for (guint i = 0; i < 3; i++)
    if (parts[2 + i] != NULL)
      {
        st->map_text[i] = g_strdup (parts[2 + i]);
        st->map[i] = pf_parse_map (st->map_text[i]);
        check_map (st->map_text[i], st->map[i]);
      }

  if (pf_conf_get (st->main, P_RELAYHOST))
    check_nexthop (pf_conf_get (st->main, P_RELAYHOST));
  {
    PfTransport t;
    const char *dt = pf_conf_get (st->main, P_DEFAULT_TRANSPORT);
    if (dt != NULL && pf_parse_transport_name (dt, &t))
      CHECK (g_str_has_prefix (dt, TRANSPORT_PREFIX) && t.security <= SMARTHOST_SECURITY_TLS,
             "transport name %s\n", dt);
  }

  domains = pf_list_domains (st);
  for (guint i = 0; i < domains->len; i++)
    check_relay (pf_read_domain (st, g_ptr_array_index (domains, i)), NULL);
  check_relay (pf_read_domain (st, "example.com"), NULL);
  check_relay (pf_read_server_full (st, FALSE, NULL, NULL), NULL);
  {
    g_autofree char *server_master = NULL;
    const char *entry = pf_conf_get (st->master, "smarthost-server-starttls-ca12345678/unix");
    server_master = pf_master_option (entry, "smtp_tls_CAfile");
    (void) server_master;
  }
  return 0;
}
