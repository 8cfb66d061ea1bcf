#include "sic/file_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace sic {
namespace {

// ENOSPC and EDQUOT: the disk (or quota) is full, which is an exhausted resource.
Status WriteError(const std::string& path, const char* what, int err) {
  std::string m = path + ": " + what + ": " + std::strerror(err);
  return err == ENOSPC || err == EDQUOT || err == EFBIG ? Status::ResourceExhausted(std::move(m))
                                                        : Status::Unavailable(std::move(m));
}

// fsync(2), again after EINTR: 0 or the error. EINVAL (a file that cannot be
// synced: a pipe, /dev/null) counts as synced.
int Fsync(int fd) {
  int rc;
  do {
    rc = ::fsync(fd);
  } while (rc != 0 && errno == EINTR);
  return rc == 0 || errno == EINVAL ? 0 : errno;
}

// The rename into a folder reaches the disk with the folder's own fsync.
Status SyncFolderOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string folder = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int fd;
  do {
    fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return WriteError(folder, "cannot open the folder to sync it", errno);
  const int err = Fsync(fd);
  ::close(fd);
  return err == 0 ? Status::OK() : WriteError(folder, "cannot sync the folder", err);
}

}  // namespace

Result<std::unique_ptr<FileWriter>> FileWriter::Open(const std::string& path, Mode mode) {
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (mode == Mode::kAppend ? O_APPEND : O_TRUNC);
  int fd;
  do {
    fd = ::open(path.c_str(), flags, 0644);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return WriteError(path, "cannot open for writing", errno);
  return std::unique_ptr<FileWriter>(new FileWriter(path, fd));
}

FileWriter::~FileWriter() {
  if (fd_ >= 0) ::close(fd_);
}

Status FileWriter::Write(std::string_view bytes) {
  if (!error_.ok()) return error_;
  if (fd_ < 0) return error_ = Status::Internal(path_ + ": written after close");
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return error_ = WriteError(path_, "cannot write", n < 0 ? errno : EIO);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Status FileWriter::Sync() {
  if (!error_.ok()) return error_;
  if (fd_ < 0) return error_ = Status::Internal(path_ + ": synced after close");
  if (const int err = Fsync(fd_); err != 0) return error_ = WriteError(path_, "cannot write", err);
  return Status::OK();
}

Status FileWriter::Close() {
  if (fd_ < 0) return error_;
  // Some file systems (NFS, a full disk's delayed allocation) report a failed
  // write only here.
  const int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0 && error_.ok()) error_ = WriteError(path_, "cannot write", errno);
  return error_;
}

Status WriteFileAtomically(const std::string& path, std::string_view bytes) {
  return WriteFileAtomically(path, [bytes](FileWriter& out) { return out.Write(bytes); });
}

Status WriteFileAtomically(const std::string& path, const std::function<Status(FileWriter&)>& fill) {
  const std::string tmp = path + ".tmp";
  Status st;
  if (auto out = FileWriter::Open(tmp, FileWriter::Mode::kTruncate); !out.ok()) {
    st = out.status();
  } else {
    st = fill(*out.value());
    if (st.ok()) st = out.value()->Sync();
    Status closed = out.value()->Close();
    if (st.ok()) st = closed;
    if (st.ok() && std::rename(tmp.c_str(), path.c_str()) != 0) st = WriteError(tmp, "cannot rename into place", errno);
    if (!st.ok()) std::remove(tmp.c_str());
    // Renamed: the new file is in place whatever the folder's sync says.
    if (st.ok()) st = SyncFolderOf(path);
  }
  if (st.ok()) return st;
  // Name the file the caller knows, not its temporary.
  std::string m = st.message();
  if (m.rfind(tmp + ": ", 0) == 0) m = path + ": " + m.substr(tmp.size() + 2);
  return Status::WithCode(st.code(), m);
}

}  // namespace sic
