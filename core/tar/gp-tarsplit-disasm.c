/* graphpipe - tar-split disassembly: tar stream -> entries (§3.5).
 *
 * Reproduces vbatts/tar-split v0.9.11 (NewInputTarStream over its fork of
 * Go 1.5's archive/tar with raw accounting) as a push parser: the tar
 * stream arrives in arbitrary chunks and entries are written as soon as
 * they are known.  The states below correspond to the reads Go's reader
 * makes; "pending" is its raw-bytes buffer.
 */
#include "config.h"

#include "gp-tarsplit.h"

#include <string.h>

#include "gp-crc64.h"
#include "gp-error.h"

#define BLOCK 512

typedef enum {
  ST_HEADER,      /* reading a header block */
  ST_ZERO2,       /* reading the block after a zero block */
  ST_SPARSE_EXT,  /* reading an old GNU sparse extension block */
  ST_META,        /* reading PAX or GNU long name/link data */
  ST_CONTENT,     /* reading file content (checksummed, not recorded) */
  ST_SKIP,        /* unread content and padding: recorded raw */
  ST_REMAINDER,   /* after the end of the archive: recorded raw */
  ST_DONE,
} State;

typedef enum {
  META_PAX,
  META_LONGNAME,
  META_LONGLINK,
} MetaKind;

typedef struct {
  gint64 offset, num_bytes;
} SparseEntry;

struct _GpTarSplitDisassembler {
  GpTarSplitWriter *writer;
  GpSha256 sha;
  guint64 offset;     /* bytes pushed so far */
  gint64 size_sum;
  gboolean failed;
  GError *error;      /* the first failure, repeated to later calls */

  State state;
  guint8 block[BLOCK];
  gsize block_fill;
  GByteArray *pending;    /* raw bytes not yet emitted as a segment */

  /* the header being assembled */
  guint8 hdr[BLOCK];
  char typeflag;
  GByteArray *name;
  gint64 size;            /* hdr.Size (PAX size, sparse real size) */
  gint64 nb;              /* bytes of data that follow the header */
  gint64 pad;
  gboolean after_pax;
  int long_depth;
  gboolean have_long_name;
  GByteArray *long_name;
  gboolean have_pax_path, have_pax_size;
  GByteArray *pax_path;
  gint64 pax_size;
  gboolean pax_sparse;

  /* ST_META */
  MetaKind meta_kind;
  GByteArray *meta;
  gint64 meta_left;

  /* ST_CONTENT */
  gint64 content_left;    /* stored bytes left (regular file reader) */
  guint64 crc;
  gboolean sparse;
  GArray *sp;             /* SparseEntry */
  guint sp_idx;
  gint64 sp_pos;

  /* ST_SKIP */
  gint64 skip_left;
};

static const guint8 zero_block[BLOCK];

/**
 * gp_tar_split_disassembler_new:
 * @write: sink for the tar-split stream (the future `tar-split.json.gz`)
 * @user_data: data for @write
 * @flags: passed to gp_tar_split_writer_new()
 *
 * Creates a disassembler.  Push the tar stream with
 * gp_tar_split_disassembler_push(), then call
 * gp_tar_split_disassembler_finish().
 *
 * Returns: (transfer full): a disassembler; free with
 *   gp_tar_split_disassembler_free().
 *
 * Since: 0.1
 */
GpTarSplitDisassembler *
gp_tar_split_disassembler_new (GpWriteFunc write, gpointer user_data, GpTarSplitFlags flags)
{
  GpTarSplitDisassembler *d = g_new0 (GpTarSplitDisassembler, 1);

  d->writer = gp_tar_split_writer_new (write, user_data, flags);
  gp_sha256_init (&d->sha);
  d->pending = g_byte_array_new ();
  d->name = g_byte_array_new ();
  d->long_name = g_byte_array_new ();
  d->pax_path = g_byte_array_new ();
  d->meta = g_byte_array_new ();
  d->sp = g_array_new (FALSE, FALSE, sizeof (SparseEntry));
  d->state = ST_HEADER;
  return d;
}

/**
 * gp_tar_split_disassembler_free:
 * @disassembler: (nullable): a disassembler
 *
 * Frees @disassembler.
 */
