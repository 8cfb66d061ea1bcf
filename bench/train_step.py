#!/usr/bin/python3
"""The straightforward SIC training step in plain PyTorch, as a baseline.

MLP over all B*T velocities, full P x P pair losses through autograd, one
backward per micro-batch, AdamW, global-norm clipping: what one would write
first from sic-method sections 1-4. Prints one JSON object with ms per step.
"""
import argparse
import json
import time

import torch


def losses(g_all, v, sigma_x=0.05, sigma_g=0.4):
    B, T1, N = g_all.shape
    states = g_all[:, 1:].reshape(-1, N)
    x = torch.cumsum(v, 1).reshape(-1, 2)
    sq = (states * states).sum(1)
    dg2 = (sq[:, None] + sq[None, :] - 2 * states @ states.T).clamp_min(0)
    dx2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    off = ~torch.eye(len(states), dtype=torch.bool)
    far, near = (dx2 > sigma_x**2) & off, (dx2 < sigma_x**2) & off
    sep = (torch.exp(-dg2 / (2 * sigma_g**2)) * far).sum() / far.sum().clamp_min(1)
    inv = (dg2 * near).sum() / near.sum().clamp_min(1)
    cap = -(states.mean(0) ** 2).sum()
    speed = v.norm(dim=-1)
    step = (g_all[:, 1:] - g_all[:, :-1]).norm(dim=-1)
    keep = (speed > 0) & (speed < sigma_x)
    ratios = step[keep] / speed[keep]
    coniso = ratios.var(unbiased=False) if ratios.numel() else ratios.sum()
    return sep + 0.1 * inv + 0.5 * cap + 1.0 * coniso


class SicNet(torch.nn.Module):
    def __init__(self, n, hidden=256):
        super().__init__()
        self.n = n
        self.mlp = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden),
                                       torch.nn.ReLU(), torch.nn.Linear(hidden, n * n))
        self.theta = torch.nn.Parameter(torch.rand(n))

    @staticmethod
    def norm_relu(z):
        r = torch.relu(z)
        return r / r.norm(dim=-1, keepdim=True).clamp_min(1e-12)

    def forward(self, v):
        B, T, _ = v.shape
        W = self.mlp(v.reshape(-1, 2)).view(B, T, self.n, self.n).unbind(1)
        g0 = self.norm_relu(self.theta)
        g = g0.expand(B, self.n)
        out = [g0.expand(B, self.n)]
        for t in range(T):
            g = self.norm_relu(torch.bmm(W[t], g.unsqueeze(2)).squeeze(2))
            out.append(g)
        return torch.stack(out, 1)  # [B, T+1, N]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--units", type=int, default=128)
    p.add_argument("--batch", type=int, default=130)
    p.add_argument("--seq", type=int, default=60)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--accumulate", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    net = SicNet(a.units)
    opt = torch.optim.AdamW(net.parameters(), lr=2e-5, weight_decay=0.01)
    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad()
        for _ in range(a.accumulate):
            base = (torch.rand(a.seq, 2) - 0.5) * 0.3
            order = torch.stack([torch.randperm(a.seq) for _ in range(a.batch)])
            v = base[order]
            (losses(net(v), v) / a.accumulate).backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 0.1)
        opt.step()
        if i >= a.warmup:
            times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    print(json.dumps({"step_ms": times[len(times) // 2], "threads": a.threads, "torch": torch.__version__}))


if __name__ == "__main__":
    main()
