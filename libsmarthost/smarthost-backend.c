/* smarthost-backend.c: the interface every mail-server backend implements
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"


#include "smarthost-backend.h"
#include "smarthost-backend-private.h"
#include "smarthost-error.h"
#include "smarthost-private.h"
#include "smarthost-transaction.h"
#include "smarthost-change-private.h"
#include "smarthost-util-private.h"
#include "smarthost-platform-private.h"

/**
 * SmarthostBackend:
 *
 * A mail server whose outbound smarthosts libsmarthost configures: Postfix,
 * MailEnable or SmarterMail.
 *
 * A backend reads the server-wide relay ([method@Backend.get_server]) and
 * the relays of sender domains ([method@Backend.get_domain],
 * [method@Backend.list_domains]), and changes them through a
 * [class@Transaction] ([method@Backend.begin]) that is previewed as a diff
 * and committed all-or-nothing. [method@Backend.set_server] and
 * [method@Backend.set_domain] are one-change transactions.
 *
 * Every method that touches the disk, the network or runs a program has an
 * async form for main-loop programs. Backends register themselves on the
 * [const@BACKEND_EXTENSION_POINT_NAME] extension point; create one by name
 * with [func@Backend.new_for_name].
 *
 * What a backend cannot do, [method@Backend.get_capabilities] says; asking
 * for it fails with %SMARTHOST_ERROR_NOT_SUPPORTED.
 */

/* The extension point exists as soon as the interface does: a backend
 * written outside the library implements it from its type's definition,
 * as the built-in ones do, with public API only. */
G_DEFINE_INTERFACE_WITH_CODE (SmarthostBackend, smarthost_backend, G_TYPE_OBJECT,
                              g_io_extension_point_set_required_type (
                                g_io_extension_point_register (SMARTHOST_BACKEND_EXTENSION_POINT_NAME),
                                g_define_type_id))

static void
get_server_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  GError *error = NULL;
  SmarthostRelay *relay;

  relay = smarthost_backend_get_server (source_object, cancellable, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, relay, g_object_unref);
}

static void
real_get_server_async (SmarthostBackend    *self,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, real_get_server_async);
  g_task_run_in_thread (task, get_server_thread);
}

static SmarthostRelay *
real_get_server_finish (SmarthostBackend  *self,
                        GAsyncResult      *result,
                        GError           **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
get_domain_thread (GTask        *task,
                   gpointer      source_object,
                   gpointer      task_data,
                   GCancellable *cancellable)
{
  GError *error = NULL;
  SmarthostRelay *relay;

  relay = smarthost_backend_get_domain (source_object, task_data, cancellable, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, relay, g_object_unref);
}

static void
real_get_domain_async (SmarthostBackend    *self,
                       const char          *domain,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, real_get_domain_async);
  g_task_set_task_data (task, g_strdup (domain), g_free);
  g_task_run_in_thread (task, get_domain_thread);
}

static SmarthostRelay *
real_get_domain_finish (SmarthostBackend  *self,
                        GAsyncResult      *result,
                        GError           **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
list_domains_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  GError *error = NULL;
  char **domains;

  domains = smarthost_backend_list_domains (source_object, cancellable, &error);
  if (domains == NULL && error == NULL)
    domains = g_new0 (char *, 1);
  if (domains == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, domains, (GDestroyNotify) g_strfreev);
}

static void
real_list_domains_async (SmarthostBackend    *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, real_list_domains_async);
  g_task_run_in_thread (task, list_domains_thread);
}

static char **
real_list_domains_finish (SmarthostBackend  *self,
                          GAsyncResult      *result,
                          GError           **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
smarthost_backend_default_init (SmarthostBackendInterface *iface)
{
  iface->get_server_async = real_get_server_async;
  iface->get_server_finish = real_get_server_finish;
  iface->get_domain_async = real_get_domain_async;
  iface->get_domain_finish = real_get_domain_finish;
  iface->list_domains_async = real_list_domains_async;
  iface->list_domains_finish = real_list_domains_finish;
}

/* Registers the extension point (the interface's type does). */
void
_smarthost_backend_ensure_extension_point (void)
{
  g_type_ensure (SMARTHOST_TYPE_BACKEND);
}

/**
 * smarthost_backend_get_name:
 * @self: a backend
 *
 * Gets the backend's name, such as `postfix`.
 *
 * Returns: the backend's name, as [func@Backend.new_for_name] takes it
 */
const char *
smarthost_backend_get_name (SmarthostBackend *self)
{
  SmarthostBackendInterface *iface;

  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), NULL);
  iface = SMARTHOST_BACKEND_GET_IFACE (self);
  return iface->get_name ? iface->get_name (self) : G_OBJECT_TYPE_NAME (self);
}

