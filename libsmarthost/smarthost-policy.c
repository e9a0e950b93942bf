/* smarthost-policy.c: the administrator's feature switches
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-error.h"
#include "smarthost-files-private.h"
#include "smarthost-policy.h"
#include "smarthost-util-private.h"

/**
 * SmarthostPolicy:
 *
 * Feature switches an administrator sets for every program that uses
 * libsmarthost, in an INI file with the `[mail]` keys of Plesk's
 * `panel.ini`, so that Plesk's own file can serve as it is:
 *
 * ```ini
 * [mail]
 * ; forbid server-wide smarthosts; per-domain ones stay allowed
 * smarthost.server.enabled = false
 * smarthost.domain.enabled = true
 * ; connection checks accept untrusted certificates
 * smarthost.server.checkConnection.checkCertificate = false
 * smarthost.domain.checkConnection.checkCertificate = true
 * ; restricted mode: no change at all
 * smarthost.restricted = false
 * ```
 *
 * Every key is optional and defaults to `true` (`false` for
 * `smarthost.restricted`). Values are `true`/`false` (also `yes`/`no`,
 * `on`/`off`, `1`/`0`), as in `panel.ini` (which PHP reads) optionally in
 * double or single quotes (`"false"`) and followed by a `; comment`.
 * Keys that do not start with `smarthost.` are ignored, in any group.
 * An unknown `smarthost.` key (in any letter case), a `smarthost.` key
 * outside `[mail]` (group names are case-sensitive: `[Mail]` is another
 * group), a value that is not a boolean or a line that is not
 * `key = value` make the whole file an error naming the file and line,
 * never a silent "everything allowed".
 *
 * A disabled change fails with %SMARTHOST_ERROR_DISABLED naming the key;
 * reading is always allowed. Transactions use [func@Policy.load_default]
 * unless given a policy ([property@Transaction:policy]).
 */

struct _SmarthostPolicy
{
  GObject parent_instance;

  char *path;
  gboolean server_enabled;
  gboolean domain_enabled;
  gboolean server_check_certificate;
  gboolean domain_check_certificate;
  gboolean restricted;
};

