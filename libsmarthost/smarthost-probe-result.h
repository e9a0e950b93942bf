/* smarthost-probe-result.h: what a connection check found
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(__SMARTHOST_H_INSIDE__) && !defined(SMARTHOST_COMPILATION)
#error "Only <smarthost.h> can be included directly."
#endif

#include <glib-object.h>
#include "smarthost-version.h"

G_BEGIN_DECLS

/**
 * SmarthostProbeStage:
 * @SMARTHOST_PROBE_STAGE_NONE: nothing was done yet
 * @SMARTHOST_PROBE_STAGE_RESOLVE: looking up the relay's addresses (and MX
 *   records, with mx-lookup)
 * @SMARTHOST_PROBE_STAGE_CONNECT: opening the TCP connection
 * @SMARTHOST_PROBE_STAGE_GREETING: reading the relay's 220 greeting
 * @SMARTHOST_PROBE_STAGE_EHLO: EHLO, and the relay's extensions
 * @SMARTHOST_PROBE_STAGE_STARTTLS: the STARTTLS command
 * @SMARTHOST_PROBE_STAGE_TLS: the TLS handshake and certificate check
 * @SMARTHOST_PROBE_STAGE_AUTH: authentication
 * @SMARTHOST_PROBE_STAGE_MAIL: MAIL FROM of a test message
 * @SMARTHOST_PROBE_STAGE_RCPT: RCPT TO of a test message
 * @SMARTHOST_PROBE_STAGE_DATA: the test message itself
 * @SMARTHOST_PROBE_STAGE_QUIT: saying goodbye
 * @SMARTHOST_PROBE_STAGE_DONE: everything worked
 *
 * The stages of a connection check, in order.
 */
typedef enum {
  SMARTHOST_PROBE_STAGE_NONE,
  SMARTHOST_PROBE_STAGE_RESOLVE,
  SMARTHOST_PROBE_STAGE_CONNECT,
  SMARTHOST_PROBE_STAGE_GREETING,
  SMARTHOST_PROBE_STAGE_EHLO,
  SMARTHOST_PROBE_STAGE_STARTTLS,
  SMARTHOST_PROBE_STAGE_TLS,
  SMARTHOST_PROBE_STAGE_AUTH,
  SMARTHOST_PROBE_STAGE_MAIL,
  SMARTHOST_PROBE_STAGE_RCPT,
  SMARTHOST_PROBE_STAGE_DATA,
  SMARTHOST_PROBE_STAGE_QUIT,
  SMARTHOST_PROBE_STAGE_DONE,
} SmarthostProbeStage;

#define SMARTHOST_TYPE_PROBE_RESULT (smarthost_probe_result_get_type ())

SMARTHOST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (SmarthostProbeResult, smarthost_probe_result, SMARTHOST, PROBE_RESULT, GObject)

SMARTHOST_AVAILABLE_IN_ALL
gboolean             smarthost_probe_result_get_success              (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostProbeStage  smarthost_probe_result_get_failed_stage         (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
const char          *smarthost_probe_result_get_message              (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
const char          *smarthost_probe_result_get_hint                 (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
const char          *smarthost_probe_result_get_address              (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
double               smarthost_probe_result_get_stage_time           (SmarthostProbeResult *self,
                                                                      SmarthostProbeStage   stage);
SMARTHOST_AVAILABLE_IN_ALL
const char          *smarthost_probe_result_get_greeting             (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
const char * const  *smarthost_probe_result_get_capabilities         (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
const char          *smarthost_probe_result_get_tls_version          (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
const char          *smarthost_probe_result_get_tls_cipher           (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
const char          *smarthost_probe_result_get_certificate_subject  (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
const char          *smarthost_probe_result_get_certificate_issuer   (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
const char * const  *smarthost_probe_result_get_certificate_names    (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
GDateTime           *smarthost_probe_result_get_certificate_expiry   (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean             smarthost_probe_result_get_certificate_verified (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
const char          *smarthost_probe_result_get_verification         (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
const char          *smarthost_probe_result_get_auth_mechanism       (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
const char          *smarthost_probe_result_get_queue_reply          (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
const char * const  *smarthost_probe_result_get_transcript           (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
const char * const  *smarthost_probe_result_get_warnings             (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
char                *smarthost_probe_result_to_json                  (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
char                *smarthost_probe_result_to_string                (SmarthostProbeResult *self);
SMARTHOST_AVAILABLE_IN_ALL
const char          *smarthost_probe_stage_to_string                 (SmarthostProbeStage   stage);

G_END_DECLS
