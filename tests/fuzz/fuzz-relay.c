/* fuzz-relay.c: libFuzzer target for domain names and relay settings
 *
 * The input is NUL-separated fields: a domain, a host, a user name, a
 * password, a CA file path, then one byte of flags (security, mx-lookup,
 * verify) and two bytes of port.
 *
 * Properties, besides the sanitizers:
 *  - smarthost_domain_normalize: a domain it accepts comes back lower-case
 *    ASCII, without a trailing dot, with at least one dot, and is a fixed
 *    point (normalizing it again gives it back).
 *  - smarthost_relay_validate: an error is SMARTHOST_ERROR_INVALID and its
 *    message starts with a property name and ": ".
 *  - a relay it accepts is one Postfix's files can carry: the nexthop the
 *    backend writes for it (pf_relay_nexthop) reads back (pf_parse_nexthop) as
 *    the same host and port; its transport name reads back
 *    (pf_parse_transport_name) as its security and verification; no field
 *    holds a line break; its description never shows the password.
 *
 * The codec (smarthost-postfix-codec.c) is reached through the backend's
 * private header.
 *
 * Built by run-fuzz.sh with clang -fsanitize=fuzzer,address,undefined.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "smarthost-error.h"
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
        fprintf (stderr, "fuzz-relay: check failed: %s (%s:%d)\n",     \
                 #cond, __FILE__, __LINE__);                            \
        fprintf (stderr, __VA_ARGS__);                                  \
        abort ();                                                       \
      }                                                                 \
  } while (0)

static const char *fields[] = { "host", "port", "security", "mx-lookup", "ca-file", "username", "password",
                                "verify-certificate" };

static void
check_error (GError *error)
{
  gboolean named = FALSE;

  CHECK (g_error_matches (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID), "error %s\n", error->message);
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    if (g_str_has_prefix (error->message, fields[i]) && g_str_has_prefix (error->message + strlen (fields[i]), ": "))
      named = TRUE;
  CHECK (named, "the error '%s' does not name a property\n", error->message);
}

static void
check_domain (const char *domain)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *norm = smarthost_domain_normalize (domain, &error);
  g_autofree char *again = NULL;
  gsize len;

  if (norm == NULL)
    {
      CHECK (g_error_matches (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID) &&
             g_str_has_prefix (error->message, "domain: "), "error '%s'\n", error->message);
      return;
    }
  len = strlen (norm);
  CHECK (len > 0 && len <= 253, "normalized '%s' has length %zu\n", norm, len);
  CHECK (norm[len - 1] != '.' && strchr (norm, '.') != NULL, "normalized '%s'\n", norm);
  for (const char *p = norm; *p; p++)
    CHECK (g_ascii_isalnum (*p) ? !g_ascii_isupper (*p) : (*p == '.' || *p == '-'),
           "normalized '%s' (from '%s') has '%c'\n", norm, domain, *p);
  CHECK (!g_hostname_is_ip_address (norm), "'%s' is taken for the domain '%s'\n", domain, norm);
  again = smarthost_domain_normalize (norm, NULL);
  CHECK (again != NULL && strcmp (again, norm) == 0, "'%s' normalizes to '%s' then '%s'\n", domain, norm,
         again ? again : "(error)");
}

static void
check_valid_relay (SmarthostRelay *relay)
{
  g_autofree char *nexthop = pf_relay_nexthop (relay);
  g_autofree char *host = NULL;
  g_autofree char *name = NULL;
  g_autofree char *ascii = g_hostname_to_ascii (smarthost_relay_get_host (relay));
  g_autofree char *lower = g_ascii_strdown (ascii, -1);
  g_autofree char *desc = NULL;
  guint port;
  gboolean mx;
  PfTransport t;

  CHECK (ascii != NULL, "valid host '%s' has no ASCII form\n", smarthost_relay_get_host (relay));
  CHECK (pf_parse_nexthop (nexthop, &host, &port, &mx), "nexthop '%s' does not read back\n", nexthop);
  CHECK (strcmp (host, lower) == 0, "nexthop '%s' reads back host '%s', not '%s'\n", nexthop, host, lower);
  CHECK (port == smarthost_relay_get_effective_port (relay), "nexthop '%s' reads back port %u\n", nexthop, port);
  CHECK (mx == (smarthost_relay_get_mx_lookup (relay) && strchr (lower, ':') == NULL),
         "nexthop '%s' reads back mx=%d\n", nexthop, mx);
  CHECK (strpbrk (nexthop, " \t\r\n,") == NULL, "nexthop '%s' has a separator\n", nexthop);

  for (int server = 0; server < 2; server++)
    {
      g_free (name);
      name = pf_transport_name (server, relay);
      CHECK (pf_parse_transport_name (name, &t), "transport '%s' does not read back\n", name);
      CHECK (t.server == server && t.security == smarthost_relay_get_security (relay) &&
             t.verify == smarthost_relay_get_verify_certificate (relay), "transport '%s' reads back wrong\n", name);
    }

  if (smarthost_relay_get_username (relay) != NULL)
    {
      const char *u = smarthost_relay_get_username (relay);
      for (const char *p = u; *p; p++)
        CHECK ((guchar) *p >= 0x20 && *p != 0x7f, "user name with a control character\n");
    }
  if (smarthost_relay_get_password (relay) != NULL &&
      (smarthost_relay_get_username (relay) == NULL || strstr (smarthost_relay_get_username (relay), "canary") == NULL) &&
      strstr (smarthost_relay_get_host (relay), "canary") == NULL)
    {
      smarthost_relay_set_password (relay, "Zq9-canary-Pw-77");
      desc = smarthost_relay_to_string (relay);
      CHECK (strstr (desc, "Zq9-canary-Pw-77") == NULL, "description '%s' shows the password\n", desc);
    }
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *copy = g_malloc (size + 1);
  const char *part[5] = { NULL };
  const char *p = copy, *end = copy + size;
  guint n = 0;
  guint8 flags = 0;
  guint port = 0;
  g_autoptr(SmarthostRelay) relay = NULL;
  g_autoptr(GError) error = NULL;

  memcpy (copy, data, size);
  copy[size] = '\0';
  while (n < 5 && p < end)
    {
      part[n++] = p;
      p += strlen (p) + 1;
    }
  if (p < end)
    flags = (guint8) *p++;
  if (p + 1 < end)
    port = ((guint8) p[0] << 8 | (guint8) p[1]) * ((flags & 0x40) ? 2 : 1);

  if (part[0] != NULL)
    check_domain (part[0]);
  if (part[1] == NULL)
    return 0;
  check_domain (part[1]);

  relay = smarthost_relay_new (part[1]);
  if (flags & 0x80)
    smarthost_relay_set_port (relay, port);
  smarthost_relay_set_security (relay, (SmarthostSecurity) (flags & 3));
  smarthost_relay_set_mx_lookup (relay, (flags & 4) != 0);
  smarthost_relay_set_verify_certificate (relay, (flags & 8) == 0);
  if (part[2] && *part[2])
    smarthost_relay_set_username (relay, part[2]);
  if (part[3] && (*part[3] || (flags & 0x10)))
    smarthost_relay_set_password (relay, part[3]);
  if (part[4] && *part[4] && (flags & 0x20))
    smarthost_relay_set_ca_file (relay, part[4]);

  if (!smarthost_relay_validate (relay, &error))
    {
      /* Describing an invalid relay must not crash either. */
      g_free (smarthost_relay_to_string (relay));
      check_error (error);
      return 0;
    }
  /* What the Postfix backend refuses on top (without reading a CA file). */
  if (smarthost_relay_get_ca_file (relay) != NULL)
    smarthost_relay_set_ca_file (relay, NULL);
  if (!pf_validate_relay (NULL, relay, &error))
    {
      check_error (error);
      return 0;
    }
  check_valid_relay (relay);
  return 0;
}