void
gp_tar_split_disassembler_free (GpTarSplitDisassembler *disassembler)
{
  GpTarSplitDisassembler *d = disassembler;

  if (d == NULL)
    return;
  gp_tar_split_writer_free (d->writer);
  g_byte_array_unref (d->pending);
  g_byte_array_unref (d->name);
  g_byte_array_unref (d->long_name);
  g_byte_array_unref (d->pax_path);
  g_byte_array_unref (d->meta);
  g_array_unref (d->sp);
  g_clear_error (&d->error);
  g_free (d);
}

static gboolean
fail (GpTarSplitDisassembler *d, GError **error, gint code, const char *fmt, ...) G_GNUC_PRINTF (4, 5);

static gboolean
fail (GpTarSplitDisassembler *d, GError **error, gint code, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, GP_DATA_ERROR, code, "tar stream at byte %" G_GUINT64_FORMAT ": %s", d->offset, msg);
  return FALSE;
}

static gboolean
pending_append (GpTarSplitDisassembler *d, const guint8 *p, gsize n, GError **error)
{
  if (d->pending->len + n > GP_TAR_SPLIT_MAX_SEGMENT)
    return fail (d, error, GP_DATA_ERROR_SIZE, "raw segment larger than %d bytes", GP_TAR_SPLIT_MAX_SEGMENT);
  g_byte_array_append (d->pending, p, n);
  return TRUE;
}

static gboolean
emit_segment (GpTarSplitDisassembler *d, const guint8 *p, gsize n, GError **error)
{
  GpTarSplitEntry e = { GP_TAR_SPLIT_ENTRY_SEGMENT, "", 0, 0, p ? p : (const guint8 *) "", n, 0 };
  return gp_tar_split_writer_add (d->writer, &e, error);
}

static gboolean
emit_pending (GpTarSplitDisassembler *d, GError **error)
{
  if (d->pending->len == 0)
    return TRUE;
  gboolean ok = emit_segment (d, d->pending->data, d->pending->len, error);
  g_byte_array_set_size (d->pending, 0);
  return ok;
}

/* ---- numeric fields (Go 1.5 archive/tar Reader.octal) ---- */

static gint64
parse_numeric (const guint8 *b, gsize len, gboolean *err)
{
  if (len > 0 && (b[0] & 0x80))
    {
      guint64 x = 0;
      for (gsize i = 0; i < len; i++)
        x = (x << 8) | (i == 0 ? (b[i] & 0x7f) : b[i]);
      return (gint64) x;
    }
  gsize s = 0, e = len;
  while (s < e && (b[s] == ' ' || b[s] == 0))
    s++;
  while (e > s && (b[e - 1] == ' ' || b[e - 1] == 0))
    e--;
  if (s == e)
    return 0;
  const guint8 *nul = memchr (b + s, 0, e - s);
  if (nul)
    e = nul - b;
  guint64 x = 0;
  for (gsize i = s; i < e; i++)
    {
      if (b[i] < '0' || b[i] > '7' || (x >> 61) != 0)
        {
          *err = TRUE;
          return 0;
        }
      x = x * 8 + (b[i] - '0');
    }
  return (gint64) x;
}

static gsize
cstring_len (const guint8 *b, gsize len)
{
  const guint8 *nul = memchr (b, 0, len);
  return nul ? (gsize) (nul - b) : len;
}

static gboolean
checksum_ok (const guint8 *h)
{
  gboolean err = FALSE;
  gint64 given = parse_numeric (h + 148, 8, &err);
  gint64 u = 0, s = 0;

  for (int i = 0; i < BLOCK; i++)
    {
      guint8 c = (i >= 148 && i < 156) ? ' ' : h[i];
      u += c;
      s += (gint8) c;
    }
  return !err && (given == u || given == s);
}

/* ---- PAX ---- */

