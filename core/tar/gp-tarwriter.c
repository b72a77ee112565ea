/* graphpipe - tar header writer, byte-compatible with Go 1.5's archive/tar. */
#include "config.h"

#include "gp-tarwriter.h"

#include "gp-error.h"

#include <string.h>

#define NAME_SIZE   100
#define PREFIX_SIZE 155
#define COPY_CHUNK  (128 * 1024)
/* Go 1.5 writes 0 for times outside [1970-01-01, 1970 + 2^33-1 s]. */
#define MAX_MTIME   ((G_GINT64_CONSTANT (1) << 33) - 1)

struct _GpTarWriter {
  GpWriteFunc write_func;
  gpointer    user_data;
  guint64     remaining;   /* content bytes still expected for the entry */
  guint64     pad;         /* padding due after the entry's content */
  guint64     offset;      /* bytes handed to write_func so far */
  gboolean    used_binary; /* sticky: base-256 used -> GNU magic */
  gboolean    closed;
  gboolean    failed;
  guint8     *chunk;       /* copy buffer, allocated on first use */
};

static const guint8 zero_block[GP_TAR_BLOCK_SIZE];

/**
 * gp_tar_writer_new:
 * @write_func: (scope notified): consumer of the tar bytes
 * @user_data: passed to @write_func
 *
 * Creates a writer producing a tar stream the way Go 1.5's archive/tar
 * writer does (FORMATS.md §7.5/§7.6).
 *
 * Returns: (transfer full): a new writer; free with gp_tar_writer_free()
 * Since: 0.1
 */
GpTarWriter *
gp_tar_writer_new (GpWriteFunc write_func, gpointer user_data)
{
  g_return_val_if_fail (write_func != NULL, NULL);

  GpTarWriter *writer = g_new0 (GpTarWriter, 1);
  writer->write_func = write_func;
  writer->user_data = user_data;
  return writer;
}

/**
 * gp_tar_writer_free:
 * @writer: (nullable) (transfer full): a writer
 *
 * Frees the writer.  It does not write the end-of-archive blocks: call
 * gp_tar_writer_close() first for a complete archive.
 *
 * Since: 0.1
 */
void
gp_tar_writer_free (GpTarWriter *writer)
{
  if (writer == NULL)
    return;
  g_free (writer->chunk);
  g_free (writer);
}

/**
 * gp_tar_writer_get_offset:
 * @writer: a writer
 *
 * Returns: the number of bytes emitted so far (headers, PAX data, content,
 *   padding and, after closing, the end-of-archive blocks)
 * Since: 0.1
 */
guint64
gp_tar_writer_get_offset (GpTarWriter *writer)
{
  g_return_val_if_fail (writer != NULL, 0);
  return writer->offset;
}

static gboolean
emit (GpTarWriter *writer, const void *buf, gsize len, GError **error)
{
  if (len == 0)
    return TRUE;
  if (!writer->write_func (writer->user_data, buf, len, error))
    {
      writer->failed = TRUE;
      return FALSE;
    }
  writer->offset += len;
  return TRUE;
}

static gboolean
check_usable (GpTarWriter *writer, GError **error)
{
  if (writer->failed)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "tar writer: an earlier write failed");
      return FALSE;
    }
  if (writer->closed)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                   "tar writer: write after close");
      return FALSE;
    }
  return TRUE;
}

/* Go's Writer.Flush: the previous entry must be complete; then pad. */
static gboolean
flush_entry (GpTarWriter *writer, GError **error)
{
  if (writer->remaining > 0)
    {
      writer->failed = TRUE;
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                   "tar writer: missed writing %" G_GUINT64_FORMAT " bytes",
                   writer->remaining);
      return FALSE;
    }
  if (!emit (writer, zero_block, writer->pad, error))
    return FALSE;
  writer->pad = 0;
  return TRUE;
}

static gboolean
is_ascii (const char *s)
{
  for (; *s; s++)
    if ((guchar) *s >= 0x80)
      return FALSE;
  return TRUE;
}

