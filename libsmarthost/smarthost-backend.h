/* smarthost-backend.h: the interface every mail-server backend implements
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(__SMARTHOST_H_INSIDE__) && !defined(SMARTHOST_COMPILATION)
#error "Only <smarthost.h> can be included directly."
#endif

#include <gio/gio.h>
#include "smarthost-version.h"
#include "smarthost-relay.h"
#include "smarthost-finding.h"
#include "smarthost-state.h"
#include "smarthost-backend-setting.h"
#include "smarthost-change.h"

G_BEGIN_DECLS

/**
 * SMARTHOST_BACKEND_EXTENSION_POINT_NAME:
 *
 * The name of the [struct@Gio.IOExtensionPoint] that backends implement.
 * It is registered with the type of [iface@Backend], so a backend written
 * outside the library implements it from its own type's definition
 * (`g_io_extension_point_implement (SMARTHOST_BACKEND_EXTENSION_POINT_NAME,
 * g_define_type_id, "name", priority)` after `G_IMPLEMENT_INTERFACE`); then
 * [func@Backend.new_for_name] finds it by name once its type exists.
 */
#define SMARTHOST_BACKEND_EXTENSION_POINT_NAME "smarthost-backend"

/**
 * SmarthostCapabilities:
 * @SMARTHOST_CAPABILITY_NONE: nothing
 * @SMARTHOST_CAPABILITY_SERVER_RELAY: a server-wide smarthost
 * @SMARTHOST_CAPABILITY_DOMAIN_RELAY: a smarthost per sender domain, which
 *   wins over the server-wide one for mail from that domain
 * @SMARTHOST_CAPABILITY_DOMAIN_CREDENTIALS: each domain authenticates with
 *   its own credentials, even when domains share a relay host and port
 * @SMARTHOST_CAPABILITY_STARTTLS: %SMARTHOST_SECURITY_STARTTLS
 * @SMARTHOST_CAPABILITY_IMPLICIT_TLS: %SMARTHOST_SECURITY_TLS
 * @SMARTHOST_CAPABILITY_CA_FILE: a CA file of the relay's own
 * @SMARTHOST_CAPABILITY_NO_VERIFY: certificate verification can be turned off
 * @SMARTHOST_CAPABILITY_MX_LOOKUP: the relay host can be a mail domain whose
 *   MX records are looked up
 * @SMARTHOST_CAPABILITY_PREVIEW: [method@Transaction.preview] shows the
 *   exact change before it is made
 * @SMARTHOST_CAPABILITY_ADOPT: [method@Transaction.adopt] takes a
 *   hand-made smarthost setup under the library's management
 * @SMARTHOST_CAPABILITY_DIAGNOSE: [method@Backend.diagnose] finds what is
 *   wrong with the mail server's smarthost setup
 * @SMARTHOST_CAPABILITY_CRASH_SAFE: a commit interrupted by a crash or a
 *   power cut is finished or undone the next time the backend is used; the
 *   configuration is never left half-written
 * @SMARTHOST_CAPABILITY_RESTART_NEEDED: a change takes effect only once the
 *   mail service restarts (which the commit does, unless told not to),
 *   interrupting mail for a moment; without it, the server reloads its
 *   configuration or needs nothing
 *
 * What a backend can configure and how it behaves. Asking for anything it
 * cannot do fails with %SMARTHOST_ERROR_NOT_SUPPORTED.
 */
typedef enum /*< flags >*/ {
  SMARTHOST_CAPABILITY_NONE = 0,
  SMARTHOST_CAPABILITY_SERVER_RELAY = 1 << 0,
  SMARTHOST_CAPABILITY_DOMAIN_RELAY = 1 << 1,
  SMARTHOST_CAPABILITY_DOMAIN_CREDENTIALS = 1 << 2,
  SMARTHOST_CAPABILITY_STARTTLS = 1 << 3,
  SMARTHOST_CAPABILITY_IMPLICIT_TLS = 1 << 4,
  SMARTHOST_CAPABILITY_CA_FILE = 1 << 5,
  SMARTHOST_CAPABILITY_NO_VERIFY = 1 << 6,
  SMARTHOST_CAPABILITY_MX_LOOKUP = 1 << 7,
  SMARTHOST_CAPABILITY_PREVIEW = 1 << 8,
  SMARTHOST_CAPABILITY_ADOPT = 1 << 9,
  SMARTHOST_CAPABILITY_DIAGNOSE = 1 << 10,
  SMARTHOST_CAPABILITY_CRASH_SAFE = 1 << 11,
  SMARTHOST_CAPABILITY_RESTART_NEEDED = 1 << 12,
} SmarthostCapabilities;

