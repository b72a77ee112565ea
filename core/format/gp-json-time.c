/* graphpipe - Go's time.Time as encoding/json reads and writes it
 * (RFC 3339 with nanoseconds, FORMATS.md §6). */
#include "config.h"

#include "gp-json.h"
#include "gp-json-private.h"
#include "gp-error.h"

#include <string.h>

static inline gboolean
is_digit (guchar c)
{
  return c >= '0' && c <= '9';
}

/* ------------------------------------------------------------------ */
/* time.Time                                                           */
/* ------------------------------------------------------------------ */

/* Seconds from 0001-01-01 to 1970-01-01. */
#define GO_UNIX_TO_INTERNAL G_GINT64_CONSTANT (62135596800)
#define GO_DAYS_TO_UNIX G_GINT64_CONSTANT (719162)

static gint64
floor_div (gint64 a, gint64 b)
{
  gint64 q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
static gint64
days_from_civil (gint64 y, gint64 m, gint64 d)
{
  y -= m <= 2;
  gint64 era = floor_div (y, 400);
  gint64 yoe = y - era * 400;
  gint64 doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  gint64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void
civil_from_days (gint64 z, gint64 *y, gint *m, gint *d)
{
  z += 719468;
  gint64 era = floor_div (z, 146097);
  gint64 doe = z - era * 146097;
  gint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  gint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  gint64 mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yoe + era * 400 + (*m <= 2);
}

/* Go's time.atoi: optional sign, then digits only; overflow fails. */
static gboolean
go_atoi (const guchar *s, gsize n, gint64 *out)
{
  gboolean neg = FALSE;
  gint64 x = 0;

  if (n > 0 && (s[0] == '-' || s[0] == '+'))
    {
      neg = s[0] == '-';
      s++;
      n--;
    }
  for (gsize i = 0; i < n; i++)
    {
      if (!is_digit (s[i]))
        return FALSE;
      if (x >= (G_MAXINT64 - 10) / 10)
        return FALSE;
      x = x * 10 + (s[i] - '0');
    }
  *out = neg ? -x : x;
  return TRUE;
}

/* Go's time.getnum. */
static gboolean
go_getnum (const guchar **s, gsize *n, gboolean fixed, gint *out)
{
  if (*n < 1 || !is_digit ((*s)[0]))
    return FALSE;
  if (*n < 2 || !is_digit ((*s)[1]))
    {
      if (fixed)
        return FALSE;
      *out = (*s)[0] - '0';
      *s += 1;
      *n -= 1;
      return TRUE;
    }
  *out = ((*s)[0] - '0') * 10 + ((*s)[1] - '0');
  *s += 2;
  *n -= 2;
  return TRUE;
}

static gboolean
expect_byte (const guchar **s, gsize *n, guchar c)
{
  if (*n < 1 || (*s)[0] != c)
    return FALSE;
  *s += 1;
  *n -= 1;
  return TRUE;
}

static gboolean
time_error (GError **error, const char *raw, gsize len, const char *what)
{
  g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON,
               "parsing time %.*s as \"2006-01-02T15:04:05Z07:00\": %s",
               (int) MIN (len, 80), raw, what);
  return FALSE;
}

/**
 * gp_go_time_parse_json:
 * @raw: the raw JSON text of the value, quotes included (not unescaped)
 * @len: its length
 * @out: (out): the time
 * @error: return location for a #GError
 *
 * Decodes a time.Time exactly as Go 1.5's Time.UnmarshalJSON: the raw
 * text is parsed with the layout `"2006-01-02T15:04:05Z07:00"` (so `null`,
 * escapes and non-strings fail).  A fraction of seconds of any length is
 * read; its digits must be below 10^9 (so 10 or more significant digits
 * fail) and are scaled only when there are fewer than 10.  Hours may have
 * one digit; days 00-31 are accepted and normalised like Go's time.Date
 * (Feb 30 is Mar 2); seconds and minutes must be below 60, hours below 24.
 * A numeric zone offset is kept.
 *
 * Returns: %TRUE on success; %FALSE with %GP_DATA_ERROR_JSON.
 */
gboolean
gp_go_time_parse_json (const char *raw, gsize len, GpGoTime *out, GError **error)
{
  const guchar *s = (const guchar *) raw;
  gsize n = len;
  gint64 year = 0;
  gint month, day, hour, minute, second;
  gint64 nsec = 0;
  gint64 offset = 0;

  if (!expect_byte (&s, &n, '"'))
    return time_error (error, raw, len, "not a string");
  if (n < 4 || !is_digit (s[0]) || !go_atoi (s, 4, &year))
    return time_error (error, raw, len, "bad year");
  s += 4;
  n -= 4;
  if (!expect_byte (&s, &n, '-') || !go_getnum (&s, &n, TRUE, &month))
    return time_error (error, raw, len, "bad month");
  if (month < 1 || month > 12)
    return time_error (error, raw, len, "month out of range");
  if (!expect_byte (&s, &n, '-') || !go_getnum (&s, &n, TRUE, &day))
    return time_error (error, raw, len, "bad day");
  if (day < 0 || day > 31)
    return time_error (error, raw, len, "day out of range");
  if (!expect_byte (&s, &n, 'T') || !go_getnum (&s, &n, FALSE, &hour))
    return time_error (error, raw, len, "bad hour");
  if (hour >= 24)
    return time_error (error, raw, len, "hour out of range");
  if (!expect_byte (&s, &n, ':') || !go_getnum (&s, &n, TRUE, &minute))
    return time_error (error, raw, len, "bad minute");
  if (minute >= 60)
    return time_error (error, raw, len, "minute out of range");
  if (!expect_byte (&s, &n, ':') || !go_getnum (&s, &n, TRUE, &second))
    return time_error (error, raw, len, "bad second");
  if (second >= 60)
    return time_error (error, raw, len, "second out of range");
  if (n >= 2 && s[0] == '.' && is_digit (s[1]))
    {
      gsize nbytes = 2;
      while (nbytes < n && is_digit (s[nbytes]))
        nbytes++;
      if (!go_atoi (s + 1, nbytes - 1, &nsec))
        return time_error (error, raw, len, "bad fractional second");
      if (nsec >= 1000000000)
        return time_error (error, raw, len, "fractional second out of range");
      for (gsize i = nbytes; i < 10; i++)
        nsec *= 10;
      s += nbytes;
      n -= nbytes;
    }
  if (n >= 1 && s[0] == 'Z')
    {
      s++;
      n--;
    }
  else
    {
      gint64 hr, mm;
      if (n < 6 || s[3] != ':' || !go_atoi (s + 1, 2, &hr) || !go_atoi (s + 4, 2, &mm)
          || (s[0] != '+' && s[0] != '-'))
        return time_error (error, raw, len, "bad zone");
      offset = (hr * 60 + mm) * 60;
      if (s[0] == '-')
        offset = -offset;
      s += 6;
      n -= 6;
    }
  if (!expect_byte (&s, &n, '"'))
    return time_error (error, raw, len, "bad value");
  if (n != 0)
    return time_error (error, raw, len, "extra text");

  gint64 days = days_from_civil (year, month, 1) + (day - 1) + GO_DAYS_TO_UNIX;
  out->sec = days * 86400 + hour * 3600 + minute * 60 + second - offset;
  out->nsec = nsec;
  out->offset = offset;
  return TRUE;
}

/**
 * gp_go_time_append_json:
 * @out: where to append
 * @t: a time
 * @error: return location for a #GError
 *
 * Encodes @t as Go 1.5's Time.MarshalJSON: `"` + RFC 3339 with
 * nanoseconds, trailing zeros of the fraction dropped (no fraction when
 * zero) + `"`; the zone is `Z` for offset 0, else `±hh:mm` of @t's offset.
 *
 * Returns: %TRUE on success; %FALSE with %GP_DATA_ERROR_INVALID (and @out
 *   unchanged) when the year in @t's zone is outside 0000-9999.
 */
gboolean
gp_go_time_append_json (GString *out, const GpGoTime *t, GError **error)
{
  gint64 wall = t->sec + t->offset;
  gint64 days = floor_div (wall, 86400);
  gint64 rem = wall - days * 86400;
  gint64 year;
  gint month, day;

  civil_from_days (days - GO_DAYS_TO_UNIX, &year, &month, &day);
  if (year < 0 || year > 9999)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "Time.MarshalJSON: year outside of range [0,9999]");
      return FALSE;
    }
  g_string_append_printf (out, "\"%04d-%02d-%02dT%02d:%02d:%02d", (int) year, month, day,
                          (int) (rem / 3600), (int) (rem / 60 % 60), (int) (rem % 60));
  if (t->nsec != 0)
    {
      char frac[10];
      g_snprintf (frac, sizeof frac, "%09d", (int) t->nsec);
      int n = 9;
      while (n > 0 && frac[n - 1] == '0')
        n--;
      g_string_append_c (out, '.');
      g_string_append_len (out, frac, n);
    }
  if (t->offset == 0)
    g_string_append_c (out, 'Z');
  else
    {
      gint zone = t->offset / 60;
      char sign = '+';
      if (zone < 0)
        {
          sign = '-';
          zone = -zone;
        }
      g_string_append_printf (out, "%c%02d:%02d", sign, zone / 60, zone % 60);
    }
  g_string_append_c (out, '"');
  return TRUE;
}

/**
 * gp_go_time_to_unix:
 * @t: a time
 *
 * Returns: Go's t.Unix(): whole seconds since 1970-01-01T00:00:00Z
 *   (rounded down).
 */
gint64
gp_go_time_to_unix (const GpGoTime *t)
{
  return t->sec - GO_UNIX_TO_INTERNAL;
}
