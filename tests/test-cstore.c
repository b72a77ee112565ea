/* The containers-storage records parser (stages/containers-storage/
 * cs-store.c): images.json and layers.json as podman 4.3 writes them,
 * and bad input: invalid JSON, members of the wrong type, IDs and
 * big-data keys that would leave the store. */
#include "config.h"

#include <string.h>

#include <graphpipe.h>

#include "cs-store.h"

/* As podman 4.3 wrote them for `podman build` of a two-layer image. */
static const char images_json[] =
  "[{\"id\":\"c054998288483cf992343f0bc0ae77727440a141abf573415b07c7976428a5e8\","
  "\"digest\":\"sha256:bfd69a22551a7db37ab37e0aa925a71b037ce7d44e4f2a7c774e9da82480645c\","
  "\"names\":[\"localhost/test/one:v1\",\"quay.io/a/tool:1\"],"
  "\"names-history\":[\"localhost/test/one:v1\"],"
  "\"layer\":\"6107c8af96f08914e66bbb2c9a451561822403aaee551c98d67599ea6e0c0674\","
  "\"metadata\":\"{}\","
  "\"big-data-names\":[\"sha256:c054998288483cf992343f0bc0ae77727440a141abf573415b07c7976428a5e8\",\"manifest\"],"
  "\"big-data-sizes\":{\"manifest\":872},"
  "\"big-data-digests\":{\"manifest\":\"sha256:bfd69a22551a7db37ab37e0aa925a71b037ce7d44e4f2a7c774e9da82480645c\"},"
  "\"created\":\"2026-12-07T04:30:14.5Z\"},"
  "{\"id\":\"9b2952a6f0fdbe55b46061889cfa5b4499d25a7aee288387fdbdcb6d320953d2\","
  "\"digests\":[\"sha256:4157dbb5e9f019d6123d8f74c67ab0165ee2c370c3d4f7e183e2633a7943f444\"]}]";

static const char layers_json[] =
  "[{\"id\":\"d8ff366c89e651e1bed812665aab5337a404a941c16d2be07929e41d2e145ea4\","
  "\"created\":\"2026-12-07T04:30:12.66Z\","
  "\"compressed-diff-digest\":\"sha256:d8ff366c89e651e1bed812665aab5337a404a941c16d2be07929e41d2e145ea4\","
  "\"compressed-size\":1984512,"
  "\"diff-digest\":\"sha256:d8ff366c89e651e1bed812665aab5337a404a941c16d2be07929e41d2e145ea4\","
  "\"diff-size\":1984512,\"uidset\":[0],\"gidset\":[0]},"
  "{\"id\":\"6107c8af96f08914e66bbb2c9a451561822403aaee551c98d67599ea6e0c0674\","
  "\"parent\":\"d8ff366c89e651e1bed812665aab5337a404a941c16d2be07929e41d2e145ea4\","
  "\"diff-digest\":\"sha256:d5190e00c619bd0b605868950501c2342ff6bc640483b1012120f3bffacc5cd6\","
  "\"diff-size\":4096,\"flags\":{\"incomplete\":true}}]";

static void
test_images (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) images = cs_parse_images (images_json, strlen (images_json), "images.json",
                                                  &error);
  g_assert_no_error (error);
  g_assert_cmpuint (images->len, ==, 2);
  CsImage *a = images->pdata[0];
  g_assert_cmpstr (a->id, ==, "c054998288483cf992343f0bc0ae77727440a141abf573415b07c7976428a5e8");
  g_assert_cmpstr (a->top_layer, ==, "6107c8af96f08914e66bbb2c9a451561822403aaee551c98d67599ea6e0c0674");
  g_assert_cmpuint (g_strv_length (a->names), ==, 2);
  g_assert_cmpstr (a->names[1], ==, "quay.io/a/tool:1");
  g_assert_cmpuint (g_strv_length (a->digests), ==, 1);
  g_assert_cmpuint (g_strv_length (a->big_data_names), ==, 2);
  g_assert_cmpstr (g_hash_table_lookup (a->big_data_digests, "manifest"), ==,
                   "sha256:bfd69a22551a7db37ab37e0aa925a71b037ce7d44e4f2a7c774e9da82480645c");
  CsImage *b = images->pdata[1];
  g_assert_null (b->top_layer);
  g_assert_cmpuint (g_strv_length (b->names), ==, 0);
  g_assert_cmpuint (g_strv_length (b->digests), ==, 1);
}

static void
test_layers (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) layers = cs_parse_layers (layers_json, strlen (layers_json), "layers.json",
                                                  &error);
  g_assert_no_error (error);
  g_assert_cmpuint (layers->len, ==, 2);
  CsLayer *bottom = layers->pdata[0], *top = layers->pdata[1];
  g_assert_null (bottom->parent);
  g_assert_false (bottom->incomplete);
  g_assert_cmpint (bottom->diff_size, ==, 1984512);
  g_assert_cmpstr (top->parent, ==, bottom->id);
  g_assert_true (top->incomplete);
  g_assert_cmpstr (top->diff_digest, ==,
                   "sha256:d5190e00c619bd0b605868950501c2342ff6bc640483b1012120f3bffacc5cd6");
}

