/* graphpipe - tar-split: entry streams, reassembly, disassembly.
 *
 * FORMATS.md §3 (vbatts/tar-split v0.9.11 as vendored in Docker 1.10.3).
 *
 * - GpTarSplitReader reads a gzip'd (or plain) stream of JSON entry objects
 *   one entry at a time, in bounded memory.
 * - gp_tar_split_assemble() rebuilds the tar stream from a reader and the
 *   layer's files (§3.4), hashing it as it streams (DiffID, §5.2).
 * - GpTarSplitWriter writes entries as JSON lines, gzip'd like Go does.
 * - GpTarSplitDisassembler takes a tar stream pushed in arbitrary chunks
 *   and records its entries through a writer, reproducing v0.9.11 (§3.5).
 */
#pragma once

#include "gp-macros.h"

#include <gio/gio.h>

#include "gp-digest.h"
#include "gp-io.h"

G_BEGIN_DECLS

/* Longest JSON entry object the reader accepts (decompressed bytes). */
#define GP_TAR_SPLIT_MAX_LINE (16 * 1024 * 1024)
/* Largest raw segment the disassembler records (its base64 line stays
 * below GP_TAR_SPLIT_MAX_LINE). */
#define GP_TAR_SPLIT_MAX_SEGMENT (12 * 1024 * 1024)
/* Largest entry size accepted (2^62). */
#define GP_TAR_SPLIT_MAX_SIZE (G_GINT64_CONSTANT (1) << 62)

/**
 * GpTarSplitEntryType:
 * @GP_TAR_SPLIT_ENTRY_FILE: a file entry: name, size, CRC-64 payload
 * @GP_TAR_SPLIT_ENTRY_SEGMENT: raw tar bytes in the payload
 */
typedef enum {
  GP_TAR_SPLIT_ENTRY_FILE = 1,
  GP_TAR_SPLIT_ENTRY_SEGMENT = 2,
} GpTarSplitEntryType;

/**
 * GpTarSplitFlags:
 * @GP_TAR_SPLIT_FLAGS_NONE: the stream is gzip'd (the on-disk form)
 * @GP_TAR_SPLIT_FLAGS_PLAIN: the stream is the uncompressed JSON lines
 * @GP_TAR_SPLIT_FLAGS_SIZES_ONLY: for measuring a tar: entries carry their
 *   type, size, position and payload_len only (name empty, payload %NULL);
 *   names and base64 payloads are skipped, not decoded, and duplicate paths
 *   are not looked for.  The JSON must still be valid; a payload whose
 *   base64 is invalid may go unnoticed (reading it for real reports it).
 */
typedef enum {
  GP_TAR_SPLIT_FLAGS_NONE = 0,
  GP_TAR_SPLIT_FLAGS_PLAIN = 1 << 0,
  GP_TAR_SPLIT_FLAGS_SIZES_ONLY = 1 << 1,
} GpTarSplitFlags;

/**
 * GpTarSplitEntry:
 * @type: file or segment
 * @name: the entry name bytes (`name_raw` decoded if present, else `name`),
 *   NUL-terminated for convenience but may contain NUL bytes (use
 *   @name_len); "" for none
 * @name_len: length of @name
 * @size: the recorded size (0 if absent), 0 <= size <= 2^62
 * @payload: the decoded payload bytes, %NULL for JSON `null`; a non-%NULL
 *   pointer with @payload_len 0 for `""`
 * @payload_len: length of @payload
 * @position: the recorded position (equals the entry's index in the stream)
 *
 * One entry.  When returned by a reader, every pointer is owned by the
 * reader and valid until its next call.
 */
typedef struct {
  GpTarSplitEntryType type;
  const char *name;
  gsize name_len;
  gint64 size;
  const guint8 *payload;
  gsize payload_len;
  gint64 position;
} GpTarSplitEntry;

/**
 * GpTarSplitStats:
 * @tar_size: number of bytes in the tar stream
 * @size: the layer size of §3.6: sum of the `size` of every entry
 * @n_entries: number of entries read or written
 * @diff_id: `sha256:<hex>` of the tar stream (the DiffID)
 *
 * What a reassembly or disassembly measured.
 */