typedef struct _SmarthostTransaction SmarthostTransaction;

#define SMARTHOST_TYPE_BACKEND (smarthost_backend_get_type ())

SMARTHOST_AVAILABLE_IN_ALL
G_DECLARE_INTERFACE (SmarthostBackend, smarthost_backend, SMARTHOST, BACKEND, GObject)

/**
 * SmarthostBackendInterface:
 * @g_iface: the parent interface
 * @get_name: returns the backend's name, such as `postfix`; required
 * @get_capabilities: returns what the backend can configure; required
 * @validate_relay: refuses relays the mail server cannot carry, with
 *   %SMARTHOST_ERROR_INVALID naming the field; optional
 * @get_server: reads the server-wide relay; required
 * @get_server_async: optional; the default runs @get_server in a thread
 * @get_server_finish: optional; pairs with @get_server_async
 * @get_domain: reads one domain's relay; required
 * @get_domain_async: optional; the default runs @get_domain in a thread
 * @get_domain_finish: optional; pairs with @get_domain_async
 * @list_domains: lists the domains that have a relay of their own; required
 * @list_domains_async: optional; the default runs @list_domains in a thread
 * @list_domains_finish: optional; pairs with @list_domains_async
 * @preview: describes what committing a transaction would change; required
 *   unless the backend has @build_change
 * @commit: applies a transaction all-or-nothing; sets *@changed; required
 *   unless the backend has @build_change
 * @get_domains: reads every domain's relay in one consistent read;
 *   optional (the default calls @list_domains, then @get_domain for each)
 * @diagnose: reads the mail server's configuration and returns what is
 *   wrong with its smarthost setup, as [class@Finding]s; changes nothing;
 *   optional (a backend that has it declares
 *   %SMARTHOST_CAPABILITY_DIAGNOSE; without either, a diagnosis fails with
 *   %SMARTHOST_ERROR_NOT_SUPPORTED)
 * @get_state: reads the server-wide relay and every domain's relay in one
 *   consistent read; optional (the default calls @get_server, then
 *   @get_domains, and a commit may come in between)
 * @list_settings: declares the settings the backend is constructed with,
 *   each the name of one of its properties; optional (the default declares
 *   none)
 * @get_state_directory: names the directory where commits keep their lock
 *   and journal (see [method@Backend.get_state_directory]); required with
 *   @build_change
 * @build_change: reads the current state and adds to a [class@Change] the
 *   [class@Operation]s that make what it asks for; the core then previews
 *   or commits them (see [method@Backend.build_change]). A backend that has
 *   it (and @get_state_directory) needs neither @preview nor @commit
 *
 * The virtual methods of [iface@Backend]. The async methods of transactions
 * run @build_change (or @preview and @commit) in a thread, so it must be
 * thread-safe; with @build_change the core serializes commits (a lock on
 * the state directory that also excludes other processes), otherwise the
 * backend does. A backend that leaves out a required method fails with
 * %SMARTHOST_ERROR_NOT_SUPPORTED when it is called.
 *
 * A backend can be written outside the library with the public headers
 * alone: @build_change, @get_state_directory, the reads and operation
 * kinds of its own ([class@Operation]); `doc/overview.md` ("Writing a
 * backend") walks through the test backend of the conformance suite.
 * A backend written in a language whose code cannot run in other threads
 * (GJS) must also implement the async methods itself.
 */
struct _SmarthostBackendInterface
{
  GTypeInterface g_iface;

  const char           *(*get_name)            (SmarthostBackend     *self);
  SmarthostCapabilities (*get_capabilities)    (SmarthostBackend     *self);
  gboolean              (*validate_relay)      (SmarthostBackend     *self,
                                                SmarthostRelay       *relay,
                                                GError              **error);