/* Number of octal digits Go's strconv.FormatInt (x, 8) prints, x >= 0. */
static gsize
octal_digits (guint64 x)
{
  gsize n = 1;
  while (x >= 8)
    {
      x >>= 3;
      n++;
    }
  return n;
}

/* Go's Writer.octal: zero-padded to (n - 1) digits followed by NUL; a value
 * of exactly n digits fills the field without NUL; more is an error. */
static gboolean
put_octal (guint8 *b, gsize n, guint64 x)
{
  gsize digits = octal_digits (x);
  if (digits > n)
    return FALSE;
  gsize width = MAX (digits, n - 1);
  for (gsize i = width; i-- > 0;)
    {
      b[i] = '0' + (x & 7);
      x >>= 3;
    }
  if (width < n)
    b[width] = '\0';
  return TRUE;
}

/* Go's Writer.numeric without PAX preference: octal when the digits leave
 * room for the NUL, else base-256 big-endian with the high bit set. */
static void
put_numeric (GpTarWriter *writer, guint8 *b, gsize n, guint64 x)
{
  if (octal_digits (x) < n)
    {
      put_octal (b, n, x);
      return;
    }
  writer->used_binary = TRUE;
  for (gsize i = n; i-- > 0 && x > 0;)
    {
      b[i] = (guint8) x;
      x >>= 8;
    }
  b[0] |= 0x80;
}

/* Go's Writer.cString for a field that may spill into PAX: returns TRUE
 * when the value was placed in the field, FALSE when it needs PAX. */
static gboolean
put_string (guint8 *b, gsize n, const char *s)
{
  gsize len = strlen (s);
  if (len > n || !is_ascii (s))
    return FALSE;
  memcpy (b, s, len);
  return TRUE;
}

/* Go's splitUSTARLongName. */
static gboolean
split_long_name (const char *name, gsize *out_split)
{
  gsize len = strlen (name);
  gsize length = len;
  if (length > PREFIX_SIZE + 1)
    length = PREFIX_SIZE + 1;
  else if (name[length - 1] == '/')
    length--;

  gssize i = -1;
  for (gsize k = length; k-- > 0;)
    if (name[k] == '/')
      {
        i = (gssize) k;
        break;
      }
  if (i <= 0)
    return FALSE;
  gsize nlen = len - (gsize) i - 1;
  gsize plen = (gsize) i;
  if (nlen > NAME_SIZE || nlen == 0 || plen > PREFIX_SIZE)
    return FALSE;
  *out_split = (gsize) i;
  return TRUE;
}

static guint
header_checksum (const guint8 *h)
{
  guint sum = 0;
  for (gsize i = 0; i < GP_TAR_BLOCK_SIZE; i++)
    sum += (i >= 148 && i < 156) ? ' ' : h[i];
  return sum;
}

/* Go's path.Clean. */
static char *
go_path_clean (const char *path)
{
  gsize n = strlen (path);
  if (n == 0)
    return g_strdup (".");

  gboolean rooted = path[0] == '/';
  GString *out = g_string_sized_new (n + 1);
  gsize r = 0, dotdot = 0;
  if (rooted)
    {
      g_string_append_c (out, '/');
      r = dotdot = 1;
    }
  while (r < n)
    {
      if (path[r] == '/')
        r++;
      else if (path[r] == '.' && (r + 1 == n || path[r + 1] == '/'))
        r++;
      else if (path[r] == '.' && path[r + 1] == '.'
               && (r + 2 == n || path[r + 2] == '/'))
        {
          r += 2;
          if (out->len > dotdot)
            {
              gsize w = out->len - 1;
              while (w > dotdot && out->str[w] != '/')
                w--;
              g_string_truncate (out, w);
            }
          else if (!rooted)
            {
              if (out->len > 0)
                g_string_append_c (out, '/');
              g_string_append (out, "..");
              dotdot = out->len;
            }
        }
      else
        {
          if ((rooted && out->len != 1) || (!rooted && out->len != 0))
            g_string_append_c (out, '/');
          for (; r < n && path[r] != '/'; r++)
            g_string_append_c (out, path[r]);
        }
    }
  if (out->len == 0)
    g_string_append_c (out, '.');
  return g_string_free (out, FALSE);
}

