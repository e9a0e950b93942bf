/* smarthost-probe-private.h: the probe fills in its result directly
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "smarthost-probe-result.h"

G_BEGIN_DECLS

struct _SmarthostProbeResult
{
  GObject parent_instance;

  gboolean success;
  SmarthostProbeStage stage;          /* the last stage started */
  SmarthostProbeStage failed_stage;   /* NONE on success */
  char *message;
  char *hint;
  char *host;
  guint port;
  char *security;
  gboolean sent_message;
  char *address;
  double stage_ms[SMARTHOST_PROBE_STAGE_DONE + 1];
  char *greeting;
  GStrv capabilities;
  char *tls_version;
  char *tls_cipher;
  char *cert_subject;
  char *cert_issuer;
  GStrv cert_names;
  GDateTime *cert_expiry;
  gboolean cert_checked;              /* verification was asked for */
  gboolean cert_verified;
  char *verification;
  char *auth_mechanism;
  char *queue_reply;
  GPtrArray *transcript;
  GPtrArray *warnings;                /* NULL-terminated */
};

SmarthostProbeResult *_smarthost_probe_result_new (void);

G_END_DECLS
