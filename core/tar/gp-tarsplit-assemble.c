/* graphpipe - tar-split reassembly: entries + layer files -> tar (§3.4). */
#include "config.h"

#include "gp-tarsplit.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gp-crc64.h"
#include "gp-error.h"

/* The tar stream passes through a ring of RING_N buffers of RING_SIZE
 * bytes: file data is read straight into the buffer being filled (and
 * CRC'ed and handed to the write function from there), segments are
 * copied in; each full buffer goes to a hashing thread, so that SHA-256,
 * the bottleneck, overlaps the reads, the CRC and the writes.  The thread
 * starts only once THREAD_MIN bytes went through: small layers (most of
 * a metadata-heavy root, or of any root of many small layers) are hashed
 * inline, with no thread at all.  Nor
 * does it start while the reassemblies running in the process already
 * keep every CPU busy (several layers in parallel): a thread there would
 * only add hand-overs (futex calls, context switches) and thread starts
 * for the same work.  It is checked at each full buffer, so that the
 * last large layer still gets its second thread once the others end. */
#define RING_N 4
#define RING_SIZE (256 * 1024)
/* The hashing thread starts only in a stream this long already: below,
 * starting it costs more than it saves, and it would start in each of
 * many small layers while a worker is between two layers. */
#define THREAD_MIN (2 * 1024 * 1024)
/* posix_fadvise (SEQUENTIAL) for files at least this large */
#define FADVISE_MIN (256 * 1024)

typedef struct {
  GpWriteFunc write;
  gpointer write_data;
  GpSha256 sha;
  guint64 n;

  guint8 *ring[RING_N];
  gsize fill_len;    /* bytes in the buffer being filled */
  guint fill;        /* its index */
  GThread *thread;   /* the hashing thread, once started */
  GMutex lock;
  GCond cond;
  guint first_full;  /* full buffers: first_full .. first_full + n_full - 1 */
  guint n_full;
  gsize full_len[RING_N];
  gboolean closing;
  gboolean abandon;  /* failed: hash nothing more */
} Out;

/* Reassemblies running in the process. */
static gint n_assembling = 0;

/* Is there a CPU free for a hashing thread? */
static gboolean
cpu_free (void)
{
  static gint n_cpus = 0;
  gint n = g_atomic_int_get (&n_cpus);
  if (n == 0)
    {
      n = (gint) MAX (g_get_num_processors (), 1);
      g_atomic_int_set (&n_cpus, n);
    }
  return g_atomic_int_get (&n_assembling) < n;
}

/* Whether the hashing thread (and with it the parsing ahead) may start
 * now.  GP_TAR_SPLIT_THREADS=1 starts them at the first full buffer
 * whatever the CPUs, =0 never (for the tests of both ways). */
static gboolean
may_start_thread (guint64 n)
{
  const char *force = g_getenv ("GP_TAR_SPLIT_THREADS");
  if (force != NULL && strcmp (force, "0") == 0)
    return FALSE;
  if (force != NULL && strcmp (force, "1") == 0)
    return TRUE;
  return n >= THREAD_MIN && cpu_free ();
}

static gpointer
hasher_main (gpointer data)
{
  Out *o = data;

  g_mutex_lock (&o->lock);
  for (;;)
    {
      while (o->n_full == 0 && !o->closing)
        g_cond_wait (&o->cond, &o->lock);
      if (o->n_full == 0 || o->abandon)
        break;
      guint i = o->first_full;
      g_mutex_unlock (&o->lock);
      gp_sha256_update (&o->sha, o->ring[i], o->full_len[i]);
      g_mutex_lock (&o->lock);
      o->first_full = (i + 1) % RING_N;
      o->n_full--;
      g_cond_broadcast (&o->cond);
    }
  g_mutex_unlock (&o->lock);
  return NULL;
}

static void
out_init (Out *o, GpWriteFunc write, gpointer write_data)
{
  memset (o, 0, sizeof *o);
  o->write = write;
  o->write_data = write_data;
  gp_sha256_init (&o->sha);
  g_mutex_init (&o->lock);
  g_cond_init (&o->cond);
}

/* Hands the buffer being filled to the hashing thread (started on the
 * first call; if it cannot start, hashing stays inline) and waits for a
 * free one. */