/**
 * smarthost_backend_list_settings: (virtual list_settings)
 * @self: a backend
 *
 * Lists the settings the backend is constructed with, such as the Postfix
 * backend's `config-directory`. Each is the name of one of the backend's
 * properties; [func@Backend.new_for_name_with_settings] sets them from
 * text, and [func@Backend.list_settings_for_name] lists them without a
 * backend at hand.
 *
 * Returns: (transfer container) (element-type SmarthostBackendSetting): the
 *   settings, possibly none
 */
GPtrArray *
smarthost_backend_list_settings (SmarthostBackend *self)
{
  SmarthostBackendInterface *iface;
  GPtrArray *settings = NULL;

  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), NULL);
  iface = SMARTHOST_BACKEND_GET_IFACE (self);
  if (iface->list_settings)
    settings = iface->list_settings (self);
  return settings ? settings : g_ptr_array_new_with_free_func (g_object_unref);
}

/* A backend missing a required method fails cleanly instead of crashing. */
gboolean
_smarthost_backend_missing (SmarthostBackend  *self,
                            gconstpointer      vfunc,
                            const char        *name,
                            GError           **error)
{
  if (vfunc != NULL)
    return FALSE;
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED,
               "the %s backend does not implement %s", smarthost_backend_get_name (self), name);
  return TRUE;
}

/**
 * smarthost_backend_get_capabilities:
 * @self: a backend
 *
 * Says what the backend can configure. This touches nothing.
 *
 * Returns: the backend's capabilities
 */
SmarthostCapabilities
smarthost_backend_get_capabilities (SmarthostBackend *self)
{
  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), SMARTHOST_CAPABILITY_NONE);
  if (SMARTHOST_BACKEND_GET_IFACE (self)->get_capabilities == NULL)
    return SMARTHOST_CAPABILITY_NONE;
  return SMARTHOST_BACKEND_GET_IFACE (self)->get_capabilities (self);
}

static GMutex reasons_lock;
static GHashTable *reasons;   /* "TYPE:FLAG" → why the type lacks the flag */

void
_smarthost_backend_set_unsupported_reason (GType                  backend_type,
                                           SmarthostCapabilities  capability,
                                           const char            *reason)
{
  g_mutex_lock (&reasons_lock);
  if (reasons == NULL)
    reasons = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_replace (reasons, g_strdup_printf ("%" G_GSIZE_FORMAT ":%u", (gsize) backend_type, capability),
                        (gpointer) reason);
  g_mutex_unlock (&reasons_lock);
}

static gboolean
not_supported_full (SmarthostBackend      *self,
                    GError               **error,
                    SmarthostCapabilities  capability,
                    const char            *what)
{
  g_autofree char *key = g_strdup_printf ("%" G_GSIZE_FORMAT ":%u", (gsize) G_OBJECT_TYPE (self), capability);
  const char *reason;

  g_mutex_lock (&reasons_lock);
  reason = reasons ? g_hash_table_lookup (reasons, key) : NULL;
  g_mutex_unlock (&reasons_lock);
  g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED,
               "the %s backend does not support %s%s%s", smarthost_backend_get_name (self), what,
               reason ? ": " : "", reason ? reason : "");
  return FALSE;
}

static gboolean
not_supported (SmarthostBackend  *self,
               GError           **error,
               const char        *what)
{
  return not_supported_full (self, error, 0, what);
}

/* Checks a relay against the capabilities; @for_domain tells which role it
 * is meant for. */
