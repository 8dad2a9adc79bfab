#!/usr/bin/python3
"""The plain PyTorch training loop that tools/bench/vs_python compares fabric-exp with: the same
model, data file, batch size, optimizer (Adam, lr 1e-3), shuffling and seed, and no framework.

  python_loop.py --make-data data.pt           # 60,000 random 1x28x28 images, 10 classes
  python_loop.py --data data.pt --workload mlp # prints one JSON line: steps/s, final loss
"""
import argparse
import json
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def model_for(workload):
    if workload == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128),
                             nn.ReLU(), nn.Linear(128, 10))
    return nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--make-data", metavar="PATH")
    ap.add_argument("--data")
    ap.add_argument("--workload", choices=["mlp", "cnn"])
    ap.add_argument("--batch", type=int)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--channels-last", action="store_true",
                    help="the tuned loop: convolution weights channels-last, as fabric-exp's "
                         "run.memory_format = \"auto\" does")
    args = ap.parse_args()
    if args.make_data:
        g = torch.Generator().manual_seed(0)
        torch.save({"data": torch.randn(60000, 1, 28, 28, generator=g),
                    "target": torch.randint(0, 10, (60000,), generator=g)}, args.make_data)
        return
    d = torch.load(args.data)
    x, y = d["data"], d["target"]
    torch.manual_seed(0)
    model = model_for(args.workload)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    perm = torch.randperm(x.shape[0])
    stamps, losses = [], []
    for start in range(0, x.shape[0], args.batch):
        idx = perm[start:start + args.batch]
        loss = F.cross_entropy(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())  # as the engine reads every step's loss
        stamps.append(time.perf_counter())
    w = args.warmup
    print(json.dumps({"steps": len(stamps),
                      "steps_per_s": (len(stamps) - 1 - w) / (stamps[-1] - stamps[w]),
                      "final_loss": sum(losses[-50:]) / len(losses[-50:]),
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
