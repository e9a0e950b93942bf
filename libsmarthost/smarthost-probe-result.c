/* smarthost-probe-result.c: what a connection check found
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <math.h>

#include "smarthost-enum-types.h"
#include "smarthost-json-private.h"
#include "smarthost-probe-private.h"
#include "smarthost-probe-result.h"

/**
 * SmarthostProbeResult:
 *
 * What [method@Probe.run] found: whether the relay works, and if not, the
 * stage that failed, the relay's own words and a hint at what to do. It
 * also tells what was seen on the way: timings per stage, the greeting and
 * extensions, the TLS version and cipher, the relay's certificate and how
 * its verification went, the authentication mechanism used and, for a test
 * message, the relay's queue reply.
 *
 * Nothing in a result ever contains the credentials: the transcript shows
 * authentication as [const@PASSWORD_MASK].
 */

G_DEFINE_FINAL_TYPE (SmarthostProbeResult, smarthost_probe_result, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_SUCCESS,
  PROP_FAILED_STAGE,
  PROP_MESSAGE,
  PROP_HINT,
  PROP_ADDRESS,
  PROP_GREETING,
  PROP_CAPABILITIES,
  PROP_TLS_VERSION,
  PROP_TLS_CIPHER,
  PROP_CERTIFICATE_SUBJECT,
  PROP_CERTIFICATE_ISSUER,
  PROP_CERTIFICATE_NAMES,
  PROP_CERTIFICATE_EXPIRY,
  PROP_CERTIFICATE_VERIFIED,
  PROP_VERIFICATION,
  PROP_AUTH_MECHANISM,
  PROP_QUEUE_REPLY,
  PROP_TRANSCRIPT,
  PROP_WARNINGS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
smarthost_probe_result_finalize (GObject *object)
{
  SmarthostProbeResult *self = SMARTHOST_PROBE_RESULT (object);

  g_free (self->message);
  g_free (self->hint);
  g_free (self->host);
  g_free (self->security);
  g_free (self->address);
  g_free (self->greeting);
  g_strfreev (self->capabilities);
  g_free (self->tls_version);
  g_free (self->tls_cipher);
  g_free (self->cert_subject);
  g_free (self->cert_issuer);
  g_strfreev (self->cert_names);
  g_clear_pointer (&self->cert_expiry, g_date_time_unref);
  g_free (self->verification);
  g_free (self->auth_mechanism);
  g_free (self->queue_reply);
  g_ptr_array_unref (self->transcript);
  g_ptr_array_unref (self->warnings);

  G_OBJECT_CLASS (smarthost_probe_result_parent_class)->finalize (object);
}

static void
smarthost_probe_result_get_property (GObject    *object,
                                     guint       prop_id,
                                     GValue     *value,
                                     GParamSpec *pspec)
{
  SmarthostProbeResult *self = SMARTHOST_PROBE_RESULT (object);

  switch (prop_id)
    {
    case PROP_SUCCESS:
      g_value_set_boolean (value, smarthost_probe_result_get_success (self));
      break;
    case PROP_FAILED_STAGE:
      g_value_set_enum (value, smarthost_probe_result_get_failed_stage (self));
      break;
    case PROP_MESSAGE:
      g_value_set_string (value, smarthost_probe_result_get_message (self));
      break;
    case PROP_HINT:
      g_value_set_string (value, smarthost_probe_result_get_hint (self));
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, smarthost_probe_result_get_address (self));
      break;
    case PROP_GREETING:
      g_value_set_string (value, smarthost_probe_result_get_greeting (self));
      break;
    case PROP_CAPABILITIES:
      g_value_set_boxed (value, (gpointer) smarthost_probe_result_get_capabilities (self));
      break;
    case PROP_TLS_VERSION:
      g_value_set_string (value, smarthost_probe_result_get_tls_version (self));
      break;
    case PROP_TLS_CIPHER:
      g_value_set_string (value, smarthost_probe_result_get_tls_cipher (self));
      break;
    case PROP_CERTIFICATE_SUBJECT:
      g_value_set_string (value, smarthost_probe_result_get_certificate_subject (self));
      break;
    case PROP_CERTIFICATE_ISSUER:
      g_value_set_string (value, smarthost_probe_result_get_certificate_issuer (self));
      break;
    case PROP_CERTIFICATE_NAMES:
      g_value_set_boxed (value, (gpointer) smarthost_probe_result_get_certificate_names (self));
      break;
    case PROP_CERTIFICATE_EXPIRY:
      g_value_set_boxed (value, smarthost_probe_result_get_certificate_expiry (self));
      break;
    case PROP_CERTIFICATE_VERIFIED:
      g_value_set_boolean (value, smarthost_probe_result_get_certificate_verified (self));
      break;
    case PROP_VERIFICATION:
      g_value_set_string (value, smarthost_probe_result_get_verification (self));
      break;
    case PROP_AUTH_MECHANISM:
      g_value_set_string (value, smarthost_probe_result_get_auth_mechanism (self));
      break;
    case PROP_QUEUE_REPLY:
      g_value_set_string (value, smarthost_probe_result_get_queue_reply (self));
      break;
    case PROP_TRANSCRIPT:
      g_value_set_boxed (value, (gpointer) smarthost_probe_result_get_transcript (self));
      break;
    case PROP_WARNINGS:
      g_value_set_boxed (value, (gpointer) smarthost_probe_result_get_warnings (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_probe_result_class_init (SmarthostProbeResultClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = smarthost_probe_result_finalize;
  object_class->get_property = smarthost_probe_result_get_property;

  /**
   * SmarthostProbeResult:success: (attributes org.gtk.Property.get=smarthost_probe_result_get_success)
   *
   * Whether every stage worked.
   */
  properties[PROP_SUCCESS] =
    g_param_spec_boolean ("success", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbeResult:failed-stage: (attributes org.gtk.Property.get=smarthost_probe_result_get_failed_stage)
   *
   * The stage that failed, or %SMARTHOST_PROBE_STAGE_NONE when the check
   * succeeded.
   */
  properties[PROP_FAILED_STAGE] =
    g_param_spec_enum ("failed-stage", NULL, NULL, SMARTHOST_TYPE_PROBE_STAGE, SMARTHOST_PROBE_STAGE_NONE,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbeResult:message: (attributes org.gtk.Property.get=smarthost_probe_result_get_message)
   *
   * What went wrong, in words, including the relay's reply where there
   * was one; %NULL on success.
   */
  properties[PROP_MESSAGE] =
    g_param_spec_string ("message", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbeResult:hint: (attributes org.gtk.Property.get=smarthost_probe_result_get_hint)
   *
   * What to do about the failure, when it is one of the common mistakes.
   */
  properties[PROP_HINT] =
    g_param_spec_string ("hint", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbeResult:address: (attributes org.gtk.Property.get=smarthost_probe_result_get_address)
   *
   * The IP address the check connected to, if any.
   */
  properties[PROP_ADDRESS] =
    g_param_spec_string ("address", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbeResult:greeting: (attributes org.gtk.Property.get=smarthost_probe_result_get_greeting)
   *
   * The greeting the relay sent, such as `220 smtp.example.net ESMTP`.
   */
  properties[PROP_GREETING] =
    g_param_spec_string ("greeting", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbeResult:capabilities: (attributes org.gtk.Property.get=smarthost_probe_result_get_capabilities)
   *
   * The extensions the relay announced in its last EHLO reply, such as
   * `STARTTLS` or `AUTH PLAIN LOGIN`.
   */
  properties[PROP_CAPABILITIES] =
    g_param_spec_boxed ("capabilities", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbeResult:tls-version: (attributes org.gtk.Property.get=smarthost_probe_result_get_tls_version)
   *
   * The TLS version of the connection, such as `TLSv1.3`.
   */
  properties[PROP_TLS_VERSION] =
    g_param_spec_string ("tls-version", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbeResult:tls-cipher: (attributes org.gtk.Property.get=smarthost_probe_result_get_tls_cipher)
   *
   * The TLS cipher of the connection.
   */
  properties[PROP_TLS_CIPHER] =
    g_param_spec_string ("tls-cipher", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbeResult:certificate-subject: (attributes org.gtk.Property.get=smarthost_probe_result_get_certificate_subject)
   *
   * The subject of the relay's certificate.
   */
  properties[PROP_CERTIFICATE_SUBJECT] =
    g_param_spec_string ("certificate-subject", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbeResult:certificate-issuer: (attributes org.gtk.Property.get=smarthost_probe_result_get_certificate_issuer)
   *
   * The issuer of the relay's certificate.
   */
  properties[PROP_CERTIFICATE_ISSUER] =
    g_param_spec_string ("certificate-issuer", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbeResult:certificate-names: (attributes org.gtk.Property.get=smarthost_probe_result_get_certificate_names)
   *
   * The host names and addresses the relay's certificate is for.
   */
  properties[PROP_CERTIFICATE_NAMES] =
    g_param_spec_boxed ("certificate-names", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbeResult:certificate-expiry: (attributes org.gtk.Property.get=smarthost_probe_result_get_certificate_expiry)
   *
   * When the relay's certificate expires.
   */
  properties[PROP_CERTIFICATE_EXPIRY] =
    g_param_spec_boxed ("certificate-expiry", NULL, NULL, G_TYPE_DATE_TIME,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbeResult:certificate-verified: (attributes org.gtk.Property.get=smarthost_probe_result_get_certificate_verified)
   *
   * Whether the relay's certificate was verified and passed.
   */
  properties[PROP_CERTIFICATE_VERIFIED] =
    g_param_spec_boolean ("certificate-verified", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbeResult:verification: (attributes org.gtk.Property.get=smarthost_probe_result_get_verification)
   *
   * How the certificate verification went, in words.
   */
  properties[PROP_VERIFICATION] =
    g_param_spec_string ("verification", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbeResult:auth-mechanism: (attributes org.gtk.Property.get=smarthost_probe_result_get_auth_mechanism)
   *
   * The SASL mechanism used, such as `PLAIN`, or %NULL when the check
   * did not authenticate.
   */
  properties[PROP_AUTH_MECHANISM] =
    g_param_spec_string ("auth-mechanism", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbeResult:queue-reply: (attributes org.gtk.Property.get=smarthost_probe_result_get_queue_reply)
   *
   * The relay's reply to a test message, which usually names its queue ID.
   */
  properties[PROP_QUEUE_REPLY] =
    g_param_spec_string ("queue-reply", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbeResult:transcript: (attributes org.gtk.Property.get=smarthost_probe_result_get_transcript)
   *
   * The dialogue, one line each, `C: ` for what was sent and `S: ` for
   * what the relay replied. Credentials are masked.
   */
  properties[PROP_TRANSCRIPT] =
    g_param_spec_boxed ("transcript", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbeResult:warnings: (attributes org.gtk.Property.get=smarthost_probe_result_get_warnings)
   *
   * What is wrong with the relay's settings even when the check works,
   * such as a setting the mail server would refuse.
   */
  properties[PROP_WARNINGS] =
    g_param_spec_boxed ("warnings", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
smarthost_probe_result_init (SmarthostProbeResult *self)
{
  self->transcript = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->transcript, NULL);
  self->warnings = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (self->warnings, NULL);
}

SmarthostProbeResult *
_smarthost_probe_result_new (void)
{
  return g_object_new (SMARTHOST_TYPE_PROBE_RESULT, NULL);
}

/**
 * smarthost_probe_result_get_success: (get-property success)
 * @self: a result
 *
 * Tells whether the relay works.
 *
 * Returns: whether every stage worked
 */
gboolean
smarthost_probe_result_get_success (SmarthostProbeResult *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), FALSE);
  return self->success;
}

/**
 * smarthost_probe_result_get_failed_stage: (get-property failed-stage)
 * @self: a result
 *
 * Tells which stage failed.
 *
 * Returns: the stage that failed, or %SMARTHOST_PROBE_STAGE_NONE when the
 *   check succeeded
 */
SmarthostProbeStage
smarthost_probe_result_get_failed_stage (SmarthostProbeResult *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), SMARTHOST_PROBE_STAGE_NONE);
  return self->failed_stage;
}

/**
 * smarthost_probe_result_get_message: (get-property message)
 * @self: a result
 *
 * Describes the failure.
 *
 * Returns: (nullable): what went wrong, in words, including the relay's
 *   reply where there was one; %NULL on success
 */
const char *
smarthost_probe_result_get_message (SmarthostProbeResult *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), NULL);
  return self->message;
}

/**
 * smarthost_probe_result_get_hint: (get-property hint)
 * @self: a result
 *
 * Says what to do about the failure.
 *
 * Returns: (nullable): what to do about the failure, when it is one of the
 *   common mistakes (wrong port for the TLS mode, rejected credentials, an
 *   untrusted certificate, a blocked port…), or a warning on success
 */
const char *
smarthost_probe_result_get_hint (SmarthostProbeResult *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), NULL);
  return self->hint;
}

/**
 * smarthost_probe_result_get_address: (get-property address)
 * @self: a result
 *
 * Gets the address the check connected to.
 *
 * Returns: (nullable): the IP address connected to, if any
 */
const char *
smarthost_probe_result_get_address (SmarthostProbeResult *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), NULL);
  return self->address;
}

/**
 * smarthost_probe_result_get_stage_time:
 * @self: a result
 * @stage: a stage
 *
 * Gets how long a stage took.
 *
 * Returns: how long @stage took, in milliseconds; 0 for a stage not reached
 */
double
smarthost_probe_result_get_stage_time (SmarthostProbeResult *self,
                                       SmarthostProbeStage   stage)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), 0);
  g_return_val_if_fail (stage <= SMARTHOST_PROBE_STAGE_DONE, 0);
  return self->stage_ms[stage];
}

/**
 * smarthost_probe_result_get_greeting: (get-property greeting)
 * @self: a result
 *
 * Gets the greeting the relay sent.
 *
 * Returns: (nullable): the relay's greeting, such as `220 smtp.example.net ESMTP`
 */
const char *
smarthost_probe_result_get_greeting (SmarthostProbeResult *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), NULL);
  return self->greeting;
}

/**
 * smarthost_probe_result_get_capabilities: (get-property capabilities)
 * @self: a result
 *
 * Gets the SMTP extensions the relay announced.
 *
 * Returns: (array zero-terminated=1) (transfer none): the extensions the
 *   relay announced in its last EHLO reply, such as `STARTTLS` or
 *   `AUTH PLAIN LOGIN`; empty when the check did not get that far
 */
const char * const *
smarthost_probe_result_get_capabilities (SmarthostProbeResult *self)
{
  /* Empty, not NULL: GJS gives null for a NULL array, Python gives []. */
  static const char * const none[] = { NULL };

  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), NULL);
  return self->capabilities != NULL ? (const char * const *) self->capabilities : none;
}

/**
 * smarthost_probe_result_get_tls_version: (get-property tls-version)
 * @self: a result
 *
 * Gets the TLS version of the connection.
 *
 * Returns: (nullable): the TLS version, such as `TLSv1.3`, or %NULL
 *   without TLS
 */
const char *
smarthost_probe_result_get_tls_version (SmarthostProbeResult *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), NULL);
  return self->tls_version;
}

/**
 * smarthost_probe_result_get_tls_cipher: (get-property tls-cipher)
 * @self: a result
 *
 * Gets the TLS cipher suite of the connection.
 *
 * Returns: (nullable): the TLS cipher suite, or %NULL without TLS
 */
const char *
smarthost_probe_result_get_tls_cipher (SmarthostProbeResult *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), NULL);
  return self->tls_cipher;
}

/**
 * smarthost_probe_result_get_certificate_subject: (get-property certificate-subject)
 * @self: a result
 *
 * Gets the subject of the relay's certificate.
 *
 * Returns: (nullable): the subject of the relay's certificate
 */
const char *
smarthost_probe_result_get_certificate_subject (SmarthostProbeResult *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), NULL);
  return self->cert_subject;
}

