// Process set-up for anything that runs the science core: thread counts, the
// device, and which BLAS LibTorch really calls. Debian's libtorch links the
// generic libblas.so.3, so the BLAS is chosen at run time by the alternatives
// system; the reference BLAS there is ~10x slower for this model than OpenBLAS.
#pragma once

#include <string>

#include <torch/torch.h>

#include "sic/status.h"

namespace sic {

struct RuntimeInfo {
  std::string torch_version;  // e.g. "1.13.1"
  std::string device;         // e.g. "cpu" or "cuda:0 (NVIDIA H100 80GB HBM3)"
  std::string blas;           // e.g. "OpenBLAS 0.3.21 (.../libopenblas.so.0)"
  std::string blas_warning;   // non-empty when the reference BLAS is loaded
  int threads = 1;            // intra-op threads in use
};

// Two settings that must be in the environment before LibTorch's libraries load,
// and that cost 3-10x in speed when wrong (measured on a 2-core VM):
// - OpenBLAS picks its kernels from CPUID. On CPUs it does not recognise (seen:
//   a virtualised Xeon with AVX-512) it falls back to SSE3 "Prescott" kernels;
//   then OPENBLAS_CORETYPE names the right ones (SkylakeX or Haswell).
// - LibTorch's OpenMP threads spin while idle and starve OpenBLAS's own
//   threads on the same cores (a 64-unit step took 2 s instead of 0.14 s);
//   OMP_WAIT_POLICY=PASSIVE makes them sleep.
// When either is missing, this re-executes the program (/proc/self/exe) with it
// set (DescribeRuntime then says so). Variables the user set are left alone, and
// it re-executes at most once.
// Call first thing in main().
void ReexecWithTunedRuntime(char** argv);

// "cpu", "cuda", "cuda:K"; an error names the device when it is not available.
Result<torch::Device> ParseDevice(const std::string& name);

// Sets LibTorch's (and OpenBLAS's) thread count: `threads`, or all cores if 0.
// Idempotent; call before any work.
RuntimeInfo SetUpRuntime(int threads, const torch::Device& device);

// One line for logs: "torch 1.13.1 | device cpu | 2 threads | BLAS OpenBLAS ...".
std::string DescribeRuntime(const RuntimeInfo& info);

}  // namespace sic
