/* smarthost-private.h: internals shared by the core and the backends
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include <sys/stat.h>
#include <json-glib/json-glib.h>

#include "smarthost-relay.h"
#include "smarthost-backend.h"
#include "smarthost-state.h"
#include "smarthost-transaction.h"

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

/* Relays */
gboolean  _smarthost_host_is_address  (const char  *host,
                                       char       **address);
void      _smarthost_relay_mark_password_set (SmarthostRelay *self);
SmarthostRelay *_smarthost_relay_new_full (const char        *host,
                                           SmarthostSecurity  security,
                                           guint              port,
                                           gboolean           mx_lookup,
                                           gboolean           verify_certificate,
                                           const char        *ca_file,
                                           const char        *username);
gboolean  _smarthost_relay_check      (SmarthostRelay  *self,
                                       gboolean         keep_password,
                                       GError         **error);
gboolean  _smarthost_relay_keeps_password (SmarthostRelay *self);
JsonNode *_smarthost_relay_to_json_node   (SmarthostRelay *relay);
SmarthostRelay *_smarthost_relay_from_json_node (const char          *where,
                                                 JsonNode            *node,
                                                 SmarthostJsonFlags   flags,
                                                 GError             **error);

/* JSON */
JsonNode *_smarthost_parse_json       (const char  *what,
                                       const char  *text,
                                       GError     **error);
/* The members of a relay object (every key a relay's). */
typedef struct _SmarthostJsonRelay SmarthostJsonRelay;
SmarthostRelay *_smarthost_relay_from_json_fields (const char                *where,
                                                   const SmarthostJsonRelay  *fields,
                                                   SmarthostJsonFlags         flags,
                                                   GError                   **error);
/* A member of the streamed object, freed after the call: @relay when it
 * is an object of relay keys alone, @value (a tree) otherwise. */
typedef gboolean (*SmarthostJsonMemberFunc) (const char                *name,
                                             JsonNode                  *value,
                                             const SmarthostJsonRelay  *relay,
                                             gpointer                   user_data,
                                             GError                   **error);
JsonNode *_smarthost_parse_json_streaming (const char               *what,
                                           const char               *text,
                                           const char               *stream_key,
                                           SmarthostJsonMemberFunc   func,
                                           gpointer                  user_data,
                                           GError                  **error);
void      _smarthost_json_wipe_passwords (JsonNode *node);
void      _smarthost_json_free_secret (JsonNode *node);
/* A parsed tree that may hold inline passwords: wiped when freed. */
typedef JsonNode SmarthostSecretJson;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmarthostSecretJson, _smarthost_json_free_secret)
gboolean  _smarthost_json_key_is_showable (const char *key);
gboolean  _smarthost_json_name_field  (GError     **error,
                                       const char  *where);
char     *_smarthost_json_to_data     (JsonNode    *node,
                                       gsize       *length);
gboolean  _smarthost_json_unknown_key (GError     **error,
                                       const char  *where,
                                       const char  *key,
                                       const char  *known);

/* Transactions: what backends read from one */
SmarthostTransaction *_smarthost_transaction_new (SmarthostBackend *backend);
gboolean    _smarthost_transaction_get_server  (SmarthostTransaction  *self,
                                                SmarthostRelay       **relay);
GHashTable *_smarthost_transaction_get_domains (SmarthostTransaction  *self);
void        _smarthost_transaction_set_would_change (SmarthostTransaction *self,
                                                     gboolean              would_change);
void        _smarthost_transaction_set_adopted (SmarthostTransaction  *self,
                                                SmarthostRelay        *server,
                                                const char * const    *domains);

/* States */
GHashTable *_smarthost_state_get_domains       (SmarthostState        *self);

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

/* Files (smarthost-files.c) */
typedef enum {
  SMARTHOST_READ_TEXT     = 1 << 0,   /* valid UTF-8 without NUL bytes */
  SMARTHOST_READ_NOFOLLOW = 1 << 1,   /* refuse a symbolic link */
  SMARTHOST_READ_NO_NUL   = 1 << 2,   /* no NUL bytes (any other byte goes) */
  SMARTHOST_READ_STDIN    = 1 << 3,   /* "-" is standard input */
} SmarthostReadFlags;

/* How much a file may hold, by what it is for. Each is far beyond what a
 * real file of its kind holds, and keeps a hostile one (/dev/zero, a huge
 * file) from exhausting memory. */
#define SMARTHOST_READ_DEFAULT_LIMIT  (256u * 1024 * 1024)  /* main.cf, maps of 1,000,000 domains */
#define SMARTHOST_READ_PASSWORD_LIMIT (64u * 1024)
#define SMARTHOST_READ_CA_LIMIT       (16u * 1024 * 1024)   /* a CA bundle is about 200 KiB */
#define SMARTHOST_READ_POLICY_LIMIT   (1024u * 1024)
#define SMARTHOST_READ_JOURNAL_LIMIT  (16u * 1024 * 1024)

#define SMARTHOST_LOCK_DIR_NAME        "libsmarthost"
#define SMARTHOST_LOCK_DEFAULT_TIMEOUT 300

gboolean  _smarthost_read_fd          (int                  fd,
                                       const char          *name,
                                       gsize                size_hint,
                                       gsize                limit,
                                       char               **contents,
                                       gsize               *length,
                                       GError             **error);
int       _smarthost_open_regular     (const char          *path,
                                       gboolean             nofollow,
                                       struct stat         *st,
                                       gboolean            *exists,
                                       GError             **error);
gboolean  _smarthost_read_file_limited (const char          *path,
                                        SmarthostReadFlags   flags,
                                        gsize                limit,
                                        char               **contents,
                                        gsize               *length,
                                        gboolean            *exists,
                                        GError             **error);
gboolean  _smarthost_read_file        (const char          *path,
                                       SmarthostReadFlags   flags,
                                       char               **contents,
                                       gboolean            *exists,
                                       GError             **error);
gboolean  _smarthost_check_trusted_directory (const char  *path,
                                              const char  *what,
                                              GError     **error);
int       _smarthost_lock_file        (const char   *path,
                                       gboolean      shared,
                                       guint         timeout_seconds,
                                       GCancellable *cancellable,
                                       GError      **error);
void      _smarthost_unlock_file      (const char   *path,
                                       int           fd);
void      _smarthost_unlock_directory (const char   *path,
                                       int           fd);
int       _smarthost_lock_directory   (const char   *path,
                                       GCancellable *cancellable,
                                       GError      **error);
int       _smarthost_lock_directory_full (const char   *path,
                                          gboolean      shared,
                                          guint         timeout_seconds,
                                          GCancellable *cancellable,
                                          GError      **error);

G_END_DECLS
