/* smarthost-relay.h: the settings of one smarthost
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
 * SmarthostSecurity:
 * @SMARTHOST_SECURITY_NONE: no encryption is required. STARTTLS is used when
 *   the relay offers it, without verifying the certificate; otherwise the
 *   session, credentials included, travels in clear. Choose this only for a
 *   relay on a trusted network.
 * @SMARTHOST_SECURITY_STARTTLS: the session starts in clear and must switch
 *   to TLS with STARTTLS before anything else is sent (usually port 587 or
 *   2525)
 * @SMARTHOST_SECURITY_TLS: implicit TLS: the connection is encrypted from the
 *   first byte (usually port 465, "SMTPS")
 *
 * How the connection to a relay is protected.
 */
typedef enum {
  SMARTHOST_SECURITY_NONE,
  SMARTHOST_SECURITY_STARTTLS,
  SMARTHOST_SECURITY_TLS,
} SmarthostSecurity;

/**
 * SMARTHOST_PASSWORD_MASK:
 *
 * What libsmarthost prints in place of a password.
 */
#define SMARTHOST_PASSWORD_MASK "********"

/**
 * SMARTHOST_JSON_MAX_SIZE:
 *
 * The longest JSON text [ctor@State.new_from_json] and
 * [ctor@Relay.new_from_json] read, in bytes: 128 MiB. A state of 200,000
 * domains, each with its own relay and credentials, as
 * `smarthostctl status --json` prints it, takes about 70 MB; longer text is
 * refused before it is parsed, since the parse would take several times
 * its size in memory.
 */
#define SMARTHOST_JSON_MAX_SIZE (128 * 1024 * 1024)

/**
 * SMARTHOST_JSON_MAX_DEPTH:
 *
 * How deep arrays and objects may be nested in JSON text that
 * [ctor@State.new_from_json] and [ctor@Relay.new_from_json] read: 32. A
 * state nests three deep (the state, its domains, a relay); text nested
 * deeper is refused before it is parsed, since the parser would need a
 * level of the process's stack for each level of nesting.
 */
#define SMARTHOST_JSON_MAX_DEPTH 32

/**
 * SmarthostJsonFlags:
 * @SMARTHOST_JSON_FLAGS_NONE: passwords only by reference: `password_file`
 *   (a file holding the password) or `password_env` (an environment
 *   variable holding it)
 * @SMARTHOST_JSON_FLAGS_ALLOW_INLINE_PASSWORD: also accept a `password` key
 *   holding the password itself
 *
 * How relays and states are read from JSON ([ctor@Relay.new_from_json],
 * [ctor@State.new_from_json]).
 */
typedef enum /*< flags >*/ {
  SMARTHOST_JSON_FLAGS_NONE = 0,
  SMARTHOST_JSON_FLAGS_ALLOW_INLINE_PASSWORD = 1 << 0,
} SmarthostJsonFlags;

#define SMARTHOST_TYPE_RELAY (smarthost_relay_get_type ())

SMARTHOST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (SmarthostRelay, smarthost_relay, SMARTHOST, RELAY, GObject)

SMARTHOST_AVAILABLE_IN_ALL
SmarthostRelay    *smarthost_relay_new                  (const char        *host);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostRelay    *smarthost_relay_copy                 (SmarthostRelay    *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean           smarthost_relay_equal                (SmarthostRelay    *self,
                                                         SmarthostRelay    *other);
SMARTHOST_AVAILABLE_IN_ALL
gboolean           smarthost_relay_validate             (SmarthostRelay    *self,
                                                         GError           **error);
SMARTHOST_AVAILABLE_IN_ALL
char              *smarthost_relay_to_string            (SmarthostRelay    *self);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostRelay    *smarthost_relay_new_from_json        (const char        *json,
                                                         SmarthostJsonFlags flags,
                                                         GError           **error);
SMARTHOST_AVAILABLE_IN_ALL
char              *smarthost_relay_to_json              (SmarthostRelay    *self);

SMARTHOST_AVAILABLE_IN_ALL
char              *smarthost_read_password_file         (const char        *path,
                                                         GError           **error);

SMARTHOST_AVAILABLE_IN_ALL
const char        *smarthost_relay_get_host             (SmarthostRelay    *self);
SMARTHOST_AVAILABLE_IN_ALL
void               smarthost_relay_set_host             (SmarthostRelay    *self,
                                                         const char        *host);
SMARTHOST_AVAILABLE_IN_ALL
guint              smarthost_relay_get_port             (SmarthostRelay    *self);
SMARTHOST_AVAILABLE_IN_ALL
void               smarthost_relay_set_port             (SmarthostRelay    *self,
                                                         guint              port);
SMARTHOST_AVAILABLE_IN_ALL
guint              smarthost_relay_get_effective_port   (SmarthostRelay    *self);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostSecurity  smarthost_relay_get_security         (SmarthostRelay    *self);
SMARTHOST_AVAILABLE_IN_ALL
void               smarthost_relay_set_security         (SmarthostRelay    *self,
                                                         SmarthostSecurity  security);
SMARTHOST_AVAILABLE_IN_ALL
gboolean           smarthost_relay_get_mx_lookup        (SmarthostRelay    *self);
SMARTHOST_AVAILABLE_IN_ALL
void               smarthost_relay_set_mx_lookup        (SmarthostRelay    *self,
                                                         gboolean           mx_lookup);
SMARTHOST_AVAILABLE_IN_ALL
gboolean           smarthost_relay_get_verify_certificate (SmarthostRelay  *self);
SMARTHOST_AVAILABLE_IN_ALL
void               smarthost_relay_set_verify_certificate (SmarthostRelay  *self,
                                                           gboolean         verify_certificate);
SMARTHOST_AVAILABLE_IN_ALL
const char        *smarthost_relay_get_ca_file          (SmarthostRelay    *self);
SMARTHOST_AVAILABLE_IN_ALL
void               smarthost_relay_set_ca_file          (SmarthostRelay    *self,
                                                         const char        *ca_file);
SMARTHOST_AVAILABLE_IN_ALL
const char        *smarthost_relay_get_username         (SmarthostRelay    *self);
SMARTHOST_AVAILABLE_IN_ALL
void               smarthost_relay_set_username         (SmarthostRelay    *self,
                                                         const char        *username);
SMARTHOST_AVAILABLE_IN_ALL
const char        *smarthost_relay_get_password         (SmarthostRelay    *self);
SMARTHOST_AVAILABLE_IN_ALL
void               smarthost_relay_set_password         (SmarthostRelay    *self,
                                                         const char        *password);
SMARTHOST_AVAILABLE_IN_ALL
gboolean           smarthost_relay_get_password_set     (SmarthostRelay    *self);

SMARTHOST_AVAILABLE_IN_ALL
const char        *smarthost_security_to_string         (SmarthostSecurity  security);
SMARTHOST_AVAILABLE_IN_ALL
gboolean           smarthost_security_from_string       (const char        *text,
                                                         SmarthostSecurity *security,
                                                         GError           **error);
SMARTHOST_AVAILABLE_IN_ALL
guint              smarthost_security_get_default_port  (SmarthostSecurity  security);

SMARTHOST_AVAILABLE_IN_ALL
char              *smarthost_domain_normalize           (const char        *domain,
                                                         GError           **error);


G_END_DECLS
