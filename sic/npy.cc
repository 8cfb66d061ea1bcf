#include "sic/npy.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>
#include <string_view>

#include "sic/file_writer.h"

namespace sic {
namespace {

static_assert(sizeof(float) == 4 && sizeof(double) == 8, "IEEE floats expected");
constexpr char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;
constexpr size_t kMaxHeaderLen = 10000;  // NumPy's own default limit (numpy.lib.format)
constexpr size_t kMaxDims = 32;          // NumPy's NPY_MAXDIMS before 2.0

size_t ElementSize(NpyDtype d) { return d == NpyDtype::kFloat32 ? 4 : 8; }

bool HostIsLittleEndian() {
  const uint16_t one = 1;
  unsigned char first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

// Text from a file as an error shows it: one printable line of at most 200 characters.
std::string Printable(std::string text) {
  if (text.size() > 200) text = text.substr(0, 200) + "...";
  for (char& c : text) c = (c < 0x20 || c > 0x7e) ? '?' : c;
  return text;
}

// The header is a Python dict literal, e.g.
//   {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
// read by a small scanner (no std::regex: its matcher recurses per character,
// and a header is up to kMaxHeaderLen bytes from anyone). Values are kept as
// text: a quoted string with its quotes, True / False, or a tuple "(...)".
class HeaderScanner {
 public:
  explicit HeaderScanner(const std::string& text) : s_(text) {}

  // Every key and value, or false if the text is not such a dict.
  bool Parse(std::vector<std::pair<std::string, std::string>>* items) {
    Skip();
    if (!Eat('{')) return false;
    for (;;) {
      Skip();
      if (Eat('}')) break;
      std::string key, value;
      if (!Quoted(&key)) return false;
      key = key.substr(1, key.size() - 2);
      Skip();
      if (!Eat(':')) return false;
      Skip();
      if (!Value(&value)) return false;
      items->emplace_back(std::move(key), std::move(value));
      Skip();
      if (Eat('}')) break;
      if (!Eat(',')) return false;
    }
    Skip();
    return i_ == s_.size();
  }

 private:
  void Skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool Eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) return ++i_, true;
    return false;
  }
  // Everything from an opening character to its (first) closing one, both included.
  bool Span(char open, char close, std::string* out) {
    if (i_ >= s_.size() || s_[i_] != open) return false;
    const size_t end = s_.find(close, i_ + 1);
    if (end == std::string::npos) return false;
    *out = s_.substr(i_, end - i_ + 1);
    i_ = end + 1;
    return true;
  }
  bool Quoted(std::string* out) { return Span('\'', '\'', out) || Span('"', '"', out); }
  bool Word(const char* word, std::string* out) {
    const size_t n = std::strlen(word);
    if (s_.compare(i_, n, word) != 0) return false;
    *out = word;
    i_ += n;
    return true;
  }
  bool Value(std::string* out) {
    return Quoted(out) || Span('(', ')', out) || Word("True", out) || Word("False", out);
  }

  const std::string& s_;
  size_t i_ = 0;
};

}  // namespace

int64_t NpyArray::size() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

double NpyArray::at(int64_t i) const {
  if (dtype == NpyDtype::kFloat32) {
    float v;
    std::memcpy(&v, data.data() + i * 4, 4);
    return v;
  }
  double v;
  std::memcpy(&v, data.data() + i * 8, 8);
  return v;
}

NpyArray NpyArray::FromFloat32(std::vector<int64_t> shape, const float* values) {
  NpyArray a;
  a.dtype = NpyDtype::kFloat32;
  a.shape = std::move(shape);
  a.data.resize(a.size() * 4);
  if (!a.data.empty()) std::memcpy(a.data.data(), values, a.data.size());
  return a;
}

NpyArray NpyArray::FromFloat64(std::vector<int64_t> shape, const double* values) {
  NpyArray a;
  a.dtype = NpyDtype::kFloat64;
  a.shape = std::move(shape);
  a.data.resize(a.size() * 8);
  if (!a.data.empty()) std::memcpy(a.data.data(), values, a.data.size());
  return a;
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  if (shape.size() == 1) s += ",";
  return s + ")";
}

