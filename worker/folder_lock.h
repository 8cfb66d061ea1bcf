// FolderLock: one process at a time works in a trial's checkpoint folder.
//
// A job can be delivered twice at once: its lease runs out while Redis is
// away and another worker takes it over, yet the first worker trains on
// (it cannot hear that it lost the lease until Redis is back). Both would
// then append to one curve.jsonl, write one checkpoint.pt.tmp and remove the
// folder under each other. The lock is flock(2) on "<folder>.lock" beside
// the folder: the kernel drops it when its holder dies, however it dies, so
// no stale lock outlives a killed worker (NFSv4 carries flock too).
//
// On a volume that has no locks at all (flock fails with ENOLCK, as NFSv3
// without a lock daemon does) the folder is used without the exclusion, and
// the log says so once: refusing every trial would be worse.
//
// The file is unlinked on release, so locks do not pile up beside the
// folders; TryLock therefore checks that the file it locked is still the one
// at the path (a holder may have released it in between) and tries again if
// not.
//
// Thread-safety: a FolderLock belongs to one thread; TryLock may be called
// from any thread (two slots of one process exclude each other too, as
// each opens its own file description). Ownership: the lock is held for the
// object's lifetime.
#pragma once

#include <memory>
#include <string>

#include "sic/status.h"

namespace sic {

class FolderLock {
 public:
  // The lock on `folder` (the folder itself need not exist; its parent is
  // created when missing), or nullptr when another holder has it. An error
  // when the lock file cannot be opened (the parent is a file, no
  // permission, a full disk), naming the file and the system's reason.
  static Result<std::unique_ptr<FolderLock>> TryLock(const std::string& folder);
  ~FolderLock();  // unlinks the lock file, then releases
  FolderLock(const FolderLock&) = delete;
  FolderLock& operator=(const FolderLock&) = delete;

 private:
  FolderLock(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
};

}  // namespace sic
