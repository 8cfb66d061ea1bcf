#include "coordinator/static_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <dirent.h>

namespace sic {
namespace {

constexpr size_t kMaxFileBytes = 16 << 20;

const char* ContentType(const std::string& name) {
  struct Type {
    const char* ext;
    const char* type;
  };
  static const Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
  };
  for (const Type& t : kTypes) {
    const size_t n = std::strlen(t.ext);
    if (name.size() > n && name.compare(name.size() - n, n, t.ext) == 0) return t.type;
  }
  return nullptr;
}

std::vector<std::string> Components(const std::string& relative) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= relative.size()) {
    size_t end = relative.find('/', start);
    if (end == std::string::npos) end = relative.size();
    out.push_back(relative.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

// The bytes of web_dir/relative when every directory on the way is a real
// directory (not a link), the file is a regular file (not a link) and no
// component is empty or starts with a dot. Otherwise "" and *why.
bool ReadManifestFile(const std::string& web_dir, const std::string& relative, std::string* bytes,
                      std::string* why) {
  std::string path = web_dir;
  const std::vector<std::string> parts = Components(relative);
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty() || parts[i][0] == '.') {
      *why = "not a plain name";
      return false;
    }
    path += "/" + parts[i];
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) {
      *why = std::strerror(errno);
      return false;
    }
    const bool last = i + 1 == parts.size();
    if (last ? !S_ISREG(st.st_mode) : !S_ISDIR(st.st_mode)) {
      *why = S_ISLNK(st.st_mode) ? "a symbolic link" : last ? "not a regular file" : "not a directory";
      return false;
    }
  }
  // O_NOFOLLOW: a link swapped in since the lstat is refused, not followed.
  const int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    *why = std::strerror(errno);
    return false;
  }
  struct stat st;
  bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && static_cast<size_t>(st.st_size) <= kMaxFileBytes;
  if (!ok) *why = "not a regular file of at most 16 MiB";
  std::string out;
  if (ok) {
    out.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < out.size()) {
      const ssize_t n = read(fd, &out[got], out.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    out.resize(got);
  }
  close(fd);
  if (ok) *bytes = std::move(out);
  return ok;
}

// The names in web_dir/dir that end in `ext` (no dot files), sorted; none
// when dir is missing or a link.
std::vector<std::string> Listing(const std::string& web_dir, const std::string& dir, const std::string& ext) {
  std::vector<std::string> out;
  const std::string path = web_dir + "/" + dir;
  struct stat st;
  if (lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return out;
  DIR* d = opendir(path.c_str());
  if (!d) return out;
  while (const dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name.empty() || name[0] == '.' || name.size() <= ext.size()) continue;
    if (name.compare(name.size() - ext.size(), ext.size(), ext) != 0) continue;
    out.push_back(dir + "/" + name);
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

const std::vector<std::string>& StaticFiles::LibraryFiles() {
  // web/js/charts.js: import('../node_modules/echarts/dist/echarts.esm.min.js'),
  // one self-contained ES module.
  static const std::vector<std::string> kLibraryFiles = {"node_modules/echarts/dist/echarts.esm.min.js"};
  return kLibraryFiles;
}

StaticFiles StaticFiles::Load(const std::string& web_dir, std::vector<std::string>* warnings) {
  StaticFiles out;
  if (web_dir.empty()) {
    warnings->push_back("no --web-dir: the dashboard is not served; the API still works");
    return out;
  }
  std::vector<std::string> app = {"index.html", "style.css"};
  for (std::string& js : Listing(web_dir, "js", ".js")) app.push_back(std::move(js));
  // `if_missing`: the warning for a file that is not there ("" = none).
  auto add = [&](const std::string& relative, const char* cache_control, const std::string& if_missing) {
    std::string bytes, why;
    const char* type = ContentType(relative);
    if (!type) return;
    if (!ReadManifestFile(web_dir, relative, &bytes, &why)) {
      const bool missing = why == std::strerror(ENOENT) || why == std::strerror(ENOTDIR);
      if (!missing || !if_missing.empty()) {
        warnings->push_back(web_dir + "/" + relative + ": not served (" + (missing ? if_missing : why) + ")");
      }
      return;
    }
    out.files_["/" + relative] = StaticFile{type, cache_control, std::move(bytes)};
  };
  for (const std::string& f : app) add(f, "no-cache", f == "style.css" ? "missing" : "");
  for (const std::string& f : LibraryFiles()) {
    add(f, "public, max-age=86400", "missing: the plots will not draw; run scripts/bootstrap, or npm ci in " + web_dir);
  }
  return out;
}

const StaticFile* StaticFiles::Find(const std::string& path) const {
  auto it = files_.find(path == "/" ? "/index.html" : path);
  return it == files_.end() ? nullptr : &it->second;
}

std::vector<std::string> StaticFiles::Paths() const {
  std::vector<std::string> out;
  for (const auto& [path, file] : files_) out.push_back(path);
  return out;
}

}  // namespace sic
