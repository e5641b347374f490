// Atomic file replacement, the one way every module writes a file that readers may open at any
// moment (index files, manifests, models' sidecars, settings): the bytes go to a temporary of this
// process and call (<path>.tmp.<pid>.<n>: two processes, or two threads of one, never share one),
// which is fsync'ed and renamed over `path`; then the directory is fsync'ed so the rename itself
// survives a power loss. A crash at any moment leaves the old file or the new one, never a torn
// one; at worst the temporary stays, and remove_stale_temporaries() deletes it once its process is
// gone. Errors throw winnow::Error(Io) naming the file; the temporary is removed.
#pragma once

#include <cstddef>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

namespace winnow {

void write_file_atomic(const std::string& path, std::string_view contents);

// For writers that need a stdio stream (FAISS writes to a FILE*): `write` writes the whole file to
// the stream and throws (or returns false) on failure.
void write_file_atomic(const std::string& path, const std::function<bool(std::FILE*)>& write);

// The temporary name write_file_atomic uses next for `path` in this process.
std::string atomic_temporary_name(const std::string& path);

// Deletes the temporaries (<name>.tmp.<pid>.<n>) in `dir` whose process is no longer running (a
// killed writer leaves one as large as the file it was writing). Returns how many were removed.
std::size_t remove_stale_temporaries(const std::string& dir);

// fsyncs a directory, so that files created, renamed or removed in it are durable.
void sync_directory(const std::string& dir);

}  // namespace winnow
