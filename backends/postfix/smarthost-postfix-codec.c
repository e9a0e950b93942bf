/* smarthost-postfix-codec.c: nexthops and transports as Postfix spells them
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <netdb.h>
#include <string.h>

#include "smarthost-postfix-private.h"

/*
 * Implementation notes
 *
 * Both ways between a relay and Postfix's text: the nexthop
 * ("[host]:port" connects to the host, "host:port" looks up its MX
 * records), the name of a transport of ours (which says the relay's
 * security, verification and CA file), and its master.cf entry. What is
 * written reads back as the same relay (tests/fuzz/fuzz-relay.c).
 */


static gboolean
is_ipv6 (const char *host)
{
  return strchr (host, ':') != NULL;
}

/* The nexthop as Postfix spells it: "[host]:port" connects to the host
 * itself, "host:port" looks up its MX records. */
char *
pf_relay_nexthop (SmarthostRelay *relay)
{
  g_autofree char *ascii = g_hostname_to_ascii (smarthost_relay_get_host (relay));
  g_autofree char *host = g_ascii_strdown (ascii ? ascii : smarthost_relay_get_host (relay), -1);
  guint port = smarthost_relay_get_effective_port (relay);

  if (smarthost_relay_get_mx_lookup (relay) && !is_ipv6 (host))
    return g_strdup_printf ("%s:%u", host, port);
  return g_strdup_printf ("[%s]:%u", host, port);
}

/* A port given as a service name, as Postfix allows ("[relay]:smtps").
 * The names relays use are known here, since /etc/services may lack them
 * (Debian's calls 465 "submissions", with "smtps" an alias). */