gboolean
_smarthost_backend_check_relay (SmarthostBackend  *self,
                                SmarthostRelay    *relay,
                                gboolean           for_domain,
                                GError           **error)
{
  SmarthostCapabilities caps = smarthost_backend_get_capabilities (self);

  if (!(caps & (for_domain ? SMARTHOST_CAPABILITY_DOMAIN_RELAY : SMARTHOST_CAPABILITY_SERVER_RELAY)))
    return not_supported_full (self, error,
                               for_domain ? SMARTHOST_CAPABILITY_DOMAIN_RELAY : SMARTHOST_CAPABILITY_SERVER_RELAY,
                               for_domain ? "per-domain smarthosts" : "a server-wide smarthost");
  if (relay == NULL)
    return TRUE;
  /* A relay whose password is set but not given keeps the stored one. */
  if (!_smarthost_relay_check (relay, TRUE, error))
    return FALSE;
  switch (smarthost_relay_get_security (relay))
    {
    case SMARTHOST_SECURITY_STARTTLS:
      if (!(caps & SMARTHOST_CAPABILITY_STARTTLS))
        return not_supported_full (self, error, SMARTHOST_CAPABILITY_STARTTLS, "STARTTLS");
      break;
    case SMARTHOST_SECURITY_TLS:
      if (!(caps & SMARTHOST_CAPABILITY_IMPLICIT_TLS))
        return not_supported_full (self, error, SMARTHOST_CAPABILITY_IMPLICIT_TLS, "implicit TLS");
      break;
    case SMARTHOST_SECURITY_NONE:
    default:
      break;
    }
  if (smarthost_relay_get_ca_file (relay) != NULL && !(caps & SMARTHOST_CAPABILITY_CA_FILE))
    return not_supported_full (self, error, SMARTHOST_CAPABILITY_CA_FILE, "a CA file per relay");
  if (!smarthost_relay_get_verify_certificate (relay) &&
      smarthost_relay_get_security (relay) != SMARTHOST_SECURITY_NONE &&
      !(caps & SMARTHOST_CAPABILITY_NO_VERIFY))
    return not_supported (self, error, "turning certificate verification off");
  if (smarthost_relay_get_mx_lookup (relay) && !(caps & SMARTHOST_CAPABILITY_MX_LOOKUP))
    return not_supported_full (self, error, SMARTHOST_CAPABILITY_MX_LOOKUP, "MX lookups of the relay host");
  if (for_domain && smarthost_relay_get_username (relay) != NULL &&
      !(caps & SMARTHOST_CAPABILITY_DOMAIN_CREDENTIALS))
    return not_supported (self, error, "credentials per domain");
  /* The relay itself is checked above; what remains is the backend's. */
  return SMARTHOST_BACKEND_GET_IFACE (self)->validate_relay == NULL ||
         SMARTHOST_BACKEND_GET_IFACE (self)->validate_relay (self, relay, error);
}

/**
 * smarthost_backend_validate_relay:
 * @self: a backend
 * @relay: a relay
 * @error: return location for a #GError
 *
 * Checks that @relay is valid ([method@Relay.validate]) and that this
 * backend's configuration format can carry it.
 *
 * Returns: %TRUE if @relay can be configured; otherwise @error is
 *   %SMARTHOST_ERROR_INVALID, naming the field
 */
gboolean
smarthost_backend_validate_relay (SmarthostBackend  *self,
                                  SmarthostRelay    *relay,
                                  GError           **error)
{
  SmarthostBackendInterface *iface;

  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), FALSE);
  g_return_val_if_fail (SMARTHOST_IS_RELAY (relay), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!smarthost_relay_validate (relay, error))
    return FALSE;
  iface = SMARTHOST_BACKEND_GET_IFACE (self);
  return iface->validate_relay == NULL || iface->validate_relay (self, relay, error);
}

/**
 * smarthost_backend_get_server:
 * @self: a backend
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads the server-wide relay, including one that an administrator set up
 * by hand before libsmarthost was used.
 *
 * Returns: (transfer full) (nullable): the server-wide relay, or %NULL
 *   without an error when there is none
 */
SmarthostRelay *
smarthost_backend_get_server (SmarthostBackend  *self,
                              GCancellable      *cancellable,
                              GError           **error)
{
  g_autoptr(SmarthostReadLock) lock = NULL;

  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
      _smarthost_backend_missing (self, SMARTHOST_BACKEND_GET_IFACE (self)->get_server, "get_server", error) ||
      (lock = _smarthost_backend_begin_read (self, cancellable, error)) == NULL)
    return NULL;
  return SMARTHOST_BACKEND_GET_IFACE (self)->get_server (self, cancellable, error);
}

/**
 * smarthost_backend_get_server_async:
 * @self: a backend
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the relay has been read
 * @user_data: data for @callback
 *
 * Reads the server-wide relay without blocking; see
 * [method@Backend.get_server].
 */
