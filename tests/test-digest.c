/* Tests for gp-digest: SHA-256 streaming, digest parsing, chain IDs. */
#include "config.h"

#include <string.h>

#include "gp-digest.h"
#include "gp-digest-private.h"
#include "gp-error.h"
#include "gp-test-util.h"

#define EMPTY_TAR "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef"
#define EMPTY_STREAM "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void
test_sha256_known (void)
{
  guint8 zeros[1024] = { 0 };
  g_autofree char *a = gp_sha256_digest_of (zeros, sizeof zeros);
  g_autofree char *b = gp_sha256_digest_of ("", 0);
  g_autofree char *c = gp_sha256_digest_of ("foobar", 6);

  g_assert_cmpstr (a, ==, EMPTY_TAR);
  g_assert_cmpstr (b, ==, EMPTY_STREAM);
  /* moby image/fs_test.go: Set("foobar") */
  g_assert_cmpstr (c, ==, "sha256:c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2");
}

static void
test_sha256_streaming (void)
{
  /* Feeding in odd-sized pieces gives the same result as one call, checked
   * against GLib's independent SHA-256. */
  gsize n = 300000;
  g_autofree guint8 *buf = g_malloc (n);
  for (gsize i = 0; i < n; i++)
    buf[i] = (guint8) (i * 7 + (i >> 9));

  GpSha256 s;
  gp_sha256_init (&s);
  for (gsize off = 0, step = 1; off < n; off += step, step = step * 3 % 4099 + 1)
    gp_sha256_update (&s, buf + off, MIN (step, n - off));
  char hex[GP_HEX_SHA256_LEN + 1];
  gp_sha256_finish_hex (&s, hex);

  g_autofree char *want = g_compute_checksum_for_data (G_CHECKSUM_SHA256, buf, n);
  g_assert_cmpstr (hex, ==, want);
}

/* Our SHA-extension block path and nettle alone, against GLib's
 * independent SHA-256: every length 0..700, updates of random sizes
 * (small ones leave partial blocks for the large ones to complete), and
 * the FIPS 180-2 million-'a' vector. */
static void
check_sha256_path (gboolean nettle_only)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (99);
  gsize n = (1 << 21) + 77;
  g_autofree guint8 *buf = g_malloc (n);
  for (gsize i = 0; i < n; i++)
    buf[i] = (guint8) g_rand_int (rand);
  char hex[GP_HEX_SHA256_LEN + 1];
  GpSha256 s;

  _gp_sha256_set_nettle_only (nettle_only);
  for (gsize len = 0; len <= 700; len++)
    {
      gp_sha256_init (&s);
      gp_sha256_update (&s, buf + (len & 15), len);
      gp_sha256_finish_hex (&s, hex);
      g_autofree char *want = g_compute_checksum_for_data (G_CHECKSUM_SHA256, buf + (len & 15), len);
      g_assert_cmpstr (hex, ==, want);
    }
  for (int round = 0; round < 4; round++)
    {
      gsize total = (gsize) g_rand_int_range (rand, 1, (gint32) n);
      gp_sha256_init (&s);
      for (gsize off = 0; off < total;)
        {
          gsize step = g_rand_boolean (rand) ? (gsize) g_rand_int_range (rand, 0, 100)
                                             : (gsize) g_rand_int_range (rand, 100, 300000);
          step = MIN (step, total - off);
          gp_sha256_update (&s, buf + off, step);
          off += step;
        }
      gp_sha256_finish_hex (&s, hex);
      g_autofree char *want = g_compute_checksum_for_data (G_CHECKSUM_SHA256, buf, total);
      g_assert_cmpstr (hex, ==, want);
    }
  memset (buf, 'a', 1000000);
  gp_sha256_init (&s);
  gp_sha256_update (&s, buf, 1000000);
  gp_sha256_finish_hex (&s, hex);
  g_assert_cmpstr (hex, ==, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  _gp_sha256_set_nettle_only (FALSE);
}

static void
test_sha256_ni (void)
{
  if (!_gp_sha256_ni_available ())
    {
      /* The hardware's: no prerequisite a machine could install. */
      g_test_skip ("no SHA extensions on this CPU");
      return;
    }
  check_sha256_path (FALSE);
}