/**
 * smarthost_probe_result_get_certificate_issuer: (get-property certificate-issuer)
 * @self: a result
 *
 * Gets the issuer of the relay's certificate.
 *
 * Returns: (nullable): the issuer of the relay's certificate
 */
const char *
smarthost_probe_result_get_certificate_issuer (SmarthostProbeResult *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), NULL);
  return self->cert_issuer;
}

/**
 * smarthost_probe_result_get_certificate_names: (get-property certificate-names)
 * @self: a result
 *
 * Gets the host names and addresses of the relay's certificate.
 *
 * Returns: (array zero-terminated=1) (transfer none): the names and
 *   addresses the relay's certificate is for; empty without a certificate
 */
const char * const *
smarthost_probe_result_get_certificate_names (SmarthostProbeResult *self)
{
  /* Empty, not NULL, as for the capabilities. */
  static const char * const none[] = { NULL };

  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), NULL);
  return self->cert_names != NULL ? (const char * const *) self->cert_names : none;
}

/**
 * smarthost_probe_result_get_certificate_expiry: (get-property certificate-expiry)
 * @self: a result
 *
 * Gets the expiry of the relay's certificate.
 *
 * Returns: (nullable) (transfer none): when the relay's certificate expires
 */
GDateTime *
smarthost_probe_result_get_certificate_expiry (SmarthostProbeResult *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), NULL);
  return self->cert_expiry;
}

