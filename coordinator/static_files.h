// StaticFiles: the dashboard's files, read into memory once at start-up from
// a fixed manifest, and looked up by the exact request path. No request path
// is ever joined onto a directory: what is not in the map does not exist, so
// "/%2Fproc/self/environ", "//etc/passwd", "/js/../index.html", NUL bytes,
// overlong UTF-8 or backslashes can only miss.
//
// The manifest (relative to web_dir):
//   index.html, style.css, js/*.js   the app's own files ("Cache-Control: no-cache")
//   kLibraryFiles                    the front-end libraries the app imports from
//                                    node_modules ("public, max-age=86400": they
//                                    change only with package-lock.json)
// Each must be a regular file reached through real directories: symbolic links
// (a link placed in web/ that points elsewhere) and dot files are skipped, and
// so is anything over 16 MiB (the whole set is about 1-2 MB).
//
// Thread-safety: immutable after Load; Find may be called concurrently.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace sic {

struct StaticFile {
  std::string content_type;
  std::string cache_control;
  std::string bytes;
};

class StaticFiles {
 public:
  // The library files the dashboard imports (web/js/charts.js), relative to web_dir.
  static const std::vector<std::string>& LibraryFiles();

  StaticFiles() = default;  // empty: every lookup misses
  // Reads the manifest's files under `web_dir`. A missing directory or file is
  // not an error (the API works without a dashboard): each is named in
  // *warnings, one line each.
  static StaticFiles Load(const std::string& web_dir, std::vector<std::string>* warnings);

  // The file served at `path` (the request target without its query, exactly
  // as sent; "/" is index.html), or nullptr.
  const StaticFile* Find(const std::string& path) const;

  bool has_index() const { return files_.count("/index.html") > 0; }
  size_t size() const { return files_.size(); }
  // The request paths served, sorted (for tests and the start-up log).
  std::vector<std::string> Paths() const;

 private:
  std::map<std::string, StaticFile> files_;  // "/js/app.js" -> the file
};

}  // namespace sic