static void
out_push (Out *o)
{
  if (o->fill_len == 0)
    return;
  if (o->thread == NULL && may_start_thread (o->n))
    o->thread = g_thread_try_new ("gp-sha256", hasher_main, o, NULL);
  if (o->thread == NULL)
    {
      gp_sha256_update (&o->sha, o->ring[o->fill], o->fill_len);
      o->fill_len = 0;
      return;
    }
  g_mutex_lock (&o->lock);
  o->full_len[o->fill] = o->fill_len;
  o->n_full++;
  g_cond_broadcast (&o->cond);
  while (o->n_full == RING_N)
    g_cond_wait (&o->cond, &o->lock);
  o->fill = (o->first_full + o->n_full) % RING_N;
  g_mutex_unlock (&o->lock);
  if (o->ring[o->fill] == NULL)
    o->ring[o->fill] = g_malloc (RING_SIZE);
  o->fill_len = 0;
}

/* Space in the buffer being filled: at least one byte. */
static guint8 *
out_space (Out *o, gsize *avail)
{
  if (o->ring[o->fill] == NULL)
    o->ring[o->fill] = g_malloc (RING_SIZE);
  if (o->fill_len == RING_SIZE)
    out_push (o);
  *avail = RING_SIZE - o->fill_len;
  return o->ring[o->fill] + o->fill_len;
}

/* @len bytes, just placed at out_space(), are part of the stream. */
static gboolean
out_commit (Out *o, gsize len, GError **error)
{
  const guint8 *p = o->ring[o->fill] + o->fill_len;
  o->fill_len += len;
  o->n += len;
  if (o->write && len > 0)
    return o->write (o->write_data, p, len, error);
  return TRUE;
}

/* Bytes from elsewhere (a segment): copied into the ring for hashing,
 * written from where they are. */
static gboolean
out_write (Out *o, const void *buf, gsize len, GError **error)
{
  const guint8 *src = buf;
  for (gsize left = len; left > 0;)
    {
      gsize avail;
      guint8 *dst = out_space (o, &avail);
      gsize k = MIN (avail, left);
      memcpy (dst, src, k);
      o->fill_len += k;
      src += k;
      left -= k;
    }
  o->n += len;
  if (o->write && len > 0)
    return o->write (o->write_data, buf, len, error);
  return TRUE;
}

/* Hashes what is left, stops the thread and frees the ring.  With
 * @digest NULL (on failure) the hash is dropped. */
static void
out_finish (Out *o, char *digest)
{
  if (digest != NULL && o->fill_len > 0)
    {
      if (o->thread != NULL)
        out_push (o);
      else
        gp_sha256_update (&o->sha, o->ring[o->fill], o->fill_len);
    }
  if (o->thread != NULL)
    {
      g_mutex_lock (&o->lock);
      o->closing = TRUE;
      o->abandon = digest == NULL;
      g_cond_broadcast (&o->cond);
      g_mutex_unlock (&o->lock);
      g_thread_join (o->thread);
      o->thread = NULL;
    }
  if (digest != NULL)
    gp_sha256_finish_digest (&o->sha, digest);
  for (guint i = 0; i < RING_N; i++)
    g_clear_pointer (&o->ring[i], g_free);
  g_mutex_clear (&o->lock);
  g_cond_clear (&o->cond);
}


/* ---- parsing ahead ----
 *
 * In a layer of many small files (a distribution rootfs), the thread
 * rebuilding the stream is the bottleneck, not the hashing thread: per
 * file it inflates and parses the tar-split entries, opens, reads and
 * CRCs the file.  Once the hashing thread runs (a long stream, a CPU
 * free), a third thread reads the entries ahead: it inflates and parses
 * them into batches (names and payloads copied), so that the rebuilding
 * thread only opens, reads and CRCs.  Errors of the reader come out at
 * the entry where they happened, as without it. */

#define PF_BATCHES 4
#define PF_ENTRIES 512
#define PF_BYTES (128 * 1024)
#define PF_NO_PAYLOAD G_MAXSIZE

typedef struct {
  GpTarSplitEntry entries[PF_ENTRIES];
  gsize name_off[PF_ENTRIES];
  gsize payload_off[PF_ENTRIES];
  GByteArray *bytes;
  guint n;
  gboolean end;  /* the stream ends after these entries... */
  GError *error; /* ...with this error, or cleanly */
} PfBatch;

typedef struct {
  GpTarSplitReader *reader;
  GThread *thread;
  GMutex lock;
  GCond cond;
  PfBatch batch[PF_BATCHES];
  guint first, n_full; /* full batches: first .. first + n_full - 1 */
  gboolean stop;
  guint pos;           /* next entry of batch[first] */
  GpTarSplitEntry cur; /* the entry handed out */
} Prefetch;