/**
 * smarthost_probe_result_get_certificate_verified: (get-property certificate-verified)
 * @self: a result
 *
 * Tells whether the relay's certificate was verified.
 *
 * Returns: whether the relay's certificate was verified and passed: a
 *   trusted chain that names the relay's host. %FALSE when verification was
 *   turned off, even for a certificate that would have passed.
 */
gboolean
smarthost_probe_result_get_certificate_verified (SmarthostProbeResult *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), FALSE);
  return self->cert_verified;
}

/**
 * smarthost_probe_result_get_verification: (get-property verification)
 * @self: a result
 *
 * Describes how the certificate verification went.
 *
 * Returns: (nullable): the certificate verification in words, such as
 *   `verified`, `not verified (verification is off); it would fail: self-signed certificate`
 */
const char *
smarthost_probe_result_get_verification (SmarthostProbeResult *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), NULL);
  return self->verification;
}

/**
 * smarthost_probe_result_get_auth_mechanism: (get-property auth-mechanism)
 * @self: a result
 *
 * Gets the authentication mechanism used.
 *
 * Returns: (nullable): the SASL mechanism used, such as `PLAIN`, or %NULL
 *   when the check did not authenticate
 */
const char *
smarthost_probe_result_get_auth_mechanism (SmarthostProbeResult *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), NULL);
  return self->auth_mechanism;
}

