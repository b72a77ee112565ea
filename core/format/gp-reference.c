/* graphpipe - Docker 1.10.3 image references. */
#include "config.h"

#include "gp-reference.h"

#include <string.h>

#include "gp-digest.h"
#include "gp-error.h"

#define DEFAULT_HOSTNAME "docker.io"
#define LEGACY_DEFAULT_HOSTNAME "index.docker.io"
#define DEFAULT_REPO_PREFIX "library/"

static gboolean
is_lower_alnum (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static gboolean
is_alnum (char c)
{
  return g_ascii_isalnum (c);
}

static gboolean
is_word (char c)
{
  return g_ascii_isalnum (c) || c == '_';
}

/* component := [a-z0-9]+ ( ( "." | "_" | "__" | "-"* ) [a-z0-9]+ )* */
static gboolean
component_ok (const char *s, gsize n)
{
  if (n == 0 || !is_lower_alnum (s[0]) || !is_lower_alnum (s[n - 1]))
    return FALSE;
  gsize i = 0;
  while (i < n)
    {
      if (is_lower_alnum (s[i]))
        {
          i++;
          continue;
        }
      gsize j = i;
      while (j < n && !is_lower_alnum (s[j]))
        j++;
      /* s[i..j) is a separator run, followed by an alnum (s ends in one). */
      gsize len = j - i;
      gboolean ok;
      if (len == 1)
        ok = s[i] == '.' || s[i] == '_' || s[i] == '-';
      else if (len == 2 && s[i] == '_' && s[i + 1] == '_')
        ok = TRUE;
      else
        {
          ok = TRUE;
          for (gsize k = i; k < j; k++)
            ok = ok && s[k] == '-';
        }
      if (!ok)
        return FALSE;
      i = j;
    }
  return TRUE;
}

/* component ( "/" component )* */
static gboolean
components_ok (const char *s, gsize n)
{
  gsize start = 0;
  for (gsize i = 0; i <= n; i++)
    if (i == n || s[i] == '/')
      {
        if (!component_ok (s + start, i - start))
          return FALSE;
        start = i + 1;
      }
  return TRUE;
}

/* hostcomp := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static gboolean
hostcomp_ok (const char *s, gsize n)
{
  if (n == 0 || !is_alnum (s[0]) || !is_alnum (s[n - 1]))
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!is_alnum (s[i]) && s[i] != '-')
      return FALSE;
  return TRUE;
}

/* hostname := hostcomp ( "." hostcomp )* [ ":" [0-9]+ ] */
static gboolean
hostname_ok (const char *s, gsize n)
{
  const char *colon = memchr (s, ':', n);
  gsize host_len = colon ? (gsize) (colon - s) : n;
  if (colon)
    {
      gsize port_len = n - host_len - 1;
      if (port_len == 0)
        return FALSE;
      for (gsize i = host_len + 1; i < n; i++)
        if (!g_ascii_isdigit (s[i]))
          return FALSE;
    }
  gsize start = 0;
  for (gsize i = 0; i <= host_len; i++)
    if (i == host_len || s[i] == '.')
      {
        if (!hostcomp_ok (s + start, i - start))
          return FALSE;
        start = i + 1;
      }
  return TRUE;
}

/* The anchored name grammar of FORMATS.md §4.5. */
static gboolean
name_grammar_ok (const char *s, gsize n)
{
  if (components_ok (s, n))
    return TRUE;
  const char *slash = memchr (s, '/', n);
  if (slash == NULL)
    return FALSE;
  gsize h = (gsize) (slash - s);
  return hostname_ok (s, h) && components_ok (slash + 1, n - h - 1);
}

/* [\w][\w.-]{0,127} */
static gboolean
tag_grammar_ok (const char *s, gsize n)
{
  if (n == 0 || n > 128 || !is_word (s[0]))
    return FALSE;
  for (gsize i = 1; i < n; i++)
    if (!is_word (s[i]) && s[i] != '.' && s[i] != '-')
      return FALSE;
  return TRUE;
}

/* [A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,} */
static gboolean
digest_grammar_ok (const char *s, gsize n)
{
  const char *colon = memchr (s, ':', n);
  if (colon == NULL)
    return FALSE;
  gsize alg_len = (gsize) (colon - s);
  gboolean need_alpha = TRUE;
  for (gsize i = 0; i < alg_len; i++)
    {
      char c = s[i];
      if (need_alpha)
        {
          if (!g_ascii_isalpha (c))
            return FALSE;
          need_alpha = FALSE;
        }
      else if (c == '-' || c == '_' || c == '+' || c == '.')
        need_alpha = TRUE;
      else if (!is_alnum (c))
        return FALSE;
    }
  if (need_alpha)
    return FALSE;
  gsize hex_len = n - alg_len - 1;
  if (hex_len < 32)
    return FALSE;
  for (gsize i = alg_len + 1; i < n; i++)
    if (!g_ascii_isxdigit (s[i]))
      return FALSE;
  return TRUE;
}

/* Docker's splitHostname. */
static void
split_hostname (const char *name, char **out_host, char **out_remote)
{
  const char *slash = strchr (name, '/');
  char *host, *remote;

  if (slash == NULL)
    {
      host = g_strdup (DEFAULT_HOSTNAME);
      remote = g_strdup (name);
    }
  else
    {
      g_autofree char *first = g_strndup (name, (gsize) (slash - name));
      if (strpbrk (first, ".:") == NULL && strcmp (first, "localhost") != 0)
        {
          host = g_strdup (DEFAULT_HOSTNAME);
          remote = g_strdup (name);
        }
      else
        {
          host = g_steal_pointer (&first);
          remote = g_strdup (slash + 1);
        }
    }
  if (strcmp (host, LEGACY_DEFAULT_HOSTNAME) == 0)
    {
      g_free (host);
      host = g_strdup (DEFAULT_HOSTNAME);
    }
  if (strcmp (host, DEFAULT_HOSTNAME) == 0 && strchr (remote, '/') == NULL)
    {
      char *r = g_strconcat (DEFAULT_REPO_PREFIX, remote, NULL);
      g_free (remote);
      remote = r;
    }
  *out_host = host;
  *out_remote = remote;
}

/* strings.ToLower(s) != s, as Go 1.5 decides it: any valid rune whose lower
 * case differs (invalid bytes are left alone by Go 1.5's strings.Map). */
static gboolean
has_upper (const char *s)
{
  const char *p = s;
  const char *end = s + strlen (s);

  while (p < end)
    {
      guchar c = (guchar) *p;
      if (c < 0x80)
        {
          if (c >= 'A' && c <= 'Z')
            return TRUE;
          p++;
          continue;
        }
      gunichar u = g_utf8_get_char_validated (p, end - p);
      if (u == (gunichar) -1 || u == (gunichar) -2)
        {
          p++;
          continue;
        }
      if (g_unichar_tolower (u) != u)
        return TRUE;
      p = g_utf8_next_char (p);
    }
  return FALSE;
}

static gboolean
ref_error (GError **error, const char *msg)
{
  g_set_error_literal (error, GP_DATA_ERROR, GP_DATA_ERROR_REFERENCE, msg);
  return FALSE;
}

/**
 * gp_reference_normalize_name:
 * @name: a repository name as a user or a legacy file spells it
 * @error: return location for a #GError
 *
 * Docker 1.10.3's `reference.WithName` (FORMATS.md §4.5): host split,
 * `index.docker.io` → `docker.io`, `library/` handling, the lowercase rule,
 * refusal of 64-hex names, the 255-byte limit and the name grammar.
 * Errors (%GP_DATA_ERROR_REFERENCE) carry Docker's wording:
 * `invalid reference format: repository name must be lowercase`,
 * `Invalid repository name (…), cannot specify 64-byte hexadecimal strings`,
 * `repository name must not be more than 255 characters`,
 * `invalid reference format`.
 *
 * Returns: (transfer full) (nullable): the normalised name (`busybox`,
 *   `user/repo`, `localhost:5000/foo`); free with g_free().
 */
char *
gp_reference_normalize_name (const char *name, GError **error)
{
  g_autofree char *host = NULL;
  g_autofree char *remote = NULL;

  split_hostname (name, &host, &remote);
  if (has_upper (remote))
    {
      ref_error (error, "invalid reference format: repository name must be lowercase");
      return NULL;
    }
  g_autofree char *norm = NULL;
  if (strcmp (host, DEFAULT_HOSTNAME) == 0)
    norm = g_strdup (g_str_has_prefix (remote, DEFAULT_REPO_PREFIX)
                     ? remote + strlen (DEFAULT_REPO_PREFIX) : remote);
  else
    norm = g_strdup (name);

  if (gp_v1_id_is_valid (norm, -1))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_REFERENCE,
                   "Invalid repository name (%s), cannot specify 64-byte hexadecimal strings", norm);
      return NULL;
    }
  gsize n = strlen (norm);
  if (n > GP_REFERENCE_NAME_MAX)
    {
      ref_error (error, "repository name must not be more than 255 characters");
      return NULL;
    }
  if (!name_grammar_ok (norm, n))
    {
      ref_error (error, "invalid reference format");
      return NULL;
    }
  return g_steal_pointer (&norm);
}