static gpointer
prefetch_main (gpointer data)
{
  Prefetch *pf = data;
  gboolean end = FALSE;

  while (!end)
    {
      g_mutex_lock (&pf->lock);
      while (pf->n_full == PF_BATCHES && !pf->stop)
        g_cond_wait (&pf->cond, &pf->lock);
      gboolean stop = pf->stop;
      PfBatch *b = &pf->batch[(pf->first + pf->n_full) % PF_BATCHES];
      g_mutex_unlock (&pf->lock);
      if (stop)
        break;

      b->n = 0;
      g_byte_array_set_size (b->bytes, 0);
      while (b->n < PF_ENTRIES && b->bytes->len < PF_BYTES)
        {
          const GpTarSplitEntry *e;
          if (!gp_tar_split_reader_next (pf->reader, &e, &b->error))
            {
              end = TRUE;
              break;
            }
          if (e == NULL)
            {
              end = TRUE;
              break;
            }
          b->entries[b->n] = *e;
          b->name_off[b->n] = b->bytes->len;
          g_byte_array_append (b->bytes, (const guint8 *) e->name, (guint) e->name_len);
          g_byte_array_append (b->bytes, (const guint8 *) "", 1);
          b->payload_off[b->n] = e->payload != NULL ? b->bytes->len : PF_NO_PAYLOAD;
          if (e->payload != NULL && e->payload_len > 0)
            g_byte_array_append (b->bytes, e->payload, (guint) e->payload_len);
          b->n++;
        }
      b->end = end;
      g_mutex_lock (&pf->lock);
      pf->n_full++;
      g_cond_broadcast (&pf->cond);
      g_mutex_unlock (&pf->lock);
    }
  return NULL;
}

/* Starts reading ahead from where @reader is; NULL if no thread. */
static Prefetch *
prefetch_start (GpTarSplitReader *reader)
{
  Prefetch *pf = g_new0 (Prefetch, 1);
  pf->reader = reader;
  g_mutex_init (&pf->lock);
  g_cond_init (&pf->cond);
  for (guint i = 0; i < PF_BATCHES; i++)
    pf->batch[i].bytes = g_byte_array_sized_new (PF_BYTES + 4096);
  pf->thread = g_thread_try_new ("gp-tarsplit", prefetch_main, pf, NULL);
  if (pf->thread == NULL)
    {
      for (guint i = 0; i < PF_BATCHES; i++)
        g_byte_array_unref (pf->batch[i].bytes);
      g_mutex_clear (&pf->lock);
      g_cond_clear (&pf->cond);
      g_free (pf);
      return NULL;
    }
  return pf;
}

/* gp_tar_split_reader_next() through the batches. */
static gboolean
prefetch_next (Prefetch *pf, const GpTarSplitEntry **out_entry, GError **error)
{
  for (;;)
    {
      g_mutex_lock (&pf->lock);
      while (pf->n_full == 0)
        g_cond_wait (&pf->cond, &pf->lock);
      PfBatch *b = &pf->batch[pf->first];
      g_mutex_unlock (&pf->lock);

      if (pf->pos < b->n)
        {
          guint i = pf->pos++;
          pf->cur = b->entries[i];
          pf->cur.name = (const char *) b->bytes->data + b->name_off[i];
          pf->cur.payload = b->payload_off[i] == PF_NO_PAYLOAD ? NULL : b->bytes->data + b->payload_off[i];
          *out_entry = &pf->cur;
          return TRUE;
        }
      if (b->end)
        {
          if (b->error != NULL)
            {
              g_propagate_error (error, g_steal_pointer (&b->error));
              return FALSE;
            }
          *out_entry = NULL;
          return TRUE;
        }
      g_mutex_lock (&pf->lock);
      pf->first = (pf->first + 1) % PF_BATCHES;
      pf->n_full--;
      g_cond_broadcast (&pf->cond);
      g_mutex_unlock (&pf->lock);
      pf->pos = 0;
    }
}

/* Stops the thread (at once if the stream was not read to its end) and
 * frees everything: the reader is the caller's again. */
static void
prefetch_free (Prefetch *pf)
{
  if (pf == NULL)
    return;
  g_mutex_lock (&pf->lock);
  pf->stop = TRUE;
  g_cond_broadcast (&pf->cond);
  g_mutex_unlock (&pf->lock);
  g_thread_join (pf->thread);
  for (guint i = 0; i < PF_BATCHES; i++)
    {
      g_clear_error (&pf->batch[i].error);
      g_byte_array_unref (pf->batch[i].bytes);
    }
  g_mutex_clear (&pf->lock);
  g_cond_clear (&pf->cond);
  g_free (pf);
}

static gboolean assemble (GpTarSplitReader *reader, GpOpenFileFunc open_file, GpOpenFileStatFunc open_file_stat,
                          gpointer open_data, GpWriteFunc write, gpointer write_data, GCancellable *cancellable,
                          GpTarSplitStats *out_stats, GError **error);

