/* smarthost-backend-setting.c: one setting a backend is constructed with
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-backend-private.h"
#include "smarthost-backend-setting.h"
#include "smarthost-enum-types.h"
#include "smarthost-error.h"
#include "smarthost-private.h"
#include "smarthost-util-private.h"

/**
 * SmarthostBackendSetting:
 *
 * One setting a backend takes when it is constructed: its name, which is
 * also the name of the backend's GObject property that holds it (such as
 * the Postfix backend's `config-directory`), the kind of value, a line of
 * help, and whether the value is a secret (a password or a token).
 *
 * Front ends that do not know a backend list its settings
 * ([func@Backend.list_settings_for_name]) and construct it by name with
 * values as text ([func@Backend.new_for_name_with_settings]); the library
 * converts and checks them. A front end never takes a secret from a
 * command line: `smarthostctl` reads one from a file or the environment.
 */

struct _SmarthostBackendSetting
{
  GObject parent_instance;

  char *name;
  SmarthostSettingType value_type;
  char *help;
  gboolean secret;
};

G_DEFINE_FINAL_TYPE (SmarthostBackendSetting, smarthost_backend_setting, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_VALUE_TYPE,
  PROP_HELP,
  PROP_SECRET,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
smarthost_backend_setting_finalize (GObject *object)
{
  SmarthostBackendSetting *self = SMARTHOST_BACKEND_SETTING (object);

  g_free (self->name);
  g_free (self->help);
  G_OBJECT_CLASS (smarthost_backend_setting_parent_class)->finalize (object);
}

static void
smarthost_backend_setting_get_property (GObject    *object,
                                        guint       prop_id,
                                        GValue     *value,
                                        GParamSpec *pspec)
{
  SmarthostBackendSetting *self = SMARTHOST_BACKEND_SETTING (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_VALUE_TYPE:
      g_value_set_enum (value, self->value_type);
      break;
    case PROP_HELP:
      g_value_set_string (value, self->help);
      break;
    case PROP_SECRET:
      g_value_set_boolean (value, self->secret);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_backend_setting_set_property (GObject      *object,
                                        guint         prop_id,
                                        const GValue *value,
                                        GParamSpec   *pspec)
{
  SmarthostBackendSetting *self = SMARTHOST_BACKEND_SETTING (object);

  switch (prop_id)
    {
    case PROP_NAME:
      self->name = g_value_dup_string (value);
      break;
    case PROP_VALUE_TYPE:
      self->value_type = g_value_get_enum (value);
      break;
    case PROP_HELP:
      self->help = g_value_dup_string (value);
      break;
    case PROP_SECRET:
      self->secret = g_value_get_boolean (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_backend_setting_class_init (SmarthostBackendSettingClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = smarthost_backend_setting_finalize;
  object_class->get_property = smarthost_backend_setting_get_property;
  object_class->set_property = smarthost_backend_setting_set_property;

  /**
   * SmarthostBackendSetting:name: (attributes org.gtk.Property.get=smarthost_backend_setting_get_name)
   *
   * The setting's name, such as `config-directory`: the name of the
   * backend's property that holds it.
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostBackendSetting:value-type: (attributes org.gtk.Property.get=smarthost_backend_setting_get_value_type)
   *
   * The kind of value the setting takes.
   */
  properties[PROP_VALUE_TYPE] =
    g_param_spec_enum ("value-type", NULL, NULL, SMARTHOST_TYPE_SETTING_TYPE, SMARTHOST_SETTING_TYPE_STRING,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostBackendSetting:help: (attributes org.gtk.Property.get=smarthost_backend_setting_get_help)
   *
   * One line that says what the setting is, and its default.
   */
  properties[PROP_HELP] =
    g_param_spec_string ("help", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostBackendSetting:secret: (attributes org.gtk.Property.get=smarthost_backend_setting_get_secret)
   *
   * Whether the value is a secret: it is never shown, never quoted in an
   * error, and front ends never take it from a command line.
   */
  properties[PROP_SECRET] =
    g_param_spec_boolean ("secret", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
smarthost_backend_setting_init (SmarthostBackendSetting *self)
{
}

/**
 * smarthost_backend_setting_new:
 * @name: the setting's name, which is also the name of the backend's
 *   property that holds it
 * @value_type: the kind of value it takes
 * @help: one line that says what the setting is
 * @secret: whether the value is a secret
 *
 * Creates the declaration of a setting; backends return them from
 * [vfunc@Backend.list_settings].
 *
 * Returns: (transfer full): a new setting
 */
SmarthostBackendSetting *
smarthost_backend_setting_new (const char           *name,
                               SmarthostSettingType  value_type,
                               const char           *help,
                               gboolean              secret)
{
  g_return_val_if_fail (name != NULL, NULL);
  return g_object_new (SMARTHOST_TYPE_BACKEND_SETTING, "name", name, "value-type", value_type,
                       "help", help, "secret", secret, NULL);
}

/**
 * smarthost_backend_setting_get_name: (get-property name)
 * @self: a setting
 *
 * Gets the setting's name, such as `config-directory`.
 *
 * Returns: the name
 */
const char *
smarthost_backend_setting_get_name (SmarthostBackendSetting *self)
{
  g_return_val_if_fail (SMARTHOST_IS_BACKEND_SETTING (self), NULL);
  return self->name;
}

/**
 * smarthost_backend_setting_get_value_type: (get-property value-type)
 * @self: a setting
 *
 * Gets the kind of value the setting takes.
 *
 * Returns: the value type
 */
SmarthostSettingType
smarthost_backend_setting_get_value_type (SmarthostBackendSetting *self)
{
  g_return_val_if_fail (SMARTHOST_IS_BACKEND_SETTING (self), SMARTHOST_SETTING_TYPE_STRING);
  return self->value_type;
}

/**
 * smarthost_backend_setting_get_help: (get-property help)
 * @self: a setting
 *
 * Gets the line of help that says what the setting is.
 *
 * Returns: (nullable): the help
 */
const char *
smarthost_backend_setting_get_help (SmarthostBackendSetting *self)
{
  g_return_val_if_fail (SMARTHOST_IS_BACKEND_SETTING (self), NULL);
  return self->help;
}

/**
 * smarthost_backend_setting_get_secret: (get-property secret)
 * @self: a setting
 *
 * Tells whether the setting's value is a secret.
 *
 * Returns: %TRUE for a secret, such as a password or a token
 */
gboolean
smarthost_backend_setting_get_secret (SmarthostBackendSetting *self)
{
  g_return_val_if_fail (SMARTHOST_IS_BACKEND_SETTING (self), FALSE);
  return self->secret;
}

/* The setting as a JSON object, to build into more. */
static json_t *
setting_to_json_node (SmarthostBackendSetting *self)
{
  json_t *o = json_object ();

  json_object_set_new (o, "name", _smarthost_json_string (self->name));
  json_object_set_new (o, "type", _smarthost_json_string (smarthost_setting_type_to_string (self->value_type)));
  json_object_set_new (o, "secret", json_boolean (self->secret));
  /* The help is nullable; JSON says so rather than writing "". */
  json_object_set_new (o, "help", _smarthost_json_string (self->help));
  return o;
}

/**
 * smarthost_backend_setting_to_json:
 * @self: a setting
 *
 * Describes the setting in JSON, as `smarthostctl settings --json` lists
 * a backend's settings: an object with `name`, `type` (`string`,
 * `boolean`, `uint` or `path`, see [func@SettingType.to_string]),
 * `secret` (a boolean) and `help` (or null). A declaration holds no value,
 * so there is never a secret to hide.
 *
 * Returns: (transfer full): a JSON object, pretty-printed
 */
char *
smarthost_backend_setting_to_json (SmarthostBackendSetting *self)
{
  g_autoptr(json_t) root = NULL;

  g_return_val_if_fail (SMARTHOST_IS_BACKEND_SETTING (self), NULL);

  root = setting_to_json_node (self);
  return _smarthost_json_to_data (root, NULL);
}

/**
 * smarthost_backend_settings_to_json:
 * @settings: (element-type SmarthostBackendSetting): settings, such as
 *   [func@Backend.list_settings_for_name] returns
 *
 * Describes settings in JSON, in their order: an array of the objects
 * [method@BackendSetting.to_json] writes, as the `settings` member of
 * `smarthostctl settings --json`.
 *
 * Returns: (transfer full): a JSON array, pretty-printed
 */
char *
smarthost_backend_settings_to_json (GPtrArray *settings)
{
  g_autoptr(json_t) root = json_array ();

  g_return_val_if_fail (settings != NULL, NULL);

  for (guint i = 0; i < settings->len; i++)
    {
      SmarthostBackendSetting *setting = g_ptr_array_index (settings, i);

      g_return_val_if_fail (SMARTHOST_IS_BACKEND_SETTING (setting), NULL);
      json_array_append_new (root, setting_to_json_node (setting));
    }
  return _smarthost_json_to_data (root, NULL);
}

/**
 * smarthost_setting_type_to_string:
 * @value_type: a setting type
 *
 * Names a setting type as `smarthostctl settings` shows it: `string`,
 * `boolean`, `uint` or `path`.
 *
 * Returns: the name
 */
const char *
smarthost_setting_type_to_string (SmarthostSettingType value_type)
{
  switch (value_type)
    {
    case SMARTHOST_SETTING_TYPE_STRING:
      return "string";
    case SMARTHOST_SETTING_TYPE_BOOLEAN:
      return "boolean";
    case SMARTHOST_SETTING_TYPE_UINT:
      return "uint";
    case SMARTHOST_SETTING_TYPE_PATH:
      return "path";
    default:
      return "unknown";
    }
}

/* The property of @type that holds @setting, of the kind the setting says;
 * a backend whose declaration does not match its properties is a bug in
 * the backend, reported as such rather than as the caller's mistake. */
static GParamSpec *
find_property (GType                     type,
               SmarthostBackendSetting  *setting,
               GError                  **error)
{
  g_autoptr(GTypeClass) klass = g_type_class_ref (type);
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_CLASS (klass), setting->name);
  GType want = setting->value_type == SMARTHOST_SETTING_TYPE_BOOLEAN ? G_TYPE_BOOLEAN :
               setting->value_type == SMARTHOST_SETTING_TYPE_UINT ? G_TYPE_UINT : G_TYPE_STRING;

  if (pspec == NULL || G_PARAM_SPEC_VALUE_TYPE (pspec) != want || !(pspec->flags & G_PARAM_WRITABLE))
    {
      g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                   "%s: the backend declares this setting but has no writable %s property of that name "
                   "(a bug in the backend)", setting->name, smarthost_setting_type_to_string (setting->value_type));
      return NULL;
    }
  return pspec;
}

/* Converts @text into @value (unset) for @setting of backend @type. Errors
 * name the setting; a secret's value is never quoted. */
gboolean
_smarthost_backend_setting_to_value (SmarthostBackendSetting  *setting,
                                     GType                     type,
                                     const char               *text,
                                     GValue                   *value,
                                     GError                  **error)
{
  GParamSpec *pspec;
  g_autofree char *quoted = NULL;

  g_return_val_if_fail (SMARTHOST_IS_BACKEND_SETTING (setting), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  if ((pspec = find_property (type, setting, error)) == NULL)
    return FALSE;
  quoted = setting->secret ? g_strdup ("(the value is secret, not shown)") : _smarthost_quote (text, -1);

  switch (setting->value_type)
    {
    case SMARTHOST_SETTING_TYPE_BOOLEAN:
      {
        static const char *const yes[] = { "true", "yes", "on", "1", NULL };
        static const char *const no[] = { "false", "no", "off", "0", NULL };
        gboolean found = FALSE, b = FALSE;

        for (guint i = 0; yes[i]; i++)
          if (g_ascii_strcasecmp (text, yes[i]) == 0)
            found = b = TRUE;
        for (guint i = 0; no[i]; i++)
          if (g_ascii_strcasecmp (text, no[i]) == 0)
            found = TRUE;
        if (!found)
          return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                              "%s: %s is not true or false (yes/no, on/off, 1/0 also do)",
                              setting->name, quoted), FALSE;
        g_value_init (value, G_TYPE_BOOLEAN);
        g_value_set_boolean (value, b);
        return TRUE;
      }
    case SMARTHOST_SETTING_TYPE_UINT:
      {
        GParamSpecUInt *uspec = G_PARAM_SPEC_UINT (pspec);
        guint64 n;

        if (!g_ascii_string_to_unsigned (text, 10, uspec->minimum, uspec->maximum, &n, NULL))
          return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                              "%s: %s is not a whole number from %u to %u",
                              setting->name, quoted, uspec->minimum, uspec->maximum), FALSE;
        g_value_init (value, G_TYPE_UINT);
        g_value_set_uint (value, (guint) n);
        return TRUE;
      }
    case SMARTHOST_SETTING_TYPE_PATH:
      if (*text == '\0')
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "%s: the path is empty", setting->name), FALSE;
      if (strlen (text) > 4096)
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "%s: the path is longer than 4096 bytes", setting->name), FALSE;
      g_value_init (value, G_TYPE_STRING);
      g_value_take_string (value, g_canonicalize_filename (text, NULL));
      return TRUE;
    case SMARTHOST_SETTING_TYPE_STRING:
    default:
      if (!g_utf8_validate (text, -1, NULL))
        return g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_INVALID,
                            "%s: %s is not valid UTF-8", setting->name, quoted), FALSE;
      g_value_init (value, G_TYPE_STRING);
      g_value_set_string (value, text);
      return TRUE;
    }
}