/**
 * gp_reference_with_name:
 * @name: a repository name
 * @error: return location for a #GError
 *
 * A name-only reference (Docker's `WithName`), normalised as
 * gp_reference_normalize_name() does.
 *
 * Returns: (transfer full) (nullable): the reference; free with
 *   gp_reference_free().
 */
GpReference *
gp_reference_with_name (const char *name, GError **error)
{
  g_autofree char *norm = gp_reference_normalize_name (name, error);
  if (norm == NULL)
    return NULL;
  GpReference *ref = g_new0 (GpReference, 1);
  split_hostname (norm, &ref->hostname, &ref->remote);
  ref->name = g_steal_pointer (&norm);
  return ref;
}

/**
 * gp_reference_validate_tag:
 * @tag: a tag
 * @error: return location for a #GError
 *
 * Checks `[\w][\w.-]{0,127}`; else `invalid tag format`.
 *
 * Returns: %TRUE if valid.
 */
gboolean
gp_reference_validate_tag (const char *tag, GError **error)
{
  if (!tag_grammar_ok (tag, strlen (tag)))
    return ref_error (error, "invalid tag format");
  return TRUE;
}

/**
 * gp_reference_validate_digest:
 * @digest: a digest as it appears in a reference
 * @error: return location for a #GError
 *
 * Checks the reference digest grammar of FORMATS.md §4.5 (algorithm
 * components, `:`, 32 or more hex digits of either case); else
 * `invalid digest format`.  This does not check the algorithm or the
 * length (gp_digest_parse() does).
 *
 * Returns: %TRUE if valid.
 */
