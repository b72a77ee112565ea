/* Tests for gp-store: layerdb, mounts, imagedb, repositories.json and
 * distribution metadata, against moby's vectors and Docker 1.10.3's golden
 * store. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gio.h>

#include "gp-digest.h"
#include "gp-error.h"
#include "gp-reference.h"
#include "gp-safeio.h"
#include "gp-store.h"
#include "gp-test-util.h"

#define EMPTY "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"

/* ---- shared data ---- */

static char *golden_dir;   /* <shared>/golden/public, or NULL */
static char *golden_root;  /* extracted migrated-root.tar.gz, or NULL */
static gboolean golden_tried;

static const char *
get_golden_dir (void)
{
  static gboolean done;
  if (!done)
    {
      done = TRUE;
      g_autofree char *dir = g_build_filename (gp_test_shared_dir (), "golden", "public", NULL);
      g_autofree char *probe = g_build_filename (dir, "expected", "tree.txt", NULL);
      if (g_file_test (probe, G_FILE_TEST_EXISTS))
        golden_dir = g_steal_pointer (&dir);
    }
  return golden_dir;
}

/* Extracts migrated-root.tar.gz once (as root, owners/modes/xattrs kept). */
static const char *
get_golden_root (void)
{
  if (golden_tried)
    return golden_root;
  golden_tried = TRUE;
  if (get_golden_dir () == NULL)
    return NULL;
  g_autofree char *tgz = g_build_filename (golden_dir, "migrated-root.tar.gz", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("gp-golden-XXXXXX", NULL);
  g_assert_nonnull (tmp);
  const char *argv[] = { "tar", "--numeric-owner", "-p", "--xattrs", "--xattrs-include=*", "-xzf", tgz,
                         "-C", tmp, NULL };
  int status = -1;
  g_autofree char *err = NULL;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                     NULL, &err, &status, NULL)
      || !g_spawn_check_wait_status (status, NULL))
    {
      g_test_message ("tar failed: %s", err ? err : "");
      gp_safeio_remove_tree (tmp, NULL);
      return NULL;
    }
  golden_root = g_steal_pointer (&tmp);
  return golden_root;
}

static char *
golden_file (const char *rel)
{
  g_autofree char *path = g_build_filename (golden_dir, "expected", "files", rel, NULL);
  char *data = NULL;
  if (!g_file_get_contents (path, &data, NULL, NULL))
    return NULL;
  return data;
}

/* The golden data is part of the tree: without it the test fails. */
#define NEED_GOLDEN()                                                   \
  do {                                                                  \
    if (get_golden_dir () == NULL)                                      \
      {                                                                 \
        g_autofree char *probe_ = g_build_filename (                    \
          gp_test_shared_dir (), "golden", "public", "expected",        \
          "tree.txt", NULL);                                            \
        gp_test_fail_no_shared (probe_);                                \
        return;                                                         \
      }                                                                 \
  } while (0)

/* Extracting it keeps owners, modes and xattrs, which may fail when not
 * root (a skip then, a failure under GP_REQUIRE_ALL); as root it must
 * work. */
#define NEED_GOLDEN_ROOT()                                                        \
  do {                                                                            \
    NEED_GOLDEN ();                                                               \
    if (get_golden_root () == NULL)                                               \
      {                                                                           \
        if (geteuid () != 0)                                                      \
          gp_test_skip_required ("cannot extract migrated-root.tar.gz with "      \
                                 "owners and xattrs: not root");                  \
        else                                                                      \
          g_test_fail_printf ("cannot extract migrated-root.tar.gz (tar's error " \
                              "is in the test log)");                             \
        return;                                                                   \
      }                                                                           \
  } while (0)

/* ---- fixture ---- */

typedef struct {
  char *root;
  GpStore *store;
  mode_t old_umask;
} Fixture;

static void
setup (Fixture *fx, gconstpointer data)
{
  fx->root = g_dir_make_tmp ("gp-store-XXXXXX", NULL);
  g_assert_nonnull (fx->root);
  fx->old_umask = umask (022);
  g_autoptr (GError) error = NULL;
  fx->store = gp_store_open (fx->root, "vfs", &error);
  g_assert_no_error (error);
}

static void
teardown (Fixture *fx, gconstpointer data)
{
  umask (fx->old_umask);
  gp_store_unref (fx->store);
  g_assert_true (gp_safeio_remove_tree (fx->root, NULL));
  g_free (fx->root);
}

static char *
store_path (Fixture *fx, const char *rel)
{
  return g_build_filename (gp_store_get_dir (fx->store), rel, NULL);
}

static guint
mode_of (const char *path)
{
  struct stat st;
  g_assert_cmpint (lstat (path, &st), ==, 0);
  return st.st_mode & 07777;
}

static char *
read_text (const char *path)
{
  char *data = NULL;
  g_assert_true (g_file_get_contents (path, &data, NULL, NULL));
  return data;
}

static void
assert_file (const char *path, guint mode, const char *content)
{
  g_assert_cmphex (mode_of (path), ==, mode);
  g_autofree char *data = read_text (path);
  g_assert_cmpstr (data, ==, content);
}

/* ---- the tree walker used to compare with expected/tree.txt ---- */

typedef struct {
  char type;
  guint mode;
  gint64 size;
  char *sha;
} Entry;

static void
entry_free (gpointer p)
{
  Entry *e = p;
  g_free (e->sha);
  g_free (e);
}

static void
walk (const char *base, const char *rel, GHashTable *out)
{
  g_autofree char *path = rel ? g_build_filename (base, rel, NULL) : g_strdup (base);
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  g_assert_nonnull (d);
  const char *name;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *crel = rel ? g_build_filename (rel, name, NULL) : g_strdup (name);
      g_autofree char *cpath = g_build_filename (base, crel, NULL);
      struct stat st;
      g_assert_cmpint (lstat (cpath, &st), ==, 0);
      Entry *e = g_new0 (Entry, 1);
      e->mode = st.st_mode & 07777;
      if (S_ISDIR (st.st_mode))
        {
          e->type = 'd';
          e->size = -1;
          walk (base, crel, out);
        }
      else if (S_ISREG (st.st_mode))
        {
          e->type = 'f';
          e->size = st.st_size;
          g_autofree char *data = NULL;
          gsize len;
          g_assert_true (g_file_get_contents (cpath, &data, &len, NULL));
          e->sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) data, len);
        }
      else
        e->type = 'l';
      g_hash_table_insert (out, g_steal_pointer (&crel), e);
    }
}

/* expected/tree.txt lines under @prefix: path -> Entry. */
static GHashTable *
load_tree (const char *prefix)
{
  g_autofree char *path = g_build_filename (golden_dir, "expected", "tree.txt", NULL);
  g_autofree char *text = read_text (path);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GHashTable *out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
  for (char **l = lines; *l; l++)
    {
      if (**l == '#' || **l == '\0' || !g_str_has_prefix (*l, prefix))
        continue;
      g_auto (GStrv) f = g_strsplit (*l, "\t", -1);
      g_assert_cmpuint (g_strv_length (f), ==, 9);
      Entry *e = g_new0 (Entry, 1);
      e->type = f[1][0];
      e->mode = (guint) g_ascii_strtoull (f[2], NULL, 8);
      e->size = f[1][0] == 'f' ? g_ascii_strtoll (f[4], NULL, 10) : -1;
      e->sha = f[1][0] == 'f' ? g_strdup (f[5]) : NULL;
      g_hash_table_insert (out, g_strdup (f[0]), e);
    }
  return out;
}

static void
compare_with_tree (const char *root, const char *sub, const char *what_kinds)
{
  g_autoptr (GHashTable) want = load_tree (sub);
  g_autoptr (GHashTable) have = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
  g_autofree char *base = g_build_filename (root, sub, NULL);
  walk (root, sub, have);
  /* walk() lists below @sub; add @sub's own ancestors from tree.txt. */
  GHashTableIter it;
  gpointer k, v;
  guint checked = 0;
  g_hash_table_iter_init (&it, want);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      Entry *w = v;
      const char *p = k;
      g_autofree char *full = g_build_filename (root, p, NULL);
      Entry *h = g_hash_table_lookup (have, p);
      struct stat st;
      if (h == NULL)
        {
          /* @sub itself and its parents */
          g_assert_cmpint (lstat (full, &st), ==, 0);
          g_assert_true (S_ISDIR (st.st_mode));
          g_assert_cmphex (st.st_mode & 07777, ==, w->mode);
          checked++;
          continue;
        }
      if (h->type != w->type || h->mode != w->mode || h->size != w->size || g_strcmp0 (h->sha, w->sha) != 0)
        g_error ("%s: have %c %04o %" G_GINT64_FORMAT " %s, want %c %04o %" G_GINT64_FORMAT " %s", p,
                 h->type, h->mode, h->size, h->sha ? h->sha : "-", w->type, w->mode, w->size,
                 w->sha ? w->sha : "-");
      checked++;
    }
  g_hash_table_iter_init (&it, have);
  while (g_hash_table_iter_next (&it, &k, &v))
    if (!g_hash_table_contains (want, k))
      g_error ("%s: not in expected/tree.txt", (const char *) k);
  g_test_message ("%s: %u entries match tree.txt", what_kinds, checked);
  g_assert_cmpuint (checked, >, 3);
}

