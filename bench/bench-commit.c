/* bench-commit.c: times commits of the Postfix backend through the public API
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Usage (bench/run.sh drives it; not a test):
 *
 *   bench-commit bulk   DIR N     stage N domain relays in one transaction and
 *                                 commit them (DIR has none yet)
 *   bench-commit one    DIR R     change one domain of those already in DIR and
 *                                 commit, R times (alternating two relays)
 *   bench-commit naive  DIR N     N transactions of one domain each, each committed
 *   bench-commit server DIR R     change the server-wide relay and commit, R times
 *
 * Every commit has reload off (--no-reload): no Postfix runs. Each mode
 * prints one line of "key=value" figures in seconds, timed in-process with
 * the monotonic clock around the library calls only (no process start-up).
 * The peak memory of "bulk" is measured from outside (/usr/bin/time -f %M).
 */
#include <stdio.h>
#include <stdlib.h>

#include <smarthost-postfix.h>

/* Fixed fake secrets: a benchmark never needs real ones. */
#define FAKE_PASSWORD "Fake-Bench-Pa55w0rd-%07u"

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

static int
compare_doubles (const void *a,
                 const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *v,
        guint   n)
{
  qsort (v, n, sizeof *v, compare_doubles);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The relay of domain @i: a few relay services, every domain with its
 * own credentials, as on a hosting server. */
static void
fill_relay (SmarthostRelay *relay,
            guint           i,
            guint           variant)
{
  static const char *hosts[] = { "smtp.sendgrid.net", "smtp.eu.mailgun.org", "in-v3.mailjet.com",
                                 "email-smtp.eu-west-1.amazonaws.com" };
  char user[64], password[64];

  g_snprintf (user, sizeof user, "user%07u@d%07u.example", i, i);
  g_snprintf (password, sizeof password, FAKE_PASSWORD, i + variant * 10000000u);
  smarthost_relay_set_host (relay, hosts[(i + variant) % G_N_ELEMENTS (hosts)]);
  smarthost_relay_set_security (relay, (i + variant) % 3 == 0 ? SMARTHOST_SECURITY_TLS
                                                              : SMARTHOST_SECURITY_STARTTLS);
  smarthost_relay_set_username (relay, user);
  smarthost_relay_set_password (relay, password);
}

static gboolean
stage_domain (SmarthostTransaction  *tx,
              SmarthostRelay        *relay,
              guint                  i,
              guint                  variant,
              GError               **error)
{
  char domain[64];

  g_snprintf (domain, sizeof domain, "d%07u.example", i);
  fill_relay (relay, i, variant);
  return smarthost_transaction_set_domain (tx, domain, relay, error);
}

static gboolean
commit (SmarthostTransaction  *tx,
        GError               **error)
{
  smarthost_transaction_set_reload (tx, FALSE);
  if (!smarthost_transaction_commit (tx, NULL, error))
    return FALSE;
  if (!smarthost_transaction_get_changed (tx))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the commit changed nothing");
      return FALSE;
    }
  return TRUE;
}

static gboolean
run_bulk (SmarthostBackend  *backend,
          guint              n,
          GError           **error)
{
  g_autoptr(SmarthostTransaction) tx = smarthost_backend_begin (backend);
  g_autoptr(SmarthostRelay) relay = smarthost_relay_new ("localhost");
  double t0, t1, t2;

  t0 = now ();
  for (guint i = 0; i < n; i++)
    if (!stage_domain (tx, relay, i, 0, error))
      return FALSE;
  t1 = now ();
  if (!commit (tx, error))
    return FALSE;
  t2 = now ();
  g_print ("domains=%u stage=%.4f commit=%.4f\n", n, t1 - t0, t2 - t1);
  return TRUE;
}

static gboolean
run_one (SmarthostBackend  *backend,
         guint              reps,
         GError           **error)
{
  g_autofree double *t = g_new (double, reps);
  g_autoptr(SmarthostRelay) relay = smarthost_relay_new ("localhost");
  g_autoptr(SmarthostTransaction) reset = smarthost_backend_begin (backend);

  /* Untimed: domain 0 back to its first relay, whatever a run before left. */
  smarthost_transaction_set_reload (reset, FALSE);
  if (!stage_domain (reset, relay, 0, 0, error) || !smarthost_transaction_commit (reset, NULL, error))
    return FALSE;
  for (guint r = 0; r < reps; r++)
    {
      g_autoptr(SmarthostTransaction) tx = smarthost_backend_begin (backend);
      double t0 = now ();

      /* Domain 0 alternates between its original relay and another one. */
      if (!stage_domain (tx, relay, 0, (r + 1) % 2, error) || !commit (tx, error))
        return FALSE;
      t[r] = now () - t0;
    }
  g_print ("reps=%u median=%.4f\n", reps, median (t, reps));
  return TRUE;
}

static gboolean
run_naive (SmarthostBackend  *backend,
           guint              n,
           GError           **error)
{
  g_autoptr(SmarthostRelay) relay = smarthost_relay_new ("localhost");
  double t0 = now ();

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(SmarthostTransaction) tx = smarthost_backend_begin (backend);
      if (!stage_domain (tx, relay, i, 0, error) || !commit (tx, error))
        return FALSE;
    }
  g_print ("domains=%u total=%.4f\n", n, now () - t0);
  return TRUE;
}

static gboolean
run_server (SmarthostBackend  *backend,
            guint              reps,
            GError           **error)
{
  g_autofree double *t = g_new (double, reps);

  for (guint r = 0; r < reps; r++)
    {
      g_autoptr(SmarthostTransaction) tx = smarthost_backend_begin (backend);
      g_autoptr(SmarthostRelay) relay = smarthost_relay_new (r % 2 ? "smtp.sendgrid.net" : "smtp.eu.mailgun.org");
      double t0;

      smarthost_relay_set_security (relay, SMARTHOST_SECURITY_STARTTLS);
      t0 = now ();
      if (!smarthost_transaction_set_server (tx, relay, error) || !commit (tx, error))
        return FALSE;
      t[r] = now () - t0;
    }
  g_print ("reps=%u median=%.4f\n", reps, median (t, reps));
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SmarthostBackend) backend = NULL;
  guint64 n = 0;
  gboolean ok;

  if (argc != 4 || !g_ascii_string_to_unsigned (argv[3], 10, 1, G_MAXUINT, &n, NULL))
    {
      g_printerr ("usage: bench-commit bulk|one|naive|server DIR N\n");
      return 2;
    }
  backend = smarthost_postfix_backend_new (argv[2]);
  if (g_str_equal (argv[1], "bulk"))
    ok = run_bulk (backend, (guint) n, &error);
  else if (g_str_equal (argv[1], "one"))
    ok = run_one (backend, (guint) n, &error);
  else if (g_str_equal (argv[1], "naive"))
    ok = run_naive (backend, (guint) n, &error);
  else if (g_str_equal (argv[1], "server"))
    ok = run_server (backend, (guint) n, &error);
  else
    {
      g_printerr ("bench-commit: unknown mode %s\n", argv[1]);
      return 2;
    }
  if (!ok)
    {
      g_printerr ("bench-commit: %s\n", error->message);
      return 1;
    }
  return 0;
}
