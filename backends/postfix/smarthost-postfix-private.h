/* smarthost-postfix-private.h: what the files of the Postfix backend share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "smarthost-change.h"
#include "smarthost-postfix-backend.h"
#include "smarthost-postfix-conf.h"
#include "smarthost-relay.h"

G_BEGIN_DECLS

#define OWN_FOLDER "smarthost"
#define TRANSPORT_PREFIX "smarthost-"
#define MAP_SENDER_TRANSPORT "sender_transport"
#define MAP_SENDER_PASSWD "sender_passwd"
#define MAP_SERVER_PASSWD "server_passwd"
#define MAP_HEADER "# Managed by libsmarthost: change with smarthostctl, not by hand.\n"

#define P_RELAYHOST "relayhost"
#define P_DEFAULT_TRANSPORT "default_transport"
#define P_RELAY_TRANSPORT "relay_transport"
#define P_SDD_TRANSPORT_MAPS "sender_dependent_default_transport_maps"
#define P_SDR_MAPS "sender_dependent_relayhost_maps"

/* The state of a configuration directory, as read by one operation. */
typedef struct {
  char *dir;
  char *own_dir;
  char *main_path;
  char *master_path;
  char *main_text;
  char *master_text;
  PfConf *main;
  PfConf *master;
  /* map name -> GHashTable of key -> value; absent when the file is */
  char *map_text[3];
  GHashTable *map[3];
  /* the keys of map[i] in file order when strictly ascending, else NULL */
  GPtrArray *map_order[3];
  /* the first line of map[i]'s file that is not an entry, or 0 */
  guint map_bad_line[3];
} PfState;

enum { MAP_TRANSPORT, MAP_SPASSWD, MAP_SVPASSWD };

void            pf_state_free        (PfState                  *st);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PfState, pf_state_free)

/* smarthost-postfix-backend.c */
PfState        *pf_load_state        (SmarthostPostfixBackend  *self,
                                      gboolean                  read_only,
                                      GError                  **error);
char           *pf_map_path          (PfState                  *st,
                                      const char               *name);
char           *pf_map_spec          (PfState                  *st,
                                      const char               *name);
gboolean        pf_validate_relay    (SmarthostPostfixBackend  *self,
                                      SmarthostRelay           *relay,
                                      GError                  **error);
const char     *pf_map_name          (guint                     which);
GPtrArray      *pf_sorted_keys       (GHashTable               *table);

/* smarthost-postfix-codec.c: nexthops and transports as Postfix spells
 * them, both ways. */

/* What the name of a transport of ours says. */
typedef struct {
  gboolean server;
  SmarthostSecurity security;
  gboolean verify;
  char *ca_file;
} PfTransport;

char           *pf_relay_nexthop     (SmarthostRelay           *relay);
gboolean        pf_parse_nexthop     (const char               *text,
                                      char                    **host,
                                      guint                    *port,
                                      gboolean                 *mx_lookup);
gboolean        pf_parse_nexthop_full (const char              *text,
                                       gboolean                 service_names,
                                       char                   **host,
                                       guint                   *port,
                                       gboolean                *mx_lookup);
char           *pf_transport_name    (gboolean                  server,
                                      SmarthostRelay           *relay);
gboolean        pf_parse_transport_name (const char            *name,
                                         PfTransport           *t);
char           *pf_master_option     (const char               *entry,
                                      const char               *name);
char           *pf_transport_entry   (PfState                  *st,
                                      const char               *name,
                                      gboolean                  server,
                                      SmarthostRelay           *relay);

/* smarthost-postfix-read.c: the configuration directory as it is, and
 * the relays it holds. */
GHashTable     *pf_parse_map         (const char               *text);
gboolean        pf_check_config_directory (const char          *dir,
                                           GError             **error);
PfState        *pf_read_state_files  (const char               *config_directory,
                                      GError                  **error);
char           *pf_postconf_message  (const char               *err);
/* The values may hold passwords: free them with pf_strv_secret_free(). */
char          **pf_postconf_values   (PfState                  *st,
                                      const char              **names,
                                      GCancellable             *cancellable,
                                      GError                  **error);
void            pf_strv_secret_free  (char                    **values);
typedef char **PfSecretStrv;
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (PfSecretStrv, pf_strv_secret_free, NULL)
gboolean        pf_server_is_ours    (PfState                  *st);
int             pf_compare_strings   (gconstpointer             a,
                                      gconstpointer             b);
GPtrArray      *pf_list_domains      (PfState                  *st);
SmarthostRelay *pf_read_domain       (PfState                  *st,
                                      const char               *domain);
GHashTable     *pf_read_domains      (PfState                  *st);
SmarthostRelay *pf_read_server       (PfState                  *st,
                                      GCancellable             *cancellable,
                                      GError                  **error);
/* With @manual_too FALSE, only a server relay of ours (no postconf run). */
SmarthostRelay *pf_read_server_full  (PfState                  *st,
                                      gboolean                  manual_too,
                                      GCancellable             *cancellable,
                                      GError                  **error);
SmarthostRelay *pf_relay_from_route  (PfState                  *st,
                                      const char               *transport,
                                      const char               *nexthop,
                                      const char               *credentials);

