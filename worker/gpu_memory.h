// GpuMemoryGb: the memory of the GPUs a worker runs on, as the NVIDIA driver
// reports it, so that a GPU worker serves the memory queues its GPUs can
// (common/resources.h) without the operator typing the size in.
//
// It asks the driver API (libcuda.so.1, cuDeviceTotalMem) at run time rather
// than linking CUDA: the worker binary is the same for CPU and GPU images,
// and LibTorch's C++ API has no call for a device's memory. Ordinals are
// those the process sees (CUDA_VISIBLE_DEVICES applies), as --gpus uses them.
//
// Thread-safe; cheap after the first call.
#pragma once

#include <vector>

namespace sic {

// The smallest total memory, in GB (2^30 bytes, rounded down), of `gpus`; 0
// when there is no driver, a GPU cannot be asked, or `gpus` is empty.
double GpuMemoryGb(const std::vector<int>& gpus);

}  // namespace sic
