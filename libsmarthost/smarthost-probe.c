/* smarthost-probe.c: checks that a relay works, and sends a test message
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "smarthost-dns-private.h"
#include "smarthost-enum-types.h"
#include "smarthost-error.h"
#include "smarthost-files-private.h"
#include "smarthost-private.h"
#include "smarthost-probe-private.h"
#include "smarthost-probe.h"
#include "smarthost-smtp-private.h"
#include "smarthost-util-private.h"
#include "smarthost-platform-private.h"

/**
 * SmarthostProbe:
 *
 * Checks that a relay works, the way the mail server will use it, and can
 * send a test message through it.
 *
 * A probe connects (IPv4 or IPv6; with [property@Relay:mx-lookup], to the
 * relay domain's MX hosts in order), reads the greeting, says EHLO, starts
 * TLS (STARTTLS, or implicit TLS from the first byte) with OpenSSL — TLS 1.2
 * at least, SNI, the certificate verified against the relay's CA file or
 * the system's, and its name against the relay's host — authenticates with
 * the best mechanism both sides know (PLAIN or LOGIN; never before TLS
 * unless the relay's security is none), optionally sends a test message,
 * then says QUIT.
 *
 * [method@Probe.run] returns a [class@ProbeResult] whether the relay works
 * or not; it fails only for invalid input or cancellation. Every stage is
 * bounded in time ([property@Probe:connect-timeout], [property@Probe:timeout])
 * and in memory, so a relay that never answers or answers forever cannot
 * hold the caller.
 */

struct _SmarthostProbe
{
  GObject parent_instance;

  SmarthostRelay *relay;
  guint connect_timeout;
  guint timeout;
  char *helo_name;
  char *sender;
  char *recipient;
};

G_DEFINE_FINAL_TYPE (SmarthostProbe, smarthost_probe, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_RELAY,
  PROP_CONNECT_TIMEOUT,
  PROP_TIMEOUT,
  PROP_HELO_NAME,
  PROP_SENDER,
  PROP_RECIPIENT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean is_safe_token (const char *text);

/* --- connection ---------------------------------------------------------- */

typedef struct {
  int fd;
  SSL_CTX *ctx;
  SSL *ssl;
  GCancellable *cancellable;
  GPollFD cancel_pfd;
  gboolean have_cancel_pfd;
  gint64 deadline;              /* the whole check, monotonic µs */
  char in[SMARTHOST_SMTP_MAX_LINE + 8];
  gsize in_len;
  SmarthostProbeResult *result;
  GPtrArray *secrets;           /* never in the transcript */
} Conn;

static void
conn_close (Conn *c)
{
  if (c->ssl)
    {
      SSL_free (c->ssl);
      c->ssl = NULL;
    }
  if (c->ctx)
    {
      SSL_CTX_free (c->ctx);
      c->ctx = NULL;
    }
  if (c->fd >= 0)
    {
      _smarthost_socket_close (c->fd);
      c->fd = -1;
    }
}

static void
transcript_add (Conn       *c,
                const char *prefix,
                const char *line,
                gsize       len)
{
  g_autofree char *text = g_utf8_make_valid (line, len);
  g_autofree char *redacted = NULL;
  GPtrArray *t = c->result->transcript;

  /* Keep the transcript bounded too. */
  if (t->len > 400)
    return;
  g_strchomp (text);
  g_strdelimit (text, "\r\n", ' ');
  redacted = _smarthost_redact (text, c->secrets);
  t->pdata[t->len - 1] = g_strconcat (prefix, redacted, NULL);
  g_ptr_array_add (t, NULL);
}

/* Waits until the socket is ready for @events, the stage deadline passes,
 * or the caller cancels. */
static gboolean
conn_wait (Conn     *c,
           short     events,
           gint64    stage_deadline,
           GError  **error)
{
  for (;;)
    {
      gint64 now = g_get_monotonic_time ();
      gint64 deadline = MIN (stage_deadline, c->deadline);
      int ms, r;

      if (g_cancellable_set_error_if_cancelled (c->cancellable, error))
        return FALSE;
      if (now >= deadline)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "timed out");
          return FALSE;
        }
      ms = (int) MIN ((deadline - now + 999) / 1000, 60000);
      r = _smarthost_socket_wait (c->fd, events, c->have_cancel_pfd ? &c->cancel_pfd : NULL, ms);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s", _smarthost_socket_strerror (saved));
          return FALSE;
        }
      if (r > 0)
        return TRUE;
    }
}

static gboolean
tls_error (Conn       *c,
           int         ret,
           GError    **error)
{
  int err = SSL_get_error (c->ssl, ret);
  unsigned long code = ERR_peek_error ();
  char buf[256] = "";

  if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && code == 0))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED, "the relay closed the connection");
      ERR_clear_error ();
      return FALSE;
    }
  if (code != 0)
    ERR_error_string_n (code, buf, sizeof buf);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "TLS error: %s",
               *buf ? buf : "unknown");
  ERR_clear_error ();
  return FALSE;
}

static gssize
conn_recv (Conn     *c,
           char     *buf,
           gsize     size,
           gint64    stage_deadline,
           GError  **error)
{
  for (;;)
    {
      if (c->ssl)
        {
          int n = SSL_read (c->ssl, buf, (int) size);
          int err;
          if (n > 0)
            return n;
          err = SSL_get_error (c->ssl, n);
          if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
            {
              if (!conn_wait (c, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, stage_deadline, error))
                return -1;
              continue;
            }
          tls_error (c, n, error);
          return -1;
        }
      else
        {
          gssize n = _smarthost_socket_recv (c->fd, buf, size);
          if (n > 0)
            return n;
          if (n == 0)
            {
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                   "the relay closed the connection");
              return -1;
            }
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            {
              if (!conn_wait (c, POLLIN, stage_deadline, error))
                return -1;
              continue;
            }
          {
            int saved = errno;
            g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s", _smarthost_socket_strerror (saved));
          }
          return -1;
        }
    }
}

static gboolean
conn_send (Conn        *c,
           const char  *data,
           gsize        len,
           gint64       stage_deadline,
           GError     **error)
{
  while (len > 0)
    {
      if (c->ssl)
        {
          int n = SSL_write (c->ssl, data, (int) MIN (len, G_MAXINT));
          int err;
          if (n > 0)
            {
              data += n;
              len -= (gsize) n;
              continue;
            }
          err = SSL_get_error (c->ssl, n);
          if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
            {
              if (!conn_wait (c, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, stage_deadline, error))
                return FALSE;
              continue;
            }
          return tls_error (c, n, error);
        }
      else
        {
          gssize n = _smarthost_socket_send (c->fd, data, len);
          if (n > 0)
            {
              data += n;
              len -= (gsize) n;
              continue;
            }
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            {
              if (!conn_wait (c, POLLOUT, stage_deadline, error))
                return FALSE;
              continue;
            }
          {
            int saved = n < 0 ? errno : EPIPE;
            g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s", _smarthost_socket_strerror (saved));
          }
          return FALSE;
        }
    }
  return TRUE;
}

