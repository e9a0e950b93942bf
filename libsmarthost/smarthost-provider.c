/* smarthost-provider.c: presets for well-known relay services
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-error.h"
#include "smarthost-private.h"
#include "smarthost-provider.h"
#include "smarthost-resources.h"
#include "smarthost-util-private.h"

/**
 * SmarthostProvider:
 *
 * What libsmarthost knows of a relay service: its host (per region where
 * the service has regions), the ports of each security mode it offers,
 * the fixed user name where there is one (SendGrid's `apikey`), the domain
 * its customers include in their SPF records, and the quirks users trip
 * over.
 *
 * The presets are data, in one file shipped inside the library
 * (`providers.json`); [func@Provider.list] lists them,
 * [method@Provider.create_relay] turns one into a [class@Relay] to which
 * only the credentials remain to be added, and
 * [func@Provider.find_for_relay] tells which preset a relay set by host
 * name uses.
 */

/* Implementation notes
 *
 * providers.json is ours and ships inside the library, so a preset that
 * does not parse is a bug in the library, not an input error: it aborts
 * with g_error() naming the preset and the member (test-provider checks
 * every preset, so such a bug never leaves the build). Unknown members are
 * refused too, so that a misspelt one cannot silently drop a fact;
 * "source" (where the facts come from) is documentation and is skipped.
 *
 * "ports" maps a security mode, as smarthost_security_to_string() spells
 * it, to the ports the service offers for it, the default first.
 *
 * A service with regions names them in its host as "{region}". Its
 * "regions" are the ones known when the file was written, for listing;
 * "region_pattern", where there is one, lets any region the service adds
 * later through, as long as the name is well formed. The pattern must only
 * match what is safe inside a host name: it is anchored, and matched with
 * G_REGEX_DOLLAR_ENDONLY so that a trailing newline does not slip through.
 */

#define N_SECURITY (SMARTHOST_SECURITY_TLS + 1)

struct _SmarthostProvider
{
  GObject parent_instance;

  char *id;
  char *name;
  char *host;
  GStrv regions;
  GRegex *region_pattern;   /* NULL: only the known regions */
  char *default_region;
  guint *ports[N_SECURITY];
  gsize n_ports[N_SECURITY];
  char *username;
  char *spf_include;
  GStrv quirks;
};

