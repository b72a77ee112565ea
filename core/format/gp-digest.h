/* graphpipe - SHA-256 streaming, digest strings, chain IDs, v1 IDs.
 *
 * FORMATS.md §5.  SHA-256 goes through nettle, which picks the CPU's SHA
 * extensions at run time where it has them; the whole blocks of large
 * updates go through our own multi-block SHA-extension code where the CPU
 * has it (nettle 3.8 reloads the state for every block).
 */
#pragma once

#include "gp-macros.h"
#include "gp-io.h"

#include <nettle/sha2.h>

G_BEGIN_DECLS

/* "sha256:" + 64 hex digits */
#define GP_DIGEST_SHA256_LEN 71
/* 64 hex digits */
#define GP_HEX_SHA256_LEN 64

/**
 * GpSha256:
 *
 * A streaming SHA-256 context.  Plain struct, may live on the stack.
 */
typedef struct {
  struct sha256_ctx ctx;
} GpSha256;

GP_API void gp_sha256_init (GpSha256 *s);
GP_API void gp_sha256_update (GpSha256 *s, const void *data, gsize len);
GP_API void gp_sha256_finish_hex (GpSha256 *s, char out[GP_HEX_SHA256_LEN + 1]);
GP_API void gp_sha256_finish_digest (GpSha256 *s, char out[GP_DIGEST_SHA256_LEN + 1]);
GP_API char *gp_sha256_digest_of (const void *data, gsize len);

/**
 * GpSha256Writer:
 * @sha: the hash of what passed
 * @len: how many bytes passed
 * @next: (nullable): where the bytes go on to, or %NULL to only measure
 * @next_data: data for @next
 *
 * A #GpWriteFunc stage that hashes and counts what passes through it
 * (gp_sha256_writer_write() with the writer as its data).  Plain struct,
 * may live on the stack.
 */
typedef struct {
  GpSha256 sha;
  guint64 len;
  GpWriteFunc next;
  gpointer next_data;
} GpSha256Writer;

GP_API void gp_sha256_writer_init (GpSha256Writer *w, GpWriteFunc next, gpointer next_data);
GP_API gboolean gp_sha256_writer_write (gpointer user_data, const void *buf, gsize len,
                                        GError **error);

/**
 * GpDigestAlgorithm:
 * @GP_DIGEST_SHA256: sha256, 64 hex digits
 * @GP_DIGEST_SHA384: sha384, 96 hex digits
 * @GP_DIGEST_SHA512: sha512, 128 hex digits
 */
typedef enum {
  GP_DIGEST_SHA256,
  GP_DIGEST_SHA384,
  GP_DIGEST_SHA512,
} GpDigestAlgorithm;

/**
 * GpDigest:
 * @algorithm: the algorithm
 * @hex: the hex part, exactly as given (may be upper case on input)
 * @hex_len: its length
 *
 * A parsed digest string.  @hex points into the string that was parsed.
 */
typedef struct {
  GpDigestAlgorithm algorithm;
  const char *hex;
  gsize hex_len;
} GpDigest;

GP_API gboolean gp_digest_parse (const char *s, gssize len, GpDigest *out, GError **error);
GP_API gboolean gp_digest_check_sha256 (const char *s, gssize len, GError **error);
GP_API gboolean gp_v1_id_is_valid (const char *s, gssize len);
GP_API gboolean gp_hex_is_lower (const char *s, gsize len);
GP_API gboolean gp_digest_prefix_term (const char *term, const char **out_hex);
GP_API char *gp_chain_id (const char *parent_chain_id, const char *diff_id);
GP_API char *gp_chain_id_for_list (const char *const *diff_ids, gsize n);

G_END_DECLS
