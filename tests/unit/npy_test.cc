// .npy round trips and the refusal of everything we do not read.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "sic/npy.h"

namespace sic {
namespace {

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("sic_npy_test_" + std::to_string(::getpid()) + name)).string();
}

// A file in NumPy's own layout: magic, version, header length, header, data.
std::string MakeFile(const std::string& header_dict, const std::string& data, int major = 1) {
  std::string header = header_dict;
  const size_t prefix = major == 1 ? 10 : 12;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::string out = std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0';
  const uint32_t n = header.size();
  out.push_back(static_cast<char>(n & 0xff));
  out.push_back(static_cast<char>(n >> 8 & 0xff));
  if (major != 1) {
    out.push_back(static_cast<char>(n >> 16 & 0xff));
    out.push_back(static_cast<char>(n >> 24));
  }
  return out + header + data;
}

TEST(Npy, RoundTripsFloat32AndFloat64) {
  const std::vector<float> f = {1.5f, -2.0f, 3.25f, 0.0f, 1e-30f, -7.0f};
  const std::vector<double> d = {1.0 / 3, -2.5, 1e300, 4.0};
  const std::string pf = TempPath("f.npy"), pd = TempPath("d.npy");
  ASSERT_TRUE(WriteNpy(pf, NpyArray::FromFloat32({2, 3}, f.data())).ok());
  ASSERT_TRUE(WriteNpy(pd, NpyArray::FromFloat64({4}, d.data())).ok());
  auto rf = ReadNpy(pf);
  auto rd = ReadNpy(pd);
  ASSERT_TRUE(rf.ok() && rd.ok());
  EXPECT_EQ(rf->dtype, NpyDtype::kFloat32);
  EXPECT_EQ(rf->shape, (std::vector<int64_t>{2, 3}));
  for (int i = 0; i < 6; ++i) EXPECT_EQ(rf->at(i), f[i]);
  EXPECT_EQ(rd->dtype, NpyDtype::kFloat64);
  EXPECT_EQ(rd->shape, (std::vector<int64_t>{4}));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(rd->at(i), d[i]);
  std::remove(pf.c_str());
  std::remove(pd.c_str());
}

TEST(Npy, ScalarsEmptyArraysAndVersion2Headers) {
  const double x = 42;
  std::string path = TempPath("s.npy");
  ASSERT_TRUE(WriteNpy(path, NpyArray::FromFloat64({}, &x)).ok());
  auto s = ReadNpy(path);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->shape.empty());
  EXPECT_EQ(s->at(0), 42);
  std::remove(path.c_str());

  auto empty = ParseNpy(MakeFile("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", ""), "e");
  ASSERT_TRUE(empty.ok()) << empty.status().message();
  EXPECT_EQ(empty->size(), 0);

  const float one = 1.0f;
  auto v2 = ParseNpy(MakeFile("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                              std::string(reinterpret_cast<const char*>(&one), 4), 2),
                     "v2");
  ASSERT_TRUE(v2.ok()) << v2.status().message();
  EXPECT_EQ(v2->at(0), 1.0);
}

TEST(Npy, WrittenHeaderIsAlignedTo64Bytes) {
  const float f = 1;
  const std::string path = TempPath("a.npy");
  ASSERT_TRUE(WriteNpy(path, NpyArray::FromFloat32({1}, &f)).ok());
  EXPECT_EQ(std::filesystem::file_size(path) % 64, 4u);  // header padded, then 4 bytes of data
  std::remove(path.c_str());
}

std::string ErrorOf(const std::string& bytes) {
  auto r = ParseNpy(bytes, "x.npy");
  return r.ok() ? "" : r.status().message();
}

TEST(Npy, RejectsMalformedFiles) {
  const std::string eight(8, '\0');
  EXPECT_EQ(ErrorOf("PK\x03\x04 not numpy"), "x.npy: not a .npy file (bad magic)");
  EXPECT_EQ(ErrorOf(MakeFile("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", eight)),
            "x.npy: unsupported dtype '<i8' (need little-endian float32 '<f4' or float64 '<f8')");
  EXPECT_EQ(ErrorOf(MakeFile("{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }", eight)),
            "x.npy: unsupported dtype '>f8' (need little-endian float32 '<f4' or float64 '<f8')");
  EXPECT_EQ(ErrorOf(MakeFile("{'descr': '<f8', 'fortran_order': True, 'shape': (1,), }", eight)),
            "x.npy: Fortran-order arrays are not supported (save with C order)");
  EXPECT_EQ(ErrorOf(MakeFile("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", eight)),
            "x.npy: truncated data: shape (2, 3) needs 48 bytes, file has 8");
  EXPECT_EQ(ErrorOf(MakeFile("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", eight + "xx")),
            "x.npy: trailing bytes after the data (2)");
  EXPECT_EQ(ErrorOf(MakeFile("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,), }", eight)),
            "x.npy: malformed shape (-1,)");
  EXPECT_EQ(ErrorOf(MakeFile("{'descr': '<f8', 'shape': (1,), }", eight)),
            "x.npy: malformed header: {'descr': '<f8', 'shape': (1,), }");
  EXPECT_EQ(ErrorOf(std::string("\x93NUMPY\x01\x00\xff\x00{'descr'", 16)), "x.npy: truncated header");
  EXPECT_EQ(ErrorOf(std::string("\x93NUMPY\x07\x00\x10\x00", 10)), "x.npy: unsupported .npy format version 7");
}

