// FileWriter and WriteFileAtomically: file writes whose every failure is
// seen. A std::ofstream keeps what it could not write in its buffer and loses
// the error at close; here each write(2) and close(2) is checked and an error
// names the file and the system's reason, in one line:
//   "run/checkpoint.pt: cannot write: No space left on device"
// Whatever writes a run's files (curve, checkpoint, config, evaluation
// results) uses these, so a full disk fails the run instead of leaving a
// truncated file behind a reported success.
//
// Thread-safety: a FileWriter is used by one thread at a time; the functions
// may run concurrently on different paths.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "sic/status.h"

namespace sic {

class FileWriter {
 public:
  enum class Mode { kTruncate, kAppend };
  // Creates the file if missing (mode 0644 before the umask).
  static Result<std::unique_ptr<FileWriter>> Open(const std::string& path, Mode mode);
  ~FileWriter();  // closes; an error then is lost, so call Close first
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  // All of `bytes`, unbuffered, or an error. After an error, every later
  // Write and Close returns the first one.
  Status Write(std::string_view bytes);
  // Asks the kernel to put what was written on the disk (fsync(2)); the first
  // error, as Write. A file that cannot be synced (EINVAL: a pipe, /dev/null)
  // is not an error.
  Status Sync();
  // Closes the file; its error, or the first Write's.
  Status Close();
  // The first error of a Write, Sync or Close; OK while there is none.
  const Status& status() const { return error_; }
  const std::string& path() const { return path_; }

 private:
  FileWriter(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
  Status error_;
};

// Writes `path` whole, atomically: to `path`.tmp, synced and closed, then
// renamed over `path`, and the rename synced (the folder). A crash of the
// process or of the machine at any moment leaves the old file or the new
// one, never a torn file under `path`: without the syncs a machine that lost
// power could keep the rename and not the bytes (a checkpoint that no later
// delivery can read). On error `path` is left as it was and the .tmp file
// removed. Errors name `path`.
Status WriteFileAtomically(const std::string& path, std::string_view bytes);
// The same with the bytes produced by `fill` (e.g. a serializer that streams),
// which writes and leaves the file open; `fill`'s error, or the first write
// error, fails it.
Status WriteFileAtomically(const std::string& path, const std::function<Status(FileWriter&)>& fill);

}  // namespace sic