Result<NpyArray> ParseNpy(const std::string& bytes, const std::string& name) {
  auto fail = [&](const std::string& why) { return Status::InvalidArgument(name + ": " + why); };
  if (!HostIsLittleEndian()) return fail("big-endian hosts are not supported");
  if (bytes.size() < kMagicLen + 4 || bytes.compare(0, kMagicLen, kMagic, kMagicLen) != 0) {
    return fail("not a .npy file (bad magic)");
  }
  const auto major = static_cast<unsigned char>(bytes[6]);
  size_t header_len = 0, offset = 0;
  if (major == 1) {
    header_len = static_cast<unsigned char>(bytes[8]) | static_cast<unsigned char>(bytes[9]) << 8;
    offset = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) return fail("truncated header");
    for (int i = 3; i >= 0; --i) header_len = header_len << 8 | static_cast<unsigned char>(bytes[8 + i]);
    offset = 12;
  } else {
    return fail("unsupported .npy format version " + std::to_string(major));
  }
  if (bytes.size() < offset + header_len) return fail("truncated header");
  if (header_len > kMaxHeaderLen) {
    return fail("header of " + std::to_string(header_len) + " bytes is over the limit of " +
                std::to_string(kMaxHeaderLen));
  }
  const std::string header = bytes.substr(offset, header_len);
  offset += header_len;

  // Exactly the three keys NumPy writes, each once.
  std::vector<std::pair<std::string, std::string>> items;
  std::string descr, fortran, shape_text;
  bool well_formed = HeaderScanner(header).Parse(&items) && items.size() == 3;
  for (const auto& [key, value] : items) {
    std::string* slot = key == "descr" ? &descr : key == "fortran_order" ? &fortran : key == "shape" ? &shape_text : nullptr;
    if (!slot || !slot->empty()) well_formed = false;
    else *slot = value;
  }
  if (!well_formed || shape_text.empty() || shape_text[0] != '(') {
    return fail("malformed header: " + Printable(header.substr(0, header.find_last_not_of(" \n") + 1)));
  }
  NpyArray array;
  if (descr == "'<f4'" || descr == "\"<f4\"") {
    array.dtype = NpyDtype::kFloat32;
  } else if (descr == "'<f8'" || descr == "\"<f8\"") {
    array.dtype = NpyDtype::kFloat64;
  } else {
    return fail("unsupported dtype " + Printable(descr) + " (need little-endian float32 '<f4' or float64 '<f8')");
  }
  if (fortran != "False") return fail("Fortran-order arrays are not supported (save with C order)");

  // shape_text is "(d0, d1, ...)" with an optional trailing comma; "()" is a scalar.
  std::string dims = shape_text.substr(1, shape_text.size() - 2);
  std::stringstream ss(dims);
  std::string item;
  // Both the element count and the product of the non-zero dimensions are
  // bounded: a (0, 10^15, 10^15) array holds nothing, but whoever loops over
  // its dimensions would not finish.
  constexpr int64_t kMaxCount = std::numeric_limits<int64_t>::max() / 16;
  int64_t count = 1, extent = 1;
  while (std::getline(ss, item, ',')) {
    const auto first = item.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    const std::string digits = item.substr(first, item.find_last_not_of(" \t") - first + 1);
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos ||
        digits.size() > 15 || array.shape.size() == kMaxDims) {
      return fail("malformed shape " + Printable(shape_text));
    }
    const int64_t d = std::stoll(digits);
    if (d != 0 && extent > kMaxCount / d) return fail("shape too large " + Printable(shape_text));
    if (d != 0) extent *= d;
    count *= d;  // <= extent
    array.shape.push_back(d);
  }
  const size_t need = static_cast<size_t>(count) * ElementSize(array.dtype);
  const size_t have = bytes.size() - offset;
  if (have < need) {
    return fail("truncated data: shape " + ShapeString(array.shape) + " needs " + std::to_string(need) +
                " bytes, file has " + std::to_string(have));
  }
  if (have > need) return fail("trailing bytes after the data (" + std::to_string(have - need) + ")");
  array.data.assign(bytes.begin() + static_cast<std::ptrdiff_t>(offset), bytes.end());
  return array;
}

Result<NpyArray> ReadNpy(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open file");
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return ParseNpy(bytes, path);
}

Status WriteNpy(const std::string& path, const NpyArray& array) {
  if (static_cast<size_t>(array.size()) * ElementSize(array.dtype) != array.data.size()) {
    return Status::Error(path + ": data size does not match shape " + ShapeString(array.shape));
  }
  std::string header = std::string("{'descr': '") + (array.dtype == NpyDtype::kFloat32 ? "<f4" : "<f8") +
                       "', 'fortran_order': False, 'shape': " + ShapeString(array.shape) + ", }";
  // Pad with spaces so that magic + version + length + header + '\n' is a multiple of 64.
  const size_t total = kMagicLen + 2 + 2 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  if (header.size() > 65535) return Status::Error(path + ": header too long");

  const char version[2] = {1, 0};
  const char len[2] = {static_cast<char>(header.size() & 0xff), static_cast<char>(header.size() >> 8)};
  const std::string prefix = std::string(kMagic, kMagicLen) + std::string(version, 2) + std::string(len, 2) + header;
  return WriteFileAtomically(path, [&](FileWriter& out) {
    if (Status s = out.Write(prefix); !s.ok()) return s;
    return out.Write(std::string_view(array.data.data(), array.data.size()));
  });
}

}  // namespace sic