static guint
service_port (const char *name)
{
  static const struct { const char *name; guint port; } known[] = {
    { "smtp", 25 }, { "submission", 587 }, { "submissions", 465 }, { "smtps", 465 }, { "ssmtp", 465 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (known); i++)
    if (g_ascii_strcasecmp (name, known[i].name) == 0)
      return known[i].port;
#ifdef __GLIBC__
  {
    struct servent se, *res = NULL;
    char buf[1024];

    /* The reentrant form: diagnose_async runs this in a worker thread. */
    if (getservbyname_r (name, "tcp", &se, buf, sizeof buf, &res) == 0 && res != NULL)
      return g_ntohs ((guint16) res->s_port);
  }
#endif
  return 0;
}

/* Parses "[host]:port", "[host]", "host:port" or "host"; the first of a
 * list. Returns FALSE if it is not a nexthop we understand. With
 * @service_names, the port may also be a service name, as Postfix allows
 * ("[relay]:submission"; the doctor reads nexthops written by hand). The
 * backend's own nexthops have a number (pf_relay_nexthop()). */
gboolean
pf_parse_nexthop_full (const char  *text,
                       gboolean     service_names,
                       char       **host,
                       guint       *port,
                       gboolean    *mx_lookup)
{
  g_autofree char *first = NULL;
  const char *rest;
  gsize n;

  while (*text == ' ' || *text == ',')
    text++;
  n = strcspn (text, " ,\t");
  if (n == 0)
    return FALSE;
  first = g_strndup (text, n);

  if (first[0] == '[')
    {
      char *close = strchr (first, ']');
      if (close == NULL)
        return FALSE;
      *host = g_strndup (first + 1, close - first - 1);
      if (g_str_has_prefix (*host, "ipv6:") || g_str_has_prefix (*host, "IPv6:"))
        {
          char *h = g_strdup (*host + 5);
          g_free (*host);
          *host = h;
        }
      *mx_lookup = FALSE;
      rest = close + 1;
    }
  else
    {
      char *colon = strrchr (first, ':');
      *host = colon ? g_strndup (first, colon - first) : g_strdup (first);
      *mx_lookup = TRUE;
      rest = colon ? colon : "";
    }
  *port = 25;
  if (*rest == ':')
    {
      guint64 v;
      if (g_ascii_string_to_unsigned (rest + 1, 10, 1, 65535, &v, NULL))
        *port = (guint) v;
      else if (service_names && (*port = service_port (rest + 1)) != 0)
        ;
      else
        {
          g_clear_pointer (host, g_free);
          return FALSE;
        }
    }
  else if (*rest != '\0')
    {
      g_clear_pointer (host, g_free);
      return FALSE;
    }
  return **host != '\0';
}

gboolean
pf_parse_nexthop (const char  *text,
                  char       **host,
                  guint       *port,
                  gboolean    *mx_lookup)
{
  return pf_parse_nexthop_full (text, FALSE, host, port, mx_lookup);
}


char *
pf_transport_name (gboolean        server,
                   SmarthostRelay *relay)
{
  GString *name = g_string_new (TRANSPORT_PREFIX);
  const char *ca = smarthost_relay_get_ca_file (relay);

  g_string_append (name, server ? "server-" : "domain-");
  g_string_append (name, smarthost_security_to_string (smarthost_relay_get_security (relay)));
  if (!smarthost_relay_get_verify_certificate (relay))
    g_string_append (name, "-noverify");
  if (ca != NULL)
    {
      g_autofree char *sum = g_compute_checksum_for_string (G_CHECKSUM_SHA256, ca, -1);
      g_string_append_printf (name, "-ca%.8s", sum);
    }
  return g_string_free (name, FALSE);
}

/* Reads back what a transport name of ours says. */
gboolean
pf_parse_transport_name (const char *name,
                         PfTransport  *t)
{
  g_auto(GStrv) parts = NULL;
  guint n;

  memset (t, 0, sizeof *t);
  if (!g_str_has_prefix (name, TRANSPORT_PREFIX))
    return FALSE;
  parts = g_strsplit (name + strlen (TRANSPORT_PREFIX), "-", 0);
  n = g_strv_length (parts);
  if (n < 2)
    return FALSE;
  if (g_str_equal (parts[0], "server"))
    t->server = TRUE;
  else if (!g_str_equal (parts[0], "domain"))
    return FALSE;
  if (!smarthost_security_from_string (parts[1], &t->security, NULL))
    return FALSE;
  t->verify = TRUE;
  for (guint i = 2; i < n; i++)
    {
      if (g_str_equal (parts[i], "noverify"))
        t->verify = FALSE;
      else if (!g_str_has_prefix (parts[i], "ca"))
        return FALSE;
    }
  return TRUE;
}

char *
pf_master_option (const char *entry,
                  const char *name)
{
  g_autofree char *needle = g_strconcat ("-o ", name, "=", NULL);
  const char *p = entry ? strstr (entry, needle) : NULL;

  if (p == NULL)
    return NULL;
  p += strlen (needle);
  return g_strndup (p, strcspn (p, " \t\r\n"));
}

static const char *
chroot_column (PfState *st)
{
  const char *smtp = pf_conf_get (st->master, "smtp/unix");
  g_auto(GStrv) fields = NULL;
  guint n = 0;
  static const char *values[] = { "y", "n", "-" };

  if (smtp == NULL)
    return "-";
  fields = g_strsplit_set (smtp, " \t\n", 0);
  for (guint i = 0; fields[i]; i++)
    {
      if (*fields[i] == '\0')
        continue;
      if (n++ == 4)
        for (guint j = 0; j < G_N_ELEMENTS (values); j++)
          if (g_str_equal (fields[i], values[j]))
            return values[j];
    }
  return "-";
}

char *
pf_transport_entry (PfState        *st,
                    const char     *name,
                    gboolean        server,
                    SmarthostRelay *relay)
{
  SmarthostSecurity security = smarthost_relay_get_security (relay);
  gboolean verify = smarthost_relay_get_verify_certificate (relay);
  const char *ca = smarthost_relay_get_ca_file (relay);
  g_autofree char *passwd = pf_map_spec (st, server ? MAP_SERVER_PASSWD : MAP_SENDER_PASSWD);
  GString *e = g_string_new (NULL);
  const char *level;

  if (security == SMARTHOST_SECURITY_NONE)
    level = "may";
  else
    level = verify ? "secure" : "encrypt";

  g_string_append_printf (e, "%s unix - - %s - - smtp\n", name, chroot_column (st));
  g_string_append (e, "  -o syslog_name=postfix/$service_name\n");
  g_string_append (e, "  -o smtp_sasl_auth_enable=yes\n");
  g_string_append_printf (e, "  -o smtp_sasl_password_maps=%s\n", passwd);
  g_string_append_printf (e, "  -o smtp_sender_dependent_authentication=%s\n", server ? "no" : "yes");
  g_string_append_printf (e, "  -o smtp_sasl_security_options=%s\n",
                          security == SMARTHOST_SECURITY_NONE ? "noanonymous" : "noplaintext,noanonymous");
  g_string_append (e, "  -o smtp_sasl_tls_security_options=noanonymous\n");
  g_string_append (e, "  -o smtp_sasl_auth_soft_bounce=yes\n");
  g_string_append_printf (e, "  -o smtp_tls_security_level=%s\n", level);
  g_string_append_printf (e, "  -o smtp_tls_wrappermode=%s\n", security == SMARTHOST_SECURITY_TLS ? "yes" : "no");
  if (security != SMARTHOST_SECURITY_NONE && verify)
    {
      g_string_append_printf (e, "  -o smtp_tls_CAfile=%s\n", ca ? ca : SYSTEM_CA_BUNDLE);
      g_string_append (e, "  -o smtp_tls_CApath=\n");
    }
  g_string_append (e, "  -o smtp_tls_policy_maps=\n");
  g_string_append (e, "  -o smtp_tls_loglevel=1\n");
  g_string_append (e, "  -o smtp_host_lookup=dns,native\n");
  g_string_append (e, "  -o smtp_tls_mandatory_protocols=>=TLSv1.2\n");
  g_string_append (e, "  -o smtp_fallback_relay=\n");
  return g_string_free (e, FALSE);
}
