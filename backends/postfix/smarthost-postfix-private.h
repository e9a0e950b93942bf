/* smarthost-postfix-private.h: what the files of the Postfix backend share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "smarthost-plan-private.h"
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
gboolean        pf_parse_nexthop     (const char               *text,
                                      char                    **host,
                                      guint                    *port,
                                      gboolean                 *mx_lookup);
char          **pf_postconf_values   (PfState                  *st,
                                      const char              **names,
                                      GCancellable             *cancellable,
                                      GError                  **error);
char           *pf_postmap_query     (PfState                  *st,
                                      const char               *maps,
                                      const char               *key,
                                      GCancellable             *cancellable);
char           *pf_master_option     (const char               *entry,
                                      const char               *name);
gboolean        pf_server_is_ours    (PfState                  *st);
GPtrArray      *pf_list_domains      (PfState                  *st);
SmarthostRelay *pf_read_domain       (PfState                  *st,
                                      const char               *domain);
SmarthostRelay *pf_read_server       (PfState                  *st,
                                      GCancellable             *cancellable,
                                      GError                  **error);
gboolean        pf_validate_relay    (SmarthostPostfixBackend  *self,
                                      SmarthostRelay           *relay,
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
/* Lookup tables as Postfix names them in a list; inline: and static:
 * tables (and unionmap:/pipemap: ones holding them) are read in process,
 * never handed to postmap, since their text may hold passwords. */
GPtrArray      *pf_split_list        (const char               *value);
gboolean        pf_table_in_process  (const char               *spec);
char           *pf_table_label       (const char               *spec);
gboolean        pf_table_lookup      (PfState                  *st,
                                      const char               *spec,
                                      const char               *key,
                                      char                    **value,
                                      GCancellable             *cancellable,
                                      GError                  **error);

G_END_DECLS
