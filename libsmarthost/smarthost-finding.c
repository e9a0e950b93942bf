/* smarthost-finding.c: one thing a diagnosis found
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "smarthost-enum-types.h"
#include "smarthost-finding.h"
#include "smarthost-private.h"

/**
 * SmarthostFinding:
 *
 * One thing [method@Backend.diagnose] found: how serious it is, a stable
 * code for programs (such as `duplicate-parameter`), what is wrong in
 * words, and how to fix it.
 */

struct _SmarthostFinding
{
  GObject parent_instance;

  SmarthostSeverity severity;
  char *code;
  char *message;
  char *fix;
};

G_DEFINE_FINAL_TYPE (SmarthostFinding, smarthost_finding, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_SEVERITY,
  PROP_CODE,
  PROP_MESSAGE,
  PROP_FIX,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
smarthost_finding_finalize (GObject *object)
{
  SmarthostFinding *self = SMARTHOST_FINDING (object);

  g_free (self->code);
  g_free (self->message);
  g_free (self->fix);
  G_OBJECT_CLASS (smarthost_finding_parent_class)->finalize (object);
}

static void
smarthost_finding_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  SmarthostFinding *self = SMARTHOST_FINDING (object);

  switch (prop_id)
    {
    case PROP_SEVERITY:
      g_value_set_enum (value, self->severity);
      break;
    case PROP_CODE:
      g_value_set_string (value, self->code);
      break;
    case PROP_MESSAGE:
      g_value_set_string (value, self->message);
      break;
    case PROP_FIX:
      g_value_set_string (value, self->fix);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_finding_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  SmarthostFinding *self = SMARTHOST_FINDING (object);

  switch (prop_id)
    {
    case PROP_SEVERITY:
      self->severity = g_value_get_enum (value);
      break;
    case PROP_CODE:
      self->code = g_value_dup_string (value);
      break;
    case PROP_MESSAGE:
      self->message = g_value_dup_string (value);
      break;
    case PROP_FIX:
      self->fix = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_finding_class_init (SmarthostFindingClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = smarthost_finding_finalize;
  object_class->get_property = smarthost_finding_get_property;
  object_class->set_property = smarthost_finding_set_property;

  /**
   * SmarthostFinding:severity: (attributes org.gtk.Property.get=smarthost_finding_get_severity)
   *
   * How serious the finding is.
   */
  properties[PROP_SEVERITY] =
    g_param_spec_enum ("severity", NULL, NULL, SMARTHOST_TYPE_SEVERITY, SMARTHOST_SEVERITY_INFO,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostFinding:code: (attributes org.gtk.Property.get=smarthost_finding_get_code)
   *
   * A stable identifier of the kind of finding, such as
   * `duplicate-parameter`.
   */
  properties[PROP_CODE] =
    g_param_spec_string ("code", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostFinding:message: (attributes org.gtk.Property.get=smarthost_finding_get_message)
   *
   * What is wrong, in words.
   */
  properties[PROP_MESSAGE] =
    g_param_spec_string ("message", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostFinding:fix: (attributes org.gtk.Property.get=smarthost_finding_get_fix)
   *
   * How to fix it.
   */
  properties[PROP_FIX] =
    g_param_spec_string ("fix", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
smarthost_finding_init (SmarthostFinding *self)
{
}

/**
 * smarthost_finding_new:
 * @severity: how serious the finding is
 * @code: a stable identifier, such as `duplicate-parameter`
 * @message: what is wrong
 * @fix: (nullable): how to fix it
 *
 * Creates a finding; backends make them in [method@Backend.diagnose].
 *
 * Returns: (transfer full): a new finding
 */
SmarthostFinding *
smarthost_finding_new (SmarthostSeverity  severity,
                       const char        *code,
                       const char        *message,
                       const char        *fix)
{
  return g_object_new (SMARTHOST_TYPE_FINDING, "severity", severity, "code", code,
                       "message", message, "fix", fix, NULL);
}

/**
 * smarthost_finding_get_severity: (get-property severity)
 * @self: a finding
 *
 * Tells how serious the finding is.
 *
 * Returns: the severity
 */
SmarthostSeverity
smarthost_finding_get_severity (SmarthostFinding *self)
{
  g_return_val_if_fail (SMARTHOST_IS_FINDING (self), SMARTHOST_SEVERITY_INFO);
  return self->severity;
}

/**
 * smarthost_finding_get_code: (get-property code)
 * @self: a finding
 *
 * Gets the kind of finding, for programs.
 *
 * Returns: the code
 */
const char *
smarthost_finding_get_code (SmarthostFinding *self)
{
  g_return_val_if_fail (SMARTHOST_IS_FINDING (self), NULL);
  return self->code;
}

/**
 * smarthost_finding_get_message: (get-property message)
 * @self: a finding
 *
 * Says what is wrong.
 *
 * Returns: the message
 */
const char *
smarthost_finding_get_message (SmarthostFinding *self)
{
  g_return_val_if_fail (SMARTHOST_IS_FINDING (self), NULL);
  return self->message;
}

/**
 * smarthost_finding_get_fix: (get-property fix)
 * @self: a finding
 *
 * Says how to fix it.
 *
 * Returns: (nullable): the fix
 */
const char *
smarthost_finding_get_fix (SmarthostFinding *self)
{
  g_return_val_if_fail (SMARTHOST_IS_FINDING (self), NULL);
  return self->fix;
}

/**
 * smarthost_severity_to_string:
 * @severity: a severity
 *
 * Names a severity as JSON spells it.
 *
 * Returns: `info`, `warning` or `error`
 */
const char *
smarthost_severity_to_string (SmarthostSeverity severity)
{
  switch (severity)
    {
    case SMARTHOST_SEVERITY_INFO:
      return "info";
    case SMARTHOST_SEVERITY_WARNING:
      return "warning";
    case SMARTHOST_SEVERITY_ERROR:
      return "error";
    default:
      return "invalid";
    }
}

/**
 * smarthost_finding_to_json:
 * @self: a finding
 *
 * Describes the finding in JSON, as `smarthostctl doctor --json` lists
 * findings: an object with `severity` (`info`, `warning` or `error`),
 * `code`, `message` and `fix`.
 *
 * Returns: (transfer full): a JSON object, pretty-printed
 */
char *
smarthost_finding_to_json (SmarthostFinding *self)
{
  g_autoptr(json_t) root = json_object ();

  g_return_val_if_fail (SMARTHOST_IS_FINDING (self), NULL);

  json_object_set_new (root, "severity",
                       _smarthost_json_string (smarthost_severity_to_string (smarthost_finding_get_severity (self))));
  json_object_set_new (root, "code", _smarthost_json_string (smarthost_finding_get_code (self)));
  json_object_set_new (root, "message", _smarthost_json_string (smarthost_finding_get_message (self)));
  json_object_set_new (root, "fix", _smarthost_json_string (smarthost_finding_get_fix (self)));
  return _smarthost_json_to_data (root, NULL);
}
