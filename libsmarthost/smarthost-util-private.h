/* smarthost-util-private.h: plumbing shared by the core and the backends
 *
 * Errors, strings and secrets, quoting, text and diffs, running programs
 * (smarthost-util.c, smarthost-quote.c). Nothing here knows a relay, a
 * backend or a transaction: those are in smarthost-private.h.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Errors */
gboolean  _smarthost_set_invalid      (GError     **error,
                                       const char  *field,
                                       const char  *message);

/* Strings and secrets */
gboolean  _smarthost_set_str          (char       **str_ptr,
                                       const char  *new_str);
void      _smarthost_secret_free      (char        *secret);
gboolean  _smarthost_utf8_validate_len (const char  *text,
                                        gsize        len,
                                        const char **end);
char     *_smarthost_redact           (const char  *text,
                                       GPtrArray   *secrets);
typedef struct _SmarthostRedactor SmarthostRedactor;
SmarthostRedactor *_smarthost_redactor_new   (GPtrArray         *secrets);
char              *_smarthost_redactor_apply (SmarthostRedactor *redactor,
                                              const char        *text);
void               _smarthost_redactor_append (SmarthostRedactor *redactor,
                                               GString           *out,
                                               const char        *text);
void               _smarthost_redactor_free  (SmarthostRedactor *redactor);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmarthostRedactor, _smarthost_redactor_free)
/* Anything quoted from input in a message: quoted, escaped and cut short. */
char     *_smarthost_quote            (const char  *untrusted,
                                       gssize       len);
char     *_smarthost_quote_path       (const char  *path);
char     *_smarthost_quote_full       (const char  *untrusted,
                                       gssize       len,
                                       guint        max_chars);

/* Text */
char    **_smarthost_split_lines      (const char  *text,
                                       gsize       *n_lines);
void      _smarthost_append_escaped   (GString     *out,
                                       const char  *text,
                                       gssize       len);
char     *_smarthost_escape_invalid_utf8 (const char *text);
char     *_smarthost_unified_diff     (const char  *old_label,
                                       const char  *new_label,
                                       const char  *old_text,
                                       const char  *new_text);

/* Processes: how long a program we run may take, and print */
#define SMARTHOST_RUN_TIMEOUT      120
#define SMARTHOST_RUN_OUTPUT_LIMIT (64u * 1024 * 1024)

gboolean  _smarthost_run              (const char * const *argv,
                                       GCancellable       *cancellable,
                                       int                *exit_status,
                                       char              **out_stdout,
                                       char              **out_stderr,
                                       GError            **error);
gboolean  _smarthost_run_full         (const char * const *argv,
                                       guint               timeout_seconds,
                                       GCancellable       *cancellable,
                                       int                *exit_status,
                                       char              **out_stdout,
                                       char              **out_stderr,
                                       GError            **error);
char     *_smarthost_argv_to_string   (const char * const *argv);

G_END_DECLS
