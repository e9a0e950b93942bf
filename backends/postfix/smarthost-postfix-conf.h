/* smarthost-postfix-conf.h: main.cf and master.cf edited as lines
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  PF_CONF_MAIN,
  PF_CONF_MASTER,
} PfConfKind;

typedef struct _PfConf PfConf;

PfConf     *pf_conf_parse        (PfConfKind   kind,
                                  const char  *text);
void        pf_conf_free         (PfConf      *conf);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PfConf, pf_conf_free)

char       *pf_conf_to_string    (PfConf      *conf);
const char *pf_conf_get          (PfConf      *conf,
                                  const char  *key);
/* Says what a line of the entry @key that is not UTF-8 holds that the
 * caller interprets (a newly allocated description), or NULL. */
typedef char *(*PfConfTextCheck) (const char *key,
                                  const char *line);
char       *pf_conf_find_not_utf8 (PfConf          *conf,
                                   PfConfTextCheck  check,
                                   guint           *line);
guint       pf_conf_count        (PfConf      *conf,
                                  const char  *key);
gboolean    pf_conf_is_managed   (PfConf      *conf,
                                  const char  *key);
GPtrArray  *pf_conf_keys         (PfConf      *conf,
                                  const char  *prefix);
void        pf_conf_set          (PfConf      *conf,
                                  const char  *key,
                                  const char  *entry,
                                  const char  *file_label,
                                  GPtrArray   *notes);
void        pf_conf_unset        (PfConf      *conf,
                                  const char  *key,
                                  const char  *default_entry,
                                  const char  *file_label,
                                  GPtrArray   *notes);

char       *pf_main_entry        (const char  *name,
                                  const char  *value);

G_END_DECLS