static gboolean
parse_pax (GpTarSplitDisassembler *d, const guint8 *buf, gsize len, GError **error)
{
  d->have_pax_path = d->have_pax_size = d->pax_sparse = FALSE;
  gboolean sp_major = FALSE, sp_minor = FALSE, sp_name = FALSE, sp_map = FALSE;

  while (len > 0)
    {
      const guint8 *sp = memchr (buf, ' ', len);
      if (sp == NULL)
        return fail (d, error, GP_DATA_ERROR_TAR, "invalid PAX record");
      gsize digits = sp - buf;
      gint64 n = 0;
      gsize first = digits > 0 && buf[0] == '+' ? 1 : 0;   /* ParseInt takes a sign */
      if (digits == first || digits > 18)
        return fail (d, error, GP_DATA_ERROR_TAR, "invalid PAX record length");
      for (gsize i = first; i < digits; i++)
        {
          if (!g_ascii_isdigit (buf[i]))
            return fail (d, error, GP_DATA_ERROR_TAR, "invalid PAX record length");
          n = n * 10 + (buf[i] - '0');
        }
      if (n < 5 || (gint64) len < n || (gint64) digits + 1 > n - 1)
        return fail (d, error, GP_DATA_ERROR_TAR, "invalid PAX record length");
      const guint8 *rec = sp + 1;
      gsize rec_len = (buf + n - 1) - rec;
      const guint8 *eq = memchr (rec, '=', rec_len);
      if (eq == NULL)
        return fail (d, error, GP_DATA_ERROR_TAR, "invalid PAX record");
      gsize klen = eq - rec;
      const guint8 *val = eq + 1;
      gsize vlen = rec_len - klen - 1;
#define KEY_IS(k) (klen == strlen (k) && memcmp (rec, k, klen) == 0)
      if (KEY_IS ("path"))
        {
          g_byte_array_set_size (d->pax_path, 0);
          g_byte_array_append (d->pax_path, val, vlen);
          d->have_pax_path = TRUE;
        }
      else if (KEY_IS ("size"))
        {
          /* strconv.ParseInt (v, 10, 0); an invalid value is ignored */
          g_autofree char *v = g_strndup ((const char *) val, vlen);
          gint64 x;
          if (strlen (v) == vlen && g_ascii_string_to_signed (v, 10, G_MININT64, G_MAXINT64, &x, NULL))
            {
              d->pax_size = x;
              d->have_pax_size = TRUE;
            }
        }
      else if (KEY_IS ("GNU.sparse.major"))
        sp_major = TRUE;
      else if (KEY_IS ("GNU.sparse.minor"))
        sp_minor = TRUE;
      else if (KEY_IS ("GNU.sparse.name"))
        sp_name = TRUE;
      else if (KEY_IS ("GNU.sparse.map") || KEY_IS ("GNU.sparse.offset") || KEY_IS ("GNU.sparse.numbytes"))
        sp_map = TRUE;
      else if (KEY_IS ("GNU.sparse.size"))
        d->pax_sparse = TRUE;
#undef KEY_IS
      buf += n;
      len -= n;
    }
  if ((sp_major && sp_minor) || (sp_name && sp_map))
    d->pax_sparse = TRUE;
  return TRUE;
}

/* ---- per-header processing ---- */

static void
reset_next (GpTarSplitDisassembler *d)
{
  d->after_pax = FALSE;
  d->long_depth = 0;
  d->have_long_name = FALSE;
  d->have_pax_path = d->have_pax_size = d->pax_sparse = FALSE;
}

static gboolean
add_sparse (GpTarSplitDisassembler *d, const guint8 *p, int count, GError **error)
{
  for (int i = 0; i < count; i++)
    {
      gboolean err = FALSE;
      SparseEntry e;
      e.offset = parse_numeric (p + 24 * i, 12, &err);
      e.num_bytes = parse_numeric (p + 24 * i + 12, 12, &err);
      if (err)
        return fail (d, error, GP_DATA_ERROR_TAR, "invalid sparse map");
      if (e.offset == 0 && e.num_bytes == 0)
        break;
      if (e.offset < 0 || e.num_bytes < 0)
        return fail (d, error, GP_DATA_ERROR_TAR, "invalid sparse map");
      g_array_append_val (d->sp, e);
    }
  return TRUE;
}

static gboolean start_content (GpTarSplitDisassembler *d, GError **error);

