/* smarthost-postfix-tls.c: the TLS level of Postfix's SMTP client
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "smarthost-postfix-private.h"

/*
 * Implementation notes
 *
 * One model of the level a delivery runs with where no TLS policy entry
 * applies, for the doctor and for adoption alike, as global_tls_level()
 * in Postfix's smtp_tls_policy.c computes it: smtp_tls_security_level
 * when it is set; when it is empty (Postfix 3.7's default), the obsolete
 * parameters it replaced, which Postfix still honours:
 * smtp_enforce_tls = yes is "encrypt", or "verify" with
 * smtp_tls_enforce_peername = yes (its default); else smtp_use_tls = yes
 * is "may"; else "none". The settings are those of the master.cf service
 * that delivers the mail: its "-o" options, else main.cf's.
 */

gboolean
pf_is_yes (const char *value)
{
  return value != NULL && g_ascii_strcasecmp (value, "yes") == 0;
}

/* The level, and (in *@source, when given) which parameter decided it. */
const char *
pf_tls_effective_level (const PfTlsSettings *settings,
                        PfTlsSource         *source)
{
  PfTlsSource from;
  const char *level;

  if (settings->security_level != NULL && *settings->security_level != '\0')
    {
      from = PF_TLS_FROM_SECURITY_LEVEL;
      level = settings->security_level;
    }
  else if (pf_is_yes (settings->enforce_tls))
    {
      from = PF_TLS_FROM_ENFORCE_TLS;
      level = pf_is_yes (settings->enforce_peername) ? "verify" : "encrypt";
    }
  else if (pf_is_yes (settings->use_tls))
    {
      from = PF_TLS_FROM_USE_TLS;
      level = "may";
    }
  else
    {
      from = PF_TLS_FROM_DEFAULT;
      level = "none";
    }
  if (source != NULL)
    *source = from;
  return level;
}

/* A level Postfix knows (smtp_tls_security_level's values). */
gboolean
pf_tls_level_is_known (const char *level)
{
  static const char *levels[] = {
    "none", "may", "encrypt", "dane", "dane-only", "fingerprint", "verify", "secure", NULL,
  };

  for (guint i = 0; levels[i]; i++)
    if (g_ascii_strcasecmp (level, levels[i]) == 0)
      return TRUE;
  return FALSE;
}

/* A level that checks the server's certificate against its name. */
gboolean
pf_tls_level_verifies (const char *level)
{
  return g_ascii_strcasecmp (level, "secure") == 0 || g_ascii_strcasecmp (level, "verify") == 0;
}

/* A level that never delivers without TLS. */
gboolean
pf_tls_level_encrypts (const char *level)
{
  static const char *levels[] = { "encrypt", "dane", "dane-only", "fingerprint", NULL };

  if (pf_tls_level_verifies (level))
    return TRUE;
  for (guint i = 0; levels[i]; i++)
    if (g_ascii_strcasecmp (level, levels[i]) == 0)
      return TRUE;
  return FALSE;
}