/* Name of the PAX extended header entry for @name: Go's
 * path.Join (dir, "PaxHeaders.0", file), non-ASCII bytes dropped,
 * truncated to 100 bytes. */
static char *
pax_entry_name (const char *name)
{
  const char *slash = strrchr (name, '/');
  gsize dir_len = slash ? (gsize) (slash - name) + 1 : 0;
  const char *file = name + dir_len;

  g_autoptr(GString) joined = g_string_new (NULL);
  g_string_append_len (joined, name, dir_len);
  if (joined->len > 0)
    g_string_append_c (joined, '/');
  g_string_append (joined, "PaxHeaders.0");
  if (*file)
    {
      g_string_append_c (joined, '/');
      g_string_append (joined, file);
    }
  g_autofree char *clean = go_path_clean (joined->str);

  GString *ascii = g_string_new (NULL);
  for (const char *p = clean; *p; p++)
    if ((guchar) *p < 0x80)
      g_string_append_c (ascii, *p);
  if (ascii->len > NAME_SIZE)
    g_string_truncate (ascii, NAME_SIZE);
  return g_string_free (ascii, FALSE);
}

typedef struct {
  const char *key;     /* "path", ..., or the xattr name */
  gboolean    xattr;
  const char *value;
  gsize       value_len;
} PaxRecord;

static char *
pax_full_key (const PaxRecord *rec)
{
  return rec->xattr ? g_strconcat ("SCHILY.xattr.", rec->key, NULL)
                    : g_strdup (rec->key);
}

static int
pax_record_cmp (gconstpointer a, gconstpointer b)
{
  g_autofree char *ka = pax_full_key (a);
  g_autofree char *kb = pax_full_key (b);
  return strcmp (ka, kb);
}

/* Go's paxHeader(): "<len> <key>=<value>\n", len counting itself. */
static void
append_pax_record (GByteArray *body, const char *key, const char *value,
                   gsize value_len)
{
  gsize msg_len = strlen (key) + 1 + value_len;
  gsize size = msg_len + 2;
  char digits[32];
  size += (gsize) g_snprintf (digits, sizeof digits, "%" G_GSIZE_FORMAT, size);
  gsize total = msg_len + 2 + (gsize) g_snprintf (digits, sizeof digits,
                                                  "%" G_GSIZE_FORMAT, size);
  if (total != size)
    size = total;
  g_snprintf (digits, sizeof digits, "%" G_GSIZE_FORMAT " ", size);
  g_byte_array_append (body, (const guint8 *) digits, strlen (digits));
  g_byte_array_append (body, (const guint8 *) key, strlen (key));
  g_byte_array_append (body, (const guint8 *) "=", 1);
  g_byte_array_append (body, (const guint8 *) value, value_len);
  g_byte_array_append (body, (const guint8 *) "\n", 1);
}

static guint64
clamp_mtime (const GpTarHeader *hdr)
{
  if (hdr->mtime < 0 || hdr->mtime > MAX_MTIME
      || (hdr->mtime == MAX_MTIME && hdr->mtime_nsec > 0))
    return 0;
  return (guint64) hdr->mtime;
}

/* Builds one 512-byte header into @h (Go's writeHeader up to the checksum)
 * and collects the fields that need PAX into @pax. */
