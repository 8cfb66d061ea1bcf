// The SIC recurrence over a batch in shared form (sic-method 2.1):
//   g_{b,t} = NormReLU(W[order[b, t]] g_{b,t-1}),   g_{b,0} = g0
// where W [U, N, N] holds one recurrent matrix per distinct step.
//
// On the CPU this is one autograd node with hand-written loops: each step reads
// the U matrices in place (U*N*N floats stay in cache) instead of gathering a
// [B, N, N] copy per step, and backward accumulates dW row by row instead of
// materialising B outer products per step. Other devices use index_select + bmm.
#pragma once

#include <torch/torch.h>

namespace sic {

enum class RecurrenceKernel {
  kAuto,      // fused loops on CPU, tensor ops elsewhere
  kTensorOps  // index_select + bmm everywhere (the reference)
};

// W [U, N, N], g0 [N], order [B, T] int64 -> states g_1..g_T, [B, T, N].
torch::Tensor SharedRecurrence(const torch::Tensor& W, const torch::Tensor& g0, const torch::Tensor& order,
                               double eps, RecurrenceKernel kernel = RecurrenceKernel::kAuto);

}  // namespace sic