/* Reads one line into @line (without its line break). Lines longer than
 * SMARTHOST_SMTP_MAX_LINE are refused rather than buffered. */
static gboolean
conn_read_line (Conn     *c,
                char    **line,
                gsize    *len,
                gint64    stage_deadline,
                GError  **error)
{
  for (;;)
    {
      char *nl = memchr (c->in, '\n', c->in_len);
      gssize n;

      if (nl != NULL)
        {
          gsize l = (gsize) (nl - c->in);
          *line = g_strndup (c->in, l);
          *len = l;
          memmove (c->in, nl + 1, c->in_len - l - 1);
          c->in_len -= l + 1;
          return TRUE;
        }
      if (c->in_len >= SMARTHOST_SMTP_MAX_LINE + 2)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                               "the relay sent a line longer than an SMTP reply may be");
          return FALSE;
        }
      n = conn_recv (c, c->in + c->in_len, sizeof c->in - c->in_len, stage_deadline, error);
      if (n < 0)
        return FALSE;
      c->in_len += (gsize) n;
    }
}

static gboolean
conn_read_reply (Conn       *c,
                 SmtpReply  *reply,
                 gint64      stage_deadline,
                 GError    **error)
{
  _smarthost_smtp_reply_init (reply);
  for (;;)
    {
      g_autofree char *line = NULL;
      gsize len;
      SmtpReplyStatus status;

      if (!conn_read_line (c, &line, &len, stage_deadline, error))
        return FALSE;
      transcript_add (c, "S: ", line, len);
      status = _smarthost_smtp_reply_feed (reply, line, len);
      if (status == SMTP_REPLY_DONE)
        return TRUE;
      if (status == SMTP_REPLY_MALFORMED)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                               "the relay sent something that is not an SMTP reply");
          return FALSE;
        }
      if (status == SMTP_REPLY_TOO_LONG)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                               "the relay's reply is longer than an SMTP reply may be");
          return FALSE;
        }
    }
}

static gboolean
conn_command (Conn        *c,
              const char  *command,
              const char  *shown,
              gint64       stage_deadline,
              GError     **error)
{
  g_autofree char *line = g_strconcat (command, "\r\n", NULL);
  gboolean ok;

  transcript_add (c, "C: ", shown ? shown : command, strlen (shown ? shown : command));
  ok = conn_send (c, line, strlen (line), stage_deadline, error);
  _smarthost_secure_zero (line, strlen (line));
  return ok;
}

/* --- the check ----------------------------------------------------------- */

typedef struct {
  SmarthostProbe *probe;
  Conn c;
  SmarthostProbeStage stage;
  gint64 stage_start;
  gboolean tls_active;
  GStrv caps;
  char *host;                 /* the host connected to (an MX host, maybe) */
  guint port;
} Run;

static void
begin_stage (Run                 *run,
             SmarthostProbeStage  stage)
{
  run->stage = stage;
  run->c.result->stage = stage;
  run->stage_start = g_get_monotonic_time ();
}

static void
end_stage (Run *run)
{
  run->c.result->stage_ms[run->stage] += (g_get_monotonic_time () - run->stage_start) / 1000.0;
}

static gint64
stage_deadline (Run *run)
{
  return run->c.deadline;
}

static void
fail (Run        *run,
      const char *hint,
      const char *format,
      ...) G_GNUC_PRINTF (3, 4);

static void
fail (Run        *run,
      const char *hint,
      const char *format,
      ...)
{
  SmarthostProbeResult *r = run->c.result;
  va_list args;

  end_stage (run);
  r->success = FALSE;
  r->failed_stage = run->stage;
  va_start (args, format);
  g_free (r->message);
  {
    g_autofree char *m = g_strdup_vprintf (format, args);
    r->message = _smarthost_redact (m, run->c.secrets);
  }
  va_end (args);
  g_free (r->hint);
  r->hint = g_strdup (hint);
}

/* The hint for an I/O failure at the current stage. */
static const char *
io_hint (Run          *run,
         const GError *error)
{
  SmarthostSecurity security = smarthost_relay_get_security (run->probe->relay);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    {
      if (run->stage == SMARTHOST_PROBE_STAGE_CONNECT)
        return "Nothing answered: a firewall drops the connection. Many hosting providers block "
               "outgoing SMTP ports (25, and sometimes 465 and 587): try the relay's port 2525, "
               "or ask the provider to open the port.";
      /* The transcript holds a NULL terminator: more than that means the
       * relay did say something. */
      if (run->stage == SMARTHOST_PROBE_STAGE_GREETING && security != SMARTHOST_SECURITY_TLS &&
          run->c.result->transcript->len <= 1 && run->c.in_len == 0)
        return "The relay accepted the connection but sent no greeting. A relay on an implicit-TLS "
               "port (usually 465) waits for a TLS handshake first: use security tls.";
      if (run->c.result->transcript->len > 1 || run->c.in_len > 0)
        return "The relay answers too slowly: it may be overloaded, or throttle this server; "
               "try again later or raise the timeout.";
      return "The relay stopped answering.";
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return "Nothing listens on that port of the relay: check the port (587 for STARTTLS, 465 for "
           "implicit TLS, 2525 as an alternative many relays offer).";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA) &&
      run->stage == SMARTHOST_PROBE_STAGE_GREETING && security != SMARTHOST_SECURITY_TLS)
    return "The relay did not speak SMTP in clear: on an implicit-TLS port (usually 465) use security tls.";
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED) &&
      run->stage == SMARTHOST_PROBE_STAGE_GREETING && security != SMARTHOST_SECURITY_TLS)
    return "The relay hung up before greeting: on an implicit-TLS port (usually 465) use security tls.";
  return NULL;
}

static gboolean
expect (Run        *run,
        SmtpReply  *reply,
        guint       want_class,
        const char *what)
{
  g_autofree char *text = NULL;
  g_autofree char *redacted = NULL;
  g_autofree char *shown = NULL;
  const char *hint = NULL;

  if (reply->code / 100 == want_class)
    return TRUE;
  /* The relay's reply is quoted and cut, as anything from outside; its
   * echo of a password is masked first, or the cut could leave half of it. */
  text = _smarthost_smtp_reply_text (reply);
  redacted = _smarthost_redact (text, run->c.secrets);
  shown = _smarthost_quote_full (redacted, -1, 200);
  if (reply->code == 535)
    hint = "The relay rejected the credentials: check the user name and the password or API key "
           "(SendGrid's user name is \"apikey\"; Mailgun gives a user per domain).";
  else if (reply->code == 530)
    hint = smarthost_relay_get_security (run->probe->relay) == SMARTHOST_SECURITY_NONE
             ? "The relay requires STARTTLS or authentication first: use security starttls and give credentials."
             : "The relay requires authentication: give a user name and password.";
  else if (reply->code == 554 && run->stage == SMARTHOST_PROBE_STAGE_GREETING)
    hint = "The relay refuses connections from this server's address.";
  else if (reply->code == 550 || reply->code == 553)
    hint = run->stage == SMARTHOST_PROBE_STAGE_MAIL
             ? "The relay refuses this sender: verify the sender's domain at the relay service."
             : NULL;
  fail (run, hint, "%s: the relay answered %s", what, shown);
  return FALSE;
}