/**
 * smarthost_probe_result_get_queue_reply: (get-property queue-reply)
 * @self: a result
 *
 * Gets the relay's reply to the test message.
 *
 * Returns: (nullable): the relay's reply to a test message, which usually
 *   names its queue ID, such as `250 2.0.0 Ok: queued as 4FgT2X`
 */
const char *
smarthost_probe_result_get_queue_reply (SmarthostProbeResult *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), NULL);
  return self->queue_reply;
}

/**
 * smarthost_probe_result_get_transcript: (get-property transcript)
 * @self: a result
 *
 * The dialogue, one line each, `C: ` for what was sent and `S: ` for what
 * the relay replied. Credentials are masked.
 *
 * Returns: (array zero-terminated=1) (transfer none): the transcript
 */
const char * const *
smarthost_probe_result_get_transcript (SmarthostProbeResult *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), NULL);
  return (const char * const *) self->transcript->pdata;
}

/**
 * smarthost_probe_result_get_warnings: (get-property warnings)
 * @self: a result
 *
 * Lists what is wrong with the relay's settings whether or not the check
 * works: a check connects the way it is told to, while the mail server may
 * refuse the same settings (for instance a certificate verified against an
 * IP address, which Postfix cannot do).
 *
 * Returns: (array zero-terminated=1) (transfer none): the warnings, one
 *   sentence each; empty when there are none
 */