void
smarthost_backend_get_server_async (SmarthostBackend    *self,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_return_if_fail (SMARTHOST_IS_BACKEND (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  SMARTHOST_BACKEND_GET_IFACE (self)->get_server_async (self, cancellable, callback, user_data);
}

/**
 * smarthost_backend_get_server_finish:
 * @self: a backend
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Backend.get_server_async].
 *
 * Returns: (transfer full) (nullable): the server-wide relay, or %NULL
 *   without an error when there is none
 */
SmarthostRelay *
smarthost_backend_get_server_finish (SmarthostBackend  *self,
                                     GAsyncResult      *result,
                                     GError           **error)
{
  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);

  return SMARTHOST_BACKEND_GET_IFACE (self)->get_server_finish (self, result, error);
}

/**
 * smarthost_backend_get_domain:
 * @self: a backend
 * @domain: a sender domain, such as `example.com`
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads the relay of one sender domain.
 *
 * Returns: (transfer full) (nullable): the domain's own relay, or %NULL
 *   without an error when the domain uses the server-wide one
 */
SmarthostRelay *
smarthost_backend_get_domain (SmarthostBackend  *self,
                              const char        *domain,
                              GCancellable      *cancellable,
                              GError           **error)
{
  g_autoptr(SmarthostReadLock) lock = NULL;
  g_autofree char *normalized = NULL;

  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  normalized = smarthost_domain_normalize (domain, error);
  if (normalized == NULL ||
      g_cancellable_set_error_if_cancelled (cancellable, error) ||
      _smarthost_backend_missing (self, SMARTHOST_BACKEND_GET_IFACE (self)->get_domain, "get_domain", error) ||
      (lock = _smarthost_backend_begin_read (self, cancellable, error)) == NULL)
    return NULL;
  return SMARTHOST_BACKEND_GET_IFACE (self)->get_domain (self, normalized, cancellable, error);
}

/**
 * smarthost_backend_get_domain_async:
 * @self: a backend
 * @domain: a sender domain
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the relay has been read
 * @user_data: data for @callback
 *
 * Reads a domain's relay without blocking; see [method@Backend.get_domain].
 */
void
smarthost_backend_get_domain_async (SmarthostBackend    *self,
                                    const char          *domain,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autofree char *normalized = NULL;
  GError *error = NULL;

  g_return_if_fail (SMARTHOST_IS_BACKEND (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  normalized = smarthost_domain_normalize (domain, &error);
  if (normalized == NULL)
    {
      g_task_report_error (self, callback, user_data, smarthost_backend_get_domain_async, error);
      return;
    }
  SMARTHOST_BACKEND_GET_IFACE (self)->get_domain_async (self, normalized, cancellable, callback, user_data);
}

/**
 * smarthost_backend_get_domain_finish:
 * @self: a backend
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Backend.get_domain_async].
 *
 * Returns: (transfer full) (nullable): the domain's own relay, or %NULL
 *   without an error when the domain uses the server-wide one
 */
SmarthostRelay *
smarthost_backend_get_domain_finish (SmarthostBackend  *self,
                                     GAsyncResult      *result,
                                     GError           **error)
{
  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);

  if (g_async_result_is_tagged (result, smarthost_backend_get_domain_async))
    return g_task_propagate_pointer (G_TASK (result), error);
  return SMARTHOST_BACKEND_GET_IFACE (self)->get_domain_finish (self, result, error);
}

/**
 * smarthost_backend_list_domains:
 * @self: a backend
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Lists the sender domains that have a relay of their own, sorted.
 *
 * Returns: (transfer full) (array zero-terminated=1): the domains, possibly
 *   none, or %NULL with @error set
 */
char **
smarthost_backend_list_domains (SmarthostBackend  *self,
                                GCancellable      *cancellable,
                                GError           **error)
{
  g_autoptr(SmarthostReadLock) lock = NULL;

  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
      _smarthost_backend_missing (self, SMARTHOST_BACKEND_GET_IFACE (self)->list_domains, "list_domains", error) ||
      (lock = _smarthost_backend_begin_read (self, cancellable, error)) == NULL)
    return NULL;
  return SMARTHOST_BACKEND_GET_IFACE (self)->list_domains (self, cancellable, error);
}

/**
 * smarthost_backend_list_domains_async:
 * @self: a backend
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the domains have been listed
 * @user_data: data for @callback
 *
 * Lists the domains without blocking; see [method@Backend.list_domains].
 */
void
smarthost_backend_list_domains_async (SmarthostBackend    *self,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_return_if_fail (SMARTHOST_IS_BACKEND (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  SMARTHOST_BACKEND_GET_IFACE (self)->list_domains_async (self, cancellable, callback, user_data);
}

/**
 * smarthost_backend_list_domains_finish:
 * @self: a backend
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Backend.list_domains_async].
 *
 * Returns: (transfer full) (array zero-terminated=1): the domains, or %NULL
 *   with @error set
 */
char **
smarthost_backend_list_domains_finish (SmarthostBackend  *self,
                                       GAsyncResult      *result,
                                       GError           **error)
{
  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);

  return SMARTHOST_BACKEND_GET_IFACE (self)->list_domains_finish (self, result, error);
}

/**
 * smarthost_backend_get_domains:
 * @self: a backend
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads the relay of every domain that has one, in one read of the
 * configuration: with many domains this is much faster than
 * [method@Backend.list_domains] followed by [method@Backend.get_domain]
 * for each, and it never mixes two commits.
 *
 * Returns: (transfer container) (element-type utf8 SmarthostRelay): the domains
 *   and their relays, possibly none, or %NULL with @error set
 */
GHashTable *
smarthost_backend_get_domains (SmarthostBackend  *self,
                               GCancellable      *cancellable,
                               GError           **error)
{
  SmarthostBackendInterface *iface;
  g_autoptr(GHashTable) result = NULL;
  g_auto(GStrv) domains = NULL;

  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  iface = SMARTHOST_BACKEND_GET_IFACE (self);
  if (iface->get_domains != NULL)
    {
      g_autoptr(SmarthostReadLock) lock = _smarthost_backend_begin_read (self, cancellable, error);

      if (lock == NULL)
        return NULL;
      return iface->get_domains (self, cancellable, error);
    }

  domains = smarthost_backend_list_domains (self, cancellable, error);
  if (domains == NULL)
    return NULL;
  result = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  for (guint i = 0; domains[i]; i++)
    {
      GError *local_error = NULL;
      SmarthostRelay *relay = smarthost_backend_get_domain (self, domains[i], cancellable, &local_error);

      if (local_error != NULL)
        {
          g_propagate_error (error, local_error);
          return NULL;
        }
      if (relay != NULL)   /* removed meanwhile */
        g_hash_table_insert (result, g_strdup (domains[i]), relay);
    }
  return g_steal_pointer (&result);
}

static void
get_domains_thread (GTask        *task,
                    gpointer      source_object,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  GError *error = NULL;
  GHashTable *domains = smarthost_backend_get_domains (source_object, cancellable, &error);

  if (domains == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, domains, (GDestroyNotify) g_hash_table_unref);
}

/**
 * smarthost_backend_get_domains_async:
 * @self: a backend
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the domains
 * @user_data: data for @callback
 *
 * Reads every domain's relay without blocking; see
 * [method@Backend.get_domains].
 */
void
smarthost_backend_get_domains_async (SmarthostBackend    *self,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (SMARTHOST_IS_BACKEND (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, smarthost_backend_get_domains_async);
  g_task_run_in_thread (task, get_domains_thread);
}

/**
 * smarthost_backend_get_domains_finish:
 * @self: a backend
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Backend.get_domains_async].
 *
 * Returns: (transfer container) (element-type utf8 SmarthostRelay): the domains
 *   and their relays, or %NULL with @error set
 */
GHashTable *
smarthost_backend_get_domains_finish (SmarthostBackend  *self,
                                      GAsyncResult      *result,
                                      GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * smarthost_backend_get_state:
 * @self: a backend
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads the complete smarthost state: the server-wide relay and every
 * domain's relay, the backend's name included, in one consistent read
 * where the backend can (the Postfix backend reads its files once: a
 * commit running meanwhile is seen whole or not at all). Its JSON form
 * ([method@State.to_json]) is what `smarthostctl status --json` prints;
 * [method@Transaction.set_state] applies a state back.
 *
 * Returns: (transfer full): the state, or %NULL with @error set
 */
SmarthostState *
smarthost_backend_get_state (SmarthostBackend  *self,
                             GCancellable      *cancellable,
                             GError           **error)
{
  g_autoptr(SmarthostState) state = NULL;
  g_autoptr(SmarthostRelay) server = NULL;
  g_autoptr(GHashTable) domains = NULL;
  GError *local_error = NULL;
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  if (SMARTHOST_BACKEND_GET_IFACE (self)->get_state != NULL)
    {
      g_autoptr(SmarthostReadLock) lock = _smarthost_backend_begin_read (self, cancellable, error);

      if (lock == NULL)
        return NULL;
      state = SMARTHOST_BACKEND_GET_IFACE (self)->get_state (self, cancellable, error);
      if (state != NULL && smarthost_state_get_backend_name (state) == NULL)
        smarthost_state_set_backend_name (state, smarthost_backend_get_name (self));
      return g_steal_pointer (&state);
    }

  server = smarthost_backend_get_server (self, cancellable, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return NULL;
    }
  domains = smarthost_backend_get_domains (self, cancellable, error);
  if (domains == NULL)
    return NULL;

  state = smarthost_state_new ();
  smarthost_state_set_backend_name (state, smarthost_backend_get_name (self));
  smarthost_state_set_server (state, server);
  g_hash_table_iter_init (&iter, domains);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_replace (_smarthost_state_get_domains (state), g_strdup (key), g_object_ref (value));
  return g_steal_pointer (&state);
}

static void
get_state_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  GError *error = NULL;
  SmarthostState *state = smarthost_backend_get_state (source_object, cancellable, &error);

  if (state == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, state, g_object_unref);
}

/**
 * smarthost_backend_get_state_async:
 * @self: a backend
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the state
 * @user_data: data for @callback
 *
 * Reads the complete smarthost state without blocking; see
 * [method@Backend.get_state].
 */
void
smarthost_backend_get_state_async (SmarthostBackend    *self,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (SMARTHOST_IS_BACKEND (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, smarthost_backend_get_state_async);
  g_task_run_in_thread (task, get_state_thread);
}

/**
 * smarthost_backend_get_state_finish:
 * @self: a backend
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Backend.get_state_async].
 *
 * Returns: (transfer full): the state, or %NULL with @error set
 */
SmarthostState *
smarthost_backend_get_state_finish (SmarthostBackend  *self,
                                    GAsyncResult      *result,
                                    GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * smarthost_backend_diagnose:
 * @self: a backend
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Reads the mail server's configuration and explains what is wrong with
 * its smarthost setup, each finding with a fix: duplicate settings, missing
 * SASL support, credentials readable by others, stale lookup tables, TLS
 * settings that cannot work, relays that do not resolve… A diagnosis
 * changes nothing.
 *
 * Returns: (transfer container) (element-type SmarthostFinding): the
 *   findings, most serious first, possibly none; %NULL with @error set when
 *   the configuration cannot be read, or to %SMARTHOST_ERROR_NOT_SUPPORTED
 *   when the backend cannot diagnose (it lacks
 *   %SMARTHOST_CAPABILITY_DIAGNOSE)
 */
GPtrArray *
smarthost_backend_diagnose (SmarthostBackend  *self,
                            GCancellable      *cancellable,
                            GError           **error)
{
  SmarthostBackendInterface *iface;

  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  iface = SMARTHOST_BACKEND_GET_IFACE (self);
  if (iface->diagnose == NULL ||
      !(smarthost_backend_get_capabilities (self) & SMARTHOST_CAPABILITY_DIAGNOSE))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED,
                   "diagnose: the %s backend cannot diagnose its mail server's setup",
                   smarthost_backend_get_name (self));
      return NULL;
    }
  return iface->diagnose (self, cancellable, error);
}

static void
diagnose_thread (GTask        *task,
                 gpointer      source_object,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  GError *error = NULL;
  GPtrArray *findings = smarthost_backend_diagnose (source_object, cancellable, &error);

  if (findings == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, findings, (GDestroyNotify) g_ptr_array_unref);
}

/**
 * smarthost_backend_diagnose_async:
 * @self: a backend
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the findings
 * @user_data: data for @callback
 *
 * Diagnoses the configuration without blocking; see
 * [method@Backend.diagnose].
 */
void
smarthost_backend_diagnose_async (SmarthostBackend    *self,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (SMARTHOST_IS_BACKEND (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, smarthost_backend_diagnose_async);
  g_task_run_in_thread (task, diagnose_thread);
}

/**
 * smarthost_backend_diagnose_finish:
 * @self: a backend
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Backend.diagnose_async].
 *
 * Returns: (transfer container) (element-type SmarthostFinding): the
 *   findings, or %NULL with @error set
 */
GPtrArray *
smarthost_backend_diagnose_finish (SmarthostBackend  *self,
                                   GAsyncResult      *result,
                                   GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * smarthost_backend_begin:
 * @self: a backend
 *
 * Starts a transaction: stage any number of changes on it, preview them,
 * then commit them all at once. This touches nothing.
 *
 * Returns: (transfer full): a new transaction
 */
SmarthostTransaction *
smarthost_backend_begin (SmarthostBackend *self)
{
  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), NULL);
  return _smarthost_transaction_new (self);
}

static SmarthostTransaction *
one_change (SmarthostBackend  *self,
            const char        *domain,
            SmarthostRelay    *relay,
            GError           **error)
{
  g_autoptr(SmarthostTransaction) tx = smarthost_backend_begin (self);
  gboolean ok;

  if (domain != NULL)
    ok = smarthost_transaction_set_domain (tx, domain, relay, error);
  else
    ok = smarthost_transaction_set_server (tx, relay, error);
  return ok ? g_steal_pointer (&tx) : NULL;
}

/**
 * smarthost_backend_set_server:
 * @self: a backend
 * @relay: (nullable): the server-wide relay, or %NULL to remove it
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Sets or removes the server-wide relay in a transaction of its own.
 * Removing it leaves the domains' relays working.
 *
 * Returns: %TRUE on success; on failure nothing was changed
 */
gboolean
smarthost_backend_set_server (SmarthostBackend  *self,
                              SmarthostRelay    *relay,
                              GCancellable      *cancellable,
                              GError           **error)
{
  g_autoptr(SmarthostTransaction) tx = NULL;

  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), FALSE);
  g_return_val_if_fail (relay == NULL || SMARTHOST_IS_RELAY (relay), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  tx = one_change (self, NULL, relay, error);
  return tx != NULL && smarthost_transaction_commit (tx, cancellable, error);
}

static void
one_change_done (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (smarthost_transaction_commit_finish (SMARTHOST_TRANSACTION (source), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static void
one_change_async (SmarthostBackend    *self,
                  const char          *domain,
                  SmarthostRelay      *relay,
                  gpointer             source_tag,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(SmarthostTransaction) tx = NULL;
  GError *error = NULL;

  g_task_set_source_tag (task, source_tag);
  g_task_set_check_cancellable (task, FALSE);
  tx = one_change (self, domain, relay, &error);
  if (tx == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  smarthost_transaction_commit_async (tx, cancellable, one_change_done, g_steal_pointer (&task));
}

/**
 * smarthost_backend_set_server_async:
 * @self: a backend
 * @relay: (nullable): the server-wide relay, or %NULL to remove it
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the change is committed or failed
 * @user_data: data for @callback
 *
 * Sets or removes the server-wide relay without blocking; see
 * [method@Backend.set_server].
 */
void
smarthost_backend_set_server_async (SmarthostBackend    *self,
                                    SmarthostRelay      *relay,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_return_if_fail (SMARTHOST_IS_BACKEND (self));
  g_return_if_fail (relay == NULL || SMARTHOST_IS_RELAY (relay));

  one_change_async (self, NULL, relay, smarthost_backend_set_server_async, cancellable, callback, user_data);
}

/**
 * smarthost_backend_set_server_finish:
 * @self: a backend
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Backend.set_server_async].
 *
 * Returns: %TRUE on success; on failure nothing was changed
 */
gboolean
smarthost_backend_set_server_finish (SmarthostBackend  *self,
                                     GAsyncResult      *result,
                                     GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * smarthost_backend_set_domain:
 * @self: a backend
 * @domain: a sender domain, such as `example.com`
 * @relay: (nullable): the domain's relay, or %NULL to return the domain to
 *   the server-wide relay
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Sets or removes one domain's relay in a transaction of its own. To change
 * many domains, stage them all on one [class@Transaction]: that costs one
 * rewrite, whatever their number.
 *
 * Returns: %TRUE on success; on failure nothing was changed
 */
gboolean
smarthost_backend_set_domain (SmarthostBackend  *self,
                              const char        *domain,
                              SmarthostRelay    *relay,
                              GCancellable      *cancellable,
                              GError           **error)
{
  g_autoptr(SmarthostTransaction) tx = NULL;

  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), FALSE);
  g_return_val_if_fail (relay == NULL || SMARTHOST_IS_RELAY (relay), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (domain == NULL)
    return _smarthost_set_invalid (error, "domain", "is required");
  tx = one_change (self, domain, relay, error);
  return tx != NULL && smarthost_transaction_commit (tx, cancellable, error);
}

/**
 * smarthost_backend_set_domain_async:
 * @self: a backend
 * @domain: a sender domain
 * @relay: (nullable): the domain's relay, or %NULL to remove it
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the change is committed or failed
 * @user_data: data for @callback
 *
 * Sets or removes one domain's relay without blocking; see
 * [method@Backend.set_domain].
 */
void
smarthost_backend_set_domain_async (SmarthostBackend    *self,
                                    const char          *domain,
                                    SmarthostRelay      *relay,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_return_if_fail (SMARTHOST_IS_BACKEND (self));
  g_return_if_fail (relay == NULL || SMARTHOST_IS_RELAY (relay));

  if (domain == NULL)
    {
      GError *error = NULL;
      _smarthost_set_invalid (&error, "domain", "is required");
      g_task_report_error (self, callback, user_data, smarthost_backend_set_domain_async, error);
      return;
    }
  one_change_async (self, domain, relay, smarthost_backend_set_domain_async, cancellable, callback, user_data);
}

/**
 * smarthost_backend_set_domain_finish:
 * @self: a backend
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Backend.set_domain_async].
 *
 * Returns: %TRUE on success; on failure nothing was changed
 */
gboolean
smarthost_backend_set_domain_finish (SmarthostBackend  *self,
                                     GAsyncResult      *result,
                                     GError           **error)
{
  g_return_val_if_fail (G_IS_TASK (result), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * smarthost_backend_get_state_directory:
 * @self: a backend
 * @error: return location for a #GError
 *
 * Gets the directory where commits through @self keep their lock and
 * journal: the configuration directory for Postfix, a local directory for
 * a backend that changes a remote server (see
 * [func@Backend.get_default_state_directory]).
 *
 * Returns: (transfer full) (type filename): the directory, or %NULL with
 *   @error set (%SMARTHOST_ERROR_INVALID when a setting names none that
 *   can be used, %SMARTHOST_ERROR_NOT_SUPPORTED for a backend that does
 *   not build operations)
 */
char *
smarthost_backend_get_state_directory (SmarthostBackend  *self,
                                       GError           **error)
{
  SmarthostBackendInterface *iface;

  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  iface = SMARTHOST_BACKEND_GET_IFACE (self);
  if (_smarthost_backend_missing (self, iface->get_state_directory, "get_state_directory", error))
    return NULL;
  return iface->get_state_directory (self, error);
}

/**
 * smarthost_backend_get_default_state_directory:
 * @name: a name for the directory, such as the backend's and the
 *   server's (`smartermail-mail.example.com`)
 *
 * Gets the default state directory of a backend that has no directory of
 * its own to keep its journal and lock in: `/var/lib/libsmarthost/NAME`
 * for root, `$XDG_STATE_HOME/libsmarthost/NAME` (by default
 * `~/.local/state/libsmarthost/NAME`) for anyone else. It is not
 * created here; the commit creates it (mode 0700) when it is missing.
 *
 * Returns: (transfer full) (type filename): the directory
 */
char *
smarthost_backend_get_default_state_directory (const char *name)
{
  g_autofree char *safe = NULL;
  g_autofree char *base = NULL;

  g_return_val_if_fail (name != NULL && *name != '\0', NULL);
  /* One path component, whatever the caller passed. */
  safe = g_strdup (name);
  g_strcanon (safe, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_@", '_');
  if (safe[0] == '.')
    safe[0] = '_';
  base = _smarthost_state_base_directory ();
  return g_build_filename (base, "libsmarthost", safe, NULL);
}

/**
 * smarthost_backend_build_change:
 * @self: a backend
 * @change: what is asked, and where the operations go
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Lets the backend read its current state and add to @change the
 * operations that make what @change asks for; see [class@Change]. Nothing
 * is carried out: transactions do that ([method@Transaction.commit]),
 * under the lock. Called directly, set [property@Change:dry-run] so that
 * the backend changes nothing while it reads.
 *
 * Returns: %TRUE if the operations were built; otherwise @error says why
 */
gboolean
smarthost_backend_build_change (SmarthostBackend  *self,
                                SmarthostChange   *change,
                                GCancellable      *cancellable,
                                GError           **error)
{
  SmarthostBackendInterface *iface;

  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), FALSE);
  g_return_val_if_fail (SMARTHOST_IS_CHANGE (change), FALSE);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  iface = SMARTHOST_BACKEND_GET_IFACE (self);
  if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
      _smarthost_backend_missing (self, iface->build_change, "build_change", error))
    return FALSE;
  return iface->build_change (self, change, cancellable, error);
}

/**
 * smarthost_backend_recover:
 * @self: a backend
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Finishes a commit that was interrupted (its process killed, its machine
 * turned off) or whose undo failed: before its commit point it is undone,
 * after it completed. Every read and commit does this by itself; this is
 * for tools that want it done now. Costs two lstat() calls when there is
 * nothing to do.
 *
 * Returns: %TRUE if there was nothing to finish or it is finished;
 *   otherwise @error says what is left
 */
gboolean
smarthost_backend_recover (SmarthostBackend  *self,
                           GCancellable      *cancellable,
                           GError           **error)
{
  g_autofree char *dir = NULL;

  g_return_val_if_fail (SMARTHOST_IS_BACKEND (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  dir = smarthost_backend_get_state_directory (self, error);
  if (dir == NULL)
    return FALSE;
  return _smarthost_backend_recover_quietly (self, cancellable, error);
}