/* A header block (not zero) has been read and recorded in pending. */
static gboolean
handle_header (GpTarSplitDisassembler *d, GError **error)
{
  const guint8 *h = d->block;
  gboolean err = FALSE;

  memcpy (d->hdr, h, BLOCK);
  if (!checksum_ok (h))
    return fail (d, error, GP_DATA_ERROR_TAR, "invalid tar header checksum");

  g_byte_array_set_size (d->name, 0);
  g_byte_array_append (d->name, h, cstring_len (h, 100));
  parse_numeric (h + 100, 8, &err);   /* mode */
  parse_numeric (h + 108, 8, &err);   /* uid */
  parse_numeric (h + 116, 8, &err);   /* gid */
  d->size = parse_numeric (h + 124, 12, &err);
  if (!err && d->size < 0)
    return fail (d, error, GP_DATA_ERROR_TAR, "negative size in tar header");
  parse_numeric (h + 136, 12, &err);  /* mtime */
  d->typeflag = h[156];

  gboolean ustar = memcmp (h + 257, "ustar\0", 6) == 0;
  gboolean star = ustar && memcmp (h + 508, "tar\0", 4) == 0;
  gboolean gnu = memcmp (h + 257, "ustar  \0", 8) == 0;
  if (ustar || gnu)
    {
      if (d->typeflag == '3' || d->typeflag == '4')
        {
          parse_numeric (h + 329, 8, &err);
          parse_numeric (h + 337, 8, &err);
        }
      gsize plen;
      if (star)
        {
          plen = cstring_len (h + 345, 131);
          parse_numeric (h + 476, 12, &err);
          parse_numeric (h + 488, 12, &err);
        }
      else
        plen = cstring_len (h + 345, 155);
      if (plen > 0)
        {
          g_byte_array_prepend (d->name, (const guint8 *) "/", 1);
          g_byte_array_prepend (d->name, h + 345, plen);
        }
    }
  if (err)
    return fail (d, error, GP_DATA_ERROR_TAR, "invalid number in tar header");

  d->nb = d->size;
  d->pad = (-d->nb) & (BLOCK - 1);
  d->sparse = FALSE;
  g_array_set_size (d->sp, 0);

  if (d->typeflag == 'S')
    {
      d->size = parse_numeric (h + 483, 12, &err);
      if (!add_sparse (d, h + 386, 4, error))
        return FALSE;
      if (err)
        return fail (d, error, GP_DATA_ERROR_TAR, "invalid number in tar header");
      d->sparse = TRUE;
      if (h[482] != 0)
        {
          d->state = ST_SPARSE_EXT;
          d->block_fill = 0;
          return TRUE;
        }
    }
  return start_content (d, error);
}

/* The header (and any sparse extension) is complete. */
static gboolean
start_content (GpTarSplitDisassembler *d, GError **error)
{
  if (!d->after_pax && (d->typeflag == 'x' || d->typeflag == 'L' || d->typeflag == 'K'))
    {
      d->meta_kind = d->typeflag == 'x' ? META_PAX : d->typeflag == 'L' ? META_LONGNAME : META_LONGLINK;
      if (d->nb > GP_TAR_SPLIT_MAX_SEGMENT)
        return fail (d, error, GP_DATA_ERROR_SIZE, "extended header data larger than %d bytes", GP_TAR_SPLIT_MAX_SEGMENT);
      g_byte_array_set_size (d->meta, 0);
      d->meta_left = d->nb;
      d->state = ST_META;
      return TRUE;
    }

  /* A header that Next() returns. */
  if (d->after_pax)
    {
      if (d->pax_sparse)
        return fail (d, error, GP_DATA_ERROR_UNSUPPORTED, "PAX GNU sparse files are not supported");
      if (d->have_pax_path)
        {
          g_byte_array_set_size (d->name, 0);
          g_byte_array_append (d->name, d->pax_path->data, d->pax_path->len);
        }
      if (d->have_pax_size)
        d->size = d->pax_size;
    }
  if (d->have_long_name)
    {
      g_byte_array_set_size (d->name, 0);
      g_byte_array_append (d->name, d->long_name->data, d->long_name->len);
    }
  if (d->size < 0 || d->size > GP_TAR_SPLIT_MAX_SIZE)
    return fail (d, error, GP_DATA_ERROR_TAR, "invalid size %" G_GINT64_FORMAT, d->size);
  reset_next (d);
  if (!emit_pending (d, error))
    return FALSE;

  if (d->size > 0)
    {
      d->crc = 0;
      d->content_left = d->nb;
      d->sp_idx = 0;
      d->sp_pos = 0;
      d->state = ST_CONTENT;
      return TRUE;
    }

  GpTarSplitEntry e = { GP_TAR_SPLIT_ENTRY_FILE, (const char *) d->name->data, d->name->len, 0, NULL, 0, 0 };
  if (!gp_tar_split_writer_add (d->writer, &e, error))
    return FALSE;
  d->skip_left = d->nb + d->pad;
  d->state = ST_SKIP;
  return TRUE;
}