static gboolean
read_expect (Run        *run,
             guint       want_class,
             const char *what,
             SmtpReply  *reply)
{
  g_autoptr(GError) error = NULL;

  if (!conn_read_reply (&run->c, reply, stage_deadline (run), &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return FALSE;
      fail (run, io_hint (run, error), "%s: %s", what, error->message);
      return FALSE;
    }
  return expect (run, reply, want_class, what);
}

static gboolean
send_line (Run        *run,
           const char *command,
           const char *shown,
           const char *what)
{
  g_autoptr(GError) error = NULL;

  if (conn_command (&run->c, command, shown, stage_deadline (run), &error))
    return TRUE;
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    fail (run, io_hint (run, error), "%s: %s", what, error->message);
  return FALSE;
}

static gboolean
try_connect (Run           *run,
             GInetAddress  *address,
             gint64         deadline,
             GError       **error)
{
  g_autoptr(GSocketAddress) sa = g_inet_socket_address_new (address, (guint16) run->port);
  struct sockaddr_storage ss;
  int fd, soerr;

  if (!g_socket_address_to_native (sa, &ss, sizeof ss, error))
    return FALSE;
  fd = _smarthost_socket_new_nonblocking (ss.ss_family);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s", _smarthost_socket_strerror (saved));
      return FALSE;
    }
  run->c.fd = fd;
  if (_smarthost_socket_connect (fd, (struct sockaddr *) &ss, g_socket_address_get_native_size (sa)) != 0 &&
      errno != EINPROGRESS)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "%s", _smarthost_socket_strerror (saved));
      conn_close (&run->c);
      return FALSE;
    }
  if (!conn_wait (&run->c, POLLOUT, deadline, error))
    {
      conn_close (&run->c);
      return FALSE;
    }
  if ((soerr = _smarthost_socket_get_error (fd)) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (soerr), "%s", _smarthost_socket_strerror (soerr));
      conn_close (&run->c);
      return FALSE;
    }
  return TRUE;
}

/* Looks @name up (its addresses, or with @type SMARTHOST_DNS_MX its MX
 * hosts) without blocking past the connection's deadline or the
 * probe's cancellation. */
static gboolean
resolve (Run               *run,
         const char        *name,
         SmarthostDnsType   type,
         gint64             deadline,
         SmarthostDnsQuery *query)
{
  query->name = name;
  query->type = type;
  _smarthost_dns_resolve (query, 1, MIN (deadline, run->c.deadline), run->c.cancellable);
  return query->error == NULL;
}