/* An empty file is an empty store, as containers/storage reads it. */
static void
test_empty (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) images = cs_parse_images ("", 0, "images.json", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (images->len, ==, 0);
  g_autoptr (GPtrArray) layers = cs_parse_layers ("[]", 2, "layers.json", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (layers->len, ==, 0);
}

typedef struct {
  const char *json;
  int code;
  const char *message; /* a part of the message */
} BadCase;

static void
test_bad (void)
{
  static const BadCase images[] = {
    { "[{\"id\":\"ab\"", GP_DATA_ERROR_JSON, "images.json: not valid JSON" },
    { "{}", GP_DATA_ERROR_JSON, "not a JSON array" },
    { "[1]", GP_DATA_ERROR_JSON, "entry 0 is not an object" },
    { "[{}]", GP_DATA_ERROR_UNSAFE_PATH, "not a valid ID" },
    { "[{\"id\":5}]", GP_DATA_ERROR_JSON, "\"id\" is not a string" },
    { "[{\"id\":\"..\"}]", GP_DATA_ERROR_UNSAFE_PATH, "not a valid ID" },
    { "[{\"id\":\"a/b\"}]", GP_DATA_ERROR_UNSAFE_PATH, "not a valid ID" },
    { "[{\"id\":\"ab\",\"layer\":\"../../etc\"}]", GP_DATA_ERROR_UNSAFE_PATH, "image ab: layer" },
    { "[{\"id\":\"ab\",\"names\":5}]", GP_DATA_ERROR_JSON, "\"names\" is not an array" },
    { "[{\"id\":\"ab\",\"names\":[1]}]", GP_DATA_ERROR_JSON, "\"names\"[0] is not a string" },
    { "[{\"id\":\"ab\",\"big-data-digests\":[]}]", GP_DATA_ERROR_JSON, "is not an object" },
    { "[{\"id\":\"ab\",\"big-data-digests\":{\"manifest\":1}}]", GP_DATA_ERROR_JSON,
      "\"manifest\" is not a string" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (images); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) r = cs_parse_images (images[i].json, strlen (images[i].json),
                                                 "images.json", &error);
      g_assert_null (r);
      g_assert_error (error, GP_DATA_ERROR, images[i].code);
      if (strstr (error->message, images[i].message) == NULL)
        g_error ("%s: message \"%s\" lacks \"%s\"", images[i].json, error->message,
                 images[i].message);
    }
  static const BadCase layers[] = {
    { "[{\"id\":\"ab\",\"parent\":\"..\"}]", GP_DATA_ERROR_UNSAFE_PATH, "layer ab: parent" },
    { "[{\"id\":\"ab\",\"diff-size\":\"1\"}]", GP_DATA_ERROR_JSON, "\"diff-size\" is not a size" },
    { "[{\"id\":\"ab\",\"diff-size\":-1}]", GP_DATA_ERROR_JSON, "\"diff-size\" is not a size" },
    { "[{\"id\":\"ab\",\"diff-digest\":[]}]", GP_DATA_ERROR_JSON, "\"diff-digest\" is not a string" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (layers); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) r = cs_parse_layers (layers[i].json, strlen (layers[i].json),
                                                 "layers.json", &error);
      g_assert_null (r);
      g_assert_error (error, GP_DATA_ERROR, layers[i].code);
      if (strstr (error->message, layers[i].message) == NULL)
        g_error ("%s: message \"%s\" lacks \"%s\"", layers[i].json, error->message,
                 layers[i].message);
    }
  /* a flag other than a true boolean is not "incomplete" */
  const char *not_flagged = "[{\"id\":\"ab\",\"flags\":{\"incomplete\":\"yes\"}}]";
  g_autoptr (GPtrArray) r = cs_parse_layers (not_flagged, strlen (not_flagged), "layers.json", NULL);
  g_assert_nonnull (r);
  g_assert_false (((CsLayer *) r->pdata[0])->incomplete);
}

/* Big-data file names as containers/storage makes them. */
static void
test_big_data_names (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *plain = cs_big_data_file_name ("manifest", &error);
  g_assert_cmpstr (plain, ==, "manifest");
  /* as podman 4.3 wrote it */
  g_autofree char *config = cs_big_data_file_name (
    "sha256:c054998288483cf992343f0bc0ae77727440a141abf573415b07c7976428a5e8", &error);
  g_assert_cmpstr (config, ==,
                   "=c2hhMjU2OmMwNTQ5OTgyODg0ODNjZjk5MjM0M2YwYmMwYWU3NzcyNzQ0MGExNDFhYmY1NzM0MTViMDdjNzk3NjQyOGE1ZTg=");
  g_autofree char *dot = cs_big_data_file_name ("..", &error);
  g_assert_null (dot);
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSAFE_PATH);
  g_clear_error (&error);
  g_autofree char *empty = cs_big_data_file_name ("", &error);
  g_assert_null (empty);
  g_clear_error (&error);
  /* "??>" encodes as "Pz8+"; "???" as "Pz8/": a '/' in the name is refused */
  g_autofree char *slash = cs_big_data_file_name ("???", &error);
  g_assert_null (slash);
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSAFE_PATH);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cstore/images", test_images);
  g_test_add_func ("/cstore/layers", test_layers);
  g_test_add_func ("/cstore/empty", test_empty);
  g_test_add_func ("/cstore/bad", test_bad);
  g_test_add_func ("/cstore/big-data-names", test_big_data_names);
  return g_test_run ();
}
