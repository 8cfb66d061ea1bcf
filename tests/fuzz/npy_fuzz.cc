// libFuzzer target: any bytes given to the .npy reader (sic/npy.cc, what
// `sic analyze` and `sic losses` read) must give an array whose data matches
// its shape, or a one-line error; never a crash, a hang, undefined behaviour
// or an allocation beyond the input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "sic/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  auto array = sic::ParseNpy(bytes, "fuzz.npy");
  if (array.ok()) {
    const size_t element = array->dtype == sic::NpyDtype::kFloat32 ? 4 : 8;
    if (array->data.size() != static_cast<size_t>(array->size()) * element) __builtin_trap();
    if (array->data.size() > size) __builtin_trap();
    if (array->size() > 0) (void)array->at(array->size() - 1);
  } else {
    const std::string& m = array.status().message();
    if (m.empty() || m.size() > 512 || m.find('\n') != std::string::npos) __builtin_trap();
  }
  return 0;
}
