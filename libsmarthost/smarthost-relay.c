/* smarthost-relay.c: the settings of one smarthost
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-enum-types.h"
#include "smarthost-error.h"
#include "smarthost-private.h"
#include "smarthost-relay.h"
#include "smarthost-util-private.h"
#include "smarthost-platform-private.h"

/**
 * SmarthostRelay:
 *
 * The settings of one smarthost: where it is, how the connection is
 * protected and which credentials to present.
 *
 * A relay is a plain record: creating or changing one touches nothing.
 * Hand it to [method@Backend.set_server], [method@Backend.set_domain] or a
 * [class@Transaction] to configure a mail server with it.
 *
 * ```python
 * relay = Smarthost.Relay(host="smtp.sendgrid.net",
 *                         security=Smarthost.Security.STARTTLS,
 *                         username="apikey", password=key)
 * ```
 *
 * Unless a port is set, the usual port of the security mode is used (587
 * for STARTTLS and none, 465 for implicit TLS); see
 * [method@Relay.get_effective_port].
 *
 * The password is never shown: [method@Relay.to_string], diffs, logs and
 * error messages print [const@PASSWORD_MASK] instead.
 */

struct _SmarthostRelay
{
  GObject parent_instance;

  /* Packed: a hosting server has 100,000 relays, and a transaction a
   * copy of each. */
  char *host;           /* a GRefString, interned */
  char *ca_file;
  char *username;       /* shared with copies (shared_str_new()) */
  char *password;       /* shared with copies, wiped when the last goes */
  guint port;
  SmarthostSecurity security;
  guint port_set : 1;
  guint mx_lookup : 1;
  guint verify_certificate : 1;
  guint password_set : 1;
  /* What _smarthost_relay_check() found the relay to be since it last
   * changed: CHECKED_KEEP (valid when staged, a kept password included),
   * CHECKED_FULL (valid), or 0 (not known). A relay staged goes through
   * the same checks as it is read, copied and staged: each setter clears
   * it, so that a relay is checked once until it changes. */
  int checked;
};

enum {
  CHECKED_KEEP = 1 << 0,
  CHECKED_FULL = 1 << 1,
};

/* The user name and the password of a relay are shared with its copies:
 * they never change in place (a setter puts a new one), and a transaction
 * copies every relay it stages (100,000 of them for a hosting server).
 * A reference count before the text (a GRefString's header is four times
 * that); a password is wiped when its last reference goes. */
typedef struct {
  gatomicrefcount refs;
  char text[];
} SharedStr;

#define SHARED_STR(str) ((SharedStr *) (gpointer) ((str) - offsetof (SharedStr, text)))

static char *
shared_str_new (const char *text)
{
  SharedStr *shared;
  gsize size;

  if (text == NULL)
    return NULL;
  size = strlen (text) + 1;
  shared = g_malloc (offsetof (SharedStr, text) + size);
  g_atomic_ref_count_init (&shared->refs);
  memcpy (shared->text, text, size);
  return shared->text;
}

static char *
shared_str_ref (char *text)
{
  if (text != NULL)
    g_atomic_ref_count_inc (&SHARED_STR (text)->refs);
  return text;
}

static void
shared_str_unref (char *text)
{
  if (text != NULL && g_atomic_ref_count_dec (&SHARED_STR (text)->refs))
    g_free (SHARED_STR (text));
}

static void
shared_secret_unref (char *secret)
{
  if (secret != NULL && g_atomic_ref_count_dec (&SHARED_STR (secret)->refs))
    {
      _smarthost_secure_zero (secret, strlen (secret));
      g_free (SHARED_STR (secret));
    }
}

/* Every change to a relay's settings goes through here. */
#define relay_changed(self) g_atomic_int_set (&(self)->checked, 0)