static gboolean
build_header (GpTarWriter       *writer,
              const GpTarHeader *hdr,
              guint8            *h,
              GArray            *pax,
              GError           **error)
{
  const char *linkname = hdr->linkname ? hdr->linkname : "";
  const char *uname = hdr->uname ? hdr->uname : "";
  const char *gname = hdr->gname ? hdr->gname : "";

  memset (h, 0, GP_TAR_BLOCK_SIZE);

  if (hdr->mode < 0 || hdr->uid < 0 || hdr->gid < 0 || hdr->size < 0
      || hdr->devmajor < 0 || hdr->devminor < 0)
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "tar writer: %s: negative header value", hdr->name);
      return FALSE;
    }

  gboolean path_pax = !put_string (h, NAME_SIZE, hdr->name);
  if (path_pax)
    g_array_append_val (pax, ((PaxRecord) { "path", FALSE, hdr->name,
                                            strlen (hdr->name) }));

  if (!put_octal (h + 100, 8, (guint64) hdr->mode))
    {
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_INVALID,
                   "tar writer: %s: mode %" G_GINT64_MODIFIER "o does not fit",
                   hdr->name, hdr->mode);
      return FALSE;
    }
  put_numeric (writer, h + 108, 8, (guint64) hdr->uid);
  put_numeric (writer, h + 116, 8, (guint64) hdr->gid);
  put_numeric (writer, h + 124, 12, (guint64) hdr->size);
  put_numeric (writer, h + 136, 12, clamp_mtime (hdr));
  h[156] = (guint8) hdr->typeflag;

  if (!put_string (h + 157, 100, linkname))
    g_array_append_val (pax, ((PaxRecord) { "linkpath", FALSE, linkname,
                                            strlen (linkname) }));
  memcpy (h + 257, "ustar\0" "00", 8);
  if (!put_string (h + 265, 32, uname))
    g_array_append_val (pax, ((PaxRecord) { "uname", FALSE, uname,
                                            strlen (uname) }));
  if (!put_string (h + 297, 32, gname))
    g_array_append_val (pax, ((PaxRecord) { "gname", FALSE, gname,
                                            strlen (gname) }));
  put_numeric (writer, h + 329, 8, (guint64) hdr->devmajor);
  put_numeric (writer, h + 337, 8, (guint64) hdr->devminor);

  if (writer->used_binary)
    memcpy (h + 257, "ustar  \0", 8);

  /* Only the name is the problem: try the ustar prefix/name split. */
  gsize split;
  if (path_pax && pax->len == 1 && strlen (hdr->name) > NAME_SIZE
      && is_ascii (hdr->name) && split_long_name (hdr->name, &split))
    {
      g_array_set_size (pax, 0);
      memcpy (h, hdr->name + split + 1, strlen (hdr->name) - split - 1);
      memcpy (h + 345, hdr->name, split);
    }

  /* "%06o\0 " */
  put_octal (h + 148, 7, header_checksum (h));
  h[155] = ' ';
  return TRUE;
}

/**
 * gp_tar_writer_write_header:
 * @writer: a writer
 * @header: the entry's values
 * @error: return location for a #GError
 *
 * Completes the previous entry (its content must have been written in
 * full; padding is added here) and writes the header of a new entry,
 * preceded by a PAX extended header when a name, link name, user or group
 * name does not fit or is not ASCII, or when @header has xattrs.  Content
 * of @header->size bytes must follow through gp_tar_writer_write_data() or
 * gp_tar_writer_copy_fd().
 *
 * Returns: %TRUE on success; %FALSE with @error set (%GP_DATA_ERROR_SIZE
 *   when the previous entry is incomplete, %GP_DATA_ERROR_INVALID for a
 *   value no tar field can hold, or the write callback's error).  After a
 *   failure the writer refuses further writes.
 * Since: 0.1
 */