/* smarthost-postfix-maps.c: sender_transport and sender_passwd as a plan
 * writes them, the entries read merged with the staged changes. */
typedef struct {
  GString *routes;            /* sender_transport */
  GString *passwd;            /* sender_passwd */
  GString *masked;            /* previews only: passwd with the passwords masked */
  guint n_domains;
  GHashTable *value_routes;   /* sender_transport value read -> its route */
  GHashTable *relay_routes;   /* staged relay -> its route, by routing settings */
} PfDomainMaps;

void            pf_domain_maps_init  (PfDomainMaps             *maps);
void            pf_domain_maps_clear (PfDomainMaps             *maps);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (PfDomainMaps, pf_domain_maps_clear)

gboolean        pf_check_own_maps    (PfState                  *st,
                                      PfDomainMaps             *maps,
                                      GError                  **error);
gboolean        pf_build_domain_maps (PfState                  *st,
                                      SmarthostChange          *change,
                                      GHashTable               *staged,
                                      gboolean                  replace,
                                      GHashTable               *adopted,
                                      gboolean                  preview,
                                      PfDomainMaps             *maps,
                                      GError                  **error);
void            pf_add_domain_transports (PfState              *st,
                                          PfDomainMaps         *maps,
                                          GHashTable           *transports);
gboolean        pf_kept_password     (const char               *what,
                                      SmarthostRelay           *current,
                                      SmarthostRelay           *relay,
                                      const char              **password,
                                      GError                  **error);

/* smarthost-postfix-doctor.c */
GPtrArray      *pf_diagnose          (SmarthostBackend         *backend,
                                      GCancellable             *cancellable,
                                      GError                  **error);
gboolean        pf_map_is_listable   (const char               *spec);
GPtrArray      *pf_map_list          (PfState                  *st,
                                      const char               *spec,
                                      GCancellable             *cancellable,
                                      GError                  **error);

/* smarthost-postfix-adopt.c */
typedef struct {
  SmarthostRelay *server;       /* the hand-made server relay, or NULL */
  GHashTable *domains;          /* domain -> SmarthostRelay */
  GPtrArray *domain_order;      /* the keys of domains, in the order adopted; NULL-terminated */
  GPtrArray *drop_sdr_maps;     /* sender_dependent_relayhost_maps items to drop */
  char *relayhost;              /* the hand-made relayhost value, or NULL */
} PfAdoption;

void            pf_adoption_free     (PfAdoption               *adoption);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PfAdoption, pf_adoption_free)

PfAdoption     *pf_adopt             (SmarthostPostfixBackend  *self,
                                      PfState                  *st,
                                      GPtrArray                *notes,
                                      GCancellable             *cancellable,
                                      GError                  **error);
SmarthostRelay *pf_read_manual_server (PfState                 *st,
                                       const char              *relayhost,
                                       GCancellable            *cancellable,
                                       GError                 **error);

/* smarthost-postfix-tls.c: the TLS level of Postfix's smtp client where
 * no policy entry applies, obsolete parameters included. */
typedef struct {
  const char *security_level;    /* smtp_tls_security_level */
  const char *enforce_tls;       /* smtp_enforce_tls (obsolete) */
  const char *enforce_peername;  /* smtp_tls_enforce_peername (obsolete) */
  const char *use_tls;           /* smtp_use_tls (obsolete) */
} PfTlsSettings;

typedef enum {
  PF_TLS_FROM_SECURITY_LEVEL,
  PF_TLS_FROM_ENFORCE_TLS,
  PF_TLS_FROM_USE_TLS,
  PF_TLS_FROM_DEFAULT,
} PfTlsSource;

gboolean        pf_is_yes            (const char               *value);
const char     *pf_tls_effective_level (const PfTlsSettings    *settings,
                                        PfTlsSource            *source);
gboolean        pf_tls_level_is_known (const char              *level);
gboolean        pf_tls_level_verifies (const char              *level);
gboolean        pf_tls_level_encrypts (const char              *level);

/* smarthost-postfix-tables.c: lookup tables as Postfix names them in a
 * list; inline: and static: tables (and unionmap:/pipemap: ones holding
 * them) are read in process, never handed to postmap, since their text
 * may hold passwords. What they return may be a secret, except for
 * pf_table_label(). */
GPtrArray      *pf_split_list        (const char               *value);
char           *pf_strip_braces      (const char               *text,
                                      const char              **err);
gboolean        pf_split_nameval     (char                     *text,
                                      char                    **name,
                                      char                    **value,
                                      const char              **err);
gboolean        pf_table_in_process  (const char               *spec);
char           *pf_table_label       (const char               *spec);
GPtrArray      *pf_table_inline_entries (const char            *spec,
                                         GError               **error);
gboolean        pf_table_lookup      (PfState                  *st,
                                      const char               *spec,
                                      const char               *key,
                                      char                    **value,
                                      GCancellable             *cancellable,
                                      GError                  **error);
char           *pf_postmap_query     (PfState                  *st,
                                      const char               *maps,
                                      const char               *key,
                                      GCancellable             *cancellable);

G_END_DECLS