/* ---- repositories.json ---- */

static const char *const c1_refs[][2] = {
  { "registry:5000/foobar:HEAD", "sha256:470022b8af682154f57a2163d030eb369549549cba00edc69e1b99b46bb924d6" },
  { "registry:5000/foobar:alternate", "sha256:ae300ebc4a4f00693702cfb0a5e0b7bc527b353828dc86ad09fb95c8a681b793" },
  { "registry:5000/foobar:latest", "sha256:6153498b9ac00968d71b66cca4eac37e990b5f9eb50c26877eb8799c8847451b" },
  { "registry:5000/foobar:master", "sha256:6c9917af4c4e05001b346421959d7ea81b6dc9d25718466a37a6add865dfd7fc" },
  { "jess/hollywood:latest", "sha256:ae7a5519a0a55a2d4ef20ddcbd5d0ca0888a1f7ab806acc8e2a27baf46f529fe" },
  { "registry@sha256:367eb40fd0330a7e464777121e39d2f5b3e8e23a1e159342e53ab05c9e4d94e6",
    "sha256:24126a56805beb9711be5f4590cc2eb55ab8d4a85ebd618eed72bb19fc50631c" },
  { "busybox:latest", "sha256:91e54dfb11794fad694460162bf0cb0a4fa710cfa3f60979c177d920813e267c" },
};

static const char c1_json[] =
  "{\"Repositories\":{\"busybox\":{\"busybox:latest\":\"sha256:91e54dfb11794fad694460162bf0cb0a4fa710cfa3f60979c177d920813e267c\"},\"jess/hollywood\":{\"jess/hollywood:latest\":\"sha256:ae7a5519a0a55a2d4ef20ddcbd5d0ca0888a1f7ab806acc8e2a27baf46f529fe\"},\"registry\":{\"registry@sha256:367eb40fd0330a7e464777121e39d2f5b3e8e23a1e159342e53ab05c9e4d94e6\":\"sha256:24126a56805beb9711be5f4590cc2eb55ab8d4a85ebd618eed72bb19fc50631c\"},\"registry:5000/foobar\":{\"registry:5000/foobar:HEAD\":\"sha256:470022b8af682154f57a2163d030eb369549549cba00edc69e1b99b46bb924d6\",\"registry:5000/foobar:alternate\":\"sha256:ae300ebc4a4f00693702cfb0a5e0b7bc527b353828dc86ad09fb95c8a681b793\",\"registry:5000/foobar:latest\":\"sha256:6153498b9ac00968d71b66cca4eac37e990b5f9eb50c26877eb8799c8847451b\",\"registry:5000/foobar:master\":\"sha256:6c9917af4c4e05001b346421959d7ea81b6dc9d25718466a37a6add865dfd7fc\"}}}";

static gboolean
add_ref_string (GpRepositories *repos, const char *s, const char *id, GError **error)
{
  g_autoptr (GpReference) ref = gp_reference_parse (s, error);
  if (ref == NULL)
    return FALSE;
  return ref->digest ? gp_repositories_add_digest (repos, ref, id, error)
                     : gp_repositories_add_tag (repos, ref, id, error);
}

static void
test_repos_c1_bytes (void)
{
  gsize n = G_N_ELEMENTS (c1_refs);
  guint order[G_N_ELEMENTS (c1_refs)];
  for (int round = 0; round < 20; round++)
    {
      for (gsize i = 0; i < n; i++)
        order[i] = (guint) i;
      for (gsize i = n - 1; i > 0; i--)
        {
          guint j = (guint) g_test_rand_int_range (0, (gint32) i + 1);
          guint t = order[i];
          order[i] = order[j];
          order[j] = t;
        }
      g_autoptr (GError) error = NULL;
      g_autoptr (GpRepositories) repos = gp_repositories_load_data ("{}", 2, "test", &error);
      g_assert_no_error (error);
      for (gsize i = 0; i < n; i++)
        {
          g_assert_true (add_ref_string (repos, c1_refs[order[i]][0], c1_refs[order[i]][1], &error));
          g_assert_no_error (error);
        }
      gsize len;
      g_autofree char *json = gp_repositories_to_json (repos, &len);
      g_assert_cmpstr (json, ==, c1_json);
      g_assert_cmpuint (len, ==, strlen (c1_json));
    }
}

static void
test_repos_c1_load (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GpRepositories) repos = gp_repositories_load_data (c1_json, strlen (c1_json), "c1", &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < G_N_ELEMENTS (c1_refs); i++)
    {
      g_autoptr (GpReference) ref = gp_reference_parse (c1_refs[i][0], &error);
      g_assert_no_error (error);
      g_assert_cmpstr (gp_repositories_lookup (repos, ref), ==, c1_refs[i][1]);
    }
  g_autofree char *again = gp_repositories_to_json (repos, NULL);
  g_assert_cmpstr (again, ==, c1_json);
  g_autoptr (GPtrArray) names = gp_repositories_list_names (repos);
  g_assert_cmpuint (names->len, ==, 4);
  g_assert_cmpstr (names->pdata[0], ==, "busybox");
  g_assert_cmpstr (names->pdata[3], ==, "registry:5000/foobar");
  g_autoptr (GPtrArray) foobar = gp_repositories_list_by_name (repos, "registry:5000/foobar");
  g_assert_cmpuint (foobar->len, ==, 4);
  /* "HEAD" sorts before "alternate" bytewise */
  g_assert_cmpstr (((GpRepositoryEntry *) foobar->pdata[0])->reference, ==, "registry:5000/foobar:HEAD");
  g_assert_cmpstr (((GpRepositoryEntry *) foobar->pdata[1])->reference, ==, "registry:5000/foobar:alternate");
}

static const char a1_json[] =
  "{\"Repositories\":{\"busybox\":{\"busybox:latest\":\"sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9\",\"busybox@sha256:16a2a52884c2a9481ed267c2d46483eac7693b813a63132368ab098a71303f8a\":\"sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9\"},\"registry\":{\"registry:2\":\"sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\"}}}";

