#!/usr/bin/env python3
"""The Python training loops that tools/bench/vs_python compares fabric-exp with: the same model,
data file, batch size, optimizer (Adam, lr 1e-3), precision, shuffling and seed.

  python_loop.py --make-data data.pt             # 60,000 random 1x28x28 images, 10 classes
  python_loop.py --make-tokens tokens.pt --context 256 --samples 3200   # random byte tokens
  python_loop.py --data data.pt --workload mlp   # prints one JSON line: steps/s, final loss
  python_loop.py ... --framework lightning --device cuda --precision bf16-mixed

--framework plain is the loop as users write it, without a framework; lightning runs the same loop
through Lightning Fabric (fabric.setup, fabric.backward, fabric.autocast by setup's forward).
"""
import argparse
import json
import math
import os
import sys
import time

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from build_python import reexec_with

    reexec_with(["torch"])  # under the build's Python when this one lacks it

import torch  # noqa: E402
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    """fabric-exp's transformer_lm decoder block: pre-LN, fused qkv, GELU MLP of 4x width."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.ln2 = nn.LayerNorm(width)
        self.fc = nn.Linear(width, 4 * width)
        self.out = nn.Linear(4 * width, width)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.qkv(self.ln1(x)).view(b, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        if hasattr(F, "scaled_dot_product_attention"):  # PyTorch >= 2.0: one fused kernel
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            future = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
            att = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
            y = torch.softmax(att.masked_fill(future, float("-inf")), -1) @ v
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.out(F.gelu(self.fc(self.ln2(x))))


class Gpt(nn.Module):
    """fabric-exp's transformer_lm: token + position embeddings (N(0, 0.02)), tied output head."""

    def __init__(self, layers, width, heads, context, vocab=256):
        super().__init__()
        self.tokens = nn.Embedding(vocab, width)
        self.positions = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.ln = nn.LayerNorm(width)
        nn.init.normal_(self.tokens.weight, 0, 0.02)
        nn.init.normal_(self.positions.weight, 0, 0.02)

    def forward(self, x):
        h = self.tokens(x) + self.positions(torch.arange(x.shape[1], device=x.device))
        for block in self.blocks:
            h = block(h)
        return F.linear(self.ln(h), self.tokens.weight)


def model_for(args):
    if args.workload == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                             nn.ReLU(), nn.Linear(128, 10))
    if args.workload == "cnn":
        return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
                             nn.Linear(128, 10))
    return Gpt(args.layers, args.width, args.heads, args.context)


def gpt_flops_per_token(layers, width, context, vocab=256):
    """Training FLOPs per token, PaLM's appendix-B accounting (forward + backward = 3x forward):
    6 per matmul parameter (12 width^2 per layer and the tied head) plus 12 x layers x context x
    width for the attention scores and weighted sums, causal halving not taken. MFU on both
    sides is computed from this figure."""
    matmul_params = layers * 12 * width * width + vocab * width
    return 6 * matmul_params + 12 * layers * context * width


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--make-data", metavar="PATH")
    ap.add_argument("--make-tokens", metavar="PATH")
    ap.add_argument("--samples", type=int, default=3200)
    ap.add_argument("--data")
    ap.add_argument("--workload", choices=["mlp", "cnn", "gpt"])
    ap.add_argument("--batch", type=int)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--max-steps", type=int, default=0, help="0: one epoch")
    ap.add_argument("--log-every", type=int, default=1, help="read the loss back every N steps")
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="32-true", choices=["32-true", "bf16-mixed"])
    ap.add_argument("--framework", default="plain", choices=["plain", "lightning"])
    ap.add_argument("--channels-last", action="store_true",
                    help="the tuned loop: convolution weights channels-last, as fabric-exp's "
                         "run.memory_format = \"auto\" does")
    args = ap.parse_args()
    if args.make_data:
        g = torch.Generator().manual_seed(0)
        torch.save({"data": torch.randn(60000, 1, 28, 28, generator=g),
                    "target": torch.randint(0, 10, (60000,), generator=g)}, args.make_data)
        return
    if args.make_tokens:
        g = torch.Generator().manual_seed(0)
        seq = torch.randint(0, 256, (args.samples, args.context + 1), generator=g)
        torch.save({"data": seq[:, :-1].clone(), "target": seq[:, 1:].clone()}, args.make_tokens)
        return

    d = torch.load(args.data)
    x, y = d["data"], d["target"]
    torch.manual_seed(0)
    device = torch.device(args.device)
    fabric = None
    if args.framework == "lightning":
        from lightning.fabric import Fabric  # the GPU machine has Lightning; Debian does not
        fabric = Fabric(accelerator=device.type, devices=1, precision=args.precision)
        fabric.launch()
        fabric.seed_everything(0)
    model = model_for(args)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if fabric is None:
        model = model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    if fabric is not None:
        model, opt = fabric.setup(model, opt)
    autocast = args.framework == "plain" and args.precision == "bf16-mixed"
    if device.type == "cuda":  # the whole data set fits, as fabric-exp keeps it (data.on_device)
        x, y = x.to(device), y.to(device)
    perm = torch.randperm(x.shape[0], device=x.device)
    steps = (x.shape[0] + args.batch - 1) // args.batch
    if args.max_steps:
        steps = min(steps, args.max_steps)
    stamps, losses = [], []
    for s in range(steps):
        idx = perm[s * args.batch:(s + 1) * args.batch]
        xb, yb = x[idx], y[idx]
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
            out = model(xb)
            loss = F.cross_entropy(out.reshape(-1, out.shape[-1]).float(), yb.reshape(-1))
        opt.zero_grad()
        if fabric is not None:
            fabric.backward(loss)
        else:
            loss.backward()
        opt.step()
        if (s + 1) % args.log_every == 0 or s + 1 == steps:  # as the engine logs train/loss
            losses.append((s + 1, loss.item()))
            stamps.append((s + 1, time.perf_counter()))
    first = next(t for t in stamps if t[0] >= args.warmup)
    rate = (stamps[-1][0] - first[0]) / (stamps[-1][1] - first[1])
    tail = [v for step, v in losses if step > steps - 50]
    result = {"steps": steps, "steps_per_s": rate, "final_loss": sum(tail) / len(tail),
              "threads": torch.get_num_threads(), "torch": torch.__version__}
    if args.workload == "gpt":
        result["tokens_per_s"] = rate * args.batch * args.context
        result["flops_per_token"] = gpt_flops_per_token(args.layers, args.width, args.context)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
