/* smarthost-mailenable-private.h: what the files of the MailEnable backend share
 *
 * Registry values (smarthost-mailenable-value.c). The .reg codec
 * (smarthost-mailenable-reg.c): regedit's text format, read
 * from UTF-16LE (with a byte-order mark, as Windows exports it) or UTF-8,
 * written as Windows writes it. The schema (smarthost-mailenable-schema.c):
 * the value names and types of mailenable-schema.json. The stores
 * (smarthost-mailenable-store.c): where the connector key's values are read
 * and how a change to them is made — a .reg export and a .reg patch on any
 * platform, the live registry on Windows (smarthost-mailenable-live.c, with
 * the value operation and the service restart).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

#include "smarthost-mailenable-backend.h"

G_BEGIN_DECLS

/* --- registry values ------------------------------------------------------- */

/* The registry's value types (winnt.h), as numbers: a .reg file names any
 * other as hex(N). */
#define ME_REG_NONE      0u
#define ME_REG_SZ        1u
#define ME_REG_EXPAND_SZ 2u
#define ME_REG_BINARY    3u
#define ME_REG_DWORD     4u
#define ME_REG_MULTI_SZ  7u
#define ME_REG_QWORD     11u

/* A .reg file larger than this is refused before it is parsed: an export
 * of the SMTP connector's key is a few KiB. */
#define ME_REG_FILE_LIMIT (4u * 1024 * 1024)
/* Longest value name and key path the registry allows (in UTF-16 units). */
#define ME_REG_NAME_MAX   16383u
#define ME_REG_KEY_MAX    32767u

typedef struct {
  char    *name;      /* UTF-8; "" is the key's default value (@) */
  gboolean deleted;   /* "name"=- in a patch: the value is removed */
  guint32  type;      /* ME_REG_*; unused when deleted */
  GBytes  *data;      /* the bytes the registry holds: REG_SZ as UTF-16LE with
                       * its terminating NUL, REG_DWORD as 4 bytes little-endian;
                       * NULL when deleted */
  guint    line;      /* the line it was read from (1-based); 0 when made */
} MeRegValue;

MeRegValue *me_reg_value_new          (const char        *name,
                                       guint32            type,
                                       GBytes            *data);
MeRegValue *me_reg_value_new_string   (const char        *name,
                                       const char        *utf8);
MeRegValue *me_reg_value_new_dword    (const char        *name,
                                       guint32            value);
MeRegValue *me_reg_value_new_deleted  (const char        *name);
MeRegValue *me_reg_value_copy         (const MeRegValue  *value);
void        me_reg_value_free         (MeRegValue        *value);
/* Same name (case-insensitively, as the registry compares names), same
 * deletion, type and bytes. */
gboolean    me_reg_value_equal        (const MeRegValue  *a,
                                       const MeRegValue  *b);
/* Typed reads. FALSE with SMARTHOST_ERROR_INVALID naming the value (and
 * its line when read from a file) when the type is another or the data is
 * malformed; the data itself is never quoted (it may be a password).
 * A string: REG_SZ or REG_EXPAND_SZ, UTF-16LE of an even length, one
 * terminating NUL or none; a NUL inside or invalid UTF-16 is an error. */
gboolean    me_reg_value_get_string   (const MeRegValue  *value,
                                       char             **out,
                                       GError           **error);
/* A number: REG_DWORD, exactly 4 bytes. */
gboolean    me_reg_value_get_dword    (const MeRegValue  *value,
                                       guint32           *out,
                                       GError           **error);
/* Registry names (of values and keys) compare case-insensitively. */
gboolean    me_reg_name_equal         (const char        *a,
                                       const char        *b);
/* "REG_SZ", ...; NULL for a type without a name. */
const char *me_reg_type_name          (guint32            type);
/* The registry's bytes of a string: UTF-16LE of @utf8 (valid UTF-8) and
 * a terminating NUL. */
GBytes     *me_reg_utf16le_new        (const char        *utf8,
                                       gssize             len);
/* UTF-16LE @bytes (an even @len, no NUL unit) as UTF-8; NULL when it is
 * not valid UTF-16. */
char       *me_reg_utf16le_to_utf8    (const guint8      *bytes,
                                       gsize              len);
/* The length in bytes of the text of UTF-16LE data ended by at most one NUL
 * unit; -1 when a NUL is inside it. */