static gboolean
finish_content (GpTarSplitDisassembler *d, GError **error)
{
  guint8 crc[8];

  gp_crc64_to_bytes (d->crc, crc);
  GpTarSplitEntry e = { GP_TAR_SPLIT_ENTRY_FILE, (const char *) d->name->data, d->name->len, d->size, crc, 8, 0 };
  if (!gp_tar_split_writer_add (d->writer, &e, error))
    return FALSE;
  d->size_sum += d->size;
  d->skip_left = d->content_left + d->pad;
  d->state = ST_SKIP;
  return TRUE;
}

static void
crc_zeros (GpTarSplitDisassembler *d, gint64 n)
{
  static const guint8 zeros[64 * 1024];
  while (n > 0)
    {
      gsize k = (gsize) MIN (n, (gint64) sizeof zeros);
      d->crc = gp_crc64_update (d->crc, zeros, k);
      n -= k;
    }
}

/* Sparse expansion (Go 1.5 sparseFileReader): holes and data fragments in
 * map order up to the real size.  Consumes from @p as data is needed.
 * Returns the bytes consumed; sets *done when the content is complete. */
static gboolean
sparse_step (GpTarSplitDisassembler *d, const guint8 *p, gsize len, gsize *used, gboolean *done, GError **error)
{
  *used = 0;
  *done = FALSE;
  for (;;)
    {
      if (d->sp_idx >= d->sp->len)
        {
          if (d->sp_pos < d->size)
            {
              crc_zeros (d, d->size - d->sp_pos);
              d->sp_pos = d->size;
            }
          *done = TRUE;
          return TRUE;
        }
      SparseEntry *e = &g_array_index (d->sp, SparseEntry, d->sp_idx);
      if (d->size < e->offset)
        return fail (d, error, GP_DATA_ERROR_TAR, "sparse map beyond the file size");
      if (d->sp_pos < e->offset)
        {
          crc_zeros (d, e->offset - d->sp_pos);
          d->sp_pos = e->offset;
          continue;
        }
      gint64 left = e->num_bytes - (d->sp_pos - e->offset);
      if (left < 0)
        return fail (d, error, GP_DATA_ERROR_TAR, "overlapping sparse map");
      if (left == 0)
        {
          d->sp_idx++;
          continue;
        }
      if (d->content_left == 0)
        {
          if (d->sp_pos >= d->size)
            {
              *done = TRUE;
              return TRUE;
            }
          return fail (d, error, GP_DATA_ERROR_TAR, "sparse data shorter than its map");
        }
      if (*used == len)
        return TRUE;   /* need more input */
      gsize n = (gsize) MIN (MIN (left, d->content_left), (gint64) (len - *used));
      d->crc = gp_crc64_update (d->crc, p + *used, n);
      d->sp_pos += n;
      d->content_left -= n;
      *used += n;
    }
}

/* At the end of the archive: everything else is the final segment. */
static gboolean
enter_remainder (GpTarSplitDisassembler *d, GError **error)
{
  if (!emit_pending (d, error))
    return FALSE;
  d->state = ST_REMAINDER;
  return TRUE;
}

/* States that can advance without further input. */
static gboolean
can_advance (GpTarSplitDisassembler *d)
{
  switch (d->state)
    {
    case ST_CONTENT:
      return d->sparse || d->content_left == 0;
    case ST_META:
      return d->meta_left == 0;
    case ST_SKIP:
      return d->skip_left == 0;
    default:
      return FALSE;
    }
}