// Bytes from anyone: a long header (std::regex recursed once per character and
// overflowed the stack on a 60 KB one), a shape whose dimensions multiply past
// 64 bits or hold nothing but a huge extent, too many dimensions, keys twice
// or hidden in a value: each is one error line, and nothing is allocated.
TEST(Npy, HostileHeadersAreRefusedCheaply) {
  const std::string eight(8, '\0');
  const std::string open_shape = MakeFile("{'descr': '<f8', 'fortran_order': False, 'shape': (" +
                                          std::string(60000, '1') + " }", "", 2);
  EXPECT_EQ(ErrorOf(open_shape), "x.npy: header of " + std::to_string(open_shape.size() - 12) +
                                     " bytes is over the limit of 10000");
  const std::string open_short = MakeFile("{'descr': '<f8', 'fortran_order': False, 'shape': (" +
                                          std::string(9000, '1') + " }", "");
  EXPECT_EQ(ErrorOf(open_short).rfind("x.npy: malformed header: {'descr': '<f8'", 0), 0u);
  EXPECT_LT(ErrorOf(open_short).size(), 300u);
  EXPECT_EQ(ErrorOf(std::string("\x93NUMPY\x02\x00\xff\xff\xff\xff{", 13)), "x.npy: truncated header");
  EXPECT_EQ(ErrorOf(MakeFile("{'descr': '<f8', 'fortran_order': False, 'shape': (999999999999999, 999999999999999), }", "")),
            "x.npy: shape too large (999999999999999, 999999999999999)");
  EXPECT_EQ(ErrorOf(MakeFile("{'descr': '<f8', 'fortran_order': False, 'shape': (0, 999999999999999, 999999999999999), }", "")),
            "x.npy: shape too large (0, 999999999999999, 999999999999999)");
  std::string dims33 = "(";
  for (int i = 0; i < 33; ++i) dims33 += "1, ";
  EXPECT_EQ(ErrorOf(MakeFile("{'descr': '<f8', 'fortran_order': False, 'shape': " + dims33 + "), }", eight)),
            "x.npy: malformed shape " + dims33 + ")");
  EXPECT_EQ(ErrorOf(MakeFile("{'descr': '<f8', 'descr': '<f4', 'shape': (1,), }", eight)),
            "x.npy: malformed header: {'descr': '<f8', 'descr': '<f4', 'shape': (1,), }");
  EXPECT_EQ(ErrorOf(MakeFile("{'descr': \"'shape': (9,)\", 'fortran_order': False, 'shape': (1,), }", eight)),
            "x.npy: unsupported dtype \"'shape': (9,)\" (need little-endian float32 '<f4' or float64 '<f8')");
  EXPECT_EQ(ErrorOf(MakeFile("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'extra': True}", eight)),
            "x.npy: malformed header: {'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'extra': True}");
  // Control characters in a header come back as '?', on one line.
  EXPECT_EQ(ErrorOf(MakeFile("{'descr': '<f8\n', 'shape': (1,), }", eight)),
            "x.npy: malformed header: {'descr': '<f8?', 'shape': (1,), }");
  EXPECT_EQ(ErrorOf(MakeFile("{'descr': '<f\n8', 'fortran_order': False, 'shape': (1,), }", eight)),
            "x.npy: unsupported dtype '<f?8' (need little-endian float32 '<f4' or float64 '<f8')");
  EXPECT_EQ(ParseNpy("PK", "x.npy").status().code(), Status::Code::kInvalidArgument);
  // 32 dimensions, and NumPy's own spellings, are still read.
  std::string dims32 = "(";
  for (int i = 0; i < 32; ++i) dims32 += "1,";
  EXPECT_EQ(ErrorOf(MakeFile("{'descr': '<f8', 'fortran_order': False, 'shape': " + dims32 + "), }", eight)), "");
  EXPECT_EQ(ErrorOf(MakeFile("{\"descr\": \"<f8\", \"fortran_order\": False, \"shape\": (1,)}", eight)), "");
}

TEST(Npy, MissingFileIsAnError) {
  auto r = ReadNpy("/nonexistent/g.npy");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "/nonexistent/g.npy: cannot open file");
}

}  // namespace
}  // namespace sic