G_DEFINE_FINAL_TYPE (SmarthostProvider, smarthost_provider, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_NAME,
  PROP_REGIONS,
  PROP_DEFAULT_REGION,
  PROP_USERNAME,
  PROP_SPF_INCLUDE,
  PROP_QUIRKS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
smarthost_provider_finalize (GObject *object)
{
  SmarthostProvider *self = SMARTHOST_PROVIDER (object);

  g_free (self->id);
  g_free (self->name);
  g_free (self->host);
  g_strfreev (self->regions);
  g_clear_pointer (&self->region_pattern, g_regex_unref);
  g_free (self->default_region);
  for (guint s = 0; s < N_SECURITY; s++)
    g_free (self->ports[s]);
  g_free (self->username);
  g_free (self->spf_include);
  g_strfreev (self->quirks);
  G_OBJECT_CLASS (smarthost_provider_parent_class)->finalize (object);
}

static void
smarthost_provider_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  SmarthostProvider *self = SMARTHOST_PROVIDER (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, smarthost_provider_get_id (self));
      break;
    case PROP_NAME:
      g_value_set_string (value, smarthost_provider_get_name (self));
      break;
    case PROP_REGIONS:
      g_value_set_boxed (value, (gpointer) smarthost_provider_get_regions (self));
      break;
    case PROP_DEFAULT_REGION:
      g_value_set_string (value, smarthost_provider_get_default_region (self));
      break;
    case PROP_USERNAME:
      g_value_set_string (value, smarthost_provider_get_username (self));
      break;
    case PROP_SPF_INCLUDE:
      g_value_set_string (value, smarthost_provider_get_spf_include (self));
      break;
    case PROP_QUIRKS:
      g_value_set_boxed (value, (gpointer) smarthost_provider_get_quirks (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_provider_class_init (SmarthostProviderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = smarthost_provider_finalize;
  object_class->get_property = smarthost_provider_get_property;

  /**
   * SmarthostProvider:id: (attributes org.gtk.Property.get=smarthost_provider_get_id)
   *
   * The provider's identifier, as [func@Provider.lookup] takes it, such as
   * `sendgrid`.
   */
  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProvider:name: (attributes org.gtk.Property.get=smarthost_provider_get_name)
   *
   * The provider's name for people, such as `Amazon SES`.
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProvider:regions: (attributes org.gtk.Property.get=smarthost_provider_get_regions)
   *
   * The known regions of a service whose host depends on the region;
   * empty for a service without regions.
   */
  properties[PROP_REGIONS] =
    g_param_spec_boxed ("regions", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProvider:default-region: (attributes org.gtk.Property.get=smarthost_provider_get_default_region)
   *
   * The region used when none is given, or %NULL for a service without
   * regions.
   */
  properties[PROP_DEFAULT_REGION] =
    g_param_spec_string ("default-region", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProvider:username: (attributes org.gtk.Property.get=smarthost_provider_get_username)
   *
   * The fixed user name of the service, such as SendGrid's `apikey`, or
   * %NULL when every account has its own.
   */
  properties[PROP_USERNAME] =
    g_param_spec_string ("username", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProvider:spf-include: (attributes org.gtk.Property.get=smarthost_provider_get_spf_include)
   *
   * The domain the service's customers include in their SPF records.
   */
  properties[PROP_SPF_INCLUDE] =
    g_param_spec_string ("spf-include", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProvider:quirks: (attributes org.gtk.Property.get=smarthost_provider_get_quirks)
   *
   * What users of this service trip over, one sentence each.
   */
  properties[PROP_QUIRKS] =
    g_param_spec_boxed ("quirks", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
smarthost_provider_init (SmarthostProvider *self)
{
}

static gboolean
has_regions (SmarthostProvider *self)
{
  return strstr (self->host, "{region}") != NULL;
}

/* The member @name of @o if it is there, checked to be of @type. */
static json_t *
member (const char *where,
        json_t     *o,
        const char *name,
        json_type   type)
{
  json_t *node = json_object_get (o, name);

  if (node != NULL && json_typeof (node) != type)
    g_error ("providers.json: %s: %s has the wrong type", where, name);
  return node;
}

static char *
string_member (const char *where,
               json_t     *o,
               const char *name,
               gboolean    required)
{
  json_t *node = member (where, o, name, JSON_STRING);

  if (node == NULL)
    {
      if (required)
        g_error ("providers.json: %s: %s is missing", where, name);
      return NULL;
    }
  if (*json_string_value (node) == '\0')
    g_error ("providers.json: %s: %s must be a non-empty string", where, name);
  return g_strdup (json_string_value (node));
}

static GStrv
string_array (const char *where,
              json_t     *o,
              const char *name)
{
  g_autoptr(GStrvBuilder) b = g_strv_builder_new ();
  json_t *a = member (where, o, name, JSON_ARRAY);
  json_t *e;
  gsize i;

  json_array_foreach (a, i, e)
    {
      if (!json_is_string (e))
        g_error ("providers.json: %s: %s must hold strings", where, name);
      g_strv_builder_add (b, json_string_value (e));
    }
  return g_strv_builder_end (b);
}

/* Whether @region, in lower case, is one of the service's regions: a known
 * one, or one its pattern lets through. */
static gboolean
region_is_valid (SmarthostProvider *self,
                 const char        *region)
{
  /* Letters, digits and dashes only: it goes into a host name, and
   * nothing else (no invalid UTF-8 either) reaches the pattern. */
  if (*region == '\0')
    return FALSE;
  for (const char *c = region; *c; c++)
    if (!g_ascii_isalnum (*c) && *c != '-')
      return FALSE;
  if (g_strv_contains ((const char * const *) self->regions, region))
    return TRUE;
  return self->region_pattern != NULL && g_regex_match (self->region_pattern, region, 0, NULL);
}

static void
parse_ports (SmarthostProvider *p,
             json_t            *o)
{
  json_t *node = member (p->id, o, "ports", JSON_OBJECT);
  const char *mode;
  json_t *value;

  if (node == NULL)
    g_error ("providers.json: %s: ports is missing", p->id);
  json_object_foreach (node, mode, value)
    {
      SmarthostSecurity s;
      guint n;

      if (!smarthost_security_from_string (mode, &s, NULL))
        g_error ("providers.json: %s: ports: unknown security mode %s", p->id, mode);
      if (!json_is_array (value) || (n = json_array_size (value)) == 0)
        g_error ("providers.json: %s: ports: %s must be a non-empty list of ports", p->id, mode);
      p->ports[s] = g_new (guint, n);
      p->n_ports[s] = n;
      for (guint i = 0; i < n; i++)
        {
          json_t *e = json_array_get (value, i);
          json_int_t port;

          if (!json_is_integer (e) || (port = json_integer_value (e)) < 1 || port > 65535)
            g_error ("providers.json: %s: ports: %s must hold ports from 1 to 65535", p->id, mode);
          p->ports[s][i] = (guint) port;
        }
    }
}

static SmarthostProvider *
parse_preset (json_t *o,
              guint   index)
{
  static const char * const members[] = {
    "id", "name", "host", "regions", "region_pattern", "default_region",
    "ports", "username", "spf_include", "quirks", "source", NULL
  };
  SmarthostProvider *p = g_object_new (SMARTHOST_TYPE_PROVIDER, NULL);
  g_autofree char *where = g_strdup_printf ("preset %u", index);
  g_autofree char *pattern = NULL;
  const char *name;
  json_t *value;

  if (!json_is_object (o))
    g_error ("providers.json: %s is not an object", where);
  p->id = string_member (where, o, "id", TRUE);
  json_object_foreach (o, name, value)
    if (!g_strv_contains (members, name))
      g_error ("providers.json: %s: unknown member %s", p->id, name);

  p->name = string_member (p->id, o, "name", TRUE);
  p->host = string_member (p->id, o, "host", TRUE);
  p->regions = string_array (p->id, o, "regions");
  p->default_region = string_member (p->id, o, "default_region", FALSE);
  p->username = string_member (p->id, o, "username", FALSE);
  p->spf_include = string_member (p->id, o, "spf_include", TRUE);
  p->quirks = string_array (p->id, o, "quirks");
  pattern = string_member (p->id, o, "region_pattern", FALSE);
  if (pattern != NULL)
    {
      g_autoptr(GError) error = NULL;

      p->region_pattern = g_regex_new (pattern, G_REGEX_DOLLAR_ENDONLY, 0, &error);
      if (p->region_pattern == NULL)
        g_error ("providers.json: %s: region_pattern: %s", p->id, error->message);
    }
  if (has_regions (p) != (p->default_region != NULL) ||
      (has_regions (p) && p->regions[0] == NULL && p->region_pattern == NULL) ||
      (!has_regions (p) && (p->regions[0] != NULL || p->region_pattern != NULL)))
    g_error ("providers.json: %s: a host with {region} needs default_region and regions; "
             "one without has neither", p->id);
  if (p->default_region != NULL && !region_is_valid (p, p->default_region))
    g_error ("providers.json: %s: default_region is not one of its regions", p->id);
  for (guint i = 0; p->regions[i]; i++)
    for (const char *c = p->regions[i]; *c; c++)
      if (!g_ascii_islower (*c) && !g_ascii_isdigit (*c) && *c != '-')
        g_error ("providers.json: %s: region %s must be lower case letters, digits and dashes",
                 p->id, p->regions[i]);
  parse_ports (p, o);
  return p;
}

/* The presets, parsed once from the resource; never freed. */
static GPtrArray *
presets (void)
{
  static GPtrArray *providers;

  if (g_once_init_enter (&providers))
    {
      GPtrArray *list = g_ptr_array_new_with_free_func (g_object_unref);
      g_autoptr(GBytes) bytes = g_resource_lookup_data (_smarthost_get_resource (),
                                                        "/org/libsmarthost/providers.json",
                                                        G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(json_t) root = NULL;
      json_t *array;
      gsize len;
      const char *data = g_bytes_get_data (bytes, &len);

      /* The library's own data, read as strictly as anything else. */
      root = _smarthost_json_parse ("providers.json", data, (gssize) len, SMARTHOST_JSON_PARSE_OBJECT, &error);
      if (root == NULL)
        g_error ("providers.json is broken: %s", error->message);
      if ((array = member ("root", root, "providers", JSON_ARRAY)) == NULL)
        g_error ("providers.json: no providers list");
      for (guint i = 0; i < json_array_size (array); i++)
        g_ptr_array_add (list, parse_preset (json_array_get (array, i), i));
      g_once_init_leave (&providers, list);
    }
  return providers;
}

/**
 * smarthost_provider_list:
 *
 * Lists the relay services libsmarthost has presets for, such as
 * `sendgrid`, `mailgun`, `ses` or `microsoft365`.
 *
 * Returns: (transfer container) (element-type SmarthostProvider): the
 *   providers, in a stable order
 */
GPtrArray *
smarthost_provider_list (void)
{
  GPtrArray *all = presets ();
  GPtrArray *copy = g_ptr_array_new_full (all->len, g_object_unref);

  for (guint i = 0; i < all->len; i++)
    g_ptr_array_add (copy, g_object_ref (g_ptr_array_index (all, i)));
  return copy;
}

/**
 * smarthost_provider_lookup:
 * @id: a provider's identifier, such as `sendgrid`
 * @error: return location for a #GError
 *
 * Finds a provider by its identifier, ignoring case.
 *
 * Returns: (transfer full): the provider, or %NULL with @error set to
 *   %SMARTHOST_ERROR_INVALID naming the known ones
 */
SmarthostProvider *
smarthost_provider_lookup (const char  *id,
                           GError     **error)
{
  GPtrArray *all = presets ();
  g_autoptr(GString) known = g_string_new (NULL);

  for (guint i = 0; i < all->len; i++)
    {
      SmarthostProvider *p = g_ptr_array_index (all, i);
      if (id != NULL && g_ascii_strcasecmp (p->id, id) == 0)
        return g_object_ref (p);
      g_string_append_printf (known, "%s%s", i ? ", " : "", p->id);
    }
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
               "provider: unknown provider; known: %s", known->str);
  return NULL;
}

/**
 * smarthost_provider_get_id: (get-property id)
 * @self: a provider
 *
 * Gets the provider's identifier, as [func@Provider.lookup] takes it.
 *
 * Returns: the identifier, such as `sendgrid`
 */
const char *
smarthost_provider_get_id (SmarthostProvider *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROVIDER (self), NULL);
  return self->id;
}

/**
 * smarthost_provider_get_name: (get-property name)
 * @self: a provider
 *
 * Gets the provider's name for people.
 *
 * Returns: the name, such as `Amazon SES`
 */
const char *
smarthost_provider_get_name (SmarthostProvider *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROVIDER (self), NULL);
  return self->name;
}

/**
 * smarthost_provider_get_regions: (get-property regions)
 * @self: a provider
 *
 * Lists the known regions of a service whose host depends on the region,
 * such as Amazon SES, for showing to people. A service may accept more:
 * [method@Provider.get_host] also takes a region that is not listed as
 * long as its name is well formed for the service (for Amazon SES, any
 * AWS region name such as `ap-southeast-5`), so that a region the service
 * opens later works without a new libsmarthost.
 *
 * Returns: (array zero-terminated=1) (transfer none): the known regions,
 *   empty for a service without regions
 */
const char * const *
smarthost_provider_get_regions (SmarthostProvider *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROVIDER (self), NULL);
  return (const char * const *) self->regions;
}

/**
 * smarthost_provider_get_default_region: (get-property default-region)
 * @self: a provider
 *
 * Gets the region [method@Provider.get_host] and
 * [method@Provider.create_relay] use when they are given none.
 *
 * Returns: (nullable): the default region, such as `us-east-1` for Amazon
 *   SES, or %NULL for a service without regions
 */
const char *
smarthost_provider_get_default_region (SmarthostProvider *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROVIDER (self), NULL);
  return self->default_region;
}

/**
 * smarthost_provider_get_host:
 * @self: a provider
 * @region: (nullable): a region, for a service with regions; %NULL for its
 *   default region
 * @error: return location for a #GError
 *
 * Gets the relay host of the service. For a service with regions, @region
 * may be one of [method@Provider.get_regions] or any other well-formed
 * region name of the service; case does not matter.
 *
 * Returns: (transfer full): the host name, or %NULL with @error set to
 *   %SMARTHOST_ERROR_INVALID for a malformed or unknown region, or a
 *   region given to a service without regions
 */
char *
smarthost_provider_get_host (SmarthostProvider  *self,
                             const char         *region,
                             GError            **error)
{
  g_autoptr(GString) host = NULL;
  g_autofree char *lower = NULL;

  g_return_val_if_fail (SMARTHOST_IS_PROVIDER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!has_regions (self))
    {
      if (region != NULL)
        {
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                       "region: %s has no regions; leave the region unset", self->name);
          return NULL;
        }
      return g_strdup (self->host);
    }

  lower = g_ascii_strdown (region ? region : self->default_region, -1);
  if (!region_is_valid (self, lower))
    {
      g_autofree char *known = g_strjoinv (", ", self->regions);
      g_autofree char *shown = _smarthost_quote (region, -1);

      if (self->region_pattern != NULL)
        g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                     "region: %s is not a well-formed region name of %s: give one such as %s (known: %s)",
                     shown, self->name, self->default_region, known);
      else
        g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                     "region: %s is not a region of %s; known: %s", shown, self->name, known);
      return NULL;
    }
  host = g_string_new (self->host);
  g_string_replace (host, "{region}", lower, 0);
  return g_string_free (g_steal_pointer (&host), FALSE);
}

/**
 * smarthost_provider_get_port:
 * @self: a provider
 * @security: a security mode
 *
 * Gets the default port the service offers for @security: the first of
 * [method@Provider.get_ports].
 *
 * Returns: the port, or 0 when the service does not offer @security
 */
guint
smarthost_provider_get_port (SmarthostProvider *self,
                             SmarthostSecurity  security)
{
  g_return_val_if_fail (SMARTHOST_IS_PROVIDER (self), 0);
  return (guint) security < N_SECURITY && self->n_ports[security] ? self->ports[security][0] : 0;
}

/**
 * smarthost_provider_get_ports:
 * @self: a provider
 * @security: a security mode
 * @n_ports: (out) (optional): return location for the number of ports
 *
 * Lists every port the service offers for @security, the default one
 * first and the others in the order the service recommends them, for
 * networks that block the default (port 587 or 25, for instance). Each
 * port of a mode speaks that mode: the STARTTLS ports and the implicit
 * TLS ports are never mixed.
 *
 * Returns: (array length=n_ports) (transfer none): the ports; empty when
 *   the service does not offer @security
 */
const guint *
smarthost_provider_get_ports (SmarthostProvider *self,
                              SmarthostSecurity  security,
                              gsize             *n_ports)
{
  static const guint none[1] = { 0 };

  if (n_ports != NULL)
    *n_ports = 0;
  g_return_val_if_fail (SMARTHOST_IS_PROVIDER (self), none);

  if ((guint) security >= N_SECURITY || self->n_ports[security] == 0)
    return none;
  if (n_ports != NULL)
    *n_ports = self->n_ports[security];
  return self->ports[security];
}

/**
 * smarthost_provider_get_username: (get-property username)
 * @self: a provider
 *
 * Gets the fixed user name of the service, where there is one.
 *
 * Returns: (nullable): the user name, such as SendGrid's `apikey`, or %NULL
 *   when every account has its own
 */
const char *
smarthost_provider_get_username (SmarthostProvider *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROVIDER (self), NULL);
  return self->username;
}

/**
 * smarthost_provider_get_spf_include: (get-property spf-include)
 * @self: a provider
 *
 * Gets the domain the service's customers include in their SPF records;
 * see [func@spf_merge].
 *
 * Returns: the SPF include domain, such as `sendgrid.net`
 */
const char *
smarthost_provider_get_spf_include (SmarthostProvider *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROVIDER (self), NULL);
  return self->spf_include;
}

