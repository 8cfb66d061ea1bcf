#include "worker/folder_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <mutex>

#include "common/log.h"

namespace sic {
namespace {

Status LockError(const std::string& path, const char* what, int err) {
  return Status::Unavailable(path + ": " + what + ": " + std::strerror(err));
}

int OpenLockFile(const std::string& path) {
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

}  // namespace

Result<std::unique_ptr<FolderLock>> FolderLock::TryLock(const std::string& folder) {
  const std::string path = folder + ".lock";
  // A bounded number of tries: each lost race means another holder came and
  // went in between, so many in a row mean the folder is busy anyway.
  for (int tries = 0; tries < 100; ++tries) {
    int fd = OpenLockFile(path);
    if (fd < 0 && errno == ENOENT) {
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
      fd = OpenLockFile(path);
    }
    if (fd < 0) return LockError(path, "cannot open the folder's lock", errno);
    int rc;
    do {
      rc = ::flock(fd, LOCK_EX | LOCK_NB);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
      const int err = errno;
      if (err == ENOLCK || err == EOPNOTSUPP || err == ENOSYS) {
        // A volume without locks (NFSv3 with no lock daemon): refusing every
        // trial would stop the lab's work, so the folder is used without the
        // exclusion, as before the lock existed, and the log says so once.
        static std::once_flag said;
        std::call_once(said, [&] {
          Log(path + ": cannot lock: " + std::strerror(err) +
              "; trial folders are used without excluding a second delivery");
        });
        return std::unique_ptr<FolderLock>(new FolderLock(path, fd));
      }
      ::close(fd);
      if (err == EWOULDBLOCK) return std::unique_ptr<FolderLock>();
      return LockError(path, "cannot lock", err);
    }
    // Locked; but the holder before us may have unlinked this file after we
    // opened it, and a third process may hold a new one at the path.
    struct stat held, at_path;
    if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &at_path) == 0 && held.st_dev == at_path.st_dev &&
        held.st_ino == at_path.st_ino) {
      return std::unique_ptr<FolderLock>(new FolderLock(path, fd));
    }
    ::close(fd);
  }
  return std::unique_ptr<FolderLock>();
}

FolderLock::~FolderLock() {
  // Unlink first: whoever waits on this file finds, once it has the lock,
  // that the path no longer names it, and opens the path again.
  ::unlink(path_.c_str());
  ::close(fd_);
}

}  // namespace sic
