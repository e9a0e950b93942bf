/* smarthost-backends.c: the built-in backends, chosen by name
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "smarthost-backend-private.h"
#include "smarthost-backends.h"
#include "smarthost-error.h"

/* Every built-in backend registers itself on the extension point from its
 * type's definition (as GIO's settings backends do); making sure the types
 * exist is all that is needed here. */
static void
ensure_builtin_backends (void)
{
  _smarthost_backend_ensure_extension_point ();
  g_type_ensure (SMARTHOST_TYPE_POSTFIX_BACKEND);
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
  GIOExtensionPoint *ep;
  GIOExtension *ext;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  ensure_builtin_backends ();
  ep = g_io_extension_point_lookup (SMARTHOST_BACKEND_EXTENSION_POINT_NAME);
  ext = name ? g_io_extension_point_get_extension_by_name (ep, name) : NULL;
  if (ext == NULL)
    {
      g_auto(GStrv) names = smarthost_backend_list_names ();
      g_autofree char *list = g_strjoinv (", ", names);
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_NOT_SUPPORTED,
                   "backend: there is no backend named \"%s\"; available: %s",
                   name ? name : "(null)", list);
      return NULL;
    }
  return g_object_new (g_io_extension_get_type (ext), NULL);
}