G_DEFINE_FINAL_TYPE (SmarthostRelay, smarthost_relay, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_HOST,
  PROP_PORT,
  PROP_SECURITY,
  PROP_MX_LOOKUP,
  PROP_VERIFY_CERTIFICATE,
  PROP_CA_FILE,
  PROP_USERNAME,
  PROP_PASSWORD,
  PROP_PASSWORD_SET,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
smarthost_relay_finalize (GObject *object)
{
  SmarthostRelay *self = SMARTHOST_RELAY (object);

  g_clear_pointer (&self->host, g_ref_string_release);
  g_free (self->ca_file);
  shared_str_unref (self->username);
  shared_secret_unref (self->password);

  G_OBJECT_CLASS (smarthost_relay_parent_class)->finalize (object);
}

static void
smarthost_relay_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  SmarthostRelay *self = SMARTHOST_RELAY (object);

  switch (prop_id)
    {
    case PROP_HOST:
      g_value_set_string (value, self->host);
      break;
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    case PROP_SECURITY:
      g_value_set_enum (value, self->security);
      break;
    case PROP_MX_LOOKUP:
      g_value_set_boolean (value, self->mx_lookup);
      break;
    case PROP_VERIFY_CERTIFICATE:
      g_value_set_boolean (value, self->verify_certificate);
      break;
    case PROP_CA_FILE:
      g_value_set_string (value, self->ca_file);
      break;
    case PROP_USERNAME:
      g_value_set_string (value, self->username);
      break;
    case PROP_PASSWORD:
      g_value_set_string (value, self->password);
      break;
    case PROP_PASSWORD_SET:
      g_value_set_boolean (value, smarthost_relay_get_password_set (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_relay_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  SmarthostRelay *self = SMARTHOST_RELAY (object);

  switch (prop_id)
    {
    case PROP_HOST:
      smarthost_relay_set_host (self, g_value_get_string (value));
      break;
    case PROP_PORT:
      smarthost_relay_set_port (self, g_value_get_uint (value));
      break;
    case PROP_SECURITY:
      smarthost_relay_set_security (self, g_value_get_enum (value));
      break;
    case PROP_MX_LOOKUP:
      smarthost_relay_set_mx_lookup (self, g_value_get_boolean (value));
      break;
    case PROP_VERIFY_CERTIFICATE:
      smarthost_relay_set_verify_certificate (self, g_value_get_boolean (value));
      break;
    case PROP_CA_FILE:
      smarthost_relay_set_ca_file (self, g_value_get_string (value));
      break;
    case PROP_USERNAME:
      smarthost_relay_set_username (self, g_value_get_string (value));
      break;
    case PROP_PASSWORD:
      smarthost_relay_set_password (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_relay_class_init (SmarthostRelayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = smarthost_relay_finalize;
  object_class->get_property = smarthost_relay_get_property;
  object_class->set_property = smarthost_relay_set_property;

  /**
   * SmarthostRelay:host: (attributes org.gtk.Property.get=smarthost_relay_get_host org.gtk.Property.set=smarthost_relay_set_host)
   *
   * The relay's host name or IP address, without brackets or port.
   */
  properties[PROP_HOST] =
    g_param_spec_string ("host", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostRelay:port: (attributes org.gtk.Property.get=smarthost_relay_get_port org.gtk.Property.set=smarthost_relay_set_port)
   *
   * The relay's TCP port. Left unset (it reads 0), the usual port of
   * [property@Relay:security] is used. Out-of-range values, 0 included
   * when set explicitly, are kept so that [method@Relay.validate] can
   * name them.
   */
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostRelay:security: (attributes org.gtk.Property.get=smarthost_relay_get_security org.gtk.Property.set=smarthost_relay_set_security)
   *
   * How the connection is protected.
   */
  properties[PROP_SECURITY] =
    g_param_spec_enum ("security", NULL, NULL,
                       SMARTHOST_TYPE_SECURITY, SMARTHOST_SECURITY_STARTTLS,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostRelay:mx-lookup: (attributes org.gtk.Property.get=smarthost_relay_get_mx_lookup org.gtk.Property.set=smarthost_relay_set_mx_lookup)
   *
   * Whether [property@Relay:host] is a mail domain whose MX records name the
   * relay's servers. Off by default: the host is connected to directly (in
   * Postfix, `[host]`).
   */
  properties[PROP_MX_LOOKUP] =
    g_param_spec_boolean ("mx-lookup", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostRelay:verify-certificate: (attributes org.gtk.Property.get=smarthost_relay_get_verify_certificate org.gtk.Property.set=smarthost_relay_set_verify_certificate)
   *
   * Whether the relay's certificate must be trusted and name the relay's
   * host. On by default.
   */
  properties[PROP_VERIFY_CERTIFICATE] =
    g_param_spec_boolean ("verify-certificate", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostRelay:ca-file: (attributes org.gtk.Property.get=smarthost_relay_get_ca_file org.gtk.Property.set=smarthost_relay_set_ca_file)
   *
   * An absolute path to a PEM file with the certificate authorities trusted
   * for this relay, instead of the system's; %NULL for the system's.
   */
  properties[PROP_CA_FILE] =
    g_param_spec_string ("ca-file", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostRelay:username: (attributes org.gtk.Property.get=smarthost_relay_get_username org.gtk.Property.set=smarthost_relay_set_username)
   *
   * The user name to authenticate with, or %NULL to send without
   * authenticating.
   */
  properties[PROP_USERNAME] =
    g_param_spec_string ("username", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostRelay:password: (attributes org.gtk.Property.get=smarthost_relay_get_password org.gtk.Property.set=smarthost_relay_set_password)
   *
   * The password or API key. It is never printed.
   */
  properties[PROP_PASSWORD] =
    g_param_spec_string ("password", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostRelay:password-set: (attributes org.gtk.Property.get=smarthost_relay_get_password_set)
   *
   * Whether the relay has a password, even one a backend reported without
   * revealing it.
   */
  properties[PROP_PASSWORD_SET] =
    g_param_spec_boolean ("password-set", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
smarthost_relay_init (SmarthostRelay *self)
{
  self->security = SMARTHOST_SECURITY_STARTTLS;
  self->verify_certificate = TRUE;
}

/**
 * smarthost_relay_new:
 * @host: (nullable): the relay's host name or IP address
 *
 * Creates a relay with default settings: the usual port of its security
 * mode, STARTTLS, no MX lookup, certificate verification on and
 * no credentials.
 *
 * Returns: (transfer full): a new relay
 */
SmarthostRelay *
smarthost_relay_new (const char *host)
{
  return g_object_new (SMARTHOST_TYPE_RELAY, "host", host, NULL);
}

/* A new relay with these settings, set without the property machinery
 * (nothing can listen to a relay yet): what the JSON reader creates
 * 100,000 of. */
SmarthostRelay *
_smarthost_relay_new_full (const char        *host,
                           SmarthostSecurity  security,
                           guint              port,
                           gboolean           mx_lookup,
                           gboolean           verify_certificate,
                           const char        *ca_file,
                           const char        *username)
{
  SmarthostRelay *self = g_object_new (SMARTHOST_TYPE_RELAY, NULL);

  self->host = host ? g_ref_string_new_intern (host) : NULL;
  self->security = security;
  self->port = port;
  self->port_set = port != 0;
  self->mx_lookup = !!mx_lookup;
  self->verify_certificate = !!verify_certificate;
  self->ca_file = g_strdup (ca_file);
  self->username = shared_str_new (username);
  return self;
}

/**
 * smarthost_relay_copy:
 * @self: a relay
 *
 * Copies every setting of @self, the password included, into a new relay.
 *
 * Returns: (transfer full): a new relay
 */
SmarthostRelay *
smarthost_relay_copy (SmarthostRelay *self)
{
  SmarthostRelay *copy;

  g_return_val_if_fail (SMARTHOST_IS_RELAY (self), NULL);

  copy = g_object_new (SMARTHOST_TYPE_RELAY, NULL);
  copy->host = self->host ? g_ref_string_acquire (self->host) : NULL;
  copy->port = self->port;
  copy->port_set = self->port_set;
  copy->security = self->security;
  copy->mx_lookup = self->mx_lookup;
  copy->verify_certificate = self->verify_certificate;
  copy->ca_file = g_strdup (self->ca_file);
  copy->username = shared_str_ref (self->username);
  copy->password = shared_str_ref (self->password);
  copy->password_set = self->password_set;
  copy->checked = g_atomic_int_get (&self->checked);
  return copy;
}

/**
 * smarthost_relay_equal:
 * @self: a relay
 * @other: another relay
 *
 * Compares two relays setting by setting. Host names compare without regard
 * to case, and a port of 0 equals the usual port of the security mode.
 *
 * Returns: %TRUE if @self and @other configure the same smarthost
 */
gboolean
smarthost_relay_equal (SmarthostRelay *self,
                       SmarthostRelay *other)
{
  g_return_val_if_fail (SMARTHOST_IS_RELAY (self), FALSE);
  g_return_val_if_fail (SMARTHOST_IS_RELAY (other), FALSE);

  return g_ascii_strcasecmp (self->host ? self->host : "", other->host ? other->host : "") == 0 &&
         smarthost_relay_get_effective_port (self) == smarthost_relay_get_effective_port (other) &&
         self->security == other->security &&
         self->mx_lookup == other->mx_lookup &&
         self->verify_certificate == other->verify_certificate &&
         g_strcmp0 (self->ca_file, other->ca_file) == 0 &&
         g_strcmp0 (self->username, other->username) == 0 &&
         g_strcmp0 (self->password, other->password) == 0;
}

/* Text that is written into a configuration file must not be able to end a
 * line or a field there: no control characters at all. */
static gboolean
has_control_chars (const char *text)
{
  for (const guchar *p = (const guchar *) text; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return TRUE;
  return FALSE;
}

static gboolean
has_whitespace (const char *text)
{
  for (const char *p = text; *p; p++)
    if (g_ascii_isspace (*p))
      return TRUE;
  return FALSE;
}

/* Checks a host name: letters, digits, hyphens and dots, labels of 1 to 63
 * characters, 253 in all. Underscores are tolerated: some relay services use
 * them in internal names. */
static gboolean
is_valid_hostname (const char *name)
{
  gsize len = strlen (name);
  gsize label = 0;

  if (len == 0 || len > 253)
    return FALSE;
  for (const char *p = name; *p; p++)
    {
      if (*p == '.')
        {
          if (label == 0 || p[-1] == '-')
            return FALSE;
          label = 0;
          continue;
        }
      if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
        return FALSE;
      if (label == 0 && *p == '-')
        return FALSE;
      if (++label > 63)
        return FALSE;
    }
  return label > 0 && name[len - 1] != '-';
}

/*
 * _smarthost_host_is_address:
 * @host: a host as given
 * @address: (out) (optional): the address in its usual form, when it is one
 *
 * Whether the resolver reads @host as an IP address. glibc's getaddrinfo()
 * (and so Postfix, OpenSSL and the probe) reads an IPv4 address the way
 * inet_aton() does, which takes more than four decimal numbers: "127.1"
 * (short: 127.0.0.1), "0x7f.1" (hexadecimal), "0177.0.0.1" (a leading 0
 * is octal), "2130706433" (one 32-bit number). Each of those is an address,
 * not a host name, whatever g_hostname_is_ip_address() says (it takes the
 * usual form alone): an address given that way must not slip past the rules
 * for addresses, such as the one that no certificate can be verified
 * against an IP address. IPv6 addresses are as GLib reads them.
 *
 * Returns: %TRUE if @host is an address; *@address is then its usual form
 *   (dotted decimal for IPv4; @host itself for IPv6), to compare with @host
 */
gboolean
_smarthost_host_is_address (const char  *host,
                            char       **address)
{
  struct in_addr in;
  char text[INET_ADDRSTRLEN];

  if (address != NULL)
    *address = NULL;
  if (host == NULL || *host == '\0')
    return FALSE;
  /* inet_aton() ignores anything after a space; no host has one. */
  if (strpbrk (host, " \t\n\r\v\f") == NULL && _smarthost_inet_aton (host, &in) &&
      inet_ntop (AF_INET, &in, text, sizeof text) != NULL)
    {
      if (address != NULL)
        *address = g_strdup (text);
      return TRUE;
    }
  if (g_hostname_is_ip_address (host))
    {
      if (address != NULL)
        *address = g_strdup (host);
      return TRUE;
    }
  return FALSE;
}

/* How an IPv4 address is written other than as four decimal numbers, for
 * messages: "127.1 is the IPv4 address 127.0.0.1 written short". */
static const char *
address_form (const char *host)
{
  guint parts = 1;
  gboolean octal = FALSE;

  for (const char *p = host; *p; p++)
    {
      if (*p == '.')
        parts++;
      if ((p == host || p[-1] == '.') && p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        return "in hexadecimal";
      if ((p == host || p[-1] == '.') && p[0] == '0' && g_ascii_isdigit (p[1]))
        octal = TRUE;
    }
  if (octal)
    return "in octal (to the resolver, a number with a leading 0 is octal)";
  if (parts == 1)
    return "as one number";
  return "short";
}

/* An error for a host or domain that is an IPv4 address written in a form
 * other than the usual one (see _smarthost_host_is_address()); FALSE if
 * @host is not such an address. For a host, @for_host. */
static gboolean
check_unusual_address (const char  *field,
                       const char  *host,
                       gboolean     for_host,
                       GError     **error)
{
  g_autofree char *address = NULL;
  g_autofree char *shown = NULL;
  g_autofree char *message = NULL;

  if (!_smarthost_host_is_address (host, &address) || g_str_equal (address, host))
    return FALSE;
  shown = _smarthost_quote (host, -1);
  if (for_host)
    message = g_strdup_printf ("%s is the IPv4 address %s written %s; if an address is meant, write it as "
                               "%s (and turn certificate verification off: no certificate is verified "
                               "against an address), otherwise give the relay's host name",
                               shown, address, address_form (host), address);
  else
    message = g_strdup_printf ("%s is the IPv4 address %s written %s; give a domain name, not an address",
                               shown, address, address_form (host));
  _smarthost_set_invalid (error, field, message);
  return TRUE;
}

/* A name whose last label is a number is not a host name (RFC 1123, 2.1;
 * RFC 3696, 2: no top-level domain is all-numeric), and a resolver may
 * take it for an address: "1.2.3.4.5", "example.0x1f". */
static gboolean
has_numeric_last_label (const char *name)
{
  gsize len = strlen (name);
  const char *last, *end;

  if (len > 0 && name[len - 1] == '.')
    len--;
  end = name + len;
  last = g_strrstr_len (name, len, ".");
  last = last ? last + 1 : name;
  if (last == end)
    return FALSE;
  if (end - last > 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X'))
    {
      for (const char *p = last + 2; p < end; p++)
        if (!g_ascii_isxdigit (*p))
          return FALSE;
      return TRUE;
    }
  for (const char *p = last; p < end; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  return TRUE;
}

/* Whether @name is a host name as g_hostname_to_ascii() would give it
 * back unchanged: lower-case ASCII letters, digits, dots and hyphens, no
 * "--" (as in the "xn--" of an IDN label, which it checks), no final dot.
 * Most names are, and it is the cost of reading 100,000 of them. */
static gboolean
is_plain_ascii_hostname (const char *name)
{
  gsize len = strspn (name, "abcdefghijklmnopqrstuvwxyz0123456789.-");

  return len > 0 && name[len] == '\0' && name[len - 1] != '.' && strstr (name, "--") == NULL;
}

static gboolean validate_host_uncached (const char *host, gboolean mx_lookup, GError **error);

/* The last hosts found valid, in this thread: the relays of a hosting
 * server (100,000 of them) use a few hosts. */
#define N_VALID_HOSTS 8
static _Thread_local struct {
  struct {
    char host[256];     /* "" for none */
    gboolean mx_lookup;
  } hosts[N_VALID_HOSTS];
  guint next;
} valid_hosts;

static gboolean
validate_host (const char  *host,
               gboolean     mx_lookup,
               GError     **error)
{
  gsize len;
  guint i;

  if (host != NULL && *host != '\0')
    for (i = 0; i < N_VALID_HOSTS; i++)
      if (valid_hosts.hosts[i].mx_lookup == mx_lookup && strcmp (host, valid_hosts.hosts[i].host) == 0)
        return TRUE;
  if (!validate_host_uncached (host, mx_lookup, error))
    return FALSE;
  len = strlen (host);
  if (len < sizeof valid_hosts.hosts[0].host)
    {
      i = valid_hosts.next++ % N_VALID_HOSTS;
      memcpy (valid_hosts.hosts[i].host, host, len + 1);
      valid_hosts.hosts[i].mx_lookup = mx_lookup;
    }
  return TRUE;
}

static gboolean
validate_host_uncached (const char  *host,
                        gboolean     mx_lookup,
                        GError     **error)
{
  g_autofree char *ascii = NULL;

  if (host == NULL || *host == '\0')
    return _smarthost_set_invalid (error, "host", "is required: give the relay's host name or IP address");
  if (!g_utf8_validate (host, -1, NULL))
    return _smarthost_set_invalid (error, "host", "must be valid UTF-8");
  if (has_control_chars (host))
    return _smarthost_set_invalid (error, "host", "must not contain control characters or line breaks");
  if (has_whitespace (host))
    return _smarthost_set_invalid (error, "host", "must not contain spaces");
  if (strpbrk (host, "[]") != NULL)
    return _smarthost_set_invalid (error, "host",
                                   "give the host without brackets; MX lookups are off unless mx-lookup is set");
  if (check_unusual_address ("host", host, TRUE, error))
    return FALSE;
  if (_smarthost_host_is_address (host, NULL))
    {
      if (mx_lookup)
        return _smarthost_set_invalid (error, "mx-lookup", "an IP address has no MX records: turn mx-lookup off");
      return TRUE;
    }
  if (strchr (host, ':') != NULL)
    return _smarthost_set_invalid (error, "host", "give the port separately, not as host:port");
  /* Most names are plain ASCII already: no IDN conversion for them. */
  ascii = is_plain_ascii_hostname (host) ? g_strdup (host) : g_hostname_to_ascii (host);
  if (ascii == NULL || !is_valid_hostname (ascii))
    return _smarthost_set_invalid (error, "host", "is not a valid host name or IP address");
  if (has_numeric_last_label (ascii))
    {
      g_autofree char *shown = _smarthost_quote (host, -1);
      g_autofree char *message = g_strdup_printf ("%s is neither an IP address nor a host name: a host name "
                                                  "never ends with a number (no top-level domain is "
                                                  "numeric); give an IPv4 address as four numbers from 0 "
                                                  "to 255, or the relay's host name", shown);
      return _smarthost_set_invalid (error, "host", message);
    }
  return TRUE;
}

/**
 * smarthost_relay_validate:
 * @self: a relay
 * @error: return location for a #GError
 *
 * Checks every setting of @self. The error is %SMARTHOST_ERROR_INVALID and its
 * message starts with the name of the offending property, for example
 * `port: must be between 1 and 65535`. Backends may refuse more, for what
 * their configuration format cannot carry.
 *
 * Returns: %TRUE if the relay is valid
 */
gboolean
smarthost_relay_validate (SmarthostRelay  *self,
                          GError         **error)
{
  g_return_val_if_fail (SMARTHOST_IS_RELAY (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _smarthost_relay_check (self, FALSE, error);
}

/* smarthost_relay_validate(); with @keep_password, a relay whose password
 * is set but not known (read from a configuration that does not reveal
 * it, or a state that only says "password_set") is valid too: staged, it
 * keeps the password the backend has stored for it. */
static gboolean relay_check (SmarthostRelay *self, gboolean keep_password, GError **error);

gboolean
_smarthost_relay_check (SmarthostRelay  *self,
                        gboolean         keep_password,
                        GError         **error)
{
  /* Valid with the password known is valid with a kept one too. */
  int wanted = keep_password ? CHECKED_KEEP | CHECKED_FULL : CHECKED_FULL;
  int checked = g_atomic_int_get (&self->checked);

  if (checked & wanted)
    return TRUE;
  if (!relay_check (self, keep_password, error))
    return FALSE;
  /* A change made meanwhile (from another thread) cleared it: keep that. */
  g_atomic_int_compare_and_exchange (&self->checked, checked,
                                     checked | (keep_password ? CHECKED_KEEP : CHECKED_FULL));
  return TRUE;
}

static gboolean
relay_check (SmarthostRelay  *self,
             gboolean         keep_password,
             GError         **error)
{
  if (!validate_host (self->host, self->mx_lookup, error))
    return FALSE;

  if (self->port > 65535 || (self->port == 0 && self->port_set))
    return _smarthost_set_invalid (error, "port", "must be between 1 and 65535");

  if ((guint) self->security > SMARTHOST_SECURITY_TLS)
    return _smarthost_set_invalid (error, "security", "must be none, starttls or tls");

  if (self->ca_file != NULL)
    {
      if (*self->ca_file == '\0' || !g_path_is_absolute (self->ca_file))
        return _smarthost_set_invalid (error, "ca-file", "must be an absolute path");
      if (has_control_chars (self->ca_file))
        return _smarthost_set_invalid (error, "ca-file", "must not contain control characters or line breaks");
      if (!self->verify_certificate)
        return _smarthost_set_invalid (error, "ca-file",
                                       "has no effect while verify-certificate is off: drop one of them");
      if (self->security == SMARTHOST_SECURITY_NONE)
        return _smarthost_set_invalid (error, "ca-file",
                                       "has no effect with security none: choose starttls or tls");
    }

  if (self->username != NULL)
    {
      if (*self->username == '\0')
        return _smarthost_set_invalid (error, "username", "must not be empty; leave it unset to send without authenticating");
      if (!g_utf8_validate (self->username, -1, NULL))
        return _smarthost_set_invalid (error, "username", "must be valid UTF-8");
      if (has_control_chars (self->username))
        return _smarthost_set_invalid (error, "username", "must not contain control characters or line breaks");
      if (strlen (self->username) > 512)
        return _smarthost_set_invalid (error, "username", "is longer than 512 bytes");
    }

  if (self->username != NULL && self->password == NULL && !(keep_password && self->password_set))
    return _smarthost_set_invalid (error, "password",
                                   self->password_set
                                     ? "is not known (it was read from a configuration that does not reveal it): set it again"
                                     : "is required with a username: set the password or API key");

  if (self->password != NULL)
    {
      if (self->username == NULL)
        return _smarthost_set_invalid (error, "password", "needs a username: set one, or drop the password");
      if (*self->password == '\0')
        return _smarthost_set_invalid (error, "password", "must not be empty; leave it unset instead");
      if (!g_utf8_validate (self->password, -1, NULL))
        return _smarthost_set_invalid (error, "password", "must be valid UTF-8");
      if (has_control_chars (self->password))
        return _smarthost_set_invalid (error, "password", "must not contain control characters or line breaks");
      if (strlen (self->password) > 1024)
        return _smarthost_set_invalid (error, "password", "is longer than 1024 bytes");
    }

  return TRUE;
}

/**
 * smarthost_relay_to_string:
 * @self: a relay
 *
 * Describes @self in one line for people, as in
 * `smtp.sendgrid.net:587 (starttls, certificate verified), user apikey,
 * password set`. The password itself is never shown.
 *
 * Returns: (transfer full): a description of the relay
 */
char *
smarthost_relay_to_string (SmarthostRelay *self)
{
  GString *s;
  gboolean v6;

  g_return_val_if_fail (SMARTHOST_IS_RELAY (self), NULL);

  s = g_string_new (NULL);
  v6 = self->host != NULL && strchr (self->host, ':') != NULL;
  g_string_append_printf (s, "%s%s%s:%u (%s",
                          v6 ? "[" : "", self->host ? self->host : "(no host)", v6 ? "]" : "",
                          smarthost_relay_get_effective_port (self),
                          smarthost_security_to_string (self->security));
  if (self->mx_lookup)
    g_string_append (s, ", MX lookup");
  if (self->security != SMARTHOST_SECURITY_NONE)
    {
      if (!self->verify_certificate)
        g_string_append (s, ", certificate not verified");
      else if (self->ca_file != NULL)
        g_string_append_printf (s, ", certificate verified with %s", self->ca_file);
      else
        g_string_append (s, ", certificate verified");
    }
  g_string_append_c (s, ')');
  if (self->username != NULL)
    g_string_append_printf (s, ", user %s, password %s", self->username,
                            smarthost_relay_get_password_set (self) ? "set" : "not set");
  return g_string_free (s, FALSE);
}

/**
 * smarthost_relay_get_host: (get-property host)
 * @self: a relay
 *
 * Gets the relay's host name or IP address.
 *
 * Returns: (nullable): the relay's host name or IP address
 */
const char *
smarthost_relay_get_host (SmarthostRelay *self)
{
  g_return_val_if_fail (SMARTHOST_IS_RELAY (self), NULL);
  return self->host;
}

/**
 * smarthost_relay_set_host: (set-property host)
 * @self: a relay
 * @host: (nullable): a host name or IP address, without brackets or port
 *
 * Sets the relay's host. Nothing is checked until [method@Relay.validate].
 */
void
smarthost_relay_set_host (SmarthostRelay *self,
                          const char     *host)
{
  char *old;

  g_return_if_fail (SMARTHOST_IS_RELAY (self));
  if (g_strcmp0 (self->host, host) == 0)
    return;
  relay_changed (self);
  /* Interned: a hosting server's 100,000 relays, and the copies a
   * transaction makes of them, use a few hosts. */
  old = self->host;
  self->host = host ? g_ref_string_new_intern (host) : NULL;
  if (old != NULL)
    g_ref_string_release (old);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HOST]);
}

/**
 * smarthost_relay_get_port: (get-property port)
 * @self: a relay
 *
 * Gets the relay's port as set.
 *
 * Returns: the port as set, or 0 when it is not set and the usual port of
 *   the security mode is used
 */
guint
smarthost_relay_get_port (SmarthostRelay *self)
{
  g_return_val_if_fail (SMARTHOST_IS_RELAY (self), 0);
  return self->port;
}

/**
 * smarthost_relay_set_port: (set-property port)
 * @self: a relay
 * @port: a TCP port, from 1 to 65535
 *
 * Sets the relay's port. Nothing is checked until [method@Relay.validate].
 */
void
smarthost_relay_set_port (SmarthostRelay *self,
                          guint           port)
{
  g_return_if_fail (SMARTHOST_IS_RELAY (self));
  relay_changed (self);
  self->port_set = TRUE;
  if (self->port != port)
    {
      self->port = port;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);
    }
}

/**
 * smarthost_relay_get_effective_port:
 * @self: a relay
 *
 * Gets the port that connections to the relay use.
 *
 * Returns: the port that is used: [property@Relay:port], or when that is 0
 *   the usual port of [property@Relay:security]
 */
guint
smarthost_relay_get_effective_port (SmarthostRelay *self)
{
  g_return_val_if_fail (SMARTHOST_IS_RELAY (self), 0);
  return self->port != 0 ? self->port : smarthost_security_get_default_port (self->security);
}

/**
 * smarthost_relay_get_security: (get-property security)
 * @self: a relay
 *
 * Gets the relay's security mode.
 *
 * Returns: how the connection is protected
 */
SmarthostSecurity
smarthost_relay_get_security (SmarthostRelay *self)
{
  g_return_val_if_fail (SMARTHOST_IS_RELAY (self), SMARTHOST_SECURITY_STARTTLS);
  return self->security;
}

/**
 * smarthost_relay_set_security: (set-property security)
 * @self: a relay
 * @security: how the connection is protected
 *
 * Sets the relay's security mode.
 */
void
smarthost_relay_set_security (SmarthostRelay    *self,
                              SmarthostSecurity  security)
{
  g_return_if_fail (SMARTHOST_IS_RELAY (self));
  if (self->security != security)
    {
      relay_changed (self);
      self->security = security;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SECURITY]);
    }
}

/**
 * smarthost_relay_get_mx_lookup: (get-property mx-lookup)
 * @self: a relay
 *
 * Gets whether [property@Relay:host] names a mail domain whose MX records
 * are looked up.
 *
 * Returns: whether the host's MX records are looked up
 */
gboolean
smarthost_relay_get_mx_lookup (SmarthostRelay *self)
{
  g_return_val_if_fail (SMARTHOST_IS_RELAY (self), FALSE);
  return self->mx_lookup;
}

/**
 * smarthost_relay_set_mx_lookup: (set-property mx-lookup)
 * @self: a relay
 * @mx_lookup: whether to look up the host's MX records
 *
 * Sets whether [property@Relay:host] names a mail domain to look up.
 */
void
smarthost_relay_set_mx_lookup (SmarthostRelay *self,
                               gboolean        mx_lookup)
{
  g_return_if_fail (SMARTHOST_IS_RELAY (self));
  mx_lookup = !!mx_lookup;
  if (self->mx_lookup != mx_lookup)
    {
      relay_changed (self);
      self->mx_lookup = mx_lookup;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MX_LOOKUP]);
    }
}

/**
 * smarthost_relay_get_verify_certificate: (get-property verify-certificate)
 * @self: a relay
 *
 * Gets whether the relay's certificate is verified.
 *
 * Returns: whether the relay's certificate is verified
 */
gboolean
smarthost_relay_get_verify_certificate (SmarthostRelay *self)
{
  g_return_val_if_fail (SMARTHOST_IS_RELAY (self), TRUE);
  return self->verify_certificate;
}

/**
 * smarthost_relay_set_verify_certificate: (set-property verify-certificate)
 * @self: a relay
 * @verify_certificate: whether to verify the relay's certificate
 *
 * Sets whether the relay's certificate must be trusted.
 */
void
smarthost_relay_set_verify_certificate (SmarthostRelay *self,
                                        gboolean        verify_certificate)
{
  g_return_if_fail (SMARTHOST_IS_RELAY (self));
  verify_certificate = !!verify_certificate;
  if (self->verify_certificate != verify_certificate)
    {
      relay_changed (self);
      self->verify_certificate = verify_certificate;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VERIFY_CERTIFICATE]);
    }
}

/**
 * smarthost_relay_get_ca_file: (get-property ca-file)
 * @self: a relay
 *
 * Gets the CA file trusted for this relay.
 *
 * Returns: (nullable) (type filename): the CA file trusted for this relay,
 *   or %NULL for the system's certificate authorities
 */
const char *
smarthost_relay_get_ca_file (SmarthostRelay *self)
{
  g_return_val_if_fail (SMARTHOST_IS_RELAY (self), NULL);
  return self->ca_file;
}

/**
 * smarthost_relay_set_ca_file: (set-property ca-file)
 * @self: a relay
 * @ca_file: (nullable) (type filename): an absolute path to a PEM file, or
 *   %NULL for the system's certificate authorities
 *
 * Sets the certificate authorities trusted for this relay.
 */
void
smarthost_relay_set_ca_file (SmarthostRelay *self,
                             const char     *ca_file)
{
  g_return_if_fail (SMARTHOST_IS_RELAY (self));
  relay_changed (self);
  if (_smarthost_set_str (&self->ca_file, ca_file))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CA_FILE]);
}

/**
 * smarthost_relay_get_username: (get-property username)
 * @self: a relay
 *
 * Gets the user name to authenticate with.
 *
 * Returns: (nullable): the user name to authenticate with
 */
const char *
smarthost_relay_get_username (SmarthostRelay *self)
{
  g_return_val_if_fail (SMARTHOST_IS_RELAY (self), NULL);
  return self->username;
}

/**
 * smarthost_relay_set_username: (set-property username)
 * @self: a relay
 * @username: (nullable): the user name, or %NULL for no authentication
 *
 * Sets the user name to authenticate with.
 */
void
smarthost_relay_set_username (SmarthostRelay *self,
                              const char     *username)
{
  g_return_if_fail (SMARTHOST_IS_RELAY (self));
  relay_changed (self);
  if (g_strcmp0 (self->username, username) == 0)
    return;
  shared_str_unref (self->username);
  self->username = shared_str_new (username);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_USERNAME]);
}

/**
 * smarthost_relay_get_password: (get-property password)
 * @self: a relay
 *
 * Returns the password. Handle it with care: never print or log it.
 *
 * Returns: (nullable): the password or API key
 */
const char *
smarthost_relay_get_password (SmarthostRelay *self)
{
  g_return_val_if_fail (SMARTHOST_IS_RELAY (self), NULL);
  return self->password;
}

/**
 * smarthost_relay_set_password: (set-property password)
 * @self: a relay
 * @password: (nullable): the password or API key, or %NULL for none
 *
 * Sets the password. The previous one is wiped from memory.
 */
void
smarthost_relay_set_password (SmarthostRelay *self,
                              const char     *password)
{
  g_return_if_fail (SMARTHOST_IS_RELAY (self));
  if (g_strcmp0 (self->password, password) == 0)
    return;
  relay_changed (self);
  shared_secret_unref (self->password);
  self->password = shared_str_new (password);
  self->password_set = FALSE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PASSWORD]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PASSWORD_SET]);
}

/**
 * smarthost_relay_get_password_set: (get-property password-set)
 * @self: a relay
 *
 * Gets whether the relay has a password, without revealing it.
 *
 * Returns: whether the relay has a password
 */
gboolean
smarthost_relay_get_password_set (SmarthostRelay *self)
{
  g_return_val_if_fail (SMARTHOST_IS_RELAY (self), FALSE);
  return self->password != NULL || self->password_set;
}

/* Set but not known: staging such a relay keeps the stored password. */
gboolean
_smarthost_relay_keeps_password (SmarthostRelay *self)
{
  return self->username != NULL && self->password == NULL && self->password_set;
}

/* For backends that know a password exists without revealing it. */
void
_smarthost_relay_mark_password_set (SmarthostRelay *self)
{
  relay_changed (self);
  self->password_set = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PASSWORD_SET]);
}

/**
 * smarthost_security_to_string:
 * @security: a security mode
 *
 * Gets the name of a security mode.
 *
 * Returns: the mode's name as the command line and JSON spell it: `none`,
 *   `starttls` or `tls`
 */
const char *
smarthost_security_to_string (SmarthostSecurity security)
{
  switch (security)
    {
    case SMARTHOST_SECURITY_NONE:
      return "none";
    case SMARTHOST_SECURITY_STARTTLS:
      return "starttls";
    case SMARTHOST_SECURITY_TLS:
      return "tls";
    default:
      return "invalid";
    }
}

/**
 * smarthost_security_from_string:
 * @text: `none`, `starttls` or `tls`
 * @security: (out): return location for the mode
 * @error: return location for a #GError
 *
 * Parses a security mode by name, as [func@Security.to_string] spells it.
 *
 * Returns: (skip): %TRUE on success; on failure @error is
 *   %SMARTHOST_ERROR_INVALID
 */
gboolean
smarthost_security_from_string (const char         *text,
                                SmarthostSecurity  *security,
                                GError            **error)
{
  g_return_val_if_fail (security != NULL, FALSE);

  for (SmarthostSecurity s = SMARTHOST_SECURITY_NONE; s <= SMARTHOST_SECURITY_TLS; s++)
    if (text != NULL && g_ascii_strcasecmp (text, smarthost_security_to_string (s)) == 0)
      {
        *security = s;
        return TRUE;
      }
  return _smarthost_set_invalid (error, "security", "must be none, starttls or tls");
}

/**
 * smarthost_security_get_default_port:
 * @security: a security mode
 *
 * Gets the usual port of a security mode, used when a relay sets none.
 *
 * Returns: the usual port of @security: 465 for implicit TLS, 587 otherwise
 */
guint
smarthost_security_get_default_port (SmarthostSecurity security)
{
  return security == SMARTHOST_SECURITY_TLS ? 465 : 587;
}

/**
 * smarthost_domain_normalize:
 * @domain: a mail domain, such as `example.com` or `bücher.example`
 * @error: return location for a #GError
 *
 * Checks that @domain is a domain name and returns it the way mail servers
 * store it: lower case, internationalized names in their ASCII (punycode)
 * form, no trailing dot.
 *
 * Returns: (transfer full): the normalized domain, or %NULL with @error set
 *   to %SMARTHOST_ERROR_INVALID
 */
/* Whether @domain is normalized already and passes every check of
 * smarthost_domain_normalize(), as the domains of a state usually are:
 * lower-case letters, digits, hyphens and dots alone, labels of 1 to 63
 * characters that neither start nor end with a hyphen, no "--" (no
 * punycode), at least two labels, 253 characters in all, and a last label
 * that starts with a letter, so that no resolver reads it as a number (an
 * IPv4 address in any form, a numeric top-level domain). */
static gboolean
is_normalized_domain (const char *domain)
{
  const char *label = domain, *p;

  for (p = domain; *p; p++)
    {
      if (*p == '.')
        {
          if (p == label || p - label > 63 || p[-1] == '-')
            return FALSE;
          label = p + 1;
        }
      else if (*p == '-')
        {
          if (p == label || p[1] == '-')
            return FALSE;
        }
      else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
        return FALSE;
    }
  return label != domain && p > label && p - label <= 63 && p[-1] != '-' && p - domain <= 253 &&
         *label >= 'a' && *label <= 'z';
}

char *
smarthost_domain_normalize (const char  *domain,
                            GError     **error)
{
  g_autofree char *ascii = NULL;
  gsize len;

  if (domain == NULL || *domain == '\0')
    return _smarthost_set_invalid (error, "domain", "is required"), NULL;
  if (is_normalized_domain (domain))
    return g_strdup (domain);
  if (!g_utf8_validate (domain, -1, NULL))
    return _smarthost_set_invalid (error, "domain", "must be valid UTF-8"), NULL;
  if (has_control_chars (domain))
    return _smarthost_set_invalid (error, "domain", "must not contain control characters or line breaks"), NULL;
  if (has_whitespace (domain))
    return _smarthost_set_invalid (error, "domain", "must not contain spaces"), NULL;
  if (domain[0] == '@')
    return _smarthost_set_invalid (error, "domain", "give the domain without '@', as in example.com"), NULL;
  if (check_unusual_address ("domain", domain, FALSE, error))
    return NULL;
  if (_smarthost_host_is_address (domain, NULL) || domain[0] == '[')
    return _smarthost_set_invalid (error, "domain", "must be a domain name, not an address"), NULL;

  ascii = is_plain_ascii_hostname (domain) ? g_strdup (domain) : g_hostname_to_ascii (domain);
  if (ascii == NULL)
    return _smarthost_set_invalid (error, "domain", "is not a valid domain name"), NULL;
  len = strlen (ascii);
  if (len > 1 && ascii[len - 1] == '.')
    ascii[len - 1] = '\0';
  /* "192.0.2.1." is an address too, once its root dot is gone. */
  if (_smarthost_host_is_address (ascii, NULL))
    return _smarthost_set_invalid (error, "domain", "must be a domain name, not an address"), NULL;
  if (has_numeric_last_label (ascii))
    return _smarthost_set_invalid (error, "domain", "is not a domain name: it ends with a number, and no "
                                                    "top-level domain is numeric"), NULL;
  if (!is_valid_hostname (ascii) || strchr (ascii, '_') != NULL)
    return _smarthost_set_invalid (error, "domain", "is not a valid domain name"), NULL;
  if (strchr (ascii, '.') == NULL)
    return _smarthost_set_invalid (error, "domain", "must be a fully qualified domain name, as in example.com"), NULL;
  return g_ascii_strdown (ascii, -1);
}
