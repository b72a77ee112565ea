/* Tests for gp-reference: Docker 1.10.3 name normalisation and parsing
 * (moby-vectors C4, FORMATS.md §4.5). */
#include "config.h"

#include <string.h>

#include "gp-error.h"
#include "gp-reference.h"

/* moby reference_test.go: validRepoNames / invalidRepoNames */
static const char *const valid_names[] = {
  "docker/docker",
  "library/debian",
  "debian",
  "docker.io/docker/docker",
  "docker.io/library/debian",
  "docker.io/debian",
  "index.docker.io/docker/docker",
  "index.docker.io/library/debian",
  "index.docker.io/debian",
  "127.0.0.1:5000/docker/docker",
  "127.0.0.1:5000/library/debian",
  "127.0.0.1:5000/debian",
  "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
  "docker-rules/docker",
  "docker---rules/docker",
  "doc/docker",
  "d/docker",
  "jess/t",
  "dock__er/docker",
  /* FORMATS.md §4.5 */
  "a__b",
  "a--b",
  "localhost/foo",
  "localhost:5000/foo",
  "example.com/library/foo",
  "Docker.io/x",
};

static const char *const invalid_names[] = {
  "https://github.com/docker/docker",
  "docker/Docker",
  "-docker",
  "-docker/docker",
  "-docker.io/docker/docker",
  "docker///docker",
  "docker.io/docker/Docker",
  "docker.io/docker///docker",
  "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
  "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
  "docker-/docker",
  "-docker-/docker",
  "____/____",
  "_docker/_docker",
  "dock..er/docker",
  "dock_.er/docker",
  "dock-.er/docker",
  "docker/",
  "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker",
  /* FORMATS.md §4.5 */
  "a___b",
  "Busybox",
  "",
  "busybox:",
  "busybox@",
  "/busybox",
  "busybox/",
  "a..b",
  "host:/foo",
  "ho_st:5000/foo",
};

static void
test_valid_name (gconstpointer data)
{
  const char *name = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GpReference) ref = gp_reference_parse (name, &error);
  g_assert_no_error (error);
  g_assert_nonnull (ref);
  g_autoptr (GpReference) named = gp_reference_with_name (name, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (named->name, ==, ref->name);
}

static void
test_invalid_name (gconstpointer data)
{
  const char *name = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GpReference) ref = gp_reference_parse (name, &error);
  g_assert_null (ref);
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_REFERENCE);
}

typedef struct {
  const char *remote;
  const char *name;
  const char *full;
  const char *ambiguous;
  const char *host;
} NormCase;

/* moby reference_test.go TestNormalizedName table (moby-vectors C4) */
static const NormCase norm_cases[] = {
  { "fooo/bar", "fooo/bar", "docker.io/fooo/bar", "index.docker.io/fooo/bar", "docker.io" },
  { "library/ubuntu", "ubuntu", "docker.io/library/ubuntu", "library/ubuntu", "docker.io" },
  { "nonlibrary/ubuntu", "nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu", NULL, "docker.io" },
  { "other/library", "other/library", "docker.io/other/library", NULL, "docker.io" },
  { "private/moonbase", "127.0.0.1:8000/private/moonbase", "127.0.0.1:8000/private/moonbase", NULL, "127.0.0.1:8000" },
  { "privatebase", "127.0.0.1:8000/privatebase", "127.0.0.1:8000/privatebase", NULL, "127.0.0.1:8000" },
  { "private/moonbase", "example.com/private/moonbase", "example.com/private/moonbase", NULL, "example.com" },
  { "privatebase", "example.com/privatebase", "example.com/privatebase", NULL, "example.com" },
  { "private/moonbase", "example.com:8000/private/moonbase", "example.com:8000/private/moonbase", NULL, "example.com:8000" },
  { "privatebasee", "example.com:8000/privatebasee", "example.com:8000/privatebasee", NULL, "example.com:8000" },
  { "library/ubuntu-12.04-base", "ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base",
    "index.docker.io/library/ubuntu-12.04-base", "docker.io" },
};

static void
check_norm (const NormCase *c, const char *input, gboolean as_reference)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GpReference) ref = as_reference ? gp_reference_parse (input, &error)
                                             : gp_reference_with_name (input, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (ref->name, ==, c->name);
  g_autofree char *full = gp_reference_full_name (ref);
  g_assert_cmpstr (full, ==, c->full);
  g_assert_cmpstr (ref->hostname, ==, c->host);
  g_assert_cmpstr (ref->remote, ==, c->remote);
  g_assert_true (gp_reference_is_name_only (ref));
  g_autofree char *str = gp_reference_to_string (ref);
  g_assert_cmpstr (str, ==, c->name);
}

