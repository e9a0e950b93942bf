/* smarthost-backend-registry.c: backends chosen by name
 *
 * Every backend, built in or not, implements the
 * SMARTHOST_BACKEND_EXTENSION_POINT_NAME extension point under its name;
 * this file only reads the extension point. The built-in backends are
 * registered on first use through a hook that the library build provides
 * (smarthost-backend-registry-private.h), so that the core names none of
 * them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-backend-private.h"
#include "smarthost-backend-registry.h"
#include "smarthost-backend-registry-private.h"
#include "smarthost-error.h"
#include "smarthost-util-private.h"
#include "smarthost-platform-private.h"

static void
ensure_builtin_backends (void)
{
  static gsize registered = 0;

  if (g_once_init_enter (&registered))
    {
      _smarthost_backend_ensure_extension_point ();
      _smarthost_backends_register_builtin ();
      g_once_init_leave (&registered, 1);
    }
}

/**
 * smarthost_backend_list_names:
 *
 * Lists the names of the available backends, highest priority first.
 *
 * Returns: (transfer full) (array zero-terminated=1): backend names, such
 *   as `postfix`
 */
char **
smarthost_backend_list_names (void)
{
  GIOExtensionPoint *ep;
  GStrvBuilder *builder = g_strv_builder_new ();
  char **names;

  ensure_builtin_backends ();
  ep = g_io_extension_point_lookup (SMARTHOST_BACKEND_EXTENSION_POINT_NAME);
  for (GList *l = g_io_extension_point_get_extensions (ep); l; l = l->next)
    g_strv_builder_add (builder, g_io_extension_get_name (l->data));
  names = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return names;
}

/* The type registered under @name, or 0 with @error naming the ones that are. */
static GType
backend_type_for_name (const char  *name,
                       GError     **error)
{
  GIOExtensionPoint *ep;
  GIOExtension *ext;

  ensure_builtin_backends ();
  ep = g_io_extension_point_lookup (SMARTHOST_BACKEND_EXTENSION_POINT_NAME);
  ext = name ? g_io_extension_point_get_extension_by_name (ep, name) : NULL;
  if (ext == NULL)
    {
      g_auto(GStrv) names = smarthost_backend_list_names ();
      g_autofree char *list = g_strjoinv (", ", names);
      g_autofree char *quoted = _smarthost_quote (name ? name : "(null)", -1);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED,
                   "backend: there is no backend named %s; available: %s", quoted, list);
      return 0;
    }
  return g_io_extension_get_type (ext);
}

/**
 * smarthost_backend_new_for_name:
 * @name: a backend name, such as `postfix`
 * @error: return location for a #GError
 *
 * Creates a backend with its default settings (Postfix's in `/etc/postfix`,
 * for one). A backend's own settings, such as the Postfix backend's
 * [property@PostfixBackend:config-directory], are fixed at construction:
 * to point a backend elsewhere, construct its type with them
 * (`g_object_new (G_OBJECT_TYPE (backend), "config-directory", dir, NULL)`)
 * or use its own constructor, such as [func@PostfixBackend.new].
 *
 * Returns: (transfer full): a new backend, or %NULL with @error set to
 *   %SMARTHOST_ERROR_NOT_SUPPORTED when no backend has that name
 */
SmarthostBackend *
smarthost_backend_new_for_name (const char  *name,
                                GError     **error)
{
  GType type;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if ((type = backend_type_for_name (name, error)) == 0)
    return NULL;
  return g_object_new (type, NULL);
}

/**
 * smarthost_backend_list_settings_for_name:
 * @name: a backend name, such as `postfix`
 * @error: return location for a #GError
 *
 * Lists the settings the backend of that name is constructed with, as
 * [method@Backend.list_settings] does, for front ends that do not know the
 * backend (`smarthostctl --backend NAME settings`).
 *
 * Returns: (transfer container) (element-type SmarthostBackendSetting): the
 *   settings, possibly none; %NULL with @error set to
 *   %SMARTHOST_ERROR_NOT_SUPPORTED when no backend has that name
 */
GPtrArray *
smarthost_backend_list_settings_for_name (const char  *name,
                                          GError     **error)
{
  g_autoptr(SmarthostBackend) backend = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Constructing a backend reads nothing (it is documented of every
   * backend), so a default one answers for its type. */
  backend = smarthost_backend_new_for_name (name, error);
  return backend ? smarthost_backend_list_settings (backend) : NULL;
}

