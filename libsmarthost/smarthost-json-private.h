/* smarthost-json-private.h: JSON in the core and the backends, on jansson
 *
 * JSON text from outside (apply files, relays, a remote server's replies) is
 * read by the library's own reader (smarthost-json.c) into jansson trees:
 * strictly (RFC 8259, a key once per object, one value, valid UTF-8, no
 * "\u0000"), bounded (SMARTHOST_JSON_MAX_SIZE bytes, SMARTHOST_JSON_MAX_DEPTH
 * levels) and with errors that name the place, never the text. Trees are
 * written back by smarthost-json-writer.c in the one format every JSON output
 * of the library and of smarthostctl has had (json-glib's: `"key" : value`,
 * two-space indent), byte for byte. A tree that may hold a secret is wiped
 * before it is freed.
 *
 * The writer needs GLib and jansson alone: smarthostctl builds it too.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <jansson.h>

G_BEGIN_DECLS

/* json_t in g_autoptr(); json_decref() is an inline function of jansson.h. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (json_t, json_decref)

/* --- writing (smarthost-json-writer.c) --------------------------------- */

/* @node as JSON text, pretty: two spaces a level, `"key" : value`, an empty
 * object `{ }` padded with the indent of its level, no final line break; or
 * compact (`{"key":value}`). Strings are written as they are, but for '"',
 * '\\' and the control characters U+0001 to U+001E and U+007F (escaped);
 * reals as g_ascii_dtostr() writes them, with ".0" when it has no '.'. */
char     *_smarthost_json_to_data         (json_t      *node,
                                           gsize       *length);
char     *_smarthost_json_to_data_compact (json_t      *node,
                                           gsize       *length);

/* Building: jansson's json_object_set_new() and json_array_append_new()
 * with these. A NULL string is JSON null; strings are taken as they are
 * (json_string() would refuse text that is not UTF-8, and the member would
 * be silently left out). */
json_t   *_smarthost_json_string          (const char          *value);
json_t   *_smarthost_json_strv            (const char * const *values);

/* --- reading (smarthost-json.c) ---------------------------------------- */

typedef enum {
  SMARTHOST_JSON_PARSE_OBJECT = 0,          /* the text must be one object */
  SMARTHOST_JSON_PARSE_ANY    = 1 << 0,     /* any one value (an API's reply) */
} SmarthostJsonParseFlags;

/* The most members a SmarthostJsonFields can hold. */
#define SMARTHOST_JSON_MAX_FIELDS 16

/* The members of an object whose keys are all among @keys, by the place of
 * their key (NULL when absent), read with no tree to build and free for
 * each: a string value as text in strings[] (every string is wiped when the
 * fields are cleared), any other as a tree in values[]. */
typedef struct {
  const char * const *keys;
  json_t *values[SMARTHOST_JSON_MAX_FIELDS];
  char *strings[SMARTHOST_JSON_MAX_FIELDS];
} SmarthostJsonFields;

/* A member of the streamed object, freed after the call: @fields when it is
 * an object whose keys are all fields keys, @value (a tree) otherwise. */
typedef gboolean (*SmarthostJsonMemberFunc) (const char                 *name,
                                             json_t                     *value,
                                             const SmarthostJsonFields  *fields,
                                             gpointer                    user_data,
                                             GError                    **error);

/* Parses @text (@length bytes, -1 when NUL-terminated; a NUL byte inside is
 * refused); @what names it in errors ("state", "relay", "the server's
 * reply"). Returns a new tree, or NULL with @error set
 * (SMARTHOST_ERROR_INVALID). */
json_t   *_smarthost_json_parse           (const char               *what,
                                           const char               *text,
                                           gssize                    length,
                                           SmarthostJsonParseFlags   flags,
                                           GError                  **error);
/* The same for one object, with each member of its member @stream_key (when
 * an object) handed to @func as it is read, the keys of @field_keys read
 * into fields (see SmarthostJsonFields); the tree returned has an empty
 * object in its place. */
json_t   *_smarthost_json_parse_streaming (const char               *what,
                                           const char               *text,
                                           const char               *stream_key,
                                           const char * const       *field_keys,
                                           SmarthostJsonMemberFunc   func,
                                           gpointer                  user_data,
                                           GError                  **error);

/* --- secrets ------------------------------------------------------------ */

/* Wipes the string values of members named in @names (NULL-terminated), at
 * any depth; with @names NULL, every string value of the tree. */
void      _smarthost_json_wipe            (json_t              *node,
                                           const char * const  *names);
/* Wipes the values of "password" members, then drops the reference. */
void      _smarthost_json_free_secret     (json_t              *node);
/* Wipes every string value, then drops the reference: for a reply that
 * holds secrets under names of its own (tokens). */
void      _smarthost_json_free_wiped      (json_t              *node);
void      _smarthost_json_fields_clear    (SmarthostJsonFields *fields);

/* A parsed tree that may hold inline passwords: wiped when freed. */
typedef json_t SmarthostSecretJson;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmarthostSecretJson, _smarthost_json_free_secret)
/* A tree whose every string is wiped when freed (a login reply, a request
 * body with a password). */
typedef json_t SmarthostWipedJson;
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmarthostWipedJson, _smarthost_json_free_wiped)

/* --- errors ------------------------------------------------------------- */

gboolean  _smarthost_json_key_is_showable (const char  *key);
gboolean  _smarthost_json_unknown_key     (GError     **error,
                                           const char  *where,
                                           const char  *key,
                                           const char  *known);

G_END_DECLS
