#include "worker/gpu_memory.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstddef>

namespace sic {
namespace {

// The three driver entry points used, by their documented C signatures
// (CUresult is an int enum, 0 = CUDA_SUCCESS; CUdevice an int).
using InitFn = int (*)(unsigned int flags);
using DeviceGetFn = int (*)(int* device, int ordinal);
using TotalMemFn = int (*)(size_t* bytes, int device);

struct Driver {
  InitFn init = nullptr;
  DeviceGetFn device_get = nullptr;
  TotalMemFn total_mem = nullptr;
  bool ok = false;
};

const Driver& LoadDriver() {
  static const Driver driver = [] {
    Driver d;
    void* lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return d;  // no NVIDIA driver on this machine; kept loaded otherwise
    d.init = reinterpret_cast<InitFn>(dlsym(lib, "cuInit"));
    d.device_get = reinterpret_cast<DeviceGetFn>(dlsym(lib, "cuDeviceGet"));
    d.total_mem = reinterpret_cast<TotalMemFn>(dlsym(lib, "cuDeviceTotalMem_v2"));
    d.ok = d.init && d.device_get && d.total_mem && d.init(0) == 0;
    return d;
  }();
  return driver;
}

}  // namespace

double GpuMemoryGb(const std::vector<int>& gpus) {
  if (gpus.empty()) return 0;
  const Driver& d = LoadDriver();
  if (!d.ok) return 0;
  double smallest = -1;
  for (int ordinal : gpus) {
    int device = 0;
    size_t bytes = 0;
    if (d.device_get(&device, ordinal) != 0 || d.total_mem(&bytes, device) != 0) return 0;
    const double gb = static_cast<double>(bytes / (size_t{1} << 30));
    smallest = smallest < 0 ? gb : std::min(smallest, gb);
  }
  return std::max(0.0, smallest);
}

}  // namespace sic