static void
test_repos_a1_store (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  umask (077);
  g_assert_true (gp_store_init_layout (fx->store, &error));
  g_autofree char *path = store_path (fx, "repositories.json");
  assert_file (path, 0600, "{\"Repositories\":{}}");

  /* migrate-tags: WithName + WithTag / WithDigest, in sorted legacy order */
  static const char *const adds[][3] = {
    { "busybox", "latest", "sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9" },
    { "busybox", "sha256:16a2a52884c2a9481ed267c2d46483eac7693b813a63132368ab098a71303f8a",
      "sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9" },
    { "registry", "2", "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (adds); i++)
    {
      gboolean is_digest = gp_digest_parse (adds[i][1], -1, NULL, NULL);
      g_autoptr (GpReference) ref = is_digest ? gp_reference_with_digest (adds[i][0], adds[i][1], &error)
                                              : gp_reference_with_tag (adds[i][0], adds[i][1], &error);
      g_assert_no_error (error);
      g_assert_true (is_digest ? gp_store_add_digest (fx->store, ref, adds[i][2], &error)
                               : gp_store_add_tag (fx->store, ref, adds[i][2], &error));
      g_assert_no_error (error);
    }
  assert_file (path, 0600, a1_json);

  /* Re-adding is refused and changes nothing (first writer wins). */
  g_autoptr (GpReference) again = gp_reference_with_tag ("docker.io/library/busybox", "latest", &error);
  g_assert_false (gp_store_add_tag (fx->store, again, "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae", &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CONFLICT);
  g_assert_cmpstr (error->message, ==,
                   "Conflict: Tag busybox:latest is already set to image sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9, if you want to replace it, please use -f option");
  g_clear_error (&error);
  assert_file (path, 0600, a1_json);

  /* A fresh handle loads what was written. */
  g_autoptr (GpStore) other = gp_store_open (fx->root, "vfs", &error);
  GpRepositories *repos = gp_store_get_repositories (other, &error);
  g_assert_no_error (error);
  g_autofree char *json = gp_repositories_to_json (repos, NULL);
  g_assert_cmpstr (json, ==, a1_json);
  g_autoptr (GpReference) reg = gp_reference_parse ("registry:2", &error);
  g_assert_cmpstr (gp_repositories_lookup (repos, reg), ==,
                   "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae");
  g_autofree char *names = NULL;
  g_autoptr (GDir) d = g_dir_open (gp_store_get_dir (fx->store), 0, NULL);
  const char *n;
  while ((n = g_dir_read_name (d)) != NULL)
    g_assert_false (gp_safeio_is_temp_name (n));
}

typedef struct {
  const char *path;
  const char *json;
} BadJson;

static const BadJson bad_repos[] = {
  { "/store/repositories/invalid/truncated-a1",
    "{\"Repositories\":{\"busybox\":{\"latest\":\"b3ca410aa2c115c05969a7b2c8cf8a9fcf62c1340ed6a601c9ee50df337ec108\"" },
  { "/store/repositories/invalid/empty", "" },
  { "/store/repositories/invalid/spaces", "  \n" },
  { "/store/repositories/invalid/array", "[]" },
  { "/store/repositories/invalid/null", "null" },
  { "/store/repositories/invalid/repos-array", "{\"Repositories\":[]}" },
  { "/store/repositories/invalid/repo-number", "{\"Repositories\":{\"a\":1}}" },
  { "/store/repositories/invalid/id-number", "{\"Repositories\":{\"a\":{\"a:b\":1}}}" },
  { "/store/repositories/invalid/bad-literal", "{\"x\":tru}" },
  { "/store/repositories/invalid/trailing-comma", "{\"Repositories\":{},}" },
  { "/store/repositories/invalid/bad-escape", "{\"Repositories\":{\"a\\x\":{}}}" },
  { "/store/repositories/invalid/control-char", "{\"Repositories\":{\"a\tb\":{}}}" },
  { "/store/repositories/invalid/bad-number", "{\"x\":01}" },
};

static void
test_repos_invalid (gconstpointer data)
{
  const BadJson *c = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GpRepositories) repos = gp_repositories_load_data (c->json, strlen (c->json), "repositories.json", &error);
  g_assert_null (repos);
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_JSON);
  g_assert_true (g_str_has_prefix (error->message, "repositories.json: "));
}

static void
test_repos_lenient (void)
{
  static const char *const docs[] = {
    /* extra top-level keys of any shape, and trailing bytes after the value */
    "{\"Other\":{\"x\":[1,-2.5e+3,{\"y\":null}],\"t\":true},\"Repositories\":{\"busybox\":{\"busybox:latest\":\"sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9\"}},\"z\":\"\\u00e9\"} trailing garbage {",
    /* case-insensitive key, whitespace everywhere */
    " { \"repositories\" : { \"busybox\" : { \"busybox:latest\" : \"sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9\" } } }\n",
    "{\"REPOSITORIES\":{\"busybox\":{\"busybox:latest\":\"sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9\"}}}",
    /* Go also folds U+017F LATIN SMALL LETTER LONG S to s */
    "{\"Repo\xc5\xbfitories\":{\"busybox\":{\"busybox:latest\":\"sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9\"}}}",
    /* escapes in keys are undone */
    "{\"Repositories\":{\"busy\\u0062ox\":{\"busybox\\u003alatest\":\"sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9\"}}}",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (docs); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GpRepositories) repos = gp_repositories_load_data (docs[i], strlen (docs[i]), "x", &error);
      g_assert_no_error (error);
      g_autoptr (GpReference) ref = gp_reference_parse ("busybox", &error);
      g_assert_cmpstr (gp_repositories_lookup (repos, ref), ==,
                       "sha256:fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9");
    }
  /* Not the field: "Repositories2" is skipped, so nothing is found. */
  static const char other[] = "{\"Repositories2\":{\"busybox\":{\"busybox:latest\":\"x\"}}}";
  g_autoptr (GpRepositories) repos = gp_repositories_load_data (other, strlen (other), "x", NULL);
  g_autofree char *json = gp_repositories_to_json (repos, NULL);
  g_assert_cmpstr (json, ==, "{\"Repositories\":{}}");
  /* null repository and null ID survive a round trip as Go writes them */
  static const char nulls[] = "{\"Repositories\":{\"a\":null,\"b\":{\"b:1\":null}}}";
  g_autoptr (GpRepositories) r2 = gp_repositories_load_data (nulls, strlen (nulls), "x", NULL);
  g_autofree char *j2 = gp_repositories_to_json (r2, NULL);
  g_assert_cmpstr (j2, ==, "{\"Repositories\":{\"a\":null,\"b\":{\"b:1\":\"\"}}}");
}

#define T1 "sha256:9655aef5fd742a1b4e1b7b163aa9f1c76c186304bf39102283d80927c916ca9c"
#define T2 "sha256:9655aef5fd742a1b4e1b7b163aa9f1c76c186304bf39102283d80927c916ca9d"
#define T3 "sha256:9655aef5fd742a1b4e1b7b163aa9f1c76c186304bf39102283d80927c916ca9e"