  SmarthostRelay       *(*get_server)          (SmarthostBackend     *self,
                                                GCancellable         *cancellable,
                                                GError              **error);
  void                  (*get_server_async)    (SmarthostBackend     *self,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
  SmarthostRelay       *(*get_server_finish)   (SmarthostBackend     *self,
                                                GAsyncResult         *result,
                                                GError              **error);

  SmarthostRelay       *(*get_domain)          (SmarthostBackend     *self,
                                                const char           *domain,
                                                GCancellable         *cancellable,
                                                GError              **error);
  void                  (*get_domain_async)    (SmarthostBackend     *self,
                                                const char           *domain,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
  SmarthostRelay       *(*get_domain_finish)   (SmarthostBackend     *self,
                                                GAsyncResult         *result,
                                                GError              **error);

  char                **(*list_domains)        (SmarthostBackend     *self,
                                                GCancellable         *cancellable,
                                                GError              **error);
  void                  (*list_domains_async)  (SmarthostBackend     *self,
                                                GCancellable         *cancellable,
                                                GAsyncReadyCallback   callback,
                                                gpointer              user_data);
  char                **(*list_domains_finish) (SmarthostBackend     *self,
                                                GAsyncResult         *result,
                                                GError              **error);

  char                 *(*preview)             (SmarthostBackend     *self,
                                                SmarthostTransaction *transaction,
                                                GCancellable         *cancellable,
                                                GError              **error);
  gboolean              (*commit)              (SmarthostBackend     *self,
                                                SmarthostTransaction *transaction,
                                                gboolean             *changed,
                                                GCancellable         *cancellable,
                                                GError              **error);

  GPtrArray            *(*diagnose)            (SmarthostBackend     *self,
                                                GCancellable         *cancellable,
                                                GError              **error);

  GHashTable           *(*get_domains)         (SmarthostBackend     *self,
                                                GCancellable         *cancellable,
                                                GError              **error);

  SmarthostState       *(*get_state)           (SmarthostBackend     *self,
                                                GCancellable         *cancellable,
                                                GError              **error);

  GPtrArray            *(*list_settings)       (SmarthostBackend     *self);

  char                 *(*get_state_directory) (SmarthostBackend     *self,
                                                GError              **error);
  gboolean              (*build_change)        (SmarthostBackend     *self,
                                                SmarthostChange      *change,
                                                GCancellable         *cancellable,
                                                GError              **error);

  /*< private >*/
  gpointer padding[6];
};

SMARTHOST_AVAILABLE_IN_ALL
const char            *smarthost_backend_get_name          (SmarthostBackend     *self);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostCapabilities  smarthost_backend_get_capabilities  (SmarthostBackend     *self);
SMARTHOST_AVAILABLE_IN_ALL
GPtrArray             *smarthost_backend_list_settings     (SmarthostBackend     *self);
SMARTHOST_AVAILABLE_IN_ALL
gboolean               smarthost_backend_validate_relay    (SmarthostBackend     *self,
                                                            SmarthostRelay       *relay,
                                                            GError              **error);

SMARTHOST_AVAILABLE_IN_ALL
SmarthostRelay        *smarthost_backend_get_server        (SmarthostBackend     *self,
                                                            GCancellable         *cancellable,
                                                            GError              **error);
SMARTHOST_AVAILABLE_IN_ALL
void                   smarthost_backend_get_server_async  (SmarthostBackend     *self,
                                                            GCancellable         *cancellable,
                                                            GAsyncReadyCallback   callback,
                                                            gpointer              user_data);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostRelay        *smarthost_backend_get_server_finish (SmarthostBackend     *self,
                                                            GAsyncResult         *result,
                                                            GError              **error);

SMARTHOST_AVAILABLE_IN_ALL
SmarthostRelay        *smarthost_backend_get_domain        (SmarthostBackend     *self,
                                                            const char           *domain,
                                                            GCancellable         *cancellable,
                                                            GError              **error);
SMARTHOST_AVAILABLE_IN_ALL
void                   smarthost_backend_get_domain_async  (SmarthostBackend     *self,
                                                            const char           *domain,
                                                            GCancellable         *cancellable,
                                                            GAsyncReadyCallback   callback,
                                                            gpointer              user_data);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostRelay        *smarthost_backend_get_domain_finish (SmarthostBackend     *self,
                                                            GAsyncResult         *result,
                                                            GError              **error);

SMARTHOST_AVAILABLE_IN_ALL
char                 **smarthost_backend_list_domains      (SmarthostBackend     *self,
                                                            GCancellable         *cancellable,
                                                            GError              **error);
SMARTHOST_AVAILABLE_IN_ALL
void                   smarthost_backend_list_domains_async (SmarthostBackend    *self,
                                                             GCancellable        *cancellable,
                                                             GAsyncReadyCallback  callback,
                                                             gpointer             user_data);
SMARTHOST_AVAILABLE_IN_ALL
char                 **smarthost_backend_list_domains_finish (SmarthostBackend   *self,
                                                              GAsyncResult       *result,
                                                              GError            **error);

SMARTHOST_AVAILABLE_IN_ALL
GHashTable            *smarthost_backend_get_domains       (SmarthostBackend     *self,
                                                            GCancellable         *cancellable,
                                                            GError              **error);
SMARTHOST_AVAILABLE_IN_ALL
void                   smarthost_backend_get_domains_async (SmarthostBackend     *self,
                                                            GCancellable         *cancellable,
                                                            GAsyncReadyCallback   callback,
                                                            gpointer              user_data);
SMARTHOST_AVAILABLE_IN_ALL
GHashTable            *smarthost_backend_get_domains_finish (SmarthostBackend    *self,
                                                             GAsyncResult        *result,
                                                             GError             **error);

SMARTHOST_AVAILABLE_IN_ALL
SmarthostState        *smarthost_backend_get_state         (SmarthostBackend     *self,
                                                            GCancellable         *cancellable,
                                                            GError              **error);
SMARTHOST_AVAILABLE_IN_ALL
void                   smarthost_backend_get_state_async   (SmarthostBackend     *self,
                                                            GCancellable         *cancellable,
                                                            GAsyncReadyCallback   callback,
                                                            gpointer              user_data);
SMARTHOST_AVAILABLE_IN_ALL
SmarthostState        *smarthost_backend_get_state_finish  (SmarthostBackend     *self,
                                                            GAsyncResult         *result,
                                                            GError              **error);

SMARTHOST_AVAILABLE_IN_ALL
GPtrArray             *smarthost_backend_diagnose          (SmarthostBackend     *self,
                                                            GCancellable         *cancellable,
                                                            GError              **error);
SMARTHOST_AVAILABLE_IN_ALL
void                   smarthost_backend_diagnose_async    (SmarthostBackend     *self,
                                                            GCancellable         *cancellable,
                                                            GAsyncReadyCallback   callback,
                                                            gpointer              user_data);
SMARTHOST_AVAILABLE_IN_ALL
GPtrArray             *smarthost_backend_diagnose_finish   (SmarthostBackend     *self,
                                                            GAsyncResult         *result,
                                                            GError              **error);

SMARTHOST_AVAILABLE_IN_ALL
char                  *smarthost_backend_get_state_directory (SmarthostBackend   *self,
                                                              GError            **error);
SMARTHOST_AVAILABLE_IN_ALL
char                  *smarthost_backend_get_default_state_directory (const char  *name);
SMARTHOST_AVAILABLE_IN_ALL
gboolean               smarthost_backend_build_change      (SmarthostBackend     *self,
                                                            SmarthostChange      *change,
                                                            GCancellable         *cancellable,
                                                            GError              **error);
SMARTHOST_AVAILABLE_IN_ALL
gboolean               smarthost_backend_recover           (SmarthostBackend     *self,
                                                            GCancellable         *cancellable,
                                                            GError              **error);

SMARTHOST_AVAILABLE_IN_ALL
SmarthostTransaction  *smarthost_backend_begin             (SmarthostBackend     *self);

SMARTHOST_AVAILABLE_IN_ALL
gboolean               smarthost_backend_set_server        (SmarthostBackend     *self,
                                                            SmarthostRelay       *relay,
                                                            GCancellable         *cancellable,
                                                            GError              **error);
SMARTHOST_AVAILABLE_IN_ALL
void                   smarthost_backend_set_server_async  (SmarthostBackend     *self,
                                                            SmarthostRelay       *relay,
                                                            GCancellable         *cancellable,
                                                            GAsyncReadyCallback   callback,
                                                            gpointer              user_data);
SMARTHOST_AVAILABLE_IN_ALL
gboolean               smarthost_backend_set_server_finish (SmarthostBackend     *self,
                                                            GAsyncResult         *result,
                                                            GError              **error);

SMARTHOST_AVAILABLE_IN_ALL
gboolean               smarthost_backend_set_domain        (SmarthostBackend     *self,
                                                            const char           *domain,
                                                            SmarthostRelay       *relay,
                                                            GCancellable         *cancellable,
                                                            GError              **error);
SMARTHOST_AVAILABLE_IN_ALL
void                   smarthost_backend_set_domain_async  (SmarthostBackend     *self,
                                                            const char           *domain,
                                                            SmarthostRelay       *relay,
                                                            GCancellable         *cancellable,
                                                            GAsyncReadyCallback   callback,
                                                            gpointer              user_data);
SMARTHOST_AVAILABLE_IN_ALL
gboolean               smarthost_backend_set_domain_finish (SmarthostBackend     *self,
                                                            GAsyncResult         *result,
                                                            GError              **error);

G_END_DECLS
