/* smarthost-dns.c: bounded DNS lookups, for the probe and the backends
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-dns-private.h"

/*
 * Implementation notes
 *
 * GResolver's synchronous calls block for as long as the system's
 * resolver takes (with a dead name server, tens of seconds per name), and
 * its async calls need a main loop. The lookups here run in GIO's
 * resolver threads, all at once, while the calling thread iterates a
 * private main context until every one has answered: a deadline or the
 * caller's cancellable cancels the rest, which then answer at once. So a
 * lookup never outlives its caller's stack, and never takes longer than
 * the deadline. The answers are bounded (SMARTHOST_DNS_MAX_ANSWERS, names
 * of at most SMARTHOST_DNS_MAX_NAME bytes), whatever a hostile name
 * server sends.
 */

static void
query_finish (SmarthostDnsQuery *q,
              GList             *list,
              GError            *error)
{
  q->done = TRUE;
  if (error != NULL)
    {
      q->error = error;
      return;
    }
  q->answers = q->type == SMARTHOST_DNS_ADDRESSES ? g_ptr_array_new_with_free_func (g_object_unref)
                                                  : g_ptr_array_new_with_free_func (g_free);
  for (GList *l = list; l; l = l->next)
    {
      if (q->answers->len >= SMARTHOST_DNS_MAX_ANSWERS)
        break;
      if (q->type == SMARTHOST_DNS_ADDRESSES)
        g_ptr_array_add (q->answers, g_object_ref (l->data));
      else
        {
          const char *host;

          g_variant_get (l->data, "(q&s)", NULL, &host);
          if (strlen (host) <= SMARTHOST_DNS_MAX_NAME)
            g_ptr_array_add (q->answers, g_strdup (host));
        }
    }
}

static void
by_name_done (GObject      *source,
              GAsyncResult *res,
              gpointer      data)
{
  GError *error = NULL;
  GList *list = g_resolver_lookup_by_name_finish (G_RESOLVER (source), res, &error);

  query_finish (data, list, error);
  g_resolver_free_addresses (list);
}

static gint
by_preference (gconstpointer a,
               gconstpointer b)
{
  guint16 pa, pb;

  g_variant_get ((GVariant *) a, "(q&s)", &pa, NULL);
  g_variant_get ((GVariant *) b, "(q&s)", &pb, NULL);
  return (gint) pa - (gint) pb;
}

static void
records_done (GObject      *source,
              GAsyncResult *res,
              gpointer      data)
{
  GError *error = NULL;
  GList *list = g_resolver_lookup_records_finish (G_RESOLVER (source), res, &error);

  list = g_list_sort (list, by_preference);
  query_finish (data, list, error);
  g_list_free_full (list, (GDestroyNotify) g_variant_unref);
}

static gboolean
wake_up (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* _smarthost_dns_resolve:
 * @queries: the lookups
 * @n_queries: how many
 * @deadline: when to give up, in g_get_monotonic_time()'s clock
 * @cancellable: (nullable): cancels the lookups still running
 *
 * Runs the lookups at once and returns when each has answered. Those
 * still running at @deadline fail with %G_IO_ERROR_TIMED_OUT; when
 * @cancellable is cancelled, with %G_IO_ERROR_CANCELLED. Safe in any
 * thread: the caller's thread-default main context is left alone.
 */
void
_smarthost_dns_resolve (SmarthostDnsQuery *queries,
                        guint              n_queries,
                        gint64             deadline,
                        GCancellable      *cancellable)
{
  g_autoptr(GMainContext) ctx = NULL;
  g_autoptr(GResolver) resolver = NULL;
  g_autoptr(GCancellable) cancel = NULL;
  gboolean timed_out = FALSE;
  gulong handler = 0;
  GSource *tick;

  if (n_queries == 0)
    return;
  ctx = g_main_context_new ();
  resolver = g_resolver_get_default ();
  cancel = g_cancellable_new ();
  if (cancellable != NULL)
    handler = g_cancellable_connect (cancellable, G_CALLBACK (g_cancellable_cancel),
                                     g_object_ref (cancel), g_object_unref);
  g_main_context_push_thread_default (ctx);
  for (guint i = 0; i < n_queries; i++)
    {
      SmarthostDnsQuery *q = &queries[i];

      q->done = FALSE;
      if (q->type == SMARTHOST_DNS_MX)
        g_resolver_lookup_records_async (resolver, q->name, G_RESOLVER_RECORD_MX, cancel, records_done, q);
      else
        g_resolver_lookup_by_name_async (resolver, q->name, cancel, by_name_done, q);
    }
  tick = g_timeout_source_new (100);
  g_source_set_callback (tick, wake_up, NULL, NULL);
  g_source_attach (tick, ctx);
  for (guint i = 0; i < n_queries; i++)
    while (!queries[i].done)
      {
        if (!timed_out && g_get_monotonic_time () >= deadline)
          {
            timed_out = TRUE;
            g_cancellable_cancel (cancel);
          }
        g_main_context_iteration (ctx, TRUE);
      }
  g_source_destroy (tick);
  g_source_unref (tick);
  g_main_context_pop_thread_default (ctx);
  if (handler)
    g_cancellable_disconnect (cancellable, handler);

  /* The lookups the deadline cut short say so, not "cancelled". */
  if (timed_out && !(cancellable && g_cancellable_is_cancelled (cancellable)))
    for (guint i = 0; i < n_queries; i++)
      if (g_error_matches (queries[i].error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_clear_error (&queries[i].error);
          g_set_error (&queries[i].error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "the lookup of %s timed out",
                       queries[i].name);
        }
}

void
_smarthost_dns_query_clear (SmarthostDnsQuery *query)
{
  g_clear_pointer (&query->answers, g_ptr_array_unref);
  g_clear_error (&query->error);
}