/**
 * smarthost_provider_get_quirks: (get-property quirks)
 * @self: a provider
 *
 * Lists what users of this service trip over, one sentence each, for
 * showing as warnings when such a relay is set (see
 * [func@Provider.find_for_relay] for a relay set by host name).
 *
 * Returns: (array zero-terminated=1) (transfer none): the quirks
 */
const char * const *
smarthost_provider_get_quirks (SmarthostProvider *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROVIDER (self), NULL);
  return (const char * const *) self->quirks;
}

/**
 * smarthost_provider_create_relay:
 * @self: a provider
 * @region: (nullable): a region, or %NULL for the default one; see
 *   [method@Provider.get_host]
 * @security: the security mode; the service's default port for it is used
 * @error: return location for a #GError
 *
 * Makes a relay for the service: host, port and security, and the fixed
 * user name where there is one. Add the credentials, then configure it.
 *
 * Returns: (transfer full): a new relay, or %NULL with @error set to
 *   %SMARTHOST_ERROR_INVALID for a malformed or unknown region or a
 *   security mode the service does not offer
 */
SmarthostRelay *
smarthost_provider_create_relay (SmarthostProvider  *self,
                                 const char         *region,
                                 SmarthostSecurity   security,
                                 GError            **error)
{
  g_autofree char *host = NULL;
  SmarthostRelay *relay;
  guint port;

  g_return_val_if_fail (SMARTHOST_IS_PROVIDER (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  host = smarthost_provider_get_host (self, region, error);
  if (host == NULL)
    return NULL;
  port = smarthost_provider_get_port (self, security);
  if (port == 0)
    {
      g_autoptr(GString) offered = g_string_new (NULL);

      for (guint s = 0; s < N_SECURITY; s++)
        if (self->n_ports[s])
          g_string_append_printf (offered, "%s%s", offered->len ? " or " : "",
                                  smarthost_security_to_string ((SmarthostSecurity) s));
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                   "security: %s does not offer %s; choose %s", self->name,
                   smarthost_security_to_string (security), offered->str);
      return NULL;
    }
  relay = smarthost_relay_new (host);
  smarthost_relay_set_security (relay, security);
  smarthost_relay_set_port (relay, port);
  smarthost_relay_set_username (relay, self->username);
  return relay;
}

/* Whether @host (@len bytes of it) is @self's host, for some region of it,
 * which is returned in @region. */
static gboolean
host_matches (SmarthostProvider  *self,
              const char         *host,
              gsize               len,
              char              **region)
{
  const char *placeholder = strstr (self->host, "{region}");
  g_autofree char *candidate = NULL;
  gsize prefix, suffix;

  *region = NULL;
  if (placeholder == NULL)
    return len == strlen (self->host) && g_ascii_strncasecmp (host, self->host, len) == 0;

  prefix = (gsize) (placeholder - self->host);
  suffix = strlen (placeholder + strlen ("{region}"));
  if (len <= prefix + suffix ||
      g_ascii_strncasecmp (host, self->host, prefix) != 0 ||
      g_ascii_strncasecmp (host + len - suffix, placeholder + strlen ("{region}"), suffix) != 0)
    return FALSE;
  candidate = g_ascii_strdown (host + prefix, (gssize) (len - prefix - suffix));
  if (!region_is_valid (self, candidate))
    return FALSE;
  *region = g_steal_pointer (&candidate);
  return TRUE;
}

/**
 * smarthost_provider_find_for_relay:
 * @relay: a relay
 * @region: (out) (optional) (nullable) (transfer full): return location
 *   for the region the relay's host is in, or %NULL; set to %NULL for a
 *   service without regions
 *
 * Finds the preset whose host is @relay's host, ignoring case and a
 * trailing dot: for a service with regions, in any of its regions (a
 * known one or any well-formed name, as [method@Provider.get_host] takes
 * it). This tells which service a relay set by host name alone uses, so
 * that its quirks can be shown and its SPF include found; only the host is
 * compared, not the port or the security mode.
 *
 * Returns: (transfer full) (nullable): the provider, or %NULL when the
 *   relay's host is no preset's
 */
SmarthostProvider *
smarthost_provider_find_for_relay (SmarthostRelay  *relay,
                                   char           **region)
{
  GPtrArray *all;
  const char *host;
  gsize len;

  if (region != NULL)
    *region = NULL;
  g_return_val_if_fail (SMARTHOST_IS_RELAY (relay), NULL);

  host = smarthost_relay_get_host (relay);
  if (host == NULL)
    return NULL;
  len = strlen (host);
  if (len > 1 && host[len - 1] == '.')
    len--;

  all = presets ();
  for (guint i = 0; i < all->len; i++)
    {
      SmarthostProvider *p = g_ptr_array_index (all, i);
      g_autofree char *found = NULL;

      if (host_matches (p, host, len, &found))
        {
          if (region != NULL)
            *region = g_steal_pointer (&found);
          return g_object_ref (p);
        }
    }
  return NULL;
}

/**
 * smarthost_provider_to_json:
 * @self: a provider
 *
 * Describes the provider in JSON, as `smarthostctl providers --json` lists
 * them: an object with `id`, `name`, `host` (of the default region),
 * `ports` (each security mode that has any, with its ports, the default
 * first), `username` (or null), `spf_include`, `default_region` (or null),
 * `regions` and `quirks`.
 *
 * Returns: (transfer full): a JSON object, pretty-printed
 */
char *
smarthost_provider_to_json (SmarthostProvider *self)
{
  g_autoptr(json_t) root = json_object ();
  g_autofree char *host = NULL;
  json_t *ports_object;

  g_return_val_if_fail (SMARTHOST_IS_PROVIDER (self), NULL);

  host = smarthost_provider_get_host (self, NULL, NULL);
  json_object_set_new (root, "id", _smarthost_json_string (smarthost_provider_get_id (self)));
  json_object_set_new (root, "name", _smarthost_json_string (smarthost_provider_get_name (self)));
  json_object_set_new (root, "host", _smarthost_json_string (host));
  json_object_set_new (root, "ports", ports_object = json_object ());
  for (SmarthostSecurity sec = SMARTHOST_SECURITY_NONE; sec <= SMARTHOST_SECURITY_TLS; sec++)
    {
      gsize n = 0;
      const guint *ports = smarthost_provider_get_ports (self, sec, &n);
      json_t *list;

      if (n == 0)
        continue;
      json_object_set_new (ports_object, smarthost_security_to_string (sec), list = json_array ());
      for (gsize j = 0; j < n; j++)
        json_array_append_new (list, json_integer (ports[j]));
    }
  json_object_set_new (root, "username", _smarthost_json_string (smarthost_provider_get_username (self)));
  json_object_set_new (root, "spf_include", _smarthost_json_string (smarthost_provider_get_spf_include (self)));
  json_object_set_new (root, "default_region", _smarthost_json_string (smarthost_provider_get_default_region (self)));
  json_object_set_new (root, "regions", _smarthost_json_strv (smarthost_provider_get_regions (self)));
  json_object_set_new (root, "quirks", _smarthost_json_strv (smarthost_provider_get_quirks (self)));
  return _smarthost_json_to_data (root, NULL);
}

/**
 * smarthost_provider_quirks_for_state:
 * @state: a state
 *
 * Collects what users of the relay services that @state uses trip over:
 * the quirks of each [class@Provider] whose relay @state holds (the
 * server's first, then the domains', in order), each service once, as
 * "NAME: QUIRK". Front ends show them as warnings when they set a state.
 *
 * Returns: (transfer full) (array zero-terminated=1): the quirks, possibly
 *   none
 */
char **
smarthost_provider_quirks_for_state (SmarthostState *state)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GHashTable) hosts = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) relays = g_ptr_array_new ();
  g_auto(GStrv) domains = NULL;
  SmarthostRelay *server;

  g_return_val_if_fail (SMARTHOST_IS_STATE (state), NULL);

  /* One relay of each host: looking up the service of each of 100,000
   * relays that use a few hosts would be most of the time. */
  server = smarthost_state_get_server (state);
  if (server != NULL)
    {
      g_hash_table_add (hosts, (gpointer) smarthost_relay_get_host (server));
      g_ptr_array_add (relays, server);
    }
  domains = smarthost_state_list_domains (state);
  for (guint i = 0; domains[i]; i++)
    {
      SmarthostRelay *relay = smarthost_state_get_domain (state, domains[i]);

      if (relay != NULL && g_hash_table_add (hosts, (gpointer) smarthost_relay_get_host (relay)))
        g_ptr_array_add (relays, relay);
    }

  for (guint r = 0; r < relays->len; r++)
    {
      g_autoptr(SmarthostProvider) provider = smarthost_provider_find_for_relay (g_ptr_array_index (relays, r), NULL);
      const char * const *quirks;

      if (provider == NULL || !g_hash_table_add (seen, (gpointer) smarthost_provider_get_id (provider)))
        continue;
      quirks = smarthost_provider_get_quirks (provider);
      for (guint i = 0; quirks != NULL && quirks[i]; i++)
        {
          g_autofree char *quirk = g_strdup_printf ("%s: %s", smarthost_provider_get_name (provider), quirks[i]);
          g_strv_builder_add (builder, quirk);
        }
    }
  return g_strv_builder_end (builder);
}