static char *
printable_name (const GpTarSplitEntry *e)
{
  return g_strndup (e->name, e->name_len);
}

/* @known: the fstat of @fd from the opener, or NULL to ask here. */
static gboolean
copy_file (const GpTarSplitEntry *e, int fd, const struct stat *known, Out *o, GCancellable *cancellable,
           GError **error)
{
  guint64 crc = 0;
  gint64 left = e->size;
  struct stat st;

  /* The length check comes first, so a file of the wrong length is
   * reported as such rather than as a checksum mismatch. */
  if (known != NULL)
    st = *known;
  if ((known != NULL || fstat (fd, &st) == 0) && S_ISREG (st.st_mode) && st.st_size != e->size)
    {
      g_autofree char *nm = printable_name (e);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                   "file \"%s\" is %s than recorded: %" G_GINT64_FORMAT " bytes instead of %" G_GINT64_FORMAT,
                   nm, st.st_size < e->size ? "shorter" : "longer", (gint64) st.st_size, e->size);
      return FALSE;
    }
#ifdef POSIX_FADV_SEQUENTIAL
  if (e->size >= FADVISE_MIN)
    (void) posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif

  for (;;)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      guint8 extra;
      gsize avail = 1;
      /* read one byte past the recorded size to notice a longer file:
       * with the last read of the file when the buffer has room for it
       * (a regular file's read stops short only at its end), else with
       * a read of its own */
      guint8 *dst = left > 0 ? out_space (o, &avail) : &extra;
      gboolean probe = left > 0 && (gint64) avail > left;
      gsize want = left > 0 ? (probe ? (gsize) left + 1 : (gsize) MIN ((gint64) avail, left)) : 1;
      gssize n = read (fd, dst, want);
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          /* a non-blocking descriptor (GpOpenFileStatFunc) on a file
           * system that honours it: blocking from now on */
          if (errno == EAGAIN)
            {
              int fl = fcntl (fd, F_GETFL);
              if (fl >= 0 && (fl & O_NONBLOCK) && fcntl (fd, F_SETFL, fl & ~O_NONBLOCK) == 0)
                continue;
            }
          int err = errno;
          g_autofree char *nm = printable_name (e);
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err),
                       "reading file \"%s\": %s", nm, g_strerror (err));
          return FALSE;
        }
      if (n == 0)
        {
          if (left > 0)
            {
              g_autofree char *nm = printable_name (e);
              g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                           "file \"%s\" is shorter than recorded: %" G_GINT64_FORMAT " bytes instead of %" G_GINT64_FORMAT,
                           nm, e->size - left, e->size);
              return FALSE;
            }
          break;
        }
      if (n > left)
        {
          g_autofree char *nm = printable_name (e);
          g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_SIZE,
                       "file \"%s\" is longer than recorded (%" G_GINT64_FORMAT " bytes)", nm, e->size);
          return FALSE;
        }
      crc = gp_crc64_update (crc, dst, (gsize) n);
      if (!out_commit (o, (gsize) n, error))
        return FALSE;
      left -= n;
      if (probe && left == 0)
        break; /* the read stopped at the recorded end: the file's end */
    }

  guint8 want_crc[8];
  gp_crc64_to_bytes (crc, want_crc);
  if (e->payload == NULL || e->payload_len != 8 || memcmp (want_crc, e->payload, 8) != 0)
    {
      g_autofree char *nm = printable_name (e);
      g_set_error (error, GP_DATA_ERROR, GP_DATA_ERROR_CRC,
                   "file integrity checksum failed for \"%s\"", nm);
      return FALSE;
    }
  return TRUE;
}

/**
 * gp_tar_split_assemble:
 * @reader: entries to read (positioned at the start)
 * @open_file: opens a layer file by entry name; called only for file
 *   entries with size > 0, each returned fd is closed here
 * @open_data: data for @open_file
 * @write: (nullable): sink for the tar stream; %NULL to only measure
 * @write_data: data for @write
 * @cancellable: (nullable): checked between entries and between chunks
 * @out_stats: (out caller-allocates) (optional): tar size, entry size sum,
 *   entry count and DiffID, set on success only
 * @error: return location for a #GError
 *
 * Rebuilds the tar stream of §3.4: segments verbatim, each file entry of
 * size > 0 replaced by the file's content, whose length must equal the
 * recorded size (%GP_DATA_ERROR_SIZE otherwise, checked first) and whose
 * CRC-64 must equal the payload (%GP_DATA_ERROR_CRC, `file integrity
 * checksum failed for "<name>"`).  Reader errors pass through.  Memory use
 * is four 256 KiB buffers, independent of layer and file sizes.  Once the
 * stream exceeds 2 MiB, SHA-256 runs on a second thread, overlapped with
 * the reads, the CRC-64 and @write, when the reassemblies running in the
 * process leave a CPU free (else it stays inline, and the thread starts
 * as soon as one is); a third thread then parses the tar-split entries
 * ahead (a bounded queue of about 512 KiB).  @write and @open_file are
 * still called from the calling thread only, in stream order, and reader
 * errors come out at the entry where they are.  The environment variable
 * `GP_TAR_SPLIT_THREADS` set to `1` starts both threads at the first
 * full buffer whatever the CPUs, `0` never (tests).
 *
 * Returns: %TRUE on success; %FALSE with @error set (some output may have
 *   been written).
 *
 * Since: 0.1
 */