gboolean
gp_reference_validate_digest (const char *digest, GError **error)
{
  if (!digest_grammar_ok (digest, strlen (digest)))
    return ref_error (error, "invalid digest format");
  return TRUE;
}

/**
 * gp_reference_with_tag:
 * @name: a repository name (normalised here)
 * @tag: a tag
 * @error: return location for a #GError
 *
 * Docker's `WithName` + `WithTag`.
 *
 * Returns: (transfer full) (nullable): the reference; free with
 *   gp_reference_free().
 */
GpReference *
gp_reference_with_tag (const char *name, const char *tag, GError **error)
{
  g_autoptr (GpReference) ref = gp_reference_with_name (name, error);
  if (ref == NULL || !gp_reference_validate_tag (tag, error))
    return NULL;
  ref->tag = g_strdup (tag);
  return g_steal_pointer (&ref);
}

/**
 * gp_reference_with_digest:
 * @name: a repository name (normalised here)
 * @digest: a digest
 * @error: return location for a #GError
 *
 * Docker's `WithName` + `WithDigest`.
 *
 * Returns: (transfer full) (nullable): the reference; free with
 *   gp_reference_free().
 */
GpReference *
gp_reference_with_digest (const char *name, const char *digest, GError **error)
{
  g_autoptr (GpReference) ref = gp_reference_with_name (name, error);
  if (ref == NULL || !gp_reference_validate_digest (digest, error))
    return NULL;
  ref->digest = g_strdup (digest);
  return g_steal_pointer (&ref);
}

