// Reading and writing NumPy .npy files (format versions 1.0, 2.0 and 3.0), so
// that states, velocities and rate maps open in the tools scientists already use.
// Supported: little-endian float32 ('<f4') and float64 ('<f8') in C order. Any
// other dtype, Fortran order, a bad header or a truncated file is an error that
// names the file and the problem. No LibTorch dependency.
// Bytes from anywhere are safe to parse: the header is at most 10000 bytes (as
// NumPy's own reader) and scanned without recursion, a shape has at most 32
// dimensions whose product (zeros left out) stays below 2^59, and the data
// must be exactly the shape's size, so nothing is allocated beyond the input.
// Errors are InvalidArgument (NotFound for a missing file).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sic/status.h"

namespace sic {

enum class NpyDtype { kFloat32, kFloat64 };

struct NpyArray {
  NpyDtype dtype = NpyDtype::kFloat64;
  std::vector<int64_t> shape;
  std::vector<char> data;  // raw little-endian elements, C order

  int64_t size() const;  // number of elements
  // Element i converted to double.
  double at(int64_t i) const;

  static NpyArray FromFloat32(std::vector<int64_t> shape, const float* values);
  static NpyArray FromFloat64(std::vector<int64_t> shape, const double* values);
};

Result<NpyArray> ReadNpy(const std::string& path);
// Parses an in-memory file (what ReadNpy does after reading it); `name` only labels errors.
Result<NpyArray> ParseNpy(const std::string& bytes, const std::string& name);
// Writes atomically (temporary file, then rename).
Status WriteNpy(const std::string& path, const NpyArray& array);

std::string ShapeString(const std::vector<int64_t>& shape);  // "(2, 3)"

}  // namespace sic