static gboolean
push (GpTarSplitDisassembler *d, const guint8 *p, gsize len, GError **error)
{
  while (len > 0 || can_advance (d))
    {
      gsize n = 0;
      switch (d->state)
        {
        case ST_HEADER:
        case ST_ZERO2:
        case ST_SPARSE_EXT:
          n = MIN (len, BLOCK - d->block_fill);
          memcpy (d->block + d->block_fill, p, n);
          d->block_fill += n;
          if (d->block_fill == BLOCK)
            {
              d->block_fill = 0;
              if (!pending_append (d, d->block, BLOCK, error))
                return FALSE;
              if (d->state == ST_SPARSE_EXT)
                {
                  if (!add_sparse (d, d->block, 21, error))
                    return FALSE;
                  if (d->block[504] == 0 && !start_content (d, error))
                    return FALSE;
                }
              else if (memcmp (d->block, zero_block, BLOCK) == 0)
                {
                  if (d->state == ST_ZERO2)
                    {
                      if (d->long_depth > 0)
                        return fail (d, error, GP_DATA_ERROR_TAR, "end of archive right after a GNU long name header");
                      if (!enter_remainder (d, error))
                        return FALSE;
                    }
                  else
                    d->state = ST_ZERO2;
                }
              else if (d->state == ST_ZERO2)
                return fail (d, error, GP_DATA_ERROR_TAR, "a zero block followed by a non-zero block");
              else if (!handle_header (d, error))
                return FALSE;
            }
          break;

        case ST_META:
          n = (gsize) MIN ((gint64) len, d->meta_left);
          g_byte_array_append (d->meta, p, n);
          d->meta_left -= n;
          if (d->meta_left == 0)
            {
              if (!pending_append (d, d->meta->data, d->meta->len, error))
                return FALSE;
              if (d->meta_kind == META_PAX)
                {
                  if (!parse_pax (d, d->meta->data, d->meta->len, error))
                    return FALSE;
                  d->after_pax = TRUE;
                }
              else
                {
                  if (d->meta_kind == META_LONGNAME && !d->have_long_name)
                    {
                      g_byte_array_set_size (d->long_name, 0);
                      g_byte_array_append (d->long_name, d->meta->data, cstring_len (d->meta->data, d->meta->len));
                      d->have_long_name = TRUE;
                    }
                  d->long_depth++;
                }
              d->skip_left = d->pad;
              d->state = ST_SKIP;
            }
          break;

        case ST_CONTENT:
          if (d->sparse)
            {
              gboolean done;
              if (!sparse_step (d, p, len, &n, &done, error))
                return FALSE;
              if (done && !finish_content (d, error))
                return FALSE;
              if (!done && n == 0 && len == 0)
                return TRUE;
            }
          else
            {
              n = (gsize) MIN ((gint64) len, d->content_left);
              d->crc = gp_crc64_update (d->crc, p, n);
              d->content_left -= n;
              if (d->content_left == 0 && !finish_content (d, error))
                return FALSE;
            }
          break;

        case ST_SKIP:
          n = (gsize) MIN ((gint64) len, d->skip_left);
          if (!pending_append (d, p, n, error))
            return FALSE;
          d->skip_left -= n;
          if (d->skip_left == 0)
            {
              d->state = ST_HEADER;
              d->block_fill = 0;
            }
          break;

        case ST_REMAINDER:
          n = len;
          if (!pending_append (d, p, n, error))
            return FALSE;
          break;

        case ST_DONE:
        default:
          g_assert_not_reached ();
        }
      p += n;
      len -= n;
      d->offset += n;
    }
  return TRUE;
}

/**
 * gp_tar_split_disassembler_push:
 * @disassembler: (type GpTarSplitDisassembler): a disassembler
 * @buf: the next bytes of the tar stream
 * @len: their number (may be 0)
 * @error: return location for a #GError
 *
 * Feeds tar bytes.  The signature is that of #GpWriteFunc, so a tar
 * producer can write straight into the disassembler.  After a failure
 * every further call fails with the same error.
 *
 * Errors (%GP_DATA_ERROR_TAR unless noted): bad header checksum, a zero
 * block followed by a non-zero block, a negative size, invalid numbers or
 * PAX records, a duplicate file path (%GP_DATA_ERROR_TARSPLIT), a raw
 * segment above %GP_TAR_SPLIT_MAX_SEGMENT (%GP_DATA_ERROR_SIZE), PAX
 * sparse files (%GP_DATA_ERROR_UNSUPPORTED), and errors of the sink.
 *
 * Returns: %TRUE on success; %FALSE with @error set.
 *
 * Since: 0.1
 */
