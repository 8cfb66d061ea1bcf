#include "sic/npy_tensor.h"

namespace sic {

torch::Tensor TensorFromNpy(const NpyArray& array) {
  const auto dtype = array.dtype == NpyDtype::kFloat32 ? torch::kFloat32 : torch::kFloat64;
  auto t = torch::empty(array.shape, dtype);
  if (!array.data.empty()) std::memcpy(t.data_ptr(), array.data.data(), array.data.size());
  return t;
}

NpyArray NpyFromTensor(const torch::Tensor& tensor) {
  const std::vector<int64_t> shape(tensor.sizes().begin(), tensor.sizes().end());
  if (tensor.scalar_type() == torch::kFloat64) {
    const auto t = tensor.detach().cpu().contiguous();
    return NpyArray::FromFloat64(shape, t.data_ptr<double>());
  }
  const auto t = tensor.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  return NpyArray::FromFloat32(shape, t.data_ptr<float>());
}

}  // namespace sic