static void
test_normalize_table (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (norm_cases); i++)
    {
      const NormCase *c = &norm_cases[i];
      const char *inputs[] = { c->name, c->full, c->ambiguous };
      for (gsize j = 0; j < G_N_ELEMENTS (inputs); j++)
        if (inputs[j])
          {
            check_norm (c, inputs[j], TRUE);
            check_norm (c, inputs[j], FALSE);
          }
    }
}

static void
test_normalize_examples (void)
{
  static const char *const cases[][2] = {
    { "busybox", "busybox" },
    { "library/busybox", "busybox" },
    { "docker.io/busybox", "busybox" },
    { "index.docker.io/library/busybox", "busybox" },
    { "docker.io/user/repo", "user/repo" },
    { "localhost/foo", "localhost/foo" },
    { "localhost:5000/foo", "localhost:5000/foo" },
    { "example.com/library/foo", "example.com/library/foo" },
    { "Docker.io/x", "Docker.io/x" },
    { "docker.io/library/foo/bar", "foo/bar" },
    { "registry:5000/foobar", "registry:5000/foobar" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *n = gp_reference_normalize_name (cases[i][0], &error);
      g_assert_no_error (error);
      g_assert_cmpstr (n, ==, cases[i][1]);
    }
}

typedef struct {
  const char *path;
  const char *name;
  const char *tag;     /* for with_tag, or NULL */
  const char *digest;  /* for with_digest, or NULL */
  gboolean parse;      /* use gp_reference_parse on name */
  const char *message; /* exact Docker wording */
} ErrorCase;

#define LONG_NAME "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker"
#define HEX64 "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a"

static const ErrorCase error_cases[] = {
  { "/reference/error/lowercase", "Busybox", NULL, NULL, FALSE,
    "invalid reference format: repository name must be lowercase" },
  { "/reference/error/lowercase-remote", "docker.io/Foo/bar", NULL, NULL, FALSE,
    "invalid reference format: repository name must be lowercase" },
  { "/reference/error/lowercase-unicode", "\xc3\x89t\xc3\xa9", NULL, NULL, FALSE,
    "invalid reference format: repository name must be lowercase" },
  { "/reference/error/hex64", HEX64, NULL, NULL, FALSE,
    "Invalid repository name (" HEX64 "), cannot specify 64-byte hexadecimal strings" },
  { "/reference/error/hex64-docker-io", "docker.io/" HEX64, NULL, NULL, FALSE,
    "Invalid repository name (" HEX64 "), cannot specify 64-byte hexadecimal strings" },
  { "/reference/error/too-long", LONG_NAME, NULL, NULL, FALSE,
    "repository name must not be more than 255 characters" },
  { "/reference/error/grammar", "-foo", NULL, NULL, FALSE, "invalid reference format" },
  { "/reference/error/grammar-unicode", "\xc3\xa9t\xc3\xa9", NULL, NULL, FALSE, "invalid reference format" },
  { "/reference/error/tag", "busybox", "-foo", NULL, FALSE, "invalid tag format" },
  { "/reference/error/tag-long", "busybox",
    "a12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678",
    NULL, FALSE, "invalid tag format" },
  { "/reference/error/digest", "busybox", NULL, "foo", FALSE, "invalid digest format" },
  { "/reference/error/digest-short", "busybox", NULL, "sha256:0123456789abcdef0123456789abcde", FALSE,
    "invalid digest format" },
  { "/reference/error/parse-upper", "Busybox", NULL, NULL, TRUE,
    "Error parsing reference: \"Busybox\" is not a valid repository/tag" },
  { "/reference/error/parse-short-digest", "busybox@sha256:abc", NULL, NULL, TRUE,
    "Error parsing reference: \"busybox@sha256:abc\" is not a valid repository/tag" },
  { "/reference/error/parse-digest-length", "busybox@sha256:0123456789abcdef0123456789abcdef", NULL, NULL, TRUE,
    "Error parsing reference: \"busybox@sha256:0123456789abcdef0123456789abcdef\" is not a valid repository/tag" },
  { "/reference/error/parse-hex64", HEX64, NULL, NULL, TRUE,
    "Invalid repository name (" HEX64 "), cannot specify 64-byte hexadecimal strings" },
  { "/reference/error/parse-long", LONG_NAME ":latest", NULL, NULL, TRUE,
    "Error parsing reference: \"" LONG_NAME ":latest\" is not a valid repository/tag" },
  { "/reference/error/parse-empty", "", NULL, NULL, TRUE,
    "Error parsing reference: \"\" is not a valid repository/tag" },
};

static void
test_error (gconstpointer data)
{
  const ErrorCase *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GpReference) ref = NULL;
  if (c->parse)
    ref = gp_reference_parse (c->name, &error);
  else if (c->tag)
    ref = gp_reference_with_tag (c->name, c->tag, &error);
  else if (c->digest)
    ref = gp_reference_with_digest (c->name, c->digest, &error);
  else
    ref = gp_reference_with_name (c->name, &error);
  g_assert_null (ref);
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_REFERENCE);
  g_assert_cmpstr (error->message, ==, c->message);
}