gboolean
gp_tar_writer_write_header (GpTarWriter       *writer,
                            const GpTarHeader *header,
                            GError           **error)
{
  g_return_val_if_fail (writer != NULL, FALSE);
  g_return_val_if_fail (header != NULL && header->name != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_usable (writer, error) || !flush_entry (writer, error))
    return FALSE;

  guint8 h[GP_TAR_BLOCK_SIZE];
  g_autoptr(GArray) pax = g_array_new (FALSE, FALSE, sizeof (PaxRecord));
  if (!build_header (writer, header, h, pax, error))
    {
      writer->failed = TRUE;
      return FALSE;
    }

  for (gsize i = 0; i < header->n_xattrs; i++)
    {
      const GpTarXattr *x = &header->xattrs[i];
      g_array_append_val (pax, ((PaxRecord) { x->key, TRUE,
                                              (const char *) x->value,
                                              x->value_len }));
    }

  if (pax->len > 0)
    {
      g_array_sort (pax, pax_record_cmp);
      g_autoptr(GByteArray) body = g_byte_array_new ();
      for (guint i = 0; i < pax->len; i++)
        {
          const PaxRecord *rec = &g_array_index (pax, PaxRecord, i);
          g_autofree char *key = pax_full_key (rec);
          append_pax_record (body, key, rec->value, rec->value_len);
        }

      g_autofree char *ext_name = pax_entry_name (header->name);
      GpTarHeader ext = {
        .name = ext_name,
        .size = body->len,
        .mtime = header->mtime,
        .mtime_nsec = header->mtime_nsec,
        .typeflag = GP_TAR_TYPE_XHEADER,
      };
      guint8 xh[GP_TAR_BLOCK_SIZE];
      g_autoptr(GArray) none = g_array_new (FALSE, FALSE, sizeof (PaxRecord));
      if (!build_header (writer, &ext, xh, none, error))
        {
          writer->failed = TRUE;
          return FALSE;
        }
      g_assert (none->len == 0);
      guint64 pad = (GP_TAR_BLOCK_SIZE - body->len % GP_TAR_BLOCK_SIZE)
                    % GP_TAR_BLOCK_SIZE;
      if (!emit (writer, xh, sizeof xh, error)
          || !emit (writer, body->data, body->len, error)
          || !emit (writer, zero_block, pad, error))
        return FALSE;
    }

  if (!emit (writer, h, sizeof h, error))
    return FALSE;
  writer->remaining = (guint64) header->size;
  writer->pad = (GP_TAR_BLOCK_SIZE - writer->remaining % GP_TAR_BLOCK_SIZE)
                % GP_TAR_BLOCK_SIZE;
  return TRUE;
}

/* Whether @len more content bytes fit in the current entry; if not, the
 * writer fails for good. */
static gboolean
check_room (GpTarWriter *writer, guint64 len, GError **error)
{
  if (!check_usable (writer, error))
    return FALSE;
  if (len > writer->remaining)
    {
      writer->failed = TRUE;
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                   "tar writer: write too long (%" G_GUINT64_FORMAT
                   " bytes, %" G_GUINT64_FORMAT " left in the entry)",
                   len, writer->remaining);
      return FALSE;
    }
  return TRUE;
}

/**
 * gp_tar_writer_write_data:
 * @writer: a writer
 * @buf: (array length=len): content bytes of the current entry
 * @len: number of bytes
 * @error: return location for a #GError
 *
 * Writes content of the current entry.  Writing more than the header's
 * size fails with %GP_DATA_ERROR_SIZE (Go's ErrWriteTooLong) and writes
 * nothing.
 *
 * Returns: %TRUE on success, %FALSE with @error set
 * Since: 0.1
 */
gboolean
gp_tar_writer_write_data (GpTarWriter *writer,
                          const void  *buf,
                          gsize        len,
                          GError     **error)
{
  g_return_val_if_fail (writer != NULL, FALSE);
  g_return_val_if_fail (buf != NULL || len == 0, FALSE);

  if (!check_room (writer, len, error))
    return FALSE;
  if (!emit (writer, buf, len, error))
    return FALSE;
  writer->remaining -= len;
  return TRUE;
}