static SmarthostBackendSetting *
find_setting (GPtrArray  *settings,
              const char *key)
{
  for (guint i = 0; i < settings->len; i++)
    if (g_str_equal (smarthost_backend_setting_get_name (g_ptr_array_index (settings, i)), key))
      return g_ptr_array_index (settings, i);
  return NULL;
}

static int
compare_keys (gconstpointer a,
              gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static char *
join_setting_names (GPtrArray *settings)
{
  GString *list = g_string_new (NULL);

  for (guint i = 0; i < settings->len; i++)
    g_string_append_printf (list, "%s%s", i ? ", " : "",
                            smarthost_backend_setting_get_name (g_ptr_array_index (settings, i)));
  if (settings->len == 0)
    g_string_append (list, "none");
  return g_string_free (list, FALSE);
}

/**
 * smarthost_backend_new_for_name_with_settings:
 * @name: a backend name, such as `postfix`
 * @settings: (nullable) (element-type utf8 utf8): setting names and their
 *   values as text, such as `config-directory` → `/srv/postfix`
 * @error: return location for a #GError
 *
 * Creates a backend by name with settings given as text, the way front
 * ends that do not know the backend take them (`smarthostctl --option
 * KEY=VALUE`, the Ansible module's `backend_options`). Each name must be
 * one of the backend's settings ([func@Backend.list_settings_for_name]);
 * each value is converted by the setting's type (a path is made absolute
 * from the current directory) and set on the property of the same name at
 * construction. Settings not given keep their defaults.
 *
 * Nothing is ignored: an unknown name, or a value that does not convert,
 * fails with %SMARTHOST_ERROR_INVALID naming the setting (and, for an
 * unknown name, listing the ones the backend takes). A secret's value is
 * never quoted in an error.
 *
 * Returns: (transfer full): a new backend, or %NULL with @error set
 *   (%SMARTHOST_ERROR_NOT_SUPPORTED when no backend has that name)
 */
SmarthostBackend *
smarthost_backend_new_for_name_with_settings (const char  *name,
                                              GHashTable  *settings,
                                              GError     **error)
{
  g_autoptr(GPtrArray) declared = NULL;
  g_autoptr(GPtrArray) keys = NULL;
  g_autofree const char **names = NULL;
  GValue *values = NULL;
  SmarthostBackend *backend = NULL;
  GType type;
  guint n = 0, n_keys;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if ((type = backend_type_for_name (name, error)) == 0)
    return NULL;
  declared = smarthost_backend_list_settings_for_name (name, error);
  if (declared == NULL)
    return NULL;

  /* In a stable order, so that the first bad setting is always the same. */
  keys = g_ptr_array_new ();
  if (settings != NULL)
    {
      GHashTableIter iter;
      gpointer key;

      g_hash_table_iter_init (&iter, settings);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        g_ptr_array_add (keys, key);
    }
  g_ptr_array_sort (keys, compare_keys);
  n_keys = keys->len;
  names = g_new0 (const char *, n_keys + 1);
  values = g_new0 (GValue, n_keys + 1);

  for (guint i = 0; i < n_keys; i++)
    {
      const char *key = g_ptr_array_index (keys, i);
      const char *text = g_hash_table_lookup (settings, key);
      SmarthostBackendSetting *setting = find_setting (declared, key);

      if (setting == NULL)
        {
          g_autofree char *quoted = _smarthost_quote (key, -1);
          g_autofree char *known = join_setting_names (declared);
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                       "backend: the %s backend has no setting %s; it takes: %s",
                       name, quoted, known);
          goto out;
        }
      if (text == NULL)
        {
          g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                       "%s: no value given", smarthost_backend_setting_get_name (setting));
          goto out;
        }
      if (!_smarthost_backend_setting_to_value (setting, type, text, &values[n], error))
        goto out;
      names[n++] = smarthost_backend_setting_get_name (setting);
    }
  backend = SMARTHOST_BACKEND (g_object_new_with_properties (type, n, names, values));

out:
  for (guint i = 0; i < n; i++)
    {
      /* A secret does not outlive its use in freed memory. */
      if (G_VALUE_HOLDS_STRING (&values[i]) && g_value_get_string (&values[i]) != NULL)
        {
          char *text = (char *) g_value_get_string (&values[i]);
          _smarthost_secure_zero (text, strlen (text));
        }
      g_value_unset (&values[i]);
    }
  g_free (values);
  return backend;
}