gssize      me_reg_utf16le_text_length (const guint8     *bytes,
                                        gsize             len);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MeRegValue, me_reg_value_free)

/* --- .reg files (smarthost-mailenable-reg.c) ---------------------------------- */

typedef struct {
  char      *path;      /* as written between the brackets, e.g.
                         * HKEY_LOCAL_MACHINE\SOFTWARE\WOW6432Node\Mail Enable\... */
  gboolean   deleted;   /* [-path] */
  guint      line;
  GPtrArray *values;    /* MeRegValue, in the file's order */
} MeRegKey;

typedef enum {
  ME_REG_ENCODING_UTF16LE,   /* with a byte-order mark, as regedit /E and reg export write */
  ME_REG_ENCODING_UTF8,      /* with or without a byte-order mark */
} MeRegEncoding;

typedef struct {
  MeRegEncoding encoding;
  guint      version;   /* 5: "Windows Registry Editor Version 5.00"; 4: "REGEDIT4" */
  GPtrArray *keys;      /* MeRegKey, in the file's order */
  GPtrArray *comments;  /* the text of the file's ";" comment lines, without the ";" */
} MeRegFile;

MeRegFile  *me_reg_file_new           (void);
/* Parses a whole .reg file. Errors are SMARTHOST_ERROR_INVALID, "line N: "
 * and what is wrong (for an encoding error, the byte offset); they never
 * quote a value's data. A value may appear once per key (names compared
 * case-insensitively). */
MeRegFile  *me_reg_file_parse         (const char        *data,
                                       gsize              length,
                                       GError           **error);
/* Reads and parses @path: a regular file no larger than ME_REG_FILE_LIMIT
 * (a FIFO, a device or a directory is refused; with @nofollow a symbolic
 * link too); errors start with the path. */
MeRegFile  *me_reg_file_read          (const char        *path,
                                       gboolean           nofollow,
                                       GError           **error);
void        me_reg_file_free          (MeRegFile         *file);
/* The key of that path (compared case-insensitively), the last one when the
 * file has several; NULL when none. */
MeRegKey   *me_reg_file_find_key      (MeRegFile         *file,
                                       const char        *path);
MeRegKey   *me_reg_file_add_key       (MeRegFile         *file,
                                       const char        *path);
/* The value of that name (case-insensitively) or NULL. */
MeRegValue *me_reg_key_find_value     (MeRegKey          *key,
                                       const char        *name);
/* Takes @value. */
void        me_reg_key_add_value      (MeRegKey          *key,
                                       MeRegValue        *value);
/* The file as regedit writes it: "Windows Registry Editor Version 5.00",
 * the comments (each "; " and the text), then each key and its values, a
 * blank line after each; CRLF line ends. A string holding a control
 * character is written as hex(1) or hex(2), so that any regedit reads it
 * back. @masked: value names (case-insensitively) whose data is shown as
 * ******** instead, for previews; NULL for none. The text is UTF-8 with
 * LF line ends when @crlf is FALSE (for a preview). */
char       *me_reg_file_to_text       (MeRegFile         *file,
                                       const char * const *masked,
                                       gboolean           crlf);
/* The file's bytes to write: me_reg_file_to_text() with CRLF, as UTF-16LE
 * with a byte-order mark. */
GBytes     *me_reg_file_to_bytes      (MeRegFile         *file);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MeRegFile, me_reg_file_free)

/* --- the schema (smarthost-mailenable-schema.c) -------------------------------- */

typedef struct _MeSchema MeSchema;

/* What the backend reads and writes, and the neighbours schema-check
 * also looks for. */
extern const char * const me_schema_value_keys[];
extern const char * const me_schema_neighbour_keys[];

typedef struct {
  char    *key;         /* smarthost-server, ... */
  char    *name;        /* the registry value's name; NULL for a port kept
                         * in the server's value ("host:port") */
  guint32  type;        /* ME_REG_SZ or ME_REG_DWORD */
  char    *source;      /* a source's id, or "unconfirmed" */
  gboolean confirmed;
  gboolean neighbour;   /* only looked for by schema-check */
} MeSchemaEntry;

MeSchema            *me_schema_load            (const char  *path,
                                                GError     **error);