/**
 * gp_reference_parse:
 * @s: `name[:tag][@digest]`
 * @error: return location for a #GError
 *
 * Docker 1.10.3's `reference.ParseNamed`: the whole string must match the
 * reference grammar (name of at most 255 bytes, tag, digest that is also a
 * valid digest string, §5.1), else
 * `Error parsing reference: "<s>" is not a valid repository/tag`; then the
 * name is normalised (gp_reference_normalize_name(), its errors as they
 * are).  With both a tag and a digest only the digest is kept.  No default
 * tag is added.
 *
 * Returns: (transfer full) (nullable): the reference; free with
 *   gp_reference_free().
 */
GpReference *
gp_reference_parse (const char *s, GError **error)
{
  gsize n = strlen (s);
  const char *at = memchr (s, '@', n);
  gsize rest_len = at ? (gsize) (at - s) : n;
  const char *digest = at ? at + 1 : NULL;
  gsize digest_len = at ? n - rest_len - 1 : 0;

  /* A tag is after the last ':' when that follows the last '/'; a ':'
   * before a '/' can only be a host's port. */
  const char *colon = NULL;
  for (gsize i = rest_len; i > 0; i--)
    {
      if (s[i - 1] == '/')
        break;
      if (s[i - 1] == ':')
        {
          colon = s + i - 1;
          break;
        }
    }
  gsize name_len = colon ? (gsize) (colon - s) : rest_len;
  gboolean ok = n > 0 && name_grammar_ok (s, name_len);
  if (ok && colon)
    ok = tag_grammar_ok (colon + 1, rest_len - name_len - 1);
  if (ok && digest)
    ok = digest_grammar_ok (digest, digest_len) && gp_digest_parse (digest, (gssize) digest_len, NULL, NULL);
  if (ok && name_len > GP_REFERENCE_NAME_MAX)
    ok = FALSE;
  if (!ok)
    {
      g_autofree char *valid = g_utf8_make_valid (s, -1);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_REFERENCE,
                   "Error parsing reference: \"%s\" is not a valid repository/tag", valid);
      return NULL;
    }

  g_autofree char *name = g_strndup (s, name_len);
  if (digest)
    return gp_reference_with_digest (name, digest, error);
  if (colon)
    {
      g_autofree char *tag = g_strndup (colon + 1, rest_len - name_len - 1);
      return gp_reference_with_tag (name, tag, error);
    }
  return gp_reference_with_name (name, error);
}

/**
 * gp_reference_is_name_only:
 * @ref: a reference
 *
 * Returns: %TRUE if @ref has neither a tag nor a digest.
 */
gboolean
gp_reference_is_name_only (const GpReference *ref)
{
  return ref->tag == NULL && ref->digest == NULL;
}

/**
 * gp_reference_to_string:
 * @ref: a reference
 *
 * Returns: (transfer full): `<name>@<digest>`, `<name>:<tag>` or `<name>`,
 *   the form used as key in repositories.json; free with g_free().
 */
char *
gp_reference_to_string (const GpReference *ref)
{
  if (ref->digest)
    return g_strconcat (ref->name, "@", ref->digest, NULL);
  if (ref->tag)
    return g_strconcat (ref->name, ":", ref->tag, NULL);
  return g_strdup (ref->name);
}

/**
 * gp_reference_full_name:
 * @ref: a reference
 *
 * Returns: (transfer full): `<hostname>/<remote>` (`docker.io/library/busybox`);
 *   free with g_free().
 */
char *
gp_reference_full_name (const GpReference *ref)
{
  return g_strconcat (ref->hostname, "/", ref->remote, NULL);
}

/**
 * gp_reference_copy:
 * @ref: a reference
 *
 * Returns: (transfer full): a deep copy; free with gp_reference_free().
 */
GpReference *
gp_reference_copy (const GpReference *ref)
{
  GpReference *c = g_new0 (GpReference, 1);
  c->name = g_strdup (ref->name);
  c->hostname = g_strdup (ref->hostname);
  c->remote = g_strdup (ref->remote);
  c->tag = g_strdup (ref->tag);
  c->digest = g_strdup (ref->digest);
  return c;
}

/**
 * gp_reference_free:
 * @ref: (nullable): a reference
 *
 * Frees @ref and its strings.
 */
void
gp_reference_free (GpReference *ref)
{
  if (ref == NULL)
    return;
  g_free (ref->name);
  g_free (ref->hostname);
  g_free (ref->remote);
  g_free (ref->tag);
  g_free (ref->digest);
  g_free (ref);
}
