#include "sic/recurrence.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <vector>

#include "sic/model.h"

namespace sic {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::tensor_list;

// Dot product with independent partial sums, so the compiler can vectorise it
// without reassociating a single accumulator.
template <typename T>
inline T Dot(const T* a, const T* b, int64_t n) {
  constexpr int kLanes = 16;
  T acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int k = 0; k < kLanes; ++k) acc[k] += a[i + k] * b[i + k];
  }
  T sum = 0;
  for (int k = 0; k < kLanes; ++k) sum += acc[k];
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

// y += alpha * x
template <typename T>
inline void Axpy(T alpha, const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

template <typename T>
void ForwardCpu(const T* W, const T* g0, const int64_t* order, int64_t B, int64_t T_len, int64_t N, T eps,
                T* states, T* norms) {
  for (int64_t t = 0; t < T_len; ++t) {
    at::parallel_for(0, B, 8, [&](int64_t begin, int64_t end) {
      std::vector<T> z(N);
      for (int64_t b = begin; b < end; ++b) {
        const T* Wm = W + order[b * T_len + t] * N * N;
        const T* prev = t == 0 ? g0 : states + (b * T_len + t - 1) * N;
        T sq = 0;
        for (int64_t i = 0; i < N; ++i) {
          const T zi = Dot(Wm + i * N, prev, N);
          z[i] = zi <= 0 ? T(0) : zi;  // NaN propagates, as with torch::relu
          sq += z[i] * z[i];
        }
        const T norm = std::sqrt(sq);
        const T scale = T(1) / (norm > eps ? norm : eps);
        T* out = states + (b * T_len + t) * N;
        for (int64_t i = 0; i < N; ++i) out[i] = z[i] * scale;
        norms[b * T_len + t] = norm;
      }
    });
  }
}

// Backward through t = T..1. `carry` [B, N] holds d loss / d g_{b,t} arriving from
// step t+1; NormReLU's backward gives dz, which feeds dW and the next carry.
template <typename T>
void BackwardCpu(const T* W, const T* g0, const int64_t* order, const T* states, const T* norms,
                 const T* grad_states, int64_t B, int64_t T_len, int64_t N, T eps, T* dW, T* dg0) {
  std::vector<T> carry(B * N, T(0)), next(B * N), dz(B * N);
  for (int64_t t = T_len - 1; t >= 0; --t) {
    at::parallel_for(0, B, 8, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        const T* y = states + (b * T_len + t) * N;
        const T* up = grad_states + (b * T_len + t) * N;
        T* c = carry.data() + b * N;
        T* d = dz.data() + b * N;
        for (int64_t i = 0; i < N; ++i) c[i] += up[i];
        const T norm = norms[b * T_len + t];
        // y = r / max(|r|, eps), r = relu(z): dz = (dy - y (y.dy)) / |r| on the
        // units with z > 0 (exactly those with y > 0), or dy / eps below eps.
        const T yc = norm > eps ? Dot(y, c, N) : T(0);
        const T inv = T(1) / (norm > eps ? norm : eps);
        for (int64_t i = 0; i < N; ++i) d[i] = y[i] > 0 ? (c[i] - y[i] * yc) * inv : T(0);
        // d loss / d g_{t-1} = W^T dz
        T* n_out = next.data() + b * N;
        std::fill(n_out, n_out + N, T(0));
        const T* Wm = W + order[b * T_len + t] * N * N;
        for (int64_t i = 0; i < N; ++i) {
          if (d[i] != 0) Axpy(d[i], Wm + i * N, n_out, N);
        }
      }
    });
    // dW[u] += dz_b g_{b,t-1}^T, split by rows so that threads never share a row.
    at::parallel_for(0, N, 8, [&](int64_t begin, int64_t end) {
      for (int64_t b = 0; b < B; ++b) {
        const T* prev = t == 0 ? g0 : states + (b * T_len + t - 1) * N;
        T* dWm = dW + order[b * T_len + t] * N * N;
        const T* d = dz.data() + b * N;
        for (int64_t i = begin; i < end; ++i) {
          if (d[i] != 0) Axpy(d[i], prev, dWm + i * N, N);
        }
      }
    });
    carry.swap(next);
  }
  // g0 is shared by every trajectory: its gradient is the sum over b.
  for (int64_t b = 0; b < B; ++b) Axpy(T(1), carry.data() + b * N, dg0, N);
}