const char * const *
smarthost_probe_result_get_warnings (SmarthostProbeResult *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), NULL);
  return (const char * const *) self->warnings->pdata;
}

/**
 * smarthost_probe_stage_to_string:
 * @stage: a stage
 *
 * Names a stage.
 *
 * Returns: the stage's name as JSON spells it, such as `starttls`
 */
const char *
smarthost_probe_stage_to_string (SmarthostProbeStage stage)
{
  static const char *names[] = { "none", "resolve", "connect", "greeting", "ehlo", "starttls",
                                 "tls", "auth", "mail", "rcpt", "data", "quit", "done" };

  return stage <= SMARTHOST_PROBE_STAGE_DONE ? names[stage] : "invalid";
}

/**
 * smarthost_probe_result_to_string:
 * @self: a result
 *
 * Describes the result for people, in a few lines: whether the relay
 * works, what failed and what to do, then what was seen (address, TLS,
 * certificate, authentication, timings).
 *
 * Returns: (transfer full): the description, ending in a newline
 */
char *
smarthost_probe_result_to_string (SmarthostProbeResult *self)
{
  GString *s;

  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), NULL);

  s = g_string_new (NULL);
  g_string_append_printf (s, "Relay %s port %u (%s): ", self->host ? self->host : "?", self->port,
                          self->security ? self->security : "?");
  if (self->success)
    g_string_append (s, self->sent_message ? "works; the test message was accepted\n" : "works\n");
  else
    g_string_append_printf (s, "FAILED at %s: %s\n", smarthost_probe_stage_to_string (self->failed_stage),
                            self->message ? self->message : "unknown error");
  if (self->hint)
    g_string_append_printf (s, "  What to do: %s\n", self->hint);
  for (guint i = 0; i + 1 < self->warnings->len; i++)
    g_string_append_printf (s, "  Warning: %s\n", (const char *) g_ptr_array_index (self->warnings, i));
  if (self->address)
    g_string_append_printf (s, "  Address: %s\n", self->address);
  if (self->greeting)
    g_string_append_printf (s, "  Greeting: %s\n", self->greeting);
  if (self->tls_version)
    g_string_append_printf (s, "  TLS: %s, %s\n", self->tls_version, self->tls_cipher);
  if (self->cert_subject)
    {
      g_autofree char *names = self->cert_names ? g_strjoinv (", ", self->cert_names) : g_strdup ("");
      g_autofree char *expiry = self->cert_expiry ? g_date_time_format (self->cert_expiry, "%Y-%m-%d") : NULL;
      g_string_append_printf (s, "  Certificate: %s, issued by %s, for %s, expires %s\n",
                              self->cert_subject, self->cert_issuer ? self->cert_issuer : "?",
                              *names ? names : "(no names)", expiry ? expiry : "?");
    }
  if (self->verification)
    g_string_append_printf (s, "  Verification: %s\n", self->verification);
  if (self->auth_mechanism)
    g_string_append_printf (s, "  Authentication: %s\n", self->auth_mechanism);
  if (self->queue_reply)
    g_string_append_printf (s, "  Relay's reply to the message: %s\n", self->queue_reply);
  g_string_append (s, "  Timings:");
  for (SmarthostProbeStage st = SMARTHOST_PROBE_STAGE_RESOLVE; st < SMARTHOST_PROBE_STAGE_DONE; st++)
    if (self->stage_ms[st] > 0)
      g_string_append_printf (s, " %s %.1f ms", smarthost_probe_stage_to_string (st), self->stage_ms[st]);
  g_string_append_c (s, '\n');
  return g_string_free (s, FALSE);
}