static void
test_sha256_nettle_only (void)
{
  check_sha256_path (TRUE);
}

typedef struct {
  const char *input;
  gboolean parse_ok;  /* Docker's ParseDigest */
  gboolean strict_ok; /* what we write: sha256 + 64 lower hex */
} DigestCase;

static const DigestCase digest_cases[] = {
  { EMPTY_TAR, TRUE, TRUE },
  { "sha256:5F70BF18A086007016E948B04AED3B82103A36BEA41755B6CDDFAF10ACE3C6EF", TRUE, FALSE },
  { "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6e", FALSE, FALSE },
  { "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef0", FALSE, FALSE },
  { "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef\n", FALSE, FALSE },
  { "sha384:" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", TRUE, FALSE },
  { "sha512:" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", TRUE, FALSE },
  { "md5:0123456789abcdef0123456789abcdef", FALSE, FALSE },
  { "tarsum.v1+sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef", FALSE, FALSE },
  { "5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef", FALSE, FALSE },
  { ":5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef", FALSE, FALSE },
  { "sha256:", FALSE, FALSE },
  { "sha256:zz70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef", FALSE, FALSE },
  { "", FALSE, FALSE },
  { "sha256:c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2a", FALSE, FALSE },
};

static void
test_digest_parse (gconstpointer data)
{
  const DigestCase *c = data;
  g_autoptr (GError) e1 = NULL, e2 = NULL;
  GpDigest d;

  gboolean ok = gp_digest_parse (c->input, -1, &d, &e1);
  g_assert_cmpint (ok, ==, c->parse_ok);
  if (ok)
    {
      g_assert_no_error (e1);
      g_assert_true (d.hex == strchr (c->input, ':') + 1);
    }
  else
    g_assert_error (e1, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST);

  ok = gp_digest_check_sha256 (c->input, -1, &e2);
  g_assert_cmpint (ok, ==, c->strict_ok);
  if (!ok)
    g_assert_error (e2, GP_DATA_ERROR, GP_DATA_ERROR_DIGEST);
}

static void
test_v1_id (void)
{
  g_assert_true (gp_v1_id_is_valid ("27b068109c662b438b57f93926ed7ea5c2a6a8a1fb22687195be60b5fa188fc8", -1));
  g_assert_false (gp_v1_id_is_valid ("27B068109c662b438b57f93926ed7ea5c2a6a8a1fb22687195be60b5fa188fc8", -1));
  g_assert_false (gp_v1_id_is_valid ("27b068109c662b438b57f93926ed7ea5c2a6a8a1fb22687195be60b5fa188fc", -1));
  g_assert_false (gp_v1_id_is_valid ("_tmp", -1));
  g_assert_false (gp_v1_id_is_valid ("../../../../../../../../../../../../../../../../../../../../etc/x", -1));
}

static void
test_chain_id (void)
{
  /* FORMATS.md §5.3 and moby-vectors E. */
  const char *ee[] = { EMPTY_TAR, EMPTY_TAR };
  g_autofree char *c1 = gp_chain_id_for_list (ee, 2);
  g_assert_cmpstr (c1, ==, "sha256:170b376f64fb30995c140276be3d71dfb256b308d86183ca3b22aa93a79ad548");

  const char *ce[] = { "sha256:c6f988f4874bb0add23a778f753c65efe992244e148a1d2ec2a8b664fb66bbd1", EMPTY_TAR };
  g_autofree char *c2 = gp_chain_id_for_list (ce, 2);
  g_assert_cmpstr (c2, ==, "sha256:c3191d32a37d7159b2e30830937d2e30268ad6c375a773a8994911a3aba9b93f");

  g_autofree char *c3 = gp_chain_id (NULL, EMPTY_TAR);
  g_assert_cmpstr (c3, ==, EMPTY_TAR);
  g_assert_null (gp_chain_id_for_list (NULL, 0));
}

static void
test_chain_id_golden (void)
{
  /* Every layer line of the golden ids.txt: chain = chain(previous, diff). */
  g_autofree char *path = g_build_filename (gp_test_shared_dir (), "golden", "public", "expected",
                                            "ids.txt", NULL);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    {
      gp_test_fail_no_shared (path);
      return;
    }
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autofree char *prev = NULL;
  guint checked = 0;
  for (char **l = lines; *l; l++)
    {
      if (g_str_has_prefix (*l, "\tlayer["))
        {
          const char *d = strstr (*l, "diff=");
          const char *c = strstr (*l, "chain=");
          g_assert_nonnull (d);
          g_assert_nonnull (c);
          g_autofree char *diff = g_strndup (d + 5, GP_DIGEST_SHA256_LEN);
          g_autofree char *chain = g_strndup (c + 6, GP_DIGEST_SHA256_LEN);
          g_autofree char *mine = gp_chain_id (g_str_has_prefix (*l, "\tlayer[0]") ? NULL : prev, diff);
          g_assert_cmpstr (mine, ==, chain);
          g_free (prev);
          prev = g_steal_pointer (&chain);
          checked++;
        }
    }
  g_assert_cmpuint (checked, >, 10);
}

static gboolean
append_write (gpointer user_data, const void *buf, gsize len, GError **error)
{
  g_string_append_len (user_data, buf, (gssize) len);
  return TRUE;
}

static gboolean
refuse_write (gpointer user_data, const void *buf, gsize len, GError **error)
{
  g_set_error_literal (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY, "full");
  return FALSE;
}

/* The writer passes every byte on, counts them, and hashes them as
 * gp_sha256_digest_of() does; without a next writer it only measures; a
 * refusal downstream is its own. */
static void
test_sha256_writer (void)
{
  static const char text[] = "graphpipe hashes what passes";
  g_autoptr (GString) out = g_string_new (NULL);
  GpSha256Writer w;
  gp_sha256_writer_init (&w, append_write, out);
  g_assert_true (gp_sha256_writer_write (&w, text, 10, NULL));
  g_assert_true (gp_sha256_writer_write (&w, text + 10, sizeof text - 1 - 10, NULL));
  char digest[GP_DIGEST_SHA256_LEN + 1];
  gp_sha256_finish_digest (&w.sha, digest);
  g_autofree char *expected = gp_sha256_digest_of (text, sizeof text - 1);
  g_assert_cmpstr (digest, ==, expected);
  g_assert_cmpuint (w.len, ==, sizeof text - 1);
  g_assert_cmpstr (out->str, ==, text);

  gp_sha256_writer_init (&w, NULL, NULL);
  g_assert_true (gp_sha256_writer_write (&w, text, sizeof text - 1, NULL));
  gp_sha256_finish_digest (&w.sha, digest);
  g_assert_cmpstr (digest, ==, expected);
  g_assert_cmpuint (w.len, ==, sizeof text - 1);

  g_autoptr (GError) error = NULL;
  gp_sha256_writer_init (&w, refuse_write, NULL);
  g_assert_false (gp_sha256_writer_write (&w, text, 4, &error));
  g_assert_error (error, GP_DATA_ERROR, GP_DATA_ERROR_VERIFY);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/digest/sha256/known", test_sha256_known);
  g_test_add_func ("/digest/sha256/streaming", test_sha256_streaming);
  g_test_add_func ("/digest/sha256/sha-extensions", test_sha256_ni);
  g_test_add_func ("/digest/sha256/nettle-only", test_sha256_nettle_only);
  for (gsize i = 0; i < G_N_ELEMENTS (digest_cases); i++)
    {
      g_autofree char *p = g_strdup_printf ("/digest/parse/%zu", i);
      g_test_add_data_func (p, &digest_cases[i], test_digest_parse);
    }
  g_test_add_func ("/digest/v1-id", test_v1_id);
  g_test_add_func ("/digest/chain-id/vectors", test_chain_id);
  g_test_add_func ("/digest/chain-id/golden", test_chain_id_golden);
  g_test_add_func ("/digest/sha256/writer", test_sha256_writer);
  return g_test_run ();
}