static void
test_parse_forms (void)
{
  static const struct {
    const char *input, *name, *tag, *digest, *string;
  } cases[] = {
    { "busybox", "busybox", NULL, NULL, "busybox" },
    { "busybox:latest", "busybox", "latest", NULL, "busybox:latest" },
    { "library/busybox:1.0", "busybox", "1.0", NULL, "busybox:1.0" },
    { "localhost:5000", "localhost", "5000", NULL, "localhost:5000" },
    { "localhost:5000/foo:bar", "localhost:5000/foo", "bar", NULL, "localhost:5000/foo:bar" },
    { "registry:5000/foobar:HEAD", "registry:5000/foobar", "HEAD", NULL, "registry:5000/foobar:HEAD" },
    { "sha256:abc", "sha256", "abc", NULL, "sha256:abc" },
    { "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa", "busybox", NULL,
      "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
      "busybox@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa" },
    { "docker.io/library/busybox@sha256:86E0E091D0DA6BDE2456DBB48306F3956BBEB2EAE1B5B9A43045843F69FE4AAA", "busybox",
      NULL, "sha256:86E0E091D0DA6BDE2456DBB48306F3956BBEB2EAE1B5B9A43045843F69FE4AAA",
      "busybox@sha256:86E0E091D0DA6BDE2456DBB48306F3956BBEB2EAE1B5B9A43045843F69FE4AAA" },
    { "a:_", "a", "_", NULL, "a:_" },
    { "a:A.b-C_", "a", "A.b-C_", NULL, "a:A.b-C_" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GpReference) ref = gp_reference_parse (cases[i].input, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (ref->name, ==, cases[i].name);
      g_assert_cmpstr (ref->tag, ==, cases[i].tag);
      g_assert_cmpstr (ref->digest, ==, cases[i].digest);
      g_autofree char *s = gp_reference_to_string (ref);
      g_assert_cmpstr (s, ==, cases[i].string);
      g_autoptr (GpReference) copy = gp_reference_copy (ref);
      g_autofree char *s2 = gp_reference_to_string (copy);
      g_assert_cmpstr (s2, ==, s);
    }
}

static void
test_tags (void)
{
  static const char *const ok[] = { "latest", "_", "0", "A.b-c_D", "1.0", "HEAD",
    "a1234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567" };
  static const char *const bad[] = { "", ".a", "-a", "a:b", "a/b", "a@b", "a b", "\xc3\xa9",
    "a12345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789012345678" };
  for (gsize i = 0; i < G_N_ELEMENTS (ok); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_true (gp_reference_validate_tag (ok[i], &error));
      g_assert_no_error (error);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (gp_reference_validate_tag (bad[i], &error));
      g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_REFERENCE);
    }
}

static void
test_digests (void)
{
  static const char *const ok[] = {
    "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa",
    "sha256:0123456789abcdef0123456789abcdef",
    "tarsum.v1+sha256:0123456789ABCDEF0123456789abcdef",
    "a-b_c+d.e:0123456789abcdef0123456789abcdef",
  };
  static const char *const bad[] = {
    "foo", "sha256:", ":0123456789abcdef0123456789abcdef", "1sha:0123456789abcdef0123456789abcdef",
    "sha-:0123456789abcdef0123456789abcdef", "sha256:0123456789abcdef0123456789abcdeg",
    "sha256:0123456789abcdef0123456789abcde", "sha--256:0123456789abcdef0123456789abcdef",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (ok); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_true (gp_reference_validate_digest (ok[i], &error));
      g_assert_no_error (error);
      g_autoptr (GpReference) ref = gp_reference_with_digest ("busybox", ok[i], &error);
      g_assert_no_error (error);
      g_assert_cmpstr (ref->digest, ==, ok[i]);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) error = NULL;
      g_assert_false (gp_reference_validate_digest (bad[i], &error));
      g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_REFERENCE);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (valid_names); i++)
    {
      g_autofree char *p = g_strdup_printf ("/reference/name/valid/%zu", i);
      g_test_add_data_func (p, valid_names[i], test_valid_name);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (invalid_names); i++)
    {
      g_autofree char *p = g_strdup_printf ("/reference/name/invalid/%zu", i);
      g_test_add_data_func (p, invalid_names[i], test_invalid_name);
    }
  g_test_add_func ("/reference/normalize/table", test_normalize_table);
  g_test_add_func ("/reference/normalize/examples", test_normalize_examples);
  for (gsize i = 0; i < G_N_ELEMENTS (error_cases); i++)
    g_test_add_data_func (error_cases[i].path, &error_cases[i], test_error);
  g_test_add_func ("/reference/parse/forms", test_parse_forms);
  g_test_add_func ("/reference/tag/validate", test_tags);
  g_test_add_func ("/reference/digest/validate", test_digests);
  return g_test_run ();
}