static void
test_repos_c2 (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GpRepositories) repos = gp_repositories_new ();

  g_assert_true (add_ref_string (repos, "username/repo", T1, &error));
  g_assert_true (add_ref_string (repos, "username/repo1:latest", T1, &error));
  g_assert_true (add_ref_string (repos, "username/repo1:old", T2, &error));
  g_assert_true (add_ref_string (repos, "username/repo1:alias", T1, &error));
  g_assert_true (add_ref_string (repos, "username/repo2:latest", T2, &error));
  g_assert_true (add_ref_string (repos, "username/repo3@sha256:58153dfb11794fad694460162bf0cb0a4fa710cfa3f60979c177d920813e267c", T2, &error));
  g_assert_no_error (error);

  g_assert_false (add_ref_string (repos, "username/repo2:latest", T3, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CONFLICT);
  g_assert_true (g_str_has_prefix (error->message, "Conflict:"));
  g_clear_error (&error);
  g_assert_false (add_ref_string (repos, "username/repo3@sha256:58153dfb11794fad694460162bf0cb0a4fa710cfa3f60979c177d920813e267c", T1, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CONFLICT);
  g_assert_cmpstr (error->message, ==, "Cannot overwrite digest sha256:58153dfb11794fad694460162bf0cb0a4fa710cfa3f60979c177d920813e267c");
  g_clear_error (&error);

  static const char *const gets[][2] = {
    { "username/repo", T1 }, { "username/repo:latest", T1 }, { "username/repo1:latest", T1 },
    { "username/repo1:old", T2 }, { "username/repo1:alias", T1 }, { "username/repo2:latest", T2 },
    { "username/repo3@sha256:58153dfb11794fad694460162bf0cb0a4fa710cfa3f60979c177d920813e267c", T2 },
    { "username/nonexistrepo:latest", NULL }, { "username/repo1:nonexist", NULL },
    { "docker.io/username/repo1:old", T2 }, { "index.docker.io/username/repo1:old", T2 },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (gets); i++)
    {
      g_autoptr (GpReference) ref = gp_reference_parse (gets[i][0], &error);
      g_assert_no_error (error);
      g_assert_cmpstr (gp_repositories_lookup (repos, ref), ==, gets[i][1]);
    }

  g_autoptr (GPtrArray) refs = gp_repositories_references_for_image (repos, T1);
  g_assert_cmpuint (refs->len, ==, 3);
  g_assert_cmpstr (refs->pdata[0], ==, "username/repo1:alias");
  g_assert_cmpstr (refs->pdata[1], ==, "username/repo1:latest");
  g_assert_cmpstr (refs->pdata[2], ==, "username/repo:latest");

  g_autoptr (GPtrArray) by_name = gp_repositories_list_by_name (repos, "username/repo1");
  g_assert_cmpuint (by_name->len, ==, 3);
  static const char *const want[][2] = { { "username/repo1:alias", T1 }, { "username/repo1:latest", T1 },
                                         { "username/repo1:old", T2 } };
  for (guint i = 0; i < 3; i++)
    {
      GpRepositoryEntry *e = by_name->pdata[i];
      g_assert_cmpstr (e->reference, ==, want[i][0]);
      g_assert_cmpstr (e->image_id, ==, want[i][1]);
    }
  g_autoptr (GPtrArray) none = gp_repositories_list_by_name (repos, "username/nope");
  g_assert_cmpuint (none->len, ==, 0);
}

static void
test_repos_refusals (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GpRepositories) repos = gp_repositories_new ();

  /* C3: name "sha256" is ambiguous */
  g_assert_false (add_ref_string (repos, "sha256:abc", T1, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_REFERENCE);
  g_assert_cmpstr (error->message, ==, "refusing to create an ambiguous tag using digest algorithm as name");
  g_clear_error (&error);
  /* C3: AddTag of a digest reference */
  g_autoptr (GpReference) dref = gp_reference_parse (
    "registry@sha256:367eb40fd0330a7e464777121e39d2f5b3e8e23a1e159342e53ab05c9e4d94e6", &error);
  g_assert_false (gp_repositories_add_tag (repos, dref, T1, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_REFERENCE);
  g_clear_error (&error);
  /* AddDigest needs a digest */
  g_autoptr (GpReference) tref = gp_reference_parse ("registry:1", &error);
  g_assert_false (gp_repositories_add_digest (repos, tref, T1, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_REFERENCE);
  g_clear_error (&error);
  /* image IDs must be what we write */
  g_assert_false (gp_repositories_add_tag (repos, tref, "sha256:ABC", &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST);
  g_clear_error (&error);
  g_autofree char *json = gp_repositories_to_json (repos, NULL);
  g_assert_cmpstr (json, ==, "{\"Repositories\":{}}");
}

static void
test_repos_escaping (void)
{
  /* Keys and values go through Go's escaper (<, >, & and U+2028). */
  static const char doc[] = "{\"Repositories\":{\"a<b\":{\"a<b:1&\\u2028\":\"x>y\"}}}";
  g_autoptr (GpRepositories) repos = gp_repositories_load_data (doc, strlen (doc), "x", NULL);
  g_assert_nonnull (repos);
  g_autofree char *json = gp_repositories_to_json (repos, NULL);
  g_assert_cmpstr (json, ==, "{\"Repositories\":{\"a\\u003cb\":{\"a\\u003cb:1\\u0026\\u2028\":\"x\\u003ey\"}}}");
}

/* ---- distribution metadata ---- */

static void
test_dist_a3 (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  umask (077);
  g_assert_true (gp_store_init_layout (fx->store, &error));
  g_assert_true (gp_store_add_v2_metadata (fx->store, EMPTY,
                                           "sha256:55dc925c23d1ed82551fd018c27ac3ee731377b6bad3963a2a4e76e753d70e57",
                                           "", &error));
  g_assert_true (gp_store_add_v2_metadata (fx->store, EMPTY,
                                           "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4",
                                           NULL, &error));
  g_assert_no_error (error);
  g_autofree char *path = store_path (fx, "distribution/v2metadata-by-diffid/sha256/5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");
  assert_file (path, 0644,
               "[{\"Digest\":\"sha256:55dc925c23d1ed82551fd018c27ac3ee731377b6bad3963a2a4e76e753d70e57\",\"SourceRepository\":\"\"},{\"Digest\":\"sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4\",\"SourceRepository\":\"\"}]");
  g_autofree char *r1 = store_path (fx, "distribution/diffid-by-digest/sha256/55dc925c23d1ed82551fd018c27ac3ee731377b6bad3963a2a4e76e753d70e57");
  g_autofree char *r2 = store_path (fx, "distribution/diffid-by-digest/sha256/a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4");
  assert_file (r1, 0644, EMPTY);
  assert_file (r2, 0644, EMPTY);
  static const char *const dirs[] = { "distribution/v2metadata-by-diffid", "distribution/v2metadata-by-diffid/sha256",
                                      "distribution/diffid-by-digest", "distribution/diffid-by-digest/sha256" };
  for (gsize i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *p = store_path (fx, dirs[i]);
      g_assert_cmphex (mode_of (p), ==, 0755);
    }
  g_autofree char *dist = store_path (fx, "distribution");
  g_assert_cmphex (mode_of (dist), ==, 0700);

  /* Upper-case hex and sha512 checksums are used verbatim. */
  const char *upper = "sha256:A3ED95CAEB02FFE68CDD9FD84406680AE93D633CB16422D00E8A7C22955B46D4";
  g_assert_true (gp_store_add_v2_metadata (fx->store, EMPTY, upper, "", &error));
  g_autofree char *r3 = store_path (fx, "distribution/diffid-by-digest/sha256/A3ED95CAEB02FFE68CDD9FD84406680AE93D633CB16422D00E8A7C22955B46D4");
  assert_file (r3, 0644, EMPTY);
  /* An invalid checksum is refused, nothing written. */
  g_assert_false (gp_store_add_v2_metadata (fx->store, EMPTY, "sha256:../../x", "", &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST);
}

static void
test_dist_d1 (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  const char *d1 = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4";
  const char *d2 = "sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa";
  const char *d3 = "sha256:03f4658f8b782e12230c1783426bd3bacce651ce582a4ffb6fbbfa2079428ecb";
  const char *f0 = "sha256:f0cd5ca10b07f35512fc2f1cbf9a6cefbdb5cba70ac6b0c9e5988f4497f71937";
  const char *e9 = "sha256:9e3447ca24cb96d86ebd5960cb34d1299b07e0a0e03801d90b9969a2c187dd6e";
  const char *unknown = "sha256:82379823067823853223359023576437723560923756b03560378f4497753917";

  g_assert_true (gp_store_add_v2_metadata (fx->store, d1, f0, "", &error));
  g_assert_true (gp_store_add_v2_metadata (fx->store, d2, f0, "", &error));
  g_assert_true (gp_store_add_v2_metadata (fx->store, d2, e9, "", &error));
  g_autoptr (GPtrArray) random = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; i < 100; i++)
    {
      guint32 r[4] = { g_test_rand_int (), g_test_rand_int (), (guint32) i, 0x5eed };
      char *dg = gp_sha256_digest_of (r, sizeof r);
      g_ptr_array_add (random, dg);
      g_assert_true (gp_store_add_v2_metadata (fx->store, d3, dg, "", &error));
    }
  g_assert_no_error (error);

  g_autoptr (GPtrArray) m1 = gp_store_get_v2_metadata (fx->store, d1, &error);
  g_assert_cmpuint (m1->len, ==, 1);
  g_assert_cmpstr (((GpV2Metadata *) m1->pdata[0])->digest, ==, f0);
  g_autoptr (GPtrArray) m2 = gp_store_get_v2_metadata (fx->store, d2, &error);
  g_assert_cmpuint (m2->len, ==, 2);
  g_assert_cmpstr (((GpV2Metadata *) m2->pdata[0])->digest, ==, f0);
  g_assert_cmpstr (((GpV2Metadata *) m2->pdata[1])->digest, ==, e9);
  g_autoptr (GPtrArray) m3 = gp_store_get_v2_metadata (fx->store, d3, &error);
  g_assert_cmpuint (m3->len, ==, 50);
  for (guint i = 0; i < 50; i++)
    g_assert_cmpstr (((GpV2Metadata *) m3->pdata[i])->digest, ==, random->pdata[50 + i]);

  g_assert_null (gp_store_get_v2_metadata (fx->store, unknown, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING);
  g_clear_error (&error);
  g_assert_null (gp_store_get_diff_id_by_digest (fx->store, unknown, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING);
  g_clear_error (&error);

  /* The reverse index follows the latest add. */
  g_autofree char *before = gp_store_get_diff_id_by_digest (fx->store, f0, &error);
  g_assert_cmpstr (before, ==, d2);
  g_assert_true (gp_store_add_v2_metadata (fx->store, d1, f0, "", &error));
  g_autofree char *mid = gp_store_get_diff_id_by_digest (fx->store, f0, &error);
  g_assert_cmpstr (mid, ==, d1);
  g_assert_true (gp_store_add_v2_metadata (fx->store, d2, f0, "", &error));
  g_autofree char *after = gp_store_get_diff_id_by_digest (fx->store, f0, &error);
  g_assert_cmpstr (after, ==, d2);
  /* ... and the re-added element moved to the end. */
  g_autoptr (GPtrArray) m2b = gp_store_get_v2_metadata (fx->store, d2, &error);
  g_assert_cmpuint (m2b->len, ==, 2);
  g_assert_cmpstr (((GpV2Metadata *) m2b->pdata[0])->digest, ==, e9);
  g_assert_cmpstr (((GpV2Metadata *) m2b->pdata[1])->digest, ==, f0);

  /* An unreadable existing file counts as empty. */
  g_autofree char *p1 = store_path (fx, "distribution/v2metadata-by-diffid/sha256/a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4");
  g_assert_true (g_file_set_contents (p1, "[{\"Digest\":", -1, NULL));
  g_assert_true (gp_store_add_v2_metadata (fx->store, d1, e9, "", &error));
  g_autofree char *c1 = read_text (p1);
  g_assert_cmpstr (c1, ==, "[{\"Digest\":\"sha256:9e3447ca24cb96d86ebd5960cb34d1299b07e0a0e03801d90b9969a2c187dd6e\",\"SourceRepository\":\"\"}]");
}

static void
test_dist_parse (void)
{
  g_autoptr (GError) error = NULL;
  static const char doc[] = " [null,{\"digest\":\"a\",\"sourcerepository\":\"b\",\"x\":[1]},{\"Digest\":null}] ";
  g_autoptr (GPtrArray) list = gp_v2_metadata_parse (doc, strlen (doc), "x", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, ==, 3);
  g_autofree char *json = gp_v2_metadata_to_json (list, NULL);
  g_assert_cmpstr (json, ==, "[{\"Digest\":\"\",\"SourceRepository\":\"\"},{\"Digest\":\"a\",\"SourceRepository\":\"b\"},{\"Digest\":\"\",\"SourceRepository\":\"\"}]");
  static const char *const bad[] = { "", "[", "[1]", "{}", "[{\"Digest\":1}]", "[] x", "[{}" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (GError) e = NULL;
      g_assert_null (gp_v2_metadata_parse (bad[i], strlen (bad[i]), "x", &e));
      g_assert_error (e, GP_DATA_ERROR, GP_DATA_ERROR_JSON);
    }
  g_autoptr (GPtrArray) nul = gp_v2_metadata_parse ("null", 4, "x", &error);
  g_assert_cmpuint (nul->len, ==, 0);
}

/* ---- imagedb ---- */

static void
test_imagedb_put_get (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  umask (0);
  g_autofree char *id = gp_store_put_image_config (fx->store, "foobar", 6, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (id, ==, "sha256:c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2");
  g_autofree char *path = store_path (fx, "imagedb/content/sha256/c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2");
  assert_file (path, 0600, "foobar");
  static const char *const dirs[] = { "..", ".", "imagedb", "imagedb/content", "imagedb/content/sha256" };
  for (gsize i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *p = store_path (fx, dirs[i]);
      g_assert_cmphex (mode_of (p), ==, 0700);
    }
  g_autoptr (GBytes) got = gp_store_get_image_config (fx->store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (got, NULL), g_bytes_get_size (got), "foobar", 6);

  /* Same bytes again: no-op, same inode. */
  struct stat s1, s2;
  g_assert_cmpint (stat (path, &s1), ==, 0);
  g_autofree char *id2 = gp_store_put_image_config (fx->store, "foobar", 6, &error);
  g_assert_cmpstr (id2, ==, id);
  g_assert_cmpint (stat (path, &s2), ==, 0);
  g_assert_cmpuint (s1.st_ino, ==, s2.st_ino);

  /* 8 KiB of other bytes */
  g_autofree guint8 *big = g_malloc (8192);
  for (gsize i = 0; i < 8192; i++)
    big[i] = (guint8) g_test_rand_int ();
  g_autofree char *bid = gp_store_put_image_config (fx->store, big, 8192, &error);
  g_autofree char *want = gp_sha256_digest_of (big, 8192);
  g_assert_cmpstr (bid, ==, want);

  g_autoptr (GPtrArray) ids = gp_store_list_images (fx->store, &error);
  g_assert_cmpuint (ids->len, ==, 2);

  /* B1 errors */
  g_assert_null (gp_store_put_image_config (fx->store, "", 0, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID);
  g_clear_error (&error);
  static const char *const bad_ids[] = { "foobar:abc", "sha256:abc",
    "sha256:c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2a",
    "sha256:C3AB8FF13720E8AD9047DD39466B3C8974E592C2FA383D4A3960714CAEF0C4F2",
    "sha256:../../../../../../etc/passwd" };
  for (gsize i = 0; i < G_N_ELEMENTS (bad_ids); i++)
    {
      g_assert_null (gp_store_get_image_config (fx->store, bad_ids[i], &error));
      g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST);
      g_clear_error (&error);
    }
  g_assert_null (gp_store_get_image_config (fx->store, EMPTY, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING);
  g_clear_error (&error);

  /* Content that no longer hashes to its name fails to verify. */
  g_assert_true (g_file_set_contents (path, "foobaz", 6, NULL));
  g_assert_null (gp_store_get_image_config (fx->store, id, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY);
  g_assert_nonnull (strstr (error->message, "failed to verify image"));
  g_clear_error (&error);
  /* ... and a put of the right bytes repairs it. */
  g_autofree char *id3 = gp_store_put_image_config (fx->store, "foobar", 6, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) got2 = gp_store_get_image_config (fx->store, id, &error);
  g_assert_no_error (error);
}

static void
test_imagedb_parent (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  umask (077);
  static const char abc[] = "{\"comment\": \"abc\", \"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\"]}}";
  g_autofree char *a = gp_store_put_image_config (fx->store, abc, strlen (abc), &error);
  g_assert_cmpstr (a, ==, "sha256:8d25a9c45df515f9d0fe8e4a6b1c64dd3b965a84790ddbcc7954bb9bc89eb993");
  static const char def[] = "{\"comment\": \"def\", \"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\"]}}";
  g_autofree char *b = gp_store_put_image_config (fx->store, def, strlen (def), &error);
  g_assert_no_error (error);

  char *parent = (char *) "unset";
  g_assert_true (gp_store_get_image_parent (fx->store, b, &parent, &error));
  g_assert_null (parent);
  g_assert_true (gp_store_set_image_parent (fx->store, b, a, &error));
  g_assert_no_error (error);
  g_assert_true (gp_store_get_image_parent (fx->store, b, &parent, &error));
  g_assert_cmpstr (parent, ==, a);
  g_free (parent);
  g_autofree char *mdir = g_strconcat (gp_store_get_dir (fx->store), "/imagedb/metadata/sha256/", b + 7, NULL);
  g_autofree char *mfile = g_build_filename (mdir, "parent", NULL);
  g_assert_cmphex (mode_of (mdir), ==, 0700);
  assert_file (mfile, 0600, a);
  /* idempotent */
  g_assert_true (gp_store_set_image_parent (fx->store, b, a, &error));
  g_assert_no_error (error);

  /* unknown image or parent */
  g_assert_false (gp_store_set_image_parent (fx->store, EMPTY, a, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING);
  g_clear_error (&error);
  g_assert_false (gp_store_set_image_parent (fx->store, a, EMPTY, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING);
  g_clear_error (&error);
  /* a bad parent file is an error naming it */
  g_assert_true (g_file_set_contents (mfile, "sha256:zz", -1, NULL));
  g_assert_false (gp_store_get_image_parent (fx->store, b, &parent, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST);
  g_assert_nonnull (strstr (error->message, mfile));
}

static void
test_imagedb_search (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  static const char abc[] = "{\"comment\": \"abc\", \"rootfs\": {\"type\": \"layers\"}}";
  g_autofree char *id = gp_store_put_image_config (fx->store, abc, strlen (abc), &error);
  g_assert_no_error (error);

  /* B2 TestRestore: first 10 characters of the ID string, first 6 hex */
  g_autofree char *p10 = g_strndup (id, 10);
  g_autofree char *p6 = g_strndup (id + 7, 6);
  g_autofree char *p15 = g_strndup (id, 15);
  const char *terms[] = { p10, p6, p15, id, id + 7 };
  for (gsize i = 0; i < G_N_ELEMENTS (terms); i++)
    {
      g_autofree char *found = gp_store_search_image (fx->store, terms[i], &error);
      g_assert_no_error (error);
      g_assert_cmpstr (found, ==, id);
    }
  /* hex[1:6] is not a prefix; other algorithms and upper case do not match */
  g_autofree char *mid = g_strndup (id + 8, 5);
  g_autofree char *other_alg = g_strconcat ("sha512:", p6, NULL);
  g_autofree char *upper = g_ascii_strup (p6, -1);
  const char *misses[] = { mid, other_alg, upper, "", "sha256:", "zzz" };
  for (gsize i = 0; i < G_N_ELEMENTS (misses); i++)
    {
      g_assert_null (gp_store_search_image (fx->store, misses[i], &error));
      g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING);
      g_clear_error (&error);
    }

  /* Ambiguity: make configs until two IDs share their first hex digit. */
  g_autoptr (GHashTable) by_first = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  char *first_id = NULL, *second_id = NULL;
  for (int i = 0; second_id == NULL; i++)
    {
      g_autofree char *cfg = g_strdup_printf ("{\"comment\": \"%d\"}", i);
      char *cid = gp_store_put_image_config (fx->store, cfg, strlen (cfg), &error);
      g_assert_no_error (error);
      char key[2] = { cid[7], 0 };
      char *prev = g_hash_table_lookup (by_first, key);
      if (prev && strcmp (prev, cid) != 0)
        {
          first_id = g_strdup (prev);
          second_id = cid;
        }
      else
        g_hash_table_insert (by_first, g_strdup (key), cid);
    }
  char one[2] = { first_id[7], 0 };
  g_assert_null (gp_store_search_image (fx->store, one, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_REFERENCE);
  g_assert_nonnull (strstr (error->message, first_id));
  g_assert_nonnull (strstr (error->message, second_id));
  g_clear_error (&error);
  g_autofree char *full = gp_store_search_image (fx->store, second_id + 7, &error);
  g_assert_cmpstr (full, ==, second_id);

  /* TestSearchAfterDelete */
  g_autofree char *path = store_path (fx, "imagedb/content/sha256");
  g_autofree char *file = g_build_filename (path, id + 7, NULL);
  g_assert_cmpint (unlink (file), ==, 0);
  g_assert_null (gp_store_search_image (fx->store, p15, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING);
  g_free (first_id);
  g_free (second_id);
}

/* ---- layers ---- */

#define HEX_A "46ff78b3a42eba7e50665a489e94c201450bb7cd638cb8eddd05b5f48a00a4c9"
#define HEX_B "f7fa71605f257674adff225a3dce9fab6256172ff8d39dd6385ca654ee4714b1"

static void
test_layer_register (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  umask (077);
  g_assert_true (gp_store_init_layout (fx->store, &error));
  g_autofree char *ts = g_build_filename (fx->root, "tardata", NULL);
  g_assert_true (g_file_set_contents (ts, "\x1f\x8bgzip-bytes", -1, NULL));

  /* parent must exist */
  g_assert_false (gp_store_register_layer (fx->store, EMPTY, EMPTY, HEX_A, 0, ts, NULL, NULL, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING);
  g_clear_error (&error);

  g_autofree char *chain1 = NULL;
  gboolean existed = TRUE;
  g_assert_true (gp_store_register_layer (fx->store, NULL, EMPTY, HEX_A, 32, ts, &chain1, &existed, &error));
  g_assert_no_error (error);
  g_assert_false (existed);
  g_assert_cmpstr (chain1, ==, EMPTY);
  g_autofree char *chain2 = NULL;
  g_assert_true (gp_store_register_layer (fx->store, chain1, EMPTY, HEX_B, 0, ts, &chain2, &existed, &error));
  g_assert_cmpstr (chain2, ==, "sha256:170b376f64fb30995c140276be3d71dfb256b308d86183ca3b22aa93a79ad548");

  g_autofree char *dir = store_path (fx, "layerdb/sha256/170b376f64fb30995c140276be3d71dfb256b308d86183ca3b22aa93a79ad548");
  g_assert_cmphex (mode_of (dir), ==, 0700);
  g_autofree char *f_diff = g_build_filename (dir, "diff", NULL);
  g_autofree char *f_size = g_build_filename (dir, "size", NULL);
  g_autofree char *f_cache = g_build_filename (dir, "cache-id", NULL);
  g_autofree char *f_parent = g_build_filename (dir, "parent", NULL);
  g_autofree char *f_ts = g_build_filename (dir, "tar-split.json.gz", NULL);
  assert_file (f_diff, 0644, EMPTY);
  assert_file (f_size, 0644, "0");
  assert_file (f_cache, 0644, HEX_B);
  assert_file (f_parent, 0644, EMPTY);
  assert_file (f_ts, 0644, "\x1f\x8bgzip-bytes");
  g_autofree char *base_parent = store_path (fx, "layerdb/sha256/5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef/parent");
  g_assert_false (g_file_test (base_parent, G_FILE_TEST_EXISTS));
  g_autofree char *sha = store_path (fx, "layerdb/sha256");
  g_autofree char *tmp = store_path (fx, "layerdb/tmp");
  g_assert_cmphex (mode_of (sha), ==, 0755);
  g_assert_cmphex (mode_of (tmp), ==, 0755);

  /* Same ChainID again: the first record wins, nothing is written. */
  g_autofree char *ts2 = g_build_filename (fx->root, "other", NULL);
  g_assert_true (g_file_set_contents (ts2, "other", -1, NULL));
  g_assert_true (gp_store_register_layer (fx->store, chain1, EMPTY, HEX_A, 7, ts2, NULL, &existed, &error));
  g_assert_true (existed);
  assert_file (f_cache, 0644, HEX_B);
  assert_file (f_ts, 0644, "\x1f\x8bgzip-bytes");
  /* Also through a transaction that raced. */
  g_autoptr (GpLayerTx) tx = gp_store_begin_layer (fx->store, &error);
  g_assert_true (gp_layer_tx_write (tx, "zz", 2, &error));
  g_assert_true (gp_layer_tx_commit (tx, chain1, EMPTY, HEX_A, 9, NULL, &existed, &error));
  g_assert_no_error (error);
  g_assert_true (existed);
  assert_file (f_size, 0644, "0");
  g_autofree char *tmp_list = NULL;
  g_autoptr (GDir) d = g_dir_open (tmp, 0, NULL);
  g_assert_null (g_dir_read_name (d));

  /* An abandoned transaction leaves nothing. */
  GpLayerTx *tx2 = gp_store_begin_layer (fx->store, &error);
  g_assert_true (gp_layer_tx_copy_tar_split (tx2, ts, &error));
  gp_layer_tx_free (tx2);
  g_autoptr (GDir) d2 = g_dir_open (tmp, 0, NULL);
  g_assert_null (g_dir_read_name (d2));

  /* A killed run's temporary directories are swept. */
  g_autofree char *stale = g_build_filename (tmp, "layer-123456", "sub", NULL);
  g_assert_true (gp_safeio_mkdir_p (stale, 0700, NULL));
  g_assert_true (gp_store_clean_stale (fx->store, &error));
  g_autoptr (GDir) d3 = g_dir_open (tmp, 0, NULL);
  g_assert_null (g_dir_read_name (d3));

  /* read back */
  g_autoptr (GpLayerRecord) rec = gp_store_get_layer (fx->store, chain2, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (rec->diff_id, ==, EMPTY);
  g_assert_cmpstr (rec->parent, ==, EMPTY);
  g_assert_cmpstr (rec->cache_id, ==, HEX_B);
  g_assert_cmpint (rec->size, ==, 0);
  g_assert_cmpstr (rec->tar_split_path, ==, f_ts);
  g_assert_true (gp_store_has_layer (fx->store, chain1));
  g_autoptr (GPtrArray) layers = gp_store_list_layers (fx->store, &error);
  g_assert_cmpuint (layers->len, ==, 2);

  /* argument checks */
  g_assert_false (gp_store_register_layer (fx->store, NULL, "sha256:ABC", HEX_A, 0, ts, NULL, NULL, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST);
  g_clear_error (&error);
  g_assert_false (gp_store_register_layer (fx->store, NULL, EMPTY, "../x", 0, ts, NULL, NULL, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (gp_store_register_layer (fx->store, NULL, EMPTY, HEX_A, -1, ts, NULL, NULL, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE);
}

typedef struct {
  const char *path;
  const char *file;
  const char *content;  /* NULL: remove the file */
  int code;             /* -1: loads fine */
} LayerCase;

static const LayerCase layer_cases[] = {
  { "/store/layer/load/size-newline", "size", "32\n", GP_DATA_ERROR_INVALID },
  { "/store/layer/load/size-space", "size", " 32", GP_DATA_ERROR_INVALID },
  { "/store/layer/load/size-empty", "size", "", GP_DATA_ERROR_INVALID },
  { "/store/layer/load/size-overflow", "size", "9223372036854775808", GP_DATA_ERROR_INVALID },
  { "/store/layer/load/size-plus", "size", "+32", -1 },
  { "/store/layer/load/size-max", "size", "9223372036854775807", -1 },
  { "/store/layer/load/diff-newline", "diff", EMPTY "\n", -1 },
  { "/store/layer/load/diff-bad", "diff", "sha256:5f70", GP_DATA_ERROR_DIGEST },
  { "/store/layer/load/diff-missing", "diff", NULL, -2 },
  { "/store/layer/load/cache-trimmed", "cache-id", "\t" HEX_A "\n", -1 },
  { "/store/layer/load/cache-init", "cache-id", HEX_A "-init", -1 },
  { "/store/layer/load/cache-upper", "cache-id", "46FF78B3A42EBA7E50665A489E94C201450BB7CD638CB8EDDD05B5F48A00A4C9", GP_DATA_ERROR_INVALID },
  { "/store/layer/load/cache-short", "cache-id", "46ff78b3", GP_DATA_ERROR_INVALID },
  { "/store/layer/load/parent-bad", "parent", "sha256:xyz", GP_DATA_ERROR_DIGEST },
  { "/store/layer/load/parent-spaces", "parent", " " EMPTY " ", -1 },
};

static void
test_layer_load (gconstpointer data)
{
  const LayerCase *c = data;
  g_autofree char *root = g_dir_make_tmp ("gp-store-XXXXXX", NULL);
  g_autoptr (GpStore) store = gp_store_open (root, "overlay2", NULL);
  g_autofree char *dir = g_build_filename (root, "image", "overlay2", "layerdb", "sha256",
                                           "170b376f64fb30995c140276be3d71dfb256b308d86183ca3b22aa93a79ad548", NULL);
  g_assert_true (gp_safeio_mkdir_p (dir, 0700, NULL));
  static const char *const files[][2] = { { "diff", EMPTY }, { "size", "32" }, { "cache-id", HEX_A }, { "parent", EMPTY } };
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *p = g_build_filename (dir, files[i][0], NULL);
      g_assert_true (g_file_set_contents (p, strcmp (files[i][0], c->file) == 0 && c->content ? c->content : files[i][1], -1, NULL));
      if (strcmp (files[i][0], c->file) == 0 && c->content == NULL)
        g_assert_cmpint (unlink (p), ==, 0);
    }
  g_autoptr (GError) error = NULL;
  g_autoptr (GpLayerRecord) rec = gp_store_get_layer (store, "sha256:170b376f64fb30995c140276be3d71dfb256b308d86183ca3b22aa93a79ad548", &error);
  if (c->code == -1)
    {
      g_assert_no_error (error);
      g_assert_nonnull (rec);
      g_assert_cmpstr (rec->diff_id, ==, EMPTY);
    }
  else if (c->code == -2)
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  else
    g_assert_error (error, GP_DATA_ERROR, c->code);
  if (error)
    g_assert_nonnull (strstr (error->message, dir));
  gp_safeio_remove_tree (root, NULL);
}

/* ---- mounts ---- */

#define CID "e039bc4f08ddcf946b1790cf03076ee7fd8d44f72e3f2687743c7b45452566fb"

static void
test_mount (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  umask (077);
  g_autofree char *ts = g_build_filename (fx->root, "tardata", NULL);
  g_assert_true (g_file_set_contents (ts, "x", -1, NULL));
  g_assert_true (gp_store_register_layer (fx->store, NULL, EMPTY, HEX_A, 0, ts, NULL, NULL, &error));

  gboolean existed = TRUE;
  /* parent must be a layer */
  g_assert_false (gp_store_create_mount (fx->store, CID, CID, TRUE, "sha256:170b376f64fb30995c140276be3d71dfb256b308d86183ca3b22aa93a79ad548", &existed, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_MISSING);
  g_clear_error (&error);

  g_assert_true (gp_store_create_mount (fx->store, CID, CID, TRUE, EMPTY, &existed, &error));
  g_assert_no_error (error);
  g_assert_false (existed);
  g_autofree char *dir = store_path (fx, "layerdb/mounts/" CID);
  g_autofree char *mounts = store_path (fx, "layerdb/mounts");
  g_assert_cmphex (mode_of (mounts), ==, 0755);
  g_assert_cmphex (mode_of (dir), ==, 0755);
  g_autofree char *f1 = g_build_filename (dir, "mount-id", NULL);
  g_autofree char *f2 = g_build_filename (dir, "init-id", NULL);
  g_autofree char *f3 = g_build_filename (dir, "parent", NULL);
  assert_file (f1, 0644, CID);
  assert_file (f2, 0644, CID "-init");
  assert_file (f3, 0644, EMPTY);

  g_assert_true (gp_store_create_mount (fx->store, CID, CID, TRUE, EMPTY, &existed, &error));
  g_assert_no_error (error);
  g_assert_true (existed);
  g_assert_false (gp_store_create_mount (fx->store, CID, CID, TRUE, NULL, &existed, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CONFLICT);
  g_clear_error (&error);
  g_assert_false (gp_store_create_mount (fx->store, CID, HEX_A, TRUE, EMPTY, &existed, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CONFLICT);
  g_clear_error (&error);

  g_autoptr (GpMountRecord) rec = gp_store_get_mount (fx->store, CID, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (rec->mount_id, ==, CID);
  g_assert_cmpstr (rec->init_id, ==, CID "-init");
  g_assert_cmpstr (rec->parent, ==, EMPTY);

  /* without init layer and parent */
  g_assert_true (gp_store_create_mount (fx->store, HEX_B, HEX_B, FALSE, NULL, &existed, &error));
  g_autofree char *dir2 = store_path (fx, "layerdb/mounts/" HEX_B);
  g_autofree char *i2 = g_build_filename (dir2, "init-id", NULL);
  g_autofree char *p2 = g_build_filename (dir2, "parent", NULL);
  g_assert_false (g_file_test (i2, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (p2, G_FILE_TEST_EXISTS));

  /* an unloadable record is replaced */
  g_autofree char *f4 = g_build_filename (dir2, "mount-id", NULL);
  g_assert_cmpint (unlink (f4), ==, 0);
  g_assert_true (gp_store_create_mount (fx->store, HEX_B, HEX_B, FALSE, EMPTY, &existed, &error));
  g_assert_no_error (error);
  g_assert_false (existed);
  assert_file (f4, 0644, HEX_B);
  assert_file (p2, 0644, EMPTY);

  g_assert_false (gp_store_create_mount (fx->store, "../x", HEX_B, FALSE, NULL, &existed, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_UNSAFE_PATH);
  g_clear_error (&error);
  g_autofree char *tmp = store_path (fx, "layerdb/tmp");
  g_autoptr (GDir) d = g_dir_open (tmp, 0, NULL);
  g_assert_null (g_dir_read_name (d));
}

/* ---- layout ---- */

static void
test_layout (Fixture *fx, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  umask (077);
  g_assert_false (gp_store_exists (fx->store));
  g_assert_true (gp_store_init_layout (fx->store, &error));
  g_assert_no_error (error);
  g_assert_true (gp_store_exists (fx->store));
  static const char *const dirs[] = { "..", ".", "layerdb", "imagedb", "imagedb/content", "imagedb/content/sha256",
                                      "imagedb/metadata", "imagedb/metadata/sha256", "distribution" };
  for (gsize i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *p = store_path (fx, dirs[i]);
      g_assert_cmphex (mode_of (p), ==, 0700);
    }
  g_assert_cmphex (mode_of (gp_store_get_containers_dir (fx->store)), ==, 0700);
  g_autofree char *repos = store_path (fx, "repositories.json");
  assert_file (repos, 0600, "{\"Repositories\":{}}");
  /* layerdb/tmp, sha256 and mounts appear only with the first record */
  g_autofree char *tmp = store_path (fx, "layerdb/tmp");
  g_assert_false (g_file_test (tmp, G_FILE_TEST_EXISTS));

  /* Again: nothing changes, an existing repositories.json is kept. */
  g_assert_true (g_file_set_contents (repos, "{\"Repositories\":{\"a\":{}}}", -1, NULL));
  g_autofree char *stale = store_path (fx, ".repositories.json.gp-tmp");
  g_assert_true (g_file_set_contents (stale, "torn", -1, NULL));
  g_assert_true (gp_store_init_layout (fx->store, &error));
  g_autofree char *c = read_text (repos);
  g_assert_cmpstr (c, ==, "{\"Repositories\":{\"a\":{}}}");
  g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));

  g_assert_null (gp_store_open (fx->root, "../x", &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID);
}

/* ---- golden: read Docker 1.10.3's migrated store ---- */

static void
test_golden_read (void)
{
  NEED_GOLDEN_ROOT ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GpStore) store = gp_store_open (golden_root, "vfs", &error);
  g_assert_no_error (error);
  g_assert_true (gp_store_exists (store));

  g_autofree char *ids_path = g_build_filename (golden_dir, "expected", "ids.txt", NULL);
  g_autofree char *ids = read_text (ids_path);
  g_auto (GStrv) lines = g_strsplit (ids, "\n", -1);
  g_autofree char *prev_chain = NULL;
  guint images = 0, layers = 0;
  for (char **l = lines; *l; l++)
    {
      if (**l == '#' || **l == '\0')
        continue;
      g_auto (GStrv) f = g_strsplit (*l, "\t", -1);
      if (**l != '\t')
        {
          g_assert_true (gp_v1_id_is_valid (f[0], -1));
          if (strstr (*l, "NOT-MIGRATED"))
            continue;
          g_assert_true (g_str_has_prefix (f[1], "image="));
          g_assert_true (g_str_has_prefix (f[2], "parent="));
          const char *image = f[1] + 6;
          const char *parent = f[2] + 7;
          g_autoptr (GBytes) cfg = gp_store_get_image_config (store, image, &error);
          g_assert_no_error (error);
          char *got_parent = NULL;
          g_assert_true (gp_store_get_image_parent (store, image, &got_parent, &error));
          g_assert_cmpstr (got_parent, ==, strcmp (parent, "-") == 0 ? NULL : parent);
          g_free (got_parent);
          g_autofree char *prefix = g_strndup (image + 7, 12);
          g_autofree char *found = gp_store_search_image (store, prefix, &error);
          g_assert_no_error (error);
          g_assert_cmpstr (found, ==, image);
          g_clear_pointer (&prev_chain, g_free);
          images++;
          continue;
        }
      /* \tlayer[i]\tdiff=…\tchain=…\tcache-id=… */
      const char *diff = f[2] + 5, *chain = f[3] + 6, *cache = f[4] + 9;
      g_autoptr (GpLayerRecord) rec = gp_store_get_layer (store, chain, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (rec->diff_id, ==, diff);
      g_assert_cmpstr (rec->cache_id, ==, cache);
      g_assert_cmpstr (rec->parent, ==, prev_chain);
      g_assert_cmpint (rec->size, >=, 0);
      g_assert_true (g_file_test (rec->tar_split_path, G_FILE_TEST_IS_REGULAR));
      g_free (prev_chain);
      prev_chain = g_strdup (chain);
      layers++;
    }
  g_assert_cmpuint (images, ==, 9);
  g_assert_cmpuint (layers, ==, 23);

  /* repositories.json: byte-identical round trip, every reference resolves */
  g_autofree char *want = golden_file ("image/vfs/repositories.json");
  GpRepositories *repos = gp_store_get_repositories (store, &error);
  g_assert_no_error (error);
  g_autofree char *json = gp_repositories_to_json (repos, NULL);
  g_assert_cmpstr (json, ==, want);
  static const char *const refs[][2] = {
    { "busybox", "sha256:d2db4a9a5c80ec23993d3a8fca1876bdc318af17541c8cf750dd7ed5c451d611" },
    { "busybox:1.0", "sha256:d2db4a9a5c80ec23993d3a8fca1876bdc318af17541c8cf750dd7ed5c451d611" },
    { "legacy/tool:1.6", "sha256:038e266cef848344e570aa63f0c4221956c75813af8a49ddf005044c7b04c082" },
    { "localhost:5000/team/tool:2.1", "sha256:eaf7565b494539e7d98f702bdf82f89095c7cc6e747da3d8ee9368eaca1acbb7" },
    { "myapp:v1", "sha256:b640614c99aca33266bbf1101528bf77cc44f47c9c4e6d02fc4ebc7d5ff6a825" },
    { "docker.io/library/myapp@sha256:10bd8682466e953c773eb37b7de780ed0e40b92e54f4d5938eeaf459a6725208",
      "sha256:b640614c99aca33266bbf1101528bf77cc44f47c9c4e6d02fc4ebc7d5ff6a825" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (refs); i++)
    {
      g_autoptr (GpReference) ref = gp_reference_parse (refs[i][0], &error);
      g_assert_no_error (error);
      g_assert_cmpstr (gp_repositories_lookup (repos, ref), ==, refs[i][1]);
    }
  g_autoptr (GPtrArray) bb = gp_repositories_list_by_name (repos, "busybox");
  g_assert_cmpuint (bb->len, ==, 2);
  g_assert_cmpstr (((GpRepositoryEntry *) bb->pdata[0])->reference, ==, "busybox:1.0");
  g_autoptr (GPtrArray) myapp = gp_repositories_references_for_image (repos, "sha256:b640614c99aca33266bbf1101528bf77cc44f47c9c4e6d02fc4ebc7d5ff6a825");
  g_assert_cmpuint (myapp->len, ==, 2);

  /* mount and distribution metadata */
  g_autoptr (GpMountRecord) m = gp_store_get_mount (store, CID, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (m->mount_id, ==, CID);
  g_assert_cmpstr (m->init_id, ==, CID "-init");
  g_autofree char *mparent = golden_file ("image/vfs/layerdb/mounts/" CID "/parent");
  g_assert_cmpstr (m->parent, ==, mparent);
  g_autoptr (GPtrArray) meta = gp_store_get_v2_metadata (store, EMPTY, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (meta->len, ==, 1);
  g_assert_cmpstr (((GpV2Metadata *) meta->pdata[0])->digest, ==,
                   "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4");
  g_autofree char *back = gp_store_get_diff_id_by_digest (store, "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4", &error);
  g_assert_cmpstr (back, ==, EMPTY);
  g_autoptr (GPtrArray) all = gp_store_list_images (store, &error);
  g_assert_cmpuint (all->len, ==, 9);
}

/* ---- golden: rebuild the store with our writer and compare with tree.txt ---- */

static char *
expected_store_file (const char *rel)
{
  g_autofree char *p = g_build_filename ("image", "vfs", rel, NULL);
  return golden_file (p);
}

static void
test_golden_rebuild (Fixture *fx, gconstpointer data)
{
  NEED_GOLDEN_ROOT ();
  g_autoptr (GError) error = NULL;
  umask (077);
  g_assert_true (gp_store_init_layout (fx->store, &error));
  g_assert_no_error (error);

  /* layers, parents first */
  g_autofree char *ldir = g_build_filename (golden_dir, "expected", "files", "image", "vfs", "layerdb", "sha256", NULL);
  g_autoptr (GPtrArray) pending = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) d = g_dir_open (ldir, 0, NULL);
  const char *n;
  while ((n = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (pending, g_strdup (n));
  guint registered = 0;
  while (pending->len > 0)
    {
      guint before = pending->len;
      for (guint i = 0; i < pending->len;)
        {
          const char *hex = pending->pdata[i];
          g_autofree char *rel = g_build_filename ("layerdb", "sha256", hex, NULL);
          g_autofree char *p_diff = g_build_filename (rel, "diff", NULL);
          g_autofree char *p_size = g_build_filename (rel, "size", NULL);
          g_autofree char *p_cache = g_build_filename (rel, "cache-id", NULL);
          g_autofree char *p_parent = g_build_filename (rel, "parent", NULL);
          g_autofree char *diff = expected_store_file (p_diff);
          g_autofree char *size = expected_store_file (p_size);
          g_autofree char *cache = expected_store_file (p_cache);
          g_autofree char *parent = expected_store_file (p_parent);
          if (parent && !gp_store_has_layer (fx->store, parent))
            {
              i++;
              continue;
            }
          g_autofree char *ts = g_build_filename (golden_root, "image", "vfs", rel, "tar-split.json.gz", NULL);
          g_autofree char *chain = NULL;
          gboolean existed = TRUE;
          g_assert_true (gp_store_register_layer (fx->store, parent, diff, cache, g_ascii_strtoll (size, NULL, 10), ts,
                                                  &chain, &existed, &error));
          g_assert_no_error (error);
          g_assert_false (existed);
          g_assert_cmpstr (chain + 7, ==, hex);
          registered++;
          g_ptr_array_remove_index (pending, i);
        }
      g_assert_cmpuint (pending->len, <, before);
    }
  g_assert_cmpuint (registered, ==, 9);

  /* imagedb */
  g_autofree char *cdir = g_build_filename (golden_dir, "expected", "files", "image", "vfs", "imagedb", "content", "sha256", NULL);
  g_autoptr (GDir) cd = g_dir_open (cdir, 0, NULL);
  while ((n = g_dir_read_name (cd)) != NULL)
    {
      g_autofree char *p = g_build_filename (cdir, n, NULL);
      g_autofree char *cfg = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (p, &cfg, &len, NULL));
      g_autofree char *id = gp_store_put_image_config (fx->store, cfg, len, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (id + 7, ==, n);
    }
  g_autofree char *mdir = g_build_filename (golden_dir, "expected", "files", "image", "vfs", "imagedb", "metadata", "sha256", NULL);
  g_autoptr (GDir) md = g_dir_open (mdir, 0, NULL);
  while ((n = g_dir_read_name (md)) != NULL)
    {
      g_autofree char *p = g_build_filename (mdir, n, "parent", NULL);
      g_autofree char *parent = read_text (p);
      g_autofree char *id = g_strconcat ("sha256:", n, NULL);
      g_assert_true (gp_store_set_image_parent (fx->store, id, parent, &error));
      g_assert_no_error (error);
    }

  /* distribution */
  g_autofree char *vdir = g_build_filename (golden_dir, "expected", "files", "image", "vfs", "distribution", "v2metadata-by-diffid", "sha256", NULL);
  g_autoptr (GDir) vd = g_dir_open (vdir, 0, NULL);
  while ((n = g_dir_read_name (vd)) != NULL)
    {
      g_autofree char *p = g_build_filename (vdir, n, NULL);
      g_autofree char *text = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (p, &text, &len, NULL));
      g_autoptr (GPtrArray) list = gp_v2_metadata_parse (text, len, p, &error);
      g_assert_no_error (error);
      g_autofree char *diff = g_strconcat ("sha256:", n, NULL);
      for (guint i = 0; i < list->len; i++)
        {
          GpV2Metadata *m = list->pdata[i];
          g_assert_true (gp_store_add_v2_metadata (fx->store, diff, m->digest, m->source_repository, &error));
          g_assert_no_error (error);
        }
    }

  /* mount */
  g_autofree char *mount_id = expected_store_file ("layerdb/mounts/" CID "/mount-id");
  g_autofree char *init_id = expected_store_file ("layerdb/mounts/" CID "/init-id");
  g_autofree char *mparent = expected_store_file ("layerdb/mounts/" CID "/parent");
  g_assert_true (gp_store_create_mount (fx->store, CID, mount_id, init_id != NULL, mparent, NULL, &error));
  g_assert_no_error (error);

  /* repositories.json, added in reverse order */
  g_autofree char *rjson = expected_store_file ("repositories.json");
  g_autoptr (GpRepositories) want = gp_repositories_load_data (rjson, strlen (rjson), "expected", &error);
  g_assert_no_error (error);
  g_autoptr (GPtrArray) names = gp_repositories_list_names (want);
  for (guint i = names->len; i-- > 0;)
    {
      g_autoptr (GPtrArray) entries = gp_repositories_list_by_name (want, names->pdata[i]);
      for (guint j = entries->len; j-- > 0;)
        {
          GpRepositoryEntry *e = entries->pdata[j];
          g_autoptr (GpReference) ref = gp_reference_parse (e->reference, &error);
          g_assert_no_error (error);
          g_assert_true (ref->digest ? gp_store_add_digest (fx->store, ref, e->image_id, &error)
                                     : gp_store_add_tag (fx->store, ref, e->image_id, &error));
          g_assert_no_error (error);
        }
    }

  compare_with_tree (fx->root, "image", "rebuilt store");

  /* A second pass changes nothing and leaves no temporaries. */
  g_assert_true (gp_store_init_layout (fx->store, &error));
  compare_with_tree (fx->root, "image", "after init_layout again");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, fn) g_test_add (path, Fixture, NULL, setup, fn, teardown)
  g_test_add_func ("/store/repositories/c1-bytes", test_repos_c1_bytes);
  g_test_add_func ("/store/repositories/c1-load", test_repos_c1_load);
  ADD ("/store/repositories/a1-store", test_repos_a1_store);
  for (gsize i = 0; i < G_N_ELEMENTS (bad_repos); i++)
    g_test_add_data_func (bad_repos[i].path, &bad_repos[i], test_repos_invalid);
  g_test_add_func ("/store/repositories/lenient", test_repos_lenient);
  g_test_add_func ("/store/repositories/c2-conflicts", test_repos_c2);
  g_test_add_func ("/store/repositories/refusals", test_repos_refusals);
  g_test_add_func ("/store/repositories/escaping", test_repos_escaping);
  ADD ("/store/distribution/a3-bytes", test_dist_a3);
  ADD ("/store/distribution/d1", test_dist_d1);
  g_test_add_func ("/store/distribution/parse", test_dist_parse);
  ADD ("/store/imagedb/put-get", test_imagedb_put_get);
  ADD ("/store/imagedb/parent", test_imagedb_parent);
  ADD ("/store/imagedb/search", test_imagedb_search);
  ADD ("/store/layer/register", test_layer_register);
  for (gsize i = 0; i < G_N_ELEMENTS (layer_cases); i++)
    g_test_add_data_func (layer_cases[i].path, &layer_cases[i], test_layer_load);
  ADD ("/store/mount/create", test_mount);
  ADD ("/store/layout/init", test_layout);
  g_test_add_func ("/store/golden/read", test_golden_read);
  ADD ("/store/golden/rebuild", test_golden_rebuild);
  int ret = g_test_run ();
  if (golden_root)
    gp_safeio_remove_tree (golden_root, NULL);
  return ret;
}