void                 me_schema_free            (MeSchema    *schema);
const char          *me_schema_get_service     (MeSchema    *schema);
const MeSchemaEntry *me_schema_get_entry       (MeSchema    *schema,
                                                const char  *key);
GPtrArray           *me_schema_get_entries     (MeSchema    *schema);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MeSchema, me_schema_free)

/* --- the stores (smarthost-mailenable-store.c) --------------------------------- */

/* Where the connector key's values are read, and how changes to them are
 * made: a .reg export and a .reg patch (with its undo patch) beside it,
 * on any platform; or the live registry, on Windows. */
typedef struct _MeStore MeStore;

MeStore    *me_store_new_reg_file      (const char        *reg_file,
                                        const char        *output);
MeStore    *me_store_new_live          (void);
void        me_store_free              (MeStore           *store);
gboolean    me_store_is_live           (MeStore           *store);
/* The values of the connector key now: for an export, the export's, with
 * the patch at output laid over them when it was made from this export
 * (what the key holds once the patch is imported). MeRegValue, in order. */
GPtrArray  *me_store_read              (MeStore           *store,
                                        GError           **error);
/* Adds to @change what makes the key hold @edits (MeRegValue, a deleted
 * one for a value removed) over @current, what me_store_read() returned
 * last: value operations for the live registry, the patch and its undo
 * patch for an export. @secret: the name of the value holding a password
 * (masked in previews); @service: what must restart to take the change up
 * (for the notes). */
gboolean    me_store_add_operations    (MeStore           *store,
                                        SmarthostChange   *change,
                                        GPtrArray         *current,
                                        GPtrArray         *edits,
                                        const char        *secret,
                                        const char        *service,
                                        const char        *state_directory,
                                        GError           **error);
/* The undo patch of @output: its name with ".undo" before ".reg". */
char       *me_store_undo_path         (const char        *output);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MeStore, me_store_free)

/* --- the live registry, on Windows (smarthost-mailenable-live.c) ---------------- */

#ifdef G_OS_WIN32
/* Every value of HKEY_LOCAL_MACHINE\@subkey in the 32-bit view
 * (KEY_WOW64_32KEY), in the order the registry lists them; *@exists FALSE
 * (and an empty array) when the key does not exist. */
gboolean    me_live_read_key          (const char        *subkey,
                                       GPtrArray        **values,
                                       gboolean          *exists,
                                       GError           **error);
/* Sets or deletes (value->deleted) one value of that key, creating the key
 * when missing. */
gboolean    me_live_write_value       (const char        *subkey,
                                       const MeRegValue  *value,
                                       GError           **error);
/* Stops the service (if it runs) and starts it again through the Service
 * Control Manager, waiting at most @timeout seconds for each; an error
 * names the service and what failed (not installed, did not stop, did not
 * start, its exit code). */
gboolean    me_service_restart        (const char        *service,
                                       guint              timeout,
                                       GCancellable      *cancellable,
                                       GError           **error);
#endif

/* The operation that sets or deletes one value of the live registry and
 * puts back its old value (or its absence) on undo; kind "mailenable-value".
 * Its journal record names the key and the value; a value holding a secret
 * keeps its old data in a file of its own (mode 0600) in the state
 * directory, never in the journal. On other platforms than Windows its
 * apply and undo fail with SMARTHOST_ERROR_NOT_SUPPORTED. */
#define SMARTHOST_TYPE_MAILENABLE_VALUE_OPERATION (smarthost_mailenable_value_operation_get_type ())
G_DECLARE_FINAL_TYPE (SmarthostMailEnableValueOperation, smarthost_mailenable_value_operation,
                      SMARTHOST, MAILENABLE_VALUE_OPERATION, SmarthostOperation)

/* @old: the value now (NULL: absent); @new: what it becomes (deleted: removed).
 * @state_directory: where a secret's old data is kept while the commit runs. */
SmarthostOperation *me_value_operation_new (const char        *subkey,
                                            const MeRegValue  *old,
                                            const MeRegValue  *new,
                                            gboolean           secret,
                                            const char        *state_directory);

/* The key path the value operation may touch: the connector key of the
 * schema; a record naming another is refused. */
#define ME_CONNECTOR_SUBKEY "SOFTWARE\\Mail Enable\\Mail Enable\\Connectors\\SMTP"

G_END_DECLS
