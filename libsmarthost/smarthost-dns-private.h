/* smarthost-dns-private.h: bounded DNS lookups
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* What a lookup keeps of an answer, whatever the DNS sends: a relay has a
 * few addresses and MX hosts, and a name is at most 255 bytes. */
#define SMARTHOST_DNS_MAX_ANSWERS 32
#define SMARTHOST_DNS_MAX_NAME    255

typedef enum {
  SMARTHOST_DNS_ADDRESSES,  /* A and AAAA records: GInetAddress */
  SMARTHOST_DNS_MX,         /* MX records: host names (char *), by preference */
} SmarthostDnsType;

/* One lookup: set @name and @type, then _smarthost_dns_resolve() sets
 * either @answers (at most SMARTHOST_DNS_MAX_ANSWERS, possibly none) or
 * @error. Clear it with _smarthost_dns_query_clear(). */
typedef struct {
  const char *name;
  SmarthostDnsType type;
  GPtrArray *answers;
  GError *error;
  /*< private >*/
  gboolean done;
} SmarthostDnsQuery;

void _smarthost_dns_query_clear (SmarthostDnsQuery *query);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SmarthostDnsQuery, _smarthost_dns_query_clear)
void _smarthost_dns_resolve     (SmarthostDnsQuery *queries,
                                 guint              n_queries,
                                 gint64             deadline,
                                 GCancellable      *cancellable);

G_END_DECLS