/**
 * gp_tar_writer_skip_data:
 * @writer: a writer
 * @len: number of bytes
 * @error: return location for a #GError
 *
 * Accounts for @len content bytes of the current entry without handing
 * them to the write function: the caller places them in the output
 * itself (for example with positioned writes into a span it set aside).
 * The offset advances as if they had been written.  Skipping more than
 * the header's size fails as gp_tar_writer_write_data() does.
 *
 * Returns: %TRUE on success, %FALSE with @error set
 * Since: 0.2
 */
gboolean
gp_tar_writer_skip_data (GpTarWriter *writer,
                         guint64      len,
                         GError     **error)
{
  g_return_val_if_fail (writer != NULL, FALSE);

  if (!check_room (writer, len, error))
    return FALSE;
  writer->offset += len;
  writer->remaining -= len;
  return TRUE;
}

/**
 * gp_tar_writer_copy_fd:
 * @writer: a writer
 * @fd: a file descriptor open for reading, positioned at the start
 * @what: name of the file for error messages (e.g. its path)
 * @cancellable: (nullable): checked between chunks
 * @error: return location for a #GError
 *
 * Streams the current entry's content from @fd in bounded chunks until
 * end of file.  The file must hold exactly the number of bytes the header
 * announced: fewer or more fail with %GP_DATA_ERROR_SIZE naming @what.
 * Does not close @fd.
 *
 * Returns: %TRUE on success, %FALSE with @error set
 * Since: 0.1
 */
gboolean
gp_tar_writer_copy_fd (GpTarWriter  *writer,
                       int           fd,
                       const char   *what,
                       GCancellable *cancellable,
                       GError      **error)
{
  g_return_val_if_fail (writer != NULL, FALSE);
  g_return_val_if_fail (fd >= 0, FALSE);

  if (!check_usable (writer, error))
    return FALSE;
  if (writer->chunk == NULL)
    writer->chunk = g_malloc (COPY_CHUNK);

  guint64 expected = writer->remaining;
  for (;;)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        {
          writer->failed = TRUE;
          return FALSE;
        }
      /* Ask for one byte more than needed so a longer file shows. */
      gsize want = COPY_CHUNK;
      if (writer->remaining < want)
        want = (gsize) writer->remaining + 1;
      ssize_t n = read (fd, writer->chunk, want);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          int errsv = errno;
          writer->failed = TRUE;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                       "%s: read failed: %s", what, g_strerror (errsv));
          return FALSE;
        }
      if (n == 0)
        break;
      if ((guint64) n > writer->remaining)
        {
          writer->failed = TRUE;
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                       "%s: file is longer than the %" G_GUINT64_FORMAT
                       " bytes recorded", what, expected);
          return FALSE;
        }
      if (!gp_tar_writer_write_data (writer, writer->chunk, (gsize) n, error))
        return FALSE;
    }
  if (writer->remaining > 0)
    {
      writer->failed = TRUE;
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                   "%s: file is shorter than the %" G_GUINT64_FORMAT
                   " bytes recorded (%" G_GUINT64_FORMAT " missing)",
                   what, expected, writer->remaining);
      return FALSE;
    }
  return TRUE;
}

/**
 * gp_tar_writer_close:
 * @writer: a writer
 * @error: return location for a #GError
 *
 * Completes the last entry (padding) and writes the two zero blocks that
 * end the archive.  No record padding follows.  Closing twice is a no-op.
 *
 * Returns: %TRUE on success; %FALSE with @error set (%GP_DATA_ERROR_SIZE
 *   when the last entry's content is incomplete)
 * Since: 0.1
 */
gboolean
gp_tar_writer_close (GpTarWriter *writer, GError **error)
{
  g_return_val_if_fail (writer != NULL, FALSE);

  if (writer->closed && !writer->failed)
    return TRUE;
  if (!check_usable (writer, error) || !flush_entry (writer, error))
    return FALSE;
  writer->closed = TRUE;
  return emit (writer, zero_block, GP_TAR_BLOCK_SIZE, error)
         && emit (writer, zero_block, GP_TAR_BLOCK_SIZE, error);
}