gboolean
gp_tar_split_assemble (GpTarSplitReader *reader, GpOpenFileFunc open_file, gpointer open_data,
                       GpWriteFunc write, gpointer write_data, GCancellable *cancellable,
                       GpTarSplitStats *out_stats, GError **error)
{
  return assemble (reader, open_file, NULL, open_data, write, write_data, cancellable, out_stats, error);
}

/**
 * gp_tar_split_assemble_stat:
 * @reader: entries to read (positioned at the start)
 * @open_file: opens a layer file by entry name and gives its fstat
 * @open_data: data for @open_file
 * @write: (nullable): sink for the tar stream; %NULL to only measure
 * @write_data: data for @write
 * @cancellable: (nullable): checked between entries and between chunks
 * @out_stats: (out caller-allocates) (optional): as for
 *   gp_tar_split_assemble()
 * @error: return location for a #GError
 *
 * gp_tar_split_assemble() with an opener that hands over the fstat of
 * each file it opens: one system call less per file.
 *
 * Returns: %TRUE on success; %FALSE with @error set
 * Since: 0.2
 */
gboolean
gp_tar_split_assemble_stat (GpTarSplitReader *reader, GpOpenFileStatFunc open_file, gpointer open_data,
                            GpWriteFunc write, gpointer write_data, GCancellable *cancellable,
                            GpTarSplitStats *out_stats, GError **error)
{
  return assemble (reader, NULL, open_file, open_data, write, write_data, cancellable, out_stats, error);
}

static gboolean
assemble (GpTarSplitReader *reader, GpOpenFileFunc open_file, GpOpenFileStatFunc open_file_stat,
          gpointer open_data, GpWriteFunc write, gpointer write_data, GCancellable *cancellable,
          GpTarSplitStats *out_stats, GError **error)
{
  Out o;
  gboolean ok = TRUE;
  Prefetch *pf = NULL;
  gboolean pf_tried = FALSE;

  g_atomic_int_inc (&n_assembling);
  out_init (&o, write, write_data);
  while (ok)
    {
      const GpTarSplitEntry *e;

      /* with the hashing thread (a long stream, a CPU free), the
       * entries are parsed ahead too */
      if (o.thread != NULL && !pf_tried)
        {
          pf_tried = TRUE;
          pf = prefetch_start (reader);
        }
      if (g_cancellable_set_error_if_cancelled (cancellable, error)
          || !(pf ? prefetch_next (pf, &e, error) : gp_tar_split_reader_next (reader, &e, error)))
        {
          ok = FALSE;
          break;
        }
      if (e == NULL)
        break;
      if (e->type == GP_TAR_SPLIT_ENTRY_SEGMENT)
        {
          if (e->payload_len > 0)
            ok = out_write (&o, e->payload, e->payload_len, error);
          continue;
        }
      if (e->size == 0)
        continue;

      struct stat st;
      int fd = open_file_stat ? open_file_stat (open_data, e->name, e->name_len, &st, error)
                              : open_file (open_data, e->name, e->name_len, error);
      if (fd < 0)
        {
          ok = FALSE;
          break;
        }
      ok = copy_file (e, fd, open_file_stat ? &st : NULL, &o, cancellable, error);
      close (fd);
    }

  prefetch_free (pf);
  char diff_id[GP_DIGEST_SHA256_LEN + 1];
  out_finish (&o, ok ? diff_id : NULL);
  g_atomic_int_dec_and_test (&n_assembling);
  if (ok && out_stats)
    {
      out_stats->tar_size = o.n;
      out_stats->size = gp_tar_split_reader_get_size_sum (reader);
      out_stats->n_entries = gp_tar_split_reader_get_n_entries (reader);
      memcpy (out_stats->diff_id, diff_id, sizeof diff_id);
    }
  return ok;
}
