/* smarthost-plan-private.h: a computed change, previewed or committed
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/*
 * A plan is what a backend computes from a transaction and the mail server's
 * current state: directories to create, files with their old and new
 * contents (each optionally followed by a build command, such as postmap, run
 * on the new file before it is put in place), then steps to run once the
 * files are in place (validation, reload). Previewing a plan prints a
 * unified diff with secrets masked; executing it writes every new file beside
 * the old one, fsyncs, renames them all into place and runs the steps,
 * restoring every old file if anything fails.
 *
 * With a journal (_smarthost_plan_set_journal), execution is also crash
 * safe: a process killed at any point leaves a journal from which
 * _smarthost_plan_recover restores exactly the old files, or, after the
 * commit point, keeps exactly the new ones, and removes every leftover.
 * Callers hold the lock on the journal directory, recover, then compute
 * and execute the plan. See the notes in smarthost-plan.c.
 *
 * For tests only, in a build configured with -Dfault_injection=true,
 * SMARTHOST_FAULT_POINT=NAME[:N] makes execution SIGKILL its own process
 * at a fault point (listed in smarthost-plan.c).
 */
typedef struct _SmarthostPlan SmarthostPlan;

typedef gboolean (*SmarthostPlanStepFunc) (gpointer       user_data,
                                           GCancellable  *cancellable,
                                           GError       **error);

SmarthostPlan *_smarthost_plan_new          (void);
void           _smarthost_plan_free         (SmarthostPlan *plan);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SmarthostPlan, _smarthost_plan_free)

void      _smarthost_plan_add_directory     (SmarthostPlan *plan,
                                             const char    *path,
                                             guint          mode);
void      _smarthost_plan_add_file          (SmarthostPlan *plan,
                                             const char    *path,
                                             const char    *old_contents,
                                             const char    *new_contents,
                                             guint          mode,
                                             const char    *masked_old,
                                             const char    *masked_new);
void      _smarthost_plan_add_file_take     (SmarthostPlan *plan,
                                             const char    *path,
                                             char          *old_contents,
                                             gboolean       old_borrowed,
                                             char          *new_contents,
                                             guint          mode,
                                             char          *masked_old,
                                             char          *masked_new);
void      _smarthost_plan_set_build         (SmarthostPlan      *plan,
                                             const char         *path,
                                             const char * const *argv,
                                             const char * const *output_suffixes);
void      _smarthost_plan_add_step          (SmarthostPlan         *plan,
                                             const char            *description,
                                             SmarthostPlanStepFunc  func,
                                             gpointer               user_data,
                                             GDestroyNotify         destroy);
void      _smarthost_plan_add_note          (SmarthostPlan *plan,
                                             const char    *format,
                                             ...) G_GNUC_PRINTF (2, 3);
void      _smarthost_plan_add_secret        (SmarthostPlan *plan,
                                             const char    *secret);
void      _smarthost_plan_add_secret_borrowed (SmarthostPlan *plan,
                                               const char    *secret);
gboolean  _smarthost_plan_has_changes       (SmarthostPlan *plan);
char     *_smarthost_plan_to_preview        (SmarthostPlan *plan);
gboolean  _smarthost_plan_check             (SmarthostPlan *plan,
                                             GError       **error);
gboolean  _smarthost_plan_execute           (SmarthostPlan *plan,
                                             GCancellable  *cancellable,
                                             GError       **error);
void      _smarthost_plan_set_journal       (SmarthostPlan *plan,
                                             const char    *directory);
char     *_smarthost_plan_find_interrupted  (const char    *directory,
                                             guint          lock_timeout,
                                             GCancellable  *cancellable,
                                             GError       **error);
gboolean  _smarthost_plan_journal_is_trusted (const char  *path,
                                              GError     **error);
gboolean  _smarthost_plan_recover           (const char    *directory,
                                             gboolean       locked,
                                             guint          lock_timeout,
                                             GCancellable  *cancellable,
                                             GError       **error);

G_END_DECLS
