/* smarthost-spf.c: SPF records that authorize a relay service
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "smarthost-error.h"
#include "smarthost-private.h"
#include "smarthost-spf.h"

/*
 * A relay service sends mail in the sender domain's name, so the domain's
 * SPF record (RFC 7208) must include the service: "v=spf1 ... include:X ...
 * all". Merging keeps every existing term in its order, adds the include
 * just before the "all" mechanism (or before the first modifier, or at the
 * end), never twice, and counts the terms that cost a DNS lookup: more
 * than ten make every check of the record fail (permerror).
 */

static gboolean
is_include_domain (const char *text)
{
  gsize len = strlen (text);

  if (len == 0 || len > 253 || text[0] == '.' || text[0] == '-')
    return FALSE;
  for (const char *p = text; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.' && *p != '_')
      return FALSE;
  return strchr (text, '.') != NULL && strstr (text, "..") == NULL;
}

/* The term without its qualifier, and whether it is a modifier. */
static const char *
term_name (const char *term,
           gboolean   *modifier)
{
  const char *t = term;
  gsize n;

  if (*t == '+' || *t == '-' || *t == '~' || *t == '?')
    t++;
  n = strcspn (t, ":=/");
  *modifier = t[n] == '=';
  return t;
}

static gboolean
term_is (const char *term,
         const char *mechanism)
{
  gboolean modifier;
  const char *t = term_name (term, &modifier);
  gsize n = strlen (mechanism);

  return !modifier && g_ascii_strncasecmp (t, mechanism, n) == 0 &&
         (t[n] == '\0' || t[n] == ':' || t[n] == '/');
}

static char **
split_terms (const char *record)
{
  g_auto(GStrv) parts = g_strsplit_set (record, " \t", 0);
  GStrvBuilder *b = g_strv_builder_new ();
  char **terms;

  for (guint i = 0; parts[i]; i++)
    if (*parts[i])
      g_strv_builder_add (b, parts[i]);
  terms = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return terms;
}

/**
 * smarthost_spf_count_lookups:
 * @record: an SPF record
 *
 * Counts the terms of @record that make a DNS lookup: `include`, `a`, `mx`,
 * `ptr`, `exists` and the `redirect` modifier. Lookups made inside the
 * included records are not counted: they need DNS.
 *
 * Returns: the number of DNS-querying terms
 */
guint
smarthost_spf_count_lookups (const char *record)
{
  g_auto(GStrv) terms = NULL;
  guint n = 0;

  g_return_val_if_fail (record != NULL, 0);

  terms = split_terms (record);
  for (guint i = 0; terms[i]; i++)
    {
      gboolean modifier;
      const char *t = term_name (terms[i], &modifier);

      if (modifier)
        n += g_ascii_strncasecmp (t, "redirect=", 9) == 0;
      else
        n += term_is (terms[i], "include") || term_is (terms[i], "a") || term_is (terms[i], "mx") ||
             term_is (terms[i], "ptr") || term_is (terms[i], "exists");
    }
  return n;
}

/**
 * smarthost_spf_merge:
 * @record: (nullable): the domain's current SPF record, or %NULL when it
 *   has none
 * @include: the relay service's SPF domain, such as `sendgrid.net`
 * @warnings: (out) (optional) (array zero-terminated=1) (transfer full):
 *   return location for warnings, such as a record past the limit of
 *   [const@SPF_MAX_LOOKUPS] DNS lookups
 * @error: return location for a #GError
 *
 * Adds `include:@include` to an SPF record: every existing term is kept in
 * its order, the include goes just before the `all` mechanism (or before
 * the first modifier, or at the end), and is never added twice. Without a
 * record, the result is `v=spf1 include:@include ~all`.
 *
 * Returns: (transfer full): the merged record, or %NULL with @error set to
 *   %SMARTHOST_ERROR_INVALID when @record is not an SPF record or @include
 *   is not a domain
 */
char *
smarthost_spf_merge (const char   *record,
                     const char   *include,
                     char       ***warnings,
                     GError      **error)
{
  g_autoptr(GStrvBuilder) warn = g_strv_builder_new ();
  g_auto(GStrv) terms = NULL;
  g_autoptr(GString) out = g_string_new ("v=spf1");
  g_autofree char *inc = NULL;
  gboolean added = FALSE;
  guint lookups;

  g_return_val_if_fail (include != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (warnings)
    *warnings = NULL;
  if (!is_include_domain (include))
    return _smarthost_set_invalid (error, "include", "is not a domain name"), NULL;
  if (record != NULL && (!g_utf8_validate (record, -1, NULL) || strpbrk (record, "\r\n") != NULL))
    return _smarthost_set_invalid (error, "record", "must be one line of text"), NULL;

  inc = g_strconcat ("include:", include, NULL);
  terms = split_terms (record ? record : "");
  if (terms[0] == NULL)
    {
      g_strfreev (terms);
      terms = split_terms ("v=spf1 ~all");
    }
  if (terms[0] == NULL || g_ascii_strcasecmp (terms[0], "v=spf1") != 0)
    return _smarthost_set_invalid (error, "record", "is not an SPF record: it must start with v=spf1"), NULL;

  for (guint i = 1; terms[i]; i++)
    if (term_is (terms[i], "include") && g_ascii_strcasecmp (strchr (terms[i], ':') ? strchr (terms[i], ':') + 1 : "", include) == 0)
      added = TRUE;

  for (guint i = 1; terms[i]; i++)
    {
      gboolean modifier;
      term_name (terms[i], &modifier);
      if (!added && (term_is (terms[i], "all") || modifier))
        {
          g_string_append_printf (out, " %s", inc);
          added = TRUE;
        }
      g_string_append_printf (out, " %s", terms[i]);
    }
  if (!added)
    g_string_append_printf (out, " %s", inc);

  lookups = smarthost_spf_count_lookups (out->str);
  if (lookups > SMARTHOST_SPF_MAX_LOOKUPS)
    {
      g_autofree char *w = g_strdup_printf ("the record has %u DNS-querying terms, more than the %u that "
                                            "RFC 7208 allows (not counting those inside includes): every "
                                            "check of it would fail; flatten or drop some includes",
                                            lookups, SMARTHOST_SPF_MAX_LOOKUPS);
      g_strv_builder_add (warn, w);
    }
  if (warnings)
    *warnings = g_strv_builder_end (warn);
  return g_strdup (out->str);
}

static char **
txt_to_spf (GList *records)
{
  GStrvBuilder *b = g_strv_builder_new ();
  char **result;

  for (GList *l = records; l; l = l->next)
    {
      g_autoptr(GVariantIter) iter = NULL;
      g_autoptr(GString) joined = g_string_new (NULL);
      const char *chunk;

      /* A TXT record is a list of strings; SPF joins them without spaces. */
      g_variant_get (l->data, "(as)", &iter);
      while (g_variant_iter_loop (iter, "&s", &chunk))
        g_string_append (joined, chunk);
      if (g_ascii_strncasecmp (joined->str, "v=spf1", 6) == 0 &&
          (joined->str[6] == '\0' || joined->str[6] == ' '))
        g_strv_builder_add (b, joined->str);
    }
  result = g_strv_builder_end (b);
  g_strv_builder_unref (b);
  return result;
}

/**
 * smarthost_spf_lookup:
 * @domain: a mail domain
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Looks up the SPF records of @domain: its TXT records that start with
 * `v=spf1`. A domain should have one; several make SPF fail.
 *
 * Returns: (transfer full) (array zero-terminated=1): the SPF records,
 *   possibly none, or %NULL with @error set when the lookup failed
 */
char **
smarthost_spf_lookup (const char    *domain,
                      GCancellable  *cancellable,
                      GError       **error)
{
  g_autoptr(GResolver) resolver = g_resolver_get_default ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *normalized = NULL;
  GList *records;
  char **result;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  normalized = smarthost_domain_normalize (domain, error);
  if (normalized == NULL)
    return NULL;
  records = g_resolver_lookup_records (resolver, normalized, G_RESOLVER_RECORD_TXT, cancellable, &local_error);
  if (local_error != NULL)
    {
      if (g_error_matches (local_error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
        return g_new0 (char *, 1);
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, SMARTHOST_ERROR, SMARTHOST_ERROR_FAILED,
                     "cannot look up the TXT records of %s: %s", normalized, local_error->message);
      return NULL;
    }
  result = txt_to_spf (records);
  g_list_free_full (records, (GDestroyNotify) g_variant_unref);
  return result;
}

static void
lookup_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  GError *error = NULL;
  char **records = smarthost_spf_lookup (task_data, cancellable, &error);

  if (records == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, records, (GDestroyNotify) g_strfreev);
}

/**
 * smarthost_spf_lookup_async:
 * @domain: a mail domain
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the records
 * @user_data: data for @callback
 *
 * Looks up the SPF records of @domain without blocking; see
 * [func@spf_lookup].
 */
void
smarthost_spf_lookup_async (const char          *domain,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, smarthost_spf_lookup_async);
  g_task_set_task_data (task, g_strdup (domain), g_free);
  g_task_run_in_thread (task, lookup_thread);
}

/**
 * smarthost_spf_lookup_finish:
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [func@spf_lookup_async].
 *
 * Returns: (transfer full) (array zero-terminated=1): the SPF records, or
 *   %NULL with @error set
 */
char **
smarthost_spf_lookup_finish (GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