typedef struct {
  guint64 tar_size;
  gint64 size;
  guint64 n_entries;
  char diff_id[GP_DIGEST_SHA256_LEN + 1];
} GpTarSplitStats;

/**
 * GpOpenFileFunc:
 * @user_data: the opener's data
 * @name: the entry name (NUL-terminated, but may contain NUL: see @name_len)
 * @name_len: its length
 * @error: return location for a #GError
 *
 * Opens a layer file for reading by its tar-split name.  The opener is
 * responsible for keeping the open beneath the layer directory.
 *
 * Returns: a file descriptor that the caller of the reassembly closes, or
 *   -1 with @error set.
 */
typedef int (*GpOpenFileFunc) (gpointer user_data, const char *name, gsize name_len, GError **error);

struct stat;

/**
 * GpOpenFileStatFunc:
 * @user_data: the opener's data
 * @name: the entry name (NUL-terminated, but may contain NUL: see @name_len)
 * @name_len: its length
 * @out_stat: (out caller-allocates): the fstat() of the descriptor returned
 * @error: return location for a #GError
 *
 * A #GpOpenFileFunc that also hands over the opened file's fstat(), so
 * that the reassembly does not ask for it again.  The descriptor may be
 * non-blocking.
 *
 * Returns: a file descriptor that the caller of the reassembly closes, or
 *   -1 with @error set.
 */
typedef int (*GpOpenFileStatFunc) (gpointer user_data, const char *name, gsize name_len, struct stat *out_stat,
                                   GError **error);

typedef struct _GpTarSplitReader GpTarSplitReader;

GP_API GpTarSplitReader *gp_tar_split_reader_new (int fd, const char *display_name, GpTarSplitFlags flags);
GP_API gboolean gp_tar_split_reader_next (GpTarSplitReader *reader, const GpTarSplitEntry **out_entry, GError **error);
GP_API gint64 gp_tar_split_reader_get_size_sum (GpTarSplitReader *reader);
GP_API guint64 gp_tar_split_reader_get_n_entries (GpTarSplitReader *reader);
GP_API void gp_tar_split_reader_free (GpTarSplitReader *reader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpTarSplitReader, gp_tar_split_reader_free)

GP_API gboolean gp_tar_split_assemble (GpTarSplitReader *reader, GpOpenFileFunc open_file, gpointer open_data, GpWriteFunc write, gpointer write_data, GCancellable *cancellable, GpTarSplitStats *out_stats, GError **error);
GP_API gboolean gp_tar_split_assemble_stat (GpTarSplitReader *reader, GpOpenFileStatFunc open_file, gpointer open_data, GpWriteFunc write, gpointer write_data, GCancellable *cancellable, GpTarSplitStats *out_stats, GError **error);

typedef struct _GpTarSplitWriter GpTarSplitWriter;

GP_API GpTarSplitWriter *gp_tar_split_writer_new (GpWriteFunc write, gpointer user_data, GpTarSplitFlags flags);
GP_API gboolean gp_tar_split_writer_add (GpTarSplitWriter *writer, const GpTarSplitEntry *entry, GError **error);
GP_API gboolean gp_tar_split_writer_finish (GpTarSplitWriter *writer, GError **error);
GP_API guint64 gp_tar_split_writer_get_n_entries (GpTarSplitWriter *writer);
GP_API void gp_tar_split_writer_free (GpTarSplitWriter *writer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpTarSplitWriter, gp_tar_split_writer_free)

typedef struct _GpTarSplitDisassembler GpTarSplitDisassembler;

GP_API GpTarSplitDisassembler *gp_tar_split_disassembler_new (GpWriteFunc write, gpointer user_data, GpTarSplitFlags flags);
GP_API gboolean gp_tar_split_disassembler_push (gpointer disassembler, const void *buf, gsize len, GError **error);
GP_API gboolean gp_tar_split_disassembler_finish (GpTarSplitDisassembler *disassembler, GpTarSplitStats *out_stats, GError **error);
GP_API void gp_tar_split_disassembler_free (GpTarSplitDisassembler *disassembler);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GpTarSplitDisassembler, gp_tar_split_disassembler_free)

GP_API char *gp_tar_split_clean_path (const char *path, gsize len, gsize *out_len);

G_END_DECLS