G_DEFINE_FINAL_TYPE (SmarthostPolicy, smarthost_policy, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_PATH,
  PROP_SERVER_ENABLED,
  PROP_DOMAIN_ENABLED,
  PROP_RESTRICTED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

#define KEY_SERVER_ENABLED "smarthost.server.enabled"
#define KEY_DOMAIN_ENABLED "smarthost.domain.enabled"
#define KEY_SERVER_CHECK_CERT "smarthost.server.checkConnection.checkCertificate"
#define KEY_DOMAIN_CHECK_CERT "smarthost.domain.checkConnection.checkCertificate"
#define KEY_RESTRICTED "smarthost.restricted"

static void
smarthost_policy_finalize (GObject *object)
{
  SmarthostPolicy *self = SMARTHOST_POLICY (object);

  g_free (self->path);
  G_OBJECT_CLASS (smarthost_policy_parent_class)->finalize (object);
}

static void
smarthost_policy_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  SmarthostPolicy *self = SMARTHOST_POLICY (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, smarthost_policy_get_path (self));
      break;
    case PROP_SERVER_ENABLED:
      g_value_set_boolean (value, smarthost_policy_get_server_enabled (self));
      break;
    case PROP_DOMAIN_ENABLED:
      g_value_set_boolean (value, smarthost_policy_get_domain_enabled (self));
      break;
    case PROP_RESTRICTED:
      g_value_set_boolean (value, smarthost_policy_get_restricted (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_policy_class_init (SmarthostPolicyClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = smarthost_policy_finalize;
  object_class->get_property = smarthost_policy_get_property;

  /**
   * SmarthostPolicy:path: (attributes org.gtk.Property.get=smarthost_policy_get_path)
   *
   * The file the policy was read from, or %NULL for a policy that allows
   * everything because there was no file.
   */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostPolicy:server-enabled: (attributes org.gtk.Property.get=smarthost_policy_get_server_enabled)
   *
   * Whether server-wide smarthosts may be changed
   * (`smarthost.server.enabled`).
   */
  properties[PROP_SERVER_ENABLED] =
    g_param_spec_boolean ("server-enabled", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostPolicy:domain-enabled: (attributes org.gtk.Property.get=smarthost_policy_get_domain_enabled)
   *
   * Whether per-domain smarthosts may be changed
   * (`smarthost.domain.enabled`).
   */
  properties[PROP_DOMAIN_ENABLED] =
    g_param_spec_boolean ("domain-enabled", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostPolicy:restricted: (attributes org.gtk.Property.get=smarthost_policy_get_restricted)
   *
   * Whether restricted mode forbids every change (`smarthost.restricted`).
   */
  properties[PROP_RESTRICTED] =
    g_param_spec_boolean ("restricted", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
smarthost_policy_init (SmarthostPolicy *self)
{
  self->server_enabled = TRUE;
  self->domain_enabled = TRUE;
  self->server_check_certificate = TRUE;
  self->domain_check_certificate = TRUE;
}

/**
 * smarthost_policy_new:
 *
 * Creates a policy that allows everything, as when there is no policy file.
 *
 * Returns: (transfer full): a new policy
 */
SmarthostPolicy *
smarthost_policy_new (void)
{
  return g_object_new (SMARTHOST_TYPE_POLICY, NULL);
}

static gboolean
parse_bool (const char *value,
            gboolean   *out)
{
  static const char *yes[] = { "true", "yes", "on", "1" };
  static const char *no[] = { "false", "no", "off", "0" };

  for (guint i = 0; i < G_N_ELEMENTS (yes); i++)
    {
      if (g_ascii_strcasecmp (value, yes[i]) == 0)
        return *out = TRUE, TRUE;
      if (g_ascii_strcasecmp (value, no[i]) == 0)
        return *out = FALSE, TRUE;
    }
  return FALSE;
}

static gboolean
policy_error (GError     **error,
              const char  *path,
              guint        line,
              const char  *message)
{
  g_autofree char *shown = _smarthost_quote_path (path);

  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
               "policy: %s, line %u: %s; fix the file (a broken policy allows nothing)", shown, line, message);
  return FALSE;
}

/* The end of a value: PHP's ini reader (Plesk's panel.ini is read by
 * PHP) ends an unquoted value at ';', and takes a double- or
 * single-quoted value as the text between the quotes, a comment allowed
 * after it. Returns NULL for a quote that is not closed or text after it. */
static char *
ini_value (char *value)
{
  char *end;

  if (*value == '"' || *value == '\'')
    {
      char *close = strchr (value + 1, *value);
      char *rest;

      if (close == NULL)
        return NULL;
      *close = '\0';
      rest = g_strchug (close + 1);
      if (*rest != '\0' && *rest != ';')
        return NULL;
      return value + 1;
    }
  end = strchr (value, ';');
  if (end != NULL)
    *end = '\0';
  return g_strstrip (value);
}

static gboolean
is_smarthost_key (const char *key)
{
  return g_ascii_strncasecmp (key, "smarthost.", strlen ("smarthost.")) == 0;
}

static gboolean
parse_policy (SmarthostPolicy  *self,
              const char       *path,
              const char       *text,
              GError          **error)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", 0);
  g_autofree char *group = NULL;

  for (guint i = 0; lines[i]; i++)
    {
      const char *cr = strchr (lines[i], '\r');
      char *line;
      char *eq, *key, *value;
      gboolean b;

      /* PHP's ini reader (Plesk's) ends a line at a lone carriage return
       * too: "; note\rsmarthost.restricted = true" is a comment here and a
       * setting there. Only the CR of a CRLF line end is taken. */
      if (cr != NULL && cr[1] != '\0')
        return policy_error (error, path, i + 1, "a carriage return inside the line (PHP and Plesk read two "
                                                 "lines there): end every line with a line feed");
      line = g_strstrip (lines[i]);

      if (*line == '\0' || *line == ';' || *line == '#')
        continue;
      if (*line == '[')
        {
          char *close = strchr (line, ']');
          char *rest = close ? g_strchug (close + 1) : NULL;

          if (close == NULL || (*rest != '\0' && *rest != ';'))
            return policy_error (error, path, i + 1, "a group header must look like [mail]");
          *close = '\0';
          g_free (group);
          group = g_strdup (g_strstrip (line + 1));
          continue;
        }
      eq = strchr (line, '=');
      if (eq == NULL)
        return policy_error (error, path, i + 1, "expected key = value");
      *eq = '\0';
      key = g_strstrip (line);
      if (!is_smarthost_key (key))
        continue;   /* panel.ini holds many other settings */
      /* A smarthost key anywhere but in [mail] is a mistake (Plesk would
       * not read it either: PHP's group names are case-sensitive), and
       * ignoring it would allow what the administrator meant to forbid. */
      if (group == NULL || !g_str_equal (group, "mail"))
        {
          g_autofree char *key_shown = _smarthost_quote (key, -1);
          g_autofree char *header = group ? g_strdup_printf ("[%s]", group) : NULL;
          g_autofree char *group_shown = _smarthost_quote (header, -1);
          g_autofree char *m = group
            ? g_strdup_printf ("%s is in the group %s; smarthost keys belong in [mail] "
                               "(written exactly so, in lower case): move it there", key_shown, group_shown)
            : g_strdup_printf ("%s is outside any group; smarthost keys belong in [mail]: "
                               "put a [mail] line above it", key_shown);
          return policy_error (error, path, i + 1, m);
        }
      value = ini_value (g_strstrip (eq + 1));
      if (value == NULL || !parse_bool (value, &b))
        {
          g_autofree char *key_shown = _smarthost_quote (key, -1);
          g_autofree char *m = g_strdup_printf ("%s must be true or false", key_shown);
          return policy_error (error, path, i + 1, m);
        }
      if (g_str_equal (key, KEY_SERVER_ENABLED))
        self->server_enabled = b;
      else if (g_str_equal (key, KEY_DOMAIN_ENABLED))
        self->domain_enabled = b;
      else if (g_str_equal (key, KEY_SERVER_CHECK_CERT))
        self->server_check_certificate = b;
      else if (g_str_equal (key, KEY_DOMAIN_CHECK_CERT))
        self->domain_check_certificate = b;
      else if (g_str_equal (key, KEY_RESTRICTED))
        self->restricted = b;
      else
        {
          g_autofree char *key_shown = _smarthost_quote (key, -1);
          g_autofree char *m = g_strdup_printf ("unknown key %s (the keys are %s, %s, %s, %s and %s, "
                                                "spelt exactly so)", key_shown, KEY_SERVER_ENABLED,
                                                KEY_DOMAIN_ENABLED, KEY_SERVER_CHECK_CERT,
                                                KEY_DOMAIN_CHECK_CERT, KEY_RESTRICTED);
          return policy_error (error, path, i + 1, m);
        }
    }
  return TRUE;
}

/**
 * smarthost_policy_new_from_file:
 * @path: (type filename): the policy file
 * @error: return location for a #GError
 *
 * Reads a policy file. A file that does not exist or cannot be read is an
 * error here: the caller named it.
 *
 * Returns: (transfer full): the policy, or %NULL with @error set to
 *   %SMARTHOST_ERROR_INVALID
 */
SmarthostPolicy *
smarthost_policy_new_from_file (const char  *path,
                                GError     **error)
{
  g_autoptr(SmarthostPolicy) self = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *text = NULL;
  gsize len;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Bounded, and never from a FIFO or a device: a policy is a few lines. */
  if (!_smarthost_read_file_limited (path, 0, SMARTHOST_READ_POLICY_LIMIT, &text, &len, NULL, &local_error))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                   "policy: %s; fix the file (a broken policy allows nothing)", local_error->message);
      return NULL;
    }
  if (strlen (text) != len || !g_utf8_validate (text, -1, NULL))
    {
      g_autofree char *shown = _smarthost_quote_path (path);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                   "policy: %s is not a text file; fix the file (a broken policy allows nothing)", shown);
      return NULL;
    }
  self = smarthost_policy_new ();
  self->path = g_strdup (path);
  if (!parse_policy (self, path, text, error))
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * smarthost_policy_load_default:
 * @error: return location for a #GError
 *
 * Reads the system's policy: the file the environment variable
 * `SMARTHOST_POLICY` names (which must exist), else
 * [const@POLICY_DEFAULT_PATH] if it exists. Without either, everything is
 * allowed.
 *
 * Returns: (transfer full): the policy, or %NULL with @error set
 */
SmarthostPolicy *
smarthost_policy_load_default (GError **error)
{
  const char *env = g_getenv ("SMARTHOST_POLICY");

  if (env != NULL && *env != '\0')
    return smarthost_policy_new_from_file (env, error);
  if (g_file_test (SMARTHOST_POLICY_DEFAULT_PATH, G_FILE_TEST_EXISTS))
    return smarthost_policy_new_from_file (SMARTHOST_POLICY_DEFAULT_PATH, error);
  return smarthost_policy_new ();
}

/**
 * smarthost_policy_get_path: (get-property path)
 * @self: a policy
 *
 * Gets the file the policy was read from.
 *
 * Returns: (nullable) (type filename): the file, or %NULL for a policy
 *   that allows everything because there was no file
 */
const char *
smarthost_policy_get_path (SmarthostPolicy *self)
{
  g_return_val_if_fail (SMARTHOST_IS_POLICY (self), NULL);
  return self->path;
}

/**
 * smarthost_policy_get_server_enabled: (get-property server-enabled)
 * @self: a policy
 *
 * Tells whether server-wide smarthosts may be changed
 * (`smarthost.server.enabled`).
 *
 * Returns: %TRUE if they may
 */
gboolean
smarthost_policy_get_server_enabled (SmarthostPolicy *self)
{
  g_return_val_if_fail (SMARTHOST_IS_POLICY (self), FALSE);
  return self->server_enabled;
}

/**
 * smarthost_policy_get_domain_enabled: (get-property domain-enabled)
 * @self: a policy
 *
 * Tells whether per-domain smarthosts may be changed
 * (`smarthost.domain.enabled`).
 *
 * Returns: %TRUE if they may
 */
gboolean
smarthost_policy_get_domain_enabled (SmarthostPolicy *self)
{
  g_return_val_if_fail (SMARTHOST_IS_POLICY (self), FALSE);
  return self->domain_enabled;
}

/**
 * smarthost_policy_get_restricted: (get-property restricted)
 * @self: a policy
 *
 * Tells whether restricted mode forbids every change
 * (`smarthost.restricted`).
 *
 * Returns: %TRUE in restricted mode
 */
gboolean
smarthost_policy_get_restricted (SmarthostPolicy *self)
{
  g_return_val_if_fail (SMARTHOST_IS_POLICY (self), TRUE);
  return self->restricted;
}

/**
 * smarthost_policy_get_check_certificate:
 * @self: a policy
 * @for_domain: whether the check is for a domain's relay
 *
 * Tells whether connection checks verify the relay's certificate
 * (`smarthost.server.checkConnection.checkCertificate` and
 * `smarthost.domain.checkConnection.checkCertificate`). This affects
 * checks only, never the mail server's own verification.
 *
 * Returns: %TRUE if checks verify certificates
 */
gboolean
smarthost_policy_get_check_certificate (SmarthostPolicy *self,
                                        gboolean         for_domain)
{
  g_return_val_if_fail (SMARTHOST_IS_POLICY (self), TRUE);
  return for_domain ? self->domain_check_certificate : self->server_check_certificate;
}

/**
 * smarthost_policy_check_change:
 * @self: a policy
 * @for_domain: whether the change is to a domain's relay
 * @error: return location for a #GError
 *
 * Checks that the policy allows changing a server-wide or a domain's
 * smarthost.
 *
 * Returns: %TRUE if allowed; otherwise @error is
 *   %SMARTHOST_ERROR_DISABLED and names the key
 */
gboolean
smarthost_policy_check_change (SmarthostPolicy  *self,
                               gboolean          for_domain,
                               GError          **error)
{
  g_autofree char *where = NULL;

  g_return_val_if_fail (SMARTHOST_IS_POLICY (self), FALSE);

  where = self->path ? _smarthost_quote_path (self->path) : g_strdup ("the policy");
  if (self->restricted)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_DISABLED,
                   "%s is true in %s: restricted mode forbids every change", KEY_RESTRICTED, where);
      return FALSE;
    }
  if (for_domain ? !self->domain_enabled : !self->server_enabled)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_DISABLED,
                   "%s is false in %s: the administrator has disabled %s",
                   for_domain ? KEY_DOMAIN_ENABLED : KEY_SERVER_ENABLED, where,
                   for_domain ? "per-domain smarthosts" : "the server-wide smarthost");
      return FALSE;
    }
  return TRUE;
}