static gboolean
connect_relay (Run *run)
{
  SmarthostRelay *relay = run->probe->relay;
  const char *host = smarthost_relay_get_host (relay);
  g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) last_error = NULL;
  gint64 connect_deadline;

  begin_stage (run, SMARTHOST_PROBE_STAGE_RESOLVE);
  connect_deadline = run->stage_start + (gint64) run->probe->connect_timeout * G_USEC_PER_SEC;

  if (smarthost_relay_get_mx_lookup (relay))
    {
      g_auto(SmarthostDnsQuery) q = { 0, };

      if (!resolve (run, host, SMARTHOST_DNS_MX, connect_deadline, &q))
        {
          if (g_cancellable_is_cancelled (run->c.cancellable))
            return FALSE;
          fail (run, "The relay domain has no MX records: turn mx-lookup off to connect to the host itself.",
                "cannot look up the MX records of %s: %s", host, q.error->message);
          return FALSE;
        }
      for (guint i = 0; i < q.answers->len; i++)
        g_ptr_array_add (hosts, g_strdup (g_ptr_array_index (q.answers, i)));
    }
  else
    g_ptr_array_add (hosts, g_strdup (host));

  for (guint h = 0; h < hosts->len; h++)
    {
      const char *name = g_ptr_array_index (hosts, h);
      g_autofree char *address = NULL;
      g_autoptr(GPtrArray) addresses = NULL;
      g_auto(SmarthostDnsQuery) q = { 0, };

      run->stage = SMARTHOST_PROBE_STAGE_RESOLVE;
      /* The resolver's reading of an address ("127.1" too), which GLib's
       * parser alone would not take. */
      if (_smarthost_host_is_address (name, &address))
        {
          addresses = g_ptr_array_new_with_free_func (g_object_unref);
          g_ptr_array_add (addresses, g_inet_address_new_from_string (address));
        }
      else
        {
          if (!resolve (run, name, SMARTHOST_DNS_ADDRESSES, connect_deadline, &q))
            {
              if (g_cancellable_is_cancelled (run->c.cancellable))
                return FALSE;
              g_clear_error (&last_error);
              last_error = g_steal_pointer (&q.error);
              continue;
            }
          addresses = g_steal_pointer (&q.answers);
        }
      end_stage (run);

      begin_stage (run, SMARTHOST_PROBE_STAGE_CONNECT);
      for (guint i = 0; i < addresses->len; i++)
        {
          GInetAddress *a = g_ptr_array_index (addresses, i);

          g_clear_error (&last_error);
          if (try_connect (run, a, connect_deadline, &last_error))
            {
              g_free (run->c.result->address);
              run->c.result->address = g_inet_address_to_string (a);
              g_free (run->host);
              run->host = g_strdup (name);
              end_stage (run);
              return TRUE;
            }
          if (g_error_matches (last_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            return FALSE;
        }
    }

  if (run->stage == SMARTHOST_PROBE_STAGE_RESOLVE)
    fail (run, "The relay's host name does not resolve: check its spelling, and this server's DNS.",
          "cannot resolve %s: %s", host, last_error ? last_error->message : "no address");
  else
    fail (run, io_hint (run, last_error), "cannot connect to %s port %u: %s", host, run->port,
          last_error ? last_error->message : "no address");
  return FALSE;
}

static char *
x509_name (X509_NAME *name)
{
  BIO *bio = BIO_new (BIO_s_mem ());
  char *data = NULL;
  long len;
  char *result;

  X509_NAME_print_ex (bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  len = BIO_get_mem_data (bio, &data);
  result = g_utf8_make_valid (data, len);
  BIO_free (bio);
  return result;
}

static void
record_certificate (Run  *run,
                    X509 *cert)
{
  SmarthostProbeResult *r = run->c.result;
  GENERAL_NAMES *sans;
  GStrvBuilder *names = g_strv_builder_new ();
  const ASN1_TIME *not_after;
  struct tm tm;

  r->cert_subject = x509_name (X509_get_subject_name (cert));
  r->cert_issuer = x509_name (X509_get_issuer_name (cert));
  sans = X509_get_ext_d2i (cert, NID_subject_alt_name, NULL, NULL);
  for (int i = 0; sans && i < sk_GENERAL_NAME_num (sans) && i < 100; i++)
    {
      GENERAL_NAME *gn = sk_GENERAL_NAME_value (sans, i);
      if (gn->type == GEN_DNS)
        {
          const unsigned char *d = ASN1_STRING_get0_data (gn->d.dNSName);
          g_autofree char *s = g_utf8_make_valid ((const char *) d, ASN1_STRING_length (gn->d.dNSName));
          g_strv_builder_add (names, s);
        }
      else if (gn->type == GEN_IPADD)
        {
          int len = ASN1_STRING_length (gn->d.iPAddress);
          const unsigned char *d = ASN1_STRING_get0_data (gn->d.iPAddress);
          if (len == 4 || len == 16)
            {
              g_autoptr(GInetAddress) a = g_inet_address_new_from_bytes (d, len == 4 ? G_SOCKET_FAMILY_IPV4
                                                                                      : G_SOCKET_FAMILY_IPV6);
              g_autofree char *s = g_inet_address_to_string (a);
              g_strv_builder_add (names, s);
            }
        }
    }
  GENERAL_NAMES_free (sans);
  r->cert_names = g_strv_builder_end (names);
  g_strv_builder_unref (names);

  not_after = X509_get0_notAfter (cert);
  if (not_after && ASN1_TIME_to_tm (not_after, &tm) == 1)
    r->cert_expiry = g_date_time_new_utc (tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                          tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static const char *
verify_hint (long code)
{
  switch (code)
    {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "The relay's certificate has expired: tell the relay's operator. Turning verification "
             "off would send credentials to anyone who can intercept the connection.";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "The relay's certificate is not valid yet: check this server's clock.";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return "The relay's certificate is self-signed: give the relay's own CA (or its certificate) with ca-file.";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return "The relay's certificate is signed by an authority this server does not trust: give that "
             "authority's certificate with ca-file, or install the system's CA certificates.";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return "The relay's certificate is for other names (see its names): use a host name the "
             "certificate names.";
    default:
      return NULL;
    }
}

/* Loads the certificates of a CA file that we read ourselves: bounded, and
 * never from a FIFO or a device, which OpenSSL would read (or wait on)
 * without end. */
static gboolean
load_ca_file (SSL_CTX    *ctx,
              const char *path)
{
  g_autofree char *pem = NULL;
  X509_STORE *store = SSL_CTX_get_cert_store (ctx);
  STACK_OF (X509_INFO) *infos;
  gsize len = 0;
  guint added = 0;
  BIO *bio;

  if (!_smarthost_read_file_limited (path, 0, SMARTHOST_READ_CA_LIMIT, &pem, &len, NULL, NULL))
    return FALSE;
  bio = BIO_new_mem_buf (pem, (int) len);
  if (bio == NULL)
    return FALSE;
  infos = PEM_X509_INFO_read_bio (bio, NULL, NULL, NULL);
  BIO_free (bio);
  if (infos == NULL)
    return FALSE;
  for (int i = 0; i < sk_X509_INFO_num (infos); i++)
    {
      X509_INFO *info = sk_X509_INFO_value (infos, i);
      if (info->x509 != NULL && X509_STORE_add_cert (store, info->x509) == 1)
        added++;
    }
  sk_X509_INFO_pop_free (infos, X509_INFO_free);
  return added > 0;
}

/* The TLS context: TLS 1.2 at least, and the CAs to verify with, the
 * relay's CA file or the system's. */
static gboolean
set_up_tls_context (Run *run)
{
  const char *ca = smarthost_relay_get_ca_file (run->probe->relay);

  run->c.ctx = SSL_CTX_new (TLS_client_method ());
  if (run->c.ctx == NULL)
    {
      fail (run, NULL, "cannot set up TLS");
      return FALSE;
    }
  SSL_CTX_set_min_proto_version (run->c.ctx, TLS1_2_VERSION);
  /* Verification runs in every case; it decides only when asked for, so
   * that the result can say what a disabled check would have found. */
  SSL_CTX_set_verify (run->c.ctx, SSL_VERIFY_NONE, NULL);
  if (ca != NULL)
    {
      if (!load_ca_file (run->c.ctx, ca))
        {
          ERR_clear_error ();
          fail (run, "Give a PEM file with the relay's CA certificate.", "cannot load the CA file %s", ca);
          return FALSE;
        }
    }
  else if (SSL_CTX_load_verify_locations (run->c.ctx, SYSTEM_CA_BUNDLE, NULL) != 1)
    {
      ERR_clear_error ();
      SSL_CTX_set_default_verify_paths (run->c.ctx);
    }
  return TRUE;
}

/* The TLS session on the connection, with the names the certificate is
 * checked against: the relay's address, or its host name (also sent as
 * SNI). */
static void
set_up_tls_session (Run *run)
{
  SmarthostRelay *relay = run->probe->relay;
  const char *host = smarthost_relay_get_host (relay);
  g_autofree char *address = NULL;
  X509_VERIFY_PARAM *param;

  run->c.ssl = SSL_new (run->c.ctx);
  SSL_set_fd (run->c.ssl, run->c.fd);
  param = SSL_get0_param (run->c.ssl);
  if (_smarthost_host_is_address (host, &address))
    X509_VERIFY_PARAM_set1_ip_asc (param, address);
  else
    {
      g_autofree char *subdomains = g_strconcat (".", host, NULL);
      SSL_set_tlsext_host_name (run->c.ssl, host);
      X509_VERIFY_PARAM_set_hostflags (param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      X509_VERIFY_PARAM_set1_host (param, host, 0);
      /* With MX lookups, a certificate for a host below the relay domain
       * passes, as Postfix's "secure" level accepts (dot-nexthop). */
      if (smarthost_relay_get_mx_lookup (relay))
        X509_VERIFY_PARAM_add1_host (param, subdomains, 0);
    }
}

/* Reports a handshake that failed (SSL_connect() returned @ret), with a
 * hint for the usual causes: the wrong kind of TLS for the port, or a
 * relay stuck on old TLS versions. */
static void
fail_handshake (Run *run,
                int  ret)
{
  SmarthostSecurity security = smarthost_relay_get_security (run->probe->relay);
  unsigned long code = ERR_peek_error ();
  const char *hint = NULL;
  g_autoptr(GError) error = NULL;

  tls_error (&run->c, ret, &error);
  if (ERR_GET_REASON (code) == SSL_R_WRONG_VERSION_NUMBER ||
      ERR_GET_REASON (code) == SSL_R_PACKET_LENGTH_TOO_LONG)
    hint = security == SMARTHOST_SECURITY_TLS
             ? "The relay speaks plain SMTP on this port and expects STARTTLS: use security starttls "
               "(usually port 587 or 2525), or implicit TLS on port 465."
             : "The relay did not answer with TLS.";
  else if (ERR_GET_REASON (code) == SSL_R_UNSUPPORTED_PROTOCOL ||
           ERR_GET_REASON (code) == SSL_R_TLSV1_ALERT_PROTOCOL_VERSION)
    hint = "The relay offers only TLS versions older than 1.2, which are not safe.";
  fail (run, hint, "TLS handshake failed: %s", error->message);
}

/* The handshake, waiting on the socket as the stage's deadline allows. */
static gboolean
tls_handshake (Run *run)
{
  for (;;)
    {
      int ret = SSL_connect (run->c.ssl);
      int err;
      g_autoptr(GError) error = NULL;

      if (ret == 1)
        return TRUE;
      err = SSL_get_error (run->c.ssl, ret);
      if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
        {
          fail_handshake (run, ret);
          return FALSE;
        }
      if (!conn_wait (&run->c, err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, stage_deadline (run), &error))
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            fail (run, io_hint (run, error), "TLS handshake: %s", error->message);
          return FALSE;
        }
    }
}

/* What the session and the relay's certificate are, and whether the
 * certificate verifies: a failure when verification is on, a remark in
 * the result when it is off. */
static gboolean
check_certificate (Run *run)
{
  SmarthostRelay *relay = run->probe->relay;
  gboolean verify = smarthost_relay_get_verify_certificate (relay) &&
                    smarthost_relay_get_security (relay) != SMARTHOST_SECURITY_NONE;
  SmarthostProbeResult *r = run->c.result;
  X509 *cert;
  long vr;

  r->tls_version = g_strdup (SSL_get_version (run->c.ssl));
  r->tls_cipher = g_strdup (SSL_get_cipher_name (run->c.ssl));
  cert = SSL_get1_peer_certificate (run->c.ssl);
  if (cert != NULL)
    {
      record_certificate (run, cert);
      X509_free (cert);
    }
  vr = SSL_get_verify_result (run->c.ssl);
  r->cert_checked = verify;
  if (cert == NULL)
    vr = X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT;
  if (verify)
    {
      r->cert_verified = vr == X509_V_OK;
      r->verification = vr == X509_V_OK ? g_strdup ("verified")
                                        : g_strdup_printf ("failed: %s", X509_verify_cert_error_string (vr));
      if (vr != X509_V_OK)
        {
          fail (run, verify_hint (vr), "the relay's certificate did not verify: %s",
                X509_verify_cert_error_string (vr));
          return FALSE;
        }
    }
  else
    r->verification = vr == X509_V_OK
                        ? g_strdup ("not verified (verification is off); it would pass")
                        : g_strdup_printf ("not verified (verification is off); it would fail: %s",
                                           X509_verify_cert_error_string (vr));
  return TRUE;
}

static gboolean
start_tls (Run *run)
{
  begin_stage (run, SMARTHOST_PROBE_STAGE_TLS);
  if (!set_up_tls_context (run))
    return FALSE;
  set_up_tls_session (run);
  if (!tls_handshake (run))
    return FALSE;
  run->tls_active = TRUE;
  if (!check_certificate (run))
    return FALSE;
  end_stage (run);
  return TRUE;
}

static gboolean
ehlo (Run *run)
{
  SmtpReply reply;
  g_autofree char *cmd = g_strconcat ("EHLO ", run->probe->helo_name, NULL);
  GStrvBuilder *caps;
  gboolean ok;

  begin_stage (run, SMARTHOST_PROBE_STAGE_EHLO);
  if (!send_line (run, cmd, NULL, "EHLO"))
    return FALSE;
  ok = read_expect (run, 2, "EHLO", &reply);
  if (ok)
    {
      caps = g_strv_builder_new ();
      for (guint i = 1; i < reply.lines->len; i++)
        g_strv_builder_add (caps, g_ptr_array_index (reply.lines, i));
      g_strfreev (run->caps);
      run->caps = g_strv_builder_end (caps);
      g_strv_builder_unref (caps);
      g_strfreev (run->c.result->capabilities);
      run->c.result->capabilities = g_strdupv (run->caps);
      end_stage (run);
    }
  _smarthost_smtp_reply_clear (&reply);
  return ok;
}

static const char *
capability (Run        *run,
            const char *name)
{
  gsize n = strlen (name);

  for (guint i = 0; run->caps && run->caps[i]; i++)
    if (g_ascii_strncasecmp (run->caps[i], name, n) == 0 &&
        (run->caps[i][n] == '\0' || run->caps[i][n] == ' ' || run->caps[i][n] == '='))
      return run->caps[i] + n;
  return NULL;
}

static gboolean
offers_mechanism (const char *list,
                  const char *mech)
{
  g_auto(GStrv) mechs = g_strsplit_set (list, " =", 0);

  for (guint i = 0; mechs[i]; i++)
    if (g_ascii_strcasecmp (mechs[i], mech) == 0)
      return TRUE;
  return FALSE;
}

static char *
b64 (const char *data,
     gsize       len)
{
  return g_base64_encode ((const guchar *) data, len);
}

static gboolean
authenticate (Run *run)
{
  SmarthostRelay *relay = run->probe->relay;
  const char *user = smarthost_relay_get_username (relay);
  const char *password = smarthost_relay_get_password (relay);
  const char *list;
  SmtpReply reply;
  gboolean ok;

  if (user == NULL)
    return TRUE;
  begin_stage (run, SMARTHOST_PROBE_STAGE_AUTH);
  if (password == NULL)
    {
      fail (run, "Set the relay's password to check authentication.", "the password is not known");
      return FALSE;
    }
  list = capability (run, "AUTH");
  if (list == NULL)
    {
      fail (run, run->tls_active || capability (run, "STARTTLS") == NULL
                   ? "The relay does not offer authentication: it may authorize by IP address; then drop the credentials."
                   : "The relay offers authentication only after STARTTLS: use security starttls.",
            "the relay does not offer AUTH");
      return FALSE;
    }

  if (offers_mechanism (list, "PLAIN"))
    {
      g_autofree char *raw = g_strdup_printf ("%c%s%c%s", 0, user, 0, password);
      gsize raw_len = 2 + strlen (user) + strlen (password);
      g_autofree char *token = b64 (raw, raw_len);
      g_autofree char *cmd = g_strconcat ("AUTH PLAIN ", token, NULL);

      g_ptr_array_add (run->c.secrets, g_strdup (token));
      _smarthost_secure_zero (raw, raw_len);
      run->c.result->auth_mechanism = g_strdup ("PLAIN");
      if (!send_line (run, cmd, "AUTH PLAIN " SMARTHOST_PASSWORD_MASK, "AUTH PLAIN"))
        return FALSE;
      _smarthost_secure_zero (cmd, strlen (cmd));
      ok = read_expect (run, 2, "AUTH PLAIN", &reply);
      _smarthost_smtp_reply_clear (&reply);
    }
  else if (offers_mechanism (list, "LOGIN"))
    {
      g_autofree char *u = b64 (user, strlen (user));
      g_autofree char *p = b64 (password, strlen (password));

      g_ptr_array_add (run->c.secrets, g_strdup (p));
      run->c.result->auth_mechanism = g_strdup ("LOGIN");
      if (!send_line (run, "AUTH LOGIN", NULL, "AUTH LOGIN"))
        return FALSE;
      ok = read_expect (run, 3, "AUTH LOGIN", &reply);
      _smarthost_smtp_reply_clear (&reply);
      if (!ok || !send_line (run, u, NULL, "AUTH LOGIN"))
        return FALSE;
      ok = read_expect (run, 3, "AUTH LOGIN", &reply);
      _smarthost_smtp_reply_clear (&reply);
      if (!ok || !send_line (run, p, SMARTHOST_PASSWORD_MASK, "AUTH LOGIN"))
        return FALSE;
      _smarthost_secure_zero (p, strlen (p));
      ok = read_expect (run, 2, "AUTH LOGIN", &reply);
      _smarthost_smtp_reply_clear (&reply);
    }
  else
    {
      fail (run, "The relay offers no mechanism that libsmarthost and Postfix both use (PLAIN, LOGIN).",
            "no common authentication mechanism: the relay offers %s", g_strstrip (g_strdup (list)));
      return FALSE;
    }
  if (ok)
    end_stage (run);
  return ok;
}

static gboolean
send_message (Run *run)
{
  SmarthostProbe *probe = run->probe;
  SmtpReply reply;
  g_autofree char *mail = g_strdup_printf ("MAIL FROM:<%s>", probe->sender);
  g_autofree char *rcpt = g_strdup_printf ("RCPT TO:<%s>", probe->recipient);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *date = g_date_time_format (now, "%a, %d %b %Y %H:%M:%S %z");
  g_autofree char *id = g_uuid_string_random ();
  g_autofree char *body = NULL;
  g_autoptr(GError) error = NULL;
  const char *at = strrchr (probe->sender, '@');
  /* The transcript shows the message as this line, not the message itself. */
  static const char summary[] = "(message: headers and one line of text)";
  gboolean ok;

  begin_stage (run, SMARTHOST_PROBE_STAGE_MAIL);
  if (!send_line (run, mail, NULL, "MAIL FROM"))
    return FALSE;
  ok = read_expect (run, 2, "MAIL FROM", &reply);
  _smarthost_smtp_reply_clear (&reply);
  if (!ok)
    return FALSE;
  end_stage (run);

  begin_stage (run, SMARTHOST_PROBE_STAGE_RCPT);
  if (!send_line (run, rcpt, NULL, "RCPT TO"))
    return FALSE;
  ok = read_expect (run, 2, "RCPT TO", &reply);
  _smarthost_smtp_reply_clear (&reply);
  if (!ok)
    return FALSE;
  end_stage (run);

  begin_stage (run, SMARTHOST_PROBE_STAGE_DATA);
  if (!send_line (run, "DATA", NULL, "DATA"))
    return FALSE;
  ok = read_expect (run, 3, "DATA", &reply);
  _smarthost_smtp_reply_clear (&reply);
  if (!ok)
    return FALSE;
  body = g_strdup_printf ("From: <%s>\r\n"
                          "To: <%s>\r\n"
                          "Subject: libsmarthost test message\r\n"
                          "Date: %s\r\n"
                          "Message-ID: <%s@%s>\r\n"
                          "MIME-Version: 1.0\r\n"
                          "Content-Type: text/plain; charset=utf-8\r\n"
                          "\r\n"
                          "This is a test message sent through the smarthost %s by smarthostctl.\r\n"
                          ".\r\n",
                          probe->sender, probe->recipient, date, id, at ? at + 1 : "localhost",
                          smarthost_relay_get_host (probe->relay));
  transcript_add (&run->c, "C: ", summary, sizeof summary - 1);
  if (!conn_send (&run->c, body, strlen (body), stage_deadline (run), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        fail (run, io_hint (run, error), "DATA: %s", error->message);
      return FALSE;
    }
  transcript_add (&run->c, "C: ", ".", 1);
  ok = read_expect (run, 2, "end of message", &reply);
  if (ok)
    {
      run->c.result->queue_reply = _smarthost_smtp_reply_text (&reply);
      run->c.result->sent_message = TRUE;
      end_stage (run);
    }
  _smarthost_smtp_reply_clear (&reply);
  return ok;
}

static void
probe_run (Run *run)
{
  SmarthostRelay *relay = run->probe->relay;
  SmarthostSecurity security = smarthost_relay_get_security (relay);
  SmtpReply reply;
  gboolean ok;

  if (!connect_relay (run))
    return;

  if (security == SMARTHOST_SECURITY_TLS && !start_tls (run))
    return;

  begin_stage (run, SMARTHOST_PROBE_STAGE_GREETING);
  ok = read_expect (run, 2, "greeting", &reply);
  if (ok)
    run->c.result->greeting = _smarthost_smtp_reply_text (&reply);
  _smarthost_smtp_reply_clear (&reply);
  if (!ok)
    return;
  end_stage (run);

  if (!ehlo (run))
    return;

  if (security != SMARTHOST_SECURITY_TLS)
    {
      gboolean offered = capability (run, "STARTTLS") != NULL;

      if (security == SMARTHOST_SECURITY_STARTTLS && !offered)
        {
          begin_stage (run, SMARTHOST_PROBE_STAGE_STARTTLS);
          fail (run, "The relay does not offer STARTTLS on this port: if it is port 465, use security tls; "
                     "otherwise the relay cannot protect the credentials.",
                "the relay does not offer STARTTLS");
          return;
        }
      /* security none: like Postfix's "may", use TLS when offered. */
      if (offered)
        {
          begin_stage (run, SMARTHOST_PROBE_STAGE_STARTTLS);
          if (!send_line (run, "STARTTLS", NULL, "STARTTLS"))
            return;
          ok = read_expect (run, 2, "STARTTLS", &reply);
          _smarthost_smtp_reply_clear (&reply);
          if (!ok)
            return;
          end_stage (run);
          if (run->c.in_len > 0)
            {
              begin_stage (run, SMARTHOST_PROBE_STAGE_TLS);
              fail (run, NULL, "the relay sent data before the TLS handshake (a STARTTLS injection attempt?)");
              return;
            }
          if (!start_tls (run) || !ehlo (run))
            return;
        }
    }

  if (!authenticate (run))
    return;

  if (run->probe->sender != NULL && run->probe->recipient != NULL && !send_message (run))
    return;

  begin_stage (run, SMARTHOST_PROBE_STAGE_QUIT);
  if (send_line (run, "QUIT", NULL, "QUIT"))
    {
      /* A relay that hangs up without its 221 has still done its job. */
      g_autoptr(GError) error = NULL;
      run->c.deadline = MIN (run->c.deadline, g_get_monotonic_time () + 2 * G_USEC_PER_SEC);
      if (conn_read_reply (&run->c, &reply, run->c.deadline, &error))
        _smarthost_smtp_reply_clear (&reply);
      else
        _smarthost_smtp_reply_clear (&reply);
    }
  end_stage (run);
  run->c.result->stage = SMARTHOST_PROBE_STAGE_DONE;
  run->c.result->success = TRUE;
  run->c.result->failed_stage = SMARTHOST_PROBE_STAGE_NONE;
  g_clear_pointer (&run->c.result->message, g_free);
  g_clear_pointer (&run->c.result->hint, g_free);
}

/**
 * smarthost_probe_run:
 * @self: a probe
 * @cancellable: (nullable): a #GCancellable; the check stops at once when
 *   it is cancelled
 * @error: return location for a #GError
 *
 * Checks the relay; with [property@Probe:sender] and
 * [property@Probe:recipient] set, sends a test message through it. Blocks
 * until done, at most [property@Probe:timeout] seconds.
 *
 * Returns: (transfer full): the result, which says whether the relay works;
 *   %NULL only when the relay is invalid (%SMARTHOST_ERROR_INVALID) or the
 *   check was cancelled (%G_IO_ERROR_CANCELLED)
 */
SmarthostProbeResult *
smarthost_probe_run (SmarthostProbe  *self,
                     GCancellable    *cancellable,
                     GError         **error)
{
  g_autoptr(SmarthostProbeResult) result = NULL;
  Run run = { 0, };

  g_return_val_if_fail (SMARTHOST_IS_PROBE (self), NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!smarthost_relay_validate (self->relay, error))
    return NULL;
  if (!is_safe_token (self->helo_name))
    {
      _smarthost_set_invalid (error, "helo-name", "must be a host name without spaces or control characters");
      return NULL;
    }
  if ((self->sender && (!is_safe_token (self->sender) || strchr (self->sender, '@') == NULL)) ||
      (self->recipient && (!is_safe_token (self->recipient) || strchr (self->recipient, '@') == NULL)))
    {
      _smarthost_set_invalid (error, self->sender && (!is_safe_token (self->sender) || !strchr (self->sender, '@'))
                                       ? "sender" : "recipient",
                              "must be a mail address (user@domain) without spaces, angle brackets or control characters");
      return NULL;
    }
  if ((self->sender == NULL) != (self->recipient == NULL))
    {
      _smarthost_set_invalid (error, self->sender ? "recipient" : "sender",
                              "a test message needs both a sender and a recipient");
      return NULL;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  result = _smarthost_probe_result_new ();
  result->host = g_strdup (smarthost_relay_get_host (self->relay));
  result->port = smarthost_relay_get_effective_port (self->relay);
  result->security = g_strdup (smarthost_security_to_string (smarthost_relay_get_security (self->relay)));
  /* The relay is valid, but not for Postfix, which verifies a certificate
   * against a host name only (its backend refuses such a relay); the check
   * itself verifies against the address, and may well work. */
  if (_smarthost_host_is_address (smarthost_relay_get_host (self->relay), NULL) &&
      smarthost_relay_get_security (self->relay) != SMARTHOST_SECURITY_NONE &&
      smarthost_relay_get_verify_certificate (self->relay))
    {
      result->warnings->pdata[result->warnings->len - 1] =
        g_strdup ("Postfix cannot verify a certificate against an IP address, so it refuses this relay: "
                  "give the relay's host name, or turn certificate verification off.");
      g_ptr_array_add (result->warnings, NULL);
    }

  run.probe = self;
  run.port = result->port;
  run.c.fd = -1;
  run.c.result = result;
  run.c.cancellable = cancellable;
  run.c.secrets = g_ptr_array_new_with_free_func ((GDestroyNotify) _smarthost_secret_free);
  if (smarthost_relay_get_password (self->relay))
    g_ptr_array_add (run.c.secrets, g_strdup (smarthost_relay_get_password (self->relay)));
  run.c.deadline = g_get_monotonic_time () + (gint64) self->timeout * G_USEC_PER_SEC;
  run.c.have_cancel_pfd = cancellable != NULL && g_cancellable_make_pollfd (cancellable, &run.c.cancel_pfd);

  probe_run (&run);

  conn_close (&run.c);
  if (run.c.have_cancel_pfd)
    g_cancellable_release_fd (cancellable);
  g_ptr_array_unref (run.c.secrets);
  g_strfreev (run.caps);
  g_free (run.host);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;
  return g_steal_pointer (&result);
}

static void
run_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  GError *error = NULL;
  SmarthostProbeResult *result = smarthost_probe_run (source_object, cancellable, &error);

  if (result == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, g_object_unref);
}

/**
 * smarthost_probe_run_async:
 * @self: a probe
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the result
 * @user_data: data for @callback
 *
 * Checks the relay without blocking; see [method@Probe.run].
 */
void
smarthost_probe_run_async (SmarthostProbe      *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (SMARTHOST_IS_PROBE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, smarthost_probe_run_async);
  g_task_run_in_thread (task, run_thread);
}

/**
 * smarthost_probe_run_finish:
 * @self: a probe
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Probe.run_async].
 *
 * Returns: (transfer full): the result, or %NULL with @error set
 */
SmarthostProbeResult *
smarthost_probe_run_finish (SmarthostProbe  *self,
                            GAsyncResult    *result,
                            GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* --- GObject --------------------------------------------------------------- */

static void
smarthost_probe_finalize (GObject *object)
{
  SmarthostProbe *self = SMARTHOST_PROBE (object);

  g_clear_object (&self->relay);
  g_free (self->helo_name);
  g_free (self->sender);
  g_free (self->recipient);
  G_OBJECT_CLASS (smarthost_probe_parent_class)->finalize (object);
}

static void
smarthost_probe_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  SmarthostProbe *self = SMARTHOST_PROBE (object);

  switch (prop_id)
    {
    case PROP_RELAY:
      g_value_set_object (value, self->relay);
      break;
    case PROP_CONNECT_TIMEOUT:
      g_value_set_uint (value, self->connect_timeout);
      break;
    case PROP_TIMEOUT:
      g_value_set_uint (value, self->timeout);
      break;
    case PROP_HELO_NAME:
      g_value_set_string (value, self->helo_name);
      break;
    case PROP_SENDER:
      g_value_set_string (value, self->sender);
      break;
    case PROP_RECIPIENT:
      g_value_set_string (value, self->recipient);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_probe_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  SmarthostProbe *self = SMARTHOST_PROBE (object);

  switch (prop_id)
    {
    case PROP_RELAY:
      {
        SmarthostRelay *relay = g_value_get_object (value);
        /* A copy: changing the caller's relay later does not change the check. */
        self->relay = relay ? smarthost_relay_copy (relay) : smarthost_relay_new (NULL);
      }
      break;
    case PROP_CONNECT_TIMEOUT:
      smarthost_probe_set_connect_timeout (self, g_value_get_uint (value));
      break;
    case PROP_TIMEOUT:
      smarthost_probe_set_timeout (self, g_value_get_uint (value));
      break;
    case PROP_HELO_NAME:
      smarthost_probe_set_helo_name (self, g_value_get_string (value));
      break;
    case PROP_SENDER:
      smarthost_probe_set_sender (self, g_value_get_string (value));
      break;
    case PROP_RECIPIENT:
      smarthost_probe_set_recipient (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
smarthost_probe_class_init (SmarthostProbeClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = smarthost_probe_finalize;
  object_class->get_property = smarthost_probe_get_property;
  object_class->set_property = smarthost_probe_set_property;

  /**
   * SmarthostProbe:relay: (attributes org.gtk.Property.get=smarthost_probe_get_relay)
   *
   * The relay to check, with its credentials. The probe keeps a copy.
   */
  properties[PROP_RELAY] =
    g_param_spec_object ("relay", NULL, NULL, SMARTHOST_TYPE_RELAY,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbe:connect-timeout: (attributes org.gtk.Property.get=smarthost_probe_get_connect_timeout org.gtk.Property.set=smarthost_probe_set_connect_timeout)
   *
   * Seconds allowed for looking up and connecting to the relay.
   */
  properties[PROP_CONNECT_TIMEOUT] =
    g_param_spec_uint ("connect-timeout", NULL, NULL, 1, 3600, 10,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbe:timeout: (attributes org.gtk.Property.get=smarthost_probe_get_timeout org.gtk.Property.set=smarthost_probe_set_timeout)
   *
   * Seconds allowed for the whole check.
   */
  properties[PROP_TIMEOUT] =
    g_param_spec_uint ("timeout", NULL, NULL, 1, 3600, 30,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbe:helo-name: (attributes org.gtk.Property.get=smarthost_probe_get_helo_name org.gtk.Property.set=smarthost_probe_set_helo_name)
   *
   * The name this server gives in EHLO; this machine's host name by default.
   */
  properties[PROP_HELO_NAME] =
    g_param_spec_string ("helo-name", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbe:sender: (attributes org.gtk.Property.get=smarthost_probe_get_sender org.gtk.Property.set=smarthost_probe_set_sender)
   *
   * The envelope sender of a test message, or %NULL to send none.
   */
  properties[PROP_SENDER] =
    g_param_spec_string ("sender", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * SmarthostProbe:recipient: (attributes org.gtk.Property.get=smarthost_probe_get_recipient org.gtk.Property.set=smarthost_probe_set_recipient)
   *
   * The recipient of a test message, or %NULL to send none.
   */
  properties[PROP_RECIPIENT] =
    g_param_spec_string ("recipient", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
smarthost_probe_init (SmarthostProbe *self)
{
  self->connect_timeout = 10;
  self->timeout = 30;
  self->helo_name = g_strdup (g_get_host_name ());
}

/**
 * smarthost_probe_new:
 * @relay: the relay to check
 *
 * Creates a probe for @relay. Nothing happens until [method@Probe.run].
 *
 * Returns: (transfer full): a new probe
 */
SmarthostProbe *
smarthost_probe_new (SmarthostRelay *relay)
{
  g_return_val_if_fail (SMARTHOST_IS_RELAY (relay), NULL);
  return g_object_new (SMARTHOST_TYPE_PROBE, "relay", relay, NULL);
}

/**
 * smarthost_probe_get_relay: (get-property relay)
 * @self: a probe
 *
 * Gets the probe's copy of the relay it checks.
 *
 * Returns: (transfer none): the relay
 */
SmarthostRelay *
smarthost_probe_get_relay (SmarthostProbe *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE (self), NULL);
  return self->relay;
}

/**
 * smarthost_probe_get_connect_timeout: (get-property connect-timeout)
 * @self: a probe
 *
 * Gets the seconds allowed for looking up and connecting to the relay.
 *
 * Returns: the connect timeout in seconds
 */
guint
smarthost_probe_get_connect_timeout (SmarthostProbe *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE (self), 0);
  return self->connect_timeout;
}

/**
 * smarthost_probe_set_connect_timeout: (set-property connect-timeout)
 * @self: a probe
 * @seconds: seconds, at least 1
 *
 * Sets the seconds allowed for looking up and connecting to the relay.
 */
void
smarthost_probe_set_connect_timeout (SmarthostProbe *self,
                                     guint           seconds)
{
  g_return_if_fail (SMARTHOST_IS_PROBE (self));
  seconds = CLAMP (seconds, 1, 3600);
  if (self->connect_timeout != seconds)
    {
      self->connect_timeout = seconds;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECT_TIMEOUT]);
    }
}

/**
 * smarthost_probe_get_timeout: (get-property timeout)
 * @self: a probe
 *
 * Gets the seconds allowed for the whole check.
 *
 * Returns: the timeout in seconds
 */
guint
smarthost_probe_get_timeout (SmarthostProbe *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE (self), 0);
  return self->timeout;
}

/**
 * smarthost_probe_set_timeout: (set-property timeout)
 * @self: a probe
 * @seconds: seconds, at least 1
 *
 * Sets the seconds allowed for the whole check.
 */
void
smarthost_probe_set_timeout (SmarthostProbe *self,
                             guint           seconds)
{
  g_return_if_fail (SMARTHOST_IS_PROBE (self));
  seconds = CLAMP (seconds, 1, 3600);
  if (self->timeout != seconds)
    {
      self->timeout = seconds;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIMEOUT]);
    }
}

/**
 * smarthost_probe_get_helo_name: (get-property helo-name)
 * @self: a probe
 *
 * Gets the name given in EHLO.
 *
 * Returns: the EHLO name
 */
const char *
smarthost_probe_get_helo_name (SmarthostProbe *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE (self), NULL);
  return self->helo_name;
}

static gboolean
is_safe_token (const char *text)
{
  for (const guchar *p = (const guchar *) text; *p; p++)
    if (*p <= 0x20 || *p == 0x7f || *p == '<' || *p == '>')
      return FALSE;
  return *text != '\0';
}

/**
 * smarthost_probe_set_helo_name: (set-property helo-name)
 * @self: a probe
 * @helo_name: (nullable): a host name, or %NULL for this machine's
 *
 * Sets the name given in EHLO. [method@Probe.run] refuses names with
 * spaces or control characters.
 */
void
smarthost_probe_set_helo_name (SmarthostProbe *self,
                               const char     *helo_name)
{
  g_return_if_fail (SMARTHOST_IS_PROBE (self));
  if (_smarthost_set_str (&self->helo_name, helo_name ? helo_name : g_get_host_name ()))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HELO_NAME]);
}

/**
 * smarthost_probe_get_sender: (get-property sender)
 * @self: a probe
 *
 * Gets the envelope sender of the test message.
 *
 * Returns: (nullable): the sender, or %NULL when no message is sent
 */
const char *
smarthost_probe_get_sender (SmarthostProbe *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE (self), NULL);
  return self->sender;
}

/**
 * smarthost_probe_set_sender: (set-property sender)
 * @self: a probe
 * @sender: (nullable): an address such as `postmaster@example.com`, or %NULL
 *
 * Sets the envelope sender of a test message. [method@Probe.run] refuses
 * addresses with spaces, angle brackets or control characters.
 */
void
smarthost_probe_set_sender (SmarthostProbe *self,
                            const char     *sender)
{
  g_return_if_fail (SMARTHOST_IS_PROBE (self));
  if (_smarthost_set_str (&self->sender, sender))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SENDER]);
}

/**
 * smarthost_probe_get_recipient: (get-property recipient)
 * @self: a probe
 *
 * Gets the recipient of the test message.
 *
 * Returns: (nullable): the recipient, or %NULL when no message is sent
 */
const char *
smarthost_probe_get_recipient (SmarthostProbe *self)
{
  g_return_val_if_fail (SMARTHOST_IS_PROBE (self), NULL);
  return self->recipient;
}

/**
 * smarthost_probe_set_recipient: (set-property recipient)
 * @self: a probe
 * @recipient: (nullable): an address, or %NULL
 *
 * Sets the recipient of a test message. [method@Probe.run] refuses
 * addresses with spaces, angle brackets or control characters.
 */
void
smarthost_probe_set_recipient (SmarthostProbe *self,
                            const char     *recipient)
{
  g_return_if_fail (SMARTHOST_IS_PROBE (self));
  if (_smarthost_set_str (&self->recipient, recipient))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECIPIENT]);
}