/**
 * smarthost_probe_result_to_json:
 * @self: a result
 *
 * Describes the result in JSON: `success`, `stage` (the last reached),
 * `failed_stage`, `message`, `hint`, `host`, `port`, `security`,
 * `address`, `timings_ms` (per stage), `greeting`, `capabilities`, `tls`
 * (`version`, `cipher`, `certificate` with `subject`, `issuer`, `names`,
 * `expires`, and `verified`, `verification`), `auth_mechanism`,
 * `queue_reply`, `transcript` and `warnings`.
 *
 * Returns: (transfer full): a JSON object, pretty-printed
 */
char *
smarthost_probe_result_to_json (SmarthostProbeResult *self)
{
  g_autoptr(json_t) root = json_object ();
  json_t *timings, *tls;

  g_return_val_if_fail (SMARTHOST_IS_PROBE_RESULT (self), NULL);

  json_object_set_new (root, "success", json_boolean (self->success));
  json_object_set_new (root, "stage", _smarthost_json_string (smarthost_probe_stage_to_string (self->stage)));
  json_object_set_new (root, "failed_stage",
                       _smarthost_json_string (self->success ? NULL : smarthost_probe_stage_to_string (self->failed_stage)));
  json_object_set_new (root, "message", _smarthost_json_string (self->message));
  json_object_set_new (root, "hint", _smarthost_json_string (self->hint));
  json_object_set_new (root, "host", _smarthost_json_string (self->host));
  json_object_set_new (root, "port", json_integer (self->port));
  json_object_set_new (root, "security", _smarthost_json_string (self->security));
  json_object_set_new (root, "address", _smarthost_json_string (self->address));

  json_object_set_new (root, "timings_ms", timings = json_object ());
  for (SmarthostProbeStage s = SMARTHOST_PROBE_STAGE_RESOLVE; s < SMARTHOST_PROBE_STAGE_DONE; s++)
    if (self->stage_ms[s] > 0)
      json_object_set_new (timings, smarthost_probe_stage_to_string (s),
                           json_real (round (self->stage_ms[s] * 1000) / 1000));

  json_object_set_new (root, "greeting", _smarthost_json_string (self->greeting));
  json_object_set_new (root, "capabilities", _smarthost_json_strv ((const char * const *) self->capabilities));

  if (self->tls_version == NULL)
    json_object_set_new (root, "tls", json_null ());
  else
    {
      g_autofree char *iso = self->cert_expiry ? g_date_time_format_iso8601 (self->cert_expiry) : NULL;
      json_t *certificate;

      json_object_set_new (root, "tls", tls = json_object ());
      json_object_set_new (tls, "version", _smarthost_json_string (self->tls_version));
      json_object_set_new (tls, "cipher", _smarthost_json_string (self->tls_cipher));
      json_object_set_new (tls, "certificate", certificate = json_object ());
      json_object_set_new (certificate, "subject", _smarthost_json_string (self->cert_subject));
      json_object_set_new (certificate, "issuer", _smarthost_json_string (self->cert_issuer));
      json_object_set_new (certificate, "names", _smarthost_json_strv ((const char * const *) self->cert_names));
      json_object_set_new (certificate, "expires", _smarthost_json_string (iso));
      json_object_set_new (tls, "verified", json_boolean (self->cert_verified));
      json_object_set_new (tls, "verification", _smarthost_json_string (self->verification));
    }

  json_object_set_new (root, "auth_mechanism", _smarthost_json_string (self->auth_mechanism));
  json_object_set_new (root, "queue_reply", _smarthost_json_string (self->queue_reply));
  json_object_set_new (root, "transcript", _smarthost_json_strv ((const char * const *) self->transcript->pdata));
  json_object_set_new (root, "warnings", _smarthost_json_strv ((const char * const *) self->warnings->pdata));
  return _smarthost_json_to_data (root, NULL);
}
