// The coordinator's HTTP boundary as pure functions: the route table (404,
// 405 and Allow from one table), the token comparison, the rule that an
// exposed listener needs a token, and the dashboard's fixed file manifest.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "coordinator/auth.h"
#include "coordinator/http_server.h"
#include "coordinator/rest_api.h"
#include "coordinator/route_table.h"
#include "coordinator/static_files.h"

namespace sic {
namespace {

namespace fs = std::filesystem;

RouteTable Table() {
  return RouteTable({{"GET", "/api/v1/sweeps"},
                     {"POST", "/api/v1/sweeps"},
                     {"GET", "/api/v1/sweeps/{id}"},
                     {"POST", "/api/v1/sweeps/{id}/cancel"},
                     {"GET", "/api/v1/trials/{id}/artifacts/{name...}"},
                     {"GET", "/healthz"}});
}

TEST(RouteTableTest, FindsTheRowAndItsDecodedParameters) {
  const RouteTable t = Table();
  auto m = t.Find("GET", "/api/v1/sweeps/12");
  ASSERT_EQ(m.kind, RouteTable::Match::kFound);
  EXPECT_EQ(m.row, 2);
  EXPECT_EQ(m.params, std::vector<std::string>{"12"});
  m = t.Find("GET", "/api/v1/trials/3/artifacts/arena_2m/ratemaps.png");
  ASSERT_EQ(m.kind, RouteTable::Match::kFound);
  EXPECT_EQ(m.params, (std::vector<std::string>{"3", "arena_2m/ratemaps.png"}));
  m = t.Find("GET", "/api/v1/trials/3/artifacts/a%20b");
  EXPECT_EQ(m.params.back(), "a b");
  EXPECT_EQ(t.Find("POST", "/api/v1/sweeps").row, 1);
}

TEST(RouteTableTest, MethodNotAllowedListsTheTableMethods) {
  const RouteTable t = Table();
  auto m = t.Find("DELETE", "/api/v1/sweeps");
  EXPECT_EQ(m.kind, RouteTable::Match::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, POST");
  m = t.Find("GET", "/api/v1/sweeps/1/cancel");
  EXPECT_EQ(m.kind, RouteTable::Match::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "POST");
}

TEST(RouteTableTest, EncodedSlashesEmptySegmentsAndOddPathsDoNotMatch) {
  const RouteTable t = Table();
  for (const char* path : {"/api/v1/sweeps%2F1", "/api/v1//sweeps", "/api/v1/sweeps/", "//api/v1/sweeps",
                           "/api/v1/sweeps/1/", "api/v1/sweeps", "", "/api/v1/%73weeps", "/api/v1/sweeps/1/x",
                           "/healthz/", "/api/v1/trials/1/artifacts", "/api/v1/trials/1/artifacts/"}) {
    EXPECT_EQ(t.Find("GET", path).kind, RouteTable::Match::kNotFound) << path;
  }
}

TEST(RouteTableTest, TheRestApiTableHasNoDuplicateRows) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const RestApi::Route& r : RestApi::Routes()) {
    EXPECT_TRUE(seen.insert({r.method, r.pattern}).second) << r.method << " " << r.pattern;
    // Every POST changes state: it needs a role that may (never kOpen or kRead).
    if (std::string(r.method) == "POST") {
      EXPECT_TRUE(r.access == Access::kSubmit || r.access == Access::kOwnSweep || r.access == Access::kAdmin)
          << r.pattern;
    }
    // A route on one sweep checks its owner against {id}: it must name a sweep.
    if (r.access == Access::kOwnSweep) {
      EXPECT_STREQ(r.id_of, "sweep") << r.pattern;
    }
  }
}

TEST(PercentDecodeTest, DecodesPairsAndLeavesBrokenEscapes) {
  EXPECT_EQ(PercentDecode("a%2Fb%2fc", false), "a/b/c");
  EXPECT_EQ(PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_EQ(PercentDecode("%", false), "%");
  EXPECT_EQ(PercentDecode("%4", false), "%4");
  EXPECT_EQ(PercentDecode("%zz%41", false), "%zzA");
  EXPECT_EQ(PercentDecode("%00", false), std::string(1, '\0'));
}

TEST(HttpRequestTest, KeepsTheRawTargetBesideTheDecodedPath) {
  HttpRequest r = ToHttpRequest("GET", "/%2Fproc/self?x=%2F&y=a+b&flag", "Bearer t", "application/json", "body");
  EXPECT_EQ(r.target, "/%2Fproc/self");
  EXPECT_EQ(r.path, "//proc/self");
  EXPECT_EQ(r.query.at("x"), "/");
  EXPECT_EQ(r.query.at("y"), "a b");
  EXPECT_EQ(r.query.at("flag"), "");
  EXPECT_EQ(r.authorization, "Bearer t");
  EXPECT_EQ(r.content_type, "application/json");
}

TEST(TokenTest, MatchesOnlyTheExactBearerToken) {
  EXPECT_TRUE(TokenMatches("", ""));             // no token configured: no check
  EXPECT_TRUE(TokenMatches("anything", ""));
  EXPECT_TRUE(TokenMatches("Bearer s3cret", "s3cret"));
  EXPECT_FALSE(TokenMatches("", "s3cret"));
  EXPECT_FALSE(TokenMatches("Bearer ", "s3cret"));
  EXPECT_FALSE(TokenMatches("Bearer s3cre", "s3cret"));
  EXPECT_FALSE(TokenMatches("Bearer s3cret ", "s3cret"));
  EXPECT_FALSE(TokenMatches("Bearer s3creT", "s3cret"));
  EXPECT_FALSE(TokenMatches("bearer s3cret", "s3cret"));
  EXPECT_FALSE(TokenMatches("s3cret", "s3cret"));
  EXPECT_FALSE(TokenMatches("Basic s3cret", "s3cret"));
  EXPECT_FALSE(TokenMatches(std::string("Bearer s3cret\0x", 15), "s3cret"));
  EXPECT_TRUE(TokenMatches("Bearer " + std::string(5000, 'x'), std::string(5000, 'x')));
}

TEST(ExposureTest, LoopbackListenersNeedNoToken) {
  for (const char* a : {"127.0.0.1:8080", "127.1.2.3:1", "[::1]:50051", "localhost:8080", "unix:/tmp/sock",
                        "[::ffff:127.0.0.1]:80"}) {
    EXPECT_TRUE(IsLoopbackListener(a)) << a;
  }
  for (const char* a : {"0.0.0.0:8080", "[::]:50051", ":8080", "10.0.0.5:80", "192.168.1.2:8080",
                        "example.com:80", "8080", "[fe80::1]:80", "[::ffff:10.0.0.1]:80"}) {
    EXPECT_FALSE(IsLoopbackListener(a)) << a;
  }
}

TEST(ExposureTest, AnExposedListenerWithoutATokenIsRefusedUnlessInsecure) {
  const std::vector<std::pair<std::string, std::string>> local = {{"--listen", "127.0.0.1:50051"},
                                                                  {"--http", "127.0.0.1:8080"}};
  const std::vector<std::pair<std::string, std::string>> exposed = {{"--listen", "127.0.0.1:50051"},
                                                                    {"--http", "0.0.0.0:8080"}};
  EXPECT_TRUE(CheckExposure(local, false, false).ok());
  EXPECT_TRUE(CheckExposure(exposed, true, false).ok());
  EXPECT_TRUE(CheckExposure(exposed, false, true).ok());
  Status s = CheckExposure(exposed, false, false);
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(s.message().find("--http 0.0.0.0:8080"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("--insecure"), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find('\n'), std::string::npos);
}

class StaticFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/sic-web-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    outside_ = dir_ + "-outside";
    fs::create_directories(dir_ + "/js/sub");
    fs::create_directories(dir_ + "/node_modules/echarts/dist");
    fs::create_directories(outside_);
    Write(dir_ + "/index.html", "<html>");
    Write(dir_ + "/style.css", "body{}");
    Write(dir_ + "/js/app.js", "app");
    Write(dir_ + "/js/.hidden.js", "hidden");
    Write(dir_ + "/js/notes.txt", "notes");
    Write(dir_ + "/js/sub/deep.js", "deep");
    Write(dir_ + "/.env", "SECRET=1");
    Write(dir_ + "/node_modules/echarts/dist/echarts.esm.min.js", "echarts");
    Write(dir_ + "/node_modules/echarts/package.json", "{}");
    Write(outside_ + "/secret.js", "SECRET");
    fs::create_symlink(outside_ + "/secret.js", dir_ + "/js/leak.js");
  }
  void TearDown() override {
    fs::remove_all(dir_);
    fs::remove_all(outside_);
  }
  static void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

  std::string dir_, outside_;
};

TEST_F(StaticFilesTest, ServesExactlyTheManifest) {
  std::vector<std::string> warnings;
  StaticFiles web = StaticFiles::Load(dir_, &warnings);
  EXPECT_EQ(web.Paths(), (std::vector<std::string>{"/index.html", "/js/app.js",
                                                   "/node_modules/echarts/dist/echarts.esm.min.js", "/style.css"}));
  ASSERT_NE(web.Find("/"), nullptr);
  EXPECT_EQ(web.Find("/")->bytes, "<html>");
  EXPECT_EQ(web.Find("/index.html")->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(web.Find("/js/app.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(web.Find("/js/app.js")->cache_control, "no-cache");
  EXPECT_EQ(web.Find("/node_modules/echarts/dist/echarts.esm.min.js")->cache_control, "public, max-age=86400");
  EXPECT_EQ(web.Find("/style.css")->content_type, "text/css; charset=utf-8");
  // The symbolic link to a file outside is named in a warning and never served.
  bool warned = false;
  for (const std::string& w : warnings) warned |= w.find("leak.js") != std::string::npos;
  EXPECT_TRUE(warned);
}

TEST_F(StaticFilesTest, EverythingElseMisses) {
  std::vector<std::string> warnings;
  StaticFiles web = StaticFiles::Load(dir_, &warnings);
  for (const char* path :
       {"/js/leak.js", "/js/.hidden.js", "/.env", "/js/notes.txt", "/js/sub/deep.js",
        "/node_modules/echarts/package.json", "//etc/passwd", "/%2Fproc/self/environ", "/etc/passwd",
        "/js/../index.html", "/js/%2e%2e/index.html", "/js/app.js%00", "/%c0%af", "/js\\app.js", "index.html",
        "/index.html/", "/INDEX.HTML", ""}) {
    EXPECT_EQ(web.Find(path), nullptr) << path;
  }
}

TEST_F(StaticFilesTest, AMissingDirectoryServesNothingAndSaysSo) {
  std::vector<std::string> warnings;
  StaticFiles web = StaticFiles::Load(dir_ + "/nope", &warnings);
  EXPECT_EQ(web.size(), 0u);
  EXPECT_FALSE(web.has_index());
  EXPECT_FALSE(warnings.empty());
  warnings.clear();
  EXPECT_EQ(StaticFiles::Load("", &warnings).size(), 0u);
  EXPECT_FALSE(warnings.empty());
}

TEST_F(StaticFilesTest, ALinkedDirectoryIsNotFollowed) {
  fs::remove_all(dir_ + "/node_modules/echarts/dist");
  fs::create_directories(outside_ + "/dist");
  Write(outside_ + "/dist/echarts.esm.min.js", "elsewhere");
  fs::create_directory_symlink(outside_ + "/dist", dir_ + "/node_modules/echarts/dist");
  std::vector<std::string> warnings;
  StaticFiles web = StaticFiles::Load(dir_, &warnings);
  EXPECT_EQ(web.Find("/node_modules/echarts/dist/echarts.esm.min.js"), nullptr);
}

}  // namespace
}  // namespace sic
