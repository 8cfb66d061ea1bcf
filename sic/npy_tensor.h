// Conversions between NpyArray and torch::Tensor (CPU, float32/float64).
#pragma once

#include <torch/torch.h>

#include "sic/npy.h"

namespace sic {

torch::Tensor TensorFromNpy(const NpyArray& array);  // a CPU tensor owning its data
NpyArray NpyFromTensor(const torch::Tensor& tensor);  // any device; float64 stays float64, else float32

}  // namespace sic