gboolean
gp_tar_split_disassembler_push (gpointer disassembler, const void *buf, gsize len, GError **error)
{
  GpTarSplitDisassembler *d = disassembler;
  GError *local = NULL;

  if (d->failed)
    {
      g_propagate_error (error, g_error_copy (d->error));
      return FALSE;
    }
  g_return_val_if_fail (d->state != ST_DONE, FALSE);
  gp_sha256_update (&d->sha, buf, len);
  guint64 start = d->offset;
  if (!push (d, buf, len, &local))
    {
      d->failed = TRUE;
      d->error = g_error_copy (local);
      g_propagate_error (error, local);
      return FALSE;
    }
  g_assert (d->offset == start + len);
  return TRUE;
}

/**
 * gp_tar_split_disassembler_finish:
 * @disassembler: a disassembler
 * @out_stats: (out caller-allocates) (optional): tar size, sum of file
 *   sizes (§3.6), number of entries and DiffID; set on success only
 * @error: return location for a #GError
 *
 * Ends the tar stream: handles the end of input as v0.9.11 does (§3.5,
 * including discarding the pending raw bytes when the input ends at a
 * header boundary), writes the final remainder segment (always, even
 * empty) and finishes the tar-split stream.  Input that ends inside a
 * header, file content or extended header data fails with
 * %GP_DATA_ERROR_TAR.
 *
 * Returns: %TRUE on success; %FALSE with @error set.
 *
 * Since: 0.1
 */
gboolean
gp_tar_split_disassembler_finish (GpTarSplitDisassembler *disassembler, GpTarSplitStats *out_stats, GError **error)
{
  GpTarSplitDisassembler *d = disassembler;

  if (d->failed)
    {
      g_propagate_error (error, g_error_copy (d->error));
      return FALSE;
    }
  g_return_val_if_fail (d->state != ST_DONE, FALSE);
  d->failed = TRUE;   /* until proven otherwise */

  switch (d->state)
    {
    case ST_HEADER:
    case ST_ZERO2:
      if (d->block_fill > 0)
        return fail (d, error, GP_DATA_ERROR_TAR, "unexpected end of data in a tar header");
      if (d->long_depth > 0)
        return fail (d, error, GP_DATA_ERROR_TAR, "unexpected end of data after a GNU long name header");
      /* Quirk: end of input at a header boundary drops the pending bytes. */
      g_byte_array_set_size (d->pending, 0);
      break;
    case ST_SPARSE_EXT:
      if (d->block_fill > 0 || d->long_depth > 0)
        return fail (d, error, GP_DATA_ERROR_TAR, "unexpected end of data in a sparse header");
      if (!emit_pending (d, error))
        return FALSE;
      break;
    case ST_SKIP:
      if (d->long_depth > 0)
        return fail (d, error, GP_DATA_ERROR_TAR, "unexpected end of data after a GNU long name header");
      if (!emit_pending (d, error))
        return FALSE;
      break;
    case ST_META:
      return fail (d, error, GP_DATA_ERROR_TAR, "unexpected end of data in an extended header");
    case ST_CONTENT:
      return fail (d, error, GP_DATA_ERROR_TAR, "unexpected end of data in the content of \"%.*s\"",
                   (int) d->name->len, (const char *) d->name->data);
    case ST_REMAINDER:
      break;
    case ST_DONE:
    default:
      g_assert_not_reached ();
    }

  /* The remainder: whatever followed, as one segment, even if empty. */
  if (!emit_segment (d, d->pending->data, d->pending->len, error))
    return FALSE;
  g_byte_array_set_size (d->pending, 0);
  if (!gp_tar_split_writer_finish (d->writer, error))
    return FALSE;

  d->state = ST_DONE;
  d->failed = FALSE;
  if (out_stats)
    {
      out_stats->tar_size = d->offset;
      out_stats->size = d->size_sum;
      out_stats->n_entries = gp_tar_split_writer_get_n_entries (d->writer);
      gp_sha256_finish_digest (&d->sha, out_stats->diff_id);
    }
  return TRUE;
}
