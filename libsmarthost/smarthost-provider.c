/* smarthost-provider.c: presets for well-known relay services
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "smarthost-error.h"
#include "smarthost-private.h"
#include "smarthost-provider.h"
#include "smarthost-resources.h"

/**
 * SmarthostProvider:
 *
 * What libsmarthost knows of a relay service: its host (per region where
 * the service has regions), the port of each security mode it offers, the
 * fixed user name where there is one (SendGrid's `apikey`), the domain its
 * customers include in their SPF records, and the quirks users trip over.
 *
 * The presets are data, in one file shipped inside the library
 * (`providers.json`); [func@Provider.list] lists them and
 * [method@Provider.create_relay] turns one into a [class@Relay] to which
 * only the credentials remain to be added.
 */

struct _SmarthostProvider
{
  GObject parent_instance;

  char *id;
  char *name;
  char *host;
  GStrv regions;
  char *default_region;
  guint port[SMARTHOST_SECURITY_TLS + 1];
  char *username;
  char *spf_include;
  GStrv quirks;
};

G_DEFINE_FINAL_TYPE (SmarthostProvider, smarthost_provider, G_TYPE_OBJECT)

static void
smarthost_provider_finalize (GObject *object)
{
  SmarthostProvider *self = SMARTHOST_PROVIDER (object);

  g_free (self->id);
  g_free (self->name);
  g_free (self->host);
  g_strfreev (self->regions);
  g_free (self->default_region);
  g_free (self->username);
  g_free (self->spf_include);
  g_strfreev (self->quirks);
  G_OBJECT_CLASS (smarthost_provider_parent_class)->finalize (object);
}

static void
smarthost_provider_class_init (SmarthostProviderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = smarthost_provider_finalize;
}

static void
smarthost_provider_init (SmarthostProvider *self)
{
}

static GStrv
string_array (JsonObject *o,
              const char *member)
{
  GStrvBuilder *b = g_strv_builder_new ();
  GStrv result;

  if (json_object_has_member (o, member))
    {
      JsonArray *a = json_object_get_array_member (o, member);
      for (guint i = 0; a && i < json_array_get_length (a); i++)
        g_strv_builder_add (b, json_array_get_string_element (a, i));
    }
  result = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return result;
}

static const char *
string_member (JsonObject *o,
               const char *member)
{
  return json_object_has_member (o, member) ? json_object_get_string_member (o, member) : NULL;
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
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonArray *array;
      gsize len;
      const char *data = g_bytes_get_data (bytes, &len);

      if (!json_parser_load_from_data (parser, data, (gssize) len, NULL))
        g_error ("providers.json is broken");
      array = json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "providers");
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonObject *o = json_array_get_object_element (array, i);
          JsonObject *ports = json_object_get_object_member (o, "ports");
          SmarthostProvider *p = g_object_new (SMARTHOST_TYPE_PROVIDER, NULL);

          p->id = g_strdup (string_member (o, "id"));
          p->name = g_strdup (string_member (o, "name"));
          p->host = g_strdup (string_member (o, "host"));
          p->regions = string_array (o, "regions");
          p->default_region = g_strdup (string_member (o, "default_region"));
          p->username = g_strdup (string_member (o, "username"));
          p->spf_include = g_strdup (string_member (o, "spf_include"));
          p->quirks = string_array (o, "quirks");
          for (SmarthostSecurity s = SMARTHOST_SECURITY_NONE; s <= SMARTHOST_SECURITY_TLS; s++)
            if (ports && json_object_has_member (ports, smarthost_security_to_string (s)))
              p->port[s] = (guint) json_object_get_int_member (ports, smarthost_security_to_string (s));
          g_ptr_array_add (list, p);
        }
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
 * smarthost_provider_get_id:
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
 * smarthost_provider_get_name:
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
 * smarthost_provider_get_regions:
 * @self: a provider
 *
 * Lists the regions of a service whose host depends on the region, such as
 * Amazon SES.
 *
 * Returns: (array zero-terminated=1) (transfer none): the regions, empty
 *   for a service without regions
 */
const char * const *
smarthost_provider_get_regions (SmarthostProvider *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROVIDER (self), NULL);
  return (const char * const *) self->regions;
}

/**
 * smarthost_provider_get_host:
 * @self: a provider
 * @region: (nullable): a region, for a service with regions; %NULL for its
 *   default region
 * @error: return location for a #GError
 *
 * Gets the relay host of the service.
 *
 * Returns: (transfer full): the host name, or %NULL with @error set to
 *   %SMARTHOST_ERROR_INVALID for an unknown region or a region given to a
 *   service without regions
 */
char *
smarthost_provider_get_host (SmarthostProvider  *self,
                             const char         *region,
                             GError            **error)
{
  g_autoptr(GString) host = NULL;

  g_return_val_if_fail (SMARTHOST_IS_PROVIDER (self), NULL);

  if (self->regions[0] == NULL)
    {
      if (region != NULL)
        return _smarthost_set_invalid (error, "region", "this provider has no regions"), NULL;
      return g_strdup (self->host);
    }
  if (region == NULL)
    region = self->default_region;
  if (!g_strv_contains ((const char * const *) self->regions, region))
    {
      g_autofree char *known = g_strjoinv (", ", self->regions);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                   "region: unknown region of %s; known: %s", self->name, known);
      return NULL;
    }
  host = g_string_new (self->host);
  g_string_replace (host, "{region}", region, 0);
  return g_string_free (g_steal_pointer (&host), FALSE);
}

/**
 * smarthost_provider_get_port:
 * @self: a provider
 * @security: a security mode
 *
 * Gets the port the service offers for @security.
 *
 * Returns: the port, or 0 when the service does not offer @security
 */
guint
smarthost_provider_get_port (SmarthostProvider *self,
                             SmarthostSecurity  security)
{
  g_return_val_if_fail (SMARTHOST_IS_PROVIDER (self), 0);
  return security <= SMARTHOST_SECURITY_TLS ? self->port[security] : 0;
}

/**
 * smarthost_provider_get_username:
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
 * smarthost_provider_get_spf_include:
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
 * smarthost_provider_get_quirks:
 * @self: a provider
 *
 * Lists what users of this service trip over, one sentence each, for
 * showing as warnings when such a relay is set.
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
 * @region: (nullable): a region, or %NULL for the default one
 * @security: the security mode; the service's port for it is used
 * @error: return location for a #GError
 *
 * Makes a relay for the service: host, port and security, and the fixed
 * user name where there is one. Add the credentials, then configure it.
 *
 * Returns: (transfer full): a new relay, or %NULL with @error set to
 *   %SMARTHOST_ERROR_INVALID for an unknown region or a security mode the
 *   service does not offer
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

  host = smarthost_provider_get_host (self, region, error);
  if (host == NULL)
    return NULL;
  port = smarthost_provider_get_port (self, security);
  if (port == 0)
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                   "security: %s does not offer %s", self->name, smarthost_security_to_string (security));
      return NULL;
    }
  relay = smarthost_relay_new (host);
  smarthost_relay_set_security (relay, security);
  smarthost_relay_set_port (relay, port);
  smarthost_relay_set_username (relay, self->username);
  return relay;
}
