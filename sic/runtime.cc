#include "sic/runtime.h"

#include <dlfcn.h>
#include <link.h>
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace sic {
namespace {

// Paths of every shared object in the process.
std::vector<std::string> LoadedLibraries() {
  std::vector<std::string> paths;
  dl_iterate_phdr(
      [](struct dl_phdr_info* info, size_t, void* data) {
        if (info->dlpi_name && *info->dlpi_name) {
          static_cast<std::vector<std::string>*>(data)->push_back(info->dlpi_name);
        }
        return 0;
      },
      &paths);
  return paths;
}

std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  return realpath(path.c_str(), buf) ? std::string(buf) : path;
}

// Which BLAS LibTorch's calls land in. Debian's LibTorch links libblas.so.3, so
// the resolved path of that library decides (OpenBLAS's liblapack may be loaded
// beside a reference libblas, so exported OpenBLAS symbols alone prove nothing).
// Without a libblas (wheels link MKL statically) fall back to symbols and the
// build config. Sets `warning` for the reference BLAS.
std::string DetectBlas(std::string* warning) {
  std::string libblas;
  for (const auto& lib : LoadedLibraries()) {
    const auto slash = lib.rfind('/');
    if (lib.compare(slash == std::string::npos ? 0 : slash + 1, 9, "libblas.s") == 0) libblas = RealPath(lib);
  }
  using TextFn = char* (*)();
  const auto openblas_config = reinterpret_cast<TextFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"));
  const auto openblas_core = reinterpret_cast<TextFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  auto describe_openblas = [&](const std::string& path) {
    // The config names the build's baseline; the core is what runs.
    return std::string(openblas_config()) + (openblas_core ? std::string(", kernels ") + openblas_core() : "") +
           (path.empty() ? "" : " (" + path + ")");
  };
  if (!libblas.empty()) {
    if (libblas.find("openblas") != std::string::npos && openblas_config) return describe_openblas(libblas);
    if (libblas.find("mkl") != std::string::npos) return "MKL (" + libblas + ")";
    if (libblas.find("/blas/") != std::string::npos) {
      *warning = "the reference BLAS is loaded (" + libblas +
                 "); training is ~10x slower. Fix: run scripts/bootstrap (installs libopenblas0-pthread), or "
                 "`update-alternatives --config libblas.so.3-x86_64-linux-gnu`, and check LD_LIBRARY_PATH";
      return "reference BLAS (" + libblas + ")";
    }
    return libblas;
  }
  if (openblas_config) return describe_openblas("");
  if (dlsym(RTLD_DEFAULT, "mkl_get_max_threads")) return "MKL";
  const std::string config = torch::show_config();
  const auto at = config.find("BLAS_INFO=");
  if (at != std::string::npos) return "built in: " + config.substr(at, config.find(',', at) - at);
  return "unknown";
}

constexpr char kReexecGuard[] = "SIC_BLAS_REEXECUTED";

}  // namespace

void ReexecWithTunedRuntime(char** argv) {
  if (std::getenv(kReexecGuard)) return;
  using CoreNameFn = char* (*)();
  auto core_name = reinterpret_cast<CoreNameFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (!core_name) return;  // not OpenBLAS: neither setting applies
  std::string changes;
  const std::string core = core_name();
  const bool generic = core == "Prescott" || core == "Core2" || core == "Penryn" || core == "Nehalem";
  const char* better = __builtin_cpu_supports("avx512f") ? "SkylakeX"
                       : __builtin_cpu_supports("avx2")  ? "Haswell"
                                                         : nullptr;
  if (!std::getenv("OPENBLAS_CORETYPE") && generic && better) {
    setenv("OPENBLAS_CORETYPE", better, 1);
    changes += std::string(" OPENBLAS_CORETYPE=") + better + " (OpenBLAS chose its generic " + core + " kernels)";
  }
  if (!std::getenv("OMP_WAIT_POLICY")) {
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    changes += " OMP_WAIT_POLICY=PASSIVE";
  }
  if (changes.empty()) return;
  setenv(kReexecGuard, changes.c_str() + 1, 1);  // DescribeRuntime reports it
  execv("/proc/self/exe", argv);
  std::fprintf(stderr, "sic: restart failed (%s); continuing untuned\n", std::strerror(errno));
}

Result<torch::Device> ParseDevice(const std::string& name) {
  try {
    torch::Device device(name);
    if (device.is_cuda()) {
      if (!torch::cuda::is_available()) {
        return Status::Error("run.device: \"" + name + "\" requested, but no CUDA device is available "
                             "(this LibTorch has no CUDA or no GPU is visible)");
      }
      if (device.has_index() && device.index() >= static_cast<int>(torch::cuda::device_count())) {
        return Status::Error("run.device: \"" + name + "\" requested, but only " +
                             std::to_string(torch::cuda::device_count()) + " CUDA devices are visible");
      }
    } else if (!device.is_cpu()) {
      return Status::Error("run.device: \"" + name + "\" is not supported (use cpu or cuda[:K])");
    }
    return device;
  } catch (const c10::Error&) {
    return Status::Error("run.device: \"" + name + "\" is not a device name (use cpu or cuda[:K])");
  }
}

RuntimeInfo SetUpRuntime(int threads, const torch::Device& device) {
  // A training step frees and re-allocates the same few hundred MB; by default
  // glibc hands that memory back to the kernel and page-faults it in again
  // (~20% of a paper-size step). Keep it: serve blocks up to 32 MB from the
  // heap and never trim it by less than 1 GB.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  mallopt(M_TOP_PAD, 64 << 20);
  RuntimeInfo info;
  info.threads = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  torch::set_num_threads(info.threads);
  // OpenBLAS keeps its own pool; match it so a worker's thread budget holds.
  using SetThreadsFn = void (*)(int);
  if (auto set = reinterpret_cast<SetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set(info.threads);
  }
  info.torch_version = std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) +
                       "." + std::to_string(TORCH_VERSION_PATCH);
  info.device = device.str();
  info.blas = DetectBlas(&info.blas_warning);
  return info;
}

std::string DescribeRuntime(const RuntimeInfo& info) {
  const char* tuned = std::getenv(kReexecGuard);
  return "torch " + info.torch_version + " | device " + info.device + " | " + std::to_string(info.threads) +
         " threads | BLAS " + info.blas + (tuned ? std::string(" | restarted with ") + tuned : "");
}

}  // namespace sic