struct RecurrenceCpu : torch::autograd::Function<RecurrenceCpu> {
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& W_in, const torch::Tensor& g0_in,
                               const torch::Tensor& order_in, double eps) {
    const auto W = W_in.contiguous(), g0 = g0_in.contiguous(), order = order_in.contiguous();
    const int64_t B = order.size(0), T_len = order.size(1), N = W.size(1);
    auto states = torch::empty({B, T_len, N}, W.options());
    auto norms = torch::empty({B, T_len}, W.options());
    AT_DISPATCH_FLOATING_TYPES(W.scalar_type(), "RecurrenceCpuForward", [&] {
      ForwardCpu<scalar_t>(W.data_ptr<scalar_t>(), g0.data_ptr<scalar_t>(), order.data_ptr<int64_t>(), B, T_len,
                           N, static_cast<scalar_t>(eps), states.data_ptr<scalar_t>(), norms.data_ptr<scalar_t>());
    });
    ctx->save_for_backward({W, g0, order, states, norms});
    ctx->saved_data["eps"] = eps;
    return states;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_output) {
    const auto saved = ctx->get_saved_variables();
    const auto &W = saved[0], &g0 = saved[1], &order = saved[2], &states = saved[3], &norms = saved[4];
    const double eps = ctx->saved_data["eps"].toDouble();
    const auto grad_states = grad_output[0].contiguous();
    const int64_t B = order.size(0), T_len = order.size(1), N = W.size(1);
    auto dW = torch::zeros_like(W);
    auto dg0 = torch::zeros_like(g0);
    AT_DISPATCH_FLOATING_TYPES(W.scalar_type(), "RecurrenceCpuBackward", [&] {
      BackwardCpu<scalar_t>(W.data_ptr<scalar_t>(), g0.data_ptr<scalar_t>(), order.data_ptr<int64_t>(),
                            states.data_ptr<scalar_t>(), norms.data_ptr<scalar_t>(),
                            grad_states.data_ptr<scalar_t>(), B, T_len, N, static_cast<scalar_t>(eps),
                            dW.data_ptr<scalar_t>(), dg0.data_ptr<scalar_t>());
    });
    return {dW, dg0, torch::Tensor(), torch::Tensor()};
  }
};

torch::Tensor RecurrenceTensorOps(const torch::Tensor& W, const torch::Tensor& g0, const torch::Tensor& order,
                                  double eps) {
  const int64_t B = order.size(0), T_len = order.size(1), N = W.size(1);
  // Index vectors split once up front rather than sliced inside the loop.
  const auto order_by_time = order.t().contiguous().unbind(0);  // T x [B]
  auto g = g0.expand({B, N});
  std::vector<torch::Tensor> states;
  states.reserve(T_len);
  for (int64_t t = 0; t < T_len; ++t) {
    const auto W_t = W.index_select(0, order_by_time[t]);  // [B, N, N]
    g = NormRelu(torch::bmm(W_t, g.unsqueeze(2)).squeeze(2), eps);
    states.push_back(g);
  }
  return torch::stack(states, 1);
}

}  // namespace

torch::Tensor SharedRecurrence(const torch::Tensor& W, const torch::Tensor& g0, const torch::Tensor& order,
                               double eps, RecurrenceKernel kernel) {
  if (kernel == RecurrenceKernel::kAuto && W.is_cpu()) return RecurrenceCpu::apply(W, g0, order, eps);
  return RecurrenceTensorOps(W, g0, order, eps);
}

}  // namespace sic
